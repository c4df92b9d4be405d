"""Tests of fokkerplanck.gan.features: random Fourier features and their input gradient."""

import numpy as np
import pytest

from fokkerplanck.gan import RandomFourierFeatures


def test_features_approximate_the_gaussian_kernel(rng):
    h, m = 0.7, 20000
    rff = RandomFourierFeatures(2, m, h, seed=1)
    x = rng.normal(0.0, 1.0, (30, 2))
    phi = rff(x)
    assert phi.shape == (30, m)
    exact = np.exp(-np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=2) / (2 * h * h))
    # phi(x).phi(y) is a mean of M i.i.d. terms 2 cos(.)cos(.) = cos(w.(x-y)) + cos(w.(x+y) + 2b), each of
    # variance <= 1, so its standard error is <= 1/sqrt(M) = 0.007; the maximum over 465 distinct pairs
    # of such (correlated) errors stays below 5 se = 0.035 (Gaussian tail 5.7e-7 per pair). Measured
    # 0.015-0.020 over five seeds.
    assert np.max(np.abs(phi @ phi.T - exact)) < 5 / np.sqrt(m)


def test_gradient_matches_finite_differences(rng):
    rff = RandomFourierFeatures(3, 50, 0.8, seed=2)
    coef = rng.standard_normal(50)
    x = rng.normal(0.0, 1.0, (10, 3))
    h = 1e-5
    fd = np.stack([(rff(x + h * e) @ coef - rff(x - h * e) @ coef) / (2 * h) for e in np.eye(3)], axis=1)
    # central differences of a trigonometric sum with |coef| ~ 1, |w| ~ 1/0.8: truncation
    # h^2 |f'''| / 6 ~ 1e-10, round-off ~ 1e-16 * |f| / h ~ 1e-10
    np.testing.assert_allclose(rff.gradient(x, coef), fd, rtol=1e-6, atol=1e-8)


def test_same_seed_same_features():
    a, b = RandomFourierFeatures(2, 10, 1.0, seed=3), RandomFourierFeatures(2, 10, 1.0, seed=3)
    assert np.array_equal(a.frequencies, b.frequencies) and np.array_equal(a.phases, b.phases)
    c = RandomFourierFeatures(2, 10, 1.0, seed=4)
    assert not np.array_equal(a.frequencies, c.frequencies)


@pytest.mark.parametrize("kwargs,match", [
    (dict(dim=0, n_features=5, bandwidth=1.0), "dim"),
    (dict(dim=1, n_features=0, bandwidth=1.0), "n_features"),
    (dict(dim=1, n_features=5, bandwidth=-1.0), "bandwidth"),
])
def test_bad_input_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        RandomFourierFeatures(**kwargs)
