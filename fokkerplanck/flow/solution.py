"""The result of :func:`fokkerplanck.solve`, and the error that carries a partial one."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .grid import Grid

__all__ = ["Solution", "ConvergenceError"]


@dataclass
class Solution:
    r"""A computed flow, in the spirit of scipy's ``OdeResult``.

    Attributes
    ----------
    t : ndarray, shape (n_saved,)
        Saved times (``t_eval``; by default ``[0, t_final]``).
    u : ndarray, shape ``(n_saved, *grid.shape)``
        Densities on the cells at the saved times; ``u[k].sum() * grid.cell_volume == 1``.
    history : dict of ndarray
        One entry per accepted step (and the initial state at index 0): ``t``, ``dt``, ``mass``,
        ``jsd``, ``energy``, ``l1``, ``dissipation``, ``grad_v_norm2``, ``max_v``,
        ``newton_iterations``, ``linear_iterations``, ``residual``. See
        :mod:`fokkerplanck.diagnostics` for the definitions.
    grid : Grid
    rho_d : ndarray
        The target density :math:`\rho_d` on the cells, restricted to the box and normalised
        (an array; ``target=`` elsewhere is a density object). ``Solution.target`` is the old,
        deprecated name.
    divergence : str
        Name of the divergence whose gradient flow was solved.
    beta : float
        ``max rho_0 / rho_d`` (condition 34).
    target_mass_outside, initial_mass_outside : float or None
        Mass of rho_d (rho_0) outside the box, when known.
    status : int
        0: reached ``t_final``; -1: stopped by a failure (see :class:`ConvergenceError`).
    message : str
    n_steps, n_rejected, n_newton, n_linear : int
        Accepted steps, rejected step attempts, Newton iterations and linear solves/iterations.
    options : dict
        The solver options used (``t_final``, ``dt``, ``rtol``, ...), for records and restarts.
    """

    t: np.ndarray
    u: np.ndarray
    history: dict
    grid: Grid
    rho_d: np.ndarray
    divergence: str
    beta: float
    target_mass_outside: float | None = None
    initial_mass_outside: float | None = None
    status: int = 0
    message: str = ""
    n_steps: int = 0
    n_rejected: int = 0
    n_newton: int = 0
    n_linear: int = 0
    options: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def target(self) -> np.ndarray:
        """Deprecated name of :attr:`rho_d`."""
        warnings.warn("Solution.target is deprecated; use Solution.rho_d (the target density on the cells).",
                      DeprecationWarning, stacklevel=2)
        return self.rho_d

    @property
    def v(self) -> np.ndarray:
        """``u / rho_d`` at the saved times (the paper's v, eq. 31)."""
        return self.u / self.rho_d

    def plot(self, particles=None, path=None, **kwargs):
        """Overview figure (snapshots, JSD and L1 against time): :func:`fokkerplanck.plot.solution`.

        The one import upward from the numerics core, by design: a documented accessor (as
        ``pandas.DataFrame.plot``); the core never plots otherwise, and importing it loads no plotting.
        """
        from ..plot import solution as _plot_solution  # the documented accessor: the core's one upward import

        return _plot_solution(self, particles=particles, path=path, **kwargs)

    def __repr__(self):
        return (f"Solution(divergence={self.divergence!r}, grid={self.grid!r}, n_saved={len(self.t)}, "
                f"t_final={self.options.get('t_final', self.t[-1] if len(self.t) else None)}, "
                f"t_last_saved={self.t[-1] if len(self.t) else None}, n_steps={self.n_steps}, "
                f"n_rejected={self.n_rejected}, status={self.status}, message={self.message!r})")


class ConvergenceError(RuntimeError):
    """A time step could not be solved, even after reducing the step size.

    Attributes
    ----------
    solution : Solution
        Everything computed up to the failure (saved frames and history), ``status == -1``.
    step : int
        Index of the step that failed (number of accepted steps before it).
    time : float
        Time from which the failing step started.
    dt : float
        The smallest step size tried.
    residual : float
        Newton residual (L1 norm in units of mass) of the last attempt.
    """

    def __init__(self, message, solution=None, step=None, time=None, dt=None, residual=None):
        super().__init__(message)
        self.solution = solution
        self.step = step
        self.time = time
        self.dt = dt
        self.residual = residual
