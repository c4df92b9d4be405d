"""The budget's memory estimate is the memory of the solver that runs: measured, not assumed.

Each case runs in a child process (a fresh interpreter, so nothing else the test session holds is
counted). The child asks the budget for its estimate of the peak (what the process holds before the
run plus what the run adds, with the linear solver that ``"auto"`` selects), runs two steps, and
reports its peak resident memory: ``VmHWM`` of /proc/self/status, the high-water mark of its own
address space. (``resource.getrusage``'s ``ru_maxrss``, the fallback elsewhere, also counts the
pages of the forking parent, which on Linux survive the exec: a child of a 1.2 GB process reports
1.17 GB there against 11 MB of its own; late in the test session it read 0.79 GiB for a 0.33 GiB
run.) The kernels must all come from numba's on-disk cache (the child counts numba's cache misses;
a run that had to compile is measured again): the first compilation on a machine (LLVM; up to
~0.39 GiB more on 3-D 64^3) is a one-time cost the budget does not model. The estimate must lie
within 0.5x-2x of the measured peak (the issue's band: the budget must neither refuse runs that fit
nor admit runs that do not).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = r"""
import json, resource, sys
import numpy as np
import fokkerplanck as fp
from fokkerplanck.flow import budget

d, n = int(sys.argv[1]), int(sys.argv[2])
grid = fp.Grid([-5.0] * d, [5.0] * d, [n] * d)
mean = [[-1.5, 0.0, 0.0][:d], [1.5, 0.5, 0.0][:d]]
target = fp.GaussianMixture([0.5, 0.5], mean, [0.5 * np.eye(d), 0.7 * np.eye(d)])
initial = fp.Gaussian([0.0] * d, np.eye(d))
est = budget.check_solve(grid, target, initial, 0.2, 0.1, np.array([0.0, 0.2]))
sol = fp.solve(target, initial, grid, t_final=0.2, dt=0.1, t_eval=[0.0, 0.2])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0
try:  # the high-water mark of this address space (ru_maxrss also counts the forking parent's pages)
    with open("/proc/self/status") as fh:
        peak = float(next(line for line in fh if line.startswith("VmHWM:")).split()[1]) * 1024.0
except (OSError, StopIteration):
    pass
compiled = 0  # kernels numba had to compile here (not found in its on-disk cache)
for name, mod in list(sys.modules.items()):
    if name.startswith("fokkerplanck"):
        for obj in list(vars(mod).values()):
            stats = getattr(obj, "stats", None)
            if stats is not None and hasattr(stats, "cache_misses"):
                compiled += sum(stats.cache_misses.values())
print(json.dumps(dict(estimate=est.peak, peak=peak, solver=sol.options["linear_solver"], parts=est.parts,
                      compiled=compiled)))
"""


@pytest.mark.slow
@pytest.mark.parametrize("d, n", [(2, 1024), (3, 64)], ids=["2d-1024^2", "3d-64^3"])
def test_estimate_is_within_a_factor_two_of_the_measured_peak(d, n):
    for attempt in range(3):  # a run that had to compile kernels is measured again, now from the cache
        out = subprocess.run([sys.executable, "-c", CHILD, str(d), str(n)], capture_output=True, text=True,
                             cwd=ROOT, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        r = json.loads(out.stdout.strip().splitlines()[-1])
        if r["compiled"] == 0:
            break
    assert r["compiled"] == 0, "numba compiled kernels in every attempt: the peak would include LLVM's memory"
    assert r["solver"] == "multigrid"  # what "auto" runs there, and what the budget sized
    ratio = r["estimate"] / r["peak"]
    assert 0.5 <= ratio <= 2.0, (f"estimate {r['estimate'] / 2**30:.3f} GiB vs peak {r['peak'] / 2**30:.3f} GiB "
                                 f"(ratio {ratio:.2f}); parts {r['parts']}")


def test_the_linear_solver_part_is_the_selected_solvers_model():
    """The budget reads the memory model of the solver that will run, not a fixed one."""
    import fokkerplanck as fp
    from fokkerplanck.flow import budget
    from fokkerplanck.flow.linear import LINEAR_SOLVERS

    grid = fp.Grid([-5.0, -5.0], [5.0, 5.0], [256, 256])
    g = fp.Gaussian([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]])
    for name, model in (("auto", "multigrid"), ("direct", "direct"), ("amg", "amg")):
        est = budget.check_solve(grid, g, g, 1.0, 0.1, [0.0, 1.0], linear_solver=name)
        assert est.parts["linear solver"] == LINEAR_SOLVERS.get(model).memory_bytes(grid.shape)
    # chi^2 iterates on v: "auto" takes SuperLU there, and the budget says so
    est = budget.check_solve(grid, g, g, 1.0, 0.1, [0.0, 1.0], divergence="chi2")
    assert est.parts["linear solver"] == LINEAR_SOLVERS.get("direct").memory_bytes(grid.shape)
