"""Data: the IDX reader, MNIST (local folder or checked download), scikit-learn digits, and batching."""

from .digits import Digits
from .idx import IDXError, read_idx, write_idx
from .loader import ArrayDataset, DataLoader, normalize, random_shift
from .mnist import MNIST, DownloadError, MNISTNotFoundError, download_mnist

__all__ = [
    "MNIST", "ArrayDataset", "DataLoader", "Digits", "DownloadError", "IDXError", "MNISTNotFoundError",
    "download_mnist", "normalize", "random_shift", "read_idx", "write_idx",
]
