"""Run files (:mod:`fokkerplanck.io.runfile`): today's run files parse exactly as before, errors
name the file, table and key; and the samples density a run file builds (SampleKDE)."""

import json
from pathlib import Path

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow.densities import SampleKDE
from fokkerplanck.io.runfile import RunFileError, RunSpec, loads, parse_run, read_run_file
from fokkerplanck.io.toml import TomlError

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
GOOD = (DATA / "good_run.toml").read_text()


def _summary(spec):
    d = spec.grid.ndim
    pts = np.linspace(-2.0, 2.0, 5)[:, None] * np.ones((1, d)) + 0.1 * np.arange(d)
    return dict(name=spec.name, grid=repr(spec.grid), divergence=spec.divergence, t_final=spec.t_final, dt=spec.dt,
                solve_options=spec.solve_options, particles=spec.particles, output=spec.output,
                target_pdf=np.asarray(spec.target.pdf(pts)).tolist(),
                initial_pdf=np.asarray(spec.initial.pdf(pts)).tolist())


def test_run_files_parse_as_before_the_reshaping():
    # runfiles_expected.json: what the run-file reader of fokkerplanck.cli.commands (before io.runfile)
    # built from every example, the tests' run file and the demo
    from fokkerplanck.cli.demos import DEMO_RUN

    expected = json.loads((DATA / "runfiles_expected.json").read_text())
    for key, want in expected.items():
        if key == "demo":
            spec = parse_run(loads(DEMO_RUN, "demo"), text=DEMO_RUN, source="demo", name="demo")
        else:
            spec = read_run_file(ROOT / key)
            assert spec.path == ROOT / key and spec.text == (ROOT / key).read_text()
        assert isinstance(spec, RunSpec)
        got = json.loads(json.dumps(_summary(spec)))
        for field in want:
            if field.endswith("_pdf"):
                assert np.allclose(got[field], want[field], rtol=1e-13, atol=0), (key, field)
            else:
                assert got[field] == want[field], (key, field)
    assert len(expected) >= 8


def test_fingerprint_identifies_the_run():
    a = parse_run(loads(GOOD), text=GOOD)
    b = parse_run(loads(GOOD), text=GOOD)
    c = parse_run(loads(GOOD.replace("t_final = 1.0", "t_final = 1.5")), text=GOOD.replace("1.0", "1.5"))
    assert a.fingerprint == b.fingerprint != c.fingerprint and len(a.fingerprint) == 16


@pytest.mark.parametrize("change, message", [
    (("t_final = 1.0", "t_final = \"one\""), "run.toml: [flow] t_final: expected a positive number, got 'one'"),
    (("[output]", "[outputs]"), "run.toml: [outputs]: unknown table"),
    (("n_saves = 11", "n_saves = 11\nsave_times = [0.0, 1.0]"), "run.toml: [flow] n_saves: give either"),
    (("dt = 0.05", "dt = 0.05\nrtol = 1e-3"), "run.toml: [flow] rtol: only used with dt = \"adaptive\""),
    (("cov = 1.0", "cov = 1.0\nweights = [1.0]"), "run.toml: [initial] weights: not a key of kind = 'gaussian'"),
])
def test_errors_name_the_file_table_and_key(tmp_path, change, message):
    path = tmp_path / "run.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(RunFileError) as exc:
        read_run_file(path)
    assert str(exc.value).startswith(str(tmp_path / message.split(":")[0]) + ":" + message.split(":", 1)[1])
    assert isinstance(exc.value, TomlError) and isinstance(exc.value, ValueError)


def test_missing_and_unreadable_run_files(tmp_path):
    with pytest.raises(RunFileError, match="run file not found"):
        read_run_file(tmp_path / "none.toml")
    with pytest.raises(RunFileError, match="not a file"):
        read_run_file(tmp_path)
    (tmp_path / "bad.toml").write_bytes(b"\xff\xfe")
    with pytest.raises(RunFileError, match="cannot read the run file"):
        read_run_file(tmp_path / "bad.toml")
    with pytest.raises(RunFileError, match="not valid TOML"):
        loads("[grid", "x.toml")


def test_samples_file_relative_to_the_run_file(tmp_path, rng):
    (tmp_path / "sub").mkdir()
    np.save(tmp_path / "sub" / "x.npy", rng.normal(size=(100, 1)))
    path = tmp_path / "sub" / "run.toml"
    path.write_text(GOOD.replace('kind = "gaussian"\nmean = [0.0]\ncov = 1.0', 'kind = "samples"\nfile = "x.npy"'))
    spec = read_run_file(path)
    assert isinstance(spec.initial, SampleKDE) and spec.name == "run"
