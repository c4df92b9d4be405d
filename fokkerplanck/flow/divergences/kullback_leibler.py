r"""Kullback-Leibler KL(rho || rho_d): :math:`\Phi(v) = v`, the linear Fokker-Planck (Langevin) equation."""

from __future__ import annotations

import numpy as np
from numba import njit

from ..newton_1d import newton_kernel_1d
from .base import Divergence, Kernels, register

__all__ = ["KULLBACK_LEIBLER"]

@njit(cache=True)
def _kl_f(x):
    safe = np.maximum(x, 1e-300)
    return x * np.log(safe) - x + 1.0


@njit(cache=True)
def _kl_f_prime(x):
    return np.log(x)


@njit(cache=True)
def _identity(v):
    return v + 0.0


@njit(cache=True)
def _one(w):
    return 0.0 * w + 1.0


@njit(cache=True)
def _half_square(w):
    return 0.5 * w * w


@njit(cache=True)
def _state(s):
    return s, s, 1.0, 1.0, 0.5 * s * s


# numba's on-disk cache keys this wrapper on this file alone, not on newton_1d.py, whose kernel it
# inlines: when the kernel changes, change this line too (kernel revision 6: one evaluation per trial, v in s0, LOCAL_ACCEPT, issue 23).
@njit(cache=True)
def _newton_1d(s_lower, v_old, s0, m, k, h, tol, max_iter):
    return newton_kernel_1d("kl", s_lower, v_old, s0, m, k, h, tol, max_iter)


KULLBACK_LEIBLER = register(Divergence(
    name="kl", long_name="Kullback-Leibler",
    f=_kl_f, f_prime=_kl_f_prime, phi=_identity, phi_inv=_identity, phi_inv_prime=_one,
    phi_inv_antiderivative=_half_square, phi_prime_at_one=1.0, phi_prime=_one, phi_prime_at_zero=1.0,
    phi_power=(1.0, 1.0), aliases=("kullback-leibler", "kullback_leibler"),
    kernels=Kernels(state=_state, newton_1d=_newton_1d),
))
