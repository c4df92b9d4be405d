r"""The order in space: cells doubled per level (same box), at the run's step.

Level ``k`` of the ladder has ``base * 2**k`` cells per axis, ``base`` chosen so that the finest
level has about the run's cells; each level's densities at the save times are averaged down onto
the next coarser cells (:func:`fokkerplanck.analysis.exact.coarsen`). The finite-volume
discretisation is second order: the expected order is 2, a fact of the scheme in space, not of
the time-stepping scheme.
"""

from __future__ import annotations

import math

import numpy as np

from ...analysis.exact import coarsen
from ...flow.grid import Grid
from .base import Case, register
from .orders import OrderCheck

__all__ = ["SpaceOrder"]


@register
class SpaceOrder(OrderCheck):
    """The order in space (module docstring): expected 2."""

    name = "space_order"
    position = 10.0
    report_key = ("orders", "space")
    cases = (Case("space", ladder=True),)
    label = "space"
    axis_label = "cell width"

    @classmethod
    def expected(cls, spec) -> float:
        return 2.0

    @classmethod
    def run_case(cls, run) -> dict:
        spec = run.spec
        base = [max(2, math.ceil(n / 2 ** (run.levels - 1))) for n in spec.grid.shape]
        shape = [n * 2 ** run.level for n in base]
        sol = run.solve(grid=Grid(spec.grid.lower, spec.grid.upper, shape), dt=run.dt, t_eval=run.saves)
        return dict(shape=shape, t=sol.t.tolist(), u=sol.u.reshape(len(sol.t), -1).tolist())

    @classmethod
    def steps(cls, rows, spec) -> list:
        width = float(np.prod(np.asarray(spec.grid.upper) - np.asarray(spec.grid.lower)) ** (1 / spec.grid.ndim))
        return [width / r["shape"][0] for r in rows]

    @classmethod
    def grids(cls, rows, spec) -> list:
        return [Grid(spec.grid.lower, spec.grid.upper, r["shape"]) for r in rows]

    @classmethod
    def on_coarser(cls, u, spec):
        return coarsen(u, 2, spec.grid.ndim)
