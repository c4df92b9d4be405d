"""A full disk (issue 22, item 4): one line "no space left on device while writing ...", exit 1, and
the last checkpoint kept (HDF5 files are built in memory and written with ordinary file I/O).

On a real 20 MB tmpfs (needs permission to mount one: skipped otherwise) and, everywhere, with the
image write failing as a full disk does.
"""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fokkerplanck import cli
from fokkerplanck.io import atomic, load_state

ROOT = Path(__file__).resolve().parents[2]
GOOD = (ROOT / "tests" / "io" / "data" / "good_run.toml").read_text()
BIG = GOOD.replace("shape = [80]", "shape = [20000]")  # checkpoints of 0.5-2 MB


def _check_kept_checkpoint(out):
    ckpt = out / "run.checkpoint.h5"
    assert ckpt.exists()
    state = load_state(ckpt, shape=(20000,))  # complete and valid
    assert state.counters["n_steps"] > 0
    assert not list(out.glob(".*.tmp"))  # no temporary file left


def test_a_full_disk_while_saving_is_one_line_exit_1_and_keeps_the_checkpoint(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run.toml"
    run.write_text(BIG)
    out = tmp_path / "out"
    calls = []
    real = atomic._write_image

    def full_after_two(tmp, image):
        calls.append(tmp)
        if len(calls) > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(tmp, image)

    monkeypatch.setattr(atomic, "_write_image", full_after_two)
    assert cli.main(["run", str(run), "--out", str(out), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("fokkerplanck: error: no space left on device while writing ")
    assert "run.checkpoint.h5" in err
    _check_kept_checkpoint(out)


@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(mnt)], capture_output=True)
    if res.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.slow
def test_a_nearly_full_tmpfs(small_tmpfs, tmp_path):
    run = tmp_path / "run.toml"
    run.write_text(BIG)
    st = os.statvfs(small_tmpfs)
    free = st.f_bavail * st.f_frsize
    (small_tmpfs / "filler").write_bytes(bytes(free - 3 * 2**20))  # 3 MB left: room for one checkpoint, not two
    out = small_tmpfs / "out"
    res = subprocess.run([sys.executable, "-m", "fokkerplanck", "run", str(run), "--out", str(out), "--quiet"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert res.returncode == 1, res.stderr[-3000:]
    assert res.stderr.count("\n") == 1, res.stderr[-3000:]
    assert res.stderr.startswith("fokkerplanck: error: no space left on device while writing ")
    _check_kept_checkpoint(out)
