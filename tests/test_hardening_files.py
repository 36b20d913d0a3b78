"""Hostile and broken files: atomic writes (links, stale temporaries, disk full, Ctrl-C), checkpoints that save
cannot have written (forged manifests with a recomputed seal, zip bombs, aliasing), the keyed seal, and IDX
files whose headers lie. Memory is measured with tracemalloc; nothing here asserts a duration."""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tc
from tinygrad_cnn import _files, nn, optim, serialization
from tinygrad_cnn.data import idx
from tinygrad_cnn.data.idx import IDXError, read_idx, write_idx
from tinygrad_cnn.serialization import CheckpointError, CheckpointNotFoundError, load, save

MB = 1 << 20


@contextlib.contextmanager
def peak_memory():
    """Yields a dict whose "peak" is the peak of traced allocations (bytes) inside the block."""
    result = {"peak": 0}
    tracemalloc.start()
    try:
        yield result
    finally:
        result["peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def temporaries(folder: Path) -> list[str]:
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(proc.stdout)


# ==== _files: atomic writes ==========================================================================================
def test_atomic_write_replaces_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "out.bin"
    assert _files.atomic_write_bytes(target, b"one") == target
    _files.atomic_write_text(target, "twö")
    assert target.read_bytes() == "twö".encode() and os.listdir(tmp_path) == ["out.bin"]


def test_the_streaming_writer_can_read_back_and_commits_only_at_the_end(tmp_path):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with _files.atomic_writer(target) as file:
        file.write(b"hello world")
        file.seek(0)
        assert file.read(5) == b"hello"
        assert target.read_bytes() == b"old"  # not yet replaced
        assert len(temporaries(tmp_path)) == 1
    assert target.read_bytes() == b"hello world" and temporaries(tmp_path) == []


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device"),
                                   RuntimeError("bug")])
def test_any_failure_keeps_the_old_file_and_no_temporary(tmp_path, error):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(type(error)), _files.atomic_writer(target) as file:
        file.write(b"half of the new")
        raise error
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_disk_full_at_fsync_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError) as info:
        _files.atomic_write_bytes(target, b"new" * 1000)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_a_symlink_at_the_target_is_followed_and_kept(tmp_path):
    real = tmp_path / "real" / "data.bin"
    real.parent.mkdir()
    real.write_bytes(b"old")
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    _files.atomic_write_bytes(link, b"new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_bytes() == b"new" and temporaries(real.parent) == [] and temporaries(tmp_path) == []
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "real" / "fresh.bin")
    _files.atomic_write_bytes(dangling, b"x")
    assert dangling.is_symlink() and (tmp_path / "real" / "fresh.bin").read_bytes() == b"x"


def test_a_link_loop_a_folder_and_a_missing_folder_are_clear_errors(tmp_path):
    loop = tmp_path / "loop"
    loop.symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(loop)
    with pytest.raises(OSError, match="symbolic link that cannot be followed"):
        _files.atomic_write_bytes(loop, b"x", who="save")
    with pytest.raises(IsADirectoryError, match=f"save: {tmp_path} is a folder"):
        _files.atomic_write_bytes(tmp_path, b"x", who="save")
    with pytest.raises(FileNotFoundError, match=r"the folder .*missing.* does not exist; create it first"):
        _files.atomic_write_bytes(tmp_path / "missing" / "x", b"x")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_overwriting_keeps_the_file_mode(tmp_path):
    target = tmp_path / "secret.bin"
    target.write_bytes(b"old")
    target.chmod(0o600)
    _files.atomic_write_bytes(target, b"new")
    assert target.stat().st_mode & 0o777 == 0o600


def test_atomic_path_installs_what_a_tool_wrote_or_nothing(tmp_path):
    target = tmp_path / "graph.svg"
    target.write_bytes(b"old")
    with _files.atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.startswith(".graph.svg.")
        temporary.write_bytes(b"<svg/>")
    assert target.read_bytes() == b"<svg/>"
    with pytest.raises(subprocess.CalledProcessError), _files.atomic_path(target) as temporary:
        temporary.write_bytes(b"<sv")
        raise subprocess.CalledProcessError(1, "dot")
    with pytest.raises(FileNotFoundError), _files.atomic_path(target) as temporary:
        temporary.unlink()  # the tool removed its output: nothing to install
    assert target.read_bytes() == b"<svg/>" and os.listdir(tmp_path) == ["graph.svg"]


# ---- stale temporaries ----------------------------------------------------------------------------------------------
def leftover(folder: Path, name: str, pid: int, host: str | None = None, age: float = 0.0) -> Path:
    path = folder / _files.temporary_name(name, pid=pid, host=host)
    path.write_bytes(b"half a file")
    if age:
        stamp = time.time() - age
        os.utime(path, (stamp, stamp))
    return path


def test_stale_temporaries_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "ckpt.npz"
    dead = dead_pid()
    gone = [leftover(tmp_path, "ckpt.npz", dead),  # a killed writer on this host
            leftover(tmp_path, "ckpt.npz", os.getppid(), age=2 * _files.STALE_AFTER),  # silent for two hours
            leftover(tmp_path, "ckpt.npz", dead, host="0" * 8, age=2 * _files.STALE_AFTER)]
    legacy_old = tmp_path / ".ckpt.npz.0123456789ab.tmp"  # the naming before pids were recorded
    legacy_old.write_bytes(b"x")
    os.utime(legacy_old, (time.time() - 2 * _files.STALE_AFTER,) * 2)
    kept = [leftover(tmp_path, "ckpt.npz", os.getppid()),  # a live writer (our parent)
            leftover(tmp_path, "ckpt.npz", os.getpid()),  # another thread of this process
            leftover(tmp_path, "ckpt.npz", dead, host="0" * 8),  # another host's: its pid means nothing here
            leftover(tmp_path, "other.npz", dead),  # another target's
            tmp_path / ".ckpt.npz.fedcba987654.tmp",  # legacy and recent
            tmp_path / ".ckpt.npz.notours.tmp", tmp_path / "ckpt.npz.1-2-3.tmp"]
    for path in kept[-3:]:
        path.write_bytes(b"x")
    folder_like = tmp_path / _files.temporary_name("ckpt.npz", pid=dead)
    folder_like.mkdir()  # not a regular file: never touched
    save({"a": 1}, target)
    assert load(target) == {"a": 1}
    assert not any(p.exists() for p in gone + [legacy_old])
    assert all(p.exists() for p in kept) and folder_like.is_dir()


def test_a_save_killed_by_sigkill_leaves_a_temporary_that_the_next_save_removes(tmp_path):
    """A real writer is killed mid-write (it holds its temporary open); the next save cleans up after it."""
    target = tmp_path / "ckpt.npz"
    script = ("import sys, time\nfrom tinygrad_cnn import _files\n"
              "with _files.atomic_writer(sys.argv[1]) as f:\n"
              "    f.write(b'x' * 100000); f.flush(); print('writing', flush=True); time.sleep(60)\n")
    proc = subprocess.Popen([sys.executable, "-c", script, str(target)], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        assert proc.stdout.readline().strip() == "writing"
        assert len(temporaries(tmp_path)) == 1
        save({"seen": True}, target)  # the writer is alive: its temporary stays
        assert len(temporaries(tmp_path)) == 1
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    assert len(temporaries(tmp_path)) == 1 and not target.with_name("x").exists()
    save({"seen": False}, target)
    assert temporaries(tmp_path) == [] and load(target) == {"seen": False}


def test_stale_rule_edge_cases(tmp_path, monkeypatch):
    assert not _files.is_stale(leftover(tmp_path, "f", 10 ** 30), "f")  # an impossible pid: only age tells
    _files.fsync_folder(tmp_path / "missing")  # best effort: no error
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(errno.EINVAL, "not supported")))
    _files.fsync_folder(tmp_path)
    monkeypatch.undo()
    path = leftover(tmp_path, "f", 0)  # pid 0 is never a writer
    assert _files.is_stale(path, "f")
    assert not _files.is_stale(path, "g")  # another target's name
    assert not _files.is_stale(tmp_path / _files.temporary_name("f", pid=1), "f")  # vanished
    assert _files.remove_stale_temporaries(tmp_path / "missing-folder" / "f") == []


# ==== checkpoints: save and the atomic write ==========================================================================
def test_save_onto_a_symlink_follows_it(tmp_path):
    real = tmp_path / "runs" / "best.npz"
    real.parent.mkdir()
    save({"epoch": 1}, real)
    link = tmp_path / "latest.npz"
    link.symlink_to(real)
    save({"epoch": 2}, link)
    assert link.is_symlink() and load(real) == {"epoch": 2} and load(link) == {"epoch": 2}


@pytest.mark.parametrize("error", [KeyboardInterrupt, lambda: OSError(errno.ENOSPC, "No space left on device")])
def test_save_interrupted_or_out_of_space_while_writing_keeps_the_old_checkpoint(tmp_path, monkeypatch, error):
    target = tmp_path / "ckpt.npz"
    save({"w": np.arange(3.0)}, target)
    before = target.read_bytes()
    real = np.lib.format.write_array
    calls = []

    def failing(fp, array, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second array: the first is already on disk in the temporary
            fp.write(b"\x93NUMPY partial")
            raise error()
        return real(fp, array, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", failing)
    with pytest.raises((KeyboardInterrupt, OSError)):
        save({"w": np.ones(1000), "b": np.zeros(1000)}, target)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.npz"]


def test_save_into_a_folder_path_is_refused_clearly(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"save: .* is a folder"):
        save({}, tmp_path)


# ==== checkpoints: forging files =====================================================================================
def members_of(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(manifest, arrays) of a checkpoint we wrote ourselves (read with NumPy: trusted)."""
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    manifest = json.loads(arrays.pop("__manifest__").tobytes())
    arrays.pop("__manifest_sha256__")
    return manifest, arrays


def forge(path: Path, manifest, arrays: dict[str, np.ndarray], key: bytes | None = None) -> Path:
    """Write a checkpoint exactly as save lays it out, from any manifest (a JSON value or raw bytes) and arrays,
    with the manifest digest and the seal recomputed: a forger's file, which reaches every check after the seal."""
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest, separators=(",", ":")).encode()
    members = dict(arrays)
    members["__manifest__"] = np.frombuffer(raw, np.uint8)
    members["__manifest_sha256__"] = np.frombuffer(hashlib.sha256(raw).hexdigest().encode(), np.uint8)
    with open(path, "w+b") as file:
        if key is None:
            serialization._write_archive(file, members)
        else:
            serialization._write_archive(file, members, serialization._KEY_TAG + b"0" * 64)
        serialization._seal(file, key)
    return path


def meta(array: np.ndarray) -> dict:
    return {"dtype": array.dtype.str, "shape": list(array.shape),
            "sha256": hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()}


def manifest_for(root, arrays: dict[str, np.ndarray]) -> dict:
    return {"format": "tinygrad_cnn.checkpoint", "version": 1, "root": root,
            "arrays": {k: meta(a) for k, a in arrays.items()}}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "good.npz"
    save({"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.float32)},
          "epoch": 3, "lr": 0.1, "name": "tiny", "p": nn.Parameter(np.zeros(2, np.float32))}, path)
    return path


def test_forge_reproduces_save_byte_for_byte(saved, tmp_path):
    manifest, arrays = members_of(saved)
    assert forge(tmp_path / "copy.npz", manifest, arrays).read_bytes() == saved.read_bytes()
    key = b"k" * 32
    save(load(saved), tmp_path / "keyed.npz", key=key)
    assert forge(tmp_path / "fk.npz", manifest, arrays, key=key).read_bytes() == (tmp_path / "keyed.npz").read_bytes()


def refused(path: Path, match: str | None = None, key: bytes | None = None) -> str:
    """load refuses ``path`` with a CheckpointError naming it, from a check of its own (not the safety net)."""
    with pytest.raises(CheckpointError, match=match) as info:
        load(path, key=key)
    assert str(path) in str(info.value) and "unexpected" not in str(info.value)
    return str(info.value)


def test_a_reshaped_array_with_a_recomputed_seal_is_refused(saved, tmp_path):
    manifest, arrays = members_of(saved)
    key = manifest["root"]["items"][0]["items"][0]["k"]  # model.w, (2, 3)
    original = arrays[key]
    arrays[key] = original.reshape(3, 2)  # same bytes, same sha256
    refused(forge(tmp_path / "f.npz", manifest, arrays), r"shape \(3, 2\), the manifest says <f4 and \(2, 3\)")
    refused(forge(tmp_path / "g.npz", manifest, {**arrays, key: original.T}), r"shape \(3, 2\), the manifest says")
    refused(forge(tmp_path / "h.npz", manifest, {**arrays, key: original.astype("<f8")}), r"dtype <f8 and shape")


def test_a_consistent_reshape_loads_but_load_state_dict_refuses_it(tmp_path):
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    model(tc.randn(4, 3)).sum().backward()
    opt.step()
    path = tmp_path / "m.npz"
    save({"model": model.state_dict(), "opt": opt.state_dict()}, path)
    manifest, arrays = members_of(path)
    shapes = {k: a.shape for k, a in arrays.items()}
    for k, a in arrays.items():
        if a.shape == (2, 3):  # the weight and its two Adam moments, transposed and consistently declared
            arrays[k] = np.ascontiguousarray(a.T)
            manifest["arrays"][k] = meta(arrays[k])
    assert sum(s == (2, 3) for s in shapes.values()) == 3
    state = load(forge(tmp_path / "t.npz", manifest, arrays))  # a valid file: the checks are the consumers'
    with pytest.raises(ValueError, match=r"weight: checkpoint shape \(3, 2\), model shape \(2, 3\)"):
        nn.Linear(3, 2).load_state_dict(state["model"])
    fresh = optim.Adam(nn.Linear(3, 2).parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"state 'exp_avg' of parameter 0 has shape \(3, 2\), the parameter has "
                                         r"shape \(2, 3\)"):
        fresh.load_state_dict(state["opt"])
    assert fresh.state == {} or all(not v for v in fresh.state.values())  # nothing half-loaded


HOSTILE_ARRAYS = {
    "datetime": np.array(["2024-01-01"], "datetime64[D]"), "timedelta": np.array([3], "timedelta64[s]"),
    "str": np.array(["abc"]), "bytes": np.array([b"abc"]), "void": np.zeros(2, "V4"),
    "structured": np.zeros(2, [("x", "<f4"), ("y", "<i4")]),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_ARRAYS))
def test_dtypes_save_never_writes_are_refused(kind, tmp_path):
    array = HOSTILE_ARRAYS[kind]
    path = forge(tmp_path / "x.npz", manifest_for({"t": "array", "k": "a0"}, {"a0": array}), {"a0": array})
    refused(path, "save writes only bool, int, uint, float and complex")


@pytest.mark.parametrize("node, array, match", [
    ({"t": "tensor", "k": "a0", "requires_grad": False}, np.ones(2, np.float16), "tensor of dtype <f2"),
    ({"t": "tensor", "k": "a0", "requires_grad": False}, np.ones(2, ">f4"), "tensor of dtype >f4"),
    ({"t": "tensor", "k": "a0", "requires_grad": False}, np.ones(2, np.complex64), "tensor of dtype <c8"),
    ({"t": "parameter", "k": "a0", "requires_grad": False}, np.ones(2, np.int32), "parameter of dtype <i4"),
    ({"t": "parameter", "k": "a0", "requires_grad": True}, np.ones(2, np.float16), "parameter of dtype <f2"),
    ({"t": "tensor", "k": "a0", "requires_grad": True}, np.ones(2, np.int64), "requires_grad=True"),
    ({"t": "tensor", "k": "a0", "requires_grad": 1}, np.ones(2), "requires_grad=1"),
    ({"t": "scalar", "k": "a0"}, np.array(1.0, ">f8"), "native byte order"),
    ({"t": "scalar", "k": "a0"}, np.ones(2), "shape"),
])
def test_tensors_and_scalars_save_cannot_produce_are_refused(node, array, match, tmp_path):
    refused(forge(tmp_path / "x.npz", manifest_for(node, {"a0": array}), {"a0": array}), match)


def test_exact_float16_and_big_endian_arrays_round_trip_unconverted(tmp_path):
    state = {"h": np.array([1.0009765625, -0.0], np.float16), "b": np.arange(3, dtype=">f8"),
             "t": tc.Tensor(np.arange(3, dtype=">i4")), "c": np.array([1 - 2j], ">c16"), "s": np.float16(0.1)}
    save(state, tmp_path / "x.npz")
    back = load(tmp_path / "x.npz")
    for k in ("h", "b", "c"):
        assert back[k].dtype.str == state[k].dtype.str and back[k].tobytes() == state[k].tobytes()
    assert back["t"].dtype.str == ">i4" and back["s"].dtype == np.float16 and back["s"] == state["s"]


def test_two_entries_pointing_at_one_array_are_refused(tmp_path):
    array = np.ones(3, np.float32)
    root = {"t": "dict", "keys": ["w", "v"], "items": [{"t": "parameter", "k": "a0", "requires_grad": True},
                                                      {"t": "parameter", "k": "a0", "requires_grad": True}]}
    message = refused(forge(tmp_path / "x.npz", manifest_for(root, {"a0": array}), {"a0": array}),
                      "already used at state\\['w'\\]")
    assert "alias" in message
    unused = {"t": "array", "k": "a0"}
    arrays = {"a0": array, "a1": array * 2}
    refused(forge(tmp_path / "y.npz", manifest_for(unused, arrays), arrays), r"arrays \['a1'\] are in the file")


def _good_manifest() -> tuple[dict, dict]:
    arrays = {"a0": np.ones((2, 2), np.float32)}
    root = {"t": "dict", "keys": ["w", "n"], "items": [{"t": "parameter", "k": "a0", "requires_grad": True},
                                                      {"t": "float", "v": (0.5).hex()}]}
    return manifest_for(root, arrays), arrays


def _set(manifest: dict, path: tuple, value) -> dict:
    out = json.loads(json.dumps(manifest))
    node = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


def _deep_nodes(depth: int) -> bytes:
    """A manifest whose state is ``depth`` nested lists (written by hand: json.dumps would recurse too)."""
    root = '{"t":"list","items":[' * depth + '{"t":"none"}' + "]}" * depth
    return ('{"format":"tinygrad_cnn.checkpoint","version":1,"arrays":{},"root":' + root + "}").encode()


N = ("root", "items", 1)  # the float node
P = ("root", "items", 0)  # the parameter node
MANIFEST_CASES = {
    "float overflow": (_set(_good_manifest()[0], N + ("v",), "0x1p99999"), "a float node holds"),
    "float not hex": (_set(_good_manifest()[0], N + ("v",), "1e999"), "not the form save writes"),
    "float as a number": (_set(_good_manifest()[0], N + ("v",), 0.5), "a float node holds"),
    "float unhashable": (_set(_good_manifest()[0], N + ("v",), [1]), "a float node holds"),
    "int holds a str": (_set(_good_manifest()[0], N, {"t": "int", "v": "3"}), "an int node holds '3'"),
    "bool holds an int": (_set(_good_manifest()[0], N, {"t": "bool", "v": 1}), "a bool node holds 1"),
    "unhashable array key": (_set(_good_manifest()[0], P + ("k",), [1]), "refers to an array"),
    "unhashable dict keys": (_set(_good_manifest()[0], ("root", "keys"), [["w"], "n"]), "malformed keys"),
    "bool dict key": (_set(_good_manifest()[0], ("root", "keys"), [True, "n"]), "malformed keys"),
    "duplicate dict keys": (_set(_good_manifest()[0], ("root", "keys"), ["w", "w"]), "malformed keys"),
    "unhashable node type": (_set(_good_manifest()[0], N + ("t",), ["float"]), "not a node"),
    "unknown node type": (_set(_good_manifest()[0], N + ("t",), "complex"), "unknown node type"),
    "extra node field": (_set(_good_manifest()[0], N + ("extra",), 1), "has the fields"),
    "items not a list": (_set(_good_manifest()[0], ("root", "items"), {"0": 1}), "without a list of items"),
    "node not a dict": (_set(_good_manifest()[0], N, [1, 2]), "not a node"),
    "huge shape": (_set(_good_manifest()[0], ("arrays", "a0", "shape"), [10 ** 30, 2]), "the manifest says"),
    "negative shape": (_set(_good_manifest()[0], ("arrays", "a0", "shape"), [-2, -2]), "malformed"),
    "float shape": (_set(_good_manifest()[0], ("arrays", "a0", "shape"), [2.0, 2]), "malformed"),
    "bool shape": (_set(_good_manifest()[0], ("arrays", "a0", "shape"), [True, 2]), "malformed"),
    "shape a string": (_set(_good_manifest()[0], ("arrays", "a0", "shape"), "2,2"), "malformed"),
    "datetime dtype": (_set(_good_manifest()[0], ("arrays", "a0", "dtype"), "<M8[s]"), "the manifest says"),
    "dtype a list": (_set(_good_manifest()[0], ("arrays", "a0", "dtype"), ["<f4"]), "malformed"),
    "sha256 not hex": (_set(_good_manifest()[0], ("arrays", "a0", "sha256"), "z" * 64), "malformed"),
    "sha256 wrong": (_set(_good_manifest()[0], ("arrays", "a0", "sha256"), "0" * 64), "fails its sha256"),
    "meta extra field": (_set(_good_manifest()[0], ("arrays", "a0", "x"), 1), "malformed"),
    "meta not a dict": (_set(_good_manifest()[0], ("arrays", "a0"), [1]), "malformed"),
    "array renamed": ({**_good_manifest()[0], "arrays": {"b0": _good_manifest()[0]["arrays"]["a0"]}}, "array name"),
    "array table a list": (_set(_good_manifest()[0], ("arrays",), [1]), "malformed"),
    "extra array listed": (_set(_good_manifest()[0], ("arrays", "a1"), _good_manifest()[0]["arrays"]["a0"]),
                           "the manifest lists 2"),
    "version 1.0": (_set(_good_manifest()[0], ("version",), 1.0), "version 1.0 is not supported"),
    "version true": (_set(_good_manifest()[0], ("version",), True), "version True is not supported"),
    "version 2": (_set(_good_manifest()[0], ("version",), 2), "version 2 is not supported"),
    "extra top field": (_set(_good_manifest()[0], ("extra",), None), "malformed"),
    "no root": ({k: v for k, v in _good_manifest()[0].items() if k != "root"}, "malformed"),
    "format": (_set(_good_manifest()[0], ("format",), "torch"), "unknown manifest format"),
    "not an object": ([1, 2, 3], "unknown manifest format"),
    "deep JSON": (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    "deep nodes": (_deep_nodes(3000), "nested too deeply"),
    "deep state": (_deep_nodes(201), "nested more than 200 containers deep"),
    "huge integer": (b'{"format":"tinygrad_cnn.checkpoint","version":1' + b"0" * 5000 + b"}", "not valid JSON"),
    "NaN literal": (b'{"format":"tinygrad_cnn.checkpoint","version":NaN}', "NaN is not JSON"),
    "duplicate field": (b'{"format":"tinygrad_cnn.checkpoint","format":"x"}', "a field given twice"),
    "not UTF-8": (b'{"format":"\xff"}', "not valid JSON"),
}


@pytest.mark.parametrize("case", sorted(MANIFEST_CASES))
def test_hand_made_manifests_are_checkpoint_errors(case, tmp_path):
    manifest, match = MANIFEST_CASES[case]
    arrays = {} if case.startswith("deep") else _good_manifest()[1]
    refused(forge(tmp_path / "x.npz", manifest, arrays), match)


def test_nesting_is_bounded_the_same_way_in_save_and_load(tmp_path):
    state: list = []
    for _ in range(200):
        state = [state]
    save(state, tmp_path / "deep.npz")
    back = load(tmp_path / "deep.npz")
    for _ in range(200):
        back = back[0]
    assert back == []
    with pytest.raises(ValueError, match=r"save: state\[0\].* is nested more than 200 containers deep"):
        save([state], tmp_path / "deeper.npz")
    assert load(forge(tmp_path / "f.npz", _deep_nodes(200), {})) is not None


def test_the_good_manifest_itself_loads(tmp_path):
    state = load(forge(tmp_path / "x.npz", *_good_manifest()))
    assert state["n"] == 0.5 and isinstance(state["w"], nn.Parameter) and state["w"].shape == (2, 2)


# ---- property: any manifest loads only if it is exactly what save would write ---------------------------------------
WORDS = ["t", "k", "v", "items", "keys", "requires_grad", "none", "bool", "int", "float", "str", "list", "tuple",
         "dict", "tensor", "parameter", "array", "scalar", "a0", "a1", "a2", "<f4", "<f8", "|b1", "0x1.0p+0", "nan",
         "dtype", "shape", "sha256", "root", "arrays", "format", "version", "tinygrad_cnn.checkpoint"]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.integers() | st.floats(allow_nan=False)
    | st.sampled_from(WORDS) | st.text(max_size=4),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(WORDS) | st.text(max_size=3),
                                                                      children, max_size=4),
    max_leaves=12)
base_states = st.sampled_from([
    {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": 3, "f": 0.25, "s": "x", "z": None},
    [nn.Parameter(np.ones(2)), tc.Tensor(np.zeros(3, np.int64)), np.float32(2.0), (True, -1)],
    {"m": {"a": np.ones((0, 2), np.float16), 7: [np.arange(3, dtype=">i2")]}},
])


def paths_of(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))


def canonical_manifest(state, folder: Path) -> dict:
    save(state, folder / "again.npz")
    return members_of(folder / "again.npz")[0]


@settings(max_examples=150, deadline=None)
@given(state=base_states, data=st.data())
def test_mutated_manifests_load_only_when_exactly_valid(state, data):
    with tempfile.TemporaryDirectory() as name:
        mutated_manifest_case(state, data, Path(name))


def mutated_manifest_case(state, data, folder: Path) -> None:
    save(state, folder / "base.npz")
    manifest, arrays = members_of(folder / "base.npz")
    paths = list(paths_of(manifest))
    where = data.draw(st.sampled_from(paths))
    mode = data.draw(st.sampled_from(["replace", "delete", "whole"]))
    if mode == "whole" or not where:
        manifest = data.draw(json_values)
    elif mode == "delete":
        parent = manifest
        for step in where[:-1]:
            parent = parent[step]
        del parent[where[-1]]
    else:
        manifest = _set(manifest, where, data.draw(json_values))
    path = forge(folder / "forged.npz", manifest, arrays)
    try:
        loaded = load(path)
    except CheckpointError as err:
        assert str(path) in str(err) and "unexpected" not in str(err)
        return
    assert canonical_manifest(loaded, folder) == manifest  # it loaded: so it is exactly what save writes


@settings(max_examples=60, deadline=None)
@given(root=json_values)
def test_random_json_roots_load_only_when_exactly_valid(root):
    with tempfile.TemporaryDirectory() as name:
        random_root_case(root, Path(name))


def random_root_case(root, folder: Path) -> None:
    arrays = {"a0": np.arange(3, dtype=np.float32)}
    manifest = manifest_for(root, arrays)
    path = forge(folder / "forged.npz", manifest, arrays)
    try:
        loaded = load(path)
    except CheckpointError as err:
        assert "unexpected" not in str(err)
        return
    assert canonical_manifest(loaded, folder) == manifest


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=3))
def test_resealed_byte_edits_are_refused_or_change_nothing(edits):
    """A forger edits any bytes and recomputes the seal: load refuses with a CheckpointError or, when the edit hit
    a field that carries no data (a timestamp, an attribute), returns exactly the saved state."""
    state = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "p": nn.Parameter(np.ones(2)), "n": [1, "x", None]}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        save(state, folder / "a.npz")
        raw = bytearray((folder / "a.npz").read_bytes())
        for where, value in edits:
            raw[int(where * (len(raw) - 64))] = value
        path = sealed(folder / "edited.npz", bytes(raw[:-64]) + b"0" * 64)
        try:
            back = load(path)
        except CheckpointError as err:
            assert "unexpected" not in str(err)
            return
        assert back["w"].tobytes() == state["w"].tobytes() and back["w"].shape == (2, 3)
        assert back["p"].data.tobytes() == state["p"].data.tobytes() and back["n"] == [1, "x", None]
        assert list(back) == ["w", "p", "n"]


# ==== checkpoints: zip structure and memory =========================================================================
def raw_zip(members: list[dict], comment: bytes = b"0" * 64) -> bytes:
    """A zip built by hand, so that any field can lie. Each member: name, data (as stored), and optionally
    method, flags, crc, size (uncompressed), csize (compressed), offset, cextra and ccomment (what the directory
    entry says)."""
    out, directory = bytearray(), bytearray()
    for m in members:
        name, data = m["name"].encode(), m["data"]
        method, flags = m.get("method", 0), m.get("flags", 0)
        crc, size = m.get("crc", zlib.crc32(data)), m.get("size", len(data))
        csize = m.get("csize", len(data))
        offset = m.get("offset", len(out))
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 33, crc, csize, size,
                           len(name), 0) + name + data
        extra, note = m.get("cextra", b""), m.get("ccomment", b"")
        directory += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 33, crc, csize,
                                 size, len(name), len(extra), len(note), 0, 0, 0, offset) + name + extra + note
    eocd = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(out),
                       len(comment))
    return bytes(out + directory + eocd + comment)


def sealed(path: Path, data: bytes) -> Path:
    """Write ``data`` (ending in a 64-byte placeholder comment) and compute its seal: a forger's file."""
    with open(path, "w+b") as file:
        file.write(data)
        serialization._seal(file)
    return path


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array)
    return buffer.getvalue()


def npy_header(dtype: str, shape: tuple) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def manifest_members(manifest: dict) -> list[dict]:
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest().encode()
    return [{"name": "__manifest__.npy", "data": npy(np.frombuffer(raw, np.uint8))},
            {"name": "__manifest_sha256__.npy", "data": npy(np.frombuffer(digest, np.uint8))}]


def big_manifest(count: int) -> dict:
    return {"format": "tinygrad_cnn.checkpoint", "version": 1, "root": {"t": "array", "k": "a0"},
            "arrays": {"a0": {"dtype": "<f8", "shape": [count], "sha256": "0" * 64}}}


def test_a_deflate_bomb_is_refused_before_decompressing(tmp_path):
    """1 MB on disk, 2^27 float64 (1 GiB) declared: refused from the zip directory, without reading the data."""
    count = 1 << 27
    chunk = bytes(16 * MB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    header = npy_header("<f8", (count,))
    first = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = first.compress(header) + first.flush(zlib.Z_FULL_FLUSH) + block * 64 + b"\x03\x00"
    crc = zlib.crc32(header)
    for _ in range(64):
        crc = zlib.crc32(chunk, crc)
    member = {"name": "a0.npy", "data": stream, "method": 8, "crc": crc, "size": len(header) + count * 8}
    bomb = sealed(tmp_path / "bomb.npz", raw_zip([member] + manifest_members(big_manifest(count))))
    assert bomb.stat().st_size < 2 * MB
    assert zlib.decompressobj(-15).decompress(stream[:4096])[:6] == b"\x93NUMPY"  # a real deflate stream
    with peak_memory() as memory:
        refused(bomb, "a0.npy is compressed")
    assert memory["peak"] < 50 * MB


def test_a_member_declaring_more_than_it_holds_costs_no_memory(tmp_path):
    count = 1 << 27
    member = {"name": "a0.npy", "data": npy_header("<f8", (count,)) + bytes(800)}
    path = sealed(tmp_path / "short.npz", raw_zip([member] + manifest_members(big_manifest(count))))
    with peak_memory() as memory:
        refused(path, r"declares shape \(134217728,\) of <f8 \(1073741824 bytes\), but its member holds 800 bytes")
    assert memory["peak"] < 50 * MB
    huge = {"name": "a0.npy", "data": npy_header("<f8", (1 << 40, 1 << 40)) + bytes(8)}
    manifest = big_manifest(0)
    manifest["arrays"]["a0"]["shape"] = [1 << 40, 1 << 40]
    with peak_memory() as memory:
        refused(sealed(tmp_path / "huge.npz", raw_zip([huge] + manifest_members(manifest))), "but its member holds")
    assert memory["peak"] < 50 * MB


def good_members() -> tuple[list[dict], dict]:
    array = np.arange(4, dtype=np.float32)
    manifest = manifest_for({"t": "array", "k": "a0"}, {"a0": array})
    return [{"name": "a0.npy", "data": npy(array)}] + manifest_members(manifest), manifest


def test_the_hand_made_zip_is_accepted_when_it_tells_the_truth(tmp_path):
    members, _ = good_members()
    np.testing.assert_array_equal(load(sealed(tmp_path / "ok.npz", raw_zip(members))), np.arange(4, dtype=np.float32))


@pytest.mark.parametrize("change, match", [
    (lambda ms: [{**ms[0], "flags": 0x1}] + ms[1:], "a0.npy is encrypted"),
    (lambda ms: [{**ms[0], "flags": 0x8}] + ms[1:], r"zip features save never writes \(flags 0x0008\)"),
    (lambda ms: [{**ms[0], "method": 12}] + ms[1:], r"compressed \(zip method 12\)"),
    (lambda ms: [{**ms[0], "size": len(ms[0]["data"]) + 1}] + ms[1:], "disagree on their size"),
    (lambda ms: [{**ms[0], "crc": 1}] + ms[1:], "fails its zip CRC check"),
    (lambda ms: [{**ms[0], "ccomment": b"hi"}] + ms[1:], "has a comment or extra fields"),
    (lambda ms: [{**ms[0], "cextra": struct.pack("<HHB", 0x5455, 1, 0)}] + ms[1:], "has a comment or extra"),
    (lambda ms: [{**ms[0], "cextra": b"\x01\x00"}] + ms[1:], "has a comment or extra"),
    (lambda ms: [ms[0], ms[0]] + ms[1:], "several members named"),
    (lambda ms: ms + [{"name": "a1.npy", "data": npy(np.ones(1))}], "not those save writes"),
    (lambda ms: ms + [{"name": "readme.txt", "data": b"hi"}], "not those save writes"),
    (lambda ms: [ms[1], ms[0], ms[2]], "not those save writes"),
    (lambda ms: ms[1:], "the file holds 0 arrays, the manifest lists 1"),
    (lambda ms: [ms[0], ms[2]], "without a manifest"),
    (lambda ms: [ms[0], {"name": "a1.npy", "data": b"", "offset": 0}] + ms[1:], "not where save puts it"),
    (lambda ms: [{**ms[0], "csize": len(ms[0]["data"]) - 1}] + ms[1:], "disagree on their size"),
    (lambda ms: [{**ms[0], "data": ms[0]["data"][:-4]}] + ms[1:], "holds 12 bytes of data"),
    (lambda ms: [{**ms[0], "data": b"\x93NUMPY\x03\x00" + ms[0]["data"][8:]}] + ms[1:], "not a valid .npy"),
    (lambda ms: [{**ms[0], "data": b"garbage" * 20}] + ms[1:], "not a valid .npy"),
    (lambda ms: [{**ms[0], "data": npy_header("<f4", (-4,))}] + ms[1:], r"declares the negative shape \(-4,\)"),
    (lambda ms: [ms[0], {**ms[1], "data": npy(np.zeros(3))}, ms[2]], r"__manifest__ is not a byte string"),
    (lambda ms: [ms[0], ms[1], {**ms[2], "data": npy(np.zeros(64, np.uint8))}], "manifest fails its sha256 check"),
])
def test_zip_features_save_never_writes_are_refused_before_reading_data(change, match, tmp_path):
    members, _ = good_members()
    refused(sealed(tmp_path / "x.npz", raw_zip(change(members))), match)


def test_a_member_running_past_the_end_of_the_file_is_refused(tmp_path):
    members, _ = good_members()
    size = len(raw_zip(members))
    length = size - 10 - (30 + len("a0.npy"))  # a0 claims to reach 10 bytes before the end of the file
    first = {**members[0], "size": length, "csize": length}
    second = {**members[1], "offset": 30 + len("a0.npy") + length}
    data = raw_zip([first, second, members[2]])
    assert len(data) == size
    refused(sealed(tmp_path / "x.npz", data), "truncated local header")


def test_large_archive_layouts_load(tmp_path, monkeypatch):
    """Past 65535 members or 2 GiB, zipfile writes a ZIP64 end record and ZIP64 directory fields; lowering its
    limits makes a small checkpoint take that form, which load reads."""
    state = {"w": np.arange(40.0), "b": [np.ones(3, np.int8), np.zeros(2, np.float32)], "n": 1}
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
    save(state, tmp_path / "big.npz")
    monkeypatch.undo()
    raw = (tmp_path / "big.npz").read_bytes()
    assert b"PK\x06\x06" in raw and b"PK\x06\x07" in raw
    back = load(tmp_path / "big.npz")
    assert back["w"].tolist() == state["w"].tolist() and back["b"][0].dtype == np.int8
    damaged = bytearray(raw)
    at = raw.rindex(b"PK\x06\x06")
    damaged[at + 40:at + 48] = struct.pack("<Q", struct.unpack("<Q", raw[at + 40:at + 48])[0] - 46)
    refused(sealed(tmp_path / "d.npz", bytes(damaged[:-64]) + b"0" * 64))


def test_a_zip_comment_longer_than_the_seal_is_refused(tmp_path):
    members, _ = good_members()
    refused(sealed(tmp_path / "c.npz", raw_zip(members, comment=b"hello " + b"0" * 64)), "more than the seal")


def test_a_sealed_file_without_a_zip_directory_is_refused(tmp_path):
    refused(sealed(tmp_path / "x.npz", b"PK\x03\x04" + bytes(100) + b"0" * 64), "the zip directory cannot be read")
    assert serialization._prefix_digest(io.BytesIO(b"abc"), 10) == hashlib.sha256(b"abc").hexdigest().encode()


def test_a_gap_or_a_local_header_that_lies_is_refused(tmp_path):
    members, _ = good_members()
    data = bytearray(raw_zip(members))
    assert load(sealed(tmp_path / "ok.npz", bytes(data))).shape == (4,)
    lying = bytearray(data)
    lying[8] = 8  # local header says deflate, the directory says stored
    refused(sealed(tmp_path / "lie.npz", bytes(lying)), "local header disagrees")
    directory = data.index(b"PK\x01\x02")
    gap = bytes(data[:directory]) + b"\x00" * 8 + bytes(data[directory:])
    offset = gap.index(b"PK\x05\x06") + 16
    gap = gap[:offset] + struct.pack("<I", directory + 8) + gap[offset + 4:]
    refused(sealed(tmp_path / "gap.npz", gap), "bytes between its last member and its directory")


def test_a_data_descriptor_zip_from_a_stream_is_refused(saved, tmp_path):
    class Unseekable(io.RawIOBase):
        def __init__(self):
            self.buffer = bytearray()

        def writable(self):
            return True

        def write(self, b):
            self.buffer += b
            return len(b)

    stream = Unseekable()
    manifest, arrays = members_of(saved)
    with zipfile.ZipFile(stream, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, array)
        for name, data in (("__manifest__", json.dumps(manifest, separators=(",", ":")).encode()),):
            raw = np.frombuffer(data, np.uint8)
            with archive.open(f"{name}.npy", "w") as member:
                np.lib.format.write_array(member, raw)
            with archive.open("__manifest_sha256__.npy", "w") as member:
                np.lib.format.write_array(member, np.frombuffer(hashlib.sha256(data).hexdigest().encode(), np.uint8))
        archive.comment = b"0" * 64
    refused(sealed(tmp_path / "dd.npz", bytes(stream.buffer)), "flags 0x0008")


# ==== checkpoints: the keyed seal ===================================================================================
def test_the_keyed_seal(tmp_path):
    key = b"0123456789abcdef0123456789abcdef"
    state = {"w": np.arange(3.0), "epoch": 2}
    save(state, tmp_path / "k.npz", key=key)
    back = load(tmp_path / "k.npz", key=bytearray(key))
    assert back["epoch"] == 2 and back["w"].tobytes() == state["w"].tobytes()
    refused(tmp_path / "k.npz", r"sealed with a key \(HMAC-SHA256\); pass the key")
    refused(tmp_path / "k.npz", "fails its keyed seal", key=b"wrong key")
    save(state, tmp_path / "plain.npz")
    refused(tmp_path / "plain.npz", "plain SHA-256 seal, which anyone can recompute", key=key)


def test_a_keyed_file_cannot_be_forged_without_the_key(tmp_path):
    key = b"s" * 32
    save({"w": np.zeros(2)}, tmp_path / "k.npz", key=key)
    manifest, arrays = members_of(tmp_path / "k.npz")
    arrays["a0"] = np.ones(2)
    manifest["arrays"]["a0"] = meta(arrays["a0"])
    forged = forge(tmp_path / "f.npz", manifest, arrays, key=b"attacker's own key")
    refused(forged, "fails its keyed seal", key=key)
    plain = forge(tmp_path / "p.npz", manifest, arrays)  # a plain seal anyone can compute: loads without a key
    assert load(plain)["w"].tolist() == [1.0, 1.0]
    refused(plain, "plain SHA-256 seal", key=key)
    raw = bytearray((tmp_path / "k.npz").read_bytes())
    raw[100] ^= 1
    (tmp_path / "flip.npz").write_bytes(bytes(raw))
    refused(tmp_path / "flip.npz", "fails its keyed seal", key=key)


@pytest.mark.parametrize("key, error, match", [
    ("secret", TypeError, r"not str; encode a passphrase"), (b"", ValueError, "key is empty"),
    (12, TypeError, "got int"),
])
def test_bad_keys_are_argument_errors(key, error, match, tmp_path):
    with pytest.raises(error, match=f"save: .*{match}"):
        save({}, tmp_path / "x.npz", key=key)
    with pytest.raises(error, match=f"load: .*{match}"):
        load(tmp_path / "x.npz", key=key)
    assert not (tmp_path / "x.npz").exists()


# ==== checkpoints: paths ===========================================================================================
def test_missing_folder_unreadable_and_special_paths(tmp_path, monkeypatch):
    with pytest.raises(CheckpointNotFoundError, match="no such checkpoint file") as info:
        load(tmp_path / "nope.npz")
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, CheckpointError)
    refused(tmp_path, "is a folder")
    if os.path.exists("/dev/null"):
        refused(Path("/dev/null"), "not a regular file")
    save({"a": 1}, tmp_path / "ok.npz")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(args[0]))

    monkeypatch.setattr(serialization, "open", denied, raising=False)
    refused(tmp_path / "ok.npz", r"cannot be read \(Permission denied\)")
    monkeypatch.undo()
    real_stat = os.stat

    def stat_denied(path, *args, **kwargs):
        if str(path).endswith("ok.npz"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_denied)
    refused(tmp_path / "ok.npz", r"cannot be read \(Permission denied\)")


def test_a_read_error_midway_is_a_checkpoint_error(tmp_path, monkeypatch):
    save({"a": np.ones(3)}, tmp_path / "ok.npz")

    def broken(self):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(serialization._Reader, "members", broken)
    refused(tmp_path / "ok.npz", r"cannot be read \(Input/output error\)")


def test_fortran_ordered_and_empty_arrays_round_trip(tmp_path):
    state = {"f": np.asfortranarray(np.arange(6.0).reshape(2, 3)), "e": np.zeros((0, 4), np.int8),
             "z": np.zeros((3, 0))}
    save(state, tmp_path / "x.npz")
    back = load(tmp_path / "x.npz")
    for k, v in state.items():
        assert back[k].shape == v.shape and back[k].dtype == v.dtype and back[k].tobytes() == v.tobytes()


def test_a_long_npy_header_version_2_is_read(tmp_path):
    """NumPy writes a version 2.0 header when one exceeds 65535 bytes; such a header is read when it tells the
    truth."""
    array = np.arange(3, dtype=np.int16)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, version=(2, 0))
    arrays = {"a0": array}
    manifest = manifest_for({"t": "array", "k": "a0"}, arrays)
    members = [{"name": "a0.npy", "data": buffer.getvalue()}] + manifest_members(manifest)
    assert load(sealed(tmp_path / "v2.npz", raw_zip(members))).tolist() == [0, 1, 2]


# ==== IDX: streamed and bounded ====================================================================================
def idx_header(code: int, shape: tuple) -> bytes:
    return bytes([0, 0, code, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)


def gzip_of_zeros_after(header: bytes, zeros: int) -> bytes:
    """gzip of ``header`` followed by ``zeros`` zero bytes, built without holding them in memory."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=1) as stream:
        stream.write(header)
        chunk = bytes(16 * MB)
        for _ in range(zeros // len(chunk)):
            stream.write(chunk)
        stream.write(bytes(zeros % len(chunk)))
    return out.getvalue()


def test_a_small_gzip_that_expands_to_a_gigabyte_past_its_header_costs_no_memory(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip_of_zeros_after(idx_header(0x08, (10,)), 1 << 30))
    assert path.stat().st_size < 6 * MB
    with peak_memory() as memory, pytest.raises(IDXError, match=r"more than 1048576 bytes too long") as info:
        read_idx(path, 2049)
    assert str(path) in str(info.value) and memory["peak"] < 50 * MB


@pytest.mark.parametrize("compress", [False, True])
def test_dimensions_beyond_the_bound_or_the_file_are_refused_before_reading(tmp_path, compress):
    header = idx_header(0x08, (60000, 28, 28))
    data = header + bytes(100)
    path = tmp_path / "images"
    path.write_bytes(gzip.compress(data) if compress else data)
    with peak_memory() as memory, pytest.raises(IDXError, match="truncated: dimensions") as info:
        read_idx(path, 2051, (None, 28, 28))
    assert memory["peak"] < 10 * MB and str(path) in str(info.value)
    huge = idx_header(0x0E, (65535, 65535, 65535))
    path.write_bytes(gzip.compress(huge) if compress else huge)
    with peak_memory() as memory, pytest.raises(IDXError, match="more than max_bytes=2147483648"):
        read_idx(path)
    assert memory["peak"] < 10 * MB
    write_idx(path, np.zeros((2, 28, 28), np.uint8), compress=compress)
    with pytest.raises(IDXError, match="more than max_bytes=100"):
        read_idx(path, max_bytes=100)
    assert read_idx(path, max_bytes=2 * 28 * 28).shape == (2, 28, 28)


def test_a_gzip_declaring_more_than_it_holds_reads_only_what_is_there(tmp_path):
    """Within the deflate ratio, so the file could hold it: the data is read in chunks and found short."""
    rng = np.random.default_rng(0)
    header = idx_header(0x08, (500, 1000, 1000))  # 500 MB declared
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(header + rng.bytes(600_000), compresslevel=1))
    with peak_memory() as memory, pytest.raises(IDXError, match=r"need 500000016 bytes, the file has 600016"):
        read_idx(path)
    assert memory["peak"] < 50 * MB


def test_idx_byte_order_and_read_bytes_bound(tmp_path):
    array = np.array([[1.5, -2.25], [3e38, -0.0]], np.float32)
    for compress in (False, True):
        back = read_idx(write_idx(tmp_path / "f", array, compress=compress))
        assert back.dtype == np.float32 and back.dtype.isnative and back.tobytes() == array.tobytes()
        assert back.flags.writeable
    assert len(idx.read_bytes(tmp_path / "f", max_bytes=10 ** 6)) == 4 + 2 * 4 + 16
    with pytest.raises(IDXError, match="more than max_bytes=8"):
        idx.read_bytes(tmp_path / "f", max_bytes=8)
    assert idx.parse_idx(idx_header(0x0B, (2,)) + b"\x01\x00\xff\xff").tolist() == [256, -1]
    with pytest.raises(IDXError, match="<bytes>: truncated: dimensions \\(2,\\) need 12 bytes, the file has 11"):
        idx.parse_idx(idx_header(0x0B, (2,)) + b"\x01\x00\xff")
    with pytest.raises(IDXError, match="labels: 1 bytes too long"):
        idx.parse_idx(idx_header(0x08, (2,)) + b"\x01\x00\xff", "labels")


def test_write_idx_is_atomic_and_follows_links(tmp_path, monkeypatch):
    real = tmp_path / "real.idx"
    write_idx(real, np.arange(3, dtype=np.uint8))
    link = tmp_path / "link.idx"
    link.symlink_to(real)
    write_idx(link, np.arange(5, dtype=np.uint8))
    assert link.is_symlink() and read_idx(real).tolist() == [0, 1, 2, 3, 4]

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        write_idx(real, np.zeros(100, np.uint8))
    monkeypatch.undo()
    assert read_idx(real).tolist() == [0, 1, 2, 3, 4] and sorted(os.listdir(tmp_path)) == ["link.idx", "real.idx"]
