r"""The velocity entry: what every member of :data:`VELOCITIES` declares, and its options.

A velocity field is a subclass of :class:`VelocityField` that registers itself (``@register``);
the class carries every fact about itself, so that the driver, the run-file reader and the run
driver keep no list of velocities:

- ``name`` (its spelling in ``simulate(velocity=...)`` and in run files);
- ``options``: a tuple of :class:`Option` (name, check, default, one line of doc), the
  ``velocity_options`` of :func:`~fokkerplanck.particles.simulate` and the extra keys of a run
  file's ``[particles]`` table; :meth:`VelocityField.check_options` validates them (and
  ``other_options`` says where undeclared ones go, if anywhere);
- ``needs``: the arguments of ``simulate`` it cannot do without (``"solution"``: a grid
  solution, ``"target"``: the density :math:`\rho_d`, ``"data"``: samples of it), each with the
  phrase that says how to give it;
- ``stochastic`` (the drift of an SDE, integrated by Euler-Maruyama) and :meth:`VelocityField.method`
  (its integrators and the default one);
- :meth:`VelocityField.unavailable`: why it has no form for a divergence (read from the
  divergence's entry, never its name), or None;
- :meth:`VelocityField.check` (the arguments, before any work) and
  :meth:`VelocityField.from_arguments` (the field).

The options of each class are appended to its docstring (an "Other Parameters" section), so the
reference pages show the declarations themselves. docs/developer/velocities.md is the recipe for
a new velocity: one file.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field as _field

from ... import _validation as _v
from ..._registry import Registry
from ...flow.densities import Density
from ...flow.grid import Grid
from ..integrators import METHODS, SDE_ALIASES, SDE_METHODS

__all__ = ["Option", "Check", "Number", "Integer", "Choice", "VelocityField", "FlowArguments", "VELOCITIES",
           "register"]

#: The registered velocity fields, by name (``velocity=`` of :func:`~fokkerplanck.particles.simulate`).
VELOCITIES = Registry("velocity")


def register(cls):
    """Class decorator: add a :class:`VelocityField` subclass to :data:`VELOCITIES`."""
    return VELOCITIES.add(cls)


# --- options ---------------------------------------------------------------------------------------

class Check:
    """What an option accepts: ``expected`` (a phrase for messages) and a call that returns the value
    to use or raises a ValueError (``"NAME must be EXPECTED, got VALUE."`` unless overridden)."""

    expected = "a value"

    def accepts(self, value) -> bool:
        return True

    def __call__(self, name: str, value, d: int | None = None):
        """The value to use for option ``name`` (``d``: the flow's dimension, when known)."""
        if not self.accepts(value):
            raise ValueError(f"{name} must be {self.expected}, got {value!r}.")
        return value


class Number(Check):
    """A finite real number (not a bool) in an interval; by default a positive number."""

    def __init__(self, lo: float = 0.0, hi: float | None = None, *, lo_open: bool = True, hi_open: bool = True):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        if hi is None:
            self.expected = ("a positive number" if lo == 0 and lo_open
                             else f"a number {'>' if lo_open else '>='} {lo:g}")
        else:
            self.expected = f"a number in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"

    def accepts(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            return False
        above = value > self.lo if self.lo_open else value >= self.lo
        below = self.hi is None or (value < self.hi if self.hi_open else value <= self.hi)
        return above and below


class Integer(Check):
    """An integer (not a bool) at least ``minimum``."""

    def __init__(self, minimum: int = 1):
        self.minimum = minimum
        self.expected = f"an integer >= {minimum}"

    def accepts(self, value) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= self.minimum


class Choice(Check):
    """One of some names, case-insensitive (the lower-case name is used); ``what`` names the choice
    in the message (``"unknown WHAT 'x'; use one of (...)."``, default the option's name)."""

    def __init__(self, *choices: str, what: str | None = None):
        self.choices, self.what = tuple(choices), what
        self.expected = "one of " + ", ".join(repr(c) for c in choices)

    def __call__(self, name, value, d=None):
        return _v.choice(self.what or name, value, self.choices)


@dataclass(frozen=True)
class Option:
    """One option of a velocity field.

    Attributes
    ----------
    name : str
        Its key in ``velocity_options`` and in a run file's ``[particles]`` table.
    check : Check
        What it accepts (``check.expected`` is the phrase in messages).
    default : object
        Its value when it is not given.
    doc : str
        One line: what it does.
    """

    name: str
    check: Check
    default: object
    doc: str


# --- the arguments and the base class ----------------------------------------------------------------

@dataclass
class FlowArguments:
    """The arguments of :func:`~fokkerplanck.particles.simulate` a velocity field is built from.

    :meth:`VelocityField.check` validates them and fills in the flow's dimension ``d``, its
    ``divergence`` (a name, or None for custom fields) and the box ``grid`` (or None).
    """

    target: object = None
    solution: object = None
    divergence: object = None
    data: object = None
    grid: Grid | None = None
    seed: object = None
    t_final: float = 0.0
    options: dict = _field(default_factory=dict)
    function: object = None
    d: int | None = None


class VelocityField:
    r"""A velocity field ``field(t, x) -> (n, d)`` of the particles (base class).

    Attributes
    ----------
    name : str
        The name of the field in :data:`VELOCITIES` (a custom field: its function's name).
    options : tuple of Option
        The options the field declares (``velocity_options``, run-file keys).
    other_options : str or None
        Where options it does not declare go (None: they are errors).
    needs : dict
        The arguments of ``simulate`` the field needs (``"solution"``, ``"target"``, ``"data"``),
        each with the phrase that says how to give it.
    stochastic : bool
        True for the drift of an SDE (integrated by Euler-Maruyama with amplitude ``noise``).
    noise : float
        Amplitude :math:`\sigma` of the noise :math:`\sigma\,dW` (0 for the ODE fields).
    """

    name = "field"
    options: tuple = ()
    other_options: str | None = None
    needs: dict = {}
    stochastic = False
    noise = 0.0

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__doc__ and cls.options and "Other Parameters" not in cls.__doc__:
            lines = [f"    {o.name} : {o.check.expected}, default {o.default!r}\n        {o.doc}" for o in cls.options]
            cls.__doc__ = cls.__doc__.rstrip() + "\n\n    Other Parameters\n    ----------------\n" + "\n".join(lines) + "\n"

    def __call__(self, t, x):
        raise NotImplementedError

    # -- options --------------------------------------------------------------------------------
    @classmethod
    def option(cls, name: str) -> Option | None:
        """The declared option called ``name`` (None if the field declares none by that name)."""
        return next((o for o in cls.options if o.name == name), None)

    @classmethod
    def check_options(cls, options: dict, d: int | None = None) -> dict:
        """``options`` checked one by one, with the declared defaults filled in (ValueError otherwise).

        Options the field does not declare are refused unless ``other_options`` says where they go
        (then they are returned as given)."""
        unknown = [k for k in options if cls.option(k) is None]
        if unknown and cls.other_options is None:
            raise ValueError(f"unknown velocity_options {sorted(unknown)} for velocity={cls.name!r}; "
                             f"known: {tuple(o.name for o in cls.options)}.")
        out = {o.name: o.default for o in cls.options}
        for key, value in options.items():
            opt = cls.option(key)
            out[key] = value if opt is None else opt.check(key, value, d)
        return out

    # -- the integrator -------------------------------------------------------------------------
    @classmethod
    def methods(cls) -> tuple:
        """Names of the integrators that step this field."""
        return tuple(SDE_METHODS if cls.stochastic else METHODS)

    @classmethod
    def method(cls, method=None) -> str:
        """The integrator's name for ``method=`` (None: ``"rk4"``, or ``"euler-maruyama"`` for an SDE)."""
        if not cls.stochastic:
            return _v.choice("method", "rk4" if method is None else method, METHODS)
        try:
            return _v.choice("method", "euler-maruyama" if method is None else method, SDE_METHODS, SDE_ALIASES)
        except ValueError:
            raise ValueError(f"velocity={cls.name!r} is integrated by 'euler-maruyama', not {method!r}.") from None

    @classmethod
    def unavailable(cls, divergence) -> str | None:
        """Why this field has no form for ``divergence`` (a Divergence), or None when it has one."""
        return None

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def check(cls, args: FlowArguments) -> None:
        """Check the arguments this field uses (before any work); set ``args.d``, ``divergence``, ``grid``."""
        if isinstance(args.target, Density):
            args.d = args.target.ndim
        for arg, how in cls.needs.items():
            if getattr(args, arg) is None:
                raise ValueError(f"velocity={cls.name!r} needs {how}.")
        cls.check_options(args.options, args.d)

    @classmethod
    def from_arguments(cls, args: FlowArguments) -> "VelocityField":
        """The field for checked arguments: ``cls(<the needed arguments>, **options)``."""
        return cls(*(getattr(args, arg) for arg in cls.needs), **args.options)


def density_target(args: FlowArguments, allow_callable: bool = False) -> None:
    """``target``, when given, must be a density (or, with ``allow_callable``, a callable)."""
    target = args.target
    if target is not None and not isinstance(target, Density) and not (allow_callable and callable(target)):
        raise ValueError(f"target must be a Gaussian or GaussianMixture, got {type(target).__name__}.")
