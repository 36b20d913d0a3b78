"""Op table: reductions, scans and sorting (tinygrad_cnn/ops/reduce.py, ops/scan.py, ops/sort.py and the methods of
tinygrad_cnn/methods/reductions.py).

Reductions: sum, prod (with zeros), max/min (NumPy's axis= form: values; PyTorch's dim= form: (values, indices)),
amax/amin, mean, var/std (correction / ddof / unbiased), logsumexp, norm (p = 1, 2, 'fro', inf, -inf, other p),
argmax/argmin, any/all, count_nonzero; over dim None / int / negative int / tuple, keepdim both, each drawn in
either spelling (dim/keepdim or axis/keepdims). Scans: cumsum, cumprod (with zeros), logcumsumexp, cummax, cummin.
Sorting: sort, argsort (with ties: stable, both directions), topk, kthvalue, median. Kernels called directly:
LinearScan (both directions) and ScatterAdd with repeated indices (cummax's adjoint).

Samples of the ops whose gradient picks elements (max/min/amax/amin, the sorts and selections, cummax/cummin, the
inf-norms) are pairwise distinct (no ties); the tie rules (shared evenly by amax and max(); routed to the returned
index by max(dim); the latest index by cummax) and the degenerate values (NaN for mean over an empty axis and var
with n - correction <= 0, the zero gradient of std and of the 2-norm at 0) are hand-written in
tests/test_core_reduce.py. prod and cumprod samples hold zeros: their gradient is a polynomial, smooth there.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn._checks import as_axes
from tinygrad_cnn.ops import indexing as ix
from tinygrad_cnn.ops import reduce as red
from tinygrad_cnn.ops import scan as sc
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/reductions.md"
SCAN_DOC = "derivations/scans_and_sorting.md"
X = tg.Tensor(np.arange(6.0).reshape(2, 3))


def _np_axis(a: np.ndarray, axis):
    """NumPy's spelling of ``axis``: a 0-d tensor takes axis 0 / -1 / (0,) as PyTorch does, NumPy only None."""
    return None if a.ndim == 0 else (tuple(axis) if isinstance(axis, list) else axis)


def _count(shape: tuple[int, ...], axis) -> int:
    return math.prod(shape[a] for a in as_axes("count", axis, len(shape)))


def _unspell(kw: dict) -> tuple[object, bool, dict]:
    """(axis, keepdims, the rest) from kwargs in either spelling."""
    kw = dict(kw)
    axis = kw.pop("dim", kw.pop("axis", None))
    keep = kw.pop("keepdim", kw.pop("keepdims", False))
    return axis, keep, kw


@st.composite
def _axis(draw, nd: int, tuples: bool = True):
    """None, an int (negative too) or, when ``tuples``, a tuple of distinct axes in any order and sign."""
    n = max(nd, 1)  # a 0-d tensor takes axis 0 or -1, as in PyTorch
    options = st.none() | st.integers(-n, n - 1)
    if tuples:
        options = options | st.lists(st.integers(-n, n - 1), min_size=1, max_size=n,
                                     unique_by=lambda a: a % n).map(tuple)
    return draw(options)


def _spelled(draw, axis, keep) -> dict:
    """``dim=, keepdim=`` (PyTorch) or ``axis=, keepdims=`` (NumPy), either one drawn."""
    return {"dim": axis, "keepdim": keep} if draw(st.booleans()) else {"axis": axis, "keepdims": keep}


def _with_zeros(draw, values: np.ndarray) -> np.ndarray:
    """Some elements set to exactly 0 (none, one, or several)."""
    mask = draw(st.lists(st.sampled_from([False, False, True]), min_size=values.size, max_size=values.size))
    return np.where(np.array(mask, bool).reshape(values.shape), 0.0, values)


@st.composite
def reduction_samples(draw, distinct: bool = False, correction: bool = False, min_count: int = 1,
                      tuples: bool = True, zeros: bool = False, low: float = -3.0, high: float = 3.0):
    """A float64 array of 0 to 3 axes (sides 1..4), an axis argument in either spelling, keepdims and, with
    ``correction``, a correction (as correction=, ddof=, unbiased= or the default 1) that leaves at least one
    degree of freedom; at least ``min_count`` elements in each reduced slice."""
    shape = draw(S.shapes(min_dims=0, max_dims=3, max_side=4))
    axis = draw(_axis(len(shape), tuples))
    count = _count(shape, axis)
    if count < min_count:  # widen the reduction to every axis, and the tensor to two elements if that is short
        axis = None
        if math.prod(shape) < min_count:
            shape = (*shape[:-1], min_count) if shape else (min_count,)
        count = math.prod(shape)
    kwargs = _spelled(draw, axis, draw(st.booleans()))
    if correction:
        c = draw(st.sampled_from([d for d in (0, 1, 2, 0.5) if count - d > 0]))
        form = draw(st.sampled_from(["correction", "ddof", "unbiased", "default"]))
        if (form in ("unbiased", "default") and c not in (0, 1)) or (form == "default" and c != 1):
            form = "correction"
        kwargs.update({} if form == "default" else {"unbiased": bool(c)} if form == "unbiased" else {form: c})
    values = draw(S.arrays(shape, low, high, distinct=distinct))
    return Sample((_with_zeros(draw, values) if zeros else values,), kwargs)


def reduction(name, op, ref, primitives, samples, examples=(20, 4), doc=DOC, **extra):
    return OpInfo(name, op, samples, ref=ref, primitives=primitives, doc=doc, examples=examples,
                  ref_tol=extra.pop("ref_tol", {"rtol": 1e-12, "atol": 1e-12}), **extra)


def _ref(fn):
    def ref(a, **kw):
        axis, keep, rest = _unspell(kw)
        return fn(a, axis=_np_axis(a, axis), keepdims=keep, **rest)
    return ref


def _var_ref(fn):
    def ref(a, **kw):
        axis, keep, rest = _unspell(kw)
        c = rest.get("correction", rest.get("ddof", float(rest["unbiased"]) if "unbiased" in rest else 1))
        return fn(a, axis=_np_axis(a, axis), keepdims=keep, ddof=c)
    return ref


def _logsumexp_ref(a, axis=None, keepdims=False):
    m = np.max(a, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


@st.composite
def _norm_samples(draw):
    """A p (1, 2, 'fro', inf, -inf, 3 or 1.5), values away from 0 with distinct magnitudes (no ties for inf)."""
    s = draw(reduction_samples())
    p = draw(st.sampled_from([1, 2, "fro", math.inf, -math.inf, 3, 1.5]))
    a = s.inputs[0]
    magnitudes = draw(S.arrays(a.shape, 0.2, 3.0, distinct=True))
    signs = np.where(draw(S.arrays(a.shape, -1.0, 1.0)) < 0, -1.0, 1.0)
    return Sample((magnitudes * signs,), {"p": p, **s.kwargs})


def _norm_ref(a, p, **kw):
    axis, keep, _ = _unspell(kw)
    axis = _np_axis(a, axis)
    m = np.abs(a)
    if p in ("fro", 2):
        return np.sqrt(np.sum(m * m, axis=axis, keepdims=keep))
    if p == math.inf:
        return np.max(m, axis=axis, keepdims=keep)
    if p == -math.inf:
        return np.min(m, axis=axis, keepdims=keep)
    return np.sum(m ** p, axis=axis, keepdims=keep) ** (1 / p)


# ---- one-axis ops: scans, sorting, max(dim) ----------------------------------------------------------------------
@st.composite
def dim_samples(draw, distinct: bool = True, zeros: bool = False, keepdim: bool = False, spell: bool = True,
                min_side: int = 1, low: float = -3.0, high: float = 3.0):
    """A float64 array of 1 to 3 axes, one ``dim`` (either sign, spelled dim= or axis= when ``spell``) and, with
    ``keepdim``, a keepdim in the spelling of the dim."""
    shape = draw(S.shapes(min_dims=1, max_dims=3, min_side=min_side, max_side=4))
    d = draw(st.integers(-len(shape), len(shape) - 1))
    numpy = spell and draw(st.booleans())
    kwargs = {"axis" if numpy else "dim": d}
    if keepdim:
        kwargs["keepdims" if numpy else "keepdim"] = draw(st.booleans())
    values = draw(S.arrays(shape, low, high, distinct=distinct))
    return Sample((_with_zeros(draw, values) if zeros else values,), kwargs)


def _dim(kw: dict) -> int:
    return kw.get("dim", kw.get("axis"))


def _keepdim(kw: dict) -> bool:
    return kw.get("keepdim", kw.get("keepdims", False))


def _selected(a, d, idx, keep):
    values = np.take_along_axis(a, idx, d)
    return (values, idx) if keep else (np.squeeze(values, d), np.squeeze(idx, d))


def _descending_order(a, d):
    return np.argsort(-a, axis=d, kind="stable")  # floats without NaN: negation reverses the order, ties kept


def _max_dim_ref(largest):
    def ref(a, **kw):
        d = _dim(kw)
        idx = np.expand_dims((np.argmax if largest else np.argmin)(a, axis=d), d)
        return _selected(a, d, idx, _keepdim(kw))
    return ref


def _running_ref(largest):
    def ref(a, **kw):
        d = _dim(kw)
        moved = np.moveaxis(a, d, -1)
        values, idx = np.empty_like(moved), np.zeros(moved.shape, np.int64)
        for i in range(moved.shape[-1]):  # a loop over the scanned axis: the reference shares nothing
            if i == 0:
                values[..., 0], idx[..., 0] = moved[..., 0], 0
                continue
            take = moved[..., i] >= values[..., i - 1] if largest else moved[..., i] <= values[..., i - 1]
            values[..., i] = np.where(take, moved[..., i], values[..., i - 1])
            idx[..., i] = np.where(take, i, idx[..., i - 1])
        return np.moveaxis(values, -1, d), np.moveaxis(idx, -1, d)
    return ref


def _logcumsumexp_ref(a, **kw):
    d = _dim(kw)
    m = np.max(a, axis=d, keepdims=True)
    return np.log(np.cumsum(np.exp(a - m), axis=d)) + m


def _sort_ref(a, descending=False, **kw):
    d = _dim(kw)
    order = _descending_order(a, d) if descending else np.argsort(a, axis=d, kind="stable")
    return np.take_along_axis(a, order, d), order


@st.composite
def _sort_samples(draw):
    s = draw(dim_samples())
    return Sample(s.inputs, {**s.kwargs, "descending": draw(st.booleans())})


@st.composite
def _argsort_samples(draw):
    """Values with ties (integers in a small range), to test stability in both directions."""
    s = draw(dim_samples(distinct=False))
    ties = np.round(s.inputs[0])
    return Sample((ties,), {**s.kwargs, "descending": draw(st.booleans())})


def _argsort_ref(a, descending=False, **kw):
    return _sort_ref(a, descending, **kw)[1]


@st.composite
def _topk_samples(draw):
    s = draw(dim_samples(spell=False))
    n = s.inputs[0].shape[s.kwargs["dim"]]
    return Sample(s.inputs, {"k": draw(st.integers(0, n)), **s.kwargs, "largest": draw(st.booleans()),
                             "sorted": True})


def _topk_ref(a, k, dim, largest=True, sorted=True):
    order = _descending_order(a, dim) if largest else np.argsort(a, axis=dim, kind="stable")
    order = np.take(order, np.arange(k), axis=dim)
    return np.take_along_axis(a, order, dim), order


@st.composite
def _kthvalue_samples(draw):
    s = draw(dim_samples(keepdim=True))
    n = s.inputs[0].shape[_dim(s.kwargs)]
    return Sample(s.inputs, {"k": draw(st.integers(1, n)), **s.kwargs})


def _kthvalue_ref(a, k, **kw):
    d = _dim(kw)
    idx = np.take(np.argsort(a, axis=d, kind="stable"), [k - 1], axis=d)
    return _selected(a, d, idx, _keepdim(kw))


def _median_dim_ref(a, **kw):
    d = _dim(kw)
    n = a.shape[d]
    idx = np.take(np.argsort(a, axis=d, kind="stable"), [(n - 1) // 2], axis=d)
    return _selected(a, d, idx, _keepdim(kw))


@st.composite
def _linear_scan_samples(draw):
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=5))
    axis = draw(st.integers(0, len(shape) - 1))
    a, b = draw(S.arrays(shape, -1.5, 1.5)), draw(S.arrays(shape))
    return Sample((_with_zeros(draw, a), b), {"axis": axis, "reverse": draw(st.booleans())})


def _linear_scan_ref(a, b, axis, reverse=False):
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    if reverse:
        a, b = a[..., ::-1], b[..., ::-1]
    h, out = np.zeros(a.shape[:-1]), np.empty_like(b)
    for k in range(a.shape[-1]):  # the recurrence itself, one step at a time
        h = a[..., k] * h + b[..., k]
        out[..., k] = h
    return np.moveaxis(out[..., ::-1] if reverse else out, -1, axis)


@st.composite
def _put_along_samples(draw):
    """g, integer indices with repeats along one axis, and the shape of the result (another size along that axis)."""
    shape = draw(S.shapes(min_dims=1, max_dims=3, max_side=4))
    axis = draw(st.integers(0, len(shape) - 1))
    size = draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**32 - 1))
    indices = np.random.default_rng(seed).integers(0, size, shape)
    out_shape = shape[:axis] + (size,) + shape[axis + 1:]
    return Sample((draw(S.arrays(shape)),), {"index": indices, "dim": axis, "shape": out_shape})


def _put_along_ref(g, index, dim, shape):
    out = np.zeros(shape)
    for pos in np.ndindex(g.shape):  # every element of g, added where its index points
        target = list(pos)
        target[dim] = index[pos]
        out[tuple(target)] += g[pos]
    return out


def _truth_samples():
    @st.composite
    def build(draw):
        s = draw(reduction_samples())
        return Sample((_with_zeros(draw, s.inputs[0]),), s.kwargs, requires_grad=(False,))
    return build()


@st.composite
def _count_nonzero_samples(draw):
    s = draw(_truth_samples())
    axis, _, _ = _unspell(s.kwargs)
    return Sample(s.inputs, {"dim" if "dim" in s.kwargs else "axis": axis}, requires_grad=(False,))


def _count_nonzero_ref(a, **kw):
    axis = kw.get("dim", kw.get("axis"))
    return np.asarray(np.count_nonzero(a, axis=_np_axis(a, axis)), dtype=np.int64)


def bad(call, error, match):
    return BadInput(call, error, match)


ENTRIES = [
    reduction("sum", lambda x, **kw: x.sum(**kw), _ref(np.sum), (red.Sum,), reduction_samples(),
              bad_inputs=(bad(lambda: X.sum(dim=0, axis=0), TypeError, "two spellings"),
                          bad(lambda: X.sum(axis=2), ValueError, "out of range"),
                          bad(lambda: X.sum(keepdim=1), TypeError, "keepdim"))),
    reduction("prod", lambda x, **kw: x.prod(**kw), _ref(np.prod), (red.Prod,),
              reduction_samples(zeros=True, low=-2.0, high=2.0), examples=(25, 8)),
    reduction("max", lambda x, **kw: x.max(**kw), _ref(np.max), (red.Max,),
              reduction_samples(distinct=True).map(lambda s: Sample(s.inputs, {
                  {"dim": "axis", "keepdim": "keepdims"}.get(k, k): v for k, v in s.kwargs.items()})),
              bad_inputs=(bad(lambda: X.max(dim=(0, 1)), TypeError, "amax"),
                          bad(lambda: tg.Tensor(np.ones((2, 0))).max(axis=1), ValueError, "empty axis"))),
    reduction("min", lambda x, **kw: x.min(**kw), _ref(np.min), (red.Min,),
              reduction_samples(distinct=True).map(lambda s: Sample(s.inputs, {
                  {"dim": "axis", "keepdim": "keepdims"}.get(k, k): v for k, v in s.kwargs.items()}))),
    reduction("max dim", lambda x, **kw: x.max(**kw), _max_dim_ref(True), (),
              dim_samples(keepdim=True, spell=False),
              bad_inputs=(bad(lambda: tg.Tensor(np.ones((2, 0))).max(dim=1), ValueError, "empty axis"),
                          bad(lambda: X.max(dim=2), ValueError, "out of range"))),
    reduction("min dim", lambda x, **kw: x.min(**kw), _max_dim_ref(False), (),
              dim_samples(keepdim=True, spell=False)),
    reduction("amax", lambda x, **kw: x.amax(**kw), _ref(np.max), (red.Max,), reduction_samples(distinct=True),
              bad_inputs=(bad(lambda: tg.Tensor(np.ones((2, 0))).amax(dim=1), ValueError, "empty axis"),
                          bad(lambda: X.amax(dim=(0, 0)), ValueError, "repeats"))),
    reduction("amin", lambda x, **kw: x.amin(**kw), _ref(np.min), (red.Min,), reduction_samples(distinct=True)),
    reduction("mean", lambda x, **kw: x.mean(**kw), _ref(np.mean), (), reduction_samples(),
              bad_inputs=(bad(lambda: X.mean(dim=1.5), TypeError, "axis"),)),
    reduction("var", lambda x, **kw: x.var(**kw), _var_ref(np.var), (), reduction_samples(correction=True),
              bad_inputs=(bad(lambda: X.var(unbiased=True, correction=1), TypeError, "unbiased"),
                          bad(lambda: X.var(correction=1, ddof=1), TypeError, "two spellings"),
                          bad(lambda: X.var(correction="a"), TypeError, "correction"),
                          bad(lambda: X.var(unbiased=1), TypeError, "unbiased"))),
    reduction("std", lambda x, **kw: x.std(**kw), _var_ref(np.std), (red.SafeSqrt,),
              reduction_samples(distinct=True, correction=True, min_count=2)),
    reduction("logsumexp", lambda x, **kw: x.logsumexp(**kw), _ref(_logsumexp_ref), (),
              reduction_samples(low=-5.0, high=5.0)),
    reduction("norm", lambda x, **kw: x.norm(**kw), _norm_ref, (), _norm_samples(), ref_tol={"rtol": 1e-11},
              bad_inputs=(bad(lambda: X.norm("nuc"), ValueError, "fro"),
                          bad(lambda: X.norm(None), TypeError, "real number"),
                          bad(lambda: X.norm(math.nan), ValueError, "nan"))),
    reduction("argmax", lambda x, **kw: x.argmax(**kw), _ref(np.argmax), (),
              reduction_samples(distinct=True, tuples=False), grad_order=0,
              bad_inputs=(bad(lambda: X.argmax(dim=(0, 1)), TypeError, "int"),)),
    reduction("argmin", lambda x, **kw: x.argmin(**kw), _ref(np.argmin), (),
              reduction_samples(distinct=True, tuples=False), grad_order=0),
    reduction("any", lambda x, **kw: x.any(**kw), _ref(np.any), (), _truth_samples(), grad_order=0,
              dtypes=(np.float64,)),
    reduction("all", lambda x, **kw: x.all(**kw), _ref(np.all), (), _truth_samples(), grad_order=0,
              dtypes=(np.float64,)),
    reduction("count_nonzero", lambda x, **kw: x.count_nonzero(**kw), _count_nonzero_ref, (),
              _count_nonzero_samples(), grad_order=0, dtypes=(np.float64,)),
    # ---- scans ----
    reduction("cumsum", lambda x, **kw: x.cumsum(**kw), lambda a, **kw: np.cumsum(a, axis=_dim(kw)), (sc.Cumsum,),
              dim_samples(distinct=False), doc=SCAN_DOC,
              bad_inputs=(bad(lambda: X.cumsum(dim=2), ValueError, "out of range"),
                          bad(lambda: X.cumsum(dim=(0,)), TypeError, "int"))),
    reduction("cumprod", lambda x, **kw: x.cumprod(**kw), lambda a, **kw: np.cumprod(a, axis=_dim(kw)),
              (sc.Cumprod,), dim_samples(distinct=False, zeros=True, low=-2.0, high=2.0), doc=SCAN_DOC,
              examples=(25, 8)),
    reduction("logcumsumexp", lambda x, **kw: x.logcumsumexp(**kw), _logcumsumexp_ref, (sc.LogCumsumExp,),
              dim_samples(distinct=False, low=-5.0, high=5.0), doc=SCAN_DOC),
    reduction("cummax", lambda x, **kw: x.cummax(**kw), _running_ref(True), (ix.Gather,), dim_samples(),
              doc=SCAN_DOC, bad_inputs=(bad(lambda: X.cummax(), TypeError, "missing dim"),)),
    reduction("cummin", lambda x, **kw: x.cummin(**kw), _running_ref(False), (ix.Gather,), dim_samples(),
              doc=SCAN_DOC),
    reduction("LinearScan", lambda a, b, **kw: sc.LinearScan.apply(a, b, **kw), _linear_scan_ref, (sc.LinearScan,),
              _linear_scan_samples(), doc=SCAN_DOC),
    # ---- sorting and selection ----
    reduction("sort", lambda x, **kw: x.sort(**kw), _sort_ref, (ix.Gather,), _sort_samples(), doc=SCAN_DOC,
              bad_inputs=(bad(lambda: X.sort(descending=1), TypeError, "descending"),
                          bad(lambda: X.sort(dim=-3), ValueError, "out of range"))),
    reduction("argsort", lambda x, **kw: x.argsort(**kw), _argsort_ref, (), _argsort_samples(), doc=SCAN_DOC,
              grad_order=0),
    reduction("topk", lambda x, **kw: x.topk(**kw), _topk_ref, (ix.Gather,), _topk_samples(), doc=SCAN_DOC,
              bad_inputs=(bad(lambda: X.topk(4), ValueError, "k must be"),
                          bad(lambda: X.topk(1.0), TypeError, "k must be an int"),
                          bad(lambda: X.topk(1, largest=None), TypeError, "largest"))),
    reduction("kthvalue", lambda x, **kw: x.kthvalue(**kw), _kthvalue_ref, (), _kthvalue_samples(),
              doc=SCAN_DOC, bad_inputs=(bad(lambda: X.kthvalue(0), ValueError, "k must be"),)),
    reduction("median", lambda x: x.median(), lambda a: np.sort(a, axis=None)[(a.size - 1) // 2], (),
              S.samples(S.arrays(S.shapes(min_dims=1, max_dims=3, max_side=4), distinct=True)), doc=SCAN_DOC),
    reduction("median dim", lambda x, **kw: x.median(**kw), _median_dim_ref, (),
              dim_samples(keepdim=True), doc=SCAN_DOC,
              bad_inputs=(bad(lambda: tg.Tensor(np.ones((2, 0))).median(dim=1), ValueError, "empty axis"),)),
    reduction("ScatterAdd repeated indices", lambda g, **kw: ix.ScatterAdd.apply(g, **kw), _put_along_ref,
              (ix.ScatterAdd,), _put_along_samples(), doc=SCAN_DOC),
]
