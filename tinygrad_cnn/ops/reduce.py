"""Reductions over ``axis`` (None, an int or a tuple) with ``keepdims``, NumPy's conventions.

``mean`` and ``var`` (and ``std``) are composed from ``Sum`` below; ``argmax``/``argmin`` are not differentiable.
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_axes, as_axis, as_bool, as_real
from ..autograd import Function
from ..tensor_core import TensorCore as Tensor  # for annotations


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class Sum(Function):
    """out = sum of a over axes.  VJP: g (with the reduced axes kept as 1) broadcast back to a's shape."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, axis=None, keepdims=False):
        keepdims = as_bool("sum", "keepdims", keepdims)
        ctx.save_for_backward(as_axes("sum", axis, a.ndim))
        return np.sum(a, axis=ctx.saved[0], keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        shape = ctx.input_shapes[0]
        return g.reshape(_kept_shape(shape, axes)).expand(shape)


def first_extreme_mask(a: np.ndarray, axes: tuple[int, ...], largest: bool) -> np.ndarray:
    """One-hot mask of the first maximum (or minimum) over ``axes`` in row-major order of those axes."""
    k = len(axes)
    moved = np.moveaxis(a, axes, tuple(range(a.ndim - k, a.ndim)))
    flat = moved.reshape(moved.shape[: a.ndim - k] + (math.prod(moved.shape[a.ndim - k:]),))  # no -1: a may be empty
    index = np.argmax(flat, axis=-1) if largest else np.argmin(flat, axis=-1)
    onehot = np.arange(flat.shape[-1]) == index[..., None]
    return np.moveaxis(onehot.reshape(moved.shape), tuple(range(a.ndim - k, a.ndim)), axes)


class _Extreme(Function):
    largest = True

    def forward(ctx, a, axis=None, keepdims=False):
        op = "max" if ctx.largest else "min"
        axes = as_axes(op, axis, a.ndim)
        keepdims = as_bool(op, "keepdims", keepdims)
        if any(a.shape[i] == 0 for i in axes):
            raise ValueError(f"{op}: cannot reduce over an empty axis (shape {a.shape}, axis {axis!r})")
        ctx.save_for_backward(axes)
        return (np.max if ctx.largest else np.min)(a, axis=axes, keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        a = ctx.inputs[0].data
        mask = first_extreme_mask(a, axes, ctx.largest).astype(a.dtype, copy=False)
        return g.reshape(_kept_shape(a.shape, axes)).expand(a.shape) * ctx.constant(mask)


class Max(_Extreme):
    """out = max of a over axes.  VJP: g to the first maximum of each reduced slice (row-major), 0 elsewhere."""

    largest = True


class Min(_Extreme):
    """out = min of a over axes.  VJP: g to the first minimum of each reduced slice (row-major), 0 elsewhere."""

    largest = False


def mean(x: Tensor, axis=None, keepdims=False) -> Tensor:
    """Sum over ``axis`` divided by the number of summed elements."""
    count = math.prod(x.shape[a] for a in as_axes("mean", axis, x.ndim))
    keepdims = as_bool("mean", "keepdims", keepdims)
    if count == 0:
        raise ValueError(f"mean: cannot average over an empty axis (shape {x.shape}, axis {axis!r})")
    return x.sum(axis=axis, keepdims=keepdims) / count


def variance(x: Tensor, axis=None, keepdims=False, ddof=0, op: str = "var") -> Tensor:
    """sum((x - mean)^2) / (n - ddof) over ``axis``; ``op`` ("var" or "std") names the caller in errors."""
    n = math.prod(x.shape[a] for a in as_axes(op, axis, x.ndim))
    keepdims = as_bool(op, "keepdims", keepdims)
    if n == 0 or n - as_real(op, "ddof", ddof, finite=True) <= 0:
        raise ValueError(f"{op}: {n} elements with ddof={ddof} leave no degrees of freedom; lower ddof or reduce "
                         "over more elements")
    centred = x - x.mean(axis=axis, keepdims=True)
    return (centred * centred).sum(axis=axis, keepdims=keepdims) / (n - ddof)


def arg_extreme(x: Tensor, axis=None, keepdims=False, largest=True) -> Tensor:
    """Index of the first maximum (or minimum) over ``axis`` (None: of the flattened tensor), as an int64 tensor."""
    op = "argmax" if largest else "argmin"
    keepdims = as_bool(op, "keepdims", keepdims)
    if axis is not None:
        axis = as_axis(op, axis, x.ndim)
    if (x.size if axis is None or x.ndim == 0 else x.shape[axis]) == 0:
        raise ValueError(f"{op}: cannot take the {op} of an empty {'tensor' if axis is None else 'axis'} (shape "
                         f"{x.shape}, axis {axis!r})")
    if x.ndim == 0:
        axis = None
    return x._make((np.argmax if largest else np.argmin)(x.data, axis=axis, keepdims=keepdims), None)
