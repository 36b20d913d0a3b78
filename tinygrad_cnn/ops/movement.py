"""Primitives that move or select elements: reshape, permute, expand, getitem (and its scatter adjoint), pad,
concatenate. Squeeze, unsqueeze, flatten, transpose and stack are composed from these on the Tensor.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


class Reshape(Function):
    """out = a viewed with a new shape (same size; one axis may be -1).  VJP: g reshaped to a's shape."""

    def forward(ctx, a, shape):
        try:
            return a.reshape(shape)
        except (ValueError, TypeError):
            raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} (size {a.size}) into "
                             f"{tuple(shape) if isinstance(shape, (tuple, list)) else shape}; the sizes must "
                             "match and at most one axis may be -1") from None

    def vjp(ctx, g):
        return g.reshape(ctx.input_shapes[0])


class Permute(Function):
    """out = a with its axes reordered: out.shape[i] = a.shape[axes[i]].  VJP: g permuted by the inverse order."""

    def forward(ctx, a, axes):
        if sorted(int(x) % max(a.ndim, 1) for x in axes) != list(range(a.ndim)) or len(axes) != a.ndim:
            raise ValueError(f"permute: axes {tuple(axes)} are not a permutation of the {a.ndim} axes of a tensor "
                             f"of shape {a.shape}")
        return np.transpose(a, axes)

    def vjp(ctx, g):
        axes = [int(x) % g.ndim for x in ctx.params["axes"]]
        return g.permute(tuple(np.argsort(axes)))


class Expand(Function):
    """out = a broadcast to ``shape`` (a read-only view).  VJP: ub(g, a.shape), the sum over copied axes."""

    def forward(ctx, a, shape):
        shape = tuple(a.shape[i - len(shape) + a.ndim] if s == -1 and i - len(shape) + a.ndim >= 0 else s
                      for i, s in enumerate(shape))
        try:
            return np.broadcast_to(a, shape)
        except ValueError:
            raise ValueError(f"expand: cannot broadcast shape {a.shape} to {shape}; each axis of the input must "
                             "be 1 or equal to the target's trailing axis") from None

    def vjp(ctx, g):
        return unbroadcast(g, ctx.input_shapes[0])


def _is_advanced(index) -> bool:
    """True when the index holds an integer array, whose entries may repeat (a scatter must then add)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) and p.dtype != np.bool_ for p in parts)


def _index_error(a_shape, index, err: Exception) -> IndexError:
    return IndexError(f"getitem: index {index!r} is invalid for a tensor of shape {a_shape}: {err}")


class GetItem(Function):
    """out = a[index] (ints, slices, None, Ellipsis, integer arrays, boolean masks).

    VJP: IndexAdd(g) = zeros of a's shape with g added at ``index`` (repeated entries add up).
    """

    def forward(ctx, a, index):
        try:
            return a[index]
        except IndexError as err:
            raise _index_error(a.shape, index, err) from None

    def vjp(ctx, g):
        return IndexAdd.apply(g, shape=ctx.input_shapes[0], index=ctx.params["index"])


class IndexAdd(Function):
    """out = zeros(shape) with g added at ``index``: the adjoint of getitem.  VJP: g[index] (a GetItem)."""

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
        if isinstance(pad_width, (int, np.integer)):
            pairs = [(int(pad_width), int(pad_width))] * ndim
        else:
            items = list(pad_width)
            if len(items) == 2 and all(isinstance(x, (int, np.integer)) for x in items):
                pairs = [(int(items[0]), int(items[1]))] * ndim
            else:
                pairs = [(int(b), int(e)) for b, e in items]
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

    def forward(ctx, a, pad_width, value=0.0):
        return np.pad(a, pad_width, mode="constant", constant_values=value)

    def vjp(ctx, g):
        pairs = ctx.params["pad_width"]
        return g[tuple(slice(b, n - e) for (b, e), n in zip(pairs, g.shape))]


class Concatenate(Function):
    """out = the inputs joined along ``axis``.  VJP: g cut back into the inputs' pieces along ``axis``."""

    def forward(ctx, *arrays, axis=0):
        first = arrays[0]
        if not -max(first.ndim, 1) <= axis < max(first.ndim, 1) or first.ndim == 0:
            raise ValueError(f"concatenate: axis {axis} is out of range for inputs of shape {first.shape}")
        axis %= first.ndim
        for i, x in enumerate(arrays[1:], 1):
            if x.ndim != first.ndim or any(p != q for j, (p, q) in enumerate(zip(x.shape, first.shape))
                                           if j != axis):
                raise ValueError(f"concatenate: input {i} has shape {x.shape} but input 0 has {first.shape}; all "
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
