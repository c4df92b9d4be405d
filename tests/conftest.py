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


# The longest test files first (longest processing time first): the tests are spread over the cores
# file by file (pytest-xdist, ``--dist loadfile``, ``--no-loadscope-reorder`` in pyproject.toml), and a
# long file that starts last leaves the other core idle at the end (the durations, and the idle core
# this list removed, are in benchmarks/README.md, "Test suite time"). A fresh clone has no record of
# earlier durations to sort by, hence the list. Longest first; the rest keep their order.
LONGEST_FIRST = [
    "tests/test_docs.py",                        # the notebooks, executed once, and the site built from them
    "tests/flow/test_multigrid_periodic.py",     # compiles the periodic multigrid kernels
    "tests/cli/test_cli_kill_resume.py",         # real processes killed and resumed
    "tests/sweep/test_sweep_execute.py",         # real Dask schedulers and workers
    "tests/gan/test_gan_neural.py",              # JAX compilation
    "tests/particles/test_particles_driver.py",
    "tests/cli/test_cli_fuzz.py",
    "tests/flow/test_solve.py",
    "tests/verify/test_verify_certificate.py",
    "tests/flow/test_budget_memory.py",
    "tests/test_notebooks.py",
    "tests/cli/test_cli_main.py",
    "tests/cli/test_cli_demo.py",
]


def pytest_collection_modifyitems(session, config, items):
    root = config.rootpath
    missing = [name for name in LONGEST_FIRST if not (root / name).is_file()]
    if missing:
        raise pytest.UsageError(f"tests/conftest.py: LONGEST_FIRST names files that do not exist: {missing}; "
                                "update the list")
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
