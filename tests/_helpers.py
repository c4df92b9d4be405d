"""Small pieces several test modules use (importable because tests/conftest.py puts this folder on
``sys.path``, as for ``_notebook_runs``)."""

import numpy as np

import fokkerplanck as fp


class StopAfter(fp.Tracker):
    """Simulates an interruption (Ctrl-C) after a given number of accepted steps."""

    def __init__(self, n):
        self.n, self.steps = n, 0

    def update(self, t, v, record):
        self.steps += 1
        if self.steps >= self.n:
            raise KeyboardInterrupt


def preconditioner_matrix(mg):
    """The dense matrix of the multigrid preconditioner ``mg`` (one V-cycle applied to each unit vector)."""
    out = np.empty(mg.levels[0].shape)
    n = out.size
    B = np.empty((n, n))
    for j in range(n):
        e = np.zeros(n)
        e[j] = 1.0
        mg.precondition(e.reshape(out.shape), out)
        B[:, j] = out.ravel()
    return B
