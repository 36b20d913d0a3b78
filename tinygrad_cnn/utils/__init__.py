"""``tinygrad_cnn.utils``, as ``torch.utils``: ``utils.data`` holds the datasets, samplers and the DataLoader;
``utils.dlpack`` the DLPack exchange (``from_dlpack``, ``to_dlpack``)."""

from . import data, dlpack

__all__ = ["data", "dlpack"]
