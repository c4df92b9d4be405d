"""The checks of fokkerplanck verify are a registry: the driver, the cases and the report read it.

One check per file in fokkerplanck/verify/checks/, each registered; the driver, the study function
and the report name none of them; a check registered from outside (here, in a test) shows up in
the sweep, report.json, the table, report.html and the exit code without any other change.
"""

import ast
import json
import pkgutil
from pathlib import Path

import numpy as np
import pytest

import fokkerplanck.verify.checks as checks_pkg
from fokkerplanck.cli import main
from fokkerplanck.verify import CHECKS, verify
from fokkerplanck.verify.checks import Case, Check, ordered, owner, register

VERIFY = Path(checks_pkg.__file__).resolve().parents[1]


def test_one_registered_check_per_file_in_report_order():
    assert [c.name for c in ordered()] == ["space_order", "time_order", "invariants", "rate", "lemma24",
                                           "superposition"]
    assert [c.key() for c in ordered()] == [("orders", "space"), ("orders", "time"), ("invariants",), ("rate",),
                                            ("lemma24",), ("superposition",)]
    helpers = {"base", "orders"}
    files = {m.name for m in pkgutil.iter_modules(checks_pkg.__path__)} - helpers
    assert {c.__module__.rsplit(".", 1)[1] for c in CHECKS} == files
    kinds = [case.kind for c in CHECKS for case in c.cases]
    assert sorted(kinds) == ["contraction", "long", "particles", "space", "time"]
    assert all(owner(case.kind) is c for c in CHECKS for case in c.cases)
    with pytest.raises(ValueError, match="unknown verification case kind 'nope'"):
        owner("nope")


def _literals(path):
    """String constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {id(node.body[0].value) for node in ast.walk(tree)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.ClassDef)) and node.body
            and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and id(n) not in docs}


@pytest.mark.parametrize("module", ["__init__.py", "cases.py", "report.py", "runs.py"])
def test_the_driver_cases_and_report_name_no_check(module):
    named = {c.name for c in CHECKS} | {k for c in CHECKS for k in c.key()} | {
        case.kind for c in CHECKS for case in c.cases}
    assert _literals(VERIFY / module) & named == set()


class TheAnswer(Check):
    """A trivial check: one case that returns 42, held against ``expect``."""

    name = "answer"
    cases = (Case("answer", params=dict(question="everything")),)
    section = "The answer"
    figure = ("Answer figure", (4, 3))
    expect = 41

    @classmethod
    def run_case(cls, run):
        return dict(answer=42, question=run.params["question"])

    @classmethod
    def aggregate(cls, results):
        value = results.row("answer")["answer"]
        return dict(value=value, expect=cls.expect, passed=value == cls.expect)

    @classmethod
    def table_rows(cls, entry):
        return [("the answer", str(entry["value"]), f"= {entry['expect']}", entry["passed"])]

    @classmethod
    def notes(cls, entry):
        return ["the question was everything"]

    @classmethod
    def html(cls, entry, report):
        return f"<p>answer {entry['value']}</p>"

    @classmethod
    def draw(cls, ax, entry, results):
        ax.plot([0, 1], [0, entry["value"]])


def test_a_registered_check_appears_in_every_output(ou_runfile, tmp_path, capsys):
    before = CHECKS.names()
    plain = verify(ou_runfile, out=tmp_path / "o", levels=3, processes=False)
    assert plain.passed and "answer" not in plain
    first = json.loads((tmp_path / "o" / "report.json").read_text())
    with CHECKS.restored():
        register(TheAnswer)
        code = main(["verify", str(ou_runfile), "--out", str(tmp_path / "o"), "--levels", "3", "--threads"])
        out = capsys.readouterr().out
    assert CHECKS.names() == before and "answer" not in CHECKS
    assert code == 1                                              # 42 is not 41: the report fails
    data = json.loads((tmp_path / "o" / "report.json").read_text())
    assert data["answer"] == dict(value=42, expect=41, passed=False) and not data["passed"]
    # its case joined the sweep (the others were finished: skipped)
    assert data["cases"] == dict(n=plain["cases"]["n"] + 1, computed=1, skipped=plain["cases"]["n"])
    rest = {k: v for k, v in data.items() if k not in ("answer", "cases", "passed", "status")}
    assert rest == {k: v for k, v in first.items() if k not in ("cases", "passed", "status")}
    lines = out.splitlines()
    assert any(line.split() == ["the", "answer", "42", "=", "41", "FAIL"] for line in lines)
    assert "  the question was everything" in lines and "FAILED" in lines[-1]
    html = (tmp_path / "o" / "report.html").read_text()
    assert "<h2>The answer</h2><p>answer 42</p>" in html and "<h2>Answer figure</h2><img" in html
    assert "<td>the answer</td><td>42</td><td>= 41</td><td class=bad>FAIL</td>" in html


def test_the_report_passes_when_every_check_does(ou_runfile, tmp_path):
    verify(ou_runfile, out=tmp_path / "o", levels=3, processes=False)
    with CHECKS.restored():
        register(type("RightAnswer", (TheAnswer,), dict(expect=42)))
        rep = verify(ou_runfile, out=tmp_path / "o", levels=3, processes=False)
    assert rep.passed and rep["answer"]["passed"] and rep["cases"]["computed"] == 1
    assert np.isclose(rep["orders"]["time"]["expected"], 1.0)


@pytest.mark.parametrize("bad", [5, None, 1.5, ["run.toml"]])
def test_verify_refuses_a_runfile_that_is_not_a_path(bad):
    """Issue 22, item 13: was a TypeError from inside pathlib."""
    from fokkerplanck.verify import verify

    with pytest.raises(ValueError, match="runfile must be the path of a run file"):
        verify(bad)
