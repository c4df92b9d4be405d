"""A sweep on a real (small) LocalCluster, shared by the tests: one file per case
(:mod:`fokkerplanck.sweep.table`), finished cases skipped, the tidy table, the failed cases' files;
and the command line (``fokkerplanck sweep``, ``python -m fokkerplanck.sweep``)."""

import json
import runpy
import sys
import textwrap
from pathlib import Path

import pytest

from fokkerplanck.sweep.execute import run_sweep
from fokkerplanck.sweep.spec import SweepSpec, case_key
from fokkerplanck.sweep.table import _collect, _finished_cases, _write_case, _write_failure

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
    res = run_sweep(spec, out, client=client, progress=False)
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
    res2 = run_sweep(spec, out, client=client, progress=False)
    assert (res2.n_computed, res2.n_skipped) == (0, 4)
    assert len(_calls(study_dir)) == 4
    assert {f.name: f.stat().st_mtime_ns for f in (out / "cases").iterdir()} == stamps
    assert res2.csv_path.read_text().splitlines() == lines
    # extending the grid computes only the new cases
    spec = _write_spec(study_dir, variances="[0.5, 2.0, 1.0]")
    res3 = run_sweep(spec, out, client=client, progress=False)
    assert (res3.n_cases, res3.n_computed, res3.n_skipped) == (6, 2, 4)
    assert len(_calls(study_dir)) == 6 and len(res3.rows) == 6


def test_failed_cases_are_reported_and_retried(client, study_dir):
    spec = {"name": "fails", "study": f"{(study_dir / 'study.py').as_posix()}:fails", "parameters": {"x": [1, 2, 3]}}
    out = study_dir / "out"
    res = run_sweep(spec, out, client=client, progress=False)
    assert res.n_failed == 1 and "case x=2 is broken" in next(iter(res.failures.values()))
    assert len(res.rows) == 4  # two rows from each good case
    assert len(list((out / "failed").iterdir())) == 1
    res2 = run_sweep(spec, out, client=client, progress=False)
    assert (res2.n_computed, res2.n_skipped, res2.n_failed) == (0, 2, 1)  # only the failed case is retried


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


def test_case_files_and_table_without_a_cluster(tmp_path):
    spec = SweepSpec(name="t", study="/x/s.py:f", cases=[{"a": 1}, {"a": 2}, {"a": 3}], parameter_names=["a"])
    keys = [case_key(spec.study, c) for c in spec.cases]
    cases_dir, failed_dir = tmp_path / "cases", tmp_path / "failed"
    _write_failure(failed_dir, keys[0], {"a": 1}, "RuntimeError: once")
    rec = _write_case(cases_dir, failed_dir, keys[0], spec.study, {"a": 1},
                      [{"y": 0.1, "z": float("inf"), "l": [1, 2]}, {"y": -2.0, "w": "s"}], 0.5)
    assert not (failed_dir / f"{keys[0]}.json").exists()  # a success removes the earlier failure's file
    assert rec["study"] == "s:f" and json.loads((cases_dir / f"{keys[0]}.json").read_text()) == rec
    (cases_dir / f"{keys[1]}.json").write_text('{"params": {"a": 2}, "rows": [')  # cut short: not finished
    _write_case(cases_dir, failed_dir, keys[2], spec.study, {"a": 30}, [{"y": 1.0}], 0.1)  # other parameters
    records, todo = _finished_cases(cases_dir, keys, spec.cases)
    assert list(records) == [keys[0]] and todo == [(keys[1], {"a": 2}), (keys[2], {"a": 3})]
    assert _finished_cases(cases_dir, keys, spec.cases, recompute=True)[0] == {}
    res = _collect(spec, tmp_path, keys, records, 1, {keys[1]: "RuntimeError: broken"})
    assert (res.n_cases, res.n_computed, res.n_skipped, res.n_failed) == (3, 0, 1, 1)
    assert res.csv_path == tmp_path / "t.csv" and res.failures == {keys[1]: "RuntimeError: broken"}
    assert res.csv_path.read_text() == (f'case,a,y,z,l,w\n{keys[0]},1,0.1,inf,"[1, 2]",\n'
                                        f'{keys[0]},1,-2.0,,,s\n')
    assert res.rows[1] == {"case": keys[0], "a": 1, "y": -2.0, "w": "s"}
