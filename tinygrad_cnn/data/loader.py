"""``DataLoader`` (shaped like ``torch.utils.data.DataLoader``), ``ArrayDataset`` (images and labels held as
arrays) and the batch transforms ``normalize`` and ``random_shift``.

A dataset with ``get_batch(indices)`` (``ArrayDataset``, ``MNIST``, ``Digits``, ``TensorDataset``, a ``Subset``
or ``ConcatDataset`` of them) is batched with one fancy-indexing gather per batch, not a Python loop over its
items; any other map-style dataset is read item by item and collated by ``collate_fn`` (``default_collate``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._checks import as_bool, as_int, as_real
from ..tensor_class import Tensor
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler, as_generator
from .transforms import Normalize, Transform

ImageTransform = Callable[[Any], Any]

__all__ = ["ArrayDataset", "DataLoader", "get_worker_info", "normalize", "random_shift"]


class ArrayDataset(Dataset):
    """Images (N, C, H, W) and labels (N,) held as NumPy arrays; ``transform`` maps images.

    ``dataset[i]`` gives one ``(image, label)`` as arrays; ``dataset[index_array]`` or ``dataset[slice]`` a batch.
    A transform of :mod:`tinygrad_cnn.data.transforms` is applied per image (vectorised over a batch); any other
    callable is called on the whole (N, C, H, W) batch at once (so it must accept one).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: ImageTransform | None = None) -> None:
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim < 1 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: images of shape {images.shape} and labels of shape "
                             f"{labels.shape} do not pair up; need the same first dimension and 1-d labels")
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def _transform_images(self, images: np.ndarray, batched: bool) -> Any:
        if self.transform is None:
            return images
        if isinstance(self.transform, Transform):
            return self.transform.batch(images) if batched else self.transform(images)
        return self.transform(images)

    def __getitem__(self, index: Any) -> tuple[Any, Any]:
        images = self.images[index]
        batched = np.ndim(images) == np.ndim(self.images)
        return self._transform_images(images, batched), self.labels[index]

    def get_batch(self, indices: Any) -> list:
        """The collated batch ``[images, labels]`` of ``indices``: one gather, the transform on the whole batch."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        images = self._transform_images(self.images[idx], batched=True)
        return [images if isinstance(images, Tensor) else Tensor(np.asarray(images)), Tensor(self.labels[idx])]

    @property
    def classes(self) -> list:
        """The distinct labels, sorted."""
        return np.unique(self.labels).tolist()

    def _first(self, count: int) -> None:
        self.images, self.labels = self.images[:count], self.labels[:count]

    def subset(self, count: int) -> Any:
        """The first ``count`` items (all when count exceeds the length): a copy of the same kind, same transform."""
        count = as_int(f"{type(self).__name__}.subset", "count", count, low=1)
        out = copy.copy(self)
        out._first(count)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(images={self.images.shape}, labels={self.labels.shape})"


class _Normalize(Normalize):
    """``normalize``'s transform: Normalize that also takes integer images and always gives float32."""

    def _run(self, x: np.ndarray, batched: bool) -> np.ndarray:
        x = x.astype(np.float32, copy=False) if x.dtype.kind != "f" else x
        return super()._run(x, batched).astype(np.float32, copy=False)


def normalize(mean: float | Sequence[float], std: float | Sequence[float]) -> Transform:
    """A transform ``x -> (x - mean) / std`` per channel for batches (N, C, H, W) or single images (C, H, W),
    float32 out; ``std`` must be positive. (``transforms.Normalize`` is the torchvision-shaped spelling.)"""
    mean_a, std_a = np.asarray(mean, dtype=np.float32).ravel(), np.asarray(std, dtype=np.float32).ravel()
    if mean_a.size == 0 or std_a.size == 0 or np.any(std_a <= 0):
        raise ValueError(f"normalize: need non-empty mean and positive std, got mean={mean!r}, std={std!r}")
    return _Normalize(mean, std)


class RandomShift(Transform):
    """``random_shift``'s transform: translate each image by its own uniform integer offset, zeros shifted in."""

    def __init__(self, max_shift: int, seed: int | None = None) -> None:
        self.max_shift = as_int("random_shift", "max_shift", max_shift, low=0)
        self.rng = np.random.default_rng(seed) if seed is not None else None

    def _run(self, x: np.ndarray, batched: bool) -> np.ndarray:
        if x.ndim not in (3, 4) or (batched and x.ndim != 4):
            raise ValueError(f"random_shift: expected images (N, C, H, W) or (C, H, W), got shape {x.shape}")
        return super()._run(x, batched)

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        k = self.max_shift
        if k == 0 or batch.shape[0] == 0:
            return batch
        rng = self.rng if self.rng is not None else as_generator("random_shift", None)
        dy, dx = rng.integers(-k, k + 1, (2, batch.shape[0]))
        n, c, h, w = batch.shape
        padded = np.pad(batch, ((0, 0), (0, 0), (k, k), (k, k)))
        rows = np.arange(h)[None, :] + k - dy[:, None]  # (N, H): source row of each output row
        cols = np.arange(w)[None, :] + k - dx[:, None]  # (N, W)
        return padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                      rows[:, None, :, None], cols[:, None, None, :]]

    def __repr__(self) -> str:
        return f"random_shift({self.max_shift})"


def random_shift(max_shift: int, seed: int | None = None) -> Transform:
    """A training-time augmentation: translate each image by its own random offset (dy, dx), both uniform
    integers in [-max_shift, max_shift], filling the uncovered border with zeros.

    ``out[n, c, i, j] = x[n, c, i - dy[n], j - dx[n]]`` (0 outside the image), one gather for the whole batch.
    Offsets come from a generator seeded with ``seed`` (or from the one ``manual_seed`` seeds when None).
    """
    return RandomShift(max_shift, seed)


def get_worker_info() -> None:
    """None: batches are always loaded in the main process (there are no worker processes)."""
    return None


class DataLoader:
    """Batches of a dataset, like PyTorch's DataLoader: ``for x, y in DataLoader(dataset, batch_size=64,
    shuffle=True)``.

    The order comes from ``sampler`` (default: sequential, or ``RandomSampler`` with ``shuffle=True``, a new
    permutation every epoch drawn from ``generator`` or the one ``manual_seed`` seeds); ``batch_sampler`` gives
    whole batches instead; ``batch_size=None`` turns batching off. ``collate_fn`` (default ``default_collate``)
    joins the samples. ``len(loader)`` is the number of batches per epoch.

    ``num_workers``, ``pin_memory``, ``timeout``, ``prefetch_factor``, ``persistent_workers`` and friends are
    accepted (and checked as PyTorch checks them) but change nothing: there is no GPU and no worker process,
    every batch is loaded in the main process. ``seed=`` (this library's) gives the loader its own generator.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Any = None, batch_sampler: BatchSampler | Any = None, num_workers: int = 0,
                 collate_fn: Callable[[list], Any] | None = None, pin_memory: bool = False, drop_last: bool = False,
                 timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False, pin_memory_device: str = "", in_order: bool = True,
                 seed: int | None = None) -> None:
        op = "DataLoader"
        self.num_workers = as_int(op, "num_workers", num_workers, low=0)
        as_real(op, "timeout", timeout, low=0)
        if self.num_workers == 0:
            if prefetch_factor is not None:
                raise ValueError("DataLoader: prefetch_factor is for multi-process loading (num_workers > 0); "
                                 "leave it None with num_workers=0")
            if as_bool(op, "persistent_workers", persistent_workers):
                raise ValueError("DataLoader: persistent_workers=True needs num_workers > 0")
            if multiprocessing_context is not None:
                raise ValueError("DataLoader: multiprocessing_context needs num_workers > 0")
        drop_last = as_bool(op, "drop_last", drop_last)
        self.pin_memory = as_bool(op, "pin_memory", pin_memory)
        if shuffle is not None:
            shuffle = as_bool(op, "shuffle", shuffle)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"DataLoader: collate_fn must be callable, got {type(collate_fn).__name__}")
        if seed is not None:
            if generator is not None:
                raise ValueError("DataLoader: pass seed= or generator=, not both")
            generator = np.random.default_rng(as_int(op, "seed", seed, low=0))
        as_generator(op, generator)
        self.dataset, self.generator, self.seed = dataset, generator, seed
        self.timeout, self.worker_init_fn, self.prefetch_factor = timeout, worker_init_fn, prefetch_factor
        self.persistent_workers, self.pin_memory_device, self.in_order = persistent_workers, pin_memory_device, in_order
        self.multiprocessing_context = multiprocessing_context
        self._iterable = isinstance(dataset, IterableDataset)
        if self._iterable:
            for name, value in (("shuffle", shuffle or None), ("sampler", sampler), ("batch_sampler", batch_sampler)):
                if value is not None:
                    raise ValueError(f"DataLoader with an IterableDataset: expected no {name} option, got "
                                     f"{name}={value!r}; an iterable dataset decides its own order")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler is mutually exclusive with batch_size, shuffle, sampler "
                                 "and drop_last (the batch sampler decides all of them)")
            batch_size = None
        elif batch_size is None:
            if drop_last:
                raise ValueError("DataLoader: batch_size=None turns batching off, so drop_last=True means nothing")
        else:
            batch_size = as_int(op, "batch_size", batch_size, low=1)
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler is mutually exclusive with shuffle (the sampler decides the order)")
        if sampler is None and not self._iterable:
            sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None and not self._iterable:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)
        self.batch_size, self.drop_last = batch_size, drop_last
        self.sampler, self.batch_sampler = sampler, batch_sampler
        self._default_collate = collate_fn is None or collate_fn is default_collate
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if batch_size is not None or batch_sampler is not None else default_convert)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    def __len__(self) -> int:
        if self._iterable:
            n = len(self.dataset)  # TypeError for a stream without a length, as in PyTorch
            if self.batch_size is None:
                return n
            return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
        return len(self.batch_sampler if self._auto_collation else self.sampler)

    def _fetch(self, indices: Any) -> Any:
        get_batch = getattr(self.dataset, "get_batch", None)
        if self._default_collate and callable(get_batch):
            return get_batch(indices)
        indices = indices.tolist() if isinstance(indices, np.ndarray) else list(indices)
        getitems = getattr(self.dataset, "__getitems__", None)
        samples = getitems(indices) if callable(getitems) else [self.dataset[i] for i in indices]
        return self.collate_fn(samples)

    def _iterate_stream(self) -> Iterator[Any]:
        if self.batch_size is None:
            for sample in self.dataset:
                yield self.collate_fn(sample)
            return
        batch: list = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield self.collate_fn(batch)
                batch = []
        if batch and not self.drop_last:
            yield self.collate_fn(batch)

    def __iter__(self) -> Iterator[Any]:
        if self._iterable:
            yield from self._iterate_stream()
        elif not self._auto_collation:
            for index in self.sampler:
                yield self.collate_fn(self.dataset[index])
        else:
            batches = self.batch_sampler._index_batches() if type(self.batch_sampler) is BatchSampler \
                else iter(self.batch_sampler)
            for indices in batches:
                yield self._fetch(indices)

    def __repr__(self) -> str:
        return f"DataLoader(dataset={self.dataset!r}, batch_size={self.batch_size}, batches={len(self)})"
