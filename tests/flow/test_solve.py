"""The time loop: accuracy (orders), structure preservation, long-time rate, options and bad input."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fokkerplanck as fp
from fokkerplanck.analysis.exact import coarsen as _coarsen


def _fit_order(h, err):
    """Least-squares slope of log(err) against log(h)."""
    return np.polyfit(np.log(h), np.log(err), 1)[0]


def _ou_exact(grid, t, m0=1.0, s0sq=0.25):
    # KL flow toward N(0, 1) from N(m0, s0sq): Ornstein-Uhlenbeck, stays Gaussian (docs/mathematics.md, section 2)
    m = m0 * np.exp(-t)
    var = 1.0 + (s0sq - 1.0) * np.exp(-2.0 * t)
    return fp.Gaussian([m], [[var]]).pdf(grid.points()).reshape(grid.shape)


TARGET = fp.Gaussian([0.0], [[1.0]])
INITIAL = fp.Gaussian([1.0], [[0.25]])


def test_kl_spatial_order_against_exact_ornstein_uhlenbeck():
    # Time error removed by Richardson extrapolation 2 u(dt) - u(2 dt) (backward Euler is first order),
    # leaving O(dt^2) = 1e-6 relative, far below the spatial errors measured here.
    t, dt = 0.5, 1e-3
    ns = [24, 48, 96, 192]
    errs = []
    for n in ns:
        grid = fp.Grid([-6.0], [6.0], [n])
        a = fp.solve(TARGET, INITIAL, grid, t, dt, divergence="kl").u[-1]
        b = fp.solve(TARGET, INITIAL, grid, t, 2 * dt, divergence="kl").u[-1]
        errs.append(np.sum(np.abs(2 * a - b - _ou_exact(grid, t))) * grid.cell_volume)
    order = _fit_order(12.0 / np.array(ns), errs)
    assert 1.8 < order < 2.3, (order, errs)


def test_kl_temporal_order_against_exact_ornstein_uhlenbeck():
    grid = fp.Grid([-7.0], [7.0], [2800])  # spatial error ~1e-6, well below the time errors
    dts = [0.1, 0.05, 0.025, 0.0125]
    errs = [np.sum(np.abs(fp.solve(TARGET, INITIAL, grid, 0.5, dt, divergence="kl").u[-1] - _ou_exact(grid, 0.5)))
            * grid.cell_volume for dt in dts]
    order = _fit_order(dts, errs)
    assert 0.9 < order < 1.15, (order, errs)


def test_jsd_self_convergence_in_space():
    t, dt = 0.5, 2e-3
    ns = [40, 80, 160, 320]
    us = []
    for n in ns:
        grid = fp.Grid([-6.0], [6.0], [n])
        a = fp.solve(TARGET, INITIAL, grid, t, dt).u[-1]
        b = fp.solve(TARGET, INITIAL, grid, t, 2 * dt).u[-1]
        us.append(2 * a - b)  # time error removed to O(dt^2)
    diffs = [np.sum(np.abs(_coarsen(us[i + 1], 2) - us[i])) * 12.0 / ns[i] for i in range(len(ns) - 1)]
    orders = np.log2(np.array(diffs[:-1]) / np.array(diffs[1:]))
    assert np.all((orders > 1.8) & (orders < 2.3)), (orders, diffs)


def test_jsd_self_convergence_in_time():
    grid = fp.Grid([-6.0], [6.0], [400])
    dts = [0.05, 0.025, 0.0125, 0.00625]
    us = [fp.solve(TARGET, INITIAL, grid, 0.5, dt).u[-1] for dt in dts]
    diffs = [np.sum(np.abs(us[i + 1] - us[i])) * grid.cell_volume for i in range(len(us) - 1)]
    orders = np.log2(np.array(diffs[:-1]) / np.array(diffs[1:]))
    assert np.all((orders > 0.9) & (orders < 1.15)), (orders, diffs)


# ------------------------------------------------------------------------------------------
# structure preservation, every step, 1-D to 3-D
# ------------------------------------------------------------------------------------------

SHAPES = {1: (30,), 2: (9, 8), 3: (5, 4, 6)}


def _random_initial(shape, seed):
    r = np.random.default_rng(seed)
    u = np.exp(2 * r.normal(size=shape)) * (r.uniform(size=shape) < 0.6)  # rough, with empty cells
    u.flat[0] = 1.0  # never all zero
    return u


@pytest.mark.filterwarnings("ignore:.*outside the box:UserWarning")  # the small box is deliberate
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dim=st.sampled_from([1, 2, 3]), seed=st.integers(0, 10_000), dt=st.floats(1e-3, 20.0),
       divergence=st.sampled_from(["jsd", "kl"]))
def test_invariants_every_step(dim, seed, dt, divergence):
    shape = SHAPES[dim]
    grid = fp.Grid([-3.0] * dim, [3.0] * dim, shape)
    target = fp.Gaussian(0.3 * np.ones(dim), np.eye(dim) * 1.5)
    u1, u2 = _random_initial(shape, seed), _random_initial(shape, seed + 1)
    s1 = fp.solve(target, u1, grid, 6 * dt, dt, divergence=divergence, t_eval="steps")
    s2 = fp.solve(target, u2, grid, 6 * dt, dt, divergence=divergence, t_eval="steps")
    for s in (s1, s2):
        h = s.history
        # mass: conserved to round-off (Newton stops at residual 1e-13, which bounds each step's mass error)
        assert np.max(np.abs(h["mass"] - 1.0)) < 1e-12
        assert np.all(s.u >= 0.0)
        # maximum principle: v never exceeds max v(0) (relative round-off)
        assert np.all(h["max_v"] <= h["max_v"][0] * (1 + 1e-12))
        # every convex f-divergence is a Lyapunov function of any of these flows; the JSD is
        # at most ln 2, so 1e-14 is round-off of the sum
        assert np.all(np.diff(h["jsd"]) <= 1e-14)
        assert np.all(np.diff(h["energy"]) <= 1e-14 * max(1.0, h["energy"][0]))
    # L1 contraction (accretivity, Lemma 14): ||v1 - v2||_{L1(mu_d)} never increases
    dist = np.sum(np.abs(s1.u - s2.u).reshape(len(s1.t), -1), axis=1) * grid.cell_volume
    assert np.all(np.diff(dist) <= 1e-13)


def test_energy_dissipation_inequality():
    # backward Euler: D(v^{n+1}) <= D(v^n) - h * dissipation(v^{n+1}) (convexity of f, monotone Phi)
    grid = fp.Grid([-6.0], [6.0], [300])
    s = fp.solve(TARGET, INITIAL, grid, 2.0, 0.1)
    h = s.history
    assert np.all(h["jsd"][1:] <= h["jsd"][:-1] - h["dt"][1:] * h["dissipation"][1:] + 1e-14)
    assert np.all(h["dissipation"][1:] > 0)


def test_long_time_l1_rate_is_quarter_spectral_gap():
    # docs/mathematics.md, section 6: ||u - rho_d||_L1 decays at lambda_1 / 4, lambda_1 = 1 / lambda_max(cov) = 1 for N(0, 1).
    # The next eigenmode decays at 2/4 and the nonlinearity at 2 * 1/4, so by t = 20 they are
    # e^{-5} smaller; backward Euler's rate ln(1 + h/4)/h is 0.6% below 1/4 for h = 0.05.
    grid = fp.Grid([-8.0], [8.0], [800])
    s = fp.solve(TARGET, fp.Gaussian([1.0], [[0.64]]), grid, 40.0, 0.05)
    t, l1 = s.history["t"], s.history["l1"]
    sel = (t >= 20) & (t <= 40)
    rate = -np.polyfit(t[sel], np.log(l1[sel]), 1)[0]
    assert rate == pytest.approx(0.25, rel=0.02)


# ------------------------------------------------------------------------------------------
# options
# ------------------------------------------------------------------------------------------

def test_default_saves_initial_and_final_and_normalises():
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [20, 22])
    s = fp.solve(fp.Gaussian([0, 0], np.eye(2)), fp.Gaussian([1, 0], 0.5 * np.eye(2)), grid, 0.3, 0.1)
    assert s.success and s.t.tolist() == [0.0, 0.3]
    assert s.u.shape == (2, 20, 22)
    np.testing.assert_allclose(s.u.sum(axis=(1, 2)) * grid.cell_volume, 1.0, rtol=1e-12)
    assert len(s.history["t"]) == s.n_steps + 1 == 4
    for key in ("t", "dt", "mass", "jsd", "l1", "newton_iterations", "dissipation", "max_v"):
        assert len(s.history[key]) == 4


def test_t_eval_times_are_hit_exactly_with_fixed_and_adaptive_steps():
    grid = fp.Grid([-8.0], [8.0], [400])
    init = fp.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [[[0.3]], [[0.5]]])
    # off the step lattice: refused unless non-uniform steps are asked for by name
    with pytest.raises(ValueError, match="not a multiple of dt"):
        fp.solve(TARGET, init, grid, 1.2, 0.3, t_eval=[0.0, 0.45, 1.2])
    fixed = fp.solve(TARGET, init, grid, 1.0, 0.3, t_eval=[0.0, 0.45, 1.0], uniform_steps=False)
    assert fixed.t.tolist() == [0.0, 0.45, 1.0]
    ad = fp.solve(TARGET, init, grid, 50.0, "adaptive", rtol=1e-4, t_eval=[0, 1, 10, 50])
    assert ad.t.tolist() == [0.0, 1.0, 10.0, 50.0]
    # adaptive steps grow toward equilibrium
    assert ad.history["dt"][-5:].min() > 20 * ad.history["dt"][1]
    # and agree with small fixed steps within the requested tolerance times the number of steps
    ref = fp.solve(TARGET, init, grid, 1.0, 1e-3)
    assert np.sum(np.abs(ad.u[1] - ref.u[-1])) * grid.cell_volume < 1e-4 * ad.n_steps


def test_adaptive_error_control_converges_as_rtol_shrinks():
    grid = fp.Grid([-8.0], [8.0], [400])
    ref = fp.solve(TARGET, INITIAL, grid, 1.0, 1e-4).u[-1]
    errs = []
    for rtol in (1e-3, 1e-4, 1e-5):
        s = fp.solve(TARGET, INITIAL, grid, 1.0, "adaptive", rtol=rtol)
        errs.append(np.sum(np.abs(s.u[-1] - ref)) * grid.cell_volume)
    assert errs[0] > errs[1] > errs[2]


def test_steps_saved_for_particles_and_callback():
    grid = fp.Grid([-8.0], [8.0], [200])
    seen = []
    s = fp.solve(TARGET, INITIAL, grid, 0.5, 0.1, t_eval="steps", callback=lambda t, v, rec: seen.append(t))
    np.testing.assert_allclose(s.t, [0, 0.1, 0.2, 0.3, 0.4, 0.5])
    np.testing.assert_allclose(seen, s.t[1:])


def test_convergence_error_carries_the_solution_so_far():
    # Newton is capped at 2 iterations: the tiny first step converges, the big second one cannot.
    grid = fp.Grid([-8.0], [8.0], [200])
    with pytest.raises(fp.ConvergenceError) as info:
        fp.solve(TARGET, INITIAL, grid, 5.0, 5.0, t_eval=[0.0, 1e-4, 5.0], max_newton=2, dt_min=1.0,
                 uniform_steps=False)
    err = info.value
    assert err.step == 1 and err.time == pytest.approx(1e-4) and err.residual > 0
    sol = err.solution
    assert sol.status == -1 and not sol.success
    assert sol.t.tolist() == [0.0, 1e-4] and sol.u.shape == (2, 200)
    assert len(sol.history["t"]) == 2


def test_resume_from_a_run_state_is_identical():
    grid = fp.Grid([-8.0], [8.0], [300])
    init = fp.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [[[0.3]], [[0.5]]])
    full = fp.solve(TARGET, init, grid, 3.0, "adaptive", t_eval=[0, 1, 2, 3])

    class Grab(fp.Tracker):
        wants_state = True

        def update_state(self, state):
            if state.t <= 1.5:
                import copy
                self.state = copy.deepcopy(state)

    g = Grab()
    fp.solve(TARGET, init, grid, 3.0, "adaptive", t_eval=[0, 1, 2, 3], trackers=[g])
    resumed = fp.solve(TARGET, init, grid, 3.0, "adaptive", t_eval=[0, 1, 2, 3], resume=g.state)
    np.testing.assert_array_equal(resumed.u, full.u)
    np.testing.assert_array_equal(resumed.history["jsd"], full.history["jsd"])


def test_report_beta_and_mass_outside():
    grid = fp.Grid([-3.0], [3.0], [600])
    s = fp.solve(TARGET, INITIAL, grid, 0.1, 0.05)
    # N(0,1) has mass 2 * Phi(-3) = 0.0026998 outside [-3, 3]
    assert s.target_mass_outside == pytest.approx(0.0026998, rel=1e-3)
    # beta of the densities normalised on the grid (the mass outside is the exact one, not the grid's sum)
    rho, u0 = TARGET.pdf(grid.points()), INITIAL.pdf(grid.points())
    expected_beta = (u0 / rho).max() * rho.sum() / u0.sum()
    assert s.beta == pytest.approx(expected_beta, rel=1e-10)
    assert fp.solve(TARGET, lambda x: np.exp(-x[:, 0] ** 2), grid, 0.1, 0.05).initial_mass_outside is None


# ------------------------------------------------------------------------------------------
# bad input: clear ValueErrors before any work
# ------------------------------------------------------------------------------------------

GRID = fp.Grid([-5.0], [5.0], [50])


@pytest.mark.parametrize("kwargs, match", [
    (dict(target=lambda x: np.where(np.abs(x[:, 0]) < 4, 1.0, 0.0)), r"zero on 10 of 50 cells.*smaller box"),
    (dict(target=lambda x: -np.ones(len(x))), "negative"),
    (dict(target=lambda x: np.full(len(x), np.nan)), "not finite"),
    (dict(target=np.ones(50)), "initial density only"),
    (dict(target=lambda x: np.ones(3)), r"shape \(n,\)"),
    (dict(initial=-np.ones(50)), "negative"),
    (dict(initial=np.r_[np.ones(49), np.inf]), "not finite"),
    (dict(initial=np.zeros(50)), "zero mass"),
    (dict(initial=np.ones(49)), "shape"),
    (dict(initial=fp.Gaussian([0, 0], np.eye(2))), "2-dimensional"),
    (dict(dt=0.0), "dt must be"),
    (dict(dt=-1.0), "dt must be"),
    (dict(dt="fast"), "adaptive"),
    (dict(t_final=-1.0), "t_final"),
    (dict(divergence="wasserstein"), "known divergences: chi2, hellinger, jsd, kl"),
    (dict(t_eval=[0.0, 2.0]), "t_eval must lie"),
    (dict(t_eval=[0.5, 0.2]), "increasing"),
    (dict(dt="adaptive", rtol=0.0), "rtol"),
    (dict(grid=[1, 2, 3]), "Grid"),
    (dict(rtol=1e-3), "only apply to adaptive steps"),
    (dict(dt_max=0.01), "only apply to adaptive steps"),
    (dict(max_newton=0), "max_newton"),
    (dict(max_newton=2.5), "max_newton"),
    (dict(newton_tol=-1.0), "newton_tol"),
    (dict(trackers=5), "trackers"),
])
def test_bad_input(kwargs, match):
    args = dict(target=TARGET, initial=INITIAL, grid=GRID, t_final=1.0, dt=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        fp.solve(**args)


def test_t_final_zero_returns_the_initial_state():
    s = fp.solve(TARGET, INITIAL, GRID, 0.0, 0.1)
    assert s.success and s.n_steps == 0 and s.t.tolist() == [0.0]
    np.testing.assert_allclose(s.u[0].sum() * GRID.cell_volume, 1.0, rtol=1e-12)


def test_warns_when_much_of_a_density_lies_outside_the_box():
    # renormalising a density partly outside the box is legal but rarely meant: a warning;
    # mostly outside it (N(8, 1) on [-6, 6]: 97.7 %), a refusal (issue 19)
    with pytest.warns(UserWarning, match=r"^15\.9 % of the start's mass lies outside the box"):
        fp.solve(TARGET, fp.Gaussian([5.0], [[1.0]]), fp.Grid([-6.0], [6.0], [100]), 0.1, 0.05)
    with pytest.raises(ValueError, match=r"^97\.7 % of the start's mass lies outside the box"):
        fp.solve(TARGET, fp.Gaussian([8.0], [[1.0]]), fp.Grid([-6.0], [6.0], [100]), 0.1, 0.05)


def test_solution_rho_d_and_the_deprecated_target_name():
    grid = fp.Grid([-4.0], [4.0], [40])
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.5]]), grid, 0.1, dt=0.05)
    assert sol.rho_d.shape == grid.shape
    assert np.sum(sol.rho_d) * grid.cell_volume == pytest.approx(1.0, abs=1e-13)
    with pytest.warns(DeprecationWarning, match="use Solution.rho_d"):
        assert np.array_equal(sol.target, sol.rho_d)
