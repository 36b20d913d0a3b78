"""The layers: thin modules over the functional API ``F``, holding parameters and hyperparameters.

Linear and Conv2d are initialised as PyTorch does by default: weights ``kaiming_uniform_(a=sqrt(5))``, i.e.
$U(-1/\\sqrt{\\text{fan\\_in}}, 1/\\sqrt{\\text{fan\\_in}})$, and biases from the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from .._checks import allocate, as_bool, as_dtype, as_int, as_pair, as_real, as_shape, is_int
from ..tensor import Tensor
from . import functional as F
from . import init
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
    """Maximum over each (kernel_size) window: (N, C, H, W) -> (N, C, H', W'); stride defaults to kernel_size."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
                 dilation: IntPair = 1) -> None:
        super().__init__()
        as_pair("MaxPool2d", "kernel_size", kernel_size, 1)
        as_pair("MaxPool2d", "stride", kernel_size if stride is None else stride, 1)
        as_pair("MaxPool2d", "padding", padding, 0)
        as_pair("MaxPool2d", "dilation", dilation, 1)
        self.kernel_size, self.stride = kernel_size, kernel_size if stride is None else stride
        self.padding, self.dilation = padding, dilation

    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding, dilation=self.dilation)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, dilation={self.dilation}"


class AvgPool2d(Module):
    """Mean over each (kernel_size) window (zero padding counted): (N, C, H, W) -> (N, C, H', W')."""

    def __init__(self, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0) -> None:
        super().__init__()
        as_pair("AvgPool2d", "kernel_size", kernel_size, 1)
        as_pair("AvgPool2d", "stride", kernel_size if stride is None else stride, 1)
        as_pair("AvgPool2d", "padding", padding, 0)
        self.kernel_size, self.stride, self.padding = kernel_size, kernel_size if stride is None else stride, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, stride=self.stride, padding=self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class ReLU(Module):
    """$\\max(x, 0)$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(x)


class Sigmoid(Module):
    """$1 / (1 + e^{-x})$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.sigmoid(x)


class Tanh(Module):
    """$\\tanh x$ elementwise."""

    def forward(self, x: Tensor) -> Tensor:
        return F.tanh(x)


class Flatten(Module):
    """Merge the axes from ``start_axis`` to the last: (N, C, H, W) -> (N, C*H*W) with the default start_axis=1."""

    def __init__(self, start_axis: int = 1) -> None:
        super().__init__()
        self.start_axis = as_int("Flatten", "start_axis", start_axis)

    def forward(self, x: Tensor) -> Tensor:
        return F.flatten(x, self.start_axis)

    def extra_repr(self) -> str:
        return f"start_axis={self.start_axis}"


class Dropout(Module):
    """In training, zero each element with probability p and scale the rest by 1/(1-p); identity in eval mode."""

    def __init__(self, p: float = 0.5) -> None:
        super().__init__()
        self.p = as_real("Dropout", "p (a probability)", p, low=0, high=1)

    def forward(self, x: Tensor) -> Tensor:
        return F.dropout(x, self.p, training=self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``. Names are "0", "1", ... unless given
    as a dict. Supports ``len``, iteration, ``seq[i]`` (negative too) and ``seq[i:j]`` (a new Sequential)."""

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], Mapping):
            for name, module in modules[0].items():
                self.add_module(name, _as_module(module, name))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _as_module(module, i))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), _as_module(module, len(self)))
        return self

    def forward(self, x: Any) -> Any:
        for module in self:
            x = module(x)
        return x

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        items = list(self._modules.items())
        if isinstance(index, slice):
            return Sequential(dict(items[index]))
        if not is_int(index):
            raise TypeError(f"Sequential indices must be ints or slices, got {type(index).__name__}")
        if not -len(items) <= index < len(items):
            raise IndexError(f"Sequential index {index} is out of range for {len(items)} modules")
        return items[index][1]


def _as_module(module: Any, name: Any) -> Module:
    if not isinstance(module, Module):
        raise TypeError(f"Sequential: item {name!r} is a {type(module).__name__}, not a Module")
    return module


__all__ = ["AvgPool2d", "Conv2d", "Dropout", "Flatten", "Linear", "MaxPool2d", "ReLU", "Sequential", "Sigmoid",
           "Tanh"]
