"""Scans along one axis: ``Cumsum``, ``Cumprod``, ``LogCumsumExp`` and the kernel their VJPs share, the first-order
linear recurrence ``LinearScan`` (h_k = a_k h_{k-1} + b_k). cummax/cummin are gathers (ops/sort.py).

``axis`` is a non-negative int (the Tensor methods convert the caller's ``dim``); ``reverse=True`` scans from the
end. No VJP divides by an input, so zeros are exact (see docs/derivations/scans_and_sorting.md).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations
from . import elementwise as _ew
from . import movement as _mv


def _scan(fn, a: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    if not reverse:
        return fn(a, axis)
    return np.flip(fn(np.flip(a, axis), axis), axis)


def shift(t: Tensor, axis: int, toward_end: bool, fill: float) -> Tensor:
    """``t`` moved one step along ``axis`` (toward the end: out[k] = t[k-1]; else out[k] = t[k+1]), the emptied
    end filled with ``fill`` (a Pad then a slice: differentiable)."""
    n = t.shape[axis]
    pads = [(0, 0)] * t.ndim
    index = [slice(None)] * t.ndim
    pads[axis], index[axis] = ((1, 0), slice(0, n)) if toward_end else ((0, 1), slice(1, n + 1))
    return _mv.GetItem.apply(_mv.Pad.apply(t, pad_width=tuple(pads), value=fill), index=tuple(index))


def linear_recurrence(a: np.ndarray, b: np.ndarray, axis: int) -> np.ndarray:
    """h_k = a_k h_{k-1} + b_k along ``axis`` (h_{-1} = 0, so a_0 is not used): a Hillis-Steele scan, log2(n)
    vectorised steps composing the affine maps (A, B) o (A', B') = (A A', A B' + B); exact with zeros."""
    A = np.moveaxis(np.array(a, copy=True), axis, -1)
    B = np.moveaxis(np.array(b, copy=True), axis, -1)
    n, step = A.shape[-1], 1
    while step < n:
        B[..., step:] = A[..., step:] * B[..., :-step] + B[..., step:]  # right side evaluated before the write
        A[..., step:] = A[..., step:] * A[..., :-step]
        step *= 2
    return np.moveaxis(B, -1, axis)


class LinearScan(Function):
    """out: h_k = a_k h_{k-1} + b_k along ``axis`` (h_{-1} = 0; reverse: h_k = a_k h_{k+1} + b_k, h_n = 0).

    VJP: lam = LinearScan(a shifted one step back, g, the other direction); (lam * h shifted one step forward
    (0 filled), lam).
    """

    save_output = True

    def forward(ctx, a, b, axis, reverse=False):
        if a.shape != b.shape:
            raise ShapeError(f"linear_scan: a {a.shape} and b {b.shape} must have one shape")
        return _linear(a, b, axis, reverse)

    def vjp(ctx, g):
        a = ctx.inputs[0]
        axis, reverse = ctx.params["axis"], ctx.params["reverse"]
        lam = LinearScan.apply(shift(a, axis, toward_end=reverse, fill=0.0), g, axis=axis, reverse=not reverse)
        da = lam * shift(ctx.output, axis, toward_end=not reverse, fill=0.0) if ctx.needs_input_grad[0] else None
        return da, lam


def _linear(a: np.ndarray, b: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
    if not reverse:
        return linear_recurrence(a, b, axis)
    return np.flip(linear_recurrence(np.flip(a, axis), np.flip(b, axis), axis), axis)


class Cumsum(Function):
    """out_k = sum_{j<=k} a_j along ``axis`` (reverse: j >= k).  VJP: Cumsum(g) in the other direction."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, axis, reverse=False):
        return _scan(lambda x, ax: np.cumsum(x, axis=ax), a, axis, reverse)

    def vjp(ctx, g):
        return Cumsum.apply(g, axis=ctx.params["axis"], reverse=not ctx.params["reverse"])


class Cumprod(Function):
    """out_k = prod_{j<=k} a_j along ``axis`` (reverse: j >= k).

    VJP: E * R with E the exclusive product (out shifted one step, 1 filled) and R = LinearScan(a shifted one step
    back, g, the other direction): R_k = g_k + a_{k+1} R_{k+1}. No division, so zeros are exact.
    """

    save_output = True

    def forward(ctx, a, axis, reverse=False):
        return _scan(lambda x, ax: np.cumprod(x, axis=ax), a, axis, reverse)

    def vjp(ctx, g):
        axis, reverse = ctx.params["axis"], ctx.params["reverse"]
        exclusive = shift(ctx.output, axis, toward_end=not reverse, fill=1.0)
        rest = LinearScan.apply(shift(ctx.inputs[0], axis, toward_end=reverse, fill=0.0), g, axis=axis,
                                reverse=not reverse)
        return exclusive * rest


class LogCumsumExp(Function):
    """out_k = log sum_{j<=k} exp(a_j) along ``axis`` (np.logaddexp.accumulate: stable).

    VJP: exp(a - out) * S with S_k = g_k + exp(out_k - out_{k+1}) S_{k+1} (a reverse LinearScan): every exponent
    is <= 0, since out is non-decreasing and out_k >= a_k, so nothing overflows.
    """

    save_output = True

    def forward(ctx, a, axis):
        if a.shape[axis] == 0:
            return np.array(a, copy=True)
        return np.logaddexp.accumulate(a, axis=axis)

    def vjp(ctx, g):
        axis = ctx.params["axis"]
        out, n = ctx.output, ctx.output.shape[axis]
        if n == 0:
            return g
        index = [slice(None)] * out.ndim
        head, tail = list(index), list(index)
        head[axis], tail[axis] = slice(0, n - 1), slice(1, n)
        step = _mv.GetItem.apply(out, index=tuple(head)) - _mv.GetItem.apply(out, index=tuple(tail))
        pads = [(0, 0)] * out.ndim
        pads[axis] = (0, 1)
        decay = _ew.Exp.apply(_mv.Pad.apply(step, pad_width=tuple(pads), value=0.0))
        weights = LinearScan.apply(decay, g, axis=axis, reverse=True)
        return _ew.Exp.apply(ctx.inputs[0] - out) * weights
