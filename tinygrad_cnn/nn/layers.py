"""The layers: thin modules over the functional API ``F``, holding parameters and hyperparameters.

Linear and Conv2d are initialised as PyTorch does by default: weights ``kaiming_uniform_(a=sqrt(5))``, i.e.
$U(-1/\\sqrt{\\text{fan\\_in}}, 1/\\sqrt{\\text{fan\\_in}})$, and biases from the same interval.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._checks import (
    UNSET,
    allocate,
    as_bool,
    as_choice,
    as_dtype,
    as_int,
    as_pair,
    as_real,
    as_shape,
    as_single,
    is_int,
    spelling,
)
from ..autograd import no_grad
from ..errors import ShapeError
from ..tensor_class import Tensor
from . import functional as F
from . import init
from .activations import _log_softmax_along
from .containers import Sequential
from .layer_ops import embedding_lookup
from .module import Module, Parameter

IntPair = int | tuple[int, int]


def _float_dtype(layer: str, dtype: Any) -> np.dtype:
    dtype = as_dtype(layer, np.float32 if dtype is None else dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{layer}: dtype must be float32 or float64, got {dtype}")
    return dtype


def _reset(weight: Parameter, bias: Parameter | None) -> None:
    """PyTorch's default: weight ~ kaiming_uniform(a=sqrt(5)), bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    init.kaiming_uniform_(weight, a=math.sqrt(5))
    if bias is not None:
        fan_in, _ = init.calculate_fan_in_and_fan_out(weight)
        bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        init.uniform_(bias, -bound, bound)


def _inplace_repr(module: Module) -> str:
    return "inplace=True" if module.inplace else ""


def _join(*parts: str) -> str:
    return ", ".join(p for p in parts if p)


class Linear(Module):
    """$y = x W^T + b$: (..., in_features) -> (..., out_features); W (out_features, in_features), b (out_features,)."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype: Any = None) -> None:
        super().__init__()
        self.in_features = as_int("Linear", "in_features", in_features, low=1)
        self.out_features = as_int("Linear", "out_features", out_features, low=1)
        dtype = _float_dtype("Linear", dtype)
        shape = as_shape("Linear", (self.out_features, self.in_features), dtype.itemsize)
        self.weight = Parameter(allocate("Linear", np.empty, shape, dtype))
        bias = as_bool("Linear", "bias", bias)
        self.register_parameter("bias", Parameter(np.empty(self.out_features, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Conv2d(Module):
    """2-D cross-correlation of NCHW images: (N, in_channels, H, W) -> (N, out_channels, H', W') with
    $H' = \\lfloor (H + 2p - d(k - 1) - 1) / s \\rfloor + 1$; weight (out_channels, in_channels/groups, kH, kW)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, dilation: IntPair = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_channels = as_int("Conv2d", "in_channels", in_channels, low=1)
        self.out_channels = as_int("Conv2d", "out_channels", out_channels, low=1)
        self.groups = as_int("Conv2d", "groups", groups, low=1)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(f"Conv2d: in_channels={in_channels} and out_channels={out_channels} must both be "
                             f"divisible by groups={groups}")
        self.kernel_size = as_pair("Conv2d", "kernel_size", kernel_size, 1)
        self.stride = as_pair("Conv2d", "stride", stride, 1)
        self.padding = as_pair("Conv2d", "padding", padding, 0)
        self.dilation = as_pair("Conv2d", "dilation", dilation, 1)
        dtype = _float_dtype("Conv2d", dtype)
        shape = as_shape("Conv2d", (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                         dtype.itemsize)
        self.weight = Parameter(allocate("Conv2d", np.empty, shape, dtype))
        bias = as_bool("Conv2d", "bias", bias)
        self.register_parameter("bias", Parameter(np.empty(self.out_channels, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _reset(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                        dilation=self.dilation, groups=self.groups)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        if self.bias is None:
            text += ", bias=False"
        return text


class MaxPool2d(Module):
    """Maximum over each (kernel_size) window: (N, C, H, W) -> (N, C, H', W'); stride defaults to kernel_size.
    ``return_indices`` makes the layer return (values, indices) for MaxUnpool2d; see ``F.max_pool2d``."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 dilation: IntPair = 1, return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        as_pair("MaxPool2d", "kernel_size", kernel_size, 1)
        as_pair("MaxPool2d", "stride", kernel_size if stride is None else stride, 1)
        as_pair("MaxPool2d", "padding", padding, 0)
        as_pair("MaxPool2d", "dilation", dilation, 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation
        self.return_indices = as_bool("MaxPool2d", "return_indices", return_indices)
        self.ceil_mode = as_bool("MaxPool2d", "ceil_mode", ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding, dilation=self.dilation,
                            ceil_mode=self.ceil_mode, return_indices=self.return_indices)

    def extra_repr(self) -> str:
        text = f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation={self.dilation}"
        return text + (", ceil_mode=True" if self.ceil_mode else "")


class AvgPool2d(Module):
    """Mean over each (kernel_size) window (zero padding counted unless count_include_pad=False):
    (N, C, H, W) -> (N, C, H', W'); see ``F.avg_pool2d``."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> None:
        super().__init__()
        as_pair("AvgPool2d", "kernel_size", kernel_size, 1)
        as_pair("AvgPool2d", "stride", kernel_size if stride is None else stride, 1)
        as_pair("AvgPool2d", "padding", padding, 0)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding
        self.ceil_mode = as_bool("AvgPool2d", "ceil_mode", ceil_mode)
        self.count_include_pad = as_bool("AvgPool2d", "count_include_pad", count_include_pad)
        self.divisor_override = (None if divisor_override is None
                                 else as_int("AvgPool2d", "divisor_override", divisor_override, low=1))

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding, ceil_mode=self.ceil_mode,
                            count_include_pad=self.count_include_pad, divisor_override=self.divisor_override)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class ReLU(Module):
    """$\\max(x, 0)$ elementwise."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("ReLU", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class Sigmoid(Module):
    """$1 / (1 + e^{-x})$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """$\\tanh x$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Flatten(Module):
    """Merge the axes ``start_dim`` to ``end_dim`` (inclusive) into one: (N, C, H, W) -> (N, C*H*W) with the
    defaults start_dim=1, end_dim=-1, as PyTorch; NumPy-style ``start_axis=`` / ``end_axis=`` are accepted too."""

    def __init__(self, start_dim: int = UNSET, end_dim: int = UNSET, *, start_axis: int = UNSET,
                 end_axis: int = UNSET) -> None:
        super().__init__()
        start = spelling("Flatten", ("start_dim", start_dim), ("start_axis", start_axis), 1)
        end = spelling("Flatten", ("end_dim", end_dim), ("end_axis", end_axis), -1)
        self.start_dim = as_int("Flatten", "start_dim", start)
        self.end_dim = as_int("Flatten", "end_dim", end)

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _DropoutNd(Module):
    """What the dropout layers share: ``p`` (checked here, as PyTorch) and ``inplace``; identity in eval mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        name = type(self).__name__
        self.p = as_real(name, "p", p)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"{name}: p must be in [0, 1], got {p} (the probability of zeroing an element)")
        self.inplace = as_bool(name, "inplace", inplace)

    def extra_repr(self) -> str:
        return _join(f"p={self.p}", _inplace_repr(self))


class Dropout(_DropoutNd):
    """In training, zero each element with probability p and scale the rest by 1/(1-p); identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training, inplace=self.inplace)


class Dropout1d(_DropoutNd):
    """In training, zero whole channels of (N, C, L) or (C, L) inputs with probability p, scale the rest by
    1/(1-p) (``F.dropout1d``); identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout1d(x, self.p, training=self.training, inplace=self.inplace)


class Dropout2d(_DropoutNd):
    """In training, zero whole channels of (N, C, H, W) or (C, H, W) inputs with probability p, scale the rest by
    1/(1-p) (``F.dropout2d``); identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout2d(x, self.p, training=self.training, inplace=self.inplace)


class Dropout3d(_DropoutNd):
    """In training, zero whole channels of (N, C, D, H, W) or (C, D, H, W) inputs with probability p, scale the
    rest by 1/(1-p) (``F.dropout3d``); identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout3d(x, self.p, training=self.training, inplace=self.inplace)


class AlphaDropout(_DropoutNd):
    """Dropout for SELU networks (``F.alpha_dropout``): keeps zero mean and unit variance; identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.alpha_dropout(x, self.p, training=self.training, inplace=self.inplace)


class FeatureAlphaDropout(_DropoutNd):
    """Alpha dropout of whole channels of (N, C, *) inputs (``F.feature_alpha_dropout``); identity in eval mode."""

    def forward(self, x: Tensor) -> Tensor:
        return F.feature_alpha_dropout(x, self.p, training=self.training, inplace=self.inplace)


class Threshold(Module):
    """x where x > threshold, ``value`` elsewhere (``F.threshold``)."""

    def __init__(self, threshold: float, value: float, inplace: bool = False) -> None:
        super().__init__()
        self.threshold = as_real("Threshold", "threshold", threshold, low=-math.inf)
        self.value = as_real("Threshold", "value", value, low=-math.inf)
        self.inplace = as_bool("Threshold", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.threshold(x, self.threshold, self.value, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _join(f"threshold={self.threshold}, value={self.value}", _inplace_repr(self))


class Identity(Module):
    """Returns its input unchanged (the same object); any constructor arguments are accepted and ignored."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Any) -> Any:
        return input


class Unflatten(Module):
    """Split axis ``dim`` into ``unflattened_size``: e.g. dim=1, (C, H, W): (N, C*H*W) -> (N, C, H, W); one size
    may be -1 (inferred). A reshape, so the VJP is the reshape back."""

    def __init__(self, dim: int, unflattened_size: tuple[int, ...] | list[int]) -> None:
        super().__init__()
        self.dim = as_int("Unflatten", "dim", dim)
        if not isinstance(unflattened_size, (tuple, list)) or not all(is_int(n) for n in unflattened_size):
            raise TypeError(f"Unflatten: unflattened_size must be a tuple or list of ints, got {unflattened_size!r}")
        sizes = tuple(int(n) for n in unflattened_size)
        if not sizes or sizes.count(-1) > 1 or any(n < -1 for n in sizes):
            raise ValueError(f"Unflatten: unflattened_size must hold sizes >= 0 with at most one -1, got {sizes}")
        self.unflattened_size = sizes

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"Unflatten: expected a Tensor, got {type(x).__name__}")
        if not -x.ndim <= self.dim < max(x.ndim, 1) or x.ndim == 0:
            raise ShapeError(f"Unflatten: dim={self.dim} is out of range for an input of shape {x.shape}")
        d = self.dim % x.ndim
        n, sizes = x.shape[d], self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        if (-1 not in sizes and known != n) or (-1 in sizes and (known == 0 or n % known)):
            raise ShapeError(f"Unflatten: sizes {sizes} do not multiply to the size {n} of dimension {self.dim} "
                             f"of the input of shape {x.shape}")
        if -1 in sizes:
            sizes = tuple(n // known if s == -1 else s for s in sizes)
        return x.reshape(x.shape[:d] + sizes + x.shape[d + 1:])

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class Embedding(Module):
    """A lookup table: integer indices of any shape (*) -> rows of ``weight`` (num_embeddings, embedding_dim),
    out (*, embedding_dim) (``F.embedding``). ``weight`` ~ N(0, 1) with the ``padding_idx`` row zero; that row
    gets no gradient. ``max_norm`` rescales looked-up rows with a larger norm, in place, as PyTorch."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                 sparse: bool = False, _weight: Tensor | None = None, _freeze: bool = False,
                 dtype: Any = None) -> None:
        super().__init__()
        self.num_embeddings = as_int("Embedding", "num_embeddings", num_embeddings, low=0)
        self.embedding_dim = as_int("Embedding", "embedding_dim", embedding_dim, low=0)
        n = self.num_embeddings
        if padding_idx is not None:
            if not is_int(padding_idx):
                raise TypeError(f"Embedding: padding_idx must be an int or None, got {padding_idx!r}")
            if not -n <= int(padding_idx) < n:
                raise ValueError(f"Embedding: padding_idx={padding_idx} must be within num_embeddings "
                                 f"([{-n}, {n - 1}])")
            padding_idx = int(padding_idx) % n
        self.padding_idx = padding_idx
        self.max_norm = None if max_norm is None else as_real("Embedding", "max_norm", max_norm, low=0)
        self.norm_type = as_real("Embedding", "norm_type", norm_type)
        self.scale_grad_by_freq = as_bool("Embedding", "scale_grad_by_freq", scale_grad_by_freq)
        self.sparse = as_bool("Embedding", "sparse", sparse)
        if self.sparse:
            raise NotImplementedError("Embedding: sparse=True asks for sparse gradients, and this library has no "
                                      "sparse tensors; pass sparse=False (the same gradient, stored dense)")
        if _weight is None:
            dtype = _float_dtype("Embedding", dtype)
            shape = as_shape("Embedding", (n, self.embedding_dim), dtype.itemsize)
            self.weight = Parameter(allocate("Embedding", np.empty, shape, dtype), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            weight = _weight if isinstance(_weight, Tensor) else Tensor(_weight)
            if weight.shape != (n, self.embedding_dim):
                raise ShapeError(f"Embedding: _weight has shape {weight.shape}, expected (num_embeddings, "
                                 f"embedding_dim) = {(n, self.embedding_dim)}")
            self.weight = Parameter(weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        """weight ~ N(0, 1), the padding_idx row set to zero (as PyTorch)."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0.0

    @classmethod
    def from_pretrained(cls, embeddings: Any, freeze: bool = True, padding_idx: int | None = None,
                        max_norm: float | None = None, norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:
        """An Embedding whose weight is ``embeddings`` (2-D, shared not copied); ``freeze=True`` keeps it fixed
        (requires_grad False). The padding_idx row is not zeroed (as PyTorch)."""
        embeddings = embeddings if isinstance(embeddings, Tensor) else Tensor(embeddings)
        if embeddings.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D (num_embeddings, embedding_dim), "
                             f"got shape {embeddings.shape}")
        return cls(embeddings.shape[0], embeddings.shape[1], padding_idx=padding_idx, max_norm=max_norm,
                   norm_type=norm_type, scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=as_bool("Embedding.from_pretrained", "freeze", freeze))

    def forward(self, input: Any) -> Tensor:
        return embedding_lookup(f"Embedding({self.num_embeddings}, {self.embedding_dim})", input, self.weight,
                                self.padding_idx, self.max_norm, self.norm_type, self.scale_grad_by_freq)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            text += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            text += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            text += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            text += ", scale_grad_by_freq=True"
        return text


# ---- activations (F.* of nn/activations.py; PyTorch's names, arguments and defaults) ---------------------------
class LeakyReLU(Module):
    """$x$ for $x > 0$, $\\text{negative\\_slope} \\cdot x$ elsewhere."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = as_real("LeakyReLU", "negative_slope", negative_slope, low=-math.inf)
        self.inplace = as_bool("LeakyReLU", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.leaky_relu(x, self.negative_slope, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _join(f"negative_slope={self.negative_slope}", _inplace_repr(self))


class Hardtanh(Module):
    """$\\min(\\max(x, \\text{min\\_val}), \\text{max\\_val})$; the derivative is 0 at both bounds."""

    def __init__(self, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("Hardtanh", "inplace", inplace)
        self.min_val = as_real("Hardtanh", "min_val", min_val, low=-math.inf)
        self.max_val = as_real("Hardtanh", "max_val", max_val, low=-math.inf)
        if self.min_val > self.max_val:
            raise ValueError(f"Hardtanh: min_val={min_val} is greater than max_val={max_val}; swap them")

    def forward(self, x: Tensor) -> Tensor:
        return F.hardtanh(x, self.min_val, self.max_val, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _join(f"min_val={self.min_val}, max_val={self.max_val}", _inplace_repr(self))


class ReLU6(Module):
    """$\\min(\\max(x, 0), 6)$; the derivative is 0 at 0 and at 6."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("ReLU6", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class ELU(Module):
    """$x$ for $x > 0$, $\\alpha (e^x - 1)$ elsewhere."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = as_real("ELU", "alpha", alpha, finite=True)
        self.inplace = as_bool("ELU", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.elu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _join(f"alpha={self.alpha}", _inplace_repr(self))


class CELU(Module):
    """$\\max(0, x) + \\min(0, \\alpha (e^{x/\\alpha} - 1))$, alpha nonzero."""

    def __init__(self, alpha: float = 1.0, inplace: bool = False) -> None:
        super().__init__()
        self.alpha = as_real("CELU", "alpha", alpha, finite=True)
        self.inplace = as_bool("CELU", "inplace", inplace)
        if self.alpha == 0:
            raise ValueError("CELU: alpha must be nonzero (celu divides by it), got 0")

    def forward(self, x: Tensor) -> Tensor:
        return F.celu(x, self.alpha, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _join(f"alpha={self.alpha}", _inplace_repr(self))


class SELU(Module):
    """$\\lambda \\, \\text{elu}(x, \\alpha)$ with $\\alpha \\approx 1.6733$, $\\lambda \\approx 1.0507$."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("SELU", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.selu(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class GELU(Module):
    """$x \\Phi(x)$ (``approximate='none'``, with erf) or its tanh approximation (``approximate='tanh'``)."""

    def __init__(self, approximate: str = "none") -> None:
        super().__init__()
        self.approximate = as_choice("GELU", "approximate", approximate, ("none", "tanh"))

    def forward(self, x: Tensor) -> Tensor:
        return F.gelu(x, approximate=self.approximate)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """$x \\, \\sigma(x)$ (swish)."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("SiLU", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.silu(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class Mish(Module):
    """$x \\tanh(\\text{softplus}(x))$."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("Mish", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.mish(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class Softplus(Module):
    """$\\log(1 + e^{\\beta x}) / \\beta$, linear where $\\beta x > \\text{threshold}$; never overflows."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        super().__init__()
        self.beta = as_real("Softplus", "beta", beta, finite=True)
        if self.beta == 0:
            raise ValueError("Softplus: beta must be nonzero (softplus divides by it), got 0")
        self.threshold = as_real("Softplus", "threshold", threshold)

    def forward(self, x: Tensor) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}"


class Softsign(Module):
    """$x / (1 + |x|)$."""

    def forward(self, x: Tensor) -> Tensor:
        return F.softsign(x)


class Hardsigmoid(Module):
    """$\\text{relu6}(x + 3) / 6$; the derivative is 0 at -3 and 3."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("Hardsigmoid", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.hardsigmoid(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class Hardswish(Module):
    """$x \\, \\text{relu6}(x + 3) / 6$."""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = as_bool("Hardswish", "inplace", inplace)

    def forward(self, x: Tensor) -> Tensor:
        return F.hardswish(x, inplace=self.inplace)

    def extra_repr(self) -> str:
        return _inplace_repr(self)


class LogSigmoid(Module):
    """$\\log \\sigma(x)$, stable at any magnitude."""

    def forward(self, x: Tensor) -> Tensor:
        return F.logsigmoid(x)


class _AlongDim(Module):
    """A softmax-like layer along ``dim`` (None: the last axis, as F.softmax here)."""

    negate, exp = False, True

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is not None and not is_int(dim):
            raise TypeError(f"{type(self).__name__}: dim must be an int or None, got {dim!r} ({type(dim).__name__})")
        self.dim = None if dim is None else int(dim)

    def forward(self, x: Tensor) -> Tensor:
        name = type(self).__name__.lower()
        out = _log_softmax_along(name, x, self.dim, UNSET, None, negate=self.negate)
        return out.exp() if self.exp else out

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class Softmax(_AlongDim):
    """$e^{x_i} / \\sum_j e^{x_j}$ along ``dim`` (default: the last axis)."""


class LogSoftmax(_AlongDim):
    """$x_i - \\log \\sum_j e^{x_j}$ along ``dim`` (default: the last axis), stable."""

    exp = False


class Softmin(_AlongDim):
    """$e^{-x_i} / \\sum_j e^{-x_j}$ along ``dim`` (default: the last axis)."""

    negate = True


class GLU(Module):
    """$a \\, \\sigma(b)$ with $a, b$ the two halves of the input along ``dim`` (default -1)."""

    def __init__(self, dim: int = -1) -> None:
        super().__init__()
        self.dim = as_int("GLU", "dim", dim)

    def forward(self, x: Tensor) -> Tensor:
        return F.glu(x, self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class PReLU(Module):
    """$x$ for $x > 0$, $a_c x$ elsewhere, with a learnable slope ``weight`` of shape (num_parameters,), one per
    channel (input axis 1) or one shared; initialised to ``init``."""

    def __init__(self, num_parameters: int = 1, init: float = 0.25, dtype: Any = None) -> None:
        super().__init__()
        self.num_parameters = as_int("PReLU", "num_parameters", num_parameters, low=1)
        init = as_real("PReLU", "init", init, finite=True)
        dtype = _float_dtype("PReLU", dtype)
        shape = as_shape("PReLU", (self.num_parameters,), dtype.itemsize)
        self.weight = Parameter(allocate("PReLU", lambda n, dt: np.full(n, init, dt), shape, dtype))

    def forward(self, x: Tensor) -> Tensor:
        return F.prelu(x, self.weight)

    def extra_repr(self) -> str:
        return f"num_parameters={self.num_parameters}"


__all__ = ["CELU", "ELU", "GELU", "GLU", "AvgPool2d", "Conv2d", "Dropout", "Flatten", "Hardsigmoid", "Hardswish",
           "Hardtanh", "LeakyReLU", "Linear", "LogSigmoid", "LogSoftmax", "MaxPool2d", "Mish", "PReLU", "ReLU",
           "ReLU6", "SELU", "Sequential", "SiLU", "Sigmoid", "Softmax", "Softmin", "Softplus", "Softsign", "Tanh"]


# ---- pooling, resampling and padding layers (F.* of tinygrad_cnn/nn/pooling.py) ---------------------------------
def _pool_size(layer: str, name: str, value: Any, low: int, one_d: bool) -> Any:
    """Check a kernel/stride/padding argument the way F will convert it; keep the user's spelling."""
    if one_d:
        as_int(layer, name, value[0] if isinstance(value, (tuple, list)) and len(value) == 1 else value, low=low)
    else:
        as_pair(layer, name, value, low)
    return value


class MaxPool1d(Module):
    """Maximum over each window of a signal: (N, C, L) -> (N, C, L'); see ``F.max_pool1d``."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = _pool_size("MaxPool1d", "kernel_size", kernel_size, 1, True)
        self.stride = _pool_size("MaxPool1d", "stride", kernel_size if stride is None else stride, 1, True)
        self.padding = _pool_size("MaxPool1d", "padding", padding, 0, True)
        self.dilation = _pool_size("MaxPool1d", "dilation", dilation, 1, True)
        self.return_indices = as_bool("MaxPool1d", "return_indices", return_indices)
        self.ceil_mode = as_bool("MaxPool1d", "ceil_mode", ceil_mode)

    def forward(self, x: Tensor):
        return F.max_pool1d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool1d(Module):
    """Mean over each window of a signal: (N, C, L) -> (N, C, L'); see ``F.avg_pool1d``."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _pool_size("AvgPool1d", "kernel_size", kernel_size, 1, True)
        self.stride = _pool_size("AvgPool1d", "stride", kernel_size if stride is None else stride, 1, True)
        self.padding = _pool_size("AvgPool1d", "padding", padding, 0, True)
        self.ceil_mode = as_bool("AvgPool1d", "ceil_mode", ceil_mode)
        self.count_include_pad = as_bool("AvgPool1d", "count_include_pad", count_include_pad)

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool1d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class _Adaptive(Module):
    def __init__(self, output_size: Any) -> None:
        super().__init__()
        values = output_size if isinstance(output_size, (tuple, list)) else (output_size,)
        for v in values:
            if v is not None:
                as_int(type(self).__name__, "output_size", v, low=1)
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool2d(_Adaptive):
    """Mean over adaptive windows to a fixed output size: (N, C, H, W) -> (N, C, *output_size)."""

    def forward(self, x: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(x, self.output_size)


class AdaptiveMaxPool2d(_Adaptive):
    """Max over adaptive windows to a fixed output size: (N, C, H, W) -> (N, C, *output_size)."""

    def __init__(self, output_size: Any, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = as_bool("AdaptiveMaxPool2d", "return_indices", return_indices)

    def forward(self, x: Tensor):
        return F.adaptive_max_pool2d(x, self.output_size, self.return_indices)


class LPPool2d(Module):
    """Power-average pooling, (sum over each window of x^p)^(1/p); see ``F.lp_pool2d``."""

    def __init__(self, norm_type: float, kernel_size: IntPair, stride: IntPair | None = None,
                 ceil_mode: bool = False) -> None:
        super().__init__()
        self.norm_type = as_real("LPPool2d", "norm_type", norm_type, finite=True)
        self.kernel_size = _pool_size("LPPool2d", "kernel_size", kernel_size, 1, False)
        self.stride = None if stride is None else _pool_size("LPPool2d", "stride", stride, 1, False)
        self.ceil_mode = as_bool("LPPool2d", "ceil_mode", ceil_mode)

    def forward(self, x: Tensor) -> Tensor:
        return F.lp_pool2d(x, self.norm_type, self.kernel_size, self.stride, self.ceil_mode)

    def extra_repr(self) -> str:
        return (f"norm_type={self.norm_type}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"ceil_mode={self.ceil_mode}")


class MaxUnpool2d(Module):
    """The partial inverse of MaxPool2d: ``layer(x, indices, output_size=None)``; see ``F.max_unpool2d``."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        self.kernel_size = _pool_size("MaxUnpool2d", "kernel_size", kernel_size, 1, False)
        self.stride = _pool_size("MaxUnpool2d", "stride", kernel_size if stride is None else stride, 1, False)
        self.padding = _pool_size("MaxUnpool2d", "padding", padding, 0, False)

    def forward(self, x: Tensor, indices: Tensor, output_size: Any = None) -> Tensor:
        return F.max_unpool2d(x, indices, self.kernel_size, self.stride, self.padding, output_size)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class Upsample(Module):
    """Resize to ``size`` or by ``scale_factor`` with ``mode`` (nearest, bilinear, bicubic...); ``F.interpolate``."""

    def __init__(self, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                 align_corners: bool | None = None, recompute_scale_factor: bool | None = None) -> None:
        super().__init__()
        if (size is None) == (scale_factor is None):
            raise ValueError(f"{type(self).__name__}: pass exactly one of size and scale_factor")
        self.size, self.scale_factor, self.mode = size, scale_factor, mode
        self.align_corners, self.recompute_scale_factor = align_corners, recompute_scale_factor

    def forward(self, x: Tensor) -> Tensor:
        return F.interpolate(x, self.size, self.scale_factor, self.mode, self.align_corners,
                             self.recompute_scale_factor)

    def extra_repr(self) -> str:
        what = f"size={self.size}" if self.size is not None else f"scale_factor={self.scale_factor}"
        return f"{what}, mode={self.mode!r}"


class UpsamplingNearest2d(Upsample):
    """``Upsample(..., mode='nearest')``."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="nearest")


class UpsamplingBilinear2d(Upsample):
    """``Upsample(..., mode='bilinear', align_corners=True)``, as PyTorch's."""

    def __init__(self, size: Any = None, scale_factor: Any = None) -> None:
        super().__init__(size, scale_factor, mode="bilinear", align_corners=True)


class _Pad(Module):
    """``F.pad(x, padding, mode, value)`` with the padding given once: an int (every side) or the full tuple."""

    mode = "constant"
    sides = 4

    def __init__(self, padding: Any, value: float | None = None) -> None:
        super().__init__()
        name = type(self).__name__
        if is_int(padding):
            padding = (int(padding),) * self.sides
        if not isinstance(padding, (tuple, list)) or not all(is_int(p) for p in padding):
            raise TypeError(f"{name}: padding must be an int or a tuple of {self.sides} ints, got {padding!r}")
        if len(padding) != self.sides:
            raise ValueError(f"{name}: padding must be an int or a tuple of {self.sides} ints, got {padding!r}")
        self.padding = tuple(int(p) for p in padding)
        self.value = None if value is None else as_real(name, "value", value)

    def forward(self, x: Tensor) -> Tensor:
        return F.pad(x, self.padding, self.mode, self.value)

    def extra_repr(self) -> str:
        return f"{self.padding}" + ("" if self.value is None else f", value={self.value}")


class ConstantPad2d(_Pad):
    """Pad the last two axes with ``value``: padding (left, right, top, bottom) or one int."""

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding, value)


class ZeroPad2d(_Pad):
    """Pad the last two axes with zeros: padding (left, right, top, bottom) or one int."""


class ReflectionPad2d(_Pad):
    """Pad the last two axes with their reflection about the border (padding < size)."""

    mode = "reflect"


class ReplicationPad2d(_Pad):
    """Pad the last two axes with copies of the border elements."""

    mode = "replicate"


class CircularPad2d(_Pad):
    """Pad the last two axes by wrapping around (padding <= size)."""

    mode = "circular"


class ConstantPad1d(ConstantPad2d):
    """Pad the last axis with ``value``: padding (left, right) or one int."""

    sides = 2


class ZeroPad1d(ZeroPad2d):
    """Pad the last axis with zeros: padding (left, right) or one int."""

    sides = 2


class ReflectionPad1d(ReflectionPad2d):
    """Pad the last axis with its reflection about the border (padding < size)."""

    sides = 2


class ReplicationPad1d(ReplicationPad2d):
    """Pad the last axis with copies of the border elements."""

    sides = 2


class CircularPad1d(CircularPad2d):
    """Pad the last axis by wrapping around (padding <= size)."""

    sides = 2


__all__ += ["AdaptiveAvgPool2d", "AdaptiveMaxPool2d", "AvgPool1d", "CircularPad1d", "CircularPad2d", "ConstantPad1d",
            "ConstantPad2d", "LPPool2d", "MaxPool1d", "MaxUnpool2d", "ReflectionPad1d", "ReflectionPad2d",
            "ReplicationPad1d", "ReplicationPad2d", "Upsample", "UpsamplingBilinear2d", "UpsamplingNearest2d",
            "ZeroPad1d", "ZeroPad2d"]


def _conv_channels(layer: str, in_channels: Any, out_channels: Any, groups: Any) -> tuple[int, int, int]:
    c_in = as_int(layer, "in_channels", in_channels, low=1)
    c_out = as_int(layer, "out_channels", out_channels, low=1)
    g = as_int(layer, "groups", groups, low=1)
    if c_in % g or c_out % g:
        raise ValueError(f"{layer}: in_channels={in_channels} and out_channels={out_channels} must both be "
                         f"divisible by groups={groups}")
    return c_in, c_out, g


def _conv_parameters(module: Module, layer: str, shape: tuple, channels: int, bias: Any, dtype: Any) -> None:
    """``weight`` of ``shape`` and ``bias`` (channels,) or None, initialised as PyTorch does."""
    dtype = _float_dtype(layer, dtype)
    module.weight = Parameter(allocate(layer, np.empty, as_shape(layer, shape, dtype.itemsize), dtype))
    bias = as_bool(layer, "bias", bias)
    module.register_parameter("bias", Parameter(np.empty(channels, dtype)) if bias else None)
    _reset(module.weight, module.bias)


def _conv_repr(module: Module, defaults: dict) -> str:
    text = f"{module.in_channels}, {module.out_channels}, kernel_size={module.kernel_size}, stride={module.stride}"
    for name, default in defaults.items():
        if getattr(module, name) != default:
            text += f", {name}={getattr(module, name)}"
    return text + (", bias=False" if module.bias is None else "")


class Conv1d(Module):
    """1-D cross-correlation: (N, in_channels, L) -> (N, out_channels, L') with
    $L' = \\lfloor (L + 2p - d(k - 1) - 1) / s \\rfloor + 1$; weight (out_channels, in_channels/groups, kL).
    ``padding`` may be an int or 'valid' / 'same'; ints may be given as tuples of one, as PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int], stride: int = 1,
                 padding: int | str = 0, dilation: int = 1, groups: int = 1, bias: bool = True,
                 dtype: Any = None) -> None:
        super().__init__()
        self.in_channels, self.out_channels, self.groups = _conv_channels("Conv1d", in_channels, out_channels, groups)
        self.kernel_size = (as_single("Conv1d", "kernel_size", kernel_size, 1),)
        self.stride = (as_single("Conv1d", "stride", stride, 1),)
        if isinstance(padding, str):
            self.padding: tuple[int] | str = as_choice("Conv1d", "padding", padding, ("valid", "same"))
        else:
            self.padding = (as_single("Conv1d", "padding", padding, 0),)
        self.dilation = (as_single("Conv1d", "dilation", dilation, 1),)
        _conv_parameters(self, "Conv1d", (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
                         self.out_channels, bias, dtype)

    def reset_parameters(self) -> None:
        _reset(self.weight, self.bias)

    def forward(self, x: Tensor) -> Tensor:
        padding = self.padding if isinstance(self.padding, str) else self.padding[0]
        return F.conv1d(x, self.weight, self.bias, stride=self.stride[0], padding=padding,
                        dilation=self.dilation[0], groups=self.groups)

    def extra_repr(self) -> str:
        return _conv_repr(self, {"padding": (0,), "dilation": (1,), "groups": 1})


class _ConvTransposeNd(Module):
    """What ConvTranspose1d and ConvTranspose2d share: the arguments, the parameters and ``output_size``."""

    spatial = 2

    def __init__(self, in_channels: Any, out_channels: Any, kernel_size: Any, stride: Any, padding: Any,
                 output_padding: Any, groups: Any, bias: Any, dilation: Any, dtype: Any) -> None:
        super().__init__()
        layer = type(self).__name__
        self.in_channels, self.out_channels, self.groups = _conv_channels(layer, in_channels, out_channels, groups)
        if self.spatial == 1:
            def convert(name, v, low):
                return (as_single(layer, name, v, low),)
        else:
            def convert(name, v, low):
                return as_pair(layer, name, v, low)
        self.kernel_size = convert("kernel_size", kernel_size, 1)
        self.stride = convert("stride", stride, 1)
        self.padding = convert("padding", padding, 0)
        self.output_padding = convert("output_padding", output_padding, 0)
        self.dilation = convert("dilation", dilation, 1)
        if any(o >= max(s, d) for o, s, d in zip(self.output_padding, self.stride, self.dilation)):
            raise ValueError(f"{layer}: output_padding {output_padding!r} must be smaller than either the stride "
                             f"({stride!r}) or the dilation ({dilation!r})")
        _conv_parameters(self, layer, (self.in_channels, self.out_channels // self.groups, *self.kernel_size),
                         self.out_channels, bias, dtype)

    def reset_parameters(self) -> None:
        _reset(self.weight, self.bias)

    def _output_padding(self, x: Tensor, output_size: Any) -> tuple[int, ...]:
        """The output_padding that gives ``output_size`` (the spatial sizes, or a whole shape), as PyTorch: each
        size must lie in [min, min + stride - 1], min being the size with output_padding 0."""
        layer = type(self).__name__
        if output_size is None:
            return self.output_padding
        if not isinstance(output_size, (tuple, list)) or not all(is_int(n) for n in output_size):
            raise TypeError(f"{layer}: output_size must be a tuple of ints, got {output_size!r}")
        sizes = tuple(int(n) for n in output_size)
        if len(sizes) == self.spatial + 2:
            sizes = sizes[2:]
        if len(sizes) != self.spatial or x.ndim != self.spatial + 2:
            raise ValueError(f"{layer}: output_size {output_size!r} must have {self.spatial} (or {self.spatial + 2}) "
                             f"sizes for an input of {self.spatial + 2} axes, got input shape {x.shape}")
        out = []
        for n, want, k, s, p, d in zip(x.shape[2:], sizes, self.kernel_size, self.stride, self.padding,
                                       self.dilation):
            low = (n - 1) * s - 2 * p + d * (k - 1) + 1
            if not low <= want <= low + s - 1:
                raise ValueError(f"{layer}: requested an output size of {sizes}, but the valid sizes for input "
                                 f"{x.shape} range from {low} to {low + s - 1} along each axis (stride {s})")
            out.append(want - low)
        return tuple(out)

    def extra_repr(self) -> str:
        zero, one = (0,) * self.spatial, (1,) * self.spatial
        return _conv_repr(self, {"padding": zero, "output_padding": zero, "dilation": one, "groups": 1})


class ConvTranspose1d(_ConvTransposeNd):
    """1-D transposed convolution: (N, in_channels, L) -> (N, out_channels, L') with
    $L' = (L - 1)s - 2p + d(k - 1) + \\text{output\\_padding} + 1$; weight (in_channels, out_channels/groups, kL).
    ``forward(x, output_size=None)`` picks output_padding from a requested size, as PyTorch."""

    spatial = 1

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int], stride: int = 1,
                 padding: int = 0, output_padding: int = 0, groups: int = 1, bias: bool = True, dilation: int = 1,
                 dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, dtype)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        output_padding = self._output_padding(x, output_size)
        return F.conv_transpose1d(x, self.weight, self.bias, stride=self.stride[0], padding=self.padding[0],
                                  output_padding=output_padding[0], groups=self.groups, dilation=self.dilation[0])


class ConvTranspose2d(_ConvTransposeNd):
    """2-D transposed convolution: (N, in_channels, H, W) -> (N, out_channels, H', W') with
    $H' = (H - 1)s - 2p + d(k - 1) + \\text{output\\_padding} + 1$; weight (in_channels, out_channels/groups, kH, kW).
    ``forward(x, output_size=None)`` picks output_padding from a requested size, as PyTorch."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntPair, stride: IntPair = 1,
                 padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1, bias: bool = True,
                 dilation: IntPair = 1, dtype: Any = None) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, output_padding, groups, bias,
                         dilation, dtype)

    def forward(self, x: Tensor, output_size: Any = None) -> Tensor:
        return F.conv_transpose2d(x, self.weight, self.bias, stride=self.stride, padding=self.padding,
                                  output_padding=self._output_padding(x, output_size), groups=self.groups,
                                  dilation=self.dilation)


class Unfold(Module):
    """Sliding blocks as columns (``F.unfold``): (N, C, H, W) -> (N, C kH kW, L)."""

    def __init__(self, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0, stride: IntPair = 1) -> None:
        super().__init__()
        for name, value, low in (("kernel_size", kernel_size, 1), ("dilation", dilation, 1), ("padding", padding, 0),
                                 ("stride", stride, 1)):
            as_pair("Unfold", name, value, low)
        self.kernel_size, self.dilation, self.padding, self.stride = kernel_size, dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return F.unfold(x, self.kernel_size, dilation=self.dilation, padding=self.padding, stride=self.stride)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding}, stride={self.stride}"


class Fold(Module):
    """Columns summed back into an image (``F.fold``, the adjoint of unfold): (N, C kH kW, L) -> (N, C, H, W)."""

    def __init__(self, output_size: IntPair, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
                 stride: IntPair = 1) -> None:
        super().__init__()
        for name, value, low in (("output_size", output_size, 1), ("kernel_size", kernel_size, 1),
                                 ("dilation", dilation, 1), ("padding", padding, 0), ("stride", stride, 1)):
            as_pair("Fold", name, value, low)
        self.output_size, self.kernel_size = output_size, kernel_size
        self.dilation, self.padding, self.stride = dilation, padding, stride

    def forward(self, x: Tensor) -> Tensor:
        return F.fold(x, self.output_size, self.kernel_size, dilation=self.dilation, padding=self.padding,
                      stride=self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, dilation={self.dilation}, "
                f"padding={self.padding}, stride={self.stride}")


class PixelShuffle(Module):
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = upscale_factor (``F.pixel_shuffle``)."""

    def __init__(self, upscale_factor: int) -> None:
        super().__init__()
        self.upscale_factor = as_int("PixelShuffle", "upscale_factor", upscale_factor, low=1)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_shuffle(x, self.upscale_factor)

    def extra_repr(self) -> str:
        return f"upscale_factor={self.upscale_factor}"


class PixelUnshuffle(Module):
    """(*, C, H r, W r) -> (*, C r^2, H, W) with r = downscale_factor (``F.pixel_unshuffle``)."""

    def __init__(self, downscale_factor: int) -> None:
        super().__init__()
        self.downscale_factor = as_int("PixelUnshuffle", "downscale_factor", downscale_factor, low=1)

    def forward(self, x: Tensor) -> Tensor:
        return F.pixel_unshuffle(x, self.downscale_factor)

    def extra_repr(self) -> str:
        return f"downscale_factor={self.downscale_factor}"


__all__ += ["Conv1d", "ConvTranspose1d", "ConvTranspose2d", "Fold", "PixelShuffle", "PixelUnshuffle", "Unfold"]


__all__ += ["AlphaDropout", "Dropout1d", "Dropout2d", "Dropout3d", "Embedding", "FeatureAlphaDropout", "Identity",
            "Threshold", "Unflatten"]
