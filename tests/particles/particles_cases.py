"""Densities and grids shared by the particle tests (imported by name: tests/particles is on sys.path).

Time budget (the particle tests with test_compare.py): under 70 s on 2 cores. Choices:
1-D grids of 1400 cells on [-7, 7] (the 1-D solver takes ~0.1 s) and t_final = 1; the 2-D grid is
64 x 64 on [-6, 6]^2 with t_final = 0.5 (one solve, ~2-4 s, shared by the 2-D tests), compared by
sliced W1 with 32 directions (the only practical W1 for 10^5 points in 2-D; an exact OT would need
a 10^5 x 4096 cost matrix). The FV error of that grid (O(dx^2), dx = 0.19) measured against
quasi-Monte Carlo particles is ~2e-3, below the 10^5 sampling floor ~4e-3, so the superposition
check stays meaningful at 10^5 particles.
"""

import numpy as np

import fokkerplanck as fp

TARGET_1D = fp.Gaussian([0.0], [[1.0]])
INITIAL_1D = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.25]], [[0.36]]])
GRID_1D = fp.Grid([-7.0], [7.0], [1400])
TARGET_2D = fp.Gaussian([0.0, 0.0], [[1.0, 0.3], [0.3, 1.0]])
INITIAL_2D = fp.GaussianMixture([0.5, 0.5], [[-1.5, 0.0], [1.5, 0.5]], [np.eye(2) * 0.3, np.eye(2) * 0.4])
GRID_2D = fp.Grid([-6.0, -6.0], [6.0, 6.0], [64, 64])
SLICED = dict(method="sliced", n_projections=32)


def frame(sol, t):
    """``(grid, u)`` of the saved frame at time ``t`` (which must be saved)."""
    k = int(np.argmin(np.abs(sol.t - t)))
    assert abs(sol.t[k] - t) < 1e-9
    return sol.grid, sol.u[k]
