r"""The time-stepping scheme entry: what every member of :data:`SCHEMES` declares.

A scheme turns the resolvent :math:`(I + hA)^{-1}` into one time step. Its class carries every
fact about it:

- ``name`` (the ``scheme=`` argument and the run-file spelling), ``label`` (what figures and
  reports call it) and ``order``, the order of
  accuracy in time that :mod:`fokkerplanck.verify` expects;
- ``n_previous``: how many earlier states a step uses (the run state keeps them for resume);
- :meth:`step`: one step of size ``h`` from the run state, by the resolvent;
- :meth:`local_error`: the estimate of the local error that adaptive steps control;
- :meth:`discrete_rate`: the decay rate per unit time of a mode decaying at ``rate`` in the
  continuous flow, as this scheme computes it (the long-time rate the theory predicts for the
  discrete flow).

The time loop, the adaptive controller, :mod:`fokkerplanck.analysis.rates` and verify read these
entries; adding a scheme is one file.
"""

from __future__ import annotations

from ..._registry import Registry

__all__ = ["Scheme", "SCHEMES", "register", "get_scheme"]

#: The registered time-stepping schemes, by name.
SCHEMES = Registry("scheme")


def register(cls):
    """Class decorator: add a :class:`Scheme` subclass to :data:`SCHEMES`."""
    return SCHEMES.add(cls)


def get_scheme(scheme):
    """The scheme class for a name or a :class:`Scheme` subclass (a ValueError lists the names)."""
    if isinstance(scheme, type) and issubclass(scheme, Scheme):
        return scheme
    return SCHEMES.get(scheme, what="scheme")


class Scheme:
    """Base class of the time-stepping schemes (see the module docstring)."""

    name = ""
    label = ""  # what figures and reports call it ("backward Euler")
    summary = ""
    order = 1
    n_previous = 0

    @classmethod
    def step(cls, resolvent, state, h):
        """The :class:`~fokkerplanck.flow.resolvent.ResolventResult` of one step of size ``h``."""
        raise NotImplementedError

    @classmethod
    def local_error(cls, state, h, res, cell_mass, coeffs) -> float:
        """Estimate of the local error (L1 of u) of the step from ``state`` to ``res``."""
        raise NotImplementedError

    @classmethod
    def discrete_rate(cls, rate: float, h: float) -> float:
        """Decay rate per unit time of a mode of continuous rate ``rate`` under steps of size ``h``."""
        raise NotImplementedError
