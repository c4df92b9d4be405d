"""What the package does with BLAS threads (private).

The sparse solves of a time step (SuperLU, conjugate gradients, ARPACK) call BLAS on short
vectors or small supernodes, where OpenBLAS threads cannot help: they spin and fight over the
cores, and on a busy 2-core machine a 2-D 128^2 solve ran 4-5x slower with them than without.
So every linear solve and eigen-solve of the package, and the fits of the GAN calibrator
(Newton refits and scipy's L-BFGS-B, whose small BLAS calls sit between compiled loss
evaluations), run inside :func:`blas_limits` (one BLAS thread), without the user setting
``OPENBLAS_NUM_THREADS``; the previous limits are restored on exit, so user code around the
solver keeps its threads. The compiled multigrid kernels and the
1-D Newton kernel use no BLAS and are single-threaded; the package gets more cores to work
through processes (``fokkerplanck.sweep`` runs one solve per worker).

Setting ``FOKKERPLANCK_BLAS_THREADS`` to a positive integer changes the limit (``0`` disables it).
"""

from __future__ import annotations

import contextlib
import os

__all__ = ["blas_limits", "blas_thread_limit"]

_controller = None


def blas_thread_limit() -> int:
    """The number of BLAS threads used inside the package's solves (0: not limited)."""
    value = os.environ.get("FOKKERPLANCK_BLAS_THREADS", "1").strip()
    try:
        return max(0, int(value))
    except ValueError:
        return 1


def _get_controller():
    global _controller
    if _controller is None:
        # load every BLAS the solvers may call before threadpoolctl takes its inventory
        import numpy  # noqa: F401
        import scipy.linalg  # noqa: F401
        import scipy.sparse.linalg  # noqa: F401
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return _controller


def blas_limits(limit: int | None = None):
    """Context manager: at most ``limit`` BLAS threads inside (default :func:`blas_thread_limit`).

    Costs about 15 microseconds (the library inventory is taken once per process).
    """
    limit = blas_thread_limit() if limit is None else int(limit)
    if limit <= 0:
        return contextlib.nullcontext()
    return _get_controller().limit(limits=limit, user_api="blas")
