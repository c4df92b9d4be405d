"""Integrity of the package's HDF5 files (results and checkpoints): what a loader may read.

Every HDF5 file the package reads goes through :func:`inspect` before any dataset is read:

- only hard links (no soft or external links), groups and datasets stored inside the file:
  no external storage, no virtual datasets, layouts contiguous, chunked or compact only;
- numeric datasets (and the UTF-8 string datasets a caller names, such as ``run_file``);
- each dataset's declared size no larger than ``max_bytes`` (so a dataset claiming terabytes is
  refused before it is read; callers also check declared shapes against the file's own grid).

Files written by this package carry a SHA-256 ``checksum`` attribute over every dataset (name,
dtype, shape, bytes) and every attribute (:func:`content_digest`), and every non-empty array
dataset has HDF5's fletcher32 filter. :func:`verify` recomputes the digest from what is read back
and refuses a file whose content differs, so a flipped bit gives a one-line error, never data.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["inspect", "content_digest", "stamp", "verify", "DamagedFileError", "DEFAULT_MAX_BYTES"]

#: Largest declared dataset a loader reads (bytes), at most; the memory budget
#: (:func:`fokkerplanck.io.limits.read_budget`: 80 % of the memory available now) may allow less.
DEFAULT_MAX_BYTES = 8 * 2**30

#: Compression ratio beyond which a dataset of more than ``RATIO_MIN_BYTES`` is refused: density data
#: compresses a few times at most (shuffle and gzip of float64), a compression bomb (gigabytes of
#: zeros in a few megabytes, or chunks never written) about a thousand times.
MAX_COMPRESSION_RATIO = 100
RATIO_MIN_BYTES = 16 * 2**20

#: Datasets are read and digested in blocks of about this many bytes (constant extra memory).
BLOCK_BYTES = 16 * 2**20

CHECKSUM_ATTR = "checksum"


class DamagedFileError(ValueError):
    """A file that is damaged, hand-made or uses HDF5 features a loader refuses."""


def _layout_ok(ds) -> bool:
    import h5py

    try:
        layout = ds.id.get_create_plist().get_layout()
    except Exception:  # noqa: BLE001 - unreadable property list: refuse
        return False
    return layout in (h5py.h5d.CONTIGUOUS, h5py.h5d.CHUNKED, h5py.h5d.COMPACT)


def _storage_bytes(ds) -> int:
    try:
        return int(ds.id.get_storage_size())
    except Exception:  # noqa: BLE001 - unreadable: counted as nothing stored
        return 0


def inspect(f, where: str, *, strings=(), max_bytes: int | None = None, max_depth: int = 8) -> dict:
    """Check the structure of an open file without reading any dataset; returns ``{path: dataset}``.

    The declared sizes of all datasets together must fit ``max_bytes`` (default: the memory budget,
    :func:`fokkerplanck.io.limits.read_budget`), and a large dataset may not declare far more than it
    stores (``MAX_COMPRESSION_RATIO``). Raises :class:`DamagedFileError` (a ValueError) naming the
    first offending object.
    """
    import h5py

    from .limits import read_budget

    if max_bytes is None:
        max_bytes = read_budget(DEFAULT_MAX_BYTES)
    found = {}
    total = [0]

    def walk(group, depth):
        if depth > max_depth:
            raise DamagedFileError(f"{where}: groups nested deeper than {max_depth}; not a fokkerplanck file.")
        for name in sorted(group.keys()):
            link = group.get(name, getlink=True)
            full = f"{group.name.rstrip('/')}/{name}"
            if not isinstance(link, h5py.HardLink):
                raise DamagedFileError(f"{where}: {full} is a {type(link).__name__}; links are refused "
                                       "(only data stored inside the file is read).")
            obj = group[name]
            if isinstance(obj, h5py.Group):
                walk(obj, depth + 1)
                continue
            if not isinstance(obj, h5py.Dataset):
                raise DamagedFileError(f"{where}: {full} is not a group or a dataset.")
            if obj.is_virtual:
                raise DamagedFileError(f"{where}: {full} is a virtual dataset; refused (only data stored inside "
                                       "the file is read).")
            if obj.external:
                raise DamagedFileError(f"{where}: {full} has external storage ({obj.external[0][0]!r}); refused "
                                       "(only data stored inside the file is read).")
            if not _layout_ok(obj):
                raise DamagedFileError(f"{where}: {full} has an unsupported storage layout; refused.")
            is_string = full.lstrip("/") in strings
            if is_string:
                if obj.dtype.kind not in "OS" or h5py.check_string_dtype(obj.dtype) is None or obj.shape != ():
                    raise DamagedFileError(f"{where}: {full} should be a single UTF-8 string.")
            elif obj.dtype.kind not in "biuf":
                raise DamagedFileError(f"{where}: dataset {full} has non-numeric dtype {obj.dtype}; refusing to "
                                       "load it.")
            nbytes = int(np.prod(obj.shape, dtype=object)) * obj.dtype.itemsize if obj.shape else obj.dtype.itemsize
            total[0] += nbytes
            if nbytes > max_bytes or total[0] > max_bytes:
                raise DamagedFileError(f"{where}: {full} declares shape {obj.shape} ({nbytes / 2**30:.3g} GiB), "
                                       f"beyond the {max_bytes / 2**30:.3g} GiB a loader reads (the memory "
                                       "budget); refused.")
            if nbytes > RATIO_MIN_BYTES:
                stored = _storage_bytes(obj)
                if stored * MAX_COMPRESSION_RATIO < nbytes:
                    raise DamagedFileError(f"{where}: {full} declares {nbytes / 2**30:.3g} GiB stored in "
                                           f"{stored / 2**20:.3g} MiB (compressed more than "
                                           f"{MAX_COMPRESSION_RATIO}:1, which density data never is); refused as "
                                           "a compression bomb.")
            found[full] = obj

    walk(f, 0)
    return found


def _attr_bytes(value) -> bytes:
    if isinstance(value, bytes):
        return b"b" + value
    if isinstance(value, str):
        return b"s" + value.encode("utf-8")
    arr = np.asarray(value)
    if arr.dtype.kind not in "biuf":
        return b"r" + repr(value).encode("utf-8")
    return b"a" + arr.dtype.str.encode() + repr(arr.shape).encode() + np.ascontiguousarray(arr).tobytes()


def _dataset_bytes(ds, value) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    arr = np.asarray(value)
    return arr.dtype.str.encode() + repr(arr.shape).encode() + np.ascontiguousarray(arr).tobytes()


def _read(ds, where, strings, h):
    """Read a dataset and feed :func:`_dataset_bytes` of it to the hash ``h``: large arrays block by
    block along the first axis (into the array that is returned, without a second copy)."""
    name = ds.name.lstrip("/")
    try:
        if name in strings or ds.ndim == 0 or ds.size * ds.dtype.itemsize <= BLOCK_BYTES:
            value = ds.asstr()[()] if name in strings else ds[()]
            h.update(_dataset_bytes(ds, value))
            return value
        out = np.empty(ds.shape, dtype=ds.dtype)
        h.update(out.dtype.str.encode() + repr(out.shape).encode())
        row = max(1, out[0].nbytes)
        step = max(1, BLOCK_BYTES // row)
        for i in range(0, ds.shape[0], step):
            sel = np.s_[i:min(i + step, ds.shape[0])]
            ds.read_direct(out, sel, sel)
            h.update(out[sel])
        return out
    except Exception as exc:  # noqa: BLE001 - OSError (checksum filter, truncation), UnicodeDecodeError, ...
        raise DamagedFileError(f"{where}: cannot read {ds.name} ({_short(exc)}); the file is damaged.") from None


def _short(exc) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:160]}" if text else type(exc).__name__


def content_digest(f, where: str, strings=()) -> tuple[str, dict]:
    """SHA-256 over all attributes (but the checksum) and datasets; returns ``(hexdigest, values)``.

    ``values`` maps each dataset path to what was read (so callers do not read twice).
    """
    import h5py

    h = hashlib.sha256()
    values = {}

    def attrs_of(obj):
        for key in sorted(obj.attrs.keys()):
            if obj.name == "/" and key == CHECKSUM_ATTR:
                continue
            try:
                val = obj.attrs[key]
            except Exception as exc:  # noqa: BLE001
                raise DamagedFileError(f"{where}: cannot read attribute {key!r} of {obj.name} ({_short(exc)}); "
                                       "the file is damaged.") from None
            h.update(f"A{obj.name}/{key}\0".encode("utf-8", "surrogateescape"))
            h.update(_attr_bytes(val))

    def walk(group):
        attrs_of(group)
        for name in sorted(group.keys()):
            obj = group[name]
            if isinstance(obj, h5py.Group):
                h.update(f"G{obj.name}\0".encode())
                walk(obj)
            else:
                h.update(f"D{obj.name}\0".encode())
                values[obj.name] = _read(obj, where, strings, h)
                attrs_of(obj)

    walk(f)
    return h.hexdigest(), values


def stamp(f, strings=()) -> None:
    """Store the content digest of a file being written (call last, before closing)."""
    digest, _ = content_digest(f, str(f.filename), strings)
    f.attrs[CHECKSUM_ATTR] = digest


def verify(f, where: str, *, strings=(), required: bool = True) -> dict:
    """Recompute the digest, compare it with the stored one; returns ``{dataset path: value}``.

    A file without a checksum is refused when ``required`` (files written by older versions of the
    package pass ``required=False``)."""
    stored = f.attrs.get(CHECKSUM_ATTR)
    if isinstance(stored, bytes):
        stored = stored.decode("utf-8", "replace")
    if stored is None and required:
        raise DamagedFileError(f"{where}: no checksum attribute; the file is damaged or was not written by "
                               "fokkerplanck.")
    digest, values = content_digest(f, where, strings)
    if stored is not None and stored != digest:
        raise DamagedFileError(f"{where}: checksum mismatch (the file was damaged or edited after it was written); "
                               "refusing to load it.")
    return values
