"""Periodic grids (issue 21): exact checks against the discrete Fourier modes, shift equivariance,
the divergences' invariants, the spectral gap in closed form, solvers, files and refusals."""

import warnings

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.flow import operators
from fokkerplanck.flow.divergences import get_divergence
from fokkerplanck.flow.linear import select


def _lam(n, dx, k=1):
    """Eigenvalue of the periodic 3-point Laplacian: (2 - 2 cos(2 pi k / n)) / dx^2."""
    return (2.0 - 2.0 * np.cos(2.0 * np.pi * k / n)) / dx ** 2


# --- the grid ---------------------------------------------------------------------------------

def test_grid_flag_repr_equality():
    g = fp.Grid([0.0, 0.0], [1.0, 2.0], [8, 6], periodic=[True, False])
    assert g.periodic == (True, False) and g.is_periodic
    assert "periodic=[True, False]" in repr(g)
    assert "periodic=True" in repr(fp.Grid([0.0], [1.0], [8], periodic=True))
    assert "periodic" not in repr(fp.Grid([0.0], [1.0], [8]))
    assert g != fp.Grid([0.0, 0.0], [1.0, 2.0], [8, 6])
    assert g == fp.Grid([0.0, 0.0], [1.0, 2.0], [8, 6], periodic=[True, False])
    assert fp.Grid([0.0], [1.0], [8], periodic=[False]) == fp.Grid([0.0], [1.0], [8])


@pytest.mark.parametrize("bad", ["yes", [True], [1, 0], None])
def test_grid_bad_periodic_is_refused(bad):
    with pytest.raises(ValueError, match="periodic"):
        fp.Grid([0.0, 0.0], [1.0, 1.0], [4, 4], periodic=bad)


# --- operators ----------------------------------------------------------------------------------

@pytest.mark.parametrize("shape, periodic", [((7,), (True,)), ((5, 6), (True, False)), ((4, 5, 3), (True, True, True))])
def test_operators_across_the_seam(shape, periodic):
    rng = np.random.default_rng(0)
    rho = rng.random(shape) + 0.5
    coeffs = operators.face_coefficients(rho, np.ones(len(shape)) * 0.3, periodic)
    assert operators.periodic_axes(coeffs, shape) == periodic
    K = operators.laplacian_matrix(coeffs, shape)
    w, z = rng.standard_normal(shape), rng.standard_normal(shape)
    assert abs(K - K.T).max() == 0
    assert np.allclose(K @ np.ones(K.shape[0]), 0, atol=1e-14)
    assert np.allclose(K @ w.ravel(), operators.apply_laplacian(coeffs, w).ravel(), atol=1e-13)
    assert operators.dirichlet_form(coeffs, w, z) == pytest.approx(float(w.ravel() @ (K @ z.ravel())), rel=1e-12)
    assert abs(operators.apply_laplacian(coeffs, w).sum()) < 1e-12
    # the seam face couples the last cell to the first
    assert K[shape[-1] - 1, 0] != 0 if periodic[-1] and len(shape) == 1 else True


# --- linear solvers ---------------------------------------------------------------------------

def test_solvers_on_periodic_grids():
    kl = get_divergence("kl")
    assert select("auto", (64,), kl, (True,)).name == "banded"          # the cyclic compiled kernel
    assert select("auto", (32, 32), get_divergence("jsd"), (True, False)).name == "multigrid"  # periodic multigrid
    assert select("multigrid", (32, 32), kl, (True, True)).name == "multigrid"


@pytest.mark.parametrize("divergence", ["kl", "jsd", "chi2", "hellinger"])
def test_cyclic_kernel_matches_the_assembled_solvers(divergence):
    g = fp.Grid([0.0], [1.0], [40], periodic=True)
    x = g.axes[0]
    target = fp.GridDensity(g, 1.5 + np.cos(2 * np.pi * x))
    initial = fp.GridDensity(g, 1.0 + 0.8 * np.sin(2 * np.pi * (x - 0.1)))
    a = fp.solve(target, initial, g, t_final=0.1, dt=0.025, divergence=divergence)
    assert a.options["linear_solver"] == "banded"
    for other in ("direct", "amg"):
        b = fp.solve(target, initial, g, t_final=0.1, dt=0.025, divergence=divergence, linear_solver=other)
        assert np.max(np.abs(a.u - b.u)) < 1e-12


# --- exact checks -----------------------------------------------------------------------------

@pytest.mark.parametrize("k", [1, 3])
def test_kl_cos_mode_decays_at_the_discrete_backward_euler_rate(k):
    n, h = 32, 0.01
    g = fp.Grid([0.0], [1.0], [n], periodic=True)
    u0 = 1.0 + 0.5 * np.cos(2 * np.pi * k * g.axes[0])
    sol = fp.solve(fp.Uniform([0.0], [1.0]), fp.GridDensity(g, u0), g, t_final=10 * h, dt=h, divergence="kl",
                   t_eval="steps")
    rate = 1.0 / (1.0 + h * _lam(n, 1.0 / n, k))
    amp = 0.5 * rate ** np.arange(len(sol.t))
    cos = np.cos(2 * np.pi * k * g.axes[0])
    coef = (sol.u - 1.0) @ cos * (2.0 / n)                      # the cos mode's amplitude at each step
    assert np.max(np.abs(coef - amp)) < 1e-13
    assert np.max(np.abs(coef[1:] - rate * coef[:-1])) < 1e-14   # each step: the factor (1 + h lambda_k)^-1
    others = np.fft.rfft(sol.u - 1.0 - coef[:, None] * cos, axis=1)  # every other mode (and the mean) stays 0
    assert np.max(np.abs(others)) < 1e-13


def _data(shape, rng):
    g = fp.Grid([0.0] * len(shape), [1.0] * len(shape), list(shape), periodic=True)
    x = g.meshgrid()
    rho = 1.0 + 0.5 * np.prod([np.cos(2 * np.pi * xi) for xi in x], axis=0) + 0.1 * rng.random(shape)
    u0 = 1.0 + 0.8 * np.sin(2 * np.pi * x[0]) + 0.2 * rng.random(shape)
    return g, rho, u0


@pytest.mark.parametrize("shape, shift", [((48,), (5,)), ((20, 16), (3, 7))])
@pytest.mark.parametrize("divergence", ["kl", "jsd", "chi2", "hellinger"])
def test_shift_by_whole_cells_shifts_the_solution(shape, shift, divergence):
    g, rho, u0 = _data(shape, np.random.default_rng(1))
    axes = tuple(range(len(shape)))
    a = fp.solve(fp.GridDensity(g, rho), fp.GridDensity(g, u0), g, t_final=0.1, dt=0.025, divergence=divergence)
    b = fp.solve(fp.GridDensity(g, np.roll(rho, shift, axis=axes)), fp.GridDensity(g, np.roll(u0, shift, axis=axes)),
                 g, t_final=0.1, dt=0.025, divergence=divergence)
    err = np.max(np.abs(np.roll(a.u, shift, axis=tuple(a + 1 for a in axes)) - b.u))
    assert err < 1e-12


@pytest.mark.parametrize("shape", [(48,), (20, 16)])
@pytest.mark.parametrize("divergence", ["jsd", "chi2", "hellinger"])
def test_mass_positivity_and_energy_on_periodic_grids(shape, divergence):
    g, rho, u0 = _data(shape, np.random.default_rng(2))
    sol = fp.solve(fp.GridDensity(g, rho), fp.GridDensity(g, u0), g, t_final=0.2, dt=0.02, divergence=divergence,
                   t_eval="steps")
    assert np.max(np.abs(sol.history["mass"] - 1.0)) < 1e-12
    assert sol.u.min() > 0
    assert np.all(np.diff(sol.history["energy"]) <= 1e-15)
    assert sol.history["energy"][-1] < 0.5 * sol.history["energy"][0]


def test_spectral_gap_of_the_uniform_target_closed_form():
    for n in (9, 64, 200):
        g = fp.Grid([0.0], [2.0], [n], periodic=True)
        lam = fp.theory.spectral_gap(fp.Uniform([0.0], [2.0]), g)
        assert lam == pytest.approx(_lam(n, 2.0 / n), rel=1e-11)
    g = fp.Grid([0.0, 0.0], [1.0, 2.0], [40, 30], periodic=True)
    lam = fp.theory.spectral_gap(fp.Uniform([0.0, 0.0], [1.0, 2.0]), g)
    assert lam == pytest.approx(min(_lam(40, 1 / 40), _lam(30, 2 / 30)), rel=1e-11)
    g = fp.Grid([0.0, 0.0], [1.0, 2.0], [40, 30], periodic=[True, False])   # walls on axis 1: cos(pi y / L)
    lam = fp.theory.spectral_gap(fp.Uniform([0.0, 0.0], [1.0, 2.0]), g)
    assert lam == pytest.approx(min(_lam(40, 1 / 40), (2 - 2 * np.cos(np.pi / 30)) / (2 / 30) ** 2), rel=1e-11)


# --- densities on periodic axes -------------------------------------------------------------

def test_gaussian_on_a_periodic_axis_is_wrapped():
    g = fp.Grid([-1.0], [1.0], [50], periodic=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # no "mass outside the box" warning: nothing is lost
        p = fp.setup(fp.Gaussian([0.9], [[0.25]]), fp.Gaussian([0.0], [[0.1]]), g)
    x = g.axes[0]
    ref = sum(np.exp(-(x + 2 * k - 0.9) ** 2 / 0.5) for k in range(-30, 31))
    assert np.allclose(p.rho, ref / (ref.sum() * g.cell_volume), rtol=1e-13)
    assert abs(p.target_mass_outside) < 1e-12


def test_too_wide_density_is_refused():
    g = fp.Grid([0.0], [1.0], [16], periodic=True)
    with pytest.raises(ValueError, match="wider than"):
        fp.setup(fp.Gaussian([0.0], [[1e6]]), fp.Gaussian([0.0], [[0.1]]), g)


# --- files ----------------------------------------------------------------------------------

def test_results_keep_the_flag(tmp_path):
    pytest.importorskip("h5py")
    g = fp.Grid([0.0, 0.0], [1.0, 1.0], [8, 6], periodic=[True, False])
    sol = fp.solve(fp.Uniform([0, 0], [1, 1]), fp.Gaussian([0.5, 0.5], np.eye(2) * 0.01), g, t_final=0.02, dt=0.01)
    fp.save(tmp_path / "r.h5", sol)
    assert fp.load(tmp_path / "r.h5").grid == g
    walls = fp.Grid([0.0], [1.0], [8])
    sol = fp.solve(fp.Uniform([0], [1]), fp.Gaussian([0.5], [[0.01]]), walls, t_final=0.02, dt=0.01)
    fp.save(tmp_path / "w.h5", sol)                 # no periodic attribute: as files before periodic grids
    import h5py
    with h5py.File(tmp_path / "w.h5") as f:
        assert "periodic" not in f["grid"].attrs
    assert fp.load(tmp_path / "w.h5").grid.periodic == (False,)


RUN = """
[grid]
lower = [0.0, 0.0]
upper = [1.0, 1.0]
shape = [12, 10]
periodic = {periodic}
[target]
kind = "uniform"
[initial]
kind = "gaussian"
mean = [0.8, 0.5]
cov = [[0.02, 0.0], [0.0, 0.02]]
[flow]
divergence = "jsd"
t_final = 0.05
dt = 0.01
n_saves = 2
{extra}
"""


def test_run_file_with_periodic_runs(tmp_path):
    from fokkerplanck.io.runfile import read_run_file

    path = tmp_path / "p.toml"
    path.write_text(RUN.format(periodic="true", extra=""))
    spec = read_run_file(path)
    assert spec.grid.periodic == (True, True)
    sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, divergence=spec.divergence,
                   **spec.solve_options)
    assert sol.status == 0 and abs(spec.grid.integrate(sol.u[-1]) - 1) < 1e-12
    path.write_text(RUN.format(periodic="[true, false]", extra=""))
    assert read_run_file(path).grid.periodic == (True, False)


def test_run_file_with_periodic_particles(tmp_path):
    from fokkerplanck.cli.runner import _simulate_particles
    from fokkerplanck.io.runfile import read_run_file

    path = tmp_path / "p.toml"
    path.write_text(RUN.format(periodic="[true, false]", extra='[particles]\nn = 200\ndt = 0.01\n'))
    spec = read_run_file(path)
    sol = fp.solve(spec.target, spec.initial, spec.grid, spec.t_final, dt=spec.dt, divergence=spec.divergence,
                   t_eval="steps")
    ens = _simulate_particles(spec.particles, spec.target, spec.initial, spec.t_final, sol)
    assert ens.status == 0 and np.all(spec.grid.contains(ens.positions.reshape(-1, 2)))


@pytest.mark.parametrize("periodic, extra, words", [
    ('"yes"', "", "periodic: expected true, false"),
    ("[true]", "", "a list of 2"),
])
def test_run_file_periodic_errors(tmp_path, periodic, extra, words):
    from fokkerplanck.io.runfile import RunFileError, read_run_file

    path = tmp_path / "p.toml"
    path.write_text(RUN.format(periodic=periodic, extra=extra))
    with pytest.raises(RunFileError, match=words):
        read_run_file(path)


# --- refused, with the reason -----------------------------------------------------------------

def test_particles_and_the_circle_w1_accept_periodic_grids():
    g = fp.Grid([0.0], [1.0], [32], periodic=True)
    sol = fp.solve(fp.Uniform([0], [1]), fp.Gaussian([0.5], [[0.02]]), g, t_final=0.02, dt=0.01, t_eval="steps")
    ens = fp.particles.simulate(fp.Uniform([0], [1]), fp.Gaussian([0.5], [[0.02]]), 0.02, n=10, solution=sol)
    assert ens.status == 0 and np.all(g.contains(ens.positions[-1]))  # particles now wrap (issue 21)
    assert fp.compare.wasserstein((g, sol.u[-1]), (g, sol.rho_d)).method == "circle"  # the circle's W1
    tv = fp.compare.total_variation((g, sol.u[-1]), (g, sol.rho_d))  # binned: no geometry, allowed (issue 21)
    assert tv == 0.5 * np.abs(sol.u[-1] / sol.u[-1].sum() - sol.rho_d / sol.rho_d.sum()).sum()
