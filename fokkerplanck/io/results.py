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
    /grid            attrs: lower, upper (float64), shape (int64), periodic (int8, one per axis;
                     absent in files written before periodic grids: no axis wraps)
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
from ..flow.grid import Grid
from ..flow.solution import Solution
from ..particles import Ensemble
from . import integrity
from .atomic import atomic_h5
from .limits import MAX_DATA_BYTES, regular_file
from .contents import particles_problem, solution_problem
from .integrity import DamagedFileError
from .._version import __version__

__all__ = ["save", "load", "load_run", "SavedRun", "solutions_equal", "read_samples", "open_hdf5", "FORMAT",
           "FORMAT_VERSION"]

FORMAT = "fokkerplanck.solution"
FORMAT_VERSION = 2  # 2: a SHA-256 checksum attribute and fletcher32 on every array (version 1 files still load)
_STRINGS = ("run_file",)
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
    if values.size > 0 and values.ndim > 0:
        kw["fletcher32"] = True  # HDF5 checks these bytes on every read
    group.create_dataset(name, data=values, **kw)


def _jsonable(value):
    """``value`` for a JSON attribute, lenient: objects JSON cannot hold become their ``repr``."""
    return json.loads(json.dumps(value, default=lambda o: o.item() if isinstance(o, np.generic) else
                                 o.tolist() if isinstance(o, np.ndarray) else repr(o)))


def _write_grid(group, grid):
    group.attrs["lower"] = np.asarray(grid.lower, dtype=float)
    group.attrs["upper"] = np.asarray(grid.upper, dtype=float)
    group.attrs["shape"] = np.asarray(grid.shape, dtype=np.int64)
    if any(getattr(grid, "periodic", ())):
        group.attrs["periodic"] = np.asarray(grid.periodic, dtype=np.int8)


def _read_grid(group, where="", max_cells=None):
    """The Grid of a group's ``lower``/``upper``/``shape`` attributes, checked before it is built."""
    try:
        lower = np.asarray(group.attrs["lower"], dtype=float).ravel()
        upper = np.asarray(group.attrs["upper"], dtype=float).ravel()
        shape = np.asarray(group.attrs["shape"]).ravel()
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedFileError(f"{where}: {group.name}: the grid needs numeric attributes lower, upper and shape "
                               f"({integrity._short(exc)}).") from None
    if shape.dtype.kind not in "iu" or not (1 <= shape.size <= 3) or lower.size != shape.size \
            or upper.size != shape.size:
        raise DamagedFileError(f"{where}: {group.name}: grid attributes do not describe a 1-, 2- or 3-D grid "
                               f"(lower {lower.tolist()}, upper {upper.tolist()}, shape {shape.tolist()}).")
    cells = 1
    for n in shape.tolist():
        cells *= int(n)
    limit = integrity.DEFAULT_MAX_BYTES // 8 if max_cells is None else max_cells
    if np.any(shape < 2) or cells > limit:
        raise DamagedFileError(f"{where}: {group.name}: implausible grid shape {shape.tolist()}.")
    periodic = [False] * shape.size
    if "periodic" in group.attrs:
        flags = np.asarray(group.attrs["periodic"]).ravel()
        if flags.dtype.kind not in "biu" or flags.size != shape.size or not np.all((flags == 0) | (flags == 1)):
            raise DamagedFileError(f"{where}: {group.name}: the grid attribute periodic must hold one 0 or 1 per axis, "
                                   f"got {flags.tolist()}.")
        periodic = [bool(f) for f in flags]
    try:
        return Grid(lower=lower, upper=upper, shape=[int(s) for s in shape], periodic=periodic)
    except ValueError as exc:
        raise DamagedFileError(f"{where}: {group.name}: {exc}") from None


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
    found = particles_problem(t, positions)
    if found:
        raise ValueError(f"cannot save these particles: {found}.")
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
    if not isinstance(solution, Solution):
        raise ValueError(f"save expects a fokkerplanck.Solution, got {type(solution).__name__}.")
    if run_file is not None and not isinstance(run_file, str):
        raise ValueError("run_file must be the text of the run file (a str).")
    grid = solution.grid
    meta = {name: getattr(solution, name) for name in _SCALAR_FIELDS}
    found = solution_problem(solution.t, solution.u, solution.rho_d, solution.history, meta, solution.options)
    if found:
        raise ValueError(f"cannot save this solution: {found}.")
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
        integrity.stamp(f, strings=_STRINGS)
    return path


def _string_dtype():
    import h5py

    return h5py.string_dtype(encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# reading


def _read_json(attrs, name, where, kind=dict):
    """A JSON attribute (a ``kind``), with one-line errors for anything else (deep nesting too)."""
    raw = attrs.get(name)
    if raw is None:
        raise DamagedFileError(f"{where}: missing attribute {name!r}.")
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        raise DamagedFileError(f"{where}: attribute {name!r} should be a JSON string.")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DamagedFileError(f"{where}: attribute {name!r} is not valid JSON ({integrity._short(exc)}).") from None
    if kind is not None and not isinstance(value, kind):
        raise DamagedFileError(f"{where}: attribute {name!r} should hold a JSON {kind.__name__}.")
    return value


def open_hdf5(path, what="results file"):
    """Open an existing HDF5 file for reading, with clear errors (missing file, not HDF5)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {what} at {str(path)!r}.")
    try:
        return h5py.File(path, "r")
    except Exception as exc:  # noqa: BLE001 - OSError, and h5py's other errors on damaged superblocks
        raise DamagedFileError(f"{path}: not an HDF5 file or damaged ({integrity._short(exc)}).") from None


def _open(path):
    f = open_hdf5(path)
    try:
        return f, _format_version(f, path)
    except BaseException:
        f.close()
        raise


def _format_version(f, path):
    try:
        fmt = f.attrs.get("format")
        version = f.attrs.get("format_version", 0)
    except Exception as exc:  # noqa: BLE001 - OSError from a damaged attribute message or heap
        raise DamagedFileError(f"{path}: cannot read the file's attributes ({integrity._short(exc)}); the file is "
                               "damaged.") from None
    if isinstance(fmt, bytes):
        fmt = fmt.decode("utf-8", "replace")
    if fmt != FORMAT:
        raise DamagedFileError(f"{path}: not a fokkerplanck results file (format attribute {fmt!r}, "
                               f"expected {FORMAT!r}).")
    if isinstance(version, (bool, np.bool_)) or not isinstance(version, (int, np.integer)):
        version = -1
    if version < 0 or version > FORMAT_VERSION:
        raise DamagedFileError(f"{path}: written in results format {version}, which this fokkerplanck does not "
                               f"understand ({FORMAT_VERSION} or older); upgrade fokkerplanck.")
    return int(version)


def _shape_of(datasets, name, where):
    ds = datasets.get(name)
    if ds is None:
        raise DamagedFileError(f"{where}: missing dataset {name}.")
    return ds.shape


def _expect(cond, where, what):
    if not cond:
        raise DamagedFileError(f"{where}: {what}; refusing to load it.")


def _check_shapes(f, datasets, grid, where):
    """Declared shapes against the file's own grid, before anything is read."""
    t = _shape_of(datasets, "/solution/t", where)
    u = _shape_of(datasets, "/solution/u", where)
    target = _shape_of(datasets, "/solution/target", where)
    _expect(len(t) == 1, where, f"/solution/t has shape {t}, expected (n_saved,)")
    _expect(u == (t[0], *grid.shape), where, f"/solution/u has shape {u}, expected {(t[0], *grid.shape)} "
            f"(one density per saved time on the grid {grid.shape})")
    _expect(target == grid.shape, where, f"/solution/target has shape {target}, expected the grid shape {grid.shape}")
    hist = [(k, ds.shape) for k, ds in datasets.items() if k.startswith("/solution/history/")]
    lengths = {s for _, s in hist}
    _expect(len(lengths) <= 1 and all(len(s) == 1 for s in lengths), where,
            f"history datasets have shapes {sorted(lengths)}, expected one common length")
    if "/particles/t" in datasets or "/particles/positions" in datasets:
        pt = _shape_of(datasets, "/particles/t", where)
        pos = _shape_of(datasets, "/particles/positions", where)
        _expect(len(pt) == 1 and len(pos) == 3 and pos[0] == pt[0], where,
                f"/particles/positions has shape {pos}, expected (n_snapshots = {pt}, n, d)")


def _solution_from(f, values, grid, where):
    s = f["solution"]
    meta = _read_json(s.attrs, "metadata", where)
    options = _read_json(s.attrs, "options", where)
    order = _read_json(s["history"].attrs, "order", where, kind=list)
    names = {k.rsplit("/", 1)[1] for k in values if k.startswith("/solution/history/")}
    _expect(all(isinstance(k, str) for k in order) and set(order) == names and len(order) == len(names), where,
            "the history order does not match the history datasets")
    history = {key: values[f"/solution/history/{key}"] for key in order}
    unknown = set(meta) - {f_.name for f_ in fields(Solution)}
    if unknown:
        raise DamagedFileError(f"{where}: unknown solution fields {sorted(unknown)}.")
    t = values["/solution/t"]
    found = solution_problem(t, values["/solution/u"], values["/solution/target"], history, meta, options)
    _expect(found is None, where, found)
    return Solution(t=t, u=values["/solution/u"], history=history, grid=grid, rho_d=values["/solution/target"],
                    options=options, **meta)


def _load_checked(f, version, where) -> SavedRun:
    datasets = integrity.inspect(f, where, strings=_STRINGS)
    if "grid" not in f or not hasattr(f["grid"], "attrs"):
        raise DamagedFileError(f"{where}: missing group /grid.")
    grid = _read_grid(f["grid"], where)
    _check_shapes(f, datasets, grid, where)
    values = integrity.verify(f, where, strings=_STRINGS, required=version >= 2)
    solution = _solution_from(f, values, grid, where)
    run_file = values.get("/run_file")
    particles = None
    if "particles" in f:
        p = f["particles"]
        box = _read_grid(p["grid"], where) if "grid" in p else None
        found = particles_problem(values["/particles/t"], values["/particles/positions"])
        _expect(found is None, where, found)
        particles = _ensemble_from(values["/particles/t"], values["/particles/positions"],
                                   _read_json(p.attrs, "metadata", where), box)
    return SavedRun(solution=solution, run_file=run_file, version=str(f.attrs.get("fokkerplanck_version", "")),
                    created=str(f.attrs.get("created", "")), particles=particles,
                    metadata=_read_json(f.attrs, "metadata", where))


def load_run(path) -> SavedRun:
    """Everything in a results file: the solution, the run file text, version, particles, metadata.

    Before reading any data the file's structure is checked (:func:`fokkerplanck.io.integrity.inspect`:
    no links, external storage or virtual datasets; numeric datasets; declared shapes against the
    file's own grid); then the content is compared with its stored SHA-256 checksum.

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        (:class:`~fokkerplanck.io.integrity.DamagedFileError`) If the file is not a fokkerplanck
        results file, is damaged, or holds anything but plain numbers and strings; one line.
    """
    where = str(path)
    f, version = _open(path)
    try:
        with f:
            return _load_checked(f, version, where)
    except DamagedFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - anything else a hand-made or damaged file can provoke
        raise DamagedFileError(f"{where}: damaged or not a fokkerplanck results file "
                               f"({integrity._short(exc)}).") from None


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


def read_numeric_npy(path, what: str) -> np.ndarray:
    """The array of a ``.npy`` file read with ``allow_pickle=False``; ValueError naming the file unless it
    holds numbers (``what``: what they are, for the message). The caller checks the file first."""
    try:
        x = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"{path}: cannot read as a numeric .npy array ({exc}).") from None
    if x.dtype.kind not in "biuf":
        raise ValueError(f"{path}: the array has dtype {x.dtype}; {what} must be numbers.")
    return x


def read_samples(path) -> np.ndarray:
    """Samples from a ``.npy`` file (``allow_pickle=False``) or a comma-separated text file.

    A CSV file has one sample per line and one column per dimension; a first line that is not
    numeric is taken as a header and skipped. Returns a float array of shape ``(n, d)``.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, unreadable contents, non-finite values, or fewer than two samples.
    """
    path = regular_file(path, "samples file", MAX_DATA_BYTES)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = read_numeric_npy(path, "samples")
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
