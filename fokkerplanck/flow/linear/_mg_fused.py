r"""Fused V-cycle passes of :mod:`fokkerplanck.flow.linear.multigrid` for levels with walls only.

A V-cycle level runs, before the coarse correction, ``x = 0``; red half-sweep from zero; black
half-sweep; residual; restriction, and after it: prolongation; black half-sweep; red half-sweep
(:mod:`fokkerplanck.flow.linear._mg_kernels`). Each is a pass over the level. Here each group is
one pass over the rows ``t = i * n1 + j`` of the 3-D array, the later stages lagging by ``L`` rows
(``L = n1``, one plane, when there is more than one plane; else one row): the 7-point stencil of
row ``t`` reaches rows ``t +- 1`` and ``t +- n1`` only, so when a stage reaches row ``t - L`` the
stage before it has finished every row that row reads. The arithmetic of each cell is that of
the separate kernels, in the same order, so the results are bit for bit those of the separate
passes (tests/flow/test_multigrid_fused.py), with one difference: the restriction sums the
residuals of the red cells only. After the black half-sweep every black cell satisfies its own
equation exactly for the red values around it, which no later stage of the pass changes, so the
black residuals are zero in exact arithmetic (the separate residual kernel returns them as
round-off) and computing them would be half of the residual's cost; the V-cycle stays the same
symmetric linear operator. Periodic levels keep the separate kernels (the seam terms reach
across the whole level; with an odd number of cells a seam joins two cells of one colour).

Each row's end cells are peeled off and its interior cells run with constant neighbour flags
(:func:`_colour_row`): a loop with no branch on the neighbours. Both changes are measured at
1024^2 in benchmarks/README.md. The helpers are plain compiled functions, which LLVM inlines and
specialises on the constant flags: with numba's own ``inline="always"`` the two passes took more
than three times as long to compile for the same speed, and with the flags passed as variables
(no peeling) the loops ran 4x slower (compile times and speeds measured there too).
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def _neighbours(k0, k1, k2, x, i, j, k, s, im, ip, jm, jp, km, kp):
    """``s + sum_j k_ij x_j`` over the neighbours of cell ``(i, j, k)`` whose flags are set (walls),
    in the order of the separate kernels of :mod:`._mg_kernels` (so the sums are bit for bit theirs)."""
    if im:
        s += k0[i - 1, j, k] * x[i - 1, j, k]
    if ip:
        s += k0[i, j, k] * x[i + 1, j, k]
    if jm:
        s += k1[i, j - 1, k] * x[i, j - 1, k]
    if jp:
        s += k1[i, j, k] * x[i, j + 1, k]
    if km:
        s += k2[i, j, k - 1] * x[i, j, k - 1]
    if kp:
        s += k2[i, j, k] * x[i, j, k + 1]
    return s


@njit(cache=True)
def _cell(a, k0, k1, k2, x, b, rc, i, j, k, im, ip, jm, jp, km, kp, residual):
    """Cell ``(i, j, k)``: its Gauss-Seidel update, or (``residual``) its residual
    ``b - (D + K) x`` added into its coarse cell of ``rc``."""
    if residual:
        s = _neighbours(k0, k1, k2, x, i, j, k, 0.0, im, ip, jm, jp, km, kp)
        rc[i // 2, j // 2, k // 2] += b[i, j, k] - a[i, j, k] * x[i, j, k] + s
    else:
        x[i, j, k] = _neighbours(k0, k1, k2, x, i, j, k, b[i, j, k], im, ip, jm, jp, km, kp) / a[i, j, k]


@njit(cache=True)
def _colour_row(a, k0, k1, k2, x, b, rc, i, j, color, residual):
    """:func:`_cell` on the cells of ``color`` (``(i + j + k) % 2 == color``) of row ``(i, j)`` (walls).

    The first and last cells of the row are peeled off, and the interior cells of a row inside the
    level (and of a 2-D level's inner rows) run with every neighbour flag a constant."""
    n0, n1, n2 = x.shape
    im, ip, jm, jp = i > 0, i < n0 - 1, j > 0, j < n1 - 1
    k = (i + j + color) % 2
    if k == 0:
        _cell(a, k0, k1, k2, x, b, rc, i, j, 0, im, ip, jm, jp, False, n2 > 1, residual)
        k = 2
    if im and ip and jm and jp:  # inside a 3-D level
        while k < n2 - 1:
            _cell(a, k0, k1, k2, x, b, rc, i, j, k, True, True, True, True, True, True, residual)
            k += 2
    elif n0 == 1 and jm and jp:  # inside a 2-D level, viewed as (1, n0, n1)
        while k < n2 - 1:
            _cell(a, k0, k1, k2, x, b, rc, i, j, k, False, False, True, True, True, True, residual)
            k += 2
    else:
        while k < n2 - 1:
            _cell(a, k0, k1, k2, x, b, rc, i, j, k, im, ip, jm, jp, True, True, residual)
            k += 2
    if k == n2 - 1:
        _cell(a, k0, k1, k2, x, b, rc, i, j, k, im, ip, jm, jp, k > 0, False, residual)


@njit(cache=True)
def _lag(shape):
    return shape[1] if shape[0] > 1 else 1


@njit(cache=True)
def _pre_smooth_restrict(a, k0, k1, k2, x, b, rc):
    """``x`` = red from zero, then black; ``rc = P^T (b - (D + K) x)`` (walls; one pass), summing
    the red cells' residuals (the black cells' are zero after their half-sweep)."""
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
            _colour_row(a, k0, k1, k2, x, b, rc, t1 // n1, t1 % n1, 1, False)
        t2 = t - 2 * lag
        if 0 <= t2 < rows:  # the residual of row t2's red cells, summed into their coarse cells
            _colour_row(a, k0, k1, k2, x, b, rc, t2 // n1, t2 % n1, 0, True)


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
            _colour_row(a, k0, k1, k2, x, b, xc, t1 // n1, t1 % n1, 1, False)
        t2 = t - 2 * lag
        if 0 <= t2 < rows:
            i, j = t2 // n1, t2 % n1
            _colour_row(a, k0, k1, k2, x, b, xc, i, j, 0, False)
            for k in range(n2):
                dot += b[i, j, k] * x[i, j, k]
    return dot
