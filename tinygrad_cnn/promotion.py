"""Type promotion of two operands, PyTorch's rules: the one home of "which dtype does ``a op b`` compute in".

Above the primitives (a cast is the ``Cast`` primitive, so promotion stays differentiable) and below the Tensor's
methods, which all call ``promote``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes
from ._checks import as_tensor_of
from .ops.elementwise import Cast
from .tensor_core import TensorCore


def _cast(t: Any, dtype: np.dtype) -> Any:
    return t if t.dtype == dtype else Cast.apply(t, dtype=dtype)


def _result_float(op: str, a: Any, b: Any, strict: bool) -> np.dtype:
    """The float dtype of ``a op b`` (tensors, at least one float): the float one's; of two different float dtypes
    the wider (PyTorch), except that a 0-d tensor does not widen a tensor with axes (PyTorch's dimension rule).
    ``strict`` (matmul, as PyTorch): two different float dtypes are a TypeError."""
    da, db = a.dtype, b.dtype
    if da.kind != "f" or db.kind != "f" or da == db:
        return da if da.kind == "f" else db
    if strict:
        raise TypeError(f"{op}: operands have dtypes {da} and {db}; convert one with .float() or .double()")
    if (a.ndim == 0) != (b.ndim == 0):
        return db if a.ndim == 0 else da
    return np.promote_types(da, db)


def promote(op: str, a: Any, b: Any, to_float: bool = False, cls: type | None = None,
            strict_floats: bool = False) -> tuple[Any, Any]:
    """Both operands as Tensors of one dtype (PyTorch's rules: Python scalars never upcast a tensor; an integer
    tensor meeting a float one becomes that float type; float32 with float64 gives float64, unless one is 0-d, or
    ``strict_floats`` makes it a TypeError). Non-tensor operands
    become tensors of the class of the tensor operand (``cls`` when neither is a tensor); ``to_float`` makes an
    integer result float (true division); an integer tensor meeting a float becomes the default dtype (float32)."""
    try:  # the common cases first, fast: a float tensor with a Python number or a tensor of its dtype
        if type(b) in (float, int) and isinstance(a, TensorCore) and a.data.dtype.kind == "f":
            return a, a._make(np.asarray(b, dtype=a.data.dtype), None)
        if type(a) in (float, int) and isinstance(b, TensorCore) and b.data.dtype.kind == "f":
            return b._make(np.asarray(a, dtype=b.data.dtype), None), b
    except OverflowError:
        raise ValueError(f"{op}: the number {b if type(b) in (float, int) else a} is too large for a float "
                         "tensor") from None
    ta, tb = isinstance(a, TensorCore), isinstance(b, TensorCore)
    if ta and tb and a.data.dtype == b.data.dtype and a.data.dtype.kind == "f":
        return a, b
    tensor_type = type(a) if ta else (type(b) if tb else cls)  # the class results are built with
    if tensor_type is None:
        raise TypeError(f"{op}: needs at least one Tensor operand")
    if ta and tb:
        if a.dtype == b.dtype and (not to_float or a.dtype.kind == "f"):
            return a, b
        da, db = a.dtype, b.dtype
        if da.kind == "f" or db.kind == "f":
            target = _result_float(op, a, b, strict_floats)
        else:
            target = dtypes.get_default_dtype() if to_float else np.result_type(da, db)
        return _cast(a, target), _cast(b, target)
    tensor, other = (a, b) if ta else (b, a)
    if not isinstance(tensor, TensorCore):
        tensor = as_tensor_of(tensor_type, op, "operand", tensor)
    if isinstance(other, (bool, int, float, np.bool_, np.integer, np.floating)):
        kind = tensor.dtype.kind
        if kind == "f":
            target = tensor.dtype
        elif isinstance(other, (float, np.floating)) or to_float:
            target = dtypes.get_default_dtype()
        elif kind == "b" and isinstance(other, (bool, np.bool_)):
            target = tensor.dtype  # bool tensor with a bool stays bool (PyTorch)
        else:
            target = tensor.dtype if kind in "iu" else np.dtype(np.int64)  # int8 tensor + 1 stays int8 (PyTorch)
            if isinstance(other, np.integer):
                other = int(other)  # a NumPy int is a scalar too; as a Python int it cannot wrap around silently
        try:
            other = tensor_type._make(np.asarray(other, dtype=target), None)
        except OverflowError:
            raise ValueError(f"{op}: the number {other} does not fit in a {tensor.dtype} tensor") from None
        tensor = _cast(tensor, target)
    else:
        other = as_tensor_of(tensor_type, op, "operand", other)
        if other.dtype != tensor.dtype or to_float:
            return promote(op, *((tensor, other) if ta else (other, tensor)), to_float=to_float, cls=tensor_type,
                           strict_floats=strict_floats)
    return (tensor, other) if ta else (other, tensor)
