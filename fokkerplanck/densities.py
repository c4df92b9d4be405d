"""Probability densities used as target (data) density ``rho_d`` and initial density ``rho_0``.

:class:`Gaussian` and :class:`GaussianMixture` know their normalisation, their gradient of the
log-density and how to sample themselves. Anywhere a density is expected, a plain callable
``f(points) -> (n,)`` is accepted too, and for the initial density also an array of values on the
grid cells (see :func:`fokkerplanck.problem.discretize`).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

__all__ = ["Density", "Gaussian", "GaussianMixture"]


def _as_points(points, d: int) -> np.ndarray:
    """Points as a float array of shape (n, d); a 1-D array is accepted when d == 1."""
    x = np.asarray(points, dtype=float)
    if x.ndim == 1 and d == 1:
        return x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"points must have shape (n, {d}) for a {d}-dimensional density, got {x.shape}.")
    return x


def _check_cov(cov, d: int, what: str) -> np.ndarray:
    cov = np.asarray(cov, dtype=float)
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
        mean = np.atleast_1d(np.asarray(mean, dtype=float))
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
        x = _as_points(points, self.ndim) - self.mean
        z = x @ self._chol_inv.T  # rows of L^{-1} (x - m): one (n, d) x (d, d) product
        return self._log_norm - 0.5 * np.sum(z * z, axis=1)

    def grad_logpdf(self, points) -> np.ndarray:
        """``grad ln pdf`` at ``points``: ``-Sigma^{-1} (x - mean)``, shape ``(n, d)``."""
        x = _as_points(points, self.ndim) - self.mean
        return -x @ self._prec

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` independent samples, shape ``(n, d)``; ``seed`` is an int or a numpy Generator."""
        n = _check_n(n)
        rng = np.random.default_rng(seed)
        return self.mean + rng.standard_normal((n, self.ndim)) @ self._chol.T

    def __repr__(self):
        return f"Gaussian(mean={self.mean.tolist()}, cov={self.cov.tolist()})"


class GaussianMixture(Density):
    """A finite mixture ``sum_k w_k N(mean_k, cov_k)``.

    Parameters
    ----------
    weights : sequence of float, shape (K,)
        Non-negative mixture weights; they are normalised to sum to one.
    means : array_like, shape (K, d)
    covs : array_like, shape (K, d, d)

    Examples
    --------
    >>> mix = GaussianMixture(weights=[0.5, 0.5], means=[[-1.0], [2.0]], covs=[[[0.3]], [[0.5]]])
    >>> mix.sample(4, seed=0).shape
    (4, 1)
    """

    def __init__(self, weights, means, covs):
        weights = np.atleast_1d(np.asarray(weights, dtype=float))
        means = np.asarray(means, dtype=float)
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError("GaussianMixture: weights must be a non-empty flat sequence.")
        if means.ndim == 1:
            means = means[:, None]
        if means.ndim != 2 or means.shape[0] != weights.size:
            raise ValueError(f"GaussianMixture: means must have shape (K, d) with K = {weights.size} "
                             f"(one per weight), got {np.shape(means)}.")
        if np.any(weights < 0) or not np.all(np.isfinite(weights)) or weights.sum() <= 0:
            raise ValueError("GaussianMixture: weights must be finite, non-negative and not all zero.")
        covs = np.asarray(covs, dtype=float)
        d = means.shape[1]
        if covs.shape != (weights.size, d, d):
            raise ValueError(f"GaussianMixture: covs must have shape ({weights.size}, {d}, {d}), got {covs.shape}.")
        self.weights = weights / weights.sum()
        self.ndim = d
        self.components = [Gaussian(m, c) for m, c in zip(means, covs)]
        self.means = means
        self.covs = covs

    def _component_logpdfs(self, points) -> np.ndarray:
        x = _as_points(points, self.ndim)
        with np.errstate(divide="ignore"):
            logw = np.log(self.weights)
        return np.stack([lw + c.logpdf(x) for lw, c in zip(logw, self.components)])

    def logpdf(self, points) -> np.ndarray:
        return logsumexp(self._component_logpdfs(points), axis=0)

    def grad_logpdf(self, points) -> np.ndarray:
        """``grad ln pdf`` at ``points``, shape ``(n, d)`` (responsibility-weighted component gradients)."""
        x = _as_points(points, self.ndim)
        lp = self._component_logpdfs(x)
        resp = np.exp(lp - logsumexp(lp, axis=0))
        return sum(r[:, None] * c.grad_logpdf(x) for r, c in zip(resp, self.components))

    def sample(self, n: int, seed=None) -> np.ndarray:
        """``n`` independent samples, shape ``(n, d)``; ``seed`` is an int or a numpy Generator."""
        n = _check_n(n)
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


def _check_n(n) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"the number of samples n must be a positive integer, got {n!r}.")
    return int(n)
