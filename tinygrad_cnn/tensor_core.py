"""The Tensor's core: its array, the graph node that made it, ``requires_grad``, hooks and conversions.

This is the lowest layer that knows what a tensor is. It imports nothing that computes: the engine
(``autograd.py``) sits above it and the primitives (``ops/``) above that, so both can take and build tensors
without an import cycle. The operators and methods a user calls (``x + y``, ``x.sum()``) are added by
``tensor.Tensor``, a subclass defined above the primitives; code below it builds results with the class of the
tensors it was given (``type(t)._make``), so a result always has every method.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _checks, dtypes
from .device import CPU, CPU_ONLY

Scalar = int | float | bool


class Size(tuple):
    """A shape, as ``x.size()`` returns it (PyTorch's ``torch.Size``): a tuple of ints with ``numel()``."""

    __slots__ = ()

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return int(np.prod(self, dtype=np.int64)) if self else 1

    def __repr__(self) -> str:
        return f"Size({list(self)})"


class ElementCount(int):
    """``x.size``: the number of elements (NumPy's ``ndarray.size``), and, called, PyTorch's ``x.size()`` (the shape,
    a ``Size``) or ``x.size(dim)`` (one dimension's length). An int in every other respect."""

    def __new__(cls, count: int, shape: tuple[int, ...]) -> ElementCount:
        out = super().__new__(cls, count)
        out.shape = shape
        return out

    def __call__(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self.shape)
        return self.shape[_checks.as_axis("size", dim, len(self.shape), "dim")] if self.shape else \
            _scalar_size(dim)

    def __reduce__(self) -> Any:  # pickles (and copies) as the plain int it is
        return int, (int(self),)


def _scalar_size(dim: Any) -> int:
    _checks.as_axis("size", dim, 0, "dim")
    raise IndexError(f"size: a 0-d tensor has no dimension {dim}; its shape is ()")


class TensorCore:
    """An n-dimensional array plus the node (``grad_fn``) that computed it; see ``tensor.Tensor``.

    ``TensorCore(data, requires_grad=False, dtype=None)``: Python floats and lists become float32, NumPy float32
    and float64 arrays keep their dtype (and are not copied), integer and bool data stay as they are and cannot
    require grad.
    """

    __slots__ = ("__weakref__", "_ctx", "_hooks", "_requires_grad", "data", "grad")
    __array_ufunc__ = None  # NumPy defers ``ndarray <op> Tensor`` to our reflected operators

    def __init__(self, data: Any, requires_grad: bool = False, dtype: Any = None) -> None:
        if dtype is None and dtypes.get_default_dtype() != np.float32 and not isinstance(
                data, (np.ndarray, np.generic, TensorCore)) and np.asarray(data).dtype.kind == "f":
            dtype = dtypes.get_default_dtype()  # Python floats take the default dtype, as in PyTorch
        self.data = _checks.as_array("Tensor", data.data if isinstance(data, TensorCore) else data,
                                     None if dtype is None else _checks.as_dtype("Tensor", dtype))
        self._ctx: Any = None  # the autograd.Function node that made this tensor, or None for a leaf
        self._hooks: list[Callable] | None = None
        self.grad: TensorCore | None = None
        self._requires_grad = False
        self.requires_grad = requires_grad

    @classmethod
    def _make(cls, data: np.ndarray, ctx: Any) -> Any:
        """Fast constructor for results of ops: no conversion, no checks. Requires grad exactly when ``ctx`` is set."""
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
    size = property(lambda self: ElementCount(self.data.size, self.data.shape),
                    doc="The number of elements (an int); called, PyTorch's ``x.size()`` / ``x.size(dim)``.")
    device = property(lambda self: CPU, doc="Where the data lives: always ``device(type='cpu')``.")
    is_cuda = property(lambda self: False, doc="False: the data is a NumPy array on the CPU.")
    itemsize = property(lambda self: self.data.itemsize, doc="The bytes of one element.")
    nbytes = property(lambda self: self.data.nbytes, doc="The bytes of all the elements.")
    is_leaf = property(lambda self: self._ctx is None, doc="True for tensors not made by a recorded op.")
    grad_fn = property(lambda self: self._ctx, doc="The node (a Function) that made this tensor, or None.")

    def __repr__(self) -> str:
        extra = f", grad_fn={self._ctx!r}" if self._ctx is not None else (
            ", requires_grad=True" if self._requires_grad else "")
        body = np.array2string(self.data, separator=", ", prefix="Tensor(", threshold=20)
        return f"Tensor({body}, shape={self.shape}, dtype={self.dtype}{extra})"

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {self.shape} is ambiguous; use .any() or .all()")
        return bool(self.data)

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.data if dtype is None else self.data.astype(dtype)

    __hash__ = object.__hash__

    # ---- PyTorch's queries -----------------------------------------------------------------------
    def dim(self) -> int:
        """The number of dimensions (``ndim``)."""
        return self.data.ndim

    ndimension = dim

    def numel(self) -> int:
        """The number of elements."""
        return self.data.size

    nelement = numel

    def element_size(self) -> int:
        """The bytes of one element."""
        return self.data.itemsize

    def is_floating_point(self) -> bool:
        return self.data.dtype.kind == "f"

    def is_contiguous(self, memory_format: Any = None) -> bool:
        """Whether the elements lie in memory in row-major order without gaps (NumPy's C-contiguous)."""
        return bool(self.data.flags.c_contiguous)

    def data_ptr(self) -> int:
        """The address of the first element (equal for tensors sharing memory from the same start)."""
        return int(self.data.__array_interface__["data"][0])

    def get_device(self) -> int:
        """-1: PyTorch's answer for a CPU tensor."""
        return -1

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self, force: bool = False) -> np.ndarray:
        """The data as a NumPy array (shared, not copied; with ``force=True`` a copy). Unlike PyTorch's, it works on
        tensors that require grad (the array is never part of the graph)."""
        return self.data.copy() if _checks.as_bool("numpy", "force", force) else self.data

    def cpu(self) -> Any:
        """The tensor itself: it is already on the CPU."""
        return self

    def cuda(self, device: Any = None, non_blocking: bool = False) -> Any:
        """Always a RuntimeError: this project computes on the CPU only."""
        raise RuntimeError(f"cuda: there is no CUDA device; {CPU_ONLY} (x.cpu() and x.to('cpu') return x itself)")

    def item(self) -> Scalar:
        if self.size != 1:
            raise ValueError(f"item: only one-element tensors convert to a Python scalar, shape is {self.shape}")
        return self.data.item()

    def tolist(self) -> Any:
        return self.data.tolist()

    def detach(self) -> Any:
        """The same data, cut from the graph."""
        return self._make(self.data, None)

    def detach_(self) -> Any:
        """Cut this tensor from the graph, in place: it becomes a leaf that does not require grad."""
        self._ctx, self._requires_grad = None, False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> Any:
        """Set ``requires_grad`` in place (floating-point leaves only, as the setter) and return the tensor."""
        self.requires_grad = requires_grad
        return self

    # ---- gradient hooks -------------------------------------------------------------------------
    def register_hook(self, hook: Callable[[Any], Any]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this tensor's gradient is computed (by ``backward()``, or by ``grad()`` when the
        tensor lies between its outputs and inputs); a returned Tensor, NumPy array or number replaces the gradient
        and must keep its shape and dtype (RuntimeError otherwise, as in PyTorch). Returns a function that removes
        the hook.
        """
        if not callable(hook):
            raise TypeError(f"register_hook: hook must be callable, got {type(hook).__name__}")
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
