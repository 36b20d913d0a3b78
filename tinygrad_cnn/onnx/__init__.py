"""Export to ONNX from the recorded forward graph: ``tinygrad_cnn.onnx.export(model, example_input, path)``.

The forward pass is run in grad mode so that every primitive is recorded, and each recorded ``Function`` node is
converted to ONNX nodes (``converters``: one converter per primitive; the module docstring there has the full
map). Parameters and buffers keep their ``state_dict`` names as initializer names; the batch axis is symbolic.
``register(FunctionClass)`` adds a converter for a custom primitive; ``coverage()`` says which primitives convert.

``onnx`` and ``onnxruntime`` are an optional extra (``pip install 'tinygrad_cnn[onnx]'``), imported only when an
export runs: ``import tinygrad_cnn`` never needs them.
"""

from __future__ import annotations

from .build import BATCH, EXTRA_HINT, Graph
from .converters import (
    CONVERTERS,
    NO_ONNX_EQUIVALENT,
    Converter,
    UnsupportedOperatorError,
    all_primitives,
    coverage,
    register,
)
from .exporter import DEFAULT_OPSET, MIN_OPSET, export

__all__ = [
    "BATCH",
    "CONVERTERS",
    "DEFAULT_OPSET",
    "EXTRA_HINT",
    "MIN_OPSET",
    "NO_ONNX_EQUIVALENT",
    "Converter",
    "Graph",
    "UnsupportedOperatorError",
    "all_primitives",
    "coverage",
    "export",
    "register",
]
