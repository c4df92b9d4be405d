r"""The long-time rate: the run continued at a fixed step until the L1 distance to rho_d falls to
~1e-10 at the predicted rate, and the rate fitted on its asymptotic window against the prediction.

The continuous rate is :math:`r = \Phi'(1)\lambda_1` (:func:`fokkerplanck.analysis.rates.predicted_rate`),
the step :math:`h \le 0.05/r`, and the predicted rate of the discrete flow is the scheme's
(``discrete_rate`` of its entry in :data:`fokkerplanck.flow.stepping.SCHEMES`; backward Euler:
:math:`\ln(1 + hr)/h`). The fit is :func:`fokkerplanck.verify.rates.measure_rate`. Passes when
they agree within ``3 * stderr + 1%``. When the run does not reach the asymptotic regime (no
window, or the rates on its two halves disagree) it is reported as not reached: inconclusive (not a pass, exit 1),
with the reasons that can be seen (:func:`fokkerplanck.verify.rates.diagnose`). When the target is
uniform on the box the gap has a closed form (:func:`fokkerplanck.verify.exact.uniform_gap`, on the
torus too): the solver's :math:`\lambda_1` must match it to ``1e-8`` (relative), or the check fails.
"""

from __future__ import annotations

import html
import math

import numpy as np

from ...analysis.rates import predicted_rate
from ...analysis.spectral import eigenvalues, first_mode, spectral_gap
from ...flow.divergences import get_divergence
from ...flow.problem import setup
from ..rates import RATE_REL_TOL, diagnose, local_rate, measure_rate, mode_balance
from ..exact import uniform_gap
from ..runs import scheme_of
from .base import Case, Check, fmt, register

__all__ = ["LongTimeRate", "long_signals", "MAX_LONG_STEPS", "GAP_REL_TOL"]

#: Largest relative difference between the solver's spectral gap and its closed form (uniform target).
GAP_REL_TOL = 1e-8
#: Step cap of the long run (its length is otherwise 1.5x the time the predicted rate needs to
#: bring the L1 distance from ~1 to 1e-10).
MAX_LONG_STEPS = 40_000


def long_signals(spec, sol, lam1, h, n_steps) -> dict:
    """What :func:`fokkerplanck.verify.rates.diagnose` needs, from a long run and rho_d."""
    t, l1 = np.asarray(sol.history["t"]), np.asarray(sol.history["l1"])
    floor = np.flatnonzero(l1 <= 1e-9)               # the window's end: clear of the round-off floor
    te = float(t[floor[0]]) if floor.size else float(t[-1])
    try:
        lam2 = float(eigenvalues(spec.target, spec.grid, k=2)[1])
    except ValueError:
        lam2 = math.nan
    i4 = np.flatnonzero(l1 <= 1e-4)                  # the window's start
    t_window = float(t[i4[0]]) if i4.size else float(t[-1])
    # the mean rate over the first hundredth of the run
    i1 = int(np.searchsorted(t, t[-1] / 100))
    rate_early = (math.log(l1[0] / l1[i1]) / float(t[i1]) if 0 < i1 < t.size and l1[i1] > 0 and t[i1] > 0
                  else math.nan)
    p = setup(spec.target, spec.initial, spec.grid, spec.divergence)
    vol = spec.grid.cell_volume
    u0 = p.v0 * p.rho
    # algebraic late decay: ln L1 against ln t fits the last half much better than against t
    algebraic = None
    sel = (t >= te / 2) & (t <= te) & (t > 0) & (l1 > 0)
    if sel.sum() >= 8:
        y = np.log(l1[sel])
        res = []
        for x in (t[sel], np.log(t[sel])):
            A = np.vstack([x, np.ones_like(x)]).T
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            res.append((float(np.sqrt(np.mean((A @ coef - y) ** 2))), -float(coef[0])))
        if res[0][0] > 0.05 and res[1][0] < 0.25 * res[0][0] and res[1][1] > 0:
            algebraic = res[1][1]
    lam_check, phi = first_mode(spec.target, spec.grid)
    mb = mode_balance(sol.u[-1], p.rho, phi, vol)
    tmo = sol.target_mass_outside
    return dict(lam1=lam1, lam2=lam2, phi1=get_divergence(spec.divergence).phi_prime_at_one, h=h,
                t_end=float(t[-1]), t_window=t_window, n_steps=int(n_steps), max_steps=MAX_LONG_STEPS,
                l1_0=float(l1[0]), l1_end=float(l1[-1]), rate_end=local_rate(t, l1, 0.9 * te, te),
                rate_before_end=local_rate(t, l1, 0.8 * te, 0.9 * te), rate_early=rate_early,
                beta=float(np.max(p.v0)), initial_mass_high_v=float(np.sum(u0[p.v0 > 100]) * vol),
                target_mass_outside=math.nan if tmo is None else float(tmo), algebraic=algebraic,
                mode_share_end=mb["share"], mode_excess_end=mb["excess"], mode_rho_mass=mb["rho_mass"])


@register
class LongTimeRate(Check):
    """The long-time L1 rate against the scheme's prediction (module docstring); owns the ``long`` case."""

    name = "rate"
    position = 40.0
    cases = (Case("long"),)
    section = "Long-time rate"
    figure = ("Long-time rate", (7, 4))

    @classmethod
    def run_case(cls, run) -> dict:
        spec, dt0 = run.spec, run.dt
        scheme = scheme_of(spec)
        lam1 = float(spectral_gap(spec.target, spec.grid))
        rate = predicted_rate(lam1, spec.divergence)
        h = min(dt0, 0.05 / rate) if rate > 0 else dt0
        # long enough to fall from ~1 to 1e-10 at the predicted rate (+50%), at most MAX_LONG_STEPS steps
        n = int(min(MAX_LONG_STEPS, math.ceil(1.5 * math.log(1e10) / max(rate, 1e-12) / h)))
        hist = run.solve(dt=h, t_final=n * h).history
        every = max(1, n // 400)
        out = dict(lam1=lam1, lam1_closed_form=uniform_gap(spec), h=h, t_end=n * h,
                   predicted=scheme.discrete_rate(rate, h), predicted_continuous=rate,
                   l1_t=hist["t"][::every].tolist(), l1=hist["l1"][::every].tolist(), jsd=hist["jsd"][::every].tolist())
        mr = measure_rate(hist["t"], hist["l1"], scale=out["predicted"])
        out.update(reached=mr["reached"], window=mr["window"], measured=mr["measured"], stderr=mr["stderr"],
                   measured_first_half=mr["halves"][0], measured_second_half=mr["halves"][1])
        sig = long_signals(spec, run.solution, lam1, h, n)
        out.update(signals={k: v for k, v in sig.items() if k != "phi"})
        # the reasons are kept for a reached regime too: they explain a fitted rate that misses
        # the prediction (e.g. a symmetric start that never excites the first mode)
        reasons = diagnose(sig, scheme=scheme.name)
        out.update(reasons=[r["text"] for r in reasons], reason_codes=[r["code"] for r in reasons],
                   reason="" if mr["reached"] else mr["why"] + (
                       ": " + "; ".join(r["text"] for r in reasons) if reasons else
                       "; no cause among a slow excited mode, heavy tails, metastability or the step budget "
                       "can be seen"))
        return out

    @classmethod
    def aggregate(cls, results) -> dict:
        long = results.row(cls.cases[0].kind)
        rate = dict(predicted=long["predicted"], predicted_continuous=long["predicted_continuous"],
                    lambda1=long["lam1"], h=long["h"], t_end=long["t_end"], measured=long["measured"],
                    stderr=long["stderr"], window=long["window"], reached=bool(long["reached"]), reason=long["reason"],
                    reasons=long.get("reasons", []), reason_codes=long.get("reason_codes", []),
                    signals=long.get("signals", {}),
                    measured_halves=[long.get("measured_first_half", math.nan),
                                     long.get("measured_second_half", math.nan)])
        closed = long.get("lam1_closed_form")
        if closed is not None:
            rate["lambda1_closed_form"] = closed
        if closed is not None and not abs(long["lam1"] - closed) <= GAP_REL_TOL * closed:
            rate.update(tolerance=math.nan, passed=False, status="fail",
                        reason=f"the spectral gap {long['lam1']:.10g} differs from its closed form {closed:.10g} "
                               f"(uniform target) by more than {GAP_REL_TOL:g} relative: the prediction is wrong")
        elif rate["reached"]:
            rate["tolerance"] = 3 * rate["stderr"] + RATE_REL_TOL * rate["predicted"]
            rate["passed"] = bool(abs(rate["measured"] - rate["predicted"]) <= rate["tolerance"])
            if not rate["passed"] and rate["reasons"]:
                rate["reason"] = "the fitted rate misses the prediction; seen in the run: " + "; ".join(rate["reasons"])
            rate["status"] = "pass" if rate["passed"] else "fail"
        else:
            # not reached: the prediction can be neither confirmed nor refuted (not a pass)
            rate["tolerance"], rate["passed"], rate["status"] = math.nan, False, "inconclusive"
            rate["settle"] = ("a run that reaches the asymptotic window: remove the causes named in the reason "
                              "(e.g. a larger box, a start that excites the first mode)" if rate["reasons"] else
                              "a longer run at the same step")
        return rate

    @classmethod
    def table_rows(cls, rate) -> list:
        if rate["reached"]:
            return [("long-time L1 rate (1/time)", f"{fmt(rate['measured'], 5)} +- {fmt(rate['stderr'], 2)}",
                     f"{fmt(rate['predicted'], 5)} (+- {fmt(rate['tolerance'], 2)})", rate["passed"])]
        why = ", ".join(c.replace("_", " ") for c in rate.get("reason_codes") or []) or "no cause seen"
        return [("long-time L1 rate (1/time)", f"not reached ({why})", f"{fmt(rate['predicted'], 5)}", "inconclusive")]

    @classmethod
    def notes(cls, rate) -> list:
        if not rate["reached"]:
            return [f"long-time rate inconclusive, the regime is not reached: {rate['reason']}; would settle it: "
                    f"{rate.get('settle', '')}"]
        return [f"long-time rate: {rate['reason']}"] if rate.get("reason") else []

    @classmethod
    def html(cls, rate, report) -> str:
        esc = html.escape
        note = "" if not rate.get("reason") else (
            f"<p><b>{'Asymptotic regime not reached' if not rate['reached'] else 'Rate'}:</b> {esc(rate['reason'])}</p>"
            + ("<ul>" + "".join(f"<li><b>{esc(c.replace('_', ' '))}</b>: {esc(t)}</li>"
                                for c, t in zip(rate.get("reason_codes") or [], rate.get("reasons") or [])) + "</ul>"
               if rate.get("reasons") else ""))
        closed = "" if rate.get("lambda1_closed_form") is None else \
            f" (closed form for the uniform target {fmt(rate['lambda1_closed_form'], 6)})"
        return f"""<p>spectral gap {fmt(rate['lambda1'], 6)}{closed}, step {fmt(rate['h'])},
run to t = {fmt(rate['t_end'])};
predicted {fmt(rate['predicted'], 6)} (continuous {fmt(rate['predicted_continuous'], 6)}), fitted
{fmt(rate['measured'], 6)} +- {fmt(rate['stderr'], 2)} on {rate['window']}; halves of the window
{', '.join(fmt(v, 6) for v in rate['measured_halves'])}.</p>{note}"""

    @classmethod
    def draw(cls, ax, rate, results):
        long = results.row(cls.cases[0].kind)
        t, l1 = np.asarray(long["l1_t"]), np.asarray(long["l1"])
        ax.semilogy(t, l1, label=r"$\|u - \rho_d\|_{L^1}$")
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
