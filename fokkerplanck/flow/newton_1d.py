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

__all__ = ["newton_kernel_1d", "kernel_state", "armijo_accepts", "STAGNATION", "STAGNATION_RESIDUAL", "LOCAL_ACCEPT"]

#: Newton also stops (converged) when its correction is below this relative size, i.e. at the
#: round-off floor of w, provided the residual is below STAGNATION_RESIDUAL. The floor of the
#: residual grows with h (the flux terms h k (w_i - w_j) carry the round-off), so a fixed residual
#: tolerance alone would fail for very large steps.
STAGNATION = 1e-14
STAGNATION_RESIDUAL = 1e-8

#: The cheap acceptance test of a full Newton step: its residual is at most this fraction of the
#: smallest residual so far (then the Armijo test on the step energy is not needed; see
#: :func:`newton_kernel_1d`). Shared by the compiled 1-D kernel and the sparse Newton iteration.
LOCAL_ACCEPT = 0.5


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
def _evaluate_1d(name, s, v_old, m, k, h, v, w, dw, dia, g):
    """The state at ``s`` in one pass: ``v``, ``w``, ``dw/ds`` into ``v``, ``w``, ``dw``, the diagonal
    of the Newton matrix :math:`m_i v'_i + h (k_{i-1} + k_i) w'_i` into ``dia``, the step residual
    ``r(s)`` into ``g``; returns its L1 norm, the step energy E and the sum of the magnitudes of the
    terms of E (its round-off scale). One call of the divergence's ``state`` per cell (the only
    transcendental work), so the energy of every iterate comes with its residual."""
    e = 0.0
    scale = 0.0
    n = s.size
    for i in range(n):
        vi, wi, dvi, dwi, F = kernel_state(name, s[i])
        v[i] = vi
        w[i] = wi
        dw[i] = dwi
        dia[i] = m[i] * dvi
        g[i] = m[i] * (vi - v_old[i])
        e += m[i] * (F - v_old[i] * wi)
        scale += m[i] * (abs(F) + abs(v_old[i] * wi))
    q = 0.0
    for i in range(k.size):  # n - 1 faces, or n on a periodic interval (face n - 1 joins cell n - 1 to cell 0)
        j = i + 1 if i < n - 1 else 0
        d = w[i] - w[j]
        hk = h * k[i]
        f = hk * d
        g[i] += f
        g[j] -= f
        dia[i] += hk * dw[i]
        dia[j] += hk * dw[j]
        q += k[i] * d * d
    res = 0.0
    for i in range(n):
        res += abs(g[i])
    return res, e + 0.5 * h * q, scale + 0.5 * h * q


@njit(cache=True)
def _thomas(k, h, dw, dia, r, sign, cp, x):
    """Solve ``T x = sign * r`` for the tridiagonal ``T`` with diagonal ``dia``, sub-diagonal
    ``-h k_{i-1} dw_{i-1}`` and super-diagonal ``-h k_i dw_{i+1}`` (the off-diagonal entries of the
    Newton matrix, formed on the fly) by the Thomas algorithm without pivoting (stable for the
    column diagonally dominant M-matrices here); False if a pivot is not positive."""
    n = dia.size
    for i in range(n):
        bi = dia[i]
        ri = sign * r[i]
        if i > 0:
            a = -h * k[i - 1] * dw[i - 1]
            bi -= a * cp[i - 1]
            ri -= a * x[i - 1]
        if not (bi > 0.0):
            return False
        cp[i] = -h * k[i] * dw[i + 1] / bi if i < n - 1 else 0.0
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

    **Acceptance.** Every trial point is evaluated once (:func:`_evaluate_1d`: residual and energy
    together), and an accepted trial's evaluation is the next iteration's. The full step is taken
    when it at least halves the smallest residual so far (the cheap test: where Newton converges
    quadratically, always), else when it passes the Armijo test on E; only then does the search
    backtrack. The cheap test can accept at most :math:`\log_2(r_0/\mathrm{tol})` steps (each
    halves the record residual), so from any start the iteration is eventually the Armijo-Newton
    iteration on the strictly convex E, which converges.

    ``name`` is the registered name of a divergence with compiled :class:`Kernels` (module
    docstring); ``m`` the cell masses and ``k`` the ``n - 1`` face coefficients, or ``n`` on a
    periodic interval (the last is the seam face between cell ``n - 1`` and cell 0). Then ``J`` is
    cyclic tridiagonal: it is solved by Sherman-Morrison on two Thomas solves (Numerical Recipes,
    section 2.7: ``J = T + u v^T`` with the corners moved onto ``T``'s first and last diagonal
    entries, which keeps ``T`` a diagonally dominant M-matrix). Returns ``(s, iterations, residual, status)`` (status as in
    :data:`STATUS_MESSAGES`) and leaves :math:`v(s)` in ``s0`` (the start is read first; ``v`` comes
    from the last evaluation, so the caller need not recompute it: pass a start it may overwrite).
    """
    n = v_old.size
    periodic = k.size == n
    s = s0.copy()
    for i in range(n):
        if s[i] < s_lower:
            s[i] = s_lower
    # 12 work vectors in all (and s0, which then holds v): the trial point's are scratch during the linear solve
    v = s0
    vt = np.empty(n)
    v_in_s0 = True
    st = np.empty(n)
    g = np.empty(n)  # the current iterate's residual, w, dw/ds and the Newton matrix's diagonal
    w = np.empty(n)
    dwds = np.empty(n)
    dia = np.empty(n)  # the Newton matrix's diagonal (its off-diagonal entries are formed in _thomas)
    gt = np.empty(n)  # the same at the trial point
    wt = np.empty(n)
    dwt = np.empty(n)
    diat = np.empty(n)
    ds = np.empty(n)
    status = 1
    it = 0
    res, e0, scale = _evaluate_1d(literally(name), s, v_old, m, k, h, v, w, dwds, dia, g)
    best = res
    while True:
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
        # (dia was formed with the residual, by _evaluate_1d)
        cp = gt  # scratch until the trial point is evaluated: Thomas's modified super-diagonal
        if periodic:
            uz = wt  # scratch too: the Sherman-Morrison vector u, and T^{-1} u
            z = dwt
            top = -h * k[n - 1] * dwds[n - 1]  # the corner J[0, n-1]
            bottom = -h * k[n - 1] * dwds[0]   # the corner J[n-1, 0]
            gamma = -dia[0]
            dia[0] -= gamma
            dia[n - 1] -= bottom * top / gamma
            for i in range(n):
                uz[i] = 0.0
            uz[0] = gamma
            uz[n - 1] += bottom
            ok = _thomas(k, h, dwds, dia, g, -1.0, cp, ds) and _thomas(k, h, dwds, dia, uz, 1.0, cp, z)
            if ok:
                fac = (ds[0] + top / gamma * ds[n - 1]) / (1.0 + z[0] + top / gamma * z[n - 1])
                for i in range(n):
                    ds[i] -= fac * z[i]
        else:
            ok = _thomas(k, h, dwds, dia, g, -1.0, cp, ds)
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
            st[i] = max(s[i] + ds[i], s_lower)  # the full step's trial point
        if dmax <= STAGNATION * smax and res <= STAGNATION_RESIDUAL:
            # the Newton correction is below the round-off of s: the residual is at its floor
            status = 0
            break
        if not (slope <= 0.0):
            status = 3 if not np.isfinite(slope) else 2
            break
        alpha = 1.0
        accepted = False
        while alpha > 1e-10:
            if alpha < 1.0:
                for i in range(n):
                    st[i] = max(s[i] + alpha * ds[i], s_lower)
            rt, et, scale_t = _evaluate_1d(literally(name), st, v_old, m, k, h, vt, wt, dwt, diat, gt)
            if (alpha == 1.0 and rt <= LOCAL_ACCEPT * best) or armijo_accepts(et, e0, alpha, slope, scale):
                accepted = True
                break
            alpha *= 0.5
        if not accepted:
            status = 2
            break
        s, st = st, s  # the trial point and its evaluation become the iterate
        g, gt = gt, g
        w, wt = wt, w
        dwds, dwt = dwt, dwds
        dia, diat = diat, dia
        v, vt = vt, v
        v_in_s0 = not v_in_s0
        res, e0, scale = rt, et, scale_t
        best = min(best, res)
    if not v_in_s0:
        for i in range(n):
            s0[i] = v[i]
    return s, it, res, status
