"""Op table: the log-softmax family and the losses (tinygrad_cnn/ops/softmax.py, tinygrad_cnn/nn/functional.py),
plus the functional API's thin activation and layer wrappers (F.relu, F.sigmoid, F.tanh, F.dropout in eval mode,
F.flatten) that no other family covers.

Integer class targets are never differentiated: they travel as the sample's kwargs (``target=``), while class
probabilities and binary labels are float inputs, differentiated like the logits. Every reduction ('mean', 'sum',
'none') and label smoothing 0, 0.1 and 1.0 are drawn; for the options, class weights, ignored targets (the default
ignore_index -100 or a class index), K-dimensional (N, C, d1, d2) and unbatched (C,) inputs, weight and pos_weight
of the binary losses, and every option of the regression, margin, similarity and distance losses
(tinygrad_cnn/nn/losses.py), each away from its kinks. The references follow PyTorch's formulas.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from references import softmax_ref

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.ops import movement as mv
from tinygrad_cnn.ops.softmax import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    LogSoftmax,
    LogSoftmaxBackward,
    NLLLoss,
)
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

SOFTMAX_DOC = "derivations/softmax_cross_entropy.md"
BCE_DOC = "derivations/binary_cross_entropy.md"
LOSSES_DOC = "derivations/losses.md"
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])
SMOOTHINGS = st.sampled_from([0.0, 0.1, 1.0])


def _reduce(loss: np.ndarray, reduction: str = "mean") -> np.ndarray:
    return {"mean": np.mean(loss), "sum": np.sum(loss), "none": loss}[reduction]


# ---- log-softmax and softmax --------------------------------------------------------------------------------------
@st.composite
def axis_samples(draw, max_dims: int = 3) -> Sample:
    """An array of 1 to ``max_dims`` axes (sides 1..4) and an axis in [-ndim, ndim - 1], or none (the default -1)."""
    x = draw(S.arrays(S.shapes(min_dims=1, max_dims=max_dims, max_side=4)))
    axis = draw(st.none() | st.integers(-x.ndim, x.ndim - 1))
    return Sample((x,), {} if axis is None else {"axis": axis})


@st.composite
def log_softmax_backward_samples(draw) -> Sample:
    """(g, y): an upstream gradient and the log-softmax output of a drawn x along a drawn axis."""
    x = draw(S.arrays(S.shapes(min_dims=1, max_dims=3, max_side=4)))
    axis = draw(st.integers(-x.ndim, x.ndim - 1))
    return Sample((draw(S.arrays(x.shape)), np.log(softmax_ref(x, axis))), {"axis": axis})


def _log_softmax_ref(x, axis=-1):
    return np.log(softmax_ref(x, axis))


def _log_softmax_backward_ref(g, y, axis):
    return g - np.exp(y) * g.sum(axis=axis, keepdims=True)


# ---- cross-entropy and the negative log-likelihood ------------------------------------------------------------
@st.composite
def logits_and_classes(draw, max_n: int = 4, max_c: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Logits (N, C) and integer class targets (N,) in [0, C)."""
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    z = draw(S.arrays((n, c)))
    return z, np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)


@st.composite
def probabilities(draw, shape) -> np.ndarray:
    """Rows of class probabilities (each in [0.02, 1] before normalising, summing to one)."""
    q = draw(S.arrays(shape, low=0.02, high=1.0))
    return q / q.sum(axis=1, keepdims=True)


@st.composite
def class_target_samples(draw, log_probs: bool = False, smoothing: bool = True) -> Sample:
    z, t = draw(logits_and_classes())
    kwargs = {"target": t, "reduction": draw(REDUCTIONS)}
    if smoothing:
        kwargs["label_smoothing"] = draw(SMOOTHINGS)
    return Sample((_log_softmax_ref(z, 1) if log_probs else z,), kwargs)


@st.composite
def probability_target_samples(draw, log_probs: bool = False, smoothing_name: str = "label_smoothing") -> Sample:
    z, _ = draw(logits_and_classes())
    q = draw(probabilities(z.shape))
    return Sample((_log_softmax_ref(z, 1) if log_probs else z, q),
                  {"reduction": draw(REDUCTIONS), smoothing_name: draw(SMOOTHINGS)})


def _smoothed(q: np.ndarray, e: float) -> np.ndarray:
    return (1.0 - e) * q + e / q.shape[1]


def _nll_ref(logp, q, reduction="mean", smoothing=0.0):
    """-sum_c q logp per row, q smoothed towards the uniform distribution, reduced over the rows."""
    return _reduce(-(_smoothed(q, smoothing) * logp).sum(axis=1), reduction)


def _cross_entropy_ref(z, target, reduction="mean", label_smoothing=0.0):
    q = target if target.ndim == 2 else np.eye(z.shape[1])[target]
    return _nll_ref(_log_softmax_ref(z, 1), q, reduction, label_smoothing)


def _nll_loss_ref(logp, target, reduction="mean"):
    return _nll_ref(logp, np.eye(logp.shape[1])[target], reduction)


# ---- binary cross-entropy and the squared error -----------------------------------------------------------------
def pair_samples(low: float, high: float, y_low: float = 0.0, y_high: float = 1.0, reductions: bool = True,
                 max_dims: int = 2, max_side: int = 6) -> st.SearchStrategy:
    """(input, target) of one shape (0 to ``max_dims`` axes, sides 1..``max_side``), both differentiated, and a
    drawn reduction."""
    shape = S.shapes(min_dims=0, max_dims=max_dims, max_side=max_side)
    pairs = shape.flatmap(lambda s: st.tuples(S.arrays(s, low, high), S.arrays(s, y_low, y_high)))
    kwargs = st.fixed_dictionaries({"reduction": REDUCTIONS}) if reductions else st.just({})
    return st.tuples(pairs, kwargs).map(lambda p: Sample(p[0], p[1]))


def _bce(p, y):
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---- the thin wrappers ----------------------------------------------------------------------------------------
@st.composite
def flatten_samples(draw) -> Sample:
    """An array of 2 to 4 axes and a start axis (positive or negative, or the default 1) that merges at least two
    axes (flattening from the last axis is the identity: no node)."""
    x = draw(S.arrays(S.shapes(min_dims=2, max_dims=4, max_side=3)))
    starts = [*range(0, x.ndim - 1), *range(-x.ndim, -1)]
    start = draw(st.sampled_from(starts + ([None] if x.ndim >= 3 else [])))
    return Sample((x,), {} if start is None else {"start_axis": start})


def _flatten_ref(x, start_axis=1):
    start = start_axis % x.ndim
    return x.reshape(x.shape[:start] + (-1,))


# ---- the options of the classification losses: weight, ignore_index, K-dimensional inputs -------------------------
IGNORE = -100


@st.composite
def class_option_samples(draw, log_probs: bool = False, smoothing: bool = True, probabilities: bool = False,
                         weight: bool = True) -> Sample:
    """Inputs (C,), (N, C), (N, C, d1) or (N, C, d1, d2) (N <= 3, C <= 4, d <= 2); class targets with some rows
    ignored (the default ignore_index -100, or a class index passed as ignore_index), or class probabilities; a
    weight per class in [0.2, 2] or none; every reduction (with 'mean', at least one target is kept)."""
    c = draw(st.integers(1, 4))
    lead = draw(st.sampled_from([(), (0,), (0, 1), (0, 1, 2)]))
    sides = [draw(st.integers(1, 3))] + [draw(st.integers(1, 2)) for _ in lead[1:]]
    shape = (c,) if not lead else (sides[0], c, *sides[1:])
    z = draw(S.arrays(shape))
    x = _log_softmax_ref(z, 0 if len(shape) == 1 else 1) if log_probs else z
    reduction = draw(REDUCTIONS)
    kwargs: dict = {"reduction": reduction}
    if weight and draw(st.booleans()):
        kwargs["weight"] = draw(S.arrays((c,), 0.2, 2.0))
    if smoothing:
        kwargs["label_smoothing"] = draw(SMOOTHINGS)
    target_shape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    if probabilities:
        q = draw(S.arrays(shape, 0.02, 1.0))
        axis = 0 if len(shape) == 1 else 1
        return Sample((x, q / q.sum(axis=axis, keepdims=True)), kwargs)
    size = int(np.prod(target_shape))
    t = np.array(draw(st.lists(st.integers(0, c - 1), min_size=size, max_size=size)), np.int64).reshape(target_shape)
    ignored = np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool).reshape(target_shape)
    if reduction == "mean" and ignored.all():
        ignored.flat[0] = False
    ignore_index = draw(st.sampled_from([None, IGNORE, *range(c)]))
    if ignore_index is None or ignore_index == IGNORE:
        t = np.where(ignored, IGNORE, t)
    elif reduction == "mean" and (t == ignore_index).all():
        assume(False)
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    kwargs["target"] = t
    return Sample((x,), kwargs)


def _classes_last(a: np.ndarray) -> np.ndarray:
    """(C,) -> (1, C); (N, C, d1, ...) -> (N * d1 * ..., C)."""
    return a.reshape(1, -1) if a.ndim == 1 else np.moveaxis(a, 1, -1).reshape(-1, a.shape[1])


def _weighted_nll_ref(logp, target, weight=None, ignore_index=IGNORE, reduction="mean", label_smoothing=0.0):
    """PyTorch's formula: nll_loss(logp, t, w) (1 - e) + smooth e / C, with smooth = -sum_c w_c logp_c per row,
    both 0 on ignored rows; 'mean' divides both by the sum of w[t] over the kept rows."""
    c, e = logp.shape[0 if logp.ndim == 1 else 1], label_smoothing
    w = np.ones(c) if weight is None else weight
    lp, t = _classes_last(logp), target.reshape(-1)
    kept = t != ignore_index
    safe = np.where(kept, t, 0)
    nll = np.where(kept, -w[safe] * lp[np.arange(len(t)), safe], 0.0)
    smooth = np.where(kept, -(lp * w).sum(axis=1), 0.0)
    loss = (1 - e) * nll + (e / c) * smooth
    if reduction == "none":
        return loss.reshape(target.shape)
    return loss.sum() if reduction == "sum" else loss.sum() / (w[safe] * kept).sum()


def _cross_entropy_options_ref(z, target, weight=None, ignore_index=IGNORE, reduction="mean", label_smoothing=0.0):
    return _weighted_nll_ref(_log_softmax_ref(z, 0 if z.ndim == 1 else 1), target, weight, ignore_index, reduction,
                             label_smoothing)


def _cross_entropy_probabilities_ref(z, q, weight=None, reduction="mean", label_smoothing=0.0):
    """PyTorch's formula: -(logp q' w) summed over the classes, q' = (1 - e) q + e / C; 'mean' over the rows."""
    axis = 0 if z.ndim == 1 else 1
    c, e = z.shape[axis], label_smoothing
    w = np.ones(c) if weight is None else weight
    shape = [1] * z.ndim
    shape[axis] = c
    loss = -(_log_softmax_ref(z, axis) * ((1 - e) * q + e / c) * w.reshape(shape)).sum(axis=axis)
    return _reduce(loss, reduction)


# ---- binary cross-entropy with weight and pos_weight ---------------------------------------------------------------
@st.composite
def weighted_binary_samples(draw, logits: bool, pos_weight: bool = False) -> Sample:
    """(x, y[, r]): x of 0 to 3 axes (sides 1..3), labels y in [0, 1], a pos_weight r in [0.2, 3] of x's last axis
    (or of x's shape, or a scalar); a weight in [0.2, 2] broadcasting to x (or none); every reduction."""
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=3))
    x = draw(S.arrays(shape, -6.0, 6.0) if logits else S.arrays(shape, 0.02, 0.98))
    y = draw(S.arrays(shape, 0.0, 1.0))
    kwargs: dict = {"reduction": draw(REDUCTIONS)}
    if draw(st.booleans()):
        kwargs["weight"] = draw(S.arrays(draw(st.sampled_from([shape, shape[-1:], ()])), 0.2, 2.0))
    inputs = (x, y)
    if pos_weight:
        inputs += (draw(S.arrays(draw(st.sampled_from([shape[-1:], shape, ()])), 0.2, 3.0)),)
    return Sample(inputs, kwargs)


def _bce_logits_ref(x, y, r=None, weight=None, reduction="mean"):
    loss = -((1.0 if r is None else r) * y * np.log(_sigmoid(x)) + (1 - y) * np.log(_sigmoid(-x)))
    return _reduce(loss if weight is None else loss * weight, reduction)


def _bce_weight_ref(p, y, weight=None, reduction="mean"):
    return _reduce(_bce(p, y) if weight is None else _bce(p, y) * weight, reduction)


# ---- regression losses ---------------------------------------------------------------------------------------------
@st.composite
def difference_samples(draw, kinks=lambda kw: (), options: dict | None = None, low: float = -3.0,
                       high: float = 3.0) -> Sample:
    """(input, target) of one shape (0 to 3 axes, sides 1..3), both differentiated, whose difference keeps away
    from the kinks ``kinks(kwargs)``; the kwargs drawn from ``options`` and every reduction."""
    kwargs = {"reduction": draw(REDUCTIONS)}
    for name, values in (options or {}).items():
        value = draw(values)
        if value is not None:
            kwargs[name] = value
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=3))
    y = draw(S.arrays(shape, low, high))
    d = draw(S.arrays(shape, low, high, away_from=kinks(kwargs), gap=0.05))
    return Sample((y + d, y), kwargs)


def _smooth_l1_ref(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    return _reduce(d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta), reduction)


def _huber_ref(x, y, reduction="mean", delta=1.0):
    d = np.abs(x - y)
    return _reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


@st.composite
def kl_div_samples(draw) -> Sample:
    """Log-probabilities and targets (probabilities in [0.05, 1], or log-probabilities with log_target) of one shape
    (0 to 3 axes), every reduction including 'batchmean'."""
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=3))
    log_target = draw(st.sampled_from([None, False, True]))
    x = draw(S.arrays(shape, -3.0, 0.0))
    t = draw(S.arrays(shape, -3.0, 0.0) if log_target else S.arrays(shape, 0.05, 1.0))
    kwargs = {"reduction": draw(st.sampled_from(["mean", "sum", "none", "batchmean"]))}
    if log_target is not None:
        kwargs["log_target"] = log_target
    return Sample((x, t), kwargs)


def _kl_div_ref(x, t, reduction="mean", log_target=False):
    loss = np.exp(t) * (t - x) if log_target else t * (np.log(t) - x)
    if reduction == "batchmean":
        return loss.sum() / x.shape[0] if x.ndim else loss.sum()
    return _reduce(loss, reduction)


@st.composite
def poisson_samples(draw) -> Sample:
    """Log-rates in [-2, 2] (or rates in [0.1, 3] with log_input=False) and counts in [0, 4] away from 1 (where the
    Stirling term of ``full`` switches on), every option and reduction."""
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=3))
    log_input = draw(st.sampled_from([None, True, False]))
    x = draw(S.arrays(shape, 0.1, 3.0) if log_input is False else S.arrays(shape, -2.0, 2.0))
    t = draw(S.arrays(shape, 0.0, 4.0, away_from=(1.0,), gap=0.05))
    kwargs = {"reduction": draw(REDUCTIONS)}
    for name, value in (("log_input", log_input), ("full", draw(st.sampled_from([None, False, True]))),
                        ("eps", draw(st.sampled_from([None, 1e-3])))):
        if value is not None:
            kwargs[name] = value
    return Sample((x, t), kwargs)


def _poisson_ref(x, t, log_input=True, full=False, eps=1e-8, reduction="mean"):
    loss = np.exp(x) - t * x if log_input else x - t * np.log(x + eps)
    if full:
        safe = np.where(t > 1, t, 2.0)
        loss = loss + np.where(t > 1, safe * np.log(safe) - safe + 0.5 * np.log(2 * np.pi * safe), 0.0)
    return _reduce(loss, reduction)


@st.composite
def gaussian_samples(draw) -> Sample:
    """(input, target, var) with var of the input's shape, of that shape without its last axis, or with a last axis
    of 1; variances in [0.1, 2] (above eps); full and eps drawn; every reduction."""
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=3))
    var_shape = draw(st.sampled_from([shape, shape[:-1], shape[:-1] + (1,)]))
    inputs = (draw(S.arrays(shape)), draw(S.arrays(shape)), draw(S.arrays(var_shape, 0.1, 2.0)))
    kwargs = {"reduction": draw(REDUCTIONS)}
    for name, value in (("full", draw(st.sampled_from([None, False, True]))),
                        ("eps", draw(st.sampled_from([None, 1e-3])))):
        if value is not None:
            kwargs[name] = value
    return Sample(inputs, kwargs)


def _gaussian_ref(x, t, var, full=False, eps=1e-6, reduction="mean"):
    if var.shape != x.shape and var.shape == x.shape[:-1]:
        var = var[..., None]
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + (x - t) ** 2 / var) + (0.5 * np.log(2 * np.pi) if full else 0.0)
    return _reduce(loss, reduction)


# ---- margins, similarities and distances ---------------------------------------------------------------------------
@st.composite
def margin_ranking_samples(draw) -> Sample:
    """(x1, x2, y) of one shape, y = +-1 (a float target, differentiated as PyTorch does), the value before the clamp
    at 0 kept at least 0.05 away from it."""
    shape = draw(S.shapes(min_dims=0, max_dims=2, max_side=4))
    margin = draw(st.sampled_from([None, 0.0, 0.5, -0.3]))
    x1 = draw(S.arrays(shape))
    y = np.where(draw(S.arrays(shape, -1.0, 1.0)) < 0, -1.0, 1.0)
    s = draw(S.arrays(shape, -2.0, 2.0, away_from=(0.0,), gap=0.05))  # -y (x1 - x2) + margin
    x2 = x1 - y * ((0.0 if margin is None else margin) - s)
    kwargs = {"reduction": draw(REDUCTIONS)}
    if margin is not None:
        kwargs["margin"] = margin
    return Sample((x1, x2, y), kwargs)


def _margin_ranking_ref(x1, x2, y, margin=0.0, reduction="mean"):
    return _reduce(np.maximum(-y * (x1 - x2) + margin, 0), reduction)


@st.composite
def hinge_samples(draw) -> Sample:
    """x away from the margin (the kink of max(0, margin - x)) and labels +-1 as the kwarg target (not
    differentiated)."""
    shape = draw(S.shapes(min_dims=0, max_dims=2, max_side=4))
    margin = draw(st.sampled_from([None, 1.0, 0.5, 2.0]))
    x = draw(S.arrays(shape, away_from=(1.0 if margin is None else margin,), gap=0.05))
    y = np.where(draw(S.arrays(shape, -1.0, 1.0)) < 0, -1.0, 1.0)
    kwargs = {"target": y, "reduction": draw(REDUCTIONS)}
    if margin is not None:
        kwargs["margin"] = margin
    return Sample((x,), kwargs)


def _hinge_ref(x, target, margin=1.0, reduction="mean"):
    return _reduce(np.where(target == 1, x, np.maximum(0, margin - x)), reduction)


def _soft_margin_ref(x, y, reduction="mean"):
    return _reduce(np.log1p(np.exp(-y * x)), reduction)


@st.composite
def cosine_similarity_samples(draw) -> Sample:
    """Two arrays of broadcastable shapes (1 to 3 axes) and a dim of the broadcast shape (or the default 1), the
    vectors along dim of norm above eps; eps drawn."""
    sa, sb = draw(S.broadcastable_shapes(min_dims=1, max_dims=3, max_side=3))
    ndim = max(len(sa), len(sb))
    dims = list(range(-ndim, ndim)) + ([None] if ndim >= 2 else [])
    dim = draw(st.sampled_from(dims))
    kwargs = {} if dim is None else {"dim": dim}
    eps = draw(st.sampled_from([None, 1e-6]))
    if eps is not None:
        kwargs["eps"] = eps
    a, b = draw(S.arrays(sa, 0.3, 2.0)), draw(S.arrays(sb, -2.0, 2.0, away_from=(0.0,), gap=0.3))
    return Sample((a, b), kwargs)


def _cosine_similarity_ref(a, b, dim=1, eps=1e-8):
    a, b = np.broadcast_arrays(a, b)
    na = np.maximum(np.sqrt((a * a).sum(axis=dim)), eps)
    nb = np.maximum(np.sqrt((b * b).sum(axis=dim)), eps)
    return (a * b).sum(axis=dim) / (na * nb)


def _cos_rows(a, b):
    axis = a.ndim - 1
    return (a * b).sum(axis) / np.sqrt(((a * a).sum(axis) + 1e-12) * ((b * b).sum(axis) + 1e-12))


@st.composite
def cosine_embedding_samples(draw) -> Sample:
    """Rows (N, D) or one vector (D,), labels +-1 as the kwarg target, cos kept 0.05 away from the margin."""
    shape = draw(st.sampled_from([(draw(st.integers(1, 4)), draw(st.integers(1, 4))), (draw(st.integers(1, 4)),)]))
    a, b = draw(S.arrays(shape)), draw(S.arrays(shape))
    margin = draw(st.sampled_from([None, 0.0, 0.3, -0.5]))
    assume(min(np.min(np.linalg.norm(a, axis=-1)), np.min(np.linalg.norm(b, axis=-1))) > 0.3)
    assume(np.min(np.abs(_cos_rows(a, b) - (0.0 if margin is None else margin))) > 0.05)
    y = np.where(draw(S.arrays(shape[:-1], -1.0, 1.0)) < 0, -1.0, 1.0)
    kwargs = {"target": y, "reduction": draw(REDUCTIONS)}
    if margin is not None:
        kwargs["margin"] = margin
    return Sample((a, b), kwargs)


def _cosine_embedding_ref(a, b, target, margin=0.0, reduction="mean"):
    cos = _cos_rows(a, b)
    return _reduce(np.where(target == 1, 1 - cos, np.maximum(cos - margin, 0)), reduction)


NORMS = st.sampled_from([None, 1.0, 2.0, 3.0, 1.5, np.inf])


def _distance_ref(a, b, p=2.0, eps=1e-6, keepdim=False):
    d = np.abs(a - b + eps)
    out = d.max(axis=-1, keepdims=keepdim) if np.isinf(p) else (d**p).sum(axis=-1, keepdims=keepdim) ** (1 / p)
    return out


def _smooth_norm(d: np.ndarray, p: float) -> bool:
    """The p-norm of the rows of d is differentiable here: no zero entry (p < 2), no tie for the largest (inf)."""
    mags = np.abs(d)
    if np.min(np.sqrt((mags * mags).sum(axis=-1)), initial=1.0) < 0.05:  # the norm has a kink at d = 0
        return False
    if np.isinf(p):
        top = np.sort(mags, axis=-1)
        return mags.shape[-1] < 2 or bool(np.min(top[..., -1] - top[..., -2]) > 0.05)
    return p >= 2 or bool(np.min(mags, initial=1.0) > 0.05)


@st.composite
def pairwise_distance_samples(draw) -> Sample:
    """x1 (N, D) or (D,), x2 of the same shape or broadcasting ((1, D), (D,)); every p kind, eps and keepdim."""
    n, dd = draw(st.integers(1, 3)), draw(st.integers(1, 4))
    sa = draw(st.sampled_from([(n, dd), (dd,)]))
    sb = draw(st.sampled_from([sa, (1, dd), (dd,)]))
    a, b = draw(S.arrays(sa)), draw(S.arrays(sb))
    kwargs = {}
    for name, value in (("p", draw(NORMS)), ("eps", draw(st.sampled_from([None, 0.0, 1e-3]))),
                        ("keepdim", draw(st.sampled_from([None, False, True])))):
        if value is not None:
            kwargs[name] = value
    assume(_smooth_norm(a - b + kwargs.get("eps", 1e-6), kwargs.get("p", 2.0)))
    return Sample((a, b), kwargs)


@st.composite
def triplet_samples(draw) -> Sample:
    """Anchors, positives and negatives (N, D) or (D,); margin, p, eps, swap drawn; away from the clamp's kink and
    (with swap) from ties of the two negative distances."""
    shape = draw(st.sampled_from([(draw(st.integers(1, 3)), draw(st.integers(1, 4))), (draw(st.integers(1, 4)),)]))
    a, pos, neg = (draw(S.arrays(shape)) for _ in range(3))
    kwargs = {"reduction": draw(REDUCTIONS)}
    for name, value in (("margin", draw(st.sampled_from([None, 0.5, 2.0]))), ("p", draw(NORMS)),
                        ("eps", draw(st.sampled_from([None, 1e-3]))), ("swap", draw(st.sampled_from([None, True])))):
        if value is not None:
            kwargs[name] = value
    p, eps = kwargs.get("p", 2.0), kwargs.get("eps", 1e-6)
    for u, v in ((a, pos), (a, neg), (pos, neg)):
        assume(_smooth_norm(u - v + eps, p))
    d_an, d_pn = _distance_ref(a, neg, p, eps), _distance_ref(pos, neg, p, eps)
    if kwargs.get("swap"):
        assume(np.min(np.abs(d_an - d_pn)) > 0.05)
        d_an = np.minimum(d_an, d_pn)
    assume(np.min(np.abs(kwargs.get("margin", 1.0) + _distance_ref(a, pos, p, eps) - d_an)) > 0.05)
    return Sample((a, pos, neg), kwargs)


def _triplet_ref(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False, reduction="mean"):
    d_an = _distance_ref(a, neg, p, eps)
    if swap:
        d_an = np.minimum(d_an, _distance_ref(pos, neg, p, eps))
    return _reduce(np.maximum(margin + _distance_ref(a, pos, p, eps) - d_an, 0), reduction)


ENTRIES = [
    OpInfo("F.log_softmax", F.log_softmax, axis_samples(), ref=_log_softmax_ref, primitives=(LogSoftmax,),
           doc=SOFTMAX_DOC, examples=(30, 20)),
    # the Tensor methods are the same primitives: values on as many samples as F.log_softmax, fewer gradients
    OpInfo("Tensor.log_softmax", lambda x, axis=-1: x.log_softmax(axis), axis_samples(), ref=_log_softmax_ref,
           primitives=(LogSoftmax,), doc=SOFTMAX_DOC, examples=(30, 3)),
    # exp(log_softmax(x)): the result's node is an Exp, the LogSoftmax under it
    OpInfo("F.softmax", F.softmax, axis_samples(), ref=softmax_ref, primitives=(ew.Exp, LogSoftmax),
           doc=SOFTMAX_DOC, examples=(30, 20)),
    OpInfo("Tensor.softmax", lambda x, axis=-1: x.softmax(axis), axis_samples(), ref=softmax_ref,
           primitives=(ew.Exp, LogSoftmax), doc=SOFTMAX_DOC, examples=(15, 3)),
    OpInfo("LogSoftmaxBackward", lambda g, y, **p: LogSoftmaxBackward.apply(g, y, **p),
           log_softmax_backward_samples(), ref=_log_softmax_backward_ref, primitives=(LogSoftmaxBackward,),
           doc=SOFTMAX_DOC, examples=(20, 10)),
    OpInfo("F.cross_entropy", F.cross_entropy, class_target_samples(), ref=_cross_entropy_ref,
           primitives=(NLLLoss, LogSoftmax), doc=SOFTMAX_DOC, examples=(25, 15)),
    OpInfo("F.cross_entropy probabilities", F.cross_entropy, probability_target_samples(), ref=_cross_entropy_ref,
           primitives=(NLLLoss, LogSoftmax), doc=SOFTMAX_DOC, examples=(20, 10)),
    OpInfo("F.nll_loss", F.nll_loss, class_target_samples(log_probs=True, smoothing=False), ref=_nll_loss_ref,
           primitives=(NLLLoss,), doc=SOFTMAX_DOC, examples=(15, 6)),
    OpInfo("NLLLoss probabilities", lambda logp, q, **p: NLLLoss.apply(logp, q, **p),
           probability_target_samples(log_probs=True, smoothing_name="smoothing"), ref=_nll_ref,
           primitives=(NLLLoss,), doc=SOFTMAX_DOC, examples=(20, 10)),
    # composed of Clip, Log, Mul, Add...: the result's node depends on the reduction
    OpInfo("F.binary_cross_entropy", F.binary_cross_entropy, pair_samples(0.02, 0.98),
           ref=lambda p, y, reduction="mean": _reduce(_bce(p, y), reduction), doc=BCE_DOC, examples=(20, 6)),
    OpInfo("F.binary_cross_entropy of sigmoid", lambda x, y, **kw: F.binary_cross_entropy(F.sigmoid(x), y, **kw),
           pair_samples(-6.0, 6.0), ref=lambda x, y, reduction="mean": _reduce(_bce(_sigmoid(x), y), reduction),
           doc=BCE_DOC, examples=(20, 6)),
    OpInfo("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, pair_samples(-6.0, 6.0),
           ref=lambda x, y, reduction="mean": _reduce(_bce(_sigmoid(x), y), reduction), doc=BCE_DOC,
           examples=(20, 20)),
    OpInfo("BinaryCrossEntropyWithLogits", BinaryCrossEntropyWithLogits.apply,
           pair_samples(-6.0, 6.0, reductions=False, max_dims=3, max_side=4),
           ref=lambda x, y: _bce(_sigmoid(x), y), primitives=(BinaryCrossEntropyWithLogits,), doc=BCE_DOC,
           examples=(20, 10)),
    OpInfo("BinaryCrossEntropy", BinaryCrossEntropy.apply,
           pair_samples(0.02, 0.98, reductions=False, max_dims=3, max_side=4),
           ref=_bce, primitives=(BinaryCrossEntropy,), doc=BCE_DOC, examples=(20, 10)),
    OpInfo("F.mse_loss", F.mse_loss, pair_samples(-3.0, 3.0, -3.0, 3.0, max_dims=3, max_side=4),
           ref=lambda a, b, reduction="mean": _reduce((a - b) ** 2, reduction), doc="derivations/elementwise.md",
           examples=(20, 6)),
    OpInfo("F.relu", F.relu, S.unary_samples(away_from=(0.0,)), ref=lambda a: np.maximum(a, 0), primitives=(ew.Relu,),
           doc="derivations/elementwise.md"),
    OpInfo("F.sigmoid", F.sigmoid, S.unary_samples(-4.0, 4.0), ref=_sigmoid, primitives=(ew.Sigmoid,),
           doc="derivations/elementwise.md"),
    OpInfo("F.tanh", F.tanh, S.unary_samples(), ref=np.tanh, primitives=(ew.Tanh,), doc="derivations/elementwise.md"),
    # eval mode (and p = 0) is the identity, the input itself: no node
    OpInfo("F.dropout eval", lambda x, **kw: F.dropout(x, **kw),
           S.unary_samples(kwargs=st.sampled_from([{"p": 0.3, "training": False}, {"p": 0.0}])),
           ref=lambda a, **kw: a, doc="derivations/elementwise.md"),
    OpInfo("F.flatten", F.flatten, flatten_samples(), ref=_flatten_ref, primitives=(mv.Reshape,),
           doc="derivations/movement.md"),
    # ---- the options (weight, ignore_index, K-dimensional and unbatched inputs) --------------------------------------
    OpInfo("F.cross_entropy weight ignore_index", F.cross_entropy, class_option_samples(),
           ref=_cross_entropy_options_ref, doc=SOFTMAX_DOC, examples=(25, 6), bad_inputs=(
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3), [0, 1], weight=[1.0, 2.0]), ValueError,
                        r"cross_entropy: weight must have one entry per class, shape \(3,\)"),
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3, 4), np.zeros((2, 3), np.int64)), ValueError,
                        r"cross_entropy: expected class targets of shape \(2, 4\)"),
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3), [0, -1]), IndexError,
                        r"cross_entropy: class targets must be in \[0, 2\].*ignore_index=-100"),
               BadInput(lambda: F.cross_entropy(tg.randn(3), [[0]]), ValueError,
                        r"cross_entropy: expected class targets of shape \(\)"),
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3), tg.rand(2, 3), ignore_index=0), ValueError,
                        "cross_entropy: ignore_index=0 is not supported with class probabilities"),
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3), [0, 1], ignore_index=1.5), TypeError,
                        "cross_entropy: ignore_index must be an int"),
               BadInput(lambda: F.cross_entropy(tg.randn(2, 3), [0, 1], weight=tg.ones(3, requires_grad=True)),
                        RuntimeError, r"cross_entropy: the class weight is not differentiated"))),
    OpInfo("F.cross_entropy probabilities weight", F.cross_entropy, class_option_samples(probabilities=True),
           ref=_cross_entropy_probabilities_ref, doc=SOFTMAX_DOC, examples=(15, 4)),
    OpInfo("F.nll_loss weight ignore_index", F.nll_loss, class_option_samples(log_probs=True, smoothing=False),
           ref=_weighted_nll_ref, doc=SOFTMAX_DOC, examples=(15, 4), bad_inputs=(
               BadInput(lambda: F.nll_loss(tg.randn(2, 3), [0, 3], ignore_index=2), IndexError,
                        r"nll_loss: class targets must be in \[0, 2\]"),
               BadInput(lambda: F.nll_loss(tg.randn(2, 3), [0, 1], weight=["a", "b", "c"]), TypeError,
                        "nll_loss: weight"))),
    # the primitive with a weight and ignored rows on 2-D and K-dimensional log-probabilities (the general path)
    OpInfo("NLLLoss weight ignore_index",
           lambda logp, target, weight=None, ignore_index=IGNORE, reduction="mean", label_smoothing=0.0:
           NLLLoss.apply(logp, target=target, weight=weight, ignore_index=ignore_index, reduction=reduction,
                         smoothing=label_smoothing),
           class_option_samples(log_probs=True).filter(lambda s: s.inputs[0].ndim >= 2), ref=_weighted_nll_ref,
           primitives=(NLLLoss,), doc=SOFTMAX_DOC, examples=(15, 6)),
    OpInfo("F.binary_cross_entropy weight", F.binary_cross_entropy, weighted_binary_samples(logits=False),
           ref=_bce_weight_ref, doc=BCE_DOC, examples=(15, 4), bad_inputs=(
               BadInput(lambda: F.binary_cross_entropy(tg.rand(2, 3), tg.rand(2, 3), weight=tg.ones(2)), ValueError,
                        r"binary_cross_entropy: weight \(2,\) must broadcast to the input's shape \(2, 3\)"),)),
    OpInfo("F.binary_cross_entropy_with_logits weight pos_weight",
           lambda x, y, r, **kw: F.binary_cross_entropy_with_logits(x, y, pos_weight=r, **kw),
           weighted_binary_samples(logits=True, pos_weight=True), ref=_bce_logits_ref, doc=BCE_DOC,
           examples=(12, 4), bad_inputs=(
               BadInput(lambda: F.binary_cross_entropy_with_logits(tg.randn(2, 3), tg.rand(2, 3),
                                                                   pos_weight=tg.ones(2)),
                        ValueError, r"binary_cross_entropy_with_logits: pos_weight \(2,\) must broadcast"),)),
    OpInfo("BinaryCrossEntropyWithLogits pos_weight", BinaryCrossEntropyWithLogits.apply,
           weighted_binary_samples(logits=True, pos_weight=True).map(lambda s: Sample(s.inputs)),
           ref=lambda x, y, r: _bce_logits_ref(x, y, r, reduction="none"), primitives=(BinaryCrossEntropyWithLogits,),
           doc=BCE_DOC, examples=(12, 6)),
    # ---- regression ------------------------------------------------------------------------------------------------
    OpInfo("F.l1_loss", F.l1_loss, difference_samples(lambda kw: (0.0,)),
           ref=lambda x, y, reduction="mean": _reduce(np.abs(x - y), reduction), doc=LOSSES_DOC, examples=(15, 4),
           bad_inputs=(BadInput(lambda: F.l1_loss(tg.randn(3), tg.randn(2)), ValueError,
                                r"l1_loss: input \(3,\) and target \(2,\) must have the same shape"),
                       BadInput(lambda: F.l1_loss(tg.randn(3), tg.randn(3), reduction="batchmean"), ValueError,
                                "l1_loss: reduction must be"))),
    OpInfo("F.smooth_l1_loss", F.smooth_l1_loss,
           difference_samples(lambda kw: (-kw.get("beta", 1.0), kw.get("beta", 1.0)),
                              {"beta": st.sampled_from([None, 0.0, 0.5, 2.0])}),
           ref=_smooth_l1_ref, doc=LOSSES_DOC, examples=(15, 4),
           bad_inputs=(BadInput(lambda: F.smooth_l1_loss(tg.randn(3), tg.randn(3), beta=-1.0), ValueError,
                                "smooth_l1_loss: beta must be >= 0"),)),
    OpInfo("F.huber_loss", F.huber_loss,
           difference_samples(lambda kw: (-kw.get("delta", 1.0), kw.get("delta", 1.0)),
                              {"delta": st.sampled_from([None, 0.5, 2.0])}),
           ref=_huber_ref, doc=LOSSES_DOC, examples=(12, 4),
           bad_inputs=(BadInput(lambda: F.huber_loss(tg.randn(3), tg.randn(3), delta=0.0), ValueError,
                                "huber_loss: delta must be positive"),)),
    OpInfo("F.kl_div", F.kl_div, kl_div_samples(), ref=_kl_div_ref, doc=LOSSES_DOC, examples=(15, 4),
           bad_inputs=(BadInput(lambda: F.kl_div(tg.randn(3), tg.rand(3), log_target=1), TypeError,
                                "kl_div: log_target must be True or False"),
                       BadInput(lambda: F.kl_div(tg.randn(3), tg.rand(3), reduction="avg"), ValueError,
                                "kl_div: reduction must be 'mean', 'batchmean', 'sum' or 'none'"))),
    OpInfo("F.poisson_nll_loss", F.poisson_nll_loss, poisson_samples(), ref=_poisson_ref, doc=LOSSES_DOC,
           examples=(15, 4)),
    OpInfo("F.gaussian_nll_loss", F.gaussian_nll_loss, gaussian_samples(), ref=_gaussian_ref, doc=LOSSES_DOC,
           examples=(12, 4), bad_inputs=(
               BadInput(lambda: F.gaussian_nll_loss(tg.randn(2, 3), tg.randn(2, 3), -tg.ones(2, 3)), ValueError,
                        "gaussian_nll_loss: var has negative entries"),
               BadInput(lambda: F.gaussian_nll_loss(tg.randn(2, 3), tg.randn(2, 3), tg.ones(3)), ValueError,
                        r"gaussian_nll_loss: var \(3,\) must have the input's shape"))),
    # ---- margins, similarities and distances -------------------------------------------------------------------------
    OpInfo("F.margin_ranking_loss", F.margin_ranking_loss, margin_ranking_samples(), ref=_margin_ranking_ref,
           doc=LOSSES_DOC, examples=(15, 4), bad_inputs=(
               BadInput(lambda: F.margin_ranking_loss(tg.randn(3), tg.randn(3), tg.ones(2)), ValueError,
                        r"margin_ranking_loss: input1 \(3,\) and target \(2,\)"),)),
    OpInfo("F.hinge_embedding_loss", F.hinge_embedding_loss, hinge_samples(), ref=_hinge_ref, doc=LOSSES_DOC,
           examples=(15, 4)),
    OpInfo("F.soft_margin_loss", F.soft_margin_loss,
           S.samples(S.arrays(st.just((3, 2))), S.arrays(st.just((3, 2))), kwargs={"reduction": REDUCTIONS})
           | pair_samples(-3.0, 3.0, -1.0, 1.0, max_dims=3, max_side=3),
           ref=_soft_margin_ref, doc=LOSSES_DOC, examples=(15, 4)),
    OpInfo("F.cosine_similarity", F.cosine_similarity, cosine_similarity_samples(), ref=_cosine_similarity_ref,
           doc=LOSSES_DOC, examples=(15, 4), bad_inputs=(
               BadInput(lambda: F.cosine_similarity(tg.randn(2, 3), tg.randn(2, 4)), ValueError,
                        r"cosine_similarity: x1 \(2, 3\) and x2 \(2, 4\) do not broadcast"),
               BadInput(lambda: F.cosine_similarity(tg.randn(2, 3), tg.randn(2, 3), dim=2), ValueError,
                        "cosine_similarity: dim 2 is out of range"))),
    OpInfo("F.cosine_embedding_loss", F.cosine_embedding_loss, cosine_embedding_samples(),
           ref=_cosine_embedding_ref, doc=LOSSES_DOC, examples=(10, 3), bad_inputs=(
               BadInput(lambda: F.cosine_embedding_loss(tg.randn(2, 3), tg.randn(2, 3), np.ones(3)), ValueError,
                        r"cosine_embedding_loss: target \(3,\) must have shape \(2,\)"),)),
    OpInfo("F.pairwise_distance", F.pairwise_distance, pairwise_distance_samples(), ref=_distance_ref,
           doc=LOSSES_DOC, examples=(15, 4), bad_inputs=(
               BadInput(lambda: F.pairwise_distance(tg.randn(2, 3), tg.randn(2, 3), p=0), ValueError,
                        "pairwise_distance: p must be positive"),)),
    OpInfo("F.triplet_margin_loss", F.triplet_margin_loss, triplet_samples(), ref=_triplet_ref, doc=LOSSES_DOC,
           examples=(12, 3), bad_inputs=(
               BadInput(lambda: F.triplet_margin_loss(tg.randn(2, 3), tg.randn(2, 3), tg.randn(3)), ValueError,
                        r"triplet_margin_loss: anchor \(2, 3\), positive \(2, 3\) and negative \(3,\)"),
               BadInput(lambda: F.triplet_margin_loss(tg.randn(2, 3), tg.randn(2, 3), tg.randn(2, 3), swap=1),
                        TypeError, "triplet_margin_loss: swap must be True or False"))),
]
