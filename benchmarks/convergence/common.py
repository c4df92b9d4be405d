"""Shared plumbing of the convergence scripts: run a spec through the sweep runner (as
``fokkerplanck verify`` does), fit orders (with verify's fit), format tables. (Plotting happens in the scripts, never in the studies.)"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from fokkerplanck import sweep

HERE = Path(__file__).resolve().parent
FIGURES = HERE / "figures"
_LAST_RUN = {}


def machine() -> str:
    """This machine, measured now: cores, architecture, memory, Python and package versions."""
    import os
    import platform

    import fokkerplanck

    mem = ""
    try:
        mem = f", {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        pass
    return (f"{os.cpu_count()}-core {platform.machine()}{mem}, Python {platform.python_version()}, "
            f"fokkerplanck {fokkerplanck.__version__}")


def stamp() -> str:
    """``"<today>, <machine>"`` for the summaries, with how many cases this run computed (a rerun
    reuses finished cases, measured on an earlier date)."""
    import datetime

    text = f"{datetime.date.today().isoformat()}, {machine()}"
    if _LAST_RUN:
        text += (f" ({_LAST_RUN['computed']} of {_LAST_RUN['cases']} cases computed in this run, the others "
                 "reused from earlier runs)" if _LAST_RUN["skipped"] else "")
    return text


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler (default: LocalCluster)")
    p.add_argument("--out", metavar="DIR", help="sweep output directory (default: results/<name>)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--threads", action="store_true", help="LocalCluster threads instead of worker processes")
    p.add_argument("--recompute", action="store_true", help="recompute finished cases")
    return p.parse_args()


def run(spec_name: str, args) -> list:
    """Run ``<spec_name>.toml`` through :func:`fokkerplanck.sweep.run_sweep`; the rows."""
    # worker processes by default: the 1-D Newton kernel holds the GIL, so threads would not
    # run cases in parallel
    res = sweep.run_sweep(HERE / f"{spec_name}.toml", args.out, scheduler=args.scheduler, n_workers=args.workers,
                          processes=not args.threads, recompute=args.recompute)
    _LAST_RUN.update(cases=res.n_cases, computed=res.n_computed, skipped=res.n_skipped)
    print(f"{res.n_cases} cases ({res.n_computed} computed, {res.n_skipped} from earlier runs, "
          f"{res.n_failed} failed) -> {res.csv_path.relative_to(HERE) if res.csv_path.is_relative_to(HERE) else res.csv_path}")
    for key, tb in res.failures.items():
        print(f"case {key} failed:\n{tb}")
    return res.rows


def fit_order(x, err):
    """Least-squares slope p of ``log err = c - p log x`` and its standard error: the fit of
    :func:`fokkerplanck.verify.fit_order` (the one ``fokkerplanck verify`` uses), with ``x`` a
    resolution (cells, steps) instead of a width."""
    from fokkerplanck.verify import fit_order as _fit

    p, se = _fit(x, err)
    return -p, se


def local_orders(x, err):
    """Orders between consecutive points: ``log(e_i / e_{i+1}) / log(x_{i+1} / x_i)``."""
    x, err = np.asarray(x, float), np.asarray(err, float)
    return np.log(err[:-1] / err[1:]) / np.log(x[1:] / x[:-1])


def fmt(v, digits=4):
    if isinstance(v, str):
        return v
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return str(v)
    if v == 0:
        return "0"
    a = abs(v)
    if a >= 1e4 or a < 1e-3:
        return f"{v:.{digits - 1}e}"
    return f"{v:.{digits}g}"


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def write_summary(name: str, text: str) -> Path:
    """Print the summary and write it to ``results/<name>/summary.md`` (pasted into README.md)."""
    path = HERE / "results" / name / "summary.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")
    print(text)
    return path


def figure_path(name: str) -> Path:
    FIGURES.mkdir(exist_ok=True)
    return FIGURES / f"{name}.png"


def plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
