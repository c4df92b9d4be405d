r"""The numerics core: everything needed to solve the flow, and nothing above it.

:math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))`, :math:`v = u/\rho_d` (eq. 25, 30-32 of
the paper for Jensen-Shannon), by finite volumes in space and implicit (Crandall-Liggett) steps
in time. One module per job:

- :mod:`~fokkerplanck.flow.grid`, :mod:`~fokkerplanck.flow.densities`,
  :mod:`~fokkerplanck.flow.grid_density`, :mod:`~fokkerplanck.flow.periodic`,
  :mod:`~fokkerplanck.flow.sampling`, :mod:`~fokkerplanck.flow.problem`: the box (periodic or not), the
  densities (given on the cells; wrapped on periodic axes), samples of them, a problem on the cells;
- :mod:`~fokkerplanck.flow.divergences`: the mathematics of each divergence, one file each;
- :mod:`~fokkerplanck.flow.operators`: the finite-volume operators;
- :mod:`~fokkerplanck.flow.resolvent` (with :mod:`~fokkerplanck.flow.newton_1d`): one implicit
  step :math:`(I + hA)^{-1}` by Newton's method; :mod:`~fokkerplanck.flow.linear`: its linear solvers;
- :mod:`~fokkerplanck.flow.stepping`: schemes, step-size controllers, the time loop and its state;
- :mod:`~fokkerplanck.flow.solve`, :mod:`~fokkerplanck.flow.solution`,
  :mod:`~fokkerplanck.flow.diagnostics`, :mod:`~fokkerplanck.flow.trackers`,
  :mod:`~fokkerplanck.flow.budget`: the driver, its result, per-step diagnostics, observers and the
  memory and work check.

The rule (tested): this layer imports nothing of the package above it (``analysis``,
``particles``, ``gan``, ``io``, ``sweep``, ``verify``, ``plot``, ``cli``), at module level or inside
functions, except the documented accessor :meth:`Solution.plot`. Checkpoints are ``io`` reading
the :class:`~fokkerplanck.flow.stepping.RunState` the loop hands out and handing it back.
"""

from __future__ import annotations

from .densities import Barenblatt, Density, Gaussian, GaussianMixture, SampleKDE, Uniform
from .divergences import Divergence, available_divergences, get_divergence
from .grid import Grid
from .grid_density import GridDensity
from .problem import Problem, setup
from .solution import ConvergenceError, Solution
from .solve import solve
from .stepping import RunState, StateError, TimeLoop
from .trackers import CallbackTracker, Tracker

__all__ = ["Grid", "GridDensity", "Density", "Gaussian", "GaussianMixture", "SampleKDE", "Uniform", "Barenblatt", "Divergence",
           "available_divergences", "get_divergence", "Problem", "setup", "Solution", "ConvergenceError", "solve",
           "RunState", "StateError", "TimeLoop", "Tracker", "CallbackTracker"]
