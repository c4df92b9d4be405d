r"""The same problem solved with FiPy, as a FiPy user would write it: an independent cross-check.

The equation :math:`\rho_d v_t = \nabla\cdot(\rho_d \Phi'(v)\nabla v)` is written with a
``TransientTerm`` with coefficient :math:`\rho_d` and a nonlinear ``DiffusionTerm`` whose
coefficient :math:`\rho_d\Phi'(v)` is evaluated at the faces from the current iterate
(``rho.faceValue * Phi'(v.faceValue)``: FiPy's arithmetic face average), and each implicit time
step is iterated by Picard *sweeps* until the sweep residual falls below a tolerance. Only the
grid values of rho_d and rho_0 are shared with :func:`fokkerplanck.solve` (same normalisation),
so differences between the two solvers are discretisation differences (face averages of rho_d,
Picard vs Newton) and should shrink as the grid is refined.

FiPy is imported only when this module is used; it comes with the ``fipy`` extra
(``pip install "fokkerplanck[fipy]"``).

References
----------
J. E. Guyer, D. Wheeler, J. A. Warren, "FiPy: Partial Differential Equations with Python",
Computing in Science & Engineering 11(3), 2009.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._optional import require
from .flow.problem import setup

__all__ = ["solve_fipy", "FiPyResult"]

# Phi'(v) of each divergence as FiPy expressions (v is a FiPy face variable)
_PHI_PRIME = {
    "jsd": lambda v: 0.5 / (1.0 + v),
    "kl": lambda v: 1.0 + 0.0 * v,
    # porous medium: DiffusionTerm(coeff=2 v rho), degenerate where v = 0
    "chi2": lambda v: 2.0 * v,
    # fast diffusion: 1 / (2 sqrt v), floored at v = 1e-300 (singular at v = 0)
    "hellinger": lambda v: 0.5 / (v * (v > 1e-300) + 1e-300) ** 0.5,
}


@dataclass
class FiPyResult:
    """FiPy's solution, shaped like :class:`fokkerplanck.Solution` (and scipy's ``OdeResult``).

    Attributes
    ----------
    t : ndarray, shape (n_saved,)
        Saved times.
    u : ndarray, shape ``(n_saved, *grid.shape)``
        Densities on the cells (C order, like :class:`fokkerplanck.Solution`).
    sweeps : ndarray of int, shape (n_steps,)
        Picard sweeps taken at each step.
    residuals : ndarray, shape (n_steps,)
        FiPy's sweep residual after the last sweep of each step.
    status : int
        0: reached ``t_final`` (every step's sweeps converged or stagnated at round-off); 1: reached
        ``t_final`` but ``n_unconverged`` steps stopped at ``max_sweeps`` before either.
    message : str
    n_steps, n_sweeps, n_unconverged : int
        Steps taken, sweeps in all, steps that hit ``max_sweeps``.
    options : dict
    """

    t: np.ndarray
    u: np.ndarray
    sweeps: np.ndarray
    residuals: np.ndarray
    status: int = 0
    message: str = ""
    n_steps: int = 0
    n_sweeps: int = 0
    n_unconverged: int = 0
    options: dict = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.status == 0


def _mesh(grid):
    import fipy

    n, d = grid.shape, grid.spacing
    if grid.ndim == 1:
        mesh = fipy.Grid1D(nx=n[0], dx=d[0])
    elif grid.ndim == 2:
        mesh = fipy.Grid2D(nx=n[0], ny=n[1], dx=d[0], dy=d[1])
    else:
        mesh = fipy.Grid3D(nx=n[0], ny=n[1], nz=n[2], dx=d[0], dy=d[1], dz=d[2])
    return mesh + [[float(lo)] for lo in grid.lower]


def _to_fipy(a):
    """C-ordered grid array (x slowest) -> FiPy cell order (x fastest)."""
    return np.ascontiguousarray(a.T).ravel()


def _from_fipy(values, shape):
    return np.asarray(values).reshape(shape[::-1]).T.copy()


def solve_fipy(target, initial, grid, t_final, dt, divergence="jsd", t_eval=None, sweep_tol=1e-10,
               max_sweeps=50, solver=None, tolerance=None):
    """Solve the flow with FiPy: fixed steps ``dt``, Picard sweeps per step.

    Parameters
    ----------
    target, initial, grid, t_final, dt, divergence, t_eval
        As in :func:`fokkerplanck.solve` (fixed ``dt`` only; ``t_eval`` times must be multiples
        of ``dt``). Divergences: ``"jsd"``, ``"kl"``, ``"chi2"`` and ``"hellinger"``.
    sweep_tol : float
        Sweeps stop when FiPy's sweep residual, relative to the first sweep's, is below this, or
        when it stops decreasing (by less than 10%: it has reached its round-off floor).
    max_sweeps : int
        Maximum sweeps per step.
    solver : fipy solver, optional
        Defaults to FiPy's default solver (with the scipy backend ``LinearLUSolver``: an LU
        factorisation with iterative refinement until the residual is below ``tolerance`` times
        the right-hand side's norm, FiPy's ``"default"`` criterion).
    tolerance : float, optional
        The default solver's tolerance; ``None`` keeps FiPy's default (1e-5). With it, the
        refinement (and so the sweep) stops moving ``v`` once the linear residual is below 1e-5
        of the right-hand side; a small tolerance (1e-12) lets the sweeps converge to FiPy's own
        backward-Euler step, at about three times the sweeps on the 2-D ring of the benchmarks.
        ``result.options`` records the solver, its tolerance and criterion.

    Returns
    -------
    FiPyResult
    """
    fipy = require("fipy", "the FiPy reference solver")
    if tolerance is not None:
        if solver is not None:
            raise ValueError("give solve_fipy a solver or a tolerance (for FiPy's default solver), not both; "
                             "set the solver's own tolerance instead.")
        if isinstance(tolerance, (bool, str)) or not (np.isfinite(tolerance) and 0 < tolerance < 1):
            raise ValueError(f"tolerance must be a number in (0, 1), got {tolerance!r}.")

    problem = setup(target, initial, grid, divergence)
    name = problem.divergence.name
    if name not in _PHI_PRIME:
        raise ValueError(f"the FiPy reference knows the divergences {sorted(_PHI_PRIME)}, not {name!r}.")
    if isinstance(dt, str) or not dt > 0:
        raise ValueError("the FiPy reference takes a fixed dt > 0.")
    if not (np.isfinite(t_final) and t_final >= 0):
        raise ValueError(f"t_final must be a finite number >= 0, got {t_final!r}.")
    n_steps = int(round(t_final / dt))
    if abs(n_steps * dt - t_final) > 1e-9 * max(1.0, t_final):
        raise ValueError(f"t_final = {t_final} must be a multiple of dt = {dt} for the FiPy reference.")
    t_eval = np.asarray([0.0, t_final] if t_eval is None else t_eval, dtype=float).ravel()
    steps = np.rint(t_eval / dt)
    if np.any(np.abs(steps * dt - t_eval) > 1e-9 * max(1.0, t_final)) or np.any(t_eval < 0) \
            or np.any(t_eval > t_final * (1 + 1e-12)):
        raise ValueError(f"t_eval times must be multiples of dt = {dt} in [0, t_final = {t_final}] for the "
                         f"FiPy reference, got {t_eval.tolist()}.")
    save_steps = {int(k) for k in steps}
    if solver is None:
        solver = fipy.solvers.DefaultSolver() if tolerance is None else fipy.solvers.DefaultSolver(
            tolerance=float(tolerance))

    mesh = _mesh(grid)
    rho = fipy.CellVariable(mesh=mesh, value=_to_fipy(problem.rho))
    v = fipy.CellVariable(mesh=mesh, value=_to_fipy(problem.v0), hasOld=True)
    coeff = rho.faceValue * _PHI_PRIME[name](v.faceValue)
    eq = fipy.TransientTerm(coeff=rho) == fipy.DiffusionTerm(coeff=coeff)

    saved_t, saved_u, sweeps, residuals, unconverged = [], [], [], [], 0
    if 0 in save_steps:
        saved_t.append(0.0)
        saved_u.append(problem.u0.copy())
    for step in range(1, n_steps + 1):
        v.updateOld()
        first = prev = None
        for k in range(1, max_sweeps + 1):
            res = eq.sweep(var=v, dt=dt, solver=solver)
            first = res if first is None else first
            # converged, or stagnating at the round-off floor of FiPy's residual
            if first == 0 or res <= sweep_tol * first or (prev is not None and res >= 0.9 * prev):
                break
            prev = res
        else:
            unconverged += 1
        sweeps.append(k)
        residuals.append(float(res))
        if step in save_steps:
            saved_t.append(step * dt)
            saved_u.append(_from_fipy(v.value, grid.shape) * problem.rho)
    message = "reached t_final" if not unconverged else (
        f"reached t_final, but {unconverged} of {n_steps} steps stopped at max_sweeps = {max_sweeps} before "
        "the sweep residual converged; raise max_sweeps or lower dt")
    return FiPyResult(t=np.asarray(saved_t), u=np.asarray(saved_u), sweeps=np.asarray(sweeps, dtype=int),
                      residuals=np.asarray(residuals), status=0 if not unconverged else 1, message=message,
                      n_steps=n_steps, n_sweeps=int(np.sum(sweeps)), n_unconverged=unconverged,
                      options=dict(t_final=t_final, dt=dt, divergence=name, sweep_tol=sweep_tol,
                                   solver=type(solver).__name__, tolerance=getattr(solver, "tolerance", None),
                                   criterion=getattr(solver, "criterion", None)))
