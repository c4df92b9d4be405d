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

from . import operators
from .divergences import JENSEN_SHANNON

__all__ = ["state_diagnostics", "DIAGNOSTIC_NAMES"]

DIAGNOSTIC_NAMES = ("mass", "jsd", "energy", "l1", "dissipation", "grad_v_norm2", "max_v")


def state_diagnostics(v: np.ndarray, cell_mass: np.ndarray, coeffs, divergence, phi=None) -> dict:
    """The diagnostics above for one state, as a dict of floats (``phi = Phi(v)`` if known)."""
    m = cell_mass
    js = float(np.sum(m * JENSEN_SHANNON.f(v)))
    energy = js if divergence is JENSEN_SHANNON else float(np.sum(m * divergence.f(v)))
    with np.errstate(divide="ignore", invalid="ignore"):
        fp_ = divergence.f_prime(np.maximum(v, 1e-300))
    return {
        "mass": float(np.sum(m * v)),
        "jsd": js,
        "energy": energy,
        "l1": float(np.sum(m * np.abs(v - 1.0))),
        "dissipation": operators.dirichlet_form(coeffs, fp_, divergence.phi(v) if phi is None else phi),
        "grad_v_norm2": operators.dirichlet_form(coeffs, v, v),
        "max_v": float(np.max(v)),
    }
