"""``default_collate`` and ``default_convert``: samples into batches, as ``torch.utils.data``'s do.

``default_collate`` looks at the first sample and recurses: Tensors and NumPy arrays are stacked along a new
first axis into one Tensor (shapes must match), NumPy scalars keep their dtype, Python ints become int64,
floats float64, bools bool; strings and bytes stay a list; a dict becomes a dict of batches, a namedtuple a
namedtuple, and any other tuple or list of fields a list of batches (samples must have the same length).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..errors import ShapeError
from ..tensor_class import Tensor
from ..tensor_class import stack as tensor_stack

__all__ = ["default_collate", "default_convert"]


def _unsupported(kind: Any) -> TypeError:
    return TypeError(f"default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found "
                     f"{kind}; pass collate_fn= to the DataLoader for other kinds of sample")


def _stack(arrays: list[np.ndarray], shapes: list[tuple]) -> np.ndarray:
    if len(set(shapes)) > 1:
        k = next(i for i, s in enumerate(shapes) if s != shapes[0])
        raise ShapeError(f"default_collate: samples must have equal shapes to stack, got {shapes[0]} at entry 0 and "
                         f"{shapes[k]} at entry {k}; pad or resize them, or pass collate_fn=")
    return np.stack(arrays)


def default_collate(batch: Sequence[Any]) -> Any:
    """Collate a list of samples into a batch (see the module docstring for the rules)."""
    if isinstance(batch, (str, bytes)) or not isinstance(batch, Sequence):
        raise TypeError(f"default_collate: batch must be a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise ValueError("default_collate: the batch is empty (no samples to collate)")
    first = batch[0]
    if isinstance(first, Tensor):
        if any(getattr(t, "requires_grad", False) for t in batch):
            return tensor_stack(list(batch))  # keeps the graph
        return Tensor(_stack([np.asarray(t) for t in batch], [tuple(np.shape(t)) for t in batch]))
    if isinstance(first, np.ndarray):
        if first.dtype.kind not in "biuf":
            raise _unsupported(first.dtype)
        return Tensor(_stack([np.asarray(a) for a in batch], [np.shape(a) for a in batch]))
    if isinstance(first, np.generic):
        if first.dtype.kind not in "biuf":
            raise _unsupported(first.dtype)
        return Tensor(np.asarray(batch))
    if isinstance(first, bool):
        return Tensor(np.asarray(batch, dtype=np.bool_))
    if isinstance(first, int):
        values = np.asarray(batch)
        return Tensor(values.astype(np.int64) if values.dtype.kind in "iub" else values.astype(np.float32))
    if isinstance(first, float):
        return Tensor(np.asarray(batch, dtype=np.float64))
    if isinstance(first, (str, bytes)):
        return list(batch)
    if isinstance(first, Mapping):
        fields = {key: default_collate([sample[key] for sample in batch]) for key in first}
        try:
            return type(first)(fields)  # type: ignore[call-arg]
        except TypeError:
            return fields
    if isinstance(first, tuple) and hasattr(first, "_fields"):  # a namedtuple
        return type(first)(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(first, Sequence):
        lengths = [len(sample) for sample in batch]
        if len(set(lengths)) > 1:
            raise ShapeError(f"default_collate: each sample in the batch must have the same number of fields, got "
                             f"lengths {sorted(set(lengths))}")
        columns = [default_collate(list(samples)) for samples in zip(*batch)]
        if isinstance(first, tuple):
            return columns
        try:
            return type(first)(columns)  # type: ignore[call-arg]
        except TypeError:
            return columns
    raise _unsupported(type(first))


def default_convert(data: Any) -> Any:
    """The conversion used without batching (``batch_size=None``): NumPy arrays (numeric) become Tensors, numbers
    stay numbers, dicts/tuples/lists are converted element by element."""
    if isinstance(data, np.ndarray):
        return Tensor(data) if data.dtype.kind in "biuf" else data
    if isinstance(data, Mapping):
        converted = {key: default_convert(value) for key, value in data.items()}
        try:
            return type(data)(converted)  # type: ignore[call-arg]
        except TypeError:
            return converted
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, list):
        return [default_convert(d) for d in data]
    return data
