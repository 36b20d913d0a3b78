"""Op table: indexing and selection (tinygrad_cnn/ops/indexing.py, the SlidingWindows pair of ops/movement.py and
the compositions of tinygrad_cnn/methods/indexing.py): gather, scatter, scatter_add, scatter_reduce, index_select,
masked_fill, masked_select, take_along_dim, nonzero, where(cond), one_hot, tril, triu, diag, diagonal, trace, roll,
flip, repeat, tile, repeat_interleave, split, chunk, unbind, Tensor.unfold, meshgrid, narrow, movedim/moveaxis,
swapaxes/swapdims, squeeze/unsqueeze with several dims; and the kernels ScatterAdd, SlidingWindowsAdd called directly.

References are loops or NumPy calls that share nothing with the implementation (a scatter reference loops over the
index in row-major order, which is also the stated tie rule of scatter: the last write wins). Samples keep amax/amin
free of ties (distinct values) and prod away from zero; the tie and zero cases are hand-derived in
tests/test_indexing_ops.py. Samples never ask for the identity (no node is recorded then).
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.ops import indexing as ix
from tinygrad_cnn.ops import movement as mv
from tinygrad_cnn.ops import reduce as red
from tinygrad_cnn.ops.movement import TensorIndexError
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

from .movement import one

DOC = "derivations/indexing.md"
X = tg.Tensor(np.arange(12.0).reshape(3, 4))
IDX = np.array([[0, 1], [2, 3], [1, 1]])


def entry(name, op, samples, ref, primitives, exact=True, **extra):
    tol = {"rtol": 0.0, "atol": 0.0} if exact else {"rtol": 1e-12, "atol": 1e-12}
    return OpInfo(name, op, samples, ref=ref, primitives=primitives, doc=DOC, ref_tol=extra.pop("ref_tol", tol),
                  **extra)


def bad(call, error, match):
    return BadInput(call, error, match)


def _dim_kwargs(draw, d, nd):
    """``dim=d`` or ``axis=d``, either sign."""
    d = d - nd if draw(st.booleans()) else d
    return {"axis": d} if draw(st.booleans()) else {"dim": d}


# ---- gather / scatter family ------------------------------------------------------------------------------------
@st.composite
def _gather_case(draw):
    """(shape of a, dim, index): index has a's number of dims, no larger than a outside dim, entries in range."""
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    d = draw(st.integers(0, len(shape) - 1))
    ishape = tuple(draw(st.integers(1, 4)) if k == d else draw(st.integers(1, n)) for k, n in enumerate(shape))
    return shape, d, draw(hnp.arrays(np.int64, ishape, elements=st.integers(0, shape[d] - 1)))


@st.composite
def _gather_samples(draw):
    shape, d, index = draw(_gather_case())
    kw = _dim_kwargs(draw, d, len(shape))
    form = draw(st.sampled_from(["tensor", "array", "list"]))
    return Sample((draw(S.arrays(shape)),), {**kw, "index": index, "form": form})


def _as_form(index, form):
    return {"tensor": tg.Tensor(index), "array": index, "list": index.tolist()}[form]


def _np_gather(a, index, dim=None, axis=None, form=None):
    d = dim if axis is None else axis
    d %= a.ndim
    out = np.empty(index.shape)
    for pos in itertools.product(*map(range, index.shape)):
        src = list(pos)
        src[d] = index[pos]
        out[pos] = a[tuple(src)]
    return out


def _targets(index, d):
    """(index position, target position) pairs in row-major order of the index."""
    for pos in itertools.product(*map(range, index.shape)):
        tgt = list(pos)
        tgt[d] = index[pos]
        yield pos, tuple(tgt)


def _np_scatter_add_kernel(src, index, dim, shape):
    out = np.zeros(shape)
    for pos, tgt in _targets(index, dim):
        out[tgt] += src[pos]
    return out


@st.composite
def _scatter_add_kernel_samples(draw):
    shape, d, index = draw(_gather_case())
    return Sample((draw(S.arrays(index.shape)),), {"index": index, "dim": d, "shape": shape})


@st.composite
def _scatter_samples(draw, with_src=True, distinct=False, low=-3.0, high=3.0, away_from=(), reduce=None):
    shape, d, index = draw(_gather_case())
    bigger = tuple(m + draw(st.integers(0, 1)) for m in index.shape)  # PyTorch reads the leading block of src
    kw = {**_dim_kwargs(draw, d, len(shape)), "index": index}
    if reduce is not None:
        kw.update(reduce=reduce, include_self=draw(st.booleans()))
    if not with_src:
        kw["value"] = draw(st.sampled_from([0.0, 1.5, -2.0]))
        return Sample((draw(S.arrays(shape)),), kw)
    if distinct:
        both = draw(S.arrays((int(np.prod(shape)) + int(np.prod(bigger)),), low, high, distinct=True, gap=1e-3))
        a, src = both[:int(np.prod(shape))].reshape(shape), both[int(np.prod(shape)):].reshape(bigger)
    else:
        a = draw(S.arrays(shape, low, high, away_from=away_from, gap=0.3))
        src = draw(S.arrays(bigger, low, high, away_from=away_from, gap=0.3))
    return Sample((a, src), kw)


def _dim_of(a, dim=None, axis=None):
    return (dim if axis is None else axis) % a.ndim


def _np_scatter(a, src=None, index=None, dim=None, axis=None, value=None):
    d, out = _dim_of(a, dim, axis), a.copy()
    for pos, tgt in _targets(index, d):  # row-major: the last write wins
        out[tgt] = value if src is None else src[pos]
    return out


def _np_scatter_add(a, src, index, dim=None, axis=None):
    d, out = _dim_of(a, dim, axis), a.copy()
    for pos, tgt in _targets(index, d):
        out[tgt] += src[pos]
    return out


def _np_scatter_reduce(a, src, index, reduce, include_self=True, dim=None, axis=None):
    d = _dim_of(a, dim, axis)
    groups = {}
    for pos, tgt in _targets(index, d):
        groups.setdefault(tgt, []).append(src[pos])
    out = a.copy()
    fn = {"sum": np.sum, "prod": np.prod, "mean": np.mean, "amax": np.max, "amin": np.min}[reduce]
    for tgt, values in groups.items():
        out[tgt] = fn(([a[tgt]] if include_self else []) + values)
    return out


def _scatter_reduce_entry(reduce, first, **sample_kw):
    return entry(f"scatter_reduce {reduce}", lambda a, s, **kw: a.scatter_reduce(src=s, **kw),
                 _scatter_samples(reduce=reduce, **sample_kw), _np_scatter_reduce,
                 (first, ix.ScatterAdd) if reduce in ("sum", "mean") else (ix.ScatterReduce, ix.Gather), exact=False,
                 bad_inputs=(bad(lambda: X.scatter_reduce(1, IDX, X[:, :2], "max"), ValueError, "'amax'"),
                             bad(lambda: X.scatter_reduce(1, IDX + 2, X[:, :2], reduce), TensorIndexError,
                                 r"values from 2 to 5, out of range \[0, 3\]"),
                             bad(lambda: X.scatter_reduce(1, IDX, X[:, :2], reduce, include_self=1), TypeError,
                                 "include_self")))


# ---- index_select, masks, take_along_dim ----------------------------------------------------------------------------
@st.composite
def _index_select_samples(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    d = draw(st.integers(0, len(shape) - 1))
    index = np.array(draw(st.lists(st.integers(0, shape[d] - 1), min_size=1, max_size=5)))
    return Sample((draw(S.arrays(shape)),), {**_dim_kwargs(draw, d, len(shape)), "index": index})


def _np_index_select(a, index, dim=None, axis=None):
    return np.take(a, index, axis=_dim_of(a, dim, axis))


@st.composite
def _mask_samples(draw, tensor_value=False, broadcast_mask=True):
    shape, mshape = draw(S.broadcastable_shapes(2, max_dims=3, max_side=3))
    if not broadcast_mask:  # masked_fill: the mask broadcasts to the input's shape
        shape = tuple(np.broadcast_shapes(shape, mshape))
    mask = draw(hnp.arrays(np.bool_, mshape))
    kw = {"mask": mask}
    if tensor_value:
        return Sample((draw(S.arrays(shape)), draw(S.arrays(()))), kw)
    kw["value"] = draw(st.sampled_from([0.0, -1.5, 2]))
    return Sample((draw(S.arrays(shape)),), kw)


def _np_masked_fill(a, *value, mask, **kw):
    v = value[0] if value else kw["value"]
    return np.where(mask, v, a)


@st.composite
def _take_samples(draw):
    if draw(st.booleans()):  # dim=None: the flattened tensor
        shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
        index = draw(hnp.arrays(np.int64, draw(S.shapes(1, 2, max_side=4)),
                                elements=st.integers(0, int(np.prod(shape)) - 1)))
        return Sample((draw(S.arrays(shape)),), {"indices": index} if draw(st.booleans()) else
                      {"indices": index, "dim": None})
    sa, si = draw(S.broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    n = max(len(sa), len(si))
    sa, si = (1,) * (n - len(sa)) + tuple(sa), (1,) * (n - len(si)) + tuple(si)
    d = draw(st.integers(0, n - 1))
    sa = sa[:d] + (draw(st.integers(1, 4)),) + sa[d + 1:]
    si = si[:d] + (draw(st.integers(1, 4)),) + si[d + 1:]
    index = draw(hnp.arrays(np.int64, si, elements=st.integers(0, sa[d] - 1)))
    return Sample((draw(S.arrays(sa)),), {"indices": index, **_dim_kwargs(draw, d, n)})


def _np_take(a, indices, dim=None, axis=None):
    d = dim if axis is None else axis
    if d is None:
        return np.take_along_axis(a.reshape(-1), indices.reshape(-1), 0)
    return np.take_along_axis(a, indices, d)


@st.composite
def _sparse(draw, min_dims=0):
    """float64 arrays with zeros among the values (nonzero, where(cond))."""
    shape = draw(S.shapes(min_dims=min_dims, max_dims=3, max_side=4))
    return Sample((draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 1.0, -2.5]))),),
                  {"as_tuple": draw(st.booleans())})


def _np_nonzero(a, as_tuple=False):
    return tuple(np.nonzero(np.atleast_1d(a))) if as_tuple else np.argwhere(a)


@st.composite
def _classes(draw):
    shape = draw(S.shapes(max_dims=3, max_side=4))
    n = draw(st.integers(1, 5))
    labels = draw(hnp.arrays(np.int64, shape, elements=st.integers(0, n - 1)))
    assume(labels.size)
    return Sample((labels,), {"num_classes": draw(st.sampled_from([-1, n, n + 2]))})


def _np_one_hot(labels, num_classes=-1):
    n = labels.max() + 1 if num_classes == -1 else num_classes
    return np.eye(n, dtype=np.int64)[labels]


# ---- triangles, diagonals ----------------------------------------------------------------------------------------
@st.composite
def _diagonal_k(draw, shape):
    return {"diagonal": draw(st.integers(-3, 3))}


@st.composite
def _diagonal_args(draw, shape):
    n = len(shape)
    d1, d2 = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    kw = {"offset": draw(st.integers(-2, 2))}
    d1, d2 = (d1 - n if draw(st.booleans()) else d1), (d2 - n if draw(st.booleans()) else d2)
    kw.update({"dim1": d1, "dim2": d2} if draw(st.booleans()) else {"axis1": d1, "axis2": d2})
    return kw


def _np_diagonal(a, offset=0, dim1=None, dim2=None, axis1=None, axis2=None):
    return np.diagonal(a, offset, dim1 if axis1 is None else axis1, dim2 if axis2 is None else axis2)


# ---- roll, flip, repeat, tile, repeat_interleave ------------------------------------------------------------------
@st.composite
def _roll_args(draw, shape):
    n = len(shape)
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique_by=lambda d: d % n))
    shifts = [draw(st.integers(-6, 6)) for _ in dims]
    assume(any(s % shape[d] for s, d in zip(shifts, dims)))
    if len(dims) == 1 and draw(st.booleans()):
        return {"shifts": shifts[0], ("dims" if draw(st.booleans()) else "axis"): dims[0]}
    return {"shifts": tuple(shifts), "dims": tuple(dims)}


@st.composite
def _roll_flat_args(draw, shape):
    s = draw(st.integers(-7, 7))
    assume(s % int(np.prod(shape)))
    return {"shifts": s}


def _np_roll(a, shifts, dims=None, axis=None):
    return np.roll(a, shifts, axis=dims if axis is None else axis)


@st.composite
def _flip_args(draw, shape):
    n = len(shape)
    dims = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=n, unique_by=lambda d: d % n))
    form = draw(st.sampled_from(["varargs", "tuple", "kw", "axis"]))
    return {"dims": tuple(dims), "form": form}


def _flip(x, dims, form):
    if form == "varargs":
        return x.flip(*dims)
    if form == "tuple":
        return x.flip(dims)
    return x.flip(dims=dims) if form == "kw" else x.flip(axis=dims)


@st.composite
def _repeat_args(draw, shape):
    extra = draw(st.integers(0, 2))
    sizes = tuple(draw(st.integers(1, 3)) for _ in range(len(shape) + extra))
    assume(extra or any(r != 1 for r in sizes))
    return {"sizes": sizes, "varargs": draw(st.booleans())}


@st.composite
def _tile_args(draw, shape):
    sizes = tuple(draw(st.integers(0, 3)) for _ in range(draw(st.integers(1, len(shape) + 1))))
    assume(len(sizes) > len(shape) or any(r != 1 for r in sizes))
    return {"sizes": sizes, "varargs": draw(st.booleans())}


@st.composite
def _interleave_args(draw, shape):
    if draw(st.booleans()):
        d, n = None, int(np.prod(shape))
    else:
        d = draw(st.integers(-len(shape), len(shape) - 1))
        n = shape[d]
    if draw(st.booleans()):
        reps = draw(st.integers(2, 3))
    else:
        reps = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
        assume(reps.sum() and not np.all(reps == 1))
    kw = {"repeats": reps}
    if d is not None:
        kw["dim" if draw(st.booleans()) else "axis"] = d
    return kw


def _np_repeat_interleave(a, repeats, dim=None, axis=None):
    d = dim if axis is None else axis
    return np.repeat(a.reshape(-1) if d is None else a, repeats, axis=0 if d is None else d)


# ---- split, chunk, unbind, unfold, meshgrid, narrow, movedim, swap ------------------------------------------------
@st.composite
def _split_args(draw, shape):
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    if draw(st.booleans()):
        spec = draw(st.integers(1, n + 1))
    else:
        cuts = sorted(draw(st.lists(st.integers(0, n), max_size=3)))
        spec = [b - a for a, b in itertools.pairwise([0, *cuts, n])]
    return {"split_size_or_sections": spec, "dim": d}


def _np_split(a, split_size_or_sections, dim=0):
    n = a.shape[dim]
    spec = split_size_or_sections
    bounds = list(range(0, n, spec)) + [n] if isinstance(spec, int) else np.cumsum([0, *spec]).tolist()
    return tuple(np.take(a, range(s, e), axis=dim) for s, e in itertools.pairwise(bounds))


@st.composite
def _chunk_args(draw, shape):
    return {"chunks": draw(st.integers(1, 5)), "dim": draw(st.integers(-len(shape), len(shape) - 1))}


def _np_chunk(a, chunks, dim=0):
    n = a.shape[dim]
    return _np_split(a, -(-n // chunks), dim)


@st.composite
def _unbind_args(draw, shape):
    d = draw(st.integers(-len(shape), len(shape) - 1))
    return {"dim": d} if draw(st.booleans()) else {"axis": d}


@st.composite
def _unfold_args(draw, shape):
    d = draw(st.integers(-len(shape), len(shape) - 1))
    size = draw(st.integers(0, shape[d]))
    return {"dimension": d, "size": size, "step": draw(st.integers(1, 3))}


def _np_unfold(a, dimension, size, step):
    d = dimension % a.ndim
    count = (a.shape[d] - size) // step + 1
    windows = [np.take(a, range(w * step, w * step + size), axis=d) for w in range(count)]  # each: size along d
    return np.moveaxis(np.stack(windows, axis=d), d + 1, -1)


@st.composite
def _unfold_add_samples(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=5))
    d = draw(st.integers(0, len(shape) - 1))
    size, step = draw(st.integers(0, shape[d])), draw(st.integers(1, 3))
    count = (shape[d] - size) // step + 1
    gshape = shape[:d] + (count,) + shape[d + 1:] + (size,)
    return Sample((draw(S.arrays(gshape)),), {"shape": shape, "dim": d, "size": size, "step": step})


def _np_unfold_add(g, shape, dim, size, step):
    out = np.zeros(shape)
    for w in range(g.shape[dim]):
        for k in range(size):
            target = [slice(None)] * len(shape)
            target[dim] = w * step + k
            out[tuple(target)] += np.take(g, w, axis=dim)[..., k]
    return out


@st.composite
def _meshgrid_samples(draw):
    count = draw(st.integers(2, 3))
    sizes = [draw(st.integers(2, 4)) for _ in range(count)]
    return Sample(tuple(draw(S.arrays((n,))) for n in sizes), {"indexing": draw(st.sampled_from(["ij", "xy"])),
                                                               "packed": draw(st.booleans())})


def _meshgrid(*tensors, indexing, packed):
    return tg.meshgrid(list(tensors), indexing=indexing) if packed else tg.meshgrid(*tensors, indexing=indexing)


@st.composite
def _narrow_args(draw, shape):
    d = draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[d]
    start = draw(st.integers(-n, n - 1))
    length = draw(st.integers(0, n - start % n))
    return {"dim": d, "start": start, "length": length}


def _np_narrow(a, dim, start, length):
    start %= a.shape[dim]
    return np.take(a, range(start, start + length), axis=dim)


@st.composite
def _movedim_args(draw, shape):
    n = len(shape)
    k = draw(st.integers(1, n))
    src = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    dst = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k, unique=True))
    marked = tuple(range(2, n + 2))  # distinct sizes: the identity keeps this shape
    assume(np.moveaxis(np.zeros(marked), src, dst).shape != marked)
    src = [s - n if draw(st.booleans()) else s for s in src]
    if k == 1 and draw(st.booleans()):
        return {"source": src[0], "destination": dst[0]}
    return {"source": tuple(src), "destination": tuple(dst)}


@st.composite
def _swap_args(draw, shape):
    n = len(shape)
    a0, a1 = draw(st.lists(st.integers(0, n - 1), min_size=2, max_size=2, unique=True))
    return {"a0": a0 - n if draw(st.booleans()) else a0, "a1": a1}


@st.composite
def _squeeze_dims(draw, shape):
    ones = [i for i, n in enumerate(shape) if n == 1]
    assume(ones)
    picked = draw(st.lists(st.sampled_from(ones), min_size=1, max_size=len(ones), unique=True))
    return {"dim": tuple(p - len(shape) if draw(st.booleans()) else p for p in picked)}


@st.composite
def _unsqueeze_dims(draw, shape):
    n = len(shape) + draw(st.integers(1, 3))
    new = draw(st.lists(st.integers(0, n - 1), min_size=n - len(shape), max_size=n - len(shape), unique=True))
    return {"dim": tuple(p - n if draw(st.booleans()) else p for p in new)}


SHAPES = S.shapes(min_dims=1, max_dims=3, max_side=4)
MATRICES = S.shapes(min_dims=2, max_dims=4, max_side=4)

ENTRIES = [
    entry("gather", lambda x, index, form, **kw: x.gather(index=_as_form(index, form), **kw), _gather_samples(),
          _np_gather, (ix.Gather, ix.ScatterAdd),
          bad_inputs=(bad(lambda: X.gather(1, IDX + 2), TensorIndexError,
                          r"values from 2 to 5, out of range \[0, 3\] of dimension 1 of the input of shape \(3, 4\)"),
                      bad(lambda: X.gather(1, -IDX), TensorIndexError, "out of range"),
                      bad(lambda: X.gather(0, np.zeros((1, 5), int)), TensorIndexError, "larger than the input"),
                      bad(lambda: X.gather(1, np.zeros(2, int)), TensorIndexError, "same number of dimensions"),
                      bad(lambda: X.gather(1, X), TypeError, "integer tensor"),
                      bad(lambda: X.gather(2, IDX), ValueError, "out of range"),
                      bad(lambda: X.gather(1, IDX, axis=1), TypeError, "both"))),
    entry("ScatterAdd", lambda g, **kw: ix.ScatterAdd.apply(g, **kw), _scatter_add_kernel_samples(),
          _np_scatter_add_kernel, (ix.ScatterAdd, ix.Gather), exact=False),
    entry("scatter", lambda a, s, **kw: a.scatter(src=s, **kw), _scatter_samples(), _np_scatter,
          (ix.Scatter, ix.Gather),
          bad_inputs=(bad(lambda: X.scatter(1, IDX, X[:1]), TensorIndexError, "does not fit in src"),
                      bad(lambda: X.scatter(1, IDX + 2, X), TensorIndexError, "out of range"),
                      bad(lambda: X.scatter(1, IDX, X.astype(np.float32)), TypeError, "dtype"),
                      bad(lambda: X.scatter(1, IDX), TypeError, "src"))),
    entry("scatter value", lambda a, **kw: a.scatter(**kw), _scatter_samples(with_src=False), _np_scatter,
          (ix.Scatter,),
          bad_inputs=(bad(lambda: X.scatter(1, IDX, value="x"), TypeError, "value"),)),
    entry("scatter_add", lambda a, s, **kw: a.scatter_add(src=s, **kw), _scatter_samples(), _np_scatter_add,
          (ew.Add, ix.ScatterAdd), exact=False,
          bad_inputs=(bad(lambda: X.scatter_add(1, IDX + 2, X), TensorIndexError, "out of range"),
                      bad(lambda: X.scatter_add(1, IDX, 1.0), TypeError, "Tensor"))),
    _scatter_reduce_entry("sum", ew.Add),
    _scatter_reduce_entry("mean", ew.Div),
    _scatter_reduce_entry("prod", None, low=-1.6, high=1.6, away_from=(0.0,)),
    _scatter_reduce_entry("amax", None, distinct=True),
    _scatter_reduce_entry("amin", None, distinct=True),
    entry("index_select", lambda x, **kw: x.index_select(**kw), _index_select_samples(), _np_index_select,
          (mv.GetItem,),
          bad_inputs=(bad(lambda: X.index_select(0, [0, 3]), TensorIndexError,
                          r"values from 0 to 3, out of range \[0, 2\] of dimension 0 of the input of shape \(3, 4\)"),
                      bad(lambda: X.index_select(0, IDX), TensorIndexError, "1-D"))),
    entry("masked_fill", lambda x, **kw: x.masked_fill(**kw), _mask_samples(broadcast_mask=False), _np_masked_fill,
          (ew.Where,),
          bad_inputs=(bad(lambda: X.masked_fill(X, 0.0), TypeError, "boolean"),
                      bad(lambda: X.masked_fill(np.ones((2, 4), bool), 0.0), ValueError, "broadcast"),
                      bad(lambda: X.masked_fill(X > 1, X), ValueError, "0-d"))),
    entry("masked_fill tensor value", lambda x, v, mask: x.masked_fill(mask, v),
          _mask_samples(tensor_value=True, broadcast_mask=False), _np_masked_fill, (ew.Where,)),
    entry("masked_select", lambda x, mask: x.masked_select(mask), _mask_samples().map(
        lambda s: Sample(s.inputs, {"mask": s.kwargs["mask"]})),
          lambda a, mask: np.broadcast_to(a, np.broadcast_shapes(a.shape, mask.shape))[
              np.broadcast_to(mask, np.broadcast_shapes(a.shape, mask.shape))], (mv.GetItem,),
          bad_inputs=(bad(lambda: X.masked_select(np.ones(3, bool)), ValueError, "broadcast"),)),
    entry("take_along_dim", lambda x, indices, **kw: x.take_along_dim(tg.Tensor(indices), **kw), _take_samples(),
          _np_take, (ix.Gather,),
          bad_inputs=(bad(lambda: X.take_along_dim(tg.Tensor(IDX), 1, axis=1), TypeError, "both"),
                      bad(lambda: X.take_along_dim(tg.Tensor(np.array([12]))), TensorIndexError,
                          r"out of range \[0, 11\]"),
                      bad(lambda: X.take_along_dim(tg.Tensor(np.zeros((2, 2), int)), 1), TensorIndexError,
                          "broadcast"))),
    entry("nonzero", lambda x, as_tuple: x.nonzero(as_tuple=as_tuple), _sparse(), _np_nonzero, (), grad_order=0,
          bad_inputs=(bad(lambda: X.nonzero(as_tuple=1), TypeError, "as_tuple"),)),
    entry("where cond", lambda x, as_tuple: tg.where(x != 0), _sparse(min_dims=1),
          lambda a, as_tuple: np.nonzero(a), (), grad_order=0,
          bad_inputs=(bad(lambda: tg.where(X > 1, X), TypeError, "both"),)),
    OpInfo("F.one_hot", F.one_hot, _classes(), ref=_np_one_hot, grad_order=0, doc=DOC, dtypes=(np.float64,),
           bad_inputs=(bad(lambda: F.one_hot(tg.Tensor(np.array([0, 3])), 3), TensorIndexError,
                           r"from 0 to 3 are out of range \[0, 2\]"),
                       bad(lambda: F.one_hot(tg.Tensor(np.array([-1, 0])), 3), TensorIndexError, "out of range"),
                       bad(lambda: F.one_hot(X, 3), TypeError, "integer"),
                       bad(lambda: F.one_hot(tg.Tensor(np.array([0])), -2), ValueError, "num_classes"))),
    entry("tril", lambda x, **kw: x.tril(**kw), one(MATRICES, _diagonal_k), lambda a, diagonal: np.tril(a, diagonal),
          (ew.Where,), bad_inputs=(bad(lambda: X[0].tril(), ValueError, "2 dimensions"),
                                   bad(lambda: X.tril(0.5), TypeError, "diagonal"))),
    entry("triu", lambda x, **kw: x.triu(**kw), one(MATRICES, _diagonal_k), lambda a, diagonal: np.triu(a, diagonal),
          (ew.Where,), bad_inputs=(bad(lambda: X[0].triu(), ValueError, "2 dimensions"),)),
    entry("diag vector", lambda x, **kw: x.diag(**kw), one(S.shapes(1, 1, max_side=4), _diagonal_k),
          lambda a, diagonal: np.diag(a, diagonal), (mv.Reshape, mv.IndexAdd),
          bad_inputs=(bad(lambda: X[None].diag(), ValueError, "1-D or 2-D"),)),
    entry("diag matrix", lambda x, **kw: x.diag(**kw), one(S.shapes(2, 2, max_side=4), _diagonal_k),
          lambda a, diagonal: np.diag(a, diagonal), (mv.GetItem, mv.Reshape)),
    entry("diagonal", lambda x, **kw: x.diagonal(**kw), one(MATRICES, _diagonal_args), _np_diagonal,
          (mv.GetItem, mv.Reshape, mv.Permute),
          bad_inputs=(bad(lambda: X.diagonal(0, 1, -1), ValueError, "two different"),
                      bad(lambda: X[0].diagonal(), ValueError, "at least 2"))),
    entry("trace", lambda x: x.trace(), one(S.shapes(2, 2, max_side=4)), np.trace, (red.Sum, mv.GetItem),
          exact=False, bad_inputs=(bad(lambda: X[None].trace(), ValueError, "2-D"),)),
    entry("roll", lambda x, **kw: x.roll(**kw), one(SHAPES, _roll_args), _np_roll, (mv.Concatenate, mv.GetItem),
          bad_inputs=(bad(lambda: X.roll((1, 2), 0), ValueError, "one shift per dim"),
                      bad(lambda: X.roll(1.5, 0), TypeError, "shifts"),
                      bad(lambda: X.roll((1, 2)), ValueError, "pass dims"))),
    entry("roll flattened", lambda x, **kw: x.roll(**kw), one(S.shapes(2, 3, max_side=4), _roll_flat_args),
          _np_roll, (mv.Reshape, mv.Concatenate)),
    entry("flip", lambda x, dims, form: _flip(x, dims, form), one(SHAPES, _flip_args),
          lambda a, dims, form: np.flip(a, dims), (mv.GetItem,),
          bad_inputs=(bad(lambda: X.flip(0, 0), ValueError, "repeats"), bad(lambda: X.flip(), TypeError, "dims"))),
    entry("repeat", lambda x, sizes, varargs: x.repeat(*sizes) if varargs else x.repeat(sizes),
          one(S.shapes(0, 3, max_side=3), _repeat_args), lambda a, sizes, varargs: np.tile(a, sizes),
          (mv.Reshape, mv.Expand),
          bad_inputs=(bad(lambda: X.repeat(2), ValueError, "at least one per dimension"),
                      bad(lambda: X.repeat(2, -1), ValueError, ">= 0"), bad(lambda: X.repeat(2, 1.0), TypeError,
                                                                             "ints"))),
    entry("tile", lambda x, sizes, varargs: x.tile(*sizes) if varargs else x.tile(sizes),
          one(S.shapes(1, 3, max_side=3), _tile_args),
          lambda a, sizes, varargs: np.tile(a, sizes), (mv.Reshape, mv.Expand),
          bad_inputs=(bad(lambda: X.tile(-1), ValueError, ">= 0"),)),
    entry("repeat_interleave", lambda x, **kw: x.repeat_interleave(**kw), one(SHAPES, _interleave_args),
          _np_repeat_interleave, (mv.GetItem,),
          bad_inputs=(bad(lambda: X.repeat_interleave(np.array([1, 2]), dim=0), ValueError, "one count per element"),
                      bad(lambda: X.repeat_interleave(-1), ValueError, ">= 0"),
                      bad(lambda: X.repeat_interleave(2, dim=0, output_size=5), ValueError, "output_size"))),
    entry("split", lambda x, **kw: x.split(**kw), one(SHAPES, _split_args), _np_split, (mv.GetItem,),
          bad_inputs=(bad(lambda: X.split([1, 1], 0), ValueError, "sum to 3"),
                      bad(lambda: X.split(1.5), TypeError, "split_size"))),
    entry("chunk", lambda x, **kw: x.chunk(**kw), one(SHAPES, _chunk_args), _np_chunk, (mv.GetItem,),
          bad_inputs=(bad(lambda: X.chunk(0), ValueError, "chunks"),)),
    entry("unbind", lambda x, **kw: x.unbind(**kw), one(SHAPES, _unbind_args),
          lambda a, dim=None, axis=None: tuple(np.moveaxis(a, _dim_of(a, dim, axis), 0)), (mv.GetItem,)),
    entry("Tensor.unfold", lambda x, **kw: x.unfold(**kw), one(SHAPES, _unfold_args), _np_unfold,
          (mv.SlidingWindows, mv.SlidingWindowsAdd),
          bad_inputs=(bad(lambda: X.unfold(1, 5, 1), ValueError, "larger than dimension 1"),
                      bad(lambda: X.unfold(1, 2, 0), ValueError, "step"))),
    entry("SlidingWindowsAdd", lambda g, **kw: mv.SlidingWindowsAdd.apply(g, **kw), _unfold_add_samples(),
          _np_unfold_add, (mv.SlidingWindowsAdd, mv.SlidingWindows), exact=False),
    entry("meshgrid", _meshgrid, _meshgrid_samples(),
          lambda *arrays, indexing, packed: tuple(np.meshgrid(*arrays, indexing=indexing)),
          (mv.Expand, mv.Reshape),
          bad_inputs=(bad(lambda: tg.meshgrid(X, indexing="ji"), ValueError, "indexing"),
                      bad(lambda: tg.meshgrid(X, X), ValueError, "1-D"))),
    entry("narrow", lambda x, **kw: x.narrow(**kw), one(SHAPES, _narrow_args), _np_narrow, (mv.GetItem,),
          bad_inputs=(bad(lambda: X.narrow(1, 2, 3), ValueError, "exceeds"),
                      bad(lambda: X.narrow(1, 5, 0), ValueError, "start"))),
    entry("movedim", lambda x, **kw: x.movedim(**kw), one(SHAPES, _movedim_args),
          lambda a, source, destination: np.moveaxis(a, source, destination), (mv.Permute,),
          bad_inputs=(bad(lambda: X.movedim((0, 1), 0), ValueError, "same length"),
                      bad(lambda: X.movedim((0, 0), (0, 1)), ValueError, "repeat"))),
    entry("moveaxis", lambda x, **kw: x.moveaxis(**kw), one(SHAPES, _movedim_args),
          lambda a, source, destination: np.moveaxis(a, source, destination), (mv.Permute,)),
    entry("swapaxes", lambda x, a0, a1: x.swapaxes(a0, a1), one(S.shapes(2, 4, max_side=3), _swap_args),
          lambda a, a0, a1: np.swapaxes(a, a0, a1), (mv.Permute,),
          bad_inputs=(bad(lambda: X.swapaxes(0, 2), ValueError, "out of range"),)),
    entry("swapdims", lambda x, a0, a1: x.swapdims(a0, a1), one(S.shapes(2, 4, max_side=3), _swap_args),
          lambda a, a0, a1: np.swapaxes(a, a0, a1), (mv.Permute,)),
    entry("squeeze dims", lambda x, dim: x.squeeze(dim=dim), one(S.shapes(1, 4, max_side=2), _squeeze_dims),
          lambda a, dim: np.squeeze(a, dim), (mv.Reshape,),
          bad_inputs=(bad(lambda: X.squeeze(dim=0, axis=0), TypeError, "both"),)),
    entry("unsqueeze dims", lambda x, dim: x.unsqueeze(dim), one(S.shapes(0, 3, max_side=3), _unsqueeze_dims),
          lambda a, dim: np.expand_dims(a, dim), (mv.Reshape,),
          bad_inputs=(bad(lambda: X.unsqueeze((0, 0)), ValueError, "repeats"),
                      bad(lambda: X.unsqueeze((0, 4)), ValueError, "out of range"))),
]
