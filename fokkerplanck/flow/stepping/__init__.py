"""Time stepping: schemes (found by name in :data:`SCHEMES`), step-size controllers, the time loop.

- :mod:`~fokkerplanck.flow.stepping.base`: what a scheme declares (order, previous states, its
  local error estimate, its discrete long-time rate) and the registry;
- :mod:`~fokkerplanck.flow.stepping.euler`: backward Euler, the Crandall-Liggett resolvent at
  every step (the default);
- :mod:`~fokkerplanck.flow.stepping.bdf2`: BDF2, the same resolvent with a shorter step on
  extrapolated data (second order);
- :mod:`~fokkerplanck.flow.stepping.controllers`: fixed and adaptive step sizes;
- :mod:`~fokkerplanck.flow.stepping.loop`: :class:`TimeLoop` (owns the loop, knows no files) and
  :class:`RunState` (what it hands out for checkpoints and takes back to resume).
"""

from __future__ import annotations

from ..._registry import import_members
from .base import SCHEMES, Scheme, get_scheme, register
from .controllers import AdaptiveSteps, FixedSteps, make_controller
from .euler import BackwardEuler
from .loop import HISTORY_KEYS, RunState, StateError, TimeLoop

import_members(__name__, __path__)  # a member file dropped into this folder registers itself

__all__ = ["SCHEMES", "Scheme", "get_scheme", "register", "BackwardEuler", "FixedSteps", "AdaptiveSteps",
           "make_controller", "TimeLoop", "RunState", "StateError", "HISTORY_KEYS"]
