r"""The time loop: backward Euler (Crandall-Liggett) steps with fixed or adaptive step size.

Each step applies the discrete resolvent :math:`(I + hA)^{-1}` of :mod:`fokkerplanck.resolvent`
(eq. 39 of the paper). Fixed steps of size ``dt`` reproduce the exponential formula
:math:`(I + \tfrac{t}{n}A)^{-n}v_0`; adaptive steps control an estimate of the local error.

Adaptive error estimate: backward Euler's local error is :math:`\tfrac{h^2}{2}v''`. The
difference of two backward-Euler states is exactly :math:`v^n - v^{n-1} = h_{n-1}F(v^n)`
(:math:`F(v) = M^{-1}K\Phi(v)`, the right-hand side), so the linear extrapolation
:math:`v_p = v^n + \tfrac{h}{h_{n-1}}(v^n - v^{n-1}) = v^n + hF(v^n)` is a forward-Euler step
from :math:`v^n` whatever :math:`h_{n-1}`, and :math:`v^{n+1} - v_p = h\,(F(v^{n+1}) - F(v^n))
= h^2 v'' + O(h^3)`. Half of it estimates the local error; in units of mass (L1 of u)

.. math::  \mathrm{err} = \tfrac12\sum_i m_i\,\big|v^{n+1}_i - v_{p,i}\big|
           = \tfrac{h}{2}\,\big\|K(\Phi(v^{n+1}) - \Phi(v^n))\big\|_1 .

(Before this was corrected the weight was :math:`h/(h + h_{n-1})`, which overestimated the error
by up to 5/3 after a step growth of 5 and underestimated it 3-fold after a 0.2x retry.) The
second form needs no division by tiny cell masses and is used on the first step (no history).

The error is compared with ``tol = atol + rtol * D``. With ``error_relative_to="mass"`` (the
default) ``D = 1``, the total mass: ``rtol`` bounds the local error per step relative to the
density, and the global error at a fixed time behaves like ``C * sqrt(rtol)`` (measured: 8e-3,
2.7e-3, 8.8e-4 for rtol = 1e-3, 1e-4, 1e-5 on a two-mode 1-D problem at t = 2). Near equilibrium
``err`` then falls below the tolerance for ever larger steps and late decay rates come out too
slow. With ``error_relative_to="distance"``, ``D = ||u^{n+1} - rho_d||_L1``, the current distance
from rho_d: once the slowest mode dominates (``v'' = r^2 (v - 1)``) the controller settles at
:math:`h r \approx 0.9\sqrt{2\,\mathrm{rtol}}`, so the observed rate :math:`\ln(1 + hr)/h` is
within a relative :math:`hr/2 \approx 0.64\sqrt{\mathrm{rtol}}` of ``r`` (0.2% for rtol = 1e-5)
at any distance, at the price of steps that stop growing.

A step is accepted when ``err <= tol``, and the next step is
``h * clip(0.9 * sqrt(tol / err), 0.2, max_growth)``. A step whose Newton iteration fails is
rejected and retried with a quarter of the size.

With fixed ``dt`` every step has size ``dt`` and the result is the exponential formula: save
times ``t_eval`` and ``t_final`` must be multiples of ``dt`` (a ValueError names the first one that
is not). ``uniform_steps=False`` lifts that rule: steps are then shortened where needed to land on
the off-lattice times, so they are no longer all ``dt`` (``history["dt"]`` shows it).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _validation as _v
from . import operators
from ._timeline import merge_tolerance, milestones, off_lattice
from .diagnostics import state_diagnostics
from .problem import setup
from .resolvent import Resolvent
from .solution import ConvergenceError, Solution
from .trackers import CallbackTracker, Tracker

__all__ = ["solve", "RunState"]

_HISTORY_KEYS = ("t", "dt", "mass", "jsd", "energy", "l1", "dissipation", "grad_v_norm2", "max_v",
                 "newton_iterations", "linear_iterations", "residual")


def solve(target, initial, grid, t_final, dt=1e-2, *, divergence="jsd", t_eval=None, rtol=None,
          atol=None, dt_initial=None, dt_min=1e-12, dt_max=None, max_growth=None,
          linear_solver="auto", newton_tol=1e-13, max_newton=50, trackers=None, callback=None, resume=None,
          uniform_steps=True, error_relative_to=None, force=False):
    r"""Solve the gradient flow of a divergence toward ``target`` from ``initial`` on ``grid``.

    Solves :math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))`, :math:`v = u/\rho_d` (the
    nonlinear Fokker-Planck equation, eq. 25/30-32 of Huang & Zhang 2023, for
    ``divergence="jsd"``) by finite volumes in space and backward Euler (the Crandall-Liggett
    resolvent, eq. 39) in time, each step by Newton's method on the convex step energy.

    Parameters
    ----------
    target : Gaussian, GaussianMixture or callable
        The data density rho_d (> 0 on every cell). Restricted to the box and normalised there.
    initial : Gaussian, GaussianMixture, callable or ndarray
        The initial density rho_0 (>= 0, positive mass); an array gives values on the cells.
    grid : Grid
    t_final : float
        Final time (>= 0).
    dt : float or "adaptive"
        Fixed step size, or ``"adaptive"`` for error-controlled steps (``rtol``, ``atol``).
    divergence : str or Divergence
        ``"jsd"`` (Jensen-Shannon, the paper's flow, default) or ``"kl"`` (linear Fokker-Planck).
    t_eval : sequence of float or "steps", optional
        Times at which to save the density (the loop lands on them exactly); default
        ``[0, t_final]``. ``"steps"`` saves every accepted step (e.g. to drive particles).
    rtol, atol : float
        Adaptive steps only (default 1e-4 and 1e-12; a ValueError with fixed ``dt``): tolerated
        local error per step in L1 of u (total mass 1); see the module docstring for the global
        error. Relative to what is set by ``error_relative_to``.
    error_relative_to : {"mass", "distance"}
        Adaptive steps only. ``"mass"`` (default): the tolerance is ``atol + rtol`` (total mass
        1), an error relative to the density; once ``||u - rho_d||_L1`` falls below ``rtol`` the
        steps grow quickly and late decay rates come out too slow. ``"distance"``: the tolerance
        is ``atol + rtol * ||u - rho_d||_L1``, so the error stays small against the distance
        being measured and long-time rates come out within ``~0.64 sqrt(rtol)`` (relative) of
        the continuous rate (module docstring).
    dt_initial, dt_min, dt_max : float, optional
        Adaptive steps: first trial step (default ``min(1e-3, t_final / 10)``), smallest step
        before giving up, largest step (``dt_initial`` and ``dt_max`` are adaptive-only).
        ``dt_min`` also bounds the step reduction after Newton failures with fixed steps.
    max_growth : float
        Adaptive steps only: largest factor between consecutive steps (default 5).
    linear_solver : {"auto", "banded", "direct", "amg", "multigrid"}
        See :class:`fokkerplanck.resolvent.Resolvent`.
    newton_tol : float
        Newton stops when the L1 residual of the step equation (units of mass) is below this, or
        when its correction falls to the round-off of w with a residual below 1e-8 (at very large
        steps the residual's round-off floor exceeds 1e-13). Either way the iterate is then
        rescaled by the ratio of old to new mass, so mass is conserved to round-off.
    max_newton : int
        Newton iterations per step before the step is rejected and retried smaller.
    trackers : list of Tracker, optional
        Observers called after every accepted step (progress bars, checkpoints, ...).
    callback : callable, optional
        ``callback(t, v, record)`` after every accepted step (a shortcut for a tracker).
    resume : RunState, optional
        Continue a run from a checkpointed :class:`RunState` (same problem and options); the
        result is identical to that of an uninterrupted run.
    uniform_steps : bool
        Fixed ``dt`` only (default True): every step is exactly ``dt``, so ``t_final`` and the
        ``t_eval`` times must be multiples of ``dt`` (else a ValueError before any work). False:
        steps are shortened to land on off-lattice times (not the exponential formula then).
    force : bool
        Skip the budget check (:mod:`fokkerplanck._budget`): by default a run whose estimated
        memory exceeds 80 % of the available memory, or with more than 10^7 steps (or 2e10
        cells x steps), is refused with a ValueError before any work.

    Returns
    -------
    Solution
        With ``t``, ``u`` (normalised densities at the saved times), ``history`` (diagnostics at
        every accepted step), counters, ``beta`` and the mass of rho_d outside the box.

    Raises
    ------
    ValueError
        Bad input, before any work (see :func:`fokkerplanck.problem.setup`).
    ConvergenceError
        A step failed even at ``dt_min``; ``err.solution`` holds everything computed so far.

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> grid = fp.Grid(lower=[-8.0], upper=[8.0], shape=[400])
    >>> sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.64]]), grid, t_final=1.0, dt=0.05)
    >>> bool(sol.history["jsd"][-1] < sol.history["jsd"][0])
    True
    """
    # ---- check everything before any work ----------------------------------------------------
    t_final = _v.positive_number("t_final", t_final, allow_zero=True)
    adaptive = isinstance(dt, str)
    if adaptive and dt != "adaptive":
        raise ValueError(f"dt must be a positive number or the string 'adaptive', got {dt!r}.")
    if not adaptive:
        dt = _v.positive_number("dt", dt)
        given = [name for name, val in (("rtol", rtol), ("atol", atol), ("dt_initial", dt_initial),
                                        ("dt_max", dt_max), ("max_growth", max_growth),
                                        ("error_relative_to", error_relative_to)) if val is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply to adaptive steps; pass dt='adaptive' or drop them.")
    rtol = _v.positive_number("rtol", 1e-4 if rtol is None else rtol)
    error_relative_to = _v.choice("error_relative_to", "mass" if error_relative_to is None else error_relative_to,
                                  ("mass", "distance"))
    atol = _v.positive_number("atol", 1e-12 if atol is None else atol, allow_zero=True)
    dt_min = _v.positive_number("dt_min", dt_min)
    if dt_max is not None:
        dt_max = _v.positive_number("dt_max", dt_max)
    if dt_initial is not None:
        dt_initial = _v.positive_number("dt_initial", dt_initial)
    max_growth = _v.positive_number("max_growth", 5.0 if max_growth is None else max_growth)
    if max_growth <= 1:
        raise ValueError(f"max_growth must exceed 1, got {max_growth}.")
    newton_tol = _v.positive_number("newton_tol", newton_tol)
    max_newton = _v.positive_int("max_newton", max_newton)
    save_steps = isinstance(t_eval, str)
    if save_steps and t_eval != "steps":
        raise ValueError(f"t_eval must be a sequence of times or the string 'steps', got {t_eval!r}.")
    if not save_steps:
        t_eval = _v.times(t_eval, t_final)
    if isinstance(trackers, Tracker):
        trackers = [trackers]
    try:
        trackers = list(trackers or [])
    except TypeError:
        raise ValueError(f"trackers must be a list of fokkerplanck Tracker objects, got {trackers!r}.") from None
    for tr in trackers:
        if not isinstance(tr, Tracker):
            raise ValueError(f"trackers must be fokkerplanck Tracker objects, got {type(tr).__name__}.")
    if callback is not None:
        if not callable(callback):
            raise ValueError("callback must be callable as callback(t, v, record).")
        trackers.append(CallbackTracker(callback))
    from . import _budget

    _budget.check_solve(grid, target, initial, t_final, "adaptive" if adaptive else dt, t_eval, linear_solver,
                        dt_max, force=force)
    if not adaptive and uniform_steps:
        bad_end = off_lattice([t_final], dt, t_final)
        bad = bad_end if bad_end.size else off_lattice([] if save_steps else t_eval, dt, t_final)
        if bad.size:
            what = "t_final" if bad_end.size else "the save time"
            raise ValueError(f"{what} {float(bad[0])!r} is not a multiple of dt = {dt!r}: fixed steps would have to be "
                             "shortened to land on it. Use save times k * dt (and t_final a multiple of dt), or "
                             "pass uniform_steps=False to accept non-uniform steps.")
    problem = setup(target, initial, grid, divergence)
    resolvent = Resolvent(problem.divergence, problem.coeffs, problem.cell_mass, linear_solver=linear_solver,
                          tol=newton_tol, max_iter=max_newton)

    options = dict(t_final=t_final, dt=("adaptive" if adaptive else dt), divergence=problem.divergence.name,
                   rtol=rtol, atol=atol, error_relative_to=error_relative_to if adaptive else None, dt_min=dt_min,
                   dt_max=dt_max, max_growth=max_growth,
                   linear_solver=resolvent.linear_solver, newton_tol=newton_tol, max_newton=max_newton,
                   t_eval=("steps" if save_steps else t_eval.tolist()),
                   uniform_steps=bool(uniform_steps) if not adaptive else None)
    if adaptive:
        controller = AdaptiveSteps(rtol=rtol, atol=atol, dt_initial=dt_initial, dt_max=dt_max,
                                   max_growth=max_growth, t_final=t_final, relative_to=error_relative_to)
    else:
        controller = FixedSteps(dt)
    loop = TimeLoop(problem, resolvent, controller, t_final=t_final, t_eval=None if save_steps else t_eval,
                    dt_min=dt_min, trackers=trackers, options=options)
    return loop.run(resume=resume)


@dataclass
class RunState:
    """Everything the time loop needs to continue a run exactly where it stopped.

    Trackers that set ``wants_state = True`` receive it after every accepted step (to write
    checkpoints); ``solve(..., resume=state)`` continues from it with results identical to an
    uninterrupted run. Arrays are live references: copy them if you keep them.
    """

    t: float
    v: np.ndarray
    phi: np.ndarray
    v_prev: np.ndarray | None
    h_prev: float | None
    h_next: float
    mark_index: int
    history: dict
    saved_t: list
    saved_v: list
    counters: dict
    solver: dict = field(default_factory=dict)  # the resolvent's reused state (Resolvent.get_state)


class FixedSteps:
    """Step-size control for a fixed ``dt``: every step is ``dt`` (shortened only to land on a mark)."""

    adaptive = False

    def __init__(self, dt: float):
        self.dt = dt

    def initial_step(self) -> float:
        return self.dt

    def judge(self, state, h, res, cell_mass, coeffs):
        """``(accept, next step)`` for a converged step of size ``h`` from ``state`` to ``res``."""
        return True, self.dt

    def after_landing(self, h, h_next):
        return h_next


class AdaptiveSteps:
    """Error-controlled steps: the backward-Euler step against a forward-Euler predictor.

    The local error of a step of size ``h`` is estimated in L1 of u as half the difference
    between the implicit solution and the linear extrapolation of the last two accepted states
    (which is a forward-Euler step from the last one; the forward-Euler step itself on the first
    step); the step is accepted when the estimate is below ``atol + rtol * D`` (``D = 1`` for
    ``relative_to="mass"``, ``D = ||u - rho_d||_L1`` of the new state for ``"distance"``) and
    the next step is scaled by ``0.9 sqrt(tol / err)`` within ``[0.2, max_growth]`` (see
    docs/mathematics.md, section 5, and the module docstring).
    """

    adaptive = True

    def __init__(self, rtol, atol, dt_initial, dt_max, max_growth, t_final, relative_to="mass"):
        if relative_to not in ("mass", "distance"):
            raise ValueError(f"relative_to must be 'mass' or 'distance', got {relative_to!r}.")
        self.rtol, self.atol, self.relative_to = rtol, atol, relative_to
        self.tol = atol + rtol
        self.dt_initial = dt_initial or min(1e-3, t_final / 10 if t_final > 0 else 1e-3)
        self.dt_max = dt_max
        self.max_growth = max_growth

    def initial_step(self) -> float:
        return self.dt_initial

    def error(self, state, h, res, cell_mass, coeffs) -> float:
        if state.v_prev is None:  # first step: forward-Euler comparison, no division by cell masses
            return 0.5 * h * float(np.sum(np.abs(operators.apply_laplacian(coeffs, res.w - state.phi))))
        # linear extrapolation = forward Euler from v^n (v^n - v^{n-1} = h_{n-1} F(v^n)): weight 1/2
        pred = state.v + (h / state.h_prev) * (state.v - state.v_prev)
        return 0.5 * float(np.sum(cell_mass * np.abs(res.v - pred)))

    def tolerance(self, res, cell_mass) -> float:
        if self.relative_to == "mass":
            return self.atol + self.rtol
        return self.atol + self.rtol * float(np.sum(cell_mass * np.abs(res.v - 1.0)))

    def judge(self, state, h, res, cell_mass, coeffs):
        err = self.error(state, h, res, cell_mass, coeffs)
        self.tol = tol = self.tolerance(res, cell_mass)
        factor = 0.9 * math.sqrt(tol / err) if err > 0 else self.max_growth
        self.last_error = err
        if err > tol:
            return False, h * max(0.2, min(0.9, factor))
        return True, h * max(0.2, min(self.max_growth, factor))

    def after_landing(self, h, h_next):
        # a step shortened to hit a save time must not shrink the next one
        return max(h_next, h) if h < 0.5 * h_next else h_next


class TimeLoop:
    """The time loop of :func:`solve`: implicit steps from mark to mark, records, saves, trackers.

    ``controller`` (:class:`FixedSteps` or :class:`AdaptiveSteps`) proposes and judges step sizes;
    a step whose Newton iteration fails is retried at a quarter of its size down to ``dt_min``.
    """

    def __init__(self, problem, resolvent, controller, *, t_final, t_eval, dt_min, trackers, options):
        self.problem, self.resolvent, self.controller = problem, resolvent, controller
        self.t_final, self.t_eval, self.dt_min = t_final, t_eval, dt_min
        self.trackers, self.options = trackers, options
        self.marks = milestones(t_final, None if controller.adaptive else controller.dt, t_eval)
        self.save_tol = merge_tolerance(t_final)
        self.shortened = False  # a fixed step was retried shorter after a Newton failure

    # --- records -----------------------------------------------------------------------------
    def record(self, st, h, newton, linear, residual):
        p = self.problem
        rec = state_diagnostics(st.v, p.cell_mass, p.coeffs, p.divergence, phi=st.phi)
        rec.update(t=st.t, dt=h, newton_iterations=newton, linear_iterations=linear, residual=residual)
        for k in _HISTORY_KEYS:
            st.history[k].append(rec[k])
        return rec

    def maybe_save(self, st):
        if self.t_eval is None or np.any(np.abs(self.t_eval - st.t) <= self.save_tol):
            st.saved_t.append(st.t)
            st.saved_v.append(st.v.copy())

    def build(self, st, status, message) -> Solution:
        p = self.problem
        shape = p.grid.shape
        u = (np.asarray(st.saved_v).reshape(len(st.saved_v), *shape) * p.rho if st.saved_v
             else np.empty((0, *shape)))
        return Solution(t=np.asarray(st.saved_t), u=u, history={k: np.asarray(val) for k, val in st.history.items()},
                        grid=p.grid, rho_d=p.rho, divergence=p.divergence.name, beta=p.beta,
                        target_mass_outside=p.target_mass_outside,
                        initial_mass_outside=p.initial_mass_outside, status=status, message=message,
                        options=self.options, **st.counters)

    def initial_state(self) -> RunState:
        p = self.problem
        st = RunState(t=0.0, v=p.v0.copy(), phi=p.divergence.phi(p.v0), v_prev=None, h_prev=None,
                      h_next=self.controller.initial_step(), mark_index=0,
                      history={k: [] for k in _HISTORY_KEYS}, saved_t=[], saved_v=[],
                      counters=dict(n_steps=0, n_rejected=0, n_newton=0, n_linear=0))
        self.record(st, 0.0, 0, 0, 0.0)
        self.maybe_save(st)
        return st

    def fail(self, st, msg, h, residual):
        sol = self.build(st, -1, msg)
        for tr in self.trackers:
            tr.finish(sol)
        raise ConvergenceError(msg, solution=sol, step=st.counters["n_steps"], time=st.t, dt=h, residual=residual)

    # --- the loop ----------------------------------------------------------------------------
    def run(self, resume=None) -> Solution:
        for tr in self.trackers:
            tr.start(self.problem, self.t_final)
        if resume is not None:  # a checkpoint: check it against this run, restore the linear solver's state
            from .io.checkpoint import restore_solver_state, validate_state

            validate_state(resume, self.problem.grid.shape, self.marks, self.t_final, where="resume")
            restore_solver_state(self.resolvent, resume)
        st = self.initial_state() if resume is None else resume
        counters, ctl, p = st.counters, self.controller, self.problem
        while st.mark_index < len(self.marks):
            target_t = self.marks[st.mark_index]
            h = min(st.h_next, target_t - st.t)
            if getattr(ctl, "dt_max", None) is not None:
                h = min(h, ctl.dt_max)
            lands = (target_t - st.t) - h <= 1e-12 * max(1.0, self.t_final)
            res = self.resolvent(st.v, h, w0=st.phi)
            counters["n_newton"] += res.newton_iterations
            counters["n_linear"] += res.linear_iterations
            if not res.converged:
                counters["n_rejected"] += 1
                st.h_next = h / 4
                if st.h_next < self.dt_min:
                    self.fail(st, f"Newton's method failed at step {counters['n_steps']} from t = {st.t:.6g} "
                              f"even with dt = {h:.3g} ({res.message}; residual {res.residual:.3g}, "
                              f"{res.newton_iterations} iterations). Try a finer grid, a smaller dt_min or a "
                              "larger max_newton.", h, res.residual)
                if not ctl.adaptive and not self.shortened:
                    warnings.warn(f"fixed dt = {ctl.dt:g}: Newton's method failed on the step from t = {st.t:.6g}, "
                                  f"which is retried with dt = {st.h_next:.3g}; the steps of this run are therefore "
                                  "not uniform (the solution's message says so; n_rejected counts the retries). "
                                  "A smaller dt avoids this.", RuntimeWarning, stacklevel=3)
                self.shortened = True
                continue
            accept, h_next = ctl.judge(st, h, res, p.cell_mass, p.coeffs)
            if not accept:
                counters["n_rejected"] += 1
                st.h_next = h_next
                if st.h_next < self.dt_min:
                    self.fail(st, f"adaptive step size fell below dt_min = {self.dt_min:g} at t = {st.t:.6g} "
                              f"(error estimate {ctl.last_error:.3g} > tolerance {ctl.tol:.3g}).", h, res.residual)
                continue
            # accept
            st.v_prev, st.h_prev = st.v, h
            st.v, st.phi = res.v, res.w
            st.t = float(target_t) if lands else st.t + h
            if lands:
                st.mark_index += 1
                h_next = ctl.after_landing(h, h_next)
            counters["n_steps"] += 1
            st.h_next = h_next
            rec = self.record(st, h, res.newton_iterations, res.linear_iterations, res.residual)
            self.maybe_save(st)
            for tr in self.trackers:
                tr.update(st.t, st.v, rec)
                if getattr(tr, "wants_state", False):
                    st.solver = self.resolvent.get_state()
                    tr.update_state(st)
        message = "reached t_final"
        if self.shortened and not self.controller.adaptive:
            message += (f"; steps not uniform: {st.counters['n_rejected']} step(s) of dt = {self.controller.dt:g} were "
                        "retried shorter after Newton failures")
        sol = self.build(st, 0, message)
        for tr in self.trackers:
            tr.finish(sol)
        return sol
