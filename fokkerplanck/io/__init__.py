"""Files: HDF5 results and checkpoints (written atomically, never unpickled) and data files.

Modules
-------
results
    :func:`save`, :func:`load`, :func:`load_run`: one self-describing HDF5 file per run.
checkpoint
    :class:`Checkpoint` (a tracker) and :func:`load_state`: resumable long runs.
"""

from .checkpoint import CHECKPOINT_FORMAT, Checkpoint, load_state, save_state
from .results import (FORMAT, FORMAT_VERSION, ParticleSnapshots, SavedRun, atomic_h5, load, load_run,
                      open_hdf5, read_samples, save, solutions_equal)

__all__ = ["save", "load", "load_run", "SavedRun", "ParticleSnapshots", "solutions_equal", "read_samples",
           "atomic_h5", "open_hdf5", "Checkpoint", "save_state", "load_state", "CHECKPOINT_FORMAT", "FORMAT",
           "FORMAT_VERSION"]
