"""Pooling offset by offset: the k*k strided views of the kernel offsets, and the running max, sum and scatters
over them (vectorised over N, C, Ho, Wo; never the windows materialised).

Speed kernels, measured in docs/performance.md (the running maximum with an int8 index of the winner, the reshape
when the windows tile the input); the maths they serve lives in ops/pool.py. Imports only NumPy.
"""

from __future__ import annotations

import numpy as np


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


def _tiles(shape, kernel, stride, padding, dilation) -> bool:
    """True when the windows tile the input exactly, so pooling is a reshape."""
    return (tuple(kernel) == tuple(stride) and padding == (0, 0) and dilation == (1, 1)
            and shape[2] % kernel[0] == 0 and shape[3] % kernel[1] == 0)


def _index_dtype(kernel) -> np.dtype:
    return np.dtype(np.int8 if kernel[0] * kernel[1] <= 127 else np.int32)


def window_max(xp: np.ndarray, kernel, stride, dilation, out_hw) -> np.ndarray:
    """The maximum of each window of the padded ``xp``, a running maximum over the kernel offsets."""
    views = offset_views(xp, kernel, stride, dilation, out_hw)
    best = next(views).copy()
    for view in views:
        np.maximum(best, view, out=best)
    return best


def window_argmax(xp: np.ndarray, kernel, stride, dilation, out_hw) -> tuple[np.ndarray, np.ndarray]:
    """The maximum of each window and the row-major offset k = i kw + j of its first maximum (int8 when k fits)."""
    views = offset_views(xp, kernel, stride, dilation, out_hw)
    best = next(views).copy()
    index = np.zeros(best.shape, _index_dtype(kernel))
    for k, view in enumerate(views, 1):
        better = view > best  # strict: ties keep the earlier (row-major first) element
        np.maximum(best, view, out=best)  # NaN propagates to the output, as in np.max
        step = k - index
        step *= better
        index += step
    return best, index


def scatter_to_argmax(g: np.ndarray, index: np.ndarray, input_shape, kernel, stride, padding, dilation):
    """(N, C, H, W) zeros with g added at each window's offset ``index``; written, not added, when windows tile."""
    n, c, h, w = input_shape
    ph, pw = padding
    exact = _tiles(input_shape, kernel, stride, padding, dilation)  # every element in exactly one window
    out = (np.empty if exact else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
    for k, view in enumerate(offset_views(out, kernel, stride, dilation, g.shape[2:])):
        if exact:
            np.multiply(g, index == k, out=view)
        else:
            view += g * (index == k)
    return out[:, :, ph:ph + h, pw:pw + w] if (ph or pw) else out


def gather_at_argmax(up: np.ndarray, index: np.ndarray, kernel, stride, dilation) -> np.ndarray:
    """The padded ``up`` read at each window's offset ``index``: (N, C, Ho, Wo)."""
    out = np.zeros(index.shape, dtype=up.dtype)
    for k, view in enumerate(offset_views(up, kernel, stride, dilation, index.shape[2:])):
        out += view * (index == k)
    return out


def window_sum(xp: np.ndarray, kernel, stride, out_hw) -> np.ndarray:
    """The sum of each (undilated) window of the padded ``xp``, offset by offset."""
    views = offset_views(xp, kernel, stride, (1, 1), out_hw)
    total = next(views).copy()
    for view in views:
        total += view
    return total


def add_to_windows(share: np.ndarray, input_shape, kernel, stride, padding) -> np.ndarray:
    """(N, C, H, W) zeros with ``share`` (N, C, Ho, Wo) added over every element of each (undilated) window."""
    n, c, h, w = input_shape
    ph, pw = padding
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=share.dtype)
    for view in offset_views(out, kernel, stride, (1, 1), share.shape[2:]):
        view += share
    return out[:, :, ph:ph + h, pw:pw + w] if (ph or pw) else out
