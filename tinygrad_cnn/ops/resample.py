"""Interpolation primitives (NCHW): every mode of ``F.interpolate`` is separable, out = M_h x M_w^T with a sparse
matrix per axis whose rows hold 1 (nearest), 2 (bilinear) or 4 (bicubic) taps. ``Resample2d`` applies them
(a GEMM per axis with the dense matrix when the input axis is short, gathers of the taps otherwise);
``Resample2dAdjoint`` applies their transposes (the transposed GEMMs, or segment sums). Each is
linear, so each one's VJP is the other: the pair is closed under differentiation.

The tap tables follow PyTorch's CPU kernels (UpSample.h): source index rules, align_corners, scale factors given
by the user used as 1/scale, nearest's float32 index arithmetic, bicubic's A = -0.75 with border clamping.
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from .kernels import windows

MODES = ("nearest", "nearest-exact", "bilinear", "bicubic")
_A = -0.75  # the bicubic convolution constant PyTorch uses


def _scale(n_in: int, n_out: int, scale: float | None) -> float:
    """PyTorch's compute_scales_value: 1 / the scale factor the user gave, else in / out."""
    return 1.0 / scale if scale is not None and scale > 0 else n_in / n_out


def _cubic(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """The four cubic-convolution weights of the taps floor(src) - 1 .. floor(src) + 2 at fraction t."""
    def near(x):  # |x| <= 1
        return ((_A + 2) * x - (_A + 3)) * x * x + 1

    def far(x):  # 1 < |x| < 2
        return ((_A * x - 5 * _A) * x + 8 * _A) * x - 4 * _A
    return far(t + 1), near(t), near(1 - t), far(2 - t)


@functools.lru_cache(maxsize=256)
def axis_taps(n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None):
    """(index, weight) of shape (taps, n_out) along one axis, each index row non-decreasing; weight None for one
    tap of weight 1; None altogether for the identity (same size, nothing to do)."""
    dst = np.arange(n_out)
    if mode in ("nearest", "nearest-exact"):
        if n_out == n_in and mode == "nearest":
            return None
        if n_out == 2 * n_in and mode == "nearest":
            index = dst >> 1
        else:
            s = np.float32(_scale(n_in, n_out, scale))
            offset = np.float32(0.5 if mode == "nearest-exact" else 0.0)
            index = np.minimum(np.floor((dst.astype(np.float32) + offset) * s).astype(np.int64), n_in - 1)
        if np.array_equal(index, np.arange(n_in)):
            return None
        return _frozen(index[None], None)
    if align_corners:
        s = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        src = s * dst
    else:
        src = _scale(n_in, n_out, scale) * (dst + 0.5) - 0.5
        if mode == "bilinear":
            src = np.maximum(src, 0.0)
    if mode == "bilinear":
        i0 = np.minimum(src.astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        frac = src - i0
        index, weight = np.stack([i0, i1]), np.stack([1.0 - frac, frac])
    else:  # bicubic
        floor = np.floor(src).astype(np.int64)
        index = np.stack([np.clip(floor + k, 0, n_in - 1) for k in (-1, 0, 1, 2)])
        weight = np.stack(_cubic(src - floor))
    if n_in == n_out and np.array_equal(src, dst):
        return None
    return _frozen(index, weight)


def _frozen(index, weight):
    for a in (index, weight):
        if a is not None:
            a.flags.writeable = False
    return index, weight


DENSE_UP_TO = 128  # input sizes along an axis up to which the dense matrix (one GEMM) beats the tap gathers


@functools.lru_cache(maxsize=256)
def axis_matrix(n_in: int, n_out: int, mode: str, align_corners: bool, scale: float | None, dtype: np.dtype):
    """The (n_out, n_in) interpolation matrix of ``axis_taps`` (clamped taps added up), read-only."""
    index, weight = axis_taps(n_in, n_out, mode, align_corners, scale)
    m = np.zeros((n_out, n_in))
    rows = np.arange(n_out)
    for t in range(index.shape[0]):
        np.add.at(m, (rows, index[t]), 1.0 if weight is None else weight[t])  # once per geometry: cached
    m = m.astype(dtype)
    m.flags.writeable = False
    return m


def _plans(input_hw, size, mode, align_corners, scales, dtype):
    """Per axis (2, then 3): None (identity), ("dense", M) for a short input axis, or ("taps", index, weight).

    Measured on (32, 16, 28, 28) x2 bilinear: the two GEMMs of the adjoint take ~15 ms where the segment sums take
    ~130 ms; the gathers of the forward are close to the GEMMs. Long axes keep the O(taps) gathers."""
    plans = []
    for a, axis in enumerate((2, 3)):
        key = (int(input_hw[a]), int(size[a]), mode, bool(align_corners), scales[a])
        taps = axis_taps(*key)
        if taps is None:
            plans.append((axis, None))
        elif key[0] <= DENSE_UP_TO:
            plans.append((axis, ("dense", axis_matrix(*key, np.dtype(dtype)))))
        else:
            plans.append((axis, ("taps", *taps)))
    return plans


class Resample2d(Function):
    """y = M_h x M_w^T, x (N, C, H, W) -> (N, C, *size), M the interpolation matrices of ``mode`` (nearest,
    nearest-exact, bilinear, bicubic) with ``align_corners`` and the user's ``scales`` (None: in/out).

    VJP: Resample2dAdjoint(g) = M_h^T g M_w."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, x, size, mode, align_corners=False, scales=(None, None)):
        y = x
        for axis, plan in _plans(x.shape[2:], size, mode, align_corners, scales, x.dtype):
            if plan is not None and plan[0] == "dense":
                y = windows.matrix_along(y, axis, plan[1])
            elif plan is not None:
                y = windows.taps_along(y, axis, *plan[1:])
        return y if y is not x else x.copy()

    def vjp(ctx, g):
        return Resample2dAdjoint.apply(g, input_hw=tuple(ctx.input_shapes[0][2:]), **ctx.params)


class Resample2dAdjoint(Function):
    """dx = M_h^T g M_w, g (N, C, Ho, Wo) -> (N, C, *input_hw): each output's weighted value summed back into the
    input elements it was interpolated from (segment sums, the tap indices being monotone).

    VJP: Resample2d(u)."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, g, input_hw, size, mode, align_corners=False, scales=(None, None)):
        dx = g
        for axis, plan in reversed(_plans(input_hw, size, mode, align_corners, scales, g.dtype)):
            if plan is not None and plan[0] == "dense":
                dx = windows.matrix_along(dx, axis, plan[1], transpose=True)
            elif plan is not None:
                dx = windows.taps_adjoint(dx, axis, *plan[1:], input_hw[axis - 2])
        return dx if dx is not g else g.copy()

    def vjp(ctx, u):
        p = dict(ctx.params)
        del p["input_hw"]
        return Resample2d.apply(u, **p)
