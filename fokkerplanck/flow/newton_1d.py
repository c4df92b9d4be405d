r"""The compiled 1-D Newton iteration of one implicit step, generic in the divergence.

The kernel takes the divergence's *name* as its first argument and calls that divergence's
compiled scalar ``state(s) -> (v, w, dv/ds, dw/ds, F(w))`` (:attr:`Kernels.state` of its registry
entry) through :func:`kernel_state`, which numba resolves at compile time from the registry: the
name is made a compile-time constant (``numba.literally``), so numba compiles one specialisation
per divergence, inlines its ``state`` and caches it on disk like any other kernel. (Passing the
``state`` function itself as an argument works too, but numba cannot cache such kernels.) A call
from Python with a name is typed twice (once as a string, then as a constant) and is not served
from the cache, so each divergence module defines its entry point, a cached wrapper that calls
the kernel with its name as a constant (:attr:`Kernels.newton_1d`); the resolvent calls that.

numba's on-disk cache of such a wrapper is keyed on the wrapper's own file only: a change to this
module is not seen by it, and the stale compiled kernel would run. Each wrapper therefore carries
a "kernel revision" comment line; change it in every divergence module whenever the kernel changes.
"""

from __future__ import annotations

import numpy as np
from numba import literally, njit
from numba.core import types
from numba.extending import overload

__all__ = ["newton_kernel_1d", "kernel_state", "armijo_accepts", "STAGNATION", "STAGNATION_RESIDUAL"]

#: Newton also stops (converged) when its correction is below this relative size, i.e. at the
#: round-off floor of w, provided the residual is below STAGNATION_RESIDUAL. The floor of the
#: residual grows with h (the flux terms h k (w_i - w_j) carry the round-off), so a fixed residual
#: tolerance alone would fail for very large steps.
STAGNATION = 1e-14
STAGNATION_RESIDUAL = 1e-8


def kernel_state(name, s):  # pragma: no cover - replaced by its compiled overload inside kernels
    """``(v, w, dv/ds, dw/ds, F(w))`` at ``s`` for the registered divergence ``name`` (compiled code only)."""
    raise NotImplementedError("kernel_state is called from compiled kernels only")


@overload(kernel_state, jit_options={"cache": True})
def _kernel_state(name, s):
    if not isinstance(name, types.StringLiteral):
        return None  # numba retries with the name as a compile-time constant (numba.literally)
    # at compile time, when every divergence module is loaded (they import this module for their wrappers)
    from .divergences.base import DIVERGENCES

    kernels = DIVERGENCES.get(name.literal_value).kernels
    if kernels is None:
        raise TypeError(f"the divergence {name.literal_value!r} has no compiled kernels")
    state = kernels.state

    def impl(name, s):
        return state(s)

    return impl


@njit(cache=True)
def armijo_accepts(e_trial, e0, alpha, slope, scale):
    """Line-search acceptance on the step energy: sufficient decrease (Armijo, c = 1e-4), or a
    directional derivative ``slope`` below the round-off of E, where the full step is taken.

    ``scale`` is the sum of the magnitudes of the terms of E (its round-off is ~ eps * scale; E
    itself may be near 0, as F has an arbitrary additive constant)."""
    return e_trial <= e0 + 1e-4 * alpha * slope or -slope <= 1e-13 * (scale + 1e-300)


@njit(cache=True)
def _energy_1d(name, s, v_old, m, k, h, wbuf):
    """Step energy E and the sum of the magnitudes of its terms (its round-off scale)."""
    e = 0.0
    scale = 0.0
    n = s.size
    for i in range(n):
        _, w, _, _, F = kernel_state(name, s[i])
        wbuf[i] = w
        e += m[i] * (F - v_old[i] * w)
        scale += m[i] * (abs(F) + abs(v_old[i] * w))
    q = 0.0
    for i in range(k.size):  # n - 1 faces, or n on a periodic interval (face n - 1 joins cell n - 1 to cell 0)
        d = wbuf[i] - wbuf[i + 1 if i < n - 1 else 0]
        q += k[i] * d * d
    return e + 0.5 * h * q, scale + 0.5 * h * q


@njit(cache=True)
def _thomas(a, b, c, r, cp, x):
    """Solve the tridiagonal system (sub ``a``, diagonal ``b``, super ``c``) ``T x = r`` by the Thomas
    algorithm without pivoting (stable for the column diagonally dominant M-matrices here); False if
    a pivot is not positive."""
    n = b.size
    for i in range(n):
        bi = b[i]
        ri = r[i]
        if i > 0:
            bi -= a[i] * cp[i - 1]
            ri -= a[i] * x[i - 1]
        if not (bi > 0.0):
            return False
        cp[i] = c[i] / bi if i < n - 1 else 0.0
        x[i] = ri / bi
    for i in range(n - 2, -1, -1):
        x[i] -= cp[i] * x[i + 1]
    return True


@njit(cache=True)
def newton_kernel_1d(name, s_lower, v_old, s0, m, k, h, tol, max_iter):
    r"""Newton's method with a projected Armijo line search for one 1-D step, compiled and cached.

    Solves the step equation :math:`r(s) = M(v(s) - v_{old}) + hK\,w(s) = 0` (eq. 39-41 of the
    paper for JSD) in the divergence's Newton variable ``s`` (``s = w = Phi(v)``, or ``s = v`` for
    degenerate diffusion; :attr:`fokkerplanck.flow.divergences.Divergence.variable`) subject to
    ``s >= s_lower``. The Newton matrix :math:`J = M\,\mathrm{diag}(v'(s)) + hK\,\mathrm{diag}(w'(s))`
    is tridiagonal with non-positive off-diagonal entries and positive column sums
    :math:`m_j v'(s_j)`: a column diagonally dominant M-matrix, solved by the Thomas algorithm
    without pivoting (stable for such matrices). For ``s = w`` it is the Hessian of the step energy
    :math:`E(w)`; for ``s = v`` it equals :math:`H_w\,\mathrm{diag}(w'(s))`, so the w-direction
    :math:`\mathrm{diag}(w') ds` is the Newton direction of E and the Armijo search on E along the
    projected path :math:`s(\alpha) = \max(s + \alpha\,ds, s_{lower})` always finds a decrease.

    ``name`` is the registered name of a divergence with compiled :class:`Kernels` (module
    docstring); ``m`` the cell masses and ``k`` the ``n - 1`` face coefficients, or ``n`` on a
    periodic interval (the last is the seam face between cell ``n - 1`` and cell 0). Then ``J`` is
    cyclic tridiagonal: it is solved by Sherman-Morrison on two Thomas solves (Numerical Recipes,
    section 2.7: ``J = T + u v^T`` with the corners moved onto ``T``'s first and last diagonal
    entries, which keeps ``T`` a diagonally dominant M-matrix). Returns ``(s, iterations, residual, status)`` (status as in
    :data:`STATUS_MESSAGES`).
    """
    n = v_old.size
    periodic = k.size == n
    s = s0.copy()
    for i in range(n):
        if s[i] < s_lower:
            s[i] = s_lower
    g = np.empty(n)
    w = np.empty(n)
    dv = np.empty(n)
    dwds = np.empty(n)
    cp = np.empty(n)  # Thomas: modified super-diagonal
    ds = np.empty(n)
    sub_d = np.empty(n)  # the Newton matrix: sub-, main and super-diagonal, right-hand side
    dia = np.empty(n)
    sup = np.empty(n)
    rhs = np.empty(n)
    uz = np.empty(n if periodic else 0)  # periodic: the Sherman-Morrison vector u, and T^{-1} u
    z = np.empty(n if periodic else 0)
    st = np.empty(n)
    wbuf = np.empty(n)
    res = np.inf
    status = 1
    it = 0
    e0, scale = _energy_1d(literally(name), s, v_old, m, k, h, wbuf)
    while True:
        # residual of the step equation (= gradient of E in w), in mass units
        for i in range(n):
            vi, wi, dvi, dwi, _ = kernel_state(name, s[i])
            w[i] = wi
            dv[i] = dvi
            dwds[i] = dwi
            g[i] = m[i] * (vi - v_old[i])
        for i in range(k.size):
            j = i + 1 if i < n - 1 else 0
            f = h * k[i] * (w[i] - w[j])
            g[i] += f
            g[j] -= f
        res = 0.0
        for i in range(n):
            res += abs(g[i])
        if not np.isfinite(res):
            status = 3
            break
        if res <= tol:
            status = 0
            break
        if it >= max_iter:
            status = 1
            break
        it += 1
        # J ds = -g, J = diag(m v') + h K diag(w'): row i has sub -h k_{i-1} w'_{i-1},
        # diagonal m_i v'_i + h (k_{i-1} + k_i) w'_i, super -h k_i w'_{i+1}
        # (periodic: the seam face k_{n-1} also enters rows 0 and n - 1 and the two corners)
        for i in range(n):
            kl = k[i - 1] if i > 0 else (k[n - 1] if periodic else 0.0)
            kr = k[i] if (i < n - 1 or periodic) else 0.0
            dia[i] = m[i] * dv[i] + h * (kl + kr) * dwds[i]
            sub_d[i] = -h * kl * dwds[i - 1] if i > 0 else 0.0
            sup[i] = -h * kr * dwds[i + 1] if i < n - 1 else 0.0
            rhs[i] = -g[i]
        if periodic:
            top = -h * k[n - 1] * dwds[n - 1]  # the corner J[0, n-1]
            bottom = -h * k[n - 1] * dwds[0]   # the corner J[n-1, 0]
            gamma = -dia[0]
            dia[0] -= gamma
            dia[n - 1] -= bottom * top / gamma
            for i in range(n):
                uz[i] = 0.0
            uz[0] = gamma
            uz[n - 1] += bottom
            ok = _thomas(sub_d, dia, sup, rhs, cp, ds) and _thomas(sub_d, dia, sup, uz, cp, z)
            if ok:
                fac = (ds[0] + top / gamma * ds[n - 1]) / (1.0 + z[0] + top / gamma * z[n - 1])
                for i in range(n):
                    ds[i] -= fac * z[i]
        else:
            ok = _thomas(sub_d, dia, sup, rhs, cp, ds)
        if not ok:
            status = 4
            break
        slope = 0.0
        dmax = 0.0
        smax = 1.0
        for i in range(n):
            if s[i] <= s_lower and ds[i] < 0.0:
                ds[i] = 0.0  # at the bound and pushed below it: this cell stays (projection)
            slope += g[i] * dwds[i] * ds[i]
            dmax = max(dmax, abs(ds[i]))
            smax = max(smax, abs(s[i]))
        if dmax <= STAGNATION * smax and res <= STAGNATION_RESIDUAL:
            # the Newton correction is below the round-off of s: the residual is at its floor
            status = 0
            break
        if not (slope <= 0.0):
            status = 3 if not np.isfinite(slope) else 2
            break
        alpha = 1.0
        accepted = False
        et = e0
        while alpha > 1e-10:
            for i in range(n):
                st[i] = max(s[i] + alpha * ds[i], s_lower)
            et, scale_t = _energy_1d(literally(name), st, v_old, m, k, h, wbuf)
            if armijo_accepts(et, e0, alpha, slope, scale):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            status = 2
            break
        for i in range(n):
            s[i] = st[i]
        e0, scale = et, scale_t
    return s, it, res, status
