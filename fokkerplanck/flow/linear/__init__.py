"""The linear solvers of the Newton iterations, one file each, found by name in :data:`LINEAR_SOLVERS`.

``linear_solver="auto"`` asks every member where it applies and how much it wants the job
(:meth:`LinearSolver.auto_rank`): ``banded`` in 1-D, ``multigrid`` in 2-D and 3-D, ``direct`` on
3-D grids of at most :data:`~fokkerplanck.flow.linear.direct.AUTO_DIRECT_MAX_3D` cells and for
divergences that iterate on ``v``. ``amg`` is chosen by name only. See
:mod:`fokkerplanck.flow.linear.base` for what a member declares; adding one is one file.
"""

from __future__ import annotations

from ..._registry import import_members
from . import amg, banded, direct, multigrid  # noqa: F401  (each registers its solver)
from .amg import AMG
from .banded import Banded
from .base import LINEAR_SOLVERS, LinearSolver, available, register, select, select_eigen
from .direct import AUTO_DIRECT_MAX_3D, Direct
from .multigrid import Multigrid, MultigridCG

import_members(__name__, __path__)  # a member file dropped into this folder registers itself

__all__ = ["LINEAR_SOLVERS", "LinearSolver", "register", "select", "select_eigen", "available", "Banded", "Direct",
           "AMG", "MultigridCG", "Multigrid", "AUTO_DIRECT_MAX_3D"]
