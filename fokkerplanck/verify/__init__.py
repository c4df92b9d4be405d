r"""``fokkerplanck verify``: a convergence certificate for a run file.

:func:`verify` takes a problem (the run file of ``fokkerplanck run``) and measures, for that
problem, what the checks of :data:`~fokkerplanck.verify.checks.base.CHECKS` (:mod:`fokkerplanck.verify.checks`, one file each)
measure, in this order:

- **orders of convergence** in space (the run's grid, cells doubled per level, at the run's step;
  :mod:`~fokkerplanck.verify.checks.space_order`) and in time (the run's step halved per level, on
  the run's grid; :mod:`~fokkerplanck.verify.checks.time_order`): the ladders refine the run file's
  problem, never coarsen it. By self-convergence (:mod:`~fokkerplanck.verify.checks.orders`): the
  differences between consecutive levels behave like :math:`C h_k^p`; ``p`` is their least-squares
  slope with its standard error (``levels >= 4`` gives 3 differences) and the local orders of
  consecutive pairs say whether the ladder is asymptotic. An order passes only when ``p`` and the
  local order of the finest pair lie within a fixed band of the expected order (2 +- 0.2 in space;
  the scheme's order in time, +- 0.1 for a first order, +- 0.2 above); the standard error never
  widens it. A ladder that is not asymptotic is *inconclusive* (reason, and the grid or step that
  would settle it). Errors against the exact solution where it is known (the KL flow of
  Gaussians: an Ornstein-Uhlenbeck process; chi^2 or Hellinger toward a uniform target from a
  Barenblatt start, :mod:`fokkerplanck.verify.exact`) are reported with the other
  discretisation's error separated and the floor that remains named.
- **invariants at every step of every run** (worst values;
  :mod:`~fokkerplanck.verify.checks.invariants`): mass drift, positivity, the maximum principle
  :math:`\max v(t) \le \max v(0)`, monotone energy, the energy-dissipation inequality
  :math:`E^{n+1} + h D^{n+1} \le E^n`, and the L1 contraction between the run and one from the
  perturbed start :math:`0.8\rho_0 + 0.2\rho_d`.
- **the long-time rate** (:mod:`~fokkerplanck.verify.checks.rate`): the run continued at a fixed
  step :math:`h \le 0.05/r` until the L1 distance falls to ~1e-10 at the predicted rate
  :math:`r = \Phi'(1)\lambda_1`; the scheme's discrete rate (backward Euler:
  :math:`\ln(1 + hr)/h`) against the rate fitted on the asymptotic window
  (:func:`fokkerplanck.analysis.rates.decay_window`). Passes when they agree within
  ``3 * stderr + 1%``. The regime counts as reached when the window (the tail where the local
  rate has settled) exists and the rates fitted on its two halves agree (within
  ``3 * stderr + 1%``); otherwise the check is inconclusive, with the reasons that can be seen
  (:func:`fokkerplanck.verify.rates.diagnose`: a slow excited mode, heavy tails or the box,
  metastability, a still drifting local rate, the step budget).
- **Lemma 24** on that run (:mod:`~fokkerplanck.verify.checks.lemma24`): the measured integral and
  the bounds.
- **superposition** (:mod:`~fokkerplanck.verify.checks.superposition`): 2000 grid-driven particles
  against the grid density at ``t_final``, W1 against the sampling floor of 2000 i.i.d. samples
  (passes below 3 times the floor).

The checks' cases run in parallel as one sweep through :func:`fokkerplanck.sweep.run_sweep`
(finished cases are skipped on a rerun; :mod:`fokkerplanck.verify.cases`). Output in ``out``:
``report.json`` (each check's entry at its ``report_key``), a self-contained ``report.html`` and
the sweep's ``cases/``. The report passes (exit 0) only when every check passed; its ``status``
is ``passed``, ``failed`` (a check failed) or ``inconclusive`` (none failed, one could not be
settled: ``not_settled`` lists them). Warnings about the run file's problem are shown once
(``warnings``); those of a ladder level are not the user's and stay in ``level_warnings``.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from .._version import __version__
from ..io.runfile import RunFileError, read_run_file
from ..sweep import run_sweep
from . import report as _report
from .checks import CHECKS, Results, ordered
from .checks.orders import ORDER_SLACK, fit_order  # noqa: F401  (ORDER_SLACK: kept at its former place)
from .exact import exact_solution, richardson
from .rates import RATE_REL_TOL, diagnose, measure_rate  # noqa: F401
from .runs import ladder_steps, problem_warnings

__all__ = ["verify", "VerifyResult", "exact_solution", "fit_order", "richardson", "measure_rate", "diagnose",
           "CHECKS"]

#: The sweep's study function (the keys of finished cases are made with this name: keep it).
STUDY = "fokkerplanck.verify.cases:run_case"


class VerifyResult(dict):
    """The report (``report.json`` as a dict) with ``passed`` (bool) and ``out`` (Path)."""

    @property
    def passed(self) -> bool:
        return bool(self["passed"])

    @property
    def out(self) -> Path:
        return Path(self["out"])


def _spec_dict(spec, levels, out, checks):
    runfile = str(Path(spec.path).resolve())
    fixed = dict(runfile=runfile, fingerprint=spec.fingerprint, levels=levels)
    grid = [case.grid(levels) for check in checks for case in check.cases]
    return dict(name="verify", study=STUDY, fixed=fixed, grid=grid, out=str(out))


def _put(report, key, entry):
    for k in key[:-1]:
        report = report.setdefault(k, {})
    report[key[-1]] = entry


def verify(runfile, *, levels: int = 4, out=None, scheduler=None, client=None, n_workers: int = 2,
           processes: bool = True, progress: bool = False, recompute: bool = False, stream=None) -> VerifyResult:
    """Verify the numerics of a run file's problem (module docstring); returns the report.

    Every check of :data:`~fokkerplanck.verify.checks.base.CHECKS` contributes its cases to one sweep, aggregates their rows into
    its entry of the report and says whether it passed; the report passes when all do.

    Parameters
    ----------
    runfile : str or Path
        A run file (as for ``fokkerplanck run``).
    levels : int
        Levels of each refinement ladder (>= 3; 4 gives 3 differences and an order with a
        standard error).
    out : str or Path
        Output directory (default ``<run file's [output] directory>/verify``).
    scheduler, client, n_workers, processes, progress, recompute
        As in :func:`fokkerplanck.sweep.run_sweep` (``processes=True`` by default: the 1-D
        Newton kernel holds the GIL; use ``processes=False`` for a divergence registered in
        this process only).
    stream : file, optional
        Where to print the summary table (default: none).

    Raises
    ------
    RunFileError
        A bad run file (before any work).
    """
    if not isinstance(runfile, (str, os.PathLike)):
        raise ValueError(f"runfile must be the path of a run file (a str or Path), got {type(runfile).__name__} "
                         f"{runfile!r}.")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 3:
        raise ValueError(f"levels must be an integer >= 3, got {levels!r}.")
    spec = read_run_file(runfile)
    out = Path(out) if out is not None else Path(spec.output["directory"]) / "verify"
    ladder_steps(spec)
    try:
        user_warnings = problem_warnings(spec)
    except ValueError as exc:
        raise RunFileError(f"{spec.path}: {exc}") from None
    for w in user_warnings:  # about the run file's problem: shown once, as the user's
        warnings.warn(w, UserWarning, stacklevel=2)
    checks = ordered()
    res = run_sweep(_spec_dict(spec, levels, out, checks), out, scheduler=scheduler, client=client,
                    n_workers=n_workers, processes=processes, progress=progress, recompute=recompute)
    if res.n_failed:
        key, tb = next(iter(res.failures.items()))
        raise RuntimeError(f"{res.n_failed} verification case(s) failed; the first ({key}):\n{tb}")
    results = Results(spec, levels, res.rows)
    entries = [(check, check.aggregate(results)) for check in checks]
    report = VerifyResult(
        exact_solution=next((e["exact_solution"] for _, e in entries if e.get("exact_solution")), ""),
        runfile=str(spec.path), name=spec.name, divergence=spec.divergence, grid=list(spec.grid.shape),
        dt=spec.dt, t_final=spec.t_final, levels=levels, version=__version__, out=str(out), warnings=user_warnings,
        level_warnings={f"{row['kind']} level {row['level']}": row["level_warnings"] for row in res.rows
                        if row.get("level_warnings")})
    for check, entry in entries:
        _put(report, check.key(), entry)
    report["cases"] = dict(n=res.n_cases, computed=res.n_computed, skipped=res.n_skipped)
    statuses = [check.status(entry) for check, entry in entries]
    report["passed"] = all(s == "pass" for s in statuses)
    report["status"] = ("passed" if report["passed"] else "failed" if "fail" in statuses else "inconclusive")
    report["not_settled"] = [(check.name, f"{status}: {entry.get('reason', '')}"
                              + (f"; would settle it: {entry['settle']}" if entry.get("settle") else ""))
                             for (check, entry), status in zip(entries, statuses) if status == "inconclusive"]
    _report.write(report, out, spec, results)
    if stream is not None:
        _report.table(report, stream)
    return report


class _CallableModule(type(json)):
    """``fp.verify(...)`` calls :func:`verify`; ``fp.verify.verify`` and the module's other names work too."""

    def __call__(self, *args, **kwargs):
        return verify(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
