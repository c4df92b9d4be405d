"""The invariants check: measured on the flow run of every case, worst over the rows that carry each."""

import pytest

from fokkerplanck.verify.checks import Results
from fokkerplanck.verify.checks.invariants import INVARIANT_TOL, INVARIANTS, Invariants
from fokkerplanck.verify.runs import Run

GOOD = dict(mass_drift=1e-15, min_v=1e-30, max_v_excess=0.0, energy_increase=0.0, dissipation_violation=1e-20)


def _rows(**bad):
    return [dict(kind="space", level=0, **GOOD), dict(kind="time", level=0, **{**GOOD, **bad}),
            dict(kind="contraction", level=0, contraction_increase=0.0), dict(kind="particles", level=0, ratio=1.0)]


def test_every_invariant_passes_within_its_tolerance(ou_spec):
    entry = Invariants.aggregate(Results(ou_spec, 4, _rows()))
    assert list(entry) == [inv.name for inv in INVARIANTS] and Invariants.passed(entry)
    assert entry["positivity"] == dict(worst=1e-30, what="min of v = u / rho_d", tolerance=0.0, passed=True)
    assert entry["l1_contraction"]["worst"] == 0.0
    rows = {r[0]: r[1:] for r in Invariants.table_rows(entry)}
    assert rows["positivity (min of v = u / rho_d)"] == ("1e-30", ">= 0", True)
    assert rows["mass (relative)"] == ("1e-15", "<= 1e-10", True)  # each row says what its number measures


@pytest.mark.parametrize("bad, name", [(dict(min_v=-1e-12), "positivity"), (dict(mass_drift=1e-8), "mass"),
                                       (dict(dissipation_violation=2e-9), "energy_dissipation")])
def test_one_violation_in_one_run_fails(ou_spec, bad, name):
    entry = Invariants.aggregate(Results(ou_spec, 4, _rows(**bad)))
    assert [k for k, item in entry.items() if not item["passed"]] == [name] and not Invariants.passed(entry)


def test_measured_on_a_watched_run_and_the_contraction_case(ou_spec):
    run = Run(ou_spec, "time", watchers=[Invariants])
    run.solve(dt=run.dt)
    row = Invariants.measure(run)
    assert row["n_steps"] == 10 and row["min_v"] > 0 and row["mass_drift"] <= INVARIANT_TOL["mass"]
    assert row["energy_increase"] <= INVARIANT_TOL["energy"]
    c = Invariants.run_case(Run(ou_spec, "contraction"))
    assert 0 < c["l1_end"] < c["l1_start"] and c["contraction_increase"] <= INVARIANT_TOL["contraction"]
