"""Each registered divergence is a consistent f-divergence (docs/mathematics.md, section 2).

The checks are identities, so the tolerances are those of central finite differences with step
1e-5 (truncation ~1e-10 relative, round-off ~1e-11 / 1e-5): 1e-6 relative.
"""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.divergences import get_divergence

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
    fd = (div.phi_inv(w + H) - div.phi_inv(w - H)) / (2 * H)
    assert np.allclose(div.phi_inv_prime(w), fd, rtol=1e-6)
    fd_anti = (div.phi_inv_antiderivative(w + H) - div.phi_inv_antiderivative(w - H)) / (2 * H)
    assert np.allclose(fd_anti, V, rtol=1e-6)


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
