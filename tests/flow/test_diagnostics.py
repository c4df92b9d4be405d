"""The compiled diagnostics (:func:`fokkerplanck.flow.diagnostics.state_diagnostics`) in 2-D and 3-D,
walls and periodic axes, against the same formulas in numpy (the 1-D case: tests/flow/test_fast_1d.py)."""

import numpy as np
import pytest

from fokkerplanck.flow import diagnostics, operators
from fokkerplanck.flow.divergences import get_divergence


@pytest.mark.parametrize("shape, periodic", [
    ((40, 30), (False, False)),
    ((40, 30), (True, False)),
    ((12, 1, 9), (False, True, True)),  # a periodic axis of one cell carries no flux
    ((8, 10, 6), (True, False, True)),
])
@pytest.mark.parametrize("divergence", ["jsd", "kl", "chi2", "hellinger"])
def test_compiled_diagnostics_equal_the_numpy_formulas(shape, periodic, divergence, rng):
    n = int(np.prod(shape))
    v = rng.uniform(0.0, 3.0, shape)
    v.flat[:5] = 0.0  # empty cells (f' is taken at max(v, 1e-300) there)
    m = rng.uniform(0.1, 1.0, shape) / n
    rho = rng.uniform(0.05, 2.0, shape)
    coeffs = operators.face_coefficients(rho, [0.1] * len(shape), periodic)
    d = get_divergence(divergence)
    got = diagnostics.state_diagnostics(v, m, coeffs, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = diagnostics._state_diagnostics_numpy(v, m, coeffs, d)
    assert set(got) == set(diagnostics.DIAGNOSTIC_NAMES) == set(ref)
    for key in got:  # the same sums in another order: round-off of ~n terms
        assert got[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-300), key
    assert np.isfinite(got["dissipation"]) and got["grad_v_norm2"] > 0


def test_the_sums_are_compensated_to_a_few_ulps_over_a_million_cells(rng):
    """The history's mass is there to show conservation to round-off: against the exactly rounded sum
    (math.fsum) the compiled mass is off by a few ulps, where a plain running sum over 10^6 cells
    is off by about sqrt(n) eps (measured 3e-13 in the 1024^2 benchmark's mass)."""
    import math

    shape = (1000, 1000)
    v = rng.uniform(0.5, 1.5, shape)
    m = rng.uniform(0.0, 2.0, shape) / v.size
    coeffs = operators.face_coefficients(rng.uniform(0.5, 2.0, shape), [0.01, 0.01])
    d = get_divergence("jsd")
    got = diagnostics.state_diagnostics(v, m, coeffs, d)
    exact_mass = math.fsum((m * v).ravel())
    exact_l1 = math.fsum((m * np.abs(v - 1.0)).ravel())
    assert abs(got["mass"] - exact_mass) <= 4 * np.finfo(float).eps * exact_mass
    assert abs(got["l1"] - exact_l1) <= 4 * np.finfo(float).eps * exact_l1
