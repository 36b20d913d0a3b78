"""CNN primitives: conv2d and its two adjoint primitives, max/avg pooling, log-softmax and the losses.

Property tests draw N, C, H, W, kernel, stride, padding, dilation and groups; values are checked against naive
loop references written here, gradients against float64 finite differences (first and second order).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import Conv2dInputGrad, Conv2dWeightGrad
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


def leaf(a) -> tg.Tensor:
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def out_size(h, k, s, p, d):
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


@st.composite
def conv_case(draw, max_hw=7):
    groups = draw(st.sampled_from([1, 1, 2]))
    cin, cout = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    k, s, p, d = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(0, 1)), draw(st.integers(1, 2))
    h, w = draw(st.integers(d * (k - 1) + 1 - 2 * p, max_hw)), draw(st.integers(d * (k - 1) + 1 - 2 * p, max_hw))
    n = draw(st.integers(1, 2))
    x = draw(S.arrays((n, cin, max(h, 1), max(w, 1))))
    weight = draw(S.arrays((cout, cin // groups, k, k)))
    bias = draw(S.arrays((cout,)))
    return x, weight, bias, dict(stride=s, padding=p, dilation=d, groups=groups)


def conv_reference(x, w, b, stride, padding, dilation, groups):
    n, _, h, wd = x.shape
    o, cg, k, _ = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = out_size(h, k, stride, padding, dilation), out_size(wd, k, stride, padding, dilation)
    out = np.zeros((n, o, ho, wo))
    og = o // groups
    for ni in range(n):
        for oi in range(o):
            g = oi // og
            for p in range(ho):
                for q in range(wo):
                    patch = xp[ni, g * cg:(g + 1) * cg, p * stride:p * stride + dilation * (k - 1) + 1:dilation,
                               q * stride:q * stride + dilation * (k - 1) + 1:dilation]
                    out[ni, oi, p, q] = np.sum(patch * w[oi]) + b[oi]
    return out


@settings(max_examples=30)
@given(conv_case())
def test_conv2d_forward_matches_loops_and_shape_law(case):
    x, w, b, params = case
    out = F.conv2d(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b), **params).numpy()
    k, s, p, d = w.shape[2], params["stride"], params["padding"], params["dilation"]
    assert out.shape == (x.shape[0], w.shape[0], out_size(x.shape[2], k, s, p, d), out_size(x.shape[3], k, s, p, d))
    assert np.allclose(out, conv_reference(x, w, b, **params))


@settings(max_examples=20)
@given(conv_case(max_hw=6))
def test_conv2d_gradients(case):
    x, w, b, params = case
    assert gradcheck(lambda a, c, e: F.conv2d(a, c, e, **params), leaf(x), leaf(w), leaf(b))


@settings(max_examples=6)
@given(conv_case(max_hw=5))
def test_conv2d_second_order(case):
    x, w, _, params = case
    assert gradgradcheck(lambda a, c: F.conv2d(a, c, **params), leaf(x), leaf(w))


@settings(max_examples=8)
@given(conv_case(max_hw=5))
def test_conv_adjoint_primitives_are_differentiable(case):
    x, w, _, params = case
    p = {"stride": (params["stride"],) * 2, "padding": (params["padding"],) * 2,
         "dilation": (params["dilation"],) * 2, "groups": params["groups"]}
    y = F.conv2d(tg.Tensor(x), tg.Tensor(w), **params)
    g = np.random.default_rng(0).standard_normal(y.shape)
    assert gradcheck(lambda gg, ww: Conv2dInputGrad.apply(gg, ww, input_shape=x.shape, **p), leaf(g), leaf(w))
    assert gradcheck(lambda xx, gg: Conv2dWeightGrad.apply(xx, gg, weight_shape=w.shape, **p), leaf(x), leaf(g))
    assert gradgradcheck(lambda gg, ww: Conv2dInputGrad.apply(gg, ww, input_shape=x.shape, **p), leaf(g), leaf(w),
                         fast=True)


def test_conv2d_same_and_valid_padding():
    x, w = tg.randn(1, 2, 7, 6), tg.randn(3, 2, 4, 3)
    assert F.conv2d(x, w, padding="same").shape == (1, 3, 7, 6)
    assert F.conv2d(x, w, padding="same", dilation=2).shape == (1, 3, 7, 6)
    assert F.conv2d(x, w, padding="valid").shape == (1, 3, 4, 4)
    assert gradcheck(lambda a, b: F.conv2d(a, b, padding="same"), leaf(np.ones((1, 1, 4, 4))),
                     leaf(np.arange(4.0).reshape(1, 1, 2, 2)))


def test_weight_gradient_worked_case():
    """5x5 input o, 2x2 kernel, 4x4 output delta: dW[m, n] = sum_ij delta_ij o[i + m, j + n]."""
    rng = np.random.default_rng(1)
    o, delta = rng.standard_normal((5, 5)), rng.standard_normal((4, 4))
    w = leaf(rng.standard_normal((1, 1, 2, 2)))
    F.conv2d(tg.Tensor(o.reshape(1, 1, 5, 5)), w).backward(delta.reshape(1, 1, 4, 4))
    by_hand = np.array([[np.sum(delta * o[m:m + 4, n:n + 4]) for n in range(2)] for m in range(2)])
    assert np.allclose(w.grad.numpy()[0, 0], by_hand)


def test_tutorial_cnn_shapes_and_parameter_gradients():
    rng = np.random.default_rng(2)
    params = [leaf(rng.standard_normal(s) * 0.3) for s in [(2, 1, 5, 5), (2,), (60, 288), (60,), (10, 60), (10,)]]
    x = tg.Tensor(rng.standard_normal((2, 1, 28, 28)))
    labels = np.array([3, 8])

    def network(cw, cb, w1, b1, w2, b2):
        h = F.conv2d(x, cw, cb)
        assert h.shape == (2, 2, 24, 24)
        h = F.max_pool2d(h.relu(), 2)
        assert h.shape == (2, 2, 12, 12)
        h = F.linear(h.flatten(1), w1, b1).relu()
        assert h.shape == (2, 60)
        return F.nll_loss(F.log_softmax(F.linear(h, w2, b2), axis=1), labels)

    assert gradcheck(network, *params, fast=True)


def test_cross_entropy_gradient_is_softmax_minus_onehot():
    rng = np.random.default_rng(3)
    logits, target = leaf(rng.standard_normal((4, 5))), np.array([0, 4, 2, 2])
    F.cross_entropy(logits, target).backward()
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    assert np.allclose(logits.grad.numpy(), (p - np.eye(5)[target]) / 4)
    logits.grad = None
    F.cross_entropy(logits, target, reduction="sum", label_smoothing=0.2).backward()
    q = np.eye(5)[target] * 0.8 + 0.2 / 5
    assert np.allclose(logits.grad.numpy(), p - q)
    probs = rng.dirichlet(np.ones(5), size=4)
    assert gradcheck(lambda z: F.cross_entropy(z, probs), leaf(logits.numpy()))


def test_sigmoid_binary_cross_entropy_gradient_is_a_minus_y():
    x, y = leaf([-2.0, 0.0, 0.5, 3.0]), np.array([0.0, 1.0, 1.0, 0.0])
    F.binary_cross_entropy(x.sigmoid(), y, reduction="sum").backward()
    a = 1 / (1 + np.exp(-x.numpy()))
    assert np.allclose(x.grad.numpy(), a - y)
    x.grad = None
    F.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    assert np.allclose(x.grad.numpy(), a - y)  # exact at x = 0 too
    assert gradgradcheck(lambda z: F.binary_cross_entropy_with_logits(z, y), leaf(x.numpy()))


def test_max_pool_ties_route_to_the_first_element():
    x = leaf(np.ones((1, 1, 4, 4)))
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1
    assert np.array_equal(x.grad.numpy()[0, 0], expected)
    y = leaf(np.ones((1, 1, 3, 3)))  # overlapping windows (stride 1): every window picks its top-left element
    F.max_pool2d(y, 2, stride=1).sum().backward()
    assert np.array_equal(y.grad.numpy()[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])


@st.composite
def pool_case(draw):
    k, s = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    p, d = draw(st.integers(0, k // 2)), draw(st.integers(1, 2))
    h = draw(st.integers(max(d * (k - 1) + 1 - 2 * p, 1), 7))
    w = draw(st.integers(max(d * (k - 1) + 1 - 2 * p, 1), 7))
    x = draw(S.arrays((draw(st.integers(1, 2)), draw(st.integers(1, 2)), h, w), distinct=True))
    return x, k, s, p, d


def pool_reference(x, k, s, p, d, op):
    n, c, h, w = x.shape
    fill = -np.inf if op is np.max else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    ho, wo = out_size(h, k, s, p, d), out_size(w, k, s, p, d)
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            window = xp[:, :, i * s:i * s + d * (k - 1) + 1:d, j * s:j * s + d * (k - 1) + 1:d]
            out[:, :, i, j] = op(window, axis=(2, 3))
    return out


@settings(max_examples=30)
@given(pool_case())
def test_max_pool(case):
    x, k, s, p, d = case
    out = F.max_pool2d(tg.Tensor(x), k, stride=s, padding=p, dilation=d).numpy()
    with np.errstate(invalid="ignore"):  # a window wholly in the padding is -inf in both
        assert np.allclose(out, pool_reference(x, k, s, p, d, np.max))
    assert gradcheck(lambda a: F.max_pool2d(a, k, stride=s, padding=p, dilation=d), leaf(x))
    assert gradgradcheck(lambda a: F.max_pool2d(a, k, stride=s, padding=p, dilation=d), leaf(x))


@settings(max_examples=30)
@given(pool_case())
def test_avg_pool(case):
    x, k, s, p, _ = case
    out = F.avg_pool2d(tg.Tensor(x), k, stride=s, padding=p).numpy()
    assert np.allclose(out, pool_reference(x, k, s, p, 1, np.mean))
    assert gradcheck(lambda a: F.avg_pool2d(a, k, stride=s, padding=p), leaf(x))
    assert gradgradcheck(lambda a: F.avg_pool2d(a, k, stride=s, padding=p), leaf(x))


def test_log_softmax_is_stable_for_huge_logits():
    z = leaf([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]])
    out = F.log_softmax(z, axis=1)
    assert np.all(np.isfinite(out.numpy()))
    assert np.allclose(out.numpy()[0], [0.0, -2e4, -1e4]) and np.allclose(out.numpy()[1, :2], -np.log(2))
    loss = F.cross_entropy(z, np.array([1, 0]))
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad.numpy()))
    assert np.allclose(z.grad.numpy(), (np.array([[1, 0, 0], [0.5, 0.5, 0]]) - np.eye(3)[[1, 0]]) / 2)


def test_second_order_through_a_small_cnn():
    rng = np.random.default_rng(4)
    x = tg.Tensor(rng.standard_normal((2, 1, 6, 6)))

    def net(w, v):
        h = F.avg_pool2d(F.conv2d(x, w).tanh(), 2)
        return F.cross_entropy(F.linear(h.flatten(1), v), np.array([0, 2]))

    assert gradgradcheck(net, leaf(rng.standard_normal((2, 1, 3, 3))), leaf(rng.standard_normal((3, 8))), fast=True)


def test_dropout():
    tg.manual_seed(0)
    x = tg.ones(200_000)
    y = F.dropout(x, p=0.3)
    assert abs(float((y.numpy() == 0).mean()) - 0.3) < 0.01 and abs(y.numpy().mean() - 1.0) < 0.01
    assert F.dropout(x, p=0.3, training=False) is x
    tg.manual_seed(0)
    assert np.array_equal(F.dropout(x, p=0.3).numpy(), y.numpy())


@pytest.mark.parametrize("call, error, message", [
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 2, 3, 3)), ValueError, r"3 channels but weight .* expects 2"),
    (lambda: F.conv2d(tg.randn(1, 1, 3, 3), tg.randn(1, 1, 5, 5)), ValueError, r"kernel spans 5 .* only 3"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), stride=0), ValueError, r"stride must be >= 1"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3), dilation=-1), ValueError, "dilation"),
    (lambda: F.conv2d(tg.randn(1, 3, 5, 5), tg.randn(2, 1, 3, 3), groups=3), ValueError, r"groups=3 must divide"),
    (lambda: F.conv2d(tg.randn(1, 5, 5), tg.randn(1, 1, 3, 3)), ValueError, r"4-D input .*unsqueeze"),
    (lambda: F.conv2d(tg.randn(1, 1, 5, 5), tg.randn(1, 1, 3, 3, dtype=np.float64)), TypeError, "float32"),
    (lambda: F.max_pool2d(tg.randn(1, 1, 5, 5), 2, padding=2), ValueError, "at most half the kernel"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 3])), ValueError, r"in \[0, 2\]"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0.0, 1.0])), TypeError, "must be integers"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1, 2])), ValueError, r"shape \(2,\)"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1]), reduction="avg"), ValueError, "reduction"),
    (lambda: F.dropout(tg.randn(3), p=1.5), ValueError, r"p must be in \[0, 1\]"),
    (lambda: F.linear(tg.randn(2, 5), tg.randn(3, 4)), ValueError, r"5 features but weight"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
