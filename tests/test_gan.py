"""Tests of fokkerplanck.gan: calibrator, navigators, Proposition 8, set-wise matching."""

import itertools

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import gan
from fokkerplanck.compare import sampling_floor, wasserstein

BIMODAL = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
INITIAL = fp.Gaussian([0.0], [[2.25]])


# --- calibrator -------------------------------------------------------------------------------

def test_calibrator_recovers_discriminator_of_two_gaussians():
    p, q = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.64]])
    n = 5000
    cal = gan.Calibrator(n_features=200, bandwidth=1.0, regularization=1e-4, seed=0)
    cal.fit(p.sample(n, seed=1), q.sample(n, seed=2))
    x = np.linspace(-1.5, 2.5, 201)[:, None]
    exact = p.pdf(x) / (p.pdf(x) + q.pdf(x))
    err = np.max(np.abs(cal(x) - exact))
    # Tolerance from the sampling error: the logit at x is estimated from the samples within about
    # one bandwidth (h = 1), n * p(x) * h >= 5000 * 0.13 of each class on [-1.5, 2.5], so
    # se(logit) ~ sqrt(2 / 650) = 0.055 and se(D) = D (1 - D) se(logit) <= 0.014; the maximum over
    # the interval of a smooth error curve with ~4 effective degrees of freedom stays below
    # 3.5 se = 0.05. (Five seeds measured: 0.012-0.03 at n = 10^4.)
    assert err < 0.05, err
    # the logit approximates ln(p / q) where both are well sampled
    mid = np.linspace(-0.5, 1.5, 41)[:, None]
    assert np.max(np.abs(cal.logit(mid) - (p.logpdf(mid) - q.logpdf(mid)))) < 0.25


def test_calibrator_gradient_and_velocity_match_finite_differences(rng):
    data = rng.normal(0.0, 1.0, (400, 2))
    samples = rng.normal(0.5, 0.8, (300, 2))
    cal = gan.Calibrator(n_features=60, bandwidth=0.8, regularization=1e-3, seed=3).fit(data, samples)
    x = rng.normal(0.2, 1.0, (25, 2))
    h = 1e-5
    fd = np.stack([(cal(x + h * e) - cal(x - h * e)) / (2 * h) for e in np.eye(2)], axis=1)
    # central differences: truncation h^2 |D'''| / 6 ~ 1e-10, round-off 1e-16 / h ~ 1e-11
    np.testing.assert_allclose(cal.gradient(x), fd, rtol=1e-6, atol=1e-9)
    d = cal(x)
    np.testing.assert_allclose(cal.velocity(x), cal.gradient(x) / (2 * (1 - d))[:, None], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(cal.log_one_minus(x), np.log1p(-d), rtol=1e-12)
    # the velocity is -1/2 grad ln(1 - D) (eq. 20): check by finite differences of log_one_minus
    fdl = np.stack([(cal.log_one_minus(x + h * e) - cal.log_one_minus(x - h * e)) / (2 * h) for e in np.eye(2)], 1)
    np.testing.assert_allclose(cal.velocity(x), -0.5 * fdl, rtol=1e-6, atol=1e-9)


def test_calibrator_fit_is_the_minimiser(rng):
    """At the fitted parameters no coordinate perturbation lowers the (convex) loss."""
    data, samples = rng.normal(0, 1, (300, 1)), rng.normal(1, 1, (200, 1))
    cal = gan.Calibrator(n_features=20, bandwidth=1.0, regularization=1e-2, seed=0).fit(data, samples)
    phi_d, phi_u = cal.features(data), cal.features(samples)

    def loss(a, c):
        return (0.5 * np.mean(np.logaddexp(0, -(phi_d @ a + c))) + 0.5 * np.mean(np.logaddexp(0, phi_u @ a + c))
                + 0.5 * 1e-2 * a @ a)

    best = loss(cal.coef_, cal.intercept_)
    assert np.isclose(best, cal.loss_, rtol=1e-12)
    for k in range(21):
        for s in (-1e-3, 1e-3):
            a, c = cal.coef_.copy(), cal.intercept_
            if k < 20:
                a[k] += s
            else:
                c += s
            # a step of 1e-3 raises a smooth convex loss by ~ 1e-6 * curvature > 1e-9 at the minimum
            assert loss(a, c) > best - 1e-12


def test_own_lbfgs_and_scipy_reach_the_same_minimiser(rng):
    data, samples = rng.normal(0, 1, (800, 2)), rng.normal(0.7, 1.2, (600, 2))
    fits = [gan.Calibrator(n_features=80, bandwidth=0.8, seed=1, solver=s).fit(data, samples)
            for s in ("lbfgs", "scipy")]
    assert all(c.converged_ for c in fits)
    # strictly convex (ridge 1e-3): both stop at max|grad| <= 1e-9, so the parameters agree to
    # ~ 1e-9 / (smallest Hessian eigenvalue >= 1e-3) = 1e-6 and the losses to round-off
    assert abs(fits[0].loss_ - fits[1].loss_) < 1e-12
    np.testing.assert_allclose(fits[0].coef_, fits[1].coef_, atol=1e-5)


# --- calibrated particles follow the grid solution -------------------------------------------

@pytest.mark.slow
def test_calibrated_particles_follow_grid_solution_1d():
    grid = fp.Grid([-7.0], [7.0], [700])
    sol = fp.solve(BIMODAL, INITIAL, grid, 1.0, dt="adaptive", rtol=1e-4, t_eval=[0.0, 1.0])
    n = 2000
    ens = fp.particles.simulate(BIMODAL, INITIAL, 1.0, n=n, velocity="discriminator", data=BIMODAL.sample(n, seed=11),
                                dt=0.05, method="rk2", seed=12,
                                velocity_options=dict(n_features=300, bandwidth=0.4, regularization=1e-3))
    w1 = wasserstein(ens.final, (grid, sol.u[-1]))
    floor = sampling_floor((grid, sol.u[-1]), n, repeats=8, seed=13)
    # The particles start with their own sampling error (at most the floor, ~0.05 for n = 2000); the
    # velocity is estimated from n data samples against the particles, which adds an error of the
    # same order (W1/floor measured 1.1-1.3 at n = 16000, where a regularisation bias would show).
    # Hence 2x floor. Measured here: W1/floor = 0.59-0.77 over 4 seeds (below 1 because the
    # calibrated velocity also pulls the particles' own sampling fluctuations toward the data).
    assert w1 < 2.0 * floor, (w1, floor)
    # and the check is not void: the initial sample is much farther from u(1) (W1 ~ 0.24)
    assert wasserstein(ens.positions[0], (grid, sol.u[-1])) > 3 * w1


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


# --- set-wise vs point-wise -------------------------------------------------------------------

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
    ring = fp.GaussianMixture(np.ones(8), 2 * np.stack([np.cos(ang), np.sin(ang)], 1),
                              np.tile(0.12 * np.eye(2), (8, 1, 1)))
    x = rng.normal(0, 1.5, (300, 2))
    cal = gan.Calibrator(n_features=200, bandwidth=0.5, seed=34).fit(ring.sample(1000, seed=35), x)
    v = cal.velocity(x)
    ident = np.arange(300)
    assert np.array_equal(gan.match(x, x + 0.01 * v), ident)
    assert not np.array_equal(gan.match(x, x + 3.0 * v), ident)


def test_pointwise_and_setwise_navigators_coincide_for_small_steps():
    data = BIMODAL.sample(1000, seed=41)
    runs = {}
    for fitting in ("pointwise", "setwise"):
        gen = gan.RandomFeatureGenerator.from_gaussian([0.0], [[2.25]], n_features=50, bandwidth=0.4, seed=42)
        nav = gan.ParametricNavigator(gen, data, 0.02, fitting=fitting, batch_size=500,
                                      calibrator=gan.Calibrator(n_features=100, seed=43), seed=44)
        infos = nav.run(3)
        runs[fitting] = gen.theta
        if fitting == "setwise":
            assert all(info["reassigned"] == 0.0 for info in infos)
    np.testing.assert_array_equal(runs["pointwise"], runs["setwise"])


# --- generator fitting ------------------------------------------------------------------------

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


# --- the navigators move toward the data --------------------------------------------------------

def test_nonparametric_navigator_decreases_w1_to_data():
    data = BIMODAL.sample(1000, seed=51)
    x0 = INITIAL.sample(1000, seed=52)
    nav = gan.NonparametricNavigator(x0, data, 0.1, seed=53, n_features=200, bandwidth=0.4)
    nav.run(20)
    ref = BIMODAL.sample(20000, seed=54)
    before, after = wasserstein(x0, ref), wasserstein(nav.particles, ref)
    # the grid flow from this start reduces W1 to rho_d from ~1.2 to ~0.55 by t = 2; sampling
    # noise of 1000 points is ~0.06
    assert after < 0.7 * before, (before, after)


# --- reproducibility --------------------------------------------------------------------------

def test_same_seed_gives_bit_identical_results():
    data = BIMODAL.sample(500, seed=61)

    def parametric():
        gen = gan.RandomFeatureGenerator.from_gaussian([0.0], [[2.25]], n_features=40, bandwidth=0.4, seed=62)
        nav = gan.ParametricNavigator(gen, data, 0.5, fitting="setwise", batch_size=300, data_batch_size=400, seed=63)
        nav.run(3)
        return gen.theta

    def particles():
        ens = fp.particles.simulate(None, INITIAL, 0.3, n=300, velocity="discriminator", data=data, dt=0.1,
                                    method="rk2", seed=64, velocity_options=dict(n_features=80))
        return ens.final

    for run in (parametric, particles):
        a, b = run(), run()
        assert np.array_equal(a, b)
    # a different seed gives a different result (the check above can fail)
    field1 = gan.discriminator_velocity(data, seed=1)
    field2 = gan.discriminator_velocity(data, seed=2)
    x = INITIAL.sample(100, seed=65)
    assert not np.array_equal(field1(0.0, x), field2(0.0, x))


def test_feature_seed_is_independent_of_the_sample_stream():
    field = gan.discriminator_velocity(BIMODAL.sample(200, seed=0), seed=7, bandwidth=1.0)
    field(0.0, INITIAL.sample(100, seed=1))
    freq = field.calibrator.features.frequencies[:, 0]
    same_stream = np.random.default_rng(7).standard_normal(freq.size)
    assert not np.allclose(freq, same_stream)


# --- bad input --------------------------------------------------------------------------------

def test_bad_input_raises_value_error():
    data = BIMODAL.sample(50, seed=0)
    with pytest.raises(ValueError, match="n_features"):
        gan.Calibrator(n_features=0)
    with pytest.raises(ValueError, match="bandwidth"):
        gan.Calibrator(bandwidth=-1.0)
    with pytest.raises(ValueError, match="regularization"):
        gan.Calibrator(regularization=np.nan)
    with pytest.raises(ValueError, match="not fitted"):
        gan.Calibrator()(np.zeros((3, 1)))
    with pytest.raises(ValueError, match="dimension"):
        gan.Calibrator().fit(data, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        gan.Calibrator().fit(data, np.full((10, 1), np.nan))
    with pytest.raises(ValueError, match="unknown calibrator option"):
        gan.discriminator_velocity(data, bandwith=0.3)
    with pytest.raises(ValueError, match="shape"):
        gan.discriminator_velocity(np.zeros((0, 1)))
    gen = gan.RandomFeatureGenerator(1, 1, n_features=5, seed=0)
    with pytest.raises(ValueError, match="fitting"):
        gan.ParametricNavigator(gen, data, 0.1, fitting="pairwise")
    with pytest.raises(ValueError, match="step_size"):
        gan.ParametricNavigator(gen, data, 0.0)
    with pytest.raises(ValueError, match="dimension"):
        gan.ParametricNavigator(gen, np.zeros((10, 2)), 0.1)
    with pytest.raises(ValueError, match="data_batch_size"):
        gan.ParametricNavigator(gen, data, 0.1, data_batch_size=1000)
    with pytest.raises(ValueError, match="method"):
        gan.fit_generator(gen, np.zeros((4, 1)), np.zeros((4, 1)), method="adam")
    with pytest.raises(ValueError, match="equally many"):
        gan.match(np.zeros((3, 1)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="theta"):
        gan.RandomFeatureGenerator(1, 1, n_features=5, theta=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="latent_dim"):
        gan.RandomFeatureGenerator.from_gaussian([0.0, 0.0], np.eye(2), latent_dim=1)
