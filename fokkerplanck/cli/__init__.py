"""The command line (``fokkerplanck`` / ``python -m fokkerplanck``)."""

from .commands import *  # noqa: F401,F403
from .commands import __all__  # noqa: F401
