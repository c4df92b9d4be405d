"""Issue 12, point 4: refitting the calibrator reuses the data's features and runs L-BFGS with one
BLAS thread, without changing the fit."""

import numpy as np
import pytest

from fokkerplanck import gan


def _fit(data, samples, **kw):
    return gan.Calibrator(n_features=60, bandwidth=0.5, seed=3, **kw).fit(data, samples)


def test_cached_data_features_give_the_same_fit_and_follow_changed_data(rng):
    data = rng.normal(-1.0, 1.0, (800, 1))
    s1, s2 = rng.normal(1.0, 1.0, (600, 1)), rng.normal(0.8, 1.0, (600, 1))
    cal = _fit(data, s1, warm_start=False)
    cal.fit(data, s2)  # second fit: data features from the cache
    fresh = _fit(data, s2, warm_start=False)
    np.testing.assert_array_equal(cal.coef_, fresh.coef_)
    data[:10] += 0.5  # changed in place: the cache must notice
    cal.fit(data, s2)
    np.testing.assert_array_equal(cal.coef_, _fit(data, s2, warm_start=False).coef_)


def test_lbfgs_runs_with_one_blas_thread(monkeypatch, rng):
    threadpoolctl = pytest.importorskip("threadpoolctl")
    import fokkerplanck.gan.calibrator as calmod

    seen = []
    original = calmod.minimize

    def spy(*args, **kwargs):
        seen.append([i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"])
        return original(*args, **kwargs)

    monkeypatch.setattr(calmod, "minimize", spy)
    _fit(rng.normal(size=(200, 1)), rng.normal(1.0, 1.0, (200, 1)))
    assert seen and all(n == 1 for threads in seen for n in threads)
