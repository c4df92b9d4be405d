"""Shared test configuration: headless matplotlib, seeded randomness, single-threaded BLAS."""

import os

# BLAS threads only contend with each other on a 2-core CI machine (5-30x slowdowns measured when
# the cores are busy); the numerical code here is single-threaded by design. Set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A seeded numpy Generator (tests must be reproducible)."""
    return np.random.default_rng(20231121)
