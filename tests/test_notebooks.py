"""Every teaching notebook is committed with its outputs stripped and is written for class: a learning
goal, exercises with folded solutions, labelled axes, a figure; a stalled kernel is restarted. That
each runs top to bottom (nbclient) is checked in test_docs.py, beside the site built from the same run."""

import re
from pathlib import Path

import nbformat
import pytest

from _notebook_runs import NOTEBOOKS

# every teaching notebook is written for class
FOR_CLASS = ["01_flow_1d", "02_superposition", "03_crandall_liggett", "04_long_time", "05_gans", "06_divergences"]


def test_there_are_notebooks():
    assert {p.stem for p in NOTEBOOKS} >= set(FOR_CLASS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_outputs_are_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs before committing"


def _markdown(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def _code(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


@pytest.mark.parametrize("name", FOR_CLASS)
def test_written_for_class(name):
    nb = nbformat.read(Path(NOTEBOOKS[0]).parent / f"{name}.ipynb", as_version=4)
    text, code = _markdown(nb), _code(nb)
    assert nb.cells[0].cell_type == "markdown" and "**Learning goal.**" in nb.cells[0].source
    assert "## Exercises" in text
    exercises = re.findall(r"^\d+\. \*\*", text.split("## Exercises", 1)[1], flags=re.M)
    solutions = re.findall(r"<details>\s*<summary>Solution", text)
    assert 2 <= len(exercises) <= 3 and len(solutions) == len(exercises), (len(exercises), len(solutions))
    assert "$$" in text  # the mathematics next to the code
    # every axis a notebook labels itself names its quantity and its units (or says it has none)
    for label in re.findall(r"set_[xy]label\((r?[\"'].+?[\"'])\)", code):
        assert "(" in label, f"{name}: axis label {label} has no units"
    # a slider, when there is one, comes after a static figure of the same thing and degrades gracefully
    widget_cells = [c for c in nb.cells if c.cell_type == "code" and "ipywidgets" in c.source]
    for cell in widget_cells:
        assert "except ImportError" in cell.source and "remove-output" in cell.metadata.get("tags", [])



def _notebook(tmp_path, name, source):
    path = tmp_path / name
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)]), path)
    return path


def test_a_stalled_run_is_retried_in_a_new_kernel(tmp_path):
    """A cell that stalls past the per-cell timeout: the run is retried from the start, then reported."""
    from nbclient.exceptions import CellTimeoutError

    from _notebook_runs import execute

    path = _notebook(tmp_path, "stall_once.ipynb", "import pathlib, time\n"
                     "p = pathlib.Path('attempts.txt')\n"
                     "n = int(p.read_text()) + 1 if p.exists() else 1\n"
                     "p.write_text(str(n))\n"
                     "if n == 1:\n"
                     "    time.sleep(60)  # the first run stalls\n")
    # the cell that must finish does so in milliseconds: 3 s leaves a busy machine a wide margin
    executed, stalls = execute(path, tmp_path, timeout=3, attempts=2)
    assert len(stalls) == 1 and "CellTimeoutError" in stalls[0]
    assert (tmp_path / "attempts.txt").read_text() == "2"
    assert executed.cells[0].execution_count == 1
    always = _notebook(tmp_path, "stall_always.ipynb", "import time\ntime.sleep(60)\n")
    with pytest.raises(CellTimeoutError):
        execute(always, tmp_path, timeout=1, attempts=2)  # it stalls for 60 s: any timeout below that is hit


def test_a_kernel_that_uses_no_cpu_is_killed_and_the_run_retried(tmp_path):
    """The watchdog: a kernel idle (no CPU) for ``idle`` seconds is killed long before the cell
    timeout, and the run is retried in a new kernel (a cell timeout would have been a
    CellTimeoutError: the DeadKernelError says the watchdog ended the first attempt; no clock is read)."""
    from _notebook_runs import execute

    path = _notebook(tmp_path, "idle_once.ipynb", "import pathlib, time\n"
                     "p = pathlib.Path('attempts.txt')\n"
                     "n = int(p.read_text()) + 1 if p.exists() else 1\n"
                     "p.write_text(str(n))\n"
                     "if n == 1:\n"
                     "    time.sleep(120)  # waits without computing, like a stalled kernel\n")
    executed, stalls = execute(path, tmp_path, timeout=100, attempts=2, idle=2)
    assert len(stalls) == 1 and "DeadKernelError" in stalls[0], stalls
    assert (tmp_path / "attempts.txt").read_text() == "2"
    assert executed.cells[0].execution_count == 1


def test_a_kernel_that_dies_while_starting_is_retried(tmp_path, monkeypatch):
    """jupyter_client's "Kernel died before replying to kernel_info" (a kernel that could not bind a
    port its manager had picked, seen once in CI) is retried like a stall; any other RuntimeError is not."""
    import nbclient

    from _notebook_runs import execute

    real, calls = nbclient.NotebookClient.execute, []

    def dies_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(nbclient.NotebookClient, "execute", dies_once)
    path = _notebook(tmp_path, "starts.ipynb", "x = 6 * 7\nx\n")
    executed, stalls = execute(path, tmp_path, attempts=2)
    assert len(stalls) == 1 and "kernel_info" in stalls[0], stalls
    assert executed.cells[0].outputs[0]["data"]["text/plain"] == "42"

    def broken(self, *args, **kwargs):
        raise RuntimeError("something else went wrong")

    monkeypatch.setattr(nbclient.NotebookClient, "execute", broken)
    with pytest.raises(RuntimeError, match="something else"):
        execute(path, tmp_path, attempts=3)


def test_shell_replies_are_awaited_in_slices():
    """The fix for the widget-cell stall (nbclient issue 312): a poll that is not woken by a reply that
    has arrived ends after one slice, and the next poll returns the reply; a timeout still ends in
    queue.Empty, and no single poll outlasts its slice."""
    import asyncio
    from queue import Empty

    from _notebook_runs import sliced_get_msg

    asked = []

    def channel(replies):
        async def get_msg(timeout=None):
            asked.append(timeout)
            if not replies:  # nothing arrived: wait out the poll, like zmq
                await asyncio.sleep(timeout)
                raise Empty
            reply = replies.pop(0)
            if reply is None:  # the reply is there but this poll is not woken
                await asyncio.sleep(timeout)
                raise Empty
            return reply
        return get_msg

    missed_once = channel([None, {"msg_type": "execute_reply"}])
    assert asyncio.run(sliced_get_msg(missed_once, step=0.01)(timeout=None)) == {"msg_type": "execute_reply"}
    assert asked == [0.01, 0.01]

    asked.clear()
    with pytest.raises(Empty):
        asyncio.run(sliced_get_msg(channel([]), step=0.01)(timeout=0.05))
    assert len(asked) >= 2 and max(asked) <= 0.01
