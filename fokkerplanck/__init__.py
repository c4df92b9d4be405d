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

from .densities import Barenblatt, Density, Gaussian, GaussianMixture, Uniform
from .divergences import Divergence, available_divergences, get_divergence, jsd
from .grid import Grid
from .problem import Problem, setup
from .solution import ConvergenceError, Solution
from .solver import solve
from .trackers import CallbackTracker, Tracker

__version__ = "0.1.0"


def load(path):
    """The :class:`Solution` saved in a results file (see :func:`fokkerplanck.io.load`)."""
    from .io import load as _load

    return _load(path)


def save(path, solution, **kwargs):
    """Save a :class:`Solution` to an HDF5 results file (see :func:`fokkerplanck.io.save`)."""
    from .io import save as _save

    return _save(path, solution, **kwargs)

__all__ = ["Grid", "Density", "Gaussian", "GaussianMixture", "Uniform", "Barenblatt", "Divergence", "available_divergences",
           "get_divergence", "jsd", "Problem", "setup", "Solution", "ConvergenceError", "solve",
           "Tracker", "CallbackTracker", "load", "save", "__version__"]

# Submodules load on first use (``fp.particles``, ``fp.theory``, ...) and are listed by ``dir(fp)``.
_LAZY_SUBMODULES = {
    # core: the solver's layers
    "grid": "grid", "densities": "densities", "divergences": "divergences", "operators": "operators",
    "resolvent": "resolvent", "solver": "solver", "solution": "solution", "problem": "problem",
    "diagnostics": "diagnostics", "trackers": "trackers", "progress": "progress", "theory": "theory",
    "compare": "compare", "plot": "plot", "verify": "verify",
    # subpackages and edges
    "particles": "particles", "gan": "gan", "io": "io", "cli": "cli", "sweep": "sweep",
    "fipy_reference": "fipy_reference",
    # former flat modules, kept working: fp.kde, fp.sampling, fp.checkpoint
    "kde": "particles.kde", "sampling": "particles.sampling", "checkpoint": "io.checkpoint",
}


def __getattr__(name):
    if name in _LAZY_SUBMODULES:
        import importlib

        module = importlib.import_module(f".{_LAZY_SUBMODULES[name]}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'fokkerplanck' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBMODULES))
