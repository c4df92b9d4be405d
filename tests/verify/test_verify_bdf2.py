"""Issue 20: verify certifies a run file with ``scheme = "bdf2"``: it expects order 2 in time (from
the scheme's entry), measures it, and predicts the long-time rate with BDF2's own discrete rate."""

from __future__ import annotations

import json

import pytest

from fokkerplanck.cli import main
from fokkerplanck.flow.stepping import get_scheme


@pytest.mark.slow
def test_verify_a_bdf2_run_file(tmp_path, capsys):
    src = open("examples/kl_ornstein_uhlenbeck.toml").read().replace("[flow]\n", '[flow]\nscheme = "bdf2"\n', 1)
    (tmp_path / "ou.toml").write_text(src)
    code = main(["verify", str(tmp_path / "ou.toml"), "--out", str(tmp_path / "v"), "--threads"])
    data = json.loads((tmp_path / "v" / "report.json").read_text())
    t = data["orders"]["time"]
    assert t["expected"] == get_scheme("bdf2").order == 2
    assert abs(t["value"] - 2) <= 0.2  # measured 2.000 (+- 3e-6) on this problem
    assert data["rate"]["passed"]  # BDF2's discrete rate, 0.99977 predicted and measured
    assert code == 0, capsys.readouterr().out
