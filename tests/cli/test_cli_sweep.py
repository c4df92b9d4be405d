"""``fokkerplanck sweep`` and its alias ``python -m fokkerplanck.sweep``: arguments and usage errors
(the sweeps themselves run in tests/sweep/test_sweep_table.py, on a shared cluster)."""

import subprocess
import sys

from fokkerplanck import cli


def test_bad_specs_are_usage_errors(tmp_path, capsys):
    assert cli.main(["sweep", str(tmp_path / "none.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("fokkerplanck: error: ") and "sweep spec not found" in err
    (tmp_path / "s.toml").write_text('study = "math:sqrt"\nparamters = {x = [1]}\n')
    assert cli.main(["sweep", str(tmp_path / "s.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "s.toml: paramters: unknown key" in err
    (tmp_path / "s.toml").write_text('study = "math:nope"\n[parameters]\nx = [1]\n')
    assert cli.main(["sweep", str(tmp_path / "s.toml")]) == 2
    assert "no function 'nope'" in capsys.readouterr().err


def test_arguments(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as exc:
        cli.main(["sweep", str(tmp_path / "s.toml"), "--workers", "0"])
    assert exc.value.code == 2 and "--workers" in capsys.readouterr().err
    for bad in ("0", "-1", "soon", "nan"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["sweep", str(tmp_path / "s.toml"), "--worker-timeout", bad])
        assert exc.value.code == 2 and "--worker-timeout: expected a positive number of seconds" in capsys.readouterr().err


def test_the_alias_is_the_same_command(tmp_path):
    res = subprocess.run([sys.executable, "-m", "fokkerplanck.sweep", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--scheduler" in res.stdout and "SPEC.toml" in res.stdout
    res = subprocess.run([sys.executable, "-m", "fokkerplanck.sweep", str(tmp_path / "none.toml")],
                         capture_output=True, text=True)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "sweep spec not found" in res.stderr
    res = subprocess.run([sys.executable, "-m", "fokkerplanck", "sweep", "--help"], capture_output=True, text=True)
    assert res.returncode == 0 and "--recompute" in res.stdout and "--worker-timeout SECONDS" in res.stdout
