"""The Lemma 24 check: measured on the long run, below both bounds, not applicable when c = 0."""

import math

from fokkerplanck.verify.checks import Results
from fokkerplanck.verify.checks.lemma24 import Lemma24
from fokkerplanck.verify.runs import Run


def _long(**kw):
    return dict(dict(kind="long", level=0, lemma24_measured=1.0, lemma24_energy_bound=2.0, lemma24_mass_bound=3.0,
                     lemma24_paper_bound=4.0, beta=2.0, lemma24_note=""), **kw)


def test_below_both_bounds(ou_spec):
    assert Lemma24.measures_run("long") and not Lemma24.measures_run("space") and Lemma24.cases == ()
    entry = Lemma24.aggregate(Results(ou_spec, 4, [_long()]))
    assert entry["passed"] and Lemma24.table_rows(entry) == [("Lemma 24 integral of |grad v|^2 dt", "1", "<= 2 <= 4", True)]
    assert not Lemma24.aggregate(Results(ou_spec, 4, [_long(lemma24_measured=2.1)]))["passed"]
    assert not Lemma24.aggregate(Results(ou_spec, 4, [_long(lemma24_paper_bound=0.5)]))["passed"]


def test_not_applicable_when_c_is_zero(ou_spec):
    entry = Lemma24.aggregate(Results(ou_spec, 4, [_long(lemma24_energy_bound=math.inf, lemma24_paper_bound=math.inf,
                                                         lemma24_note="not applicable")]))
    assert entry["passed"] and Lemma24.table_rows(entry)[0][2] == "not applicable (c = 0)"


def test_measured_on_a_run(ou_spec):
    run = Run(ou_spec, "long")
    run.solve(dt=run.dt)
    row = Lemma24.measure(run)
    assert row["lemma24_note"] == "" and 0 < row["lemma24_measured"] <= row["lemma24_energy_bound"]
    assert row["lemma24_energy_bound"] <= row["lemma24_paper_bound"]
