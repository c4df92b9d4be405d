"""fokkerplanck.particles.velocities.base: the registry, the declarations of each field (options,
needs, integrators), and a new field registered in one place that run files and the runner read."""

from pathlib import Path

import numpy as np
import pytest
from particles_cases import TARGET_1D, TARGET_2D

from fokkerplanck import particles
from fokkerplanck.cli.runner import run
from fokkerplanck.io import load_run
from fokkerplanck.io.runfile import RunFileError, loads, parse_run
from fokkerplanck.particles import velocities
from fokkerplanck.particles.velocities import VELOCITIES, Number, Option, VelocityField, register

GOOD = (Path(__file__).resolve().parents[1] / "io" / "data" / "good_run.toml").read_text()


def test_registry_names_one_class_per_field():
    assert VELOCITIES.names() == ["grid", "kde", "sde", "discriminator"]
    for cls in VELOCITIES:
        assert issubclass(cls, velocities.VelocityField) and VELOCITIES.get(cls.name) is cls
        assert cls.name in particles.VELOCITIES  # callers test membership by name
        assert "Other Parameters" in cls.__doc__  # the declared options, in the reference pages
    assert velocities.SDEDrift.stochastic and not velocities.KDEVelocity.stochastic
    assert particles.VelocityField is velocities.VelocityField
    for name in ("GridVelocity", "KDEVelocity", "SDEDrift", "DiscriminatorVelocity", "CustomVelocity", "VELOCITIES"):
        assert getattr(particles, name) is getattr(velocities, name)
    assert {cls.name: tuple(cls.needs) for cls in VELOCITIES} == dict(grid=("solution",), kde=("target",),
                                                                     sde=("target",), discriminator=("data",))
    assert velocities.SDEDrift.methods() == ("euler-maruyama",) and velocities.GridVelocity.method() == "rk4"


def test_check_fills_dimension_divergence_and_box(sol_1d):
    args = velocities.FlowArguments(target=TARGET_1D, solution=sol_1d, t_final=1.0)
    velocities.GridVelocity.check(args)
    assert (args.d, args.divergence, args.grid) == (1, sol_1d.divergence, sol_1d.grid)
    args = velocities.FlowArguments(target=TARGET_2D, divergence="KL")
    velocities.KDEVelocity.check(args)
    assert (args.d, args.divergence, args.grid) == (2, "kl", None)
    args = velocities.FlowArguments(data=np.zeros((5, 3)).tolist(), options=dict(n_features=4))
    velocities.DiscriminatorVelocity.check(args)  # options go to fokkerplanck.gan unchecked here
    assert args.d == 3 and args.data.shape == (5, 3) and args.divergence == "jsd"
    with pytest.raises(ValueError, match="data are 3-dimensional but the target is 1-dimensional"):
        velocities.DiscriminatorVelocity.check(velocities.FlowArguments(target=TARGET_1D, data=np.zeros((5, 3))))
    with pytest.raises(ValueError, match=r"unknown velocity_options \['floor'\] for velocity='kde'"):
        velocities.KDEVelocity.check(velocities.FlowArguments(target=TARGET_1D, options=dict(floor=0.0)))


def test_check_options_fills_declared_defaults_and_checks_each_value():
    got = velocities.KDEVelocity.check_options(dict(estimator="Binned", cutoff=6), d=2)
    assert got == dict(bandwidth="scott", estimator="binned", bins_per_bandwidth=4.0, cutoff=6, max_nodes=2 ** 22,
                       exact_max=2000)
    assert velocities.DiscriminatorVelocity.check_options(dict(n_features=8)) == dict(calibrator="features",
                                                                                      n_features=8)
    assert Number().expected == "a positive number" and Number(0, 1, lo_open=False).expected == "a number in [0, 1)"
    with pytest.raises(ValueError, match=r"bins_per_bandwidth must be a positive number, got inf\."):
        velocities.KDEVelocity.check_options(dict(bins_per_bandwidth=float("inf")), d=1)


class Pull(VelocityField):
    """A test field: b = -rate x (toward the origin)."""

    name = "pull"
    options = (Option("rate", Number(), 1.0, "how fast the particles move toward the origin."),)
    needs = {"target": "the target density rho_d"}
    built = []

    def __init__(self, target, **options):
        self.rate = self.check_options(options, target.ndim)["rate"]
        Pull.built.append(self.rate)

    def __call__(self, t, x):
        return -self.rate * x


def test_a_velocity_registered_in_one_place_reaches_run_files_and_the_runner(tmp_path):
    text = GOOD + '\n[particles]\nn = 50\nvelocity = "pull"\nrate = 0.5\ndt = 0.05\nseed = 2\nn_snapshots = 3\n'
    with VELOCITIES.restored():
        register(Pull)
        spec = parse_run(loads(text), text=text)
        assert spec.particles == dict(n=50, velocity="pull", method="rk4", seed=2, sampling="iid", n_snapshots=3,
                                      dt=0.05, rate=0.5)
        Pull.built.clear()
        run(spec, out_dir=tmp_path, quiet=True, figures=False)
        assert Pull.built and set(Pull.built) == {0.5}  # the field was built with the run file's option
        ens = load_run(tmp_path / "run.h5").particles
        assert ens.velocity == "pull" and ens.options["velocity_options"] == {"rate": 0.5}
        np.testing.assert_allclose(ens.final, ens.positions[0] * np.exp(-0.5), rtol=1e-6)  # rk4, dt = 0.05
        # errors name the file, the table and the key, in one line
        for change, message in [(("rate = 0.5", "rate = -1"), "[particles] rate: expected a positive number, got -1"),
                                (('velocity = "pull"', 'velocity = "kde"'),
                                 '[particles] rate: only used with velocity = "pull"'),
                                (("rate = 0.5", "rate = 0.5\nbandwidth = 0.3"),
                                 '[particles] bandwidth: only used with velocity = "kde" or "sde"')]:
            with pytest.raises(RunFileError) as exc:
                parse_run(loads(text.replace(*change)), text=text, source="run.toml")
            assert str(exc.value) == "run.toml: " + message
    assert "pull" not in VELOCITIES
    with pytest.raises(RunFileError, match=r"^run.toml: \[particles\] rate: unknown key; \[particles\] accepts "):
        parse_run(loads(text), text=text, source="run.toml")


def test_run_files_offer_the_velocities_that_need_nothing_a_run_does_not_give():
    text = GOOD + '\n[particles]\nn = 50\nvelocity = "discriminator"\n'
    with pytest.raises(RunFileError) as exc:
        parse_run(loads(text), text=text, source="run.toml")
    assert str(exc.value) == ("run.toml: [particles] velocity: expected one of 'grid', 'kde', 'sde', got "
                              "'discriminator'")
    spec = parse_run(loads(text.replace("discriminator", "kde") + 'estimator = "Exact"\n'), text=text)
    assert spec.particles["estimator"] == "exact"
    with pytest.raises(RunFileError, match=r'\[particles\] floor: only used with velocity = "grid"'):
        parse_run(loads(text.replace("discriminator", "sde") + "floor = 0.1\n"), text=text)
    with pytest.raises(RunFileError) as exc:  # before the grid solve: the field has no form for the divergence
        parse_run(loads(text.replace("discriminator", "sde").replace("t_final", 'divergence = "chi2"\nt_final')),
                  text=text, source="run.toml")
    assert str(exc.value).startswith("run.toml: [particles] velocity: velocity='sde' has no SDE form for 'chi2': ")
