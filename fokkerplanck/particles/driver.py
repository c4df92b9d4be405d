r"""The particle driver :func:`simulate`: check everything, build the velocity field, step, return.

Section 5 of Huang & Zhang (2023) builds a solution of the distribution-dependent ODE

.. math::

    \frac{dY_t}{dt} = b(t, Y_t),\qquad
    b = -\nabla\frac{\delta J}{\delta\rho}(u(t)) = -\frac12\nabla\ln\frac{u}{\rho_d + u}
    \qquad\text{(eq. 2, 16, 49)}

from the solution ``u`` of the Fokker-Planck equation (25) by Trevisan's superposition
principle: the flow of ``b`` carries :math:`\rho_0` to :math:`u(t)`. :func:`simulate` moves ``n``
particles with one of the velocity fields of :mod:`fokkerplanck.particles.velocities` (found by
name in ``VELOCITIES``, or a callable) and one of the integrators of
:mod:`fokkerplanck.particles.integrators` (``METHODS``: Euler, midpoint, classical Runge-Kutta;
``SDE_METHODS``: Euler-Maruyama for the SDE of eq. 30); steps are shortened to land exactly on
``t_eval`` (:func:`fokkerplanck._timeline.milestones`, shared with the grid solver).

Walls (no-flux). In ``"grid"`` mode the particles live in the solution's box; with ``grid=`` the
other modes do too. A step that overshoots a wall is corrected by reflection
(:func:`~fokkerplanck.particles.integrators.reflect`); reflections are counted in
``Ensemble.n_reflections``. On a periodic axis of the grid positions wrap around instead
(:func:`~fokkerplanck.particles.integrators.confine`), initial samples included, and the fields
are periodic: ``"grid"`` is interpolated across the seam, ``"kde"`` and ``"sde"`` sum their kernel
over the particles' images and wrap the target (:mod:`~fokkerplanck.particles.velocities.kde`);
``"discriminator"`` is refused (its classifier is not periodic).

References
----------
Y.-J. Huang, Y. Zhang, "GANs as gradient flows that converge", JMLR 24(217) 2023, eq. 2, 16,
25, 30, 49 and Section 5.
D. Trevisan, "Well-posedness of multidimensional diffusion processes with weakly differentiable
coefficients", Electron. J. Probab. 21 (2016) 1-41 (superposition principle).
"""

from __future__ import annotations

import time as _time
import warnings

import numpy as np

from ..flow import budget as _budget
from ..flow import sampling as _sampling
from .. import _validation as _v
from .._timeline import merge_tolerance, milestones
from ..flow.densities import Density
from ..flow.divergences import get_divergence
from ..flow.grid import Grid
from .ensemble import Ensemble
from .integrators import METHODS, SDE_METHODS, confine
from ..flow.sampling import sample
from .velocities import VELOCITIES, CustomVelocity, FlowArguments

__all__ = ["simulate"]


def simulate(target, initial, t_final, n=None, velocity="grid", *, solution=None, dt=1e-2, method=None, seed=None,
             t_eval=None, divergence=None, sampling="iid", x0=None, grid=None, data=None,
             velocity_options=None, domain=None, force=False) -> Ensemble:
    r"""Move ``n`` particles from :math:`\rho_0` along the gradient flow's velocity field.

    Solves :math:`dY/dt = b(t, Y)` with :math:`b = -\nabla f'(u/\rho_d)` (eq. 2/16/49 of Huang &
    Zhang 2023 for Jensen-Shannon), or the SDE of eq. (30), for an ensemble whose empirical law
    approximates :math:`u(t)` (see :mod:`fokkerplanck.particles.velocities` for the velocity fields and
    :mod:`fokkerplanck.particles.integrators` for the integrators and walls).

    Parameters
    ----------
    target : Gaussian, GaussianMixture or None
        :math:`\rho_d`. Needed (with ``logpdf`` and ``grad_logpdf``) by ``"kde"`` and ``"sde"``;
        only its dimension is used by ``"grid"``; may be None for ``"discriminator"`` and callables.
    initial : Gaussian, GaussianMixture, (Grid, values), ndarray or None
        :math:`\rho_0`, sampled with ``sampling``; values on the cells use the solution's grid (or
        ``grid``). None when ``x0`` gives the positions. Samples outside the box are reflected
        in; the grid solver instead restricts rho_0 to the box and renormalises, so when rho_0 has
        visible mass outside the box pass ``initial=sol.u[0]`` (sampled exactly, piecewise constant).
    t_final : float
        Final time (>= 0).
    n : int
        Number of particles (> 0); may be omitted when ``x0`` is given.
    velocity : str or callable
        A name in :data:`~fokkerplanck.particles.velocities.base.VELOCITIES` (``"grid"``, ``"kde"``,
        ``"sde"``, ``"discriminator"``) or a callable ``field(t, x) -> (n, d)``, used as given.
    solution : Solution
        ``"grid"`` only: the grid solution whose velocity drives the particles; its frames must
        cover ``[0, t_final]`` (solve with ``t_eval="steps"``).
    dt : float
        Step size.
    method : {"euler", "rk2", "rk4"}, "euler-maruyama" or None
        Integrator; default ``"rk4"`` for the ODE modes, ``"euler-maruyama"`` for ``"sde"``.
    seed : int, Generator or None
        Seeds the initial sample, the SDE noise and the discriminator.
    t_eval : sequence of float, optional
        Times to save (default ``[0, t_final]``), increasing, in ``[0, t_final]``.
    divergence : str, optional
        A registered divergence, default ``"jsd"`` (``"sde"``: one with a finite positive
        :math:`\Phi'(0^+)`, e.g. ``"jsd"``, ``"kl"``); in ``"grid"`` mode the solution's (passing
        another one is an error).
    sampling : {"iid", "sobol"}
        Initial positions i.i.d. or quasi-Monte Carlo (:mod:`fokkerplanck.particles.sampling`).
    x0 : array_like, shape (n, d), optional
        Initial positions instead of sampling ``initial``.
    grid : Grid, optional
        Box with reflecting walls for the non-grid modes (default: unbounded); its periodic axes
        wrap (module docstring). In ``"grid"`` mode the solution's grid (``grid=`` may be omitted or
        repeat it).
    data : array_like, shape (m, d)
        ``"discriminator"`` only: samples of :math:`\rho_d`.
    velocity_options : dict, optional
        Handed to the velocity field, which checks them: the options its class declares
        (``VelocityField.options``, listed under "Other Parameters" of each class): ``"grid"``:
        ``floor``; ``"kde"``/``"sde"``: ``bandwidth``, ``estimator``, ``bins_per_bandwidth``,
        ``cutoff``, ``max_nodes``, ``exact_max``; ``"discriminator"``: ``calibrator``, the others
        passed to :mod:`fokkerplanck.gan`.
    domain : Grid, optional
        Deprecated spelling of ``grid`` (a ``DeprecationWarning``).
    force : bool
        Skip the budget check (:mod:`fokkerplanck.flow.budget`): by default more than 10^7 steps, an
        estimated memory beyond 80 % of the available memory, or too many particle-steps is
        refused with a ValueError before any work.

    Returns
    -------
    Ensemble
        ``status`` 0 when ``t_final`` was reached; -1 (with a ``RuntimeWarning``) when a step gave
        non-finite positions, keeping the positions saved before.

    Raises
    ------
    ValueError
        Bad input, before any work: unknown names, ``n <= 0``, wrong shapes or dimensions,
        ``velocity="grid"`` without a solution or beyond its last frame, ``"discriminator"``
        without ``data``.

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
    >>> box = fp.Grid([-6.0], [6.0], [300])
    >>> sol = fp.solve(target, initial, box, 0.2, dt=0.02, t_eval="steps")
    >>> ens = simulate(target, initial, 0.2, n=1000, velocity="grid", solution=sol, dt=0.02, seed=0)
    >>> ens.positions.shape
    (2, 1000, 1)
    """

    # ---- check everything before any work --------------------------------------------------------
    if domain is not None:
        warnings.warn("domain= is deprecated; use grid=", DeprecationWarning, stacklevel=2)
        if grid is not None:
            raise ValueError("give the box once: grid= (domain= is its deprecated spelling).")
        grid = domain
    field_class = _field_class(velocity)
    t_final = _v.positive_number("t_final", t_final, allow_zero=True)
    dt = _v.positive_number("dt", dt)
    method = field_class.method(method)
    sampling = _sampling.check_method(sampling)
    if velocity_options is None:
        velocity_options = {}
    if not isinstance(velocity_options, dict):
        raise ValueError(f"velocity_options must be a dict, got {type(velocity_options).__name__}.")
    if grid is not None and not isinstance(grid, Grid):
        raise ValueError(f"grid must be a fokkerplanck.Grid (its box is used), got {type(grid).__name__}.")
    args = FlowArguments(target=target, solution=solution, divergence=divergence, data=data, grid=grid, seed=seed,
                         t_final=t_final, options=dict(velocity_options), function=velocity)
    field_class.check(args)
    why = None if args.divergence is None else field_class.unavailable(get_divergence(args.divergence))
    if why is not None:
        raise ValueError(why)
    d, grid = args.d, args.grid
    if grid is not None and grid.is_periodic and field_class.name == "discriminator":
        raise ValueError(f"velocity='discriminator' on a periodic grid ({grid!r}) is not supported: its classifier "
                         "is fitted in the whole space (no periodic features), so its field would jump at the seam. "
                         "Use velocity='grid', 'kde' or 'sde' (periodic), or a periodic callable field.")
    if grid is not None and d is not None and grid.ndim != d:
        raise ValueError(f"grid is {grid.ndim}-dimensional but the flow is {d}-dimensional.")
    if x0 is not None:
        x0 = _given_positions(x0, d)
        if n is not None and n != x0.shape[0]:
            raise ValueError(f"n = {n} but x0 holds {x0.shape[0]} positions; omit n or make them agree.")
        n, d = x0.shape
    n = _v.positive_int("the number of particles n", n)
    if d is None:
        d = getattr(initial, "ndim", None) if not isinstance(initial, np.ndarray) else None
        if d is None:
            raise ValueError("cannot tell the dimension: give a target density, x0 or data.")
    if d not in (1, 2, 3):
        raise ValueError(f"particles live in 1, 2 or 3 dimensions, got {d}.")
    t_eval = _v.times(t_eval, t_final)
    _budget.check_particles(n, t_final, dt, len(t_eval), d, velocity, force=force)  # before any work
    rng = _v.seed_rng(seed)
    field = field_class.from_arguments(args)  # may still raise on bad options: no work done yet
    if x0 is None:
        if initial is None:
            raise ValueError("give the initial density (initial=) or the initial positions (x0=).")
        x, sampled = _initial_positions(initial, n, d, rng, sampling, grid), sampling
    else:
        x, sampled = x0.copy(), "given"
        if grid is not None and not np.all(grid.contains(x)):
            bad = int(np.sum(~grid.contains(x)))
            raise ValueError(f"{bad} of the initial positions x0 lie outside the box {grid.lower.tolist()} .. "
                             f"{grid.upper.tolist()}; move them inside (walls only reflect small overshoots of a "
                             "step).")
    x = np.ascontiguousarray(x, dtype=float)
    if x.shape != (n, d):
        raise ValueError(f"the initial positions have shape {x.shape}, expected ({n}, {d}).")

    # ---- the time loop ---------------------------------------------------------------------------
    step = (SDE_METHODS if field.stochastic else METHODS)[method]
    box = None if grid is None else (np.asarray(grid.lower, dtype=float), np.asarray(grid.upper, dtype=float),
                                     tuple(bool(p) for p in grid.periodic))
    n_reflections = confine(x, *box) if box else 0  # samples of a wrapped density: sample, then wrap
    marks = milestones(t_final, dt, t_eval)
    tol = merge_tolerance(t_final)
    saved_t, saved_x = ([0.0], [x.copy()]) if t_eval[0] <= tol else ([], [])
    t, n_steps, n_evals, status, message = 0.0, 0, 0, 0, "reached t_final"
    start, start_cpu = _time.perf_counter(), _time.process_time()
    for mark in marks:
        x, k = step(field, t, x, float(mark) - t, rng)
        n_steps, n_evals = n_steps + 1, n_evals + k
        if x.shape != (n, d):
            raise ValueError(f"the velocity field returned shape {x.shape}, expected ({n}, {d}).")
        if not np.all(np.isfinite(x)):
            status, message = -1, (f"the step from t = {t:.6g} to {float(mark):.6g} gave non-finite positions; "
                                   "the velocity field returned NaN or inf, or dt is too large")
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            break
        if box:
            n_reflections += confine(x, *box)
        t = float(mark)
        if np.any(np.abs(t_eval - t) <= tol) and not (saved_t and abs(saved_t[-1] - t) <= tol):
            saved_t.append(t)
            saved_x.append(x.copy())
    wall, cpu = _time.perf_counter() - start, _time.process_time() - start_cpu
    return Ensemble(t=np.asarray(saved_t), positions=np.stack(saved_x) if saved_x else np.empty((0, n, d)),
                    velocity=field.name, method=method, n=n, seed=seed, dt=dt, divergence=args.divergence,
                    sampling=sampled, grid=grid, status=status, message=message, n_steps=n_steps,
                    n_field_evaluations=n_evals, n_reflections=n_reflections, wall_time=wall, cpu_time=cpu,
                    options=dict(velocity_options=dict(velocity_options), t_final=t_final, t_eval=t_eval.tolist()))


def _field_class(velocity):
    """The class of ``velocity=``: a name in VELOCITIES, or a callable (CustomVelocity)."""
    if callable(velocity) and not isinstance(velocity, str):
        return CustomVelocity
    if velocity in VELOCITIES:
        return VELOCITIES.get(velocity)
    raise ValueError(f"unknown velocity {velocity!r}; use one of {tuple(VELOCITIES.names())} or a callable "
                     "field(t, x) -> (n, d).")


def _given_positions(x0, d) -> np.ndarray:
    """``x0`` as finite positions of shape ``(n, d)`` (a flat array in 1-D)."""
    shape = np.shape(x0)
    if d is not None and not (len(shape) == 2 and shape[1] == d or len(shape) == 1 and d == 1):
        raise ValueError(f"x0 must have shape (n, {d}), got {shape}.")
    return _v.as_samples(x0, "x0")


def _initial_positions(initial, n, d, rng, sampling, grid):
    """``n`` positions drawn from ``initial`` (a density, (grid, values) or values on ``grid``)."""
    if isinstance(initial, Density):
        if initial.ndim != d:
            raise ValueError(f"the initial density is {initial.ndim}-dimensional but the flow is {d}-dimensional.")
        if not hasattr(initial, "sample"):
            raise ValueError(f"cannot sample the initial density {type(initial).__name__}; pass initial as "
                             "(grid, values) or positions via x0=.")
        return sample(initial, n, seed=rng, method=sampling)
    if isinstance(initial, tuple):
        if len(initial) != 2 or not isinstance(initial[0], Grid) or initial[0].ndim != d:
            raise ValueError(f"initial as a tuple must be (grid, values) with a {d}-dimensional Grid.")
        return sample(initial, n, seed=rng, method=sampling)
    if isinstance(initial, np.ndarray):
        if grid is None:
            raise ValueError("initial given as values on grid cells needs a grid: pass (grid, values), or use "
                             "velocity='grid' (the solution's grid) or grid=.")
        if initial.shape != grid.shape:
            raise ValueError(f"initial values have shape {initial.shape} but the grid has shape {grid.shape}; "
                             "to give particle positions use x0=.")
        return sample((grid, initial), n, seed=rng, method=sampling)
    if callable(initial) and grid is not None:
        return sample(initial, n, seed=rng, method=sampling, grid=grid)
    raise ValueError(f"initial must be a Gaussian, a GaussianMixture, (grid, values) or values on the grid, got "
                     f"{type(initial).__name__}; to give particle positions use x0=.")
