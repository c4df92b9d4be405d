r"""Matrix-free geometric multigrid for the Hessians ``diag(d) + hK`` on the structured grid.

Every linear system of the package has the form :math:`(D + hK)x = b` with ``D >= 0`` diagonal and
``K`` the :math:`\rho_d`-weighted finite-volume Laplacian of :mod:`fokkerplanck.flow.operators`, given
by its face coefficients ``k_ij`` (one array per axis). Such a matrix is a symmetric M-matrix
whose coefficients follow rho_d over many orders of magnitude. This module solves it with
conjugate gradients preconditioned by one multigrid V-cycle, without assembling any matrix:

* **Coarsening** by 2 along every axis that has more than one cell (odd sizes: the last coarse
  cell takes one fine cell), until at most :data:`COARSE_MAX` cells are left.
* **Coarse operators** by Galerkin projection with piecewise-constant prolongation ``P`` (cell
  aggregation), which keeps the structure: the coarse diagonal is the sum of the fine ``D`` over a
  coarse cell, a coarse face coefficient the sum of the fine face coefficients across that coarse
  face, so every level is again ``diag(d) + K`` on a grid and stays an M-matrix whatever rho_d
  does. The summed face coefficients are multiplied by :data:`COARSE_SCALE` = 1/2: ``P^T K P`` is
  twice the Laplacian rediscretised on the coarse grid (in 1, 2 and 3 dimensions), the known
  defect of piecewise-constant prolongation for second-order operators, and the factor 1/2 removes
  it (measured: it halves the CG iterations against plain Galerkin). The hierarchy of ``K`` is
  built once per operator; only ``D`` changes between Newton iterations and is re-aggregated at
  each solve (about one pass over the fine grid).
* **Smoothing**: red-black Gauss-Seidel, red then black before the coarse correction and black
  then red after it, so that the V-cycle is a symmetric positive definite operator (a valid CG
  preconditioner). Gauss-Seidel is invariant under diagonal scaling, so cells where rho_d is
  1e-30 need no special care.
* **Coarsest level**: dense Cholesky factorisation (when ``D = 0``, the singular Laplacian of the
  spectral gap: one cell grounded and the constants projected out, a pseudo-inverse).

* **Periodic axes** (issue 21; :attr:`Grid.periodic <fokkerplanck.Grid>`): the face array of a
  periodic axis carries the seam face (``n`` entries, :mod:`fokkerplanck.flow.operators`). The
  matvec, residual and smoothing add the seam terms (for Gauss-Seidel before each half-sweep, from
  the values before it: with an odd number of cells the two cells of a seam have one colour and the
  half-sweep is Jacobi on that pair, so the V-cycle stays symmetric); the aggregation is the same as
  with walls, the coarse seam face is the sum of the fine faces across it (the fine seam included),
  and an axis coarsened to one cell keeps no face (its seam would join the cell to itself). Any
  number of cells per axis works. With ``D = 0`` the kernel is again the constants: the coarsest
  level is grounded as with walls.

The compiled kernels (``fokkerplanck/flow/linear/_mg_kernels.py``) work on 3-D arrays; 1-D and 2-D
grids are viewed as ``(1, 1, n)`` and ``(1, n0, n1)`` so the innermost loop is the longest axis.
They are small, pure numba functions (no BLAS, one thread).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from ... import _threads
from ._mg_fused import _pre_smooth_restrict, _prolong_post_smooth
from ._mg_kernels import (_cg_update, _coarsen_faces, _dense, _direction_update, _dot, _full_diagonal,
                          _gauss_seidel, _gauss_seidel_from_zero, _matvec_dot, _prolong_add, _residual, _restrict,
                          _sum_abs)
from .base import F8, LinearSolver, register

__all__ = ["Multigrid", "MultigridCG", "COARSE_MAX", "COARSE_SCALE"]

#: Coarsening stops when a level has at most this many cells; that level is solved densely.
COARSE_MAX = 200

#: Factor applied to the aggregated face coefficients of each coarse level (see module docstring).
COARSE_SCALE = 0.5


# --------------------------------------------------------------------------------------------
# the hierarchy
# --------------------------------------------------------------------------------------------

def as_3d_shape(shape) -> tuple[int, int, int]:
    """The 3-D view of a 1-, 2- or 3-D grid shape (leading axes of length 1)."""
    shape = tuple(int(s) for s in shape)
    return (1,) * (3 - len(shape)) + shape


def faces_3d(coeffs, shape):
    """Face-coefficient arrays of :func:`fokkerplanck.flow.operators.face_coefficients` in the 3-D view.

    A periodic axis keeps its seam (``n`` faces instead of ``n - 1``), except when it has one cell:
    its seam would join the cell to itself and carries no flux, so it gets no face.
    """
    s3 = as_3d_shape(shape)
    lead = 3 - len(shape)
    out = []
    for ax in range(3):
        fshape = list(s3)
        fshape[ax] -= 1
        if ax < lead:
            out.append(np.zeros(fshape))
            continue
        k = np.asarray(coeffs[ax - lead], dtype=float)
        if k.shape[ax - lead] == s3[ax] > 1:  # periodic: the seam face too
            fshape[ax] += 1
        else:
            k = k[tuple(slice(0, s3[ax] - 1) if a == ax - lead else slice(None) for a in range(k.ndim))]
        out.append(np.ascontiguousarray(k.reshape(fshape)))
    return out


def coarse_shapes(shape, coarse_max=COARSE_MAX):
    """The 3-D shapes of the levels of :class:`Multigrid` for a grid of ``shape`` (finest first)."""
    shapes = [as_3d_shape(shape)]
    while math.prod(shapes[-1]) > coarse_max and max(shapes[-1]) > 1:
        shapes.append(tuple((n + 1) // 2 for n in shapes[-1]))
    return shapes


def _coarse_faces(fine_faces, fine_shape, cshape):
    """Zero face arrays of the coarse level (a periodic axis stays periodic unless it has one cell)."""
    out = []
    for ax in range(3):
        periodic = fine_faces[ax].shape[ax] == fine_shape[ax]
        fshape = list(cshape)
        fshape[ax] -= 0 if periodic and cshape[ax] > 1 else 1
        out.append(np.zeros(fshape))
    return out


class _Level:
    __slots__ = ("shape", "k0", "k1", "k2", "d", "a", "x", "b", "r", "walls")

    def __init__(self, shape, faces):
        self.shape = shape
        self.k0, self.k1, self.k2 = faces
        self.walls = all(f.shape[ax] < shape[ax] for ax, f in enumerate(faces))  # no seam face
        self.d = np.zeros(shape)
        self.a = np.zeros(shape)
        self.x = np.zeros(shape)
        self.b = np.zeros(shape)
        self.r = np.zeros(shape)


class Multigrid:
    r"""CG preconditioned by a geometric multigrid V-cycle for ``(diag(d) + s K) x = b``.

    Parameters
    ----------
    coeffs : list of ndarray
        Face coefficients of ``K`` (:func:`fokkerplanck.flow.operators.face_coefficients`).
    shape : tuple of int
        The grid shape (1, 2 or 3 axes).
    singular : bool
        ``d = 0`` (the pure Laplacian, singular with the constants as kernel): the coarsest level
        is solved by a pseudo-inverse and the right-hand sides must sum to zero.

    The face hierarchy is built here, once. :meth:`set_diagonal` installs ``d`` and the scale
    ``s`` of ``K`` (re-aggregating ``d`` and refactorising the small coarsest level), :meth:`solve`
    runs CG to a relative residual ``rtol`` (2-norm, as :func:`scipy.sparse.linalg.cg`).
    """

    def __init__(self, coeffs, shape, *, singular=False, coarse_max=COARSE_MAX, coarse_scale=COARSE_SCALE):
        self.grid_shape = tuple(int(s) for s in shape)
        shape3 = as_3d_shape(self.grid_shape)
        self.singular = bool(singular)
        self._faces0 = faces_3d(coeffs, self.grid_shape)
        shapes = coarse_shapes(self.grid_shape, coarse_max)
        self.levels = [_Level(shapes[0], [f.copy() for f in self._faces0])]
        for cshape in shapes[1:]:
            fine = self.levels[-1]
            cf = _coarse_faces((fine.k0, fine.k1, fine.k2), fine.shape, cshape)
            _coarsen_faces(fine.k0, fine.k1, fine.k2, cf[0], cf[1], cf[2], coarse_scale)
            self.levels.append(_Level(cshape, cf))
        shape3 = shapes[-1]
        self._scale = 1.0
        self._coarse = None
        nc = int(np.prod(shape3))
        self._dense = np.zeros((nc, nc))
        self._q = np.zeros(self.levels[0].shape)
        self._p = np.zeros(self.levels[0].shape)

    @property
    def n_levels(self) -> int:
        return len(self.levels)

    def set_diagonal(self, d, scale=1.0):
        """Operator ``diag(d) + scale * K``; stored internally as ``diag(d)/scale + K``."""
        scale = float(scale)
        self._scale = scale
        top = self.levels[0]
        np.divide(np.asarray(d, dtype=float).reshape(top.shape), scale, out=top.d)
        for fine, coarse in zip(self.levels[:-1], self.levels[1:]):
            _restrict(fine.d, coarse.d)
        for lev in self.levels:
            _full_diagonal(lev.d, lev.k0, lev.k1, lev.k2, lev.a)
        last = self.levels[-1]
        _dense(last.a, last.k0, last.k1, last.k2, self._dense)
        if self.singular:
            # pseudo-inverse on the sums-zero subspace: ground the cell with the largest diagonal,
            # Cholesky on the rest, project out the constants on both sides (Q G Q: symmetric).
            # (An eigenvalue cut-off, as in pinvh, would discard the tail cells, whose genuine
            # eigenvalues lie many decades below the largest.)
            g = int(np.argmax(np.diag(self._dense)))
            keep = np.arange(self._dense.shape[0]) != g
            fac = scipy.linalg.cho_factor(self._dense[np.ix_(keep, keep)], lower=True, check_finite=False)
            self._coarse = ("ground", (fac, keep))
        else:
            self._coarse = ("chol", scipy.linalg.cho_factor(self._dense, lower=True, check_finite=False))

    # -- V-cycle ------------------------------------------------------------------------------
    def _coarse_solve(self, b, x):
        kind, fac = self._coarse
        if kind == "chol":
            x.ravel()[:] = scipy.linalg.cho_solve(fac, b.ravel(), check_finite=False)
        else:
            chol, keep = fac
            bb = b.ravel() - b.mean()
            y = np.zeros(bb.size)
            y[keep] = scipy.linalg.cho_solve(chol, bb[keep], check_finite=False)
            x.ravel()[:] = y - y.mean()

    def _vcycle(self, level):
        """One V-cycle from zero on ``level`` (``x = B b``); returns ``b . x``."""
        lev = self.levels[level]
        if level == len(self.levels) - 1:
            self._coarse_solve(lev.b, lev.x)
            return _dot(lev.b, lev.x)
        a, k0, k1, k2, x, b = lev.a, lev.k0, lev.k1, lev.k2, lev.x, lev.b
        coarse = self.levels[level + 1]
        if lev.walls:  # the same passes, fused (bit for bit; fokkerplanck/flow/linear/_mg_fused.py)
            _pre_smooth_restrict(a, k0, k1, k2, x, b, coarse.b)
            self._vcycle(level + 1)
            return _prolong_post_smooth(a, k0, k1, k2, x, b, coarse.x)
        _gauss_seidel_from_zero(a, k0, k1, k2, x, b, 0)
        _gauss_seidel(a, k0, k1, k2, x, b, 1)
        _residual(a, k0, k1, k2, x, b, lev.r)
        _restrict(lev.r, coarse.b)
        self._vcycle(level + 1)
        _prolong_add(coarse.x, x)
        _gauss_seidel(a, k0, k1, k2, x, b, 1)
        _gauss_seidel(a, k0, k1, k2, x, b, 0)
        return _dot(b, x)

    def precondition(self, r, out):
        """``out = B r`` with ``B`` one V-cycle from zero (symmetric positive definite); returns ``r . out``.

        When ``r`` and ``out`` are C-contiguous float arrays of the finest level's (3-D) shape, the
        V-cycle reads ``r`` and writes ``out`` in place of the level's own ``b`` and ``x`` (it
        never writes ``b``): two copies of the grid fewer per CG iteration."""
        top = self.levels[0]
        if all(isinstance(a, np.ndarray) and a.shape == top.shape and a.dtype == np.float64
               and a.flags.c_contiguous for a in (r, out)) and out is not r:
            own = top.b, top.x
            top.b, top.x = r, out
            try:
                return self._vcycle(0)
            finally:
                top.b, top.x = own
        top.b[...] = r
        rz = self._vcycle(0)
        out[...] = top.x
        return rz

    def matvec(self, x, out):
        top = self.levels[0]
        return _matvec_dot(top.a, top.k0, top.k1, top.k2, x, out)

    # -- CG -----------------------------------------------------------------------------------
    def solve(self, b, rtol=1e-10, maxiter=200, norm=2):
        """CG for ``(diag(d)/scale + K) x = b / scale`` preconditioned by one V-cycle.

        Returns ``(x, iterations, converged)`` with ``x`` in the grid's shape. The stopping test is
        ``||r|| <= rtol ||b||`` on the system as given, in the 2-norm (``norm=2``, as
        :func:`scipy.sparse.linalg.cg`) or the 1-norm (``norm=1``: the norm of the Newton residual,
        see :attr:`MultigridCG.residual_norm`); in the singular case in the 2-norm on the
        Jacobi-scaled system (see below).
        """
        if norm not in (1, 2):
            raise ValueError(f"norm must be 1 or 2, got {norm!r}.")
        top = self.levels[0]
        rhs = np.asarray(b, dtype=float).reshape(top.shape) / self._scale
        if self.singular:
            return self._solve_singular(rhs, rtol, maxiter)
        x = np.zeros(top.shape)
        r = rhs  # a new array (the division above): CG's residual, updated in place
        bnorm = float(np.sqrt(_dot(r, r))) if norm == 2 else _sum_abs(r)
        if bnorm == 0.0:
            return x.reshape(self.grid_shape), 0, True
        z = np.empty(top.shape)
        p, q = self._p, self._q
        rz = self.precondition(r, z)
        p[...] = z
        target = rtol * bnorm
        for it in range(1, maxiter + 1):
            pq = self.matvec(p, q)
            if not pq > 0.0:
                return x.reshape(self.grid_shape), it, False
            alpha = rz / pq
            rr, r1 = _cg_update(x, r, p, q, alpha)
            if (np.sqrt(rr) if norm == 2 else r1) <= target:
                return x.reshape(self.grid_shape), it, True
            rz_new = self.precondition(r, z)
            _direction_update(p, z, rz_new / rz)
            rz = rz_new
        return x.reshape(self.grid_shape), maxiter, False

    def _solve_singular(self, rhs, rtol, maxiter):
        """``K x = b`` with ``sum(b) = 0`` (``D = 0``), ``x`` up to a constant.

        CG runs on the Jacobi-scaled system ``S K S y = S b``, ``S = diag(a)^{-1/2}``, ``x = S y``,
        whose kernel is ``n = S^{-1} 1``: when rho_d spans 30 decades, the unscaled residual of
        the tail cells is round-off of the large ones and CG breaks down there; the scaled one
        is not (the same scaling as the pyamg path of :mod:`fokkerplanck.flow.linear.amg`). The
        preconditioner ``S^{-1} B S^{-1}`` is projected off ``n`` on both sides (symmetric).
        """
        top = self.levels[0]
        s = 1.0 / np.sqrt(top.a)
        nvec = 1.0 / s
        nn = _dot(nvec, nvec)

        def project(v):
            v -= nvec * (_dot(nvec, v) / nn)

        r = s * rhs
        project(r)
        y = np.zeros(top.shape)
        bnorm = float(np.sqrt(_dot(r, r)))
        if bnorm == 0.0:
            return y.reshape(self.grid_shape), 0, True
        tmp, q, z, p = (np.empty(top.shape) for _ in range(4))

        def prec(r, out):
            self.precondition(r * nvec, out)
            out *= nvec
            project(out)

        prec(r, z)
        p[...] = z
        rz = _dot(r, z)
        for it in range(1, maxiter + 1):
            self.matvec(s * p, tmp)
            np.multiply(s, tmp, out=q)
            pq = _dot(p, q)
            if not pq > 0.0:
                return (s * y).reshape(self.grid_shape), it, False
            rr, _ = _cg_update(y, r, p, q, rz / pq)
            if np.sqrt(rr) <= rtol * bnorm:
                return (s * y).reshape(self.grid_shape), it, True
            prec(r, z)
            rz_new = _dot(r, z)
            _direction_update(p, z, rz_new / rz)
            rz = rz_new
        return (s * y).reshape(self.grid_shape), maxiter, False


# --------------------------------------------------------------------------------------------
# the registry entry: linear_solver="multigrid"
# --------------------------------------------------------------------------------------------

#: Relative residual of the CG solves inside the spectral gap's shift-invert step.
EIGEN_CG_RTOL = 1e-10


@register
class MultigridCG(LinearSolver):
    """CG preconditioned by one V-cycle of the matrix-free :class:`Multigrid` (2-D and 3-D default,
    walls or periodic axes).

    The face hierarchy of K is built once; each solve re-aggregates the diagonal only. Nothing is
    reused across steps that changes results (the hierarchy depends on K only and each solve sets
    its own diagonal), so a resumed run needs no state.
    """

    name = "multigrid"
    summary = "CG preconditioned by a matrix-free geometric multigrid V-cycle (numba); the Hessian is never assembled"
    # CG stops on the 1-norm of its residual, h times which is the linearised Newton residual
    residual_norm = 1
    # periodic axes: the kernels wrap through the seam face, any number of cells (periodic_unavailable stays None)

    @classmethod
    def unavailable(cls, shape, divergence, periodic=False):
        if divergence.variable != "w":
            return (f"does not handle the Newton systems of the divergence {divergence.name!r}, which iterates on v "
                    "(degenerate diffusion)")
        return None

    @classmethod
    def auto_rank(cls, shape, divergence):
        return 1 if len(shape) >= 2 else None

    @classmethod
    def memory_bytes(cls, shape):
        # per level: d, a, x, b, r and the ndim face arrays; the levels sum to 1/(1 - 2^-ndim) of the finest;
        # CG's vectors x, r, z, p, q on the finest grid. Periodic axes: the same levels (ndim face arrays
        # counted at one face per cell, the seam included); the smoothing's copies of the seam planes of b
        # are O(n^((ndim-1)/ndim)) and left out
        n, ndim = float(math.prod(int(s) for s in shape)), len(shape)
        per_cell = (5 + ndim) / (1.0 - 2.0 ** (-ndim)) + 5
        return n * per_cell * F8 + COARSE_MAX ** 2 * F8

    @classmethod
    def eigen_rank(cls, shape):
        return 1 if len(shape) >= 2 else None

    @classmethod
    def pseudo_inverse(cls, K, m, coeffs, shape, keep):
        # no grounding: CG on the singular, consistent system K x = b (sum b = 0) with a multigrid
        # preconditioner whose coarsest level is a pseudo-inverse (constants exact)
        mg = Multigrid(coeffs, shape, singular=True)
        mg.set_diagonal(np.zeros(int(math.prod(shape))), 1.0)

        def solve(b):
            x, it, ok = mg.solve(b, rtol=EIGEN_CG_RTOL, maxiter=500)
            if not ok:
                raise RuntimeError("spectral_gap: multigrid-preconditioned CG did not converge in the "
                                   "shift-invert solve; try solver=\"direct\".")
            return x.ravel()

        return solve, False

    def __init__(self, coeffs, shape, divergence, rtol=1e-14, maxiter=200):
        super().__init__(coeffs, shape, divergence)
        self.rtol = rtol
        self.maxiter = maxiter
        self.mg = Multigrid(coeffs, shape)

    def solve_hessian(self, h, diag, rhs, rtol=None):
        """Solve ``(diag(diag) + h K) x = rhs``; returns ``(x, iterations)``."""
        rtol = self.rtol if rtol is None else max(rtol, self.rtol)
        self.mg.set_diagonal(diag, h)
        with _threads.blas_limits():  # the coarsest level's Cholesky solve is BLAS
            x, it, ok = self.mg.solve(rhs, rtol=rtol, maxiter=self.maxiter, norm=self.residual_norm)
        if not ok:
            raise np.linalg.LinAlgError("multigrid-preconditioned CG did not converge")
        return x.ravel(), max(it, 1)
