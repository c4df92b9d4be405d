"""Ctrl-C and SIGTERM during a solve: stop at the end of the current step, checkpoint, exit 130.

A signal handler that raises can interrupt the interpreter anywhere, including inside a weakref
callback (where the exception is ignored and the run carries on) or a compiled kernel's dispatch
(where it turns into a SystemError). So while a run's time loop is going, the first SIGINT or
SIGTERM only records the request; :class:`StopOnSignal`, a tracker, sees it after the next
accepted step, writes a checkpoint of that state and raises from ordinary code. A second signal
stops at once (the last periodic checkpoint is then the one to resume from).
"""

from __future__ import annotations

import contextlib
import signal

from ..flow.trackers import Tracker

__all__ = ["Terminated", "deferred_signals", "StopOnSignal"]


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (the run stops, a checkpoint is kept, exit code 130)."""


_requested: list = []  # the signal numbers received while signals are deferred


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _defer(signum, frame):
    if _requested:  # a second signal: stop now
        raise _interrupt(signum)
    _requested.append(signum)


@contextlib.contextmanager
def deferred_signals():
    """Record SIGINT/SIGTERM instead of raising (main thread only; elsewhere nothing changes)."""
    _requested.clear()
    previous = {}
    try:
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, _defer)
    except (ValueError, OSError):  # not the main thread
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        previous = {}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()


class StopOnSignal(Tracker):
    """After each accepted step: if a stop was requested, checkpoint the state and raise."""

    wants_state = True

    def __init__(self, checkpoint=None):
        self.checkpoint = checkpoint

    def update_state(self, state):
        if _requested:
            if self.checkpoint is not None:
                self.checkpoint.write(state)
            raise _interrupt(_requested[0])
