"""The IDX file format (MNIST's): read and write, raw or gzip, with every header field checked.

Layout (all integers big-endian)::

    bytes 0-1   0x00 0x00
    byte  2     dtype code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32, 0x0E float64
    byte  3     ndim
    4 * ndim    the dimensions, uint32 each
    ...         prod(dims) items, row-major

The magic number is bytes 0-3 read as one big-endian int: 2051 = 0x0803 (uint8, 3 dims: images) and
2049 = 0x0801 (uint8, 1 dim: labels). Gzip is recognised by its own magic bytes (1f 8b), not by the file name.

Reading is streamed and bounded: the header is read and checked before any data (dimensions declaring more than
``max_bytes``, or more than the file can hold, are refused at once), then exactly the declared bytes are read in
chunks and the file must end there. A small file that decompresses to gigabytes never costs more memory than
its header honestly declares. Writing is atomic (see ``tinygrad_cnn._files``).
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .._files import atomic_write_bytes

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


#: the default bound on the data an IDX file may declare (``max_bytes``): 2 GiB, 40 times MNIST's training images
MAX_BYTES = 1 << 31
#: deflate never expands more than 1032 times (a 258-byte match per 2 bits); a gzip file declaring more than this
#: many bytes of data per compressed byte (plus the header) cannot hold them
_MAX_DEFLATE_RATIO = 1032
_GZIP_ERRORS = (OSError, EOFError, zlib.error)
_TRAILING_PROBE = 1 << 20  # how much data past the declared end is counted before giving up


def read_bytes(path: str | os.PathLike, max_bytes: int = MAX_BYTES) -> bytes:
    """The file's bytes, decompressed when they start with the gzip magic bytes; IDXError when the decompressed
    data exceeds ``max_bytes`` (read in bounded chunks, never more than ``max_bytes + 1`` bytes in memory)."""
    path = Path(path)
    with _open(path) as stream:
        data = _read_upto(stream, path, max_bytes + 1)
    if len(data) > max_bytes:
        raise IDXError(f"{path}: more than max_bytes={max_bytes} bytes; pass a larger max_bytes if the file is "
                       "really that large")
    return bytes(data)


@contextlib.contextmanager
def _open(path: Path) -> Iterator[BinaryIO]:
    """The file opened for reading, through a gzip decompressor when it starts with the gzip magic bytes."""
    with open(path, "rb") as file:
        if file.read(2) != _GZIP_MAGIC:
            file.seek(0)
            yield file
            return
        file.seek(0)
        with gzip.GzipFile(fileobj=file, mode="rb") as stream:
            yield stream  # type: ignore[misc]


def _read_upto(stream: BinaryIO, path: Path, count: int) -> bytearray:
    """Up to ``count`` bytes of ``stream`` (fewer at its end), read in chunks of at most 16 MiB, so memory follows
    the data actually there, not what a header declares."""
    out = bytearray()
    try:
        while len(out) < count:
            block = stream.read(min(1 << 24, count - len(out)))
            if not block:
                break
            out += block
    except _GZIP_ERRORS as err:
        raise IDXError(f"{path}: starts like a gzip file but does not decompress ({err}); "
                       "the download is probably incomplete, fetch the file again") from None
    return out


def _parse_header(head: bytes, read_dims: Callable[[int], bytes], name: str, expected_magic: int | None,
                  expected_shape: tuple[int | None, ...] | None,
                  max_bytes: int) -> tuple[np.dtype, tuple[int, ...], int]:
    """Check the magic number and dimensions: (dtype, shape, header length). ``read_dims(n)`` returns the ``n``
    bytes after the magic number (fewer at the end of the file)."""
    if len(head) < 4:
        raise IDXError(f"{name}: {len(head)} bytes is too short for an IDX header (4 bytes of magic number)")
    magic = int.from_bytes(head[:4], "big")
    if head[:2] != b"\x00\x00" or head[2] not in DTYPES:
        expected = f"magic {_describe_magic(expected_magic)}" if expected_magic else "an IDX magic number"
        raise IDXError(f"{name}: bad magic number {magic} (bytes {head[:4].hex()}); expected {expected}. "
                       "Is this really an IDX file?")
    if expected_magic is not None and magic != expected_magic:
        raise IDXError(f"{name}: magic number {_describe_magic(magic)}, expected {_describe_magic(expected_magic)}; "
                       "images and labels files may be swapped")
    dtype, ndim = DTYPES[head[2]], head[3]
    header = 4 + 4 * ndim
    dims = read_dims(4 * ndim)
    if len(dims) < 4 * ndim:
        raise IDXError(f"{name}: truncated header: {ndim} dims need {header} bytes, the file has {4 + len(dims)}")
    shape = tuple(int.from_bytes(dims[4 * i:4 * i + 4], "big") for i in range(ndim))
    if expected_shape is not None:
        ok = len(shape) == len(expected_shape) and all(e is None or e == s for s, e in zip(shape, expected_shape))
        if not ok:
            wanted = "(" + ", ".join("any" if e is None else str(e) for e in expected_shape) + ")"
            raise IDXError(f"{name}: dimensions {shape}, expected {wanted}")
    nbytes = math.prod(shape) * dtype.itemsize
    if nbytes > max_bytes:
        raise IDXError(f"{name}: dimensions {shape} of {dtype.name} declare {nbytes} bytes of data, more than "
                       f"max_bytes={max_bytes}; the header is corrupt, or pass a larger max_bytes")
    return dtype, shape, header


def _to_native(buffer: bytearray, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """The big-endian items in ``buffer`` as a writable array of native byte order, swapped in place (no copy)."""
    array = np.frombuffer(buffer, dtype=dtype)
    if not dtype.isnative:
        array = array.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return array.reshape(shape)


def parse_idx(data: bytes, name: str = "<bytes>", expected_magic: int | None = None,
              expected_shape: tuple[int | None, ...] | None = None, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Decode IDX bytes into an array of the file's dtype (native byte order).

    ``expected_magic`` (e.g. 2051 for images) and ``expected_shape`` (None entries match any size) make the
    reader reject a valid IDX file of the wrong kind; dimensions declaring more than ``max_bytes`` of data are
    refused. Every error is an :class:`IDXError` naming ``name``.
    """
    dtype, shape, header = _parse_header(data[:4], lambda n: data[4:4 + n], name, expected_magic, expected_shape,
                                         max_bytes)
    needed = header + math.prod(shape) * dtype.itemsize
    if len(data) < needed:
        raise IDXError(f"{name}: truncated: dimensions {shape} need {needed} bytes, the file has {len(data)}; "
                       "fetch the file again")
    if len(data) > needed:
        raise IDXError(f"{name}: {len(data) - needed} bytes too long for dimensions {shape} "
                       f"({needed} bytes expected); the file is corrupt or not the one expected")
    return _to_native(bytearray(data[header:needed]), dtype, shape)


def read_idx(path: str | os.PathLike, expected_magic: int | None = None,
             expected_shape: tuple[int | None, ...] | None = None, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file (raw or gzip, told apart by magic bytes) into a NumPy array; see :func:`parse_idx`.

    Streamed: the header is read and checked first (magic number, ``expected_shape``, at most ``max_bytes`` of
    data, and no more than the file can hold), then exactly the declared number of bytes, then the reader checks
    that the file ends there. Memory follows the declared size, whatever a compressed file expands to.
    """
    path = Path(path)
    name = str(path)
    with _open(path) as stream:
        compressed = isinstance(stream, gzip.GzipFile)
        head = _read_upto(stream, path, 4)
        dtype, shape, header = _parse_header(bytes(head), lambda n: bytes(_read_upto(stream, path, n)), name,
                                             expected_magic, expected_shape, max_bytes)
        nbytes = math.prod(shape) * dtype.itemsize
        needed = header + nbytes
        stored = os.fstat(stream.fileno()).st_size
        if compressed and nbytes > _MAX_DEFLATE_RATIO * stored:
            raise IDXError(f"{name}: truncated: dimensions {shape} need {needed} bytes, more than a gzip file of "
                           f"{stored} bytes can hold; fetch the file again")
        if not compressed and stored != needed:
            if stored < needed:
                raise IDXError(f"{name}: truncated: dimensions {shape} need {needed} bytes, the file has {stored}; "
                               "fetch the file again")
            raise IDXError(f"{name}: {stored - needed} bytes too long for dimensions {shape} "
                           f"({needed} bytes expected); the file is corrupt or not the one expected")
        body = _read_upto(stream, path, nbytes)
        if len(body) < nbytes:
            raise IDXError(f"{name}: truncated: dimensions {shape} need {needed} bytes, the file has "
                           f"{header + len(body)}; fetch the file again")
        extra = len(_read_upto(stream, path, _TRAILING_PROBE + 1))
    if extra:
        amount = f"more than {_TRAILING_PROBE}" if extra > _TRAILING_PROBE else str(extra)
        raise IDXError(f"{name}: {amount} bytes too long for dimensions {shape} ({needed} bytes expected); the "
                       "file is corrupt or not the one expected")
    return _to_native(body, dtype, shape)


def write_idx(path: str | os.PathLike, array: np.ndarray, compress: bool = False) -> Path:
    """Write ``array`` as an IDX file (gzip-compressed when ``compress``), atomically; the inverse of
    :func:`read_idx`."""
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
    atomic_write_bytes(path, gzip.compress(payload, mtime=0) if compress else payload, "write_idx")
    return path
