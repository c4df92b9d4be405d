r"""``solve``: the driver of a grid run (check, look up the members, hand each its options, run the loop).

The time loop, the schemes and the step-size controllers are in :mod:`fokkerplanck.flow.stepping`;
one implicit step is the resolvent of :mod:`fokkerplanck.flow.resolvent`; the linear solvers are in
:mod:`fokkerplanck.flow.linear`.

With fixed ``dt`` every step has size ``dt`` and the result is the exponential formula
:math:`(I + \tfrac{t}{n}A)^{-n}v_0`: save times ``t_eval`` and ``t_final`` must be multiples of
``dt`` (a ValueError names the first one that is not). ``uniform_steps=False`` lifts that rule:
steps are then shortened where needed to land on the off-lattice times, so they are no longer all
``dt`` (``history["dt"]`` shows it). Adaptive steps (``dt="adaptive"``) control the scheme's local
error estimate (:mod:`fokkerplanck.flow.stepping.controllers`).
"""

from __future__ import annotations

from .. import _validation as _v
from .._timeline import off_lattice
from .budget import check_solve
from .problem import setup
from .resolvent import Resolvent
from .stepping import RunState, TimeLoop, get_scheme, make_controller
from .trackers import CallbackTracker, Tracker

__all__ = ["solve", "RunState"]


def solve(target, initial, grid, t_final, dt=1e-2, *, divergence="jsd", t_eval=None, rtol=None,
          atol=None, dt_initial=None, dt_min=1e-12, dt_max=None, max_growth=None,
          linear_solver="auto", newton_tol=1e-13, max_newton=50, trackers=None, callback=None, resume=None,
          uniform_steps=True, error_relative_to=None, force=False, scheme="euler"):
    r"""Solve the gradient flow of a divergence toward ``target`` from ``initial`` on ``grid``.

    Solves :math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))`, :math:`v = u/\rho_d` (the
    nonlinear Fokker-Planck equation, eq. 25/30-32 of Huang & Zhang 2023, for
    ``divergence="jsd"``) by finite volumes in space and implicit steps in time (backward Euler, the
    Crandall-Liggett resolvent of eq. 39, by default), each step by Newton's method on the convex
    step energy.

    The driver checks what is common to every run and hands each part its own options: the step
    controller checks the step options (:func:`~fokkerplanck.flow.stepping.make_controller`), the
    linear-solver registry ``linear_solver``, the scheme registry ``scheme``, the divergence
    registry ``divergence``.

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
        A registered name (``"jsd"``, Jensen-Shannon, the paper's flow, default; ``"kl"``, ``"chi2"``,
        ``"hellinger"``; :func:`fokkerplanck.available_divergences`) or a :class:`Divergence`.
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
    linear_solver : str
        ``"auto"`` or a name in :data:`fokkerplanck.flow.linear.LINEAR_SOLVERS` (``"banded"``,
        ``"direct"``, ``"amg"``, ``"multigrid"``); see :class:`fokkerplanck.flow.resolvent.Resolvent`.
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
    scheme : str
        The time-stepping scheme, a name in :data:`fokkerplanck.flow.stepping.SCHEMES`
        (``"euler"``: backward Euler, the default).
    resume : RunState, optional
        Continue a run from a checkpointed :class:`RunState` (same problem and options); the
        result is identical to that of an uninterrupted run.
    uniform_steps : bool
        Fixed ``dt`` only (default True): every step is exactly ``dt``, so ``t_final`` and the
        ``t_eval`` times must be multiples of ``dt`` (else a ValueError before any work). False:
        steps are shortened to land on off-lattice times (not the exponential formula then).
    force : bool
        Skip the budget check (:mod:`fokkerplanck.flow.budget`): by default a run whose estimated
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
        Bad input, before any work (see :func:`fokkerplanck.flow.problem.setup`).
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
    step_scheme = get_scheme(scheme)
    controller = make_controller(dt, t_final, step_scheme, rtol=rtol, atol=atol, dt_initial=dt_initial,
                                 dt_max=dt_max, max_growth=max_growth, error_relative_to=error_relative_to)
    dt_min = _v.positive_number("dt_min", dt_min)
    newton_tol = _v.positive_number("newton_tol", newton_tol)
    max_newton = _v.positive_int("max_newton", max_newton)
    save_steps = isinstance(t_eval, str)
    if save_steps and t_eval != "steps":
        raise ValueError(f"t_eval must be a sequence of times or the string 'steps', got {t_eval!r}.")
    if not save_steps:
        t_eval = _v.times(t_eval, t_final)
    trackers = _trackers(trackers, callback)
    uniform_steps = _v.boolean("uniform_steps", uniform_steps)
    force = _v.boolean("force", force)
    if resume is not None and not isinstance(resume, RunState):
        raise ValueError(f"resume must be a RunState (from a checkpoint or a tracker with wants_state), "
                         f"got {type(resume).__name__}.")
    check_solve(grid, target, initial, t_final, "adaptive" if adaptive else controller.dt, t_eval, linear_solver,
                getattr(controller, "dt_max", None), force=force, divergence=divergence)
    if not adaptive and uniform_steps:
        _check_lattice(t_final, controller.dt, [] if save_steps else t_eval)
    problem = setup(target, initial, grid, divergence)
    resolvent = Resolvent(problem.divergence, problem.coeffs, problem.cell_mass, linear_solver=linear_solver,
                          tol=newton_tol, max_iter=max_newton)
    step = controller.options() if adaptive else dict(rtol=1e-4 if rtol is None else rtol,
                                                      atol=1e-12 if atol is None else atol,
                                                      error_relative_to=None, dt_max=None, max_growth=5.0)
    options = dict(t_final=t_final, dt=("adaptive" if adaptive else controller.dt), divergence=problem.divergence.name,
                   rtol=step["rtol"], atol=step["atol"], error_relative_to=step["error_relative_to"], dt_min=dt_min,
                   dt_max=step["dt_max"], max_growth=step["max_growth"],
                   linear_solver=resolvent.linear_solver, newton_tol=newton_tol, max_newton=max_newton,
                   t_eval=("steps" if save_steps else t_eval.tolist()),
                   uniform_steps=bool(uniform_steps) if not adaptive else None, scheme=step_scheme.name)
    loop = TimeLoop(problem, resolvent, controller, t_final=t_final, t_eval=None if save_steps else t_eval,
                    dt_min=dt_min, trackers=trackers, options=options, scheme=step_scheme)
    return loop.run(resume=resume)


def _trackers(trackers, callback) -> list:
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
    return trackers


def _check_lattice(t_final, dt, t_eval) -> None:
    bad_end = off_lattice([t_final], dt, t_final)
    bad = bad_end if bad_end.size else off_lattice(t_eval, dt, t_final)
    if bad.size:
        what = "t_final" if bad_end.size else "the save time"
        raise ValueError(f"{what} {float(bad[0])!r} is not a multiple of dt = {dt!r}: fixed steps would have to be "
                         "shortened to land on it. Use save times k * dt (and t_final a multiple of dt), or "
                         "pass uniform_steps=False to accept non-uniform steps.")
