r"""Lemma 24 of the paper on the long run (:mod:`~.rate`'s case): the measured integral
:math:`\sum_i h_i\|\nabla z_i\|^2` against the bounds of :func:`fokkerplanck.analysis.bounds.lemma24`.

Passes when the integral lies below the energy bound :math:`(\|v_0\|^2-\|v_T\|^2)/(2c)` and the
paper's :math:`\beta^2/(2c)` (each with a relative round-off allowance of 1e-9). When
:math:`c = \min_{[0,\beta]}\Phi' = 0` (chi^2: degenerate diffusion) the bounds are infinite and
there is nothing to check.
"""

from __future__ import annotations

import math

from ...analysis.bounds import gradient_integral, lemma24
from .base import Check, fmt, register

__all__ = ["Lemma24"]

#: Relative round-off allowance of the bounds.
ROUND_OFF = 1e-9


@register
class Lemma24(Check):
    """Lemma 24 measured on the ``long`` case's run (module docstring)."""

    name = "lemma24"
    position = 50.0
    measures = ("long",)
    section = "Lemma 24"

    @classmethod
    def measure(cls, run) -> dict:
        sol = run.solution
        try:
            lem = lemma24(sol)
            note = ""
        except ZeroDivisionError:
            # c = min Phi' over [0, beta] is 0 (chi^2: Phi'(0) = 0, degenerate diffusion): the
            # lemma's bounds are infinite, there is nothing to check
            lem = dict(measured=gradient_integral(sol.history["t"], sol.history["grad_v_norm2"]),
                       energy_bound=math.inf, mass_bound=math.inf, paper_bound=math.inf, beta=float(sol.beta))
            note = "not applicable: c = min Phi' on [0, beta] = 0 (degenerate diffusion), the bounds are infinite"
        return dict(lemma24_note=note, lemma24_measured=lem["measured"], lemma24_energy_bound=lem["energy_bound"],
                    lemma24_mass_bound=lem["mass_bound"], lemma24_paper_bound=lem["paper_bound"], beta=lem["beta"])

    @classmethod
    def aggregate(cls, results) -> dict:
        long = results.row(cls.measures[0])
        lemma = dict(measured=long["lemma24_measured"], energy_bound=long["lemma24_energy_bound"],
                     mass_bound=long["lemma24_mass_bound"], paper_bound=long["lemma24_paper_bound"], beta=long["beta"],
                     note=long.get("lemma24_note", ""))
        lemma["passed"] = bool(lemma["measured"] <= lemma["energy_bound"] * (1 + ROUND_OFF)
                               and lemma["measured"] <= lemma["paper_bound"] * (1 + ROUND_OFF))
        return lemma

    @classmethod
    def table_rows(cls, lem) -> list:
        bound = ("not applicable (c = 0)" if lem.get("note") else
                 f"<= {fmt(lem['energy_bound'])} <= {fmt(lem['paper_bound'])}")
        return [("Lemma 24 integral of |grad v|^2 dt", fmt(lem["measured"]), bound, lem["passed"])]

    @classmethod
    def html(cls, lem, report) -> str:
        return f"""<p>integral {fmt(lem['measured'])}; bounds (||v0||^2 - ||vT||^2)/(2c) =
{fmt(lem['energy_bound'])}, beta/(2c) = {fmt(lem['mass_bound'])}, paper's beta^2/(2c) =
{fmt(lem['paper_bound'])} (beta = {fmt(lem['beta'])}).</p>"""
