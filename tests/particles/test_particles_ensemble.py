"""fokkerplanck.particles.ensemble: the Ensemble result (status, flat counters, access to frames)."""

import numpy as np
import pytest
from particles_cases import INITIAL_1D, TARGET_1D

import fokkerplanck as fp
from fokkerplanck import particles
from fokkerplanck.particles.ensemble import COUNTERS, Ensemble


def _ensemble(**kw):
    return particles.simulate(None, None, 1.0, velocity=lambda t, x: -x, x0=np.ones((4, 1)), dt=0.25,
                              method="euler", t_eval=[0.0, 0.5, 1.0], **kw)


def test_flat_counters_status_and_the_counters_dict():
    ens = _ensemble()
    assert ens.status == 0 and ens.success and ens.message == "reached t_final"
    assert (ens.n_steps, ens.n_field_evaluations, ens.n_reflections) == (4, 4, 0)
    assert ens.wall_time >= 0 and ens.cpu_time >= 0
    assert set(ens.counters) == set(COUNTERS)
    assert ens.counters["n_steps"] == ens.n_steps and ens.counters["cpu_time"] == ens.cpu_time
    with pytest.raises(AttributeError):  # read-only
        ens.counters = {}
    text = repr(ens)
    assert "n_steps=4" in text and "status=0" in text


def test_frames():
    ens = _ensemble()
    assert ens.ndim == 1 and ens.n == 4 and ens.positions.shape == (3, 4, 1)
    # Euler on dx/dt = -x: (1 - 1/4)^k
    np.testing.assert_allclose(ens.at(0.5)[:, 0], 0.75 ** 2, rtol=1e-15)
    np.testing.assert_array_equal(ens.final, ens.positions[-1])
    with pytest.raises(ValueError, match="was not saved"):
        ens.at(0.3)


def test_grid_attribute_and_deprecated_domain():
    box = fp.Grid([-2.0], [2.0], [8])
    ens = _ensemble(grid=box)
    assert ens.grid is box
    with pytest.warns(DeprecationWarning, match="Ensemble.grid"):
        assert ens.domain is box
    assert _ensemble().grid is None


def test_wasserstein_to_the_solution():
    """W1 between particles and grid frames at every saved time; the frames must exist."""
    grid = fp.Grid([-7.0], [7.0], [700])
    sol = fp.solve(TARGET_1D, INITIAL_1D, grid, 0.2, dt=0.02, t_eval="steps")
    ens = particles.simulate(TARGET_1D, INITIAL_1D, 0.2, n=4000, velocity="grid", solution=sol, dt=0.02,
                             seed=0, t_eval=[0.0, 0.2])
    w = ens.wasserstein_to(sol)
    assert w.shape == (2,)
    # sampling floor of 4000 i.i.d. points of these densities is ~0.02; 0.1 is 5x that
    assert np.all(w < 0.1), w
    coarse = fp.solve(TARGET_1D, INITIAL_1D, grid, 0.2, dt=0.02, t_eval=[0.0, 0.1])
    with pytest.raises(ValueError, match="no frame at t = 0.2"):
        ens.wasserstein_to(coarse)


def test_a_failed_run_keeps_what_was_saved():
    """A field that returns NaN after t = 0.5 stops the run: status -1, the frames before are kept."""
    def field(t, x):
        return np.full_like(x, np.nan) if t >= 0.5 else np.ones_like(x)

    with pytest.warns(RuntimeWarning, match="non-finite"):
        ens = particles.simulate(None, None, 1.0, velocity=field, x0=np.zeros((3, 1)), dt=0.25, method="euler",
                                 t_eval=[0.0, 0.25, 0.5, 0.75, 1.0])
    assert ens.status == -1 and not ens.success and "t = 0.5" in ens.message
    np.testing.assert_allclose(ens.t, [0.0, 0.25, 0.5])
    assert ens.n_steps == 3 and np.all(np.isfinite(ens.positions))


def test_constructed_directly_defaults():
    ens = Ensemble(t=np.array([0.0]), positions=np.zeros((1, 2, 1)), velocity="kde", method="rk4", n=2, seed=None,
                   dt=0.1, divergence="jsd", sampling="iid")
    assert ens.success and ens.n_steps == 0 and ens.grid is None and ens.options == {}
