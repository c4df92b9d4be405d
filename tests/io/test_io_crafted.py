"""Crafted files (issue 22, items 1, 2, 5, 6, 8): valid checksums, valid structure, bad content.

Every array of a checkpoint and of a results file is checked, not only the iterate: densities
finite, non-negative, float64 or float32; histories finite (the JSD not negative); metadata of the
right types. A Solution holding NaN is refused when saved. Data files must be regular files of a
bounded size; a run file nested hundreds deep and a damaged attribute give one-line errors.
"""

import dataclasses
import os

import h5py
import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io import integrity, load_run, save
from fokkerplanck.io.checkpoint import Checkpoint, CheckpointError, load_state
from fokkerplanck.io.integrity import DamagedFileError
from fokkerplanck.io.runfile import RunFileError, read_run_file
from fokkerplanck.io.toml import TomlError, loads

TARGET, INITIAL = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("crafted")
    grid = fp.Grid([-5.0], [5.0], [40])
    ckpt = Checkpoint(d / "c.h5", every_steps=3)
    sol = fp.solve(TARGET, INITIAL, grid, 0.3, dt=0.05, t_eval=[0.0, 0.1, 0.3], trackers=[ckpt])
    save(d / "r.h5", sol, run_file="[grid]\n")
    return d, sol, grid


def _restamped(src, dst, fn):
    """A copy of ``src`` edited by ``fn`` and given a valid checksum again (a crafted file)."""
    dst.write_bytes(src.read_bytes())
    with h5py.File(dst, "r+") as f:
        fn(f)
        integrity.stamp(f, strings=("run_file",) if "run_file" in f else ())
    return dst


def _refused(error, loader, path, match):
    """``loader(path)`` raises ``error``: one line naming the file and saying what is wrong (not a checksum)."""
    with pytest.raises(error) as info:
        loader(path)
    text = str(info.value)
    assert "\n" not in text and match in text and str(path) in text and "checksum" not in text


def _replace(f, name, data):
    del f[name]
    f.create_dataset(name, data=data)


def _scaled(name, fn):
    return lambda f: _replace(f, name, fn(f[name][()]))


def _nan_at(a, value=np.nan):
    a = np.array(a, dtype=float)
    a.flat[a.size // 2] = value
    return a


CHECKPOINT_CASES = {
    "NaN in a saved frame": (_scaled("saved_v", _nan_at), "saved frame"),
    "negative saved frame": (_scaled("saved_v", lambda a: _nan_at(a, -1.0)), "negative"),
    "int8 saved frames": (_scaled("saved_v", lambda a: a.astype(np.int8)), "dtype int8"),
    "float16 saved frames": (_scaled("saved_v", lambda a: a.astype(np.float16)), "dtype float16"),
    "negative JSD in the history": (_scaled("history/jsd", lambda a: -np.abs(a)), "'jsd'"),
    "NaN in the history": (_scaled("history/energy", _nan_at), "'energy'"),
    "infinite saved time": (_scaled("saved_t", lambda a: _nan_at(a, np.inf)), "saved"),
}


@pytest.mark.parametrize("name", sorted(CHECKPOINT_CASES))
def test_crafted_checkpoints_are_refused(files, tmp_path, name):
    d, _, grid = files
    fn, match = CHECKPOINT_CASES[name]
    _refused(CheckpointError, lambda p: load_state(p, shape=grid.shape),
             _restamped(d / "c.h5", tmp_path / "c.h5", fn), match)


def _meta(**changes):
    def fn(f):
        import json
        meta = json.loads(f["solution"].attrs["metadata"])
        meta.update(changes)
        f["solution"].attrs["metadata"] = json.dumps(meta)
    return fn


RESULTS_CASES = {
    "NaN density": (_scaled("solution/u", _nan_at), "NaN"),
    "negative density": (_scaled("solution/u", lambda a: _nan_at(a, -1.0)), "negative"),
    "bool densities": (_scaled("solution/u", lambda a: a > 0), "dtype bool"),
    "int8 densities": (_scaled("solution/u", lambda a: a.astype(np.int8)), "dtype int8"),
    "float16 target": (_scaled("solution/target", lambda a: a.astype(np.float16)), "dtype float16"),
    "infinite target": (_scaled("solution/target", lambda a: _nan_at(a, np.inf)), "NaN or infinite"),
    "negative JSD": (_scaled("solution/history/jsd", lambda a: a - 1.0), "'jsd'"),
    "NaN mass": (_scaled("solution/history/mass", _nan_at), "'mass'"),
    "divergence 5": (_meta(divergence=5), "divergence = 5"),
    "beta 'x'": (_meta(beta="x"), "beta = 'x'"),
    "status 'ok'": (_meta(status="ok"), "status"),
    "negative n_steps": (_meta(n_steps=-3), "n_steps"),
    "bool n_newton": (_meta(n_newton=True), "n_newton"),
    "message 7": (_meta(message=7), "message"),
}


@pytest.mark.parametrize("name", sorted(RESULTS_CASES))
def test_crafted_results_files_are_refused(files, tmp_path, name):
    d, _, _ = files
    fn, match = RESULTS_CASES[name]
    _refused(DamagedFileError, load_run, _restamped(d / "r.h5", tmp_path / "r.h5", fn), match)


def test_crafted_results_file_is_one_line_exit_2_in_info(files, tmp_path, capsys):
    d, _, _ = files
    path = _restamped(d / "r.h5", tmp_path / "r.h5", _meta(divergence=5, beta="x"))
    assert fp.cli.main(["info", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "divergence = 5" in err and str(path) in err


@pytest.mark.parametrize("field, value", [("u", np.nan), ("u", -1.0), ("rho_d", np.inf), ("t", np.nan)])
def test_a_solution_holding_nan_is_not_saved(files, tmp_path, field, value):
    _, sol, _ = files
    bad = dataclasses.replace(sol, **{field: _nan_at(getattr(sol, field), value)})
    with pytest.raises(ValueError, match="cannot save this solution"):
        save(tmp_path / "bad.h5", bad)
    assert not (tmp_path / "bad.h5").exists()
    history = dict(sol.history, jsd=_nan_at(sol.history["jsd"]))
    with pytest.raises(ValueError, match="'jsd'"):
        save(tmp_path / "bad.h5", dataclasses.replace(sol, history=history))


def _damaged_attribute(src, dst):
    """A copy of ``src`` with one byte of the root's ``format`` attribute message overwritten so that
    reading the attribute raises OSError in HDF5 (the first such byte after the attribute's name)."""
    data = src.read_bytes()
    start = data.find(b"format\x00")
    assert start > 0
    for offset in range(-48, 48):
        b = bytearray(data)
        b[start + offset] ^= 0xFF
        dst.write_bytes(bytes(b))
        try:
            f = h5py.File(dst, "r")
        except OSError:  # the superblock or root header itself: not the case wanted
            continue
        with f:
            try:
                f.attrs.get("format")
            except (OSError, KeyError):  # what HDF5 makes of it: "ran off end of input buffer", ...
                return dst
    pytest.skip("no byte of the attribute message gives an unreadable attribute with this HDF5")


def test_a_damaged_attribute_is_a_damaged_file_error_and_the_file_is_closed(files, tmp_path, capsys):
    d, _, _ = files
    path = _damaged_attribute(d / "r.h5", tmp_path / "r.h5")
    before = h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE)
    with pytest.raises(DamagedFileError) as info:
        load_run(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert h5py.h5f.get_obj_count(h5py.h5f.OBJ_ALL, h5py.h5f.OBJ_FILE) == before  # the handle is closed
    os.replace(path, tmp_path / "moved.h5")  # nothing holds it
    assert fp.cli.main(["info", str(tmp_path / "moved.h5")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(tmp_path / "moved.h5") in err


GOOD = """[grid]
lower = [-4.0]
upper = [4.0]
shape = [40]
[target]
kind = "gaussian"
mean = [0.0]
cov = 1.0
[initial]
kind = "samples"
file = "{file}"
[flow]
t_final = 0.1
dt = 0.05
"""


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
@pytest.mark.timeout(60)
def test_dev_zero_as_a_samples_file_is_refused_before_reading(tmp_path, capsys):
    run = tmp_path / "run.toml"
    run.write_text(GOOD.format(file="/dev/zero"))
    with pytest.raises(RunFileError, match="not a regular file"):
        read_run_file(run)
    assert fp.cli.main(["run", str(run), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/dev/zero" in err and "[initial] file" in err
    with pytest.raises(ValueError, match="not a regular file"):
        fp.io.read_samples("/dev/zero")
    with pytest.raises(RunFileError, match="not a file"):  # a run file is checked the same way
        read_run_file("/dev/zero")


def test_data_files_of_unbounded_size_are_refused(tmp_path, monkeypatch):
    from fokkerplanck.io import limits, runfile

    samples = tmp_path / "s.csv"
    samples.write_text("\n".join(f"{x:.3f}" for x in np.linspace(-1, 1, 200)))
    run = tmp_path / "run.toml"
    run.write_text(GOOD.format(file="s.csv"))
    assert read_run_file(run).fingerprint
    monkeypatch.setattr(runfile, "MAX_DATA_BYTES", 100)
    with pytest.raises(RunFileError, match="more than"):
        read_run_file(run)
    with pytest.raises(ValueError, match="grew beyond"):
        limits.file_sha256(samples, 100)


@pytest.mark.parametrize("text", ["x = " + "[" * 600 + "]" * 600, "x = " + "{a = " * 600 + "1" + "}" * 600])
def test_a_run_file_nested_600_deep_is_one_line_exit_2(tmp_path, capsys, text):
    with pytest.raises(TomlError, match="nested too deeply"):
        loads(text, "deep.toml")
    run = tmp_path / "deep.toml"
    run.write_text(text + "\n")
    assert fp.cli.main(["run", str(run), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(run) in err and "nested too deeply" in err


def test_linear_solver_does_not_rename_the_run(tmp_path):
    run = tmp_path / "myrun.toml"
    run.write_text(GOOD.format(file="s.csv").replace('kind = "samples"\nfile = "s.csv"', 'kind = "gaussian"\nmean = [0.5]\ncov = 1.0')
                   .replace("[flow]\n", '[flow]\nlinear_solver = "direct"\n'))
    assert read_run_file(run).name == "myrun"
