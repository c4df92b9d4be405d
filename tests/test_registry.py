"""The registry mechanism: members found by name, and a member file dropped into a registry
package registers itself (the one-file recipe of docs/developer/registries.md)."""

from __future__ import annotations

import importlib
import sys

import pytest

from fokkerplanck._registry import Registry


def test_names_aliases_and_a_clear_error():
    reg = Registry("widget")

    class A:
        name, aliases = "alpha", ("a", "first")

    reg.add(A)
    assert reg.get("ALPHA") is A and reg.get("first") is A and "a" in reg and reg.names() == ["alpha"]
    with pytest.raises(ValueError, match="unknown widget 'beta'; choose one of 'alpha'"):
        reg.get("beta")
    with reg.restored():
        class B:
            name = "beta"
        reg.add(B)
        assert reg.names() == ["alpha", "beta"]
    assert reg.names() == ["alpha"]
    with pytest.raises(ValueError, match="non-empty string attribute 'name'"):
        reg.add(object())

    class Copy:  # a copy under a new name that kept the original's aliases must not take them over
        name, aliases = "alpha2", ("a",)

    with pytest.raises(ValueError, match="the alias 'a' of the widget 'alpha2' already names 'alpha'"):
        reg.add(Copy)
    assert reg.get("a") is A and "alpha2" not in reg


def test_a_member_file_dropped_into_the_package_registers_itself(tmp_path, monkeypatch):
    pkg = tmp_path / "mypkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(
        "from fokkerplanck._registry import Registry, import_members\n"
        "THINGS = Registry('thing')\n"
        "import_members(__name__, __path__)\n")
    (pkg / "_private.py").write_text("raise RuntimeError('private modules are not imported')\n")
    (pkg / "newmember.py").write_text(
        "from . import THINGS\n"
        "@THINGS.add\n"
        "class New:\n"
        "    name = 'new'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        mod = importlib.import_module("mypkg")
        assert mod.THINGS.names() == ["new"]
    finally:
        for name in [n for n in sys.modules if n == "mypkg" or n.startswith("mypkg.")]:
            del sys.modules[name]


def test_the_packages_registries_hold_their_members():
    import fokkerplanck as fp
    from fokkerplanck.flow.linear import LINEAR_SOLVERS
    from fokkerplanck.flow.stepping import SCHEMES

    assert set(fp.available_divergences()) >= {"jsd", "kl", "chi2", "hellinger"}
    assert set(LINEAR_SOLVERS.names()) == {"banded", "direct", "amg", "multigrid"}
    assert set(SCHEMES.names()) == {"euler", "bdf2"}
