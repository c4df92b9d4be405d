r"""Time steps of the particle ODE :math:`dY/dt = b(t, Y)` and SDE, and the reflecting walls.

Every step has the signature ``step(field, t, x, h, rng) -> (x_new, n_evaluations)``: ``field``
is a :class:`~fokkerplanck.particles.velocities.base.VelocityField` (or any ``field(t, x)`` with a
``noise`` attribute for the SDE step), ``x`` the whole ensemble ``(n, d)``, ``h`` the step size
and ``rng`` a numpy Generator (used by the stochastic step only). Steps are found by name in
:data:`METHODS` (ODE) and :data:`SDE_METHODS` (SDE), like scipy's ``solve_ivp`` methods.

``"euler"``
    Explicit Euler, :math:`x + h\,b(t, x)`; first order.
``"rk2"``
    Explicit midpoint, :math:`x + h\,b(t + h/2, x + \tfrac h2 b(t, x))`; second order.
``"rk4"``
    The classical Runge-Kutta method; fourth order.
``"euler-maruyama"``
    :math:`x + h\,b(t, x) + \sigma\sqrt h\,\xi`, :math:`\xi \sim N(0, I)`, with the field's
    ``noise`` :math:`\sigma` (1 for the Jensen-Shannon SDE of eq. 30, :math:`\sqrt2` for KL);
    weak order 1.

Walls (no-flux). A step that overshoots a wall of the box is corrected by *reflection*
(:func:`reflect`: ``x -> 2 lower - x``, ``x -> 2 upper - x``), which is the particle form of the
no-flux condition (reflecting boundaries of the SDE give exactly the zero-flux Neumann condition).
On a periodic axis (:attr:`Grid.periodic <fokkerplanck.Grid>`) there is no wall: positions wrap
around into ``[lower, upper)`` (:func:`wrap`); :func:`confine` does both, axis by axis.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["euler", "rk2", "rk4", "euler_maruyama", "METHODS", "SDE_METHODS", "SDE_ALIASES", "reflect", "wrap", "confine"]


def euler(field, t, x, h, rng=None):
    """One explicit Euler step; returns ``(x_new, 1)``."""
    return x + h * field(t, x), 1


def rk2(field, t, x, h, rng=None):
    """One explicit midpoint step; returns ``(x_new, 2)``."""
    k1 = field(t, x)
    k2 = field(t + 0.5 * h, x + (0.5 * h) * k1)
    return x + h * k2, 2


def rk4(field, t, x, h, rng=None):
    """One step of the classical Runge-Kutta method; returns ``(x_new, 4)``."""
    k1 = field(t, x)
    k2 = field(t + 0.5 * h, x + (0.5 * h) * k1)
    k3 = field(t + 0.5 * h, x + (0.5 * h) * k2)
    k4 = field(t + h, x + h * k3)
    return x + (h / 6.0) * (k1 + 2.0 * (k2 + k3) + k4), 4


def euler_maruyama(field, t, x, h, rng):
    """One Euler-Maruyama step with the noise amplitude ``field.noise``; returns ``(x_new, 1)``."""
    return x + h * field(t, x) + (field.noise * math.sqrt(h)) * rng.standard_normal(x.shape), 1


#: Integrators of the ODE modes, by name.
METHODS = {"euler": euler, "rk2": rk2, "rk4": rk4}
#: Integrators of the SDE mode, by name.
SDE_METHODS = {"euler-maruyama": euler_maruyama}
#: Other spellings accepted for the SDE integrator.
SDE_ALIASES = {"em": "euler-maruyama", "euler": "euler-maruyama"}


def reflect(x: np.ndarray, lower, upper) -> int:
    """Reflect positions outside the box ``[lower, upper]`` back in, in place; returns the count.

    ``x -> 2 lower - x`` below, ``x -> 2 upper - x`` above, then clipped (a jump longer than the
    box would otherwise land outside again).
    """
    below = x < lower
    above = x > upper
    count = int(below.sum() + above.sum())
    if count:
        np.copyto(x, 2.0 * lower - x, where=below)
        np.copyto(x, 2.0 * upper - x, where=above)
        np.clip(x, lower, upper, out=x)
    return count


def wrap(x: np.ndarray, lower, upper, periodic) -> np.ndarray:
    """Wrap the columns of ``x`` on the ``periodic`` axes into ``[lower, upper)``, in place; returns ``x``."""
    for a, p in enumerate(periodic):
        if p:
            lo, length = float(lower[a]), float(upper[a]) - float(lower[a])
            col = lo + np.mod(x[:, a] - lo, length)
            col[col >= lo + length] = lo  # np.mod can round up to the period itself
            x[:, a] = col
    return x


def confine(x: np.ndarray, lower, upper, periodic=None) -> int:
    """Keep ``x`` in the box, in place: wrap on the periodic axes, :func:`reflect` on the others.

    Returns the number of reflections (wraps are not counted).
    """
    if periodic is None or not any(periodic):
        return reflect(x, lower, upper)
    wrap(x, lower, upper, periodic)
    walled = [a for a, p in enumerate(periodic) if not p]
    if not walled:
        return 0
    sub = x[:, walled]
    count = reflect(sub, np.asarray(lower, float)[walled], np.asarray(upper, float)[walled])
    x[:, walled] = sub
    return count
