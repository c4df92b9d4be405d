"""The order checks (space_order, time_order) on synthetic ladders of known order, and their
expected orders: 2 in space, the time-stepping scheme's order in time."""

import dataclasses

import numpy as np
import pytest

from fokkerplanck.flow.stepping import SCHEMES, BackwardEuler, register as register_scheme
from fokkerplanck.verify.checks import Results
from fokkerplanck.verify.checks.orders import fit_order
from fokkerplanck.verify.checks.space_order import SpaceOrder
from fokkerplanck.verify.checks.time_order import TimeOrder
from fokkerplanck.verify.runs import Run


def test_fit_order_slope_and_standard_error():
    h = np.array([0.4, 0.2, 0.1, 0.05])
    p, se = fit_order(h, 3 * h ** 1.5)
    assert p == pytest.approx(1.5) and se == pytest.approx(0.0, abs=1e-12)
    assert np.isnan(fit_order(h[:2], h[:2])[1])
    with np.errstate(invalid="ignore"):
        assert np.isnan(fit_order(h, -h)[0])


def _time_rows(spec, p, levels=4):
    """Time-ladder rows whose final states differ from a limit by 0.3 dt^p (and by less before)."""
    n = spec.grid.shape[0]
    rows = []
    for k in range(levels):
        dt = spec.dt / 2 ** k
        u = [np.full(n, 1.0 / 14) + c * dt ** p * np.sin(np.arange(n)) for c in (0.1, 0.3)]
        rows.append(dict(kind="time", level=k, dt=dt, t=[0.25, 0.5], u=np.ravel(u).tolist()))
    return rows


class _SecondOrder(BackwardEuler):
    name = "test_second_order"
    aliases = ()
    order = 2


def test_time_order_expects_the_scheme_order(ou_spec):
    first = TimeOrder.aggregate(Results(ou_spec, 4, _time_rows(ou_spec, 1)))
    assert first["expected"] == 1.0 and first["value"] == pytest.approx(1.0) and first["passed"]
    assert first["order_at_save_times"] == pytest.approx([1.0, 1.0])
    second = _time_rows(ou_spec, 2)
    assert not TimeOrder.aggregate(Results(ou_spec, 4, second))["passed"]          # backward Euler: 1 expected
    with SCHEMES.restored():
        register_scheme(_SecondOrder)
        spec = dataclasses.replace(ou_spec, solve_options={**ou_spec.solve_options, "scheme": _SecondOrder.name})
        out = TimeOrder.aggregate(Results(spec, 4, second))
    assert out["expected"] == 2.0 and out["value"] == pytest.approx(2.0) and out["passed"]
    assert out["h"] == [0.05, 0.025, 0.0125, 0.00625] and out["method"] == "self-convergence"
    # the run file's problem is an Ornstein-Uhlenbeck process: errors against it are reported too
    assert "Ornstein-Uhlenbeck" in out["exact_solution"] and len(out["exact_errors_final"]) == 4


def _space_rows(p):
    """Space-ladder rows on 10, 20, 40, 80 cells of the box [-7, 7], off the limit by 0.2 h^p."""
    return [dict(kind="space", level=k, shape=[n], t=[0.5], u=np.full(n, 1.0 / 14 + 0.2 * (14.0 / n) ** p).tolist())
            for k, n in enumerate([10, 20, 40, 80])]


def test_space_order_on_a_second_order_ladder(ou_spec):
    out = SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows(2)))
    assert out["h"] == pytest.approx([1.4, 0.7, 0.35, 0.175]) and out["expected"] == 2.0
    assert out["value"] == pytest.approx(2.0) and out["passed"]
    # a first-order ladder fails, whatever the scheme
    assert not SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows(1)))["passed"]


def test_the_ladder_cases(ou_spec):
    # the ladder refines the run's grid (80 cells): level 1 has 160, never fewer than the run's
    space = SpaceOrder.run_case(Run(ou_spec, "space", level=1, levels=3))
    assert space["shape"] == [160] and np.shape(space["u"]) == (2, 160) and space["t"] == pytest.approx([0.25, 0.5])
    assert len(space["u_time_extrapolated"]) == 160        # an exact solution is known: dt and dt/2
    time = TimeOrder.run_case(Run(ou_spec, "time", level=2, levels=3))
    assert time["dt"] == pytest.approx(0.0125) and np.shape(time["u"]) == (2, 80)


def test_table_row_and_html(ou_spec):
    entry = TimeOrder.aggregate(Results(ou_spec, 4, _time_rows(ou_spec, 1)))
    (label, measured, expected, ok), exact = TimeOrder.table_rows(entry)
    assert (label, expected, ok) == ("order in time", "1 +- 0.1", "pass") and measured.startswith("1 +- ")
    # the synthetic fields are far from the exact solution: the row names the floor (the grid's space error)
    assert exact[3] == "floor" and "0 of 4 levels used" in exact[1]
    assert "space error of the run's grid 80" in " ".join(TimeOrder.notes(entry))
    assert TimeOrder.html(entry, {}).startswith("<h3>time: pass</h3><p>levels dt 0.05, dt 0.025, dt 0.0125, "
                                                "dt 0.00625; h = 0.05, 0.025, 0.0125, 0.00625;")
    assert TimeOrder.section_intro({"exact_solution": "x < y"}) == "<p>Exact solution: x &lt; y.</p>"


def _space_rows_with(diffs, n0=10):
    """Space-ladder rows on n0, 2 n0, ... cells whose consecutive L1 differences are ``diffs``."""
    rows, level = [], 0.0
    for k in range(len(diffs) + 1):
        n = n0 * 2 ** k
        rows.append(dict(kind="space", level=k, shape=[n], t=[0.5], u=np.full(n, 1.0 / 14 + level / 14).tolist()))
        if k < len(diffs):
            level += diffs[k]
    return rows


def test_the_band_is_fixed_and_the_standard_error_never_widens_it(ou_spec):
    """The issue's 2-D run: local orders 0.91 then 1.86 gave 1.39 +- 0.27, which passed
    |p - 2| <= 2 se + 0.1 on the old code; it is inconclusive now (drifting local orders), with the
    finer grid that would settle it."""
    d = [0.1, 0.1 / 2 ** 0.91, 0.1 / 2 ** 0.91 / 2 ** 1.86]
    out = SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows_with(d)))
    assert out["value"] == pytest.approx(1.385, abs=0.01) and out["stderr"] > 0.2
    assert out["local_orders"] == pytest.approx([0.91, 1.86]) and out["band"] == 0.2
    assert out["status"] == "inconclusive" and not out["passed"] and "drift" in out["reason"]
    assert "grid 160" in out["settle"] and "--levels 5" in out["settle"]
    assert out["levels_used"] == ["10", "20", "40", "80"] and out["grids"] == [[10], [20], [40], [80]]
    # settled outside the band: a failure
    d = [0.1 / 2 ** (1.5 * k) for k in range(3)]
    out = SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows_with(d)))
    assert out["status"] == "fail" and not out["passed"]
    # 1.85 on every pair: outside 2 +- 0.2 although the standard error is 0 -- and inside at 1.85 + 0.1
    for p, status in ((1.75, "fail"), (1.85, "pass")):
        d = [0.1 / 2 ** (p * k) for k in range(3)]
        assert SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows_with(d)))["status"] == status
    # the finest pair inside, the fit dragged by the coarse levels: not asymptotic yet
    d = [0.1, 0.1 / 2 ** 1.65, 0.1 / 2 ** 1.65 / 2 ** 1.95]
    assert SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows_with(d)))["status"] == "inconclusive"
    # round-off: a floor
    out = SpaceOrder.aggregate(Results(ou_spec, 4, _space_rows_with([1e-3, 1e-13, 1e-14])))
    assert out["status"] == "inconclusive" and "round-off" in out["reason"]


def test_time_band_is_a_tenth_for_a_first_order_scheme(ou_spec):
    rows = _time_rows(ou_spec, 1.15)
    out = TimeOrder.aggregate(Results(ou_spec, 4, rows))
    assert out["band"] == 0.1 and out["status"] == "fail" and out["steps"] == [0.05, 0.025, 0.0125, 0.00625]
    assert TimeOrder.aggregate(Results(ou_spec, 4, _time_rows(ou_spec, 1.05)))["status"] == "pass"
    with SCHEMES.restored():
        register_scheme(_SecondOrder)
        spec = dataclasses.replace(ou_spec, solve_options={**ou_spec.solve_options, "scheme": _SecondOrder.name})
        assert TimeOrder.band(spec) == 0.2
