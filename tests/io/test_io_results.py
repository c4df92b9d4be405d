"""Results files (:mod:`fokkerplanck.io.results`): exact round trips, particles as an Ensemble,
atomic writes, no unpickling, and files written by earlier versions stay readable."""

import os
from pathlib import Path

import h5py
import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io import load, load_run, read_samples, save, solutions_equal
from fokkerplanck.particles import Ensemble

TARGET = fp.GaussianMixture([0.5, 0.5], [[-1.5], [1.5]], [[[0.4]], [[0.4]]])
INITIAL = fp.Gaussian([0.0], [[1.0]])
DATA = Path(__file__).resolve().parent / "data"


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
    assert isinstance(saved.particles, Ensemble)
    assert np.array_equal(saved.particles.positions, positions)
    assert np.array_equal(saved.particles.t, [0.0, 0.2, 0.5])
    assert saved.particles.velocity == "grid" and saved.particles.n == 50
    assert saved.metadata == {"name": "r", "table": [{"t": 0.0, "jsd": 0.1}]}
    with pytest.raises(ValueError, match="n_snapshots"):
        save(tmp_path / "bad.h5", sol_fixed, particles=dict(t=[0.0], positions=positions))


@pytest.mark.parametrize("velocity", ["grid", "kde"])
def test_an_ensemble_is_saved_and_loaded_whole(tmp_path, sol_fixed, velocity):
    kw = (dict(solution=fp.solve(TARGET, INITIAL, sol_fixed.grid, 0.5, dt=0.05, t_eval="steps"))
          if velocity == "grid" else dict(velocity_options={"bandwidth": 0.3}, grid=sol_fixed.grid))
    ens = fp.particles.simulate(TARGET, INITIAL, 0.5, 40, velocity=velocity, dt=0.05, seed=2,
                                t_eval=[0.0, 0.2, 0.5], **kw)
    back = load_run(save(tmp_path / "e.h5", sol_fixed, particles=ens)).particles
    assert isinstance(back, Ensemble)
    assert np.array_equal(back.t, ens.t) and np.array_equal(back.positions, ens.positions)
    for name in ("velocity", "method", "n", "seed", "dt", "divergence", "sampling", "counters", "status",
                 "message", "grid"):
        assert getattr(back, name) == getattr(ens, name), name
    assert back.grid == sol_fixed.grid and back.success
    assert back.options["velocity_options"] == ens.options["velocity_options"]
    assert back.options["t_eval"] == list(ens.options["t_eval"])
    # a Generator seed is not stored (its state is not kept): loaded as None
    ens = fp.particles.simulate(TARGET, INITIAL, 0.5, 10, velocity="kde", dt=0.05,
                                seed=np.random.default_rng(1), t_eval=[0.0, 0.5])
    assert load_run(save(tmp_path / "g.h5", sol_fixed, particles=ens)).particles.seed is None


def test_a_file_written_by_the_previous_version_is_read(tmp_path):
    # tests/io/data/format1.h5: written by `fokkerplanck run` before the particles were stored as an
    # Ensemble (they were a ParticleSnapshots with the run file's [particles] table as metadata)
    expected = np.load(DATA / "format1_expected.npz")
    saved = load_run(DATA / "format1.h5")
    sol = saved.solution
    assert sol.status == 0 and sol.n_steps == 4 and sol.divergence == "jsd" and sol.grid.shape == (40,)
    assert np.array_equal(sol.t, expected["t"]) and np.array_equal(sol.u, expected["u"])
    assert np.array_equal(sol.rho_d, expected["target"])
    assert saved.run_file.startswith("[grid]") and saved.metadata["name"] == "format1"
    ens = saved.particles
    assert isinstance(ens, Ensemble)
    assert np.array_equal(ens.t, expected["pt"]) and np.array_equal(ens.positions, expected["positions"])
    assert (ens.velocity, ens.method, ens.n, ens.seed, ens.dt, ens.sampling) == ("grid", "rk4", 20, 0, 0.05, "iid")
    assert ens.options["n_snapshots"] == 3  # keys that are not Ensemble fields are kept in options
    # and it is written again, unchanged, in today's layout
    again = load_run(save(tmp_path / "again.h5", sol, particles=ens))
    assert solutions_equal(again.solution, sol) and np.array_equal(again.particles.positions, ens.positions)


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
