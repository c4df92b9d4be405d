r"""The order in space: cells doubled per level (same box), at the run's step.

The ladder refines the run file's grid: level ``k`` has ``base * 2**k`` cells per axis, ``base``
the run's cells per axis, or half of them when the finest level would exceed
:data:`MAX_LADDER_CELL_STEPS` (cells x steps; the ladder then starts one level below the run's
grid, and the entry says so). Each level's densities at the save times are averaged down onto
the next coarser cells (:func:`fokkerplanck.analysis.exact.coarsen`). The finite-volume
discretisation is second order: the expected order is 2, a fact of the scheme in space, not of
the time-stepping scheme.

Where the exact solution is known, each level is also run with the step halved and the time
error removed by Richardson extrapolation (:func:`time_extrapolated`), so that the errors against
the exact solution are space errors; what remains of the time error is estimated from the time
ladder and named as the floor.

A density given by its values on the run's grid (``kind = "array"``, a
:class:`~fokkerplanck.GridDensity`) is carried to the finer levels piecewise constant
(:func:`fokkerplanck.verify.runs.on_level`); it then jumps at the run's cell faces, where order 2
is not established: the entry says so, and a ladder that settles away from 2 is inconclusive, not
a failure (nor a pass).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ...analysis.exact import coarsen
from ...flow.grid import Grid
from ...flow.grid_density import GridDensity
from ..exact import exact_solution
from ..runs import scheme_of, solve
from .base import Case, fmt, register
from .orders import OrderCheck, exact_l1, judge_exact

__all__ = ["SpaceOrder", "MAX_LADDER_CELL_STEPS", "base_shape"]

#: Cells x steps of the finest level of the space ladder beyond which it starts one level below
#: the run's grid.
MAX_LADDER_CELL_STEPS = 3 * 10**7


def base_shape(spec, levels, dt) -> tuple:
    """``(shape of level 0, note)``: the run's grid, or one level below it when the finest level
    would exceed :data:`MAX_LADDER_CELL_STEPS` (the note says so; "" otherwise)."""
    shape = list(spec.grid.shape)
    steps = max(1, round(spec.t_final / dt))
    finest = int(np.prod(shape)) * 2 ** (spec.grid.ndim * (levels - 1)) * steps
    if finest <= MAX_LADDER_CELL_STEPS:
        return shape, ""
    below = [max(2, math.ceil(n / 2)) for n in shape]
    return below, (f"starts one level below the run's grid ({'x'.join(map(str, below))}): the finest level on the "
                   f"run's grid would take {finest:.3g} cell-steps (budget {MAX_LADDER_CELL_STEPS:.3g})")


def time_extrapolated(u_dt, u_half, order) -> np.ndarray:
    """Richardson extrapolation in the step: ``(2^q u_{dt/2} - u_dt) / (2^q - 1)``."""
    f = 2.0 ** order
    return (f * np.asarray(u_half) - np.asarray(u_dt)) / (f - 1.0)


@register
class SpaceOrder(OrderCheck):
    """The order in space (module docstring): expected 2."""

    name = "space_order"
    position = 10.0
    report_key = ("orders", "space")
    cases = (Case("space", ladder=True, params=dict(ladder="refine")),)
    label = "space"
    axis_label = "cell width"

    @classmethod
    def expected(cls, spec) -> float:
        return 2.0

    @classmethod
    def run_case(cls, run) -> dict:
        spec = run.spec
        base, _ = base_shape(spec, run.levels, run.dt)
        shape = [n * 2 ** run.level for n in base]
        grid = Grid(spec.grid.lower, spec.grid.upper, shape, periodic=spec.grid.periodic)
        sol = run.solve(grid=grid, dt=run.dt, t_eval=run.saves)
        row = dict(shape=shape, t=sol.t.tolist(), u=sol.u.reshape(len(sol.t), -1).tolist())
        if exact_solution(dataclasses.replace(spec, grid=grid), spec.t_final) is not None:
            half = solve(spec, grid=grid, dt=run.dt / 2, t_eval=[spec.t_final])
            row["u_time_extrapolated"] = time_extrapolated(sol.u[-1], half.u[-1], scheme_of(spec).order).ravel().tolist()
        return row

    @classmethod
    def steps(cls, rows, spec) -> list:
        width = float(np.prod(np.asarray(spec.grid.upper) - np.asarray(spec.grid.lower)) ** (1 / spec.grid.ndim))
        return [width / r["shape"][0] for r in rows]

    @classmethod
    def grids(cls, rows, spec) -> list:
        return [Grid(spec.grid.lower, spec.grid.upper, r["shape"], periodic=spec.grid.periodic) for r in rows]

    @classmethod
    def level_names(cls, rows, spec) -> list:
        return ["x".join(map(str, r["shape"])) for r in rows]

    @classmethod
    def settle(cls, rows, spec, levels) -> str:
        finer = "x".join(str(n * 2) for n in rows[-1]["shape"])
        return f"a finer level, grid {finer} (--levels {levels + 1})"

    @classmethod
    def aggregate(cls, results) -> dict:
        out = super().aggregate(results)
        rows = results.rows(cls.cases[0].kind)
        spec = results.spec
        base = rows[0]["shape"]
        if list(base) != list(spec.grid.shape):
            out["ladder_note"] = (f"starts one level below the run's grid ({'x'.join(map(str, base))}): the finest "
                                  f"level on the run's grid would exceed the budget of {MAX_LADDER_CELL_STEPS:.3g} "
                                  "cell-steps")
        arrays = [role for role, d in (("target", spec.target), ("initial density", spec.initial))
                  if isinstance(d, GridDensity)]
        if arrays:
            out["ladder_note"] = ((out.get("ladder_note", "") + "; ") if out.get("ladder_note") else "") + (
                f"the {' and '.join(arrays)} given as values on the run's grid (kind = \"array\") "
                f"{'is' if len(arrays) == 1 else 'are'} used piecewise constant on the finer levels (jumps at the "
                "run's cell faces), which can lower the order below 2")
            if out.get("status") == "fail":  # order 2 is the scheme's for smooth data, not established with jumps
                out.update(status="inconclusive", passed=False, reason=(
                    f"{out['reason']}; but the order 2 is established for smooth densities, and the "
                    f"{' and '.join(arrays)} here {'jumps' if len(arrays) == 1 else 'jump'} at the run's cell faces"),
                    settle="the same flow with the densities in closed form (kind = \"gaussian\", \"mixture\", ...)")
        out["grids"] = [r["shape"] for r in rows]
        return out

    @classmethod
    def exact_errors(cls, rows, results, fields, level_grids, out) -> dict:
        spec = results.spec
        t = out["times"][-1]
        if not all("u_time_extrapolated" in r for r in rows):
            return {}
        errors = exact_l1(spec, [r["u_time_extrapolated"] for r in rows], level_grids, t)
        floor = _remaining_time_error(results, spec)
        res = dict(exact_errors_final=errors, exact_separation=(
            "each level run at dt and dt/2, the time error removed by Richardson extrapolation"))
        res.update(judge_exact(out["h"], errors, out["expected"], out["band"], floor,
                               "the time error left after Richardson extrapolation in the step",
                               f"a smaller step (dt = {fmt(spec.dt / 2 if spec.dt != 'adaptive' else math.nan)})"))
        return res

    @classmethod
    def on_coarser(cls, u, spec):
        return coarsen(u, 2, spec.grid.ndim)


def _remaining_time_error(results, spec) -> float:
    """The L1 size of the time error left after one Richardson extrapolation from dt and dt/2,
    estimated on the run's grid from the first three levels of the time ladder (nan without them)."""
    rows = results.rows("time")
    if len(rows) < 3:
        return math.nan
    q = 2.0 ** scheme_of(spec).order
    u = [np.asarray(r["u"], float).reshape(len(r["t"]), -1)[-1] for r in rows[:3]]
    r01, r12 = (q * u[1] - u[0]) / (q - 1), (q * u[2] - u[1]) / (q - 1)
    # the remainder is of order q+1 at least (second order for backward Euler): R01 - R_exact ~ (R01 - R12) * 4/3
    return float(np.sum(np.abs(r01 - r12)) * spec.grid.cell_volume * 4.0 / 3.0)
