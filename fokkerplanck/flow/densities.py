"""Probability densities used as target (data) density ``rho_d`` and initial density ``rho_0``.

:class:`Gaussian`, :class:`GaussianMixture` and :class:`SampleKDE` (a kernel density estimate of
data samples) know their normalisation, their gradient of the
log-density and how to sample themselves. Anywhere a density is expected, a plain callable
``f(points) -> (n,)`` is accepted too, and for the initial density also an array of values on the
grid cells (see :func:`fokkerplanck.problem.discretize`).
"""

from __future__ import annotations

import numpy as np
from numba import njit
from scipy.linalg import solve_triangular
from scipy.special import beta as _beta_fn, gamma as _gamma_fn, logsumexp, ndtr

from .. import _validation as _v

__all__ = ["Density", "Gaussian", "GaussianMixture", "SampleKDE", "Uniform", "Barenblatt", "barenblatt"]


def _as_points(points, d: int) -> np.ndarray:
    """Points as a float array of shape (n, d); a 1-D array is accepted when d == 1."""
    x = np.asarray(points, dtype=float)
    if x.ndim == 1 and d == 1:
        return x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"points must have shape (n, {d}) for a {d}-dimensional density, got {x.shape}.")
    return x


@njit(cache=True)
def mixture_logpdf(x, means, chol_invs, consts, out):
    r"""``out[i] = ln sum_k exp(c_k - |L_k^{-1}(x_i - mu_k)|^2 / 2)``, the log-density of a Gaussian
    mixture, in one pass over the points.

    .. math::

        \ln \sum_k w_k\,\mathcal N(x; \mu_k, \Sigma_k)
        = a + \ln \sum_k e^{\ell_k - a}, \qquad
        \ell_k = c_k - \tfrac12 \lvert L_k^{-1}(x - \mu_k) \rvert^2,\ a = \max_k \ell_k,

    with :math:`\Sigma_k = L_k L_k^\top` and :math:`c_k = \ln w_k - \tfrac d2 \ln 2\pi - \ln\det L_k`
    (``-inf`` for a zero weight). ``x`` is ``(n, d)``, ``means`` ``(K, d)``, ``chol_invs`` ``(K, d, d)``
    (lower triangular), ``consts`` ``(K,)``. The same sum as :func:`scipy.special.logsumexp` of
    the component log-densities, to round-off, without the ``(K, n)`` array and its passes (at a
    million grid cells and ten components, a tenth of the time; benchmarks/README.md).
    """
    n, d = x.shape
    nk = means.shape[0]
    ell = np.empty(nk)
    for i in range(n):
        a = -np.inf
        nan = False
        for k in range(nk):
            q = 0.0
            for r in range(d):
                z = 0.0
                for c in range(r + 1):
                    z += chol_invs[k, r, c] * (x[i, c] - means[k, c])
                q += z * z
            ell[k] = consts[k] - 0.5 * q
            nan = nan or np.isnan(q)
            a = max(a, ell[k])
        if nan or a == -np.inf:  # a point with a NaN coordinate: NaN, as numpy's formula gives
            out[i] = np.nan if nan else -np.inf
            continue
        s = 0.0
        for k in range(nk):
            s += np.exp(ell[k] - a)
        out[i] = a + np.log(s)


def _check_cov(cov, d: int, what: str) -> np.ndarray:
    with np.errstate(all="ignore"):  # huge entries: the checks below say what is wrong, in one line
        return _checked_cov(_v.float_array(f"{what}: cov", cov), d, what)


def _checked_cov(cov, d: int, what: str) -> np.ndarray:
    if cov.ndim == 0 and d == 1:
        cov = cov.reshape(1, 1)
    if cov.shape != (d, d):
        raise ValueError(f"{what}: covariance must have shape ({d}, {d}) to match the mean, got {cov.shape}.")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{what}: covariance has non-finite entries.")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-14):
        raise ValueError(f"{what}: covariance must be symmetric.")
    try:
        np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"{what}: covariance must be positive definite "
                         f"(eigenvalues {np.linalg.eigvalsh(cov).tolist()}).") from None
    return cov


class Density:
    """Base class of the densities: ``pdf``, ``logpdf``, ``grad_logpdf``, ``sample``."""

    ndim: int

    def logpdf(self, points) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def pdf(self, points) -> np.ndarray:
        """Density values at ``points`` of shape ``(n, d)``; returns shape ``(n,)``."""
        return np.exp(self.logpdf(points))

    def __call__(self, points) -> np.ndarray:
        return self.pdf(points)

    def mass_in(self, lower, upper) -> float | None:
        """Its mass in the box ``[lower, upper]`` (None when it cannot be computed exactly: the
        caller then estimates it on its grid)."""
        return None


class Gaussian(Density):
    """The normal density ``N(mean, cov)`` in any dimension.

    Parameters
    ----------
    mean : sequence of float, shape (d,)
    cov : array_like, shape (d, d)
        Symmetric positive definite covariance.

    Examples
    --------
    >>> g = Gaussian(mean=[0.0], cov=[[1.0]])
    >>> float(g.pdf([[0.0]])[0])  # 1 / sqrt(2 pi)
    0.3989422804014327
    """

    def __init__(self, mean, cov):
        mean = np.atleast_1d(_v.float_array("Gaussian: mean", mean))
        if mean.ndim != 1:
            raise ValueError(f"Gaussian: mean must be a flat sequence of length d, got shape {mean.shape}.")
        if not np.all(np.isfinite(mean)):
            raise ValueError("Gaussian: mean has non-finite entries.")
        self.ndim = mean.size
        self.mean = mean
        self.cov = _check_cov(cov, self.ndim, "Gaussian")
        self._chol = np.linalg.cholesky(self.cov)
        self._chol_inv = solve_triangular(self._chol, np.eye(self.ndim), lower=True)
        self._prec = self._chol_inv.T @ self._chol_inv
        self._log_norm = -0.5 * self.ndim * np.log(2 * np.pi) - np.sum(np.log(np.diag(self._chol)))

    def logpdf(self, points) -> np.ndarray:
        x = np.ascontiguousarray(_as_points(points, self.ndim))
        out = np.empty(x.shape[0])
        mixture_logpdf(x, self.mean[None], self._chol_inv[None], np.array([self._log_norm]), out)
        return out

    def grad_logpdf(self, points) -> np.ndarray:
        """``grad ln pdf`` at ``points``: ``-Sigma^{-1} (x - mean)``, shape ``(n, d)``."""
        x = _as_points(points, self.ndim) - self.mean
        return -x @ self._prec

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` independent samples, shape ``(n, d)``; ``seed`` is an int or a numpy Generator."""
        n = _v.sample_count(n)
        rng = np.random.default_rng(seed)
        return self.mean + rng.standard_normal((n, self.ndim)) @ self._chol.T

    def mass_in(self, lower, upper) -> float:
        """Its mass in the box ``[lower, upper]``: exact in 1-D and for a diagonal covariance, the
        Genz integration of :func:`scipy.stats.multivariate_normal` (absolute error ~1e-5) otherwise,
        with a fixed seed (randomised quasi-Monte Carlo: the same box gives the same number in every
        process, so that a resumed run's metadata is bit-identical)."""
        lo, hi = np.asarray(lower, float), np.asarray(upper, float)
        sd = np.sqrt(np.diag(self.cov))
        if np.count_nonzero(self.cov - np.diag(np.diag(self.cov))) == 0:
            return float(np.prod(ndtr((hi - self.mean) / sd) - ndtr((lo - self.mean) / sd)))
        from scipy.stats import multivariate_normal  # here, not at import: scipy.stats costs ~1 s per process

        return float(multivariate_normal(self.mean, self.cov).cdf(hi, lower_limit=lo, rng=np.random.default_rng(0)))

    def __repr__(self):
        return f"Gaussian(mean={self.mean.tolist()}, cov={self.cov.tolist()})"


class GaussianMixture(Density):
    """A finite mixture ``sum_k w_k N(mean_k, cov_k)``.

    Parameters
    ----------
    weights : sequence of float, shape (K,)
        Non-negative mixture weights summing to one (within 1e-12; anything else is refused, not
        renormalised).
    means : array_like, shape (K, d)
    covs : array_like, shape (K, d, d)

    Examples
    --------
    >>> mix = GaussianMixture(weights=[0.5, 0.5], means=[[-1.0], [2.0]], covs=[[[0.3]], [[0.5]]])
    >>> mix.sample(4, seed=0).shape
    (4, 1)
    """

    def __init__(self, weights, means, covs):
        weights = np.atleast_1d(_v.float_array("GaussianMixture: weights", weights))
        means = _v.float_array("GaussianMixture: means", means)
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError("GaussianMixture: weights must be a non-empty flat sequence.")
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.shape[0] != weights.size:
            raise ValueError(f"GaussianMixture: means must have shape (K, d) with K = {weights.size} "
                             f"(one per weight), got {np.shape(means)}.")
        if np.any(weights < 0) or not np.all(np.isfinite(weights)) or weights.sum() <= 0:
            raise ValueError("GaussianMixture: weights must be finite, non-negative and not all zero.")
        covs = _v.float_array("GaussianMixture: covs", covs)
        d = means.shape[1]
        if covs.shape != (weights.size, d, d):
            raise ValueError(f"GaussianMixture: covs must have shape ({weights.size}, {d}, {d}), got {covs.shape}.")
        if abs(float(weights.sum()) - 1.0) > 1e-12:
            raise ValueError(f"GaussianMixture: weights must sum to 1, got {weights.tolist()} (sum "
                             f"{float(weights.sum()):.15g}); give the weights you mean, e.g. "
                             f"{[round(float(w), 6) for w in weights / weights.sum()]}.")
        self.weights = weights / weights.sum()
        self.ndim = d
        self.components = [Gaussian(m, c) for m, c in zip(means, covs)]
        self.means = means
        self.covs = covs
        with np.errstate(divide="ignore"):  # a zero weight: a component that never counts
            self._consts = np.log(self.weights) + np.array([c._log_norm for c in self.components])
        self._chol_invs = np.stack([c._chol_inv for c in self.components])

    def _component_logpdfs(self, points) -> np.ndarray:
        x = _as_points(points, self.ndim)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        return np.stack([lw + c.logpdf(x) for lw, c in zip(logw, self.components)])

    def logpdf(self, points) -> np.ndarray:
        x = np.ascontiguousarray(_as_points(points, self.ndim))
        out = np.empty(x.shape[0])
        mixture_logpdf(x, np.ascontiguousarray(self.means), self._chol_invs, self._consts, out)
        return out

    def grad_logpdf(self, points) -> np.ndarray:
        """``grad ln pdf`` at ``points``, shape ``(n, d)`` (responsibility-weighted component gradients)."""
        x = _as_points(points, self.ndim)
        lp = self._component_logpdfs(x)
        resp = np.exp(lp - logsumexp(lp, axis=0))
        return sum(r[:, None] * c.grad_logpdf(x) for r, c in zip(resp, self.components))

    def mass_in(self, lower, upper) -> float:
        """Its mass in the box ``[lower, upper]`` (the weighted masses of its components)."""
        return float(sum(w * c.mass_in(lower, upper) for w, c in zip(self.weights, self.components)))

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` independent samples, shape ``(n, d)``; ``seed`` is an int or a numpy Generator."""
        n = _v.sample_count(n)
        rng = np.random.default_rng(seed)
        labels = rng.choice(len(self.components), size=n, p=self.weights)
        z = rng.standard_normal((n, self.ndim))
        out = np.empty((n, self.ndim))
        for k, c in enumerate(self.components):
            sel = labels == k
            out[sel] = c.mean + z[sel] @ c._chol.T
        return out

    def __repr__(self):
        return (f"GaussianMixture(weights={self.weights.tolist()}, means={self.means.tolist()}, "
                f"covs={self.covs.tolist()})")


class Uniform:
    """The uniform density ``1 / |box|`` on the box ``[lower, upper]`` (a callable ``f(points) -> (n,)``,
    constant everywhere; the solver restricts it to its grid's box and normalises it there). The
    chi^2 flow toward it is the porous medium equation (run files: ``kind = "uniform"``)."""

    def __init__(self, lower, upper):
        self.lower, self.upper = np.atleast_1d(np.asarray(lower, float)), np.atleast_1d(np.asarray(upper, float))
        if self.lower.shape != self.upper.shape or not np.all(self.upper > self.lower):
            raise ValueError(f"Uniform needs lower < upper in every coordinate, got {self.lower} and {self.upper}.")
        self.ndim = self.lower.size
        self.value = 1.0 / float(np.prod(self.upper - self.lower))

    def __call__(self, points):
        points = np.asarray(points, float)
        return np.full(points.shape[0], self.value)

    def __repr__(self):
        return f"Uniform(lower={self.lower.tolist()}, upper={self.upper.tolist()})"


class Barenblatt:
    """The Barenblatt profile of :math:`u_\\tau = \\Delta(u^m)` at ``tau``
    centred at ``center``, of mass 1 on R^d (:func:`barenblatt`); a callable. The exact solution
    of the porous medium (m > 1) and fast diffusion (m < 1) equations (run files: ``kind = "barenblatt"``)."""

    def __init__(self, m, tau, center):
        self.m, self.tau = float(m), float(tau)
        self.center = np.asarray(center, float)
        self.ndim = self.center.size

    def at(self, points, tau):
        """The profile at another similarity time ``tau`` (same ``m`` and centre)."""
        return barenblatt(np.asarray(points, float) - self.center, tau, self.m)

    def __call__(self, points):
        return self.at(points, self.tau)

    def __repr__(self):
        return f"Barenblatt(m={self.m}, tau={self.tau}, center={self.center.tolist()})"


class SampleKDE(Density):
    r"""A Gaussian kernel density estimate of samples, as a :class:`~fokkerplanck.Density`.

    .. math::  \hat\rho(x) = \frac1n\sum_{i=1}^n \mathcal N(x;\, x_i,\, H), \qquad
               H = b^2\,\widehat{\mathrm{Cov}}(x_1,\dots,x_n),

    with the bandwidth factor ``b`` from Scott's or Silverman's rule or given (scipy's
    :class:`scipy.stats.gaussian_kde`). With ``background = w > 0`` the density is
    :math:`(1-w)\hat\rho + w\,\mathcal N(\bar x, 100\,\widehat{\mathrm{Cov}})`, a wide component that keeps
    a target strictly positive on the whole box (the flow needs :math:`\rho_d > 0`).

    Parameters
    ----------
    samples : array, shape (n, d)
    bandwidth : "scott", "silverman" or float
    background : float in [0, 1)
    """

    def __init__(self, samples, bandwidth="scott", background: float = 0.0):
        from scipy.stats import gaussian_kde

        x = np.asarray(samples, dtype=float)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"SampleKDE needs an (n, d) array of n >= 2 samples, got shape {x.shape}.")
        if not (0.0 <= background < 1.0):
            raise ValueError(f"background must be a weight in [0, 1), got {background}.")
        if isinstance(bandwidth, str) and bandwidth not in ("scott", "silverman"):
            raise ValueError(f"bandwidth must be 'scott', 'silverman' or a positive number, got {bandwidth!r}.")
        if not isinstance(bandwidth, str) and not (isinstance(bandwidth, (int, float)) and bandwidth > 0):
            raise ValueError(f"bandwidth must be 'scott', 'silverman' or a positive number, got {bandwidth!r}.")
        try:
            self.kde = gaussian_kde(x.T, bw_method=bandwidth)
        except np.linalg.LinAlgError:
            raise ValueError("the samples have a singular covariance (all equal, or on a line/plane); "
                             "a Gaussian KDE needs samples that spread in every direction.") from None
        self.samples = x
        self.ndim = x.shape[1]
        self.bandwidth = bandwidth
        self.background = float(background)
        self._wide = (Gaussian(x.mean(axis=0), 100.0 * np.atleast_2d(np.cov(x.T))) if background > 0 else None)

    def logpdf(self, points) -> np.ndarray:
        x = np.asarray(points, dtype=float)
        if x.ndim == 1 and self.ndim == 1:
            x = x[:, None]
        lp = self.kde.logpdf(x.T)
        if self._wide is None:
            return lp
        return logsumexp([lp + np.log1p(-self.background), self._wide.logpdf(x) + np.log(self.background)], axis=0)

    def grad_logpdf(self, points) -> np.ndarray:
        r"""``grad ln pdf``: :math:`\sum_i r_i(x)\,H^{-1}(x_i - x)` with kernel responsibilities
        :math:`r_i` (and the background component's share), shape ``(n, d)``."""
        x = np.asarray(points, dtype=float)
        if x.ndim == 1 and self.ndim == 1:
            x = x[:, None]
        prec = self.kde.inv_cov
        out = np.empty_like(x)
        chunk = max(1, 2_000_000 // self.samples.shape[0])
        for a in range(0, x.shape[0], chunk):
            xa = x[a:a + chunk]
            diff = self.samples[None, :, :] - xa[:, None, :]                    # (m, n, d)
            logk = -0.5 * np.einsum("mnd,de,mne->mn", diff, prec, diff)
            r = np.exp(logk - logsumexp(logk, axis=1, keepdims=True))
            out[a:a + chunk] = np.einsum("mn,mnd->md", r, diff) @ prec
        if self._wide is None:
            return out
        lp_kde = self.kde.logpdf(x.T) + np.log1p(-self.background)
        lp_wide = self._wide.logpdf(x) + np.log(self.background)
        w = np.exp(lp_wide - np.logaddexp(lp_kde, lp_wide))[:, None]
        return (1 - w) * out + w * self._wide.grad_logpdf(x)

    def sample(self, n: int, seed=None) -> np.ndarray:
        rng = np.random.default_rng(seed)
        out = self.kde.resample(n, seed=rng).T
        if self._wide is not None:
            wide = rng.random(n) < self.background
            out[wide] = self._wide.sample(int(wide.sum()), seed=rng)
        return out

    def __repr__(self):
        return (f"SampleKDE(n={self.samples.shape[0]}, d={self.ndim}, bandwidth={self.bandwidth!r}, "
                f"background={self.background})")


# --- exact self-similar solutions of u_tau = Laplacian(u^m) (the Barenblatt profile) -----------

def barenblatt(x, tau, m, mass=1.0):
    r"""The Barenblatt(-Pattle) solution of :math:`u_\tau = \Delta(u^m)` in :math:`\mathbb R^d`.

    .. math::

        U(x, \tau) = \tau^{-\alpha}\big(C - k\,|x|^2\tau^{-2\beta}\big)_+^{1/(m-1)},\qquad
        \alpha = \frac{d}{d(m-1)+2},\ \beta = \frac{\alpha}{d},\ k = \frac{\alpha(m-1)}{2md},

    with C fixed by the mass (J. L. Vázquez, *The Porous Medium Equation*, 2007, section 4.4).
    For ``m > 1`` (porous medium) it has compact support :math:`|x| \le \sqrt{C/k}\,\tau^\beta`;
    for ``(d-2)/d < m < 1`` (fast diffusion) it is positive with tails :math:`|x|^{-2/(1-m)}`.

    Toward the uniform target :math:`\rho_d = c = 1/|\mathrm{box}|` the chi^2 flow is
    :math:`u_t = c^{-1}\Delta(u^2)` (m = 2, :math:`\tau = t/c`) and the squared-Hellinger flow
    :math:`u_t = \sqrt{c}\,\Delta(u^{1/2})` (m = 1/2, :math:`\tau = \sqrt{c}\,t`), see
    docs/guide/divergence_family.md.

    Parameters
    ----------
    x : ndarray, shape (..., d)
        Points.
    tau : float
        Time (> 0) of the similarity solution.
    m : float
        Exponent, ``m > max(0, (d - 2)/d)``, ``m != 1``.
    mass : float

    Returns
    -------
    ndarray, shape (...)
    """
    x = np.asarray(x, dtype=float)
    d = x.shape[-1]
    if not (tau > 0) or m == 1 or not m > max(0.0, (d - 2) / d):
        raise ValueError(f"need tau > 0 and m > max(0, (d-2)/d), m != 1; got tau={tau}, m={m}, d={d}.")
    alpha = d / (d * (m - 1) + 2)
    beta = alpha / d
    k = alpha * (m - 1) / (2 * m * d)
    C = _barenblatt_constant(m, d, mass)
    r2 = np.sum(x * x, axis=-1) * tau ** (-2 * beta)
    base = C - k * r2
    if m > 1:
        return tau ** (-alpha) * np.maximum(base, 0.0) ** (1 / (m - 1))
    return tau ** (-alpha) * base ** (1 / (m - 1))


def _barenblatt_constant(m, d, mass):
    """C such that the Barenblatt profile has the given mass (radial integral in closed form)."""
    alpha = d / (d * (m - 1) + 2)
    k = abs(alpha * (m - 1) / (2 * m * d))
    area = 2 * np.pi ** (d / 2) / _gamma_fn(d / 2)  # surface of the unit sphere
    # mass = area * C^{q + d/2} k^{-d/2} * I, with q = 1/(m-1)
    if m > 1:
        q = 1 / (m - 1)
        integral = 0.5 * _beta_fn(d / 2, q + 1)            # int_0^1 (1 - s^2)^q s^{d-1} ds
        expo = q + d / 2
    else:
        q = 1 / (1 - m)
        integral = 0.5 * _beta_fn(d / 2, q - d / 2)        # int_0^inf (1 + s^2)^{-q} s^{d-1} ds
        expo = d / 2 - q
    return (mass * k ** (d / 2) / (area * integral)) ** (1 / expo)
