"""In-place Tensor methods with PyTorch's names: ``add_ sub_ mul_ div_ clip_ zero_ fill_ copy_ uniform_ normal_``
and ``x[i] = v``.

Each writes into ``x.data`` and records the write (``versions.mark_modified``), so a backward pass that saved the
old values raises a RuntimeError instead of returning a wrong gradient. In-place writes are not recorded in the
graph, so they refuse a tensor (or operand) that requires grad while grad mode is on: use them inside
``no_grad()``, as the optimisers do, or on tensors outside the graph. The result keeps x's shape and dtype: the
operand must broadcast to x's shape, and a result that x's dtype cannot hold (a float into an integer tensor) is a
TypeError. Each method returns x itself, so calls chain.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _checks, autograd, versions
from .ops.elementwise import Cast
from .ops.movement import TensorIndexError, normalize_index
from .random import generator


class InPlaceMethods:
    """Mixed into Tensor (no state of its own): it sits above the primitives, beside the operators."""

    __slots__ = ()

    def add_(self, other: Any, alpha: float = 1) -> Any:
        """x += alpha * other, in place."""
        return _update(self, "add_", np.add, other, alpha)

    def sub_(self, other: Any, alpha: float = 1) -> Any:
        """x -= alpha * other, in place."""
        return _update(self, "sub_", np.subtract, other, alpha)

    def mul_(self, other: Any) -> Any:
        """x *= other, in place."""
        return _update(self, "mul_", np.multiply, other)

    def div_(self, other: Any) -> Any:
        """x /= other, in place (floating-point tensors only)."""
        return _update(self, "div_", np.true_divide, other)

    def clip_(self, low: float | None = None, high: float | None = None) -> Any:
        """x = min(max(x, low), high), in place; either bound may be None (a number or a broadcastable tensor)."""
        if low is None and high is None:
            raise ValueError("clip_: give low, high or both")
        _writable(self, "clip_", low, high)
        bounds = [None if b is None else _operand(self, "clip_", b) for b in (low, high)]
        try:
            np.clip(self.data, *bounds, out=self.data, casting="same_kind")
        except TypeError:
            raise TypeError(f"clip_: a {self.data.dtype} tensor cannot hold float bounds; convert it with .float() "
                            "first") from None
        versions.mark_modified(self.data)
        return self

    def zero_(self) -> Any:
        """x = 0, in place."""
        _writable(self, "zero_")
        self.data.fill(0)
        versions.mark_modified(self.data)
        return self

    def fill_(self, value: float) -> Any:
        """Every element of x set to the number ``value`` (cast to x's dtype), in place."""
        _writable(self, "fill_")
        _checks.as_real("fill_", "value", value)
        self.data.fill(value)
        versions.mark_modified(self.data)
        return self

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Any:
        """x filled with draws from U(a, b), in place (floating-point tensors; the generator ``manual_seed`` seeds).
        Positional calls read as PyTorch's ``uniform_(from, to)``."""
        low, high = _checks.as_real("uniform_", "a", a, finite=True), _checks.as_real("uniform_", "b", b, finite=True)
        if low > high:
            raise ValueError(f"uniform_: a={low} must be <= b={high}")
        _fill_random(self, "uniform_", lambda shape: generator().uniform(low, high, shape))
        return self

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Any:
        """x filled with draws from N(mean, std^2), in place (floating-point tensors; the seeded generator)."""
        m = _checks.as_real("normal_", "mean", mean, finite=True)
        s = _checks.as_real("normal_", "std", std, finite=True, low=0.0)
        _fill_random(self, "normal_", lambda shape: m + s * generator().standard_normal(shape))
        return self

    def copy_(self, src: Any) -> Any:
        """x[...] = src, in place: src broadcast to x's shape and cast to x's dtype (any numeric dtype)."""
        _writable(self, "copy_", src)
        np.copyto(self.data, _operand(self, "copy_", src), casting="unsafe")
        versions.mark_modified(self.data)
        return self

    def __setitem__(self, index: Any, value: Any) -> None:
        """x[index] = value, in place, with NumPy's indexing rules (Tensors and lists allowed as indices)."""
        _writable(self, "setitem", value)
        value = value.data if isinstance(value, InPlaceMethods) else np.asarray(value)
        if value.dtype.kind not in "biuf":
            raise TypeError(f"setitem: value of dtype {value.dtype} is not numeric")
        if value.dtype.kind == "f" and self.data.dtype.kind != "f":
            raise TypeError(f"setitem: cannot store {value.dtype} values in a {self.data.dtype} tensor; "
                            "convert the tensor with .float() first")
        where = normalize_index(index, "setitem")
        try:
            self.data[where] = value
        except IndexError as err:
            raise TensorIndexError(f"setitem: index {index!r} is invalid for a tensor of shape {self.shape}: "
                                   f"{err}") from None
        except ValueError as err:
            raise ValueError(f"setitem: cannot assign a value of shape {value.shape} to index {index!r} of a "
                             f"tensor of shape {self.shape}: {err}") from None
        versions.mark_modified(self.data)

    def clone(self) -> Any:
        """A copy with its own memory, differentiable (the gradient passes through unchanged)."""
        return Cast.apply(self, dtype=self.data.dtype)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (shared with its views)."""
        return versions.version(self.data)


def _writable(t: Any, op: str, *operands: Any) -> None:
    """Refuse an in-place write the graph would not see, or one into read-only memory."""
    if autograd.is_grad_enabled():
        for x in (t, *operands):
            if isinstance(x, InPlaceMethods) and x._requires_grad:
                who = "the tensor" if x is t else "the operand"
                raise RuntimeError(f"{op}: {who} of shape {x.shape} requires grad, and in-place operations are not "
                                   "recorded in the graph; do this inside `with no_grad():` (as optimisers do) or "
                                   "use the out-of-place operator")
    if not t.data.flags.writeable:
        raise ValueError(f"{op}: the tensor of shape {t.shape} is a read-only view (expand and broadcasting make "
                         "them); write to a copy made with .clone()")


def _fill_random(t: Any, op: str, draw: Any) -> None:
    """t[...] = draw(t.shape), cast to t's float dtype, recorded as a write."""
    _writable(t, op)
    if t.data.dtype.kind != "f":
        raise TypeError(f"{op}: the tensor is {t.data.dtype}; random fills need a floating-point tensor (.float())")
    t.data[...] = draw(t.shape)
    versions.mark_modified(t.data)


def _operand(t: Any, op: str, other: Any) -> np.ndarray:
    """``other`` as a numeric array that broadcasts to t's shape."""
    value = other.data if isinstance(other, InPlaceMethods) else np.asarray(other)
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{op}: operand of dtype {value.dtype} is not numeric; pass numbers or a numeric tensor")
    if value.shape != t.shape:
        try:
            fits = np.broadcast_shapes(t.shape, value.shape) == t.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"{op}: an operand of shape {value.shape} does not broadcast to the tensor's shape "
                             f"{t.shape}; in place, the result must keep the tensor's shape")
    return value


def _update(t: Any, op: str, ufunc: np.ufunc, other: Any, alpha: float = 1) -> Any:
    """x = ufunc(x, alpha * other), written into x's memory with NumPy's same-kind casting."""
    _writable(t, op, other)
    value = _operand(t, op, other)
    if alpha != 1:
        value = value * alpha
    try:
        ufunc(t.data, value, out=t.data, casting="same_kind")
    except TypeError:
        raise TypeError(f"{op}: a {t.dtype} tensor cannot hold the result of {op} with a {value.dtype} operand; use "
                        "the out-of-place operator, or convert the tensor with .float() first") from None
    versions.mark_modified(t.data)
    return t
