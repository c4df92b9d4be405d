"""Issue 10's five numbers that silently changed meaning, one test each (each fails on the old code)."""

import datetime
import importlib.util
import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import compare, theory
from fokkerplanck.io.runfile import RunFileError, loads, parse_run, read_run_file
from fokkerplanck.flow.stepping import AdaptiveSteps

ROOT = Path(__file__).resolve().parents[2]


# 1. fixed steps that are fixed -------------------------------------------------------------------

def test_two_modes_example_takes_exactly_t_final_over_dt_steps():
    """dt = 0.02, t_final = 4, n_saves = 81: 200 steps of exactly dt (the old code took 240,
    with steps of 0.01 to land on the off-lattice save times)."""
    spec = read_run_file(ROOT / "examples" / "two_modes_1d.toml")
    sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, spec.dt, divergence=spec.divergence,
                   **spec.solve_options)
    assert sol.n_steps == 200 and sol.t.size == 81
    np.testing.assert_allclose(sol.history["dt"][1:], 0.02, rtol=1e-12, atol=0)


def test_off_lattice_save_times_are_refused_in_run_files():
    text = (ROOT / "examples" / "kl_ornstein_uhlenbeck.toml").read_text().replace(
        "save_times = [0.0, 0.25, 0.5, 1.0, 2.0]", "save_times = [0.0, 0.255, 2.0]")
    with pytest.raises(RunFileError, match=r"\[flow\] save_times.*0.255 is not a multiple of dt"):
        parse_run(loads(text), text=text)


# 2. the predicted-rate line only where the run is asymptotic -------------------------------------

def _dotted(ax):
    return [ln for ln in ax.lines if ln.get_linestyle() == ":" and len(ln.get_xdata())]


def test_convergence_plot_draws_the_prediction_only_on_the_asymptotic_window():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from fokkerplanck import plot

    grid = fp.Grid([-7.0], [7.0], [120])
    target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
    short = fp.solve(target, initial, grid, 1.0, 0.05, divergence="kl")  # L1 ~ 0.3 at the end
    fig = plot.convergence(short)
    ax = fig.axes[0]
    assert not _dotted(ax)  # the old code drew it over [0.5, 1]
    assert any("not reached" in t.get_text() for t in ax.get_legend().get_texts())
    long = fp.solve(target, initial, grid, 20.0, 0.05, divergence="kl")
    ax = plot.convergence(long).axes[0]
    t0, t1 = theory.decay_window(long.history["t"], long.history["l1"])
    for ln in _dotted(ax):
        x = ln.get_xdata()
        assert x.min() >= t0 - 1e-12 and x.max() <= t1 + 1e-12
    labels = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    rate, err = theory.fit_rate(long.history["t"], long.history["l1"], (t0, t1))
    assert f"{rate:.4g} +- {err:.2g}" in labels


# 3. adaptive steps: the estimator's weight, and an error relative to the distance from rho_d -----

def test_adaptive_error_estimate_has_weight_one_half_for_unequal_steps():
    """After a step of h_prev, a step of h = 5 h_prev: the linear extrapolation is a forward-Euler
    step, so the estimate must equal (h/2) ||K (Phi(v^{n+1}) - Phi(v^n))||_1 (the first-step
    formula) to the Newton tolerance; the old weight h/(h + h_prev) gave 5/3 of it."""
    from fokkerplanck import operators
    from fokkerplanck.flow.problem import setup
    from fokkerplanck.flow.resolvent import Resolvent
    from fokkerplanck.flow.stepping import RunState

    grid = fp.Grid([-6.0], [6.0], [200])
    p = setup(fp.Gaussian([0.0], [[1.0]]), fp.GaussianMixture([0.5, 0.5], [[-1.0], [1.5]], [[[0.3]], [[0.4]]]),
              grid, "jsd")
    res = Resolvent(p.divergence, p.coeffs, p.cell_mass, tol=1e-14)
    h_prev, h = 0.01, 0.05
    r1 = res(p.v0, h_prev, w0=p.divergence.phi(p.v0))
    r2 = res(r1.v, h, w0=r1.w)
    state = RunState(t=h_prev, v=r1.v, phi=r1.w, v_prev=p.v0, h_prev=h_prev, h_next=h, mark_index=0, history={},
                     saved_t=[], saved_v=[], counters={})
    ctl = AdaptiveSteps(rtol=1e-4, atol=0.0, dt_initial=h_prev, dt_max=None, max_growth=5.0, t_final=1.0)
    est = ctl.error(state, h, r2, p.cell_mass, p.coeffs)
    fe = 0.5 * h * float(np.sum(np.abs(operators.apply_laplacian(p.coeffs, r2.w - r1.w))))
    assert est == pytest.approx(fe, rel=1e-6)


def test_adaptive_long_time_example_reproduces_the_predicted_rate_within_one_percent():
    """examples/adaptive_long_time.toml (error_relative_to = "distance"): the L1 rate fitted on the
    asymptotic window is within 1% of Phi'(1) lambda_1 (measured: -0.22%). With the error
    relative to the mass (the old measure) the same run gives a rate off by more than 20%."""
    spec = read_run_file(ROOT / "examples" / "adaptive_long_time.toml")
    assert spec.solve_options["error_relative_to"] == "distance"
    pred = theory.predicted_rate(theory.spectral_gap(spec.target, spec.grid), spec.divergence)
    rates = {}
    for rel in ("distance", "mass"):
        sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, spec.dt, divergence=spec.divergence,
                       **{**spec.solve_options, "error_relative_to": rel})
        h = sol.history
        rates[rel] = theory.fit_rate(h["t"], h["l1"], theory.decay_window(h["t"], h["l1"]))[0]
    assert abs(rates["distance"] / pred - 1) < 0.01
    assert abs(rates["mass"] / pred - 1) > 0.2


# 4. a distance that says what it is ---------------------------------------------------------------

def test_wasserstein_says_which_distance_and_warns_on_the_auto_switch():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2))
    small, big = fp.Grid([-4.0, -4.0], [4.0, 4.0], [54, 54]), fp.Grid([-4.0, -4.0], [4.0, 4.0], [55, 55])
    pts = lambda g: g.points()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = compare.wasserstein(x, (small, np.exp(-0.5 * (pts(small) ** 2).sum(1)).reshape(54, 54)))
    assert exact.method == "exact" and exact.p == 1 and exact.name == "W1"
    with pytest.warns(UserWarning, match="sliced"):
        sliced = compare.wasserstein(x, (big, np.exp(-0.5 * (pts(big) ** 2).sum(1)).reshape(55, 55)))
    assert sliced.method == "sliced" and sliced.name == "SW1" and sliced.n_projections == 64
    assert float(sliced) == sliced.value and isinstance(sliced + 1.0, float)
    one_d = compare.wasserstein(np.array([0.0, 2.0]), np.array([1.0, 3.0]), p=2)
    assert one_d.method == "exact" and one_d == pytest.approx(1.0)


# 5. stamps that say when and where --------------------------------------------------------------

def test_benchmark_summaries_are_stamped_with_today_the_machine_and_the_version():
    spec = importlib.util.spec_from_file_location("_conv_common", ROOT / "benchmarks" / "convergence" / "common.py")
    common = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(common)
    stamp = common.stamp()
    assert stamp.startswith(datetime.date.today().isoformat())
    assert f"fokkerplanck {fp.__version__}" in stamp and f"{__import__('os').cpu_count()}-core" in stamp
    assert not hasattr(common, "MACHINE")


# Issue 19: bad input is refused instead of silently repaired ------------------------------------

RUN_1D = """
[grid]
lower = [{lo}]
upper = [{hi}]
shape = [{n}]
[target]
kind = "gaussian"
mean = [{mt}]
cov = {ct}
[initial]
kind = "gaussian"
mean = [0.0]
cov = 0.3
[flow]
divergence = "{div}"
t_final = 0.1
dt = 0.05
"""


def _run(tmp_path, **kw):
    values = dict(lo=-1.0, hi=1.0, n=40, mt=0.0, ct=0.2, div="jsd") | kw
    path = tmp_path / "run.toml"
    path.write_text(RUN_1D.format(**values))
    return path


def test_a_target_mostly_outside_the_box_is_refused_in_one_line(tmp_path, capsys):
    """Grid [-1, 1], target N(5, 0.1): the old code ran it with exit 0 and a raw warning."""
    grid = fp.Grid([-1.0], [1.0], [40])
    with pytest.raises(ValueError, match=r"^100\.0 % of the target's mass lies outside the box"):
        fp.solve(fp.Gaussian([5.0], [[0.1]]), fp.Gaussian([0.0], [[0.3]]), grid, 0.1, 0.05)
    from fokkerplanck.cli import main
    assert main(["run", str(_run(tmp_path, mt=5.0, ct=0.1)), "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "100.0 % of the target's mass lies outside" in err[0]


def test_a_smaller_loss_is_one_warning_line_with_a_percentage(tmp_path, capsys):
    grid = fp.Grid([-1.0], [1.0], [40])
    with pytest.warns(UserWarning, match=r"^15\.7 % of the start's mass lies outside the box"):
        fp.solve(fp.Gaussian([0.0], [[0.05]]), fp.Gaussian([0.0], [[0.5]]), grid, 0.1, 0.05)
    from fokkerplanck.cli import main
    path = _run(tmp_path, lo=-1.5, hi=1.5, mt=0.0, ct=0.5)    # N(0, 0.5) on [-1.5, 1.5]: 3.4 % outside
    assert main(["run", str(path), "--quiet", "--no-figures", "--out", str(tmp_path / "o")]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert err == ["fokkerplanck: warning: 3.4 % of the target's mass lies outside the box [-1.5] .. [1.5]; it is "
                   "restricted to the box and renormalised there (enlarge the box if that is not intended)."]


def test_no_false_mass_outside_warning_on_a_coarse_grid():
    """A start whose mass lies inside the box, on 4 x 4 cells of [-5, 5]^2 (the coarsest level of
    the old space ladder): the midpoint estimate said 0.24 of it lies outside."""
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [4, 4])
    target = fp.GaussianMixture([0.5, 0.5], [[-1.5, 0.0], [1.5, 0.0]], [np.eye(2) * 0.5] * 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sol = fp.solve(target, fp.Gaussian([0.5, 0.5], np.eye(2)), grid, 0.1, 0.05)
    assert abs(sol.initial_mass_outside) < 1e-5 and abs(sol.target_mass_outside) < 1e-5


def test_mixture_weights_that_do_not_sum_to_one_are_refused(tmp_path):
    with pytest.raises(ValueError, match="weights must sum to 1"):
        fp.GaussianMixture(weights=[0.5, 0.6], means=[[-1.0], [1.0]], covs=[[[0.3]], [[0.3]]])
    fp.GaussianMixture(weights=[0.1, 0.2, 0.7], means=[[-1.0], [0.0], [1.0]], covs=[[[0.3]]] * 3)
    text = (ROOT / "benchmarks" / "problems" / "jsd_two_modes_1d.toml").read_text().replace(
        "weights = [0.5, 0.5]", "weights = [0.5, 0.6]")
    (tmp_path / "w.toml").write_text(text)
    with pytest.raises(RunFileError, match=r"\[target\] weights: expected weights summing to 1"):
        read_run_file(tmp_path / "w.toml")


def test_divergence_names_and_aliases_are_one_list_for_the_api_and_run_files(tmp_path):
    from fokkerplanck.flow.divergences import DIVERGENCES, get_divergence
    for spelling in DIVERGENCES.spellings() + ["JS", "Jensen-Shannon", "KL"]:
        spec = read_run_file(_run(tmp_path, div=spelling))
        assert spec.divergence == get_divergence(spelling).name
    with pytest.raises(RunFileError, match=r"\[flow\] divergence: expected one of .*js.*got .jsx."):
        read_run_file(_run(tmp_path, div="jsx"))


# Issue 19: fixed descriptions derived from the data they describe --------------------------------

def test_the_demo_header_names_the_target_it_runs():
    """The old header was a fixed string naming N(-1, 0.55^2) and N(1, 0.5^2); the demo runs -0.8 and 0.8."""
    from fokkerplanck.cli import demos
    spec = parse_run(loads(demos.DEMO_RUN, "demo"), text=demos.DEMO_RUN, source="demo", name="demo")
    line = demos.header(spec)
    assert "rho_d = 0.4 N(-0.8, 0.3) + 0.6 N(0.8, 0.25)" in line and "rho_0 = N(0.1, 0.3)" in line
    edited = demos.DEMO_RUN.replace("means = [-0.8, 0.8]", "means = [-1.0, 1.0]")
    spec = parse_run(loads(edited, "demo"), text=edited, source="demo", name="demo")
    assert "0.4 N(-1, 0.3) + 0.6 N(1, 0.25)" in demos.header(spec)
    assert "N(-1, 0.55^2)" not in line


def test_the_table_column_names_the_divergence_that_ran():
    import io
    from fokkerplanck.cli.report import table
    grid = fp.Grid([-4.0], [4.0], [60])
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.5]]), grid, 0.2, 0.05, divergence="chi2",
                   t_eval=[0.0, 0.1, 0.2])
    buf = io.StringIO()
    table(sol, [0.0, 0.2], out=buf)
    head, first = buf.getvalue().splitlines()[:2]
    assert head.split()[:2] == ["t", "chi2"] and "JSD" not in head
    assert float(first.split()[1]) == pytest.approx(sol.history["energy"][0], rel=1e-3)


# Issue 19: the decay window is detected relative to the run ---------------------------------------

def test_decay_window_needs_no_fixed_level_of_the_distance():
    """A run to t = 20 that ends at L1 = 0.0085 with its local rate settled: the old window needed
    the distance below 1e-4 and gave no rate at all."""
    t = np.linspace(0.0, 20.0, 801)
    y = 0.05 * np.exp(-0.1 * t) + 0.5 * np.exp(-1.5 * t)
    assert 0.005 < y[-1] < 0.01
    t0, t1 = theory.decay_window(t, y)
    assert t1 == 20.0 and t0 <= 10.0
    assert theory.fit_rate(t, y, window=(t0, t1))[0] == pytest.approx(0.1, rel=0.01)
    # a rate that is still drifting at the end has no window
    with pytest.raises(ValueError, match="not settled"):
        theory.decay_window(t, 1.0 / (1.0 + t) ** 2)


# Issue 19: the sampling floor uses the distance of the comparison it accompanies -----------------

def test_sampling_floor_takes_the_method_of_its_comparison():
    import inspect
    assert (inspect.signature(compare.sampling_floor).parameters["method"].default
            == inspect.signature(compare.wasserstein).parameters["method"].default)
    grid = fp.Grid([-3.0, -3.0], [3.0, 3.0], [20, 20])
    ref = (grid, fp.Gaussian([0.0, 0.0], np.eye(2)).pdf(grid.points()).reshape(20, 20))
    x = fp.Gaussian([0.0, 0.0], np.eye(2)).sample(300, seed=1)
    w = compare.wasserstein(x, ref, method="exact")
    exact = compare.sampling_floor(ref, 300, method=w, repeats=2)
    sliced = compare.sampling_floor(ref, 300, method="sliced", repeats=2)
    assert exact.method == "exact" and exact.name == "W1" and sliced.method == "sliced" and sliced.name == "SW1"
    assert float(exact) > 1.5 * float(sliced)      # not interchangeable: the report must name which
