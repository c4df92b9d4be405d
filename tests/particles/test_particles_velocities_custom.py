"""fokkerplanck.particles.velocities.custom: a user's field(t, x)."""

import numpy as np
import pytest

from fokkerplanck.particles import velocities


def test_custom_velocity_checks_its_output_and_is_named_after_the_function():
    def drift(t, x):
        return -x

    field = velocities.CustomVelocity(drift)
    assert field.name == "drift" and not field.stochastic and field.noise == 0.0
    x = np.ones((3, 2))
    np.testing.assert_array_equal(field(0.0, x), -x)
    with pytest.raises(ValueError, match=r"returned shape \(3,\)"):
        velocities.CustomVelocity(lambda t, x: x[:, 0])(0.0, x)
    with pytest.raises(ValueError, match="callable"):
        velocities.CustomVelocity(3.0)


def test_custom_velocity_ignores_velocity_options_and_follows_no_divergence():
    args = velocities.FlowArguments(function=lambda t, x: -x, divergence="kl", options=dict(anything=1))
    velocities.CustomVelocity.check(args)
    assert args.divergence is None
    assert "custom" not in velocities.VELOCITIES  # the driver uses it for every callable
