"""Particles moved by the calibrated discriminator velocity (issue 12, point 4): time and accuracy.

1-D bimodal target 0.5 N(-2, 0.5^2) + 0.5 N(2, 0.5^2), rho_0 = N(0, 1.5^2), 5000 particles,
40000 data samples, 50 forward-Euler steps of 0.05 (t = 2.5), calibrator with 300 random Fourier
features of bandwidth 0.4 and ridge 1e-3 (the settings of run_gan.py). Prints the wall time of
``fp.particles.simulate(velocity="discriminator")`` (numba compiled beforehand on a tiny run), the
calibrator's iterations, and the W1 distance of the particles to the grid solution u(t) at the
final time (exact 1-D W1 between the sample and the piecewise-constant grid density).
Run as a user would (no thread variables).

At every refit the velocity field is also recorded on 241 fixed points of [-6, 6] (outside the
timing); ``--save FILE.npz`` stores it with the final particles, and ``--reference FILE.npz``
compares a run against a stored one (largest velocity difference over the fixed points and all 50
refits, relative to the largest velocity; largest particle displacement; W1 of both).
``--solver NAME`` passes ``solver=NAME`` to the calibrator (omitted: the calibrator's default; the
option exists from the Newton refit on, so an older checkout runs the script without it).

Usage::

    python benchmarks/gan/bench_discriminator_velocity.py [n_particles n_data steps]
        [--solver newton|lbfgsb] [--save FILE.npz] [--reference FILE.npz]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import fokkerplanck as fp
from fokkerplanck.gan import calibrator as _calibrator

FIXED = np.linspace(-6.0, 6.0, 241)[:, None]


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


class _Recorder:
    """Wraps CalibratedVelocity.__call__: records the fitted velocity on FIXED and the iterations."""

    def __init__(self):
        self.fields, self.iters, self.extra = [], [], 0.0
        self._orig = _calibrator.CalibratedVelocity.__call__

    def __enter__(self):
        rec = self

        def call(field, t, x):
            out = rec._orig(field, t, x)
            t0 = time.perf_counter()
            rec.fields.append(field.calibrator.velocity(FIXED)[:, 0])
            rec.iters.append(field.calibrator.n_iter_)
            rec.extra += time.perf_counter() - t0
            return out

        _calibrator.CalibratedVelocity.__call__ = call
        return self

    def __exit__(self, *exc):
        _calibrator.CalibratedVelocity.__call__ = self._orig


def main(n=5000, n_data=40000, steps=50, eps=0.05, solver=None, save=None, reference=None):
    target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    initial = fp.Gaussian([0.0], [[2.25]])
    data = target.sample(n_data, seed=1)
    opts = dict(n_features=300, bandwidth=0.4, regularization=1e-3)
    if solver is not None:
        opts["solver"] = solver
    fp.particles.simulate(None, initial, 2 * eps, n=50, velocity="discriminator", data=data[:200], dt=eps,
                          method="euler", seed=2, velocity_options=opts)  # compile
    T = steps * eps
    with _Recorder() as rec:
        t0 = time.perf_counter()
        ens = fp.particles.simulate(None, initial, T, n=n, velocity="discriminator", data=data, dt=eps,
                                    method="euler", seed=2, velocity_options=opts)
        wall = time.perf_counter() - t0 - rec.extra
    grid = fp.Grid([-7.0], [7.0], [1400])
    sol = fp.solve(target, initial, grid, T, eps / 10)
    w1 = w1_to_grid(ens.positions[-1], grid, sol.u[-1])
    fields, final = np.array(rec.fields), np.asarray(ens.positions[-1])
    print(f"n={n} n_data={n_data} steps={steps} solver={solver or 'default'}: {wall:.1f}s  "
          f"W1(particles, grid u(T)) = {w1:.4f}  (W1 of the initial sample to u(0): "
          f"{w1_to_grid(ens.positions[0], grid, sol.u[0]):.4f});  iterations per refit: "
          f"first {rec.iters[0]}, mean of the rest {np.mean(rec.iters[1:]):.1f}", flush=True)
    if save:
        np.savez(save, fields=fields, final=final, w1=w1, wall=wall)
    if reference:
        ref = np.load(reference)
        dv = np.max(np.abs(fields - ref["fields"]))
        print(f"against {reference}: velocity on {FIXED.shape[0]} fixed points over {len(fields)} refits: "
              f"max |difference| = {dv:.2e} (relative to max |v| {np.max(np.abs(ref['fields'])):.3f}: "
              f"{dv / np.max(np.abs(ref['fields'])):.2e}); max particle displacement "
              f"{np.max(np.abs(final - ref['final'])):.2e}; W1 {float(ref['w1']):.4f} -> {w1:.4f}; "
              f"time {float(ref['wall']):.1f}s -> {wall:.1f}s ({float(ref['wall']) / wall:.1f}x)", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int, help="n_particles n_data steps")
    ap.add_argument("--solver")
    ap.add_argument("--save")
    ap.add_argument("--reference")
    a = ap.parse_args()
    main(*a.sizes, solver=a.solver, save=a.save, reference=a.reference)
