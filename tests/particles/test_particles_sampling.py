"""fokkerplanck.particles.sampling: i.i.d. and Sobol samples of Gaussians, mixtures and grid densities."""

import numpy as np
import pytest
from scipy.special import ndtr

import fokkerplanck as fp
from fokkerplanck import compare
from fokkerplanck.particles import sampling

GAUSS_1D = fp.Gaussian([0.5], [[2.0]])
MIX_1D = fp.GaussianMixture([0.3, 0.7], [[-2.0], [1.0]], [[[0.2]], [[0.8]]])
GAUSS_2D = fp.Gaussian([1.0, -1.0], [[1.0, 0.5], [0.5, 2.0]])
MIX_2D = fp.GaussianMixture([0.25, 0.75], [[-2.0, 0.0], [1.0, 1.0]], [np.eye(2) * 0.3, [[1.0, 0.2], [0.2, 0.5]]])


@pytest.mark.parametrize("density", [GAUSS_1D, MIX_1D, GAUSS_2D, MIX_2D])
@pytest.mark.parametrize("method", ["iid", "sobol"])
def test_seeded_and_reproducible(density, method):
    a = sampling.sample(density, 257, seed=3, method=method)
    b = sampling.sample(density, 257, seed=3, method=method)
    c = sampling.sample(density, 257, seed=4, method=method)
    assert a.shape == (257, density.ndim)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("density", [GAUSS_2D, MIX_2D])
def test_moments(density):
    """Mean and covariance of 2^16 samples: within 5 standard errors (i.i.d.); Sobol far closer."""
    n = 2 ** 16
    if isinstance(density, fp.Gaussian):
        mean, cov = density.mean, density.cov
    else:
        w = density.weights
        mean = w @ density.means
        cov = sum(wk * (c + np.outer(m - mean, m - mean)) for wk, m, c in zip(w, density.means, density.covs))
    se = np.sqrt(np.diag(cov) / n)
    x = sampling.sample(density, n, seed=0, method="iid")
    assert np.all(np.abs(x.mean(axis=0) - mean) < 5 * se)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=5 * np.sqrt(2.0 / n) * np.max(np.diag(cov)))
    q = sampling.sample(density, n, seed=0, method="sobol")
    assert np.all(np.abs(q.mean(axis=0) - mean) < 0.5 * se)  # QMC error ~ (log n)^d / n << n^(-1/2)


def test_mixture_quantile_is_the_inverse_cdf():
    q = np.linspace(1e-12, 1 - 1e-12, 10_001)
    x = sampling.mixture_quantile_1d(MIX_1D, q)
    cdf = sum(w * ndtr((x - m[0]) / np.sqrt(c[0, 0])) for w, m, c in zip(MIX_1D.weights, MIX_1D.means, MIX_1D.covs))
    np.testing.assert_allclose(cdf, q, rtol=0, atol=1e-13)
    assert np.all(np.diff(x) > 0)


def test_grid_inverse_cdf_is_exact_for_piecewise_constant_densities():
    """Midpoint uniforms q_i = (i + 1/2)/n mapped by the 1-D inverse CDF put exactly n m_k points
    in cell k when n m_k is an integer, and cells of zero mass get none."""
    grid = fp.Grid([0.0], [4.0], [4])
    values = np.array([1.0, 0.0, 2.0, 1.0])  # masses 1/4, 0, 1/2, 1/4
    n = 400
    x = sampling.grid_quantile_transform(grid, values, ((np.arange(n) + 0.5) / n)[:, None])
    counts = np.histogram(x[:, 0], bins=grid.edges[0])[0]
    np.testing.assert_array_equal(counts, [100, 0, 200, 100])
    # uniform inside a cell: the points of cell 2 are equally spaced, first at 2 + 0.5/200
    inside = np.sort(x[(x[:, 0] >= 2) & (x[:, 0] < 3), 0])
    np.testing.assert_allclose(np.diff(inside), 1 / 200, rtol=1e-9)


def test_grid_sampling_2d_matches_cell_masses(rng):
    """Rosenblatt transform in 2-D: cell counts of 10^5 samples agree with the masses (chi-square)."""
    grid = fp.Grid([-3.0, -2.0], [3.0, 2.0], [12, 8])
    values = GAUSS_2D.pdf(grid.points()).reshape(grid.shape)
    values[3, :] = 0.0  # an empty row is never sampled
    n = 100_000
    x = sampling.sample((grid, values), n, seed=rng)
    assert np.all(grid.contains(x))
    idx = np.floor((x - grid.lower) / grid.spacing).astype(int)
    counts = np.zeros(grid.shape)
    np.add.at(counts, (idx[:, 0], idx[:, 1]), 1)
    assert counts[3].sum() == 0
    expected = values / values.sum() * n
    keep = expected > 5
    chi2 = np.sum((counts[keep] - expected[keep]) ** 2 / expected[keep])
    dof = keep.sum() - 1
    assert chi2 < dof + 5 * np.sqrt(2 * dof)  # 5 standard deviations of the chi-square distribution


@pytest.mark.parametrize("density", [GAUSS_1D, MIX_1D, "grid"])
def test_sobol_gives_much_smaller_w1_than_iid(density):
    """In 1-D a monotone transport of Sobol points has W1 ~ 1/n, i.i.d. ~ n^(-1/2)."""
    grid = fp.Grid([-10.0], [10.0], [4000])
    if density == "grid":
        density = (grid, MIX_1D.pdf(grid.points()))
        ref = density
    else:
        ref = (grid, density.pdf(grid.points()))  # quantile error of the grid density O(dx^2) ~ 1e-5
    n = 4096
    iid = np.mean([compare.wasserstein(sampling.sample(density, n, seed=s), ref) for s in range(5)])
    qmc = compare.wasserstein(sampling.sample(density, n, seed=0, method="sobol"), ref)
    # measured ratios ~50; the i.i.d. mean of 5 draws is known to ~25%: require 10x
    assert qmc < iid / 10, (qmc, iid)


def test_stratified_mixture_counts():
    """Sobol sampling of a mixture in d >= 2 gives each component exactly its rounded share n w_k."""
    far = fp.GaussianMixture([0.25, 0.75], [[-6.0, 0.0], [6.0, 0.0]], [np.eye(2), np.eye(2)])
    x = sampling.sample(far, 1000, seed=0, method="sobol")
    assert np.sum(x[:, 0] < 0) == 250  # 6 standard deviations from the split: no point crosses
    np.testing.assert_array_equal(sampling._stratified_counts(np.array([0.335, 0.335, 0.33]), 10), [4, 3, 3])


def test_uniform_points_are_open_unit_cube():
    for method in ("iid", "sobol", "qmc"):
        q = sampling.uniform(1024, 3, seed=0, method=method)
        assert q.shape == (1024, 3) and np.all((q > 0) & (q < 1))


def test_bad_input():
    grid = fp.Grid([-1.0], [1.0], [10])
    for n in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            sampling.sample(GAUSS_1D, n)
    with pytest.raises(ValueError, match="unknown sampling method"):
        sampling.sample(GAUSS_1D, 10, method="halton")
    with pytest.raises(ValueError, match="grid has shape"):
        sampling.sample((grid, np.ones(9)), 10)
    with pytest.raises(ValueError, match="non-negative"):
        sampling.sample((grid, -np.ones(10)), 10)
    with pytest.raises(ValueError, match="zero total mass"):
        sampling.sample(np.zeros(10), 10, grid=grid)
    with pytest.raises(ValueError, match="need a grid"):
        sampling.sample(np.ones(10), 10)
    with pytest.raises(ValueError, match="pass grid="):
        sampling.sample(lambda x: np.ones(len(x)), 10)
    x = sampling.sample(lambda p: np.exp(-p[:, 0] ** 2), 100, grid=grid, seed=0)
    assert x.shape == (100, 1) and np.all(grid.contains(x))


def test_check_method_is_the_one_sampling_check():
    assert sampling.check_method("QMC") == "sobol" and sampling.check_method("iid") == "iid"
    with pytest.raises(ValueError, match="unknown sampling method 'lhs'"):
        sampling.check_method("lhs")
