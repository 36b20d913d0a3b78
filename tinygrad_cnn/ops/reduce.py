"""Reductions over axes (a sorted tuple of non-negative axes, as ``_checks.as_axes`` gives) with ``keepdims``.

Primitives: ``Sum``, ``Prod`` (exact with zeros), ``Max``/``Min`` (amax/amin: tied extremes share the gradient
evenly, PyTorch's rule) and ``SafeSqrt`` (the square root of std and of the 2-norm, whose gradient is 0 at 0 as in
PyTorch). Composites: ``mean``, ``variance`` (PyTorch's ``correction``), ``logsumexp`` (shifted by the max),
``norm``. ``arg_extreme``, ``any``/``all`` and ``count_nonzero`` are not differentiable.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from .._checks import as_axes, as_axis, as_bool
from ..autograd import Function
from ..errors import ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations
from . import elementwise as _ew
from . import scan as _scan
from .kernels.sums import accurate_sum


def _kept_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def _spread(g: Tensor, shape: tuple[int, ...], axes: tuple[int, ...]) -> Tensor:
    """The gradient of a reduction's output broadcast back over the reduced axes."""
    return g.reshape(_kept_shape(shape, axes)).expand(shape)


class Sum(Function):
    """out = sum of a over axes (float32: as accurate as a pairwise sum along any axis, ``accurate_sum``).
    VJP: g (with the reduced axes kept as 1) broadcast back to a's shape."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, axis=None, keepdims=False):
        keepdims = as_bool("sum", "keepdims", keepdims)
        ctx.save_for_backward(as_axes("sum", axis, a.ndim))
        return accurate_sum(a, axis=ctx.saved[0], keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        return _spread(g, ctx.input_shapes[0], axes)


def product_of_others(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """For each element, the product of the OTHER elements of its slice over ``axes``, without division: the
    reduced axes are moved last and flattened, and the product is the exclusive cumulative product from the left
    times the one from the right (both ``Cumprod``, so this is differentiable again)."""
    kept = [i for i in range(x.ndim) if i not in axes]
    order = tuple(kept + list(axes))
    moved = x if order == tuple(range(x.ndim)) else x.permute(order)
    n = math.prod(x.shape[a] for a in axes)
    flat = moved.reshape(moved.shape[:len(kept)] + (n,))
    last = flat.ndim - 1
    left = _scan.shift(_scan.Cumprod.apply(flat, axis=last, reverse=False), last, toward_end=True, fill=1.0)
    right = _scan.shift(_scan.Cumprod.apply(flat, axis=last, reverse=True), last, toward_end=False, fill=1.0)
    others = (left * right).reshape(moved.shape)
    return others if order == tuple(range(x.ndim)) else others.permute(tuple(np.argsort(order)))


class Prod(Function):
    """out = product of a over axes.  VJP: g times the product of the other elements of each slice (exclusive
    cumulative products from both ends: no division, so one or several zeros are exact)."""

    def forward(ctx, a, axis=None, keepdims=False):
        keepdims = as_bool("prod", "keepdims", keepdims)
        ctx.save_for_backward(as_axes("prod", axis, a.ndim))
        return np.prod(a, axis=ctx.saved[0], keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        x = ctx.inputs[0]
        return _spread(g, x.shape, axes) * product_of_others(x, axes)


def tie_weights(a: np.ndarray, axes: tuple[int, ...], largest: bool) -> np.ndarray:
    """1/count on the elements equal to their slice's maximum (or minimum), 0 elsewhere (NaN counts as the
    extreme: it propagates)."""
    extreme = (np.max if largest else np.min)(a, axis=axes, keepdims=True)
    hit = a == extreme
    if a.dtype.kind == "f":
        hit |= np.isnan(a)
    return hit / np.sum(hit, axis=axes, keepdims=True)


class _Extreme(Function):
    largest = True

    def forward(ctx, a, axis=None, keepdims=False):
        op = "max" if ctx.largest else "min"
        axes = as_axes(op, axis, a.ndim)
        keepdims = as_bool(op, "keepdims", keepdims)
        if any(a.shape[i] == 0 for i in axes):
            raise ShapeError(f"{op}: cannot reduce over an empty axis (shape {a.shape}, axis {axis!r}); an empty "
                             "slice has no extreme")
        ctx.save_for_backward(axes)
        return (np.max if ctx.largest else np.min)(a, axis=axes, keepdims=keepdims)

    def vjp(ctx, g):
        (axes,) = ctx.saved
        a = ctx.inputs[0].data
        weights = tie_weights(a, axes, ctx.largest).astype(a.dtype, copy=False)
        return _spread(g, a.shape, axes) * ctx.constant(weights)


class Max(_Extreme):
    """out = max of a over axes (amax).  VJP: g shared evenly among the maxima of each slice, 0 elsewhere."""

    largest = True


class Min(_Extreme):
    """out = min of a over axes (amin).  VJP: g shared evenly among the minima of each slice, 0 elsewhere."""

    largest = False


class SafeSqrt(Function):
    """out = sqrt(a) for a >= 0 (a variance, a sum of squares).  VJP: g / (2 out), and 0 where out = 0 (PyTorch's
    rule for std and the 2-norm, instead of inf * 0 = NaN)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output

    def forward(ctx, a):
        with np.errstate(invalid="ignore"):
            return np.sqrt(a)

    def vjp(ctx, g):
        out = ctx.output
        zero = out.data == 0
        safe = _ew.Where.apply(ctx.constant(zero), ctx.constant(np.ones((), out.dtype)), out)
        return g / (safe * 2.0) * ctx.constant((~zero).astype(out.dtype))


# ---- composites ----------------------------------------------------------------------------------------------------
def mean(x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """Sum over ``axes`` divided by the number of summed elements; NaN over an empty axis (as PyTorch)."""
    count = math.prod(x.shape[a] for a in axes)
    total = Sum.apply(x, axis=axes, keepdims=keepdims)
    return total / count if count else total * math.nan


def variance(x: Tensor, axes: tuple[int, ...], keepdims: bool, correction: float, op: str = "var") -> Tensor:
    """sum((x - mean)^2) / (n - correction) over ``axes``; ``correction`` may be any real (PyTorch's float).

    n - correction <= 0 follows PyTorch: the divisor is 0, so the variance is inf, or NaN (0 / 0) where every
    deviation is 0 (one element with correction 1, an empty slice), with a UserWarning naming ``op``; the gradient
    is then PyTorch's 2 (x - mean) / 0 (+-inf, NaN where x is the mean), the mean taken as a constant (its path
    carries sum(x - mean) = 0 times inf, which would make every entry NaN)."""
    n = math.prod(x.shape[a] for a in axes)
    dof = n - correction
    if dof > 0:
        centred = x - mean(x, axes, True)
        return Sum.apply(centred * centred, axis=axes, keepdims=keepdims) / dof
    fix = f"use a correction smaller than {n}" if n else "the slice is empty: there is nothing to estimate"
    warnings.warn(f"{op}: degrees of freedom n - correction = {n} - {correction} <= 0 over axes {axes} of shape "
                  f"{x.shape}, so the result is inf or NaN (as PyTorch); {fix}", UserWarning, stacklevel=3)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = x - mean(x.detach(), axes, True)
        squares = Sum.apply(centred * centred, axis=axes, keepdims=keepdims)
        return squares * math.inf  # squares / 0: inf, and 0 * inf = NaN where every deviation is 0


def logsumexp(x: Tensor, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """log(sum(exp(x))) over ``axes``, shifted by the (constant) maximum of each slice so nothing overflows; the
    gradient is softmax(x). An empty slice gives -inf."""
    if x.dtype.kind != "f":
        x = _ew.Cast.apply(x, dtype=np.float32)
    if x.size and all(x.shape[a] for a in axes):
        m = np.max(x.data, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype)
    else:
        m = np.zeros(_kept_shape(x.shape, axes), x.dtype)
    shift = x._make(m, None)
    with np.errstate(divide="ignore"):
        out = _ew.Log.apply(Sum.apply(_ew.Exp.apply(x - shift), axis=axes, keepdims=True)) + shift
    if keepdims:
        return out
    return out.reshape(tuple(n for i, n in enumerate(x.shape) if i not in axes))


def norm(x: Tensor, p, axes: tuple[int, ...], keepdims: bool) -> Tensor:
    """The vector p-norm over ``axes``: p a real number (inf, -inf and 0 too) or "fro" (= 2)."""
    if x.dtype.kind != "f":
        x = _ew.Cast.apply(x, dtype=np.float32)
    if p == "fro" or p == 2:
        return SafeSqrt.apply(Sum.apply(x * x, axis=axes, keepdims=keepdims))
    magnitude = _ew.Abs.apply(x)
    if p == 1:
        return Sum.apply(magnitude, axis=axes, keepdims=keepdims)
    if p == math.inf:
        return Max.apply(magnitude, axis=axes, keepdims=keepdims)
    if p == -math.inf:
        return Min.apply(magnitude, axis=axes, keepdims=keepdims)
    if p == 0:
        counts = np.sum(x.data != 0, axis=axes, keepdims=keepdims)
        return x._make(counts.astype(x.dtype), None)
    with np.errstate(divide="ignore"):
        return Sum.apply(magnitude ** float(p), axis=axes, keepdims=keepdims) ** (1.0 / p)


def arg_extreme(x: Tensor, axis=None, keepdims=False, largest=True) -> Tensor:
    """Index of the first maximum (or minimum) over ``axis`` (None: of the flattened tensor), as an int64 tensor."""
    op = "argmax" if largest else "argmin"
    keepdims = as_bool(op, "keepdims", keepdims)
    if axis is not None:
        axis = as_axis(op, axis, x.ndim)
    if (x.size if axis is None or x.ndim == 0 else x.shape[axis]) == 0:
        raise ShapeError(f"{op}: cannot take the {op} of an empty {'tensor' if axis is None else 'axis'} (shape "
                         f"{x.shape}, axis {axis!r})")
    if x.ndim == 0:
        axis = None
    return x._make((np.argmax if largest else np.argmin)(x.data, axis=axis, keepdims=keepdims), None)


def truth(x: Tensor, axes: tuple[int, ...], keepdims: bool, every: bool) -> Tensor:
    """any (or, with ``every``, all) over ``axes`` as a bool tensor."""
    return x._make((np.all if every else np.any)(x.data, axis=axes, keepdims=keepdims), None)


def count_nonzero(x: Tensor, axes: tuple[int, ...]) -> Tensor:
    """The number of non-zero elements over ``axes`` as an int64 tensor."""
    return x._make(np.asarray(np.count_nonzero(x.data, axis=axes), dtype=np.int64), None)

