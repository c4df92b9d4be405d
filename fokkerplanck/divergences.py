r"""The mathematics of a divergence, in one place.

For an f-divergence :math:`G(\rho) = D_f(\rho\,\|\,\rho_d) = \int f(\rho/\rho_d)\,\rho_d`, the
Wasserstein gradient flow is (docs/mathematics.md, section 2; the paper's eq. 25 and 30-32 for Jensen-Shannon)

.. math::

    \rho_d\, v_t = \nabla\cdot\big(\rho_d \nabla \Phi(v)\big), \qquad v = u/\rho_d,
    \qquad \Phi'(v) = v f''(v).

A :class:`Divergence` bundles ``f``, ``f'``, ``Phi`` and what the implicit resolvent needs: the
inverse :math:`\Phi^{-1}`, its derivative, and an antiderivative :math:`F` of :math:`\Phi^{-1}`
(so that one backward-Euler step is the minimiser of a convex energy, see
:mod:`fokkerplanck.resolvent`). The scalar functions are numba ``@njit`` functions that also
work on numpy arrays, so the same definitions serve the compiled kernels and Python code.

To add a divergence (chi^2, Hellinger, ...) write its functions and register a
:class:`Divergence` with :func:`register`; the solver does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

__all__ = ["Divergence", "JENSEN_SHANNON", "KULLBACK_LEIBLER", "get_divergence", "register",
           "available_divergences", "jsd"]


@dataclass(frozen=True)
class Divergence:
    r"""An f-divergence and the nonlinearity :math:`\Phi` of its gradient flow.

    Attributes
    ----------
    name : str
        Short name used by :func:`fokkerplanck.solve` (``divergence=name``).
    f, f_prime : callable
        The convex generator :math:`f(x)`, normalised so that ``f(1) = 0``, and its derivative.
    phi : callable
        :math:`\Phi(v)`, increasing, with :math:`\Phi'(v) = v f''(v)`.
    phi_inv, phi_inv_prime : callable
        :math:`\Phi^{-1}(w)` and its derivative (positive on the domain).
    phi_inv_antiderivative : callable
        A convex :math:`F` with :math:`F' = \Phi^{-1}`.
    phi_prime_at_one : float
        :math:`\Phi'(1)`: the flow linearised at equilibrium is
        :math:`\rho_d v_t = \Phi'(1)\nabla\cdot(\rho_d\nabla v)`, so long-time rates are
        :math:`\Phi'(1)\lambda_1` (docs/mathematics.md, section 6).
    w_lower : float
        Lower end of the domain of :math:`\Phi^{-1}` (``-inf`` when it is all of R).
    kernel_code : int
        Index of this divergence in the scalar dispatch functions below (:func:`phi_inv_scalar`
        ...), which the compiled 1-D Newton kernel calls; ``-1`` (the default for a new divergence)
        means the solver uses its generic sparse Newton path instead, which needs nothing more.
    """

    name: str
    long_name: str
    f: Callable
    f_prime: Callable
    phi: Callable
    phi_inv: Callable
    phi_inv_prime: Callable
    phi_inv_antiderivative: Callable
    phi_prime_at_one: float
    w_lower: float = -np.inf
    kernel_code: int = -1

    def value(self, v, cell_mass) -> float:
        r""":math:`D_f = \sum_i m_i f(v_i)` with cell masses ``m = rho_d * cell_volume``."""
        return float(np.sum(cell_mass * self.f(v)))


# --- Jensen-Shannon (the paper, eq. 3, 18, 30-32) -------------------------------------------

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


JENSEN_SHANNON = Divergence(
    name="jsd", long_name="Jensen-Shannon",
    f=_js_f, f_prime=_js_f_prime, phi=_js_phi, phi_inv=_js_phi_inv, phi_inv_prime=_js_phi_inv_prime,
    phi_inv_antiderivative=_js_phi_inv_antiderivative, phi_prime_at_one=0.25, kernel_code=0,
)


# --- Kullback-Leibler KL(rho || rho_d): the linear Fokker-Planck (Langevin) equation -----------

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


KULLBACK_LEIBLER = Divergence(
    name="kl", long_name="Kullback-Leibler",
    f=_kl_f, f_prime=_kl_f_prime, phi=_identity, phi_inv=_identity, phi_inv_prime=_one,
    phi_inv_antiderivative=_half_square, phi_prime_at_one=1.0, kernel_code=1,
)


# --- scalar dispatch for the compiled kernels (cacheable: no closures) -------------------------
# A new divergence with compiled 1-D kernels adds a branch here and sets its kernel_code.

@njit(cache=True)
def phi_inv_scalar(code, w):
    r""":math:`\Phi^{-1}(w)` of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv(w)
    return w


@njit(cache=True)
def phi_inv_prime_scalar(code, w):
    r""":math:`(\Phi^{-1})'(w)` of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv_prime(w)
    return 1.0


@njit(cache=True)
def phi_inv_antiderivative_scalar(code, w):
    r""":math:`F(w)`, :math:`F' = \Phi^{-1}`, of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv_antiderivative(w)
    return 0.5 * w * w


_REGISTRY: dict[str, Divergence] = {}


def register(divergence: Divergence, *aliases: str) -> None:
    """Make ``divergence`` available to :func:`fokkerplanck.solve` by name (and aliases)."""
    for key in (divergence.name, *aliases):
        _REGISTRY[key.lower()] = divergence


register(JENSEN_SHANNON, "js", "jensen-shannon", "jensen_shannon")
register(KULLBACK_LEIBLER, "kullback-leibler", "kullback_leibler")


def available_divergences() -> list[str]:
    """Primary names of the registered divergences."""
    return sorted({d.name for d in _REGISTRY.values()})


def get_divergence(divergence) -> Divergence:
    """A :class:`Divergence` from a name (``"jsd"``, ``"kl"``, ...) or a :class:`Divergence`."""
    if isinstance(divergence, Divergence):
        return divergence
    if isinstance(divergence, str) and divergence.lower() in _REGISTRY:
        return _REGISTRY[divergence.lower()]
    raise ValueError(f"unknown divergence {divergence!r}; known divergences: "
                     f"{', '.join(available_divergences())} (or pass a fokkerplanck.Divergence).")


def jsd(u, rho_d, cell_volume: float) -> float:
    r"""Jensen-Shannon divergence (eq. 3) between two densities given by their cell values.

    .. math::

        \mathrm{JSD}(u, \rho_d) = \tfrac12\int u \ln\frac{2u}{u+\rho_d}
        + \tfrac12\int \rho_d \ln\frac{2\rho_d}{u+\rho_d}

    It lies in ``[0, ln 2]``; natural logarithms. ``rho_d`` must be positive.
    """
    u = np.asarray(u, dtype=float)
    rho_d = np.asarray(rho_d, dtype=float)
    return float(np.sum(rho_d * _js_f(u / rho_d)) * cell_volume)
