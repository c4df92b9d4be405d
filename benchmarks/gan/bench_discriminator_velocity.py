"""Particles moved by the calibrated discriminator velocity (issue 12, point 4): time and accuracy.

1-D bimodal target 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2), rho_0 = N(0, 1.5^2), 5000 particles,
40000 data samples, 50 forward-Euler steps of 0.05 (t = 2.5), calibrator with 300 random Fourier
features of bandwidth 0.4 and ridge 1e-3 (the settings of run_gan.py). Prints the wall time of
``fp.particles.simulate(velocity="discriminator")`` (numba compiled beforehand on a tiny run), the
calibrator's L-BFGS iterations, and the W1 distance of the particles to the grid solution u(t) at
the final time (exact 1-D W1 between the sample and the piecewise-constant grid density).
Run as a user would (no thread variables).

Usage::

    python benchmarks/gan/bench_discriminator_velocity.py [n_particles n_data steps]
"""

from __future__ import annotations

import sys
import time

import numpy as np

import fokkerplanck as fp


def w1_to_grid(x, grid, u):
    """Exact W1 between the empirical law of x (1-D) and the cell density u on grid."""
    edges = grid.edges[0]
    cdf_u = np.concatenate([[0.0], np.cumsum(u * grid.cell_volume)])
    cdf_u /= cdf_u[-1]
    xs = np.sort(np.clip(np.ravel(x), edges[0], edges[-1]))
    fine = np.linspace(edges[0], edges[-1], 200_001)
    Fu = np.interp(fine, edges, cdf_u)
    Fx = np.searchsorted(xs, fine, side="right") / xs.size
    return float(np.sum(np.abs(Fu - Fx)[:-1] * np.diff(fine)))


def main(n=5000, n_data=40000, steps=50, eps=0.05):
    target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    initial = fp.Gaussian([0.0], [[2.25]])
    data = target.sample(n_data, seed=1)
    opts = dict(n_features=300, bandwidth=0.4, regularization=1e-3)
    fp.particles.simulate(None, initial, 2 * eps, n=50, velocity="discriminator", data=data[:200], dt=eps,
                          method="euler", seed=2, velocity_options=opts)  # compile
    T = steps * eps
    t0 = time.perf_counter()
    ens = fp.particles.simulate(None, initial, T, n=n, velocity="discriminator", data=data, dt=eps,
                                method="euler", seed=2, velocity_options=opts)
    wall = time.perf_counter() - t0
    grid = fp.Grid([-7.0], [7.0], [1400])
    sol = fp.solve(target, initial, grid, T, eps / 10)
    print(f"n={n} n_data={n_data} steps={steps}: {wall:.1f}s  W1(particles, grid u(T)) = "
          f"{w1_to_grid(ens.positions[-1], grid, sol.u[-1]):.4f}  (W1 of the initial sample to u(0): "
          f"{w1_to_grid(ens.positions[0], grid, sol.u[0]):.4f})", flush=True)


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    main(*args)
