"""The op table of the built-in ops: one ``OpInfo`` entry per public op (and per primitive kernel), from which
tests/test_op_table.py generates the gradient, reference, float32, in-place and bad-input tests and the census,
and tests/test_fuzz.py its elementwise and reduction fuzz specs."""

from __future__ import annotations

from . import (
    activations,
    batchnorm,
    conv,
    conv_extra,
    elementwise,
    indexing,
    layers,
    linalg,
    losses,
    movement,
    normalization,
    pointwise,
    pooling,
    reduce,
    torch_api,
)

TABLE = [*elementwise.ENTRIES, *reduce.ENTRIES, *movement.ENTRIES, *linalg.ENTRIES, *conv.ENTRIES, *losses.ENTRIES,
         *activations.ENTRIES, *conv_extra.ENTRIES, *indexing.ENTRIES,
         *pointwise.ENTRIES, *pooling.ENTRIES, *batchnorm.ENTRIES,
         *normalization.ENTRIES, *layers.ENTRIES]
TABLE += torch_api.ENTRIES  # PyTorch's spellings: alpha=, addcmul, index_fill, unflatten, in-place on non-leaves
