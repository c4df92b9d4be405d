r"""The linear-solver entry: what every member of :data:`LINEAR_SOLVERS` declares.

Each Newton iteration of the resolvent solves one system with the Hessian
:math:`H = \mathrm{diag}(m\,(\Phi^{-1})'(w)) + hK` (or, for a divergence iterating on ``v``, its
symmetric form :math:`D\,hK\,D + \mathrm{diag}(m v')`). A linear solver is a subclass of
:class:`LinearSolver` that registers itself; the class carries every fact about itself:

- ``name`` (also its spelling in run files) and ``summary``;
- where it applies (:meth:`unavailable`: dimension, size, periodic axes, the divergence's Newton variable) and
  its rank when ``linear_solver="auto"`` chooses (:meth:`auto_rank`);
- its memory model (:meth:`memory_bytes`), which the budget reads;
- how to build it (the constructor) and, where it can, the pseudo-inverse of the singular
  Laplacian that the eigen-solves of :mod:`fokkerplanck.analysis.spectral` use
  (:meth:`pseudo_inverse`, ranked by :meth:`eigen_rank`).

The resolvent, the run-file schema, the budget and the spectral gap all read these entries;
nothing else keeps a list of solvers.
"""

from __future__ import annotations

import math

import numpy as np

from ..._registry import Registry

__all__ = ["LinearSolver", "LINEAR_SOLVERS", "register", "select", "select_eigen", "available"]

#: The registered linear solvers, by name.
LINEAR_SOLVERS = Registry("linear_solver")

#: Bytes per float64.
F8 = 8.0


def register(cls):
    """Class decorator: add a :class:`LinearSolver` subclass to :data:`LINEAR_SOLVERS`."""
    return LINEAR_SOLVERS.add(cls)


class LinearSolver:
    """Base class of the linear solvers (see the module docstring for what a member declares)."""

    name = ""
    summary = ""
    #: True when the solver runs the whole Newton iteration itself (the compiled 1-D kernel):
    #: it then provides :meth:`newton` instead of :meth:`solve_hessian` / :meth:`solve_symmetric`.
    runs_newton = False
    #: Why the solver cannot run on a grid with periodic axes (None: it can; it then works on the
    #: face coefficients of :mod:`fokkerplanck.flow.operators`, whose periodic axes carry the seam face).
    periodic_unavailable: str | None = None
    #: The norm of the stopping test ``||r|| <= rtol ||b||`` of :meth:`solve_hessian`: 2 (scipy's
    #: CG) or 1, the norm of the Newton residual itself (for the Hessian system ``H dw = -g`` the
    #: linearised new residual is ``g + H dw = -r``), so that the forcing of
    #: :meth:`Resolvent.forcing <fokkerplanck.flow.resolvent.Resolvent.forcing>` needs no
    #: allowance for a change of norm.
    residual_norm = 2

    # -- where it applies ---------------------------------------------------------------------
    @classmethod
    def unavailable(cls, shape, divergence, periodic=False) -> str | None:
        """Why this solver cannot run on a grid of ``shape`` with ``divergence`` (None: it can).

        ``periodic`` is a bool or one per axis (:attr:`fokkerplanck.Grid.periodic`)."""
        return cls.periodic_unavailable if _any(periodic) else None

    @classmethod
    def auto_rank(cls, shape, divergence) -> float | None:
        """Preference of ``linear_solver="auto"`` (lowest wins); None: never chosen automatically."""
        return None

    # -- memory -------------------------------------------------------------------------------
    @classmethod
    def memory_bytes(cls, shape) -> float:
        """Bytes this solver holds beyond the resolvent's own arrays, for a grid of ``shape``."""
        return 0.0

    # -- eigen-solves -------------------------------------------------------------------------
    @classmethod
    def eigen_rank(cls, shape) -> float | None:
        """Preference for the shift-invert solves of the spectral gap (None: not offered)."""
        return None

    @classmethod
    def pseudo_inverse(cls, K, m, coeffs, shape, keep):
        """A function ``b -> x`` solving ``K x = b`` for the grounded (``keep``) or singular system."""
        raise NotImplementedError(f"linear_solver {cls.name!r} offers no eigen-solve")

    # -- the solves ---------------------------------------------------------------------------
    def __init__(self, coeffs, shape, divergence):
        self.coeffs, self.shape, self.divergence = coeffs, tuple(shape), divergence

    def get_state(self) -> dict:
        """Reused state that changes results (for bit-identical resume), as a dict of arrays."""
        return {}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`get_state` (``{}``: drop any reused state); ValueError if it does not fit."""
        if state:
            raise ValueError(f"the saved linear-solver state does not fit the {self.name} solver (it keeps none); "
                             "start over without resuming")


def _cells(shape) -> int:
    return int(math.prod(int(s) for s in shape))


def _any(periodic) -> bool:
    return bool(np.any(periodic)) if periodic is not None else False


def _why(cls, shape, divergence, periodic) -> str | None:
    """``cls.unavailable``; a member written before periodic grids (no ``periodic`` argument) is asked
    only about grids with walls, and declines periodic grids."""
    if not _any(periodic):
        return cls.unavailable(shape, divergence)
    try:
        return cls.unavailable(shape, divergence, periodic=periodic)
    except TypeError:
        return cls.periodic_unavailable or "does not declare whether it handles periodic grids"


def available(shape, divergence, periodic=False) -> list[str]:
    """Names of the solvers that can run on ``shape`` (with ``periodic`` axes) with ``divergence``."""
    return [c.name for c in LINEAR_SOLVERS if _why(c, shape, divergence, periodic) is None]


def select(name, shape, divergence, periodic=False):
    """The solver class for ``linear_solver=name`` (``"auto"`` resolved by the members' own ranks).

    ``periodic``: a bool or one per axis. Raises a ValueError naming the solvers that apply when
    ``name`` is unknown or does not apply.
    """
    shape = tuple(int(s) for s in shape)
    if name == "auto":
        ranked = [(c.auto_rank(shape, divergence), i, c) for i, c in enumerate(LINEAR_SOLVERS)
                  if _why(c, shape, divergence, periodic) is None]
        ranked = [r for r in ranked if r[0] is not None]
        if not ranked:
            raise ValueError(f"no linear solver applies to a {len(shape)}-D grid with the divergence "
                             f"{divergence.name!r}.")
        return min(ranked, key=lambda r: (r[0], r[1]))[2]
    if not isinstance(name, str) or name not in LINEAR_SOLVERS:
        raise ValueError(f"unknown linear_solver {name!r}; choose 'auto' or one of "
                         f"{', '.join(repr(n) for n in LINEAR_SOLVERS.names())}.")
    cls = LINEAR_SOLVERS.get(name)
    why = _why(cls, shape, divergence, periodic)
    if why is not None:
        fits = ", ".join(repr(n) for n in available(shape, divergence, periodic))
        raise ValueError(f"linear_solver={cls.name!r} {why}; use 'auto' (the default) or one of {fits}.")
    return cls


def select_eigen(name, shape, periodic=False):
    """The solver class of the spectral gap's shift-invert solves (``"auto"``: by :meth:`eigen_rank`;
    on periodic grids only the solvers without :attr:`~LinearSolver.periodic_unavailable`)."""
    offered = [c for c in LINEAR_SOLVERS if c.eigen_rank(shape) is not None
               and not (_any(periodic) and c.periodic_unavailable)]
    if name == "auto":
        return min(offered, key=lambda c: c.eigen_rank(shape))
    for c in offered:
        if c.name == name:
            return c
    raise ValueError(f"solver must be 'auto' or one of {', '.join(repr(c.name) for c in offered)}, got {name!r}.")

