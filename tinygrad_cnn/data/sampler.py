"""Samplers shaped like ``torch.utils.data``'s: which indices a DataLoader visits, and in which batches.

Every random draw comes from ``generator`` (a ``numpy.random.Generator``) when one is given, else from the one
``tinygrad_cnn.manual_seed`` seeds (looked up at each epoch), so runs are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import numpy as np

from .._checks import as_bool, as_int
from ..random import generator as default_generator

T_co = TypeVar("T_co", covariant=True)

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler", "SubsetRandomSampler",
           "WeightedRandomSampler", "as_generator"]


def as_generator(op: str, generator: Any) -> np.random.Generator:
    """``generator`` itself (a ``numpy.random.Generator``), or the library's seeded generator for None."""
    if generator is None:
        return default_generator()
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{op}: generator must be a numpy.random.Generator (e.g. np.random.default_rng(0)) or None, "
                    f"got {type(generator).__name__}")


class Sampler(Generic[T_co]):
    """Base class: ``__iter__`` yields indices (or, for a batch sampler, lists of indices); ``__len__`` counts them."""

    def __init__(self, data_source: Sized | None = None) -> None:
        pass  # PyTorch accepts and ignores data_source here too

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__}: subclasses of Sampler must implement __iter__")


class SequentialSampler(Sampler[int]):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def _index_array(self) -> np.ndarray:
        return np.arange(len(self.data_source), dtype=np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """A random permutation of the indices each epoch; with ``num_samples > n`` whole permutations follow one
    another (the last cut short). ``replacement=True``: ``num_samples`` independent uniform draws instead."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = as_bool("RandomSampler", "replacement", replacement)
        self._num_samples = None if num_samples is None else as_int("RandomSampler", "num_samples", num_samples,
                                                                     low=1)
        as_generator("RandomSampler", generator)
        self.generator = generator
        if self.num_samples < 1:
            raise ValueError(f"RandomSampler: num_samples must be a positive int, got {self.num_samples} (the "
                             "dataset is empty)")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def _index_array(self) -> np.ndarray:
        rng, n, k = as_generator("RandomSampler", self.generator), len(self.data_source), self.num_samples
        if self.replacement:
            return rng.integers(0, n, k, dtype=np.int64)
        if k == n:
            return rng.permutation(n)
        whole = [rng.permutation(n) for _ in range(-(-k // n))]
        return np.concatenate(whole)[:k]

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given ``indices`` in a new random order each epoch."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        as_generator("SubsetRandomSampler", generator)
        self.indices, self.generator = indices, generator

    def _index_array(self) -> np.ndarray:
        indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
        return indices[as_generator("SubsetRandomSampler", self.generator).permutation(len(indices))]

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices in ``[0, len(weights))`` drawn with probabilities ``weights / sum(weights)``
    (independently with ``replacement=True``; without, each index at most once)."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        op = "WeightedRandomSampler"
        self.num_samples = as_int(op, "num_samples", num_samples, low=1)
        self.replacement = as_bool(op, "replacement", replacement)
        w = np.asarray(weights, dtype=np.float64)  # a list, an array or a Tensor
        if w.ndim != 1:
            raise ValueError(f"{op}: weights must be a 1-d sequence, got shape {w.shape}")
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError(f"{op}: weights must be finite, non-negative and not all zero, got {w.tolist()[:8]}")
        if not self.replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"{op}: cannot draw {self.num_samples} samples without replacement from "
                             f"{np.count_nonzero(w)} non-zero weights; lower num_samples or use replacement=True")
        as_generator(op, generator)
        self.weights, self.generator = w, generator

    def _index_array(self) -> np.ndarray:
        rng = as_generator("WeightedRandomSampler", self.generator)
        return rng.choice(len(self.weights), self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum()).astype(np.int64)

    def __iter__(self) -> Iterator[int]:
        return iter(self._index_array().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; ``drop_last`` drops a short final batch."""

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool) -> None:
        self.sampler = sampler
        self.batch_size = as_int("BatchSampler", "batch_size", batch_size, low=1)
        self.drop_last = as_bool("BatchSampler", "drop_last", drop_last)

    def _index_batches(self) -> Iterator[Any]:
        """The batches as int64 arrays, each a slice of the epoch's index array, when the sampler is one of this
        module's (no Python loop over indices); lists otherwise."""
        if type(self.sampler) not in _ARRAY_SAMPLERS:
            yield from self._grouped()
            return
        order = self.sampler._index_array()  # type: ignore[union-attr]
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        for start in range(0, stop, self.batch_size):
            yield order[start:start + self.batch_size]

    def _grouped(self) -> Iterator[list]:
        batch: list = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self._index_batches():
            yield batch if isinstance(batch, list) else batch.tolist()

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


_ARRAY_SAMPLERS = (SequentialSampler, RandomSampler, SubsetRandomSampler, WeightedRandomSampler)
