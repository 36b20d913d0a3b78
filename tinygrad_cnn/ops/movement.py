"""Primitives that move or select elements: reshape, permute, expand, getitem (and its scatter adjoint), pad,
concatenate. Squeeze, unsqueeze, flatten, transpose and stack are composed from these on the Tensor.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_axis, as_int, is_int
from ..autograd import Function
from ..errors import ShapeError, TensorIndexError
from ..tensor_core import TensorCore
from .elementwise import unbroadcast


def normalize_index(index, op: str = "getitem"):
    """Tensors and lists in an index become arrays, so NumPy reads them as advanced indices; TensorIndexError for
    a ragged list or a float index array."""
    def one(i):
        if isinstance(i, TensorCore):
            i = i.data
        elif isinstance(i, list):
            try:
                i = np.asarray(i)
            except (ValueError, TypeError):
                raise TensorIndexError(f"{op}: the list {i!r} is not a valid index (ragged or mixed)") from None
        if isinstance(i, np.ndarray) and i.dtype.kind not in "biu":
            raise TensorIndexError(f"{op}: index arrays must be integer or boolean, got {i.dtype}")
        return i
    return tuple(one(i) for i in index) if isinstance(index, tuple) else one(index)


class Reshape(Function):
    """out = a viewed with a new shape (same size; one axis may be -1).  VJP: g reshaped to a's shape."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, shape):
        try:
            if min(shape, default=0) >= -1:  # NumPy reads any negative size as -1; only -1 may infer a size
                return a.reshape(shape)
        except (ValueError, TypeError, OverflowError):
            pass
        raise ShapeError(f"reshape: cannot reshape a tensor of shape {a.shape} (size {a.size}) into "
                             f"{tuple(shape) if isinstance(shape, (tuple, list)) else shape}; the sizes must "
                             "match, sizes must be ints >= 0, and at most one may be -1 (inferred)")

    def vjp(ctx, g):
        return g.reshape(ctx.input_shapes[0])


class Permute(Function):
    """out = a with its axes reordered: out.shape[i] = a.shape[axes[i]].  VJP: g permuted by the inverse order."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, axes):
        n = a.ndim
        if len(axes) != n or sorted(int(x) % n if is_int(x) and -n <= x < n else -1 for x in axes) != list(range(n)):
            raise ShapeError(f"permute: axes {tuple(axes)} are not a permutation of the {a.ndim} axes of a tensor "
                             f"of shape {a.shape}")
        return np.transpose(a, axes)

    def vjp(ctx, g):
        axes = [int(x) % g.ndim for x in ctx.params["axes"]]
        return g.permute(tuple(np.argsort(axes)))


class Expand(Function):
    """out = a broadcast to ``shape`` (a read-only view).  VJP: ub(g, a.shape), the sum over copied axes."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, shape):
        try:
            shape = tuple(a.shape[i - len(shape) + a.ndim] if is_int(s) and s == -1 and i - len(shape) + a.ndim >= 0
                          else s for i, s in enumerate(shape))
            if all(is_int(s) for s in shape):
                return np.broadcast_to(a, shape)
        except (ValueError, TypeError, OverflowError):
            pass
        raise ShapeError(f"expand: cannot broadcast shape {a.shape} to {shape}; the target must be ints, and each "
                         "axis of the input must be 1 or equal to the target's trailing axis")

    def vjp(ctx, g):
        return unbroadcast(g, ctx.input_shapes[0])


def _is_advanced(index) -> bool:
    """True when the index holds an integer array, whose entries may repeat (a scatter must then add)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype != np.bool_ for p in parts)


def _index_error(a_shape, index, err: Exception) -> TensorIndexError:
    return TensorIndexError(f"getitem: index {index!r} is invalid for a tensor of shape {a_shape}: {err}")


class GetItem(Function):
    """out = a[index] (ints, slices, None, Ellipsis, integer arrays, boolean masks).

    VJP: IndexAdd(g) = zeros of a's shape with g added at ``index`` (repeated entries add up).
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, index):
        try:
            return a[index]
        except (IndexError, TypeError, ValueError, OverflowError) as err:
            raise _index_error(a.shape, index, err) from None

    def vjp(ctx, g):
        return IndexAdd.apply(g, shape=ctx.input_shapes[0], index=ctx.params["index"])


class IndexAdd(Function):
    """out = zeros(shape) with g added at ``index``: the adjoint of getitem.  VJP: g[index] (a GetItem)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, shape, index):
        out = np.zeros(shape, dtype=g.dtype)
        if _is_advanced(index):
            np.add.at(out, index, g)
        else:
            out[index] = g
        return out

    def vjp(ctx, g):
        return GetItem.apply(g, index=ctx.params["index"])


def normalize_pad(op: str, pad_width, ndim: int) -> tuple[tuple[int, int], ...]:
    """NumPy's pad_width (an int, a (before, after) pair, or one pair per axis) as one pair per axis."""
    try:
        if is_int(pad_width):
            pairs = [(int(pad_width), int(pad_width))] * ndim
        else:
            items = list(pad_width)
            if len(items) == 2 and all(is_int(x) for x in items):
                pairs = [(int(items[0]), int(items[1]))] * ndim
            else:
                pairs = [(as_int(op, "pad width", b), as_int(op, "pad width", e)) for b, e in items]
    except (TypeError, ValueError):
        raise ValueError(f"{op}: pad_width {pad_width!r} is not an int, a (before, after) pair or one pair per "
                         "axis") from None
    if len(pairs) != ndim:
        raise ValueError(f"{op}: pad_width gives {len(pairs)} pairs for a tensor with {ndim} axes; give one pair "
                         "per axis")
    if any(b < 0 or e < 0 for b, e in pairs):
        raise ValueError(f"{op}: pad widths must be >= 0, got {pairs}; use slicing to crop")
    return tuple(pairs)


class Pad(Function):
    """out = a surrounded by ``value``: pad_width is one (before, after) pair per axis.  VJP: the interior of g."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, pad_width, value=0.0):
        try:
            return np.pad(a, pad_width, mode="constant", constant_values=value)
        except (ValueError, TypeError, OverflowError, MemoryError) as err:  # too large, or a value the dtype lacks
            raise ShapeError(f"pad: cannot pad a {a.dtype} tensor of shape {a.shape} by {pad_width} with value "
                             f"{value!r}: {err}") from None

    def vjp(ctx, g):
        pairs = ctx.params["pad_width"]
        return g[tuple(slice(b, n - e) for (b, e), n in zip(pairs, g.shape))]


class Concatenate(Function):
    """out = the inputs joined along ``axis``.  VJP: g cut back into the inputs' pieces along ``axis``."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, *arrays, axis=0):
        first = arrays[0]
        axis = as_axis("concatenate", axis, first.ndim)
        if first.ndim == 0:
            raise ShapeError(f"concatenate: inputs of shape {first.shape} have no axis to join; use stack")
        for i, x in enumerate(arrays[1:], 1):
            if x.ndim != first.ndim or any(p != q for j, (p, q) in enumerate(zip(x.shape, first.shape))
                                           if j != axis):
                raise ShapeError(f"concatenate: input {i} has shape {x.shape} but input 0 has {first.shape}; all "
                                 f"axes except axis {axis} must match")
        return np.concatenate(arrays, axis=axis)

    def vjp(ctx, g):
        axis = ctx.params["axis"] % g.ndim
        grads, start = [], 0
        for shape, need in zip(ctx.input_shapes, ctx.needs_input_grad):
            stop = start + shape[axis]
            grads.append(g[(slice(None),) * axis + (slice(start, stop),)] if need else None)
            start = stop
        return tuple(grads)


class SlidingWindows(Function):
    """out = the windows a[..., w*step : w*step + size, ...] along ``dim``: that axis becomes the window count
    (n - size) // step + 1 and a last axis of ``size`` is added (a strided view, PyTorch's Tensor.unfold).

    VJP: SlidingWindowsAdd(g): each window's gradient added back at its positions (overlapping windows add up).
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, dim, size, step):
        if not (0 <= dim < a.ndim and 0 <= size <= a.shape[dim] and step >= 1):
            raise ShapeError(f"unfold: cannot take windows of size {size} and step {step} along dimension {dim} of "
                             f"shape {a.shape}")
        windows = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim)
        return windows[(slice(None),) * dim + (slice(None, None, step),)]

    def vjp(ctx, g):
        p = ctx.params
        return SlidingWindowsAdd.apply(g, shape=ctx.input_shapes[0], dim=p["dim"], size=p["size"], step=p["step"])


class SlidingWindowsAdd(Function):
    """out = zeros(shape) with window w of g (its last axis, offset k) added at position w*step + k along ``dim``:
    the adjoint of SlidingWindows, ``size`` strided adds (one per offset in the window).  VJP: SlidingWindows(g)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, shape, dim, size, step):
        out = np.zeros(shape, dtype=g.dtype)
        count = g.shape[dim] if g.ndim > dim else 0
        for k in range(size):
            target = out[(slice(None),) * dim + (slice(k, k + (count - 1) * step + 1, step),)] if count else None
            if target is not None:
                target += g[..., k]
        return out

    def vjp(ctx, g):
        p = ctx.params
        return SlidingWindows.apply(g, dim=p["dim"], size=p["size"], step=p["step"])
