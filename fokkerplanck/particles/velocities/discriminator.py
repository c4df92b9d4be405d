r"""The GAN discriminator's velocity (``"discriminator"``, Section 3.1 of the paper, eq. 20-23).

``b`` from a classifier trained on samples ``data`` of :math:`\rho_d` against the particles,
refitted at every evaluation (:func:`fokkerplanck.gan.discriminator_velocity`, or
:func:`fokkerplanck.gan.neural_discriminator_velocity` with ``calibrator="neural"``).
"""

from __future__ import annotations

from ... import _validation as _v
from ... import gan as _gan
from ...flow.divergences import get_divergence
from .base import Choice, FlowArguments, Option, VelocityField, register

__all__ = ["DiscriminatorVelocity"]


@register
class DiscriminatorVelocity(VelocityField):
    r"""The velocity :math:`b = \nabla\hat D/(2(1 - \hat D))` of a calibrated discriminator (eq. 20-23).

    A thin wrapper of the calibrator's function in :mod:`fokkerplanck.gan` (looked up there when the
    field is built): the calibrator is refitted on ``data`` (samples of :math:`\rho_d`) against the
    particles at every evaluation.

    Parameters
    ----------
    data : array_like, shape (m, d)
        Samples of :math:`\rho_d`.
    seed : int, Generator or None
        Seed of the calibrator's random features (or of the neural calibrator's weights).
    **options
        ``calibrator`` (below); the others are passed to the chosen function, which checks them.
    """

    name = "discriminator"
    options = (Option("calibrator", Choice("features", "neural"), "features",
                      "features: logistic regression on random Fourier features (fokkerplanck.gan."
                      "discriminator_velocity); neural: an MLP trained by Adam, warm-started (needs the extra gan)."),)
    other_options = "the calibrator's function in fokkerplanck.gan, which checks them"
    needs = {"data": "data=<samples of rho_d, shape (m, d)>: the discriminator is trained on them against the "
                     "particles"}

    def __init__(self, data, seed=None, **options):
        options = self.check_options(options)
        if options.pop("calibrator") == "neural":
            make = _gan.neural_discriminator_velocity
        else:
            make = _gan.discriminator_velocity
        field = make(data=data, seed=seed, **options)
        if not callable(field):
            raise ValueError("fokkerplanck.gan did not return a callable field(t, x).")
        self.field = field

    def __call__(self, t, x):
        return self.field(t, x)

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``data`` must be finite samples of the flow's dimension; divergence default ``"jsd"``."""
        super().check(args)
        data = _v.as_samples(args.data, "data")
        if args.d is not None and data.shape[1] != args.d:
            raise ValueError(f"data are {data.shape[1]}-dimensional but the target is {args.d}-dimensional.")
        args.data, args.d = data, data.shape[1]
        args.divergence = get_divergence(args.divergence or "jsd").name

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "DiscriminatorVelocity":
        return cls(args.data, seed=args.seed, **args.options)
