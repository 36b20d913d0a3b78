"""Batch normalisation as one primitive, ``BatchNorm``, and its input-gradient kernel ``BatchNormBackward``.

For x of shape (N, C, *spatial), the statistics of channel c run over its M = N * prod(spatial) elements. Training
mode normalises with the batch mean and the biased variance, eval mode with given running statistics; then the
optional per-channel affine y = weight * x_hat + bias. The forward pass is a handful of vectorised NumPy passes,
accurate in float32 (each sum runs along the contiguous rows of one sample and channel, then over the batch in
float64; a first estimate of the mean is subtracted and the mean of what is left corrects it, so the mean and the
two-pass variance keep the precision of the centred values, ``centre``). ``BatchNormBackward`` computes the
closed-form input gradient in NumPy; its own VJP is written with Tensor operations and these two primitives, so
batch norm can be differentiated to any order (docs/derivations/batch_norm.md has the algebra).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..errors import ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations
from .kernels import threads

STATS_SPLIT = 8  # spatial sizes from which a channel sum is taken pairwise along the contiguous spatial axis first
DOT_UP_TO = 4096  # spatial sizes up to which a float32 sum of products is one einsum (no temporary; error ~1e-7)


def reduced_axes(ndim: int) -> tuple[int, ...]:
    """Every axis of an (N, C, *spatial) array but the channel axis 1."""
    return (0, *range(2, ndim))


def per_channel(ndim: int) -> tuple[int, ...]:
    """The shape (1, -1, 1, ...) that broadcasts a (C,) vector against an (N, C, *spatial) array."""
    return (1, -1) + (1,) * (ndim - 2)


def channel_sum(a: np.ndarray) -> np.ndarray:
    """The (C,) float64 sums of an (N, C, *spatial) array over all axes but 1, accurate for float32 and large M:
    pairwise along the contiguous spatial axis (NumPy sums a contiguous axis pairwise; in float32 for float32
    input of spatial size at least STATS_SPLIT, else in float64), then pairwise in float64 over the batch, each
    channel's row made contiguous first, so a channel's sum has the same bits however the channels are sliced."""
    flat = a.reshape(a.shape[0], a.shape[1], math.prod(a.shape[2:]))
    wide = None if a.dtype == np.float32 and flat.shape[2] >= STATS_SPLIT else np.float64
    per_sample = flat.sum(axis=2, dtype=wide)  # (N, C)
    return np.ascontiguousarray(per_sample.T).sum(axis=1, dtype=np.float64)


def channel_total(a: np.ndarray) -> np.ndarray:
    """The (C,) float64 sums of an (N, C, *spatial) array over all axes but 1, one einsum per (n, c) row in a's
    dtype for spatial sizes in [STATS_SPLIT, DOT_UP_TO] (measured 3 times faster than ``channel_sum``; the error
    of a float32 row is a few units in the last place of its largest elements, so it serves for the centred values,
    which are small, and for a first estimate of the mean), else ``channel_sum``."""
    size = math.prod(a.shape[2:])
    if STATS_SPLIT <= size <= DOT_UP_TO:
        rows_ = np.einsum("ncs->nc", a.reshape(a.shape[0], a.shape[1], size))
        return np.ascontiguousarray(rows_.T).sum(axis=1, dtype=np.float64)
    return channel_sum(a)


def channel_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The (C,) float64 sums of a * b over all axes but 1: one einsum per (n, c) row in float32 for spatial sizes in
    [STATS_SPLIT, DOT_UP_TO] (measured 4x faster than the product and its sum, within a few units in the last
    place), else ``channel_sum`` of the product."""
    size = math.prod(a.shape[2:])
    if a.dtype == np.float32 and STATS_SPLIT <= size <= DOT_UP_TO:
        rows_shape = (a.shape[0], a.shape[1], size)
        rows = np.einsum("ncs,ncs->nc", a.reshape(rows_shape), b.reshape(rows_shape))
        return np.ascontiguousarray(rows.T).sum(axis=1, dtype=np.float64)
    return channel_sum(np.multiply(a, b))


def _check(x: np.ndarray, affine: tuple[np.ndarray, ...], names: tuple[str, ...]) -> None:
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: input has dtype {x.dtype}; convert it with .float()")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input (N, C, *spatial) of at least 2 dimensions, got shape "
                         f"{x.shape}")
    for name, a in zip(names, affine):
        if a is None:
            continue
        if a.shape != (x.shape[1],):
            raise ShapeError(f"batch_norm: {name} has shape {a.shape} for an input of shape {x.shape} with "
                             f"{x.shape[1]} channels; it must be ({x.shape[1]},)")
        if a.dtype != x.dtype:
            raise TypeError(f"batch_norm: {name} has dtype {a.dtype} and the input {x.dtype}; convert one of them "
                            "(.float() or .double())")


def rows(a: np.ndarray) -> np.ndarray:
    """An (N, C, *spatial) array as (N, C S), S = prod(spatial): a view when the channels' elements are contiguous
    within each sample (x, a channel slice of it, every array made here)."""
    return a.reshape(a.shape[0], math.prod(a.shape[1:]))


def along_rows(v: np.ndarray, a: np.ndarray) -> np.ndarray:
    """A per-channel (C,) vector repeated S times, (C S,): it broadcasts against ``rows(a)`` along one long
    contiguous axis. (Broadcasting a (1, C, 1, ...) vector instead runs NumPy's inner loop over S elements only,
    measured 1.3 to 2 times slower for 14x14 images.)"""
    return np.repeat(v.astype(a.dtype), math.prod(a.shape[2:]))


def centre(x: np.ndarray, eps: float, out: np.ndarray) -> tuple[np.ndarray, ...]:
    """(centred, c, low, var, inv_std) with the batch statistics of each channel: c (C,) a first estimate of the
    mean in x's dtype, centred = x - c in x's dtype, written into ``out`` (a C-contiguous array of x's shape, or a
    channel slice of one) and returned, and in float64 (C,): low = mean - c, the biased var and inv_std =
    1 / sqrt(var + eps); the mean is c + low.

    x - mean = centred - low. Subtracting c loses nothing (x near the mean: exact), the centred values are small
    against x, so their mean ``low`` (and mean = c + low) is accurate to their precision rather than x's, and var =
    mean(centred^2) - low^2 (the two-pass variance). ``low`` enters as a per-channel float64 constant wherever
    x - mean is used (``scale_shift``, ``x_hat_of``, ``BatchNormBackward``), so x - mean keeps the precision of x
    even when the mean is large against the spread, and x_hat itself is never written out: the forward pass reads
    x twice and the centred values three times, and writes them once."""
    m = x.size // x.shape[1] if x.shape[1] else 0
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty batch has NaN statistics (as PyTorch)
        c = (channel_total(x) / m).astype(x.dtype)  # only has to be near the mean
        np.subtract(rows(x), along_rows(c, x), out=rows(out))
        low = channel_total(out) / m  # the mean of the centred values: accurate, they are small against x
        var = np.maximum(channel_dot(out, out) / m - low * low, 0.0)
        inv_std = 1.0 / np.sqrt(var + eps)  # eps = 0 on a constant channel: inf, then 0 * inf = NaN (as PyTorch)
    return out, c, low, var, inv_std


def scale_shift(low: np.ndarray, inv_std: np.ndarray, weight: np.ndarray | None, bias: np.ndarray | None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(s, t), (C,) float64, with x_hat * weight + bias = centred * s + t: s = weight inv_std, t = bias - low s
    (weight 1 and bias 0 when absent)."""
    with np.errstate(invalid="ignore"):  # eps = 0 on a constant channel: inf x 0 = NaN (as PyTorch)
        s = inv_std if weight is None else inv_std * weight
        t = -low * s if bias is None else bias - low * s
    return s, t


def x_hat_of(centred: np.ndarray, low: np.ndarray, inv_std: np.ndarray) -> np.ndarray:
    """x_hat = (centred - low) inv_std, a new array in centred's dtype (the second-order VJPs use it)."""
    shape = per_channel(centred.ndim)
    s, t = scale_shift(low, inv_std.astype(np.float64), None, None)
    out = centred * s.astype(centred.dtype).reshape(shape)
    out += t.astype(centred.dtype).reshape(shape)
    return out


def sum_g_x_hat(g: np.ndarray, centred: np.ndarray, low: np.ndarray, inv_std: np.ndarray,
                sum_g: np.ndarray) -> np.ndarray:
    """sum(g x_hat) per channel, (C,) float64: inv_std (sum(g centred) - low sum(g)), from ``sum_g`` = sum(g)."""
    return inv_std.astype(np.float64) * (channel_dot(g, centred) - low * sum_g)


def _channel_bounds(x: np.ndarray) -> list[tuple[int, int]]:
    """Chunks of channels for the thread pool: every statistic is per channel, so each chunk's passes run in its
    core's cache and the result is the same to the bit however the channels are split."""
    return threads.chunk_bounds(x.shape[1], x.itemsize * (x.size // x.shape[1] if x.shape[1] else 0))


class Normalised(NamedTuple):
    """What ``normalise_affine`` computes: the centred values x - c (N, C, *spatial) in x's dtype, and per channel
    (C,): inv_std and c in x's dtype, mean = c + low, low and the biased var in float64; y (x's shape) or None."""

    centred: np.ndarray
    inv_std: np.ndarray
    c: np.ndarray
    low: np.ndarray
    mean: np.ndarray
    var: np.ndarray
    y: np.ndarray | None


def normalise_affine(x: np.ndarray, eps: float, weight: np.ndarray | None, bias: np.ndarray | None,
                     apply: bool = True) -> Normalised:
    """``centre`` channel chunk by channel chunk, and y = x_hat * weight + bias = centred * s + t
    (``scale_shift``), two passes. Without affine, y is written over the centred values (``centred`` and ``y``
    are then the same array, x_hat: the VJP recomputes the centred values from x and c). ``apply=False``: the
    statistics alone, y is None."""
    ch = x.shape[1]
    centred = np.empty(x.shape, x.dtype)
    y = None if not apply else centred if weight is None and bias is None else np.empty(x.shape, x.dtype)
    inv_std, c, low, var = np.empty(ch, x.dtype), np.empty(ch, x.dtype), np.empty(ch), np.empty(ch)

    def chunk(start: int, stop: int) -> None:
        part = slice(start, stop)
        d, c[part], low[part], var[part], inv64 = centre(x[:, part], eps, out=centred[:, part])
        inv_std[part] = inv64
        if y is None:
            return
        s, t = scale_shift(low[part], inv64, None if weight is None else weight[part],
                           None if bias is None else bias[part])
        out = rows(y[:, part])
        with np.errstate(invalid="ignore"):  # eps = 0 on a constant channel: 0 x inf = NaN, silently (as PyTorch)
            np.multiply(rows(d), along_rows(s, d), out=out)
            if bias is not None or low[part].any():  # t = 0 without a bias when the first mean was exact
                out += along_rows(t, d)

    threads.run_chunks(chunk, _channel_bounds(x))
    return Normalised(centred, inv_std, c, low, c + low, var, y)


class BatchNorm(Function):
    """y = x_hat * weight + bias, x_hat = (x - mean) / sqrt(var + eps) per channel; x (N, C, *spatial) -> same shape,
    weight and bias (C,) optional inputs (``has_weight`` / ``has_bias`` say which are given, in that order).

    ``training=True``: mean and biased var of the batch (over the M = N * prod(spatial) elements of each channel);
    ``stats_out`` (a list, lent for one call) receives (mean, var) in float64 for the running statistics.
    ``training=False``: the given ``running_mean`` / ``running_var`` (C,), not differentiated.

    VJP, training: dx = weight * inv_std / M * (M g - sum(g) - x_hat sum(g x_hat)) (``BatchNormBackward``),
    dweight = sum(g x_hat), dbias = sum(g). Eval: dx = g * weight * inv_std, the same dweight and dbias.
    """

    transient_params = ("running_mean", "running_var", "stats_out")

    def forward(ctx, x, *affine, training=True, eps=1e-5, has_weight=False, has_bias=False, running_mean=None,
                running_var=None, stats_out=None):
        if len(affine) != has_weight + has_bias:
            raise TypeError(f"batch_norm: {len(affine)} affine inputs for has_weight={has_weight}, "
                            f"has_bias={has_bias}")
        weight = affine[0] if has_weight else None
        bias = affine[-1] if has_bias else None
        _check(x, (weight, bias), ("weight", "bias"))
        shape = per_channel(x.ndim)
        if training:
            stats = normalise_affine(x, eps, weight, bias)
            if stats_out is not None:
                stats_out.append((stats.mean, stats.var))
            # without affine y was written over the centred values: the VJP recomputes them from x and c
            ctx.save_for_backward(None if stats.y is stats.centred else stats.centred, stats.inv_std, stats.c,
                                  stats.low)
            return stats.y
        if running_mean is None or running_var is None:
            raise TypeError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        _check(x, (running_mean, running_var), ("running_mean", "running_var"))
        with np.errstate(invalid="ignore", divide="ignore"):
            inv_std = (1.0 / np.sqrt(running_var.astype(np.float64) + eps)).astype(x.dtype)
        mean = running_mean.copy()  # the caller's buffer may change before backward
        ctx.save_for_backward(None, inv_std, mean, None)
        scale = inv_std if weight is None else inv_std * weight
        y = x - mean.reshape(shape)  # exact where x is near the mean, unlike x * scale + shift
        y *= scale.reshape(shape)
        if bias is not None:
            y += bias.reshape(shape)
        return y

    def _centred(ctx) -> np.ndarray:
        """The saved centred values x - c of training mode (``centre``), or (no affine) the same recomputed from x."""
        centred, _, c, _ = ctx.saved
        if centred is not None:
            return centred
        x = ctx.inputs[0].data
        return x - c.reshape(per_channel(x.ndim))

    def vjp(ctx, g):
        p = ctx.params
        x = ctx.inputs[0]
        weight = ctx.inputs[1] if p["has_weight"] else None
        need = ctx.needs_input_grad
        need_w = p["has_weight"] and need[1]
        need_b = p["has_bias"] and need[-1]
        axes = reduced_axes(x.ndim)
        shape = per_channel(x.ndim)
        _, inv_std, shift, low = ctx.saved  # shift: the running mean in eval mode, c (``centre``) in training
        gx = gw = gb = None
        if not p["training"]:  # an affine map of x: Tensor operations, differentiable as they stand
            if need[0]:
                scale = ctx.constant(inv_std) if weight is None else weight * ctx.constant(inv_std)
                gx = g * scale.reshape(shape)
            if need_w:
                x_hat_t = (x - ctx.constant(shift.reshape(shape))) * ctx.constant(inv_std.reshape(shape))
                gw = (g * x_hat_t).sum(axis=axes)
            if need_b:
                gb = g.sum(axis=axes)
            return (gx, *((gw,) if p["has_weight"] else ()), *((gb,) if p["has_bias"] else ()))
        centred = ctx._centred() if need[0] or need_w else None
        lent = {"eps": p["eps"], "centred": centred, "low": low, "inv_std": inv_std}
        if not is_grad_enabled():  # first order: NumPy throughout, each sum once
            sums: list = []
            if need[0]:
                gx = BatchNormBackward.apply(g, x, *([weight] if weight is not None else []), **lent, sums_out=sums)
                sum_g, sum_gx = sums[0]
            else:
                sum_g = channel_sum(g.data) if need_b or need_w else None
                sum_gx = sum_g_x_hat(g.data, centred, low, inv_std, sum_g) if need_w else None
            if need_w:
                gw = ctx.constant(sum_gx.astype(g.dtype))
            if need_b:
                gb = ctx.constant(sum_g.astype(g.dtype))
        else:  # create_graph: the VJP is itself differentiable
            if need[0]:
                gx = BatchNormBackward.apply(g, x, *([weight] if weight is not None else []), **lent)
            if need_w:
                x_hat_t = (BatchNorm.apply(x, eps=p["eps"]) if x.requires_grad
                           else ctx.constant(x_hat_of(centred, low, inv_std)))
                gw = (g * x_hat_t).sum(axis=axes)
            if need_b:
                gb = g.sum(axis=axes)
        return (gx, *((gw,) if p["has_weight"] else ()), *((gb,) if p["has_bias"] else ()))


class BatchNormBackward(Function):
    """dx = w * inv_std / M * (M g - sum(g) - x_hat sum(g x_hat)) per channel, the input gradient of training-mode
    batch norm: g and x (N, C, *spatial) -> that shape, with an optional weight (C,) input (w = 1 without it).
    x_hat = (centred - low) inv_std from the batch statistics of x (with ``eps``, see ``centre``); a caller that
    has them lends them (``centred``, ``low``, ``inv_std``), ``sums_out`` (a list) receives (sum(g), sum(g x_hat))
    in float64. With k1 = inv_std sum(g x_hat) / M and k2 = sum(g) / M - low k1 (float64, per channel):
    dx = w inv_std (g - centred k1 - k2), four passes after the two sums.

    With Q(v) = inv_std (v - mean(v) - x_hat mean(v x_hat)) (so dx = w Q(g)) and upstream u, the VJP is
    dg = w Q(u), dw = sum(u Q(g)), dx = -w inv_std (x_hat mean(u Q(g)) + mean(g x_hat) Q(u) + mean(u x_hat) Q(g)).
    """

    transient_params = ("centred", "low", "inv_std", "sums_out")

    def forward(ctx, g, x, *weight, eps=1e-5, centred=None, low=None, inv_std=None, sums_out=None):
        _check(x, (weight[0] if weight else None,), ("weight",))
        if g.shape != x.shape or g.dtype != x.dtype:
            raise ShapeError(f"batch_norm backward: gradient of shape {g.shape} ({g.dtype}) for an input of shape "
                             f"{x.shape} ({x.dtype}); they must match")
        if centred is None or low is None or inv_std is None:
            stats = normalise_affine(x, eps, None, None, apply=False)
            centred, low, inv_std = stats.centred, stats.low, stats.inv_std
        ctx.save_for_backward(centred, low, inv_std)
        m = x.size // x.shape[1] if x.shape[1] else 0
        inv64 = inv_std.astype(np.float64)
        scale = (inv64 if not weight else inv64 * weight[0]).astype(x.dtype)
        out = np.empty(x.shape, x.dtype)
        sum_g, sum_gx = np.empty(x.shape[1]), np.empty(x.shape[1])

        def chunk(start: int, stop: int) -> None:  # each channel chunk's passes in its core's cache
            part = slice(start, stop)
            g_c, centred_c = g[:, part], centred[:, part]
            out_c = rows(out[:, part])
            sum_g[part] = channel_sum(g_c)
            sum_gx[part] = sum_g_x_hat(g_c, centred_c, low[part], inv_std[part], sum_g[part])
            with np.errstate(invalid="ignore", divide="ignore"):
                k1 = inv64[part] * sum_gx[part] / m
                k2 = sum_g[part] / m - low[part] * k1
                np.multiply(rows(centred_c), along_rows(k1, g_c), out=out_c)
                np.subtract(rows(g_c), out_c, out=out_c)
                out_c -= along_rows(k2, g_c)
            out_c *= along_rows(scale[part], g_c)

        threads.run_chunks(chunk, _channel_bounds(x))
        if sums_out is not None:
            sums_out.append((sum_g, sum_gx))
        return out

    def _statistics(ctx) -> tuple[Tensor, Tensor]:
        """(x_hat, inv_std shaped (1, C, 1, ...)) as Tensors: constants, or functions of x when the graph of this
        VJP is recorded (so it can be differentiated once more)."""
        x = ctx.inputs[1]
        centred, low, inv_std = ctx.saved
        shape = per_channel(x.ndim)
        if not (is_grad_enabled() and x.requires_grad):
            return ctx.constant(x_hat_of(centred, low, inv_std)), ctx.constant(inv_std.reshape(shape))
        eps = ctx.params["eps"]
        axes = reduced_axes(x.ndim)
        centred = x - x.mean(axis=axes, keepdims=True)
        var = (centred * centred).mean(axis=axes, keepdims=True)
        return BatchNorm.apply(x, eps=eps), (var + eps).rsqrt()

    def vjp(ctx, u):
        g, x = ctx.inputs[:2]
        weight = ctx.inputs[2] if len(ctx.inputs) == 3 else None
        need = ctx.needs_input_grad
        eps = ctx.params["eps"]
        axes = reduced_axes(x.ndim)
        shape = per_channel(x.ndim)
        m = x.size // x.shape[1] if x.shape[1] else 0
        centred, low, inv_std = ctx.saved
        lent = {"eps": eps, "centred": centred, "low": low, "inv_std": inv_std}
        q_u = BatchNormBackward.apply(u, x, **lent) if need[0] or need[1] else None
        q_g = BatchNormBackward.apply(g, x, **lent) if need[1] or (weight is not None and need[2]) else None
        w = None if weight is None else weight.reshape(shape)
        gg = gx = gw = None
        if need[0]:
            gg = q_u if w is None else q_u * w
        if need[1]:
            x_hat_t, inv_std_t = ctx._statistics()

            def mean(v: Tensor) -> Tensor:
                return v.sum(axis=axes, keepdims=True) / m

            inner = x_hat_t * mean(u * q_g) + mean(g * x_hat_t) * q_u + mean(u * x_hat_t) * q_g
            gx = -(inner * inv_std_t) if w is None else -(inner * (inv_std_t * w))
        if weight is not None and need[2]:
            gw = (u * q_g).sum(axis=axes)
        return (gg, gx) if weight is None else (gg, gx, gw)
