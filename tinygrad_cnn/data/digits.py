"""scikit-learn's bundled 8x8 handwritten digits (offline), resized to MNIST's 28x28 layout.

Resizing is bilinear with pixel-centre alignment (like ``align_corners=False``): output pixel ``i`` samples
the source at ``s = (i + 1/2) * 8/28 - 1/2`` clamped to ``[0, 7]``, mixing its two neighbours with weights
``1 - (s - floor(s))`` and ``s - floor(s)``. Being separable, the whole set resizes in one product
``R @ X @ R^T`` with ``R`` the (28, 8) interpolation matrix. Pixel values 0..16 are scaled to [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np

from ..tensor_class import Tensor
from .vision import VisionArrayDataset

SIZE = 28
TEST_FRACTION = 0.2
SPLIT_SEED = 0


def interpolation_matrix(n_in: int, n_out: int) -> np.ndarray:
    """The (n_out, n_in) matrix of bilinear weights, each row two neighbours summing to one."""
    s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(s).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    w = s - lo
    cols = np.arange(n_in)
    return (1 - w)[:, None] * (cols == lo[:, None]) + w[:, None] * (cols == hi[:, None])


def resize(images: np.ndarray, size: int = SIZE) -> np.ndarray:
    """Bilinear resize of (N, h, w) images to (N, size, size), vectorised as ``R_h @ X @ R_w^T``."""
    r_h = interpolation_matrix(images.shape[-2], size)
    r_w = interpolation_matrix(images.shape[-1], size)
    return np.einsum("ij,njk,lk->nil", r_h, images, r_w, optimize=True)


@lru_cache(maxsize=1)
def _load() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError:
        raise ImportError("Digits needs scikit-learn: pip install 'tinygrad_cnn[datasets]' "
                          "(or pip install scikit-learn)") from None
    bunch = load_digits()
    images = (resize(bunch.images.astype(np.float64)) / 16.0).astype(np.float32)[:, None]
    labels = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED)
    for array in (x_train, x_test, y_train, y_test):
        array.flags.writeable = False  # shared between instances through the cache
    return x_train, y_train, x_test, y_test


class Digits(VisionArrayDataset):
    """The 1797 scikit-learn digits as float32 (N, 1, 28, 28) images in [0, 1] and int64 labels.

    A fixed stratified split (80/20, seed 0): 1437 training and 360 test images, every class in proportion.
    Shaped like torchvision's datasets: ``dataset[i]`` is ``(transform(image Tensor (1, 28, 28)),
    target_transform(int label))``; ``data`` and ``targets`` are the images and labels as Tensors.
    """

    def __init__(self, train: bool = True, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None) -> None:
        super().__init__(transform, target_transform)
        x_train, y_train, x_test, y_test = _load()
        self.train = train
        self.images, self.labels = (x_train, y_train) if train else (x_test, y_test)

    @property
    def data(self) -> Tensor:
        """The images as stored: float32 (N, 1, 28, 28) in [0, 1]."""
        return Tensor(self.images)
