"""The demo (``fokkerplanck demo``): a 1-D Jensen-Shannon flow toward a two-mode target, with
grid-driven particles beside it (Trevisan's superposition principle, Section 5 of the paper).

It is an ordinary run file, :data:`DEMO_RUN`, run by :func:`fokkerplanck.cli.runner.run`.
"""

from __future__ import annotations

import sys

from ..io.runfile import loads, parse_run
from .runner import run

__all__ = ["DEMO_RUN", "demo"]

DEMO_RUN = """\
# The demo: a 1-D Jensen-Shannon flow toward a two-mode target, with grid-driven particles.
[grid]
lower = [-6.0]
upper = [6.0]
shape = [480]

[target]
kind = "mixture"
weights = [0.4, 0.6]
means = [-2.0, 1.5]
covs = [0.36, 0.25]

[initial]
kind = "gaussian"
mean = [-0.5]
cov = 0.5

[flow]
divergence = "jsd"
t_final = 8.0
dt = 0.02
n_saves = 161

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
        print("fokkerplanck demo: u(t) flows toward rho_d = 0.4 N(-2, 0.6^2) + 0.6 N(1.5, 0.5^2) from "
              "rho_0 = N(-0.5, 0.71^2)  (N(mean, sd^2); variances 0.36, 0.25 and 0.5)", file=out)
    return run(spec, out_dir=out_dir, quiet=quiet, out=out, err=err)

