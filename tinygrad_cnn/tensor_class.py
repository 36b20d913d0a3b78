"""Tensor: a NumPy array plus the graph node that made it. Operators and methods are thin sugar over ops.

``TensorCore`` (below the engine) holds the data, the node and the hooks; this subclass, defined above the
primitives, adds the operators, the methods and ``backward``. Each method converts its arguments and calls one
primitive's ``apply`` (or composes a few).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _checks, autograd
from . import promotion as _promotion
from .errors import ShapeError
from .inplace import InPlaceMethods
from .methods.indexing import IndexingMethods
from .methods.linear_algebra import LinalgMethods
from .methods.pointwise import PointwiseMethods
from .methods.reductions import ReductionMethods
from .ops import elementwise as _ew
from .ops import linalg as _la
from .ops import movement as _mv
from .ops import softmax as _sm
from .tensor_core import Scalar, TensorCore

__all__ = ["Scalar", "Tensor", "as_tensor", "as_tensors", "concatenate", "grad", "promote", "stack", "where"]
grad = autograd.grad


class Tensor(TensorCore, InPlaceMethods, PointwiseMethods, ReductionMethods, IndexingMethods, LinalgMethods):
    """An n-dimensional array that records the primitive ops computing it, for reverse-mode differentiation.

    ``Tensor(data, requires_grad=False, dtype=None)``: Python floats and lists become float32, NumPy float32
    and float64 arrays keep their dtype (and are not copied), integer and bool data stay as they are and
    cannot require grad.
    """

    __slots__ = ()
    __hash__ = TensorCore.__hash__  # identity, as before: defining __eq__ below would otherwise unset it

    T = property(lambda self: self.permute(tuple(range(self.ndim - 1, -1, -1))), doc="All axes reversed.")

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- conversion ---------------------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        """A copy in another dtype; differentiable between float dtypes."""
        return _ew.Cast.apply(self, dtype=_checks.as_dtype("astype", dtype))

    def float(self) -> Tensor:
        return self if self.dtype == np.float32 else self.astype(np.float32)

    def double(self) -> Tensor:
        return self if self.dtype == np.float64 else self.astype(np.float64)

    # ---- autograd -----------------------------------------------------------------------------
    def backward(self, gradient: Tensor | np.ndarray | None = None, retain_graph: bool | None = None,
                 create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf), weighted by ``gradient``, into ``.grad`` of every leaf that requires grad."""
        autograd.backward(self, gradient, retain_graph=retain_graph, create_graph=create_graph)

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
    def __matmul__(self, other): return _la.MatMul.apply(*promote("matmul", self, other, strict_floats=True))
    def __rmatmul__(self, other): return _la.MatMul.apply(*promote("matmul", other, self, strict_floats=True))
    def __neg__(self): return _ew.Neg.apply(self)
    def __pos__(self): return self
    def __abs__(self): return self.abs()

    add, sub, mul, div, pow, matmul = __add__, __sub__, __mul__, __truediv__, __pow__, __matmul__

    # comparisons (< <= > >= == != and eq...ge), abs, clip/clamp, maximum/minimum: methods/pointwise.py

    def exp(self) -> Tensor: return _ew.Exp.apply(self)
    def log(self) -> Tensor: return _ew.Log.apply(self)
    def sqrt(self) -> Tensor: return _ew.Sqrt.apply(self)
    def relu(self) -> Tensor: return _ew.Relu.apply(self)
    def sigmoid(self) -> Tensor: return _ew.Sigmoid.apply(self)
    def tanh(self) -> Tensor: return _ew.Tanh.apply(self)

    def where(self, a, b) -> Tensor:
        """``self ? a : b`` with self a boolean tensor."""
        return where(self, a, b)

    # ---- reductions, scans, sorting: methods/reductions.py (ReductionMethods) ----------------------------------

    # ---- movement -----------------------------------------------------------------------------
    def reshape(self, *shape) -> Tensor:
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        same = all(type(n) is int for n in shape) and shape == self.shape  # (2.0, 3.0) == (2, 3) but is no shape
        return self if same else _mv.Reshape.apply(self, shape=shape)

    view = reshape

    def permute(self, *axes) -> Tensor:
        axes = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        return _mv.Permute.apply(self, axes=axes)

    def transpose(self, axis0: int = -2, axis1: int = -1, *, dim0: int = _checks.UNSET,
                  dim1: int = _checks.UNSET) -> Tensor:
        """Swap two axes (the last two by default); PyTorch's ``dim0=``/``dim1=`` spell them too."""
        axis0 = _checks.spelling("transpose", ("dim0", dim0), ("axis0", _checks.UNSET), axis0)
        axis1 = _checks.spelling("transpose", ("dim1", dim1), ("axis1", _checks.UNSET), axis1)
        if not (_checks.is_int(axis0) and _checks.is_int(axis1)):
            raise TypeError(f"transpose: axes must be ints, got ({axis0!r}, {axis1!r})")
        if not (-self.ndim <= axis0 < self.ndim and -self.ndim <= axis1 < self.ndim):
            raise ShapeError(f"transpose: axes ({axis0}, {axis1}) are out of range for a tensor of shape {self.shape}")
        order = list(range(self.ndim))
        order[axis0], order[axis1] = order[axis1], order[axis0]
        return self.permute(order)

    def expand(self, *shape) -> Tensor:
        """Broadcast to ``shape`` without copying; -1 keeps an axis."""
        shape = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        same = all(type(n) is int for n in shape) and shape == self.shape
        return self if same else _mv.Expand.apply(self, shape=shape)

    broadcast_to = expand

    def squeeze(self, dim: int | tuple[int, ...] | None = _checks.UNSET, *,
                axis: int | tuple[int, ...] | None = _checks.UNSET) -> Tensor:
        """Drop axes of size 1: all of them, or those in ``dim`` (an int or a tuple, PyTorch 2), which must have size
        1 (stricter than PyTorch, which skips a named axis of another size: NumPy's rule)."""
        axis = _checks.spelling("squeeze", ("dim", dim), ("axis", axis), None)
        axes = _checks.as_axes("squeeze", axis, self.ndim)
        if axis is not None and any(self.shape[a] != 1 for a in axes):
            raise ShapeError(f"squeeze: axis {axis!r} of shape {self.shape} does not have size 1")
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in axes and n == 1)))

    def unsqueeze(self, dim: int | tuple[int, ...] = _checks.UNSET, *,
                  axis: int | tuple[int, ...] = _checks.UNSET) -> Tensor:
        """Insert an axis of size 1 at position ``dim`` (negative counts from the end of the result); a tuple inserts
        several, each position counted in the result (NumPy's expand_dims)."""
        axis = _checks.spelling("unsqueeze", ("dim", dim), ("axis", axis), _checks.UNSET)
        if axis is _checks.UNSET:
            raise TypeError("unsqueeze: missing the argument dim (where to insert the new axis)")
        if isinstance(axis, (tuple, list)):
            n = self.ndim + len(axis)
            if not all(_checks.is_int(a) for a in axis):
                raise TypeError(f"unsqueeze: dim must be an int or a tuple of ints, got {axis!r}")
            if not all(-n <= a < n for a in axis):
                raise ValueError(f"unsqueeze: dim {tuple(axis)} is out of range for a result with {n} axes")
            new = {int(a) % n for a in axis}
            if len(new) != len(axis):
                raise ValueError(f"unsqueeze: dim {tuple(axis)} repeats an axis")
            sizes = iter(self.shape)
            return self.reshape(tuple(1 if i in new else next(sizes) for i in range(n)))
        if not -self.ndim - 1 <= _checks.as_int("unsqueeze", "axis", axis) <= self.ndim:
            raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with {self.ndim + 1} axes")
        axis %= self.ndim + 1
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def flatten(self, start_axis: int = 0, end_axis: int = -1, *, start_dim: int = _checks.UNSET,
                end_dim: int = _checks.UNSET) -> Tensor:
        """Merge axes start_axis..end_axis (inclusive) into one; PyTorch's ``start_dim=``/``end_dim=`` too."""
        start_axis = _checks.spelling("flatten", ("start_dim", start_dim), ("start_axis", _checks.UNSET), start_axis)
        end_axis = _checks.spelling("flatten", ("end_dim", end_dim), ("end_axis", _checks.UNSET), end_axis)
        s, e = (_checks.as_axis("flatten", a, self.ndim, name) for a, name in ((start_axis, "start_axis"),
                                                                               (end_axis, "end_axis")))
        if s > e:
            raise ShapeError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis} for shape {self.shape}")
        return self.reshape(self.shape[:s] + (int(np.prod(self.shape[s:e + 1])),) + self.shape[e + 1:])

    def pad(self, pad_width, value: float = 0.0) -> Tensor:
        """Constant padding, NumPy's ``pad_width``: an int, a (before, after) pair, or a pair per axis."""
        _checks.as_real("pad", "value", value)
        return _mv.Pad.apply(self, pad_width=_mv.normalize_pad("pad", pad_width, self.ndim), value=value)

    def __getitem__(self, index) -> Tensor:
        return _mv.GetItem.apply(self, index=_mv.normalize_index(index, "getitem"))

    # ---- softmax (ops.softmax; convolution and pooling are F.* functions) ----------------------
    def log_softmax(self, axis: int = -1) -> Tensor:
        return _sm.log_softmax(self, axis=axis)

    def softmax(self, axis: int = -1) -> Tensor:
        return _sm.softmax(self, axis=axis)


def stack(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors of one shape along a new axis."""
    tensors = as_tensors("stack", tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    axis = _checks.as_axis("stack", axis, tensors[0].ndim + 1)
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def concatenate(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = as_tensors("concatenate", tensors)
    return _mv.Concatenate.apply(*tensors, axis=axis)


def where(cond: Any, a: Tensor | float = _checks.UNSET, b: Tensor | float = _checks.UNSET) -> Any:
    """``cond ? a : b`` elementwise, broadcasting all three; ``where(cond)`` alone is ``nonzero(as_tuple=True)``."""
    cond = as_tensor("where", "condition", cond)
    if a is _checks.UNSET and b is _checks.UNSET:
        return cond.nonzero(as_tuple=True)
    if a is _checks.UNSET or b is _checks.UNSET:
        raise TypeError("where: pass both a and b, or neither (where(cond) gives the indices where cond is true)")
    a, b = promote("where", a, b)
    return _ew.Where.apply(cond, a, b)


def as_tensor(op: str, name: str, value: Any, dtype: Any = None) -> Tensor:
    """``value`` as a Tensor (converted when it is array-like data); TypeError naming the op otherwise."""
    return _checks.as_tensor_of(Tensor, op, name, value, dtype)


def promote(op: str, a: Any, b: Any, to_float: bool = False, strict_floats: bool = False) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors of one dtype (see ``promotion.promote``)."""
    return _promotion.promote(op, a, b, to_float, cls=Tensor, strict_floats=strict_floats)


def as_tensors(op: str, values: Any) -> list[Tensor]:
    """A non-empty sequence of tensors (or array-likes) of one dtype as a list of Tensors; TypeError naming the op for
    anything else (ValueError when it is empty)."""
    if isinstance(values, (TensorCore, np.ndarray, str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"{op}: expected a sequence of tensors, got {type(values).__name__}; pass a list, e.g. "
                        f"{op}([a, b])")
    tensors = [as_tensor(op, f"item {i}", v) for i, v in enumerate(values)]
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{op}: inputs have dtypes {sorted(map(str, dtypes))}; convert them to one dtype")
    return tensors
