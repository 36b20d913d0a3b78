"""Primitives that gather and scatter along one axis: ``Gather`` and its adjoint ``ScatterAdd``, ``Scatter`` (write,
the last write wins) and ``ScatterReduce`` (prod, amax, amin). The other indexing ops (index_select, masked_fill,
take_along_dim, tril, diag, roll, repeat, split, unfold ...) are compositions on the Tensor (methods/indexing.py).

Notation: ``index`` is an integer array with as many axes as ``a``; along ``dim`` it holds positions of ``a`` (or of
the output, for scatters), and on every other axis ``k`` it covers ``index.shape[k] <= a.shape[k]`` leading
positions, as PyTorch's gather/scatter. ``t(i)`` is the flat position an element ``i`` of ``index`` points at.
Callers (the Tensor methods) validate the index and give ``src`` the index's shape.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .elementwise import Where
from .movement import TensorIndexError


def check_index(op: str, index: np.ndarray, dim: int, shape: tuple[int, ...], what: str = "input") -> None:
    """TensorIndexError naming ``op`` unless ``index`` (integer, one axis per axis of ``shape``) fits ``shape``:
    entries in [0, shape[dim]) and ``index.shape[k] <= shape[k]`` on the other axes."""
    if index.dtype.kind not in "iu":
        raise TensorIndexError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != len(shape) and not (index.ndim <= 1 and len(shape) <= 1):
        raise TensorIndexError(f"{op}: index has {index.ndim} dimensions but the {what} has {len(shape)} (shape "
                               f"{shape}); they must have the same number of dimensions")
    n = shape[dim] if shape else 1
    for k, (m, s) in enumerate(zip(index.shape, shape)):
        if k != dim and m > s:
            raise TensorIndexError(f"{op}: index of shape {index.shape} is larger than the {what} of shape {shape} "
                                   f"along dimension {k} (only dimension {dim} may differ)")
    if index.size:
        low, high = int(index.min()), int(index.max())
        if low < 0 or high >= n:
            raise TensorIndexError(f"{op}: index holds values from {low} to {high}, out of range [0, {n - 1}] of "
                                   f"dimension {dim} of the {what} of shape {shape}")


def flat_targets(index: np.ndarray, dim: int, shape: tuple[int, ...]) -> np.ndarray:
    """t(i): the row-major flat position in an array of ``shape`` that each element of ``index`` points at (its own
    coordinates on every axis but ``dim``, where it takes the index's value), with the index's shape."""
    if index.ndim == 0:
        return index.astype(np.intp)
    strides = np.cumprod((1,) + tuple(shape[:0:-1]), dtype=np.intp)[::-1]  # element strides of a C array
    t = index.astype(np.intp) * strides[dim]
    for k in range(index.ndim):
        if k != dim and index.shape[k] > 1:
            t = t + (np.arange(index.shape[k], dtype=np.intp) * strides[k]).reshape(
                (-1,) + (1,) * (index.ndim - 1 - k))
    return np.broadcast_to(t, index.shape)


def _groups(t: np.ndarray):
    """(order, starts, targets): a stable sort of the flat targets, where each run of one target starts, and the
    targets, so that ``ufunc.reduceat(values[order], starts)`` reduces the values sent to each target."""
    order = np.argsort(t, kind="stable")
    ts = t[order]
    starts = np.flatnonzero(np.r_[True, ts[1:] != ts[:-1]]) if ts.size else np.zeros(0, np.intp)
    return order, starts, ts[starts]


class Gather(Function):
    """out[i] = a[t(i)]: along ``dim`` take ``a[..., index[i], ...]`` (PyTorch's gather; also what sort, topk,
    max(dim), median and cummax select their values with). ``unique=True`` promises that no index repeats along
    ``dim``, so the VJP may write instead of add.

    VJP: ScatterAdd(g): zeros of a's shape with g added at t(i) (repeated indices add up).
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, index, dim, unique=False):
        check_index("gather", index, dim, a.shape)
        return a.reshape(-1)[flat_targets(index, dim, a.shape)]

    def vjp(ctx, g):
        p = ctx.params
        return ScatterAdd.apply(g, index=p["index"], dim=p["dim"], shape=ctx.input_shapes[0], unique=p["unique"])


class ScatterAdd(Function):
    """out = zeros(shape) with src[i] added at t(i): the adjoint of Gather.  VJP: Gather(g) with the same index.

    A bincount over the flat targets (np.add.at for integer tensors, which bincount would round through float64);
    with ``unique=True`` (no target repeats, as after a sort or topk) one plain write.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, src, index, dim, shape, unique=False):
        check_index("scatter_add", index, dim, shape, "output")
        if src.shape != index.shape:
            raise ShapeError(f"scatter_add: src has shape {src.shape} but index has {index.shape}; they must match")
        t = flat_targets(index, dim, shape).reshape(-1)
        size = int(np.prod(shape))
        if unique:
            out = np.zeros(size, dtype=src.dtype)
            out[t] = src.reshape(-1)
            return out.reshape(shape)
        if src.dtype.kind == "f":
            return np.bincount(t, weights=src.reshape(-1), minlength=size).astype(src.dtype).reshape(shape)
        out = np.zeros(size, dtype=src.dtype)
        np.add.at(out, t, src.reshape(-1))
        return out.reshape(shape)

    def vjp(ctx, g):
        p = ctx.params
        return Gather.apply(g, index=p["index"], dim=p["dim"], unique=p["unique"])


def last_writes(t: np.ndarray) -> np.ndarray:
    """A boolean mask over the elements of the flat targets ``t``: True for the last element (row-major) sent to
    each target, the one a scatter keeps when indices repeat."""
    order, starts, _ = _groups(t)
    last = np.zeros(t.shape, dtype=bool)
    if t.size:
        ends = np.r_[starts[1:], t.size] - 1
        last[order[ends]] = True
    return last


class Scatter(Function):
    """out = a with out[t(i)] = src[i]; where indices repeat, the last src element (row-major) wins.

    VJP: (g with the written positions zeroed, Gather(g) * [i is the winner of its target]).
    """

    reads_inputs = False  # the VJP reads the masks saved below, not the inputs

    def forward(ctx, a, src, index, dim):
        check_index("scatter", index, dim, a.shape)
        if src.shape != index.shape:
            raise ShapeError(f"scatter: src has shape {src.shape} but index has {index.shape}; they must match")
        t = flat_targets(index, dim, a.shape).reshape(-1)
        wins = last_writes(t)
        out = a.copy().reshape(-1)
        out[t[wins]] = src.reshape(-1)[wins]
        written = np.zeros(a.size, dtype=bool)
        written[t] = True
        ctx.save_for_backward(written.reshape(a.shape), wins.reshape(index.shape))
        return out.reshape(a.shape)

    def vjp(ctx, g):
        written, wins = ctx.saved
        need_a, need_src = ctx.needs_input_grad
        grad_a = g * ctx.constant((~written).astype(g.dtype)) if need_a else None
        grad_src = (Gather.apply(g, index=ctx.params["index"], dim=ctx.params["dim"]) *
                    ctx.constant(wins.astype(g.dtype))) if need_src else None
        return grad_a, grad_src


_UFUNCS = {"prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


class ScatterReduce(Function):
    """out[j] = reduce({a[j] if include_self} + {src[i] : t(i) = j}) for reduce in prod, amax, amin; positions no
    index points at keep a[j].

    VJP (amax/amin): g split evenly among the elements equal to out[j] (PyTorch's tie rule). VJP (prod): the product
    of the other elements, computed without dividing by a zero (see docs/derivations/indexing.md).
    """

    save_output = True

    def forward(ctx, a, src, index, dim, reduce, include_self=True):
        check_index("scatter_reduce", index, dim, a.shape)
        if src.shape != index.shape:
            raise ShapeError(f"scatter_reduce: src has shape {src.shape} but index has {index.shape}; they must "
                             "match")
        ufunc = _UFUNCS[reduce]
        t = flat_targets(index, dim, a.shape).reshape(-1)
        order, starts, targets = _groups(t)
        out = a.copy().reshape(-1)
        if t.size:
            reduced = ufunc.reduceat(src.reshape(-1)[order], starts)
            out[targets] = ufunc(out[targets], reduced) if include_self else reduced
        touched = np.zeros(a.size, dtype=bool)
        touched[targets] = True
        ctx.save_for_backward(t, touched.reshape(a.shape))
        return out.reshape(a.shape)

    def vjp(ctx, g):
        t, touched = ctx.saved
        p = ctx.params
        a, src = ctx.inputs
        out = ctx.output
        index, dim, include_self = p["index"], p["dim"], p["include_self"]
        self_in = np.ones(touched.shape, bool) if include_self else ~touched  # where a takes part in out

        def gather(x):
            return Gather.apply(x, index=index, dim=dim)

        if p["reduce"] == "prod":
            return _prod_vjp(ctx, g, a, src, out, t, self_in, gather)
        out_d = out.data
        self_tie = self_in & (a.data == out_d)
        src_tie = src.data.reshape(-1) == out_d.reshape(-1)[t]
        count = self_tie.reshape(-1) + np.bincount(t, weights=src_tie, minlength=out_d.size)
        share = (1.0 / np.maximum(count, 1)).reshape(out_d.shape).astype(g.dtype)
        grad_a = g * ctx.constant(self_tie * share) if ctx.needs_input_grad[0] else None
        grad_src = (gather(g * ctx.constant(share)) * ctx.constant(src_tie.reshape(src.shape).astype(g.dtype))
                    if ctx.needs_input_grad[1] else None)
        return grad_a, grad_src


def _prod_vjp(ctx, g, a, src, out, t, self_in, gather):
    """The product of the other elements of each group, as PyTorch computes it: a zero factor is replaced by 1 and
    the product recomputed, so nothing is divided by zero and the result stays differentiable."""
    p = ctx.params

    def again(x, s):
        return ScatterReduce.apply(x, s, index=p["index"], dim=p["dim"], reduce="prod", include_self=p["include_self"])

    one = ctx.constant(np.ones((), g.dtype))
    grad_a = grad_src = None
    if ctx.needs_input_grad[0]:
        a_zero = ctx.constant(a.data == 0)
        a_safe = Where.apply(a_zero, one, a)
        grad_a = g * again(a_safe, src) / a_safe * ctx.constant(self_in.astype(g.dtype))
    if ctx.needs_input_grad[1]:
        s_zero = src.data == 0
        zeros_per_target = np.bincount(t, weights=s_zero.reshape(-1), minlength=out.size)
        single = s_zero & (zeros_per_target[t].reshape(src.shape) == 1)
        single_t = ctx.constant(single)
        others = gather(g * again(a, Where.apply(single_t, one, src)))  # the product with the single zero set to 1
        divided = gather(g * out) / Where.apply(ctx.constant(s_zero), one, src)
        grad_src = Where.apply(single_t, others, divided)
    return grad_a, grad_src
