"""fokkerplanck verify: the certificate on the OU example, and a failure it must catch."""

import dataclasses
import json

import pytest

import fokkerplanck as fp
from fokkerplanck.flow import divergences
from fokkerplanck.cli import main
from fokkerplanck.verify import verify

SMALL_OU = """
[grid]
lower = [-7.0]
upper = [7.0]
shape = [80]
[target]
kind = "gaussian"
mean = [0.0]
cov = 1.0
[initial]
kind = "gaussian"
mean = [1.0]
cov = 0.5
[flow]
divergence = "{div}"
t_final = 0.5
dt = 0.05
save_times = [0.0, 0.25, 0.5]
"""


@pytest.mark.slow
def test_verify_kl_ornstein_uhlenbeck_example(tmp_path):
    """The acceptance run: space order 2 and time order 1 within their uncertainties, every
    invariant, the rate, Lemma 24 and superposition pass; report.json has the documented keys."""
    rep = fp.verify("examples/kl_ornstein_uhlenbeck.toml", out=tmp_path, processes=False)  # fp.verify(...) is verify
    assert rep.passed
    data = json.loads((tmp_path / "report.json").read_text())
    for key in ("space", "time"):
        o = data["orders"][key]
        assert abs(o["value"] - o["expected"]) <= 2 * o["stderr"] + 0.1
    assert abs(data["orders"]["space"]["value"] - 2) < 0.05 and abs(data["orders"]["time"]["value"] - 1) < 0.05
    assert all(item["passed"] for item in data["invariants"].values())
    assert set(data["rate"]) >= {"predicted", "measured", "stderr", "window", "reached"} and data["rate"]["reached"]
    assert "data:image/png;base64," in (tmp_path / "report.html").read_text()
    # a rerun skips every finished case
    again = verify("examples/kl_ornstein_uhlenbeck.toml", out=tmp_path, processes=False)
    assert again["cases"]["computed"] == 0 and again["cases"]["skipped"] == again["cases"]["n"]


def test_verify_fails_for_a_divergence_with_a_wrong_phi_prime_at_one(tmp_path, capsys):
    """A user-defined divergence that *is* KL but states Phi'(1) = 0.5 (true value 1): its
    predicted rate is half the true one, so the rate check must fail and the exit code be 1,
    with the report still written. The same problem with the true KL passes the rate check."""
    wrong = dataclasses.replace(divergences.KULLBACK_LEIBLER, name="kl_wrong_phi1", phi_prime_at_one=0.5,
                                aliases=())
    with divergences.DIVERGENCES.restored():
        divergences.register(wrong)
        (tmp_path / "wrong.toml").write_text(SMALL_OU.format(div="kl_wrong_phi1"))
        code = main(["verify", str(tmp_path / "wrong.toml"), "--out", str(tmp_path / "w"), "--threads"])
        assert code == 1
        data = json.loads((tmp_path / "w" / "report.json").read_text())
        assert data["rate"]["reached"] and not data["rate"]["passed"] and not data["passed"]
        assert data["rate"]["measured"] == pytest.approx(2 * data["rate"]["predicted"], rel=0.05)
        assert "FAIL" in capsys.readouterr().out
    (tmp_path / "right.toml").write_text(SMALL_OU.format(div="kl"))
    right = verify(tmp_path / "right.toml", out=tmp_path / "r", processes=False)
    assert right["rate"]["passed"]


def test_verify_bad_run_file_exits_2_before_any_work(tmp_path, capsys):
    (tmp_path / "bad.toml").write_text(SMALL_OU.format(div="kl").replace("dt = 0.05", "dt = 0.03"))
    assert main(["verify", str(tmp_path / "bad.toml"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "not a multiple of dt" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
