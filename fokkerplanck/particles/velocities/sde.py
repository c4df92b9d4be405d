r"""The McKean-Vlasov SDE (``"sde"``): drift and noise whose law follows the flow (eq. 30 for JSD).

The flow :math:`u_t = \nabla\cdot(\rho_d\nabla\Phi(v))` is, for any constant D,

.. math::

    u_t = D\Delta u - \nabla\cdot(u\,\beta),\qquad \beta = D\nabla\ln u - \Phi'(v)\nabla\ln v,
    \qquad v = u/\rho_d,

the Fokker-Planck equation of :math:`dX = \beta(X)\,dt + \sqrt{2D}\,dW`. The drift stays bounded
where ``u`` vanishes only for :math:`D = \Phi'(0^+)`, the divergence's ``sde_diffusion``; so the
SDE exists for every divergence whose :math:`\Phi'(0^+)` is finite and positive (JSD: D = 1/2,
the paper's eq. 30, :math:`\beta = \tfrac12\nabla\ln(\rho_d + u)`; KL: D = 1, Langevin,
:math:`\beta = \nabla\ln\rho_d`), with ``u`` again from a KDE of the particles. Same law as the
ODE of ``"kde"``, different paths. chi^2 (:math:`\Phi'(0) = 0`: no diffusion where u vanishes) and
Hellinger (:math:`\Phi'(0^+) = \infty`) have none, and are refused with that reason.

The drift is computed as :math:`(D - \Phi'(\hat v))\nabla\ln\hat u + \Phi'(\hat v)\nabla\ln\rho_d`;
when :math:`\Phi' \equiv D` (:math:`\Phi` linear, KL) it is :math:`D\nabla\ln\rho_d` and no KDE is
needed. On a periodic grid the drift is periodic (:mod:`~fokkerplanck.particles.velocities.kde`) and the
positions wrap after every step (:func:`~fokkerplanck.particles.integrators.confine`): the SDE on the torus.
"""

from __future__ import annotations

import math

import numpy as np

from .base import register
from .kde import KDEField

__all__ = ["SDEDrift"]


@register
class SDEDrift(KDEField):
    r"""Drift :math:`D\nabla\ln\hat u - \Phi'(\hat v)\nabla\ln\hat v` and noise :math:`\sqrt{2D}`,
    :math:`D = \Phi'(0^+)`, of the divergence's McKean-Vlasov SDE (module docstring).

    Jensen-Shannon: :math:`dX = \tfrac12\nabla\ln(\rho_d + \hat u)(X)\,dt + dW` (eq. 30);
    Kullback-Leibler: :math:`dX = \nabla\ln\rho_d(X)\,dt + \sqrt2\,dW` (no KDE needed).

    Parameters
    ----------
    target : Gaussian or GaussianMixture
        :math:`\rho_d` (needs ``logpdf`` and ``grad_logpdf``).
    divergence : str or Divergence
        Default ``"jsd"``; its ``sde_diffusion`` must not be None.
    """

    name = "sde"
    stochastic = True

    @classmethod
    def unavailable(cls, divergence) -> str | None:
        if divergence.sde_diffusion is not None:
            return None
        d0 = divergence.phi_prime_at_zero
        if d0 is None and divergence.phi_prime is not None:
            with np.errstate(all="ignore"):
                d0 = float(np.asarray(divergence.phi_prime(np.array([0.0])), dtype=float)[0])
        if d0 == 0:
            why = "Phi'(0) = 0, so the flow has no diffusion where u vanishes"
        elif d0 is not None and math.isinf(d0):
            why = "Phi'(0+) is infinite"
        else:
            why = f"Phi'(0+) = {d0} is not a finite positive number"
        return (f"velocity='sde' has no SDE form for {divergence.name!r}: {why}, and the noise sqrt(2 Phi'(0+)) "
                "needs it finite and positive; velocity='kde' moves particles along the same flow (an ODE)")

    def __init__(self, target, divergence="jsd", **options):
        super().__init__(target, divergence, **options)
        self.diffusion = self.divergence.sde_diffusion
        self.noise = math.sqrt(2.0 * self.diffusion)

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=float) if self._torus is None else self._torus.wrap(x)
        if self._constant is not None:  # Phi' = D everywhere: the KDE terms cancel
            return self.diffusion * np.asarray(self._target(x)[1], dtype=float)
        grad_log_u, coef, grad_log_rho = self._terms(x)
        drift = (self.diffusion - coef) * grad_log_u
        drift += coef * grad_log_rho
        return drift
