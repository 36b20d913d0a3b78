"""Op table: the activations (tinygrad_cnn/ops/activation.py primitives and the F.* of tinygrad_cnn/nn/activations.py).

Samples keep away from each function's kinks (0 for the rectifiers, the bounds of hardtanh / relu6 / hardsigmoid /
hardswish), drawing the bounds first where they are options, so the kinks move with them. The derivatives AT the
kinks (PyTorch's side) are hand-tested in tests/test_activations.py.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from references import softmax_ref

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.nn.activations import SELU_ALPHA, SELU_SCALE
from tinygrad_cnn.ops import activation as act
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.ops.softmax import LogSoftmax
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/activations.md"
X = tg.Tensor(np.ones((2, 4)))
INTS = tg.Tensor(np.array([1, 2]))


def _float_only(fn):
    """The bad input every activation refuses: an integer tensor (TypeError, convert it with .float())."""
    return BadInput(lambda: fn(INTS), TypeError, r"convert it with \.float\(\)")


def unary(name, op, ref, primitives, low=-3.0, high=3.0, away_from=(0.0,), kwargs=None, bad=(), family="unary",
          **extra):
    """A one-input activation on any shape (0-d included), away from its kinks. Family "unary" entries are also
    fuzzed (tests/test_fuzz.py: ``op(x)`` with its default arguments, every dtype, NaN and Inf); they refuse integer
    and bool tensors."""
    fn = getattr(F, name.split(".")[-1].split(" ")[0])
    return OpInfo(name, op, S.unary_samples(low, high, away_from=away_from, kwargs=kwargs), ref=ref,
                  primitives=primitives, doc=DOC, bad_inputs=(_float_only(fn), *bad), family=family,
                  fuzz={"refuses": "biu"} if family else {}, **extra)


def _sigmoid(a):
    return 0.5 + 0.5 * np.tanh(0.5 * a)


def _elu(a, alpha=1.0):
    return np.where(a > 0, a, alpha * np.expm1(np.minimum(a, 0)))


def _celu(a, alpha=1.0):
    return np.maximum(0, a) + np.minimum(0, alpha * np.expm1(a / alpha))


_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _gelu(a, approximate="none"):
    if approximate == "tanh":
        return 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a**3)))
    return 0.5 * a * _erfc(-a / math.sqrt(2))


# ---- hardtanh: the bounds are drawn first, the values kept away from them -----------------------------------------
BOUNDS = st.sampled_from([None, (-1.0, 1.0), (0.0, 6.0), (-0.5, 2.0), (-2.0, -1.0)])


@st.composite
def hardtanh_samples(draw) -> Sample:
    bounds = draw(BOUNDS)
    kinks = (-1.0, 1.0) if bounds is None else bounds
    x = draw(S.arrays(S.shapes(max_dims=3, max_side=4), -3.0, 3.0, away_from=kinks))
    return Sample((x,), {} if bounds is None else dict(zip(("min_val", "max_val"), bounds)))


# ---- along an axis: softmin and glu -----------------------------------------------------------------------------
@st.composite
def dim_samples(draw, even: bool = False) -> Sample:
    """An array of 1 to 3 axes and an axis, spelled ``dim=`` or ``axis=`` or left out (the default -1); with
    ``even`` the chosen axis gets an even size (glu halves it)."""
    shape = list(draw(S.shapes(min_dims=1, max_dims=3, max_side=4)))
    dim = draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    if even:
        shape[-1 if dim is None else dim] = draw(st.sampled_from([2, 4]))
    x = draw(S.arrays(tuple(shape)))
    spelled = draw(st.sampled_from(["dim", "axis"])) if not even else "dim"
    return Sample((x,), {} if dim is None else {spelled: dim})


def _softmin_ref(x, dim=-1, axis=None):
    return softmax_ref(-x, dim if axis is None else axis)


def _glu_ref(x, dim=-1):
    a, b = np.split(x, 2, axis=dim)
    return a * _sigmoid(b)


# ---- prelu: one slope or one per channel (axis 1) ---------------------------------------------------------------
@st.composite
def prelu_samples(draw) -> Sample:
    shape = draw(S.shapes(max_dims=4, max_side=3))
    channels = shape[1] if len(shape) >= 2 else 1
    per_channel = draw(st.booleans())
    x = draw(S.arrays(shape, away_from=(0.0,)))
    w = draw(S.arrays((channels if per_channel else 1,), -1.0, 1.0))
    return Sample((x, w))


def _prelu_ref(x, w):
    wb = w.reshape(()) if w.size == 1 else w.reshape((w.size,) + (1,) * (x.ndim - 2))
    return np.where(x > 0, x, wb * x)


SLOPES = st.sampled_from([0.01, 0.2, -0.5, 1.5])
ALPHAS = st.sampled_from([1.0, 0.5, 2.0, -0.5])

ENTRIES = [
    # piecewise linear
    unary("F.leaky_relu", F.leaky_relu, lambda a, negative_slope=0.01: np.where(a > 0, a, negative_slope * a),
          (act.LeakyRelu,), kwargs=st.just({}) | st.fixed_dictionaries({"negative_slope": SLOPES}),
          bad=(BadInput(lambda: F.leaky_relu(X, "a"), TypeError, "negative_slope must be a real number"),
               BadInput(lambda: F.leaky_relu(X, math.nan), ValueError, "negative_slope must be"))),
    OpInfo("F.hardtanh", F.hardtanh, hardtanh_samples(),
           ref=lambda a, min_val=-1.0, max_val=1.0: np.clip(a, min_val, max_val), primitives=(act.Hardtanh,),
           doc=DOC, bad_inputs=(_float_only(F.hardtanh),
                                BadInput(lambda: F.hardtanh(X, 2.0, 1.0), ValueError, "greater than max_val"),
                                BadInput(lambda: F.hardtanh(X, "a"), TypeError, "min_val must be a real number"),
                                BadInput(lambda: F.hardtanh(X, 0.0, math.nan), ValueError, "max_val must be"))),
    unary("F.relu6", F.relu6, lambda a: np.clip(a, 0, 6), (act.Hardtanh,), -2.0, 8.0, away_from=(0.0, 6.0)),
    unary("F.hardsigmoid", F.hardsigmoid, lambda a: np.clip(a / 6 + 0.5, 0, 1), (act.Hardtanh, ew.Div, ew.Add),
          -5.0, 5.0, away_from=(-3.0, 3.0)),
    unary("F.hardswish", F.hardswish, lambda a: a * np.clip(a + 3, 0, 6) / 6, (ew.Div, ew.Mul, ew.Clip, ew.Add),
          -5.0, 5.0, away_from=(-3.0, 3.0)),
    OpInfo("F.prelu", F.prelu, prelu_samples(), ref=_prelu_ref, primitives=(act.Prelu,), doc=DOC,
           bad_inputs=(_float_only(lambda x: F.prelu(x, tg.Tensor([0.25]))),
                       BadInput(lambda: F.prelu(X, tg.Tensor(np.ones(3))), ValueError, "pass 1 or 4 slopes"),
                       BadInput(lambda: F.prelu(X, tg.Tensor(np.ones((1, 1)))), ValueError, "scalar or 1-D"),
                       BadInput(lambda: F.prelu(X, tg.Tensor(np.ones(4, np.float32))), TypeError,
                                "convert one with"))),
    # exponential family
    unary("F.elu", F.elu, _elu, (act.Elu,), kwargs=st.just({}) | st.fixed_dictionaries({"alpha": ALPHAS}),
          bad=(BadInput(lambda: F.elu(X, alpha=None), TypeError, "alpha must be a real number"),
               BadInput(lambda: F.elu(X, alpha=math.inf), ValueError, "alpha must be finite"))),
    unary("F.celu", F.celu, _celu, (act.Elu,), kwargs=st.just({}) | st.fixed_dictionaries({"alpha": ALPHAS}),
          bad=(BadInput(lambda: F.celu(X, alpha=0.0), ValueError, "alpha must be nonzero"),)),
    unary("F.selu", F.selu, lambda a: SELU_SCALE * _elu(a, SELU_ALPHA), (act.Elu,)),
    unary("F.logsigmoid", F.logsigmoid, lambda a: -np.logaddexp(0.0, -a), (act.LogSigmoid,), -30.0, 30.0,
          away_from=()),
    # smooth gates
    unary("F.silu", F.silu, lambda a: a * _sigmoid(a), (ew.Mul, ew.Sigmoid), -5.0, 5.0, away_from=()),
    unary("F.mish", F.mish, lambda a: a * np.tanh(np.logaddexp(0.0, a)), (ew.Mul, ew.Tanh, ew.Softplus), -5.0, 5.0,
          away_from=()),
    unary("F.gelu", F.gelu, _gelu, (ew.Mul, ew.Erfc), -6.0, 6.0, away_from=()),
    unary("F.gelu tanh", lambda x: F.gelu(x, approximate="tanh"), lambda a: _gelu(a, "tanh"), (ew.Mul, ew.Tanh),
          -4.0, 4.0, away_from=(), family="",
          bad=(BadInput(lambda: F.gelu(X, approximate="fast"), ValueError, "approximate must be 'none' or 'tanh'"),
               BadInput(lambda: F.gelu(X, approximate=None), TypeError, "approximate must be"))),
    unary("F.softsign", F.softsign, lambda a: a / (1 + np.abs(a)), (ew.Div, ew.Abs, ew.Add)),
    # along an axis
    OpInfo("F.softmin", F.softmin, dim_samples(), ref=_softmin_ref, primitives=(ew.Exp, LogSoftmax, ew.Neg), doc=DOC,
           bad_inputs=(_float_only(F.softmin),
                       BadInput(lambda: F.softmin(X, dim=2), ValueError, "dim 2 is out of range"),
                       BadInput(lambda: F.softmin(X, dim=1.0), TypeError, "dim must be an int"),
                       BadInput(lambda: F.softmin(X, dim=1, axis=1), TypeError, "two spellings"),
                       BadInput(lambda: F.softmin(X, dtype=np.int32), TypeError, "softmin: dtype must be a float"))),
    OpInfo("F.glu", F.glu, dim_samples(even=True), ref=_glu_ref, primitives=(ew.Mul, ew.Sigmoid), doc=DOC,
           bad_inputs=(_float_only(F.glu),
                       BadInput(lambda: F.glu(tg.Tensor(np.ones((2, 3)))), ValueError, "even size"),
                       BadInput(lambda: F.glu(tg.Tensor(np.ones(()))), ValueError, "0-d"),
                       BadInput(lambda: F.glu(X, dim=2), ValueError, "dim 2 is out of range"))),
]
