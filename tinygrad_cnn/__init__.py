"""tinygrad_cnn: a small, exact autograd framework on NumPy, built to show backpropagation through a CNN."""

from ._malloc import tune_allocator
from .autograd import Function, detect_anomaly, enable_grad, grad, is_grad_enabled, no_grad
from .factories import (
                        arange,
                        eye,
                        full,
                        full_like,
                        manual_seed,
                        ones,
                        ones_like,
                        rand,
                        rand_like,
                        randn,
                        randn_like,
                        zeros,
                        zeros_like,
)
from .ops.movement import TensorIndexError
from .serialization import CheckpointError, load, save
from .tensor import Tensor, concatenate, stack, where

__version__ = "0.1.0"
ALLOCATOR_TUNED = tune_allocator()
__all__ = [
    "CheckpointError", "Function", "Tensor", "TensorIndexError", "arange", "concatenate", "detect_anomaly",
    "enable_grad", "eye", "full", "full_like", "grad", "is_grad_enabled", "load", "manual_seed", "no_grad", "ones",
    "ones_like", "rand", "rand_like", "randn", "randn_like", "save", "stack", "where", "zeros", "zeros_like",
]
