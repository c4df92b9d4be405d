"""fokkerplanck.particles.velocities.sde: the McKean-Vlasov SDE, for every divergence with a finite
positive Phi'(0+), refused with the reason for the others."""

import numpy as np
import pytest
from particles_cases import INITIAL_1D, INITIAL_2D, TARGET_1D, TARGET_2D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.flow.divergences import divergence_from_f
from fokkerplanck.particles import velocities
from fokkerplanck.particles.velocities.kde import _TargetLog

EPS = np.finfo(float).eps


def test_sde_drift_for_kl_is_the_target_score():
    """KL: dX = grad ln rho_d dt + sqrt(2) dW, no KDE (the mixture score to round-off)."""
    field = velocities.SDEDrift(INITIAL_1D, "kl")
    x = np.linspace(-3.0, 3.0, 41)[:, None]
    np.testing.assert_allclose(field(0.0, x), INITIAL_1D.grad_logpdf(x), rtol=1e-11, atol=1e-13)
    np.testing.assert_array_equal(field(0.0, x), _TargetLog(INITIAL_1D)(x)[1])  # bit for bit: D * grad ln rho_d, D = 1
    assert field.noise == np.sqrt(2.0) and velocities.SDEDrift(TARGET_1D).noise == 1.0


def test_generic_drift_reproduces_the_jsd_drift_of_eq_30_to_round_off():
    """D grad ln u - Phi'(v) grad ln v with D = Phi'(0+) = 1/2 is 1/2 (rho_d grad ln rho_d + grad u)/(rho_d + u),
    the formula the compiled JSD loop evaluated: within a few ulp of the drift's size, also where rho_d
    underflows (x = 40: the drift is 1/2 grad ln u)."""
    x = np.ascontiguousarray(INITIAL_2D.sample(4000, seed=5))
    x[0] = 40.0
    field = particles.SDEDrift(TARGET_2D, estimator="exact")
    assert field.diffusion == 0.5
    p, g = fp.kde.evaluate(x, method="exact")
    log_rho, gld = _TargetLog(TARGET_2D)(x)
    r = np.exp(log_rho)[:, None]
    former = 0.5 * (r * gld + g) / (r + p[:, None])
    b = field(0.0, x)
    assert np.max(np.abs(b - former)) <= 4 * EPS * np.max(np.abs(former))


def test_sde_for_a_user_divergence_with_finite_phi_prime_at_zero():
    # f = x ln x - x + 1 + (x - 1)^2 / 2: Phi'(v) = v f''(v) = 1 + v, so D = Phi'(0+) = 1 and the drift is
    # grad ln u - (1 + v)(grad ln u - grad ln rho_d) = (1 + v) grad ln rho_d - v grad ln u, noise sqrt(2)
    div = divergence_from_f("kl-plus-chi2", lambda x: x * np.log(x) - x + 1 + 0.5 * (x - 1) ** 2,
                            f_second=lambda x: 1.0 / x + 1.0, phi_prime=lambda v: 1.0 + v)
    assert div.sde_diffusion == 1.0
    field = velocities.SDEDrift(TARGET_1D, div)
    assert field.noise == np.sqrt(2.0)
    x = np.ascontiguousarray(INITIAL_1D.sample(3000, seed=2))
    p, g = fp.kde.evaluate(x)
    v = (p / TARGET_1D.pdf(x))[:, None]
    expected = (1 + v) * TARGET_1D.grad_logpdf(x) - v * g / p[:, None]
    np.testing.assert_allclose(field(0.0, x), expected, rtol=1e-11, atol=1e-12)


@pytest.mark.parametrize("divergence, reason", [
    ("chi2", r"no SDE form for 'chi2': Phi'\(0\) = 0, so the flow has no diffusion where u vanishes"),
    ("hellinger", r"no SDE form for 'hellinger': Phi'\(0\+\) is infinite"),
])
def test_sde_is_refused_with_the_reason_for_divergences_without_one(divergence, reason):
    assert fp.get_divergence(divergence).sde_diffusion is None
    with pytest.raises(ValueError, match=reason):
        velocities.SDEDrift(TARGET_1D, divergence)
    with pytest.raises(ValueError, match=reason):  # by simulate, before any work
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=10, velocity="sde", divergence=divergence)
    assert velocities.KDEVelocity(TARGET_1D, divergence).divergence.name == divergence  # the ODE has a form
