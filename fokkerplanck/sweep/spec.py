"""The sweep spec: reading and checking it, expanding its cases, their keys, and the study function.

A spec is a TOML file or the same structure as a dict (see :mod:`fokkerplanck.sweep`). It is
read by the package's one TOML reader (:mod:`fokkerplanck.io.toml`): errors name the file and the
key. A case's key (:func:`case_key`) names its file, ``OUT/cases/<key>.json``: it is a hash of the
study's file stem or module, its function and the case's parameters.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import itertools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..io import toml

__all__ = ["SweepSpec", "SweepSpecError", "load_spec", "expand_cases", "case_key"]

_SPEC_KEYS = {"name", "study", "description", "fixed", "parameters", "grid", "out"}


# --------------------------------------------------------------------------------------------
# Specs
# --------------------------------------------------------------------------------------------


class SweepSpecError(toml.TomlError):
    """A sweep spec that is missing, not valid TOML, or has a missing or malformed key."""


@dataclass
class SweepSpec:
    """A parsed sweep: the study reference, the expanded cases and where to write.

    Attributes
    ----------
    name : str
    study : str
        ``"path/file.py:function"`` (absolute after loading) or ``"package.module:function"``.
    cases : list of dict
        Every case's full keyword arguments (fixed values and the grid combination), in order.
    parameter_names : list of str
        Column order of the table: fixed names, then grid names, in order of appearance.
    base_dir : Path
        Directory of the spec file (relative paths resolve against it).
    out : Path or None
        Output directory from the spec (``out = "..."``), if any.
    description : str
    """

    name: str
    study: str
    cases: list
    parameter_names: list
    base_dir: Path = field(default_factory=Path.cwd)
    out: Path | None = None
    description: str = ""


def _check_value(name, value):
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)) and all(isinstance(x, (bool, int, float, str)) for x in value):
        return list(value)
    raise ValueError(f"parameter {name!r}: values must be numbers, strings, booleans or flat lists of them, "
                     f"got {value!r}.")


def expand_cases(fixed: dict | None, grids: list) -> tuple[list, list]:
    """Cartesian products of each grid (a dict ``name -> list of values``), joined in order.

    Returns ``(cases, parameter_names)``; each case is ``{**fixed, **combination}``. Duplicate
    cases (the same parameters from two grids) are kept once.
    """
    fixed = dict(fixed or {})
    for k, v in fixed.items():
        _check_value(k, v)
    names = list(fixed)
    cases, seen = [], set()
    if not grids:
        grids = [{}]
    for gi, grid in enumerate(grids):
        if not isinstance(grid, dict):
            raise ValueError(f"grid #{gi} must be a table of parameter lists, got {type(grid).__name__}.")
        for k, values in grid.items():
            if k in fixed:
                raise ValueError(f"parameter {k!r} is both fixed and varied; keep it in one place.")
            if not isinstance(values, list) or not values:
                raise ValueError(f"parameter {k!r} in grid #{gi} must be a non-empty list of values, "
                                 f"e.g. {k} = [{values!r}].")
            for v in values:
                _check_value(k, v)
            if k not in names:
                names.append(k)
        keys = list(grid)
        for combo in itertools.product(*(grid[k] for k in keys)):
            case = {**fixed, **dict(zip(keys, combo))}
            ident = json.dumps(case, sort_keys=True)
            if ident not in seen:
                seen.add(ident)
                cases.append(case)
    return cases, names


def _study_label(study: str) -> str:
    """The study's identity for hashing: file stem or module, and the function name.

    A file study is identified by its file name (not its directory), so moving a checkout does
    not invalidate finished cases.
    """
    target, func = study.rsplit(":", 1)
    if target.endswith(".py"):
        target = Path(target).stem
    return f"{target}:{func}"


def case_key(study: str, params: dict) -> str:
    """Hash (16 hex digits of SHA-256) of the study and a case's parameters, order-independent."""
    ident = json.dumps({"study": _study_label(study), "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(ident.encode()).hexdigest()[:16]


def _parse_spec(data: dict, base_dir: Path, source: str = "<sweep spec>") -> SweepSpec:
    if not isinstance(data, dict):
        raise SweepSpecError(f"a sweep spec must be a table (dict), got {type(data).__name__}.")
    top = toml.Table(data, "", source, _SPEC_KEYS, SweepSpecError, "sweep spec")
    study = top.raw("study", None)
    if not isinstance(study, str) or ":" not in study:
        raise top.error("study", "the sweep spec needs study = \"path/to/file.py:function\" or "
                                 f"\"package.module:function\", got {study!r}.")
    target, func = study.rsplit(":", 1)
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_absolute():
            path = (base_dir / path).resolve()
        study = f"{path}:{func}"
    name = top.raw("name", None) or func
    if not isinstance(name, str) or not name or any(c in name for c in "/\\"):
        raise top.error("name", f"must be a non-empty string without slashes, got {name!r}.")
    grids = []
    if top.has("parameters"):
        grids.append(top.table("parameters"))
    grid = top.raw("grid", [])
    if isinstance(grid, dict):
        grid = [grid]
    if not isinstance(grid, list):
        raise top.error("grid", "must be an array of tables ([[grid]] in TOML).")
    grids += grid
    out = top.raw("out", None)
    if out is not None:
        out = Path(out)
        out = out if out.is_absolute() else (base_dir / out)
    try:
        cases, names = expand_cases(top.table("fixed", default=None), grids)
        _resolve_study(study)  # fail now, before any work, if the function cannot be found
    except ValueError as exc:
        raise SweepSpecError(f"{source}: {exc}") from None
    return SweepSpec(name=name, study=study, cases=cases, parameter_names=names, base_dir=base_dir, out=out,
                     description=str(top.raw("description", "")))


def load_spec(spec) -> SweepSpec:
    """A :class:`SweepSpec` from a TOML file path, a dict, or a :class:`SweepSpec` (returned as is).

    Raises
    ------
    SweepSpecError (a ValueError)
        Missing or malformed file, unknown keys, empty parameter lists, a study that cannot be
        imported, or a TOML file on Python 3.10 without ``tomli``; the message names the file and key.
    """
    if isinstance(spec, SweepSpec):
        return spec
    if isinstance(spec, dict):
        return _parse_spec(spec, Path.cwd())
    path = Path(spec)
    data, _ = toml.load(path, "sweep spec", SweepSpecError)
    return _parse_spec(data, path.resolve().parent, str(path))


# --------------------------------------------------------------------------------------------
# The study function (imported here and on every worker)
# --------------------------------------------------------------------------------------------

_MODULE_CACHE: dict = {}


def _resolve_study(study: str):
    """Import the study function: ``/abs/path/file.py:func`` or ``package.module:func``.

    A file missing on a remote worker is imported by its stem (uploaded with ``upload_file``).
    """
    target, func = study.rsplit(":", 1)
    if target not in _MODULE_CACHE:
        if target.endswith(".py"):
            path = Path(target)
            if path.is_file():
                mod_name = f"_fp_sweep_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
                spec = importlib.util.spec_from_file_location(mod_name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[mod_name] = module
                # let the study import helpers that sit next to it
                if str(path.parent) not in sys.path:
                    sys.path.insert(0, str(path.parent))
                try:
                    spec.loader.exec_module(module)
                except Exception as exc:
                    del sys.modules[mod_name]
                    raise ValueError(f"importing the study file {path} failed: {exc!r}") from exc
            else:
                try:
                    module = importlib.import_module(path.stem)
                except ImportError:
                    raise ValueError(f"the study file {path} does not exist.") from None
        else:
            try:
                module = importlib.import_module(target)
            except ImportError as exc:
                raise ValueError(f"cannot import the study module {target!r}: {exc}") from None
        _MODULE_CACHE[target] = module
    fn = getattr(_MODULE_CACHE[target], func, None)
    if not callable(fn):
        raise ValueError(f"the study {target!r} has no function {func!r}.")
    return fn
