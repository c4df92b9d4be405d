"""A sweep over a periodic run file (issue 21): every case reads the run file, keeps its periodic
axes at another resolution, and the table holds what was measured (the spectral gap of the uniform
target on the circle against its closed form, mass)."""

import csv
import textwrap

import numpy as np

from fokkerplanck.cli import main

RUN = """
[grid]
lower = [0.0]
upper = [1.0]
shape = [40]
periodic = true
[target]
kind = "uniform"
[initial]
kind = "gaussian"
mean = [0.9]
cov = 0.01
[flow]
divergence = "jsd"
t_final = 0.05
dt = 0.01
"""

STUDY = textwrap.dedent('''
    import numpy as np
    import fokkerplanck as fp
    from fokkerplanck.io.runfile import read_run_file

    def on_grid(run_file, n):
        spec = read_run_file(run_file)
        grid = fp.Grid(spec.grid.lower, spec.grid.upper, [n], periodic=spec.grid.periodic)
        sol = fp.solve(spec.target, spec.initial, grid, spec.t_final, dt=spec.dt, divergence=spec.divergence)
        return dict(periodic=bool(grid.is_periodic), gap=fp.theory.spectral_gap(spec.target, grid),
                    mass=float(sol.history["mass"][-1]), l1=float(sol.history["l1"][-1]))
''')


def test_a_sweep_over_a_periodic_run_file(tmp_path, capsys):
    (tmp_path / "circle.toml").write_text(RUN)
    (tmp_path / "study.py").write_text(STUDY)
    (tmp_path / "sweep.toml").write_text(textwrap.dedent(f'''
        name = "periodic"
        study = "study.py:on_grid"
        [fixed]
        run_file = "{(tmp_path / 'circle.toml').as_posix()}"
        [parameters]
        n = [20, 40, 80]
    '''))
    code = main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr()
    rows = list(csv.DictReader(open(tmp_path / "out" / "periodic.csv")))
    assert sorted(int(r["n"]) for r in rows) == [20, 40, 80]
    for r in rows:
        h = 1 / int(r["n"])
        assert r["periodic"] == "True"
        # the circle's first mode cos(2 pi x): (4 / h^2) sin^2(pi h), against the solver's gap
        assert abs(float(r["gap"]) / (4 / h ** 2 * np.sin(np.pi * h) ** 2) - 1) < 1e-10
        assert abs(float(r["mass"]) - 1) < 1e-12
    # a rerun computes nothing new
    assert main(["sweep", str(tmp_path / "sweep.toml"), "--out", str(tmp_path / "out")]) == 0
    assert "3 already done" in capsys.readouterr().out
