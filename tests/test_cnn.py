"""Bad input to the CNN functional API, one call per fault, each error matched on the words that name the fix.

The property tests of the CNN primitives live in test_conv.py (conv2d, its adjoints and the fused bias),
test_pool.py (max and average pooling) and test_softmax_losses.py (log-softmax and the losses).
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 2, 3, 3)), ValueError, r"3 channels but weight .* expects 2"),
    (lambda: F.conv2d(tg.randn(1, 1, 3, 3), tg.randn(1, 1, 5, 5)), ValueError, r"kernel spans 5 .* only 3"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), stride=0), ValueError, r"stride must be >= 1"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), dilation=-1), ValueError, "dilation"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 1, 3, 3), groups=3), ValueError, r"groups=3 must divide"),
    (lambda: F.conv2d(tg.randn(1, 5, 5), tg.randn(1, 1, 3, 3)), ValueError, r"4-D input .*unsqueeze"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3, dtype=np.float64)), TypeError, "float32"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 2, padding=2), ValueError, "at most half the kernel"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 3])), ValueError, r"in \[0, 2\]"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0.0, 1.0])), TypeError, "must be integers"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1, 2])), ValueError, r"shape \(2,\)"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1]), reduction="avg"), ValueError, "reduction"),
    (lambda: F.dropout(tg.randn(3), p=1.5), ValueError, r"p must be in \[0, 1\]"),
    (lambda: F.linear(tg.randn(2, 5), tg.randn(3, 4)), ValueError, r"5 features but weight"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
