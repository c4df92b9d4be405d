"""Particles that follow the flow's ODE (Trevisan's superposition principle, Section 5 of the paper).

Modules
-------
driver
    :func:`simulate`: check the arguments, build the velocity field, step the ensemble, return it.
ensemble
    :class:`Ensemble`, the result (``t``, ``positions``, ``status``, ``message``, flat counters).
velocities
    The velocity fields, one file and class each behind :class:`VelocityField`, by name in the
    registry ``VELOCITIES`` (``"grid"``, ``"kde"``, ``"sde"``, ``"discriminator"``); each class
    declares its options and what it needs. Also :func:`face_velocities`.
integrators
    The time steps by name in ``METHODS`` (``"euler"``, ``"rk2"``, ``"rk4"``) and ``SDE_METHODS``
    (``"euler-maruyama"``), and the reflecting walls (:func:`reflect`).
kde
    Kernel density estimates of particle clouds (exact and binned), used by the self-consistent
    velocities.
sampling
    I.i.d. and quasi-Monte Carlo (Sobol) samples of densities and of values on a grid.
_kernels
    The compiled (numba) loops of the grid velocity and of the target's log-density (private).
"""

from . import kde
from ..flow import sampling
from .driver import simulate
from .ensemble import Ensemble
from .integrators import METHODS, SDE_METHODS, reflect
from ..flow.sampling import sample
from .velocities import (VELOCITIES, CustomVelocity, DiscriminatorVelocity, GridVelocity, KDEVelocity, SDEDrift,
                         VelocityField, face_velocities)

__all__ = ["simulate", "Ensemble", "VelocityField", "GridVelocity", "KDEVelocity", "SDEDrift",
           "DiscriminatorVelocity", "CustomVelocity", "face_velocities", "reflect", "sample", "kde", "sampling",
           "VELOCITIES", "METHODS", "SDE_METHODS"]
