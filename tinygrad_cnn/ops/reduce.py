"""Reductions over ``axis`` (None, an int or a tuple) with ``keepdims``, NumPy's conventions.

``mean`` and ``var`` are composed from ``Sum`` on the Tensor.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..tensor import Tensor


def normalize_axes(op: str, axis: int | tuple[int, ...] | None, ndim: int) -> tuple[int, ...]:
    """``axis`` as a sorted tuple of non-negative axes; ValueError naming the op when one is out of range."""
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (int, np.integer, tuple, list)):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
        if not -ndim <= a < max(ndim, 1) or (ndim == 0 and a not in (0, -1)):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """out = sum of a over axes.  VJP: g (with the reduced axes kept as 1) broadcast back to a's shape."""

    def forward(ctx, a, axis=None, keepdims=False):
        ctx.save_for_backward(normalize_axes("sum", axis, a.ndim))
        return np.sum(a, axis=ctx.saved[0], keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        shape = ctx.input_shapes[0]
        return g.reshape(_kept_shape(shape, axes)).expand(shape)


def first_extreme_mask(a: np.ndarray, axes: tuple[int, ...], largest: bool) -> np.ndarray:
    """One-hot mask of the first maximum (or minimum) over ``axes`` in row-major order of those axes."""
    k = len(axes)
    moved = np.moveaxis(a, axes, tuple(range(a.ndim - k, a.ndim)))
    flat = moved.reshape(moved.shape[: a.ndim - k] + (-1,))
    index = np.argmax(flat, axis=-1) if largest else np.argmin(flat, axis=-1)
    onehot = np.arange(flat.shape[-1]) == index[..., None]
    return np.moveaxis(onehot.reshape(moved.shape), tuple(range(a.ndim - k, a.ndim)), axes)


class _Extreme(Function):
    largest = True

    def forward(ctx, a, axis=None, keepdims=False):
        op = "max" if ctx.largest else "min"
        axes = normalize_axes(op, axis, a.ndim)
        if any(a.shape[i] == 0 for i in axes):
            raise ValueError(f"{op}: cannot reduce over an empty axis (shape {a.shape}, axis {axis!r})")
        ctx.save_for_backward(axes)
        return (np.max if ctx.largest else np.min)(a, axis=axes, keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        a = ctx.inputs[0].data
        mask = first_extreme_mask(a, axes, ctx.largest).astype(a.dtype, copy=False)
        return g.reshape(_kept_shape(a.shape, axes)).expand(a.shape) * Tensor(mask)


class Max(_Extreme):
    """out = max of a over axes.  VJP: g to the first maximum of each reduced slice (row-major), 0 elsewhere."""

    largest = True


class Min(_Extreme):
    """out = min of a over axes.  VJP: g to the first minimum of each reduced slice (row-major), 0 elsewhere."""

    largest = False
