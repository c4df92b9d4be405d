"""``linear_solver="amg"``: a smoothed-aggregation algebraic multigrid V-cycle (pyamg) preconditioning CG.

Never chosen by ``"auto"`` for the time steps; the fallback of the spectral gap's shift-invert
solves when the geometric multigrid stalls (rho_d spanning ~30 decades on the box).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._reused import ReusedPreconditionerCG, matrices_bytes
from .base import F8, register

__all__ = ["AMG"]

#: Relative residual of the CG solves inside the spectral gap's shift-invert step.
EIGEN_CG_RTOL = 1e-10


def _pyamg():
    try:
        import pyamg
    except ImportError as exc:  # pragma: no cover - pyamg is a core dependency
        raise ImportError("linear_solver='amg' needs pyamg (pip install pyamg).") from exc
    return pyamg


@register
class AMG(ReusedPreconditionerCG):
    name = "amg"
    summary = "smoothed-aggregation algebraic multigrid (pyamg) as the preconditioner of CG, reused"
    rebuild_after = 25

    def __init__(self, coeffs, shape, divergence, rtol=1e-14):
        _pyamg()  # checked at construction so the error comes early
        super().__init__(coeffs, shape, divergence, rtol=rtol)

    @classmethod
    def memory_bytes(cls, shape):
        n = float(math.prod(int(s) for s in shape))
        return matrices_bytes(n, len(shape)) + n * F8 * 60

    @classmethod
    def eigen_rank(cls, shape):
        return 3

    @classmethod
    def pseudo_inverse(cls, K, m, coeffs, shape, keep):
        pyamg = _pyamg()
        Kg = K[keep][:, keep].tocsc()
        # symmetric diagonal scaling first: rho_d spans many decades, the scaled matrix does not
        d = 1.0 / np.sqrt(Kg.diagonal())
        A = (sp.diags(d) @ Kg @ sp.diags(d)).tocsr()
        prec = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric").aspreconditioner(cycle="V")

        def solve(b):
            y, info = spla.cg(A, d * b, rtol=EIGEN_CG_RTOL, atol=0.0, maxiter=500, M=prec)
            if info != 0:
                raise RuntimeError(f"spectral_gap: CG did not converge in the shift-invert solve (info={info}); "
                                   "try solver=\"direct\".")
            return d * y

        return solve, True

    def _build(self, H):
        pyamg = _pyamg()
        # pyamg estimates spectral radii from random vectors of numpy's global generator: seed it for
        # the build (and restore it), so the same matrix always gives the same hierarchy (bit-identical resume)
        saved = np.random.get_state()
        np.random.seed(20231121)
        try:
            ml = pyamg.smoothed_aggregation_solver(H, symmetry="symmetric", max_coarse=300, coarse_solver="splu")
        finally:
            np.random.set_state(saved)
        return ml.aspreconditioner(cycle="V")
