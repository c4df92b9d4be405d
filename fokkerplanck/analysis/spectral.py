r"""The spectral gap of the target: the eigenvalues of the :math:`\rho_d`-weighted Laplacian.

On the grid, :math:`\lambda_1` is the smallest nonzero eigenvalue of the generalised problem

.. math::  K x = \lambda M x, \qquad M = \mathrm{diag}(\rho_d)\,\Delta V,

with ``K`` the :math:`\rho_d`-weighted finite-volume Laplacian of :mod:`fokkerplanck.flow.operators`
(the discrete Poincare constant of :math:`\mu_d`). For :math:`\rho_d = N(m, \Sigma)`,
:math:`\lambda_1 = 1/\lambda_{max}(\Sigma)`. It sets the long-time rates of every flow
(:mod:`fokkerplanck.analysis.rates`).
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from .. import _threads
from ..flow import operators
from ..flow.grid import Grid
from ..flow.linear import select_eigen
from ..flow.linear.direct import EIGEN_DIRECT_MAX as DIRECT_LIMIT
from ..flow.problem import setup

__all__ = ["spectral_gap", "eigenvalues", "first_mode", "weighted_laplacian", "DIRECT_LIMIT"]


# --------------------------------------------------------------------------------------------
# The spectral gap
# --------------------------------------------------------------------------------------------

def weighted_laplacian(target, grid: Grid):
    r"""The matrices ``(K, m)`` of the generalised eigenproblem :math:`Kx = \lambda\,\mathrm{diag}(m)\,x`.

    ``K`` is the sparse :math:`\rho_d`-weighted finite-volume Laplacian (symmetric positive
    semidefinite, ``K 1 = 0``) and ``m = rho_d * cell_volume`` the cell masses, with ``rho_d``
    restricted to the box and normalised there, exactly as :func:`fokkerplanck.solve` uses them.
    """
    K, m, _ = _weighted_laplacian_parts(target, grid)
    return K, m


def _weighted_laplacian_parts(target, grid: Grid):
    problem = setup(target, target, grid, "kl")
    K = operators.laplacian_matrix(problem.coeffs, grid.shape)
    return K, problem.cell_mass.ravel(), problem.coeffs


class _PseudoInverse:
    """``b -> x`` with ``K x = P b``, ``x`` M-orthogonal to the constants (``P`` projects out ``m``).

    K is singular (its kernel is the constants). Grounding one cell (deleting its row and column)
    leaves a symmetric positive definite matrix; any solution plus a constant solves ``K x = b``
    when ``sum(b) = 0``, and the constant is fixed by M-orthogonality. As an operator on the
    M-orthogonal complement of the constants this is ``(M^{-1} K)^{-1}``, with eigenvalues
    ``1 / lambda_k``; the constants are mapped to 0.
    """

    def __init__(self, K, m, solver="auto", coeffs=None, shape=None):
        n = K.shape[0]
        self.m = m
        self.total = float(m.sum())
        self.ground = int(np.argmax(m))
        self.n = n
        keep = np.ones(n, dtype=bool)
        keep[self.ground] = False
        periodic = operators.periodic_axes(coeffs, shape) if coeffs is not None else False
        entry = select_eigen(solver, shape, periodic)
        self._solve, grounded = entry.pseudo_inverse(K, m, coeffs, shape, keep)
        self.keep = keep if grounded else np.ones(n, dtype=bool)

    def __call__(self, b):
        b = np.asarray(b, dtype=float).ravel()
        b = b - self.m * (b.sum() / self.total)           # into the range of K: sum(b) = 0
        x = np.zeros(self.n)
        x[self.keep] = self._solve(b[self.keep])
        return x - (self.m @ x) / self.total              # M-orthogonal to the constants


def eigenvalues(target, grid: Grid, k: int = 1, *, solver: str = "auto") -> np.ndarray:
    r"""The ``k`` smallest nonzero eigenvalues :math:`0 < \lambda_1 \le \dots \le \lambda_k` of
    :math:`-\Delta_{\mu_d}` on the grid.

    Solves :math:`K x = \lambda M x` (see :func:`weighted_laplacian`) with
    :func:`scipy.sparse.linalg.eigsh` in shift-invert mode at :math:`\sigma = 0`, applied to the
    pseudo-inverse of ``K`` on the M-orthogonal complement of the constants, by the linear solver
    that :func:`fokkerplanck.flow.linear.select_eigen` picks from the solvers' own rules (sparse LU
    with one cell grounded in 1-D and on 2-D grids of at most :data:`DIRECT_LIMIT` cells; above it
    and in 3-D, CG on the singular consistent system preconditioned by the geometric multigrid,
    relative residual 1e-10; should it stall, as when rho_d spans ~30 decades on the box,
    ``"auto"`` falls back to pyamg-preconditioned CG). BLAS runs on one thread inside
    (:mod:`fokkerplanck._threads`). Deflating the kernel
    exactly, rather than shifting to :math:`\sigma < 0`, keeps tiny gaps (well-separated mixtures,
    :math:`\lambda_1 \sim 10^{-6}`) accurate to full relative precision.

    Parameters
    ----------
    target : Gaussian, GaussianMixture or callable
        The data density rho_d (> 0 on every cell).
    grid : Grid
    k : int
        How many eigenvalues (``1 <= k < grid.size - 1``).
    solver : {"auto", "direct", "amg", "multigrid"}
        Linear solver of the shift-invert step (the linear solvers that offer a pseudo-inverse).

    Returns
    -------
    ndarray, shape (k,)
        Increasing eigenvalues (units 1 / time).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a fokkerplanck.Grid, got {type(grid).__name__}.")
    if k >= grid.size - 1:
        raise ValueError(f"k = {k} eigenvalues requested but the grid has only {grid.size} cells; "
                         f"use k < {grid.size - 1} (or a dense solver for tiny grids).")
    K, m, coeffs = _weighted_laplacian_parts(target, grid)
    n = K.shape[0]
    if n <= 50:  # tiny grids: ARPACK needs ncv < n; a dense solve is exact and instant
        vals = scipy.linalg.eigh(K.toarray(), np.diag(m), eigvals_only=True, subset_by_index=[1, k])
        return np.asarray(vals, dtype=float)
    with _threads.blas_limits():
        try:
            vals = _shift_invert(K, m, k, solver, grid, coeffs)
        except RuntimeError:
            # multigrid CG can stall when rho_d spans ~30 decades on the box (tail cells almost
            # decoupled); "auto" then falls back to the previous pyamg path
            if solver != "auto":
                raise
            warnings.warn("eigenvalues: the multigrid-preconditioned CG stalled (rho_d spans many decades on "
                          "the box); the shift-invert solves use pyamg's smoothed aggregation instead "
                          "(the same eigenvalues, slower). Pass solver='amg' to choose it directly.",
                          RuntimeWarning, stacklevel=2)
            vals = _shift_invert(K, m, k, "amg", grid, coeffs)
    return np.sort(np.asarray(vals, dtype=float))


def _shift_invert(K, m, k, solver, grid, coeffs):
    n = K.shape[0]
    pinv = _PseudoInverse(K, m, solver, coeffs=coeffs, shape=grid.shape)
    opinv = spla.LinearOperator((n, n), matvec=pinv, dtype=float)
    rng = np.random.default_rng(0)  # deterministic ARPACK start vector
    v0 = pinv(m * rng.standard_normal(n))
    return spla.eigsh(K, k=k, M=sp.diags(m), sigma=0.0, which="LM", OPinv=opinv, v0=v0, tol=0.0,
                      return_eigenvectors=False)


def spectral_gap(target, grid: Grid, *, solver: str = "auto") -> float:
    r"""The spectral gap :math:`\lambda_1` of :math:`\rho_d` on ``grid``.

    The smallest nonzero eigenvalue of :math:`K x = \lambda M x`, ``K`` the
    :math:`\rho_d`-weighted finite-volume Laplacian, ``M = diag(rho_d) * cell_volume``: the
    discrete Poincare constant of :math:`\mu_d`, which sets the long-time rates (module docstring).

    .. math::  \lambda_1 = \min_{x \perp_M 1} \frac{x^\top K x}{x^\top M x}
               \approx \inf \frac{\int|\nabla f|^2 d\mu_d}{\mathrm{Var}_{\mu_d}(f)}

    For :math:`\rho_d = N(m, \Sigma)`, :math:`\lambda_1 = 1/\lambda_{max}(\Sigma)` up to the
    discretisation error (second order) and the truncation to the box.

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> grid = fp.Grid([-8.0], [8.0], [800])
    >>> round(fp.theory.spectral_gap(fp.Gaussian([0.0], [[4.0]]), grid), 3)
    0.25
    """
    return float(eigenvalues(target, grid, 1, solver=solver)[0])


def first_mode(target, grid: Grid):
    r"""``(lambda_1, phi_1)``: the spectral gap and its eigenvector on the cells, M-orthonormal
    (:math:`\sum_i m_i \phi_i^2 = 1`), the slowest mode of every flow toward ``target``."""
    K, m, coeffs = _weighted_laplacian_parts(target, grid)
    n = K.shape[0]
    with _threads.blas_limits():
        if n <= 50:
            vals, vecs = scipy.linalg.eigh(K.toarray(), np.diag(m), subset_by_index=[1, 1])
        else:
            pinv = _PseudoInverse(K, m, "auto", coeffs=coeffs, shape=grid.shape)
            opinv = spla.LinearOperator((n, n), matvec=pinv, dtype=float)
            v0 = pinv(m * np.random.default_rng(0).standard_normal(n))
            vals, vecs = spla.eigsh(K, k=1, M=sp.diags(m), sigma=0.0, which="LM", OPinv=opinv, v0=v0, tol=0.0)
    phi = vecs[:, 0]
    phi = phi / np.sqrt(float(m @ (phi * phi)))
    return float(vals[0]), phi
