"""Map-style and iterable datasets shaped like ``torch.utils.data``'s: Dataset, IterableDataset, ChainDataset,
TensorDataset, Subset, ConcatDataset and random_split.

A dataset that can produce a whole batch in one step defines ``get_batch(indices)`` (an int64 index array in,
the collated batch out, exactly what ``default_collate([dataset[i] for i in indices])`` would give); the
DataLoader then batches it with one fancy-indexing gather instead of a Python loop over the items.
``TensorDataset``, and ``Subset``/``ConcatDataset`` of such datasets, do (so do ``ArrayDataset``, ``MNIST``,
``Digits``).
"""

from __future__ import annotations

import bisect
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from .._checks import as_int, is_int
from ..errors import ShapeError
from ..tensor_class import Tensor
from .sampler import as_generator

T_co = TypeVar("T_co", covariant=True)

__all__ = ["ChainDataset", "ConcatDataset", "Dataset", "IterableDataset", "Subset", "TensorDataset",
           "random_split"]


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` (one sample) and usually ``__len__``.

    ``a + b`` is ``ConcatDataset([a, b])``.
    """

    def __getitem__(self, index: Any) -> T_co:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Dataset must implement __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream: subclasses define ``__iter__``. The DataLoader batches what it yields, in order
    (no sampler, no shuffle). ``a + b`` is ``ChainDataset([a, b])``."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of IterableDataset must implement __iter__")

    def __add__(self, other: Dataset) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other; ``len`` is the sum of their lengths (when they have one)."""

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = datasets

    def __iter__(self) -> Iterator:
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise TypeError(f"ChainDataset: only IterableDatasets can be chained, got {type(dataset).__name__}")
            yield from dataset

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)  # type: ignore[arg-type]


def _as_index_array(indices: Any) -> np.ndarray:
    return np.asarray(indices, dtype=np.int64).reshape(-1)


class TensorDataset(Dataset):
    """Samples are rows: ``dataset[i] = tuple(t[i] for t in tensors)``; every tensor has the same first dimension.

    NumPy arrays are accepted and held as Tensors. A batch is one gather per tensor (``get_batch``).
    """

    def __init__(self, *tensors: Any) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor, e.g. TensorDataset(images, labels)")
        held = []
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                if not isinstance(t, (np.ndarray, np.generic)):
                    raise TypeError(f"TensorDataset: argument {k} is a {type(t).__name__}; pass Tensors or NumPy "
                                    "arrays")
                t = Tensor(t)
            if t.ndim == 0:
                raise ShapeError(f"TensorDataset: argument {k} is a 0-d tensor; each tensor needs a first "
                                 "dimension that indexes the samples")
            held.append(t)
        sizes = [t.shape[0] for t in held]
        if len(set(sizes)) > 1:
            shapes = ", ".join(str(t.shape) for t in held)
            raise ShapeError(f"TensorDataset: the tensors' first dimensions differ ({shapes}); each tensor needs one "
                             "row per sample, the same number of rows")
        self.tensors: tuple[Tensor, ...] = tuple(held)

    def __getitem__(self, index: Any) -> tuple:
        return tuple(t[index] if t.requires_grad else Tensor(t.data[index]) for t in self.tensors)

    def get_batch(self, indices: Any) -> list:
        """The collated batch of ``indices``: one gather per tensor."""
        idx = _as_index_array(indices)
        return [t[idx] if t.requires_grad else Tensor(t.data[idx]) for t in self.tensors]

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i] = dataset[indices[i]]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]) -> None:
        self.dataset, self.indices = dataset, indices

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __getitems__(self, indices: list[int]) -> list:
        inner = [self.indices[i] for i in indices]
        getitems = getattr(self.dataset, "__getitems__", None)
        return getitems(inner) if callable(getitems) else [self.dataset[i] for i in inner]

    @property
    def get_batch(self) -> Any:
        """``dataset.get_batch`` of the mapped indices, when the underlying dataset has it (else None)."""
        inner = getattr(self.dataset, "get_batch", None)
        if not callable(inner):
            return None
        positions = _as_index_array(self.indices)
        return lambda indices: inner(positions[_as_index_array(indices)])

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Datasets end to end: indices ``0 .. len(a) - 1`` are ``a``'s, the next ``len(b)`` are ``b``'s, ...

    ``cumulative_sizes[k]`` is the total length of the first k + 1 datasets. Negative indices count from the end.
    """

    def __init__(self, datasets: Iterable[Dataset]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets is empty; give at least one dataset")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError("ConcatDataset: an IterableDataset has no indices to concatenate; use ChainDataset")
        self.cumulative_sizes: list[int] = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: Any) -> Any:
        if not is_int(index):
            raise TypeError(f"ConcatDataset: index must be an int, got {index!r} ({type(index).__name__})")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        index = int(index) % n
        which = bisect.bisect_right(self.cumulative_sizes, index)
        start = self.cumulative_sizes[which - 1] if which else 0
        return self.datasets[which][index - start]

    @property
    def get_batch(self) -> Any:
        """When every part has ``get_batch``: one gather per part touched, the pieces joined back in the order of
        the indices (for parts whose batches are lists of Tensors); None otherwise."""
        parts = [getattr(d, "get_batch", None) for d in self.datasets]
        if not all(callable(p) for p in parts):
            return None
        ends = np.asarray(self.cumulative_sizes, dtype=np.int64)
        starts = np.concatenate([[0], ends[:-1]])

        def batch(indices: Any) -> list:
            idx = _as_index_array(indices)
            which = np.searchsorted(ends, idx, side="right")
            touched = np.unique(which)
            pieces = [parts[k](idx[which == k] - starts[k]) for k in touched]
            fields = {len(p) if isinstance(p, list) else -1 for p in pieces}
            if len(fields) != 1 or -1 in fields or not all(isinstance(f, Tensor) for p in pieces for f in p):
                raise TypeError("ConcatDataset: the parts' get_batch must return lists of Tensors to be joined")
            order = np.concatenate([np.flatnonzero(which == k) for k in touched])
            inverse = np.empty_like(order)
            inverse[order] = np.arange(len(order))
            return [Tensor(np.concatenate([p[f].data for p in pieces])[inverse]) for f in range(fields.pop())]

        return batch


def random_split(dataset: Dataset, lengths: Sequence[int | float], generator: Any = None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random Subsets of the given ``lengths``.

    ``lengths`` are counts summing to ``len(dataset)``, or fractions summing to 1: each part then gets
    ``floor(f * n)`` samples and the remainder is handed out one by one to the parts in order (as PyTorch does).
    The permutation comes from ``generator`` (a ``numpy.random.Generator``) or the one ``manual_seed`` seeds.
    """
    n = len(dataset)  # type: ignore[arg-type]
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty; give the size (or fraction) of each part")
    if all(is_int(x) for x in lengths):
        counts = [as_int("random_split", "lengths", x, low=0) for x in lengths]
    else:
        fractions = [float(x) for x in lengths]
        if any(not (0.0 <= f <= 1.0) for f in fractions) or not math.isclose(sum(fractions), 1.0) \
                or sum(fractions) > 1.0 + 1e-12:
            raise ValueError(f"random_split: fractions {lengths} must each be in [0, 1] and sum to 1 (or pass "
                             f"integer lengths summing to {n})")
        counts = [math.floor(n * f) for f in fractions]
        for k in range(n - sum(counts)):
            counts[k % len(counts)] += 1
        for k, c in enumerate(counts):
            if c == 0:
                warnings.warn(f"random_split: part {k} has length 0", UserWarning, stacklevel=2)
    if sum(counts) != n:
        raise ValueError(f"random_split: lengths {lengths} sum to {sum(counts)}, but the dataset has {n} samples")
    order = as_generator("random_split", generator).permutation(n).tolist()
    parts, start = [], 0
    for c in counts:
        parts.append(Subset(dataset, order[start:start + c]))
        start += c
    return parts
