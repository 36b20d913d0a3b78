"""The base of the torchvision-shaped image datasets (``MNIST``, ``Digits``): images held as arrays,
``dataset[i] = (transform(image), target_transform(label))`` as torchvision's, batches in one gather."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .._checks import is_int
from ..tensor_class import Tensor
from .collate import default_collate
from .loader import ArrayDataset
from .transforms import apply_batch

__all__ = ["VisionArrayDataset"]


class VisionArrayDataset(ArrayDataset):
    """An image-classification dataset shaped like torchvision's.

    ``dataset[i]`` is ``(image, label)``: the image a float32 Tensor (C, H, W) in [0, 1] passed through
    ``transform`` (so ``ToTensor()`` is a no-op on it and ``Normalize`` applies directly), the label a Python int
    passed through ``target_transform``. The DataLoader's batches come from :meth:`get_batch`: one gather,
    transforms of :mod:`~tinygrad_cnn.data.transforms` vectorised over the batch (random ones drawing per
    image), any other callable called once per sample, as torchvision would.
    """

    def __init__(self, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        for name, fn in (("transform", transform), ("target_transform", target_transform)):
            if fn is not None and not callable(fn):
                raise TypeError(f"{type(self).__name__}: {name} must be callable or None, got {type(fn).__name__}")
        self.transform, self.target_transform = transform, target_transform

    def _images_at(self, index: Any) -> np.ndarray:
        """Fresh float32 images (C, H, W) at an int index, or (N, C, H, W) at an index array."""
        return np.array(self.images[index], dtype=np.float32)

    @property
    def targets(self) -> Tensor:
        """The labels as an int64 Tensor (N,), as torchvision's ``targets``."""
        return Tensor(self.labels)

    @targets.setter
    def targets(self, value: Any) -> None:
        self.labels = np.asarray(value.data if isinstance(value, Tensor) else value).astype(np.int64).reshape(-1)

    def __getitem__(self, index: Any) -> tuple[Any, Any]:
        if not is_int(index):
            raise TypeError(f"{type(self).__name__}: index must be an int (one sample), got {index!r}; for batches "
                            "use a DataLoader or dataset.get_batch(indices)")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} samples")
        image: Any = Tensor(self._images_at(int(index)))
        if self.transform is not None:
            image = self.transform(image)
        target: Any = int(self.labels[index])
        if self.target_transform is not None:
            target = self.target_transform(target)
        return image, target

    def get_batch(self, indices: Any) -> list:
        """The collated batch ``[images, targets]`` of ``indices``, what ``default_collate`` of the samples gives."""
        idx = np.asarray(indices, dtype=np.int64).reshape(-1)
        images: Any = Tensor(self._images_at(idx))
        if self.transform is not None:
            images = apply_batch(self.transform, images)
            images = images if isinstance(images, Tensor) else Tensor(np.asarray(images))
        labels = self.labels[idx]
        if self.target_transform is None:
            return [images, Tensor(labels)]
        return [images, default_collate([self.target_transform(int(label)) for label in labels])]

    def __repr__(self) -> str:
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Split: {'Train' if getattr(self, 'train', True) else 'Test'}"]
        if getattr(self, "root", None) is not None:
            lines.append(f"    Root location: {self.root}")
        if self.transform is not None:
            lines.append(f"    Transform: {self.transform!r}")
        if self.target_transform is not None:
            lines.append(f"    Target transform: {self.target_transform!r}")
        return "\n".join(lines)
