"""1-D ``fp.solve`` against the limit: a minimal compiled backward-Euler kernel (issue 23).

The "limit" is the least a compiled code must do for the same answer: the same discretisation as
``fp.solve`` in 1-D (cell masses ``m = rho_d dx``, Scharfetter-Gummel face weights
``k = rho_ij / dx``), the Jensen-Shannon step equation ``M(expm1(2w) - v_old) + hKw = 0`` solved by
plain Newton in ``w`` (no line search, no history, no diagnostics) with a Thomas solve, starting
from the previous step's ``w`` (column "limit"; the issue's minimal kernel) or from the same linear
predictor as fp.solve, ``2 w^n - w^{n-1}`` (column "limit+pred", the stricter comparison), stopped at the same L1 residual ``1e-13`` (units of mass) and
followed by the same mass rescaling; the whole time loop is one compiled function. Like
``fp.solve`` it also stops when the Newton correction is below the round-off of ``w`` with a
residual below 1e-8: on fine grids the round-off floor of the residual exceeds 1e-13 (without that
rule the limit would run its 50 iterations per step from 16000 cells on). It is written
here from the equations, independently of the package (only numpy and numba), so it also checks
the discretisation: the two answers must agree to round-off.

Usage::

    python benchmarks/bench_limit.py            # the README's API example: 2000 cells, dt = 0.01, 500 steps
    python benchmarks/bench_limit.py growth     # time per step from 250 to 32000 cells, with FiPy
    python benchmarks/bench_limit.py growth --no-fipy

Timings are the minimum of interleaved repeats (``fp.solve`` and the limit alternate); numba
compile time is measured separately (first call minus the best call) and excluded.
"""

from __future__ import annotations

import os
import platform
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

import fokkerplanck as fp  # noqa: E402

LOWER, UPPER = -8.0, 8.0
TOL = 1e-13


def gaussian_pdf(x, mean, var):
    return np.exp(-0.5 * (x - mean) ** 2 / var) / np.sqrt(2.0 * np.pi * var)


def discretise(n):
    """Cell masses, face coefficients and v0 of the README example on n cells (numpy, from the formulas)."""
    dx = (UPPER - LOWER) / n
    x = LOWER + (np.arange(n) + 0.5) * dx
    rho = gaussian_pdf(x, 0.0, 1.0)
    u0 = 0.5 * gaussian_pdf(x, -1.0, 0.3) + 0.5 * gaussian_pdf(x, 2.0, 0.5)
    rho = rho / (rho.sum() * dx)
    u0 = u0 / (u0.sum() * dx)
    # Scharfetter-Gummel: rho_ij = rho_j * delta / (e^delta - 1), delta = ln rho_j - ln rho_i
    left, right = rho[:-1], rho[1:]
    delta = np.log(right) - np.log(left)
    small = np.abs(delta) < 1e-8
    safe = np.where(small, 1.0, delta)
    face = right * np.where(small, 1.0 - 0.5 * delta, safe / np.expm1(safe))
    return rho * dx, face / dx, u0 / rho, rho


@njit(cache=True)
def limit_run(v0, m, k, h, n_steps, tol, max_iter, predictor=False):
    """Backward Euler for JSD: ``n_steps`` steps of Newton in w with a Thomas solve; returns (v, Newton iterations).

    ``predictor``: start Newton at ``2 w^n - w^{n-1}`` (fixed steps) instead of ``w^n``, as fp.solve does."""
    n = v0.size
    v = v0.copy()
    w = np.empty(n)
    for i in range(n):
        w[i] = 0.5 * np.log1p(v[i])
    v_old = np.empty(n)
    w_prev = w.copy()
    first = True
    g = np.empty(n)
    d = np.empty(n)
    cp = np.empty(n)
    x = np.empty(n)
    hk = h * k
    total = 0
    for _ in range(n_steps):
        mass_old = 0.0
        for i in range(n):
            v_old[i] = v[i]
            mass_old += m[i] * v[i]
            if predictor:
                wi = w[i]
                if not first:
                    w[i] = 2.0 * wi - w_prev[i]
                w_prev[i] = wi
        first = False
        for it in range(max_iter + 1):
            res = 0.0
            for i in range(n):
                v[i] = np.expm1(2.0 * w[i])
                d[i] = 2.0 * m[i] * (v[i] + 1.0)  # m dv/dw, dv/dw = 2 e^{2w}
                g[i] = m[i] * (v[i] - v_old[i])
            for i in range(n - 1):
                f = hk[i] * (w[i] - w[i + 1])
                g[i] += f
                g[i + 1] -= f
                d[i] += hk[i]
                d[i + 1] += hk[i]
            for i in range(n):
                res += abs(g[i])
            if res <= tol:
                break
            total += 1
            # Thomas: sub/super-diagonal -hk, right-hand side -g
            b = d[0]
            cp[0] = -hk[0] / b
            x[0] = -g[0] / b
            for i in range(1, n):
                b = d[i] + hk[i - 1] * cp[i - 1]
                cp[i] = -hk[i] / b if i < n - 1 else 0.0
                x[i] = (-g[i] + hk[i - 1] * x[i - 1]) / b
            for i in range(n - 2, -1, -1):
                x[i] -= cp[i] * x[i + 1]
            dmax = 0.0
            wmax = 1.0
            for i in range(n):
                dmax = max(dmax, abs(x[i]))
                wmax = max(wmax, abs(w[i]))
                w[i] += x[i]
            if dmax <= 1e-14 * wmax and res <= 1e-8:
                break  # the correction is below the round-off of w: the residual is at its floor (fp.solve's rule)
        mass = 0.0
        for i in range(n):
            mass += m[i] * v[i]
        scale = mass_old / mass
        for i in range(n):
            v[i] *= scale
    return v, total


def problem_args(n, dt, t_final):
    grid = fp.Grid(lower=[LOWER], upper=[UPPER], shape=[n])
    target = fp.Gaussian(mean=[0.0], cov=[[1.0]])
    initial = fp.GaussianMixture(weights=[0.5, 0.5], means=[[-1.0], [2.0]], covs=[[[0.3]], [[0.5]]])
    return target, initial, grid, t_final, dt


def compare(n=2000, dt=1e-2, t_final=5.0, repeats=5, verbose=True):
    """Side by side: min of ``repeats`` interleaved runs of fp.solve and the limit; returns a dict."""
    n_steps = int(round(t_final / dt))
    m, k, v0, rho = discretise(n)
    args = problem_args(n, dt, t_final)
    t0 = time.perf_counter()
    limit_run(v0, m, k, dt, 2, TOL, 50)
    limit_run(v0, m, k, dt, 2, TOL, 50, True)
    t_first_limit = time.perf_counter() - t0
    t0 = time.perf_counter()
    fp.solve(*args[:3], t_final=dt, dt=dt)
    t_first_ours = time.perf_counter() - t0
    ours, limit, pred = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        sol = fp.solve(*args[:3], t_final=t_final, dt=dt)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v_lim, it_lim = limit_run(v0, m, k, dt, n_steps, TOL, 50)
        limit.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        v_pred, it_pred = limit_run(v0, m, k, dt, n_steps, TOL, 50, True)
        pred.append(time.perf_counter() - t0)
    u_lim = v_lim * rho
    diff = float(np.max(np.abs(sol.u[-1] - u_lim)))
    diff_pred = float(np.max(np.abs(sol.u[-1] - v_pred * rho)))
    out = dict(n=n, steps=n_steps, ours=min(ours), limit=min(limit), pred=min(pred), ratio=min(ours) / min(limit),
               ratio_pred=min(ours) / min(pred), diff=diff, diff_pred=diff_pred, newton_ours=sol.n_newton,
               newton_limit=it_lim, newton_pred=it_pred, first_ours=t_first_ours)
    if verbose:
        print(f"{n} cells, dt = {dt}, {n_steps} steps (min of {repeats} interleaved repeats)")
        print(f"  fp.solve : {1e3 * out['ours']:8.1f} ms   ({sol.n_newton} Newton iterations)")
        print(f"  limit    : {1e3 * out['limit']:8.1f} ms   ({it_lim} Newton iterations)")
        print(f"  limit+pred: {1e3 * out['pred']:7.1f} ms   ({it_pred} Newton iterations)")
        print(f"  ratio    : {out['ratio']:.2f}x to the limit, {out['ratio_pred']:.2f}x to limit+pred "
              "(target <= 2.0x, goal 1.5x)")
        print(f"  max |u_ours - u_limit| = {diff:.2e}, to limit+pred {diff_pred:.2e}   (max u = {float(u_lim.max()):.3f})")
        print(f"  first call (compile or cache load): limit {t_first_limit:.2f} s, fp.solve (1 step) {t_first_ours:.2f} s")
    return out


def fit_exponent(ns, ts):
    """Least-squares slope of log(time per step) against log(cells)."""
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0])


def growth(with_fipy=True, sizes=(250, 500, 1000, 2000, 4000, 8000, 16000, 32000), fipy_max=8000):
    """Time per step against the number of cells: fp.solve, the limit, FiPy (up to ``fipy_max`` cells)."""
    rows = []
    for n in sizes:
        steps = max(20, min(500, int(2e6 / n)))  # about 1e6 cell-steps or more per run, at least 20 steps
        dt = 1e-2
        r = compare(n, dt, steps * dt, repeats=3, verbose=False)
        row = dict(n=n, steps=steps, its=(r["newton_ours"], r["newton_limit"], r["newton_pred"]), ours=r["ours"] / steps, limit=r["limit"] / steps, pred=r["pred"] / steps,
                   diff=max(r["diff"], r["diff_pred"]))
        if with_fipy and n <= fipy_max:
            from fokkerplanck.fipy_reference import solve_fipy
            fsteps = max(5, min(50, int(2e5 / n)))
            args = problem_args(n, dt, fsteps * dt)
            t0 = time.perf_counter()
            solve_fipy(*args)
            row["fipy"] = (time.perf_counter() - t0) / fsteps
            row["fipy_steps"] = fsteps
        rows.append(row)
        fipy = f"{1e3 * row['fipy']:9.3f}" if "fipy" in row else "        -"
        print(f"{n:6d} cells {steps:4d} steps: fp.solve {1e3 * row['ours']:8.3f} ms/step, limit "
              f"{1e3 * row['limit']:8.3f}, limit+pred {1e3 * row['pred']:8.3f}, ratios {row['ours'] / row['limit']:5.2f} "
              f"{row['ours'] / row['pred']:5.2f}, FiPy {fipy} ms/step, max|du| {row['diff']:.1e}, Newton {row['its']}", flush=True)
    ns = np.array([r["n"] for r in rows], dtype=float)
    for col in ("ours", "limit", "pred", "fipy"):
        sel = [i for i, r in enumerate(rows) if col in r]
        if len(sel) >= 2:
            big = [i for i in sel if ns[i] >= 2000]
            tail = (f", {fit_exponent(ns[big], [rows[i][col] for i in big]):.2f} from 2000 cells on"
                    if len(big) >= 2 else "")
            print(f"fitted exponent ({col}): {fit_exponent(ns[sel], [rows[i][col] for i in sel]):.2f}{tail}")
    return rows


def header():
    print(f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
          f"fokkerplanck {getattr(fp, '__version__', '?')}, {platform.machine()}, {os.cpu_count()} cores")
    print("load:", open("/proc/loadavg").read().strip())


if __name__ == "__main__":
    header()
    if len(sys.argv) > 1 and sys.argv[1] == "growth":
        growth(with_fipy="--no-fipy" not in sys.argv)
    else:
        compare()
    print("load:", open("/proc/loadavg").read().strip())
