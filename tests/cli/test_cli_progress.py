"""The progress bar of the command line (:mod:`fokkerplanck.progress`)."""

import io

import fokkerplanck as fp
from fokkerplanck.progress import ProgressBar


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_on_a_terminal():
    grid = fp.Grid([-5.0], [5.0], [60])
    args = (fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, 0.5)
    tty, pipe = _Tty(), io.StringIO()
    fp.solve(*args, dt=0.05, trackers=[ProgressBar(stream=tty, delay=0.0)])
    assert "JSD" in tty.getvalue() and "t = 0.5/0.5" in tty.getvalue()
    fp.solve(*args, dt=0.05, trackers=[ProgressBar(stream=pipe, delay=0.0)])
    assert pipe.getvalue() == ""  # not a terminal: no bar
    quiet = _Tty()
    fp.solve(*args, dt=0.05, trackers=[ProgressBar(enabled=False, stream=quiet, delay=0.0)])
    assert quiet.getvalue() == ""  # --quiet
    short = _Tty()
    fp.solve(*args, dt=0.05, trackers=[ProgressBar(stream=short, delay=60.0)])
    assert short.getvalue() == ""  # a run shorter than the delay prints nothing
