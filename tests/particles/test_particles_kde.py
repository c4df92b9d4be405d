"""fokkerplanck.particles.kde: exact and binned Gaussian KDEs, bandwidth rules, option checks."""

import numpy as np
import pytest
import scipy.stats

import fokkerplanck as fp
from fokkerplanck.particles import kde


# --- exact vs binned -------------------------------------------------------------------------


def test_binned_and_exact_kde_agree():
    """Linear binning with 4 nodes per bandwidth: error O((delta/h)^2) ~ 1e-2 relative (Hall & Wand 1996)."""
    rng = np.random.default_rng(3)
    for d in (1, 2, 3):
        x = rng.standard_normal((2000, d))
        pe, ge = fp.kde.evaluate(x, method="exact")
        pb, gb = fp.kde.evaluate(x, method="binned")
        assert np.median(np.abs(pb / pe - 1)) < 5e-3
        assert np.max(np.abs(pb / pe - 1)) < 0.02 * 2 ** (d - 1)
        assert np.max(np.abs(gb - ge)) < 0.03 * np.max(np.abs(ge))


def test_binning_error_shrinks_like_the_mesh_spacing_squared():
    """Linear binning and linear interpolation each err by O(delta^2), delta = h / r: doubling the nodes
    per bandwidth r divides the binned-vs-exact error by ~4. Accept a ratio in [2.5, 6]: the O(delta^4)
    terms and the FFT round-off (~1e-14 of the peak) are negligible at r = 4, 8, but the ratio of two
    medians over 2000 points still moves by ~20% between samples."""
    x = np.random.default_rng(4).standard_normal((2000, 1))
    pe, _ = kde.evaluate(x, method="exact")
    errs = [np.median(np.abs(kde.evaluate(x, method="binned", bins_per_bandwidth=r)[0] / pe - 1)) for r in (4, 8)]
    assert 2.5 < errs[0] / errs[1] < 6.0, errs


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("rule", ["scott", "silverman"])
def test_bandwidth_rules_match_scipy_gaussian_kde_factor(d, rule):
    """scipy's gaussian_kde uses the kernel covariance factor^2 * cov(x) (ddof = 1), with
    factor n^(-1/(d+4)) (Scott) or (n (d+2) / 4)^(-1/(d+4)) (Silverman). Ours is diagonal:
    h_a = factor * sigma_a (Scott), factor * min(sigma_a, IQR_a / 1.349) (Silverman). Both are
    closed forms of the same numbers, so they agree to round-off (rtol 1e-12)."""
    x = np.random.default_rng(d).standard_normal((500, d)) * np.arange(1.0, d + 1.0)
    ref = scipy.stats.gaussian_kde(x.T, bw_method=rule)
    sigma = np.sqrt(np.diag(np.atleast_2d(np.cov(x.T))))
    if rule == "silverman":
        q75, q25 = np.percentile(x, [75, 25], axis=0)
        sigma = np.minimum(sigma, (q75 - q25) / 1.349)
    np.testing.assert_allclose(kde.bandwidth(x, rule), ref.factor * sigma, rtol=1e-12)
    if rule == "scott":  # the kernel variances themselves: the diagonal of scipy's kernel covariance
        np.testing.assert_allclose(kde.bandwidth(x, rule) ** 2, np.diag(ref.covariance), rtol=1e-12)


def test_exact_estimator_is_scipys_in_one_dimension():
    """In 1-D a diagonal bandwidth is the full one: the exact estimator equals scipy's gaussian_kde to
    round-off (pairwise sums of 1000 terms: rtol 1e-12)."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal(1000)
    y = np.linspace(-4.0, 4.0, 101)
    p, _ = kde.evaluate(x[:, None], y[:, None], method="exact")
    np.testing.assert_allclose(p, scipy.stats.gaussian_kde(x).evaluate(y), rtol=1e-12)


@pytest.mark.parametrize("method", ["exact", "binned"])
def test_estimates_are_normalised(method):
    """The estimate integrates to 1. Trapezoid rule on a mesh of spacing h/20 over the samples' range
    plus 10 bandwidths: its error is far below 1e-8 for the smooth exact estimate; the binned one
    conserves the binned mass exactly and interpolates linearly (O(delta^2) local errors that largely
    cancel in the integral), measured ~1e-5: accept 1e-3 (1-D) and 2e-3 (2-D, coarser quadrature)."""
    rng = np.random.default_rng(6)
    x1 = rng.standard_normal((800, 1))
    h1 = kde.bandwidth(x1)[0]
    y1 = np.arange(x1.min() - 10 * h1, x1.max() + 10 * h1, h1 / 20)
    p1, _ = kde.evaluate(x1, y1[:, None], method=method)
    assert abs(np.trapezoid(p1, y1) - 1.0) < (1e-8 if method == "exact" else 1e-3)
    x2 = rng.standard_normal((400, 2))
    h2 = kde.bandwidth(x2)
    axes = [np.arange(x2[:, a].min() - 8 * h2[a], x2[:, a].max() + 8 * h2[a], h2[a] / 6) for a in range(2)]
    mesh = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 2)
    p2, _ = kde.evaluate(x2, mesh, method=method)
    p2 = p2.reshape(len(axes[0]), len(axes[1]))
    assert abs(np.trapezoid(np.trapezoid(p2, axes[1], axis=1), axes[0]) - 1.0) < 2e-3


def test_exact_gradient_matches_finite_differences():
    """Central differences with step 1e-5 h: truncation O(1e-10 relative), round-off ~1e-11 / 1e-5:
    agreement to 1e-6 of the gradient's scale."""
    rng = np.random.default_rng(7)
    for d in (1, 2):
        x = rng.standard_normal((300, d))
        y = rng.standard_normal((50, d))
        h = kde.bandwidth(x)
        _, g = kde.evaluate(x, y, method="exact")
        for a in range(d):
            e = np.zeros(d)
            e[a] = 1e-5 * h[a]
            fd = (kde.evaluate(x, y + e, bandwidth=h, method="exact")[0]
                  - kde.evaluate(x, y - e, bandwidth=h, method="exact")[0]) / (2 * e[a])
            np.testing.assert_allclose(g[:, a], fd, rtol=0, atol=1e-6 * np.max(np.abs(g)))


@pytest.mark.parametrize("kwargs,match", [
    (dict(bandwidth="wide"), "unknown bandwidth rule"),
    (dict(bandwidth=-0.1), "bandwidth must be"),
    (dict(bandwidth=[0.1, 0.2]), "bandwidth must be"),
    (dict(method="fft"), "unknown KDE method"),
    (dict(bins_per_bandwidth=0), "bins_per_bandwidth"),
    (dict(max_nodes=2), "max_nodes"),
])
def test_bad_options(kwargs, match):
    x = np.zeros((10, 3))
    x[:, 0] = np.arange(10.0)
    x[:, 1] = np.arange(10.0) ** 2
    x[:, 2] = -np.arange(10.0)
    with pytest.raises(ValueError, match=match):
        kde.evaluate(x, **kwargs)
    with pytest.raises(ValueError, match=match):  # the same checks before any samples exist
        kde.check_options(3, **kwargs)
    with pytest.raises(ValueError, match="dimension"):
        kde.evaluate(np.zeros((10, 4)))
