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


def _g(v, d=3):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(v)
    return f"{v:.{d}g}"


def summary_rows(r) -> list:
    """``(check, measured, expected / bound, passed)`` rows of a report."""
    o, rate, lem, sup = r["orders"], r["rate"], r["lemma24"], r["superposition"]
    rows = [("order in space", f"{_g(o['space']['value'])} +- {_g(o['space']['stderr'], 2)}",
             f"{_g(o['space']['expected'])}", o["space"]["passed"]),
            ("order in time", f"{_g(o['time']['value'])} +- {_g(o['time']['stderr'], 2)}",
             f"{_g(o['time']['expected'])}", o["time"]["passed"])]
    for name, item in r["invariants"].items():
        bound = ">= 0" if name == "positivity" else f"<= {_g(item['tolerance'], 2)}"
        rows.append((name.replace("_", " "), _g(item["worst"]), bound, item["passed"]))
    if rate["reached"]:
        rows.append(("long-time L1 rate", f"{_g(rate['measured'], 5)} +- {_g(rate['stderr'], 2)}",
                     f"{_g(rate['predicted'], 5)} (+- {_g(rate['tolerance'], 2)})", rate["passed"]))
    else:
        why = ", ".join(c.replace("_", " ") for c in rate.get("reason_codes") or []) or "no cause seen"
        rows.append(("long-time L1 rate", f"not reached ({why})", f"{_g(rate['predicted'], 5)}", rate["passed"]))
    rows.append(("Lemma 24 integral", _g(lem["measured"]),
                 "not applicable (c = 0)" if lem.get("note") else
                 f"<= {_g(lem['energy_bound'])} <= {_g(lem['paper_bound'])}", lem["passed"]))
    rows.append((f"superposition {sup['method']} W1 / floor", _g(sup["ratio"]), "<= 3", sup["passed"]))
    return rows


def table(r, stream):
    rows = summary_rows(r)
    w = max(len(a) for a, *_ in rows)
    print(f"fokkerplanck verify {r['runfile']}  ({r['divergence']}, grid {r['grid']}, dt {r['dt']}, "
          f"{r['levels']} levels)", file=stream)
    for a, b, c, ok in rows:
        print(f"  {a:<{w}}  {b:<22} {c:<28} {'pass' if ok else 'FAIL'}", file=stream)
    rate = r["rate"]
    if r.get("exact_solution"):
        print(f"  exact solution: {r['exact_solution']}", file=stream)
    if not rate["reached"]:
        print(f"  long-time regime not reached: {rate['reason']}", file=stream)
    elif rate.get("reason"):
        print(f"  long-time rate: {rate['reason']}", file=stream)
    print(f"{'PASSED' if r['passed'] else 'FAILED'}: report in {Path(r['out']) / 'report.html'}", file=stream)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _figures(r, long) -> list:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - matplotlib is an extra
        return []
    figs = []
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, key, label in ((axes[0], "space", "cell width"), (axes[1], "time", "step")):
        o = r["orders"][key]
        h = np.asarray(o["h"], float)
        ax.loglog(h[:-1], o["differences_final"], "o-", label=r"$\|u_h - u_{h/2}\|_{L^1}$ at $t_{final}$")
        if o.get("exact_errors_final"):
            ax.loglog(h, o["exact_errors_final"], "s--", label="error against the exact solution")
        ref = np.asarray(o["differences_final"], float)
        if ref.size and ref[-1] > 0:
            ax.loglog(h[:-1], ref[-1] * (h[:-1] / h[-2]) ** o["expected"], "k:",
                      label=f"order {o['expected']:g} (expected)")
        ax.set_xlabel(label)
        ax.set_title(f"{key}: order {_g(o['value'])} +- {_g(o['stderr'], 2)}")
        ax.legend(fontsize="small", frameon=False)
        ax.grid(True, which="both", alpha=0.3)
    figs.append(("Refinement ladders", _png(fig)))
    fig, ax = plt.subplots(figsize=(7, 4))
    t, l1 = np.asarray(long["l1_t"]), np.asarray(long["l1"])
    ax.semilogy(t, l1, label=r"$\|u - \rho_d\|_{L^1}$")
    rate = r["rate"]
    if rate["reached"]:
        t0, t1 = rate["window"]
        i0 = int(np.argmin(np.abs(t - t0)))
        tt = np.linspace(t0, t1, 50)
        ax.semilogy(tt, l1[i0] * np.exp(-rate["predicted"] * (tt - t[i0])), "k:",
                    label=f"predicted rate {rate['predicted']:.4g} on the asymptotic window")
        ax.axvspan(t0, t1, color="0.9", zorder=0)
        ax.plot([], [], color="none", label=f"fitted {rate['measured']:.4g} +- {rate['stderr']:.2g}")
    ax.set_xlabel("t")
    ax.legend(fontsize="small", frameon=False)
    ax.grid(True, alpha=0.3)
    ax.set_title("long-time decay")
    figs.append(("Long-time rate", _png(fig)))
    return figs


def write(r, out, spec, long):
    """Write ``report.json`` and ``report.html`` into ``out``."""
    out = Path(out)
    write_text(out / "report.json", json.dumps(_clean(dict(r)), indent=1))
    rows = summary_rows(r)
    esc = html.escape
    trs = "\n".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td><td>{esc(c)}</td>"
                    f"<td class={'ok' if ok else 'bad'}>{'pass' if ok else 'FAIL'}</td></tr>" for a, b, c, ok in rows)
    inv = "\n".join(f"<tr><td>{esc(k)}</td><td>{esc(v['what'])}</td><td>{_g(v['worst'])}</td></tr>"
                    for k, v in r["invariants"].items())
    figs = "\n".join(f"<h2>{esc(title)}</h2><img alt='{esc(title)}' src='data:image/png;base64,{b64}'>"
                     for title, b64 in _figures(r, long))
    o = r["orders"]
    ladder = ""
    for key in ("space", "time"):
        x = o[key]
        ladder += (f"<h3>{key}</h3><p>h = {esc(', '.join(_g(v) for v in x['h']))}; differences at t_final = "
                   f"{esc(', '.join(_g(v) for v in x['differences_final']))}; orders at the save times "
                   f"{esc(', '.join(_g(v) for v in x['order_at_save_times']))} (t = "
                   f"{esc(', '.join(_g(v) for v in x['times']))}); Richardson error of the finest level "
                   f"{_g(x['richardson_error_finest'])}")
        if x.get("exact_errors_final"):
            ladder += (f"; errors against the exact solution {esc(', '.join(_g(v) for v in x['exact_errors_final']))}"
                       f" (order {_g(x['exact_order'])} +- {_g(x['exact_stderr'], 2)})")
        ladder += "</p>"
    rate = r["rate"]
    note = "" if not rate.get("reason") else (
        f"<p><b>{'Asymptotic regime not reached' if not rate['reached'] else 'Rate'}:</b> {esc(rate['reason'])}</p>"
        + ("<ul>" + "".join(f"<li><b>{esc(c.replace('_', ' '))}</b>: {esc(t)}</li>"
                            for c, t in zip(rate.get("reason_codes") or [], rate.get("reasons") or [])) + "</ul>"
           if rate.get("reasons") else ""))
    if r.get("exact_solution"):
        ladder = f"<p>Exact solution: {esc(r['exact_solution'])}.</p>" + ladder
    text = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>fokkerplanck verify: {esc(r['name'])}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}} td,th{{padding:2px 10px}}
.ok{{color:#070}} .bad{{color:#b00;font-weight:bold}} pre{{background:#f4f4f4;padding:1em}}</style></head>
<body><h1>{'PASSED' if r['passed'] else 'FAILED'}: {esc(r['name'])}</h1>
<p>{esc(str(r['runfile']))}: {esc(r['divergence'])} flow, grid {r['grid']}, dt {r['dt']}, t_final {r['t_final']},
{r['levels']} levels; fokkerplanck {esc(r['version'])}.</p>
<table><tr><th>check</th><th>measured</th><th>expected / bound</th><th></th></tr>{trs}</table>
<h2>Orders (self-convergence)</h2>{ladder}
<h2>Invariants (worst over every step of every run)</h2><table>{inv}</table>
<h2>Long-time rate</h2><p>spectral gap {_g(rate['lambda1'], 6)}, step {_g(rate['h'])}, run to t = {_g(rate['t_end'])};
predicted {_g(rate['predicted'], 6)} (continuous {_g(rate['predicted_continuous'], 6)}), fitted
{_g(rate['measured'], 6)} +- {_g(rate['stderr'], 2)} on {rate['window']}; halves of the window
{', '.join(_g(v, 6) for v in rate['measured_halves'])}.</p>{note}
<h2>Lemma 24</h2><p>integral {_g(r['lemma24']['measured'])}; bounds (||v0||^2 - ||vT||^2)/(2c) =
{_g(r['lemma24']['energy_bound'])}, beta/(2c) = {_g(r['lemma24']['mass_bound'])}, paper's beta^2/(2c) =
{_g(r['lemma24']['paper_bound'])} (beta = {_g(r['lemma24']['beta'])}).</p>
{figs}
<h2>Run file</h2><pre>{esc(spec.text)}</pre>
</body></html>
"""
    write_text(out / "report.html", text)
