r"""Transport on periodic grids: the circle's exact :math:`W_1`, and exact transport on the torus.

**The circle** (a periodic axis of length :math:`L`). Optimal transport may go either way round.
For :math:`p = 1` the distance has the closed form (Rabin, Delon, Gousseau 2011; Cabrelli,
Molter 1995)

.. math::  W_1(\mu, \nu) = \min_{c\in\mathbb R} \int_0^L |F_\mu(x) - F_\nu(x) - c|\,dx,

with :math:`F` the CDFs measured from the seam (the box's lower end); the minimiser :math:`c` is a
median of :math:`F_\mu - F_\nu` under the Lebesgue measure of the circle. The CDF of a
piecewise-constant grid density is piecewise linear and that of samples is a step function, so on
the merged breakpoints :math:`D = F_\mu - F_\nu` is linear on every piece: the median is found by
bisection on the measure of :math:`\{D < c\}` (exact piece by piece) and the integral is exact.
Always at most the interval :math:`W_1` (the choice :math:`c = 0`).

**The torus** (2-D/3-D, some axes periodic; also 1-D with ``p > 1``): exact
optimal transport, by POT's network simplex, between discrete measures (a grid density as atoms at
the cell centres carrying the cell masses, samples wrapped into the box) with the minimum-image
ground cost :func:`torus_cost`: the shortest way round on every periodic axis. Exact for the
atoms; the atoms differ from the piecewise-constant density by at most
:func:`~fokkerplanck.analysis.distances.cell_discretisation_bound` on each side.

Private helpers of :func:`fokkerplanck.analysis.distances.wasserstein`.
"""

from __future__ import annotations

import numpy as np

from .._optional import require

__all__ = ["circle_w1", "torus_cost", "wrap_points", "periodic_wasserstein"]


def _cdf_ends(kind, data, t):
    """CDF just right of t[:-1] and just left of t[1:] (pieces between merged breakpoints t)."""
    if kind == "grid":
        edges, masses = data
        F = np.interp(t, edges, np.concatenate([[0.0], np.cumsum(masses)]))
        return F[:-1], F[1:]
    xs = data  # sorted samples: the CDF is constant between breakpoints, jumps at samples
    F = np.searchsorted(xs, t[:-1], side="right") / xs.size
    return F, F


def circle_w1(a, b, lower, length) -> float:
    r"""Exact :math:`W_1` on the circle ``[lower, lower + length)`` between two measures.

    ``a``, ``b``: ``("grid", (edges, masses))`` (normalised masses on cells with those edges) or
    ``("samples", sorted_positions)`` (wrapped into the box).
    """
    pts = [np.array([lower, lower + length])]
    for kind, data in (a, b):
        pts.append(data[0] if kind == "grid" else data)
    t = np.unique(np.concatenate(pts))
    t = t[(t >= lower) & (t <= lower + length)]
    w = np.diff(t)
    fa0, fa1 = _cdf_ends(*a, t)
    fb0, fb1 = _cdf_ends(*b, t)
    d0, d1 = fa0 - fb0, fa1 - fb1
    lo_, hi_ = np.minimum(d0, d1), np.maximum(d0, d1)
    span = hi_ - lo_

    def below(c):  # Lebesgue measure of {D < c}, piece by piece (D linear on each piece)
        frac = np.where(span > 0, np.clip((c - lo_) / np.where(span > 0, span, 1.0), 0.0, 1.0),
                        (lo_ < c).astype(float))
        return float(np.dot(w, frac))

    lo, hi = float(lo_.min()), float(hi_.max())
    for _ in range(200):  # the median of D: measure{D < c} crosses length / 2
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if below(mid) < 0.5 * length:
            lo = mid
        else:
            hi = mid
    c = 0.5 * (lo + hi)
    e0, e1 = d0 - c, d1 - c
    # integral of |linear| over each piece: exact, with a sign change handled
    same = e0 * e1 >= 0
    denom = np.where(same, 1.0, np.abs(e0) + np.abs(e1))
    mean_abs = np.where(same, 0.5 * (np.abs(e0) + np.abs(e1)), 0.5 * (e0 * e0 + e1 * e1) / denom)
    return float(np.dot(w, mean_abs))


def torus_cost(xa, xb, lower, upper, periodic, p=1.0) -> np.ndarray:
    r"""Ground cost :math:`|x - y|^p` between two sets of points with the minimum-image distance.

    .. math::  |x - y|^2 = \sum_a \min(\delta_a, L_a - \delta_a)^2\ \text{(periodic axes)},\qquad
               \delta_a = |x_a - y_a|,

    ``L_a = upper_a - lower_a``; on the other axes :math:`\delta_a^2` as usual. Points must already
    lie in ``[lower, upper)`` on the periodic axes (:func:`wrap_points`). Shape ``(n, m)``.
    """
    cost = np.zeros((xa.shape[0], xb.shape[0]))
    for a in range(xa.shape[1]):
        delta = np.abs(xa[:, None, a] - xb[None, :, a])
        if periodic[a]:
            np.minimum(delta, (upper[a] - lower[a]) - delta, out=delta)
        cost += delta * delta
    return np.sqrt(cost, out=cost) if p == 1.0 else cost ** (0.5 * p)


def wrap_points(x, lower, upper, periodic) -> np.ndarray:
    """A copy of the points ``x`` (n, d) wrapped into ``[lower, upper)`` on the periodic axes."""
    x = np.array(x, dtype=float)
    for a in range(x.shape[1]):
        if periodic[a]:
            length = upper[a] - lower[a]
            col = lower[a] + np.mod(x[:, a] - lower[a], length)
            col[col >= upper[a]] = lower[a]
            x[:, a] = col
    return x


def _torus_ot(atoms_a, atoms_b, g, p):
    ot = require("ot", "exact optimal transport on a periodic grid (compare.wasserstein on a torus)")
    (xa, wa), (xb, wb) = atoms_a, atoms_b
    lower, upper = np.asarray(g.lower, dtype=float), np.asarray(g.upper, dtype=float)
    cost = torus_cost(wrap_points(xa, lower, upper, g.periodic), wrap_points(xb, lower, upper, g.periodic),
                      lower, upper, g.periodic, p)
    value = ot.emd2(wa, wb, cost, numItermax=max(100_000, 10 * wa.size * wb.size))
    return max(float(value), 0.0) ** (1.0 / p)


def periodic_wasserstein(a, b, p, method, max_exact, atoms):
    r"""``(value, name)``: :math:`W_p` when a grid density lives on a periodic grid (distances' measures).

    ``"circle"``: 1-D, ``p = 1``: the exact circle :math:`W_1` of the piecewise-constant densities
    (:func:`circle_w1`). ``"torus"``: otherwise, exact optimal
    transport (POT's network simplex) between the atoms (cell centres with the cell masses, or the
    samples wrapped into the box) with the minimum-image cost :func:`torus_cost`; ``method="auto"``
    runs it up to ``max_exact`` atoms per side and refuses beyond (no cheaper distance respects the
    seam here: a sliced distance would project the torus onto lines). ``atoms(measure)`` gives
    ``(points, weights)``. Raises ValueError with the reason where no such distance is available.
    """
    grids = [m.grid for m in (a, b) if hasattr(m, "grid")]
    g = grids[0]
    if any(h.periodic != g.periodic or not np.array_equal(h.lower, g.lower) or not np.array_equal(h.upper, g.upper)
           for h in grids):
        raise ValueError(f"the two grid densities live on different boxes or periodicities ({grids[0]!r}, "
                         f"{grids[-1]!r}); transport on a periodic grid needs one circle or torus.")
    if method == "sliced":
        raise ValueError(f"method='sliced' on a periodic grid ({g!r}) is not available: it projects onto lines, "
                         "which cut the torus at the seam. Use method='exact' (transport on the torus) or 'auto'.")
    if g.ndim == 1 and p == 1.0:  # "auto" and "exact": exact for the piecewise-constant densities
        return _circle(a, b, g), "circle"
    n_atoms = max(atoms(a)[0].shape[0], atoms(b)[0].shape[0])
    if method == "auto" and n_atoms > max_exact:
        raise ValueError(f"{n_atoms} atoms on a periodic grid ({g!r}) exceed max_exact = {max_exact}: exact "
                         "transport on the torus needs an n x m cost matrix, and no cheaper distance here respects "
                         "the seam. Pass method='exact' (or a larger max_exact) to run it anyway, subsample, "
                         "coarsen the grid, or compare by total_variation / jensen_shannon.")
    return _torus_ot(atoms(a), atoms(b), g, p), "torus"


def _circle(a, b, g) -> float:
    lower, length = float(g.lower[0]), float(g.upper[0] - g.lower[0])

    def side(m):
        if hasattr(m, "grid"):
            return "grid", (np.asarray(m.grid.edges[0], dtype=float), m.masses)
        x = lower + np.mod(m.x[:, 0] - lower, length)
        x[x >= lower + length] = lower
        return "samples", np.sort(x)

    return circle_w1(side(a), side(b), lower, length)
