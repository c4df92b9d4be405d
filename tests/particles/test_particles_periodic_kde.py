"""The KDE velocity and the SDE on periodic grids (issue 21): kernels over the images of the
particles, the wrapped target, positions wrapped; the law tracks the grid solution on the torus."""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow.periodic import wrapped_pdf
from fokkerplanck.particles import integrators
from fokkerplanck.particles.velocities import KDEVelocity, SDEDrift

GRID = fp.Grid([0.0], [1.0], [200], periodic=True)
TARGET = fp.Gaussian([0.5], [[0.04]])  # sd 0.2 on a circle of length 1: wrapped, non-uniform
T, DT = 0.05, 0.0025


def _binned(x, bins=50):
    return np.histogram(x, bins=bins, range=(0.0, 1.0), density=True)[0]


def _simulate(velocity, shift=0.0, n=4000, estimator="exact"):
    target = fp.Gaussian([(0.5 + shift) % 1.0], [[0.04]])
    init = fp.Gaussian([(0.9 + shift) % 1.0], [[0.01]])  # sd 0.1 about 0.9: mass across the seam
    method = dict(method="rk2") if velocity == "kde" else {}
    return fp.particles.simulate(target, init, T, n=n, velocity=velocity, grid=GRID, dt=DT, seed=1,
                                 velocity_options=dict(estimator=estimator), **method)


def test_kde_particles_land_on_the_periodic_grid_density():
    init = fp.Gaussian([0.9], [[0.01]])
    sol = fp.solve(TARGET, init, GRID, t_final=T, dt=DT, t_eval="steps", divergence="jsd")
    ens = _simulate("kde", estimator="auto")  # binned here: 4000^2 pairs > exact_max^2
    x = ens.positions[-1][:, 0]
    assert ens.status == 0 and ens.n_reflections == 0 and np.all((x >= 0.0) & (x < 1.0))
    u = sol.u[-1].reshape(50, 4).mean(axis=1)
    l1 = np.abs(_binned(x) - u).sum() / 50
    floor = np.abs(_binned(fp.particles.sample((GRID, sol.u[-1]), x.size, seed=2)[:, 0]) - u).sum() / 50
    moved = np.abs(sol.u[0].reshape(50, 4).mean(axis=1) - u).sum() / 50
    # measured: l1 = 0.060, the sampling floor of 4000 i.i.d. samples of u 0.082, the density moved 0.55
    assert l1 < 1.5 * floor and l1 < 0.2 * moved
    w1 = fp.compare.wasserstein(x, (GRID, sol.u[-1]))
    # measured: W1 on the circle 2.0e-3 against a floor of 3.7e-3 (4 draws)
    assert w1.method == "circle" and w1 < 1.5 * fp.compare.sampling_floor((GRID, sol.u[-1]), x.size, repeats=4)


@pytest.mark.parametrize("velocity", ["kde", "sde"])
def test_the_seam_is_invisible_shifting_everything_shifts_the_particles(velocity):
    # the torus is translation invariant: the bump across the seam (at 0.9) and the same problem
    # shifted by 0.4 (bump at 0.3, far from the seam) give the same particles, shifted (same rng).
    a = _simulate(velocity, 0.0, n=800).positions[-1][:, 0]
    b = _simulate(velocity, 0.4, n=800).positions[-1][:, 0]
    gap = np.mod(b - a - 0.4 + 0.5, 1.0) - 0.5
    # measured: max |gap| about 1e-13 (round-off of the wraps); a field that jumped at the seam moves
    # the particles near it by O(dt |jump|) = O(1e-2)
    assert np.max(np.abs(gap)) < 1e-9


@pytest.mark.parametrize("cls", [KDEVelocity, SDEDrift])
def test_the_field_is_continuous_across_the_seam(cls):
    rng = np.random.default_rng(0)
    x = integrators.wrap(rng.normal(0.95, 0.1, (3000, 1)), GRID.lower, GRID.upper, GRID.periodic)
    x = np.vstack([x, [[1e-12], [1.0 - 1e-12]]])  # two particles on either side of the seam
    exact = cls(TARGET, "jsd", grid=GRID, estimator="exact")(0.0, x)
    scale = np.abs(exact).max()
    # exact sums: the two agree to the field's slope times 2e-12 plus the dropped images (< e^-32)
    assert abs(exact[-1, 0] - exact[-2, 0]) < 1e-8 * scale
    binned = cls(TARGET, "jsd", grid=GRID, estimator="binned")(0.0, x)
    # binned: the mesh is not periodic, so the jump is bounded by the estimator's own error at the
    # two points (measured: jump 2e-3 of the peak field, the error there up to 3.6e-3 of it)
    err = np.abs(binned[-2:, 0] - exact[-2:, 0]).max()
    assert abs(binned[-1, 0] - binned[-2, 0]) <= 2 * err + 1e-12 * scale
    walled = cls(TARGET, "jsd", estimator="exact")(0.0, x)  # no grid: whole space, the field jumps
    # measured: kde jumps by 0.27 (periodic value there 0.14), sde by 8.6 (periodic value 2.6)
    assert abs(walled[-1, 0] - walled[-2, 0]) > abs(exact[-1, 0])


def test_the_wrapped_target_is_the_grid_solvers():
    g = fp.Grid([0.0, -1.0], [1.0, 1.0], [16, 10], periodic=[True, False])
    target = fp.Gaussian([0.9, 0.2], [[0.05, 0.01], [0.01, 0.1]])
    field = KDEVelocity(target, grid=g)
    pts = g.points()
    log_rho, grad = field._target(pts)
    np.testing.assert_allclose(log_rho, np.log(wrapped_pdf(target, g)), rtol=1e-12, atol=1e-12)
    eps = 1e-6  # central differences of the wrapped log density: error O(eps^2)
    for a in range(2):
        e = np.zeros(2)
        e[a] = eps
        fd = (field._target(pts + e)[0] - field._target(pts - e)[0]) / (2 * eps)
        np.testing.assert_allclose(grad[:, a], fd, atol=1e-6 * np.abs(grad).max())
    # periodic on axis 0, not on axis 1
    assert np.allclose(field._target(pts + [1.0, 0.0])[0], log_rho, atol=1e-12)
    assert not np.allclose(field._target(pts + [0.0, 2.0])[0], log_rho)


def test_the_discriminator_is_refused_on_periodic_grids_with_the_reason():
    data = np.random.default_rng(0).uniform(0, 1, (50, 1))
    with pytest.raises(ValueError, match="classifier is fitted in the whole space"):
        fp.particles.simulate(TARGET, fp.Gaussian([0.5], [[0.02]]), 0.01, n=10, velocity="discriminator", data=data,
                              grid=GRID)


@pytest.mark.parametrize("velocity", ["kde", "sde"])
def test_run_file_particles_with_a_kde_velocity_on_a_periodic_grid(tmp_path, velocity):
    from fokkerplanck.cli.runner import _simulate_particles
    from fokkerplanck.io.runfile import read_run_file

    path = tmp_path / "p.toml"
    path.write_text(f"""
[grid]
lower = [0.0]
upper = [1.0]
shape = [50]
periodic = true
[target]
kind = "gaussian"
mean = [0.5]
cov = 0.04
[initial]
kind = "gaussian"
mean = [0.9]
cov = 0.01
[flow]
t_final = 0.02
dt = 0.01
[particles]
n = 300
dt = 0.005
velocity = "{velocity}"
""")
    spec = read_run_file(path)
    sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, t_eval="steps")
    ens = _simulate_particles(spec.particles, spec.target, spec.initial, spec.t_final, sol)
    x = ens.positions.reshape(-1)
    assert ens.status == 0 and ens.n_reflections == 0 and np.all((x >= 0.0) & (x < 1.0))
