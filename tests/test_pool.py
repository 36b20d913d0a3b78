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
