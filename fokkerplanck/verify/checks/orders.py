r"""What the two order checks share (:mod:`~.space_order`, :mod:`~.time_order`): the refinement ladder.

The ladders refine, they never coarsen below the run file's problem: level 0 is the run's grid
and step (or one level below them when the finest level would not fit the budget), and each
level halves the cell width or the step. The order is measured by self-convergence: the
differences :math:`d_k = \|u_k - u_{k+1}\|_{L^1}` between consecutive levels (the finer one
averaged down onto the coarser cells) behave like :math:`C h_k^p`, and the other
discretisation's error, the same on every level, cancels in them. ``p`` is the least-squares
slope of :math:`\log d_k` against :math:`\log h_k` with its standard error (:func:`fit_order`),
and the *local orders* :math:`\log(d_k/d_{k+1})/\log 2` say whether the ladder is asymptotic.

The pass rule is a fixed band (:meth:`OrderCheck.band`: 0.2 around the expected order in space;
0.1 around 1 in time, 0.2 for a second-order scheme): an order passes when the fitted order
*and* the local order of the finest pair lie inside it. The standard error is reported, never
added to the band. When they do not, the entry is

- ``inconclusive`` when the ladder is not asymptotic (the local orders still drift by more than
  the band, the difference reached a floor, or a single local order cannot show it), with the
  reason and the level that would settle it (``settle``: the next finer grid or step and the
  ``--levels`` that gives it);
- ``fail`` when the local orders have settled outside the band.

Where the exact solution is known (:func:`fokkerplanck.verify.exact.exact_solution`) the errors
against it are reported beside, with the other discretisation's error separated
(:func:`exact_errors`) and the floor that remains named.
"""

from __future__ import annotations

import dataclasses
import html
import math

import numpy as np

from ..exact import exact_solution, exact_solution_note
from .base import Check, fmt

__all__ = ["OrderCheck", "fit_order", "local_orders", "judge", "ORDER_SLACK", "SPACE_BAND", "TIME_BAND",
           "ROUNDOFF_FLOOR", "FLOOR_MARGIN"]

#: Former allowance of an order (``2 se + 0.1``); kept for old imports, no longer used by the rule.
ORDER_SLACK = 0.1
#: The band around the expected order in space.
SPACE_BAND = 0.2
#: The band around a first-order scheme's order in time (a higher-order scheme gets :data:`SPACE_BAND`).
TIME_BAND = 0.1
#: L1 differences below this are at the round-off floor: no order can be read from them.
ROUNDOFF_FLOOR = 1e-12
#: Errors against the exact solution within this factor of the floor that remains (the other
#: discretisation's error) are not used for the order: a floor of a tenth of the error already
#: bends the local order by ~0.1.
FLOOR_MARGIN = 10.0


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


def local_orders(h, err) -> list:
    """The order of each consecutive pair, ``log(e_k / e_{k+1}) / log(h_k / h_{k+1})`` (nan where undefined)."""
    h, e = np.asarray(h, float), np.asarray(err, float)
    out = []
    for k in range(len(e) - 1):
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(float(np.log(e[k] / e[k + 1]) / np.log(h[k] / h[k + 1]))
                       if e[k] > 0 and e[k + 1] > 0 else math.nan)
    return out


def judge(fitted, local, expected, band, floor=None, settle="") -> dict:
    """The status of an order (module docstring): ``pass`` when the fitted order and the local
    order of the finest pair lie within ``band`` of ``expected``; otherwise ``inconclusive``
    (not asymptotic: a floor reached (``floor``: its name), a single local order, local orders
    still drifting by more than the band) with ``reason`` and ``settle``, or ``fail``."""
    finest = local[-1] if local else math.nan
    inside = [math.isfinite(v) and abs(v - expected) <= band for v in (fitted, finest)]
    out = dict(status="pass", reason="", settle="", local_finest=finest)
    if all(inside):
        return out
    shown = ", ".join(fmt(v) for v in local)
    if floor:
        reason = f"a floor is reached ({floor}); local orders {shown}"
    elif len(local) < 2 or not all(math.isfinite(v) for v in local[-2:]):
        reason = f"a single local order ({shown}) cannot show that the ladder is asymptotic"
    elif abs(local[-1] - local[-2]) > band:
        reason = f"the local orders {shown} still drift (by more than {band:g})"
    elif inside[1]:
        reason = (f"the finest pair has order {fmt(finest)}, inside the band, but the fit over all levels "
                  f"({fmt(fitted)}) still carries the coarse, pre-asymptotic levels")
    else:
        out.update(status="fail", reason=(f"the local orders {shown} have settled outside {expected:g} +- {band:g}"))
        return out
    out.update(status="inconclusive", reason=reason, settle=settle)
    return out


class OrderCheck(Check):
    """An order of convergence from a refinement ladder (one case per level; module docstring).

    A subclass declares its one ladder case, the ``expected`` order, the ``band`` of the pass
    rule, the ladder's step sizes (:meth:`steps`), each level's grid (:meth:`grids`), how a level
    is brought onto the next coarser one (:meth:`on_coarser`), how each level is named in the
    report (:meth:`level_names`) and which level would settle an inconclusive ladder
    (:meth:`settle`)."""

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
    def band(cls, spec) -> float:
        """The half-width of the pass band around the expected order (never widened by the standard error)."""
        return SPACE_BAND

    @classmethod
    def tolerance(cls, stderr) -> float:
        """Former band of the pass rule (``2 se + 0.1``); not used by the rule any more (:meth:`band`)."""
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
    def level_names(cls, rows, spec) -> list:
        """What each level is, for the report (a grid shape or a step)."""
        return [fmt(h) for h in cls.steps(rows, spec)]

    @classmethod
    def settle(cls, rows, spec, levels) -> str:
        """The next finer level, which would settle an inconclusive ladder."""
        return ""

    @classmethod
    def on_coarser(cls, u, spec):
        """The cell values ``u`` of a level on the next coarser level's cells (default: as they are)."""
        return u

    @classmethod
    def exact_errors(cls, rows, results, fields, level_grids, out) -> dict:
        """Errors against the exact solution with the other discretisation's error separated, the
        floor that remains and the levels used: a dict merged into the entry (none by default)."""
        return {}

    @classmethod
    def aggregate(cls, results) -> dict:
        spec = results.spec
        rows = results.rows(cls.cases[0].kind)
        out = ladder(rows, spec, cls.steps, cls.grids, cls.on_coarser)
        out["expected"] = exp = float(cls.expected(spec))
        out["band"] = band = float(cls.band(spec))
        out["levels_used"] = cls.level_names(rows, spec)
        out["local_orders"] = loc = local_orders(out["h"][:-1], out["differences_final"])
        floor = None
        d = out["differences_final"]
        if d and min(d) <= ROUNDOFF_FLOOR:
            floor = f"round-off: a difference of {fmt(min(d))} <= {ROUNDOFF_FLOOR:g}"
        settle = cls.settle(rows, spec, results.levels)
        verdict = judge(out["value"], loc, exp, band, floor, settle)
        exact = out.pop("_exact", None)
        if exact is not None:
            out.update(cls.exact_errors(rows, results, exact[0], exact[1], out))
            ev = out.get("exact_verdict")
            if ev and verdict["status"] == "pass" and ev["status"] in ("fail", "inconclusive"):
                verdict = dict(ev, reason="against the exact solution: " + ev["reason"], local_finest=verdict["local_finest"])
        out.update(verdict)
        out["passed"] = out["status"] == "pass"
        return out

    @classmethod
    def table_rows(cls, entry) -> list:
        status = entry.get("status", "pass" if entry["passed"] else "fail")
        measured = f"{fmt(entry['value'])} +- {fmt(entry['stderr'], 2)} (finest pair {fmt(entry.get('local_finest'))})"
        rows = [(f"order in {cls.label}", measured, f"{fmt(entry['expected'])} +- {fmt(entry.get('band'))}", status)]
        if entry.get("exact_errors_final"):
            ev = entry.get("exact_verdict") or {}
            e = entry["exact_errors_final"]
            rows.append(("  against the exact solution", f"{fmt(entry.get('exact_order'))} (L1 errors {fmt(e[0], 2)} "
                         f".. {fmt(e[-1], 2)}, {entry.get('exact_levels', len(e))} of {len(e)} levels used)",
                         f"{fmt(entry['expected'])} +- {fmt(entry.get('band'))}", ev.get("status", "pass")))
        return rows

    @classmethod
    def notes(cls, entry) -> list:
        name = cls.key()[-1]
        lines = [f"{name} ladder: {', '.join(entry.get('levels_used') or [])}"]
        if entry.get("ladder_note"):
            lines.append(f"{name} ladder: {entry['ladder_note']}")
        if entry.get("exact_floor"):
            lines.append(f"{name} errors against the exact solution ({entry.get('exact_separation', '')}): floor = "
                         f"{entry['exact_floor']}" + ("; " + entry["exact_verdict"]["reason"]
                                                      if (entry.get("exact_verdict") or {}).get("status") == "floor"
                                                      else ""))
        if entry.get("status") in ("inconclusive", "fail"):
            lines.append(f"order in {cls.label} {entry['status']}: {entry['reason']}"
                         + (f"; would settle it: {entry['settle']}" if entry.get("settle") else ""))
        return lines

    @classmethod
    def section_intro(cls, report) -> str:
        note = report.get("exact_solution")
        return f"<p>Exact solution: {html.escape(note)}.</p>" if note else ""

    @classmethod
    def html(cls, entry, report) -> str:
        esc, x = html.escape, entry

        def join(values):
            return esc(", ".join(fmt(v) for v in values))

        status = x.get("status", "pass" if x["passed"] else "fail")
        text = (f"<h3>{cls.key()[-1]}: {esc(status)}</h3><p>levels {esc(', '.join(x.get('levels_used') or []))}; "
                f"h = {join(x['h'])}; L1 differences at t_final = "
                f"{join(x['differences_final'])}; local orders {join(x.get('local_orders') or [])}; fitted order "
                f"{fmt(x['value'])} +- {fmt(x['stderr'], 2)} (band {fmt(x.get('band'))} around {fmt(x['expected'])}); "
                f"orders at the save times {join(x['order_at_save_times'])} (t = "
                f"{join(x['times'])}); Richardson error of the finest level {fmt(x['richardson_error_finest'])}")
        if x.get("exact_errors_final"):
            text += (f"; L1 errors against the exact solution ({esc(x.get('exact_separation', ''))}) "
                     f"{join(x['exact_errors_final'])} (order {fmt(x['exact_order'])} +- {fmt(x['exact_stderr'], 2)}"
                     + (f"; floor: {esc(x['exact_floor'])}" if x.get("exact_floor") else "") + ")")
        text += "</p>"
        if x.get("ladder_note"):
            text += f"<p>{esc(x['ladder_note'])}</p>"
        if status != "pass":
            text += (f"<p><b>{esc(status)}</b>: {esc(x.get('reason', ''))}"
                     + (f"; would settle it: {esc(x['settle'])}" if x.get("settle") else "") + "</p>")
        return text

    @classmethod
    def draw(cls, ax, entry, results):
        o = entry
        h = np.asarray(o["h"], float)
        ax.loglog(h[:-1], o["differences_final"], "o-", label=r"$\|u_h - u_{h/2}\|_{L^1}$ at $t_{final}$")
        if o.get("exact_errors_final"):
            ax.loglog(h[:len(o["exact_errors_final"])], o["exact_errors_final"], "s--",
                      label="L1 error against the exact solution")
        ref = np.asarray(o["differences_final"], float)
        if ref.size and ref[-1] > 0:
            ax.loglog(h[:-1], ref[-1] * (h[:-1] / h[-2]) ** o["expected"], "k:",
                      label=f"order {o['expected']:g} (expected)")
        ax.set_xlabel(cls.axis_label)
        ax.set_ylabel("L1 difference / error at t_final")
        ax.set_xticks(h)
        ax.set_xticklabels([fmt(v, 2) for v in h], fontsize="small")
        ax.minorticks_off()
        ax.set_title(f"{cls.key()[-1]}: order {fmt(o['value'])} +- {fmt(o['stderr'], 2)}, "
                     f"{o.get('status', 'pass' if o['passed'] else 'fail')}")
        ax.legend(fontsize="small", frameon=False)
        ax.grid(True, which="both", alpha=0.3)


def ladder(rows, spec, steps, grids, on_coarser) -> dict:
    """Differences between consecutive levels at every save time and the orders (rows by level;
    module docstring). Where the exact solution is known, ``_exact`` holds the final fields and
    grids for :meth:`OrderCheck.exact_errors`."""
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
    if exact_solution(dataclasses.replace(spec, grid=level_grids[0]), times[-1]) is not None:
        out["_exact"] = ([f[-1] for f in fields], level_grids)
        out["exact_solution"] = exact_solution_note(spec, times[-1])
    return out


def exact_l1(spec, fields, level_grids, t) -> list:
    """L1 errors of ``fields`` (one per level) against the exact solution at ``t`` on each level's grid."""
    out = []
    for f, g in zip(fields, level_grids):
        ue = exact_solution(dataclasses.replace(spec, grid=g), t)
        out.append(float(np.sum(np.abs(np.asarray(f).reshape(g.shape) - ue)) * g.cell_volume))
    return out


def judge_exact(h, errors, expected, band, floor_value, floor_name, settle) -> dict:
    """The order against the exact solution, fitted on the leading levels whose error lies above
    :data:`FLOOR_MARGIN` times the floor that remains (``floor_value``, named ``floor_name``), judged like the ladder.

    Status ``floor`` when fewer than three levels lie above it: the order cannot be read against
    the exact solution, and the row names the floor (not a failure of the check); a failed or
    inconclusive order on the levels above the floor is that of the check."""
    errors = np.asarray(errors, float)
    above = errors > FLOOR_MARGIN * floor_value if math.isfinite(floor_value) else np.ones(errors.size, bool)
    n = int(np.argmin(above)) if not above.all() else errors.size      # the leading run of levels above it
    floor_txt = f"{floor_name}, about {fmt(floor_value, 2)}"
    if n < 3 and n < errors.size:
        pe, see = fit_order(h[:n], errors[:n]) if n >= 2 else (math.nan, math.nan)
        return dict(exact_order=pe, exact_stderr=see, exact_levels=n, exact_floor=floor_txt, exact_verdict=dict(
            status="floor", reason=(f"{errors.size - n} of {errors.size} errors lie within {FLOOR_MARGIN:g}x the floor "
                                                  f"({floor_txt}): the order cannot be read against the exact solution"),
            settle=settle, local_finest=math.nan))
    hh, ee = np.asarray(h, float)[:n], errors[:n]
    pe, see = fit_order(hh, ee)
    loc = local_orders(hh, ee)
    return dict(exact_order=pe, exact_stderr=see, exact_local_orders=loc, exact_levels=n,
                exact_floor=floor_txt if n < errors.size or floor_value > 0.1 * errors[-1] else "",
                exact_verdict=judge(pe, loc, expected, band, None, settle))
