"""The time loop (:class:`TimeLoop`) and the state it hands out and takes back (:class:`RunState`)."""

from __future__ import annotations

import bisect
import math
import warnings
from dataclasses import dataclass, field

import numpy as np

from ..._timeline import merge_tolerance, milestones
from ..diagnostics import state_diagnostics
from ..solution import ConvergenceError, Solution
from .euler import BackwardEuler

__all__ = ["TimeLoop", "RunState", "StateError", "HISTORY_KEYS", "PHI_PREV_KEY", "density_problem",
           "history_problem"]

#: The key of :attr:`RunState.phi_prev` among a checkpoint's ``solver`` arrays (a resumed run then
#: starts Newton where the uninterrupted one did, and is bit-identical to it).
PHI_PREV_KEY = "loop.phi_prev"

#: The per-step history of a run (one value per accepted step, and one for the initial state).
HISTORY_KEYS = ("t", "dt", "mass", "jsd", "energy", "l1", "dissipation", "grad_v_norm2", "max_v",
                "newton_iterations", "linear_iterations", "residual")


#: History entries that are never negative (the JSD up to round-off), and those that count.
_NONNEGATIVE = ("t", "dt", "mass", "l1", "grad_v_norm2", "newton_iterations", "linear_iterations", "residual")
_COUNTS = ("newton_iterations", "linear_iterations")


def density_problem(name, arr, shape=None):
    """What is wrong with a density array (``None``: nothing): float64 or float32 (never an integer,
    bool or float16 array), of ``shape`` if given, finite and non-negative."""
    arr = np.asarray(arr)
    if arr.dtype not in (np.float64, np.float32):
        return f"{name} has dtype {arr.dtype}, expected float64 or float32"
    if shape is not None and arr.shape != tuple(shape):
        return f"{name} has shape {arr.shape}, expected {tuple(shape)}"
    if not np.all(np.isfinite(arr)):
        return f"{name} holds NaN or infinite values"
    if np.any(arr < 0):
        return f"{name} is negative on some cells"
    return None


def history_problem(history):
    """What is wrong with a run's per-step history (``None``: nothing): 1-D numeric entries of one
    length; the entries of :data:`HISTORY_KEYS` finite, counts integral, times, steps, masses, norms
    and the JSD (up to round-off) non-negative."""
    if not isinstance(history, dict):
        return f"the history is a {type(history).__name__}, not a dict"
    for key, values in history.items():
        arr = np.asarray(values)
        if not isinstance(key, str) or arr.ndim != 1 or arr.dtype.kind not in "iuf":
            return f"history entry {key!r} is not a 1-D array of numbers (shape {arr.shape}, dtype {arr.dtype})"
        if key not in HISTORY_KEYS:
            continue
        if not np.all(np.isfinite(arr)):
            return f"history entry {key!r} holds NaN or infinite values"
        if key in _COUNTS and arr.dtype.kind == "f" and np.any(arr != np.round(arr)):
            return f"history entry {key!r} holds non-integer counts"
        if (key in _NONNEGATIVE and np.any(arr < 0)) or (key == "jsd" and np.any(arr < -1e-12)):
            return f"history entry {key!r} holds negative values"
    return None


class StateError(ValueError):
    """A :class:`RunState` that does not fit the run it is to continue; ``what`` says what is wrong."""

    def __init__(self, what: str):
        self.what = what
        super().__init__(f"resume: unusable run state: {what}; start over without resume (a checkpoint of "
                         "another run, or edited)")


@dataclass
class RunState:
    """Everything the time loop needs to continue a run exactly where it stopped.

    Trackers that set ``wants_state = True`` receive it after every accepted step (to write
    checkpoints); ``solve(..., resume=state)`` continues from it with results identical to an
    uninterrupted run. Arrays are live references: copy them if you keep them.
    """

    t: float
    v: np.ndarray
    phi: np.ndarray
    v_prev: np.ndarray | None
    h_prev: float | None
    h_next: float
    mark_index: int
    history: dict
    saved_t: list
    saved_v: list
    counters: dict
    solver: dict = field(default_factory=dict)  # the resolvent's reused state (Resolvent.get_state)
    #: ``Phi`` of the previous step's solution as Newton returned it (the backward-Euler predictor's
    #: :math:`w^{n-1}`); a checkpoint keeps it among the ``solver`` arrays under :data:`PHI_PREV_KEY`.
    phi_prev: np.ndarray | None = None

    #: The counters a run keeps (their names; the values are non-negative ints).
    COUNTERS = ("n_steps", "n_rejected", "n_newton", "n_linear")

    def problems(self, shape, marks=None, t_final=None) -> list:
        """What is wrong with this state for a run on a grid of ``shape`` (``[]``: nothing).

        Checks shapes, finiteness, index ranges and consistency; ``marks`` (the times the loop
        lands on) and ``t_final`` check the time and the save index.
        """
        shape = tuple(shape)
        for name in ("v", "phi") + tuple(n for n in ("v_prev", "phi_prev") if getattr(self, n) is not None):
            arr = np.asarray(getattr(self, name))
            if arr.shape != shape or arr.dtype not in (np.float64, np.float32):
                return [f"{name} has shape {arr.shape} ({arr.dtype}), expected floats of the grid shape {shape}"]
            if not np.all(np.isfinite(arr)):
                return [f"{name} holds NaN or infinite values"]
        for name in ("v", "v_prev"):
            if getattr(self, name) is not None and np.any(np.asarray(getattr(self, name)) < 0):
                return [f"{name} is negative on some cells"]
        if not isinstance(self.saved_v, list):
            return ["the saved frames are not a list"]
        for i, frame in enumerate(self.saved_v):
            found = density_problem(f"saved frame {i}", frame, shape)
            if found:
                return [found]
        found = history_problem(self.history)
        if found:
            return [found]
        counters = self.counters
        if (not isinstance(counters, dict) or set(counters) != set(self.COUNTERS)
                or not all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counters.values())):
            return [f"malformed counters {counters!r}"]
        for name in ("t", "h_next"):
            val = getattr(self, name)
            if not isinstance(val, float) or not math.isfinite(val) or val < 0 or (name == "h_next" and val == 0):
                return [f"{name} = {val!r} is out of range"]
        if self.phi_prev is not None and self.v_prev is None:
            return ["phi_prev is given without v_prev"]
        if (self.h_prev is None) != (self.v_prev is None) or (self.h_prev is not None and not (
                math.isfinite(self.h_prev) and self.h_prev > 0)):
            return ["the previous step (h_prev, v_prev) is inconsistent"]
        lengths = {len(v) for v in self.history.values()}
        if len(lengths) != 1 or lengths != {counters["n_steps"] + 1}:
            return [f"the history has lengths {sorted(lengths)}, expected n_steps + 1 = {counters['n_steps'] + 1}"]
        hist_t = self.history.get("t")
        if hist_t is None or hist_t[-1] != self.t or np.any(np.diff(hist_t) <= 0):
            return ["the history's times do not end at the state's time t or do not increase"]
        st = np.asarray(self.saved_t, dtype=float)
        if len(self.saved_v) != st.size or (st.size and (not np.all(np.isfinite(st)) or np.any(np.diff(st) <= 0)
                                                         or st[0] < 0 or st[-1] > self.t)):
            return ["the saved frames are inconsistent with the saved times"]
        mi = self.mark_index
        if isinstance(mi, bool) or not isinstance(mi, (int, np.integer)) or mi < 0:
            return [f"save index mark_index = {mi!r} is out of range"]
        if marks is not None:
            marks = np.asarray(marks, dtype=float)
            # the loop sets t to a mark exactly when it lands there, and then moves on to the next mark
            if (mi > marks.size or (mi > 0 and self.t < marks[mi - 1]) or (mi < marks.size and self.t >= marks[mi])
                    or (mi == marks.size and marks.size and self.t != marks[-1])):
                return [f"save index mark_index = {mi} does not match the time t = {self.t!r}"]
        if t_final is not None and self.t > t_final * (1 + 1e-12):
            return [f"t = {self.t!r} is beyond t_final = {t_final!r}"]
        return []


class TimeLoop:
    """The time loop of :func:`solve`: implicit steps from mark to mark, records, saves, trackers.

    ``controller`` (:class:`FixedSteps` or :class:`AdaptiveSteps`) proposes and judges step sizes;
    ``scheme`` (an entry of :data:`SCHEMES`, backward Euler by default) takes each step with the
    resolvent; a step whose Newton iteration fails is retried at a quarter of its size down to
    ``dt_min``. The loop knows no files: :meth:`get_state` hands out a :class:`RunState` (after
    every step to trackers with ``wants_state``) and ``run(resume=state)`` takes one back.
    """

    def __init__(self, problem, resolvent, controller, *, t_final, t_eval, dt_min, trackers, options, scheme=None):
        self.problem, self.resolvent, self.controller = problem, resolvent, controller
        self.scheme = BackwardEuler if scheme is None else scheme
        self.t_final, self.t_eval, self.dt_min = t_final, t_eval, dt_min
        self.trackers, self.options = trackers, options
        self.marks = milestones(t_final, None if controller.adaptive else controller.dt, t_eval)
        self.save_tol = merge_tolerance(t_final)
        self._save_at = None if t_eval is None else sorted(float(t) for t in np.ravel(t_eval))
        self.shortened = False  # a fixed step was retried shorter after a Newton failure
        self._state = None

    # --- records -----------------------------------------------------------------------------
    def record(self, st, h, newton, linear, residual):
        p = self.problem
        rec = state_diagnostics(st.v, p.cell_mass, p.coeffs, p.divergence, phi=st.phi, faces=self.resolvent.faces)
        rec.update(t=st.t, dt=h, newton_iterations=newton, linear_iterations=linear, residual=residual)
        for k in HISTORY_KEYS:
            st.history[k].append(rec[k])
        return rec

    def maybe_save(self, st):
        # is some save time within save_tol of t? (t_eval sorted: the first one >= t - save_tol)
        if self._save_at is not None:
            i = bisect.bisect_left(self._save_at, st.t - self.save_tol)
            if i == len(self._save_at) or self._save_at[i] > st.t + self.save_tol:
                return
        st.saved_t.append(st.t)
        st.saved_v.append(st.v.copy())

    def build(self, st, status, message) -> Solution:
        p = self.problem
        shape = p.grid.shape
        u = (np.asarray(st.saved_v).reshape(len(st.saved_v), *shape) * p.rho if st.saved_v
             else np.empty((0, *shape)))
        return Solution(t=np.asarray(st.saved_t), u=u, history={k: np.asarray(val) for k, val in st.history.items()},
                        grid=p.grid, rho_d=p.rho, divergence=p.divergence.name, beta=p.beta,
                        target_mass_outside=p.target_mass_outside,
                        initial_mass_outside=p.initial_mass_outside, status=status, message=message,
                        options=self.options, **st.counters)

    def initial_state(self) -> RunState:
        p = self.problem
        st = RunState(t=0.0, v=p.v0.copy(), phi=p.divergence.phi(p.v0), v_prev=None, h_prev=None,
                      h_next=self.controller.initial_step(), mark_index=0,
                      history={k: [] for k in HISTORY_KEYS}, saved_t=[], saved_v=[],
                      counters=dict(n_steps=0, n_rejected=0, n_newton=0, n_linear=0))
        self.record(st, 0.0, 0, 0, 0.0)
        self.maybe_save(st)
        return st

    def fail(self, st, msg, h, residual):
        sol = self.build(st, -1, msg)
        for tr in self.trackers:
            tr.finish(sol)
        raise ConvergenceError(msg, solution=sol, step=st.counters["n_steps"], time=st.t, dt=h, residual=residual)

    def get_state(self) -> RunState:
        """The current :class:`RunState` (live arrays: copy them to keep them), with the resolvent's reused state."""
        st = self._state
        st.solver = self.resolvent.get_state()
        if st.phi_prev is not None:
            st.solver[PHI_PREV_KEY] = st.phi_prev
        return st

    def check_state(self, state) -> None:
        """Check a :class:`RunState` against this run and give the resolvent its reused state.

        Raises :class:`StateError` (a ValueError) saying what is wrong."""
        if not isinstance(state, RunState):
            raise StateError(f"resume must be a RunState (from a checkpoint), got {type(state).__name__}")
        found = state.problems(self.problem.grid.shape, self.marks, self.t_final)
        if found:
            raise StateError(found[0])
        solver = dict(getattr(state, "solver", None) or {})
        phi_prev = solver.pop(PHI_PREV_KEY, None)
        if phi_prev is not None:
            state.phi_prev = np.asarray(phi_prev)
            found = state.problems(self.problem.grid.shape)
            if found:
                raise StateError(found[0])
        try:
            self.resolvent.set_state(solver)
        except ValueError as exc:
            raise StateError(str(exc)) from None

    # --- the loop ----------------------------------------------------------------------------
    def run(self, resume=None) -> Solution:
        for tr in self.trackers:
            tr.start(self.problem, self.t_final)
        if resume is not None:  # a saved state: check it against this run, restore the linear solver's state
            self.check_state(resume)
        st = self.initial_state() if resume is None else resume
        self._state = st
        counters, ctl, p = st.counters, self.controller, self.problem
        while st.mark_index < len(self.marks):
            target_t = self.marks[st.mark_index]
            h = min(st.h_next, target_t - st.t)
            if getattr(ctl, "dt_max", None) is not None:
                h = min(h, ctl.dt_max)
            lands = (target_t - st.t) - h <= 1e-12 * max(1.0, self.t_final)
            res = self.scheme.step(self.resolvent, st, h)
            counters["n_newton"] += res.newton_iterations
            counters["n_linear"] += res.linear_iterations
            if not res.converged:
                counters["n_rejected"] += 1
                st.h_next = h / 4
                if st.h_next < self.dt_min:
                    self.fail(st, f"Newton's method failed at step {counters['n_steps']} from t = {st.t:.6g} "
                              f"even with dt = {h:.3g} ({res.message}; residual {res.residual:.3g}, "
                              f"{res.newton_iterations} iterations). Try a finer grid, a smaller dt_min or a "
                              "larger max_newton.", h, res.residual)
                if not ctl.adaptive and not self.shortened:
                    warnings.warn(f"fixed dt = {ctl.dt:g}: Newton's method failed on the step from t = {st.t:.6g}, "
                                  f"which is retried with dt = {st.h_next:.3g}; the steps of this run are therefore "
                                  "not uniform (the solution's message says so; n_rejected counts the retries). "
                                  "A smaller dt avoids this.", RuntimeWarning, stacklevel=3)
                self.shortened = True
                continue
            accept, h_next = ctl.judge(st, h, res, p.cell_mass, p.coeffs)
            if not accept:
                counters["n_rejected"] += 1
                st.h_next = h_next
                if st.h_next < self.dt_min:
                    self.fail(st, f"adaptive step size fell below dt_min = {self.dt_min:g} at t = {st.t:.6g} "
                              f"(error estimate {ctl.last_error:.3g} > tolerance {ctl.tol:.3g}).", h, res.residual)
                continue
            # accept
            st.v_prev, st.h_prev, st.phi_prev = st.v, h, st.phi
            st.v, st.phi = res.v, res.w
            st.t = float(target_t) if lands else st.t + h
            if lands:
                st.mark_index += 1
                h_next = ctl.after_landing(h, h_next)
            counters["n_steps"] += 1
            st.h_next = h_next
            rec = self.record(st, h, res.newton_iterations, res.linear_iterations, res.residual)
            self.maybe_save(st)
            for tr in self.trackers:
                tr.update(st.t, st.v, rec)
                if getattr(tr, "wants_state", False):
                    tr.update_state(self.get_state())
        message = "reached t_final"
        if self.shortened and not self.controller.adaptive:
            message += (f"; steps not uniform: {st.counters['n_rejected']} step(s) of dt = {self.controller.dt:g} were "
                        "retried shorter after Newton failures")
        sol = self.build(st, 0, message)
        for tr in self.trackers:
            tr.finish(sol)
        return sol
