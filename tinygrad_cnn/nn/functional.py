"""The functional API (``from tinygrad_cnn.nn import functional as F``): CNN ops, activations and losses.

Each function converts and checks its Python arguments where the user passed them (ints, pairs, options), then
calls primitives (``ops.conv``, ``ops.pool``, ``ops.linalg``, ``ops.softmax``), which check the invariants of their
arrays (shapes, dtypes), or composes Tensor operations. Shapes follow PyTorch: images NCHW, conv weights
(out_channels, in_channels / groups, kH, kW), linear weights (out_features, in_features).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from .._checks import UNSET, as_int, as_pair, as_real, as_single, check_image_batch, spelling
from ..errors import ShapeError
from ..methods.indexing import one_hot  # noqa: F401 - re-exported as F.one_hot
from ..ops.conv import Conv2d, ConvTranspose2d, Fold, Unfold, conv_output_hw, transposed_output_hw
from ..ops.elementwise import Softplus
from ..ops.linalg import Linear
from ..tensor_class import Tensor, as_tensor
from . import layer_ops as _layer_ops
from .activations import (  # noqa: F401 - re-exported as F.leaky_relu, F.gelu, ...
    celu,
    elu,
    gelu,
    glu,
    hardsigmoid,
    hardswish,
    hardtanh,
    inplace_result,
    leaky_relu,
    logsigmoid,
    mish,
    prelu,
    relu6,
    selu,
    silu,
    softmin,
    softsign,
)
from .batchnorm import batch_norm  # noqa: F401 - re-exported as F.batch_norm
from .layer_ops import (  # noqa: F401 - re-exported as F.embedding, F.dropout2d, ...
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    embedding,
    feature_alpha_dropout,
)
from .losses import (  # noqa: F401 - re-exported as F.cross_entropy, F.nll_loss, F.l1_loss, ...
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cosine_similarity,
    cross_entropy,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    nll_loss,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from .normalization import (  # noqa: F401 - re-exported as F.layer_norm, F.group_norm, ...
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    normalize,
    rms_norm,
)
from .pooling import (  # noqa: F401 - re-exported as F.max_pool2d, F.interpolate, F.pad, ...
    adaptive_avg_pool2d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    interpolate,
    lp_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool2d,
    pad,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)

IntPair = int | tuple[int, int]
Reduction = Literal["mean", "sum", "none"]


# ---- convolution and pooling ----------------------------------------------------------------------
def conv2d(x: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
           padding: IntPair | Literal["valid", "same"] = 0, dilation: IntPair = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation: (N, C, H, W) * (O, C/groups, kH, kW) -> (N, O, Ho, Wo), plus bias (O,).

    Ho = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1. ``padding='same'`` keeps H and W
    (stride 1 only; an odd total padding puts the extra row and column at the bottom and right).
    """
    x, weight = as_tensor("conv2d", "input", x), as_tensor("conv2d", "weight", weight)
    check_image_batch("conv2d", x)
    if weight.ndim != 4 or 0 in weight.shape[2:]:
        raise ShapeError(f"conv2d: weight must be 4-D (out_channels, in_channels/groups, kH, kW) with kH, kW >= 1, "
                         f"got {weight.shape}")
    if weight.dtype != x.dtype:
        raise TypeError(f"conv2d: input is {x.dtype} but weight is {weight.dtype}; convert one with .float()/.double()")
    groups = as_int("conv2d", "groups", groups, low=1)
    out_channels, in_per_group = weight.shape[:2]
    if x.shape[1] % groups or out_channels % groups:
        raise ShapeError(f"conv2d: groups={groups} must divide both the input channels ({x.shape[1]}) and the "
                         f"output channels ({out_channels})")
    if x.shape[1] != in_per_group * groups:
        raise ShapeError(f"conv2d: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects "
                         f"{in_per_group * groups} (= weight.shape[1] * groups); check in_channels")
    stride_ = as_pair("conv2d", "stride", stride, 1)
    dilation_ = as_pair("conv2d", "dilation", dilation, 1)
    if isinstance(padding, str) and padding == "valid":
        padding_ = (0, 0)
    elif isinstance(padding, str) and padding == "same":
        if stride_ != (1, 1):
            raise ValueError(f"conv2d: padding='same' needs stride 1, got stride {stride}")
        totals = [d * (k - 1) for d, k in zip(dilation_, weight.shape[2:])]
        padding_ = (totals[0] // 2, totals[1] // 2)
        extra = (totals[0] % 2, totals[1] % 2)
        if any(extra):
            x = x.pad(((0, 0), (0, 0), (0, extra[0]), (0, extra[1])))
    elif isinstance(padding, str):
        raise ValueError(f"conv2d: padding must be an int, a pair, 'valid' or 'same', got {padding!r}")
    else:
        padding_ = as_pair("conv2d", "padding", padding, 0)
    # a stride beyond the padded input gives one output position, as the padded size itself does, and a 1-wide
    # kernel makes the dilation moot: clamp both, so that the strided views never see a stride too large for NumPy
    stride_ = tuple(max(1, min(s, n + 2 * p)) for s, n, p in zip(stride_, x.shape[2:], padding_))
    dilation_ = tuple(1 if k == 1 else d for d, k in zip(dilation_, weight.shape[2:]))
    params = {"stride": stride_, "padding": padding_, "dilation": dilation_, "groups": int(groups)}
    if bias is None:
        return Conv2d.apply(x, weight, **params)
    bias = as_tensor("conv2d", "bias", bias)
    return Conv2d.apply(x, weight, bias, **params)  # the bias is added (and its shape and dtype checked) inside


def _conv_operands(op: str, x, weight, spatial: int, transposed: bool, groups) -> tuple[Tensor, Tensor, int]:
    """input and weight as tensors, and groups as an int, checked for a conv over ``spatial`` axes: ranks, float
    dtypes that match, a kernel of sizes >= 1, and channels that agree with groups. The weight is (out_channels,
    in_channels/groups, k...) for a conv and (in_channels, out_channels/groups, k...) for a transposed conv."""
    x, weight = as_tensor(op, "input", x), as_tensor(op, "weight", weight)
    axes = "(N, C, L)" if spatial == 1 else "(N, C, H, W)"
    if x.ndim != spatial + 2:
        hint = " (add the batch axis with x.unsqueeze(0))" if x.ndim == spatial + 1 else ""
        raise ShapeError(f"{op}: expected a {spatial + 2}-D input {axes}, got shape {x.shape}{hint}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input has dtype {x.dtype}; convert it with .float()")
    layout = "in_channels, out_channels/groups" if transposed else "out_channels, in_channels/groups"
    kernel = "kL" if spatial == 1 else "kH, kW"
    if weight.ndim != spatial + 2 or 0 in weight.shape[2:]:
        raise ShapeError(f"{op}: weight must be {spatial + 2}-D ({layout}, {kernel}) with kernel sizes >= 1, got "
                         f"{weight.shape}")
    if weight.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but weight is {weight.dtype}; convert one with .float()/.double()")
    groups = as_int(op, "groups", groups, low=1)
    if transposed:
        if x.shape[1] != weight.shape[0]:
            raise ShapeError(f"{op}: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects "
                             f"{weight.shape[0]} (= weight.shape[0], the in_channels); check in_channels")
        if x.shape[1] % groups:
            raise ShapeError(f"{op}: groups={groups} must divide the input channels ({x.shape[1]})")
    else:
        if x.shape[1] % groups or weight.shape[0] % groups:
            raise ShapeError(f"{op}: groups={groups} must divide both the input channels ({x.shape[1]}) and the "
                             f"output channels ({weight.shape[0]})")
        if x.shape[1] != weight.shape[1] * groups:
            raise ShapeError(f"{op}: input {x.shape} has {x.shape[1]} channels but weight {weight.shape} expects "
                             f"{weight.shape[1] * groups} (= weight.shape[1] * groups); check in_channels")
    return x, weight, groups


def _allocating(op: str, make, *args, **kwargs) -> Tensor:
    """``make(*args, **kwargs)``, with an allocation the system cannot satisfy (the sizes are the caller's
    arguments: a huge stride or padding) reported as a ValueError naming the op."""
    try:
        return make(*args, **kwargs)
    except MemoryError as err:
        raise ValueError(f"{op}: the arguments ask for an array too large to allocate ({err}); use a smaller stride, "
                         "padding, dilation or output size") from None


def _conv_bias(op: str, bias, channels: int, x: Tensor) -> Tensor:
    bias = as_tensor(op, "bias", bias)
    if bias.shape != (channels,):
        raise ShapeError(f"{op}: bias must have shape ({channels},) (one per output channel), got {bias.shape}")
    if bias.dtype != x.dtype:
        raise TypeError(f"{op}: input is {x.dtype} but bias is {bias.dtype}; convert one with .float()/.double()")
    return bias


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1,
           padding: int | Literal["valid", "same"] = 0, dilation: int = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: (N, C, L) * (O, C/groups, kL) -> (N, O, Lo), plus bias (O,); as PyTorch.

    Lo = floor((L + 2 padding - dilation (kL - 1) - 1) / stride) + 1; ``padding='same'`` keeps L (stride 1). Computed
    as conv2d on images of height 1 (two free reshapes), so its gradients are conv2d's.
    """
    x, weight, groups = _conv_operands("conv1d", input, weight, 1, False, groups)
    s = as_single("conv1d", "stride", stride, 1)
    d = as_single("conv1d", "dilation", dilation, 1)
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise ValueError(f"conv1d: padding must be an int, 'valid' or 'same', got {padding!r}")
        if padding == "same" and s != 1:
            raise ValueError(f"conv1d: padding='same' needs stride 1, got stride {stride}")
        padding2: str | tuple[int, int] = padding
        p = 0 if padding == "valid" else d * (weight.shape[2] - 1) // 2
    else:
        p = as_single("conv1d", "padding", padding, 0)
        padding2 = (0, p)
    span = d * (weight.shape[2] - 1) + 1
    if padding != "same" and x.shape[2] + 2 * p < span:
        raise ShapeError(f"conv1d: input {x.shape}: the kernel spans {span} (kernel {weight.shape[2]}, dilation {d}) "
                         f"but the padded input is only {x.shape[2] + 2 * p}; use a smaller kernel or more padding")
    if x.shape[0] * x.shape[1] * (x.shape[2] + 2 * p) * 8 > np.iinfo(np.intp).max:
        raise ValueError(f"conv1d: padding {p} makes the padded input of shape {x.shape} too large for an array; use "
                         "a smaller padding")
    if bias is not None:
        bias = _conv_bias("conv1d", bias, weight.shape[0], x)
    return _allocating("conv1d", conv2d, x.unsqueeze(2), weight.unsqueeze(2), bias, stride=(1, s), padding=padding2,
                       dilation=(1, d), groups=groups).squeeze(2)


def _transposed_params(op: str, shape, kernel, stride, padding, output_padding, dilation, pair) -> dict:
    """The params of ConvTranspose2d from a transposed conv's arguments, each converted by ``pair(name, value,
    low)``; ``shape`` and ``kernel`` are the NCHW input's and the kernel's (a 1-D op's as height 1). output_padding
    must be smaller than the stride or the dilation (PyTorch's rule) and the output not empty."""
    s, p, o, d = (pair(name, v, low) for name, v, low in (("stride", stride, 1), ("padding", padding, 0),
                                                          ("output_padding", output_padding, 0),
                                                          ("dilation", dilation, 1)))
    if any(oi >= max(si, di) for oi, si, di in zip(o, s, d)):
        raise ValueError(f"{op}: output_padding {output_padding!r} must be smaller than either the stride "
                         f"({stride!r}) or the dilation ({dilation!r}) along each axis")
    transposed_output_hw(op, shape, kernel, s, p, o, d)
    # a stride over an input of size 1 and a dilation of a 1-wide kernel change nothing: set them to 1, so that the
    # strided views never see a stride too large for NumPy
    s = tuple(1 if n == 1 else si for si, n in zip(s, shape[2:]))
    d = tuple(1 if k == 1 else di for di, k in zip(d, kernel))
    return {"stride": s, "padding": p, "output_padding": o, "dilation": d}


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntPair = 1,
                     padding: IntPair = 0, output_padding: IntPair = 0, groups: int = 1,
                     dilation: IntPair = 1) -> Tensor:
    """2-D transposed convolution ("deconvolution"): (N, C_in, H, W) * (C_in, C_out/groups, kH, kW) ->
    (N, C_out, Ho, Wo), plus bias (C_out,); PyTorch's weight layout, argument order and output-size law

    Ho = (H - 1) stride - 2 padding + dilation (kH - 1) + output_padding + 1,

    with output_padding smaller than the stride or the dilation. It is the gradient of conv2d with respect to its
    input (the map conv2d's backward pass applies), so ``conv_transpose2d(conv2d(x, w), w)`` has x's shape when
    output_padding picks the size back.
    """
    op = "conv_transpose2d"
    x, weight, groups = _conv_operands(op, input, weight, 2, True, groups)
    params = _transposed_params(op, x.shape, weight.shape[2:], stride, padding, output_padding, dilation,
                                lambda name, v, low: as_pair(op, name, v, low))
    args = [x, weight] if bias is None else [x, weight, _conv_bias(op, bias, weight.shape[1] * groups, x)]
    return _allocating(op, ConvTranspose2d.apply, *args, groups=groups, **params)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: int = 1, padding: int = 0,
                     output_padding: int = 0, groups: int = 1, dilation: int = 1) -> Tensor:
    """1-D transposed convolution: (N, C_in, L) * (C_in, C_out/groups, kL) -> (N, C_out, Lo), plus bias (C_out,);
    Lo = (L - 1) stride - 2 padding + dilation (kL - 1) + output_padding + 1, as PyTorch. Computed as
    conv_transpose2d on images of height 1."""
    op = "conv_transpose1d"
    x, weight, groups = _conv_operands(op, input, weight, 1, True, groups)
    # the unit axis gets the neutral values, which are the lower bounds: stride and dilation 1, paddings 0
    params = _transposed_params(op, (*x.shape[:2], 1, x.shape[2]), (1, weight.shape[2]), stride, padding,
                                output_padding, dilation, lambda name, v, low: (low, as_single(op, name, v, low)))
    args = [x.unsqueeze(2), weight.unsqueeze(2)]
    if bias is not None:
        args.append(_conv_bias(op, bias, weight.shape[1] * groups, x))
    return _allocating(op, ConvTranspose2d.apply, *args, groups=groups, **params).squeeze(2)


def _fold_params(op: str, kernel_size, dilation, padding, stride) -> dict:
    return {"kernel_size": as_pair(op, "kernel_size", kernel_size, 1), "dilation": as_pair(op, "dilation", dilation, 1),
            "padding": as_pair(op, "padding", padding, 0), "stride": as_pair(op, "stride", stride, 1)}


def _fit_views(params: dict, size) -> dict:
    """Strides beyond the padded input (one block either way) and dilations of 1-wide kernels set to what they
    amount to, so that the strided views never see a stride too large for NumPy."""
    kernel, padding = params["kernel_size"], params["padding"]
    return {**params, "stride": tuple(max(1, min(s, n + 2 * p)) for s, n, p in zip(params["stride"], size, padding)),
            "dilation": tuple(1 if k == 1 else d for d, k in zip(params["dilation"], kernel))}


def unfold(input: Tensor, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
           stride: IntPair = 1) -> Tensor:
    """Sliding blocks as columns (im2col): (N, C, H, W) -> (N, C kH kW, L), as PyTorch's F.unfold (also (C, H, W)
    -> (C kH kW, L)). Column l = p Wo + q holds block (p, q) of the zero-padded input, channel-major then the kernel
    offsets; L = Ho Wo with conv2d's output law. ``conv2d(x, w)`` equals
    ``(w.reshape(O, -1) @ unfold(x, k)).reshape(N, O, Ho, Wo)`` without groups."""
    x = as_tensor("unfold", "input", input)
    if x.ndim not in (3, 4):
        raise ShapeError(f"unfold: expected a 3-D (C, H, W) or 4-D (N, C, H, W) input, got shape {x.shape}")
    params = _fold_params("unfold", kernel_size, dilation, padding, stride)
    batched = x if x.ndim == 4 else x.unsqueeze(0)
    params = _fit_views(params, x.shape[-2:])
    conv_output_hw("unfold", batched.shape, params["kernel_size"], params["stride"], params["padding"],
                   params["dilation"])
    out = _allocating("unfold", Unfold.apply, batched, **params)
    return out if x.ndim == 4 else out.squeeze(0)


def fold(input: Tensor, output_size: IntPair, kernel_size: IntPair, dilation: IntPair = 1, padding: IntPair = 0,
         stride: IntPair = 1) -> Tensor:
    """Columns back into an image (col2im), the adjoint of unfold: (N, C kH kW, L) -> (N, C, H, W) with (H, W) =
    output_size, overlapping blocks summed, as PyTorch's F.fold (also (C kH kW, L) -> (C, H, W)). L must be the
    number of blocks unfold takes from an (H, W) image. ``fold(unfold(x))`` is x times the number of blocks that
    cover each pixel."""
    x = as_tensor("fold", "input", input)
    if x.ndim not in (2, 3):
        raise ShapeError(f"fold: expected a 2-D (C kH kW, L) or 3-D (N, C kH kW, L) input, got shape {x.shape}")
    size = as_pair("fold", "output_size", output_size, 1)
    params = _fold_params("fold", kernel_size, dilation, padding, stride)
    batched = x if x.ndim == 3 else x.unsqueeze(0)
    kh, kw = params["kernel_size"]
    if batched.shape[1] % (kh * kw):
        raise ShapeError(f"fold: input {x.shape}: its channel axis ({batched.shape[1]}) must be divisible by the "
                         f"kernel's size {kh} * {kw} = {kh * kw}; check kernel_size")
    params = _fit_views(params, size)
    ho, wo = conv_output_hw("fold", (*batched.shape[:2], *size), params["kernel_size"], params["stride"],
                            params["padding"], params["dilation"])
    if ho * wo != batched.shape[2]:
        raise ShapeError(f"fold: input {x.shape} has {batched.shape[2]} blocks, but output_size {size} with "
                         f"kernel_size {kh, kw} gives {ho} * {wo} = {ho * wo}; check output_size, kernel_size, "
                         "stride, padding and dilation")
    out = _allocating("fold", Fold.apply, batched, output_size=size, **params)
    return out if x.ndim == 3 else out.squeeze(0)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C r^2, H, W) -> (*, C, H r, W r) with r = upscale_factor: out[..., c, h r + i, w r + j] =
    x[..., c r^2 + i r + j, h, w], as PyTorch (a reshape, a permute and a reshape)."""
    x = as_tensor("pixel_shuffle", "input", input)
    r = as_int("pixel_shuffle", "upscale_factor", upscale_factor, low=1)
    if x.ndim < 3:
        raise ShapeError(f"pixel_shuffle: expected an input of at least 3 axes (*, C r^2, H, W), got shape {x.shape}")
    *batch, c, h, w = x.shape
    if c % (r * r):
        raise ShapeError(f"pixel_shuffle: the channels ({c}) of input {x.shape} must be divisible by "
                         f"upscale_factor^2 = {r * r}")
    k = len(batch)
    y = x.reshape((*batch, c // (r * r), r, r, h, w)).permute((*range(k), k, k + 3, k + 1, k + 4, k + 2))
    return y.reshape((*batch, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H r, W r) -> (*, C r^2, H, W), the inverse of pixel_shuffle with r = downscale_factor, as PyTorch."""
    x = as_tensor("pixel_unshuffle", "input", input)
    r = as_int("pixel_unshuffle", "downscale_factor", downscale_factor, low=1)
    if x.ndim < 3:
        raise ShapeError(f"pixel_unshuffle: expected an input of at least 3 axes (*, C, H r, W r), got shape "
                         f"{x.shape}")
    *batch, c, h, w = x.shape
    if h % r or w % r:
        raise ShapeError(f"pixel_unshuffle: the height and width ({h}, {w}) of input {x.shape} must be divisible by "
                         f"downscale_factor = {r}")
    k = len(batch)
    y = x.reshape((*batch, c, h // r, r, w // r, r)).permute((*range(k), k, k + 2, k + 4, k + 1, k + 3))
    return y.reshape((*batch, c * r * r, h // r, w // r))


# pooling, resampling and padding: tinygrad_cnn/nn/pooling.py (imported at the top)


# ---- activations and layers ------------------------------------------------------------------------
def relu(x: Tensor, inplace: bool = False) -> Tensor:
    """max(x, 0); ``inplace=True`` writes into x when x is outside the graph (see nn/activations.py)."""
    return inplace_result("relu", x, as_tensor("relu", "input", x).relu(), inplace)


def sigmoid(x: Tensor) -> Tensor:
    """1 / (1 + exp(-x))."""
    return as_tensor("sigmoid", "input", x).sigmoid()


def tanh(x: Tensor) -> Tensor:
    return as_tensor("tanh", "input", x).tanh()


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """log(1 + exp(beta x)) / beta elementwise, linear (x) where beta x > threshold; never overflows."""
    beta = as_real("softplus", "beta", beta, finite=True)
    if beta == 0:
        raise ValueError("softplus: beta must be nonzero (softplus divides by it), got 0")
    threshold = as_real("softplus", "threshold", threshold)
    return Softplus.apply(as_tensor("softplus", "input", input), beta=beta, threshold=threshold)


def log_softmax(input: Tensor, dim: int | None = UNSET, _stacklevel: int = 3, dtype: Any = None, *,
                axis: int | None = UNSET) -> Tensor:
    """x - logsumexp(x) along ``dim`` (NumPy's ``axis``; default the last axis), computed stably; PyTorch's
    signature. ``dtype`` casts the input first. (PyTorch's implicit choice of dim when none is given is deprecated
    there; here the default is always the last axis.)"""
    dim = spelling("log_softmax", ("dim", dim), ("axis", axis), None)
    return as_tensor("log_softmax", "input", input).log_softmax(-1 if dim is None else dim, dtype)


def softmax(input: Tensor, dim: int | None = UNSET, _stacklevel: int = 3, dtype: Any = None, *,
            axis: int | None = UNSET) -> Tensor:
    """exp(x) / sum(exp(x)) along ``dim`` (NumPy's ``axis``; default the last axis); PyTorch's signature.
    ``dtype`` casts the input first."""
    dim = spelling("softmax", ("dim", dim), ("axis", axis), None)
    return as_tensor("softmax", "input", input).softmax(-1 if dim is None else dim, dtype)


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight.T + bias: (..., in_features) with weight (out_features, in_features) -> (..., out_features).

    One primitive (``ops.linalg.Linear``): a GEMM with the bias added in place.
    """
    x, weight = as_tensor("linear", "input", x), as_tensor("linear", "weight", weight)
    if x.dtype.kind in "biu" and weight.dtype.kind == "f":  # the promotion rule of arithmetic: ints become floats
        x = x.astype(weight.dtype)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, as_tensor("linear", "bias", bias))


# dropout, dropout1d/2d/3d, alpha_dropout, feature_alpha_dropout, embedding, threshold: nn/layer_ops.py (imported
# at the top)


def flatten(x: Tensor, start_dim: int = UNSET, end_dim: int = UNSET, *, start_axis: int = UNSET,
            end_axis: int = UNSET) -> Tensor:
    """Merge the axes ``start_dim`` to ``end_dim`` (NumPy's ``start_axis``/``end_axis``): (N, C, H, W) ->
    (N, C*H*W) by default (start 1, end -1, as ``nn.Flatten``)."""
    start = spelling("flatten", ("start_dim", start_dim), ("start_axis", start_axis), 1)
    end = spelling("flatten", ("end_dim", end_dim), ("end_axis", end_axis), -1)
    return as_tensor("flatten", "input", x).flatten(start, end)


threshold = _layer_ops.threshold  # F.threshold, bound here because softplus has an argument of that name
