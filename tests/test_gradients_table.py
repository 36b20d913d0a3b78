"""One table, every primitive: hypothesis draws shapes and values, gradcheck compares the VJP with float64
central differences, gradgradcheck differentiates the VJP itself.

Each row names the primitive it exercises, builds its input tensors from a shared strategy, and gives the
function to check. Values stay away from kinks (0 for relu/abs, the clip bounds) and ties (max/min), where a
derivative jumps and finite differences are meaningless.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


def _t(array) -> tg.Tensor:
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=True)


@st.composite
def unary(draw, low=-3.0, high=3.0, away_from=(), distinct=False, min_dims=0, max_dims=3):
    shape = draw(S.shapes(min_dims=min_dims, max_dims=max_dims, max_side=4))
    return (_t(draw(S.arrays(shape, low, high, away_from=away_from, distinct=distinct))),)


@st.composite
def binary(draw, low=-3.0, high=3.0, b_low=None, b_high=None, distinct=False):
    sa, sb = draw(S.broadcastable_shapes(max_dims=3, max_side=3))
    a = draw(S.arrays(sa, low, high, distinct=distinct))
    b = draw(S.arrays(sb, low if b_low is None else b_low, high if b_high is None else b_high, distinct=distinct))
    if distinct:  # a and b apart wherever they meet, so maximum/minimum have no ties
        assume(np.min(np.abs(np.subtract(a, b)), initial=1.0) > 1e-2)
    return _t(a), _t(b)


@st.composite
def axis_and_tensor(draw, distinct=False):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1)
                | st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple))
    keepdims = draw(st.booleans())
    return _t(draw(S.arrays(shape, distinct=distinct))), axis, keepdims


@st.composite
def matmul_pair(draw):
    sa, sb = draw(S.matmul_shapes(max_batch_dims=2, max_side=3))
    return _t(draw(S.arrays(sa))), _t(draw(S.arrays(sb)))


@st.composite
def permuted(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=4, max_side=3))
    return _t(draw(S.arrays(shape))), tuple(draw(st.permutations(range(len(shape)))))


@st.composite
def indexed(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    x = draw(S.arrays(shape))
    kind = draw(st.sampled_from(["basic", "int_array", "mask"]))
    if kind == "basic":
        index = tuple(draw(st.sampled_from([slice(None), slice(None, None, -1), slice(1, None, 2), 0, -1]))
                      if n > 1 else slice(None) for n in shape)
    elif kind == "int_array":  # repeated entries: the scatter must add
        index = np.array(draw(st.lists(st.integers(-shape[0], shape[0] - 1), min_size=1, max_size=5)))
    else:
        index = np.array(draw(st.lists(st.booleans(), min_size=shape[0], max_size=shape[0])))
    return _t(x), index


@st.composite
def padded(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=3))
    pads = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
    return _t(draw(S.arrays(shape))), pads


@st.composite
def joined(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    count = draw(st.integers(1, 3))
    parts = []
    for _ in range(count):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        parts.append(_t(draw(S.arrays(tuple(s)))))
    return parts, axis


# (name, strategy drawing the argument tuple, function of the tensors, second order checked)
ROWS = [
    ("add", binary(), lambda a, b: a + b, True),
    ("sub", binary(), lambda a, b: a - b, True),
    ("mul", binary(), lambda a, b: a * b, True),
    ("div", binary(b_low=0.5, b_high=3.0), lambda a, b: a / b, True),
    ("neg", unary(), lambda a: -a, True),
    ("pow tensor exponent", binary(low=0.5, high=2.0), lambda a, b: a ** b, True),
    ("pow scalar exponent", unary(low=0.5, high=2.0), lambda a: a ** 3 + a ** -1.5, True),
    ("exp", unary(low=-2.0, high=2.0), lambda a: a.exp(), True),
    ("log", unary(low=0.2, high=3.0), lambda a: a.log(), True),
    ("sqrt", unary(low=0.2, high=3.0), lambda a: a.sqrt(), True),
    ("abs", unary(away_from=(0.0,)), lambda a: a.abs(), True),
    ("relu", unary(away_from=(0.0,)), lambda a: a.relu(), True),
    ("sigmoid", unary(), lambda a: a.sigmoid(), True),
    ("tanh", unary(), lambda a: a.tanh(), True),
    ("maximum", binary(distinct=True), lambda a, b: a.maximum(b), True),
    ("minimum", binary(distinct=True), lambda a, b: a.minimum(b), True),
    ("where", binary(), lambda a, b: tg.where(a > 0.3, a * 2, b), True),
    ("clip", unary(away_from=(-1.0, 1.5)), lambda a: a.clip(-1.0, 1.5), True),
    # float32 round trip: linear, so a wide step is exact up to float32 rounding
    ("cast", unary(), lambda a: (a.astype(np.float32) * 2).astype(np.float64), False),
    ("sum", axis_and_tensor(), lambda a, axis, keep: a.sum(axis=axis, keepdims=keep), True),
    ("max", axis_and_tensor(distinct=True), lambda a, axis, keep: a.max(axis=axis, keepdims=keep), True),
    ("min", axis_and_tensor(distinct=True), lambda a, axis, keep: a.min(axis=axis, keepdims=keep), True),
    ("mean", axis_and_tensor(), lambda a, axis, keep: a.mean(axis=axis, keepdims=keep), True),
    ("var", axis_and_tensor(), lambda a, axis, keep: a.var(axis=axis, keepdims=keep), True),
    ("reshape", unary(min_dims=1), lambda a: a.reshape(-1)[::-1].reshape(a.shape), True),
    ("permute", permuted(), lambda a, axes: a.permute(axes), True),
    ("expand", unary(max_dims=2), lambda a: a.expand((2, *a.shape)) * tg.Tensor(np.arange(2.0).reshape(
        (2,) + (1,) * a.ndim)), True),
    ("squeeze/unsqueeze/flatten", unary(min_dims=1), lambda a: a.unsqueeze(0).flatten().squeeze(), True),
    ("getitem", indexed(), lambda a, index: a[index], True),
    ("pad", padded(), lambda a, pads: a.pad(pads, value=1.5), True),
    ("concatenate", joined(), lambda parts, axis: tg.concatenate(parts, axis=axis), True),
    ("stack", joined(), lambda parts, axis: tg.stack([p * 1.0 for p in parts[:1]] * 2, axis=0), True),
    ("matmul", matmul_pair(), lambda a, b: a @ b, True),
    ("log_softmax", axis_and_tensor(),
     lambda a, axis, keep: F.log_softmax(a, axis=axis if isinstance(axis, int) else -1), True),
]


def _inputs(args) -> list[tg.Tensor]:
    out = []
    for a in args:
        if isinstance(a, tg.Tensor):
            out.append(a)
        elif isinstance(a, list) and a and isinstance(a[0], tg.Tensor):
            out.extend(a)
    return out


def _as_function(fn, args):
    """fn over the tensors among args (lists of tensors flattened), the other args held fixed."""
    tensors = _inputs(args)

    def call(*xs):
        it = iter(xs)
        rebuilt = []
        for a in args:
            if isinstance(a, tg.Tensor):
                rebuilt.append(next(it))
            elif isinstance(a, list) and a and isinstance(a[0], tg.Tensor):
                rebuilt.append([next(it) for _ in a])
            else:
                rebuilt.append(a)
        return fn(*rebuilt)

    return call, tensors


@pytest.mark.parametrize("name, strategy, fn, second", ROWS, ids=[r[0] for r in ROWS])
def test_vjp_matches_finite_differences(name, strategy, fn, second):
    @settings(max_examples=20)
    @given(strategy)
    def check(args):
        call, tensors = _as_function(fn, args)
        assert gradcheck(call, *tensors, **({"eps": 1e-2, "atol": 1e-4} if name == "cast" else {}))

    check()


@pytest.mark.parametrize("name, strategy, fn, second", [r for r in ROWS if r[3]], ids=[r[0] for r in ROWS if r[3]])
def test_vjp_is_differentiable(name, strategy, fn, second):
    @settings(max_examples=6)
    @given(strategy)
    def check(args):
        call, tensors = _as_function(fn, args)
        assert gradgradcheck(call, *tensors)

    check()


def test_every_core_primitive_has_a_row():
    from tinygrad_cnn.ops import elementwise, linalg, movement, reduce

    covered = " ".join(r[0] for r in ROWS) + " getitem"  # IndexAdd is getitem's VJP, checked through it
    primitives = [cls.__name__.lower() for mod in (elementwise, reduce, movement, linalg)
                  for cls in vars(mod).values()
                  if isinstance(cls, type) and issubclass(cls, tg.Function) and cls.__module__ == mod.__name__
                  and not cls.__name__.startswith("_")]
    missing = [p for p in primitives if p not in covered and p != "indexadd"]
    assert not missing, f"primitives without a gradient row: {missing}"
