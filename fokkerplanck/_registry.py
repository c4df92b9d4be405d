"""The one registry mechanism of the package: members found by name.

Every place where the package varies (divergences, linear solvers, time-stepping schemes,
particle velocities, verify checks) keeps a :class:`Registry`. A member registers itself where it
is defined, with ``REGISTRY.add(member)`` (usable as a class decorator); the member carries every
fact about itself (its name, aliases, options, rules), so that nothing else in the package keeps a
list or an if-chain about it. Adding a member is one new file that registers itself
(docs/developer/registries.md).
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil

__all__ = ["Registry", "import_members"]


def import_members(package: str, path) -> list[str]:
    """Import every public module of a registry package (``package``, its ``__path__``), so that a
    member file dropped into the folder registers itself with no other edit; returns their names."""
    names = [info.name for info in pkgutil.iter_modules(path) if not info.name.startswith("_")]
    for name in names:
        importlib.import_module(f"{package}.{name}")
    return names


class Registry:
    """Members of one kind, by name (case-insensitive), in the order they were added.

    A member needs a ``name`` attribute (str) and may have ``aliases`` (a tuple of str).
    """

    def __init__(self, kind: str):
        self.kind = kind
        self._members: dict[str, object] = {}   # primary name -> member
        self._keys: dict[str, str] = {}          # any spelling (lower case) -> primary name

    def add(self, member, *aliases: str):
        """Register ``member`` under its ``name``, its ``aliases`` and ``aliases``; returns it."""
        name = getattr(member, "name", None)
        if not isinstance(name, str) or not name:
            raise ValueError(f"a {self.kind} needs a non-empty string attribute 'name', got {name!r}.")
        for key in (*getattr(member, "aliases", ()), *aliases):
            owner = self._keys.get(key.lower())
            if owner is not None and owner != name:
                raise ValueError(f"the alias {key!r} of the {self.kind} {name!r} already names {owner!r}; give it "
                                 "its own aliases (a copy made with dataclasses.replace keeps the original's: "
                                 "pass aliases=()).")
        self._members[name] = member
        for key in (name, *getattr(member, "aliases", ()), *aliases):
            self._keys[key.lower()] = name
        return member

    def names(self) -> list[str]:
        """Primary names, in registration order."""
        return list(self._members)

    def members(self) -> list:
        return list(self._members.values())

    def spellings(self) -> list[str]:
        """Every name and alias this registry accepts (lower case)."""
        return sorted(self._keys)

    def __contains__(self, name) -> bool:
        return isinstance(name, str) and name.lower() in self._keys

    def __iter__(self):
        return iter(self._members.values())

    def get(self, name, *, what: str | None = None, extra: str = ""):
        """The member called ``name`` (or an alias); a ValueError listing the names otherwise."""
        if name in self:
            return self._members[self._keys[name.lower()]]
        choices = ", ".join(repr(n) for n in self._members)
        raise ValueError(f"unknown {what or self.kind} {name!r}; choose one of {choices}{extra}.")

    @contextlib.contextmanager
    def restored(self):
        """A ``with`` block after which the registry is as before it (members added inside are removed)."""
        members, keys = dict(self._members), dict(self._keys)
        try:
            yield self
        finally:
            self._members, self._keys = members, keys
