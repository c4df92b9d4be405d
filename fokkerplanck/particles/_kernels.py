r"""Compiled kernels of the particle velocity fields (private): arrays in, arrays out.

Each kernel is a small, pure loop compiled with numba (no Python objects, no allocation of the
result: the caller passes ``out``). The mathematics they implement is documented where they are
used, in :mod:`fokkerplanck.particles.velocities`:

* :func:`corner_weight`: the weight and flat index of one corner of a mesh cell in multilinear
  interpolation (shared with the binned KDE of :mod:`fokkerplanck.particles.kde`);
* :func:`interp_faces_1d`, :func:`interp_faces_2d`, :func:`interp_faces_nd`: staggered (MAC)
  interpolation of face velocities, blended linearly in time between two frames
  (:class:`~fokkerplanck.particles.velocities.grid.GridVelocity`);
* :func:`mixture_log_grad`: :math:`\ln\rho_d` and :math:`\nabla\ln\rho_d` of a Gaussian mixture by
  a streaming log-sum-exp (the KDE and SDE fields).

The KDE velocity and the SDE drift are numpy expressions of the divergence's ``phi_prime``
(:mod:`fokkerplanck.particles.velocities.kde`): measured against the compiled JSD/KL loops they
replaced, equal to 2 ulp of the field's size (KL bit for bit) at the same speed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["corner_weight", "interp_faces_1d", "interp_faces_2d", "interp_faces_nd", "mixture_log_grad"]


@njit(cache=True)
def corner_weight(corner, idx, frac, strides, w):  # pragma: no cover - compiled
    # corner's bit a set: the upper node along axis a; w is multiplied by the multilinear weights
    flat = 0
    for a in range(idx.shape[0]):
        if (corner >> a) & 1:
            w *= frac[a]
            flat += (idx[a] + 1) * strides[a]
        else:
            w *= 1.0 - frac[a]
            flat += idx[a] * strides[a]
    return w, flat


@njit(cache=True)
def interp_faces_1d(x, B0, B1, theta, lower, inv_dx, n_faces, out):  # pragma: no cover - compiled
    last = n_faces - 1
    for i in range(x.shape[0]):
        s = (x[i, 0] - lower) * inv_dx
        if s <= 0.0:
            out[i, 0] = 0.0  # beyond the wall face: zero normal velocity
            continue
        if s >= last:
            out[i, 0] = 0.0
            continue
        j = int(s)
        w = s - j
        b0 = B0[j] + w * (B0[j + 1] - B0[j])
        b1 = B1[j] + w * (B1[j + 1] - B1[j])
        out[i, 0] = b0 + theta * (b1 - b0)


@njit(cache=True)
def _cell(s, nodes):  # pragma: no cover - compiled
    # the cell [j, j + 1] of a row of `nodes` nodes that holds s (clamped to the row), and s - j
    if s < 0.0:
        s = 0.0
    elif s > nodes - 1:
        s = nodes - 1.0
    j = int(s)
    if j > nodes - 2:
        j = nodes - 2
    return j, s - j


@njit(cache=True)
def _bilinear_2d(B0, B1, theta, off, n0, n1, s0, s1):  # pragma: no cover - compiled
    # bilinear interpolation on an (n0, n1) node array stored flat at B[off:], blended in time
    i, f = _cell(s0, n0)
    j, g = _cell(s1, n1)
    k = off + i * n1 + j
    a0 = (1 - f) * ((1 - g) * B0[k] + g * B0[k + 1]) + f * ((1 - g) * B0[k + n1] + g * B0[k + n1 + 1])
    a1 = (1 - f) * ((1 - g) * B1[k] + g * B1[k + 1]) + f * ((1 - g) * B1[k + n1] + g * B1[k + n1 + 1])
    return a0 + theta * (a1 - a0)


@njit(cache=True)
def interp_faces_2d(x, B0, B1, theta, m0, m1, lower0, lower1, inv0, inv1, out):  # pragma: no cover
    off1 = (m0 + 1) * m1  # component 1 follows component 0 ((m0 + 1) x m1 faces)
    for i in range(x.shape[0]):
        f0 = (x[i, 0] - lower0) * inv0  # in face units along axis 0
        f1 = (x[i, 1] - lower1) * inv1
        out[i, 0] = _bilinear_2d(B0, B1, theta, 0, m0 + 1, m1, f0, f1 - 0.5)
        out[i, 1] = _bilinear_2d(B0, B1, theta, off1, m0, m1 + 1, f0 - 0.5, f1)


@njit(cache=True)
def interp_faces_nd(x, B0, B1, theta, offsets, node_shape, strides, lower, inv_dx, shift, out):  # pragma: no cover
    # shift[a, b]: added to the position along axis b (in cell units) for component a; 0 on the
    # normal axis, -0.5 across a walled axis (cell centres), +0.5 across a periodic axis (centres
    # with one ghost layer of wrapped values on each side)
    n, d = x.shape
    idx = np.zeros(d, dtype=np.int64)
    frac = np.zeros(d)
    for i in range(n):
        for a in range(d):
            for b in range(d):
                nodes = node_shape[a, b]
                s = (x[i, b] - lower[b]) * inv_dx[b] + shift[a, b]
                idx[b], frac[b] = _cell(s, nodes)
            acc0 = 0.0
            acc1 = 0.0
            for corner in range(1 << d):
                w, flat = corner_weight(corner, idx, frac, strides[a], 1.0)
                acc0 += w * B0[offsets[a] + flat]
                acc1 += w * B1[offsets[a] + flat]
            out[i, a] = acc0 + theta * (acc1 - acc0)


@njit(cache=True)
def mixture_log_grad(x, consts, means, precs, log_rho, grad):  # pragma: no cover - compiled
    # ln sum_k exp(c_k - z_k' P_k z_k / 2) and its gradient sum_k r_k (-P_k z_k), z_k = x - m_k,
    # with an online (streaming) log-sum-exp over the components
    n, d = x.shape
    K = consts.size
    z = np.empty(d)
    pz = np.empty(d)
    acc = np.empty(d)
    for i in range(n):
        if K == 1:  # a single Gaussian: no log-sum-exp
            q = 0.0
            for a in range(d):
                s = 0.0
                for b in range(d):
                    s += precs[0, a, b] * (x[i, b] - means[0, b])
                q += (x[i, a] - means[0, a]) * s
                grad[i, a] = -s
            log_rho[i] = consts[0] - 0.5 * q
            continue
        top = -np.inf
        tot = 0.0
        for a in range(d):
            acc[a] = 0.0
        for k in range(K):
            q = 0.0
            for a in range(d):
                z[a] = x[i, a] - means[k, a]
            for a in range(d):
                s = 0.0
                for b in range(d):
                    s += precs[k, a, b] * z[b]
                pz[a] = s
                q += z[a] * s
            lk = consts[k] - 0.5 * q
            if lk > top:  # rescale what has been accumulated
                scale = math.exp(top - lk) if top > -np.inf else 0.0
                tot *= scale
                for a in range(d):
                    acc[a] *= scale
                top = lk
            w = math.exp(lk - top)
            tot += w
            for a in range(d):
                acc[a] -= w * pz[a]
        log_rho[i] = top + math.log(tot)
        for a in range(d):
            grad[i, a] = acc[a] / tot
