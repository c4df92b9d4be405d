"""Running a sweep's cases on Dask: :func:`run_sweep`, and what it does when the cluster fails.

Every case that has no file yet is a task (``_execute`` on a worker); this process writes each
case's file as it finishes (:mod:`fokkerplanck.sweep.table`), then the table. A scheduler that
cannot be reached or is lost raises :class:`SchedulerLostError`, no worker for ``worker_timeout``
seconds :class:`NoWorkersError` (both :class:`SweepAborted`); a case whose worker dies is retried,
and the cases Dask gives up on (``KilledWorker``) are run once more, one at a time (see
:mod:`fokkerplanck.sweep`).
"""

from __future__ import annotations

import math
import sys
import time
import traceback
from pathlib import Path

from .._optional import require
from .spec import _resolve_study, case_key, load_spec
from .table import SweepResult, _collect, _finished_cases, _scalar, _write_case, _write_failure

__all__ = ["run_sweep", "SweepAborted", "SchedulerLostError", "NoWorkersError", "DEFAULT_WORKER_TIMEOUT"]


# --------------------------------------------------------------------------------------------
# Running one case (on a worker)
# --------------------------------------------------------------------------------------------

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
# The runner
# --------------------------------------------------------------------------------------------

DEFAULT_WORKER_TIMEOUT = 60.0
"""Seconds :func:`run_sweep` waits for the scheduler to answer and for a worker to be available."""

_POLL = 0.5  # seconds between health checks of the cluster while no case finishes
_AGAIN = object()  # a finished case whose result went with its worker: wait for it again


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
            rec = _write_case(self.cases_dir, self.failed_dir, key, self.spec.study, params, rows, seconds)
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
        _write_failure(self.failed_dir, key, params, text)

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
        The sweep (see :mod:`fokkerplanck.sweep`).
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
    records, todo = _finished_cases(cases_dir, keys, spec.cases, recompute)
    n_skipped = len(records)
    failures = {}

    def result():
        return _collect(spec, out, keys, records, n_skipped, failures)

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

