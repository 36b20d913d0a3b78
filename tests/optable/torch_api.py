"""Op table: the compositions PyTorch users spell (tinygrad_cnn/tensor_class.py, methods/indexing.py,
methods/reductions.py, inplace.py): add/sub with alpha, addcmul, addcdiv, div with a rounding mode, index_fill,
unflatten, t, mT, contiguous, var_mean/std_mean, and the in-place methods and operators recorded on a
non-leaf (``y = x * 1; y += other``), whose gradient flows through the recorded out-of-place node.

All are composites of existing primitives (``primitives=()``); their derivations are those of the primitives they
chain. References are NumPy expressions. Samples keep divisors away from zero and trunc/floor away from their jumps.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

X = tg.tensor([[1.0, 2.0], [3.0, 4.0]])


def entry(name, op, samples, ref, doc, **extra):
    return OpInfo(name, op, samples, ref=ref, primitives=(), doc=doc, **extra)


def _pairs(low=-3.0, high=3.0, b_low=None, b_high=None, kwargs=None):
    return S.binary_samples(low, high, b_low, b_high, kwargs=kwargs)


@st.composite
def _triples(draw, c_low=-3.0, c_high=3.0, kwargs=None):
    """Three arrays of one broadcast family: x, t1 and t2 with shapes that broadcast to x's."""
    shape = draw(S.shapes(max_dims=3, max_side=3))
    subs = [draw(st.sampled_from([shape, shape[1:], tuple(1 for _ in shape)])) for _ in range(2)]
    a = draw(S.arrays(shape))
    b = draw(S.arrays(subs[0]))
    c = draw(S.arrays(subs[1], c_low, c_high))
    return Sample((a, b, c), draw(kwargs) if kwargs is not None else {})


@st.composite
def _div_case(draw):
    a, b = draw(S.broadcast_pairs(-4.0, 4.0, 0.5, 2.0))
    b = b * draw(st.sampled_from([1.0, -1.0]))
    q = a / b  # keep the quotient away from the integers, where trunc and floor jump
    if q.size and np.min(np.abs(q - np.round(q))) < 1e-3:
        a = a + 0.01 * b
    return Sample((a, b), {"rounding_mode": draw(st.sampled_from(["trunc", "floor"]))})


def _div_ref(a, b, rounding_mode):
    return np.trunc(a / b) if rounding_mode == "trunc" else np.floor(a / b)


@st.composite
def _index_fill_case(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    d = draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    index = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n))
    kwargs = {"dim": d - len(shape) if draw(st.booleans()) else d, "index": np.array(index),
              "value": draw(st.floats(-2.0, 2.0))}
    return Sample((draw(S.arrays(shape)),), kwargs)


def _index_fill_ref(a, dim, index, value):
    out = a.copy()
    where = [slice(None)] * a.ndim
    where[dim] = index
    out[tuple(where)] = value
    return out


@st.composite
def _unflatten_case(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=6))
    d = draw(st.integers(0, len(shape) - 1))
    n = shape[d]
    first = draw(st.sampled_from([k for k in range(1, n + 1) if n % k == 0]))
    sizes = (first, n // first)
    if draw(st.booleans()):
        sizes = (first, -1)
    return Sample((draw(S.arrays(shape)),), {"dim": d, "sizes": sizes})


def _unflatten_ref(a, dim, sizes):
    sizes = tuple(a.shape[dim] // sizes[0] if k == -1 else k for k in sizes)
    return a.reshape(a.shape[:dim] + sizes + a.shape[dim + 1:])


def _one(shapes, kwargs=None, distinct=False):
    return S.samples(S.arrays(shapes, distinct=distinct), kwargs=kwargs)


@st.composite
def _into(draw, b_low=-3.0, b_high=3.0):
    """x and an operand whose shape broadcasts to x's (in place, the result keeps x's shape)."""
    shape = draw(S.shapes(max_dims=3, max_side=3))
    sub = draw(st.sampled_from([shape, shape[1:], tuple(1 for _ in shape), ()]))
    return Sample((draw(S.arrays(shape)), draw(S.arrays(sub, b_low, b_high))), {})


def _reduce_kwargs():
    return st.fixed_dictionaries({"dim": st.sampled_from([None, 0, -1]), "keepdim": st.booleans(),
                                  "correction": st.sampled_from([0, 1])})


def _var_mean_ref(a, dim, keepdim, correction):
    axis = None if dim is None else dim
    n = a.size if axis is None else a.shape[axis]
    var = np.sum((a - a.mean(axis=axis, keepdims=True)) ** 2, axis=axis, keepdims=keepdim) / max(0, n - correction)
    return var, a.mean(axis=axis, keepdims=keepdim)


def _std_mean_ref(a, dim, keepdim, correction):
    var, mean = _var_mean_ref(a, dim, keepdim, correction)
    return np.sqrt(var), mean


def _inplace_chain(x, y):
    """The in-place operators on a non-leaf: each is recorded as its out-of-place op."""
    h = x * 1
    h += y
    h *= x
    h -= 0.5
    h /= y
    h **= 2
    return h


def _inplace_methods(x, y, z):
    h = x * 1
    h.add_(y, alpha=0.5).mul_(z).addcmul_(y, z, value=2).addcdiv_(x, z, value=-0.5).sub_(y, alpha=3)
    return h.lerp_(y, 0.25).clamp_(-20.0, 20.0)


def _inplace_unary(x):
    """Each VJP reads its input (the recorded snapshot) except the last, exp_'s, which reads its output: nothing
    writes into h after it (PyTorch, too, refuses backward when a saved output was overwritten)."""
    h = x * 1
    h.mul_(x)
    h.sin_()
    h.neg_()
    h.exp_()
    return h


ELEMENTWISE = "derivations/elementwise.md"

ENTRIES = [
    entry("Tensor.add alpha", lambda a, b, alpha: a.add(b, alpha=alpha), _pairs(kwargs={"alpha": st.sampled_from(
        [2, -0.5, 3.0])}), lambda a, b, alpha: a + alpha * b, ELEMENTWISE,
          bad_inputs=(BadInput(lambda: X.add(X, alpha="a"), TypeError, "add: alpha must be a number"),)),
    entry("Tensor.sub alpha", lambda a, b, alpha: a.sub(b, alpha=alpha), _pairs(kwargs={"alpha": st.sampled_from(
        [2, -0.5])}), lambda a, b, alpha: a - alpha * b, ELEMENTWISE),
    entry("Tensor.addcmul", lambda a, b, c, value: a.addcmul(b, c, value=value), _triples(kwargs=st.fixed_dictionaries(
        {"value": st.sampled_from([1, 0.5, -2.0])})), lambda a, b, c, value: a + value * b * c, ELEMENTWISE,
          bad_inputs=(BadInput(lambda: X.addcmul(X, X, value="v"), TypeError, "addcmul: value must be a real"),)),
    entry("Tensor.addcdiv", lambda a, b, c, value: a.addcdiv(b, c, value=value),
          _triples(0.5, 2.0, kwargs=st.fixed_dictionaries({"value": st.sampled_from([1, 0.5, -2.0])})),
          lambda a, b, c, value: a + value * b / c, ELEMENTWISE),
    entry("Tensor.div rounding_mode", lambda a, b, rounding_mode: a.div(b, rounding_mode=rounding_mode), _div_case(),
          _div_ref, ELEMENTWISE, grad_order=1,
          bad_inputs=(BadInput(lambda: X.div(X, rounding_mode="up"), ValueError, "div: rounding_mode must be"),)),
    entry("Tensor.index_fill", lambda a, dim, index, value: a.index_fill(dim, tg.tensor(index), value),
          _index_fill_case(), _index_fill_ref, "derivations/indexing.md",
          bad_inputs=(BadInput(lambda: X.index_fill(0, [2], 1.0), IndexError, "index_fill: index holds values"),
                      BadInput(lambda: X.index_fill(0, [[0]], 1.0), IndexError, "index_fill: index must be 0-d or"),
                      BadInput(lambda: X.index_fill(0, [0.5], 1.0), TypeError, "index_fill: index must be an int"))),
    entry("Tensor.unflatten", lambda a, dim, sizes: a.unflatten(dim, sizes), _unflatten_case(), _unflatten_ref,
          "derivations/movement.md",
          bad_inputs=(BadInput(lambda: X.unflatten(0, (3, 1)), ValueError, "unflatten: sizes"),
                      BadInput(lambda: X.unflatten(0, (-1, -1)), ValueError, "unflatten: sizes"),
                      BadInput(lambda: X.unflatten(0, 2), TypeError, "unflatten: sizes must be"))),
    entry("Tensor.t", lambda a: a.t(), _one(S.shapes(min_dims=2, max_dims=2)), lambda a: a.T,
          "derivations/movement.md",
          bad_inputs=(BadInput(lambda: tg.zeros(1, 1, 1).t(), ValueError, "t: expects a tensor with <= 2"),)),
    entry("Tensor.mT", lambda a: a.mT, _one(S.shapes(min_dims=2, max_dims=4)), lambda a: np.swapaxes(a, -1, -2),
          "derivations/movement.md"),
    entry("Tensor.contiguous", lambda a: a.mT.contiguous(), _one(S.shapes(min_dims=2, max_dims=3, min_side=2)),
          lambda a: np.ascontiguousarray(np.swapaxes(a, -1, -2)), "derivations/movement.md"),
    entry("Tensor.var_mean", lambda a, **k: a.var_mean(**k), _one(S.shapes(min_dims=1, max_dims=3, min_side=2),
                                                                   _reduce_kwargs(), distinct=True), _var_mean_ref,
          "derivations/reductions.md"),
    entry("Tensor.std_mean", lambda a, **k: a.std_mean(**k), _one(S.shapes(min_dims=1, max_dims=3, min_side=2),
                                                                   _reduce_kwargs(), distinct=True), _std_mean_ref,
          "derivations/reductions.md", gradcheck_tol={"atol": 1e-4}),
    entry("Tensor.add_ as += -= *= /= **= on a non-leaf", _inplace_chain, _into(0.5, 2.0),
          lambda x, y: (((x + y) * x - 0.5) / y) ** 2, ELEMENTWISE,
          bad_inputs=(BadInput(lambda: tg.ones(2, requires_grad=True).__iadd__(1), RuntimeError,
                               "add_: a leaf Variable that requires grad"),)),
    entry("Tensor.add_ chained with mul_ addcmul_ addcdiv_ sub_ lerp_ clamp_ on a non-leaf", _inplace_methods,
          _triples(0.5, 2.0),
          lambda x, y, z: np.clip(_lerp(((x + 0.5 * y) * z + 2 * y * z - 0.5 * x / z) - 3 * y, y, 0.25), -20, 20),
          ELEMENTWISE,
          bad_inputs=(BadInput(lambda: tg.zeros(2, dtype=tg.int64).add_(0.5), TypeError,
                               "add_: result type Float can't be cast to the desired output type Long"),)),
    entry("Tensor.exp_ after mul_ sin_ neg_ on a non-leaf", _inplace_unary, S.unary_samples(-2.0, 2.0),
          lambda x: np.exp(-np.sin(x * x)), ELEMENTWISE),
]


def _lerp(a, b, w):
    return a + w * (b - a)
