"""Checkpoints: ``save(state, path)`` and ``load(path)`` for nested state dicts, as ``.npz`` files.

A state is a tree of dicts (str or int keys), lists and tuples whose leaves are NumPy arrays, Tensors (and
Parameters), NumPy scalars, ints, floats, bools, strings and None. The file is an uncompressed zip holding one
``.npy`` member per array leaf (``a0``, ``a1``, ... in the order of the tree) plus ``__manifest__``, a JSON
document (stored as uint8) describing the tree and each array's dtype, shape and SHA-256, and
``__manifest_sha256__``, the digest of the manifest itself. The zip comment, the last bytes of the file, is the
seal: the SHA-256 of every byte before it (hex), or with ``key=`` the HMAC-SHA256 of those bytes under the key.

What the seal promises. A plain SHA-256 seal detects **corruption** (a flipped bit, a truncated copy, a
half-written file): anyone can recompute it, so it does not detect **tampering**; a file from an untrusted
source may hold any values ``save`` could have written. ``save(..., key=k)`` / ``load(..., key=k)`` seal with
HMAC-SHA256 under a secret key instead: only a holder of the key can make a file that loads, so a file that loads
with the key was written by a key holder and not modified since. ``load`` with a key refuses unkeyed files, and
without a key refuses keyed ones.

Writing is atomic (:mod:`tinygrad_cnn._files`): a hidden temporary in the target's folder is written, fsynced
and renamed over the target (a symbolic link at the target is followed), so a crash leaves the old file or the
new one, never half of one, and temporaries left by a killed save are removed by the next save of that file.

Reading trusts nothing and never runs code (no pickle). Every check that does not need the data runs before the
data is read, and every read is bounded by the member's declared size, which the zip layout bounds by the file
size: memory stays a small multiple of the file size whatever the file declares. ``load`` refuses, with a
:class:`CheckpointError` naming the file and the problem, anything ``save`` cannot have written: compressed,
encrypted or overlapping members, members save never writes, dtypes other than bool/int/uint/float/complex
(strings, bytes, datetimes, structured and object arrays), a tensor whose dtype a Tensor cannot hold unchanged
(float16, big-endian floats), an array used twice (aliased parameters), malformed or unknown manifest entries,
and any mismatch between the manifest and the arrays. A missing file is a :class:`CheckpointNotFoundError`, both a
CheckpointError and a FileNotFoundError.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import math
import os
import re
import stat
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from ._files import atomic_writer
from .nn.module import Parameter
from .tensor_class import Tensor

FORMAT = "tinygrad_cnn.checkpoint"
VERSION = 1
_MANIFEST = "__manifest__"
_MANIFEST_DIGEST = "__manifest_sha256__"
_ARRAY_KINDS = "biufc"
_SEAL = 64  # the file ends with the hex sha256 (or HMAC-SHA256) of all bytes before it, the end of the zip comment
_KEY_TAG = b"hmac-sha256:"  # a keyed seal's comment: this tag, then the 64 hex digits of the HMAC
_TENSOR_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))  # the float dtypes a Tensor holds unchanged
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MAX_DEPTH = 200  # containers nested deeper are refused by save and load alike (never a RecursionError)
_MAX_NPY_HEADER = 10_000  # NumPy's own bound; save's headers are about 120 bytes
_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # a zip local file header
_NODE_FIELDS = {
    "none": {"t"}, "bool": {"t", "v"}, "int": {"t", "v"}, "float": {"t", "v"}, "str": {"t", "v"},
    "tensor": {"t", "k", "requires_grad"}, "parameter": {"t", "k", "requires_grad"}, "array": {"t", "k"},
    "scalar": {"t", "k"}, "list": {"t", "items"}, "tuple": {"t", "items"}, "dict": {"t", "keys", "items"},
}


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, truncated, corrupt, fails its seal, or not written by
    ``save``; the message names the file and the problem."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No file at the checkpoint's path: both a CheckpointError and a FileNotFoundError."""


def _digest(array: np.ndarray) -> str:
    """sha256 of the array's bytes in C order."""
    return hashlib.sha256(array.data if array.flags.c_contiguous else array.tobytes()).hexdigest()


def _check_key(op: str, key: Any) -> bytes | None:
    """The HMAC key as bytes (None for an unkeyed seal); TypeError/ValueError for a bad key argument."""
    if key is None:
        return None
    if isinstance(key, str):
        raise TypeError(f"{op}: key must be bytes, not str; encode a passphrase, e.g. key=passphrase.encode()")
    if not isinstance(key, (bytes, bytearray, memoryview)):
        raise TypeError(f"{op}: key must be bytes (a secret for the HMAC-SHA256 seal), got {type(key).__name__}")
    key = bytes(key)
    if not key:
        raise ValueError(f"{op}: key is empty; use a secret of at least 16 random bytes, e.g. secrets.token_bytes(32)")
    return key


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

    def node(self, value: Any, where: str, depth: int = 0) -> dict[str, Any]:
        if depth > _MAX_DEPTH:
            raise ValueError(f"save: {where} is nested more than {_MAX_DEPTH} containers deep; a checkpoint holds "
                             "shallower states (flatten it, e.g. into a dict of lists)")
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
            return {"t": type(value).__name__,
                    "items": [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]}
        if isinstance(value, dict):
            keys = []
            for key in value:
                if isinstance(key, bool) or not isinstance(key, (str, int)):
                    raise TypeError(f"save: {where} has a key {key!r} of type {type(key).__name__}; "
                                    "dict keys must be str or int")
                keys.append(key)
            return {"t": "dict", "keys": keys,
                    "items": [self.node(value[k], f"{where}[{k!r}]", depth + 1) for k in keys]}
        raise TypeError(f"save: {where} is a {type(value).__name__}, which a checkpoint cannot hold; use arrays, "
                        "tensors, numbers, strings, None, and lists, tuples or dicts of them")


def _write_archive(file: BinaryIO, arrays: dict[str, np.ndarray], comment: bytes = b"0" * _SEAL) -> None:
    """Write the arrays as an uncompressed .npz archive (a zip of .npy files, fixed timestamps) whose zip comment,
    the last bytes of the file, is ``comment``: a placeholder whose last ``_SEAL`` bytes :func:`_seal` fills."""
    with zipfile.ZipFile(file, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with archive.open(info, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)
        archive.comment = comment


def _prefix_digest(file: BinaryIO, length: int, key: bytes | None = None) -> bytes:
    """Hex sha256 of the first ``length`` bytes of an open file (HMAC-SHA256 under ``key`` when given)."""
    digest = hashlib.sha256() if key is None else hmac.new(key, digestmod=hashlib.sha256)
    file.seek(0)
    while length > 0:
        chunk = file.read(min(1 << 20, length))
        if not chunk:
            break
        digest.update(chunk)
        length -= len(chunk)
    return digest.hexdigest().encode("ascii")


def _seal(file: BinaryIO, key: bytes | None = None) -> None:
    """Overwrite the last ``_SEAL`` bytes of the file (the end of the placeholder comment) with the sha256, or the
    HMAC-SHA256 under ``key``, of every byte before them."""
    size = file.seek(0, os.SEEK_END)
    digest = _prefix_digest(file, size - _SEAL, key)
    file.seek(size - _SEAL)
    file.write(digest)


def save(state: Any, path: str | os.PathLike, *, key: bytes | None = None) -> None:
    """Write ``state`` (a nested dict of arrays, tensors and plain values) to ``path`` atomically.

    The file is written exactly at ``path`` (no ``.npz`` suffix is added; a symbolic link there is followed). If
    anything fails, a previous file at ``path`` is left untouched and no temporary file remains. ``key`` (secret
    bytes) seals the file with HMAC-SHA256 instead of a plain SHA-256, so that ``load(path, key=key)`` detects
    tampering, not only corruption. Raises TypeError for a value a checkpoint cannot hold.
    """
    key = _check_key("save", key)
    path = Path(path)
    encoder = _Encoder()
    root = encoder.node(state, "state")
    manifest = json.dumps({"format": FORMAT, "version": VERSION, "root": root, "arrays": encoder.meta},
                          separators=(",", ":")).encode("utf-8")
    arrays = dict(encoder.arrays)
    arrays[_MANIFEST] = np.frombuffer(manifest, dtype=np.uint8)
    arrays[_MANIFEST_DIGEST] = np.frombuffer(hashlib.sha256(manifest).hexdigest().encode("ascii"), dtype=np.uint8)
    with atomic_writer(path, "save") as file:
        if key is None:
            _write_archive(file, arrays)
        else:
            _write_archive(file, arrays, _KEY_TAG + b"0" * _SEAL)
        _seal(file, key)


# ---- decoding ---------------------------------------------------------------------------------------
def load(path: str | os.PathLike, *, key: bytes | None = None) -> Any:
    """Read a checkpoint written by :func:`save`: the same tree, with the same types and bit-identical arrays.

    ``key`` must be the key the file was saved with (None for an unkeyed file). Raises CheckpointNotFoundError
    (a CheckpointError and a FileNotFoundError) when there is no file, and CheckpointError when the path is a
    folder or unreadable, the file is not a checkpoint, is truncated or corrupt, fails its seal or a digest, or
    holds anything ``save`` never writes. Memory stays bounded by a small multiple of the file's size.
    """
    key = _check_key("load", key)
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CheckpointNotFoundError(f"{path}: no such checkpoint file") from None
    except OSError as err:
        raise CheckpointError(f"{path}: the checkpoint cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path}: no such checkpoint file ({path} is a folder; give the path of a checkpoint "
                              "file)")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: not a checkpoint file (not a regular file)")
    try:
        with open(path, "rb") as file:
            manifest, arrays = _Reader(path, file, key).read()
        decoder = _Decoder(path, arrays)
        state = decoder.node(manifest["root"], "state")
    except (CheckpointError, MemoryError):
        raise
    except OSError as err:
        raise CheckpointError(f"{path}: the checkpoint cannot be read ({err.strerror or err})") from None
    except Exception as err:  # pragma: no cover - a safety net; the tests check that it never catches anything
        raise CheckpointError(f"{path}: corrupt checkpoint (unexpected {type(err).__name__}: {err})") from None
    unused = sorted(set(arrays) - set(decoder.used), key=lambda k: int(k[1:]))
    if unused:
        raise CheckpointError(f"{path}: malformed manifest: arrays {unused} are in the file but no entry of the "
                              "state uses them")
    return state


class _Reader:
    """Checks an open checkpoint file, cheapest and data-free checks first, and reads its manifest and arrays."""

    def __init__(self, path: Path, file: BinaryIO, key: bytes | None) -> None:
        self.path, self.file, self.key = path, file, key
        self.size = os.fstat(file.fileno()).st_size
        self.comment = _SEAL

    def fail(self, what: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {what}")

    def read(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        magic = self.file.read(4)
        if magic != b"PK\x03\x04":
            raise self.fail(f"not a tinygrad_cnn checkpoint (not an .npz archive: it starts with {magic!r}, not a "
                            "zip header)")
        self.check_seal()
        members = self.members()
        digest = self.npy(_MANIFEST_DIGEST, members[-1])
        raw = self.npy(_MANIFEST, members[-2])
        for name, array in ((_MANIFEST, raw), (_MANIFEST_DIGEST, digest)):
            if array.dtype != np.uint8 or array.ndim != 1:
                raise self.fail(f"the manifest is malformed ({name} is not a byte string)")
        manifest = self.manifest(raw, digest)
        table = manifest["arrays"]
        if len(table) != len(members) - 2:
            raise self.fail(f"the arrays do not match the manifest: the file holds {len(members) - 2} arrays, the "
                            f"manifest lists {len(table)}")
        arrays = {}
        for i, member in enumerate(members[:-2]):
            name = f"a{i}"
            meta = table[name]
            arrays[name] = self.npy(name, member, meta)
            if _digest(arrays[name]) != meta["sha256"]:
                raise self.fail(f"array {name} fails its sha256 check; the file is corrupt or was modified")
        return manifest, arrays

    # -- the seal: the whole file, streamed
    def check_seal(self) -> None:
        file, size = self.file, self.size
        tagged = False
        if size >= _SEAL + len(_KEY_TAG):
            file.seek(size - _SEAL - len(_KEY_TAG))
            tagged = file.read(len(_KEY_TAG)) == _KEY_TAG
        self.comment = _SEAL + len(_KEY_TAG) * tagged  # the length of the zip comment save writes
        seal = b""
        if size > _SEAL:
            file.seek(size - _SEAL)
            seal = file.read(_SEAL)
        if tagged and self.key is None:
            raise self.fail("the checkpoint is sealed with a key (HMAC-SHA256); pass the key it was saved with: "
                            "load(path, key=...)")
        if tagged:
            if not hmac.compare_digest(seal, _prefix_digest(file, size - _SEAL, self.key)):
                raise self.fail("the file fails its keyed seal (HMAC-SHA256): the key is wrong, or the file is "
                                "corrupt or was modified after saving")
            return
        if len(seal) == _SEAL and hmac.compare_digest(seal, _prefix_digest(file, size - _SEAL)):
            if self.key is not None:
                raise self.fail("the checkpoint has a plain SHA-256 seal, which anyone can recompute, but a key was "
                                "given; it is refused because it cannot prove who wrote it (save it with key=...)")
            return
        raise self.fail(self.why_unsealed())

    def why_unsealed(self) -> str:
        """Why a file without a valid seal is refused: foreign (no manifest), or ours but damaged."""
        try:
            with zipfile.ZipFile(self.file) as archive:
                ours = f"{_MANIFEST}.npy" in archive.namelist()
        except Exception:  # not even a readable zip directory
            return "truncated or corrupt checkpoint (the zip directory cannot be read; it fails its sha256 check)"
        if not ours:
            return ("not a tinygrad_cnn checkpoint (an .npz file without a manifest); checkpoints are written by "
                    "tinygrad_cnn.save")
        return "the file fails its sha256 check: it is truncated, corrupt or was modified after saving"

    # -- the zip layout, from the central directory and the local headers only (no data read)
    def members(self) -> list[tuple[str, int, int, int]]:
        """(name, data offset, size, crc) of each member, after checking that the zip is laid out as save lays it
        out: only stored members, no flags (encryption, data descriptors), the expected names in order,
        contiguous from offset 0 up to the central directory (so the sizes add up to less than the file)."""
        try:
            archive = zipfile.ZipFile(self.file)
            infos, start_dir = archive.infolist(), archive.start_dir
        except Exception as err:
            raise self.fail(f"corrupt checkpoint (the zip directory cannot be read: {err})") from None
        names = [info.filename for info in infos]
        expected = [f"a{i}.npy" for i in range(len(infos) - 2)] + [f"{_MANIFEST}.npy", f"{_MANIFEST_DIGEST}.npy"]
        if names != expected:
            if f"{_MANIFEST}.npy" not in names:
                raise self.fail("not a tinygrad_cnn checkpoint (an .npz file without a manifest); checkpoints are "
                                "written by tinygrad_cnn.save")
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise self.fail(f"the archive holds several members named {twice}; save writes each once")
            shown = names if len(names) <= 6 else names[:5] + ["..."]
            raise self.fail(f"the archive's members {shown} are not those save writes (a0.npy, a1.npy, ... then "
                            f"{_MANIFEST}.npy and {_MANIFEST_DIGEST}.npy)")
        self.directory_end(start_dir)
        members, offset = [], 0
        for info in infos:
            name = info.filename
            if info.comment or not _only_zip64(info.extra):
                raise self.fail(f"member {name} has a comment or extra fields in the zip directory, which save never "
                                "writes")
            if info.flag_bits & 0x1:
                raise self.fail(f"member {name} is encrypted; save never encrypts")
            if info.compress_type != zipfile.ZIP_STORED:
                raise self.fail(f"member {name} is compressed (zip method {info.compress_type}); save never "
                                "compresses, so this file was not written by save")
            if info.flag_bits:
                raise self.fail(f"member {name} uses zip features save never writes (flags 0x{info.flag_bits:04x})")
            if info.header_offset != offset or info.file_size != info.compress_size:
                raise self.fail(f"member {name} is not where save puts it (members overlap, leave gaps or "
                                "disagree on their size)")
            data = self.local_header(info)
            members.append((name, data, info.file_size, info.CRC))
            offset = data + info.file_size
        if offset != start_dir:
            raise self.fail("the archive has bytes between its last member and its directory")
        return members

    def directory_end(self, start_dir: int) -> None:
        """Check that the zip directory runs from ``start_dir`` to the end-of-directory record (after the ZIP64 end
        record and locator, when present), which sits right before a comment that is exactly the seal."""
        eocd = self.size - self.comment - 22  # 22: the end-of-directory record without its comment
        self.file.seek(eocd)
        sig, disk, disk_dir, _, _, size, _, comment = struct.unpack("<4s4H2LH", self.file.read(22))
        end = eocd
        if eocd >= 76:  # a ZIP64 end record (56 bytes) and its locator (20 bytes) precede it in large archives
            self.file.seek(eocd - 20)
            if self.file.read(4) == b"PK\x06\x07":
                end = eocd - 76
                self.file.seek(end)
                record = self.file.read(56)  # zipfile has read it already: only its directory size matters here
                size = struct.unpack("<Q", record[40:48])[0] if record[:4] == b"PK\x06\x06" else -1
        if sig != b"PK\x05\x06" or disk or disk_dir or comment != self.comment or start_dir + size != end:
            raise self.fail("the archive's directory is not laid out as save writes it (bytes after the directory, "
                            "or a zip comment that is more than the seal)")

    def local_header(self, info: zipfile.ZipInfo) -> int:
        """Check a member's local header against its directory entry; returns the offset of its data."""
        name = info.filename
        self.file.seek(info.header_offset)
        head = self.file.read(_LOCAL.size)
        if len(head) != _LOCAL.size:
            raise self.fail(f"member {name}: truncated local header")
        sig, _, flags, method, _, _, crc, csize, usize, nlen, xlen = _LOCAL.unpack(head)
        raw_name = self.file.read(nlen)
        extra = self.file.read(xlen)
        plain = xlen == 0 and csize == usize == info.file_size
        zip64 = (xlen == 20 and csize == usize == 0xFFFFFFFF
                 and extra == struct.pack("<HHQQ", 1, 16, info.file_size, info.file_size))
        if (sig != b"PK\x03\x04" or flags != info.flag_bits or method != info.compress_type or crc != info.CRC
                or raw_name != name.encode("ascii") or not (plain or zip64)):
            raise self.fail(f"member {name}: its local header disagrees with the zip directory")
        return info.header_offset + _LOCAL.size + nlen + xlen

    # -- one .npy member: header checked against the manifest, then exactly the declared bytes read
    def npy(self, name: str, member: tuple[str, int, int, int], meta: dict[str, Any] | None = None) -> np.ndarray:
        member_name, offset, size, crc = member
        self.file.seek(offset)
        head = self.file.read(min(size, 12 + _MAX_NPY_HEADER))
        stream = io.BytesIO(head)
        try:
            version = np.lib.format.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, _MAX_NPY_HEADER)
            elif version == (2, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, _MAX_NPY_HEADER)
            else:
                raise ValueError(f"format version {version[0]}.{version[1]}, save writes 1.0 or 2.0")
        except Exception as err:
            raise self.fail(f"member {member_name} is not a valid .npy array ({err})") from None
        header = stream.tell()
        if dtype.kind == "O":
            raise self.fail(f"refused, array {name} holds Python objects (stored pickled), which could run code "
                            "when read; tinygrad_cnn checkpoints never do")
        if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
            raise self.fail(f"array {name} has dtype {dtype} ({dtype.str}); save writes only bool, int, uint, float "
                            "and complex arrays")
        if any(n < 0 for n in shape):
            raise self.fail(f"array {name} declares the negative shape {shape}")
        if meta is not None and (dtype.str != meta["dtype"] or list(shape) != meta["shape"]):
            raise self.fail(f"array {name} has dtype {dtype.str} and shape {shape}, the manifest says "
                            f"{meta['dtype']} and {tuple(meta['shape'])}")
        nbytes = math.prod(shape) * dtype.itemsize
        if header + nbytes != size:
            raise self.fail(f"array {name} declares shape {shape} of {dtype.str} ({nbytes} bytes), but its member "
                            f"holds {size - header} bytes of data")
        buffer = np.empty(nbytes, np.uint8)
        self.file.seek(offset + header)
        if self.file.readinto(memoryview(buffer)) != nbytes:  # pragma: no cover - only a file shrinking meanwhile
            raise self.fail(f"array {name} is truncated")
        if zlib.crc32(buffer, zlib.crc32(head[:header])) != crc:
            raise self.fail(f"member {member_name} fails its zip CRC check; the file is corrupt")
        array = buffer.view(dtype)
        return array.reshape(shape[::-1]).T if fortran else array.reshape(shape)

    # -- the manifest: its digest, then JSON, then its schema (every field, every type)
    def manifest(self, raw: np.ndarray, digest: np.ndarray) -> dict[str, Any]:
        data = raw.tobytes()
        if not hmac.compare_digest(hashlib.sha256(data).hexdigest().encode("ascii"), digest.tobytes()):
            raise self.fail("the manifest fails its sha256 check; the file is corrupt or was modified")
        try:
            manifest = json.loads(data.decode("utf-8"), object_pairs_hook=_unique_pairs,
                                  parse_constant=_no_constant)
        except RecursionError:
            raise self.fail("the manifest is not valid JSON (nested too deeply)") from None
        except ValueError as err:  # UnicodeDecodeError, JSONDecodeError, too many digits, duplicate fields
            raise self.fail(f"the manifest is not valid JSON ({err})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise self.fail("not a tinygrad_cnn checkpoint (unknown manifest format)")
        version = manifest.get("version")
        if type(version) is not int or version != VERSION:
            raise self.fail(f"checkpoint format version {version!r} is not supported (this tinygrad_cnn reads "
                            f"version {VERSION})")
        if set(manifest) != {"format", "version", "root", "arrays"} or not isinstance(manifest["arrays"], dict):
            raise self.fail(f"the manifest is malformed (fields {sorted(manifest)}, expected arrays, format, root "
                            "and version, with arrays a table)")
        table = manifest["arrays"]
        for name, meta in table.items():
            if not re.fullmatch(r"a(0|[1-9][0-9]*)", name) or int(name[1:]) >= len(table):
                raise self.fail(f"the manifest is malformed: array name {name!r} (save names them a0, a1, ...)")
            if (not isinstance(meta, dict) or set(meta) != {"dtype", "shape", "sha256"}
                    or not isinstance(meta["dtype"], str) or not isinstance(meta["shape"], list)
                    or any(type(n) is not int or n < 0 for n in meta["shape"])
                    or not isinstance(meta["sha256"], str) or not _SHA256.fullmatch(meta["sha256"])):
                raise self.fail(f"the manifest entry of array {name} is malformed (expected dtype, shape as a list "
                                "of sizes, and sha256 as 64 hex digits)")
        return manifest


def _only_zip64(extra: bytes) -> bool:
    """Whether a directory entry's extra field holds only ZIP64 records (header id 1), the one kind save writes."""
    while extra:
        if len(extra) < 4:
            return False
        kind, length = struct.unpack("<HH", extra[:4])
        if kind != 1 or len(extra) < 4 + length:
            return False
        extra = extra[4 + length:]
    return True


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a field given twice (json keeps the last one silently)."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError(f"a field given twice in {sorted(k for k, _ in pairs)}")
    return out


def _no_constant(name: str) -> None:
    """NaN and Infinity are not JSON, and save's manifests never hold them (floats are stored as hex strings)."""
    raise ValueError(f"{name} is not JSON")


class _Decoder:
    """Rebuilds the state tree from manifest nodes, refusing anything save cannot have written."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        self.path, self.arrays = path, arrays
        self.used: dict[str, str] = {}

    def fail(self, where: str, what: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: malformed manifest at {where}: {what}")

    def array(self, node: dict[str, Any], where: str) -> np.ndarray:
        key = node["k"]
        if not isinstance(key, str) or key not in self.arrays:
            raise self.fail(where, f"refers to an array {key!r} that the file does not hold")
        if key in self.used:
            raise self.fail(where, f"array {key} is already used at {self.used[key]}; save never shares an array "
                            "between two entries (loading it would alias them)")
        self.used[key] = where
        return self.arrays[key]

    def tensor(self, node: dict[str, Any], kind: str, where: str) -> Tensor:
        requires_grad = node["requires_grad"]
        array = self.array(node, where)
        if type(requires_grad) is not bool or (requires_grad and array.dtype.kind != "f"):
            raise self.fail(where, f"a {kind} node has requires_grad={requires_grad!r}")
        if not (array.dtype in _TENSOR_FLOATS or (kind == "tensor" and array.dtype.kind in "biu")):
            held = "float32 or float64" if kind == "parameter" else "bool, integer, float32 or float64"
            raise self.fail(where, f"a {kind} of dtype {array.dtype.str}, which a {kind} cannot hold unchanged (it "
                            f"holds {held} in native byte order), so save never writes one")
        if kind == "parameter":
            return Parameter(array, requires_grad=requires_grad)
        return Tensor(array, requires_grad=requires_grad)

    def node(self, node: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(where, f"the state is nested more than {_MAX_DEPTH} containers deep, which save never "
                            "writes")
        if not isinstance(node, dict) or not isinstance(node.get("t"), str):
            raise self.fail(where, "not a node")
        kind = node["t"]
        if kind not in _NODE_FIELDS:
            raise self.fail(where, f"unknown node type {kind!r}")
        if set(node) != _NODE_FIELDS[kind]:
            raise self.fail(where, f"a {kind} node has the fields {sorted(node)}, expected "
                            f"{sorted(_NODE_FIELDS[kind])}")
        value = node.get("v")
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            expected = {"bool": bool, "int": int, "str": str}[kind]
            if type(value) is not expected:
                raise self.fail(where, f"{'an' if kind == 'int' else 'a'} {kind} node holds {value!r}")
            return value
        if kind == "float":
            try:
                number = float.fromhex(value)
            except (TypeError, ValueError, OverflowError):
                raise self.fail(where, f"a float node holds {value!r}") from None
            if number.hex() != value:
                raise self.fail(where, f"a float node holds {value!r}, not the form save writes ({number.hex()!r})")
            return number
        if kind in ("tensor", "parameter"):
            return self.tensor(node, kind, where)
        if kind == "array":
            return self.array(node, where)
        if kind == "scalar":
            array = self.array(node, where)
            if array.ndim != 0 or not array.dtype.isnative:
                raise self.fail(where, f"a scalar node refers to an array of shape {array.shape} and dtype "
                                f"{array.dtype.str}; a scalar is 0-d in native byte order")
            return array[()]
        items = node["items"]
        if not isinstance(items, list):
            raise self.fail(where, f"a node of type {kind!r} without a list of items")
        if kind in ("list", "tuple"):
            values = [self.node(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(items)]
            return values if kind == "list" else tuple(values)
        keys = node["keys"]
        if (not isinstance(keys, list) or len(keys) != len(items)
                or any(type(k) not in (str, int) for k in keys) or len(set(keys)) != len(keys)):
            raise self.fail(where, "a dict node with malformed keys")
        return {k: self.node(v, f"{where}[{k!r}]", depth + 1) for k, v in zip(keys, items)}


__all__ = ["CheckpointError", "CheckpointNotFoundError", "load", "save"]
