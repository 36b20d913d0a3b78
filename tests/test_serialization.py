"""Checkpoints: exact round trips of nested states, atomic writes, and refusal of damaged or foreign files."""

import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tc
from tinygrad_cnn import nn, optim, serialization
from tinygrad_cnn.serialization import CheckpointError, load, save


def same(a, b):
    """Equal in type, structure and bits (floats by their hex form, so nan == nan and 0.0 != -0.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a.hex() == b.hex()
    if isinstance(a, tc.Tensor):
        return a.requires_grad == b.requires_grad and same(a.data, b.data)
    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()
    return a == b


def nested_state():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    opt = optim.Adam(model.parameters(), lr=0.01)
    model(tc.randn(2, 3)).sum().backward()
    opt.step()
    return {
        "model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3,
        "meta": {"name": "seed", "accuracy": 0.9871, "best": None, "flags": [True, False], "shape": (1, 28, 28),
                 "specials": [float("inf"), -0.0, float("nan"), 1e-310, 2**70], "unicode": "naïve ✓"},
        "arrays": [np.arange(5, dtype=np.int8), np.zeros((0, 3), np.float16), np.array(2.5), np.ones(3, bool),
                   np.arange(6, dtype=">i4").reshape(2, 3)[:, ::2], np.array([1 + 2j])],
        "scalars": (np.float32(1.5), np.int64(-7), np.bool_(True)),
        "tensors": {"t": tc.Tensor(np.ones(2)), "p": nn.Parameter(np.zeros((2, 2), np.float32))},
    }


def test_nested_round_trip_keeps_structure_types_and_bits(tmp_path):
    state = nested_state()
    save(state, tmp_path / "ckpt.npz")
    loaded = load(tmp_path / "ckpt.npz")
    assert same(state, loaded)
    assert isinstance(loaded["tensors"]["p"], nn.Parameter) and loaded["tensors"]["p"].requires_grad
    assert type(loaded["tensors"]["t"]) is tc.Tensor and not loaded["tensors"]["t"].requires_grad
    assert list(loaded["optimizer"]["state"]) == [0, 1, 2, 3]  # int keys stay ints


def test_save_writes_exactly_the_path_and_is_deterministic(tmp_path):
    state = {"w": np.arange(4.0), "n": 1}
    save(state, tmp_path / "a.ckpt")
    save(state, str(tmp_path / "b.ckpt"))
    assert sorted(os.listdir(tmp_path)) == ["a.ckpt", "b.ckpt"]
    assert (tmp_path / "a.ckpt").read_bytes() == (tmp_path / "b.ckpt").read_bytes()
    with np.load(tmp_path / "a.ckpt", allow_pickle=False) as archive:  # an ordinary .npz
        np.testing.assert_array_equal(archive["a0"], np.arange(4.0))


leaves = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
          | hnp.arrays(st.sampled_from([np.float32, np.float64, np.int32, np.uint8, np.bool_]),
                       hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=3)))
trees = st.recursive(leaves, lambda children: (st.lists(children, max_size=3)
                                               | st.lists(children, max_size=3).map(tuple)
                                               | st.dictionaries(st.text(max_size=4) | st.integers(), children,
                                                                 max_size=3)), max_leaves=12)


@settings(max_examples=25)
@given(trees)
def test_any_tree_round_trips(state):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.npz"
        save(state, path)
        assert same(state, load(path))
        assert os.listdir(folder) == ["state.npz"]


@pytest.mark.parametrize("state, match", [
    ({"f": lambda: 0}, "function"), ({1.5: 0}, "key"), ({(1, 2): 0}, "key"), ({True: 0}, "key"),
    ({"a": [np.array([object()])]}, "dtype object"), ({"s": {1, 2}}, "set"),
])
def test_unsupported_values_are_type_errors_naming_where(state, match, tmp_path):
    with pytest.raises(TypeError, match=match):
        save(state, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


def test_save_into_a_missing_folder_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({"a": 1}, tmp_path / "missing" / "x.npz")


# ---- atomic writes ---------------------------------------------------------------------------------------------------
def test_a_save_failing_midway_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "ckpt.npz"
    save({"version": 1}, target)
    before = target.read_bytes()

    def broken_writer(file, arrays):
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write_archive", broken_writer)
    with pytest.raises(OSError, match="disk full"):
        save({"version": 2}, target)
    assert target.read_bytes() == before and os.listdir(tmp_path) == ["ckpt.npz"]
    assert load(target) == {"version": 1}


def test_a_failing_rename_leaves_no_temporary(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise PermissionError("read-only")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(PermissionError):
        save({"a": np.ones(3)}, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


# ---- refusing bad files ----------------------------------------------------------------------------------------------
@pytest.fixture
def checkpoint(tmp_path):
    path = tmp_path / "good.npz"
    save({"model": {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(2, np.float32)}, "epoch": 3,
          "meta": {"name": "tiny", "lr": 0.1}}, path)
    return path


def refuse(path, match=None):
    with pytest.raises(CheckpointError, match=match) as info:
        load(path)
    assert str(path) in str(info.value)
    return str(info.value)


def test_checkpoint_error_is_a_value_error():
    assert issubclass(CheckpointError, ValueError)


def test_missing_file(tmp_path):
    refuse(tmp_path / "nope.npz", "no such checkpoint")
    refuse(tmp_path, "no such checkpoint")  # a folder


def test_truncated_files(checkpoint, tmp_path):
    raw = checkpoint.read_bytes()
    for length in [0, 3, 4, 30, len(raw) // 2, len(raw) - 70, len(raw) - 64, len(raw) - 1]:
        cut = tmp_path / f"cut{length}.npz"
        cut.write_bytes(raw[:length])
        refuse(cut)


def test_every_single_flipped_byte_is_caught(checkpoint, tmp_path):
    raw = checkpoint.read_bytes()
    damaged = tmp_path / "flipped.npz"
    for i in range(len(raw)):
        data = bytearray(raw)
        data[i] ^= 0x04
        damaged.write_bytes(bytes(data))
        refuse(damaged)


def test_random_bytes_and_other_formats(tmp_path):
    noise = tmp_path / "noise.npz"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    refuse(noise, "not an .npz archive")
    npy = tmp_path / "array.npy"
    np.save(npy, np.ones(3))
    refuse(npy, "not an .npz archive")
    plain_zip = tmp_path / "plain.npz"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.writestr("readme.txt", "hello")
    refuse(plain_zip, "not a tinygrad_cnn checkpoint")


def test_a_foreign_npz_is_not_one_of_ours(tmp_path):
    foreign = tmp_path / "foreign.npz"
    np.savez(foreign, weight=np.ones((2, 2)))
    refuse(foreign, "not a tinygrad_cnn checkpoint")


def _touch(path):
    Path(path).touch()


class Payload:
    """Unpickling this would create a marker file: proof that loading ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return _touch, (self.marker,)


def test_pickle_in_a_foreign_npz_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.npz"
    np.savez(evil, a=np.array([Payload(str(marker))], dtype=object))
    refuse(evil)
    assert not marker.exists()


def test_pickle_in_an_otherwise_valid_checkpoint_is_refused_without_running_it(checkpoint, tmp_path):
    # rebuild our checkpoint with the first array replaced by a pickled object array, and re-seal it
    marker = tmp_path / "pwned"
    with zipfile.ZipFile(checkpoint) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    payload = io.BytesIO()
    np.lib.format.write_array(payload, np.array([Payload(str(marker))], dtype=object), allow_pickle=True)
    members["a0.npy"] = payload.getvalue()
    evil = tmp_path / "evil.npz"
    with open(evil, "w+b") as file:
        with zipfile.ZipFile(file, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.comment = b"0" * 64
        serialization._seal(file)
    refuse(evil, "pickled")
    assert not marker.exists()


def test_a_resealed_but_inconsistent_manifest_is_refused(checkpoint, tmp_path):
    # someone edits an array and re-seals the file: the per-array sha256 in the manifest still catches it
    with zipfile.ZipFile(checkpoint) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    replacement = io.BytesIO()
    np.lib.format.write_array(replacement, np.zeros(2, np.float32))
    members["a1.npy"] = replacement.getvalue()
    edited = tmp_path / "edited.npz"
    with open(edited, "w+b") as file:
        with zipfile.ZipFile(file, "w") as archive:
            for name, data in members.items():
                archive.writestr(name, data)
            archive.comment = b"0" * 64
        serialization._seal(file)
    refuse(edited, "a1 fails its sha256 check")


def test_model_mismatch_is_caught_by_load_state_dict(tmp_path):
    save({"model": nn.Linear(4, 3).state_dict()}, tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"weight: checkpoint shape \(3, 4\), model shape \(2, 4\)"):
        nn.Linear(4, 2).load_state_dict(load(tmp_path / "m.npz")["model"])


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_saved_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    save({"a": 1}, tmp_path / "ckpt.npz")
    assert (tmp_path / "ckpt.npz").stat().st_mode & 0o777 == 0o666 & ~umask
