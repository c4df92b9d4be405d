"""Setting up a problem: densities on the grid, normalisation, checks, condition (34).

Everything that can be wrong with the input is checked here, before any numerical work.
"""

from __future__ import annotations

from dataclasses import dataclass

import warnings

import numpy as np

from .. import _threads
from . import operators
from .densities import Density
from .divergences import Divergence, get_divergence
from .grid import Grid
from .grid_density import GridDensity
from .periodic import wrapped_pdf

__all__ = ["Problem", "setup", "discretize", "MassOutsideWarning"]

#: setup() warns when more than this much mass of rho_d or rho_0 lies outside the box.
MASS_OUTSIDE_WARNING = 1e-2
#: setup() refuses a target or start with more than this much of its mass outside the box.
MASS_OUTSIDE_REFUSED = 0.5


class MassOutsideWarning(UserWarning):
    """Part of the target's or the start's mass lies outside the box (one line, with the percentage)."""


def _check_outside(role, outside, grid):
    """Refuse more than half of the ``role``'s mass outside the box; warn (one line) above 1 %."""
    box = f"the box {grid.lower.tolist()} .. {grid.upper.tolist()}"
    if outside > MASS_OUTSIDE_REFUSED:
        raise ValueError(f"{100 * outside:.1f} % of the {role}'s mass lies outside {box}; enlarge the box or move "
                         f"the {role} into it.")
    if outside > MASS_OUTSIDE_WARNING:
        warnings.warn(f"{100 * outside:.1f} % of the {role}'s mass lies outside {box}; it is restricted to the "
                      "box and renormalised there (enlarge the box if that is not intended).", MassOutsideWarning,
                      stacklevel=4)


def _where(grid: Grid, flat_index: int) -> str:
    idx = np.unravel_index(flat_index, grid.shape)
    x = tuple(round(float(grid.axes[a][i]), 6) for a, i in enumerate(idx))
    return f"cell {tuple(int(i) for i in idx)} at x = {x if grid.ndim > 1 else x[0]}"


def discretize(density, grid: Grid, role: str = "density", allow_array: bool = False) -> np.ndarray:
    """Values of ``density`` at the cell centres of ``grid``, shape ``grid.shape`` (not normalised).

    ``density`` is a :class:`~fokkerplanck.Gaussian`/:class:`~fokkerplanck.GaussianMixture` (wrapped
    on periodic axes: :mod:`fokkerplanck.flow.periodic`), a :class:`~fokkerplanck.GridDensity`, a
    callable ``f(points) -> (n,)`` taking points of shape ``(n, d)``, or (if ``allow_array``) an
    array of values on the cells with shape ``grid.shape``.
    """
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a fokkerplanck.Grid, got {type(grid).__name__}.")
    if isinstance(density, GridDensity):
        return density.on(grid, role)
    if isinstance(density, Density):
        if density.ndim != grid.ndim:
            raise ValueError(f"the {role} is {density.ndim}-dimensional but the grid is {grid.ndim}-dimensional.")
        # on periodic axes, the images are summed. One BLAS thread: the (n, d) x (d, d) products of
        # logpdf gain nothing from more, and on a busy machine their spinning threads tripled the CPU time
        with _threads.blas_limits():
            return wrapped_pdf(density, grid).reshape(grid.shape)
    if callable(density):
        values = _real_values(density(grid.points()), role)
        if values.shape not in ((grid.size,), (grid.size, 1)):
            raise ValueError(f"the {role} callable must map points of shape (n, {grid.ndim}) to values of shape "
                             f"(n,); for n = {grid.size} it returned shape {values.shape}.")
        return values.reshape(grid.shape)
    if allow_array:
        values = _real_values(density, role)
        if values.shape != grid.shape:
            raise ValueError(f"the {role} array has shape {values.shape} but the grid has shape {grid.shape}; "
                             "pass one value per cell.")
        return values.copy()
    raise ValueError(f"the {role} must be a Gaussian, a GaussianMixture or a callable f(points) -> (n,), "
                     f"got {type(density).__name__}.")


def _real_values(values, role):
    """An array of real numbers as floats; complex, string, object or boolean arrays are refused."""
    arr = np.asarray(values)
    if arr.dtype.kind == "c":
        raise ValueError(f"the {role} must be real, got complex values (dtype {arr.dtype}).")
    if arr.dtype.kind not in "iuf":
        raise ValueError(f"the {role} must hold numbers, got an array of dtype {arr.dtype}.")
    return arr.astype(float)


def _check_mass(name, z, grid):
    """The mass of a density on the grid must be a normal positive float (no overflow, no underflow)."""
    if not np.isfinite(z):
        raise ValueError(f"the {name} overflows: its mass on the grid is {z} (values too large for float64); "
                         "rescale it (only its shape matters, it is normalised).")
    if 0 < z < np.finfo(float).tiny:
        raise ValueError(f"the {name} underflows: its mass on the grid is {z:.3g}, below the smallest normal "
                         "float64; rescale it (only its shape matters, it is normalised).")


def _outside(mass_inside, grid):
    """``1 - mass_inside``; not below 0 on periodic grids, where the wrapped density's mass is 1 up to round-off."""
    return max(0.0, 1.0 - mass_inside) if grid.is_periodic else 1.0 - mass_inside


@dataclass
class Problem:
    """A discretised flow: everything the time loop needs, already checked.

    Attributes
    ----------
    grid : Grid
    divergence : Divergence
    rho : ndarray
        Target density ``rho_d`` on the cells, restricted to the box and normalised there.
    u0, v0 : ndarray
        Initial density (normalised) and ``v0 = u0 / rho``.
    cell_mass : ndarray
        ``rho * cell_volume`` (the diagonal of the mass matrix M).
    coeffs : list of ndarray
        Face coefficients of the weighted Laplacian K (:mod:`fokkerplanck.operators`).
    beta : float
        ``max rho_0 / rho_d`` on the grid: condition (34) holds with this beta (if >= 1).
    target_mass_outside : float or None
        Mass of ``rho_d`` outside the box when the target is a normalised
        :class:`~fokkerplanck.densities.Density` (its :meth:`~fokkerplanck.densities.Density.mass_in`
        the box where it knows it, a Gaussian or a mixture: exact on any grid; else the midpoint
        estimate ``1 - sum(rho_d) * cell_volume``, which a coarse grid makes inaccurate); None for a callable.
    initial_mass_outside : float or None
        The same for the initial density.
    """

    grid: Grid
    divergence: Divergence
    rho: np.ndarray
    u0: np.ndarray
    v0: np.ndarray
    cell_mass: np.ndarray
    coeffs: list
    beta: float
    target_mass_outside: float | None
    initial_mass_outside: float | None


def setup(target, initial, grid: Grid, divergence="jsd") -> Problem:
    """Check and discretise ``target`` (rho_d) and ``initial`` (rho_0) on ``grid``.

    Raises
    ------
    ValueError
        If rho_d is zero, negative or not finite on a cell (the message says where), if rho_0 is
        negative, not finite or has zero mass, or if shapes or dimensions do not match.
    """
    div = get_divergence(divergence)
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a fokkerplanck.Grid, got {type(grid).__name__}.")
    if isinstance(target, np.ndarray):
        raise ValueError("the target density must be a Gaussian, a GaussianMixture, a GridDensity or a callable; "
                         "bare arrays of values are accepted for the initial density only (wrap them: "
                         "fp.GridDensity(grid, values)).")
    rho_raw = discretize(target, grid, "target density rho_d")
    bad = ~np.isfinite(rho_raw)
    if bad.any():
        raise ValueError(f"the target density rho_d is not finite on {int(bad.sum())} cells "
                         f"(first: {_where(grid, int(np.flatnonzero(bad.ravel())[0]))}).")
    nonpos = rho_raw <= 0
    if nonpos.any():
        first = int(np.flatnonzero(nonpos.ravel())[0])
        kind = "zero" if np.all(rho_raw[nonpos] == 0) else "zero or negative"
        raise ValueError(
            f"the target density rho_d is {kind} on {int(nonpos.sum())} of {grid.size} cells (first: "
            f"{_where(grid, first)}); the flow needs rho_d > 0 everywhere in the box. Use a smaller box, "
            "or add a small wide background component to the target, e.g. "
            "GaussianMixture([0.99, 0.01], [m, m], [cov, 100 * cov]).")
    u_raw = discretize(initial, grid, "initial density rho_0", allow_array=True)
    bad = ~np.isfinite(u_raw)
    if bad.any():
        raise ValueError(f"the initial density rho_0 is not finite on {int(bad.sum())} cells "
                         f"(first: {_where(grid, int(np.flatnonzero(bad.ravel())[0]))}).")
    neg = u_raw < 0
    if neg.any():
        raise ValueError(f"the initial density rho_0 is negative on {int(neg.sum())} cells "
                         f"(first: {_where(grid, int(np.flatnonzero(neg.ravel())[0]))}); densities must be >= 0.")
    vol = grid.cell_volume
    with np.errstate(over="ignore", under="ignore"):
        zt, z0 = float(rho_raw.sum() * vol), float(u_raw.sum() * vol)
    _check_mass("target density rho_d", zt, grid)
    _check_mass("initial density rho_0", z0, grid)
    if not z0 > 0:
        raise ValueError("the initial density rho_0 has zero mass in the box; move it inside the box "
                         f"{grid.lower.tolist()} .. {grid.upper.tolist()} or enlarge the box.")
    outside = {}
    for role, density, inside in (("target", target, zt), ("start", initial, z0)):
        if isinstance(density, Density):
            # periodic axes: the density is wrapped, nothing leaves through them; the grid's estimate counts
            # what the walled axes cut off (the box mass of the unwrapped density would not)
            exact = None if grid.is_periodic else density.mass_in(grid.lower, grid.upper)
            outside[role] = _outside(inside, grid) if exact is None else 1.0 - exact
            _check_outside(role, outside[role], grid)
    rho = rho_raw / zt
    u0 = u_raw / z0
    v0 = u0 / rho
    return Problem(
        grid=grid, divergence=div, rho=rho, u0=u0, v0=v0, cell_mass=rho * vol,
        coeffs=operators.face_coefficients(rho, grid.spacing, grid.periodic), beta=float(v0.max()),
        target_mass_outside=outside.get("target"), initial_mass_outside=outside.get("start"),
    )
