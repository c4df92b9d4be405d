r"""GANs as the ODE: the calibrator (discriminator), the navigators (generators) and Algorithm 1.

Section 3 of Huang & Zhang (2023) rewrites the gradient-flow ODE (2) in terms of the
discriminator :math:`D_t = \rho_d / (\rho_d + u_t)` (eq. 20),

.. math::

    \frac{dY_t}{dt} = \frac{\nabla D_t(Y_t)}{2\,(1 - D_t(Y_t))}
                    = -\tfrac12 \nabla \ln\big(1 - D_t\big)(Y_t),

and :math:`D_t` is the unique maximiser of
:math:`\mathbb E_{\rho_d}[\ln D] + \mathbb E_{u_t}[\ln(1 - D)]` (Goodfellow et al. 2014,
Proposition 1), so it can be estimated from samples of both densities alone. This module provides

* :class:`Calibrator`: that estimate, a regularised logistic regression on random Fourier
  features (a convex problem, solved by L-BFGS with the analytic gradient), with the analytic
  input gradient :math:`\nabla_x D` and the velocity of eq. 20;
* :func:`discriminator_velocity`: the velocity field ``field(t, x)`` of the particles ``x``
  obtained by re-calibrating on ``x`` at every call (the nonparametric navigator; used by
  ``fp.particles.simulate(..., velocity="discriminator")``);
* :class:`RandomFeatureGenerator`: a generator :math:`G_\theta(z)` linear in its parameters;
* :class:`ParametricNavigator`: Algorithm 1 (eq. 21-23) with point-wise (MSE, the vanilla GAN by
  Proposition 8) or set-wise (optimal assignment, then MSE; the remedy of Section 3.3) fitting;
* :class:`NonparametricNavigator`: Algorithm 1 without a generator: the particles move by eq. 22.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023,
Section 3.1-3.3, eq. 20-24, Algorithm 1, Proposition 8.
I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
A. Rahimi and B. Recht, "Random Features for Large-Scale Kernel Machines", NeurIPS 2007.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import lstsq
from scipy.optimize import linear_sum_assignment, minimize
from numba import njit

from .. import _threads
from .. import _validation as _v
from scipy.special import expit

__all__ = ["RandomFourierFeatures", "Calibrator", "CalibratedVelocity", "discriminator_velocity",
           "RandomFeatureGenerator", "match", "fit_generator", "ParametricNavigator", "NonparametricNavigator",
           "generator_loss", "scott_bandwidth", "lbfgs"]


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------

def scott_bandwidth(data) -> float:
    r"""Scott's rule bandwidth :math:`h = \bar\sigma\, n^{-1/(d+4)}` of samples of shape (n, d),
    with :math:`\bar\sigma` the mean per-axis standard deviation.

    Used as the default length scale of the calibrator's random Fourier features: the
    discriminator then resolves the same detail as a kernel density estimate of the data would.
    """
    data = _v.as_samples(data, "data")
    n, d = data.shape
    sigma = float(np.mean(np.std(data, axis=0)))
    if not sigma > 0:
        raise ValueError("the data have zero spread; give the bandwidth explicitly.")
    return sigma * n ** (-1.0 / (d + 4))


# ---------------------------------------------------------------------------------------------
# compiled kernels (single-threaded on purpose: BLAS-2 products of this size gain little from
# threads, and OpenBLAS threads spinning on an oversubscribed machine slowed them 15x in tests)
# ---------------------------------------------------------------------------------------------

@njit(cache=True)
def _rff_kernel(x, freq, phases, scale, out):  # pragma: no cover - compiled
    n, d = x.shape
    m = freq.shape[0]
    for i in range(n):
        for k in range(m):
            s = phases[k]
            for j in range(d):
                s += x[i, j] * freq[k, j]
            out[i, k] = scale * math.cos(s)


@njit(cache=True)
def _rff_gradient_kernel(x, freq, phases, coef, out):  # pragma: no cover - compiled
    n, d = x.shape
    m = freq.shape[0]
    for i in range(n):
        for j in range(d):
            out[i, j] = 0.0
        for k in range(m):
            s = phases[k]
            for j in range(d):
                s += x[i, j] * freq[k, j]
            g = -coef[k] * math.sin(s)
            for j in range(d):
                out[i, j] += g * freq[k, j]


@njit(cache=True)
def _softplus(f):  # pragma: no cover - compiled
    # ln(1 + e^f), stable for any f
    if f > 0.0:
        return f + math.log1p(math.exp(-f))
    return math.log1p(math.exp(f))


@njit(cache=True)
def _expit(f):  # pragma: no cover - compiled
    if f >= 0.0:
        return 1.0 / (1.0 + math.exp(-f))
    e = math.exp(f)
    return e / (1.0 + e)


@njit(cache=True, fastmath={"reassoc", "contract"})  # vectorised sums; no nnan/ninf assumptions
def _logistic_kernel(phi_d, phi_u, params, wd, wu, lam, grad):  # pragma: no cover - compiled
    """Loss and gradient of the class-balanced regularised logistic regression (see Calibrator)."""
    m = phi_d.shape[1]
    c = params[m]
    for k in range(m + 1):
        grad[k] = 0.0
    loss = 0.0
    for i in range(phi_d.shape[0]):  # data: -ln D = softplus(-f)
        f = c
        for k in range(m):
            f += phi_d[i, k] * params[k]
        loss += wd * _softplus(-f)
        r = -wd * _expit(-f)
        for k in range(m):
            grad[k] += r * phi_d[i, k]
        grad[m] += r
    for i in range(phi_u.shape[0]):  # samples of u: -ln(1 - D) = softplus(f)
        f = c
        for k in range(m):
            f += phi_u[i, k] * params[k]
        loss += wu * _softplus(f)
        r = wu * _expit(f)
        for k in range(m):
            grad[k] += r * phi_u[i, k]
        grad[m] += r
    for k in range(m):
        loss += 0.5 * lam * params[k] * params[k]
        grad[k] += lam * params[k]
    return loss


def lbfgs(fun, x0, tol=1e-9, max_iter=2000, memory=20, ftol=1e-15):
    r"""Minimise a smooth convex function by L-BFGS with Armijo backtracking.

    The search direction is :math:`-H_k g_k` with the limited-memory BFGS inverse Hessian of the
    last ``memory`` pairs :math:`(s, y)` (two-loop recursion, initial scaling
    :math:`s^\top y / y^\top y`); the step starts at 1 and halves until
    :math:`f(x + \alpha d) \le f(x) + 10^{-4}\alpha\, g^\top d`. Pairs with
    :math:`s^\top y \le 0` are skipped (they cannot occur for a strictly convex f). It stops when
    ``max |grad| <= tol``, or (as scipy's L-BFGS-B with ``ftol``) when a step lowers f by less than
    ``ftol * max(|f|, 1)`` or no step does: f is then minimal to working precision.

    Parameters
    ----------
    fun : callable
        ``fun(x) -> (f, grad)``.
    x0 : ndarray
    tol : float
        Stop when ``max |grad| <= tol``.
    max_iter : int
    memory : int
    ftol : float

    Returns
    -------
    x, f, n_iter, converged

    References
    ----------
    J. Nocedal and S. J. Wright, *Numerical Optimization*, 2nd ed., Springer 2006, Algorithm 7.4-7.5.
    """
    x = np.array(x0, dtype=float)
    f, g = fun(x)
    hist = []
    for it in range(max_iter):
        if np.max(np.abs(g)) <= tol:
            return x, f, it, True
        q = g.copy()
        alphas = []
        for s, y, r in reversed(hist):
            a = r * (s @ q)
            q -= a * y
            alphas.append(a)
        if hist:
            s, y, _ = hist[-1]
            q *= (s @ y) / (y @ y)
        else:
            q /= max(1.0, float(np.max(np.abs(g))))
        for (s, y, r), a in zip(hist, reversed(alphas)):
            q += (a - r * (y @ q)) * s
        d = -q
        gd = float(g @ d)
        if not gd < 0:  # not a descent direction (round-off): restart from steepest descent
            hist.clear()
            d = -g / max(1.0, float(np.max(np.abs(g))))
            gd = float(g @ d)
        step = 1.0
        for _ in range(40):
            x_new = x + step * d
            f_new, g_new = fun(x_new)
            if f_new <= f + 1e-4 * step * gd:
                break
            step *= 0.5
        else:  # no decrease at this precision: the minimum up to round-off
            return x, f, it, True
        if f - f_new <= ftol * max(abs(f), abs(f_new), 1.0):  # relative decrease below round-off level
            return x_new, f_new, it + 1, True
        s, y = x_new - x, g_new - g
        sy = float(s @ y)
        if sy > 1e-300:
            hist.append((s, y, 1.0 / sy))
            if len(hist) > memory:
                hist.pop(0)
        x, f, g = x_new, f_new, g_new
    return x, f, max_iter, bool(np.max(np.abs(g)) <= tol)


# ---------------------------------------------------------------------------------------------
# random Fourier features
# ---------------------------------------------------------------------------------------------

class RandomFourierFeatures:
    r"""Random Fourier features of the Gaussian kernel :math:`k(x, y) = e^{-|x-y|^2/(2h^2)}`.

    .. math::

        \varphi_k(x) = \sqrt{2/M}\,\cos(\omega_k \cdot x + b_k), \qquad
        \omega_k \sim N(0, h^{-2} I_d),\quad b_k \sim U[0, 2\pi),\quad k = 1..M,

    so that :math:`\varphi(x)\cdot\varphi(y) \approx k(x, y)` (Rahimi & Recht 2007).

    Parameters
    ----------
    dim : int
        Input dimension d.
    n_features : int
        Number M of features.
    bandwidth : float
        Kernel length scale h.
    seed : int, numpy Generator or None
        Draws the frequencies and phases.
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
        """Feature matrix, shape (n, M)."""
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty((x.shape[0], self.n_features))
        _rff_kernel(x, self.frequencies, self.phases, self.scale, out)
        return out

    def gradient(self, x, coef) -> np.ndarray:
        r""":math:`\nabla_x \sum_k a_k \varphi_k(x) = -\sqrt{2/M}\sum_k a_k \sin(\omega_k\cdot x+b_k)\,\omega_k`,
        shape (n, d), for coefficients ``coef`` of shape (M,)."""
        x = np.ascontiguousarray(x, dtype=float)
        out = np.empty_like(x)
        _rff_gradient_kernel(x, self.frequencies, self.phases, self.scale * np.asarray(coef, dtype=float), out)
        return out


# ---------------------------------------------------------------------------------------------
# the calibrator (discriminator)
# ---------------------------------------------------------------------------------------------

class Calibrator:
    r"""Estimate :math:`D = \rho_d / (\rho_d + u)` from samples of :math:`\rho_d` and of :math:`u`.

    The logit :math:`f = \ln(D / (1-D))` (which equals :math:`\ln(\rho_d/u)` at the optimum) is
    modelled as :math:`f(x) = a\cdot\varphi(x) + c` on random Fourier features :math:`\varphi`
    (:class:`RandomFourierFeatures`) and fitted by minimising the class-balanced, regularised
    logistic loss (the negative of the discriminator's objective in eq. 21/24)

    .. math::

        L(a, c) = \tfrac12\,\frac1{n_d}\sum_{i} \ln\big(1 + e^{-f(x_i)}\big)
                + \tfrac12\,\frac1{n_u}\sum_{j} \ln\big(1 + e^{f(y_j)}\big)
                + \tfrac{\lambda}{2}\,|a|^2,

    :math:`x_i \sim \rho_d`, :math:`y_j \sim u`. Weighting both classes by 1/2 makes the population
    minimiser :math:`D = \rho_d/(\rho_d + u)` whatever the two sample sizes. :math:`L` is convex;
    it is minimised by L-BFGS with the analytic gradient. Then

    .. math::

        \nabla D = D(1-D)\,\nabla f, \qquad
        \frac{\nabla D}{2(1-D)} = \tfrac12\, D\, \nabla f \quad\text{(the velocity, eq. 20)}.

    Parameters
    ----------
    n_features : int
        Number of random Fourier features M (default 300).
    bandwidth : float or "scott"
        Length scale h of the features; ``"scott"`` (default) takes :func:`scott_bandwidth` of the
        data at the first fit. Scott's rule suits D itself, but the *velocity*
        :math:`\nabla D / (2(1-D))` differentiates the fit and needs a smoother one: with 2000 + 2000
        samples of N(0,1) vs N(1,1), Scott's h = 0.22 gives max |D error| 0.05 but a velocity that
        oscillates and changes sign, while h = 0.5-1 gives a smooth velocity close to the truth
        (a review measurement). For particles (``velocity="discriminator"``) pass a larger
        bandwidth explicitly (the experiments in ``benchmarks/gan.md`` use 0.4 on data of spread 2).
    regularization : float
        Ridge weight :math:`\lambda \ge 0` on the feature coefficients (default 1e-3). Larger values
        give a smoother, more biased D; it bounds :math:`|f|` where one sample set is absent.
    seed : int, numpy Generator or None
        Draws the features; the fit itself is deterministic.
    warm_start : bool
        Start each fit from the previous coefficients (default True): much faster when the
        calibrator is refitted along a trajectory; the optimum is the same up to ``tol``.
    tol : float
        Gradient tolerance of L-BFGS (``gtol``; default 1e-9).
    max_iter : int
        Iteration cap of L-BFGS (default 2000).
    solver : {"scipy", "lbfgs"}
        ``"scipy"`` (default): ``scipy.optimize.minimize(method="L-BFGS-B")``; ``"lbfgs"``:
        :func:`lbfgs`, a plain L-BFGS with Armijo backtracking in this module. Both stop at
        ``max |grad L| <= tol`` and reach the same minimiser (the problem is strictly convex for
        ``regularization > 0``). ``"lbfgs"`` avoids scipy's Fortran L-BFGS-B calling threaded
        BLAS between the (compiled, single-threaded) loss evaluations: on a busy 2-core machine
        each such call can wait milliseconds for OpenBLAS worker threads (5-15x slower whole
        particle runs measured); with ``OPENBLAS_NUM_THREADS=1`` the two are within 25%.

    Attributes
    ----------
    features : RandomFourierFeatures or None
        Created at the first :meth:`fit`.
    coef_, intercept_ : ndarray (M,), float
        The fitted a and c.
    n_iter_, loss_, converged_ : int, float, bool
        L-BFGS iterations, final loss and convergence flag of the last fit.

    References
    ----------
    Huang & Zhang (2023), eq. 20-21; Goodfellow et al. (2014), Proposition 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> cal = Calibrator(n_features=100, seed=0).fit(rng.normal(0, 1, (2000, 1)), rng.normal(1, 1, (2000, 1)))
    >>> bool(abs(cal([[0.5]])[0] - 0.5) < 0.1)  # equal densities at x = 0.5
    True
    """

    def __init__(self, n_features=300, bandwidth="scott", regularization=1e-3, seed=None, warm_start=True,
                 tol=1e-9, max_iter=2000, solver="scipy"):
        self.n_features = _v.positive_int("n_features", n_features)
        if not (isinstance(bandwidth, str) and bandwidth == "scott"):
            bandwidth = _v.positive_number("bandwidth", bandwidth)
        self.bandwidth = bandwidth
        self.regularization = _v.positive_number("regularization", regularization, allow_zero=True)
        self.seed = seed
        self.warm_start = bool(warm_start)
        self.tol = _v.positive_number("tol", tol)
        self.max_iter = _v.positive_int("max_iter", max_iter)
        if solver not in ("lbfgs", "scipy"):
            raise ValueError(f"unknown solver {solver!r}; use 'lbfgs' or 'scipy'.")
        self.solver = solver
        self.converged_ = False
        self.features = None
        self.coef_ = None
        self.intercept_ = 0.0
        self.n_iter_ = 0
        self.loss_ = np.nan
        self.n_fits_ = 0
        self._data_features = None  # (copy of the data, their features): the data rarely change

    # -- fitting --------------------------------------------------------------------------------
    def _ensure_features(self, data):
        if self.features is None:
            h = scott_bandwidth(data) if isinstance(self.bandwidth, str) else self.bandwidth
            self.features = RandomFourierFeatures(data.shape[1], self.n_features, h, seed=self.seed)
        elif data.shape[1] != self.features.dim:
            raise ValueError(f"this calibrator was fitted on {self.features.dim}-dimensional samples; "
                             f"got {data.shape[1]}-dimensional data.")

    def fit(self, data, samples):
        """Fit D to ``data`` (samples of rho_d, shape (n_d, d)) against ``samples`` (of u, (n_u, d)).

        Returns self.
        """
        data = _v.as_samples(data, "data")
        samples = _v.as_samples(samples, "samples", data.shape[1])
        self._ensure_features(data)
        cached = self._data_features
        if cached is not None and cached[0].shape == data.shape and np.array_equal(cached[0], data):
            phi_d = cached[1]  # refits along a trajectory: same data, only the samples move
        else:
            phi_d = self.features(data)
            self._data_features = (data.copy(), phi_d)
        phi_u = self.features(samples)
        wd, wu, lam = 0.5 / data.shape[0], 0.5 / samples.shape[0], self.regularization
        m = self.n_features

        def loss_and_grad(p):
            grad = np.empty(m + 1)
            loss = _logistic_kernel(phi_d, phi_u, p, wd, wu, lam, grad)
            return loss, grad

        if self.warm_start and self.coef_ is not None:
            p0 = np.concatenate([self.coef_, [self.intercept_]])
        else:
            p0 = np.zeros(m + 1)
        if self.solver == "scipy":
            # one BLAS thread: L-BFGS-B's small BLAS calls otherwise wait for OpenBLAS threads
            # (fokkerplanck._threads; 3x on the whole particle run on a busy 2-core machine)
            with _threads.blas_limits():
                res = minimize(loss_and_grad, p0, jac=True, method="L-BFGS-B",
                               options=dict(gtol=self.tol, ftol=1e-15, maxiter=self.max_iter, maxcor=20))
            p, loss, nit, ok = res.x, float(res.fun), int(res.nit), bool(res.success)
        else:
            p, loss, nit, ok = lbfgs(loss_and_grad, p0, tol=self.tol, max_iter=self.max_iter)
        self.coef_, self.intercept_ = p[:m].copy(), float(p[m])
        self.n_iter_, self.loss_, self.converged_ = nit, loss, ok
        self.n_fits_ += 1
        return self

    # -- evaluation -----------------------------------------------------------------------------
    def _check_fitted(self, x):
        if self.coef_ is None:
            raise ValueError("the calibrator is not fitted yet; call fit(data, samples) first.")
        return _v.as_samples(x, "x", self.features.dim)

    def _logit(self, x):
        return np.sum(self.features(x) * self.coef_, axis=1) + self.intercept_

    def logit(self, x) -> np.ndarray:
        r"""The fitted logit :math:`f(x) = \ln(D/(1-D)) \approx \ln(\rho_d/u)`, shape (n,)."""
        x = self._check_fitted(x)
        return self._logit(x)

    def logit_gradient(self, x) -> np.ndarray:
        r""":math:`\nabla f(x)`, shape (n, d)."""
        x = self._check_fitted(x)
        return self.features.gradient(x, self.coef_)

    def __call__(self, x) -> np.ndarray:
        """The discriminator D(x) in (0, 1), shape (n,)."""
        return expit(self.logit(x))

    discriminator = __call__

    def log_one_minus(self, x) -> np.ndarray:
        r""":math:`\ln(1 - D(x)) = -\ln(1 + e^{f(x)})`, computed stably, shape (n,)."""
        return -np.logaddexp(0.0, self.logit(x))

    def gradient(self, x) -> np.ndarray:
        r""":math:`\nabla D(x) = D(1-D)\nabla f(x)`, shape (n, d)."""
        x = self._check_fitted(x)
        f = self._logit(x)
        return (expit(f) * expit(-f))[:, None] * self.features.gradient(x, self.coef_)

    def velocity(self, x) -> np.ndarray:
        r"""The velocity of eq. 20/22, :math:`\nabla D / (2(1-D)) = \tfrac12 D\,\nabla f`, shape (n, d)."""
        x = self._check_fitted(x)
        f = self._logit(x)
        return 0.5 * expit(f)[:, None] * self.features.gradient(x, self.coef_)

    def __repr__(self):
        h = self.features.bandwidth if self.features is not None else self.bandwidth
        return (f"Calibrator(n_features={self.n_features}, bandwidth={h!r}, "
                f"regularization={self.regularization}, seed={self.seed!r})")


class CalibratedVelocity:
    r"""The velocity field of the nonparametric navigator: ``field(t, x) -> (n, d)``.

    At every call the calibrator is refitted on ``data`` (samples of rho_d) against the current
    particle positions ``x`` (the whole ensemble, or a Runge-Kutta stage of it), and the velocity
    :math:`\nabla D/(2(1-D))` of eq. 20 is returned at ``x``. The field does not depend on ``t``.

    Attributes
    ----------
    calibrator : Calibrator
    data : ndarray (n_d, d)
    n_calls : int
    """

    def __init__(self, data, calibrator):
        self.data = data
        self.calibrator = calibrator
        self.n_calls = 0

    def __call__(self, t, x) -> np.ndarray:
        x = _v.as_samples(x, "particle positions x", self.data.shape[1])
        self.calibrator.fit(self.data, x)
        self.n_calls += 1
        return self.calibrator.velocity(x)


_CALIBRATOR_OPTIONS = ("n_features", "bandwidth", "regularization", "warm_start", "tol", "max_iter", "solver")


def discriminator_velocity(data, seed=None, **calibrator_options) -> CalibratedVelocity:
    r"""Velocity field ``field(t, x)`` of particles driven by a calibrated discriminator (eq. 20, 22).

    .. math::

        b(t, x) = \frac{\nabla \hat D_t(x)}{2(1 - \hat D_t(x))}, \qquad
        \hat D_t \approx \frac{\rho_d}{\rho_d + u_t} \text{ fitted on } \texttt{data} \text{ vs the particles}.

    Parameters
    ----------
    data : array_like, shape (n_d, d)
        Samples of the data density rho_d (the only access to rho_d).
    seed : int, numpy Generator or None
        Seed of the calibrator's random features (an int seeds a stream independent of
        ``numpy.random.default_rng(seed)``, which callers may use for the initial sample).
    **calibrator_options
        ``n_features``, ``bandwidth``, ``regularization``, ``warm_start``, ``tol``, ``max_iter``,
        ``solver`` of :class:`Calibrator`.

    Returns
    -------
    CalibratedVelocity
        Callable ``field(t, x) -> (n, d)``; it refits the calibrator on every call.

    References
    ----------
    Huang & Zhang (2023), eq. 20-22, Algorithm 1 (lines 2-6).
    """
    data = _v.as_samples(data, "data")
    unknown = set(calibrator_options) - set(_CALIBRATOR_OPTIONS)
    if unknown:
        raise ValueError(f"unknown calibrator option(s) {sorted(unknown)}; valid: {', '.join(_CALIBRATOR_OPTIONS)}.")
    return CalibratedVelocity(data, Calibrator(seed=_feature_seed(seed), **calibrator_options))


def _feature_seed(seed):
    """A seed for the calibrator's features that does not reproduce the stream of ``default_rng(seed)``.

    Callers such as ``fp.particles.simulate`` use the same integer seed for the initial sample; drawing
    the random frequencies from the identical stream would correlate them with the particles.
    """
    if seed is None or isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.SeedSequence(entropy=int(seed), spawn_key=(0x6A11,))
    raise ValueError(f"seed must be an int, a numpy Generator or None, got {seed!r}.")


# ---------------------------------------------------------------------------------------------
# the generator and the fitting step (eq. 23)
# ---------------------------------------------------------------------------------------------

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
        mean = np.atleast_1d(np.asarray(mean, dtype=float))
        d = mean.size
        cov = np.asarray(cov, dtype=float).reshape(d, d)
        n = d if latent_dim is None else _v.positive_int("latent_dim", latent_dim)
        if n < d:
            raise ValueError(f"latent_dim = {n} < d = {d}: a Gaussian of full rank needs latent_dim >= d.")
        chol = np.linalg.cholesky(cov)
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
    written in Algorithm 1). Returns the new theta; the generator is not modified.
    """
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
    if method == "gradient":
        learning_rate = _v.positive_number("learning_rate", learning_rate)
        n_steps = _v.positive_int("n_steps", n_steps)
        theta = theta.copy()
        for _ in range(n_steps):
            theta -= learning_rate * (2.0 / m) * (psi.T @ (psi @ theta - y))
        return theta
    raise ValueError(f"unknown fitting method {method!r}; use 'lstsq' or 'gradient'.")


def generator_loss(generator, calibrator, z, theta=None) -> float:
    r"""The vanilla GAN generator loss :math:`\frac1m\sum_i \ln(1 - D(G_\theta(z_i)))` (eq. 24).

    Proposition 8: one gradient step of the MSE (eq. 23) toward the moved samples of eq. 22 equals
    :math:`\varepsilon` times one gradient step of this loss (same learning rate).
    """
    return float(np.mean(calibrator.log_one_minus(generator(z, theta))))


# ---------------------------------------------------------------------------------------------
# navigators: Algorithm 1
# ---------------------------------------------------------------------------------------------

_FITTINGS = ("pointwise", "setwise")


class _Navigator:
    """What both navigators share: ``run`` repeats ``step``."""

    def step(self) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self, n_iter, callback=None) -> list:
        """``n_iter`` iterations; ``callback(navigator, info)`` after each. Returns the list of infos."""
        n_iter = _v.positive_int("n_iter", n_iter)
        infos = []
        for _ in range(n_iter):
            info = self.step()
            infos.append(info)
            if callback is not None:
                callback(self, info)
        return infos


class ParametricNavigator(_Navigator):
    r"""Algorithm 1 of Huang & Zhang (2023): a generator navigating the gradient flow of JSD.

    One iteration (:meth:`step`), with step size :math:`\varepsilon`:

    1. draw m latent samples :math:`z_i` and set :math:`x_i = G(z_i)`;
    2. calibrate: fit :math:`D` on the data against :math:`\{x_i\}` (eq. 21, solved to optimality);
    3. move: :math:`y_i = x_i + \varepsilon\,\nabla D(x_i) / (2(1 - D(x_i)))` (eq. 22);
    4. fit: ``fitting="pointwise"``: MSE between :math:`G(z_i)` and :math:`y_i` (eq. 23; the vanilla
       GAN, Proposition 8); ``fitting="setwise"``: first match :math:`x_i` to
       :math:`y_{\sigma(i)}` by the optimal assignment :func:`match`, then MSE between
       :math:`G(z_i)` and :math:`y_{\sigma(i)}` (the set-wise similarity proposed in Section 3.3).

    After k iterations the generator represents the ODE at time :math:`t = k\varepsilon`.

    Parameters
    ----------
    generator : RandomFeatureGenerator
        Modified in place (its ``theta``).
    data : array_like, shape (n_d, d)
        Samples of rho_d.
    step_size : float
        :math:`\varepsilon`.
    fitting : {"pointwise", "setwise"}
    batch_size : int
        m, latent samples per iteration (default 1000).
    data_batch_size : int or None
        Data samples per calibration (a fresh minibatch each iteration, Algorithm 1 line 3);
        None (default) uses all the data every time.
    fit_method, ridge, learning_rate, n_fit_steps
        Passed to :func:`fit_generator` (``method``, ``ridge``, ``learning_rate``, ``n_steps``).
    match_iterations : int
        Set-wise only: alternate matching and fitting this many times (default 1: match the
        current outputs once, then fit). Each round re-matches the *fitted* outputs
        :math:`G_\theta(z_i)` to the moved points and refits, which never increases the set-wise
        loss :math:`\min_\sigma \frac1m\sum_i |G_\theta(z_i) - y_{\sigma(i)}|^2` (+ ridge): a block
        coordinate descent on a squared-W2 fit of the moved sample.
    calibrator : Calibrator, optional
        Default ``Calibrator(seed=seed)``.
    seed : int or None
        Seeds the latent and data minibatches (and the default calibrator's features).
    """

    def __init__(self, generator, data, step_size, fitting="pointwise", batch_size=1000, data_batch_size=None,
                 fit_method="lstsq", ridge=1e-6, learning_rate=0.5, n_fit_steps=1, match_iterations=1,
                 calibrator=None, seed=None):
        if not isinstance(generator, RandomFeatureGenerator):
            raise ValueError(f"generator must be a RandomFeatureGenerator, got {type(generator).__name__}.")
        self.generator = generator
        self.data = _v.as_samples(data, "data", generator.dim)
        self.step_size = _v.positive_number("step_size", step_size)
        if fitting not in _FITTINGS:
            raise ValueError(f"fitting must be one of {_FITTINGS}, got {fitting!r}.")
        self.fitting = fitting
        self.batch_size = _v.positive_int("batch_size", batch_size)
        if data_batch_size is not None:
            data_batch_size = _v.positive_int("data_batch_size", data_batch_size)
            if data_batch_size > self.data.shape[0]:
                raise ValueError(f"data_batch_size = {data_batch_size} exceeds the {self.data.shape[0]} data samples.")
        self.data_batch_size = data_batch_size
        if fit_method not in ("lstsq", "gradient"):
            raise ValueError(f"unknown fit_method {fit_method!r}; use 'lstsq' or 'gradient'.")
        self.fit_options = dict(method=fit_method, ridge=_v.positive_number("ridge", ridge, allow_zero=True),
                                learning_rate=_v.positive_number("learning_rate", learning_rate),
                                n_steps=_v.positive_int("n_fit_steps", n_fit_steps))
        self.match_iterations = _v.positive_int("match_iterations", match_iterations)
        if calibrator is not None and not isinstance(calibrator, Calibrator):
            raise ValueError(f"calibrator must be a Calibrator, got {type(calibrator).__name__}.")
        self.rng = np.random.default_rng(seed)
        self.calibrator = calibrator if calibrator is not None else Calibrator(seed=self.rng.integers(2**63))
        self.t = 0.0
        self.iteration = 0

    def _data_batch(self):
        if self.data_batch_size is None:
            return self.data
        idx = self.rng.choice(self.data.shape[0], self.data_batch_size, replace=False)
        return self.data[idx]

    def step(self) -> dict:
        """One iteration of Algorithm 1.

        Returns a dict: ``t``; ``move``, the RMS length of the moves of eq. 22; ``fit_residual``,
        the RMS distance between the refitted outputs and their targets (``move`` would be the
        residual of not refitting at all); ``reassigned``, the fraction of points the set-wise
        matching paired with another point's target (0 for point-wise); ``calibrator_iterations``.
        """
        gen = self.generator
        z = gen.sample_latent(self.batch_size, self.rng)
        x = gen(z)
        self.calibrator.fit(self._data_batch(), x)
        y = x + self.step_size * self.calibrator.velocity(x)
        move = float(np.sqrt(np.mean(np.sum((y - x) ** 2, axis=1))))
        reassigned = 0.0
        if self.fitting == "setwise":
            current = x
            for _ in range(self.match_iterations):
                perm = match(current, y)
                theta = fit_generator(gen, z, y[perm], **self.fit_options)
                current = gen(z, theta)
            reassigned = float(np.mean(perm != np.arange(perm.size)))
            y = y[perm]
        else:
            theta = fit_generator(gen, z, y, **self.fit_options)
        if not np.all(np.isfinite(theta)):
            raise FloatingPointError(f"the generator parameters became non-finite at iteration {self.iteration}.")
        gen.theta = theta
        self.t += self.step_size
        self.iteration += 1
        fitted = gen(z)
        return dict(t=self.t, move=move, fit_residual=float(np.sqrt(np.mean(np.sum((fitted - y) ** 2, axis=1)))),
                    reassigned=reassigned, calibrator_iterations=self.calibrator.n_iter_)



class NonparametricNavigator(_Navigator):
    r"""Algorithm 1 with the particles as the generator: :math:`y_i \leftarrow y_i + \varepsilon\,
    \nabla D(y_i)/(2(1-D(y_i)))` with D calibrated on the current particles (eq. 21-22).

    This is the forward-Euler simulation of ODE (20) with the velocity
    :func:`discriminator_velocity`; :mod:`fokkerplanck.particles` offers higher-order integrators
    of the same field (``velocity="discriminator"``).

    Parameters
    ----------
    particles : array_like, shape (n, d)
        Initial positions (copied).
    data : array_like, shape (n_d, d)
    step_size : float
    seed : int or None
        Seed of the calibrator's features.
    **calibrator_options
        As for :func:`discriminator_velocity`.
    """

    def __init__(self, particles, data, step_size, seed=None, **calibrator_options):
        self.field = discriminator_velocity(data, seed=seed, **calibrator_options)
        self.particles = _v.as_samples(particles, "particles", self.field.data.shape[1]).copy()
        self.step_size = _v.positive_number("step_size", step_size)
        self.t = 0.0
        self.iteration = 0

    def step(self) -> dict:
        v = self.field(self.t, self.particles)
        self.particles = self.particles + self.step_size * v
        self.t += self.step_size
        self.iteration += 1
        return dict(t=self.t, move=float(self.step_size * np.sqrt(np.mean(np.sum(v * v, axis=1)))),
                    calibrator_iterations=self.field.calibrator.n_iter_)

