"""Argument checks shared by Tensor methods, factories, ``F.*``, layers and optimisers.

Each check is a few ``isinstance`` tests and comparisons on Python values (never a pass over an array), and raises
a TypeError (wrong kind of value) or a ValueError (right kind, bad value) whose message starts with the op's name.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

_INTS = (int, np.integer)
_REALS = (int, float, np.integer, np.floating)


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools (which are ints to Python, not to us)."""
    return isinstance(value, _INTS) and not isinstance(value, (bool, np.bool_))


def as_int(op: str, name: str, value: Any, low: int | None = None) -> int:
    """``value`` as an int; TypeError unless it is an integer, ValueError when it is below ``low``."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if low is not None and value < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {value}")
    return int(value)


def as_real(op: str, name: str, value: Any, finite: bool = False) -> float:
    """``value`` as a float; TypeError unless it is a real number (not a bool, str, complex or None)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REALS):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{op}: {name}={value} is too large for a float") from None
    if finite and not math.isfinite(out):
        raise ValueError(f"{op}: {name} must be finite, got {out}")
    return out


def as_bool(op: str, name: str, value: Any) -> bool:
    """``value`` as a bool; TypeError unless it is True or False (Python or NumPy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def as_axis(op: str, axis: Any, ndim: int, name: str = "axis") -> int:
    """One axis of a tensor with ``ndim`` axes (negative counts from the end), as a non-negative int.

    TypeError when it is not an int; ValueError when it is outside [-ndim, ndim - 1]. A 0-d tensor accepts 0 and -1.
    """
    if not is_int(axis):
        raise TypeError(f"{op}: {name} must be an int, got {axis!r} ({type(axis).__name__})")
    n = max(ndim, 1)
    if not -n <= axis < n:
        raise ValueError(f"{op}: {name} {axis} is out of range for a tensor with {ndim} dimensions; pass an int in "
                         f"[{-n}, {n - 1}]")
    return int(axis) % n


def as_dtype(op: str, dtype: Any, kinds: str = "biuf") -> np.dtype:
    """``dtype`` as a NumPy dtype of one of ``kinds`` (b bool, i/u integers, f floats); TypeError otherwise."""
    try:
        out = np.dtype(dtype)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{op}: {dtype!r} is not a dtype ({err}); pass e.g. np.float32") from None
    if out.kind not in kinds:
        wanted = "a float dtype (float32 or float64)" if kinds == "f" else "a bool, integer or float dtype"
        raise TypeError(f"{op}: dtype must be {wanted}, got {out}")
    return out


def as_tensor(op: str, name: str, value: Any, dtype: Any = None) -> Any:
    """``value`` as a Tensor (converted when it is array-like data); TypeError naming the op otherwise."""
    from .tensor import Tensor

    if isinstance(value, Tensor):
        return value
    try:
        return Tensor(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(f"{op}: {name} must be a Tensor or numeric array-like, got {type(value).__name__} "
                        f"({err})") from None


def as_gradient(op: str, output: Any, gradient: Any) -> Any:
    """``gradient=`` of ``output.backward``: None, or a Tensor of the output's dtype (array-likes are converted)."""
    from .tensor import Tensor

    if gradient is None:
        return None
    gradient = as_tensor(op, "gradient", gradient, None if isinstance(gradient, Tensor) else output.dtype)
    if gradient.dtype != output.dtype:
        raise TypeError(f"{op}: gradient has dtype {gradient.dtype} for an output of dtype {output.dtype}; they must "
                        "match")
    return gradient


def as_shape(op: str, shape: tuple, itemsize: int = 8) -> tuple[int, ...]:
    """A shape given as ints or as one tuple/list of ints: non-negative ints whose array NumPy can address."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    if any(not is_int(n) for n in shape):
        raise TypeError(f"{op}: shape {shape!r} must be non-negative ints")
    shape = tuple(int(n) for n in shape)  # Python ints: a product of NumPy ints could wrap around
    if any(n < 0 for n in shape):
        raise ValueError(f"{op}: shape {shape} must be non-negative ints (it has a negative size)")
    if math.prod(n for n in shape if n) * itemsize > np.iinfo(np.intp).max:  # NumPy's limit, zero sizes aside
        raise ValueError(f"{op}: shape {shape} is too large for an array")
    return shape


def allocate(op: str, make, shape: tuple, dtype: Any) -> np.ndarray:
    """``make(shape, dtype)`` (e.g. np.zeros), with an allocation NumPy refuses or the system cannot satisfy reported
    as a ValueError naming the op: the sizes are the caller's arguments."""
    try:
        return make(shape, dtype)
    except (MemoryError, ValueError) as err:
        raise ValueError(f"{op}: cannot allocate an array of shape {shape} and dtype {np.dtype(dtype)}: "
                         f"{err}") from None


def as_tensors(op: str, values: Any) -> list:
    """A non-empty sequence of tensors (or array-likes) of one dtype as a list of Tensors; TypeError naming the op for
    anything else (ValueError when it is empty)."""
    from .tensor import Tensor

    if isinstance(values, (Tensor, np.ndarray, str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{op}: expected a sequence of tensors, got {type(values).__name__}; pass a list, e.g. "
                        f"{op}([a, b])")
    tensors = [as_tensor(op, f"item {i}", v) for i, v in enumerate(values)]
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: inputs have dtypes {sorted(map(str, dtypes))}; convert them to one dtype")
    return tensors
