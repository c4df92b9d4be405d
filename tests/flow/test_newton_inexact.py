"""The n-D Newton's speed-ups (issue 23): predictor, forcing tied to the tolerance, residual acceptance.

None of them may change the answer beyond the Newton tolerance: each test compares with the
previous algorithm, which the module constants restore (predictor off: start at w^n;
forcing min(1e-2, r); every step through the energy's Armijo test).
"""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow import resolvent as R
from fokkerplanck.flow.stepping import euler
from fokkerplanck.flow.stepping.loop import PHI_PREV_KEY
from fokkerplanck.io import solutions_equal
from fokkerplanck.io.checkpoint import Checkpoint, load_state

from _helpers import StopAfter

OLD = dict(FORCING_SAFETY=0.0, FORCING_SAFETY_L1=0.0, LOCAL_ACCEPT=0.0)


def _ring():
    ang = 2 * np.pi * np.arange(8) / 8
    means = np.r_[np.c_[2.5 * np.cos(ang), 2.5 * np.sin(ang)], [[0.0, 0.0]]]
    covs = np.r_[np.tile(0.09 * np.eye(2), (8, 1, 1)), [4.0 * np.eye(2)]]
    return fp.GaussianMixture(np.r_[np.full(8, 0.95 / 8), 0.05], means, covs)


TARGET, INITIAL = _ring(), fp.Gaussian([0.0, 0.0], 0.25 * np.eye(2))


@pytest.fixture(scope="module")
def grid():
    return fp.Grid([-5.0, -5.0], [5.0, 5.0], [40, 40])


def _old_algorithm(monkeypatch):
    for k, v in OLD.items():
        monkeypatch.setattr(R, k, v)
    monkeypatch.setattr(euler, "PREDICTOR_MAX_CHANGE", 0.0)  # the extrapolation clipped to nothing: w^n


@pytest.mark.parametrize("divergence", ["jsd", "kl"])
def test_new_newton_agrees_with_the_old_and_costs_less(grid, monkeypatch, divergence):
    new = fp.solve(TARGET, INITIAL, grid, 1.0, 0.1, divergence=divergence)
    with monkeypatch.context() as mp:
        _old_algorithm(mp)
        old = fp.solve(TARGET, INITIAL, grid, 1.0, 0.1, divergence=divergence)
    assert new.options["linear_solver"] == old.options["linear_solver"] == "multigrid"
    # both stop at a step residual <= 1e-13 in mass units: the solutions agree to round-off
    # amplified by the step's conditioning (measured 3e-14), far below the discretisation error
    # of this grid (L1 1.4e-2 against the grid refined 2x)
    assert np.abs(new.u - old.u).max() < 1e-11
    assert np.abs(new.history["mass"] - 1).max() < 1e-13
    if divergence == "jsd":  # measured: 105 CG iterations against 139, 31 Newton against 32
        assert new.n_linear <= 0.9 * old.n_linear
        assert new.n_newton <= old.n_newton
    else:  # KL (larger quadratic constant: 3 Newton iterations per step either way): measured 117 against 118
        assert new.n_linear <= 1.05 * old.n_linear


def test_the_predicted_start_gives_the_same_step(grid):
    # the backward-Euler predictor is only Newton's start: from it and from w^n, the same step
    p = fp.setup(TARGET, INITIAL, grid)
    res = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)
    assert not res.compiled_1d
    first = res(p.v0, 0.1)
    far = first.w + 0.5 * np.cos(np.arange(first.w.size)).reshape(first.w.shape)  # a poor start
    plain, from_far = res(first.v, 0.1, w0=first.w), res(first.v, 0.1, w0=far)
    assert plain.converged and from_far.converged
    assert np.abs(plain.v - from_far.v).max() < 1e-11


def test_resume_in_2d_is_bit_identical_with_the_predictor(tmp_path):
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [24, 24])
    kw = dict(dt=0.1, t_eval=[0.0, 0.5, 1.0])
    full = fp.solve(TARGET, INITIAL, grid, 1.0, **kw)
    path = tmp_path / "c.h5"
    ckpt = Checkpoint(path, every_steps=3, every_seconds=float("inf"), fingerprint="r")
    with pytest.raises(KeyboardInterrupt):
        fp.solve(TARGET, INITIAL, grid, 1.0, trackers=[ckpt, StopAfter(7)], **kw)
    state = load_state(path, fingerprint="r")
    assert state.counters["n_steps"] == 6 and PHI_PREV_KEY in state.solver
    resumed = fp.solve(TARGET, INITIAL, grid, 1.0, resume=state, **kw)
    assert solutions_equal(resumed, full)


@pytest.mark.parametrize("solver, norm", [("multigrid", 1), ("direct", 2)])
def test_forcing_ties_the_last_solve_to_the_tolerance(solver, norm):
    p = fp.setup(TARGET, INITIAL, fp.Grid([-5.0, -5.0], [5.0, 5.0], [8, 8]))
    res = R.Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver=solver, tol=1e-13)
    assert res._linear.residual_norm == norm
    assert res.forcing(0.5) == R.FORCING_MAX  # far away: a rough solve
    assert res.forcing(1e-4) == pytest.approx(1e-4)  # quadratic phase: eta = r
    # last iteration: eta r = c tol, not eta = r (1e-9 would solve it 1e4 times too accurately);
    # c = 0.5 when the linear solve tests the Newton residual's own norm (L1), 0.1 for the 2-norm
    c = R.FORCING_SAFETY_L1 if norm == 1 else R.FORCING_SAFETY
    assert c == (0.5 if norm == 1 else 0.1)
    assert res.forcing(1e-9) == pytest.approx(c * 1e-13 / 1e-9)


def test_the_l1_stop_of_multigrid_cg_is_the_newton_residual_it_promises(rng):
    """CG with ``norm=1`` stops at the first iteration whose residual has ``||r||_1 <= rtol ||b||_1``,
    checked against the residual recomputed from the returned ``x``; for the Hessian system the
    new Newton residual is ``h`` times that residual, so the last Newton iteration ends at
    ``FORCING_SAFETY_L1 * tol`` plus Newton's quadratic term."""
    from fokkerplanck.flow import operators

    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [64, 64])
    p = fp.setup(TARGET, INITIAL, grid)
    solver = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)._linear
    h, d = 0.1, (p.cell_mass * rng.uniform(0.5, 2.0, grid.shape)).ravel()
    b = rng.standard_normal(grid.size) * p.cell_mass.ravel()
    H = operators.laplacian_matrix(p.coeffs, grid.shape) * h
    H.setdiag(H.diagonal() + d)
    for rtol in (1e-3, 1e-7):
        x, it = solver.solve_hessian(h, d, b, rtol=rtol)
        assert np.abs(b - H @ x).sum() <= rtol * np.abs(b).sum() * (1 + 1e-9)
        solver.maxiter = it - 1  # one iteration fewer does not meet the test
        with pytest.raises(np.linalg.LinAlgError):
            solver.solve_hessian(h, d, b, rtol=rtol)
        solver.maxiter = 200
