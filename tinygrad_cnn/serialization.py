"""Checkpoints: ``save(state, path)`` and ``load(path)`` for nested state dicts, as ``.npz`` files.

A state is a tree of dicts (str or int keys), lists and tuples whose leaves are NumPy arrays, Tensors (and
Parameters), NumPy scalars, ints, floats, bools, strings and None. The file holds one array per array leaf
(``a0``, ``a1``, ...) plus ``__manifest__``, a JSON document (stored as uint8) describing the tree, each
array's dtype, shape and sha256, and ``__manifest_sha256__``, the digest of the manifest itself. The zip
comment, the last 64 bytes of the file, is the sha256 of every byte before it, so a flip of any bit (zip
headers included) is caught.

Writing is atomic: a temporary file in the target's folder is written, flushed and fsynced, then renamed over
the target, so a crash leaves either the old file or the new one, never half of one. Reading uses
``allow_pickle=False`` (a checkpoint never runs code) and checks every digest, so a truncated, corrupt or
foreign file is refused with a :class:`CheckpointError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import zipfile
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .nn.module import Parameter
from .tensor_class import Tensor

FORMAT = "tinygrad_cnn.checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"
_MANIFEST_DIGEST = "__manifest_sha256__"
_ARRAY_KINDS = "biufc"
_SEAL = 64  # the file ends with the hex sha256 of all bytes before it, stored as the zip comment


class CheckpointError(ValueError):
    """A checkpoint file that is missing, truncated, corrupt, tampered with, or not written by ``save``."""


def _digest(array: np.ndarray) -> str:
    """sha256 of the array's bytes in C order."""
    return hashlib.sha256(array.data if array.flags.c_contiguous else array.tobytes()).hexdigest()


# ---- encoding ---------------------------------------------------------------------------------------
class _Encoder:
    """Turns a state tree into a JSON-able node tree plus the arrays it refers to."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.meta: dict[str, dict[str, Any]] = {}

    def array(self, array: np.ndarray, where: str) -> str:
        if array.dtype.kind not in _ARRAY_KINDS or array.dtype.fields is not None:
            raise TypeError(f"save: {where} is an array of dtype {array.dtype}; only bool, int, uint, float and "
                            "complex arrays can be saved")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = array
        self.meta[key] = {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": _digest(array)}
        return key

    def node(self, value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {"t": "none"}
        if isinstance(value, bool):
            return {"t": "bool", "v": value}
        if isinstance(value, int):
            return {"t": "int", "v": value}
        if isinstance(value, float):
            return {"t": "float", "v": value.hex()}
        if isinstance(value, str):
            return {"t": "str", "v": value}
        if isinstance(value, Tensor):
            kind = "parameter" if isinstance(value, Parameter) else "tensor"
            return {"t": kind, "k": self.array(value.data, where), "requires_grad": value.requires_grad}
        if isinstance(value, np.ndarray):
            return {"t": "array", "k": self.array(value, where)}
        if isinstance(value, np.generic):
            return {"t": "scalar", "k": self.array(np.asarray(value), where)}
        if isinstance(value, (list, tuple)):
            return {"t": type(value).__name__, "items": [self.node(v, f"{where}[{i}]") for i, v in enumerate(value)]}
        if isinstance(value, dict):
            keys = []
            for key in value:
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: {where} has a key {key!r} of type {type(key).__name__}; "
                                    "dict keys must be str or int")
                keys.append(key)
            return {"t": "dict", "keys": keys, "items": [self.node(value[k], f"{where}[{k!r}]") for k in keys]}
        raise TypeError(f"save: {where} is a {type(value).__name__}, which a checkpoint cannot hold; use arrays, "
                        "tensors, numbers, strings, None, and lists, tuples or dicts of them")


def _write_archive(file: BinaryIO, arrays: dict[str, np.ndarray]) -> None:
    """Write the arrays as an uncompressed .npz archive (a zip of .npy files, fixed timestamps) whose zip comment,
    the last bytes of the file, is a placeholder of ``_SEAL`` bytes for :func:`_seal`."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        archive.comment = b"0" * _SEAL


def _prefix_digest(file: BinaryIO, length: int) -> bytes:
    """Hex sha256 of the first ``length`` bytes of an open file."""
    digest = hashlib.sha256()
    file.seek(0)
    while length > 0:
        chunk = file.read(min(1 << 20, length))
        if not chunk:
            break
        digest.update(chunk)
        length -= len(chunk)
    return digest.hexdigest().encode("ascii")


def _seal(file: BinaryIO) -> None:
    """Overwrite the placeholder comment at the end of the file with the sha256 of every byte before it."""
    size = file.seek(0, os.SEEK_END)
    digest = _prefix_digest(file, size - _SEAL)
    file.seek(size - _SEAL)
    file.write(digest)


def save(state: Any, path: str | os.PathLike) -> None:
    """Write ``state`` (a nested dict of arrays, tensors and plain values) to ``path`` atomically.

    The file is written exactly at ``path`` (no ``.npz`` suffix is added). If anything fails, a previous file
    at ``path`` is left untouched and no temporary file remains.
    """
    path = Path(path)
    encoder = _Encoder()
    root = encoder.node(state, "state")
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root, "arrays": encoder.meta},
                          separators=(",", ":")).encode("utf-8")
    arrays = dict(encoder.arrays)
    arrays[_MANIFEST] = np.frombuffer(manifest, dtype=np.uint8)
    arrays[_MANIFEST_DIGEST] = np.frombuffer(hashlib.sha256(manifest).hexdigest().encode("ascii"), dtype=np.uint8)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(f"save: the folder {folder} of {path} does not exist; create it first")
    fd, temporary = _create_temporary(folder, path.name)
    try:
        with os.fdopen(fd, "w+b") as file:
            _write_archive(file, arrays)
            _seal(file)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)


def _create_temporary(folder: Path, name: str) -> tuple[int, Path]:
    """A new hidden file next to the target, created exclusively with the usual permissions (0o666 & ~umask)."""
    while True:
        temporary = folder / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), temporary
        except FileExistsError:
            continue


def _fsync_folder(folder: Path) -> None:
    """Make the rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---- decoding ---------------------------------------------------------------------------------------
def load(path: str | os.PathLike) -> Any:
    """Read a checkpoint written by :func:`save`: the same tree, with the same types and bit-identical arrays.

    Raises CheckpointError when the file is missing, is not an .npz archive, is truncated or corrupt, fails a
    digest check, or was not written by ``save``.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    with path.open("rb") as file:
        magic = file.read(4)
        size = file.seek(0, os.SEEK_END)
        sealed = False
        if size > _SEAL:
            file.seek(size - _SEAL)
            sealed = file.read(_SEAL) == _prefix_digest(file, size - _SEAL)
    if magic != b"PK\x03\x04":
        raise CheckpointError(f"{path}: not a tinygrad_cnn checkpoint (not an .npz archive: it starts with "
                              f"{magic!r}, not a zip header)")
    if not sealed:
        raise CheckpointError(f"{path}: {_why_unsealed(path)}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if _MANIFEST not in archive.files or _MANIFEST_DIGEST not in archive.files:
                raise CheckpointError(f"{path}: not a tinygrad_cnn checkpoint (an .npz file without a manifest); "
                                      "checkpoints are written by tinygrad_cnn.save")
            arrays = {name: archive[name] for name in archive.files}
    except CheckpointError:
        raise
    except Exception as err:  # a parser of untrusted bytes: any failure means the file is not a valid checkpoint
        if isinstance(err, ValueError) and "pickle" in str(err):
            raise CheckpointError(f"{path}: refused, an array in the file holds pickled objects, which could run "
                                  "code; tinygrad_cnn checkpoints never do") from None
        raise CheckpointError(f"{path}: corrupt checkpoint ({type(err).__name__}: {err})") from None
    manifest = _read_manifest(path, arrays.pop(_MANIFEST), arrays.pop(_MANIFEST_DIGEST))
    _check_arrays(path, manifest["arrays"], arrays)
    return _Decoder(path, arrays).node(manifest["root"], "state")


def _why_unsealed(path: Path) -> str:
    """Why a file without a valid seal is refused: foreign (no manifest), or ours but damaged."""
    try:
        with zipfile.ZipFile(path) as archive:
            ours = f"{_MANIFEST}.npy" in archive.namelist()
    except Exception:  # not even a readable zip directory
        return "truncated or corrupt checkpoint (the zip directory cannot be read; it fails its sha256 check)"
    if not ours:
        return ("not a tinygrad_cnn checkpoint (an .npz file without a manifest); checkpoints are written by "
                "tinygrad_cnn.save")
    return "the file fails its sha256 check: it is truncated, corrupt or was modified after saving"


def _read_manifest(path: Path, raw: np.ndarray, digest: np.ndarray) -> dict[str, Any]:
    if raw.dtype != np.uint8 or raw.ndim != 1 or digest.dtype != np.uint8 or digest.ndim != 1:
        raise CheckpointError(f"{path}: the manifest is malformed (not a byte string)")
    if hashlib.sha256(raw.tobytes()).hexdigest().encode("ascii") != digest.tobytes():
        raise CheckpointError(f"{path}: the manifest fails its sha256 check; the file is corrupt or was modified")
    try:
        manifest = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: the manifest is not valid JSON ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a tinygrad_cnn checkpoint (unknown manifest format)")
    if manifest.get("version") != VERSION:
        raise CheckpointError(f"{path}: checkpoint format version {manifest.get('version')!r} is not supported "
                              f"(this tinygrad_cnn reads version {VERSION})")
    if not isinstance(manifest.get("arrays"), dict) or "root" not in manifest:
        raise CheckpointError(f"{path}: the manifest is malformed (no arrays table or root)")
    return manifest


def _check_arrays(path: Path, table: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    if set(table) != set(arrays):
        extra, absent = sorted(set(arrays) - set(table)), sorted(set(table) - set(arrays))
        raise CheckpointError(f"{path}: the arrays do not match the manifest (unlisted: {extra}, missing: {absent})")
    for key, meta in table.items():
        array = arrays[key]
        if not isinstance(meta, dict):
            raise CheckpointError(f"{path}: the manifest entry of array {key} is malformed")
        if array.dtype.str != meta.get("dtype") or list(array.shape) != meta.get("shape"):
            raise CheckpointError(f"{path}: array {key} has dtype {array.dtype.str} and shape {array.shape}, the "
                                  f"manifest says {meta.get('dtype')} and {meta.get('shape')}")
        if _digest(array) != meta.get("sha256"):
            raise CheckpointError(f"{path}: array {key} fails its sha256 check; the file is corrupt or was modified")


class _Decoder:
    """Rebuilds the state tree from manifest nodes, refusing anything malformed."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        self.path, self.arrays = path, arrays

    def fail(self, where: str, what: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: malformed manifest at {where}: {what}")

    def array(self, node: dict[str, Any], where: str) -> np.ndarray:
        key = node.get("k")
        if key not in self.arrays:
            raise self.fail(where, f"refers to an array {key!r} that the file does not hold")
        return self.arrays[key]

    def node(self, node: Any, where: str) -> Any:
        if not isinstance(node, dict) or "t" not in node:
            raise self.fail(where, "not a node")
        kind, value = node["t"], node.get("v")
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            expected = {"bool": bool, "int": int, "str": str}[kind]
            if type(value) is not expected:
                raise self.fail(where, f"a {kind} node holds {value!r}")
            return value
        if kind == "float":
            try:
                return float.fromhex(value)
            except (TypeError, ValueError):
                raise self.fail(where, f"a float node holds {value!r}") from None
        if kind in ("tensor", "parameter"):
            requires_grad = node.get("requires_grad")
            array = self.array(node, where)
            if type(requires_grad) is not bool or (requires_grad and array.dtype.kind != "f"):
                raise self.fail(where, f"a {kind} node has requires_grad={requires_grad!r}")
            if kind == "parameter":
                return Parameter(array, requires_grad=requires_grad)
            return Tensor(array, requires_grad=requires_grad)
        if kind == "array":
            return self.array(node, where)
        if kind == "scalar":
            array = self.array(node, where)
            if array.ndim != 0:
                raise self.fail(where, f"a scalar node refers to an array of shape {array.shape}")
            return array[()]
        items = node.get("items")
        if not isinstance(items, list):
            raise self.fail(where, f"a node of type {kind!r} without items")
        if kind in ("list", "tuple"):
            values = [self.node(v, f"{where}[{i}]") for i, v in enumerate(items)]
            return values if kind == "list" else tuple(values)
        if kind == "dict":
            keys = node.get("keys")
            if (not isinstance(keys, list) or len(keys) != len(items)
                    or any(type(k) not in (str, int) for k in keys) or len(set(keys)) != len(keys)):
                raise self.fail(where, "a dict node with malformed keys")
            return {k: self.node(v, f"{where}[{k!r}]") for k, v in zip(keys, items)}
        raise self.fail(where, f"unknown node type {kind!r}")


__all__ = ["CheckpointError", "load", "save"]
