"""Op table: the normalisation functions of tinygrad_cnn/nn/normalization.py (F.layer_norm on the ``LayerNorm``
primitive of tinygrad_cnn/ops/normalization.py; F.group_norm and F.instance_norm, the same primitive on a reshaped
input plus a per-channel affine map; F.local_response_norm, F.normalize and F.rms_norm, compositions).

Every option is drawn: the normalized shape (1 to all of the input's dimensions, as an int, a tuple or a list), each
of weight and bias present or not, eps; num_groups; instance norm with the input's statistics (with and without
running statistics to update) and with the running statistics (use_input_stats=False); the window size of local
response normalisation (odd and even, up to larger than the channel count) and its alpha, beta, k; the order p (1,
2, 3, inf) and dim (an int, negative, a tuple) of normalize; eps of rms_norm (None: the dtype's epsilon). Inputs
are pairwise distinct, so no normalised group has a tiny variance (where the gradient is ill-conditioned); the
inputs of normalize (p = 1) and rms_norm stay away from 0. The references are NumPy transcriptions of PyTorch's
formulas; the running-statistics update, degenerate inputs and the layers are tested in tests/test_normalization.py.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.normalization import LayerNorm
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/normalization.md"
AFFINE = st.sampled_from([(), ("weight",), ("bias",), ("weight", "bias")])
EPS = st.sampled_from([None, 1e-5, 0.1])
X = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
INTS = tg.Tensor(np.arange(24).reshape(2, 3, 4))


def _with_eps(draw, kwargs: dict) -> dict:
    eps = draw(EPS)
    return kwargs if eps is None else {**kwargs, "eps": eps}


def _spelled(draw, shape: tuple[int, ...]):
    """A normalized_shape as PyTorch takes it: an int (for one dimension), a tuple or a list."""
    options = [shape, list(shape)] + ([shape[0]] if len(shape) == 1 else [])
    return draw(st.sampled_from(options))


def _trailing_axes(x: np.ndarray, normalized_shape) -> tuple[int, ...]:
    k = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    return tuple(range(x.ndim - k, x.ndim))


# ---- layer_norm ------------------------------------------------------------------------------------------------
@st.composite
def layer_norm_samples(draw) -> Sample:
    x = draw(S.arrays(S.shapes(min_dims=1, max_dims=3, max_side=4), distinct=True))
    k = draw(st.integers(1, x.ndim))
    shape = x.shape[x.ndim - k:]
    which = draw(AFFINE)
    params = tuple(draw(S.arrays(shape, -2.0, 2.0)) for _ in which)
    return Sample((x, *params), _with_eps(draw, {"normalized_shape": _spelled(draw, shape), "which": which}))


def _layer_norm_op(x, *params, normalized_shape, which=(), **kwargs):
    return F.layer_norm(x, normalized_shape, **dict(zip(which, params)), **kwargs)


def _standardise(x: np.ndarray, axes: tuple[int, ...], eps: float) -> np.ndarray:
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _layer_norm_ref(x, *params, normalized_shape, which=(), eps=1e-5):
    y = _standardise(x, _trailing_axes(x, normalized_shape), eps)
    given = dict(zip(which, params))
    if "weight" in given:
        y = y * given["weight"]
    return y + given["bias"] if "bias" in given else y


# ---- group_norm and instance_norm --------------------------------------------------------------------------------
@st.composite
def grouped_input(draw, groups: int, max_spatial_dims: int = 2) -> np.ndarray:
    """x (N, C, *spatial) with C a multiple of ``groups``, pairwise distinct values."""
    c = groups * draw(st.integers(1, 2))
    spatial = draw(S.shapes(min_dims=0, max_dims=max_spatial_dims, max_side=3))
    return draw(S.arrays((draw(st.integers(1, 2)), c, *spatial), distinct=True))


@st.composite
def group_norm_samples(draw) -> Sample:
    groups = draw(st.integers(1, 3))
    x = draw(grouped_input(groups))
    assume(math.prod(x.shape) // groups > 1 or x.shape[0] > 1)  # PyTorch refuses one value per group (N = 1)
    which = draw(AFFINE)
    params = tuple(draw(S.arrays((x.shape[1],), -2.0, 2.0)) for _ in which)
    return Sample((x, *params), _with_eps(draw, {"num_groups": groups, "which": which}))


def _group_norm_op(x, *params, num_groups, which=(), **kwargs):
    return F.group_norm(x, num_groups, **dict(zip(which, params)), **kwargs)


def _per_channel(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape((-1,) + (1,) * (ndim - 2))


def _affine_ref(y, which, params):
    given = dict(zip(which, params))
    if "weight" in given:
        y = y * _per_channel(given["weight"], y.ndim)
    return y + _per_channel(given["bias"], y.ndim) if "bias" in given else y


def _group_norm_ref(x, *params, num_groups, which=(), eps=1e-5):
    n = x.shape[0]
    y = _standardise(x.reshape(n, num_groups, -1), (2,), eps).reshape(x.shape)
    return _affine_ref(y, which, params)


@st.composite
def instance_norm_samples(draw) -> Sample:
    """Each instance has more than one position (PyTorch's rule with the input's statistics); the running
    statistics are kwargs (never differentiated), updated on a fresh copy at every call."""
    c = draw(st.integers(1, 3))
    spatial = draw(S.shapes(min_dims=1, max_dims=2, max_side=3).filter(lambda s: math.prod(s) > 1))
    x = draw(S.arrays((draw(st.integers(1, 2)), c, *spatial), distinct=True))
    which = draw(AFFINE)
    params = tuple(draw(S.arrays((c,), -2.0, 2.0)) for _ in which)
    kwargs = _with_eps(draw, {"which": which})
    mode = draw(st.sampled_from(["input", "input+running", "running"]))
    if mode != "input":
        kwargs["running"] = (draw(S.arrays((c,), -1.0, 1.0)), draw(S.arrays((c,), 0.5, 2.0)))
        kwargs["momentum"] = draw(st.sampled_from([0.1, 0.5]))
    if mode == "running":
        kwargs["use_input_stats"] = False
    return Sample((x, *params), kwargs)


def _instance_norm_op(x, *params, which=(), running=None, **kwargs):
    stats = {} if running is None else {"running_mean": tg.Tensor(running[0].copy()),
                                        "running_var": tg.Tensor(running[1].copy())}
    return F.instance_norm(x, **stats, **dict(zip(which, params)), **kwargs)


def _instance_norm_ref(x, *params, which=(), running=None, use_input_stats=True, momentum=0.1, eps=1e-5):
    if use_input_stats:
        y = _standardise(x, tuple(range(2, x.ndim)), eps)
    else:
        mean, var = (_per_channel(r, x.ndim) for r in running)
        y = (x - mean) / np.sqrt(var + eps)
    return _affine_ref(y, which, params)


# ---- local response normalisation ---------------------------------------------------------------------------------
@st.composite
def local_response_norm_samples(draw) -> Sample:
    shape = draw(S.shapes(min_dims=3, max_dims=4, max_side=4))
    x = draw(S.arrays(shape))
    kwargs = {"size": draw(st.integers(1, 6))}
    for name, values in (("alpha", [1e-4, 0.3]), ("beta", [0.75, 0.5, 1.5]), ("k", [1.0, 2.0])):
        value = draw(st.sampled_from([None, *values]))
        if value is not None:
            kwargs[name] = value
    return Sample((x,), kwargs)


def _local_response_norm_ref(x, size, alpha=1e-4, beta=0.75, k=1.0):
    c = x.shape[1]
    squares = x * x
    total = np.zeros_like(x)
    for ch in range(c):  # the window [ch - size // 2, ch + (size - 1) // 2], clipped to the channels
        lo, hi = max(0, ch - size // 2), min(c, ch + (size - 1) // 2 + 1)
        total[:, ch] = squares[:, lo:hi].sum(axis=1)
    return x / (k + alpha / size * total) ** beta


# ---- normalize ---------------------------------------------------------------------------------------------------
@st.composite
def normalize_samples(draw) -> Sample:
    p = draw(st.sampled_from([None, 1.0, 3.0, math.inf]))
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    x = draw(S.arrays(shape, distinct=p == math.inf, away_from=(0.0,), gap=0.05 if p == 1.0 else 1e-2))
    kwargs: dict = {} if p is None else {"p": p}
    ndim = x.ndim
    dims = [*range(-ndim, ndim), tuple(range(ndim))] + ([(0, ndim - 1)] if ndim > 1 else [])
    dim = draw(st.sampled_from([None, *dims]))  # None: the default dim=1 (when the input has it)
    if dim is None and ndim < 2:
        dim = 0
    if dim is not None:
        kwargs[draw(st.sampled_from(["dim", "axis"]))] = dim
    if draw(st.booleans()):
        kwargs["eps"] = 1e-6
    return Sample((x,), kwargs)


def _normalize_ref(x, p=2.0, dim=1, eps=1e-12, axis=None):
    axes = dim if axis is None else axis
    axes = tuple(a % x.ndim for a in ((axes,) if isinstance(axes, int) else axes))
    if p == math.inf:
        norm = np.abs(x).max(axis=axes, keepdims=True)
    else:
        norm = (np.abs(x) ** p).sum(axis=axes, keepdims=True) ** (1.0 / p)
    return x / np.maximum(norm, eps)


# ---- rms_norm ----------------------------------------------------------------------------------------------------
@st.composite
def rms_norm_samples(draw) -> Sample:
    x = draw(S.arrays(S.shapes(min_dims=1, max_dims=3, max_side=4), away_from=(0.0,), gap=0.2))
    k = draw(st.integers(1, x.ndim))
    shape = x.shape[x.ndim - k:]
    weighted = draw(st.booleans())
    params = (draw(S.arrays(shape, -2.0, 2.0)),) if weighted else ()
    kwargs = {"normalized_shape": _spelled(draw, shape), "which": ("weight",) if weighted else ()}
    eps = draw(st.sampled_from([None, 1e-6, 0.1]))
    return Sample((x, *params), kwargs if eps is None else {**kwargs, "eps": eps})


def _rms_norm_op(x, *params, normalized_shape, which=(), **kwargs):
    return F.rms_norm(x, normalized_shape, **dict(zip(which, params)), **kwargs)


def _rms_norm_ref(x, *params, normalized_shape, which=(), eps=None):
    eps = np.finfo(x.dtype).eps if eps is None else eps
    y = x / np.sqrt((x * x).mean(axis=_trailing_axes(x, normalized_shape), keepdims=True) + eps)
    return y * params[0] if which else y


ENTRIES = [
    OpInfo("F.layer_norm", _layer_norm_op, layer_norm_samples(), ref=_layer_norm_ref, primitives=(LayerNorm,),
           doc=DOC, examples=(30, 12), bad_inputs=(
               BadInput(lambda: F.layer_norm(tg.randn(2, 5), (4,)), ValueError,
                        r"layer_norm: input of shape \(2, 5\) does not end with normalized_shape \(4,\)"),
               BadInput(lambda: F.layer_norm(tg.randn(2, 4), 4, weight=tg.ones(3)), ValueError,
                        r"layer_norm: weight has shape \(3,\) but must have shape \(4,\)"),
               BadInput(lambda: F.layer_norm(tg.randn(2, 4), 4, bias=tg.ones(4, dtype=np.float64)), TypeError,
                        "layer_norm: input is float32 but bias is float64"),
               BadInput(lambda: F.layer_norm(tg.Tensor([[1, 2]]), 2), TypeError, "convert it with .float"),
               BadInput(lambda: F.layer_norm(tg.randn(2, 4), ()), ValueError, "at least one dimension"),
               BadInput(lambda: F.layer_norm(tg.randn(2, 4), 4.0), TypeError, "normalized_shape must be an int"),
               BadInput(lambda: F.layer_norm(tg.randn(2, 4), 4, eps=-1.0), ValueError, "eps must be >= 0"))),
    OpInfo("F.group_norm", _group_norm_op, group_norm_samples(), ref=_group_norm_ref, doc=DOC, examples=(25, 8),
           bad_inputs=(
               BadInput(lambda: F.group_norm(tg.randn(2, 6, 3), 4), ValueError,
                        r"group_norm: the 6 channels of input \(2, 6, 3\) are not divisible by num_groups=4"),
               BadInput(lambda: F.group_norm(tg.randn(6), 2), ValueError, "at least 2 dimensions"),
               BadInput(lambda: F.group_norm(tg.randn(2, 4), 2, weight=tg.ones(2)), ValueError,
                        r"group_norm: weight has shape \(2,\) but must have shape \(4,\)"),
               BadInput(lambda: F.group_norm(tg.randn(1, 2), 2), ValueError, "more than 1 value per group"),
               BadInput(lambda: F.group_norm(tg.randn(2, 4), 0), ValueError, "num_groups must be a positive int"))),
    OpInfo("F.instance_norm", _instance_norm_op, instance_norm_samples(), ref=_instance_norm_ref, doc=DOC,
           examples=(25, 8), bad_inputs=(
               BadInput(lambda: F.instance_norm(tg.randn(2, 3, 1, 1)), ValueError,
                        "instance_norm: expected more than 1 spatial element"),
               BadInput(lambda: F.instance_norm(tg.randn(2, 3, 4), running_mean=tg.zeros(3)), ValueError,
                        "instance_norm: pass both running_mean and running_var"),
               BadInput(lambda: F.instance_norm(tg.randn(2, 3, 4), use_input_stats=False), ValueError,
                        "instance_norm: use_input_stats=False normalises with running_mean"),
               BadInput(lambda: F.instance_norm(tg.randn(2, 3, 4), tg.zeros(2), tg.ones(2)), ValueError,
                        r"instance_norm: running_mean has shape \(2,\) but must have shape \(3,\)"),
               BadInput(lambda: F.instance_norm(INTS), TypeError, "instance_norm: input has dtype int64"))),
    OpInfo("F.local_response_norm", F.local_response_norm, local_response_norm_samples(),
           ref=_local_response_norm_ref, doc=DOC, examples=(25, 8), bad_inputs=(
               BadInput(lambda: F.local_response_norm(tg.randn(2, 3), 2), ValueError,
                        r"local_response_norm: expected an input of at least 3 dimensions \(N, C, \*\), got shape "
                        r"\(2, 3\)"),
               BadInput(lambda: F.local_response_norm(X, 0), ValueError, "size must be a positive int"),
               BadInput(lambda: F.local_response_norm(X, 2, beta=math.nan), ValueError, "beta must be finite"))),
    OpInfo("F.normalize", F.normalize, normalize_samples(), ref=_normalize_ref, doc=DOC, examples=(30, 8),
           bad_inputs=(
               BadInput(lambda: F.normalize(X, dim=3), ValueError, "normalize: axis 3 is out of range"),
               BadInput(lambda: F.normalize(X, p="two"), TypeError, "normalize: p must be a real number"),
               BadInput(lambda: F.normalize(X, dim=1, axis=1), TypeError, "normalize: got both dim= and axis="),
               BadInput(lambda: F.normalize(X, eps=-1.0), ValueError, "normalize: eps must be >= 0"))),
    OpInfo("F.rms_norm", _rms_norm_op, rms_norm_samples(), ref=_rms_norm_ref, doc=DOC, examples=(25, 8),
           float32_tol={"rtol": 1e-4, "atol": 1e-5}, bad_inputs=(
               BadInput(lambda: F.rms_norm(tg.randn(2, 5), [4]), ValueError,
                        r"rms_norm: input of shape \(2, 5\) does not end with normalized_shape \(4,\)"),
               BadInput(lambda: F.rms_norm(tg.randn(2, 4), 4, weight=tg.ones(2, 4)), ValueError,
                        r"rms_norm: weight has shape \(2, 4\) but must have shape \(4,\)"),
               BadInput(lambda: F.rms_norm(tg.randn(2, 4), 4, eps=-1e-3), ValueError, "rms_norm: eps must be >= 0"))),
]
