"""The one atomic writer (:mod:`fokkerplanck.io.atomic`): complete file or none, usual permissions."""

import os

import pytest

from fokkerplanck.io.atomic import atomic_h5, atomic_path, write_text


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_text_replaces_whole_files(tmp_path):
    path = write_text(tmp_path / "sub" / "a.csv", "x,y\n1,2\n")
    assert path.read_text() == "x,y\n1,2\n" and path.stat().st_mode & 0o777 == 0o666 & ~_umask()
    write_text(path, "new\r\n")
    assert path.read_bytes() == b"new\r\n"  # newlines are written as given
    assert sorted(p.name for p in path.parent.iterdir()) == ["a.csv"]


def test_an_error_leaves_the_old_file_and_no_temporary(tmp_path):
    path = write_text(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError):
        with atomic_path(path) as tmp:
            assert tmp.parent == path.parent and tmp != path
            tmp.write_text("half")
            raise RuntimeError("crash while writing")
    with pytest.raises(KeyboardInterrupt):
        with atomic_h5(path) as f:
            f["x"] = [1, 2]
            raise KeyboardInterrupt
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_atomic_h5(tmp_path):
    import h5py

    with atomic_h5(tmp_path / "a.h5") as f:
        f["x"] = [1, 2, 3]
        assert not (tmp_path / "a.h5").exists()  # appears only when complete
    with h5py.File(tmp_path / "a.h5", "r") as f:
        assert list(f["x"][()]) == [1, 2, 3]
