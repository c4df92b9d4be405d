"""The run table's W1 column on periodic grids (issue 21): the circle / torus W1, or no column
(with the reason) where exact transport on the torus is too large and sliced would cut the seam."""

import io

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.cli.report import table

pytest.importorskip("ot")


def _run(shape):
    d = len(shape)
    g = fp.Grid([0.0] * d, [1.0] * d, shape, periodic=True)
    target, init = fp.Uniform([0.0] * d, [1.0] * d), fp.Gaussian([0.9] * d, np.eye(d) * 0.02)
    sol = fp.solve(target, init, g, t_final=0.01, dt=0.01, t_eval="steps")
    ens = fp.particles.simulate(target, init, 0.01, n=200, solution=sol, dt=0.01, seed=0, t_eval=[0.0, 0.01])
    out = io.StringIO()
    return table(sol, [0.0, 0.01], ens, out), out.getvalue()


def test_small_torus_gets_the_torus_w1_and_the_circle_its_w1():
    rows, text = _run([12, 10])
    assert all(r["w1_method"] == "exact" and r["w1"] > 0 for r in rows) and "W1 particles-grid" in text
    rows, _ = _run([40])
    assert all(r["w1_method"] == "exact" for r in rows)


def test_large_torus_has_no_w1_column_and_says_why():
    rows, text = _run([60, 60])  # 3600 cells > MAX_EXACT_DEFAULT atoms
    assert "no W1 particles-grid column" in text and all("w1" not in r for r in rows)
