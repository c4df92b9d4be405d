r"""``fokkerplanck verify``: a convergence certificate for a run file.

:func:`verify` takes a problem (the run file of ``fokkerplanck run``) and measures, for that
problem:

- **orders of convergence** in space (cells doubled per level, at the run's step) and in time
  (steps halved per level, on the run's grid). The order is measured by self-convergence: the
  differences :math:`d_k = \|u_k - u_{k+1}\|_{L^1}` between consecutive levels (the finer one
  averaged down onto the coarser cells) behave like :math:`C h_k^p`, and the other
  discretisation's error, the same on every level, cancels in them. ``p`` is the least-squares
  slope of :math:`\log d_k` against :math:`\log h_k` with its standard error (``levels >= 4``
  gives 3 differences); the Richardson-extrapolated error of the finest level is
  :math:`d_{L-2}/(2^p - 1)`. Where the exact solution is known (the KL flow of Gaussians: an
  Ornstein-Uhlenbeck process; chi^2 or Hellinger toward a uniform target from a Barenblatt
  start: the Barenblatt solution, :mod:`fokkerplanck.verify.exact`) the errors against it are
  reported beside, with their order.
  The check passes when :math:`|p - p_{expected}| \le 2\,\mathrm{se} + 0.1` (2 in space, 1 in
  time; the 0.1 allows for the pre-asymptotic drift of a 4-level ladder).
- **invariants at every step of every run** (worst values): mass drift, positivity, the
  maximum principle :math:`\max v(t) \le \max v(0)`, monotone energy, the energy-dissipation
  inequality :math:`E^{n+1} + h D^{n+1} \le E^n`, and the L1 contraction between the run and one
  from the perturbed start :math:`0.8\rho_0 + 0.2\rho_d`.
- **the long-time rate**: the run continued at a fixed step :math:`h \le 0.05/r` until the L1
  distance falls to ~1e-10 at the predicted rate :math:`r = \Phi'(1)\lambda_1`; the predicted
  discrete rate :math:`\ln(1 + hr)/h` against the rate fitted on the asymptotic window
  (:func:`fokkerplanck.theory.decay_window`). Passes when they agree within
  ``3 * stderr + 1%``. The regime counts as reached when the window exists and the rates fitted
  on its two halves agree (within ``3 * stderr + 1%``); otherwise the run is reported as not
  having reached it (not a failure), with the reasons that can be seen
  (:func:`fokkerplanck.verify.rates.diagnose`: a slow excited mode, heavy tails or the box,
  metastability, a still drifting local rate, the step budget).
- **Lemma 24** on that run: the measured integral and the bounds.
- **superposition**: 2000 grid-driven particles against the grid density at ``t_final``, W1
  against the sampling floor of 2000 i.i.d. samples (passes below 3 times the floor).

The cases run in parallel through :func:`fokkerplanck.sweep.run_sweep` (finished cases are
skipped on a rerun). Output in ``out``: ``report.json``, a self-contained ``report.html`` and the
sweep's ``cases/``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from .cases import INVARIANT_TOL, ladder_steps
from .exact import coarsen, exact_solution, exact_solution_note, richardson
from .rates import diagnose, measure_rate
from .._version import __version__

__all__ = ["verify", "VerifyResult", "exact_solution", "fit_order", "richardson", "measure_rate", "diagnose"]

ORDER_SLACK = 0.1
RATE_REL_TOL = 0.01


class VerifyResult(dict):
    """The report (``report.json`` as a dict) with ``passed`` (bool) and ``out`` (Path)."""

    @property
    def passed(self) -> bool:
        return bool(self["passed"])

    @property
    def out(self) -> Path:
        return Path(self["out"])


def fit_order(h, err):
    """Least-squares slope ``p`` of ``log err = c + p log h`` and its standard error (nan if < 3 points)."""
    x, y = np.log(np.asarray(h, float)), np.log(np.asarray(err, float))
    if x.size < 2 or not np.all(np.isfinite(y)):
        return math.nan, math.nan
    xc = x - x.mean()
    p = float(xc @ (y - y.mean()) / (xc @ xc))
    if x.size < 3:
        return p, math.nan
    r = y - y.mean() - p * xc
    return p, math.sqrt(float(r @ r) / (x.size - 2) / float(xc @ xc))


def _ladder(rows, key, spec, coarsen_shape=None):
    """Differences between consecutive levels at every save time; the orders."""
    d = spec.grid.ndim
    rows = sorted(rows, key=lambda r: r["level"])
    times = rows[0]["t"]
    fields = []
    for r in rows:
        shape = r.get("shape", list(spec.grid.shape))
        fields.append(np.asarray(r["u"], float).reshape(len(times), *shape))
    if key == "space":
        hs = [float(np.prod(np.asarray(spec.grid.upper) - np.asarray(spec.grid.lower)) ** (1 / d)) / r["shape"][0]
              for r in rows]
        vols = [float(np.prod((np.asarray(spec.grid.upper) - np.asarray(spec.grid.lower)) / np.asarray(r["shape"])))
                for r in rows]
    else:
        hs = [r["dt"] for r in rows]
        vols = [spec.grid.cell_volume] * len(rows)
    diffs = []  # diffs[k][j]: level k vs k+1 at save time j, L1 on level k's cells
    for k in range(len(rows) - 1):
        row = []
        for j in range(len(times)):
            fine = coarsen(fields[k + 1][j], 2, d) if key == "space" else fields[k + 1][j]
            row.append(float(np.sum(np.abs(fields[k][j] - fine)) * vols[k]))
        diffs.append(row)
    diffs = np.asarray(diffs)
    p, se = fit_order(hs[:-1], diffs[:, -1])
    at_saves = [fit_order(hs[:-1], diffs[:, j])[0] if np.all(diffs[:, j] > 0) else math.nan
                for j in range(len(times))]
    richardson = float(diffs[-1, -1] / (2 ** p - 1)) if p > 0 else math.nan
    out = dict(h=hs, differences_final=diffs[:, -1].tolist(), times=list(times), order_at_save_times=at_saves,
               value=p, stderr=se, richardson_error_finest=richardson, method="self-convergence")
    # against the exact solution where it is known
    if key == "space":
        exact = []
        for r, f in zip(rows, fields):
            from ..flow.grid import Grid

            g = Grid(spec.grid.lower, spec.grid.upper, r["shape"])
            sub = type(spec)(**{**spec.__dict__, "grid": g})
            ue = exact_solution(sub, times[-1])
            if ue is None:
                exact = None
                break
            exact.append(float(np.sum(np.abs(f[-1] - ue)) * g.cell_volume))
    else:
        ue = exact_solution(spec, times[-1])
        exact = None if ue is None else [float(np.sum(np.abs(f[-1] - ue)) * spec.grid.cell_volume) for f in fields]
    if exact is not None:
        pe, see = fit_order(hs, exact)
        out.update(exact_errors_final=exact, exact_order=pe, exact_stderr=see,
                   exact_solution=exact_solution_note(spec, times[-1]))
    return out


def _spec_dict(spec, levels, out):
    runfile = str(Path(spec.path).resolve())
    fixed = dict(runfile=runfile, fingerprint=spec.fingerprint, levels=levels)
    grid = [dict(kind=["space", "time"], level=list(range(levels))),
            dict(kind=["long", "contraction", "particles"], level=[0])]
    return dict(name="verify", study="fokkerplanck.verify.cases:run_case", fixed=fixed, grid=grid, out=str(out))


def verify(runfile, *, levels: int = 4, out=None, scheduler=None, client=None, n_workers: int = 2,
           processes: bool = True, progress: bool = False, recompute: bool = False, stream=None) -> VerifyResult:
    """Verify the numerics of a run file's problem (module docstring); returns the report.

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
    from ..io.runfile import read_run_file
    from ..sweep import run_sweep
    from . import report as _report

    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 3:
        raise ValueError(f"levels must be an integer >= 3, got {levels!r}.")
    spec = read_run_file(runfile)
    out = Path(out) if out is not None else Path(spec.output["directory"]) / "verify"
    ladder_steps(spec)
    res = run_sweep(_spec_dict(spec, levels, out), out, scheduler=scheduler, client=client, n_workers=n_workers,
                    processes=processes, progress=progress, recompute=recompute)
    if res.n_failed:
        key, tb = next(iter(res.failures.items()))
        raise RuntimeError(f"{res.n_failed} verification case(s) failed; the first ({key}):\n{tb}")
    by_kind = {}
    for row in res.rows:
        by_kind.setdefault(row["kind"], []).append(row)
    space = _ladder(by_kind["space"], "space", spec)
    time_ = _ladder(by_kind["time"], "time", spec)
    for o, exp in ((space, 2.0), (time_, 1.0)):
        o["expected"] = exp
        se = o["stderr"] if math.isfinite(o["stderr"]) else 0.0
        o["passed"] = bool(math.isfinite(o["value"]) and abs(o["value"] - exp) <= 2 * se + ORDER_SLACK)
    long = by_kind["long"][0]
    runs = by_kind["space"] + by_kind["time"] + [long]
    inv = {
        "mass": dict(worst=max(r["mass_drift"] for r in runs), what="max relative drift of the mass"),
        "positivity": dict(worst=min(r["min_v"] for r in runs), what="min of v = u / rho_d"),
        "maximum_principle": dict(worst=max(r["max_v_excess"] for r in runs),
                                  what="max (max v(t) - max v(0)) / max v(0)"),
        "energy_monotone": dict(worst=max(r["energy_increase"] for r in runs),
                                what="max increase of the energy in one step / E(0)"),
        "energy_dissipation": dict(worst=max(r["dissipation_violation"] for r in runs),
                                   what="max (E^{n+1} + h D^{n+1} - E^n) / E(0)"),
        "l1_contraction": dict(worst=by_kind["contraction"][0]["contraction_increase"],
                               what="max increase of ||u - u'||_L1 in one step / initial distance"),
    }
    tols = dict(mass=INVARIANT_TOL["mass"], maximum_principle=INVARIANT_TOL["maximum"],
                energy_monotone=INVARIANT_TOL["energy"], energy_dissipation=INVARIANT_TOL["dissipation"],
                l1_contraction=INVARIANT_TOL["contraction"])
    for name, item in inv.items():
        if name == "positivity":
            item.update(tolerance=0.0, passed=bool(item["worst"] >= 0.0))
        else:
            item.update(tolerance=tols[name], passed=bool(item["worst"] <= tols[name]))
    rate = dict(predicted=long["predicted"], predicted_continuous=long["predicted_continuous"], lambda1=long["lam1"],
                h=long["h"], t_end=long["t_end"], measured=long["measured"], stderr=long["stderr"],
                window=long["window"], reached=bool(long["reached"]), reason=long["reason"],
                reasons=long.get("reasons", []), reason_codes=long.get("reason_codes", []),
                signals=long.get("signals", {}),
                measured_halves=[long.get("measured_first_half", math.nan), long.get("measured_second_half", math.nan)])
    if rate["reached"]:
        rate["tolerance"] = 3 * rate["stderr"] + RATE_REL_TOL * rate["predicted"]
        rate["passed"] = bool(abs(rate["measured"] - rate["predicted"]) <= rate["tolerance"])
        if not rate["passed"] and rate["reasons"]:
            rate["reason"] = "the fitted rate misses the prediction; seen in the run: " + "; ".join(rate["reasons"])
    else:
        rate["tolerance"], rate["passed"] = math.nan, True
    lemma = dict(measured=long["lemma24_measured"], energy_bound=long["lemma24_energy_bound"],
                 mass_bound=long["lemma24_mass_bound"], paper_bound=long["lemma24_paper_bound"], beta=long["beta"],
                 note=long.get("lemma24_note", ""))
    lemma["passed"] = bool(lemma["measured"] <= lemma["energy_bound"] * (1 + 1e-9)
                           and lemma["measured"] <= lemma["paper_bound"] * (1 + 1e-9))
    part = by_kind["particles"][0]
    sup = dict(w1=part["w1"], floor=part["floor"], ratio=part["ratio"], n=part["n"], method=part["method"],
               tolerance=3.0, passed=bool(part["ratio"] <= 3.0))
    exact_note = space.get("exact_solution") or time_.get("exact_solution") or ""
    report = VerifyResult(
        exact_solution=exact_note,
        runfile=str(spec.path), name=spec.name, divergence=spec.divergence, grid=list(spec.grid.shape),
        dt=spec.dt, t_final=spec.t_final, levels=levels, version=__version__, out=str(out),
        orders=dict(space=space, time=time_), invariants=inv, rate=rate, lemma24=lemma, superposition=sup,
        cases=dict(n=res.n_cases, computed=res.n_computed, skipped=res.n_skipped))
    report["passed"] = bool(space["passed"] and time_["passed"] and all(i["passed"] for i in inv.values())
                            and rate["passed"] and lemma["passed"] and sup["passed"])
    _report.write(report, out, spec, long)
    if stream is not None:
        _report.table(report, stream)
    return report


class _CallableModule(type(json)):
    """``fp.verify(...)`` calls :func:`verify`; ``fp.verify.verify`` and the module's other names work too."""

    def __call__(self, *args, **kwargs):
        return verify(*args, **kwargs)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
