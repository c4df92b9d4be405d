"""GANs as the flow's ODE (Section 3 of Huang & Zhang 2023): the calibrator and the navigators.

Modules, one job each:

* :mod:`~fokkerplanck.gan.features`: random Fourier features and their compiled kernels;
* :mod:`~fokkerplanck.gan.calibrator`: the calibrator (discriminator, eq. 20-21) and the velocity
  field it gives (eq. 20/22), used by ``fp.particles.simulate(velocity="discriminator")``;
* :mod:`~fokkerplanck.gan.generators`: the generator and the fitting step (eq. 23, point-wise or
  set-wise, Section 3.3; Proposition 8);
* :mod:`~fokkerplanck.gan.navigators`: Algorithm 1, parametric and nonparametric.

The public names of all four are re-exported here. The neural calibrator and generator
(:mod:`~fokkerplanck.gan.neural`, JAX + optax, extra ``gan``) are exported lazily: their names
resolve on first access, so ``import fokkerplanck.gan`` works without JAX.
"""

from .calibrator import CalibratedVelocity, Calibrator, discriminator_velocity, scott_bandwidth
from .features import RandomFourierFeatures
from .generators import RandomFeatureGenerator, fit_generator, generator_loss, match
from .navigators import NonparametricNavigator, ParametricNavigator

__all__ = ["RandomFourierFeatures", "Calibrator", "CalibratedVelocity", "discriminator_velocity", "scott_bandwidth",
           "RandomFeatureGenerator", "fit_generator", "match", "generator_loss",
           "ParametricNavigator", "NonparametricNavigator",
           "NeuralCalibrator", "MLPGenerator", "AlternatingGAN", "neural_discriminator_velocity",
           "mse_gradient", "gan_generator_gradient"]

_NEURAL = ("NeuralCalibrator", "MLPGenerator", "AlternatingGAN", "neural_discriminator_velocity",
           "mse_gradient", "gan_generator_gradient")


def __getattr__(name):  # lazy: fokkerplanck.gan.neural imports JAX
    if name in _NEURAL:
        from . import neural

        return getattr(neural, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
