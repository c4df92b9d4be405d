"""Backward Euler vs BDF2 side by side (issue 20): steps and wall time per accuracy, cost per step,
the chi^2 Barenblatt order. ``python benchmarks/bench_bdf2.py`` (about a minute; results in
benchmarks/README.md, section "Second order in time").

Problem: the two-mode 1-D JSD problem (benchmarks/problems/jsd_two_modes_1d.toml: 240 cells on
[-6, 6], target 0.5 N(-1.5, 0.4) + 0.5 N(1.5, 0.4), start N(0.3, 1), t = 1). Error: L1 at t = 1
against BDF2 with dt = 1/5120 (its own error is ~4e-9, far below the accuracies asked for). For each
accuracy the largest dt = 1/N (N from a doubling-then-bisection search over integers) whose error is
below it; the wall time is the best of 3 runs of that N.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402

GRID = fp.Grid([-6.0], [6.0], [240])
VOL = 12.0 / 240
TARGET = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
INITIAL = fp.Gaussian([0.3], [[1.0]])


def run(n, scheme):
    return fp.solve(TARGET, INITIAL, GRID, 1.0, 1.0 / n, scheme=scheme)


def best_time(n, scheme, repeat=3):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        sol = run(n, scheme)
        best = min(best, time.perf_counter() - t0)
    return best, sol


def steps_for(accuracy, scheme, ref):
    err = {}

    def e(n):
        if n not in err:
            err[n] = float(np.sum(np.abs(run(n, scheme).u[-1] - ref)) * VOL)
        return err[n]

    hi = 1
    while e(hi) > accuracy:
        hi *= 2
    lo = hi // 2
    while hi - lo > 1 and lo > 0:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if e(mid) <= accuracy else (mid, hi)
    return hi, e(hi)


def barenblatt_orders(scheme):
    grid = fp.Grid([-5.0], [5.0], [400])
    ini, tgt = fp.Barenblatt(2.0, 1.0, [0.5]), fp.Uniform([-5.0], [5.0])
    dts = [0.035, 0.0175, 0.00875, 0.004375, 0.0021875]
    us = [fp.solve(tgt, ini, grid, 0.7, dt, scheme=scheme, divergence="chi2").u[-1] for dt in dts]
    d = [float(np.sum(np.abs(us[i] - us[i + 1])) * 0.025) for i in range(len(us) - 1)]
    return d, np.log2(np.array(d[:-1]) / np.array(d[1:]))


def main():
    run(10, "euler"), run(10, "bdf2")  # compile
    ref = run(5120, "bdf2").u[-1]
    print(f"# {date.today()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, fokkerplanck {fp.__version__}, load {os.getloadavg()[0]:.1f}")
    print("| accuracy (L1 at t = 1) | Euler steps | Euler time | BDF2 steps | BDF2 time | steps ratio | time ratio |")
    print("|---|---|---|---|---|---|---|")
    for acc in (1e-3, 1e-4, 1e-5):
        row = []
        for scheme in ("euler", "bdf2"):
            n, err = steps_for(acc, scheme, ref)
            t, _ = best_time(n, scheme)
            row.append((n, err, t))
        (ne, ee, te), (nb, eb, tb) = row
        print(f"| {acc:.0e} | {ne} ({ee:.2e}) | {te:.3f} s | {nb} ({eb:.2e}) | {tb:.3f} s | {ne / nb:.1f}x | "
              f"{te / tb:.1f}x |")
    # cost per step at the same dt: the two schemes alternate, best of 7 each
    n, best, sols = 400, {"euler": np.inf, "bdf2": np.inf}, {}
    for _ in range(7):
        for scheme in best:
            t, sols[scheme] = best_time(n, scheme, 1)
            best[scheme] = min(best[scheme], t)
    (te, se), (tb, sb) = (best["euler"], sols["euler"]), (best["bdf2"], sols["bdf2"])
    print(f"\ncost per step at dt = 1/{n}: Euler {te / n * 1e6:.1f} us ({se.n_newton / n:.2f} Newton/step), "
          f"BDF2 {tb / n * 1e6:.1f} us ({sb.n_newton / n:.2f} Newton/step): ratio {tb / te:.2f}")
    e01 = float(np.sum(np.abs(run(100, "euler").u[-1] - ref)) * VOL)
    b01 = float(np.sum(np.abs(run(100, "bdf2").u[-1] - ref)) * VOL)
    print(f"dt = 0.01: Euler {e01:.3e}, BDF2 {b01:.3e}, ratio {e01 / b01:.0f}x")
    for scheme in ("euler", "bdf2"):
        d, orders = barenblatt_orders(scheme)
        print(f"chi2 Barenblatt {scheme}: successive differences {['%.2e' % x for x in d]}, "
              f"orders {np.round(orders, 2).tolist()}")


if __name__ == "__main__":
    main()
