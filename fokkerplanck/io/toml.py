"""The one typed TOML reader, used by run files (:mod:`.runfile`) and sweep specs (:mod:`fokkerplanck.sweep`).

:func:`load` reads a file (clear one-line errors: missing, unreadable, not valid TOML),
:func:`loads` parses text, and :class:`Table` gives typed access to one table of the result:
unknown keys are refused, and every error names the file, the table and the key, and says what
was expected, e.g. ``run.toml: [flow] t_final: expected a positive number, got 'one'``.

Reading TOML needs Python >= 3.11 (:mod:`tomllib`) or the ``tomli`` package on Python 3.10.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .limits import MAX_TEXT_BYTES, regular_file

__all__ = ["TomlError", "Table", "load", "loads", "tomllib", "numeric_array", "REQUIRED"]


class TomlError(ValueError):
    """A TOML file that is missing, not valid TOML, or has a missing or malformed key."""


REQUIRED = object()  # marks a key without a default


def tomllib(error=TomlError):
    """The TOML parser module: tomllib (Python >= 3.11), else the 'tomli' package, else ``error``."""
    try:
        import tomllib as module
    except ImportError:  # Python 3.10
        try:
            import tomli as module
        except ImportError:
            raise error("reading TOML files (run files, sweep specs) needs Python >= 3.11 (tomllib) or the "
                        "'tomli' package on Python 3.10: pip install tomli") from None
    return module


def loads(text: str, source: str = "<toml>", error=TomlError) -> dict:
    """Parse TOML ``text``; a syntax error becomes ``error("SOURCE: not valid TOML: ...")``."""
    module = tomllib(error)
    try:
        return module.loads(text)
    except module.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:  # arrays or inline tables nested hundreds deep
        raise error(f"{source}: not valid TOML: arrays or tables nested too deeply") from None


def load(path, what: str = "TOML file", error=TomlError) -> tuple[dict, str]:
    """Read and parse the TOML file at ``path``; returns ``(data, text)``.

    ``what`` names the file in messages ("run file", "sweep spec"); every failure raises
    ``error`` (a :class:`TomlError` subclass) with a one-line message starting with the path.
    """
    tomllib(error)  # a missing parser is the first thing to say
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: {what} not found")
    if not path.is_file():
        raise error(f"{path}: not a file")
    try:
        regular_file(path, what, MAX_TEXT_BYTES, error)
    except FileNotFoundError:
        raise error(f"{path}: {what} not found") from None
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot read the {what} ({exc})") from None
    return loads(text, str(path), error), text


def numeric_array(value):
    """A nested list of numbers (not booleans) as a float array, or None (other values, ragged lists)."""
    def ok(x):
        if isinstance(x, list):
            return all(ok(y) for y in x)
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if not ok(value):
        return None
    try:
        return np.asarray(value, dtype=float)
    except ValueError:  # ragged
        return None


def _shape_desc(shape):
    def n_of(n, what):
        if n is None:
            return f"some {what}s"
        return f"{n} {what}" + ("" if n == 1 else "s")

    if len(shape) == 1:
        return "a list of " + n_of(shape[0], "number")
    if len(shape) == 2:
        return "a list of " + n_of(shape[0], "list") + " of " + n_of(shape[1], "number")
    k = "some" if shape[0] is None else shape[0]
    return f"a list of {k} {shape[1]}x{shape[2]} matri{'x' if k == 1 else 'ces'} (lists of lists of numbers)"


class Table:
    """Typed access to one TOML table, with error messages naming the source, the table and the key.

    Parameters
    ----------
    data : dict
        The table's contents.
    name : str
        The table's name, shown as ``[name]``; ``""`` for the top level of a file.
    source : str
        The file (or another label) the table came from.
    allowed : iterable of str
        The keys the table accepts; any other key is an error.
    error : type
        The exception raised (a :class:`TomlError` subclass).
    what : str
        How messages call the whole document ("run file", "sweep spec"), for the top level.
    """

    def __init__(self, data, name, source, allowed, error=TomlError, what="file"):
        self.data, self.name, self.source, self.error_type = data, name, source, error
        self.allowed = tuple(sorted(allowed))
        label = f"[{name}]" if name else f"the {what}"
        unknown = sorted(set(data) - set(self.allowed))
        if unknown:
            raise self.error(unknown[0], f"unknown key; {label} accepts {', '.join(self.allowed)}")

    def error(self, key, msg):
        """The exception for a problem with ``key`` (to raise)."""
        where = f"[{self.name}] " if self.name else ""
        return self.error_type(f"{self.source}: {where}{key}: {msg}")

    def has(self, key):
        return key in self.data

    def raw(self, key, default=REQUIRED, expected="a value"):
        if key not in self.data:
            if default is REQUIRED:
                raise self.error(key, f"missing; expected {expected}")
            return default
        return self.data[key]

    def number(self, key, default=REQUIRED, positive=False, allow_zero=False, lo=None, hi=None):
        what = "a positive number" if positive else "a number"
        v = self.raw(key, default, what)
        if key not in self.data:
            return v  # the default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.error(key, f"expected {what}, got {v!r}")
        if positive and (v < 0 or (v == 0 and not allow_zero)):
            raise self.error(key, f"expected {what}, got {v!r}")
        if lo is not None and v < lo or hi is not None and v > hi:
            raise self.error(key, f"expected a number in [{lo}, {hi}], got {v!r}")
        return float(v)

    def integer(self, key, default=REQUIRED, minimum=1):
        v = self.raw(key, default, f"an integer >= {minimum}")
        if key not in self.data:
            return v  # the default
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {v!r}")
        return v

    def boolean(self, key, default=REQUIRED):
        v = self.raw(key, default, "true or false")
        if key not in self.data:
            return v  # the default
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v

    def string(self, key, default=REQUIRED, choices=None, expected=None):
        expected = expected or ("one of " + ", ".join(repr(c) for c in choices) if choices else "a string")
        v = self.raw(key, default, expected)
        if key not in self.data:
            return v  # the default
        if not isinstance(v, str) or (choices and v not in choices):
            raise self.error(key, f"expected {expected}, got {v!r}")
        return v

    def table(self, key, allowed=None, default=REQUIRED):
        """A sub-table (a dict); with ``allowed``, a :class:`Table` checking its keys."""
        v = self.raw(key, default, "a table")
        if key not in self.data:
            return v  # the default
        if not isinstance(v, dict):
            raise self.error(key, f"expected a table ([{key}] followed by key = value lines), got {v!r}")
        if allowed is None:
            return v
        name = f"{self.name}.{key}" if self.name else key
        return Table(v, name, self.source, allowed, self.error_type)

    def array(self, key, shape, example, default=REQUIRED, desc=None):
        """A nested list of numbers with the given shape (None entries match any length)."""
        desc = desc or _shape_desc(shape)
        v = self.raw(key, default, f"{desc} (e.g. {example})")
        if key not in self.data:
            return v  # the default
        arr = numeric_array(v)
        if arr is None or arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            raise self.error(key, f"expected {desc} (e.g. {example}), got {v!r}")
        if not np.all(np.isfinite(arr)):
            raise self.error(key, f"expected finite numbers, got {v!r}")
        return arr
