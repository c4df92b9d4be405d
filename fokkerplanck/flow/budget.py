"""The budget check: refuse, before any work, a run that cannot fit in memory or would not end.

:func:`check` estimates the memory a run adds (the arrays on the cells, the saved frames, the
per-step history, the linear solver that will run, the particles times their snapshots, the
evaluation of the densities) and its work (the number of time steps, cells x
steps, particles x steps, cells x mixture components or samples), and compares them with

- ``MEMORY_FRACTION`` (80 %) of the memory the machine has available now (``MemAvailable`` in
  ``/proc/meminfo``; ``os.sysconf`` elsewhere; no machine check when neither is readable), and
  ``FOKKERPLANCK_MAX_MEMORY`` (an environment variable, in GiB) if set;
- the documented limits ``MAX_STEPS``, ``MAX_CELL_STEPS``, ``MAX_PARTICLE_STEPS``, ``MAX_EVALUATIONS``.

Beyond any of them it raises :class:`BudgetError` (a ValueError) with the estimate and what to
reduce; ``force=True`` (the API) or ``--force`` (the command line) skips the check deliberately.
The linear solver's part is the memory model of the solver that will run: the entry that
``linear_solver`` (``"auto"`` resolved by the solvers' own rules) selects in
:data:`fokkerplanck.flow.linear.LINEAR_SOLVERS` (:meth:`~fokkerplanck.flow.linear.LinearSolver.memory_bytes`).
The other parts are per-cell costs measured on this package's runs. The estimate is held within
0.5x-2x of the measured peak resident memory of 2-D 1024^2 and 3-D 64^3 runs by the tests
(tests/flow/test_budget_memory.py); it exists to refuse runs that cannot fit, not to predict to the megabyte.
Not modelled: numba's first compilation of the kernels on a machine (once; they are cached on
disk), which can add a few hundred MB to the first run's peak.
"""

from __future__ import annotations

import math
import os

from .divergences import get_divergence
from .linear import select

__all__ = ["BudgetError", "Estimate", "check", "available_memory", "MAX_STEPS", "MAX_CELL_STEPS",
           "MAX_PARTICLE_STEPS", "MAX_EVALUATIONS", "MEMORY_FRACTION"]

MAX_STEPS = 10**7             # time steps of one run (grid or particles)
MAX_CELL_STEPS = 2 * 10**10   # cells x steps (about an hour of 1-D steps; far more in 2-D/3-D)
MAX_PARTICLE_STEPS = 10**11   # particles x steps
MAX_EVALUATIONS = 2 * 10**9   # cells x (mixture components or KDE samples) to put the densities on the grid
MEMORY_FRACTION = 0.8         # of the available memory

#: Float64 arrays per cell that a run holds besides the linear solver and the saved frames: the
#: problem (rho_d, v, cell masses, face coefficients), the state and the Newton iteration's
#: vectors and temporaries, the per-step diagnostics. Measured as the growth of the peak resident
#: memory with the grid on 2-D 512^2 -> 1024^2 and 3-D 32^3 -> 64^3 JSD runs (about 300 bytes per
#: cell in all, of which the multigrid's ~115 and two saved frames' 16); see tests/flow/test_budget_memory.py.
ARRAYS_PER_CELL = 24


class BudgetError(ValueError):
    """A run refused by the budget check (too much memory or work); ``force=True`` overrides."""


def available_memory() -> tuple[float | None, str]:
    """Bytes of memory available now, and where the number comes from (None if unknown)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0, "MemAvailable"
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")), "free physical memory"
    except (AttributeError, ValueError, OSError):
        return None, "unknown"


def _gib(x: float) -> str:
    return f"{x / 2**30:.3g} GiB"


def process_memory() -> float:
    """Bytes of memory this process holds now (resident set; 0 when it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:
            return float(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return 0.0


class Estimate:
    """What :func:`check` estimated.

    ``memory``: bytes the run will add (compared with the available memory), ``parts``: the same
    by part, ``process``: what the process held when it was estimated (interpreter, libraries,
    compiled kernels), ``peak``: ``process + memory``, the peak resident memory to expect;
    ``steps``.
    """

    def __init__(self, memory, steps, parts, process=0.0):
        self.memory, self.steps, self.parts, self.process = memory, steps, parts, process

    @property
    def peak(self) -> float:
        return self.process + self.memory

    def __repr__(self):
        return f"Estimate(memory={_gib(self.memory)}, peak={_gib(self.peak)}, steps={self.steps:.3g})"


def check(*, cells=0, ndim=1, frames=0, steps=None, linear_bytes=0.0, evaluations=0, particles=0,
          particle_dim=1, particle_frames=0, particle_steps=None, pair_interactions=False, force=False,
          what="this run", reduce="") -> Estimate:
    """Estimate a run's memory and work; raise :class:`BudgetError` if beyond the limits (unless ``force``).

    ``steps``/``particle_steps`` None means unknown (adaptive steps). ``linear_bytes`` is the memory
    model of the linear solver that will run (:func:`linear_solver_bytes`). ``reduce`` names what
    the user can change (argument or run-file keys), used in the message.
    """
    cells, frames, particles = float(cells), float(frames), float(particles)
    mem_parts = {
        "arrays on the cells": cells * 8.0 * ARRAYS_PER_CELL,
        "saved frames": cells * frames * 8.0 * 2,
        "history": (steps or 0) * 12 * 32.0,
        "linear solver": float(linear_bytes),
        "particles": particles * particle_dim * 8.0 * (particle_frames + 12),
        "density evaluation": min(evaluations, 2_000_000.0) * 8.0 * 4 if evaluations else 0.0,
    }
    memory = sum(mem_parts.values())
    est = Estimate(memory, steps, mem_parts, process_memory())
    if force:
        return est
    how = f" Reduce {reduce}, or pass --force (API: force=True) to run anyway." if reduce else \
        " Pass --force (API: force=True) to run anyway."
    big = ", ".join(f"{k} {_gib(v)}" for k, v in sorted(mem_parts.items(), key=lambda kv: -kv[1]) if v > 0.05 * memory)
    avail, source = available_memory()
    limit, limit_src = None, ""
    if avail is not None:
        limit, limit_src = MEMORY_FRACTION * avail, f"{MEMORY_FRACTION:.0%} of the {_gib(avail)} available ({source})"
    env = os.environ.get("FOKKERPLANCK_MAX_MEMORY")
    if env:
        try:
            env_limit = float(env) * 2**30
        except ValueError:
            env_limit = None
        if env_limit is not None and (limit is None or env_limit < limit):
            limit, limit_src = env_limit, f"FOKKERPLANCK_MAX_MEMORY = {env} GiB"
    if limit is not None and memory > limit:
        raise BudgetError(f"budget: {what} needs about {_gib(memory)} of memory ({big}), more than {limit_src}.{how}")
    n_steps = max(steps or 0, particle_steps or 0)
    if n_steps > MAX_STEPS:
        raise BudgetError(f"budget: {what} takes about {n_steps:.3g} time steps, more than the limit of "
                          f"{MAX_STEPS:.0e}.{how}")
    if steps and cells * steps > MAX_CELL_STEPS:
        raise BudgetError(f"budget: {what} takes about {cells * steps:.3g} cell-steps ({cells:.3g} cells x "
                          f"{steps:.3g} steps), more than the limit of {MAX_CELL_STEPS:.0e}.{how}")
    if particle_steps and particles:
        work = particles * particle_steps * (particles if pair_interactions else 1.0)
        if work > MAX_PARTICLE_STEPS:
            kind = "particle pairs x steps" if pair_interactions else "particle-steps"
            raise BudgetError(f"budget: {what} takes about {work:.3g} {kind}, more than the limit of "
                              f"{MAX_PARTICLE_STEPS:.0e}.{how}")
    if evaluations > MAX_EVALUATIONS:
        raise BudgetError(f"budget: putting the densities on the grid takes about {evaluations:.3g} kernel "
                          f"evaluations (cells x mixture components or samples), more than the limit of "
                          f"{MAX_EVALUATIONS:.0e}.{how}")
    return est


def density_terms(density) -> int:
    """Mixture components or KDE samples of a density (1 for anything else)."""
    for attr in ("weights", "samples"):
        val = getattr(density, attr, None)
        if val is not None:
            try:
                return int(len(val))
            except TypeError:
                return 1
    return 1


def fixed_steps(t_final: float, dt, n_marks: int = 0):
    """Steps of a fixed-step run (None for adaptive); landing on save times adds at most one per mark."""
    if isinstance(dt, str) or not dt:
        return None
    ratio = t_final / dt
    return (ratio if math.isfinite(ratio) else math.inf) + n_marks


def linear_solver_bytes(shape, linear_solver="auto", divergence="jsd", periodic=False) -> float:
    """Memory of the linear solver that ``linear_solver`` selects for ``shape`` (with ``periodic`` axes)
    and ``divergence`` (its registry entry's model); a ValueError if it does not apply."""
    shape = tuple(int(s) for s in shape)
    return float(select(linear_solver, shape, get_divergence(divergence), periodic).memory_bytes(shape))


def check_solve(grid, target, initial, t_final, dt, t_eval, linear_solver="auto", dt_max=None, force=False,
                reduce="the grid's shape, the number of saved times (t_eval) or the number of steps (t_final / dt)",
                divergence="jsd"):
    """The budget of :func:`fokkerplanck.solve` (arguments already checked; ``t_eval`` an array or "steps")."""
    if force or not hasattr(grid, "size") or not hasattr(grid, "ndim"):
        return None
    cells = float(math.prod(int(s) for s in grid.shape))
    linear_bytes = linear_solver_bytes(grid.shape, linear_solver, divergence, getattr(grid, "periodic", False))
    save_steps = isinstance(t_eval, str)
    steps = fixed_steps(t_final, dt, 0 if save_steps else len(t_eval))
    if steps is None and dt_max:
        steps = t_final / dt_max
    frames = (steps + 1 if steps is not None else 0) if save_steps else len(t_eval)
    evaluations = cells * (density_terms(target) + density_terms(initial))
    return check(cells=cells, ndim=grid.ndim, frames=frames, steps=steps, linear_bytes=linear_bytes,
                 evaluations=evaluations, what=f"this run ({grid.ndim}-D, {cells:.3g} cells)", reduce=reduce)


def check_particles(n, t_final, dt, n_frames, d=1, velocity="grid", force=False,
                    reduce="the number of particles n, the snapshots (t_eval) or the number of steps (t_final / dt)"):
    """The budget of :func:`fokkerplanck.particles.simulate` (arguments already checked)."""
    if force:
        return None
    steps = fixed_steps(t_final, dt, n_frames)
    # KDE velocities switch to binned estimates for many particles, so the work is counted per particle
    return check(particles=n, particle_dim=d, particle_frames=n_frames, particle_steps=steps, what=f"moving {n:.3g} particles", reduce=reduce)
