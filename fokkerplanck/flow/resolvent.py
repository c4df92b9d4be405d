r"""The Crandall-Liggett resolvent :math:`(I + hA)^{-1}`: Newton's method and the linear solvers.

One backward-Euler step of :math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))` (eq. 39-41 of the
paper for Jensen-Shannon) is, in the variable :math:`w = \Phi(v_{new})`,

.. math::

    M\big(\Phi^{-1}(w) - v_{old}\big) + h K w = 0,

with ``M = diag(rho_d) * cell_volume`` and ``K`` the weighted finite-volume Laplacian of
:mod:`fokkerplanck.flow.operators`. This is the Euler-Lagrange equation of the strictly convex energy

.. math::

    E(w) = \sum_i m_i\big(F(w_i) - v_{old,i}\,w_i\big) + \frac{h}{2} w^\top K w,
    \qquad F' = \Phi^{-1},

whose Hessian :math:`\mathrm{diag}(m\,(\Phi^{-1})'(w)) + hK` is a symmetric positive definite
M-matrix. We minimise E by Newton's method with a backtracking (Armijo) line search on E, which
converges from any start, for any step ``h``: the large steps that implicit Euler exists for.
(Picard/fixed-point sweeps, as in FiPy, may stall or diverge at such steps.)

Vocabulary, as in FiPy's documentation: *time steps* are taken by :mod:`fokkerplanck.flow.stepping`;
each needs several *nonlinear (Newton) iterations* here; each of those needs one *linear solve*,
direct or with some *linear (CG) iterations*.

Linear solvers (:mod:`fokkerplanck.flow.linear`, one file each, found by name): in 1-D the
Hessian is tridiagonal and the whole Newton iteration runs in one numba-compiled kernel
(``"banded"``: Thomas solve, O(n) per iteration). In 2-D/3-D the Hessian is sparse and solved by
preconditioned conjugate gradients: ``"multigrid"`` (the default there) preconditions with one
V-cycle of a matrix-free geometric multigrid whose cost grows like the grid; ``"direct"``
(SuperLU) and ``"amg"`` (pyamg) reuse a preconditioner built from a recent assembled Hessian. The
CG tolerance follows the Newton residual (inexact Newton, :meth:`Resolvent.forcing`). ``"auto"``
asks each solver where it applies and picks by their own ranks (:func:`fokkerplanck.flow.linear.select`).

Newton starts where the time scheme says (backward Euler passes its *predictor*, the last step
extrapolated) and takes a full step that halves the smallest residual so far without evaluating
the energy, as the 1-D kernel does; neither changes the answer beyond the Newton tolerance (both
remain a start and an acceptance test for the same convex minimisation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import operators
from ._step_residual import as_3d, step_residual_3d
from .divergences import Divergence
from .linear import select
from .linear._mg_kernels import _dot
from .linear.direct import AUTO_DIRECT_MAX_3D
from .linear.multigrid import faces_3d
from .newton_1d import LOCAL_ACCEPT, STAGNATION, STAGNATION_RESIDUAL, armijo_accepts, newton_kernel_1d

__all__ = ["Resolvent", "ResolventResult", "newton_kernel_1d", "AUTO_DIRECT_MAX_3D"]

#: Largest relative tolerance of a Newton iteration's linear solve (:meth:`Resolvent.forcing`).
FORCING_MAX = 1e-2

#: The last Newton iteration's linear solve aims at ``FORCING_SAFETY * tol`` (:meth:`Resolvent.forcing`)
#: when the linear solver tests its residual in the 2-norm (``residual_norm = 2``): an allowance of 10
#: for the change from the L1 norm of the Newton residual.
FORCING_SAFETY = 0.1

#: The same when the linear solver tests the 1-norm (``residual_norm = 1``, the Newton residual's own):
#: half the tolerance, the other half left for Newton's quadratic term (about ``r^2``, below 1e-14 at
#: the residuals ``r`` of a last iteration, measured 2e-8 to 3e-7 on the 2-D benchmark).
FORCING_SAFETY_L1 = 0.5

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


class Resolvent:
    r"""The discrete resolvent :math:`v \mapsto (I + hA)^{-1} v` for one grid, target and divergence.

    Parameters
    ----------
    divergence : Divergence
    coeffs : list of ndarray
        Face coefficients from :func:`fokkerplanck.operators.face_coefficients`.
    cell_mass : ndarray
        ``rho_d * cell_volume`` on the cells (grid shape).
    linear_solver : str
        ``"auto"`` or a name in :data:`fokkerplanck.flow.linear.LINEAR_SOLVERS` (``"banded"``,
        ``"direct"``, ``"amg"``, ``"multigrid"``); ``"auto"`` lets the solvers' own rules choose
        (banded in 1-D, multigrid in 2-D and 3-D, SuperLU-CG on 3-D grids of at most
        :data:`AUTO_DIRECT_MAX_3D` cells and for divergences iterating on ``v``).
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
        entry = select(linear_solver, self.shape, divergence, periodic=operators.periodic_axes(coeffs, self.shape))
        self._linear = entry(coeffs, self.shape, divergence)
        self.linear_solver = entry.name
        #: K's face arrays in the 3-D view (:func:`~fokkerplanck.flow.linear.multigrid.faces_3d`), built once:
        #: the compiled residual (:meth:`_gradient`) and the time loop's diagnostics read them
        self.faces = faces_3d(coeffs, self.shape)
        self._mass_3d = as_3d(self.cell_mass)

    @property
    def compiled_1d(self) -> bool:
        """True when every step runs the compiled 1-D kernel (:func:`newton_kernel_1d`)."""
        return bool(self._linear.runs_newton)

    # -- checkpoint hook: state reused across steps -------------------------------------------
    def get_state(self) -> dict:
        """State that the steps reuse and that changes results (e.g. a reused preconditioner), as a
        dict of numpy arrays; a checkpoint stores it and :meth:`set_state` restores it, so a resumed
        run is bit-identical to an uninterrupted one. ``{}`` when nothing is reused (1-D kernel)."""
        return self._linear.get_state()

    def set_state(self, state: dict) -> None:
        """Restore what :meth:`get_state` returned (``{}``: drop any reused state). ValueError if malformed."""
        self._linear.set_state(dict(state))

    def initial_guess(self, v_old):
        return self.divergence.phi(v_old)

    def __call__(self, v_old, h, w0=None) -> ResolventResult:
        r"""Solve one step of size ``h`` from ``v_old`` (grid-shaped array).

        ``w0`` (a guess of :math:`w = \Phi(v)`, e.g. the previous step's) starts Newton; by default
        it starts at ``v_old``. For a divergence with Newton variable ``v`` (chi^2) Newton always
        starts at ``v_old``, which carries the support exactly (``Phi^{-1}(Phi(v))`` need not).
        A time scheme passes its predictor as ``w0`` (:meth:`BackwardEuler.predictor
        <fokkerplanck.flow.stepping.euler.BackwardEuler.predictor>`); the answer is the same step
        from any start, to the Newton tolerance (the step energy is strictly convex).
        """
        v_old = np.asarray(v_old, dtype=float)
        h = float(h)
        if not (np.isfinite(h) and h > 0):
            raise ValueError(f"the step size h must be a finite number > 0, got {h!r}.")
        if v_old.shape != self.shape:
            raise ValueError(f"v_old has shape {v_old.shape}, the grid {self.shape}.")
        d = self.divergence
        if self._linear.runs_newton and w0 is not None and d.variable == "w":
            # the 1-D kernel from a given w0: the start below in three operations, when it is finite
            s0 = np.maximum(np.asarray(w0, dtype=float), d.s_lower)
            if np.isfinite(s0).all():
                return self._kernel_step(v_old, s0, h)
        if d.variable == "v" or w0 is None:
            s0 = d.s_from_w(self.initial_guess(v_old)) if d.variable == "w" else v_old.copy()
        else:
            s0 = d.s_from_w(np.asarray(w0, dtype=float))
        s0 = np.maximum(s0, d.s_lower)
        if not np.all(np.isfinite(s0)):
            # Phi(0) = -inf (reverse KL: Phi = ln v): start empty cells at a tiny positive v instead
            floor = 1e-14 * max(float(np.max(v_old)), 1e-300)
            s0 = np.where(np.isfinite(s0), s0, d.s_from_w(d.phi(np.full(self.shape, floor))))
        if self._linear.runs_newton:
            return self._kernel_step(v_old, s0, h)
        s, it, lin, res, status, (v, w, _, _) = self._newton(v_old, s0, h)
        v = np.array(v, dtype=float)  # fresh arrays, not views of s (for s = w, w is s itself)
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

    def _kernel_step(self, v_old, s0, h) -> ResolventResult:
        """The 1-D step by the compiled kernel (:func:`newton_kernel_1d`): it returns ``s`` and leaves
        ``v(s)`` in ``s0`` (a fresh array here), so neither is recomputed; the same mass rescaling."""
        d = self.divergence
        m = self.cell_mass
        s, it, lin, res, status = self._linear.newton(d.s_lower, v_old, s0, m, h, self.tol, self.max_iter)
        v = s0
        w = s if d.variable == "w" else d.phi(s)
        if status == 0:  # as in __call__: the mass to round-off
            mass_new = float(m @ v)
            if mass_new > 0:
                v *= float(m @ v_old) / mass_new
        return ResolventResult(v=v, w=w, converged=(status == 0), newton_iterations=int(it),
                               linear_iterations=int(lin), residual=float(res), status=int(status))

    # -- numpy Newton for any dimension -------------------------------------------------------
    def forcing(self, res):
        r"""The relative tolerance :math:`\eta` of the linear solve at Newton residual ``res`` (inexact Newton).

        .. math::

            \eta = \min\big(\eta_{max},\ \max(r,\ c\,\mathrm{tol} / r)\big),

        :math:`r` the L1 residual in units of mass (total mass 1). The new residual is about
        :math:`\eta r` (the linear solve's) plus :math:`C r^2` (Newton's quadratic term, C about 1
        here), so :math:`\eta = r` keeps quadratic convergence without over-solving early
        iterations (Eisenstat and Walker's choice 2, with the measured ratio of successive
        residuals replaced by the residual it predicts); and the last iteration needs only
        :math:`\eta r \le c\,\mathrm{tol}` to end below ``tol``, not :math:`\eta = r`, which
        solved it 1e4 times too accurately. The safety :math:`c` is :data:`FORCING_SAFETY_L1` when
        the linear solver tests the 1-norm of its residual (the Newton residual's norm; its
        ``residual_norm`` is 1), else :data:`FORCING_SAFETY`, an allowance for the 2-norm.
        """
        c = FORCING_SAFETY_L1 if self._linear.residual_norm == 1 else FORCING_SAFETY
        return min(FORCING_MAX, max(res, c * self.tol / max(res, 1e-300)))

    def _energy(self, s, v_old, h, state=None):
        """The step energy E at ``s`` and the sum of the magnitudes of its terms (its round-off
        scale); ``state`` is ``s_state(s)`` when known."""
        m = self.cell_mass
        w = (self.divergence.s_state(s) if state is None else state)[1]
        F = self.divergence.phi_inv_antiderivative(w)
        q = 0.5 * h * operators.dirichlet_form(self.coeffs, w, w)
        return (float(np.sum(m * (F - v_old * w))) + q,
                float(np.sum(m * (np.abs(F) + np.abs(v_old * w)))) + q)

    def _gradient(self, s, v_old, h):
        """``(g, s_state(s), sum |g|)``: the residual ``g = M(v - v_old) + hK w`` (the gradient of E in
        ``w``), by the compiled pass of :mod:`fokkerplanck.flow._step_residual`."""
        state = self.divergence.s_state(s)
        g = np.empty(self.shape)
        l1 = step_residual_3d(self._mass_3d, as_3d(state[0]), as_3d(v_old), as_3d(state[1]), h, *self.faces, as_3d(g))
        return g, state, float(l1)

    def _gradient_numpy(self, s, v_old, h):
        """The same residual by numpy (the reference of the compiled one in the tests)."""
        state = self.divergence.s_state(s)
        return self.cell_mass * (state[0] - v_old) + h * operators.apply_laplacian(self.coeffs, state[1]), state

    def _newton(self, v_old, s, h):
        r"""Newton in the Newton variable ``s`` with the projected Armijo search of
        :func:`newton_kernel_1d`, the linear systems solved in symmetric form. Returns ``(s,
        iterations, linear iterations, residual, status, s_state(s))``.

        :math:`J = M\,\mathrm{diag}(v') + hK\,\mathrm{diag}(w')` is similar to the symmetric
        positive definite :math:`S = M\,\mathrm{diag}(v') + hD K D`, :math:`D = \mathrm{diag}(\sqrt{w'})`:
        solve :math:`S y = -D r`, then :math:`dw = D y` and :math:`ds = (-r - hK\,dw) / (m v')`
        (the rows of :math:`J ds = -r`; for ``s = w``, :math:`w' = 1` and ``ds = y``). No division by
        :math:`w'`, which vanishes at the bound of chi^2.

        A full step whose residual is at most :data:`LOCAL_ACCEPT
        <fokkerplanck.flow.newton_1d.LOCAL_ACCEPT>` times the smallest residual so far is taken
        without evaluating E (Newton's local phase: the new residual is needed next anyway, and E,
        with its logarithms, cost a quarter of the time); any other step goes to the Armijo search
        on E. As in :func:`newton_kernel_1d`, the cheap test can accept at most
        :math:`\log_2(r_0/\mathrm{tol})` steps, so from any start the iteration ends as the
        Armijo-Newton iteration on the strictly convex E, which converges.
        """
        d = self.divergence
        m = self.cell_mass
        s = np.maximum(np.array(s, dtype=float), d.s_lower)
        it = lin_total = 0
        status, res = 1, np.inf
        g, state, res_next = self._gradient(s, v_old, h)
        prev = best = np.inf
        full_step = False
        bounded = bool(np.isfinite(d.s_lower))
        while True:
            v, w, dv, dw = state
            res = res_next
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
                    # the Hessian diag(m (Phi^-1)'(w)) + hK, solved inexactly (see forcing)
                    y, lin = self._linear.solve_hessian(h, mdv, -g.ravel(), rtol=self.forcing(res))
                else:
                    # s = v: the symmetric form D hK D + diag(m v'), D = diag(sqrt(w')), assembled;
                    # ds is recovered from the rows of J, which needs the solve to round-off (an
                    # inexact y gives a ds that need not be a descent direction)
                    sq = np.sqrt(np.ravel(dw))
                    y, lin = self._linear.solve_symmetric(h, sq, mdv, -sq * g.ravel())
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
            if bounded:
                at = s <= d.s_lower
                if at.any():
                    ds = np.where(at & (ds < 0), 0.0, ds)  # projection at the bound
            # the directional derivative of E along ds (w' = 1 when s = w; no np.dot: a BLAS call,
            # whose threads then spin against the solver's kernels on a busy machine)
            slope = _dot(g, ds) if d.variable == "w" else float(np.sum(g * dw * ds))
            if res <= STAGNATION_RESIDUAL and np.max(np.abs(ds)) <= STAGNATION * max(1.0, float(np.max(np.abs(s)))):
                status = 0  # correction below the round-off of s: the residual is at its floor
                break
            if not slope <= 0.0:
                status = 3 if not np.isfinite(slope) else 2
                break
            st = s + ds
            if bounded:
                np.maximum(st, d.s_lower, out=st)
            g_t, state_t, res_next = self._gradient(st, v_old, h)
            best = min(best, res)
            full_step = accepted = res_next <= LOCAL_ACCEPT * best
            if not accepted:  # the Armijo search on E from the full step
                e0, scale = self._energy(s, v_old, h, state)
                alpha = 1.0
                while alpha > 1e-10:
                    et, _ = self._energy(st, v_old, h, state_t if alpha == 1.0 else None)
                    if armijo_accepts(et, e0, alpha, slope, scale):
                        accepted = True
                        break
                    alpha *= 0.5
                    st = np.maximum(s + alpha * ds, d.s_lower)
                if not accepted:
                    status = 2
                    break
                full_step = alpha == 1.0
                if not full_step:
                    g_t, state_t, res_next = self._gradient(st, v_old, h)
            s, g, state = st, g_t, state_t
        return s, it, lin_total, res, status, state
