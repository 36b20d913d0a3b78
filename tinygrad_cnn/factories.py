"""Tensor factories; the random ones draw from ``random.generator()`` (seeded by ``manual_seed``)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._checks import UNSET, allocate, as_bool, as_dtype, as_int, as_real, as_shape, is_int, spelling
from .device import check_device
from .dtypes import get_default_dtype
from .random import generator
from .tensor_class import Tensor


def _shape(op: str, shape: tuple, dtype: np.dtype) -> tuple[int, ...]:
    """Sizes given as ints or as one tuple/list: non-negative ints, small enough for an array of ``dtype``."""
    return as_shape(op, tuple(shape), dtype.itemsize)


def _dtype(op: str, dtype: Any, kinds: str = "biuf") -> np.dtype:
    return as_dtype(op, get_default_dtype() if dtype is None else dtype, kinds)


def _like(op: str, t: Any, dtype: Any, kinds: str = "biuf") -> tuple[tuple[int, ...], np.dtype]:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor to take the shape and dtype of, got {type(t).__name__}")
    return t.shape, _dtype(op, t.dtype if dtype is None else dtype, kinds)


def _tensor(op: str, array: np.ndarray, requires_grad: Any) -> Tensor:
    """``array`` as a Tensor (not copied); TypeError naming ``op`` when a non-float result is asked to require grad."""
    if as_bool(op, "requires_grad", requires_grad) and array.dtype.kind != "f":
        raise TypeError(f"{op}: only floating-point tensors can require grad, the result is {array.dtype}; pass a "
                        "float dtype (e.g. dtype=np.float32)")
    return Tensor(array, requires_grad=requires_grad, dtype=array.dtype)


def _fill_dtype(op: str, fill_value: Any, dtype: Any) -> np.dtype:
    """PyTorch's inference for ``full``: a bool fills a bool tensor, an int an int64 one, a float a float32 one."""
    if dtype is not None:
        return _dtype(op, dtype)
    if isinstance(fill_value, (bool, np.bool_)):
        return np.dtype(np.bool_)
    return np.dtype(np.int64) if is_int(fill_value) else get_default_dtype()


def _size(op: str, size: Any) -> tuple[int, ...]:
    """A ``size=`` argument (an int or a tuple/list of ints) as a shape."""
    if not (is_int(size) or isinstance(size, (tuple, list))):
        raise TypeError(f"{op}: size must be an int or a tuple of ints, got {size!r} ({type(size).__name__})")
    return as_shape(op, (size,) if is_int(size) else tuple(size), 8)


def _full(op: str, shape: Any, fill_value: Any, dtype: np.dtype, requires_grad: bool) -> Tensor:
    shape = _shape(op, (shape,), dtype)
    if not isinstance(fill_value, (bool, np.bool_)):
        as_real(op, "fill_value", fill_value)
    out = allocate(op, np.empty, shape, dtype)
    try:
        out.fill(fill_value)
    except (OverflowError, ValueError) as err:
        raise ValueError(f"{op}: fill_value {fill_value!r} does not fit in {dtype}: {err}") from None
    return _tensor(op, out, requires_grad)


# ---- from data (PyTorch's torch.tensor, torch.as_tensor, torch.from_numpy) ------------------------------------
def _infer(op: str, data: Any, dtype_given: bool = False) -> np.ndarray:
    """``data`` (not a Tensor) as an array with PyTorch's dtype inference: NumPy arrays and scalars keep their dtype,
    Python floats take the default dtype, Python ints int64, bools bool. Not copied when already an array. With
    ``dtype_given`` Python floats stay float64, so that the caller's cast rounds once (1.6 as float64 is 1.6)."""
    if isinstance(data, (np.ndarray, np.generic)):
        array = np.asarray(data)
    else:
        try:
            array = np.asarray(data)
        except (ValueError, TypeError) as err:  # ragged nesting, or items NumPy cannot hold
            raise TypeError(f"{op}: cannot make a tensor from {type(data).__name__}: {err}") from None
        if array.dtype == np.float64 and not dtype_given:
            array = array.astype(get_default_dtype(), copy=False)
    if array.dtype.kind not in "biuf":
        hint = " (a Python int too large for int64?)" if array.dtype.kind == "O" else ""
        raise TypeError(f"{op}: data of dtype {array.dtype} is not supported{hint}; pass bool, int or float data")
    return array


def _from_data(op: str, data: Any, dtype: Any, copy: bool) -> np.ndarray:
    target = None if dtype is None else as_dtype(op, dtype)
    array = data.data if isinstance(data, Tensor) else _infer(op, data, dtype_given=target is not None)
    if target is not None and array.dtype != target:
        try:
            return array.astype(target)
        except (OverflowError, ValueError) as err:
            raise ValueError(f"{op}: the data does not fit in {target}: {err}") from None
    return array.copy() if copy else array


def tensor(data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (PyTorch's ``torch.tensor``): a number, a nested list, a NumPy
    array or a Tensor. Without ``dtype``, PyTorch's inference: Python floats give the default dtype (float32), ints
    int64, bools bool; a NumPy array keeps its dtype (float64 stays float64). A Tensor is copied and detached, with
    PyTorch's warning to prefer ``t.clone().detach()``."""
    check_device("tensor", device)
    as_bool("tensor", "pin_memory", pin_memory)
    if isinstance(data, Tensor):
        warnings.warn("tensor: to copy construct from a tensor, it is recommended to use sourceTensor.clone()."
                      "detach() rather than tg.tensor(sourceTensor) (as PyTorch warns)", UserWarning, stacklevel=2)
    return _tensor("tensor", _from_data("tensor", data, dtype, copy=True), requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (PyTorch's ``torch.as_tensor``): a Tensor of the asked dtype
    is returned itself, a NumPy array of the asked dtype is wrapped without copying; anything else is converted as
    ``tensor`` converts it."""
    check_device("as_tensor", device)
    if isinstance(data, Tensor) and (dtype is None or as_dtype("as_tensor", dtype) == data.dtype):
        return data
    if isinstance(data, Tensor):
        return data.to(dtype)
    return Tensor._make(_from_data("as_tensor", data, dtype, copy=False), None)


def from_numpy(ndarray: np.ndarray) -> Tensor:
    """The NumPy array as a tensor sharing its memory (writes show through both ways), dtype kept (PyTorch's
    ``torch.from_numpy``); TypeError for anything that is not a NumPy array of bool, integer or float dtype."""
    if not isinstance(ndarray, np.ndarray):
        raise TypeError(f"from_numpy: expected np.ndarray (got {type(ndarray).__name__}); for other data use "
                        "tg.tensor(data)")
    if ndarray.dtype.kind not in "biuf":
        raise TypeError(f"from_numpy: can't convert np.ndarray of dtype {ndarray.dtype}; the supported dtypes are "
                        "bool, the integers and the floats")
    return Tensor._make(ndarray, None)


#: DLPack device types whose memory the CPU reads: kDLCPU, kDLCUDAHost (pinned), kDLROCMHost
_HOST_DEVICES = {1: "CPU", 3: "CUDA host", 11: "ROCm host"}
_DEVICE_NAMES = {2: "CUDA", 4: "OpenCL", 7: "Vulkan", 8: "Metal", 9: "VPI", 10: "ROCm", 12: "ExtDev",
                 13: "CUDA managed", 14: "oneAPI", 15: "WebGPU", 16: "Hexagon", 17: "MAIA"}


class _Capsule:
    """A bare DLPack capsule (``torch.utils.dlpack.to_dlpack``'s) behind the protocol NumPy consumes."""

    __slots__ = ("capsule",)

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return (1, 0)  # not known before import: NumPy refuses a capsule whose data is not on the CPU


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor sharing the memory of ``ext_tensor`` (PyTorch's ``torch.from_dlpack``): any object with
    ``__dlpack__`` and ``__dlpack_device__`` whose data is on the CPU (a NumPy array, a PyTorch, JAX or CuPy-host
    tensor, one of ours), or a DLPack capsule. Writes through either side show in the other. The result is a
    leaf that does not require grad. A NumPy array or one of our tensors is wrapped directly (the same ndarray),
    so the in-place checks see the result and its source as one memory. ``copy=True`` asks for a copy,
    ``copy=False`` forbids one (BufferError if the producer cannot share). Data on another device, and dtypes
    other than bool, the integers and the floats (bfloat16, complex), are errors that say how to convert first."""
    check_device("from_dlpack", device)
    copy = None if copy is None else as_bool("from_dlpack", "copy", copy)
    if isinstance(ext_tensor, (Tensor, np.ndarray)) and ext_tensor.dtype.kind in "biuf":
        # our own tensors and NumPy arrays: the same ndarray (or its base), so in-place checks see one memory owner
        array = ext_tensor.data if isinstance(ext_tensor, Tensor) else ext_tensor
        return Tensor._make(array.copy() if copy else array, None)
    kind = type(ext_tensor)
    what = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    source = ext_tensor
    if what == "PyCapsule":
        source = _Capsule(ext_tensor)
    elif not (hasattr(ext_tensor, "__dlpack__") and hasattr(ext_tensor, "__dlpack_device__")):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ and __dlpack_device__ (a DLPack "
                        f"producer) or a DLPack capsule, got {what}; for NumPy arrays use tg.from_numpy, for other "
                        "data tg.tensor")
    else:
        device_type, index = (int(v) for v in ext_tensor.__dlpack_device__())
        if device_type not in _HOST_DEVICES:
            name = _DEVICE_NAMES.get(device_type, device_type)
            raise RuntimeError(f"from_dlpack: the {what}'s data is on DLPack device {name}:{index}, and "
                               "tinygrad_cnn computes on the CPU only; move it to the CPU first (PyTorch: t.cpu(), "
                               "CuPy: a.get())")
    copy_after = bool(copy) and what == "PyCapsule"  # a bare capsule cannot copy on export: copy on import
    try:
        array = np.from_dlpack(source, copy=None if what == "PyCapsule" else copy)
    except TypeError as err:
        if "copy" not in str(err):
            raise TypeError(f"from_dlpack: cannot import the {what}: {err}") from None
        array, copy_after = np.from_dlpack(source), bool(copy)  # NumPy < 2.1 takes no copy=
    except BufferError as err:
        hint = "; pass t.detach() (the result does not require grad either way)" if "grad" in str(err) else ""
        raise BufferError(f"from_dlpack: the {what} refused to export its data ({err}){hint}") from None
    except (RuntimeError, ValueError) as err:  # NumPy: an unsupported dtype or device in the capsule
        dtype = getattr(ext_tensor, "dtype", "unknown")
        raise TypeError(f"from_dlpack: cannot import the {what} (dtype {dtype}): {str(err).rstrip('.')}; the "
                        "supported dtypes are bool, the integers and float16/32/64 on the CPU: convert first "
                        "(PyTorch: t.float())") from None
    if array.dtype.kind not in "biuf":
        raise TypeError(f"from_dlpack: the {what} holds {array.dtype} data; the supported dtypes are bool, the "
                        "integers and the floats: convert first (PyTorch: t.real or t.abs())")
    if copy_after:
        array = array.copy()
    return Tensor._make(array, None)


def zeros(*shape: int, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("zeros", device)
    dtype = _dtype("zeros", dtype)
    return _tensor("zeros", allocate("zeros", np.zeros, _shape("zeros", shape, dtype), dtype), requires_grad)


def ones(*shape: int, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    check_device("ones", device)
    dtype = _dtype("ones", dtype)
    return _tensor("ones", allocate("ones", np.ones, _shape("ones", shape, dtype), dtype), requires_grad)


def empty(*shape: int, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """A tensor whose values are whatever the memory held (as PyTorch's): write it before reading it."""
    check_device("empty", device)
    dtype = _dtype("empty", dtype)
    return _tensor("empty", allocate("empty", np.empty, _shape("empty", shape, dtype), dtype), requires_grad)


def full(shape: tuple[int, ...], fill_value: float, dtype: Any = None, requires_grad: bool = False, *,
         device: Any = None) -> Tensor:
    """Every element ``fill_value``; without dtype, PyTorch's inference: ``full(s, 2)`` is int64, ``full(s, 2.0)``
    float32, ``full(s, True)`` bool."""
    check_device("full", device)
    return _full("full", shape, fill_value, _fill_dtype("full", fill_value, dtype), requires_grad)


def arange(start: float, end: float | None = UNSET, step: float = 1, dtype: Any = None,
           requires_grad: bool = False, *, stop: float | None = UNSET, device: Any = None) -> Tensor:
    """Evenly spaced values ``start + i * step`` in [start, end), PyTorch's rules: ``ceil((end - start) / step)``
    values; integer arguments give int64, any float argument float32, unless dtype says otherwise; a step whose sign
    points away from end is a ValueError (NumPy would return nothing). ``stop=`` is NumPy's spelling of ``end``."""
    check_device("arange", device)
    end = spelling("arange", ("end", end), ("stop", stop), None)
    args = (start, end, step) if end is not None else (0, start, step)
    for name, value in zip(("start", "end", "step"), args):
        as_real("arange", name, value, finite=True)
    start, end, step = args
    if step == 0:
        raise ValueError("arange: step must not be 0")
    if (end - start) * (1 if step > 0 else -1) < 0:
        raise ValueError(f"arange: the range {args} (start, end, step) is inconsistent with the sign of step: step "
                         f"must be {'positive' if end > start else 'negative'} to go from {start} to {end}")
    try:
        if all(is_int(a) for a in args):
            values = np.arange(*args)
            if values.dtype.kind not in "iu":
                raise OverflowError(f"the values need dtype {values.dtype}")
        else:
            n = math.ceil((float(end) - float(start)) / float(step))  # PyTorch's length rule, in double
            as_shape("arange", (n,))
            values = float(start) + np.arange(n, dtype=np.float64) * float(step)
            if dtype is None:
                dtype = get_default_dtype()  # Python floats give the default dtype (float32), as everywhere else
    except (ValueError, OverflowError, MemoryError) as err:  # too many values: the size is implicit in the args
        raise ValueError(f"arange: cannot make the range {args} (start, end, step): {err}") from None
    if dtype is not None:
        values = values.astype(_dtype("arange", dtype), copy=False)
    return _tensor("arange", values, requires_grad)


def linspace(start: float, end: float, steps: int, dtype: Any = None, requires_grad: bool = False, *,
             device: Any = None) -> Tensor:
    """``steps`` evenly spaced values from start to end inclusive, computed as PyTorch does (from start for the first
    half, from end for the second, so both ends are exact); float32 unless dtype says otherwise (an integer dtype
    truncates)."""
    check_device("linspace", device)
    return _tensor("linspace", _linspace("linspace", start, end, steps, dtype), requires_grad)


def logspace(start: float, end: float, steps: int, base: float = 10.0, dtype: Any = None,
             requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """base ** linspace(start, end, steps)."""
    check_device("logspace", device)
    return _tensor("logspace", _linspace("logspace", start, end, steps, dtype, base, log=True), requires_grad)


def _linspace(op: str, start: Any, end: Any, steps: Any, dtype: Any, base: Any = None, log: bool = False) -> np.ndarray:
    start, end = as_real(op, "start", start), as_real(op, "end", end)
    steps = as_int(op, "steps", steps, low=0)
    base = as_real(op, "base", base) if log else None
    dtype = _dtype(op, dtype, "iuf")
    _shape(op, (steps,), dtype)
    with np.errstate(all="ignore"):
        i = allocate(op, lambda s, d: np.arange(s[0], dtype=d), (steps,), np.float64)
        step = (end - start) / (steps - 1) if steps > 1 else 0.0
        values = np.where(i < steps // 2, start + step * i, end - step * (steps - 1 - i)) if steps > 1 else i + start
        if log:
            values = np.power(base, values)
    if dtype.kind in "iu" and values.size:
        info = np.iinfo(dtype)
        if not (np.all(np.isfinite(values)) and info.min <= values.min() and values.max() <= info.max):
            raise ValueError(f"{op}: the values from {values.min()} to {values.max()} do not fit in {dtype}")
    return values.astype(dtype)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False, *,
        device: Any = None) -> Tensor:
    """The (n, m) matrix with ones on the diagonal (m = n when not given)."""
    check_device("eye", device)
    dtype = _dtype("eye", dtype)
    n = as_int("eye", "n", n, low=0)
    m = n if m is None else as_int("eye", "m", m, low=0)
    return _tensor("eye", allocate("eye", lambda s, d: np.eye(*s, dtype=d), _shape("eye", (n, m), dtype), dtype),
                   requires_grad)


def _triangle_indices(op: str, row: Any, col: Any, offset: Any, dtype: Any, pick) -> Tensor:
    row, col = as_int(op, "row", row, low=0), as_int(op, "col", col, low=0)
    offset = min(max(as_int(op, "offset", offset), -row), col)  # beyond these every/no element is in: the same
    dtype = as_dtype(op, np.int64 if dtype is None else dtype, "iu")
    _shape(op, (row, col), np.dtype(np.bool_))
    if max(row, col) > np.iinfo(dtype).max:
        raise ValueError(f"{op}: indices up to {max(row, col) - 1} do not fit in {dtype}")
    rows, cols = allocate(op, lambda s, d: pick(s[0], offset, s[1]), (row, col), np.bool_)
    return Tensor(np.stack([rows, cols]).astype(dtype))


def tril_indices(row: int, col: int, offset: int = 0, dtype: Any = None, *, device: Any = None) -> Tensor:
    """The (2, N) coordinates (row-major) of the lower triangle of a (row, col) matrix: the elements on or below the
    diagonal ``offset`` (positive: above the main diagonal, negative: below)."""
    check_device("tril_indices", device)
    return _triangle_indices("tril_indices", row, col, offset, dtype, np.tril_indices)


def triu_indices(row: int, col: int, offset: int = 0, dtype: Any = None, *, device: Any = None) -> Tensor:
    """The (2, N) coordinates (row-major) of the upper triangle of a (row, col) matrix, on or above diagonal
    ``offset``."""
    check_device("triu_indices", device)
    return _triangle_indices("triu_indices", row, col, offset, dtype, np.triu_indices)


def rand(*shape: int, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Uniform on [0, 1)."""
    check_device("rand", device)
    dtype = _dtype("rand", dtype, "f")
    shape = _shape("rand", shape, np.dtype(np.float64))
    return _tensor("rand", allocate("rand", lambda s, d: generator().random(s, dtype=np.float64).astype(d), shape,
                                    dtype), requires_grad)


def randn(*shape: int, dtype: Any = None, requires_grad: bool = False, device: Any = None) -> Tensor:
    """Standard normal."""
    check_device("randn", device)
    dtype = _dtype("randn", dtype, "f")
    shape = _shape("randn", shape, np.dtype(np.float64))
    return _tensor("randn", allocate("randn", lambda s, d: generator().standard_normal(s).astype(d), shape, dtype),
                   requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    check_device("zeros_like", device)
    shape, dtype = _like("zeros_like", t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    check_device("ones_like", device)
    shape, dtype = _like("ones_like", t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False, *,
              device: Any = None) -> Tensor:
    check_device("full_like", device)
    shape, dtype = _like("full_like", t, dtype)
    return _full("full_like", shape, fill_value, dtype, requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    check_device("rand_like", device)
    shape, dtype = _like("rand_like", t, dtype, "f")
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    check_device("randn_like", device)
    shape, dtype = _like("randn_like", t, dtype, "f")
    return randn(shape, dtype=dtype, requires_grad=requires_grad)


def empty_like(t: Tensor, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    check_device("empty_like", device)
    shape, dtype = _like("empty_like", t, dtype)
    return empty(shape, dtype=dtype, requires_grad=requires_grad)


# ---- random draws (every one from ``generator()``, so ``manual_seed`` makes them reproducible) ---------------------
def randint(low: int = 0, high: int | None = None, size: tuple[int, ...] | None = None, dtype: Any = None,
            requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Integers drawn uniformly from [low, high): ``randint(high, size)`` or ``randint(low, high, size)``, as
    PyTorch; int64 unless dtype says otherwise (a float dtype holds the integers as floats)."""
    check_device("randint", device)
    if size is None and isinstance(high, (tuple, list)):  # randint(high, size)
        low, high, size = 0, low, high
    elif high is None:  # randint(high, size=...)
        low, high = 0, low
    if size is None:
        raise TypeError("randint: size is required, e.g. randint(0, 10, (2, 3))")
    low, high = as_int("randint", "low", low), as_int("randint", "high", high)
    if low >= high:
        raise ValueError(f"randint: low must be less than high, got low={low} and high={high}")
    dtype = as_dtype("randint", np.int64 if dtype is None else dtype, "iuf")
    if dtype.kind in "iu" and (low < np.iinfo(dtype).min or high - 1 > np.iinfo(dtype).max):
        raise ValueError(f"randint: the range [{low}, {high}) does not fit in {dtype}")
    shape = _size("randint", size)
    try:
        values = allocate("randint", lambda s, d: generator().integers(low, high, s, dtype=d), shape, np.int64)
    except ValueError as err:
        raise ValueError(f"randint: cannot draw from [{low}, {high}): {err}") from None
    return _tensor("randint", values.astype(dtype, copy=False), requires_grad)


def randperm(n: int, dtype: Any = None, requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """A random permutation of 0 .. n-1; int64 unless dtype says otherwise."""
    check_device("randperm", device)
    n = as_int("randperm", "n", n, low=0)
    dtype = as_dtype("randperm", np.int64 if dtype is None else dtype, "iuf")
    if dtype.kind in "iu" and n - 1 > np.iinfo(dtype).max:
        raise ValueError(f"randperm: n={n} does not fit in {dtype}")
    as_shape("randperm", (n,), 8)
    values = allocate("randperm", lambda s, d: generator().permutation(s[0]), (n,), np.int64)
    return _tensor("randperm", values.astype(dtype, copy=False), requires_grad)


def _float_tensor(op: str, name: str, t: Any) -> np.ndarray:
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a floating-point tensor, got {t.dtype}; convert it with .float()")
    return t.data


def normal(mean: Any = 0.0, std: Any = 1.0, size: tuple[int, ...] | None = None, dtype: Any = None,
           requires_grad: bool = False, *, device: Any = None) -> Tensor:
    """Normal draws, PyTorch's forms: ``normal(mean, std, size)`` with numbers, or with a tensor mean and/or std
    (the result has their broadcast shape and dtype). std must be >= 0. Like PyTorch's, the draws carry no gradient
    back to mean and std (use ``mean + std * randn(...)`` to differentiate through them)."""
    check_device("normal", device)
    tensors = [isinstance(v, Tensor) for v in (mean, std)]
    if any(tensors):
        if size is not None:
            raise TypeError("normal: size= is only for a number mean and std; with a tensor the result takes its "
                            "shape")
        m = _float_tensor("normal", "mean", mean) if tensors[0] else as_real("normal", "mean", mean)
        s = _float_tensor("normal", "std", std) if tensors[1] else as_real("normal", "std", std)
        dtypes = {a.dtype for a in (m, s) if isinstance(a, np.ndarray)}
        if len(dtypes) > 1:
            raise TypeError(f"normal: mean is {m.dtype} but std is {s.dtype}; convert them to one float dtype")
        out_dtype = dtypes.pop() if dtype is None else as_dtype("normal", dtype, "f")
        try:
            shape = np.broadcast_shapes(np.shape(m), np.shape(s))
        except ValueError:
            raise ValueError(f"normal: mean of shape {np.shape(m)} and std of shape {np.shape(s)} do not "
                             "broadcast") from None
    else:
        if size is None:
            raise TypeError("normal: with a number mean and std, pass size=, e.g. normal(0.0, 1.0, size=(2, 3))")
        m, s = as_real("normal", "mean", mean), as_real("normal", "std", std)
        out_dtype = _dtype("normal", dtype, "f")
        shape = _size("normal", size)
    if not np.all(np.asarray(s) >= 0):
        raise ValueError("normal: std must be >= 0 (and not NaN) everywhere")
    with np.errstate(all="ignore"):
        values = m + s * allocate("normal", lambda z, d: generator().standard_normal(z), shape, np.float64)
    return _tensor("normal", np.asarray(values).astype(out_dtype), requires_grad)


def bernoulli(input: Tensor, p: float | None = None) -> Tensor:
    """1 with probability p, else 0, per element: p is ``input`` itself (probabilities in [0, 1]) or the number
    ``p``; the result has input's shape and dtype and carries no gradient (as PyTorch's)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"bernoulli: input must be a Tensor, got {type(input).__name__}")
    probs = _float_tensor("bernoulli", "input", input)
    if p is not None:
        probs = as_real("bernoulli", "p", p, low=0.0, high=1.0)
    elif not np.all((probs >= 0) & (probs <= 1)):
        raise ValueError("bernoulli: input must hold probabilities in [0, 1] (no NaN)")
    draws = allocate("bernoulli", lambda s, d: generator().random(s), input.shape, np.float64)
    return Tensor((draws < probs).astype(input.dtype))


def multinomial(input: Tensor, num_samples: int, replacement: bool = False) -> Tensor:
    """Indices drawn from the categories of each row of ``input`` (1-D or 2-D: non-negative weights, not necessarily
    normalised, each row with a positive sum), int64 of shape (num_samples,) or (rows, num_samples). Without
    replacement no index repeats in a row (so num_samples is at most the count of positive weights); drawn by the
    Gumbel-top-k rule (keys log(u) / w), with replacement by inverting each row's cumulative sum."""
    if not isinstance(input, Tensor):
        raise TypeError(f"multinomial: input must be a Tensor, got {type(input).__name__}")
    w = _float_tensor("multinomial", "input", input).astype(np.float64)
    if w.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must be 1-D or 2-D (one distribution per row), got shape {w.shape}")
    k = as_int("multinomial", "num_samples", num_samples, low=1)
    replacement = as_bool("multinomial", "replacement", replacement)
    rows = w.reshape(-1, w.shape[-1]) if w.shape[-1] else w.reshape(1, 0)
    if rows.shape[1] == 0 or not np.all(np.isfinite(rows)) or np.any(rows < 0):
        raise ValueError(f"multinomial: input of shape {w.shape} must hold finite, non-negative weights (at least "
                         "one category)")
    if np.any(rows.sum(axis=1) <= 0):
        raise ValueError("multinomial: every row of input needs a positive sum of weights")
    if not replacement and k > int(np.count_nonzero(rows, axis=1).min()):
        raise ValueError(f"multinomial: cannot draw {k} samples without replacement from a row with "
                         f"{int(np.count_nonzero(rows, axis=1).min())} positive weight(s) (of {rows.shape[1]}); "
                         "pass replacement=True or fewer samples")
    as_shape("multinomial", (rows.shape[0], k), 8)
    if replacement:
        cdf = np.cumsum(rows, axis=1)
        cdf /= cdf[:, -1:]
        u = generator().random((rows.shape[0], k))
        offsets = np.arange(rows.shape[0])[:, None]
        flat = np.searchsorted((cdf + offsets).ravel(), (u + offsets).ravel(), side="right")
        out = np.minimum(flat.reshape(u.shape) - offsets * rows.shape[1], rows.shape[1] - 1)
    else:
        u = 1.0 - generator().random(rows.shape)  # in (0, 1]
        with np.errstate(divide="ignore"):
            keys = np.where(rows > 0, np.log(u) / np.where(rows > 0, rows, 1.0), -np.inf)
        out = np.argsort(-keys, axis=1, kind="stable")[:, :k]
    return Tensor(out.astype(np.int64).reshape(w.shape[:-1] + (k,)))
