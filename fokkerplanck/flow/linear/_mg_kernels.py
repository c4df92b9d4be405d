r"""The compiled kernels of :mod:`fokkerplanck.flow.linear.multigrid` (3-D arrays, C order).

A level is ``diag(a) - (off-diagonal of K)`` given by its diagonal ``a`` and its face coefficients
``k0, k1, k2``: face ``i`` of axis 0 joins cells ``i`` and ``i + 1``. As in
:mod:`fokkerplanck.flow.operators`, an axis is periodic when its face array has as many entries
as there are cells along it (``k0.shape[0] == n0``; the last entry is the seam face, between
the last cell and the first); the kernels read periodicity from that length and wrap there:

.. math::  (K x)_i = \sum_{j\sim i} k_{ij}(x_i - x_j), \qquad j \sim i \text{ across walls or the seam}.

A periodic axis of one cell has no face (its seam would join the cell to itself;
:func:`fokkerplanck.flow.linear.multigrid.faces_3d` and the coarsening give it an empty array).

The neighbour sum ``s = sum_j k_ij x_j`` is written out in each kernel here, the boundary tests
of the outer axes hoisted (the fused passes of :mod:`._mg_fused` use a helper with constant
neighbour flags on peeled rows instead; see there why not here). The loops
over the cells are those of walls (they ignore a seam entry); the seam terms are added by
:func:`_seam_add`, a pass over the seam planes of the periodic axes only, so grids with walls run
exactly the loops they ran before periodic axes (measured in benchmarks/README.md).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _periodic(k0, k1, k2, shape):
    """Which axes wrap: their face array has one entry per cell."""
    return k0.shape[0] == shape[0], k1.shape[1] == shape[1], k2.shape[2] == shape[2]


@njit(cache=True)
def _any_periodic(k0, k1, k2, shape):
    p0, p1, p2 = _periodic(k0, k1, k2, shape)
    return p0 or p1 or p2


@njit(cache=True)
def _seam_add(k0, k1, k2, x, out, sign, color):
    """``out += sign * k_seam * x[partner]`` on the cells next to a seam (``color`` 0 or 1: only the
    cells with ``(i + j + k) % 2 == color``; -1: all); returns the added part dotted with ``x``.

    The walls kernels leave out the seam faces; this adds their neighbour terms (a pass over the
    seam planes only).
    """
    n0, n1, n2 = x.shape
    p0, p1, p2 = _periodic(k0, k1, k2, x.shape)
    dot = 0.0
    for side in range(2):
        if p0:
            i, q = (0, n0 - 1) if side == 0 else (n0 - 1, 0)
            for j in range(n1):
                for k in range(n2):
                    if color < 0 or (i + j + k) % 2 == color:
                        v = sign * k0[n0 - 1, j, k] * x[q, j, k]
                        out[i, j, k] += v
                        dot += v * x[i, j, k]
        if p1:
            j, q = (0, n1 - 1) if side == 0 else (n1 - 1, 0)
            for i in range(n0):
                for k in range(n2):
                    if color < 0 or (i + j + k) % 2 == color:
                        v = sign * k1[i, n1 - 1, k] * x[i, q, k]
                        out[i, j, k] += v
                        dot += v * x[i, j, k]
        if p2:
            k, q = (0, n2 - 1) if side == 0 else (n2 - 1, 0)
            for i in range(n0):
                for j in range(n1):
                    if color < 0 or (i + j + k) % 2 == color:
                        v = sign * k2[i, j, n2 - 1] * x[i, j, q]
                        out[i, j, k] += v
                        dot += v * x[i, j, k]
    return dot


@njit(cache=True)
def _full_diagonal(d, k0, k1, k2, a):
    """``a = d + sum of the face coefficients around each cell`` (the diagonal of D + K)."""
    n0, n1, n2 = d.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                s = d[i, j, k]
                if i > 0:
                    s += k0[i - 1, j, k]
                if i < n0 - 1:
                    s += k0[i, j, k]
                if j > 0:
                    s += k1[i, j - 1, k]
                if j < n1 - 1:
                    s += k1[i, j, k]
                if k > 0:
                    s += k2[i, j, k - 1]
                if k < n2 - 1:
                    s += k2[i, j, k]
                a[i, j, k] = s
    p0, p1, p2 = _periodic(k0, k1, k2, d.shape)
    if p0:  # the seams: both cells they join
        a[0] += k0[n0 - 1]
        a[n0 - 1] += k0[n0 - 1]
    if p1:
        a[:, 0] += k1[:, n1 - 1]
        a[:, n1 - 1] += k1[:, n1 - 1]
    if p2:
        a[:, :, 0] += k2[:, :, n2 - 1]
        a[:, :, n2 - 1] += k2[:, :, n2 - 1]


# The 7-point stencil is written out in each walls kernel below on purpose: one shared
# inline="always" function for it, tried on 2026-12-03, made the 2-D 1024^2 solve of
# benchmarks/bench_scale.py 3.6x slower (48 s against 13.3 s of CPU, same iterations). The fused
# passes (._mg_fused) do use a helper, called with constant flags from peeled rows (fast there);
# for this matvec that was no faster than the loop below.
@njit(cache=True, fastmath=True)
def _matvec_walls(a, k0, k1, k2, x, out):
    dot = 0.0
    n0, n1, n2 = x.shape
    for i in range(n0):
        im, ip = i > 0, i < n0 - 1
        for j in range(n1):
            jm, jp = j > 0, j < n1 - 1
            for k in range(n2):
                s = 0.0
                if im:
                    s += k0[i - 1, j, k] * x[i - 1, j, k]
                if ip:
                    s += k0[i, j, k] * x[i + 1, j, k]
                if jm:
                    s += k1[i, j - 1, k] * x[i, j - 1, k]
                if jp:
                    s += k1[i, j, k] * x[i, j + 1, k]
                if k > 0:
                    s += k2[i, j, k - 1] * x[i, j, k - 1]
                if k < n2 - 1:
                    s += k2[i, j, k] * x[i, j, k + 1]
                y = a[i, j, k] * x[i, j, k] - s
                out[i, j, k] = y
                dot += y * x[i, j, k]
    return dot


@njit(cache=True)
def _matvec_dot(a, k0, k1, k2, x, out):
    """``out = (D + K) x``; returns ``x . out``."""
    dot = _matvec_walls(a, k0, k1, k2, x, out)
    if _any_periodic(k0, k1, k2, x.shape):
        dot += _seam_add(k0, k1, k2, x, out, -1.0, -1)
    return dot


@njit(cache=True)
def _residual_walls(a, k0, k1, k2, x, b, r):
    n0, n1, n2 = x.shape
    for i in range(n0):
        im, ip = i > 0, i < n0 - 1
        for j in range(n1):
            jm, jp = j > 0, j < n1 - 1
            for k in range(n2):
                s = 0.0
                if im:
                    s += k0[i - 1, j, k] * x[i - 1, j, k]
                if ip:
                    s += k0[i, j, k] * x[i + 1, j, k]
                if jm:
                    s += k1[i, j - 1, k] * x[i, j - 1, k]
                if jp:
                    s += k1[i, j, k] * x[i, j + 1, k]
                if k > 0:
                    s += k2[i, j, k - 1] * x[i, j, k - 1]
                if k < n2 - 1:
                    s += k2[i, j, k] * x[i, j, k + 1]
                r[i, j, k] = b[i, j, k] - a[i, j, k] * x[i, j, k] + s


@njit(cache=True)
def _residual(a, k0, k1, k2, x, b, r):
    """``r = b - (D + K) x``."""
    _residual_walls(a, k0, k1, k2, x, b, r)
    if _any_periodic(k0, k1, k2, x.shape):
        _seam_add(k0, k1, k2, x, r, 1.0, -1)


@njit(cache=True)
def _gauss_seidel_walls(a, k0, k1, k2, x, b, color):
    n0, n1, n2 = x.shape
    for i in range(n0):
        im, ip = i > 0, i < n0 - 1
        for j in range(n1):
            jm, jp = j > 0, j < n1 - 1
            for k in range((i + j + color) % 2, n2, 2):
                s = b[i, j, k]
                if im:
                    s += k0[i - 1, j, k] * x[i - 1, j, k]
                if ip:
                    s += k0[i, j, k] * x[i + 1, j, k]
                if jm:
                    s += k1[i, j - 1, k] * x[i, j - 1, k]
                if jp:
                    s += k1[i, j, k] * x[i, j + 1, k]
                if k > 0:
                    s += k2[i, j, k - 1] * x[i, j, k - 1]
                if k < n2 - 1:
                    s += k2[i, j, k] * x[i, j, k + 1]
                x[i, j, k] = s / a[i, j, k]


@njit(cache=True)
def _gauss_seidel(a, k0, k1, k2, x, b, color):
    """One Gauss-Seidel half-sweep over the cells with ``(i + j + k) % 2 == color``.

    On periodic axes the seam terms ``k_seam x[partner]`` of the cells of ``color`` are added to
    their right-hand side first (``b`` is restored after), with ``x`` from before the half-sweep.
    With an even number of cells on a periodic axis the partner has the other colour and is not
    updated anyway; with an odd number it has the same colour, and the half-sweep is Jacobi on
    those pairs, so it stays a symmetric update and the V-cycle a symmetric preconditioner.
    """
    if not _any_periodic(k0, k1, k2, x.shape):
        _gauss_seidel_walls(a, k0, k1, k2, x, b, color)
        return
    n0, n1, n2 = x.shape
    p0, p1, p2 = _periodic(k0, k1, k2, x.shape)
    none = np.empty((0, 0))
    # b on the seam planes of the periodic axes, restored after (copies, so b comes back bit for bit)
    lo0, hi0 = (b[0].copy(), b[n0 - 1].copy()) if p0 else (none, none)
    lo1, hi1 = (b[:, 0].copy(), b[:, n1 - 1].copy()) if p1 else (none, none)
    lo2, hi2 = (b[:, :, 0].copy(), b[:, :, n2 - 1].copy()) if p2 else (none, none)
    _seam_add(k0, k1, k2, x, b, 1.0, color)
    _gauss_seidel_walls(a, k0, k1, k2, x, b, color)
    if p2:
        b[:, :, 0] = lo2
        b[:, :, n2 - 1] = hi2
    if p1:
        b[:, 0] = lo1
        b[:, n1 - 1] = hi1
    if p0:
        b[0] = lo0
        b[n0 - 1] = hi0


@njit(cache=True)
def _gauss_seidel_from_zero(a, k0, k1, k2, x, b, color):
    """The first half-sweep from ``x = 0``: ``x = b / a`` on ``color``, 0 elsewhere."""
    n0, n1, n2 = x.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                if (i + j + k) % 2 == color:
                    x[i, j, k] = b[i, j, k] / a[i, j, k]
                else:
                    x[i, j, k] = 0.0


@njit(cache=True)
def _restrict(r, rc):
    """``rc = P^T r``: sums over the 2 x 2 x 2 (or smaller) blocks (the same on periodic axes)."""
    n0, n1, n2 = r.shape
    rc[:] = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                rc[i // 2, j // 2, k // 2] += r[i, j, k]


@njit(cache=True)
def _prolong_add(xc, x):
    """``x += P xc`` (piecewise constant)."""
    n0, n1, n2 = x.shape
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                x[i, j, k] += xc[i // 2, j // 2, k // 2]


@njit(cache=True)
def _coarsen_faces(k0, k1, k2, c0, c1, c2, scale):
    """Coarse face coefficients: ``scale`` times the sum of the fine faces across each coarse face.

    Fine face ``i`` (odd) of an axis joins the coarse cells ``i // 2`` and ``i // 2 + 1``; even
    faces lie inside a coarse cell. On a periodic axis with an odd number ``n`` of fine cells the
    seam (face ``n - 1``, even) joins the last coarse cell (``n // 2``, one fine cell) to the first
    and goes to the coarse seam; a coarse axis of one cell (empty ``c``) keeps no face.
    """
    c0[:] = 0.0
    c1[:] = 0.0
    c2[:] = 0.0
    m0, m1, m2 = k0.shape
    if c0.shape[0] > 0:
        for i in range(1, m0, 2):
            for j in range(m1):
                for k in range(m2):
                    c0[i // 2, j // 2, k // 2] += scale * k0[i, j, k]
        if m0 % 2 == 1 and c0.shape[0] == (m0 + 1) // 2:  # periodic, odd: the seam
            for j in range(m1):
                for k in range(m2):
                    c0[m0 // 2, j // 2, k // 2] += scale * k0[m0 - 1, j, k]
    m0, m1, m2 = k1.shape
    if c1.shape[1] > 0:
        for i in range(m0):
            for j in range(1, m1, 2):
                for k in range(m2):
                    c1[i // 2, j // 2, k // 2] += scale * k1[i, j, k]
            if m1 % 2 == 1 and c1.shape[1] == (m1 + 1) // 2:
                for k in range(m2):
                    c1[i // 2, m1 // 2, k // 2] += scale * k1[i, m1 - 1, k]
    m0, m1, m2 = k2.shape
    if c2.shape[2] > 0:
        for i in range(m0):
            for j in range(m1):
                for k in range(1, m2, 2):
                    c2[i // 2, j // 2, k // 2] += scale * k2[i, j, k]
                if m2 % 2 == 1 and c2.shape[2] == (m2 + 1) // 2:
                    c2[i // 2, j // 2, m2 // 2] += scale * k2[i, j, m2 - 1]


@njit(cache=True)
def _dense(a, k0, k1, k2, out):
    """The dense matrix ``D + K`` of a (small) level, C-order unknowns (seam faces included)."""
    n0, n1, n2 = a.shape
    out[:] = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                p = (i * n1 + j) * n2 + k
                out[p, p] = a[i, j, k]
                if i < k0.shape[0]:
                    q = (((i + 1) % n0) * n1 + j) * n2 + k
                    out[p, q] -= k0[i, j, k]
                    out[q, p] -= k0[i, j, k]
                if j < k1.shape[1]:
                    q = (i * n1 + (j + 1) % n1) * n2 + k
                    out[p, q] -= k1[i, j, k]
                    out[q, p] -= k1[i, j, k]
                if k < k2.shape[2]:
                    q = (i * n1 + j) * n2 + (k + 1) % n2
                    out[p, q] -= k2[i, j, k]
                    out[q, p] -= k2[i, j, k]


@njit(cache=True, fastmath=True)
def _cg_update(x, r, p, q, alpha):
    """``x += alpha p``, ``r -= alpha q``; returns ``(r . r, sum |r|)`` (the 2- and 1-norm tests)."""
    xf, rf, pf, qf = x.ravel(), r.ravel(), p.ravel(), q.ravel()
    rr = 0.0
    r1 = 0.0
    for i in range(xf.size):
        xf[i] += alpha * pf[i]
        rf[i] -= alpha * qf[i]
        rr += rf[i] * rf[i]
        r1 += abs(rf[i])
    return rr, r1


@njit(cache=True)
def _direction_update(p, z, beta):
    """``p = z + beta p``."""
    pf, zf = p.ravel(), z.ravel()
    for i in range(pf.size):
        pf[i] = zf[i] + beta * pf[i]


@njit(cache=True, fastmath=True)
def _sum_abs(x):
    """``sum |x|`` in one pass (numpy's ``np.abs(x).sum()`` makes two and a temporary array)."""
    xf = x.ravel()
    s = 0.0
    for i in range(xf.size):
        s += abs(xf[i])
    return s


@njit(cache=True, fastmath=True)
def _dot(x, y):
    xf, yf = x.ravel(), y.ravel()
    s = 0.0
    for i in range(xf.size):
        s += xf[i] * yf[i]
    return s
