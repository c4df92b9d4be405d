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
  m = 1/2), solved by the Barenblatt profile (:func:`fokkerplanck.theory.barenblatt`). For
  m = 2 the profile has compact support and is exact on the box while the support stays
  inside it (later: no exact solution is claimed); for m = 1/2 its tails cross the walls, so it
  is restricted to the box and normalised there, and :func:`exact_solution_note` says how much
  mass that moves (the error floor it sets).
"""

from __future__ import annotations

import math

import numpy as np

from ..theory import barenblatt_cell_averages

__all__ = ["exact_solution", "exact_solution_note", "coarsen", "richardson", "barenblatt_cell_averages",
           "barenblatt_time"]

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


_BARENBLATT_M = {"chi2": 2.0, "hellinger": 0.5}


def barenblatt_time(spec, t):
    """The similarity time ``tau`` at flow time ``t`` of a Barenblatt problem, else None."""
    from ..densities import Barenblatt, Uniform

    if not (isinstance(spec.target, Uniform) and isinstance(spec.initial, Barenblatt)):
        return None
    m = _BARENBLATT_M.get(spec.divergence)
    if m is None or spec.initial.m != m:
        return None
    c = spec.target.value
    return spec.initial.tau + (t / c if m == 2.0 else math.sqrt(c) * t)


def _support_radius(m, d, tau):
    from ..theory import _barenblatt_constant

    alpha = d / (d * (m - 1) + 2)
    k = alpha * (m - 1) / (2 * m * d)
    return math.sqrt(_barenblatt_constant(m, d, 1.0) / k) * tau ** (alpha / d)


def _barenblatt_inside(spec, tau):
    """Whether the compact support at ``tau`` (m > 1) lies inside the box."""
    r = _support_radius(spec.initial.m, spec.grid.ndim, tau)
    c = spec.initial.center
    return bool(np.all(c - r >= np.asarray(spec.grid.lower)) and np.all(c + r <= np.asarray(spec.grid.upper)))


def exact_solution(spec, t):
    """Cell values of the exact solution of a run file's problem at time ``t`` when it is known,
    else None (module docstring)."""
    import scipy.linalg

    from ..densities import Gaussian

    tau = barenblatt_time(spec, t)
    if tau is not None:
        if spec.initial.m > 1 and not _barenblatt_inside(spec, tau):
            return None  # the walls are felt: the Barenblatt profile is no longer the solution
        u = barenblatt_cell_averages(spec.grid, tau, spec.initial.m, spec.initial.center)
        return u / (u.sum() * spec.grid.cell_volume)
    if spec.divergence not in ("kl",) or not isinstance(spec.target, Gaussian) or not isinstance(spec.initial, Gaussian):
        return None
    S, S0 = np.asarray(spec.target.cov, float), np.asarray(spec.initial.cov, float)
    m, m0 = np.asarray(spec.target.mean, float), np.asarray(spec.initial.mean, float)
    E = scipy.linalg.expm(-np.linalg.inv(S) * t)
    g = Gaussian(m + E @ (m0 - m), S + E @ (S0 - S) @ E.T)
    pts = spec.grid.points()
    u = np.asarray(g.pdf(pts), float).reshape(spec.grid.shape)
    return u / (u.sum() * spec.grid.cell_volume)


def exact_solution_note(spec, t) -> str:
    """What the exact solution is, in one line (or why none is used)."""
    from ..densities import Gaussian

    tau = barenblatt_time(spec, t)
    if tau is not None:
        m = spec.initial.m
        if m > 1:
            if not _barenblatt_inside(spec, tau):
                return (f"Barenblatt (m = {m:g}): its support reaches the walls before t = {t:g} (tau = {tau:.4g}); "
                        "no exact solution used")
            r = _support_radius(m, spec.grid.ndim, tau)
            return (f"Barenblatt profile, m = {m:g}, tau {spec.initial.tau:g} -> {tau:.4g} (support radius "
                    f"{r:.3g}, inside the box)")
        inside = float(np.sum(barenblatt_cell_averages(spec.grid, tau, m, spec.initial.center))
                       * spec.grid.cell_volume)
        return (f"Barenblatt profile, m = {m:g}, tau {spec.initial.tau:g} -> {tau:.4g}, restricted to the box: "
                f"{1 - inside:.2g} of its mass lies beyond the walls (an error floor of that size)")
    if spec.divergence == "kl" and isinstance(spec.target, Gaussian) and isinstance(spec.initial, Gaussian):
        return "Ornstein-Uhlenbeck (Gaussian for all t), restricted to the box and normalised"
    return ""
