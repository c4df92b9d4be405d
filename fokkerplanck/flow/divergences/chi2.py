r"""Pearson chi^2: :math:`f(x) = (x - 1)^2`, :math:`\Phi(v) = v^2`, the porous medium equation.

Degenerate at v = 0 (:math:`\Phi'(0) = 0`): :math:`(\Phi^{-1})'(w) = 1/(2\sqrt w)` is infinite at
the bound w = 0, so the resolvent iterates on s = v (variable "v"), where the Newton matrix
:math:`M + 2hK\,\mathrm{diag}(v)` is a nonsingular M-matrix for every v >= 0.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..newton_1d import newton_kernel_1d
from .base import Divergence, Kernels, register

__all__ = ["PEARSON_CHI2"]

@njit(cache=True)
def _chi2_f(x):
    return (x - 1.0) ** 2


@njit(cache=True)
def _chi2_f_prime(x):
    return 2.0 * (x - 1.0)


@njit(cache=True)
def _chi2_phi(v):
    return v * v


@njit(cache=True)
def _chi2_phi_prime(v):
    return 2.0 * v


@njit(cache=True)
def _chi2_phi_inv(w):
    return np.sqrt(np.maximum(w, 0.0))


@njit(cache=True)
def _chi2_phi_inv_prime(w):
    return 0.5 / np.sqrt(w)


@njit(cache=True)
def _chi2_phi_inv_antiderivative(w):
    r = np.sqrt(np.maximum(w, 0.0))
    return (2.0 / 3.0) * r * r * r


@njit(cache=True)
def _state(s):
    return s, s * s, 1.0, 2.0 * s, (2.0 / 3.0) * s * s * s


# numba's on-disk cache keys this wrapper on this file alone, not on newton_1d.py, whose kernel it
# inlines: when the kernel changes, change this line too (kernel revision 6: one evaluation per trial, v in s0, LOCAL_ACCEPT, issue 23).
@njit(cache=True)
def _newton_1d(s_lower, v_old, s0, m, k, h, tol, max_iter):
    return newton_kernel_1d("chi2", s_lower, v_old, s0, m, k, h, tol, max_iter)


PEARSON_CHI2 = register(Divergence(
    name="chi2", long_name="Pearson chi^2",
    f=_chi2_f, f_prime=_chi2_f_prime, phi=_chi2_phi, phi_inv=_chi2_phi_inv, phi_inv_prime=_chi2_phi_inv_prime,
    phi_inv_antiderivative=_chi2_phi_inv_antiderivative, phi_prime_at_one=2.0, w_lower=0.0,
    variable="v", phi_prime=_chi2_phi_prime, phi_prime_at_zero=0.0, phi_power=(1.0, 2.0),
    aliases=("chi-squared", "chi_squared", "pearson", "chi^2"),
    kernels=Kernels(state=_state, newton_1d=_newton_1d),
))
