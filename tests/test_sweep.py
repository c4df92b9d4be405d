"""Tests of the sweep runner: a real (small) LocalCluster, per-case files, skipping finished cases."""

import json
import runpy
import sys
import textwrap
from pathlib import Path

import pytest

from fokkerplanck import sweep

STUDY = textwrap.dedent('''
    import os
    import fokkerplanck as fp

    def gap(variance, n, log):
        """One case: lambda_1 of N(0, variance) on a grid of n cells; logs every execution."""
        with open(log, "a") as fh:
            fh.write(f"{variance} {n}\\n")
        grid = fp.Grid([-8.0 * variance ** 0.5], [8.0 * variance ** 0.5], [n])
        lam = fp.theory.spectral_gap(fp.Gaussian([0.0], [[variance]]), grid)
        return {"lambda_1": lam, "exact": 1.0 / variance}

    def fails(x):
        if x == 2:
            raise RuntimeError("case x=2 is broken")
        return [{"x": x, "y": x * x}, {"x": x, "y": -x}]
''')


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    # threads in this process: starts in well under a second (no worker processes to spawn)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                           scheduler_kwargs={"dashboard_address": ":0"})  # any free port, not 8787
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def study_dir(tmp_path):
    (tmp_path / "study.py").write_text(STUDY)
    return tmp_path


def _write_spec(study_dir, variances="[0.5, 2.0]", ns="[200, 400]"):
    spec = study_dir / "gap.toml"
    spec.write_text(textwrap.dedent(f'''
        name = "gap"
        study = "study.py:gap"
        [fixed]
        log = "{(study_dir / 'calls.log').as_posix()}"
        [parameters]
        variance = {variances}
        n = {ns}
    '''))
    return spec


def _calls(study_dir):
    log = study_dir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


def test_four_case_sweep_then_rerun_computes_nothing(client, study_dir):
    spec = _write_spec(study_dir)
    out = study_dir / "out"
    res = sweep.run_sweep(spec, out, client=client, progress=False)
    assert (res.n_cases, res.n_computed, res.n_skipped, res.n_failed) == (4, 4, 0, 0)
    assert len(res.rows) == 4 and len(_calls(study_dir)) == 4
    # the study really ran: lambda_1 = 1/variance (within 1%, see test_theory)
    for row in res.rows:
        assert row["lambda_1"] == pytest.approx(row["exact"], rel=0.01)
    # one file per case, no temporary files left behind
    files = sorted((out / "cases").iterdir())
    assert len(files) == 4 and all(f.suffix == ".json" for f in files)
    lines = res.csv_path.read_text().splitlines()
    assert lines[0].split(",")[:4] == ["case", "log", "variance", "n"] and len(lines) == 5
    stamps = {f.name: f.stat().st_mtime_ns for f in files}
    # rerun: nothing is computed, the files are untouched, the table is the same
    res2 = sweep.run_sweep(spec, out, client=client, progress=False)
    assert (res2.n_computed, res2.n_skipped) == (0, 4)
    assert len(_calls(study_dir)) == 4
    assert {f.name: f.stat().st_mtime_ns for f in (out / "cases").iterdir()} == stamps
    assert res2.csv_path.read_text().splitlines() == lines
    # extending the grid computes only the new cases
    spec = _write_spec(study_dir, variances="[0.5, 2.0, 1.0]")
    res3 = sweep.run_sweep(spec, out, client=client, progress=False)
    assert (res3.n_cases, res3.n_computed, res3.n_skipped) == (6, 2, 4)
    assert len(_calls(study_dir)) == 6 and len(res3.rows) == 6


def test_failed_cases_are_reported_and_retried(client, study_dir):
    spec = {"name": "fails", "study": f"{(study_dir / 'study.py').as_posix()}:fails", "parameters": {"x": [1, 2, 3]}}
    out = study_dir / "out"
    res = sweep.run_sweep(spec, out, client=client, progress=False)
    assert res.n_failed == 1 and "case x=2 is broken" in next(iter(res.failures.values()))
    assert len(res.rows) == 4  # two rows from each good case
    assert len(list((out / "failed").iterdir())) == 1
    res2 = sweep.run_sweep(spec, out, client=client, progress=False)
    assert (res2.n_computed, res2.n_skipped, res2.n_failed) == (0, 2, 1)  # only the failed case is retried


@pytest.mark.filterwarnings("ignore:'fokkerplanck.sweep' found in sys.modules:RuntimeWarning")  # runpy
def test_command_line_with_scheduler_address(client, study_dir, capsys, monkeypatch):
    from fokkerplanck import cli

    spec = _write_spec(study_dir, variances="[1.0]", ns="[100, 150]")
    out = study_dir / "cli"
    rc = cli.main(["sweep", str(spec), "--scheduler", client.scheduler.address, "--out", str(out), "--no-progress"])
    assert rc == 0
    assert "2 cases: 2 computed" in capsys.readouterr().out
    assert len((out / "gap.csv").read_text().splitlines()) == 3
    record = json.loads(next((out / "cases").iterdir()).read_text())
    assert record["params"]["variance"] == 1.0 and len(record["rows"]) == 1
    # `python -m fokkerplanck.sweep SPEC.toml ...` is the same command
    monkeypatch.setattr(sys, "argv", ["python -m fokkerplanck.sweep", str(spec), "--scheduler",
                                      client.scheduler.address, "--out", str(out), "--no-progress"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("fokkerplanck.sweep", run_name="__main__")
    assert exc.value.code == 0 and "2 cases: 0 computed, 2 already done" in capsys.readouterr().out
    # a failed case: exit code 1, its traceback on stderr
    bad = {"name": "fails", "study": f"{(study_dir / 'study.py').as_posix()}:fails", "parameters": {"x": [2]}}
    (study_dir / "fails.toml").write_text(f'name = "fails"\nstudy = "{bad["study"]}"\n[parameters]\nx = [2]\n')
    rc = cli.main(["sweep", str(study_dir / "fails.toml"), "--scheduler", client.scheduler.address,
                   "--out", str(study_dir / "f"), "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1 and "1 failed" in captured.out and "case x=2 is broken" in captured.err


def test_case_key_and_expansion():
    k1 = sweep.case_key("/a/study.py:f", {"a": 1, "b": 2.0})
    assert k1 == sweep.case_key("/elsewhere/study.py:f", {"b": 2.0, "a": 1})  # order and directory free
    assert k1 != sweep.case_key("/a/study.py:f", {"a": 1, "b": 2.5})
    assert k1 != sweep.case_key("/a/study.py:g", {"a": 1, "b": 2.0})
    cases, names = sweep.expand_cases({"c": 0}, [{"a": [1, 2], "b": ["x"]}, {"a": [3], "b": ["x", "y"]},
                                                 {"a": [1], "b": ["x"]}])
    assert names == ["c", "a", "b"]
    assert len(cases) == 2 + 2  # the last grid repeats a case
    assert cases[0] == {"c": 0, "a": 1, "b": "x"}


def test_spec_errors_are_clear(study_dir):
    base = {"name": "s", "study": f"{(study_dir / 'study.py').as_posix()}:gap"}
    with pytest.raises(sweep.SweepSpecError, match="paramters: unknown key; the sweep spec accepts"):
        sweep.load_spec({**base, "paramters": {"a": [1]}})
    with pytest.raises(ValueError, match="non-empty list"):
        sweep.load_spec({**base, "parameters": {"a": []}})
    with pytest.raises(ValueError, match="both fixed and varied"):
        sweep.load_spec({**base, "fixed": {"a": 1}, "parameters": {"a": [1, 2]}})
    with pytest.raises(ValueError, match="no function 'nope'"):
        sweep.load_spec({**base, "study": f"{(study_dir / 'study.py').as_posix()}:nope"})
    with pytest.raises(ValueError, match="needs study"):
        sweep.load_spec({"name": "s"})
    with pytest.raises(ValueError, match="sweep spec not found"):
        sweep.load_spec(str(study_dir / "missing.toml"))
    bad = study_dir / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(ValueError, match="bad.toml: not valid TOML"):
        sweep.load_spec(bad)
    bad.write_text(f'study = "{base["study"]}"\nname = "a/b"\n')
    with pytest.raises(sweep.SweepSpecError, match="bad.toml: name: must be a non-empty string without slashes"):
        sweep.load_spec(bad)
    assert issubclass(sweep.SweepSpecError, ValueError)
