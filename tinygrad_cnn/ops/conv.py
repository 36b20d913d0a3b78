"""Convolution and pooling primitives (NCHW), vectorised: im2col by strided views plus one batched GEMM.

conv2d is bilinear, y = conv(x, w). Its VJPs are two more bilinear primitives, the adjoints of conv in each
argument; each of the three has its VJP written with the three, so the family is closed under differentiation:

    <u, conv(x, w)> = <input_grad(u, w), x> = <weight_grad(x, u), w>.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function


def _pad(x: np.ndarray, padding, value=0.0) -> np.ndarray:
    if padding == (0, 0):
        return x
    return np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2), constant_values=value)


def _batch_last(a: np.ndarray, padding=(0, 0)) -> np.ndarray:
    """(N, C, H, W) -> (C, H + 2 ph, W + 2 pw, N) zero-padded, batch innermost (see ``batch_innermost``).

    No copy when ``a`` is already a transposed view of a contiguous (C, H, W, N) array and needs no padding.
    """
    if padding == (0, 0):
        return np.ascontiguousarray(a.transpose(1, 2, 3, 0))
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


def im2col(x: np.ndarray, kernel, stride, padding, dilation, groups, out_hw) -> np.ndarray:
    """The columns cols[(c, i, j), (p, q)] = x_pad[n, c, p s + i d, q s + j d] of every image n, copied out of one
    strided view, in the layout ``batch_innermost(out_hw)`` picks: (groups, C/g kh kw, Ho Wo N) or
    (N, groups, C/g kh kw, Ho Wo).
    """
    n, c = x.shape[:2]
    k = (c // groups) * kernel[0] * kernel[1]
    if batch_innermost(out_hw):
        xp = _batch_last(x, padding)
        sc, sh, sw, sn = xp.strides
        view = as_strided(xp, (c, kernel[0], kernel[1], out_hw[0], out_hw[1], n),
                          (sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1], sn), writeable=False)
        return view.reshape(groups, k, out_hw[0] * out_hw[1] * n)
    xp = _pad(x, padding)
    sn, sc, sh, sw = xp.strides
    view = as_strided(xp, (n, c, kernel[0], kernel[1], out_hw[0], out_hw[1]),
                      (sn, sc, sh * dilation[0], sw * dilation[1], sh * stride[0], sw * stride[1]), writeable=False)
    return view.reshape(n, groups, k, out_hw[0] * out_hw[1])


def _blocks(total: int, target: int = 4096) -> int:
    """Into how many equal blocks of about ``target`` columns to cut a GEMM's long axis of ``total`` columns.

    OpenBLAS is slow on thin GEMMs whose long axis (Ho Wo N, up to 10^5) is huge next to the others (O, C kh kw
    below ~30); a batch of blocks runs several times faster. 1 when the axis is short or has no fitting divisor.
    """
    if total <= 4 * target:
        return 1
    for blocks in range(-(-total // target), total // (target // 4) + 1):
        if total % blocks == 0:
            return blocks
    return 1


def _gemm_wide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (G, M, K) @ b (G, K, T) -> (G, M, T), computed as a batch of column blocks written in place."""
    (g, m, k), t = a.shape, b.shape[2]
    nb = _blocks(t)
    if nb == 1:
        return np.matmul(a, b)
    out = np.empty((g, m, t), dtype=np.result_type(a, b))
    np.matmul(a[:, None], b.reshape(g, k, nb, t // nb).transpose(0, 2, 1, 3),
              out=out.reshape(g, m, nb, t // nb).transpose(0, 2, 1, 3))
    return out


def _gemm_reduce(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a (G, M, T) @ b (G, K, T)^T -> (G, M, K), the long axis T summed block by block."""
    (g, m, t), k = a.shape, b.shape[1]
    nb = _blocks(t)
    if nb == 1:
        return np.matmul(a, b.transpose(0, 2, 1))
    blocks = np.matmul(a.reshape(g, m, nb, t // nb).transpose(0, 2, 1, 3),
                       b.reshape(g, k, nb, t // nb).transpose(0, 2, 3, 1))  # (G, blocks, M, K)
    return blocks.sum(axis=1)


def col2im(cols: np.ndarray, input_shape, kernel, stride, padding, dilation, out_hw) -> np.ndarray:
    """Adjoint of im2col: cols (C, kh, kw, Ho, Wo, N) summed into (N, C, H, W) by k*k strided slice additions.

    The batch axis is innermost, so every addition runs over contiguous blocks of Wo * N elements.
    """
    n, c, h, w = input_shape
    (ph, pw), (ho, wo), (sh, sw) = padding, out_hw, stride
    out = np.zeros((c, h + 2 * ph, w + 2 * pw, n), dtype=cols.dtype)
    for i in range(kernel[0]):
        r = i * dilation[0]
        for j in range(kernel[1]):
            q = j * dilation[1]
            out[:, r:r + sh * (ho - 1) + 1:sh, q:q + sw * (wo - 1) + 1:sw] += cols[:, i, j]
    return out[:, ph:ph + h, pw:pw + w].transpose(3, 0, 1, 2).copy()


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
        kernel = w.shape[2:]
        out_hw = conv_output_hw("conv2d", x.shape, kernel, stride, padding, dilation)
        cols = im2col(x, kernel, stride, padding, dilation, groups, out_hw)
        if ctx.needs_input_grad[1]:
            ctx.save_for_backward(cols)
        wg = w.reshape(groups, w.shape[0] // groups, cols.shape[-2])  # (g, O/g, K); K is second to last in both layouts
        if not batch_innermost(out_hw):
            out = np.matmul(wg, cols).reshape(x.shape[0], w.shape[0], *out_hw)  # @ (N, g, K, Ho Wo)
            if bias:
                out += bias[0].reshape(1, -1, 1, 1)
            return out
        out = _gemm_wide(wg, cols)  # @ (g, K, Ho Wo N) -> (g, O/g, Ho Wo N)
        if bias:
            rows = out.reshape(w.shape[0], -1)  # a view: the GEMM's output is contiguous
            rows += bias[0][:, None]
        return np.ascontiguousarray(out.reshape(w.shape[0], *out_hw, x.shape[0]).transpose(3, 0, 1, 2))

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
        n, o, ho, wo = g.shape
        kh, kw = w.shape[2:]
        # explicit sizes, never -1: NumPy cannot infer an axis of an empty array (N = 0 or O = 0)
        wg = w.reshape(groups, o // groups, w.shape[1] * kh * kw)  # (g, O/g, C/g kh kw)
        gt = _batch_last(g).reshape(groups, o // groups, ho * wo * n)  # (g, O/g, Ho Wo N)
        dcols = np.matmul(wg.transpose(0, 2, 1), gt)  # (g, C/g kh kw, Ho Wo N)
        dcols = dcols.reshape(input_shape[1], kh, kw, ho, wo, n)
        return col2im(dcols, input_shape, (kh, kw), stride, padding, dilation, (ho, wo))

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

    def forward(ctx, x, g, weight_shape, stride, padding, dilation, groups, cols=None):
        """``cols``: the forward pass's im2col buffer of x, reused when given; not kept on the node."""
        ctx.params.pop("cols", None)  # a one-off hint: a recorded node must not hold the buffer alive
        n, o = g.shape[:2]
        if cols is None:
            cols = im2col(x, weight_shape[2:], stride, padding, dilation, groups, g.shape[2:])
        p_out = g.shape[2] * g.shape[3]
        if batch_innermost(g.shape[2:]):
            gt = _batch_last(g).reshape(groups, o // groups, p_out * n)  # (g, O/g, Ho Wo N)
            dw = _gemm_reduce(gt, cols)  # (g, O/g, Ho Wo N) @ (g, Ho Wo N, C/g kh kw)
        else:  # one GEMM per image, (N, g, O/g, Ho Wo) @ (N, g, Ho Wo, C/g kh kw), summed over the batch
            dw = np.matmul(g.reshape(n, groups, o // groups, p_out), cols.transpose(0, 1, 3, 2)).sum(axis=0)
        return dw.reshape(weight_shape)

    def vjp(ctx, v):
        x, g = ctx.inputs
        p = {k: ctx.params[k] for k in ("stride", "padding", "dilation", "groups")}
        gx = Conv2dInputGrad.apply(g, v, input_shape=x.shape, **p) if ctx.needs_input_grad[0] else None
        gg = Conv2d.apply(x, v, **p) if ctx.needs_input_grad[1] else None
        return gx, gg


def _pool_geometry(op, x_shape, kernel, stride, padding, dilation):
    """(Ho, Wo) of a pooling window; ValueError for non-positive sizes or padding above half the kernel."""
    for name, pair in (("kernel_size", kernel), ("stride", stride), ("dilation", dilation)):
        if min(pair) <= 0:
            raise ValueError(f"{op}: {name} must be positive, got {pair} for input {tuple(x_shape)}")
    if min(padding) < 0 or padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be >= 0 and at most half the kernel size {kernel} (input "
                         f"{tuple(x_shape)}); lower the padding or enlarge the kernel")
    return conv_output_hw(op, x_shape, kernel, stride, padding, dilation)


def _tiles(shape, kernel, stride, padding, dilation) -> bool:
    """True when the windows tile the input exactly, so pooling is a reshape."""
    return (tuple(kernel) == tuple(stride) and padding == (0, 0) and dilation == (1, 1)
            and shape[2] % kernel[0] == 0 and shape[3] % kernel[1] == 0)


def _offset_views(xp: np.ndarray, kernel, stride, dilation, out_hw):
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


def _index_dtype(kernel) -> np.dtype:
    return np.dtype(np.int8 if kernel[0] * kernel[1] <= 127 else np.int32)


class MaxPool2d(Function):
    """y[n, c, p, q] = max over the window at (p s, q s); x (N, C, H, W) -> (N, C, Ho, Wo).

    Computed offset by offset over the k*k kernel positions (vectorised over N, C, Ho, Wo), keeping the index of
    the first maximum in row-major order when a gradient will be needed. VJP: MaxPool2dScatter(g), each window's
    gradient to that element.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, kernel_size, stride, padding, dilation):
        out_hw = _pool_geometry("max_pool2d", x.shape, kernel_size, stride, padding, dilation)
        fill = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
        views = _offset_views(_pad(x, padding, fill), kernel_size, stride, dilation, out_hw)
        best = next(views).copy()
        if not ctx.needs_input_grad[0]:  # inference: the maximum alone
            for view in views:
                np.maximum(best, view, out=best)
            return best
        index = np.zeros(best.shape, _index_dtype(kernel_size))
        for k, view in enumerate(views, 1):
            better = view > best  # strict: ties keep the earlier (row-major first) element
            np.maximum(best, view, out=best)  # NaN propagates to the output, as in np.max
            step = k - index
            step *= better
            index += step
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
        n, c, h, w = input_shape
        ph, pw = padding
        exact = _tiles(input_shape, kernel_size, stride, padding, dilation)  # every element in exactly one window
        out = (np.empty if exact else np.zeros)((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
        for k, view in enumerate(_offset_views(out, kernel_size, stride, dilation, g.shape[2:])):
            if exact:
                np.multiply(g, index == k, out=view)
            else:
                view += g * (index == k)
        return out[:, :, ph:ph + h, pw:pw + w] if (ph or pw) else out

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
        out = np.zeros(index.shape, dtype=u.dtype)
        for k, view in enumerate(_offset_views(_pad(u, padding), kernel_size, stride, dilation, index.shape[2:])):
            out += view * (index == k)
        return out

    def vjp(ctx, g):
        return MaxPool2dScatter.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class AvgPool2d(Function):
    """y = mean of each window (zero padding counted); x (N, C, H, W) -> (N, C, Ho, Wo).

    VJP: AvgPool2dBackward(g), g / (kh kw) spread over each window.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, kernel_size, stride, padding):
        out_hw = _pool_geometry("avg_pool2d", x.shape, kernel_size, stride, padding, (1, 1))
        views = _offset_views(_pad(x, padding), kernel_size, stride, (1, 1), out_hw)
        total = next(views).copy()
        for view in views:
            total += view
        total *= np.asarray(1.0 / (kernel_size[0] * kernel_size[1]), dtype=x.dtype)
        return total

    def vjp(ctx, g):
        return AvgPool2dBackward.apply(g, input_shape=ctx.input_shapes[0], **ctx.params)


class AvgPool2dBackward(Function):
    """dx = g / (kh kw) added over each window; g (N, C, Ho, Wo) -> (N, C, H, W).  VJP: avg_pool2d(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_shape, kernel_size, stride, padding):
        n, c, h, w = input_shape
        ph, pw = padding
        share = g * np.asarray(1.0 / (kernel_size[0] * kernel_size[1]), dtype=g.dtype)
        out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=g.dtype)
        for view in _offset_views(out, kernel_size, stride, (1, 1), g.shape[2:]):
            view += share
        return out[:, :, ph:ph + h, pw:pw + w] if (ph or pw) else out

    def vjp(ctx, u):
        p = ctx.params
        return AvgPool2d.apply(u, kernel_size=p["kernel_size"], stride=p["stride"], padding=p["padding"])
