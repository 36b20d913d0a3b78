"""Normalisation layers other than batch norm, with PyTorch's names, arguments, defaults and state: the functional
forms (re-exported by ``nn.functional``) and the modules (re-exported by ``nn``).

* ``layer_norm`` / ``LayerNorm``: the ``ops.normalization.LayerNorm`` primitive (one node, closed-form VJP).
* ``group_norm`` / ``GroupNorm`` and ``instance_norm`` / ``InstanceNorm1d/2d/3d``: the same primitive on the input
  reshaped to (N, G, C/G * spatial) (instance norm: G = C), then a per-channel affine map; exact gradients.
* ``local_response_norm`` / ``LocalResponseNorm``, ``normalize``, ``rms_norm`` / ``RMSNorm``: compositions of
  existing primitives (average pooling across channels, the p-norm, rsqrt).

Every function takes a floating-point input (an integer tensor is a TypeError: convert it with ``.float()``) and
keeps its dtype; weights and biases must have the input's dtype. The derivation is docs/derivations/normalization.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._checks import UNSET, as_axes, as_bool, as_dtype, as_int, as_real, is_int, spelling
from ..autograd import no_grad
from ..errors import ShapeError
from ..ops.normalization import LayerNorm as _LayerNormOp
from ..tensor_class import Tensor, as_tensor
from . import init
from .module import Module, Parameter
from .pooling import avg_pool2d

ShapeLike = int | Sequence[int]

__all__ = ["GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LayerNorm", "LocalResponseNorm",
           "RMSNorm", "group_norm", "instance_norm", "layer_norm", "local_response_norm", "normalize", "rms_norm"]


# ---- argument checks ------------------------------------------------------------------------------------------
def _float_input(op: str, x: Any) -> Tensor:
    x = as_tensor(op, "input", x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    return x


def _as_normalized_shape(op: str, normalized_shape: Any) -> tuple[int, ...]:
    """An int or a sequence of ints (>= 0) as a non-empty tuple, as PyTorch's ``normalized_shape``."""
    if is_int(normalized_shape):
        shape: tuple = (normalized_shape,)
    elif isinstance(normalized_shape, (tuple, list)) and all(is_int(n) for n in normalized_shape):
        shape = tuple(normalized_shape)
    else:
        raise TypeError(f"{op}: normalized_shape must be an int or a sequence of ints, got {normalized_shape!r} "
                        f"({type(normalized_shape).__name__})")
    if not shape:
        raise ValueError(f"{op}: normalized_shape must have at least one dimension, got (); pass e.g. the size of "
                         "the last axis")
    if min(shape) < 0:
        raise ValueError(f"{op}: normalized_shape {shape} has a negative size")
    return tuple(int(n) for n in shape)


def _check_trailing(op: str, x: Tensor, shape: tuple[int, ...]) -> None:
    if x.shape[max(x.ndim - len(shape), 0):] != shape or x.ndim < len(shape):
        raise ShapeError(f"{op}: input of shape {x.shape} does not end with normalized_shape {shape}; pass an input "
                         f"of shape (*, {', '.join(map(str, shape))}) or set normalized_shape to its last dimensions")


def _eps(op: str, eps: Any) -> float:
    return as_real(op, "eps", eps, finite=True, low=0)


def _affine(op: str, name: str, value: Any, shape: tuple[int, ...], x: Tensor, what: str) -> Tensor | None:
    """An optional weight or bias as a Tensor of ``shape`` and x's dtype; ``what`` says what the shape is."""
    if value is None:
        return None
    t = as_tensor(op, name, value)
    if t.shape != shape:
        raise ShapeError(f"{op}: {name} has shape {t.shape} but must have shape {shape} ({what})")
    if t.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but {name} is {t.dtype}; convert one with .float()/.double()")
    return t


def _per_channel(t: Tensor, ndim: int) -> Tensor:
    """A (C,) tensor shaped to broadcast along axis 1 of an (N, C, *) input."""
    return t.reshape((t.shape[0],) + (1,) * (ndim - 2))


def _grouped(x: Tensor, groups: int, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """Normalise x (N, C, *) over each group of C/groups channels and all the spatial positions: the ``LayerNorm``
    primitive on x reshaped to (N, groups, C/groups * prod(*)), then y * weight_c + bias_c."""
    n, c = x.shape[:2]
    per_group = (c // groups) * math.prod(x.shape[2:])
    y = _LayerNormOp.apply(x.reshape((n, groups, per_group)), normalized_ndim=1, eps=eps).reshape(x.shape)
    if weight is not None:
        y = y * _per_channel(weight, x.ndim)
    if bias is not None:
        y = y + _per_channel(bias, x.ndim)
    return y


# ---- the functional forms ---------------------------------------------------------------------------------------
def _layer_norm(op: str, x: Tensor, shape: tuple[int, ...], weight: Any, bias: Any, eps: float) -> Tensor:
    _check_trailing(op, x, shape)
    what = f"normalized_shape {shape}"
    w, b = _affine(op, "weight", weight, shape, x, what), _affine(op, "bias", bias, shape, x, what)
    affine = [t for t in (w, b) if t is not None]
    return _LayerNormOp.apply(x, *affine, normalized_ndim=len(shape), eps=eps, has_weight=w is not None,
                              has_bias=b is not None)


def layer_norm(input: Tensor, normalized_shape: ShapeLike, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, mean and biased var over the trailing ``normalized_shape``
    dimensions; weight and bias (optional) have shape ``normalized_shape``. (*, normalized_shape) -> same shape.
    One ``LayerNorm`` node; VJP dx = (1/sigma)/M (M gh - sum gh - x_hat sum(gh x_hat)), gh = g weight."""
    op = "layer_norm"
    x = _float_input(op, input)
    return _layer_norm(op, x, _as_normalized_shape(op, normalized_shape), weight, bias, _eps(op, eps))


def _group_norm(op: str, x: Tensor, groups: int, weight: Any, bias: Any, eps: float) -> Tensor:
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected an input of at least 2 dimensions (N, C, *), got shape {x.shape}")
    c = x.shape[1]
    if c % groups:
        raise ShapeError(f"{op}: the {c} channels of input {x.shape} are not divisible by num_groups={groups}; "
                         f"pick num_groups dividing {c}")
    if x.shape[0] * (c // groups) * math.prod(x.shape[2:]) == 1:  # PyTorch's check: one value per group
        raise ValueError(f"{op}: expected more than 1 value per group when training, got input of shape {x.shape} "
                         f"with num_groups={groups} (every output would be 0)")
    what = f"one per channel of input {x.shape}"
    w, b = _affine(op, "weight", weight, (c,), x, what), _affine(op, "bias", bias, (c,), x, what)
    return _grouped(x, groups, w, b, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalisation of x (N, C, *): the C channels split into ``num_groups`` groups, each group of each
    sample standardised over its channels and positions (biased variance, eps inside the sqrt), then
    y * weight_c + bias_c with weight, bias of shape (C,). Same shape out. The ``LayerNorm`` primitive on
    x.reshape(N, G, -1), so its gradients are that primitive's."""
    op = "group_norm"
    x = _float_input(op, input)
    return _group_norm(op, x, as_int(op, "num_groups", num_groups, low=1), weight, bias, _eps(op, eps))


def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalisation of x (N, C, *): each channel of each sample standardised over its positions, then
    y * weight_c + bias_c (weight, bias of shape (C,)). Same shape out.

    With ``use_input_stats`` (the default) the statistics are the input's (group_norm with one channel per group)
    and, when ``running_mean`` / ``running_var`` (shape (C,)) are given, they are updated in place as PyTorch does:
    r = (1 - momentum) r + momentum * (the mean over the batch of each instance's mean, resp. unbiased variance).
    Without it, x is normalised with the running statistics: (x - running_mean) / sqrt(running_var + eps).
    """
    op = "instance_norm"
    x = _float_input(op, input)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected an input of at least 2 dimensions (N, C, *), got shape {x.shape}")
    use_input_stats = as_bool(op, "use_input_stats", use_input_stats)
    momentum = as_real(op, "momentum", momentum, finite=True)
    eps = _eps(op, eps)
    c = x.shape[1]
    what = f"one per channel of input {x.shape}"
    w, b = _affine(op, "weight", weight, (c,), x, what), _affine(op, "bias", bias, (c,), x, what)
    if (running_mean is None) != (running_var is None):
        raise ValueError(f"{op}: pass both running_mean and running_var, or neither")
    stats = None
    if running_mean is not None:
        stats = [as_tensor(op, name, t) for name, t in (("running_mean", running_mean), ("running_var", running_var))]
        for name, t in zip(("running_mean", "running_var"), stats):
            if t.shape != (c,):
                raise ShapeError(f"{op}: {name} has shape {t.shape} but must have shape ({c},) ({what})")
            if t.dtype.kind != "f":
                raise TypeError(f"{op}: {name} has dtype {t.dtype}; it must be floating point")
    if not use_input_stats:
        if stats is None:
            raise ValueError(f"{op}: use_input_stats=False normalises with running_mean and running_var; pass them")
        mean, var = (_per_channel(t.astype(x.dtype) if t.dtype != x.dtype else t, x.ndim) for t in stats)
        y = (x - mean) * (var + eps).rsqrt()
        if w is not None:
            y = y * _per_channel(w, x.ndim)
        return y + _per_channel(b, x.ndim) if b is not None else y
    spatial = math.prod(x.shape[2:])
    if spatial == 1:
        raise ValueError(f"{op}: expected more than 1 spatial element when training, got input of shape {x.shape} "
                         "(each instance would normalise to 0)")
    if stats is not None and x.shape[0] and spatial:
        _update_running(x.data, stats, momentum)
    return _grouped(x, c, w, b, eps)


def _update_running(x: np.ndarray, stats: list[Tensor], momentum: float) -> None:
    """running = (1 - momentum) running + momentum * batch mean of each (n, c) instance's mean / unbiased var."""
    rows = x.reshape(x.shape[0], x.shape[1], -1)
    means = rows.mean(axis=2)
    variances = rows.var(axis=2, ddof=1)
    with no_grad():
        for t, observed in zip(stats, (means.mean(axis=0), variances.mean(axis=0))):
            t.mul_(1.0 - momentum).add_(Tensor(observed.astype(t.dtype)) * momentum)


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> Tensor:
    """b_c = a_c / (k + alpha / size * sum of a_c'^2 over the window of ``size`` channels around c)^beta, across
    axis 1 of x (N, C, *) (at least 3 dimensions); the window is zero-padded by size // 2 before and (size - 1) // 2
    after, as PyTorch. Composed of a square, an average pool across channels, a power and a division."""
    op = "local_response_norm"
    x = _float_input(op, input)
    if x.ndim < 3:
        raise ShapeError(f"{op}: expected an input of at least 3 dimensions (N, C, *), got shape {x.shape}")
    size = as_int(op, "size", size, low=1)
    alpha, beta, k = (as_real(op, name, v, finite=True) for name, v in (("alpha", alpha), ("beta", beta), ("k", k)))
    if x.size == 0:
        return x
    n, c = x.shape[:2]
    squares = (x * x).reshape((n, 1, c, x.size // (n * c)))
    padded = squares.pad(((0, 0), (0, 0), (size // 2, (size - 1) // 2), (0, 0)))
    window_mean = avg_pool2d(padded, (size, 1), stride=1).reshape(x.shape)
    return x / (window_mean * alpha + k) ** beta


def normalize(input: Tensor, p: float = 2.0, dim: int | tuple[int, ...] = UNSET, eps: float = 1e-12, *,
              axis: int | tuple[int, ...] = UNSET) -> Tensor:
    """x / max(||x||_p, eps), the p-norm over ``dim`` (default 1; an int or a tuple; NumPy's ``axis`` also
    accepted) kept for broadcasting, as PyTorch's F.normalize. The gradient through the norm is 0 where the norm is
    below eps (a zero vector gives 0 and a zero gradient)."""
    op = "normalize"
    x = _float_input(op, input)
    p = as_real(op, "p", p)
    if math.isnan(p):
        raise ValueError(f"{op}: p must be a number, got nan")
    eps = _eps(op, eps)
    axes = as_axes(op, spelling(op, ("dim", dim), ("axis", axis), 1), x.ndim)
    return x / x.norm(p, dim=axes, keepdim=True).clamp(min=eps)


def _rms_norm(op: str, x: Tensor, shape: tuple[int, ...], weight: Any, eps: Any) -> Tensor:
    _check_trailing(op, x, shape)
    w = _affine(op, "weight", weight, shape, x, f"normalized_shape {shape}")
    eps = float(np.finfo(x.dtype).eps) if eps is None else _eps(op, eps)
    axes = tuple(range(x.ndim - len(shape), x.ndim))
    y = x * ((x * x).mean(dim=axes, keepdim=True) + eps).rsqrt()
    return y * w if w is not None else y


def rms_norm(input: Tensor, normalized_shape: ShapeLike, weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """x / sqrt(mean(x^2) + eps) * weight, the mean over the trailing ``normalized_shape`` dimensions; weight
    (optional) has shape ``normalized_shape``; eps None is the machine epsilon of x's dtype (as PyTorch). Composed of
    a square, a mean, rsqrt and products."""
    op = "rms_norm"
    x = _float_input(op, input)
    return _rms_norm(op, x, _as_normalized_shape(op, normalized_shape), weight, eps)


# ---- the layers --------------------------------------------------------------------------------------------------
def _float_dtype(layer: str, dtype: Any) -> np.dtype:
    dtype = as_dtype(layer, np.float32 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dtype}")
    return dtype


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the trailing ``normalized_shape`` dimensions:
    (*, normalized_shape) -> the same shape; weight (ones) and bias (zeros) of shape ``normalized_shape`` when
    ``elementwise_affine`` (bias only when ``bias``)."""

    def __init__(self, normalized_shape: ShapeLike, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _as_normalized_shape("LayerNorm", normalized_shape)
        self.eps = _eps("LayerNorm", eps)
        self.elementwise_affine = as_bool("LayerNorm", "elementwise_affine", elementwise_affine)
        bias = as_bool("LayerNorm", "bias", bias)
        dtype = _float_dtype("LayerNorm", dtype)
        affine = self.elementwise_affine
        self.register_parameter("weight", Parameter(np.ones(self.normalized_shape, dtype)) if affine else None)
        self.register_parameter("bias", Parameter(np.zeros(self.normalized_shape, dtype)) if affine and bias else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        x = _float_input("LayerNorm", input)
        return _layer_norm("LayerNorm", x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}, "
                f"bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation of (N, num_channels, *): the channels in ``num_groups`` groups, each standardised per
    sample over its channels and positions, then weight_c (ones) and bias_c (zeros) when ``affine``."""

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        self.num_groups = as_int("GroupNorm", "num_groups", num_groups, low=1)
        self.num_channels = as_int("GroupNorm", "num_channels", num_channels, low=1)
        if self.num_channels % self.num_groups:
            raise ValueError(f"GroupNorm: num_channels ({self.num_channels}) must be divisible by num_groups "
                             f"({self.num_groups})")
        self.eps = _eps("GroupNorm", eps)
        self.affine = as_bool("GroupNorm", "affine", affine)
        bias = as_bool("GroupNorm", "bias", bias)
        dtype = _float_dtype("GroupNorm", dtype)
        c = self.num_channels
        self.register_parameter("weight", Parameter(np.ones(c, dtype)) if self.affine else None)
        self.register_parameter("bias", Parameter(np.zeros(c, dtype)) if self.affine and bias else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        x = _float_input("GroupNorm", input)
        if self.affine and x.ndim >= 2 and x.shape[1] != self.num_channels:
            raise ShapeError(f"GroupNorm: input of shape {x.shape} has {x.shape[1]} channels (dim 1) but the layer "
                             f"was built with num_channels={self.num_channels}; pass (N, {self.num_channels}, *) "
                             f"or build GroupNorm({self.num_groups}, {x.shape[1]})")
        return _group_norm("GroupNorm", x, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(Module):
    """Instance normalisation over the ``spatial`` trailing axes of (N, C, *spatial) or unbatched (C, *spatial)."""

    spatial = 0

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = False,
                 track_running_stats: bool = False, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = as_int(name, "num_features", num_features, low=1)
        self.eps = _eps(name, eps)
        self.momentum = None if momentum is None else as_real(name, "momentum", momentum, finite=True)
        self.affine = as_bool(name, "affine", affine)
        self.track_running_stats = as_bool(name, "track_running_stats", track_running_stats)
        bias = as_bool(name, "bias", bias)
        dtype = _float_dtype(name, dtype)
        c = self.num_features
        self.register_parameter("weight", Parameter(np.ones(c, dtype)) if self.affine else None)
        self.register_parameter("bias", Parameter(np.zeros(c, dtype)) if self.affine and bias else None)
        tracking = self.track_running_stats
        self.register_buffer("running_mean", Tensor(np.zeros(c, dtype)) if tracking else None)
        self.register_buffer("running_var", Tensor(np.ones(c, dtype)) if tracking else None)
        self.register_buffer("num_batches_tracked", Tensor(np.zeros((), np.int64)) if tracking else None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            with no_grad():
                self.running_mean.zero_()
                self.running_var.fill_(1.0)
                self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        name = type(self).__name__
        x = _float_input(name, input)
        k = self.spatial
        if x.ndim not in (k + 1, k + 2):
            axes = {1: "L", 2: "H, W", 3: "D, H, W"}[k]
            raise ShapeError(f"{name}: expected a {k + 1}-D (C, {axes}) or {k + 2}-D (N, C, {axes}) input, got shape "
                             f"{x.shape}")
        channel_dim = x.ndim - k - 1
        if x.shape[channel_dim] != self.num_features:
            message = (f"{name}: input of shape {x.shape} has {x.shape[channel_dim]} channels (dim {channel_dim}) but "
                       f"the layer was built with num_features={self.num_features}")
            if self.affine or self.track_running_stats:
                raise ShapeError(f"{message}; pass {self.num_features} channels or build "
                                 f"{name}({x.shape[channel_dim]})")
            warnings.warn(f"{message}; num_features is not used because affine=False and "
                          "track_running_stats=False", stacklevel=2)
        use_input_stats = self.training or not self.track_running_stats
        if use_input_stats and math.prod(x.shape[channel_dim + 1:]) == 1:
            raise ValueError(f"{name}: expected more than 1 spatial element when training, got input of shape "
                             f"{x.shape} (each instance would normalise to 0)")
        batched = x if x.ndim == k + 2 else x.unsqueeze(0)
        y = instance_norm(batched, self.running_mean, self.running_var, self.weight, self.bias,
                          use_input_stats=use_input_stats,
                          momentum=0.0 if self.momentum is None else self.momentum, eps=self.eps)
        return y if x.ndim == k + 2 else y.squeeze(0)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation of (N, C, L) or (C, L): each channel of each sample over its L positions; weight and
    bias (C,) when ``affine``; running statistics (buffers) when ``track_running_stats``, used in eval mode."""

    spatial = 1


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation of (N, C, H, W) or (C, H, W): each channel of each image over its H W pixels; weight
    and bias (C,) when ``affine``; running statistics (buffers) when ``track_running_stats``, used in eval mode."""

    spatial = 2


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation of (N, C, D, H, W) or (C, D, H, W): each channel of each volume over its D H W voxels;
    weight and bias (C,) when ``affine``; running statistics when ``track_running_stats``, used in eval mode."""

    spatial = 3


class LocalResponseNorm(Module):
    """b_c = a_c / (k + alpha / size * sum_{c' in the window of size channels around c} a_c'^2)^beta, across the
    channels (axis 1) of (N, C, *); see ``F.local_response_norm``."""

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0) -> None:
        super().__init__()
        self.size = as_int("LocalResponseNorm", "size", size, low=1)
        self.alpha, self.beta, self.k = (as_real("LocalResponseNorm", n, v, finite=True)
                                         for n, v in (("alpha", alpha), ("beta", beta), ("k", k)))

    def forward(self, input: Tensor) -> Tensor:
        x = _float_input("LocalResponseNorm", input)
        if x.ndim < 3:
            raise ShapeError(f"LocalResponseNorm: expected an input of at least 3 dimensions (N, C, *), got shape "
                             f"{x.shape}")
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    """y = x / sqrt(mean(x^2) + eps) * weight over the trailing ``normalized_shape`` dimensions; weight (ones) of
    shape ``normalized_shape`` when ``elementwise_affine``; eps None is the machine epsilon of the input's dtype."""

    def __init__(self, normalized_shape: ShapeLike, eps: float | None = None, elementwise_affine: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        self.normalized_shape = _as_normalized_shape("RMSNorm", normalized_shape)
        self.eps = None if eps is None else _eps("RMSNorm", eps)
        self.elementwise_affine = as_bool("RMSNorm", "elementwise_affine", elementwise_affine)
        dtype = _float_dtype("RMSNorm", dtype)
        self.register_parameter("weight", Parameter(np.ones(self.normalized_shape, dtype))
                                if self.elementwise_affine else None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input: Tensor) -> Tensor:
        x = _float_input("RMSNorm", input)
        return _rms_norm("RMSNorm", x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
