r"""The step residual ``g = M(v - v_old) + hKw`` of :mod:`fokkerplanck.flow.resolvent`, compiled.

One pass over the grid (viewed as 3-D, leading axes of length 1) writes ``g`` and returns its L1
norm, where the numpy form (:func:`fokkerplanck.flow.operators.apply_laplacian` and the products
around it) makes about a dozen. ``K`` is given by the face arrays of
:func:`fokkerplanck.flow.linear.multigrid.faces_3d` (a periodic axis carries its seam face) and is
applied in flux form, :math:`(Kw)_i = \sum_{j\sim i} k_{ij}(w_i - w_j)`, as the numpy form: the two
differ by the order of the additions only (round-off; tests/flow/test_step_residual.py).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def step_residual_3d(m, v, v_old, w, h, k0, k1, k2, g):
    """``g = m (v - v_old) + h K w`` on 3-D arrays; returns ``sum |g|``."""
    n0, n1, n2 = w.shape
    p0, p1, p2 = k0.shape[0] == n0, k1.shape[1] == n1, k2.shape[2] == n2
    l1 = 0.0
    for i in range(n0):
        for j in range(n1):
            for k in range(n2):
                wi = w[i, j, k]
                s = 0.0
                if i > 0:
                    s += k0[i - 1, j, k] * (wi - w[i - 1, j, k])
                elif p0:
                    s += k0[n0 - 1, j, k] * (wi - w[n0 - 1, j, k])
                if i < n0 - 1:
                    s += k0[i, j, k] * (wi - w[i + 1, j, k])
                elif p0:
                    s += k0[n0 - 1, j, k] * (wi - w[0, j, k])
                if j > 0:
                    s += k1[i, j - 1, k] * (wi - w[i, j - 1, k])
                elif p1:
                    s += k1[i, n1 - 1, k] * (wi - w[i, n1 - 1, k])
                if j < n1 - 1:
                    s += k1[i, j, k] * (wi - w[i, j + 1, k])
                elif p1:
                    s += k1[i, n1 - 1, k] * (wi - w[i, 0, k])
                if k > 0:
                    s += k2[i, j, k - 1] * (wi - w[i, j, k - 1])
                elif p2:
                    s += k2[i, j, n2 - 1] * (wi - w[i, j, n2 - 1])
                if k < n2 - 1:
                    s += k2[i, j, k] * (wi - w[i, j, k + 1])
                elif p2:
                    s += k2[i, j, n2 - 1] * (wi - w[i, j, 0])
                gi = m[i, j, k] * (v[i, j, k] - v_old[i, j, k]) + h * s
                g[i, j, k] = gi
                l1 += abs(gi)
    return l1


def as_3d(x):
    """A 1-, 2- or 3-D array viewed as 3-D (leading axes of length 1), C-contiguous float."""
    x = np.ascontiguousarray(x, dtype=float)
    return x.reshape((1,) * (3 - x.ndim) + x.shape)
