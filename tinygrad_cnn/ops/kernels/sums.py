"""Float32 sums as accurate as a pairwise sum along any axis: ``accurate_sum``, the one sum every reduction uses.

NumPy sums pairwise only along the axis its inner loop runs over, the contiguous one. Over any other axis it adds
one row after another, so a float32 sum of n terms can lose about n/2 units in the last place: ``sum(axis=0)`` of
a (10^6, 4) array of 1.1 is off by 1e-2 relative. ``accurate_sum`` keeps NumPy's pairwise sum for the trailing
reduced axes of a contiguous array and sums every other reduced axis by halving (the first half of the rows plus
the second half, again and again), whose rounding error grows with log2(n) instead of n. Measured in
docs/derivations/reductions.md: as fast as NumPy's sum on the conv-bias and batch-norm shapes, several times faster
on a tall thin array (NumPy's row-by-row loop over 4 columns is slow), 1.4x slower on a (1000, 1000) one, and a
few microseconds of Python slower on small ones.

float16 is summed in float32 (as PyTorch accumulates it); float64 and integers are left to NumPy (float64's naive
error of n 1e-16 is far below float32's unit). Imports only NumPy.
"""

from __future__ import annotations

import math

import numpy as np

#: reduced counts up to which NumPy's own sum is kept: n - 1 roundings at most, as many as its pairwise sum makes
#: on its blocks of 128 (8 accumulators of 16 terms)
DIRECT_UP_TO = 16
#: rows added directly before the halving starts, when each row (the elements after the axis) is long: one NumPy
#: pass over BLOCK rows is faster than halving's first four passes and adds at most BLOCK - 1 roundings
BLOCK = 16
LONG_ROW = 64
#: row lengths up to which a sum of products along a contiguous row is one einsum: no temporary array, and its four
#: running sums keep the error within about DOT_UP_TO / 4 units (measured 1e-6 on constant rows of 4096)
DOT_UP_TO = 4096


def _axes(axis, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for i in axes:
        if not -ndim <= int(i) < ndim:
            raise ValueError(f"accurate_sum: axis {i} is out of range for an array of {ndim} dimensions")
    return tuple(sorted({int(i) % ndim for i in axes}))


def _halve(x: np.ndarray, axis: int) -> np.ndarray:
    """x summed along ``axis`` (kept with length 1) by halving: the error grows with log2 of the axis length."""
    n = x.shape[axis]
    lead = (slice(None),) * axis
    if n >= 2 * BLOCK and math.prod(x.shape[axis + 1:]) >= LONG_ROW:
        m = n // BLOCK
        head = x[lead + (slice(0, m * BLOCK),)].reshape(x.shape[:axis] + (m, BLOCK) + x.shape[axis + 1:])
        head = head.sum(axis=axis + 1)
        if n > m * BLOCK:
            head[lead + (slice(0, 1),)] += x[lead + (slice(m * BLOCK, n),)].sum(axis=axis, keepdims=True)
        x, n = head, m
    while n > 1:
        half = n // 2
        y = x[lead + (slice(0, half),)] + x[lead + (slice(half, 2 * half),)]
        if n % 2:
            y[lead + (slice(0, 1),)] += x[lead + (slice(2 * half, n),)]
        x, n = y, half
    return x


def accurate_sum(a: np.ndarray, axis=None, keepdims: bool = False) -> np.ndarray:
    """``np.sum(a, axis, keepdims=keepdims)`` (same shape and dtype), with a float32 error bound of about
    log2(n) units in the last place of the sum of |a| over any axes, contiguous or not (a new array, never a view
    of ``a``)."""
    a = np.asarray(a)
    if a.dtype == np.float16:
        return accurate_sum(a.astype(np.float32), axis, keepdims).astype(np.float16)
    if a.dtype != np.float32 or a.ndim == 0 or a.size == 0:
        return np.sum(a, axis=axis, keepdims=keepdims)
    axes = _axes(axis, a.ndim)
    if a.flags.c_contiguous and axes == tuple(range(a.ndim - len(axes), a.ndim)):
        return np.sum(a, axis=axes, keepdims=keepdims)  # the trailing axes of a contiguous array: NumPy's pairwise
    out_shape = tuple(1 if i in axes else n for i, n in enumerate(a.shape)) if keepdims else tuple(
        n for i, n in enumerate(a.shape) if i not in axes)
    # a reduced axis of stride 0 (a broadcast view) repeats one slice: sum that slice, times the repeat count
    repeat = 1
    for i in axes:
        if a.strides[i] == 0 and a.shape[i] > 1:
            repeat *= a.shape[i]
            a = a[(slice(None),) * i + (slice(0, 1),)]
    if math.prod(a.shape[i] for i in axes) <= DIRECT_UP_TO:
        out = np.sum(a, axis=axes, keepdims=True)
    else:
        dims = [i for i in range(a.ndim) if a.shape[i] != 1]  # axes of length 1 change nothing: drop them (a view)
        x = a.reshape(tuple(a.shape[i] for i in dims))
        reduced = [k for k, i in enumerate(dims) if i in axes]
        run = 0  # the trailing reduced axes, summed pairwise by NumPy when they are one contiguous block
        while run < len(reduced) and reduced[-1 - run] == x.ndim - 1 - run:
            run += 1
        if run and _contiguous_tail(x, run):
            x = x.reshape(x.shape[:x.ndim - run] + (-1,)).sum(axis=-1, keepdims=True)
            reduced = reduced[:len(reduced) - run]
        for k in reversed(reduced):
            x = _halve(x, k)
        out = x
    out = out.reshape(out_shape)
    return out * np.float32(repeat) if repeat != 1 else out


def row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """sum(a * b, axis=1) of two (R, M) arrays as an (R,) array: one einsum for rows up to DOT_UP_TO, else the
    product summed pairwise along the rows."""
    if a.dtype != np.float32 or a.shape[1] <= DOT_UP_TO:
        return np.einsum("ij,ij->i", a, b)
    return accurate_sum(np.multiply(a, b), axis=1)


def _contiguous_tail(x: np.ndarray, k: int) -> bool:
    """Whether the last k axes of x are one C-contiguous block (NumPy's inner loop then runs along it)."""
    stride = x.itemsize
    for i in range(x.ndim - 1, x.ndim - 1 - k, -1):
        if x.strides[i] != stride:
            return False
        stride *= x.shape[i]
    return True


__all__ = ["accurate_sum", "row_dot"]
