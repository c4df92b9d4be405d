"""Argument checks shared by every public function (private: the messages are the interface).

Each check either returns the value in a canonical form or raises ``ValueError`` with a message
that names the argument, says what was expected and what was given, so that a user can fix the
call without reading the source. All checks run before any work.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["positive_number", "positive_int", "as_samples", "sample_count", "times", "choice", "seed_rng"]


def _is_real_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def float_array(name: str, value) -> np.ndarray:
    """``value`` as a float array, or a ValueError naming ``name`` (never numpy's bare conversion error)."""
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be numbers, got the string {value!r}.")
    try:
        with np.errstate(all="ignore"):
            return np.asarray(value, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{name} must be numbers (a number or a sequence of numbers), got {value!r}.") from None


def boolean(name: str, value) -> bool:
    """``value`` if it is a bool (numpy's included), else a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise ValueError(f"{name} must be True or False, got {value!r}.")


def positive_number(name: str, value, allow_zero: bool = False) -> float:
    """``value`` as a float that is finite and > 0 (>= 0 with ``allow_zero``)."""
    if not _is_real_number(value) or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        need = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ValueError(f"{name} must be {need}, got {value!r}.")
    return float(value)


def positive_int(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum`` (booleans and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        need = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {need}, got {value!r}.")
    return int(value)


def sample_count(n) -> int:
    """The number of samples ``n`` (a positive integer)."""
    return positive_int("the number of samples n", n)


def as_samples(x, name: str = "x", d: int | None = None, max_dim: int | None = None) -> np.ndarray:
    """Samples as a finite float array of shape ``(n, d)``; a flat array means ``d = 1``.

    ``d`` fixes the dimension; ``max_dim`` bounds it (e.g. 3 for grid-based estimators).
    """
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must be real, got complex values.")
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers of shape (n, d), got {type(x).__name__}.") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be an array of samples of shape (n, d) with n >= 1, got shape {np.shape(x)}.")
    if d is not None and arr.shape[1] != d:
        raise ValueError(f"{name} has dimension {arr.shape[1]} but {d} is expected (shape (n, {d})).")
    if max_dim is not None and not 1 <= arr.shape[1] <= max_dim:
        raise ValueError(f"{name} must have dimension d in 1..{max_dim}, got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf).")
    return arr


def times(t_eval, t_final: float, name: str = "t_eval") -> np.ndarray:
    """Save times: a non-empty, strictly increasing 1-D sequence of finite times in ``[0, t_final]``.

    ``None`` gives ``[0, t_final]`` (``[0]`` when ``t_final == 0``).
    """
    if t_eval is None:
        return np.array([0.0, t_final]) if t_final > 0 else np.array([0.0])
    if isinstance(t_eval, str) or np.iscomplexobj(t_eval):
        raise ValueError(f"{name} must be a sequence of real times, got {t_eval!r}.")
    try:
        arr = np.asarray(t_eval, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of real times, got {t_eval!r}.") from None
    if arr.ndim > 1:
        raise ValueError(f"{name} must be a flat sequence of times, got an array of shape {arr.shape}.")
    arr = arr.ravel()
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a non-empty sequence of finite times.")
    if np.any(np.diff(arr) <= 0):
        raise ValueError(f"{name} must be strictly increasing, got {arr.tolist()}.")
    if arr[0] < 0 or arr[-1] > t_final * (1 + 1e-12) + 1e-15:
        raise ValueError(f"{name} must lie in [0, t_final] = [0, {t_final}], got {arr.tolist()}.")
    return arr


def choice(name: str, value, options, aliases: dict | None = None) -> str:
    """A case-insensitive choice among ``options`` (strings); ``aliases`` map other spellings."""
    aliases = aliases or {}
    if isinstance(value, str):
        key = value.lower()
        key = aliases.get(key, key)
        if key in options:
            return key
    raise ValueError(f"unknown {name} {value!r}; use one of {tuple(options)}.")


def seed_rng(seed, name: str = "seed") -> np.random.Generator:
    """A numpy Generator from ``None``, an int >= 0 or a Generator."""
    if seed is None or isinstance(seed, np.random.Generator):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"{name} must be None, an integer >= 0 or a numpy Generator, got {seed!r}.")
    return np.random.default_rng(int(seed))
