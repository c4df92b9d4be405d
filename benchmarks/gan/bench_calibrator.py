"""Calibrator fitting speed: fokkerplanck.gan against a plain scipy/numpy peer, side by side.

The calibrator (regularised logistic regression on random Fourier features) is refitted at every
particle step, so its cost sets the cost of the nonparametric navigator and of Algorithm 1.
Compared on the same data, same features, same tolerance (max |grad| <= 1e-9):

* ``gan``: the calibrator, a compiled single-threaded loss/gradient kernel driven by
  scipy.optimize.minimize(method="L-BFGS-B");
* ``peer``: numpy (BLAS) loss/gradient + scipy L-BFGS-B: what one writes without the module.

(A hand-written L-BFGS, once a third variant, was removed in favour of scipy's L-BFGS-B.)

Each is timed for one cold fit and for a sequence of 20 warm-started refits along a particle
trajectory (particles moved by eq. 22 with eps = 0.05 between refits), with OpenBLAS limited to
one thread and with its default (2 threads) in separate processes, and once more while three
busy-looping processes started by this script compete for the cores (the shared-machine case).
numba compile time (cold cache, separate process) is reported on its own.

Usage::

    python benchmarks/gan/bench_calibrator.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

CHILD = r"""
import json, sys, time
import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
import fokkerplanck as fp
from fokkerplanck import gan

n, variant = int(sys.argv[1]), sys.argv[2]
target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
data = target.sample(n, seed=1)
x = fp.Gaussian([0.0], [[2.25]]).sample(n, seed=2)
opts = dict(n_features=300, bandwidth=0.4, regularization=1e-3, seed=3)


class Peer:
    # numpy/BLAS logistic regression on the same features, scipy L-BFGS-B, warm started
    def __init__(self):
        self.cal = gan.Calibrator(**opts)
        self.p = None

    def fit(self, d, u):
        self.cal._ensure_features(d)
        pd, pu = self.cal.features(d), self.cal.features(u)
        wd, wu, lam, m = 0.5 / len(d), 0.5 / len(u), 1e-3, self.cal.n_features

        def fg(p):
            a, c = p[:m], p[m]
            fd, fu = pd @ a + c, pu @ a + c
            loss = wd * np.logaddexp(0, -fd).sum() + wu * np.logaddexp(0, fu).sum() + 0.5 * lam * a @ a
            rd, ru = -wd * expit(-fd), wu * expit(fu)
            g = np.empty(m + 1)
            g[:m] = pd.T @ rd + pu.T @ ru + lam * a
            g[m] = rd.sum() + ru.sum()
            return loss, g

        p0 = np.zeros(m + 1) if self.p is None else self.p
        r = minimize(fg, p0, jac=True, method="L-BFGS-B", options=dict(gtol=1e-9, ftol=1e-15, maxiter=2000, maxcor=20))
        self.p = r.x
        self.cal.coef_, self.cal.intercept_ = r.x[:m].copy(), float(r.x[m])
        return r.fun


def make():
    if variant == "peer":
        return Peer()
    return gan.Calibrator(**opts)


def fit(c, d, u):
    out = c.fit(d, u)
    return out if variant == "peer" else c.loss_


# warm up (compilation, imports)
fit(make(), data[:200], x[:200])
c = make()
t0 = time.perf_counter(); loss = fit(c, data, x); cold = time.perf_counter() - t0
cal = c.cal if variant == "peer" else c
y = x.copy()
t0 = time.perf_counter()
for _ in range(20):
    fit(c, data, y)
    y = y + 0.05 * cal.velocity(y)
warm = (time.perf_counter() - t0) / 20
print(json.dumps(dict(cold=cold, warm=warm, loss=float(loss))))
"""

COMPILE = r"""
import time
t0 = time.perf_counter()
import numpy as np
from fokkerplanck import gan
t1 = time.perf_counter()
c = gan.Calibrator(n_features=10, seed=0).fit(np.zeros((5, 1)) + np.arange(5)[:, None], np.ones((4, 1)))
c.velocity(np.zeros((3, 1)))
t2 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f}")
"""


def run(code, args, threads):
    env = dict(os.environ)
    if threads is None:
        env.pop("OPENBLAS_NUM_THREADS", None)
    else:
        env["OPENBLAS_NUM_THREADS"] = str(threads)
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


def table(sizes, threads_list, load):
    for n in sizes:
        for threads in threads_list:
            res = {v: json.loads(run(CHILD, [n, v], threads)) for v in ("gan", "peer")}
            for v, r in res.items():
                ratio = res["peer"]["warm"] / r["warm"]
                print(f"| {load} | {n} | {threads or 'default (2)'} | {v} | {r['cold']:.3f} | {r['warm']:.3f} | "
                      f"{ratio:.2f} | {r['loss']:.10f} |", flush=True)


def main():
    with tempfile.TemporaryDirectory() as cache:
        env_code = f"import os; os.environ['NUMBA_CACHE_DIR'] = {cache!r}\n" + COMPILE
        imp, comp = run(env_code, [], 1).split()
    print(f"numba compile (cold cache): import {imp} s, first fit + velocity {comp} s\n")
    print("| extra busy processes | n per class | OpenBLAS threads | variant | cold fit (s) | warm refit (s) | "
          "peer / variant (warm) | loss |")
    print("|---|---|---|---|---|---|---|---|")
    table((2000, 8000), (1, None), 0)
    # the shared-machine case: three busy-looping processes compete for the 2 cores
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        table((2000,), (None,), 3)
    finally:
        for h in hogs:
            h.kill()
            h.wait()


if __name__ == "__main__":
    main()
