r"""Theoretical predictions to compare a computed flow against (docs/mathematics.md, sections 3-6).

The paper proves convergence (Theorem 7) without a rate. Linearising the flow
:math:`\rho_d v_t = \nabla\cdot(\rho_d\nabla\Phi(v))` at equilibrium :math:`v = 1` gives
:math:`\rho_d v_t \approx \Phi'(1)\,\nabla\cdot(\rho_d\nabla v)`, so every quantity that is
*linear* in :math:`v - 1` (the L1 distance :math:`\|u - \rho_d\|_{L^1}`) decays at

.. math::  r = \Phi'(1)\,\lambda_1,

and every *quadratic* one (JSD, KL, :math:`\|\nabla v\|^2`) at :math:`2r`, with
:math:`\lambda_1` the spectral gap (Poincare constant) of :math:`-\Delta_{\mu_d}`. For the
Jensen-Shannon flow :math:`\Phi'(1) = 1/4` (L1 at :math:`\lambda_1/4`, JSD at
:math:`\lambda_1/2`); for Kullback-Leibler :math:`\Phi'(1) = 1` (L1 at :math:`\lambda_1`, KL at
:math:`2\lambda_1`). Backward Euler with a fixed step ``h`` turns the rate ``r`` into
:math:`\ln(1 + hr)/h`.

On the grid, :math:`\lambda_1` is the smallest nonzero eigenvalue of the generalised problem

.. math::  K x = \lambda M x, \qquad M = \mathrm{diag}(\rho_d)\,\Delta V,

with ``K`` the :math:`\rho_d`-weighted finite-volume Laplacian of :mod:`fokkerplanck.operators`.
For :math:`\rho_d = N(m, \Sigma)`, :math:`\lambda_1 = 1/\lambda_{max}(\Sigma)`.

Lemma 24 (eq. 51) bounds the gradient of the solution under condition (34),
:math:`\rho_0 \le \beta\rho_d`:

.. math::  \int_0^\infty \|\nabla v\|^2_{L^2(\mu_d)}\,dt \le (1 + \beta)\beta^2 .

Its proof (for the backward-Euler iterates :math:`z_i`, which is exactly what the solver computes)
actually shows :math:`\sum_i h_i\|\nabla z_i\|^2 \le (1+\beta)(\|z_0\|^2 - \|z_N\|^2)`, and
:math:`\|z_0\|^2_{L^2(\mu_d)} \le \beta\int z_0\,d\mu_d = \beta`, so the sharper
:math:`(1 + \beta)\beta` holds as well; :func:`lemma24` reports all three.

References
----------
Y.-J. Huang and Y. Zhang, "GANs as Gradient Flows that Converge", JMLR 24(217), 2023:
condition (34), the exponential formula (39), Lemma 24 (eq. 51), Theorem 7.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from . import _threads
from . import _validation as _v
from . import operators
from .divergences import get_divergence
from .grid import Grid
from .problem import setup

__all__ = ["spectral_gap", "eigenvalues", "weighted_laplacian", "predicted_rate", "discrete_rate",
           "predicted_rates", "fit_rate", "decay_window", "gaussian_beta", "condition_beta", "lemma24_bound",
           "gradient_integral", "lemma24", "solution_rate", "barenblatt", "barenblatt_cell_averages"]

#: ``solver="auto"``: SuperLU for 1-D grids and 2-D grids up to this many cells; CG preconditioned
#: by the geometric multigrid of :mod:`fokkerplanck.multigrid` above it and for every 3-D grid
#: (whose LU fill-in grows too fast: 40^3 cells took ~15 s; 32^3 with pyamg-CG took 35 s).
DIRECT_LIMIT = 250_000

#: Relative residual of the CG solves inside shift-invert (multigrid and AMG).
_CG_RTOL = 1e-10


# --------------------------------------------------------------------------------------------
# The spectral gap
# --------------------------------------------------------------------------------------------

def weighted_laplacian(target, grid: Grid):
    r"""The matrices ``(K, m)`` of the generalised eigenproblem :math:`Kx = \lambda\,\mathrm{diag}(m)\,x`.

    ``K`` is the sparse :math:`\rho_d`-weighted finite-volume Laplacian (symmetric positive
    semidefinite, ``K 1 = 0``) and ``m = rho_d * cell_volume`` the cell masses, with ``rho_d``
    restricted to the box and normalised there, exactly as :func:`fokkerplanck.solve` uses them.
    """
    K, m, _ = _weighted_laplacian_parts(target, grid)
    return K, m


def _weighted_laplacian_parts(target, grid: Grid):
    problem = setup(target, target, grid, "kl")
    K = operators.laplacian_matrix(problem.coeffs, grid.shape)
    return K, problem.cell_mass.ravel(), problem.coeffs


class _PseudoInverse:
    """``b -> x`` with ``K x = P b``, ``x`` M-orthogonal to the constants (``P`` projects out ``m``).

    K is singular (its kernel is the constants). Grounding one cell (deleting its row and column)
    leaves a symmetric positive definite matrix; any solution plus a constant solves ``K x = b``
    when ``sum(b) = 0``, and the constant is fixed by M-orthogonality. As an operator on the
    M-orthogonal complement of the constants this is ``(M^{-1} K)^{-1}``, with eigenvalues
    ``1 / lambda_k``; the constants are mapped to 0.
    """

    def __init__(self, K, m, solver="auto", ndim=1, coeffs=None, shape=None):
        n = K.shape[0]
        self.m = m
        self.total = float(m.sum())
        self.ground = int(np.argmax(m))
        keep = np.ones(n, dtype=bool)
        self.n = n
        if solver == "auto":
            solver = "direct" if (ndim == 1 or (ndim < 3 and n <= DIRECT_LIMIT)) else "multigrid"
        if solver == "multigrid":
            # no grounding: CG on the singular, consistent system K x = b (sum b = 0) with a
            # multigrid preconditioner whose coarsest level is a pseudo-inverse (constants exact)
            from .multigrid import Multigrid

            if coeffs is None:
                raise ValueError("solver='multigrid' needs the face coefficients")
            mg = Multigrid(coeffs, shape, singular=True)
            mg.set_diagonal(np.zeros(n), 1.0)

            def _solve_mg(b):
                x, it, ok = mg.solve(b, rtol=_CG_RTOL, maxiter=500)
                if not ok:
                    raise RuntimeError("spectral_gap: multigrid-preconditioned CG did not converge in the "
                                       "shift-invert solve; try solver=\"direct\".")
                return x.ravel()

            self._solve = _solve_mg
            self.keep = keep
            return
        keep[self.ground] = False
        self.keep = keep
        Kg = K[keep][:, keep].tocsc()
        if solver == "direct":
            lu = spla.splu(Kg, permc_spec="MMD_AT_PLUS_A")
            self._solve = lu.solve
        elif solver == "amg":
            import pyamg

            # symmetric diagonal scaling first: rho_d spans many decades, the scaled matrix does not
            d = 1.0 / np.sqrt(Kg.diagonal())
            A = (sp.diags(d) @ Kg @ sp.diags(d)).tocsr()
            prec = pyamg.smoothed_aggregation_solver(A, symmetry="symmetric").aspreconditioner(cycle="V")

            def _solve(b):
                y, info = spla.cg(A, d * b, rtol=_CG_RTOL, atol=0.0, maxiter=500, M=prec)
                if info != 0:
                    raise RuntimeError(f"spectral_gap: CG did not converge in the shift-invert solve (info={info}); try solver=\"direct\".")
                return d * y

            self._solve = _solve
        else:
            raise ValueError(f"solver must be 'auto', 'direct', 'amg' or 'multigrid', got {solver!r}.")

    def __call__(self, b):
        b = np.asarray(b, dtype=float).ravel()
        b = b - self.m * (b.sum() / self.total)           # into the range of K: sum(b) = 0
        x = np.zeros(self.n)
        x[self.keep] = self._solve(b[self.keep])
        return x - (self.m @ x) / self.total              # M-orthogonal to the constants


def eigenvalues(target, grid: Grid, k: int = 1, *, solver: str = "auto") -> np.ndarray:
    r"""The ``k`` smallest nonzero eigenvalues :math:`0 < \lambda_1 \le \dots \le \lambda_k` of
    :math:`-\Delta_{\mu_d}` on the grid.

    Solves :math:`K x = \lambda M x` (see :func:`weighted_laplacian`) with
    :func:`scipy.sparse.linalg.eigsh` in shift-invert mode at :math:`\sigma = 0`, applied to the
    pseudo-inverse of ``K`` on the M-orthogonal complement of the constants (sparse LU with one
    cell grounded in 1-D/2-D; in 3-D and on large 2-D grids, see :data:`DIRECT_LIMIT`, CG on the
    singular consistent system preconditioned by the geometric multigrid of
    :mod:`fokkerplanck.multigrid`, relative residual 1e-10; should it stall, as when rho_d spans
    ~30 decades on the box, ``"auto"`` falls back to pyamg-preconditioned CG). BLAS runs on one thread inside
    (:mod:`fokkerplanck._threads`). Deflating the kernel
    exactly, rather than shifting to :math:`\sigma < 0`, keeps tiny gaps (well-separated mixtures,
    :math:`\lambda_1 \sim 10^{-6}`) accurate to full relative precision.

    Parameters
    ----------
    target : Gaussian, GaussianMixture or callable
        The data density rho_d (> 0 on every cell).
    grid : Grid
    k : int
        How many eigenvalues (``1 <= k < grid.size - 1``).
    solver : {"auto", "direct", "amg", "multigrid"}
        Linear solver of the shift-invert step.

    Returns
    -------
    ndarray, shape (k,)
        Increasing eigenvalues (units 1 / time).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}.")
    if not isinstance(grid, Grid):
        raise ValueError(f"grid must be a fokkerplanck.Grid, got {type(grid).__name__}.")
    if k >= grid.size - 1:
        raise ValueError(f"k = {k} eigenvalues requested but the grid has only {grid.size} cells; "
                         f"use k < {grid.size - 1} (or a dense solver for tiny grids).")
    K, m, coeffs = _weighted_laplacian_parts(target, grid)
    n = K.shape[0]
    if n <= 50:  # tiny grids: ARPACK needs ncv < n; a dense solve is exact and instant
        vals = scipy.linalg.eigh(K.toarray(), np.diag(m), eigvals_only=True, subset_by_index=[1, k])
        return np.asarray(vals, dtype=float)
    with _threads.blas_limits():
        try:
            vals = _shift_invert(K, m, k, solver, grid, coeffs)
        except RuntimeError:
            # multigrid CG can stall when rho_d spans ~30 decades on the box (tail cells almost
            # decoupled); "auto" then falls back to the previous pyamg path
            if solver != "auto":
                raise
            warnings.warn("eigenvalues: the multigrid-preconditioned CG stalled (rho_d spans many decades on "
                          "the box); the shift-invert solves use pyamg's smoothed aggregation instead "
                          "(the same eigenvalues, slower). Pass solver='amg' to choose it directly.",
                          RuntimeWarning, stacklevel=2)
            vals = _shift_invert(K, m, k, "amg", grid, coeffs)
    return np.sort(np.asarray(vals, dtype=float))


def _shift_invert(K, m, k, solver, grid, coeffs):
    n = K.shape[0]
    pinv = _PseudoInverse(K, m, solver, grid.ndim, coeffs=coeffs, shape=grid.shape)
    opinv = spla.LinearOperator((n, n), matvec=pinv, dtype=float)
    rng = np.random.default_rng(0)  # deterministic ARPACK start vector
    v0 = pinv(m * rng.standard_normal(n))
    return spla.eigsh(K, k=k, M=sp.diags(m), sigma=0.0, which="LM", OPinv=opinv, v0=v0, tol=0.0,
                      return_eigenvectors=False)


def spectral_gap(target, grid: Grid, *, solver: str = "auto") -> float:
    r"""The spectral gap :math:`\lambda_1` of :math:`\rho_d` on ``grid``.

    The smallest nonzero eigenvalue of :math:`K x = \lambda M x`, ``K`` the
    :math:`\rho_d`-weighted finite-volume Laplacian, ``M = diag(rho_d) * cell_volume``: the
    discrete Poincare constant of :math:`\mu_d`, which sets the long-time rates (module docstring).

    .. math::  \lambda_1 = \min_{x \perp_M 1} \frac{x^\top K x}{x^\top M x}
               \approx \inf \frac{\int|\nabla f|^2 d\mu_d}{\mathrm{Var}_{\mu_d}(f)}

    For :math:`\rho_d = N(m, \Sigma)`, :math:`\lambda_1 = 1/\lambda_{max}(\Sigma)` up to the
    discretisation error (second order) and the truncation to the box.

    Examples
    --------
    >>> import fokkerplanck as fp
    >>> grid = fp.Grid([-8.0], [8.0], [800])
    >>> round(fp.theory.spectral_gap(fp.Gaussian([0.0], [[4.0]]), grid), 3)
    0.25
    """
    return float(eigenvalues(target, grid, 1, solver=solver)[0])


# --------------------------------------------------------------------------------------------
# Predicted rates
# --------------------------------------------------------------------------------------------

def predicted_rate(lam1: float, divergence="jsd", quantity: str = "l1") -> float:
    r"""Continuous-time asymptotic decay rate of ``quantity`` for the flow of ``divergence``.

    .. math::  r_{L^1} = \Phi'(1)\,\lambda_1, \qquad r_{\mathrm{quadratic}} = 2\,\Phi'(1)\,\lambda_1

    ``quantity`` is ``"l1"`` (linear in ``v - 1``) or one of the quadratic ones ``"jsd"``,
    ``"energy"``, ``"grad_v_norm2"``, ``"dissipation"``. :math:`\Phi'(1)` is
    ``get_divergence(divergence).phi_prime_at_one`` (1/4 for JSD, 1 for KL).
    """
    lam1 = _v.positive_number("lam1", lam1, allow_zero=True)
    factor = _quantity_factor(quantity)
    return factor * get_divergence(divergence).phi_prime_at_one * lam1


def _quantity_factor(quantity):
    if quantity == "l1":
        return 1
    if quantity in ("jsd", "energy", "grad_v_norm2", "dissipation"):
        return 2
    raise ValueError(f"quantity must be 'l1', 'jsd', 'energy', 'grad_v_norm2' or 'dissipation', got {quantity!r}.")


def solution_rate(solution, target=None, quantity: str = "l1") -> float:
    r"""Predicted asymptotic rate of ``quantity`` for a computed flow: :func:`predicted_rate` of its
    spectral gap.

    :math:`\lambda_1` is :func:`spectral_gap` of ``target`` on ``solution.grid`` (by default the
    solution's own rho_d on the cells, ``solution.rho_d``), and :math:`\Phi'(1)` that of
    ``solution.divergence``.
    """
    if target is None:
        values = np.asarray(solution.rho_d, dtype=float).ravel()
        ndim = solution.grid.ndim

        def target(points):
            points = np.asarray(points)
            if points.shape != (values.size, ndim):
                raise ValueError("the saved target density is known on the cell centres of the solution's grid only.")
            return values

    lam1 = float(spectral_gap(target, solution.grid))
    return float(predicted_rate(lam1, solution.divergence, quantity))


def discrete_rate(rate: float, dt: float) -> float:
    r"""Backward Euler's decay rate per unit time for a mode decaying at ``rate``.

    One step multiplies the mode by :math:`1/(1 + h r)`, so the observed rate is

    .. math::  r_h = \frac{\ln(1 + h r)}{h} = r - \tfrac12 h r^2 + O(h^2).
    """
    rate = _v.positive_number("rate", rate, allow_zero=True)
    dt = _v.positive_number("dt", dt, allow_zero=True)
    return rate if dt == 0 else math.log1p(dt * rate) / dt


def predicted_rates(lam1: float, divergence="jsd", dt: float | None = None) -> dict:
    r"""Predicted asymptotic rates of the L1 distance and of the energy for one flow.

    Returns a dict with ``l1`` (:math:`\Phi'(1)\lambda_1`) and ``energy`` (twice that; the JSD
    for the Jensen-Shannon flow, KL for the KL flow; the history's ``jsd`` decays at the same
    rate for either), and when ``dt`` is given their backward-Euler counterparts ``l1_discrete``
    and ``energy_discrete`` (:math:`\ln(1+h r_{L^1})/h` and twice that: a squared mode decays
    by :math:`(1+hr)^{-2}` per step).
    """
    r = predicted_rate(lam1, divergence, "l1")
    out = {"l1": r, "energy": 2.0 * r}
    if dt is not None:
        rh = discrete_rate(r, dt)
        out.update(l1_discrete=rh, energy_discrete=2.0 * rh)
    return out


def fit_rate(t, y, window=None) -> tuple[float, float]:
    r"""Fit ``y ~ C exp(-rate t)`` on a time window by least squares on ``log y``.

    .. math::  \ln y_i = a - r\,t_i + \varepsilon_i,\qquad
               \hat r = -\frac{\sum (t_i-\bar t)\ln y_i}{\sum (t_i - \bar t)^2},\qquad
               \mathrm{se}(\hat r) = \sqrt{\frac{\sum \hat\varepsilon_i^2/(n-2)}{\sum (t_i-\bar t)^2}}

    Parameters
    ----------
    t, y : array_like, shape (n,)
        Times and positive values, e.g. ``sol.history["t"]`` and ``sol.history["l1"]``.
    window : (t0, t1), optional
        Use the points with ``t0 <= t <= t1`` (default: all).

    Returns
    -------
    rate : float
        Fitted decay rate (1 / time; negative if ``y`` grows).
    err : float
        Its standard error from the regression residuals. For noisy data this is the usual
        one-sigma uncertainty; for deterministic solver output the residuals measure how far the
        window is from a pure exponential (a remaining transient), so compare fits on sub-windows.

    Raises
    ------
    ValueError
        If the arrays differ in length, fewer than 3 points fall in the window, or a value in the
        window is not positive and finite.
    """
    t = np.asarray(t, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if t.shape != y.shape:
        raise ValueError(f"t and y must have the same length, got {t.size} and {y.size}.")
    if window is None:
        sel = np.ones(t.size, dtype=bool)
    else:
        try:
            t0, t1 = (float(w) for w in window)
        except (TypeError, ValueError):
            raise ValueError(f"window must be a pair (t0, t1), got {window!r}.") from None
        if not t1 > t0:
            raise ValueError(f"window = ({t0}, {t1}) must have t1 > t0.")
        sel = (t >= t0) & (t <= t1)
    n = int(sel.sum())
    if n < 3:
        span = f"[{t.min():g}, {t.max():g}]" if t.size else "[]"
        raise ValueError(f"fit_rate needs at least 3 points in the window, found {n} (data cover t in {span}); "
                         "widen the window or save more points.")
    ts, ys = t[sel], y[sel]
    if not np.all(np.isfinite(ts)) or not np.all(np.isfinite(ys)) or np.any(ys <= 0):
        bad = int(np.flatnonzero(~(np.isfinite(ys) & (ys > 0)))[0]) if np.any(~(ys > 0) | ~np.isfinite(ys)) else 0
        raise ValueError(f"fit_rate needs positive finite values in the window; y = {ys[bad]!r} at t = {ts[bad]!r}. "
                         "Shorten the window to before the values reach zero or the round-off floor.")
    logy = np.log(ys)
    tc = ts - ts.mean()
    sxx = float(tc @ tc)
    if sxx == 0:
        raise ValueError("fit_rate: all times in the window are equal.")
    slope = float(tc @ (logy - logy.mean())) / sxx
    resid = logy - logy.mean() - slope * tc
    err = math.sqrt(float(resid @ resid) / (n - 2) / sxx) if n > 2 else math.inf
    return -slope, err


def decay_window(t, y, upper: float = 1e-4, lower: float = 1e-9) -> tuple[float, float]:
    r"""A fitting window for an asymptotic rate: from the first time ``y <= upper`` to the first
    time ``y <= lower`` (or the last time).

    Starting at ``upper`` skips the nonlinear transient (its relative size is ~``upper``);
    stopping at ``lower`` keeps the fit clear of the round-off floor (~1e-13 for the L1
    distance). Use with :func:`fit_rate`: ``fit_rate(t, y, window=decay_window(t, y))``.

    Raises
    ------
    ValueError
        If ``y`` never falls to ``upper`` (run longer, or raise ``upper``).
    """
    t = np.asarray(t, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if not 0 < lower < upper:
        raise ValueError(f"need 0 < lower < upper, got lower={lower}, upper={upper}.")
    below = np.flatnonzero(y <= upper)
    if below.size == 0:
        raise ValueError(f"the values never fall to upper = {upper:g} (smallest {np.nanmin(y):.3g}); run longer "
                         "or raise upper.")
    floor = np.flatnonzero(y <= lower)
    end = t[floor[0]] if floor.size else t[-1]
    return float(t[below[0]]), float(end)


# --------------------------------------------------------------------------------------------
# Condition (34) and Lemma 24
# --------------------------------------------------------------------------------------------

def gaussian_beta(target, initial) -> float:
    r"""The smallest :math:`\beta` with :math:`N(m_0, \Sigma_0) \le \beta N(m, \Sigma)` on all of
    :math:`\mathbb{R}^d` (condition 34), in closed form; ``inf`` when none exists.

    With :math:`P = \Sigma^{-1}`, :math:`P_0 = \Sigma_0^{-1}` the log-ratio is the concave
    quadratic :math:`-\tfrac12(x-m_0)^\top P_0(x-m_0) + \tfrac12(x-m)^\top P(x-m) + c`
    when :math:`A = P_0 - P` is positive definite (the initial density has lighter tails), and
    its maximum at :math:`x^* = A^{-1}(P_0 m_0 - P m)` is :math:`\ln\beta`. If :math:`A` is not
    positive semidefinite (heavier tails in some direction) :math:`\beta = \infty`; if it is
    singular, :math:`\beta` is finite only when the means agree along its kernel.
    """
    from .densities import Gaussian

    if not isinstance(target, Gaussian) or not isinstance(initial, Gaussian):
        raise ValueError("gaussian_beta needs two fokkerplanck.Gaussian densities; for other densities use "
                         "condition_beta(target, initial, grid), the value on a grid.")
    if target.ndim != initial.ndim:
        raise ValueError(f"target is {target.ndim}-dimensional but initial is {initial.ndim}-dimensional.")
    P, P0 = target._prec, initial._prec
    A = P0 - P
    evals, evecs = np.linalg.eigh(0.5 * (A + A.T))
    scale = max(1.0, float(np.max(np.abs(evals))))
    if evals.min() < -1e-12 * scale:
        return math.inf
    c = float(initial._log_norm - target._log_norm)
    b = P0 @ initial.mean - P @ target.mean
    pos = evals > 1e-12 * scale
    # along the kernel of A the exponent is linear (b . x): bounded only if b has no component there
    if np.any(~pos) and np.linalg.norm(evecs[:, ~pos].T @ b) > 1e-10 * max(1.0, float(np.linalg.norm(b))):
        return math.inf
    xs = evecs[:, pos] @ ((evecs[:, pos].T @ b) / evals[pos])
    d0, d = xs - initial.mean, xs - target.mean
    return float(math.exp(c - 0.5 * d0 @ P0 @ d0 + 0.5 * d @ P @ d))


def condition_beta(target, initial, grid: Grid) -> float:
    r""":math:`\beta = \max_i \rho_{0,i}/\rho_{d,i}` on ``grid`` (both restricted to the box and
    normalised), the constant of condition (34) for the discrete problem; equals ``sol.beta``.
    It is always >= 1 (both have mass one) and grows with the box when the initial density has
    heavier tails than the target (:func:`gaussian_beta` is then infinite)."""
    return float(setup(target, initial, grid, "jsd").beta)


def lemma24_bound(beta: float) -> float:
    r"""The right-hand side of Lemma 24 (eq. 51): :math:`(1 + \beta)\beta^2`."""
    beta = _v.positive_number("beta", beta)
    return (1.0 + beta) * beta * beta


def gradient_integral(t, grad_v_norm2) -> float:
    r"""The time integral :math:`\int_0^T\|\nabla v\|^2_{L^2(\mu_d)}dt` of a backward-Euler run.

    Backward Euler's discrete integral evaluates the integrand at the *new* state of each step
    (this is the sum that the proof of Lemma 24 bounds):

    .. math::  \sum_{k\ge1} (t_k - t_{k-1})\,\|\nabla v^k\|^2

    Pass ``sol.history["t"]`` and ``sol.history["grad_v_norm2"]`` (index 0 is the initial state).
    """
    t = np.asarray(t, dtype=float).ravel()
    g = np.asarray(grad_v_norm2, dtype=float).ravel()
    if t.shape != g.shape or t.size < 1:
        raise ValueError(f"t and grad_v_norm2 must be non-empty and of equal length, got {t.size} and {g.size}.")
    return float(np.sum(np.diff(t) * g[1:]))


def _min_phi_prime(divergence, beta):
    """min of Phi'(v) over [0, beta], with Phi'(v) = 1 / (Phi^{-1})'(Phi(v))."""
    div = get_divergence(divergence)
    v = np.concatenate([[0.0], np.geomspace(1e-6, max(beta, 1e-6), 200), [beta]])
    return float(np.min(1.0 / div.phi_inv_prime(div.phi(v))))


def lemma24(solution) -> dict:
    r"""Lemma 24 checked on a computed flow: the measured integral against the bounds.

    For backward Euler, :math:`\|z_i\|^2 + h\,(\nabla\Phi(z_i), \nabla z_i) = (z_{i-1}, z_i)` with
    :math:`(\nabla\Phi(z),\nabla z) \ge c\|\nabla z\|^2`, :math:`c = \min_{[0,\beta]}\Phi'`
    (:math:`c = 1/(2(1+\beta))` for JSD), and Young's inequality give

    .. math::  \sum_i h_i\|\nabla z_i\|^2 \le \frac{\|z_0\|^2 - \|z_N\|^2}{2c}
               \le \frac{\beta}{2c} \le \frac{\beta^2}{2c} \quad(= (1+\beta)\beta^2 \text{ for JSD}).

    Returns
    -------
    dict
        ``beta``; ``measured`` (:func:`gradient_integral`); ``paper_bound`` (:math:`\beta^2/(2c)`,
        eq. 51 for JSD); ``mass_bound`` (:math:`\beta/(2c)`); ``energy_bound``
        (:math:`(\|v_0\|^2-\|v_T\|^2)/(2c)`, needs ``sol.t[0] == 0``, else nan); ``holds``
        (measured <= paper_bound, with a relative round-off allowance of 1e-9).
    """
    h = solution.history
    beta = float(solution.beta)
    c = _min_phi_prime(solution.divergence, beta)
    measured = gradient_integral(h["t"], h["grad_v_norm2"])
    energy = math.nan
    if len(solution.t) >= 2 and solution.t[0] == 0.0:
        m = solution.rho_d * solution.grid.cell_volume
        v0 = solution.u[0] / solution.rho_d
        vT = solution.u[-1] / solution.rho_d
        energy = float(np.sum(m * v0 * v0) - np.sum(m * vT * vT)) / (2 * c)
    paper = beta * beta / (2 * c)
    return {"beta": beta, "measured": measured, "paper_bound": paper, "mass_bound": beta / (2 * c),
            "energy_bound": energy, "holds": bool(measured <= paper * (1 + 1e-9))}


# --- exact self-similar solutions of the chi^2 and Hellinger flows toward a uniform target -------

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


def _cell_sub_points(grid, sub):
    off = (np.arange(sub) + 0.5) / sub - 0.5
    axes = [np.asarray(a)[:, None] + off[None, :] * dx for a, dx in zip(grid.axes, grid.spacing)]
    if grid.ndim == 1:
        return axes[0][..., None]                    # (n, sub, 1)
    if grid.ndim == 2:
        X, Y = axes[0][:, None, :, None], axes[1][None, :, None, :]
        return np.stack(np.broadcast_arrays(X, Y), axis=-1)   # (nx, ny, sub, sub, 2)
    X = axes[0][:, None, None, :, None, None]
    Y = axes[1][None, :, None, None, :, None]
    Z = axes[2][None, None, :, None, None, :]
    return np.stack(np.broadcast_arrays(X, Y, Z), axis=-1)


def barenblatt_cell_averages(grid, tau, m, center=None, sub: int = 16):
    """Cell averages of the Barenblatt profile (mass 1 on R^d) by a sub-cell midpoint rule
    (``sub`` points per axis in each cell), centred at ``center``: the exact solution on the cells."""
    P = _cell_sub_points(grid, sub)
    if center is not None:
        P = P - np.asarray(center, float)
    vals = barenblatt(P, tau, m)
    return vals.mean(axis=tuple(range(grid.ndim, 2 * grid.ndim)))


def _barenblatt_constant(m, d, mass):
    """C such that the Barenblatt profile has the given mass (radial integral in closed form)."""
    from scipy.special import beta as B, gamma
    alpha = d / (d * (m - 1) + 2)
    k = abs(alpha * (m - 1) / (2 * m * d))
    area = 2 * np.pi ** (d / 2) / gamma(d / 2)  # surface of the unit sphere
    # mass = area * C^{q + d/2} k^{-d/2} * I, with q = 1/(m-1)
    if m > 1:
        q = 1 / (m - 1)
        integral = 0.5 * B(d / 2, q + 1)            # int_0^1 (1 - s^2)^q s^{d-1} ds
        expo = q + d / 2
    else:
        q = 1 / (1 - m)
        integral = 0.5 * B(d / 2, q - d / 2)        # int_0^inf (1 + s^2)^{-q} s^{d-1} ds
        expo = d / 2 - q
    return (mass * k ** (d / 2) / (area * integral)) ** (1 / expo)
