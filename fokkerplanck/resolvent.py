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
sparse and solved by preconditioned conjugate gradients. ``linear_solver="multigrid"`` (the
default there) preconditions with one V-cycle of the matrix-free geometric multigrid of
:mod:`fokkerplanck.multigrid`, whose cost grows like the grid; the Hessian is never assembled.
The other two reuse a preconditioner built from a recent assembled Hessian while it stays
effective (consecutive Hessians differ only in their diagonal): ``"direct"`` a SuperLU
factorisation (exact on the matrix it was built from), ``"amg"`` a smoothed-aggregation algebraic
multigrid V-cycle (pyamg). The CG tolerance follows the Newton residual (inexact Newton). BLAS
runs on one thread inside the solves (:mod:`fokkerplanck._threads`). ``"auto"`` picks multigrid in
2-D and 3-D, except SuperLU for 3-D grids below :data:`AUTO_DIRECT_MAX_3D` cells, by measurement
(benchmarks/README.md, "The solver at scale").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from numba import njit

from . import _threads, operators
from .divergences import Divergence, s_state_scalar

__all__ = ["Resolvent", "ResolventResult", "newton_kernel_1d"]

#: ``linear_solver="auto"``: banded kernel in 1-D, multigrid-preconditioned CG in 2-D and 3-D,
#: except SuperLU-CG for 3-D grids below this many cells. Chosen by measurement:
#: benchmarks/bench_scale.py (multigrid 2.5x faster than SuperLU-CG at 2-D 128^2 and 3x faster than
#: pyamg-CG at 3-D 16^3; the issue-2 measurements of benchmarks/bench_fipy.py for the tiny 3-D grids).
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
def armijo_accepts(e_trial, e0, alpha, slope, scale):
    """Line-search acceptance on the step energy: sufficient decrease (Armijo, c = 1e-4), or a
    directional derivative ``slope`` below the round-off of E, where the full step is taken.

    ``scale`` is the sum of the magnitudes of the terms of E (its round-off is ~ eps * scale; E
    itself may be near 0, as F has an arbitrary additive constant)."""
    return e_trial <= e0 + 1e-4 * alpha * slope or -slope <= 1e-13 * (scale + 1e-300)


@njit(cache=True)
def _energy_1d(code, s, v_old, m, k, h, wbuf):
    """Step energy E and the sum of the magnitudes of its terms (its round-off scale)."""
    e = 0.0
    scale = 0.0
    n = s.size
    for i in range(n):
        _, w, _, _, F = s_state_scalar(code, s[i])
        wbuf[i] = w
        e += m[i] * (F - v_old[i] * w)
        scale += m[i] * (abs(F) + abs(v_old[i] * w))
    q = 0.0
    for i in range(n - 1):
        d = wbuf[i] - wbuf[i + 1]
        q += k[i] * d * d
    return e + 0.5 * h * q, scale + 0.5 * h * q


@njit(cache=True)
def newton_kernel_1d(code, s_lower, v_old, s0, m, k, h, tol, max_iter):
    r"""Newton's method with a projected Armijo line search for one 1-D step, compiled and cached.

    Solves the step equation :math:`r(s) = M(v(s) - v_{old}) + hK\,w(s) = 0` (eq. 39-41 of the
    paper for JSD) in the divergence's Newton variable ``s`` (``s = w = Phi(v)``, or ``s = v`` for
    degenerate diffusion; :attr:`fokkerplanck.divergences.Divergence.variable`) subject to
    ``s >= s_lower``. The Newton matrix :math:`J = M\,\mathrm{diag}(v'(s)) + hK\,\mathrm{diag}(w'(s))`
    is tridiagonal with non-positive off-diagonal entries and positive column sums
    :math:`m_j v'(s_j)`: a column diagonally dominant M-matrix, solved by the Thomas algorithm
    without pivoting (stable for such matrices). For ``s = w`` it is the Hessian of the step energy
    :math:`E(w)`; for ``s = v`` it equals :math:`H_w\,\mathrm{diag}(w'(s))`, so the w-direction
    :math:`\mathrm{diag}(w') ds` is the Newton direction of E and the Armijo search on E along the
    projected path :math:`s(\alpha) = \max(s + \alpha\,ds, s_{lower})` always finds a decrease.

    ``code`` is the divergence's ``kernel_code``; ``m`` the cell masses and ``k`` the ``n - 1``
    face coefficients. Returns ``(s, iterations, residual, status)`` (status as in
    :data:`STATUS_MESSAGES`).
    """
    n = v_old.size
    s = s0.copy()
    for i in range(n):
        if s[i] < s_lower:
            s[i] = s_lower
    g = np.empty(n)
    w = np.empty(n)
    dv = np.empty(n)
    dwds = np.empty(n)
    cp = np.empty(n)  # Thomas: modified super-diagonal
    ds = np.empty(n)
    st = np.empty(n)
    wbuf = np.empty(n)
    res = np.inf
    status = 1
    it = 0
    e0, scale = _energy_1d(code, s, v_old, m, k, h, wbuf)
    while True:
        # residual of the step equation (= gradient of E in w), in mass units
        for i in range(n):
            vi, wi, dvi, dwi, _ = s_state_scalar(code, s[i])
            w[i] = wi
            dv[i] = dvi
            dwds[i] = dwi
            g[i] = m[i] * (vi - v_old[i])
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
        # J ds = -g, J = diag(m v') + h K diag(w'): row i has sub -h k_{i-1} w'_{i-1},
        # diagonal m_i v'_i + h (k_{i-1} + k_i) w'_i, super -h k_i w'_{i+1}
        singular = False
        for i in range(n):
            b = m[i] * dv[i]
            kl = k[i - 1] if i > 0 else 0.0
            kr = k[i] if i < n - 1 else 0.0
            b += h * (kl + kr) * dwds[i]
            rhs = -g[i]
            if i > 0:
                a = -h * kl * dwds[i - 1]
                b -= a * cp[i - 1]
                rhs -= a * ds[i - 1]
            if not (b > 0.0):
                singular = True
                break
            cp[i] = (-h * kr * dwds[i + 1]) / b if i < n - 1 else 0.0
            ds[i] = rhs / b
        if singular:
            status = 4
            break
        for i in range(n - 2, -1, -1):
            ds[i] -= cp[i] * ds[i + 1]
        slope = 0.0
        dmax = 0.0
        smax = 1.0
        for i in range(n):
            if s[i] <= s_lower and ds[i] < 0.0:
                ds[i] = 0.0  # at the bound and pushed below it: this cell stays (projection)
            slope += g[i] * dwds[i] * ds[i]
            dmax = max(dmax, abs(ds[i]))
            smax = max(smax, abs(s[i]))
        if dmax <= STAGNATION * smax and res <= STAGNATION_RESIDUAL:
            # the Newton correction is below the round-off of s: the residual is at its floor
            status = 0
            break
        if not (slope <= 0.0):
            status = 3 if not np.isfinite(slope) else 2
            break
        alpha = 1.0
        accepted = False
        et = e0
        while alpha > 1e-10:
            for i in range(n):
                st[i] = max(s[i] + alpha * ds[i], s_lower)
            et, scale_t = _energy_1d(code, st, v_old, m, k, h, wbuf)
            if armijo_accepts(et, e0, alpha, slope, scale):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            status = 2
            break
        for i in range(n):
            s[i] = st[i]
        e0, scale = et, scale_t
    return s, it, res, status


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

    def __init__(self, K, rtol=1e-14, rebuild_after=8):
        self.K = K
        self.rtol = rtol
        self.rebuild_after = rebuild_after
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

    def __init__(self, K, rtol=1e-14, rebuild_after=25):
        import pyamg  # noqa: F401  (checked at construction so the error comes early)
        super().__init__(K, rtol=rtol, rebuild_after=rebuild_after)

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


class _MultigridSolver:
    """CG preconditioned by the matrix-free geometric multigrid of :mod:`fokkerplanck.multigrid`.

    The face hierarchy of K is built once; each solve re-aggregates the diagonal only."""

    name = "multigrid"

    def __init__(self, coeffs, shape, rtol=1e-14, maxiter=200):
        from .multigrid import Multigrid

        self.rtol = rtol
        self.maxiter = maxiter
        self.mg = Multigrid(coeffs, shape)

    def get_state(self) -> dict:
        """Nothing is reused across steps that changes results: the hierarchy depends on K only and
        each solve sets its own diagonal, so a resumed run needs no state (see Resolvent.get_state)."""
        return {}

    def set_state(self, state: dict) -> None:
        if state:
            raise ValueError("the saved linear-solver state does not fit the multigrid solver (it keeps none); "
                             "start over without --resume")

    def solve_hessian(self, h, diag, rhs, rtol=None):
        rtol = self.rtol if rtol is None else max(rtol, self.rtol)
        self.mg.set_diagonal(diag, h)
        with _threads.blas_limits():  # the coarsest level's Cholesky solve is BLAS
            x, it, ok = self.mg.solve(rhs, rtol=rtol, maxiter=self.maxiter)
        if not ok:
            raise np.linalg.LinAlgError("multigrid-preconditioned CG did not converge")
        return x.ravel(), max(it, 1)


def _make_linear_solver(name: str, coeffs, shape):
    n, ndim = int(np.prod(shape)), len(shape)
    if name == "auto":
        name = "direct" if (ndim == 3 and n <= AUTO_DIRECT_MAX_3D) else "multigrid"
    if name == "multigrid":
        return _MultigridSolver(coeffs, shape)
    if name in ("direct", "amg"):
        K = operators.laplacian_matrix(coeffs, shape)
        return _DirectSolver(K) if name == "direct" else _AMGSolver(K)
    raise ValueError(f"unknown linear_solver {name!r}; choose 'auto', 'direct', 'amg', 'multigrid' or, in 1-D, "
                     "'banded'.")


class Resolvent:
    r"""The discrete resolvent :math:`v \mapsto (I + hA)^{-1} v` for one grid, target and divergence.

    Parameters
    ----------
    divergence : Divergence
    coeffs : list of ndarray
        Face coefficients from :func:`fokkerplanck.operators.face_coefficients`.
    cell_mass : ndarray
        ``rho_d * cell_volume`` on the cells (grid shape).
    linear_solver : {"auto", "banded", "multigrid", "direct", "amg"}
        ``"banded"`` (1-D only) runs the compiled tridiagonal kernel; ``"auto"`` means banded in
        1-D and multigrid-preconditioned CG in 2-D and 3-D (SuperLU-CG on 3-D grids of at most
        :data:`AUTO_DIRECT_MAX_3D` cells).
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
            if divergence.variable == "v":
                # Newton in s = v (degenerate diffusion, chi^2) solves D hK D + diag(m v'), which is
                # not of the form diag + hK that the matrix-free multigrid handles
                if linear_solver == "auto":
                    linear_solver = "direct"
                elif linear_solver == "multigrid":
                    raise ValueError(f"the divergence {divergence.name!r} iterates on v (degenerate diffusion), whose "
                                     "Newton systems the matrix-free multigrid does not handle; use "
                                     "linear_solver='direct' (the default picks it) or 'amg'.")
            self._linear = _make_linear_solver(linear_solver, coeffs, self.shape)
            self._K = getattr(self._linear, "K", None)
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
        r"""Solve one step of size ``h`` from ``v_old`` (grid-shaped array).

        ``w0`` (a guess of :math:`w = \Phi(v)`, e.g. the previous step's) starts Newton; by default
        it starts at ``v_old``. For a divergence with Newton variable ``v`` (chi^2) Newton always
        starts at ``v_old``, which carries the support exactly (``Phi^{-1}(Phi(v))`` need not).
        """
        v_old = np.asarray(v_old, dtype=float)
        h = float(h)
        if not (np.isfinite(h) and h > 0):
            raise ValueError(f"the step size h must be a finite number > 0, got {h!r}.")
        if v_old.shape != self.shape:
            raise ValueError(f"v_old has shape {v_old.shape}, the grid {self.shape}.")
        d = self.divergence
        if d.variable == "v" or w0 is None:
            s0 = d.s_from_w(self.initial_guess(v_old)) if d.variable == "w" else v_old.copy()
        else:
            s0 = d.s_from_w(np.asarray(w0, dtype=float))
        s0 = np.maximum(s0, d.s_lower)
        if not np.all(np.isfinite(s0)):
            # Phi(0) = -inf (reverse KL: Phi = ln v): start empty cells at a tiny positive v instead
            floor = 1e-14 * max(float(np.max(v_old)), 1e-300)
            s0 = np.where(np.isfinite(s0), s0, d.s_from_w(d.phi(np.full(self.shape, floor))))
        if self._kernel is not None:
            s, it, res, status = self._kernel(d.kernel_code, d.s_lower, v_old, s0, self.cell_mass, self.coeffs[0],
                                              h, self.tol, self.max_iter)
            lin = it
        else:
            s, it, lin, res, status = self._newton(v_old, s0, h)
        v, w, _, _ = d.s_state(s)
        v = np.array(v, dtype=float)
        w = np.array(w, dtype=float)
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
    def _energy(self, s, v_old, h):
        d = self.divergence
        m = self.cell_mass
        _, w, _, _ = d.s_state(s)
        F = d.phi_inv_antiderivative(w)
        q = 0.5 * h * operators.dirichlet_form(self.coeffs, w, w)
        return (float(np.sum(m * (F - v_old * w))) + q,
                float(np.sum(m * (np.abs(F) + np.abs(v_old * w)))) + q)

    def _newton(self, v_old, s, h):
        r"""Newton in the Newton variable ``s`` with the projected Armijo search of
        :func:`newton_kernel_1d`, the linear systems solved in symmetric form.

        :math:`J = M\,\mathrm{diag}(v') + hK\,\mathrm{diag}(w')` is similar to the symmetric
        positive definite :math:`S = M\,\mathrm{diag}(v') + hD K D`, :math:`D = \mathrm{diag}(\sqrt{w'})`:
        solve :math:`S y = -D r`, then :math:`dw = D y` and :math:`ds = (-r - hK\,dw) / (m v')`
        (the rows of :math:`J ds = -r`; for ``s = w``, :math:`w' = 1` and ``ds = y``). No division by
        :math:`w'`, which vanishes at the bound of chi^2.
        """
        d = self.divergence
        m = self.cell_mass
        s = np.maximum(np.array(s, dtype=float), d.s_lower)
        it = lin_total = 0
        status, res = 1, np.inf
        e0, scale = self._energy(s, v_old, h)
        prev = np.inf
        full_step = False
        while True:
            v, w, dv, dw = d.s_state(s)
            g = m * (v - v_old) + h * operators.apply_laplacian(self.coeffs, w)
            res = float(np.sum(np.abs(g)))
            if not np.isfinite(res):
                status = 3
                break
            if res <= self.tol or (res <= STAGNATION_RESIDUAL and full_step and res > 0.5 * prev):
                # converged, or at the floor of a residual that a full Newton step no longer halves
                # (the evaluation noise of a numerically built Phi, divergence_from_f): the mass
                # rescaling after the solve removes what is left
                status = 0
                break
            prev = res
            if it >= self.max_iter:
                status = 1
                break
            it += 1
            mdv = np.ravel(m * dv)
            try:
                if d.variable == "w":
                    # the Hessian diag(m (Phi^-1)'(w)) + hK; inexact Newton: the linear tolerance
                    # follows the nonlinear residual (total mass 1), which keeps Newton's quadratic
                    # convergence without over-solving early iterations
                    y, lin = self._linear.solve_hessian(h, mdv, -g.ravel(), rtol=min(1e-2, res))
                else:
                    # s = v: the symmetric form D hK D + diag(m v'), D = diag(sqrt(w')), assembled;
                    # ds is recovered from the rows of J, which needs the solve to round-off (an
                    # inexact y gives a ds that need not be a descent direction)
                    sq = np.sqrt(np.ravel(dw))
                    Dh = sp.diags(sq)
                    H = (Dh @ (h * self._K) @ Dh + sp.diags(mdv)).tocsr()
                    with _threads.blas_limits():
                        y, lin = self._linear.solve(H, -sq * g.ravel(), rtol=1e-13)
            except (np.linalg.LinAlgError, RuntimeError):
                status = 4
                break
            lin_total += lin
            y = y.reshape(self.shape)
            if d.variable == "w":
                ds = y
            else:
                dW = np.sqrt(dw) * y
                ds = (-g - h * operators.apply_laplacian(self.coeffs, dW)) / (m * dv)
            ds = np.where((s <= d.s_lower) & (ds < 0), 0.0, ds)  # projection at the bound
            slope = float(np.sum(g * dw * ds))
            if np.max(np.abs(ds)) <= STAGNATION * max(1.0, float(np.max(np.abs(s)))) and res <= STAGNATION_RESIDUAL:
                status = 0  # correction below the round-off of s: the residual is at its floor
                break
            if not slope <= 0.0:
                status = 3 if not np.isfinite(slope) else 2
                break
            alpha, accepted = 1.0, False
            while alpha > 1e-10:
                st = np.maximum(s + alpha * ds, d.s_lower)
                et, scale_t = self._energy(st, v_old, h)
                if armijo_accepts(et, e0, alpha, slope, scale):
                    accepted = True
                    break
                alpha *= 0.5
            if not accepted:
                status = 2
                break
            s, e0, scale = st, et, scale_t
            full_step = alpha == 1.0
        return s, it, lin_total, res, status
