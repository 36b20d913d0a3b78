"""Pooling primitives (NCHW): max-pooling with its scatter/gather pair, average pooling with its adjoint, adaptive
average and max pooling, and the scatter/gather by flat plane index behind max_unpool2d and adaptive max pooling.

max_pool2d is piecewise linear: it selects one element per window. Its VJP scatters each window's gradient to
that element (MaxPool2dScatter), whose VJP gathers at the same fixed positions (MaxPool2dGather), whose VJP is the
scatter again; average pooling and AvgPool2dBackward are each other's adjoints, as are AdaptiveAvgPool2d and
AdaptiveAvgPool2dBackward, and PlaneScatter and PlaneGather. So the family is closed under differentiation.

This file holds the maths; the offset-by-offset loops over the windows and the segment sums along an axis are
speed kernels in ``ops/kernels/windows.py`` (measured in docs/performance.md).
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .conv import conv_output_hw
from .kernels import windows


def pool_geometry(op, x_shape, kernel, stride, padding, dilation, ceil_mode=False):
    """((Ho, Wo), pads) of a pooling window, pads = ((top, bottom), (left, right)): ``ceil_mode`` rounds the output
    size up (PyTorch's rule: the last window must start inside the input or its left padding) and pads the bottom
    and right for it. ValueError for non-positive sizes, padding above half the kernel, or a kernel too large."""
    for name, pair in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(pair) <= 0:
            raise ShapeError(f"{op}: {name} must be positive, got {pair} for input {tuple(x_shape)}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ShapeError(f"{op}: padding {padding} must be >= 0 and at most half the kernel size {kernel} (input "
                         f"{tuple(x_shape)}); lower the padding or enlarge the kernel")
    out = list(conv_output_hw(op, x_shape, kernel, stride, padding, dilation))
    pads = []
    for a in range(2):
        size, k, s, p, d = x_shape[2 + a], kernel[a], stride[a], padding[a], dilation[a]
        span = d * (k - 1) + 1
        if ceil_mode:
            out[a] = -(-(size + 2 * p - span) // s) + 1
            if (out[a] - 1) * s >= size + p:
                out[a] -= 1
        pads.append((p, p + max(0, (out[a] - 1) * s + span - (size + 2 * p))))
    return (out[0], out[1]), (pads[0], pads[1])


class MaxPool2d(Function):
    """y[n, c, p, q] = max over the window at (p s, q s); x (N, C, H, W) -> (N, C, Ho, Wo).

    Computed offset by offset over the k*k kernel positions (vectorised over N, C, Ho, Wo), keeping the index of
    the first maximum in row-major order when a gradient will be needed. ``indices_out`` (a list, lent for one
    call) receives PyTorch's indices: the flat position row * W + column of each maximum in its plane (int64).
    VJP: MaxPool2dScatter(g), each window's gradient to that element.
    """

    reads_inputs = False  # the VJP needs shapes only
    transient_params = ("indices_out",)

    def forward(ctx, x, kernel_size, stride, padding, dilation, ceil_mode=False, indices_out=None):
        out_hw, pads = pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation, ceil_mode)
        xp = windows.pad2d(x, pads, -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)  # padding never wins
        if not ctx.needs_input_grad[0] and indices_out is None:  # inference: the maximum alone
            return windows.window_max(xp, kernel_size, stride, dilation, out_hw)
        best, index = windows.window_argmax(xp, kernel_size, stride, dilation, out_hw)
        if indices_out is not None:
            indices_out.append(windows.flat_argmax(index, x.shape[2:], kernel_size, stride, pads, dilation))
        ctx.save_for_backward(index)
        return best

    def vjp(ctx, g):
        return MaxPool2dScatter.apply(g, index=ctx.saved[0], input_shape=ctx.input_shapes[0], **ctx.params)


def _pads(input_shape, kernel_size, stride, padding, dilation, ceil_mode):
    return pool_geometry("max_pool2d", input_shape, kernel_size, stride, padding, dilation, ceil_mode)[1]


class MaxPool2dScatter(Function):
    """dx = g placed at each window's arg-max (summed where windows overlap); g (N, C, Ho, Wo) -> (N, C, H, W).

    VJP: MaxPool2dGather(u), reading u at the same arg-max positions.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, index, input_shape, kernel_size, stride, padding, dilation, ceil_mode=False):
        pads = _pads(input_shape, kernel_size, stride, padding, dilation, ceil_mode)
        return windows.scatter_to_argmax(g, index, input_shape, kernel_size, stride, pads, dilation)

    def vjp(ctx, u):
        p = dict(ctx.params)
        del p["input_shape"]
        return MaxPool2dGather.apply(u, **p)


class MaxPool2dGather(Function):
    """y[n, c, p, q] = u at the arg-max of window (p, q) (fixed positions); u (N, C, H, W) -> (N, C, Ho, Wo).

    VJP: MaxPool2dScatter(g).
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, u, index, kernel_size, stride, padding, dilation, ceil_mode=False):
        pads = _pads(u.shape, kernel_size, stride, padding, dilation, ceil_mode)
        return windows.gather_at_argmax(windows.pad2d(u, pads), index, kernel_size, stride, dilation)

    def vjp(ctx, g):
        return MaxPool2dScatter.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


def _avg_scale(input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, dtype):
    """(out_hw, pads, scale): the window sum times ``scale`` is the average, PyTorch's divisor: divisor_override,
    else the window's size clipped to the padded input (count_include_pad) or to the input itself. ``scale`` is a
    scalar when every window has the same divisor, else an (Ho, Wo) array."""
    out_hw, pads = pool_geometry("avg_pool2d", input_shape, kernel_size, stride, padding, (1, 1), ceil_mode)
    if divisor_override is not None:
        return out_hw, pads, np.asarray(1.0 / divisor_override, dtype=dtype)
    counts = []
    for a in range(2):
        size, k, s, p = input_shape[2 + a], kernel_size[a], stride[a], padding[a]
        start = np.arange(out_hw[a]) * s - p
        end = np.minimum(start + k, size + p)
        counts.append(end - start if count_include_pad else np.minimum(end, size) - np.maximum(start, 0))
    count = counts[0][:, None] * counts[1][None, :]
    if count.size and np.all(count == count.flat[0]):
        return out_hw, pads, np.asarray(1.0 / count.flat[0], dtype=dtype)
    return out_hw, pads, (1.0 / count).astype(dtype)


class AvgPool2d(Function):
    """y = sum of each window / its divisor (PyTorch's: zero padding counted unless count_include_pad=False, the
    ceil_mode overhang never, divisor_override when given); x (N, C, H, W) -> (N, C, Ho, Wo).

    VJP: AvgPool2dBackward(g), g / divisor spread over each window.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True, divisor_override=None):
        out_hw, pads, scale = _avg_scale(x.shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                         divisor_override, x.dtype)
        total = windows.window_sum(windows.pad2d(x, pads), kernel_size, stride, out_hw)
        total *= scale
        return total

    def vjp(ctx, g):
        return AvgPool2dBackward.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class AvgPool2dBackward(Function):
    """dx = g / divisor added over each window; g (N, C, Ho, Wo) -> (N, C, H, W).  VJP: AvgPool2d(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_shape, kernel_size, stride, padding, ceil_mode=False, count_include_pad=True,
                divisor_override=None):
        _, pads, scale = _avg_scale(input_shape, kernel_size, stride, padding, ceil_mode, count_include_pad,
                                    divisor_override, g.dtype)
        return windows.add_to_windows(g * scale, input_shape, kernel_size, stride, pads)

    def vjp(ctx, u):
        p = dict(ctx.params)
        del p["input_shape"]
        return AvgPool2d.apply(u, **p)


# ---- adaptive pooling ---------------------------------------------------------------------------------------------
def adaptive_bounds(size: int, out: int) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's adaptive windows along one axis: start_i = floor(i size / out), end_i = ceil((i + 1) size / out)."""
    i = np.arange(out)
    return (i * size) // out, -(-((i + 1) * size) // out)


DENSE_UP_TO = 128  # input sizes along an axis up to which the dense averaging matrix (one GEMM) is used


@functools.lru_cache(maxsize=256)
def adaptive_matrix(size: int, out: int, dtype: np.dtype) -> np.ndarray:
    """The (out, size) averaging matrix A[i, h] = [start_i <= h < end_i] / (end_i - start_i), read-only."""
    start, end = adaptive_bounds(size, out)
    h = np.arange(size)
    m = ((h >= start[:, None]) & (h < end[:, None])) / (end - start)[:, None]
    m = m.astype(dtype)
    m.flags.writeable = False
    return m


def _check_adaptive(op, shape, output_size):
    if len(output_size) != 2 or min(output_size) < 1 or min(shape[2:]) < 1:
        raise ShapeError(f"{op}: output_size {output_size} must be two sizes >= 1 and the input {shape} non-empty")


class AdaptiveAvgPool2d(Function):
    """y[n, c, i, j] = mean of x over rows [floor(i H / Ho), ceil((i + 1) H / Ho)) and the same columns rule;
    (N, C, H, W) -> (N, C, Ho, Wo): y = A_h x A_w^T, a GEMM with the dense A along an axis of up to DENSE_UP_TO
    inputs, running sums along a longer one.  VJP: AdaptiveAvgPool2dBackward(g)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, output_size):
        _check_adaptive("adaptive_avg_pool2d", x.shape, output_size)
        y = x
        for axis, size, out in ((2, x.shape[2], output_size[0]), (3, x.shape[3], output_size[1])):
            if size <= DENSE_UP_TO:  # measured: the GEMM is ~3x faster than the running sums on 28x28 -> 7x7
                y = windows.matrix_along(y, axis, adaptive_matrix(size, out, x.dtype))
                continue
            start, end = adaptive_bounds(size, out)
            y = windows.segment_sums(y, axis, start, end)
            y *= windows._along((1.0 / (end - start)).astype(x.dtype), axis, 4)
        return y

    def vjp(ctx, g):
        return AdaptiveAvgPool2dBackward.apply(g, input_shape=ctx.input_shapes[0])


class AdaptiveAvgPool2dBackward(Function):
    """dx[h] = sum over the windows i that hold h of g[i] / |window i| (rows, then columns): the adjoint of
    AdaptiveAvgPool2d; g (N, C, Ho, Wo) -> (N, C, H, W).  VJP: AdaptiveAvgPool2d(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_shape):
        dx = g
        for axis in (2, 3):
            size, out = input_shape[axis], g.shape[axis]
            if size <= DENSE_UP_TO:
                dx = windows.matrix_along(dx, axis, adaptive_matrix(size, out, g.dtype), transpose=True)
                continue
            start, end = adaptive_bounds(size, out)
            share = dx * windows._along((1.0 / (end - start)).astype(g.dtype), axis, 4)
            # +share at each window's start, -share at its end, then a running sum: the windows' sum at each h
            edges = windows.sum_at(share, axis, start, size + 1) - windows.sum_at(share, axis, end, size + 1)
            dx = np.take(np.cumsum(edges, axis=axis, dtype=np.float64), np.arange(size), axis=axis)
            dx = dx.astype(g.dtype, copy=False)
        return dx

    def vjp(ctx, u):
        return AdaptiveAvgPool2d.apply(u, output_size=ctx.input_shapes[0][2:])


def adaptive_argmax(x: np.ndarray, output_size, need_index: bool):
    """(max, flat index or None) of each adaptive window: a running maximum over the window offsets along W, then
    along H (max(ceil(W / Wo)) + 1 and max(ceil(H / Ho)) + 1 passes at most). Offsets past a window's end are
    clamped to its last element, which never wins a strict comparison: ties keep the first maximum in row-major
    order (the first row holding the maximum, then its first column), as PyTorch."""
    best, col = None, None
    (hs, he), (ws, we) = adaptive_bounds(x.shape[2], output_size[0]), adaptive_bounds(x.shape[3], output_size[1])
    for t in range(int(np.max(we - ws))):
        cols = np.minimum(ws + t, we - 1)
        view = np.take(x, cols, axis=3)
        if best is None:
            best, col = view, (np.broadcast_to(cols, view.shape).copy() if need_index else None)
            continue
        if need_index:
            np.copyto(col, cols, where=view > best)
        np.maximum(best, view, out=best)
    out, flat = None, None
    for t in range(int(np.max(he - hs))):
        rows = np.minimum(hs + t, he - 1)
        view = np.take(best, rows, axis=2)
        if out is None:
            out = view
            if need_index:
                flat = rows[:, None] * x.shape[3] + np.take(col, rows, axis=2)
            continue
        if need_index:
            np.copyto(flat, rows[:, None] * x.shape[3] + np.take(col, rows, axis=2), where=view > out)
        np.maximum(out, view, out=out)
    return out, flat


class AdaptiveMaxPool2d(Function):
    """y[n, c, i, j] = max of x over the adaptive window (i, j) (AdaptiveAvgPool2d's windows); (N, C, H, W) ->
    (N, C, Ho, Wo). ``indices_out`` (a list lent for one call) receives the flat index row * W + column of each
    first maximum (int64).  VJP: PlaneScatter(g) at those indices, summed where windows overlap."""

    reads_inputs = False  # the VJP needs shapes only
    transient_params = ("indices_out",)

    def forward(ctx, x, output_size, indices_out=None):
        _check_adaptive("adaptive_max_pool2d", x.shape, output_size)
        need = ctx.needs_input_grad[0] or indices_out is not None
        out, flat = adaptive_argmax(x, output_size, need)
        if indices_out is not None:
            indices_out.append(flat.astype(np.int64, copy=False))
        if ctx.needs_input_grad[0]:
            ctx.save_for_backward(flat)
        return out

    def vjp(ctx, g):
        return PlaneScatter.apply(g, indices=ctx.saved[0], plane_hw=tuple(ctx.input_shapes[0][2:]), accumulate=True)


# ---- scatter and gather by flat plane index -----------------------------------------------------------------------
class PlaneScatter(Function):
    """out[n, c].flat[indices[n, c, ...]] = g[n, c, ...] into zero planes of ``plane_hw``; ``accumulate`` sums
    repeated indices (np.bincount: a scatter of unsorted indices has no strided form), otherwise the last write wins
    (max_unpool2d). g (N, C, ...) -> (N, C, H, W).  VJP: PlaneGather(u) at the same indices (PyTorch's rule)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, indices, plane_hw, accumulate=False):
        n, c = g.shape[:2]
        m = plane_hw[0] * plane_hw[1]
        if accumulate:
            flat = indices.reshape(n * c, -1) + (np.arange(n * c, dtype=np.int64) * m)[:, None]
            out = np.bincount(flat.ravel(), weights=g.ravel(), minlength=n * c * m).astype(g.dtype, copy=False)
        else:
            out = np.zeros((n, c, m), dtype=g.dtype)
            np.put_along_axis(out, indices.reshape(n, c, -1), g.reshape(n, c, -1), axis=2)
        return out.reshape(n, c, *plane_hw)

    def vjp(ctx, u):
        return PlaneGather.apply(u, indices=ctx.params["indices"])


class PlaneGather(Function):
    """y[n, c, ...] = u[n, c].flat[indices[n, c, ...]]; u (N, C, H, W) -> indices' shape.

    VJP: PlaneScatter(g, accumulate=True), the exact adjoint (repeated indices sum)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, u, indices):
        n, c = u.shape[:2]
        return np.take_along_axis(u.reshape(n, c, -1), indices.reshape(n, c, -1), axis=2).reshape(indices.shape)

    def vjp(ctx, g):
        return PlaneScatter.apply(g, indices=ctx.params["indices"], plane_hw=tuple(ctx.input_shapes[0][2:]),
                                  accumulate=True)
