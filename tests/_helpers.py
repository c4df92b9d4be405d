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


def logistic_gradient_hessian(cal, data, samples):
    """Gradient and Hessian of a calibrator's loss at its fitted parameters, in numpy (independent of
    the compiled kernel): the class-balanced logistic loss with the ridge on the feature coefficients."""
    p = np.append(cal.coef_, cal.intercept_)
    g, h = np.zeros(p.size), np.zeros((p.size, p.size))
    for x, is_data in ((data, True), (samples, False)):
        phi = np.column_stack([cal.features(x), np.ones(len(x))])
        d = 1.0 / (1.0 + np.exp(-(phi @ p)))
        g += phi.T @ ((d - is_data) * 0.5 / len(x))  # d/df softplus(-f) = D - 1, d/df softplus(f) = D
        h += (phi * (0.5 / len(x) * d * (1 - d))[:, None]).T @ phi
    ridge = np.append(np.full(p.size - 1, cal.regularization), 0.0)
    return g + ridge * p, h + np.diag(ridge)
