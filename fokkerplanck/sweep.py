"""Parameter sweeps on Dask: every case an independent task, results kept one file per case.

A sweep is described by a spec (a TOML file, or the same structure as a dict)::

    name = "spatial_order"                      # names the output table
    study = "studies.py:spatial_order"           # "path/to/file.py:function" (relative to the
                                                 # spec file) or "package.module:function"
    [fixed]                                      # passed to every case
    t_final = 0.5

    [parameters]                                 # one Cartesian product ...
    dim = [1]
    n = [32, 64, 128]

    [[grid]]                                     # ... and/or several, whose cases are joined
    dim = [2]
    n = [16, 32]

Each case calls ``function(**fixed, **combination)``, which returns a dict (one row of the
table) or a list of dicts (several rows), with scalar values. Run it with::

    fokkerplanck sweep SPEC.toml [--scheduler ADDRESS] [--out DIR]

(``python -m fokkerplanck.sweep SPEC.toml ...`` is the same command)

or :func:`run_sweep` from Python. The cases run as tasks on a ``dask.distributed`` cluster: a
:class:`~distributed.LocalCluster` by default, or an existing cluster given by its scheduler
address. As each case finishes, its rows are written to ``OUT/cases/<key>.json`` (atomically,
by :mod:`fokkerplanck.io.atomic`, so a file is either complete or absent) where ``key`` is a hash
of the study and the case's parameters. A rerun skips the cases whose file exists, so an
interrupted sweep loses only the cases in flight, and extending a grid computes only the new
cases. At the end all rows are collected into one tidy table ``OUT/<name>.csv``: one column per
parameter, then the study's result columns, one row per returned dict.

With ``--scheduler`` the results are written by this (client) process, so the workers need no
shared file system; a study given as a file is uploaded to the workers.

The spec is read by the package's one TOML reader (:mod:`fokkerplanck.io.toml`): errors name the
file and the key. Reading TOML needs Python >= 3.11 (:mod:`tomllib`) or the ``tomli`` package; on
Python 3.10 without it, pass the spec as a dict to :func:`run_sweep`.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import importlib.util
import itertools
import json
import math
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

from ._optional import require
from .io import toml
from .io.atomic import write_text

__all__ = ["SweepSpec", "SweepResult", "SweepSpecError", "load_spec", "expand_cases", "case_key", "run_sweep"]

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
# Running one case (on a worker)
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


def _scalar(value):
    """JSON-friendly scalar (numpy numbers to Python; NaN/inf kept as floats)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_scalar(v) for v in value]
    return str(value)


def _execute(study: str, params: dict):
    """Run one case; returns ``(rows, seconds)``. Runs on a Dask worker."""
    fn = _resolve_study(study)
    t0 = time.perf_counter()
    out = fn(**params)
    seconds = time.perf_counter() - t0
    rows = out if isinstance(out, list) else [out]
    clean = []
    for row in rows:
        if not isinstance(row, dict):
            raise TypeError(f"the study must return a dict or a list of dicts, got {type(row).__name__}.")
        clean.append({str(k): _scalar(v) for k, v in row.items()})
    return clean, seconds


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------

def _json_default(o):
    return _scalar(o)


def _read_case(path: Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None


def _csv_text(spec: SweepSpec, records: list) -> str:
    import io

    param_cols = list(spec.parameter_names)
    result_cols = []
    for rec in records:
        for row in rec["rows"]:
            for k in row:
                if k not in param_cols and k not in result_cols:
                    result_cols.append(k)
    cols = ["case"] + param_cols + result_cols
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for rec in records:
        for row in rec["rows"]:
            full = {"case": rec["key"], **rec["params"], **row}
            w.writerow([_csv_cell(full.get(c, "")) for c in cols])
    return buf.getvalue()


def _csv_cell(v):
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


# --------------------------------------------------------------------------------------------
# The runner
# --------------------------------------------------------------------------------------------

@dataclass
class SweepResult:
    """Outcome of :func:`run_sweep`.

    Attributes
    ----------
    rows : list of dict
        Every row of the table (parameters and results), in spec order.
    csv_path : Path
    out : Path
        Output directory (``cases/`` holds one JSON file per finished case).
    n_cases, n_computed, n_skipped, n_failed : int
    failures : dict
        ``key -> traceback text`` of the cases that raised (they are retried on a rerun).
    """

    rows: list
    csv_path: Path
    out: Path
    n_cases: int
    n_computed: int
    n_skipped: int
    n_failed: int
    failures: dict

    def to_pandas(self):  # pragma: no cover - convenience, pandas optional
        import pandas as pd

        return pd.read_csv(self.csv_path)


def _make_client(scheduler, n_workers, processes):
    distributed = require("distributed", "running sweeps on a Dask cluster")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    if scheduler is not None:
        return Client(scheduler), None
    import logging

    # no dashboard, and the scheduler's small HTTP server on a free port (not 8787, which another
    # cluster on the machine may hold)
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=logging.WARNING,
                           scheduler_kwargs={"dashboard_address": ":0"})
    return Client(cluster), cluster


def run_sweep(spec, out=None, *, scheduler: str | None = None, client=None, n_workers: int = 2,
              processes: bool = False, progress: bool = True, recompute: bool = False) -> SweepResult:
    """Run every case of a sweep that has not finished yet, then collect the table.

    Parameters
    ----------
    spec : str, Path, dict or SweepSpec
        The sweep (see the module docstring).
    out : str or Path, optional
        Output directory; default ``spec.out`` or ``<spec directory>/results/<name>``.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``); default: start a LocalCluster.
    client : distributed.Client, optional
        Use this client (takes precedence over ``scheduler``); it is not closed.
    n_workers : int
        LocalCluster workers (one thread each).
    processes : bool
        LocalCluster with worker processes (true parallelism for Python-heavy studies, slower
        start) instead of threads in this process (default: fast start; numpy, scipy and numba
        kernels release the GIL for much of their work).
    progress : bool
        Show a tqdm progress bar on stderr.
    recompute : bool
        Ignore finished cases and compute everything again (their files are overwritten).

    Returns
    -------
    SweepResult
    """
    spec = load_spec(spec)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}.")
    out = Path(out) if out is not None else (spec.out or spec.base_dir / "results" / spec.name)
    cases_dir = out / "cases"
    failed_dir = out / "failed"
    keys = [case_key(spec.study, c) for c in spec.cases]
    if len(set(keys)) != len(keys):  # pragma: no cover - expand_cases removes duplicates
        raise ValueError("two cases have the same parameters.")
    records = {}
    todo = []
    for key, params in zip(keys, spec.cases):
        rec = None if recompute else _read_case(cases_dir / f"{key}.json")
        if rec is not None and rec.get("params") == json.loads(json.dumps(params)):
            records[key] = rec
        else:
            todo.append((key, params))
    n_skipped = len(records)
    failures = {}
    if todo:
        own_client = client is None
        cluster = None
        if own_client:
            client, cluster = _make_client(scheduler, n_workers, processes)
        try:
            target = spec.study.rsplit(":", 1)[0]
            if scheduler is not None and target.endswith(".py"):
                client.upload_file(target)
            futures = client.map(_execute, [spec.study] * len(todo), [p for _, p in todo],
                                 key=[f"{spec.name}-{k}" for k, _ in todo], pure=False)
            index = {f.key: (k, p) for f, (k, p) in zip(futures, todo)}
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(todo), desc=spec.name, unit="case", file=sys.stderr)
            as_completed = require("distributed", "running sweeps on a Dask cluster").as_completed

            for fut in as_completed(futures):
                key, params = index[fut.key]
                if fut.status == "finished":
                    rows, seconds = fut.result()
                    rec = {"key": key, "study": _study_label(spec.study), "params": params, "rows": rows,
                           "seconds": seconds, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
                    write_text(cases_dir / f"{key}.json", json.dumps(rec, default=_json_default, indent=1))
                    stale = failed_dir / f"{key}.json"
                    if stale.exists():
                        stale.unlink()
                    records[key] = rec
                else:
                    exc = fut.exception()
                    tb = "".join(traceback.format_exception(type(exc), exc, fut.traceback()))
                    failures[key] = tb
                    write_text(failed_dir / f"{key}.json", json.dumps({"key": key, "params": params,
                                                                          "error": tb}, indent=1))
                if bar is not None:
                    bar.update(1)
                    if failures:
                        bar.set_postfix(failed=len(failures))
                fut.release()
            if bar is not None:
                bar.close()
        finally:
            if own_client:
                client.close()
                if cluster is not None:
                    cluster.close()
    ordered = [records[k] for k in keys if k in records]
    csv_path = out / f"{spec.name}.csv"
    write_text(csv_path, _csv_text(spec, ordered))
    rows = [{"case": r["key"], **r["params"], **row} for r in ordered for row in r["rows"]]
    return SweepResult(rows=rows, csv_path=csv_path, out=out, n_cases=len(keys),
                       n_computed=len(todo) - len(failures), n_skipped=n_skipped, n_failed=len(failures),
                       failures=failures)


if __name__ == "__main__":  # pragma: no cover - ``python -m fokkerplanck.sweep``: ``fokkerplanck sweep``
    from fokkerplanck.cli import main as _main  # the importable module's functions run (picklable)

    sys.exit(_main(["sweep", *sys.argv[1:]]))
