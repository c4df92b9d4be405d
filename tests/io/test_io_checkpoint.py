"""Checkpoints (:mod:`fokkerplanck.io.checkpoint`): exact resume, round trip, arguments, old files."""

from pathlib import Path

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io import solutions_equal
from fokkerplanck.io.checkpoint import Checkpoint, load_state, save_state

from _helpers import StopAfter

TARGET = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
INITIAL = fp.Gaussian([0.0], [[1.0]])
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def grid1():
    return fp.Grid([-6.0], [6.0], [120])


@pytest.mark.parametrize("dt", [0.05, "adaptive"])
def test_resume_after_interruption_is_identical(tmp_path, grid1, dt):
    kw = dict(dt=dt, t_eval=[0.0, 0.3, 1.0, 2.0])
    full = fp.solve(TARGET, INITIAL, grid1, 2.0, **kw)
    path = tmp_path / "c.h5"
    ckpt = Checkpoint(path, every_steps=4, every_seconds=float("inf"), fingerprint="run-1")
    with pytest.raises(KeyboardInterrupt):
        fp.solve(TARGET, INITIAL, grid1, 2.0, trackers=[ckpt, StopAfter(11)], **kw)
    assert ckpt.n_written == 2 and path.exists()  # after steps 4 and 8; the run stopped at step 11
    state = load_state(path, fingerprint="run-1")
    assert state.counters["n_steps"] == 8 and 0 < state.t < 2.0
    resumed = fp.solve(TARGET, INITIAL, grid1, 2.0, resume=state, **kw)
    assert solutions_equal(resumed, full)  # bit for bit, history and counters included
    with pytest.raises(ValueError, match="different run"):
        load_state(path, fingerprint="run-2")


def test_checkpoint_round_trip_and_arguments(tmp_path, grid1):
    states = []

    class Keep(fp.Tracker):
        wants_state = True

        def update_state(self, st):
            states.append(st)

    fp.solve(TARGET, INITIAL, grid1, 0.3, dt="adaptive", trackers=[Keep()])
    st = states[-1]
    save_state(tmp_path / "s.h5", st)
    back = load_state(tmp_path / "s.h5")
    for name in ("t", "h_prev", "h_next", "mark_index", "counters", "saved_t"):
        assert getattr(back, name) == getattr(st, name)
    for name in ("v", "phi", "v_prev"):
        assert np.array_equal(getattr(back, name), getattr(st, name))
    assert all(np.array_equal(a, b) for a, b in zip(back.saved_v, st.saved_v))
    assert back.history == st.history
    with pytest.raises(ValueError, match="every_steps"):
        Checkpoint(tmp_path / "x.h5", every_steps=0)
    with pytest.raises(ValueError, match="every_seconds"):
        Checkpoint(tmp_path / "x.h5", every_seconds=-1)

    with pytest.raises(ValueError, match="every_steps"):
        Checkpoint(tmp_path / "x.h5", every_steps=1.5)


def test_a_checkpoint_written_by_the_previous_version_resumes(tmp_path):
    # tests/io/data/checkpoint1.h5: the state after step 4 of this run, written before the reshaping
    grid = fp.Grid([-4.0], [4.0], [40])
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
    with pytest.raises(ValueError, match="different run"):
        load_state(DATA / "checkpoint1.h5", fingerprint="other")
    state = load_state(DATA / "checkpoint1.h5", fingerprint="abc")
    assert state.counters["n_steps"] == 4
    full = fp.solve(target, initial, grid, 0.2, dt=0.05)
    resumed = fp.solve(target, initial, grid, 0.2, dt=0.05, resume=state)
    # the file was computed by the Newton kernel of its day, so agreement with today's kernel is to
    # round-off (the Newton tolerance is 1e-13 in mass), not bit for bit
    assert resumed.n_steps == full.n_steps == 4
    assert np.allclose(resumed.u, full.u, rtol=0, atol=1e-13)
    assert list(resumed.history) == list(full.history)


def test_checkpoints_are_written_atomically(tmp_path, grid1):
    path = tmp_path / "c.h5"
    fp.solve(TARGET, INITIAL, grid1, 0.2, dt=0.05, trackers=[Checkpoint(path, every_steps=1)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.h5"]  # no temporary file left behind
    with pytest.raises(ValueError, match="not a fokkerplanck checkpoint"):
        load_state(fp.io.save(tmp_path / "r.h5", fp.solve(TARGET, INITIAL, grid1, 0.1, dt=0.05)))
    with pytest.raises(FileNotFoundError):
        load_state(tmp_path / "missing.h5")
