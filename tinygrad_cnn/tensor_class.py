"""Tensor: a NumPy array plus the graph node that made it. Operators and methods are thin sugar over ops.

``TensorCore`` (below the engine) holds the data, the node and the hooks; this subclass, defined above the
primitives, adds the operators, the methods and ``backward``. Each method converts its arguments and calls one
primitive's ``apply`` (or composes a few).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _checks, autograd, dtypes
from . import promotion as _promotion
from .device import check_device, is_device
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
from .tensor_core import Scalar, Size, TensorCore

__all__ = ["Scalar", "Size", "Tensor", "as_tensor", "as_tensors", "cat", "concat", "concatenate", "grad", "promote",
           "stack", "where"]
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
    mT = property(lambda self: self._matrix_transpose(), doc="The last two axes swapped (a batch of matrices).")  # noqa: N815

    def _matrix_transpose(self) -> Tensor:
        if self.ndim < 2:
            raise ShapeError(f"mT: needs at least 2 dimensions, got shape {self.shape}")
        return self.transpose(-2, -1)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # ---- conversion ---------------------------------------------------------------------------
    def astype(self, dtype: Any) -> Tensor:
        """A copy in another dtype; differentiable between float dtypes."""
        return _ew.Cast.apply(self, dtype=_checks.as_dtype("astype", dtype))

    def _cast(self, dtype: np.dtype) -> Tensor:
        return self if self.dtype == dtype else _ew.Cast.apply(self, dtype=dtype)

    def float(self) -> Tensor:
        """float32 (the tensor itself if it already is); ``.double()`` float64, ``.half()`` float16, ``.long()``
        int64, ``.int()`` int32, ``.short()`` int16, ``.char()`` int8, ``.byte()`` uint8, ``.bool()`` bool."""
        return self._cast(dtypes.float32)

    def double(self) -> Tensor: return self._cast(dtypes.float64)
    def half(self) -> Tensor: return self._cast(dtypes.float16)
    def long(self) -> Tensor: return self._cast(dtypes.int64)
    def int(self) -> Tensor: return self._cast(dtypes.int32)
    def short(self) -> Tensor: return self._cast(dtypes.int16)
    def char(self) -> Tensor: return self._cast(dtypes.int8)
    def byte(self) -> Tensor: return self._cast(dtypes.uint8)
    def bool(self) -> Tensor: return self._cast(dtypes.bool)

    def to(self, *args: Any, dtype: Any = None, device: Any = None, copy: bool = False, non_blocking: bool = False,
           memory_format: Any = None) -> Tensor:
        """PyTorch's ``to``: ``to(dtype)``, ``to(device)``, ``to(device, dtype)``, ``to(other)`` (other's dtype), or
        by keyword. The tensor itself when nothing changes (``copy=True`` forces a copy); a dtype change is a
        differentiable cast. The only device is the CPU ("cpu"); any other is a RuntimeError."""
        flags = []
        for a in args:
            if isinstance(a, TensorCore):
                dtype = a.dtype if dtype is None else dtype
            elif isinstance(a, (bool, np.bool_)):
                flags.append(a)
            elif is_device(a) or (_checks.is_int(a) and not isinstance(a, np.integer)) or (
                    isinstance(a, str) and ":" in a):
                check_device("to", a)
            else:
                if dtype is not None:
                    raise TypeError(f"to: got two dtypes ({dtype!r} and {a!r}); pass one")
                dtype = a
        if len(flags) > 2:
            raise TypeError(f"to: too many positional arguments {args!r}; expected (device, dtype, non_blocking, "
                            "copy)")
        if len(flags) == 2:
            copy = flags[1]
        check_device("to", device)
        copy = _checks.as_bool("to", "copy", copy)
        out = self if dtype is None else self._cast(_checks.as_dtype("to", dtype))
        return out.clone() if copy and out is self else out

    def type(self, dtype: Any = None, non_blocking: bool = False) -> Any:
        """Without an argument, the type's name (``'tinygrad_cnn.FloatTensor'``, as PyTorch's
        ``'torch.FloatTensor'``); with a dtype (or such a name), ``to(dtype)``."""
        if dtype is None:
            return f"tinygrad_cnn.{dtypes.name(self.dtype)}Tensor"
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            wanted = dtype.rpartition(".")[2][:-len("Tensor")]
            match = [d for d, n in dtypes.NAMES.items() if n == wanted]
            if not match:
                raise TypeError(f"type: unknown tensor type {dtype!r}; pass a dtype such as tg.float32")
            dtype = match[0]
        return self._cast(_checks.as_dtype("type", dtype))

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor in ``other``'s dtype."""
        return self._cast(_tensor_arg("type_as", "other", other).dtype)

    # ---- DLPack: zero-copy exchange with NumPy, PyTorch and any other DLPack consumer ---------------------------
    def __dlpack__(self, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
        """A DLPack capsule of the data, for ``np.from_dlpack(t)``, ``torch.from_dlpack(t)``... (the Python array
        API's protocol). The consumer shares this tensor's memory: writes through either side show in the other.
        A tensor that requires grad exports its data detached (the consumer gets values, not the graph).

        Two cases are exported as a copy unless ``copy=False`` (then BufferError): negative strides (``flip``
        views), which some consumers cannot take, and read-only data (``expand`` views) asked for by a consumer
        of the unversioned protocol (``max_version`` None), which cannot signal read-only. ``stream`` must be None
        and ``dl_device`` None or the CPU, (1, 0)."""
        if stream is not None:
            raise BufferError(f"__dlpack__: the data is on the CPU, which has no streams; pass stream=None, got "
                              f"{stream!r}")
        if dl_device is not None and tuple(dl_device) != (1, 0):
            raise BufferError(f"__dlpack__: the data is on the CPU, DLPack device (1, 0); cannot export to device "
                              f"{tuple(dl_device)}")
        data = self.data
        negative = data.size > 0 and any(s < 0 for s, n in zip(data.strides, data.shape) if n > 1)
        legacy = max_version is None or max_version[0] < 1
        if copy is not True and (negative or (legacy and not data.flags.writeable)):
            if copy is False:
                why = "has negative strides" if negative else "is read-only and this DLPack version cannot mark it so"
                raise BufferError(f"__dlpack__: the data of this shape {self.shape} tensor {why}, so it cannot be "
                                  "shared without a copy; pass copy=None (or call .contiguous() first)")
            data, negative = np.array(data, order="C", copy=True), False
        try:
            return data.__dlpack__(max_version=max_version, copy=copy)
        except TypeError:  # NumPy < 2.1 has only the unversioned protocol, without copy=
            pass
        if copy or negative or not data.flags.writeable:
            data = np.array(data, order="C", copy=True)
        return data.__dlpack__()

    def __dlpack_device__(self) -> tuple[int, int]:
        """(1, 0): DLPack's code for the CPU, device 0 (where every tensor here lives)."""
        return (1, 0)

    # ---- new tensors like this one (its dtype unless told otherwise) ---------------------------------------
    def _new(self, op: str, make: Any, size: tuple, dtype: Any, device: Any, requires_grad: Any) -> Tensor:
        check_device(op, device)
        d = self.dtype if dtype is None else _checks.as_dtype(op, dtype)
        shape = _checks.as_shape(op, size, d.itemsize)
        return type(self)(_checks.allocate(op, make, shape, d), requires_grad=requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """zeros of shape ``size`` in this tensor's dtype (or ``dtype``)."""
        return self._new("new_zeros", np.zeros, size, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("new_ones", np.ones, size, dtype, device, requires_grad)

    def new_empty(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self._new("new_empty", np.empty, size, dtype, device, requires_grad)

    def new_full(self, size: Any, fill_value: Any, *, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:
        if not isinstance(fill_value, (bool, np.bool_)):
            _checks.as_real("new_full", "fill_value", fill_value)
        size = (size,) if _checks.is_int(size) else tuple(size)
        return self._new("new_full", lambda s, d: np.full(s, fill_value, d), size, dtype, device, requires_grad)

    def new_tensor(self, data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` (numbers, lists, arrays, tensors) in this tensor's dtype (or ``dtype``)."""
        check_device("new_tensor", device)
        d = self.dtype if dtype is None else _checks.as_dtype("new_tensor", dtype)
        data = data.data if isinstance(data, TensorCore) else data
        return type(self)(np.array(_checks.as_array("new_tensor", data), dtype=d), requires_grad=requires_grad)

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

    mul = multiply = __mul__
    pow, matmul, true_divide = __pow__, __matmul__, __truediv__
    neg = negative = __neg__

    def add(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self + alpha * other (PyTorch's ``add``)."""
        return self + (other if alpha == 1 else _scaled("add", other, alpha))

    def sub(self, other: Any, *, alpha: Any = 1) -> Tensor:
        """self - alpha * other."""
        return self - (other if alpha == 1 else _scaled("sub", other, alpha))

    subtract = sub

    def div(self, other: Any, *, rounding_mode: str | None = None) -> Tensor:
        """self / other: true division (integers give the default float dtype), or with ``rounding_mode``
        'trunc' (towards zero) or 'floor' (towards -inf, as //), which keep integer dtypes."""
        if rounding_mode is None:
            return self / other
        mode = _checks.as_choice("div", "rounding_mode", rounding_mode, ("trunc", "floor"))
        a, b = promote("div", self, other)
        if mode == "floor":
            return a // b
        if a.dtype.kind == "f":
            return (a / b).trunc()
        q = a // b  # integers: floor, one up where the remainder is non-zero and the signs differ
        fix = (a.data - q.data * b.data != 0) & ((a.data < 0) != (b.data < 0))
        return a._make(q.data + fix.astype(q.dtype), None)

    divide = div

    def addcmul(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self + value * tensor1 * tensor2."""
        _checks.as_real("addcmul", "value", value)
        return self + value * tensor1 * tensor2

    def addcdiv(self, tensor1: Any, tensor2: Any, *, value: Any = 1) -> Tensor:
        """self + value * tensor1 / tensor2."""
        _checks.as_real("addcdiv", "value", value)
        return self + value * tensor1 / tensor2

    def allclose(self, other: Any, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        """Whether |self - other| <= atol + rtol |other| everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).all())

    # comparisons (< <= > >= == != and eq...ge), abs, clip/clamp, maximum/minimum: methods/pointwise.py

    def exp(self) -> Tensor: return _ew.Exp.apply(self)
    def log(self) -> Tensor: return _ew.Log.apply(self)
    def sqrt(self) -> Tensor: return _ew.Sqrt.apply(self)
    def relu(self) -> Tensor: return _ew.Relu.apply(self)
    def t(self) -> Tensor:
        """The transpose of a 2-D tensor (0-d and 1-D tensors come back as they are), PyTorch's ``t()``."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor with <= 2 dimensions, got shape {self.shape}; use transpose(d0, d1) "
                             "or .mT for the last two")
        return self if self.ndim < 2 else self.permute(1, 0)

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

    def view(self, *shape) -> Tensor:
        """``reshape`` under PyTorch's name (one size may be -1). Unlike PyTorch it also works where the memory
        layout needs a copy (PyTorch raises there); ``view(dtype)``, which reinterprets the bytes, is refused."""
        if len(shape) == 1 and (isinstance(shape[0], (np.dtype, str)) or (isinstance(shape[0], type) and issubclass(
                shape[0], (np.generic, float, bool)))):
            raise TypeError(f"view: view(dtype) reinterprets the memory as another dtype, which is not supported; "
                            f"use .to({shape[0]!r}) to convert the values")
        return self.reshape(*shape)

    def view_as(self, other: Tensor) -> Tensor:
        """``view(other.shape)``."""
        return self.view(_tensor_arg("view_as", "other", other).shape)

    def reshape_as(self, other: Tensor) -> Tensor:
        """``reshape(other.shape)``."""
        return self.reshape(_tensor_arg("reshape_as", "other", other).shape)

    def expand_as(self, other: Tensor) -> Tensor:
        """``expand(other.shape)``."""
        return self.expand(_tensor_arg("expand_as", "other", other).shape)

    def contiguous(self, memory_format: Any = None) -> Tensor:
        """The tensor itself if its memory is row-major without gaps, else a differentiable row-major copy."""
        if self.data.flags.c_contiguous:
            return self
        return _mv.Reshape.apply(_mv.Reshape.apply(self, shape=(self.size,)), shape=self.shape)

    def unflatten(self, dim: int, sizes: Sequence[int]) -> Tensor:
        """Dimension ``dim`` split into ``sizes`` (their product its length; one of them may be -1)."""
        d = _checks.as_axis("unflatten", dim, self.ndim, "dim")
        if not isinstance(sizes, (tuple, list)) or not sizes or not all(_checks.is_int(n) for n in sizes):
            raise TypeError(f"unflatten: sizes must be a non-empty tuple of ints, got {sizes!r}")
        n, known = self.shape[d], [int(k) for k in sizes if k != -1]
        if sum(1 for k in sizes if k == -1) > 1 or any(k < 0 for k in known):
            raise ValueError(f"unflatten: sizes {tuple(sizes)} may hold one -1 and no other negative size")
        total = int(np.prod(known)) if known else 1
        if (len(known) == len(sizes) and total != n) or (len(known) < len(sizes) and (total == 0 or n % total)):
            raise ShapeError(f"unflatten: sizes {tuple(sizes)} do not multiply to {n}, the length of dimension {d} of "
                             f"shape {self.shape}")
        return self.reshape(self.shape[:d] + tuple(int(k) for k in sizes) + self.shape[d + 1:])

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
    def log_softmax(self, dim: int = _checks.UNSET, dtype: Any = None, *, axis: int = _checks.UNSET) -> Tensor:
        """x - logsumexp(x) along ``dim`` (default the last); ``dtype`` casts the input first."""
        x = self if dtype is None else self._cast(_checks.as_dtype("log_softmax", dtype, "f"))
        return _sm.log_softmax(x, axis=_checks.spelling("log_softmax", ("dim", dim), ("axis", axis), -1))

    def softmax(self, dim: int = _checks.UNSET, dtype: Any = None, *, axis: int = _checks.UNSET) -> Tensor:
        """exp(x) / sum(exp(x)) along ``dim`` (default the last); ``dtype`` casts the input first."""
        x = self if dtype is None else self._cast(_checks.as_dtype("softmax", dtype, "f"))
        return _sm.softmax(x, axis=_checks.spelling("softmax", ("dim", dim), ("axis", axis), -1))


def stack(tensors: Sequence[Tensor], dim: int = _checks.UNSET, *, axis: int = _checks.UNSET) -> Tensor:
    """Join tensors of one shape along a new dimension ``dim`` (NumPy's ``axis``), 0 by default."""
    axis = _checks.spelling("stack", ("dim", dim), ("axis", axis), 0)
    tensors = as_tensors("stack", tensors)
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ShapeError(f"stack: all tensors must have the same shape, got {sorted(shapes)}")
    axis = _checks.as_axis("stack", axis, tensors[0].ndim + 1)
    return concatenate([t.unsqueeze(axis) for t in tensors], axis=axis)


def concatenate(tensors: Sequence[Tensor], dim: int = _checks.UNSET, *, axis: int = _checks.UNSET) -> Tensor:
    """Join tensors along an existing dimension ``dim`` (NumPy's ``axis``), 0 by default; ``tg.cat`` and
    ``tg.concat`` are PyTorch's names."""
    axis = _checks.spelling("concatenate", ("dim", dim), ("axis", axis), 0)
    tensors = as_tensors("concatenate", tensors)
    return _mv.Concatenate.apply(*tensors, axis=axis)


cat = concat = concatenate


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


def _tensor_arg(op: str, name: str, value: Any) -> Tensor:
    if not isinstance(value, TensorCore):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def _scaled(op: str, other: Any, alpha: Any) -> Any:
    """alpha * other (alpha a number; other a tensor, array or number) for ``add``/``sub``."""
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"{op}: alpha must be a number, got {alpha!r} ({type(alpha).__name__})")
    return other * alpha if isinstance(other, TensorCore) else as_tensor(op, "other", other) * alpha
