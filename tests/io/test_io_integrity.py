"""A corpus of damaged and hostile HDF5 files: every one is refused with a one-line error, never data.

Results files and checkpoints: truncated, bit-flipped, external storage (pointing at a file
outside), external and soft links, virtual datasets, a huge declared shape, wrong types, deep JSON,
edited checkpoints (save index, NaN, wrong length) with and without a re-computed checksum.
"""

import os

import h5py
import numpy as np
import pytest

import fokkerplanck as fp
from fokkerplanck import cli
from fokkerplanck.io import integrity, load_run, save, solutions_equal
from fokkerplanck.io.checkpoint import Checkpoint, load_state

TARGET, INITIAL = fp.Gaussian([0.0], [[1.0]]), fp.Gaussian([1.0], [[0.5]])


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    grid = fp.Grid([-5.0], [5.0], [60])
    ckpt = Checkpoint(d / "c.h5", every_steps=3)
    sol = fp.solve(TARGET, INITIAL, grid, 0.5, dt=0.05, t_eval=[0.0, 0.1, 0.3, 0.5], trackers=[ckpt])
    ens = fp.particles.simulate(TARGET, INITIAL, 0.2, 50, velocity="grid", solution=sol, dt=0.05, seed=1,
                                t_eval=[0.0, 0.1, 0.2])
    save(d / "r.h5", sol, run_file="[grid]\n", particles=ens, metadata={"name": "x"})
    return d, sol, grid


def _one_line(exc):
    text = str(exc)
    assert "\n" not in text and text, text
    return text


def _refused(path, loader, match=None):
    with pytest.raises(ValueError) as info:
        loader(path)
    text = _one_line(info.value)
    if match:
        assert match in text, text
    return text


def _copy(src, dst):
    dst.write_bytes(src.read_bytes())
    return dst


def _edit(src, dst, fn, restamp=False):
    _copy(src, dst)
    with h5py.File(dst, "r+") as f:
        fn(f)
        if restamp:
            integrity.stamp(f, strings=("run_file",) if "run_file" in f else ())
    return dst


def test_intact_files_load(files):
    d, sol, grid = files
    assert solutions_equal(load_run(d / "r.h5").solution, sol)
    assert load_state(d / "c.h5", shape=grid.shape).counters["n_steps"] == 9


@pytest.mark.parametrize("which", ["r.h5", "c.h5"])
def test_truncated_files_are_refused(files, tmp_path, which):
    d, _, grid = files
    data = (d / which).read_bytes()
    loader = load_run if which == "r.h5" else (lambda p: load_state(p, shape=grid.shape))
    for frac in (0.0, 0.1, 0.5, 0.9, 0.99):
        p = tmp_path / f"t{frac}.h5"
        p.write_bytes(data[:int(len(data) * frac)])
        _refused(p, loader)


@pytest.mark.parametrize("which", ["r.h5", "c.h5"])
def test_bit_flips_are_refused_or_harmless(files, tmp_path, which):
    """40 random single-bit flips each: refused with one line, or (a flip in unused bytes) the same data."""
    d, sol, grid = files
    data = bytearray((d / which).read_bytes())
    rng = np.random.default_rng(13 if which == "r.h5" else 14)
    refused = same = 0
    for k in range(40):
        flipped = bytearray(data)
        pos = int(rng.integers(len(data)))
        flipped[pos] ^= 1 << int(rng.integers(8))
        p = tmp_path / f"f{k}.h5"
        p.write_bytes(bytes(flipped))
        try:
            got = load_run(p).solution if which == "r.h5" else load_state(p, shape=grid.shape)
        except ValueError as exc:
            _one_line(exc)
            refused += 1
            continue
        if which == "r.h5":
            assert solutions_equal(got, sol), f"flip at byte {pos} changed the data silently"
        else:
            ref = load_state(d / which, shape=grid.shape)
            assert np.array_equal(got.v, ref.v) and got.history == ref.history and got.t == ref.t
            assert got.mark_index == ref.mark_index and got.counters == ref.counters
        same += 1
    assert refused + same == 40 and refused >= 3, (refused, same)  # most bytes of a small file are padding


def _stored_at(path, name):
    with h5py.File(path, "r") as f:
        ds = f[name]
        if ds.chunks:
            info = ds.id.get_chunk_info(0)
            return info.byte_offset, info.size
        return ds.id.get_offset(), ds.id.get_storage_size()


@pytest.mark.parametrize("which, names", [
    ("r.h5", ["solution/u", "solution/t", "solution/target", "solution/history/mass", "particles/positions",
              "run_file"]),
    ("c.h5", ["v", "phi", "saved_v", "saved_t", "history/t", "history/jsd"])])
def test_bit_flips_in_stored_data_are_always_refused(files, tmp_path, which, names):
    d, _, grid = files
    data = (d / which).read_bytes()
    loader = load_run if which == "r.h5" else (lambda p: load_state(p, shape=grid.shape))
    rng = np.random.default_rng(7)
    for name in names:
        offset, size = _stored_at(d / which, name)
        assert offset is not None and size > 0
        for _ in range(3):
            flipped = bytearray(data)
            flipped[offset + int(rng.integers(size))] ^= 1 << int(rng.integers(8))
            p = tmp_path / "f.h5"
            p.write_bytes(bytes(flipped))
            _refused(p, loader)


RESTAMP = ("deep JSON", "metadata not a dict", "grid attribute strings", "wrong shape")


def _hostile(tmp_path, name, build):
    p = tmp_path / "h.h5"
    with h5py.File(p, "w") as f:
        f.attrs["format"] = "fokkerplanck.solution"
        f.attrs["format_version"] = 2
        g = f.create_group("grid")
        g.attrs["lower"], g.attrs["upper"], g.attrs["shape"] = [-1.0], [1.0], np.array([4])
        s = f.create_group("solution")
        s.attrs["metadata"], s.attrs["options"] = "{}", "{}"
        s.create_group("history").attrs["order"] = "[]"
        s.create_dataset("t", data=[0.0])
        s.create_dataset("target", data=np.ones(4))
        build(f, s, tmp_path)
        if name in RESTAMP:  # carefully hand-made: a valid checksum, so the other checks must refuse it
            integrity.stamp(f)
    return p


def _external(f, s, tmp):
    s.create_dataset("u", shape=(1, 4), dtype="f8", external=[("/etc/passwd", 0, 32)])


def _external_link(f, s, tmp):
    with h5py.File(tmp / "other.h5", "w") as o:
        o.create_dataset("u", data=np.ones((1, 4)))
    s["u"] = h5py.ExternalLink(str(tmp / "other.h5"), "/u")


def _soft_link(f, s, tmp):
    f.create_dataset("elsewhere", data=np.ones((1, 4)))
    s["u"] = h5py.SoftLink("/elsewhere")


def _virtual(f, s, tmp):
    with h5py.File(tmp / "src.h5", "w") as o:
        o.create_dataset("u", data=np.ones((1, 4)))
    layout = h5py.VirtualLayout(shape=(1, 4), dtype="f8")
    layout[:] = h5py.VirtualSource(str(tmp / "src.h5"), "u", shape=(1, 4))
    s.create_virtual_dataset("u", layout)


def _huge(f, s, tmp):
    s.create_dataset("u", shape=(2**40, 4), dtype="f8", chunks=(1, 4))  # 32 TiB declared, nothing stored


def _huge_matching_grid(f, s, tmp):
    f["grid"].attrs["shape"] = np.array([2**31, 2**31])
    s.create_dataset("u", shape=(1, 2**31, 2**31), dtype="f8", chunks=(1, 1, 4))


def _strings(f, s, tmp):
    s.create_dataset("u", data=np.array([[b"a", b"b", b"c", b"d"]]))


def _compound(f, s, tmp):
    s.create_dataset("u", data=np.zeros((1, 4), dtype=[("a", "f8"), ("b", "i4")]))


def _wrong_shape(f, s, tmp):
    s.create_dataset("u", data=np.ones((1, 5)))


def _deep_json(f, s, tmp):
    s.create_dataset("u", data=np.ones((1, 4)))
    s.attrs["metadata"] = "[" * 100000 + "]" * 100000


def _grid_strings(f, s, tmp):
    s.create_dataset("u", data=np.ones((1, 4)))
    f["grid"].attrs["shape"] = "four"


def _metadata_list(f, s, tmp):
    s.create_dataset("u", data=np.ones((1, 4)))
    s.attrs["metadata"] = "[1, 2]"


def _no_checksum(f, s, tmp):
    s.create_dataset("u", data=np.ones((1, 4)))


HOSTILE = {"external storage": (_external, "external storage"), "external link": (_external_link, "ExternalLink"),
           "soft link": (_soft_link, "SoftLink"), "virtual dataset": (_virtual, "virtual dataset"),
           "huge declared shape": (_huge, "GiB"), "huge grid": (_huge_matching_grid, "declares shape"),
           "strings": (_strings, "non-numeric"), "compound": (_compound, "non-numeric"),
           "wrong shape": (_wrong_shape, "expected (1, 4)"), "deep JSON": (_deep_json, "not valid JSON"),
           "grid attribute strings": (_grid_strings, "grid"), "metadata not a dict": (_metadata_list, "JSON dict"),
           "no checksum (format 2)": (_no_checksum, "no checksum")}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_results_files_are_refused(tmp_path, name):
    build, match = HOSTILE[name]
    p = _hostile(tmp_path, name, build)
    _refused(p, load_run, match)


@pytest.mark.parametrize("name", ["external storage", "virtual dataset", "deep JSON"])
def test_cli_info_and_plot_refuse_hostile_files_in_one_line(tmp_path, capsys, name):
    p = _hostile(tmp_path, name, HOSTILE[name][0])
    for argv in (["info", str(p)], ["plot", str(p), "--out", str(tmp_path / "figs")]):
        assert cli.main(argv) == 2
        captured = capsys.readouterr()
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err, captured.err
        assert "root:" not in captured.out  # nothing of /etc/passwd printed


def _ckpt_cases():
    def mark(f):
        sc = f.attrs["scalars"]
        assert '"mark_index": 9' in sc
        f.attrs["scalars"] = sc.replace('"mark_index": 9', '"mark_index": 7')

    def nan(f):
        v = f["v"][()]
        v[3] = np.nan
        del f["v"]
        f.create_dataset("v", data=v)

    def short(f):
        v = f["v"][()][:-1]
        del f["v"]
        f.create_dataset("v", data=v)

    def negative_t(f):
        f.attrs["scalars"] = f.attrs["scalars"].replace('"t": 0.45', '"t": -0.45')

    def history(f):
        del f["history/mass"]
        f["history"].create_dataset("mass", data=np.ones(3))

    def solver_state(f):
        f["solver"].create_dataset("H_data", data=np.ones(3))

    return {"save index": (mark, "mark_index"), "NaN in v": (nan, "NaN"), "v one cell short": (short, "shape"),
            "negative time": (negative_t, "out of range"), "history length": (history, "history"),
            "foreign solver state": (solver_state, "linear-solver state")}


@pytest.mark.parametrize("name", sorted(_ckpt_cases()))
@pytest.mark.parametrize("restamp", [False, True], ids=["edited", "edited-and-re-checksummed"])
def test_edited_checkpoints_are_refused(files, tmp_path, name, restamp):
    d, _, grid = files
    fn, match = _ckpt_cases()[name]
    p = _edit(d / "c.h5", tmp_path / "c.h5", fn, restamp=restamp)

    def resume(path):
        state = load_state(path, shape=grid.shape)  # refused here, or by the time loop's check
        return fp.solve(TARGET, INITIAL, grid, 0.5, dt=0.05, t_eval=[0.0, 0.1, 0.3, 0.5], resume=state)

    text = _refused(p, resume, None if not restamp else match)
    assert ("checksum" in text or match in text) if not restamp else ("checksum" not in text)
    assert "start over" in text or "different run" in text


def test_results_files_are_written_with_checksums_and_fletcher32(files):
    d, _, _ = files
    with h5py.File(d / "r.h5") as f:
        assert len(f.attrs["checksum"]) == 64
        assert f["solution/u"].fletcher32 and f["solution/t"].fletcher32
    with h5py.File(d / "c.h5") as f:
        assert len(f.attrs["checksum"]) == 64 and f["v"].fletcher32


def test_fsync_before_rename(tmp_path, monkeypatch):
    from fokkerplanck.io import atomic

    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")
                                                                 if os.path.exists("/proc/self/fd") else fd)),
                                                 real_fsync(fd))[1])
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), real_replace(a, b))[1])
    sol = fp.solve(TARGET, INITIAL, fp.Grid([-5.0], [5.0], [20]), 0.1, dt=0.05)
    save(tmp_path / "r.h5", sol)
    kinds = [e[0] for e in events]
    assert kinds[:2] == ["fsync", "replace"] and events[0][1] == events[1][1]  # the temporary file, synced first
    assert kinds[2:] == ["fsync"]  # then the directory
    assert atomic  # the writer under test
