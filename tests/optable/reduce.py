"""Op table: reductions (tinygrad_cnn/ops/reduce.py): sum, max, min (primitives), mean, var, std (composites of
Sum) and argmax/argmin (not differentiable), over axis None / int / negative int / tuple, keepdims both.

Samples for max/min/argmax/argmin are pairwise distinct (no ties): the tie rule (the gradient goes to the first
extreme element in row-major order) has hand-written tests in tests/test_core_reduce.py. std samples are distinct
too and reduce over at least two elements, so the standard deviation stays away from its kink at 0.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from tinygrad_cnn._checks import as_axes
from tinygrad_cnn.ops import reduce as red
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/reductions.md"


def _np_axis(a: np.ndarray, axis):
    """NumPy's spelling of ``axis``: a 0-d tensor takes axis 0 / -1 / (0,) as PyTorch does, NumPy only None."""
    return None if a.ndim == 0 else axis


def _count(shape: tuple[int, ...], axis) -> int:
    return math.prod(shape[a] for a in as_axes("count", axis, len(shape)))


@st.composite
def _axis(draw, nd: int, tuples: bool = True):
    """None, an int (negative too) or, when ``tuples``, a tuple of distinct axes in any order and sign."""
    n = max(nd, 1)  # a 0-d tensor takes axis 0 or -1, as in PyTorch
    options = st.none() | st.integers(-n, n - 1)
    if tuples:
        options = options | st.lists(st.integers(-n, n - 1), min_size=1, max_size=n,
                                     unique_by=lambda a: a % n).map(tuple)
    return draw(options)


@st.composite
def reduction_samples(draw, distinct: bool = False, ddof: bool = False, min_count: int = 1, tuples: bool = True):
    """A float64 array of 0 to 3 axes (sides 1..4), an axis argument, keepdims and, with ``ddof``, a ddof that
    leaves at least one degree of freedom; at least ``min_count`` elements in each reduced slice."""
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=4))
    axis = draw(_axis(len(shape), tuples))
    count = _count(shape, axis)
    if count < min_count:  # widen the reduction to every axis, and the tensor to two elements if that is short
        axis = None
        if math.prod(shape) < min_count:
            shape = (*shape[:-1], min_count) if shape else (min_count,)
        count = math.prod(shape)
    kwargs = {"axis": axis, "keepdims": draw(st.booleans())}
    if ddof:
        kwargs["ddof"] = draw(st.sampled_from([d for d in (0, 1, 2, 0.5) if count - d > 0]))
    return Sample((draw(S.arrays(shape, distinct=distinct)),), kwargs)


def reduction(name, op, ref, primitives, samples, examples=(20, 4), **extra):
    return OpInfo(name, op, samples, ref=ref, primitives=primitives, doc=DOC, examples=examples,
                  ref_tol={"rtol": 1e-12, "atol": 1e-12}, **extra)


def _ref(fn):
    return lambda a, axis=None, keepdims=False, **kw: fn(a, axis=_np_axis(a, axis), keepdims=keepdims, **kw)


ENTRIES = [
    reduction("sum", lambda x, **kw: x.sum(**kw), _ref(np.sum), (red.Sum,), reduction_samples()),
    reduction("max", lambda x, **kw: x.max(**kw), _ref(np.max), (red.Max,), reduction_samples(distinct=True)),
    reduction("min", lambda x, **kw: x.min(**kw), _ref(np.min), (red.Min,), reduction_samples(distinct=True)),
    reduction("mean", lambda x, **kw: x.mean(**kw), _ref(np.mean), (), reduction_samples()),
    reduction("var", lambda x, **kw: x.var(**kw), _ref(np.var), (), reduction_samples(ddof=True)),
    reduction("std", lambda x, **kw: x.std(**kw), _ref(np.std), (),
              reduction_samples(distinct=True, ddof=True, min_count=2)),
    reduction("argmax", lambda x, **kw: x.argmax(**kw), _ref(np.argmax), (),
              reduction_samples(distinct=True, tuples=False), grad_order=0),
    reduction("argmin", lambda x, **kw: x.argmin(**kw), _ref(np.argmin), (),
              reduction_samples(distinct=True, tuples=False), grad_order=0),
]
