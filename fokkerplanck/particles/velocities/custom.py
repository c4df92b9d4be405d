"""A user's velocity field (``velocity=<callable>``): any ``field(t, x) -> (n, d)``.

``x`` is the whole ensemble (or a Runge-Kutta stage of it), so self-consistent fields estimate
from ``x`` itself. Not in :data:`~fokkerplanck.particles.velocities.base.VELOCITIES`: the driver uses
it for every callable.
"""

from __future__ import annotations

import numpy as np

from .base import FlowArguments, VelocityField

__all__ = ["CustomVelocity"]


class CustomVelocity(VelocityField):
    """A user's ``function(t, x) -> (n, d)``, whose output shape is checked at every call.

    Its ``name`` is the function's ``name`` attribute, ``__name__`` or type name. It follows no
    divergence (``Ensemble.divergence`` is None) and ignores ``velocity_options``.
    """

    name = "custom"
    other_options = "ignored: a custom field takes none"

    def __init__(self, function):
        if not callable(function):
            raise ValueError(f"a custom velocity must be callable as field(t, x), got {type(function).__name__}.")
        self.function = function
        self.name = getattr(function, "name", None) or getattr(function, "__name__", None) or type(function).__name__

    def __call__(self, t, x):
        # check the output before it is combined with the positions (broadcasting would hide errors)
        out = np.asarray(self.function(t, x), dtype=float)
        if out.shape != x.shape:
            raise ValueError(f"the velocity field returned shape {out.shape} for positions of shape {x.shape}; "
                             "it must return one velocity per particle, shape (n, d).")
        return out

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        super().check(args)
        args.divergence = None

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "CustomVelocity":
        return cls(args.function)
