r"""Exact solutions and the array tools of refinement studies.

- **Ornstein-Uhlenbeck** (:func:`ornstein_uhlenbeck`): a flow whose :math:`\Phi` is linear
  (``Phi(v) = v``: Kullback-Leibler) toward a Gaussian :math:`N(m, \Sigma)` from a Gaussian
  :math:`N(m_0, \Sigma_0)` stays Gaussian, with :math:`A = \Sigma^{-1}`, mean
  :math:`m + e^{-At}(m_0 - m)` and covariance :math:`\Sigma + e^{-At}(\Sigma_0 - \Sigma)e^{-At}`.
- **Barenblatt** (:func:`barenblatt_cell_averages`, :func:`barenblatt_time`): a flow whose
  :math:`\Phi(v) = \kappa v^m` is a power (chi^2: m = 2, Hellinger: m = 1/2;
  :attr:`fokkerplanck.Divergence.phi_power`) toward the uniform density :math:`c = 1/|\mathrm{box}|`
  is :math:`u_t = \kappa c^{1-m}\Delta(u^m)`: the porous medium or fast diffusion equation in the
  time :math:`\tau = \tau_0 + \kappa c^{1-m} t`, solved by the Barenblatt profile
  (:func:`fokkerplanck.flow.densities.barenblatt`).
- :func:`coarsen` (block averages) and :func:`richardson` (extrapolation in the step).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ..flow.densities import Gaussian, _barenblatt_constant, barenblatt
from ..flow.divergences import get_divergence

__all__ = ["ornstein_uhlenbeck", "barenblatt", "barenblatt_cell_averages", "barenblatt_time",
           "barenblatt_support_radius", "has_linear_phi", "coarsen", "richardson"]


def has_linear_phi(divergence) -> bool:
    """Whether the flow of ``divergence`` is linear (``Phi(v) = kappa v``): then Gaussians stay Gaussian."""
    power = get_divergence(divergence).phi_power
    return power is not None and power[1] == 1.0


def ornstein_uhlenbeck(target: Gaussian, initial: Gaussian, t: float, kappa: float = 1.0) -> Gaussian:
    r"""The Gaussian solution at time ``t`` of the linear flow (``Phi(v) = kappa v``) toward ``target``.

    .. math::  m(t) = m + e^{-\kappa A t}(m_0 - m), \qquad
               \Sigma(t) = \Sigma + e^{-\kappa A t}(\Sigma_0 - \Sigma)e^{-\kappa A t},\qquad A = \Sigma^{-1}.
    """
    if not isinstance(target, Gaussian) or not isinstance(initial, Gaussian):
        raise ValueError("ornstein_uhlenbeck needs a Gaussian target and a Gaussian initial density.")
    S, S0 = np.asarray(target.cov, float), np.asarray(initial.cov, float)
    m, m0 = np.asarray(target.mean, float), np.asarray(initial.mean, float)
    E = scipy.linalg.expm(-np.linalg.inv(S) * (kappa * t))
    return Gaussian(m + E @ (m0 - m), S + E @ (S0 - S) @ E.T)


def barenblatt_time(divergence, tau0: float, c: float, t: float):
    r"""The similarity time :math:`\tau_0 + \kappa c^{1-m} t` of a power-law flow toward the uniform
    density ``c`` at flow time ``t``, or None when ``Phi`` of ``divergence`` is not a power ``m != 1``."""
    power = get_divergence(divergence).phi_power
    if power is None or power[1] == 1.0:
        return None
    kappa, m = power
    return tau0 + kappa * c ** (1.0 - m) * t


def barenblatt_support_radius(m: float, d: int, tau: float) -> float:
    """Radius of the compact support of the Barenblatt profile (mass 1, ``m > 1``) at ``tau``."""
    alpha = d / (d * (m - 1) + 2)
    k = alpha * (m - 1) / (2 * m * d)
    return math.sqrt(_barenblatt_constant(m, d, 1.0) / k) * tau ** (alpha / d)


def _cell_sub_points(grid, sub):
    off = (np.arange(sub) + 0.5) / sub - 0.5
    axes = [np.asarray(a)[:, None] + off[None, :] * dx for a, dx in zip(grid.axes, grid.spacing)]
    if grid.ndim == 1:
        return axes[0][..., None]                    # (n, sub, 1)
    if grid.ndim == 2:
        X, Y = axes[0][:, None, :, None], axes[1][None, :, None, :]
        return np.stack(np.broadcast_arrays(X, Y), axis=-1)   # (nx, ny, sub, sub, 2)
    X = axes[0][:, None, None, :, None, None]
    Y = axes[1][None, :, None, None, :, None]
    Z = axes[2][None, None, :, None, None, :]
    return np.stack(np.broadcast_arrays(X, Y, Z), axis=-1)


def barenblatt_cell_averages(grid, tau, m, center=None, sub: int = 16):
    """Cell averages of the Barenblatt profile (mass 1 on R^d) by a sub-cell midpoint rule
    (``sub`` points per axis in each cell), centred at ``center``: the exact solution on the cells."""
    P = _cell_sub_points(grid, sub)
    if center is not None:
        P = P - np.asarray(center, float)
    vals = barenblatt(P, tau, m)
    return vals.mean(axis=tuple(range(grid.ndim, 2 * grid.ndim)))


def coarsen(u, factor: int, d: int | None = None):
    """Average ``u`` (``n * factor`` cells per axis, over its first ``d`` axes, default all) over
    blocks of ``factor`` cells per axis."""
    u = np.asarray(u, float)
    for axis in range(u.ndim if d is None else d):
        sh = list(u.shape)
        sh[axis:axis + 1] = [sh[axis] // factor, factor]
        u = u.reshape(sh).mean(axis=axis + 1)
    return u


def richardson(u_by_dt: dict):
    """Backward Euler's O(h) (two step sizes h, h/2: ``2 u_{h/2} - u_h``) or O(h) and O(h^2)
    terms (three: ``(8 u_{h/4} - 6 u_{h/2} + u_h) / 3``) eliminated; ``u_by_dt`` maps step -> array."""
    hs = sorted(u_by_dt, reverse=True)
    u = [np.asarray(u_by_dt[h]) for h in hs]
    if len(u) == 1:
        return u[0]
    if len(u) == 2:
        return 2 * u[1] - u[0]
    if len(u) == 3:
        return (8 * u[2] - 6 * u[1] + u[0]) / 3
    raise ValueError(f"richardson: 1 to 3 step sizes, got {len(u)}.")
