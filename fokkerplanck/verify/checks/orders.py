r"""What the two order checks share (:mod:`~.space_order`, :mod:`~.time_order`): the refinement ladder.

The order is measured by self-convergence: the differences :math:`d_k = \|u_k - u_{k+1}\|_{L^1}`
between consecutive levels (the finer one averaged down onto the coarser cells) behave like
:math:`C h_k^p`, and the other discretisation's error, the same on every level, cancels in them.
``p`` is the least-squares slope of :math:`\log d_k` against :math:`\log h_k` with its standard
error (:func:`fit_order`); the Richardson-extrapolated error of the finest level is
:math:`d_{L-2}/(2^p - 1)`. Where the exact solution is known
(:func:`fokkerplanck.verify.exact.exact_solution`) the errors against it are reported beside,
with their order. An order passes when :math:`|p - p_{expected}| \le 2\,\mathrm{se} + 0.1` (the
0.1 allows for the pre-asymptotic drift of a 4-level ladder).
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np

from ..exact import exact_solution, exact_solution_note
from .base import Check, fmt

__all__ = ["OrderCheck", "fit_order", "ORDER_SLACK"]

#: Allowance of an order for the pre-asymptotic drift of a short ladder.
ORDER_SLACK = 0.1


def fit_order(h, err):
    """Least-squares slope ``p`` of ``log err = c + p log h`` and its standard error (nan if < 3 points)."""
    x, y = np.log(np.asarray(h, float)), np.log(np.asarray(err, float))
    if x.size < 2 or not np.all(np.isfinite(y)):
        return math.nan, math.nan
    xc = x - x.mean()
    p = float(xc @ (y - y.mean()) / (xc @ xc))
    if x.size < 3:
        return p, math.nan
    r = y - y.mean() - p * xc
    return p, math.sqrt(float(r @ r) / (x.size - 2) / float(xc @ xc))


class OrderCheck(Check):
    """An order of convergence from a refinement ladder (one case per level; module docstring).

    A subclass declares its one ladder case, the ``expected`` order, the ladder's step sizes
    (:meth:`steps`), each level's grid (:meth:`grids`) and how a level is brought onto the next
    coarser one (:meth:`on_coarser`)."""

    section = "Orders (self-convergence)"
    figure = ("Refinement ladders", (5, 3.8))
    #: label of the step axis of its figure panel
    axis_label = ""
    #: what it is called in the table ("order in ...")
    label = ""

    @classmethod
    def expected(cls, spec) -> float:
        """The order expected for a run file's problem."""
        raise NotImplementedError

    @classmethod
    def tolerance(cls, stderr) -> float:
        """The band of the pass rule: twice the standard error (0 when unknown) and :data:`ORDER_SLACK`."""
        return 2 * (stderr if math.isfinite(stderr) else 0.0) + ORDER_SLACK

    @classmethod
    def steps(cls, rows, spec) -> list:
        """The step size ``h`` of each level (rows by level)."""
        raise NotImplementedError

    @classmethod
    def grids(cls, rows, spec) -> list:
        """The :class:`~fokkerplanck.flow.grid.Grid` of each level."""
        raise NotImplementedError

    @classmethod
    def on_coarser(cls, u, spec):
        """The cell values ``u`` of a level on the next coarser level's cells (default: as they are)."""
        return u

    @classmethod
    def aggregate(cls, results) -> dict:
        spec = results.spec
        out = ladder(results.rows(cls.cases[0].kind), spec, cls.steps, cls.grids, cls.on_coarser)
        out["expected"] = exp = float(cls.expected(spec))
        out["passed"] = bool(math.isfinite(out["value"]) and abs(out["value"] - exp) <= cls.tolerance(out["stderr"]))
        return out

    @classmethod
    def table_rows(cls, entry) -> list:
        return [(f"order in {cls.label}", f"{fmt(entry['value'])} +- {fmt(entry['stderr'], 2)}",
                 f"{fmt(entry['expected'])}", entry["passed"])]

    @classmethod
    def section_intro(cls, report) -> str:
        note = report.get("exact_solution")
        return f"<p>Exact solution: {html.escape(note)}.</p>" if note else ""

    @classmethod
    def html(cls, entry, report) -> str:
        esc, x = html.escape, entry

        def join(values):
            return esc(", ".join(fmt(v) for v in values))

        text = (f"<h3>{cls.key()[-1]}</h3><p>h = {join(x['h'])}; differences at t_final = "
                f"{join(x['differences_final'])}; orders at the save times {join(x['order_at_save_times'])} (t = "
                f"{join(x['times'])}); Richardson error of the finest level {fmt(x['richardson_error_finest'])}")
        if x.get("exact_errors_final"):
            text += (f"; errors against the exact solution {join(x['exact_errors_final'])}"
                     f" (order {fmt(x['exact_order'])} +- {fmt(x['exact_stderr'], 2)})")
        return text + "</p>"

    @classmethod
    def draw(cls, ax, entry, results):
        o = entry
        h = np.asarray(o["h"], float)
        ax.loglog(h[:-1], o["differences_final"], "o-", label=r"$\|u_h - u_{h/2}\|_{L^1}$ at $t_{final}$")
        if o.get("exact_errors_final"):
            ax.loglog(h, o["exact_errors_final"], "s--", label="error against the exact solution")
        ref = np.asarray(o["differences_final"], float)
        if ref.size and ref[-1] > 0:
            ax.loglog(h[:-1], ref[-1] * (h[:-1] / h[-2]) ** o["expected"], "k:",
                      label=f"order {o['expected']:g} (expected)")
        ax.set_xlabel(cls.axis_label)
        ax.set_title(f"{cls.key()[-1]}: order {fmt(o['value'])} +- {fmt(o['stderr'], 2)}")
        ax.legend(fontsize="small", frameon=False)
        ax.grid(True, which="both", alpha=0.3)


def ladder(rows, spec, steps, grids, on_coarser) -> dict:
    """Differences between consecutive levels at every save time, the orders, and the errors
    against the exact solution where it is known (rows by level; module docstring)."""
    times = rows[0]["t"]
    hs, level_grids = steps(rows, spec), grids(rows, spec)
    fields = [np.asarray(r["u"], float).reshape(len(times), *g.shape) for r, g in zip(rows, level_grids)]
    diffs = []  # diffs[k][j]: level k vs k+1 at save time j, L1 on level k's cells
    for k in range(len(rows) - 1):
        vol = level_grids[k].cell_volume
        diffs.append([float(np.sum(np.abs(fields[k][j] - on_coarser(fields[k + 1][j], spec))) * vol)
                      for j in range(len(times))])
    diffs = np.asarray(diffs)
    p, se = fit_order(hs[:-1], diffs[:, -1])
    at_saves = [fit_order(hs[:-1], diffs[:, j])[0] if np.all(diffs[:, j] > 0) else math.nan
                for j in range(len(times))]
    richardson = float(diffs[-1, -1] / (2 ** p - 1)) if p > 0 else math.nan
    out = dict(h=hs, differences_final=diffs[:, -1].tolist(), times=list(times), order_at_save_times=at_saves,
               value=p, stderr=se, richardson_error_finest=richardson, method="self-convergence")
    exact = []
    for f, g in zip(fields, level_grids):
        ue = exact_solution(dataclasses.replace(spec, grid=g), times[-1])
        if ue is None:
            return out
        exact.append(float(np.sum(np.abs(f[-1] - ue)) * g.cell_volume))
    pe, see = fit_order(hs, exact)
    out.update(exact_errors_final=exact, exact_order=pe, exact_stderr=see,
               exact_solution=exact_solution_note(spec, times[-1]))
    return out
