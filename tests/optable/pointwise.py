"""Op table: elementwise maths of issue 13 (trig, exp/log variants, erf, rounding, sign, division ops, lerp, clamp
with tensor bounds, comparisons, logical ops), one entry each. Primitives in tinygrad_cnn/ops/elementwise.py,
methods and tg.X functions in tinygrad_cnn/methods/pointwise.py."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

from .elementwise import DOC, binary, unary

X = tg.Tensor(np.ones((2, 3)))
INTS = tuple(float(k) for k in range(-4, 5))
HALVES = tuple(k + 0.5 for k in range(-4, 4))
_erf = np.vectorize(math.erf, otypes=[np.float64])
_erfc = np.vectorize(math.erfc, otypes=[np.float64])


def _int_division(fn):
    """The NumPy reference of an integer-capable division op: integer division by zero is an error here (NumPy
    answers 0 with a warning), so the fuzz spec marks it invalid."""
    def ref(a, b):
        if np.asarray(b).dtype.kind in "iu" and not np.all(b):
            raise ValueError("integer division by zero")
        return fn(a, b)
    return ref


def _fmod_ref(a, b):
    return np.fmod(a, b)


@st.composite
def division_samples(draw):
    """(a, b) broadcasting, with |b| = c for one c per sample and a / b = +-(k + f), f in [0.1, 0.9]: every pair
    that meets is away from the jumps of floor(a / b) and trunc(a / b)."""
    sa, sb = draw(S.broadcastable_shapes(max_dims=3, max_side=3))
    c = draw(st.floats(0.5, 2.0))
    signs = draw(hnp.arrays(np.float64, sb, elements=st.sampled_from([-1.0, 1.0])))
    k = draw(hnp.arrays(np.float64, sa, elements=st.integers(-3, 3).map(float)))
    f = draw(hnp.arrays(np.float64, sa, elements=st.floats(0.1, 0.9)))
    return Sample((c * (k + f), c * signs))


@st.composite
def away_pairs(draw, low=-3.0, high=3.0):
    """(a, b) broadcasting, both away from 0 (copysign's kink and jump, atan2's and hypot's origin)."""
    sa, sb = draw(S.broadcastable_shapes(max_dims=3, max_side=3))
    return Sample((draw(S.arrays(sa, low, high, away_from=(0.0,), gap=0.05)),
                   draw(S.arrays(sb, low, high, away_from=(0.0,), gap=0.05))))


@st.composite
def lerp_samples(draw, tensor_weight=True):
    shapes = draw(S.broadcastable_shapes(num_shapes=3, max_dims=3, max_side=3))
    a, b = draw(S.arrays(shapes[0])), draw(S.arrays(shapes[1]))
    if tensor_weight:
        return Sample((a, b, draw(S.arrays(shapes[2], -0.5, 1.5))))
    return Sample((a, b), {"weight": draw(st.sampled_from([0.25, 0.75, -0.5, 1.0, 1.5]))})


@st.composite
def clamp_samples(draw, bounds=2):
    """x = k + u (|u| <= 0.3), min = m + 0.5 + u' (u' in [-0.1, -0.02]), max = m + 0.5 + u'' (u'' in [0.02, 0.1]):
    x never meets a bound, min never equals max, and min > max happens (max wins there)."""
    shapes = draw(S.broadcastable_shapes(num_shapes=1 + bounds, max_dims=3, max_side=3))

    def grid(shape, ks, lo, hi):
        k = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from(ks)))
        return k + draw(hnp.arrays(np.float64, shape, elements=st.floats(lo, hi)))

    x = grid(shapes[0], [float(k) for k in range(-3, 4)], -0.3, 0.3)
    low = grid(shapes[1], [-3.0, -2.0, -1.0, 0.0], 0.4, 0.48)
    if bounds == 1:
        return Sample((x, low))
    return Sample((x, low, grid(shapes[2], [-1.0, 0.0, 1.0, 2.0], 0.52, 0.6)))


def _clamp_ref(x, low=None, high=None):
    out = x if low is None else np.where(x < low, low, x)
    return out if high is None else np.where(out > high, high, out)


def _lerp_ref(a, b, weight):
    return a + weight * (b - a)


def boolean(name, op, ref, samples=None, **extra):
    """A non-differentiable op with a bool result: only its reference (and float32) is tested."""
    return OpInfo(name, op, samples if samples is not None else S.binary_samples(), ref=ref, grad_order=0, doc=DOC,
                  dtypes=(np.float64,), examples=(6, 3), **extra)


R = tg.Tensor(np.array([0.5, -0.25]))
ENTRIES = [
    # float-valued maps: an integer tensor gives float32 (the fuzz spec checks values; tests/test_pointwise_ops.py
    # checks the dtypes)
    unary("sin", tg.Tensor.sin, np.sin, ew.Sin, fuzz={"float": True}),
    unary("cos", tg.Tensor.cos, np.cos, ew.Cos, fuzz={"float": True}),
    unary("tan", tg.Tensor.tan, np.tan, ew.Tan, -1.2, 1.2, fuzz={"float": True}),
    unary("asin", tg.Tensor.asin, np.arcsin, ew.Asin, -0.9, 0.9, fuzz={"float": True}),
    unary("acos", tg.Tensor.acos, np.arccos, ew.Acos, -0.9, 0.9, fuzz={"float": True}),
    unary("atan", tg.Tensor.atan, np.arctan, ew.Atan, fuzz={"float": True}),
    unary("sinh", tg.Tensor.sinh, np.sinh, ew.Sinh, fuzz={"float": True}),
    unary("cosh", tg.Tensor.cosh, np.cosh, ew.Cosh, fuzz={"float": True}),
    unary("asinh", tg.Tensor.asinh, np.arcsinh, ew.Asinh, fuzz={"float": True}),
    unary("acosh", tg.Tensor.acosh, np.arccosh, ew.Acosh, 1.1, 4.0, fuzz={"float": True}),
    unary("atanh", tg.Tensor.atanh, np.arctanh, ew.Atanh, -0.9, 0.9, fuzz={"float": True}),
    unary("exp2", tg.Tensor.exp2, np.exp2, ew.Exp2, -2.0, 2.0, fuzz={"float": True}),
    unary("expm1", tg.Tensor.expm1, np.expm1, ew.Expm1, -2.0, 2.0, fuzz={"float": True}),
    unary("log2", tg.Tensor.log2, np.log2, ew.Log2, 0.2, 3.0, fuzz={"float": True}),
    unary("log10", tg.Tensor.log10, np.log10, ew.Log10, 0.2, 3.0, fuzz={"float": True}),
    unary("log1p", tg.Tensor.log1p, np.log1p, ew.Log1p, -0.8, 3.0, fuzz={"float": True}),
    unary("rsqrt", tg.Tensor.rsqrt, lambda a: 1 / np.sqrt(a), ew.Rsqrt, 0.2, 3.0, fuzz={"float": True}),
    unary("reciprocal", tg.Tensor.reciprocal, lambda a: 1 / a, ew.Reciprocal, 0.3, 3.0, fuzz={"float": True}),
    unary("reciprocal negative", tg.Tensor.reciprocal, lambda a: 1 / a, ew.Reciprocal, -3.0, -0.3, family=""),
    unary("erf", tg.Tensor.erf, _erf, ew.Erf, ref_tol={"rtol": 1e-13, "atol": 1e-15}, fuzz={"float": True}),
    unary("erfc", tg.Tensor.erfc, _erfc, ew.Erfc, -3.0, 5.0, ref_tol={"rtol": 1e-13, "atol": 0.0},
          fuzz={"float": True}),
    unary("tg.erf tails", tg.erf, _erf, ew.Erf, -6.0, 6.0, family="", ref_tol={"rtol": 1e-13, "atol": 1e-15}),
    unary("square", tg.Tensor.square, np.square, ew.Mul),
    # rounding and sign: integer tensors keep their dtype, the gradient is 0 (samples away from the jumps)
    unary("floor", tg.Tensor.floor, np.floor, ew.Floor, away_from=INTS),
    unary("ceil", tg.Tensor.ceil, np.ceil, ew.Ceil, away_from=INTS),
    unary("trunc", tg.Tensor.trunc, np.trunc, ew.Trunc, away_from=INTS),
    unary("round", tg.Tensor.round, np.round, ew.Round, away_from=HALVES,
          bad_inputs=(BadInput(lambda: X.round(1.5), TypeError, "round: decimals must be an int"),)),
    unary("round decimals", lambda x, decimals: x.round(decimals=decimals), lambda a, decimals: np.round(a, decimals),
          ew.Round, away_from=tuple(k / 10 + 0.05 for k in range(-31, 31)),
          kwargs={"decimals": st.sampled_from([1, -1])}, family=""),
    unary("sign", tg.Tensor.sign, np.sign, ew.Sign, away_from=(0.0,)),
    unary("frac", tg.Tensor.frac, lambda a: a - np.trunc(a), ew.Sub, away_from=INTS, fuzz={"refuses": "biu"},
          bad_inputs=(BadInput(lambda: tg.Tensor([1, 2]).frac(), TypeError, "frac: needs a floating-point"),)),
    unary("nan_to_num", tg.Tensor.nan_to_num, np.nan_to_num, ew.NanToNum,
          bad_inputs=(BadInput(lambda: X.nan_to_num(nan="a"), TypeError, "nan_to_num: nan must be a real number"),
                      BadInput(lambda: X.nan_to_num(posinf=[1.0]), TypeError, "posinf must be a real"))),
    unary("nan_to_num values", lambda x: tg.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0),
          lambda a: np.nan_to_num(a, nan=1.0, posinf=2.0, neginf=-2.0), ew.NanToNum, family=""),
    # bool results (not differentiable): fuzzed with a bool result
    unary("isnan", tg.Tensor.isnan, np.isnan, None, grad_order=0, fuzz={"bool": True},
          dtypes=(np.float64,), examples=(6, 3)),
    unary("isinf", tg.Tensor.isinf, np.isinf, None, grad_order=0, fuzz={"bool": True},
          dtypes=(np.float64,), examples=(6, 3)),
    unary("isfinite", tg.Tensor.isfinite, np.isfinite, None, grad_order=0, fuzz={"bool": True},
          dtypes=(np.float64,), examples=(6, 3)),
    unary("logical_not", tg.Tensor.logical_not, np.logical_not, None, grad_order=0, fuzz={"bool": True},
          dtypes=(np.float64,), examples=(6, 3)),
    # binary float-valued maps (integer operands: float32)
    OpInfo("atan2", tg.atan2, away_pairs(), ref=np.arctan2, primitives=(ew.Atan2,), doc=DOC, family="binary",
           fuzz={"to_float": True},
           bad_inputs=(BadInput(lambda: tg.atan2(X, tg.Tensor(np.ones(4))), ValueError, r"\(2, 3\) and \(4,\)"),
                       BadInput(lambda: tg.atan2(1.0, 2.0), TypeError, "atan2: needs at least one Tensor"))),
    OpInfo("hypot", tg.hypot, away_pairs(), ref=np.hypot, primitives=(ew.Hypot,), doc=DOC, family="binary",
           fuzz={"to_float": True}),
    binary("logaddexp", tg.logaddexp, np.logaddexp, ew.LogAddExp, low=-30.0, high=30.0, fuzz={"to_float": True}),
    binary("logaddexp close", tg.logaddexp, np.logaddexp, ew.LogAddExp, family=""),
    OpInfo("copysign", tg.copysign, away_pairs(), ref=np.copysign, primitives=(ew.Copysign,), doc=DOC,
           family="binary", fuzz={"to_float": True}),
    # integer-capable division: % (remainder, Python's sign rule), // (floor), fmod (C's sign rule)
    OpInfo("remainder", tg.remainder, division_samples(), ref=_int_division(np.remainder), primitives=(ew.Remainder,),
           doc=DOC, family="binary", fuzz={"refuses": "b"},
           bad_inputs=(BadInput(lambda: tg.Tensor([5, 3]) % 0, ZeroDivisionError, "remainder: integer division by"),
                       BadInput(lambda: tg.Tensor([True]) % tg.Tensor([True]), TypeError, "remainder: not defined"),
                       BadInput(lambda: tg.remainder(X, tg.Tensor(np.ones(4))), ValueError,
                                r"remainder: shapes \(2, 3\) and \(4,\) do not broadcast"))),
    OpInfo("remainder operator", lambda a, b: a % b, division_samples(), ref=np.remainder,
           primitives=(ew.Remainder,), doc=DOC),
    OpInfo("fmod", tg.fmod, division_samples(), ref=_int_division(np.fmod), primitives=(ew.Fmod,), doc=DOC,
           family="binary", fuzz={"refuses": "b"},
           bad_inputs=(BadInput(lambda: tg.Tensor([5, 3]).fmod(tg.Tensor([1, 0])), ValueError, "fmod: integer"),)),
    OpInfo("floor_divide", tg.floor_divide, division_samples(), ref=_int_division(np.floor_divide),
           primitives=(ew.FloorDivide,), doc=DOC, family="binary", fuzz={"refuses": "b"},
           bad_inputs=(BadInput(lambda: tg.Tensor([5]) // 0, RuntimeError, "floor_divide: integer division"),)),
    OpInfo("floor_divide operator", lambda a, b: a // b, division_samples(), ref=np.floor_divide,
           primitives=(ew.FloorDivide,), doc=DOC),
    # three-input composites
    OpInfo("lerp", tg.lerp, lerp_samples(), ref=_lerp_ref, primitives=(ew.Where,), doc=DOC,
           bad_inputs=(BadInput(lambda: tg.Tensor([1, 2]).lerp(X, 0.5), TypeError, "lerp: needs a floating-point"),
                       BadInput(lambda: X.lerp(X, "a"), TypeError, "lerp: weight must be a real number"))),
    OpInfo("lerp scalar weight", lambda a, b, weight: a.lerp(b, weight), lerp_samples(tensor_weight=False),
           ref=_lerp_ref, doc=DOC),
    OpInfo("clip tensor bounds", lambda x, lo, hi: x.clamp(lo, hi), clamp_samples(), ref=_clamp_ref,
           primitives=(ew.Where,), doc=DOC,
           bad_inputs=(BadInput(lambda: X.clamp(min=0.0, low=0.0), TypeError, "clip: got both min= and low="),
                       BadInput(lambda: X.clamp(min=tg.Tensor(np.ones(4))), ValueError, r"\(2, 3\) and \(4,\)"),
                       BadInput(lambda: X.clamp(min=R[:1], max="a"), TypeError, "clip: max must be a real"))),
    OpInfo("clip tensor min", lambda x, lo: tg.clamp(x, min=lo), clamp_samples(bounds=1), ref=_clamp_ref,
           primitives=(ew.Where,), doc=DOC),
    OpInfo("clip scalar min tensor max", lambda x, lo, hi: tg.clip(x, -2.5, high=hi), clamp_samples(),
           ref=lambda x, lo, hi: _clamp_ref(x, -2.5, hi), primitives=(ew.Where,), doc=DOC),
    # comparisons, isclose and the logical ops: bool results, reference only
    boolean("eq", tg.Tensor.eq, np.equal), boolean("ne", tg.Tensor.ne, np.not_equal),
    boolean("lt", tg.Tensor.lt, np.less), boolean("le", tg.Tensor.le, np.less_equal),
    boolean("gt", tg.Tensor.gt, np.greater), boolean("ge", tg.Tensor.ge, np.greater_equal),
    boolean("tg.greater_equal", tg.greater_equal, np.greater_equal),
    boolean("isclose", lambda a, b, **kw: a.isclose(b, **kw), lambda a, b, **kw: np.isclose(a, b, **kw),
            S.binary_samples(kwargs={"rtol": st.sampled_from([1e-5, 0.5]), "atol": st.sampled_from([1e-8, 1.0]),
                                     "equal_nan": st.booleans()}),
            bad_inputs=(BadInput(lambda: X.isclose(X, rtol=-1.0), ValueError, "isclose: rtol"),
                        BadInput(lambda: X.isclose(X, equal_nan=2), TypeError, "isclose: equal_nan"))),
    boolean("logical_and", lambda a, b: tg.logical_and(a > 0, b), lambda a, b: np.logical_and(a > 0, b)),
    boolean("logical_or", lambda a, b: (a > 0).logical_or(b > 0), lambda a, b: np.logical_or(a > 0, b > 0)),
    boolean("logical_xor", lambda a, b: tg.logical_xor(a > 0, b > 0), lambda a, b: np.logical_xor(a > 0, b > 0),
            bad_inputs=(BadInput(lambda: tg.logical_xor(X, tg.Tensor(np.ones(4))), ValueError,
                                 r"logical_xor: shapes \(2, 3\) and \(4,\) do not broadcast"),
                        BadInput(lambda: tg.logical_xor([1, 2], X), TypeError, "logical_xor: expected a Tensor"))),
]
