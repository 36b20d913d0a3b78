"""Layer normalisation as one primitive, ``LayerNorm``: standardise over the trailing axes, then an optional
elementwise affine map. GroupNorm and InstanceNorm reuse it by reshaping (see tinygrad_cnn/nn/normalization.py and
docs/derivations/normalization.md).

The forward pass is two-pass (the mean, then the mean of the squared deviations), so it is stable in float32 for
inputs whose mean is large against their spread. The VJP is the closed form: on a plain backward pass it runs in
NumPy on the saved x_hat and 1/sigma (no recomputation); when the backward pass itself is recorded
(``create_graph=True``) it is written with Tensor operations, x_hat and 1/sigma rebuilt from x when x requires grad,
so second and higher derivatives are exact.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import is_int
from ..autograd import Function, is_grad_enabled
from ..errors import ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations
from .kernels.sums import accurate_sum, row_dot


def _trailing(ndim: int, k: int) -> tuple[int, ...]:
    return tuple(range(ndim - k, ndim))


class LayerNorm(Function):
    """y = x_hat * w + b with x_hat = (x - mean) / sqrt(var + eps), mean and the biased var over the trailing
    ``normalized_ndim`` axes of x; w and b (optional inputs after x, flagged by ``has_weight`` / ``has_bias``) have
    the shape of those trailing axes. x (*, D1, ..., Dk) -> the same shape.

    VJP, with M = D1 ... Dk, 1/sigma = 1 / sqrt(var + eps), gh = g * w and sums over the trailing axes:
    dx = (1/sigma) / M * (M gh - sum(gh) - x_hat sum(gh x_hat)); dw = sum over the leading axes of g x_hat;
    db = sum over the leading axes of g.
    """

    save_output = True  # without affine inputs the output is x_hat itself: saved once, guarded against writes

    def forward(ctx, x, *affine, normalized_ndim=1, eps=1e-5, has_weight=False, has_bias=False):
        if x.dtype.kind != "f":
            raise TypeError(f"layer_norm: input has dtype {x.dtype}; convert it with .float()")
        k = normalized_ndim
        if not is_int(k) or not 1 <= k <= x.ndim:
            raise ShapeError(f"layer_norm: normalized_ndim {k!r} must be in [1, {x.ndim}] for input of shape "
                             f"{x.shape}")
        if len(affine) != int(has_weight) + int(has_bias):
            raise ValueError(f"layer_norm: got {len(affine)} affine inputs for has_weight={has_weight}, "
                             f"has_bias={has_bias}")
        trailing = x.shape[x.ndim - k:]
        for name, a in zip([n for n, flag in (("weight", has_weight), ("bias", has_bias)) if flag], affine):
            if a.shape != trailing:
                raise ShapeError(f"layer_norm: {name} has shape {a.shape} but the normalized shape is {trailing}")
            if a.dtype != x.dtype:
                raise TypeError(f"layer_norm: input is {x.dtype} but {name} is {a.dtype}; convert one with "
                                ".float()/.double()")
        m = math.prod(trailing)
        rows = x.reshape(-1, m) if m else x.reshape(math.prod(x.shape[:x.ndim - k]), 0)
        with np.errstate(invalid="ignore", divide="ignore"):  # M = 0: empty rows, an empty result
            centred = rows - rows.sum(axis=1, keepdims=True) / x.dtype.type(m)
            var = row_dot(centred, centred)[:, None] / x.dtype.type(m)
            inv_std = 1.0 / np.sqrt(var + x.dtype.type(eps))  # eps = 0 on a constant row: 1/0, then 0 * inf = NaN
            centred *= inv_std  # x_hat, in place
        x_hat = centred.reshape(x.shape)
        inv_std = inv_std.reshape(x.shape[:x.ndim - k] + (1,) * k)
        if not affine:
            ctx.save_for_backward(None, inv_std)
            return x_hat
        ctx.save_for_backward(x_hat, inv_std)
        out = x_hat * affine[0] if has_weight else x_hat + affine[0]
        if has_weight and has_bias:
            out += affine[1]
        return out

    def vjp(ctx, g):
        x = ctx.inputs[0]
        p = ctx.params
        k, has_weight, has_bias = p["normalized_ndim"], p["has_weight"], p["has_bias"]
        need = ctx.needs_input_grad
        axes = _trailing(x.ndim, k)
        leading = tuple(range(x.ndim - k))
        m = math.prod(x.shape[x.ndim - k:])
        if m == 0:  # every input is empty (the normalized shape has a 0): so is every gradient
            return tuple(ctx.constant(np.zeros(shape, g.dtype)) if wants else None
                         for shape, wants in zip(ctx.input_shapes, need))
        if not is_grad_enabled():  # a plain backward pass: the closed form in NumPy on the saved arrays
            return _plain_vjp(ctx, g.data, m)
        if x.requires_grad:  # a recorded backward pass: x_hat and 1/sigma as functions of x
            centred = x - x.sum(axis=axes, keepdims=True) / m
            inv_std = ((centred * centred).sum(axis=axes, keepdims=True) / m + p["eps"]).rsqrt()
            x_hat = centred * inv_std
        else:
            saved_hat, saved_inv = ctx.saved
            x_hat = ctx.constant(ctx.output.data if saved_hat is None else saved_hat)
            inv_std = ctx.constant(saved_inv)
        weight = ctx.inputs[1] if has_weight else None
        gh = g * weight if has_weight else g
        gx = gw = gb = None
        if need[0]:
            s1 = gh.sum(axis=axes, keepdims=True)
            s2 = (gh * x_hat).sum(axis=axes, keepdims=True)
            gx = (gh * m - s1 - x_hat * s2) * (inv_std / m)
        if has_weight and need[1]:
            gw = _sum_leading(g * x_hat, leading)
        if has_bias and need[1 + int(has_weight)]:
            gb = _sum_leading(g, leading)
        return (gx,) + ((gw,) if has_weight else ()) + ((gb,) if has_bias else ())


def _plain_vjp(ctx: LayerNorm, g: np.ndarray, m: int) -> tuple:
    """The VJP's closed form on arrays, rows of M elements: dx = s/M (M h - sum h - x_hat sum(h x_hat)), dw =
    column sums of g x_hat, db = column sums of g (the results are constants: nothing differentiates them)."""
    p, need = ctx.params, ctx.needs_input_grad
    has_weight, has_bias = p["has_weight"], p["has_bias"]
    saved_hat, inv_std = ctx.saved
    x_hat = (ctx.output.data if saved_hat is None else saved_hat).reshape(-1, m)
    g2 = g.reshape(-1, m)
    gx = gw = gb = None
    if need[0]:
        h = g2 * ctx.inputs[1].data.reshape(1, m) if has_weight else g2
        s1 = h.sum(axis=1, keepdims=True)
        s2 = row_dot(h, x_hat)[:, None]
        dx = h * x_hat.dtype.type(m)
        dx -= s1
        dx -= x_hat * s2
        dx *= inv_std.reshape(-1, 1) / x_hat.dtype.type(m)
        gx = ctx.constant(dx.reshape(ctx.input_shapes[0]))
    trailing = ctx.input_shapes[0][len(ctx.input_shapes[0]) - p["normalized_ndim"]:]
    if has_weight and need[1]:
        gw = ctx.constant(accurate_sum(np.multiply(g2, x_hat), axis=0).reshape(trailing))
    if has_bias and need[1 + int(has_weight)]:
        gb = ctx.constant(accurate_sum(g2, axis=0).reshape(trailing))
    return (gx,) + ((gw,) if has_weight else ()) + ((gb,) if has_bias else ())


def _sum_leading(t: Tensor, leading: tuple[int, ...]) -> Tensor:
    """t summed over its leading axes (t itself when there are none)."""
    return t.sum(axis=leading) if leading else t
