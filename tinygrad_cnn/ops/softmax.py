"""The log-softmax family: ``LogSoftmax`` (stable) and its backward kernel, the negative log-likelihood and the
binary cross-entropy on logits. ``softmax`` is composed: exp(log_softmax(x)).

Each primitive's VJP is written with Tensor operations or with another primitive of this file, so losses built on
them can be differentiated to any order.
"""

from __future__ import annotations

import numpy as np

from .._checks import is_int
from ..autograd import Function
from ..tensor_core import TensorCore as Tensor  # for annotations


def _check_axis(op: str, x: np.ndarray, axis: int) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    if x.ndim == 0:
        raise ValueError(f"{op}: needs at least one axis, got a 0-d tensor; reshape it to (1,)")
    if not is_int(axis) or not -x.ndim <= axis < x.ndim:
        raise ValueError(f"{op}: axis {axis!r} is out of range for shape {x.shape}; pass an int in "
                         f"[{-x.ndim}, {x.ndim - 1}]")


class LogSoftmax(Function):
    """y = x - m - log(sum(exp(x - m), axis)), m = max(x, axis): stable for logits of any magnitude; same shape.

    VJP: g - exp(y) * sum(g, axis) = g - softmax(x) sum(g), computed by ``LogSoftmaxBackward(g, y)``.
    """

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, x, axis):
        _check_axis("log_softmax", x, axis)
        if x.shape[axis] == 0:  # no max to shift by; the result is as empty as the input
            return np.empty_like(x)
        shifted = x - x.max(axis=axis, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def vjp(ctx, g):
        return LogSoftmaxBackward.apply(g, ctx.output, axis=ctx.params["axis"])


class LogSoftmaxBackward(Function):
    """h = g - exp(y) * sum(g, axis): g and the log-softmax output y, both of one shape -> that shape.

    Linear in g, so with upstream u: dh/dg^T u = u - sum(u * exp(y), axis) and dh/dy^T u = -u * exp(y) * sum(g, axis).
    """

    def forward(ctx, g, y, axis):
        return g - np.exp(y) * g.sum(axis=axis, keepdims=True)

    def vjp(ctx, u):
        g, y = ctx.inputs
        axis = ctx.params["axis"]
        p = y.exp()
        gg = u - (u * p).sum(axis=axis, keepdims=True) if ctx.needs_input_grad[0] else None
        gy = -(u * p) * g.sum(axis=axis, keepdims=True) if ctx.needs_input_grad[1] else None
        return gg, gy


def _reduce(loss: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    with np.errstate(invalid="ignore"):  # an empty batch has a NaN mean, as in PyTorch
        return total / loss.shape[0]


def _scale(g: Tensor, n: int, reduction: str) -> Tensor:
    """The upstream gradient of a reduced loss as a per-row weight: g / N ('mean'), g ('sum'), g[:, None] ('none')."""
    if reduction == "none":
        return g.reshape(n, 1)
    return g / n if reduction == "mean" else g


class NLLLoss(Function):
    """loss_n = -sum_c q[n, c] logp[n, c] with logp (N, C), reduced over n: 'mean' (/ N) and 'sum' give (), 'none' (N,).

    q is given as a second input (class probabilities, (N, C)) or as the param ``target`` (N,) of class indices,
    meaning one-hot rows. ``smoothing`` e mixes q with the uniform distribution: (1 - e) q + e / C.
    VJP with w = g / N, g or g[:, None]: d logp = -w q, d q = -(1 - e) w logp.
    """

    def forward(ctx, logp, *probs, target=None, reduction="mean", smoothing=0.0):
        n, c = logp.shape
        picked = np.einsum("nc,nc->n", probs[0], logp) if probs else logp[np.arange(n), target]
        loss = -picked if not smoothing else (smoothing - 1.0) * picked - (smoothing / c) * logp.sum(axis=1)
        return _reduce(loss, reduction)

    def vjp(ctx, g):
        logp = ctx.inputs[0]
        n, c = logp.shape
        p = ctx.params
        e = p["smoothing"]
        if len(ctx.inputs) == 2:
            q, w = ctx.inputs[1], _scale(g, n, p["reduction"])
            if e:
                q = q * (1.0 - e) + e / c
            gl = -(q * w) if ctx.needs_input_grad[0] else None
            gq = -(logp * w) * (1.0 - e) if ctx.needs_input_grad[1] else None
            return gl, gq
        reduction = p["reduction"]
        share = 1.0 / n if reduction == "mean" else 1.0  # the 1/N of 'mean' folded into the constant
        minus_q = np.full((n, c), -e * share / c, dtype=logp.dtype)
        minus_q[np.arange(n), p["target"]] -= (1.0 - e) * share
        return (g.reshape(n, 1) if reduction == "none" else g) * ctx.constant(minus_q)


class BinaryCrossEntropyWithLogits(Function):
    """loss = -(y log sigmoid(x) + (1 - y) log sigmoid(-x)), elementwise on x, y of one shape (no reduction).

    log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)) never overflows. VJP: (g (sigmoid(x) - y), -g x).
    """

    def forward(ctx, x, y):
        soft = np.log1p(np.exp(-np.abs(x)))  # log(1 + e^-|x|), shared by both log-sigmoids
        return y * (soft - np.minimum(x, 0)) + (1 - y) * (soft - np.minimum(-x, 0))

    def vjp(ctx, g):
        x, y = ctx.inputs
        gx = g * (x.sigmoid() - y) if ctx.needs_input_grad[0] else None
        gy = -(g * x) if ctx.needs_input_grad[1] else None
        return gx, gy


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably (the ``LogSoftmax`` primitive)."""
    return LogSoftmax.apply(x, axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, as exp(log_softmax(x))."""
    return LogSoftmax.apply(x, axis=axis).exp()
