"""The n-D Newton's speed-ups (issue 23): predictor, forcing tied to the tolerance, residual acceptance.

None of them may change the answer beyond the Newton tolerance: each test compares with the
previous algorithm, which the module constants restore (predictor off: start at Phi(v_old);
forcing min(1e-2, r); every step through the energy's Armijo test).
"""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow import resolvent as R
from fokkerplanck.io import solutions_equal
from fokkerplanck.io.checkpoint import Checkpoint, load_state

OLD = dict(PREDICTOR_MAX_RATIO=0.0, FORCING_SAFETY=0.0, LOCAL_ACCEPT=0.0)


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


def test_predictor_runs_only_on_the_continuation_of_the_last_step(grid):
    p = fp.setup(TARGET, INITIAL, grid)
    res = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)
    first = res(p.v0, 0.1)
    assert first.converged and not first.predicted
    second = res(first.v, 0.1)
    assert second.converged and second.predicted
    # another v_old (a BDF2 combination, a rejected step's retry): no extrapolation
    other = res(0.5 * (first.v + second.v), 0.1)
    assert other.converged and not other.predicted
    # the predicted step is the same step as from the plain start
    plain = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)(first.v, 0.1)
    assert not plain.predicted
    assert np.abs(second.v - plain.v).max() < 1e-11


def test_predictor_state_round_trip_and_malformed_state(grid):
    p = fp.setup(TARGET, INITIAL, grid)
    a = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)
    v1 = a(p.v0, 0.1).v
    state = a.get_state()
    assert set(R.PREDICTOR_KEYS) <= set(state)
    b = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)
    b.set_state(state)
    ra, rb = a(v1, 0.05), b(v1, 0.05)
    assert ra.predicted and rb.predicted
    np.testing.assert_array_equal(ra.v, rb.v)
    b.set_state({})  # drops the predictor: the continuation starts plain
    assert not b(rb.v, 0.05).predicted
    c = R.Resolvent(p.divergence, p.coeffs, p.cell_mass)
    c.set_state({})
    assert not c(v1, 0.05).predicted
    bad = dict(state, predictor_h=np.asarray([-1.0]))
    with pytest.raises(ValueError, match="predictor state is malformed"):
        c.set_state(bad)
    with pytest.raises(ValueError, match="predictor state is malformed"):
        c.set_state(dict(state, predictor_ds=np.zeros(3)))


class _StopAfter(fp.Tracker):
    def __init__(self, n):
        self.n, self.steps = n, 0

    def update(self, t, v, record):
        self.steps += 1
        if self.steps >= self.n:
            raise KeyboardInterrupt


def test_resume_in_2d_is_bit_identical_with_the_predictor(tmp_path):
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [24, 24])
    kw = dict(dt=0.1, t_eval=[0.0, 0.5, 1.0])
    full = fp.solve(TARGET, INITIAL, grid, 1.0, **kw)
    path = tmp_path / "c.h5"
    ckpt = Checkpoint(path, every_steps=3, every_seconds=float("inf"), fingerprint="r")
    with pytest.raises(KeyboardInterrupt):
        fp.solve(TARGET, INITIAL, grid, 1.0, trackers=[ckpt, _StopAfter(7)], **kw)
    state = load_state(path, fingerprint="r")
    assert state.counters["n_steps"] == 6 and set(R.PREDICTOR_KEYS) <= set(state.solver)
    resumed = fp.solve(TARGET, INITIAL, grid, 1.0, resume=state, **kw)
    assert solutions_equal(resumed, full)


def test_forcing_ties_the_last_solve_to_the_tolerance():
    p = fp.setup(TARGET, INITIAL, fp.Grid([-5.0, -5.0], [5.0, 5.0], [8, 8]))
    res = R.Resolvent(p.divergence, p.coeffs, p.cell_mass, tol=1e-13)
    assert res.forcing(0.5) == R.FORCING_MAX  # far away: a rough solve
    assert res.forcing(1e-4) == pytest.approx(1e-4)  # quadratic phase: eta = r
    # last iteration: eta r = 0.1 tol, not eta = r (1e-9 would solve it 1e4 times too accurately)
    assert res.forcing(1e-9) == pytest.approx(R.FORCING_SAFETY * 1e-13 / 1e-9)
