"""fokkerplanck vs FiPy on the same problems, side by side in one process.

Prints, per case: wall time of each solver, the ratio, the largest difference between the two
solutions, and each solver's L1 error against a much finer reference computed here (so that
"equal or better accuracy" is measured, not assumed). Numba compile time is measured separately
(first call minus second call of a tiny problem) and excluded from the solver times.

Usage::

    python benchmarks/bench_fipy.py            # cases a, b and b256
    python benchmarks/bench_fipy.py a          # one case
    python benchmarks/bench_fipy.py equal256   # 2-D ring on 256^2, FiPy at each tolerance (issue 23)

Cases (issue 2):
  a     1-D, 2000 cells on [-8, 8], rho_d = N(0, 1), rho_0 = N(1, 0.8^2), 200 steps to t = 1
  b     2-D, 128 x 128 on [-5, 5]^2, rho_d = 0.95 ring of 8 Gaussians (sd 0.3, radius 2.5)
        + 0.05 N(0, 4 I), rho_0 = N(0, 0.25 I), 20 steps to t = 2
  b256  case b on 256 x 256 (ours only; target: under 10 s)

Case (issue 23): equal<n>, case b on n x n with FiPy's default solver at its default tolerance
  (1e-5) and at FIPY_TOLERANCES, each against a reference (ours on 2n x 2n, steps 8x smaller);
  prints FiPy's solver and tolerance, each error, and names the cheapest FiPy run whose error is
  at most ours (time ratio at equal error), or says that none is.

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


def timed_cpu(fn):
    """``(result, wall seconds, CPU seconds of this process)``: on a shared machine the CPU time of a
    single-threaded solver is the steadier figure."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - t0, time.process_time() - c0


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


#: FiPy's tolerances tried by the equal-accuracy comparison: None is FiPy's default (1e-5).
FIPY_TOLERANCES = (None, 1e-8, 1e-12)


def fipy_solver_text(res):
    """What FiPy ran with, from its result's options (solver class, tolerance, criterion)."""
    o = res.options
    return f"{o['solver']}(tolerance={o['tolerance']:g}, criterion={o['criterion']!r}), sweep_tol={o['sweep_tol']:g}"


def equal_accuracy_2d(n, tolerances=FIPY_TOLERANCES, repeats=2, ref_factor=2, fipy_max_cells=None):
    """The ring problem (case b) on n x n: ours and FiPy at each tolerance, each against a reference.

    The reference is ours on the grid refined ``ref_factor`` x with steps 8x smaller, averaged back.
    Ours is timed as the min of ``repeats`` runs (after a warm-up that loads the numba kernels); FiPy
    once per tolerance (it takes minutes). Returns a dict with, per FiPy tolerance, its time, sweeps,
    L1 error against the reference and L1 difference to ours; ``equal`` names the cheapest FiPy run
    whose error is at most ours (None if no tolerance reaches it: then FiPy's error on this grid is
    above ours at any tolerance, and the ratios below are lower bounds of the ratio at equal error).
    """
    target, initial = ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2))
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [n, n])
    vol = grid.cell_volume
    fp.solve(target, initial, fp.Grid([-5.0, -5.0], [5.0, 5.0], [16, 16]), 0.2, 0.1)  # kernels loaded
    t_ours, c_ours = [], []
    for _ in range(repeats):
        ours, t, c = timed_cpu(lambda: fp.solve(target, initial, grid, 2.0, 0.1))
        t_ours.append(t)
        c_ours.append(c)
    fine = fp.Grid([-5.0, -5.0], [5.0, 5.0], [ref_factor * n] * 2)
    ref = coarsen(fp.solve(target, initial, fine, 2.0, 0.1 / 8).u[-1], ref_factor)
    out = dict(n=n, grid=grid, ours=ours, t_ours=min(t_ours), c_ours=min(c_ours), err_ours=float(np.sum(np.abs(ours.u[-1] - ref)) * vol),
               fipy=[], equal=None, load=os.getloadavg()[0])
    if fipy_max_cells is not None and grid.size > fipy_max_cells:
        return out
    for tol in tolerances:
        th, t, c = timed_cpu(lambda: solve_fipy(target, initial, grid, 2.0, 0.1, tolerance=tol))
        out["fipy"].append(dict(tolerance=th.options["tolerance"], default=tol is None, solver=fipy_solver_text(th),
                                t=t, cpu=c, sweeps=int(th.n_sweeps), unconverged=int(th.n_unconverged),
                                err=float(np.sum(np.abs(th.u[-1] - ref)) * vol),
                                diff=float(np.sum(np.abs(th.u[-1] - ours.u[-1])) * vol), load=os.getloadavg()[0]))
    reaching = [f for f in out["fipy"] if f["err"] <= out["err_ours"]]
    out["equal"] = min(reaching, key=lambda f: f["t"]) if reaching else None
    return out


def report_equal_accuracy(r):
    o = r["ours"]
    print(f"2-D ring {r['n']}^2, 20 steps of 0.1: ours {r['t_ours']:.3f}s (CPU {r['c_ours']:.3f}s; {o.options['linear_solver']}, Newton tol "
          f"1e-13; {o.n_newton} Newton / {o.n_linear} CG), {r['t_ours'] / o.n_steps * 1e3:.1f} ms/step, "
          f"L1 error vs reference {r['err_ours']:.2e}, load {r['load']:.1f}", flush=True)
    for f in r["fipy"]:
        print(f"   FiPy {f['solver']}{' [FiPy default]' if f['default'] else ''}: {f['t']:.2f}s "
              f"(CPU {f['cpu']:.2f}s; {f['sweeps']} sweeps, {f['unconverged']} unconverged steps), ratio "
              f"{f['t'] / r['t_ours']:.1f}x (CPU time {f['cpu'] / r['c_ours']:.1f}x), "
              f"L1 error {f['err']:.2e}, L1 |u_ours - u_FiPy| {f['diff']:.2e}, load {f['load']:.1f}", flush=True)
    if r["fipy"]:
        eq = r["equal"]
        if eq is None:
            best = min(r["fipy"], key=lambda f: f["err"])
            print(f"   equal error: no FiPy tolerance reaches our error {r['err_ours']:.2e} on this grid (best "
                  f"{best['err']:.2e} at tolerance {best['tolerance']:g}); the ratios are lower bounds at equal error",
                  flush=True)
        else:
            print(f"   equal error: FiPy tolerance {eq['tolerance']:g} is the cheapest at or below our error: ratio "
                  f"{eq['t'] / r['t_ours']:.1f}x (CPU time {eq['cpu'] / r['c_ours']:.1f}x)", flush=True)


def report(name, r):
    grid, ours = r["grid"], r["ours"]
    vol = grid.cell_volume
    line = (f"{name:5s} cells={grid.size:6d} steps={ours.n_steps:3d} newton={ours.n_newton:4d} "
            f"linear={ours.n_linear:5d} ({ours.options['linear_solver']})  ours={r['t_ours']:.3f}s")
    if "theirs" in r:
        th = r["theirs"]
        line += (f"  fipy={r['t_fipy']:.2f}s [{fipy_solver_text(th)}] (sweeps/step {th.sweeps.mean():.1f})  ratio={r['t_fipy'] / r['t_ours']:.1f}x"
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
    for c in cases:
        if c.startswith("equal"):  # equal256, equal128, ...: FiPy at each tolerance against our error
            report_equal_accuracy(equal_accuracy_2d(int(c[5:])))
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
