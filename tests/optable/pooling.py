"""Op table: the pooling options (ceil_mode, return_indices, count_include_pad, divisor_override), 1-D pooling,
adaptive pooling, power-average pooling, max-unpooling, interpolation and padding modes, with their VJP kernels
called directly, against the loops of tests/references.py (PyTorch's CPU kernels written out pixel by pixel).

The plain max_pool2d / avg_pool2d entries (and MaxPool2dScatter, MaxPool2dGather, AvgPool2dBackward) are in
tests/optable/conv.py; the entries here draw every new option on its own axis. Shapes stay small (sides <= 6).
"""

from __future__ import annotations

import numpy as np
import references as R
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.movement import Pad, TensorIndexError
from tinygrad_cnn.ops.padding import BorderPad, BorderPadBackward
from tinygrad_cnn.ops.pool import (
    AdaptiveAvgPool2d,
    AdaptiveAvgPool2dBackward,
    AdaptiveMaxPool2d,
    AvgPool2d,
    MaxPool2d,
    PlaneGather,
    PlaneScatter,
)
from tinygrad_cnn.ops.resample import Resample2d, Resample2dAdjoint
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

POOL_DOC = "derivations/pooling.md"
RESAMPLE_DOC = "derivations/interpolate.md"


def _image(*shape):
    return tg.Tensor(np.random.default_rng(0).standard_normal(shape))


# ---- max and average pooling with every option -------------------------------------------------------------------
@st.composite
def pool_options(draw, max_dilation: int = 2, max_side: int = 6) -> tuple[dict, tuple[int, ...]]:
    """The params of F.max_pool2d (or avg_pool2d with max_dilation=1) with ceil_mode drawn, and an input shape."""
    args = draw(S.pool2d_args(max_dilation=max_dilation, max_side=max_side))
    params = {k: args[k] for k in ("kernel_size", "stride", "padding", "dilation")}
    params["ceil_mode"] = draw(st.booleans())
    return params, args["x_shape"]


def _finite_windows(x, params) -> bool:
    values, _ = R.max_pool_full_reference(x, **params)
    return bool(np.all(np.isfinite(values)))


@st.composite
def max_pool_option_samples(draw, return_indices: bool = False) -> Sample:
    params, shape = draw(pool_options())
    x = draw(S.arrays(shape, distinct=True, gap=1e-3))
    assume(_finite_windows(x, params))  # a dilated window wholly in the padding is -inf, as in PyTorch
    return Sample((x,), {**params, **({"return_indices": True} if return_indices else {})})


def _max_ref(x, return_indices=False, **params):
    values, indices = R.max_pool_full_reference(x, **params)
    return (values, indices) if return_indices else values


@st.composite
def avg_pool_option_samples(draw) -> Sample:
    params, shape = draw(pool_options(max_dilation=1))
    del params["dilation"]
    params["count_include_pad"] = draw(st.booleans())
    params["divisor_override"] = draw(st.one_of(st.none(), st.integers(1, 5)))
    return Sample((draw(S.arrays(shape)),), params)


@st.composite
def pool1d_samples(draw, op: str) -> Sample:
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, 2)) if op == "max" else 1
    length = draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), 7))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), length)[draw(st.integers(0, 1)):]  # (C, L) too
    x = draw(S.arrays(shape, distinct=op == "max", gap=1e-3))
    params = {"kernel_size": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
    if op == "max":
        params["dilation"] = d
        assume(np.all(np.isfinite(_pool1d_ref(x, op="max", **params))))
    else:
        params["count_include_pad"] = draw(st.booleans())
    return Sample((x,), params)


def _pool1d_ref(x, op, kernel_size, stride, padding, ceil_mode, dilation=1, count_include_pad=True):
    image = x.reshape((-1 if x.ndim == 3 else 1, x.shape[-2], 1, x.shape[-1]))
    if op == "max":
        y = R.max_pool_full_reference(image, (1, kernel_size), (1, stride), (0, padding), (1, dilation), ceil_mode)[0]
    else:
        y = R.avg_pool_full_reference(image, (1, kernel_size), (1, stride), (0, padding), ceil_mode, count_include_pad)
    return y.reshape(x.shape[:-1] + y.shape[-1:])


# ---- max-unpooling and the plane scatter / gather -----------------------------------------------------------------
@st.composite
def unpool_samples(draw) -> Sample:
    """Values of a max_pool2d output and the indices of that pooling on an image without ties (windows that do not
    overlap, so each index appears once); output_size given or not."""
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (k[0] + draw(st.integers(0, 1)), k[1] + draw(st.integers(0, 1)))
    hw = (draw(st.integers(k[0], 6)), draw(st.integers(k[1], 6)))
    image = draw(S.arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *hw), distinct=True, gap=1e-3))
    values, indices = R.max_pool_full_reference(image, k, stride, (0, 0), (1, 1))
    default = [(values.shape[2 + a] - 1) * stride[a] + k[a] for a in range(2)]
    kwargs = {"indices": indices, "kernel_size": k, "stride": stride}
    if tuple(default) != hw:
        kwargs["output_size"] = hw  # the pooled image's own size: within (default - stride, default + stride)
    return Sample((draw(S.arrays(values.shape)),), kwargs)


def _unpool_ref(x, indices, kernel_size, stride, output_size=None):
    hw = output_size or tuple((x.shape[2 + a] - 1) * stride[a] + kernel_size[a] for a in range(2))
    return R.max_unpool_reference(x, indices, hw)


@st.composite
def plane_samples(draw, scatter: bool) -> Sample:
    """g of (N, C, m) and indices into H x W planes, repeated indices allowed (they sum)."""
    n, c = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    h, w, m = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 5))
    seed = draw(st.integers(0, 2**16))
    indices = np.random.default_rng(seed).integers(0, h * w, (n, c, m))
    if scatter:
        return Sample((draw(S.arrays((n, c, m))),), {"indices": indices, "plane_hw": (h, w), "accumulate": True})
    return Sample((draw(S.arrays((n, c, h, w))),), {"indices": indices})


def _scatter_add_ref(g, indices, plane_hw, accumulate):
    out = np.zeros((*g.shape[:2], plane_hw[0] * plane_hw[1]))
    for b, ch, i in np.ndindex(*g.shape):
        out[b, ch, indices[b, ch, i]] += g[b, ch, i]
    return out.reshape(*g.shape[:2], *plane_hw)


def _gather_ref(u, indices):
    flat = u.reshape(*u.shape[:2], -1)
    return np.stack([np.stack([flat[b, ch, indices[b, ch]] for ch in range(u.shape[1])]) for b in range(u.shape[0])])


# ---- adaptive pooling ---------------------------------------------------------------------------------------------
@st.composite
def adaptive_samples(draw, distinct: bool, spell: bool = True) -> Sample:
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    out = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    spelling = draw(st.sampled_from(["pair", "int", "none"])) if spell else "pair"
    size = {"pair": out, "int": out[0], "none": (out[0], None)}[spelling]
    return Sample((draw(S.arrays(shape, distinct=distinct, gap=1e-3)),), {"output_size": size})


def _adaptive_size(x_shape, size):
    size = size if isinstance(size, tuple) else (size, size)
    return tuple(x_shape[2 + a] if v is None else v for a, v in enumerate(size))


def _adaptive_ref(op, return_indices=False):
    def ref(x, output_size):
        out = R.adaptive_pool_reference(x, _adaptive_size(x.shape, output_size), op)
        return out if op == "avg" or return_indices else out[0]
    return ref


@st.composite
def adaptive_backward_samples(draw) -> Sample:
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    out = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    return Sample((draw(S.arrays((*shape[:2], *out))),), {"input_shape": shape})


def _adaptive_backward_ref(g, input_shape):
    """The transpose of the averaging matrix, by loops: each g[i, j] / |window| added over its window."""
    h, w = input_shape[2:]
    ho, wo = g.shape[2:]
    out = np.zeros(input_shape)
    for i, j in np.ndindex(ho, wo):
        r0, r1 = (i * h) // ho, -(-((i + 1) * h) // ho)
        c0, c1 = (j * w) // wo, -(-((j + 1) * w) // wo)
        out[:, :, r0:r1, c0:c1] += (g[:, :, i, j] / ((r1 - r0) * (c1 - c0)))[:, :, None, None]
    return out


# ---- lp_pool2d ----------------------------------------------------------------------------------------------------
@st.composite
def lp_samples(draw) -> Sample:
    k = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(k[0], 6)), draw(st.integers(k[1], 6)))
    x = draw(S.arrays(shape, low=0.2, high=2.0))  # positive: x^p and its root are smooth
    return Sample((x,), {"norm_type": draw(st.sampled_from([1.0, 2.0, 3.0, 1.5])), "kernel_size": k,
                         "stride": stride, "ceil_mode": draw(st.booleans())})


def _lp_ref(x, norm_type, kernel_size, stride, ceil_mode):
    stride = kernel_size if stride is None else stride
    pooled = R.avg_pool_full_reference(x ** norm_type, kernel_size, stride, (0, 0), ceil_mode)
    return (pooled * kernel_size[0] * kernel_size[1]) ** (1 / norm_type)


# ---- interpolation ------------------------------------------------------------------------------------------------
@st.composite
def interpolate_samples(draw, ndim: int = 4) -> Sample:
    modes = ["nearest", "nearest-exact", "bilinear", "bicubic", "area"] if ndim == 4 else ["nearest", "linear"]
    mode = draw(st.sampled_from(modes))
    spatial = ndim - 2
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *(draw(st.integers(1, 5)) for _ in range(spatial)))
    kwargs: dict = {"mode": mode}
    if draw(st.booleans()):
        kwargs["size"] = tuple(draw(st.integers(1, 7)) for _ in range(spatial))
    else:
        factors = tuple(draw(st.sampled_from([0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0])) for _ in range(spatial))
        assume(all(int(n * f) >= 1 for n, f in zip(shape[2:], factors)))
        kwargs["scale_factor"] = factors
        if draw(st.booleans()):
            kwargs["recompute_scale_factor"] = True
    if mode in ("linear", "bilinear", "bicubic"):
        kwargs["align_corners"] = draw(st.booleans())
    return Sample((draw(S.arrays(shape)),), kwargs)


def _interpolate_ref(x, mode, size=None, scale_factor=None, align_corners=False, recompute_scale_factor=None):
    image = x if x.ndim == 4 else x[:, :, None, :]
    if size is None:
        size = tuple(int(np.floor(n * f)) for n, f in zip(x.shape[2:], scale_factor))
        scales = (None,) * len(size) if recompute_scale_factor else scale_factor
    else:
        scales = (None,) * len(size)
    if x.ndim == 3:
        size, scales = (1, *size), (None, *scales)
    if mode == "area":
        y = R.adaptive_pool_reference(image, size, "avg")
    else:
        y = R.interpolate_reference(image, size, "bilinear" if mode == "linear" else mode, align_corners, scales)
    return y if x.ndim == 4 else y[:, :, 0, :]


@st.composite
def resample_adjoint_samples(draw) -> Sample:
    mode = draw(st.sampled_from(["nearest", "nearest-exact", "bilinear", "bicubic"]))
    input_hw = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    size = (draw(st.integers(1, 7)), draw(st.integers(1, 7)))
    g = draw(S.arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *size)))
    return Sample((g,), {"input_hw": input_hw, "size": size, "mode": mode, "align_corners": draw(st.booleans())})


def _resample_adjoint_ref(g, input_hw, size, mode, align_corners):
    """The transpose of interpolate_reference's matrix, column by column (its response to each unit image)."""
    out = np.zeros((*g.shape[:2], *input_hw))
    for r, s in np.ndindex(*input_hw):
        unit = np.zeros((1, 1, *input_hw))
        unit[0, 0, r, s] = 1.0
        response = R.interpolate_reference(unit, size, mode, align_corners)[0, 0]
        out[:, :, r, s] = np.sum(g * response, axis=(2, 3))
    return out


# ---- padding ------------------------------------------------------------------------------------------------------
@st.composite
def pad_samples(draw, mode: str) -> Sample:
    if mode == "constant":
        shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
        k = draw(st.integers(1, len(shape)))
    else:
        k = draw(st.integers(1, 3))
        shape = tuple(draw(st.integers(1, 3)) for _ in range(k + draw(st.integers(1, 2))))
        shape = shape[:-k] + tuple(draw(st.integers(2 if mode == "reflect" else 1, 4)) for _ in range(k))
    pad = []
    for n in reversed(shape[-k:]):  # last axis first
        for _ in range(2):
            if mode == "constant":
                pad.append(draw(st.integers(-(n // 2), 2)))
            else:
                pad.append(draw(st.integers(0, {"reflect": n - 1, "replicate": 3, "circular": n}[mode])))
    kwargs = {"pad": tuple(pad), "mode": mode}
    if mode == "constant" and draw(st.booleans()):
        kwargs["value"] = draw(st.sampled_from([-1.5, 2.0]))
    return Sample((draw(S.arrays(shape)),), kwargs)


def _pad_ref(x, pad, mode, value=None):
    return R.pad_reference(x, pad, mode, 0.0 if value is None else value)


@st.composite
def pad_backward_samples(draw) -> Sample:
    mode = draw(st.sampled_from(["reflect", "replicate", "circular"]))
    sample = draw(pad_samples(mode))
    x = sample.inputs[0]
    k = len(sample.kwargs["pad"]) // 2
    pad = sample.kwargs["pad"]
    pairs = [(0, 0)] * (x.ndim - k) + [(pad[2 * i], pad[2 * i + 1]) for i in reversed(range(k))]
    g = draw(S.arrays(tuple(n + b + e for n, (b, e) in zip(x.shape, pairs))))
    return Sample((g,), {"input_shape": x.shape, "pad_width": tuple(pairs), "mode": mode})


def _pad_backward_ref(g, input_shape, pad_width, mode):
    """The transpose of pad_reference's matrix: its response to each unit input, dotted with g."""
    flat_pad = [v for b, e in reversed(pad_width) for v in (b, e)]  # every axis, F.pad's order
    out = np.zeros(input_shape)
    for where in np.ndindex(*input_shape):
        unit = np.zeros(input_shape)
        unit[where] = 1.0
        out[where] = np.sum(g * R.pad_reference(unit, flat_pad, mode))
    return out


def _bad(call, error, match, why=""):
    return BadInput(call, error, match, why)


ENTRIES = [
    OpInfo("F.max_pool2d ceil_mode", F.max_pool2d, max_pool_option_samples(), ref=_max_ref, primitives=(MaxPool2d,),
           doc=POOL_DOC, examples=(25, 8),
           bad_inputs=(_bad(lambda: F.max_pool2d(_image(1, 1, 4, 4), 2, ceil_mode=1), TypeError,
                            r"max_pool2d: ceil_mode must be True or False"),
                       _bad(lambda: F.max_pool2d(_image(1, 1, 4, 4), 2, return_indices="yes"), TypeError,
                            r"max_pool2d: return_indices"))),
    OpInfo("F.max_pool2d return_indices", F.max_pool2d, max_pool_option_samples(return_indices=True), ref=_max_ref,
           primitives=(MaxPool2d,), doc=POOL_DOC, examples=(20, 4)),
    OpInfo("F.avg_pool2d options", F.avg_pool2d, avg_pool_option_samples(), ref=R.avg_pool_full_reference,
           primitives=(AvgPool2d,), doc=POOL_DOC, examples=(30, 10),
           bad_inputs=(_bad(lambda: F.avg_pool2d(_image(1, 1, 4, 4), 2, divisor_override=0), ValueError,
                            r"avg_pool2d: divisor_override must be a positive int"),
                       _bad(lambda: F.avg_pool2d(_image(1, 1, 4, 4), 2, count_include_pad=None), TypeError,
                            r"avg_pool2d: count_include_pad"))),
    OpInfo("F.max_pool1d", F.max_pool1d, pool1d_samples("max"), ref=lambda x, **p: _pool1d_ref(x, "max", **p),
           doc=POOL_DOC, examples=(20, 4),
           bad_inputs=(_bad(lambda: F.max_pool1d(_image(1, 1, 4, 4), 2), ValueError,
                            r"max_pool1d: expected a 2-D \(C, L\) or 3-D \(N, C, L\) input"),
                       _bad(lambda: F.max_pool1d(_image(1, 4), (2, 2)), TypeError, r"max_pool1d: kernel_size"))),
    OpInfo("F.avg_pool1d", F.avg_pool1d, pool1d_samples("avg"), ref=lambda x, **p: _pool1d_ref(x, "avg", **p),
           doc=POOL_DOC, examples=(20, 4),
           bad_inputs=(_bad(lambda: F.avg_pool1d(tg.Tensor(np.ones((1, 4), np.int64)), 2), TypeError,
                            r"avg_pool1d: input has dtype int64"),)),
    OpInfo("F.max_unpool2d", F.max_unpool2d, unpool_samples(), ref=_unpool_ref, primitives=(PlaneScatter,),
           doc=POOL_DOC, examples=(20, 6),
           bad_inputs=(_bad(lambda: F.max_unpool2d(_image(1, 1, 2, 2), tg.Tensor(np.full((1, 1, 2, 2), 16)), 2),
                            TensorIndexError, r"max_unpool2d: indices must be in \[0, 16\)"),
                       _bad(lambda: F.max_unpool2d(_image(1, 1, 2, 2), _image(1, 1, 2, 2), 2), TypeError,
                            r"max_unpool2d: indices must be integers"),
                       _bad(lambda: F.max_unpool2d(_image(1, 1, 2, 2), tg.Tensor(np.zeros((1, 1, 2, 1), np.int64)),
                                                   2), ValueError, r"max_unpool2d: indices of shape"),
                       _bad(lambda: F.max_unpool2d(_image(1, 1, 2, 2), tg.Tensor(np.zeros((1, 1, 2, 2), np.int64)),
                                                   2, output_size=(9, 4)), ValueError,
                            r"max_unpool2d: output_size \(9, 4\) must lie strictly between"))),
    OpInfo("PlaneScatter", lambda g, **p: PlaneScatter.apply(g, **p), plane_samples(scatter=True),
           ref=_scatter_add_ref, primitives=(PlaneScatter,), doc=POOL_DOC, examples=(15, 6)),
    OpInfo("PlaneGather", lambda u, **p: PlaneGather.apply(u, **p), plane_samples(scatter=False), ref=_gather_ref,
           primitives=(PlaneGather,), doc=POOL_DOC, examples=(15, 6)),
    OpInfo("F.adaptive_avg_pool2d", F.adaptive_avg_pool2d, adaptive_samples(distinct=False),
           ref=_adaptive_ref("avg"), primitives=(AdaptiveAvgPool2d,), doc=POOL_DOC, examples=(25, 8),
           bad_inputs=(_bad(lambda: F.adaptive_avg_pool2d(_image(1, 1, 4, 4), 0), ValueError,
                            r"adaptive_avg_pool2d: output_size must be a positive int"),
                       _bad(lambda: F.adaptive_avg_pool2d(_image(1, 1, 4, 4), (1, 2, 3)), ValueError,
                            r"adaptive_avg_pool2d: output_size must be an int or a pair"),
                       _bad(lambda: F.adaptive_avg_pool2d(_image(1, 4, 4), 2), ValueError,
                            r"adaptive_avg_pool2d: expected a 4-D input"))),
    OpInfo("AdaptiveAvgPool2dBackward", lambda g, **p: AdaptiveAvgPool2dBackward.apply(g, **p),
           adaptive_backward_samples(), ref=_adaptive_backward_ref, primitives=(AdaptiveAvgPool2dBackward,),
           doc=POOL_DOC, examples=(20, 6)),
    OpInfo("F.adaptive_max_pool2d", F.adaptive_max_pool2d, adaptive_samples(distinct=True), ref=_adaptive_ref("max"),
           primitives=(AdaptiveMaxPool2d,), doc=POOL_DOC, examples=(25, 8),
           bad_inputs=(_bad(lambda: F.adaptive_max_pool2d(_image(1, 1, 4, 4), 2.5), TypeError,
                            r"adaptive_max_pool2d: output_size must be an int"),)),
    OpInfo("F.adaptive_max_pool2d return_indices", lambda x, **p: F.adaptive_max_pool2d(x, return_indices=True, **p),
           adaptive_samples(distinct=True, spell=False), ref=_adaptive_ref("max", return_indices=True),
           primitives=(AdaptiveMaxPool2d,), doc=POOL_DOC, examples=(15, 4)),
    OpInfo("F.lp_pool2d", F.lp_pool2d, lp_samples(), ref=_lp_ref, doc=POOL_DOC, examples=(20, 6),
           bad_inputs=(_bad(lambda: F.lp_pool2d(_image(1, 1, 4, 4), 0, 2), ValueError,
                            r"lp_pool2d: norm_type must be nonzero"),
                       _bad(lambda: F.lp_pool2d(_image(1, 1, 4, 4), "2", 2), TypeError, r"lp_pool2d: norm_type"))),
    OpInfo("F.interpolate", F.interpolate, interpolate_samples(4), ref=_interpolate_ref, doc=RESAMPLE_DOC,
           examples=(40, 12),
           bad_inputs=(_bad(lambda: F.interpolate(_image(1, 1, 4, 4), 2, 2.0), ValueError,
                            r"interpolate: pass exactly one of size and scale_factor, got both"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4)), ValueError, r"interpolate: .* got neither"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4), 8, align_corners=True), ValueError,
                            r"interpolate: align_corners can only be set with the interpolating modes"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4), 8, mode="bilinear"), ValueError,
                            r"interpolate: mode 'bilinear' needs a 4-D input"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4), 8, mode="trilinear"), ValueError,
                            r"interpolate: mode must be"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4), (8, 8, 8)), ValueError,
                            r"interpolate: size must be one value or 2"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4), scale_factor=0.1), ValueError,
                            r"interpolate: scale_factor 0.1 gives the empty size"),
                       _bad(lambda: F.interpolate(_image(1, 1, 4, 4), 8, antialias=True), ValueError,
                            r"interpolate: antialias"))),
    OpInfo("F.interpolate 1-D", F.interpolate, interpolate_samples(3), ref=_interpolate_ref, doc=RESAMPLE_DOC,
           examples=(20, 4)),
    OpInfo("Resample2dAdjoint", lambda g, **p: Resample2dAdjoint.apply(g, **p), resample_adjoint_samples(),
           ref=_resample_adjoint_ref, primitives=(Resample2dAdjoint,), doc=RESAMPLE_DOC, examples=(20, 6)),
    OpInfo("Resample2d", lambda x, **p: Resample2d.apply(x, **p),
           interpolate_samples(4).filter(lambda s: s.kwargs["mode"] != "area" and "size" in s.kwargs),
           ref=lambda x, size, mode, align_corners=False: R.interpolate_reference(x, size, mode, align_corners),
           primitives=(Resample2d,), doc=RESAMPLE_DOC, examples=(15, 4)),
    OpInfo("F.pad", F.pad, pad_samples("constant"), ref=_pad_ref, primitives=(Pad,), doc=RESAMPLE_DOC,
           examples=(20, 4),
           bad_inputs=(_bad(lambda: F.pad(_image(2, 3), (1,)), ValueError, r"pad: pad \(1,\) must have an even length"),
                       _bad(lambda: F.pad(_image(2, 3), (1.5, 1)), TypeError, r"pad: pad must be a tuple of ints"),
                       _bad(lambda: F.pad(_image(2, 3), (-2, -2)), ValueError, r"pad: pad .* crops more"),
                       _bad(lambda: F.pad(_image(2, 3), (1, 1), mode="wrap"), ValueError, r"pad: mode must be"))),
    OpInfo("F.pad reflect", F.pad, pad_samples("reflect"), ref=_pad_ref, primitives=(BorderPad,), doc=RESAMPLE_DOC,
           examples=(20, 4),
           bad_inputs=(_bad(lambda: F.pad(_image(1, 2, 3), (3, 0), mode="reflect"), ValueError,
                            r"pad: reflect padding \(3, 0\) must be less than the size"),
                       _bad(lambda: F.pad(_image(1, 2, 3), (1, 0), mode="reflect", value=1.0), ValueError,
                            r"pad: padding mode 'reflect' doesn't take a value"),
                       _bad(lambda: F.pad(_image(3), (1, 0), mode="reflect"), ValueError,
                            r"pad: mode 'reflect' pads the last 1, 2 or 3 axes"),
                       _bad(lambda: F.pad(_image(1, 2, 3), (-1, 0), mode="reflect"), ValueError,
                            r"pad: mode 'reflect' needs pad widths >= 0"))),
    OpInfo("F.pad replicate", F.pad, pad_samples("replicate"), ref=_pad_ref, primitives=(BorderPad,),
           doc=RESAMPLE_DOC, examples=(20, 4)),
    OpInfo("F.pad circular", F.pad, pad_samples("circular"), ref=_pad_ref, primitives=(BorderPad,), doc=RESAMPLE_DOC,
           examples=(20, 4),
           bad_inputs=(_bad(lambda: F.pad(_image(1, 2, 3), (4, 0), mode="circular"), ValueError,
                            r"pad: circular padding \(4, 0\) must be at most the size"),)),
    OpInfo("BorderPadBackward", lambda g, **p: BorderPadBackward.apply(g, **p), pad_backward_samples(),
           ref=_pad_backward_ref, primitives=(BorderPadBackward,), doc=RESAMPLE_DOC, examples=(20, 6)),
]
