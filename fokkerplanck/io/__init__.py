"""Files: HDF5 results and checkpoints (written atomically, never unpickled), run files and TOML.

Modules
-------
results
    :func:`save`, :func:`load`, :func:`load_run`: one self-describing HDF5 file per run (the
    solution, the run file, and the particles as an :class:`~fokkerplanck.particles.Ensemble`).
checkpoint
    :class:`Checkpoint` (a tracker) and :func:`load_state`: resumable long runs.
runfile
    :func:`read_run_file`, :func:`parse_run`, :class:`RunSpec`: the run-file schema.
toml
    :class:`~fokkerplanck.io.toml.Table` and :func:`~fokkerplanck.io.toml.load`: the one typed TOML
    reader (run files and sweep specs).
atomic
    :func:`~fokkerplanck.io.atomic.atomic_path`: the one atomic writer (temporary file, fsync, rename).
"""

from . import atomic, toml
from .atomic import atomic_h5
from .checkpoint import CHECKPOINT_FORMAT, Checkpoint, load_state, save_state
from .results import (FORMAT, FORMAT_VERSION, SavedRun, load, load_run, open_hdf5, read_samples, save,
                      solutions_equal)
from .runfile import RunFileError, RunSpec, parse_run, read_run_file

__all__ = ["save", "load", "load_run", "SavedRun", "solutions_equal", "read_samples", "atomic_h5", "open_hdf5",
           "Checkpoint", "save_state", "load_state", "CHECKPOINT_FORMAT", "FORMAT", "FORMAT_VERSION",
           "read_run_file", "parse_run", "RunSpec", "RunFileError", "atomic", "toml"]
