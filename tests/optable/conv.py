"""Op table: convolution (tinygrad_cnn/ops/conv.py) and pooling (tinygrad_cnn/ops/pool.py), the public F. functions
and their VJP kernels called directly with their params, against the direct-loop references of tests/references.py.

Every geometry option is drawn on its own axis (``S.conv2d_args`` / ``S.pool2d_args``): batch, channels, groups,
non-square kernels, strides, paddings and dilations. Shapes stay small (sides <= 5, or 6 where the replaced forward
tests drew 6; batch <= 2): a gradcheck perturbs every input element, a gradgradcheck every element of the VJP's
inputs too.
"""

from __future__ import annotations

import numpy as np
import references as R
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import Conv2d, Conv2dInputGrad, Conv2dWeightGrad
from tinygrad_cnn.ops.pool import AvgPool2d, AvgPool2dBackward, MaxPool2d, MaxPool2dGather, MaxPool2dScatter
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

CONV_DOC = "derivations/conv2d.md"
POOL_DOC = "derivations/pooling.md"
CONV_PARAMS = ("stride", "padding", "dilation", "groups")
POOL_PARAMS = ("kernel_size", "stride", "padding", "dilation")


# ---- convolution --------------------------------------------------------------------------------------------------
def _conv_out_shape(args: dict) -> tuple[int, ...]:
    (n, _, h, w), (o, _, kh, kw) = args["x_shape"], args["weight_shape"]
    s, p, d = args["stride"], args["padding"], args["dilation"]
    return n, o, S.conv_output_size(h, kh, s[0], p[0], d[0]), S.conv_output_size(w, kw, s[1], p[1], d[1])


@st.composite
def conv2d_samples(draw, bias: bool, **limits) -> Sample:
    """(x, w[, b]) and the params of F.conv2d, every option drawn (``S.conv2d_args``)."""
    args = draw(S.conv2d_args(**limits))
    arrays = [draw(S.arrays(args["x_shape"])), draw(S.arrays(args["weight_shape"]))]
    if bias:
        arrays.append(draw(S.arrays((args["weight_shape"][0],))))
    return Sample(tuple(arrays), {k: args[k] for k in CONV_PARAMS})


@st.composite
def conv_input_grad_samples(draw, **limits) -> Sample:
    """(g, w) with g of conv2d's output shape, and Conv2dInputGrad's params (``input_shape`` included)."""
    args = draw(S.conv2d_args(**limits))
    g, w = draw(S.arrays(_conv_out_shape(args))), draw(S.arrays(args["weight_shape"]))
    return Sample((g, w), {"input_shape": args["x_shape"], **{k: args[k] for k in CONV_PARAMS}})


@st.composite
def conv_weight_grad_samples(draw, **limits) -> Sample:
    """(x, g) with g of conv2d's output shape, and Conv2dWeightGrad's params (``weight_shape`` included)."""
    args = draw(S.conv2d_args(**limits))
    x, g = draw(S.arrays(args["x_shape"])), draw(S.arrays(_conv_out_shape(args)))
    return Sample((x, g), {"weight_shape": args["weight_shape"], **{k: args[k] for k in CONV_PARAMS}})


def _conv2d(x, w, b=None, **params):
    return F.conv2d(x, w, b, **params)


def _conv2d_ref(x, w, b=None, **params):
    return R.conv_reference(x, w, b, **params)


def conv_entry(name: str, bias: bool) -> OpInfo:
    return OpInfo(name, _conv2d, conv2d_samples(bias, max_side=6), ref=_conv2d_ref, primitives=(Conv2d,),
                  doc=CONV_DOC, examples=(30, 6))


# ---- pooling ------------------------------------------------------------------------------------------------------
def _all_windows_see_the_input(x: np.ndarray, params: dict) -> bool:
    """False when a (dilated) window lies wholly in the padding: its maximum is -inf, as in PyTorch, and finite
    differences cannot see through it."""
    return bool(np.all(np.isfinite(R.pool_reference(x, op="max", **params))))


@st.composite
def pool_input(draw, distinct: bool = True, finite: bool = True, **limits) -> tuple[np.ndarray, dict]:
    """An NCHW input and the pooling params (``S.pool2d_args``); pairwise distinct values (no ties) by default."""
    args = draw(S.pool2d_args(**limits))
    x = draw(S.arrays(args["x_shape"], distinct=distinct, gap=1e-3))
    params = {k: args[k] for k in POOL_PARAMS}
    if finite:
        assume(_all_windows_see_the_input(x, params))
    return x, params


def _pool_out_shape(x_shape, params) -> tuple[int, ...]:
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (params[k] for k in POOL_PARAMS)
    return (*x_shape[:2], S.conv_output_size(x_shape[2], kh, sh, ph, dh),
            S.conv_output_size(x_shape[3], kw, sw, pw, dw))


@st.composite
def max_pool_samples(draw, distinct: bool = True, finite: bool = True, **limits) -> Sample:
    x, params = draw(pool_input(distinct, finite, **limits))
    return Sample((x,), params)


@st.composite
def avg_pool_samples(draw, **limits) -> Sample:
    x, params = draw(pool_input(distinct=False, finite=False, max_dilation=1, **limits))
    del params["dilation"]
    return Sample((x,), params)


@st.composite
def scatter_samples(draw, **limits) -> Sample:
    """g of max-pooling's output shape; the kwargs hold the pooled input ``x`` (no ties) the op takes the arg-max
    index from, and the pooling params."""
    x, params = draw(pool_input(**limits))
    return Sample((draw(S.arrays(_pool_out_shape(x.shape, params))),), {"x": x, **params})


@st.composite
def gather_samples(draw, **limits) -> Sample:
    """u of the pooled input's shape; the kwargs hold that input ``x`` (no ties) and the pooling params."""
    x, params = draw(pool_input(**limits))
    return Sample((draw(S.arrays(x.shape)),), {"x": x, **params})


@st.composite
def avg_backward_samples(draw, **limits) -> Sample:
    x, params = draw(pool_input(distinct=False, finite=False, max_dilation=1, **limits))
    del params["dilation"]
    return Sample((draw(S.arrays(_pool_out_shape(x.shape, {**params, "dilation": (1, 1)}))),),
                  {"input_shape": x.shape, **params})


def argmax_index(x: np.ndarray, params: dict) -> np.ndarray:
    """The arg-max index a MaxPool2d forward on ``x`` saves for its VJP (as tests/test_inplace.py's MAXPOOL_INDEX)."""
    return MaxPool2d.apply(tg.Tensor(x, requires_grad=True), **params).grad_fn.saved[0]


def _scatter(g, x, **params):
    return MaxPool2dScatter.apply(g, index=argmax_index(x, params), input_shape=x.shape, **params)


def _gather(u, x, **params):
    return MaxPool2dGather.apply(u, index=argmax_index(x, params), **params)


def _max_ref(x, **params):
    return R.pool_reference(x, op="max", **params)


def _avg_ref(x, **params):
    return R.pool_reference(x, op="avg", dilation=(1, 1), **params)


ENTRIES = [
    conv_entry("F.conv2d", bias=True),
    conv_entry("F.conv2d no bias", bias=False),
    # the primitive itself, on params F.conv2d would normalise (a stride beyond the padded input, a dilated 1-wide
    # kernel): the VJPs of the two kernels below call it that way
    OpInfo("Conv2d", lambda x, w, b, **p: Conv2d.apply(x, w, b, **p), conv2d_samples(True, max_side=5),
           ref=R.conv_reference, primitives=(Conv2d,), doc=CONV_DOC, examples=(20, 6)),
    OpInfo("Conv2dInputGrad", lambda g, w, **p: Conv2dInputGrad.apply(g, w, **p), conv_input_grad_samples(max_side=5),
           ref=R.conv_input_grad_reference, primitives=(Conv2dInputGrad,), doc=CONV_DOC, examples=(20, 6)),
    OpInfo("Conv2dWeightGrad", lambda x, g, **p: Conv2dWeightGrad.apply(x, g, **p),
           conv_weight_grad_samples(max_side=5), ref=R.conv_weight_grad_reference, primitives=(Conv2dWeightGrad,),
           doc=CONV_DOC, examples=(20, 6)),
    OpInfo("F.max_pool2d", F.max_pool2d, max_pool_samples(max_side=5), ref=_max_ref, primitives=(MaxPool2d,),
           doc=POOL_DOC, examples=(30, 20)),
    # ties (values on a coarse grid are allowed to repeat) and windows wholly in the padding (-inf): the forward
    # only, exact; the gradient's tie rule has its own test in test_pool.py
    OpInfo("F.max_pool2d ties and padding-only windows", F.max_pool2d,
           max_pool_samples(distinct=False, finite=False, max_side=6), ref=_max_ref, primitives=(MaxPool2d,),
           grad_order=0, doc=POOL_DOC, examples=(30, 6), ref_tol={"rtol": 0, "atol": 0}),
    OpInfo("F.avg_pool2d", F.avg_pool2d, avg_pool_samples(max_side=6), ref=_avg_ref, primitives=(AvgPool2d,),
           doc=POOL_DOC, examples=(30, 15)),
    OpInfo("MaxPool2dScatter", _scatter, scatter_samples(max_side=5),
           ref=lambda g, x, **p: R.max_pool_grad_reference(x, g=g, **p), primitives=(MaxPool2dScatter,), doc=POOL_DOC,
           examples=(20, 10)),
    OpInfo("MaxPool2dGather", _gather, gather_samples(max_side=5),
           ref=lambda u, x, **p: R.max_pool_gather_reference(x, u, **p), primitives=(MaxPool2dGather,), doc=POOL_DOC,
           examples=(20, 10)),
    OpInfo("AvgPool2dBackward", lambda g, **p: AvgPool2dBackward.apply(g, **p), avg_backward_samples(max_side=6),
           ref=R.avg_pool_grad_reference, primitives=(AvgPool2dBackward,), doc=POOL_DOC, examples=(20, 10)),
]
