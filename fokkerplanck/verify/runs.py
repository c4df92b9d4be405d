r"""What the cases of a verification share on a worker: the problem's steps and scheme, and the
:class:`Run` of one case.

A check runs its cases through the :class:`Run` it is handed (:meth:`Run.solve` is the case's
flow run: the checks that measure every step or the finished solution of that kind of run are
attached to it) and may make further solves with :func:`solve` (not measured by other checks).
"""

from __future__ import annotations

import warnings

import numpy as np

from .._timeline import off_lattice
from ..flow.grid_density import GridDensity
from ..flow.problem import setup
from ..flow.solve import solve as _flow_solve
from ..flow.stepping import get_scheme

__all__ = ["Run", "solve", "problem_warnings", "ladder_steps", "scheme_of", "on_level", "EULER"]

#: The scheme of a run file that names none (backward Euler, the solver's default).
EULER = "euler"


def scheme_of(spec):
    """The time-stepping scheme entry of a run file's problem (``[flow] scheme``, default backward
    Euler): its ``order`` is the order in time verify expects and its ``discrete_rate`` the
    long-time rate it predicts."""
    return get_scheme(spec.solve_options.get("scheme", EULER))


def ladder_steps(spec):
    """``(dt, save_times)`` of level 0 of the time ladder: the run's ``dt`` (for an adaptive run
    ``t_final / 64``) and the save times that lie on its lattice (always ``t_final``)."""
    t_final = spec.t_final
    dt = spec.dt if spec.dt != "adaptive" else t_final / 64
    te = spec.solve_options.get("t_eval")
    te = np.asarray([t_final] if isinstance(te, str) or te is None else te, dtype=float)
    bad = off_lattice(te, dt, t_final)
    te = np.array([t for t in te if t not in bad and t > 0])
    return float(dt), sorted(set(te.tolist()) | {t_final})


def solve(spec, grid=None, dt=None, t_final=None, t_eval=None, initial=None, tracker=None, caught=None):
    """The flow of a run file's problem with some of its settings replaced (its scheme, not its
    other solver options). Its warnings are about a ladder level, not the user's run: they are
    not shown but appended to ``caught`` (a list; dropped when None)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        sol = _solve(spec, grid, dt, t_final, t_eval, initial, tracker)
    if caught is not None:
        caught.extend(str(w.message) for w in seen)
    return sol


def problem_warnings(spec) -> list:
    """The warnings about the run file's own problem (its grid, target and start), one line each;
    a ValueError for a problem the solver refuses (e.g. most of the target's mass outside the box)."""
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        setup(spec.target, spec.initial, spec.grid, spec.divergence)
    return [" ".join(str(w.message).split()) for w in seen]


def on_level(density, grid):
    """``density`` for a ladder level on ``grid``: a :class:`~fokkerplanck.GridDensity` (``kind =
    "array"``) on a refinement of its own grid (same box and periodic axes, an integer number of
    cells per cell) is the same piecewise-constant function, each value repeated on its sub-cells;
    other densities are returned as they are. Any other grid: ValueError with the reason."""
    if not isinstance(density, GridDensity) or grid is None or grid == density.grid:
        return density
    g = density.grid
    factors = [n // m for n, m in zip(grid.shape, g.shape)]
    same_box = np.array_equal(grid.lower, g.lower) and np.array_equal(grid.upper, g.upper)
    if (grid.periodic != g.periodic or not same_box
            or any(f < 1 or f * m != n for f, m, n in zip(factors, g.shape, grid.shape))):
        raise ValueError(f"{density.name} is given on {g!r}; a ladder level on {grid!r} is not a refinement of "
                         "that grid, so the values cannot be carried over.")
    values = density.values
    for axis, f in enumerate(factors):
        values = np.repeat(values, f, axis=axis)
    return GridDensity(grid, values, name=density.name)


def _solve(spec, grid, dt, t_final, t_eval, initial, tracker):
    grid = spec.grid if grid is None else grid
    target, initial = on_level(spec.target, grid), on_level(spec.initial if initial is None else initial, grid)
    return _flow_solve(target, initial, grid,
                       spec.t_final if t_final is None else t_final, dt, divergence=spec.divergence,
                       t_eval=t_eval, callback=tracker, scheme=scheme_of(spec).name)


class Run:
    """One case on a worker: the problem (``spec``), the case (``kind``, ``level``, ``levels``,
    ``params``), level 0's step and save times (``dt``, ``saves``), and the checks that watch its
    flow run (``watchers``: each one's :meth:`~fokkerplanck.verify.checks.base.Check.observer` is
    called at every step of :meth:`solve`; ``observers`` maps their names to what they returned)."""

    def __init__(self, spec, kind, level=0, levels=4, params=None, watchers=()):
        self.spec, self.kind, self.level, self.levels = spec, kind, int(level), int(levels)
        self.params = dict(params or {})
        self.dt, self.saves = ladder_steps(spec)
        self.watchers = list(watchers)
        #: warnings of this case's solves (about a ladder level, not the user's run)
        self.warnings = []
        self.observers = {}
        self.solution = None

    def solve(self, **options):
        """The case's flow run (:func:`solve` with ``options``), watched by ``watchers``; kept as
        ``solution`` for their measurements."""
        self.observers = {c.name: c.observer(self) for c in self.watchers}
        calls = [o for o in self.observers.values() if o is not None]

        def watch(t, v, record):
            for o in calls:
                o(t, v, record)

        self.solution = solve(self.spec, tracker=watch if calls else None, caught=self.warnings, **options)
        return self.solution
