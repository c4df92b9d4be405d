"""The compiled step residual of the resolvent equals the numpy one to round-off (2-D, 3-D; walls, periodic)."""

from __future__ import annotations

import numpy as np
import pytest

from fokkerplanck import operators
from fokkerplanck.flow.divergences import get_divergence
from fokkerplanck.flow.resolvent import Resolvent

CASES = [((12, 9), (False, False)), ((12, 9), (True, False)), ((7, 10), (True, True)),
         ((6, 5, 7), (False, False, False)), ((6, 5, 7), (False, True, True)), ((5, 1, 4), (True, True, False))]


@pytest.mark.parametrize("name", ["jsd", "kl", "chi2", "hellinger"])
@pytest.mark.parametrize("shape,periodic", CASES)
def test_compiled_residual_is_the_numpy_one(name, shape, periodic):
    rng = np.random.default_rng(len(shape) + 3 * sum(periodic))
    rho = np.exp(rng.normal(0, 4, size=shape))  # a target density over many decades
    spacing = rng.uniform(0.05, 0.3, size=len(shape))
    coeffs = operators.face_coefficients(rho, spacing, periodic)
    d = get_divergence(name)
    R = Resolvent(d, coeffs, rho * np.prod(spacing), linear_solver="direct")
    v_old = rng.random(shape) * 3.0
    s = d.s_from_w(d.phi(rng.random(shape) * 3.0 + 1e-3))  # chi2 iterates on v, the others on w
    h = 0.37
    g, state, l1 = R._gradient(s, v_old, h)
    g_ref, state_ref = R._gradient_numpy(s, v_old, h)
    for a, b in zip(state, state_ref):
        np.testing.assert_array_equal(a, b)
    # the terms' magnitude per cell, sum_j k_ij (|w_i| + |w_j|) and m (|v| + |v_old|): the scale of the round-off
    aw = np.abs(state[1])
    a = operators.laplacian_matrix(coeffs, shape).diagonal().reshape(shape)
    scale = rho * np.prod(spacing) * (np.abs(state[0]) + np.abs(v_old)) + h * (
        2.0 * a * aw - operators.apply_laplacian(coeffs, aw))
    assert np.all(np.abs(g - g_ref) <= 1e-14 * scale)
    assert np.abs(g_ref).max() > 1e3 * 1e-14 * scale.max()  # a non-trivial residual
    assert l1 == pytest.approx(float(np.sum(np.abs(g_ref))), rel=1e-13)


def test_jsd_state_in_one_pass_is_phi_inv_and_its_derivative():
    d = get_divergence("jsd")
    w = np.concatenate([np.linspace(-40.0, 10.0, 4996), [-0.5, -0.5 + 1e-12, 0.0, 1e-9, 1e-300]]).reshape(-1, 3)
    v, dv = d.phi_inv_and_prime(w)
    np.testing.assert_allclose(v, d.phi_inv(w), rtol=4e-16, atol=0)
    np.testing.assert_allclose(dv, d.phi_inv_prime(w), rtol=4e-16, atol=0)
    assert v.shape == dv.shape == w.shape
