"""Keep freed NumPy buffers in the process heap (glibc only), so a training step reuses them.

A training step allocates and frees the same large buffers (im2col columns, activations, gradients) every
iteration. With glibc's defaults, buffers above a dynamic threshold are mmap'ed and unmapped each time, and
every reuse pays page faults on fresh zero pages: on a LeNet-5 step at batch 128 that is about 40% of the time.
Raising the mmap threshold to 32 MiB and the trim threshold to 256 MiB keeps them in the heap instead.
Set ``TINYGRAD_CNN_MALLOC=default`` in the environment to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3


def tune_allocator() -> bool:
    """Apply the thresholds; True when they were set (Linux with glibc and no opt-out), False otherwise."""
    if os.environ.get("TINYGRAD_CNN_MALLOC", "").lower() == "default" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc without mallopt
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, 32 << 20)) and bool(mallopt(_M_TRIM_THRESHOLD, 256 << 20))
