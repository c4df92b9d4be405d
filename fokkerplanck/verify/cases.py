r"""The cases of a verification, run as tasks by :func:`fokkerplanck.sweep.run_sweep`.

:func:`run_case` is the sweep's study function (``fokkerplanck.verify.cases:run_case``, the name
the keys of finished cases are made with). It takes the run file's path (and its fingerprint, so
a rerun after an edit of the file recomputes), the case's ``kind`` and ``level``, and returns one
row of scalars and flat lists (JSON), computed on a worker by the check that contributes cases of
that kind (:meth:`fokkerplanck.verify.checks.base.Check.run_case`), with the entries of the checks
that measure its flow run. The kinds of today's checks:

- ``space`` (:mod:`~fokkerplanck.verify.checks.space_order`): the flow on a grid with
  ``base * 2**level`` cells per axis (same box), at the run's step; the densities at the save times.
- ``time`` (:mod:`~fokkerplanck.verify.checks.time_order`): the flow on the run's grid with steps
  ``dt / 2**level``; the densities at the save times.
- ``long`` (:mod:`~fokkerplanck.verify.checks.rate`): the run continued long enough for the L1
  distance to fall to ~1e-10 at the predicted rate, at a fixed step ``h <= 0.05 / r``; the
  fitted rate, Lemma 24 (:mod:`~fokkerplanck.verify.checks.lemma24`).
- ``contraction`` (:mod:`~fokkerplanck.verify.checks.invariants`): the run and one from a perturbed
  start (``0.8 rho_0 + 0.2 rho_d``), the L1 distance between them at every step.
- ``particles`` (:mod:`~fokkerplanck.verify.checks.superposition`): grid-driven particles
  against the grid density, W1 against the sampling floor.

The invariants are measured at every step of the flow run of every case that has one (``space``,
``time``, ``long``).
"""

from __future__ import annotations

from ..io.runfile import read_run_file
from . import checks
from .checks.invariants import INVARIANT_TOL
from .runs import Run, ladder_steps, solve as _solve  # noqa: F401  (_solve: the former helper's name)

__all__ = ["run_case", "ladder_steps", "INVARIANT_TOL"]


def run_case(runfile: str, fingerprint: str, kind: str, level: int = 0, levels: int = 4, **params):
    """One case of a verification (see the module docstring); a dict of scalars and flat lists."""
    check = checks.owner(kind)
    spec = read_run_file(runfile)
    watchers = [c for c in checks.ordered() if c is not check and c.measures_run(kind)]
    run = Run(spec, kind, level, levels, params, watchers)
    row = check.run_case(run)
    if run.solution is not None:
        for c in watchers:
            row.update(c.measure(run))
    if run.warnings:  # about this level's grid or step, not the user's run: kept for the report
        row["level_warnings"] = sorted(set(" ".join(w.split()) for w in run.warnings))
    return row
