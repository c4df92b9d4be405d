"""Ctrl-C and SIGTERM: every one ends the command with exit 130 and a consistent state on disk.

A signal handler that raises can interrupt the interpreter anywhere, including inside a weakref or
garbage-collection callback (where the exception is ignored and the run carries on) or a compiled
kernel's dispatch (where it turns into a SystemError). So every signal is also *recorded*:

- :func:`command_signals` (the whole command, :func:`fokkerplanck.cli.main`): SIGINT and SIGTERM
  raise at once, and are recorded; a command that finishes after a signal was swallowed still
  exits 130.
- :func:`deferred_signals` (the whole of a run: time loop, particles, saving, figures): the first
  signal only records the request. :class:`StopOnSignal`, a tracker, sees it after the next
  accepted step, writes a checkpoint of that state and raises from ordinary code;
  :func:`stop_if_requested` raises it between the other phases; inside :func:`interruptible`
  (pure computation: particles, figures) a signal raises at once and is checked again when the
  block ends. A second signal stops at once. Files are written atomically, so a stop anywhere
  leaves the last checkpoint and any results file complete.
"""

from __future__ import annotations

import contextlib
import signal

from ..flow.trackers import Tracker

__all__ = ["Terminated", "command_signals", "deferred_signals", "interruptible", "stop_if_requested",
           "StopOnSignal"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled like Ctrl-C (the run stops, a checkpoint is kept, exit code 130)."""


_seen: list = []       # every SIGINT/SIGTERM the command received
_requested: list = []  # the signals received while signals are deferred
_raise_now = [False]   # inside interruptible(): raise at once (and record)


def _interrupt(signum):
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


def _immediate(signum, frame):
    _seen.append(signum)
    raise _interrupt(signum)


def _defer(signum, frame):
    _seen.append(signum)
    if _requested or _raise_now[0]:  # a second signal, or a phase that may stop anywhere: stop now
        _requested.append(signum)
        raise _interrupt(signum)
    _requested.append(signum)


@contextlib.contextmanager
def _handlers(handler):
    previous = {}
    try:
        for sig in _SIGNALS:
            previous[sig] = signal.signal(sig, handler)
    except (ValueError, OSError):  # not the main thread: nothing changes
        for sig, old in previous.items():
            signal.signal(sig, old)
        previous = {}
    try:
        yield bool(previous)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@contextlib.contextmanager
def command_signals():
    """SIGINT/SIGTERM raise at once and are recorded; yields the record (a list of signal numbers)."""
    _seen.clear()
    with _handlers(_immediate):
        yield _seen


@contextlib.contextmanager
def deferred_signals():
    """Record SIGINT/SIGTERM instead of raising (main thread only; elsewhere nothing changes). A
    request still pending when the block ends raises there."""
    _requested.clear()
    _raise_now[0] = False
    try:
        with _handlers(_defer):
            yield
    except BaseException:
        _requested.clear()
        raise
    pending, _requested[:] = list(_requested), []
    if pending:
        raise _interrupt(pending[0])


def stop_if_requested() -> None:
    """Raise KeyboardInterrupt (:class:`Terminated` for SIGTERM) if a stop was requested."""
    if _requested:
        raise _interrupt(_requested[0])


@contextlib.contextmanager
def interruptible():
    """Inside :func:`deferred_signals`: a block that may stop anywhere (no file is being written), so a
    signal raises at once; one swallowed (e.g. raised inside a garbage-collection callback) raises when
    the block ends."""
    before = _raise_now[0]
    _raise_now[0] = True
    try:
        yield
    finally:
        _raise_now[0] = before
    stop_if_requested()


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
