"""Neural calibrator and generator (fokkerplanck.gan.neural; extra ``gan``: JAX + optax).

Every test name contains "neural" (``pytest -k neural`` selects them). Tiny networks, few steps:
JAX's compile time (seconds on a busy 2-core machine) dominates, so the tests share one fitted
calibrator and sample sizes.
"""

import numpy as np
import pytest

pytest.importorskip("jax", reason="the neural GAN tests need JAX and optax: pip install 'fokkerplanck[gan]'")
pytest.importorskip("optax", reason="the neural GAN tests need JAX and optax: pip install 'fokkerplanck[gan]'")

import fokkerplanck as fp  # noqa: E402
from fokkerplanck import gan  # noqa: E402
from fokkerplanck.analysis.distances import sampling_floor, wasserstein  # noqa: E402

BIMODAL = fp.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], [[[0.25]], [[0.25]]])
INITIAL = fp.Gaussian([0.0], [[2.25]])
P, Q = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.64]])


@pytest.fixture(scope="module")
def neural_calibrator():
    """An MLP calibrator of N(0,1) (data) against N(1, 0.8^2) (samples), 3000 + 3000 samples."""
    cal = gan.NeuralCalibrator(hidden=(32, 32), n_initial_steps=1500, learning_rate=3e-3, seed=0)
    return cal.fit(P.sample(3000, seed=1), Q.sample(3000, seed=2))


def test_neural_calibrator_recovers_discriminator_of_two_gaussians(neural_calibrator):
    cal = neural_calibrator
    x = np.linspace(-1.5, 2.5, 201)[:, None]
    exact = P.pdf(x) / (P.pdf(x) + Q.pdf(x))
    err = np.max(np.abs(cal(x) - exact))
    # Tolerance: as for the random-feature calibrator (test_gan_calibrator.py), the sampling error of
    # a smooth logit fitted to n = 3000 samples per class gives se(D) <= ~0.015 on [-1.5, 2.5], and
    # 0.05 is above 3 se. The network adds an optimisation error (1500 Adam steps, not an optimum).
    # Measured (3 seeds each): max |D error| 0.023-0.038 at n = 2000 / 1000 steps, 0.009-0.011 at
    # n = 5000 / 2000 steps; the same bound as the convex calibrator's test.
    assert err < 0.05, err
    mid = np.linspace(-0.5, 1.5, 41)[:, None]
    assert np.max(np.abs(cal.logit(mid) - (P.logpdf(mid) - Q.logpdf(mid)))) < 0.25
    assert cal.n_fits_ == 1 and cal.n_iter_ == 1500 and np.isfinite(cal.loss_)


def test_neural_calibrator_input_gradient_matches_finite_differences(neural_calibrator):
    cal = neural_calibrator
    x = np.linspace(-2.0, 3.0, 23)[:, None]
    h = 1e-5
    fd = (cal.logit(x + h) - cal.logit(x - h)) / (2 * h)
    g = cal.logit_gradient(x)[:, 0]
    # float64 central differences: truncation h^2 |f'''| ~ 1e-10, round-off 1e-16 |f| / h ~ 1e-11
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    # the velocity of eq. 20, grad D / (2 (1 - D)) = -grad ln(1 - D) / 2, against differences of ln(1 - D)
    fd_v = -0.5 * (cal.log_one_minus(x + h) - cal.log_one_minus(x - h)) / (2 * h)
    np.testing.assert_allclose(cal.velocity(x)[:, 0], fd_v, rtol=1e-6, atol=1e-8)
    fd_d = (cal(x + h) - cal(x - h)) / (2 * h)
    np.testing.assert_allclose(cal.gradient(x)[:, 0], fd_d, rtol=1e-6, atol=1e-8)


def test_neural_calibrated_particles_follow_grid_solution_1d():
    grid = fp.Grid([-7.0], [7.0], [700])
    sol = fp.solve(BIMODAL, INITIAL, grid, 1.0, dt="adaptive", rtol=1e-4, t_eval=[0.0, 1.0])
    n = 2000
    ens = fp.particles.simulate(BIMODAL, INITIAL, 1.0, n=n, velocity="discriminator", data=BIMODAL.sample(n, seed=11),
                                dt=0.05, method="euler", seed=12,
                                velocity_options=dict(calibrator="neural", hidden=(32, 32), n_initial_steps=1000,
                                                      n_steps=30, learning_rate=3e-3))
    w1 = wasserstein(ens.final, (grid, sol.u[-1]))
    floor = sampling_floor((grid, sol.u[-1]), n, repeats=8, seed=13)
    # As for the random-feature calibrator: the particles start with their own sampling error (the
    # floor, ~0.05 for n = 2000) and the velocity estimated from n data samples against the particles
    # adds an error of the same order; forward Euler with dt = 0.05 adds W1 ~ 0.01 (the grid test
    # of the navigators). Hence 2x floor. Measured W1/floor: 0.63 here, 0.47-1.46 over 4 data/particle seeds.
    assert w1 < 2.0 * floor, (w1, floor)
    # not void: the initial sample is much farther from u(1) (W1 ~ 0.24)
    assert wasserstein(ens.positions[0], (grid, sol.u[-1])) > 3 * w1


def _generator_and_calibrator(m=400):
    """A random MLP generator (not from_gaussian: all its layers then get gradients) and a calibrator
    fitted against its outputs."""
    gen = gan.MLPGenerator(1, 1, hidden=(16, 16), optimizer="sgd", learning_rate=0.1, n_fit_steps=1, seed=3)
    data = BIMODAL.sample(m, seed=21)
    z = gen.sample_latent(m, seed=22)
    cal = gan.NeuralCalibrator(hidden=(16, 16), n_initial_steps=200, seed=4).fit(data, gen(z))
    return gen, cal, data, z


def test_neural_proposition_8_mse_step_is_eps_times_gan_step(monkeypatch):
    gen, cal, data, z = _generator_and_calibrator()
    x = gen(z)
    g_gan = gan.gan_generator_gradient(gen, cal, z)  # grad_theta mean ln(1 - D(G_theta(z))), autodiff
    assert np.linalg.norm(g_gan) > 1e-3  # not void
    for eps in (0.05, 0.2):
        y = x + eps * cal.velocity(x)  # eq. 22
        g_mse = gan.mse_gradient(gen, z, y)  # eq. 23
        # identical up to round-off (the two are the same chain rule, evaluated in float64)
        np.testing.assert_allclose(g_mse, eps * g_gan, rtol=1e-9, atol=1e-12 * np.abs(g_gan).max())

    # one point-wise navigator update (Algorithm 1, one SGD step of eq. 23, learning rate eta) equals
    # eps times one vanilla-GAN generator step theta -> theta - eta grad mean ln(1 - D(G(z)))
    eps, eta = 0.1, gen.learning_rate
    old = gen.copy()
    monkeypatch.setattr(gen, "sample_latent", lambda m, rng=None: z)
    nav = gan.ParametricNavigator(gen, data, step_size=eps, fitting="pointwise", batch_size=z.shape[0],
                                  calibrator=cal, seed=5)
    info = nav.step()
    delta = gan.neural._flat(gen.theta) - gan.neural._flat(old.theta)
    gan_step = -eta * gan.gan_generator_gradient(old, cal, z)  # cal as refitted inside the step
    np.testing.assert_allclose(delta, eps * gan_step, rtol=1e-8, atol=1e-12 * np.abs(gan_step).max())
    assert info["t"] == pytest.approx(eps)


def test_neural_runs_are_reproducible_with_a_seed():
    def run(seed):
        gen = gan.MLPGenerator.from_gaussian([0.0], [[2.25]], hidden=(16, 16), n_fit_steps=5, seed=seed)
        cal = gan.NeuralCalibrator(hidden=(16, 16), n_initial_steps=200, n_steps=20, batch_size=128, seed=seed)
        data = BIMODAL.sample(400, seed=31)
        gan.ParametricNavigator(gen, data, 0.1, fitting="setwise", batch_size=400, calibrator=cal, seed=seed).run(2)
        trainer = gan.AlternatingGAN(gen, data, cal, batch_size=400, seed=seed)
        infos = trainer.run(2)
        assert all(np.isfinite(i["g_loss"]) for i in infos)
        return gen.sample(300, seed=0), cal.logit([[0.5]])

    a, b = run(7), run(7)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    c = run(8)
    assert not np.array_equal(a[0], c[0])


def test_neural_from_gaussian_is_exact_and_bad_input_raises():
    gen = gan.MLPGenerator.from_gaussian([1.0, -1.0], [[2.0, 0.3], [0.3, 1.0]], hidden=(8,), seed=0)
    z = gen.sample_latent(50, seed=1)
    chol = np.linalg.cholesky([[2.0, 0.3], [0.3, 1.0]])
    np.testing.assert_allclose(gen(z), np.array([1.0, -1.0]) + z @ chol.T, rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError):
        gan.NeuralCalibrator(activation="relu")  # the velocity needs a smooth network
    with pytest.raises(ValueError):
        gan.NeuralCalibrator(hidden=())
    with pytest.raises(ValueError):
        gan.NeuralCalibrator().velocity([[0.0]])  # not fitted
    with pytest.raises(ValueError):
        gan.neural_discriminator_velocity(np.zeros((10, 1)), n_features=10)  # a random-feature option
    with pytest.raises(ValueError):
        gan.AlternatingGAN(gen, np.zeros((10, 2)), gan.Calibrator())
    with pytest.raises(ValueError):
        gen.fit_parameters(z, np.zeros((49, 2)))
