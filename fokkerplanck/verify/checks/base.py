r"""The verify check entry: what every member of :data:`CHECKS` declares.

A check is a class that registers itself (``@register``) and carries every fact about itself:

- ``name`` (its registry name), ``position`` (its place in the report: rows, ``report.json`` and
  sections, lowest first) and ``report_key`` (where its entry goes in ``report.json``, a path of
  keys; default ``(name,)``);
- what to run: ``cases``, the sweep cases it contributes (:class:`Case`: a kind, one case per
  level of a refinement ladder or a single one, fixed parameters), and :meth:`~Check.run_case`,
  which runs one of them on a worker and returns its row; ``measures``, the kinds of the other
  checks' cases whose flow run it measures too (:meth:`~Check.observer` at every step,
  :meth:`~Check.measure` on the finished solution: entries added to their rows);
- how it aggregates the rows of a verification into its entry (:meth:`~Check.aggregate`, which
  applies its pass rule and band) and whether that entry passed (:meth:`~Check.passed`);
- its report: the table rows (:meth:`~Check.table_rows`), lines under the table
  (:meth:`~Check.notes`), its part of ``report.html`` (``section``, :meth:`~Check.html`) and its
  figure panel (``figure``, :meth:`~Check.draw`).

:func:`fokkerplanck.verify.verify`, :func:`fokkerplanck.verify.cases.run_case` and
:mod:`fokkerplanck.verify.report` read these entries in :func:`ordered` order; nothing else keeps a
list of checks. Adding a check is one file in this folder (docs/developer/verify_checks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..._registry import Registry

__all__ = ["Check", "Case", "Results", "CHECKS", "register", "ordered", "owner", "entry_of", "fmt"]

#: The registered verify checks, by name.
CHECKS = Registry("check")


def register(cls):
    """Class decorator: add a :class:`Check` subclass to :data:`CHECKS`."""
    return CHECKS.add(cls)


def ordered() -> list:
    """The registered checks in report order (``position``, then registration)."""
    return sorted(CHECKS, key=lambda c: c.position)


def owner(kind: str):
    """The check that contributes the cases of ``kind`` (a ValueError when none does)."""
    for check in ordered():
        if any(case.kind == kind for case in check.cases):
            return check
    raise ValueError(f"unknown verification case kind {kind!r}.")


def entry_of(report, check):
    """The entry of ``check`` in a report (``report.json`` as a dict)."""
    for key in check.key():
        report = report[key]
    return report


def fmt(v, d=3) -> str:
    """A number for the report: ``d`` significant digits, ``-`` for None, nan or inf."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, (bool, int, np.integer)):
        return str(v)
    return f"{v:.{d}g}"


@dataclass(frozen=True)
class Case:
    """Sweep cases a check contributes: ``kind`` (unique among the checks), one per level of a
    refinement ladder (``ladder=True``: levels ``0 .. levels-1``) or level 0 only, and fixed
    ``params`` (JSON scalars; they join the case's key, so changing them recomputes it)."""

    kind: str
    ladder: bool = False
    params: dict = field(default_factory=dict)

    def grid(self, levels: int) -> dict:
        """The sweep grid of these cases (:func:`fokkerplanck.sweep.expand_cases`)."""
        return dict(kind=[self.kind], level=list(range(levels)) if self.ladder else [0],
                    **{k: [v] for k, v in self.params.items()})


class Results:
    """The rows of a verification's cases, by kind, with the problem (``spec``) and ``levels``."""

    def __init__(self, spec, levels, rows):
        self.spec, self.levels = spec, levels
        self.by_kind = {}
        for row in rows:
            self.by_kind.setdefault(row["kind"], []).append(row)

    def rows(self, kind) -> list:
        """The rows of the cases of ``kind``, by level."""
        return sorted(self.by_kind.get(kind, []), key=lambda r: r["level"])

    def row(self, kind) -> dict:
        """The row of the single case of ``kind``."""
        return self.rows(kind)[0]

    def __iter__(self):
        return (row for rows in self.by_kind.values() for row in rows)


class Check:
    """Base class of the verify checks (see the module docstring for what a member declares)."""

    name = ""
    position = 100.0
    report_key = None
    cases: tuple = ()
    measures: tuple = ()
    #: heading of its section of report.html ("" for none; consecutive checks with the same heading share it)
    section = ""
    #: ``(title, (width, height))`` of its figure panel (None for none; consecutive checks with the same
    #: title are the panels of one figure, side by side)
    figure = None

    @classmethod
    def key(cls) -> tuple:
        """Where the entry goes in ``report.json``."""
        return tuple(cls.report_key or (cls.name,))

    # -- on a worker ------------------------------------------------------------------------
    @classmethod
    def run_case(cls, run) -> dict:
        """The row of one of its cases (``run``: a :class:`fokkerplanck.verify.runs.Run`)."""
        raise NotImplementedError(f"the check {cls.name!r} contributes no cases")

    @classmethod
    def measures_run(cls, kind) -> bool:
        """Whether it measures the flow run of a case of ``kind``."""
        return kind in cls.measures

    @classmethod
    def observer(cls, run):
        """A callback ``(t, v, record)`` for every step of a measured run (None: none)."""
        return None

    @classmethod
    def measure(cls, run) -> dict:
        """Entries added to a measured case's row, from ``run.solution`` and its observer."""
        return {}

    # -- in the driver ----------------------------------------------------------------------
    @classmethod
    def aggregate(cls, results: Results) -> dict:
        """Its entry of ``report.json`` from the rows of the cases (with its pass rule applied).

        An entry may name the exact solution it was measured against (``exact_solution``, one
        line); the report shows the first one."""
        raise NotImplementedError

    @classmethod
    def passed(cls, entry) -> bool:
        """Whether its entry passed (default: ``entry["passed"]``)."""
        return bool(entry["passed"])

    @classmethod
    def status(cls, entry) -> str:
        """``"pass"``, ``"fail"`` or ``"inconclusive"`` (what was measured cannot settle the check:
        the entry's ``reason`` says why and ``settle`` what would); default: ``entry["status"]``, else
        pass or fail from :meth:`passed`."""
        status = entry.get("status") if isinstance(entry, dict) else None
        return status or ("pass" if cls.passed(entry) else "fail")

    # -- the report -------------------------------------------------------------------------
    @classmethod
    def table_rows(cls, entry) -> list:
        """``(check, measured, expected / bound, status)`` rows of the summary table (status: a
        bool for pass / fail, or ``"pass"``, ``"fail"``, ``"inconclusive"``)."""
        return []

    @classmethod
    def notes(cls, entry) -> list:
        """Lines printed under the summary table."""
        return []

    @classmethod
    def section_intro(cls, report) -> str:
        """HTML that opens its section when it is the section's first check."""
        return ""

    @classmethod
    def html(cls, entry, report) -> str:
        """Its part of its section of report.html."""
        return ""

    @classmethod
    def draw(cls, ax, entry, results: Results):
        """Draw its figure panel on the matplotlib axes ``ax``."""
