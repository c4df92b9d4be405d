"""Particles and comparisons: speed per velocity mode, W1 against N, peers side by side.

Prints markdown tables (and writes them with ``--output FILE``):

1. numba compile time of the kernels (cold cache, in a subprocess), reported separately;
2. particle-steps per second of each velocity mode (after compilation), with a numpy/scipy peer
   computing the same field in the same integrator loop; one binned KDE evaluation for 10^6
   particles in 1-D; KDE estimators side by side (binned, exact numba, scipy.stats.gaussian_kde);
3. W1 between the particles and the grid solution against N (log-log slope fitted), grid mode
   i.i.d. and Sobol, kde and sde modes, in 1-D (exact W1) and 2-D (sliced W1, 32 directions);
4. the KDE bandwidth / time step study of the self-consistent modes;
5. compare.wasserstein against scipy.stats.wasserstein_distance, POT's wasserstein_1d and
   sliced_wasserstein_distance: time and agreement.

Usage::

    python benchmarks/bench_particles.py                 # everything (~10 minutes on 2 cores)
    python benchmarks/bench_particles.py --quick         # smaller N
    python benchmarks/bench_particles.py --output benchmarks/particles.md
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck import compare, particles  # noqa: E402

TARGET_1D = fp.Gaussian([0.0], [[1.0]])
INITIAL_1D = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.25]], [[0.36]]])
GRID_1D = fp.Grid([-7.0], [7.0], [1400])
TARGET_2D = fp.Gaussian([0.0, 0.0], [[1.0, 0.3], [0.3, 1.0]])
INITIAL_2D = fp.GaussianMixture([0.5, 0.5], [[-1.5, 0.0], [1.5, 0.5]], [np.eye(2) * 0.3, np.eye(2) * 0.4])
GRID_2D = fp.Grid([-6.0, -6.0], [6.0, 6.0], [64, 64])
SLICED = dict(method="sliced", n_projections=32)

OUT: list[str] = []


def emit(line=""):
    print(line, flush=True)
    OUT.append(line)


def timed(fn, repeat=1):
    """Result and best CPU time (process_time) over ``repeat`` runs: the machine is shared, and all the
    code timed here is single-threaded, so CPU time measures the work without the other jobs' noise."""
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.process_time()
        out = fn()
        best = min(best, time.process_time() - t0)
    return out, best


def slope(ns, ws):
    return float(np.polyfit(np.log(ns), np.log(ws), 1)[0])


# --- 1. compile time ---------------------------------------------------------------------------------

COMPILE_SNIPPET = r"""
import time, numpy as np, fokkerplanck as fp
from fokkerplanck import particles, compare
from fokkerplanck.particles import kde
tg = fp.Gaussian([0.0], [[1.0]]); ini = fp.Gaussian([0.5], [[0.5]])
g = fp.Grid([-4.0], [4.0], [40])
sol = fp.solve(tg, ini, g, 0.1, dt=0.05, t_eval="steps")
g2 = fp.Grid([-4.0, -4.0], [4.0, 4.0], [8, 8])
sol2 = fp.solve(fp.Gaussian([0, 0], np.eye(2)), fp.Gaussian([0.5, 0], np.eye(2) * 0.5), g2, 0.1, dt=0.05,
                t_eval="steps")
x = np.random.default_rng(0).standard_normal((50, 1)); x2 = np.random.default_rng(0).standard_normal((50, 2))
def run():
    particles.simulate(tg, ini, 0.1, n=50, velocity="grid", solution=sol, dt=0.05)
    particles.simulate(None, None, 0.1, velocity="grid", solution=sol2, dt=0.05, x0=x2 * 0.5)
    particles.simulate(tg, ini, 0.1, n=50, velocity="kde", dt=0.05)
    particles.simulate(tg, ini, 0.1, n=50, velocity="sde", dt=0.05)
    kde.evaluate(x, method="exact"); kde.evaluate(x, method="binned"); kde.evaluate(x2, method="binned")
    compare.wasserstein(x, (g, sol.u[-1])); compare.wasserstein(x2, (g2, sol2.u[-1]), method="sliced")
t0 = time.process_time(); run(); first = time.process_time() - t0
t0 = time.process_time(); run(); second = time.process_time() - t0
print(first, second)
"""


def compile_times():
    emit("## 1. Numba compile time")
    emit()
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        res = []
        for label in ("cold cache (compiles)", "warm cache (loads)"):
            out = subprocess.run([sys.executable, "-c", COMPILE_SNIPPET], env=env, capture_output=True, text=True,
                                 check=True)
            first, second = map(float, out.stdout.split())
            res.append((label, first, second))
    emit("All particle/compare/KDE kernels (grid-velocity interpolation 1-D, 2-D and n-D, exact and binned KDE, "
         "target log-density, KDE/SDE velocity, 1-D quantile merge, cell projection) plus the core solver's, "
         "first call minus second call of a tiny "
         "problem, in a fresh process with an empty `NUMBA_CACHE_DIR`, then again with that cache filled:")
    emit()
    emit("| run | first call (CPU s) | second call (CPU s) | compile/load (CPU s) |")
    emit("|---|---|---|---|")
    for label, first, second in res:
        emit(f"| {label} | {first:.2f} | {second:.3f} | {first - second:.2f} |")
    emit()


# --- 2. speed ------------------------------------------------------------------------------------------

class NumpyGridVelocity1D:
    """Peer: the same staggered velocity with np.interp (face values, linear in time)."""

    def __init__(self, sol):
        self.sol = sol
        self.faces = sol.grid.edges[0]
        self.div = fp.get_divergence(sol.divergence)

    def frame(self, k):
        v = self.sol.u[k] / self.sol.rho_d
        f = self.div.f_prime(np.maximum(v, 1e-12 * v.max()))
        return np.concatenate([[0.0], -np.diff(f) / self.sol.grid.spacing[0], [0.0]])

    def __call__(self, t, x):
        k = min(int(np.searchsorted(self.sol.t, t, side="right") - 1), len(self.sol.t) - 2)
        th = (t - self.sol.t[k]) / (self.sol.t[k + 1] - self.sol.t[k])
        b = (1 - th) * self.frame(k) + th * self.frame(k + 1)
        return np.interp(x[:, 0], self.faces, b)[:, None]


class ScipyGridVelocity2D:
    """Peer: the staggered components with scipy's RegularGridInterpolator (linear)."""

    def __init__(self, sol):
        from scipy.interpolate import RegularGridInterpolator

        self.sol, self.RGI = sol, RegularGridInterpolator
        g = sol.grid
        self.pts = [(g.edges[0], g.axes[1]), (g.axes[0], g.edges[1])]

    def __call__(self, t, x):
        k = min(int(np.searchsorted(self.sol.t, t, side="right") - 1), len(self.sol.t) - 2)
        th = (t - self.sol.t[k]) / (self.sol.t[k + 1] - self.sol.t[k])
        g = self.sol.grid
        faces = [(1 - th) * a + th * b for a, b in zip(
            particles.face_velocities(self.sol.u[k], self.sol.rho_d, g.spacing, self.sol.divergence),
            particles.face_velocities(self.sol.u[k + 1], self.sol.rho_d, g.spacing, self.sol.divergence))]
        out = np.empty_like(x)
        for a in range(2):
            interp = self.RGI(self.pts[a], faces[a], bounds_error=False, fill_value=None)
            lo = np.array([self.pts[a][0][0], self.pts[a][1][0]])
            hi = np.array([self.pts[a][0][-1], self.pts[a][1][-1]])
            out[:, a] = interp(np.clip(x, lo, hi))
        return out


def speed(quick):
    emit("## 2. Particle-steps per second (after compilation)")
    emit()
    n1 = 10 ** 5 if quick else 10 ** 6
    sol1 = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=1e-2, t_eval="steps")
    sol2 = fp.solve(TARGET_2D, INITIAL_2D, GRID_2D, 0.5, dt=1e-2, t_eval="steps")
    rows = []

    def run(label, d, n, steps, velocity, method, peer=None, **kw):
        tgt, ini = (TARGET_1D, INITIAL_1D) if d == 1 else (TARGET_2D, INITIAL_2D)
        tf = steps * kw.get("dt", 1e-2)
        particles.simulate(tgt, ini, kw.get("dt", 1e-2), n=min(n, 1000), velocity=velocity, method=method,
                           seed=0, **kw)  # compile / warm up
        ens = particles.simulate(tgt, ini, tf, n=n, velocity=velocity, method=method, seed=0, **kw)
        wall = ens.cpu_time
        rate = n * ens.n_steps / wall
        peer_txt = ""
        if peer is not None:
            kw2 = {k: v for k, v in kw.items() if k != "solution"}
            pe = particles.simulate(tgt, ini, tf, n=n, velocity=peer, method=method, seed=0, **kw2)
            prate = n * pe.n_steps / pe.cpu_time
            diff = np.max(np.abs(pe.final - ens.final))
            peer_txt = f"{prate:.3g} ({type(peer).__name__}); ours/peer {rate / prate:.1f}x, max diff {diff:.1e}"
        rows.append((label, d, n, ens.n_steps, method, wall, rate, peer_txt))

    run("grid", 1, n1, 100, "grid", "rk4", NumpyGridVelocity1D(sol1), solution=sol1, dt=1e-2)
    run("grid", 1, n1, 100, "grid", "euler", solution=sol1, dt=1e-2)
    run("grid", 2, 10 ** 5, 50, "grid", "rk4", ScipyGridVelocity2D(sol2), solution=sol2, dt=1e-2)
    run("kde (binned)", 1, n1, 10, "kde", "rk2", dt=0.05)
    run("kde (binned)", 2, 10 ** 5, 10, "kde", "rk2", dt=0.05)
    run("kde (exact)", 1, 2000, 10, "kde", "rk2", dt=0.05)
    run("sde (binned KDE)", 1, n1, 20, "sde", None, dt=0.02)
    run("sde (binned KDE)", 2, 10 ** 5, 20, "sde", None, dt=0.02)
    emit("Whole `simulate` loop (field evaluations, Runge-Kutta combinations, reflections), CPU time of the "
         "time loop (`Ensemble.cpu_time`; everything is single-threaded, and CPU time is robust to the "
         "other jobs sharing the 2 cores, which inflate wall times 2-4x). Peers compute the identical field with numpy "
         "`np.interp` (1-D) / scipy `RegularGridInterpolator` (2-D) inside the same loop.")
    emit()
    emit("| velocity | d | n | steps | method | CPU time (s) | particle-steps/s | peer particle-steps/s |")
    emit("|---|---|---|---|---|---|---|---|")
    for label, d, n, steps, method, wall, rate, peer in rows:
        emit(f"| {label} | {d} | {n:.0e} | {steps} | {method} | {wall:.3f} | {rate:.3g} | {peer} |")
    emit()
    target_ok = rows[0][6] >= 1e7
    emit(f"Target: `\"grid\"` >= 1e7 particle-steps/s in 1-D with RK4: measured {rows[0][6]:.3g} "
         f"({'met' if target_ok else 'NOT met'}).")
    emit()

    # one binned KDE step for 1e6 particles
    x = INITIAL_1D.sample(10 ** 6, seed=0)
    field = particles.KDEVelocity(TARGET_1D, estimator="binned")
    field(0.0, x[:1000])
    _, t_eval_f = timed(lambda: field(0.0, x), repeat=3)
    _, t_kde = timed(lambda: fp.particles.kde.evaluate(x, method="binned"), repeat=3)
    emit(f"One `\"kde\"` step (one field evaluation, explicit Euler) for 10^6 particles in 1-D: "
         f"{t_eval_f * 1e3:.1f} ms (of which the binned KDE with gradient: {t_kde * 1e3:.1f} ms; the rest is "
         f"rho_d's logpdf/grad_logpdf and Phi'). Target < 100 ms: {'met' if t_eval_f < 0.1 else 'NOT met'}.")
    emit()

    # KDE estimators side by side
    from scipy.stats import gaussian_kde

    emit("KDE estimators at the particles (density and gradient; scipy gives the density only), same bandwidth:")
    emit()
    emit("| d | n | binned (ms) | exact numba (ms) | scipy gaussian_kde (ms) "
         "| binned vs exact: median / max rel. diff |")
    emit("|---|---|---|---|---|---|")
    for d, n in ((1, 10_000), (2, 10_000)):
        xs = (INITIAL_1D if d == 1 else INITIAL_2D).sample(n, seed=1)
        h = fp.particles.kde.bandwidth(xs)
        fp.particles.kde.evaluate(xs[:100], method="exact")
        (pb, _), tb = timed(lambda: fp.particles.kde.evaluate(xs, method="binned"), repeat=3)
        (pe, _), te = timed(lambda: fp.particles.kde.evaluate(xs, method="exact"))
        # scipy: bandwidth factor times the data covariance; matches ours exactly in 1-D (diagonal vs full
        # covariance in 2-D: same cost, different kernel, so only the time is comparable there)
        factor = float(h[0] / np.std(xs[:, 0], ddof=1))
        kde_sp = gaussian_kde(xs.T, bw_method=factor)
        ps, ts = timed(lambda: kde_sp(xs.T))
        rel = np.abs(pb / pe - 1)
        agree = f" (max rel. diff to exact {np.max(np.abs(ps / pe - 1)):.1e})" if d == 1 else ""
        emit(f"| {d} | {n} | {tb * 1e3:.1f} | {te * 1e3:.0f} | {ts * 1e3:.0f}{agree} "
             f"| {np.median(rel):.1e} / {rel.max():.1e} |")
    emit()


# --- 3. W1 against N -------------------------------------------------------------------------------

def w1_vs_n(quick):
    emit("## 3. W1 between particles and the grid solution against N")
    emit()
    sol1 = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=2e-3, t_eval="steps")
    sol2 = fp.solve(TARGET_2D, INITIAL_2D, GRID_2D, 0.5, dt=1e-2, t_eval="steps")
    cases = [
        ("grid, iid", 1, sol1, 1.0, dict(velocity="grid", solution=sol1, dt=1e-2), {}),
        ("grid, Sobol", 1, sol1, 1.0, dict(velocity="grid", solution=sol1, dt=1e-2, sampling="sobol"), {}),
        ("kde (Scott h), RK2 dt=0.05", 1, sol1, 1.0, dict(velocity="kde", dt=0.05, method="rk2"), {}),
        ("sde (Scott h), EM dt=0.02", 1, sol1, 1.0, dict(velocity="sde", dt=0.02), {}),
        ("grid, iid", 2, sol2, 0.5, dict(velocity="grid", solution=sol2, dt=1e-2), SLICED),
        ("grid, Sobol", 2, sol2, 0.5, dict(velocity="grid", solution=sol2, dt=1e-2, sampling="sobol"), SLICED),
        ("kde (Scott h), RK2 dt=0.05", 2, sol2, 0.5, dict(velocity="kde", dt=0.05, method="rk2"), SLICED),
        ("sde (Scott h), EM dt=0.02", 2, sol2, 0.5, dict(velocity="sde", dt=0.02), SLICED),
    ]
    ns_1d = [10 ** 3, 10 ** 4, 10 ** 5] + ([] if quick else [10 ** 6])
    ns_2d = [10 ** 3, 10 ** 4, 10 ** 5]
    emit("Reference: the grid solution (1-D: 1400 cells on [-7, 7], dt = 2e-3 to t = 1; 2-D: 64 x 64 on "
         "[-6, 6]^2, dt = 1e-2 to t = 0.5), rho_d and rho_0 as in tests/test_particles.py. 1-D: exact W1; "
         "2-D: sliced W1 (32 directions). W1 at t_final; mean over 3 seeds for N <= 1e4, one seed above. "
         "'floor' is the mean W1 of N i.i.d. samples of the grid density itself.")
    emit()
    emit("| case | d | " + " | ".join(f"N = {n:.0e}" for n in ns_1d) + " | slope, all N | slope, 1e3 to 1e4 |")
    emit("|---|---|" + "---|" * len(ns_1d) + "---|---|")
    for d, sol, tf, opts in ((1, sol1, 1.0, {}), (2, sol2, 0.5, SLICED)):
        ns = ns_1d if d == 1 else ns_2d
        ref = (sol.grid, sol.u[int(np.argmin(np.abs(sol.t - tf)))])
        fl = [compare.sampling_floor(ref, n, repeats=3 if n <= 10 ** 5 else 1, **opts) for n in ns]
        cells = " | ".join(f"{w:.2e}" for w in fl) + " |" * (len(ns_1d) - len(ns))
        emit(f"| floor (i.i.d. samples of u) | {d} | {cells} | {slope(ns, fl):.2f} | {slope(ns[:2], fl[:2]):.2f} |")
    for label, d, sol, tf, kw, opts in cases:
        ns = ns_1d if d == 1 else ns_2d
        tgt, ini = (TARGET_1D, INITIAL_1D) if d == 1 else (TARGET_2D, INITIAL_2D)
        ref = (sol.grid, sol.u[int(np.argmin(np.abs(sol.t - tf)))])
        ws = []
        for n in ns:
            seeds = range(3) if n <= 10 ** 4 else range(1)
            ws.append(np.mean([compare.wasserstein(particles.simulate(tgt, ini, tf, n=n, seed=s, **kw).final, ref,
                                                   **opts) for s in seeds]))
        cells = " | ".join(f"{w:.2e}" for w in ws) + " |" * (len(ns_1d) - len(ns))
        emit(f"| {label} | {d} | {cells} | {slope(ns, ws):.2f} | {slope(ns[:2], ws[:2]):.2f} |")
    emit()


# --- 4. bandwidth and time step of the self-consistent modes ----------------------------------------

def bandwidth_study(quick):
    emit("## 4. Self-consistent modes: bandwidth and time step (1-D, N = 1e5, t = 1)")
    emit()
    n = 10 ** 4 if quick else 10 ** 5
    sol = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=1e-3, t_eval=[0.0, 1.0])
    ref = (sol.grid, sol.u[-1])
    emit(f"Reference grid solution with dt = 1e-3; i.i.d. floor at N = {n:.0e}: "
         f"{compare.sampling_floor(ref, n, repeats=4):.2e}. W1 mean of 2 seeds.")
    emit()
    emit("| mode | dt | h = Scott (~0.12) | h = 0.06 | h = 0.03 |")
    emit("|---|---|---|---|---|")
    for mode in ("kde", "sde"):
        for dt in (0.02, 0.005):
            cells = []
            for bw in ("scott", 0.06, 0.03):
                ws = [compare.wasserstein(particles.simulate(
                    TARGET_1D, INITIAL_1D, 1.0, n=n, velocity=mode, dt=dt, seed=s,
                    method="rk2" if mode == "kde" else None, velocity_options=dict(bandwidth=bw)).final, ref)
                    for s in range(2)]
                cells.append(f"{np.mean(ws):.2e}")
            emit(f"| {mode} ({'RK2' if mode == 'kde' else 'Euler-Maruyama'}) | {dt} | " + " | ".join(cells) + " |")
    emit()


# --- 5. compare against peers ------------------------------------------------------------------------

def compare_peers(quick):
    import ot
    from scipy.stats import wasserstein_distance

    emit("## 5. `fp.compare` against peers")
    emit()
    n = 10 ** 5 if quick else 10 ** 6
    rng = np.random.default_rng(0)
    x = rng.normal(0.0, 1.0, n)
    y = rng.normal(0.3, 1.5, n // 2 + 7)
    compare.wasserstein(x[:10], y[:10])
    emit("| task | ours (CPU s) | peer | peer (CPU s) | |ours - peer| |")
    emit("|---|---|---|---|---|")
    ours, t_o = timed(lambda: compare.wasserstein(x, y, p=1), repeat=2)
    peer, t_p = timed(lambda: wasserstein_distance(x, y), repeat=2)
    emit(f"| 1-D W1, samples {n:.0e} vs {y.size:.0e} | {t_o:.3f} | scipy.stats.wasserstein_distance | {t_p:.3f} | "
         f"{abs(ours - peer):.1e} |")
    ours, t_o = timed(lambda: compare.wasserstein(x, y, p=2), repeat=2)
    peer, t_p = timed(lambda: float(ot.wasserstein_1d(x, y, p=2)) ** 0.5, repeat=2)
    emit(f"| 1-D W2, same | {t_o:.3f} | ot.wasserstein_1d | {t_p:.3f} | {abs(ours - peer):.1e} |")
    # samples vs a grid density: ours exact (piecewise constant), scipy with cell-centre atoms
    grid = fp.Grid([-8.0], [8.0], [1600])
    u = fp.Gaussian([0.0], [[1.0]]).pdf(grid.points())
    ours, t_o = timed(lambda: compare.wasserstein(x, (grid, u)), repeat=2)
    peer, t_p = timed(lambda: wasserstein_distance(x, grid.axes[0], v_weights=u), repeat=2)
    emit(f"| 1-D W1, {n:.0e} samples vs grid density (1600 cells) | {t_o:.3f} | scipy with cell-centre atoms | "
         f"{t_p:.3f} | {abs(ours - peer):.1e} (the atoms' bias; ours is exact for the piecewise-constant density) |")
    # 2-D sliced, samples vs samples, identical directions
    m = 10 ** 4 if quick else 10 ** 5
    a = rng.normal(size=(m, 2))
    b = rng.normal(size=(m, 2)) * [1.0, 1.3] + 0.1
    dirs = compare._directions(2, 64, 0)
    ours, t_o = timed(lambda: compare.sliced_wasserstein(a, b, p=2, n_projections=64, seed=0))
    peer, t_p = timed(lambda: float(ot.sliced_wasserstein_distance(a, b, p=2, projections=dirs.T)))
    emit(f"| 2-D sliced W2, {m:.0e} vs {m:.0e} samples, 64 directions | {t_o:.3f} | ot.sliced_wasserstein_distance "
         f"(same directions) | {t_p:.3f} | {abs(ours - peer):.1e} |")
    # 2-D sliced, samples vs grid density (no peer computes the exact projection of a grid density)
    g2 = fp.Grid([-6.0, -6.0], [6.0, 6.0], [128, 128])
    u2 = fp.Gaussian([0.0, 0.0], np.eye(2)).pdf(g2.points()).reshape(g2.shape)
    _, t_o = timed(lambda: compare.wasserstein(a, (g2, u2), method="sliced", n_projections=64))
    emit(f"| 2-D sliced W1, {m:.0e} samples vs 128^2 grid density, 64 directions | {t_o:.3f} | (none) | | |")
    k = 1500
    xa, xb = a[:k], b[:k]
    ours, t_o = timed(lambda: compare.wasserstein(xa, xb, p=1, method="exact"))
    cost = np.sqrt(((xa[:, None] - xb[None]) ** 2).sum(-1))
    peer, t_p = timed(lambda: float(ot.emd2(np.full(k, 1 / k), np.full(k, 1 / k), cost)))
    emit(f"| 2-D exact W1, {k} vs {k} samples | {t_o:.3f} | ot.emd2 (our backend) | {t_p:.3f} | "
         f"{abs(ours - peer):.1e} |")
    emit()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller problems")
    ap.add_argument("--output", help="write the markdown here")
    ap.add_argument("--only", nargs="*", default=None, help="sections: compile speed w1 bandwidth compare")
    args = ap.parse_args(argv)
    emit("# Particles and comparisons: benchmark results")
    emit()
    emit(f"Date 2026-11-21; machine: 2-core x86_64, 24 GiB, no GPU, Python {platform.python_version()} "
         f"(shared with other jobs: timings are indicative, ratios side by side are the measure); numpy "
         f"{np.__version__}. Produced by `python benchmarks/bench_particles.py{' --quick' if args.quick else ''}`.")
    emit()
    sections = dict(compile=compile_times, speed=speed, w1=w1_vs_n, bandwidth=bandwidth_study, compare=compare_peers)
    for name, fn in sections.items():
        if args.only is None or name in args.only:
            fn(args.quick) if name != "compile" else fn()
    if args.output:
        with open(args.output, "w") as fh:
            fh.write("\n".join(OUT) + "\n")


if __name__ == "__main__":
    main()
