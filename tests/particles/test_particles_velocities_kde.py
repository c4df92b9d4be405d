"""fokkerplanck.particles.velocities.kde: the self-consistent KDE velocity, for every divergence."""

import numpy as np
import pytest
from particles_cases import INITIAL_1D, INITIAL_2D, TARGET_1D, TARGET_2D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.flow.divergences import divergence_from_f
from fokkerplanck.particles import velocities
from fokkerplanck.particles.velocities.kde import _TargetLog

EPS = np.finfo(float).eps


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


def test_target_log_and_the_kde_and_sde_fields_match_the_formulas():
    """The compiled target evaluation and the KDE/SDE fields against plain numpy formulas:
    ln rho_d and grad ln rho_d of Gaussians and mixtures (to round-off, also far in the tails where
    rho_d underflows), b = -(grad ln u - grad ln rho_d)/(2(1+v)) (JSD), -(grad ln u - grad ln rho_d)
    (KL), and the SDE drift 1/2 (grad rho_d + grad u)/(rho_d + u) (eq. 30)."""
    rng = np.random.default_rng(2)
    mix2 = fp.GaussianMixture([0.2, 0.8], [[-1.0, 0.0], [2.0, 1.0]], [np.eye(2), [[1.2, 0.1], [0.1, 0.5]]])
    for target in (TARGET_1D, INITIAL_1D, TARGET_2D, mix2):
        x = rng.normal(size=(500, target.ndim)) * 3
        x[0] = 60.0  # rho_d = exp(-1800): underflows, its logarithm must not
        lp, g = _TargetLog(target)(x)
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


def test_generic_form_reproduces_the_former_jsd_and_kl_formulas_to_round_off():
    """b = -Phi'(v)(grad ln u - grad ln rho_d) with the divergence's phi_prime, against the formulas the
    compiled JSD/KL loops evaluated (coefficient rho_d / (2(rho_d + u)) for JSD, 1 for KL) from the
    same inputs: within a few ulp of the field's size, KL bit for bit (phi_power: Phi' constant)."""
    x = np.ascontiguousarray(INITIAL_1D.sample(5000, seed=3))
    x[0] = 40.0  # rho_d underflows: Phi'(v) -> 0 for JSD
    field = particles.KDEVelocity(TARGET_1D, estimator="exact")
    p, g = fp.kde.evaluate(x, method="exact")
    log_rho, gld = _TargetLog(TARGET_1D)(x)
    glu = g / np.maximum(p, np.finfo(float).tiny)[:, None]
    r = np.exp(log_rho)
    jsd = -(0.5 * r / (r + p))[:, None] * (glu - gld)
    b = field(0.0, x)
    assert np.max(np.abs(b - jsd)) <= 4 * EPS * np.max(np.abs(jsd))
    assert np.all(np.isfinite(b)) and abs(b[0, 0]) < 1e-250
    np.testing.assert_array_equal(particles.KDEVelocity(TARGET_1D, "kl", estimator="exact")(0.0, x), -(glu - gld))


@pytest.mark.parametrize("divergence", ["chi2", "hellinger", "reverse-kl"])
def test_kde_velocity_for_any_divergence_is_minus_phi_prime_times_grad_ln_v(divergence):
    if divergence == "reverse-kl":  # f = -ln x: Phi'(v) = v f''(v) = 1/v, a divergence defined from f alone
        div = divergence_from_f("reverse-kl", lambda x: -np.log(x) + x - 1, f_second=lambda x: 1.0 / x ** 2)
    else:
        div = fp.get_divergence(divergence)
    x = np.ascontiguousarray(INITIAL_2D.sample(2000, seed=1))
    p, g = fp.kde.evaluate(x)
    rho, gld = TARGET_2D.pdf(x), TARGET_2D.grad_logpdf(x)
    expected = -div.phi_prime(p / rho)[:, None] * (g / p[:, None] - gld)
    np.testing.assert_allclose(particles.KDEVelocity(TARGET_2D, div)(0.0, x), expected, rtol=1e-11, atol=1e-13)


def test_kde_options_are_declared_and_checked_when_the_field_is_built():
    with pytest.raises(ValueError, match="unknown KDE method"):
        velocities.KDEVelocity(TARGET_1D, estimator="fft")
    with pytest.raises(ValueError, match="unknown bandwidth rule"):
        velocities.SDEDrift(TARGET_1D, bandwidth="wide")
    with pytest.raises(ValueError, match="unknown divergence"):
        velocities.SDEDrift(TARGET_1D, "no-such-divergence")
    field = velocities.KDEVelocity(TARGET_1D, estimator="EXACT")
    assert field.kde_options["method"] == "exact"
    defaults = velocities.KDEVelocity(TARGET_2D).kde_options
    assert defaults == dict(bandwidth="scott", method="auto", bins_per_bandwidth=4.0, cutoff=8.0, max_nodes=2 ** 22,
                            exact_max=fp.kde.EXACT_MAX_DEFAULT)
    assert [o.name for o in velocities.KDEVelocity.options] == ["bandwidth", "estimator", "bins_per_bandwidth",
                                                               "cutoff", "max_nodes", "exact_max"]
    assert velocities.KDEVelocity(TARGET_2D, bandwidth=[0.2, 0.3]).kde_options["bandwidth"] == [0.2, 0.3]
    for bad, match in [(dict(bandwidth=[0.2, 0.3, 0.4]), "2 positive numbers"), (dict(bandwidth=True), "bandwidth"),
                       (dict(cutoff=0.0), "cutoff must be a positive number"),
                       (dict(max_nodes=3), "max_nodes must be an integer >= 4"),
                       (dict(exact_max=-1), "exact_max must be an integer >= 0"),
                       (dict(floor=0.1), r"unknown velocity_options \['floor'\] for velocity='kde'")]:
        with pytest.raises(ValueError, match=match):
            velocities.KDEVelocity(TARGET_2D, **bad)
