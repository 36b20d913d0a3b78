"""The losses of the functional API (re-exported by ``tinygrad_cnn.nn.functional``): PyTorch's names, arguments,
defaults and reductions ('mean', 'sum', 'none'; kl_div also 'batchmean').

Class-index targets are never differentiated; float targets (probabilities, labels, regression targets, variances)
are, wherever PyTorch differentiates them. The classification losses run on the ``NLLLoss``,
``BinaryCrossEntropy`` and ``BinaryCrossEntropyWithLogits`` primitives (ops/softmax.py); the others are exact,
stable compositions of elementwise primitives (see docs/derivations/losses.md). A 'mean' over an empty batch is
NaN with an empty (zero-size) gradient, as PyTorch.
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np

from .._checks import as_bool, as_choice, as_int, as_real
from ..autograd import is_grad_enabled
from ..errors import ShapeError
from ..ops.elementwise import Softplus
from ..ops.movement import TensorIndexError
from ..ops.softmax import BinaryCrossEntropy, BinaryCrossEntropyWithLogits, LogSoftmax, NLLLoss
from ..tensor_class import Tensor, as_tensor, where

Reduction = Literal["mean", "sum", "none"]

__all__ = [
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "cosine_similarity",
    "cross_entropy", "gaussian_nll_loss", "hinge_embedding_loss", "huber_loss", "kl_div", "l1_loss",
    "margin_ranking_loss", "mse_loss", "nll_loss", "pairwise_distance", "poisson_nll_loss", "smooth_l1_loss",
    "soft_margin_loss", "triplet_margin_loss",
]


# ---- argument checks ------------------------------------------------------------------------------------------
def _check_reduction(op: str, reduction: str, choices: tuple[str, ...] = ("mean", "sum", "none")) -> str:
    return as_choice(op, "reduction", reduction, choices)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":  # an empty batch has a NaN mean and an empty gradient, silently, as in PyTorch
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _float_input(op: str, x, name: str = "input") -> Tensor:
    x = as_tensor(op, name, x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: {name} has dtype {x.dtype}; convert it with .float()")
    return x


def _target_like(op: str, x: Tensor, target, name: str = "target") -> Tensor:
    """``target`` as a Tensor of x's shape and dtype; a target that needs no grad is cast, one that does must match."""
    t = as_tensor(op, name, target)
    if t.shape != x.shape:
        raise ShapeError(f"{op}: input {x.shape} and {name} {t.shape} must have the same shape")
    return _cast_like(op, x, t, name)


def _cast_like(op: str, x: Tensor, t: Tensor, name: str) -> Tensor:
    if t.dtype != x.dtype:
        if t.requires_grad:
            raise TypeError(f"{op}: input is {x.dtype} but {name} is {t.dtype}; convert one with .float()/.double()")
        if t.dtype.kind not in "biuf":
            raise TypeError(f"{op}: {name} has dtype {t.dtype}; pass numbers")
        t = Tensor(t.data.astype(x.dtype))
    return t


def _broadcast_weight(op: str, x: Tensor, weight, name: str = "weight") -> Tensor | None:
    """An elementwise weight (None, or a tensor broadcasting to x's shape) as a Tensor of x's dtype."""
    if weight is None:
        return None
    w = as_tensor(op, name, weight)
    try:
        shape = np.broadcast_shapes(w.shape, x.shape)
    except ValueError:
        shape = None
    if shape != x.shape:
        raise ShapeError(f"{op}: {name} {w.shape} must broadcast to the input's shape {x.shape}")
    return _cast_like(op, x, w, name)


def _raw_target(op: str, target) -> np.ndarray:
    if isinstance(target, Tensor):
        return target.data
    try:
        return np.asarray(target)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{op}: target must be a Tensor or array of class indices: {err}") from None


def _class_input(op: str, x) -> Tensor:
    x = as_tensor(op, "input", x)
    if x.ndim == 0:
        raise ShapeError(f"{op}: expected input of shape (N, C) or (N, C, d1, ...) or (C,), got a 0-d tensor")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; pass float scores (convert with .float())")
    return x


def _class_targets(op: str, target, shape: tuple[int, ...], ignore_index: int) -> tuple[np.ndarray, int | None]:
    """Integer class indices of shape (N, d1, ...) for input (N, C, d1, ...), each in [0, C) or ``ignore_index``,
    and the ignore_index the primitive needs (None when no target equals it). TensorIndexError (an IndexError and a
    ValueError) for a value out of range, ValueError for a wrong shape, TypeError for a dtype."""
    raw = _raw_target(op, target)
    expected = shape[:1] + shape[2:]
    if raw.shape != expected:
        raise ShapeError(f"{op}: expected class targets of shape {expected} for input of shape {shape}, got shape "
                         f"{raw.shape}")
    if raw.dtype.kind not in "iu":
        raise TypeError(f"{op}: class targets must be integers, got dtype {raw.dtype}; convert them with "
                        f".astype(np.int64), or pass class probabilities of shape {shape}")
    if not raw.size:
        return raw, None
    classes, low, high = shape[1], raw.min(), raw.max()
    ignored = low <= ignore_index <= high and bool((raw == ignore_index).any())
    if low < 0 or high >= classes:
        kept = raw[raw != ignore_index]
        if kept.size and (kept.min() < 0 or kept.max() >= classes):
            raise TensorIndexError(
                f"{op}: class targets must be in [0, {classes - 1}] for input of shape {shape}, got values from "
                f"{kept.min()} to {kept.max()} (a target equal to ignore_index={ignore_index} would be skipped)")
    return raw, (ignore_index if ignored else None)


def _class_weight(op: str, weight, classes: int, dtype: np.dtype) -> np.ndarray | None:
    """A weight per class (C,) as an array of the input's dtype; it is a constant, as in PyTorch."""
    if weight is None:
        return None
    w = as_tensor(op, "weight", weight)
    if w.shape != (classes,):
        raise ShapeError(f"{op}: weight must have one entry per class, shape ({classes},), got {w.shape}")
    if w.dtype.kind not in "iuf":
        raise TypeError(f"{op}: weight has dtype {w.dtype}; pass float weights")
    if w.requires_grad and is_grad_enabled():
        raise RuntimeError(f"{op}: the class weight is not differentiated (as in PyTorch); pass weight.detach()")
    return w.data.astype(dtype, copy=False)


def _unbatched(op: str, x: Tensor, target, probabilities: bool):
    """An unbatched (C,) input and its target as a batch of one."""
    if probabilities:
        return x.reshape(1, -1), target.reshape(1, -1)
    raw = _raw_target(op, target)
    if raw.shape != ():
        raise ShapeError(f"{op}: expected class targets of shape () for input of shape {x.shape}, got shape "
                         f"{raw.shape}")
    return x.reshape(1, -1), raw.reshape(1)


# ---- classification ---------------------------------------------------------------------------------------------
def nll_loss(input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: Reduction = "mean") -> Tensor:
    """-w[t] input[n, t[n], ...] per row, reduced: input (N, C), (N, C, d1, ...) or (C,) of log-probabilities,
    target (N,), (N, d1, ...) or () of class indices.

    ``weight`` (C,) weighs each class; a target equal to ``ignore_index`` adds nothing. 'mean' divides by the sum
    of the weights of the kept targets (their count without weight; NaN when every target is ignored), as PyTorch.
    Gradient with respect to the input: -w[t] onehot(t), divided by that sum for 'mean'.
    """
    log_probs = _class_input("nll_loss", input)
    _check_reduction("nll_loss", reduction)
    ignore_index = as_int("nll_loss", "ignore_index", ignore_index)
    unbatched = log_probs.ndim == 1
    if unbatched:
        log_probs, target = _unbatched("nll_loss", log_probs, target, False)
    target, ignore = _class_targets("nll_loss", target, log_probs.shape, ignore_index)
    w = _class_weight("nll_loss", weight, log_probs.shape[1], log_probs.dtype)
    out = NLLLoss.apply(log_probs, target=target, weight=w, ignore_index=ignore, reduction=reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


def cross_entropy(input: Tensor, target, weight=None, *, ignore_index: int = -100, reduction: Reduction = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """-sum_c w_c q[n, c] log_softmax(input)[n, c], reduced: input (N, C), (N, C, d1, ...) or (C,).

    q is the one-hot row of an integer target (N, d1, ...), or class probabilities of the input's shape; label
    smoothing e uses (1 - e) q + e / C. ``weight`` (C,) and ``ignore_index`` (class indices only) as in
    ``nll_loss``: 'mean' divides by the summed weight of the kept targets for class indices, by the number of rows
    for probabilities (as PyTorch). Gradient with respect to the logits: softmax(input) sum_c(w q) - w q.
    """
    logits = _class_input("cross_entropy", input)
    _check_reduction("cross_entropy", reduction)
    label_smoothing = float(as_real("cross_entropy", "label_smoothing", label_smoothing, low=0, high=1))
    ignore_index = as_int("cross_entropy", "ignore_index", ignore_index)
    raw = _raw_target("cross_entropy", target)
    probabilities = raw.ndim == logits.ndim
    unbatched = logits.ndim == 1
    if probabilities:
        probs = as_tensor("cross_entropy", "target", target)
        if probs.dtype.kind != "f":
            indices = logits.shape[:1] + logits.shape[2:] if logits.ndim > 1 else ()
            raise TypeError(f"cross_entropy: class probabilities must be floats, got dtype {probs.dtype}; pass "
                            f"integer class indices of shape {indices} instead")
        probs = _target_like("cross_entropy", logits, probs)
        if ignore_index >= 0:
            raise ValueError(f"cross_entropy: ignore_index={ignore_index} is not supported with class probabilities "
                             "as targets (as in PyTorch); give the rows to ignore a zero weight instead")
        target = probs
    else:
        target = raw
    if unbatched:
        logits, target = _unbatched("cross_entropy", logits, target, probabilities)
    w = _class_weight("cross_entropy", weight, logits.shape[1], logits.dtype)
    log_probs = LogSoftmax.apply(logits, axis=1)
    if probabilities:
        out = NLLLoss.apply(log_probs, target, weight=w, reduction=reduction, smoothing=label_smoothing)
    else:
        target, ignore = _class_targets("cross_entropy", target, logits.shape, ignore_index)
        out = NLLLoss.apply(log_probs, target=target, weight=w, ignore_index=ignore, reduction=reduction,
                            smoothing=label_smoothing)
    return out.reshape(()) if unbatched and reduction == "none" else out


def binary_cross_entropy(input: Tensor, target, weight=None, *, reduction: Reduction = "mean") -> Tensor:
    """-w (y log p + (1 - y) log(1 - p)) for p in [0, 1], reduced; each log is at least -100 as in PyTorch
    (the ``BinaryCrossEntropy`` primitive). ``weight`` broadcasts to the input's shape.

    Gradient, PyTorch's: w (p - y) / max(p (1 - p), 1e-12) for p (finite at p = 0 and 1), w (log(1 - p) - log p)
    for y. With p = sigmoid(x) the gradient with respect to x is w (p - y) (see binary_cross_entropy_with_logits).
    """
    p = _float_input("binary_cross_entropy", input)
    _check_reduction("binary_cross_entropy", reduction)
    target = _target_like("binary_cross_entropy", p, target)
    w = _broadcast_weight("binary_cross_entropy", p, weight)
    low, high = (np.fmin.reduce(p.data, axis=None), np.fmax.reduce(p.data, axis=None)) if p.size else (0, 1)
    if low < 0 or high > 1:  # fmin/fmax skip NaN, so a NaN does not hide values outside [0, 1]
        raise ShapeError(f"binary_cross_entropy: input {p.shape} must hold probabilities in [0, 1], got values from "
                         f"{low} to {high}; for raw scores use binary_cross_entropy_with_logits")
    loss = BinaryCrossEntropy.apply(p, target)
    return _reduce(loss if w is None else loss * w, reduction)


def binary_cross_entropy_with_logits(input: Tensor, target, weight=None, *, reduction: Reduction = "mean",
                                     pos_weight=None) -> Tensor:
    """-w (r y log sigmoid(x) + (1 - y) log sigmoid(-x)) from the logits x, stably, reduced. ``weight`` w and
    ``pos_weight`` r (a weight of the positive term, e.g. one per class (C,)) broadcast to x's shape.

    d/dx = w ((1 + (r - 1) y) sigmoid(x) - r y), which is w (sigmoid(x) - y) for r = 1.
    """
    op = "binary_cross_entropy_with_logits"
    logits = _float_input(op, input)
    _check_reduction(op, reduction)
    target = _target_like(op, logits, target)
    w = _broadcast_weight(op, logits, weight)
    r = _broadcast_weight(op, logits, pos_weight, "pos_weight")
    loss = BinaryCrossEntropyWithLogits.apply(logits, target, *(() if r is None else (r,)))
    return _reduce(loss if w is None else loss * w, reduction)


# ---- regression ---------------------------------------------------------------------------------------------------
def _difference(op: str, input, target, reduction: str) -> Tensor:
    x = _float_input(op, input)
    _check_reduction(op, reduction)
    return x - _target_like(op, x, target)


def mse_loss(input: Tensor, target, *, reduction: Reduction = "mean") -> Tensor:
    """(input - target)^2, reduced.  d/d input = 2 (input - target), divided by the element count for 'mean'."""
    diff = _difference("mse_loss", input, target, reduction)
    return _reduce(diff * diff, reduction)


def l1_loss(input: Tensor, target, *, reduction: Reduction = "mean") -> Tensor:
    """|input - target|, reduced.  d/d input = sign(input - target) (0 where they are equal, as PyTorch)."""
    return _reduce(_difference("l1_loss", input, target, reduction).abs(), reduction)


def _quadratic_then_linear(diff: Tensor, switch: float, scale: float) -> Tensor:
    """0.5 d^2 / switch where |d| < switch, else |d| - 0.5 switch; both times ``scale``. Value and slope agree at
    the switch point |d| = switch (0.5 switch and sign(d)); the curvature 1 / switch drops to 0 there."""
    a = diff.abs()
    inside = Tensor(a.data < switch)
    return where(inside, (diff * diff) * (0.5 * scale / switch), (a - 0.5 * switch) * scale)


def smooth_l1_loss(input: Tensor, target, *, reduction: Reduction = "mean", beta: float = 1.0) -> Tensor:
    """0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta, with d = input - target, reduced; beta = 0 is l1_loss."""
    beta = as_real("smooth_l1_loss", "beta", beta, low=0)
    diff = _difference("smooth_l1_loss", input, target, reduction)
    return _reduce(diff.abs() if beta == 0 else _quadratic_then_linear(diff, beta, 1.0), reduction)


def huber_loss(input: Tensor, target, *, reduction: Reduction = "mean", delta: float = 1.0) -> Tensor:
    """0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta), with d = input - target, reduced (delta > 0):
    delta times smooth_l1_loss with beta = delta."""
    delta = as_real("huber_loss", "delta", delta)
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    diff = _difference("huber_loss", input, target, reduction)
    return _reduce(_quadratic_then_linear(diff, delta, delta), reduction)


def _xlogx(t: Tensor) -> Tensor:
    """t log t, 0 at t = 0 (as PyTorch's xlogy(t, t)); the log reads 1 where t = 0, so no inf enters the graph."""
    positive = Tensor(t.data > 0)
    return where(positive, t * where(positive, t, 1.0).log(), 0.0)


def kl_div(input: Tensor, target, *, reduction: str = "mean", log_target: bool = False) -> Tensor:
    """target (log target - input) pointwise, with the input log-probabilities and the target probabilities (log-
    probabilities with ``log_target=True``: exp(target) (target - input)), reduced; 'batchmean' divides the sum by
    the batch size input.shape[0] (the KL divergence per sample), 'mean' by the element count (as PyTorch)."""
    x = _float_input("kl_div", input)
    _check_reduction("kl_div", reduction, ("mean", "batchmean", "sum", "none"))
    log_target = as_bool("kl_div", "log_target", log_target)
    t = _target_like("kl_div", x, target)
    loss = t.exp() * (t - x) if log_target else _xlogx(t) - t * x
    if reduction == "batchmean":
        if x.ndim and not x.shape[0]:  # an empty batch: NaN, silently, with an empty gradient (as PyTorch)
            return loss.sum() * math.nan
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, reduction)


def poisson_nll_loss(input: Tensor, target, log_input: bool = True, full: bool = False, *, eps: float = 1e-8,
                     reduction: Reduction = "mean") -> Tensor:
    """The Poisson negative log-likelihood of target counts, reduced: exp(input) - target input for log-rates
    (``log_input=True``), input - target log(input + eps) for rates; ``full`` adds Stirling's approximation of
    log(target!), target log target - target + log(2 pi target) / 2, where target > 1 (as PyTorch)."""
    x = _float_input("poisson_nll_loss", input)
    _check_reduction("poisson_nll_loss", reduction)
    log_input = as_bool("poisson_nll_loss", "log_input", log_input)
    full = as_bool("poisson_nll_loss", "full", full)
    eps = as_real("poisson_nll_loss", "eps", eps, low=0)
    t = _target_like("poisson_nll_loss", x, target)
    loss = x.exp() - t * x if log_input else x - t * (x + eps).log()
    if full:
        big = Tensor(t.data > 1)
        safe = where(big, t, 2.0)
        stirling = safe * safe.log() - safe + 0.5 * (safe * (2 * math.pi)).log()
        loss = loss + where(big, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target, var, full: bool = False, eps: float = 1e-6, *,
                      reduction: Reduction = "mean") -> Tensor:
    """(log max(var, eps) + (input - target)^2 / max(var, eps)) / 2 (+ log(2 pi) / 2 with ``full``), reduced.

    ``var`` has the input's shape, or one axis fewer at the end, or a last axis of 1 (one variance per sample), as
    PyTorch; it must be non-negative. The clamp at eps passes the gradient through unchanged, as PyTorch's (its
    clamp runs outside the graph).
    """
    op = "gaussian_nll_loss"
    x = _float_input(op, input)
    _check_reduction(op, reduction)
    full = as_bool(op, "full", full)
    eps = as_real(op, "eps", eps, low=0)
    t = _target_like(op, x, target)
    v = as_tensor(op, "var", var)
    if v.shape != x.shape:
        if x.ndim and v.shape == x.shape[:-1]:
            v = v.reshape(v.shape + (1,))
        elif not (x.ndim and v.ndim == x.ndim and v.shape[:-1] == x.shape[:-1] and v.shape[-1] == 1):
            raise ShapeError(f"{op}: var {v.shape} must have the input's shape {x.shape}, that shape without its last "
                             "axis, or a last axis of 1")
    v = _cast_like(op, x, v, "var")
    if v.size and np.nanmin(v.data) < 0:
        raise ValueError(f"{op}: var has negative entries; variances must be >= 0")
    if v.size and np.nanmin(v.data) < eps:  # value clamped, gradient straight through
        v = v + Tensor(np.maximum(v.data, eps) - v.data)
    diff = x - t
    loss = (v.log() + diff * diff / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


# ---- margins, similarities and distances ------------------------------------------------------------------------
def _same_shape(op: str, first: Tensor, **others) -> list[Tensor]:
    out = []
    for name, value in others.items():
        t = as_tensor(op, name, value)
        if t.shape != first.shape:
            raise ShapeError(f"{op}: input1 {first.shape} and {name} {t.shape} must have the same shape")
        out.append(_cast_like(op, first, t, name))
    return out


def margin_ranking_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0, *,
                        reduction: Reduction = "mean") -> Tensor:
    """max(0, -y (x1 - x2) + margin) with y = 1 (x1 should rank higher) or -1, reduced."""
    op = "margin_ranking_loss"
    x1 = _float_input(op, input1, "input1")
    margin = as_real(op, "margin", margin)
    _check_reduction(op, reduction)
    x2, y = _same_shape(op, x1, input2=input2, target=target)
    return _reduce((-y * (x1 - x2) + margin).clip(low=0.0), reduction)


def hinge_embedding_loss(input: Tensor, target, margin: float = 1.0, *, reduction: Reduction = "mean") -> Tensor:
    """x where y = 1, max(0, margin - x) where y = -1 (y is not differentiated), reduced. As PyTorch, a label
    other than 1 and -1 counts in both terms."""
    op = "hinge_embedding_loss"
    x = _float_input(op, input)
    margin = as_real(op, "margin", margin)
    _check_reduction(op, reduction)
    (y,) = _same_shape(op, x, target=target)
    y = y.data
    loss = where(Tensor(y != 1), (margin - x).clip(low=0.0), 0.0) + where(Tensor(y != -1), x, 0.0)
    return _reduce(loss, reduction)


def soft_margin_loss(input: Tensor, target, *, reduction: Reduction = "mean") -> Tensor:
    """log(1 + exp(-y x)), computed as softplus(-y x) (no overflow at +-1000), reduced."""
    x = _float_input("soft_margin_loss", input)
    _check_reduction("soft_margin_loss", reduction)
    y = _target_like("soft_margin_loss", x, target)
    return _reduce(Softplus.apply(-(y * x), threshold=math.inf), reduction)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """x1 . x2 / (max(|x1|, eps) max(|x2|, eps)) along ``dim`` (x1 and x2 broadcast), as PyTorch 2's formula.

    Each norm is clamped from its square, max(|x|^2, eps^2), so a zero vector has similarity 0 and a zero gradient
    through its norm (never sqrt'(0) = inf).
    """
    op = "cosine_similarity"
    a = _float_input(op, x1, "x1")
    b = _cast_like(op, a, _float_input(op, x2, "x2"), "x2")
    eps = as_real(op, "eps", eps, low=0)
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"cosine_similarity: x1 {a.shape} and x2 {b.shape} do not broadcast") from None
    from_shape = len(shape)
    d = as_int(op, "dim", dim)
    if not -max(from_shape, 1) <= d < max(from_shape, 1):
        raise ShapeError(f"{op}: dim {d} is out of range for the broadcast shape {shape}")
    d %= max(from_shape, 1)
    if a.shape != shape:
        a = a.expand(shape)
    if b.shape != shape:
        b = b.expand(shape)
    floor = eps * eps
    na = (a * a).sum(axis=d).maximum(floor).sqrt() if floor else (a * a).sum(axis=d).sqrt()
    nb = (b * b).sum(axis=d).maximum(floor).sqrt() if floor else (b * b).sum(axis=d).sqrt()
    return (a * b).sum(axis=d) / (na * nb)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target, margin: float = 0.0, *,
                          reduction: Reduction = "mean") -> Tensor:
    """1 - cos(x1, x2) where y = 1, max(0, cos(x1, x2) - margin) where y = -1, rows of (N, D) or one (D,) vector
    (y is not differentiated); cos = x1 . x2 / sqrt((|x1|^2 + 1e-12) (|x2|^2 + 1e-12)) as PyTorch's."""
    op = "cosine_embedding_loss"
    x1 = _float_input(op, input1, "input1")
    margin = as_real(op, "margin", margin)
    _check_reduction(op, reduction)
    (x2,) = _same_shape(op, x1, input2=input2)
    if x1.ndim not in (1, 2):
        raise ShapeError(f"{op}: expected inputs of shape (N, D) or (D,), got {x1.shape}")
    y = _raw_target(op, target)
    if y.shape != x1.shape[:-1]:
        raise ShapeError(f"{op}: target {y.shape} must have shape {x1.shape[:-1]} for inputs of shape {x1.shape}")
    axis = x1.ndim - 1
    dot = (x1 * x2).sum(axis=axis)
    cos = dot / (((x1 * x1).sum(axis=axis) + 1e-12) * ((x2 * x2).sum(axis=axis) + 1e-12)).sqrt()
    loss = where(Tensor(y == 1), 1 - cos, 0.0) + where(Tensor(y == -1), (cos - margin).clip(low=0.0), 0.0)
    return _reduce(loss, reduction)


def _p_norm(op: str, p) -> float:
    p = as_real(op, "p", p)
    if not p > 0:
        raise ValueError(f"{op}: p must be positive (or inf), got {p}")
    return p


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """||x1 - x2 + eps||_p along the last axis (x1 and x2 broadcast), as PyTorch: p = 2 sqrt(sum d^2), p = 1
    sum |d|, p = inf max |d|, otherwise (sum |d|^p)^(1/p)."""
    op = "pairwise_distance"
    a = _float_input(op, x1, "x1")
    b = _cast_like(op, a, _float_input(op, x2, "x2"), "x2")
    p = _p_norm(op, p)
    eps = as_real(op, "eps", eps)
    keepdim = as_bool(op, "keepdim", keepdim)
    if a.ndim == 0 and b.ndim == 0:
        raise ValueError(f"{op}: expected inputs with at least one axis, got two 0-d tensors")
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(f"{op}: x1 {a.shape} and x2 {b.shape} do not broadcast") from None
    d = a - b + eps
    if p == 2:
        return (d * d).sum(axis=-1, keepdims=keepdim).sqrt()
    if p == 1:
        return d.abs().sum(axis=-1, keepdims=keepdim)
    if math.isinf(p):
        return d.abs().max(axis=-1, keepdims=keepdim)
    return (d.abs() ** p).sum(axis=-1, keepdims=keepdim) ** (1.0 / p)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0, p: float = 2.0,
                        eps: float = 1e-6, swap: bool = False, *, reduction: Reduction = "mean") -> Tensor:
    """max(0, margin + d(a, p) - d(a, n)) with d = pairwise_distance(., ., p, eps), rows of (N, D) or one (D,);
    ``swap`` uses min(d(a, n), d(p, n)) for the negative distance (Balntas et al.), reduced."""
    op = "triplet_margin_loss"
    a = _float_input(op, anchor, "anchor")
    margin = as_real(op, "margin", margin)
    p = _p_norm(op, p)
    eps = as_real(op, "eps", eps)
    swap = as_bool(op, "swap", swap)
    _check_reduction(op, reduction)
    pos = _cast_like(op, a, _float_input(op, positive, "positive"), "positive")
    neg = _cast_like(op, a, _float_input(op, negative, "negative"), "negative")
    if not a.ndim == pos.ndim == neg.ndim or a.ndim not in (1, 2):
        raise ShapeError(f"{op}: anchor {a.shape}, positive {pos.shape} and negative {neg.shape} must all be (N, D) "
                         "or all (D,)")
    d_pos = pairwise_distance(a, pos, p, eps)
    d_neg = pairwise_distance(a, neg, p, eps)
    if swap:
        d_neg = d_neg.minimum(pairwise_distance(pos, neg, p, eps))
    return _reduce((d_pos - d_neg + margin).clip(low=0.0), reduction)
