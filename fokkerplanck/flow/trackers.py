"""Trackers: things that watch a run without living inside the time loop (as in py-pde).

A tracker gets ``start`` once, ``update`` after every accepted step and ``finish`` at the end (also
when the run fails). Progress bars, checkpoints and live plots are trackers; the solver only calls
these three methods.
"""

from __future__ import annotations

__all__ = ["Tracker", "CallbackTracker"]


class Tracker:
    """Base class: override what you need."""

    def start(self, problem, t_final: float) -> None:
        """Called once before the first step with the :class:`~fokkerplanck.problem.Problem`."""

    def update(self, t: float, v, record: dict) -> None:
        """Called after each accepted step: time, state ``v = u / rho_d`` and the history record."""

    def finish(self, solution) -> None:
        """Called once at the end with the (possibly partial) :class:`~fokkerplanck.Solution`."""


class CallbackTracker(Tracker):
    """Wrap a function ``fn(t, v, record)`` as a tracker."""

    def __init__(self, fn):
        self.fn = fn

    def update(self, t, v, record):
        self.fn(t, v, record)
