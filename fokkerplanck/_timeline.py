"""The times a time loop must land on exactly (private; shared by the grid solver and the particles).

A fixed-step integrator lands on every multiple of ``dt`` and, in addition, on the save times
``t_eval`` and on ``t_final``; an adaptive one (``dt=None``) only on the latter two.
Marks closer than a relative ``1e-9`` are merged (so that ``3 * 0.1`` and ``0.3`` are one time),
and ``t = 0`` is the initial state, not a step.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["milestones", "merge_tolerance"]


def merge_tolerance(t_final: float) -> float:
    """Two times closer than this are the same time."""
    return 1e-9 * max(1.0, t_final)


def milestones(t_final: float, dt: float | None, t_eval=None) -> np.ndarray:
    """Sorted times in ``(0, t_final]`` the loop must land on: ``t_eval``, ``t_final``, ``k * dt``."""
    marks = [np.array([t_final], dtype=float)]
    if t_eval is not None:
        te = np.asarray(t_eval, dtype=float).ravel()
        marks.append(te[te > 0])
    if dt is not None:
        n = int(math.floor(t_final / dt * (1 + 1e-12)))
        marks.append(dt * np.arange(1, n + 1))
    marks = np.unique(np.concatenate(marks))
    marks = marks[marks > 1e-12 * max(1.0, t_final)]
    if marks.size == 0:
        return marks
    keep = np.concatenate([[True], np.diff(marks) > merge_tolerance(t_final)])
    return marks[keep]


def off_lattice(times, dt: float, t_final: float) -> np.ndarray:
    """The entries of ``times`` that are not multiples of ``dt`` (to the merge tolerance)."""
    times = np.asarray(times, dtype=float).ravel()
    k = np.rint(times / dt)
    return times[np.abs(times - k * dt) > merge_tolerance(t_final)]


def lattice_times(t_final: float, dt: float, n: int) -> np.ndarray:
    """``n`` save times on the step lattice ``k * dt`` spread evenly over ``[0, t_final]``.

    ``t_final`` must be a multiple of ``dt``; with ``N = t_final / dt`` steps the times are
    ``round(linspace(0, N, n)) * dt`` without repeats (fewer than ``n`` when ``n > N + 1``), so
    they are evenly spaced exactly when ``N`` is a multiple of ``n - 1``.
    """
    n_steps = int(round(t_final / dt))
    k = np.unique(np.rint(np.linspace(0.0, n_steps, n)).astype(int))
    times = k * dt
    times[-1] = t_final
    return times
