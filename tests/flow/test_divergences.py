"""Each registered divergence is a consistent f-divergence (docs/mathematics.md, section 2).

The checks are identities, so the tolerances are those of central finite differences with step
1e-5 (relative to the argument where a function is singular at 0, as sqrt for chi^2: truncation
~1e-10 relative, round-off ~1e-11 / 1e-5): 1e-6 relative.
"""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow.divergences import get_divergence

V = np.array([0.05, 0.3, 0.9, 1.0, 1.7, 4.0, 20.0])
H = 1e-5


@pytest.fixture(params=fp.available_divergences())
def div(request):
    return get_divergence(request.param)


def test_generator_is_normalised_and_convex(div):
    assert float(div.f(np.array([1.0]))[0]) == pytest.approx(0.0, abs=1e-15)
    second = (div.f(V + H) - 2 * div.f(V) + div.f(V - H)) / H ** 2
    assert np.all(second > 0)


def test_f_prime_is_the_derivative_of_f(div):
    fd = (div.f(V + H) - div.f(V - H)) / (2 * H)
    assert np.allclose(div.f_prime(V), fd, rtol=1e-6, atol=1e-9)


def test_phi_prime_is_v_times_f_second(div):
    phi_prime = (div.phi(V + H) - div.phi(V - H)) / (2 * H)
    f_second = (div.f_prime(V + H) - div.f_prime(V - H)) / (2 * H)
    assert np.allclose(phi_prime, V * f_second, rtol=1e-6)
    one = np.array([1.0])
    assert (div.phi(one + H) - div.phi(one - H))[0] / (2 * H) == pytest.approx(div.phi_prime_at_one, rel=1e-6)


def test_phi_inverse_derivative_and_antiderivative(div):
    w = div.phi(V)
    assert np.allclose(div.phi_inv(w), V, rtol=1e-12)
    e = H * np.maximum(np.abs(w), 1e-3)
    fd = (div.phi_inv(w + e) - div.phi_inv(w - e)) / (2 * e)
    assert np.allclose(div.phi_inv_prime(w), fd, rtol=1e-6)
    fd_anti = (div.phi_inv_antiderivative(w + e) - div.phi_inv_antiderivative(w - e)) / (2 * e)
    assert np.allclose(fd_anti, V, rtol=1e-6)


def test_phi_prime_and_newton_variable_are_consistent(div):
    assert np.allclose(div.phi_prime(V), 1.0 / div.phi_inv_prime(div.phi(V)), rtol=1e-12)
    s = div.s_from_w(div.phi(V))
    v, w, dv, dw = div.s_state(s)
    assert np.allclose(v, V, rtol=1e-12) and np.allclose(w, div.phi(V), rtol=1e-12)
    # chain rule: dv/ds = (Phi^{-1})'(w) dw/ds
    assert np.allclose(dv, div.phi_inv_prime(w) * dw, rtol=1e-12)


@pytest.mark.parametrize("name, phi_prime_at_one, variable", [("chi2", 2.0, "v"), ("hellinger", 0.5, "w")])
def test_new_divergences_as_in_the_issue(name, phi_prime_at_one, variable):
    div = get_divergence(name)
    assert div.phi_prime_at_one == phi_prime_at_one and div.variable == variable
    x = np.array([0.0, 0.25, 4.0])
    expected = (x - 1) ** 2 if name == "chi2" else (np.sqrt(x) - 1) ** 2
    np.testing.assert_allclose(div.f(x), expected, rtol=1e-15)


def test_compiled_state_matches_the_numpy_functions():
    for div in (get_divergence(n) for n in ("jsd", "kl", "chi2", "hellinger")):
        for s in div.s_from_w(div.phi(V)):
            v, w, dv, dw, F = div.kernels.state(s)
            ref = div.s_state(np.array([s]))
            assert np.allclose([v, w, dv, dw], [r[0] for r in ref], rtol=1e-13)
            assert F == pytest.approx(float(div.phi_inv_antiderivative(np.array([w]))[0]), rel=1e-13)


def test_value_is_zero_at_the_target_and_positive_elsewhere(div):
    m = np.full(4, 0.25)
    assert div.value(np.ones(4), m) == pytest.approx(0.0, abs=1e-15)
    assert div.value(np.array([0.5, 1.5, 0.5, 1.5]), m) > 0


def test_names_and_unknown_divergence():
    assert get_divergence("JS").name == "jsd"
    with pytest.raises(ValueError, match="unknown divergence 'nope'; known divergences"):
        get_divergence("nope")


def test_jsd_function_is_bounded_by_ln2():
    u = np.array([1.0, 0.0])
    rho = np.array([0.0 + 1e-300, 1.0])
    assert fp.divergences.jsd(u, rho, 1.0) == pytest.approx(np.log(2), rel=1e-12)
