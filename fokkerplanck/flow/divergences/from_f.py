r"""Any f-divergence from its generator f alone (:func:`divergence_from_f`)."""

from __future__ import annotations

import numpy as np

from .base import Divergence, register

__all__ = ["divergence_from_f"]

_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)


_T_MAX = 46.0       # tables cover v = e^t in [e^-46, e^46] ~ [1e-20, 1e20]
_PANEL = 0.5        # panel width in t = ln v: 20-point Gauss-Legendre is exact to round-off there


def _as_array_function(fun, name):
    """``fun`` applied elementwise to float arrays (vectorised if it only takes scalars)."""
    def call(x):
        x = np.asarray(x, dtype=float)
        try:
            out = np.asarray(fun(x), dtype=float)
            if out.shape != x.shape:
                out = np.broadcast_to(out, x.shape).astype(float)
        except (TypeError, ValueError):
            out = np.vectorize(lambda t: float(fun(float(t))), otypes=[float])(x)
        return out
    call.__name__ = name
    return call


class _NumericalPhi:
    r"""The functions of a divergence built from :math:`f''` by quadrature (arrays in, arrays out).

    With :math:`t = \ln v`: :math:`\Phi(v) = \int_0^{t} e^{2\tau} f''(e^\tau)\,d\tau` (so
    :math:`\Phi(1) = 0`, :math:`\Phi' = v f''`) and the antiderivative of :math:`\Phi^{-1}` along
    :math:`w = \Phi(v)`, :math:`F(\Phi(v)) = \int_0^{t} e^{3\tau} f''(e^\tau)\,d\tau` (its
    derivative in w is :math:`v^2 f''(v) / \Phi'(v) = v = \Phi^{-1}(w)`). Both by 20-point
    Gauss-Legendre on panels of width 1/2 in t (round-off accurate for smooth f''), tabulated at the
    panel ends; :math:`\Phi^{-1}` by safeguarded Newton in t. Since F is computed from the same
    f'' as :math:`\Phi`, the step energy and its gradient are consistent to round-off, which the
    line search of the resolvent needs.
    """

    def __init__(self, f2):
        self.f2 = f2
        self.edges = np.arange(-_T_MAX, _T_MAX + 0.5 * _PANEL, _PANEL)
        a, b = self.edges[:-1], self.edges[1:]
        p = self._panel(a, b, 2.0)
        q = self._panel(a, b, 3.0)
        i0 = int(np.argmin(np.abs(self.edges)))  # t = 0
        self.P = np.concatenate([[0.0], np.cumsum(p)])
        self.P -= self.P[i0]
        self.Q = np.concatenate([[0.0], np.cumsum(q)])
        self.Q -= self.Q[i0]
        if not (np.all(np.isfinite(self.P)) and np.all(np.isfinite(self.Q)) and np.all(p > 0)):
            raise ValueError("f'' must be finite and positive on (0, inf) (f strictly convex), "
                             "at least on [1e-20, 1e20].")
        # Phi(0+) is finite when the integrand e^{2t} f''(e^t) has become negligible at t = -46
        lead = float(np.exp(2 * self.edges[0]) * f2(np.exp(self.edges[0])))
        self.w_lower = float(self.P[0]) if lead < 1e-4 * float(f2(np.array(1.0))) else -np.inf

    def _panel(self, a, b, power):
        a = np.asarray(a, dtype=float)[..., None]
        b = np.asarray(b, dtype=float)[..., None]
        t = 0.5 * (b - a) * _GL_X + 0.5 * (a + b)
        vals = np.exp(power * t) * self.f2(np.exp(t))
        return np.sum(vals * _GL_W, axis=-1) * 0.5 * (b[..., 0] - a[..., 0])

    def _integral(self, t, table, power):
        t = np.clip(np.asarray(t, dtype=float), self.edges[0], self.edges[-1])
        k = np.clip(np.searchsorted(self.edges, t, side="right") - 1, 0, self.edges.size - 2)
        return table[k] + self._panel(self.edges[k], t, power)

    def phi(self, v):
        v = np.asarray(v, dtype=float)
        with np.errstate(divide="ignore"):
            t = np.log(np.maximum(v, 0.0))
        out = self._integral(t, self.P, 2.0)
        low = t < self.edges[0]
        if np.any(low):  # below the table: linear in v down to Phi(0+) (or -inf)
            vmin = np.exp(self.edges[0])
            out = np.where(low, self.P[0] - (1.0 - np.maximum(v, 0.0) / vmin) * (self.P[0] - self.w_lower)
                           if np.isfinite(self.w_lower) else self.P[0] + t - self.edges[0], out)
        return out

    def phi_prime(self, v):
        v = np.asarray(v, dtype=float)
        out = np.zeros_like(v)
        pos = v > 0
        out[pos] = v[pos] * self.f2(v[pos])
        return out

    def phi_inv(self, w):
        w = np.asarray(w, dtype=float)
        shape = w.shape
        w = w.ravel()
        k = np.clip(np.searchsorted(self.P, w, side="right") - 1, 0, self.P.size - 2)
        lo, hi = self.edges[k].copy(), self.edges[k + 1].copy()
        t = np.clip(lo + (w - self.P[k]) / (self.P[k + 1] - self.P[k]) * _PANEL, lo, hi)
        for _ in range(60):
            g = self._integral(t, self.P, 2.0) - w
            lo = np.where(g < 0, t, lo)
            hi = np.where(g > 0, t, hi)
            d = np.exp(2 * t) * self.f2(np.exp(t))
            tn = t - g / d
            bad = ~((tn > lo) & (tn < hi))
            tn = np.where(bad, 0.5 * (lo + hi), tn)
            if np.all(np.abs(tn - t) <= 1e-15 * np.maximum(1.0, np.abs(t))):
                t = tn
                break
            t = tn
        v = np.exp(t)
        below = w < self.P[0]
        if np.any(below):
            vmin = np.exp(self.edges[0])
            if np.isfinite(self.w_lower):
                frac = np.clip((w - self.w_lower) / (self.P[0] - self.w_lower), 0.0, 1.0)
                v = np.where(below, vmin * frac, v)
            else:
                v = np.where(below, vmin * np.exp(w - self.P[0]), v)
        v = np.where(w >= self.P[-1], np.exp(self.edges[-1]), v)
        return v.reshape(shape)

    def phi_inv_prime(self, w):
        v = self.phi_inv(w)
        with np.errstate(divide="ignore"):
            return 1.0 / self.phi_prime(v)

    def phi_inv_antiderivative(self, w):
        v = self.phi_inv(w)
        with np.errstate(divide="ignore"):
            t = np.log(np.maximum(v, 0.0))
        out = self._integral(t, self.Q, 3.0)
        return np.where(t < self.edges[0], self.Q[0] + np.maximum(v, 0.0) * (np.asarray(w) - self.P[0]), out)


def _power_law_ends(f2_raw, lo=1e-5, hi=1e5):
    """f'' by differences on ``[lo, hi]``, continued as a power law outside (where differences of f
    lose all digits); exact for the power-law generators (KL, reverse KL, chi^2, Hellinger, alpha)."""
    a = np.array([lo, 10 * lo, hi / 10, hi])
    fa = f2_raw(a)
    if not (np.all(np.isfinite(fa)) and np.all(fa > 0)):
        raise ValueError(f"f'' computed by differences is not positive on [{lo:g}, {hi:g}]: is f strictly "
                         "convex? Pass f_second to give it exactly.")
    p_lo = np.log(fa[1] / fa[0]) / np.log(10.0)
    p_hi = np.log(fa[3] / fa[2]) / np.log(10.0)

    def f2(x):
        x = np.asarray(x, dtype=float)
        mid = np.clip(x, lo, hi)
        out = f2_raw(mid)
        out = np.where(x < lo, fa[0] * (np.maximum(x, 1e-300) / lo) ** p_lo, out)
        return np.where(x > hi, fa[3] * (x / hi) ** p_hi, out)
    return f2


def divergence_from_f(name, f, *, f_prime=None, f_second=None, phi=None, phi_prime=None, phi_inv=None,
                      phi_inv_prime=None, phi_inv_antiderivative=None, w_lower=None, variable=None,
                      long_name=None, register_as=()):
    r"""A :class:`Divergence` from its generator f alone, for :func:`fokkerplanck.solve`.

    The gradient flow of :math:`D_f(\rho\,\|\,\rho_d)` is
    :math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))` with :math:`\Phi'(v) = v f''(v)`
    (docs/mathematics.md, section 2; docs/guide/divergence_family.md). The resolvent needs :math:`\Phi`, its
    inverse, the inverse's derivative and an antiderivative of the inverse. Whatever you do not pass
    is built from :math:`f''` (given, or from ``f_prime`` or ``f`` by central differences) by
    :class:`_NumericalPhi`; closed forms you pass are used as they are.

    Parameters
    ----------
    name : str
        Name of the divergence (``solve(..., divergence=name)`` after :func:`register`).
    f : callable
        Convex generator on ``(0, inf)`` (called on float arrays, or on scalars), ``f(1) = 0``.
    f_prime, f_second : callable, optional
        :math:`f'` and :math:`f''` (``f_second > 0`` on ``(0, inf)``). Without them they are
        computed by central differences (f': relative accuracy about 1e-8; f'' from f' on
        ``[1e-5, 1e5]``, about 1e-9; f'' from f alone on ``[1e-2, 1e2]``, about 1e-6) and
        continued as a power law outside that range (exact for power-law f'': KL, reverse KL,
        chi^2, Hellinger, alpha-divergences): pass ``f_second`` when you know it.
    phi, phi_prime, phi_inv, phi_inv_prime, phi_inv_antiderivative : callable, optional
        Closed forms (any additive constant in :math:`\Phi`; the flow does not see it). If you pass
        ``phi`` you must pass ``phi_inv``, ``phi_inv_prime`` and ``phi_inv_antiderivative`` too
        (they must be mutually consistent), and ``w_lower`` when :math:`\Phi(0^+)` is finite.
    w_lower : float, optional
        :math:`\Phi(0^+)` (``-inf`` if unbounded); computed with the numerical :math:`\Phi`.
    variable : {"w", "v"}, optional
        Newton variable (see :class:`Divergence`); default ``"v"`` when the diffusion is
        degenerate at 0 (:math:`\Phi'(10^{-12}) < 10^{-4}\Phi'(1)`), else ``"w"``.
    long_name : str, optional
    register_as : sequence of str
        If given (or ``True``), :func:`register` the divergence under ``name`` and these aliases.

    Returns
    -------
    Divergence
        Without compiled kernels (``kernels=None``): the solver uses the sparse Newton path, in 1-D too.

    Raises
    ------
    ValueError
        If f is not normalised (``|f(1)| > 1e-12``), not strictly convex or not finite on the
        table ``[1e-20, 1e20]``, or the closed forms are incomplete.

    Examples
    --------
    Reverse Kullback-Leibler, :math:`f(x) = x - 1 - \ln x` (:math:`\Phi = \ln v`):

    >>> import numpy as np
    >>> from fokkerplanck.divergences import divergence_from_f
    >>> rkl = divergence_from_f("reverse-kl", lambda x: x - 1 - np.log(x), f_second=lambda x: 1 / x**2)
    >>> round(float(rkl.phi(np.array([np.e]))[0]), 12), rkl.phi_prime_at_one, rkl.variable
    (1.0, 1.0, 'w')
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}.")
    if not callable(f):
        raise ValueError("f must be callable as f(x) on float arrays (or scalars).")
    for label, fun in (("f_prime", f_prime), ("f_second", f_second), ("phi", phi), ("phi_prime", phi_prime),
                       ("phi_inv", phi_inv), ("phi_inv_prime", phi_inv_prime),
                       ("phi_inv_antiderivative", phi_inv_antiderivative)):
        if fun is not None and not callable(fun):
            raise ValueError(f"{label} must be callable, got {fun!r}.")
    if variable not in (None, "w", "v"):
        raise ValueError(f"variable must be 'w', 'v' or None, got {variable!r}.")
    closed = (phi, phi_inv, phi_inv_prime, phi_inv_antiderivative)
    if any(c is not None for c in closed) and not all(c is not None for c in closed):
        raise ValueError("pass all of phi, phi_inv, phi_inv_prime and phi_inv_antiderivative, or none of them.")
    f_arr = _as_array_function(f, "f")
    f1 = float(f_arr(np.array([1.0]))[0])
    if not abs(f1) <= 1e-12:
        raise ValueError(f"f must be normalised so that f(1) = 0, got f(1) = {f1:.3g}; subtract it.")

    if f_prime is not None:
        fp_arr = _as_array_function(f_prime, "f_prime")
    else:
        def fp_arr(x):
            x = np.asarray(x, dtype=float)
            e = 1e-6 * np.maximum(np.abs(x), 1e-12)
            e = np.minimum(e, 0.5 * np.abs(x)) if np.all(x > 0) else e
            return (f_arr(x + e) - f_arr(x - e)) / (2 * e)
    if f_second is not None:
        f2_arr = _as_array_function(f_second, "f_second")
    else:
        if f_prime is not None:
            def f2_raw(x):
                e = 1e-5 * x
                return (fp_arr(x + e) - fp_arr(x - e)) / (2 * e)
            ends = (1e-5, 1e5)
        else:
            def f2_raw(x):
                e = 1e-3 * x
                return (f_arr(x + e) - 2 * f_arr(x) + f_arr(x - e)) / (e * e)
            ends = (1e-2, 1e2)
        f2_arr = _power_law_ends(f2_raw, *ends)
    numeric = _NumericalPhi(f2_arr)
    if phi is None:
        phi, phi_inv, phi_inv_prime, phi_inv_antiderivative = (
            numeric.phi, numeric.phi_inv, numeric.phi_inv_prime, numeric.phi_inv_antiderivative)
        if w_lower is None:
            w_lower = numeric.w_lower
    else:
        phi, phi_inv, phi_inv_prime, phi_inv_antiderivative = (
            _as_array_function(phi, "phi"), _as_array_function(phi_inv, "phi_inv"),
            _as_array_function(phi_inv_prime, "phi_inv_prime"),
            _as_array_function(phi_inv_antiderivative, "phi_inv_antiderivative"))
        if w_lower is None:
            w_lower = -np.inf
    phi_prime = numeric.phi_prime if phi_prime is None else _as_array_function(phi_prime, "phi_prime")
    ppo = float(phi_prime(np.array([1.0]))[0])
    if variable is None:
        degenerate = float(phi_prime(np.array([1e-12]))[0]) < 1e-4 * ppo
        variable = "v" if degenerate else "w"
    div = Divergence(name=name, long_name=long_name or name, f=f_arr, f_prime=fp_arr, phi=phi, phi_inv=phi_inv,
                     phi_inv_prime=phi_inv_prime, phi_inv_antiderivative=phi_inv_antiderivative,
                     phi_prime_at_one=ppo, w_lower=float(w_lower), variable=variable,
                     phi_prime=phi_prime)
    if register_as is True:
        register(div)
    elif register_as:
        register(div, *register_as)
    return div
