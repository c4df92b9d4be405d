"""fokkerplanck.particles.velocities.grid: the velocity of a grid solution (superposition mode)."""

import numpy as np
from particles_cases import TARGET_1D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.particles.velocities import GridVelocity, face_velocities


def test_grid_velocity_exact_for_kl_gaussians_and_second_order_for_jsd():
    """b = -grad f'(v): for KL and Gaussian u, rho_d, f'(v) = ln v is quadratic, so face differences
    and the staggered (bi)linear interpolation reproduce the linear b exactly (away from the walls);
    for JSD the error is O(dx^2)."""
    u_dens = fp.Gaussian([0.5, -0.3], [[0.5, 0.1], [0.1, 0.7]])
    rho_dens = fp.Gaussian([0.0, 0.0], [[1.0, 0.2], [0.2, 1.2]])
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [50, 60])
    pts = np.random.default_rng(0).uniform(-4.0, 4.0, size=(2000, 2))

    def make(div, g):
        u = u_dens.pdf(g.points()).reshape(g.shape)
        rho = rho_dens.pdf(g.points()).reshape(g.shape)
        return fp.Solution(t=np.array([0.0]), u=u[None], history={}, grid=g, rho_d=rho, divergence=div, beta=1.0)

    exact_kl = -(u_dens.grad_logpdf(pts) - rho_dens.grad_logpdf(pts))
    b = particles.GridVelocity(make("kl", grid))(0.0, pts)
    np.testing.assert_allclose(b, exact_kl, rtol=0, atol=1e-9)
    # 3-D: the general staggered (trilinear) kernel
    u3 = fp.Gaussian([0.5, -0.3, 0.2], [[0.5, 0.1, 0.0], [0.1, 0.7, 0.1], [0.0, 0.1, 0.6]])
    g3 = fp.Grid([-4.0, -4.0, -4.0], [4.0, 4.0, 4.0], [16, 20, 18])
    sol3 = fp.Solution(t=np.array([0.0]), u=u3.pdf(g3.points()).reshape(g3.shape)[None], history={}, grid=g3,
                       rho_d=fp.Gaussian([0.0] * 3, np.eye(3)).pdf(g3.points()).reshape(g3.shape),
                       divergence="kl", beta=1.0)
    p3 = np.random.default_rng(1).uniform(-3.0, 3.0, size=(500, 3))
    np.testing.assert_allclose(particles.GridVelocity(sol3)(0.0, p3), -(u3.grad_logpdf(p3) + p3), rtol=0, atol=1e-9)

    def exact_jsd(x):
        v = u_dens.pdf(x) / rho_dens.pdf(x)
        return -(u_dens.grad_logpdf(x) - rho_dens.grad_logpdf(x)) / (2.0 * (1.0 + v))[:, None]

    errs = []
    for shape in ([50, 60], [100, 120]):
        g = fp.Grid([-5.0, -5.0], [5.0, 5.0], shape)
        errs.append(np.max(np.abs(particles.GridVelocity(make("jsd", g))(0.0, pts) - exact_jsd(pts))))
    order = np.log2(errs[0] / errs[1])
    assert 1.7 < order < 2.5, (errs, order)


def test_grid_velocity_robust_where_u_vanishes():
    """Cells with u = 0 (or round-off negative) give finite velocities: v is floored."""
    grid = fp.Grid([-4.0], [4.0], [80])
    u = np.where(np.abs(grid.axes[0]) < 1.0, 1.0, 0.0)
    u[10] = -1e-300
    rho = TARGET_1D.pdf(grid.points())
    sol = fp.Solution(t=np.array([0.0, 1.0]), u=np.stack([u, u]), history={}, grid=grid, rho_d=rho,
                      divergence="jsd", beta=1.0)
    field = particles.GridVelocity(sol)
    b = field(0.3, np.linspace(-5, 5, 1001)[:, None])
    assert np.all(np.isfinite(b))
    assert b[0, 0] == 0.0 and b[-1, 0] == 0.0  # beyond the walls: the wall's zero normal velocity
    # support edge at x = 1: mass flows outward (b > 0 just right of the edge)
    assert field(0.0, np.array([[1.05]]))[0, 0] > 0


def test_grid_velocity_floor_is_absolute_so_huge_beta_does_not_freeze_the_bulk():
    # A Gaussian start and a two-mode target: v = u / rho_d reaches ~1e20 at the box edges (beta of
    # condition 34). A floor relative to max v would exceed v everywhere in the bulk and zero the
    # velocity; the absolute floor must leave the bulk velocity equal to the unfloored one.
    grid = fp.Grid([-8.0], [8.0], [400])
    target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    sol = fp.solve(target, fp.Gaussian([0.0], [[1.0]]), grid, 0.1, 0.05)
    assert sol.beta > 1e12
    b = face_velocities(sol.u[-1], sol.rho_d, grid.spacing, "jsd")[0]
    b_raw = face_velocities(sol.u[-1], sol.rho_d, grid.spacing, "jsd", floor=0.0)[0]
    bulk = np.abs(np.r_[grid.edges[0]]) < 4
    np.testing.assert_allclose(b[bulk], b_raw[bulk], rtol=1e-12, atol=0)
    assert np.max(np.abs(b[bulk])) > 0.1


def test_floor_is_the_declared_option(sol_1d):
    assert GridVelocity(sol_1d).floor == GridVelocity.option("floor").default == 1e-12
    assert GridVelocity(sol_1d, floor=0.0).floor == 0.0
    for bad in (1.0, -1e-3, float("nan"), True, "0"):
        try:
            GridVelocity(sol_1d, floor=bad)
        except ValueError as exc:
            assert str(exc) == f"floor must be a number in [0, 1), got {bad!r}."
        else:
            raise AssertionError(bad)
