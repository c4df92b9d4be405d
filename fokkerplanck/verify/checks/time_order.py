r"""The order in time: steps halved per level (``dt / 2**k``), on the run's grid.

The expected order is the time-stepping scheme's (``order`` of its entry in
:data:`fokkerplanck.flow.stepping.SCHEMES`: 1 for backward Euler, the solver's default).
"""

from __future__ import annotations

from .base import Case, register
from .orders import OrderCheck
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
