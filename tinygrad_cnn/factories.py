"""Tensor factories and the random generator behind them (seeded by ``manual_seed``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import allocate, as_dtype, as_int, as_real, as_shape
from .tensor import Tensor

_generator = np.random.default_rng()


def manual_seed(seed: int) -> None:
    """Seed the generator used by ``rand``, ``randn``, parameter initialisation, dropout and shuffling."""
    global _generator
    _generator = np.random.default_rng(seed)


def generator() -> np.random.Generator:
    """The generator that ``manual_seed`` seeds."""
    return _generator


def _shape(op: str, shape: tuple, dtype: np.dtype) -> tuple[int, ...]:
    """Sizes given as ints or as one tuple/list: non-negative ints, small enough for an array of ``dtype``."""
    return as_shape(op, tuple(shape), dtype.itemsize)


def _dtype(op: str, dtype: Any, kinds: str = "biuf") -> np.dtype:
    return as_dtype(op, np.float32 if dtype is None else dtype, kinds)


def _like(op: str, t: Any, dtype: Any, kinds: str = "biuf") -> tuple[tuple[int, ...], np.dtype]:
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: expected a Tensor to take the shape and dtype of, got {type(t).__name__}")
    return t.shape, _dtype(op, t.dtype if dtype is None else dtype, kinds)


def _full(op: str, shape: Any, fill_value: Any, dtype: Any, requires_grad: bool) -> Tensor:
    dtype = _dtype(op, dtype)
    shape = _shape(op, (shape,), dtype)
    if not isinstance(fill_value, (bool, np.bool_)):
        as_real(op, "fill_value", fill_value)
    out = allocate(op, np.empty, shape, dtype)
    try:
        out.fill(fill_value)
    except (OverflowError, ValueError) as err:
        raise ValueError(f"{op}: fill_value {fill_value!r} does not fit in {dtype}: {err}") from None
    return Tensor(out, requires_grad=requires_grad)


def zeros(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    dtype = _dtype("zeros", dtype)
    return Tensor(allocate("zeros", np.zeros, _shape("zeros", shape, dtype), dtype), requires_grad=requires_grad)


def ones(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    dtype = _dtype("ones", dtype)
    return Tensor(allocate("ones", np.ones, _shape("ones", shape, dtype), dtype), requires_grad=requires_grad)


def full(shape: tuple[int, ...], fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    return _full("full", shape, fill_value, dtype, requires_grad)


def arange(start: float, stop: float | None = None, step: float = 1, dtype: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Evenly spaced values in [start, stop); integer arguments give int64, float ones float32, unless dtype says
    otherwise."""
    args = (start, stop, step) if stop is not None else (0, start, step)
    for name, value in zip(("start", "stop", "step"), args):
        as_real("arange", name, value, finite=True)
    if step == 0:
        raise ValueError("arange: step must not be 0")
    try:
        values = np.arange(*args)
        if values.dtype.kind not in "iuf":
            raise OverflowError(f"the values need dtype {values.dtype}")
    except (ValueError, OverflowError, MemoryError) as err:  # too many values: the size is implicit in the args
        raise ValueError(f"arange: cannot make the range {args} (start, stop, step): {err}") from None
    if dtype is None and values.dtype.kind == "f":
        dtype = np.float32  # Python floats give float32, as everywhere else
    return Tensor(values, dtype=None if dtype is None else _dtype("arange", dtype), requires_grad=requires_grad)


def eye(n: int, m: int | None = None, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    dtype = _dtype("eye", dtype)
    n = as_int("eye", "n", n, low=0)
    m = n if m is None else as_int("eye", "m", m, low=0)
    return Tensor(allocate("eye", lambda s, d: np.eye(*s, dtype=d), _shape("eye", (n, m), dtype), dtype),
                  requires_grad=requires_grad)


def rand(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1)."""
    dtype = _dtype("rand", dtype, "f")
    shape = _shape("rand", shape, np.dtype(np.float64))
    return Tensor(allocate("rand", lambda s, d: _generator.random(s, dtype=np.float64).astype(d), shape, dtype),
                  requires_grad=requires_grad)


def randn(*shape: int, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    """Standard normal."""
    dtype = _dtype("randn", dtype, "f")
    shape = _shape("randn", shape, np.dtype(np.float64))
    return Tensor(allocate("randn", lambda s, d: _generator.standard_normal(s).astype(d), shape, dtype),
                  requires_grad=requires_grad)


def zeros_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like("zeros_like", t, dtype)
    return zeros(shape, dtype=dtype, requires_grad=requires_grad)


def ones_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like("ones_like", t, dtype)
    return ones(shape, dtype=dtype, requires_grad=requires_grad)


def full_like(t: Tensor, fill_value: float, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like("full_like", t, dtype)
    return _full("full_like", shape, fill_value, dtype, requires_grad)


def rand_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like("rand_like", t, dtype, "f")
    return rand(shape, dtype=dtype, requires_grad=requires_grad)


def randn_like(t: Tensor, dtype: Any = None, requires_grad: bool = False) -> Tensor:
    shape, dtype = _like("randn_like", t, dtype, "f")
    return randn(shape, dtype=dtype, requires_grad=requires_grad)
