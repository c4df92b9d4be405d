"""Checkpoints: save the state of a running flow now and then, and continue from it later.

:class:`Checkpoint` is a :class:`~fokkerplanck.trackers.Tracker` with ``wants_state = True``: after
accepted steps the solver hands it the live :class:`~fokkerplanck.solver.RunState` and, every
``every_seconds`` of wall-clock time (or every ``every_steps`` steps), it writes the state to an
HDF5 file through the atomic writer (:mod:`fokkerplanck.io.atomic`), so the checkpoint on disk is always a
complete one. :func:`load_state` reads it back and ``fp.solve(..., resume=state)`` continues the run
with results identical, bit for bit, to an uninterrupted run (the state holds the iterate, the
step-size controller's memory, the history and the saved frames).

Examples
--------
>>> import fokkerplanck as fp, tempfile, os
>>> from fokkerplanck.io.checkpoint import Checkpoint, load_state
>>> path = os.path.join(tempfile.mkdtemp(), "run.checkpoint.h5")
>>> grid = fp.Grid([-6.0], [6.0], [200])
>>> target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
>>> sol = fp.solve(target, initial, grid, 0.5, dt=0.05, trackers=[Checkpoint(path, every_steps=3)])
>>> state = load_state(path)         # the state after step 9 (t = 0.45)
>>> again = fp.solve(target, initial, grid, 0.5, dt=0.05, resume=state)
>>> fp.io.solutions_equal(again, sol)
True
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np

from .._validation import positive_int
from ..trackers import Tracker
from .atomic import atomic_h5
from .results import _json, _read_array, _read_json, open_hdf5

__all__ = ["Checkpoint", "save_state", "load_state", "CHECKPOINT_FORMAT"]

CHECKPOINT_FORMAT = "fokkerplanck.checkpoint"


def save_state(path, state, *, fingerprint: str = "") -> Path:
    """Write a :class:`~fokkerplanck.solver.RunState` to ``path`` atomically.

    ``fingerprint`` is any string identifying the run (e.g. a hash of the run file), checked by
    whoever resumes (see :func:`load_state`).
    """
    from .. import __version__

    with atomic_h5(path) as f:
        f.attrs["format"] = CHECKPOINT_FORMAT
        f.attrs["format_version"] = 1
        f.attrs["fokkerplanck_version"] = __version__
        f.attrs["fingerprint"] = fingerprint
        scalars = dict(t=state.t, h_prev=state.h_prev, h_next=state.h_next, mark_index=state.mark_index,
                       counters=state.counters, has_v_prev=state.v_prev is not None,
                       history_order=list(state.history))
        f.attrs["scalars"] = _json(scalars)
        f.create_dataset("v", data=np.asarray(state.v, dtype=float))
        f.create_dataset("phi", data=np.asarray(state.phi, dtype=float))
        if state.v_prev is not None:
            f.create_dataset("v_prev", data=np.asarray(state.v_prev, dtype=float))
        h = f.create_group("history")
        for key, values in state.history.items():
            arr = np.asarray(values)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"history entry {key!r} is not numeric (dtype {arr.dtype}).")
            h.create_dataset(key, data=arr)
        f.create_dataset("saved_t", data=np.asarray(state.saved_t, dtype=float))
        saved_v = (np.stack(state.saved_v) if state.saved_v else np.empty((0, *np.shape(state.v))))
        f.create_dataset("saved_v", data=saved_v)
    return Path(path)


def load_state(path, *, fingerprint: str | None = None):
    """Read a :class:`~fokkerplanck.solver.RunState` written by :func:`save_state` / :class:`Checkpoint`.

    Parameters
    ----------
    path : str or Path
    fingerprint : str, optional
        If given, the checkpoint must have been written with the same fingerprint (the same run),
        otherwise a ValueError says so.
    """
    from ..solver import RunState

    where = str(Path(path))
    with open_hdf5(path, "checkpoint") as f:
        if f.attrs.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{where}: not a fokkerplanck checkpoint.")
        if fingerprint is not None and f.attrs.get("fingerprint") != fingerprint:
            raise ValueError(f"{where}: this checkpoint belongs to a different run (its run file or options "
                             "differ); delete it or run without --resume.")
        sc = _read_json(f.attrs, "scalars", where)
        history = {}
        for key in sc["history_order"]:
            history[key] = _read_array(f["history"], key, where).tolist()
        saved_v = _read_array(f, "saved_v", where)
        return RunState(t=float(sc["t"]), v=_read_array(f, "v", where), phi=_read_array(f, "phi", where),
                        v_prev=_read_array(f, "v_prev", where) if sc["has_v_prev"] else None,
                        h_prev=sc["h_prev"], h_next=sc["h_next"], mark_index=int(sc["mark_index"]),
                        history=history, saved_t=[float(x) for x in _read_array(f, "saved_t", where)],
                        saved_v=[saved_v[i].copy() for i in range(saved_v.shape[0])],
                        counters={k: int(val) for k, val in sc["counters"].items()})


class Checkpoint(Tracker):
    """Write the run state to ``path`` periodically, atomically (a :class:`Tracker`).

    Parameters
    ----------
    path : str or Path
        Checkpoint file (HDF5). Each write goes to a temporary file first, then :func:`os.replace`.
    every_seconds : float
        Wall-clock interval between writes (default 60 s). ``math.inf`` disables the timer.
    every_steps : int, optional
        Also write every this many accepted steps (deterministic; useful in tests).
    fingerprint : str
        Identifies the run; stored in the file and checked by :func:`load_state`.

    Attributes
    ----------
    n_written : int
        Number of checkpoints written so far.
    last_t : float or None
        Time of the state in the latest checkpoint.
    """

    wants_state = True

    def __init__(self, path, every_seconds: float = 60.0, every_steps: int | None = None, fingerprint: str = ""):
        if not (isinstance(every_seconds, (int, float)) and every_seconds > 0):
            raise ValueError(f"every_seconds must be a positive number (math.inf to disable), got {every_seconds!r}.")
        if every_steps is not None:
            every_steps = positive_int("every_steps", every_steps)
        self.path = Path(path)
        self.every_seconds = float(every_seconds)
        self.every_steps = every_steps
        self.fingerprint = fingerprint
        self.n_written = 0
        self.last_t = None
        self._last_time = None

    def start(self, problem, t_final):
        self._last_time = time.monotonic()

    def update_state(self, state):
        now = time.monotonic()
        due = now - self._last_time >= self.every_seconds if math.isfinite(self.every_seconds) else False
        if self.every_steps is not None and state.counters["n_steps"] % self.every_steps == 0:
            due = True
        if due:
            save_state(self.path, state, fingerprint=self.fingerprint)
            self.n_written += 1
            self.last_t = state.t
            self._last_time = time.monotonic()


def fingerprint_of(*parts) -> str:
    """A short stable hash of strings/JSON-able objects identifying a run (for :class:`Checkpoint`)."""
    import hashlib

    text = json.dumps([p if isinstance(p, str) else _json(p) for p in parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
