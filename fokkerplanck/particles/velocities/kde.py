r"""The KDE velocity (``"kde"``, self-consistent, no grid) and the base of the fields estimated from the
particles themselves (:class:`KDEField`, also the base of ``"sde"``).

``u`` and :math:`\nabla u` come from a Gaussian kernel density estimate :math:`\hat u` of the
particles (:mod:`fokkerplanck.particles.kde`), :math:`\rho_d` is exact, and the velocity is the
flow's :math:`b = -\nabla f'(v)` written with the divergence's :math:`\Phi'(v) = v f''(v)`:

.. math::

    b = -\Phi'(\hat v)\,(\nabla\ln\hat u - \nabla\ln\rho_d),\qquad \hat v = \hat u/\rho_d,

for every divergence (its ``phi_prime``; a divergence without one uses
:math:`1/(\Phi^{-1})'(\Phi(v))`). For Jensen-Shannon :math:`\Phi'(v) = 1/(2(1+v))`, which is
eq. (49) with ``u`` replaced by :math:`\hat u`. ``v`` is :math:`\hat u/\rho_d` with :math:`\rho_d`
formed from :math:`\ln\rho_d` and floored at the smallest normal number, and ``v`` capped at
e^700, so particles far in the tails of :math:`\rho_d` (where it underflows) get a finite
:math:`\Phi'(v)` (:math:`\to 0` for JSD) rather than NaN. When :math:`\Phi'` is a constant
(:math:`\Phi(v) = \kappa v`, the divergence's ``phi_power`` with exponent 1: KL) ``v`` is not
formed at all.

Periodic grids (``grid`` with :attr:`Grid.periodic <fokkerplanck.Grid>`, issue 21): everything is
made periodic on the periodic axes, so the field is a smooth function on the torus (no jump at the
seam). Positions are wrapped into the box (also the intermediate stages of a Runge-Kutta step);
the KDE sums the kernel over the images of the particles,

.. math::  \hat u(y) = \frac1N\sum_j\sum_{k} K_h(y - x_j - kL),

with every image within ``max(cutoff, 8)`` bandwidths of the box (the Gaussian beyond it is below
:math:`e^{-32}`); the target is the wrapped density
:math:`\rho_d(x) = \sum_k \rho(x + kL)` (as the grid solver's, :mod:`fokkerplanck.flow.periodic`),
its logarithm and gradient summed image shell by image shell until a shell adds less than
``1e-17`` at every point. A bandwidth rule sees the positions cut opposite their circular mean
(a bump across the seam is not read as spread over the whole box).
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .. import _kernels
from .. import kde as _kde
from ..integrators import wrap
from ...flow.densities import Gaussian, GaussianMixture
from ...flow.divergences import get_divergence
from ...flow.periodic import MAX_IMAGES
from .base import Check, Choice, FlowArguments, Integer, Number, Option, VelocityField, density_target, register

__all__ = ["KDEField", "KDEVelocity", "phi_prime_of", "constant_phi_prime"]

_TINY = np.finfo(float).tiny
_V_MAX = math.exp(700.0)


def phi_prime_of(divergence):
    r""":math:`\Phi'(v) = v f''(v)` of ``divergence`` as an array function: its ``phi_prime``, else
    :math:`1/(\Phi^{-1})'(\Phi(v))`."""
    if divergence.phi_prime is not None:
        return divergence.phi_prime
    return lambda v: 1.0 / divergence.phi_inv_prime(divergence.phi(v))


def constant_phi_prime(divergence) -> float | None:
    r"""The constant :math:`\Phi' = \kappa` when :math:`\Phi(v) = \kappa v` + a constant (the
    divergence's ``phi_power`` with exponent 1, e.g. KL), else None."""
    power = divergence.phi_power
    return float(power[0]) if power is not None and power[1] == 1 else None


def _ratio(p, log_rho):
    r""":math:`v = p/\rho_d` from ``p`` (> 0) and :math:`\ln\rho_d`: :math:`\rho_d` floored at the
    smallest normal number, ``v`` capped at e^700 (finite where :math:`\rho_d` underflows)."""
    with np.errstate(over="ignore"):
        v = p / np.maximum(np.exp(log_rho), _TINY)
    return np.minimum(v, _V_MAX, out=v)


class _Bandwidth(Check):
    """A bandwidth rule or value, checked by :func:`fokkerplanck.particles.kde.bandwidth` (its messages)."""

    expected = '"scott", "silverman", a positive number or one per axis'

    def __call__(self, name, value, d=None):
        if isinstance(value, bool):
            raise ValueError(f"{name} must be {self.expected}, got {value!r}.")
        k = d or (1 if isinstance(value, str) else max(1, int(np.size(value))))
        _kde.bandwidth(np.array([[0.0] * k, [1.0] * k]), value)  # two points: every axis has spread
        return value


class _TargetLog:
    r""":math:`\ln\rho_d` and :math:`\nabla\ln\rho_d` at many points in one pass.

    For a Gaussian, :math:`\ln\rho_d = c - \tfrac12 z^\top P z`, :math:`\nabla\ln\rho_d = -Pz`
    with :math:`z = x - m`, :math:`P = \Sigma^{-1}`, sharing ``Pz``; for a mixture the component
    values are combined by log-sum-exp and responsibilities. Built from the public ``mean``/``cov``
    (``weights``/``means``/``covs``) of the densities; other targets use their own
    ``logpdf``/``grad_logpdf``.
    """

    def __init__(self, target):
        self.target = target
        self.components = None
        if isinstance(target, Gaussian):
            specs = [(0.0, target.mean, target.cov)]
        elif isinstance(target, GaussianMixture):
            with np.errstate(divide="ignore"):
                specs = [(float(np.log(w)), m, c) for w, m, c in zip(target.weights, target.means, target.covs)]
        else:
            return
        comps = []
        for logw, mean, cov in specs:
            mean = np.asarray(mean, dtype=float)
            prec = np.linalg.inv(cov)
            _, logdet = np.linalg.slogdet(cov)
            c = logw - 0.5 * mean.size * math.log(2 * math.pi) - 0.5 * logdet
            comps.append((c, mean, prec))
        self.components = comps

    def __call__(self, x):
        if self.components is None:
            return self.target.logpdf(x), self.target.grad_logpdf(x)
        consts = np.array([c for c, _, _ in self.components])
        means = np.array([m for _, m, _ in self.components])
        precs = np.array([pr for _, _, pr in self.components])
        log_rho = np.empty(x.shape[0])
        grad = np.empty_like(x)
        _kernels.mixture_log_grad(x, consts, means, precs, log_rho, grad)
        return log_rho, grad


class _Torus:
    """The periodic axes of a grid: wrapped positions, images of the particles, the wrapped target."""

    def __init__(self, grid):
        self.lower, self.upper = np.asarray(grid.lower, dtype=float), np.asarray(grid.upper, dtype=float)
        self.periodic = tuple(bool(p) for p in grid.periodic)
        self.axes = [a for a in range(grid.ndim) if self.periodic[a]]
        self.period = self.upper - self.lower

    def wrap(self, x):
        return wrap(np.array(x, dtype=float), self.lower, self.upper, self.periodic)

    def bandwidth(self, x, rule):
        """``rule`` applied to ``x`` cut opposite its circular mean on the periodic axes (or h itself)."""
        if not isinstance(rule, str):
            return _kde.bandwidth(x, rule)
        y = x.copy()
        for a in self.axes:
            angle = 2 * np.pi * (x[:, a] - self.lower[a]) / self.period[a]
            centre = self.lower[a] + self.period[a] * np.angle(np.mean(np.exp(1j * angle))) / (2 * np.pi)
            y[:, a] = centre + np.mod(x[:, a] - centre + 0.5 * self.period[a], self.period[a]) - 0.5 * self.period[a]
        return _kde.bandwidth(y, rule)

    def images(self, x, reach):
        """``x`` and its images ``x + kL`` (k != 0 on the periodic axes) within ``reach`` of the box."""
        ranges = [range(-1 - int(reach[a] // self.period[a]), 2 + int(reach[a] // self.period[a])) for a in self.axes]
        parts = [x]
        for k in itertools.product(*ranges):
            if any(k):
                y, keep = x.copy(), np.ones(x.shape[0], dtype=bool)
                for a, ka in zip(self.axes, k):
                    y[:, a] += ka * self.period[a]
                    keep &= (y[:, a] > self.lower[a] - reach[a]) & (y[:, a] < self.upper[a] + reach[a])
                parts.append(y[keep])
        return np.concatenate(parts)

    def log_target(self, target_log, x):
        r""":math:`\ln\rho_d` and :math:`\nabla\ln\rho_d` of the wrapped target, shell by shell of images."""
        log_rho, grad = (np.array(v, dtype=float) for v in target_log(x))
        for r in range(1, MAX_IMAGES + 1):
            added = -np.inf
            for k in itertools.product(range(-r, r + 1), repeat=len(self.axes)):
                if max(abs(c) for c in k) != r:
                    continue
                shift = np.zeros(x.shape[1])
                shift[self.axes] = np.asarray(k, dtype=float) * self.period[self.axes]
                lk, gk = (np.asarray(v, dtype=float) for v in target_log(x + shift))
                new = np.logaddexp(log_rho, lk)
                grad = grad * np.exp(log_rho - new)[:, None] + gk * np.exp(lk - new)[:, None]
                added, log_rho = max(added, float(np.max(lk - new))), new
            if added < math.log(1e-17):
                return log_rho, grad
        raise ValueError(f"the target is wider than {MAX_IMAGES} periods of the periodic axes {self.axes}; its "
                         "wrapped sum does not settle. Use a narrower target or a larger box.")


class KDEField(VelocityField):
    r"""Base of the fields estimated from a KDE :math:`\hat u` of the particles (``"kde"``, ``"sde"``).

    Parameters
    ----------
    target : Gaussian or GaussianMixture
        :math:`\rho_d` (needs ``logpdf`` and ``grad_logpdf``).
    divergence : str or Divergence
        Default ``"jsd"``.
    grid : Grid, optional
        The box; on its periodic axes the field is periodic (module docstring).
    """

    options = (
        Option("bandwidth", _Bandwidth(), "scott", "the KDE's bandwidth h: a rule re-applied to the current "
               "positions at every evaluation, or h itself."),
        Option("estimator", Choice(*_kde.METHODS, what="KDE method"), "auto", "exact pairwise sums, or linear "
               "binning and an FFT convolution (binned); auto: exact up to exact_max^2 pairs."),
        Option("bins_per_bandwidth", Number(), 4.0, "binned estimator: mesh nodes per bandwidth."),
        Option("cutoff", Number(), 8.0, "binned estimator: the kernel's support, in bandwidths."),
        Option("max_nodes", Integer(4), 2 ** 22, "binned estimator: the largest mesh."),
        Option("exact_max", Integer(0), _kde.EXACT_MAX_DEFAULT, "auto estimator: exact when n^2 <= exact_max^2."),
    )
    needs = {"target": "the target density rho_d as a Gaussian or GaussianMixture"}

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``target`` must be a density with ``logpdf`` and ``grad_logpdf``; divergence default ``"jsd"``."""
        density_target(args)
        super().check(args)
        args.divergence = get_divergence(args.divergence or "jsd").name

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "KDEField":
        return cls(args.target, args.divergence, grid=args.grid, **args.options)

    def __init__(self, target, divergence="jsd", *, grid=None, **options):
        if not (hasattr(target, "logpdf") and hasattr(target, "grad_logpdf")):
            raise ValueError(f"velocity={self.name!r} needs a target density with logpdf and grad_logpdf "
                             f"(a Gaussian or GaussianMixture), got {type(target).__name__}.")
        opts = self.check_options(options, target.ndim)
        self.target = target
        self._target_log = _TargetLog(target)
        self.divergence = get_divergence(divergence)
        why = self.unavailable(self.divergence)
        if why is not None:
            raise ValueError(why)
        self.kde_options = dict(bandwidth=opts["bandwidth"], method=opts["estimator"],
                                bins_per_bandwidth=opts["bins_per_bandwidth"], cutoff=opts["cutoff"],
                                max_nodes=opts["max_nodes"], exact_max=opts["exact_max"])
        self._phi_prime = phi_prime_of(self.divergence)
        self._constant = constant_phi_prime(self.divergence)
        self._torus = _Torus(grid) if grid is not None and grid.is_periodic else None

    def _target(self, x):
        r""":math:`\ln\rho_d` and :math:`\nabla\ln\rho_d` at ``x`` (wrapped on a periodic grid)."""
        return self._target_log(x) if self._torus is None else self._torus.log_target(self._target_log, x)

    def _kde(self, x):
        r""":math:`\hat u` and :math:`\nabla\hat u` at ``x`` (over the images on a periodic grid)."""
        if self._torus is None:
            return _kde.evaluate(x, **self.kde_options)
        opts = dict(self.kde_options)
        h = self._torus.bandwidth(x, opts.pop("bandwidth"))
        images = self._torus.images(x, max(opts["cutoff"], 8.0) * h)
        p, g = _kde.evaluate(images, x, bandwidth=h, **opts)
        scale = images.shape[0] / x.shape[0]  # evaluate() divides by the number of images
        return p * scale, g * scale

    def _terms(self, x):
        r""":math:`\nabla\ln\hat u`, :math:`\Phi'(\hat v)` (a column, or the constant) and :math:`\nabla\ln\rho_d` at ``x``."""
        p, g = self._kde(x)
        log_rho, grad_log_rho = self._target(x)
        p = np.maximum(p, _TINY)
        coef = self._constant
        if coef is None:
            coef = self._phi_prime(_ratio(p, np.asarray(log_rho, dtype=float)))[:, None]
        return g / p[:, None], coef, np.asarray(grad_log_rho, dtype=float)


@register
class KDEVelocity(KDEField):
    r"""Self-consistent velocity :math:`b = -\Phi'(\hat v)(\nabla\ln\hat u - \nabla\ln\rho_d)` from a KDE.

    .. math::

        b = -\nabla f'(v) = -v f''(v)\,\nabla\ln v = -\Phi'(v)\,(\nabla\ln u - \nabla\ln\rho_d),
        \qquad v = \hat u/\rho_d,

    for Jensen-Shannon :math:`-\frac{\nabla\ln\hat u - \nabla\ln\rho_d}{2(1 + \hat v)}` (eq. 49 with
    :math:`\hat u`); any divergence (module docstring).

    Step size: the term :math:`-\Phi'(v)\nabla\ln\hat u` acts like a diffusion with coefficient
    :math:`\Phi'(v)` (at most 1/2 for JSD, 1 for KL) resolved on the scale ``h``, so explicit
    steps are stable for roughly :math:`dt \lesssim 4h^2` (JSD; :math:`2h^2` for KL). Measured in
    1-D (benchmarks/particles.md): RK2 with ``h = 0.03`` is accurate at ``dt = 0.005`` and
    degraded at ``dt = 0.02``. The normal-reference bandwidth rules oversmooth here: halving
    Scott's ``h`` at N = 1e5 lowered W1 to the grid solution about 2.5x.

    ``KDEVelocity(target, divergence="jsd", **options)``: the parameters of :class:`KDEField`.
    """

    name = "kde"

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=float) if self._torus is None else self._torus.wrap(x)
        grad_log_u, coef, grad_log_rho = self._terms(x)
        b = grad_log_u - grad_log_rho
        b *= -coef
        return b
