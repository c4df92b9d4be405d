r"""Exact solutions that :func:`fokkerplanck.verify.verify` measures errors against, and the small
array tools of refinement studies (block averages, Richardson extrapolation in the step).

Known exact solutions (cell averages on the run's box):

- **KL flow of a Gaussian toward a Gaussian** (``Phi(v) = v``): an Ornstein-Uhlenbeck process;
  with :math:`A = \Sigma^{-1}` the density stays Gaussian with mean :math:`m + e^{-At}(m_0 - m)`
  and covariance :math:`\Sigma + e^{-At}(\Sigma_0 - \Sigma)e^{-At}` (restricted to the box and
  normalised there, as the solver does).
- **chi^2 or Hellinger toward the uniform density from a Barenblatt start** (run file:
  ``[target] kind = "uniform"``, ``[initial] kind = "barenblatt"``): toward
  :math:`\rho_d = c = 1/|\mathrm{box}|` the flow is :math:`u_\tau = \Delta(u^m)` with
  :math:`\tau = \tau_0 + t/c` (chi^2, m = 2) or :math:`\tau = \tau_0 + \sqrt c\,t` (Hellinger,
  m = 1/2), solved by the Barenblatt profile (:func:`fokkerplanck.flow.densities.barenblatt`). For
  m = 2 the profile has compact support and is exact on the box while the support stays
  inside it (later: no exact solution is claimed); for m = 1/2 its tails cross the walls, so it
  is restricted to the box and normalised there, and :func:`exact_solution_note` says how much
  mass that moves (the error floor it sets).
"""

from __future__ import annotations

import numpy as np

from ..analysis.exact import (barenblatt_cell_averages, barenblatt_support_radius, barenblatt_time as _tau,
                              coarsen, has_linear_phi, ornstein_uhlenbeck, richardson)
from ..flow.densities import Barenblatt, Gaussian, Uniform
from ..flow.divergences import get_divergence

__all__ = ["exact_solution", "exact_solution_note", "coarsen", "richardson", "barenblatt_cell_averages",
           "barenblatt_time", "uniform_gap"]


def barenblatt_time(spec, t):
    """The similarity time ``tau`` at flow time ``t`` of a run file's Barenblatt problem (a uniform
    target, a Barenblatt start whose exponent is the divergence's power law), else None."""
    if not (isinstance(spec.target, Uniform) and isinstance(spec.initial, Barenblatt)):
        return None
    tau = _tau(spec.divergence, spec.initial.tau, spec.target.value, t)
    if tau is None or spec.initial.m != _power(spec.divergence):
        return None
    return tau


def uniform_gap(spec):
    r"""The spectral gap in closed form when the target is uniform on the grid's box, else None.

    The weighted Laplacian is then the plain 3-point Laplacian, whose smallest nonzero eigenvalue is

    .. math::  \lambda_1 = \min_a \frac{4}{h_a^2}\sin^2\frac{\pi h_a}{L_a}\ \text{(periodic axis)},
               \qquad \frac{4}{h_a^2}\sin^2\frac{\pi h_a}{2L_a}\ \text{(walls)},

    ``L_a`` the box's length and ``h_a`` the cell width along axis ``a`` (continuum limits
    :math:`(2\pi/L_a)^2` on the torus, :math:`(\pi/L_a)^2` between walls).
    """
    t, g = spec.target, spec.grid
    if not (isinstance(t, Uniform) and np.all(t.lower <= g.lower) and np.all(t.upper >= g.upper)):
        return None
    length, h = np.asarray(g.upper - g.lower, float), np.asarray(g.spacing, float)
    return float(min(4.0 / h[a] ** 2 * np.sin(np.pi * h[a] / (length[a] if g.periodic[a] else 2 * length[a])) ** 2
                     for a in range(g.ndim)))


def _power(divergence):
    return get_divergence(divergence).phi_power[1]


def _barenblatt_inside(spec, tau):
    """Whether the compact support at ``tau`` (m > 1) lies inside the box."""
    r = barenblatt_support_radius(spec.initial.m, spec.grid.ndim, tau)
    c = spec.initial.center
    return bool(np.all(c - r >= np.asarray(spec.grid.lower)) and np.all(c + r <= np.asarray(spec.grid.upper)))


def _ou_shape(spec) -> bool:
    return has_linear_phi(spec.divergence) and isinstance(spec.target, Gaussian) and isinstance(spec.initial, Gaussian)


def _ou_problem(spec) -> bool:
    # on a periodic axis the target is the wrapped Gaussian, whose drift is not linear: no closed form
    return _ou_shape(spec) and not spec.grid.is_periodic


def exact_solution(spec, t):
    """Cell values of the exact solution of a run file's problem at time ``t`` when it is known,
    else None (module docstring)."""
    tau = barenblatt_time(spec, t)
    if tau is not None:
        if spec.initial.m > 1 and not _barenblatt_inside(spec, tau):
            return None  # the walls are felt: the Barenblatt profile is no longer the solution
        u = barenblatt_cell_averages(spec.grid, tau, spec.initial.m, spec.initial.center)
        return u / (u.sum() * spec.grid.cell_volume)
    if not _ou_problem(spec):
        return None
    g = ornstein_uhlenbeck(spec.target, spec.initial, t, kappa=get_divergence(spec.divergence).phi_power[0])
    u = np.asarray(g.pdf(spec.grid.points()), float).reshape(spec.grid.shape)
    return u / (u.sum() * spec.grid.cell_volume)


def exact_solution_note(spec, t) -> str:
    """What the exact solution is, in one line (or why none is used)."""
    tau = barenblatt_time(spec, t)
    if tau is not None:
        m = spec.initial.m
        if m > 1:
            if not _barenblatt_inside(spec, tau):
                return (f"Barenblatt (m = {m:g}): its support reaches the walls before t = {t:g} (tau = {tau:.4g}); "
                        "no exact solution used")
            r = barenblatt_support_radius(m, spec.grid.ndim, tau)
            return (f"Barenblatt profile, m = {m:g}, tau {spec.initial.tau:g} -> {tau:.4g} (support radius "
                    f"{r:.3g}, inside the box)")
        inside = float(np.sum(barenblatt_cell_averages(spec.grid, tau, m, spec.initial.center))
                       * spec.grid.cell_volume)
        return (f"Barenblatt profile, m = {m:g}, tau {spec.initial.tau:g} -> {tau:.4g}, restricted to the box: "
                f"{1 - inside:.2g} of its mass lies beyond the walls (an error floor of that size)")
    if _ou_problem(spec):
        return "Ornstein-Uhlenbeck (Gaussian for all t), restricted to the box and normalised"
    if _ou_shape(spec):  # and a periodic grid
        return ("Ornstein-Uhlenbeck: not used on a periodic grid (the wrapped Gaussian target has a nonlinear drift); "
                "no exact solution used")
    return ""
