r"""Figures and animations of a computed flow (matplotlib; never called by numerical code).

Every function takes a :class:`~fokkerplanck.Solution` (and, where it makes sense, particle
positions) and draws on a given matplotlib ``Axes`` or a new figure:

- :func:`snapshots`: densities ``u(t)`` against ``rho_d`` (1-D lines; 2-D heat maps with contours
  of ``rho_d``; 3-D the same for the marginal of the first two coordinates);
- :func:`convergence`: JSD and L1 distance to ``rho_d`` against time on a log scale, with the
  predicted asymptotic rate (docs/mathematics.md, section 6): :math:`\|u(t)-\rho_d\|_{L^1}\sim e^{-\Phi'(1)\lambda_1 t}`
  and :math:`\mathrm{JSD}\sim e^{-2\Phi'(1)\lambda_1 t}`, with :math:`\lambda_1` the spectral gap of
  :math:`-\Delta_{\mu_d}` from :func:`fokkerplanck.theory.spectral_gap` (drawn only when that module
  is available) and :math:`\Phi'(1) = 1/4` for Jensen-Shannon;
- :func:`particles`: particle histogram (1-D) or scatter (2-D/3-D) over the grid density: the
  superposition principle (Section 5 of the paper) made visible;
- :func:`kymograph`: the space-time image ``u(t, x)`` in 1-D;
- :func:`animate`: an animation of the flow (and particles) written to GIF with the Pillow writer,
  and to MP4 when ffmpeg is available;
- :func:`solution`: the obvious overview figure (what ``sol.plot()`` shows).

References
----------
Huang, Y.-J. and Zhang, Y. (2023). GANs as gradient flows that converge. JMLR 24(217), eq. 25, 30-32
(the flow), Theorem 7 (convergence to rho_d) and Section 5 (superposition).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np

from . import analysis as theory
from .flow.divergences import get_divergence
from .flow.solution import Solution
from .flow.stepping import get_scheme

__all__ = ["snapshots", "convergence", "particles", "kymograph", "animate", "solution",
           "snapshot_times", "PARTICLE_COLOR_ON_HEATMAP"]

# Axis labels: the equation is written in nondimensional variables (lengths in the units of the
# grid, time in the units of the flow), so a density in 1-D is "per unit length".
X_LABEL = "position x (dimensionless)"
Y_LABEL = "position y (dimensionless)"
T_LABEL = "time t (dimensionless)"
DENSITY_LABEL = "density (per unit length)"
DENSITY2_LABEL = "density (per unit area)"

#: Particles drawn over a ``magma`` heat map: a cyan that stands out from its black-purple-orange-yellow.
PARTICLE_COLOR_ON_HEATMAP = "#00e5ff"


def _particle_label(shown, n):
    return f"{n} particles" if shown == n else f"{shown} of {n} particles shown"


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize=(6.0, 4.0)):
    if ax is not None:
        return ax.figure, ax
    fig, ax = _plt().subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _check_solution(sol, what):
    if not isinstance(sol, Solution):
        raise ValueError(f"{what} expects a fokkerplanck.Solution, got {type(sol).__name__}.")
    if len(sol.t) == 0:
        raise ValueError(f"{what}: the solution has no saved densities (sol.t is empty).")


def _nearest(sol_t, t):
    return int(np.argmin(np.abs(np.asarray(sol_t) - float(t))))


def snapshot_times(sol, n: int = 6) -> np.ndarray:
    """Indices into ``sol.t`` of about ``n`` frames that show the motion.

    The first ``n - 1`` frames are where the L1 distance to rho_d has fallen by equal factors from
    its start down to 1% of it (after that the curves are indistinguishable), the last frame is the
    final time; without an L1 history, times geometrically spaced (early motion is fast).
    """
    t = np.asarray(sol.t)
    if len(t) <= n:
        return np.arange(len(t))
    t_end = t[-1]
    h = getattr(sol, "history", None) or {}
    ht, l1 = np.asarray(h.get("t", [])), np.asarray(h.get("l1", []))
    if l1.size > 1 and l1[0] > 0 and np.all(np.isfinite(l1)) and l1.min() < l1[0]:
        low = max(float(l1.min()), 1e-2 * float(l1[0]))
        levels = np.geomspace(float(l1[0]), low, n - 1)
        running_min = np.minimum.accumulate(l1)
        wanted = [float(ht[np.argmax(running_min <= lev * (1 + 1e-12))]) for lev in levels] + [t_end]
    else:
        wanted = np.concatenate([[t[0]], np.geomspace(max(t_end / 2 ** (n - 2), 1e-300), t_end, n - 1)])
    return np.unique([_nearest(t, w) for w in wanted])


def _marginal2(sol, values):
    """Values on a 3-D grid summed over the last axis (the marginal density of the first two coordinates)."""
    if sol.grid.ndim == 3:
        return values.sum(axis=-1) * sol.grid.spacing[2]
    return values


def snapshots(sol, times=None, ax=None, n: int = 6):
    """Densities at a few saved times against the target ``rho_d``.

    Parameters
    ----------
    sol : Solution
    times : sequence of float, optional
        Times to show (the nearest saved frames are used); default about ``n`` geometrically spaced ones.
    ax : matplotlib Axes (1-D) or sequence of Axes (2-D/3-D, one per time), optional
    n : int
        Number of frames when ``times`` is not given.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_solution(sol, "snapshots")
    plt = _plt()
    idx = snapshot_times(sol, n) if times is None else np.unique([_nearest(sol.t, t) for t in times])
    grid = sol.grid
    if grid.ndim == 1:
        fig, ax = _axes(ax)
        x = grid.axes[0]
        ax.fill_between(x, sol.rho_d, color="0.85", zorder=1)
        ax.plot(x, sol.rho_d, color="k", lw=1.2, ls="--", zorder=2)
        # one legend entry for the filled, dashed target
        ax.fill_between([], [], color="0.85", edgecolor="k", ls="--", lw=1.2, label=r"target $\rho_d$")
        colors = plt.cm.viridis(np.linspace(0.0, 0.9, len(idx)))
        for c, k in zip(colors, idx):
            ax.plot(x, sol.u[k], color=c, lw=1.6, label=f"t = {sol.t[k]:.3g}", zorder=3)
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(DENSITY_LABEL)
        ax.set_xlim(grid.lower[0], grid.upper[0])
        ax.set_ylim(bottom=0)
        # outside the axes, so that it never hides a peak of rho_d or of u
        ax.legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        ax.set_title(f"{_long_name(sol)} flow toward $\\rho_d$")
        return fig
    k_n = len(idx)
    if ax is None:
        fig, axs = plt.subplots(1, k_n, figsize=(3.0 * k_n, 3.2), layout="constrained", squeeze=False,
                                sharex=True, sharey=True)
        axs = axs[0]
    else:
        axs = np.atleast_1d(ax)
        if len(axs) < k_n:
            raise ValueError(f"snapshots: {k_n} frames need {k_n} axes, got {len(axs)}.")
        fig = axs[0].figure
    x, y = grid.axes[0], grid.axes[1]
    rho = _marginal2(sol, sol.rho_d)
    vmax = max(float(_marginal2(sol, sol.u[k]).max()) for k in idx)
    mesh = None
    for a, k in zip(axs, idx):
        mesh = a.pcolormesh(grid.edges[0], grid.edges[1], _marginal2(sol, sol.u[k]).T, cmap="magma",
                            vmin=0.0, vmax=vmax, shading="flat", rasterized=True)
        a.contour(x, y, rho.T, levels=5, colors="w", linewidths=0.7, alpha=0.8)
        a.set_title(f"t = {sol.t[k]:.3g}")
        a.set_xlabel(X_LABEL)
        a.set_aspect("equal")
    axs[0].set_ylabel(Y_LABEL)
    fig.colorbar(mesh, ax=list(axs), shrink=0.8,
                 label=DENSITY2_LABEL + (" (marginal of x, y)" if grid.ndim == 3 else ""))
    return fig


def _long_name(sol):
    try:
        return get_divergence(sol.divergence).long_name
    except (ValueError, AttributeError):
        return str(sol.divergence)


def convergence(sol, ax=None, target=None, rate="auto", window="auto"):
    r"""JSD and L1 distance to ``rho_d`` against time (log scale), with the predicted asymptotic
    rate drawn only where the run is in its asymptotic regime.

    The predicted L1 rate (:math:`\Phi'(1)\lambda_1`, or for a fixed step ``h`` the discrete rate
    of the run's scheme, backward Euler's :math:`\ln(1 + h\Phi'(1)\lambda_1)/h`) is a statement about the
    *asymptotic* decay: it is drawn, anchored at the start of the window, only over the window
    where the L1 distance is between 1e-4 and 1e-9 (:func:`fokkerplanck.theory.decay_window`),
    next to the rate fitted there with its standard error. A run that never gets there shows no
    line and says so in the legend.

    Parameters
    ----------
    sol : Solution
    ax : matplotlib Axes, optional
    target : Density, optional
        Passed to :func:`fokkerplanck.theory.solution_rate`.
    rate : "auto", float or None
        Predicted continuous-time L1 rate :math:`\Phi'(1)\lambda_1`; ``"auto"`` computes it with
        :func:`fokkerplanck.theory.solution_rate`; None: no line.
    window : "auto" or (t0, t1)
        The asymptotic window; ``"auto"``: :func:`fokkerplanck.theory.decay_window` of the L1
        distance.

    Returns
    -------
    matplotlib.figure.Figure
    """

    _check_solution(sol, "convergence")
    fig, ax = _axes(ax)
    h = sol.history
    t = np.asarray(h["t"])
    jsd, l1 = np.asarray(h["jsd"]), np.asarray(h["l1"])
    ax.semilogy(t, l1, color="C0", lw=1.8, label=r"$\|u - \rho_d\|_{L^1}$")
    ax.semilogy(t, jsd, color="C1", lw=1.8, label=r"JSD$(u, \rho_d)$")
    if isinstance(rate, str):
        if rate != "auto":
            raise ValueError(f"rate must be 'auto', a number or None, got {rate!r}.")
        rate = theory.solution_rate(sol, target)
    if rate is not None and len(t) > 2 and t[-1] > t[0]:
        reason = None
        if isinstance(window, str):
            if window != "auto":
                raise ValueError(f"window must be 'auto' or a pair (t0, t1), got {window!r}.")
            try:
                window = theory.decay_window(t, l1)
            except ValueError as exc:   # the local rate has not settled: say so, with the numbers
                window, reason = None, " ".join(str(exc).split()).split(";")[0]
        dt = (sol.options or {}).get("dt")
        scheme = get_scheme(sol.options.get("scheme", "euler"))
        shown = theory.discrete_rate(rate, dt, scheme) if isinstance(dt, (int, float)) and not isinstance(dt, bool) else rate
        what = f"{scheme.label}'s rate" if shown != rate else r"$\Phi'(1)\lambda_1$"
        fitted = None
        if window is not None:
            try:
                fitted = theory.fit_rate(t, l1, window)
            except ValueError as exc:
                window, reason = None, str(exc).split(";")[0]
        if window is not None:
            t0, t1 = window
            tt = np.linspace(t0, t1, 50)
            i0 = int(np.argmin(np.abs(t - t0)))
            for y, factor, color in ((l1, 1.0, "C0"), (jsd, 2.0, "C1")):
                if y[i0] > 0:
                    ax.semilogy(tt, y[i0] * np.exp(-factor * shown * (tt - t[i0])), color="k", ls=":", lw=2.0,
                                zorder=4)
            ax.axvspan(t0, t1, color="0.9", zorder=0)
            ax.plot([], [], color="k", ls=":", lw=2.0, label=f"predicted L1 rate {shown:.4g} ({what}), JSD twice;\n"
                    f"drawn on the asymptotic window [{t0:.3g}, {t1:.3g}] (shaded)")
            ax.plot([], [], color="none", label=f"fitted L1 rate on the window: {fitted[0]:.4g} +- {fitted[1]:.2g}")
        else:
            ax.plot([], [], color="none", label=f"predicted L1 rate {shown:.4g} not drawn: asymptotic\n"
                    f"regime not reached ({reason})")
    ax.set_xlabel("t")
    ax.set_ylabel("distance to $\\rho_d$")
    ax.set_xlim(t[0], t[-1] if t[-1] > t[0] else t[0] + 1)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="x-small", frameon=True, framealpha=0.9, loc="upper right")
    ax.set_title("convergence")
    return fig


def _positions_at(positions, particle_t, t):
    positions = np.asarray(positions, dtype=float)
    if positions.ndim == 2:
        return positions, t
    if positions.ndim != 3:
        raise ValueError(f"particle positions must have shape (n, d) or (n_snapshots, n, d), got {positions.shape}.")
    if particle_t is None:
        raise ValueError("pass particle_t (the snapshot times) with positions of shape (n_snapshots, n, d).")
    k = _nearest(particle_t, t if t is not None else particle_t[-1])
    return positions[k], float(np.asarray(particle_t)[k])


def _particle_source(parts):
    """(t, positions) from a particles result object, an Ensemble, a dict, or (t, positions)."""
    if parts is None:
        return None, None
    if isinstance(parts, dict):
        return np.asarray(parts["t"]), np.asarray(parts["positions"])
    if hasattr(parts, "positions"):
        return np.asarray(parts.t), np.asarray(parts.positions)
    t, pos = parts
    return np.asarray(t), np.asarray(pos)


def particles(sol, positions, t=None, ax=None, particle_t=None, bins=None, max_points=3000):
    """Particles over the grid density at (about) time ``t``.

    Parameters
    ----------
    sol : Solution
    positions : array (n, d) or (n_snapshots, n, d), or a particles result with ``.t``/``.positions``
    t : float, optional
        Time to show (default: the last particle snapshot); the nearest saved grid frame is used.
    ax : matplotlib Axes, optional
    particle_t : array, optional
        Snapshot times when ``positions`` is a 3-D array.
    bins : int, optional
        1-D histogram bins (default: about ``sqrt(n)``, at most 80).
    max_points : int
        2-D/3-D: at most this many particles are scattered (an evenly spaced subset).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_solution(sol, "particles")
    if hasattr(positions, "positions"):
        particle_t, positions = _particle_source(positions)
    pos, t_shown = _positions_at(positions, particle_t, t)
    grid = sol.grid
    if pos.shape[1] != grid.ndim:
        raise ValueError(f"particles are {pos.shape[1]}-dimensional but the grid is {grid.ndim}-dimensional.")
    k = _nearest(sol.t, t_shown if t_shown is not None else sol.t[-1])
    fig, ax = _axes(ax)
    n = pos.shape[0]
    if grid.ndim == 1:
        nb = bins or int(min(80, max(10, math.sqrt(n))))
        ax.hist(pos[:, 0], bins=np.linspace(grid.lower[0], grid.upper[0], nb + 1), density=True, color="C2",
                alpha=0.5, label=f"{n} particles (histogram)", zorder=1)
        ax.plot(grid.axes[0], sol.u[k], color="C0", lw=1.8, label="grid density u", zorder=3)
        ax.plot(grid.axes[0], sol.rho_d, color="k", lw=1.0, ls="--", label=r"$\rho_d$", zorder=2)
        ax.set_xlim(grid.lower[0], grid.upper[0])
        ax.set_ylim(0, 1.25 * max(float(sol.u[k].max()), float(sol.rho_d.max())))
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(DENSITY_LABEL)
        ax.legend(fontsize="small", frameon=False, loc="upper left")
    else:
        mesh = ax.pcolormesh(grid.edges[0], grid.edges[1], _marginal2(sol, sol.u[k]).T, cmap="Blues",
                             shading="flat", rasterized=True)
        fig.colorbar(mesh, ax=ax, shrink=0.85, label="grid " + DENSITY2_LABEL)
        step = max(1, n // max_points)
        shown = len(pos[::step])
        ax.scatter(pos[::step, 0], pos[::step, 1], s=2, color="C3", alpha=0.6, lw=0,
                   label=_particle_label(shown, n))
        ax.set_xlim(grid.lower[0], grid.upper[0])
        ax.set_ylim(grid.lower[1], grid.upper[1])
        ax.set_aspect("equal")
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(Y_LABEL)
        ax.legend(fontsize="small", loc="upper right", markerscale=4)
    ax.set_title(f"particles vs grid density, t = {sol.t[k]:.3g}")
    return fig


def kymograph(sol, ax=None):
    """Space-time image of ``u(t, x)`` for a 1-D solution (time upward).

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_solution(sol, "kymograph")
    if sol.grid.ndim != 1:
        raise ValueError(f"kymograph needs a 1-D solution, this one is {sol.grid.ndim}-D; use snapshots().")
    if len(sol.t) < 2:
        raise ValueError("kymograph needs at least two saved times (pass t_eval with more times to solve).")
    fig, ax = _axes(ax)
    t = np.asarray(sol.t, dtype=float)
    t_edges = np.concatenate([[t[0]], 0.5 * (t[1:] + t[:-1]), [t[-1]]])
    mesh = ax.pcolormesh(sol.grid.edges[0], t_edges, sol.u, cmap="magma", shading="flat", rasterized=True)
    fig.colorbar(mesh, ax=ax, label="u(t, x) (per unit length)")
    ax.set_xlabel(X_LABEL)
    ax.set_ylabel(T_LABEL)
    ax.set_title("space-time (kymograph)")
    return fig


def _frame_times(sol, particle_t, max_frames):
    base = np.asarray(particle_t if particle_t is not None else sol.t, dtype=float)
    if len(base) <= max_frames:
        return base
    sel = np.unique(np.round(np.linspace(0, len(base) - 1, max_frames)).astype(int))
    return base[sel]


def animate(sol, path, particles=None, fps: int = 10, max_frames: int = 100, mp4: bool | None = None, dpi=90):
    """Animate the flow (and particles) to a GIF (Pillow writer) and, with ffmpeg, an MP4.

    Parameters
    ----------
    sol : Solution
    path : str or Path
        Output file; its suffix is replaced by ``.gif`` (and ``.mp4``).
    particles : particles result (``.t``, ``.positions``), dict or (t, positions), optional
        Drawn as a histogram (1-D) or scatter (2-D/3-D) in each frame.
    fps : int
    max_frames : int
        At most this many frames (evenly spaced among the saved times or the particle snapshots).
    mp4 : bool or None
        ``None``: also write an MP4 if ffmpeg is available; ``True``: require it; ``False``: GIF only.

    Returns
    -------
    list of Path
        The files written.
    """
    _check_solution(sol, "animate")
    plt = _plt()
    from matplotlib import animation

    p_t, p_pos = _particle_source(particles)
    if p_pos is not None and (p_pos.ndim != 3 or p_pos.shape[2] != sol.grid.ndim or len(p_t) != p_pos.shape[0]):
        raise ValueError(f"particle positions must have shape (n_snapshots, n, {sol.grid.ndim}) with one "
                         f"time per snapshot, got {p_pos.shape} and {len(p_t)} times.")
    have_ffmpeg = animation.writers.is_available("ffmpeg")
    if mp4 and not have_ffmpeg:
        raise ValueError("MP4 output needs ffmpeg on the PATH (matplotlib's FFMpegWriter); install it or pass mp4=None.")
    frames = _frame_times(sol, p_t, max_frames)
    grid = sol.grid
    fig, ax = plt.subplots(figsize=(6.0, 4.0) if grid.ndim == 1 else (5.0, 4.6), layout="constrained")
    title = ax.set_title(" ")
    if grid.ndim == 1:
        x = grid.axes[0]
        ax.fill_between(x, sol.rho_d, color="0.85", label=r"$\rho_d$")
        (line,) = ax.plot(x, sol.u[0], color="C0", lw=2, label="u(t)", zorder=3)
        stairs = None
        if p_pos is not None:
            nb = int(min(80, max(10, math.sqrt(p_pos.shape[1]))))
            edges = np.linspace(grid.lower[0], grid.upper[0], nb + 1)
            hist0, _ = np.histogram(p_pos[0, :, 0], bins=edges, density=True)
            stairs = ax.stairs(hist0, edges, color="C2", fill=True, alpha=0.45, label="particles")
        ymax = 1.1 * max(float(sol.u.max()), float(sol.rho_d.max()))
        ax.set_ylim(0, ymax)
        ax.set_xlim(grid.lower[0], grid.upper[0])
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(DENSITY_LABEL)
        ax.legend(loc="upper right", frameon=False)

        def draw(k):
            t = frames[k]
            i = _nearest(sol.t, t)
            line.set_ydata(sol.u[i])
            if stairs is not None:
                j = _nearest(p_t, t)
                h, _ = np.histogram(p_pos[j, :, 0], bins=edges, density=True)
                stairs.set_data(h)
            title.set_text(f"t = {sol.t[i]:.3g}   JSD = {_jsd_at(sol, sol.t[i]):.2e}")
    else:
        rho = _marginal2(sol, sol.rho_d)
        vmax = float(max(_marginal2(sol, sol.u[k]).max() for k in range(len(sol.t))))
        im = ax.imshow(_marginal2(sol, sol.u[0]).T, origin="lower", cmap="magma", vmin=0, vmax=vmax,
                       extent=(grid.lower[0], grid.upper[0], grid.lower[1], grid.upper[1]), interpolation="nearest")
        ax.contour(grid.axes[0], grid.axes[1], rho.T, levels=5, colors="w", linewidths=0.7)
        fig.colorbar(im, ax=ax, shrink=0.85, label=DENSITY2_LABEL + (" (marginal of x, y)" if grid.ndim == 3 else ""))
        scat = None
        if p_pos is not None:
            step = max(1, p_pos.shape[1] // 2000)
            scat = ax.scatter(p_pos[0, ::step, 0], p_pos[0, ::step, 1], s=2, color=PARTICLE_COLOR_ON_HEATMAP, lw=0,
                              label=_particle_label(len(p_pos[0, ::step]), p_pos.shape[1]))
            ax.legend(loc="upper right", fontsize="small", markerscale=4)
        ax.set_xlabel(X_LABEL)
        ax.set_ylabel(Y_LABEL)

        def draw(k):
            t = frames[k]
            i = _nearest(sol.t, t)
            im.set_data(_marginal2(sol, sol.u[i]).T)
            if scat is not None:
                j = _nearest(p_t, t)
                scat.set_offsets(p_pos[j, ::step, :2])
            title.set_text(f"t = {sol.t[i]:.3g}   JSD = {_jsd_at(sol, sol.t[i]):.2e}")

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draw(0)
    fig.canvas.draw()  # lay out once (constrained layout), then freeze it: frames only redraw artists
    fig.set_layout_engine("none")
    writers = [(path.with_suffix(".gif"), animation.PillowWriter(fps=fps))]
    if have_ffmpeg and mp4 is not False and shutil.which("ffmpeg") is not None:
        writers.append((path.with_suffix(".mp4"), animation.FFMpegWriter(fps=fps)))
    written = []
    for out, writer in writers:
        with writer.saving(fig, out, dpi):
            for k in range(len(frames)):
                draw(k)
                writer.grab_frame()
        written.append(out)
    plt.close(fig)
    return written


def _jsd_at(sol, t):
    h = sol.history
    return float(h["jsd"][_nearest(h["t"], t)])


def solution(sol, particles=None, path=None, target=None):
    """The overview figure of a run: what ``sol.plot()`` shows.

    Panels: densities against ``rho_d`` (with the particle histogram at the final time, if given),
    JSD and L1 against time with the predicted rate, and in 1-D the kymograph.

    Parameters
    ----------
    sol : Solution
    particles : particles result (``.t``, ``.positions``), dict or (t, positions), optional
    path : str or Path, optional
        If given, the figure is also saved there (PNG, PDF, SVG, ... by suffix).
    target : Density, optional
        Passed to :func:`fokkerplanck.theory.solution_rate`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _check_solution(sol, "solution")
    plt = _plt()
    p_t, p_pos = _particle_source(particles)
    if sol.grid.ndim == 1:
        fig, axs = plt.subplots(1, 3, figsize=(16.0, 4.2), layout="constrained", width_ratios=[1.25, 1, 1])
        snapshots(sol, ax=axs[0])
        if p_pos is not None:
            pos = p_pos[-1][:, 0]
            nb = int(min(80, max(10, math.sqrt(len(pos)))))
            # filled and under the curves (zorder 1 < 3), so the final u(t) stays visible on top of it
            axs[0].hist(pos, bins=np.linspace(sol.grid.lower[0], sol.grid.upper[0], nb + 1), density=True,
                        histtype="stepfilled", color="C3", alpha=0.3, lw=0, zorder=1.5,
                        label=f"{len(pos)} particles, t = {p_t[-1]:.3g}")
            axs[0].legend(fontsize="small", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        convergence(sol, ax=axs[1], target=target)
        axs[1].set_xlabel(T_LABEL)
        if len(sol.t) >= 2:
            kymograph(sol, ax=axs[2])
        else:
            axs[2].set_visible(False)
    else:
        idx = snapshot_times(sol, 3)
        k_n = len(idx)
        fig, axs = plt.subplots(1, k_n + 1, figsize=(3.6 * k_n + 5.4, 3.9), layout="constrained",
                                width_ratios=[1] * k_n + [1.5])
        snapshots(sol, times=[sol.t[i] for i in idx], ax=axs[:-1])
        if p_pos is not None:
            step = max(1, p_pos.shape[1] // 1500)
            shown = len(p_pos[-1, ::step])
            axs[k_n - 1].scatter(p_pos[-1, ::step, 0], p_pos[-1, ::step, 1], s=1.5, color=PARTICLE_COLOR_ON_HEATMAP,
                                 lw=0, label=_particle_label(shown, p_pos.shape[1]))
            axs[k_n - 1].legend(loc="upper right", fontsize="x-small", markerscale=4)
        convergence(sol, ax=axs[-1], target=target)
        axs[-1].set_xlabel(T_LABEL)
        # the convergence legend is long: below the panel rather than across its curves or outside the figure
        axs[-1].legend(fontsize="x-small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=120)
    return fig
