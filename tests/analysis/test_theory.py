"""Tests of fokkerplanck.theory: spectral gap, predicted and fitted rates, condition (34), Lemma 24."""

import math

import numpy as np
import pytest
import scipy.linalg

import fokkerplanck as fp
from fokkerplanck import theory


# ---- the spectral gap ------------------------------------------------------------------------

@pytest.mark.parametrize("var", [0.5, 1.0, 4.0])
def test_spectral_gap_gaussian_1d(var):
    # lambda_1 = 1/var for N(0, var). The box holds +-8 standard deviations (truncation effect
    # ~ e^{-32}) and dx = sigma/50, so the O(dx^2) discretisation error is ~1e-4: 1% is the
    # issue's tolerance, with two orders of magnitude to spare.
    s = math.sqrt(var)
    grid = fp.Grid([-8 * s], [8 * s], [800])
    lam = theory.spectral_gap(fp.Gaussian([0.3], [[var]]), grid)
    assert lam == pytest.approx(1.0 / var, rel=0.01)


def test_spectral_gap_gaussian_2d_correlated():
    # lambda_1 = 1 / lambda_max(cov), also for a rotated (correlated) covariance; dx = 0.14 on a
    # 100 x 100 grid gives an O(dx^2) error of ~0.3% (measured), inside the 1%.
    cov = np.array([[1.0, 0.3], [0.3, 0.5]])
    grid = fp.Grid([-7.0, -7.0], [7.0, 7.0], [100, 100])
    lam = theory.spectral_gap(fp.Gaussian([0.0, 0.5], cov), grid)
    assert lam == pytest.approx(1.0 / np.linalg.eigvalsh(cov).max(), rel=0.01)


def test_higher_eigenvalues_gaussian_are_hermite():
    # the Ornstein-Uhlenbeck spectrum of N(0, 1) is 0, 1, 2, 3, ... (Hermite polynomials)
    grid = fp.Grid([-8.0], [8.0], [800])
    vals = theory.eigenvalues(fp.Gaussian([0.0], [[1.0]]), grid, k=3)
    np.testing.assert_allclose(vals, [1.0, 2.0, 3.0], rtol=0.01)


def _dense_gap(target, grid):
    K, m = theory.weighted_laplacian(target, grid)
    vals = scipy.linalg.eigh(K.toarray(), np.diag(m), eigvals_only=True, subset_by_index=[0, 1])
    assert abs(vals[0]) < 1e-9 * vals[1]  # the constants: K 1 = 0
    return vals[1]


@pytest.mark.parametrize("separation", [1.0, 4.0, 8.0])
def test_spectral_gap_mixture_matches_dense_eigh_1d(separation):
    # Both solve the same discrete problem, so they agree to round-off: the dense solver's absolute
    # error is ~eps * ||M^-1/2 K M^-1/2|| ~ 1e-16 * 4/dx^2 ~ 1e-12, relative ~1e-9 for the smallest
    # gap here (~6e-4 at separation 8, a metastable mixture); 1e-7 leaves margin.
    mix = fp.GaussianMixture([0.4, 0.6], [[-separation / 2], [separation / 2]], [[[1.0]], [[0.7]]])
    grid = fp.Grid([-separation / 2 - 7], [separation / 2 + 7], [600])
    assert theory.spectral_gap(mix, grid) == pytest.approx(_dense_gap(mix, grid), rel=1e-7)


def test_spectral_gap_mixture_matches_dense_eigh_2d():
    mix = fp.GaussianMixture([0.5, 0.5], [[-1.5, 0.0], [1.5, 0.5]],
                             [np.eye(2) * 0.6, [[0.8, 0.2], [0.2, 0.5]]])
    grid = fp.Grid([-6.0, -5.0], [6.0, 5.0], [26, 22])
    assert theory.spectral_gap(mix, grid) == pytest.approx(_dense_gap(mix, grid), rel=1e-7)


def test_spectral_gap_collapses_with_separation():
    # Metastability: for well separated modes the gap follows Kramers' law,
    # lambda_1 ~ C exp(-dU) with dU = ln rho_d(mode) - ln rho_d(saddle) the barrier height and a
    # prefactor C that varies only algebraically with the separation (saddle curvature). Over
    # separations 6, 8, 10 the gap falls by a factor ~1600 (dU from 3.8 to 11.8) while
    # lambda_1 exp(dU) changes by < 2 (measured 0.64 -> 1.20); we allow 2.5.
    gaps, scaled = [], []
    for d in [6.0, 8.0, 10.0]:
        mix = fp.GaussianMixture([0.5, 0.5], [[-d / 2], [d / 2]], [[[1.0]], [[1.0]]])
        lam = theory.spectral_gap(mix, fp.Grid([-d / 2 - 8], [d / 2 + 8], [1000]))
        x = np.linspace(0.0, d / 2, 2001)[:, None]
        logp = mix.logpdf(x)
        gaps.append(lam)
        scaled.append(lam * np.exp(logp.max() - logp[0]))
    assert gaps[2] < 1e-3 * gaps[0]
    assert max(scaled) / min(scaled) < 2.5


def test_eigenvalues_input_checks():
    grid = fp.Grid([-5.0], [5.0], [100])
    with pytest.raises(ValueError, match="positive integer"):
        theory.eigenvalues(fp.Gaussian([0.0], [[1.0]]), grid, k=0)
    with pytest.raises(ValueError, match="only 100 cells"):
        theory.eigenvalues(fp.Gaussian([0.0], [[1.0]]), grid, k=100)
    with pytest.raises(ValueError, match="2-dimensional"):
        theory.spectral_gap(fp.Gaussian([0.0, 0.0], np.eye(2)), grid)


# ---- predicted rates -------------------------------------------------------------------------

def test_predicted_rates_follow_phi_prime_at_one():
    lam = 0.8
    jsd = theory.predicted_rates(lam, "jsd", dt=0.5)
    assert jsd["l1"] == pytest.approx(lam / 4) and jsd["energy"] == pytest.approx(lam / 2)
    assert jsd["l1_discrete"] == pytest.approx(math.log(1 + 0.5 * lam / 4) / 0.5)
    assert jsd["energy_discrete"] == pytest.approx(2 * jsd["l1_discrete"])
    kl = theory.predicted_rates(lam, "kl")
    assert kl["l1"] == pytest.approx(lam) and kl["energy"] == pytest.approx(2 * lam)
    assert "l1_discrete" not in kl
    # the discrete rate is below the continuous one and tends to it as h -> 0
    assert theory.discrete_rate(1.0, 0.1) < 1.0
    assert theory.discrete_rate(1.0, 1e-8) == pytest.approx(1.0, rel=1e-7)
    with pytest.raises(ValueError, match="quantity"):
        theory.predicted_rate(1.0, "jsd", "l2")
    with pytest.raises(ValueError, match="lam1"):
        theory.predicted_rate(-1.0)


# ---- the rate fitter -------------------------------------------------------------------------

def test_fit_rate_recovers_noisy_exponential(rng):
    # y = 3 exp(-0.7 t) (1 + 0.05 xi): log-noise of standard deviation ~0.05, 200 points on
    # [0, 10]; the slope's standard error is 0.05 / sqrt(sum (t - tbar)^2) ~ 1.2e-3.
    t = np.linspace(0.0, 10.0, 200)
    expected_se = 0.05 / math.sqrt(np.sum((t - t.mean()) ** 2))
    z = []
    for _ in range(200):
        y = 3.0 * np.exp(-0.7 * t) * (1 + 0.05 * rng.standard_normal(t.size))
        rate, err = theory.fit_rate(t, y)
        # the reported uncertainty is the regression standard error: within 20% of the true one
        # (its sampling spread is ~1/sqrt(2 * 198) = 5%; 4 sigma)
        assert err == pytest.approx(expected_se, rel=0.2)
        z.append((rate - 0.7) / err)
    z = np.array(z)
    # calibrated uncertainty: z-scores have mean ~0 (se of the mean 1/sqrt(200) = 0.07, allow
    # 4 sigma = 0.3) and standard deviation ~1 (spread ~5%, allow 20%)
    assert abs(z.mean()) < 0.3
    assert 0.8 < z.std() < 1.2
    # one fit on a window: inside 4 standard errors
    y = 3.0 * np.exp(-0.7 * t) * (1 + 0.05 * rng.standard_normal(t.size))
    rate, err = theory.fit_rate(t, y, window=(2.0, 8.0))
    assert abs(rate - 0.7) < 4 * err


def test_fit_rate_exact_exponential_and_growth():
    t = np.linspace(0, 5, 11)
    rate, err = theory.fit_rate(t, np.exp(-1.3 * t + 2))
    assert rate == pytest.approx(1.3, rel=1e-12) and err < 1e-12
    rate, _ = theory.fit_rate(t, np.exp(0.5 * t))
    assert rate == pytest.approx(-0.5, rel=1e-12)


def test_fit_rate_input_checks():
    t = np.linspace(0, 1, 10)
    with pytest.raises(ValueError, match="same length"):
        theory.fit_rate(t, t[:-1])
    with pytest.raises(ValueError, match="at least 3 points"):
        theory.fit_rate(t, np.exp(-t), window=(0.95, 1.0))
    y = np.exp(-t)
    y[5] = 0.0
    with pytest.raises(ValueError, match="positive finite"):
        theory.fit_rate(t, y)
    with pytest.raises(ValueError, match="t1 > t0"):
        theory.fit_rate(t, np.exp(-t), window=(1.0, 0.5))


# ---- the long-time rate of the flow ----------------------------------------------------------

def _mixture_run(divergence, dt):
    target = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.5]], [[0.5]]])
    initial = fp.Gaussian([1.0], [[0.5]])  # mass on one side: excites the slow (odd) mode
    grid = fp.Grid([-7.0], [7.0], [400])
    lam1 = theory.spectral_gap(target, grid)
    pred = theory.predicted_rates(lam1, divergence, dt=dt)
    # L1 falls by ~e^-10: deep in the linear regime, far above round-off (a whole number of steps)
    t_final = dt * math.ceil(10.0 / pred["l1"] / dt)
    sol = fp.solve(target, initial, grid, t_final, dt=dt, divergence=divergence)
    return sol, pred, t_final


@pytest.mark.parametrize("divergence,dt", [("jsd", 0.5), ("kl", 0.2)])
def test_long_time_rate_matches_prediction_two_mode_mixture(divergence, dt):
    # The issue asks for 2%. What remains in the window [T/2, T] is the nonlinear correction
    # (relative size ~ e^{-r t} ~ e^{-5}, but decaying at rate 2r, so it barely bends the log)
    # and the next mode (lambda_2 / lambda_1 ~ 10 for this mixture): measured deviation ~1e-6
    # (JSD) on this grid. We check 1e-3, twenty times stricter than the issue.
    sol, pred, t_final = _mixture_run(divergence, dt)
    h = sol.history
    rate, err = theory.fit_rate(h["t"], h["l1"], window=(t_final / 2, t_final))
    assert rate == pytest.approx(pred["l1_discrete"], rel=1e-3)
    energy_rate, _ = theory.fit_rate(h["t"], h["energy"], window=(t_final / 2, t_final))
    assert energy_rate == pytest.approx(pred["energy_discrete"], rel=1e-3)
    # and the step size matters as predicted: the continuous rate is measurably off (h r ~ 2-3%)
    assert abs(rate / pred["l1"] - 1) > 5e-3


# ---- condition (34) and Lemma 24 -------------------------------------------------------------

def test_gaussian_beta_closed_form_matches_grid():
    target = fp.Gaussian([0.0, 0.0], [[1.0, 0.2], [0.2, 0.8]])
    initial = fp.Gaussian([0.5, -0.3], [[0.5, 0.0], [0.0, 0.4]])
    beta = theory.gaussian_beta(target, initial)
    grid = fp.Grid([-7.0, -7.0], [7.0, 7.0], [280, 280])
    # grid value: max over cell centres (dx = 0.05, the maximiser is off-centre by <= dx/2, a
    # relative change ~ 1e-3 in the quadratic exponent) and normalisation in the box (~1e-10)
    assert theory.condition_beta(target, initial, grid) == pytest.approx(beta, rel=5e-3)
    # heavier tails: no beta on R^d, and on a box it grows with the box
    wide = fp.Gaussian([0.0], [[2.0]])
    assert theory.gaussian_beta(fp.Gaussian([0.0], [[1.0]]), wide) == math.inf
    b6 = theory.condition_beta(fp.Gaussian([0.0], [[1.0]]), wide, fp.Grid([-6.0], [6.0], [600]))
    b9 = theory.condition_beta(fp.Gaussian([0.0], [[1.0]]), wide, fp.Grid([-9.0], [9.0], [900]))
    assert b9 > 1e3 * b6 > 1e3
    # equal covariances: finite only for equal means
    assert theory.gaussian_beta(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.0], [[1.0]])) == pytest.approx(1.0)
    assert theory.gaussian_beta(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[1.0]])) == math.inf


def test_gradient_integral_uses_new_states():
    # backward Euler: each step's length times the integrand at the step's end
    assert theory.gradient_integral([0.0, 1.0, 3.0], [5.0, 2.0, 1.0]) == pytest.approx(1 * 2.0 + 2 * 1.0)
    assert theory.lemma24_bound(2.0) == pytest.approx(12.0)


def test_lemma24_holds_with_its_sharper_forms():
    target = fp.Gaussian([0.0], [[1.0]])
    initial = fp.GaussianMixture([0.5, 0.5], [[-1.0], [1.5]], [[[0.2]], [[0.3]]])
    grid = fp.Grid([-7.0], [7.0], [300])
    sol = fp.solve(target, initial, grid, 20.0, dt=0.1)
    out = theory.lemma24(sol)
    assert out["beta"] == pytest.approx(sol.beta)
    assert out["paper_bound"] == pytest.approx(theory.lemma24_bound(sol.beta))
    # the discrete energy estimate of the proof holds exactly (round-off allowance only), and
    # each bound is weaker than the previous one
    assert 0 < out["measured"] <= out["energy_bound"] * (1 + 1e-9)
    assert out["energy_bound"] <= out["mass_bound"] <= out["paper_bound"]
    assert out["holds"]


def test_decay_window_skips_transient_and_floor():
    t = np.linspace(0.0, 100.0, 1001)
    y = np.maximum(np.exp(-0.3 * t) + 0.5 * np.exp(-1.0 * t), 1e-13)  # transient, decay, round-off floor
    t0, t1 = theory.decay_window(t, y, upper=1e-4, lower=1e-9)
    assert y[t == t0][0] <= 1e-4 < y[np.searchsorted(t, t0) - 1]
    assert t1 == pytest.approx(np.log(1e9) / 0.3, abs=0.1)
    rate, _ = theory.fit_rate(t, y, window=(t0, t1))
    assert rate == pytest.approx(0.3, rel=1e-6)  # the e^{-t} transient is < 1e-9 relative by t0
    with pytest.raises(ValueError, match="never fall"):
        theory.decay_window(t, y + 1.0, upper=1e-4)
    # without upper: y reaches 1e-4, the transient is gone there (issue 19 keeps that start)
    t0, t1 = theory.decay_window(t, y)
    assert (t0, t1) == theory.decay_window(t, y, upper=1e-4)
    assert theory.fit_rate(t, y, window=(t0, t1))[0] == pytest.approx(0.3, rel=1e-3)
    with pytest.raises(ValueError, match="not settled|no decay"):
        theory.decay_window(t, 1.0 / (1.0 + t))


def test_solution_rate_is_the_spectral_gap_over_four():
    # rho_d = N(0, 1): lambda_1 = 1 / var = 1 (docs/mathematics.md, section 6), so the JSD flow's L1 rate is 1/4;
    # on 400 cells of [-8, 8] the discrete gap is within 1e-3 of it (second-order discretisation).
    grid = fp.Grid([-8.0], [8.0], [400])
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.8]]), grid, 0.1, dt=0.05)
    assert theory.solution_rate(sol) == pytest.approx(0.25, abs=1e-3)
    assert theory.solution_rate(sol, target=fp.Gaussian([0.0], [[1.0]])) == pytest.approx(0.25, abs=1e-3)
