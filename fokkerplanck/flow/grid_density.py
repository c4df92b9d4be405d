"""Densities given by their values on the cells of a grid (:class:`GridDensity`).

A researcher's own data density, or the output of another code, sampled at the cell centres of a
:class:`~fokkerplanck.Grid`: checked (finite, non-negative, the grid's shape, some mass) and
normalised to mass one on the grid. It can be the target or the initial density of
:func:`fokkerplanck.solve`; the target must moreover be positive on every cell, which
:func:`fokkerplanck.flow.problem.setup` checks (and says where it is not).
"""

from __future__ import annotations

import numpy as np

from .grid import Grid

__all__ = ["GridDensity"]


class GridDensity:
    """A density given by one value per cell of ``grid``, normalised (``sum(values) * cell_volume == 1``).

    Parameters
    ----------
    grid : Grid
    values : array_like, shape ``grid.shape``
        Finite, non-negative numbers with positive sum (only their shape matters: they are normalised).
    name : str
        What to call the values in error messages (e.g. the file they came from).

    As a callable ``f(points) -> (n,)`` it is piecewise constant: the value of the cell holding each
    point (coordinates on periodic axes wrap around; points outside the box on other axes get 0).

    Examples
    --------
    >>> import numpy as np, fokkerplanck as fp
    >>> grid = fp.Grid([0.0], [1.0], [4])
    >>> fp.GridDensity(grid, [1, 1, 2, 0]).values.tolist()
    [1.0, 1.0, 2.0, 0.0]
    """

    def __init__(self, grid: Grid, values, name: str = "GridDensity"):
        if not isinstance(grid, Grid):
            raise ValueError(f"{name}: grid must be a fokkerplanck.Grid, got {type(grid).__name__}.")
        arr = np.asarray(values)
        if arr.dtype.kind not in "biuf":
            raise ValueError(f"{name}: the values must be real numbers, got dtype {arr.dtype}.")
        arr = arr.astype(float)
        if arr.shape != grid.shape and not (grid.ndim == 1 and arr.shape == (grid.size, 1)):
            raise ValueError(f"{name}: the values have shape {arr.shape} but the grid has shape {grid.shape}; "
                             "give one value per cell.")
        arr = arr.reshape(grid.shape)
        bad = ~np.isfinite(arr)
        if bad.any():
            raise ValueError(f"{name}: {int(bad.sum())} values are not finite (NaN or inf), first at cell "
                             f"{_cell(grid, bad)}.")
        neg = arr < 0
        if neg.any():
            raise ValueError(f"{name}: {int(neg.sum())} values are negative, first at cell {_cell(grid, neg)}; "
                             "a density is >= 0.")
        with np.errstate(over="ignore", under="ignore"):
            mass = float(arr.sum() * grid.cell_volume)
        if not (np.isfinite(mass) and mass >= np.finfo(float).tiny):
            raise ValueError(f"{name}: the values have mass {mass!r} on the grid; need a finite positive mass "
                             "(rescale them: only their shape matters).")
        self.grid = grid
        self.name = name
        self.ndim = grid.ndim
        self.values = arr / mass
        self.values.setflags(write=False)

    def on(self, grid: Grid, role: str = "density") -> np.ndarray:
        """The values on ``grid``, which must be this density's grid."""
        if grid != self.grid:
            raise ValueError(f"the {role} {self.name} is given on {self.grid!r}, but the flow runs on {grid!r}; "
                             "a GridDensity is used on its own grid.")
        return np.array(self.values)

    def __call__(self, points) -> np.ndarray:
        x = np.asarray(points, dtype=float).reshape(-1, self.ndim)
        g = self.grid
        inside = np.ones(x.shape[0], dtype=bool)
        idx = []
        for a in range(self.ndim):
            i = np.floor((x[:, a] - g.lower[a]) / g.spacing[a]).astype(np.int64)
            if g.periodic[a]:
                i = np.mod(i, g.shape[a])
            else:
                inside &= (x[:, a] >= g.lower[a]) & (x[:, a] <= g.upper[a])
                i = np.clip(i, 0, g.shape[a] - 1)
            idx.append(i)
        return np.where(inside, self.values[tuple(idx)], 0.0)

    def pdf(self, points) -> np.ndarray:
        """The same as calling it: the value of the cell holding each point."""
        return self(points)

    def __repr__(self):
        return f"GridDensity({self.name!r} on {self.grid!r})"


def _cell(grid: Grid, mask) -> tuple:
    return tuple(int(i) for i in np.unravel_index(int(np.flatnonzero(mask.ravel())[0]), grid.shape))
