"""Periodic multigrid (issue 21): linear_solver="multigrid" against "direct" on periodic grids.

Run as a user would, with no thread variables set::

    python benchmarks/bench_periodic_mg.py                # 2-D 128^2, 256^2 and 3-D 32^3, periodic
    python benchmarks/bench_periodic_mg.py 2d:128 3d:12w  # chosen sizes only (w: the same with walls)
    python benchmarks/bench_periodic_mg.py --seam         # one V-cycle, periodic against walls
    python benchmarks/bench_periodic_mg.py --walls OLD.py # walls: this multigrid against OLD.py's

For each size, the same periodic flow (JSD, a wrapped two-bump target) is solved with both
solvers, interleaved, ``REPEATS`` times; it prints the smallest wall time of each, the Newton / CG
iterations and the largest difference of the solutions. Numba compilation is excluded (a warm-up
solve on a small grid first). ``--walls`` times :class:`Multigrid` solves of Hessian systems of
the 2-D 256^2 ring and the 3-D 48^3 mixture (walls) with this checkout's kernels and with the ``Multigrid`` of
another ``multigrid.py`` (e.g. the main branch's before the change), interleaved, and checks that
the CG iteration counts and the solutions agree. Give that run an empty numba cache
(``NUMBA_CACHE_DIR=$(mktemp -d)``): numba cannot reload the cached kernels of a module loaded from a path.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPEATS = 3


def problem(dim, n, periodic=True):
    import fokkerplanck as fp

    grid = fp.Grid([0.0] * dim, [1.0] * dim, [n] * dim, periodic=periodic)
    x = grid.meshgrid()
    bumps = sum(np.exp(-sum((xi - c) ** 2 for xi in x) / 0.02) for c in (0.3, 0.75))  # wraps at the seam
    target = fp.GridDensity(grid, 0.05 + bumps)
    initial = fp.GridDensity(grid, 1.0 + 0.5 * np.prod([np.sin(2 * np.pi * xi) for xi in x], axis=0))
    return grid, target, initial


def compare(dim, n, periodic=True):
    import fokkerplanck as fp

    g, t, i = problem(dim, 8, periodic)
    for solver in ("multigrid", "direct"):
        fp.solve(t, i, g, 0.02, 0.01, divergence="jsd", linear_solver=solver)  # compile / cache load
    grid, target, initial = problem(dim, n, periodic)
    best, sols = {}, {}
    for rep in range(REPEATS):
        for solver in (("multigrid", "direct") if rep % 2 == 0 else ("direct", "multigrid")):
            t0 = time.perf_counter()
            sols[solver] = fp.solve(target, initial, grid, 0.5, 0.05, divergence="jsd", linear_solver=solver)
            best[solver] = min(best.get(solver, np.inf), time.perf_counter() - t0)
    a, b = sols["multigrid"], sols["direct"]
    print(f"{dim}-D {n}^{dim} {'periodic' if periodic else 'walls'}: multigrid {best['multigrid']:.3f} s ({a.n_newton} Newton / {a.n_linear} CG), "
          f"direct {best['direct']:.3f} s ({b.n_newton} / {b.n_linear}), direct/multigrid "
          f"{best['direct'] / best['multigrid']:.2f}x, max|du| {np.abs(a.u - b.u).max():.1e}, "
          f"auto picks {fp.solve(target, initial, grid, 0.05, 0.05, divergence='jsd').options['linear_solver']}")


def seam():
    """Time of one V-cycle on a periodic grid over the same grid with walls (same rho_d)."""
    from fokkerplanck.flow import operators
    from fokkerplanck.flow.linear.multigrid import Multigrid

    rng = np.random.default_rng(0)
    for shape in [(256, 256), (48, 48, 48)]:
        rho = np.exp(rng.normal(size=shape))
        b = rng.normal(size=shape)
        mgs = {}
        for per in (False, True):
            coeffs = operators.face_coefficients(rho, np.full(len(shape), 0.05), (per,) * len(shape))
            mgs[per] = Multigrid(coeffs, shape)
            mgs[per].set_diagonal(10.0 * rho.ravel(), 1.0)
        out = np.empty(mgs[True].levels[0].shape)
        best = {}
        for rep in range(11):
            for per in ((False, True) if rep % 2 else (True, False)):
                t0 = time.perf_counter()
                for _ in range(5):
                    mgs[per].precondition(b.reshape(out.shape), out)
                if rep:
                    best[per] = min(best.get(per, np.inf), time.perf_counter() - t0)
        print(f"{shape}: one V-cycle periodic / walls {best[True] / best[False]:.3f} "
              f"(walls {best[False] / 5 * 1e3:.2f} ms)")


def walls(old_path):
    import fokkerplanck as fp
    import fokkerplanck.flow.linear.base as base
    from bench_fipy import ring_target
    from fokkerplanck.flow.linear import multigrid as new

    register, base.register = base.register, (lambda c: c)  # the old module registers its class again
    try:
        spec = importlib.util.spec_from_file_location("fokkerplanck.flow.linear._old_multigrid", old_path)
        old = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(old)
    finally:
        base.register = register
    rng = np.random.default_rng(0)
    ring = (ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2)))
    mixture = (fp.GaussianMixture([0.5, 0.5], [[-1, 0, 0], [1, 0.5, 0]], [0.5 * np.eye(3), 0.7 * np.eye(3)]),
               fp.Gaussian([0.3, 0, 0], 0.3 * np.eye(3)))
    for shape, (target, initial) in (((256, 256), ring), ((48, 48, 48), mixture)):
        d = len(shape)
        p = fp.setup(target, initial, fp.Grid([-5.0] * d, [5.0] * d, shape))
        m = p.cell_mass.ravel()
        systems = [(m * np.exp(rng.normal(size=m.size)), h, m * rng.normal(size=m.size)) for h in (0.01, 0.1, 1.0)]
        mgs = {"old": old.Multigrid(p.coeffs, shape), "new": new.Multigrid(p.coeffs, shape)}
        best, its, xs = {}, {}, {}
        for rep in range(2 * REPEATS + 1):
            for k in (("old", "new") if rep % 2 == 0 else ("new", "old")):
                t0 = time.perf_counter()
                its[k], xs[k] = [], []
                for dd, h, b in systems:
                    mgs[k].set_diagonal(dd, h)
                    x, it, ok = mgs[k].solve(b, rtol=1e-12, maxiter=300)
                    its[k].append(it)
                    xs[k].append(x)
                if rep:  # the first round loads / compiles the kernels
                    best[k] = min(best.get(k, np.inf), time.perf_counter() - t0)
        diff = max(np.abs(a - b).max() for a, b in zip(xs["old"], xs["new"]))
        print(f"walls {shape}, 3 Hessian solves: CG iterations old {its['old']} new {its['new']}, time old "
              f"{best['old']:.4f} s new {best['new']:.4f} s, new/old {best['new'] / best['old']:.3f}, max|dx| {diff:.1e}")

if __name__ == "__main__":
    print("load", open("/proc/loadavg").read().split()[:3])
    args = sys.argv[1:]
    if args[:1] == ["--walls"]:
        walls(args[1])
    elif args[:1] == ["--seam"]:
        seam()
    else:
        for case in args or ["2d:128", "2d:256", "3d:32"]:
            kind, n = case.split(":")
            compare(int(kind[0]), int(n.rstrip("w")), periodic=not n.endswith("w"))
    print("load", open("/proc/loadavg").read().split()[:3])
