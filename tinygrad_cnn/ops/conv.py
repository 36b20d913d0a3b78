"""Convolution primitives (NCHW): conv2d as im2col plus a GEMM, and its two adjoints.

conv2d is bilinear, y = conv(x, w). Its VJPs are two more bilinear primitives, the adjoints of conv in each
argument; each of the three has its VJP written with the three, so the family is closed under differentiation:

    <u, conv(x, w)> = <input_grad(u, w), x> = <weight_grad(x, u), w>.

This file holds the maths; the column layouts and the blocked GEMMs the forwards call are speed kernels in
``ops/kernels/`` (measured in docs/performance.md). Pooling is in ``ops/pool.py``.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from .kernels import columns, gemm


def conv_output_hw(op: str, shape, kernel, stride, padding, dilation) -> tuple[int, int]:
    """H_out = floor((H + 2p - d(k-1) - 1) / s) + 1 per axis of the NCHW ``shape``; ValueError when the kernel
    does not fit in the padded input."""
    out = []
    for axis, size, k, s, p, d in zip("HW", shape[2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if size + 2 * p < span:
            raise ValueError(f"{op}: input {tuple(shape)}: the kernel spans {span} along {axis} (kernel "
                             f"{tuple(kernel)}, dilation {tuple(dilation)}) but the padded input is only "
                             f"{size + 2 * p} (size {size}, padding {p}); use a smaller kernel or more padding")
        out.append((size + 2 * p - span) // s + 1)
    if shape[0] * shape[1] * (shape[2] + 2 * padding[0]) * (shape[3] + 2 * padding[1]) * 8 > np.iinfo(np.intp).max:
        raise ValueError(f"{op}: padding {tuple(padding)} makes the padded input of shape {tuple(shape)} too large "
                         "for an array; use a smaller padding")
    return out[0], out[1]


def _check_bias(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> None:
    """The bias array's invariants, checked here for every caller (F.conv2d converts and checks the rest)."""
    if b.shape != (w.shape[0],):
        raise ValueError(f"conv2d: bias must have shape ({w.shape[0]},) (one per output channel of weight "
                         f"{w.shape}), got {b.shape}")
    if b.dtype != x.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but bias is {b.dtype}; convert one with .float()/.double()")


class Conv2d(Function):
    """y = conv(x, w) + b: x (N, C, H, W), w (O, C/g, kh, kw), optional b (O,) -> y (N, O, Ho, Wo), as PyTorch.

    y[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c + g(o) C/g, p s + i d, q s + j d]; the bias is
    added into the GEMM's output in place. VJP: (Conv2dInputGrad(g, w), Conv2dWeightGrad(x, g), g.sum((0, 2, 3))),
    the weight gradient reusing the forward's columns.
    """

    def forward(ctx, x, w, *bias, stride, padding, dilation, groups):
        if bias:
            _check_bias(x, w, bias[0])
        out_hw = conv_output_hw("conv2d", x.shape, w.shape[2:], stride, padding, dilation)
        cols = columns.im2col(x, w.shape[2:], stride, padding, dilation, groups, out_hw)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(cols)
        return gemm.conv_gemm(w, cols, bias[0] if bias else None, x.shape[0], out_hw)  # w cols + b, NCHW

    def vjp(ctx, g):
        x, w = ctx.inputs[:2]
        p = ctx.params
        need = ctx.needs_input_grad
        gx = Conv2dInputGrad.apply(g, w, input_shape=x.shape, **p) if need[0] else None
        gw = Conv2dWeightGrad.apply(x, g, weight_shape=w.shape, cols=ctx.saved[0], **p) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=(0, 2, 3)) if need[2] else None)


class Conv2dInputGrad(Function):
    """dx = conv^T(g, w), a transposed convolution: g (N, O, Ho, Wo), w (O, C/g, kh, kw) -> (N, C, H, W).

    dx = col2im(w^T g): every output gradient is spread back over the window that produced it.
    VJP with upstream u (N, C, H, W): (conv(u, w), Conv2dWeightGrad(u, g)).
    """

    def forward(ctx, g, w, input_shape, stride, padding, dilation, groups):
        dcols = gemm.input_grad_gemm(w, g, groups)  # w^T g: (C, kh, kw, Ho, Wo, N)
        return columns.col2im(dcols, input_shape, w.shape[2:], stride, padding, dilation, g.shape[2:])

    def vjp(ctx, u):
        g, w = ctx.inputs
        p = {k: ctx.params[k] for k in ("stride", "padding", "dilation", "groups")}
        gg = Conv2d.apply(u, w, **p) if ctx.needs_input_grad[0] else None
        gw = Conv2dWeightGrad.apply(u, g, weight_shape=w.shape, cols=None, **p) if ctx.needs_input_grad[1] else None
        return gg, gw


class Conv2dWeightGrad(Function):
    """dw = g cols^T: x (N, C, H, W), g (N, O, Ho, Wo) -> (O, C/g, kh, kw), a GEMM summing over N Ho Wo.

    dw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c, p s + i d, q s + j d] (input correlated with g).
    VJP with upstream v (O, C/g, kh, kw): (Conv2dInputGrad(g, v), conv(x, v)).
    """

    transient_params = ("cols",)  # a recorded node must not hold the forward's im2col buffer alive

    def forward(ctx, x, g, weight_shape, stride, padding, dilation, groups, cols=None):
        """``cols``: the forward pass's im2col buffer of x, reused when given; not kept on the node."""
        if cols is None:
            cols = columns.im2col(x, weight_shape[2:], stride, padding, dilation, groups, g.shape[2:])
        return gemm.weight_grad_gemm(g, cols, groups).reshape(weight_shape)  # g cols^T

    def vjp(ctx, v):
        x, g = ctx.inputs
        p = {k: ctx.params[k] for k in ("stride", "padding", "dilation", "groups")}
        gx = Conv2dInputGrad.apply(g, v, input_shape=x.shape, **p) if ctx.needs_input_grad[0] else None
        gg = Conv2d.apply(x, v, **p) if ctx.needs_input_grad[1] else None
        return gx, gg

