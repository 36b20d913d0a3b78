"""PyTorch state dicts both ways: ``to_torch_state_dict(sd)`` and ``from_torch_state_dict(sd)``.

The layers here use PyTorch's parameter names and layouts (``Linear.weight`` (out_features, in_features),
``Conv2d.weight`` (out_channels, in_channels/groups, kH, kW), ``ConvTranspose2d.weight`` (in_channels,
out_channels/groups, kH, kW), BatchNorm's ``running_mean``, ``running_var`` and int64 ``num_batches_tracked``...),
so a state dict converts key for key and array for array: nothing is renamed, transposed or reshaped. The
conversion copies the numbers through NumPy arrays; no pickle is read or written on this side. PyTorch is imported
only when one of the functions is called, so the package does not need it.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._checks import as_dtype
from .nn.module import Module
from .tensor_class import Tensor

__all__ = ["from_torch_state_dict", "to_torch_state_dict"]

TORCH_HINT = ("install a CPU build of PyTorch, e.g. pip install torch --index-url "
              "https://download.pytorch.org/whl/cpu")
_KINDS = "biuf"  # bool, signed and unsigned integers, floats: the dtypes both libraries hold


def _torch(op: str) -> Any:
    """The ``torch`` module, imported on first use; ImportError naming ``op`` and how to install it."""
    try:
        return importlib.import_module("torch")
    except ImportError as err:
        raise ImportError(f"{op}: needs PyTorch, which is not installed; {TORCH_HINT}") from err


def _check_mapping(op: str, state_dict: Any, module_hint: str) -> None:
    if isinstance(state_dict, Module) or (hasattr(state_dict, "state_dict") and hasattr(state_dict, "parameters")):
        raise TypeError(f"{op}: expected a state dict, got the module {type(state_dict).__name__} itself; pass "
                        f"{module_hint}.state_dict()")
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{op}: expected a state dict (a mapping of names to arrays), got "
                        f"{type(state_dict).__name__}")
    bad = [k for k in state_dict if not isinstance(k, str)]
    if bad:
        raise TypeError(f"{op}: state dict keys must be strings (dotted parameter names), got {bad[:3]!r}")


def to_torch_state_dict(state_dict: Mapping[str, Any]) -> dict[str, Any]:
    """Our ``model.state_dict()`` (NumPy arrays, or tensors with ``keep_vars=True``) as a dict of ``torch.Tensor``
    with the same keys, in the same order, for ``torch_model.load_state_dict``.

    Each value is copied into a new C-contiguous CPU tensor of the same shape and dtype (float32 stays float32,
    ``num_batches_tracked`` stays int64), that does not require grad and shares no memory with the input. The
    result is a plain dict, without PyTorch's ``_metadata`` attribute: PyTorch then reads every module's layout as
    its current one, which is the layout of these layers.
    """
    op = "to_torch_state_dict"
    _check_mapping(op, state_dict, "model")
    arrays = {}
    for key, value in state_dict.items():
        array = value.data if isinstance(value, Tensor) else value
        if isinstance(array, np.generic):
            array = np.asarray(array)
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{op}: {key!r} is a {type(value).__name__}; expected a NumPy array or a Tensor (as "
                            "model.state_dict() gives)")
        if array.dtype.kind not in _KINDS or not array.dtype.isnative:
            raise TypeError(f"{op}: {key!r} has dtype {array.dtype}, which has no PyTorch equivalent here; the "
                            "supported dtypes are bool, the integers and the floats (native byte order)")
        arrays[key] = array
    torch = _torch(op)
    return {key: torch.from_numpy(np.array(array, order="C", copy=True)) for key, array in arrays.items()}


def from_torch_state_dict(torch_state_dict: Mapping[str, Any], dtype: Any = None) -> dict[str, np.ndarray]:
    """A PyTorch ``state_dict()`` as a dict of NumPy arrays with the same keys, in the same order, for our
    ``model.load_state_dict``.

    Each tensor is detached (``keep_vars=True`` dicts hold parameters that require grad), moved to the CPU (a
    model trained on a GPU loads), and copied into a C-contiguous array that owns its memory (non-contiguous and
    expanded tensors included). dtypes are kept, with one rule: NumPy has no bfloat16, so bfloat16 becomes float32,
    which holds every bfloat16 value exactly. ``dtype`` (e.g. ``tg.float32``), when given, is the dtype of every
    floating-point value (to load a float16 or float64 checkpoint into a float32 model); integer buffers such as
    ``num_batches_tracked`` keep theirs. The ``_metadata`` attribute (PyTorch's per-module versions) is not
    carried: our ``load_state_dict`` does not read one. Values that are not dense tensors (``_extra_state``
    objects, sparse or quantized tensors) and complex tensors are TypeErrors naming the key.
    """
    op = "from_torch_state_dict"
    _check_mapping(op, torch_state_dict, "torch_model")
    target = None if dtype is None else as_dtype(op, dtype, "f")
    if not torch_state_dict:
        return {}
    torch = _torch(op)
    out: dict[str, np.ndarray] = {}
    for key, value in torch_state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{op}: {key!r} is a {type(value).__name__}, not a tensor (extra state set by "
                            "get_extra_state?); drop the key before converting")
        if value.layout != torch.strided or value.is_quantized:
            raise TypeError(f"{op}: {key!r} is a {value.layout} {'quantized ' if value.is_quantized else ''}tensor; "
                            "only dense tensors convert: call .to_dense() (or .dequantize()) on it first")
        if value.is_meta:
            raise TypeError(f"{op}: {key!r} is on the meta device and holds no values; load or initialise the "
                            "PyTorch model's weights first")
        if value.is_complex():
            raise TypeError(f"{op}: {key!r} has dtype {value.dtype}; complex tensors have no equivalent here")
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()  # NumPy has no bfloat16; float32 holds every bfloat16 value exactly
        try:
            array = tensor.resolve_conj().resolve_neg().numpy()
        except TypeError as err:  # a dtype NumPy lacks (float8 ...)
            raise TypeError(f"{op}: {key!r} has dtype {value.dtype}, which NumPy cannot hold; convert it in "
                            f"PyTorch first (e.g. .float())") from err
        cast = target if target is not None and array.dtype.kind == "f" else None
        out[key] = np.array(array, dtype=cast, order="C", copy=True)
    return out
