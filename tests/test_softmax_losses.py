"""log-softmax, the losses and the rest of the functional API: what the op table does not generate.

The op table (tests/optable/losses.py) checks values against NumPy references and gradients to second order for
log_softmax, softmax, LogSoftmaxBackward, cross_entropy (class indices and probabilities, every reduction, label
smoothing), nll_loss, NLLLoss, the binary cross-entropies, mse_loss and the thin wrappers F.relu, F.sigmoid,
F.tanh, F.dropout in eval mode and F.flatten. Here: stability at logits of magnitude 1e4, worked cases of label
smoothing, class probabilities and mse_loss, float32 results, dropout's mask, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf
from references import softmax_ref

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.testing import gradcheck, gradgradcheck


# ---- stability ------------------------------------------------------------------------------------------------
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
