"""The discrete resolvent (I + hA)^{-1}: one backward-Euler step solved by Newton on the convex energy."""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import operators
from fokkerplanck.flow.resolvent import Resolvent


def _problem(shape, rng, divergence="jsd"):
    lower, upper = [-4.0] * len(shape), [4.0] * len(shape)
    grid = fp.Grid(lower, upper, shape)
    target = fp.Gaussian(np.zeros(len(shape)), np.eye(len(shape)))
    initial = np.exp(rng.normal(size=shape)) * (rng.uniform(size=shape) < 0.7)  # rough, with zeros
    return fp.setup(target, initial, grid, divergence)


def _step_residual(p, v_old, v_new, h):
    w = p.divergence.phi(v_new)
    return p.cell_mass * (v_new - v_old) + h * operators.apply_laplacian(p.coeffs, w)


@pytest.mark.parametrize("divergence", ["jsd", "kl"])
@pytest.mark.parametrize("h", [1e-3, 1.0, 1e4])
def test_banded_kernel_solves_the_step_equation_from_any_start(divergence, h, rng):
    p = _problem((60,), rng, divergence)
    R = Resolvent(p.divergence, p.coeffs, p.cell_mass)
    assert R.linear_solver == "banded"
    for w0 in (None, rng.normal(scale=3.0, size=60)):  # a far-away start must converge too
        r = R(p.v0, h, w0=w0)
        assert r.converged, r.message
        # the step equation M (v - v_old) + h K Phi(v) = 0 holds to round-off
        res = _step_residual(p, p.v0, r.v, h)
        assert np.sum(np.abs(res)) < 1e-10 * max(1.0, h)
        # discrete maximum principle: min v_old <= v <= max v_old
        assert r.v.min() >= -1e-14 and r.v.max() <= p.v0.max() * (1 + 1e-12)


@pytest.mark.parametrize("solver", ["direct", "amg"])
def test_sparse_newton_agrees_with_banded_kernel(solver, rng):
    p = _problem((80,), rng)
    a = Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver="banded")(p.v0, 0.5)
    b = Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver=solver)(p.v0, 0.5)
    assert a.converged and b.converged
    np.testing.assert_allclose(b.v, a.v, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(12, 10), (6, 5, 7)])
def test_multidimensional_step_is_exact_and_conservative(shape, rng):
    p = _problem(shape, rng)
    for solver in ("direct", "amg"):
        r = Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver=solver)(p.v0, 2.0)
        assert r.converged
        res = _step_residual(p, p.v0, r.v, 2.0)
        assert np.sum(np.abs(res)) < 1e-10
        assert abs(np.sum(p.cell_mass * r.v) - 1.0) < 1e-12


def test_kl_step_is_linear_and_needs_one_newton_iteration(rng):
    p = _problem((50,), rng, "kl")
    r = Resolvent(p.divergence, p.coeffs, p.cell_mass)(p.v0, 0.3)
    assert r.newton_iterations <= 2
    K = operators.laplacian_matrix(p.coeffs, (50,)).toarray()
    exact = np.linalg.solve(np.diag(p.cell_mass) + 0.3 * K, p.cell_mass * p.v0)
    np.testing.assert_allclose(r.v, exact, rtol=1e-10, atol=1e-13)


def test_unknown_linear_solver():
    p = fp.setup(fp.Gaussian([0.0, 0.0], np.eye(2)), fp.Gaussian([0.0, 0.0], np.eye(2)), fp.Grid([-3, -3], [3, 3], [5, 5]))
    with pytest.raises(ValueError, match="linear_solver"):
        Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver="magic")
    with pytest.raises(ValueError, match="1-D"):
        Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver="banded")


def test_a_new_divergence_plugs_in_without_touching_the_solver():
    # A user-defined divergence (here KL written again, without a compiled kernel) runs through the
    # generic sparse Newton path and reproduces the built-in one.
    from dataclasses import replace

    from fokkerplanck.flow.divergences import KULLBACK_LEIBLER

    mine = replace(KULLBACK_LEIBLER, name="my-kl", kernels=None)
    grid = fp.Grid([-5.0], [5.0], [120])
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.3]])
    a = fp.solve(target, initial, grid, 0.5, 0.05, divergence="kl")
    b = fp.solve(target, initial, grid, 0.5, 0.05, divergence=mine)
    assert b.options["linear_solver"] == "direct"
    np.testing.assert_allclose(b.u, a.u, rtol=1e-9, atol=1e-14)
    with pytest.raises(ValueError, match="needs a compiled 1-D kernel"):
        fp.solve(target, initial, grid, 0.5, 0.05, divergence=mine, linear_solver="banded")
