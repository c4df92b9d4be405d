"""A progress bar for long runs (a :class:`~fokkerplanck.flow.trackers.Tracker` around tqdm).

The bar shows the time reached out of ``t_final`` and the current Jensen-Shannon divergence. It
appears only when it helps: on a terminal (``stream.isatty()``), after the run has already taken
``delay`` seconds (2 s by default, so short runs print nothing), and never with ``enabled=False``
(the command line's ``--quiet``). Progress is display only: the solver never depends on it.

Examples
--------
>>> import fokkerplanck as fp
>>> from fokkerplanck.progress import ProgressBar
>>> grid = fp.Grid([-6.0], [6.0], [200])
>>> bar = ProgressBar()         # shows itself only on a terminal, after 2 s
>>> sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, 1.0, trackers=[bar])
"""

from __future__ import annotations

import sys

from .flow.trackers import Tracker

__all__ = ["ProgressBar"]


class ProgressBar(Tracker):
    """tqdm progress bar: time reached of ``t_final`` and the current JSD.

    Parameters
    ----------
    enabled : bool or None
        ``None`` (default): only if ``stream`` is a terminal. ``False``: never (``--quiet``).
        ``True``: always (e.g. to a log file).
    delay : float
        Seconds of run time before the bar first appears (tqdm's ``delay``), so that runs
        shorter than that print nothing.
    stream : file-like, optional
        Where to draw (default ``sys.stderr``).
    desc : str
        Label in front of the bar.
    """

    def __init__(self, enabled: bool | None = None, delay: float = 2.0, stream=None, desc: str = "flow"):
        self.stream = stream
        self.enabled = enabled
        self.delay = float(delay)
        self.desc = desc
        self.bar = None

    def _active(self, stream) -> bool:
        if self.enabled is not None:
            return bool(self.enabled)
        isatty = getattr(stream, "isatty", None)
        try:
            return bool(isatty and isatty())
        except ValueError:  # closed stream
            return False

    def start(self, problem, t_final):
        from tqdm import tqdm

        stream = self.stream if self.stream is not None else sys.stderr
        self.bar = None
        if not self._active(stream):
            return
        self.bar = tqdm(total=float(t_final), desc=self.desc, unit="", file=stream, delay=self.delay,
                        dynamic_ncols=True, leave=True,
                        bar_format="{desc}: {percentage:3.0f}%|{bar}| t = {n:.4g}/{total:.4g} "
                                   "[{elapsed}<{remaining}{postfix}]")

    def update(self, t, v, record):
        if self.bar is None:
            return
        self.bar.set_postfix_str(f"JSD {record['jsd']:.3e}", refresh=False)
        self.bar.update(float(t) - self.bar.n)

    def finish(self, solution):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
