"""Tests of fokkerplanck.gan.generators: the generator, the MSE fit (eq. 23), Proposition 8, set-wise matching."""

import itertools

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import gan

BIMODAL = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
INITIAL = fp.Gaussian([0.0], [[2.25]])


# --- Proposition 8 ----------------------------------------------------------------------------

@pytest.mark.parametrize("eps", [0.05, 0.2])
def test_proposition_8_mse_step_equals_eps_times_gan_step(rng, eps):
    data = BIMODAL.sample(1000, seed=21)
    gen = gan.RandomFeatureGenerator.from_gaussian([0.0], [[2.25]], n_features=30, bandwidth=0.5, seed=22)
    gen.theta = gen.theta + 0.1 * rng.standard_normal(gen.theta.shape)  # a generic generator
    z = gen.sample_latent(500, seed=23)
    cal = gan.Calibrator(n_features=100, seed=24).fit(data, gen(z))
    # eq. 22-23: move the samples, one gradient step of the MSE with learning rate eta
    eta = 0.3
    x = gen(z)
    y = x + eps * cal.velocity(x)
    d_mse = gan.fit_generator(gen, z, y, method="gradient", learning_rate=eta, n_steps=1) - gen.theta
    # the vanilla GAN generator step: theta -= eta * grad_theta mean ln(1 - D(G_theta(z))), by central
    # differences of the loss in every parameter (independent of the chain rule used by eq. 22)
    h = 1e-6
    grad = np.zeros_like(gen.theta)
    for idx in itertools.product(range(gen.theta.shape[0]), range(gen.theta.shape[1])):
        tp, tm = gen.theta.copy(), gen.theta.copy()
        tp[idx] += h
        tm[idx] -= h
        grad[idx] = (gan.generator_loss(gen, cal, z, tp) - gan.generator_loss(gen, cal, z, tm)) / (2 * h)
    d_gan = -eta * grad
    # Proposition 8: d_mse = eps * d_gan exactly; central differences err by ~h^2 * |L'''| + 1e-16 / h
    # ~ 1e-10 per entry, against entries of size ~1e-2
    np.testing.assert_allclose(d_mse, eps * d_gan, rtol=1e-5, atol=1e-9 * eps)
    assert np.linalg.norm(d_gan) > 1e-3  # a non-trivial update


# --- set-wise matching (Section 3.3) ------------------------------------------------------------

def test_match_is_an_optimal_assignment(rng):
    for d in (1, 2):
        x, y = rng.normal(size=(7, d)), rng.normal(size=(7, d))
        perm = gan.match(x, y)
        assert sorted(perm) == list(range(7))
        best = min(np.sum((x - y[list(s)]) ** 2) for s in itertools.permutations(range(7)))
        assert np.isclose(np.sum((x - y[perm]) ** 2), best, rtol=1e-12)


def test_setwise_matching_is_identity_for_small_steps_1d():
    """x -> x + eps v(x) with v = grad psi is monotone when eps max(-psi'') < 1 (Section 3.3 discussion):
    then set-wise and point-wise fitting see the same targets; beyond that bound the moves cross."""
    data = BIMODAL.sample(2000, seed=31)
    x = INITIAL.sample(2000, seed=32)
    cal = gan.Calibrator(n_features=200, bandwidth=0.4, seed=33).fit(data, x)
    xs = np.linspace(x.min(), x.max(), 20001)[:, None]
    slope = np.diff(cal.velocity(xs)[:, 0]) / np.diff(xs[:, 0])  # psi'' on a fine grid
    eps_max = 1.0 / max(-slope.min(), 1e-12)
    ident = np.arange(x.shape[0])
    assert np.array_equal(gan.match(x, x + 0.9 * eps_max * cal.velocity(x)), ident)
    assert not np.array_equal(gan.match(x, x + 5.0 * eps_max * cal.velocity(x)), ident)


def test_setwise_matching_is_identity_for_small_steps_2d(rng):
    ang = 2 * np.pi * np.arange(8) / 8
    ring = fp.GaussianMixture(np.full(8, 1 / 8), 2 * np.stack([np.cos(ang), np.sin(ang)], 1),
                              np.tile(0.12 * np.eye(2), (8, 1, 1)))
    x = rng.normal(0, 1.5, (300, 2))
    cal = gan.Calibrator(n_features=200, bandwidth=0.5, seed=34).fit(ring.sample(1000, seed=35), x)
    v = cal.velocity(x)
    ident = np.arange(300)
    assert np.array_equal(gan.match(x, x + 0.01 * v), ident)
    assert not np.array_equal(gan.match(x, x + 3.0 * v), ident)


# --- generator fitting (eq. 23) ---------------------------------------------------------------

def test_lstsq_fit_recovers_generating_parameters(rng):
    gen = gan.RandomFeatureGenerator(2, 2, n_features=40, bandwidth=0.7, seed=5)
    true = rng.normal(size=gen.theta.shape)
    z = gen.sample_latent(400, seed=6)
    theta = gan.fit_generator(gen, z, gen(z, true), method="lstsq", ridge=0.0)
    # a noise-free least-squares problem with a full-rank design, solved by QR: the error is
    # round-off amplified by the condition number of the design (~6e4 here), not its square
    cond = np.linalg.cond(gen.design(z))
    assert np.max(np.abs(theta - true)) < 100 * cond * np.finfo(float).eps * np.max(np.abs(true))


def test_from_gaussian_generator_is_exactly_gaussian():
    cov = [[1.0, 0.3], [0.3, 0.5]]
    gen = gan.RandomFeatureGenerator.from_gaussian([1.0, -1.0], cov, n_features=10, seed=0)
    z = gen.sample_latent(5, seed=1)
    np.testing.assert_allclose(gen(z), np.array([1.0, -1.0]) + z @ np.linalg.cholesky(cov).T, rtol=1e-14)


# --- bad input --------------------------------------------------------------------------------

def test_bad_input_raises_value_error():
    gen = gan.RandomFeatureGenerator(1, 1, n_features=5, seed=0)
    with pytest.raises(ValueError, match="method"):
        gan.fit_generator(gen, np.zeros((4, 1)), np.zeros((4, 1)), method="adam")
    with pytest.raises(ValueError, match="equally many"):
        gan.match(np.zeros((3, 1)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="theta"):
        gan.RandomFeatureGenerator(1, 1, n_features=5, theta=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="latent_dim"):
        gan.RandomFeatureGenerator.from_gaussian([0.0, 0.0], np.eye(2), latent_dim=1)
