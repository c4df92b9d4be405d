"""The typed TOML reader (:mod:`fokkerplanck.io.toml`) shared by run files and sweep specs."""

import sys

import numpy as np
import pytest

from fokkerplanck.io.toml import Table, TomlError, load, loads, numeric_array


class MyError(TomlError):
    pass


def test_table_typed_access_and_messages():
    t = Table({"a": 1.5, "n": 3, "flag": True, "s": "x", "v": [1, 2], "m": [[1.0, 0.0], [0.0, 1.0]],
               "sub": {"k": 1}}, "tab", "f.toml", {"a", "n", "flag", "s", "v", "m", "sub", "opt"}, MyError)
    assert t.number("a", positive=True) == 1.5 and t.integer("n") == 3 and t.boolean("flag") is True
    assert t.string("s", choices=("x", "y")) == "x" and t.number("opt", 7.0) == 7.0 and not t.has("opt")
    assert np.array_equal(t.array("v", (2,), "[1, 2]"), [1.0, 2.0])
    assert t.array("m", (2, 2), "[[1, 0], [0, 1]]").shape == (2, 2)
    assert t.table("sub") == {"k": 1} and t.table("sub", {"k"}).integer("k") == 1
    cases = [(lambda: t.number("s"), "f.toml: [tab] s: expected a number, got 'x'"),
             (lambda: t.integer("a"), "f.toml: [tab] a: expected an integer >= 1, got 1.5"),
             (lambda: t.boolean("n"), "f.toml: [tab] n: expected true or false, got 3"),
             (lambda: t.string("s", choices=("y",)), "f.toml: [tab] s: expected one of 'y', got 'x'"),
             (lambda: t.number("opt"), "f.toml: [tab] opt: missing; expected a number"),
             (lambda: t.array("v", (3,), "[1, 2, 3]"), "f.toml: [tab] v: expected a list of 3 numbers"),
             (lambda: t.table("s"), "f.toml: [tab] s: expected a table"),
             (lambda: t.table("sub", {"j"}), "f.toml: [tab.sub] k: unknown key; [tab.sub] accepts j")]
    for call, message in cases:
        with pytest.raises(MyError) as exc:
            call()
        assert str(exc.value).startswith(message), str(exc.value)
    with pytest.raises(MyError, match=r"f.toml: \[tab\] zz: unknown key; \[tab\] accepts a, b"):
        Table({"a": 1, "zz": 2}, "tab", "f.toml", {"a", "b"}, MyError)
    with pytest.raises(TomlError, match="^f.toml: zz: unknown key; the spec accepts a$"):  # the top level
        Table({"zz": 2}, "", "f.toml", {"a"}, what="spec")


def test_numeric_array():
    assert numeric_array([[1, 2], [3, 4]]).shape == (2, 2)
    assert numeric_array([1, True]) is None and numeric_array([[1], [2, 3]]) is None and numeric_array("x") is None


def test_load_and_loads(tmp_path):
    (tmp_path / "a.toml").write_text("x = 1\n[t]\ny = 'z'\n")
    data, text = load(tmp_path / "a.toml", "thing", MyError)
    assert data == {"x": 1, "t": {"y": "z"}} and text.startswith("x = 1")
    with pytest.raises(MyError, match="thing not found"):
        load(tmp_path / "none.toml", "thing", MyError)
    with pytest.raises(MyError, match="^s.toml: not valid TOML"):
        loads("x = ", "s.toml", MyError)


def test_python_310_without_a_toml_parser(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "tomllib", None)
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(MyError, match=r"Python >= 3.11.*pip install tomli"):
        load(tmp_path / "whatever.toml", error=MyError)
    with pytest.raises(TomlError, match="pip install tomli"):
        loads("x = 1")
