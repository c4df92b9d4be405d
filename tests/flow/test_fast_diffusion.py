r"""The squared-Hellinger flow toward a uniform target is fast diffusion, u_tau = (u^{1/2})_xx.

On :math:`[-L, L]` with :math:`\rho_d = c = 1/(2L)` the flow is :math:`u_t = \sqrt c\,(u^{1/2})_{xx}`,
i.e. :math:`u_\tau = (u^{1/2})_{xx}` with :math:`\tau = \sqrt c\,t` (docs/guide/divergence_family.md). Its
Barenblatt profile :math:`\tau^{-2/3}(C + \xi^2/3)^{-2}`, :math:`\xi = x\tau^{-2/3}`, is positive
everywhere with tails :math:`9\tau^2 x^{-4}`; on a box of half-width L the mass beyond the walls
is :math:`6\tau^2/L^3` (2e-4 for L = 30, tau = 1), which bounds what the no-flux walls change.
"""

import numpy as np

import fokkerplanck as fp
from fokkerplanck.theory import barenblatt_cell_averages

L, TAU0, TAU1 = 30.0, 0.5, 1.0


def _run(n, steps):
    grid = fp.Grid([-L], [L], [n])
    T = (TAU1 - TAU0) / np.sqrt(1.0 / (2 * L))
    sol = fp.solve(fp.Uniform(grid.lower, grid.upper), barenblatt_cell_averages(grid, TAU0, 0.5), grid, T, T / steps, divergence="hellinger")
    return grid, sol, barenblatt_cell_averages(grid, TAU1, 0.5)


def test_fast_diffusion_barenblatt_1d():
    # Measured (n = 600, dx = 0.1): L1 errors 1.33e-3, 8.96e-4, 6.80e-4 for 100, 200, 400 steps;
    # successive differences halve (ratio 1.994: backward Euler, first order); after Richardson
    # extrapolation in dt the error is 1.36e-3, 4.7e-4, 2.5e-4 for n = 300, 600, 1200: O(dx^2) on
    # top of a floor of ~2e-4 = the mass the walls cut off (6 tau^2 / L^3 = 2.2e-4).
    runs = [_run(600, k) for k in (100, 200, 400)]
    grid, exact = runs[0][0], runs[0][2]
    u = [sol.u[-1] for _, sol, _ in runs]
    for _, sol, _ in runs:
        assert np.max(np.abs(sol.history["mass"] - 1.0)) < 1e-12
        assert np.all(sol.u > 0)
    l1 = lambda a: float(np.sum(np.abs(a)) * grid.cell_volume)  # noqa: E731
    ratio = l1(u[0] - u[1]) / l1(u[1] - u[2])
    assert 1.9 < ratio < 2.1  # first order in time
    assert l1(u[2] - exact) < 8e-4
    assert l1(2 * u[2] - u[1] - exact) < 6e-4


def test_positive_everywhere_after_one_step_from_a_compact_start():
    # infinite speed of propagation: a box-shaped start fills every cell in one implicit step
    grid = fp.Grid([-4.0], [4.0], [200])
    u0 = np.where(np.abs(grid.axes[0]) < 0.5, 1.0, 0.0)
    for dt in (1e-3, 1.0, 20.0):
        sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), u0, grid, dt, dt, divergence="hellinger")
        assert np.all(sol.u[-1] > 0), dt
        assert abs(sol.history["mass"][-1] - 1.0) < 1e-12
    # chi^2 instead keeps the far cells exactly empty after one small step (finite speed)
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), u0, grid, 1e-3, 1e-3, divergence="chi2")
    assert np.sum(sol.u[-1] == 0.0) > 100
