"""log-softmax, a stable primitive; softmax is composed from it (softmax = exp(log_softmax))."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


class LogSoftmax(Function):
    """out = x - max(x) - log(sum(exp(x - max(x)))) along ``axis`` (stable for any magnitude).

    VJP: g - exp(out) * sum(g, axis), i.e. g - softmax(x) * sum(g); written with Tensor ops on ctx.output.
    """

    save_output = True

    def forward(ctx, x, axis):
        if x.ndim == 0:
            raise ValueError("log_softmax: needs at least one axis, got a 0-d tensor")
        if not -x.ndim <= axis < x.ndim:
            raise ValueError(f"log_softmax: axis {axis} is out of range for shape {x.shape}")
        shifted = x - np.max(x, axis=axis, keepdims=True)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))

    def vjp(ctx, g):
        axis = ctx.params["axis"]
        return g - ctx.output.exp() * g.sum(axis=axis, keepdims=True)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``."""
    return LogSoftmax.apply(x, axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, as exp(log_softmax(x))."""
    return LogSoftmax.apply(x, axis=axis).exp()
