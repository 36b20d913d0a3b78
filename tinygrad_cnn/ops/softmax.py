"""The log-softmax family: ``LogSoftmax`` (stable) and its backward kernel, the negative log-likelihood and the
binary cross-entropy on logits. ``softmax`` is composed: exp(log_softmax(x)).

Each primitive's VJP is written with Tensor operations or with another primitive of this file, so losses built on
them can be differentiated to any order.
"""

from __future__ import annotations

import numpy as np

from .._checks import is_int
from ..autograd import Function
from ..errors import ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations
from .elementwise import Softplus, unbroadcast


def _check_axis(op: str, x: np.ndarray, axis: int) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    n = max(x.ndim, 1)  # a 0-d tensor is one element along axis 0 or -1 (PyTorch: softmax 1, log_softmax 0)
    if not is_int(axis) or not -n <= axis < n:
        raise ShapeError(f"{op}: axis {axis!r} is out of range for shape {x.shape}; pass an int in "
                         f"[{-n}, {n - 1}]")


class LogSoftmax(Function):
    """y = x - m - log(sum(exp(x - m), axis)), m = max(x, axis): stable for logits of any magnitude; same shape.

    VJP: g - exp(y) * sum(g, axis) = g - softmax(x) sum(g), computed by ``LogSoftmaxBackward(g, y)``.
    """

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, x, axis):
        _check_axis("log_softmax", x, axis)
        if x.ndim == 0:  # x - log(exp(x)): 0, or NaN for an infinite or NaN x (as PyTorch)
            with np.errstate(invalid="ignore"):
                return x - x
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
        total = g if g.ndim == 0 else g.sum(axis=axis, keepdims=True)  # a 0-d tensor sums over nothing
        return g - np.exp(y) * total

    def vjp(ctx, u):
        g, y = ctx.inputs
        axis = ctx.params["axis"]
        p = y.exp()
        gg = u - (u * p).sum(axis=axis, keepdims=True) if ctx.needs_input_grad[0] else None
        gy = -(u * p) * g.sum(axis=axis, keepdims=True) if ctx.needs_input_grad[1] else None
        return gg, gy


def _reduce(loss: np.ndarray, reduction: str, count) -> np.ndarray:
    """'none': the losses; 'sum': their sum; 'mean': their sum / ``count`` (NaN for 0 / 0, as in PyTorch)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    if count:
        return total / count
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty batch, or every target ignored: NaN
        return total / np.asarray(count, dtype=loss.dtype)


def _scale(g: Tensor, reduction: str, count) -> Tensor:
    """The upstream gradient of a reduced loss as a weight per row, broadcasting along the class axis 1:
    g / count ('mean'), g ('sum'), g with a class axis inserted ('none')."""
    if reduction == "none":
        return g.reshape(g.shape[:1] + (1,) + g.shape[1:])
    return g / count if reduction == "mean" else g


def _along_classes(weight: np.ndarray, ndim: int) -> np.ndarray:
    """A weight per class (C,) shaped to broadcast against (N, C, d1, ...)."""
    return weight.reshape((1, -1) + (1,) * (ndim - 2))


class NLLLoss(Function):
    """loss[n, ...] = -sum_c Q[n, c, ...] logp[n, c, ...], logp of shape (N, C, d1, ...), reduced over every axis
    but C: 'mean' (divided by D) and 'sum' give (), 'none' (N, d1, ...).

    Q comes from a second input (class probabilities q of logp's shape) or from the param ``target`` (N, d1, ...)
    of class indices (one-hot along C). ``smoothing`` e mixes q with the uniform distribution, (1 - e) q + e / C;
    ``weight`` (C,) multiplies class c's terms by w_c; a target equal to ``ignore_index`` (None: none is) gives
    the row Q = 0. D = the number of rows for probabilities, sum of w[target] over the kept rows for indices (as
    PyTorch). VJP with s = g / D, g or g[:, None]: d logp = -s Q, d q = -(1 - e) s w logp.
    """

    def forward(ctx, logp, *probs, target=None, weight=None, ignore_index=None, reduction="mean", smoothing=0.0):
        c, e = logp.shape[1], smoothing
        if weight is not None and weight.dtype != logp.dtype:
            weight = weight.astype(logp.dtype)
        if probs:
            q = probs[0]
            if weight is None and logp.ndim == 2:
                picked, spread = np.einsum("nc,nc->n", q, logp), logp.sum(axis=1) if e else None
            else:
                w = 1.0 if weight is None else _along_classes(weight, logp.ndim)
                picked, spread = (q * w * logp).sum(axis=1), (w * logp).sum(axis=1) if e else None
            loss = -picked if not e else (e - 1.0) * picked - (e / c) * spread
            return _reduce(loss, reduction, loss.size)
        if weight is None and ignore_index is None and logp.ndim == 2:  # the plain case: one fused gather
            n = logp.shape[0]
            picked = logp[np.arange(n), target]
            loss = -picked if not e else (e - 1.0) * picked - (e / c) * logp.sum(axis=1)
            return _reduce(loss, reduction, n)
        kept = None if ignore_index is None else target != ignore_index
        safe = target if kept is None else np.where(kept, target, 0)  # an ignored row reads class 0, then drops
        coef = np.ones(target.shape, logp.dtype) if weight is None else weight[safe]
        if kept is not None:
            coef = coef * kept
        loss = -coef * np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        if e:
            spread = logp.sum(axis=1) if weight is None else (_along_classes(weight, logp.ndim) * logp).sum(axis=1)
            loss = (1.0 - e) * loss - (e / c) * spread
        if kept is not None:  # exactly 0, even where logp is -inf
            loss = np.where(kept, loss, np.zeros((), logp.dtype))
        denominator = coef.sum()
        ctx.save_for_backward(safe, coef, kept, denominator)
        return _reduce(loss, reduction, denominator)

    def vjp(ctx, g):
        logp = ctx.inputs[0]
        p = ctx.params
        c, e, reduction, weight = logp.shape[1], p["smoothing"], p["reduction"], p["weight"]
        if weight is not None and weight.dtype != logp.dtype:
            weight = weight.astype(logp.dtype)
        if len(ctx.inputs) == 2:
            q = ctx.inputs[1]
            s = _scale(g, reduction, logp.size // c if c else 0)
            w = None if weight is None else ctx.constant(_along_classes(weight, logp.ndim))
            if e:
                q = q * (1.0 - e) + e / c
            gl = gq = None
            if ctx.needs_input_grad[0]:
                gl = -(q * s) if w is None else -(q * w * s)
            if ctx.needs_input_grad[1]:
                gq = -(logp * s) * (1.0 - e) if w is None else -(logp * w * s) * (1.0 - e)
            return gl, gq
        if weight is None and p["ignore_index"] is None and logp.ndim == 2:
            n = logp.shape[0]
            share = 1.0 / n if reduction == "mean" else 1.0  # the 1/N of 'mean' folded into the constant
            minus_q = np.full((n, c), -e * share / c, dtype=logp.dtype)
            minus_q[np.arange(n), p["target"]] -= (1.0 - e) * share
            return (g.reshape(n, 1) if reduction == "none" else g) * ctx.constant(minus_q)
        safe, coef, kept, denominator = ctx.saved
        minus_q = np.zeros(logp.shape, logp.dtype)
        np.put_along_axis(minus_q, safe[:, None], -(1.0 - e) * coef[:, None], axis=1)
        if e:
            spread = np.ones((), logp.dtype) if weight is None else _along_classes(weight, logp.ndim)
            minus_q -= (e / c) * spread * (1 if kept is None else kept[:, None])
        if reduction == "mean":  # every target ignored (D = 0): a NaN loss, a zero gradient (as PyTorch)
            minus_q = minus_q / denominator if denominator else minus_q * 0
        return _scale(g, "sum" if reduction == "mean" else reduction, 1) * ctx.constant(minus_q)


class BinaryCrossEntropyWithLogits(Function):
    """loss = -(r y log sigmoid(x) + (1 - y) log sigmoid(-x)), elementwise on x, y of one shape (no reduction);
    r is the optional third input ``pos_weight``, broadcasting to x's shape (1 without it).

    -log sigmoid(x) = log1p(exp(-|x|)) - min(x, 0) never overflows. VJP: dx = g ((1 + (r - 1) y) sigmoid(x) - r y)
    (g (sigmoid(x) - y) for r = 1), dy = g ((r - 1) softplus(-x) - x), dr = g y softplus(-x).
    """

    def forward(ctx, x, y, *pos_weight):
        soft = np.log1p(np.exp(-np.abs(x)))  # log(1 + e^-|x|), shared by both log-sigmoids
        positive = y * (soft - np.minimum(x, 0))
        if pos_weight:
            positive = pos_weight[0] * positive
        return positive + (1 - y) * (soft - np.minimum(-x, 0))

    def vjp(ctx, g):
        x, y = ctx.inputs[:2]
        need = ctx.needs_input_grad
        if len(ctx.inputs) == 2:
            gx = g * (x.sigmoid() - y) if need[0] else None
            gy = -(g * x) if need[1] else None
            return gx, gy
        r = ctx.inputs[2]
        soft_neg = Softplus.apply(-x, threshold=np.inf) if need[1] or need[2] else None  # -log sigmoid(x), exact
        gx = g * ((1 + (r - 1) * y) * x.sigmoid() - r * y) if need[0] else None
        gy = g * ((r - 1) * soft_neg - x) if need[1] else None
        gr = unbroadcast(g * y * soft_neg, r.shape) if need[2] else None
        return gx, gy, gr


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably (the ``LogSoftmax`` primitive)."""
    return LogSoftmax.apply(x, axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, as exp(log_softmax(x))."""
    return LogSoftmax.apply(x, axis=axis).exp()
