"""Cross-check against FiPy: two independent discretisations must converge to the same solution."""

import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.analysis.exact import coarsen as _coarsen
from fokkerplanck.fipy_reference import solve_fipy

pytest.importorskip("fipy")


def _l1(a, b, grid):
    return float(np.sum(np.abs(a - b)) * grid.cell_volume)


@pytest.mark.slow
@pytest.mark.parametrize("dim, n0, target", [
    (1, 50, fp.GaussianMixture([0.6, 0.4], [[-1.5], [1.5]], [[[0.5]], [[0.4]]])),
    (2, 12, fp.GaussianMixture([0.6, 0.4], [[-1.2, 0.0], [1.2, 0.5]], [0.5 * np.eye(2), 0.4 * np.eye(2)])),
])
def test_agrees_with_fipy_within_discretisation_error(dim, n0, target):
    # Both solvers are O(dx^2 + dt) consistent discretisations (they differ in the face average of
    # rho_d and in Picard vs Newton), so their difference is discretisation error: it must shrink by
    # about 2x (first order in time dominates) when dx and dt are both halved, and at every level it
    # must be no larger than our own error estimate (our solution vs the next refinement) times 3.
    initial = fp.Gaussian(np.full(dim, 0.5), 0.3 * np.eye(dim))
    t_final, dt0 = 0.4, 0.04
    diffs, own = [], []
    prev = None
    for level in range(3):
        n, dt = n0 * 2 ** level, dt0 / 2 ** level
        grid = fp.Grid([-4.0] * dim, [4.0] * dim, [n] * dim)
        ours = fp.solve(target, initial, grid, t_final, dt, linear_solver="auto").u[-1]
        theirs = solve_fipy(target, initial, grid, t_final, dt).u[-1]
        diffs.append(_l1(ours, theirs, grid))
        if prev is not None:
            own.append(_l1(prev[0], _coarsen(ours, 2), prev[1]))
        prev = (ours, grid)
    ratios = np.array(diffs[:-1]) / np.array(diffs[1:])
    assert np.all(ratios > 1.7), (diffs, ratios)
    assert np.all(np.array(diffs[:-1]) <= 3 * np.array(own)), (diffs, own)


@pytest.mark.parametrize("kwargs, match", [
    (dict(t_eval=[0.0, 0.25, 1.0]), "multiples of dt"),
    (dict(t_eval=[0.0, 2.0]), "multiples of dt"),
    (dict(t_final=-1.0), "t_final"),
    (dict(dt="adaptive"), "fixed dt"),
])
def test_fipy_reference_bad_input(kwargs, match):
    args = dict(target=fp.Gaussian([0.0], [[1.0]]), initial=fp.Gaussian([0.5], [[0.5]]),
                grid=fp.Grid([-4.0], [4.0], [20]), t_final=1.0, dt=0.1)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        solve_fipy(**args)


def test_fipy_tolerance_is_used_and_recorded():
    # FiPy's default LinearLUSolver stops refining once its residual is below 1e-5 of the
    # right-hand side, so its Picard sweeps stop moving v early; with 1e-12 they go on until the
    # sweep residual converges. Both answers are FiPy's own backward-Euler step to within that
    # stopping error, and the recorded options say which solver and tolerance ran.
    args = (fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.5]]), fp.Grid([-4.0], [4.0], [60]), 0.2, 0.05)
    loose, tight = solve_fipy(*args), solve_fipy(*args, tolerance=1e-12)
    assert loose.options["solver"] == tight.options["solver"] == "LinearLUSolver"
    assert loose.options["tolerance"] == 1e-5 and tight.options["tolerance"] == 1e-12
    assert tight.n_sweeps > loose.n_sweeps  # the tolerance reached the solver
    # measured 5.3e-6, against 1.1e-4 between FiPy and fokkerplanck on this grid (the discretisations)
    assert _l1(loose.u[-1], tight.u[-1], args[2]) < 5e-5


@pytest.mark.parametrize("kwargs, match", [
    (dict(tolerance=0.0), "tolerance must be a number in"),
    (dict(tolerance="tight"), "tolerance must be a number in"),
    (dict(tolerance=1e-8, solver=object()), "a solver or a tolerance"),
])
def test_fipy_tolerance_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        solve_fipy(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([0.5], [[0.5]]), fp.Grid([-4.0], [4.0], [20]), 1.0, 0.1,
                   **kwargs)
