"""Module names that moved, kept importable.

``fokkerplanck.theory`` (the analysis layer, :mod:`fokkerplanck.analysis`) and
``fokkerplanck.compare`` (:mod:`fokkerplanck.analysis.distances`) are public names that stay;
``fokkerplanck.particles.sampling`` is :mod:`fokkerplanck.flow.sampling`. The modules of the
numerics core moved into :mod:`fokkerplanck.flow` (``fokkerplanck.solver`` is now
``fokkerplanck.flow.solve``, ...): importing an old name gives the new module and a
DeprecationWarning naming it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings

__all__ = ["ALIASES", "install"]

#: old module name -> (new module name, deprecated?)
ALIASES = {
    "fokkerplanck.theory": ("fokkerplanck.analysis", False),
    "fokkerplanck.compare": ("fokkerplanck.analysis.distances", False),
    "fokkerplanck.particles.sampling": ("fokkerplanck.flow.sampling", False),
    "fokkerplanck.grid": ("fokkerplanck.flow.grid", True),
    "fokkerplanck.densities": ("fokkerplanck.flow.densities", True),
    "fokkerplanck.divergences": ("fokkerplanck.flow.divergences", True),
    "fokkerplanck.operators": ("fokkerplanck.flow.operators", True),
    "fokkerplanck.problem": ("fokkerplanck.flow.problem", True),
    "fokkerplanck.resolvent": ("fokkerplanck.flow.resolvent", True),
    "fokkerplanck.multigrid": ("fokkerplanck.flow.linear.multigrid", True),
    "fokkerplanck.solver": ("fokkerplanck.flow.solve", True),
    "fokkerplanck.solution": ("fokkerplanck.flow.solution", True),
    "fokkerplanck.diagnostics": ("fokkerplanck.flow.diagnostics", True),
    "fokkerplanck.trackers": ("fokkerplanck.flow.trackers", True),
}


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        if fullname not in ALIASES:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=False)

    def create_module(self, spec):
        new, deprecated = ALIASES[spec.name]
        if deprecated:
            warnings.warn(f"{spec.name} moved to {new}; import it from there (the old name will be removed).",
                          DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        self._spec = getattr(module, "__spec__", None)
        return module

    def exec_module(self, module):
        # the import system set the alias's spec on the module: give it back its own
        if getattr(self, "_spec", None) is not None:
            module.__spec__ = self._spec


def install() -> None:
    """Put the alias finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, _Alias) for f in sys.meta_path):
        sys.meta_path.append(_Alias())
