"""Pointwise kernels: a NumPy ufunc of an array and a scalar, run against a row of that scalar.

NumPy's SIMD loops for ``maximum`` and ``minimum`` take two arrays; with a scalar (or 0-d) operand they run an
element-by-element loop instead. Measured on the development machine, float32, 2.4 MB: ``np.maximum(x, 0)`` 0.222
ms against 0.053 ms for ``np.multiply(x, 0)``; broadcasting a contiguous row of 16,384 zeros instead runs the SIMD
loop row by row: 0.096 ms. The values are the same bit for bit (the same ufunc, elementwise: NaN, -0.0 and the
infinities included). ReLU's forward pass (every CNN here) and the hardtanh family use it. Imports only NumPy.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: the length of the row of the scalar (measured: 1,024 and 4,096 gave 0.138 ms, 16,384 and 65,536 0.096 to 0.100)
ROW = 1 << 14


def against_scalar(ufunc: np.ufunc, a: np.ndarray, value: Any) -> np.ndarray:
    """``ufunc(a, value)`` for an array ``a`` and a scalar ``value`` (a Python number or a 0-d array of ``a``'s dtype):
    the same values, dtype and shape. A C-contiguous float array of at least two rows is computed as (rows, ROW)
    against one row of ``value`` in ``a``'s dtype (as NumPy takes a Python number), plus the tail; any other input
    (integers and booleans, whose result dtype NumPy may widen) by ``ufunc`` directly."""
    if a.dtype.kind != "f" or a.size < 2 * ROW or not a.flags.c_contiguous:
        return ufunc(a, value)
    flat = a.reshape(-1)
    out = np.empty(flat.shape, dtype=a.dtype)
    whole = flat.size // ROW * ROW
    ufunc(flat[:whole].reshape(-1, ROW), np.full(ROW, value, dtype=a.dtype), out=out[:whole].reshape(-1, ROW))
    ufunc(flat[whole:], value, out=out[whole:])
    return out.reshape(a.shape)
