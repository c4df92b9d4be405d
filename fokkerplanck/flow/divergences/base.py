"""The divergence entry (:class:`Divergence`) and the registry that finds it by name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from ..._registry import Registry

__all__ = ["Divergence", "Kernels", "DIVERGENCES", "register", "get_divergence", "available_divergences"]


class Kernels(NamedTuple):
    r"""Compiled (numba) capabilities of a divergence.

    ``state(s) -> (v, w, dv/ds, dw/ds, F(w))``: a scalar ``@njit(cache=True)`` function at the
    Newton variable ``s``. With it, the compiled 1-D Newton kernel
    (:func:`fokkerplanck.flow.newton_1d.newton_kernel_1d`) runs this divergence, found by its
    name in the registry at compile time and cached per name (define the function in a file, not
    interactively, so that the cache can be trusted). ``newton_1d(s_lower, v_old, s0, m, k, h,
    tol, max_iter)``: the cached entry point, ``newton_kernel_1d("<name>", ...)`` with the name
    written as a constant (three lines; see ``jensen_shannon.py``); it returns ``(s, iterations,
    residual, status)`` and leaves ``v(s)`` in ``s0``.
    """

    state: Callable
    newton_1d: Callable


@dataclass(frozen=True)
class Divergence:
    r"""An f-divergence and the nonlinearity :math:`\Phi` of its gradient flow.

    Attributes
    ----------
    name : str
        Short name used by :func:`fokkerplanck.solve` (``divergence=name``).
    f, f_prime : callable
        The convex generator :math:`f(x)`, normalised so that ``f(1) = 0``, and its derivative.
    phi : callable
        :math:`\Phi(v)`, increasing, with :math:`\Phi'(v) = v f''(v)`.
    phi_inv, phi_inv_prime : callable
        :math:`\Phi^{-1}(w)` and its derivative (positive on the domain).
    phi_inv_antiderivative : callable
        A convex :math:`F` with :math:`F' = \Phi^{-1}`.
    phi_prime_at_one : float
        :math:`\Phi'(1)`: the flow linearised at equilibrium is
        :math:`\rho_d v_t = \Phi'(1)\nabla\cdot(\rho_d\nabla v)`, so long-time rates are
        :math:`\Phi'(1)\lambda_1` (docs/mathematics.md, section 6).
    w_lower : float
        Lower end of the domain of :math:`\Phi^{-1}` (``-inf`` when it is all of R).
    variable : {"w", "v"}
        The Newton variable ``s`` of the resolvent: ``"w"`` (:math:`s = \Phi(v)`, the default) or
        ``"v"`` (:math:`s = v`, for degenerate diffusion, :math:`\Phi'(0^+) = 0`).
    phi_prime : callable, optional
        :math:`\Phi'(v) = v f''(v)`; needed when ``variable == "v"`` (the Newton matrix is
        :math:`M + hK\,\mathrm{diag}(\Phi'(v))`) and by the particle forms (the KDE velocity
        :math:`b = -\Phi'(v)\nabla\ln v` and the SDE drift).
    phi_power : (kappa, m), optional
        Set when :math:`\Phi(v) = \kappa v^m` + a constant: the flow toward a uniform density is
        then the porous medium (m > 1), heat (m = 1) or fast diffusion (m < 1) equation, whose exact
        solutions :mod:`fokkerplanck.analysis.exact` knows (Barenblatt; Ornstein-Uhlenbeck for m = 1).
    aliases : tuple of str
        Other names :func:`get_divergence` accepts (case-insensitive).
    phi_inv_and_prime : callable, optional
        ``w -> (Phi^{-1}(w), (Phi^{-1})'(w))`` in one pass (arrays), for :meth:`s_state`; by default
        ``phi_inv`` and ``phi_inv_prime`` are called one after the other.
    kernels : Kernels, optional
        Compiled capabilities: ``Kernels.newton_1d`` runs the whole 1-D Newton iteration in one
        compiled kernel (``linear_solver="banded"``). Without it (the default for a new divergence)
        the resolvent uses its sparse Newton path, in 1-D too, which needs nothing more.
    """

    name: str
    long_name: str
    f: Callable
    f_prime: Callable
    phi: Callable
    phi_inv: Callable
    phi_inv_prime: Callable
    phi_inv_antiderivative: Callable
    phi_prime_at_one: float
    w_lower: float = -np.inf
    variable: str = "w"
    phi_prime: Callable | None = None
    phi_prime_at_zero: float | None = None
    phi_power: tuple | None = None
    aliases: tuple = ()
    kernels: Kernels | None = None
    phi_inv_and_prime: Callable | None = None

    def __post_init__(self):
        if self.variable not in ("w", "v"):
            raise ValueError(f"Divergence.variable must be 'w' or 'v', got {self.variable!r}.")
        if self.variable == "v" and self.phi_prime is None:
            raise ValueError("a Divergence with variable='v' needs phi_prime (Phi'(v) = v f''(v)).")

    def value(self, v, cell_mass) -> float:
        r""":math:`D_f = \sum_i m_i f(v_i)` with cell masses ``m = rho_d * cell_volume``."""
        return float(np.sum(cell_mass * self.f(v)))

    # --- the Newton variable s of the resolvent (arrays in, arrays out) -----------------------
    @property
    def s_lower(self) -> float:
        """Lower bound of the Newton variable: ``0`` for ``variable == "v"``, else ``w_lower``."""
        return 0.0 if self.variable == "v" else self.w_lower

    def s_from_w(self, w):
        """The Newton variable for ``w = Phi(v)``."""
        return self.phi_inv(w) if self.variable == "v" else np.asarray(w, dtype=float)

    def s_state(self, s):
        r"""``(v, w, dv/ds, dw/ds)`` at the Newton variable ``s`` (all >= 0 derivatives)."""
        s = np.asarray(s, dtype=float)
        if self.variable == "v":
            return s, self.phi(s), np.ones_like(s), self.phi_prime(s)
        if self.phi_inv_and_prime is not None:
            v, dv = self.phi_inv_and_prime(s)
            return v, s, dv, np.ones_like(s)
        return self.phi_inv(s), s, self.phi_inv_prime(s), np.ones_like(s)

    @property
    def sde_diffusion(self) -> float | None:
        r"""The constant :math:`D = \Phi'(0^+)` of the divergence's McKean-Vlasov SDE, or None.

        The flow is :math:`u_t = D\Delta u - \nabla\cdot(u\,b)` with the drift
        :math:`b = D\nabla\ln u - \Phi'(v)\nabla\ln v` for any constant D; a bounded drift near
        empty regions needs :math:`D = \Phi'(0^+)`, which must be finite and positive (JSD: 1/2,
        KL: 1). chi^2 (:math:`\Phi'(0) = 0`, no noise) and Hellinger (:math:`\Phi'(0^+) = \infty`)
        have no such SDE.
        """
        if self.phi_prime_at_zero is not None:
            d = float(self.phi_prime_at_zero)
        elif self.phi_prime is None:
            return None
        else:
            with np.errstate(all="ignore"):
                d = float(np.asarray(self.phi_prime(np.array([0.0])), dtype=float)[0])
        return d if (np.isfinite(d) and d > 0) else None


#: The registered divergences, by name and alias (:class:`fokkerplanck._registry.Registry`).
DIVERGENCES = Registry("divergence")


def register(divergence: Divergence, *aliases: str) -> Divergence:
    """Make ``divergence`` available to :func:`fokkerplanck.solve` by its name, its ``aliases`` and
    these ``aliases`` (case-insensitive); returns it."""
    if not isinstance(divergence, Divergence):
        raise ValueError(f"register needs a fokkerplanck.Divergence, got {type(divergence).__name__}.")
    return DIVERGENCES.add(divergence, *aliases)


def available_divergences() -> list[str]:
    """Primary names of the registered divergences."""
    return sorted(DIVERGENCES.names())


def get_divergence(divergence) -> Divergence:
    """A :class:`Divergence` from a name (``"jsd"``, ``"kl"``, ...) or a :class:`Divergence`."""
    if isinstance(divergence, Divergence):
        return divergence
    if divergence in DIVERGENCES:
        return DIVERGENCES.get(divergence)
    raise ValueError(f"unknown divergence {divergence!r}; known divergences: "
                     f"{', '.join(available_divergences())} (or pass a fokkerplanck.Divergence).")
