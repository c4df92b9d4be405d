"""The one atomic writer: a file appears at its path complete, or not at all.

Every file the package writes for keeps (HDF5 results, checkpoints, the sweep's JSON case files
and CSV table) goes through :func:`atomic_path`: the contents are written to a temporary file in
the destination's directory, flushed to disk (``fsync``), given the permissions the umask gives
any new file, and renamed over the destination with :func:`os.replace` (atomic on POSIX and
Windows). On any error, or Ctrl-C, the temporary file is removed and the destination is left as
it was, so readers and a rerun after a crash see either the old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "write_text", "atomic_h5", "DiskFullError", "full_disk"]


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fsync(path, directory=False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path to write to; it replaces ``path`` when the ``with`` block ends without error.

    The parent directories of ``path`` are created. Yields the temporary :class:`~pathlib.Path`
    (an empty file in the same directory as ``path``); whatever the block writes there is synced
    to disk and moved into place. On error the temporary file is removed and ``path`` untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        _fsync(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    _fsync(path.parent, directory=True)  # make the rename itself durable (best effort)


def write_text(path, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (newlines are written as given); returns the path."""
    try:
        with atomic_path(path) as tmp:
            with open(tmp, "w", encoding=encoding, newline="") as fh:
                fh.write(text)
    except OSError as exc:
        full = full_disk(exc, path)
        if full is None:
            raise
        raise full from None
    return Path(path)


class DiskFullError(OSError):
    """No space left on the device (or the quota or file size limit reached) while writing a file;
    the destination keeps its previous content (e.g. the last checkpoint)."""


_FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
         errno.EFBIG: "file size limit exceeded"}


def full_disk(exc, path):
    """A :class:`DiskFullError` for ``exc`` if it says the disk is full, else ``None``."""
    if isinstance(exc, DiskFullError):
        return exc
    if getattr(exc, "errno", None) not in _FULL:
        return None
    err = DiskFullError(exc.errno, f"{_FULL[exc.errno]} while writing {path}")
    err.filename = str(path)
    return err


def _write_image(tmp, image) -> None:
    with open(tmp, "wb") as fh:
        fh.write(image)
        fh.flush()


@contextlib.contextmanager
def atomic_h5(path):
    """Open a new HDF5 file for writing that appears at ``path`` only once it is complete
    (see :func:`atomic_path`).

    The file is built in memory (HDF5's core driver, no backing store) and its image written with
    ordinary file I/O when the block ends: a write error (a full disk) is then a Python
    :class:`OSError` (:class:`DiskFullError` when the disk is full) with the destination untouched,
    never an error inside HDF5's own writes and close."""
    import h5py

    with atomic_path(path) as tmp:
        f = h5py.File(str(tmp), "w", driver="core", backing_store=False, block_size=2**20)
        try:
            yield f
            f.flush()
            image = f.id.get_file_image()
        finally:
            f.close()
        try:
            _write_image(tmp, image)
        except OSError as exc:
            full = full_disk(exc, path)
            if full is None:
                raise
            raise full from None
        del image
