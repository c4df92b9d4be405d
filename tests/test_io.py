"""Saved results (HDF5) and checkpoints: exact round trips, atomic writes, no unpickling, exact resume."""

import os

import h5py
import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io.checkpoint import Checkpoint, load_state, save_state
from fokkerplanck.io import load, load_run, read_samples, save, solutions_equal

TARGET = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
INITIAL = fp.Gaussian([0.0], [[1.0]])


@pytest.fixture(scope="module")
def grid1():
    return fp.Grid([-6.0], [6.0], [120])


@pytest.fixture(scope="module")
def sol_fixed(grid1):
    return fp.solve(TARGET, INITIAL, grid1, 0.5, dt=0.05, t_eval=[0.0, 0.2, 0.5])


@pytest.fixture(scope="module")
def sol_2d():
    grid = fp.Grid([-4.0, -4.0], [4.0, 4.0], [20, 24])
    target = fp.Gaussian([0.0, 0.0], [[1.0, 0.2], [0.2, 0.8]])
    initial = fp.Gaussian([0.5, -0.3], [[0.5, 0.0], [0.0, 0.5]])
    return fp.solve(target, initial, grid, 0.3, dt="adaptive", t_eval=[0.0, 0.1, 0.3])


def test_round_trip_is_exact(tmp_path, sol_fixed, sol_2d):
    for i, sol in enumerate((sol_fixed, sol_2d)):
        path = save(tmp_path / f"s{i}.h5", sol)
        back = load(path)
        assert solutions_equal(back, sol)
        assert back.grid == sol.grid and back.grid.shape == sol.grid.shape
        for key, values in sol.history.items():  # dtypes survive (int counters stay ints)
            assert back.history[key].dtype == np.asarray(values).dtype
        assert back.options == sol.options
        assert back.target_mass_outside == sol.target_mass_outside
    # solutions_equal is not trivially true: one changed bit is noticed
    other = load(tmp_path / "s0.h5")
    other.u[1, 5] = np.nextafter(other.u[1, 5], 1.0)
    assert not solutions_equal(other, sol_fixed)
    other = load(tmp_path / "s0.h5")
    other.history["jsd"] = other.history["jsd"].copy()
    other.history["jsd"][-1] *= 1 + 1e-15
    assert not solutions_equal(other, sol_fixed)


def test_run_file_version_particles_and_metadata(tmp_path, sol_fixed, rng):
    positions = rng.normal(size=(3, 50, 1))
    text = "[grid]\nlower = [-6.0]  # comment, unicode: \u03c1_d\n"
    path = save(tmp_path / "r.h5", sol_fixed, run_file=text,
                particles=dict(t=[0.0, 0.2, 0.5], positions=positions, metadata={"velocity": "grid", "n": 50}),
                metadata={"name": "r", "table": [{"t": 0.0, "jsd": 0.1}]})
    saved = load_run(path)
    assert saved.run_file == text
    assert saved.version == fp.__version__
    assert np.array_equal(saved.particles.positions, positions)
    assert np.array_equal(saved.particles.t, [0.0, 0.2, 0.5])
    assert saved.particles.metadata == {"velocity": "grid", "n": 50}
    assert saved.metadata == {"name": "r", "table": [{"t": 0.0, "jsd": 0.1}]}
    with pytest.raises(ValueError, match="n_snapshots"):
        save(tmp_path / "bad.h5", sol_fixed, particles=dict(t=[0.0], positions=positions))


def test_write_is_atomic(tmp_path, sol_fixed):
    path = save(tmp_path / "a.h5", sol_fixed)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="cannot store"):
        save(path, sol_fixed, metadata={"oops": object()})  # fails inside the write
    assert path.read_bytes() == before  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.h5"]  # and no temporary file is left
    # permissions follow the umask like any other file (mkstemp alone would give 0600)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_loading_rejects_foreign_and_non_numeric_files(tmp_path, sol_fixed):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.h5")
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(ValueError, match="not a fokkerplanck results file"):
        load(tmp_path / "other.h5")
    # a results file whose densities were replaced by strings: refused, nothing is deserialised
    path = save(tmp_path / "ok.h5", sol_fixed)
    with h5py.File(path, "r+") as f:
        del f["solution/u"]
        f.create_dataset("solution/u", data=np.array([b"x"] * 3), dtype=h5py.string_dtype())
    with pytest.raises(ValueError, match="non-numeric"):
        load(path)


def test_read_samples(tmp_path, rng):
    x = rng.normal(size=(40, 2))
    np.savetxt(tmp_path / "s.csv", x, delimiter=",", header="x,y", comments="")
    np.save(tmp_path / "s.npy", x)
    assert np.allclose(read_samples(tmp_path / "s.csv"), x, rtol=0, atol=1e-15)
    assert np.array_equal(read_samples(tmp_path / "s.npy"), x)
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="npy"):  # would need unpickling: refused
        read_samples(tmp_path / "obj.npy")
    (tmp_path / "bad.csv").write_text("1,2\n3,oops\n")
    with pytest.raises(ValueError, match="comma-separated"):
        read_samples(tmp_path / "bad.csv")
    with pytest.raises(FileNotFoundError):
        read_samples(tmp_path / "none.csv")


class _StopAfter(fp.Tracker):
    """Simulates an interruption (Ctrl-C) after a given number of accepted steps."""

    def __init__(self, n):
        self.n, self.steps = n, 0

    def update(self, t, v, record):
        self.steps += 1
        if self.steps >= self.n:
            raise KeyboardInterrupt


@pytest.mark.parametrize("dt", [0.05, "adaptive"])
def test_resume_after_interruption_is_identical(tmp_path, grid1, dt):
    kw = dict(dt=dt, t_eval=[0.0, 0.3, 1.0, 2.0])
    full = fp.solve(TARGET, INITIAL, grid1, 2.0, **kw)
    path = tmp_path / "c.h5"
    ckpt = Checkpoint(path, every_steps=4, every_seconds=float("inf"), fingerprint="run-1")
    with pytest.raises(KeyboardInterrupt):
        fp.solve(TARGET, INITIAL, grid1, 2.0, trackers=[ckpt, _StopAfter(11)], **kw)
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
