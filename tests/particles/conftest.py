"""Grid solutions shared by the particle tests (computed once per session)."""

import pytest
from particles_cases import GRID_1D, GRID_2D, INITIAL_1D, INITIAL_2D, TARGET_1D, TARGET_2D

import fokkerplanck as fp


@pytest.fixture(scope="session")
def sol_1d():
    return fp.solve(TARGET_1D, INITIAL_1D, GRID_1D, 1.0, dt=1e-2, t_eval="steps")


@pytest.fixture(scope="session")
def sol_2d():
    return fp.solve(TARGET_2D, INITIAL_2D, GRID_2D, 0.5, dt=1e-2, t_eval="steps")
