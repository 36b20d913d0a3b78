"""Max and average pooling: what the op table does not generate.

The op table (tests/optable/conv.py) checks values against the loop references of tests/references.py (ties and
windows wholly in the padding included) and gradients to second order for F.max_pool2d, F.avg_pool2d and the
kernels MaxPool2dScatter, MaxPool2dGather and AvgPool2dBackward. Here: tie-breaking (first maximum in row-major
order), the scatter/gather adjoint identity, the tiling fast path, padding counted by the average, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from references import max_pool_grad_reference

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.pool import MaxPool2dGather, MaxPool2dScatter
from tinygrad_cnn.testing import strategies as S


@st.composite
def pool_case(draw, distinct=True, **limits):
    args = draw(S.pool2d_args(**limits))
    return draw(S.arrays(args["x_shape"], distinct=distinct, gap=1e-3)), args


def max_args(args: dict) -> dict:
    return {k: args[k] for k in ("kernel_size", "stride", "padding", "dilation")}


# ---- max-pooling --------------------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(pool_case(distinct=False), st.integers(0, 2**16))
def test_max_pool_gradient_goes_to_the_first_maximum(case, seed):
    """With ties allowed (values rounded to a coarse grid), every window sends its gradient to one element."""
    x, args = case
    x = np.round(x)  # many ties
    t = leaf(x)
    y = F.max_pool2d(t, **max_args(args))
    assert np.array_equal(y.numpy(), F.max_pool2d(tg.Tensor(x), **max_args(args)).numpy()), "same as inference"
    g = np.random.default_rng(seed).standard_normal(y.shape)
    y.backward(g)
    assert np.allclose(t.grad.numpy(), max_pool_grad_reference(x, g=g, **max_args(args)))


@settings(max_examples=10)
@given(pool_case(max_side=5), st.integers(0, 2**16))
def test_scatter_and_gather_are_adjoint(case, seed):
    x, args = case
    y = F.max_pool2d(leaf(x), **max_args(args))
    index, p = y._ctx.saved[0], {**max_args(args), "input_shape": x.shape}
    rng = np.random.default_rng(seed)
    g, u = rng.standard_normal(y.shape), rng.standard_normal(x.shape)
    scattered = MaxPool2dScatter.apply(tg.Tensor(g), index=index, **p).numpy()
    gathered = MaxPool2dGather.apply(tg.Tensor(u), index=index, **max_args(args)).numpy()
    assert np.isclose(np.sum(scattered * u), np.sum(g * gathered))


def test_ties_route_the_gradient_to_the_first_element_in_row_major_order():
    ones = leaf(np.ones((1, 1, 4, 4)))
    F.max_pool2d(ones, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    assert np.array_equal(ones.grad.numpy()[0, 0], expected)

    window = leaf(np.array([[[[0.0, 5.0], [5.0, 1.0]]]]))  # two maxima: the top-right one comes first
    F.max_pool2d(window, 2).backward(np.array([[[[3.0]]]]))
    assert np.array_equal(window.grad.numpy()[0, 0], [[0.0, 3.0], [0.0, 0.0]])

    overlap = leaf(np.ones((1, 1, 3, 3)))  # stride 1: every window picks its own top-left element
    F.max_pool2d(overlap, 2, stride=1).sum().backward()
    assert np.array_equal(overlap.grad.numpy()[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])

    padded = leaf(np.zeros((1, 1, 2, 2)))  # padding is -inf: never the maximum, even against zeros
    F.max_pool2d(padded, 2, stride=1, padding=1).sum().backward()
    assert np.array_equal(padded.grad.numpy()[0, 0], [[4, 2], [2, 1]])
    assert padded.grad.numpy().sum() == 9, "nine windows, one element each"


def test_tiling_reshape_path_equals_the_strided_path():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 2, 8, 6)).astype(np.float32)
    strided = np.asfortranarray(x)  # not C-contiguous: the strided-slice path
    for kernel in [2, (2, 3), (4, 2)]:
        a, b = tg.Tensor(x, requires_grad=True), tg.Tensor(strided, requires_grad=True)
        ya, yb = F.max_pool2d(a, kernel), F.max_pool2d(b, kernel)
        assert np.array_equal(ya.numpy(), yb.numpy())
        g = rng.standard_normal(ya.shape).astype(np.float32)
        ya.backward(g)
        yb.backward(g)
        assert np.array_equal(a.grad.numpy(), b.grad.numpy())
        avg_a, avg_b = F.avg_pool2d(tg.Tensor(x), kernel), F.avg_pool2d(tg.Tensor(strided), kernel)
        assert np.array_equal(avg_a.numpy(), avg_b.numpy())


def test_float32_stays_float32_and_the_tutorial_shape():
    x = tg.Tensor(np.random.default_rng(1).standard_normal((128, 2, 24, 24)).astype(np.float32), requires_grad=True)
    y = F.max_pool2d(x, 2)
    assert y.shape == (128, 2, 12, 12) and y.dtype == np.float32
    (y.sum() + F.avg_pool2d(x, 3, stride=2, padding=1).sum()).backward()
    assert x.grad.dtype == np.float32


# ---- average pooling ----------------------------------------------------------------------------------------------
def test_avg_pool_counts_the_padding_zeros():
    x = leaf(np.ones((1, 1, 3, 3)))
    y = F.avg_pool2d(x, 3, stride=1, padding=1)
    assert np.allclose(y.numpy()[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]])
    y.sum().backward()
    assert np.allclose(x.grad.numpy()[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]])


def test_stride_defaults_to_the_kernel_size():
    x = tg.Tensor(np.arange(36.0).reshape(1, 1, 6, 6))
    assert np.array_equal(F.max_pool2d(x, 3).numpy(), F.max_pool2d(x, 3, stride=3).numpy())
    assert F.avg_pool2d(x, (2, 3)).shape == (1, 1, 3, 2)


# ---- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 2, padding=2), ValueError,
     r"max_pool2d: padding \(2, 2\) must be >= 0 and at most half the kernel size \(2, 2\) \(input \(1, 1, 5, 5\)\)"),
    (lambda: F.avg_pool2d(tg.randn(1, 1, 5, 5), 3, padding=(0, 2)), ValueError, r"avg_pool2d: padding \(0, 2\)"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 2, 2), 3), ValueError,
     r"max_pool2d: input \(1, 1, 2, 2\): the kernel spans 3 .* only 2"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 3, 5), 2, dilation=3), ValueError,
     r"the kernel spans 4 along H \(kernel \(2, 2\), dilation \(3, 3\)\) but the padded input is only 3"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 2, stride=0), ValueError, r"max_pool2d: stride must be >= 1"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 0), ValueError, r"max_pool2d: kernel_size must be >= 1"),
    (lambda: F.avg_pool2d(tg.randn(1, 1, 5, 5), 2, stride=-1), ValueError, r"avg_pool2d: stride must be >= 1"),
    (lambda: F.max_pool2d(tg.randn(1, 5, 5), 2), ValueError, r"max_pool2d: expected a 4-D input .*unsqueeze"),
    (lambda: F.avg_pool2d(tg.randn(5, 5), 2), ValueError, r"avg_pool2d: expected a 4-D input"),
    (lambda: F.max_pool2d(tg.Tensor(np.ones((1, 1, 4, 4), np.int32)), 2), TypeError, "int32"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---- ceil_mode, indices, PyTorch's divisors ---------------------------------------------------------------------
def test_ceil_mode_keeps_the_partial_last_window_and_indices_are_flat_plane_positions():
    x = leaf(np.arange(25.0).reshape(1, 1, 5, 5))
    y, idx = F.max_pool2d(x, 2, ceil_mode=True, return_indices=True)
    assert y.shape == (1, 1, 3, 3) and idx.dtype == np.int64
    assert idx.numpy()[0, 0].tolist() == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    assert np.array_equal(y.numpy().ravel(), idx.numpy().ravel())  # arange: value == flat index
    y.sum().backward()
    expected = np.zeros(25)
    expected[[6, 8, 9, 16, 18, 19, 21, 23, 24]] = 1
    assert np.array_equal(x.grad.numpy().ravel(), expected)
    assert F.max_pool2d(x, 2).shape == (1, 1, 2, 2), "floor mode drops the partial window"
    # PyTorch's rule: a last window starting in the right padding is dropped (5 + 2*1 - 3) / 2 -> 2, not 3
    assert F.max_pool2d(tg.Tensor(np.zeros((1, 1, 5, 5))), 3, stride=2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)
    assert F.max_pool2d(tg.Tensor(np.zeros((1, 1, 6, 6))), 3, stride=2, padding=1, ceil_mode=True).shape == (1, 1, 4, 4)
    assert F.max_pool2d(tg.Tensor(np.zeros((1, 1, 4, 4))), 2, stride=2, padding=1, ceil_mode=True).shape == (1, 1, 3, 3)


def test_indices_with_padding_and_dilation_point_into_the_unpadded_plane():
    x = np.random.default_rng(3).permutation(42).reshape(1, 1, 6, 7).astype(float)
    y, idx = F.max_pool2d(tg.Tensor(x), (2, 3), stride=(2, 1), padding=(1, 1), dilation=(2, 2), return_indices=True)
    assert np.array_equal(x.reshape(-1)[idx.numpy().ravel()], y.numpy().ravel())
    assert not idx.requires_grad


def test_avg_pool_divisors_as_pytorch():
    ones = tg.Tensor(np.ones((1, 1, 3, 3)))
    assert np.allclose(F.avg_pool2d(ones, 3, stride=1, padding=1, count_include_pad=False).numpy(), 1.0)
    assert np.allclose(F.avg_pool2d(ones, 2, divisor_override=3).numpy(), 4 / 3)
    x = tg.Tensor(np.arange(9.0).reshape(1, 1, 3, 3))
    y = F.avg_pool2d(x, 2, ceil_mode=True).numpy()[0, 0]  # windows [0,1]x[0,1], [0,1]x[2], [2]x[0,1], [2]x[2]
    assert np.allclose(y, [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]]), "the overhang never counts"
    y = F.avg_pool2d(x, 2, stride=2, padding=1, ceil_mode=True).numpy()[0, 0]
    assert np.allclose(y, [[0 / 4, (1 + 2) / 4], [(3 + 6) / 4, (4 + 5 + 7 + 8) / 4]]), "padding counts, by default"
    y = F.avg_pool2d(x, 2, stride=2, padding=1, ceil_mode=True, count_include_pad=False).numpy()[0, 0]
    assert np.allclose(y, [[0.0, 1.5], [4.5, 6.0]])


def test_pool1d_is_pool2d_on_one_row():
    x = leaf(np.array([[[1.0, 5.0, 2.0, 4.0, 3.0]]]))
    y, idx = F.max_pool1d(x, 2, ceil_mode=True, return_indices=True)
    assert y.numpy().tolist() == [[[5.0, 4.0, 3.0]]] and idx.numpy().tolist() == [[[1, 3, 4]]]
    assert F.avg_pool1d(x, 3, stride=1, padding=1, count_include_pad=False).numpy()[0, 0, 0] == 3.0
    assert F.max_pool1d(tg.Tensor(np.ones((3, 8))), 4).shape == (3, 2), "(C, L) without a batch axis"


# ---- adaptive pooling ---------------------------------------------------------------------------------------------
def test_adaptive_windows_are_floor_and_ceil_and_may_overlap():
    x = leaf(np.arange(5.0).reshape(1, 1, 1, 5))
    y = F.adaptive_avg_pool2d(x, (1, 3))  # windows [0, 2), [1, 4), [3, 5)
    assert np.allclose(y.numpy().ravel(), [0.5, 2.0, 3.5])
    y.backward(np.array([[[[2.0, 3.0, 4.0]]]]))
    # 2/2 to x0, x1; 3/3 to x1, x2, x3; 4/2 to x3, x4
    assert np.allclose(x.grad.numpy().ravel(), [1.0, 1 + 1, 1.0, 1 + 2, 2.0])
    up = F.adaptive_avg_pool2d(tg.Tensor(np.array([[[[1.0, 2.0]]]])), (1, 5))  # more outputs than inputs
    # windows [0, 1), [0, 1), [0, 2), [1, 2), [1, 2)
    assert np.allclose(up.numpy().ravel(), [1.0, 1.0, 1.5, 2.0, 2.0])
    assert F.adaptive_avg_pool2d(tg.Tensor(np.ones((2, 3, 7, 9))), (None, 1)).shape == (2, 3, 7, 1)


def test_adaptive_max_ties_go_to_the_first_maximum_and_overlaps_sum():
    x = leaf(np.ones((1, 1, 3, 3)))
    y, idx = F.adaptive_max_pool2d(x, 2, return_indices=True)  # windows rows [0,2), [1,3): the middle row shared
    assert idx.numpy()[0, 0].tolist() == [[0, 1], [3, 4]]
    y.sum().backward()
    assert x.grad.numpy()[0, 0].tolist() == [[1, 1, 0], [1, 1, 0], [0, 0, 0]]
    z = leaf(np.array([[[[0.0, 9.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]]))
    F.adaptive_max_pool2d(z, (1, 2)).sum().backward()  # both column windows [0,2), [1,3) hold the 9
    assert z.grad.numpy()[0, 0, 0, 1] == 2.0


@pytest.mark.parametrize("dense", [True, False])
def test_adaptive_average_of_large_offsets_stays_accurate_in_float32(dense, monkeypatch):
    from tinygrad_cnn.ops import pool
    if not dense:  # the running sums long axes use (accumulated in float64), on every axis
        monkeypatch.setattr(pool, "DENSE_UP_TO", 0)
    rng = np.random.default_rng(0)
    small = rng.standard_normal((1, 2, 64, 64)).astype(np.float32)
    x = tg.Tensor(small + np.float32(1e4))
    y = F.adaptive_avg_pool2d(x, 7).numpy().astype(np.float64) - 1e4
    want = F.adaptive_avg_pool2d(tg.Tensor(small.astype(np.float64)), 7).numpy()
    assert np.max(np.abs(y - want)) < 2e-3, "running sums in float64: no cancellation of the 1e4 offset"
    assert F.adaptive_avg_pool2d(x, 7).dtype == np.float32


def test_global_adaptive_pooling_equals_the_mean_and_max():
    x = np.random.default_rng(1).standard_normal((2, 3, 5, 6))
    assert np.allclose(F.adaptive_avg_pool2d(tg.Tensor(x), 1).numpy(), x.mean(axis=(2, 3), keepdims=True))
    assert np.allclose(F.adaptive_max_pool2d(tg.Tensor(x), 1).numpy(), x.max(axis=(2, 3), keepdims=True))


# ---- unpooling and lp_pool2d --------------------------------------------------------------------------------------
def test_max_unpool_puts_the_maxima_back():
    x = np.random.default_rng(2).permutation(36).reshape(1, 1, 6, 6).astype(float)
    y, idx = F.max_pool2d(tg.Tensor(x), 2, return_indices=True)
    back = F.max_unpool2d(y, idx, 2).numpy()
    assert back.shape == x.shape and np.array_equal(back[back != 0], x[back != 0])
    assert np.count_nonzero(back) == 9
    g = leaf(y.numpy())
    F.max_unpool2d(g, idx, 2).backward(np.arange(36.0).reshape(1, 1, 6, 6))
    assert np.array_equal(g.grad.numpy().ravel(), idx.numpy().ravel().astype(float)), "read back at the indices"
    odd = F.max_unpool2d(*F.max_pool2d(tg.Tensor(np.ones((1, 1, 5, 5))), 2, return_indices=True), 2,
                         output_size=(1, 1, 5, 5))
    assert odd.shape == (1, 1, 5, 5)


def test_lp_pool_is_the_p_norm_of_each_window():
    x = tg.Tensor(np.array([[[[3.0, 4.0], [0.0, 0.0]]]]))
    assert np.isclose(F.lp_pool2d(x, 2, 2).item(), 5.0)
    assert np.isclose(F.lp_pool2d(x, 1, 2).item(), 7.0)
    with np.errstate(invalid="ignore"):
        assert np.isnan(F.lp_pool2d(-x - 1, 1.5, 2).item()), "x^p of a negative x, fractional p: NaN, as PyTorch"


def test_layers_take_the_new_arguments():
    from tinygrad_cnn import nn
    x = tg.Tensor(np.random.default_rng(0).standard_normal((1, 2, 5, 5)))
    y, idx = nn.MaxPool2d(2, ceil_mode=True, return_indices=True)(x)
    assert y.shape == (1, 2, 3, 3) and np.array_equal(nn.MaxUnpool2d(2)(y, idx, output_size=(5, 5)).numpy() != 0,
                                                      F.max_unpool2d(y, idx, 2, output_size=(5, 5)).numpy() != 0)
    assert np.allclose(nn.AvgPool2d(2, ceil_mode=True, divisor_override=1)(x).numpy(),
                       F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=1).numpy())
    assert nn.AdaptiveAvgPool2d((2, None))(x).shape == (1, 2, 2, 5)
    assert nn.AdaptiveMaxPool2d(3, return_indices=True)(x)[1].dtype == np.int64
    assert nn.LPPool2d(2, 2)(x.abs()).shape == (1, 2, 2, 2)
    assert nn.MaxPool1d(2)(x[0]).shape == (2, 5, 2) and nn.AvgPool1d(2)(x[0]).shape == (2, 5, 2)
    with pytest.raises(ValueError, match="AdaptiveAvgPool2d: output_size must be a positive int"):
        nn.AdaptiveAvgPool2d(0)


def test_the_running_sums_of_long_axes_equal_the_dense_matrices(monkeypatch):
    from tinygrad_cnn.ops import pool
    from tinygrad_cnn.ops.pool import AdaptiveAvgPool2dBackward
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal((2, 3, 7, 11)), rng.standard_normal((2, 3, 3, 17))
    dense = (F.adaptive_avg_pool2d(tg.Tensor(x), (3, 17)).numpy(),
             AdaptiveAvgPool2dBackward.apply(tg.Tensor(g), input_shape=x.shape).numpy())
    monkeypatch.setattr(pool, "DENSE_UP_TO", 0)
    sums = (F.adaptive_avg_pool2d(tg.Tensor(x), (3, 17)).numpy(),
            AdaptiveAvgPool2dBackward.apply(tg.Tensor(g), input_shape=x.shape).numpy())
    for a, b in zip(dense, sums):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
