"""The result of :func:`fokkerplanck.particles.simulate`: :class:`Ensemble`.

Shaped like :class:`fokkerplanck.Solution` (and scipy's ``OdeResult``): the saved times ``t``, the
state at those times (``positions``), ``status``/``message``/``success`` and flat counters.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field as _field

import numpy as np

from ..analysis.distances import wasserstein
from ..flow.grid import Grid

__all__ = ["Ensemble", "COUNTERS"]

#: The flat counters of an :class:`Ensemble` (also returned together by :attr:`Ensemble.counters`).
COUNTERS = ("n_steps", "n_field_evaluations", "n_reflections", "wall_time", "cpu_time")


@dataclass
class Ensemble:
    """Particles moved by :func:`~fokkerplanck.particles.simulate`.

    Attributes
    ----------
    t : ndarray, shape (n_saved,)
        Saved times (``t_eval``).
    positions : ndarray, shape (n_saved, n, d)
        Particle positions at the saved times; particle ``i`` is row ``i`` at every time.
    velocity : str
        ``"grid"``, ``"kde"``, ``"sde"``, ``"discriminator"`` or the name of a custom field.
    method : str
        Integrator: ``"euler"``, ``"rk2"``, ``"rk4"`` or ``"euler-maruyama"``.
    n : int
        Number of particles.
    seed : int, Generator or None
        The seed given to :func:`~fokkerplanck.particles.simulate`.
    dt : float
        Step size (steps are shortened to land on ``t_eval``).
    divergence : str or None
        Divergence whose flow the particles follow (None for custom fields).
    sampling : str
        How the initial positions were drawn: ``"iid"``, ``"sobol"`` or ``"given"``.
    grid : Grid or None
        Box with reflecting walls, or None (unbounded).
    status : int
        0: reached ``t_final``; -1: stopped because a step produced non-finite positions (the
        positions saved before the failure are kept).
    message : str
        What happened, in words.
    n_steps, n_field_evaluations, n_reflections : int
        Time steps taken, evaluations of the velocity field (Runge-Kutta stages included) and
        wall reflections.
    wall_time, cpu_time : float
        Seconds spent in the time loop (CPU time of this process, all threads).
    options : dict
        ``velocity_options`` and everything else needed to reproduce the run.
    """

    t: np.ndarray
    positions: np.ndarray
    velocity: str
    method: str
    n: int
    seed: object
    dt: float
    divergence: str | None
    sampling: str
    grid: Grid | None = None
    status: int = 0
    message: str = ""
    n_steps: int = 0
    n_field_evaluations: int = 0
    n_reflections: int = 0
    wall_time: float = 0.0
    cpu_time: float = 0.0
    options: dict = _field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def counters(self) -> dict:
        """The flat counters as one dict (read-only; kept for code written against the old layout)."""
        return {name: getattr(self, name) for name in COUNTERS}

    @property
    def domain(self) -> Grid | None:
        """Deprecated spelling of :attr:`grid`."""
        warnings.warn("Ensemble.domain is deprecated; use Ensemble.grid.", DeprecationWarning, stacklevel=2)
        return self.grid

    @property
    def ndim(self) -> int:
        return int(self.positions.shape[2])

    @property
    def final(self) -> np.ndarray:
        """Positions at the last saved time, shape ``(n, d)``."""
        return self.positions[-1]

    def at(self, t) -> np.ndarray:
        """Positions at the saved time ``t`` (must be one of ``self.t``), shape ``(n, d)``."""
        k = int(np.argmin(np.abs(self.t - t)))
        if abs(self.t[k] - t) > 1e-9 * max(1.0, abs(t)):
            raise ValueError(f"t = {t} was not saved; saved times are {self.t.tolist()}.")
        return self.positions[k]

    def wasserstein_to(self, solution, p=1, **options) -> np.ndarray:
        r""":math:`W_p` between the particles and ``solution.u`` at every saved time of the ensemble.

        Every ``self.t`` must be a saved time of ``solution`` (a :class:`~fokkerplanck.Solution`);
        ``options`` go to :func:`fokkerplanck.analysis.distances.wasserstein`. In 2-D/3-D with the default
        ``method="auto"`` large ensembles get the *sliced* distance (with a UserWarning); pass
        ``method="exact"`` or ``"sliced"`` so the array holds one known kind. On a periodic grid the
        distances are the circle's or the torus's (:mod:`fokkerplanck.analysis.circle`).
        """
        out = []
        for t, x in zip(self.t, self.positions):
            k = int(np.argmin(np.abs(solution.t - t)))
            if abs(solution.t[k] - t) > 1e-9 * max(1.0, abs(t)):
                raise ValueError(f"the solution has no frame at t = {t}; solve with t_eval including the "
                                 "ensemble's times (or t_eval='steps').")
            out.append(wasserstein(x, (solution.grid, solution.u[k]), p, **options))
        return np.asarray(out)

    def __repr__(self):
        return (f"Ensemble(velocity={self.velocity!r}, method={self.method!r}, n={self.n}, d={self.ndim}, "
                f"n_saved={len(self.t)}, t_final={self.t[-1] if len(self.t) else None}, dt={self.dt}, "
                f"sampling={self.sampling!r}, n_steps={self.n_steps}, "
                f"n_field_evaluations={self.n_field_evaluations}, n_reflections={self.n_reflections}, "
                f"status={self.status}, message={self.message!r})")
