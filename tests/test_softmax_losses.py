"""log-softmax (and its backward primitive), the losses and the rest of the functional API: values against NumPy
references, gradients to second order, softmax - onehot and a - y, stability at logits of magnitude 1e4, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.softmax import LogSoftmaxBackward
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


def leaf(a) -> tg.Tensor:
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def softmax_ref(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@st.composite
def array_and_axis(draw, max_dims=3):
    x = draw(S.arrays(S.shapes(min_dims=1, max_dims=max_dims, max_side=4)))
    return x, draw(st.integers(-x.ndim, x.ndim - 1))


@st.composite
def logits_and_targets(draw, max_n=4, max_c=5):
    n, c = draw(st.integers(1, max_n)), draw(st.integers(1, max_c))
    z = draw(S.arrays((n, c)))
    return z, np.array(draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)), dtype=np.int64)


# ---- log-softmax ----------------------------------------------------------------------------------------------
@settings(max_examples=30)
@given(array_and_axis())
def test_log_softmax_values(case):
    x, axis = case
    out = F.log_softmax(tg.Tensor(x), axis=axis).numpy()
    assert np.allclose(out, np.log(softmax_ref(x, axis)))
    assert np.allclose(F.softmax(tg.Tensor(x), axis=axis).numpy().sum(axis=axis), 1.0)
    assert np.allclose(tg.Tensor(x).log_softmax(axis).numpy(), out), "the Tensor method is the same primitive"


@settings(max_examples=20)
@given(array_and_axis())
def test_log_softmax_and_softmax_first_and_second_order(case):
    x, axis = case
    assert gradcheck(lambda t: F.log_softmax(t, axis=axis), leaf(x))
    assert gradgradcheck(lambda t: F.log_softmax(t, axis=axis), leaf(x))
    assert gradgradcheck(lambda t: F.softmax(t, axis=axis), leaf(x))


@settings(max_examples=10)
@given(array_and_axis(max_dims=2))
def test_the_backward_primitive_is_differentiable(case):
    x, axis = case
    y = F.log_softmax(tg.Tensor(x), axis=axis).numpy()
    g = np.random.default_rng(0).standard_normal(x.shape)
    backward = lambda gg, yy: LogSoftmaxBackward.apply(gg, yy, axis=axis)  # noqa: E731
    assert np.allclose(backward(tg.Tensor(g), tg.Tensor(y)).numpy(),
                       g - softmax_ref(x, axis) * g.sum(axis=axis, keepdims=True))
    assert gradcheck(backward, leaf(g), leaf(y)) and gradgradcheck(backward, leaf(g), leaf(y))


def test_log_softmax_is_stable_and_exact_at_1e4():
    for dtype in (np.float32, np.float64):
        z = tg.Tensor(np.array([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4], [-1e4, -1e4, -1e4]], dtype), requires_grad=True)
        out = F.log_softmax(z, axis=1)
        assert out.dtype == dtype and np.all(np.isfinite(out.numpy()))
        assert np.allclose(out.numpy(), [[0, -2e4, -1e4], [-np.log(2), -np.log(2), -1.5e4 - np.log(2)],
                                         [-np.log(3)] * 3])
        out.backward(np.ones((3, 3), dtype))
        grad = z.grad.numpy()  # 1 - 3 softmax: exact, no NaN
        assert np.all(np.isfinite(grad))
        assert np.allclose(grad, 1 - 3 * np.array([[1, 0, 0], [0.5, 0.5, 0], [1 / 3] * 3]), atol=1e-6)


def test_cross_entropy_is_stable_at_1e4():
    z = leaf([[1e4, -1e4, 0.0], [5e3, 5e3, -1e4]])
    loss = F.cross_entropy(z, np.array([1, 0]))
    assert np.isclose(loss.item(), (2e4 + np.log(2)) / 2)
    loss.backward()
    assert np.allclose(z.grad.numpy(), (np.array([[1, 0, 0], [0.5, 0.5, 0]]) - np.eye(3)[[1, 0]]) / 2)
    assert gradgradcheck(lambda t: F.cross_entropy(t, np.array([1, 0])), z)


# ---- cross-entropy and the negative log-likelihood --------------------------------------------------------------
@settings(max_examples=25)
@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]))
def test_cross_entropy_gradient_is_softmax_minus_onehot(case, reduction):
    z, t = case
    logits = leaf(z)
    loss = F.cross_entropy(logits, t, reduction=reduction)
    per_row = -np.log(softmax_ref(z))[np.arange(len(t)), t]
    expected = {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction]
    assert loss.shape == np.shape(expected) and np.allclose(loss.numpy(), expected)
    loss.backward(np.ones(loss.shape))
    scale = len(t) if reduction == "mean" else 1
    assert np.allclose(logits.grad.numpy(), (softmax_ref(z) - np.eye(z.shape[1])[t]) / scale)


@settings(max_examples=10)
@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]), st.sampled_from([0.0, 0.1, 1.0]))
def test_cross_entropy_first_and_second_order(case, reduction, smoothing):
    z, t = case
    fn = lambda a: F.cross_entropy(a, t, reduction=reduction, label_smoothing=smoothing)  # noqa: E731
    assert gradcheck(fn, leaf(z)) and gradgradcheck(fn, leaf(z))


def test_label_smoothing_and_class_probabilities():
    rng = np.random.default_rng(0)
    z, t = rng.standard_normal((4, 5)), np.array([0, 4, 2, 2])
    logits = leaf(z)
    loss = F.cross_entropy(logits, t, reduction="sum", label_smoothing=0.2)
    q = np.eye(5)[t] * 0.8 + 0.2 / 5
    assert np.isclose(loss.item(), -(q * np.log(softmax_ref(z))).sum())
    loss.backward()
    assert np.allclose(logits.grad.numpy(), softmax_ref(z) - q)

    probs = rng.dirichlet(np.ones(5), size=4)
    assert np.isclose(F.cross_entropy(tg.Tensor(z), probs).item(), -(probs * np.log(softmax_ref(z))).sum() / 4)
    assert np.isclose(F.cross_entropy(tg.Tensor(z), np.eye(5)[t]).item(), F.cross_entropy(tg.Tensor(z), t).item())
    assert gradcheck(lambda a, p: F.cross_entropy(a, p, label_smoothing=0.1), leaf(z), leaf(probs))
    assert gradgradcheck(lambda a, p: F.cross_entropy(a, p, reduction="none"), leaf(z), leaf(probs))


@settings(max_examples=15)
@given(logits_and_targets(), st.sampled_from(["mean", "sum", "none"]))
def test_nll_loss(case, reduction):
    z, t = case
    logp = np.log(softmax_ref(z))
    x = leaf(logp)
    loss = F.nll_loss(x, t, reduction=reduction)
    per_row = -logp[np.arange(len(t)), t]
    assert np.allclose(loss.numpy(), {"mean": per_row.mean(), "sum": per_row.sum(), "none": per_row}[reduction])
    loss.backward(np.ones(loss.shape))
    assert np.allclose(x.grad.numpy(), -np.eye(z.shape[1])[t] / (len(t) if reduction == "mean" else 1))
    assert np.allclose(F.nll_loss(F.log_softmax(tg.Tensor(z), axis=1), t).numpy(),
                       F.cross_entropy(tg.Tensor(z), t).numpy())
    assert gradgradcheck(lambda a: F.nll_loss(F.log_softmax(a, axis=1), t, reduction=reduction), leaf(z))


def test_float32_losses_stay_float32():
    z = tg.Tensor(np.random.default_rng(1).standard_normal((8, 10)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(z, np.arange(8) % 10, label_smoothing=0.1)
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.float32
    assert F.cross_entropy(z, np.full((8, 10), 0.1)).dtype == np.float32, "float64 probabilities follow the logits"
    for loss in (F.binary_cross_entropy_with_logits(z, np.ones((8, 10))), F.mse_loss(z, np.zeros((8, 10))),
                 F.binary_cross_entropy(z.sigmoid(), np.zeros((8, 10)))):
        assert loss.dtype == np.float32


# ---- binary cross-entropy ---------------------------------------------------------------------------------------
@settings(max_examples=20)
@given(st.integers(1, 6).flatmap(lambda n: st.tuples(S.arrays((n,), low=-6, high=6),
                                                     S.arrays((n,), low=0, high=1))))
def test_sigmoid_then_binary_cross_entropy_gradient_is_a_minus_y(case):
    x, y = case
    a = 1 / (1 + np.exp(-x))
    expected = -(y * np.log(a) + (1 - y) * np.log(1 - a))
    for loss_of in (lambda t: F.binary_cross_entropy(F.sigmoid(t), y, reduction="sum"),
                    lambda t: F.binary_cross_entropy_with_logits(t, y, reduction="sum")):
        t = leaf(x)
        loss = loss_of(t)
        assert np.isclose(loss.item(), expected.sum())
        loss.backward()
        assert np.allclose(t.grad.numpy(), a - y)
    assert gradgradcheck(lambda t: F.binary_cross_entropy_with_logits(t, y), leaf(x))
    assert gradcheck(lambda t, u: F.binary_cross_entropy_with_logits(t, u, reduction="none"), leaf(x), leaf(y))


def test_binary_cross_entropy_with_logits_is_stable_and_exact_at_zero():
    x = leaf([-1e4, -30.0, 0.0, 30.0, 1e4])
    y = np.array([0.0, 0.0, 1.0, 1.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert np.allclose(loss.numpy(), [0.0, np.log1p(np.exp(-30.0)), np.log(2), np.log1p(np.exp(-30.0)), 1e4],
                       rtol=1e-12, atol=0)
    loss.sum().backward()
    assert np.allclose(x.grad.numpy(), [0.0, 1 / (1 + np.exp(30.0)), -0.5, -1 / (1 + np.exp(30.0)), 1.0])


def test_binary_cross_entropy_on_saturated_probabilities_stays_finite():
    p = leaf([0.0, 1.0, 0.5])
    loss = F.binary_cross_entropy(p, np.array([1.0, 0.0, 1.0]), reduction="none")
    assert np.allclose(loss.numpy(), [100.0, 100.0, np.log(2)])
    loss.sum().backward()
    assert np.all(np.isfinite(p.grad.numpy()))


# ---- the rest of the functional API -----------------------------------------------------------------------------
def test_mse_loss_and_reductions():
    a, b = np.array([[1.0, 2.0], [3.0, 5.0]]), np.array([[0.0, 2.0], [1.0, 1.0]])
    x = leaf(a)
    assert np.isclose(F.mse_loss(x, b).item(), 21 / 4) and np.isclose(F.mse_loss(x, b, reduction="sum").item(), 21)
    assert np.allclose(F.mse_loss(x, b, reduction="none").numpy(), (a - b) ** 2)
    F.mse_loss(x, b).backward()
    assert np.allclose(x.grad.numpy(), 2 * (a - b) / 4)
    assert gradgradcheck(lambda t, u: F.mse_loss(t, u), leaf(a), leaf(b))


def test_linear_activations_and_flatten():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    assert np.allclose(F.linear(tg.Tensor(x), tg.Tensor(w), tg.Tensor(b)).numpy(), x @ w.T + b)
    assert gradgradcheck(lambda a, c, e: F.linear(a, c, e).tanh(), leaf(x), leaf(w), leaf(b))
    assert np.allclose(F.relu(tg.Tensor(x)).numpy(), np.maximum(x, 0))
    assert np.allclose(F.sigmoid(tg.Tensor(x)).numpy(), 1 / (1 + np.exp(-x)))
    assert np.allclose(F.tanh(tg.Tensor(x)).numpy(), np.tanh(x))
    assert F.flatten(tg.zeros(2, 3, 4, 5)).shape == (2, 60) and F.flatten(tg.zeros(2, 3, 4, 5), 2).shape == (2, 3, 20)


def test_dropout_is_inverted_and_seeded():
    tg.manual_seed(0)
    x = tg.ones(200_000, requires_grad=True)
    y = F.dropout(x, p=0.3)
    kept = y.numpy() != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01 and np.allclose(y.numpy()[kept], 1 / 0.7)
    y.sum().backward()
    assert np.array_equal(x.grad.numpy(), np.where(kept, 1 / 0.7, 0).astype(np.float32))
    tg.manual_seed(0)
    assert np.array_equal(F.dropout(x, p=0.3).numpy(), y.numpy()), "the mask comes from the seeded generator"
    assert F.dropout(x, p=0.3, training=False) is x and F.dropout(x, p=0.0) is x
    assert not F.dropout(x, p=1.0).numpy().any() and F.dropout(x, p=0.3).dtype == np.float32


# ---- bad input ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, error, message", [
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 3])), ValueError,
     r"cross_entropy: class targets must be in \[0, 2\] for input of shape \(2, 3\), got values from 0 to 3"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([-1, 0])), ValueError, r"in \[0, 2\]"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0.0, 1.0])), TypeError,
     r"cross_entropy: class targets must be integers, got dtype float64; .*astype\(np.int64\)"),
    (lambda: F.nll_loss(tg.randn(2, 3), np.array([True, False])), TypeError, "must be integers"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1, 2])), ValueError,
     r"cross_entropy: expected 2 class targets \(shape \(2,\)\) for input of shape \(2, 3\), got shape \(3,\)"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.zeros((2, 4))), ValueError,
     r"input \(2, 3\) and target \(2, 4\) must have the same shape"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.zeros((2, 3), np.int64)), TypeError, "probabilities must be floats"),
    (lambda: F.cross_entropy(tg.randn(2, 3, 4), np.array([0, 1])), ValueError, r"shape \(N, C\), got \(2, 3, 4\)"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1]), reduction="avg"), ValueError,
     "reduction must be 'mean', 'sum' or 'none'"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.array([0, 1]), label_smoothing=1.5), ValueError, "label_smoothing"),
    (lambda: F.nll_loss(tg.randn(2, 3), np.array([0, 5])), ValueError, r"nll_loss: class targets must be in"),
    (lambda: F.binary_cross_entropy(tg.Tensor([0.5, 1.5]), np.array([0.0, 1.0])), ValueError,
     r"binary_cross_entropy: input \(2,\) must hold probabilities in \[0, 1\].*with_logits"),
    (lambda: F.binary_cross_entropy_with_logits(tg.randn(3), np.zeros(2)), ValueError,
     r"binary_cross_entropy_with_logits: input \(3,\) and target \(2,\)"),
    (lambda: F.mse_loss(tg.randn(3), tg.randn(2, 3)), ValueError, r"mse_loss: input \(3,\) and target \(2, 3\)"),
    (lambda: F.mse_loss(tg.randn(3), tg.randn(3, dtype=np.float64, requires_grad=True)), TypeError,
     "input is float32 but target is float64"),
    (lambda: F.log_softmax(tg.randn(2, 3), axis=2), ValueError, r"log_softmax: axis 2 is out of range for shape"),
    (lambda: F.log_softmax(tg.Tensor(np.array([1, 2])), axis=0), TypeError, "log_softmax: input has dtype int64"),
    (lambda: F.dropout(tg.randn(3), p=1.5), ValueError, r"dropout: p must be in \[0, 1\]"),
    (lambda: F.linear(tg.randn(2, 5), tg.randn(3, 4)), ValueError, r"linear: input \(2, 5\) has 5 features"),
])
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
