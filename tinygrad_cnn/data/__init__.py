"""Data: datasets and batching shaped like ``torch.utils.data`` (also reachable as ``tinygrad_cnn.utils.data``),
torchvision-shaped ``datasets`` (MNIST from a local folder or a checked download, scikit-learn's digits) and
``transforms``, and the IDX reader."""

from . import datasets, transforms
from .collate import default_collate, default_convert
from .dataset import ChainDataset, ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset, random_split
from .digits import Digits
from .idx import IDXError, read_idx, write_idx
from .loader import ArrayDataset, DataLoader, get_worker_info, normalize, random_shift
from .mnist import MNIST, DownloadError, MNISTNotFoundError, download_mnist
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "MNIST", "ArrayDataset", "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "Digits",
    "DownloadError", "IDXError", "IterableDataset", "MNISTNotFoundError", "RandomSampler", "Sampler",
    "SequentialSampler", "Subset", "SubsetRandomSampler", "TensorDataset", "WeightedRandomSampler", "datasets",
    "default_collate", "default_convert", "download_mnist", "get_worker_info", "normalize", "random_shift",
    "random_split", "read_idx", "transforms", "write_idx",
]
