"""The three convolution kernels (forward, input gradient, weight gradient) run chunk by chunk over the batch.

Each chunk of a few images makes its columns (im2col, or the column gradient before col2im) and its GEMM while
they are in the core's cache, and the chunks run on the thread pool of ``threads``. The forward pass keeps its
columns for the weight gradient, as one (N, groups, C/g kh kw, Ho Wo) array each chunk writes its part of, when
they are in the per-image layout and take at most ``KEEP_COLUMNS_BYTES`` (large images of few channels, where
making them is most of the layer's time); its weight gradient is one batched GEMM on them, and when its GEMM is
small too (``SERIAL_KEPT_MACS``) its forward pass runs as one chunk: the columns go to memory anyway, and two
threads writing them cost the next layers more than they save. Otherwise (9 to 25 times the input) the columns
are made again chunk by chunk, which costs less than writing them all out and reading them back, and holds no
large buffer across the step.
Measured in docs/performance.md; the maths they serve lives in ops/conv.py. Imports only NumPy and the other
kernels.
"""

from __future__ import annotations

import numpy as np

from . import columns, gemm, threads
from .sums import accurate_sum

#: the largest im2col buffer (all chunks) the forward pass keeps for the weight gradient
KEEP_COLUMNS_BYTES = 16 << 20
#: a layer whose columns are kept and whose GEMM has fewer multiply-adds runs its forward pass as one chunk
#: (measured: SeedCNN's first layer, 3.7M, makes the step 0.2 to 0.3 ms faster as one chunk; LeNet-5's, 15M,
#: 0.7 ms slower)
SERIAL_KEPT_MACS = 8 << 20


def _columns_bytes(shape, kernel, out_hw, itemsize: int) -> int:
    """Bytes of one image's columns: (C kh kw) x (Ho Wo)."""
    return shape[1] * kernel[0] * kernel[1] * out_hw[0] * out_hw[1] * itemsize


def pointwise_strided(kernel, stride, padding) -> bool:
    """Whether a layer is a 1x1 kernel with a stride and no padding (ResNet's downsampling shortcut): it reads only
    the pixels x[:, :, p s, q s], so the three kernels run on that subsample at stride 1 (``subsample``) instead of
    copying the whole input into the columns' layout (measured: 1.5 times faster, docs/performance.md)."""
    return tuple(kernel) == (1, 1) and tuple(padding) == (0, 0) and tuple(stride) != (1, 1)


def subsample(x: np.ndarray, stride, out_hw) -> np.ndarray:
    """The strided view x[:, :, p s, q s] for p < Ho, q < Wo: (N, C, H, W) -> (N, C, Ho, Wo), no copy."""
    (sh, sw), (ho, wo) = stride, out_hw
    return x[:, :, :sh * (ho - 1) + 1:sh, :sw * (wo - 1) + 1:sw]


def conv2d(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, stride, padding, dilation, groups,
           out_hw, keep: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """(y, kept): y = w cols(x) (+ b), x (N, C, H, W), w (O, C/g, kh, kw) -> (N, O, Ho, Wo), chunk by chunk.

    ``kept``: with ``keep``, the columns of all images when they are kept (see the module's docstring), for
    ``conv2d_weight_grad``; else None.
    """
    n, (c, kernel) = x.shape[0], (x.shape[1], w.shape[2:])
    if pointwise_strided(kernel, stride, padding):
        return conv2d(subsample(x, stride, out_hw), w, bias, (1, 1), padding, dilation, groups, out_hw, keep)
    out = np.empty((n, w.shape[0], *out_hw), dtype=np.result_type(x, w))
    item = _columns_bytes(x.shape, kernel, out_hw, x.itemsize)
    kept = None
    if keep and n * item <= KEEP_COLUMNS_BYTES and not columns.batch_innermost(out_hw):
        kept = np.empty((n, groups, (c // groups) * kernel[0] * kernel[1], out_hw[0] * out_hw[1]), x.dtype)

    def chunk(start: int, stop: int) -> None:
        cols = columns.im2col(x[start:stop], kernel, stride, padding, dilation, groups, out_hw,
                              out=None if kept is None else kept[start:stop])
        gemm.conv_gemm(w, cols, bias, stop - start, out_hw, out=out[start:stop])

    macs = n * w.shape[0] * item // x.itemsize  # N x O x (C kh kw) x (Ho Wo): groups=1's count, an upper bound
    one = kept is not None and macs < SERIAL_KEPT_MACS
    threads.run_chunks(chunk, [(0, n)] if one else threads.chunk_bounds(n, item))
    return out, kept


def flipped_transposed(w: np.ndarray, groups: int) -> np.ndarray:
    """w (O, C/g, kh, kw) -> w' (C, O/g, kh, kw) with w'[c, o, i, j] = w[o, c, kh-1-i, kw-1-j] within each group:
    the kernel whose correlation is w's transposed convolution at stride 1."""
    o, cg, kh, kw = w.shape
    per_group = w.reshape(groups, o // groups, cg, kh, kw).transpose(0, 2, 1, 3, 4)
    return threads.copy_of(per_group.reshape(groups * cg, o // groups, kh, kw)[:, :, ::-1, ::-1])


def input_grad_as_conv(weight_shape, input_shape, out_hw, stride, padding, dilation) -> bool:
    """Whether ``conv2d_input_grad`` runs as a forward convolution: stride 1, padding p <= d (k - 1) (the full
    correlation needs padding d (k - 1) - p >= 0), an input of exactly H = Ho - 2p + d (k - 1) (a transposed
    convolution's output_padding adds rows no window reads) and no more output channels than input channels."""
    reach = [d * (k - 1) for d, k in zip(dilation, weight_shape[2:])]
    return (tuple(stride) == (1, 1) and weight_shape[0] <= input_shape[1]
            and all(p <= r and o - 2 * p + r == i for p, r, o, i in zip(padding, reach, out_hw, input_shape[2:])))


def conv2d_input_grad(g: np.ndarray, w: np.ndarray, input_shape, stride, padding, dilation,
                      groups) -> np.ndarray:
    """dx = col2im(w^T g): g (N, O, Ho, Wo), w (O, C/g, kh, kw) -> ``input_shape`` (N, C, H, W), chunk by chunk.

    At stride 1 (and padding p <= d (k - 1)) the same sum is a forward convolution of g with the flipped,
    transposed kernel and padding d (k - 1) - p: a gather (im2col of g's O channels) instead of k*k
    scatter-additions of C channels, used when O <= C (measured 1.3 to 1.6 times faster for O = C, twice as slow
    for LeNet's 6 -> 16). Otherwise col2im of w^T g, chunk by chunk.
    """
    n, kernel, out_hw = g.shape[0], w.shape[2:], g.shape[2:]
    if pointwise_strided(kernel, stride, padding):  # the subsample's gradient, at its pixels; zero elsewhere
        out = np.zeros(input_shape, dtype=np.result_type(g, w))
        sub = subsample(out, stride, out_hw)
        sub[...] = conv2d_input_grad(g, w, sub.shape, (1, 1), padding, dilation, groups)
        return out
    if input_grad_as_conv(w.shape, input_shape, out_hw, stride, padding, dilation):
        full = tuple(d * (k - 1) - p for d, k, p in zip(dilation, kernel, padding))
        return conv2d(g, flipped_transposed(w, groups), None, (1, 1), full, dilation, groups,
                      tuple(input_shape[2:]))[0]
    out = np.empty(input_shape, dtype=np.result_type(g, w))

    def chunk(start: int, stop: int) -> None:
        dcols = gemm.input_grad_gemm(w, g[start:stop], groups)  # (C, kh, kw, Ho, Wo, chunk)
        columns.col2im(dcols, (stop - start, *input_shape[1:]), kernel, stride, padding, dilation, out_hw,
                       out=out[start:stop])

    item = _columns_bytes(input_shape, kernel, out_hw, g.itemsize)
    threads.run_chunks(chunk, threads.chunk_bounds(n, item))
    return out


def conv2d_weight_grad(x: np.ndarray, g: np.ndarray, weight_shape, stride, padding, dilation, groups,
                       kept: np.ndarray | None = None) -> np.ndarray:
    """dw = sum over chunks of g cols(x)^T: x (N, C, H, W), g (N, O, Ho, Wo) -> ``weight_shape``; the partial sums
    of the chunks added pairwise (``accurate_sum``). ``kept``: the forward pass's columns (per-image layout)."""
    n, kernel, out_hw = x.shape[0], weight_shape[2:], g.shape[2:]
    if pointwise_strided(kernel, stride, padding):
        return conv2d_weight_grad(subsample(x, stride, out_hw), g, weight_shape, (1, 1), padding, dilation, groups,
                                  kept)
    if kept is not None:  # one batched GEMM on them: measured 1.2 times faster than chunks of it
        return gemm.weight_grad_gemm(g, kept, groups).reshape(weight_shape)

    def chunk(start: int, stop: int) -> np.ndarray:
        cols = columns.im2col(x[start:stop], kernel, stride, padding, dilation, groups, out_hw)
        return gemm.weight_grad_gemm(g[start:stop], cols, groups)  # (g, O/g, C/g kh kw)

    parts = threads.run_chunks(chunk, threads.chunk_bounds(n, _columns_bytes(x.shape, kernel, out_hw, x.itemsize)))
    total = parts[0] if len(parts) == 1 else accurate_sum(np.stack(parts), axis=0)
    return total.reshape(weight_shape)
