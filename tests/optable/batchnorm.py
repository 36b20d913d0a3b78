"""Op table: batch normalisation (F.batch_norm, the ``BatchNorm`` primitive) in training and eval mode, and its
input-gradient kernel ``BatchNormBackward`` called directly.

Every option is drawn on its own axis: 1-d (N, C), (N, C, L), 2-d and 3-d inputs with odd sides, N from 2 to 4,
weight and bias each present or not, eps, running statistics given or not, momentum (the updated running
statistics are checked in tests/test_batchnorm.py). The references compute the statistics with np.mean / np.var
over a (C, M) layout, and the gradient kernel in the textbook staged form (through dvar and dmean), so they share
nothing with the library's fused formulas. Values are distinct, so no channel has a near-zero variance.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.batchnorm import BatchNorm, BatchNormBackward
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/batch_norm.md"
LAYOUTS = ("both", "weight", "bias", "none")


@st.composite
def bn_shapes(draw, max_size: int = 40) -> tuple[int, ...]:
    """(N, C, *spatial): N in [2, 4], C in [1, 3], 0 to 3 spatial axes of sides 1 to 5, at most ``max_size``
    elements (a gradgradcheck perturbs each one)."""
    n, c = draw(st.integers(2, 4)), draw(st.integers(1, 3))
    shape = [n, c]
    for _ in range(draw(st.integers(0, 3))):
        room = max_size // int(np.prod(shape))  # the largest side that keeps the size within max_size
        shape.append(draw(st.integers(1, max(1, min(5, room)))))
    return tuple(shape)


def _channels_first(x: np.ndarray) -> np.ndarray:
    """x (N, C, *spatial) as (C, M)."""
    return np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)


def _shaped(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def _split(affine: tuple, layout: str) -> tuple:
    weight = affine[0] if layout in ("both", "weight") else None
    bias = affine[-1] if layout in ("both", "bias") else None
    return weight, bias


def _affine_arrays(draw, c: int, layout: str) -> tuple[np.ndarray, ...]:
    count = {"both": 2, "weight": 1, "bias": 1, "none": 0}[layout]
    return tuple(draw(S.arrays((c,), -2.0, 2.0)) for _ in range(count))


@st.composite
def training_samples(draw) -> Sample:
    shape = draw(bn_shapes())
    x = draw(S.arrays(shape, -3.0, 3.0, distinct=True, gap=1e-2))
    assume(float(np.min(_channels_first(x).var(axis=1))) > 1e-2)
    layout = draw(st.sampled_from(LAYOUTS))
    kwargs = {"layout": layout, "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1]))}
    if draw(st.booleans()):
        c = shape[1]
        kwargs["running"] = (draw(S.arrays((c,), -1.0, 1.0)), draw(S.arrays((c,), 0.5, 2.0)))
        kwargs["momentum"] = draw(st.sampled_from([0.1, 0.5, 1.0, 0.0]))
    return Sample((x, *_affine_arrays(draw, shape[1], layout)), kwargs)


def batch_norm_training(x, *affine, layout, eps, running=None, momentum=0.1):
    """F.batch_norm in training mode, updating fresh copies of ``running`` when given (their values are checked in
    tests/test_batchnorm.py: as results here they would be functions of x outside the graph)."""
    weight, bias = _split(affine, layout)
    if running is None:
        return F.batch_norm(x, None, None, weight, bias, training=True, eps=eps)
    rm, rv = (tg.Tensor(np.array(a, dtype=x.dtype)) for a in running)
    return F.batch_norm(x, rm, rv, weight, bias, training=True, momentum=momentum, eps=eps)


def batch_norm_training_ref(x, *affine, layout, eps, running=None, momentum=0.1):
    weight, bias = _split(affine, layout)
    flat = _channels_first(x)
    mean, var = flat.mean(axis=1), flat.var(axis=1)
    y = (x - _shaped(mean, x.ndim)) / np.sqrt(_shaped(var, x.ndim) + eps)
    if weight is not None:
        y = y * _shaped(weight, x.ndim)
    if bias is not None:
        y = y + _shaped(bias, x.ndim)
    return y


@st.composite
def eval_samples(draw) -> Sample:
    shape = draw(bn_shapes())
    c = shape[1]
    layout = draw(st.sampled_from(LAYOUTS))
    kwargs = {"layout": layout, "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
              "running": (draw(S.arrays((c,), -1.0, 1.0)), draw(S.arrays((c,), 0.25, 2.0)))}
    return Sample((draw(S.arrays(shape)), *_affine_arrays(draw, c, layout)), kwargs)


def batch_norm_eval(x, *affine, layout, eps, running):
    weight, bias = _split(affine, layout)
    rm, rv = (tg.Tensor(np.array(a, dtype=x.dtype)) for a in running)
    return F.batch_norm(x, rm, rv, weight, bias, training=False, eps=eps)


def batch_norm_eval_ref(x, *affine, layout, eps, running):
    weight, bias = _split(affine, layout)
    y = (x - _shaped(running[0], x.ndim)) / np.sqrt(_shaped(running[1], x.ndim) + eps)
    if weight is not None:
        y = y * _shaped(weight, x.ndim)
    return y if bias is None else y + _shaped(bias, x.ndim)


@st.composite
def backward_samples(draw) -> Sample:
    shape = draw(bn_shapes(max_size=24))
    x = draw(S.arrays(shape, -3.0, 3.0, distinct=True, gap=1e-2))
    assume(float(np.min(_channels_first(x).var(axis=1))) > 1e-2)
    weight = (draw(S.arrays((shape[1],), -2.0, 2.0)),) if draw(st.booleans()) else ()
    return Sample((draw(S.arrays(shape)), x, *weight), {"eps": draw(st.sampled_from([1e-5, 0.1]))})


def batch_norm_backward_ref(g, x, *weight, eps):
    """The staged chain rule: d x_hat = g w, then dvar, dmean, dx (the textbook derivation)."""
    axes = (0, *range(2, x.ndim))
    m = x.size // x.shape[1]
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    d_xhat = g * (_shaped(weight[0], x.ndim) if weight else 1.0)
    d_var = np.sum(d_xhat * (x - mean), axis=axes, keepdims=True) * -0.5 * (var + eps) ** -1.5
    d_mean = (np.sum(-d_xhat, axis=axes, keepdims=True) / np.sqrt(var + eps)
              + d_var * np.mean(-2.0 * (x - mean), axis=axes, keepdims=True))
    return d_xhat / np.sqrt(var + eps) + d_var * 2.0 * (x - mean) / m + d_mean / m


X = tg.Tensor(np.ones((2, 3, 4)))
ONES3 = tg.Tensor(np.ones(3))

ENTRIES = [
    OpInfo("F.batch_norm", batch_norm_training, training_samples(), ref=batch_norm_training_ref,
           primitives=(BatchNorm, BatchNormBackward), doc=DOC, ref_tol={"rtol": 1e-9, "atol": 1e-10},
           float32_tol={"rtol": 1e-4, "atol": 2e-5},
           bad_inputs=(
               BadInput(lambda: F.batch_norm(X, None, None, tg.Tensor(np.ones(4)), training=True), ValueError,
                        r"weight has shape \(4,\), but the input \(2, 3, 4\) has 3 channels",
                        "a weight of the wrong channel count"),
               BadInput(lambda: F.batch_norm(tg.Tensor(np.ones((2, 3), np.int64)), None, None, training=True),
                        TypeError, r"convert it with \.float\(\)", "an integer input"),
               BadInput(lambda: F.batch_norm(tg.Tensor(np.ones(3)), None, None, training=True), ValueError,
                        "at least 2 dimensions", "a 1-d input has no channel axis"),
               BadInput(lambda: F.batch_norm(tg.Tensor(np.ones((1, 3, 1))), None, None, training=True),
                        ValueError, r"Expected more than 1 value per channel when training, got input size "
                        r"\(1, 3, 1\)", "one value per channel has no variance"),
               BadInput(lambda: F.batch_norm(X, ONES3, None), ValueError, "running_mean and running_var",
                        "eval mode without running_var"),
               BadInput(lambda: F.batch_norm(X, ONES3, tg.Tensor(np.ones(3, np.float32))), TypeError,
                        "running_var has dtype float32", "running statistics of another dtype"),
               BadInput(lambda: F.batch_norm(X, np.zeros(3), ONES3, training=False), TypeError,
                        "updated in place", "running statistics that are not tensors"),
               BadInput(lambda: F.batch_norm(X, None, None, training=True, momentum="a"), TypeError,
                        "momentum must be a real number", "a momentum that is not a number"),
               BadInput(lambda: F.batch_norm(X, None, None, training=True, eps=-1.0), ValueError,
                        r"eps must be >= 0", "a negative eps"),
           )),
    OpInfo("F.batch_norm eval", batch_norm_eval, eval_samples(), ref=batch_norm_eval_ref, primitives=(BatchNorm,),
           doc=DOC),
    OpInfo("BatchNormBackward", lambda g, x, *w, eps: BatchNormBackward.apply(g, x, *w, eps=eps),
           backward_samples(), ref=batch_norm_backward_ref, primitives=(BatchNormBackward,), doc=DOC,
           ref_tol={"rtol": 1e-9, "atol": 1e-10}, float32_tol={"rtol": 1e-4, "atol": 5e-5}),
]
