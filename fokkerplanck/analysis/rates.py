r"""Predicted and fitted long-time rates (docs/mathematics.md, section 6).

The paper proves convergence (Theorem 7) without a rate. Linearising the flow
:math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))` at equilibrium :math:`v = 1` gives
:math:`\rho_d v_t \approx \Phi'(1)\,\nabla\cdot(\rho_d\nabla v)`, so every quantity that is
*linear* in :math:`v - 1` (the L1 distance :math:`\|u - \rho_d\|_{L^1}`) decays at

.. math::  r = \Phi'(1)\,\lambda_1,

and every *quadratic* one (JSD, KL, :math:`\|\nabla v\|^2`) at :math:`2r`, with
:math:`\lambda_1` the spectral gap (:mod:`fokkerplanck.analysis.spectral`). For the
Jensen-Shannon flow :math:`\Phi'(1) = 1/4` (L1 at :math:`\lambda_1/4`, JSD at
:math:`\lambda_1/2`); for Kullback-Leibler :math:`\Phi'(1) = 1`. A time-stepping scheme turns
the rate ``r`` into its own discrete rate (backward Euler: :math:`\ln(1 + hr)/h`), given by the
scheme's entry in :mod:`fokkerplanck.flow.stepping`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as _v
from ..flow.divergences import get_divergence
from ..flow.stepping import get_scheme
from .spectral import spectral_gap

__all__ = ["predicted_rate", "discrete_rate", "predicted_rates", "solution_rate", "fit_rate", "decay_window"]

# --------------------------------------------------------------------------------------------
# Predicted rates
# --------------------------------------------------------------------------------------------

def predicted_rate(lam1: float, divergence="jsd", quantity: str = "l1") -> float:
    r"""Continuous-time asymptotic decay rate of ``quantity`` for the flow of ``divergence``.

    .. math::  r_{L^1} = \Phi'(1)\,\lambda_1, \qquad r_{\mathrm{quadratic}} = 2\,\Phi'(1)\,\lambda_1

    ``quantity`` is ``"l1"`` (linear in ``v - 1``) or one of the quadratic ones ``"jsd"``,
    ``"energy"``, ``"grad_v_norm2"``, ``"dissipation"``. :math:`\Phi'(1)` is
    ``get_divergence(divergence).phi_prime_at_one`` (1/4 for JSD, 1 for KL).
    """
    lam1 = _v.positive_number("lam1", lam1, allow_zero=True)
    factor = _quantity_factor(quantity)
    return factor * get_divergence(divergence).phi_prime_at_one * lam1


def _quantity_factor(quantity):
    if quantity == "l1":
        return 1
    if quantity in ("jsd", "energy", "grad_v_norm2", "dissipation"):
        return 2
    raise ValueError(f"quantity must be 'l1', 'jsd', 'energy', 'grad_v_norm2' or 'dissipation', got {quantity!r}.")


def solution_rate(solution, target=None, quantity: str = "l1") -> float:
    r"""Predicted asymptotic rate of ``quantity`` for a computed flow: :func:`predicted_rate` of its
    spectral gap.

    :math:`\lambda_1` is :func:`spectral_gap` of ``target`` on ``solution.grid`` (by default the
    solution's own rho_d on the cells, ``solution.rho_d``), and :math:`\Phi'(1)` that of
    ``solution.divergence``.
    """
    if target is None:
        values = np.asarray(solution.rho_d, dtype=float).ravel()
        ndim = solution.grid.ndim

        def target(points):
            points = np.asarray(points)
            if points.shape != (values.size, ndim):
                raise ValueError("the saved target density is known on the cell centres of the solution's grid only.")
            return values

    lam1 = float(spectral_gap(target, solution.grid))
    return float(predicted_rate(lam1, solution.divergence, quantity))


def discrete_rate(rate: float, dt: float, scheme="euler") -> float:
    r"""The decay rate per unit time, under steps ``dt`` of ``scheme``, of a mode decaying at ``rate``.

    The formula is the scheme's own (:meth:`fokkerplanck.flow.stepping.base.Scheme.discrete_rate`).
    Backward Euler (the default): one step multiplies the mode by :math:`1/(1 + h r)`, so

    .. math::  r_h = \frac{\ln(1 + h r)}{h} = r - \tfrac12 h r^2 + O(h^2).
    """
    rate = _v.positive_number("rate", rate, allow_zero=True)
    dt = _v.positive_number("dt", dt, allow_zero=True)
    return float(get_scheme(scheme).discrete_rate(rate, dt))


def predicted_rates(lam1: float, divergence="jsd", dt: float | None = None, scheme="euler") -> dict:
    r"""Predicted asymptotic rates of the L1 distance and of the energy for one flow.

    Returns a dict with ``l1`` (:math:`\Phi'(1)\lambda_1`) and ``energy`` (twice that; the JSD
    for the Jensen-Shannon flow, KL for the KL flow; the history's ``jsd`` decays at the same
    rate for either), and when ``dt`` is given their counterparts under steps of ``scheme``,
    ``l1_discrete`` and ``energy_discrete`` (backward Euler: :math:`\ln(1+h r_{L^1})/h` and twice
    that: a squared mode decays by :math:`(1+hr)^{-2}` per step).
    """
    r = predicted_rate(lam1, divergence, "l1")
    out = {"l1": r, "energy": 2.0 * r}
    if dt is not None:
        rh = discrete_rate(r, dt, scheme)
        out.update(l1_discrete=rh, energy_discrete=2.0 * rh)
    return out


def fit_rate(t, y, window=None) -> tuple[float, float]:
    r"""Fit ``y ~ C exp(-rate t)`` on a time window by least squares on ``log y``.

    .. math::  \ln y_i = a - r\,t_i + \varepsilon_i,\qquad
               \hat r = -\frac{\sum (t_i-\bar t)\ln y_i}{\sum (t_i - \bar t)^2},\qquad
               \mathrm{se}(\hat r) = \sqrt{\frac{\sum \hat\varepsilon_i^2/(n-2)}{\sum (t_i-\bar t)^2}}

    Parameters
    ----------
    t, y : array_like, shape (n,)
        Times and positive values, e.g. ``sol.history["t"]`` and ``sol.history["l1"]``.
    window : (t0, t1), optional
        Use the points with ``t0 <= t <= t1`` (default: all).

    Returns
    -------
    rate : float
        Fitted decay rate (1 / time; negative if ``y`` grows).
    err : float
        Its standard error from the regression residuals. For noisy data this is the usual
        one-sigma uncertainty; for deterministic solver output the residuals measure how far the
        window is from a pure exponential (a remaining transient), so compare fits on sub-windows.

    Raises
    ------
    ValueError
        If the arrays differ in length, fewer than 3 points fall in the window, or a value in the
        window is not positive and finite.
    """
    t = np.asarray(t, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(f"t and y must have the same length, got {t.size} and {y.size}.")
    if window is None:
        sel = np.ones(t.size, dtype=bool)
    else:
        try:
            t0, t1 = (float(w) for w in window)
        except (TypeError, ValueError):
            raise ValueError(f"window must be a pair (t0, t1), got {window!r}.") from None
        if not t1 > t0:
            raise ValueError(f"window = ({t0}, {t1}) must have t1 > t0.")
        sel = (t >= t0) & (t <= t1)
    n = int(sel.sum())
    if n < 3:
        span = f"[{t.min():g}, {t.max():g}]" if t.size else "[]"
        raise ValueError(f"fit_rate needs at least 3 points in the window, found {n} (data cover t in {span}); "
                         "widen the window or save more points.")
    ts, ys = t[sel], y[sel]
    if not np.all(np.isfinite(ts)) or not np.all(np.isfinite(ys)) or np.any(ys <= 0):
        bad = int(np.flatnonzero(~(np.isfinite(ys) & (ys > 0)))[0]) if np.any(~(ys > 0) | ~np.isfinite(ys)) else 0
        raise ValueError(f"fit_rate needs positive finite values in the window; y = {ys[bad]!r} at t = {ts[bad]!r}. "
                         "Shorten the window to before the values reach zero or the round-off floor.")
    logy = np.log(ys)
    tc = ts - ts.mean()
    sxx = float(tc @ tc)
    if sxx == 0:
        raise ValueError("fit_rate: all times in the window are equal.")
    slope = float(tc @ (logy - logy.mean())) / sxx
    resid = logy - logy.mean() - slope * tc
    err = math.sqrt(float(resid @ resid) / (n - 2) / sxx) if n > 2 else math.inf
    return -slope, err


#: Relative spread of the local rates within which :func:`decay_window` counts the rate as settled.
SETTLED_REL = 0.02
#: A distance at which :func:`decay_window` counts the transient as gone (relative size ~1e-4).
SETTLED_LEVEL = 1e-4
#: Time segments of the run on which :func:`decay_window` fits the local rates.
WINDOW_SEGMENTS = 20


def decay_window(t, y, upper: float | None = None, lower: float = 1e-9, *,
                 settled: float = SETTLED_REL) -> tuple[float, float]:
    r"""A fitting window for an asymptotic rate, ending at the first time ``y <= lower`` (clear of
    the round-off floor, ~1e-13 for the L1 distance) or at the last time.

    Where it starts is decided relative to the run, not by one fixed level of ``y``:

    - when ``y`` falls to :data:`SETTLED_LEVEL` (1e-4), at that time: the nonlinear transient's
      relative size is then ~1e-4 (the rule of the package's rate tests);
    - otherwise at the tail where the local rate :math:`-d\ln y/dt` has settled: the run up to its
      end is cut into :data:`WINDOW_SEGMENTS` equal time segments and the rate fitted on each; the
      window starts at the earliest segment from which every later segment's rate lies within
      ``settled`` (relative) of the last one's, and needs at least two such segments (a tenth of
      the run). A run whose distance is still 1e-2 gets a window once its rate has settled.

    ``upper`` fixes the level instead (the window then starts at the first time ``y <= upper``).
    Use with :func:`fit_rate`: ``fit_rate(t, y, window=decay_window(t, y))``.

    Raises
    ------
    ValueError
        If the local rate has not settled (or, with ``upper``, ``y`` never falls to it); the
        message says which, with the numbers.
    """
    t = np.asarray(t, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if not 0 < lower and (upper is None or lower < upper):
        raise ValueError(f"need 0 < lower < upper, got lower={lower}, upper={upper}.")
    floor = np.flatnonzero(y <= lower)
    end = t[floor[0]] if floor.size else t[-1]
    if upper is None and np.any(y <= SETTLED_LEVEL):
        upper = SETTLED_LEVEL
    if upper is not None:
        below = np.flatnonzero(y <= upper)
        if below.size == 0:
            raise ValueError(f"the values never fall to upper = {upper:g} (smallest {np.nanmin(y):.3g}); run longer "
                             "or raise upper.")
        return float(t[below[0]]), float(end)
    edges = np.linspace(t[0], end, WINDOW_SEGMENTS + 1)
    rates = []
    for a, b in zip(edges[:-1], edges[1:]):
        try:
            rates.append(fit_rate(t, y, (a, b))[0])
        except ValueError:
            rates.append(math.nan)
    rates = np.asarray(rates)
    last = rates[-1]
    if not (math.isfinite(last) and last > 0):
        raise ValueError(f"no decay to fit: the local rate on the last twentieth of the run is {last:.3g}.")
    ok = np.isfinite(rates) & (np.abs(rates - last) <= settled * last)
    k = WINDOW_SEGMENTS
    while k > 0 and ok[k - 1]:
        k -= 1
    if WINDOW_SEGMENTS - k < 2:
        raise ValueError(f"the local rate has not settled: {rates[-2]:.4g} on the second-last twentieth of the run, "
                         f"{last:.4g} on the last (more than {100 * settled:g} % apart); run longer.")
    return float(edges[k]), float(end)
