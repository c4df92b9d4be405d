"""Signals outside the time loop (issue 22, item 7): every SIGINT/SIGTERM gives exit 130 and a
consistent state on disk, also when the signal is raised inside a garbage-collection callback
(where Python ignores the exception) during the particles, the saving, the table or the figures,
and in commands other than ``run``.
"""

import gc
import os
import signal
from pathlib import Path

import pytest

from fokkerplanck import cli
from fokkerplanck.cli import report, runner
from fokkerplanck.io import load_run, load_state

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the swallowed signal

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "tests" / "io" / "data" / "good_run.toml").read_text()
PARTICLES = GOOD.replace("figures = false", "figures = true\nanimation = false") + """
[particles]
n = 200
velocity = "grid"
dt = 0.05
seed = 0
n_snapshots = 3
"""


def _signal_in_gc_callback(signum):
    """Send ``signum`` to this process from inside a garbage-collection callback, once."""
    def callback(phase, info):
        if phase == "start" and not sent:
            sent.append(signum)
            os.kill(os.getpid(), signum)
            for _ in range(1000):  # the handler runs at a bytecode boundary: here, inside the callback
                pass

    sent = []
    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert sent


def _wrap(monkeypatch, module, name, signum):
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        _signal_in_gc_callback(signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapped)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("phase", ["_simulate_particles", "save", "table", "write_figures"])
def test_a_signal_in_a_gc_callback_outside_the_time_loop_gives_exit_130(tmp_path, monkeypatch, capsys, phase,
                                                                         signum):
    run = tmp_path / "run.toml"
    run.write_text(PARTICLES)
    out = tmp_path / "out"
    _wrap(monkeypatch, runner, phase, signum)
    assert cli.main(["run", str(run), "--out", str(out), "--quiet"]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted" in err
    results, ckpt = out / "run.h5", out / "run.checkpoint.h5"
    if results.exists():  # written whole, or not at all
        assert load_run(results).solution.status == 0
        assert "complete" in err
    assert ckpt.exists() and load_state(ckpt, shape=(80,)).counters["n_steps"] > 0  # the last checkpoint is kept
    assert not list(out.glob(".*.tmp"))
    if phase in ("save", "write_figures", "table"):
        assert results.exists() == (phase != "table")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_swallowed_signal_in_info_still_gives_exit_130(tmp_path, monkeypatch, capsys, signum):
    run = tmp_path / "run.toml"
    run.write_text(GOOD)
    assert cli.main(["run", str(run), "--out", str(tmp_path), "--quiet"]) == 0
    _wrap(monkeypatch, report, "load_run", signum)
    assert cli.main(["info", str(tmp_path / "run.h5")]) == 130
    err = capsys.readouterr().err
    assert err.strip().endswith("terminated (SIGTERM)" if signum == signal.SIGTERM else "interrupted")


def test_handlers_are_restored_after_main(tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    cli.main(["info", str(tmp_path / "missing.h5")])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
