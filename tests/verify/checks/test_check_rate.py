"""The long-time rate check: the prediction is the scheme's discrete rate; the pass band."""

import dataclasses
import math

import pytest

from fokkerplanck.flow.stepping import SCHEMES, BackwardEuler, register as register_scheme
from fokkerplanck.verify.checks import Results
from fokkerplanck.verify.checks.rate import LongTimeRate
from fokkerplanck.verify.rates import diagnose
from fokkerplanck.verify.runs import Run


class _ExactRate(BackwardEuler):
    """Backward Euler's steps, but claiming the continuous rate for the discrete flow."""

    name = "test_exact_rate"
    aliases = ()

    @classmethod
    def discrete_rate(cls, rate, h):
        return rate


def test_the_prediction_is_the_scheme_discrete_rate(ou_spec):
    row = LongTimeRate.run_case(Run(ou_spec, "long"))
    r, h = row["predicted_continuous"], row["h"]
    assert r == pytest.approx(1.0, rel=0.02) and row["predicted"] == pytest.approx(math.log1p(h * r) / h, rel=1e-14)
    assert row["reached"] and row["measured"] == pytest.approx(row["predicted"], rel=0.01)
    with SCHEMES.restored():
        register_scheme(_ExactRate)
        spec = dataclasses.replace(ou_spec, solve_options={**ou_spec.solve_options, "scheme": _ExactRate.name})
        claimed = LongTimeRate.run_case(Run(spec, "long"))
    assert claimed["predicted"] == claimed["predicted_continuous"] == r
    assert claimed["measured"] == pytest.approx(row["measured"], rel=1e-12)    # the same steps were made


def test_diagnose_uses_the_scheme():
    sig = dict(lam1=1.0, lam2=math.nan, phi1=1.0, h=0.5, t_end=2.0, n_steps=4, max_steps=4, l1_0=1.0, l1_end=0.1,
               rate_end=math.nan, rate_before_end=math.nan, rate_early=math.nan, beta=1.0, initial_mass_high_v=0.0,
               target_mass_outside=0.0, algebraic=None, mode_share_end=0.0, mode_excess_end=0.0, mode_rho_mass=0.5)
    euler = diagnose(sig)
    assert [r["code"] for r in euler] == ["step_budget"]
    rate = math.log1p(0.5) / 0.5
    assert f"{2 * rate:.3g} e-folds at the predicted rate {rate:.4g}," in euler[0]["text"]
    with SCHEMES.restored():
        register_scheme(_ExactRate)
        assert "2 e-folds at the predicted rate 1," in diagnose(sig, scheme=_ExactRate.name)[0]["text"]


def _long(**kw):
    return dict(dict(kind="long", level=0, predicted=1.0, predicted_continuous=1.01, lam1=1.01, h=0.05, t_end=30.0,
                     measured=1.005, stderr=1e-6, window=[10.0, 20.0], reached=True, reason="", reasons=[],
                     reason_codes=[], signals={}, measured_first_half=1.005, measured_second_half=1.005), **kw)


def test_pass_band_and_not_reached(ou_spec):
    ok = LongTimeRate.aggregate(Results(ou_spec, 4, [_long()]))
    assert ok["passed"] and ok["tolerance"] == pytest.approx(3e-6 + 0.01)
    miss = LongTimeRate.aggregate(Results(ou_spec, 4, [_long(measured=1.02, reasons=["a slow mode"])]))
    assert not miss["passed"] and miss["reason"].endswith("seen in the run: a slow mode")
    assert LongTimeRate.notes(miss) == ["long-time rate: " + miss["reason"]]
    never = LongTimeRate.aggregate(Results(ou_spec, 4, [_long(reached=False, reason="too short",
                                                              reason_codes=["step_budget"])]))
    # not reached: neither a failure nor a pass (issue 19: exit 0 only when every check passed)
    assert not never["passed"] and never["status"] == "inconclusive" and math.isnan(never["tolerance"])
    assert LongTimeRate.status(never) == "inconclusive" and never["settle"]
    assert LongTimeRate.table_rows(never) == [("long-time L1 rate (1/time)", "not reached (step budget)", "1", "inconclusive")]
    assert LongTimeRate.notes(never)[0].startswith("long-time rate inconclusive, the regime is not reached: too short")
