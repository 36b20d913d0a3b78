"""Op table: movement ops (tinygrad_cnn/ops/movement.py): reshape/view, permute, transpose, T, expand/broadcast_to,
squeeze, unsqueeze, flatten, getitem (basic and advanced), pad, concatenate, stack, and the scatter kernel IndexAdd
(the adjoint of GetItem) called directly.

These ops are linear, so their second derivative in the input is 0; gradgradcheck still differentiates the VJP with
respect to the upstream gradient, which checks the VJP of the VJP (GetItem <-> IndexAdd, Pad -> GetItem...).
Samples never ask for the identity (a reshape to the same shape returns the input itself, no node); that case has
a hand-written test in tests/test_core_movement.py.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.ops import movement as mv
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/movement.md"


def entry(name, op, samples, ref, primitives, examples=(15, 4), ref_tol=None, **extra):
    return OpInfo(name, op, samples, ref=ref, primitives=primitives, doc=DOC, examples=examples,
                  ref_tol=ref_tol or {"rtol": 0.0, "atol": 0.0}, **extra)  # moving elements is exact


def one(shape_strategy, kwargs=None):
    """Samples of one float64 array of a shape drawn by ``shape_strategy``, with ``kwargs`` drawn from the shape."""
    @st.composite
    def build(draw):
        shape = draw(shape_strategy)
        return Sample((draw(S.arrays(shape)),), draw(kwargs(shape)) if kwargs else {})
    return build()


# ---- reshape, permute, transpose, expand ---------------------------------------------------------------------------
@st.composite
def _reshape_target(draw, shape):
    size = int(np.prod(shape))
    d = draw(st.sampled_from([d for d in range(1, size + 1) if size % d == 0]))
    target = draw(st.sampled_from([(d, -1), (-1, d), (d, size // d), (size,), (1, size, 1), (size // d, 1, d)]))
    assume(target != tuple(shape))  # the identity returns the input itself (a hand-written test)
    return {"shape": target}


@st.composite
def _permutation(draw, shape):
    n = len(shape)
    axes = draw(st.permutations(range(n)))
    return {"axes": tuple(a - n if draw(st.booleans()) else a for a in axes)}  # negative axes too


@st.composite
def _transpose_axes(draw, shape):
    n = len(shape)
    if draw(st.booleans()):
        return {}  # the default: the last two axes
    return {"axis0": draw(st.integers(-n, n - 1)), "axis1": draw(st.integers(-n, n - 1))}


def _np_transpose(a, axis0=-2, axis1=-1):
    return np.swapaxes(a, axis0, axis1)


@st.composite
def _expand_samples(draw):
    small, big = draw(S.broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
    target = tuple(np.broadcast_shapes(small, big))
    assume(target != tuple(small))
    lead = len(target) - len(small)
    # -1 keeps an axis of the input (PyTorch's spelling), only where the input has that axis
    spelled = tuple(-1 if i >= lead and target[i] == small[i - lead] and draw(st.booleans()) else n
                    for i, n in enumerate(target))
    return Sample((draw(S.arrays(small)),), {"shape": spelled}), target


def _expand(name, method):
    samples = _expand_samples().map(lambda p: p[0])
    return entry(name, lambda x, shape: getattr(x, method)(shape), samples,
                 lambda a, shape: np.broadcast_to(a, tuple(a.shape[i - len(shape) + a.ndim] if n == -1 else n
                                                           for i, n in enumerate(shape))).copy(),
                 (mv.Expand,))


# ---- squeeze, unsqueeze, flatten -----------------------------------------------------------------------------------
@st.composite
def _squeeze_axis(draw, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    assume(ones)  # nothing to squeeze is the identity
    n = len(shape)
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    if kind == "none":
        return {}
    picked = draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
    picked = [a - n if draw(st.booleans()) else a for a in picked]
    return {"axis": picked[0]} if kind == "int" else {"axis": tuple(picked)}


def _np_squeeze(a, axis=None):
    return np.squeeze(a, axis=axis)


@st.composite
def _unsqueeze_axis(draw, shape):
    return {"axis": draw(st.integers(-len(shape) - 1, len(shape)))}


@st.composite
def _flatten_axes(draw, shape):
    n = len(shape)
    s, e = sorted(draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True)))  # s == e: identity
    return {"start_axis": s - n if draw(st.booleans()) else s, "end_axis": e - n if draw(st.booleans()) else e}


def _np_flatten(a, start_axis=0, end_axis=-1):
    s, e = start_axis % a.ndim, end_axis % a.ndim
    return a.reshape(a.shape[:s] + (int(np.prod(a.shape[s:e + 1])),) + a.shape[e + 1:])


# ---- getitem and its adjoint IndexAdd -------------------------------------------------------------------------------
_BASIC = [slice(None), slice(None, None, -1), slice(1, None, 2), slice(-2, None), slice(None, None, -2),
          slice(None, -1), slice(-1, None, -1), slice(2, 0, -1)]


@st.composite
def basic_index(draw, shape):
    """Per axis a slice (steps 1, 2, -1, -2, starts and stops of either sign, possibly empty) or an int (0, -1,
    the last); then a None inserted, an Ellipsis standing for one or more axes, both, or trailing axes left out."""
    parts = [draw(st.sampled_from([*_BASIC, 0, -1, n - 1])) for n in shape]
    extra = draw(st.sampled_from(["none", "ellipsis", "both", "plain", "short"]))
    if extra in ("ellipsis", "both") and parts:
        i = draw(st.integers(0, len(parts) - 1))
        j = draw(st.integers(i, len(parts)))  # the Ellipsis stands for axes i..j-1 (none of them when j == i)
        parts = [*parts[:i], Ellipsis, *parts[j:]]
    if extra in ("none", "both"):
        parts.insert(draw(st.integers(0, len(parts))), None)
    if extra == "short":
        parts = parts[:draw(st.integers(1, max(len(parts), 1)))]
    return tuple(parts)


@st.composite
def advanced_index(draw, shape):
    """Integer arrays (repeated and negative entries, 1-D or 2-D, on any axis, two broadcasting together, next to
    a slice or an int) or boolean masks (of the whole shape or of the leading axes)."""
    nd = len(shape)

    def ints(n, max_size=6, two_d=False):
        if two_d:
            rows = draw(st.integers(1, 2))
            return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=2 * rows, max_size=2 * rows))).reshape(
                rows, 2)
        return np.array(draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=max_size)))

    kind = draw(st.sampled_from(["int", "int 2-d", "int on an axis", "two int arrays", "int and int", "mask",
                                 "mask leading"]))
    if kind == "int":
        return ints(shape[0])
    if kind == "int 2-d":
        return ints(shape[0], two_d=True)
    if kind == "int on an axis":  # after one or more full slices
        axis = draw(st.integers(1, nd - 1)) if nd > 1 else 0
        return (slice(None),) * axis + (ints(shape[axis], max_size=4),)
    if kind in ("two int arrays", "int and int") and nd >= 2:
        first = ints(shape[0], max_size=4)
        second = (np.array(draw(st.lists(st.integers(-shape[1], shape[1] - 1), min_size=len(first),
                                         max_size=len(first)))) if kind == "two int arrays"
                  else draw(st.integers(-shape[1], shape[1] - 1)))
        return (first, second)
    if kind == "mask leading":
        k = draw(st.integers(1, nd))
        lead = shape[:k]
        return np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(lead)), max_size=int(np.prod(lead))))
                        ).reshape(lead)
    return np.array(draw(st.lists(st.booleans(), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
                    ).reshape(shape)


def _as_form(index, form):
    """The index spelled as the user may: NumPy arrays, Tensors, or (for a 1-D integer array) a Python list."""
    if form == "tensor":
        parts = index if isinstance(index, tuple) else (index,)
        parts = tuple(tg.Tensor(p) if isinstance(p, np.ndarray) else p for p in parts)
        return parts if isinstance(index, tuple) else parts[0]
    if form == "list" and isinstance(index, np.ndarray) and index.ndim == 1 and index.dtype != np.bool_:
        return index.tolist()
    return index


def _getitem_samples(index_strategy, min_dims=0, max_side=5):
    @st.composite
    def build(draw):
        shape = draw(S.shapes(min_dims=min_dims, max_dims=3, max_side=max_side))
        kwargs = {"index": draw(index_strategy(shape))}
        if index_strategy is advanced_index:
            kwargs["form"] = draw(st.sampled_from(["array", "tensor", "list"]))
        return Sample((draw(S.arrays(shape)),), kwargs)
    return build()


def _index_add_ref(g, shape, index):
    """zeros(shape) with g added at index, from first principles: the flat position of every picked element."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    return np.bincount(np.ravel(positions), weights=np.ravel(g), minlength=int(np.prod(shape))).reshape(shape)


def _index_add_samples():
    @st.composite
    def build(draw):
        shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
        index = draw(basic_index(shape) if draw(st.booleans()) else advanced_index(shape))
        picked = np.zeros(shape)[index].shape
        return Sample((draw(S.arrays(picked)),), {"shape": shape, "index": index})
    return build()


# ---- pad, concatenate, stack ----------------------------------------------------------------------------------------
@st.composite
def _pad_args(draw, shape):
    form = draw(st.sampled_from(["pairs", "pairs", "int", "pair"]))
    if form == "int":
        width = draw(st.integers(0, 2))
    elif form == "pair":
        width = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    else:
        width = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape)
    return {"pad_width": width, "value": draw(st.sampled_from([0.0, 1.5, -2.0]))}


def _np_pad(a, pad_width, value=0.0):
    return np.pad(a, pad_width, mode="constant", constant_values=value)


@st.composite
def _joined(draw):
    """1 to 3 arrays of 1 to 3 axes that agree but on ``axis`` (negative too); some may not require grad."""
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        s = list(shape)
        s[axis] = draw(st.integers(1, 3))
        parts.append(draw(S.arrays(tuple(s))))
    return Sample(tuple(parts), {"axis": axis}, _some_grads(draw, len(parts)))


def _some_grads(draw, n):
    """Every input requires grad, or (one time in three) a random non-empty subset does."""
    if draw(st.integers(0, 2)):
        return None
    grads = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    return tuple(grads) if any(grads) else (True,) * n


@st.composite
def _stacked(draw):
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=3))
    count = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return Sample(tuple(draw(S.arrays(shape)) for _ in range(count)), {"axis": axis}, _some_grads(draw, count))


ENTRIES = [
    entry("reshape", lambda x, shape: x.reshape(shape), one(S.shapes(max_dims=3, max_side=4), _reshape_target),
          lambda a, shape: a.reshape(shape), (mv.Reshape,)),
    entry("reshape varargs", lambda x, shape: x.reshape(*shape), one(S.shapes(max_dims=3, max_side=4),
                                                                      _reshape_target),
          lambda a, shape: a.reshape(shape), (mv.Reshape,)),
    entry("view", lambda x, shape: x.view(shape), one(S.shapes(max_dims=3, max_side=4), _reshape_target),
          lambda a, shape: a.reshape(shape), (mv.Reshape,)),
    entry("permute", lambda x, axes: x.permute(axes), one(S.shapes(max_dims=4, max_side=3), _permutation),
          lambda a, axes: np.transpose(a, axes), (mv.Permute,)),
    entry("transpose", lambda x, **kw: x.transpose(**kw), one(S.shapes(min_dims=2, max_dims=4, max_side=3),
                                                              _transpose_axes),
          _np_transpose, (mv.Permute,)),
    entry("T", lambda x: x.T, one(S.shapes(max_dims=4, max_side=3)), lambda a: a.T, (mv.Permute,)),
    _expand("expand", "expand"),
    _expand("broadcast_to", "broadcast_to"),
    entry("squeeze", lambda x, **kw: x.squeeze(**kw), one(S.shapes(max_dims=4, max_side=2), _squeeze_axis),
          _np_squeeze, (mv.Reshape,)),
    entry("unsqueeze", lambda x, axis: x.unsqueeze(axis), one(S.shapes(max_dims=3, max_side=3), _unsqueeze_axis),
          lambda a, axis: np.expand_dims(a, axis), (mv.Reshape,)),
    entry("squeeze/unsqueeze", lambda x: x.unsqueeze(-1).squeeze().unsqueeze(0), one(S.shapes(max_dims=3,
                                                                                             max_side=2)),
          lambda a: np.expand_dims(np.squeeze(a[..., None]), 0), (mv.Reshape,)),
    entry("flatten", lambda x, **kw: x.flatten(**kw), one(S.shapes(min_dims=2, max_dims=4, max_side=3),
                                                          _flatten_axes),
          _np_flatten, (mv.Reshape,)),
    entry("flatten all", lambda x: x.flatten(), one(S.shapes(min_dims=2, max_dims=4, max_side=3)),
          lambda a: a.reshape(-1), (mv.Reshape,)),
    entry("getitem basic", lambda x, index: x[index], _getitem_samples(basic_index, min_dims=1),
          lambda a, index: a[index], (mv.GetItem,)),
    entry("getitem advanced", lambda x, index, form: x[_as_form(index, form)],
          _getitem_samples(advanced_index, min_dims=1, max_side=4), lambda a, index, form: a[index], (mv.GetItem,)),
    entry("IndexAdd", lambda g, shape, index: mv.IndexAdd.apply(g, shape=shape, index=index), _index_add_samples(),
          _index_add_ref, (mv.IndexAdd, mv.GetItem), ref_tol={"rtol": 1e-14, "atol": 1e-14}),  # repeats add up
    entry("pad", lambda x, **kw: x.pad(**kw), one(S.shapes(min_dims=1, max_dims=3, max_side=3), _pad_args), _np_pad,
          (mv.Pad,)),
    entry("concatenate", lambda *xs, axis: tg.concatenate(xs, axis=axis), _joined(),
          lambda *arrays, axis: np.concatenate(arrays, axis=axis), (mv.Concatenate,)),
    entry("stack", lambda *xs, axis: tg.stack(xs, axis=axis), _stacked(),
          lambda *arrays, axis: np.stack(arrays, axis=axis), (mv.Concatenate, mv.Reshape)),
]
