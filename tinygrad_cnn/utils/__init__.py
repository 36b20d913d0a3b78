"""``tinygrad_cnn.utils``, as ``torch.utils``: ``utils.data`` holds the datasets, samplers and the DataLoader."""

from . import data

__all__ = ["data"]
