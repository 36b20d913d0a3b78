"""In-place parameter initialisers, with PyTorch's names, fans and gains.

Each writes new values into ``tensor.data`` (keeping its dtype, float32 or float64) and returns the tensor.
Random draws come from ``tinygrad_cnn.random.generator()``, so ``manual_seed`` makes them reproducible.

Fans of a weight of shape (out, in, *kernel): $\\text{fan\\_in} = \\text{in} \\cdot \\prod \\text{kernel}$,
$\\text{fan\\_out} = \\text{out} \\cdot \\prod \\text{kernel}$ (a Linear weight (out, in) has no kernel axes).
"""

from __future__ import annotations

import math

import numpy as np

from .._checks import as_choice, as_real
from ..random import generator
from ..tensor_class import Tensor
from ..versions import mark_modified

_UNIT_GAIN = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
              "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain that keeps activations' variance steady through ``nonlinearity``.

    1 for linear/conv/sigmoid, 5/3 for tanh, $\\sqrt{2}$ for relu, $\\sqrt{2 / (1 + a^2)}$ for leaky_relu with
    negative slope $a$ (``param``, default 0.01), 3/4 for selu.
    """
    if not isinstance(nonlinearity, str):
        raise TypeError(f"calculate_gain: nonlinearity must be a name such as 'relu', got {nonlinearity!r}")
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else as_real("calculate_gain", "negative slope (param)", param, finite=True)
        return math.sqrt(2.0) / math.hypot(1.0, slope)  # sqrt(2 / (1 + slope^2)), without overflow
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; use one of "
                     f"{', '.join((*_UNIT_GAIN, 'tanh', 'relu', 'leaky_relu', 'selu'))}")


def calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """(fan_in, fan_out) of a weight of shape (out, in, *kernel); needs at least 2 axes."""
    return _fans(tensor, "calculate_fan_in_and_fan_out")


def _fans(tensor: Tensor, op: str) -> tuple[int, int]:
    _check(tensor, op)
    if tensor.ndim < 2:
        raise ValueError(f"{op}: a tensor of shape {tensor.shape} has no fans; it needs at least 2 axes (out, in, "
                         "*kernel)")
    receptive = int(np.prod(tensor.shape[2:], dtype=np.int64))
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor: Tensor, mode: str, op: str) -> int:
    as_choice(op, "mode", mode, ("fan_in", "fan_out"))
    fan_in, fan_out = _fans(tensor, op)
    return fan_in if mode == "fan_in" else fan_out


def _gain(op: str, nonlinearity: str, a: float) -> float:
    try:
        return calculate_gain(nonlinearity, as_real(op, "a", a, finite=True))
    except (ValueError, TypeError) as err:
        raise type(err)(f"{op}: {err}") from None


def _uniform(tensor: Tensor, low: float, high: float, op: str) -> Tensor:
    if not math.isfinite(high - low):
        raise ValueError(f"{op}: the interval [{low}, {high}] is too wide to sample from")
    return _write(tensor, generator().uniform(low, high, tensor.shape))


def _check(tensor: Tensor, op: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor (e.g. a Parameter), got {type(tensor).__name__}")
    if tensor.dtype.kind != "f":
        raise TypeError(f"{op}: initialises floating-point tensors only, this one is {tensor.dtype}")


def _write(tensor: Tensor, values: np.ndarray) -> Tensor:
    """Store ``values`` in ``tensor.data`` in place (a fresh array if the current one is read-only)."""
    values = values.astype(tensor.dtype, copy=False)
    if tensor.data.flags.writeable:
        tensor.data[...] = values
        mark_modified(tensor.data)
    else:
        tensor.data = values.reshape(tensor.shape).copy()
    return tensor


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from $U(a, b)$."""
    _check(tensor, "uniform_")
    if not as_real("uniform_", "a", a, finite=True) <= as_real("uniform_", "b", b, finite=True):
        raise ValueError(f"uniform_: lower bound a={a} is above upper bound b={b}")
    return _uniform(tensor, a, b, "uniform_")


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from $\\mathcal{N}(\\text{mean}, \\text{std}^2)$."""
    _check(tensor, "normal_")
    as_real("normal_", "mean", mean, finite=True)
    as_real("normal_", "std", std, finite=True, low=0.0)
    return _write(tensor, generator().normal(mean, std, tensor.shape))


def constant_(tensor: Tensor, value: float) -> Tensor:
    """Fill with ``value``."""
    _check(tensor, "constant_")
    return _write(tensor, np.full(tensor.shape, as_real("constant_", "value", value)))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill with 0."""
    _check(tensor, "zeros_")
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill with 1."""
    _check(tensor, "ones_")
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: $U(-b, b)$ with $b = \\text{gain} \\cdot \\sqrt{6 / (\\text{fan\\_in} + \\text{fan\\_out})}$."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    std = as_real("xavier_uniform_", "gain", gain, finite=True) * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    bound = math.sqrt(3.0) * abs(std)
    return _uniform(tensor, -bound, bound, "xavier_uniform_")


def xavier_normal_(tensor: Tensor, gain: float = 1.0) -> Tensor:
    """Glorot: $\\mathcal{N}(0, \\sigma^2)$ with $\\sigma = \\text{gain} \\cdot \\sqrt{2 / (\\text{fan\\_in} +
    \\text{fan\\_out})}$."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = as_real("xavier_normal_", "gain", gain, finite=True) * math.sqrt(2.0 / max(fan_in + fan_out, 1))
    return _write(tensor, generator().normal(0.0, abs(std), tensor.shape))


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: $U(-b, b)$ with $b = \\text{gain} \\cdot \\sqrt{3 / \\text{fan}}$, gain from ``calculate_gain(nonlinearity,
    a)``. With ``a = sqrt(5)`` (the Linear/Conv2d default) $b = 1/\\sqrt{\\text{fan\\_in}}$."""
    fan = _fan(tensor, mode, "kaiming_uniform_")
    gain = _gain("kaiming_uniform_", nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan) if fan else 0.0
    return _uniform(tensor, -bound, bound, "kaiming_uniform_")


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """He: $\\mathcal{N}(0, \\sigma^2)$ with $\\sigma = \\text{gain} / \\sqrt{\\text{fan}}$."""
    fan = _fan(tensor, mode, "kaiming_normal_")
    gain = _gain("kaiming_normal_", nonlinearity, a)
    std = gain / math.sqrt(fan) if fan else 0.0
    return _write(tensor, generator().normal(0.0, std, tensor.shape))


__all__ = [
    "calculate_fan_in_and_fan_out", "calculate_gain", "constant_", "kaiming_normal_", "kaiming_uniform_", "normal_",
    "ones_", "uniform_", "xavier_normal_", "xavier_uniform_", "zeros_",
]
