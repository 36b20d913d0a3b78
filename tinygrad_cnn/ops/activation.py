"""Activation primitives: the ones a composite of elementwise primitives would make slower or less stable.

``LeakyRelu``, ``Elu`` (elu, celu and selu), ``Hardtanh`` (hardtanh, relu6 and hardsigmoid) are one node each where
the composite ``where(x > 0, x, f(x))`` records three and runs about four array passes in backward; they save a
boolean mask (which side of the kink each element is on) instead of reading the input, so an in-place write to the
input after the forward pass cannot change their gradient (``reads_inputs = False``). ``LogSigmoid`` is stable at any
magnitude (log(sigmoid(x)) is -inf for x < -104 in float32). ``Prelu`` takes its slope as a tensor (learnable).

Kinks follow PyTorch: the side that the derivative at the kink takes is stated in each docstring.
Notation: ``g`` is the gradient of the output, ``out`` the output, ``ub(t, shape)`` = unbroadcast.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .elementwise import Where, broadcast_check, unbroadcast
from .kernels.pointwise import against_scalar


def _float_input(op: str, a: np.ndarray) -> None:
    if a.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {a.dtype}; convert it with .float()")


class LeakyRelu(Function):
    """out = a if a > 0 else negative_slope * a.  VJP: g * (a > 0 ? 1 : negative_slope) (the slope at a = 0)."""

    reads_inputs = False  # the VJP reads the saved mask, not the input

    def forward(ctx, a, negative_slope=0.01):
        _float_input("leaky_relu", a)
        positive = a > 0
        ctx.save_for_backward(positive)
        return np.where(positive, a, a * np.asarray(negative_slope, dtype=a.dtype))

    def vjp(ctx, g):
        (positive,) = ctx.saved
        slope = np.where(positive, np.ones((), g.dtype), np.asarray(ctx.params["negative_slope"], dtype=g.dtype))
        return g * ctx.constant(slope)


class Elu(Function):
    """out = scale * a if a > 0 else scale * alpha * (exp(input_scale * a) - 1) (expm1: exact near 0).

    elu is (alpha, 1, 1), celu (alpha, 1, 1/alpha), selu (1.6733, 1.0507, 1).
    VJP: g * (a > 0 ? scale : input_scale * (out + scale * alpha)), read from the output as PyTorch's result form
    (the derivative at a = 0 is the left one, scale * alpha * input_scale, as PyTorch's ``a <= 0`` branch).
    """

    save_output = True
    reads_inputs = False  # the VJP reads the output and the saved mask, not the input

    def forward(ctx, a, alpha=1.0, scale=1.0, input_scale=1.0):
        _float_input("elu", a)
        positive = a > 0
        ctx.save_for_backward(positive)
        alpha_, scale_, input_scale_ = (np.asarray(v, dtype=a.dtype) for v in (alpha, scale, input_scale))
        negative = (scale_ * alpha_) * np.expm1(input_scale_ * np.minimum(a, 0))  # min: no overflow on the unused side
        return np.where(positive, scale_ * a, negative)

    def vjp(ctx, g):
        (positive,) = ctx.saved
        p = ctx.params
        left = (ctx.output + p["scale"] * p["alpha"]) * p["input_scale"]
        return g * Where.apply(ctx.constant(positive), ctx.constant(np.asarray(p["scale"], dtype=g.dtype)), left)


class Hardtanh(Function):
    """out = min(max(a, min_val), max_val).  VJP: g * [min_val < a < max_val]: 0 AT either bound (as PyTorch's
    hardtanh, unlike clamp, whose bounds are inclusive)."""

    reads_inputs = False  # the VJP reads the saved mask, not the input

    def forward(ctx, a, min_val=-1.0, max_val=1.0):
        _float_input("hardtanh", a)
        lo, hi = np.asarray(min_val, dtype=a.dtype), np.asarray(max_val, dtype=a.dtype)
        ctx.save_for_backward((a > lo) & (a < hi))
        return against_scalar(np.minimum, against_scalar(np.maximum, a, lo), hi)

    def vjp(ctx, g):
        (inside,) = ctx.saved
        return g * ctx.constant(inside.astype(g.dtype))


class LogSigmoid(Function):
    """out = log(sigmoid(a)) = min(a, 0) - log1p(exp(-|a|)): exp never overflows (finite at +-1000 in float32).

    VJP: g * sigmoid(-a) = g * (1 - sigmoid(a)), which is 1 at -inf and 0 at +inf without cancelling.
    """

    def forward(ctx, a):
        _float_input("logsigmoid", a)
        return np.minimum(a, 0) - np.log1p(np.exp(-np.abs(a)))

    def vjp(ctx, g):
        return g * (-ctx.inputs[0]).sigmoid()


class Prelu(Function):
    """out = a if a > 0 else w * a, with w broadcast against a (one slope per channel).

    VJP: (g * (a > 0 ? 1 : w), ub(a > 0 ? 0 : g * a)): the slope w at a = 0, and no gradient to w there (as PyTorch).
    """

    def forward(ctx, a, w):
        _float_input("prelu", a)
        if a.shape != w.shape:
            broadcast_check("prelu", a.shape, w.shape)
        if w.ndim > a.ndim or np.broadcast_shapes(a.shape, w.shape) != a.shape:
            raise ShapeError(f"prelu: weight {w.shape} must broadcast to the input {a.shape} without growing it")
        return np.where(a > 0, a, w * a)

    def vjp(ctx, g):
        a, w = ctx.inputs
        positive = ctx.constant(a.data > 0)
        zero = ctx.constant(np.zeros((), g.dtype))
        ga = Where.apply(positive, g, g * w) if ctx.needs_input_grad[0] else None
        gw = unbroadcast(Where.apply(positive, zero, g * a), w.shape) if ctx.needs_input_grad[1] else None
        return ga, gw


__all__ = ["Elu", "Hardtanh", "LeakyRelu", "LogSigmoid", "Prelu"]

