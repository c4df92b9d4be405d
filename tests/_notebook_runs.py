"""Execute every teaching notebook once per test session; test_notebooks and test_docs share the runs.

Executing the notebooks is the slow part of both the notebook tests and the documentation build, so
it is done once: :func:`executed_notebooks` runs them one after another with nbclient's
synchronous client (the asynchronous one, driven by asyncio from here, twice left the first
kernel waiting for a message until the cell timeout of 180 s), keeps
the executed copies in a temporary folder, and returns that folder with the result of each run.
The documentation test builds the site from those copies (``FOKKERPLANCK_EXECUTED_NOTEBOOKS``, see
``docs/conf.py``) instead of executing the notebooks a second time.
"""

from __future__ import annotations

import functools
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
TIMEOUT = 180  # seconds per cell


@functools.lru_cache(maxsize=None)
def executed_notebooks():
    """(folder of executed copies, {path: executed notebook or the exception it raised}, {path: seconds})."""
    from nbclient import NotebookClient

    out_dir = Path(tempfile.mkdtemp(prefix="fokkerplanck-notebooks-"))
    seconds, results = {}, {}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        # run in a scratch directory, so a notebook that writes files leaves nothing behind
        workdir = Path(tempfile.mkdtemp(prefix=path.stem + "-", dir=out_dir))
        client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": str(workdir)}})
        start = time.perf_counter()
        try:
            client.execute()  # raises CellExecutionError naming the failing cell
            nbformat.write(nb, out_dir / path.name)
            results[path] = nb
        except Exception as exc:  # noqa: BLE001 - reported by the tests that use the run
            results[path] = exc
        finally:
            seconds[path] = time.perf_counter() - start
    return out_dir, results, seconds
