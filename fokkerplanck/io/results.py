"""Saved results: one HDF5 file per run, written atomically and read back without unpickling.

A results file holds everything needed to look at a run again, or to redo it:

- the run file text (when the run came from ``fokkerplanck run RUN.toml``) and the package version;
- the :class:`~fokkerplanck.Solution`: saved times ``t``, densities ``u``, ``rho_d`` on the cells,
  the per-step ``history`` (one dataset per diagnostic), the scalar metadata (divergence, beta,
  status, counters, ...) and the solver ``options``;
- the grid as ``lower``/``upper``/``shape`` (the :class:`~fokkerplanck.Grid` is rebuilt from them);
- the particles (an :class:`~fokkerplanck.particles.Ensemble`: times, positions and how they
  moved), if the run had particles.

Layout (HDF5 groups, datasets and attributes; dicts are stored as JSON strings)::

    /                attrs: format = "fokkerplanck.solution", format_version, fokkerplanck_version,
                            created (UTC, ISO 8601), metadata (JSON, free-form)
    /run_file        UTF-8 string dataset (optional)
    /grid            attrs: lower, upper (float64), shape (int64)
    /solution        datasets t (n_saved,), u (n_saved, *shape), target (*shape)
                     attrs: metadata (JSON: divergence, beta, status, counters, ...), options (JSON)
    /solution/history/<name>   one 1-D dataset per diagnostic (t, dt, mass, jsd, l1, ...)
    /particles       datasets t (n_snap,), positions (n_snap, n, d); attrs: metadata (JSON: the
                     Ensemble's other fields: velocity, method, n, seed, dt, counters, options, ...)
    /particles/grid  attrs: lower, upper, shape (optional: the particles' reflecting box)

Loading reads plain numeric datasets and UTF-8 strings only: no pickle, no object arrays (h5py
cannot even store Python objects without an explicit opt-in, and :func:`load` rejects any dataset
whose dtype is not a number). Files are written to a temporary file in the target directory and
moved into place with :func:`os.replace` (:mod:`fokkerplanck.io.atomic`), so a crash never leaves a
half-written results file.

Examples
--------
>>> import fokkerplanck as fp
>>> grid = fp.Grid([-6.0], [6.0], [200])
>>> sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, t_final=0.1, dt=0.05)
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "run.h5")
>>> _ = fp.io.save(path, sol)
>>> fp.io.solutions_equal(fp.io.load(path), sol)
True
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .._validation import as_samples
from .atomic import atomic_h5

__all__ = ["save", "load", "load_run", "SavedRun", "solutions_equal", "read_samples", "open_hdf5", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "fokkerplanck.solution"
FORMAT_VERSION = 1
_SCALAR_FIELDS = ("divergence", "beta", "target_mass_outside", "initial_mass_outside", "status", "message",
                  "n_steps", "n_rejected", "n_newton", "n_linear")


@dataclass
class SavedRun:
    """Everything in a results file (see :func:`load_run`)."""

    solution: object
    run_file: str | None
    version: str
    created: str
    particles: object  # a fokkerplanck.particles.Ensemble, or None
    metadata: dict


# ---------------------------------------------------------------------------------------------
# writing


def _json(obj) -> str:
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, Path):
            return str(o)
        raise TypeError(f"cannot store a {type(o).__name__} in a results file (only numbers, strings, "
                        "lists and dicts are stored)")

    return json.dumps(obj, default=default)


def _write_array(group, name, values, compress=False):
    values = np.asarray(values)
    if values.dtype.kind not in "biuf":
        raise ValueError(f"cannot save {name!r}: dtype {values.dtype} is not numeric.")
    kw = dict(compression="gzip", compression_opts=4, shuffle=True) if compress and values.size > 4096 else {}
    group.create_dataset(name, data=values, **kw)


def _jsonable(value):
    """``value`` for a JSON attribute, lenient: objects JSON cannot hold become their ``repr``."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if isinstance(o, np.generic) else
                                 o.tolist() if isinstance(o, np.ndarray) else repr(o)))


def _write_grid(group, grid):
    group.attrs["lower"] = np.asarray(grid.lower, dtype=float)
    group.attrs["upper"] = np.asarray(grid.upper, dtype=float)
    group.attrs["shape"] = np.asarray(grid.shape, dtype=np.int64)


def _read_grid(group):
    from ..grid import Grid

    return Grid(lower=np.asarray(group.attrs["lower"], dtype=float),
                upper=np.asarray(group.attrs["upper"], dtype=float),
                shape=[int(s) for s in group.attrs["shape"]])


_ARRAY_FIELDS = ("t", "positions", "grid", "domain")  # stored as datasets / a group, not in the JSON metadata


def _write_particles(f, particles):
    """``/particles``: datasets ``t`` and ``positions``, the other fields of an :class:`Ensemble` as
    JSON in the ``metadata`` attribute, its ``grid`` (the reflecting box, if any) as a subgroup. A
    dict ``t``, ``positions``, ``metadata`` is written as given."""
    import dataclasses

    box = None
    if isinstance(particles, dict):
        t, positions = particles["t"], particles["positions"]
        meta = dict(particles.get("metadata", {}))
    else:
        t, positions = particles.t, particles.positions
        names = [f_.name for f_ in dataclasses.fields(particles)] if dataclasses.is_dataclass(particles) else []
        box = next((getattr(particles, k) for k in ("grid", "domain") if k in names), None)
        meta = {name: getattr(particles, name) for name in names if name not in _ARRAY_FIELDS}
        if "seed" in meta and not (meta["seed"] is None or isinstance(meta["seed"], (int, np.integer))):
            meta["seed"] = None  # a Generator: its state is not kept
        meta = _jsonable(meta)
    t = np.asarray(t, dtype=float).ravel()
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[0] != t.size:
        raise ValueError(f"particle positions must have shape (n_snapshots, n, d) with n_snapshots = {t.size} "
                         f"(one per time), got {positions.shape}.")
    g = f.create_group("particles")
    _write_array(g, "t", t)
    _write_array(g, "positions", positions, compress=True)
    g.attrs["metadata"] = _json(meta)
    if box is not None:
        _write_grid(g.create_group("grid"), box)


def _ensemble_from(t, positions, meta, box):
    """An :class:`~fokkerplanck.particles.Ensemble` from what :func:`_write_particles` stored.

    Fields the file lacks get neutral values (files from before the ensemble was stored whole hold
    only how the particles were computed); keys that are not fields go to ``options``. Counters are
    given flat or as the ``counters`` dict, whichever the class takes."""
    import dataclasses

    from ..particles import Ensemble

    init = {f_.name: f_ for f_ in dataclasses.fields(Ensemble) if f_.init}
    fallback = dict(velocity="unknown", method="", n=int(positions.shape[1]), seed=None, dt=float("nan"),
                    divergence=None, sampling="")
    kwargs, extra = dict(t=t, positions=positions), {}
    for key in ("grid", "domain"):  # the box's field: ``grid`` (``domain`` before)
        if key in init:
            kwargs[key] = box
            break
    for key, value in meta.items():
        if key in init and key not in _ARRAY_FIELDS:
            kwargs[key] = value
        elif key == "counters" and isinstance(value, dict):  # stored as a dict, the class has flat counters
            kwargs.update({k: v for k, v in value.items() if k in init})
        else:
            extra[key] = value
    if "counters" in init and "counters" not in kwargs:  # stored flat, the class keeps a dict
        names = ("n_steps", "n_field_evaluations", "n_reflections", "wall_time", "cpu_time")
        kwargs["counters"] = {k: extra.pop(k) for k in names if k in extra}
    if extra:
        kwargs["options"] = {**dict(kwargs.get("options") or {}), **extra}
    for name, f_ in init.items():
        if name not in kwargs and f_.default is dataclasses.MISSING and f_.default_factory is dataclasses.MISSING:
            kwargs[name] = fallback.get(name)
    return Ensemble(**kwargs)


def save(path, solution, *, run_file: str | None = None, particles=None, metadata: dict | None = None) -> Path:
    """Write ``solution`` (and optionally the run file text and particle snapshots) to an HDF5 file.

    Parameters
    ----------
    path : str or Path
        Destination (conventionally ``*.h5``); parent directories are created. Written atomically.
    solution : Solution
    run_file : str, optional
        Text of the run file the solution came from (stored verbatim).
    particles : Ensemble or dict, optional
        Particles moved beside the flow: the :class:`~fokkerplanck.particles.Ensemble` returned by
        :func:`fokkerplanck.particles.simulate` (all its fields are stored, and :func:`load_run`
        returns an ``Ensemble``), or a dict with ``t``, ``positions`` (n_snap, n, d) and optionally
        ``metadata`` (a dict, stored as the ensemble's fields).
    metadata : dict, optional
        Anything else worth keeping (JSON-serialisable: numbers, strings, lists, dicts).

    Returns
    -------
    Path
        The path written.
    """
    from .. import __version__
    from ..solution import Solution

    if not isinstance(solution, Solution):
        raise ValueError(f"save expects a fokkerplanck.Solution, got {type(solution).__name__}.")
    if run_file is not None and not isinstance(run_file, str):
        raise ValueError("run_file must be the text of the run file (a str).")
    grid = solution.grid
    meta = {name: getattr(solution, name) for name in _SCALAR_FIELDS}
    path = Path(path)
    with atomic_h5(path) as f:
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["fokkerplanck_version"] = __version__
        f.attrs["created"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        f.attrs["metadata"] = _json(metadata or {})
        if run_file is not None:
            f.create_dataset("run_file", data=run_file, dtype=_string_dtype())
        _write_grid(f.create_group("grid"), grid)
        s = f.create_group("solution")
        _write_array(s, "t", solution.t)
        _write_array(s, "u", solution.u, compress=True)
        _write_array(s, "target", solution.rho_d, compress=True)  # on disk: "target" (format 1)
        s.attrs["metadata"] = _json(meta)
        s.attrs["options"] = _json(solution.options)
        h = s.create_group("history")
        h.attrs["order"] = _json(list(solution.history))
        for key, values in solution.history.items():
            _write_array(h, key, values)
        if particles is not None:
            _write_particles(f, particles)
    return path


def _string_dtype():
    import h5py

    return h5py.string_dtype(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# reading


def _read_array(group, name, where):
    import h5py

    obj = group.get(name)
    if not isinstance(obj, h5py.Dataset):
        raise ValueError(f"{where}: missing dataset {group.name.rstrip('/')}/{name}.")
    if obj.dtype.kind not in "biuf":
        raise ValueError(f"{where}: dataset {obj.name} has non-numeric dtype {obj.dtype}; refusing to load it.")
    return obj[()]


def _read_json(attrs, name, where):
    raw = attrs.get(name)
    if raw is None:
        raise ValueError(f"{where}: missing attribute {name!r}.")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if not isinstance(raw, str):
        raise ValueError(f"{where}: attribute {name!r} should be a JSON string.")
    return json.loads(raw)


def open_hdf5(path, what="results file"):
    """Open an existing HDF5 file for reading, with clear errors (missing file, not HDF5)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {str(path)!r}.")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise ValueError(f"{path}: not an HDF5 file ({exc}).") from None


def _open(path):
    f = open_hdf5(path)
    fmt = f.attrs.get("format")
    if fmt != FORMAT:
        f.close()
        raise ValueError(f"{path}: not a fokkerplanck results file (format attribute {fmt!r}, "
                         f"expected {FORMAT!r}).")
    version = int(f.attrs.get("format_version", 0))
    if version > FORMAT_VERSION:
        f.close()
        raise ValueError(f"{path}: written in results format {version}, newer than this fokkerplanck "
                         f"understands ({FORMAT_VERSION}); upgrade fokkerplanck.")
    return f


def _solution_from(f, where):
    from ..solution import Solution

    grid = _read_grid(f["grid"])
    s = f["solution"]
    meta = _read_json(s.attrs, "metadata", where)
    options = _read_json(s.attrs, "options", where)
    h = s["history"]
    order = _read_json(h.attrs, "order", where)
    history = {key: _read_array(h, key, where) for key in order}
    u = _read_array(s, "u", where)
    target = _read_array(s, "target", where)
    if target.shape != grid.shape or u.shape[1:] != grid.shape:
        raise ValueError(f"{where}: densities have shapes {u.shape} and {target.shape}, which do not match "
                         f"the grid shape {grid.shape}.")
    unknown = set(meta) - {f_.name for f_ in fields(Solution)}
    if unknown:
        raise ValueError(f"{where}: unknown solution fields {sorted(unknown)}.")
    return Solution(t=_read_array(s, "t", where), u=u, history=history, grid=grid, rho_d=target,
                    options=options, **meta)


def load_run(path) -> SavedRun:
    """Everything in a results file: the solution, the run file text, version, particles, metadata.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a fokkerplanck results file or holds anything but numbers and strings.
    """
    where = str(path)
    with _open(path) as f:
        solution = _solution_from(f, where)
        run_file = f["run_file"].asstr()[()] if "run_file" in f else None
        particles = None
        if "particles" in f:
            p = f["particles"]
            particles = _ensemble_from(_read_array(p, "t", where), _read_array(p, "positions", where),
                                       _read_json(p.attrs, "metadata", where),
                                       _read_grid(p["grid"]) if "grid" in p else None)
        return SavedRun(solution=solution, run_file=run_file, version=str(f.attrs.get("fokkerplanck_version", "")),
                        created=str(f.attrs.get("created", "")), particles=particles,
                        metadata=_read_json(f.attrs, "metadata", where))


def load(path):
    """The :class:`~fokkerplanck.Solution` saved in a results file by :func:`save`.

    The grid is rebuilt from its ``lower``, ``upper`` and ``shape``; arrays, history and metadata
    come back bit for bit (:func:`solutions_equal` holds). Use :func:`load_run` for the run file,
    version and particle snapshots as well.
    """
    return load_run(path).solution


# ---------------------------------------------------------------------------------------------
# helpers


def solutions_equal(a, b) -> bool:
    """True when two solutions hold identical arrays (bit for bit), history, grid and metadata."""
    from ..solution import Solution

    if not (isinstance(a, Solution) and isinstance(b, Solution)):
        return False
    for f_ in fields(Solution):
        x, y = getattr(a, f_.name), getattr(b, f_.name)
        if f_.name == "history":
            if list(x) != list(y):
                return False
            if not all(np.asarray(x[k]).dtype == np.asarray(y[k]).dtype and np.array_equal(x[k], y[k])
                       for k in x):
                return False
        elif isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if np.shape(x) != np.shape(y) or not np.array_equal(x, y):
                return False
        elif f_.name == "options":
            if _json(x) != _json(y):
                return False
        elif x != y:
            return False
    return True


def read_samples(path) -> np.ndarray:
    """Samples from a ``.npy`` file (``allow_pickle=False``) or a comma-separated text file.

    A CSV file has one sample per line and one column per dimension; a first line that is not
    numeric is taken as a header and skipped. Returns a float array of shape ``(n, d)``.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, unreadable contents, non-finite values, or fewer than two samples.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"samples file {str(path)!r} not found.")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            x = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise ValueError(f"{path}: cannot read as a numeric .npy array ({exc}).") from None
        if x.dtype.kind not in "biuf":
            raise ValueError(f"{path}: the array has dtype {x.dtype}; samples must be numbers.")
    elif suffix in (".csv", ".txt"):
        with open(path, encoding="utf-8") as fh:
            first = fh.readline()
        try:
            [float(tok) for tok in first.split(",") if tok.strip()]
            skip = 0
        except ValueError:
            skip = 1
        try:
            x = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2, dtype=float)
        except ValueError as exc:
            raise ValueError(f"{path}: cannot read as comma-separated numbers ({exc}).") from None
    else:
        raise ValueError(f"{path}: samples must be a .npy or .csv file, got {suffix or 'no extension'!r}.")
    x = as_samples(x, name=str(path))  # (n, d), finite
    if x.shape[0] < 2:
        raise ValueError(f"{path}: need at least two samples, got {x.shape[0]}.")
    return x
