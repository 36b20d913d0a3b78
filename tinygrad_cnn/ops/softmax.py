"""The log-softmax family: ``LogSoftmax`` (stable) and its backward kernel, the negative log-likelihood, the
binary cross-entropy on logits and on probabilities (PyTorch's clamped form). ``softmax`` is composed:
exp(log_softmax(x)). Their sums are ``accurate_sum`` (pairwise-accurate in float32 along any axis).

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
from .kernels.sums import accurate_sum


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
        return shifted - np.log(accurate_sum(np.exp(shifted), axis=axis, keepdims=True))

    def vjp(ctx, g):
        return LogSoftmaxBackward.apply(g, ctx.output, axis=ctx.params["axis"])


class LogSoftmaxBackward(Function):
    """h = g - exp(y) * sum(g, axis): g and the log-softmax output y, both of one shape -> that shape.

    Linear in g, so with upstream u: dh/dg^T u = u - sum(u * exp(y), axis) and dh/dy^T u = -u * exp(y) * sum(g, axis).
    """

    def forward(ctx, g, y, axis):
        total = g if g.ndim == 0 else accurate_sum(g, axis=axis, keepdims=True)  # a 0-d tensor sums over nothing
        return g - np.exp(y) * total

    def vjp(ctx, u):
        g, y = ctx.inputs
        axis = ctx.params["axis"]
        p = y.exp()
        gg = u - (u * p).sum(axis=axis, keepdims=True) if ctx.needs_input_grad[0] else None
        gy = -(u * p) * g.sum(axis=axis, keepdims=True) if ctx.needs_input_grad[1] else None
        return gg, gy


def _reduce(loss: np.ndarray, reduction: str, count) -> np.ndarray:
    """'none': the losses; 'sum': their sum; 'mean': their sum / ``count``, NaN when ``count`` is 0 (an empty
    batch, every target ignored or every kept weight 0: PyTorch's 0 / 0, its smoothing term included)."""
    if reduction == "none":
        return loss
    total = accurate_sum(loss)
    if reduction == "sum":
        return total
    if count:
        return total / count
    return np.full((), np.nan, dtype=loss.dtype)


def _scale(g: Tensor, reduction: str, count) -> Tensor:
    """The upstream gradient of a reduced loss as a weight per row, broadcasting along the class axis 1:
    g / count ('mean'), g ('sum'), g with a class axis inserted ('none'). A count of 0 is an empty batch, whose
    gradient is empty: g is returned as it is."""
    if reduction == "none":
        return g.reshape(g.shape[:1] + (1,) + g.shape[1:])
    return g / count if reduction == "mean" and count else g


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
                picked, spread = np.einsum("nc,nc->n", q, logp), accurate_sum(logp, axis=1) if e else None
            else:
                w = 1.0 if weight is None else _along_classes(weight, logp.ndim)
                picked, spread = accurate_sum(q * w * logp, axis=1), accurate_sum(w * logp, axis=1) if e else None
            loss = -picked if not e else (e - 1.0) * picked - (e / c) * spread
            return _reduce(loss, reduction, loss.size)
        if weight is None and ignore_index is None and logp.ndim == 2:  # the plain case: one fused gather
            n = logp.shape[0]
            picked = logp[np.arange(n), target]
            loss = -picked if not e else (e - 1.0) * picked - (e / c) * accurate_sum(logp, axis=1)
            return _reduce(loss, reduction, n)
        kept = None if ignore_index is None else target != ignore_index
        safe = target if kept is None else np.where(kept, target, 0)  # an ignored row reads class 0, then drops
        coef = np.ones(target.shape, logp.dtype) if weight is None else weight[safe]
        if kept is not None:
            coef = coef * kept
        loss = -coef * np.take_along_axis(logp, safe[:, None], axis=1)[:, 0]
        if e:
            spread = accurate_sum(logp if weight is None else _along_classes(weight, logp.ndim) * logp, axis=1)
            loss = (1.0 - e) * loss - (e / c) * spread
        if kept is not None:  # exactly 0, even where logp is -inf
            loss = np.where(kept, loss, np.zeros((), logp.dtype))
        denominator = accurate_sum(coef)
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
            share = 1.0 / n if reduction == "mean" and n else 1.0  # the 1/N of 'mean' folded into the constant
            minus_q = np.full((n, c), -e * share / c, dtype=logp.dtype)
            minus_q[np.arange(n), p["target"]] -= (1.0 - e) * share
            return (g.reshape(n, 1) if reduction == "none" else g) * ctx.constant(minus_q)
        safe, coef, kept, denominator = ctx.saved
        # 'mean' divides by D; D = 0 (every kept weight 0) gives PyTorch's -w / 0 on the kept rows, and every
        # ignored row keeps a zero gradient (every target ignored: a NaN loss and a zero gradient, as PyTorch)
        d = np.asarray(denominator if reduction == "mean" else 1, dtype=logp.dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            picked = -(1.0 - e) * coef / d
            minus_q = np.zeros(logp.shape, logp.dtype)
            np.put_along_axis(minus_q, safe[:, None], (picked if kept is None else np.where(kept, picked, 0))[:, None],
                              axis=1)
            if e:
                spread = np.ones((), logp.dtype) if weight is None else _along_classes(weight, logp.ndim)
                smooth = (e / c) * spread / d
                minus_q -= smooth if kept is None else np.where(kept[:, None], smooth, 0)
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


#: PyTorch's floor of each log in binary_cross_entropy, and of p (1 - p) in its gradient: 1e-12 rounded to float32
#: (PyTorch's constant is a float, in float64 too: its gradient at p = 0 is 1.000000004e12, not 1e12)
BCE_LOG_FLOOR = -100.0
BCE_GRAD_EPS = float(np.float32(1e-12))


class BinaryCrossEntropy(Function):
    """loss = (y - 1) max(log1p(-p), -100) - y max(log p, -100), elementwise on probabilities p and targets y of
    one shape (no reduction): PyTorch's clamped form, finite (at most 100) at p = 0 and p = 1.

    VJP, PyTorch's (the unclamped derivative with a floored denominator, not the derivative of the clamps):
    dp = g (p - y) / max(p (1 - p), 1e-12), finite and large (1e12) at p = 0 or 1, so that BCE of sigmoid(x) keeps
    a finite logit gradient; dy = g (log1p(-p) - log p), unclamped (+-inf at p = 0 or 1, as PyTorch).
    """

    def forward(ctx, p, y):
        with np.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf, floored; NaN propagates
            log_p = np.maximum(np.log(p), BCE_LOG_FLOOR)
            log_q = np.maximum(np.log1p(-p), BCE_LOG_FLOOR)
        return (y - 1) * log_q - y * log_p

    def vjp(ctx, g):
        p, y = ctx.inputs
        need = ctx.needs_input_grad
        gp = g * (p - y) / (p * (1 - p)).maximum(BCE_GRAD_EPS) if need[0] else None
        gy = g * ((-p).log1p() - p.log()) if need[1] else None
        return gp, gy


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """log(softmax(x)) along ``axis``, computed stably (the ``LogSoftmax`` primitive)."""
    return LogSoftmax.apply(x, axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``, as exp(log_softmax(x))."""
    return LogSoftmax.apply(x, axis=axis).exp()
