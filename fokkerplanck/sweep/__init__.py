"""Parameter sweeps on Dask: every case an independent task, results kept one file per case.

A sweep is described by a spec (a TOML file, or the same structure as a dict)::

    name = "spatial_order"                      # names the output table
    study = "studies.py:spatial_order"           # "path/to/file.py:function" (relative to the
                                                 # spec file) or "package.module:function"
    [fixed]                                      # passed to every case
    t_final = 0.5

    [parameters]                                 # one Cartesian product ...
    dim = [1]
    n = [32, 64, 128]

    [[grid]]                                     # ... and/or several, whose cases are joined
    dim = [2]
    n = [16, 32]

Each case calls ``function(**fixed, **combination)``, which returns a dict (one row of the
table) or a list of dicts (several rows), with scalar values. Run it with::

    fokkerplanck sweep SPEC.toml [--scheduler ADDRESS] [--out DIR]

(``python -m fokkerplanck.sweep SPEC.toml ...`` is the same command)

or :func:`.run_sweep` from Python. The cases run as tasks on a ``dask.distributed`` cluster: a
:class:`~distributed.LocalCluster` by default, or an existing cluster given by its scheduler
address. As each case finishes, its rows are written to ``OUT/cases/<key>.json`` (atomically,
by :mod:`fokkerplanck.io.atomic`, so a file is either complete or absent) where ``key`` is a hash
of the study and the case's parameters. A rerun skips the cases whose file exists, so an
interrupted sweep loses only the cases in flight, and extending a grid computes only the new
cases. At the end all rows are collected into one tidy table ``OUT/<name>.csv``: one column per
parameter, then the study's result columns, one row per returned dict.

With ``--scheduler`` the results are written by this (client) process, so the workers need no
shared file system; a study given as a file is uploaded to the workers.

When the cluster fails rather than a case (:class:`.SweepAborted`; the command line prints one
line and exits 1, or 2 if no case could be started; the finished cases' files stay and a rerun
skips them):

- a scheduler that cannot be reached, or whose connection is lost during the sweep, raises
  :class:`.SchedulerLostError`;
- no worker for ``worker_timeout`` seconds (``--worker-timeout``, default 60), at the start or
  because every worker is gone during the sweep, raises :class:`.NoWorkersError`;
- a case whose worker dies is retried by Dask on another worker. Dask counts a worker's death
  against every case on it, running or only queued, and gives up (``KilledWorker``) after
  ``distributed.scheduler.allowed-failures`` (3) deaths, so the cases it gives up on are run once
  more, one at a time: a case that was only queued beside the culprit is computed, and only a
  case that kills every worker it runs on is failed, with the reason ``KilledWorker``. With the
  default LocalCluster of threads (``processes=False``) a study that ends its process
  (``os._exit``, a segfault) ends the sweep with it: use ``--processes`` or a scheduler.

The spec is read by the package's one TOML reader (:mod:`fokkerplanck.io.toml`): errors name the
file and the key. Reading TOML needs Python >= 3.11 (:mod:`tomllib`) or the ``tomli`` package; on
Python 3.10 without it, pass the spec as a dict to :func:`.run_sweep`.

Modules
-------
spec
    The spec: :func:`.load_spec` reads and checks it into a :class:`.SweepSpec`, :func:`.expand_cases`
    makes its cases, :func:`.case_key` their keys, and the study function is imported.
execute
    :func:`.run_sweep`: the cases as tasks on Dask, and what happens when the cluster fails
    (:class:`.SweepAborted`).
table
    The case files and the tidy table; :class:`.SweepResult`.
"""

from .execute import DEFAULT_WORKER_TIMEOUT, NoWorkersError, SchedulerLostError, SweepAborted, run_sweep
from .spec import SweepSpec, SweepSpecError, case_key, expand_cases, load_spec
from .table import SweepResult

__all__ = ["SweepSpec", "SweepResult", "SweepSpecError", "SweepAborted", "SchedulerLostError", "NoWorkersError",
           "load_spec", "expand_cases", "case_key", "run_sweep", "DEFAULT_WORKER_TIMEOUT"]
