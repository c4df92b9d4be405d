r"""Condition (34) and Lemma 24 of the paper.

Lemma 24 (eq. 51) bounds the gradient of the solution under condition (34),
:math:`\rho_0 \le \beta\rho_d`:

.. math::  \int_0^\infty \|\nabla v\|^2_{L^2(\mu_d)}\,dt \le (1 + \beta)\beta^2 .

Its proof (for the backward-Euler iterates :math:`z_i`, which is exactly what the solver computes)
actually shows :math:`\sum_i h_i\|\nabla z_i\|^2 \le (1+\beta)(\|z_0\|^2 - \|z_N\|^2)`, and
:math:`\|z_0\|^2_{L^2(\mu_d)} \le \beta\int z_0\,d\mu_d = \beta`, so the sharper
:math:`(1 + \beta)\beta` holds as well; :func:`lemma24` reports all three.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023:
condition (34), the exponential formula (39), Lemma 24 (eq. 51), Theorem 7.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as _v
from ..flow.densities import Gaussian
from ..flow.divergences import get_divergence
from ..flow.grid import Grid
from ..flow.problem import setup

__all__ = ["gaussian_beta", "condition_beta", "lemma24_bound", "gradient_integral", "lemma24"]

# --------------------------------------------------------------------------------------------
# Condition (34) and Lemma 24
# --------------------------------------------------------------------------------------------

def gaussian_beta(target, initial) -> float:
    r"""The smallest :math:`\beta` with :math:`N(m_0, \Sigma_0) \le \beta N(m, \Sigma)` on all of
    :math:`\mathbb{R}^d` (condition 34), in closed form; ``inf`` when none exists.

    With :math:`P = \Sigma^{-1}`, :math:`P_0 = \Sigma_0^{-1}` the log-ratio is the concave
    quadratic :math:`-\tfrac12(x-m_0)^\top P_0(x-m_0) + \tfrac12(x-m)^\top P(x-m) + c`
    when :math:`A = P_0 - P` is positive definite (the initial density has lighter tails), and
    its maximum at :math:`x^* = A^{-1}(P_0 m_0 - P m)` is :math:`\ln\beta`. If :math:`A` is not
    positive semidefinite (heavier tails in some direction) :math:`\beta = \infty`; if it is
    singular, :math:`\beta` is finite only when the means agree along its kernel.
    """
    if not isinstance(target, Gaussian) or not isinstance(initial, Gaussian):
        raise ValueError("gaussian_beta needs two fokkerplanck.Gaussian densities; for other densities use "
                         "condition_beta(target, initial, grid), the value on a grid.")
    if target.ndim != initial.ndim:
        raise ValueError(f"target is {target.ndim}-dimensional but initial is {initial.ndim}-dimensional.")
    P, P0 = target._prec, initial._prec
    A = P0 - P
    evals, evecs = np.linalg.eigh(0.5 * (A + A.T))
    scale = max(1.0, float(np.max(np.abs(evals))))
    if evals.min() < -1e-12 * scale:
        return math.inf
    c = float(initial._log_norm - target._log_norm)
    b = P0 @ initial.mean - P @ target.mean
    pos = evals > 1e-12 * scale
    # along the kernel of A the exponent is linear (b . x): bounded only if b has no component there
    if np.any(~pos) and np.linalg.norm(evecs[:, ~pos].T @ b) > 1e-10 * max(1.0, float(np.linalg.norm(b))):
        return math.inf
    xs = evecs[:, pos] @ ((evecs[:, pos].T @ b) / evals[pos])
    d0, d = xs - initial.mean, xs - target.mean
    return float(math.exp(c - 0.5 * d0 @ P0 @ d0 + 0.5 * d @ P @ d))


def condition_beta(target, initial, grid: Grid) -> float:
    r""":math:`\beta = \max_i \rho_{0,i}/\rho_{d,i}` on ``grid`` (both restricted to the box and
    normalised), the constant of condition (34) for the discrete problem; equals ``sol.beta``.
    It is always >= 1 (both have mass one) and grows with the box when the initial density has
    heavier tails than the target (:func:`gaussian_beta` is then infinite)."""
    return float(setup(target, initial, grid, "jsd").beta)


def lemma24_bound(beta: float) -> float:
    r"""The right-hand side of Lemma 24 (eq. 51): :math:`(1 + \beta)\beta^2`."""
    beta = _v.positive_number("beta", beta)
    return (1.0 + beta) * beta * beta


def gradient_integral(t, grad_v_norm2) -> float:
    r"""The time integral :math:`\int_0^T\|\nabla v\|^2_{L^2(\mu_d)}dt` of a backward-Euler run.

    Backward Euler's discrete integral evaluates the integrand at the *new* state of each step
    (this is the sum that the proof of Lemma 24 bounds):

    .. math::  \sum_{k\ge1} (t_k - t_{k-1})\,\|\nabla v^k\|^2

    Pass ``sol.history["t"]`` and ``sol.history["grad_v_norm2"]`` (index 0 is the initial state).
    """
    t = np.asarray(t, dtype=float).ravel()
    g = np.asarray(grad_v_norm2, dtype=float).ravel()
    if t.shape != g.shape or t.size < 1:
        raise ValueError(f"t and grad_v_norm2 must be non-empty and of equal length, got {t.size} and {g.size}.")
    return float(np.sum(np.diff(t) * g[1:]))


def _min_phi_prime(divergence, beta):
    """min of Phi'(v) over [0, beta], with Phi'(v) = 1 / (Phi^{-1})'(Phi(v))."""
    div = get_divergence(divergence)
    v = np.concatenate([[0.0], np.geomspace(1e-6, max(beta, 1e-6), 200), [beta]])
    return float(np.min(1.0 / div.phi_inv_prime(div.phi(v))))


def lemma24(solution) -> dict:
    r"""Lemma 24 checked on a computed flow: the measured integral against the bounds.

    For backward Euler, :math:`\|z_i\|^2 + h\,(\nabla\Phi(z_i), \nabla z_i) = (z_{i-1}, z_i)` with
    :math:`(\nabla\Phi(z),\nabla z) \ge c\|\nabla z\|^2`, :math:`c = \min_{[0,\beta]}\Phi'`
    (:math:`c = 1/(2(1+\beta))` for JSD), and Young's inequality give

    .. math::  \sum_i h_i\|\nabla z_i\|^2 \le \frac{\|z_0\|^2 - \|z_N\|^2}{2c}
               \le \frac{\beta}{2c} \le \frac{\beta^2}{2c} \quad(= (1+\beta)\beta^2 \text{ for JSD}).

    Returns
    -------
    dict
        ``beta``; ``measured`` (:func:`gradient_integral`); ``paper_bound`` (:math:`\beta^2/(2c)`,
        eq. 51 for JSD); ``mass_bound`` (:math:`\beta/(2c)`); ``energy_bound``
        (:math:`(\|v_0\|^2-\|v_T\|^2)/(2c)`, needs ``sol.t[0] == 0``, else nan); ``holds``
        (measured <= paper_bound, with a relative round-off allowance of 1e-9).
    """
    h = solution.history
    beta = float(solution.beta)
    c = _min_phi_prime(solution.divergence, beta)
    measured = gradient_integral(h["t"], h["grad_v_norm2"])
    energy = math.nan
    if len(solution.t) >= 2 and solution.t[0] == 0.0:
        m = solution.rho_d * solution.grid.cell_volume
        v0 = solution.u[0] / solution.rho_d
        vT = solution.u[-1] / solution.rho_d
        energy = float(np.sum(m * v0 * v0) - np.sum(m * vT * vT)) / (2 * c)
    paper = beta * beta / (2 * c)
    return {"beta": beta, "measured": measured, "paper_bound": paper, "mass_bound": beta / (2 * c),
            "energy_bound": energy, "holds": bool(measured <= paper * (1 + 1e-9))}

