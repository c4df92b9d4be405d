r"""Jensen-Shannon (the paper, eq. 3, 18, 30-32): :math:`\Phi(v) = \tfrac12\ln(1 + v)`."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..newton_1d import newton_kernel_1d
from .base import Divergence, Kernels, register

__all__ = ["JENSEN_SHANNON", "js_f_and_prime"]

@njit(cache=True)
def _js_f(x):
    # f(x) = 1/2 [ x ln(2x/(1+x)) + ln(2/(1+x)) ], f(1) = 0; x ln(...) -> 0 as x -> 0.
    safe = np.maximum(x, 1e-300)
    return 0.5 * (x * np.log(2.0 * safe / (1.0 + x)) + np.log(2.0 / (1.0 + x)))


@njit(cache=True)
def _js_f_prime(x):
    # f'(x) = 1/2 ln(2x / (1+x)) = dJ/drho (eq. 18)
    return 0.5 * np.log(2.0 * x / (1.0 + x))


@njit(cache=True)
def js_f_and_prime(x):
    """``(f(x), f'(x))`` of Jensen-Shannon at a scalar ``x >= 0`` with two logarithms (the formulas
    of ``f`` and ``f_prime``; ``f'`` at ``max(x, 1e-300)``, finite at 0), for compiled diagnostics."""
    safe = max(x, 1e-300)
    a = np.log(2.0 * safe / (1.0 + safe))
    return 0.5 * (x * a + np.log(2.0 / (1.0 + x))), 0.5 * a


@njit(cache=True)
def _js_phi(v):
    return 0.5 * np.log1p(v)


@njit(cache=True)
def _js_phi_inv(w):
    return np.expm1(2.0 * w)


@njit(cache=True)
def _js_phi_inv_prime(w):
    return 2.0 * np.exp(2.0 * w)


@njit(cache=True)
def _js_phi_inv_antiderivative(w):
    return 0.5 * np.expm1(2.0 * w) - w


@njit(cache=True)
def _js_phi_prime(v):
    return 0.5 / (1.0 + v)


@njit(cache=True)
def _state(s):
    # one exponential per cell: v = e^{2s} - 1 and dv/ds = 2 e^{2s}, each from the other where that
    # is exact to an ulp or two (e^{2s} >= 0.37 from expm1, else e^{2s} - 1 <= -0.63 from exp)
    if s > -0.5:
        em = np.expm1(2.0 * s)
        e = em + 1.0
    else:
        e = np.exp(2.0 * s)
        em = e - 1.0
    return em, s, 2.0 * e, 1.0, 0.5 * em - s


@njit(cache=True)
def _js_phi_inv_and_prime(w):
    # Phi^{-1} and its derivative with one exponential per cell, as the 1-D kernel's state
    v, dv = np.empty_like(w), np.empty_like(w)
    wf, vf, dvf = w.ravel(), v.ravel(), dv.ravel()
    for i in range(wf.size):
        vf[i], _, dvf[i], _, _ = _state(wf[i])
    return v, dv


# numba's on-disk cache keys this wrapper on this file alone, not on newton_1d.py, whose kernel it
# inlines: when the kernel changes, change this line too (kernel revision 6: one evaluation per trial, v in s0, LOCAL_ACCEPT, issue 23).
@njit(cache=True)
def _newton_1d(s_lower, v_old, s0, m, k, h, tol, max_iter):
    return newton_kernel_1d("jsd", s_lower, v_old, s0, m, k, h, tol, max_iter)


JENSEN_SHANNON = register(Divergence(
    name="jsd", long_name="Jensen-Shannon",
    f=_js_f, f_prime=_js_f_prime, phi=_js_phi, phi_inv=_js_phi_inv, phi_inv_prime=_js_phi_inv_prime,
    phi_inv_antiderivative=_js_phi_inv_antiderivative, phi_prime_at_one=0.25, phi_prime=_js_phi_prime,
    phi_prime_at_zero=0.5, aliases=("js", "jensen-shannon", "jensen_shannon"),
    kernels=Kernels(state=_state, newton_1d=_newton_1d), phi_inv_and_prime=_js_phi_inv_and_prime,
))
