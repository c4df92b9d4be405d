"""The small Ornstein-Uhlenbeck problem of test_verify.py as a run file, for the tests of the checks."""

import pytest

from fokkerplanck.io.runfile import read_run_file
from test_verify import SMALL_OU


@pytest.fixture
def ou_runfile(tmp_path):
    """Path of a run file: the KL flow from N(1, 0.5) toward N(0, 1) on 80 cells, 10 steps."""
    path = tmp_path / "ou.toml"
    path.write_text(SMALL_OU.format(div="kl"))
    return path


@pytest.fixture
def ou_spec(ou_runfile):
    return read_run_file(ou_runfile)
