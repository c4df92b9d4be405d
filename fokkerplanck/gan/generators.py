r"""The generator and the fitting step of Algorithm 1 (eq. 23), point-wise or set-wise.

In Algorithm 1 of Huang & Zhang (2023) a generator :math:`G_\theta` represents the density
:math:`u_t` as the push-forward of latent noise :math:`z \sim N(0, I_n)`. After the calibrator has
moved its outputs :math:`x_i = G_\theta(z_i)` to :math:`y_i = x_i + \varepsilon\,\nabla D(x_i)/(2(1-D(x_i)))`
(eq. 22), the generator is refitted to the moved points by mean-squared error (eq. 23),

.. math::

    \theta \leftarrow \arg\min_\theta \frac1m \sum_{i=1}^m |G_\theta(z_i) - y_i|^2 .

Proposition 8: one gradient step of this MSE with learning rate :math:`\eta` equals
:math:`\varepsilon` times one gradient step (same :math:`\eta`) of the vanilla GAN generator loss
:math:`\frac1m\sum_i \ln(1 - D(G_\theta(z_i)))` (eq. 24): point-wise fitting *is* the vanilla GAN.
Section 3.3 proposes a set-wise similarity instead: pair :math:`x_i` with :math:`y_{\sigma(i)}` by an
optimal assignment :math:`\sigma` (:func:`match`), then fit by MSE.

* :class:`RandomFeatureGenerator`: :math:`G_\theta(z) = \theta^\top\psi(z)`, linear in
  :math:`\theta` on random Fourier features of z (:mod:`fokkerplanck.gan.features`), so that the
  MSE fit is a least-squares problem;
* :func:`fit_generator`: eq. 23, exactly (least squares) or by gradient steps;
* :func:`match`: the optimal assignment of Section 3.3;
* :func:`generator_loss`: the vanilla GAN generator loss of eq. 24 (Proposition 8).

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023,
Section 3.2-3.3, eq. 22-24, Algorithm 1, Proposition 8.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lstsq
from scipy.optimize import linear_sum_assignment

from .. import _validation as _v
from .features import RandomFourierFeatures

__all__ = ["RandomFeatureGenerator", "fit_generator", "match", "generator_loss"]

_FIT_METHODS = ("lstsq", "gradient")


def gaussian_factor(mean, cov, latent_dim=None):
    """``(mean, L, n, d)`` with ``L L^T = cov`` (Cholesky) and the latent dimension ``n >= d``
    (default d): what a generator needs to start as exactly :math:`N(\text{mean}, \text{cov})`."""
    mean = np.atleast_1d(np.asarray(mean, dtype=float))
    d = mean.size
    cov = np.asarray(cov, dtype=float).reshape(d, d)
    n = d if latent_dim is None else _v.positive_int("latent_dim", latent_dim)
    if n < d:
        raise ValueError(f"latent_dim = {n} < d = {d}: a Gaussian of full rank needs latent_dim >= d.")
    return mean, np.linalg.cholesky(cov), n, d


class RandomFeatureGenerator:
    r"""A generator linear in its parameters: :math:`G_\theta(z) = \theta^\top\psi(z)`.

    .. math::

        \psi(z) = \big(1,\ z_1, \dots, z_n,\ \varphi_1(z), \dots, \varphi_K(z)\big), \qquad
        \theta \in \mathbb R^{(1 + n + K)\times d},

    with random Fourier features :math:`\varphi` of the latent noise :math:`z \sim N(0, I_n)`.
    Because G is linear in :math:`\theta`, the MSE fit of eq. 23 is a least-squares problem.

    Parameters
    ----------
    latent_dim : int
        Dimension n of the latent noise.
    dim : int
        Output dimension d.
    n_features : int
        Number K of random features of z (default 200).
    bandwidth : float
        Length scale of the latent features (default 0.5; z has unit variance).
    seed : int, numpy Generator or None
        Draws the latent features.
    theta : array_like, shape (1 + n + K, d), optional
        Initial parameters (default zeros).
    """

    def __init__(self, latent_dim, dim, n_features=200, bandwidth=0.5, seed=None, theta=None):
        self.latent_dim = _v.positive_int("latent_dim", latent_dim)
        self.dim = _v.positive_int("dim", dim)
        self.features = RandomFourierFeatures(self.latent_dim, n_features, bandwidth, seed=seed)
        self.n_params = 1 + self.latent_dim + self.features.n_features
        if theta is None:
            theta = np.zeros((self.n_params, self.dim))
        self.theta = self._check_theta(theta)

    def _check_theta(self, theta):
        theta = np.array(theta, dtype=float)
        if theta.shape != (self.n_params, self.dim):
            raise ValueError(f"theta must have shape ({self.n_params}, {self.dim}), got {theta.shape}.")
        if not np.all(np.isfinite(theta)):
            raise ValueError("theta contains non-finite values.")
        return theta

    @classmethod
    def from_gaussian(cls, mean, cov, latent_dim=None, **options):
        r"""A generator whose output is exactly :math:`N(\text{mean}, \text{cov})`:
        :math:`G(z) = \text{mean} + L z` with :math:`LL^\top = \text{cov}` (feature weights zero).

        ``latent_dim`` defaults to d (it must be at least d)."""
        mean, chol, n, d = gaussian_factor(mean, cov, latent_dim)
        gen = cls(n, d, **options)
        theta = np.zeros((gen.n_params, d))
        theta[0] = mean
        theta[1:1 + d] = chol.T
        gen.theta = theta
        return gen

    def design(self, z) -> np.ndarray:
        r"""The design matrix :math:`\Psi` with rows :math:`\psi(z_i)`, shape (m, 1 + n + K)."""
        z = _v.as_samples(z, "z", self.latent_dim)
        return np.hstack([np.ones((z.shape[0], 1)), z, self.features(z)])

    def __call__(self, z, theta=None) -> np.ndarray:
        """G_theta(z), shape (m, d) (the current theta unless given)."""
        return self.design(z) @ (self.theta if theta is None else theta)

    def sample_latent(self, m, seed=None) -> np.ndarray:
        """``m`` draws of the latent noise z ~ N(0, I_n), shape (m, n)."""
        m = _v.positive_int("m", m)
        return np.random.default_rng(seed).standard_normal((m, self.latent_dim))

    def sample(self, m, seed=None) -> np.ndarray:
        """``m`` generated samples G(z), shape (m, d)."""
        return self(self.sample_latent(m, seed))

    def copy(self):
        """A copy with its own ``theta`` (the random features are shared: they are never modified)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.theta = self.theta.copy()
        return new


def match(x, y) -> np.ndarray:
    r"""Optimal assignment of the points ``y`` to the points ``x`` (set-wise similarity, Section 3.3).

    Returns the permutation :math:`\sigma` minimising :math:`\sum_i |x_i - y_{\sigma(i)}|^2`, so that
    ``y[perm]`` is the target of ``x`` (the discrete optimal transport map between two equal-size
    empirical measures). In 1-D this is the monotone (sorted) matching, exact for any convex cost;
    in d >= 2 it is ``scipy.optimize.linear_sum_assignment`` on the squared distances (O(m^3)).

    Parameters
    ----------
    x, y : array_like, shape (m, d)
        Two sets of equally many points.

    Returns
    -------
    perm : ndarray of int, shape (m,)
        ``y[perm[i]]`` is the partner of ``x[i]``.
    """
    x = _v.as_samples(x, "x")
    y = _v.as_samples(y, "y", x.shape[1])
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"match needs equally many points, got {x.shape[0]} and {y.shape[0]}.")
    if x.shape[1] == 1:
        perm = np.empty(x.shape[0], dtype=np.intp)
        perm[np.argsort(x[:, 0], kind="stable")] = np.argsort(y[:, 0], kind="stable")
        return perm
    cost = np.sum(x * x, axis=1)[:, None] + np.sum(y * y, axis=1)[None, :] - 2.0 * x @ y.T
    rows, cols = linear_sum_assignment(cost)
    perm = np.empty(x.shape[0], dtype=np.intp)
    perm[rows] = cols
    return perm


def fit_generator(generator, z, y, method="lstsq", ridge=1e-6, learning_rate=0.5, n_steps=1) -> np.ndarray:
    r"""Parameters fitting :math:`G_\theta(z_i)` to the targets :math:`y_i` by mean-squared error (eq. 23).

    ``method="lstsq"`` minimises exactly

    .. math::  \frac1m\sum_i |G_\theta(z_i) - y_i|^2 + r\,|\theta - \theta_{\rm old}|^2

    (a ridge ``r`` toward the current parameters keeps the solve well posed when m is small);
    ``method="gradient"`` takes ``n_steps`` gradient steps of the MSE with ``learning_rate``
    :math:`\eta`: :math:`\theta \leftarrow \theta - \eta\,\tfrac2m\Psi^\top(\Psi\theta - Y)` (eq. 23 as
    written in Algorithm 1).

    Parameters
    ----------
    generator : RandomFeatureGenerator
        Not modified; its current ``theta`` is the starting point (and the ridge's centre).
    z : array_like, shape (m, n)
        Latent samples.
    y : array_like, shape (m, d)
        Targets of :math:`G_\theta(z_i)`.
    method : {"lstsq", "gradient"}
    ridge : float
        ``r >= 0`` (``"lstsq"`` only; default 1e-6).
    learning_rate : float
        :math:`\eta > 0` (``"gradient"`` only; default 0.5).
    n_steps : int
        Gradient steps (``"gradient"`` only; default 1).

    Returns
    -------
    theta : ndarray, shape (1 + n + K, d)
        The new parameters.
    """
    method = _v.choice("fitting method", method, _FIT_METHODS)
    psi = generator.design(z)
    y = _v.as_samples(y, "y", generator.dim)
    if y.shape[0] != psi.shape[0]:
        raise ValueError(f"z and y must have the same number of rows, got {psi.shape[0]} and {y.shape[0]}.")
    m = psi.shape[0]
    theta = generator.theta
    if method == "lstsq":
        # the augmented least-squares problem [Psi / sqrt(m); sqrt(r) I] theta = [Y / sqrt(m); sqrt(r) theta_old],
        # solved by pivoted QR (the normal equations would square the condition number of Psi)
        ridge = _v.positive_number("ridge", ridge, allow_zero=True)
        a, b = psi / math.sqrt(m), y / math.sqrt(m)
        if ridge > 0:
            a = np.vstack([a, math.sqrt(ridge) * np.eye(psi.shape[1])])
            b = np.vstack([b, math.sqrt(ridge) * theta])
        return lstsq(a, b, lapack_driver="gelsy", check_finite=False)[0]
    learning_rate = _v.positive_number("learning_rate", learning_rate)  # method == "gradient"
    n_steps = _v.positive_int("n_steps", n_steps)
    theta = theta.copy()
    for _ in range(n_steps):
        theta -= learning_rate * (2.0 / m) * (psi.T @ (psi @ theta - y))
    return theta


def generator_loss(generator, calibrator, z, theta=None) -> float:
    r"""The vanilla GAN generator loss :math:`\frac1m\sum_i \ln(1 - D(G_\theta(z_i)))` (eq. 24).

    Proposition 8: one gradient step of the MSE (eq. 23) toward the moved samples of eq. 22 equals
    :math:`\varepsilon` times one gradient step of this loss (same learning rate).

    Parameters
    ----------
    generator : RandomFeatureGenerator
    calibrator : Calibrator
        Fitted; gives :math:`\ln(1 - D)`.
    z : array_like, shape (m, n)
        Latent samples.
    theta : array_like, optional
        Parameters at which to evaluate (default: the generator's current ``theta``).

    Returns
    -------
    float
    """
    return float(np.mean(calibrator.log_one_minus(generator(z, theta))))
