"""Checkpoints: save the state of a running flow now and then, and continue from it later.

:class:`Checkpoint` is a :class:`~fokkerplanck.flow.trackers.Tracker` with ``wants_state = True``: after
accepted steps the solver hands it the live :class:`~fokkerplanck.flow.solve.RunState` and, every
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
from ..flow.stepping import RunState
from ..flow.trackers import Tracker
from . import integrity
from .atomic import atomic_h5
from .integrity import DamagedFileError
from .results import _json, _read_json, open_hdf5
from .._version import __version__

__all__ = ["Checkpoint", "save_state", "load_state", "validate_state", "CHECKPOINT_FORMAT", "CheckpointError"]

CHECKPOINT_FORMAT = "fokkerplanck.checkpoint"
CHECKPOINT_VERSION = 2  # 2: checksum, fletcher32, the linear solver's reused state


class CheckpointError(DamagedFileError):
    """A checkpoint that cannot be resumed (damaged, edited, from another run, inconsistent)."""


def _unusable(where, what):
    return CheckpointError(f"{where}: unusable checkpoint: {what}; start over without --resume "
                           "(or delete the checkpoint).")


def _dataset(group, name, values):
    arr = np.asarray(values)
    kw = dict(fletcher32=True) if arr.size > 0 and arr.ndim > 0 else {}
    group.create_dataset(name, data=arr, **kw)


def save_state(path, state, *, fingerprint: str = "") -> Path:
    """Write a :class:`~fokkerplanck.flow.solve.RunState` to ``path`` atomically.

    ``fingerprint`` is any string identifying the run (e.g. a hash of the run file and its data
    files), checked by whoever resumes (see :func:`load_state`). Every array has the fletcher32
    filter and the file a SHA-256 checksum of its content.
    """
    with atomic_h5(path) as f:
        f.attrs["format"] = CHECKPOINT_FORMAT
        f.attrs["format_version"] = CHECKPOINT_VERSION
        f.attrs["fokkerplanck_version"] = __version__
        f.attrs["fingerprint"] = fingerprint
        scalars = dict(t=state.t, h_prev=state.h_prev, h_next=state.h_next, mark_index=state.mark_index,
                       counters=state.counters, has_v_prev=state.v_prev is not None,
                       history_order=list(state.history))
        f.attrs["scalars"] = _json(scalars)
        _dataset(f, "v", np.asarray(state.v, dtype=float))
        _dataset(f, "phi", np.asarray(state.phi, dtype=float))
        if state.v_prev is not None:
            _dataset(f, "v_prev", np.asarray(state.v_prev, dtype=float))
        h = f.create_group("history")
        for key, values in state.history.items():
            arr = np.asarray(values)
            if arr.dtype.kind not in "biuf":
                raise ValueError(f"history entry {key!r} is not numeric (dtype {arr.dtype}).")
            _dataset(h, key, arr)
        _dataset(f, "saved_t", np.asarray(state.saved_t, dtype=float))
        saved_v = (np.stack(state.saved_v) if state.saved_v else np.empty((0, *np.shape(state.v))))
        _dataset(f, "saved_v", saved_v)
        solver = f.create_group("solver")
        for key, values in (getattr(state, "solver", None) or {}).items():
            _dataset(solver, key, np.asarray(values))
        integrity.stamp(f)
    return Path(path)


def load_state(path, *, fingerprint: str | None = None, shape=None):
    """Read a :class:`~fokkerplanck.flow.solve.RunState` written by :func:`save_state` / :class:`Checkpoint`.

    The file's structure is checked before reading (no links, external storage or virtual
    datasets), then its checksum, then every array's shape (against ``shape``, the grid's, if
    given), finiteness and the scalars' ranges (:func:`validate_state` checks it against the run).

    Parameters
    ----------
    path : str or Path
    fingerprint : str, optional
        If given, the checkpoint must have been written with the same fingerprint (the same run),
        otherwise a ValueError says so.
    shape : tuple of int, optional
        The grid shape the arrays must have.

    Raises
    ------
    CheckpointError (a ValueError)
        One line: what is wrong, and that the run must start over.
    """
    where = str(Path(path))
    try:
        f = open_hdf5(path, "checkpoint")
    except DamagedFileError as exc:
        raise _unusable(where, str(exc).split(": ", 1)[-1]) from None
    try:
        with f:
            return _load(f, where, fingerprint, shape)
    except CheckpointError:
        raise
    except DamagedFileError as exc:
        raise _unusable(where, str(exc).removeprefix(where + ": ")) from None
    except Exception as exc:  # noqa: BLE001 - whatever a damaged file provokes
        raise _unusable(where, f"damaged ({integrity._short(exc)})") from None


def _load(f, where, fingerprint, shape):
    if f.attrs.get("format") != CHECKPOINT_FORMAT:
        raise _unusable(where, "not a fokkerplanck checkpoint")
    if fingerprint is not None and f.attrs.get("fingerprint") != fingerprint:
        raise CheckpointError(f"{where}: this checkpoint belongs to a different run (its run file, its data files "
                              "or options differ); delete it or run without --resume.")
    version = f.attrs.get("format_version")
    if not (isinstance(version, (int, np.integer)) and 1 <= version <= CHECKPOINT_VERSION):
        raise _unusable(where, f"written in checkpoint format {version!r}, this fokkerplanck reads formats 1 to "
                        f"{CHECKPOINT_VERSION}")
    datasets = integrity.inspect(f, where)
    sc = _read_json(f.attrs, "scalars", where)
    grid_shape = tuple(shape) if shape is not None else datasets["/v"].shape if "/v" in datasets else None
    if grid_shape is None:
        raise _unusable(where, "missing dataset /v")
    for name in ("/v", "/phi", "/v_prev"):
        if name in datasets and datasets[name].shape != grid_shape:
            raise _unusable(where, f"{name} has shape {datasets[name].shape}, expected the grid shape {grid_shape}")
    if "/saved_v" not in datasets or datasets["/saved_v"].shape[1:] != grid_shape:
        raise _unusable(where, f"/saved_v should have shape (n_saved, {', '.join(map(str, grid_shape))})")
    values = integrity.verify(f, where, required=version >= 2)  # format 1 had no checksum
    try:
        order = sc["history_order"]
        history = {key: values[f"/history/{key}"].tolist() for key in order}
        saved_v = values["/saved_v"]
        state = RunState(t=float(sc["t"]), v=values["/v"], phi=values["/phi"],
                         v_prev=values["/v_prev"] if sc["has_v_prev"] else None,
                         h_prev=None if sc["h_prev"] is None else float(sc["h_prev"]), h_next=float(sc["h_next"]),
                         mark_index=sc["mark_index"], history=history,
                         saved_t=[float(x) for x in values["/saved_t"]],
                         saved_v=[saved_v[i].copy() for i in range(saved_v.shape[0])],
                         counters={k: val for k, val in sc["counters"].items()})
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unusable(where, f"incomplete or malformed ({integrity._short(exc)})") from None
    state.solver = {k.rsplit("/", 1)[1]: val for k, val in values.items() if k.startswith("/solver/")}
    validate_state(state, grid_shape, where=where)
    return state


def validate_state(state, shape, marks=None, t_final=None, where="checkpoint"):
    """Check a RunState before it is resumed (:meth:`fokkerplanck.flow.stepping.RunState.problems`:
    shapes, finiteness, index ranges and consistency); ``marks`` and ``t_final`` check the time and
    save index. Raises :class:`CheckpointError` (a ValueError) saying what is wrong."""
    found = state.problems(shape, marks, t_final)
    if found:
        raise _unusable(where, found[0])


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
            self.write(state)

    def write(self, state):
        """Write ``state`` now (also used to checkpoint a run that is asked to stop)."""
        save_state(self.path, state, fingerprint=self.fingerprint)
        self.n_written += 1
        self.last_t = state.t
        self._last_time = time.monotonic()


def fingerprint_of(*parts) -> str:
    """A short stable hash of strings/JSON-able objects identifying a run (for :class:`Checkpoint`)."""
    import hashlib

    text = json.dumps([p if isinstance(p, str) else _json(p) for p in parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
