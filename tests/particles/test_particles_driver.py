"""fokkerplanck.particles.driver: simulate, end to end (superposition, self-consistent particles,
walls, t_eval landing, seeds, the discriminator hook, argument checks, grid=/domain=, status).

Data and time budget: see particles_cases.py.
"""

import warnings

import numpy as np
import pytest
from particles_cases import GRID_1D, INITIAL_1D, INITIAL_2D, SLICED, TARGET_1D, TARGET_2D, frame

import fokkerplanck as fp
from fokkerplanck import compare, particles


# --- superposition: particles driven by the grid velocity carry rho_0 to u(t) ----------------


@pytest.mark.parametrize("n", [10_000, 100_000])
def test_superposition_1d_within_three_times_sampling_floor(sol_1d, n):
    ens = particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=n, velocity="grid", solution=sol_1d, dt=1e-2,
                             method="rk4", seed=0, t_eval=[0.0, 0.5, 1.0])
    assert ens.positions.shape == (3, n, 1)
    for t, x in zip(ens.t, ens.positions):
        ref = frame(sol_1d, t)
        w = compare.wasserstein(x, ref, p=1)
        # floor: mean W1 of n i.i.d. samples of u(t) over 8 draws (draw-to-draw cv ~0.5 in 1-D, so the
        # mean is known to ~20%); a single i.i.d. draw exceeds 3x the mean with negligible probability,
        # so only a transport error comparable to the sampling error can fail this.
        floor = compare.sampling_floor(ref, n, p=1, repeats=8, seed=1)
        assert w <= 3.0 * floor, (t, w, floor)


@pytest.mark.slow
@pytest.mark.parametrize("n", [10_000, 100_000])
def test_superposition_2d_within_three_times_sampling_floor(sol_2d, n):
    ens = particles.simulate(TARGET_2D, INITIAL_2D, 0.5, n=n, velocity="grid", solution=sol_2d, dt=1e-2,
                             method="rk4", seed=0, t_eval=[0.25, 0.5])
    assert ens.positions.shape == (2, n, 2)
    for t, x in zip(ens.t, ens.positions):
        ref = frame(sol_2d, t)
        w = compare.wasserstein(x, ref, p=1, **SLICED)
        floor = compare.sampling_floor(ref, n, p=1, repeats=3, seed=1, **SLICED)  # sliced W1 varies less (cv ~0.1)
        assert w <= 3.0 * floor, (t, w, floor)


def test_superposition_kl_grid_velocity(sol_1d):
    """The grid velocity uses f'(v) of the solution's divergence: for KL it is -grad ln v."""
    sol = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 0.5, dt=1e-2, divergence="kl", t_eval="steps")
    ens = particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=20_000, velocity="grid", solution=sol, seed=3)
    assert ens.divergence == "kl"
    ref = frame(sol, 0.5)
    # the KL flow moves mass 4x faster than JSD near equilibrium (Phi'(1) = 1 vs 1/4): a JSD velocity
    # would leave W1 far above the floor
    assert compare.wasserstein(ens.final, ref) <= 3.0 * compare.sampling_floor(ref, 20_000, repeats=8)
    jsd_ens = particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=20_000, velocity="grid", solution=sol_1d, seed=3)
    assert compare.wasserstein(jsd_ens.final, ref) > 5.0 * compare.sampling_floor(ref, 20_000, repeats=8)


def test_quasi_monte_carlo_beats_iid_after_transport(sol_1d, sol_2d):
    """Sobol initial points stay low-discrepancy under the (Lipschitz) flow map."""
    n = 10_000
    cases = [(sol_1d, TARGET_1D, INITIAL_1D, 1.0, {}), (sol_2d, TARGET_2D, INITIAL_2D, 0.5, SLICED)]
    for sol, tgt, ini, t, opts in cases:
        kw = dict(velocity="grid", solution=sol, dt=1e-2, seed=5)
        qmc = particles.simulate(tgt, ini, t, n=n, sampling="sobol", **kw)
        iid = particles.simulate(tgt, ini, t, n=n, sampling="iid", **kw)
        assert qmc.sampling == "sobol"
        ref = frame(sol, t)
        w_qmc = compare.wasserstein(qmc.final, ref, **opts)
        floor = compare.sampling_floor(ref, n, repeats=4, seed=2, **opts)
        # measured: 1-D 1.1e-3 vs 1.8e-2 (QMC error ~1/n plus the solver's O(dt) mismatch), 2-D 2.4e-3
        # vs 1.4e-2 (sliced); "clearly smaller" = below half the i.i.d. floor and below the i.i.d. draw
        assert w_qmc < 0.5 * floor, (w_qmc, floor)
        assert w_qmc < compare.wasserstein(iid.final, ref, **opts)


def test_remaining_mismatch_is_the_solvers_first_order_time_error():
    """Sobol particles resolve the systematic particle-grid mismatch; it shrinks like the solver's dt."""
    n = 100_000
    w = []
    for dt_solver in (1e-2, 2e-3):
        sol = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=dt_solver, t_eval="steps")
        ens = particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=n, velocity="grid", solution=sol, dt=1e-2,
                                 sampling="sobol", seed=0)
        w.append(compare.wasserstein(ens.final, frame(sol, 1.0)))
    # backward Euler is first order: 5x smaller dt -> ~5x smaller mismatch (measured 5.5); accept >= 3
    assert w[0] / w[1] >= 3.0, w


@pytest.mark.filterwarnings("ignore:.*outside the box:UserWarning")  # mass beyond the wall is deliberate
def test_walls_reflect_and_keep_the_law(rng):
    """Particles started against a wall stay in the box and still follow u(t)."""
    grid = fp.Grid([-3.0], [3.0], [600])
    initial = fp.Gaussian([2.3], [[0.16]])  # 4% of its mass lies beyond the wall at 3
    sol = fp.solve(TARGET_1D, initial, grid, 0.5, dt=5e-3, t_eval="steps")
    n = 20_000
    # the grid's rho_0 is restricted to the box and normalised: sample that (values on the cells)
    ens = particles.simulate(TARGET_1D, sol.u[0], 0.5, n=n, velocity="grid", solution=sol, dt=2e-2, seed=4,
                             t_eval=[0.0, 0.1, 0.5])
    assert np.all(ens.positions >= -3.0) and np.all(ens.positions <= 3.0)
    for t, x in zip(ens.t, ens.positions):
        ref = frame(sol, t)
        assert compare.wasserstein(x, ref) <= 3.0 * compare.sampling_floor(ref, n, repeats=8)
    x = np.array([[-3.5, 0.0], [1.0, 4.5], [0.0, 0.0]])
    count = particles.reflect(x, np.array([-3.0, -3.0]), np.array([3.0, 4.0]))
    assert count == 2
    np.testing.assert_allclose(x, [[-2.5, 0.0], [1.0, 3.5], [0.0, 0.0]])


def test_t_eval_landing_and_counters():
    ens = particles.simulate(None, None, 1.0, velocity=lambda t, x: np.ones_like(x), x0=np.zeros((5, 1)), dt=0.3,
                             method="rk2", t_eval=[0.0, 0.45, 1.0])
    np.testing.assert_allclose(ens.t, [0.0, 0.45, 1.0])
    np.testing.assert_allclose(ens.positions[:, 0, 0], [0.0, 0.45, 1.0], atol=1e-14)
    # marks: 0.3, 0.45, 0.6, 0.9, 1.0 -> 5 steps of 2 evaluations
    assert ens.counters["n_steps"] == 5 and ens.counters["n_field_evaluations"] == 10
    assert ens.sampling == "given" and ens.velocity == "<lambda>"


def test_seeded_runs_are_reproducible(sol_1d):
    kw = dict(velocity="grid", solution=sol_1d, dt=0.05, t_eval=[0.0, 0.5])
    a = particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=500, seed=7, **kw)
    b = particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=500, seed=7, **kw)
    c = particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=500, seed=8, **kw)
    np.testing.assert_array_equal(a.positions, b.positions)
    assert not np.array_equal(a.positions, c.positions)
    s1 = particles.simulate(TARGET_1D, INITIAL_1D, 0.2, n=300, velocity="sde", dt=0.05, seed=1)
    s2 = particles.simulate(TARGET_1D, INITIAL_1D, 0.2, n=300, velocity="sde", dt=0.05, seed=1)
    np.testing.assert_array_equal(s1.positions, s2.positions)


# --- self-consistent particles: no grid ------------------------------------------------------


def _w1_along_n(mode, target, initial, t_final, sol, dt, method, opts, seeds):
    out = []
    for n in (1_000, 10_000, 100_000):
        ws = [compare.wasserstein(particles.simulate(target, initial, t_final, n=n, velocity=mode, dt=dt,
                                                     method=method, seed=s).final,
                                  frame(sol, t_final), **opts) for s in seeds[n]]
        out.append(float(np.mean(ws)))
    return out


# Tolerance for "W1 decreases along N = 1e3, 1e4, 1e5": each tenfold N must shrink W1 by >= 1.5x.
# Theory: sampling error ~ N^(-1/2) (factor 3.2) plus KDE smoothing bias ~ h^2 ~ N^(-2/(d+4))
# (factor 2.5 in 1-D, 2.2 in 2-D), plus an N-independent time-step bias (Euler-Maruyama with
# dt = 0.02: ~2e-3, measured by halving dt). Measured factors (1e3->1e4, 1e4->1e5): KDE 3.4, 2.9
# (1-D), 2.5, 2.7 (2-D); SDE 2.8, 1.8 (1-D), 2.2, 2.0 (2-D). Averaging 3 seeds at N = 1e3 and 2 at
# 1e4 keeps the draw-to-draw spread (cv 20-50% for one draw at 1e3) inside the margin.
SEEDS = {1_000: [0, 1, 2], 10_000: [0, 1], 100_000: [0]}


@pytest.mark.slow
@pytest.mark.parametrize("mode,dt,method", [("kde", 0.05, "rk2"), ("sde", 0.02, None)])
def test_self_consistent_particles_converge_1d(mode, dt, method):
    sol = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=2e-3, t_eval=[0.0, 1.0])
    w = _w1_along_n(mode, TARGET_1D, INITIAL_1D, 1.0, sol, dt, method, {}, SEEDS)
    assert w[1] < w[0] / 1.5 and w[2] < w[1] / 1.5, w


@pytest.mark.slow
@pytest.mark.parametrize("mode,dt,method", [("kde", 0.05, "rk2"), ("sde", 0.02, None)])
def test_self_consistent_particles_converge_2d(sol_2d, mode, dt, method):
    w = _w1_along_n(mode, TARGET_2D, INITIAL_2D, 0.5, sol_2d, dt, method, SLICED, SEEDS)
    assert w[1] < w[0] / 1.5 and w[2] < w[1] / 1.5, w


def test_kl_sde_is_langevin_with_exact_euler_maruyama_moments():
    """For KL the SDE is dX = grad ln rho_d dt + sqrt(2) dW; with rho_d = N(0, 1) Euler-Maruyama is
    X <- (1 - dt) X + sqrt(2 dt) xi, whose mean and variance follow exact recursions."""
    n, dt, steps = 100_000, 0.02, 50
    initial = fp.Gaussian([2.0], [[0.25]])
    ens = particles.simulate(TARGET_1D, initial, dt * steps, n=n, velocity="sde", dt=dt, divergence="kl", seed=11)
    mean, var = 2.0, 0.25
    for _ in range(steps):
        mean, var = (1 - dt) * mean, (1 - dt) ** 2 * var + 2 * dt
    x = ens.final[:, 0]
    # 4 standard errors: sd(mean) = sqrt(var/n), sd(sample variance) = var sqrt(2/n)
    assert abs(x.mean() - mean) < 4 * np.sqrt(var / n)
    assert abs(x.var() - var) < 4 * var * np.sqrt(2 / n)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs,match", [
    (dict(velocity="grid"), "needs solution"),
    (dict(velocity="warp"), "unknown velocity"),
    (dict(velocity="kde", method="rk7"), "unknown method"),
    (dict(velocity="sde", method="rk4"), "euler-maruyama"),
    (dict(velocity="kde", n=0), "positive integer"),
    (dict(velocity="kde", n=-3), "positive integer"),
    (dict(velocity="kde", n=2.5), "positive integer"),
    (dict(velocity="kde", n=True), "positive integer"),
    (dict(velocity="kde", dt=0.0), "dt must be"),
    (dict(velocity="kde", t_eval=[0.5, 0.2]), "strictly increasing"),
    (dict(velocity="kde", t_eval=[0.0, 2.0]), r"\[0, t_final\]"),
    (dict(velocity="kde", sampling="lhs"), "unknown sampling"),
    (dict(velocity="kde", velocity_options=dict(bandwith=0.1)), "unknown velocity_options"),
    (dict(velocity="kde", velocity_options=dict(bandwidth=-1.0)), "bandwidth"),
    (dict(velocity="discriminator"), "needs data"),
    (dict(velocity="kde", x0=np.zeros((10, 2))), "x0 must have shape"),
    (dict(velocity="kde", x0=np.zeros((10, 1)), n=20), "omit n"),
])
def test_bad_input_raises_clear_value_errors(kwargs, match):
    args = dict(n=100, velocity="kde")
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, **args)


def test_sparse_frames_warn():
    sol = fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 0.5, dt=1e-2)  # frames at 0 and 0.5 only
    with pytest.warns(UserWarning, match="t_eval='steps'"):
        particles.simulate(TARGET_1D, INITIAL_1D, 0.5, n=10, velocity="grid", solution=sol)


def test_bad_grid_mode_input(sol_1d):
    with pytest.raises(ValueError, match="cover"):
        particles.simulate(TARGET_1D, INITIAL_1D, 2.0, n=10, velocity="grid", solution=sol_1d)
    with pytest.raises(ValueError, match="differs from the solution"):
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=10, velocity="grid", solution=sol_1d, divergence="kl")
    with pytest.raises(ValueError, match="dimensional"):
        particles.simulate(TARGET_2D, INITIAL_2D, 1.0, n=10, velocity="grid", solution=sol_1d)
    with pytest.raises(ValueError, match="grid has shape"):
        particles.simulate(TARGET_1D, np.ones(7), 1.0, n=10, velocity="grid", solution=sol_1d)
    with pytest.raises(ValueError, match="Solution"):
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=10, velocity="grid", solution=sol_1d.u)
    with pytest.raises(ValueError, match="Gaussian"):
        particles.simulate(lambda x: np.ones(len(x)), INITIAL_1D, 1.0, n=10, velocity="kde")
    with pytest.raises(ValueError, match="initial density is 2-dimensional"):
        particles.simulate(TARGET_1D, INITIAL_2D, 1.0, n=10, velocity="kde")


def test_user_input_errors_found_in_review():
    grid = fp.Grid([-3.0], [3.0], [60])
    sol = fp.solve(TARGET_1D, fp.Gaussian([0.5], [[0.3]]), grid, 0.2, 0.05, t_eval="steps")
    # given initial positions outside the box are an error, not silently reflected
    with pytest.raises(ValueError, match="outside the box"):
        particles.simulate(TARGET_1D, None, 0.2, n=3, velocity="grid", solution=sol, dt=0.05,
                           x0=np.array([[0.0], [1.0], [10.0]]))
    # a user field returning the wrong shape is reported with its own shape, before broadcasting
    with pytest.raises(ValueError, match=r"returned shape \(5,\)"):
        particles.simulate(TARGET_1D, fp.Gaussian([0.0], [[1.0]]), 0.2, n=5, velocity=lambda t, x: x[:, 0],
                           dt=0.05, seed=0)
    with pytest.raises(ValueError, match="seed"):
        particles.simulate(TARGET_1D, fp.Gaussian([0.0], [[1.0]]), 0.2, n=5, velocity="kde", dt=0.05, seed="a")
    # a grid density given as a list works like the tuple
    x = fp.Gaussian([0.0], [[1.0]]).sample(500, seed=1)
    assert compare.wasserstein(x, [grid, sol.u[-1]]) == compare.wasserstein(x, (grid, sol.u[-1]))


# --- grid= (and the deprecated domain=), registries --------------------------------------------------

def test_grid_keyword_and_deprecated_domain_give_the_same_run():
    box = fp.Grid([-2.0], [2.0], [4])
    kw = dict(n=300, velocity="sde", dt=0.05, seed=3)
    new = particles.simulate(TARGET_1D, INITIAL_1D, 0.3, grid=box, **kw)
    with pytest.warns(DeprecationWarning, match="domain= is deprecated; use grid="):
        old = particles.simulate(TARGET_1D, INITIAL_1D, 0.3, domain=box, **kw)
    np.testing.assert_array_equal(new.positions, old.positions)
    assert new.grid is box and new.n_reflections == old.n_reflections > 0
    assert np.all(np.abs(new.positions) <= 2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # grid= itself warns about nothing
        particles.simulate(TARGET_1D, INITIAL_1D, 0.1, grid=box, **kw)
    with pytest.raises(ValueError, match="give the box once"), pytest.warns(DeprecationWarning):
        particles.simulate(TARGET_1D, INITIAL_1D, 0.3, grid=box, domain=box, **kw)
    with pytest.raises(ValueError, match="grid must be a fokkerplanck.Grid"):
        particles.simulate(TARGET_1D, INITIAL_1D, 0.3, grid=[-2.0, 2.0], **kw)
    with pytest.raises(ValueError, match="grid is 2-dimensional but the flow is 1-dimensional"):
        particles.simulate(TARGET_1D, INITIAL_1D, 0.3, grid=fp.Grid([-2.0, -2.0], [2.0, 2.0], [4, 4]), **kw)


def test_grid_mode_takes_the_solutions_box(sol_1d):
    kw = dict(n=50, velocity="grid", solution=sol_1d, dt=0.1, seed=0)
    assert particles.simulate(TARGET_1D, INITIAL_1D, 0.2, **kw).grid is sol_1d.grid
    same = particles.simulate(TARGET_1D, INITIAL_1D, 0.2, grid=sol_1d.grid, **kw)
    assert same.grid is sol_1d.grid
    with pytest.raises(ValueError, match="omit grid="):
        particles.simulate(TARGET_1D, INITIAL_1D, 0.2, grid=fp.Grid([-1.0], [1.0], [4]), **kw)


def test_names_are_case_insensitive_and_defaults_follow_the_field():
    kw = dict(n=20, dt=0.1, seed=0)
    assert particles.simulate(TARGET_1D, INITIAL_1D, 0.1, velocity="KDE", **kw).method == "rk4"
    sde = particles.simulate(TARGET_1D, INITIAL_1D, 0.1, velocity="sde", method="EM", sampling="qmc", **kw)
    assert (sde.velocity, sde.method, sde.sampling) == ("sde", "euler-maruyama", "sobol")


@pytest.mark.parametrize("divergence", ["chi2", "hellinger"])
def test_superposition_for_degenerate_and_singular_diffusion(divergence):
    # b = -grad f'(v) from the grid solution: chi^2 (f' = 2(v - 1)) and Hellinger (f' = 1 - v^(-1/2)).
    # Particles and grid are two first-order discretisations of the same flow: measured W1 / floor at
    # t = 1 for chi^2 is 2.1, 1.27, 1.07 at dt = 1e-2, 2.5e-3, 6.25e-4 (the excess falls like dt), and
    # 1.06 for Hellinger at dt = 1e-2. At dt = 2.5e-3 the 3x-floor bound of the JSD test applies.
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
    grid, n, h = fp.Grid([-6.0], [6.0], [600]), 4000, 2.5e-3
    sol = fp.solve(target, initial, grid, 1.0, dt=h, divergence=divergence, t_eval="steps")
    ens = particles.simulate(target, initial, 1.0, n=n, velocity="grid", solution=sol, dt=h, method="rk4", seed=0,
                             t_eval=[0.5, 1.0])
    for t, x in zip(ens.t, ens.positions):
        ref = frame(sol, t)
        w = compare.wasserstein(x, ref, p=1)
        floor = compare.sampling_floor(ref, n, p=1, repeats=8, seed=1)
        assert w <= 3.0 * floor, (divergence, t, w, floor)
