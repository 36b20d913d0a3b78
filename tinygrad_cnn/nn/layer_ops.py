"""The functional forms of the small layers, re-exported by ``nn.functional`` (``F``): ``embedding``, the dropout
family (``dropout``, ``dropout1d``, ``dropout2d``, ``dropout3d``, ``alpha_dropout``, ``feature_alpha_dropout``)
and ``threshold``, with PyTorch's names, arguments and defaults.

All are compositions of existing primitives (indexing, multiplication by a constant mask, ``where``), so their
gradients are those primitives' VJPs:

* ``embedding(input, weight)`` is ``weight[input]``: (*) integer indices -> (*, D). Its VJP adds each output
  row's gradient into the row it was read from (repeats add up). ``padding_idx`` rows receive no gradient and
  ``scale_grad_by_freq`` divides each row's gradient by how often it occurs in ``input``: both act on the
  gradient of the lookup (a hook on its node), so the forward values are exactly the rows.
* dropout draws a keep mask from ``tinygrad_cnn.random.generator()`` (``tg.manual_seed`` seeds it), keep
  probability 1 - p, and multiplies by mask / (1 - p); the channel variants draw one mask entry per
  (sample, channel) and broadcast it over the spatial axes.
* alpha dropout keeps SELU's mean and variance: kept elements become a x + alpha' a p, dropped ones
  -alpha' a (1 - p), with alpha' = SELU's scale times alpha (1.7581) and a = 1 / sqrt((alpha'^2 p + 1)(1 - p)).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .._checks import as_bool, as_real, is_int
from ..autograd import no_grad
from ..errors import ShapeError
from ..random import generator
from ..tensor_class import Tensor, as_tensor, where
from ..versions import mark_modified
from .activations import SELU_ALPHA, SELU_SCALE, inplace_result

_ALPHA_PRIME = SELU_ALPHA * SELU_SCALE  # 1.7580993408473766, PyTorch's constant for alpha dropout


# ---- embedding ---------------------------------------------------------------------------------------------------
def _indices(op: str, input: Any) -> np.ndarray:
    array = input.data if isinstance(input, Tensor) else np.asarray(input)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64 or int32), got dtype {array.dtype}; "
                        "convert them with .long()")
    return array


def _padding_idx(op: str, padding_idx: Any, n: int) -> int | None:
    if padding_idx is None:
        return None
    if not is_int(padding_idx):
        raise TypeError(f"{op}: padding_idx must be an int or None, got {padding_idx!r}")
    if not -n <= int(padding_idx) < n:
        raise ValueError(f"{op}: padding_idx={padding_idx} must be within num_embeddings ([{-n}, {n - 1}])")
    return int(padding_idx) % n


def renorm_rows_(weight: Tensor, rows: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Scale, in place, each row of ``weight`` listed in ``rows`` whose ``norm_type``-norm exceeds ``max_norm`` by
    max_norm / (norm + 1e-7), as PyTorch's ``embedding_renorm_``; the write is recorded (version counter)."""
    unique = np.unique(rows)
    if unique.size == 0:
        return
    data = weight.data
    norms = np.linalg.norm(data[unique].astype(np.float64), ord=norm_type, axis=1)
    over = norms > max_norm
    if not over.any():
        return
    if not data.flags.writeable:
        raise ValueError("embedding: max_norm renormalises the weight in place, but it is a read-only view; "
                         "pass a weight made with .clone()")
    scale = (max_norm / (norms[over] + 1e-7)).astype(data.dtype)
    data[unique[over]] *= scale[:, None]
    mark_modified(data)


def embedding_lookup(op: str, input: Any, weight: Any, padding_idx: Any = None, max_norm: Any = None,
                     norm_type: Any = 2.0, scale_grad_by_freq: Any = False, sparse: Any = False) -> Tensor:
    """``F.embedding`` with the name used in messages (``op``: the function or the layer)."""
    weight = as_tensor(op, "weight", weight)
    if weight.ndim != 2 or weight.dtype.kind != "f":
        raise ShapeError(f"{op}: weight must be a 2-D floating-point tensor (num_embeddings, embedding_dim), got "
                         f"shape {weight.shape} and dtype {weight.dtype}")
    n = weight.shape[0]
    index = _indices(op, input)
    pad = _padding_idx(op, padding_idx, n)
    norm_type = as_real(op, "norm_type", norm_type)
    scale_grad = as_bool(op, "scale_grad_by_freq", scale_grad_by_freq)
    if as_bool(op, "sparse", sparse):
        raise NotImplementedError(f"{op}: sparse=True asks for a sparse gradient, and this library has no sparse "
                                  "tensors; pass sparse=False (the same gradient, stored dense)")
    if index.size:
        low, high = int(index.min()), int(index.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise IndexError(f"{op}: index {bad} is out of range for num_embeddings={n} (indices must lie in "
                             f"[0, {n - 1}])")
    if max_norm is not None:
        max_norm = as_real(op, "max_norm", max_norm, low=0)
        with no_grad():
            renorm_rows_(weight, index, max_norm, norm_type)
    rows = weight[index.astype(np.intp, copy=False)]
    if rows.requires_grad and (pad is not None or scale_grad):
        scale = None
        if scale_grad:
            _, inverse, counts = np.unique(index, return_inverse=True, return_counts=True)
            scale = Tensor((1.0 / counts[inverse.reshape(index.shape)]).astype(weight.dtype)[..., None])
        keep = None if pad is None else Tensor((index != pad)[..., None])

        def hook(g: Any) -> Any:
            if scale is not None:
                g = g * scale
            return g if keep is None else where(keep, g, 0.0)
        rows.register_hook(hook)
    return rows


def embedding(input: Any, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Rows of ``weight`` (num_embeddings, D) picked by integer ``input`` of any shape (*): out (*, D),
    out[i] = weight[input[i]].

    VJP: d weight[r] = sum of g[i] over the positions i with input[i] == r (divided by the number of such
    positions with ``scale_grad_by_freq``); the ``padding_idx`` row gets none. ``max_norm``: before the lookup,
    every referenced row whose ``norm_type``-norm exceeds max_norm is rescaled in place to norm max_norm, as
    PyTorch. An index outside [0, num_embeddings) is an IndexError.
    """
    return embedding_lookup("embedding", input, weight, padding_idx, max_norm, norm_type, scale_grad_by_freq,
                            sparse)


# ---- dropout -------------------------------------------------------------------------------------------------------
def _dropout_args(op: str, input: Any, p: Any, training: Any) -> tuple[Tensor, float, bool]:
    x = as_tensor(op, "input", input)
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    p = as_real(op, "p", p)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{op}: p must be in [0, 1], got {p} (the probability of zeroing an element)")
    return x, p, as_bool(op, "training", training)


def _masked(op: str, input: Any, x: Tensor, p: float, mask_shape: tuple[int, ...], inplace: Any) -> Tensor:
    """x * keep / (1 - p) with keep ~ Bernoulli(1 - p) of ``mask_shape`` (broadcast over x)."""
    as_bool(op, "inplace", inplace)
    if p == 1.0:
        return inplace_result(op, input, x * 0.0, inplace)
    keep = generator().random(mask_shape) >= p
    return inplace_result(op, input, x * Tensor((keep / (1.0 - p)).astype(x.dtype)), inplace)


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Inverted dropout: zero each element with probability p and scale the rest by 1/(1-p) while training
    (the identity, the input itself, when not training or p = 0). VJP: g times the same mask / (1 - p)."""
    x, p, training = _dropout_args("dropout", input, p, training)
    if not training or p == 0.0:
        as_bool("dropout", "inplace", inplace)
        return x
    return _masked("dropout", input, x, p, x.shape, inplace)


def _channel_dropout(op: str, input: Any, p: Any, training: Any, inplace: Any, spatial: int) -> Tensor:
    x, p, training = _dropout_args(op, input, p, training)
    if x.ndim == 3 and spatial == 2:
        warnings.warn("dropout2d: received a 3-D input, read as (N, C, L) as PyTorch does (1-D channel-wise "
                      "dropout); use dropout1d for that, or unsqueeze an unbatched (C, H, W) input to (1, C, H, W)",
                      UserWarning, stacklevel=3)
        batched = True
    elif x.ndim in (spatial + 1, spatial + 2):
        batched = x.ndim == spatial + 2
    else:
        raise ShapeError(f"{op}: expected a {spatial + 1}-D (C, *spatial) or {spatial + 2}-D (N, C, *spatial) input, "
                         f"got shape {x.shape}; {op} drops whole channels of inputs with {spatial} spatial axes")
    if not training or p == 0.0:
        as_bool(op, "inplace", inplace)
        return x
    lead = 2 if batched else 1
    return _masked(op, input, x, p, x.shape[:lead] + (1,) * (x.ndim - lead), inplace)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, L) or (C, L) inputs: each channel is zeroed entirely with probability p,
    the kept ones scaled by 1/(1-p)."""
    return _channel_dropout("dropout1d", input, p, training, inplace, 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, H, W) or (C, H, W) inputs (a 3-D input is read as (N, C, L) with a warning,
    as PyTorch): each channel is zeroed entirely with probability p, the kept ones scaled by 1/(1-p)."""
    return _channel_dropout("dropout2d", input, p, training, inplace, 2)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    """Channel-wise dropout of (N, C, D, H, W) or (C, D, H, W) inputs: each channel is zeroed entirely with
    probability p, the kept ones scaled by 1/(1-p)."""
    return _channel_dropout("dropout3d", input, p, training, inplace, 3)


def _alpha(op: str, input: Any, p: Any, training: Any, inplace: Any, feature: bool) -> Tensor:
    x, p, training = _dropout_args(op, input, p, training)
    if feature and x.ndim < 2:
        raise ShapeError(f"{op}: expected an input with a channel axis (N, C, *), got shape {x.shape}")
    as_bool(op, "inplace", inplace)
    if not training or p == 0.0 or x.size == 0:
        return x
    if p == 1.0:
        return inplace_result(op, input, x * 0.0, inplace)
    shape = x.shape[:2] + (1,) * (x.ndim - 2) if feature else x.shape
    keep = (generator().random(shape) >= p).astype(np.float64)
    a = 1.0 / math.sqrt((_ALPHA_PRIME ** 2 * p + 1.0) * (1.0 - p))
    b = (keep - 1.0) * (_ALPHA_PRIME * a) + _ALPHA_PRIME * a * p
    out = x * Tensor((keep * a).astype(x.dtype)) + Tensor(b.astype(x.dtype))
    return inplace_result(op, input, out, inplace)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """Dropout that keeps the zero mean and unit variance of SELU activations: each element is dropped with
    probability p to -alpha' (SELU's negative saturation), then everything is mapped by a x + b so the
    moments are kept (a, b as PyTorch). Identity unless ``training`` (False by default, as PyTorch).
    VJP: g a on kept elements, 0 on dropped ones."""
    return _alpha("alpha_dropout", input, p, training, inplace, feature=False)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    """``alpha_dropout`` with one draw per (sample, channel), broadcast over the other axes of (N, C, *)."""
    return _alpha("feature_alpha_dropout", input, p, training, inplace, feature=True)


# ---- threshold -----------------------------------------------------------------------------------------------------
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """x where x > threshold, ``value`` elsewhere.  VJP: g where x > threshold, 0 elsewhere."""
    th = as_real("threshold", "threshold", threshold, low=-math.inf)
    val = as_real("threshold", "value", value, low=-math.inf)
    x = as_tensor("threshold", "input", input)
    if x.dtype.kind != "f":
        raise TypeError(f"threshold: input has dtype {x.dtype}; convert it with .float()")
    out = where(x > th, x, Tensor(np.asarray(val, dtype=x.dtype)))
    return inplace_result("threshold", input, out, inplace)


__all__ = ["alpha_dropout", "dropout", "dropout1d", "dropout2d", "dropout3d", "embedding", "feature_alpha_dropout",
           "threshold"]
