"""The checks of ``fokkerplanck verify``, one file each, found by name in
:data:`~fokkerplanck.verify.checks.base.CHECKS`.

- :mod:`~fokkerplanck.verify.checks.base`: what a check declares (its cases, its aggregation and
  pass rule, its report row, section and figure) and the registry;
- :mod:`~fokkerplanck.verify.checks.space_order`, :mod:`~fokkerplanck.verify.checks.time_order`:
  the orders of convergence (sharing the refinement ladder of
  :mod:`~fokkerplanck.verify.checks.orders`);
- :mod:`~fokkerplanck.verify.checks.invariants`: mass, positivity, the maximum principle, the
  energy, the energy-dissipation inequality and the L1 contraction at every step;
- :mod:`~fokkerplanck.verify.checks.rate`: the long-time rate against the prediction;
- :mod:`~fokkerplanck.verify.checks.lemma24`: Lemma 24 on the long run;
- :mod:`~fokkerplanck.verify.checks.superposition`: grid-driven particles against the grid density.

Every module of this folder is imported here, so a check registers itself by being a file in it:
adding one is one file (docs/developer/verify_checks.md). The report lists them in their
``position`` order (:func:`~fokkerplanck.verify.checks.base.ordered`).
"""

from __future__ import annotations

import importlib
import pkgutil

from .base import CHECKS, Case, Check, Results, entry_of, ordered, owner, register

__all__ = ["CHECKS", "Check", "Case", "Results", "register", "ordered", "owner", "entry_of"]

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_"):
        importlib.import_module(f"{__name__}.{_module.name}")
