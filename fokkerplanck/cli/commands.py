r"""The command line: ``fokkerplanck demo``, ``fokkerplanck run RUN.toml``, ``info`` and ``plot``.

``fokkerplanck demo`` solves a 1-D flow toward a two-mode target, moves grid-driven particles
beside it (Trevisan's superposition principle, Section 5 of the paper), prints a short table and
writes figures and an animation. ``fokkerplanck run RUN.toml`` does the same for a run described
in a TOML file (see ``examples/`` and :func:`read_run_file`), saves the results to HDF5
(:mod:`fokkerplanck.io`), checkpoints long runs and continues them with ``--resume``.

Run file (TOML; every key is checked, unknown keys are errors)::

    [grid]                      # the box and the cells
    lower = [-6.0]
    upper = [6.0]
    shape = [400]

    [target]                    # rho_d: kind = "gaussian" | "mixture" | "samples"
    kind = "mixture"
    weights = [0.4, 0.6]
    means = [-2.0, 1.5]         # (K, d) lists; flat lists are fine in 1-D
    covs = [0.36, 0.25]         # (K, d, d); in 1-D a list of variances

    [initial]                   # rho_0, the same kinds
    kind = "samples"
    file = "data/initial.csv"   # .csv or .npy, (n, d), relative to the run file
    bandwidth = "scott"         # Gaussian KDE: "scott", "silverman" or scipy's bw factor
    background = 0.0            # weight of a wide Gaussian added (target: keeps rho_d > 0)

    [flow]
    divergence = "jsd"          # or "kl"
    t_final = 4.0
    dt = 0.01                   # or "adaptive" (then rtol = 1e-4, dt_max = ...)
    save_times = [0.0, 1.0, 4.0]   # or "steps", or n_saves = 101 (evenly spaced)

    [particles]                 # optional: fokkerplanck.particles.simulate
    n = 2000
    velocity = "grid"           # or "kde" / "sde" (self-consistent; bandwidth, estimator)
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

Errors in the file give one line naming the key and what was expected, and exit code 2.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..densities import Density, Gaussian, GaussianMixture, SampleKDE

__all__ = ["main", "read_run_file", "parse_run", "RunSpec", "RunFileError", "Interrupted", "SampleKDE", "run", "demo",
           "DEMO_RUN"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


class RunFileError(ValueError):
    """A run file that is missing, not valid TOML, or has a missing or malformed key."""


# ---------------------------------------------------------------------------------------------
# densities from samples


# ---------------------------------------------------------------------------------------------
# run files

_REQUIRED = object()


@dataclass
class RunSpec:
    """A parsed run file: everything :func:`run` needs."""

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


class _Table:
    """Typed access to one TOML table, with error messages naming the key."""

    def __init__(self, data, name, source, allowed):
        self.data, self.name, self.source = data, name, source
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            raise self.error(unknown[0], f"unknown key; [{name}] accepts {', '.join(sorted(allowed))}")

    def error(self, key, msg):
        return RunFileError(f"{self.source}: [{self.name}] {key}: {msg}")

    def has(self, key):
        return key in self.data

    def raw(self, key, default=_REQUIRED, expected="a value"):
        if key not in self.data:
            if default is _REQUIRED:
                raise self.error(key, f"missing; expected {expected}")
            return default
        return self.data[key]

    def number(self, key, default=_REQUIRED, positive=False, allow_zero=False, lo=None, hi=None):
        what = "a positive number" if positive else "a number"
        v = self.raw(key, default, what)
        if key not in self.data:
            return v  # the default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise self.error(key, f"expected {what}, got {v!r}")
        if positive and (v < 0 or (v == 0 and not allow_zero)):
            raise self.error(key, f"expected {what}, got {v!r}")
        if lo is not None and v < lo or hi is not None and v > hi:
            raise self.error(key, f"expected a number in [{lo}, {hi}], got {v!r}")
        return float(v)

    def integer(self, key, default=_REQUIRED, minimum=1):
        v = self.raw(key, default, f"an integer >= {minimum}")
        if key not in self.data:
            return v  # the default
        if isinstance(v, bool) or not isinstance(v, int) or v < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {v!r}")
        return v

    def boolean(self, key, default=_REQUIRED):
        v = self.raw(key, default, "true or false")
        if key not in self.data:
            return v  # the default
        if not isinstance(v, bool):
            raise self.error(key, f"expected true or false, got {v!r}")
        return v

    def string(self, key, default=_REQUIRED, choices=None):
        expected = "one of " + ", ".join(repr(c) for c in choices) if choices else "a string"
        v = self.raw(key, default, expected)
        if key not in self.data:
            return v  # the default
        if not isinstance(v, str) or (choices and v not in choices):
            raise self.error(key, f"expected {expected}, got {v!r}")
        return v

    def array(self, key, shape, example, default=_REQUIRED, desc=None):
        """A nested list of numbers with the given shape (None entries match any length)."""
        desc = desc or _shape_desc(shape)
        v = self.raw(key, default, f"{desc} (e.g. {example})")
        if key not in self.data:
            return v  # the default
        arr = _numeric_array(v)
        if arr is None or arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            raise self.error(key, f"expected {desc} (e.g. {example}), got {v!r}")
        if not np.all(np.isfinite(arr)):
            raise self.error(key, f"expected finite numbers, got {v!r}")
        return arr


def _shape_desc(shape):
    def n_of(n, what):
        if n is None:
            return f"some {what}s"
        return f"{n} {what}" + ("" if n == 1 else "s")

    if len(shape) == 1:
        return "a list of " + n_of(shape[0], "number")
    if len(shape) == 2:
        return "a list of " + n_of(shape[0], "list") + " of " + n_of(shape[1], "number")
    k = "some" if shape[0] is None else shape[0]
    return f"a list of {k} {shape[1]}x{shape[2]} matri{'x' if k == 1 else 'ces'} (lists of lists of numbers)"


def _numeric_array(v):
    def ok(x):
        if isinstance(x, list):
            return all(ok(y) for y in x)
        return isinstance(x, (int, float)) and not isinstance(x, bool)

    if not ok(v):
        return None
    try:
        arr = np.asarray(v, dtype=float)
    except ValueError:  # ragged
        return None
    return arr


def _toml():
    """The TOML reader: tomllib (Python >= 3.11), else the 'tomli' package, else a clear error."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise RunFileError("reading run files needs Python >= 3.11 (tomllib) or the 'tomli' package on "
                               "Python 3.10: pip install tomli") from None
    return tomllib


def _load_toml(path: Path) -> tuple[dict, str]:
    tomllib = _toml()
    if not path.exists():
        raise RunFileError(f"{path}: run file not found")
    if not path.is_file():
        raise RunFileError(f"{path}: not a file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFileError(f"{path}: cannot read the run file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RunFileError(f"{path}: not valid TOML: {exc}") from None
    return data, text


_SECTIONS = ("grid", "target", "initial", "flow", "particles", "output")


def read_run_file(path) -> RunSpec:
    """Read and check a TOML run file (see the module docstring for the keys).

    Raises
    ------
    RunFileError
        A one-line message naming the file, the table and key, and what was expected.
    """
    path = Path(path)
    data, text = _load_toml(path)
    spec = parse_run(data, text=text, source=str(path), base_dir=path.parent, name=path.stem)
    spec.path = path
    return spec


def _density(table: _Table, d: int, role: str, base_dir: Path):
    kind = table.string("kind", choices=("gaussian", "mixture", "samples"))
    allowed = {"gaussian": {"kind", "mean", "cov"}, "mixture": {"kind", "weights", "means", "covs"},
               "samples": {"kind", "file", "bandwidth", "background"}}[kind]
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
            means_raw = table.raw("means", expected=f"a list of {k} means")
            if d == 1 and _numeric_array(means_raw) is not None and _numeric_array(means_raw).shape == (k,):
                means = _numeric_array(means_raw)[:, None]
            else:
                means = table.array("means", (k, d), "[[-2.0], [2.0]]" if d == 1 else "[[-2.0, 0.0], [2.0, 0.0]]")
            covs_raw = table.raw("covs", expected=f"a list of {k} covariance matrices")
            if d == 1 and _numeric_array(covs_raw) is not None and _numeric_array(covs_raw).shape == (k,):
                covs = _numeric_array(covs_raw)[:, None, None]
            else:
                covs = table.array("covs", (k, d, d), "[[[0.5]], [[0.5]]]" if d == 1 else
                                   "[[[0.5, 0.0], [0.0, 0.5]], [[0.5, 0.0], [0.0, 0.5]]]")
            return GaussianMixture(weights, means, covs)
        # samples
        from ..io import read_samples

        fname = table.string("file")
        fpath = Path(fname)
        if not fpath.is_absolute():
            fpath = base_dir / fpath
        bandwidth = table.raw("bandwidth", "scott")
        background = table.number("background", 0.0, lo=0.0, hi=0.999)
        try:
            samples = read_samples(fpath)
        except FileNotFoundError:
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


def parse_run(data: dict, *, text: str = "", source: str = "<run>", base_dir=".", name: str = "run") -> RunSpec:
    """Check a run description (the dict read from TOML) and build the objects of a run."""
    from ..grid import Grid

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

    g = _Table(data["grid"], "grid", source, {"lower", "upper", "shape"})
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
    grid = Grid(lower, upper, shape_raw)

    target = _density(_Table(data["target"], "target", source, {"kind", "mean", "cov", "weights", "means",
                                                                 "covs", "file", "bandwidth", "background"}),
                      d, "target", base_dir)
    initial = _density(_Table(data["initial"], "initial", source, {"kind", "mean", "cov", "weights", "means",
                                                                    "covs", "file", "bandwidth", "background"}),
                       d, "initial", base_dir)

    fl = _Table(data["flow"], "flow", source, {"divergence", "t_final", "dt", "rtol", "dt_max", "save_times",
                                                "n_saves"})
    from ..divergences import available_divergences

    divergence = fl.string("divergence", "jsd", choices=tuple(available_divergences()))
    t_final = fl.number("t_final", positive=True)
    dt_raw = fl.raw("dt", expected='a positive number or "adaptive"')
    if dt_raw == "adaptive":
        dt = "adaptive"
    else:
        dt = fl.number("dt", positive=True)
        if dt > t_final:
            raise fl.error("dt", f"expected a step <= t_final = {t_final}, got {dt}")
    solve_options = {}
    if fl.has("rtol") or fl.has("dt_max"):
        if dt != "adaptive":
            key = "rtol" if fl.has("rtol") else "dt_max"
            raise fl.error(key, 'only used with dt = "adaptive"; remove it or set dt = "adaptive"')
        if fl.has("rtol"):
            solve_options["rtol"] = fl.number("rtol", positive=True)
        if fl.has("dt_max"):
            solve_options["dt_max"] = fl.number("dt_max", positive=True)
    if fl.has("save_times") and fl.has("n_saves"):
        raise fl.error("n_saves", "give either save_times or n_saves, not both")
    if fl.has("save_times"):
        st = fl.raw("save_times")
        if st == "steps":
            t_eval = "steps"
        else:
            arr = _numeric_array(st)
            if arr is None or arr.ndim != 1 or arr.size == 0:
                raise fl.error("save_times", f'expected a list of times or "steps", got {st!r}')
            if np.any(np.diff(arr) <= 0) or arr[0] < 0 or arr[-1] > t_final:
                raise fl.error("save_times", f"expected increasing times in [0, t_final = {t_final}], "
                                             f"got {arr.tolist()}")
            t_eval = arr.tolist()
    else:
        n_saves = fl.integer("n_saves", 101, minimum=2)
        t_eval = np.linspace(0.0, t_final, n_saves).tolist()

    particles = None
    if "particles" in data:
        p = _Table(data["particles"], "particles", source, {"n", "velocity", "dt", "method", "seed", "n_snapshots",
                                                             "sampling", "bandwidth", "estimator"})
        velocity = p.string("velocity", "grid", choices=("grid", "kde", "sde"))
        particles = dict(n=p.integer("n", minimum=2), velocity=velocity,
                         method=p.string("method", "euler-maruyama" if velocity == "sde" else "rk4",
                                         choices=("euler-maruyama",) if velocity == "sde" else ("euler", "rk2", "rk4")),
                         seed=p.integer("seed", 0, minimum=0), sampling=p.string("sampling", "iid",
                                                                                 choices=("iid", "sobol")),
                         n_snapshots=p.integer("n_snapshots", 61, minimum=2))
        particles["dt"] = p.number("dt", dt if dt != "adaptive" else min(1e-2, t_final / 100), positive=True)
        if p.has("bandwidth"):
            if velocity == "grid":
                raise p.error("bandwidth", 'only used with velocity = "kde" or "sde"')
            bw = p.raw("bandwidth")
            if not (bw in ("scott", "silverman") or (isinstance(bw, (int, float)) and not isinstance(bw, bool)
                                                     and bw > 0)):
                raise p.error("bandwidth", f'expected "scott", "silverman" or a positive number, got {bw!r}')
            particles["bandwidth"] = bw
        if p.has("estimator"):
            if velocity == "grid":
                raise p.error("estimator", 'only used with velocity = "kde" or "sde"')
            particles["estimator"] = p.string("estimator", choices=("auto", "exact", "binned"))

    o = _Table(data.get("output", {}), "output", source, {"directory", "figures", "animation",
                                                          "checkpoint_seconds", "checkpoint_steps"})
    output = dict(directory=o.string("directory", str(Path("fokkerplanck-out") / name)),
                  figures=o.boolean("figures", True), animation=o.boolean("animation", True),
                  checkpoint_seconds=o.number("checkpoint_seconds", 60.0, positive=True),
                  checkpoint_steps=o.integer("checkpoint_steps", None, minimum=1)
                  if o.has("checkpoint_steps") else None)

    from .. import __version__

    fp_text = "\n".join([__version__, text, repr(sorted(data.items(), key=lambda kv: kv[0]))])
    return RunSpec(name=name, text=text, path=None, grid=grid, target=target, initial=initial, divergence=divergence,
                   t_final=t_final, dt=dt, solve_options=dict(solve_options, t_eval=t_eval), particles=particles,
                   output=output, fingerprint=hashlib.sha256(fp_text.encode()).hexdigest()[:16])


# ---------------------------------------------------------------------------------------------
# running


def _time_tol(t_final):
    return 1e-9 * max(1.0, float(t_final))  # the solver's tolerance for landing on a save time


def _w1_method(sol, ens, compare):
    """``"exact"`` or ``"sliced"``: the rule of ``compare.wasserstein(method="auto")`` (exact up to
    ``compare.MAX_EXACT_DEFAULT`` atoms per side), applied to the cell count, so the table passes the
    method explicitly and its column label always says what was computed."""
    if sol.grid.ndim == 1:
        return "exact"  # 1-D is always exact (quantile functions)
    n_atoms = max(int(ens.positions.shape[1]), int(np.prod(sol.grid.shape)))
    return "exact" if n_atoms <= compare.MAX_EXACT_DEFAULT else "sliced"


def _table(sol, times, ens=None, out=None):
    """Print time, JSD, L1 to rho_d, mass (and W1 particles vs grid) at the given times.

    Each row's JSD, L1 and mass come from the history at the row's time, and W1 from the particle
    snapshot and the saved frame at that time. If a particle snapshot time differs from the row's
    time (no common times, see :func:`_table_times`), a column ``t particles`` shows it. In 2-D/3-D
    beyond ``compare.MAX_EXACT_DEFAULT`` atoms the column is the sliced distance, headed ``SW1``."""
    out = sys.stdout if out is None else out
    from .. import compare as _compare
    compare = _compare if ens is not None else None
    h = sol.history
    tol = _time_tol(sol.t[-1] if len(sol.t) else 1.0)
    plan = []
    for t in times:
        i = int(np.argmin(np.abs(h["t"] - t)))
        j = k = None
        if compare is not None:
            j = int(np.argmin(np.abs(ens.t - t)))
            k = int(np.argmin(np.abs(sol.t - ens.t[j])))
        plan.append((i, j, k))
    head = f"{'t':>8}  {'JSD':>10}  {'L1 to rho_d':>11}  {'mass':>16}"
    show_tp = False
    if compare is not None:
        method = _w1_method(sol, ens, compare)
        name = "W1" if method == "exact" else "SW1"
        show_tp = any(abs(ens.t[j] - h["t"][i]) > tol for i, j, _ in plan)
        if show_tp:
            head += f"  {'t particles':>11}"
        head += f"  {name + ' particles-grid':>18}"
        if method == "sliced":
            print(f"SW1 = sliced Wasserstein distance (64 random directions), not W1: exact W1 needs at most "
                  f"{compare.MAX_EXACT_DEFAULT} atoms per side, here {int(np.prod(sol.grid.shape))} cells and "
                  f"{ens.positions.shape[1]} particles", file=out)
    print(head, file=out)
    rows = []
    for i, j, k in plan:
        row = dict(t=float(h["t"][i]), jsd=float(h["jsd"][i]), l1=float(h["l1"][i]), mass=float(h["mass"][i]))
        line = f"{row['t']:8.3g}  {row['jsd']:10.3e}  {row['l1']:11.3e}  {row['mass']:16.13f}"
        if compare is not None:
            w1 = float(compare.wasserstein(ens.positions[j], (sol.grid, sol.u[k]), p=1, method=method))
            row["w1"] = w1
            row["w1_method"] = method
            if show_tp:
                row["t_particles"] = float(ens.t[j])
                line += f"  {row['t_particles']:11.3g}"
            line += f"  {w1:18.3e}"
        rows.append(row)
        print(line, file=out)
    return rows


def _write_figures(sol, out_dir: Path, ens=None, target=None, animation=True, quiet=False):
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .. import plot

    written = []

    def save(fig, name):
        p = out_dir / name
        fig.savefig(p, dpi=110)
        plt.close(fig)
        written.append(p)

    parts = (ens.t, ens.positions) if ens is not None else None
    save(plot.solution(sol, particles=parts, target=target), "overview.png")
    save(plot.snapshots(sol), "snapshots.png")
    save(plot.convergence(sol, target=target), "convergence.png")
    if sol.grid.ndim == 1 and len(sol.t) >= 2:
        save(plot.kymograph(sol), "kymograph.png")
    if ens is not None:
        save(plot.particles(sol, ens.positions, particle_t=ens.t), "particles.png")
    if animation and len(sol.t) >= 2:
        written += plot.animate(sol, out_dir / "flow.gif", particles=parts)
    return written


def _simulate_particles(spec_particles, target, initial, t_final, sol):
    from .. import particles as mod
    if mod is None:
        raise RunFileError("[particles] needs the module fokkerplanck.particles, which is not available in "
                           "this installation; remove the [particles] table")
    opts = dict(spec_particles)
    n = opts.pop("n")
    n_snap = opts.pop("n_snapshots")
    kwargs = dict(velocity=opts.pop("velocity"), dt=opts.pop("dt"), method=opts.pop("method"), seed=opts.pop("seed"),
                  sampling=opts.pop("sampling"), t_eval=np.linspace(0.0, t_final, n_snap),
                  divergence=sol.divergence)
    if kwargs["velocity"] == "grid":
        kwargs["solution"] = sol
    else:
        kwargs["domain"] = sol.grid  # reflecting walls, like the grid's no-flux boundary
    vopts = {k: opts.pop(k) for k in ("bandwidth", "estimator") if k in opts}
    if vopts:
        kwargs["velocity_options"] = vopts
    return mod.simulate(target, initial, t_final, n, **kwargs)


class Interrupted(Exception):
    """The run was interrupted (Ctrl-C); the message says where the last checkpoint is."""


def run(spec: RunSpec, out_dir=None, resume=False, quiet=False, figures=None, out=None, err=None):
    """Run a parsed run file: solve, particles, table, results file, figures. Returns the Solution."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    import fokkerplanck as fp

    from ..io.checkpoint import Checkpoint, load_state
    from ..io import save
    from ..progress import ProgressBar

    out_dir = Path(out_dir if out_dir is not None else spec.output["directory"])
    out_dir.mkdir(parents=True, exist_ok=True)
    results = out_dir / f"{spec.name}.h5"
    ckpt_path = out_dir / f"{spec.name}.checkpoint.h5"
    t_eval = spec.solve_options["t_eval"]
    grid_driven = spec.particles is not None and spec.particles["velocity"] == "grid"
    if grid_driven:
        t_eval = _solve_times(t_eval, spec.dt, spec.t_final)  # the grid velocity interpolates between every step
    state = None
    if resume:
        if ckpt_path.exists():
            state = load_state(ckpt_path, fingerprint=spec.fingerprint)
            if not quiet:
                print(f"resuming from the checkpoint at t = {state.t:.6g} ({ckpt_path})", file=err)
        elif not quiet:
            print(f"no checkpoint at {ckpt_path}; starting from t = 0", file=err)
    ckpt = Checkpoint(ckpt_path, every_seconds=spec.output["checkpoint_seconds"],
                      every_steps=spec.output["checkpoint_steps"], fingerprint=spec.fingerprint)
    bar = ProgressBar(enabled=False if quiet else None, stream=err, desc=spec.name)
    kw = {k: v for k, v in spec.solve_options.items() if k != "t_eval"}
    t0 = time.perf_counter()
    try:
        sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, divergence=spec.divergence,
                       t_eval=t_eval, trackers=[bar, ckpt], resume=state, **kw)
    except KeyboardInterrupt:
        bar.finish(None)
        if ckpt_path.exists():
            with_t = f" (t = {ckpt.last_t:.6g})" if ckpt.last_t is not None else ""
            msg = (f"interrupted; the last checkpoint{with_t} is {ckpt_path}: continue with "
                   f"'fokkerplanck run {spec.path or spec.name + '.toml'} --resume'")
        else:
            msg = (f"interrupted before the first checkpoint (written every "
                   f"{spec.output['checkpoint_seconds']:g} s); nothing to resume from")
        raise Interrupted(msg) from None
    except fp.ConvergenceError as exc:
        if exc.solution is not None:
            save(results, exc.solution, run_file=spec.text, metadata=dict(name=spec.name, failed=str(exc)))
            raise fp.ConvergenceError(f"{exc} (partial results in {results})", solution=exc.solution, step=exc.step,
                                      time=exc.time, dt=exc.dt, residual=exc.residual) from None
        raise
    elapsed = time.perf_counter() - t0
    ens = None
    if spec.particles is not None:
        ens = _simulate_particles(spec.particles, spec.target, spec.initial, spec.t_final, sol)
    if grid_driven:
        sol = _keep_frames(sol, spec.solve_options["t_eval"])  # store only the requested frames
    if not quiet:
        print(f"{spec.name}: {spec.divergence} flow on {sol.grid}, t_final = {spec.t_final:g}, "
              f"{sol.n_steps} steps ({sol.n_rejected} rejected) in {elapsed:.2f} s, beta = {sol.beta:.3g}", file=out)
    times = _table_times(sol, spec.t_final, ens)
    rows = _table(sol, times, ens, out=out if not quiet else io.StringIO())
    particles = None
    if ens is not None:
        particles = dict(t=ens.t, positions=ens.positions, metadata={k: v for k, v in spec.particles.items()})
    save(results, sol, run_file=spec.text, particles=particles, metadata=dict(name=spec.name, table=rows))
    with_figs = spec.output["figures"] if figures is None else figures
    written = [results]
    if with_figs:
        written += _write_figures(sol, out_dir, ens, target=spec.target, animation=spec.output["animation"])
    if ckpt_path.exists():
        ckpt_path.unlink()
    if not quiet:
        for p in written:
            print(f"wrote {p}", file=out)
    return sol


def _table_times(sol, t_final, ens=None, n=6):
    """Rows of the printed table: the saved times if there are few, else about ``n`` of them,
    geometrically spaced toward t_final (0, T/16, T/8, T/4, T/2, T), snapped to saved times.

    With particles, only saved times that are also particle snapshot times are used (so a row's
    JSD, L1 and W1 are all at one time), unless there are fewer than 3 such times; then the table
    shows the particle snapshot time in a column of its own."""
    if t_final <= 0:
        return [0.0]
    saved = np.asarray(sol.t, dtype=float)
    if ens is not None:
        tol = _time_tol(t_final)
        common = saved[[bool(np.any(np.abs(np.asarray(ens.t) - s) <= tol)) for s in saved]]
        if len(common) >= min(3, len(saved)):
            saved = common
    if len(saved) <= n + 2:
        return saved.tolist()
    wanted = [0.0] + list(t_final / 2.0 ** np.arange(n - 2, -1, -1))
    return sorted({float(saved[np.argmin(np.abs(saved - w))]) for w in wanted})


def _solve_times(t_eval, dt, t_final):
    """``t_eval`` for a grid-driven particle run: every step (the particles interpolate the velocity
    between steps) and also the requested save times. With fixed ``dt``: the requested times and the
    multiples of ``dt``; adaptive: ``"steps"`` (the requested times are then the nearest steps)."""
    if isinstance(t_eval, str) or dt == "adaptive":
        return "steps"
    n = int(math.floor(t_final / dt * (1 + 1e-12)))
    marks = np.unique(np.concatenate([[0.0, t_final], dt * np.arange(1, n + 1), np.asarray(t_eval, float)]))
    marks = marks[(marks >= 0) & (marks <= t_final)]
    keep = np.concatenate([[True], np.diff(marks) > _time_tol(t_final)])
    return marks[keep].tolist()


def _keep_frames(sol, t_eval):
    """The solution with only the frames at the requested save times (the history is kept whole)."""
    import dataclasses

    if isinstance(t_eval, str):
        return sol
    wanted = np.asarray(t_eval, dtype=float)
    idx = np.unique([int(np.argmin(np.abs(sol.t - w))) for w in wanted])
    return dataclasses.replace(sol, t=sol.t[idx], u=sol.u[idx], options=dict(sol.options, t_eval=wanted.tolist()))


# ---------------------------------------------------------------------------------------------
# the demo

DEMO_RUN = """\
# The demo: a 1-D Jensen-Shannon flow toward a two-mode target, with grid-driven particles.
[grid]
lower = [-6.0]
upper = [6.0]
shape = [480]

[target]
kind = "mixture"
weights = [0.4, 0.6]
means = [-2.0, 1.5]
covs = [0.36, 0.25]

[initial]
kind = "gaussian"
mean = [-0.5]
cov = 0.5

[flow]
divergence = "jsd"
t_final = 8.0
dt = 0.02
n_saves = 161

[particles]
n = 4000
velocity = "grid"
dt = 0.02
method = "rk4"
sampling = "sobol"
seed = 0
n_snapshots = 41

[output]
directory = "fokkerplanck-out"
"""


def demo(out_dir="fokkerplanck-out", quiet=False, particles=True, out=None, err=None):
    """The demo run (:data:`DEMO_RUN`): a 1-D flow toward a two-mode target, particles beside it."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    data = _toml().loads(DEMO_RUN)
    if not particles:
        data.pop("particles")
    spec = parse_run(data, text=DEMO_RUN, source="demo", name="demo")
    if not quiet:
        print("fokkerplanck demo: u(t) flows toward rho_d = 0.4 N(-2, 0.6^2) + 0.6 N(1.5, 0.5^2) from "
              "rho_0 = N(-0.5, 0.71^2)  (N(mean, sd^2); variances 0.36, 0.25 and 0.5)", file=out)
    return run(spec, out_dir=out_dir, quiet=quiet, out=out, err=err)


# ---------------------------------------------------------------------------------------------
# entry point


def _parser():
    from .. import __version__

    p = argparse.ArgumentParser(prog="fokkerplanck", description="Numerics for 'GANs as Gradient Flows that "
                                "Converge': the Jensen-Shannon gradient flow (nonlinear Fokker-Planck equation).")
    p.add_argument("--version", action="version", version=f"fokkerplanck {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    d = sub.add_parser("demo", help="1-D flow toward a two-mode target with particles; table, figures, GIF")
    d.add_argument("--out", default="fokkerplanck-out", help="output directory (default ./fokkerplanck-out)")
    d.add_argument("--quiet", "-q", action="store_true", help="no table, no progress bar")
    d.add_argument("--no-particles", action="store_true", help="grid solution only")
    r = sub.add_parser("run", help="a run described in a TOML file (see examples/)")
    r.add_argument("runfiles", metavar="RUN.toml", nargs="+", help="one or more run files, run in turn")
    r.add_argument("--out", default=None, help="output directory (default: [output] directory of the run file; "
                   "with several run files, one subdirectory per run file)")
    r.add_argument("--resume", action="store_true", help="continue from the last checkpoint in the output directory")
    r.add_argument("--quiet", "-q", action="store_true", help="no table, no progress bar")
    r.add_argument("--no-figures", action="store_true", help="results file only")
    i = sub.add_parser("info", help="summary of a results file (.h5)")
    i.add_argument("results", metavar="RESULTS.h5")
    pl = sub.add_parser("plot", help="figures (and GIF) from a results file")
    pl.add_argument("results", metavar="RESULTS.h5")
    pl.add_argument("--out", default=None, help="output directory (default: next to the results file)")
    pl.add_argument("--no-animation", action="store_true")
    return p


def _info(path, out):
    from ..io import load_run

    saved = load_run(path)
    sol = saved.solution
    h = sol.history
    print(f"{path}: fokkerplanck {saved.version}, written {saved.created}", file=out)
    print(f"  {sol.divergence} flow on {sol.grid}", file=out)
    print(f"  {len(sol.t)} saved densities, t in [{sol.t[0]:g}, {sol.t[-1]:g}]; {sol.n_steps} steps, "
          f"status {sol.status} ({sol.message})", file=out)
    print(f"  JSD {h['jsd'][0]:.3e} -> {h['jsd'][-1]:.3e}, L1 {h['l1'][0]:.3e} -> {h['l1'][-1]:.3e}, "
          f"mass drift {abs(h['mass'][-1] - h['mass'][0]):.1e}", file=out)
    if saved.particles is not None:
        pos = saved.particles.positions
        print(f"  particles: {pos.shape[1]} in {pos.shape[2]}-D, {pos.shape[0]} snapshots", file=out)
    print(f"  run file: {'stored (' + str(len(saved.run_file.splitlines())) + ' lines)' if saved.run_file else 'none'}",
          file=out)


def _plot_saved(path, out_dir, animation, out):
    from ..io import load_run

    saved = load_run(path)
    out_dir = Path(out_dir) if out_dir is not None else Path(path).parent
    out_dir.mkdir(parents=True, exist_ok=True)

    class _Ens:
        pass

    ens = None
    if saved.particles is not None:
        ens = _Ens()
        ens.t, ens.positions = saved.particles.t, saved.particles.positions
    for p in _write_figures(saved.solution, out_dir, ens, animation=animation):
        print(f"wrote {p}", file=out)


def main(argv=None) -> int:
    """Entry point of the ``fokkerplanck`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        print("\nStart with:  fokkerplanck demo", file=sys.stdout)
        return EXIT_OK
    from ..solution import ConvergenceError

    try:
        if args.command == "demo":
            demo(out_dir=args.out, quiet=args.quiet, particles=not args.no_particles)
        elif args.command == "run":
            specs = [read_run_file(f) for f in args.runfiles]  # check every file before running any
            names = [s.name for s in specs]
            if args.out is not None and len(set(names)) < len(names):
                raise RunFileError("run files with the same name would overwrite each other's results in --out")
            for spec in specs:
                out_dir = None if args.out is None or len(specs) == 1 else Path(args.out) / spec.name
                run(spec, out_dir=out_dir if out_dir is not None else args.out, resume=args.resume,
                    quiet=args.quiet, figures=False if args.no_figures else None)
        elif args.command == "info":
            _info(args.results, sys.stdout)
        elif args.command == "plot":
            _plot_saved(args.results, args.out, not args.no_animation, sys.stdout)
    except (RunFileError, FileNotFoundError) as exc:
        print(f"fokkerplanck: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConvergenceError as exc:
        print(f"fokkerplanck: the solver failed: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except ValueError as exc:
        print(f"fokkerplanck: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except Interrupted as exc:
        print(f"fokkerplanck: {exc}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("fokkerplanck: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_OK
