"""W1 on the circle for densities on a periodic 1-D grid (issue 21): closed forms, <= the interval W1."""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.compare import wasserstein

N = 400
CIRCLE = fp.Grid([0.0], [1.0], [N], periodic=True)
INTERVAL = fp.Grid([0.0], [1.0], [N])


def test_point_mass_goes_the_short_way_round():
    u = np.zeros(N)
    u[360] = 1.0  # uniform on the cell [0.9, 0.9025]
    r = wasserstein(np.array([0.1]), (CIRCLE, u))
    assert r.method == "circle" and r.name == "W1 (circle)"
    assert abs(r - (0.1 + 1.0 - 0.90125)) < 1e-14  # across the seam: 0.19875, not 0.80125
    assert abs(wasserstein(np.array([0.1]), (INTERVAL, u)) - 0.80125) < 1e-14
    # two samples on each side: samples wrap into the box first
    assert abs(wasserstein(np.array([1.05]), (CIRCLE, u)) - 0.14875) < 1e-14


@pytest.mark.parametrize("cells", [40, 100, 200, 300])
def test_shifted_cosine_bump_closed_form(cells):
    # rho(x) = 1 + a cos(2 pi x) and its shift by s: F - G = (a/pi) sin(pi s) cos(2 pi x - pi s) + const,
    # whose median is the const: W1 = (a/pi)|sin(pi s)| * 2/pi. Read piecewise constant on the cells
    # (cell averages), the CDF difference shrinks by (sinc(pi dx))^2 exactly.
    a, s, e = 0.5, cells / N, CIRCLE.edges[0]
    ua = 1 + a * (np.sin(2 * np.pi * e[1:]) - np.sin(2 * np.pi * e[:-1])) / (2 * np.pi) * N
    ub = np.roll(ua, cells)
    r = wasserstein((CIRCLE, ua), (CIRCLE, ub))
    h = np.pi / N
    exact = (a / np.pi) * abs(np.sin(np.pi * s)) * 2 / np.pi * (np.sin(h) / h) ** 2
    assert abs(r / exact - 1) < 1e-6  # measured: relative 2e-5 against the continuum, before the sinc factor
    interval = wasserstein((INTERVAL, ua), (INTERVAL, ub))
    assert r <= interval + 1e-15  # e.g. s = 0.1: 0.0313 on the circle, 0.0471 on the interval


def test_samples_of_the_uniform_against_the_uniform():
    x = np.random.default_rng(0).uniform(0.0, 1.0, 100_000)
    r = wasserstein(x, (CIRCLE, np.ones(N)))
    assert r.method == "circle" and r < 3 / np.sqrt(x.size)  # measured 9.0e-4 (interval W1 is larger)
    assert r <= wasserstein(x, (INTERVAL, np.ones(N)))


def test_refused_with_the_reason():
    # p > 1, 2-D/3-D tori and the binned distances are served now (tests/analysis/test_torus_distances.py)
    with pytest.raises(ValueError, match="one circle"):
        wasserstein((CIRCLE, np.ones(N)), (fp.Grid([0.0], [2.0], [N], periodic=True), np.ones(N)))
