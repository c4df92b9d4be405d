"""Particles that follow the flow's ODE (Trevisan's superposition principle, Section 5 of the paper).

Modules
-------
simulate
    :func:`simulate`: move an ensemble along a velocity field; :class:`Ensemble`, the result.
kde
    Kernel density estimates of particle clouds (exact and binned), used by the self-consistent
    velocities.
sampling
    I.i.d. and quasi-Monte Carlo (Sobol) samples of densities and of values on a grid.
"""

from . import kde, sampling
from .sampling import sample
from .driver import (METHODS, SDE_METHODS, VELOCITIES, Ensemble, GridVelocity, KDEVelocity, SDEDrift,
                       face_velocities, reflect, simulate)

__all__ = ["simulate", "Ensemble", "GridVelocity", "KDEVelocity", "SDEDrift", "face_velocities", "reflect",
           "sample", "kde", "sampling", "VELOCITIES", "METHODS", "SDE_METHODS"]
