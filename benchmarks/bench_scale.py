"""The solver at scale (issue 12): cost per Newton iteration in CSR matvecs, memory, FiPy ratios.

Run as a user would, with no thread variables set::

    python benchmarks/bench_scale.py              # all cases
    python benchmarks/bench_scale.py 2d:256 3d:32 # chosen sizes only
    python benchmarks/bench_scale.py fipy gap     # FiPy ratios, spectral gaps only
    python benchmarks/bench_scale.py growth       # 2-D time per step 64^2 ... 1024^2, ours and FiPy (issue 23)

Each grid size runs in its own subprocess (peak RSS from ``resource.getrusage`` there). Per
size it prints the wall time, Newton / CG iterations, the cost of one Newton iteration in units of
one scipy CSR matrix-vector product with a matrix of the Hessian's pattern (timed in the same
process), and, where affordable, the largest difference to the previous default solver
(SuperLU-CG in 2-D, pyamg-CG in 3-D). Numba compilation is excluded (a warm-up solve on a tiny
grid first; its time is printed separately).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def _problem(kind, n):
    import fokkerplanck as fp
    from bench_fipy import ring_target

    if kind == "2d":  # ring problem of bench_fipy case b, 20 steps to t = 2
        grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [n, n])
        return grid, ring_target(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2)), 2.0, 0.1
    grid = fp.Grid([-4.0] * 3, [4.0] * 3, [n] * 3)  # 3-D two-mode mixture, 10 steps of 0.1
    target = fp.GaussianMixture([0.5, 0.5], [[-1, 0, 0], [1, 0.5, 0]], [0.5 * np.eye(3), 0.7 * np.eye(3)])
    return grid, target, fp.Gaussian([0.3, 0, 0], 0.3 * np.eye(3)), 1.0, 0.1


def child(kind, n, compare):
    import scipy.sparse as sp

    import fokkerplanck as fp
    from fokkerplanck import operators

    t0 = time.perf_counter()
    g, tgt, ini, T, dt = _problem(kind, 8)
    fp.solve(tgt, ini, g, 2 * dt, dt)  # numba compile / cache load
    compile_s = time.perf_counter() - t0
    grid, target, initial, T, dt = _problem(kind, n)
    t0, c0 = time.perf_counter(), time.process_time()
    sol = fp.solve(target, initial, grid, T, dt)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # GiB (ru_maxrss in KiB)
    t_setup, c_setup = time.perf_counter(), time.process_time()
    p = fp.setup(target, initial, grid)  # the densities on the grid: inside fp.solve's time, not a Newton iteration
    setup_s, setup_cpu = time.perf_counter() - t_setup, time.process_time() - c_setup
    H = (operators.laplacian_matrix(p.coeffs, grid.shape) + sp.eye(grid.size)).tocsr()
    x = np.random.default_rng(0).random(grid.size)
    H @ x
    reps = max(5, int(2e7 // H.nnz))
    t1, c1 = time.perf_counter(), time.process_time()
    for _ in range(reps):
        H @ x
    matvec, matvec_cpu = (time.perf_counter() - t1) / reps, (time.process_time() - c1) / reps
    out = dict(kind=kind, n=n, cells=grid.size, wall=wall, cpu=cpu, load=os.getloadavg()[0], newton=sol.n_newton, cg=sol.n_linear,
               solver=sol.options["linear_solver"], rss_gib=rss, matvec_s=matvec,
               per_newton_matvecs=wall / sol.n_newton / matvec, compile_s=compile_s,
               per_newton_matvecs_cpu=cpu / sol.n_newton / matvec_cpu,  # the same in CPU time (shared machine)
               # and without fp.setup's share of the solve (the densities on the grid, timed again here)
               setup_s=setup_s, per_newton_matvecs_cpu_nosetup=(cpu - setup_cpu) / sol.n_newton / matvec_cpu,
               mass_drift=float(np.abs(sol.history["mass"] - 1).max()))
    if compare:
        old = "direct" if kind == "2d" else "amg"
        t2 = time.perf_counter()
        ref = fp.solve(target, initial, grid, T, dt, linear_solver=old)
        out.update(old=old, old_wall=time.perf_counter() - t2, old_newton=ref.n_newton,
                   max_diff=float(np.abs(sol.u[-1] - ref.u[-1]).max()),
                   l1_diff=float(np.abs(sol.u[-1] - ref.u[-1]).sum() * grid.cell_volume))
    print(json.dumps(out), flush=True)


def child_fipy(n, tolerance):
    from bench_fipy import fipy_solver_text

    from fokkerplanck.fipy_reference import solve_fipy

    grid, target, initial, T, dt = _problem("2d", n)
    t0, c0 = time.perf_counter(), time.process_time()
    th = solve_fipy(target, initial, grid, T, dt, tolerance=tolerance)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps(dict(n=n, wall=wall, cpu=cpu, steps=int(th.n_steps), sweeps=int(th.n_sweeps), solver=fipy_solver_text(th),
                          load=os.getloadavg()[0])), flush=True)


def fitted_exponent(cells, seconds):
    """Least-squares slope of log(time) against log(cells): time ~ cells^p."""
    return float(np.polyfit(np.log(np.asarray(cells, float)), np.log(np.asarray(seconds, float)), 1)[0])


def growth(sizes=(64, 128, 256, 512, 1024), fipy_max=256, fipy_tolerance=None):
    """Time per step of the 2-D ring (20 steps of 0.1), ours and FiPy (its default solver at
    ``fipy_tolerance``, None: its default) up to ``fipy_max``, each size in its own subprocess, with
    the fitted exponents."""
    rows = []
    print("2-D ring | cells | ours per step: wall, CPU (Newton, CG; matvecs per Newton) | FiPy per step: wall, CPU "
          "(sweeps) | ratio wall, CPU | load")
    for n in sizes:
        r = run_size("2d", n, False)
        f = None
        if n <= fipy_max:
            out = subprocess.run([sys.executable, __file__, "--fipy", str(n), repr(fipy_tolerance)],
                                 capture_output=True, text=True, env=os.environ.copy())
            f = json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None
        ours = r["wall"] / 20
        rows.append((n, r["cells"], ours, None if f is None else f["wall"] / f["steps"]))
        print(f"{n}^2 | {r['cells']} | {ours * 1e3:.1f} ms, {r['cpu'] / 20 * 1e3:.1f} ms ({r['newton']}, {r['cg']}; "
              f"{r['per_newton_matvecs']:.0f} wall, {r['per_newton_matvecs_cpu']:.0f} CPU, "
              f"{r['per_newton_matvecs_cpu_nosetup']:.0f} CPU without setup) | "
              + ("-" if f is None else f"{f['wall'] / f['steps']:.3f} s, {f['cpu'] / f['steps']:.3f} s ({f['sweeps']}) "
                                       f"[{f['solver']}]") + " | "
              + ("-" if f is None else f"{f['wall'] / f['steps'] / ours:.0f}x, {f['cpu'] / r['cpu']:.0f}x")
              + f" | {r['load']:.1f}" + ("" if f is None else f", {f['load']:.1f}"), flush=True)
    cells = [c for _, c, _, _ in rows]
    if len(rows) < 2:
        return
    print(f"fitted exponent, ours (time per step ~ cells^p): p = {fitted_exponent(cells, [o for *_, o, _ in rows]):.2f} "
          f"over {sizes[0]}^2-{sizes[-1]}^2, "
          f"{fitted_exponent(cells[-3:], [o for *_, o, _ in rows][-3:]):.2f} over the last three sizes", flush=True)
    fr = [(c, f) for _, c, _, f in rows if f is not None]
    if len(fr) >= 2:
        print(f"fitted exponent, FiPy: p = {fitted_exponent(*zip(*fr)):.2f} over the sizes it ran", flush=True)


def run_size(kind, n, compare):
    r = subprocess.run([sys.executable, __file__, "--child", kind, str(n), str(int(compare))],
                       capture_output=True, text=True, env=os.environ.copy())
    if r.returncode != 0:
        print(r.stderr[-2000:])
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def fipy_cases():
    import bench_fipy as bf
    import fokkerplanck as fp

    print(f"numba compile/cache load (1-D kernel, bench_fipy.compile_time): {bf.compile_time():.2f}s", flush=True)
    g, tgt, ini, T, dt = _problem("2d", 16)
    fp.solve(tgt, ini, g, 2 * dt, dt)  # multigrid kernels compiled / loaded before timing
    a = bf.case_a()
    print(f"1-D case (a): ours {a['t_ours']:.3f}s  FiPy {a['t_fipy']:.2f}s  ratio {a['t_fipy'] / a['t_ours']:.0f}x "
          f"(target >= 100x)  L1 err ours/FiPy {np.abs(a['ours'].u[-1] - a['ref']).sum() * a['grid'].cell_volume:.2e}"
          f"/{np.abs(a['theirs'].u[-1] - a['ref']).sum() * a['grid'].cell_volume:.2e}", flush=True)
    print(f"   FiPy ran {bf.fipy_solver_text(a['theirs'])}", flush=True)
    # 2-D 128^2 ring: FiPy at its default tolerance and at 1e-12, each against a refined reference
    bf.report_equal_accuracy(bf.equal_accuracy_2d(128, tolerances=(None, 1e-12)))


def spectral_gaps(sizes=(32, 64)):
    import fokkerplanck as fp

    target = _problem("3d", 8)[1]
    fp.theory.spectral_gap(target, fp.Grid([-4.0] * 3, [4.0] * 3, [8] * 3))  # compile
    for n in sizes:
        t0 = time.perf_counter()
        lam = fp.theory.spectral_gap(target, fp.Grid([-4.0] * 3, [4.0] * 3, [n] * 3))
        print(f"spectral_gap 3-D {n}^3: {lam:.6f} in {time.perf_counter() - t0:.2f}s", flush=True)


def main(args):
    print(f"# {time.strftime('%Y-%m-%d %H:%M')} {platform.machine()} nproc={os.cpu_count()} "
          f"load={os.getloadavg()[0]:.1f} Python {platform.python_version()} numpy {np.__version__}; "
          f"thread variables: {[k for k in os.environ if k.endswith('_NUM_THREADS')] or 'none'}", flush=True)
    sizes = [a.split(":") for a in args if ":" in a] if args else [
        ("2d", "128"), ("2d", "256"), ("2d", "512"), ("2d", "1024"), ("3d", "32"), ("3d", "64"), ("3d", "128")]
    if not args or "fipy" in args:
        fipy_cases()
    if "growth" in args:
        growth()
    if not args or "gap" in args:
        spectral_gaps()
    if not sizes:
        return
    print("grid | cells | solver | time | Newton / CG | per Newton (CSR matvecs) | peak RSS | vs old solver")
    for kind, n in sizes:
        n = int(n)
        compare = (kind == "2d" and n <= 512) or (kind == "3d" and n <= 64)
        r = run_size(kind, n, compare)
        if r is None:
            print(f"{kind} {n}: failed")
            continue
        line = (f"{kind} {n}^{2 if kind == '2d' else 3} | {r['cells']} | {r['solver']} | {r['wall']:.2f}s | "
                f"{r['newton']} / {r['cg']} | {r['per_newton_matvecs']:.0f}, CPU time {r['per_newton_matvecs_cpu']:.0f}, without setup "
                f"{r['per_newton_matvecs_cpu_nosetup']:.0f} (matvec {r['matvec_s'] * 1e3:.2f} ms) | "
                f"{r['rss_gib']:.2f} GiB | ")
        if "old" in r:
            line += (f"{r['old']} {r['old_wall']:.2f}s ({r['old_newton']} Newton), max|du| {r['max_diff']:.1e}, "
                     f"L1 {r['l1_diff']:.1e}")
        line += f" | compile/cache {r['compile_s']:.1f}s, mass drift {r['mass_drift']:.0e}"
        print(line, flush=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), bool(int(sys.argv[4])))
    elif sys.argv[1:2] == ["--fipy"]:
        child_fipy(int(sys.argv[2]), None if sys.argv[3] == "None" else float(sys.argv[3]))
    else:
        main(sys.argv[1:])
