r"""The cases of a verification, one function per kind, run as tasks by :func:`fokkerplanck.sweep.run_sweep`.

Every function takes the run file's path (and its fingerprint, so a rerun after an edit of the
file recomputes) and returns one row of scalars and flat lists (JSON), computed on a worker:

- ``space``: the flow on a grid with ``base * 2**level`` cells per axis (same box), at the run's
  step; the densities at the save times (cell values, to be averaged down to the coarsest grid).
- ``time``: the flow on the run's grid with steps ``dt / 2**level``; the densities at the save times.
- ``long``: the run continued long enough for the L1 distance to fall to ~1e-10 at the
  predicted rate, at a fixed step ``h <= 0.05 / r``; the invariants at every step, the fitted
  rate, Lemma 24.
- ``contraction``: the run and one from a perturbed start (``0.8 rho_0 + 0.2 rho_d``), the L1
  distance between them at every step.
- ``particles``: grid-driven particles (superposition) against the grid density, W1 against the
  sampling floor.
"""

from __future__ import annotations

import math

import numpy as np
from .. import analysis as theory

__all__ = ["run_case", "ladder_steps", "INVARIANT_TOL"]

#: Round-off allowances of the invariant checks (relative to the quantity's initial size): mass
#: is conserved to round-off by the Newton rescaling, the others hold exactly for backward Euler
#: up to the Newton tolerance (1e-13 in mass units).
#: Step cap of the long run (its length is otherwise 1.5x the time the predicted rate needs to
#: bring the L1 distance from ~1 to 1e-10).
MAX_LONG_STEPS = 40_000

INVARIANT_TOL = dict(mass=1e-10, positivity=0.0, maximum=1e-10, energy=1e-10, dissipation=1e-9, contraction=1e-10)


def _spec(runfile):
    from ..io.runfile import read_run_file

    return read_run_file(runfile)


def ladder_steps(spec):
    """``(dt, save_times)`` of level 0 of the time ladder: the run's ``dt`` (for an adaptive run
    ``t_final / 64``) and the save times that lie on its lattice (always ``t_final``)."""
    from .._timeline import off_lattice

    t_final = spec.t_final
    dt = spec.dt if spec.dt != "adaptive" else t_final / 64
    te = spec.solve_options.get("t_eval")
    te = np.asarray([t_final] if isinstance(te, str) or te is None else te, dtype=float)
    bad = off_lattice(te, dt, t_final)
    te = np.array([t for t in te if t not in bad and t > 0])
    return float(dt), sorted(set(te.tolist()) | {t_final})


class _Invariants:
    """Callback recording, at every accepted step, the smallest density value."""

    def __init__(self):
        self.min_v = math.inf

    def __call__(self, t, v, record):
        self.min_v = min(self.min_v, float(np.min(v)))


def invariants_of(sol, min_v) -> dict:
    """Worst values of the step-by-step invariants of one run (history at every step)."""
    h = sol.history
    mass = np.asarray(h["mass"])
    e = np.asarray(h["energy"])
    diss = np.asarray(h["dissipation"])
    dt = np.asarray(h["dt"])
    scale_e = max(abs(e[0]), 1e-300)
    increase = float(np.max(np.diff(e))) / scale_e if e.size > 1 else 0.0
    # E(v^n) - E(v^{n+1}) >= h D(v^{n+1}) for backward Euler (convexity of E)
    slack = (e[:-1] - e[1:]) - dt[1:] * diss[1:]
    edi = float(max(0.0, -np.min(slack))) / scale_e if slack.size else 0.0
    return dict(mass_drift=float(np.max(np.abs(mass - mass[0])) / mass[0]), min_v=float(min_v),
                max_v_excess=float(np.max(h["max_v"]) - h["max_v"][0]) / float(h["max_v"][0]),
                energy_increase=max(increase, 0.0), dissipation_violation=edi, n_steps=int(sol.n_steps))


def long_signals(spec, sol, lam1, h, n_steps) -> dict:
    """What :func:`fokkerplanck.verify.rates.diagnose` needs, from a long run and rho_d."""
    from ..flow.divergences import get_divergence
    from ..flow.problem import setup
    from .rates import first_eigenvector, local_rate, mode_balance

    t, l1 = np.asarray(sol.history["t"]), np.asarray(sol.history["l1"])
    floor = np.flatnonzero(l1 <= 1e-9)               # the window's end: clear of the round-off floor
    te = float(t[floor[0]]) if floor.size else float(t[-1])
    try:
        lam2 = float(theory.eigenvalues(spec.target, spec.grid, k=2)[1])
    except ValueError:
        lam2 = math.nan
    i4 = np.flatnonzero(l1 <= 1e-4)                  # the window's start
    t_window = float(t[i4[0]]) if i4.size else float(t[-1])
    # the mean rate over the first hundredth of the run
    i1 = int(np.searchsorted(t, t[-1] / 100))
    rate_early = (math.log(l1[0] / l1[i1]) / float(t[i1]) if 0 < i1 < t.size and l1[i1] > 0 and t[i1] > 0
                  else math.nan)
    p = setup(spec.target, spec.initial, spec.grid, spec.divergence)
    vol = spec.grid.cell_volume
    u0 = p.v0 * p.rho
    # algebraic late decay: ln L1 against ln t fits the last half much better than against t
    algebraic = None
    sel = (t >= te / 2) & (t <= te) & (t > 0) & (l1 > 0)
    if sel.sum() >= 8:
        y = np.log(l1[sel])
        res = []
        for x in (t[sel], np.log(t[sel])):
            A = np.vstack([x, np.ones_like(x)]).T
            coef, *_ = np.linalg.lstsq(A, y, rcond=None)
            res.append((float(np.sqrt(np.mean((A @ coef - y) ** 2))), -float(coef[0])))
        if res[0][0] > 0.05 and res[1][0] < 0.25 * res[0][0] and res[1][1] > 0:
            algebraic = res[1][1]
    lam_check, phi = first_eigenvector(spec.target, spec.grid)
    mb = mode_balance(sol.u[-1], p.rho, phi, vol)
    tmo = sol.target_mass_outside
    return dict(lam1=lam1, lam2=lam2, phi1=get_divergence(spec.divergence).phi_prime_at_one, h=h,
                t_end=float(t[-1]), t_window=t_window, n_steps=int(n_steps), max_steps=MAX_LONG_STEPS, l1_0=float(l1[0]),
                l1_end=float(l1[-1]), rate_end=local_rate(t, l1, 0.9 * te, te),
                rate_before_end=local_rate(t, l1, 0.8 * te, 0.9 * te), rate_early=rate_early,
                beta=float(np.max(p.v0)), initial_mass_high_v=float(np.sum(u0[p.v0 > 100]) * vol),
                target_mass_outside=math.nan if tmo is None else float(tmo), algebraic=algebraic,
                mode_share_end=mb["share"], mode_excess_end=mb["excess"], mode_rho_mass=mb["rho_mass"])


def _solve(spec, grid=None, dt=None, t_final=None, t_eval=None, initial=None, tracker=None):
    from ..flow.solve import solve

    return solve(spec.target, spec.initial if initial is None else initial, spec.grid if grid is None else grid,
                 spec.t_final if t_final is None else t_final, dt, divergence=spec.divergence,
                 t_eval=t_eval, callback=tracker)


def run_case(runfile: str, fingerprint: str, kind: str, level: int = 0, levels: int = 4):
    """One case of a verification (see the module docstring); a dict of scalars and flat lists."""
    from ..flow.grid import Grid

    spec = _spec(runfile)
    dt0, saves = ladder_steps(spec)
    if kind == "space":
        base = [max(2, math.ceil(n / 2 ** (levels - 1))) for n in spec.grid.shape]
        shape = [n * 2 ** level for n in base]
        grid = Grid(spec.grid.lower, spec.grid.upper, shape)
        tr = _Invariants()
        sol = _solve(spec, grid=grid, dt=dt0, t_eval=saves, tracker=tr)
        return dict(shape=shape, t=sol.t.tolist(), u=sol.u.reshape(len(sol.t), -1).tolist(),
                    **invariants_of(sol, tr.min_v))
    if kind == "time":
        tr = _Invariants()
        sol = _solve(spec, dt=dt0 / 2 ** level, t_eval=saves, tracker=tr)
        return dict(dt=dt0 / 2 ** level, t=sol.t.tolist(), u=sol.u.reshape(len(sol.t), -1).tolist(),
                    **invariants_of(sol, tr.min_v))
    if kind == "long":
        from ..flow.divergences import get_divergence

        lam1 = float(theory.spectral_gap(spec.target, spec.grid))
        rate = get_divergence(spec.divergence).phi_prime_at_one * lam1
        h = min(dt0, 0.05 / rate) if rate > 0 else dt0
        # long enough to fall from ~1 to 1e-10 at the predicted rate (+50%), at most 40000 steps
        n = int(min(MAX_LONG_STEPS, math.ceil(1.5 * math.log(1e10) / max(rate, 1e-12) / h)))
        tr = _Invariants()
        sol = _solve(spec, dt=h, t_final=n * h, tracker=tr)
        hist = sol.history
        out = dict(lam1=lam1, h=h, t_end=n * h, predicted=theory.discrete_rate(rate, h), predicted_continuous=rate,
                   l1_t=hist["t"][:: max(1, n // 400)].tolist(), l1=hist["l1"][:: max(1, n // 400)].tolist(),
                   jsd=hist["jsd"][:: max(1, n // 400)].tolist(), **invariants_of(sol, tr.min_v))
        from .rates import measure_rate

        mr = measure_rate(hist["t"], hist["l1"], scale=out["predicted"])
        out.update(reached=mr["reached"], window=mr["window"], measured=mr["measured"], stderr=mr["stderr"],
                   measured_first_half=mr["halves"][0], measured_second_half=mr["halves"][1])
        sig = long_signals(spec, sol, lam1, h, n)
        out.update(signals={k: v for k, v in sig.items() if k != "phi"})
        from .rates import diagnose

        # the reasons are kept for a reached regime too: they explain a fitted rate that misses
        # the prediction (e.g. a symmetric start that never excites the first mode)
        reasons = diagnose(sig)
        out.update(reasons=[r["text"] for r in reasons], reason_codes=[r["code"] for r in reasons],
                   reason="" if mr["reached"] else mr["why"] + (
                       ": " + "; ".join(r["text"] for r in reasons) if reasons else
                       "; no cause among a slow excited mode, heavy tails, metastability or the step budget "
                       "can be seen"))
        try:
            lem = theory.lemma24(sol)
            lem_note = ""
        except ZeroDivisionError:
            # c = min Phi' over [0, beta] is 0 (chi^2: Phi'(0) = 0, degenerate diffusion): the
            # lemma's bounds are infinite, there is nothing to check
            lem = dict(measured=theory.gradient_integral(hist["t"], hist["grad_v_norm2"]), energy_bound=math.inf,
                       mass_bound=math.inf, paper_bound=math.inf, beta=float(sol.beta))
            lem_note = "not applicable: c = min Phi' on [0, beta] = 0 (degenerate diffusion), the bounds are infinite"
        out.update(lemma24_note=lem_note, lemma24_measured=lem["measured"], lemma24_energy_bound=lem["energy_bound"],
                   lemma24_mass_bound=lem["mass_bound"], lemma24_paper_bound=lem["paper_bound"], beta=lem["beta"])
        return out
    if kind == "contraction":
        from ..flow.problem import setup

        p = setup(spec.target, spec.initial, spec.grid, spec.divergence)
        perturbed = (0.8 * p.v0 + 0.2) * p.rho  # 0.8 rho_0 + 0.2 rho_d on the cells
        t_final = spec.t_final
        a = _solve(spec, dt=dt0, t_eval="steps")
        b = _solve(spec, dt=dt0, t_eval="steps", initial=perturbed.reshape(spec.grid.shape))
        m = spec.grid.cell_volume
        d = np.array([float(np.sum(np.abs(ua - ub))) * m for ua, ub in zip(a.u, b.u)])
        growth = float(np.max(np.diff(d))) / d[0] if d.size > 1 else 0.0
        return dict(dt=dt0, t_final=t_final, l1_start=float(d[0]), l1_end=float(d[-1]),
                    contraction_increase=max(growth, 0.0))
    if kind == "particles":
        from .. import particles
        from ..analysis import distances as compare

        sol = _solve(spec, dt=dt0, t_eval="steps")
        n = 2000
        ens = particles.simulate(spec.target, (sol.grid, sol.u[0]), spec.t_final, n=n, velocity="grid", solution=sol,
                                 dt=dt0, sampling="iid", seed=0, t_eval=[0.0, spec.t_final])
        ref = (sol.grid, sol.u[-1])
        method = "exact" if spec.grid.ndim == 1 else "sliced"
        w1 = compare.wasserstein(ens.final, ref, method=method)
        floor = compare.sampling_floor(ref, n, repeats=8, method=method)
        return dict(n=n, w1=float(w1), floor=float(floor), method=w1.method, ratio=float(w1) / float(floor))
    raise ValueError(f"unknown verification case kind {kind!r}.")
