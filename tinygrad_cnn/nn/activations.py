"""Activation functions with PyTorch's names, arguments and defaults, re-exported by ``nn.functional`` (``F``).

Each converts and checks its Python arguments, then calls a primitive of ``ops.activation`` (leaky_relu, elu,
celu, selu, hardtanh, relu6, logsigmoid, prelu) or composes existing primitives where that is exact and stable
(silu, mish, gelu, softsign, hardsigmoid, hardswish, softmin, glu). Every one takes a floating-point input (an
integer tensor is a TypeError: convert it with ``.float()``) and keeps its dtype.

The derivative at a kink is PyTorch's (see docs/derivations/activations.md): leaky_relu and prelu take the slope at
0; relu6, hardtanh and hardsigmoid take 0 at their bounds; hardswish takes the quadratic piece at -3 and 3; elu and
celu take their left derivative at 0.

``inplace=True`` (PyTorch's flag, on the functions and layers that have it): the result is written into the input,
which is returned, when the input is outside the graph (it does not require grad, or grad mode is off), exactly
as PyTorch. An input that requires grad while grad mode is on is left unchanged and the result is a new tensor:
this graph records no in-place ops. The returned value is the same either way; code that uses it (as PyTorch code
does) behaves identically.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from .._checks import UNSET, as_axis, as_bool, as_choice, as_dtype, as_real, spelling
from ..autograd import is_grad_enabled
from ..errors import ShapeError
from ..ops.activation import Elu, Hardtanh, LeakyRelu, LogSigmoid, Prelu
from ..ops.elementwise import Softplus
from ..ops.softmax import LogSoftmax
from ..tensor_class import Tensor, as_tensor
from ..versions import mark_modified

#: SELU's constants (Klambauer et al. 2017), as PyTorch's
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SQRT_HALF = math.sqrt(0.5)


def _float_input(op: str, x: Any) -> Tensor:
    x = as_tensor(op, "input", x)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    return x


def inplace_result(op: str, input: Any, out: Tensor, inplace: Any) -> Tensor:
    """PyTorch's ``inplace=``: with True, write ``out`` into ``input`` and return ``input`` (the write is recorded
    by the version counters), unless ``input`` is in the graph (requires grad with grad mode on), which keeps
    ``out`` out of place; a read-only input (a broadcast view) is a ValueError."""
    if not as_bool(op, "inplace", inplace) or out is input or not isinstance(input, Tensor):
        return out
    if is_grad_enabled() and input.requires_grad:
        return out
    if not input.data.flags.writeable:
        raise ValueError(f"{op}: inplace=True but the input of shape {input.shape} is a read-only view (expand and "
                         "broadcasting make them); pass inplace=False or a copy made with .clone()")
    np.copyto(input.data, out.data)
    mark_modified(input.data)
    return input


def _bound(op: str, name: str, value: Any) -> float:
    """A real number that is not NaN (infinite is allowed)."""
    return as_real(op, name, value, low=-math.inf)


# ---- piecewise-linear ------------------------------------------------------------------------------------------
def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x where x > 0, negative_slope * x elsewhere.  The derivative at 0 is negative_slope (as PyTorch)."""
    slope = _bound("leaky_relu", "negative_slope", negative_slope)
    return inplace_result("leaky_relu", input, LeakyRelu.apply(_float_input("leaky_relu", input), negative_slope=slope),
                          inplace)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """min(max(x, min_val), max_val).  The derivative is 0 at both bounds (as PyTorch; clamp's is 1 there)."""
    lo, hi = _bound("hardtanh", "min_val", min_val), _bound("hardtanh", "max_val", max_val)
    if lo > hi:
        raise ValueError(f"hardtanh: min_val={min_val} is greater than max_val={max_val}; swap them")
    return inplace_result("hardtanh", input, Hardtanh.apply(_float_input("hardtanh", input), min_val=lo, max_val=hi),
                          inplace)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """min(max(x, 0), 6) = hardtanh(x, 0, 6).  The derivative is 0 at 0 and at 6 (as PyTorch)."""
    return inplace_result("relu6", input, Hardtanh.apply(_float_input("relu6", input), min_val=0.0, max_val=6.0),
                          inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between (= hardtanh(x / 6 + 1/2, 0, 1), exact at both kinks).

    The derivative is 1/6 strictly inside (-3, 3) and 0 at -3 and 3 (as PyTorch).
    """
    out = Hardtanh.apply(_float_input("hardsigmoid", input) / 6.0 + 0.5, min_val=0.0, max_val=1.0)
    return inplace_result("hardsigmoid", input, out, inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * relu6(x + 3) / 6: 0 for x <= -3, x for x >= 3.

    Composed with clamp, whose bounds are inclusive, so the derivative at -3 and at 3 is the quadratic piece's,
    -1/2 and 3/2, as PyTorch's ``x < -3 ? 0 : x <= 3 ? x / 3 + 1/2 : 1``.
    """
    x = _float_input("hardswish", input)
    return inplace_result("hardswish", input, x * (x + 3.0).clip(0.0, 6.0) / 6.0, inplace)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """x where x > 0, weight * x elsewhere; weight has one element, or one per channel (input axis 1).

    The derivative with respect to x at 0 is the slope; the weight receives sum(x * g) over the elements x <= 0.
    """
    x = _float_input("prelu", input)
    weight = as_tensor("prelu", "weight", weight)
    if weight.dtype != x.dtype:
        raise TypeError(f"prelu: input is {x.dtype} but weight is {weight.dtype}; convert one with .float()/.double()")
    if weight.ndim > 1:
        raise ShapeError(f"prelu: weight must be a scalar or 1-D tensor (num_parameters,), got shape {weight.shape}")
    channels = x.shape[1] if x.ndim >= 2 else 1
    if weight.size == 1:
        w = weight.reshape(())
    elif weight.size == channels:
        w = weight.reshape((channels,) + (1,) * (x.ndim - 2))
    else:
        raise ShapeError(f"prelu: weight has {weight.size} elements but the input {x.shape} has {channels} channels "
                         f"(axis 1); pass 1 or {channels} slopes")
    return Prelu.apply(x, w)


# ---- exponential family ------------------------------------------------------------------------------------------
def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere.  The derivative at 0 is the left one, alpha (as PyTorch)."""
    alpha = as_real("elu", "alpha", alpha, finite=True)
    return inplace_result("elu", input, Elu.apply(_float_input("elu", input), alpha=alpha), inplace)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """max(0, x) + min(0, alpha * (exp(x / alpha) - 1)); alpha must be nonzero.  The derivative is 1 at 0."""
    alpha = as_real("celu", "alpha", alpha, finite=True)
    if alpha == 0:
        raise ValueError("celu: alpha must be nonzero (celu divides by it), got 0")
    return inplace_result("celu", input, Elu.apply(_float_input("celu", input), alpha=alpha, input_scale=1.0 / alpha),
                          inplace)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """scale * elu(x, alpha) with PyTorch's constants (alpha 1.6733, scale 1.0507).  The derivative at 0 is the left
    one, scale * alpha = 1.7581."""
    return inplace_result("selu", input, Elu.apply(_float_input("selu", input), alpha=SELU_ALPHA, scale=SELU_SCALE),
                          inplace)


def logsigmoid(input: Tensor) -> Tensor:
    """log(sigmoid(x)) = -softplus(-x), computed stably (finite value and gradient at +-1000 in float32)."""
    return LogSigmoid.apply(_float_input("logsigmoid", input))


# ---- smooth gates ------------------------------------------------------------------------------------------------
def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (swish)."""
    x = _float_input("silu", input)
    return inplace_result("silu", input, x * x.sigmoid(), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """x * tanh(softplus(x)); softplus without its linear threshold, so the formula is exact everywhere."""
    x = _float_input("mish", input)
    return inplace_result("mish", input, x * Softplus.apply(x, beta=1.0, threshold=math.inf).tanh(), inplace)


def gelu(input: Tensor, approximate: Literal["none", "tanh"] = "none") -> Tensor:
    """x * Phi(x) with Phi the standard normal CDF for ``approximate='none'``: 0.5 x (1 + erf(x / sqrt 2)), computed
    as 0.5 x erfc(-x / sqrt 2), which does not cancel to 0 for large negative x; for ``approximate='tanh'``,
    0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))."""
    as_choice("gelu", "approximate", approximate, ("none", "tanh"))
    x = _float_input("gelu", input)
    if approximate == "tanh":
        inner = (x + 0.044715 * (x * x * x)) * _SQRT_2_OVER_PI
        return x * (inner.tanh() + 1.0) * 0.5
    return x * (x * -_SQRT_HALF).erfc() * 0.5


def softsign(input: Tensor) -> Tensor:
    """x / (1 + |x|)."""
    x = _float_input("softsign", input)
    return x / (x.abs() + 1.0)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """a * sigmoid(b), with a and b the two halves of the input along ``dim`` (whose size must be even)."""
    x = _float_input("glu", input)
    if x.ndim == 0:
        raise ShapeError("glu: needs at least one axis to halve, got a 0-d tensor; reshape it to (2,) or more")
    axis = as_axis("glu", dim, x.ndim, "dim")
    n = x.shape[axis]
    if n % 2:
        raise ShapeError(f"glu: the halving dimension must have an even size, but dimension {dim} of shape {x.shape} "
                         f"has size {n}")
    lead = (slice(None),) * axis
    return x[lead + (slice(0, n // 2),)] * x[lead + (slice(n // 2, n),)].sigmoid()


# ---- along an axis -----------------------------------------------------------------------------------------------
def _log_softmax_along(op: str, input: Any, dim: Any, axis: Any, dtype: Any, negate: bool = False) -> Tensor:
    """log_softmax(+-x) along the PyTorch ``dim`` (or NumPy ``axis``; default the last axis), 0-d included."""
    x = _float_input(op, input)
    if dtype is not None:
        x = x.astype(as_dtype(op, dtype, "f"))
    a = spelling(op, ("dim", dim), ("axis", axis), None)
    a = -1 if a is None else as_axis(op, a, x.ndim, "dim")
    flat = x.reshape(1) if x.ndim == 0 else x  # a 0-d tensor is one class: probability 1, as PyTorch
    out = LogSoftmax.apply(-flat if negate else flat, axis=a)
    return out.reshape(()) if x.ndim == 0 else out


def softmin(input: Tensor, dim: int | None = UNSET, *, axis: int | None = UNSET, dtype: Any = None) -> Tensor:
    """softmax(-x) along ``dim`` (default: the last axis, as ``F.softmax`` here; PyTorch's implicit choice of dim is
    deprecated there). ``dtype`` casts the input first (float32 or float64)."""
    return _log_softmax_along("softmin", input, dim, axis, dtype, negate=True).exp()


__all__ = ["SELU_ALPHA", "SELU_SCALE", "celu", "elu", "gelu", "glu", "hardsigmoid", "hardswish", "hardtanh",
           "inplace_result", "leaky_relu", "logsigmoid", "mish", "prelu", "relu6", "selu", "silu", "softmin",
           "softsign"]
