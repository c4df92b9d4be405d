"""fokkerplanck.particles.velocities.discriminator: the GAN calibrator's velocity (the hook into fokkerplanck.gan)."""

import numpy as np
import pytest
from particles_cases import INITIAL_1D, TARGET_1D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.particles import velocities


def test_discriminator_velocity_is_looked_up_when_the_field_is_built(monkeypatch):
    # the field calls the function it finds in fokkerplanck.gan when it is built (so it can be replaced)
    calls = {}

    def discriminator_velocity(data, seed=None, **options):
        calls.update(data=data, seed=seed, options=options)
        return lambda t, x: -x

    monkeypatch.setattr(fp.gan, "discriminator_velocity", discriminator_velocity)
    data = np.zeros((10, 1))
    ens = particles.simulate(None, INITIAL_1D, 1.0, n=100, velocity="discriminator", data=data, seed=3, dt=0.01,
                             velocity_options=dict(epochs=2))
    assert calls["seed"] == 3 and calls["options"] == {"epochs": 2} and calls["data"].shape == (10, 1)
    np.testing.assert_allclose(ens.final, ens.positions[0] * np.exp(-1.0), rtol=1e-8)
    assert ens.velocity == "discriminator"


def test_calibrator_is_the_declared_option_and_the_others_go_to_the_gan(monkeypatch):
    chosen = []
    monkeypatch.setattr(fp.gan, "discriminator_velocity", lambda data, seed=None, **o: chosen.append(("f", o)) or abs)
    field = velocities.DiscriminatorVelocity(np.zeros((4, 1)), n_features=8)
    assert chosen == [("f", {"n_features": 8})] and field.field is abs
    assert velocities.DiscriminatorVelocity.option("calibrator").default == "features"
    with pytest.raises(ValueError, match=r"unknown calibrator 'svm'; use one of \('features', 'neural'\)"):
        velocities.DiscriminatorVelocity(np.zeros((4, 1)), calibrator="svm")
    monkeypatch.setattr(fp.gan, "discriminator_velocity", lambda data, seed=None, **o: 3.0)
    with pytest.raises(ValueError, match="did not return a callable"):
        velocities.DiscriminatorVelocity(np.zeros((4, 1)))


def test_discriminator_needs_data_of_the_flows_dimension():
    with pytest.raises(ValueError, match=r"velocity='discriminator' needs data=<samples of rho_d"):
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=10, velocity="discriminator")
    with pytest.raises(ValueError, match="data are 2-dimensional but the target is 1-dimensional"):
        particles.simulate(TARGET_1D, INITIAL_1D, 1.0, n=10, velocity="discriminator", data=np.zeros((5, 2)))
