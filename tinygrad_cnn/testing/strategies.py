"""Hypothesis strategies for property tests of primitives: shapes, broadcastable pairs, matmul pairs, tensors.

Values are float64 by default (finite differences need it) and can be kept positive, away from kinks
(where a derivative jumps, e.g. 0 for relu and abs) or pairwise distinct (so max/min have no ties).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from ..tensor_class import Tensor
from .sample import Sample


def shapes(min_dims: int = 0, max_dims: int = 4, min_side: int = 1, max_side: int = 5) -> st.SearchStrategy:
    """Tuples of ints: ``min_dims..max_dims`` axes, each of size ``min_side..max_side``."""
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def broadcastable_shapes(num_shapes: int = 2, min_dims: int = 0, max_dims: int = 4, min_side: int = 1,
                         max_side: int = 4) -> st.SearchStrategy:
    """Tuples of ``num_shapes`` shapes that broadcast together (size-1 axes and missing leading axes)."""
    return hnp.mutually_broadcastable_shapes(num_shapes=num_shapes, min_dims=min_dims, max_dims=max_dims,
                                             min_side=min_side, max_side=max_side).map(lambda b: b.input_shapes)


def matmul_shapes(max_batch_dims: int = 2, max_side: int = 4) -> st.SearchStrategy:
    """(a_shape, b_shape) valid for ``a @ b`` under NumPy's rules: 1-D operands and broadcast batch axes."""
    return hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=max_batch_dims,
                                             min_side=1, max_side=max_side).map(lambda b: b.input_shapes)


def _push_away(values: np.ndarray, kinks: Sequence[float], gap: float) -> np.ndarray:
    for k in kinks:
        near = np.abs(values - k) < gap
        values = np.where(near, k + np.where(values >= k, gap, -gap), values)
    return values


def arrays(shape: tuple[int, ...] | st.SearchStrategy, low: float = -3.0, high: float = 3.0,
           dtype: type = np.float64, away_from: Sequence[float] = (), gap: float = 1e-2,
           distinct: bool = False) -> st.SearchStrategy:
    """NumPy arrays with values in [low, high].

    ``away_from`` moves values within ``gap`` of a kink to kink +- gap (values with no kink that close stay in
    [low, high]); ``distinct`` makes all values differ by at least ``gap``: [low, high] is cut into one cell per
    value and each value lies in the middle half of its own cell, so a ValueError says when they cannot fit.
    """
    shape_strategy = shape if isinstance(shape, st.SearchStrategy) else st.just(tuple(shape))

    @st.composite
    def build(draw):
        shp = draw(shape_strategy)
        n = int(np.prod(shp))
        if distinct:
            seed = draw(st.integers(0, 2**32 - 1))
            rng = np.random.default_rng(seed)
            width = (high - low) / max(n, 1)
            if n > 1 and width / 2 < gap:
                raise ValueError(f"arrays: {n} values at least gap={gap} apart do not fit in [{low}, {high}]; "
                                 "widen the range, lower gap or draw smaller shapes")
            values = low + width * (rng.permutation(n) + 0.5 + rng.uniform(-0.25, 0.25, n))
            values = _push_away(values, away_from, gap)
            if away_from and n > 1:
                assume(np.min(np.diff(np.sort(values))) >= gap)  # a pushed value landed next to another one
        else:
            values = draw(hnp.arrays(np.float64, (n,), elements=st.floats(low, high, allow_nan=False,
                                                                          allow_infinity=False)))
            values = _push_away(values, away_from, gap)
        return values.reshape(shp).astype(dtype)

    return build()


def tensors(shape: tuple[int, ...] | st.SearchStrategy, requires_grad: bool = True, **kwargs) -> st.SearchStrategy:
    """Tensors drawn by ``arrays(shape, **kwargs)`` (float64 by default), requiring grad by default."""
    return arrays(shape, **kwargs).map(lambda a: Tensor(a, requires_grad=requires_grad))


# ---- convolution and pooling arguments ----------------------------------------------------------------------------
def conv_output_size(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """The output-shape law of conv2d and pooling along one axis: floor((size + 2p - d(k - 1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _fitting_side(draw, kernel: int, padding: int, dilation: int, max_side: int) -> int:
    """An input side at least 1 on which the dilated kernel fits once padded: size + 2p >= d(k - 1) + 1."""
    low = max(1, dilation * (kernel - 1) + 1 - 2 * padding)
    return draw(st.integers(low, max(max_side, low)))


@st.composite
def conv2d_args(draw, max_batch: int = 2, max_groups: int = 2, max_channels_per_group: int = 2, max_kernel: int = 3,
                max_stride: int = 2, max_padding: int = 1, max_dilation: int = 2, max_side: int = 6) -> dict:
    """Valid arguments of ``F.conv2d``: a dict with ``x_shape`` (N, C, H, W), ``weight_shape`` (O, C/groups, kH, kW)
    and the pairs ``stride``, ``padding``, ``dilation`` plus ``groups``; every axis drawn on its own, so kernels,
    strides and paddings need not be square. ``max_side`` bounds H and W unless the kernel needs more."""
    groups = draw(st.integers(1, max_groups))
    c_in = groups * draw(st.integers(1, max_channels_per_group))
    c_out = groups * draw(st.integers(1, max_channels_per_group))
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    padding = (draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding)))
    dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
    hw = tuple(_fitting_side(draw, kernel[a], padding[a], dilation[a], max_side) for a in range(2))
    return {"x_shape": (draw(st.integers(1, max_batch)), c_in, *hw), "weight_shape": (c_out, c_in // groups, *kernel),
            "stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


@st.composite
def pool2d_args(draw, max_batch: int = 2, max_channels: int = 2, max_kernel: int = 3, max_stride: int = 3,
                max_dilation: int = 2, max_side: int = 6) -> dict:
    """Valid arguments of ``F.max_pool2d``: a dict with ``x_shape`` (N, C, H, W) and the pairs ``kernel_size``,
    ``stride``, ``padding`` (at most half the kernel, PyTorch's rule) and ``dilation``. ``F.avg_pool2d`` takes the
    same ones but ``dilation`` (draw with ``max_dilation=1``)."""
    kernel = (draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel)))
    stride = (draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride)))
    padding = (draw(st.integers(0, kernel[0] // 2)), draw(st.integers(0, kernel[1] // 2)))
    dilation = (draw(st.integers(1, max_dilation)), draw(st.integers(1, max_dilation)))
    hw = tuple(_fitting_side(draw, kernel[a], padding[a], dilation[a], max_side) for a in range(2))
    return {"x_shape": (draw(st.integers(1, max_batch)), draw(st.integers(1, max_channels)), *hw),
            "kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation}


# ---- samples for the op table (tinygrad_cnn.testing.opinfo) ----------------------------------------------------
def _kwargs_strategy(kwargs: st.SearchStrategy | dict | None) -> st.SearchStrategy:
    if kwargs is None:
        return st.just({})
    if isinstance(kwargs, dict):
        return st.fixed_dictionaries({k: v if isinstance(v, st.SearchStrategy) else st.just(v)
                                      for k, v in kwargs.items()})
    return kwargs


def samples(*inputs: st.SearchStrategy, kwargs: st.SearchStrategy | dict | None = None,
            requires_grad: Sequence[bool] | None = None) -> st.SearchStrategy:
    """``Sample``s whose inputs are drawn one per strategy in ``inputs`` (arrays) and whose keyword arguments are
    drawn from ``kwargs`` (a strategy of dicts, or a dict of strategies and constants)."""
    grads = None if requires_grad is None else tuple(requires_grad)
    return st.tuples(st.tuples(*inputs), _kwargs_strategy(kwargs)).map(lambda p: Sample(p[0], p[1], grads))


def unary_samples(low: float = -3.0, high: float = 3.0, away_from: Sequence[float] = (), max_dims: int = 3,
                  max_side: int = 4, kwargs: st.SearchStrategy | dict | None = None) -> st.SearchStrategy:
    """Samples of one float64 array of any shape (0-d included) with values in [low, high], away from kinks."""
    return samples(arrays(shapes(max_dims=max_dims, max_side=max_side), low, high, away_from=away_from),
                   kwargs=kwargs)


@st.composite
def broadcast_pairs(draw, low: float = -3.0, high: float = 3.0, b_low: float | None = None,
                    b_high: float | None = None, distinct: bool = False, max_dims: int = 3,
                    max_side: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Two float64 arrays of broadcastable shapes (size-1 axes, missing leading axes, odd sizes), the second in
    [b_low, b_high] when given; ``distinct`` keeps every pair that meets apart (no ties for max/min)."""
    sa, sb = draw(broadcastable_shapes(max_dims=max_dims, max_side=max_side))
    a = draw(arrays(sa, low, high, distinct=distinct))
    b = draw(arrays(sb, low if b_low is None else b_low, high if b_high is None else b_high, distinct=distinct))
    if distinct:
        assume(np.min(np.abs(np.subtract(a, b)), initial=1.0) > 1e-2)
    return a, b


def binary_samples(low: float = -3.0, high: float = 3.0, b_low: float | None = None, b_high: float | None = None,
                   distinct: bool = False, max_dims: int = 3, max_side: int = 3,
                   kwargs: st.SearchStrategy | dict | None = None) -> st.SearchStrategy:
    """Samples of two float64 arrays drawn by ``broadcast_pairs``."""
    pairs = broadcast_pairs(low, high, b_low, b_high, distinct, max_dims, max_side)
    return st.tuples(pairs, _kwargs_strategy(kwargs)).map(lambda p: Sample(p[0], p[1]))
