"""CG with a preconditioner built from an assembled Hessian and reused (``direct`` and ``amg``)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ... import _threads
from .. import operators
from .base import LinearSolver

__all__ = ["ReusedPreconditionerCG"]


class ReusedPreconditionerCG(LinearSolver):
    """Conjugate gradients with a preconditioner built from a recent Hessian and reused.

    Consecutive Hessians ``diag(m (Phi^{-1})'(w)) + hK`` differ only in their diagonal, so a
    preconditioner built from one of them stays effective over several Newton iterations and time
    steps. It is rebuilt when CG needs more than ``rebuild_after`` iterations (or fails).
    Subclasses say how to build it (:meth:`_build`).
    """

    rebuild_after = 8

    def __init__(self, coeffs, shape, divergence, rtol=1e-14):
        super().__init__(coeffs, shape, divergence)
        self.K = operators.laplacian_matrix(coeffs, shape)
        self.rtol = rtol
        self._precond = None
        self._H = None  # the matrix the preconditioner was built from (what a checkpoint keeps)
        self.n_builds = 0
        self._hK = (None, None)

    def solve_hessian(self, h, diag, rhs, rtol=None):
        """Solve ``(diag(diag) + h K) x = rhs``; returns ``(x, iterations)``."""
        if self._hK[0] != h:
            self._hK = (h, (h * self.K).tocsr())
        H = self._hK[1] + sp.diags(diag)
        with _threads.blas_limits():
            return self.solve(H, rhs, rtol)

    def solve_symmetric(self, h, sqrt_dw, mdv, rhs):
        """Solve ``(D hK D + diag(mdv)) y = rhs``, ``D = diag(sqrt_dw)``, to round-off (Newton in v)."""
        Dh = sp.diags(sqrt_dw)
        H = (Dh @ (h * self.K) @ Dh + sp.diags(mdv)).tocsr()
        with _threads.blas_limits():
            return self.solve(H, rhs, rtol=1e-13)

    def _build(self, H):  # pragma: no cover - abstract
        raise NotImplementedError

    def _rebuild(self, H):
        self._precond = self._build(H)
        self._H = H
        self.n_builds += 1

    def get_state(self) -> dict:
        """The reused preconditioner's state: the CSR arrays of the matrix it was built from."""
        if self._H is None:
            return {}
        H = self._H.tocsr()
        return dict(H_data=H.data, H_indices=H.indices, H_indptr=H.indptr, H_shape=np.asarray(H.shape, dtype=np.int64))

    def set_state(self, state: dict) -> None:
        """Rebuild the preconditioner from :meth:`get_state` (deterministic: bit-identical); ``{}`` drops it."""
        if not state:
            self._precond, self._H = None, None
            return
        try:
            shape = tuple(int(s) for s in np.asarray(state["H_shape"]).ravel())
            data, indices, indptr = (np.asarray(state[k]) for k in ("H_data", "H_indices", "H_indptr"))
            ok = (len(shape) == 2 and shape[0] == shape[1] and indptr.shape == (shape[0] + 1,)
                  and data.shape == indices.shape == (int(indptr[-1]),) and indptr[0] == 0
                  and np.all(np.diff(indptr) >= 0) and (indices.size == 0 or (indices.min() >= 0
                                                                                and indices.max() < shape[1]))
                  and data.dtype.kind == "f" and np.all(np.isfinite(data)))
        except (KeyError, TypeError, ValueError, IndexError):
            ok = False
        if not ok:
            raise ValueError("the saved linear-solver state is malformed")
        self._rebuild(sp.csr_matrix((data, indices, indptr), shape=shape))

    def solve(self, H, rhs, rtol=None):
        rtol = self.rtol if rtol is None else max(rtol, self.rtol)
        if self._precond is None:
            self._rebuild(H)
        total = 0
        for attempt in range(2):
            count = [0]

            def cb(xk):
                count[0] += 1

            x, info = spla.cg(H, rhs, rtol=rtol, atol=0.0, maxiter=200, M=self._precond, callback=cb)
            total += count[0]
            if info == 0:
                if count[0] > self.rebuild_after:  # converged but slowly: refresh for next time
                    self._rebuild(H)
                return x, max(total, 1)
            self._rebuild(H)
        raise np.linalg.LinAlgError(f"{self.name}-preconditioned CG did not converge")


def matrices_bytes(n: float, ndim: int) -> float:
    """K, h K, the Hessian and a CSC copy: about ``2 ndim + 1`` stored entries per row each (value + index)."""
    return n * (2 * ndim + 1) * 12.0 * 4
