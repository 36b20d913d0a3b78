"""The IDX file format (MNIST's): read and write, raw or gzip, with every header field checked.

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim
    4 * ndim    the dimensions, uint32 each
    ...         prod(dims) items, row-major

The magic number is bytes 0-3 read as one big-endian int: 2051 = 0x0803 (uint8, 3 dims: images) and
2049 = 0x0801 (uint8, 1 dim: labels). Gzip is recognised by its own magic bytes (1f 8b), not by the file name.
"""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path

import numpy as np

DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file that is not valid IDX, or not the IDX file that was expected; the message names the file."""


def _describe_magic(magic: int) -> str:
    code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    dtype = DTYPES.get(code)
    kind = dtype.name if dtype is not None else f"unknown dtype code 0x{code:02X}"
    return f"{magic} ({kind}, {ndim} dims)"


def read_bytes(path: str | os.PathLike) -> bytes:
    """The file's bytes, decompressed when they start with the gzip magic bytes."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise IDXError(f"{path}: starts like a gzip file but does not decompress ({err}); "
                       "the download is probably incomplete, fetch the file again") from None


def parse_idx(data: bytes, name: str = "<bytes>", expected_magic: int | None = None,
              expected_shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Decode IDX bytes into an array of the file's dtype (native byte order).

    ``expected_magic`` (e.g. 2051 for images) and ``expected_shape`` (None entries match any size) make the
    reader reject a valid IDX file of the wrong kind. Every error is an :class:`IDXError` naming ``name``.
    """
    if len(data) < 4:
        raise IDXError(f"{name}: {len(data)} bytes is too short for an IDX header (4 bytes of magic number)")
    magic = int.from_bytes(data[:4], "big")
    if data[:2] != b"\x00\x00" or data[2] not in DTYPES:
        expected = f"magic {_describe_magic(expected_magic)}" if expected_magic else "an IDX magic number"
        raise IDXError(f"{name}: bad magic number {magic} (bytes {data[:4].hex()}); expected {expected}. "
                       "Is this really an IDX file?")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"{name}: magic number {_describe_magic(magic)}, expected {_describe_magic(expected_magic)}; "
                       "images and labels files may be swapped")
    dtype, ndim = DTYPES[data[2]], data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXError(f"{name}: truncated header: {ndim} dims need {header} bytes, the file has {len(data)}")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(e is None or e == s for s, e in zip(shape, expected_shape))
        if not ok:
            wanted = "(" + ", ".join("any" if e is None else str(e) for e in expected_shape) + ")"
            raise IDXError(f"{name}: dimensions {shape}, expected {wanted}")
    count = int(np.prod(shape, dtype=np.int64))
    needed = header + count * dtype.itemsize
    if len(data) < needed:
        raise IDXError(f"{name}: truncated: dimensions {shape} need {needed} bytes, the file has {len(data)}; "
                       "fetch the file again")
    if len(data) > needed:
        raise IDXError(f"{name}: {len(data) - needed} bytes too long for dimensions {shape} "
                       f"({needed} bytes expected); the file is corrupt or not the one expected")
    return np.frombuffer(data, dtype=dtype, count=count, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def read_idx(path: str | os.PathLike, expected_magic: int | None = None,
             expected_shape: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip, told apart by magic bytes) into a NumPy array; see :func:`parse_idx`."""
    return parse_idx(read_bytes(path), str(path), expected_magic, expected_shape)


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``); the inverse of :func:`read_idx`."""
    array = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in DTYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise TypeError(f"write_idx: dtype {array.dtype} has no IDX code; use one of "
                        f"{sorted(d.name for d in codes)}")
    if array.ndim > 255:
        raise ValueError(f"write_idx: {array.ndim} dims do not fit the one-byte ndim field")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(array, dtype=DTYPES[code]).tobytes()
    path = Path(path)
    path.write_bytes(gzip.compress(payload, mtime=0) if compress else payload)
    return path
