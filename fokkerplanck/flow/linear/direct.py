"""``linear_solver="direct"``: a SuperLU factorisation of the Hessian, reused as CG's preconditioner.

Exact on the matrix it was built from, refactorised when it loses effect. The default for 3-D
grids of at most :data:`AUTO_DIRECT_MAX_3D` cells and for divergences that iterate on ``v``
(chi^2), whose Newton systems the matrix-free multigrid does not handle; also the shift-invert
solver of the spectral gap in 1-D and on 2-D grids of at most :data:`EIGEN_DIRECT_MAX` cells.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse.linalg as spla

from ._reused import ReusedPreconditionerCG, matrices_bytes
from .base import F8, register

__all__ = ["Direct", "AUTO_DIRECT_MAX_3D", "EIGEN_DIRECT_MAX"]

#: ``linear_solver="auto"`` takes SuperLU-CG on 3-D grids of at most this many cells. Chosen by
#: measurement: benchmarks/bench_scale.py (multigrid 2.5x faster than SuperLU-CG at 2-D 128^2 and
#: 3x faster than pyamg-CG at 3-D 16^3; the tiny 3-D grids of benchmarks/bench_fipy.py).
AUTO_DIRECT_MAX_3D = 4_000

#: The spectral gap's shift-invert solves use SuperLU for 1-D grids and 2-D grids up to this many
#: cells (above it and in 3-D the LU fill-in grows too fast: 40^3 cells took ~15 s).
EIGEN_DIRECT_MAX = 250_000


def _cells(shape) -> float:
    return float(math.prod(int(s) for s in shape))


@register
class Direct(ReusedPreconditionerCG):
    name = "direct"
    summary = "SuperLU factorisation of a recent Hessian as the preconditioner of CG, reused"

    @classmethod
    def auto_rank(cls, shape, divergence):
        if len(shape) == 3 and _cells(shape) <= AUTO_DIRECT_MAX_3D:
            return 0
        return 2  # after banded (1-D) and multigrid (2-D/3-D), where they apply

    @classmethod
    def memory_bytes(cls, shape):
        n, ndim = _cells(shape), len(shape)
        fill = n * max(math.log2(max(n, 2.0)), 1.0) * F8 * 8 if ndim <= 2 else n ** (4 / 3) * F8 * 6
        return matrices_bytes(n, ndim) + fill

    @classmethod
    def eigen_rank(cls, shape):
        return 0 if (len(shape) == 1 or (len(shape) == 2 and _cells(shape) <= EIGEN_DIRECT_MAX)) else 2

    @classmethod
    def pseudo_inverse(cls, K, m, coeffs, shape, keep):
        lu = spla.splu(K[keep][:, keep].tocsc(), permc_spec="MMD_AT_PLUS_A")
        return lu.solve, True

    def _build(self, H):
        lu = spla.splu(H.tocsc(), permc_spec="MMD_AT_PLUS_A")
        return spla.LinearOperator(H.shape, matvec=lu.solve, dtype=float)
