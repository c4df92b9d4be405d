"""The outputs of :func:`fokkerplanck.verify.verify`: ``report.json``, a self-contained ``report.html``
(figures inline as base64 PNG, readable offline) and the terminal table."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path

import numpy as np

from ..io.atomic import write_text
from .checks import entry_of, ordered

__all__ = ["write", "table", "summary_rows"]


def _clean(o):
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    if isinstance(o, (np.floating, float)):
        return float(o) if math.isfinite(o) else None
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, Path):
        return str(o)
    return o


def _groups(items, key):
    """Runs of consecutive ``(check, entry)`` items with the same ``key(check)`` (skipping falsy keys)."""
    groups = []
    for check, entry in items:
        k = key(check)
        if not k:
            continue
        if groups and groups[-1][0] == k:
            groups[-1][1].append((check, entry))
        else:
            groups.append((k, [(check, entry)]))
    return groups


def _entries(r) -> list:
    """``(check, entry)`` of every registered check, in report order."""
    return [(check, entry_of(r, check)) for check in ordered()]


def _status(ok) -> str:
    """A row's status: ``"pass"``, ``"FAIL"`` or ``"INCONCLUSIVE"`` (rows give a bool or a status)."""
    if isinstance(ok, str):
        return {"pass": "pass", "fail": "FAIL", "inconclusive": "INCONCLUSIVE", "floor": "at a floor"}.get(ok, ok)
    return "pass" if ok else "FAIL"


def verdict(r) -> str:
    """The report's headline: PASSED (every check passed), FAILED (one failed) or INCONCLUSIVE."""
    return {"passed": "PASSED", "failed": "FAILED", "inconclusive": "INCONCLUSIVE"}.get(
        r.get("status"), "PASSED" if r["passed"] else "FAILED")


def summary_rows(r) -> list:
    """``(check, measured, expected / bound, status)`` rows of a report (status: a bool or a string)."""
    return [row for check, entry in _entries(r) for row in check.table_rows(entry)]


def table(r, stream):
    rows = summary_rows(r)
    w = max((len(a) for a, *_ in rows), default=0)
    wb = max((len(b) for _, b, *_ in rows), default=0)
    wc = max((len(c) for _, _, c, _ in rows), default=0)
    print(f"fokkerplanck verify {r['runfile']}  ({r['divergence']}, grid {r['grid']}, dt {r['dt']}, "
          f"{r['levels']} levels)", file=stream)
    for a, b, c, ok in rows:
        print(f"  {a:<{w}}  {b:<{wb}}  {c:<{wc}}  {_status(ok)}", file=stream)
    if r.get("exact_solution"):
        print(f"  exact solution: {r['exact_solution']}", file=stream)
    for check, entry in _entries(r):
        for line in check.notes(entry):
            print(f"  {line}", file=stream)
    if r.get("warnings"):
        print(f"  warnings about the run file's problem: {'; '.join(r['warnings'])}", file=stream)
    print(f"{verdict(r)}: report in {Path(r['out']) / 'report.html'}", file=stream)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _figures(r, results) -> list:
    """``(title, base64 PNG)`` of each figure: the panels of consecutive checks with the same
    ``figure`` title side by side."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is an extra
        return []
    figs = []
    for (title, (width, height)), panels in _groups(_entries(r), lambda check: check.figure):
        fig, axes = plt.subplots(1, len(panels), figsize=(width * len(panels), height), squeeze=False)
        for ax, (check, entry) in zip(axes[0], panels):
            check.draw(ax, entry, results)
        figs.append((title, _png(fig)))
    return figs


def _sections(r) -> str:
    """The checks' parts of report.html: one ``<h2>`` section per run of checks with the same
    ``section`` heading, opened by the first one's :meth:`~fokkerplanck.verify.checks.base.Check.section_intro`."""
    out = []
    for heading, parts in _groups(_entries(r), lambda check: check.section):
        body = parts[0][0].section_intro(r) + "".join(check.html(entry, r) for check, entry in parts)
        out.append(f"<h2>{html.escape(heading)}</h2>{body}")
    return "\n".join(out)


def write(r, out, spec, results):
    """Write ``report.json`` and ``report.html`` into ``out`` (``results``: the cases' rows,
    :class:`~fokkerplanck.verify.checks.base.Results`, for the figures)."""
    out = Path(out)
    write_text(out / "report.json", json.dumps(_clean(dict(r)), indent=1))
    rows = summary_rows(r)
    esc = html.escape
    trs = "\n".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td>{esc(c)}</td>"
                    f"<td class={'ok' if _status(ok) in ('pass', 'at a floor') else 'bad'}>{_status(ok)}</td></tr>" for a, b, c, ok in rows)
    figs = "\n".join(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{b64}'>"
                     for title, b64 in _figures(r, results))
    notes = "".join(f"<p><b>{esc(c)}</b> {esc(t)}</p>" for c, t in r.get("not_settled", []))
    notes += "".join(f"<p>warning about the run file's problem: {esc(w)}</p>" for w in r.get("warnings", []))
    text = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>fokkerplanck verify: {esc(r['name'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td,th{{padding:2px 10px}}
.ok{{color:#070}} .bad{{color:#b00;font-weight:bold}} pre{{background:#f4f4f4;padding:1em}}</style></head>
<body><h1>{verdict(r)}: {esc(r['name'])}</h1>
<p>{esc(str(r['runfile']))}: {esc(r['divergence'])} flow, grid {r['grid']}, dt {r['dt']}, t_final {r['t_final']},
{r['levels']} levels; fokkerplanck {esc(r['version'])}.</p>
{notes}
<table><tr><th>check</th><th>measured</th><th>expected / bound</th><th></th></tr>{trs}</table>
{_sections(r)}
{figs}
<h2>Run file</h2><pre>{esc(spec.text)}</pre>
</body></html>
"""
    write_text(out / "report.html", text)
