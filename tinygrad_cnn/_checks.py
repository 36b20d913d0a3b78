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
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools (which are ints to Python, not to us)."""
    return isinstance(value, _INTS) and not isinstance(value, (bool, np.bool_))


def as_int(op: str, name: str, value: Any, low: int | None = None, high: int | None = None) -> int:
    """``value`` as a Python int; TypeError unless it is an integer (NumPy's too, bools not), ValueError when it is
    below ``low`` or above ``high`` (with ``low=1`` alone: "must be a positive int", the counts' message)."""
    if not is_int(value):
        raise TypeError(f"{op}: {name} must be an int, got {value!r} ({type(value).__name__})")
    if low == 1 and high is None and value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value}")
    _in_range(op, name, value, low, high)
    return int(value)


def as_real(op: str, name: str, value: Any, finite: bool = False, low: float | None = None,
            high: float | None = None, high_inclusive: bool = True) -> float:
    """``value`` as a float; TypeError unless it is a real number (not a bool, str, complex or None), ValueError when
    it is too large for a float, not finite (with ``finite=True``), or outside [low, high] ([low, high) with
    ``high_inclusive=False``). NaN is outside every interval."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, _REALS):
        raise TypeError(f"{op}: {name} must be a real number, got {value!r} ({type(value).__name__})")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"{op}: {name}={value} is too large for a float") from None
    if finite and not math.isfinite(out):
        raise ValueError(f"{op}: {name} must be finite, got {out}")
    if math.isnan(out) and (low is not None or high is not None):
        raise ValueError(f"{op}: {name} must be {_interval(low, high, high_inclusive)}, got nan")
    _in_range(op, name, out, low, high, high_inclusive)
    return out


def _interval(low: Any, high: Any, high_inclusive: bool = True) -> str:
    if high is None:
        return f">= {low}"
    if low is None:
        return f"<= {high}" if high_inclusive else f"< {high}"
    return f"in [{low}, {high}{']' if high_inclusive else ')'}"


def _in_range(op: str, name: str, value: Any, low: Any, high: Any, high_inclusive: bool = True) -> None:
    """ValueError unless ``low <= value <= high`` (either bound may be None; ``value < high`` if not inclusive)."""
    above = high is not None and (value > high if high_inclusive else value >= high)
    if (low is not None and value < low) or above:
        raise ValueError(f"{op}: {name} must be {_interval(low, high, high_inclusive)}, got {value}")


def as_bool(op: str, name: str, value: Any) -> bool:
    """``value`` as a bool; TypeError unless it is True or False (Python or NumPy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{op}: {name} must be True or False, got {value!r} ({type(value).__name__})")
    return bool(value)


def as_pair(op: str, name: str, value: Any, low: int | None = None) -> tuple[int, int]:
    """An int or a tuple/list of two ints (height, width) as a pair of Python ints: TypeError for any other kind of
    value or item, ValueError for a sequence of another length or an int below ``low``."""
    if is_int(value):
        pair: tuple = (value, value)
    elif isinstance(value, (tuple, list)) and all(is_int(v) for v in value):
        pair = tuple(value)
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints (h, w), got {value!r} "
                        f"({type(value).__name__})")
    if len(pair) != 2:
        raise ValueError(f"{op}: {name} must be an int or a pair of ints (h, w), got {len(pair)} ints: {value!r}")
    if low is not None and min(pair) < low:
        raise ValueError(f"{op}: {name} must be >= {low}, got {value!r}")
    return int(pair[0]), int(pair[1])


def as_choice(op: str, name: str, value: Any, choices: tuple[str, ...]) -> str:
    """One of the string options ``choices``: TypeError unless ``value`` is a str, ValueError naming the choices when
    it is another string."""
    names = [repr(c) for c in choices]
    options = f"{', '.join(names[:-1])} or {names[-1]}" if len(names) > 1 else names[0]
    if not isinstance(value, str):
        raise TypeError(f"{op}: {name} must be {options}, got {value!r} ({type(value).__name__})")
    if value not in choices:
        raise ValueError(f"{op}: {name} must be {options}, got {value!r}")
    return value


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


def as_axes(op: str, axis: Any, ndim: int) -> tuple[int, ...]:
    """``axis`` (None for all, an int, or a tuple/list of ints; negative counts from the end) as a sorted tuple of
    non-negative axes. TypeError for a non-int axis, ValueError for one out of range or repeated. A 0-d tensor
    accepts 0 and -1 (as PyTorch) and reduces over nothing."""
    if axis is None:
        return tuple(range(ndim))
    if not (is_int(axis) or isinstance(axis, (tuple, list))):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    items = (axis,) if is_int(axis) else tuple(axis)
    if not all(is_int(a) for a in items):
        raise TypeError(f"{op}: axis must be None, an int or a tuple of ints, got {axis!r}")
    n = max(ndim, 1)
    for a in items:
        if not -n <= a < n:
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} dimensions")
    out = [int(a) % n for a in items]
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis!r} repeats an axis")
    return tuple(sorted(out)) if ndim else ()


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


def as_array(op: str, data: Any, dtype: np.dtype | None = None) -> np.ndarray:
    """Numeric data as an array: ``dtype`` when given; otherwise Python floats and lists become float32 and NumPy
    float32/float64 arrays keep their dtype (not copied). TypeError for data that is not bool, int or float."""
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as err:
        raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}: {err}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: data of dtype {array.dtype} is not numeric; pass numbers (bool, int or float)")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype.kind == "f" and (array.dtype not in _FLOATS or not from_numpy):
        return array.astype(np.float32)
    return array


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


def as_tensor_of(cls: type, op: str, name: str, value: Any, dtype: Any = None) -> Any:
    """``value`` as a tensor of class ``cls`` (converted when it is array-like data); TypeError naming the op and the
    argument otherwise. ``cls`` is passed in because this module sits below every tensor class."""
    if isinstance(value, cls):
        return value
    try:
        return cls(value, dtype=dtype)
    except (TypeError, ValueError, OverflowError) as err:
        raise TypeError(f"{op}: {name} must be a Tensor or numeric array-like, got {type(value).__name__} "
                        f"({err})") from None


_UNSET: Any = object()


def spelling(op: str, pytorch: tuple[str, Any], numpy: tuple[str, Any], default: Any) -> Any:
    """One argument that has two spellings, PyTorch's and NumPy's (``dim``/``axis``, ``keepdim``/``keepdims``):
    whichever was given, ``default`` when neither was; TypeError when both were. Pass ``_checks.UNSET`` as the
    value of a spelling the caller left out, e.g. ``spelling("sum", ("dim", dim), ("axis", axis), None)``."""
    (p_name, p_value), (n_name, n_value) = pytorch, numpy
    if p_value is not _UNSET and n_value is not _UNSET:
        raise TypeError(f"{op}: got both {p_name}= and {n_name}= (two spellings of one argument); pass one")
    if p_value is not _UNSET:
        return p_value
    return default if n_value is _UNSET else n_value


UNSET = _UNSET  # the default of an argument whose other spelling may be given instead (see ``spelling``)


def as_single(op: str, name: str, value: Any, low: int | None = None) -> int:
    """A 1-D op's int argument (conv1d's stride, padding...): an int or a tuple/list of one int, as PyTorch takes
    both; ValueError for a sequence of another length, otherwise as ``as_int``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 1:
            raise ValueError(f"{op}: {name} must be an int or a tuple of one int, got {len(value)} ints: {value!r}")
        value = value[0]
    return as_int(op, name, value, low=low)


def check_image_batch(op: str, x: Any) -> None:
    """``x`` (a tensor) must be a 4-D floating-point image batch (N, C, H, W): ValueError for another rank (with the
    unsqueeze hint for one image), TypeError for an integer dtype."""
    if x.ndim != 4:
        hint = " (add the batch axis with x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ValueError(f"{op}: expected a 4-D input (N, C, H, W), got shape {x.shape}{hint}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
