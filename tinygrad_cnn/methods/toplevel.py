"""Top-level functions with PyTorch's names for the Tensor math that has no other home: ``tg.sum(x, dim)``,
``tg.max(x, 1)``, ``tg.add(a, b, alpha=2)``, ``tg.softmax(x, dim=1)``, ``tg.flatten(x, 1)``, ``tg.numel(x)``...

Each is ``input.<method>(...)`` (see that method for the maths, shapes and gradient); the binary arithmetic ones
take a number for either operand, as PyTorch does. A module of its own because the names shadow Python's builtins
(``sum``, ``max``, ``min``, ``all``, ``any``, ``pow``, ``abs``): no code here calls those builtins.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import as_real
from ..tensor_core import TensorCore

__all__ = [
    "add", "addcdiv", "addcmul", "all", "allclose", "any", "argmax", "argmin", "clone", "div", "divide", "equal",
    "flatten", "is_floating_point", "is_nonzero", "is_tensor", "log_softmax", "max", "mean", "mul", "multiply", "neg",
    "negative", "numel", "permute", "pow", "relu", "reshape", "softmax", "std_mean", "sub", "subtract", "sum", "t",
    "transpose", "true_divide", "unflatten", "var_mean",
]


def _method(name: str) -> Callable[..., Any]:
    def call(input: Any, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}; make one with "
                            "tg.tensor(data)")
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``tg.{name}(input, ...)`` is ``input.{name}(...)`` (PyTorch's ``torch.{name}``)."
    return call


sum, mean, max, min = _method("sum"), _method("mean"), _method("max"), _method("min")
argmax, argmin, all, any = _method("argmax"), _method("argmin"), _method("all"), _method("any")
std_mean, var_mean = _method("std_mean"), _method("var_mean")
softmax, log_softmax, relu = _method("softmax"), _method("log_softmax"), _method("relu")
flatten, reshape, transpose, permute = _method("flatten"), _method("reshape"), _method("transpose"), _method("permute")
t, clone, unflatten, neg = _method("t"), _method("clone"), _method("unflatten"), _method("neg")
addcmul, addcdiv, allclose = _method("addcmul"), _method("addcdiv"), _method("allclose")
negative = neg


def _operands(op: str, input: Any, other: Any) -> None:
    if not isinstance(input, TensorCore) and not isinstance(other, TensorCore):
        raise TypeError(f"{op}: at least one of input and other must be a Tensor, got {type(input).__name__} and "
                        f"{type(other).__name__}")


def _scale(op: str, other: Any, alpha: Any) -> Any:
    if alpha == 1 and not isinstance(alpha, (bool, np.bool_)):
        return other
    as_real(op, "alpha", alpha)
    return other * alpha if isinstance(other, TensorCore) else np.asarray(other) * alpha


def add(input: Any, other: Any, *, alpha: Any = 1) -> Any:
    """input + alpha * other (either may be a number)."""
    _operands("add", input, other)
    return input + _scale("add", other, alpha)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Any:
    """input - alpha * other (either may be a number)."""
    _operands("sub", input, other)
    return input - _scale("sub", other, alpha)


def mul(input: Any, other: Any) -> Any:
    """input * other elementwise, broadcasting (either may be a number)."""
    _operands("mul", input, other)
    return input * other


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Any:
    """input / other; ``rounding_mode`` 'trunc' or 'floor' as ``Tensor.div``."""
    _operands("div", input, other)
    if rounding_mode is None:
        return input / other
    if not isinstance(input, TensorCore):
        input = other._make(np.asarray(input), None)
    return input.div(other, rounding_mode=rounding_mode)


def pow(input: Any, exponent: Any) -> Any:
    """input ** exponent elementwise (either may be a number)."""
    _operands("pow", input, exponent)
    return input ** exponent


subtract, multiply, divide, true_divide = sub, mul, div, div


def equal(input: Any, other: Any) -> bool:
    """True when both tensors have the same shape and values (one Python bool)."""
    if not isinstance(input, TensorCore):
        raise TypeError(f"equal: input must be a Tensor, got {type(input).__name__}")
    return input.equal(other)


def numel(input: Any) -> int:
    """The number of elements of a tensor."""
    if not isinstance(input, TensorCore):
        raise TypeError(f"numel: input must be a Tensor, got {type(input).__name__}")
    return input.numel()


def is_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a tinygrad_cnn Tensor."""
    return isinstance(obj, TensorCore)


def is_floating_point(input: Any) -> bool:
    """Whether a tensor has a floating-point dtype."""
    if not isinstance(input, TensorCore):
        raise TypeError(f"is_floating_point: input must be a Tensor, got {type(input).__name__}")
    return input.is_floating_point()


def is_nonzero(input: Any) -> bool:
    """The truth of a one-element tensor (RuntimeError for any other size, as PyTorch)."""
    if not isinstance(input, TensorCore):
        raise TypeError(f"is_nonzero: input must be a Tensor, got {type(input).__name__}")
    if input.data.size != 1:
        raise RuntimeError(f"is_nonzero: a tensor with {input.data.size} elements is ambiguous; it needs exactly one")
    return bool(input.data.reshape(()))
