r"""Fused V-cycle passes of :mod:`fokkerplanck.flow.linear.multigrid` for levels with walls only.

A V-cycle level runs, before the coarse correction, ``x = 0``; red half-sweep from zero; black
half-sweep; residual; restriction, and after it: prolongation; black half-sweep; red half-sweep
(:mod:`fokkerplanck.flow.linear._mg_kernels`). Each is a pass over the level. Here each group is
one pass over the rows ``t = i * n1 + j`` of the 3-D array, the later stages lagging by ``L`` rows
(``L = n1``, one plane, when there is more than one plane; else one row): the 7-point stencil of
row ``t`` reaches rows ``t +- 1`` and ``t +- n1`` only, so when a stage reaches row ``t - L`` the
stage before it has finished every row that row reads. The arithmetic of each cell is that of
the separate kernels, in the same order, so the results are bit for bit those of the separate
passes (tests/flow/test_multigrid_fused.py). Periodic levels keep the separate kernels (the seam
terms reach across the whole level).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def _gs_row(a, k0, k1, k2, x, b, i, j, color):
    """The Gauss-Seidel update of the cells of ``color`` on row ``(i, j)`` (walls)."""
    n0, n1, n2 = x.shape
    im, ip, jm, jp = i > 0, i < n0 - 1, j > 0, j < n1 - 1
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
def _lag(shape):
    return shape[1] if shape[0] > 1 else 1


@njit(cache=True)
def _pre_smooth_restrict(a, k0, k1, k2, x, b, rc):
    """``x`` = red from zero, then black; ``rc = P^T (b - (D + K) x)`` (walls; one pass)."""
    n0, n1, n2 = x.shape
    rows, lag = n0 * n1, _lag(x.shape)
    rc[:] = 0.0
    for t in range(rows + 2 * lag):
        if t < rows:  # red from zero (black cells are written before they are read)
            i, j = t // n1, t % n1
            for k in range((i + j) % 2, n2, 2):
                x[i, j, k] = b[i, j, k] / a[i, j, k]
        t1 = t - lag
        if 0 <= t1 < rows:
            _gs_row(a, k0, k1, k2, x, b, t1 // n1, t1 % n1, 1)
        t2 = t - 2 * lag
        if 0 <= t2 < rows:  # the residual of row t2, summed into its coarse cells
            i, j = t2 // n1, t2 % n1
            im, ip, jm, jp = i > 0, i < n0 - 1, j > 0, j < n1 - 1
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
                rc[i // 2, j // 2, k // 2] += b[i, j, k] - a[i, j, k] * x[i, j, k] + s


@njit(cache=True)
def _prolong_post_smooth(a, k0, k1, k2, x, b, xc):
    """``x += P xc``, then a black and a red half-sweep (walls; one pass); returns ``b . x``."""
    n0, n1, n2 = x.shape
    rows, lag = n0 * n1, _lag(x.shape)
    dot = 0.0
    for t in range(rows + 2 * lag):
        if t < rows:  # the red cells only: the black ones are overwritten before they are read
            i, j = t // n1, t % n1
            for k in range((i + j) % 2, n2, 2):
                x[i, j, k] += xc[i // 2, j // 2, k // 2]
        t1 = t - lag
        if 0 <= t1 < rows:
            _gs_row(a, k0, k1, k2, x, b, t1 // n1, t1 % n1, 1)
        t2 = t - 2 * lag
        if 0 <= t2 < rows:
            i, j = t2 // n1, t2 % n1
            _gs_row(a, k0, k1, k2, x, b, i, j, 0)
            for k in range(n2):
                dot += b[i, j, k] * x[i, j, k]
    return dot
