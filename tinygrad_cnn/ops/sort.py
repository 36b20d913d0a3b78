"""Selection by value along one axis: the index kernels (stable sort, first/last extreme, running extreme) that
sort, argsort, topk, kthvalue, median, max(dim)/min(dim) and cummax/cummin select with, and their result type.

Every value-selecting op is ``indexing.Gather(x, indices)`` with integer indices computed here on the array: its
gradient goes to exactly the selected elements (``ScatterAdd``), whatever the tie rule that chose them; the indices
are returned alongside (not differentiable).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np


class ValuesIndices(NamedTuple):
    """(values, indices), as PyTorch's ``torch.return_types`` of sort, topk, max(dim), median(dim)...: unpack it, or
    read ``.values`` and ``.indices``."""

    values: Any
    indices: Any


# ---- index kernels (NumPy only) --------------------------------------------------------------------------------
def sort_indices(a: np.ndarray, axis: int, descending: bool = False) -> np.ndarray:
    """Indices that sort ``a`` along ``axis``, stable: equal elements keep their order (in both directions); NaN
    counts as the largest value, as in PyTorch."""
    if not descending:
        return np.argsort(a, axis=axis, kind="stable")
    n = a.shape[axis]
    flipped = np.argsort(np.flip(a, axis), axis=axis, kind="stable")  # ties: later elements first ...
    return np.flip(n - 1 - flipped, axis)  # ... reversed: largest first, ties in their original order


def extreme_indices(a: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """Index of the first maximum (or minimum) along ``axis``, the axis kept with size 1 (NaN counts as extreme)."""
    index = np.argmax(a, axis=axis) if largest else np.argmin(a, axis=axis)
    return np.expand_dims(index, axis)


def running_extreme_indices(a: np.ndarray, axis: int, largest: bool) -> np.ndarray:
    """Index of the running maximum (or minimum) along ``axis``: the LAST position so far holding it (PyTorch's
    cummax/cummin rule on ties); a NaN, once met, stays the running extreme."""
    if a.shape[axis] == 0:
        return np.zeros(a.shape, np.int64)
    running = (np.maximum if largest else np.minimum).accumulate(a, axis=axis)  # NaN propagates, as in PyTorch
    hit = (a == running) | np.isnan(a) if a.dtype.kind == "f" else a == running
    shape = [1] * a.ndim
    shape[axis] = a.shape[axis]
    positions = np.where(hit, np.arange(a.shape[axis], dtype=np.int64).reshape(shape), 0)
    return np.maximum.accumulate(positions, axis=axis)
