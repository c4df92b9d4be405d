"""fokkerplanck.particles.velocities: the grid, KDE, SDE, discriminator and custom fields and their registry."""

import numpy as np
import pytest
from particles_cases import INITIAL_1D, INITIAL_2D, TARGET_1D, TARGET_2D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.particles import velocities


# --- the grid velocity -----------------------------------------------------------------------


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
    from fokkerplanck.particles import face_velocities

    grid = fp.Grid([-8.0], [8.0], [400])
    target = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
    sol = fp.solve(target, fp.Gaussian([0.0], [[1.0]]), grid, 0.1, 0.05)
    assert sol.beta > 1e12
    b = face_velocities(sol.u[-1], sol.rho_d, grid.spacing, "jsd")[0]
    b_raw = face_velocities(sol.u[-1], sol.rho_d, grid.spacing, "jsd", floor=0.0)[0]
    bulk = np.abs(np.r_[grid.edges[0]]) < 4
    np.testing.assert_allclose(b[bulk], b_raw[bulk], rtol=1e-12, atol=0)
    assert np.max(np.abs(b[bulk])) > 0.1


# --- self-consistent fields ------------------------------------------------------------------


def test_kde_velocity_matches_the_exact_velocity_of_the_sampled_density():
    """For particles drawn from a known u, the KDE velocity approaches eq. (49) evaluated with u itself.

    Errors: KDE smoothing bias O(h^2) and noise O((N h^3)^(-1/2)) in grad ln u; at N = 5e4 (h ~ 0.1)
    both are a few percent of the velocity's size in the bulk; measured RMS relative error 0.03."""
    u = fp.Gaussian([1.0], [[0.25]])
    x = u.sample(50_000, seed=0)
    b = particles.KDEVelocity(TARGET_1D)(0.0, x)
    v = u.pdf(x) / TARGET_1D.pdf(x)
    exact = -(u.grad_logpdf(x) - TARGET_1D.grad_logpdf(x)) / (2.0 * (1.0 + v))[:, None]
    bulk = np.abs(x[:, 0] - 1.0) < 1.0  # within 2 standard deviations of u
    rel = np.sqrt(np.mean((b[bulk] - exact[bulk]) ** 2) / np.mean(exact[bulk] ** 2))
    assert rel < 0.1, rel


def test_fused_kernels_match_the_formulas():
    """The compiled target evaluation and the KDE/SDE velocity kernels against plain numpy formulas:
    ln rho_d and grad ln rho_d of Gaussians and mixtures (to round-off, also far in the tails where
    rho_d underflows), b = -(grad ln u - grad ln rho_d)/(2(1+v)) (JSD), -(grad ln u - grad ln rho_d)
    (KL), and the SDE drift 1/2 (grad rho_d + grad u)/(rho_d + u) (eq. 30)."""
    rng = np.random.default_rng(2)
    mix2 = fp.GaussianMixture([0.2, 0.8], [[-1.0, 0.0], [2.0, 1.0]], [np.eye(2), [[1.2, 0.1], [0.1, 0.5]]])
    for target in (TARGET_1D, INITIAL_1D, TARGET_2D, mix2):
        x = rng.normal(size=(500, target.ndim)) * 3
        x[0] = 60.0  # rho_d = exp(-1800): underflows, its logarithm must not
        lp, g = velocities._TargetLog(target)(x)
        np.testing.assert_allclose(lp, target.logpdf(x), rtol=1e-13)
        np.testing.assert_allclose(g, target.grad_logpdf(x), rtol=1e-11, atol=1e-12)
    x = INITIAL_2D.sample(3000, seed=0)
    p, gu = fp.kde.evaluate(x)
    rho, gld = TARGET_2D.pdf(x), TARGET_2D.grad_logpdf(x)
    glu = gu / p[:, None]
    jsd = -(glu - gld) / (2 * (1 + p / rho))[:, None]
    np.testing.assert_allclose(particles.KDEVelocity(TARGET_2D)(0.0, x), jsd, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(particles.KDEVelocity(TARGET_2D, "kl")(0.0, x), -(glu - gld), rtol=1e-10, atol=1e-12)
    drift = 0.5 * (rho[:, None] * gld + gu) / (rho + p)[:, None]
    np.testing.assert_allclose(particles.SDEDrift(TARGET_2D)(0.0, x), drift, rtol=1e-10, atol=1e-12)


# --- the registry and the base class ---------------------------------------------------------------

def test_registry_names_one_class_per_field():
    assert list(velocities.VELOCITIES) == ["grid", "kde", "sde", "discriminator"]
    for name, cls in velocities.VELOCITIES.items():
        assert issubclass(cls, velocities.VelocityField) and cls.name == name
        assert name in particles.VELOCITIES  # callers test membership by name
    assert velocities.SDEDrift.stochastic and not velocities.KDEVelocity.stochastic
    assert particles.VelocityField is velocities.VelocityField


def test_check_fills_dimension_divergence_and_box(sol_1d):
    args = velocities.FlowArguments(target=TARGET_1D, solution=sol_1d, t_final=1.0)
    velocities.GridVelocity.check(args)
    assert (args.d, args.divergence, args.grid) == (1, sol_1d.divergence, sol_1d.grid)
    args = velocities.FlowArguments(target=TARGET_2D, divergence="KL")
    velocities.KDEVelocity.check(args)
    assert (args.d, args.divergence, args.grid) == (2, "kl", None)
    args = velocities.FlowArguments(data=np.zeros((5, 3)).tolist(), options=dict(n_features=4))
    velocities.DiscriminatorVelocity.check(args)  # options go to fokkerplanck.gan unchecked here
    assert args.d == 3 and args.data.shape == (5, 3) and args.divergence == "jsd"
    with pytest.raises(ValueError, match="data are 3-dimensional but the target is 1-dimensional"):
        velocities.DiscriminatorVelocity.check(velocities.FlowArguments(target=TARGET_1D, data=np.zeros((5, 3))))
    with pytest.raises(ValueError, match=r"unknown velocity_options \['floor'\] for velocity='kde'"):
        velocities.KDEVelocity.check(velocities.FlowArguments(target=TARGET_1D, options=dict(floor=0.0)))


def test_kde_options_are_checked_when_the_field_is_built():
    with pytest.raises(ValueError, match="unknown KDE method"):
        velocities.KDEVelocity(TARGET_1D, estimator="fft")
    with pytest.raises(ValueError, match="unknown bandwidth rule"):
        velocities.SDEDrift(TARGET_1D, bandwidth="wide")
    with pytest.raises(ValueError, match="unknown divergence"):
        velocities.SDEDrift(TARGET_1D, "no-such-divergence")
    with pytest.raises(ValueError, match="SDE form for 'jsd' .* and 'kl' only, not 'hellinger'"):
        velocities.SDEDrift(TARGET_1D, "hellinger")
    field = velocities.KDEVelocity(TARGET_1D, estimator="EXACT")
    assert field.kde_options["method"] == "exact"


def test_custom_velocity_checks_its_output_and_is_named_after_the_function():
    def drift(t, x):
        return -x

    field = velocities.CustomVelocity(drift)
    assert field.name == "drift" and not field.stochastic and field.noise == 0.0
    x = np.ones((3, 2))
    np.testing.assert_array_equal(field(0.0, x), -x)
    with pytest.raises(ValueError, match=r"returned shape \(3,\)"):
        velocities.CustomVelocity(lambda t, x: x[:, 0])(0.0, x)
    with pytest.raises(ValueError, match="callable"):
        velocities.CustomVelocity(3.0)


def test_sde_drift_for_kl_is_the_target_score():
    """KL: dX = grad ln rho_d dt + sqrt(2) dW, no KDE (the mixture score to round-off)."""
    field = velocities.SDEDrift(INITIAL_1D, "kl")
    x = np.linspace(-3.0, 3.0, 41)[:, None]
    np.testing.assert_allclose(field(0.0, x), INITIAL_1D.grad_logpdf(x), rtol=1e-11, atol=1e-13)
    assert field.noise == np.sqrt(2.0) and velocities.SDEDrift(TARGET_1D).noise == 1.0
