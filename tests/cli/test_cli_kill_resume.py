"""Real processes killed mid-run (SIGKILL, SIGINT, SIGTERM) at several moments, in 1-D (adaptive
steps), 2-D (SuperLU-preconditioned CG) and 3-D (AMG-preconditioned CG), then resumed with
``--resume``: every resumed result is bit-identical to an uninterrupted run.

The kill is real (a ``python -m fokkerplanck run`` subprocess and a signal); the runs of one
dimension are started together and each is signalled by its own thread when its moment comes
(their start-ups, the import of the package, overlap on the two cores: sharing the cores only
slows each run down, so the signal still lands before the end); the resume runs in this process
through ``cli.main`` (the same code as the command, and faster).
"""

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fokkerplanck import cli
from fokkerplanck.io import load_run, solutions_equal
from fokkerplanck.io.checkpoint import load_state

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "data"
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
           OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")

# (signal, seconds to wait after the first checkpoint appears): several moments per dimension
# (a handler that raised at an arbitrary moment once let a run swallow SIGTERM inside a weakref
# callback and finish with exit 0, or turn it into a SystemError inside a compiled kernel's
# dispatch: signals are now deferred to the end of the step, see fokkerplanck.cli._signals)
KILLS = [(signal.SIGKILL, 0.0), (signal.SIGTERM, 0.1), (signal.SIGINT, 0.25), (signal.SIGTERM, 0.6)]


def _start(runfile, out):
    return subprocess.Popen([sys.executable, "-m", "fokkerplanck", "run", str(runfile), "--out", str(out), "-q",
                             "--no-figures"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)


def _kill_at(proc, ckpt, sig, delay, timeout=120):
    t0 = time.monotonic()
    while not ckpt.exists():
        assert proc.poll() is None, f"the run ended before its first checkpoint: {proc.communicate()}"
        assert time.monotonic() - t0 < timeout
        time.sleep(0.01)
    time.sleep(delay)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """The uninterrupted runs (in this process)."""
    base = tmp_path_factory.mktemp("reference")
    refs = {}
    for dim in ("1d", "2d", "3d"):
        assert cli.main(["run", str(DATA / f"kill_{dim}.toml"), "--out", str(base / dim), "-q", "--no-figures"]) == 0
        refs[dim] = load_run(base / dim / f"kill_{dim}.h5").solution
    return refs


@pytest.mark.slow
@pytest.mark.parametrize("dim", ["1d", "2d", "3d"])
def test_killed_runs_resume_bit_identically(references, tmp_path, capsys, dim):
    runfile = DATA / f"kill_{dim}.toml"
    name = runfile.stem
    resumed_from = []
    outs = [tmp_path / f"{sig.name}-{delay}" for sig, delay in KILLS]
    procs = [_start(runfile, out) for out in outs]
    with ThreadPoolExecutor(len(KILLS)) as pool:
        ends = [pool.submit(_kill_at, proc, out / f"{name}.checkpoint.h5", sig, delay)
                for proc, out, (sig, delay) in zip(procs, outs, KILLS)]
        ends = [end.result() for end in ends]
    for (sig, delay), out, (code, err) in zip(KILLS, outs, ends):
        ckpt = out / f"{name}.checkpoint.h5"
        assert not (out / f"{name}.h5").exists(), "the run finished before the signal; the test proves nothing"
        if sig == signal.SIGKILL:
            assert code == -signal.SIGKILL
        else:  # SIGINT and SIGTERM: one line, exit code 130, how to continue
            assert code == 130, err
            assert err.count("\n") == 1 and "Traceback" not in err and "--resume" in err, err
        state = load_state(ckpt)
        assert 0 < state.t < references[dim].t[-1]
        if dim != "1d":
            assert state.solver, "the checkpoint holds the reused preconditioner's matrix"
        resumed_from.append(state.counters["n_steps"])
        capsys.readouterr()
        assert cli.main(["run", str(runfile), "--out", str(out), "--resume", "--no-figures"]) == 0
        assert "resuming from the checkpoint at t = " in capsys.readouterr().err
        got = load_run(out / f"{name}.h5").solution
        assert solutions_equal(got, references[dim]), f"{dim} resumed after {sig.name} differs"
        assert not ckpt.exists()
        assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]  # no temporary file left
    assert len(resumed_from) == len(KILLS) and all(n > 0 for n in resumed_from)
