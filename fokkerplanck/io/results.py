"""Saved results: one HDF5 file per run, written atomically and read back without unpickling.

A results file holds everything needed to look at a run again, or to redo it:

- the run file text (when the run came from ``fokkerplanck run RUN.toml``) and the package version;
- the :class:`~fokkerplanck.Solution`: saved times ``t``, densities ``u``, ``rho_d`` on the cells,
  the per-step ``history`` (one dataset per diagnostic), the scalar metadata (divergence, beta,
  status, counters, ...) and the solver ``options``;
- the grid as ``lower``/``upper``/``shape`` (the :class:`~fokkerplanck.Grid` is rebuilt from them);
- particle snapshots (times and positions), if the run had particles.

Layout (HDF5 groups, datasets and attributes; dicts are stored as JSON strings)::

    /                attrs: format = "fokkerplanck.solution", format_version, fokkerplanck_version,
                            created (UTC, ISO 8601), metadata (JSON, free-form)
    /run_file        UTF-8 string dataset (optional)
    /grid            attrs: lower, upper (float64), shape (int64)
    /solution        datasets t (n_saved,), u (n_saved, *shape), target (*shape)
                     attrs: metadata (JSON: divergence, beta, status, counters, ...), options (JSON)
    /solution/history/<name>   one 1-D dataset per diagnostic (t, dt, mass, jsd, l1, ...)
    /particles       datasets t (n_snap,), positions (n_snap, n, d); attrs: metadata (JSON)

Loading reads plain numeric datasets and UTF-8 strings only: no pickle, no object arrays (h5py
cannot even store Python objects without an explicit opt-in, and :func:`load` rejects any dataset
whose dtype is not a number). Files are written to a temporary file in the target directory and
moved into place with :func:`os.replace`, so a crash never leaves a half-written results file.

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

import contextlib
import datetime as _dt
import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

__all__ = ["save", "load", "load_run", "SavedRun", "ParticleSnapshots", "solutions_equal", "read_samples",
           "atomic_h5", "FORMAT", "FORMAT_VERSION"]

FORMAT = "fokkerplanck.solution"
FORMAT_VERSION = 1
_SCALAR_FIELDS = ("divergence", "beta", "target_mass_outside", "initial_mass_outside", "status", "message",
                  "n_steps", "n_rejected", "n_newton", "n_linear")


@dataclass
class ParticleSnapshots:
    """Particle positions saved with a run.

    Attributes
    ----------
    t : ndarray, shape (n_snap,)
        Snapshot times.
    positions : ndarray, shape (n_snap, n, d)
        Positions of the ``n`` particles at each snapshot time.
    metadata : dict
        How they were computed (velocity mode, integrator, seed, ...).
    """

    t: np.ndarray
    positions: np.ndarray
    metadata: dict = field(default_factory=dict)


@dataclass
class SavedRun:
    """Everything in a results file (see :func:`load_run`)."""

    solution: object
    run_file: str | None
    version: str
    created: str
    particles: ParticleSnapshots | None
    metadata: dict


# ---------------------------------------------------------------------------------------------
# writing


@contextlib.contextmanager
def atomic_h5(path):
    """Open a new HDF5 file for writing that appears at ``path`` only once it is complete.

    The file is written under a temporary name in the same directory and renamed with
    :func:`os.replace` (atomic on POSIX and Windows) when the ``with`` block ends without error;
    on error the temporary file is removed and ``path`` is left untouched.
    """
    import h5py

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            yield f
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


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


def _write_particles(f, particles):
    if isinstance(particles, dict):
        t, positions = particles["t"], particles["positions"]
        meta = dict(particles.get("metadata", {}))
    else:
        t, positions = particles.t, particles.positions
        meta = dict(getattr(particles, "metadata", None) or {})
    t = np.asarray(t, dtype=float).ravel()
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 3 or positions.shape[0] != t.size:
        raise ValueError(f"particle positions must have shape (n_snapshots, n, d) with n_snapshots = {t.size} "
                         f"(one per time), got {positions.shape}.")
    g = f.create_group("particles")
    _write_array(g, "t", t)
    _write_array(g, "positions", positions, compress=True)
    g.attrs["metadata"] = _json(meta)


def save(path, solution, *, run_file: str | None = None, particles=None, metadata: dict | None = None) -> Path:
    """Write ``solution`` (and optionally the run file text and particle snapshots) to an HDF5 file.

    Parameters
    ----------
    path : str or Path
        Destination (conventionally ``*.h5``); parent directories are created. Written atomically.
    solution : Solution
    run_file : str, optional
        Text of the run file the solution came from (stored verbatim).
    particles : object with ``t`` and ``positions`` (n_snap, n, d), or dict, optional
        Particle snapshots, e.g. the result of :func:`fokkerplanck.particles.simulate`; a dict may
        also carry ``metadata``.
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
        g = f.create_group("grid")
        g.attrs["lower"] = np.asarray(grid.lower, dtype=float)
        g.attrs["upper"] = np.asarray(grid.upper, dtype=float)
        g.attrs["shape"] = np.asarray(grid.shape, dtype=np.int64)
        s = f.create_group("solution")
        _write_array(s, "t", solution.t)
        _write_array(s, "u", solution.u, compress=True)
        _write_array(s, "target", solution.target, compress=True)
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
    from ..grid import Grid
    from ..solution import Solution

    g = f["grid"]
    grid = Grid(lower=np.asarray(g.attrs["lower"], dtype=float), upper=np.asarray(g.attrs["upper"], dtype=float),
                shape=[int(s) for s in g.attrs["shape"]])
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
    return Solution(t=_read_array(s, "t", where), u=u, history=history, grid=grid, target=target,
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
            particles = ParticleSnapshots(t=_read_array(p, "t", where), positions=_read_array(p, "positions", where),
                                          metadata=_read_json(p.attrs, "metadata", where))
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
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{path}: samples must be an (n, d) array, got shape {x.shape}.")
    if x.shape[0] < 2:
        raise ValueError(f"{path}: need at least two samples, got {x.shape[0]}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{path}: samples contain non-finite values.")
    return x
