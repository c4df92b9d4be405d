"""``linear_solver="banded"``: the whole 1-D Newton iteration in one compiled kernel.

In 1-D the Newton matrix is tridiagonal; the compiled kernel
:func:`fokkerplanck.flow.newton_1d.newton_kernel_1d`, specialised to the divergence's compiled
``state`` (:class:`fokkerplanck.flow.divergences.Kernels`), runs every Newton iteration with a Thomas
solve, O(n) per iteration (on a periodic interval a cyclic tridiagonal solve: Sherman-Morrison on
two Thomas solves), and allocates a handful of work vectors of the grid's size.
"""

from __future__ import annotations

from .base import F8, LinearSolver, register

__all__ = ["Banded"]


@register
class Banded(LinearSolver):
    name = "banded"
    summary = "1-D only: the whole Newton iteration in one compiled kernel (Thomas algorithm; cyclic when periodic)"
    runs_newton = True

    @classmethod
    def unavailable(cls, shape, divergence, periodic=False):
        # periodic intervals too: the kernel solves the cyclic tridiagonal system (Sherman-Morrison)
        if len(shape) != 1:
            return "is for 1-D grids"
        if divergence.kernels is None:
            return f"needs a compiled 1-D kernel, which the divergence {divergence.name!r} does not have"
        return None

    @classmethod
    def auto_rank(cls, shape, divergence):
        return 0

    @classmethod
    def memory_bytes(cls, shape):
        n = 1.0
        for s in shape:
            n *= s
        return 13 * n * F8  # the kernel's 12 work vectors (periodic too: Sherman-Morrison reuses scratch) and v

    def newton(self, s_lower, v_old, s0, m, h, tol, max_iter):
        """``(s, iterations, linear solves, residual, status)`` of the compiled Newton iteration."""
        s, it, res, status = self.divergence.kernels.newton_1d(s_lower, v_old, s0, m, self.coeffs[0], h, tol,
                                                               max_iter)
        return s, it, it, res, status
