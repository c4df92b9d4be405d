"""Compression bombs (issue 22, item 3): a small file declaring gigabytes is refused before it is read.

The bomb is built here: a valid results file whose grid declares 10^6 cells and 1000 saved frames,
so that ``/solution/u`` declares 7.45 GiB, stored as about 8 MB of gzip-compressed zero chunks
written directly (or not written at all). ``fokkerplanck info`` must refuse it in one line, exit 2,
without decompressing it: the child process runs under an address-space limit of 3 GiB.
"""

import resource
import subprocess
import sys
import zlib

import h5py
import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck.io import integrity, load_run, save

CELLS, FRAMES = 10**6, 1000  # 7.45 GiB of float64 densities


def _bomb(path, write_chunks=True):
    grid = fp.Grid([-5.0], [5.0], [40])
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, 0.1, dt=0.05)
    save(path, sol)
    with h5py.File(path, "r+") as f:
        f["grid"].attrs["shape"] = np.array([CELLS], dtype=np.int64)
        for name in ("solution/t", "solution/u", "solution/target"):
            del f[name]
        f["solution"].create_dataset("t", data=np.linspace(0.0, 0.1, FRAMES))
        f["solution"].create_dataset("target", data=np.full(CELLS, 0.1))
        chunk = (8, CELLS // 8)  # 8 MB chunks
        u = f["solution"].create_dataset("u", shape=(FRAMES, CELLS), dtype="f8", chunks=chunk, compression="gzip")
        if write_chunks:
            zeros = zlib.compress(bytes(8 * CELLS), 9)
            for i in range(0, FRAMES, chunk[0]):
                for j in range(0, CELLS, chunk[1]):
                    u.id.write_direct_chunk((i, j), zeros)
    return path


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))


@pytest.mark.parametrize("write_chunks", [True, False], ids=["gzip-zeros", "unwritten-chunks"])
def test_a_compression_bomb_is_refused_in_one_line_within_bounded_memory(tmp_path, write_chunks):
    path = _bomb(tmp_path / "bomb.h5", write_chunks)
    assert path.stat().st_size < 20 * 2**20
    with pytest.raises(integrity.DamagedFileError, match="compression bomb|memory budget"):
        load_run(path)
    res = subprocess.run([sys.executable, "-m", "fokkerplanck", "info", str(path)], capture_output=True, text=True,
                         timeout=300, preexec_fn=_limit_memory)
    assert res.returncode == 2, res.stderr[-2000:]
    assert res.stderr.count("\n") == 1 and str(path) in res.stderr and "/solution/u" in res.stderr
    assert res.stdout == ""


def test_declared_sizes_are_bounded_by_the_memory_budget(tmp_path, monkeypatch):
    from fokkerplanck.flow import budget

    grid = fp.Grid([-5.0], [5.0], [4000])  # about 200 kB of arrays
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, 0.1, dt=0.05, t_eval="steps")
    save(tmp_path / "r.h5", sol)
    assert fp.io.solutions_equal(fp.io.load(tmp_path / "r.h5"), sol)
    monkeypatch.setattr(budget, "available_memory", lambda: (100_000.0 / budget.MEMORY_FRACTION, "test"))
    with pytest.raises(integrity.DamagedFileError, match="memory budget"):
        load_run(tmp_path / "r.h5")


def test_large_datasets_are_digested_block_by_block(tmp_path, monkeypatch):
    grid = fp.Grid([-5.0], [5.0], [3000])
    sol = fp.solve(fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]]), grid, 0.2, dt=0.05, t_eval="steps")
    save(tmp_path / "r.h5", sol)
    monkeypatch.setattr(integrity, "BLOCK_BYTES", 2 * 8 * 3000)  # two frames per block
    reads = []
    original = h5py.Dataset.read_direct

    def spy(self, dest, source_sel=None, dest_sel=None):
        reads.append((self.name, source_sel))
        return original(self, dest, source_sel, dest_sel)

    monkeypatch.setattr(h5py.Dataset, "read_direct", spy)
    assert fp.io.solutions_equal(fp.io.load(tmp_path / "r.h5"), sol)  # the same checksum, read in blocks
    assert len([r for r in reads if r[0] == "/solution/u"]) == (len(sol.t) + 1) // 2
