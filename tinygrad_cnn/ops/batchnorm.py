"""Batch normalisation as one primitive, ``BatchNorm``, and its input-gradient kernel ``BatchNormBackward``.

For x of shape (N, C, *spatial), the statistics of channel c run over its M = N * prod(spatial) elements. Training
mode normalises with the batch mean and the biased variance, eval mode with given running statistics; then the
optional per-channel affine y = weight * x_hat + bias. The forward pass is a handful of vectorised NumPy passes,
accurate in float32 (the sums are accumulated pairwise and in float64, the variance is the two-pass mean of
(x - mean)^2, and the mean is subtracted in two float32 parts). ``BatchNormBackward`` computes the closed-form input
gradient in NumPy; its own VJP is written with Tensor operations and these two primitives, so batch norm can be
differentiated to any order (docs/derivations/batch_norm.md has the algebra).
"""

from __future__ import annotations

import math

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


def normalise(x: np.ndarray, eps: float, out: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_hat, inv_std, mean, var) with the batch statistics of each channel: mean and biased var (C,) in float64,
    inv_std = 1 / sqrt(var + eps) (C,) and x_hat = (x - mean) * inv_std in x's dtype, written into ``out`` (a
    C-contiguous array of x's shape, or a channel slice of one) and returned.

    The mean is subtracted as float32(mean) and then the float32 rounding error of that, so x - mean keeps the
    precision of x even when the mean is large against the spread."""
    m = x.size // x.shape[1] if x.shape[1] else 0
    d, flat = out, rows(out)
    with np.errstate(invalid="ignore", divide="ignore"):  # an empty batch has NaN statistics (as PyTorch)
        mean = channel_sum(x) / m
        high = mean.astype(x.dtype)
        np.subtract(rows(x), along_rows(high, x), out=flat)
        if x.dtype != np.float64:
            flat -= along_rows(mean - high, x)
        var = channel_dot(d, d)
        var /= m
        inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype)
        flat *= along_rows(inv_std, x)  # eps = 0 on a constant channel: 0 * inf = NaN, silently (as PyTorch)
    return d, inv_std, mean, var


def _channel_bounds(x: np.ndarray) -> list[tuple[int, int]]:
    """Chunks of channels for the thread pool: every statistic is per channel, so each chunk's passes run in its
    core's cache and the result is the same to the bit however the channels are split."""
    return threads.chunk_bounds(x.shape[1], x.itemsize * (x.size // x.shape[1] if x.shape[1] else 0))


def normalise_affine(x: np.ndarray, eps: float, weight: np.ndarray | None, bias: np.ndarray | None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_hat, inv_std, mean, var, y): ``normalise`` and y = x_hat * weight + bias (y is x_hat without affine),
    channel chunk by channel chunk."""
    c = x.shape[1]
    x_hat = np.empty(x.shape, x.dtype)
    y = x_hat if weight is None and bias is None else np.empty(x.shape, x.dtype)
    inv_std, mean, var = np.empty(c, x.dtype), np.empty(c), np.empty(c)

    def chunk(start: int, stop: int) -> None:
        part = slice(start, stop)
        xh, inv_std[part], mean[part], var[part] = normalise(x[:, part], eps, out=x_hat[:, part])
        if weight is not None:
            np.multiply(rows(xh), along_rows(weight[part], xh), out=rows(y[:, part]))
            if bias is not None:
                rows(y[:, part]).__iadd__(along_rows(bias[part], xh))
        elif bias is not None:
            np.add(rows(xh), along_rows(bias[part], xh), out=rows(y[:, part]))

    threads.run_chunks(chunk, _channel_bounds(x))
    return x_hat, inv_std, mean, var, y


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
            x_hat, inv_std, mean, var, y = normalise_affine(x, eps, weight, bias)
            if stats_out is not None:
                stats_out.append((mean, var))
            # y is x_hat without affine: the VJP then recomputes x_hat from x, mean and inv_std
            ctx.save_for_backward(None if y is x_hat else x_hat, inv_std, mean)
            return y
        if running_mean is None or running_var is None:
            raise TypeError("batch_norm: eval mode (training=False) needs running_mean and running_var")
        _check(x, (running_mean, running_var), ("running_mean", "running_var"))
        with np.errstate(invalid="ignore", divide="ignore"):
            inv_std = (1.0 / np.sqrt(running_var.astype(np.float64) + eps)).astype(x.dtype)
        mean = running_mean.copy()  # the caller's buffer may change before backward
        ctx.save_for_backward(None, inv_std, mean)
        scale = inv_std if weight is None else inv_std * weight
        y = x - mean.reshape(shape)  # exact where x is near the mean, unlike x * scale + shift
        y *= scale.reshape(shape)
        if bias is not None:
            y += bias.reshape(shape)
        return y

    def _x_hat(ctx) -> np.ndarray:
        """The saved x_hat of training mode, or (no affine) x_hat recomputed from x exactly as the forward made it."""
        x_hat, inv_std, mean = ctx.saved
        if x_hat is not None:
            return x_hat
        x = ctx.inputs[0].data
        shape = per_channel(x.ndim)
        high = mean.astype(x.dtype)
        d = x - high.reshape(shape)
        if x.dtype != np.float64:
            d -= (mean - high).astype(x.dtype).reshape(shape)
        d *= inv_std.reshape(shape)
        return d

    def vjp(ctx, g):
        p = ctx.params
        x = ctx.inputs[0]
        weight = ctx.inputs[1] if p["has_weight"] else None
        need = ctx.needs_input_grad
        need_w = p["has_weight"] and need[1]
        need_b = p["has_bias"] and need[-1]
        axes = reduced_axes(x.ndim)
        shape = per_channel(x.ndim)
        _, inv_std, mean = ctx.saved
        gx = gw = gb = None
        if not p["training"]:  # an affine map of x: Tensor operations, differentiable as they stand
            if need[0]:
                scale = ctx.constant(inv_std) if weight is None else weight * ctx.constant(inv_std)
                gx = g * scale.reshape(shape)
            if need_w:
                x_hat_t = (x - ctx.constant(mean.reshape(shape))) * ctx.constant(inv_std.reshape(shape))
                gw = (g * x_hat_t).sum(axis=axes)
            if need_b:
                gb = g.sum(axis=axes)
            return (gx, *((gw,) if p["has_weight"] else ()), *((gb,) if p["has_bias"] else ()))
        x_hat = ctx._x_hat() if need[0] or need_w else None
        if not is_grad_enabled():  # first order: NumPy throughout, each sum once
            sums: list = []
            if need[0]:
                gx = BatchNormBackward.apply(g, x, *([weight] if weight is not None else []), eps=p["eps"],
                                             x_hat=x_hat, inv_std=inv_std, sums_out=sums)
                sum_g, sum_gx = sums[0]
            else:
                sum_g = channel_sum(g.data) if need_b else None
                sum_gx = channel_dot(g.data, x_hat) if need_w else None
            if need_w:
                gw = ctx.constant(sum_gx.astype(g.dtype))
            if need_b:
                gb = ctx.constant(sum_g.astype(g.dtype))
        else:  # create_graph: the VJP is itself differentiable
            if need[0]:
                gx = BatchNormBackward.apply(g, x, *([weight] if weight is not None else []), eps=p["eps"],
                                             x_hat=x_hat, inv_std=inv_std)
            if need_w:
                x_hat_t = BatchNorm.apply(x, eps=p["eps"]) if x.requires_grad else ctx.constant(x_hat)
                gw = (g * x_hat_t).sum(axis=axes)
            if need_b:
                gb = g.sum(axis=axes)
        return (gx, *((gw,) if p["has_weight"] else ()), *((gb,) if p["has_bias"] else ()))


class BatchNormBackward(Function):
    """dx = w * inv_std / M * (M g - sum(g) - x_hat sum(g x_hat)) per channel, the input gradient of training-mode
    batch norm: g and x (N, C, *spatial) -> that shape, with an optional weight (C,) input (w = 1 without it).
    x_hat and inv_std are the batch statistics of x (with ``eps``); a caller that has them lends them (``x_hat``,
    ``inv_std``), ``sums_out`` (a list) receives (sum(g), sum(g x_hat)) in float64.

    With Q(v) = inv_std (v - mean(v) - x_hat mean(v x_hat)) (so dx = w Q(g)) and upstream u, the VJP is
    dg = w Q(u), dw = sum(u Q(g)), dx = -w inv_std (x_hat mean(u Q(g)) + mean(g x_hat) Q(u) + mean(u x_hat) Q(g)).
    """

    transient_params = ("x_hat", "inv_std", "sums_out")

    def forward(ctx, g, x, *weight, eps=1e-5, x_hat=None, inv_std=None, sums_out=None):
        _check(x, (weight[0] if weight else None,), ("weight",))
        if g.shape != x.shape or g.dtype != x.dtype:
            raise ShapeError(f"batch_norm backward: gradient of shape {g.shape} ({g.dtype}) for an input of shape "
                             f"{x.shape} ({x.dtype}); they must match")
        if x_hat is None or inv_std is None:
            x_hat, inv_std = normalise_affine(x, eps, None, None)[:2]
        ctx.save_for_backward(x_hat, inv_std)
        m = x.size // x.shape[1] if x.shape[1] else 0
        scale = inv_std.astype(np.float64) if not weight else inv_std.astype(np.float64) * weight[0]
        scale = scale.astype(x.dtype)
        out = np.empty(x.shape, x.dtype)
        sum_g, sum_gx = np.empty(x.shape[1]), np.empty(x.shape[1])

        def chunk(start: int, stop: int) -> None:  # each channel chunk's passes in its core's cache
            part = slice(start, stop)
            g_c, x_hat_c = g[:, part], x_hat[:, part]
            out_c = rows(out[:, part])
            sum_gx[part] = channel_dot(g_c, x_hat_c)
            sum_g[part] = channel_sum(g_c)
            with np.errstate(invalid="ignore", divide="ignore"):
                np.multiply(rows(x_hat_c), along_rows(sum_gx[part] / m, g_c), out=out_c)
                np.subtract(rows(g_c), out_c, out=out_c)
                out_c -= along_rows(sum_g[part] / m, g_c)
            out_c *= along_rows(scale[part], g_c)

        threads.run_chunks(chunk, _channel_bounds(x))
        if sums_out is not None:
            sums_out.append((sum_g, sum_gx))
        return out

    def _statistics(ctx) -> tuple[Tensor, Tensor]:
        """(x_hat, inv_std shaped (1, C, 1, ...)) as Tensors: constants, or functions of x when the graph of this
        VJP is recorded (so it can be differentiated once more)."""
        x = ctx.inputs[1]
        x_hat, inv_std = ctx.saved
        shape = per_channel(x.ndim)
        if not (is_grad_enabled() and x.requires_grad):
            return ctx.constant(x_hat), ctx.constant(inv_std.reshape(shape))
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
        x_hat, inv_std = ctx.saved
        lent = {"eps": eps, "x_hat": x_hat, "inv_std": inv_std}
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
