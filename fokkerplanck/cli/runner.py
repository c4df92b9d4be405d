"""The run driver: solve the flow of a :class:`~fokkerplanck.io.RunSpec`, move its particles, print
the table, save the results file, checkpoint long runs and write the figures (:func:`run`).

Application code without argparse: :mod:`fokkerplanck.cli` parses the command line and calls it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys
import time
from pathlib import Path

import numpy as np

from ..flow.solution import ConvergenceError
from ..flow.solve import solve
from ..flow.stepping import StateError
from ..io import save
from ..io.checkpoint import Checkpoint, CheckpointError, load_state
from ..progress import ProgressBar
from ._signals import StopOnSignal, deferred_signals, interruptible, stop_if_requested
from .._timeline import milestones
from ..io.runfile import RunSpec
from ..particles import VELOCITIES, simulate
from .report import table, table_times, write_figures

__all__ = ["run", "Interrupted"]


def _simulate_particles(spec_particles, target, initial, t_final, sol, force=False):
    """The particles of a run file's [particles] table (an Ensemble).

    The table holds simulate's own keys and the options the velocity declares (handed over as
    ``velocity_options``); a velocity that needs the grid solution gets it, any other one moves in
    the solution's box (reflecting walls, like the grid's no-flux boundary)."""
    opts = dict(spec_particles)
    n = opts.pop("n")
    n_snap = opts.pop("n_snapshots")
    field = VELOCITIES.get(opts["velocity"])
    kwargs = dict(velocity=opts.pop("velocity"), dt=opts.pop("dt"), method=opts.pop("method"), seed=opts.pop("seed"),
                  sampling=opts.pop("sampling"), t_eval=np.linspace(0.0, t_final, n_snap),
                  divergence=sol.divergence, force=force)
    if "solution" in field.needs:
        kwargs["solution"] = sol
    else:
        kwargs["grid"] = sol.grid
    vopts = {o.name: opts.pop(o.name) for o in field.options if o.name in opts}
    if vopts:
        kwargs["velocity_options"] = vopts
    return simulate(target, initial, t_final, n, **kwargs)


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C or SIGTERM); the message says where the last checkpoint is."""


class OutputLocked(ValueError):
    """Another process is running the same run name into the same output directory."""


@contextlib.contextmanager
def _output_lock(out_dir: Path, name: str):
    """An exclusive lock on ``out_dir/.NAME.lock`` for the whole run (POSIX ``flock``; released when the
    process ends, even by SIGKILL). Under it, temporary files left by a killed run are removed."""
    lock_path = out_dir / f".{name}.lock"
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        fcntl = None
    fh = open(lock_path, "a+")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OutputLocked(f"another fokkerplanck run is writing {name!r} into {out_dir} (lock {lock_path}); "
                                   "wait for it to finish or choose another --out") from None
            for stale in list(out_dir.glob(f".{name}.h5.*.tmp")) + list(out_dir.glob(f".{name}.checkpoint.h5.*.tmp")):
                with contextlib.suppress(OSError):
                    stale.unlink()  # left by a killed run: nobody else writes these names while we hold the lock
        yield
    finally:
        fh.close()


def run(spec: RunSpec, out_dir=None, resume=False, quiet=False, figures=None, out=None, err=None, force=False):
    """Run a parsed run file: solve, particles, table, results file, figures. Returns the Solution.

    The output directory is locked for the run's name (a second run of the same name into it is
    refused with :class:`OutputLocked`); ``force`` skips the budget check."""
    out_dir = Path(out_dir if out_dir is not None else spec.output["directory"])
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"output directory {str(out_dir)!r} exists and is not a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    with _output_lock(out_dir, spec.name):
        return _run(spec, out_dir, resume, quiet, figures, out, err, force)


def _run(spec, out_dir, resume, quiet, figures, out, err, force):
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    results = out_dir / f"{spec.name}.h5"
    ckpt_path = out_dir / f"{spec.name}.checkpoint.h5"
    t_eval = spec.solve_options["t_eval"]
    grid_driven = spec.particles is not None and "solution" in VELOCITIES.get(spec.particles["velocity"]).needs
    if grid_driven:
        t_eval = _solve_times(t_eval, spec.dt, spec.t_final)  # the grid velocity interpolates between every step
    state = None
    if resume:
        if ckpt_path.exists():
            state = load_state(ckpt_path, fingerprint=spec.fingerprint, shape=spec.grid.shape)
            if not quiet:
                print(f"resuming from the checkpoint at t = {state.t:.6g} ({ckpt_path})", file=err)
        elif not quiet:
            print(f"no checkpoint at {ckpt_path}; starting from t = 0", file=err)
    ckpt = Checkpoint(ckpt_path, every_seconds=spec.output["checkpoint_seconds"],
                      every_steps=spec.output["checkpoint_steps"], fingerprint=spec.fingerprint)
    bar = ProgressBar(enabled=False if quiet else None, stream=err, desc=spec.name)
    where = dict(results_written=False)
    try:
        with deferred_signals():  # the whole run: time loop, particles, saving, figures
            return _phases(spec, out_dir, state, ckpt, bar, t_eval, grid_driven, quiet, figures, out, force, where)
    except StateError as exc:  # the checkpoint does not fit this run (the loop checked it before any step)
        raise CheckpointError(f"{ckpt_path}: unusable checkpoint: {exc.what}; start over without --resume "
                              "(or delete the checkpoint).") from None
    except KeyboardInterrupt:
        bar.finish(None)
        raise Interrupted(_interrupted_message(spec, ckpt, results if where["results_written"] else None)) from None


def _interrupted_message(spec, ckpt, results):
    if results is not None:
        return (f"interrupted after the results file {results} was written (it is complete); "
                f"'fokkerplanck plot {results}' writes the figures")
    if ckpt.path.exists():
        with_t = f" (t = {ckpt.last_t:.6g})" if ckpt.last_t is not None else ""
        return (f"interrupted; the last checkpoint{with_t} is {ckpt.path}: continue with "
                f"'fokkerplanck run {spec.path or spec.name + '.toml'} --resume'")
    return (f"interrupted before the first checkpoint (written every "
            f"{spec.output['checkpoint_seconds']:g} s); nothing to resume from")


def _phases(spec, out_dir, state, ckpt, bar, t_eval, grid_driven, quiet, figures, out, force, where):
    """The phases of a run, under deferred signals: a stop is taken between them (and inside the
    time loop after a step, inside particles and figures at once), never while a file is written."""
    results = out_dir / f"{spec.name}.h5"
    kw = {k: v for k, v in spec.solve_options.items() if k != "t_eval"}
    t0 = time.perf_counter()
    try:
        sol = solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, divergence=spec.divergence,
                    t_eval=t_eval, trackers=[bar, ckpt, StopOnSignal(ckpt)], resume=state, force=force, **kw)
    except ConvergenceError as exc:
        if exc.solution is not None:
            save(results, exc.solution, run_file=spec.text, metadata=dict(name=spec.name, failed=str(exc)))
            raise ConvergenceError(f"{exc} (partial results in {results})", solution=exc.solution, step=exc.step,
                                   time=exc.time, dt=exc.dt, residual=exc.residual) from None
        raise
    stop_if_requested()
    elapsed = time.perf_counter() - t0
    ens = None
    if spec.particles is not None:
        with interruptible():
            ens = _simulate_particles(spec.particles, spec.target, spec.initial, spec.t_final, sol, force=force)
    if grid_driven:
        sol = _keep_frames(sol, spec.solve_options["t_eval"])  # store only the requested frames
    if not quiet:
        print(f"{spec.name}: {spec.divergence} flow on {sol.grid}, t_final = {spec.t_final:g}, "
              f"{sol.n_steps} steps ({sol.n_rejected} rejected) in {elapsed:.2f} s, beta = {sol.beta:.3g}", file=out)
    with interruptible():
        times = table_times(sol, spec.t_final, ens)
        rows = table(sol, times, ens, out=out if not quiet else io.StringIO())
    save(results, sol, run_file=spec.text, particles=ens, metadata=dict(name=spec.name, table=rows))
    where["results_written"] = True
    stop_if_requested()
    with_figs = spec.output["figures"] if figures is None else figures
    written = [results]
    if with_figs:
        with interruptible():
            written += write_figures(sol, out_dir, ens, target=spec.target, animation=spec.output["animation"])
    if ckpt.path.exists():
        ckpt.path.unlink()
    if not quiet:
        for p in written:
            print(f"wrote {p}", file=out)
    return sol


def _solve_times(t_eval, dt, t_final):
    """``t_eval`` for a grid-driven particle run: every step (the particles interpolate the velocity
    between steps) and also the requested save times. With fixed ``dt``: the requested times and the
    multiples of ``dt``; adaptive: ``"steps"`` (the requested times are then the nearest steps)."""
    if isinstance(t_eval, str) or dt == "adaptive":
        return "steps"
    return [0.0] + milestones(t_final, dt, t_eval).tolist()


def _keep_frames(sol, t_eval):
    """The solution with only the frames at the requested save times (the history is kept whole)."""
    if isinstance(t_eval, str):
        return sol
    wanted = np.asarray(t_eval, dtype=float)
    idx = np.unique([int(np.argmin(np.abs(sol.t - w))) for w in wanted])
    return dataclasses.replace(sol, t=sol.t[idx], u=sol.u[idx], options=dict(sol.options, t_eval=wanted.tolist()))


