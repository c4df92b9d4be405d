"""GANs as the flow's ODE (Section 3 of the paper): the calibrator (discriminator) and the navigators."""

from .calibrator import *  # noqa: F401,F403
from .calibrator import __all__  # noqa: F401
