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

from ..io.runfile import loads, parse_run
from .runner import run

__all__ = ["DEMO_RUN", "demo"]

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


def demo(out_dir="fokkerplanck-out", quiet=False, particles=True, out=None, err=None):
    """The demo run (:data:`DEMO_RUN`): a 1-D flow toward a two-mode target, particles beside it."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    data = loads(DEMO_RUN, "demo")
    if not particles:
        data.pop("particles")
    spec = parse_run(data, text=DEMO_RUN, source="demo", name="demo")
    if not quiet:
        print("fokkerplanck demo: u(t) flows toward rho_d = 0.4 N(-1, 0.55^2) + 0.6 N(1, 0.5^2) from "
              "rho_0 = N(0.1, 0.55^2)  (N(mean, sd^2); variances 0.3, 0.25 and 0.3)", file=out)
    return run(spec, out_dir=out_dir, quiet=quiet, out=out, err=err)

