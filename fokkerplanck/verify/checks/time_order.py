r"""The order in time: steps halved per level (``dt / 2**k``), on the run's grid.

The ladder refines the run file's step: level 0 is the run's ``dt``. The expected order is the
time-stepping scheme's (``order`` of its entry in :data:`fokkerplanck.flow.stepping.SCHEMES`: 1 for
backward Euler, the solver's default); the band is 0.1 around a first order, 0.2 around a higher
one. Where the exact solution is known, the errors against it carry the run grid's space error,
the floor they level off at: it is measured (the time-extrapolated finest levels against the
exact solution) and named, and the order is fitted on the levels above it.
"""

from __future__ import annotations

import numpy as np

from .base import Case, fmt, register
from .orders import SPACE_BAND, TIME_BAND, OrderCheck, exact_l1, judge_exact
from ..runs import scheme_of

__all__ = ["TimeOrder"]


@register
class TimeOrder(OrderCheck):
    """The order in time (module docstring): expected the scheme's order."""

    name = "time_order"
    position = 20.0
    report_key = ("orders", "time")
    cases = (Case("time", ladder=True),)
    label = "time"
    axis_label = "step"

    @classmethod
    def expected(cls, spec) -> float:
        return scheme_of(spec).order

    @classmethod
    def band(cls, spec) -> float:
        return TIME_BAND if scheme_of(spec).order <= 1 else SPACE_BAND

    @classmethod
    def run_case(cls, run) -> dict:
        dt = run.dt / 2 ** run.level
        sol = run.solve(dt=dt, t_eval=run.saves)
        return dict(dt=dt, t=sol.t.tolist(), u=sol.u.reshape(len(sol.t), -1).tolist())

    @classmethod
    def steps(cls, rows, spec) -> list:
        return [r["dt"] for r in rows]

    @classmethod
    def grids(cls, rows, spec) -> list:
        return [spec.grid] * len(rows)

    @classmethod
    def level_names(cls, rows, spec) -> list:
        return [f"dt {fmt(r['dt'])}" for r in rows]

    @classmethod
    def settle(cls, rows, spec, levels) -> str:
        return f"a smaller step, dt {fmt(rows[-1]['dt'] / 2)} (--levels {levels + 1})"

    @classmethod
    def aggregate(cls, results) -> dict:
        out = super().aggregate(results)
        out["steps"] = [r["dt"] for r in results.rows(cls.cases[0].kind)]
        return out

    @classmethod
    def exact_errors(cls, rows, results, fields, level_grids, out) -> dict:
        spec = results.spec
        t = out["times"][-1]
        errors = exact_l1(spec, fields, level_grids, t)
        q = 2.0 ** out["expected"]
        extrapolated = (q * fields[-1] - fields[-2]) / (q - 1)
        floor = exact_l1(spec, [extrapolated], level_grids[:1], t)[0]
        res = dict(exact_errors_final=errors, exact_separation=(
            "on the run's grid; its space error is the floor, measured by the time-extrapolated finest levels"))
        res.update(judge_exact(out["h"], errors, out["expected"], out["band"], floor,
                               f"the space error of the run's grid {'x'.join(map(str, spec.grid.shape))}",
                               f"a finer grid ({'x'.join(str(2 * n) for n in spec.grid.shape)})"))
        return res
