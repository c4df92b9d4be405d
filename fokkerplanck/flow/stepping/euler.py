r"""Backward Euler: every step is the Crandall-Liggett resolvent, :math:`v^{n+1} = (I + hA)^{-1}v^n`.

Fixed steps of size ``h`` reproduce the exponential formula :math:`(I + \tfrac{t}{n}A)^{-n}v_0`
(eq. 39 of the paper): first order in time, and every property of the resolvent carries over to
the discrete flow (mass to round-off, positivity, the maximum principle, a monotone energy, L1
contraction).

Local error estimate: backward Euler's local error is :math:`\tfrac{h^2}{2}v''`. The difference of
two backward-Euler states is exactly :math:`v^n - v^{n-1} = h_{n-1}F(v^n)`, so the linear
extrapolation :math:`v_p = v^n + \tfrac{h}{h_{n-1}}(v^n - v^{n-1})` is a forward-Euler step from
:math:`v^n`, and :math:`v^{n+1} - v_p = h^2 v'' + O(h^3)`. Half of it estimates the local error,
in units of mass:

.. math::  \mathrm{err} = \tfrac12\sum_i m_i\,\big|v^{n+1}_i - v_{p,i}\big|
           = \tfrac{h}{2}\,\big\|K(\Phi(v^{n+1}) - \Phi(v^n))\big\|_1 ,

the second form on the first step (no history; no division by tiny cell masses).

Discrete rate: one step multiplies a mode by :math:`1/(1 + hr)`, so the observed rate is
:math:`\ln(1 + hr)/h = r - \tfrac12 hr^2 + O(h^2)`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import operators
from .base import Scheme, register

__all__ = ["BackwardEuler", "PREDICTOR_MAX_CHANGE"]

#: The predictor moves ``w`` by at most this much per cell (``v`` by a factor of at most
#: ``e^{0.2}`` for JSD): it extrapolates where the flow is smooth in time and keeps Newton's start
#: near :math:`w^n` where ``w`` changes fast (large steps from rough data), where extrapolating
#: overshoots (measured: at dt = 20 from a narrow start, the unclipped predictor is 5.5 off in ``w``).
PREDICTOR_MAX_CHANGE = 0.1


@register
class BackwardEuler(Scheme):
    name = "euler"
    label = "backward Euler"
    aliases = ("backward-euler", "backward_euler", "implicit-euler")
    summary = "backward Euler: the Crandall-Liggett resolvent at every step (first order)"
    order = 1
    n_previous = 0

    @classmethod
    def step(cls, resolvent, state, h):
        return resolvent(state.v, h, w0=cls.predictor(resolvent.divergence, state, h))

    @staticmethod
    def predictor(divergence, state, h):
        r"""Newton's start for the step of size ``h``: :math:`w_p = w^n + \tfrac{h}{h_{n-1}}(w^n - w^{n-1})`,
        the linear extrapolation of :math:`w = \Phi(v)` (its error is :math:`O(h^2)` where
        :math:`w^n` itself is :math:`O(h)` off, which saves a Newton iteration per step), its
        change clipped to :data:`PREDICTOR_MAX_CHANGE` per cell; ``w^n`` on the first step.

        Used on every grid (the compiled 1-D kernel and the sparse Newton iteration alike).
        :math:`w^{n-1}` is :attr:`RunState.phi_prev`, which checkpoints keep, so a resumed run
        repeats the start bit for bit. Only a start: Newton converges from any (a divergence
        iterating on ``v`` always starts at ``v^n``)."""
        if state.v_prev is None or divergence.variable != "w":
            return state.phi
        w_prev = getattr(state, "phi_prev", None)
        if w_prev is None:  # not kept (a checkpoint of an older version): from v^{n-1}
            with np.errstate(divide="ignore", invalid="ignore"):
                w_prev = divergence.phi(state.v_prev)
        pred, finite = _extrapolate(state.phi, w_prev, h / state.h_prev, PREDICTOR_MAX_CHANGE)
        return pred if finite else state.phi

    @classmethod
    def local_error(cls, state, h, res, cell_mass, coeffs) -> float:
        if state.v_prev is None:  # first step: forward-Euler comparison, no division by cell masses
            return 0.5 * h * float(np.sum(np.abs(operators.apply_laplacian(coeffs, res.w - state.phi))))
        # linear extrapolation = forward Euler from v^n (v^n - v^{n-1} = h_{n-1} F(v^n)): weight 1/2
        pred = state.v + (h / state.h_prev) * (state.v - state.v_prev)
        return 0.5 * float(np.sum(cell_mass * np.abs(res.v - pred)))

    @classmethod
    def discrete_rate(cls, rate: float, h: float) -> float:
        return rate if h == 0 else math.log1p(h * rate) / h


@njit(cache=True)
def _extrapolate(w, w_prev, r, cap):
    """``(w + clip(r (w - w_prev), -cap, cap), all finite)`` in one pass (the predictor's arithmetic)."""
    out = np.empty_like(w)  # arrays of any shape (1-D where it is used)
    finite = True
    for i in range(w.size):
        d = r * (w.flat[i] - w_prev.flat[i])
        out.flat[i] = w.flat[i] + min(cap, max(-cap, d))
        finite = finite and np.isfinite(d) and np.isfinite(out.flat[i])
    return out, finite
