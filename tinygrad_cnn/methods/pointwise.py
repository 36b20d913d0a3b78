"""Elementwise maths, comparisons and logical ops.

Tensor methods with PyTorch's names (and NumPy's spellings where they differ), mixed into Tensor, and the
top-level functions ``tg.sin(x)``, ``tg.atan2(a, b)``... that PyTorch has as ``torch.X``.

dtype rules (PyTorch's): float-valued functions (sin, exp, erf, atan2, hypot...) of integer or bool tensors give
float32; rounding, sign, abs, square, remainder, floor_divide and fmod keep an integer dtype; comparisons, isnan and
the logical ops give bool. Integer and bool results are not differentiable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .. import _checks
from ..errors import ShapeError
from ..ops import elementwise as _ew
from ..promotion import promote
from ..tensor_core import TensorCore

_UNSET = _checks.UNSET


def _binary(op: str, primitive: type, a: Any, b: Any, to_float: bool = False) -> Any:
    """``primitive`` on both operands promoted to one dtype (PyTorch's rules; ``to_float``: integers to float32)."""
    return primitive.apply(*promote(op, a, b, to_float))


def _float_only(op: str, t: Any) -> None:
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: needs a floating-point tensor, got {t.dtype}; convert it with .float()")


def _other_data(other: Any) -> Any:
    """The other operand of a comparison or logical op: a tensor's array, anything else as given (NumPy's errors for
    non-numeric values are caught and re-raised naming the op)."""
    return other.data if isinstance(other, TensorCore) else other


def _boolean(op: str, ufunc: Callable, a: Any, *others: Any, **kwargs: Any) -> Any:
    """``ufunc`` on the tensors' arrays (broadcasting) as a bool tensor outside the graph; errors name ``op``."""
    arrays = [_other_data(o) for o in others]
    try:
        with np.errstate(invalid="ignore", over="ignore"):
            out = ufunc(a.data, *arrays, **kwargs)
    except ValueError:
        shapes = " and ".join(str(np.shape(x)) for x in (a.data, *arrays))
        raise ShapeError(f"{op}: shapes {shapes} do not broadcast; trailing axes must be equal or 1") from None
    except (TypeError, OverflowError):
        raise TypeError(f"{op}: cannot compare a {a.dtype} tensor with {', '.join(map(repr, others))}; pass a number "
                        "or a numeric tensor") from None
    return type(a)._make(np.asarray(out), None)


def _compare(ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """``a <op> b`` elementwise as a bool tensor; the error names the ufunc (``less``, ``equal``...)."""
    return _boolean(ufunc.__name__, ufunc, a, b)


class PointwiseMethods:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    # ---- comparisons (bool results, not differentiable) ----------------------------------------------------------
    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return _compare(np.not_equal, self, other)  # type: ignore[override]

    lt = less = __lt__
    le = less_equal = __le__
    gt = greater = __gt__
    ge = greater_equal = __ge__
    eq = __eq__  # elementwise, as torch.eq

    def equal(self, other: Any) -> bool:
        """True when ``other`` is a tensor of the same shape with the same values (PyTorch's ``torch.equal``: one
        Python bool; dtypes may differ)."""
        if not isinstance(other, TensorCore):
            raise TypeError(f"equal: other must be a Tensor, got {type(other).__name__}")
        return self.shape == other.shape and bool(np.array_equal(self.data, other.data))
    ne = not_equal = __ne__

    def isclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Any:
        """|self - other| <= atol + rtol |other| elementwise (bool), NumPy's and PyTorch's rule."""
        rtol = _checks.as_real("isclose", "rtol", rtol, low=0.0)
        atol = _checks.as_real("isclose", "atol", atol, low=0.0)
        equal_nan = _checks.as_bool("isclose", "equal_nan", equal_nan)
        return _boolean("isclose", np.isclose, self, other, rtol=rtol, atol=atol, equal_nan=equal_nan)

    def isnan(self) -> Any: return type(self)._make(np.isnan(self.data), None)
    def isinf(self) -> Any: return type(self)._make(np.isinf(self.data), None)
    def isfinite(self) -> Any: return type(self)._make(np.isfinite(self.data), None)
    def isposinf(self) -> Any: return type(self)._make(np.isposinf(self.data) if self.dtype.kind == "f" else
                                                       np.zeros(self.shape, bool), None)
    def isneginf(self) -> Any: return type(self)._make(np.isneginf(self.data) if self.dtype.kind == "f" else
                                                       np.zeros(self.shape, bool), None)

    # ---- bitwise ops on bool and integer tensors (& | ^ ~; not differentiable) ---------------------------------------
    def bitwise_and(self, other: Any) -> Any: return _bitwise("bitwise_and", np.bitwise_and, self, other)
    def bitwise_or(self, other: Any) -> Any: return _bitwise("bitwise_or", np.bitwise_or, self, other)
    def bitwise_xor(self, other: Any) -> Any: return _bitwise("bitwise_xor", np.bitwise_xor, self, other)
    __and__, __or__, __xor__ = bitwise_and, bitwise_or, bitwise_xor
    def __rand__(self, other): return _bitwise("bitwise_and", np.bitwise_and, other, self)
    def __ror__(self, other): return _bitwise("bitwise_or", np.bitwise_or, other, self)
    def __rxor__(self, other): return _bitwise("bitwise_xor", np.bitwise_xor, other, self)

    def bitwise_not(self) -> Any:
        """~x: logical not of a bool tensor, the bits flipped of an integer one."""
        _integral("bitwise_not", self)
        return type(self)._make(np.invert(self.data), None)

    __invert__ = bitwise_not

    def logical_not(self) -> Any: return type(self)._make(np.logical_not(self.data), None)
    def logical_and(self, other: Any) -> Any: return _boolean("logical_and", np.logical_and, self, other)
    def logical_or(self, other: Any) -> Any: return _boolean("logical_or", np.logical_or, self, other)
    def logical_xor(self, other: Any) -> Any: return _boolean("logical_xor", np.logical_xor, self, other)

    # ---- float-valued maps (integer tensors give float32) ----------------------------------------------------------
    def sin(self) -> Any: return _ew.Sin.apply(self)
    def cos(self) -> Any: return _ew.Cos.apply(self)
    def tan(self) -> Any: return _ew.Tan.apply(self)
    def asin(self) -> Any: return _ew.Asin.apply(self)
    def acos(self) -> Any: return _ew.Acos.apply(self)
    def atan(self) -> Any: return _ew.Atan.apply(self)
    def sinh(self) -> Any: return _ew.Sinh.apply(self)
    def cosh(self) -> Any: return _ew.Cosh.apply(self)
    def asinh(self) -> Any: return _ew.Asinh.apply(self)
    def acosh(self) -> Any: return _ew.Acosh.apply(self)
    def atanh(self) -> Any: return _ew.Atanh.apply(self)
    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def exp2(self) -> Any: return _ew.Exp2.apply(self)
    def expm1(self) -> Any: return _ew.Expm1.apply(self)
    def log2(self) -> Any: return _ew.Log2.apply(self)
    def log10(self) -> Any: return _ew.Log10.apply(self)
    def log1p(self) -> Any: return _ew.Log1p.apply(self)
    def rsqrt(self) -> Any: return _ew.Rsqrt.apply(self)
    def reciprocal(self) -> Any: return _ew.Reciprocal.apply(self)

    def erf(self) -> Any:
        """The error function 2/sqrt(pi) int_0^x exp(-t^2) dt, to a few ulps of ``math.erf``."""
        return _ew.Erf.apply(self)

    def erfc(self) -> Any:
        """1 - erf(x), accurate where it is tiny (erfc(26) = 5.6e-296)."""
        return _ew.Erfc.apply(self)

    def square(self) -> Any:
        """self * self (an integer tensor stays integer)."""
        return self * self

    # ---- rounding and sign (integer tensors keep their dtype; the gradient is 0) -----------------------------------
    def floor(self) -> Any: return _ew.Floor.apply(self)
    def ceil(self) -> Any: return _ew.Ceil.apply(self)
    def trunc(self) -> Any: return _ew.Trunc.apply(self)
    fix = trunc

    def round(self, decimals: int = 0) -> Any:
        """Round to ``decimals`` decimal places, halves to even (as PyTorch and NumPy)."""
        return _ew.Round.apply(self, decimals=_checks.as_int("round", "decimals", decimals))

    def frac(self) -> Any:
        """self - trunc(self), with the sign of self (as PyTorch); floating-point tensors only."""
        _float_only("frac", self)
        return self - self.trunc()

    def sign(self) -> Any:
        """-1, 0 or 1 by the sign of each element (NaN for NaN, as NumPy; PyTorch gives 0 there)."""
        return _ew.Sign.apply(self)

    sgn = sign

    def abs(self) -> Any: return _ew.Abs.apply(self)
    absolute = abs

    def copysign(self, other: Any) -> Any:
        """|self| with the sign of ``other`` (float32 for integer operands)."""
        return _binary("copysign", _ew.Copysign, self, other, to_float=True)

    def nan_to_num(self, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None) -> Any:
        """NaN, +inf and -inf replaced by ``nan``, ``posinf`` and ``neginf`` (None: the dtype's largest and smallest
        finite values); the gradient passes where the input is finite."""
        bounds = {"nan": _checks.as_real("nan_to_num", "nan", nan)}
        for name, value in (("posinf", posinf), ("neginf", neginf)):
            bounds[name] = None if value is None else _checks.as_real("nan_to_num", name, value)
        return _ew.NanToNum.apply(self, **bounds)

    # ---- binary maps -----------------------------------------------------------------------------------------------
    def maximum(self, other: Any) -> Any: return _binary("maximum", _ew.Maximum, self, other)
    def minimum(self, other: Any) -> Any: return _binary("minimum", _ew.Minimum, self, other)
    def atan2(self, other: Any) -> Any: return _binary("atan2", _ew.Atan2, self, other, to_float=True)
    arctan2 = atan2
    def hypot(self, other: Any) -> Any: return _binary("hypot", _ew.Hypot, self, other, to_float=True)
    def logaddexp(self, other: Any) -> Any: return _binary("logaddexp", _ew.LogAddExp, self, other, to_float=True)
    def fmod(self, other: Any) -> Any: return _binary("fmod", _ew.Fmod, self, other)
    def remainder(self, other: Any) -> Any: return _binary("remainder", _ew.Remainder, self, other)
    def floor_divide(self, other: Any) -> Any: return _binary("floor_divide", _ew.FloorDivide, self, other)
    def __mod__(self, other): return _binary("remainder", _ew.Remainder, self, other)
    def __rmod__(self, other): return _binary("remainder", _ew.Remainder, other, self)
    def __floordiv__(self, other): return _binary("floor_divide", _ew.FloorDivide, self, other)
    def __rfloordiv__(self, other): return _binary("floor_divide", _ew.FloorDivide, other, self)

    def lerp(self, end: Any, weight: Any) -> Any:
        """self + weight * (end - self), weight a number or a tensor; as PyTorch, computed as
        end - (end - self) * (1 - weight) where weight >= 0.5, so weight = 1 gives ``end`` exactly."""
        _float_only("lerp", self)
        start, end = promote("lerp", self, end)
        _float_only("lerp", end)
        diff = end - start
        if isinstance(weight, TensorCore):
            _float_only("lerp", weight)
            weight, start = promote("lerp", weight, start)
            low = weight < 0.5
            return _ew.Where.apply(low, start + weight * diff, end - diff * (1 - weight))
        w = _checks.as_real("lerp", "weight", weight)
        return start + w * diff if w < 0.5 else end - diff * (1 - w)

    def clamp(self, min: Any = _UNSET, max: Any = _UNSET, *, low: Any = _UNSET, high: Any = _UNSET) -> Any:
        """min(max(x, min), max) elementwise; either bound may be None, a number or a tensor (broadcast).

        PyTorch's ``min=``/``max=`` and this library's ``low=``/``high=`` spell the same bounds. The gradient to x
        passes where min <= x <= max (inclusive, as PyTorch); a tensor bound receives the gradient where it is the
        result. Number bounds must satisfy min <= max; with tensor bounds, max wins where min > max (as PyTorch).
        """
        lo = _checks.spelling("clip", ("min", min), ("low", low), None)
        hi = _checks.spelling("clip", ("max", max), ("high", high), None)
        if not isinstance(lo, TensorCore) and not isinstance(hi, TensorCore):
            return _ew.Clip.apply(self, low=lo, high=hi)
        out = self
        for bound, name, below in ((lo, "min", True), (hi, "max", False)):
            if bound is None:
                continue
            if not isinstance(bound, TensorCore):
                out = _ew.Clip.apply(out, **{"low" if below else "high": _checks.as_real("clip", name, bound)})
                continue
            _ew.broadcast_check("clip", out.shape, bound.shape)
            x, b = promote("clip", out, bound)
            out = _ew.Where.apply(x < b if below else x > b, b, x)
        return out

    clip = clamp


def _integral(op: str, t: Any) -> None:
    if t.dtype.kind not in "biu":
        raise TypeError(f"{op}: needs bool or integer tensors, got {t.dtype} (PyTorch has no bitwise ops on floats); "
                        "for masks compare first, e.g. (x > 0) & (x < 1)")


def _bitwise(op: str, ufunc: np.ufunc, a: Any, b: Any) -> Any:
    """``ufunc`` on both operands promoted to one dtype (bool with bool stays bool); not in the graph."""
    x, y = promote(op, a, b)
    _integral(op, x)
    return type(x)._make(ufunc(x.data, y.data), None)


def _tensor(op: str, value: Any) -> Any:
    if not isinstance(value, TensorCore):
        raise TypeError(f"{op}: expected a Tensor, got {type(value).__name__}; wrap the data with tg.Tensor(...)")
    return value


def _function(name: str) -> Callable[..., Any]:
    """The top-level function ``tg.<name>(input, ...)`` of the Tensor method ``name``."""

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(_tensor(name, input), name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    method = getattr(PointwiseMethods, name, None)
    function.__doc__ = (method.__doc__ if method is not None and method.__doc__ else
                        f"``tg.{name}(x)`` is ``x.{name}()``.")
    return function


def _binary_function(name: str, primitive: type, to_float: bool = False) -> Callable[..., Any]:
    """``tg.<name>(input, other)``: either operand may be a number when the other is a tensor."""

    def function(input: Any, other: Any) -> Any:
        return _binary(name, primitive, input, other, to_float)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = getattr(PointwiseMethods, name).__doc__ or f"``tg.{name}(a, b)``, elementwise, broadcasting."
    return function


sin, cos, tan, asin, acos, atan = (_function(n) for n in ("sin", "cos", "tan", "asin", "acos", "atan"))
sinh, cosh, asinh, acosh, atanh = (_function(n) for n in ("sinh", "cosh", "asinh", "acosh", "atanh"))
arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh
exp, exp2, expm1, log, log2, log10, log1p = (_function(n) for n in ("exp", "exp2", "expm1", "log", "log2", "log10",
                                                                    "log1p"))
sqrt, rsqrt, square, reciprocal, erf, erfc = (_function(n) for n in ("sqrt", "rsqrt", "square", "reciprocal", "erf",
                                                                    "erfc"))
sigmoid, tanh = _function("sigmoid"), _function("tanh")
floor, ceil, trunc, round, frac, sign, sgn, abs = (_function(n) for n in ("floor", "ceil", "trunc", "round", "frac",
                                                                          "sign", "sgn", "abs"))
fix, absolute = trunc, abs
nan_to_num, clamp, clip, lerp = (_function(n) for n in ("nan_to_num", "clamp", "clip", "lerp"))
copysign = _binary_function("copysign", _ew.Copysign, to_float=True)
isnan, isinf, isfinite, isposinf, isneginf = (_function(n) for n in ("isnan", "isinf", "isfinite", "isposinf",
                                                                     "isneginf"))
logical_not, logical_and, logical_or, logical_xor = (_function(n) for n in ("logical_not", "logical_and",
                                                                            "logical_or", "logical_xor"))
eq, ne, lt, le, gt, ge, isclose = (_function(n) for n in ("eq", "ne", "lt", "le", "gt", "ge", "isclose"))
greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
atan2 = arctan2 = _binary_function("atan2", _ew.Atan2, to_float=True)
hypot = _binary_function("hypot", _ew.Hypot, to_float=True)
logaddexp = _binary_function("logaddexp", _ew.LogAddExp, to_float=True)
fmod = _binary_function("fmod", _ew.Fmod)
remainder = _binary_function("remainder", _ew.Remainder)
floor_divide = _binary_function("floor_divide", _ew.FloorDivide)
maximum = _binary_function("maximum", _ew.Maximum)
minimum = _binary_function("minimum", _ew.Minimum)


def bitwise_and(input: Any, other: Any) -> Any:
    """input & other elementwise (bool and integer tensors; either may be a number)."""
    return _bitwise("bitwise_and", np.bitwise_and, input, other)


def bitwise_or(input: Any, other: Any) -> Any:
    """input | other elementwise (bool and integer tensors; either may be a number)."""
    return _bitwise("bitwise_or", np.bitwise_or, input, other)


def bitwise_xor(input: Any, other: Any) -> Any:
    """input ^ other elementwise (bool and integer tensors; either may be a number)."""
    return _bitwise("bitwise_xor", np.bitwise_xor, input, other)


bitwise_not = _function("bitwise_not")
