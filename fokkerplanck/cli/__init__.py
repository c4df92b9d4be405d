"""The command line: ``fokkerplanck demo | run | info | plot | sweep | verify`` (also ``python -m fokkerplanck``).

This module only parses arguments and dispatches; the work is done by

- :mod:`fokkerplanck.cli.runner`: :func:`~fokkerplanck.cli.runner.run`, a run file's whole run
  (solve, particles, table, results file, checkpoints, figures);
- :mod:`fokkerplanck.cli.demos`: :func:`~fokkerplanck.cli.demos.demo` and its run file ``DEMO_RUN``;
- :mod:`fokkerplanck.cli.report`: the diagnostics table, the figures, ``info`` and ``plot``;
- :mod:`fokkerplanck.io.runfile`: reading and checking run files;
- :mod:`fokkerplanck.sweep`: parameter sweeps on Dask;
- :mod:`fokkerplanck.verify`: ``verify``, the convergence certificate of a run file.

Exit codes: 0 done, 1 the solver (or a sweep case) failed, 2 a usage error or bad input (a bad run
file or sweep spec, a missing, damaged or hand-made file, a run beyond the budget: one line on
stderr), 130 interrupted (Ctrl-C or SIGTERM). Every failure is one line on stderr, never a
traceback (set FOKKERPLANCK_TRACEBACK=1 to see one for unexpected errors).
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from pathlib import Path

from ..flow.densities import SampleKDE
from ..io.atomic import full_disk
from ..io.runfile import RunFileError, RunSpec, parse_run, read_run_file
from ..io.toml import TomlError
from .demos import DEMO_RUN, demo
from ._signals import Terminated, command_signals
from .runner import Interrupted, run
from .report import info, plot_saved, sweep_summary
from ..flow.solution import ConvergenceError
from ..sweep import SweepAborted, run_sweep
from ..verify import verify
from .._version import __version__

__all__ = ["main", "read_run_file", "parse_run", "RunSpec", "RunFileError", "Interrupted", "SampleKDE", "run", "demo",
           "DEMO_RUN", "EXIT_OK", "EXIT_FAILED", "EXIT_USAGE", "EXIT_INTERRUPTED"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _workers(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return n


def _parser():
    p = argparse.ArgumentParser(prog="fokkerplanck", description="Numerics for 'GANs as Gradient Flows that "
                                "Converge': the Jensen-Shannon gradient flow (nonlinear Fokker-Planck equation).")
    p.add_argument("--version", action="version", version=f"fokkerplanck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="1-D flow toward a two-mode target with particles; table, figures, GIF")
    d.add_argument("--out", default="fokkerplanck-out", help="output directory (default ./fokkerplanck-out)")
    d.add_argument("--quiet", "-q", action="store_true", help="no table, no progress bar")
    d.add_argument("--no-particles", action="store_true", help="grid solution only")
    d.set_defaults(handler=_demo)
    r = sub.add_parser("run", help="a run described in a TOML file (see examples/)")
    r.add_argument("runfiles", metavar="RUN.toml", nargs="+", help="one or more run files, run in turn")
    r.add_argument("--out", default=None, help="output directory (default: [output] directory of the run file; "
                   "with several run files, one subdirectory per run file)")
    r.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the output directory")
    r.add_argument("--quiet", "-q", action="store_true", help="no table, no progress bar")
    r.add_argument("--no-figures", action="store_true", help="results file only")
    r.add_argument("--force", action="store_true", help="skip the budget check (estimated memory and steps)")
    r.set_defaults(handler=_run)
    i = sub.add_parser("info", help="summary of a results file (.h5)")
    i.add_argument("results", metavar="RESULTS.h5")
    i.set_defaults(handler=_info)
    pl = sub.add_parser("plot", help="figures (and GIF) from a results file")
    pl.add_argument("results", metavar="RESULTS.h5")
    pl.add_argument("--out", default=None, help="output directory (default: next to the results file)")
    pl.add_argument("--no-animation", action="store_true")
    pl.set_defaults(handler=_plot)
    s = sub.add_parser("sweep", help="a parameter sweep on Dask, one task per case (finished cases are skipped "
                       "on a rerun)", description="Run a parameter sweep on Dask, one task per case; "
                       "finished cases are skipped on a rerun.")
    s.add_argument("spec", metavar="SPEC.toml", help="sweep spec (TOML)")
    s.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler "
                   "(default: start a LocalCluster)")
    s.add_argument("--out", metavar="DIR", help="output directory (default: spec's out, or "
                   "<spec dir>/results/<name>)")
    s.add_argument("--workers", type=_workers, default=2, help="LocalCluster workers (default 2)")
    s.add_argument("--processes", action="store_true", help="LocalCluster worker processes instead of threads")
    s.add_argument("--recompute", action="store_true", help="recompute finished cases")
    s.add_argument("--no-progress", action="store_true", help="no progress bar")
    s.add_argument("--worker-timeout", metavar="SECONDS", type=_seconds, default=60.0,
                   help="how long to wait for the scheduler to answer and for a Dask worker to be available "
                   "(default 60; 'inf' waits for ever)")
    s.set_defaults(handler=_sweep)
    v = sub.add_parser("verify", help="a convergence certificate for a run file: orders, invariants, rates "
                       "(exit 0 all checks pass, 1 one fails)")
    v.add_argument("runfile", metavar="RUN.toml")
    v.add_argument("--levels", type=_workers, default=4, help="levels per refinement ladder (default 4, at least 3)")
    v.add_argument("--out", metavar="DIR", help="output directory (default <run file's output directory>/verify)")
    v.add_argument("--scheduler", metavar="ADDRESS", help="address of a running Dask scheduler "
                   "(default: start a LocalCluster)")
    v.add_argument("--workers", type=_workers, default=2, help="LocalCluster worker processes (default 2)")
    v.add_argument("--threads", action="store_true", help="LocalCluster threads instead of worker processes "
                   "(e.g. for a divergence registered in this Python process)")
    v.add_argument("--recompute", action="store_true", help="recompute finished cases")
    v.set_defaults(handler=_verify)
    return p


def _demo(args):
    demo(out_dir=args.out, quiet=args.quiet, particles=not args.no_particles)


def _run(args):
    specs = [read_run_file(f, force=args.force) for f in args.runfiles]  # check every file before running any
    names = [s.name for s in specs]
    if args.out is not None and len(set(names)) < len(names):
        raise RunFileError("run files with the same name would overwrite each other's results in --out")
    for spec in specs:
        out_dir = None if args.out is None or len(specs) == 1 else Path(args.out) / spec.name
        run(spec, out_dir=out_dir if out_dir is not None else args.out, resume=args.resume,
            quiet=args.quiet, figures=False if args.no_figures else None, force=args.force)


def _info(args):
    info(args.results, sys.stdout)


def _plot(args):
    plot_saved(args.results, args.out, not args.no_animation, sys.stdout)


def _seconds(text):
    try:
        t = float(text)
    except ValueError:
        t = 0.0
    if not t > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return t


def _sweep(args):
    try:
        result = run_sweep(args.spec, args.out, scheduler=args.scheduler, n_workers=args.workers,
                           processes=args.processes, progress=not args.no_progress, recompute=args.recompute,
                           worker_timeout=args.worker_timeout)
    except SweepAborted as exc:  # the cluster failed, not a case: the finished cases are kept
        print(f"fokkerplanck: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED if exc.started else EXIT_USAGE
    sweep_summary(result, sys.stdout, sys.stderr)
    return EXIT_FAILED if result.n_failed else EXIT_OK


def _verify(args):
    if args.levels < 3:
        raise RunFileError(f"--levels must be at least 3, got {args.levels}")
    try:
        report = verify(args.runfile, levels=args.levels, out=args.out, scheduler=args.scheduler,
                        n_workers=args.workers, processes=not args.threads, recompute=args.recompute,
                        stream=sys.stdout)
    except SweepAborted as exc:  # the cluster failed: the finished cases are kept, a rerun skips them
        print(f"fokkerplanck: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED if exc.started else EXIT_USAGE
    return EXIT_OK if report.passed else EXIT_FAILED


def _one_line(exc) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    """Entry point of the ``fokkerplanck`` command; returns the exit code.

    Every SIGINT or SIGTERM gives exit 130, also one that Python swallowed (raised inside a
    garbage-collection callback, say) or that arrives while the error line is printed."""
    try:
        with command_signals() as seen, warnings.catch_warnings():
            warnings.showwarning = _show_warning
            code = _main(argv)
            if seen and code != EXIT_INTERRUPTED:  # a signal was swallowed somewhere: still an interruption
                print("fokkerplanck: terminated (SIGTERM)" if seen[0] == signal.SIGTERM else "fokkerplanck: interrupted",
                      file=sys.stderr)
                code = EXIT_INTERRUPTED
        return code
    except KeyboardInterrupt:  # a second signal while the first was reported
        return EXIT_INTERRUPTED


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """A warning of the command line: one line on stderr, ``fokkerplanck: warning: ...``, no source line."""
    print(f"fokkerplanck: warning: {_one_line(message)}", file=sys.stderr if file is None else file)


def _main(argv) -> int:
    import os

    try:
        parser = _parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            print("\nStart with:  fokkerplanck demo", file=sys.stdout)
            return EXIT_OK
        return args.handler(args) or EXIT_OK
    except (TomlError, FileNotFoundError) as exc:  # a bad run file or sweep spec, a missing file
        print(f"fokkerplanck: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Interrupted as exc:
        print(f"fokkerplanck: {_one_line(exc)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt as exc:
        print("fokkerplanck: terminated (SIGTERM)" if isinstance(exc, Terminated) else "fokkerplanck: interrupted",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:  # noqa: BLE001 - the one error handler: one line, the right exit code
        if isinstance(exc, ConvergenceError):
            print(f"fokkerplanck: the solver failed: {_one_line(exc)}", file=sys.stderr)
            return EXIT_FAILED
        if isinstance(exc, ValueError):  # bad input: arguments, densities, damaged files, the budget
            print(f"fokkerplanck: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        if isinstance(exc, OSError) and (full := full_disk(exc, exc.filename or "the output")) is not None:
            print(f"fokkerplanck: error: {full.strerror}", file=sys.stderr)  # the last checkpoint is kept
            return EXIT_FAILED
        if isinstance(exc, OSError):  # unwritable output directory, a directory where a file should be, ...
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            print(f"fokkerplanck: error: {exc.strerror or _one_line(exc)}{where}", file=sys.stderr)
            return EXIT_USAGE
        if os.environ.get("FOKKERPLANCK_TRACEBACK"):
            raise
        kind = "out of memory" if isinstance(exc, MemoryError) else f"internal error ({type(exc).__name__})"
        print(f"fokkerplanck: {kind}: {_one_line(exc)[:300]} (set FOKKERPLANCK_TRACEBACK=1 for details)",
              file=sys.stderr)
        return EXIT_FAILED
