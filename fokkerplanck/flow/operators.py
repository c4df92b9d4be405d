r"""The finite-volume operators, in one place.

Unknowns live at cell centres. For the weighted operator :math:`-\nabla\cdot(\rho_d\nabla w)` the
flux through the face between neighbouring cells ``i`` and ``j`` (distance ``dx`` apart, face area
``A``) is :math:`k_{ij}(w_i - w_j)` with

.. math::

    k_{ij} = \rho_{ij} \frac{A}{dx}, \qquad
    \rho_{ij} = \frac{\ln\rho_j - \ln\rho_i}{1/\rho_i - 1/\rho_j}
             = \rho_j\,\frac{\delta}{e^{\delta}-1},\ \delta = \ln\rho_j - \ln\rho_i,

the Scharfetter-Gummel face weight: the exact flux when :math:`\ln\rho_d` is linear between the
two cell centres. It equals :math:`\rho_i\rho_j / L(\rho_i, \rho_j)` with :math:`L` the
logarithmic mean, is symmetric, lies between the harmonic and geometric means (so it is dominated
by the smaller cell value where rho_d varies fast, which keeps far tails stable), and is
second-order accurate for smooth :math:`\rho_d`.

Boundary faces carry no flux (no-flux boundary), except on a periodic axis
(:attr:`Grid.periodic <fokkerplanck.Grid>`): there the last cell and the first are neighbours
through one more face, the seam, and the axis's coefficient array has ``shape[a]`` entries (the
last is the seam's) instead of ``shape[a] - 1``. Every function below reads periodicity from that
length, so coefficients carry it wherever they go. The assembled matrix

.. math::  (K w)_i = \sum_{j\sim i} k_{ij}(w_i - w_j)

is symmetric positive semidefinite with non-positive off-diagonal entries and ``K 1 = 0``, so
``K + D`` is an M-matrix for any positive diagonal ``D``: this gives exact mass conservation, the
discrete maximum principle and the discrete L1 contraction (docs/mathematics.md, section 3). The cell masses
``m_i = rho_d,i * cell_volume`` form the diagonal mass matrix ``M``.

All functions take and return plain numpy arrays.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = ["sg_face_weights", "face_coefficients", "apply_laplacian", "dirichlet_form",
           "laplacian_matrix", "tridiagonal", "periodic_axes"]


def sg_face_weights(rho: np.ndarray, axis: int, periodic: bool = False) -> np.ndarray:
    """Scharfetter-Gummel face values of ``rho`` between neighbours along ``axis``.

    Returns an array with ``rho.shape[axis] - 1`` entries along ``axis`` (``rho.shape[axis]`` if
    ``periodic``: the last entry is the seam face between the last cell and the first).
    """
    n = rho.shape[axis]
    if periodic:
        left, right = rho, np.roll(rho, -1, axis=axis)
    else:
        left = np.take(rho, np.arange(n - 1), axis=axis)
        right = np.take(rho, np.arange(1, n), axis=axis)
    delta = np.log(right) - np.log(left)
    small = np.abs(delta) < 1e-8
    safe = np.where(small, 1.0, delta)
    factor = np.where(small, 1.0 - 0.5 * delta, safe / np.expm1(safe))  # delta / (e^delta - 1)
    return right * factor


def face_coefficients(rho: np.ndarray, spacing, periodic=None) -> list[np.ndarray]:
    """Per-axis face transmissibilities ``k = rho_face * cell_volume / dx_a**2``.

    ``rho`` has the grid's shape; entry ``a`` of the result has ``shape[a] - 1`` entries along
    axis ``a`` (``shape[a]`` on a periodic axis, ``periodic`` being one bool per axis, e.g.
    :attr:`Grid.periodic`). ``cell_volume / dx_a**2`` equals face area over centre distance.
    """
    spacing = np.asarray(spacing, dtype=float)
    vol = float(np.prod(spacing))
    periodic = (False,) * rho.ndim if periodic is None else tuple(bool(p) for p in periodic)
    return [sg_face_weights(rho, a, periodic[a]) * (vol / spacing[a] ** 2) for a in range(rho.ndim)]


def periodic_axes(coeffs, shape) -> tuple:
    """Per axis, whether the face coefficients ``coeffs`` of a grid of ``shape`` wrap around."""
    return tuple(int(np.shape(k)[a]) == int(shape[a]) for a, k in enumerate(coeffs))


def _neighbours(w: np.ndarray, k: np.ndarray, a: int):
    """``(w_i, w_j)`` on both sides of each face of axis ``a`` (``k``'s length says whether it wraps)."""
    if k.shape[a] == w.shape[a]:
        return w, np.roll(w, -1, axis=a)
    nd = w.ndim
    return w[_slices(nd, a, slice(None, -1))], w[_slices(nd, a, slice(1, None))]


def _slices(ndim: int, axis: int, sl: slice):
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def apply_laplacian(coeffs, w: np.ndarray) -> np.ndarray:
    """``K w`` for the face coefficients of :func:`face_coefficients` (same shape as ``w``).

    Written in flux form: each face flux is added to one cell and subtracted from its neighbour,
    so ``sum(K w) == 0`` up to round-off whatever ``w`` is.
    """
    out = np.zeros_like(w, dtype=float)
    nd = w.ndim
    for a, k in enumerate(coeffs):
        if k.shape[a] == w.shape[a]:  # periodic: face i joins cell i and cell i + 1 (mod n)
            flux = k * (w - np.roll(w, -1, axis=a))
            out += flux
            out -= np.roll(flux, 1, axis=a)
            continue
        lo, hi = _slices(nd, a, slice(None, -1)), _slices(nd, a, slice(1, None))
        flux = k * (w[lo] - w[hi])
        out[lo] += flux
        out[hi] -= flux
    return out


def dirichlet_form(coeffs, a: np.ndarray, b: np.ndarray) -> float:
    r"""``a^T K b = sum_faces k_ij (a_i - a_j)(b_i - b_j)``, the discrete
    :math:`\int \rho_d \nabla a\cdot\nabla b`."""
    total = 0.0
    for ax, k in enumerate(coeffs):
        a_i, a_j = _neighbours(a, k, ax)
        b_i, b_j = _neighbours(b, k, ax)
        total += float(np.sum(k * (a_i - a_j) * (b_i - b_j)))
    return total


def laplacian_matrix(coeffs, shape) -> sp.csr_matrix:
    """The sparse symmetric matrix ``K`` (C-order unknowns), shape ``(n, n)``."""
    shape = tuple(shape)
    n = int(np.prod(shape))
    index = np.arange(n).reshape(shape)
    rows, cols, vals = [], [], []
    diag = np.zeros(n)
    for a, k in enumerate(coeffs):
        lo, hi = (x.ravel() for x in _neighbours(index, k, a))
        kk = k.ravel()
        rows += [lo, hi]
        cols += [hi, lo]
        vals += [-kk, -kk]
        np.add.at(diag, lo, kk)
        np.add.at(diag, hi, kk)
    rows.append(np.arange(n))
    cols.append(np.arange(n))
    vals.append(diag)
    return sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))


def tridiagonal(coeffs) -> tuple[np.ndarray, np.ndarray]:
    """1-D with walls only: ``(diagonal, off_diagonal)`` of ``K`` (``off[i] = K[i, i+1] = -k_i``)."""
    if len(coeffs) != 1:
        raise ValueError("tridiagonal() is for 1-D grids")
    k = coeffs[0]
    diag = np.zeros(k.size + 1)
    diag[:-1] += k
    diag[1:] += k
    return diag, -k
