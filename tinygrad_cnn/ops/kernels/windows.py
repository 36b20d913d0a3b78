"""Pooling offset by offset: the k*k strided views of the kernel offsets, and the running max, sum and scatters
over them (vectorised over N, C, Ho, Wo; never the windows materialised); the gathers and segment sums along one
axis that adaptive pooling and interpolation are made of.

Speed kernels, measured in docs/performance.md (the running maximum with an int8 index of the winner, the reshape
when the windows tile the input); the maths they serve lives in ops/pool.py and ops/resample.py. Imports only NumPy.

``pads`` is ((top, bottom), (left, right)): ceil_mode adds rows and columns at the bottom and right only.
"""

from __future__ import annotations

import numpy as np

from . import threads
from .threads import copy_of


def pad2d(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + top + bottom, W + left + right), padded with ``value``; ``x`` when no padding."""
    if not any(pads[0]) and not any(pads[1]):
        return x
    (t, b), (left, r) = pads
    out = np.full((*x.shape[:2], x.shape[2] + t + b, x.shape[3] + left + r), value, dtype=x.dtype)
    out[:, :, t:t + x.shape[2], left:left + x.shape[3]] = x
    return out


def offset_views(xp: np.ndarray, kernel, stride, dilation, out_hw):
    """For each kernel offset (i, j), row-major, the view xp[:, :, i d + p s, j d + q s] of shape (N, C, Ho, Wo).

    When the windows tile xp exactly (stride = kernel, no dilation, sizes divisible) the views come from the
    reshape (N, C, Ho, kh, Wo, kw); otherwise they are strided slices.
    """
    (ho, wo), (sh, sw), (dh, dw) = out_hw, stride, dilation
    n, c, h, w = xp.shape
    if (sh, sw) == tuple(kernel) and (dh, dw) == (1, 1) and (h, w) == (ho * sh, wo * sw) and xp.flags.c_contiguous:
        tiles = xp.reshape(n, c, ho, sh, wo, sw)
        for i in range(sh):
            for j in range(sw):
                yield tiles[:, :, :, i, :, j]
        return
    for i in range(kernel[0]):
        for j in range(kernel[1]):
            yield xp[:, :, i * dh:i * dh + sh * (ho - 1) + 1:sh, j * dw:j * dw + sw * (wo - 1) + 1:sw]


def _tiles(shape, kernel, stride, pads, dilation) -> bool:
    """True when the windows tile the input exactly, so pooling is a reshape."""
    return (tuple(kernel) == tuple(stride) and not any(pads[0]) and not any(pads[1]) and dilation == (1, 1)
            and shape[2] % kernel[0] == 0 and shape[3] % kernel[1] == 0)


def _index_dtype(kernel) -> np.dtype:
    return np.dtype(np.int8 if kernel[0] * kernel[1] <= 127 else np.int32)


def _by_chunks(n: int, item_bytes: int, work) -> None:
    """``work(start, stop)`` over chunks of the batch axis on the thread pool (every sample is independent)."""
    threads.run_chunks(work, threads.chunk_bounds(n, item_bytes))


def window_max(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """The maximum of each window of the padded ``xp``, a running maximum over the kernel offsets, chunk by chunk
    over the batch."""
    best = np.empty((*xp.shape[:2], *out_hw), dtype=xp.dtype)

    def chunk(start: int, stop: int) -> None:
        views = offset_views(xp[start:stop], kernel, stride, dilation, out_hw)
        part = best[start:stop]
        part[...] = next(views)
        for view in views:
            np.maximum(part, view, out=part)

    _by_chunks(xp.shape[0], xp[:1].nbytes, chunk)
    return best


def window_argmax(xp: np.ndarray, kernel, stride, dilation, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window and the row-major offset k = i kw + j of its first maximum (int8 when k fits),
    chunk by chunk over the batch."""
    best = np.empty((*xp.shape[:2], *out_hw), dtype=xp.dtype)
    index = np.empty(best.shape, _index_dtype(kernel))

    def chunk(start: int, stop: int) -> None:
        views = offset_views(xp[start:stop], kernel, stride, dilation, out_hw)
        top, at = best[start:stop], index[start:stop]
        top[...] = next(views)
        at[...] = 0
        for k, view in enumerate(views, 1):
            better = view > top  # strict: ties keep the earlier (row-major first) element
            np.maximum(top, view, out=top)  # NaN propagates to the output, as in np.max
            step = k - at
            step *= better
            at += step

    _by_chunks(xp.shape[0], xp[:1].nbytes, chunk)
    return best, index


def flat_argmax(index: np.ndarray, input_hw, kernel, stride, pads, dilation) -> np.ndarray:
    """The window offsets ``index`` as PyTorch's indices: row * W + column in the unpadded input plane (int64)."""
    ho, wo = index.shape[2:]
    k = index.astype(np.int64)
    rows = (np.arange(ho) * stride[0] - pads[0][0])[:, None] + (k // kernel[1]) * dilation[0]
    cols = (np.arange(wo) * stride[1] - pads[1][0])[None, :] + (k % kernel[1]) * dilation[1]
    rows *= input_hw[1]
    rows += cols
    return rows


def scatter_to_argmax(g: np.ndarray, index: np.ndarray, input_shape, kernel, stride, pads, dilation):
    """(N, C, H, W) zeros with g added at each window's offset ``index``; written, not added, when windows tile;
    chunk by chunk over the batch."""
    n, c, h, w = input_shape
    (t, b), (left, r) = pads
    exact = _tiles(input_shape, kernel, stride, pads, dilation)  # every element in exactly one window
    out = (np.empty if exact else np.zeros)((n, c, h + t + b, w + left + r), dtype=g.dtype)

    def chunk(start: int, stop: int) -> None:
        g_c, index_c = g[start:stop], index[start:stop]
        for k, view in enumerate(offset_views(out[start:stop], kernel, stride, dilation, g.shape[2:])):
            if exact:
                np.multiply(g_c, index_c == k, out=view)
            else:
                view += g_c * (index_c == k)

    _by_chunks(n, out[:1].nbytes, chunk)
    return out[:, :, t:t + h, left:left + w] if (t or b or left or r) else out


def gather_at_argmax(up: np.ndarray, index: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """The padded ``up`` read at each window's offset ``index``: (N, C, Ho, Wo)."""
    out = np.zeros(index.shape, dtype=up.dtype)
    for k, view in enumerate(offset_views(up, kernel, stride, dilation, index.shape[2:])):
        out += view * (index == k)
    return out


def window_sum(xp: np.ndarray, kernel, stride, out_hw) -> np.ndarray:
    """The sum of each (undilated) window of the padded ``xp``, offset by offset."""
    views = offset_views(xp, kernel, stride, (1, 1), out_hw)
    total = copy_of(next(views))
    for view in views:
        total += view
    return total


def add_to_windows(share: np.ndarray, input_shape, kernel, stride, pads) -> np.ndarray:
    """(N, C, H, W) zeros with ``share`` (N, C, Ho, Wo) added over every element of each (undilated) window."""
    n, c, h, w = input_shape
    (t, b), (left, r) = pads
    out = np.zeros((n, c, h + t + b, w + left + r), dtype=share.dtype)
    for view in offset_views(out, kernel, stride, (1, 1), share.shape[2:]):
        view += share
    return out[:, :, t:t + h, left:left + w] if (t or b or left or r) else out


# ---- along one axis: adaptive pooling and interpolation ---------------------------------------------------------
def _along(values: np.ndarray, axis: int, ndim: int) -> np.ndarray:
    """A 1-D array shaped to broadcast along ``axis`` of an ``ndim``-D array."""
    shape = [1] * ndim
    shape[axis] = values.shape[0]
    return values.reshape(shape)


def segment_sums(x: np.ndarray, axis: int, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """out[..., i, ...] = sum of x[..., starts[i]:ends[i], ...] along ``axis`` (non-empty segments), from a running
    sum accumulated in float64 so that the differences stay accurate for float32 input."""
    shape = list(x.shape)
    shape[axis] = 1
    total = np.concatenate([np.zeros(shape), np.cumsum(x, axis=axis, dtype=np.float64)], axis=axis)
    out = np.take(total, ends, axis=axis)
    out -= np.take(total, starts, axis=axis)
    return out.astype(x.dtype, copy=False)


def sum_at(v: np.ndarray, axis: int, index: np.ndarray, size: int) -> np.ndarray:
    """The adjoint of ``np.take(x, index, axis)`` for a NON-DECREASING ``index``: out[..., j, ...] = sum of
    v[..., i, ...] over the i with index[i] = j (a segment of consecutive i, summed with ``np.add.reduceat``)."""
    n = v.shape[axis]
    first = np.searchsorted(index, np.arange(size), side="left")
    empty = first == np.searchsorted(index, np.arange(size), side="right")
    shape = list(v.shape)
    shape[axis] = 1
    padded = np.concatenate([v, np.zeros(shape, v.dtype)], axis=axis)  # empty trailing segments read this zero
    out = np.add.reduceat(padded, np.minimum(first, n), axis=axis)
    if empty.any():
        out *= _along(~empty, axis, v.ndim)
    return out


def matrix_along(x: np.ndarray, axis: int, m: np.ndarray, transpose: bool = False) -> np.ndarray:
    """x multiplied along ``axis`` (2 or 3 of an NCHW array) by the (n_out, n_in) matrix m (m^T with
    ``transpose``): one batched GEMM, the contracted axis innermost for BLAS."""
    if axis == x.ndim - 1:
        return x @ (m if transpose else m.T)
    return np.matmul(m.T if transpose else m, x)


def taps_along(x: np.ndarray, axis: int, index: np.ndarray, weight: np.ndarray | None) -> np.ndarray:
    """out[..., i, ...] = sum_t weight[t, i] x[..., index[t, i], ...] along ``axis`` (weight None: one tap of 1)."""
    if weight is None:
        return np.take(x, index[0], axis=axis)
    out = np.take(x, index[0], axis=axis)
    out *= _along(weight[0].astype(x.dtype), axis, x.ndim)
    for t in range(1, index.shape[0]):
        part = np.take(x, index[t], axis=axis)
        part *= _along(weight[t].astype(x.dtype), axis, x.ndim)
        out += part
    return out


def taps_adjoint(g: np.ndarray, axis: int, index: np.ndarray, weight: np.ndarray | None, size: int) -> np.ndarray:
    """The adjoint of ``taps_along`` (each ``index[t]`` non-decreasing): every tap's weighted g summed back."""
    out = None
    for t in range(index.shape[0]):
        part = g if weight is None else g * _along(weight[t].astype(g.dtype), axis, g.ndim)
        part = sum_at(part, axis, index[t], size)
        out = part if out is None else out.__iadd__(part)
    return out
