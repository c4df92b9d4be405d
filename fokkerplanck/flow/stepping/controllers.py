r"""Step-size control: fixed steps, or adaptive steps that control the scheme's local error.

The adaptive error is compared with ``tol = atol + rtol * D``. With ``error_relative_to="mass"``
(the default) ``D = 1``, the total mass: ``rtol`` bounds the local error per step relative to the
density, and the global error at a fixed time behaves like ``C * sqrt(rtol)`` (measured: 8e-3,
2.7e-3, 8.8e-4 for rtol = 1e-3, 1e-4, 1e-5 on a two-mode 1-D problem at t = 2). Near equilibrium
``err`` then falls below the tolerance for ever larger steps and late decay rates come out too
slow. With ``error_relative_to="distance"``, ``D = ||u^{n+1} - rho_d||_L1``, the current distance
from rho_d: once the slowest mode dominates (``v'' = r^2 (v - 1)``) the backward-Euler controller
settles at :math:`h r \approx 0.9\sqrt{2\,\mathrm{rtol}}`, so the observed rate
:math:`\ln(1 + hr)/h` is within a relative :math:`hr/2 \approx 0.64\sqrt{\mathrm{rtol}}` of ``r``
(0.2% for rtol = 1e-5) at any distance, at the price of steps that stop growing.

A step is accepted when ``err <= tol``, and the next step is
``h * clip(0.9 * (tol / err)^(1/(p+1)), 0.2, max_growth)`` with ``p`` the scheme's ``order``
(the square root for backward Euler); the growth is also capped by the scheme's
``max_step_ratio`` (BDF2: 2, for zero stability). A step whose Newton iteration fails is
rejected and retried with a quarter of the size (by the time loop).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from ... import _validation as _v
from .euler import BackwardEuler

__all__ = ["FixedSteps", "AdaptiveSteps", "make_controller"]


class FixedSteps:
    """Step-size control for a fixed ``dt``: every step is ``dt`` (shortened only to land on a mark)."""

    adaptive = False

    def __init__(self, dt: float):
        self.dt = dt

    @classmethod
    def from_options(cls, dt, **options):
        """Check that no adaptive-only option is given (they would be silently ignored) and build."""
        dt = _v.positive_number("dt", dt)
        given = [name for name in AdaptiveSteps.OPTIONS if options.get(name) is not None]
        if given:
            raise ValueError(f"{', '.join(given)} only apply to adaptive steps; pass dt='adaptive' or drop them.")
        return cls(dt)

    def initial_step(self) -> float:
        return self.dt

    def judge(self, state, h, res, cell_mass, coeffs):
        """``(accept, next step)`` for a converged step of size ``h`` from ``state`` to ``res``."""
        return True, self.dt

    def after_landing(self, h, h_next):
        return h_next


class AdaptiveSteps:
    """Error-controlled steps.

    The local error of a step of size ``h`` is estimated by the scheme
    (:meth:`~fokkerplanck.flow.stepping.base.Scheme.local_error`; backward Euler: half the
    difference between the implicit solution and a forward-Euler predictor); the step is
    accepted when the estimate is below ``atol + rtol * D`` (``D = 1`` for
    ``relative_to="mass"``, ``D = ||u - rho_d||_L1`` of the new state for ``"distance"``) and
    the next step is scaled by ``0.9 sqrt(tol / err)`` within ``[0.2, max_growth]`` (see
    docs/mathematics.md, section 5, and the module docstring).
    """

    adaptive = True

    #: The options of :func:`fokkerplanck.solve` that belong to adaptive steps.
    OPTIONS = ("rtol", "atol", "dt_initial", "dt_max", "max_growth", "error_relative_to")

    def __init__(self, rtol, atol, dt_initial, dt_max, max_growth, t_final, relative_to="mass", scheme=None):
        if relative_to not in ("mass", "distance"):
            raise ValueError(f"relative_to must be 'mass' or 'distance', got {relative_to!r}.")
        self.scheme = BackwardEuler if scheme is None else scheme
        self.rtol, self.atol, self.relative_to = rtol, atol, relative_to
        self.tol = atol + rtol
        self.dt_initial = dt_initial or min(1e-3, t_final / 10 if t_final > 0 else 1e-3)
        self.dt_max = dt_max
        self.max_growth = max_growth
        # the scheme's own rules: err ~ h^(order+1), and a cap on the ratio of consecutive steps
        self.exponent = 1.0 / (self.scheme.order + 1)
        self.growth = min(max_growth, getattr(self.scheme, "max_step_ratio", math.inf))

    def initial_step(self) -> float:
        return self.dt_initial

    @classmethod
    def from_options(cls, t_final, scheme=None, *, rtol=None, atol=None, dt_initial=None, dt_max=None,
                     max_growth=None, error_relative_to=None):
        """Check the adaptive-step options of :func:`fokkerplanck.solve` and build the controller."""
        rtol = _v.positive_number("rtol", 1e-4 if rtol is None else rtol)
        relative_to = _v.choice("error_relative_to", "mass" if error_relative_to is None else error_relative_to,
                                ("mass", "distance"))
        atol = _v.positive_number("atol", 1e-12 if atol is None else atol, allow_zero=True)
        if dt_max is not None:
            dt_max = _v.positive_number("dt_max", dt_max)
        if dt_initial is not None:
            dt_initial = _v.positive_number("dt_initial", dt_initial)
        given_growth = max_growth is not None
        max_growth = _v.positive_number("max_growth", 5.0 if max_growth is None else max_growth)
        if max_growth <= 1:
            raise ValueError(f"max_growth must exceed 1, got {max_growth}.")
        cap = getattr(scheme, "max_step_ratio", math.inf)
        if given_growth and max_growth > cap:
            warnings.warn(f"max_growth = {max_growth:g} is capped at {cap:g} for scheme {scheme.name!r} (its step "
                          "ratio limit, for stability); the solution's options record the cap.", RuntimeWarning,
                          stacklevel=4)
        return cls(rtol=rtol, atol=atol, dt_initial=dt_initial, dt_max=dt_max, max_growth=max_growth,
                   t_final=t_final, relative_to=relative_to, scheme=scheme)

    def options(self) -> dict:
        """The options as the solution records them."""
        return dict(rtol=self.rtol, atol=self.atol, error_relative_to=self.relative_to, dt_max=self.dt_max,
                    max_growth=self.growth)

    def error(self, state, h, res, cell_mass, coeffs) -> float:
        """The scheme's local error estimate (:meth:`Scheme.local_error`)."""
        return self.scheme.local_error(state, h, res, cell_mass, coeffs)

    def tolerance(self, res, cell_mass) -> float:
        if self.relative_to == "mass":
            return self.atol + self.rtol
        return self.atol + self.rtol * float(np.sum(cell_mass * np.abs(res.v - 1.0)))

    def judge(self, state, h, res, cell_mass, coeffs):
        err = self.error(state, h, res, cell_mass, coeffs)
        self.tol = tol = self.tolerance(res, cell_mass)
        if err > 0:
            ratio = tol / err
            factor = 0.9 * (math.sqrt(ratio) if self.exponent == 0.5 else ratio ** self.exponent)
        else:
            factor = self.growth
        self.last_error = err
        if err > tol:
            return False, h * max(0.2, min(0.9, factor))
        return True, h * max(0.2, min(self.growth, factor))

    def after_landing(self, h, h_next):
        # a step shortened to hit a save time must not shrink the next one
        return max(h_next, h) if h < 0.5 * h_next else h_next


def make_controller(dt, t_final, scheme=None, **options):
    """:class:`FixedSteps` for a number ``dt``, :class:`AdaptiveSteps` for ``dt="adaptive"``; each
    checks the options that belong to it (``rtol``, ``atol``, ``dt_initial``, ``dt_max``,
    ``max_growth``, ``error_relative_to``)."""
    if isinstance(dt, str):
        if dt != "adaptive":
            raise ValueError(f"dt must be a positive number or the string 'adaptive', got {dt!r}.")
        return AdaptiveSteps.from_options(t_final, scheme, **options)
    return FixedSteps.from_options(dt, **options)
