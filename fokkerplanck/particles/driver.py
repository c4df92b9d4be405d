r"""Particles that follow the distribution-dependent ODE (2)/(49): superposition and self-consistent flows.

Section 5 of Huang & Zhang (2023) builds a solution of the distribution-dependent ODE

.. math::

    \frac{dY_t}{dt} = b(t, Y_t),\qquad
    b = -\nabla\frac{\delta J}{\delta\rho}(u(t)) = -\frac12\nabla\ln\frac{u}{\rho_d + u}
      = -\frac12\Big(\frac{\nabla u}{u} - \frac{\nabla\rho_d + \nabla u}{\rho_d + u}\Big)
    \qquad\text{(eq. 2, 16, 49)}

from the solution ``u`` of the Fokker-Planck equation (25) by Trevisan's superposition
principle: the flow of ``b`` carries :math:`\rho_0` to :math:`u(t)`. For a general
f-divergence (MATH.md section 4) the velocity is :math:`b = -\nabla f'(v)`, :math:`v = u/\rho_d`
(for Jensen-Shannon :math:`f'(v) = \tfrac12\ln\frac{2v}{1+v}`; for KL :math:`\ln v`).
:func:`simulate` moves ``n`` particles with one of these velocity fields:

``"grid"`` (superposition mode)
    ``b`` from a grid :class:`~fokkerplanck.Solution` (see :class:`GridVelocity`): on every
    interior face, :math:`b_f = -(f'(v_j) - f'(v_i))/\Delta`, the face difference that matches
    the finite-volume flux :math:`\rho_f(\Phi(v_i) - \Phi(v_j))/\Delta` of the solver divided by
    the face density :math:`\rho_f\,\bar v` with
    :math:`\bar v = (\Phi(v_j)-\Phi(v_i))/(f'(v_j)-f'(v_i))`, a mean of :math:`v_i, v_j`
    (since :math:`\Phi' = v f''`). On the walls :math:`b_f = 0` (no flux). Interpolated in space
    like a staggered (MAC) field: component ``a`` linearly along axis ``a`` between faces and
    linearly across the other axes between cell centres; linearly in time between saved frames
    (solve with ``t_eval="steps"`` so every step is a frame).
``"kde"`` (self-consistent, no grid)
    ``u`` and :math:`\nabla u` from a Gaussian kernel density estimate of the particles
    themselves (:mod:`fokkerplanck.particles.kde`), :math:`\rho_d` exact:
    :math:`b = -\Phi'(v)\,(\nabla\ln\hat u - \nabla\ln\rho_d)` (the same formula,
    :math:`-\nabla f'(v) = -v f''(v)\nabla\ln v`; :math:`\Phi'(v) = 1/(2(1+v))` for JSD).
``"sde"`` (McKean-Vlasov particles, eq. 30)
    :math:`dX = \tfrac12\nabla\ln(\rho_d + \hat u)(X)\,dt + dW` for JSD
    (:math:`dX = \nabla\ln\rho_d\,dt + \sqrt2\,dW`, Langevin, for KL), Euler-Maruyama, ``u``
    again from a KDE of the particles. Same law as the ODE, different paths.
``"discriminator"``
    The GAN calibrator of Section 3.1 (eq. 20-23): ``b`` from a classifier trained on samples
    ``data`` of :math:`\rho_d` against the particles
    (``fokkerplanck.gan.discriminator_velocity``).
callable
    Any ``field(t, x) -> (n, d)``; ``x`` is the whole ensemble (or a Runge-Kutta stage of it), so
    self-consistent fields estimate from ``x`` itself.

Integrators: fixed-step explicit Euler, midpoint (``"rk2"``) and classical Runge-Kutta
(``"rk4"``) for the ODE modes, Euler-Maruyama for ``"sde"``; steps are shortened to land exactly
on ``t_eval``.

Walls (no-flux). In ``"grid"`` mode the particles live in the solution's box; with
``domain=grid`` the other modes do too. The grid velocity's normal component vanishes on the
walls and is interpolated linearly from them, so the exact flow never reaches a wall; a time step
that overshoots is corrected by *reflection* (``x -> 2 lower - x``, ``x -> 2 upper - x``),
which is the particle form of the no-flux condition (reflecting boundaries of the SDE give
exactly the zero-flux Neumann condition). Runge-Kutta stages outside the box see the velocity of
the nearest boundary point. Reflections are counted in ``Ensemble.counters``.

Robustness where ``u`` is tiny: ``v`` is floored at ``floor`` (default 1e-12) before
:math:`f'(v)` is taken, so no logarithm of 0 (or of a round-off negative) occurs. The set where
the floor acts carries at most ``floor`` of the mass (there ``u <= floor * rho_d`` and rho_d has
mass 1): no particle of an ensemble of 10^6 is expected there. The floor is absolute, not relative
to ``max v``, because ``max v`` (beta of condition 34) can be astronomically large at the edges of
the box (1e16-1e28 for a Gaussian start and a mixture target), which would floor the whole bulk.
Beyond the floor the velocity is that of the discrete solution itself (face differences, no
smoothing).

References
----------
Y.-J. Huang, Y. Zhang, "GANs as gradient flows that converge", JMLR 24(217) 2023, eq. 2, 16,
25, 30, 49 and Section 5.
D. Trevisan, "Well-posedness of multidimensional diffusion processes with weakly differentiable
coefficients", Electron. J. Probab. 21 (2016) 1-41 (superposition principle).
"""

from __future__ import annotations

import math
import time as _time
import warnings
from dataclasses import dataclass, field as _field

import numpy as np
from numba import njit

from . import kde as _kde
from .. import _validation as _v
from .._timeline import milestones
from ..densities import Density, Gaussian, GaussianMixture
from ..divergences import get_divergence
from ..grid import Grid
from ..solution import Solution

__all__ = ["simulate", "Ensemble", "GridVelocity", "KDEVelocity", "SDEDrift", "VELOCITIES", "METHODS",
           "reflect"]

VELOCITIES = ("grid", "kde", "sde", "discriminator")
METHODS = ("euler", "rk2", "rk4")
SDE_METHODS = ("euler-maruyama",)
_KDE_OPTIONS = ("bandwidth", "estimator", "bins_per_bandwidth", "cutoff", "max_nodes", "exact_max")
_GRID_OPTIONS = ("floor",)


# --- results -----------------------------------------------------------------------------------

@dataclass
class Ensemble:
    """Particles moved by :func:`simulate`.

    Attributes
    ----------
    t : ndarray, shape (n_saved,)
        Saved times (``t_eval``).
    positions : ndarray, shape (n_saved, n, d)
        Particle positions at the saved times; particle ``i`` is row ``i`` at every time.
    velocity : str
        ``"grid"``, ``"kde"``, ``"sde"``, ``"discriminator"`` or the name of a custom field.
    method : str
        Integrator: ``"euler"``, ``"rk2"``, ``"rk4"`` or ``"euler-maruyama"``.
    n : int
        Number of particles.
    seed : int, Generator or None
        The seed given to :func:`simulate`.
    dt : float
        Step size (steps are shortened to land on ``t_eval``).
    divergence : str or None
        Divergence whose flow the particles follow (None for custom fields).
    sampling : str
        How the initial positions were drawn: ``"iid"``, ``"sobol"`` or ``"given"``.
    domain : Grid or None
        Box with reflecting walls, or None (unbounded).
    counters : dict
        ``n_steps``, ``n_field_evaluations``, ``n_reflections``, ``wall_time`` and ``cpu_time``
        (seconds, of the time loop; CPU time of this process, all threads).
    options : dict
        ``velocity_options`` and everything else needed to reproduce the run.
    """

    t: np.ndarray
    positions: np.ndarray
    velocity: str
    method: str
    n: int
    seed: object
    dt: float
    divergence: str | None
    sampling: str
    domain: Grid | None = None
    counters: dict = _field(default_factory=dict)
    options: dict = _field(default_factory=dict)

    @property
    def ndim(self) -> int:
        return int(self.positions.shape[2])

    @property
    def final(self) -> np.ndarray:
        """Positions at the last saved time, shape ``(n, d)``."""
        return self.positions[-1]

    def at(self, t) -> np.ndarray:
        """Positions at the saved time ``t`` (must be one of ``self.t``), shape ``(n, d)``."""
        k = int(np.argmin(np.abs(self.t - t)))
        if abs(self.t[k] - t) > 1e-9 * max(1.0, abs(t)):
            raise ValueError(f"t = {t} was not saved; saved times are {self.t.tolist()}.")
        return self.positions[k]

    def wasserstein_to(self, solution: Solution, p=1, **options) -> np.ndarray:
        r""":math:`W_p` between the particles and ``solution.u`` at every saved time of the ensemble.

        Every ``self.t`` must be a saved time of ``solution``; ``options`` go to
        :func:`fokkerplanck.compare.wasserstein`.
        """
        from ..compare import wasserstein

        out = []
        for t, x in zip(self.t, self.positions):
            k = int(np.argmin(np.abs(solution.t - t)))
            if abs(solution.t[k] - t) > 1e-9 * max(1.0, abs(t)):
                raise ValueError(f"the solution has no frame at t = {t}; solve with t_eval including the "
                                 "ensemble's times (or t_eval='steps').")
            out.append(wasserstein(x, (solution.grid, solution.u[k]), p, **options))
        return np.asarray(out)

    def __repr__(self):
        return (f"Ensemble(velocity={self.velocity!r}, method={self.method!r}, n={self.n}, d={self.ndim}, "
                f"n_saved={len(self.t)}, t_final={self.t[-1] if len(self.t) else None}, dt={self.dt}, "
                f"sampling={self.sampling!r}, counters={self.counters})")


# --- walls -------------------------------------------------------------------------------------

def reflect(x: np.ndarray, lower, upper) -> int:
    """Reflect positions outside the box ``[lower, upper]`` back in, in place; returns the count.

    ``x -> 2 lower - x`` below, ``x -> 2 upper - x`` above, then clipped (a jump longer than the
    box would otherwise land outside again).
    """
    below = x < lower
    above = x > upper
    count = int(below.sum() + above.sum())
    if count:
        np.copyto(x, 2.0 * lower - x, where=below)
        np.copyto(x, 2.0 * upper - x, where=above)
        np.clip(x, lower, upper, out=x)
    return count


# --- the grid velocity -------------------------------------------------------------------------

@njit(cache=True)
def _interp_faces_1d(x, B0, B1, theta, lower, inv_dx, n_faces, out):  # pragma: no cover - compiled
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
def _bilinear_2d(B0, B1, theta, off, n0, n1, s0, s1):  # pragma: no cover - compiled
    # bilinear interpolation on an (n0, n1) node array stored flat at B[off:], blended in time
    if s0 < 0.0:
        s0 = 0.0
    elif s0 > n0 - 1:
        s0 = n0 - 1.0
    if s1 < 0.0:
        s1 = 0.0
    elif s1 > n1 - 1:
        s1 = n1 - 1.0
    i = int(s0)
    if i > n0 - 2:
        i = n0 - 2
    j = int(s1)
    if j > n1 - 2:
        j = n1 - 2
    f = s0 - i
    g = s1 - j
    k = off + i * n1 + j
    a0 = (1 - f) * ((1 - g) * B0[k] + g * B0[k + 1]) + f * ((1 - g) * B0[k + n1] + g * B0[k + n1 + 1])
    a1 = (1 - f) * ((1 - g) * B1[k] + g * B1[k + 1]) + f * ((1 - g) * B1[k + n1] + g * B1[k + n1 + 1])
    return a0 + theta * (a1 - a0)


@njit(cache=True)
def _interp_faces_2d(x, B0, B1, theta, m0, m1, lower0, lower1, inv0, inv1, out):  # pragma: no cover
    off1 = (m0 + 1) * m1  # component 1 follows component 0 ((m0 + 1) x m1 faces)
    for i in range(x.shape[0]):
        f0 = (x[i, 0] - lower0) * inv0  # in face units along axis 0
        f1 = (x[i, 1] - lower1) * inv1
        out[i, 0] = _bilinear_2d(B0, B1, theta, 0, m0 + 1, m1, f0, f1 - 0.5)
        out[i, 1] = _bilinear_2d(B0, B1, theta, off1, m0, m1 + 1, f0 - 0.5, f1)


@njit(cache=True)
def _interp_faces_nd(x, B0, B1, theta, offsets, node_shape, strides, lower, inv_dx, out):  # pragma: no cover
    n, d = x.shape
    idx = np.zeros(d, dtype=np.int64)
    frac = np.zeros(d)
    for i in range(n):
        for a in range(d):
            for b in range(d):
                nodes = node_shape[a, b]
                s = (x[i, b] - lower[b]) * inv_dx[b]
                if b != a:
                    s -= 0.5
                if s < 0.0:
                    s = 0.0
                elif s > nodes - 1:
                    s = nodes - 1.0
                j = int(s)
                if j > nodes - 2:
                    j = nodes - 2
                idx[b] = j
                frac[b] = s - j
            acc0 = 0.0
            acc1 = 0.0
            for corner in range(1 << d):
                w = 1.0
                flat = offsets[a]
                for b in range(d):
                    if (corner >> b) & 1:
                        w *= frac[b]
                        flat += (idx[b] + 1) * strides[a, b]
                    else:
                        w *= 1.0 - frac[b]
                        flat += idx[b] * strides[a, b]
                acc0 += w * B0[flat]
                acc1 += w * B1[flat]
            out[i, a] = acc0 + theta * (acc1 - acc0)


def face_velocities(u, rho, spacing, divergence, floor=1e-12):
    r"""Face velocities :math:`b_f = -(f'(v_j) - f'(v_i))/\Delta_a` of one grid frame, walls included.

    Parameters
    ----------
    u, rho : ndarray, grid shape
        Density and target on the cells (``v = u / rho``).
    spacing : (d,) array
    divergence : str or Divergence
    floor : float
        ``v`` is floored at ``floor`` (see the module docstring).

    Returns
    -------
    list of ndarray
        Entry ``a`` has ``shape[a] + 1`` entries along axis ``a`` (faces, the two walls zero) and
        the grid's shape along the other axes.
    """
    div = get_divergence(divergence)
    v = np.asarray(u, dtype=float) / rho
    vmax = float(np.max(v))
    if not vmax > 0 or not np.isfinite(vmax):
        raise ValueError("the grid density has no positive finite values; cannot form a velocity.")
    fp_ = div.f_prime(np.maximum(v, floor))
    out = []
    for a in range(v.ndim):
        grad = np.diff(fp_, axis=a) / spacing[a]
        pad = [(0, 0)] * v.ndim
        pad[a] = (1, 1)
        out.append(np.pad(-grad, pad))
    return out


class GridVelocity:
    r"""The velocity :math:`b = -\nabla f'(u/\rho_d)` of a grid :class:`~fokkerplanck.Solution`.

    ``field(t, x) -> (n, d)``: staggered (MAC) interpolation of the face velocities of
    :func:`face_velocities` in space, linear interpolation between the solution's saved frames in
    time (frames are computed on demand and cached). Positions outside the box see the velocity
    at the nearest boundary point (zero normal component on the walls). Times outside
    ``[sol.t[0], sol.t[-1]]`` use the end frames.

    Parameters
    ----------
    solution : Solution
        Saved frames ``solution.t``, ``solution.u``; ``t_eval="steps"`` gives one per step.
    floor : float
        Floor of ``v = u / rho_d`` (module docstring).
    """

    name = "grid"

    def __init__(self, solution: Solution, floor: float = 1e-12):
        if not isinstance(solution, Solution):
            raise ValueError(f"velocity='grid' needs solution=<fokkerplanck.Solution>, got {type(solution).__name__}.")
        if len(solution.t) == 0:
            raise ValueError("the solution has no saved frames.")
        if not (isinstance(floor, (int, float)) and 0 <= floor < 1):
            raise ValueError(f"floor must be a number in [0, 1), got {floor!r}.")
        self.solution = solution
        self.grid = solution.grid
        self.divergence = get_divergence(solution.divergence)
        self.floor = float(floor)
        self.times = np.asarray(solution.t, dtype=float)
        g = self.grid
        d = g.ndim
        self._lower = np.asarray(g.lower, dtype=float)
        self._inv_dx = 1.0 / np.asarray(g.spacing, dtype=float)
        node_shape = np.array([[g.shape[b] + (1 if b == a else 0) for b in range(d)] for a in range(d)],
                              dtype=np.int64)
        self._node_shape = node_shape
        self._strides = np.array([[int(np.prod(node_shape[a, b + 1:])) for b in range(d)] for a in range(d)],
                                 dtype=np.int64)
        sizes = node_shape.prod(axis=1)
        self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._cache: dict[int, np.ndarray] = {}
        self.n_frames_computed = 0

    def frame(self, k: int) -> np.ndarray:
        """Face velocities of saved frame ``k``, all components concatenated (C order), cached."""
        if k not in self._cache:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            parts = face_velocities(self.solution.u[k], self.solution.target, self.grid.spacing, self.divergence,
                                    self.floor)
            self._cache[k] = np.concatenate([p.ravel() for p in parts])
            self.n_frames_computed += 1
        return self._cache[k]

    def _bracket(self, t):
        K = self.times.size
        if K == 1:
            return 0, 0, 0.0
        k = int(np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, K - 2))
        theta = (t - self.times[k]) / (self.times[k + 1] - self.times[k])
        return k, k + 1, float(min(max(theta, 0.0), 1.0))

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=float)
        k0, k1, theta = self._bracket(t)
        B0, B1 = self.frame(k0), self.frame(k1)
        out = np.empty_like(x)
        if x.shape[1] == 1:
            _interp_faces_1d(x, B0, B1, theta, float(self._lower[0]), float(self._inv_dx[0]),
                             int(self.grid.shape[0] + 1), out)
        elif x.shape[1] == 2:
            _interp_faces_2d(x, B0, B1, theta, int(self.grid.shape[0]), int(self.grid.shape[1]),
                             float(self._lower[0]), float(self._lower[1]), float(self._inv_dx[0]),
                             float(self._inv_dx[1]), out)
        else:
            _interp_faces_nd(x, B0, B1, theta, self._offsets, self._node_shape, self._strides, self._lower,
                             self._inv_dx, out)
        return out


# --- self-consistent fields ----------------------------------------------------------------------

def _phi_prime(div, v):
    r""":math:`\Phi'(v) = 1/(\Phi^{-1})'(\Phi(v))` (= :math:`v f''(v)`)."""
    return 1.0 / div.phi_inv_prime(div.phi(v))


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
        _mixture_log_grad(x, consts, means, precs, log_rho, grad)
        return log_rho, grad


@njit(cache=True)
def _mixture_log_grad(x, consts, means, precs, log_rho, grad):  # pragma: no cover - compiled
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


@njit(cache=True)
def _kde_velocity_kernel(p, g, log_rho, grad_log_rho, kind, out):  # pragma: no cover - compiled
    # b = -Phi'(v) (g/p - grad ln rho_d), v = p / rho_d;
    # kind 0: JSD, Phi' = 1/(2(1+v)) = rho_d / (2 (rho_d + p)) (-> 0 where rho_d underflows); kind 1: KL, Phi' = 1
    n, d = g.shape
    tiny = 2.2250738585072014e-308
    for i in range(n):
        pi = p[i] if p[i] > tiny else tiny
        if kind == 0:
            r = math.exp(log_rho[i])
            coef = 0.5 * r / (r + pi)
        else:
            coef = 1.0
        for a in range(d):
            out[i, a] = -coef * (g[i, a] / pi - grad_log_rho[i, a])


@njit(cache=True)
def _jsd_sde_drift_kernel(p, g, log_rho, grad_log_rho, out):  # pragma: no cover - compiled
    # 1/2 grad ln(rho_d + u) = 1/2 (rho_d grad ln rho_d + grad u) / (rho_d + u)
    n, d = g.shape
    for i in range(n):
        r = math.exp(log_rho[i])
        den = r + p[i]
        if den <= 0.0:  # both underflow: the target's pull alone
            for a in range(d):
                out[i, a] = 0.5 * grad_log_rho[i, a]
            continue
        for a in range(d):
            out[i, a] = 0.5 * (r * grad_log_rho[i, a] + g[i, a]) / den


class _KDEBase:
    def __init__(self, target, divergence="jsd", bandwidth="scott", estimator="auto", bins_per_bandwidth=4.0,
                 cutoff=8.0, max_nodes=2 ** 22, exact_max=_kde.EXACT_MAX_DEFAULT):
        if not (hasattr(target, "logpdf") and hasattr(target, "grad_logpdf")):
            raise ValueError(f"velocity={self.name!r} needs a target density with logpdf and grad_logpdf "
                             f"(a Gaussian or GaussianMixture), got {type(target).__name__}.")
        if estimator not in ("auto", "exact", "binned"):
            raise ValueError(f"unknown KDE estimator {estimator!r}; use 'auto', 'exact' or 'binned'.")
        if not isinstance(bandwidth, str):
            _kde.bandwidth(np.zeros((2, target.ndim)), bandwidth)  # checks a given bandwidth now
        elif bandwidth.lower() not in ("scott", "silverman"):
            raise ValueError(f"unknown bandwidth rule {bandwidth!r}; use 'scott', 'silverman' or a positive number.")
        self.target = target
        self._target_log = _TargetLog(target)
        self.divergence = get_divergence(divergence)
        self.kde_options = dict(bandwidth=bandwidth, method=estimator, bins_per_bandwidth=bins_per_bandwidth,
                                cutoff=cutoff, max_nodes=max_nodes, exact_max=exact_max)

    def _estimate(self, x):
        """KDE ``u_hat``, ``grad u_hat``, ``ln rho_d`` and ``grad ln rho_d`` at the particles."""
        p, g = _kde.evaluate(x, **self.kde_options)
        log_rho, grad_log_rho = self._target_log(x)
        return p, np.ascontiguousarray(g), np.ascontiguousarray(log_rho, dtype=float), \
            np.ascontiguousarray(grad_log_rho, dtype=float)


class KDEVelocity(_KDEBase):
    r"""Self-consistent velocity :math:`b = -\Phi'(\hat v)(\nabla\ln\hat u - \nabla\ln\rho_d)` from a KDE.

    .. math::

        b = -\nabla f'(v) = -v f''(v)\,\nabla\ln v = -\Phi'(v)\,(\nabla\ln u - \nabla\ln\rho_d),
        \qquad v = \hat u/\rho_d,

    for Jensen-Shannon :math:`-\frac{\nabla\ln\hat u - \nabla\ln\rho_d}{2(1 + \hat v)}`, which is
    eq. (49) with ``u`` replaced by the kernel density estimate :math:`\hat u` of the particles.
    ``v`` is formed in log space (``exp`` of ``ln u_hat - ln rho_d``, capped at e^700), so
    particles far in the tails of :math:`\rho_d` get :math:`\Phi'(v) \to 0` (JSD) rather than NaN.

    Step size: the term :math:`-\Phi'(v)\nabla\ln\hat u` acts like a diffusion with coefficient
    :math:`\Phi'(v)` (at most 1/2 for JSD, 1 for KL) resolved on the scale ``h``, so explicit
    steps are stable for roughly :math:`dt \lesssim 4h^2` (JSD; :math:`2h^2` for KL). Measured in
    1-D (benchmarks/particles.md): RK2 with ``h = 0.03`` is accurate at ``dt = 0.005`` and
    degraded at ``dt = 0.02``. The normal-reference bandwidth rules oversmooth here: halving
    Scott's ``h`` at N = 1e5 lowered W1 to the grid solution about 2.5x.

    Parameters
    ----------
    target : Gaussian or GaussianMixture
        :math:`\rho_d` (needs ``logpdf`` and ``grad_logpdf``).
    divergence : str
    bandwidth, estimator, bins_per_bandwidth, cutoff, max_nodes, exact_max
        KDE options (:func:`fokkerplanck.particles.kde.evaluate`; ``estimator`` is its ``method``). The
        bandwidth rule is re-applied to the current positions at every evaluation.
    """

    name = "kde"

    def __call__(self, t, x):
        p, g, log_rho, gld = self._estimate(np.ascontiguousarray(x, dtype=float))
        name = self.divergence.name
        if name in ("jsd", "kl"):
            out = np.empty_like(g)
            _kde_velocity_kernel(p, g, log_rho, gld, 0 if name == "jsd" else 1, out)
            return out
        p = np.maximum(p, np.finfo(float).tiny)
        v = np.exp(np.minimum(np.log(p) - log_rho, 700.0))
        return -_phi_prime(self.divergence, v)[:, None] * (g / p[:, None] - gld)


class SDEDrift(_KDEBase):
    r"""Drift and noise of the McKean-Vlasov SDE with the law of eq. (30).

    Jensen-Shannon: :math:`dX = \tfrac12\nabla\ln(\rho_d + \hat u)(X)\,dt + dW`, computed as
    :math:`\tfrac12(\nabla\ln\rho_d + \hat v\,\nabla\ln\hat u)/(1 + \hat v)`;
    Kullback-Leibler: :math:`dX = \nabla\ln\rho_d(X)\,dt + \sqrt2\,dW` (no KDE needed).
    The Fokker-Planck equation of either is the flow's equation,
    :math:`u_t = \tfrac12\Delta u - \tfrac12\nabla\cdot(u\nabla\ln(\rho_d+u))` (eq. 30), resp.
    :math:`u_t = \Delta u - \nabla\cdot(u\nabla\ln\rho_d)`.
    """

    name = "sde"

    def __init__(self, target, divergence="jsd", **options):
        super().__init__(target, divergence, **options)
        if self.divergence.name not in ("jsd", "kl"):
            raise ValueError(f"velocity='sde' has an SDE form for 'jsd' (eq. 30) and 'kl' only, "
                             f"not {self.divergence.name!r}.")
        self.noise = 1.0 if self.divergence.name == "jsd" else math.sqrt(2.0)

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=float)
        if self.divergence.name == "kl":
            return self._target_log(x)[1]
        p, g, log_rho, gld = self._estimate(x)
        out = np.empty_like(g)
        _jsd_sde_drift_kernel(p, g, log_rho, gld, out)
        return out


# --- integrators -----------------------------------------------------------------------------------

def _ode_step(field, t, x, h, method):
    if method == "euler":
        return x + h * field(t, x), 1
    if method == "rk2":  # explicit midpoint
        k1 = field(t, x)
        k2 = field(t + 0.5 * h, x + (0.5 * h) * k1)
        return x + h * k2, 2
    k1 = field(t, x)
    k2 = field(t + 0.5 * h, x + (0.5 * h) * k1)
    k3 = field(t + 0.5 * h, x + (0.5 * h) * k2)
    k4 = field(t + h, x + h * k3)
    return x + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4), 4


# --- the driver ----------------------------------------------------------------------------------

def _initial_positions(initial, n, d, rng, sampling, grid):
    from .sampling import sample

    if isinstance(initial, Density):
        if initial.ndim != d:
            raise ValueError(f"the initial density is {initial.ndim}-dimensional but the flow is {d}-dimensional.")
        if not hasattr(initial, "sample"):
            raise ValueError(f"cannot sample the initial density {type(initial).__name__}; pass initial as "
                             "(grid, values) or positions via x0=.")
        return sample(initial, n, seed=rng, method=sampling)
    if isinstance(initial, tuple):
        if len(initial) != 2 or not isinstance(initial[0], Grid) or initial[0].ndim != d:
            raise ValueError(f"initial as a tuple must be (grid, values) with a {d}-dimensional Grid.")
        return sample(initial, n, seed=rng, method=sampling)
    if isinstance(initial, np.ndarray):
        if grid is None:
            raise ValueError("initial given as values on grid cells needs a grid: pass (grid, values), or use "
                             "velocity='grid' (the solution's grid) or domain=.")
        if initial.shape != grid.shape:
            raise ValueError(f"initial values have shape {initial.shape} but the grid has shape {grid.shape}; "
                             "to give particle positions use x0=.")
        return sample((grid, initial), n, seed=rng, method=sampling)
    if callable(initial) and grid is not None:
        return sample(initial, n, seed=rng, method=sampling, grid=grid)
    raise ValueError(f"initial must be a Gaussian, a GaussianMixture, (grid, values) or values on the grid, got "
                     f"{type(initial).__name__}; to give particle positions use x0=.")


def simulate(target, initial, t_final, n=None, velocity="grid", *, solution=None, dt=1e-2, method=None, seed=None,
             t_eval=None, divergence=None, sampling="iid", x0=None, domain=None, data=None,
             velocity_options=None) -> Ensemble:
    r"""Move ``n`` particles from :math:`\rho_0` along the gradient flow's velocity field.

    Solves :math:`dY/dt = b(t, Y)` with :math:`b = -\nabla f'(u/\rho_d)` (eq. 2/16/49 of Huang &
    Zhang 2023 for Jensen-Shannon), or the SDE of eq. (30), for an ensemble whose empirical law
    approximates :math:`u(t)` (see the module docstring for the velocity fields and walls).

    Parameters
    ----------
    target : Gaussian, GaussianMixture or None
        :math:`\rho_d`. Needed (with ``logpdf`` and ``grad_logpdf``) by ``"kde"`` and ``"sde"``;
        only its dimension is used by ``"grid"``; may be None for ``"discriminator"`` and callables.
    initial : Gaussian, GaussianMixture, (Grid, values), ndarray or None
        :math:`\rho_0`, sampled with ``sampling``; values on the cells use the solution's grid (or
        ``domain``). None when ``x0`` gives the positions. Samples outside the box are reflected
        in; the grid solver instead restricts rho_0 to the box and renormalises, so when rho_0 has
        visible mass outside the box pass ``initial=sol.u[0]`` (sampled exactly, piecewise constant).
    t_final : float
        Final time (>= 0).
    n : int
        Number of particles (> 0); may be omitted when ``x0`` is given.
    velocity : {"grid", "kde", "sde", "discriminator"} or callable
        The velocity field; a callable ``field(t, x) -> (n, d)`` is used as given.
    solution : Solution
        ``"grid"`` only: the grid solution whose velocity drives the particles; its frames must
        cover ``[0, t_final]`` (solve with ``t_eval="steps"``).
    dt : float
        Step size.
    method : {"euler", "rk2", "rk4"}, "euler-maruyama" or None
        Integrator; default ``"rk4"`` for the ODE modes, ``"euler-maruyama"`` for ``"sde"``.
    seed : int, Generator or None
        Seeds the initial sample, the SDE noise and the discriminator.
    t_eval : sequence of float, optional
        Times to save (default ``[0, t_final]``), increasing, in ``[0, t_final]``.
    divergence : str, optional
        ``"jsd"`` (default) or ``"kl"``; in ``"grid"`` mode the solution's (passing another one is
        an error).
    sampling : {"iid", "sobol"}
        Initial positions i.i.d. or quasi-Monte Carlo (:mod:`fokkerplanck.particles.sampling`).
    x0 : array_like, shape (n, d), optional
        Initial positions instead of sampling ``initial``.
    domain : Grid, optional
        Box with reflecting walls for the non-grid modes (default: unbounded). In ``"grid"`` mode the
        solution's grid.
    data : array_like, shape (m, d)
        ``"discriminator"`` only: samples of :math:`\rho_d`.
    velocity_options : dict, optional
        ``"grid"``: ``floor``. ``"kde"``/``"sde"``: ``bandwidth`` ("scott", "silverman" or
        numbers), ``estimator`` ("auto", "exact", "binned"), ``bins_per_bandwidth``, ``cutoff``,
        ``max_nodes``, ``exact_max``. ``"discriminator"``: passed to
        ``fokkerplanck.gan.discriminator_velocity``.

    Returns
    -------
    Ensemble

    Raises
    ------
    ValueError
        Bad input, before any work: unknown names, ``n <= 0``, wrong shapes or dimensions,
        ``velocity="grid"`` without a solution or beyond its last frame, ``"discriminator"``
        without ``data``.

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> target, initial = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])
    >>> grid = fp.Grid([-6.0], [6.0], [300])
    >>> sol = fp.solve(target, initial, grid, 0.2, dt=0.02, t_eval="steps")
    >>> ens = simulate(target, initial, 0.2, n=1000, velocity="grid", solution=sol, dt=0.02, seed=0)
    >>> ens.positions.shape
    (2, 1000, 1)
    """
    # ---- check everything before any work ----------------------------------------------------------
    if callable(velocity) and not isinstance(velocity, str):
        mode = "custom"
        vname = getattr(velocity, "name", None) or getattr(velocity, "__name__", None) or type(velocity).__name__
    elif isinstance(velocity, str) and velocity.lower() in VELOCITIES:
        mode = vname = velocity.lower()
    else:
        raise ValueError(f"unknown velocity {velocity!r}; use one of {VELOCITIES} or a callable field(t, x) -> (n, d).")
    t_final = _v.positive_number("t_final", t_final, allow_zero=True)
    dt = _v.positive_number("dt", dt)
    if method is None:
        method = "euler-maruyama" if mode == "sde" else "rk4"
    method = str(method).lower() if isinstance(method, str) else method
    if mode == "sde":
        if method not in SDE_METHODS + ("em", "euler"):
            raise ValueError(f"velocity='sde' is integrated by 'euler-maruyama', not {method!r}.")
        method = "euler-maruyama"
    elif method not in METHODS:
        raise ValueError(f"unknown method {method!r}; use one of {METHODS} (or 'euler-maruyama' with velocity='sde').")
    if not isinstance(sampling, str) or sampling.lower() not in ("iid", "sobol", "qmc"):
        raise ValueError(f"unknown sampling {sampling!r}; use 'iid' or 'sobol'.")
    sampling = "sobol" if sampling.lower() == "qmc" else sampling.lower()
    if velocity_options is None:
        velocity_options = {}
    if not isinstance(velocity_options, dict):
        raise ValueError(f"velocity_options must be a dict, got {type(velocity_options).__name__}.")
    if domain is not None and not isinstance(domain, Grid):
        raise ValueError(f"domain must be a fokkerplanck.Grid (its box is used), got {type(domain).__name__}.")

    # dimension
    d = None
    if isinstance(target, Density):
        d = target.ndim
    elif target is not None and mode in ("grid", "kde", "sde"):
        if mode != "grid" or not callable(target):
            raise ValueError(f"target must be a Gaussian or GaussianMixture, got {type(target).__name__}.")
    if mode == "grid":
        if solution is None:
            raise ValueError("velocity='grid' needs solution=fp.solve(..., t_eval='steps'): the particles follow "
                             "the velocity of that grid solution.")
        if not isinstance(solution, Solution):
            raise ValueError(f"solution must be a fokkerplanck.Solution, got {type(solution).__name__}.")
        if d is not None and d != solution.grid.ndim:
            raise ValueError(f"the target is {d}-dimensional but the solution's grid is "
                             f"{solution.grid.ndim}-dimensional.")
        d = solution.grid.ndim
        if divergence is not None and get_divergence(divergence).name != solution.divergence:
            raise ValueError(f"divergence={divergence!r} differs from the solution's {solution.divergence!r}; "
                             "omit divergence= in grid mode.")
        divergence = solution.divergence
        if len(solution.t) == 0 or solution.t[0] > 1e-12 or solution.t[-1] < t_final * (1 - 1e-12) - 1e-12:
            raise ValueError(f"the solution's frames cover [{solution.t[0] if len(solution.t) else None}, "
                             f"{solution.t[-1] if len(solution.t) else None}] but the particles need [0, {t_final}].")
        if domain is not None and domain != solution.grid:
            raise ValueError("in grid mode the particles live in the solution's grid; omit domain=.")
        domain = solution.grid
        steps = np.asarray(solution.history.get("dt", []), dtype=float)[1:] if solution.history else np.array([])
        if len(solution.t) > 1 and steps.size and np.max(np.diff(solution.t)) > 1.5 * steps.max():
            warnings.warn(f"the solution saved {len(solution.t)} frames, up to {np.max(np.diff(solution.t)):.3g} "
                          f"apart, but its steps were at most {steps.max():.3g}: the particles see the velocity "
                          "linearly interpolated between saved frames. Solve with t_eval='steps' for every step.",
                          UserWarning, stacklevel=2)
        unknown = set(velocity_options) - set(_GRID_OPTIONS)
        if unknown:
            raise ValueError(f"unknown velocity_options {sorted(unknown)} for velocity='grid'; known: {_GRID_OPTIONS}.")
    elif mode in ("kde", "sde"):
        if not isinstance(target, Density):
            raise ValueError(f"velocity={mode!r} needs the target density rho_d as a Gaussian or GaussianMixture.")
        unknown = set(velocity_options) - set(_KDE_OPTIONS)
        if unknown:
            raise ValueError(f"unknown velocity_options {sorted(unknown)} for velocity={mode!r}; "
                             f"known: {_KDE_OPTIONS}.")
        divergence = get_divergence(divergence or "jsd").name
    elif mode == "discriminator":
        if data is None:
            raise ValueError("velocity='discriminator' needs data=<samples of rho_d, shape (m, d)>: the "
                             "discriminator is trained on them against the particles.")
        data = np.asarray(data, dtype=float)
        if data.ndim == 1:
            data = data[:, None]
        if data.ndim != 2 or data.shape[0] == 0 or not np.all(np.isfinite(data)):
            raise ValueError(f"data must be finite samples of shape (m, d), got shape {data.shape}.")
        if d is not None and data.shape[1] != d:
            raise ValueError(f"data are {data.shape[1]}-dimensional but the target is {d}-dimensional.")
        d = data.shape[1]
        divergence = get_divergence(divergence or "jsd").name
    if mode != "grid" and domain is not None and d is not None and domain.ndim != d:
        raise ValueError(f"domain is {domain.ndim}-dimensional but the flow is {d}-dimensional.")

    # initial positions
    if x0 is not None:
        x0 = np.asarray(x0, dtype=float)
        if x0.ndim == 1 and (d in (None, 1)):
            x0 = x0[:, None]
        if x0.ndim != 2 or x0.shape[0] == 0 or (d is not None and x0.shape[1] != d):
            raise ValueError(f"x0 must have shape (n, {d if d is not None else 'd'}), got {np.shape(x0)}.")
        if not np.all(np.isfinite(x0)):
            raise ValueError("x0 contains non-finite values.")
        if n is not None and n != x0.shape[0]:
            raise ValueError(f"n = {n} but x0 holds {x0.shape[0]} positions; omit n or make them agree.")
        n = x0.shape[0]
        d = x0.shape[1]
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
        raise ValueError(f"the number of particles n must be a positive integer, got {n!r}.")
    n = int(n)
    if d is None:
        d = getattr(initial, "ndim", None) if not isinstance(initial, np.ndarray) else None
        if d is None:
            raise ValueError("cannot tell the dimension: give a target density, x0 or data.")
    if d not in (1, 2, 3):
        raise ValueError(f"particles live in 1, 2 or 3 dimensions, got {d}.")

    # times
    t_eval = _v.times(t_eval, t_final)

    # the field (may raise on bad options, still before any work)
    noise = 0.0
    if mode == "grid":
        field = GridVelocity(solution, **velocity_options)
    elif mode == "kde":
        field = KDEVelocity(target, divergence, **velocity_options)
    elif mode == "sde":
        field = SDEDrift(target, divergence, **velocity_options)
        noise = field.noise
    elif mode == "discriminator":
        from ..gan import discriminator_velocity

        field = discriminator_velocity(data=data, seed=seed, **velocity_options)
        if not callable(field):
            raise ValueError("fokkerplanck.gan.discriminator_velocity did not return a callable field(t, x).")
    else:
        user_field = velocity

        def field(t, y):  # a user's field: check its output before it is combined with positions
            out = np.asarray(user_field(t, y), dtype=float)
            if out.shape != y.shape:
                raise ValueError(f"the velocity field returned shape {out.shape} for positions of shape {y.shape}; "
                                 "it must return one velocity per particle, shape (n, d).")
            return out
        divergence = None

    try:
        rng = np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ValueError(f"seed must be None, a non-negative integer or a numpy Generator, got {seed!r}.") from None
    if x0 is None:
        if initial is None:
            raise ValueError("give the initial density (initial=) or the initial positions (x0=).")
        x = _initial_positions(initial, n, d, rng, sampling, domain)
        sampled = sampling
    else:
        x = x0.copy()
        sampled = "given"
    x = np.ascontiguousarray(x, dtype=float)
    if x.shape != (n, d):
        raise ValueError(f"the initial positions have shape {x.shape}, expected ({n}, {d}).")
    if sampled == "given" and domain is not None and not np.all(domain.contains(x)):
        bad = int(np.sum(~domain.contains(x)))
        raise ValueError(f"{bad} of the initial positions x0 lie outside the box {domain.lower.tolist()} .. "
                         f"{domain.upper.tolist()}; move them inside (walls only reflect small overshoots of a step).")

    # ---- the time loop --------------------------------------------------------------------------
    lower = upper = None
    n_reflections = 0
    if domain is not None:
        lower, upper = np.asarray(domain.lower, dtype=float), np.asarray(domain.upper, dtype=float)
        n_reflections += reflect(x, lower, upper)
    marks = milestones(t_final, dt, t_eval)
    tol = 1e-9 * max(1.0, t_final)
    saved_t, saved_x = [], []
    if t_eval[0] <= tol:
        saved_t.append(0.0)
        saved_x.append(x.copy())
    t = 0.0
    n_evals = 0
    start, start_cpu = _time.perf_counter(), _time.process_time()
    for mark in marks:
        h = float(mark) - t
        if mode == "sde":
            x = x + h * field(t, x) + (noise * math.sqrt(h)) * rng.standard_normal(x.shape)
            n_evals += 1
        else:
            x, k = _ode_step(field, t, x, h, method)
            n_evals += k
            if x.shape != (n, d):
                raise ValueError(f"the velocity field returned shape {x.shape}, expected ({n}, {d}).")
        if lower is not None:
            n_reflections += reflect(x, lower, upper)
        t = float(mark)
        if np.any(np.abs(t_eval - t) <= tol) and not (saved_t and abs(saved_t[-1] - t) <= tol):
            saved_t.append(t)
            saved_x.append(x.copy())
    wall, cpu = _time.perf_counter() - start, _time.process_time() - start_cpu
    positions = np.stack(saved_x) if saved_x else np.empty((0, n, d))
    options = dict(velocity_options=dict(velocity_options), t_final=t_final, t_eval=t_eval.tolist())
    return Ensemble(t=np.asarray(saved_t), positions=positions, velocity=vname, method=method, n=n, seed=seed,
                    dt=dt, divergence=divergence, sampling=sampled, domain=domain,
                    counters=dict(n_steps=int(marks.size), n_field_evaluations=n_evals, n_reflections=n_reflections,
                                  wall_time=wall, cpu_time=cpu),
                    options=options)
