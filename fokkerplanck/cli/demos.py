"""The demo (``fokkerplanck demo``): a 1-D Jensen-Shannon flow toward a two-mode target, with
grid-driven particles beside it (Trevisan's superposition principle, Section 5 of the paper).

The target and the time span are chosen so that the flow visibly reaches ``rho_d`` and then
runs into its asymptotic regime: the L1 distance falls below 1e-2 by t = 5 and to about 5e-7 at
t = 40, at the rate predicted by the spectral gap (0.226, drawn on the convergence panel where it
applies). The initial bump straddles the two modes in about the target's proportions, so little
mass has to cross the low-density valley between them. When a lot of mass starts in the wrong mode, the flow is *metastable* and the last
crossing is slow (rate set by the spectral gap of ``rho_d``); notebook 04 shows that case.

It is an ordinary run file, :data:`DEMO_RUN`, run by :func:`fokkerplanck.cli.runner.run`.
"""

from __future__ import annotations

import sys

import numpy as np

from ..flow.densities import Gaussian, GaussianMixture
from ..io.runfile import loads, parse_run
from .runner import run

__all__ = ["DEMO_RUN", "demo", "header", "describe"]

#: The demo's run file (TOML): a two-mode target the flow reaches, run into its asymptotic regime, with
#: grid-driven particles.
DEMO_RUN = """\
# The demo: a 1-D Jensen-Shannon flow toward a two-mode target, with grid-driven particles.
[grid]
lower = [-4.0]
upper = [4.0]
shape = [320]

[target]
kind = "mixture"
weights = [0.4, 0.6]
means = [-0.8, 0.8]
covs = [0.3, 0.25]

[initial]
kind = "gaussian"
mean = [0.1]
cov = 0.3

[flow]
divergence = "jsd"
t_final = 40.0
dt = 0.02
n_saves = 201

[particles]
n = 4000
velocity = "grid"
dt = 0.02
method = "rk4"
sampling = "sobol"
seed = 0
n_snapshots = 41

[output]
directory = "fokkerplanck-out"
"""


def _num(x) -> str:
    return f"{float(x):g}"


def _gaussian(mean, cov) -> str:
    mean, cov = np.atleast_1d(mean), np.atleast_2d(cov)
    if mean.size == 1:
        return f"N({_num(mean[0])}, {_num(cov[0, 0])})"
    return f"N([{', '.join(map(_num, mean))}], {np.array2string(cov, separator=', ', formatter={'float_kind': _num})})"


def describe(density) -> str:
    """A density of a run file in words: ``N(mean, variance)``, a mixture as ``w1 N(...) + w2 N(...)``."""
    if isinstance(density, GaussianMixture):
        return " + ".join(f"{_num(w)} {_gaussian(c.mean, c.cov)}" for w, c in zip(density.weights, density.components))
    if isinstance(density, Gaussian):
        return _gaussian(density.mean, density.cov)
    return repr(density)


def header(spec) -> str:
    """The demo's first line, built from its run file: the flow, rho_d and rho_0 it runs."""
    return (f"fokkerplanck demo: the {spec.divergence} flow u(t) toward rho_d = {describe(spec.target)} from "
            f"rho_0 = {describe(spec.initial)}  (N(mean, variance)), t = 0 .. {_num(spec.t_final)}")


def demo(out_dir="fokkerplanck-out", quiet=False, particles=True, out=None, err=None):
    """The demo run (:data:`DEMO_RUN`): a 1-D flow toward a two-mode target, particles beside it."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    data = loads(DEMO_RUN, "demo")
    if not particles:
        data.pop("particles")
    spec = parse_run(data, text=DEMO_RUN, source="demo", name="demo")
    if not quiet:
        print(header(spec), file=out)
    return run(spec, out_dir=out_dir, quiet=quiet, out=out, err=err)

