r"""Run files: the TOML description of one run, checked key by key (:func:`read_run_file`).

A run file (see ``examples/``; every key is checked, unknown keys are errors)::

    [grid]                      # the box and the cells
    lower = [-6.0]
    upper = [6.0]
    shape = [400]
    periodic = false            # or true (every axis wraps around), or one per axis: [true, false]

    [target]                    # rho_d: kind = "gaussian" | "mixture" | "samples" | "array"
    kind = "mixture"
    weights = [0.4, 0.6]
    means = [-2.0, 1.5]         # (K, d) lists; flat lists are fine in 1-D
    covs = [0.36, 0.25]         # (K, d, d); in 1-D a list of variances

    [initial]                   # rho_0, the same kinds, or kind = "barenblatt" (below)
    kind = "samples"
    file = "data/initial.csv"   # .csv or .npy, (n, d), relative to the run file
    bandwidth = "scott"         # Gaussian KDE: "scott", "silverman" or scipy's bw factor
    background = 0.0            # weight of a wide Gaussian added (target: keeps rho_d > 0)

    # [target] kind = "uniform" (no other keys): rho_d = 1/|box| on the grid's box.
    # kind = "array", file = "values.npy": one value per cell (the grid's shape; a .csv of one
    #   number per line in 1-D), relative to the run file, checked and normalised (fp.GridDensity).
    # [initial] kind = "barenblatt": the Barenblatt profile of u_tau = Laplacian(u^m) at tau
    #   (fokkerplanck.theory.barenblatt), m = 2 (chi^2) or 0.5 (Hellinger), tau > 0,
    #   center = [0.0] (default: the origin). With a uniform target and divergence = "chi2"
    #   (m = 2) or "hellinger" (m = 0.5) it is an exact solution (fokkerplanck verify uses it).

    [flow]
    divergence = "jsd"          # or "kl", "chi2", "hellinger"
    t_final = 4.0
    dt = 0.01                   # or "adaptive" (then rtol = 1e-4, dt_max = ...,
                                #   error_relative_to = "mass" or "distance": the tolerance is
                                #   rtol or rtol * ||u - rho_d||_L1; see fokkerplanck.solve)
    save_times = [0.0, 1.0, 4.0]   # or "steps", or n_saves = 101 (evenly spaced; with a fixed dt
                                   # the nearest multiples of dt, and save_times must be multiples of dt)
    linear_solver = "auto"      # or a name of fokkerplanck.flow.linear.LINEAR_SOLVERS: "banded" (1-D), "direct", "amg", "multigrid"
    scheme = "euler"            # the time-stepping scheme (fokkerplanck.flow.stepping.SCHEMES)

    [particles]                 # optional: fokkerplanck.particles.simulate
    n = 2000
    velocity = "grid"           # a name in fokkerplanck.particles.VELOCITIES that needs no data samples;
    bandwidth = "scott"         #   the options it declares are keys here too (VelocityField.options)
    dt = 0.01
    method = "rk4"
    sampling = "iid"            # or "sobol" (quasi-Monte Carlo initial positions)
    seed = 0
    n_snapshots = 61

    [output]
    directory = "fokkerplanck-out/NAME"   # relative to the working directory; --out overrides
    figures = true
    animation = true
    checkpoint_seconds = 60.0

Errors in the file raise :class:`RunFileError` with one line naming the file, the table and the
key, and what was expected (the command line prints it and exits with code 2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._timeline import lattice_times, off_lattice
from ..flow import budget as _budget
from ..flow.divergences import DIVERGENCES, available_divergences, get_divergence
from ..flow.grid import Grid
from ..flow.grid_density import GridDensity
from ..flow.linear import LINEAR_SOLVERS, select
from ..flow.stepping import SCHEMES
from ..flow.densities import Density, Gaussian, GaussianMixture, SampleKDE, Barenblatt, Uniform
from ..particles.velocities import VELOCITIES
from . import toml as _toml
from .limits import MAX_DATA_BYTES, file_sha256, regular_file
from .results import read_numeric_npy, read_samples
from .toml import Table, TomlError, numeric_array
from .._version import __version__

__all__ = ["RunSpec", "RunFileError", "read_run_file", "parse_run", "loads"]


class RunFileError(TomlError):
    """A run file that is missing, not valid TOML, or has a missing or malformed key."""


@dataclass
class RunSpec:
    """A parsed run file: everything :func:`fokkerplanck.cli.runner.run` needs."""

    name: str
    text: str
    path: Path | None
    grid: object
    target: Density
    initial: Density
    divergence: str
    t_final: float
    dt: object
    solve_options: dict
    particles: dict | None
    output: dict
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)


def loads(text: str, source: str = "<run>") -> dict:
    """The dict of a run file's text (TOML), errors as :class:`RunFileError`."""
    return _toml.loads(text, source, RunFileError)


_SECTIONS = ("grid", "target", "initial", "flow", "particles", "output")

#: What a run gives a velocity field: the arguments of ``simulate`` a velocity may need
#: (``VelocityField.needs``) that the run fills in (the target density and the grid solution).
RUN_PROVIDES = frozenset({"target", "solution"})
_PARTICLE_KEYS = ("n", "velocity", "dt", "method", "seed", "n_snapshots", "sampling")


def read_run_file(path, *, force: bool = False) -> RunSpec:
    """Read and check a TOML run file (see the module docstring for the keys).

    Raises
    ------
    RunFileError
        A one-line message naming the file, the table and key, and what was expected; or, unless
        ``force``, a budget refusal (``"FILE: budget: ..."``, see :mod:`fokkerplanck.flow.budget`).
    """
    path = Path(path)
    data, text = _toml.load(path, "run file", RunFileError)
    spec = parse_run(data, text=text, source=str(path), base_dir=path.parent, name=path.stem, force=force)
    spec.path = path
    return spec


def _table(data, name, source, allowed) -> Table:
    return Table(data, name, source, allowed, RunFileError, "run file")


def _density(table: Table, d: int, role: str, base_dir: Path, data_files: list | None = None, grid=None):
    kinds = ("gaussian", "mixture", "samples", "array") + (("uniform",) if role == "target" else ("barenblatt",))
    kind = table.string("kind", choices=kinds)
    allowed = {"gaussian": {"kind", "mean", "cov"}, "mixture": {"kind", "weights", "means", "covs"},
               "samples": {"kind", "file", "bandwidth", "background"}, "uniform": {"kind"}, "array": {"kind", "file"},
               "barenblatt": {"kind", "m", "tau", "center"}}[kind]
    extra = sorted(set(table.data) - allowed)
    if extra:
        raise table.error(extra[0], f"not a key of kind = {kind!r}; expected {', '.join(sorted(allowed))}")
    ex_mean = "[0.0]" if d == 1 else "[" + ", ".join(["0.0"] * d) + "]"
    ex_cov = "[[1.0]] or 1.0" if d == 1 else "[" + ", ".join(
        "[" + ", ".join("1.0" if i == j else "0.0" for j in range(d)) + "]" for i in range(d)) + "]"
    try:
        if kind == "gaussian":
            mean = table.array("mean", (d,), ex_mean)
            cov_raw = table.raw("cov", expected=f"a {d}x{d} covariance matrix (e.g. {ex_cov})")
            if d == 1 and isinstance(cov_raw, (int, float)) and not isinstance(cov_raw, bool):
                cov = np.array([[float(cov_raw)]])
            else:
                cov = table.array("cov", (d, d), ex_cov, desc=f"a {d}x{d} covariance matrix"
                                  + (" or a variance" if d == 1 else ""))
            return Gaussian(mean, cov)
        if kind == "mixture":
            weights = table.array("weights", (None,), "[0.5, 0.5]")
            k = weights.size
            if np.any(weights < 0):
                raise table.error("weights", f"expected non-negative weights, got {weights.tolist()}")
            if np.all(np.isfinite(weights)) and abs(float(weights.sum()) - 1.0) > 1e-12:
                raise table.error("weights", f"expected weights summing to 1, got {weights.tolist()} (sum "
                                             f"{float(weights.sum()):.15g})")
            means_raw = table.raw("means", expected=f"a list of {k} means")
            if d == 1 and numeric_array(means_raw) is not None and numeric_array(means_raw).shape == (k,):
                means = numeric_array(means_raw)[:, None]
            else:
                means = table.array("means", (k, d), "[[-2.0], [2.0]]" if d == 1 else "[[-2.0, 0.0], [2.0, 0.0]]")
            covs_raw = table.raw("covs", expected=f"a list of {k} covariance matrices")
            if d == 1 and numeric_array(covs_raw) is not None and numeric_array(covs_raw).shape == (k,):
                covs = numeric_array(covs_raw)[:, None, None]
            else:
                covs = table.array("covs", (k, d, d), "[[[0.5]], [[0.5]]]" if d == 1 else
                                   "[[[0.5, 0.0], [0.0, 0.5]], [[0.5, 0.0], [0.0, 0.5]]]")
            return GaussianMixture(weights, means, covs)
        if kind == "uniform":
            return Uniform(grid.lower, grid.upper)
        if kind == "barenblatt":
            m = table.number("m", positive=True)
            if m == 1 or not m > max(0.0, (d - 2) / d):
                raise table.error("m", f"expected an exponent m > {max(0.0, (d - 2) / d):g}, m != 1 (2 for chi^2, "
                                       f"0.5 for Hellinger), got {m!r}")
            tau = table.number("tau", positive=True)
            center = table.array("center", (d,), ex_mean) if table.has("center") else np.zeros(d)
            return Barenblatt(m, tau, center)
        if kind == "array":
            return _array_density(table, base_dir, data_files, grid)
        # samples
        fname = table.string("file")
        fpath = Path(fname)
        if not fpath.is_absolute():
            fpath = base_dir / fpath
        bandwidth = table.raw("bandwidth", "scott")
        background = table.number("background", 0.0, lo=0.0, hi=0.999)
        try:
            regular_file(fpath, "samples file", MAX_DATA_BYTES)  # before anything reads it (/dev/zero, FIFOs)
            if data_files is not None:  # the checkpoint's fingerprint covers the data, not only the name
                data_files.append(file_sha256(fpath, MAX_DATA_BYTES))
            samples = read_samples(fpath)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise table.error("file", f"samples file {str(fpath)!r} not found (paths are relative to the run file)") from None
        except ValueError as exc:
            raise table.error("file", str(exc)) from None
        if samples.shape[1] != d:
            raise table.error("file", f"the samples are {samples.shape[1]}-dimensional but the grid is {d}-dimensional")
        try:
            return SampleKDE(samples, bandwidth=bandwidth, background=background)
        except ValueError as exc:
            key = "bandwidth" if "bandwidth" in str(exc) else "file"
            raise table.error(key, str(exc)) from None
    except ValueError as exc:
        if isinstance(exc, RunFileError):
            raise
        raise RunFileError(f"{table.source}: [{table.name}] {exc}") from None


def _array_density(table: Table, base_dir: Path, data_files, grid) -> GridDensity:
    """``kind = "array"``: one value per cell from a ``.npy`` file (any grid) or a ``.csv`` file (1-D)."""
    fpath = Path(table.string("file"))
    if not fpath.is_absolute():
        fpath = base_dir / fpath
    try:
        regular_file(fpath, "values file", MAX_DATA_BYTES)  # before anything reads it (/dev/zero, FIFOs)
        if data_files is not None:  # the fingerprint covers the values, not only the name
            data_files.append(file_sha256(fpath, MAX_DATA_BYTES))
        values = read_grid_values(fpath, grid.shape)
        return GridDensity(grid, values, name=str(fpath))
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        raise table.error("file", f"values file {str(fpath)!r} not found (paths are relative to the run file)") from None
    except ValueError as exc:
        raise table.error("file", str(exc)) from None


def read_grid_values(path: Path, shape) -> np.ndarray:
    """Cell values from a ``.npy`` file (``allow_pickle=False``, the grid's shape) or, for a 1-D grid, a
    ``.csv`` file of one number per line (or per comma); ValueError naming the file otherwise."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        x = read_numeric_npy(path, "cell values")
    elif suffix in (".csv", ".txt"):
        if len(shape) != 1:
            raise ValueError(f"{path}: a .csv values file is for 1-D grids; give a {len(shape)}-D grid's values "
                             "as a .npy array of its shape.")
        try:
            with open(path, encoding="utf-8") as fh:
                tokens = fh.read().replace(",", " ").split()
            x = np.array([float(t) for t in tokens], dtype=float)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: cannot read as numbers ({exc}).") from None
    else:
        raise ValueError(f"{path}: cell values must be a .npy or .csv file, got {suffix or 'no extension'!r}.")
    if len(shape) == 1 and x.ndim == 2 and 1 in x.shape:
        x = x.ravel()
    if x.shape != tuple(shape):
        raise ValueError(f"{path}: the values have shape {x.shape}, the grid has shape {tuple(shape)}; "
                         "give one value per cell.")
    return x


def parse_run(data: dict, *, text: str = "", source: str = "<run>", base_dir=".", name: str = "run",
              force: bool = False) -> RunSpec:
    """Check a run description (the dict read from TOML) and build the objects of a run.

    Unless ``force``, the run's estimated memory and steps are checked (:mod:`fokkerplanck.flow.budget`)
    and a run beyond them is refused with a :class:`RunFileError` ``"SOURCE: budget: ..."``."""
    def budget(fn, *args, **kw):
        if force:
            return
        try:
            fn(*args, **kw)
        except _budget.BudgetError as exc:
            raise RunFileError(f"{source}: {exc}") from None

    base_dir = Path(base_dir)
    unknown = sorted(set(data) - set(_SECTIONS))
    if unknown:
        raise RunFileError(f"{source}: [{unknown[0]}]: unknown table; a run file has "
                           f"{', '.join('[' + s + ']' for s in _SECTIONS)}")
    for sec in ("grid", "target", "initial", "flow"):
        if sec not in data:
            raise RunFileError(f"{source}: [{sec}]: missing table; a run file needs [grid], [target], "
                               "[initial] and [flow]")
    for sec in _SECTIONS:
        if sec in data and not isinstance(data[sec], dict):
            raise RunFileError(f"{source}: [{sec}]: expected a table ([{sec}] followed by key = value lines), "
                               f"got {data[sec]!r}")

    g = _table(data["grid"], "grid", source, {"lower", "upper", "shape", "periodic"})
    lower = g.array("lower", (None,), "[-6.0]")
    d = lower.size
    if d not in (1, 2, 3):
        raise g.error("lower", f"expected 1, 2 or 3 numbers (one per dimension), got {d}")
    upper = g.array("upper", (d,), "[6.0]" if d == 1 else str([6.0] * d))
    shape_raw = g.raw("shape", expected=f"a list of {d} integers (cells per axis)")
    if (not isinstance(shape_raw, list) or len(shape_raw) != d
            or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 2 for s in shape_raw)):
        raise g.error("shape", f"expected a list of {d} integers >= 2 (cells per axis), got {shape_raw!r}")
    if np.any(upper <= lower):
        raise g.error("upper", f"each entry must exceed lower, got lower = {lower.tolist()}, upper = {upper.tolist()}")
    cells = 1
    for s_ in shape_raw:
        cells *= s_
    budget(_budget.check, cells=cells, ndim=d, what=f"a grid of shape {shape_raw}", reduce="[grid] shape")
    periodic = g.raw("periodic", False)
    if not (isinstance(periodic, bool) or (isinstance(periodic, list) and len(periodic) == d
                                           and all(isinstance(p, bool) for p in periodic))):
        raise g.error("periodic", f"expected true, false or a list of {d} of them (one per axis), got {periodic!r}")
    grid = Grid(lower, upper, shape_raw, periodic=periodic)

    data_files: list = []
    target = _density(_table(data["target"], "target", source, {"kind", "mean", "cov", "weights", "means",
                                                                 "covs", "file", "bandwidth", "background"}),
                      d, "target", base_dir, data_files, grid)
    initial = _density(_table(data["initial"], "initial", source, {"kind", "mean", "cov", "weights", "means",
                                                                    "covs", "file", "bandwidth", "background",
                                                                    "m", "tau", "center"}),
                       d, "initial", base_dir, data_files, grid)

    fl = _table(data["flow"], "flow", source, {"divergence", "t_final", "dt", "rtol", "dt_max", "save_times",
                                                "n_saves", "error_relative_to", "linear_solver", "scheme"})
    divergence = fl.string("divergence", "jsd", expected="the name or an alias of a registered divergence ("
                           + ", ".join(repr(n) for n in available_divergences()) + ")")
    if divergence not in DIVERGENCES:  # the one list of names and aliases, the same as get_divergence's
        raise fl.error("divergence", f"expected one of {', '.join(repr(n) for n in DIVERGENCES.spellings())} "
                                     f"(names and aliases), got {divergence!r}")
    divergence = get_divergence(divergence).name
    t_final = fl.number("t_final", positive=True)
    dt_raw = fl.raw("dt", expected='a positive number or "adaptive"')
    if dt_raw == "adaptive":
        dt = "adaptive"
    else:
        dt = fl.number("dt", positive=True)
        if dt > t_final:
            raise fl.error("dt", f"expected a step <= t_final = {t_final}, got {dt}")
        # the number of steps first: the lattice checks below need t_final / dt to be a sane integer
        budget(_budget.check, cells=grid.size, ndim=d, steps=_budget.fixed_steps(t_final, dt),
               what=f"t_final / dt = {t_final / dt:.3g} steps", reduce="[flow] t_final or dt")
        if off_lattice([t_final], dt, t_final).size:
            raise fl.error("dt", f"t_final = {t_final} is not a multiple of dt = {dt}: fixed steps would not all "
                                 "be dt (the exponential formula); change t_final or dt")
    solve_options = {}
    if fl.has("rtol") or fl.has("dt_max") or fl.has("error_relative_to"):
        if dt != "adaptive":
            key = next(k for k in ("rtol", "dt_max", "error_relative_to") if fl.has(k))
            raise fl.error(key, 'only used with dt = "adaptive"; remove it or set dt = "adaptive"')
        if fl.has("rtol"):
            solve_options["rtol"] = fl.number("rtol", positive=True)
        if fl.has("dt_max"):
            solve_options["dt_max"] = fl.number("dt_max", positive=True)
        if fl.has("error_relative_to"):
            solve_options["error_relative_to"] = fl.string("error_relative_to", choices=("mass", "distance"))
    if fl.has("linear_solver"):
        solver = fl.string("linear_solver", choices=("auto", *LINEAR_SOLVERS.names()))  # not ``name``: the run's
        try:
            select(solver, grid.shape, get_divergence(divergence), grid.periodic)
        except ValueError as exc:
            raise fl.error("linear_solver", str(exc)) from None
        solve_options["linear_solver"] = solver
    if fl.has("scheme"):
        solve_options["scheme"] = fl.string("scheme", "euler", choices=tuple(SCHEMES.names()))
    if fl.has("save_times") and fl.has("n_saves"):
        raise fl.error("n_saves", "give either save_times or n_saves, not both")
    if fl.has("save_times"):
        st = fl.raw("save_times")
        if st == "steps":
            t_eval = "steps"
        else:
            arr = numeric_array(st)
            if arr is None or arr.ndim != 1 or arr.size == 0:
                raise fl.error("save_times", f'expected a list of times or "steps", got {st!r}')
            if np.any(np.diff(arr) <= 0) or arr[0] < 0 or arr[-1] > t_final:
                raise fl.error("save_times", f"expected increasing times in [0, t_final = {t_final}], "
                                             f"got {arr.tolist()}")
            bad = off_lattice(arr, dt, t_final) if dt != "adaptive" else []
            if len(bad):
                raise fl.error("save_times", f"{float(bad[0])!r} is not a multiple of dt = {dt}: fixed steps would be "
                                             "shortened to land on it; use multiples of dt")
            t_eval = arr.tolist()
    else:
        n_saves = fl.integer("n_saves", 101, minimum=2)
        budget(_budget.check, cells=grid.size, ndim=d, frames=n_saves, what=f"saving {n_saves} frames",
               reduce="[flow] n_saves")
        # with a fixed dt: times on the step lattice k * dt, so that every step is dt
        t_eval = (np.linspace(0.0, t_final, n_saves) if dt == "adaptive"
                  else lattice_times(t_final, dt, n_saves)).tolist()

    particles = None
    if "particles" in data:
        particles = _particles(data["particles"], source, d, dt, t_final, divergence)

    o = _table(data.get("output", {}), "output", source, {"directory", "figures", "animation",
                                                          "checkpoint_seconds", "checkpoint_steps"})
    output = dict(directory=o.string("directory", str(Path("fokkerplanck-out") / name)),
                  figures=o.boolean("figures", True), animation=o.boolean("animation", True),
                  checkpoint_seconds=o.number("checkpoint_seconds", 60.0, positive=True),
                  checkpoint_steps=o.integer("checkpoint_steps", None, minimum=1)
                  if o.has("checkpoint_steps") else None)

    budget(_budget.check_solve, grid, target, initial, t_final, dt, "steps" if t_eval == "steps" else t_eval,
           dt_max=solve_options.get("dt_max"), reduce="[grid] shape, [flow] n_saves or save_times, or the steps "
           "([flow] t_final / dt)")
    if particles is not None:
        budget(_budget.check_particles, particles["n"], t_final, particles["dt"], particles["n_snapshots"], d,
               particles["velocity"], reduce="[particles] n, n_snapshots or the steps (t_final / [particles] dt)")
    fp_text = "\n".join([__version__, text, repr(sorted(data.items(), key=lambda kv: kv[0]))] + data_files)
    return RunSpec(name=name, text=text, path=None, grid=grid, target=target, initial=initial, divergence=divergence,
                   t_final=t_final, dt=dt, solve_options=dict(solve_options, t_eval=t_eval), particles=particles,
                   output=output, fingerprint=hashlib.sha256(fp_text.encode()).hexdigest()[:16])


def _particles(data, source, d, dt, t_final, divergence) -> dict:
    """The checked ``[particles]`` table: its own keys, and the options the chosen velocity declares."""
    fields = [c for c in VELOCITIES if set(c.needs) <= RUN_PROVIDES]
    declared: dict = {}  # option name -> the velocities that declare it
    for c in fields:
        for o in c.options:
            declared.setdefault(o.name, []).append(c.name)
    p = _table(data, "particles", source, set(_PARTICLE_KEYS) | set(declared))
    velocity = p.string("velocity", "grid", choices=tuple(c.name for c in fields))
    field = VELOCITIES.get(velocity)
    why = field.unavailable(get_divergence(divergence))
    if why is not None:
        raise p.error("velocity", why)
    particles = dict(n=p.integer("n", minimum=2), velocity=velocity,
                     method=p.string("method", field.method(), choices=field.methods()),
                     seed=p.integer("seed", 0, minimum=0), sampling=p.string("sampling", "iid",
                                                                             choices=("iid", "sobol")),
                     n_snapshots=p.integer("n_snapshots", 61, minimum=2))
    particles["dt"] = p.number("dt", dt if dt != "adaptive" else min(1e-2, t_final / 100), positive=True)
    for key, owners in declared.items():
        if not p.has(key):
            continue
        option = field.option(key)
        if option is None:
            raise p.error(key, "only used with velocity = " + " or ".join(f'"{name}"' for name in owners))
        value = p.raw(key)
        try:
            particles[key] = option.check(key, value, d)
        except (ValueError, TypeError):
            raise p.error(key, f"expected {option.check.expected}, got {value!r}") from None
    return particles
