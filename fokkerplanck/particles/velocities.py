r"""The velocity fields of the particles, one class each, found by name in :data:`VELOCITIES`.

The particles follow the distribution-dependent ODE :math:`dY/dt = b(t, Y)` with

.. math::

    b = -\nabla\frac{\delta J}{\delta\rho}(u(t)) = -\frac12\nabla\ln\frac{u}{\rho_d + u}
      = -\frac12\Big(\frac{\nabla u}{u} - \frac{\nabla\rho_d + \nabla u}{\rho_d + u}\Big)
    \qquad\text{(eq. 2, 16, 49)}

for Jensen-Shannon, and for a general f-divergence (``docs/mathematics.md``, sections 2 and 7)
:math:`b = -\nabla f'(v)`, :math:`v = u/\rho_d` (for Jensen-Shannon
:math:`f'(v) = \tfrac12\ln\frac{2v}{1+v}`; for KL :math:`\ln v`). The fields differ in where
``u`` comes from:

``"grid"`` (:class:`GridVelocity`, superposition mode)
    ``b`` from a grid :class:`~fokkerplanck.Solution`: on every interior face,
    :math:`b_f = -(f'(v_j) - f'(v_i))/\Delta`, the face difference that matches the finite-volume
    flux :math:`\rho_f(\Phi(v_i) - \Phi(v_j))/\Delta` of the solver divided by the face density
    :math:`\rho_f\,\bar v` with :math:`\bar v = (\Phi(v_j)-\Phi(v_i))/(f'(v_j)-f'(v_i))`, a mean
    of :math:`v_i, v_j` (since :math:`\Phi' = v f''`). On the walls :math:`b_f = 0` (no flux).
    Interpolated in space like a staggered (MAC) field: component ``a`` linearly along axis ``a``
    between faces and linearly across the other axes between cell centres; linearly in time
    between saved frames (solve with ``t_eval="steps"`` so every step is a frame). The normal
    component vanishes on the walls and is interpolated linearly from them, so the exact flow
    never reaches a wall; positions outside the box (Runge-Kutta stages) see the velocity of the
    nearest boundary point.
``"kde"`` (:class:`KDEVelocity`, self-consistent, no grid)
    ``u`` and :math:`\nabla u` from a Gaussian kernel density estimate of the particles
    themselves (:mod:`fokkerplanck.particles.kde`), :math:`\rho_d` exact:
    :math:`b = -\Phi'(v)\,(\nabla\ln\hat u - \nabla\ln\rho_d)` (the same formula,
    :math:`-\nabla f'(v) = -v f''(v)\nabla\ln v`; :math:`\Phi'(v) = 1/(2(1+v))` for JSD).
``"sde"`` (:class:`SDEDrift`, McKean-Vlasov particles, eq. 30)
    :math:`dX = \tfrac12\nabla\ln(\rho_d + \hat u)(X)\,dt + dW` for JSD
    (:math:`dX = \nabla\ln\rho_d\,dt + \sqrt2\,dW`, Langevin, for KL), ``u`` again from a KDE of
    the particles. Same law as the ODE, different paths.
``"discriminator"`` (:class:`DiscriminatorVelocity`)
    The GAN calibrator of Section 3.1 (eq. 20-23): ``b`` from a classifier trained on samples
    ``data`` of :math:`\rho_d` against the particles
    (:func:`fokkerplanck.gan.discriminator_velocity`).
callable (:class:`CustomVelocity`)
    Any ``field(t, x) -> (n, d)``; ``x`` is the whole ensemble (or a Runge-Kutta stage of it), so
    self-consistent fields estimate from ``x`` itself.

Each class derives from :class:`VelocityField`: a ``name``, the ``velocity_options`` it accepts,
:meth:`VelocityField.check` (validates the arguments of ``simulate`` it uses, before any work)
and :meth:`VelocityField.from_arguments` (builds the field). A new field is a new class added to
:data:`VELOCITIES`; the driver does not change.

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
20-23, 30, 49 and Section 5.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field as _field

import numpy as np

from . import _kernels
from . import kde as _kde
from .. import _validation as _v
from ..flow.densities import Density, Gaussian, GaussianMixture
from ..flow.divergences import get_divergence
from ..flow.grid import Grid
from ..flow.solution import Solution

__all__ = ["VelocityField", "FlowArguments", "GridVelocity", "KDEVelocity", "SDEDrift", "DiscriminatorVelocity",
           "CustomVelocity", "VELOCITIES", "face_velocities"]


# --- the base class ------------------------------------------------------------------------------

@dataclass
class FlowArguments:
    """The arguments of :func:`~fokkerplanck.particles.simulate` a velocity field is built from.

    :meth:`VelocityField.check` validates them and fills in the flow's dimension ``d``, its
    ``divergence`` (a name, or None for custom fields) and the box ``grid`` (or None).
    """

    target: object = None
    solution: object = None
    divergence: object = None
    data: object = None
    grid: Grid | None = None
    seed: object = None
    t_final: float = 0.0
    options: dict = _field(default_factory=dict)
    function: object = None
    d: int | None = None


class VelocityField:
    r"""A velocity field ``field(t, x) -> (n, d)`` of the particles (base class).

    Attributes
    ----------
    name : str
        The name of the field in :data:`VELOCITIES` (a custom field: its function's name).
    options : tuple of str or None
        The ``velocity_options`` the field accepts (None: any, checked by the field itself).
    stochastic : bool
        True for the drift of an SDE (integrated by Euler-Maruyama with amplitude ``noise``).
    noise : float
        Amplitude :math:`\sigma` of the noise :math:`\sigma\,dW` (0 for the ODE fields).
    """

    name = "field"
    options: tuple | None = ()
    stochastic = False
    noise = 0.0

    def __call__(self, t, x) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """Check the arguments this field uses (before any work); set ``args.d``, ``divergence``, ``grid``."""
        if isinstance(args.target, Density):
            args.d = args.target.ndim
        if cls.options is not None:
            unknown = set(args.options) - set(cls.options)
            if unknown:
                raise ValueError(f"unknown velocity_options {sorted(unknown)} for velocity={cls.name!r}; "
                                 f"known: {cls.options}.")

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "VelocityField":
        """The field for checked arguments (options are checked here, still before any work)."""
        raise NotImplementedError


def _density_target(cls, args: FlowArguments, required: bool, allow_callable: bool = False) -> None:
    target = args.target
    if target is not None and not isinstance(target, Density) and not (allow_callable and callable(target)):
        raise ValueError(f"target must be a Gaussian or GaussianMixture, got {type(target).__name__}.")
    if required and not isinstance(target, Density):
        raise ValueError(f"velocity={cls.name!r} needs the target density rho_d as a Gaussian or GaussianMixture.")


# --- the grid velocity -------------------------------------------------------------------------

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




class GridVelocity(VelocityField):
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
    options = ("floor",)

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``solution`` must be a Solution whose frames cover ``[0, t_final]``; it fixes the divergence
        and the box (``grid=`` may only repeat the solution's grid)."""
        _density_target(cls, args, required=False, allow_callable=True)
        super().check(args)
        solution, d = args.solution, args.d
        if solution is None:
            raise ValueError("velocity='grid' needs solution=fp.solve(..., t_eval='steps'): the particles follow "
                             "the velocity of that grid solution.")
        if not isinstance(solution, Solution):
            raise ValueError(f"solution must be a fokkerplanck.Solution, got {type(solution).__name__}.")
        if d is not None and d != solution.grid.ndim:
            raise ValueError(f"the target is {d}-dimensional but the solution's grid is "
                             f"{solution.grid.ndim}-dimensional.")
        args.d = solution.grid.ndim
        if args.divergence is not None and get_divergence(args.divergence).name != solution.divergence:
            raise ValueError(f"divergence={args.divergence!r} differs from the solution's {solution.divergence!r}; "
                             "omit divergence= in grid mode.")
        args.divergence = solution.divergence
        t_final = args.t_final
        if len(solution.t) == 0 or solution.t[0] > 1e-12 or solution.t[-1] < t_final * (1 - 1e-12) - 1e-12:
            raise ValueError(f"the solution's frames cover [{solution.t[0] if len(solution.t) else None}, "
                             f"{solution.t[-1] if len(solution.t) else None}] but the particles need [0, {t_final}].")
        if args.grid is not None and args.grid != solution.grid:
            raise ValueError("in grid mode the particles live in the solution's grid; omit grid=.")
        args.grid = solution.grid
        steps = np.asarray(solution.history.get("dt", []), dtype=float)[1:] if solution.history else np.array([])
        if len(solution.t) > 1 and steps.size and np.max(np.diff(solution.t)) > 1.5 * steps.max():
            warnings.warn(f"the solution saved {len(solution.t)} frames, up to {np.max(np.diff(solution.t)):.3g} "
                          f"apart, but its steps were at most {steps.max():.3g}: the particles see the velocity "
                          "linearly interpolated between saved frames. Solve with t_eval='steps' for every step.",
                          UserWarning, stacklevel=3)

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "GridVelocity":
        return cls(args.solution, **args.options)

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
            parts = face_velocities(self.solution.u[k], self.solution.rho_d, self.grid.spacing, self.divergence,
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
            _kernels.interp_faces_1d(x, B0, B1, theta, float(self._lower[0]), float(self._inv_dx[0]),
                             int(self.grid.shape[0] + 1), out)
        elif x.shape[1] == 2:
            _kernels.interp_faces_2d(x, B0, B1, theta, int(self.grid.shape[0]), int(self.grid.shape[1]),
                             float(self._lower[0]), float(self._lower[1]), float(self._inv_dx[0]),
                             float(self._inv_dx[1]), out)
        else:
            _kernels.interp_faces_nd(x, B0, B1, theta, self._offsets, self._node_shape, self._strides, self._lower,
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
        _kernels.mixture_log_grad(x, consts, means, precs, log_rho, grad)
        return log_rho, grad




class _KDEBase(VelocityField):
    options = ("bandwidth", "estimator", "bins_per_bandwidth", "cutoff", "max_nodes", "exact_max")

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``target`` must be a density with ``logpdf`` and ``grad_logpdf``; divergence default ``"jsd"``."""
        _density_target(cls, args, required=True)
        super().check(args)
        args.divergence = get_divergence(args.divergence or "jsd").name

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "_KDEBase":
        return cls(args.target, args.divergence, **args.options)

    def __init__(self, target, divergence="jsd", bandwidth="scott", estimator="auto", bins_per_bandwidth=4.0,
                 cutoff=8.0, max_nodes=2 ** 22, exact_max=_kde.EXACT_MAX_DEFAULT):
        if not (hasattr(target, "logpdf") and hasattr(target, "grad_logpdf")):
            raise ValueError(f"velocity={self.name!r} needs a target density with logpdf and grad_logpdf "
                             f"(a Gaussian or GaussianMixture), got {type(target).__name__}.")
        estimator = _kde.check_options(target.ndim, bandwidth, estimator, bins_per_bandwidth, cutoff, max_nodes)
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
            _kernels.kde_velocity(p, g, log_rho, gld, 0 if name == "jsd" else 1, out)
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
    stochastic = True

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
        _kernels.jsd_sde_drift(p, g, log_rho, gld, out)
        return out



# --- the GAN discriminator and user fields ---------------------------------------------------------

class DiscriminatorVelocity(VelocityField):
    r"""The velocity :math:`b = \nabla\hat D/(2(1 - \hat D))` of a calibrated discriminator (eq. 20-23).

    A thin wrapper of :func:`fokkerplanck.gan.discriminator_velocity` (imported when the field is
    built): the calibrator is refitted on ``data`` (samples of :math:`\rho_d`) against the particles
    at every evaluation.

    Parameters
    ----------
    data : array_like, shape (m, d)
        Samples of :math:`\rho_d`.
    seed : int, Generator or None
        Seed of the calibrator's random features (or of the neural calibrator's weights).
    calibrator : {"features", "neural"}
        ``"features"`` (default): logistic regression on random Fourier features
        (:func:`fokkerplanck.gan.discriminator_velocity`); ``"neural"``: an MLP trained by Adam,
        warm-started (:func:`fokkerplanck.gan.neural_discriminator_velocity`; needs the extra
        ``gan``, i.e. JAX and optax).
    **options
        Passed to the chosen function (which checks them).
    """

    name = "discriminator"
    options = None  # the calibrator's options, checked by fokkerplanck.gan

    def __init__(self, data, seed=None, calibrator="features", **options):
        calibrator = _v.choice("calibrator", calibrator, ("features", "neural"))
        if calibrator == "neural":
            from ..gan import neural_discriminator_velocity as make
        else:
            from ..gan import discriminator_velocity as make

        field = make(data=data, seed=seed, **options)
        if not callable(field):
            raise ValueError("fokkerplanck.gan did not return a callable field(t, x).")
        self.field = field

    def __call__(self, t, x):
        return self.field(t, x)

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``data`` must be finite samples of the flow's dimension; divergence default ``"jsd"``."""
        super().check(args)
        if args.data is None:
            raise ValueError("velocity='discriminator' needs data=<samples of rho_d, shape (m, d)>: the "
                             "discriminator is trained on them against the particles.")
        data = _v.as_samples(args.data, "data")
        if args.d is not None and data.shape[1] != args.d:
            raise ValueError(f"data are {data.shape[1]}-dimensional but the target is {args.d}-dimensional.")
        args.data, args.d = data, data.shape[1]
        args.divergence = get_divergence(args.divergence or "jsd").name

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "DiscriminatorVelocity":
        return cls(args.data, seed=args.seed, **args.options)


class CustomVelocity(VelocityField):
    """A user's ``function(t, x) -> (n, d)``, whose output shape is checked at every call.

    Its ``name`` is the function's ``name`` attribute, ``__name__`` or type name. It follows no
    divergence (``Ensemble.divergence`` is None) and ignores ``velocity_options``.
    """

    options = None

    def __init__(self, function):
        if not callable(function):
            raise ValueError(f"a custom velocity must be callable as field(t, x), got {type(function).__name__}.")
        self.function = function
        self.name = getattr(function, "name", None) or getattr(function, "__name__", None) or type(function).__name__

    def __call__(self, t, x):
        # check the output before it is combined with the positions (broadcasting would hide errors)
        out = np.asarray(self.function(t, x), dtype=float)
        if out.shape != x.shape:
            raise ValueError(f"the velocity field returned shape {out.shape} for positions of shape {x.shape}; "
                             "it must return one velocity per particle, shape (n, d).")
        return out

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        super().check(args)
        args.divergence = None

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "CustomVelocity":
        return cls(args.function)


#: The velocity fields by name (``velocity=`` of :func:`~fokkerplanck.particles.simulate`).
VELOCITIES = {"grid": GridVelocity, "kde": KDEVelocity, "sde": SDEDrift, "discriminator": DiscriminatorVelocity}
