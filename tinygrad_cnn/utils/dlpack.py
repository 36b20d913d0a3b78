"""``tinygrad_cnn.utils.dlpack``, as ``torch.utils.dlpack``: ``from_dlpack`` and the legacy ``to_dlpack`` capsule.

``tg.from_dlpack(obj)`` and ``np.from_dlpack(t)`` / ``torch.from_dlpack(t)`` are the usual spellings; a capsule
from ``to_dlpack`` is for consumers that still take capsules rather than objects, and is consumed once.
"""

from __future__ import annotations

from typing import Any

from ..factories import from_dlpack
from ..tensor_class import Tensor

__all__ = ["from_dlpack", "to_dlpack"]


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule sharing ``tensor``'s memory (its data, detached from the graph), as PyTorch's
    ``torch.utils.dlpack.to_dlpack``: pass it once to a consumer's ``from_dlpack``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack: expected a Tensor, got {type(tensor).__name__}; wrap arrays with tg.from_numpy")
    return tensor.__dlpack__()
