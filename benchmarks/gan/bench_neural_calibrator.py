"""Neural vs random-feature calibrator at equal accuracy (issue 15).

Case: 1-D, rho_d = 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2) (n = 1000 samples) against u = N(0, 1.5^2)
(n = 1000), the start of the benchmark flow. Accuracy: max |D_hat - D| on the central 98 % of
rho_d + u (where both are sampled), D = rho_d / (rho_d + u) exact. The random-feature calibrator
(300 features, bandwidth 0.4, ridge 1e-3, as in run_gan.py) is fitted to optimality; the neural one
(MLP 32x32, Adam 3e-3, full batch) is trained in chunks of steps until it is at least as accurate,
and the time to get there is recorded (compile time reported separately). Then the cost of a
warm-started refit along a trajectory (the ODE's use): the RF calibrator's L-BFGS-B to optimality
vs the neural calibrator's 30 Adam steps.

    python benchmarks/gan/bench_neural_calibrator.py    # prints a markdown table
"""
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import numpy as np  # noqa: E402

import fokkerplanck as fp  # noqa: E402
from fokkerplanck import gan  # noqa: E402

target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
u = fp.Gaussian([0.0], [[2.25]])
x = np.linspace(-3.2, 3.2, 321)[:, None]
exact = target.pdf(x) / (target.pdf(x) + u.pdf(x))
print("| seed | RF error | RF cold fit (s) | RF warm refit (s) | neural steps to reach RF error | neural error | "
      "neural time (s, excl. compile) | compile (s) | neural warm refit, 30 steps (s) |")
print("|---|---|---|---|---|---|---|---|---|")
for seed in range(3):
    data, samples = target.sample(1000, seed=10 * seed + 1), u.sample(1000, seed=10 * seed + 2)
    rf = gan.Calibrator(n_features=300, bandwidth=0.4, regularization=1e-3, seed=seed)
    t0 = time.perf_counter(); rf.fit(data, samples); t_rf = time.perf_counter() - t0
    err_rf = float(np.max(np.abs(rf(x) - exact)))
    moved = samples + 0.1 * rf.velocity(samples)
    t0 = time.perf_counter(); rf.fit(data, moved); t_rf_warm = time.perf_counter() - t0
    nn = gan.NeuralCalibrator(hidden=(32, 32), n_initial_steps=100, n_steps=100, learning_rate=3e-3, seed=seed)
    t0 = time.perf_counter(); nn.fit(data, samples); t_first = time.perf_counter() - t0
    t0 = time.perf_counter(); nn.fit(data, samples); t_100 = time.perf_counter() - t0
    compile_s = max(t_first - t_100, 0.0)
    steps, t_nn = 200, t_first - compile_s + t_100
    err_nn = float(np.max(np.abs(nn(x) - exact)))
    while err_nn > err_rf and steps < 6000:
        t0 = time.perf_counter(); nn.fit(data, samples); t_nn += time.perf_counter() - t0
        steps += 100
        err_nn = float(np.max(np.abs(nn(x) - exact)))
    nn.n_steps = 30
    nn.fit(data, moved)  # compile of nothing new (n is traced); time a warm refit
    t0 = time.perf_counter(); nn.fit(data, moved + 0.01); t_nn_warm = time.perf_counter() - t0
    reached = steps if err_nn <= err_rf else f"> {steps} (not reached)"
    print(f"| {seed} | {err_rf:.4f} | {t_rf:.3f} | {t_rf_warm:.3f} | {reached} | {err_nn:.4f} | {t_nn:.2f} | "
          f"{compile_s:.1f} | {t_nn_warm:.3f} |", flush=True)
