"""Wasserstein distances, sliced Wasserstein and binned divergences: closed forms, peers, properties."""

import numpy as np
import pytest
import scipy.stats
from scipy import integrate
from scipy.special import ndtr

import fokkerplanck as fp
from fokkerplanck import compare
from fokkerplanck.flow.sampling import sample


def _grid_gaussian(grid, mean, var):
    return fp.Gaussian([mean], [[var]]).pdf(grid.points())


# --- 1-D: exact ----------------------------------------------------------------------------------

def test_two_gaussians_closed_forms_from_grid_densities():
    """W2(N(m1,s1^2), N(m2,s2^2)) = sqrt((m1-m2)^2 + (s1-s2)^2); W1 for equal variances is |m1-m2|.

    The grid densities are piecewise constant on cells of width dx = 1e-3, whose quantile functions
    differ from the Gaussians' by O(dx^2) = 1e-6 (relative to the spread); the box [-20, 20] cuts
    mass ~1e-88. Tolerance 1e-6."""
    grid = fp.Grid([-20.0], [20.0], [40_000])
    a = _grid_gaussian(grid, 0.3, 1.0)
    b = _grid_gaussian(grid, -0.9, 2.25)
    c = _grid_gaussian(grid, 1.7, 1.0)
    assert abs(compare.wasserstein((grid, a), (grid, b), p=2) - np.hypot(1.2, 0.5)) < 1e-6
    assert abs(compare.wasserstein((grid, a), (grid, c), p=1) - 1.4) < 1e-6
    # W1 for different variances: the L1 distance of the CDFs, by quadrature (an independent formula)
    w1_exact = integrate.quad(lambda x: abs(ndtr((x - 0.3) / 1.0) - ndtr((x + 0.9) / 1.5)), -30, 30,
                              points=[-0.9, 0.3, 4.5], limit=200)[0]
    assert abs(compare.wasserstein((grid, a), (grid, b), p=1) - w1_exact) < 1e-6


def test_samples_versus_gaussian_density_matches_quantile_formula(rng):
    """Samples vs a grid density: against the exact W_p between the empirical measure and the
    Gaussian itself, computed by quadrature of |x_(i) - F^{-1}(s)|^p over each s-interval."""
    grid = fp.Grid([-12.0], [12.0], [24_000])
    x = rng.normal(0.5, 1.3, size=200)
    xs = np.sort(x)
    for p in (1, 2):
        total = 0.0
        for i, xi in enumerate(xs):
            total += integrate.quad(lambda s: abs(xi - scipy.stats.norm.ppf(s)) ** p, i / 200, (i + 1) / 200,
                                    limit=100)[0]
        exact = total ** (1 / p)
        got = compare.wasserstein(x, (grid, _grid_gaussian(grid, 0.0, 1.0)), p=p)
        assert abs(got - exact) < 1e-5, (p, got, exact)  # quadrature ~1e-8, grid O(dx^2) ~ 1e-6


def test_samples_versus_samples_match_scipy_and_pot(rng):
    import ot

    x = rng.normal(0.0, 1.0, 700)
    y = rng.normal(0.4, 2.0, 1100)  # unequal sizes exercise the merged quantile breakpoints
    assert abs(compare.wasserstein(x, y, p=1) - scipy.stats.wasserstein_distance(x, y)) < 1e-12
    cost = np.abs(x[:, None] - y[None, :])
    for p in (2, 3, 1.5):
        ref = ot.emd2(np.full(700, 1 / 700), np.full(1100, 1 / 1100), cost ** p) ** (1 / p)
        assert abs(compare.wasserstein(x, y, p=p) - ref) < 1e-9 * max(1.0, ref)


def test_symmetry_and_identity(rng):
    grid = fp.Grid([-6.0], [6.0], [300])
    u = _grid_gaussian(grid, 0.5, 0.8)
    w = _grid_gaussian(grid, -0.5, 1.5)
    x = rng.normal(size=500)
    y = rng.normal(1.0, 1.0, size=333)
    for a, b in [(x, y), (x, (grid, u)), ((grid, u), (grid, w))]:
        for p in (1, 2):
            assert compare.wasserstein(a, b, p) == pytest.approx(compare.wasserstein(b, a, p), rel=1e-12)
    assert compare.wasserstein(x, x, 2) == 0.0
    # normalised: the same measure (up to round-off of the normalisation)
    assert compare.wasserstein((grid, u), (grid, u * 3.0)) == pytest.approx(0.0, abs=1e-15)
    # a translate by exactly one cell: W_p = dx for every p (transport map x -> x + dx)
    shifted = np.concatenate([[0.0], u[:-1]])
    for p in (1, 2, 3):
        assert compare.wasserstein((grid, u), (grid, shifted), p) == pytest.approx(grid.spacing[0], rel=1e-6)


# --- 2-D/3-D ---------------------------------------------------------------------------------------

def test_exact_and_sliced_translation_closed_forms(rng):
    """W_p(mu, mu + v) = |v| (translation is optimal: W_p >= |mean difference|); the sliced distance is
    (mean_theta |theta . v|^p)^(1/p): 2|v|/pi for p = 1 in 2-D, |v|/sqrt(2) for p = 2 in 2-D."""
    x = rng.normal(size=(400, 2))
    v = np.array([0.3, -0.4])
    assert compare.wasserstein(x, x + v, p=1, method="exact") == pytest.approx(0.5, rel=1e-9)
    assert compare.wasserstein(x, x + v, p=2, method="exact") == pytest.approx(0.5, rel=1e-9)
    # equally spaced angles: the direction average is a periodic trapezoid rule, error ~ 1/K^2
    assert compare.wasserstein(x, x + v, p=1, method="sliced", n_projections=256) == \
        pytest.approx(2 * 0.5 / np.pi, rel=1e-4)
    assert compare.sliced_wasserstein(x, x + v, p=2, n_projections=256) == pytest.approx(0.5 / np.sqrt(2), rel=1e-4)
    x3 = rng.normal(size=(300, 3))
    v3 = np.array([0.1, 0.2, -0.2])
    assert compare.wasserstein(x3, x3 + v3, p=2, method="exact") == pytest.approx(0.3, rel=1e-9)
    # 3-D: mean |theta . v| = |v|/2 over the sphere; a 512-point Fibonacci lattice integrates to ~1e-3
    assert compare.sliced_wasserstein(x3, x3 + v3, p=1, n_projections=512) == pytest.approx(0.15, rel=5e-3)


def test_sliced_projection_of_grid_density_is_exact_for_translates():
    """A grid density and its translate by whole cells project to the same histogram, shifted."""
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [40, 50])
    u = fp.Gaussian([0.0, 0.0], [[0.8, 0.2], [0.2, 0.6]]).pdf(grid.points()).reshape(grid.shape)
    shifted = np.zeros_like(u)
    shifted[2:, :-1] = u[:-2, 1:]  # by (+2 dx, -1 dy); the mass pushed out is ~1e-7
    v = np.array([2 * grid.spacing[0], -grid.spacing[1]])
    got = compare.sliced_wasserstein((grid, u), (grid, shifted), p=1, n_projections=128)
    # direction average: periodic trapezoid rule on |cos|, error <~ 1e-4 relative at K = 128
    assert got == pytest.approx(2 * np.linalg.norm(v) / np.pi, rel=2e-4)
    assert compare.wasserstein((grid, u), (grid, u), method="sliced") == 0.0


def test_sliced_projection_of_3d_grid_density_is_exact_for_translates():
    """3-D cells project to sums of three uniforms (piecewise-quadratic CDF): for a translate by whole
    cells each projected W1 is |theta . v| exactly, so SW1 = mean_k |theta_k . v| over the directions used."""
    grid = fp.Grid([-4.0, -4.0, -4.0], [4.0, 4.0, 4.0], [16, 16, 16])
    u = fp.Gaussian([0.0, 0.0, 0.0], np.diag([0.6, 0.8, 0.5])).pdf(grid.points()).reshape(grid.shape)
    shifted = np.zeros_like(u)
    shifted[1:, :, 2:] = u[:-1, :, :-2]  # by (+dx, 0, +2 dz); mass pushed out ~1e-8
    v = np.array([grid.spacing[0], 0.0, 2 * grid.spacing[2]])
    theta = compare._directions(3, 24, 5)
    expected = np.mean(np.abs(theta @ v))
    got = compare.sliced_wasserstein((grid, u), (grid, shifted), p=1, n_projections=24, seed=5)
    # each projection is binned (16 bins across a projected cell, aligned to the measure's own extent):
    # an O(bin^2) approximation of the exact projected CDF, measured 2e-5 relative here
    assert got == pytest.approx(expected, rel=1e-4)


def test_samples_against_2d_grid_density_floor(rng):
    """Sliced W1 of exact samples of the piecewise-constant density shrinks like n^(-1/2)."""
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [48, 48])
    u = fp.Gaussian([0.0, 0.5], [[1.0, 0.3], [0.3, 0.7]]).pdf(grid.points()).reshape(grid.shape)
    w = [np.mean([compare.wasserstein(sample((grid, u), n, seed=s), (grid, u), method="sliced", n_projections=32)
                  for s in range(4)]) for n in (1_000, 16_000)]
    # 16x more samples: 4x smaller expected W1 for an unbiased projection (1-D CLT rate); 4 draws give
    # ~10% precision on each mean: accept 3.2-5
    assert 3.2 < w[0] / w[1] < 5.0, w


def test_exact_ot_with_grid_density_uses_cell_centre_atoms(rng):
    """Exact OT reads the grid density as cell-centre atoms: atoms with exactly the cell masses are
    at distance 0; and the sliced distance to the piecewise-constant density obeys
    SW(x, u) <= W(x, u) <= W(x, atoms) + W(atoms, u) <= exact + cell bound."""
    grid = fp.Grid([-3.0, -3.0], [3.0, 3.0], [12, 12])
    counts = rng.integers(0, 5, size=grid.shape)
    counts[0, 0] = 1
    atoms = np.repeat(grid.points(), counts.ravel(), axis=0)
    assert compare.wasserstein(atoms, (grid, counts.astype(float)), method="exact") == pytest.approx(0.0, abs=1e-12)
    u = fp.Gaussian([0.0, 0.0], np.eye(2)).pdf(grid.points()).reshape(grid.shape)
    x = sample((grid, u), 600, seed=rng)
    w_exact = compare.wasserstein(x, (grid, u), method="exact")
    w_sliced = compare.wasserstein(x, (grid, u), method="sliced", n_projections=64)
    bound = compare.cell_discretisation_bound(grid)
    assert 0 < w_sliced <= w_exact + bound
    assert compare.cell_discretisation_bound(fp.Grid([0.0], [1.0], [10]), p=1) == pytest.approx(0.025)
    # Monte Carlo value for a square cell of side 0.5: E|U - c| = 0.5 * 0.3826 (2-D constant (sqrt2 + asinh1)/6)
    square = fp.Grid([0.0, 0.0], [1.0, 1.0], [2, 2])
    assert compare.cell_discretisation_bound(square) == pytest.approx(0.5 * (np.sqrt(2) + np.arcsinh(1)) / 6,
                                                                      rel=5e-3)


def test_auto_switches_at_max_exact(rng):
    x = rng.normal(size=(50, 2))
    y = rng.normal(size=(60, 2)) + 0.2
    assert compare.wasserstein(x, y, method="auto", max_exact=100) == compare.wasserstein(x, y, method="exact")
    with pytest.warns(UserWarning, match="sliced distance SW1"):  # the switch is announced
        auto = compare.wasserstein(x, y, method="auto", max_exact=10, seed=3)
    assert auto == compare.wasserstein(x, y, method="sliced", seed=3) and auto.method == "sliced"


# --- binned --------------------------------------------------------------------------------------

def test_total_variation_and_jensen_shannon(rng):
    grid = fp.Grid([-4.0], [4.0], [40])
    u = _grid_gaussian(grid, 0.0, 1.0)
    assert compare.total_variation((grid, u), (grid, u)) == 0.0
    assert compare.jensen_shannon((grid, u), (grid, u)) == 0.0
    left = np.where(grid.axes[0] < 0, 1.0, 0.0)
    right = 1.0 - left
    assert compare.total_variation((grid, left), (grid, right)) == pytest.approx(1.0)
    assert compare.jensen_shannon((grid, left), (grid, right)) == pytest.approx(np.log(2))
    # samples outside the box count fully
    x = np.concatenate([np.full(50, -10.0), np.full(50, 0.05)])
    one_cell = np.zeros(40)
    one_cell[20] = 1.0
    assert compare.total_variation(x, (grid, one_cell)) == pytest.approx(0.5)
    # sampling floor: E TV ~ 1/2 sum_k sqrt(2 m_k / (pi n)) for many samples per cell
    n = 20_000
    m = u / u.sum()
    expect = 0.5 * np.sum(np.sqrt(2 * m * (1 - m) / (np.pi * n)))
    tv = np.mean([compare.total_variation(sample((grid, u), n, seed=s), (grid, u)) for s in range(10)])
    assert 0.8 * expect < tv < 1.2 * expect  # 10 draws: ~3% precision; the normal approximation ~5%
    with pytest.raises(ValueError, match="grid="):
        compare.total_variation(x, x)
    assert compare.total_variation(x, x, grid=grid) == 0.0


# --- bad input -----------------------------------------------------------------------------------

def test_bad_input():
    grid = fp.Grid([-1.0], [1.0], [10])
    x = np.zeros((5, 1))
    with pytest.raises(ValueError, match="different dimensions"):
        compare.wasserstein(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="shape"):
        compare.wasserstein(np.zeros((5, 4)), x)
    with pytest.raises(ValueError, match="grid has shape"):
        compare.wasserstein(x, (grid, np.ones(11)))
    with pytest.raises(ValueError, match="non-negative"):
        compare.wasserstein(x, (grid, -np.ones(10)))
    with pytest.raises(ValueError, match="zero mass"):
        compare.wasserstein(x, (grid, np.zeros(10)))
    with pytest.raises(ValueError, match="tuple"):
        compare.wasserstein(x, grid)
    with pytest.raises(ValueError, match="p must be"):
        compare.wasserstein(x, x, p=0.5)
    with pytest.raises(ValueError, match="unknown method"):
        compare.wasserstein(np.zeros((3, 2)), np.zeros((3, 2)), method="fast")
    with pytest.raises(ValueError, match="non-finite"):
        compare.wasserstein(np.array([np.nan, 1.0]), x)
    with pytest.raises(ValueError, match="n_projections"):
        compare.sliced_wasserstein(np.zeros((3, 2)), np.zeros((3, 2)), n_projections=0)
    with pytest.raises(ValueError, match="1-D"):
        compare.wasserstein_1d(np.zeros((3, 2)), np.zeros((3, 2)))
