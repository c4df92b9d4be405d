r"""The mathematics of a divergence, in one place.

For an f-divergence :math:`G(\rho) = D_f(\rho\,\|\,\rho_d) = \int f(\rho/\rho_d)\,\rho_d`, the
Wasserstein gradient flow is (docs/mathematics.md, section 2; the paper's eq. 25 and 30-32 for Jensen-Shannon)

.. math::

    \rho_d\, v_t = \nabla\cdot\big(\rho_d \nabla \Phi(v)\big), \qquad v = u/\rho_d,
    \qquad \Phi'(v) = v f''(v).

A :class:`Divergence` bundles ``f``, ``f'``, ``Phi`` and what the implicit resolvent needs: the
inverse :math:`\Phi^{-1}`, its derivative, and an antiderivative :math:`F` of :math:`\Phi^{-1}`
(so that one backward-Euler step is the minimiser of a convex energy, see
:mod:`fokkerplanck.resolvent`). The scalar functions are numba ``@njit`` functions that also
work on numpy arrays, so the same definitions serve the compiled kernels and Python code.

Built in: Jensen-Shannon (``"jsd"``, the paper), Kullback-Leibler (``"kl"``, the linear
Fokker-Planck equation), Pearson chi^2 (``"chi2"``, the porous medium equation) and squared
Hellinger (``"hellinger"``, fast diffusion); docs/guide/divergence_family.md explains each. Any other f:
:func:`divergence_from_f` builds :math:`\Phi`, its inverse and the antiderivative from ``f``
alone (numerically, or from closed forms you pass), and :func:`register` makes it available by
name; the solver does not change.

Newton variable. The resolvent (:mod:`fokkerplanck.resolvent`) minimises the convex step energy
over :math:`w = \Phi(v)`, but it iterates on a *variable* ``s`` that keeps the Newton matrix
bounded and nonsingular: ``s = w`` when :math:`(\Phi^{-1})'` is bounded near the bottom of its
domain (JSD, KL, Hellinger: :math:`\Phi'(0^+) > 0` or infinite), ``s = v`` when the diffusion is
degenerate, :math:`\Phi'(0^+) = 0` (chi^2: :math:`(\Phi^{-1})'(w) = 1/(2\sqrt w)` is infinite
at the bound). :attr:`Divergence.variable` says which, and the bound is ``s >= s_lower``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from numba import njit

__all__ = ["Divergence", "JENSEN_SHANNON", "KULLBACK_LEIBLER", "PEARSON_CHI2", "SQUARED_HELLINGER",
           "get_divergence", "register", "available_divergences", "jsd", "divergence_from_f"]


@dataclass(frozen=True)
class Divergence:
    r"""An f-divergence and the nonlinearity :math:`\Phi` of its gradient flow.

    Attributes
    ----------
    name : str
        Short name used by :func:`fokkerplanck.solve` (``divergence=name``).
    f, f_prime : callable
        The convex generator :math:`f(x)`, normalised so that ``f(1) = 0``, and its derivative.
    phi : callable
        :math:`\Phi(v)`, increasing, with :math:`\Phi'(v) = v f''(v)`.
    phi_inv, phi_inv_prime : callable
        :math:`\Phi^{-1}(w)` and its derivative (positive on the domain).
    phi_inv_antiderivative : callable
        A convex :math:`F` with :math:`F' = \Phi^{-1}`.
    phi_prime_at_one : float
        :math:`\Phi'(1)`: the flow linearised at equilibrium is
        :math:`\rho_d v_t = \Phi'(1)\nabla\cdot(\rho_d\nabla v)`, so long-time rates are
        :math:`\Phi'(1)\lambda_1` (docs/mathematics.md, section 6).
    w_lower : float
        Lower end of the domain of :math:`\Phi^{-1}` (``-inf`` when it is all of R).
    kernel_code : int
        Index of this divergence in the scalar dispatch functions below (:func:`phi_inv_scalar`
        ...), which the compiled 1-D Newton kernel calls; ``-1`` (the default for a new divergence)
        means the solver uses its generic sparse Newton path instead, which needs nothing more.
    variable : {"w", "v"}
        The Newton variable ``s`` of the resolvent: ``"w"`` (:math:`s = \Phi(v)`, the default) or
        ``"v"`` (:math:`s = v`, for degenerate diffusion, :math:`\Phi'(0^+) = 0`).
    phi_prime : callable, optional
        :math:`\Phi'(v) = v f''(v)`; needed when ``variable == "v"`` (the Newton matrix is
        :math:`M + hK\,\mathrm{diag}(\Phi'(v))`).
    """

    name: str
    long_name: str
    f: Callable
    f_prime: Callable
    phi: Callable
    phi_inv: Callable
    phi_inv_prime: Callable
    phi_inv_antiderivative: Callable
    phi_prime_at_one: float
    w_lower: float = -np.inf
    kernel_code: int = -1
    variable: str = "w"
    phi_prime: Callable | None = None

    def __post_init__(self):
        if self.variable not in ("w", "v"):
            raise ValueError(f"Divergence.variable must be 'w' or 'v', got {self.variable!r}.")
        if self.variable == "v" and self.phi_prime is None:
            raise ValueError("a Divergence with variable='v' needs phi_prime (Phi'(v) = v f''(v)).")

    def value(self, v, cell_mass) -> float:
        r""":math:`D_f = \sum_i m_i f(v_i)` with cell masses ``m = rho_d * cell_volume``."""
        return float(np.sum(cell_mass * self.f(v)))

    # --- the Newton variable s of the resolvent (arrays in, arrays out) -----------------------
    @property
    def s_lower(self) -> float:
        """Lower bound of the Newton variable: ``0`` for ``variable == "v"``, else ``w_lower``."""
        return 0.0 if self.variable == "v" else self.w_lower

    def s_from_w(self, w):
        """The Newton variable for ``w = Phi(v)``."""
        return self.phi_inv(w) if self.variable == "v" else np.asarray(w, dtype=float)

    def s_state(self, s):
        r"""``(v, w, dv/ds, dw/ds)`` at the Newton variable ``s`` (all >= 0 derivatives)."""
        s = np.asarray(s, dtype=float)
        if self.variable == "v":
            return s, self.phi(s), np.ones_like(s), self.phi_prime(s)
        return self.phi_inv(s), s, self.phi_inv_prime(s), np.ones_like(s)


# --- Jensen-Shannon (the paper, eq. 3, 18, 30-32) -------------------------------------------

@njit(cache=True)
def _js_f(x):
    # f(x) = 1/2 [ x ln(2x/(1+x)) + ln(2/(1+x)) ], f(1) = 0; x ln(...) -> 0 as x -> 0.
    safe = np.maximum(x, 1e-300)
    return 0.5 * (x * np.log(2.0 * safe / (1.0 + x)) + np.log(2.0 / (1.0 + x)))


@njit(cache=True)
def _js_f_prime(x):
    # f'(x) = 1/2 ln(2x / (1+x)) = dJ/drho (eq. 18)
    return 0.5 * np.log(2.0 * x / (1.0 + x))


@njit(cache=True)
def _js_phi(v):
    return 0.5 * np.log1p(v)


@njit(cache=True)
def _js_phi_inv(w):
    return np.expm1(2.0 * w)


@njit(cache=True)
def _js_phi_inv_prime(w):
    return 2.0 * np.exp(2.0 * w)


@njit(cache=True)
def _js_phi_inv_antiderivative(w):
    return 0.5 * np.expm1(2.0 * w) - w


@njit(cache=True)
def _js_phi_prime(v):
    return 0.5 / (1.0 + v)


JENSEN_SHANNON = Divergence(
    name="jsd", long_name="Jensen-Shannon",
    f=_js_f, f_prime=_js_f_prime, phi=_js_phi, phi_inv=_js_phi_inv, phi_inv_prime=_js_phi_inv_prime,
    phi_inv_antiderivative=_js_phi_inv_antiderivative, phi_prime_at_one=0.25, kernel_code=0,
    phi_prime=_js_phi_prime,
)


# --- Kullback-Leibler KL(rho || rho_d): the linear Fokker-Planck (Langevin) equation -----------

@njit(cache=True)
def _kl_f(x):
    safe = np.maximum(x, 1e-300)
    return x * np.log(safe) - x + 1.0


@njit(cache=True)
def _kl_f_prime(x):
    return np.log(x)


@njit(cache=True)
def _identity(v):
    return v + 0.0


@njit(cache=True)
def _one(w):
    return 0.0 * w + 1.0


@njit(cache=True)
def _half_square(w):
    return 0.5 * w * w


KULLBACK_LEIBLER = Divergence(
    name="kl", long_name="Kullback-Leibler",
    f=_kl_f, f_prime=_kl_f_prime, phi=_identity, phi_inv=_identity, phi_inv_prime=_one,
    phi_inv_antiderivative=_half_square, phi_prime_at_one=1.0, kernel_code=1, phi_prime=_one,
)


# --- Pearson chi^2: f(x) = (x - 1)^2, Phi(v) = v^2, the porous medium equation ----------------
# Degenerate at v = 0 (Phi'(0) = 0): (Phi^{-1})'(w) = 1/(2 sqrt w) is infinite at the bound w = 0,
# so the resolvent iterates on s = v (variable "v"), where the Newton matrix M + 2hK diag(v) is a
# nonsingular M-matrix for every v >= 0.

@njit(cache=True)
def _chi2_f(x):
    return (x - 1.0) ** 2


@njit(cache=True)
def _chi2_f_prime(x):
    return 2.0 * (x - 1.0)


@njit(cache=True)
def _chi2_phi(v):
    return v * v


@njit(cache=True)
def _chi2_phi_prime(v):
    return 2.0 * v


@njit(cache=True)
def _chi2_phi_inv(w):
    return np.sqrt(np.maximum(w, 0.0))


@njit(cache=True)
def _chi2_phi_inv_prime(w):
    return 0.5 / np.sqrt(w)


@njit(cache=True)
def _chi2_phi_inv_antiderivative(w):
    r = np.sqrt(np.maximum(w, 0.0))
    return (2.0 / 3.0) * r * r * r


PEARSON_CHI2 = Divergence(
    name="chi2", long_name="Pearson chi^2",
    f=_chi2_f, f_prime=_chi2_f_prime, phi=_chi2_phi, phi_inv=_chi2_phi_inv, phi_inv_prime=_chi2_phi_inv_prime,
    phi_inv_antiderivative=_chi2_phi_inv_antiderivative, phi_prime_at_one=2.0, w_lower=0.0, kernel_code=2,
    variable="v", phi_prime=_chi2_phi_prime,
)


# --- squared Hellinger: f(x) = (sqrt x - 1)^2, Phi(v) = sqrt v, fast diffusion ----------------
# Singular at v = 0 (Phi'(v) = 1/(2 sqrt v) is infinite), but in w = sqrt v everything is smooth:
# Phi^{-1}(w) = w^2, (Phi^{-1})'(w) = 2w >= 0, so the resolvent iterates on s = w with w >= 0.

@njit(cache=True)
def _hel_f(x):
    return (np.sqrt(np.maximum(x, 0.0)) - 1.0) ** 2


@njit(cache=True)
def _hel_f_prime(x):
    return 1.0 - 1.0 / np.sqrt(x)


@njit(cache=True)
def _hel_phi(v):
    return np.sqrt(np.maximum(v, 0.0))


@njit(cache=True)
def _hel_phi_prime(v):
    return 0.5 / np.sqrt(v)


@njit(cache=True)
def _hel_phi_inv(w):
    r = np.maximum(w, 0.0)
    return r * r


@njit(cache=True)
def _hel_phi_inv_prime(w):
    return 2.0 * np.maximum(w, 0.0)


@njit(cache=True)
def _hel_phi_inv_antiderivative(w):
    r = np.maximum(w, 0.0)
    return r * r * r / 3.0


SQUARED_HELLINGER = Divergence(
    name="hellinger", long_name="squared Hellinger",
    f=_hel_f, f_prime=_hel_f_prime, phi=_hel_phi, phi_inv=_hel_phi_inv, phi_inv_prime=_hel_phi_inv_prime,
    phi_inv_antiderivative=_hel_phi_inv_antiderivative, phi_prime_at_one=0.5, w_lower=0.0, kernel_code=3,
    phi_prime=_hel_phi_prime,
)


# --- scalar dispatch for the compiled kernels (cacheable: no closures) -------------------------
# A new divergence with compiled 1-D kernels adds a branch to each function here and sets its
# kernel_code. Codes: 0 JSD, 1 KL, 2 chi^2, 3 Hellinger.

@njit(cache=True)
def phi_inv_scalar(code, w):
    r""":math:`\Phi^{-1}(w)` of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv(w)
    if code == 2:
        return _chi2_phi_inv(w)
    if code == 3:
        return _hel_phi_inv(w)
    return w


@njit(cache=True)
def phi_inv_prime_scalar(code, w):
    r""":math:`(\Phi^{-1})'(w)` of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv_prime(w)
    if code == 2:
        return _chi2_phi_inv_prime(w)
    if code == 3:
        return _hel_phi_inv_prime(w)
    return 1.0


@njit(cache=True)
def phi_inv_antiderivative_scalar(code, w):
    r""":math:`F(w)`, :math:`F' = \Phi^{-1}`, of the divergence with ``kernel_code == code``."""
    if code == 0:
        return _js_phi_inv_antiderivative(w)
    if code == 2:
        return _chi2_phi_inv_antiderivative(w)
    if code == 3:
        return _hel_phi_inv_antiderivative(w)
    return 0.5 * w * w


@njit(cache=True)
def s_state_scalar(code, s):
    r"""``(v, w, dv/ds, dw/ds, F(w))`` at the Newton variable ``s`` of divergence ``code``.

    ``s = w`` for JSD, KL and Hellinger, ``s = v`` for chi^2 (see :attr:`Divergence.variable`).
    """
    if code == 0:
        em = np.expm1(2.0 * s)
        return em, s, 2.0 * np.exp(2.0 * s), 1.0, 0.5 * em - s
    if code == 2:
        return s, s * s, 1.0, 2.0 * s, (2.0 / 3.0) * s * s * s
    if code == 3:
        return s * s, s, 2.0 * s, 1.0, s * s * s / 3.0
    return s, s, 1.0, 1.0, 0.5 * s * s


_REGISTRY: dict[str, Divergence] = {}


def register(divergence: Divergence, *aliases: str) -> None:
    """Make ``divergence`` available to :func:`fokkerplanck.solve` by name (and aliases)."""
    for key in (divergence.name, *aliases):
        _REGISTRY[key.lower()] = divergence


register(JENSEN_SHANNON, "js", "jensen-shannon", "jensen_shannon")
register(KULLBACK_LEIBLER, "kullback-leibler", "kullback_leibler")
register(PEARSON_CHI2, "chi-squared", "chi_squared", "pearson", "chi^2")
register(SQUARED_HELLINGER, "squared-hellinger", "squared_hellinger", "hellinger2")


def available_divergences() -> list[str]:
    """Primary names of the registered divergences."""
    return sorted({d.name for d in _REGISTRY.values()})


def get_divergence(divergence) -> Divergence:
    """A :class:`Divergence` from a name (``"jsd"``, ``"kl"``, ...) or a :class:`Divergence`."""
    if isinstance(divergence, Divergence):
        return divergence
    if isinstance(divergence, str) and divergence.lower() in _REGISTRY:
        return _REGISTRY[divergence.lower()]
    raise ValueError(f"unknown divergence {divergence!r}; known divergences: "
                     f"{', '.join(available_divergences())} (or pass a fokkerplanck.Divergence).")


def jsd(u, rho_d, cell_volume: float) -> float:
    r"""Jensen-Shannon divergence (eq. 3) between two densities given by their cell values.

    .. math::

        \mathrm{JSD}(u, \rho_d) = \tfrac12\int u \ln\frac{2u}{u+\rho_d}
        + \tfrac12\int \rho_d \ln\frac{2\rho_d}{u+\rho_d}

    It lies in ``[0, ln 2]``; natural logarithms. ``rho_d`` must be positive.
    """
    u = np.asarray(u, dtype=float)
    rho_d = np.asarray(rho_d, dtype=float)
    return float(np.sum(rho_d * _js_f(u / rho_d)) * cell_volume)


# --- any f from the user ------------------------------------------------------------------------

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
        With ``kernel_code = -1``: the solver uses the sparse Newton path, in 1-D too.

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
                     phi_prime_at_one=ppo, w_lower=float(w_lower), kernel_code=-1, variable=variable,
                     phi_prime=phi_prime)
    if register_as is True:
        register(div)
    elif register_as:
        register(div, *register_as)
    return div
