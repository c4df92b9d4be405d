r"""How far apart are two measures? Wasserstein distances and binned divergences.

Each measure is either a set of samples (an empirical measure, array of shape ``(n, d)``; shape
``(n,)`` is accepted in 1-D) or a density on a grid, given as the tuple ``(grid, values)`` with
``values`` of shape ``grid.shape`` (e.g. ``(sol.grid, sol.u[k])``). A grid density is read as
*piecewise constant on the cells* (the finite-volume reading of cell values) and normalised to
mass one.

Wasserstein distances (the functions return :math:`W_p`, never :math:`W_p^p`)

.. math::  W_p(\mu, \nu) = \Big(\inf_{\pi\in\Pi(\mu,\nu)}\int |x - y|^p\,d\pi\Big)^{1/p}

- **1-D, exact**: :math:`W_p^p = \int_0^1 |F_\mu^{-1}(s) - F_\nu^{-1}(s)|^p\,ds`. The quantile
  function of samples is a step function and that of a piecewise-constant density is piecewise
  linear; both are piecewise linear on the merged breakpoints, where the integral of
  :math:`|\text{linear}|^p` has a closed form. No sampling of the grid density, no quadrature
  error: exact to round-off, in :math:`O((n + m)\log(n + m))`.
- **d = 2, 3, exact optimal transport** (``method="exact"``): the network simplex of POT
  (``ot.emd2``) on the cost :math:`|x - y|^p`, for up to ``max_exact`` atoms per side
  (default 3000: the cost matrix has ``n m`` entries). A grid density enters as atoms at the cell
  centres carrying the cell masses; that discrete measure differs from the piecewise-constant one
  by at most :math:`(\mathbb{E}|U - c|^p)^{1/p}` for ``U`` uniform on a cell with centre ``c``
  (less than half the cell diagonal; :func:`cell_discretisation_bound`).
- **d = 2, 3, sliced** (``method="sliced"``, and ``"auto"`` beyond ``max_exact``):

  .. math::  SW_p(\mu,\nu) = \Big(\frac1K\sum_{k=1}^K W_p^p(\theta_k{}_\#\mu,\ \theta_k{}_\#\nu)\Big)^{1/p}

  with ``K = n_projections`` directions (2-D: equally spaced angles with a seeded random offset;
  3-D: a seeded randomly rotated Fibonacci lattice on the sphere), each 1-D distance exact as
  above. The projection of a piecewise-constant grid density is computed exactly, cell by cell
  (a uniform cell projects to the law of a sum of centred uniforms, whose CDF has a closed form),
  onto a 1-D histogram with 16 bins across one projected cell; the histogram's piecewise-linear
  CDF then differs from the exact projected CDF by :math:`O(\text{bin}^2)`.
  :math:`SW_p \le W_p`, and both metrise the same convergence; it is a *different number* from
  :math:`W_p`, so compare like with like (``method=`` fixes the choice).

Binned measures against the cell masses: :func:`total_variation` (``1/2 sum |p_k - q_k|``, with
the mass outside the box as one more bin) and :func:`jensen_shannon` (eq. 3 of the paper on
the cell masses). Both have a sampling floor of order ``sqrt(cells / n)`` for ``n`` samples.

Periodic grids (:attr:`Grid.periodic <fokkerplanck.Grid>`): the binned measures see no geometry and
work as they are (samples wrap into the box); :func:`wasserstein` transports on the circle or torus
(:mod:`~fokkerplanck.analysis.circle`); :func:`wasserstein_1d` and :func:`sliced_wasserstein` refuse.

References
----------
C. Villani, *Optimal Transport: Old and New*, Springer 2009 (Remark 2.19: the 1-D formula).
N. Bonneel, J. Rabin, G. Peyre, H. Pfister, "Sliced and Radon Wasserstein barycenters of
measures", J. Math. Imaging Vis. 51 (2015) 22-45.
R. Flamary et al., "POT: Python Optimal Transport", JMLR 22(78) 2021.
Y.-J. Huang, Y. Zhang, "GANs as gradient flows that converge", JMLR 24(217) 2023, eq. 3.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .._optional import require
from ..flow.grid import Grid
from ..flow.sampling import sample
from .circle import periodic_wasserstein, torus_cost, wrap_points

__all__ = ["wasserstein", "WassersteinResult", "wasserstein_1d", "sliced_wasserstein", "total_variation", "jensen_shannon",
           "sampling_floor", "cell_discretisation_bound", "MAX_EXACT_DEFAULT"]

#: ``method="auto"`` in 2-D/3-D uses exact optimal transport when both measures have at most this
#: many atoms, sliced Wasserstein otherwise.
MAX_EXACT_DEFAULT = 3000


class WassersteinResult(float):
    r"""What :func:`wasserstein` returns: the distance (a float) and which distance it is.

    It *is* a float (``float(r)``, arithmetic, comparisons, numpy all work as before), with

    - ``value``: the number (a plain float);
    - ``method``: ``"exact"`` (:math:`W_p`), ``"sliced"`` (:math:`SW_p`, a different and
      smaller number; :math:`SW_p \le W_p`), ``"circle"`` (:math:`W_1` on the circle of a
      periodic 1-D grid) or ``"torus"`` (exact transport of the atoms with the minimum-image
      cost on a periodic grid; both :mod:`~fokkerplanck.analysis.circle`);
    - ``p``: the order;
    - ``n_projections``: the number of directions when sliced, else None;
    - ``name``: ``"W1"``, ``"SW1"``, ... for labels.
    """

    __slots__ = ("method", "p", "n_projections")

    def __new__(cls, value, method, p, n_projections=None):
        obj = super().__new__(cls, value)
        obj.method, obj.p, obj.n_projections = method, float(p), n_projections
        return obj

    @property
    def value(self) -> float:
        return float(self)

    @property
    def name(self) -> str:
        p = f"{self.p:g}"
        return ("SW" if self.method == "sliced" else "W") + p + {"circle": " (circle)", "torus": " (torus)"}.get(
            self.method, "")

    def __repr__(self):
        extra = f", n_projections={self.n_projections}" if self.method == "sliced" else ""
        return f"WassersteinResult({float(self)!r}, method={self.method!r}, p={self.p:g}{extra})"

    def __reduce__(self):
        return (WassersteinResult, (float(self), self.method, self.p, self.n_projections))


# --- input handling ----------------------------------------------------------------------------

class _Samples:
    def __init__(self, x):
        self.x = x
        self.ndim = x.shape[1]


class _GridDensity:
    def __init__(self, grid, masses):
        self.grid = grid
        self.masses = masses  # normalised cell masses, shape grid.shape
        self.ndim = grid.ndim


def _measure(obj, name, periodic_refused=None):
    if isinstance(obj, list) and len(obj) == 2 and isinstance(obj[0], Grid):
        obj = tuple(obj)  # [grid, values] is as clear as (grid, values)
    if isinstance(obj, tuple):
        if len(obj) != 2 or not isinstance(obj[0], Grid):
            raise ValueError(f"{name}: a grid density must be the tuple (grid, values) with a fokkerplanck.Grid.")
        grid, values = obj
        if grid.is_periodic and periodic_refused:
            raise ValueError(f"{name}: {periodic_refused} on a periodic grid ({grid!r}) would treat the seam as a "
                             "wall (it works on lines); use wasserstein(), which transports on the circle or torus.")
        values = np.asarray(values, dtype=float)
        if values.shape != grid.shape:
            raise ValueError(f"{name}: density values have shape {values.shape} but the grid has shape "
                             f"{grid.shape}.")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"{name}: density values must be finite and non-negative.")
        total = values.sum()
        if not total > 0:
            raise ValueError(f"{name}: the grid density has zero mass.")
        return _GridDensity(grid, values / total)
    if isinstance(obj, Grid):
        raise ValueError(f"{name}: pass a grid density as the tuple (grid, values), not the grid alone.")
    x = np.asarray(obj, dtype=float)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] not in (1, 2, 3):
        raise ValueError(f"{name}: samples must have shape (n, d) with n >= 1 and d in (1, 2, 3) "
                         f"(or (n,) in 1-D), got shape {np.shape(obj)}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: samples contain non-finite values.")
    return _Samples(x)


def _check_p(p):
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not (p >= 1) \
            or not math.isfinite(p):
        raise ValueError(f"p must be a finite number >= 1, got {p!r}.")
    return float(p)


# --- 1-D: quantile functions ---------------------------------------------------------------------

def _pieces_samples(x1d, weights=None):
    """Quantile function of an empirical measure as pieces (cum, left, right)."""
    if weights is None:
        xs = np.sort(x1d)
        cum = np.arange(xs.size + 1, dtype=float) / xs.size
    else:
        order = np.argsort(x1d)
        xs = x1d[order]
        w = weights[order]
        cum = np.concatenate([[0.0], np.cumsum(w)])
        cum /= cum[-1]
    cum[-1] = 1.0
    return cum, xs, xs


def _pieces_histogram(edges, masses):
    """Quantile function of a piecewise-constant density on bins (cum, left, right); empty bins dropped."""
    keep = masses > 0
    m = masses[keep]
    cum = np.concatenate([[0.0], np.cumsum(m)])
    cum /= cum[-1]
    cum[-1] = 1.0
    return cum, edges[:-1][keep], edges[1:][keep]


@njit(cache=True)
def _mean_abs_linear_pow(d0, d1, p):  # pragma: no cover - compiled
    # mean over s in [0, 1] of |d0 + (d1 - d0) s|^p, exactly
    a = abs(d0)
    b = abs(d1)
    if p == 2.0:
        return (d0 * d0 + d0 * d1 + d1 * d1) / 3.0
    if d0 * d1 >= 0.0:  # no sign change
        if p == 1.0:
            return 0.5 * (a + b)
        if abs(b - a) <= 1e-9 * max(a, b):
            return (0.5 * (a + b)) ** p
        return (b ** (p + 1.0) - a ** (p + 1.0)) / ((p + 1.0) * (b - a))
    # a sign change inside: two pieces from 0
    return (a ** (p + 1.0) + b ** (p + 1.0)) / ((p + 1.0) * (a + b))


@njit(cache=True)
def _wpp_merge(cum_a, left_a, right_a, cum_b, left_b, right_b, p):  # pragma: no cover - compiled
    """W_p^p of two quantile functions, each linear on its pieces, by one merge of the breakpoints."""
    i = 0
    j = 0
    na = left_a.size
    nb = left_b.size
    s = 0.0
    total = 0.0
    while i < na and j < nb:
        nxt = min(cum_a[i + 1], cum_b[j + 1])
        length = nxt - s
        if length > 0.0:
            wa = cum_a[i + 1] - cum_a[i]
            wb = cum_b[j + 1] - cum_b[j]
            fa0 = (s - cum_a[i]) / wa if wa > 0 else 0.0
            fa1 = (nxt - cum_a[i]) / wa if wa > 0 else 0.0
            fb0 = (s - cum_b[j]) / wb if wb > 0 else 0.0
            fb1 = (nxt - cum_b[j]) / wb if wb > 0 else 0.0
            sa = right_a[i] - left_a[i]
            sb = right_b[j] - left_b[j]
            d0 = (left_a[i] + fa0 * sa) - (left_b[j] + fb0 * sb)
            d1 = (left_a[i] + fa1 * sa) - (left_b[j] + fb1 * sb)
            total += length * _mean_abs_linear_pow(d0, d1, p)
            s = nxt
        if cum_a[i + 1] <= nxt:
            i += 1
        if cum_b[j + 1] <= nxt:
            j += 1
    return total


def _wasserstein_pp_1d(pa, pb, p):
    """W_p^p between two 1-D measures given by quantile pieces (cum, left, right)."""
    return float(_wpp_merge(pa[0], pa[1], pa[2], pb[0], pb[1], pb[2], float(p)))


def _pieces_1d(meas):
    if isinstance(meas, _Samples):
        return _pieces_samples(meas.x[:, 0])
    return _pieces_histogram(meas.grid.edges[0], meas.masses)


def wasserstein_1d(x, y, p=1) -> float:
    r"""Exact :math:`W_p` between two 1-D measures (samples or ``(grid, values)``).

    .. math::  W_p^p = \int_0^1 |F_x^{-1}(s) - F_y^{-1}(s)|^p\,ds

    Examples
    --------
    >>> wasserstein_1d([0.0, 1.0], [1.0, 2.0], p=1)
    1.0
    """
    p = _check_p(p)
    a, b = _measure(x, "x", "wasserstein_1d"), _measure(y, "y", "wasserstein_1d")
    if a.ndim != 1 or b.ndim != 1:
        raise ValueError(f"wasserstein_1d needs 1-D measures, got dimensions {a.ndim} and {b.ndim}.")
    return _wasserstein_pp_1d(_pieces_1d(a), _pieces_1d(b), p) ** (1.0 / p)


# --- projections of a piecewise-constant grid density -------------------------------------------

@njit(cache=True)
def _uniform_sum_cdf(s, half, d):  # pragma: no cover - compiled
    # CDF at s of sum_i U[-half_i, half_i], i < d, by inclusion-exclusion:
    # F(s) = sum_eps prod(eps) (s + eps . half)_+^d / (d! prod 2 half_i)
    total = 0.0
    fact = 1.0
    denom = 1.0
    for i in range(d):
        fact *= i + 1
        denom *= 2.0 * half[i]
    for corner in range(1 << d):
        sign = 1.0
        shift = s
        for i in range(d):
            if (corner >> i) & 1:
                sign = -sign
                shift -= half[i]
            else:
                shift += half[i]
        if shift > 0:
            total += sign * shift ** d
    val = total / (fact * denom)
    if val < 0.0:
        return 0.0
    if val > 1.0:
        return 1.0
    return val


@njit(cache=True)
def _project_cells(centres, masses, half, d, lo, bin_width, nbins):  # pragma: no cover - compiled
    out = np.zeros(nbins)
    reach = 0.0
    for i in range(d):
        reach += half[i]
    for k in range(centres.size):
        c = centres[k]
        j0 = int(math.floor((c - reach - lo) / bin_width))
        j1 = int(math.floor((c + reach - lo) / bin_width))
        if j0 < 0:
            j0 = 0
        if j1 > nbins - 1:
            j1 = nbins - 1
        prev = _uniform_sum_cdf(lo + j0 * bin_width - c, half, d)
        for j in range(j0, j1 + 1):
            nxt = _uniform_sum_cdf(lo + (j + 1) * bin_width - c, half, d)
            out[j] += masses[k] * (nxt - prev)
            prev = nxt
    return out


def _projected_grid_pieces(meas: _GridDensity, theta, bins_per_cell=16):
    grid = meas.grid
    m = meas.masses.ravel()
    keep = m > 0
    pts = grid.points()[keep]
    centres = pts @ theta
    half_all = 0.5 * np.abs(theta) * grid.spacing
    half = half_all[half_all > 1e-6 * half_all.max()]  # axes nearly orthogonal to theta act as points
    reach = float(half.sum())
    bin_width = 2.0 * reach / bins_per_cell
    lo = float(centres.min() - reach)
    nbins = int(math.ceil((centres.max() + reach - lo) / bin_width)) + 1
    hist = _project_cells(centres, m[keep], half.copy(), half.size, lo, bin_width, nbins)
    edges = lo + bin_width * np.arange(nbins + 1)
    return _pieces_histogram(edges, hist)


def _directions(d, k, seed):
    rng = np.random.default_rng(seed)
    if d == 2:
        ang = (np.arange(k) + rng.random()) * (np.pi / k)
        return np.stack([np.cos(ang), np.sin(ang)], axis=1)
    # d == 3: Fibonacci lattice on the sphere, randomly rotated
    i = np.arange(k) + 0.5
    z = 1.0 - 2.0 * i / k
    r = np.sqrt(1.0 - z * z)
    phi = np.pi * (1.0 + 5 ** 0.5) * i
    pts = np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)
    q, rr = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(rr))
    return pts @ q.T


def sliced_wasserstein(x, y, p=1, *, n_projections=64, seed=0) -> float:
    r"""Sliced Wasserstein distance :math:`SW_p` (returns :math:`SW_p`, not :math:`SW_p^p`).

    .. math::  SW_p(\mu,\nu)^p = \frac1K\sum_{k=1}^K W_p^p(\theta_k{}_\#\mu, \theta_k{}_\#\nu)

    Each 1-D term is exact (quantile functions; a grid density is projected exactly cell by cell,
    see the module docstring). In 1-D this is :math:`W_p` itself.

    Parameters
    ----------
    x, y : samples (n, d) or (grid, values)
    p : float >= 1
    n_projections : int
        Number of directions ``K``.
    seed : int or Generator
        Seeds the directions (use the same seed to compare several measures to one reference).
    """
    p = _check_p(p)
    a, b = _measure(x, "x", "sliced_wasserstein"), _measure(y, "y", "sliced_wasserstein")
    if a.ndim != b.ndim:
        raise ValueError(f"the two measures have different dimensions {a.ndim} and {b.ndim}.")
    if isinstance(n_projections, bool) or not isinstance(n_projections, (int, np.integer)) or n_projections < 1:
        raise ValueError(f"n_projections must be a positive integer, got {n_projections!r}.")
    if a.ndim == 1:
        return _wasserstein_pp_1d(_pieces_1d(a), _pieces_1d(b), p) ** (1.0 / p)
    return _sliced(a, b, p, int(n_projections), seed)


def _sliced(a, b, p, k, seed):
    total = 0.0
    for theta in _directions(a.ndim, k, seed):
        pieces = []
        for meas in (a, b):
            if isinstance(meas, _Samples):
                pieces.append(_pieces_samples(meas.x @ theta))
            else:
                pieces.append(_projected_grid_pieces(meas, theta))
        total += _wasserstein_pp_1d(pieces[0], pieces[1], p)
    return (total / k) ** (1.0 / p)


# --- exact optimal transport in d >= 2 ----------------------------------------------------------

def _atoms(meas):  # (points, weights): samples, or cell centres with the cell masses
    if isinstance(meas, _Samples):
        return meas.x, np.full(meas.x.shape[0], 1.0 / meas.x.shape[0])
    m = meas.masses.ravel()
    keep = m > 0
    w = m[keep]
    return meas.grid.points()[keep], w / w.sum()


def _exact_ot(a, b, p):
    ot = require("ot", "exact optimal transport in 2-D/3-D (compare.wasserstein with method='exact')")
    (xa, wa), (xb, wb) = _atoms(a), _atoms(b)
    cost = torus_cost(xa, xb, None, None, (False,) * xa.shape[1], p)  # no periodic axis: Euclidean
    value = ot.emd2(wa, wb, cost, numItermax=max(100_000, 10 * wa.size * wb.size))
    return max(float(value), 0.0) ** (1.0 / p)


def _n_atoms(meas):
    return meas.x.shape[0] if isinstance(meas, _Samples) else int(np.count_nonzero(meas.masses))


def wasserstein(x, y, p=1, *, method="auto", max_exact=MAX_EXACT_DEFAULT, n_projections=64,
                seed=0) -> WassersteinResult:
    r"""Wasserstein distance :math:`W_p` between samples and/or grid densities (returns W_p, not W_p^p).

    .. math::  W_p(\mu, \nu) = \Big(\inf_{\pi\in\Pi(\mu,\nu)}\int |x - y|^p\,d\pi\Big)^{1/p}

    Parameters
    ----------
    x, y : array_like (n, d) or tuple (Grid, values)
        Samples (empirical measures), or a density on grid cells read as piecewise constant and
        normalised (e.g. ``(sol.grid, sol.u[-1])``).
    p : float >= 1
        Order (1 and 2 are the usual ones).
    method : {"auto", "exact", "sliced"}
        1-D: always exact (quantile functions), ``method`` is ignored. 2-D/3-D: ``"exact"``
        optimal transport with POT (grid densities as cell-centre atoms), ``"sliced"``
        :func:`sliced_wasserstein`, ``"auto"``: exact when both sides have at most ``max_exact``
        atoms, sliced otherwise, *with a UserWarning* when it falls back to sliced (the two are
        different numbers). See the module docstring for what each computes.
    max_exact : int
        Largest number of atoms per side for ``"auto"`` to choose exact transport.
    n_projections, seed : int
        Sliced only: number of directions and their seed.

    Returns
    -------
    WassersteinResult
        A float subclass: :math:`W_p` (``method == "exact"``) or :math:`SW_p` (``method ==
        "sliced"``); ``result.method`` says which was computed, ``result.p`` the order. With a
        grid density on a periodic grid: ``"circle"`` (1-D, p = 1: exact for the
        piecewise-constant densities) or ``"torus"`` (exact transport of the atoms with the
        minimum-image cost; ``"auto"`` refuses beyond ``max_exact`` atoms, ``"sliced"`` is refused;
        :func:`~fokkerplanck.analysis.circle.periodic_wasserstein`).

    Examples
    --------
    >>> import numpy as np
    >>> r = wasserstein(np.array([0.0, 2.0]), np.array([1.0, 3.0]), p=2)
    >>> float(np.round(r, 12)), r.method
    (1.0, 'exact')
    """
    p = _check_p(p)
    a, b = _measure(x, "x"), _measure(y, "y")
    if a.ndim != b.ndim:
        raise ValueError(f"the two measures have different dimensions: {a.ndim} and {b.ndim}.")
    if method not in ("auto", "exact", "sliced"):
        raise ValueError(f"unknown method {method!r}; use 'auto', 'exact' or 'sliced'.")
    if any(isinstance(m, _GridDensity) and m.grid.is_periodic for m in (a, b)):  # on the circle or torus
        return WassersteinResult(*periodic_wasserstein(a, b, p, method, max_exact, _atoms), p)
    if method == "sliced" or (method == "auto" and a.ndim > 1):
        if isinstance(n_projections, bool) or not isinstance(n_projections, (int, np.integer)) or n_projections < 1:
            raise ValueError(f"n_projections must be a positive integer, got {n_projections!r}.")
    if a.ndim == 1:
        return WassersteinResult(_wasserstein_pp_1d(_pieces_1d(a), _pieces_1d(b), p) ** (1.0 / p), "exact", p)
    if method == "auto":
        n_atoms = max(_n_atoms(a), _n_atoms(b))
        method = "exact" if n_atoms <= max_exact else "sliced"
        if method == "sliced":
            import warnings

            warnings.warn(f"compare.wasserstein(method='auto'): {n_atoms} atoms exceed max_exact = {max_exact}, so "
                          f"this is the sliced distance SW{p:g} ({int(n_projections)} directions), not W{p:g}: a "
                          "different, smaller number. Pass method='exact' or method='sliced' to choose.",
                          UserWarning, stacklevel=2)
    if method == "exact":
        return WassersteinResult(_exact_ot(a, b, p), "exact", p)
    return WassersteinResult(_sliced(a, b, p, int(n_projections), seed), "sliced", p, int(n_projections))


def cell_discretisation_bound(grid: Grid, p=1, n_mc=200_000, seed=0) -> float:
    r""":math:`(\mathbb{E}|U - c|^p)^{1/p}` for ``U`` uniform on one cell of ``grid`` with centre ``c``.

    An upper bound of :math:`W_p` between a piecewise-constant grid density and its cell-centre
    atoms (move each cell's mass to its centre); exact formula in 1-D
    (:math:`\Delta/(2(p+1)^{1/p})`), Monte Carlo with ``n_mc`` points otherwise.
    """
    p = _check_p(p)
    if grid.ndim == 1:
        return float(grid.spacing[0] / (2.0 * (p + 1.0) ** (1.0 / p)))
    u = (np.random.default_rng(seed).random((n_mc, grid.ndim)) - 0.5) * grid.spacing
    return float(np.mean(np.linalg.norm(u, axis=1) ** p) ** (1.0 / p))


# --- binned comparisons --------------------------------------------------------------------------

def _cell_masses(meas, grid):
    """Cell masses on ``grid`` and the mass outside the box."""
    if isinstance(meas, _GridDensity):
        if meas.grid != grid:
            raise ValueError("grid densities compared by cell masses must live on the same grid.")
        return meas.masses, 0.0
    x = wrap_points(meas.x, grid.lower, grid.upper, grid.periodic) if grid.is_periodic else meas.x
    idx = np.floor((x - grid.lower) / grid.spacing).astype(np.int64)
    # points exactly on the upper wall belong to the last cell
    idx = np.where(x == grid.upper, np.asarray(grid.shape) - 1, idx)
    inside = np.all((idx >= 0) & (idx < np.asarray(grid.shape)), axis=1)
    flat = np.ravel_multi_index(tuple(idx[inside].T), grid.shape)
    counts = np.bincount(flat, minlength=grid.size).reshape(grid.shape) / x.shape[0]
    return counts, float(1.0 - inside.mean())


def _binning_grid(a, b, grid):
    for m in (a, b):
        if isinstance(m, _GridDensity):
            if grid is not None and grid != m.grid:
                raise ValueError("grid= differs from the grid of the grid density.")
            return m.grid
    if grid is None:
        raise ValueError("comparing two sample sets by cell masses needs grid=.")
    return grid


def _binned_pair(x, y, grid):
    """The cell masses (and the mass outside the box) of two measures on one binning grid."""
    a, b = _measure(x, "x"), _measure(y, "y")
    if a.ndim != b.ndim:
        raise ValueError(f"the two measures have different dimensions: {a.ndim} and {b.ndim}.")
    g = _binning_grid(a, b, grid)
    return _cell_masses(a, g), _cell_masses(b, g)


def total_variation(x, y, *, grid=None) -> float:
    r"""Binned total variation :math:`\tfrac12\sum_k |p_k - q_k|` of the cell masses (in [0, 1]).

    Samples are binned into the cells of the grid (that of the grid density, or ``grid=``); the
    mass outside the box is one more bin: :math:`TV = \tfrac12(\sum_k|p_k - q_k| + |p_{out} - q_{out}|)`
    (a grid density has none, so samples outside count fully against it).
    For ``n`` i.i.d. samples of a density on ``K`` cells its expectation is of order
    :math:`\tfrac12\sqrt{2K/(\pi n)}` when every cell holds many samples (the sampling floor).
    """
    (pa, oa), (pb, ob) = _binned_pair(x, y, grid)
    return float(0.5 * (np.sum(np.abs(pa - pb)) + abs(oa - ob)))


def jensen_shannon(x, y, *, grid=None) -> float:
    r"""Binned Jensen-Shannon divergence (eq. 3) of the cell masses, natural logarithms, in [0, ln 2].

    .. math::

        \mathrm{JSD}(p, q) = \tfrac12\sum_k p_k\ln\frac{2p_k}{p_k+q_k}
                           + \tfrac12\sum_k q_k\ln\frac{2q_k}{p_k+q_k}

    Mass outside the box (samples) is one more bin.
    """
    (pa, oa), (pb, ob) = _binned_pair(x, y, grid)
    pa = np.append(pa.ravel(), oa)
    pb = np.append(pb.ravel(), ob)
    mid = pa + pb
    with np.errstate(divide="ignore", invalid="ignore"):
        ta = np.where(pa > 0, pa * np.log(2 * pa / mid), 0.0)
        tb = np.where(pb > 0, pb * np.log(2 * pb / mid), 0.0)
    return float(0.5 * (ta.sum() + tb.sum()))


def sampling_floor(reference, n, p=1, *, method="auto", repeats=8, seed=0, **wasserstein_options) -> float:
    r"""Mean :math:`W_p` between ``n`` i.i.d. samples of ``reference`` and ``reference`` itself.

    The yardstick for "as close as sampling allows": any method producing ``n`` points can at
    best match it (quasi-Monte Carlo beats it). ``reference`` is a ``(grid, values)`` density,
    sampled exactly (piecewise constant) by :func:`fokkerplanck.particles.sampling.sample`; the mean over
    ``repeats`` independent draws estimates the expectation (its relative standard error is about
    ``cv / sqrt(repeats)`` with ``cv`` the draw-to-draw coefficient of variation: about 0.5 for W1
    in 1-D, 0.2 for sliced W1 in 2-D, measured).

    ``method`` is the distance, as in :func:`wasserstein` and with its default (``"auto"``): pass
    the method of the comparison the floor accompanies (``method=w.method`` for a
    :class:`WassersteinResult` ``w``; exact W1 and sliced W1 differ by a factor of ~3 on the same
    samples). The result says which distance it is (``.method``, ``.name``).
    """
    if not isinstance(reference, tuple):
        raise ValueError("sampling_floor needs the reference as a grid density (grid, values).")
    if isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}.")
    rng, method = np.random.default_rng(seed), getattr(method, "method", method)  # a WassersteinResult's method
    method = {"circle": "auto", "torus": "exact"}.get(method, method)  # the periodic ones: what gives them
    vals = [wasserstein(sample(reference, n, seed=rng), reference, p, method=method, **wasserstein_options)
            for _ in range(int(repeats))]
    return WassersteinResult(float(np.mean(vals)), vals[0].method, p, vals[0].n_projections)
