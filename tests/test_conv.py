"""conv2d and its two adjoint primitives (Conv2dInputGrad, Conv2dWeightGrad): what the op table does not generate.

The op table (tests/optable/conv.py) checks values against the loop references of tests/references.py and first and
second order gradients over generated N, C, H, W, kernel, stride, padding, dilation and groups, for F.conv2d and
each primitive. Here: the output-shape law on larger geometries, int and 'same'/'valid' arguments, third order, the
adjoint identities that tie the three primitives together, the column layouts and blocked GEMMs, the worked cases
and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given, settings
from hypothesis import strategies as st
from references import conv_reference, conv_transpose_reference, conv_weight_grad_reference

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import Conv2d, Conv2dInputGrad, Conv2dWeightGrad
from tinygrad_cnn.ops.kernels import columns, convolve, gemm
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


def params_of(args: dict) -> dict:
    return {k: args[k] for k in ("stride", "padding", "dilation", "groups")}


@st.composite
def conv_case(draw, with_bias=True, **limits):
    args = draw(S.conv2d_args(**limits))
    x = draw(S.arrays(args["x_shape"]))
    w = draw(S.arrays(args["weight_shape"]))
    b = draw(S.arrays((args["weight_shape"][0],))) if with_bias else None
    return x, w, b, params_of(args)


# ---- forward ------------------------------------------------------------------------------------------------------
@settings(max_examples=40)
@given(S.conv2d_args(max_kernel=5, max_stride=3, max_padding=3, max_dilation=3, max_side=12))
def test_output_shape_law(args):
    x = tg.zeros(*args["x_shape"])
    y = F.conv2d(x, tg.zeros(*args["weight_shape"]), **params_of(args))
    hw = [S.conv_output_size(args["x_shape"][2 + a], args["weight_shape"][2 + a], args["stride"][a],
                             args["padding"][a], args["dilation"][a]) for a in range(2)]
    assert y.shape == (args["x_shape"][0], args["weight_shape"][0], *hw)


def test_int_arguments_equal_pairs_and_float32_stays_float32():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((2, 4, 9, 8)).astype(np.float32), requires_grad=True)
    w = tg.Tensor(rng.standard_normal((6, 2, 3, 3)).astype(np.float32), requires_grad=True)
    y = F.conv2d(x, w, stride=2, padding=1, dilation=2, groups=2)
    z = F.conv2d(x, w, stride=(2, 2), padding=(1, 1), dilation=(2, 2), groups=2)
    assert np.array_equal(y.numpy(), z.numpy()) and y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32 and w.grad.dtype == np.float32


def test_same_and_valid_padding():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 7, 6))
    for kernel, dilation in [((3, 3), 1), ((4, 3), 1), ((2, 2), 2), ((4, 2), (1, 3))]:
        w = rng.standard_normal((3, 2, *kernel))
        same = F.conv2d(tg.Tensor(x), tg.Tensor(w), padding="same", dilation=dilation).numpy()
        assert same.shape == (1, 3, 7, 6)
        d = (dilation, dilation) if isinstance(dilation, int) else dilation
        total = [d[a] * (kernel[a] - 1) for a in range(2)]  # PyTorch: the odd extra row/column goes last
        padded = np.pad(x, ((0, 0), (0, 0), (total[0] // 2, total[0] - total[0] // 2),
                            (total[1] // 2, total[1] - total[1] // 2)))
        assert np.allclose(same, conv_reference(padded, w, None, (1, 1), (0, 0), d, 1))
    w = rng.standard_normal((3, 2, 4, 3))
    valid = F.conv2d(tg.Tensor(x), tg.Tensor(w), padding="valid").numpy()
    assert np.allclose(valid, conv_reference(x, w, None, (1, 1), (0, 0), (1, 1), 1))
    assert gradcheck(lambda a, b: F.conv2d(a, b, padding="same"), leaf(rng.standard_normal((1, 1, 4, 4))),
                     leaf(rng.standard_normal((1, 1, 2, 2))))


# ---- gradients ----------------------------------------------------------------------------------------------------
def test_bias_is_one_node_and_its_gradient_sums_over_batch_and_pixels():
    """Hand-derived: y = conv(x, w) + b, so dL/db[o] = sum_{n, p, q} g[n, o, p, q]."""
    x, w = leaf(np.ones((2, 1, 3, 3))), leaf(np.ones((2, 1, 2, 2)))
    b = leaf([10.0, -1.0])
    y = F.conv2d(x, w, b)
    assert type(y.grad_fn).__name__ == "Conv2d"  # no separate Reshape and Add nodes
    np.testing.assert_array_equal(y.numpy()[:, 0], np.full((2, 2, 2), 14.0))  # 4 ones + 10
    np.testing.assert_array_equal(y.numpy()[:, 1], np.full((2, 2, 2), 3.0))
    g = np.arange(16.0).reshape(2, 2, 2, 2)
    y.backward(g)
    np.testing.assert_array_equal(b.grad.numpy(), [0 + 1 + 2 + 3 + 8 + 9 + 10 + 11, 4 + 5 + 6 + 7 + 12 + 13 + 14 + 15])
    assert x.grad.shape == (2, 1, 3, 3) and w.grad.shape == (2, 1, 2, 2)


@settings(max_examples=8)
@given(conv_case(with_bias=False, max_side=5), st.integers(0, 2**16))
def test_the_three_primitives_are_adjoint(case, seed):
    """<u, conv(x, w)> = <input_grad(u, w), x> = <weight_grad(x, u), w> for any x, w, u."""
    x, w, _, p = case
    y = Conv2d.apply(tg.Tensor(x), tg.Tensor(w), **_pairs(p)).numpy()
    u = np.random.default_rng(seed).standard_normal(y.shape)
    gx = Conv2dInputGrad.apply(tg.Tensor(u), tg.Tensor(w), input_shape=x.shape, **_pairs(p)).numpy()
    gw = Conv2dWeightGrad.apply(tg.Tensor(x), tg.Tensor(u), weight_shape=w.shape, **_pairs(p)).numpy()
    assert gx.shape == x.shape and gw.shape == w.shape
    assert np.isclose(np.sum(u * y), np.sum(gx * x)) and np.isclose(np.sum(u * y), np.sum(gw * w))


def _pairs(p: dict) -> dict:
    return {k: (tuple(v) if k != "groups" else v) for k, v in p.items()}


def test_third_order_through_conv():
    rng = np.random.default_rng(2)
    x, w = leaf(rng.standard_normal((1, 2, 5, 5))), leaf(rng.standard_normal((2, 1, 3, 3)))

    def input_gradient(a, c):  # the gradient of a smooth function of conv2d, itself differentiated twice below
        return tg.grad(F.conv2d(a, c, stride=2, padding=1, groups=2).tanh().sum(), [a], create_graph=True)[0]

    assert gradgradcheck(input_gradient, x, w, fast=True)


def test_weight_gradient_reuses_the_forward_columns_and_keeps_no_buffer():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    w = leaf(rng.standard_normal((4, 3, 3, 3)))
    u = rng.standard_normal((2, 4, 4, 4))
    F.conv2d(tg.Tensor(x), w).backward(u)  # input needs no grad: only the weight GEMM on the saved columns
    expected = conv_weight_grad_reference(x, u, (4, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1)
    assert np.allclose(w.grad.numpy(), expected)
    xg = leaf(x)
    (gw,) = tg.grad((F.conv2d(xg, w).tanh()).sum(), [w], create_graph=True)
    node = gw._ctx
    while node is not None and type(node).__name__ != "Conv2dWeightGrad":
        node = next((c for c in node.next if isinstance(c, tg.Function)), None)
    assert node is not None and "cols" not in node.params, "a recorded node must not hold the im2col buffer"


# ---- the two column layouts and the blocked GEMMs -------------------------------------------------------------------
@pytest.mark.parametrize("batch_innermost", [True, False])
@pytest.mark.parametrize("stride, padding, dilation, groups", [(1, 0, 1, 1), (2, 1, 1, 2), (1, 2, 2, 1)])
def test_both_column_layouts_give_the_same_values_and_gradients(monkeypatch, batch_innermost, stride, padding,
                                                                 dilation, groups):
    """Each layout is normally picked by image size; forced here so that small cases exercise both."""
    monkeypatch.setattr(columns, "batch_innermost", lambda out_hw: batch_innermost)
    rng = np.random.default_rng(4)
    x, w, b = rng.standard_normal((3, 4, 7, 6)), rng.standard_normal((6, 4 // groups, 3, 2)), rng.standard_normal(6)
    p = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
    xt, wt = leaf(x), leaf(w)
    y = F.conv2d(xt, wt, tg.Tensor(b), **p)
    assert np.allclose(y.numpy(), conv_reference(x, w, b, *[(v, v) for v in (stride, padding, dilation)], groups))
    u = rng.standard_normal(y.shape)
    y.backward(u)  # the weight gradient reuses the forward's columns; adjointness pins both gradients
    assert np.isclose(np.sum(u * (y.numpy() - b[:, None, None])), np.sum(xt.grad.numpy() * x))
    assert np.isclose(np.sum(u * (y.numpy() - b[:, None, None])), np.sum(wt.grad.numpy() * w))
    assert gradcheck(lambda a, c: F.conv2d(a, c, **p), leaf(x[:1, :, :5, :4]), leaf(w))


@pytest.mark.parametrize("t", [12 * 4096, 16411])  # cut into blocks; a prime length stays one GEMM
def test_blocked_gemms_equal_one_gemm(t):
    rng = np.random.default_rng(5)
    a, b, c = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 5, t)), rng.standard_normal((2, 4, t))
    assert np.allclose(gemm._gemm_wide(a, b), np.matmul(a, b))
    assert np.allclose(gemm._gemm_reduce(c, b), np.matmul(c, b.transpose(0, 2, 1)))


@pytest.mark.parametrize("shape, stride, groups", [((3, 4, 7, 6), (2, 2), 1), ((2, 4, 9, 8), (3, 2), 2),
                                                    ((2, 2, 5, 5), (2, 3), 1)])
def test_pointwise_strided_layers_run_on_the_subsample(monkeypatch, shape, stride, groups):
    """A 1x1 kernel with a stride and no padding (ResNet's shortcut) runs its three kernels on x[:, :, ::s, ::s]:
    the values and both gradients equal the loop references and the general route, to second order."""
    rng = np.random.default_rng(7)
    x, w = rng.standard_normal(shape), rng.standard_normal((6, shape[1] // groups, 1, 1))
    p = {"stride": stride, "groups": groups}
    assert convolve.pointwise_strided((1, 1), stride, (0, 0))
    assert not convolve.pointwise_strided((1, 1), (1, 1), (0, 0))
    assert not convolve.pointwise_strided((1, 1), stride, (1, 0))
    results = []
    for subsampled in (True, False):
        if not subsampled:
            monkeypatch.setattr(convolve, "pointwise_strided", lambda kernel, stride, padding: False)
        xt, wt = leaf(x), leaf(w)
        y = F.conv2d(xt, wt, **p)
        u = rng.standard_normal(y.shape) if not results else results[0][3]
        y.backward(u)
        results.append((y.numpy(), xt.grad.numpy(), wt.grad.numpy(), u))
    (y, gx, gw, u), (y2, gx2, gw2, _) = results
    assert np.allclose(y, conv_reference(x, w, None, stride, (0, 0), (1, 1), groups))
    assert np.allclose(gw, conv_weight_grad_reference(x, u, w.shape, stride, (0, 0), (1, 1), groups))
    assert np.isclose(np.sum(u * y), np.sum(gx * x))
    skipped = np.ones(shape, bool)
    skipped[:, :, ::stride[0], ::stride[1]] = False
    assert np.all(gx[skipped] == 0)  # the pixels no window reads get exactly zero
    assert np.allclose(y, y2) and np.allclose(gx, gx2) and np.allclose(gw, gw2)
    monkeypatch.undo()
    assert gradcheck(lambda a, c: F.conv2d(a, c, **p), leaf(x[:1]), leaf(w))
    assert gradgradcheck(lambda a, c: F.conv2d(a, c, **p), leaf(x[:1]), leaf(w))


def test_pointwise_strided_transposed_convolution_with_output_padding():
    """conv_transpose2d with a 1x1 kernel and stride 2 scatters into every other pixel; output_padding adds a row
    and a column that only the bias reaches."""
    rng = np.random.default_rng(8)
    x, w, b = rng.standard_normal((2, 3, 4, 3)), rng.standard_normal((3, 5, 1, 1)), rng.standard_normal(5)
    y = F.conv_transpose2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), stride=2, output_padding=1)
    assert y.shape == (2, 5, 8, 6)
    assert np.allclose(y.numpy(), conv_transpose_reference(x, w, b, (2, 2), (0, 0), (1, 1), (1, 1), 1))
    assert gradcheck(lambda a, c: F.conv_transpose2d(a, c, stride=2, output_padding=1), leaf(x[:1]), leaf(w))


# ---- the worked cases ---------------------------------------------------------------------------------------------
def test_weight_gradient_worked_case():
    """A 5x5 input o, a 2x2 kernel and a 4x4 output delta: dW[m, n] = sum_ij delta_ij o[i + m, j + n]."""
    rng = np.random.default_rng(4)
    o, delta = rng.standard_normal((5, 5)), rng.standard_normal((4, 4))
    w = leaf(rng.standard_normal((1, 1, 2, 2)))
    y = F.conv2d(tg.Tensor(o.reshape(1, 1, 5, 5)), w)
    assert y.shape == (1, 1, 4, 4)
    y.backward(delta.reshape(1, 1, 4, 4))
    by_hand = np.zeros((2, 2))
    for m in range(2):
        for n in range(2):
            by_hand[m, n] = sum(delta[i, j] * o[i + m, j + n] for i in range(4) for j in range(4))
    assert np.allclose(w.grad.numpy()[0, 0], by_hand)


def test_input_gradient_is_a_full_convolution_with_the_flipped_kernel():
    rng = np.random.default_rng(5)
    o, delta, k = rng.standard_normal((5, 5)), rng.standard_normal((4, 4)), rng.standard_normal((2, 2))
    x = leaf(o.reshape(1, 1, 5, 5))
    F.conv2d(x, tg.Tensor(k.reshape(1, 1, 2, 2))).backward(delta.reshape(1, 1, 4, 4))
    padded, flipped = np.pad(delta, 1), k[::-1, ::-1]
    full = np.array([[np.sum(padded[u:u + 2, v:v + 2] * flipped) for v in range(5)] for u in range(5)])
    assert np.allclose(x.grad.numpy()[0, 0], full)


def test_tutorial_cnn_shapes_and_parameter_gradients():
    """(N,1,28,28) -> conv 2@5x5 -> relu -> max-pool 2 -> flatten 288 -> linear 60 -> relu -> linear 10 ->
    log-softmax, with every parameter gradient against finite differences."""
    rng = np.random.default_rng(6)
    shapes = [(2, 1, 5, 5), (2,), (60, 288), (60,), (10, 60), (10,)]
    params = [leaf(rng.standard_normal(s) * 0.3) for s in shapes]
    x, labels = tg.Tensor(rng.standard_normal((3, 1, 28, 28))), np.array([3, 8, 0])

    def network(cw, cb, w1, b1, w2, b2):
        h = F.conv2d(x, cw, cb)
        assert h.shape == (3, 2, 24, 24)
        h = F.max_pool2d(F.relu(h), 2)
        assert h.shape == (3, 2, 12, 12)
        h = F.flatten(h)
        assert h.shape == (3, 288)
        h = F.relu(F.linear(h, w1, b1))
        assert h.shape == (3, 60)
        out = F.log_softmax(F.linear(h, w2, b2), axis=1)
        assert out.shape == (3, 10)
        return F.nll_loss(out, labels)

    assert gradcheck(network, *params, fast=True)
    loss = network(*params)
    grads = tg.grad(loss, params)
    assert [g.shape for g in grads] == shapes


def test_second_order_through_a_small_cnn():
    rng = np.random.default_rng(7)
    x = tg.Tensor(rng.standard_normal((2, 2, 6, 6)))

    def net(w, b, v):
        h = F.avg_pool2d(F.conv2d(x, w, b, padding=1).tanh(), 2)
        h = F.max_pool2d(F.conv2d(h, w[:, :1].reshape(2, 1, 3, 3), groups=2, padding=1), 3)
        return F.cross_entropy(F.linear(h.flatten(1), v), np.array([0, 2]))

    assert gradgradcheck(net, leaf(rng.standard_normal((2, 2, 3, 3))), leaf(rng.standard_normal(2)),
                         leaf(rng.standard_normal((3, 2))), fast=True)


# ---- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 2, 3, 3)), ValueError,
     r"conv2d: input \(1, 3, 5, 5\) has 3 channels but weight \(2, 2, 3, 3\) expects 2"),
    (lambda: F.conv2d(tg.randn(1, 1, 3, 3), tg.randn(1, 1, 5, 5)), ValueError,
     r"conv2d: input \(1, 1, 3, 3\): the kernel spans 5 .* only 3 .*smaller kernel or more padding"),
    (lambda: F.conv2d(tg.randn(1, 1, 3, 8), tg.randn(1, 1, 3, 3), dilation=(2, 1), padding=(0, 1)), ValueError,
     r"the kernel spans 5 along H \(kernel \(3, 3\), dilation \(2, 1\)\) but the padded input is only 3"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), stride=0), ValueError,
     r"conv2d: stride must be >= 1"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), stride=(1, -2)), ValueError, "stride"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), dilation=0), ValueError,
     r"conv2d: dilation must be >= 1"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 1, 3, 3), groups=3), ValueError,
     r"conv2d: groups=3 must divide .* input channels \(3\) and the output channels \(2\)"),
    (lambda: F.conv2d(tg.randn(1, 4, 5, 5), tg.randn(4, 2, 3, 3), groups=0), ValueError, "groups must be a positive"),
    (lambda: F.conv2d(tg.randn(1, 5, 5), tg.randn(1, 1, 3, 3)), ValueError,
     r"conv2d: expected a 4-D input \(N, C, H, W\), got shape \(1, 5, 5\).*unsqueeze"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 3, 3)), ValueError, r"weight must be 4-D"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(2, 1, 3, 3), tg.randn(3)), ValueError,
     r"bias must have shape \(2,\)"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(2, 1, 3, 3), tg.randn(2, dtype=np.float64)), TypeError,
     r"conv2d: input is float32 but bias is float64"),
    (lambda: Conv2d.apply(tg.randn(1, 1, 5, 5), tg.randn(2, 1, 3, 3), tg.randn(2, 1), stride=(1, 1),
                          padding=(0, 0), dilation=(1, 1), groups=1), ValueError,
     r"conv2d: bias must have shape \(2,\)"),
    (lambda: Conv2d.apply(tg.randn(1, 1, 5, 5), tg.randn(2, 1, 3, 3), tg.randn(2, dtype=np.float64),
                          stride=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1), TypeError,
     r"conv2d: input is float32 but bias"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), padding="full"), ValueError, "'valid' or 'same'"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), padding="same", stride=2), ValueError,
     "padding='same' needs stride 1"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), padding=(1, 2, 3)), ValueError, "pair of ints"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3, dtype=np.float64)), TypeError,
     r"conv2d: input is float32 but weight is float64"),
    (lambda: F.conv2d(tg.Tensor(np.ones((1, 1, 5, 5), np.int64)), tg.randn(1, 1, 3, 3)), TypeError,
     r"conv2d: input has dtype int64"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
