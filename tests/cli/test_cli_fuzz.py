"""Fuzzing run files (hypothesis): every mutated run file gives a one-line error with exit code 2
(a bad key, or a budget refusal), or a valid run (exit 0 and a results file); never a traceback,
never a hang (each case has a time limit). Most cases run in-process through ``cli.main``; a few
hostile files from the issue run as real subprocesses.
"""

import io
import os
import signal
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from fokkerplanck import cli  # noqa: E402
from fokkerplanck.flow import budget as _budget  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
CASE_SECONDS = 20

BASE = {
    "grid": {"lower": [-4.0], "upper": [4.0], "shape": [30]},
    "target": {"kind": "mixture", "weights": [0.5, 0.5], "means": [-1.0, 1.0], "covs": [0.5, 0.5]},
    "initial": {"kind": "gaussian", "mean": [0.0], "cov": 1.0},
    "flow": {"t_final": 0.2, "dt": 0.05, "n_saves": 3},
    "particles": {"n": 20, "dt": 0.05, "n_snapshots": 3, "seed": 1},
    "output": {"figures": False, "checkpoint_steps": 2},
}

HOSTILE = [0, -1, 1, 2, 3, 2**63 - 1, -(2**63), 10**9, 0.0, -0.5, 1e-300, 1e308, -1e308, float("inf"),
           float("-inf"), float("nan"), 0.5, 3.7, True, False, "", "adaptive", "steps", "scott", "kde", "sde",
           "grid", "samples", "mixture", "gaussian", "rk4", "sobol", "/etc/passwd", "../x", "a" * 300, [], [[]],
           [0.0], [1.0, 2.0], [-4.0, -4.0], [2, 2], [30, 30, 30], [100000, 100000], [2000, 2000, 2000], [2**63 - 1],
           [1e308], [[0.5]], [[[0.5]]], [0.5, 0.5, 0.5], ["x"], [[1.0, 0.0], [0.0, 1.0]], {"a": 1}, [[[[[[1]]]]]]]
KEYS = sorted({(t, k) for t, keys in {
    "grid": ["lower", "upper", "shape"],
    "target": ["kind", "weights", "means", "covs", "mean", "cov", "file", "bandwidth", "background"],
    "initial": ["kind", "mean", "cov", "weights", "means", "covs", "file", "background"],
    "flow": ["t_final", "dt", "n_saves", "save_times", "rtol", "dt_max", "divergence", "unknown"],
    "particles": ["n", "dt", "n_snapshots", "seed", "velocity", "method", "sampling", "bandwidth", "estimator"],
    "output": ["directory", "figures", "animation", "checkpoint_seconds", "checkpoint_steps"],
}.items() for k in keys})


def _toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(v, "nan" if v != v else repr(v))
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return "[" + ", ".join(_toml_value(x) for x in v) + "]"


def _render(data):
    lines = []
    for table, keys in data.items():
        if not isinstance(keys, dict):
            lines.append(f"{table} = {_toml_value(keys)}")
            continue
        lines.append(f"[{table}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


mutation = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), st.sampled_from(HOSTILE)),
    st.tuples(st.just("set"), st.sampled_from(KEYS), st.floats(allow_nan=True) | st.integers(-2**70, 2**70)),
    st.tuples(st.just("drop"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("drop_table"), st.sampled_from(sorted(BASE)), st.none()),
)


def _mutate(mutations, text_cut, junk):
    data = {k: dict(v) for k, v in BASE.items()}
    for op, key, value in mutations:
        if op == "drop_table":
            data.pop(key, None)
        elif op == "drop":
            data.get(key[0], {}).pop(key[1], None)
        else:
            data.setdefault(key[0], {})[key[1]] = value
    text = _render(data)
    if text_cut is not None:  # a truncated file
        text = text[:text_cut]
    return text + junk


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


@pytest.fixture
def tight_budget(monkeypatch):
    """Limits scaled to what a test may spend (the same refusal path as the documented defaults)."""
    monkeypatch.setattr(_budget, "MAX_STEPS", 20_000)
    monkeypatch.setattr(_budget, "MAX_CELL_STEPS", 2_000_000)
    monkeypatch.setattr(_budget, "MAX_PARTICLE_STEPS", 5_000_000)
    monkeypatch.setattr(_budget, "MAX_EVALUATIONS", 10_000_000)
    monkeypatch.setenv("FOKKERPLANCK_MAX_MEMORY", "1")  # GiB


COUNTS = {"cases": 0, "ok": 0, "refused": 0, "budget": 0}


@pytest.mark.slow
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutations=st.lists(mutation, min_size=1, max_size=3),
       text_cut=st.none() | st.integers(0, 400), junk=st.sampled_from(["", "", "", "\n[grid]\n", "x = 1\n", "\x00",
                                                                      "[flow\n", "a = [" * 50]))
def test_mutated_run_files(tmp_path_factory, tight_budget, mutations, text_cut, junk):
    d = tmp_path_factory.mktemp("fuzz")
    path = d / "run.toml"
    path.write_text(_mutate(mutations, text_cut, junk), encoding="utf-8")
    err, out = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CASE_SECONDS)
    try:
        with redirect_stderr(err), redirect_stdout(out):
            code = cli.main(["run", str(path), "--out", str(d / "out"), "-q", "--no-figures"])
    except _Timeout:
        pytest.fail(f"no answer within {CASE_SECONDS} s for:\n{path.read_text()}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    text = err.getvalue()
    COUNTS["cases"] += 1
    assert "Traceback" not in text and "internal error" not in text, text
    if code == 0:
        assert (d / "out" / "run.h5").exists()
        COUNTS["ok"] += 1
    else:
        assert code == 2, (code, text, path.read_text())
        assert text.count("\n") == 1 and text.startswith("fokkerplanck: error: "), text
        COUNTS["refused"] += 1
        COUNTS["budget"] += "budget:" in text


def test_fuzz_counts_are_reported():
    # runs after the fuzz test in file order; prints the counts for the record (pytest -s)
    if COUNTS["cases"]:
        print(f"\nfuzz: {COUNTS}")
        assert COUNTS["cases"] == COUNTS["ok"] + COUNTS["refused"]


HOSTILE_FILES = {
    "huge 2-D grid": ('shape = [30]', 'shape = [100000, 100000]', 'lower = [-4.0]', 'lower = [-4.0, -4.0]',
                      'upper = [4.0]', 'upper = [4.0, 4.0]'),
    "huge 3-D grid": ('shape = [30]', 'shape = [2000, 2000, 2000]', 'lower = [-4.0]', 'lower = [-4.0, -4.0, -4.0]',
                      'upper = [4.0]', 'upper = [4.0, 4.0, 4.0]'),
    "2**63-1 cells": ('shape = [30]', 'shape = [9223372036854775807]'),
    "10**9 saves": ('n_saves = 3', 'n_saves = 1000000000'),
    "tiny dt": ('dt = 0.05\nn_saves', 'dt = 1e-9\nn_saves'),
    "huge t_final": ('t_final = 0.2', 't_final = 1e300'),
    "10**12 particles": ('n = 20', 'n = 1000000000000'),
    "directory is a file": ('figures = false', 'figures = false\ndirectory = "/etc/passwd"'),
}


@pytest.mark.slow
def test_hostile_run_files_in_real_processes(tmp_path):
    base = _render(BASE)
    for name, edits in HOSTILE_FILES.items():
        text = base
        for old, new in zip(edits[::2], edits[1::2]):
            assert old in text
            text = text.replace(old, new, 1)
        path = tmp_path / "run.toml"
        path.write_text(text)
        argv = [sys.executable, "-m", "fokkerplanck", "run", str(path), "-q", "--no-figures"]
        if name != "directory is a file":
            argv += ["--out", str(tmp_path / "out")]
        res = subprocess.run(argv, capture_output=True, text=True, env=ENV, timeout=60)
        assert res.returncode == 2, (name, res.stderr)
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, (name, res.stderr)
        assert ("budget:" in res.stderr) == (name != "directory is a file"), (name, res.stderr)
