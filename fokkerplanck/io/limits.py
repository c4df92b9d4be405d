"""How much a loader may read: the memory budget for declared sizes, and data files checked before reading.

- :func:`read_budget`: the bytes a loader may hold, ``MEMORY_FRACTION`` of the memory available now
  (:func:`fokkerplanck.flow.budget.available_memory`), capped by ``integrity.DEFAULT_MAX_BYTES``;
- :func:`regular_file`: a data file (samples, run file, results file) must be a regular file of at most
  a given size, checked with one ``stat`` before it is opened (``/dev/zero``, a FIFO or a directory is
  refused at once instead of read for ever);
- :func:`file_sha256`: the SHA-256 of a regular file, read in blocks of 1 MiB (constant memory).
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

__all__ = ["read_budget", "regular_file", "file_sha256", "MAX_DATA_BYTES", "MAX_TEXT_BYTES"]

MAX_DATA_BYTES = 2 * 2**30   # largest samples file (.npy or .csv) read
MAX_TEXT_BYTES = 16 * 2**20  # largest run file or sweep spec read
_BLOCK = 2**20


def read_budget(cap: int) -> int:
    """Bytes a loader may read into memory: the memory budget's share of what is available now, at most ``cap``."""
    from ..flow.budget import MEMORY_FRACTION, available_memory

    avail, _ = available_memory()
    return int(cap if avail is None else max(2**16, min(cap, MEMORY_FRACTION * avail)))


def regular_file(path, what: str, max_bytes: int, error=ValueError) -> Path:
    """``path`` if it is a regular file of at most ``max_bytes`` bytes; ``FileNotFoundError`` if it
    does not exist, else ``error`` (one line naming the file)."""
    path = Path(path)
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(f"{what} {str(path)!r} not found.") from None
    except OSError as exc:
        raise error(f"{path}: cannot read the {what} ({exc.strerror or exc}).") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file (a device, FIFO or socket)"
        raise error(f"{path}: the {what} is {kind}; expected a regular file.")
    if st.st_size > max_bytes:
        raise error(f"{path}: the {what} has {st.st_size / 2**20:.4g} MiB, more than the {max_bytes / 2**20:.4g} "
                    "MiB read; refused.")
    return path


def file_sha256(path, max_bytes: int) -> str:
    """SHA-256 of at most ``max_bytes`` bytes of the file (checked with :func:`regular_file` first)."""
    h = hashlib.sha256()
    left = max_bytes + 1
    with open(path, "rb") as fh:
        while left > 0:
            block = fh.read(min(_BLOCK, left))
            if not block:
                break
            h.update(block)
            left -= len(block)
    if left <= 0:
        raise ValueError(f"{path}: the file grew beyond {max_bytes / 2**20:.4g} MiB while it was read; refused.")
    return h.hexdigest()
