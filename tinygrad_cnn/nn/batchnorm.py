"""Batch normalisation: ``F.batch_norm`` and the layers ``BatchNorm1d``, ``BatchNorm2d``, ``BatchNorm3d``.

Both compute with the ``BatchNorm`` primitive (ops/batchnorm.py): one forward pass and a closed-form VJP,
differentiable to any order. Training mode normalises each channel with its batch statistics and updates the
running statistics in place, as PyTorch does: running_mean <- (1 - momentum) running_mean + momentum mean,
running_var <- (1 - momentum) running_var + momentum var * M / (M - 1) (the unbiased variance), M the number of
elements per channel. Eval mode normalises with the running statistics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .._checks import as_bool, as_dtype, as_int, as_real
from ..device import check_device
from ..errors import ShapeError
from ..ops.batchnorm import BatchNorm
from ..tensor_class import Tensor, as_tensor
from ..versions import mark_modified
from . import init
from .module import Module, Parameter


def _per_channel(op: str, name: str, value: Any, x: Tensor, buffer: bool) -> Tensor | None:
    """An optional (C,) argument as a Tensor of the input's dtype (TypeError / ShapeError naming it otherwise).
    Running statistics (``buffer``) must already be Tensors: they are updated in place."""
    if value is None:
        return None
    if buffer:
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor or None (it is updated in place), got "
                            f"{type(value).__name__}; wrap it with tg.tensor(...)")
    else:
        value = as_tensor(op, name, value)
    channels = x.shape[1]
    if value.shape != (channels,):
        raise ShapeError(f"{op}: {name} has shape {value.shape}, but the input {x.shape} has {channels} channels "
                         f"along axis 1; pass a {name} of shape ({channels},)")
    if value.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {value.dtype} and the input {x.dtype}; convert one of them "
                        "(.float() or .double())")
    return value


def _update(buffer: Tensor, new: np.ndarray) -> None:
    """Write ``new`` into ``buffer`` in place (recorded as a write), or give it a new array if it is read-only."""
    if buffer.data.flags.writeable:
        np.copyto(buffer.data, new, casting="unsafe")
        mark_modified(buffer.data)
    else:
        buffer.data = new.astype(buffer.dtype)


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None, weight: Tensor | None = None,
               bias: Tensor | None = None, training: bool = False, momentum: float = 0.1,
               eps: float = 1e-5) -> Tensor:
    """Batch normalisation of ``input`` (N, C, *spatial) per channel c, over its M = N * prod(spatial) elements:
    y = (x - mean) / sqrt(var + eps) * weight + bias -> the input's shape; weight and bias (C,) are optional.

    ``training=True``: the batch mean and biased variance; ``running_mean`` / ``running_var`` (C,), when given,
    are updated in place with ``momentum`` (the variance unbiased, times M / (M - 1)). ``training=False``: the
    running statistics are used instead (both are required). VJP (training): dx = weight / (M sqrt(var + eps)) *
    (M g - sum(g) - x_hat sum(g x_hat)), dweight = sum(g x_hat), dbias = sum(g), the sums over all axes but C.
    """
    x = as_tensor("batch_norm", "input", input)
    if x.dtype.kind != "f":
        raise TypeError(f"batch_norm: input has dtype {x.dtype}; convert it with .float()")
    if x.ndim < 2:
        raise ShapeError(f"batch_norm: expected an input (N, C, *spatial) of at least 2 dimensions, got shape "
                         f"{x.shape}; add the batch axis with x.unsqueeze(0) or the channel axis with "
                         "x.unsqueeze(1)")
    training = as_bool("batch_norm", "training", training)
    momentum = as_real("batch_norm", "momentum", momentum, finite=True)
    eps = as_real("batch_norm", "eps", eps, finite=True, low=0.0)
    running_mean = _per_channel("batch_norm", "running_mean", running_mean, x, buffer=True)
    running_var = _per_channel("batch_norm", "running_var", running_var, x, buffer=True)
    weight = _per_channel("batch_norm", "weight", weight, x, buffer=False)
    bias = _per_channel("batch_norm", "bias", bias, x, buffer=False)
    affine = [t for t in (weight, bias) if t is not None]
    flags = {"eps": eps, "has_weight": weight is not None, "has_bias": bias is not None}
    if not training:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: eval mode (training=False) normalises with running_mean and running_var, "
                             "so both must be given; pass training=True to use the batch statistics")
        return BatchNorm.apply(x, *affine, training=False, running_mean=running_mean.data,
                               running_var=running_var.data, **flags)
    m = x.size // x.shape[1] if x.shape[1] else 0
    if m == 1:
        raise ValueError(f"batch_norm: Expected more than 1 value per channel when training, got input size "
                         f"{x.shape}")
    stats: list = []
    y = BatchNorm.apply(x, *affine, training=True, stats_out=stats, **flags)
    if m > 1:  # an empty batch leaves the running statistics as they were (as PyTorch)
        mean, var = stats[0]
        if running_mean is not None:
            _update(running_mean, (1.0 - momentum) * running_mean.data + momentum * mean)
        if running_var is not None:
            _update(running_var, (1.0 - momentum) * running_var.data + momentum * (var * (m / (m - 1))))
    return y


class _BatchNorm(Module):
    """The shared body of BatchNorm1d/2d/3d; a subclass sets ``_ranks`` (the input ranks it accepts)."""

    _ranks: tuple[int, ...] = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        super().__init__()
        name = type(self).__name__
        self.num_features = as_int(name, "num_features", num_features, low=1)
        self.eps = as_real(name, "eps", eps, finite=True, low=0.0)
        self.momentum = None if momentum is None else as_real(name, "momentum", momentum, finite=True)
        self.affine = as_bool(name, "affine", affine)
        self.track_running_stats = as_bool(name, "track_running_stats", track_running_stats)
        use_bias = as_bool(name, "bias", bias)
        check_device(name, device)
        dtype = as_dtype(name, np.float32 if dtype is None else dtype)
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: dtype must be float32 or float64, got {dtype}")
        c = self.num_features
        if self.affine:
            self.weight = Parameter(np.ones(c, dtype))
            self.register_parameter("bias", Parameter(np.zeros(c, dtype)) if use_bias else None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", Tensor(np.zeros(c, dtype)))
            self.register_buffer("running_var", Tensor(np.ones(c, dtype)))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, dtype=np.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean <- 0, running_var <- 1, num_batches_tracked <- 0 (when the layer tracks them)."""
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            _update(self.num_batches_tracked, np.zeros((), np.int64))

    def reset_parameters(self) -> None:
        """reset_running_stats(), then weight <- 1 and bias <- 0 (when affine)."""
        self.reset_running_stats()
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self._ranks:
            wanted = " or ".join(f"{r}D" for r in self._ranks)
            hint = ""
            if x.ndim + 1 in self._ranks:
                hint = "; add the batch axis with x.unsqueeze(0)"
            raise ValueError(f"{name}: expected {wanted} input (got {x.ndim}D input); the input has shape "
                             f"{x.shape}{hint}")
        if x.dtype.kind != "f":
            raise TypeError(f"{name}: input has dtype {x.dtype}; convert it with .float()")
        if x.shape[1] != self.num_features:
            raise ShapeError(f"{name}({self.num_features}): expected {self.num_features} channels along axis 1 "
                             f"(num_features), got input of shape {x.shape}; create the layer as "
                             f"{name}({x.shape[1]}) or check the layer before it")
        own = self.weight if self.weight is not None else self.running_mean
        if own is not None and own.dtype != x.dtype:
            raise TypeError(f"{name}: input has dtype {x.dtype} and the layer {own.dtype}; convert the input "
                            f"(x.float() / x.double()) or the layer (.to({x.dtype}))")

    def forward(self, input: Tensor) -> Tensor:
        """Normalise with the batch statistics (training, or ``track_running_stats=False``) or the running ones."""
        x = as_tensor(type(self).__name__, "input", input)
        self._check_input(x)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            if x.size // x.shape[1] == 1:  # refused before the count changes
                raise ValueError(f"{type(self).__name__}: Expected more than 1 value per channel when training, got "
                                 f"input size {x.shape}")
            _update(self.num_batches_tracked, self.num_batches_tracked.data + 1)
            if self.momentum is None:  # the cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked.data)
        batch_stats = self.training or (self.running_mean is None and self.running_var is None)
        keep = not self.training or self.track_running_stats
        return batch_norm(x, self.running_mean if keep else None, self.running_var if keep else None,
                          self.weight, self.bias, batch_stats, factor, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"bias={self.bias is not None}, track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch norm over (N, C) or (N, C, L) inputs, statistics per channel C over N (and L). See ``F.batch_norm``."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch norm over (N, C, H, W) images, statistics per channel over N, H, W. See ``F.batch_norm``."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch norm over (N, C, D, H, W) volumes, statistics per channel over N, D, H, W. See ``F.batch_norm``."""

    _ranks = (5,)
