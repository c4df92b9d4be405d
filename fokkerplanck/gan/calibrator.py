r"""The calibrator: the discriminator of Section 3 estimated from samples, and the velocity it gives.

Section 3 of Huang & Zhang (2023) rewrites the gradient-flow ODE (2) of the Jensen-Shannon
divergence in terms of the discriminator :math:`D_t = \rho_d / (\rho_d + u_t)` (eq. 20),

.. math::

    \frac{dY_t}{dt} = \frac{\nabla D_t(Y_t)}{2\,(1 - D_t(Y_t))}
                    = -\tfrac12 \nabla \ln\big(1 - D_t\big)(Y_t),

and :math:`D_t` is the unique maximiser of
:math:`\mathbb E_{\rho_d}[\ln D] + \mathbb E_{u_t}[\ln(1 - D)]` (eq. 21; Goodfellow et al. 2014,
Proposition 1), so it can be estimated from samples of both densities alone. The calibrator does
so by a class-balanced, ridge-regularised logistic regression of the logit
:math:`f = \ln(D/(1-D)) = a\cdot\varphi + c` on random Fourier features :math:`\varphi`
(:mod:`fokkerplanck.gan.features`),

.. math::

    L(a, c) = \tfrac12\,\frac1{n_d}\sum_{i} \ln\big(1 + e^{-f(x_i)}\big)
            + \tfrac12\,\frac1{n_u}\sum_{j} \ln\big(1 + e^{f(y_j)}\big)
            + \tfrac{\lambda}{2}\,|a|^2, \qquad x_i \sim \rho_d,\ y_j \sim u,

a convex problem solved by Newton's method with a reused Hessian and BFGS corrections (default)
or by scipy's L-BFGS-B, both with the analytic gradient of a compiled kernel. Then
:math:`\nabla D = D(1-D)\nabla f` and the velocity of eq. 20/22 is
:math:`\nabla D / (2(1-D)) = \tfrac12 D\,\nabla f`, both analytic.

* :class:`Calibrator`: the fit, D, its logit, gradient and the velocity;
* :class:`CalibratedVelocity` and :func:`discriminator_velocity`: the velocity field ``field(t, x)``
  of particles ``x``, re-calibrated on ``x`` at every call (the nonparametric navigator of
  Algorithm 1; used by ``fp.particles.simulate(..., velocity="discriminator")``);
* :func:`scott_bandwidth`: the default length scale of the calibrator's features.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023,
Section 3.1-3.2, eq. 20-22, Algorithm 1.
I. Goodfellow et al., "Generative Adversarial Nets", NeurIPS 2014.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from numba import njit
from scipy.linalg import LinAlgError, cho_factor, cho_solve
from scipy.optimize import minimize
from scipy.special import expit

from .. import _threads
from .. import _validation as _v
from .features import RandomFourierFeatures

__all__ = ["Calibrator", "CalibratedVelocity", "discriminator_velocity", "scott_bandwidth"]

_SOLVERS = ("newton", "lbfgsb")
_REFRESH = 0.5  # recompute the Hessian when a step shrinks max|grad| by less than this factor
#: L-BFGS-B's relative decrease tolerance (scipy's ``ftol``): about 4.5 machine epsilons, round-off
#: of the loss. Its line search decides on loss values, so it stops here when a step's decrease is
#: no longer resolved, possibly before the gradient test (see :class:`Calibrator`, ``grad_max_``).
LBFGSB_FTOL = 1e-15
_PAIRS = 10  # BFGS correction pairs on top of the stored Hessian


def scott_bandwidth(data) -> float:
    r"""Scott's rule bandwidth :math:`h = \bar\sigma\, n^{-1/(d+4)}` of samples of shape (n, d),
    with :math:`\bar\sigma` the mean per-axis standard deviation.

    Used as the default length scale of the calibrator's random Fourier features: the
    discriminator then resolves the same detail as a kernel density estimate of the data would.
    (One isotropic length scale for any d, with the population standard deviation; the per-axis
    KDE rules are ``fokkerplanck.particles.kde.bandwidth``.)

    Parameters
    ----------
    data : array_like, shape (n, d)

    Returns
    -------
    float
    """
    data = _v.as_samples(data, "data")
    n, d = data.shape
    sigma = float(np.mean(np.std(data, axis=0)))
    if not sigma > 0:
        raise ValueError("the data have zero spread; give the bandwidth explicitly.")
    return sigma * n ** (-1.0 / (d + 4))


# compiled loss of the logistic regression (single-threaded on purpose, see features.py)

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


def _logistic_hessian(phi_d, phi_u, params, wd, wu, lam):
    r"""The Hessian of the loss at ``params``, shape (M+1, M+1) (the last row/column: the intercept).

    :math:`H = \sum_i w_i\,s_i(1-s_i)\,\tilde\varphi_i\tilde\varphi_i^\top + \lambda\,\mathrm{diag}(1,..,1,0)`
    with :math:`\tilde\varphi = (\varphi, 1)` and :math:`s = \sigma(f)` over data and samples. The
    feature block is one BLAS ``syrk`` per sample set (:math:`n M^2` flops), in single precision
    (relative error ~1e-7 of the block, far below the ridge's share of the smallest eigenvalue;
    half the time of double precision): the refit only uses H to choose its steps, and where it
    stops is decided by the double-precision gradient. Call inside
    :func:`fokkerplanck._threads.blas_limits`.
    """
    m = phi_d.shape[1]
    a, c = params[:m], params[m]
    h = np.zeros((m + 1, m + 1))
    for phi, w in ((phi_d, wd), (phi_u, wu)):
        s = expit(phi @ a + c)
        q = w * s * (1.0 - s)
        b = np.empty(phi.shape, dtype=np.float32)
        np.multiply(phi, np.sqrt(q)[:, None], out=b, casting="same_kind")
        h[:m, :m] += b.T @ b  # numpy calls (s)syrk for b.T @ b
        h[:m, m] += phi.T @ q
        h[m, m] += q.sum()
    h[m, :m] = h[:m, m]
    h[np.arange(m), np.arange(m)] += lam
    return h


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
    minimiser :math:`D = \rho_d/(\rho_d + u)` whatever the two sample sizes. :math:`L` is convex
    (strictly, with the ridge); it is minimised with the analytic gradient of a compiled,
    single-threaded kernel by ``solver``: Newton's method with a reused Hessian (default) or scipy's
    L-BFGS-B. Newton stops at the test :math:`\max|\nabla L| \le` ``tol``. L-BFGS-B stops at the same
    test or, earlier, when a step lowers the loss by less than its round-off (relative decrease
    below ``LBFGSB_FTOL`` = 1e-15): its line search decides on loss values. Near the minimum a step
    close to Newton's lowers :math:`L` by about
    :math:`\tfrac12 \nabla L^\top H^{-1} \nabla L \ge |\nabla L|_2^2/(2\lambda_{max})`,
    :math:`\lambda_{max}` the Hessian's largest eigenvalue, so that stop comes at
    :math:`|\nabla L|_2 \lesssim \sqrt{2\lambda_{max}\,\mathrm{ftol}\,\max(|L|, 1)}`, which can be
    above ``tol`` (it is for the default ``tol`` in the tests). ``grad_max_`` says which
    gradient a fit reached. Any fit is within :math:`|p - p^*|_2 \le |\nabla L(p)|_2/\mu \le
    \sqrt{M+1}\,` ``grad_max_`` :math:`/\mu` of the minimiser, :math:`\mu > 0` the smallest eigenvalue
    of the Hessian (positive: the ridge bounds the feature block below by :math:`\lambda`, and the
    intercept has the curvature :math:`\sum w\,D(1-D)`; about 0.9 :math:`\lambda` in the tests). Then

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
        samples of N(0,1) vs N(1,1), Scott's h = 0.22 gives a largest error of D of 0.05 but a velocity that
        oscillates and changes sign, while h = 0.5-1 gives a smooth velocity close to the truth
        (a review measurement). For particles (``velocity="discriminator"``) pass a larger
        bandwidth explicitly (the experiments in ``benchmarks/gan.md`` use 0.4 on data of spread 2).
    regularization : float
        Ridge weight :math:`\lambda \ge 0` on the feature coefficients (default 1e-3). Larger values
        give a smoother, more biased D; it bounds :math:`|f|` where one sample set is absent.
    seed : int, numpy Generator or None
        Draws the features; the fit itself is deterministic.
    warm_start : bool
        Start each fit from the previous coefficients and, with ``solver="newton"``, the previous
        fit's Hessian (default True): much faster when the calibrator is refitted along a
        trajectory; the optimum is the same up to ``tol``. With False every fit starts from zero
        and uses nothing from earlier fits (a refit equals a fresh calibrator's fit bit for bit).
    tol : float
        Gradient tolerance, for either solver: stop at ``max |grad L| <= tol`` (default 1e-9;
        L-BFGS-B's ``gtol``, with memory 20 pairs; it may stop before, at the round-off of the loss:
        see above and ``grad_max_``).
    max_iter : int
        Iteration cap (default 2000): Newton iterations or L-BFGS-B iterations.
    solver : {"newton", "lbfgsb"}
        ``"newton"`` (default since issue 12): each iteration costs one loss/gradient evaluation
        and steps by the L-BFGS two-loop recursion (10 pairs of this fit) on top of the exact
        inverse of a Hessian H0 (Cholesky) computed at an earlier iterate, of this fit or, warm, of
        the previous fit; H0 is recomputed (:math:`n M^2` flops, single-precision ``syrk``) when a
        step shrinks ``max |grad L|`` by less than a factor 0.5 or needs a step shorter than 1; an
        Armijo backtracking line search keeps every step a descent. Along the 50 refits of
        ``benchmarks/gan/bench_discriminator_velocity.py`` it takes ~5-6 iterations and one Hessian
        per ~10 refits, against ~31 L-BFGS-B iterations. It stores an (M+1)^2 matrix; for M in the
        thousands prefer ``"lbfgsb"``. A Hessian that is not positive definite (possible only with
        ``regularization`` 0 or below ~1e-6 of the largest curvature, where the single-precision
        rounding of the feature block can outweigh the ridge) hands that fit to L-BFGS-B. ``"lbfgsb"``: scipy's L-BFGS-B
        (``scipy.optimize.minimize(method="L-BFGS-B")``), the default before issue 12; it gives
        today's fits bit for bit. (The values ``"scipy"``/``"lbfgs"`` of an earlier, removed option
        of this name are rejected.)

    Notes
    -----
    Both solvers run with one BLAS thread (:func:`fokkerplanck._threads.blas_limits`; settable with
    ``FOKKERPLANCK_BLAS_THREADS``): their BLAS calls are small or share the machine, and OpenBLAS
    threads waiting on a busy machine slowed L-BFGS-B several-fold.

    Attributes
    ----------
    features : RandomFourierFeatures or None
        Created at the first :meth:`fit`.
    coef_, intercept_ : ndarray (M,), float
        The fitted a and c.
    n_iter_, loss_, converged_ : int, float, bool
        Iterations (of ``solver``), final loss and convergence flag (``max |grad L| <= tol`` for
        ``"newton"``, scipy's ``success`` for ``"lbfgsb"``, which includes its stop at the round-off
        of the loss) of the last fit.
    grad_max_ : float
        :math:`\max|\nabla L|` at the fitted parameters (the compiled kernel's gradient): at most
        ``tol`` when the gradient test stopped the fit, above it when L-BFGS-B stopped at round-off.
    n_hessians_ : int
        Hessians computed by the last fit (``solver="newton"``; 0 for ``"lbfgsb"``).
    fit_solver_ : str
        The solver that finished the last fit: ``solver``, or ``"lbfgsb"`` when a Newton fit
        handed over to L-BFGS-B (a Hessian that is not positive definite; a RuntimeWarning says so).

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
                 tol=1e-9, max_iter=2000, solver="newton"):
        self.n_features = _v.positive_int("n_features", n_features)
        if not (isinstance(bandwidth, str) and bandwidth == "scott"):
            bandwidth = _v.positive_number("bandwidth", bandwidth)
        self.bandwidth = bandwidth
        self.regularization = _v.positive_number("regularization", regularization, allow_zero=True)
        self.seed = seed
        self.warm_start = bool(warm_start)
        self.tol = _v.positive_number("tol", tol)
        self.max_iter = _v.positive_int("max_iter", max_iter)
        if isinstance(solver, str) and solver.lower() in ("scipy", "lbfgs"):
            raise ValueError(f"solver {solver!r} is gone (the package's own L-BFGS was removed); scipy's "
                             f"L-BFGS-B is solver='lbfgsb', the default is 'newton'.")
        self.solver = _v.choice("solver", solver, _SOLVERS)
        self.converged_ = False
        self.features = None
        self.coef_ = None
        self.intercept_ = 0.0
        self.n_iter_ = 0
        self.loss_ = np.nan
        self.grad_max_ = np.nan
        self.n_fits_ = 0
        self.n_hessians_ = 0
        self._data_features = None  # (copy of the data, their features): the data rarely change
        self._hessian_factor = None  # Cholesky factor of the last Hessian (solver="newton", warm starts)
        self._sample_features = None  # (copy of the last fit's samples, their features): the velocity is
        # asked for at the same points (CalibratedVelocity)

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
            self._hessian_factor = None  # new data: the stored curvature is not theirs
        phi_u = self.features(samples)
        self._sample_features = (samples.copy(), phi_u)
        wd, wu, lam = 0.5 / data.shape[0], 0.5 / samples.shape[0], self.regularization
        m = self.n_features
        warm = self.warm_start and self.coef_ is not None
        p0 = np.concatenate([self.coef_, [self.intercept_]]) if warm else np.zeros(m + 1)
        if not warm:
            self._hessian_factor = None  # a cold fit depends on nothing from earlier fits
        self.n_hessians_ = 0
        self.fit_solver_ = self.solver
        # one BLAS thread: the small BLAS calls of L-BFGS-B otherwise wait for OpenBLAS threads
        # (fokkerplanck._threads; 3x on the whole particle run on a busy 2-core machine), and the
        # Hessian's syrk runs beside other work on a shared machine
        with _threads.blas_limits():
            if self.solver == "newton":
                p, loss, gmax, nit, ok = self._fit_newton(phi_d, phi_u, wd, wu, lam, p0)
            else:
                p, loss, gmax, nit, ok = self._fit_lbfgsb(phi_d, phi_u, wd, wu, lam, p0)
        self.coef_, self.intercept_ = p[:m].copy(), float(p[m])
        self.n_iter_, self.loss_, self.grad_max_, self.converged_ = nit, loss, gmax, ok
        self.n_fits_ += 1
        return self

    def _fit_lbfgsb(self, phi_d, phi_u, wd, wu, lam, p0):
        """scipy's L-BFGS-B from p0: gtol = tol, ftol = LBFGSB_FTOL, 20 correction pairs.

        Returns ``(p, loss, max |grad|, iterations, success)``; the gradient is scipy's ``jac`` at
        ``p``, the kernel's."""
        m = phi_d.shape[1]

        def loss_and_grad(p):
            grad = np.empty(m + 1)
            loss = _logistic_kernel(phi_d, phi_u, p, wd, wu, lam, grad)
            return loss, grad

        res = minimize(loss_and_grad, p0, jac=True, method="L-BFGS-B",
                       options=dict(gtol=self.tol, ftol=LBFGSB_FTOL, maxiter=self.max_iter, maxcor=20))
        return res.x, float(res.fun), float(np.max(np.abs(res.jac))), int(res.nit), bool(res.success)

    def _fit_newton(self, phi_d, phi_u, wd, wu, lam, p0):
        """Newton's method with a reused Hessian and BFGS corrections, Armijo line search, from p0.

        The step is ``-B grad`` with B the L-BFGS inverse-Hessian approximation (``_PAIRS``
        correction pairs of this fit, two-loop recursion) built on the exact inverse of a Hessian
        H0 (Cholesky factor) computed at an earlier iterate: of this fit, or of the previous fit
        when warm-started. With a fresh H0 the first step is Newton's; along a trajectory H0 from
        the previous refit is close, and the pairs correct what has moved, at one loss/gradient
        evaluation per iteration. H0 is recomputed at the current iterate when a step shrinks
        ``max |grad|`` by less than the factor ``_REFRESH`` or needs a step shorter than 1 (the
        pairs are then dropped). Stops at ``max |grad| <= tol`` (the test of L-BFGS-B's ``gtol``),
        after ``max_iter`` iterations, or when a step from a fresh H0 makes no progress (round-off;
        not converged). A Hessian whose Cholesky factorisation fails (``regularization`` 0 or tiny)
        hands the fit to L-BFGS-B from the current iterate. Returns ``(p, loss, max |grad|,
        iterations, converged)``, as :meth:`_fit_lbfgsb`.
        """
        m = phi_d.shape[1]

        def evaluate(p):
            g = np.empty(m + 1)
            return _logistic_kernel(phi_d, phi_u, p, wd, wu, lam, g), g

        p = p0.copy()
        loss, grad = evaluate(p)
        gnorm = float(np.max(np.abs(grad)))
        factor, fresh, nit, pairs = self._hessian_factor, False, 0, []
        while gnorm > self.tol and nit < self.max_iter:
            if factor is None:
                try:
                    factor = cho_factor(_logistic_hessian(phi_d, phi_u, p, wd, wu, lam), lower=True)
                except LinAlgError:
                    self._hessian_factor = None
                    warnings.warn("Calibrator: the logistic Hessian is not positive definite (regularization "
                                  f"{self.regularization:g} is too small for the features' rounding); this fit is "
                                  "finished by L-BFGS-B instead of Newton (fit_solver_ says so).", RuntimeWarning,
                                  stacklevel=4)
                    self.fit_solver_ = "lbfgsb"
                    p, loss, gmax, it2, ok = self._fit_lbfgsb(phi_d, phi_u, wd, wu, lam, p)
                    return p, loss, gmax, nit + it2, ok
                fresh, pairs = True, []
                self.n_hessians_ += 1
            # two-loop recursion on top of H0^-1
            q, alphas = grad.copy(), []
            for s, y, rho in reversed(pairs):
                a = rho * float(s @ q)
                q -= a * y
                alphas.append(a)
            r = cho_solve(factor, q)
            for (s, y, rho), a in zip(pairs, reversed(alphas)):
                r += (a - rho * float(y @ r)) * s
            step = -r
            slope = float(grad @ step)  # < 0: B is positive definite
            slack = 1e-13 * (1.0 + abs(loss))  # the loss's round-off (sums of ~1e5 terms)
            t = 1.0
            while True:
                p_new = p + t * step
                loss_new, grad_new = evaluate(p_new)
                if loss_new <= loss + 1e-4 * t * slope + slack or t < 1e-10:
                    break
                t *= 0.5
            gnorm_new = float(np.max(np.abs(grad_new)))
            if t < 1e-10 or slope >= 0.0:
                if fresh and not pairs:  # no progress even with the curvature of this point: round-off
                    break
                factor = None  # stale curvature: recompute it here and retry
                continue
            nit += 1
            slow = t < 1.0 or gnorm_new > _REFRESH * gnorm
            s, y = p_new - p, grad_new - grad
            sy = float(s @ y)
            if sy > 1e-12 * float(y @ y) ** 0.5 * float(s @ s) ** 0.5:
                pairs.append((s, y, 1.0 / sy))
                del pairs[:-_PAIRS]
            p, loss, grad, gnorm = p_new, loss_new, grad_new, gnorm_new
            fresh = False
            if slow and gnorm > self.tol:
                factor = None
        if factor is not None:
            self._hessian_factor = factor
        return p, float(loss), gnorm, nit, gnorm <= self.tol

    # -- evaluation -----------------------------------------------------------------------------
    def _check_fitted(self, x):
        if self.coef_ is None:
            raise ValueError("the calibrator is not fitted yet; call fit(data, samples) first.")
        return _v.as_samples(x, "x", self.features.dim)

    def _logit(self, x):
        cached = self._sample_features
        if cached is not None and cached[0].shape == x.shape and np.array_equal(cached[0], x):
            phi = cached[1]  # the points of the last fit (the particles): features computed there
        else:
            phi = self.features(x)
        return np.sum(phi * self.coef_, axis=1) + self.intercept_

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
                f"regularization={self.regularization}, seed={self.seed!r}, solver={self.solver!r})")


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

