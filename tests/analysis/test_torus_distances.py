"""Distances on periodic grids (issue 21): exact transport on the torus with the minimum-image cost,
binned TV / JSD (no geometry: allowed), and the refusals with their reasons."""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.analysis.distances import cell_discretisation_bound
from fokkerplanck.compare import jensen_shannon, sampling_floor, sliced_wasserstein, total_variation, wasserstein

pytest.importorskip("ot")

TORUS = fp.Grid([0.0, 0.0], [1.0, 2.0], [20, 12], periodic=True)  # h = (0.05, 1/6)


def _mass(grid, *cells):
    u = np.zeros(grid.shape)
    for c in cells:
        u[c] = 1.0
    return u


@pytest.mark.parametrize("p", [1, 2])
def test_two_point_masses_go_the_short_way_round_the_torus(p):
    h = TORUS.spacing
    r = wasserstein((TORUS, _mass(TORUS, (0, 0))), (TORUS, _mass(TORUS, (19, 11))), p=p)
    assert r.method == "torus" and r.name == f"W{p} (torus)"
    assert abs(r - np.hypot(*h)) < 1e-14  # one cell back on each axis, across both seams
    walled = fp.Grid([0.0, 0.0], [1.0, 2.0], [20, 12])
    far = wasserstein((walled, _mass(walled, (0, 0))), (walled, _mass(walled, (19, 11))), p=p)
    assert abs(far - np.hypot(19 * h[0], 11 * h[1])) < 1e-12


def test_samples_wrap_into_the_box_before_transport():
    centre = TORUS.points()[0]  # cell (0, 0): (0.025, 1/12)
    x = np.array([[1.02, -0.05]])  # is (0.02, 1.95) on the torus
    r = wasserstein(x, (TORUS, _mass(TORUS, (0, 0))))
    assert r.method == "torus"
    assert abs(r - np.hypot(0.005, 0.05 + centre[1])) < 1e-14


@pytest.mark.parametrize("axis, k", [(0, 4), (1, 3), (0, -6)])
def test_a_shift_by_k_cells_costs_k_cells(axis, k):
    # support + shift inside half a period along the shift: the 1-Lipschitz test function that is
    # linear there (minus the circle distance to a point) gives W_p >= W_1 >= |k| h, the shift itself <=.
    rng = np.random.default_rng(3)
    u = np.zeros(TORUS.shape)
    if axis == 0:
        u[14:18, :] = rng.uniform(0.2, 1.0, (4, 12))  # rows 14..17, shifted across the seam
    else:
        u[:, 9:11] = rng.uniform(0.2, 1.0, (20, 2))
    v = np.roll(u, k, axis=axis)
    for p in (1, 2):
        r = wasserstein((TORUS, u), (TORUS, v), p=p)
        # measured: agreement to 1e-15 (the network simplex is exact on these atoms)
        assert r.method == "torus" and abs(r - abs(k) * TORUS.spacing[axis]) < 1e-12


def test_mixed_periodic_3d_wraps_only_the_periodic_axes():
    g = fp.Grid([0.0] * 3, [1.0] * 3, [6, 5, 4], periodic=[True, False, True])
    a, b = _mass(g, (0, 0, 0)), _mass(g, (5, 4, 3))
    h = g.spacing
    r = wasserstein((g, a), (g, b))
    assert r.method == "torus" and abs(r - np.sqrt(h[0] ** 2 + (4 * h[1]) ** 2 + h[2] ** 2)) < 1e-14


def test_1d_torus_transport_agrees_with_the_circle_w1():
    circle = fp.Grid([0.0], [1.0], [50], periodic=True)
    # the generic path on a ring two cells wide, each cell's mass split evenly across: equal y marginals,
    # cost >= |dx|, so W1 is the 1-D transport of the atoms on the circle
    ring = fp.Grid([0.0, 0.0], [1.0, 1.0], [50, 2], periodic=[True, False])
    rng = np.random.default_rng(0)
    for _ in range(5):
        ua, ub = rng.uniform(0, 1, 50), rng.uniform(0, 1, 50)
        exact = wasserstein((circle, ua), (circle, ub), method="exact")
        atoms = wasserstein((ring, np.repeat(ua[:, None], 2, axis=1)), (ring, np.repeat(ub[:, None], 2, axis=1)))
        assert exact.method == "circle" and atoms.method == "torus"
        # the atoms are within cell_discretisation_bound (h/4) of each piecewise-constant density:
        # measured |difference| <= 5e-4, bound 1e-2
        assert abs(exact - atoms) <= 2 * cell_discretisation_bound(circle)
    # point masses in cells, read as atoms: the shift is exact
    u = _mass(circle, 48)
    assert abs(wasserstein((circle, u), (circle, _mass(circle, 3)), p=2) - 5 * circle.spacing[0]) < 1e-14


def test_binned_distances_are_allowed_on_periodic_grids():
    rng = np.random.default_rng(1)
    u, v = rng.uniform(0, 1, TORUS.shape), rng.uniform(0, 1, TORUS.shape)
    walled = fp.Grid([0.0, 0.0], [1.0, 2.0], [20, 12])
    # no geometry: the same numbers as on the walled grid
    assert total_variation((TORUS, u), (TORUS, v)) == total_variation((walled, u), (walled, v)) > 0
    assert jensen_shannon((TORUS, u), (TORUS, v)) == jensen_shannon((walled, u), (walled, v)) > 0
    x = rng.uniform(0, 1, (500, 2)) * [1.0, 2.0]
    shifted = x + [[3.0, -2.0]]  # whole periods: the same points on the torus
    assert total_variation(shifted, (TORUS, u)) == total_variation(x, (TORUS, u))
    assert jensen_shannon(shifted, (TORUS, u)) == jensen_shannon(x, (TORUS, u))
    assert total_variation(shifted, (walled, u)) == 1.0  # on the walled grid every point is outside


def test_sampling_floor_on_the_torus_says_which_distance():
    u = np.random.default_rng(2).uniform(0.5, 1, (8, 6))
    g = fp.Grid([0.0, 0.0], [1.0, 1.0], [8, 6], periodic=True)
    floor = sampling_floor((g, u), 200, repeats=2)
    assert floor.method == "torus" and 0 < floor < 0.5
    assert sampling_floor((g, u), 200, repeats=2, method=floor) == floor


def test_refusals_say_why():
    u = np.ones(TORUS.shape)
    with pytest.raises(ValueError, match="cut the torus at the seam"):
        wasserstein((TORUS, u), (TORUS, u), method="sliced")
    with pytest.raises(ValueError, match="exceed max_exact = 100"):
        wasserstein((TORUS, u), (TORUS, u), max_exact=100)
    assert wasserstein((TORUS, u), (TORUS, u), method="exact", max_exact=100) < 1e-12  # asked for: runs
    with pytest.raises(ValueError, match="one circle or torus"):
        wasserstein((TORUS, u), (fp.Grid([0.0, 0.0], [1.0, 1.0], [20, 12], periodic=True), u))
    with pytest.raises(ValueError, match="treat the seam as a wall"):
        sliced_wasserstein((TORUS, u), (TORUS, u))
    circle = fp.Grid([0.0], [1.0], [10], periodic=True)
    with pytest.raises(ValueError, match="wasserstein_1d on a periodic grid"):
        fp.compare.wasserstein_1d(np.zeros(3), (circle, np.ones(10)))
