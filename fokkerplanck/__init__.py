"""fokkerplanck: numerics for "GANs as Gradient Flows that Converge" (Huang & Zhang, JMLR 2023).

A density u(t) flows toward a data density rho_d along the gradient flow of the Jensen-Shannon
divergence. This package solves that nonlinear Fokker-Planck equation on grids in 1-3 dimensions
with implicit (Crandall-Liggett) time steps.

>>> import fokkerplanck as fp
>>> grid = fp.Grid(lower=[-8.0], upper=[8.0], shape=[2000])
>>> target = fp.Gaussian(mean=[0.0], cov=[[1.0]])
>>> initial = fp.GaussianMixture([0.5, 0.5], [[-1.0], [2.0]], [[[0.3]], [[0.5]]])
>>> sol = fp.solve(target, initial, grid, t_final=5.0, dt=1e-2)
"""

import importlib

from . import _compat
from .flow.densities import Barenblatt, Density, Gaussian, GaussianMixture, Uniform
from .flow.divergences import Divergence, available_divergences, get_divergence, jsd
from .flow.grid import Grid
from .flow.grid_density import GridDensity
from .flow.problem import Problem, setup
from .flow.solution import ConvergenceError, Solution
from .flow.solve import solve
from .flow.trackers import CallbackTracker, Tracker

from ._version import __version__

_compat.install()


def load(path):
    """The :class:`Solution` saved in a results file (see :func:`fokkerplanck.io.load`)."""
    from .io import load as _load

    return _load(path)


def save(path, solution, **kwargs):
    """Save a :class:`Solution` to an HDF5 results file (see :func:`fokkerplanck.io.save`)."""
    from .io import save as _save

    return _save(path, solution, **kwargs)

__all__ = ["Grid", "GridDensity", "Density", "Gaussian", "GaussianMixture", "Uniform", "Barenblatt", "Divergence", "available_divergences",
           "get_divergence", "jsd", "Problem", "setup", "Solution", "ConvergenceError", "solve",
           "Tracker", "CallbackTracker", "load", "save", "__version__"]

# Submodules load on first use (``fp.particles``, ``fp.theory``, ...) and are listed by ``dir(fp)``.
_LAZY_SUBMODULES = {
    # the layers
    "flow": "flow", "analysis": "analysis", "particles": "particles", "gan": "gan", "io": "io",
    "sweep": "sweep", "verify": "verify", "plot": "plot", "cli": "cli", "progress": "progress",
    "fipy_reference": "fipy_reference",
    # public names of the analysis layer: fp.theory (the whole layer) and fp.compare (distances)
    "theory": "analysis", "compare": "analysis.distances",
    # the numerics core's modules, by their former flat names
    "grid": "flow.grid", "densities": "flow.densities", "divergences": "flow.divergences",
    "operators": "flow.operators", "resolvent": "flow.resolvent", "solver": "flow.solve",
    "solution": "flow.solution", "problem": "flow.problem", "diagnostics": "flow.diagnostics",
    "trackers": "flow.trackers",
    # former flat modules, kept working: fp.kde, fp.sampling, fp.checkpoint
    "kde": "particles.kde", "sampling": "flow.sampling", "checkpoint": "io.checkpoint",
}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        module = importlib.import_module(f".{_LAZY_SUBMODULES[name]}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fokkerplanck' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
