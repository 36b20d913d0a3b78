"""dtype objects with PyTorch's names (``tg.float32``, ``tg.long``...) and the default floating-point dtype.

Each name is the NumPy dtype itself, so ``x.dtype == tg.float32`` holds, ``dtype=tg.int64`` works wherever a dtype
is taken, and NumPy takes them too. PyTorch's aliases: ``float`` is float32, ``double`` float64, ``half`` float16,
``long`` int64, ``int`` int32, ``short`` int16. ``bfloat16`` is left out: NumPy has no such dtype.

The default dtype (float32 unless ``set_default_dtype`` says float64) is the dtype of tensors made from Python
floats (``tg.tensor(1.5)``), of the float factories (``zeros``, ``rand``, ``arange(0.5, 2)``...) and of an integer
tensor meeting a Python float. The module sits at the bottom of the package (it imports only ``_checks``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._checks import as_dtype

float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
float16 = np.dtype(np.float16)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool = np.dtype(np.bool_)  # PyTorch's name (torch.bool); shadows the builtin in this module only
float = float32  # torch.float
double = float64
half = float16
long = int64
int = int32  # torch.int is int32
short = int16

finfo = np.finfo  # finfo(tg.float32).eps, .max, .tiny ... as torch.finfo
iinfo = np.iinfo

#: PyTorch's capitalised names of each dtype, as its error messages spell them ("result type Float ...")
NAMES = {float32: "Float", float64: "Double", float16: "Half", int8: "Char", int16: "Short", int32: "Int",
         int64: "Long", uint8: "Byte", bool: "Bool"}
DTYPES = tuple(NAMES)

_default = [float32]  # a list, so the functions below rebind nothing global


def get_default_dtype() -> np.dtype:
    """The default floating-point dtype (float32 unless ``set_default_dtype`` changed it)."""
    return _default[0]


def set_default_dtype(d: Any) -> None:
    """Make ``d`` (float32 or float64) the dtype of tensors made from Python floats and of the float factories."""
    d = as_dtype("set_default_dtype", d, "f")
    if d not in (float32, float64):
        raise TypeError(f"set_default_dtype: only float32 and float64 can be the default dtype, got {d}")
    _default[0] = d


def name(dtype: Any) -> str:
    """PyTorch's capitalised name of a dtype (``Float`` for float32), or NumPy's name when PyTorch has none."""
    d = np.dtype(dtype)
    return NAMES.get(d, str(d))


def default_float(dtype: Any) -> np.dtype:
    """``dtype`` as a NumPy dtype, or the default float dtype when it is None (no checks: see ``_checks.as_dtype``)."""
    return _default[0] if dtype is None else np.dtype(dtype)
