"""The superposition check: grid-driven particles within 3 sampling floors of the grid density."""

from fokkerplanck.verify.checks import Results
from fokkerplanck.verify.checks.superposition import Superposition
from fokkerplanck.verify.runs import Run


def test_the_band(ou_spec):
    def entry(ratio):
        row = dict(kind="particles", level=0, n=2000, w1=ratio * 0.01, floor=0.01, method="exact", ratio=ratio)
        return Superposition.aggregate(Results(ou_spec, 4, [row]))

    assert entry(2.9)["passed"] and not entry(3.1)["passed"]
    assert Superposition.table_rows(entry(2.9)) == [("superposition exact W1 / floor", "2.9", "<= 3", True)]


def test_the_case(ou_spec):
    row = Superposition.run_case(Run(ou_spec, "particles"))
    assert row["n"] == 2000 and row["method"] == "exact" and 0 < row["ratio"] <= 3
