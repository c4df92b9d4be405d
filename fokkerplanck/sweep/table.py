"""The files of a sweep: one JSON file per case (``OUT/cases/<key>.json``) and the tidy table (``OUT/<name>.csv``).

A finished case's file holds its key, study, parameters, rows, seconds and finishing time; it is
written atomically (:mod:`fokkerplanck.io.atomic`), so it is either complete or absent, and a
rerun skips the cases whose file is there with the same parameters. A case that failed has a file
``OUT/failed/<key>.json`` with the reason instead (its traceback, or ``KilledWorker: ...``), removed
once the case succeeds. The table has the column ``case`` (the key), one column per parameter, then
the study's result columns, one row per returned dict.
"""

from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

from ..io.atomic import write_text
from .spec import SweepSpec, _study_label

__all__ = ["SweepResult"]


@dataclass
class SweepResult:
    """Outcome of :func:`.run_sweep`.

    Attributes
    ----------
    rows : list of dict
        Every row of the table (parameters and results), in spec order.
    csv_path : Path
    out : Path
        Output directory (``cases/`` holds one JSON file per finished case).
    n_cases, n_computed, n_skipped, n_failed : int
    failures : dict
        ``key -> traceback text`` of the cases that raised, or the reason (``KilledWorker: ...``) of
        a case that killed every worker it ran on (they are retried on a rerun).
    """

    rows: list
    csv_path: Path
    out: Path
    n_cases: int
    n_computed: int
    n_skipped: int
    n_failed: int
    failures: dict

    def to_pandas(self):  # pragma: no cover - convenience, pandas optional
        import pandas as pd

        return pd.read_csv(self.csv_path)


def _scalar(value):
    """JSON-friendly scalar (numpy numbers to Python; NaN/inf kept as floats)."""
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_scalar(v) for v in value]
    return str(value)


# --------------------------------------------------------------------------------------------
# Case files
# --------------------------------------------------------------------------------------------

def _json_default(o):
    return _scalar(o)


def _read_case(path: Path):
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError):
        return None


def _finished_cases(cases_dir: Path, keys: list, cases: list, recompute: bool = False):
    """The cases whose file is there with the same parameters, ``{key: record}``, and the others,
    ``[(key, params)]`` (all of them with ``recompute``)."""
    records = {}
    todo = []
    for key, params in zip(keys, cases):
        rec = None if recompute else _read_case(cases_dir / f"{key}.json")
        if rec is not None and rec.get("params") == json.loads(json.dumps(params)):
            records[key] = rec
        else:
            todo.append((key, params))
    return records, todo


def _write_case(cases_dir: Path, failed_dir: Path, key: str, study: str, params: dict, rows: list,
                seconds: float) -> dict:
    """Write a finished case's file (and remove its file of an earlier failure); its record."""
    rec = {"key": key, "study": _study_label(study), "params": params, "rows": rows,
           "seconds": seconds, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
    write_text(cases_dir / f"{key}.json", json.dumps(rec, default=_json_default, indent=1))
    stale = failed_dir / f"{key}.json"
    if stale.exists():
        stale.unlink()
    return rec


def _write_failure(failed_dir: Path, key: str, params: dict, text: str):
    """Write the file of a case that failed, with the reason ``text``."""
    write_text(failed_dir / f"{key}.json", json.dumps({"key": key, "params": params, "error": text},
                                                      indent=1))


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

def _collect(spec: SweepSpec, out: Path, keys: list, records: dict, n_skipped: int, failures: dict) -> SweepResult:
    """Write the table of the finished cases (``records``, in the order of ``keys``); the result."""
    ordered = [records[k] for k in keys if k in records]
    csv_path = out / f"{spec.name}.csv"
    write_text(csv_path, _csv_text(spec, ordered))
    rows = [{"case": r["key"], **r["params"], **row} for r in ordered for row in r["rows"]]
    return SweepResult(rows=rows, csv_path=csv_path, out=out, n_cases=len(keys),
                       n_computed=len(records) - n_skipped, n_skipped=n_skipped, n_failed=len(failures),
                       failures=dict(failures))


def _csv_text(spec: SweepSpec, records: list) -> str:
    import io

    param_cols = list(spec.parameter_names)
    result_cols = []
    for rec in records:
        for row in rec["rows"]:
            for k in row:
                if k not in param_cols and k not in result_cols:
                    result_cols.append(k)
    cols = ["case"] + param_cols + result_cols
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for rec in records:
        for row in rec["rows"]:
            full = {"case": rec["key"], **rec["params"], **row}
            w.writerow([_csv_cell(full.get(c, "")) for c in cols])
    return buf.getvalue()


def _csv_cell(v):
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else str(v)
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v
