"""Tensor: a NumPy array plus the graph node that made it. Operators and methods are thin sugar over ops."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _checks
from . import autograd as _autograd
from .autograd import Function, _initial_grad, grad, run_backward
from .inplace import InPlaceMethods

Scalar = int | float | bool
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _as_array(data: Any, dtype: np.dtype | None) -> np.ndarray:
    """Data as an array: float32 for Python floats and lists, NumPy arrays keep float32/float64."""
    from_numpy = isinstance(data, (np.ndarray, np.generic))
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as err:
        raise TypeError(f"Tensor: cannot make a tensor from {type(data).__name__}: {err}") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"Tensor: data of dtype {array.dtype} is not numeric; pass numbers (bool, int or float)")
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype.kind == "f" and (array.dtype not in _FLOATS or not from_numpy):
        return array.astype(np.float32)
    return array


class Tensor(InPlaceMethods):
    """An n-dimensional array that records the primitive ops computing it, for reverse-mode differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats and lists become float32, NumPy float32
    and float64 arrays keep their dtype (and are not copied), integer and bool data stay as they are and
    cannot require grad.
    """

    __slots__ = ("__weakref__", "_ctx", "_hooks", "_requires_grad", "data", "grad")
    __array_ufunc__ = None  # NumPy defers ``ndarray <op> Tensor`` to our reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        self.data = _as_array(data.data if isinstance(data, Tensor) else data,
                              None if dtype is None else _checks.as_dtype("Tensor", dtype))
        self._ctx: Function | None = None
        self._hooks: list[Callable] | None = None
        self.grad: Tensor | None = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data: np.ndarray, ctx: Function | None) -> Tensor:
        """Fast constructor for results of ops: no conversion, no checks."""
        t = cls.__new__(cls)
        t.data, t._ctx, t._hooks, t.grad, t._requires_grad = data, ctx, None, None, ctx is not None
        return t

    # ---- properties --------------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool) -> None:
        if _checks.as_bool("Tensor", "requires_grad", value) and self.data.dtype.kind != "f":
            raise TypeError(f"Tensor: only floating-point tensors can require grad, this one is {self.dtype}; "
                            "convert with .float() first")
        if self._ctx is not None and not value:
            raise RuntimeError("Tensor: requires_grad can only be turned off on leaf tensors; use .detach()")
        self._requires_grad = bool(value)

    shape = property(lambda self: self.data.shape, doc="The shape, a tuple of ints.")
    ndim = property(lambda self: self.data.ndim, doc="The number of axes.")
    dtype = property(lambda self: self.data.dtype, doc="The NumPy dtype.")
    size = property(lambda self: self.data.size, doc="The number of elements.")
    is_leaf = property(lambda self: self._ctx is None, doc="True for tensors not made by a recorded op.")
    grad_fn = property(lambda self: self._ctx, doc="The node (a Function) that made this tensor, or None.")
    T = property(lambda self: self.permute(tuple(range(self.ndim - 1, -1, -1))), doc="All axes reversed.")

    def __repr__(self) -> str:
        extra = f", grad_fn={self._ctx!r}" if self._ctx is not None else (
            ", requires_grad=True" if self._requires_grad else "")
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared, not copied)."""
        return self.data

    def item(self) -> Scalar:
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python scalar, shape is {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._make(self.data, None)

    def astype(self, dtype: Any) -> Tensor:
        """A copy in another dtype; differentiable between float dtypes."""
        from .ops.elementwise import Cast

        return Cast.apply(self, dtype=_checks.as_dtype("astype", dtype))

    def float(self) -> Tensor:
        return self if self.dtype == np.float32 else self.astype(np.float32)

    def double(self) -> Tensor:
        return self if self.dtype == np.float64 else self.astype(np.float64)

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient: Tensor | np.ndarray | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf), weighted by ``gradient``, into ``.grad`` of every leaf that requires grad."""
        if not self._requires_grad:
            raise RuntimeError("backward: this tensor does not require grad and has no grad_fn; compute it from "
                               "a tensor with requires_grad=True, outside no_grad()")
        g = _initial_grad(self, gradient, "backward")
        run_backward([self], [g], retain_graph=create_graph if retain_graph is None else retain_graph,
                     create_graph=create_graph)

    def register_hook(self, hook: Callable[[Tensor], Tensor | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned tensor replaces the gradient.

        Returns a function that removes the hook.
        """
        if not self._requires_grad:
            raise RuntimeError("register_hook: this tensor does not require grad, so no gradient will reach it")
        owner = self if self._ctx is None else self._ctx
        attr = "_hooks" if self._ctx is None else "hooks"
        if getattr(owner, attr) is None:
            setattr(owner, attr, [])
        getattr(owner, attr).append(hook)
        return lambda: getattr(owner, attr).remove(hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if self._ctx is None:
            return
        if self._ctx.retained is None:
            self._ctx.retained = []
        self._ctx.retained.append(weakref.ref(self))

    # ---- elementwise --------------------------------------------------------------------------
    def __add__(self, other): return _ew.Add.apply(*promote("add", self, other))
    def __radd__(self, other): return _ew.Add.apply(*promote("add", other, self))
    def __sub__(self, other): return _ew.Sub.apply(*promote("sub", self, other))
    def __rsub__(self, other): return _ew.Sub.apply(*promote("sub", other, self))
    def __mul__(self, other): return _ew.Mul.apply(*promote("mul", self, other))
    def __rmul__(self, other): return _ew.Mul.apply(*promote("mul", other, self))
    def __truediv__(self, other): return _ew.Div.apply(*promote("div", self, other, to_float=True))
    def __rtruediv__(self, other): return _ew.Div.apply(*promote("div", other, self, to_float=True))
    def __pow__(self, other): return _ew.Pow.apply(*promote("pow", self, other))
    def __rpow__(self, other): return _ew.Pow.apply(*promote("pow", other, self))
    def __matmul__(self, other): return _la.MatMul.apply(*promote("matmul", self, other))
    def __rmatmul__(self, other): return _la.MatMul.apply(*promote("matmul", other, self))
    def __neg__(self): return _ew.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    def __lt__(self, other): return _compare(np.less, self, other)
    def __le__(self, other): return _compare(np.less_equal, self, other)
    def __gt__(self, other): return _compare(np.greater, self, other)
    def __ge__(self, other): return _compare(np.greater_equal, self, other)
    def __eq__(self, other): return _compare(np.equal, self, other)  # type: ignore[override]
    def __ne__(self, other): return _compare(np.not_equal, self, other)  # type: ignore[override]

    def exp(self) -> Tensor: return _ew.Exp.apply(self)
    def log(self) -> Tensor: return _ew.Log.apply(self)
    def sqrt(self) -> Tensor: return _ew.Sqrt.apply(self)
    def abs(self) -> Tensor: return _ew.Abs.apply(self)
    def relu(self) -> Tensor: return _ew.Relu.apply(self)
    def sigmoid(self) -> Tensor: return _ew.Sigmoid.apply(self)
    def tanh(self) -> Tensor: return _ew.Tanh.apply(self)
    def maximum(self, other) -> Tensor: return _ew.Maximum.apply(*promote("maximum", self, other))
    def minimum(self, other) -> Tensor: return _ew.Minimum.apply(*promote("minimum", self, other))

    def clip(self, low: float | None = None, high: float | None = None) -> Tensor:
        """Elementwise min(max(x, low), high); either bound may be None."""
        return _ew.Clip.apply(self, low=low, high=high)

    clamp = clip

    def where(self, a, b) -> Tensor:
        """``self ? a : b`` with self a boolean tensor."""
        return _ew.where(self, a, b)

    # ---- reductions ---------------------------------------------------------------------------
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _red.Sum.apply(self, axis=axis, keepdims=keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum over ``axis``; the gradient goes to the first maximum of each slice (row-major)."""
        return _red.Max.apply(self, axis=axis, keepdims=keepdims)

    def min(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Minimum over ``axis``; the gradient goes to the first minimum of each slice (row-major)."""
        return _red.Min.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` divided by the number of summed elements."""
        return _red.mean(self, axis, keepdims)

    def var(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """sum((x - mean)^2) / (n - ddof) over ``axis`` (NumPy's ddof; ddof=1 is the unbiased estimate)."""
        return _red.variance(self, axis, keepdims, ddof, "var")

    def std(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        return _red.variance(self, axis, keepdims, ddof, "std").sqrt()

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the first maximum (not differentiable)."""
        return _red.arg_extreme(self, axis, keepdims, largest=True)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Tensor:
        """Index of the first minimum (not differentiable)."""
        return _red.arg_extreme(self, axis, keepdims, largest=False)

    def any(self) -> bool: return bool(np.any(self.data))
    def all(self) -> bool: return bool(np.all(self.data))

    # ---- movement -----------------------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        same = all(type(n) is int for n in shape) and shape == self.shape  # (2.0, 3.0) == (2, 3) but is no shape
        return self if same else _mv.Reshape.apply(self, shape=shape)

    view = reshape

    def permute(self, *axes) -> Tensor:
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _mv.Permute.apply(self, axes=axes)

    def transpose(self, axis0: int = -2, axis1: int = -1) -> Tensor:
        """Swap two axes (the last two by default)."""
        if not (_checks.is_int(axis0) and _checks.is_int(axis1)):
            raise TypeError(f"transpose: axes must be ints, got ({axis0!r}, {axis1!r})")
        if not (-self.ndim <= axis0 < self.ndim and -self.ndim <= axis1 < self.ndim):
            raise ValueError(f"transpose: axes ({axis0}, {axis1}) are out of range for a tensor of shape {self.shape}")
        order = list(range(self.ndim))
        order[axis0], order[axis1] = order[axis1], order[axis0]
        return self.permute(order)

    def expand(self, *shape) -> Tensor:
        """Broadcast to ``shape`` without copying; -1 keeps an axis."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        same = all(type(n) is int for n in shape) and shape == self.shape
        return self if same else _mv.Expand.apply(self, shape=shape)

    broadcast_to = expand

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """Drop axes of size 1 (all of them, or those in ``axis``, which must have size 1)."""
        axes = _red.normalize_axes("squeeze", axis, self.ndim)
        if axis is not None and any(self.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze: axis {axis!r} of shape {self.shape} does not have size 1")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def unsqueeze(self, axis: int) -> Tensor:
        """Insert an axis of size 1 at position ``axis`` (negative counts from the end of the result)."""
        if not -self.ndim - 1 <= _checks.as_int("unsqueeze", "axis", axis) <= self.ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with {self.ndim + 1} axes")
        axis %= self.ndim + 1
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Tensor:
        """Merge axes start_axis..end_axis (inclusive) into one."""
        s, e = (_checks.as_axis("flatten", a, self.ndim, name) for a, name in ((start_axis, "start_axis"),
                                                                               (end_axis, "end_axis")))
        if s > e:
            raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape {self.shape}")
        return self.reshape(self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:])

    def pad(self, pad_width, value: float = 0.0) -> Tensor:
        """Constant padding, NumPy's ``pad_width``: an int, a (before, after) pair, or a pair per axis."""
        _checks.as_real("pad", "value", value)
        return _mv.Pad.apply(self, pad_width=_mv.normalize_pad("pad", pad_width, self.ndim), value=value)

    def __getitem__(self, index) -> Tensor:
        return _mv.GetItem.apply(self, index=_mv.normalize_index(index, "getitem"))

    # ---- CNN ops (defined in ops.conv and ops.softmax) ------------------------------------------
    def log_softmax(self, axis: int = -1) -> Tensor:
        from .ops.softmax import log_softmax

        return log_softmax(self, axis=axis)

    def softmax(self, axis: int = -1) -> Tensor:
        from .ops.softmax import softmax

        return softmax(self, axis=axis)


def _result_float(op: str, a: np.dtype, b: np.dtype) -> np.dtype:
    if a.kind == "f" and b.kind == "f" and a != b:
        raise TypeError(f"{op}: operands have dtypes {a} and {b}; convert one with .float() or .double()")
    return a if a.kind == "f" else b


def promote(op: str, a: Any, b: Any, to_float: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype (PyTorch's rules: Python scalars never upcast a tensor; an integer
    tensor meeting a float one becomes that float type; float32 with float64 is an error)."""
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype == b.data.dtype and a.data.dtype.kind == "f":
        return a, b
    try:
        if type(b) in (float, int) and type(a) is Tensor and a.data.dtype.kind == "f":  # the common cases, fast
            return a, Tensor._make(np.asarray(b, dtype=a.data.dtype), None)
        if type(a) in (float, int) and type(b) is Tensor and b.data.dtype.kind == "f":
            return Tensor._make(np.asarray(a, dtype=b.data.dtype), None), b
    except OverflowError:
        raise ValueError(f"{op}: the number {b if type(a) is Tensor else a} is too large for a float tensor") from None
    ta, tb = isinstance(a, Tensor), isinstance(b, Tensor)
    if ta and tb:
        if a.dtype == b.dtype and (not to_float or a.dtype.kind == "f"):
            return a, b
        da, db = a.dtype, b.dtype
        if da.kind == "f" or db.kind == "f":
            target = _result_float(op, da, db)
        else:
            target = np.dtype(np.float32) if to_float else np.result_type(da, db)
        return (a if a.dtype == target else a.astype(target)), (b if b.dtype == target else b.astype(target))
    tensor, other = (a, b) if ta else (b, a)
    if not isinstance(tensor, Tensor):
        tensor = _checks.as_tensor(op, "operand", tensor)
    if isinstance(other, (bool, int, float, np.bool_, np.integer, np.floating)):
        kind = tensor.dtype.kind
        if kind == "f":
            target = tensor.dtype
        elif isinstance(other, (float, np.floating)) or to_float:
            target = np.dtype(np.float32)
        else:
            target = np.result_type(tensor.dtype, np.asarray(other).dtype) if kind in "iu" else np.dtype(np.int64)
        try:
            if target.kind not in "biuf":  # np.result_type with an int too large for int64
                raise OverflowError
            other = Tensor._make(np.asarray(other, dtype=target), None)
        except OverflowError:
            raise ValueError(f"{op}: the number {other} does not fit in a {tensor.dtype} tensor") from None
        if tensor.dtype != target:
            tensor = tensor.astype(target)
    else:
        other = _checks.as_tensor(op, "operand", other)
        if other.dtype != tensor.dtype or to_float:
            return promote(op, *((tensor, other) if ta else (other, tensor)), to_float=to_float)
    return (tensor, other) if ta else (other, tensor)


def _compare(ufunc, a: Tensor, b: Any) -> Tensor:
    b = b.data if isinstance(b, Tensor) else b
    try:
        return Tensor._make(ufunc(a.data, b), None)
    except ValueError:
        raise ValueError(f"{ufunc.__name__}: shapes {a.shape} and {np.shape(b)} do not broadcast") from None
    except (TypeError, OverflowError):
        raise TypeError(f"{ufunc.__name__}: cannot compare a {a.dtype} tensor with {type(b).__name__} {b!r}; pass a "
                        "number or a numeric tensor") from None


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = _checks.as_tensors("stack", tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    axis = _checks.as_axis("stack", axis, tensors[0].ndim + 1)
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _checks.as_tensors("concatenate", tensors)
    return _mv.Concatenate.apply(*tensors, axis=axis)


_autograd.Tensor = Tensor  # the engine builds Tensors without importing this module at call time

from .ops import elementwise as _ew  # noqa: E402  (the ops import Tensor, so they come after it)
from .ops import linalg as _la  # noqa: E402
from .ops import movement as _mv  # noqa: E402
from .ops import reduce as _red  # noqa: E402

where = _ew.where
__all__ = ["Tensor", "concatenate", "grad", "promote", "stack", "where"]
