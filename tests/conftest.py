"""Shared test configuration: headless matplotlib, seeded randomness."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture
def rng():
    """A seeded numpy Generator (tests must be reproducible)."""
    return np.random.default_rng(20231121)
