"""fokkerplanck verify on periodic run files (issue 21): the ladders keep the periodic axes, the
rate check holds the spectral gap to its closed form on the torus, superposition uses the circle /
torus W1, and a target given as an array is carried to the finer levels."""

import json

import numpy as np
import pytest

from fokkerplanck.cli import main
from fokkerplanck.verify import verify

pytest.importorskip("ot")

RUN = """
[grid]
lower = {lower}
upper = {upper}
shape = {shape}
periodic = {periodic}
[target]
{target}
[initial]
kind = "gaussian"
mean = {mean}
cov = {cov}
[flow]
divergence = "jsd"
t_final = 0.05
dt = 0.01
save_times = [0.0, 0.05]
"""

CIRCLE = RUN.format(lower="[0.0]", upper="[1.0]", shape="[40]", periodic="true", target='kind = "uniform"',
                    mean="[0.9]", cov="0.01")


def test_a_periodic_1d_run_file_verifies_with_the_closed_form_gap(tmp_path):
    (tmp_path / "c.toml").write_text(CIRCLE)
    rep = verify(tmp_path / "c.toml", out=tmp_path / "v", levels=3, processes=False)
    data = json.loads((tmp_path / "v" / "report.json").read_text())
    assert rep.passed, data
    h = 1 / 40
    closed = 4 / h ** 2 * np.sin(np.pi * h) ** 2  # the first mode of the circle: cos(2 pi x)
    assert data["rate"]["lambda1_closed_form"] == pytest.approx(closed, rel=1e-14)
    assert data["rate"]["lambda1"] == pytest.approx(closed, rel=1e-10)
    # measured: space order 2.006, time order 0.94 on these ladders (40, 80, 160 cells); rate 9.6110 both
    assert abs(data["orders"]["space"]["value"] - 2) < 0.1 and data["orders"]["space"]["grids"] == [[40], [80], [160]]
    assert data["superposition"]["method"] == "circle"


def test_a_2d_periodic_run_file_verifies(tmp_path):
    text = RUN.format(lower="[0.0, 0.0]", upper="[1.0, 2.0]", shape="[8, 12]", periodic="[true, false]",
                      target='kind = "gaussian"\nmean = [0.5, 1.0]\ncov = [[0.05, 0.0], [0.0, 0.05]]',
                      mean="[0.9, 1.3]", cov="[[0.02, 0.0], [0.0, 0.02]]")
    (tmp_path / "t.toml").write_text(text)
    code = main(["verify", str(tmp_path / "t.toml"), "--out", str(tmp_path / "v"), "--levels", "3", "--threads"])
    data = json.loads((tmp_path / "v" / "report.json").read_text())
    # measured: space order 2.08, time order 0.93, rate 4.46088 against 4.46088, torus W1 / floor 1.09
    assert code == 0 and data["passed"], data
    assert data["superposition"]["method"] == "torus"
    assert "lambda1_closed_form" not in data["rate"]  # a Gaussian target: no closed form
    assert data["orders"]["space"]["grids"] == [[8, 12], [16, 24], [32, 48]]


def test_an_array_target_is_carried_to_the_finer_levels(tmp_path):
    cells = 20
    x = (np.arange(cells) + 0.5) / cells
    np.savetxt(tmp_path / "target.csv", 1 + 0.5 * np.cos(2 * np.pi * x))
    (tmp_path / "a.toml").write_text(RUN.format(lower="[0.0]", upper="[1.0]", shape=f"[{cells}]", periodic="true",
                                                target='kind = "array"\nfile = "target.csv"', mean="[0.9]",
                                                cov="0.01"))
    verify(tmp_path / "a.toml", out=tmp_path / "v", levels=3, processes=False)
    data = json.loads((tmp_path / "v" / "report.json").read_text())
    space = data["orders"]["space"]
    assert space["grids"] == [[20], [40], [80]] and "piecewise constant" in space["ladder_note"]
    # measured: order 2.03 here (small jumps of a smooth profile, pre-asymptotic); many jumps lower it,
    # see the next test
    assert space["status"] == "pass" and abs(space["value"] - 2) < 0.1


@pytest.mark.slow
def test_the_periodic_1d_example_verifies_and_its_array_ladder_is_inconclusive(tmp_path):
    rep = verify("examples/periodic_1d.toml", out=tmp_path, processes=False)
    data = json.loads((tmp_path / "report.json").read_text())
    space = data["orders"]["space"]
    # measured (4 levels, 200..1600 cells): local orders 1.27, 1.16, settled outside 2 +- 0.2: with 200
    # jumps of the piecewise-constant target the order tends to 1 (walls too: 0.74 on 200..800 cells), so
    # the ladder is inconclusive, with that reason; never a pass
    assert space["status"] == "inconclusive" and "jumps at the run's cell faces" in space["reason"]
    assert not rep.passed
    assert data["orders"]["time"]["passed"] and data["rate"]["passed"] and data["superposition"]["passed"]
    assert data["superposition"]["method"] == "circle"
    assert all(item["passed"] for item in data["invariants"].values())
