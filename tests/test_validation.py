"""The shared argument checks (fokkerplanck._validation) and the timeline helper."""

import numpy as np
import pytest

from fokkerplanck import _validation as v
from fokkerplanck._timeline import milestones


@pytest.mark.parametrize("value", [0.5, 3, np.float32(2.0), np.int64(7)])
def test_positive_number_accepts_real_numbers(value):
    assert v.positive_number("dt", value) == float(value)


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf"), True, "1", None, 1j])
def test_positive_number_refuses_and_names_the_argument(value):
    with pytest.raises(ValueError, match=r"^dt must be a finite number > 0, got"):
        v.positive_number("dt", value)


def test_positive_number_allow_zero():
    assert v.positive_number("t_final", 0, allow_zero=True) == 0.0
    with pytest.raises(ValueError, match=">= 0"):
        v.positive_number("t_final", -1e-300, allow_zero=True)


@pytest.mark.parametrize("value", [0, -3, 2.0, True, "4"])
def test_positive_int_refuses_non_integers(value):
    with pytest.raises(ValueError, match="n_iter must be a positive integer"):
        v.positive_int("n_iter", value)
    assert v.positive_int("n_iter", np.int32(4)) == 4


def test_as_samples_shapes_and_messages():
    assert v.as_samples([1.0, 2.0, 3.0]).shape == (3, 1)
    assert v.as_samples(np.zeros((4, 2)), d=2).shape == (4, 2)
    with pytest.raises(ValueError, match="dimension 2 but 3 is expected"):
        v.as_samples(np.zeros((4, 2)), "data", d=3)
    with pytest.raises(ValueError, match="non-finite"):
        v.as_samples([0.0, np.nan])
    with pytest.raises(ValueError, match="shape"):
        v.as_samples(np.zeros((0, 2)))
    with pytest.raises(ValueError, match="real"):
        v.as_samples(np.array([1 + 1j]))
    with pytest.raises(ValueError, match="d in 1..3"):
        v.as_samples(np.zeros((5, 4)), max_dim=3)


def test_times_checks_order_range_and_shape():
    assert v.times(None, 2.0).tolist() == [0.0, 2.0]
    assert v.times(None, 0.0).tolist() == [0.0]
    assert v.times([0, 1, 2], 2.0).tolist() == [0.0, 1.0, 2.0]
    for bad, msg in (([1.0, 0.5], "strictly increasing"), ([0.0, 3.0], r"lie in \[0, t_final\]"),
                     ([], "non-empty"), ([[0.0, 1.0]], "flat sequence"), ("steps", "real times")):
        with pytest.raises(ValueError, match=msg):
            v.times(bad, 2.0)


def test_choice_and_seed():
    assert v.choice("method", "RK4", ("euler", "rk4")) == "rk4"
    assert v.choice("sampling", "qmc", ("iid", "sobol"), aliases={"qmc": "sobol"}) == "sobol"
    with pytest.raises(ValueError, match="unknown method 'rk5'"):
        v.choice("method", "rk5", ("euler", "rk4"))
    a, b = v.seed_rng(3).random(3), v.seed_rng(3).random(3)
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="seed must be None"):
        v.seed_rng(-1)


def test_milestones_land_on_the_step_lattice_and_save_times():
    # fixed dt = 0.1 to t = 0.3: 0.1, 0.2, 0.3 once each (3 * 0.1 != 0.3 in floating point)
    assert np.allclose(milestones(0.3, 0.1), [0.1, 0.2, 0.3])
    assert milestones(0.3, 0.1).size == 3
    # save times off the lattice are extra marks; t = 0 is never a step
    assert np.allclose(milestones(1.0, 0.5, [0.0, 0.25, 1.0]), [0.25, 0.5, 1.0])
    # adaptive: only the save times and t_final
    assert np.allclose(milestones(2.0, None, [0.0, 1.0]), [1.0, 2.0])
    assert milestones(0.0, 0.1).size == 0
