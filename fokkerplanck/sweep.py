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

When the cluster fails rather than a case (:class:`SweepAborted`; the command line prints one
line and exits 1, or 2 if no case could be started; the finished cases' files stay and a rerun
skips them):

- a scheduler that cannot be reached, or whose connection is lost during the sweep, raises
  :class:`SchedulerLostError`;
- no worker for ``worker_timeout`` seconds (``--worker-timeout``, default 60), at the start or
  because every worker is gone during the sweep, raises :class:`NoWorkersError`;
- a case whose worker dies is retried by Dask on another worker. Dask counts a worker's death
  against every case on it, running or only queued, and gives up (``KilledWorker``) after
  ``distributed.scheduler.allowed-failures`` (3) deaths, so the cases it gives up on are run once
  more, one at a time: a case that was only queued beside the culprit is computed, and only a
  case that kills every worker it runs on is failed, with the reason ``KilledWorker``. With the
  default LocalCluster of threads (``processes=False``) a study that ends its process
  (``os._exit``, a segfault) ends the sweep with it: use ``--processes`` or a scheduler.

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

__all__ = ["SweepSpec", "SweepResult", "SweepSpecError", "SweepAborted", "SchedulerLostError", "NoWorkersError",
           "load_spec", "expand_cases", "case_key", "run_sweep", "DEFAULT_WORKER_TIMEOUT"]

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

DEFAULT_WORKER_TIMEOUT = 60.0
"""Seconds :func:`run_sweep` waits for the scheduler to answer and for a worker to be available."""

_POLL = 0.5  # seconds between health checks of the cluster while no case finishes
_AGAIN = object()  # a finished case whose result went with its worker: wait for it again


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
        ``key -> traceback text`` of the cases that raised, or the reason (``KilledWorker: ...``) of
        a case that killed every worker it ran on (they are retried on a rerun).
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


class SweepAborted(RuntimeError):
    """The sweep stopped before every case had run: the cluster, not a case, failed.

    The cases that finished before are kept (``OUT/cases/``, and the table of them is written);
    a rerun computes only the others.

    Attributes
    ----------
    result : SweepResult
        What finished (``n_computed``, ``n_skipped``, ``failures`` so far).
    started : bool
        False when no case could be started at all (no scheduler, or no worker in time).
    """

    def __init__(self, message, result=None, started=False):
        super().__init__(message)
        self.result = result
        self.started = started


class SchedulerLostError(SweepAborted):
    """The Dask scheduler could not be reached, or its connection was lost during the sweep."""


class NoWorkersError(SweepAborted):
    """No Dask worker was available for ``worker_timeout`` seconds."""


class _Lost(Exception):
    """Internal: the scheduler connection is gone (turned into SchedulerLostError)."""


def _make_client(scheduler, n_workers, processes, timeout=None, allowed_failures=None):
    distributed = require("distributed", "running sweeps on a Dask cluster")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    if scheduler is not None:
        return Client(scheduler, timeout=timeout), None
    import logging

    kwargs = {"dashboard_address": ":0"}  # the scheduler's HTTP server on a free port (not 8787)
    if allowed_failures is not None:
        kwargs["allowed_failures"] = allowed_failures
    # no dashboard; the sweep reports lost workers and failed cases itself
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=processes,
                           dashboard_address=None, silence_logs=logging.CRITICAL, scheduler_kwargs=kwargs)
    return Client(cluster), cluster


class _QuietDaskLogs:
    """Silence this process's ``distributed`` loggers while a sweep runs: a lost scheduler or a
    killed worker is reported once, by the sweep, not as pages of reconnection tracebacks."""

    def __enter__(self):
        import logging

        require("distributed", "running sweeps on a Dask cluster")  # its loggers exist from here on
        import distributed.client  # noqa: F401
        import distributed.scheduler  # noqa: F401

        names = ["distributed"] + [n for n in logging.root.manager.loggerDict if n.startswith("distributed.")]
        self._saved = []
        for n in names:
            lg = logging.getLogger(n)
            self._saved.append((lg, lg.level))
            lg.setLevel(logging.CRITICAL + 1)
        return self

    def __exit__(self, *exc):
        for lg, level in self._saved:
            lg.setLevel(level)


def _seconds_text(t):
    return f"{t:g} s"


class _Execution:
    """Runs the cases that are not finished on a client, writing each one's file as it finishes.

    Cases whose worker died are retried by the scheduler (``allowed-failures``); those it gives up
    on (``KilledWorker``: every worker they were on died, even if they were only queued there)
    are then run again one at a time, alone, so only a case that kills a worker on its own is
    reported failed.
    """

    def __init__(self, client, spec, address, cases_dir, failed_dir, records, failures, worker_timeout, bar):
        self.client, self.spec, self.address = client, spec, address
        self.cases_dir, self.failed_dir = cases_dir, failed_dir
        self.records, self.failures = records, failures
        self.worker_timeout = worker_timeout
        self.bar = bar
        self.started = False
        self.n_done = 0
        distributed = require("distributed", "running sweeps on a Dask cluster")
        self.wait = distributed.wait
        from distributed.scheduler import KilledWorker

        self.KilledWorker = KilledWorker

    # -- health of the cluster ---------------------------------------------------------------

    def _check_scheduler(self):
        if self.client.status not in ("running", "newly-created"):
            raise _Lost()

    def _n_workers(self):
        self._check_scheduler()
        try:
            return len(self.client.nthreads())
        except Exception as exc:  # noqa: BLE001 - CommClosedError, OSError, TimeoutError ...
            self._check_scheduler()
            raise _Lost() from exc

    def wait_for_workers(self, what):
        """Block until a worker is there, or raise NoWorkersError after ``worker_timeout`` s."""
        t0 = time.monotonic()
        told = False
        while True:
            if self._n_workers() > 0:
                return
            waited = time.monotonic() - t0
            if self.worker_timeout is not None and waited >= self.worker_timeout:
                hint = f"start workers (dask worker {self.address}) or " if "://" in self.address \
                    and not self.address.startswith("inproc") else ""
                raise NoWorkersError(f"no Dask worker at {self.address} {what} within "
                                     f"{_seconds_text(self.worker_timeout)}; {hint}raise --worker-timeout")
            if self.bar is not None and not told and waited > 1.0:
                told = True
                limit = "" if self.worker_timeout is None else f" (up to {_seconds_text(self.worker_timeout)})"
                self.bar.write(f"waiting for a Dask worker at {self.address}{limit} ...", file=sys.stderr)
            time.sleep(min(_POLL, 0.2 if waited < 2 else _POLL))

    # -- one pass over a list of cases ---------------------------------------------------------

    def run(self, todo, suffix=""):
        """Submit ``todo`` (a list of ``(key, params)``) and handle each case as it ends.

        Returns the cases that Dask gave up on because their workers died (KilledWorker), with
        the exception.
        """
        futures = self.client.map(_execute, [self.spec.study] * len(todo), [p for _, p in todo],
                                  key=[f"{self.spec.name}-{k}{suffix}" for k, _ in todo], pure=False, retries=0)
        pending = {f: case for f, case in zip(futures, todo)}
        del futures
        self.started = True
        killed = []
        no_worker_since = None
        last_check = time.monotonic()
        while pending:
            try:
                self.wait(list(pending), timeout=_POLL, return_when="FIRST_COMPLETED")
            except TimeoutError:
                pass
            except Exception:  # noqa: BLE001 - the connection went away while waiting
                self._check_scheduler()
                raise
            done = [f for f in pending if f.done()]
            for fut in done:
                key, params = pending.pop(fut)
                outcome = self._finish(fut, key, params)
                if outcome is _AGAIN:
                    pending[fut] = (key, params)
                elif outcome is not None:
                    killed.append(((key, params), outcome))
            now = time.monotonic()
            if done:
                no_worker_since = None
                last_check = now
                continue
            self._check_scheduler()
            if now - last_check >= _POLL:  # nothing finished: is anyone working?
                last_check = now
                if self._n_workers() > 0:
                    no_worker_since = None
                elif no_worker_since is None:
                    no_worker_since = now
                elif self.worker_timeout is not None and now - no_worker_since >= self.worker_timeout:
                    raise NoWorkersError(f"every Dask worker at {self.address} is gone and none came back "
                                         f"in {_seconds_text(self.worker_timeout)}")
        return killed

    def _finish(self, fut, key, params):
        status = fut.status
        if status == "finished":
            try:
                rows, seconds = fut.result(timeout=self.worker_timeout)
            except Exception:  # noqa: BLE001 - the result could not be fetched
                self._check_scheduler()
                if fut.status == "finished":
                    raise
                return _AGAIN  # its worker died with the result: Dask computes it again
            rec = {"key": key, "study": _study_label(self.spec.study), "params": params, "rows": rows,
                   "seconds": seconds, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
            write_text(self.cases_dir / f"{key}.json", json.dumps(rec, default=_json_default, indent=1))
            stale = self.failed_dir / f"{key}.json"
            if stale.exists():
                stale.unlink()
            self.records[key] = rec
            self.failures.pop(key, None)
        elif status == "cancelled":
            self._check_scheduler()  # the usual cause: the connection to the scheduler was lost
            time.sleep(0.1)  # the client's status may lag the cancellation
            self._check_scheduler()
            self._fail(key, params, "cancelled: the case's task was cancelled on the scheduler "
                                    "(by another client?)")
        else:
            try:
                exc = fut.exception(timeout=self.worker_timeout)
                tb = fut.traceback(timeout=self.worker_timeout)
            except Exception:  # noqa: BLE001
                self._check_scheduler()
                raise
            if isinstance(exc, self.KilledWorker):
                fut.release()
                return exc
            self._fail(key, params, "".join(traceback.format_exception(type(exc), exc, tb)))
        fut.release()
        self._tick()
        return None

    def _fail(self, key, params, text):
        self.failures[key] = text
        write_text(self.failed_dir / f"{key}.json", json.dumps({"key": key, "params": params, "error": text},
                                                                indent=1))

    def killed_worker(self, key, params, exc, alone):
        n = getattr(exc, "allowed_failures", None)
        tries = f"{n + 1} workers" if isinstance(n, int) else "every worker"
        last = getattr(getattr(exc, "last_worker", None), "address", None)
        self._fail(key, params, f"KilledWorker: the case killed every worker it ran on ({tries}"
                                f"{', the last ' + last if last else ''}{', running alone' if alone else ''}): "
                                "a crash, os._exit, or out of memory in the study; see the workers' logs.")
        self._tick()

    def _tick(self):
        self.n_done += 1
        if self.bar is not None:
            self.bar.update(1)
            if self.failures:
                self.bar.set_postfix(failed=len(self.failures))


def run_sweep(spec, out=None, *, scheduler: str | None = None, client=None, n_workers: int = 2,
              processes: bool = False, progress: bool = True, recompute: bool = False,
              worker_timeout: float | None = DEFAULT_WORKER_TIMEOUT,
              allowed_failures: int | None = None) -> SweepResult:
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
        start, and a study that crashes its process kills only a worker) instead of threads in
        this process (default: fast start; numpy, scipy and numba kernels release the GIL for
        much of their work).
    progress : bool
        Show a tqdm progress bar on stderr.
    recompute : bool
        Ignore finished cases and compute everything again (their files are overwritten).
    worker_timeout : float or None
        Seconds (default 60) to wait for the scheduler to answer and for a worker to be
        available, at the start and whenever every worker is gone during the sweep; ``None``
        waits for ever.
    allowed_failures : int, optional
        For the LocalCluster: how many worker deaths a case may be involved in before Dask gives
        up on it (default: Dask's ``distributed.scheduler.allowed-failures``, 3). An existing
        scheduler keeps its own setting.

    Returns
    -------
    SweepResult

    Raises
    ------
    SchedulerLostError (a SweepAborted, a RuntimeError)
        The scheduler cannot be reached, or was lost during the sweep: the finished cases are
        kept (``.result``), ``.started`` says whether any case had been started.
    NoWorkersError (a SweepAborted)
        No worker was available for ``worker_timeout`` seconds.

    A case whose worker dies is retried on another worker by Dask. Dask counts a death against
    every case that was on the worker, running or only queued, and gives up on a case after
    ``allowed_failures`` (``KilledWorker``); such cases are then run once more one at a time, so a
    case that was only unlucky is computed and only a case that kills every worker it runs on
    alone is reported failed, with the reason ``KilledWorker``.
    """
    spec = load_spec(spec)
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ValueError(f"n_workers must be a positive integer, got {n_workers!r}.")
    if worker_timeout is not None:
        if isinstance(worker_timeout, bool) or not isinstance(worker_timeout, (int, float)) \
                or not worker_timeout > 0:
            raise ValueError(f"worker_timeout must be a positive number of seconds or None, got {worker_timeout!r}.")
        worker_timeout = None if math.isinf(worker_timeout) else float(worker_timeout)
    if allowed_failures is not None and (isinstance(allowed_failures, bool) or not isinstance(allowed_failures, int)
                                         or allowed_failures < 0):
        raise ValueError(f"allowed_failures must be a non-negative integer, got {allowed_failures!r}.")
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

    def result():
        ordered = [records[k] for k in keys if k in records]
        csv_path = out / f"{spec.name}.csv"
        write_text(csv_path, _csv_text(spec, ordered))
        rows = [{"case": r["key"], **r["params"], **row} for r in ordered for row in r["rows"]]
        return SweepResult(rows=rows, csv_path=csv_path, out=out, n_cases=len(keys),
                           n_computed=len(records) - n_skipped, n_skipped=n_skipped, n_failed=len(failures),
                           failures=dict(failures))

    if todo:
        _execute_todo(spec, todo, client, scheduler, n_workers, processes, progress, worker_timeout,
                      allowed_failures, cases_dir, failed_dir, records, failures, result)
    return result()


def _execute_todo(spec, todo, client, scheduler, n_workers, processes, progress, worker_timeout,
                  allowed_failures, cases_dir, failed_dir, records, failures, result):
    own_client = client is None
    cluster = None
    bar = None
    address = scheduler or "the local cluster"
    ex = None
    with _QuietDaskLogs():
        try:
            if own_client:
                try:
                    client, cluster = _make_client(scheduler, n_workers, processes,
                                                   timeout=worker_timeout, allowed_failures=allowed_failures)
                except OSError as exc:  # "Timed out trying to connect to ..."
                    if scheduler is None:
                        raise
                    raise SchedulerLostError(f"cannot reach the Dask scheduler at {scheduler}: "
                                             f"{' '.join(str(exc).split()) or type(exc).__name__}",
                                             result(), started=False) from None
            else:
                address = getattr(getattr(client, "scheduler", None), "address", None) or "the client's scheduler"
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(todo), desc=spec.name, unit="case", file=sys.stderr)
            ex = _Execution(client, spec, address, cases_dir, failed_dir, records, failures, worker_timeout, bar)
            ex.wait_for_workers("to run the sweep")
            target = spec.study.rsplit(":", 1)[0]
            if scheduler is not None and target.endswith(".py"):
                try:
                    client.upload_file(target)
                except Exception:  # noqa: BLE001
                    ex._check_scheduler()
                    raise
            killed = ex.run(todo)
            # Dask gave up on these: every worker they were on died, but a case only queued on a
            # worker that another case killed counts too. Run each again alone to know.
            for (key, params), exc in killed:
                again = ex.run([(key, params)], suffix="-alone")
                for _, exc2 in again:
                    ex.killed_worker(key, params, exc2, alone=True)
        except _Lost:
            res = result()
            started = ex is not None and ex.started
            raise SchedulerLostError(
                f"lost the connection to the Dask scheduler at {address} during the sweep; "
                f"{res.n_computed} of {len(todo)} cases to compute had finished and are kept in "
                f"{cases_dir}, a rerun computes only the other {len(todo) - res.n_computed}"
                if started else f"lost the connection to the Dask scheduler at {address} before any case started",
                res, started=started) from None
        except NoWorkersError as exc:
            res = result()
            started = ex is not None and ex.started
            msg = str(exc)
            if started:
                msg += (f"; {res.n_computed} of {len(todo)} cases to compute had finished and are kept in "
                        f"{cases_dir}, a rerun computes only the other {len(todo) - res.n_computed}")
            raise NoWorkersError(msg, res, started=started) from None
        finally:
            if bar is not None:
                bar.close()
            if own_client and client is not None:
                _close_quietly(client, cluster)


def _close_quietly(client, cluster):
    import contextlib

    with contextlib.suppress(Exception):
        client.close(timeout=5)
    if cluster is not None:
        with contextlib.suppress(Exception):
            cluster.close(timeout=10)


if __name__ == "__main__":  # pragma: no cover - ``python -m fokkerplanck.sweep``: ``fokkerplanck sweep``
    from fokkerplanck.cli import main as _main  # the importable module's functions run (picklable)

    sys.exit(_main(["sweep", *sys.argv[1:]]))
