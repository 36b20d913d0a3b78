"""In-place Tensor methods and operators with PyTorch's names and rules: ``add_ sub_ mul_ div_ addcmul_ addcdiv_
lerp_ clamp_ fill_ zero_ copy_ uniform_ normal_ masked_fill_ sqrt_ exp_ ...``, ``x += y`` (and ``-= *= /= //= %= **=
@= &= |= ^=``) and ``x[i] = v``.

Each writes into ``x.data`` and records the write (``versions.mark_modified``), so a backward pass that saved the
old values raises a RuntimeError instead of returning a wrong gradient. PyTorch's three cases:

* grad mode off (``with no_grad():``, as optimisers and init code run), or nothing involved requires grad: a plain
  write into the memory, no graph (``with no_grad(): p -= lr * p.grad`` updates ``p``);
* a leaf that requires grad, with grad mode on: PyTorch's RuntimeError ("a leaf Variable that requires grad is being
  used in an in-place operation");
* otherwise (a non-leaf, or an operand that requires grad): the out-of-place op is recorded on a snapshot of the old
  values (x keeps its place in the graph up to here), its result is written into x's memory and x's ``grad_fn``
  becomes the new node, so gradients flow as in PyTorch. Nodes that saved x's memory before the write refuse to
  backward. A tensor whose memory is a view of another tensor of the graph (``x[0] += y`` with x in the graph) is
  refused: the other tensor's graph would not see the write (PyTorch rewrites it; use ``x = x + y``).

The result keeps x's shape and dtype: the operand must broadcast to x's shape, and a result x's dtype cannot hold
(a float into an integer tensor) is PyTorch's TypeError "result type Float can't be cast to the desired output type
Long". Each method returns x itself, so calls chain.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from . import _checks, autograd, dtypes, versions
from .ops.elementwise import Cast, Where
from .ops.movement import TensorIndexError, normalize_index
from .random import generator


class InPlaceMethods:
    """Mixed into Tensor (no state of its own): it sits above the primitives, beside the operators."""

    __slots__ = ()

    # ---- arithmetic (NumPy ufuncs writing into x's memory when nothing is recorded) ---------------------------
    def add_(self, other: Any, alpha: float = 1) -> Any:
        """x += alpha * other, in place."""
        return _binary(self, "add_", np.add, other, alpha, lambda x, o: x + o)

    def sub_(self, other: Any, alpha: float = 1) -> Any:
        """x -= alpha * other, in place."""
        return _binary(self, "sub_", np.subtract, other, alpha, lambda x, o: x - o)

    subtract_ = sub_

    def mul_(self, other: Any) -> Any:
        """x *= other, in place."""
        return _binary(self, "mul_", np.multiply, other, 1, lambda x, o: x * o)

    multiply_ = mul_

    def div_(self, other: Any, *, rounding_mode: str | None = None) -> Any:
        """x /= other, in place; ``rounding_mode`` None (true division: floating-point tensors only), 'trunc' or
        'floor' (as ``div``)."""
        if rounding_mode is None:
            return _binary(self, "div_", np.true_divide, other, 1, lambda x, o: x / o)
        _checks.as_choice("div_", "rounding_mode", rounding_mode, ("trunc", "floor"))
        return _generic(self, "div_", (other,), lambda x: x.div(other, rounding_mode=rounding_mode))

    divide_ = true_divide_ = div_

    def floor_divide_(self, other: Any) -> Any:
        """x //= other, in place."""
        return _generic(self, "floor_divide_", (other,), lambda x: x // other)

    def remainder_(self, other: Any) -> Any:
        """x %= other (the sign of other, Python's rule), in place."""
        return _generic(self, "remainder_", (other,), lambda x: x % other)

    def fmod_(self, other: Any) -> Any:
        """x = fmod(x, other) (the sign of x), in place."""
        return _generic(self, "fmod_", (other,), lambda x: x.fmod(other))

    def pow_(self, exponent: Any) -> Any:
        """x **= exponent, in place."""
        return _generic(self, "pow_", (exponent,), lambda x: x ** exponent)

    def addcmul_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Any:
        """x += value * tensor1 * tensor2, in place (Adam's second moment)."""
        return _ternary(self, "addcmul_", tensor1, tensor2, value, np.multiply, lambda x, a, b: x + value * a * b)

    def addcdiv_(self, tensor1: Any, tensor2: Any, *, value: float = 1) -> Any:
        """x += value * tensor1 / tensor2, in place (Adam's step)."""
        return _ternary(self, "addcdiv_", tensor1, tensor2, value, np.true_divide, lambda x, a, b: x + value * a / b)

    def lerp_(self, end: Any, weight: Any) -> Any:
        """x += weight * (end - x), in place (as ``lerp``)."""
        return _generic(self, "lerp_", (end, weight), lambda x: x.lerp(end, weight))

    def clamp_(self, min: Any = None, max: Any = None, *, low: Any = _checks.UNSET,
               high: Any = _checks.UNSET) -> Any:
        """x = min(max(x, min), max), in place; either bound may be None, a number or a broadcastable tensor
        (``low=``/``high=`` spell them too)."""
        lo = _checks.spelling("clamp_", ("min", _checks.UNSET if min is None else min), ("low", low), None)
        hi = _checks.spelling("clamp_", ("max", _checks.UNSET if max is None else max), ("high", high), None)
        if lo is None and hi is None:
            raise ValueError("clamp_: give min, max or both")
        return _generic(self, "clamp_", (lo, hi), lambda x: x.clamp(lo, hi))

    clip_ = clamp_

    def clamp_min_(self, min: Any) -> Any:
        return self.clamp_(min=min)

    def clamp_max_(self, max: Any) -> Any:
        return self.clamp_(max=max)

    def masked_fill_(self, mask: Any, value: Any) -> Any:
        """x = value where the boolean ``mask`` (broadcast to x's shape) is True, in place."""
        return _generic(self, "masked_fill_", (value,), lambda x: x.masked_fill(mask, value))

    def index_fill_(self, dim: int, index: Any, value: Any) -> Any:
        """The entries ``index`` of x along ``dim`` set to ``value``, in place (as ``index_fill``)."""
        return _generic(self, "index_fill_", (value,), lambda x: x.index_fill(dim, index, value))

    # ---- fills -------------------------------------------------------------------------------------------------
    def zero_(self) -> Any:
        """x = 0, in place."""
        return _fill(self, "zero_", lambda: np.zeros((), self.data.dtype))

    def fill_(self, value: Any) -> Any:
        """Every element of x set to ``value`` (a number or a one-element tensor, cast to x's dtype), in place."""
        if isinstance(value, InPlaceMethods):
            if value.size != 1:
                raise ValueError(f"fill_: a tensor value must have one element, got shape {value.shape}")
            if value._requires_grad and autograd.is_grad_enabled():
                return _generic(self, "fill_", (value,), lambda x: value.to(x.dtype).reshape(()).expand(x.shape))
            value = value.item()
        elif not isinstance(value, (bool, np.bool_)):
            _checks.as_real("fill_", "value", value)
        return _fill(self, "fill_", lambda: np.asarray(value).astype(self.data.dtype))

    def uniform_(self, a: float = 0.0, b: float = 1.0) -> Any:
        """x filled with draws from U(a, b), in place (floating-point tensors; the generator ``manual_seed`` seeds).
        Positional calls read as PyTorch's ``uniform_(from, to)``."""
        low, high = _checks.as_real("uniform_", "a", a, finite=True), _checks.as_real("uniform_", "b", b, finite=True)
        if low > high:
            raise ValueError(f"uniform_: a={low} must be <= b={high}")
        return _fill(self, "uniform_", lambda: generator().uniform(low, high, self.shape), random=True)

    def normal_(self, mean: float = 0.0, std: float = 1.0) -> Any:
        """x filled with draws from N(mean, std^2), in place (floating-point tensors; the seeded generator)."""
        m = _checks.as_real("normal_", "mean", mean, finite=True)
        s = _checks.as_real("normal_", "std", std, finite=True, low=0.0)
        return _fill(self, "normal_", lambda: m + s * generator().standard_normal(self.shape), random=True)

    def copy_(self, src: Any, non_blocking: bool = False) -> Any:
        """x[...] = src, in place: src broadcast to x's shape and cast to x's dtype (any numeric dtype, as
        PyTorch's copy_); differentiable with respect to src."""
        if _records(self, "copy_", (src,)):
            _operand(self, "copy_", src)
            source = src if isinstance(src, InPlaceMethods) else self._make(np.asarray(src), None)

            def compute(old: Any) -> Any:  # src's values; the gradient flows to src, none to the old x
                return Where.apply(old._make(np.zeros((), bool), None), old, source.to(old.dtype))
            return _record(self, "copy_", compute)
        _check_memory(self, "copy_")
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

    # ---- in-place operators: x += y writes into x (PyTorch's semantics; Python would otherwise rebind x) ----------
    def __iadd__(self, other): return self.add_(other)
    def __isub__(self, other): return self.sub_(other)
    def __imul__(self, other): return self.mul_(other)
    def __itruediv__(self, other): return self.div_(other)
    def __ifloordiv__(self, other): return self.floor_divide_(other)
    def __imod__(self, other): return self.remainder_(other)
    def __ipow__(self, other): return self.pow_(other)
    def __imatmul__(self, other):
        """x @= other: written into x when the product keeps x's shape and dtype (a square other); otherwise, and
        for a leaf that requires grad in grad mode, x is rebound to the product, as Python (and PyTorch, which has no
        in-place matmul) does."""
        product_shape = _matmul_shape(self, other)
        if product_shape != self.shape or (autograd.is_grad_enabled() and self._requires_grad and self._ctx is None):
            return self @ other
        return _generic(self, "matmul_", (other,), lambda x: x @ other)
    def __iand__(self, other): return self.bitwise_and_(other)
    def __ior__(self, other): return self.bitwise_or_(other)
    def __ixor__(self, other): return self.bitwise_xor_(other)

    def bitwise_and_(self, other: Any) -> Any:
        return _generic(self, "bitwise_and_", (other,), lambda x: x & other)

    def bitwise_or_(self, other: Any) -> Any:
        return _generic(self, "bitwise_or_", (other,), lambda x: x | other)

    def bitwise_xor_(self, other: Any) -> Any:
        return _generic(self, "bitwise_xor_", (other,), lambda x: x ^ other)

    # ---- the rest -------------------------------------------------------------------------------------------------
    def clone(self, *, memory_format: Any = None) -> Any:
        """A copy with its own memory, differentiable (the gradient passes through unchanged)."""
        return Cast.apply(self, dtype=self.data.dtype)

    @property
    def _version(self) -> int:
        """How many in-place writes this tensor's memory has seen (shared with its views)."""
        return versions.version(self.data)


def _unary(name: str, doc: str) -> Callable[[Any], Any]:
    def method(self: Any) -> Any:
        return _generic(self, f"{name}_", (), lambda x: getattr(x, name)())

    method.__name__ = method.__qualname__ = f"{name}_"
    method.__doc__ = f"x = {doc}, in place (as ``{name}``)."
    return method


UNARY = {"abs": "|x|", "neg": "-x", "sqrt": "sqrt(x)", "rsqrt": "1 / sqrt(x)", "exp": "exp(x)", "expm1": "exp(x) - 1",
         "log": "log(x)", "log1p": "log(1 + x)", "log2": "log2(x)", "log10": "log10(x)", "sigmoid": "sigmoid(x)",
         "tanh": "tanh(x)", "relu": "max(x, 0)", "sin": "sin(x)", "cos": "cos(x)", "tan": "tan(x)",
         "floor": "floor(x)", "ceil": "ceil(x)", "trunc": "trunc(x)", "frac": "x - trunc(x)", "sign": "sign(x)",
         "reciprocal": "1 / x", "square": "x * x", "erf": "erf(x)", "round": "round(x)"}
for _name, _doc in UNARY.items():
    setattr(InPlaceMethods, f"{_name}_", _unary(_name, _doc))
InPlaceMethods.negative_ = InPlaceMethods.neg_
InPlaceMethods.absolute_ = InPlaceMethods.abs_
InPlaceMethods.fix_ = InPlaceMethods.trunc_


def _matmul_shape(t: Any, other: Any) -> tuple[int, ...] | None:
    """The shape of t @ other for tensors of at least 2 dimensions, None otherwise (matmul then decides)."""
    shape = getattr(other, "shape", None)
    if shape is None or t.ndim < 2 or len(shape) < 2:
        return None
    try:
        return tuple(np.broadcast_shapes(t.shape[:-2], shape[:-2])) + (t.shape[-2], shape[-1])
    except ValueError:
        return None


# ---- the machinery ------------------------------------------------------------------------------------------------
def _requires(x: Any) -> bool:
    return isinstance(x, InPlaceMethods) and x._requires_grad


def _records(t: Any, op: str, operands: tuple) -> bool:
    """Whether this write must be recorded in the graph; PyTorch's RuntimeError for a leaf that requires grad."""
    if not autograd.is_grad_enabled() or not (t._requires_grad or any(_requires(x) for x in operands)):
        return False
    if t._requires_grad and t._ctx is None:
        raise RuntimeError(f"{op}: a leaf Variable that requires grad is being used in an in-place operation (the "
                           f"tensor of shape {t.shape} requires grad and was not made by an op). Do this inside "
                           "`with no_grad():` (as optimisers and init code do), or use the out-of-place form "
                           "(x = x + y)")
    return True


def _writable(t: Any, op: str, *operands: Any) -> None:
    """Refuse a write the graph cannot record (this path records nothing), or one into read-only memory."""
    if autograd.is_grad_enabled():
        _records(t, op, operands)  # a leaf that requires grad: PyTorch's error
        for x in (t, *operands):
            if _requires(x):
                who = "the tensor" if x is t else "the operand"
                raise RuntimeError(f"{op}: {who} of shape {x.shape} requires grad, and this in-place operation is "
                                   "not recorded in the graph; do it inside `with no_grad():` or use the "
                                   "out-of-place form")
    _check_memory(t, op)


def _check_memory(t: Any, op: str) -> None:
    if not t.data.flags.writeable:
        raise ValueError(f"{op}: the tensor of shape {t.shape} is a read-only view (expand and broadcasting make "
                         "them); write to a copy made with .clone()")


def _cast_error(op: str, result: np.dtype, target: np.dtype) -> TypeError:
    return TypeError(f"{op}: result type {dtypes.name(result)} can't be cast to the desired output type "
                     f"{dtypes.name(target)} (a {target} tensor cannot hold the {result} result of {op}); use the "
                     "out-of-place form, or convert the tensor first (e.g. .float())")


def _result_dtype(t: Any, value: np.ndarray, raw: Any) -> np.dtype:
    """The dtype PyTorch computes ``t op value`` in, for the error message: a Python float meeting an integer tensor
    gives the default dtype."""
    if t.data.dtype.kind != "f":
        if isinstance(raw, float):
            return dtypes.get_default_dtype()
        if value.dtype.kind == "f":
            return value.dtype  # an integer tensor meeting a float one takes the float dtype
    return np.result_type(t.data.dtype, value.dtype)


def _store(t: Any, op: str, result: Any, any_cast: bool = False) -> Any:
    """Check that ``result`` (a Tensor) fits x's shape and dtype; return it in x's dtype."""
    if result.shape != t.shape:
        raise ValueError(f"{op}: the result has shape {result.shape}, but in place it must keep the tensor's shape "
                         f"{t.shape} (the operand must broadcast to it)")
    if result.dtype != t.data.dtype:
        if not any_cast and not np.can_cast(result.dtype, t.data.dtype, "same_kind"):
            raise _cast_error(op, result.dtype, t.data.dtype)
        result = Cast.apply(result, dtype=t.data.dtype)
    return result


def _refuse_view(t: Any, op: str) -> None:
    """Refuse to record a write into memory that another tensor of the graph shares (its graph would not know)."""
    if t.data.base is None:
        return
    ctx = t._ctx
    inputs = () if ctx is None or ctx.freed else ctx._inputs
    if ctx is None or any(np.may_share_memory(t.data, x.data) for x in inputs):
        made = f"made by {ctx.name}" if ctx is not None else "a view of another tensor"
        raise RuntimeError(f"{op}: the tensor of shape {t.shape} ({made}) shares memory with another tensor, and an "
                           "in-place operation on it would not reach that tensor's gradient; use the out-of-place "
                           "form (x = x + y), or write into a copy (x = x.clone())")


def _record(t: Any, op: str, compute: Callable[[Any], Any], any_cast: bool = False) -> Any:
    """The write as a node of the graph: ``compute`` on a snapshot of x (x's old place in the graph), the result
    written into x's memory, and x rewired to the new node."""
    _check_memory(t, op)
    _refuse_view(t, op)
    old = t._make(t.data.copy(), t._ctx)
    result = _store(t, op, compute(old), any_cast)
    if result._ctx is None and result._requires_grad:  # compute returned a leaf as is: give x a node of its own
        result = Cast.apply(result, dtype=result.dtype)
    np.copyto(t.data, result.data)
    versions.mark_modified(t.data)
    node = result._ctx
    if node is not None and node._out is result.data:  # the node keeps x's memory as its saved output, so that
        node._out, node._stamp = t.data, versions.clock  # a later write into x is refused at backward, as PyTorch
    t._ctx, t._requires_grad = node, result._requires_grad
    return t


def _generic(t: Any, op: str, operands: tuple, compute: Callable[[Any], Any], any_cast: bool = False) -> Any:
    """An in-place op as its out-of-place form ``compute``: recorded, or computed outside the graph and written."""
    if _records(t, op, operands):
        return _record(t, op, compute, any_cast)
    _check_memory(t, op)
    with autograd.no_grad():
        result = _store(t, op, compute(t._make(t.data, None)), any_cast)
    np.copyto(t.data, result.data)
    versions.mark_modified(t.data)
    return t


def _operand(t: Any, op: str, other: Any) -> np.ndarray:
    """``other`` as a numeric array that broadcasts to t's shape."""
    if isinstance(other, InPlaceMethods):
        value = other.data
    elif type(other) in (int, float) and t.data.dtype.kind == "f":
        try:
            value = np.asarray(other, t.data.dtype)  # a Python number in x's float dtype, as PyTorch computes
        except OverflowError:
            raise ValueError(f"{op}: the number {other} does not fit in a {t.data.dtype} tensor") from None
    else:
        value = np.asarray(other)
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


def _binary(t: Any, op: str, ufunc: np.ufunc, other: Any, alpha: Any, compute: Callable[[Any, Any], Any]) -> Any:
    """x = ufunc(x, alpha * other): written into x's memory with same-kind casting, or recorded."""
    if alpha != 1:
        _checks.as_real(op, "alpha", alpha)
    if _records(t, op, (other,)):
        operand = other * alpha if alpha != 1 else other
        return _record(t, op, lambda x: compute(x, operand))
    _check_memory(t, op)
    value = _operand(t, op, other)
    if alpha != 1:
        value = value * alpha
    if ufunc is np.true_divide and t.data.dtype.kind != "f":
        raise _cast_error(op, dtypes.get_default_dtype() if value.dtype.kind != "f" else value.dtype, t.data.dtype)
    try:
        ufunc(t.data, value, out=t.data, casting="same_kind")
    except TypeError:
        raise _cast_error(op, _result_dtype(t, value, other), t.data.dtype) from None
    except OverflowError:
        raise ValueError(f"{op}: the number {other} does not fit in a {t.data.dtype} tensor") from None
    versions.mark_modified(t.data)
    return t


def _ternary(t: Any, op: str, a: Any, b: Any, value: Any, combine: np.ufunc,
             compute: Callable[[Any, Any, Any], Any]) -> Any:
    """x += value * combine(a, b) (addcmul_, addcdiv_)."""
    _checks.as_real(op, "value", value)
    if _records(t, op, (a, b)):
        return _record(t, op, lambda x: compute(x, a, b))
    _check_memory(t, op)
    va, vb = _operand(t, op, a), _operand(t, op, b)
    if combine is np.true_divide and t.data.dtype.kind != "f":
        raise _cast_error(op, dtypes.get_default_dtype(), t.data.dtype)
    if combine is np.true_divide and va.dtype.kind != "f" and vb.dtype.kind != "f":
        raise TypeError(f"{op}: integer division is not supported by {op} (both tensors are {va.dtype} and "
                        f"{vb.dtype}); convert them with .float()")
    with np.errstate(divide="ignore", invalid="ignore"):
        step = combine(va, vb)
        if value != 1:
            step = step * value
    try:
        np.add(t.data, step, out=t.data, casting="same_kind")
    except TypeError:
        raise _cast_error(op, np.result_type(t.data.dtype, step.dtype), t.data.dtype) from None
    versions.mark_modified(t.data)
    return t


def _fill(t: Any, op: str, values: Callable[[], Any], random: bool = False) -> Any:
    """x[...] = values() (cast to x's dtype); recorded as a node whose gradient to the old x is zero."""
    if random and t.data.dtype.kind != "f":
        raise TypeError(f"{op}: the tensor is {t.data.dtype}; random fills need a floating-point tensor (.float())")
    if _records(t, op, ()):
        def compute(old: Any) -> Any:
            filled = np.broadcast_to(np.asarray(values()).astype(t.data.dtype), t.shape)
            return Where.apply(old._make(np.zeros(t.shape, bool), None), old, old._make(filled, None))
        return _record(t, op, compute)
    _check_memory(t, op)
    try:
        t.data[...] = values()
    except (OverflowError, ValueError) as err:
        raise ValueError(f"{op}: the value does not fit in a {t.data.dtype} tensor: {err}") from None
    versions.mark_modified(t.data)
    return t

