"""Checkpoint cases found missing by mutation testing (scripts/mutate.py on tinygrad_cnn/serialization.py): each
test pins a behaviour of save/load that a one-line change would break. Forged files come from
tests/test_hardening_files.py's `forge` (the layout save writes, digests and seal recomputed)."""

import json
import re
import zipfile

import numpy as np
import pytest
from test_hardening_files import forge, members_of, meta

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.serialization import CheckpointError, load, save


def nested_dicts(depth):
    state: dict = {}
    for _ in range(depth):
        state = {"x": state}
    return state


def test_dict_nesting_is_bounded_at_200_in_save_and_load(tmp_path):
    save(nested_dicts(200), tmp_path / "ok.npz")
    back = load(tmp_path / "ok.npz")
    for _ in range(200):
        back = back["x"]
    assert back == {}
    with pytest.raises(ValueError, match=r"^save: state\['x'\].* is nested more than 200 containers deep"):
        save(nested_dicts(201), tmp_path / "deep.npz")
    root: dict = {"t": "dict", "keys": [], "items": []}
    for _ in range(201):
        root = {"t": "dict", "keys": ["x"], "items": [root]}
    manifest = {"format": "tinygrad_cnn.checkpoint", "version": 1, "root": root, "arrays": {}}
    with pytest.raises(CheckpointError, match="nested more than 200 containers deep"):
        load(forge(tmp_path / "f.npz", manifest, {}))
    manifest["root"] = root["items"][0]  # 200 deep loads
    assert load(forge(tmp_path / "g.npz", manifest, {})) is not None


@pytest.mark.parametrize("value, where", [
    ({"a": [1, {"b": np.array(["x"])}]}, "state['a'][1]['b']"),
    ({"t": {"when": np.datetime64("2020")}}, "state['t']['when']"),
    ([{"k": [np.array(["y"])]}], "state[0]['k'][0]"),
])
def test_save_names_where_in_the_state_a_bad_leaf_is(value, where, tmp_path):
    with pytest.raises(TypeError, match="^" + re.escape(f"save: {where} is an array of dtype")):
        save(value, tmp_path / "x.npz")


def test_load_names_where_in_the_state_a_bad_entry_is(tmp_path):
    save({"m": {"w": np.ones(2, np.float32)}, "l": [np.ones(3), {"p": nn.Parameter(np.ones(2))}]}, tmp_path / "g.npz")
    manifest, arrays = members_of(tmp_path / "g.npz")
    items = manifest["root"]["items"]

    def refused(change, *words):
        forged = json.loads(json.dumps(manifest))
        change(forged["root"]["items"])
        with pytest.raises(CheckpointError) as info:
            load(forge(tmp_path / "f.npz", forged, arrays))
        assert all(w in str(info.value) for w in words), str(info.value)

    assert items[1]["items"][0]["k"] == "a1"
    refused(lambda it: it[1]["items"][0].update(k="a0"),  # a list item pointing at the dict's array
            "malformed manifest at state['l'][0]: array a0 is already used at state['m']['w']")
    refused(lambda it: it[0]["items"][0].update(k="a9"), "malformed manifest at state['m']['w']: refers to an array")
    refused(lambda it: it[1]["items"][1]["items"][0].update(k="a0"), "at state['l'][1]['p']: array a0 is already")


def test_requires_grad_round_trips_both_ways(tmp_path):
    frozen = nn.Parameter(np.ones(2, np.float32), requires_grad=False)
    tracked = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    save({"p": frozen, "t": tracked, "q": nn.Parameter(np.ones(1)), "u": tg.Tensor(np.ones(1))}, tmp_path / "g.npz")
    back = load(tmp_path / "g.npz")
    assert isinstance(back["p"], nn.Parameter) and back["p"].requires_grad is False
    assert type(back["t"]) is tg.Tensor and back["t"].requires_grad is True
    assert back["q"].requires_grad is True and back["u"].requires_grad is False


@pytest.mark.parametrize("kind, held", [("parameter", "float32 or float64"),
                                        ("tensor", "bool, integer, float32 or float64")])
def test_a_float16_tensor_is_refused_naming_what_the_kind_holds(kind, held, tmp_path):
    array = np.ones(2, np.float16)
    manifest = {"format": "tinygrad_cnn.checkpoint", "version": 1,
                "root": {"t": kind, "k": "a0", "requires_grad": False}, "arrays": {"a0": meta(array)}}
    with pytest.raises(CheckpointError) as info:
        load(forge(tmp_path / "f.npz", manifest, {"a0": array}))
    assert held in str(info.value) and (kind != "tensor" or "bool, integer" in str(info.value))
    if kind == "parameter":
        assert "bool, integer" not in str(info.value)


def test_every_member_carries_the_fixed_1980_timestamp(tmp_path):
    """So the same state saves to the same bytes on any day."""
    save({"w": np.ones(3), "n": 1}, tmp_path / "g.npz")
    with zipfile.ZipFile(tmp_path / "g.npz") as archive:
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_unused_arrays_are_listed_in_number_order(tmp_path):
    arrays = {f"a{i}": np.full(1, float(i)) for i in range(12)}
    manifest = {"format": "tinygrad_cnn.checkpoint", "version": 1, "root": {"t": "array", "k": "a0"},
                "arrays": {k: meta(a) for k, a in arrays.items()}}
    with pytest.raises(CheckpointError) as info:
        load(forge(tmp_path / "f.npz", manifest, arrays))
    message = str(info.value)
    assert "a2" in message and "a10" in message and message.index("'a2'") < message.index("'a10'"), message


def test_a_manifest_naming_an_array_past_the_table_is_refused(tmp_path):
    arrays = {"a0": np.ones(1), "a1": np.ones(1)}
    manifest = {"format": "tinygrad_cnn.checkpoint", "version": 1,
                "root": {"t": "list", "items": [{"t": "array", "k": "a0"}, {"t": "array", "k": "a1"}]},
                "arrays": {"a0": meta(arrays["a0"]), "a2": meta(arrays["a1"])}}
    with pytest.raises(CheckpointError):
        load(forge(tmp_path / "f.npz", manifest, arrays))


@pytest.mark.parametrize("extra, shown", [
    (["b0"], "['a0.npy', 'b0.npy', '__manifest__.npy', '__manifest_sha256__.npy']"),
    (["b0", "b1", "b2"], "['a0.npy', 'b0.npy', 'b1.npy', 'b2.npy', '__manifest__.npy', '__manifest_sha256__.npy']"),
    (["b0", "b1", "b2", "b3"], "['a0.npy', 'b0.npy', 'b1.npy', 'b2.npy', 'b3.npy', '...']"),
])
def test_unexpected_members_are_listed_up_to_six(extra, shown, tmp_path):
    arrays = {"a0": np.ones(1), **{name: np.ones(1) for name in extra}}
    manifest = {"format": "tinygrad_cnn.checkpoint", "version": 1, "root": {"t": "array", "k": "a0"},
                "arrays": {"a0": meta(arrays["a0"])}}
    with pytest.raises(CheckpointError) as info:
        load(forge(tmp_path / "f.npz", manifest, arrays))
    assert f"the archive's members {shown} are not those save writes" in str(info.value), str(info.value)


@pytest.mark.parametrize("size", [10, 52, 60, 64, 65, 70, 75, 76, 90])
def test_short_files_with_a_zip_header_fail_their_seal_in_the_same_words(size, tmp_path):
    path = tmp_path / "short.npz"
    path.write_bytes(b"PK\x03\x04" + b"x" * (size - 4))
    with pytest.raises(CheckpointError) as info:
        load(path)
    assert str(info.value) == (f"{path}: truncated or corrupt checkpoint (the zip directory cannot be read; it fails "
                               "its sha256 check)")
