"""Column layouts of a convolution: zero padding, batch-last images, im2col and its adjoint col2im.

Speed kernels, measured in docs/performance.md (the two column layouts and the threshold between them); the maths
they serve lives in ops/conv.py. Imports only NumPy.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .threads import copy_of


def pad(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    """(N, C, H, W) -> (N, C, H + 2 ph, W + 2 pw), padded with ``value``; ``x`` itself when there is no padding."""
    if padding == (0, 0):
        return x
    (ph, pw), (n, c, h, w) = padding, x.shape
    out = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph:ph + h, pw:pw + w] = x
    return out


def batch_last(a: np.ndarray, padding=(0, 0)) -> np.ndarray:
    """(N, C, H, W) -> (C, H + 2 ph, W + 2 pw, N) zero-padded, batch innermost (see ``batch_innermost``).

    No copy when ``a`` is already a transposed view of a contiguous (C, H, W, N) array and needs no padding.
    """
    if padding == (0, 0):
        view = a.transpose(1, 2, 3, 0)
        return view if view.flags.c_contiguous else copy_of(view)
    (ph, pw), (n, c, h, w) = padding, a.shape
    out = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=a.dtype)
    out[:, ph:ph + h, pw:pw + w] = a.transpose(1, 2, 3, 0)
    return out


def batch_innermost(out_hw) -> bool:
    """The column layout a conv with ``out_hw`` output positions per image uses (the same in all three primitives).

    True: (groups, C/g kh kw, Ho Wo N), batch innermost: im2col copies blocks of Wo * N contiguous elements and
    each direction is ONE GEMM; the output needs a transpose to NCHW. False: (N, groups, C/g kh kw, Ho Wo), one
    GEMM per image writing NCHW directly. Measured on LeNet-5 at batch 128: batch-innermost wins on small images
    (conv2, 10x10 outputs: im2col rows of 10 elements otherwise), per-image GEMMs on large ones (conv1, 28x28).
    """
    return out_hw[0] * out_hw[1] < 256


def im2col(x: np.ndarray, kernel, stride, padding, dilation, groups, out_hw,
           out: np.ndarray | None = None) -> np.ndarray:
    """The columns cols[(c, i, j), (p, q)] = x_pad[n, c, p s + i d, q s + j d] of every image n, copied out of one
    strided view, in the layout ``batch_innermost(out_hw)`` picks: (groups, C/g kh kw, Ho Wo N) (3-D) or
    (N, groups, C/g kh kw, Ho Wo) (4-D). The GEMMs in ``gemm`` read the layout off the number of axes.
    ``out``: a C-contiguous (N, groups, C/g kh kw, Ho Wo) array (or a slice of one along N) to write the
    per-image layout into.
    """
    n, c = x.shape[:2]
    k = (c // groups) * kernel[0] * kernel[1]
    if batch_innermost(out_hw):
        xp = batch_last(x, padding)
        sc, sh, sw, sn = xp.strides
        view = as_strided(xp, (c, kernel[0], kernel[1], out_hw[0], out_hw[1], n),
                          (sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1], sn), writeable=False)
        return copy_of(view).reshape(groups, k, out_hw[0] * out_hw[1] * n)
    view = _image_view(x, kernel, stride, padding, dilation, out_hw)
    if out is not None:
        out.reshape(view.shape)[...] = view  # a view of ``out``: it is contiguous
        return out
    return copy_of(view).reshape(n, groups, k, out_hw[0] * out_hw[1])


def _image_view(x: np.ndarray, kernel, stride, padding, dilation, out_hw) -> np.ndarray:
    """The read-only strided view v[n, c, i, j, p, q] = x_pad[n, c, p s + i d, q s + j d] (no copy but the padding)."""
    n, c = x.shape[:2]
    xp = pad(x, padding)
    sn, sc, sh, sw = xp.strides
    return as_strided(xp, (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
                      (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]), writeable=False)


def col2im(cols: np.ndarray, input_shape, kernel, stride, padding, dilation, out_hw, out: np.ndarray) -> np.ndarray:
    """Adjoint of im2col: cols (C, kh, kw, Ho, Wo, N) summed into ``out`` (N, C, H, W) by k*k strided slice
    additions.

    The batch axis is innermost, so every addition runs over contiguous blocks of Wo * N elements.
    """
    n, c, h, w = input_shape
    (ph, pw), (ho, wo), (sh, sw) = padding, out_hw, stride
    acc = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for i in range(kernel[0]):
        r = i * dilation[0]
        for j in range(kernel[1]):
            q = j * dilation[1]
            acc[:, r:r + sh * (ho - 1) + 1:sh, q:q + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    out[...] = acc[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2)
    return out


def unfold(x: np.ndarray, kernel, stride, padding, dilation, out_hw) -> np.ndarray:
    """F.unfold's layout: (N, C, H, W) -> (N, C kh kw, Ho Wo), cols[n, (c, i, j), (p, q)] = x_pad[n, c, p s + i d,
    q s + j d]; one copy out of one strided view (im2col's per-image layout without the group axis), never a view
    of ``x`` (a 1x1 kernel with stride 1 would otherwise give one)."""
    n, c = x.shape[:2]
    cols = _image_view(x, kernel, stride, padding, dilation, out_hw).reshape(
        n, c * kernel[0] * kernel[1], out_hw[0] * out_hw[1])
    return copy_of(cols) if np.may_share_memory(cols, x) else cols


def fold(cols: np.ndarray, output_hw, kernel, stride, padding, dilation, out_hw) -> np.ndarray:
    """Adjoint of ``unfold``: cols (N, C kh kw, Ho Wo) summed into (N, C, H, W) by kh kw strided slice additions
    (overlapping blocks add up), the padding cropped off. Batch-major like its input: each addition runs over rows
    of Wo elements (``col2im`` is the batch-innermost variant the convolution uses)."""
    n, (kh, kw), (ho, wo), (sh, sw) = cols.shape[0], kernel, out_hw, stride
    c = cols.shape[1] // (kh * kw)
    (h, w), (ph, pw) = output_hw, padding
    blocks = cols.reshape(n, c, kh, kw, ho, wo)
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    for i in range(kh):
        r = i * dilation[0]
        for j in range(kw):
            q = j * dilation[1]
            out[:, :, r:r + sh * (ho - 1) + 1:sh, q:q + sw * (wo - 1) + 1:sw] += blocks[:, :, i, j]
    return copy_of(out[:, :, ph:ph + h, pw:pw + w]) if padding != (0, 0) else out
