"""Bad arguments to the core are refused before any work, in one line naming the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import fokkerplanck as fp

G1 = fp.Grid([-5.0], [5.0], [50])
N01 = fp.Gaussian([0.0], [[1.0]])


@pytest.mark.parametrize("args, match", [
    (([-6.0], [6.0], [10**12]), "cells per axis"),             # was a MemoryError (7.28 TiB)
    (([-6.0, -6.0], [6.0, 6.0], [10**5, 10**5]), "more than"),  # 1e10 cells in all
    (([-6.0], [6.0], [2**70]), "whole numbers of cells"),       # was numpy's "Maximum allowed size exceeded"
    (([-1e308], [1e308], [100]), "finite positive"),            # was accepted with an infinite cell volume
    (("a", "b", "c"), "Grid: lower must be numbers"),           # was "could not convert string to float"
    (([-1.0], [1.0], "c"), "Grid: shape must be whole numbers"),
])
def test_grid_refuses_with_the_argument_named(args, match):
    with pytest.raises(ValueError, match=match):
        fp.Grid(*args)


def test_densities_name_the_argument():
    with pytest.raises(ValueError, match="Gaussian: mean must be numbers"):
        fp.Gaussian("x", [[1.0]])
    with pytest.raises(ValueError, match="Gaussian: cov must be numbers"):
        fp.Gaussian([0.0], "q")
    with pytest.raises(ValueError, match="GaussianMixture: weights must be numbers"):
        fp.GaussianMixture("w", [[0.0]], [[[1.0]]])


def test_a_huge_covariance_prints_no_overflow_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = fp.Gaussian([0.0], [[1e308]])
    assert np.isfinite(g.logpdf([[0.0]])[0])


@pytest.mark.parametrize("kw, match", [
    (dict(resume=5), "resume must be a RunState"),             # was an AttributeError
    (dict(uniform_steps="yes"), "uniform_steps must be True or False"),  # was accepted silently
    (dict(force="no"), "force must be True or False"),
    (dict(scheme="bdf9"), "unknown scheme 'bdf9'; choose one of"),
    (dict(linear_solver="banded", divergence="kl", dt=0.1), None),  # fine: 1-D banded
])
def test_solve_checks_before_any_work(kw, match):
    kw = dict(kw)
    dt = kw.pop("dt", 0.1)
    if match is None:
        assert fp.solve(N01, N01, G1, 0.2, dt, **kw).success
        return
    with pytest.raises(ValueError, match=match):
        fp.solve(N01, N01, G1, 0.2, dt, **kw)
