"""fp.GridDensity: cell values as target or initial density, in the API and in run files (issue 21)."""

import os

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io.runfile import RunFileError, read_run_file

MIX = fp.GaussianMixture([0.4, 0.6], [[-2.0], [1.5]], [[[0.36]], [[0.25]]])
INIT = fp.Gaussian([0.5], [[1.0]])


def _grid():
    return fp.Grid([-6.0], [6.0], [240])


def test_array_target_gives_the_same_flow_as_the_mixture():
    grid = _grid()
    values = MIX.pdf(grid.points()).reshape(grid.shape) * 7.0  # scale does not matter
    ref = fp.solve(MIX, INIT, grid, t_final=0.2, dt=0.05)
    arr = fp.solve(fp.GridDensity(grid, values), INIT, grid, t_final=0.2, dt=0.05)
    assert np.allclose(arr.u, ref.u, rtol=1e-12, atol=1e-14)
    assert np.allclose(arr.rho_d, ref.rho_d, rtol=1e-13, atol=0)


def test_array_initial_density():
    grid = _grid()
    values = INIT.pdf(grid.points()).reshape(grid.shape)
    ref = fp.solve(MIX, INIT, grid, t_final=0.1, dt=0.05)
    arr = fp.solve(MIX, fp.GridDensity(grid, values), grid, t_final=0.1, dt=0.05)
    assert np.allclose(arr.u, ref.u, rtol=1e-12, atol=1e-14)


def test_values_are_normalised_and_read_only():
    grid = fp.Grid([0.0], [2.0], [4])
    d = fp.GridDensity(grid, [1, 1, 2, 0])
    assert grid.integrate(d.values) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        d.values[0] = 3.0
    assert d(np.array([[0.1], [1.3], [1.9], [5.0]])).tolist() == pytest.approx([0.5, 1.0, 0, 0])


@pytest.mark.parametrize("values, words", [
    (np.ones(5), r"shape \(5,\)"),
    (np.r_[np.nan, np.ones(3)], "not finite"),
    (np.r_[-1.0, np.ones(3)], "negative"),
    (np.zeros(4), "mass"),
    (np.array(["a"] * 4), "dtype"),
])
def test_bad_values_are_refused(values, words):
    with pytest.raises(ValueError, match=words):
        fp.GridDensity(fp.Grid([0.0], [1.0], [4]), values)


def test_target_zero_on_a_cell_is_refused_by_setup_with_where():
    grid = fp.Grid([0.0], [1.0], [4])
    with pytest.raises(ValueError, match="zero on 1 of 4 cells"):
        fp.setup(fp.GridDensity(grid, [1, 0, 1, 1]), INIT, grid)


def test_grid_density_on_another_grid_is_refused():
    d = fp.GridDensity(fp.Grid([0.0], [1.0], [4]), np.ones(4))
    with pytest.raises(ValueError, match="on its own grid"):
        fp.setup(fp.Gaussian([0.5], [[1.0]]), d, fp.Grid([0.0], [1.0], [8]))


RUN = """
[grid]
lower = [-6.0]
upper = [6.0]
shape = [240]
[target]
kind = "array"
file = "{file}"
[initial]
kind = "gaussian"
mean = [0.5]
cov = 1.0
[flow]
t_final = 0.2
dt = 0.05
save_times = [0.0, 0.2]
"""


def _write_run(tmp_path, fname):
    run = tmp_path / "run.toml"
    run.write_text(RUN.format(file=fname))
    return run


@pytest.mark.parametrize("suffix", [".npy", ".csv"])
def test_run_file_array_target_matches_the_mixture(tmp_path, suffix):
    grid = _grid()
    values = MIX.pdf(grid.points())
    if suffix == ".npy":
        np.save(tmp_path / "values.npy", values)
    else:
        np.savetxt(tmp_path / "values.csv", values, fmt="%.17g")
    spec = read_run_file(_write_run(tmp_path, "values" + suffix))
    assert isinstance(spec.target, fp.GridDensity)
    ref = fp.solve(MIX, INIT, grid, t_final=0.2, dt=0.05, t_eval=[0.0, 0.2])
    sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, **spec.solve_options)
    assert np.allclose(sol.u, ref.u, rtol=1e-12, atol=1e-14)


def test_run_file_fingerprint_covers_the_values(tmp_path):
    grid = _grid()
    np.save(tmp_path / "values.npy", MIX.pdf(grid.points()))
    run = _write_run(tmp_path, "values.npy")
    first = read_run_file(run).fingerprint
    np.save(tmp_path / "values.npy", MIX.pdf(grid.points()) + 1e-3)
    assert read_run_file(run).fingerprint != first


@pytest.mark.parametrize("make, words", [
    (lambda p: np.save(p / "values.npy", np.ones(7)), "shape (7,)"),
    (lambda p: np.save(p / "values.npy", np.r_[np.nan, np.ones(239)]), "not finite"),
    (lambda p: np.save(p / "values.npy", np.r_[-1.0, np.ones(239)]), "negative"),
    (lambda p: (p / "values.npy").mkdir(), "directory"),
    (lambda p: None, "not found"),
])
def test_run_file_bad_values_are_refused_in_one_line(tmp_path, make, words):
    make(tmp_path)
    with pytest.raises(RunFileError) as info:
        read_run_file(_write_run(tmp_path, "values.npy"))
    msg = str(info.value)
    assert "\n" not in msg and "values.npy" in msg and words in msg and "[target]" in msg


def test_run_file_values_fifo_is_refused(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    os.mkfifo(tmp_path / "values.npy")
    with pytest.raises(RunFileError, match="not a regular file"):
        read_run_file(_write_run(tmp_path, "values.npy"))
