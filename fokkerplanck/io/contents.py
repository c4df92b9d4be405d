"""What a saved solution may hold: checked when a results file is written and when it is read.

A crafted file (valid checksum, valid structure) must not load as data it could never have been
written as, and a :class:`~fokkerplanck.Solution` holding NaN must not be saved as data. The rules
are the core's (:func:`fokkerplanck.flow.stepping.loop.density_problem`,
:func:`~fokkerplanck.flow.stepping.loop.history_problem`, which also check a resumed checkpoint)
plus the types of the scalar metadata:

- ``u`` and ``rho_d``: float64 or float32, finite, non-negative; saved times finite, increasing;
- the history: 1-D numeric entries, finite, counts integral, non-negative where they must be;
- the metadata: ``divergence`` and ``message`` strings, ``beta`` a finite number,
  ``status`` and the counters integers (counters >= 0), masses outside the box ``None`` or >= 0;
- particles: times and positions finite floats.
"""

from __future__ import annotations

import math

import numpy as np

from ..flow.stepping.loop import density_problem, history_problem

__all__ = ["solution_problem", "metadata_problem", "particles_problem"]

_INTS = ("status", "n_steps", "n_rejected", "n_newton", "n_linear")


def _is_int(x) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _is_real(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def metadata_problem(meta: dict):
    """What is wrong with the scalar metadata of a solution (``None``: nothing)."""
    for key in ("divergence", "message"):
        if key in meta and not isinstance(meta[key], str):
            return f"metadata {key} = {meta[key]!r} is not a string"
    if "divergence" in meta and not meta["divergence"]:
        return "metadata divergence is empty"
    if "beta" in meta and not (_is_real(meta["beta"]) and math.isfinite(meta["beta"])):
        return f"metadata beta = {meta['beta']!r} is not a finite number"
    for key in _INTS:
        if key in meta and not (_is_int(meta[key]) and (key == "status" or meta[key] >= 0)):
            return f"metadata {key} = {meta[key]!r} is not a{' non-negative' if key != 'status' else 'n'} integer"
    for key in ("target_mass_outside", "initial_mass_outside"):
        val = meta.get(key)
        if val is not None and not (_is_real(val) and math.isfinite(val) and val >= 0):
            return f"metadata {key} = {val!r} is not a non-negative number"
    return None


def solution_problem(t, u, rho_d, history, meta=None, options=None):
    """What is wrong with the content of a solution (``None``: nothing)."""
    t = np.asarray(t)
    if t.ndim != 1 or t.dtype.kind not in "iuf" or not np.all(np.isfinite(t)) or np.any(np.diff(t) < 0):
        return "the saved times are not finite, increasing numbers"
    found = (density_problem("the densities u", u) or density_problem("rho_d (the target)", rho_d)
             or history_problem(history) or metadata_problem(meta or {}))
    if found:
        return found
    if options is not None and not isinstance(options, dict):
        return f"options is a {type(options).__name__}, not a dict"
    return None


def particles_problem(t, positions):
    """What is wrong with particle snapshots (``None``: nothing)."""
    t, positions = np.asarray(t), np.asarray(positions)
    if t.dtype.kind != "f" or not np.all(np.isfinite(t)):
        return "the particle times are not finite numbers"
    if positions.dtype not in (np.float64, np.float32) or not np.all(np.isfinite(positions)):
        return "the particle positions are not finite float64 or float32 numbers"
    return None
