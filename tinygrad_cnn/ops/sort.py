"""Selection by value along one axis: the gather ``TakeAlong`` and its scatter adjoint ``PutAlong``, and the index
kernels (stable sort, first/last extreme) that sort, argsort, topk, kthvalue, median, max(dim)/min(dim) and
cummax/cummin select with.

Every value-selecting op is ``TakeAlong(x, indices)`` with integer indices computed on the array: its gradient goes
to exactly the selected elements (``PutAlong``), whatever the tie rule that chose them; the indices are returned
alongside (not differentiable).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..autograd import Function
from ..errors import ShapeError


class ValuesIndices(NamedTuple):
    """(values, indices), as PyTorch's ``torch.return_types`` of sort, topk, max(dim), median(dim)...: unpack it, or
    read ``.values`` and ``.indices``."""

    values: Any
    indices: Any


def _check_indices(op: str, a_shape: tuple, indices: np.ndarray, axis: int) -> None:
    if indices.ndim != len(a_shape) or any(i != a for d, (i, a) in enumerate(zip(indices.shape, a_shape))
                                           if d != axis):
        raise ShapeError(f"{op}: indices of shape {indices.shape} must match the shape {a_shape} on every axis but "
                         f"axis {axis}")


class TakeAlong(Function):
    """out = np.take_along_axis(a, indices, axis) (indices: a's shape but along ``axis``); ``squeeze=True`` drops
    ``axis`` (indices of size 1 along it: one element per slice, as max(dim) and median(dim) select).

    VJP: PutAlong(g) = zeros of a's shape with g added at ``indices`` along ``axis``.
    """

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, indices, axis, unique=False, squeeze=False):
        _check_indices("take_along", a.shape, indices, axis)
        out = np.take_along_axis(a, indices, axis)
        return np.squeeze(out, axis) if squeeze else out

    def vjp(ctx, g):
        p = ctx.params
        if p["squeeze"]:
            g = g.reshape(p["indices"].shape)
        return PutAlong.apply(g, indices=p["indices"], axis=p["axis"], size=ctx.input_shapes[0][p["axis"]],
                              unique=p["unique"])


class PutAlong(Function):
    """out = zeros (g's shape, ``size`` along ``axis``) with g added at ``indices`` along ``axis``; repeated
    indices add up (``unique=True`` promises none repeat in a slice: a plain write).  VJP: TakeAlong(g)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, indices, axis, size, unique=False):
        if indices.shape != g.shape:
            raise ShapeError(f"put_along: indices of shape {indices.shape} must have the shape {g.shape} of g")
        shape = g.shape[:axis] + (size,) + g.shape[axis + 1:]
        if unique or g.shape[axis] <= 1:
            out = np.zeros(shape, g.dtype)
            np.put_along_axis(out, indices, g, axis)
            return out
        # repeated indices (cummax): one bincount over flat positions, the scatter-add NumPy has no faster way for
        moved_g, moved_i = np.moveaxis(g, axis, -1), np.moveaxis(indices, axis, -1)
        lead = moved_g.shape[:-1]
        rows = np.arange(math.prod(lead), dtype=np.intp).reshape(lead + (1,)) * size
        flat = np.bincount((rows + moved_i).ravel(), weights=moved_g.ravel(), minlength=math.prod(lead) * size)
        return np.moveaxis(flat.astype(g.dtype, copy=False).reshape(lead + (size,)), -1, axis)

    def vjp(ctx, g):
        p = ctx.params
        return TakeAlong.apply(g, indices=p["indices"], axis=p["axis"], unique=p["unique"])


# ---- index kernels (NumPy only) --------------------------------------------------------------------------------
def sort_indices(a: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    """Indices that sort ``a`` along ``axis``, stable: equal elements keep their order (in both directions); NaN
    counts as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = np.argsort(np.flip(a, axis), axis=axis, kind="stable")  # ties: later elements first ...
    return np.flip(n - 1 - flipped, axis)  # ... reversed: largest first, ties in their original order


def extreme_indices(a: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """Index of the first maximum (or minimum) along ``axis``, the axis kept with size 1 (NaN counts as extreme)."""
    index = np.argmax(a, axis=axis) if largest else np.argmin(a, axis=axis)
    return np.expand_dims(index, axis)


def running_extreme_indices(a: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """Index of the running maximum (or minimum) along ``axis``: the LAST position so far holding it (PyTorch's
    cummax/cummin rule on ties); a NaN, once met, stays the running extreme."""
    if a.shape[axis] == 0:
        return np.zeros(a.shape, np.int64)
    running = (np.maximum if largest else np.minimum).accumulate(a, axis=axis)  # NaN propagates, as in PyTorch
    hit = (a == running) | np.isnan(a) if a.dtype.kind == "f" else a == running
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    positions = np.where(hit, np.arange(a.shape[axis], dtype=np.int64).reshape(shape), 0)
    return np.maximum.accumulate(positions, axis=axis)
