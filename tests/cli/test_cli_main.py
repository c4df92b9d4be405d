"""The command line end to end (``fokkerplanck.cli.main``): exit codes, one-line errors, resume, info, plot."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import cli
from fokkerplanck.io import load, load_run, solutions_equal

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
GOOD = (ROOT / "tests" / "io" / "data" / "good_run.toml").read_text()  # a small valid run file


def _cli(*args, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "fokkerplanck", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=timeout)


def _write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_example_run_file(tmp_path):
    assert len(EXAMPLES) >= 5
    res = _cli("run", *EXAMPLES, "--out", tmp_path, "--quiet", "--no-figures")
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""  # --quiet
    for path in EXAMPLES:
        spec = cli.read_run_file(path)
        saved = load_run(tmp_path / path.stem / f"{path.stem}.h5")
        sol = saved.solution
        assert saved.run_file == path.read_text()
        assert sol.status == 0 and sol.t[-1] == pytest.approx(spec.t_final, abs=1e-12)
        assert np.max(np.abs(sol.history["mass"] - 1.0)) < 1e-10  # mass is conserved to round-off
        assert sol.history["jsd"][-1] < sol.history["jsd"][0]
        assert (saved.particles is not None) == (spec.particles is not None)
        if saved.particles is not None:
            assert saved.particles.positions.shape[1:] == (spec.particles["n"], sol.grid.ndim)
        assert not (tmp_path / path.stem / f"{path.stem}.checkpoint.h5").exists()  # removed after success


def test_malformed_run_file_in_subprocess(tmp_path):
    bad = _write(tmp_path, GOOD.replace("t_final = 1.0", "t_final = \"one\""))
    res = _cli("run", bad, cwd=tmp_path)
    assert res.returncode == 2
    assert res.stdout == ""
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "[flow] t_final" in res.stderr and "expected a positive number" in res.stderr
    res = _cli("run", tmp_path / "nothere.toml", cwd=tmp_path)
    assert res.returncode == 2 and "not found" in res.stderr and res.stderr.count("\n") == 1


@pytest.mark.parametrize("change, key, expected", [
    (("t_final = 1.0\n", ""), "[flow] t_final", "missing"),
    (("dt = 0.05", "dt = \"adaptve\""), "[flow] dt", "positive number"),
    (("shape = [80]", "shape = [80.5]"), "[grid] shape", "integers"),
    (("means = [-1.5, 1.5]", "means = [[-1.5, 0.0], [1.5, 0.0]]"), "[target] means", "lists of 1 number"),
    (("kind = \"gaussian\"", "kind = \"gauss\""), "[initial] kind", "'gaussian'"),
    (("n_saves = 11", "nsaves = 11"), "[flow] nsaves", "unknown key"),
    (("[output]", "[outputs]"), "[outputs]", "unknown table"),
    (("upper = [5.0]", "upper = [-6.0]"), "[grid] upper", "exceed lower"),
    (("weights = [0.5, 0.5]", "weights = [0.5, -0.5]"), "[target]", "non-negative"),
    (("cov = 1.0", "cov = [[1.0, 0.0]]"), "[initial] cov", "1x1"),
    (("[grid]", "[grid\n"), "not valid TOML", "line"),
])
def test_malformed_run_files_name_the_key(tmp_path, capsys, change, key, expected):
    path = _write(tmp_path, GOOD.replace(*change))
    code = cli.main(["run", str(path), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and key in err and expected in err, err
    assert not (tmp_path / "o" / "run.h5").exists()


def test_samples_kinds_and_solver_errors(tmp_path, capsys):
    rng = np.random.default_rng(7)
    np.savetxt(tmp_path / "data.csv", rng.normal(size=(300, 1)), delimiter=",")
    text = GOOD.replace('kind = "gaussian"\nmean = [0.0]\ncov = 1.0', 'kind = "samples"\nfile = "data.csv"')
    assert cli.main(["run", str(_write(tmp_path, text)), "--out", str(tmp_path / "o"), "-q"]) == 0
    path = _write(tmp_path, text.replace('file = "data.csv"', 'file = "missing.csv"'))
    assert cli.main(["run", str(path)]) == 2
    assert "[initial] file" in capsys.readouterr().err
    # rho_d = 0 on some cells (a KDE target far from its data, no background): the solver's
    # ValueError (bad input) becomes one line and exit code 2, not a traceback
    text = GOOD.replace('kind = "mixture"\nweights = [0.5, 0.5]\nmeans = [-1.5, 1.5]\ncovs = [0.4, 0.4]',
                        'kind = "samples"\nfile = "data.csv"\nbandwidth = 0.05')
    text = text.replace("lower = [-5.0]\nupper = [5.0]", "lower = [-40.0]\nupper = [40.0]")
    assert cli.main(["run", str(_write(tmp_path, text, "zero.toml")), "--out", str(tmp_path / "z")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "rho_d > 0" in err


def test_resume_gives_identical_results(tmp_path, monkeypatch, capsys):
    text = GOOD + (
        "\n[particles]\nn = 300\nvelocity = \"grid\"\ndt = 0.05\nseed = 3\nn_snapshots = 5\n")
    path = _write(tmp_path, text)
    assert cli.main(["run", str(path), "--out", str(tmp_path / "full"), "-q"]) == 0

    from fokkerplanck.io.checkpoint import Checkpoint

    original = Checkpoint.update_state

    def interrupted(self, state):  # Ctrl-C at step 11, after the checkpoints of steps 4 and 8
        original(self, state)
        if state.counters["n_steps"] == 11:
            raise KeyboardInterrupt

    monkeypatch.setattr(Checkpoint, "update_state", interrupted)
    out = tmp_path / "resumed"
    assert cli.main(["run", str(path), "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert "--resume" in err and "t = 0.4" in err  # the checkpoint after step 8 (t = 8 * 0.05)
    assert (out / "run.checkpoint.h5").exists() and not (out / "run.h5").exists()
    monkeypatch.setattr(Checkpoint, "update_state", original)
    assert cli.main(["run", str(path), "--out", str(out), "--resume"]) == 0
    assert "resuming from the checkpoint at t = 0.4" in capsys.readouterr().err
    a, b = load_run(tmp_path / "full" / "run.h5"), load_run(out / "run.h5")
    assert solutions_equal(a.solution, b.solution)
    assert np.array_equal(a.particles.positions, b.particles.positions)
    assert not (out / "run.checkpoint.h5").exists()
    # a checkpoint from another run file is refused rather than silently mixed in
    (tmp_path / "other").mkdir()
    other = _write(tmp_path / "other", text.replace("t_final = 1.0", "t_final = 1.5"))  # also named run.toml
    monkeypatch.setattr(Checkpoint, "update_state", interrupted)
    assert cli.main(["run", str(other), "--out", str(out), "-q"]) == 130
    monkeypatch.setattr(Checkpoint, "update_state", original)
    assert cli.main(["run", str(path), "--out", str(out), "--resume", "-q"]) == 2
    assert "different run" in capsys.readouterr().err


def test_info_plot_help_and_version(tmp_path, capsys):
    path = _write(tmp_path, GOOD)
    assert cli.main(["run", str(path), "--out", str(tmp_path), "-q"]) == 0
    assert cli.main(["info", str(tmp_path / "run.h5")]) == 0
    out = capsys.readouterr().out
    assert "jsd flow" in out and "11 saved densities" in out
    assert cli.main(["plot", str(tmp_path / "run.h5"), "--out", str(tmp_path / "figs"), "--no-animation"]) == 0
    assert {"overview.png", "convergence.png", "kymograph.png"} <= {p.name for p in (tmp_path / "figs").iterdir()}
    assert cli.main(["info", str(tmp_path / "none.h5")]) == 2
    assert cli.main([]) == 0 and "fokkerplanck demo" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        cli.main(["--version"])
    assert exc.value.code == 0 and fp.__version__ in capsys.readouterr().out
    assert load(tmp_path / "run.h5").options["dt"] == 0.05


def test_python_310_without_tomllib_gets_a_clear_message(tmp_path, monkeypatch, capsys):
    # Python 3.10 has no tomllib: without the optional 'tomli' the command says what to install
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    assert cli.main(["run", str(_write(tmp_path, GOOD))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Python >= 3.11" in err and "pip install tomli" in err
    assert cli.main(["demo", "--out", str(tmp_path / "demo")]) == 2
    assert "pip install tomli" in capsys.readouterr().err
