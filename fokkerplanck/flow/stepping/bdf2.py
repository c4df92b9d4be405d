r"""BDF2: the resolvent with a shorter step, applied to extrapolated data (second order in time).

With :math:`\omega = h_n / h_{n-1}` (1 for fixed steps), the variable-step BDF2 formula

.. math::  \tfrac{1+2\omega}{1+\omega}v^{n+1} - (1+\omega)v^n + \tfrac{\omega^2}{1+\omega}v^{n-1}
           = -h_n M^{-1}K\Phi(v^{n+1})

is one Crandall-Liggett resolvent step

.. math::  v^{n+1} = (I + \hat h A)^{-1}\hat v, \qquad
           \hat v = \frac{(1+\omega)^2 v^n - \omega^2 v^{n-1}}{1+2\omega}, \qquad
           \hat h = h_n\frac{1+\omega}{1+2\omega}

(fixed steps: :math:`\hat v = (4v^n - v^{n-1})/3`, :math:`\hat h = 2h/3`): the same Newton
iteration on the same convex step energy, with ``v_old`` replaced by :math:`\hat v`. The weights
of :math:`\hat v` sum to one, so :math:`\hat v` has the mass of :math:`v^n`.

**Limiter.** :math:`\hat v` is negative where :math:`v^{n-1} > (1+\omega)^2/\omega^2\,v^n` (a cell
that lost more than 3/4 of its content in one fixed step: fast-emptying tails, a receding free
boundary). There the data are clipped to 0 and the clipped data rescaled to the mass of
:math:`\hat v` (:func:`BDF2.extrapolate`), so the resolvent always receives non-negative data of
the right mass. The clipped cells carry tiny masses in practice; the relative change of the data
is the clipped mass, reported by :func:`BDF2.extrapolate` and, whenever it is not zero, by a
RuntimeWarning naming the time (that step is not the plain second-order formula).

**What is guaranteed** (every step, fixed or variable, limited or not):

- mass to round-off (the data has the mass of :math:`v^n`, the resolvent keeps it);
- :math:`u^{n+1} \ge 0` (the resolvent of non-negative data is non-negative);
- the step is the minimiser of the convex step energy (same Newton, same linear solvers).

**What is not** (unlike backward Euler):

- the plain energy :math:`D_f(u^n)` is not monotone: BDF2's amplification factor for a mode with
  :math:`h r > 1/2` is complex, so stiff modes oscillate while they decay (measured in
  ``tests/flow/test_bdf2.py``: the KL flow toward N(0, 1) from a box at dt = 1, h r = 1, has KL
  rising on 2 of 20 steps, by up to 1.3e-9; none of the JSD runs tried rose). For fixed steps
  and unlimited data, BDF2 is G-stable and the *modified* energy

  .. math::  \tilde H^n = \sum_i m_i\Psi(v^n_i) + \frac{1}{4h}\,\|M(v^n - v^{n-1})\|^2_{K^{-1}},
             \qquad \Psi' = \Phi,

  does not increase (the flow is the :math:`K^{-1}` gradient flow of :math:`\sum m\Psi(v)`; test
  the BDF2 equation with :math:`K^{+}M(v^{n+1}-v^n)` and use the convexity of :math:`\Psi`);
- the maximum principle: :math:`\max\hat v` can exceed :math:`\max v^n` by the extrapolation;
- L1 contraction: :math:`\hat v` is a combination with weights :math:`4/3, -1/3`, whose L1 norm
  is 5/3, so two runs can move apart in L1 for a step (bound: ``5/3`` of the larger of their two
  previous distances).

**Start.** The first step (no :math:`v^{n-1}`: ``t = 0``) is backward Euler with Richardson
extrapolation, :math:`2(I+\tfrac h2A)^{-2}v^0 - (I+hA)^{-1}v^0` (three resolvent solves, local
error :math:`O(h^3)`), limited like :math:`\hat v`. A plain backward-Euler first step keeps order 2
too (one local error :math:`h^2 v''/2`) but with a larger constant; see ``benchmarks/README.md``.

**Local error** (adaptive steps, Milne's device): the quadratic :math:`p` through
:math:`v^{n-1}`, :math:`v^n` with slope :math:`F(v^n) = -M^{-1}K\Phi(v^n)` at :math:`t_n`
predicts :math:`v^{n+1}` with error :math:`\tfrac{1+\omega}{6\omega}h^3v'''`; BDF2's own local
error is :math:`\tfrac{(1+\omega)^2}{6\omega(1+2\omega)}h^3v'''`, so

.. math::  \mathrm{err} = \frac{1+\omega}{2+3\omega}\,\big\|M(v^{n+1} - p)\big\|_1,\qquad
           Mp = Mv^n + \omega^2 M(v^{n-1} - v^n) - h(1+\omega)K\Phi(v^n),

in units of mass, without division by cell masses. The first step uses backward Euler's estimate
(conservative for the extrapolated start). The controller scales steps by
:math:`(\mathrm{tol}/\mathrm{err})^{1/3}` and never by more than :attr:`BDF2.max_step_ratio` = 2
(variable-step BDF2 is zero-stable for :math:`\omega < 1 + \sqrt2`).

**Discrete rate**: a mode :math:`e^{-rt}` gives :math:`(3/2 + z)\zeta^2 - 2\zeta + 1/2 = 0`,
:math:`z = hr`; the dominant root is :math:`\zeta = (2 + \sqrt{1-2z})/(3+2z)` for
:math:`z \le 1/2` and has :math:`|\zeta| = (3+2z)^{-1/2}` beyond (complex pair), and the
rate is :math:`-\ln|\zeta|/h = r + \tfrac13 h^2 r^3 + O(h^3)`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .. import operators
from .base import Scheme, register
from .euler import BackwardEuler

__all__ = ["BDF2"]


@register
class BDF2(Scheme):
    name = "bdf2"
    label = "BDF2"
    aliases = ("BDF2",)
    summary = "BDF2: the resolvent of step 2h/3 on extrapolated data (second order; not L1-contractive)"
    order = 2
    n_previous = 1
    #: the largest ratio of consecutive steps the adaptive controller may take
    max_step_ratio = 2.0

    @staticmethod
    def extrapolate(v, v_prev, omega, cell_mass):
        r"""The limited BDF2 data :math:`\hat v` and the mass the limiter moved (0: not limited).

        ``omega = h_n / h_{n-1}``; ``v_prev = None`` gives ``v`` (no history)."""
        if v_prev is None:
            return v, 0.0
        a = (1.0 + omega) ** 2 / (1.0 + 2.0 * omega)
        data = a * v - (a - 1.0) * v_prev
        return _limit(data, cell_mass)

    @classmethod
    def step(cls, resolvent, state, h):
        if state.v_prev is None:
            return cls._start(resolvent, state, h)
        omega = h / state.h_prev
        data, clipped = cls.extrapolate(state.v, state.v_prev, omega, resolvent.cell_mass)
        _say_limited(clipped, state.t)
        return resolvent(data, h * (1.0 + omega) / (1.0 + 2.0 * omega), w0=state.phi)

    @classmethod
    def _start(cls, resolvent, state, h):
        """Richardson-extrapolated backward Euler: ``2 E(h/2)^2 v - E(h) v`` (limited like the BDF2 data)."""
        full = resolvent(state.v, h, w0=state.phi)
        half = resolvent(state.v, 0.5 * h, w0=state.phi) if full.converged else full
        twice = resolvent(half.v, 0.5 * h, w0=half.w) if half.converged else half
        parts = [full] if not full.converged else [full, half] if not half.converged else [full, half, twice]
        res = type(full)(v=twice.v, w=twice.w, converged=all(p.converged for p in parts),
                         newton_iterations=sum(p.newton_iterations for p in parts),
                         linear_iterations=sum(p.linear_iterations for p in parts),
                         residual=max(p.residual for p in parts), status=max(p.status for p in parts))
        if res.converged:
            res.v, clipped = _limit(2.0 * twice.v - full.v, resolvent.cell_mass)
            _say_limited(clipped, state.t)
            res.w = resolvent.divergence.phi(res.v)
        return res

    @classmethod
    def local_error(cls, state, h, res, cell_mass, coeffs) -> float:
        if state.v_prev is None:
            return BackwardEuler.local_error(state, h, res, cell_mass, coeffs)
        omega = h / state.h_prev
        mv, mprev = cell_mass * state.v, cell_mass * state.v_prev
        pred = mv + omega ** 2 * (mprev - mv) - h * (1.0 + omega) * operators.apply_laplacian(coeffs, state.phi)
        return (1.0 + omega) / (2.0 + 3.0 * omega) * float(np.sum(np.abs(cell_mass * res.v - pred)))

    @classmethod
    def discrete_rate(cls, rate: float, h: float) -> float:
        z = h * rate
        if z == 0:
            return rate
        if z <= 0.5:
            zeta = (2.0 + math.sqrt(1.0 - 2.0 * z)) / (3.0 + 2.0 * z)
            return -math.log(zeta) / h
        return 0.5 * math.log(3.0 + 2.0 * z) / h


def _limit(data, cell_mass):
    """Clip negative data to 0 and rescale to the original mass; returns ``(data, clipped mass)``."""
    neg = data < 0
    if not np.any(neg):
        return data, 0.0
    clipped = float(-np.sum(cell_mass[neg] * data[neg]))
    pos = np.where(neg, 0.0, data)
    mass_pos = float(np.sum(cell_mass * pos))
    return pos * ((mass_pos - clipped) / mass_pos), clipped


def _say_limited(clipped: float, t: float) -> None:
    """The limiter changed the data: say so (that step is not the plain BDF2 formula)."""
    if clipped > 0:
        warnings.warn(f"bdf2: the extrapolated data was negative on some cells at t = {t:.6g} and was clipped "
                      f"(mass {clipped:.3g} moved, then rescaled): that step keeps mass and u >= 0 but is not the "
                      "plain second-order formula there. A smaller dt avoids it.", RuntimeWarning, stacklevel=5)
