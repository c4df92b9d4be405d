"""The matrix-free geometric multigrid (fokkerplanck.flow.linear.multigrid), the linear_solver options and the
BLAS thread limits (fokkerplanck._threads)."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

import fokkerplanck as fp
from fokkerplanck import _threads, operators
from fokkerplanck.flow.linear.multigrid import Multigrid
from fokkerplanck.flow.resolvent import Resolvent

from _helpers import preconditioner_matrix


def _setup(shape, sd=0.4, half_width=5.0):
    d = len(shape)
    grid = fp.Grid([-half_width] * d, [half_width] * d, shape)
    target = fp.Gaussian(np.zeros(d), sd * np.eye(d))
    return fp.setup(target, target, grid, "jsd")


@pytest.mark.parametrize("shape", [(40, 40), (33, 50), (12, 14, 16), (17, 9, 20)])
@pytest.mark.parametrize("h", [1e-3, 1.0, 1e3])
def test_multigrid_solves_hessian_systems_across_decades_of_rho(shape, h, rng):
    p = _setup(shape)
    m = p.cell_mass.ravel()
    assert m.min() / m.max() < 1e-20  # rho_d spans more than 20 decades on these grids
    K = operators.laplacian_matrix(p.coeffs, shape)
    d = m * np.exp(rng.normal(scale=2.0, size=m.size))  # m (Phi^-1)'(w) for a rough w
    b = m * rng.normal(size=m.size)
    mg = Multigrid(p.coeffs, shape)
    mg.set_diagonal(d, h)
    x, it, ok = mg.solve(b, rtol=1e-11, maxiter=200)
    assert ok
    H = (h * K + sp.diags(d)).tocsr()
    exact = spla.spsolve(H.tocsc(), b)
    # ||r|| <= rtol ||b||; the error then follows from the (large) condition number of H
    assert np.linalg.norm(H @ x.ravel() - b) <= 1.01e-11 * np.linalg.norm(b)
    assert np.sum(np.abs(x.ravel() - exact) * m) <= 1e-8 * np.sum(np.abs(exact) * m)


def test_multigrid_is_a_symmetric_positive_definite_preconditioner(rng):
    shape = (9, 11)
    p = _setup(shape, sd=2.0)  # moderate tails: a dense eigenvalue check in double precision
    mg = Multigrid(p.coeffs, shape, coarse_max=8)
    assert mg.n_levels >= 3
    mg.set_diagonal(p.cell_mass.ravel(), 0.5)
    B = preconditioner_matrix(mg)
    np.testing.assert_allclose(B, B.T, rtol=1e-10, atol=1e-12 * np.abs(B).max())
    sa = np.sqrt(mg.levels[0].a.ravel())  # Jacobi scaling, for a well-conditioned eigenvalue check
    assert np.linalg.eigvalsh(0.5 * (B + B.T) * np.outer(sa, sa)).min() > 0


@pytest.mark.parametrize("shape", [(24, 20), (8, 9, 10)])
def test_linear_solver_options_give_the_same_step(shape, rng):
    # Newton stops at an L1 residual of 1e-13 (total mass 1) whatever the linear solver; two
    # solutions of the same step then differ by at most ~ residual / min(m G') in each cell. We
    # check 1e-9 relative to max v: far above that floor, far below any discretisation error.
    grid = fp.Grid([-4.0] * len(shape), [4.0] * len(shape), shape)
    target = fp.Gaussian(np.zeros(len(shape)), np.eye(len(shape)))
    initial = np.exp(rng.normal(size=shape)) * (rng.uniform(size=shape) < 0.7)
    p = fp.setup(target, initial, grid, "jsd")
    out = {}
    for solver in ("auto", "direct", "amg", "multigrid"):
        R = Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver=solver)
        r = R(p.v0, 2.0)
        assert r.converged, (solver, r.message)
        out[solver] = r.v
    for solver in ("auto", "amg", "multigrid"):
        np.testing.assert_allclose(out[solver], out["direct"], rtol=0, atol=1e-9 * out["direct"].max())
    assert Resolvent(p.divergence, p.coeffs, p.cell_mass).linear_solver == (
        "multigrid" if p.cell_mass.size > 4000 or len(shape) == 2 else "direct")


def test_solve_with_multigrid_matches_direct_over_a_run():
    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [40, 40])
    target = fp.GaussianMixture([0.5, 0.5], [[-2.0, 0.0], [2.0, 0.5]], [0.3 * np.eye(2), 0.5 * np.eye(2)])
    initial = fp.Gaussian([0.0, 0.0], 0.5 * np.eye(2))
    a = fp.solve(target, initial, grid, 1.0, 0.1, linear_solver="direct")
    b = fp.solve(target, initial, grid, 1.0, 0.1, linear_solver="multigrid")
    assert b.options["linear_solver"] == "multigrid"
    np.testing.assert_allclose(b.u, a.u, rtol=0, atol=1e-10 * a.u.max())


def test_blas_threads_limited_inside_solves_and_restored_after(monkeypatch):
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]

    if not blas_threads():
        pytest.skip("no BLAS library found by threadpoolctl")
    grid = fp.Grid([-4.0, -4.0], [4.0, 4.0], [24, 24])
    p = fp.setup(fp.Gaussian([0.0, 0.0], np.eye(2)), fp.Gaussian([1.0, 0.0], 0.5 * np.eye(2)), grid)
    R = Resolvent(p.divergence, p.coeffs, p.cell_mass, linear_solver="multigrid")
    seen = []
    solver = R._linear
    original = solver.mg.solve

    def spy(*args, **kwargs):
        seen.append(blas_threads())
        return original(*args, **kwargs)

    monkeypatch.setattr(solver.mg, "solve", spy)
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        before = blas_threads()
        assert R(p.v0, 0.5).converged
        assert blas_threads() == before  # restored after
    assert seen and all(n == 1 for threads in seen for n in threads)
    with _threads.blas_limits(3):
        assert all(n <= 3 for n in blas_threads())


def test_spectral_gap_multigrid_matches_direct_2d():
    target = fp.Gaussian([0.0, 0.0], [[2.0, 0.3], [0.3, 1.0]])
    grid = fp.Grid([-6.0, -6.0], [6.0, 6.0], [48, 40])
    a = fp.theory.eigenvalues(target, grid, 3, solver="direct")
    b = fp.theory.eigenvalues(target, grid, 3, solver="multigrid")
    np.testing.assert_allclose(b, a, rtol=1e-8)


def test_spectral_gap_auto_falls_back_when_multigrid_stalls(monkeypatch):
    # rho_d spans ~30 decades on this box: multigrid CG stalls in the singular solve (known
    # limitation), "auto" must still give the direct solver's eigenvalues
    from fokkerplanck.flow.linear import direct

    target = fp.GaussianMixture([0.5, 0.5], [[-1.5, 0], [1.5, 0.5]], [0.4 * np.eye(2), 0.6 * np.eye(2)])
    grid = fp.Grid([-6.0, -6.0], [6.0, 6.0], [48, 40])
    a = fp.theory.eigenvalues(target, grid, 3, solver="direct")
    monkeypatch.setattr(direct, "EIGEN_DIRECT_MAX", 0)  # auto -> multigrid on this small 2-D grid
    with pytest.warns(RuntimeWarning, match="multigrid-preconditioned CG stalled"):
        b = fp.theory.eigenvalues(target, grid, 3)
    np.testing.assert_allclose(b, a, rtol=1e-8)


def test_spectral_gap_3d_multigrid_matches_direct():
    target = fp.GaussianMixture([0.5, 0.5], [[-1, 0, 0], [1, 0.5, 0]], [0.5 * np.eye(3), 0.7 * np.eye(3)])
    grid = fp.Grid([-4.0] * 3, [4.0] * 3, [12, 12, 12])
    a = fp.theory.eigenvalues(target, grid, 2, solver="direct")
    b = fp.theory.eigenvalues(target, grid, 2)  # auto: multigrid in 3-D
    np.testing.assert_allclose(b, a, rtol=1e-8)
