r"""The velocity fields of the particles, one class (and one file) each, found by name in :data:`VELOCITIES`.

The particles follow the distribution-dependent ODE :math:`dY/dt = b(t, Y)` with

.. math::

    b = -\nabla\frac{\delta J}{\delta\rho}(u(t)) = -\frac12\nabla\ln\frac{u}{\rho_d + u}
      = -\frac12\Big(\frac{\nabla u}{u} - \frac{\nabla\rho_d + \nabla u}{\rho_d + u}\Big)
    \qquad\text{(eq. 2, 16, 49)}

for Jensen-Shannon, and for a general f-divergence (``docs/mathematics.md``, sections 2 and 7)
:math:`b = -\nabla f'(v) = -\Phi'(v)\nabla\ln v`, :math:`v = u/\rho_d`. The fields differ in where
``u`` comes from:

``"grid"`` (:class:`~fokkerplanck.particles.velocities.grid.GridVelocity`, superposition mode)
    ``b`` from a grid :class:`~fokkerplanck.Solution`, face differences of :math:`f'(v)`
    interpolated like a staggered (MAC) field; every divergence.
``"kde"`` (:class:`~fokkerplanck.particles.velocities.kde.KDEVelocity`, self-consistent, no grid)
    ``u`` from a Gaussian kernel density estimate of the particles themselves,
    :math:`b = -\Phi'(\hat v)(\nabla\ln\hat u - \nabla\ln\rho_d)`; every divergence.
``"sde"`` (:class:`~fokkerplanck.particles.velocities.sde.SDEDrift`, McKean-Vlasov particles)
    :math:`dX = (D\nabla\ln\hat u - \Phi'(\hat v)\nabla\ln\hat v)\,dt + \sqrt{2D}\,dW` with
    :math:`D = \Phi'(0^+)` (eq. 30 for JSD, Langevin for KL); every divergence with a finite
    positive :math:`\Phi'(0^+)`. Same law as the ODE, different paths.
``"discriminator"`` (:class:`~fokkerplanck.particles.velocities.discriminator.DiscriminatorVelocity`)
    The GAN calibrator of Section 3.1 (eq. 20-23), trained on samples ``data`` of :math:`\rho_d`
    against the particles.
callable (:class:`~fokkerplanck.particles.velocities.custom.CustomVelocity`)
    Any ``field(t, x) -> (n, d)``.

Each class derives from :class:`~fokkerplanck.particles.velocities.base.VelocityField` and
declares itself (:mod:`~fokkerplanck.particles.velocities.base`): its ``name``, its ``options``
(:class:`~fokkerplanck.particles.velocities.base.Option`: name, check, default, one line of doc),
what it ``needs``, whether it is ``stochastic``. :func:`~fokkerplanck.particles.simulate`, the
run-file reader (:mod:`fokkerplanck.io.runfile`) and the run driver read these declarations, so a
new field is one new file in this package that registers itself: importing the package imports
every public module in it (:func:`fokkerplanck._registry.import_members`; the shipped ones first,
in the order above), which registers the field (docs/developer/velocities.md).

Modules: :mod:`~fokkerplanck.particles.velocities.base`, :mod:`~fokkerplanck.particles.velocities.grid`,
:mod:`~fokkerplanck.particles.velocities.kde`, :mod:`~fokkerplanck.particles.velocities.sde`,
:mod:`~fokkerplanck.particles.velocities.discriminator`, :mod:`~fokkerplanck.particles.velocities.custom`.

References
----------
Y.-J. Huang, Y. Zhang, "GANs as gradient flows that converge", JMLR 24(217) 2023, eq. 2, 16,
20-23, 30, 49 and Section 5.
"""

from ..._registry import import_members
from .base import VELOCITIES, Check, Choice, FlowArguments, Integer, Number, Option, VelocityField, register
from .grid import GridVelocity, face_velocities
from .kde import KDEField, KDEVelocity
from .sde import SDEDrift
from .discriminator import DiscriminatorVelocity
from .custom import CustomVelocity

__all__ = ["VelocityField", "FlowArguments", "Option", "Check", "Number", "Integer", "Choice", "VELOCITIES",
           "register", "GridVelocity", "KDEField", "KDEVelocity", "SDEDrift", "DiscriminatorVelocity",
           "CustomVelocity", "face_velocities"]

import_members(__name__, __path__)  # a member file dropped into this folder registers itself
