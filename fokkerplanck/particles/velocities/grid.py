r"""The grid velocity (``"grid"``, superposition mode): :math:`b = -\nabla f'(u/\rho_d)` of a grid solution.

On every interior face :math:`b_f = -(f'(v_j) - f'(v_i))/\Delta`, the face difference that matches
the finite-volume flux :math:`\rho_f(\Phi(v_i) - \Phi(v_j))/\Delta` of the solver divided by the
face density :math:`\rho_f\,\bar v` with :math:`\bar v = (\Phi(v_j)-\Phi(v_i))/(f'(v_j)-f'(v_i))`, a
mean of :math:`v_i, v_j` (since :math:`\Phi' = v f''`). On the walls :math:`b_f = 0` (no flux).
Interpolated in space like a staggered (MAC) field: component ``a`` linearly along axis ``a``
between faces and linearly across the other axes between cell centres; linearly in time between
saved frames (solve with ``t_eval="steps"`` so every step is a frame). The normal component
vanishes on the walls and is interpolated linearly from them, so the exact flow never reaches a
wall; positions outside the box (Runge-Kutta stages) see the velocity of the nearest boundary
point. Works for every divergence (only :math:`f'` is used).

Periodic axes (:attr:`Grid.periodic <fokkerplanck.Grid>`): there is no wall; the seam face between
the last cell and the first carries :math:`b_f = -(f'(v_0) - f'(v_{n-1}))/\Delta`, stored as both the
first and the last face of the axis, and the other components get one ghost layer of wrapped values
on each side, so the interpolation is continuous across the seam. Positions are wrapped into the
box before they are looked up (Runge-Kutta stages too).

Robustness where ``u`` is tiny: ``v`` is floored at ``floor`` (default 1e-12) before
:math:`f'(v)` is taken, so no logarithm of 0 (or of a round-off negative) occurs. The set where
the floor acts carries at most ``floor`` of the mass (there ``u <= floor * rho_d`` and rho_d has
mass 1): no particle of an ensemble of 10^6 is expected there. The floor is absolute, not relative
to ``max v``, because ``max v`` (beta of condition 34) can be astronomically large at the edges of
the box (1e16-1e28 for a Gaussian start and a mixture target), which would floor the whole bulk.
Beyond the floor the velocity is that of the discrete solution itself (face differences, no
smoothing).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import _kernels
from ..integrators import wrap
from ...flow.divergences import get_divergence
from ...flow.solution import Solution
from .base import FlowArguments, Number, Option, VelocityField, density_target, register

__all__ = ["GridVelocity", "face_velocities"]


def face_velocities(u, rho, spacing, divergence, floor=1e-12, periodic=None):
    r"""Face velocities :math:`b_f = -(f'(v_j) - f'(v_i))/\Delta_a` of one grid frame, walls included.

    Parameters
    ----------
    u, rho : ndarray, grid shape
        Density and target on the cells (``v = u / rho``).
    spacing : (d,) array
    divergence : str or Divergence
    floor : float
        ``v`` is floored at ``floor`` (see the module docstring).
    periodic : sequence of bool, optional
        One flag per axis (:attr:`Grid.periodic <fokkerplanck.Grid>`). On a periodic axis the
        first and last faces are both the seam (between the last cell and the first), and across
        it (for the other components) one ghost layer of wrapped values is added on each side.

    Returns
    -------
    list of ndarray
        Entry ``a`` has ``shape[a] + 1`` entries along axis ``a`` (faces, the two walls zero, or
        the seam twice) and the grid's shape along the other axes (``+ 2`` on a periodic axis).
    """
    div = get_divergence(divergence)
    v = np.asarray(u, dtype=float) / rho
    vmax = float(np.max(v))
    if not vmax > 0 or not np.isfinite(vmax):
        raise ValueError("the grid density has no positive finite values; cannot form a velocity.")
    fp_ = div.f_prime(np.maximum(v, floor))
    periodic = (False,) * v.ndim if periodic is None else tuple(bool(p) for p in periodic)
    out = []
    for a in range(v.ndim):
        if periodic[a]:
            last = np.take(fp_, [-1], axis=a)
            b = -np.diff(np.concatenate([last, fp_], axis=a), axis=a) / spacing[a]  # seam, interior
            b = np.concatenate([b, np.take(b, [0], axis=a)], axis=a)  # the seam again at the top
        else:
            grad = np.diff(fp_, axis=a) / spacing[a]
            pad = [(0, 0)] * v.ndim
            pad[a] = (1, 1)
            b = np.pad(-grad, pad)
        for c in range(v.ndim):
            if c != a and periodic[c]:
                pad = [(0, 0)] * v.ndim
                pad[c] = (1, 1)
                b = np.pad(b, pad, mode="wrap")
        out.append(b)
    return out




@register
class GridVelocity(VelocityField):
    r"""The velocity :math:`b = -\nabla f'(u/\rho_d)` of a grid :class:`~fokkerplanck.Solution`.

    ``field(t, x) -> (n, d)``: staggered (MAC) interpolation of the face velocities of
    :func:`face_velocities` in space, linear interpolation between the solution's saved frames in
    time (frames are computed on demand and cached). Positions outside the box see the velocity
    at the nearest boundary point (zero normal component on the walls). Times outside
    ``[sol.t[0], sol.t[-1]]`` use the end frames.

    Parameters
    ----------
    solution : Solution
        Saved frames ``solution.t``, ``solution.u``; ``t_eval="steps"`` gives one per step.
    """

    name = "grid"
    options = (Option("floor", Number(0.0, 1.0, lo_open=False), 1e-12,
                      "v = u / rho_d is floored here before f'(v) is taken (see the module docstring)."),)
    needs = {"solution": "solution=fp.solve(..., t_eval='steps'): the particles follow the velocity of that "
                         "grid solution"}

    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """``solution`` must be a Solution whose frames cover ``[0, t_final]``; it fixes the divergence
        and the box (``grid=`` may only repeat the solution's grid)."""
        density_target(args, allow_callable=True)
        super().check(args)
        solution, d = args.solution, args.d
        if not isinstance(solution, Solution):
            raise ValueError(f"solution must be a fokkerplanck.Solution, got {type(solution).__name__}.")
        if d is not None and d != solution.grid.ndim:
            raise ValueError(f"the target is {d}-dimensional but the solution's grid is "
                             f"{solution.grid.ndim}-dimensional.")
        args.d = solution.grid.ndim
        if args.divergence is not None and get_divergence(args.divergence).name != solution.divergence:
            raise ValueError(f"divergence={args.divergence!r} differs from the solution's {solution.divergence!r}; "
                             "omit divergence= in grid mode.")
        args.divergence = solution.divergence
        t_final = args.t_final
        if len(solution.t) == 0 or solution.t[0] > 1e-12 or solution.t[-1] < t_final * (1 - 1e-12) - 1e-12:
            raise ValueError(f"the solution's frames cover [{solution.t[0] if len(solution.t) else None}, "
                             f"{solution.t[-1] if len(solution.t) else None}] but the particles need [0, {t_final}].")
        if args.grid is not None and args.grid != solution.grid:
            raise ValueError("in grid mode the particles live in the solution's grid; omit grid=.")
        args.grid = solution.grid
        steps = np.asarray(solution.history.get("dt", []), dtype=float)[1:] if solution.history else np.array([])
        if len(solution.t) > 1 and steps.size and np.max(np.diff(solution.t)) > 1.5 * steps.max():
            warnings.warn(f"the solution saved {len(solution.t)} frames, up to {np.max(np.diff(solution.t)):.3g} "
                          f"apart, but its steps were at most {steps.max():.3g}: the particles see the velocity "
                          "linearly interpolated between saved frames. Solve with t_eval='steps' for every step.",
                          UserWarning, stacklevel=3)

    def __init__(self, solution: Solution, **options):
        if not isinstance(solution, Solution):
            raise ValueError(f"velocity='grid' needs solution=<fokkerplanck.Solution>, got {type(solution).__name__}.")
        if len(solution.t) == 0:
            raise ValueError("the solution has no saved frames.")
        floor = self.check_options(options)["floor"]
        self.solution = solution
        self.grid = solution.grid
        self.divergence = get_divergence(solution.divergence)
        self.floor = float(floor)
        self.times = np.asarray(solution.t, dtype=float)
        g = self.grid
        d = g.ndim
        self._lower = np.asarray(g.lower, dtype=float)
        self._inv_dx = 1.0 / np.asarray(g.spacing, dtype=float)
        per = self._periodic = tuple(bool(p) for p in g.periodic)
        node_shape = np.array([[g.shape[b] + (1 if b == a else 2 if per[b] else 0) for b in range(d)]
                               for a in range(d)], dtype=np.int64)
        self._shift = np.array([[0.0 if b == a else 0.5 if per[b] else -0.5 for b in range(d)] for a in range(d)])
        self._node_shape = node_shape
        self._strides = np.array([[int(np.prod(node_shape[a, b + 1:])) for b in range(d)] for a in range(d)],
                                 dtype=np.int64)
        sizes = node_shape.prod(axis=1)
        self._offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        self._cache: dict[int, np.ndarray] = {}
        self.n_frames_computed = 0

    def frame(self, k: int) -> np.ndarray:
        """Face velocities of saved frame ``k``, all components concatenated (C order), cached."""
        if k not in self._cache:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            parts = face_velocities(self.solution.u[k], self.solution.rho_d, self.grid.spacing, self.divergence,
                                    self.floor, self._periodic)
            self._cache[k] = np.concatenate([p.ravel() for p in parts])
            self.n_frames_computed += 1
        return self._cache[k]

    def _bracket(self, t):
        K = self.times.size
        if K == 1:
            return 0, 0, 0.0
        k = int(np.clip(np.searchsorted(self.times, t, side="right") - 1, 0, K - 2))
        theta = (t - self.times[k]) / (self.times[k + 1] - self.times[k])
        return k, k + 1, float(min(max(theta, 0.0), 1.0))

    def __call__(self, t, x):
        x = np.ascontiguousarray(x, dtype=float)
        k0, k1, theta = self._bracket(t)
        B0, B1 = self.frame(k0), self.frame(k1)
        out = np.empty_like(x)
        if any(self._periodic):  # wrap into the box on the periodic axes; the nd kernel reads the seam
            x = wrap(x.copy(), self._lower, self._lower + np.asarray(self.grid.upper - self.grid.lower, float),
                     self._periodic)
            _kernels.interp_faces_nd(x, B0, B1, theta, self._offsets, self._node_shape, self._strides, self._lower,
                                     self._inv_dx, self._shift, out)
        elif x.shape[1] == 1:
            _kernels.interp_faces_1d(x, B0, B1, theta, float(self._lower[0]), float(self._inv_dx[0]),
                             int(self.grid.shape[0] + 1), out)
        elif x.shape[1] == 2:
            _kernels.interp_faces_2d(x, B0, B1, theta, int(self.grid.shape[0]), int(self.grid.shape[1]),
                             float(self._lower[0]), float(self._lower[1]), float(self._inv_dx[0]),
                             float(self._inv_dx[1]), out)
        else:
            _kernels.interp_faces_nd(x, B0, B1, theta, self._offsets, self._node_shape, self._strides, self._lower,
                             self._inv_dx, self._shift, out)
        return out
