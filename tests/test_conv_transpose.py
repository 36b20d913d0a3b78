"""Hand-derived cases of the convolution extensions: ConvTranspose2d (F.conv_transpose1d/2d), conv1d, Unfold / Fold
and pixel_shuffle, and their layers. The generated gradient and reference tests are in tests/optable/conv_extra.py;
here are values and gradients worked out by hand, the output-size law, the corner case output_padding >= stride,
the adjoint identities, degenerate shapes and the layers' arguments and initialisation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import ConvTranspose2d, Fold, Unfold
from tinygrad_cnn.testing import gradcheck, gradgradcheck


def leaf(a, dtype=np.float64):
    return tg.Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def rng():
    return np.random.default_rng(1234)


# ---- transposed convolution: values by hand ----------------------------------------------------------------------
def test_conv_transpose_stride_1_overlaps_add():
    """x = [1, 2], w = [a, b] = [3, 5]: y = [x0 a, x0 b + x1 a, x1 b] = [3, 11, 10]."""
    x, w = leaf([[[[1.0, 2.0]]]]), leaf([[[[3.0, 5.0]]]])
    y = F.conv_transpose2d(x, w)
    np.testing.assert_array_equal(y.data, [[[[3.0, 11.0, 10.0]]]])
    # d/dx of <u, y> with u = [1, 10, 100]: x0 -> a u0 + b u1 = 3 + 50, x1 -> a u1 + b u2 = 30 + 500
    # d/dw: a -> x0 u0 + x1 u1 = 1 + 20, b -> x0 u1 + x1 u2 = 10 + 200
    y.backward(tg.Tensor(np.array([[[[1.0, 10.0, 100.0]]]])))
    np.testing.assert_array_equal(x.grad.data, [[[[53.0, 530.0]]]])
    np.testing.assert_array_equal(w.grad.data, [[[[21.0, 210.0]]]])


def test_conv_transpose_stride_2_places_the_kernel_apart_and_output_padding_holds_only_the_bias():
    """Stride 2 with a 1x2 kernel: the copies of w do not overlap, y = [x0 a, x0 b, x1 a, x1 b]; output_padding 1
    adds a column no input reaches: bias only."""
    x, w, b = leaf([[[[1.0, 2.0]]]]), leaf([[[[3.0, 5.0]]]]), leaf([0.5])
    y = F.conv_transpose2d(x, w, b, stride=(1, 2), output_padding=(0, 1))
    np.testing.assert_array_equal(y.data, [[[[3.5, 5.5, 6.5, 10.5, 0.5]]]])
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.data, [5.0])  # the bias reaches every output element
    np.testing.assert_array_equal(x.grad.data, [[[[8.0, 8.0]]]])  # each x element sums the kernel once


def test_padding_crops_the_canvas():
    """padding 1 crops one element from each side of the stride-1 result [3, 11, 10]: [11]."""
    y = F.conv_transpose2d(leaf([[[[1.0, 2.0]]]]), leaf([[[[3.0, 5.0]]]]), padding=(0, 1))
    np.testing.assert_array_equal(y.data, [[[[11.0]]]])


def test_groups_keep_channels_apart():
    """Two groups, one channel each: channel 0 of x reaches only channel 0 of y, with its own kernel."""
    x = leaf(np.array([1.0, 10.0]).reshape(1, 2, 1, 1))
    w = leaf(np.array([2.0, 3.0]).reshape(2, 1, 1, 1))
    y = F.conv_transpose2d(x, w, groups=2)
    np.testing.assert_array_equal(y.data.ravel(), [2.0, 30.0])


def test_output_padding_beyond_the_stride_cuts_the_adjoint_conv():
    """Stride 1, dilation 2, kernel [a, b], output_padding 1 (allowed: < dilation): x = [x0, x1] gives
    y[p + 2 i] += x[p] w[i] = [x0 a, x1 a, x0 b, x1 b, 0]. The gradient x[p] <- u[p] a + u[p + 2] b reads only two
    windows of the five-long u, whose conv with the dilated kernel has three: the third (u2 a + u4 b) is dropped."""
    x, w = leaf([[[[1.0, 2.0]]]]), leaf([[[[3.0, 5.0]]]])
    y = F.conv_transpose2d(x, w, dilation=(1, 2), output_padding=(0, 1))
    np.testing.assert_array_equal(y.data, [[[[3.0, 6.0, 5.0, 10.0, 0.0]]]])
    u = np.array([[[[1.0, 10.0, 100.0, 1000.0, 10000.0]]]])
    y.backward(tg.Tensor(u))
    np.testing.assert_array_equal(x.grad.data, [[[[3 + 500.0, 30 + 5000.0]]]])
    np.testing.assert_array_equal(w.grad.data, [[[[1 + 20.0, 100 + 2000.0]]]])
    xs = leaf(rng().standard_normal((2, 2, 3, 2)))
    ws = leaf(rng().standard_normal((2, 3, 2, 3)))
    f = lambda a, b: F.conv_transpose2d(a, b, dilation=2, output_padding=1, padding=(1, 0))  # noqa: E731
    assert gradcheck(f, xs, ws) and gradgradcheck(f, xs, ws)


def test_output_size_law_and_round_trip_through_conv2d():
    """H_out = (H - 1) s - 2p + d(k - 1) + output_padding + 1; a stride-2 conv2d maps 7 and 8 to 3, and the
    transposed conv maps 3 back to 7 (output_padding 0) or 8 (output_padding 1)."""
    w = tg.Tensor(rng().standard_normal((2, 3, 3, 3)))
    for size, op in ((7, 0), (8, 1)):
        x = tg.Tensor(rng().standard_normal((1, 2, size, size)))
        y = F.conv2d(x, w.permute((1, 0, 2, 3)), stride=2)
        assert y.shape == (1, 3, 3, 3)
        assert F.conv_transpose2d(y, w.permute((1, 0, 2, 3)), stride=2, output_padding=op).shape == (1, 2, size, size)
    z = F.conv_transpose2d(tg.randn(1, 2, 4, 5), tg.randn(2, 1, 3, 2), stride=(3, 1), padding=(1, 0), dilation=(2, 1),
                           output_padding=(1, 0))
    assert z.shape == (1, 1, 3 * 3 - 2 + 2 * 2 + 1 + 1, 4 * 1 + 1 + 1)


def test_conv_transpose_is_the_adjoint_of_conv2d():
    """<u, conv_transpose2d(x, w)> = <conv2d(u, w), x> for every geometry where output_padding < stride."""
    r = rng()
    for s, p, d, g in (((2, 1), (1, 0), (1, 2), 1), ((3, 2), (0, 1), (2, 1), 2)):
        x, w = r.standard_normal((2, 4, 3, 4)), r.standard_normal((4, 3, 2, 3))
        y = F.conv_transpose2d(tg.Tensor(x), tg.Tensor(w), stride=s, padding=p, dilation=d, groups=g)
        u = r.standard_normal(y.shape)
        back = F.conv2d(tg.Tensor(u), tg.Tensor(w), stride=s, padding=p, dilation=d, groups=g)
        assert back.shape == x.shape
        np.testing.assert_allclose(np.vdot(u, y.data), np.vdot(back.data, x), rtol=1e-12)


def test_conv_transpose_is_what_conv2d_backward_sends_to_its_input():
    r = rng()
    x, w, g = leaf(r.standard_normal((2, 4, 7, 6))), r.standard_normal((6, 2, 3, 3)), r.standard_normal((2, 6, 4, 3))
    F.conv2d(x, tg.Tensor(w), stride=2, padding=1, groups=2).backward(tg.Tensor(g))
    y = F.conv_transpose2d(tg.Tensor(g), tg.Tensor(w), stride=2, padding=1, groups=2, output_padding=(0, 1))
    np.testing.assert_allclose(y.data, x.grad.data, rtol=1e-12, atol=1e-12)


def test_conv_transpose_records_one_node_with_bias_and_keeps_float32():
    x, w, b = (tg.Tensor(np.ones(s, np.float32), requires_grad=True) for s in ((1, 2, 3, 3), (2, 4, 2, 2), (4,)))
    y = F.conv_transpose2d(x, w, b, stride=2)
    assert isinstance(y.grad_fn, ConvTranspose2d) and y.dtype == np.float32 and y.shape == (1, 4, 6, 6)
    y.sum().backward()
    assert x.grad.dtype == w.grad.dtype == b.grad.dtype == np.float32


def test_empty_batch_and_huge_stride_over_a_single_pixel():
    y = F.conv_transpose2d(tg.zeros(0, 2, 3, 3), tg.ones(2, 3, 2, 2), stride=2)
    assert y.shape == (0, 3, 6, 6)
    # a stride over an input of size 1 changes nothing (the output is the kernel): no strided view of 10^30 bytes
    z = F.conv_transpose2d(leaf(np.ones((1, 1, 1, 1))), leaf(np.arange(4.0).reshape(1, 1, 2, 2)), stride=10**30)
    np.testing.assert_array_equal(z.data, np.arange(4.0).reshape(1, 1, 2, 2))
    z.sum().backward()


def test_conv_transpose1d_matches_the_2d_op_on_height_1():
    r = rng()
    x, w, b = r.standard_normal((2, 4, 5)), r.standard_normal((4, 3, 3)), r.standard_normal(6)
    y = F.conv_transpose1d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), stride=2, padding=1, output_padding=1, groups=2,
                           dilation=(1,))
    y2 = F.conv_transpose2d(tg.Tensor(x[:, :, None]), tg.Tensor(w[:, :, None]), tg.Tensor(b), stride=(1, 2),
                            padding=(0, 1), output_padding=(0, 1), groups=2)
    np.testing.assert_array_equal(y.data, y2.data[:, :, 0])


def test_conv1d_same_padding_with_an_even_kernel_pads_the_end():
    """Kernel [1, 1] with 'same': one zero at the end, y[i] = x[i] + x[i + 1]."""
    y = F.conv1d(tg.Tensor(np.array([[[1.0, 2.0, 4.0]]])), tg.Tensor(np.ones((1, 1, 2))), padding="same")
    np.testing.assert_array_equal(y.data, [[[3.0, 6.0, 4.0]]])
    y = F.conv1d(tg.Tensor(np.array([[[1.0, 2.0, 4.0]]])), tg.Tensor(np.ones((1, 1, 2))), stride=(2,), padding=(1,))
    np.testing.assert_array_equal(y.data, [[[1.0, 6.0]]])


# ---- unfold / fold ------------------------------------------------------------------------------------------------
def test_unfold_by_hand():
    """A 3x3 image 0..8, kernel 2: four blocks; row (i, j) of the columns holds pixel (p + i, q + j) of each block."""
    cols = F.unfold(leaf(np.arange(9.0).reshape(1, 1, 3, 3)), 2)
    np.testing.assert_array_equal(cols.data[0], [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]])
    assert isinstance(cols.grad_fn, Unfold)


def test_fold_of_ones_counts_the_blocks_over_each_pixel_and_is_unfolds_gradient():
    ones = tg.Tensor(np.ones((1, 4, 4)))
    np.testing.assert_array_equal(F.fold(ones, 3, 2).data[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    x = leaf(np.arange(9.0).reshape(1, 1, 3, 3))
    F.unfold(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.data[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    assert isinstance(F.fold(leaf(np.ones((1, 4, 4))), 3, 2).grad_fn, Fold)


def test_unfold_and_fold_are_adjoint_with_every_option():
    r = rng()
    params = {"kernel_size": (2, 3), "dilation": (2, 1), "padding": (1, 2), "stride": (1, 2)}
    x = r.standard_normal((2, 3, 5, 4))
    cols = F.unfold(tg.Tensor(x), **params)
    g = r.standard_normal(cols.shape)
    np.testing.assert_allclose(np.vdot(g, cols.data), np.vdot(F.fold(tg.Tensor(g), (5, 4), **params).data, x),
                               rtol=1e-12)


def test_conv2d_is_a_matrix_product_of_unfold():
    r = rng()
    x, w = r.standard_normal((2, 3, 6, 5)), r.standard_normal((4, 3, 3, 2))
    y = F.conv2d(tg.Tensor(x), tg.Tensor(w), stride=2, padding=1, dilation=(1, 2))
    cols = F.unfold(tg.Tensor(x), (3, 2), stride=2, padding=1, dilation=(1, 2))
    np.testing.assert_allclose((w.reshape(4, -1) @ cols.data).reshape(y.shape), y.data, rtol=1e-12, atol=1e-12)


def test_unfold_never_returns_a_view_of_its_input():
    x = tg.Tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    cols = F.unfold(x, 1)
    cols.data[...] = -1.0
    np.testing.assert_array_equal(x.data.ravel(), np.arange(6.0))


def test_unbatched_unfold_and_fold_and_empty_batches():
    x = tg.Tensor(np.arange(8.0).reshape(2, 2, 2))
    assert F.unfold(x, 1).shape == (2, 4)
    np.testing.assert_array_equal(F.fold(F.unfold(x, 1), 2, 1).data, x.data)
    assert F.unfold(tg.zeros(0, 2, 3, 3), 2).shape == (0, 8, 4)
    assert F.fold(tg.zeros(0, 8, 4), 3, 2).shape == (0, 2, 3, 3)
    # a stride beyond the padded input takes one block, as PyTorch
    assert F.unfold(tg.ones(1, 1, 3, 3), 2, stride=10**30).shape == (1, 4, 1)


# ---- pixel shuffle ------------------------------------------------------------------------------------------------
def test_pixel_shuffle_by_hand_and_inverse():
    x = tg.Tensor(np.arange(4.0).reshape(1, 4, 1, 1))
    np.testing.assert_array_equal(F.pixel_shuffle(x, 2).data, [[[[0.0, 1.0], [2.0, 3.0]]]])
    z = tg.Tensor(rng().standard_normal((2, 3, 18, 6, 4)))
    np.testing.assert_array_equal(F.pixel_shuffle(F.pixel_unshuffle(z, 2), 2).data, z.data)
    np.testing.assert_array_equal(F.pixel_unshuffle(F.pixel_shuffle(z, 3), 3).data, z.data)
    ints = tg.Tensor(np.arange(8).reshape(2, 4, 1, 1))
    assert F.pixel_shuffle(ints, 2).dtype == ints.dtype


# ---- layers -------------------------------------------------------------------------------------------------------
def test_conv_transpose_layers_shapes_init_and_output_size():
    tg.manual_seed(0)
    m = nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, groups=2)
    assert m.weight.shape == (4, 3, 3, 3) and m.bias.shape == (6,)
    bound = 1 / math.sqrt(3 * 3 * 3)  # fan_in = weight.shape[1] * kH * kW, as PyTorch
    assert np.abs(m.weight.data).max() <= bound and np.abs(m.bias.data).max() <= bound
    x = tg.randn(2, 4, 5, 5)
    assert m(x).shape == (2, 6, 9, 9)
    assert m(x, output_size=(10, 9)).shape == (2, 6, 10, 9)
    assert m(x, output_size=[2, 6, 10, 10]).shape == (2, 6, 10, 10)
    with pytest.raises(ValueError, match=r"ConvTranspose2d: requested an output size of \(11, 11\).*9 to 10"):
        m(x, output_size=(11, 11))
    with pytest.raises(ValueError, match="ConvTranspose2d: output_padding"):
        nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="ConvTranspose2d: in_channels=3 and out_channels=4 must both be divisible"):
        nn.ConvTranspose2d(3, 4, 3, groups=2)
    m1 = nn.ConvTranspose1d(2, 3, 3, stride=2, bias=False, dtype=np.float64)
    assert m1.weight.shape == (2, 3, 3) and m1.bias is None and m1.weight.dtype == np.float64
    assert m1(tg.randn(1, 2, 4, dtype=np.float64), output_size=(10,)).shape == (1, 3, 10)
    assert "output_padding" not in repr(m1) and "bias=False" in repr(m1)
    assert list(dict(m.state_dict())) == ["weight", "bias"]


def test_conv1d_and_shape_layers():
    c = nn.Conv1d(4, 6, (3,), padding="same", groups=2)
    assert c.weight.shape == (6, 2, 3) and c(tg.randn(2, 4, 7)).shape == (2, 6, 7)
    assert nn.Conv1d(1, 1, 2, stride=2)(tg.randn(1, 1, 6)).shape == (1, 1, 3)
    with pytest.raises(ValueError, match="Conv1d: padding must be 'valid' or 'same'"):
        nn.Conv1d(1, 1, 2, padding="full")
    with pytest.raises(ValueError, match="Conv1d: kernel_size must be an int or a tuple of one int"):
        nn.Conv1d(1, 1, (2, 2))
    assert nn.Unfold(2, stride=2)(tg.randn(1, 3, 4, 4)).shape == (1, 12, 4)
    assert nn.Fold((4, 4), 2, stride=2)(tg.randn(1, 12, 4)).shape == (1, 3, 4, 4)
    assert nn.PixelShuffle(2)(tg.randn(1, 8, 3, 3)).shape == (1, 2, 6, 6)
    assert nn.PixelUnshuffle(3)(tg.randn(2, 1, 6, 3)).shape == (2, 9, 2, 1)
    with pytest.raises(ValueError, match="Unfold: stride must be >= 1"):
        nn.Unfold(2, stride=0)
    with pytest.raises(TypeError, match="PixelShuffle: upscale_factor must be an int"):
        nn.PixelShuffle(2.0)
