"""``fokkerplanck demo`` (:mod:`fokkerplanck.cli.demos`): the demo run end to end, and its run file."""

import subprocess
import sys

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.cli import demos
from fokkerplanck.io import load_run
from fokkerplanck.io.runfile import loads, parse_run


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "fokkerplanck", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def test_demo(tmp_path):
    out = tmp_path / "figs"
    res = _cli("demo", "--out", out, cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr
    lines = res.stdout.splitlines()
    head = next(i for i, s in enumerate(lines) if s.split()[:2] == ["t", "jsd"])
    rows = [s.split() for s in lines[head + 1:] if s.strip() and not s.startswith("wrote")]
    table = np.array([[float(x) for x in r] for r in rows])
    assert table.shape[0] >= 5
    t, jsd, l1, mass = table[:, :4].T
    assert t[0] == 0 and np.all(np.diff(t) > 0)
    assert np.all(np.diff(jsd) < 0) and np.all(np.diff(l1) < 0)  # the flow decreases both (Prop. 30, L1 contraction)
    assert np.all(np.abs(mass - 1.0) < 1e-11)  # 13 printed digits; conservation is to round-off
    # the demo's target and time span are chosen so that the flow visibly reaches rho_d and runs into
    # its asymptotic regime, where the predicted rate is drawn (L1 measured 5.4e-7 at t = 40)
    assert t[-1] == 40.0 and l1[-1] < 1e-5 and l1[-1] < 1e-5 * l1[0]
    names = {"demo.h5", "overview.png", "snapshots.png", "convergence.png", "kymograph.png", "flow.gif"}
    names.add("particles.png")
    assert "W1" in lines[head]
    # Sobol initial positions: W1 measured 5e-4 .. 5.3e-3 over the run; i.i.d. sampling of the same
    # densities gives 0.015 .. 0.03 at N = 4000 (compare.sampling_floor), so 1e-2 means the
    # particles track the grid density far better than a fresh random sample would.
    assert np.all(table[:, 4] < 1e-2)
    assert names <= {p.name for p in out.iterdir()}
    for name in names:
        assert (out / name).stat().st_size > 2000
    assert not (tmp_path / "fokkerplanck-out").exists()  # --out was respected
    saved = load_run(out / "demo.h5")
    assert saved.run_file == demos.DEMO_RUN and saved.version == fp.__version__
    assert saved.particles is not None


def test_demo_run_file_parses():
    spec = parse_run(loads(demos.DEMO_RUN, "demo"), text=demos.DEMO_RUN, source="demo", name="demo")
    assert spec.divergence == "jsd" and spec.t_final == 40.0 and spec.particles["velocity"] == "grid"
    assert spec.particles["sampling"] == "sobol" and spec.grid.shape == (320,)
