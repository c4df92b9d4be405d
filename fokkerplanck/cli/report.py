"""What a run reports: the diagnostics table, the figures, and the summary of a results file.

:func:`table` prints time, JSD, L1 to rho_d and mass (and W1 between the particles and the grid
density) at the rows chosen by :func:`table_times`; :func:`write_figures` writes the PNG figures
and the GIF of a solution; :func:`info` and :func:`plot_saved` are ``fokkerplanck info`` and
``fokkerplanck plot`` on a results file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from .._timeline import merge_tolerance
from .. import plot
from ..analysis import distances as _compare
from ..io import load_run
from ..io.atomic import full_disk

__all__ = ["table", "table_times", "w1_method", "write_figures", "info", "plot_saved", "sweep_summary"]


def w1_method(sol, ens, compare):
    """``"exact"`` or ``"sliced"``: the rule of ``compare.wasserstein(method="auto")`` (exact up to
    ``compare.MAX_EXACT_DEFAULT`` atoms per side), applied to the cell count, so the table passes the
    method explicitly and its column label always says what was computed. None on a periodic 2-D/3-D
    grid beyond that size (the sliced distance would cut the torus at the seam: no column)."""
    if sol.grid.ndim == 1:
        return "exact"  # 1-D is always exact (quantile functions; the circle's W1 on a periodic grid)
    n_atoms = max(int(ens.positions.shape[1]), int(np.prod(sol.grid.shape)))
    return "exact" if n_atoms <= compare.MAX_EXACT_DEFAULT else (None if sol.grid.is_periodic else "sliced")


def table(sol, times, ens=None, out=None):
    """Print time, the divergence that drives the flow, L1 to rho_d, mass (and W1 particles vs grid)
    at the given times.

    The divergence column is headed with the flow's divergence (``jsd``, ``chi2``, ...) and shows
    its value D_f(u | rho_d) (the history's ``energy``). Each row's divergence, L1 and mass
    come from the history at the row's time, and W1 from the particle
    snapshot and the saved frame at that time. If a particle snapshot time differs from the row's
    time (no common times, see :func:`table_times`), a column ``t particles`` shows it. In 2-D/3-D
    beyond ``compare.MAX_EXACT_DEFAULT`` atoms the column is the sliced distance, headed ``SW1``."""
    out = sys.stdout if out is None else out
    compare = _compare if ens is not None else None
    if compare is not None and w1_method(sol, ens, compare) is None:
        print(f"no W1 particles-grid column: exact transport on the torus is limited to {compare.MAX_EXACT_DEFAULT} "
              "atoms per side, and no sliced distance respects the seam", file=out)
        compare = None
    h = sol.history
    tol = merge_tolerance(sol.t[-1] if len(sol.t) else 1.0)
    plan = []
    for t in times:
        i = int(np.argmin(np.abs(h["t"] - t)))
        j = k = None
        if compare is not None:
            j = int(np.argmin(np.abs(ens.t - t)))
            k = int(np.argmin(np.abs(sol.t - ens.t[j])))
        plan.append((i, j, k))
    div = str(getattr(sol, "divergence", "") or "JSD")
    head = f"{'t':>8}  {div:>10}  {'L1 to rho_d':>11}  {'mass':>16}"
    show_tp = False
    if compare is not None:
        method = w1_method(sol, ens, compare)
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
        row = dict(t=float(h["t"][i]), jsd=float(h["jsd"][i]), l1=float(h["l1"][i]), mass=float(h["mass"][i]),
                   divergence=div, energy=float(h["energy"][i] if "energy" in h else h["jsd"][i]))
        line = f"{row['t']:8.3g}  {row['energy']:10.3e}  {row['l1']:11.3e}  {row['mass']:16.13f}"
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


def write_figures(sol, out_dir: Path, ens=None, target=None, animation=True):
    """The figures of a solution (and its particles, an Ensemble) in ``out_dir``; the paths written."""
    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []

    def save(fig, name):
        p = out_dir / name
        try:
            fig.savefig(p, dpi=110)
        except OSError as exc:
            raise (full_disk(exc, p) or exc) from None
        finally:
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


def table_times(sol, t_final, ens=None, n=6):
    """Rows of the printed table: the saved times if there are few, else about ``n`` of them,
    geometrically spaced toward t_final (0, T/16, T/8, T/4, T/2, T), snapped to saved times.

    With particles, only saved times that are also particle snapshot times are used (so a row's
    JSD, L1 and W1 are all at one time), unless there are fewer than 3 such times; then the table
    shows the particle snapshot time in a column of its own."""
    if t_final <= 0:
        return [0.0]
    saved = np.asarray(sol.t, dtype=float)
    if ens is not None:
        tol = merge_tolerance(t_final)
        common = saved[[bool(np.any(np.abs(np.asarray(ens.t) - s) <= tol)) for s in saved]]
        if len(common) >= min(3, len(saved)):
            saved = common
    if len(saved) <= n + 2:
        return saved.tolist()
    wanted = [0.0] + list(t_final / 2.0 ** np.arange(n - 2, -1, -1))
    return sorted({float(saved[np.argmin(np.abs(saved - w))]) for w in wanted})


def info(path, out):
    """``fokkerplanck info``: a few lines about a results file."""
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


def plot_saved(path, out_dir, animation, out):
    """``fokkerplanck plot``: the figures of a results file (next to it unless ``out_dir``)."""
    saved = load_run(path)
    out_dir = Path(out_dir) if out_dir is not None else Path(path).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in write_figures(saved.solution, out_dir, saved.particles, animation=animation):
        print(f"wrote {p}", file=out)




def sweep_summary(result, out, err):
    """``fokkerplanck sweep``: one line of counts, then the traceback of each failed case."""
    print(f"{result.n_cases} cases: {result.n_computed} computed, {result.n_skipped} already done, "
          f"{result.n_failed} failed; {len(result.rows)} rows in {result.csv_path}", file=out)
    for key, tb in result.failures.items():
        print(f"--- case {key} failed:\n{tb}", file=err)
