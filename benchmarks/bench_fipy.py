"""fokkerplanck vs FiPy on the same problems, side by side in one process.

Prints, per case: wall time of each solver, the ratio, the largest difference between the two
solutions, and each solver's L1 error against a much finer reference computed here (so that
"equal or better accuracy" is measured, not assumed). Numba compile time is measured separately
(first call minus second call of a tiny problem) and excluded from the solver times.

Usage::

    python benchmarks/bench_fipy.py            # cases a, b and b256
    python benchmarks/bench_fipy.py a          # one case

Cases (issue 2):
  a     1-D, 2000 cells on [-8, 8], rho_d = N(0, 1), rho_0 = N(1, 0.8^2), 200 steps to t = 1
  b     2-D, 128 x 128 on [-5, 5]^2, rho_d = 0.95 ring of 8 Gaussians (sd 0.3, radius 2.5)
        + 0.05 N(0, 4 I), rho_0 = N(0, 0.25 I), 20 steps to t = 2
  b256  case b on 256 x 256 (ours only; target: under 10 s)

Cases (issue 11, the f-divergence family):
  speed1d     case a's problem with each divergence: the compiled 1-D kernels of chi2 and
              Hellinger must be within 2x of JSD's time per Newton iteration
  barenblatt  chi2 (porous medium, u_tau = (u^2)_xx) and Hellinger (fast diffusion,
              u_tau = (u^{1/2})_xx) toward a uniform target from a Barenblatt profile, ours vs
              FiPy (DiffusionTerm(coeff=rho * Phi'(v)) with sweeps), both against the exact
              Barenblatt solution (cell averages)
"""

from __future__ import annotations

import os
import platform
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # BLAS threads only fight over 2 cores here

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck.fipy_reference import solve_fipy  # noqa: E402
from fokkerplanck.theory import barenblatt_cell_averages  # noqa: E402


def ring_target():
    ang = 2 * np.pi * np.arange(8) / 8
    means = np.r_[np.c_[2.5 * np.cos(ang), 2.5 * np.sin(ang)], [[0.0, 0.0]]]
    weights = np.r_[np.full(8, 0.95 / 8), 0.05]
    covs = np.r_[np.tile(0.09 * np.eye(2), (8, 1, 1)), [4.0 * np.eye(2)]]
    return fp.GaussianMixture(weights, means, covs)


def coarsen(u, factor):
    shape = []
    for n in u.shape:
        shape += [n // factor, factor]
    return u.reshape(shape).mean(axis=tuple(range(1, 2 * u.ndim, 2)))


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def compile_time():
    grid = fp.Grid([-3.0], [3.0], [20])
    args = (fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.5]]), grid, 0.1, 0.05)
    _, first = timed(lambda: fp.solve(*args))
    _, second = timed(lambda: fp.solve(*args))
    return first - second


def case_a():
    grid = fp.Grid([-8.0], [8.0], [2000])
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.64]])
    dt = 1.0 / 200
    ours, t_ours = timed(lambda: fp.solve(target, initial, grid, 1.0, dt))
    theirs, t_fipy = timed(lambda: solve_fipy(target, initial, grid, 1.0, dt))
    fine = fp.Grid([-8.0], [8.0], [8000])
    ref = coarsen(fp.solve(target, initial, fine, 1.0, dt / 8).u[-1], 4)
    return dict(grid=grid, ours=ours, theirs=theirs, t_ours=t_ours, t_fipy=t_fipy, ref=ref)


def case_b(n=128, with_fipy=True, with_ref=True):
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [n, n])
    target, initial = ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2))
    ours, t_ours = timed(lambda: fp.solve(target, initial, grid, 2.0, 0.1))
    out = dict(grid=grid, ours=ours, t_ours=t_ours)
    if with_fipy:
        out["theirs"], out["t_fipy"] = timed(lambda: solve_fipy(target, initial, grid, 2.0, 0.1))
    if with_ref:
        fine = fp.Grid([-5.0, -5.0], [5.0, 5.0], [2 * n, 2 * n])
        out["ref"] = coarsen(fp.solve(target, initial, fine, 2.0, 0.1 / 8).u[-1], 2)
    return out


def report(name, r):
    grid, ours = r["grid"], r["ours"]
    vol = grid.cell_volume
    line = (f"{name:5s} cells={grid.size:6d} steps={ours.n_steps:3d} newton={ours.n_newton:4d} "
            f"linear={ours.n_linear:5d} ({ours.options['linear_solver']})  ours={r['t_ours']:.3f}s")
    if "theirs" in r:
        th = r["theirs"]
        line += (f"  fipy={r['t_fipy']:.2f}s (sweeps/step {th.sweeps.mean():.1f})  ratio={r['t_fipy'] / r['t_ours']:.1f}x"
                 f"  max|u_ours-u_fipy|={np.abs(ours.u[-1] - th.u[-1]).max():.2e}")
    if "ref" in r:
        line += f"  L1 err: ours={np.sum(np.abs(ours.u[-1] - r['ref'])) * vol:.2e}"
        if "theirs" in r:
            line += f" fipy={np.sum(np.abs(r['theirs'].u[-1] - r['ref'])) * vol:.2e}"
    line += f"  mass drift={np.abs(ours.history['mass'] - 1).max():.1e}"
    print(line, flush=True)


def speed1d():
    grid = fp.Grid([-8.0], [8.0], [2000])
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.64]])
    per_it = {}
    for name in ("jsd", "kl", "chi2", "hellinger"):
        fp.solve(target, initial, grid, 0.01, 0.005, divergence=name)  # compile
        best = None
        for _ in range(3):
            s, t = timed(lambda: fp.solve(target, initial, grid, 1.0, 1.0 / 200, divergence=name))
            best = t if best is None or t < best else best
        per_it[name] = best / max(s.n_newton, 1)
        print(f"speed1d {name:10s}: {best:.3f}s for 200 steps, {s.n_newton} Newton iterations, "
              f"{1e6 * per_it[name]:.1f} us/iteration, time ratio to jsd per iteration "
              f"{per_it[name] / per_it['jsd']:.2f}", flush=True)


def _uniform(points):
    return np.ones(points.shape[0])


def barenblatt_case(name, n, L, tau0, tau1, steps):
    m = 2.0 if name == "chi2" else 0.5
    c = 1.0 / (2 * L)
    T = (tau1 - tau0) * (c if name == "chi2" else 1 / np.sqrt(c))
    grid = fp.Grid([-L], [L], [n])
    u0, exact = barenblatt_cell_averages(grid, tau0, m), barenblatt_cell_averages(grid, tau1, m)
    fp.solve(_uniform, u0, grid, T / steps, T / steps, divergence=name)  # compile
    ours, t_ours = timed(lambda: fp.solve(_uniform, u0, grid, T, T / steps, divergence=name))
    theirs, t_fipy = timed(lambda: solve_fipy(_uniform, u0, grid, T, T / steps, divergence=name, max_sweeps=200))
    vol = grid.cell_volume
    e_ours = np.sum(np.abs(ours.u[-1] - exact)) * vol
    e_fipy = np.sum(np.abs(theirs.u[-1] - exact)) * vol
    print(f"barenblatt {name:9s} n={n} steps={steps}: ours={t_ours:.3f}s ({ours.n_newton} Newton)  "
          f"fipy={t_fipy:.2f}s (sweeps/step {theirs.sweeps.mean():.1f}, unconverged steps {theirs.n_unconverged})  "
          f"ratio={t_fipy / t_ours:.0f}x  L1 vs Barenblatt: ours={e_ours:.2e} fipy={e_fipy:.2e}  "
          f"min u: ours={ours.u[-1].min():.1e} fipy={theirs.u[-1].min():.1e}  "
          f"mass drift ours={abs(ours.history['mass'][-1] - 1):.0e} fipy={abs(theirs.u[-1].sum() * vol - 1):.0e}",
          flush=True)


def main(cases):
    print(f"# {time.strftime('%Y-%m-%d')} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}", flush=True)
    print(f"numba compile time (first call minus second call, tiny 1-D problem): {compile_time():.2f}s", flush=True)
    if "a" in cases:
        report("a", case_a())
    if "b" in cases:
        report("b", case_b())
    if "b256" in cases:
        report("b256", case_b(256, with_fipy=False, with_ref=False))
        for solver in ("direct", "amg"):
            grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [256, 256])
            s, t = timed(lambda: fp.solve(ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2)), grid, 2.0, 0.1,
                                          linear_solver=solver))
            print(f"b256 linear_solver={solver:6s}: {t:.2f}s ({s.n_linear} linear solves/iterations)", flush=True)
    if "b128solvers" in cases:
        for solver in ("direct", "amg"):
            grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [128, 128])
            s, t = timed(lambda: fp.solve(ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2)), grid, 2.0, 0.1,
                                          linear_solver=solver))
            print(f"b128 linear_solver={solver:6s}: {t:.2f}s ({s.n_linear} linear solves/iterations)", flush=True)
    if "speed1d" in cases:
        speed1d()
    if "barenblatt" in cases:
        barenblatt_case("chi2", 400, 5.0, 1.0, 8.0, 200)
        barenblatt_case("hellinger", 600, 30.0, 0.5, 1.0, 200)
    if "solvers3d" in cases:
        target = fp.GaussianMixture([0.5, 0.5], [[-1, 0, 0], [1, 0.5, 0]], [0.5 * np.eye(3), 0.7 * np.eye(3)])
        initial = fp.Gaussian([0.3, 0, 0], 0.3 * np.eye(3))
        for n in (24, 40):
            grid = fp.Grid([-4.0] * 3, [4.0] * 3, [n] * 3)
            for solver in ("direct", "amg"):
                s, t = timed(lambda: fp.solve(target, initial, grid, 1.0, 0.1, linear_solver=solver))
                print(f"3-D {n}^3 linear_solver={solver:6s}: {t:.2f}s ({s.n_newton} Newton, {s.n_linear} CG iterations)",
                      flush=True)


if __name__ == "__main__":
    main(sys.argv[1:] or ["a", "b", "b256", "b128solvers", "solvers3d"])
