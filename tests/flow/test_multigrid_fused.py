"""The fused V-cycle passes (fokkerplanck/flow/linear/_mg_fused.py) equal the separate kernels bit for bit
(the restriction without the black cells' residuals, which are round-off of a zero after their half-sweep)."""

from __future__ import annotations

import numpy as np
import pytest

from fokkerplanck.flow.linear._mg_fused import _pre_smooth_restrict, _prolong_post_smooth
from fokkerplanck.flow.linear._mg_kernels import (_dot, _full_diagonal, _gauss_seidel, _gauss_seidel_from_zero,
                                                  _prolong_add, _residual, _restrict)
from fokkerplanck.flow.linear.multigrid import Multigrid

SHAPES = [(1, 1, 9), (1, 7, 1), (1, 8, 8), (1, 9, 6), (1, 13, 17), (2, 3, 4), (5, 4, 7), (6, 6, 6), (3, 1, 5)]


def _level(shape, seed):
    rng = np.random.default_rng(seed)
    faces = [np.exp(rng.normal(0, 3, size=tuple(n - (ax == a) for a, n in enumerate(shape)))) for ax in range(3)]
    d = rng.random(shape) * 10.0 ** rng.integers(-8, 2, size=shape)
    a = np.zeros(shape)
    _full_diagonal(d, *faces, a)
    return a, faces, rng.normal(size=shape), rng


@pytest.mark.parametrize("shape", SHAPES)
def test_pre_smooth_restrict_is_the_separate_passes(shape):
    a, (k0, k1, k2), b, _ = _level(shape, 1)
    cshape = tuple((n + 1) // 2 for n in shape)
    x_ref, r, rc_ref = np.zeros(shape), np.zeros(shape), np.zeros(cshape)
    _gauss_seidel_from_zero(a, k0, k1, k2, x_ref, b, 0)
    _gauss_seidel(a, k0, k1, k2, x_ref, b, 1)
    _residual(a, k0, k1, k2, x_ref, b, r)
    # after the black half-sweep the black cells' residuals are round-off of a zero (each black
    # cell solved its own equation exactly for its red neighbours); the fused pass leaves them out
    black = (np.indices(shape).sum(axis=0) % 2) == 1
    scale = np.abs(b) + a * np.abs(x_ref)
    assert np.all(np.abs(r[black]) <= 1e-14 * scale[black])
    r[black] = 0.0
    _restrict(r, rc_ref)
    x, rc = np.full(shape, np.nan), np.full(cshape, np.nan)
    b0 = b.copy()
    _pre_smooth_restrict(a, k0, k1, k2, x, b, rc)
    np.testing.assert_array_equal(x, x_ref)
    np.testing.assert_array_equal(rc, rc_ref)
    np.testing.assert_array_equal(b, b0)  # b is read only
    assert np.abs(rc).max() > 0


@pytest.mark.parametrize("shape", SHAPES)
def test_prolong_post_smooth_is_the_separate_passes(shape):
    a, (k0, k1, k2), b, rng = _level(shape, 2)
    xc = rng.normal(size=tuple((n + 1) // 2 for n in shape))
    x0 = rng.normal(size=shape)
    x_ref = x0.copy()
    _prolong_add(xc, x_ref)
    _gauss_seidel(a, k0, k1, k2, x_ref, b, 1)
    _gauss_seidel(a, k0, k1, k2, x_ref, b, 0)
    x = x0.copy()
    dot = _prolong_post_smooth(a, k0, k1, k2, x, b, xc)
    np.testing.assert_array_equal(x, x_ref)
    assert abs(dot - float(np.sum(b * x_ref))) <= 1e-13 * float(np.sum(np.abs(b * x_ref)))


@pytest.mark.parametrize("shape", [(64, 48), (17, 9, 12)])
def test_vcycle_returns_the_dot_and_stays_symmetric(shape):
    rng = np.random.default_rng(3)
    coeffs = [np.exp(rng.normal(0, 2, size=tuple(n - (ax == a) for a, n in enumerate(shape)))) for ax in range(len(shape))]
    mg = Multigrid(coeffs, shape)
    mg.set_diagonal(rng.random(int(np.prod(shape))) * 1e-3, 0.5)
    top = mg.levels[0]
    u, v = rng.normal(size=top.shape), rng.normal(size=top.shape)
    bu, bv = np.empty(top.shape), np.empty(top.shape)
    uu = mg.precondition(u, bu)
    assert uu > 0 and abs(uu - _dot(u, bu)) <= 1e-13 * float(np.sum(np.abs(u * bu)))
    mg.precondition(v, bv)
    assert abs(_dot(v, bu) - _dot(u, bv)) <= 1e-12 * np.sqrt(_dot(u, bu) * _dot(v, bv))
