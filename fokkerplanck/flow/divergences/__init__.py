r"""The mathematics of a divergence, in one place.

For an f-divergence :math:`G(\rho) = D_f(\rho\,\|\,\rho_d) = \int f(\rho/\rho_d)\,\rho_d`, the
Wasserstein gradient flow is (docs/mathematics.md, section 2; the paper's eq. 25 and 30-32 for Jensen-Shannon)

.. math::

    \rho_d\, v_t = \nabla\cdot\big(\rho_d \nabla \Phi(v)\big), \qquad v = u/\rho_d,
    \qquad \Phi'(v) = v f''(v).

A :class:`Divergence` bundles ``f``, ``f'``, ``Phi`` and what the implicit resolvent needs: the
inverse :math:`\Phi^{-1}`, its derivative, and an antiderivative :math:`F` of :math:`\Phi^{-1}`
(so that one backward-Euler step is the minimiser of a convex energy, see
:mod:`fokkerplanck.flow.resolvent`). The scalar functions are numba ``@njit`` functions that also
work on numpy arrays, so the same definitions serve the compiled kernels and Python code.

Built in: Jensen-Shannon (``"jsd"``, the paper), Kullback-Leibler (``"kl"``, the linear
Fokker-Planck equation), Pearson chi^2 (``"chi2"``, the porous medium equation) and squared
Hellinger (``"hellinger"``, fast diffusion); docs/guide/divergence_family.md explains each. Any other f:
:func:`divergence_from_f` builds :math:`\Phi`, its inverse and the antiderivative from ``f``
alone (numerically, or from closed forms you pass), and :func:`register` makes it available by
name; the solver does not change.

Newton variable. The resolvent (:mod:`fokkerplanck.flow.resolvent`) minimises the convex step energy
over :math:`w = \Phi(v)`, but it iterates on a *variable* ``s`` that keeps the Newton matrix
bounded and nonsingular: ``s = w`` when :math:`(\Phi^{-1})'` is bounded near the bottom of its
domain (JSD, KL, Hellinger: :math:`\Phi'(0^+) > 0` or infinite), ``s = v`` when the diffusion is
degenerate, :math:`\Phi'(0^+) = 0` (chi^2: :math:`(\Phi^{-1})'(w) = 1/(2\sqrt w)` is infinite
at the bound). :attr:`Divergence.variable` says which, and the bound is ``s >= s_lower``.

The registry: one file per divergence (``jensen_shannon.py``, ``kullback_leibler.py``,
``chi2.py``, ``hellinger.py``) defines its functions, its compiled :class:`Kernels` and its
:class:`Divergence` entry, and registers it; every fact about it (names, :math:`\Phi'(1)` for the
rates, the Newton variable, :math:`\Phi'(0^+)` for the SDE form, a power law for the exact
solutions) is in that entry. Adding one is one file (docs/developer/registries.md).
"""

from __future__ import annotations

from ..._registry import import_members
import numpy as np

from .base import DIVERGENCES, Divergence, Kernels, available_divergences, get_divergence, register
from .chi2 import PEARSON_CHI2
from .from_f import divergence_from_f
from .hellinger import SQUARED_HELLINGER
from .jensen_shannon import JENSEN_SHANNON, _js_f
from .kullback_leibler import KULLBACK_LEIBLER

import_members(__name__, __path__)  # a member file dropped into this folder registers itself

__all__ = ["Divergence", "Kernels", "DIVERGENCES", "JENSEN_SHANNON", "KULLBACK_LEIBLER", "PEARSON_CHI2", "SQUARED_HELLINGER",
           "get_divergence", "register", "available_divergences", "jsd", "divergence_from_f"]


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
