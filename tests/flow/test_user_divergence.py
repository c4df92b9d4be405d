"""A divergence of the user's own from f alone (divergences.divergence_from_f).

Exactness: with the same Newton variable and the same closed forms, the user path runs the same
Newton iteration as the built-in one on the sparse path; against the compiled 1-D kernel both stop
at a Newton residual <= 1e-13 (units of mass), so the solutions agree to ~1e-13 relative.
From f alone, f'' comes from differences (relative error ~1e-6 from f, ~1e-9 from f'), so the
solution differs from the built-in one by that relative change of the nonlinearity, no more.
"""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow.divergences import (PEARSON_CHI2, SQUARED_HELLINGER, divergence_from_f, get_divergence,
                                           register)

@pytest.fixture(autouse=True)
def _restore_registry():
    """Names registered by a test must not leak into the error messages other tests check."""
    from fokkerplanck.flow.divergences import DIVERGENCES
    with DIVERGENCES.restored():
        yield


GRID = fp.Grid([-5.0], [5.0], [120])
TARGET, INITIAL = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.3]])


def _solve(div, **kw):
    return fp.solve(TARGET, INITIAL, GRID, 0.5, 0.05, divergence=div, **kw)


@pytest.mark.parametrize("builtin", [PEARSON_CHI2, SQUARED_HELLINGER])
def test_closed_forms_reproduce_the_builtin_to_round_off(builtin):
    mine = divergence_from_f("mine-" + builtin.name, builtin.f, f_prime=builtin.f_prime, phi=builtin.phi,
                             phi_prime=builtin.phi_prime, phi_inv=builtin.phi_inv,
                             phi_inv_prime=builtin.phi_inv_prime,
                             phi_inv_antiderivative=builtin.phi_inv_antiderivative, w_lower=builtin.w_lower)
    assert mine.variable == builtin.variable and mine.kernels is None
    a = _solve(builtin, linear_solver="direct")
    b = _solve(mine)
    np.testing.assert_allclose(b.u, a.u, rtol=1e-13, atol=1e-15)  # same iteration: round-off
    c = _solve(builtin)  # compiled kernel
    np.testing.assert_allclose(b.u, c.u, rtol=1e-11, atol=1e-13)


@pytest.mark.parametrize("name, f, f_prime, tol", [
    ("chi2", lambda x: (x - 1) ** 2, None, 1e-5),
    ("hellinger", lambda x: (np.sqrt(x) - 1) ** 2, lambda x: 1 - 1 / np.sqrt(x), 1e-7),
    ("kl", lambda x: x * np.log(x) - x + 1, np.log, 1e-7),
])
def test_from_f_alone_matches_the_builtin(name, f, f_prime, tol):
    mine = divergence_from_f("f-only-" + name, f, f_prime=f_prime)
    builtin = get_divergence(name)
    assert mine.variable == builtin.variable
    assert mine.phi_prime_at_one == pytest.approx(builtin.phi_prime_at_one, rel=1e-6)
    a, b = _solve(builtin), _solve(mine)
    assert np.max(np.abs(b.u - a.u)) <= tol * np.max(a.u)
    assert abs(b.history["mass"][-1] - 1) < 1e-12


def test_reverse_kl_example_solves_and_is_registered():
    rkl = divergence_from_f("reverse-kl-test", lambda x: x - 1 - np.log(x), f_second=lambda x: 1 / x ** 2,
                            register_as=("rkl-test",))
    v = np.array([0.01, 0.5, 2.0, 50.0])
    np.testing.assert_allclose(rkl.phi(v), np.log(v), atol=1e-13)            # Phi = ln v
    np.testing.assert_allclose(rkl.phi_inv(np.log(v)), v, rtol=1e-13)
    np.testing.assert_allclose(rkl.phi_inv_antiderivative(np.log(v)), v - 1, atol=1e-12)  # F = e^w - 1
    assert rkl.w_lower == -np.inf and rkl.variable == "w"
    s = fp.solve(TARGET, INITIAL, GRID, 2.0, 0.1, divergence="rkl-test")
    h = s.history
    assert np.all(np.diff(h["energy"]) < 0) and np.all(s.u > 0)
    assert abs(h["mass"][-1] - 1) < 1e-12


def test_bad_user_input_is_reported_before_work():
    with pytest.raises(ValueError, match="f\\(1\\) = 0"):
        divergence_from_f("bad", lambda x: x ** 2)
    with pytest.raises(ValueError, match="strictly convex"):
        divergence_from_f("concave", lambda x: -np.log(x) * 0 - (x - 1) ** 2)
    with pytest.raises(ValueError, match="all of phi"):
        divergence_from_f("half", lambda x: (x - 1) ** 2, phi=lambda v: v * v)
    with pytest.raises(ValueError, match="callable"):
        divergence_from_f("nf", 3.0)
    with pytest.raises(ValueError, match="variable"):
        divergence_from_f("nv", lambda x: (x - 1) ** 2, variable="u")


def test_register_makes_a_name_available():
    # 2 (1 + x) - 4 sqrt(x) = 2 (sqrt x - 1)^2: twice squared Hellinger, so Phi'(1) = 1
    d = divergence_from_f("twice-hellinger-test", lambda x: 2 * (1 + x) - 4 * np.sqrt(x), register_as=True)
    assert "twice-hellinger-test" in fp.available_divergences()
    assert d.phi_prime_at_one == pytest.approx(1.0, rel=1e-6)
    register(d, "twice-hellinger-alias")
    assert fp.get_divergence("twice-hellinger-alias") is d
