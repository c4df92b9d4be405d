r"""The invariants at every step of every run, with their worst values.

Backward Euler's resolvent keeps them exactly (up to the Newton tolerance): the mass (to
round-off, by the Newton rescaling), positivity, the maximum principle
:math:`\max v(t) \le \max v(0)`, a monotone energy, the energy-dissipation inequality
:math:`E^{n+1} + h D^{n+1} \le E^n` (convexity of E), and the L1 contraction between two runs,
measured between the run and one from the perturbed start :math:`0.8\rho_0 + 0.2\rho_d` (this
check's own case). The others are measured on the flow run of every case that has one.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import numpy as np

from ...flow.problem import setup
from ..runs import solve
from .base import Case, Check, fmt, register

__all__ = ["Invariants", "Invariant", "INVARIANTS", "INVARIANT_TOL", "invariants_of"]

#: Round-off allowances of the invariant checks (relative to the quantity's initial size): mass
#: is conserved to round-off by the Newton rescaling, the others hold exactly for backward Euler
#: up to the Newton tolerance (1e-13 in mass units).
INVARIANT_TOL = dict(mass=1e-10, positivity=0.0, maximum=1e-10, energy=1e-10, dissipation=1e-9, contraction=1e-10)


@dataclass(frozen=True)
class Invariant:
    """One invariant: its name in the report, the row entry it reads (worst over the rows that
    have it), what it is, its tolerance, and whether that is a lower bound (else an upper one)."""

    name: str
    entry: str
    what: str
    tolerance: float
    lower: bool = False
    unit: str = "relative"  # what the number is measured in (the report row says it)

    def worst(self, values) -> float:
        return min(values) if self.lower else max(values)

    def holds(self, worst) -> bool:
        return bool(worst >= self.tolerance) if self.lower else bool(worst <= self.tolerance)


#: The invariants, in report order.
INVARIANTS = (
    Invariant("mass", "mass_drift", "max relative drift of the mass", INVARIANT_TOL["mass"]),
    Invariant("positivity", "min_v", "min of v = u / rho_d", INVARIANT_TOL["positivity"], lower=True,
              unit="min of v = u / rho_d"),
    Invariant("maximum_principle", "max_v_excess", "max (max v(t) - max v(0)) / max v(0)", INVARIANT_TOL["maximum"]),
    Invariant("energy_monotone", "energy_increase", "max increase of the energy in one step / E(0)",
              INVARIANT_TOL["energy"]),
    Invariant("energy_dissipation", "dissipation_violation", "max (E^{n+1} + h D^{n+1} - E^n) / E(0)",
              INVARIANT_TOL["dissipation"]),
    Invariant("l1_contraction", "contraction_increase", "max increase of ||u - u'||_L1 in one step / initial distance",
              INVARIANT_TOL["contraction"]),
)


class _MinimumDensity:
    """Callback recording, at every accepted step, the smallest density value."""

    def __init__(self):
        self.min_v = math.inf

    def __call__(self, t, v, record):
        self.min_v = min(self.min_v, float(np.min(v)))


def invariants_of(sol, min_v) -> dict:
    """Worst values of the step-by-step invariants of one run (history at every step)."""
    h = sol.history
    mass = np.asarray(h["mass"])
    e = np.asarray(h["energy"])
    diss = np.asarray(h["dissipation"])
    dt = np.asarray(h["dt"])
    scale_e = max(abs(e[0]), 1e-300)
    increase = float(np.max(np.diff(e))) / scale_e if e.size > 1 else 0.0
    # E(v^n) - E(v^{n+1}) >= h D(v^{n+1}) for backward Euler (convexity of E)
    slack = (e[:-1] - e[1:]) - dt[1:] * diss[1:]
    edi = float(max(0.0, -np.min(slack))) / scale_e if slack.size else 0.0
    return dict(mass_drift=float(np.max(np.abs(mass - mass[0])) / mass[0]), min_v=float(min_v),
                max_v_excess=float(np.max(h["max_v"]) - h["max_v"][0]) / float(h["max_v"][0]),
                energy_increase=max(increase, 0.0), dissipation_violation=edi, n_steps=int(sol.n_steps))


@register
class Invariants(Check):
    """The invariants of :data:`INVARIANTS` (module docstring); owns the ``contraction`` case."""

    name = "invariants"
    position = 30.0
    cases = (Case("contraction"),)
    section = "Invariants (worst over every step of every run)"

    @classmethod
    def measures_run(cls, kind) -> bool:
        return True

    @classmethod
    def observer(cls, run):
        return _MinimumDensity()

    @classmethod
    def measure(cls, run) -> dict:
        return invariants_of(run.solution, run.observers[cls.name].min_v)

    @classmethod
    def run_case(cls, run) -> dict:
        spec = run.spec
        p = setup(spec.target, spec.initial, spec.grid, spec.divergence)
        perturbed = (0.8 * p.v0 + 0.2) * p.rho  # 0.8 rho_0 + 0.2 rho_d on the cells
        a = solve(spec, dt=run.dt, t_eval="steps")
        b = solve(spec, dt=run.dt, t_eval="steps", initial=perturbed.reshape(spec.grid.shape))
        m = spec.grid.cell_volume
        d = np.array([float(np.sum(np.abs(ua - ub))) * m for ua, ub in zip(a.u, b.u)])
        growth = float(np.max(np.diff(d))) / d[0] if d.size > 1 else 0.0
        return dict(dt=run.dt, t_final=spec.t_final, l1_start=float(d[0]), l1_end=float(d[-1]),
                    contraction_increase=max(growth, 0.0))

    @classmethod
    def aggregate(cls, results) -> dict:
        out = {}
        for inv in INVARIANTS:
            worst = inv.worst([r[inv.entry] for r in results if inv.entry in r])
            out[inv.name] = dict(worst=worst, what=inv.what, tolerance=inv.tolerance, passed=inv.holds(worst))
        return out

    @classmethod
    def passed(cls, entry) -> bool:
        return all(item["passed"] for item in entry.values())

    @classmethod
    def table_rows(cls, entry) -> list:
        bound = {inv.name: (">= " if inv.lower else "<= ") for inv in INVARIANTS}
        unit = {inv.name: inv.unit for inv in INVARIANTS}
        return [(f"{name.replace('_', ' ')} ({unit.get(name, 'relative')})", fmt(item["worst"]),
                 f"{bound.get(name, '<= ')}{fmt(item['tolerance'], 2)}", item["passed"]) for name, item in entry.items()]

    @classmethod
    def html(cls, entry, report) -> str:
        esc = html.escape
        rows = "\n".join(f"<tr><td>{esc(k)}</td><td>{esc(v['what'])}</td><td>{fmt(v['worst'])}</td></tr>"
                         for k, v in entry.items())
        return f"<table>{rows}</table>"
