"""The budget check and the API's bad inputs from issue 13 (all refused before any work)."""

import fcntl

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import cli
from fokkerplanck.flow import budget as _budget

G = fp.Grid([-6.0], [6.0], [200])
T = fp.Gaussian([0.0], [[1.0]])


@pytest.mark.parametrize("initial, match", [
    (np.full(200, 1e308), "overflows"), (np.full(200, 1e-320), "underflows"),
    (np.ones(200) + 1j, "complex"), (np.array(["1.0"] * 200), "numbers"), (np.ones(200, dtype=object), "numbers")])
def test_bad_initial_arrays_are_refused(initial, match):
    with pytest.raises(ValueError, match=match):
        fp.solve(T, initial, G, 0.1, dt=0.05)


def test_two_dimensional_t_eval_is_refused():
    with pytest.raises(ValueError, match="flat sequence"):
        fp.solve(T, T, G, 0.1, dt=0.05, t_eval=[[0.0, 0.1]])


@pytest.mark.parametrize("kwargs", [dict(dt=1e-9), dict(dt=1e-3, t_eval=np.linspace(0, 1, 10**7)),
                                    dict(dt=1e-300)])
def test_solve_beyond_the_budget_is_refused(kwargs):
    with pytest.raises(_budget.BudgetError, match="budget: .*force=True"):
        fp.solve(T, T, G, 1.0, **kwargs)


def test_particles_beyond_the_budget_are_refused():
    with pytest.raises(ValueError, match="budget"):
        fp.particles.simulate(T, T, 1.0, 10**12, velocity="kde")


def test_force_overrides_the_budget(monkeypatch):
    monkeypatch.setattr(_budget, "MAX_STEPS", 5)
    with pytest.raises(ValueError, match="more than the limit of 5e"):
        fp.solve(T, T, G, 1.0, dt=0.1)
    assert fp.solve(T, T, G, 1.0, dt=0.1, force=True).n_steps == 10


def test_a_second_run_into_the_same_output_is_refused_and_stale_temp_files_are_removed(tmp_path, capsys):
    path = tmp_path / "run.toml"
    path.write_text('[grid]\nlower = [-4.0]\nupper = [4.0]\nshape = [20]\n[target]\nkind = "gaussian"\n'
                    'mean = [0.0]\ncov = 1.0\n[initial]\nkind = "gaussian"\nmean = [0.5]\ncov = 1.0\n'
                    '[flow]\nt_final = 0.1\ndt = 0.05\n[output]\nfigures = false\n')
    out = tmp_path / "out"
    out.mkdir()
    stale = out / ".run.checkpoint.h5.abc123.tmp"
    stale.write_bytes(b"half a checkpoint")
    with open(out / ".run.lock", "a+") as fh:  # another run holds the lock
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert cli.main(["run", str(path), "--out", str(out), "-q"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "another fokkerplanck run" in err
        assert stale.exists()  # not ours to remove while the other run lives
    assert cli.main(["run", str(path), "--out", str(out), "-q"]) == 0
    assert not stale.exists() and (out / "run.h5").exists()
