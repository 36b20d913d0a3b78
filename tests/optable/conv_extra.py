"""Op table: the convolution extensions of tinygrad_cnn/ops/conv.py and nn/functional.py: conv1d, the transposed
convolutions (ConvTranspose2d), unfold / fold (Unfold, Fold) and pixel_shuffle / pixel_unshuffle, against the
direct-loop references of tests/references.py.

Every geometry option is drawn on its own axis: batch, channels, groups, non-square kernels, strides up to 3,
paddings, output paddings (up to max(stride, dilation) - 1, PyTorch's bound, so output_padding >= stride occurs
when dilation > stride), dilations, bias or not, the 1-D ops' int and 1-tuple spellings. Shapes stay small
(sides <= 3 for the transposed convolutions, whose outputs grow): a gradgradcheck perturbs every element.
"""

from __future__ import annotations

import numpy as np
import references as R
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import Conv2d, ConvTranspose2d, Fold, Unfold
from tinygrad_cnn.ops.movement import Permute, Reshape
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S
from tinygrad_cnn.testing.opinfo import BadInput

DOC = "derivations/conv_transpose.md"


def _t(*shape, dtype=np.float64):
    return tg.Tensor(np.ones(shape, dtype=dtype))


# ---- transposed convolution --------------------------------------------------------------------------------------
@st.composite
def transposed_args(draw, spatial: int = 2, max_side: int = 3, max_stride: int = 3, max_dilation: int = 2,
                    max_padding: int = 1, output_padding=None) -> dict:
    """Valid arguments of F.conv_transpose{1,2}d: ``x_shape``, ``weight_shape`` (C_in, C_out/g, k...), and per axis
    stride, padding, output_padding (< max(stride, dilation)), dilation, plus groups. The padding is lowered where
    the output would be empty. ``output_padding="beyond_stride"`` forces stride 1, dilation 2, output_padding 1."""
    groups = draw(st.integers(1, 2))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    axes = {"kernel": [], "size": [], "stride": [], "padding": [], "output_padding": [], "dilation": []}
    for _ in range(spatial):
        k, n = draw(st.integers(1, 3)), draw(st.integers(1, max_side))
        if output_padding == "beyond_stride":
            s, d, o = 1, 2, 1
            k = max(k, 2)
        else:
            s, d = draw(st.integers(1, max_stride)), draw(st.integers(1, max_dilation))
            o = draw(st.integers(0, max(s, d) - 1))
        p = min(draw(st.integers(0, max_padding)), ((n - 1) * s + d * (k - 1) + o) // 2)
        for key, v in zip(axes, (k, n, s, p, o, d)):
            axes[key].append(v)
    return {"x_shape": (draw(st.integers(1, 2)), c_in, *axes["size"]),
            "weight_shape": (c_in, c_out // groups, *axes["kernel"]), "groups": groups,
            **{k: tuple(v) for k, v in axes.items() if k not in ("kernel", "size")}}


TRANSPOSED = ("stride", "padding", "output_padding", "dilation")


@st.composite
def conv_transpose2d_samples(draw, bias, **limits) -> Sample:
    args = draw(transposed_args(2, **limits))
    arrays = [draw(S.arrays(args["x_shape"])), draw(S.arrays(args["weight_shape"]))]
    if bias:
        arrays.append(draw(S.arrays((args["weight_shape"][1] * args["groups"],))))
    return Sample(tuple(arrays), {k: args[k] for k in (*TRANSPOSED, "groups")})


def _one(draw, value: tuple[int]):
    """A 1-D op's argument in either spelling PyTorch takes: an int or a tuple of one int."""
    return value[0] if draw(st.booleans()) else value


@st.composite
def conv_transpose1d_samples(draw) -> Sample:
    args = draw(transposed_args(1))
    arrays = [draw(S.arrays(args["x_shape"])), draw(S.arrays(args["weight_shape"]))]
    if draw(st.booleans()):
        arrays.append(draw(S.arrays((args["weight_shape"][1] * args["groups"],))))
    return Sample(tuple(arrays), {**{k: _one(draw, args[k]) for k in TRANSPOSED}, "groups": args["groups"]})


def _conv_transpose2d(x, w, b=None, **params):
    return F.conv_transpose2d(x, w, b, **params)


def _conv_transpose2d_ref(x, w, b=None, **params):
    return R.conv_transpose_reference(x, w, b, groups=params.pop("groups"), **params)


def _pair_1d(value) -> tuple[int]:
    return (value,) if isinstance(value, int) else tuple(value)


def _conv_transpose1d(x, w, b=None, **params):
    return F.conv_transpose1d(x, w, b, **params)


def _conv_transpose1d_ref(x, w, b=None, **params):
    neutral = {"stride": 1, "padding": 0, "output_padding": 0, "dilation": 1}
    p2 = {k: (neutral[k], *_pair_1d(params[k])) for k in TRANSPOSED}
    return R.conv_transpose_reference(x[:, :, None], w[:, :, None], b, groups=params["groups"], **p2)[:, :, 0]


# ---- conv1d -------------------------------------------------------------------------------------------------------
@st.composite
def conv1d_samples(draw) -> Sample:
    """(x, w[, b]) and F.conv1d's params: stride, dilation, groups and padding an int, a 1-tuple, 'valid' or 'same'
    (stride 1, an odd total padding too)."""
    args = draw(S.conv2d_args(max_side=6))
    (n, c, _, length), (o, cg, _, k) = args["x_shape"], args["weight_shape"]
    s, d, p = args["stride"][1], args["dilation"][1], args["padding"][1]
    padding = draw(st.sampled_from([p, (p,), "valid", "same"]))
    if padding == "same":
        s = 1
    if padding in ("valid", "same"):
        length = max(length, d * (k - 1) + 1)
    arrays = [draw(S.arrays((n, c, length))), draw(S.arrays((o, cg, k)))]
    if draw(st.booleans()):
        arrays.append(draw(S.arrays((o,))))
    return Sample(tuple(arrays), {"stride": _one(draw, (s,)), "padding": padding, "dilation": _one(draw, (d,)),
                                  "groups": args["groups"]})


def _conv1d(x, w, b=None, **params):
    return F.conv1d(x, w, b, **params)


def _conv1d_ref(x, w, b=None, stride=1, padding=0, dilation=1, groups=1):
    s, d = _pair_1d(stride)[0], _pair_1d(dilation)[0]
    if padding == "same":
        total = d * (w.shape[2] - 1)
        x, p = np.pad(x, ((0, 0), (0, 0), (total // 2, total - total // 2))), 0
    else:
        p = 0 if padding == "valid" else _pair_1d(padding)[0]
    return R.conv_reference(x[:, :, None], w[:, :, None], b, (1, s), (0, p), (1, d), groups)[:, :, 0]


# ---- unfold / fold ------------------------------------------------------------------------------------------------
FOLD = ("kernel_size", "dilation", "padding", "stride")


@st.composite
def unfold_args(draw, max_side: int = 5) -> dict:
    """F.unfold's arguments (every pair axis drawn on its own; strides up to 3), as ``S.conv2d_args`` draws them, and
    the image shape."""
    args = draw(S.conv2d_args(max_groups=1, max_channels_per_group=3, max_stride=3, max_side=max_side))
    return {"x_shape": args["x_shape"], "kernel_size": args["weight_shape"][2:],
            **{k: args[k] for k in ("dilation", "padding", "stride")}}


def _spelled(draw, value: tuple[int, int]):
    """A pair argument as an int when both halves agree (half of the time), else the pair."""
    return value[0] if value[0] == value[1] and draw(st.booleans()) else value


@st.composite
def unfold_samples(draw, batched: bool = True) -> Sample:
    args = draw(unfold_args())
    shape = args["x_shape"] if batched else args["x_shape"][1:]
    return Sample((draw(S.arrays(shape)),), {k: _spelled(draw, args[k]) for k in FOLD})


@st.composite
def fold_samples(draw, batched: bool = True) -> Sample:
    args = draw(unfold_args())
    cols_shape = R.unfold_reference(np.zeros(args["x_shape"]), **{k: args[k] for k in FOLD}).shape
    shape = cols_shape if batched else cols_shape[1:]
    return Sample((draw(S.arrays(shape)),), {"output_size": _spelled(draw, args["x_shape"][2:]),
                                             **{k: _spelled(draw, args[k]) for k in FOLD}})


def _pairs(kwargs: dict) -> dict:
    return {k: (v, v) if isinstance(v, int) else tuple(v) for k, v in kwargs.items()}


def _unfold_ref(x, **kwargs):
    if x.ndim == 3:
        return R.unfold_reference(x[None], **_pairs(kwargs))[0]
    return R.unfold_reference(x, **_pairs(kwargs))


def _fold_ref(cols, output_size, **kwargs):
    size = _pairs({"o": output_size})["o"]
    if cols.ndim == 2:
        return R.fold_reference(cols[None], size, **_pairs(kwargs))[0]
    return R.fold_reference(cols, size, **_pairs(kwargs))


# ---- pixel shuffle ------------------------------------------------------------------------------------------------
@st.composite
def pixel_shuffle_samples(draw, inverse: bool) -> Sample:
    """Inputs with 0, 1 or 2 leading batch axes; factors 1 to 3."""
    r = draw(st.integers(1, 3))
    batch = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    c, h, w = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    shape = (*batch, c, h * r, w * r) if inverse else (*batch, c * r * r, h, w)
    name = "downscale_factor" if inverse else "upscale_factor"
    return Sample((draw(S.arrays(shape)),), {name: r})


# ---- bad inputs ---------------------------------------------------------------------------------------------------
BAD_TRANSPOSED2D = (
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), stride=2, output_padding=2), ValueError,
             r"conv_transpose2d: output_padding .* smaller than either the stride"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(3, 1, 2, 2)), ValueError,
             r"conv_transpose2d: input .* has 2 channels but weight .* expects 3"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 3, 3, 3), _t(3, 1, 2, 2), groups=2), ValueError,
             r"conv_transpose2d: groups=2 must divide the input channels"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 1, 1), _t(2, 1, 1, 1), padding=1), ValueError,
             r"conv_transpose2d: .* too small"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), _t(2)), ValueError,
             r"conv_transpose2d: bias must have shape \(1,\)"),
    BadInput(lambda: F.conv_transpose2d(_t(2, 3, 3), _t(2, 1, 2, 2)), ValueError,
             r"conv_transpose2d: expected a 4-D input .*unsqueeze"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2)), ValueError,
             r"conv_transpose2d: weight must be 4-D \(in_channels, out_channels/groups"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2, dtype=np.float32)), TypeError,
             r"conv_transpose2d: input is float64 but weight is float32"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), stride=0), ValueError,
             r"conv_transpose2d: stride must be >= 1"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), output_padding=-1), ValueError,
             r"conv_transpose2d: output_padding must be >= 0"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), dilation=1.5), TypeError,
             r"conv_transpose2d: dilation must be an int or a pair"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 3, 3), _t(2, 1, 2, 2), groups=0), ValueError,
             r"conv_transpose2d: groups must be a positive int"),
    BadInput(lambda: F.conv_transpose2d(_t(1, 2, 2, 2), _t(2, 1, 2, 2), stride=10**18), ValueError,
             r"conv_transpose2d: .* too large"),
)
BAD_TRANSPOSED1D = (
    BadInput(lambda: F.conv_transpose1d(_t(1, 2, 3), _t(2, 1, 2), stride=(2, 2)), ValueError,
             r"conv_transpose1d: stride must be an int or a tuple of one int"),
    BadInput(lambda: F.conv_transpose1d(_t(1, 2, 3), _t(2, 1, 2), stride=2, output_padding=2), ValueError,
             r"conv_transpose1d: output_padding .* smaller"),
    BadInput(lambda: F.conv_transpose1d(_t(1, 2, 3, 3), _t(2, 1, 2)), ValueError,
             r"conv_transpose1d: expected a 3-D input \(N, C, L\)"),
    BadInput(lambda: F.conv_transpose1d(_t(1, 2, 3), _t(2, 1, 2), _t(3)), ValueError,
             r"conv_transpose1d: bias must have shape \(1,\)"),
)
BAD_CONV1D = (
    BadInput(lambda: F.conv1d(_t(1, 2, 3), _t(1, 2, 4)), ValueError, r"conv1d: input .* the kernel spans 4"),
    BadInput(lambda: F.conv1d(_t(1, 2, 5), _t(1, 1, 2)), ValueError, r"conv1d: input .* has 2 channels but weight"),
    BadInput(lambda: F.conv1d(_t(1, 2, 5), _t(1, 2, 2), padding="full"), ValueError,
             r"conv1d: padding must be an int, 'valid' or 'same'"),
    BadInput(lambda: F.conv1d(_t(1, 2, 5), _t(1, 2, 2), stride=2, padding="same"), ValueError,
             r"conv1d: padding='same' needs stride 1"),
    BadInput(lambda: F.conv1d(_t(1, 2, 5), _t(1, 2, 2), _t(2)), ValueError, r"conv1d: bias must have shape \(1,\)"),
    BadInput(lambda: F.conv1d(_t(1, 2, 5), _t(1, 2, 2), dilation=0), ValueError,
             r"conv1d: dilation must be a positive int"),
    BadInput(lambda: F.conv1d(_t(2, 5), _t(1, 2, 2)), ValueError, r"conv1d: expected a 3-D input.*unsqueeze"),
    BadInput(lambda: F.conv1d(tg.Tensor(np.ones((1, 2, 5), dtype=np.int64)), _t(1, 2, 2)), TypeError,
             r"conv1d: input has dtype int64"),
)
BAD_UNFOLD = (
    BadInput(lambda: F.unfold(_t(1, 1, 2, 2), 3), ValueError, r"unfold: input .* the kernel spans 3"),
    BadInput(lambda: F.unfold(_t(2, 2), 1), ValueError, r"unfold: expected a 3-D \(C, H, W\) or 4-D"),
    BadInput(lambda: F.unfold(_t(1, 1, 2, 2), (1, 1, 1)), ValueError, r"unfold: kernel_size must be an int or a pair"),
    BadInput(lambda: F.unfold(_t(1, 1, 2, 2), 1, stride=0), ValueError, r"unfold: stride must be >= 1"),
    BadInput(lambda: F.unfold(_t(1, 1, 2, 2), 1, padding=-1), ValueError, r"unfold: padding must be >= 0"),
)
BAD_FOLD = (
    BadInput(lambda: F.fold(_t(1, 4, 5), (3, 3), 2), ValueError, r"fold: input .* has 5 blocks, but output_size"),
    BadInput(lambda: F.fold(_t(1, 3, 4), (3, 3), 2), ValueError, r"fold: input .* must be divisible by the kernel"),
    BadInput(lambda: F.fold(_t(1, 1, 4, 4), (3, 3), 2), ValueError, r"fold: expected a 2-D"),
    BadInput(lambda: F.fold(_t(1, 4, 4), (1, 1), 2), ValueError, r"fold: input .* the kernel spans 2"),
    BadInput(lambda: F.fold(_t(1, 4, 4), "3", 2), TypeError, r"fold: output_size must be an int or a pair"),
)
BAD_SHUFFLE = (
    BadInput(lambda: F.pixel_shuffle(_t(1, 3, 2, 2), 2), ValueError, r"pixel_shuffle: the channels \(3\)"),
    BadInput(lambda: F.pixel_shuffle(_t(4, 2), 2), ValueError, r"pixel_shuffle: expected an input of at least 3"),
    BadInput(lambda: F.pixel_shuffle(_t(1, 4, 2, 2), 0), ValueError, r"pixel_shuffle: upscale_factor must be a "
             "positive int"),
    BadInput(lambda: F.pixel_shuffle(_t(1, 4, 2, 2), 2.0), TypeError, r"pixel_shuffle: upscale_factor must be an int"),
)
BAD_UNSHUFFLE = (
    BadInput(lambda: F.pixel_unshuffle(_t(1, 1, 3, 4), 2), ValueError, r"pixel_unshuffle: the height and width"),
    BadInput(lambda: F.pixel_unshuffle(_t(4, 2), 2), ValueError, r"pixel_unshuffle: expected an input of at least 3"),
    BadInput(lambda: F.pixel_unshuffle(_t(1, 1, 2, 2), -1), ValueError, r"pixel_unshuffle: downscale_factor must"),
)


ENTRIES = [
    OpInfo("F.conv_transpose2d", _conv_transpose2d, conv_transpose2d_samples(True), ref=_conv_transpose2d_ref,
           primitives=(ConvTranspose2d,), doc=DOC, bad_inputs=BAD_TRANSPOSED2D, examples=(30, 6)),
    OpInfo("F.conv_transpose2d no bias", _conv_transpose2d, conv_transpose2d_samples(False),
           ref=_conv_transpose2d_ref, primitives=(ConvTranspose2d,), doc=DOC, examples=(20, 6)),
    # output_padding >= stride (dilation 2 > stride 1): the adjoint conv has one more row than x, cut off
    OpInfo("F.conv_transpose2d output_padding beyond the stride", _conv_transpose2d,
           conv_transpose2d_samples(True, output_padding="beyond_stride"), ref=_conv_transpose2d_ref,
           primitives=(ConvTranspose2d, Conv2d), doc=DOC, examples=(15, 6)),
    OpInfo("F.conv_transpose1d", _conv_transpose1d, conv_transpose1d_samples(), ref=_conv_transpose1d_ref,
           primitives=(Reshape, ConvTranspose2d), doc=DOC, bad_inputs=BAD_TRANSPOSED1D, examples=(20, 6)),
    OpInfo("F.conv1d", _conv1d, conv1d_samples(), ref=_conv1d_ref, primitives=(Reshape, Conv2d), doc=DOC,
           bad_inputs=BAD_CONV1D, examples=(25, 6)),
    OpInfo("F.unfold", F.unfold, unfold_samples(), ref=_unfold_ref, primitives=(Unfold,), doc=DOC,
           bad_inputs=BAD_UNFOLD, examples=(25, 10)),
    OpInfo("F.unfold unbatched", F.unfold, unfold_samples(batched=False), ref=_unfold_ref,
           primitives=(Reshape, Unfold), doc=DOC, examples=(10, 4)),
    OpInfo("F.fold", F.fold, fold_samples(), ref=_fold_ref, primitives=(Fold,), doc=DOC, bad_inputs=BAD_FOLD,
           examples=(25, 10)),
    OpInfo("F.fold unbatched", F.fold, fold_samples(batched=False), ref=_fold_ref, primitives=(Reshape, Fold),
           doc=DOC, examples=(10, 4)),
    OpInfo("F.pixel_shuffle", F.pixel_shuffle, pixel_shuffle_samples(False),
           ref=lambda x, upscale_factor: R.pixel_shuffle_reference(x, upscale_factor), primitives=(Reshape, Permute),
           doc=DOC, bad_inputs=BAD_SHUFFLE, examples=(20, 6)),
    OpInfo("F.pixel_unshuffle", F.pixel_unshuffle, pixel_shuffle_samples(True),
           ref=lambda x, downscale_factor: R.pixel_unshuffle_reference(x, downscale_factor),
           primitives=(Reshape, Permute), doc=DOC, bad_inputs=BAD_UNSHUFFLE, examples=(20, 6)),
]
