r"""Squared Hellinger: :math:`f(x) = (\sqrt x - 1)^2`, :math:`\Phi(v) = \sqrt v`, fast diffusion.

Singular at v = 0 (:math:`\Phi'(v) = 1/(2\sqrt v)` is infinite), but in :math:`w = \sqrt v`
everything is smooth: :math:`\Phi^{-1}(w) = w^2`, :math:`(\Phi^{-1})'(w) = 2w \ge 0`, so the
resolvent iterates on s = w with w >= 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..newton_1d import newton_kernel_1d
from .base import Divergence, Kernels, register

__all__ = ["SQUARED_HELLINGER"]

@njit(cache=True)
def _hel_f(x):
    return (np.sqrt(np.maximum(x, 0.0)) - 1.0) ** 2


@njit(cache=True)
def _hel_f_prime(x):
    return 1.0 - 1.0 / np.sqrt(x)


@njit(cache=True)
def _hel_phi(v):
    return np.sqrt(np.maximum(v, 0.0))


@njit(cache=True)
def _hel_phi_prime(v):
    return 0.5 / np.sqrt(v)


@njit(cache=True)
def _hel_phi_inv(w):
    r = np.maximum(w, 0.0)
    return r * r


@njit(cache=True)
def _hel_phi_inv_prime(w):
    return 2.0 * np.maximum(w, 0.0)


@njit(cache=True)
def _hel_phi_inv_antiderivative(w):
    r = np.maximum(w, 0.0)
    return r * r * r / 3.0


@njit(cache=True)
def _state(s):
    return s * s, s, 2.0 * s, 1.0, s * s * s / 3.0


# numba's on-disk cache keys this wrapper on this file alone, not on newton_1d.py, whose kernel it
# inlines: when the kernel changes, change this line too (kernel revision 6: one evaluation per trial, v in s0, LOCAL_ACCEPT, issue 23).
@njit(cache=True)
def _newton_1d(s_lower, v_old, s0, m, k, h, tol, max_iter):
    return newton_kernel_1d("hellinger", s_lower, v_old, s0, m, k, h, tol, max_iter)


SQUARED_HELLINGER = register(Divergence(
    name="hellinger", long_name="squared Hellinger",
    f=_hel_f, f_prime=_hel_f_prime, phi=_hel_phi, phi_inv=_hel_phi_inv, phi_inv_prime=_hel_phi_inv_prime,
    phi_inv_antiderivative=_hel_phi_inv_antiderivative, phi_prime_at_one=0.5, w_lower=0.0,
    phi_prime=_hel_phi_prime, phi_prime_at_zero=float("inf"), phi_power=(1.0, 0.5),
    aliases=("squared-hellinger", "squared_hellinger", "hellinger2"),
    kernels=Kernels(state=_state, newton_1d=_newton_1d),
))
