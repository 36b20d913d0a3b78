"""The functional API (``from tinygrad_cnn.nn import functional as F``): CNN ops, activations and losses.

Each function converts and checks its Python arguments where the user passed them (ints, pairs, options), then
calls primitives (``ops.conv``, ``ops.pool``, ``ops.linalg``, ``ops.softmax``), which check the invariants of their
arrays (shapes, dtypes), or composes Tensor operations. Shapes follow PyTorch: images NCHW, conv weights
(out_channels, in_channels / groups, kH, kW), linear weights (out_features, in_features).
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._checks import as_bool, as_choice, as_int, as_pair, as_real
from ..factories import generator
from ..ops.conv import Conv2d
from ..ops.elementwise import Softplus
from ..ops.linalg import Linear
from ..ops.pool import AvgPool2d, MaxPool2d
from ..ops.softmax import BinaryCrossEntropyWithLogits, LogSoftmax, NLLLoss
from ..tensor import Tensor, as_tensor

IntPair = int | tuple[int, int]
Reduction = Literal["mean", "sum", "none"]


def _image_batch(op: str, x: Tensor) -> None:
    if x.ndim != 4:
        hint = " (add the batch axis with x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}{hint}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")


# ---- convolution and pooling ----------------------------------------------------------------------
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | Literal["valid", "same"] = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation: (N, C, H, W) * (O, C/groups, kH, kW) -> (N, O, Ho, Wo), plus bias (O,).

    Ho = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1. ``padding='same'`` keeps H and W
    (stride 1 only; an odd total padding puts the extra row and column at the bottom and right).
    """
    x, weight = as_tensor("conv2d", "input", x), as_tensor("conv2d", "weight", weight)
    _image_batch("conv2d", x)
    if weight.ndim != 4 or 0 in weight.shape[2:]:
        raise ValueError(f"conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW) with kH, kW >= 1, "
                         f"got {weight.shape}")
    if weight.dtype != x.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {weight.dtype}; convert one with .float()/.double()")
    groups = as_int("conv2d", "groups", groups, low=1)
    out_channels, in_per_group = weight.shape[:2]
    if x.shape[1] % groups or out_channels % groups:
        raise ValueError(f"conv2d: groups={groups} must divide both the input channels ({x.shape[1]}) and the "
                         f"output channels ({out_channels})")
    if x.shape[1] != in_per_group * groups:
        raise ValueError(f"conv2d: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects "
                         f"{in_per_group * groups} (= weight.shape[1] * groups); check in_channels")
    stride_ = as_pair("conv2d", "stride", stride, 1)
    dilation_ = as_pair("conv2d", "dilation", dilation, 1)
    if isinstance(padding, str) and padding == "valid":
        padding_ = (0, 0)
    elif isinstance(padding, str) and padding == "same":
        if stride_ != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for d, k in zip(dilation_, weight.shape[2:])]
        padding_ = (totals[0] // 2, totals[1] // 2)
        extra = (totals[0] % 2, totals[1] % 2)
        if any(extra):
            x = x.pad(((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    elif isinstance(padding, str):
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        padding_ = as_pair("conv2d", "padding", padding, 0)
    # a stride beyond the padded input gives one output position, as the padded size itself does, and a 1-wide
    # kernel makes the dilation moot: clamp both, so that the strided views never see a stride too large for NumPy
    stride_ = tuple(max(1, min(s, n + 2 * p)) for s, n, p in zip(stride_, x.shape[2:], padding_))
    dilation_ = tuple(1 if k == 1 else d for d, k in zip(dilation_, weight.shape[2:]))
    params = {"stride": stride_, "padding": padding_, "dilation": dilation_, "groups": int(groups)}
    if bias is None:
        return Conv2d.apply(x, weight, **params)
    bias = as_tensor("conv2d", "bias", bias)
    return Conv2d.apply(x, weight, bias, **params)  # the bias is added (and its shape and dtype checked) inside


def max_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1) -> Tensor:
    """Max over kH x kW windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to the kernel size.

    The gradient of each window goes to its first maximum in row-major order.
    """
    x = as_tensor("max_pool2d", "input", x)
    _image_batch("max_pool2d", x)
    kernel = as_pair("max_pool2d", "kernel_size", kernel_size, 1)
    return MaxPool2d.apply(x, kernel_size=kernel,
                           stride=kernel if stride is None else as_pair("max_pool2d", "stride", stride, 1),
                           padding=as_pair("max_pool2d", "padding", padding, 0),
                           dilation=as_pair("max_pool2d", "dilation", dilation, 1))


def avg_pool2d(x: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> Tensor:
    """Mean over kH x kW windows (zero padding counts): (N, C, H, W) -> (N, C, Ho, Wo)."""
    x = as_tensor("avg_pool2d", "input", x)
    _image_batch("avg_pool2d", x)
    kernel = as_pair("avg_pool2d", "kernel_size", kernel_size, 1)
    return AvgPool2d.apply(x, kernel_size=kernel,
                           stride=kernel if stride is None else as_pair("avg_pool2d", "stride", stride, 1),
                           padding=as_pair("avg_pool2d", "padding", padding, 0))


# ---- activations and layers ------------------------------------------------------------------------
def relu(x: Tensor) -> Tensor:
    """max(x, 0)."""
    return as_tensor("relu", "input", x).relu()


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return as_tensor("sigmoid", "input", x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    return as_tensor("tanh", "input", x).tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta elementwise, linear (x) where beta x > threshold; never overflows."""
    beta = as_real("softplus", "beta", beta, finite=True)
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero (softplus divides by it), got 0")
    threshold = as_real("softplus", "threshold", threshold)
    return Softplus.apply(as_tensor("softplus", "input", input), beta=beta, threshold=threshold)


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis`` (stable)."""
    return LogSoftmax.apply(as_tensor("log_softmax", "input", x), axis=axis)


def softmax(x: Tensor, axis: int = -1) -> Tensor:
    """exp(x) / sum(exp(x)) along ``axis``."""
    return LogSoftmax.apply(as_tensor("softmax", "input", x), axis=axis).exp()


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias: (..., in_features) with weight (out_features, in_features) -> (..., out_features).

    One primitive (``ops.linalg.Linear``): a GEMM with the bias added in place.
    """
    x, weight = as_tensor("linear", "input", x), as_tensor("linear", "weight", weight)
    if x.dtype.kind in "biu" and weight.dtype.kind == "f":  # the promotion rule of arithmetic: ints become floats
        x = x.astype(weight.dtype)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, as_tensor("linear", "bias", bias))


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p) while training."""
    x = as_tensor("dropout", "input", x)
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: input has dtype {x.dtype}; convert it with .float()")
    p = as_real("dropout", "p", p, low=0, high=1)
    if not as_bool("dropout", "training", training) or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    keep = generator().random(x.shape) >= p
    return x * Tensor((keep / (1.0 - p)).astype(x.dtype))


def flatten(x: Tensor, start_axis: int = 1) -> Tensor:
    """Merge the axes from ``start_axis`` on: (N, C, H, W) -> (N, C*H*W) by default."""
    return as_tensor("flatten", "input", x).flatten(start_axis)


# ---- losses --------------------------------------------------------------------------------------------
def _check_reduction(op: str, reduction: str) -> None:
    as_choice(op, "reduction", reduction, ("mean", "sum", "none"))


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean" and loss.size == 0:  # an empty batch has a NaN mean, as in PyTorch
        with np.errstate(invalid="ignore"):
            return loss.sum() / 0
    if reduction == "mean":
        return loss.mean()
    return loss.sum() if reduction == "sum" else loss


def _logits_2d(op: str, x: Tensor) -> None:
    if x.ndim != 2:
        raise ValueError(f"{op}: expected input of shape (N, C), got {x.shape}; flatten extra axes first")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; pass float scores (convert with .float())")


def _class_targets(op: str, target, n: int, classes: int) -> np.ndarray:
    """Integer class indices of shape (N,) in [0, C): ValueError for a wrong shape or range, TypeError for a dtype."""
    raw = _raw_target(op, target)
    if raw.shape != (n,):
        raise ValueError(f"{op}: expected {n} class targets (shape ({n},)) for input of shape ({n}, {classes}), "
                         f"got shape {raw.shape}")
    if raw.dtype.kind not in "iu":
        raise TypeError(f"{op}: class targets must be integers, got dtype {raw.dtype}; convert them with "
                        f".astype(np.int64), or pass class probabilities of shape ({n}, {classes})")
    if n and (raw.min() < 0 or raw.max() >= classes):
        raise ValueError(f"{op}: class targets must be in [0, {classes - 1}] for input of shape ({n}, {classes}), "
                         f"got values from {raw.min()} to {raw.max()}")
    return raw


def _raw_target(op: str, target) -> np.ndarray:
    if isinstance(target, Tensor):
        return target.data
    try:
        return np.asarray(target)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{op}: target must be a Tensor or array of class indices: {err}") from None


def _target_like(op: str, x: Tensor, target) -> Tensor:
    """``target`` as a Tensor of x's shape and dtype; a target that needs no grad is cast, one that does must match."""
    t = as_tensor(op, "target", target)
    if t.shape != x.shape:
        raise ValueError(f"{op}: input {x.shape} and target {t.shape} must have the same shape")
    if t.dtype != x.dtype:
        if t.requires_grad:
            raise TypeError(f"{op}: input is {x.dtype} but target is {t.dtype}; convert one with .float()/.double()")
        t = Tensor(t.data.astype(x.dtype))
    return t


def nll_loss(log_probs: Tensor, target, reduction: Reduction = "mean") -> Tensor:
    """-log_probs[n, target[n]], reduced: (N, C) log-probabilities and (N,) class indices -> () or (N,) for 'none'.

    Gradient with respect to log_probs: -onehot(target), divided by N for 'mean'.
    """
    log_probs = as_tensor("nll_loss", "input", log_probs)
    _logits_2d("nll_loss", log_probs)
    _check_reduction("nll_loss", reduction)
    target = _class_targets("nll_loss", target, *log_probs.shape)
    return NLLLoss.apply(log_probs, target=target, reduction=reduction)


def cross_entropy(logits: Tensor, target, reduction: Reduction = "mean", label_smoothing: float = 0.0) -> Tensor:
    """-sum_c q[n, c] log_softmax(logits)[n, c], reduced: logits (N, C) -> () or (N,) for 'none'.

    q is the one-hot row of an integer target (N,), or given class probabilities (N, C); label smoothing e uses
    (1 - e) q + e / C. Gradient with respect to the logits: softmax(logits) - q, divided by N for 'mean'.
    """
    logits = as_tensor("cross_entropy", "input", logits)
    _logits_2d("cross_entropy", logits)
    _check_reduction("cross_entropy", reduction)
    label_smoothing = as_real("cross_entropy", "label_smoothing", label_smoothing, low=0, high=1)
    n, c = logits.shape
    log_probs = LogSoftmax.apply(logits, axis=1)
    if _raw_target("cross_entropy", target).ndim == 2:  # class probabilities
        probs = as_tensor("cross_entropy", "target", target)
        if probs.dtype.kind != "f":
            raise TypeError(f"cross_entropy: class probabilities must be floats, got dtype {probs.dtype}; pass "
                            f"integer class indices of shape ({n},) instead")
        probs = _target_like("cross_entropy", logits, probs)
        return NLLLoss.apply(log_probs, probs, reduction=reduction, smoothing=float(label_smoothing))
    target = _class_targets("cross_entropy", target, n, c)
    return NLLLoss.apply(log_probs, target=target, reduction=reduction, smoothing=float(label_smoothing))


def binary_cross_entropy(p: Tensor, target, reduction: Reduction = "mean") -> Tensor:
    """-(y log p + (1 - y) log(1 - p)) for p in [0, 1], reduced; each log is at least -100 as in PyTorch.

    With p = sigmoid(x) the gradient with respect to x is p - y (see binary_cross_entropy_with_logits).
    """
    p = as_tensor("binary_cross_entropy", "input", p)
    _check_reduction("binary_cross_entropy", reduction)
    if p.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy: input has dtype {p.dtype}; pass float probabilities")
    target = _target_like("binary_cross_entropy", p, target)
    low, high = (np.fmin.reduce(p.data, axis=None), np.fmax.reduce(p.data, axis=None)) if p.size else (0, 1)
    if low < 0 or high > 1:  # fmin/fmax skip NaN, so a NaN does not hide values outside [0, 1]
        raise ValueError(f"binary_cross_entropy: input {p.shape} must hold probabilities in [0, 1], got values from "
                         f"{low} to {high}; for raw scores use binary_cross_entropy_with_logits")
    floor = float(np.exp(-100.0))  # log(floor) = -100: finite loss and gradient when p reaches 0 or 1
    log_p, log_q = p.clip(low=floor).log(), (1 - p).clip(low=floor).log()
    return _reduce(-(target * log_p + (1 - target) * log_q), reduction)


def binary_cross_entropy_with_logits(logits: Tensor, target, reduction: Reduction = "mean") -> Tensor:
    """binary_cross_entropy(sigmoid(x), y) computed stably from the logits x, reduced.  d/dx = sigmoid(x) - y."""
    logits = as_tensor("binary_cross_entropy_with_logits", "input", logits)
    _check_reduction("binary_cross_entropy_with_logits", reduction)
    if logits.dtype.kind != "f":
        raise TypeError(f"binary_cross_entropy_with_logits: input has dtype {logits.dtype}; pass float logits")
    target = _target_like("binary_cross_entropy_with_logits", logits, target)
    return _reduce(BinaryCrossEntropyWithLogits.apply(logits, target), reduction)


def mse_loss(input: Tensor, target, reduction: Reduction = "mean") -> Tensor:
    """(input - target)^2, reduced.  d/d input = 2 (input - target), divided by the element count for 'mean'."""
    input = as_tensor("mse_loss", "input", input)
    _check_reduction("mse_loss", reduction)
    if input.dtype.kind != "f":
        raise TypeError(f"mse_loss: input has dtype {input.dtype}; convert it with .float()")
    diff = input - _target_like("mse_loss", input, target)
    return _reduce(diff * diff, reduction)
