"""The sweep spec (:mod:`fokkerplanck.sweep.spec`): case keys, expanding the grids, clear errors; no cluster."""

import pytest

import fokkerplanck.sweep
from fokkerplanck.sweep import execute, spec, table
from fokkerplanck.sweep.spec import SweepSpecError, case_key, expand_cases, load_spec


@pytest.fixture
def study_dir(tmp_path):
    (tmp_path / "study.py").write_text("def gap(variance, n, log):\n    return {}\n")
    return tmp_path


def test_case_key_and_expansion():
    k1 = case_key("/a/study.py:f", {"a": 1, "b": 2.0})
    assert k1 == case_key("/elsewhere/study.py:f", {"b": 2.0, "a": 1})  # order and directory free
    assert k1 != case_key("/a/study.py:f", {"a": 1, "b": 2.5})
    assert k1 != case_key("/a/study.py:g", {"a": 1, "b": 2.0})
    cases, names = expand_cases({"c": 0}, [{"a": [1, 2], "b": ["x"]}, {"a": [3], "b": ["x", "y"]},
                                           {"a": [1], "b": ["x"]}])
    assert names == ["c", "a", "b"]
    assert len(cases) == 2 + 2  # the last grid repeats a case
    assert cases[0] == {"c": 0, "a": 1, "b": "x"}


def test_spec_errors_are_clear(study_dir):
    base = {"name": "s", "study": f"{(study_dir / 'study.py').as_posix()}:gap"}
    with pytest.raises(SweepSpecError, match="paramters: unknown key; the sweep spec accepts"):
        load_spec({**base, "paramters": {"a": [1]}})
    with pytest.raises(ValueError, match="non-empty list"):
        load_spec({**base, "parameters": {"a": []}})
    with pytest.raises(ValueError, match="both fixed and varied"):
        load_spec({**base, "fixed": {"a": 1}, "parameters": {"a": [1, 2]}})
    with pytest.raises(ValueError, match="no function 'nope'"):
        load_spec({**base, "study": f"{(study_dir / 'study.py').as_posix()}:nope"})
    with pytest.raises(ValueError, match="needs study"):
        load_spec({"name": "s"})
    with pytest.raises(ValueError, match="sweep spec not found"):
        load_spec(str(study_dir / "missing.toml"))
    bad = study_dir / "bad.toml"
    bad.write_text("name = [unclosed")
    with pytest.raises(ValueError, match="bad.toml: not valid TOML"):
        load_spec(bad)
    bad.write_text(f'study = "{base["study"]}"\nname = "a/b"\n')
    with pytest.raises(SweepSpecError, match="bad.toml: name: must be a non-empty string without slashes"):
        load_spec(bad)
    assert issubclass(SweepSpecError, ValueError)


def test_the_package_exports_the_names_of_its_modules():
    # ``from fokkerplanck.sweep import run_sweep, SweepAborted, ...`` as before the package was split
    homes = {name: module for module in (spec, table, execute) for name in module.__all__}
    assert sorted(homes) == sorted(fokkerplanck.sweep.__all__)
    for name, module in homes.items():
        assert getattr(fokkerplanck.sweep, name) is getattr(module, name), name
