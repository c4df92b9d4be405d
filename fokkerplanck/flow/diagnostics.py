r"""Diagnostics of a state ``v = u / rho_d``, recorded at every accepted time step.

All integrals are with respect to :math:`\mu_d` (``dmu_d = rho_d dy``), discretised with the cell
masses ``m = rho_d * cell_volume``:

- ``mass``        :math:`\int u = \sum_i m_i v_i` (Corollary 16: conserved);
- ``jsd``         :math:`\mathrm{JSD}(u, \rho_d)` (eq. 3), whatever divergence drives the flow;
- ``energy``      :math:`D_f(u\|\rho_d)` of the divergence that drives the flow (= ``jsd`` for JSD);
- ``l1``          :math:`\|u - \rho_d\|_{L^1} = \sum_i m_i |v_i - 1|`;
- ``dissipation`` :math:`-\tfrac{d}{dt}D_f = \sum_{faces} k_{ij}(f'(v_i)-f'(v_j))(\Phi(v_i)-\Phi(v_j))`,
  the discrete :math:`\int |\nabla f'(v)|^2 u` (eq. 58-59 for JSD); backward Euler guarantees
  :math:`D_f(v^{n+1}) \le D_f(v^n) - h\,\mathrm{dissipation}(v^{n+1})`;
- ``grad_v_norm2`` :math:`\|\nabla v\|^2_{L^2(\mu_d)} = v^\top K v` (Lemma 24, eq. 51);
- ``max_v``       :math:`\max v` (condition 34: it never exceeds its initial value).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from . import operators
from .divergences import JENSEN_SHANNON
from .divergences.jensen_shannon import js_f_and_prime

__all__ = ["state_diagnostics", "DIAGNOSTIC_NAMES"]

DIAGNOSTIC_NAMES = ("mass", "jsd", "energy", "l1", "dissipation", "grad_v_norm2", "max_v")


def state_diagnostics(v: np.ndarray, cell_mass: np.ndarray, coeffs, divergence, phi=None) -> dict:
    """The diagnostics above for one state, as a dict of floats (``phi = Phi(v)`` if known).

    On a 1-D grid the sums run in one compiled pass (:func:`_sums_1d`; the JSD flow's ``f`` and
    ``f'`` from two logarithms per cell); elsewhere, and for the ``f``, ``f'`` of other
    divergences, in numpy. Both evaluate the same formulas."""
    m = cell_mass
    own = divergence is JENSEN_SHANNON
    phi = divergence.phi(v) if phi is None else phi
    if v.ndim == 1 and len(coeffs) == 1:
        if own:
            fp_ = energy = None
        else:
            energy = float(np.sum(m * divergence.f(v)))
            with np.errstate(divide="ignore", invalid="ignore"):
                fp_ = np.asarray(divergence.f_prime(np.maximum(v, 1e-300)), dtype=float)
        mass, js, l1, dissipation, grad2, max_v = _sums_1d(v, phi, m, coeffs[0], fp_ if fp_ is not None else v, own)
        return {"mass": mass, "jsd": js, "energy": js if own else energy, "l1": l1, "dissipation": dissipation,
                "grad_v_norm2": grad2, "max_v": max_v}
    js = float(np.sum(m * JENSEN_SHANNON.f(v)))
    energy = js if own else float(np.sum(m * divergence.f(v)))
    with np.errstate(divide="ignore", invalid="ignore"):
        fp_ = divergence.f_prime(np.maximum(v, 1e-300))
    return {
        "mass": float(np.sum(m * v)),
        "jsd": js,
        "energy": energy,
        "l1": float(np.sum(m * np.abs(v - 1.0))),
        "dissipation": operators.dirichlet_form(coeffs, fp_, phi),
        "grad_v_norm2": operators.dirichlet_form(coeffs, v, v),
        "max_v": float(np.max(v)),
    }


@njit(cache=True)
def _sums_1d(v, phi, m, k, fprime, own):
    r"""``(mass, jsd, l1, dissipation, grad_v_norm2, max_v)`` of a 1-D state in one pass.

    ``k`` holds the ``n - 1`` face coefficients, or ``n`` on a periodic interval (the last is the
    seam face). ``own``: the flow is Jensen-Shannon's, whose :math:`f'(v)` comes with
    :math:`f(v)` (:func:`~fokkerplanck.flow.divergences.jensen_shannon.js_f_and_prime`) and
    ``fprime`` is ignored; else ``fprime`` holds the flow's :math:`f'(\max(v, 10^{-300}))`."""
    n = v.size
    fp_ = np.empty(n) if own else fprime
    mass = 0.0
    js = 0.0
    l1 = 0.0
    max_v = -np.inf
    for i in range(n):
        f, fpi = js_f_and_prime(v[i])
        if own:
            fp_[i] = fpi
        mass += m[i] * v[i]
        js += m[i] * f
        l1 += m[i] * abs(v[i] - 1.0)
        max_v = max(max_v, v[i])
    dissipation = 0.0
    grad2 = 0.0
    for i in range(k.size):
        j = i + 1 if i < n - 1 else 0
        dv = v[i] - v[j]
        dissipation += k[i] * (fp_[i] - fp_[j]) * (phi[i] - phi[j])
        grad2 += k[i] * dv * dv
    return mass, js, l1, dissipation, grad2, max_v
