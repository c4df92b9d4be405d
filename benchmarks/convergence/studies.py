"""The convergence studies, one function call per case (run by ``fokkerplanck.sweep``).

Each function takes scalar parameters (the sweep's grid) and returns a dict (one row of the
table) or a list of dicts. Nothing here plots or prints: the scripts next to this file run the
sweeps and analyse the tables.
"""

from __future__ import annotations

import functools
import math
import time

import numpy as np

import fokkerplanck as fp
from fokkerplanck import theory
from fokkerplanck.analysis.exact import coarsen, richardson as extrapolate
from fokkerplanck.verify.rates import measure_rate


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

# Richardson extrapolation in the step, block averages and the rate fit: the package's
# (fokkerplanck.verify uses the same), imported above, not copies.

def _isotropic(d, variance, shift=0.0):
    return fp.Gaussian([shift] * d, np.eye(d) * variance)


def _crossing_time(t, y, level):
    idx = np.flatnonzero(np.asarray(y) <= level)
    return float(t[idx[0]]) if idx.size else math.nan


# --------------------------------------------------------------------------------------------
# 1. spatial order
# --------------------------------------------------------------------------------------------

def spatial_order(divergence: str, dim: int, n: int, t_final: float = 0.5, dt: float = 0.05,
                  richardson: int = 3, variance: float = 1.0, initial_std: float = 0.7,
                  initial_shift: float = 0.5, half_width: float = 6.0, refine: int = 2):
    """L1 error at ``t_final`` on an ``n**dim`` grid, the time error removed by Richardson
    extrapolation over ``richardson`` step sizes ``dt, dt/2, dt/4``.

    KL: against the exact Ornstein-Uhlenbeck solution (docs/mathematics.md, section 2), evaluated at the cell
    centres. JSD (no exact solution): against the same computation on the grid refined
    ``refine`` times per axis, averaged back onto this grid.
    """
    d = int(dim)
    target = _isotropic(d, variance)
    initial = _isotropic(d, initial_std ** 2, initial_shift)
    dts = [dt / 2 ** k for k in range(richardson)]

    def run(cells):
        grid = fp.Grid([-half_width] * d, [half_width] * d, [cells] * d)
        out = {}
        steps = 0
        for h in dts:
            sol = fp.solve(target, initial, grid, t_final, dt=h, divergence=divergence)
            out[h] = sol.u[-1]
            steps += sol.n_steps
        return grid, out, steps, sol.options["linear_solver"]

    t0 = time.perf_counter()
    grid, us, steps, solver = run(n)
    u = extrapolate(us)
    u_plain = us[dts[-1]]
    if divergence == "kl":
        m_t = initial_shift * math.exp(-t_final / variance)
        v_t = variance + (initial_std ** 2 - variance) * math.exp(-2 * t_final / variance)
        exact = _isotropic(d, v_t, m_t).pdf(grid.points()).reshape(grid.shape)
        reference = "exact"
    else:
        _, fine, fine_steps, _ = run(refine * n)
        exact = coarsen(extrapolate(fine), refine)
        steps += fine_steps
        reference = f"grid {refine * n}^{d}"
    vol = grid.cell_volume
    return {
        "h": float(grid.spacing[0]),
        "error_l1": float(np.abs(u - exact).sum() * vol),
        "error_l1_plain": float(np.abs(u_plain - exact).sum() * vol),  # finest dt, no extrapolation
        "time_error_estimate": float(np.abs(u - u_plain).sum() * vol),
        "reference": reference,
        "linear_solver": solver,
        "steps": steps,
        "seconds": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------------------------
# 2. the Crandall-Liggett exponential formula
# --------------------------------------------------------------------------------------------

def _exp_formula_setup(initial, cells, half_width):
    grid = fp.Grid([-half_width], [half_width], [cells])
    target = fp.Gaussian([0.0], [[1.0]])
    if initial == "smooth":
        u0 = fp.Gaussian([0.5], [[0.36]])
    elif initial == "uniform":
        # uniform density on [-1, 2], exactly cell-averaged (cells cut by the jumps get fractions)
        lo, hi = grid.edges[0][:-1], grid.edges[0][1:]
        u0 = np.clip(np.minimum(hi, 2.0) - np.maximum(lo, -1.0), 0.0, None) / grid.spacing[0] / 3.0
    else:
        raise ValueError(f"initial must be 'smooth' or 'uniform', got {initial!r}")
    return grid, target, u0


@functools.lru_cache(maxsize=16)
def _exp_formula_reference(initial, divergence, t_final, cells, half_width, n_ref):
    grid, target, u0 = _exp_formula_setup(initial, cells, half_width)
    return fp.solve(target, u0, grid, t_final, dt=t_final / n_ref, divergence=divergence).u[-1]


def exponential_formula(initial: str, divergence: str, n_steps: int, t_final: float = 1.0, cells: int = 400,
                        half_width: float = 8.0, n_ref: int = 65536):
    """Error of ``(I + (t/n) A)^{-n} v_0`` against n, on a fixed grid (eq. 39).

    The reference is the same formula with ``n_ref`` steps (cached per worker); the grid is
    fixed, so this measures the time discretisation of the exponential formula alone.
    """
    grid, target, u0 = _exp_formula_setup(initial, cells, half_width)
    t0 = time.perf_counter()
    sol = fp.solve(target, u0, grid, t_final, dt=t_final / n_steps, divergence=divergence)
    ref = _exp_formula_reference(initial, divergence, t_final, cells, half_width, n_ref)
    diff = sol.u[-1] - ref
    return {
        "h": t_final / n_steps,
        "error_l1": float(np.abs(diff).sum() * grid.cell_volume),  # = || v_n - v_ref ||_{L1(mu_d)}
        "error_linf_v": float(np.max(np.abs(diff / sol.rho_d))),
        "beta": sol.beta,
        "seconds": time.perf_counter() - t0,
    }


# --------------------------------------------------------------------------------------------
# 3. long-time rates
# --------------------------------------------------------------------------------------------

def _long_time_problem(case, param):
    """(target, initial, grid, exact lambda_1 or nan, description)."""
    if case == "gaussian":  # N(0, s^2), initial shifted: excites the first (odd) mode
        s = math.sqrt(param)
        L = 8 * s
        return (fp.Gaussian([0.0], [[param]]), fp.Gaussian([s], [[0.64 * param]]),
                fp.Grid([-L], [L], [800]), 1.0 / param, f"N(0,{param:g})")
    if case == "gaussian_symmetric":  # symmetric initial: the odd mode is never excited
        s = math.sqrt(param)
        L = 8 * s
        return (fp.Gaussian([0.0], [[param]]), fp.Gaussian([0.0], [[0.64 * param]]),
                fp.Grid([-L], [L], [800]), 1.0 / param, f"N(0,{param:g}), symmetric rho_0")
    if case == "anisotropic2d":  # rotated covariance with eigenvalues param and 0.5
        th = math.radians(30.0)
        R = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        cov = R @ np.diag([param, 0.5]) @ R.T
        L = 5.5 * math.sqrt(param)
        return (fp.Gaussian([0.0, 0.0], cov), fp.Gaussian(0.8 * R[:, 0], 0.4 * np.eye(2)),
                fp.Grid([-L, -L], [L, L], [128, 128]), 1.0 / param, f"2-D, eig(cov) = ({param:g}, 0.5), 30 deg")
    if case == "mixture":  # 0.5 N(-d/2, 1) + 0.5 N(d/2, 1); initial: the right mode only
        d = float(param)
        L = d / 2 + 8
        return (fp.GaussianMixture([0.5, 0.5], [[-d / 2], [d / 2]], [[[1.0]], [[1.0]]]),
                fp.Gaussian([d / 2], [[1.0]]), fp.Grid([-L], [L], [int(round(2 * L * 50))]),
                1.0 if d == 0 else math.nan, f"mixture, separation {d:g}")
    raise ValueError(f"unknown case {case!r}")


def long_time(case: str, param: float, divergence: str = "jsd", hr: float = 0.05, decay: float = 20.0,
              adaptive_rtol: float | None = None):
    """Fitted long-time rates of L1 and energy against ``Phi'(1) lambda_1`` (and its discrete form).

    The step is ``h = hr / r`` with ``r = Phi'(1) lambda_1`` (so backward Euler's correction
    ``ln(1 + hr)/hr`` is the same for every case) and the run lasts ``decay / r``. Rates are
    fitted where the L1 distance falls from 1e-4 to 1e-9 (:func:`fokkerplanck.theory.decay_window`).
    With ``adaptive_rtol`` the run uses ``dt="adaptive"`` instead (to show what that does to a
    fitted rate); ``dt`` is then the mean step in the fitting window.
    """
    target, initial, grid, lam_exact, label = _long_time_problem(case, param)
    t0 = time.perf_counter()
    lams = theory.eigenvalues(target, grid, k=2)
    lam1 = float(lams[0])
    r = theory.predicted_rate(lam1, divergence, "l1")
    dt = hr / r
    t_final = decay / r
    if adaptive_rtol:
        sol = fp.solve(target, initial, grid, t_final, dt="adaptive", rtol=adaptive_rtol, divergence=divergence)
        label += f", adaptive dt (rtol {adaptive_rtol:g})"
    else:
        sol = fp.solve(target, initial, grid, t_final, dt=dt, divergence=divergence)
    h = sol.history
    # adaptive runs take few, long late steps: start their windows earlier to have points to fit
    upper_l1, upper_e = (1e-2, 1e-5) if adaptive_rtol else (1e-4, 1e-9)
    if adaptive_rtol:
        try:
            w0, w1 = theory.decay_window(h["t"], h["l1"], upper=upper_l1, lower=1e-9)
            dt = float(np.mean(h["dt"][(h["t"] > w0) & (h["t"] <= w1)]))
        except ValueError:
            dt = float(np.mean(h["dt"][1:]))
    pred = theory.predicted_rates(lam1, divergence, dt=dt)
    row = {"label": label, "lambda_1": lam1, "lambda_1_exact": lam_exact, "lambda_2": float(lams[1]),
           "dt": dt, "t_final": t_final, "rate_l1_pred": pred["l1"], "rate_l1_pred_discrete": pred["l1_discrete"],
           "rate_energy_pred_discrete": pred["energy_discrete"],
           "rate_l1_pred2_discrete": theory.discrete_rate(theory.predicted_rate(float(lams[1]), divergence), dt)}
    for name, key, hi, lo in [("l1", "l1", upper_l1, 1e-9), ("energy", "energy", upper_e, 1e-15)]:
        # the fit of fokkerplanck verify; the second half of the window alone shows a remaining transient
        m = measure_rate(h["t"], h[key], upper=hi, lower=lo)
        win = m["window"]
        row.update({f"rate_{name}": m["measured"], f"rate_{name}_err": m["stderr"], f"rate_{name}_late": m["halves"][1],
                    f"window_{name}_t0": win[0], f"window_{name}_t1": win[1]})
    lem = theory.lemma24(sol)
    row.update(beta=lem["beta"], grad_integral=lem["measured"], bound_energy=lem["energy_bound"],
               bound_mass=lem["mass_bound"], bound_lemma24=lem["paper_bound"], l1_final=float(h["l1"][-1]),
               steps=sol.n_steps, seconds=time.perf_counter() - t0)
    return row


# --------------------------------------------------------------------------------------------
# 4. tails: heavy-tailed initial densities, large beta, the box
# --------------------------------------------------------------------------------------------

def _tails_initial(initial, scale):
    if initial == "gaussian":
        return fp.Gaussian([0.0], [[scale ** 2]])
    if initial == "student3":  # Student t with 3 degrees of freedom, scale `scale`
        from scipy.stats import t as student

        return lambda x: student.pdf(x[:, 0], df=3, scale=scale)
    raise ValueError(f"unknown initial {initial!r}")


def tails(initial: str, scale: float, half_width: float, divergence: str = "jsd", t_final: float = 5000.0,
          dt: float = 0.1, dx: float = 0.02):
    """Decay of the L1 distance for rho_0 with heavier tails than rho_d = N(0, 1) on [-L, L].

    Records beta (condition 34, grows with the box), lambda_1 of the box, the times at which the
    L1 distance first falls below 1e-1 ... 1e-5, its values at 1, 10, 100, 1000, the late rate
    against backward Euler's ``ln(1 + h Phi'(1) lambda_1)/h``, and Lemma 24.
    """
    target = fp.Gaussian([0.0], [[1.0]])
    rho0 = _tails_initial(initial, scale)
    L = float(half_width)
    grid = fp.Grid([-L], [L], [int(round(2 * L / dx))])
    t0 = time.perf_counter()
    lam1, lam2 = (float(x) for x in theory.eigenvalues(target, grid, k=2))
    times = [1.0, 10.0, 100.0, 1000.0]
    # fixed steps: adaptive steps are controlled in absolute L1 (mass) units, so once the distance
    # is below rtol they grow and backward Euler's damping ln(1 + h r)/h falls far below r
    sol = fp.solve(target, rho0, grid, t_final, dt=dt, divergence=divergence)
    h = sol.history
    row = {"lambda_1": lam1, "lambda_2": lam2, "beta": sol.beta, "initial_mass_outside": sol.initial_mass_outside,
           "l1_initial": float(h["l1"][0])}
    for t in times:
        i = np.flatnonzero(np.isclose(h["t"], t))
        row[f"l1_at_{t:g}"] = float(h["l1"][i[0]]) if i.size else math.nan
    for level in [1e-1, 1e-2, 1e-3, 1e-4, 1e-5]:
        row[f"t_l1_{level:.0e}"] = _crossing_time(h["t"], h["l1"], level)
    # the curve, at 40 log-spaced times (a list: stored as JSON in the table)
    tc = np.geomspace(dt, t_final, 40)
    row["curve_t"] = tc.tolist()
    row["curve_l1"] = np.exp(np.interp(tc, h["t"], np.log(np.maximum(h["l1"], 1e-300)))).tolist()
    # the late decay: a rate fitted on the last decade before round-off, vs Phi'(1) lambda_1
    m = measure_rate(h["t"], h["l1"], upper=1e-4, lower=1e-9)
    rate, err = m["measured"], m["stderr"]
    lem = theory.lemma24(sol)
    row.update(rate_l1=rate, rate_l1_err=err,
               rate_l1_pred=theory.discrete_rate(theory.predicted_rate(lam1, divergence), dt),
               # a symmetric rho_0 never excites the (odd) first mode: its decay is set by lambda_2
               rate_l1_pred2=theory.discrete_rate(theory.predicted_rate(lam2, divergence), dt),
               l1_final=float(h["l1"][-1]), grad_integral=lem["measured"], bound_energy=lem["energy_bound"],
               bound_lemma24=lem["paper_bound"], steps=sol.n_steps, seconds=time.perf_counter() - t0)
    return row


# --------------------------------------------------------------------------------------------
# 5. particles: W1 against N
# --------------------------------------------------------------------------------------------

def _particle_problem(dim):
    if dim == 1:
        target = fp.Gaussian([0.0], [[1.0]])
        initial = fp.GaussianMixture([0.5, 0.5], [[-1.0], [1.5]], [[[0.2]], [[0.3]]])
        return target, initial, (-7.0, 7.0)
    target = fp.Gaussian([0.0, 0.0], np.eye(2))
    initial = fp.GaussianMixture([0.5, 0.5], [[-1.0, 0.0], [1.5, 0.5]], [0.2 * np.eye(2), 0.3 * np.eye(2)])
    return target, initial, (-6.0, 6.0)


@functools.lru_cache(maxsize=8)
def _particle_reference(dim, cells, dt, t_final):
    target, initial, (lo, hi) = _particle_problem(dim)
    grid = fp.Grid([lo] * dim, [hi] * dim, [cells] * dim)
    return fp.solve(target, initial, grid, t_final, dt=dt, t_eval="steps")


def particles(velocity: str, sampling: str, n: int, seed: int = 0, dim: int = 1, cells: int = 1400,
              dt: float = 0.01, t_final: float = 1.0, bandwidth="scott", method: str = "rk4",
              particle_dt: float | None = None):
    """W1 between ``n`` particles at ``t_final`` and the grid solution (``fp.compare.wasserstein``).

    ``velocity="grid"``: particles driven by the grid solution's velocity (superposition, eq. 49);
    ``"kde"``: self-consistent particles, ``u`` from a kernel density estimate of bandwidth
    ``bandwidth``. ``sampling``: "iid" or "sobol" (quasi-Monte Carlo) initial positions. Also
    reports W1 at t = 0 (the pure sampling error of the initial density).
    """
    target, initial, _ = _particle_problem(dim)
    sol = _particle_reference(dim, cells, dt, t_final)
    t0 = time.perf_counter()
    options = {}
    if velocity == "kde":
        options = dict(bandwidth=bandwidth, estimator="binned")
    ens = fp.particles.simulate(target, initial, t_final, n=int(n), velocity=velocity,
                                solution=sol if velocity == "grid" else None, dt=particle_dt or dt, method=method,
                                seed=int(seed), sampling=sampling, grid=sol.grid if velocity != "grid" else None,
                                velocity_options=options or None)
    method_w = "exact" if dim == 1 else "sliced"
    w0 = fp.compare.wasserstein(ens.positions[0], (sol.grid, sol.u[0]), p=1, method=method_w)
    w1 = fp.compare.wasserstein(ens.positions[-1], (sol.grid, sol.u[-1]), p=1, method=method_w)
    return {"w1_initial": float(w0), "w1_final": float(w1), "distance": "W1" if dim == 1 else "sliced W1",
            "seconds": time.perf_counter() - t0}
