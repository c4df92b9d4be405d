"""Why does the point-wise GAN stall? A scan of the generator's settings (1-D bimodal target).

Runs Algorithm 1 with point-wise MSE fitting (lstsq) for T = 10 with eps = 0.1 and prints the
binned JSD to rho_d (70 bins, N = 2000 evaluation samples, floor 0.002) at t = 2.5, 5, 7.5, 10
for: the defaults of run_gan.py (200 latent features of bandwidth 0.3, batch 1000, ridge 1e-6),
a 4x larger batch (fit noise), a 1000x larger ridge, a sharper latent bandwidth 0.15 and 400
features with batch 4000; and the capacity of each generator family (set-wise fit directly to
the data, 10 rounds). If the stall were fit noise, the larger batch would lower it; if it were
only capacity, it would sit at the capacity value.

Usage::

    python benchmarks/gan/scan_generator.py        # about 2 minutes on 2 cores
"""

from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import run_gan  # noqa: E402

from fokkerplanck import gan  # noqa: E402

CFG = run_gan.configs()["bimodal1d"]
MET = run_gan.Metrics(CFG)
DATA = CFG["target"].sample(CFG["n_data"], seed=1)


def generator(n_features, bandwidth):
    return gan.RandomFeatureGenerator.from_gaussian([0.0], [[2.25]], seed=4, n_features=n_features, bandwidth=bandwidth)


def run(eps=0.1, T=10.0, batch=1000, ridge=1e-6, n_features=200, bandwidth=0.3):
    gen = generator(n_features, bandwidth)
    z = gen.sample_latent(CFG["n"], seed=5)
    nav = gan.ParametricNavigator(gen, DATA, eps, batch_size=batch, ridge=ridge, fitting="pointwise",
                                  calibrator=gan.Calibrator(seed=6, **CFG["calibrator"]), seed=7)
    out = []
    every = int(round(2.5 / eps))
    for it in range(1, int(round(T / eps)) + 1):
        nav.step()
        if it % every == 0:
            out.append(MET.of_samples(gen(z))["jsd"])
    return out


def capacity(n_features=200, bandwidth=0.3):
    gen = generator(n_features, bandwidth)
    z = gen.sample_latent(DATA.shape[0], seed=8)
    for _ in range(10):
        gen.theta = gan.fit_generator(gen, z, DATA[gan.match(gen(z), DATA)], ridge=1e-6)
    return MET.of_samples(gen(gen.sample_latent(CFG["n"], seed=5)))["jsd"]


def main():
    print("| variant | JSD t=2.5 | t=5 | t=7.5 | t=10 | capacity JSD | s |")
    print("|---|---|---|---|---|---|---|")
    for label, kw in [("defaults (K=200, h_z=0.3, batch 1000, ridge 1e-6)", {}),
                      ("batch 4000", dict(batch=4000)),
                      ("ridge 1e-3", dict(ridge=1e-3)),
                      ("h_z = 0.15", dict(bandwidth=0.15)),
                      ("K = 400, h_z = 0.15, batch 4000", dict(n_features=400, bandwidth=0.15, batch=4000))]:
        t0 = time.perf_counter()
        jsd = run(**kw)
        cap = capacity(kw.get("n_features", 200), kw.get("bandwidth", 0.3))
        cells = " | ".join(f"{v:.4f}" for v in jsd)
        print(f"| {label} | {cells} | {cap:.4f} | {time.perf_counter() - t0:.0f} |", flush=True)


if __name__ == "__main__":
    main()
