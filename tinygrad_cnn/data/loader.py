"""Datasets held as arrays, mini-batching (``DataLoader``) and the ``normalize`` transform.

An :class:`ArrayDataset` indexes its images and labels with a whole array of indices at once, so a batch is
one fancy-indexing gather (no Python loop over the items of a batch).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from .._checks import as_int
from ..random import generator
from ..tensor_class import Tensor

Transform = Callable[[np.ndarray], np.ndarray]


class ArrayDataset:
    """Images (N, C, H, W) float32 and labels (N,) int64 in memory; ``transform`` maps a batch of images.

    ``dataset[i]`` gives one ``(image, label)``; ``dataset[index_array]`` or ``dataset[slice]`` gives a batch.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, transform: Transform | None = None) -> None:
        images, labels = np.asarray(images), np.asarray(labels)
        if images.ndim < 1 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"{type(self).__name__}: images of shape {images.shape} and labels of shape "
                             f"{labels.shape} do not pair up; need the same first dimension and 1-d labels")
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: Any) -> tuple[np.ndarray, Any]:
        images = self.images[index]
        if self.transform is not None:
            images = self.transform(images)
        return images, self.labels[index]

    @property
    def classes(self) -> list[int]:
        """The distinct labels, sorted."""
        return np.unique(self.labels).tolist()

    def subset(self, count: int) -> ArrayDataset:
        """The first ``count`` items (all when count exceeds the length), same transform."""
        count = as_int(f"{type(self).__name__}.subset", "count", count, low=1)
        return ArrayDataset(self.images[:count], self.labels[:count], self.transform)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(images={self.images.shape}, labels={self.labels.shape})"


def normalize(mean: float | Sequence[float], std: float | Sequence[float]) -> Transform:
    """A transform ``x -> (x - mean) / std`` per channel for batches (N, C, H, W) or single images (C, H, W)."""
    mean_a, std_a = np.asarray(mean, dtype=np.float32).ravel(), np.asarray(std, dtype=np.float32).ravel()
    if mean_a.size == 0 or std_a.size == 0 or np.any(std_a <= 0):
        raise ValueError(f"normalize: need non-empty mean and positive std, got mean={mean!r}, std={std!r}")

    def transform(images: np.ndarray) -> np.ndarray:
        channels = images.shape[-3] if images.ndim >= 3 else 1
        for name, values in (("mean", mean_a), ("std", std_a)):
            if values.size not in (1, channels):
                raise ValueError(f"normalize: {values.size} {name} values for images of shape {images.shape} "
                                 f"with {channels} channels; give one value or one per channel")
        shape = (-1, 1, 1) if images.ndim >= 3 else (-1,)
        return ((images - mean_a.reshape(shape)) / std_a.reshape(shape)).astype(np.float32, copy=False)

    transform.__qualname__ = f"normalize(mean={mean!r}, std={std!r})"
    return transform


def random_shift(max_shift: int, seed: int | None = None) -> Transform:
    """A training-time augmentation: translate each image by its own random offset (dy, dx), both uniform
    integers in [-max_shift, max_shift], filling the uncovered border with zeros.

    ``out[n, c, i, j] = x[n, c, i - dy[n], j - dx[n]]`` (0 outside the image), one gather for the whole batch.
    Offsets come from a generator seeded with ``seed`` (or from the one ``manual_seed`` seeds when None).
    """
    k = as_int("random_shift", "max_shift", max_shift, low=0)
    rng = np.random.default_rng(seed) if seed is not None else None

    def transform(images: np.ndarray) -> np.ndarray:
        if images.ndim not in (3, 4):
            raise ValueError(f"random_shift: expected images (N, C, H, W) or (C, H, W), got shape {images.shape}")
        batch = images[None] if images.ndim == 3 else images
        if k == 0 or batch.shape[0] == 0:
            return images
        if rng is None:
            dy, dx = generator().integers(-k, k + 1, (2, batch.shape[0]))
        else:
            dy, dx = rng.integers(-k, k + 1, (2, batch.shape[0]))
        n, c, h, w = batch.shape
        padded = np.pad(batch, ((0, 0), (0, 0), (k, k), (k, k)))
        rows = np.arange(h)[None, :] + k - dy[:, None]  # (N, H): source row of each output row
        cols = np.arange(w)[None, :] + k - dx[:, None]  # (N, W)
        out = padded[np.arange(n)[:, None, None, None], np.arange(c)[None, :, None, None],
                     rows[:, None, :, None], cols[:, None, None, :]]
        return out[0] if images.ndim == 3 else out

    transform.__qualname__ = f"random_shift({k})"
    return transform


class DataLoader:
    """Mini-batches of a dataset as ``(x, y)`` Tensors, like PyTorch's DataLoader.

    ``shuffle=True`` draws a new permutation every epoch (every ``iter()``) from a generator seeded with
    ``seed`` (or, when seed is None, from the one ``tinygrad_cnn.manual_seed`` seeds), so a run is reproducible.
    ``drop_last`` drops the final short batch. ``len()`` is the number of batches per epoch.
    """

    def __init__(self, dataset: Any, batch_size: int = 1, shuffle: bool = False, seed: int | None = None,
                 drop_last: bool = False) -> None:
        batch_size = as_int("DataLoader", "batch_size", batch_size, low=1)
        if len(dataset) == 0:
            raise ValueError("DataLoader: the dataset is empty")
        self.dataset, self.batch_size, self.shuffle, self.drop_last = dataset, batch_size, shuffle, drop_last
        self.seed = seed
        self._rng = np.random.default_rng(seed) if seed is not None else None

    def __len__(self) -> int:
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def _order(self) -> np.ndarray:
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        if self._rng is None:
            return generator().permutation(n)
        return self._rng.permutation(n)

    def _batch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if isinstance(self.dataset, ArrayDataset):
            return self.dataset[indices]
        items = [self.dataset[int(i)] for i in indices]  # a generic dataset yields one item at a time
        return np.stack([np.asarray(x) for x, _ in items]), np.asarray([y for _, y in items])

    def __iter__(self) -> Iterator[tuple[Tensor, Tensor]]:
        order = self._order()
        stop = len(self) * self.batch_size
        for start in range(0, min(stop, len(order)), self.batch_size):
            x, y = self._batch(order[start:start + self.batch_size])
            yield Tensor(np.asarray(x)), Tensor(np.asarray(y))
