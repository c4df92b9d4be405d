"""Uniform cell-centred grids on boxes in 1, 2 and 3 dimensions.

The boundary of the box is impermeable (no-flux): the finite-volume operators in
:mod:`fokkerplanck.flow.operators` simply have no faces on the boundary, so mass never leaves.
A periodic axis (``periodic=``) has no walls: its last and first cells share the seam face.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _validation as _v

__all__ = ["Grid", "MAX_CELLS"]

#: The most cells a grid may have (in all, and per axis): 2^33, about 8.6e9, whose one float64
#: array alone is 64 GiB. Larger grids are refused when they are made (the budget refuses far
#: smaller runs that do not fit the machine).
MAX_CELLS = 2**33


class Grid:
    """A uniform cell-centred grid on the box ``[lower, upper]`` with no-flux walls or periodic axes.

    Parameters
    ----------
    lower, upper : sequence of float
        Corners of the box, one entry per dimension (1, 2 or 3 dimensions).
    shape : sequence of int
        Number of cells per dimension (at least 2 each).
    periodic : bool or sequence of bool
        Which axes wrap around (``True``: all of them). A periodic axis has no walls: its last
        cell and its first are neighbours through the seam face at ``lower == upper``.

    Attributes
    ----------
    ndim : int
        Number of dimensions d.
    shape : tuple of int
        Number of cells per axis.
    spacing : ndarray, shape (d,)
        Cell widths ``(upper - lower) / shape``.
    axes : tuple of ndarray
        Cell centres along each axis.
    edges : tuple of ndarray
        Cell faces along each axis (``shape[a] + 1`` entries).
    cell_volume : float
        Volume (length, area) of one cell; integrals are ``sum(values) * cell_volume``.
    periodic : tuple of bool
        Per axis, whether it wraps around (default: no axis does; every wall is no-flux).

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> grid = fp.Grid(lower=[-8.0], upper=[8.0], shape=[2000])
    >>> grid.cell_volume
    0.008
    """

    def __init__(self, lower, upper, shape, periodic=False):
        lower = np.atleast_1d(_v.float_array("Grid: lower", lower))
        upper = np.atleast_1d(_v.float_array("Grid: upper", upper))
        if isinstance(shape, (str, bytes)):
            raise ValueError(f"Grid: shape must be whole numbers of cells, got the string {shape!r}.")
        try:
            shape_arr = np.atleast_1d(np.asarray(shape))
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"Grid: shape must be whole numbers of cells, got {shape!r}.") from None
        if shape_arr.dtype.kind not in "iuf":
            raise ValueError(f"Grid: shape must be whole numbers of cells, got {shape!r}.")
        if lower.ndim != 1 or upper.ndim != 1 or shape_arr.ndim != 1:
            raise ValueError("Grid: lower, upper and shape must be flat sequences, one entry per dimension, "
                             "e.g. Grid(lower=[-5, -5], upper=[5, 5], shape=[128, 128]).")
        if not (lower.size == upper.size == shape_arr.size):
            raise ValueError(f"Grid: lower ({lower.size} entries), upper ({upper.size}) and shape "
                             f"({shape_arr.size}) must have one entry per dimension each.")
        if lower.size not in (1, 2, 3):
            raise ValueError(f"Grid: {lower.size} dimensions requested; 1, 2 or 3 are supported.")
        if not (np.all(np.isfinite(lower)) and np.all(np.isfinite(upper))):
            raise ValueError("Grid: lower and upper must be finite numbers.")
        if np.any(upper <= lower):
            bad = int(np.flatnonzero(upper <= lower)[0])
            raise ValueError(f"Grid: upper[{bad}] = {upper[bad]} must exceed lower[{bad}] = {lower[bad]}.")
        if not np.issubdtype(shape_arr.dtype, np.integer):
            if not np.all(np.equal(np.mod(shape_arr, 1), 0)):
                raise ValueError(f"Grid: shape must hold whole numbers of cells, got {shape_arr.tolist()}.")
        if not np.all(np.isfinite(shape_arr)) or np.any(np.abs(shape_arr) > MAX_CELLS):
            raise ValueError(f"Grid: shape={shape_arr.tolist()} is beyond {MAX_CELLS:.3g} cells per axis.")
        shape_t = tuple(int(s) for s in shape_arr)
        if min(shape_t) < 2:
            raise ValueError(f"Grid: every axis needs at least 2 cells, got shape={list(shape_t)}.")
        cells = math.prod(shape_t)
        if cells > MAX_CELLS:
            raise ValueError(f"Grid: shape={list(shape_t)} has {cells:.3g} cells, more than {MAX_CELLS:.3g} "
                             f"(one array of them alone would need {cells * 8 / 2**30:.3g} GiB); use fewer cells.")
        with np.errstate(over="ignore"):
            spacing = (upper - lower) / np.asarray(shape_t, dtype=float)
            volume = float(np.prod(spacing))
        if not (np.all(np.isfinite(spacing)) and math.isfinite(volume) and volume > 0):
            raise ValueError(f"Grid: the box [{lower.tolist()}, {upper.tolist()}] with shape {list(shape_t)} has cells "
                             f"of width {spacing.tolist()} and volume {volume!r}; choose a box whose cell widths and "
                             "cell volume are finite positive numbers.")
        self.periodic = _periodic_flags(periodic, len(shape_t))
        self.lower = lower
        self.upper = upper
        self.shape = shape_t
        self.ndim = len(shape_t)
        self.spacing = spacing
        self.cell_volume = volume
        self.axes = tuple(lower[a] + (np.arange(shape_t[a]) + 0.5) * self.spacing[a] for a in range(self.ndim))
        self.edges = tuple(np.linspace(lower[a], upper[a], shape_t[a] + 1) for a in range(self.ndim))

    @property
    def is_periodic(self) -> bool:
        """True when at least one axis wraps around."""
        return any(self.periodic)

    @property
    def size(self) -> int:
        """Total number of cells."""
        return int(np.prod(self.shape))

    @property
    def volume(self) -> float:
        """Volume of the whole box."""
        return float(np.prod(self.upper - self.lower))

    def points(self) -> np.ndarray:
        """Cell centres as an array of shape ``(grid.size, d)`` in C (row-major) order,
        so that ``values.reshape(grid.shape)`` lines up with ``grid.axes``."""
        mesh = np.meshgrid(*self.axes, indexing="ij")
        return np.stack([m.ravel() for m in mesh], axis=-1)

    def meshgrid(self):
        """Cell-centre coordinates as ``d`` arrays of shape ``grid.shape`` (``indexing='ij'``)."""
        return np.meshgrid(*self.axes, indexing="ij")

    def integrate(self, values) -> float:
        """Midpoint-rule integral ``sum(values) * cell_volume`` of cell values."""
        return float(np.sum(values) * self.cell_volume)

    def contains(self, points) -> np.ndarray:
        """Boolean mask of the points (shape ``(n, d)``) that lie in the closed box."""
        points = np.asarray(points, dtype=float).reshape(-1, self.ndim)
        return np.all((points >= self.lower) & (points <= self.upper), axis=1)

    def __eq__(self, other):
        return (isinstance(other, Grid) and self.shape == other.shape
                and np.array_equal(self.lower, other.lower) and np.array_equal(self.upper, other.upper)
                and self.periodic == other.periodic)

    def __hash__(self):
        return hash((self.shape, tuple(self.lower), tuple(self.upper), self.periodic))

    def __repr__(self):
        extra = ""
        if self.is_periodic:
            extra = ", periodic=True" if all(self.periodic) else f", periodic={list(self.periodic)}"
        return f"Grid(lower={self.lower.tolist()}, upper={self.upper.tolist()}, shape={list(self.shape)}{extra})"


def _periodic_flags(periodic, ndim: int) -> tuple:
    """``periodic`` (a bool, or one bool per axis) as a tuple of ``ndim`` bools."""
    if isinstance(periodic, (bool, np.bool_)):
        return (bool(periodic),) * ndim
    if isinstance(periodic, (str, bytes)) or not hasattr(periodic, "__len__"):
        raise ValueError(f"Grid: periodic must be True, False or one of them per axis, got {periodic!r}.")
    flags = list(periodic)
    if len(flags) != ndim or not all(isinstance(f, (bool, np.bool_)) for f in flags):
        raise ValueError(f"Grid: periodic must be True, False or a list of {ndim} of them (one per axis), "
                         f"got {periodic!r}.")
    return tuple(bool(f) for f in flags)
