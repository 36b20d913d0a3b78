"""Convolution primitives (NCHW): conv2d as im2col plus a GEMM, and its two adjoints.

conv2d is bilinear, y = conv(x, w). Its VJPs are two more bilinear primitives, the adjoints of conv in each
argument; each of the three has its VJP written with the three, so the family is closed under differentiation:

    <u, conv(x, w)> = <input_grad(u, w), x> = <weight_grad(x, u), w>.

The transposed convolution (F.conv_transpose2d) is the input adjoint again, with a bias and PyTorch's output-size
law; its VJPs are the same three (a conv cut to size when output_padding >= stride). F.unfold / F.fold (im2col and
col2im as public ops) are two more linear primitives, each the other's adjoint.

This file holds the maths; the column layouts and the blocked GEMMs the forwards call are speed kernels in
``ops/kernels/`` (measured in docs/performance.md). Pooling is in ``ops/pool.py``.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .kernels import columns, convolve
from .movement import GetItem

CONV_PARAMS = ("stride", "padding", "dilation", "groups")


def conv_output_hw(op: str, shape, kernel, stride, padding, dilation) -> tuple[int, int]:
    """H_out = floor((H + 2p - d(k-1) - 1) / s) + 1 per axis of the NCHW ``shape``; ValueError when the kernel
    does not fit in the padded input."""
    out = []
    for axis, size, k, s, p, d in zip("HW", shape[2:], kernel, stride, padding, dilation):
        span = d * (k - 1) + 1
        if size + 2 * p < span:
            raise ShapeError(f"{op}: input {tuple(shape)}: the kernel spans {span} along {axis} (kernel "
                             f"{tuple(kernel)}, dilation {tuple(dilation)}) but the padded input is only "
                             f"{size + 2 * p} (size {size}, padding {p}); use a smaller kernel or more padding")
        out.append((size + 2 * p - span) // s + 1)
    if shape[0] * shape[1] * (shape[2] + 2 * padding[0]) * (shape[3] + 2 * padding[1]) * 8 > np.iinfo(np.intp).max:
        raise ValueError(f"{op}: padding {tuple(padding)} makes the padded input of shape {tuple(shape)} too large "
                         "for an array; use a smaller padding")
    return out[0], out[1]


def transposed_output_hw(op: str, shape, kernel, stride, padding, output_padding, dilation) -> tuple[int, int]:
    """H_out = (H - 1) s - 2p + d(k - 1) + output_padding + 1 per axis of the NCHW ``shape`` (PyTorch's law for
    conv_transpose2d); ValueError when it is not positive."""
    out = tuple((size - 1) * s - 2 * p + d * (k - 1) + op_ + 1
                for size, k, s, p, op_, d in zip(shape[2:], kernel, stride, padding, output_padding, dilation))
    if min(out) < 1:
        raise ShapeError(f"{op}: input {tuple(shape)} with kernel {tuple(kernel)}, stride {tuple(stride)}, padding "
                         f"{tuple(padding)}, output_padding {tuple(output_padding)} and dilation {tuple(dilation)} "
                         f"gives an output of size {out}, which is too small; use less padding")
    if max(shape[0], 1) * max(shape[1], 1) * (out[0] + 2 * padding[0]) * (out[1] + 2 * padding[1]) * 8 > np.iinfo(
            np.intp).max:
        raise ValueError(f"{op}: an output of size {out} (padding {tuple(padding)}) is too large for an array")
    return out


def _check_bias(x: np.ndarray, b: np.ndarray, channels: int, op: str = "conv2d") -> None:
    """The bias array's invariants, checked here for every caller (F.conv2d converts and checks the rest)."""
    if b.shape != (channels,):
        raise ShapeError(f"{op}: bias must have shape ({channels},) (one per output channel), got {b.shape}")
    if b.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but bias is {b.dtype}; convert one with .float()/.double()")


def _conv_to(x, w, shape, params):
    """conv(x, w) (a Conv2d node) cut to the spatial size of ``shape``, the shape of the tensor it is the gradient
    of. It is longer only under a transposed conv whose output_padding >= stride (allowed when dilation > stride):
    the last output_padding rows of its output lie in no window of its input, so the conv has floor(op / s) extra
    positions that its adjoint drops (a GetItem, itself differentiable)."""
    y = Conv2d.apply(x, w, **params)
    if y.shape[2:] != tuple(shape[2:]):
        y = GetItem.apply(y, index=(slice(None), slice(None), slice(0, shape[2]), slice(0, shape[3])))
    return y


class Conv2d(Function):
    """y = conv(x, w) + b: x (N, C, H, W), w (O, C/g, kh, kw), optional b (O,) -> y (N, O, Ho, Wo), as PyTorch.

    y[n, o, p, q] = b[o] + sum_{c, i, j} w[o, c, i, j] x_pad[n, c + g(o) C/g, p s + i d, q s + j d]; the bias is
    added into the GEMM's output in place. VJP: (Conv2dInputGrad(g, w), Conv2dWeightGrad(x, g), g.sum((0, 2, 3))),
    the weight gradient reusing the forward's columns.
    """

    def forward(ctx, x, w, *bias, stride, padding, dilation, groups):
        if bias:
            _check_bias(x, bias[0], w.shape[0])
        out_hw = conv_output_hw("conv2d", x.shape, w.shape[2:], stride, padding, dilation)
        y, cols = convolve.conv2d(x, w, bias[0] if bias else None, stride, padding, dilation, groups, out_hw,
                                  keep=ctx.needs_input_grad[1])
        if cols is not None:  # im2col(x) for the weight gradient, kept for small layers only
            ctx.save_for_backward(cols)
        return y

    def vjp(ctx, g):
        x, w = ctx.inputs[:2]
        p = ctx.params
        need = ctx.needs_input_grad
        gx = Conv2dInputGrad.apply(g, w, input_shape=x.shape, **p) if need[0] else None
        cols = ctx.saved[0] if ctx.saved else None  # made again, chunk by chunk, when not kept
        gw = Conv2dWeightGrad.apply(x, g, weight_shape=w.shape, cols=cols, **p) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g.sum(axis=(0, 2, 3)) if need[2] else None)


class Conv2dInputGrad(Function):
    """dx = conv^T(g, w), a transposed convolution: g (N, O, Ho, Wo), w (O, C/g, kh, kw) -> (N, C, H, W).

    dx = col2im(w^T g): every output gradient is spread back over the window that produced it.
    VJP with upstream u (N, C, H, W): (conv(u, w), Conv2dWeightGrad(u, g)).
    """

    def forward(ctx, g, w, input_shape, stride, padding, dilation, groups):
        return convolve.conv2d_input_grad(g, w, input_shape, stride, padding, dilation, groups)  # col2im(w^T g)

    def vjp(ctx, u):
        g, w = ctx.inputs
        p = {k: ctx.params[k] for k in CONV_PARAMS}
        gg = _conv_to(u, w, g.shape, p) if ctx.needs_input_grad[0] else None
        gw = Conv2dWeightGrad.apply(u, g, weight_shape=w.shape, **p) if ctx.needs_input_grad[1] else None
        return gg, gw


class Conv2dWeightGrad(Function):
    """dw = g cols^T: x (N, C, H, W), g (N, O, Ho, Wo) -> (O, C/g, kh, kw), a GEMM summing over N Ho Wo.

    dw[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x_pad[n, c, p s + i d, q s + j d] (input correlated with g).
    VJP with upstream v (O, C/g, kh, kw): (Conv2dInputGrad(g, v), conv(x, v)).
    """

    transient_params = ("cols",)  # a recorded node must not hold the forward's im2col buffer alive

    def forward(ctx, x, g, weight_shape, stride, padding, dilation, groups, cols=None):
        """``cols``: the forward pass's im2col buffer of x, reused when given; not kept on the node."""
        return convolve.conv2d_weight_grad(x, g, weight_shape, stride, padding, dilation, groups, kept=cols)

    def vjp(ctx, v):
        x, g = ctx.inputs
        p = {k: ctx.params[k] for k in CONV_PARAMS}
        gx = Conv2dInputGrad.apply(g, v, input_shape=x.shape, **p) if ctx.needs_input_grad[0] else None
        gg = _conv_to(x, v, g.shape, p) if ctx.needs_input_grad[1] else None
        return gx, gg



class ConvTranspose2d(Function):
    """y = conv^T(x, w) + b: x (N, C_in, H, W), w (C_in, C_out/g, kh, kw), optional b (C_out,) -> (N, C_out, Ho, Wo)
    with Ho = (H - 1) s - 2p + d(kh - 1) + output_padding + 1, as PyTorch.

    y[n, c, p s + i d - pad, q s + j d - pad] += x[n, o, p, q] w[o, c - g(o) C_out/g, i, j]: the adjoint of conv2d in
    its input (the weight's layout is conv2d's, read the other way), computed as col2im(w^T x) plus the bias.
    VJP with upstream u (N, C_out, Ho, Wo): (conv(u, w) cut to x's size, Conv2dWeightGrad(u, x), u.sum((0, 2, 3))).
    """

    def forward(ctx, x, w, *bias, stride, padding, output_padding, dilation, groups):
        shape = (x.shape[0], w.shape[1] * groups,
                 *transposed_output_hw("conv_transpose2d", x.shape, w.shape[2:], stride, padding, output_padding,
                                       dilation))
        if bias:
            _check_bias(x, bias[0], shape[1], "conv_transpose2d")
        out = convolve.conv2d_input_grad(x, w, shape, stride, padding, dilation, groups)  # col2im(w^T x)
        if bias:
            out += bias[0].reshape(1, -1, 1, 1)
        return out

    def vjp(ctx, u):
        x, w = ctx.inputs[:2]
        p = {k: ctx.params[k] for k in CONV_PARAMS}
        need = ctx.needs_input_grad
        gx = _conv_to(u, w, x.shape, p) if need[0] else None
        gw = Conv2dWeightGrad.apply(u, x, weight_shape=w.shape, **p) if need[1] else None
        if len(need) == 2:
            return gx, gw
        return gx, gw, (u.sum(axis=(0, 2, 3)) if need[2] else None)


class Unfold(Function):
    """cols = unfold(x): x (N, C, H, W) -> (N, C kh kw, L), cols[n, (c, i, j), (p, q)] = x_pad[n, c, p s + i d,
    q s + j d] with L = Ho Wo blocks (conv2d's output law), as F.unfold.  VJP: Fold(g) onto x's (H, W).
    """

    reads_inputs = False  # linear: the VJP needs shapes only

    def forward(ctx, x, kernel_size, dilation, padding, stride):
        out_hw = conv_output_hw("unfold", x.shape, kernel_size, stride, padding, dilation)
        return columns.unfold(x, kernel_size, stride, padding, dilation, out_hw)

    def vjp(ctx, g):
        return Fold.apply(g, output_size=tuple(ctx.input_shapes[0][2:]), **ctx.params)


class Fold(Function):
    """x = fold(cols): cols (N, C kh kw, L) -> (N, C, H, W) with (H, W) = output_size, every block added back where
    unfold took it from (overlaps add up, the padding is cropped), as F.fold.  VJP: Unfold(g).
    """

    reads_inputs = False  # linear: the VJP needs shapes only

    def forward(ctx, cols, output_size, kernel_size, dilation, padding, stride):
        n, ckk, length = cols.shape
        out_hw = conv_output_hw("fold", (n, ckk // (kernel_size[0] * kernel_size[1]), *output_size), kernel_size,
                                stride, padding, dilation)
        if ckk % (kernel_size[0] * kernel_size[1]) or out_hw[0] * out_hw[1] != length:
            raise ShapeError(f"fold: input {cols.shape} must be (N, C * {kernel_size[0]} * {kernel_size[1]}, "
                             f"{out_hw[0] * out_hw[1]}) for kernel_size {tuple(kernel_size)} and output_size "
                             f"{tuple(output_size)}; check kernel_size, output_size, stride, padding and dilation")
        return columns.fold(cols, output_size, kernel_size, stride, padding, dilation, out_hw)

    def vjp(ctx, g):
        p = ctx.params
        return Unfold.apply(g, kernel_size=p["kernel_size"], dilation=p["dilation"], padding=p["padding"],
                            stride=p["stride"])
