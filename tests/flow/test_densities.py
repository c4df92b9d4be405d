import numpy as np
import pytest
from scipy import stats

import fokkerplanck as fp


def test_gaussian_pdf_matches_scipy(rng):
    cov = np.array([[2.0, 0.6], [0.6, 0.5]])
    g = fp.Gaussian(mean=[0.5, -1.0], cov=cov)
    x = rng.normal(size=(50, 2))
    np.testing.assert_allclose(g.pdf(x), stats.multivariate_normal([0.5, -1.0], cov).pdf(x), rtol=1e-12)


def test_mixture_pdf_is_weighted_sum(rng):
    mix = fp.GaussianMixture([0.25, 0.75], [[-1.0], [2.0]], [[[0.3]], [[0.5]]])
    x = rng.normal(size=(40, 1))
    expected = 0.25 * stats.norm(-1, np.sqrt(0.3)).pdf(x[:, 0]) + 0.75 * stats.norm(2, np.sqrt(0.5)).pdf(x[:, 0])
    np.testing.assert_allclose(mix.pdf(x), expected, rtol=1e-12)
    np.testing.assert_allclose(mix.pdf(x[:, 0]), expected, rtol=1e-12)  # (n,) accepted in 1-D


def test_mixture_logpdf_matches_scipy_far_into_the_tails(rng):
    """The compiled one-pass log-density (:func:`~fokkerplanck.flow.densities.mixture_logpdf`) against
    scipy's logsumexp of scipy's component log-densities, in 3-D with full covariances, at points out
    to 40 standard deviations (log-densities near -800, where the pdf underflows and only the
    log-sum-exp form is finite); a zero weight counts for nothing, a NaN coordinate gives NaN."""
    from scipy.special import logsumexp

    covs = [np.eye(3) * 0.4, [[0.8, -0.2, 0.1], [-0.2, 0.3, 0.0], [0.1, 0.0, 0.5]], np.diag([2.0, 0.1, 1.0])]
    means = [[-1.0, 0.0, 2.0], [1.5, 0.5, -0.5], [0.0, 3.0, 0.0]]
    mix = fp.GaussianMixture([0.2, 0.5, 0.3], means, covs)
    x = rng.normal(size=(500, 3)) * np.geomspace(0.1, 15.0, 500)[:, None]
    ref = logsumexp([np.log(w) + stats.multivariate_normal(m, c).logpdf(x)
                     for w, m, c in zip(mix.weights, means, covs)], axis=0)
    assert ref.min() < -700  # the far tail is reached
    np.testing.assert_allclose(mix.logpdf(x), ref, rtol=1e-13, atol=1e-12)
    dropped = fp.GaussianMixture([0.0, 1.0, 0.0], means, covs)
    np.testing.assert_allclose(dropped.logpdf(x), stats.multivariate_normal(means[1], covs[1]).logpdf(x),
                               rtol=1e-13, atol=1e-12)
    x[3, 1] = np.nan
    out = mix.logpdf(x)
    assert np.isnan(out[3]) and np.isfinite(np.delete(out, 3)).all()


@pytest.mark.parametrize("density", [
    fp.Gaussian([0.3, -0.2], [[1.0, 0.3], [0.3, 0.7]]),
    fp.GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.5, 0.5]], [np.eye(2) * 0.4, [[0.8, -0.2], [-0.2, 0.3]]]),
])
def test_grad_logpdf_matches_finite_differences(density, rng):
    x = rng.normal(size=(20, 2))
    eps = 1e-6
    fd = np.stack([(density.logpdf(x + eps * e) - density.logpdf(x - eps * e)) / (2 * eps) for e in np.eye(2)],
                  axis=1)
    np.testing.assert_allclose(density.grad_logpdf(x), fd, rtol=1e-6, atol=1e-7)


def test_samples_are_seeded_and_have_the_right_moments():
    mix = fp.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [[[0.3]], [[0.5]]])
    a, b = mix.sample(200_000, seed=3), mix.sample(200_000, seed=3)
    np.testing.assert_array_equal(a, b)
    mean = 0.5
    var = 0.5 * (0.3 + 1.0) + 0.5 * (0.5 + 4.0) - mean ** 2
    # sample mean within 5 standard errors of the true mean (CLT)
    assert abs(a.mean() - mean) < 5 * np.sqrt(var / a.shape[0])
    assert abs(a.var() - var) < 0.02 * var


@pytest.mark.parametrize("make, match", [
    (lambda: fp.Gaussian([0.0, 0.0], [[1.0]]), "shape"),
    (lambda: fp.Gaussian([0.0], [[-1.0]]), "positive definite"),
    (lambda: fp.Gaussian([0.0, 0.0], [[1.0, 0.5], [0.2, 1.0]]), "symmetric"),
    (lambda: fp.GaussianMixture([0.5, 0.5], [[0.0]], [[[1.0]]]), "one per weight"),
    (lambda: fp.GaussianMixture([-1.0, 2.0], [[0.0], [1.0]], [[[1.0]], [[1.0]]]), "non-negative"),
    (lambda: fp.Gaussian([0.0], [[1.0]]).sample(0), "positive integer"),
    (lambda: fp.Gaussian([0.0], [[1.0]]).pdf(np.zeros((3, 2))), "shape"),
])
def test_bad_densities(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_sample_kde_density():
    rng = np.random.default_rng(3)
    samples = rng.normal(size=(200, 2))
    kde = fp.densities.SampleKDE(samples, bandwidth="scott")
    grid = fp.Grid([-9.0, -9.0], [9.0, 9.0], [120, 120])
    # a normalised density whose mass outside the box is < 1e-12 (kernels of std ~0.4 around samples
    # within |x| < 4); the midpoint rule on cells of 0.15 (a third of a kernel std) is accurate to ~1e-6
    assert grid.integrate(kde.pdf(grid.points())) == pytest.approx(1.0, abs=1e-5)
    # the background is the mixture (1 - w) KDE + w N(mean, 100 cov), exactly
    wide = fp.densities.SampleKDE(samples, bandwidth="scott", background=0.05)
    x = rng.normal(size=(5, 2))
    g = fp.Gaussian(samples.mean(axis=0), 100 * np.cov(samples.T))
    assert np.allclose(wide.pdf(x), 0.95 * kde.pdf(x) + 0.05 * g.pdf(x), rtol=1e-12, atol=0)
    eps = 1e-6
    for dens in (kde, wide):
        fd = np.stack([(dens.logpdf(x + eps * e) - dens.logpdf(x - eps * e)) / (2 * eps) for e in np.eye(2)], axis=1)
        assert np.allclose(dens.grad_logpdf(x), fd, rtol=1e-6, atol=1e-6)  # central differences: O(eps^2)
    assert wide.sample(50, seed=0).shape == (50, 2)
    with pytest.raises(ValueError, match="bandwidth"):
        fp.densities.SampleKDE(rng.normal(size=(20, 1)), bandwidth="wide")
