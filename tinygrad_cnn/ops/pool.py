"""Pooling primitives (NCHW): max-pooling with its scatter/gather pair, and average pooling with its adjoint.

max_pool2d is piecewise linear: it selects one element per window. Its VJP scatters each window's gradient to
that element (MaxPool2dScatter), whose VJP gathers at the same fixed positions (MaxPool2dGather), whose VJP is the
scatter again; average pooling and AvgPool2dBackward are each other's adjoints. So the family is closed under
differentiation.

This file holds the maths; the offset-by-offset loops over the windows are speed kernels in
``ops/kernels/windows.py`` (measured in docs/performance.md).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from .conv import conv_output_hw
from .kernels import windows
from .kernels.columns import pad


def _pool_geometry(op, x_shape, kernel, stride, padding, dilation):
    """(Ho, Wo) of a pooling window; ValueError for non-positive sizes or padding above half the kernel."""
    for name, pair in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(pair) <= 0:
            raise ValueError(f"{op}: {name} must be positive, got {pair} for input {tuple(x_shape)}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be >= 0 and at most half the kernel size {kernel} (input "
                         f"{tuple(x_shape)}); lower the padding or enlarge the kernel")
    return conv_output_hw(op, x_shape, kernel, stride, padding, dilation)


class MaxPool2d(Function):
    """y[n, c, p, q] = max over the window at (p s, q s); x (N, C, H, W) -> (N, C, Ho, Wo).

    Computed offset by offset over the k*k kernel positions (vectorised over N, C, Ho, Wo), keeping the index of
    the first maximum in row-major order when a gradient will be needed. VJP: MaxPool2dScatter(g), each window's
    gradient to that element.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, kernel_size, stride, padding, dilation):
        out_hw = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation)
        xp = pad(x, padding, -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min)  # padding never wins
        if not ctx.needs_input_grad[0]:  # inference: the maximum alone
            return windows.window_max(xp, kernel_size, stride, dilation, out_hw)
        best, index = windows.window_argmax(xp, kernel_size, stride, dilation, out_hw)
        ctx.save_for_backward(index)
        return best

    def vjp(ctx, g):
        return MaxPool2dScatter.apply(g, index=ctx.saved[0], input_shape=ctx.input_shapes[0], **ctx.params)


class MaxPool2dScatter(Function):
    """dx = g placed at each window's arg-max (summed where windows overlap); g (N, C, Ho, Wo) -> (N, C, H, W).

    VJP: MaxPool2dGather(u), reading u at the same arg-max positions.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, index, input_shape, kernel_size, stride, padding, dilation):
        return windows.scatter_to_argmax(g, index, input_shape, kernel_size, stride, padding, dilation)

    def vjp(ctx, u):
        p = ctx.params
        return MaxPool2dGather.apply(u, index=p["index"], kernel_size=p["kernel_size"], stride=p["stride"],
                                     padding=p["padding"], dilation=p["dilation"])


class MaxPool2dGather(Function):
    """y[n, c, p, q] = u at the arg-max of window (p, q) (fixed positions); u (N, C, H, W) -> (N, C, Ho, Wo).

    VJP: MaxPool2dScatter(g).
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, u, index, kernel_size, stride, padding, dilation):
        return windows.gather_at_argmax(pad(u, padding), index, kernel_size, stride, dilation)

    def vjp(ctx, g):
        return MaxPool2dScatter.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class AvgPool2d(Function):
    """y = mean of each window (zero padding counted); x (N, C, H, W) -> (N, C, Ho, Wo).

    VJP: AvgPool2dBackward(g), g / (kh kw) spread over each window.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, kernel_size, stride, padding):
        out_hw = _pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding, (1, 1))
        total = windows.window_sum(pad(x, padding), kernel_size, stride, out_hw)
        total *= np.asarray(1.0 / (kernel_size[0] * kernel_size[1]), dtype=x.dtype)
        return total

    def vjp(ctx, g):
        return AvgPool2dBackward.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class AvgPool2dBackward(Function):
    """dx = g / (kh kw) added over each window; g (N, C, Ho, Wo) -> (N, C, H, W).  VJP: avg_pool2d(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_shape, kernel_size, stride, padding):
        share = g * np.asarray(1.0 / (kernel_size[0] * kernel_size[1]), dtype=g.dtype)
        return windows.add_to_windows(share, input_shape, kernel_size, stride, padding)

    def vjp(ctx, u):
        p = ctx.params
        return AvgPool2d.apply(u, kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"])
