r"""Random Fourier features of the Gaussian kernel and their compiled kernels (arrays in, arrays out).

Both learned maps of Section 3 of Huang & Zhang (2023) are linear in their parameters on these
features: the calibrator's logit :math:`f(x) = a\cdot\varphi(x) + c` (eq. 20-21, see
:mod:`fokkerplanck.gan.calibrator`) and the generator :math:`G_\theta(z) = \theta^\top\psi(z)`
(eq. 23, see :mod:`fokkerplanck.gan.generators`). With :math:`M` features of length scale :math:`h`,

.. math::

    \varphi_k(x) = \sqrt{2/M}\,\cos(\omega_k \cdot x + b_k), \qquad
    \omega_k \sim N(0, h^{-2} I_d),\quad b_k \sim U[0, 2\pi),\quad k = 1..M,

so that :math:`\varphi(x)\cdot\varphi(y) \approx e^{-|x-y|^2/(2h^2)}` (Rahimi & Recht 2007), and the
input gradient of a combination of them is

.. math::

    \nabla_x \sum_k a_k \varphi_k(x) = -\sqrt{2/M}\sum_k a_k \sin(\omega_k\cdot x + b_k)\,\omega_k,

which gives the velocity of eq. 20 analytically.

The loops are compiled by numba and single-threaded on purpose: BLAS-2 products of this size gain
little from threads, and OpenBLAS threads spinning on an oversubscribed machine slowed them 15x in
tests (``benchmarks/gan.md``).

References
----------
A. Rahimi and B. Recht, "Random Features for Large-Scale Kernel Machines", NeurIPS 2007.
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023, Section 3.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from .. import _validation as _v

__all__ = ["RandomFourierFeatures"]


@njit(cache=True, inline="always")
def _phase(x, i, freq, phases, k):  # pragma: no cover - compiled
    """``x[i] . freq[k] + phases[k]``."""
    s = phases[k]
    for j in range(x.shape[1]):
        s += x[i, j] * freq[k, j]
    return s


@njit(cache=True)
def _rff_kernel(x, freq, phases, scale, out):  # pragma: no cover - compiled
    """``out[i, k] = scale * cos(x[i] . freq[k] + phases[k])``."""
    for i in range(x.shape[0]):
        for k in range(freq.shape[0]):
            out[i, k] = scale * math.cos(_phase(x, i, freq, phases, k))


@njit(cache=True)
def _rff_gradient_kernel(x, freq, phases, coef, out):  # pragma: no cover - compiled
    """``out[i] = -sum_k coef[k] sin(x[i] . freq[k] + phases[k]) freq[k]``."""
    d = x.shape[1]
    for i in range(x.shape[0]):
        for j in range(d):
            out[i, j] = 0.0
        for k in range(freq.shape[0]):
            g = -coef[k] * math.sin(_phase(x, i, freq, phases, k))
            for j in range(d):
                out[i, j] += g * freq[k, j]


class RandomFourierFeatures:
    r"""Random Fourier features :math:`\varphi` of the Gaussian kernel :math:`k(x, y) = e^{-|x-y|^2/(2h^2)}`.

    :math:`\varphi_k(x) = \sqrt{2/M}\cos(\omega_k\cdot x + b_k)` with :math:`\omega_k \sim N(0, h^{-2} I_d)`
    and :math:`b_k \sim U[0, 2\pi)` (see the module docstring).

    Parameters
    ----------
    dim : int
        Input dimension d.
    n_features : int
        Number M of features.
    bandwidth : float
        Kernel length scale h.
    seed : int, numpy Generator, SeedSequence or None
        Draws the frequencies and phases.

    Attributes
    ----------
    frequencies : ndarray, shape (M, d)
        The :math:`\omega_k`.
    phases : ndarray, shape (M,)
        The :math:`b_k`.
    scale : float
        :math:`\sqrt{2/M}`.
    """

    def __init__(self, dim, n_features, bandwidth, seed=None):
        self.dim = _v.positive_int("dim", dim)
        self.n_features = _v.positive_int("n_features", n_features)
        self.bandwidth = _v.positive_number("bandwidth", bandwidth)
        rng = np.random.default_rng(seed)
        self.frequencies = rng.standard_normal((self.n_features, self.dim)) / self.bandwidth
        self.phases = rng.uniform(0.0, 2.0 * np.pi, self.n_features)
        self.scale = math.sqrt(2.0 / self.n_features)

    def __call__(self, x) -> np.ndarray:
        """The feature matrix :math:`\\varphi(x)`.

        Parameters
        ----------
        x : array_like, shape (n, d)

        Returns
        -------
        ndarray, shape (n, M)
        """
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty((x.shape[0], self.n_features))
        _rff_kernel(x, self.frequencies, self.phases, self.scale, out)
        return out

    def gradient(self, x, coef) -> np.ndarray:
        r"""The input gradient :math:`\nabla_x \sum_k a_k \varphi_k(x)`.

        Parameters
        ----------
        x : array_like, shape (n, d)
        coef : array_like, shape (M,)
            The coefficients :math:`a_k`.

        Returns
        -------
        ndarray, shape (n, d)
        """
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty_like(x)
        _rff_gradient_kernel(x, self.frequencies, self.phases, self.scale * np.asarray(coef, dtype=float), out)
        return out
