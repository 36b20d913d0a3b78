"""The functional API's pooling, resampling and padding (re-exported by ``tinygrad_cnn.nn.functional``): max,
average, adaptive, power-average pooling and max-unpooling, interpolation, and padding modes.

Each function converts and checks its Python arguments, then calls the primitives of ``ops.pool``,
``ops.resample``, ``ops.padding`` and ``ops.movement``. Shapes, defaults and tie rules follow PyTorch: images NCHW
(signals (N, C, L) for the 1-D forms, (C, L) accepted), indices flat in each input plane, int64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from .._checks import as_bool, as_choice, as_int, as_pair, as_real, check_image_batch, is_int
from ..errors import ShapeError
from ..ops.movement import Pad, TensorIndexError
from ..ops.padding import BorderPad
from ..ops.pool import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, PlaneScatter
from ..ops.resample import Resample2d
from ..tensor_class import Tensor, as_tensor

IntPair = int | tuple[int, int]

__all__ = ["adaptive_avg_pool2d", "adaptive_max_pool2d", "avg_pool1d", "avg_pool2d", "interpolate", "lp_pool2d",
           "max_pool1d", "max_pool2d", "max_unpool2d", "pad", "upsample", "upsample_bilinear", "upsample_nearest"]


def _signal_as_image(op: str, x: Tensor) -> Tensor:
    """(N, C, L) or (C, L) as (N, C, 1, L)."""
    x = as_tensor(op, "input", x)
    if x.ndim not in (2, 3):
        raise ShapeError(f"{op}: expected a 2-D (C, L) or 3-D (N, C, L) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    shape = x.shape if x.ndim == 3 else (1, *x.shape)
    return x.reshape((shape[0], shape[1], 1, shape[2]))


def _image_as_signal(y: Tensor, ndim: int) -> Tensor:
    return y.reshape(y.shape[:2] + y.shape[3:] if ndim == 3 else (y.shape[1], y.shape[3]))


def _single(op: str, name: str, value: Any, low: int) -> int:
    """A 1-D size: an int or a one-int tuple."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return as_int(op, name, value, low=low)


# ---- max and average pooling ------------------------------------------------------------------------------------
def max_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               dilation: IntPair = 1, ceil_mode: bool = False, return_indices: bool = False):
    """Max over kH x kW windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to the kernel size.

    ``ceil_mode`` rounds Ho, Wo up (a last, partial window, which must start inside the input or its left
    padding). The gradient of each window goes to its first maximum in row-major order; ``return_indices`` also
    returns where that is: row * W + column in each input plane (int64, PyTorch's indices, for ``max_unpool2d``).
    """
    x = as_tensor("max_pool2d", "input", input)
    check_image_batch("max_pool2d", x)
    kernel = as_pair("max_pool2d", "kernel_size", kernel_size, 1)
    params = {"kernel_size": kernel,
              "stride": kernel if stride is None else as_pair("max_pool2d", "stride", stride, 1),
              "padding": as_pair("max_pool2d", "padding", padding, 0),
              "dilation": as_pair("max_pool2d", "dilation", dilation, 1),
              "ceil_mode": as_bool("max_pool2d", "ceil_mode", ceil_mode)}
    if not as_bool("max_pool2d", "return_indices", return_indices):
        return MaxPool2d.apply(x, **params)
    found: list = []
    y = MaxPool2d.apply(x, indices_out=found, **params)
    return y, Tensor(found[0])


def avg_pool2d(input: Tensor, kernel_size: IntPair, stride: IntPair | None = None, padding: IntPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """Mean over kH x kW windows: (N, C, H, W) -> (N, C, Ho, Wo); stride defaults to the kernel size.

    The divisor is PyTorch's: ``divisor_override`` when given; else the window's size counting the zero padding
    (``count_include_pad=True``, the default) or only the input elements; the ceil_mode overhang never counts.
    """
    x = as_tensor("avg_pool2d", "input", input)
    check_image_batch("avg_pool2d", x)
    kernel = as_pair("avg_pool2d", "kernel_size", kernel_size, 1)
    divisor = None if divisor_override is None else as_int("avg_pool2d", "divisor_override", divisor_override, low=1)
    return AvgPool2d.apply(x, kernel_size=kernel,
                           stride=kernel if stride is None else as_pair("avg_pool2d", "stride", stride, 1),
                           padding=as_pair("avg_pool2d", "padding", padding, 0),
                           ceil_mode=as_bool("avg_pool2d", "ceil_mode", ceil_mode),
                           count_include_pad=as_bool("avg_pool2d", "count_include_pad", count_include_pad),
                           divisor_override=divisor)


def max_pool1d(input: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
               ceil_mode: bool = False, return_indices: bool = False):
    """Max over windows of ``kernel_size``: (N, C, L) -> (N, C, Lo) (or (C, L) -> (C, Lo)); max_pool2d on a
    height-1 image, same rules (indices into L)."""
    x = _signal_as_image("max_pool1d", input)
    k = _single("max_pool1d", "kernel_size", kernel_size, 1)
    params = {"kernel_size": (1, k), "stride": (1, k if stride is None else _single("max_pool1d", "stride", stride, 1)),
              "padding": (0, _single("max_pool1d", "padding", padding, 0)),
              "dilation": (1, _single("max_pool1d", "dilation", dilation, 1)),
              "ceil_mode": as_bool("max_pool1d", "ceil_mode", ceil_mode)}
    ndim = as_tensor("max_pool1d", "input", input).ndim
    if not as_bool("max_pool1d", "return_indices", return_indices):
        return _image_as_signal(MaxPool2d.apply(x, **params), ndim)
    found: list = []
    y = MaxPool2d.apply(x, indices_out=found, **params)
    return _image_as_signal(y, ndim), _image_as_signal(Tensor(found[0]), ndim)


def avg_pool1d(input: Tensor, kernel_size: int, stride: int | None = None, padding: int = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Mean over windows of ``kernel_size``: (N, C, L) -> (N, C, Lo) (or (C, L) -> (C, Lo)); avg_pool2d's rules."""
    x = _signal_as_image("avg_pool1d", input)
    k = _single("avg_pool1d", "kernel_size", kernel_size, 1)
    y = AvgPool2d.apply(x, kernel_size=(1, k),
                        stride=(1, k if stride is None else _single("avg_pool1d", "stride", stride, 1)),
                        padding=(0, _single("avg_pool1d", "padding", padding, 0)),
                        ceil_mode=as_bool("avg_pool1d", "ceil_mode", ceil_mode),
                        count_include_pad=as_bool("avg_pool1d", "count_include_pad", count_include_pad))
    return _image_as_signal(y, as_tensor("avg_pool1d", "input", input).ndim)


def lp_pool2d(input: Tensor, norm_type: float, kernel_size: IntPair, stride: IntPair | None = None,
              ceil_mode: bool = False) -> Tensor:
    """(sum over each window of x^p)^(1/p), p = ``norm_type``: PyTorch's formula, avg_pool2d(x^p) times kH kW, to
    the power 1/p (no padding). NaN where x^p or the root is undefined, as in PyTorch (negative x, fractional p)."""
    x = as_tensor("lp_pool2d", "input", input)
    check_image_batch("lp_pool2d", x)
    p = as_real("lp_pool2d", "norm_type", norm_type, finite=True)
    if p == 0:
        raise ValueError("lp_pool2d: norm_type must be nonzero (the result is a 1/norm_type power), got 0")
    kernel = as_pair("lp_pool2d", "kernel_size", kernel_size, 1)
    pooled = avg_pool2d(x ** p, kernel, stride, 0, ceil_mode=ceil_mode)
    return (pooled * float(kernel[0] * kernel[1])) ** (1.0 / p)


def _index_tensor(op: str, indices: Any, shape: tuple[int, ...]) -> np.ndarray:
    raw = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if raw.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be integers (the second result of max_pool2d(..., "
                        f"return_indices=True)), got dtype {raw.dtype}")
    if raw.shape != tuple(shape):
        raise ShapeError(f"{op}: indices of shape {raw.shape} must have the input's shape {tuple(shape)}")
    return raw.astype(np.int64, copy=False)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: IntPair, stride: IntPair | None = None,
                 padding: IntPair = 0, output_size: Sequence[int] | None = None) -> Tensor:
    """The partial inverse of max_pool2d: zeros of (N, C, Ho, Wo) with each input value written at its flat index
    ``indices`` (row * Wo + column); Ho = (H - 1) stride - 2 padding + kernel_size unless ``output_size`` (the last
    two entries of a shape) says otherwise. Gradient: read back at the indices (PyTorch's rule)."""
    x = as_tensor("max_unpool2d", "input", input)
    check_image_batch("max_unpool2d", x)
    kernel = as_pair("max_unpool2d", "kernel_size", kernel_size, 1)
    stride_ = kernel if stride is None else as_pair("max_unpool2d", "stride", stride, 1)
    padding_ = as_pair("max_unpool2d", "padding", padding, 0)
    default = [(x.shape[2 + a] - 1) * stride_[a] - 2 * padding_[a] + kernel[a] for a in range(2)]
    if output_size is None:
        size = default
    else:
        if not isinstance(output_size, (tuple, list)) or len(output_size) not in (2, 4):
            raise TypeError(f"max_unpool2d: output_size must be (H, W) or (N, C, H, W), got {output_size!r}")
        size = [as_int("max_unpool2d", "output_size", v, low=0) for v in output_size[-2:]]
        for a in range(2):
            if not default[a] - stride_[a] < size[a] < default[a] + stride_[a]:
                raise ShapeError(f"max_unpool2d: output_size {tuple(size)} must lie strictly between "
                                 f"{tuple(d - s for d, s in zip(default, stride_))} and "
                                 f"{tuple(d + s for d, s in zip(default, stride_))} for input {x.shape}")
    if min(size) < 1:
        raise ShapeError(f"max_unpool2d: the output size {tuple(size)} of input {x.shape} is empty; check the "
                         "kernel_size, stride and padding")
    index = _index_tensor("max_unpool2d", indices, x.shape)
    if index.size and (index.min() < 0 or index.max() >= size[0] * size[1]):
        raise TensorIndexError(f"max_unpool2d: indices must be in [0, {size[0] * size[1]}) for an output of "
                               f"{size[0]}x{size[1]}, got values from {index.min()} to {index.max()}")
    return PlaneScatter.apply(x, indices=index, plane_hw=(int(size[0]), int(size[1])))


# ---- adaptive pooling ---------------------------------------------------------------------------------------------
def _adaptive_size(op: str, x: Tensor, output_size: Any) -> tuple[int, int]:
    values = output_size if isinstance(output_size, (tuple, list)) else (output_size, output_size)
    if len(values) != 2:
        raise ValueError(f"{op}: output_size must be an int or a pair (H, W) (entries may be None), got "
                         f"{output_size!r}")
    out = tuple(x.shape[2 + a] if v is None else as_int(op, "output_size", v, low=1) for a, v in enumerate(values))
    if min(x.shape[2:]) < 1:
        raise ShapeError(f"{op}: input {x.shape} has an empty plane; nothing to pool")
    return int(out[0]), int(out[1])


def adaptive_avg_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None]) -> Tensor:
    """Mean over PyTorch's adaptive windows, rows [floor(i H / Ho), ceil((i + 1) H / Ho)) and likewise columns:
    (N, C, H, W) -> (N, C, Ho, Wo) for any Ho, Wo (a None entry keeps that size)."""
    x = as_tensor("adaptive_avg_pool2d", "input", input)
    check_image_batch("adaptive_avg_pool2d", x)
    return AdaptiveAvgPool2d.apply(x, output_size=_adaptive_size("adaptive_avg_pool2d", x, output_size))


def adaptive_max_pool2d(input: Tensor, output_size: int | tuple[int | None, int | None],
                        return_indices: bool = False):
    """Max over adaptive_avg_pool2d's windows: (N, C, H, W) -> (N, C, Ho, Wo). The gradient goes to each window's
    first maximum in row-major order; ``return_indices`` also returns its flat index in the plane (int64)."""
    x = as_tensor("adaptive_max_pool2d", "input", input)
    check_image_batch("adaptive_max_pool2d", x)
    size = _adaptive_size("adaptive_max_pool2d", x, output_size)
    if not as_bool("adaptive_max_pool2d", "return_indices", return_indices):
        return AdaptiveMaxPool2d.apply(x, output_size=size)
    found: list = []
    y = AdaptiveMaxPool2d.apply(x, output_size=size, indices_out=found)
    return y, Tensor(found[0])


# ---- interpolation ------------------------------------------------------------------------------------------------
_LINEAR = {3: ("linear",), 4: ("bilinear", "bicubic")}


def _sizes(op: str, name: str, value: Any, count: int, kind: str) -> list:
    values = list(value) if isinstance(value, (tuple, list)) else [value] * count
    if len(values) != count:
        raise ValueError(f"{op}: {name} must be one value or {count} (one per spatial axis), got {value!r}")
    if kind == "int":
        return [as_int(op, name, v, low=1) for v in values]
    return [as_real(op, name, v, finite=True, low=0) for v in values]


def interpolate(input: Tensor, size: int | Sequence[int] | None = None,
                scale_factor: float | Sequence[float] | None = None,
                mode: Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area"] = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resize (N, C, L) or (N, C, H, W) to ``size``, or to floor(size * ``scale_factor``), as PyTorch.

    Modes: 'nearest' (source floor(i in/out)), 'nearest-exact' (floor((i + 1/2) in/out)), 'linear' (3-D) and
    'bilinear' (4-D), 'bicubic' (4-D, A = -0.75, not clamped), 'area' (adaptive_avg_pool). ``align_corners`` (the
    interpolating modes only, default False) maps the corner pixels' centres onto each other. A given
    ``scale_factor`` is used as the scale (1 / scale_factor) unless ``recompute_scale_factor=True``.
    """
    op = "interpolate"
    x = as_tensor(op, "input", input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"{op}: expected a 3-D (N, C, L) or 4-D (N, C, H, W) input, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    mode = as_choice(op, "mode", mode, ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "area"))
    if mode in ("linear", "bilinear", "bicubic") and mode not in _LINEAR[x.ndim]:
        raise ShapeError(f"{op}: mode {mode!r} needs a {4 if x.ndim == 3 else 3}-D input, got shape {x.shape}; "
                         f"use {_LINEAR[x.ndim][0]!r} for a {x.ndim}-D input")
    interpolating = mode in ("linear", "bilinear", "bicubic")
    if align_corners is not None and not interpolating:
        raise ValueError(f"{op}: align_corners can only be set with the interpolating modes 'linear', 'bilinear' "
                         f"and 'bicubic', got mode {mode!r}")
    corners = False if align_corners is None else as_bool(op, "align_corners", align_corners)
    if as_bool(op, "antialias", antialias):
        raise ValueError(f"{op}: antialias=True is not supported; resize without it")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: pass exactly one of size and scale_factor, got "
                         f"{'both' if size is not None else 'neither'}")
    spatial = x.shape[2:]
    if size is not None:
        out = _sizes(op, "size", size, len(spatial), "int")
        scales: list = [None] * len(spatial)
    else:
        factors = _sizes(op, "scale_factor", scale_factor, len(spatial), "real")
        out = [math.floor(float(n) * f) for n, f in zip(spatial, factors)]
        if min(out) < 1:
            raise ShapeError(f"{op}: scale_factor {scale_factor!r} gives the empty size {tuple(out)} for input "
                             f"{x.shape}; use a larger scale_factor")
        recompute = recompute_scale_factor is not None and as_bool(op, "recompute_scale_factor",
                                                                     recompute_scale_factor)
        scales = [None] * len(spatial) if recompute else factors
    if min(spatial) < 1:
        raise ShapeError(f"{op}: input {x.shape} is empty along a spatial axis; nothing to interpolate")
    image = x if x.ndim == 4 else x.reshape((x.shape[0], x.shape[1], 1, x.shape[2]))
    out_hw = tuple(out) if x.ndim == 4 else (1, out[0])
    if mode == "area":
        y = AdaptiveAvgPool2d.apply(image, output_size=(int(out_hw[0]), int(out_hw[1])))
    else:
        kernel = "bilinear" if mode == "linear" else mode
        y = Resample2d.apply(image, size=(int(out_hw[0]), int(out_hw[1])), mode=kernel, align_corners=corners,
                             scales=tuple(scales) if x.ndim == 4 else (None, scales[0]))
    return y if x.ndim == 4 else y.reshape((y.shape[0], y.shape[1], y.shape[3]))


def upsample(input: Tensor, size: int | Sequence[int] | None = None,
             scale_factor: float | Sequence[float] | None = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """PyTorch's older name of ``interpolate`` (same arguments and results)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: int | Sequence[int] | None = None,
                     scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='nearest')``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: int | Sequence[int] | None = None,
                      scale_factor: float | Sequence[float] | None = None) -> Tensor:
    """``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``, as PyTorch's."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---- padding ------------------------------------------------------------------------------------------------------
def pad(input: Tensor, pad: Sequence[int], mode: Literal["constant", "reflect", "replicate", "circular"] = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last len(pad) / 2 axes, PyTorch's order: (left, right) of the last axis first, then (top, bottom) of
    the one before, and so on. 'constant' fills with ``value`` (default 0; a negative width crops); 'reflect'
    mirrors about the border element (width < size), 'replicate' repeats it, 'circular' wraps around
    (width <= size): these three pad the last 1, 2 or 3 axes of an input with one or two more axes."""
    op = "pad"
    x = as_tensor(op, "input", input)
    if not isinstance(pad, (tuple, list)) or not all(is_int(p) for p in pad):
        raise TypeError(f"{op}: pad must be a tuple of ints (left, right, top, bottom, ...), got {pad!r}")
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(f"{op}: pad {tuple(pad)} must have an even length of at most 2 * ndim = {2 * x.ndim} "
                         f"for input {x.shape}")
    mode = as_choice(op, "mode", mode, ("constant", "reflect", "replicate", "circular"))
    k = len(pad) // 2
    pairs = [(0, 0)] * (x.ndim - k) + [(int(pad[2 * i]), int(pad[2 * i + 1])) for i in reversed(range(k))]
    if mode == "constant":
        fill = 0.0 if value is None else as_real(op, "value", value)
        for (b, e), n in zip(pairs, x.shape):
            if n + b + e < 0 or (b < 0 and -b > n) or (e < 0 and -e > n):
                raise ShapeError(f"{op}: pad {tuple(pad)} crops more than input {x.shape} holds; lower the negative "
                                 "widths")
        if any(b < 0 or e < 0 for b, e in pairs):
            x = x[tuple(slice(max(-b, 0), n - max(-e, 0)) for (b, e), n in zip(pairs, x.shape))]
            pairs = [(max(b, 0), max(e, 0)) for b, e in pairs]
        return Pad.apply(x, pad_width=tuple(pairs), value=fill)
    if value is not None and as_real(op, "value", value) != 0:
        raise ValueError(f"{op}: padding mode {mode!r} doesn't take a value argument; use mode='constant'")
    if k not in (1, 2, 3) or x.ndim not in (k + 1, k + 2):
        raise ShapeError(f"{op}: mode {mode!r} pads the last 1, 2 or 3 axes of a tensor with one or two more "
                         f"axes; got pad {tuple(pad)} ({k} axes) for input {x.shape}")
    for (b, e), n in zip(pairs[-k:], x.shape[-k:]):
        if b < 0 or e < 0:
            raise ValueError(f"{op}: mode {mode!r} needs pad widths >= 0, got {tuple(pad)}")
        if mode == "reflect" and max(b, e) >= max(n, 1):
            raise ShapeError(f"{op}: reflect padding {tuple(pad)} must be less than the size of its axis for input "
                             f"{x.shape}")
        if mode == "circular" and max(b, e) > n:
            raise ShapeError(f"{op}: circular padding {tuple(pad)} must be at most the size of its axis for input "
                             f"{x.shape}")
        if mode == "replicate" and n == 0 and (b or e):
            raise ShapeError(f"{op}: cannot replicate the border of an empty axis of input {x.shape}")
    return BorderPad.apply(x, pad_width=tuple(pairs), mode=mode)
