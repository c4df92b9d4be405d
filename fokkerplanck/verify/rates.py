r"""The long-time rate of a run: the fit on the asymptotic window, and, when the run did not
reach that regime, the reasons that can be seen in it (:func:`diagnose`).

:func:`measure_rate` is the one fit ``fokkerplanck verify`` and ``benchmarks/convergence`` use:
the window of :func:`fokkerplanck.analysis.rates.decay_window` (the distance falling from ``upper`` to
``lower``), the rate of :func:`fokkerplanck.analysis.rates.fit_rate` on it, and the rates on its two
halves. The regime counts as *reached* when the window exists and the two halves agree within
``3 * stderr + rel_tol * scale`` (a remaining transient shows as a drift between them).

:func:`diagnose` turns quantities of the run and of ``rho_d`` into named reasons, each with the
numbers behind it. The thresholds are heuristics (stated with each reason), meant to point at a
cause, not to prove one:

- ``step_budget``: the run was cut at the step cap before covering the e-folds the predicted rate
  needs to bring the distance to the window.
- ``slow_excited_mode``: :math:`\lambda_2` close to :math:`\lambda_1`: the second mode decays
  relative to the first only like :math:`e^{-\Phi'(1)(\lambda_2-\lambda_1)t}`; fires when that
  factor is still above 1e-2 where the fitting window starts (L1 = 1e-4; the end if never) (or, the other way round, the run decays at
  the :math:`\lambda_2` rate: the first mode is not excited, e.g. by a symmetric start).
- ``drifting_rate``: the local rate :math:`-d\ln L^1/dt` fitted on the last tenth of the run
  differs from the one on the tenth before by more than 2 %.
- ``heavy_tails``: beta > 1e6 and more than 1e-3 of the mass of :math:`\rho_0` where :math:`v_0 = \rho_0/\rho_d > 100` (beta of condition
  (34) large: the tails of :math:`\rho_0` are heavier than those of :math:`\rho_d`; for JSD,
  :math:`\Phi'(v) \to 0` there and mass moves slowly), more than 1e-3 of :math:`\rho_d`'s mass
  outside the box (truncation), or an algebraic late decay (:math:`\ln L^1` linear in
  :math:`\ln t` rather than in :math:`t` over the last half of the run, residuals 4x smaller).
- ``metastability``: a tiny gap relative to the next mode (:math:`\lambda_2/\lambda_1 > 10`)
  with a fast early decay (over the first hundredth of the run, more than 5x the predicted rate) and, at
  the end, most of the L1 distance in the slow mode (the mass imbalance across the sign
  change of its eigenfunction :math:`\phi_1`, the "wrong mode" mass).
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis.rates import decay_window, fit_rate
from ..flow.stepping import get_scheme

__all__ = ["measure_rate", "local_rate", "mode_balance", "diagnose", "RATE_REL_TOL"]

#: Relative allowance of the rate checks (the fitted against the predicted rate, and the two
#: halves of the window against each other).
RATE_REL_TOL = 0.01


def measure_rate(t, y, *, upper: float | None = None, lower: float = 1e-9, scale: float | None = None,
                 rel_tol: float = RATE_REL_TOL) -> dict:
    """The rate of ``y(t)`` on its asymptotic window (module docstring).

    Returns a dict with ``reached``, ``window`` ``(t0, t1)``, ``measured``, ``stderr``,
    ``halves`` (rates on the two halves of the window) and ``why`` (why not reached, one line).
    ``scale`` (default: the measured rate) sets the relative allowance between the halves.
    """

    out = dict(reached=False, window=[math.nan, math.nan], measured=math.nan, stderr=math.nan,
               halves=[math.nan, math.nan], why="")
    t, y = np.asarray(t, float), np.asarray(y, float)
    try:
        window = decay_window(t, y, upper=upper, lower=lower)
        measured, stderr = fit_rate(t, y, window)
    except ValueError as exc:
        out["why"] = (f"the distance fell only to {float(np.nanmin(y)):.3g} (the window is {upper:g} to {lower:g})"
                      if upper is not None else f"no asymptotic window: {' '.join(str(exc).split())}")
        return out
    out.update(window=list(window), measured=measured, stderr=stderr)
    mid = 0.5 * (window[0] + window[1])
    try:
        halves = [fit_rate(t, y, (window[0], mid))[0], fit_rate(t, y, (mid, window[1]))[0]]
    except ValueError:
        halves = [math.nan, math.nan]
    out["halves"] = halves
    scale = abs(measured) if scale is None else scale
    if all(math.isfinite(h) for h in halves) and abs(halves[0] - halves[1]) > 3 * stderr + rel_tol * scale:
        out["why"] = (f"the rate still drifts across the window: {halves[0]:.5g} on its first half, "
                      f"{halves[1]:.5g} on its second")
        return out
    out["reached"] = True
    return out


def local_rate(t, y, t0, t1) -> float:
    """``-d ln y / dt`` fitted on ``[t0, t1]`` (nan when it cannot be fitted)."""

    try:
        return fit_rate(t, y, (t0, t1))[0]
    except ValueError:
        return math.nan


def mode_balance(u, rho, phi, cell_volume) -> dict:
    """How much of ``||u - rho||_L1`` lies in the slow mode ``phi`` (M-orthonormal): its
    coefficient's L1 size over the L1 distance, and the mass excess of ``u`` over ``rho`` where
    ``phi > 0``."""
    u, rho = np.ravel(u), np.ravel(rho)
    m = rho * cell_volume
    v1 = u / rho - 1.0
    c1 = float(m @ (v1 * phi))
    l1 = float(np.sum(np.abs(u - rho)) * cell_volume)
    # the L1 size of the phi_1 component over the L1 distance (capped at 1: the other
    # components can cancel part of it)
    share = min(1.0, abs(c1) * float(m @ np.abs(phi)) / l1) if l1 > 0 else 0.0
    side = phi > 0
    return dict(share=share, excess=float(np.sum((u - rho)[side]) * cell_volume),
                rho_mass=float(np.sum(rho[side]) * cell_volume), l1=l1)


def diagnose(s: dict, scheme: str = "euler") -> list:
    """Reasons, each ``dict(code, text)``, from the signals of a long run made with ``scheme``
    (keys made by :func:`fokkerplanck.verify.checks.rate.long_signals`): ``lam1``, ``lam2``,
    ``phi1`` (Phi'(1)), ``h``, ``t_end``, ``n_steps``, ``max_steps``, ``l1_0``, ``l1_end``,
    ``rate_end``, ``rate_before_end``, ``rate_early``, ``lam2_rate``, ``beta``,
    ``initial_mass_high_v``, ``target_mass_outside``, ``algebraic`` (None or the power),
    ``mode_share_end``, ``mode_excess_end``, ``mode_rho_mass``."""
    out = []
    discrete_rate = get_scheme(scheme).discrete_rate
    pred = discrete_rate(s["phi1"] * s["lam1"], s["h"])
    efolds = pred * s["t_end"]
    need = math.log(max(s["l1_0"], 1e-300) / 1e-9)
    if s["n_steps"] >= s["max_steps"] and efolds < need:
        out.append(dict(code="step_budget", text=(
            f"step budget: the run was cut at {s['max_steps']} steps (t = {s['t_end']:.4g}), {efolds:.3g} e-folds at "
            f"the predicted rate {pred:.4g}, where {need:.3g} are needed to bring L1 from {s['l1_0']:.3g} to 1e-9")))
    lam1, lam2 = s["lam1"], s["lam2"]
    if math.isfinite(lam2):
        tw = s.get("t_window", s["t_end"])
        q = math.exp(-s["phi1"] * (lam2 - lam1) * tw)
        lam2_pred = discrete_rate(s["phi1"] * lam2, s["h"])
        re = s["rate_end"]
        if math.isfinite(re) and abs(re - lam2_pred) <= 0.02 * lam2_pred and lam2 > 1.05 * lam1:
            out.append(dict(code="slow_excited_mode", text=(
                f"the first mode is not excited: the late rate {re:.4g} is the lambda_2 rate {lam2_pred:.4g} "
                f"(lambda_2 = {lam2:.4g}), not the lambda_1 rate {pred:.4g} (e.g. a start symmetric where "
                "phi_1 is odd)")))
        elif q > 1e-2:
            out.append(dict(code="slow_excited_mode", text=(
                f"slow excited mode: lambda_2 = {lam2:.4g} is close to lambda_1 = {lam1:.4g} (ratio {lam2 / lam1:.3g}); "
                f"by t = {tw:.4g} (where L1 reaches 1e-4, or the end) the second mode has decayed only by "
                f"exp(-Phi'(1)(lambda_2 - lambda_1) t) = {q:.2g} relative to the first, so the fitted rate mixes the "
                f"two ({re:.4g} at the end, predicted {pred:.4g})")))
    re, rb = s["rate_end"], s["rate_before_end"]
    if math.isfinite(re) and math.isfinite(rb) and abs(re - rb) > 0.02 * max(abs(re), abs(rb)):
        out.append(dict(code="drifting_rate", text=(
            f"the local rate -d ln L1/dt is still drifting at the end: {rb:.4g} on the second-last tenth of the "
            f"run, {re:.4g} on the last (predicted {pred:.4g})")))
    tails = []
    if s["beta"] > 1e6 and s["initial_mass_high_v"] > 1e-3:
        tails.append(f"{s['initial_mass_high_v']:.2g} of rho_0's mass lies where rho_0 > 100 rho_d "
                     f"(beta = max rho_0/rho_d = {s['beta']:.3g}): rho_0's tails are heavier than rho_d's")
    tmo = s.get("target_mass_outside")
    if tmo is not None and math.isfinite(tmo) and tmo > 1e-3:
        tails.append(f"{tmo:.2g} of rho_d's mass lies outside the box (truncated target)")
    if s.get("algebraic") is not None:
        tails.append(f"L1 decays algebraically over the last half of the run (~ t^-{s['algebraic']:.3g})")
    if tails:
        out.append(dict(code="heavy_tails", text="heavy tails / the box: " + "; ".join(tails)))
    if (math.isfinite(lam2) and lam2 > 10 * lam1 and math.isfinite(s["rate_early"]) and s["rate_early"] > 5 * pred
            and s["mode_share_end"] > 0.5):
        out.append(dict(code="metastability", text=(
            f"metastability: the spectral gap lambda_1 = {lam1:.3g} is tiny next to lambda_2 = {lam2:.3g} "
            f"(x{lam2 / lam1:.3g}); L1 fell at {s['rate_early']:.3g} early ({s['rate_early'] / pred:.3g}x the "
            f"predicted {pred:.3g}) and then stalled, with {100 * s['mode_share_end']:.0f}% of the final L1 "
            f"({s['l1_end']:.3g}) in the slow mode: a mass excess of {s['mode_excess_end']:+.3g} where phi_1 > 0 "
            f"(rho_d has {s['mode_rho_mass']:.3g} there), which crosses between the modes only at the rate of "
            "lambda_1")))
    return out
