"""Op table: the log-softmax family and the losses (tinygrad_cnn/ops/softmax.py, tinygrad_cnn/nn/functional.py),
plus the functional API's thin activation and layer wrappers (F.relu, F.sigmoid, F.tanh, F.dropout in eval mode,
F.flatten) that no other family covers.

Integer class targets are never differentiated: they travel as the sample's kwargs (``target=``), while class
probabilities and binary labels are float inputs, differentiated like the logits. Every reduction ('mean', 'sum',
'none') and label smoothing 0, 0.1 and 1.0 are drawn.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from references import softmax_ref

from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.ops import movement as mv
from tinygrad_cnn.ops.softmax import BinaryCrossEntropyWithLogits, LogSoftmax, LogSoftmaxBackward, NLLLoss
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

SOFTMAX_DOC = "derivations/softmax_cross_entropy.md"
BCE_DOC = "derivations/binary_cross_entropy.md"
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
]
