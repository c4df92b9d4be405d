"""The run driver (:func:`fokkerplanck.cli.runner.run`) and its table (:mod:`fokkerplanck.cli.report`)."""

import io
from pathlib import Path

import numpy as np
import pytest

from fokkerplanck.cli.runner import run
from fokkerplanck.io import load_run
from fokkerplanck.io.runfile import loads, parse_run, read_run_file

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "tests" / "io" / "data" / "good_run.toml").read_text()  # a small valid run file
PARTICLES = "\n[particles]\nn = 200\nvelocity = \"grid\"\ndt = 0.05\nseed = 1\nn_snapshots = {snaps}\n"


def test_kl_example_is_backward_euler_for_the_ornstein_uhlenbeck_mean(tmp_path):
    # The KL flow toward N(0, 1) is the OU equation: the mean obeys m' = -m, and backward Euler with
    # step h gives exactly m_n = m_0 (1 + h)^(-n) (a linear ODE); the finite-volume grid adds only an
    # O(dx^2) = O(1.6e-3) error, so 1e-3 separates it from the exact 2 exp(-t) (off by 3.6e-3 at t = 1).
    spec = read_run_file(ROOT / "examples" / "kl_ornstein_uhlenbeck.toml")
    sol = run(spec, out_dir=tmp_path, quiet=True, figures=False)
    x = sol.grid.axes[0]
    for t, u in zip(sol.t, sol.u):
        mean = np.sum(x * u) * sol.grid.cell_volume
        assert mean == pytest.approx(2.0 * (1 + spec.dt) ** -round(t / spec.dt), abs=1e-3)
    assert abs(mean - 2.0 * np.exp(-sol.t[-1])) > 1e-3  # (so the check above is not the exact solution)


def _table_of(text):
    lines = text.splitlines()
    head = next(i for i, s in enumerate(lines) if s.split()[:1] == ["t"] and "L1 to rho_d" in s)
    rows = [[float(x) for x in s.split()] for s in lines[head + 1:] if s.strip() and not s.startswith("wrote")]
    return lines[:head], lines[head], np.array(rows)


def test_grid_particles_keep_only_the_requested_frames_and_rows_share_one_time(tmp_path):
    # n_saves = 9 with dt = 0.05: the nearest multiples of dt to 0, 0.125, ..., 1 (every step is dt);
    # the particles need every step
    text = GOOD.replace("n_saves = 11", "n_saves = 9") + PARTICLES.format(snaps=5)
    out = io.StringIO()
    sol = run(parse_run(loads(text), text=text), out_dir=tmp_path, out=out, figures=False)
    saved = load_run(tmp_path / "run.h5").solution
    for s in (sol, saved):
        assert s.t.shape == (9,) and s.u.shape[0] == 9
        assert np.allclose(s.t, 0.05 * np.rint(np.linspace(0.0, 20, 9)), rtol=0, atol=1e-12)
    assert saved.history["t"].size == 21  # the whole history: every step, 20 of dt, no landings
    np.testing.assert_allclose(saved.history["dt"][1:], 0.05, rtol=1e-12)
    # every row at a time that is a saved frame, a history time and a particle snapshot (0.25 apart)
    _, head, table = _table_of(out.getvalue())
    assert "W1 particles-grid" in head and "SW1" not in head and "t particles" not in head
    assert table.shape[1] == 5 and table.shape[0] >= 3
    for t in table[:, 0]:
        assert np.min(np.abs(np.linspace(0.0, 1.0, 5) - t)) < 1e-12
        assert np.min(np.abs(saved.t - t)) < 1e-12 and np.min(np.abs(saved.history["t"] - t)) < 1e-12
    # no common times beyond 0 and 1 (snapshots every 1/3): the snapshot time gets a column of its own
    text = GOOD.replace("n_saves = 11", "n_saves = 9") + PARTICLES.format(snaps=4)
    out = io.StringIO()
    run(parse_run(loads(text), text=text), out_dir=tmp_path / "b", out=out, figures=False)
    _, head, table = _table_of(out.getvalue())
    assert "t particles" in head and table.shape[1] == 6
    assert np.all(np.min(np.abs(table[:, 4:5] - np.array([0.0, 1 / 3, 2 / 3, 1.0])), axis=1) < 1e-3)


def test_w1_column_says_sliced_beyond_max_exact(tmp_path):
    from fokkerplanck import compare

    two_d = (ROOT / "examples" / "mixture_2d.toml").read_text()
    two_d = two_d.replace("t_final = 2.0", "t_final = 0.08").replace("n_saves = 26", "n_saves = 3")
    two_d = two_d.replace("n = 1500", "n = 200").replace("n_snapshots = 26", "n_snapshots = 3")
    assert 56 * 56 > compare.MAX_EXACT_DEFAULT  # so wasserstein(method="auto") would be sliced here
    for n, (text, name) in enumerate(((two_d, "SW1"), (two_d.replace("shape = [56, 56]", "shape = [30, 30]"), "W1"),
                                      (GOOD + PARTICLES.format(snaps=11), "W1"))):
        out = io.StringIO()
        run(parse_run(loads(text), text=text), out_dir=tmp_path / str(n), out=out, figures=False)
        before, head, table = _table_of(out.getvalue())
        assert head.split()[-2:] == [name, "particles-grid"]
        assert any("sliced" in s for s in before) == (name == "SW1")
        assert np.all(table[:, -1] > 0)


def test_particles_are_saved_as_an_ensemble(tmp_path):
    from fokkerplanck.particles import Ensemble

    text = GOOD + PARTICLES.format(snaps=3)
    run(parse_run(loads(text), text=text), out_dir=tmp_path, quiet=True, figures=False)
    ens = load_run(tmp_path / "run.h5").particles
    assert isinstance(ens, Ensemble)
    assert ens.velocity == "grid" and ens.method == "rk4" and ens.n == 200 and ens.seed == 1 and ens.dt == 0.05
    assert ens.positions.shape == (3, 200, 1) and np.allclose(ens.t, [0.0, 0.5, 1.0])
    assert ens.counters["n_steps"] > 0
