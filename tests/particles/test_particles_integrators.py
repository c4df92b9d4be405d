"""fokkerplanck.particles.integrators: orders of the steps, their registry, the reflecting walls."""

import numpy as np
import pytest

from fokkerplanck import particles
from fokkerplanck.particles import integrators


# --- orders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method,order", [("euler", 1), ("rk2", 2), ("rk4", 4)])
def test_integrator_orders(method, order):
    """dx/dt = cos(t) x has x(t) = x0 exp(sin t); halving dt divides the error by 2^order."""
    x0 = np.array([[1.0], [-0.5]])
    exact = x0 * np.exp(np.sin(2.0))

    def field(t, x):
        return np.cos(t) * x

    errs = [np.max(np.abs(particles.simulate(None, None, 2.0, velocity=field, x0=x0, dt=dt, method=method).final
                          - exact)) for dt in (0.1, 0.05)]
    measured = np.log2(errs[0] / errs[1])
    assert order - 0.3 < measured < order + 0.5, (errs, measured)


def test_registries_name_every_step():
    assert set(integrators.METHODS) == {"euler", "rk2", "rk4"} and "rk4" in particles.METHODS
    assert set(integrators.SDE_METHODS) == {"euler-maruyama"}
    assert particles.METHODS is integrators.METHODS


def test_steps_count_field_evaluations():
    calls = []

    def field(t, x):
        calls.append(t)
        return np.ones_like(x)

    x = np.zeros((3, 2))
    for name, k in (("euler", 1), ("rk2", 2), ("rk4", 4)):
        calls.clear()
        y, n = integrators.METHODS[name](field, 1.0, x, 0.5)
        # a constant field: every method moves by h exactly
        assert n == k == len(calls) and np.array_equal(y, x + 0.5)
    assert calls == [1.0, 1.25, 1.25, 1.5]  # rk4 stages at t, t + h/2, t + h/2, t + h


def test_euler_maruyama_uses_the_fields_noise():
    """x + h b + noise sqrt(h) xi with the generator's normals (reproduced with the same seed)."""
    class Field:
        noise = 2.0

        def __call__(self, t, x):
            return -x

    x = np.full((4, 1), 1.0)
    y, n = integrators.euler_maruyama(Field(), 0.0, x, 0.25, np.random.default_rng(3))
    xi = np.random.default_rng(3).standard_normal((4, 1))
    np.testing.assert_allclose(y, x - 0.25 * x + 2.0 * 0.5 * xi, rtol=1e-15)
    assert n == 1


def test_reflect_mirrors_and_clips():
    x = np.array([[-3.5, 0.0], [1.0, 4.5], [0.0, 0.0], [-20.0, 0.0]])
    count = integrators.reflect(x, np.array([-3.0, -3.0]), np.array([3.0, 4.0]))
    assert count == 3
    # -20 reflects to 14, beyond the far wall: clipped to it
    np.testing.assert_allclose(x, [[-2.5, 0.0], [1.0, 3.5], [0.0, 0.0], [3.0, 0.0]])
    assert integrators.reflect(x, np.array([-3.0, -3.0]), np.array([3.0, 4.0])) == 0
    assert particles.reflect is integrators.reflect
