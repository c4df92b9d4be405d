"""Execute every teaching notebook once per test session; test_docs checks the runs and builds the site from them.

Executing the notebooks is the slow part of both the notebook checks and the documentation build, so
it is done once: :func:`executed_notebooks` runs them two at a time (:func:`execute`: shell
replies awaited in slices, a per-cell timeout, and a stalled run retried from the start in a new
kernel) with nbclient's synchronous client (the asynchronous one, driven by asyncio from here,
twice left the first kernel waiting for a message until the cell timeout of 180 s), keeps the
executed copies in a temporary folder, and returns that folder with the result of each run.
The documentation test builds the site from those copies (``FOKKERPLANCK_EXECUTED_NOTEBOOKS``, see
``docs/conf.py``) instead of executing the notebooks a second time.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from queue import Empty

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT = 180  # seconds per cell
ATTEMPTS = 3   # a run that stalls (a cell timeout or a dead kernel) is retried from the start in a new kernel
WORKERS = 2    # notebooks executed at the same time


IDLE = 30      # seconds a kernel may spend without using the CPU before it is taken for stalled


def _cpu_seconds(pid):
    """CPU time (user + system, all threads) used so far by the process ``pid``, or None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(client, idle, stop):
    """Kill ``client``'s kernel if it uses less than 0.05 s of CPU in ``idle`` seconds (Linux only).

    A stalled kernel waits for a message and uses no CPU; a cell at work (the notebooks compute,
    none sleeps or waits for a subprocess) uses it even on a busy machine (at load 6 on 2 cores a
    process gets about a third of a core: 10 s of CPU in 30 s). The killed kernel makes nbclient
    raise DeadKernelError within a second, and :func:`execute` retries the run. Where there is no
    ``/proc`` the watchdog does nothing (the cell timeout still bounds a stall)."""
    pid, last, since = None, None, time.monotonic()
    while not stop.wait(1.0):
        if pid is None:
            km = getattr(client, "km", None)
            pid = getattr(getattr(km, "provisioner", None), "pid", None)
            if pid is None:
                continue
        cpu = _cpu_seconds(pid)
        if cpu is None:
            return
        if last is None or cpu - last > 0.05:
            last, since = cpu, time.monotonic()
        elif time.monotonic() - since > idle:
            os.kill(pid, signal.SIGKILL)
            return


def execute(path, workdir, timeout=TIMEOUT, attempts=ATTEMPTS, idle=IDLE):
    """Execute the notebook at ``path`` in ``workdir``; returns ``(executed notebook, failed attempts)``.

    A kernel and its client were seen both waiting for a message for minutes (issue 22); a rerun in
    a new kernel took seconds. Diagnosed since (nbclient's debug log, py-spy on both processes, 9
    stalls under load, with ipykernel 7.4 and 6.31 alike): every stall came after the last cell of a
    notebook that ends with an ipywidgets ``interact`` cell; the client had received the cell's
    outputs and the kernel's "idle" status but never the execute reply, and the kernel sat idle in
    its event loop. That is nbclient's open issue 312 ("when cell contains ipywidget, execute cell
    will sometimes block"); notebooks without a widget cell never stalled. The reply does arrive: a
    new poll of the shell socket finds it, so the client polls in slices (:func:`sliced_get_msg`,
    which removed the stalls where they were measured). Should a run stall all the same, each cell has
    ``timeout`` seconds, a kernel that uses no CPU for ``idle`` seconds is killed (:func:`_watch`: a
    stall then costs ``idle`` seconds, not ``timeout``; measured: 7 of 24 runs stalled for the whole 180 s timeout
    under load 4-6), and a run that times out or whose kernel dies is done again from the start, at
    most ``attempts`` times in all, as is a run whose kernel died while starting
    (:func:`_never_started`). An error raised by a cell (CellExecutionError) is not retried."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    _SlicedPollClient = _sliced_poll_client()
    stalls = []
    for attempt in range(attempts):
        nb = nbformat.read(path, as_version=4)
        client = _SlicedPollClient(nb, timeout=timeout, kernel_name="python3", shutdown_kernel="immediate",
                                   resources={"metadata": {"path": str(workdir)}})
        stop = threading.Event()
        watchdog = threading.Thread(target=_watch, args=(client, idle, stop), daemon=True)
        watchdog.start()
        try:
            client.execute()  # raises CellExecutionError naming the failing cell
            return nb, stalls
        except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as exc:
            # a stall, or a kernel that never started (DeadKernelError is itself a RuntimeError)
            stalled = isinstance(exc, (CellTimeoutError, DeadKernelError, TimeoutError))
            if not (stalled or _never_started(exc)):
                raise
            stalls.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
            if attempt + 1 == attempts:
                raise
        finally:
            stop.set()
            watchdog.join()


POLL_SLICE = 0.2  # seconds: the longest a single wait for a shell message lasts before the socket is polled anew


def sliced_get_msg(get_msg, step=POLL_SLICE):
    """``get_msg(timeout)`` of a kernel client's channel, made to wait in slices of at most ``step``
    seconds, each a new poll of the socket, up to the ``timeout`` asked for (None: for ever); it
    raises ``queue.Empty`` as the original does when ``timeout`` passes without a message.

    The stall of nbclient's issue 312: the client waits in one poll of the shell socket for the whole
    cell timeout, and sometimes that poll is not woken by the execute reply, although the reply has
    arrived: a new poll finds it at once. A missed wake-up then costs at most ``step`` seconds. The
    stall counts with and without slices, and the times, are in benchmarks/README.md ("Fourth pass").
    """
    async def get_msg_in_slices(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = step if deadline is None else min(step, max(0.0, deadline - time.monotonic()))
            try:
                return await get_msg(timeout=left)
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


@functools.lru_cache(maxsize=None)
def _sliced_poll_client():
    """nbclient's NotebookClient whose kernel client waits for shell replies in slices (:func:`sliced_get_msg`)."""
    from nbclient import NotebookClient

    class _SlicedPollClient(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            kc.shell_channel.get_msg = sliced_get_msg(kc.shell_channel.get_msg)
            return kc

    return _SlicedPollClient


def _never_started(exc):
    """Whether ``exc`` is jupyter_client's "Kernel died before replying to kernel_info": the kernel
    process exited while starting, before any cell ran. Seen once in CI (2026-12-03): the kernel
    could not bind one of the TCP ports its manager had picked as free ("Address already in use",
    two notebooks start kernels at the same time), so :func:`execute` retries such a run as it
    retries a stalled one."""
    return "Kernel died before replying to kernel_info" in str(exc)


def _run_one(path, out_dir):
    """Execute one notebook in a scratch folder under ``out_dir`` (in a worker process); returns
    ``(executed notebook or the error as a RuntimeError, seconds, stalled attempts)``. The error is
    passed on as text (its type, message and the failing cell), since not every nbclient exception
    can be pickled."""
    # run in a scratch directory, so a notebook that writes files leaves nothing behind
    workdir = Path(tempfile.mkdtemp(prefix=path.stem + "-", dir=out_dir))
    start = time.perf_counter()
    try:
        nb, stalls = execute(path, workdir)
        nbformat.write(nb, out_dir / path.name)
        return nb, time.perf_counter() - start, stalls
    except Exception as exc:  # noqa: BLE001 - reported by the tests that use the run
        return RuntimeError(f"{type(exc).__name__}: {exc}"), time.perf_counter() - start, []


@functools.lru_cache(maxsize=None)
def executed_notebooks():
    """(folder of executed copies, {path: executed notebook or the exception it raised},
    {path: (seconds, [stalled attempts that were retried])}).

    The notebooks run two at a time (each notebook's client in its own process, started with
    ``spawn``: the test process may hold threads, e.g. JAX's, that a ``fork`` would copy half-way),
    one per core of the 2-core CI machine: each run is a kernel process that computes while its
    client waits. (The gain was not measured cleanly: stalls dominated every round measured, see
    "Test suite time" in benchmarks/README.md.)"""
    out_dir = Path(tempfile.mkdtemp(prefix="fokkerplanck-notebooks-"))
    with ProcessPoolExecutor(max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {path: pool.submit(_run_one, path, out_dir) for path in NOTEBOOKS}
        runs = {path: future.result() for path, future in futures.items()}
    results = {path: run[0] for path, run in runs.items()}
    timings = {path: (run[1], run[2]) for path, run in runs.items()}
    return out_dir, results, timings
