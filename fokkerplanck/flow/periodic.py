"""Densities on periodic axes: the wrapped (periodised) density.

On a grid whose axis ``a`` is periodic with period ``L_a = upper_a - lower_a`` a density ``p`` on
R^d given in closed form (:class:`~fokkerplanck.Density`: Gaussian, mixture, sample KDE) is
*wrapped*: its value at a cell centre is the sum over the images

.. math::  p_{wrapped}(x) = \\sum_{k} p(x + k L),

``k`` running over the integers on the periodic axes (0 on the others), so the mass outside the
box on a periodic axis comes back in through the seam instead of being cut off. The sum stops at
the first shell of images that adds less than ``1e-17`` of the largest value; a density wider than
:data:`MAX_IMAGES` periods on each side is refused with the reason. Plain callables, arrays and
:class:`~fokkerplanck.GridDensity` values are taken as they are (already periodic, or the caller's
choice): they are evaluated at the cell centres only.
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["wrapped_pdf", "MAX_IMAGES"]

#: Most periods on each side of the box that the wrapped sum visits.
MAX_IMAGES = 20


def wrapped_pdf(density, grid) -> np.ndarray:
    """Values of the wrapped ``density`` at the cell centres of ``grid`` (flat, C order)."""
    points = grid.points()
    total = np.asarray(density.pdf(points), dtype=float).copy()
    axes = [a for a in range(grid.ndim) if grid.periodic[a]]
    if not axes:
        return total
    period = np.asarray(grid.upper - grid.lower, dtype=float)
    for r in range(1, MAX_IMAGES + 1):
        added = 0.0
        for off in itertools.product(range(-r, r + 1), repeat=len(axes)):
            if max(abs(o) for o in off) != r:
                continue
            shift = np.zeros(grid.ndim)
            shift[axes] = np.asarray(off, dtype=float) * period[axes]
            vals = np.asarray(density.pdf(points + shift), dtype=float)
            total += vals
            added = max(added, float(vals.max(initial=0.0)))
        if not added > 1e-17 * float(total.max(initial=0.0)):
            return total
    raise ValueError(f"{density!r} is wider than {MAX_IMAGES} periods of the periodic axes "
                     f"{[a for a in axes]} of {grid!r}; its wrapped sum does not settle. Use a narrower density "
                     "or a larger box.")
