"""Elementwise maths, comparisons and logical ops.

Tensor methods with PyTorch's names (and NumPy's spellings where they differ), mixed into Tensor.
"""

from __future__ import annotations


class PointwiseMethods:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()
