"""Op table: elementwise ops (tinygrad_cnn/ops/elementwise.py), one entry each."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.testing import BadInput, OpInfo
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/elementwise.md"
X = tg.Tensor(np.ones((2, 3)))


def unary(name, op, ref, primitive, low=-3.0, high=3.0, away_from=(), kwargs=None, family="unary", **extra):
    """An entry of a one-input elementwise op: ``op(x)`` against ``ref(a)`` on any shape. Family "unary" entries are
    also fuzzed (tests/test_fuzz.py) with every dtype; pass ``family=""`` for compositions and options."""
    return OpInfo(name, op, S.unary_samples(low, high, away_from=away_from, kwargs=kwargs), ref=ref,
                  primitives=(primitive,) if primitive else (), doc=DOC, family=family, **extra)


def binary(name, op, ref, primitive, **extra):
    """An entry of a broadcasting two-input op: ``op(a, b)`` against ``ref(a, b)``."""
    sample_args = {k: extra.pop(k) for k in ("low", "high", "b_low", "b_high", "distinct") if k in extra}
    family = extra.pop("family", "binary")
    return OpInfo(name, op, S.binary_samples(**sample_args), ref=ref, primitives=(primitive,), doc=DOC,
                  family=family, bad_inputs=(BadInput(lambda: op(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones(4))),
                                                        ValueError, r"\(2, 3\) and \(4,\) do not broadcast"),),
                  **extra)


def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


def _softplus(a, beta=1.0, threshold=20.0):
    return np.where(beta * a > threshold, a, np.logaddexp(0.0, beta * a) / beta)


ENTRIES = [
    binary("add", lambda a, b: a + b, np.add, ew.Add),
    binary("sub", lambda a, b: a - b, np.subtract, ew.Sub, fuzz={"refuses": "b"}),
    binary("mul", lambda a, b: a * b, np.multiply, ew.Mul),
    binary("div", lambda a, b: a / b, np.divide, ew.Div, b_low=0.5, b_high=3.0, fuzz={"to_float": True}),
    binary("pow", lambda a, b: a ** b, np.power, ew.Pow, low=0.5, high=2.0),
    binary("maximum", tg.Tensor.maximum, np.maximum, ew.Maximum, distinct=True, fuzz={"method": True}),
    binary("minimum", tg.Tensor.minimum, np.minimum, ew.Minimum, distinct=True, fuzz={"method": True}),
    unary("neg", lambda x: -x, np.negative, ew.Neg, fuzz={"refuses": "b"}),
    unary("pow scalar", lambda x: x ** 2.5 + x ** -1 + x ** 3, lambda a: a ** 2.5 + a ** -1 + a ** 3, None, 0.5, 2.0,
          family=""),
    unary("rpow", lambda x: 2.0 ** x, lambda a: 2.0 ** a, ew.Pow, -1.0, 1.0, family=""),
    unary("scalar operands", lambda x: (3 - x) * 2 / x + 1, lambda a: (3 - a) * 2 / a + 1, None, 0.5, 2.0,
          family=""),
    unary("exp", tg.Tensor.exp, np.exp, ew.Exp, -2.0, 2.0, fuzz={"float": True}),
    unary("log", tg.Tensor.log, np.log, ew.Log, 0.2, 3.0, fuzz={"float": True}),
    unary("sqrt", tg.Tensor.sqrt, np.sqrt, ew.Sqrt, 0.2, 3.0, fuzz={"float": True}),
    unary("abs", tg.Tensor.abs, np.abs, ew.Abs, away_from=(0.0,)),
    unary("relu", tg.Tensor.relu, lambda a: np.maximum(a, 0), ew.Relu, away_from=(0.0,)),
    unary("sigmoid", tg.Tensor.sigmoid, _sigmoid, ew.Sigmoid, -4.0, 4.0, fuzz={"float": True}),
    unary("tanh", tg.Tensor.tanh, np.tanh, ew.Tanh, fuzz={"float": True}),
    unary("F.softplus", F.softplus, _softplus, ew.Softplus, -30.0, 30.0,
          kwargs={"beta": st.sampled_from([1.0, 0.5, 2.0])}, fuzz={"refuses": "biu"},
          bad_inputs=(BadInput(lambda: F.softplus(X, beta=0), ValueError, "beta must be nonzero"),
                      BadInput(lambda: F.softplus(X, beta="a"), TypeError, "beta must be a real number"),
                      BadInput(lambda: F.softplus(tg.Tensor([1, 2])), TypeError, "convert it with .float"))),
    unary("F.softplus threshold", lambda x: F.softplus(x, threshold=1.0), lambda a: _softplus(a, threshold=1.0),
          ew.Softplus, away_from=(1.0,), family=""),
    unary("clip", lambda x: x.clip(-1.0, 1.5), lambda a: np.clip(a, -1.0, 1.5), ew.Clip, away_from=(-1.0, 1.5),
          family="",
          bad_inputs=(BadInput(lambda: X.clip(), ValueError, "pass at least one of low and high"),
                      BadInput(lambda: X.clip(2.0, 1.0), ValueError, "greater than"),
                      BadInput(lambda: X.clip("a"), TypeError, "low must be a real number"))),
    unary("clip low only", lambda x: x.clip(low=0.25), lambda a: np.maximum(a, 0.25), ew.Clip, away_from=(0.25,),
          family=""),
    unary("cast", lambda x: (x.astype(np.float32) * 2).astype(np.float64), lambda a: a.astype(np.float32) * 2.0,
          ew.Cast, dtypes=(np.float64,), family="", ref_tol={"rtol": 1e-6, "atol": 1e-7},
          gradcheck_tol={"eps": 1e-2, "atol": 1e-4}),
    OpInfo("where", lambda c, a, b: tg.where(c, a, b),
           S.binary_samples().flatmap(lambda s: st.just(s)).map(
               lambda s: type(s)((s.inputs[0] > 0.5, *s.inputs), {}, (False, True, True))),
           ref=np.where, primitives=(ew.Where,), doc=DOC, family="",
           bad_inputs=(BadInput(lambda: tg.where(tg.Tensor(np.array([1, 0])), X, X), TypeError,
                                "pass a boolean tensor"),)),
]
