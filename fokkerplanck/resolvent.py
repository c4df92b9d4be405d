r"""The Crandall-Liggett resolvent :math:`(I + hA)^{-1}`: Newton's method and the linear solvers.

One backward-Euler step of :math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))` (eq. 39-41 of the
paper for Jensen-Shannon) is, in the variable :math:`w = \Phi(v_{new})`,

.. math::

    M\big(\Phi^{-1}(w) - v_{old}\big) + h K w = 0,

with ``M = diag(rho_d) * cell_volume`` and ``K`` the weighted finite-volume Laplacian of
:mod:`fokkerplanck.operators`. This is the Euler-Lagrange equation of the strictly convex energy

.. math::

    E(w) = \sum_i m_i\big(F(w_i) - v_{old,i}\,w_i\big) + \frac{h}{2} w^\top K w,
    \qquad F' = \Phi^{-1},

whose Hessian :math:`\mathrm{diag}(m\,(\Phi^{-1})'(w)) + hK` is a symmetric positive definite
M-matrix. We minimise E by Newton's method with a backtracking (Armijo) line search on E, which
converges from any start, for any step ``h``: the large steps that implicit Euler exists for.
(Picard/fixed-point sweeps, as in FiPy, may stall or diverge at such steps.)

Vocabulary, as in FiPy's documentation: *time steps* are taken by :mod:`fokkerplanck.solver`;
each needs several *nonlinear (Newton) iterations* here; each of those needs one *linear solve*,
direct or with some *linear (CG) iterations*.

Linear solvers: in 1-D the Hessian is tridiagonal and the whole Newton iteration runs in one
numba-compiled kernel (Cholesky/Thomas solve, O(n) per iteration). In 2-D/3-D the Hessian is
sparse and solved by conjugate gradients with a preconditioner built from a recent Hessian and
reused while it stays effective (consecutive Hessians differ only in their diagonal):
``linear_solver="direct"`` uses a SuperLU factorisation (exact on the matrix it was built from, so
the first solve after a rebuild is direct), ``"amg"`` a smoothed-aggregation algebraic multigrid
V-cycle (pyamg). The CG tolerance follows the Newton residual (inexact Newton). ``"auto"`` picks
SuperLU in 2-D and AMG in 3-D, by measurement (README, "Choice of linear solver").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from . import operators
from .divergences import (Divergence, phi_inv_antiderivative_scalar, phi_inv_prime_scalar,
                          phi_inv_scalar)

__all__ = ["Resolvent", "ResolventResult", "newton_kernel_1d"]

#: ``linear_solver="auto"``: banded kernel in 1-D, SuperLU-preconditioned CG in 2-D, AMG-CG in
#: 3-D (where LU fill-in grows fast), except for 3-D grids below this many cells. Chosen by
#: measurement: benchmarks/bench_fipy.py, cases b128solvers, b256 and solvers3d.
AUTO_DIRECT_MAX_3D = 4_000

#: Newton also stops (converged) when its correction is below this relative size, i.e. at the
#: round-off floor of w, provided the residual is below STAGNATION_RESIDUAL. The floor of the
#: residual grows with h (the flux terms h k (w_i - w_j) carry the round-off), so a fixed residual
#: tolerance alone would fail for very large steps.
STAGNATION = 1e-14
STAGNATION_RESIDUAL = 1e-8

STATUS_MESSAGES = {
    0: "converged",
    1: "maximum number of Newton iterations reached",
    2: "line search failed to decrease the step energy",
    3: "non-finite values in the Newton iteration",
    4: "linear solver failed",
}


@dataclass
class ResolventResult:
    """Outcome of one resolvent solve ``v = (I + hA)^{-1} v_old``."""

    v: np.ndarray
    w: np.ndarray
    converged: bool
    newton_iterations: int
    linear_iterations: int
    residual: float
    status: int

    @property
    def message(self) -> str:
        return STATUS_MESSAGES.get(self.status, "unknown")


# --------------------------------------------------------------------------------------------
# 1-D: the whole Newton iteration in one compiled kernel
# --------------------------------------------------------------------------------------------

@njit(cache=True)
def armijo_accepts(e_trial, e0, alpha, slope):
    """Line-search acceptance on the step energy: sufficient decrease (Armijo, c = 1e-4), or a
    directional derivative ``slope`` below the round-off of E, where the full step is taken."""
    return e_trial <= e0 + 1e-4 * alpha * slope or -slope <= 1e-13 * (abs(e0) + 1e-300)


@njit(cache=True)
def _energy_1d(code, w, v_old, m, k, h):
    e = 0.0
    n = w.size
    for i in range(n):
        e += m[i] * (phi_inv_antiderivative_scalar(code, w[i]) - v_old[i] * w[i])
    q = 0.0
    for i in range(n - 1):
        d = w[i] - w[i + 1]
        q += k[i] * d * d
    return e + 0.5 * h * q


@njit(cache=True)
def newton_kernel_1d(code, w_lower, v_old, w0, m, k, h, tol, max_iter):
    """Newton's method with Armijo line search for one 1-D step, compiled (and cached on disk).

    ``code`` is the divergence's ``kernel_code``; ``m`` the cell masses and ``k`` the ``n - 1``
    face coefficients. Returns ``(w, iterations, residual, status)`` (status as in
    :data:`STATUS_MESSAGES`).
    """
    n = v_old.size
    w = w0.copy()
    g = np.empty(n)
    diag = np.empty(n)
    c = np.empty(n)  # elimination multipliers
    dw = np.empty(n)
    wt = np.empty(n)
    res = np.inf
    status = 1
    it = 0
    e0 = _energy_1d(code, w, v_old, m, k, h)
    while True:
        # gradient of E (= residual of the step equation, in mass units)
        for i in range(n):
            g[i] = m[i] * (phi_inv_scalar(code, w[i]) - v_old[i])
        for i in range(n - 1):
            f = h * k[i] * (w[i] - w[i + 1])
            g[i] += f
            g[i + 1] -= f
        res = 0.0
        for i in range(n):
            res += abs(g[i])
        if not np.isfinite(res):
            status = 3
            break
        if res <= tol:
            status = 0
            break
        if it >= max_iter:
            status = 1
            break
        it += 1
        # Hessian diag(m G'(w)) + h K, tridiagonal SPD and diagonally dominant: Thomas solve of H dw = -g
        for i in range(n):
            diag[i] = m[i] * phi_inv_prime_scalar(code, w[i])
        for i in range(n - 1):
            diag[i] += h * k[i]
            diag[i + 1] += h * k[i]
        dw[0] = -g[0]
        for i in range(1, n):
            off = -h * k[i - 1]
            c[i - 1] = off / diag[i - 1]
            diag[i] -= c[i - 1] * off
            dw[i] = -g[i] - c[i - 1] * dw[i - 1]
        dw[n - 1] /= diag[n - 1]
        for i in range(n - 2, -1, -1):
            dw[i] = dw[i] / diag[i] - c[i] * dw[i + 1]
        slope = 0.0
        dmax = 0.0
        wmax = 1.0
        for i in range(n):
            slope += g[i] * dw[i]
            dmax = max(dmax, abs(dw[i]))
            wmax = max(wmax, abs(w[i]))
        if dmax <= STAGNATION * wmax and res <= STAGNATION_RESIDUAL:
            # the Newton correction is below the round-off of w: the residual is at its floor
            status = 0
            break
        if not (slope < 0.0):
            status = 3 if not np.isfinite(slope) else 2
            break
        alpha = 1.0
        accepted = False
        et = e0
        while alpha > 1e-10:
            inside = True
            for i in range(n):
                wt[i] = w[i] + alpha * dw[i]
                if wt[i] <= w_lower:
                    inside = False
            if inside:
                et = _energy_1d(code, wt, v_old, m, k, h)
                if armijo_accepts(et, e0, alpha, slope):
                    accepted = True
                    break
            alpha *= 0.5
        if not accepted:
            status = 2
            break
        for i in range(n):
            w[i] = wt[i]
        e0 = et
    return w, it, res, status


# --------------------------------------------------------------------------------------------
# Any dimension: Newton in numpy with a sparse linear solver
# --------------------------------------------------------------------------------------------

class _ReusedPreconditionerCG:
    """Conjugate gradients with a preconditioner built from a recent Hessian and reused.

    Consecutive Hessians ``diag(m (Phi^{-1})'(w)) + hK`` differ only in their diagonal, so a
    preconditioner built from one of them stays effective over several Newton iterations and time
    steps. It is rebuilt when CG needs more than ``rebuild_after`` iterations (or fails).
    Subclasses say how to build it.
    """

    name = ""

    def __init__(self, rtol=1e-14, rebuild_after=8):
        self.rtol = rtol
        self.rebuild_after = rebuild_after
        self._precond = None
        self._H = None  # the matrix the preconditioner was built from (what a checkpoint keeps)
        self.n_builds = 0

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
        import scipy.sparse as sp_

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
        self._rebuild(sp_.csr_matrix((data, indices, indptr), shape=shape))

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


class _DirectSolver(_ReusedPreconditionerCG):
    """SuperLU factorisation of the Hessian (exact on the matrix it was built from), reused as
    the preconditioner of CG for the following Hessians and refactorised when it loses effect."""

    name = "direct"

    def _build(self, H):
        lu = spla.splu(H.tocsc(), permc_spec="MMD_AT_PLUS_A")
        return spla.LinearOperator(H.shape, matvec=lu.solve, dtype=float)


class _AMGSolver(_ReusedPreconditionerCG):
    """Smoothed-aggregation algebraic multigrid V-cycle (pyamg) as the preconditioner of CG."""

    name = "amg"

    def __init__(self, rtol=1e-14, rebuild_after=25):
        import pyamg  # noqa: F401  (checked at construction so the error comes early)
        super().__init__(rtol=rtol, rebuild_after=rebuild_after)

    def _build(self, H):
        import pyamg
        # pyamg estimates spectral radii from random vectors of numpy's global generator: seed it for
        # the build (and restore it), so the same matrix always gives the same hierarchy (bit-identical resume)
        saved = np.random.get_state()
        np.random.seed(20231121)
        try:
            ml = pyamg.smoothed_aggregation_solver(H, symmetry="symmetric", max_coarse=300, coarse_solver="splu")
        finally:
            np.random.set_state(saved)
        return ml.aspreconditioner(cycle="V")


def _make_linear_solver(name: str, n: int, ndim: int):
    if name == "auto":
        name = "amg" if (ndim == 3 and n > AUTO_DIRECT_MAX_3D) else "direct"
    if name == "direct":
        return _DirectSolver()
    if name == "amg":
        return _AMGSolver()
    raise ValueError(f"unknown linear_solver {name!r}; choose 'auto', 'direct', 'amg' or, in 1-D, 'banded'.")


class Resolvent:
    r"""The discrete resolvent :math:`v \mapsto (I + hA)^{-1} v` for one grid, target and divergence.

    Parameters
    ----------
    divergence : Divergence
    coeffs : list of ndarray
        Face coefficients from :func:`fokkerplanck.operators.face_coefficients`.
    cell_mass : ndarray
        ``rho_d * cell_volume`` on the cells (grid shape).
    linear_solver : {"auto", "banded", "direct", "amg"}
        ``"banded"`` (1-D only) runs the compiled tridiagonal kernel; ``"auto"`` means banded in
        1-D, SuperLU-preconditioned CG in 2-D and AMG-preconditioned CG in 3-D.
    tol : float
        Newton stops when the L1 norm of the step residual (in units of mass; total mass is 1)
        is at most ``tol``. The mass error of a step is bounded by this residual.
    max_iter : int
        Maximum Newton iterations per step.
    """

    def __init__(self, divergence: Divergence, coeffs, cell_mass, linear_solver="auto", tol=1e-13, max_iter=50):
        self.divergence = divergence
        self.coeffs = coeffs
        self.cell_mass = np.asarray(cell_mass, dtype=float)
        self.shape = self.cell_mass.shape
        self.ndim = self.cell_mass.ndim
        self.tol = float(tol)
        self.max_iter = int(max_iter)
        if linear_solver == "auto" and self.ndim == 1:
            linear_solver = "banded" if divergence.kernel_code >= 0 else "direct"
        if linear_solver == "banded":
            if self.ndim != 1:
                raise ValueError("linear_solver='banded' is for 1-D grids; use 'direct' or 'amg' in 2-D/3-D.")
            if divergence.kernel_code < 0:
                raise ValueError(f"the divergence {divergence.name!r} has no compiled 1-D kernel (kernel_code = -1); "
                                 "use linear_solver='direct' (the default picks it).")
            self._kernel = newton_kernel_1d
            self._linear = None
        else:
            self._kernel = None
            self._linear = _make_linear_solver(linear_solver, self.cell_mass.size, self.ndim)
            self._K = operators.laplacian_matrix(coeffs, self.shape)
        self.linear_solver = linear_solver if self._linear is None else self._linear.name

    # -- checkpoint hook: state reused across steps -------------------------------------------
    def get_state(self) -> dict:
        """State that the steps reuse and that changes results (e.g. a reused preconditioner), as a
        dict of numpy arrays; a checkpoint stores it and :meth:`set_state` restores it, so a resumed
        run is bit-identical to an uninterrupted one. ``{}`` when nothing is reused (1-D kernel)."""
        return {} if self._linear is None else self._linear.get_state()

    def set_state(self, state: dict) -> None:
        """Restore what :meth:`get_state` returned (``{}``: drop any reused state). ValueError if malformed."""
        if self._linear is not None:
            self._linear.set_state(dict(state))
        elif state:
            raise ValueError("the saved linear-solver state does not fit this linear solver (1-D kernel)")

    def initial_guess(self, v_old):
        return self.divergence.phi(v_old)

    def __call__(self, v_old, h, w0=None) -> ResolventResult:
        """Solve one step of size ``h`` from ``v_old`` (grid-shaped array)."""
        v_old = np.asarray(v_old, dtype=float)
        w0 = self.initial_guess(v_old) if w0 is None else np.asarray(w0, dtype=float)
        if self._kernel is not None:
            d = self.divergence
            w, it, res, status = self._kernel(d.kernel_code, d.w_lower, v_old, w0, self.cell_mass, self.coeffs[0],
                                              float(h), self.tol, self.max_iter)
            lin = it
        else:
            w, it, lin, res, status = self._newton(v_old, w0, float(h))
        v = self.divergence.phi_inv(w)
        if status == 0:
            # The step conserves mass exactly in exact arithmetic; what is left is the Newton
            # residual's sum (<= tol). Rescaling by the mass ratio, a relative change <= tol that keeps
            # v >= 0, removes it, so mass stays exact to round-off over any number of steps.
            mass_new = float(np.sum(self.cell_mass * v))
            if mass_new > 0:
                v *= float(np.sum(self.cell_mass * v_old)) / mass_new
        return ResolventResult(v=v, w=w, converged=(status == 0), newton_iterations=int(it),
                               linear_iterations=int(lin), residual=float(res), status=int(status))

    # -- numpy Newton for any dimension -------------------------------------------------------
    def _energy(self, w, v_old, h):
        d = self.divergence
        m = self.cell_mass
        return float(np.sum(m * (d.phi_inv_antiderivative(w) - v_old * w))) + 0.5 * h * operators.dirichlet_form(
            self.coeffs, w, w)

    def _newton(self, v_old, w, h):
        d = self.divergence
        m = self.cell_mass
        w = w.copy()
        hK = (h * self._K).tocsr()
        it = lin_total = 0
        status, res = 1, np.inf
        while True:
            g = m * (d.phi_inv(w) - v_old) + h * operators.apply_laplacian(self.coeffs, w)
            res = float(np.sum(np.abs(g)))
            if not np.isfinite(res):
                status = 3
                break
            if res <= self.tol:
                status = 0
                break
            if it >= self.max_iter:
                status = 1
                break
            it += 1
            H = hK + sp.diags(np.ravel(m * d.phi_inv_prime(w)))
            try:
                # inexact Newton: the linear tolerance follows the nonlinear residual (total mass 1),
                # which keeps Newton's quadratic convergence without over-solving early iterations
                dw, lin = self._linear.solve(H, -g.ravel(), rtol=min(1e-2, res))
            except (np.linalg.LinAlgError, RuntimeError):
                status = 4
                break
            lin_total += lin
            dw = dw.reshape(self.shape)
            slope = float(np.sum(g * dw))
            if np.max(np.abs(dw)) <= STAGNATION * max(1.0, float(np.max(np.abs(w)))) and res <= STAGNATION_RESIDUAL:
                status = 0  # correction below the round-off of w: the residual is at its floor
                break
            if not slope < 0.0:
                status = 3 if not np.isfinite(slope) else 2
                break
            e0 = self._energy(w, v_old, h)
            alpha, accepted = 1.0, False
            while alpha > 1e-10:
                wt = w + alpha * dw
                if np.all(wt > d.w_lower):
                    et = self._energy(wt, v_old, h)
                    if armijo_accepts(et, e0, alpha, slope):
                        accepted = True
                        break
                alpha *= 0.5
            if not accepted:
                status = 2
                break
            w = wt
        return w, it, lin_total, res, status
