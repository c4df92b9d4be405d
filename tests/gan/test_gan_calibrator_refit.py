"""Issue 12, point 4: refitting the calibrator along a trajectory. The data's features are reused,
the default refit (``solver="newton"``: a reused Hessian with BFGS corrections) reaches the
minimiser of scipy's L-BFGS-B (``solver="lbfgsb"``, the earlier default), both with one BLAS thread."""

import numpy as np
import pytest

from fokkerplanck import gan
import fokkerplanck.gan.calibrator as calmod

from _helpers import logistic_gradient_hessian

LAM = 1e-3


def _fit(data, samples, **kw):
    return gan.Calibrator(n_features=60, bandwidth=0.5, seed=3, **kw).fit(data, samples)


def test_cached_data_features_give_the_same_fit_and_follow_changed_data(rng):
    data = rng.normal(-1.0, 1.0, (800, 1))
    s1, s2 = rng.normal(1.0, 1.0, (600, 1)), rng.normal(0.8, 1.0, (600, 1))
    for solver in ("newton", "lbfgsb"):
        cal = _fit(data, s1, warm_start=False, solver=solver)
        cal.fit(data, s2)  # second fit: data features from the cache, nothing else carried over
        np.testing.assert_array_equal(cal.coef_, _fit(data, s2, warm_start=False, solver=solver).coef_)
        d2 = data.copy()
        d2[:10] += 0.5  # changed data: the cache (and the stored Hessian) must notice
        cal.fit(d2, s2)
        np.testing.assert_array_equal(cal.coef_, _fit(d2, s2, warm_start=False, solver=solver).coef_)


def test_newton_refits_reach_the_lbfgsb_minimiser_along_a_trajectory(rng):
    """Warm refits reusing the previous Hessian land on the minimiser of a cold scipy L-BFGS-B fit.

    Tolerance: L is strongly convex with modulus mu = the smallest eigenvalue of its Hessian (>= the
    ridge 1e-3 on the features), so any p has |p - p*|_2 <= |grad L(p)|_2 / mu; two fits are within
    the sum of their two bounds (2 % added for the variation of mu between them).
    """
    data = rng.normal(-1.0, 1.0, (1500, 1))
    x = rng.normal(1.0, 1.5, (700, 1))
    newton = gan.Calibrator(n_features=80, bandwidth=0.5, regularization=LAM, seed=4)
    x_fixed = np.linspace(-4.0, 4.0, 81)[:, None]
    hessians = 0
    for step in range(8):
        newton.fit(data, x)
        hessians += newton.n_hessians_
        cold = gan.Calibrator(n_features=80, bandwidth=0.5, regularization=LAM, seed=4, solver="lbfgsb",
                              warm_start=False).fit(data, x)
        assert newton.converged_  # (L-BFGS-B may stop at round-off, "ABNORMAL"; its own gradient enters the bound)
        gn, h = logistic_gradient_hessian(newton, data, x)
        gc, _ = logistic_gradient_hessian(cold, data, x)
        assert np.max(np.abs(gn)) < 1e-8  # tol 1e-9 on the kernel's gradient; numpy's sums differ by ~1e-16
        mu = np.linalg.eigvalsh(h)[0]
        bound = 1.02 * (np.linalg.norm(gn) + np.linalg.norm(gc)) / mu
        dp = np.linalg.norm(np.append(newton.coef_ - cold.coef_, newton.intercept_ - cold.intercept_))
        assert dp <= bound, (step, dp, bound)
        assert abs(newton.loss_ - cold.loss_) < 1e-12
        # the velocity 0.5 D grad f moves by at most 0.5 (|grad phi|_F |da| + 0.25 |phi~| |dp| |grad f|)
        v1, v2 = newton.velocity(x_fixed), cold.velocity(x_fixed)
        phi = np.column_stack([newton.features(x_fixed), np.ones(len(x_fixed))])
        gphi = np.abs(newton.features.frequencies[:, 0]) * newton.features.scale  # |d phi_k / dx| <= this
        dv_bound = 0.5 * (np.linalg.norm(gphi) * bound
                          + 0.25 * np.linalg.norm(phi, axis=1) * bound * np.abs(cold.logit_gradient(x_fixed)[:, 0]))
        assert np.all(np.abs(v1 - v2)[:, 0] <= dv_bound + 1e-15), step
        x = x + 0.05 * newton.velocity(x)  # the particles move a little, as in simulate()
    # the point of the method: few Hessians along the trajectory (the cold start needs a few)
    assert hessians <= 6, hessians


def test_newton_falls_back_to_lbfgsb_when_the_hessian_is_not_positive_definite(monkeypatch, rng):
    data, samples = rng.normal(size=(300, 1)), rng.normal(1.0, 1.0, (300, 1))
    ref = _fit(data, samples, solver="lbfgsb")
    monkeypatch.setattr(calmod, "_logistic_hessian", lambda *a: -np.eye(61))
    with pytest.warns(RuntimeWarning, match="finished by L-BFGS-B instead of Newton"):
        cal = _fit(data, samples)
    assert cal.converged_ and cal.n_hessians_ == 0 and cal.fit_solver_ == "lbfgsb"
    assert ref.fit_solver_ == "lbfgsb" and _fit(data, samples, solver="lbfgsb").fit_solver_ == "lbfgsb"
    np.testing.assert_allclose(cal.coef_, ref.coef_, atol=1e-5)  # same tolerance argument as above


def test_velocity_at_the_fitted_samples_reuses_their_features_exactly(rng):
    data, x = rng.normal(size=(300, 1)), rng.normal(1.0, 1.0, (200, 1))
    cal = _fit(data, x)
    v = cal.velocity(x)
    cal._sample_features = None
    np.testing.assert_array_equal(v, cal.velocity(x))
    y = x.copy()
    y[0] += 1e-3  # other points: their own features
    assert not np.array_equal(cal.velocity(y)[0], v[0])


def test_solver_option():
    data = np.random.default_rng(0).normal(size=(50, 1))
    with pytest.raises(ValueError, match="unknown solver"):
        gan.Calibrator(solver="cg")
    field = gan.discriminator_velocity(data, seed=0, solver="lbfgsb", n_features=20)
    assert field.calibrator.solver == "lbfgsb"
    assert gan.Calibrator().solver == "newton"


@pytest.mark.parametrize("solver, spied", [("lbfgsb", "minimize"), ("newton", "_logistic_hessian")])
def test_solvers_run_with_one_blas_thread(monkeypatch, rng, solver, spied):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    seen = []
    original = getattr(calmod, spied)

    def spy(*args, **kwargs):
        seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"])
        return original(*args, **kwargs)

    monkeypatch.setattr(calmod, spied, spy)
    _fit(rng.normal(size=(200, 1)), rng.normal(1.0, 1.0, (200, 1)), solver=solver)
    assert seen and all(n == 1 for threads in seen for n in threads)
