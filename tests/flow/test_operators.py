import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import operators


@pytest.mark.parametrize("shape", [(7,), (5, 4), (3, 4, 5)])
def test_laplacian_is_a_symmetric_m_matrix_with_constants_in_its_kernel(shape, rng):
    rho = np.exp(rng.normal(size=shape))
    spacing = rng.uniform(0.5, 2.0, size=len(shape))
    coeffs = operators.face_coefficients(rho, spacing)
    K = operators.laplacian_matrix(coeffs, shape).toarray()
    np.testing.assert_allclose(K, K.T, rtol=0, atol=1e-15 * np.abs(K).max())
    np.testing.assert_allclose(K @ np.ones(K.shape[0]), 0, atol=1e-13 * np.abs(K).max())
    off = K - np.diag(np.diag(K))
    assert np.all(off <= 0)
    assert np.all(np.linalg.eigvalsh(K) > -1e-12 * np.abs(K).max())
    w = rng.normal(size=shape)
    np.testing.assert_allclose(operators.apply_laplacian(coeffs, w).ravel(), K @ w.ravel(), rtol=1e-12, atol=1e-12)
    b = rng.normal(size=shape)
    assert operators.dirichlet_form(coeffs, w, b) == pytest.approx(w.ravel() @ K @ b.ravel(), rel=1e-12)


def test_scharfetter_gummel_weight_is_exact_for_exponential_rho():
    # For rho = exp(c x) and v' = -J / rho with constant flux J, v_i - v_j = J/(c) (e^{-c x_j} - e^{-c x_i});
    # the face weight must reproduce J exactly: J = rho_f (v_i - v_j) / dx.
    c, dx = 3.0, 0.4
    x = np.array([0.0, dx])
    rho = np.exp(c * x)
    J = 1.7
    v = -J / c * (-np.exp(-c * x))  # antiderivative of -J/rho is J e^{-cx}/c
    v_i, v_j = J * np.exp(-c * x[0]) / c, J * np.exp(-c * x[1]) / c
    rho_f = operators.sg_face_weights(rho, 0)[0]
    assert rho_f * (v_i - v_j) / dx == pytest.approx(J, rel=1e-13)
    assert v.shape == (2,)
    # and it lies between the harmonic and geometric means
    assert 2 / (1 / rho[0] + 1 / rho[1]) <= rho_f <= np.sqrt(rho[0] * rho[1])


def test_sg_weight_continuous_at_equal_values():
    rho = np.array([2.0, 2.0 * (1 + 1e-10), 2.0])
    f = operators.sg_face_weights(rho, 0)
    np.testing.assert_allclose(f, 2.0, rtol=1e-9)


def test_tridiagonal_matches_matrix(rng):
    rho = np.exp(rng.normal(size=9))
    coeffs = operators.face_coefficients(rho, [0.3])
    K = operators.laplacian_matrix(coeffs, (9,)).toarray()
    d, off = operators.tridiagonal(coeffs)
    np.testing.assert_allclose(d, np.diag(K))
    np.testing.assert_allclose(off, np.diag(K, 1))
