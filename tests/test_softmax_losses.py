"""log-softmax, the losses and the rest of the functional API: what the op table does not generate.

The op table (tests/optable/losses.py) checks values against NumPy references and gradients to second order for
log_softmax, softmax, LogSoftmaxBackward, cross_entropy (class indices and probabilities, every reduction, label
smoothing), nll_loss, NLLLoss, the binary cross-entropies, mse_loss and the thin wrappers F.relu, F.sigmoid,
F.tanh, F.dropout in eval mode and F.flatten, and the options and losses of tinygrad_cnn/nn/losses.py. Here:
stability at logits of magnitude 1e4 (and 1000 for pos_weight and soft_margin_loss), worked cases of label
smoothing, class probabilities, weight and ignore_index (PyTorch's normalisation, all ignored -> NaN), K-dimensional
inputs, the switch point of smooth_l1/huber, the other losses by hand, the nn loss modules, float32 results,
dropout's mask, and bad input."""

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
     r"cross_entropy: expected class targets of shape \(2,\) for input of shape \(2, 3\), got shape \(3,\)"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.zeros((2, 4))), ValueError,
     r"input \(2, 3\) and target \(2, 4\) must have the same shape"),
    (lambda: F.cross_entropy(tg.randn(2, 3), np.zeros((2, 3), np.int64)), TypeError, "probabilities must be floats"),
    (lambda: F.cross_entropy(tg.randn(2, 3, 4), np.array([0, 1])), ValueError,
     r"expected class targets of shape \(2, 4\) for input of shape \(2, 3, 4\)"),
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


# ---- the options: weight, ignore_index, K-dimensional inputs (hand-derived cases) ---------------------------------
def test_weight_and_ignore_index_by_hand():
    # logp rows of log(1/2, 1/4, 1/4): loss_n = -w[t_n] logp[n, t_n]; 'mean' divides by w[t] summed over kept rows
    logp = np.log(np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5]]))
    t, w = np.array([0, 2, -100]), np.array([1.0, 2.0, 3.0])
    x = leaf(logp)
    loss = F.nll_loss(x, t, weight=w)
    assert np.isclose(loss.item(), (1 * np.log(2) + 3 * np.log(4)) / (1 + 3))
    loss.backward()
    assert np.allclose(x.grad.numpy(), [[-1 / 4, 0, 0], [0, 0, -3 / 4], [0, 0, 0]])
    # ignore_index may be a real class: its rows drop out the same way
    assert np.isclose(F.nll_loss(leaf(logp), np.array([0, 2, 1]), ignore_index=1, reduction="sum").item(),
                      np.log(2) + np.log(4))
    assert np.allclose(F.nll_loss(leaf(logp), t, weight=w, reduction="none").numpy(), [np.log(2), 3 * np.log(4), 0])


def test_label_smoothing_with_weight_and_ignore_index_follows_pytorch():
    # PyTorch: (1 - e) nll(w) + e / C * sum_c(-w_c logp_c), ignored rows 0, both means over sum of w[t] (kept)
    rng = np.random.default_rng(3)
    z, t, w, e = rng.standard_normal((4, 3)), np.array([1, -100, 0, 2]), np.array([0.5, 1.0, 2.0]), 0.2
    logp = np.log(softmax_ref(z))
    kept = t != -100
    nll = np.where(kept, -w[np.where(kept, t, 0)] * logp[np.arange(4), np.where(kept, t, 0)], 0)
    smooth = np.where(kept, -(logp * w).sum(1), 0)
    want = ((1 - e) * nll.sum() + e / 3 * smooth.sum()) / w[t[kept]].sum()
    x = leaf(z)
    loss = F.cross_entropy(x, t, weight=w, label_smoothing=e)
    assert np.isclose(loss.item(), want)
    assert gradcheck(lambda a: F.cross_entropy(a, t, weight=w, label_smoothing=e), x)
    assert gradgradcheck(lambda a: F.cross_entropy(a, t, weight=w, label_smoothing=e, reduction="none"), x)


def test_every_target_ignored_is_nan_with_zero_gradient():
    x = leaf(np.zeros((2, 3)))
    loss = F.cross_entropy(x, np.array([-100, -100]))
    assert np.isnan(loss.item())
    loss.backward()
    assert np.array_equal(x.grad.numpy(), np.zeros((2, 3)))
    assert F.cross_entropy(tg.Tensor(np.zeros((2, 3))), np.array([-100, -100]), reduction="sum").item() == 0
    assert np.isnan(F.nll_loss(tg.Tensor(np.zeros((0, 3))), np.zeros(0, np.int64)).item()), "empty batch: NaN"


def test_k_dimensional_and_unbatched_inputs_match_the_flattened_rows():
    rng = np.random.default_rng(4)
    z, t = rng.standard_normal((2, 3, 4, 2)), rng.integers(0, 3, (2, 4, 2))
    t[0, 1, 1] = -100
    w = np.array([1.0, 0.5, 2.0])
    flat = np.moveaxis(z, 1, -1).reshape(-1, 3)
    for reduction in ("mean", "sum"):
        got = F.cross_entropy(tg.Tensor(z), t, weight=w, reduction=reduction, label_smoothing=0.1).item()
        want = F.cross_entropy(tg.Tensor(flat), t.reshape(-1), weight=w, reduction=reduction,
                               label_smoothing=0.1).item()
        assert np.isclose(got, want)
    none = F.cross_entropy(tg.Tensor(z), t, reduction="none")
    assert none.shape == (2, 4, 2) and none.numpy()[0, 1, 1] == 0
    # probabilities of the input's shape; unbatched (C,) with a 0-d target or (C,) probabilities
    q = softmax_ref(rng.standard_normal((2, 3, 4)), 1)
    got = F.cross_entropy(tg.Tensor(z[..., 0]), q, weight=w).item()
    want = F.cross_entropy(tg.Tensor(np.moveaxis(z[..., 0], 1, -1).reshape(-1, 3)),
                           np.moveaxis(q, 1, -1).reshape(-1, 3), weight=w).item()
    assert np.isclose(got, want)
    assert F.cross_entropy(tg.Tensor(z[0, :, 0, 0]), np.array(2), reduction="none").shape == ()
    assert np.isclose(F.cross_entropy(tg.Tensor(z[0, :, 0, 0]), np.array(2)).item(),
                      -np.log(softmax_ref(z[0, :, 0, 0]))[2])
    assert np.isclose(F.nll_loss(tg.Tensor(flat[0]), np.array(1)).item(), -flat[0, 1])


def test_class_weight_is_a_constant_and_follows_the_input_dtype():
    z = tg.Tensor(np.random.default_rng(5).standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(z, np.array([0, 1, 3]), weight=np.array([1.0, 2.0, 3.0, 4.0]))
    assert loss.dtype == np.float32
    loss.backward()
    assert z.grad.dtype == np.float32
    with tg.no_grad():  # a weight that requires grad is fine where nothing is recorded
        F.cross_entropy(z, np.array([0, 1, 3]), weight=tg.ones(4, requires_grad=True))


def test_pos_weight_by_hand_and_stable_at_1000():
    # x = 0: loss = r y log 2 + (1 - y) log 2; d/dx = (1 + (r - 1) y) / 2 - r y
    x = leaf([0.0, 0.0, 0.0])
    y, r = np.array([1.0, 0.0, 0.5]), np.array([3.0, 3.0, 2.0])
    loss = F.binary_cross_entropy_with_logits(x, y, pos_weight=r, reduction="none")
    assert np.allclose(loss.numpy(), [3 * np.log(2), np.log(2), (2 * 0.5 + 0.5) * np.log(2)])
    loss.sum().backward()
    assert np.allclose(x.grad.numpy(), [(1 + 2) / 2 - 3, 0.5, (1 + 0.5) / 2 - 1])
    for dtype in (np.float32, np.float64):
        big = tg.Tensor(np.array([-1000.0, 1000.0, -1000.0, 1000.0], dtype), requires_grad=True)
        labels = np.array([1.0, 0.0, 0.0, 1.0], dtype)
        out = F.binary_cross_entropy_with_logits(big, labels, weight=np.full(4, 2.0), pos_weight=np.full(4, 3.0),
                                                 reduction="none")
        assert np.allclose(out.numpy(), [6000, 2000, 0, 0])
        out.sum().backward()
        assert np.allclose(big.grad.numpy(), [-6, 2, 0, 0])
        soft = F.soft_margin_loss(big, np.array([1.0, -1.0, -1.0, 1.0], dtype), reduction="none")
        assert np.allclose(soft.numpy(), [1000, 1000, 0, 0]) and np.all(np.isfinite(soft.numpy()))


def test_smooth_l1_and_huber_at_the_switch_point():
    # d = beta exactly: both pieces give beta / 2, slope sign(d); huber = delta * smooth_l1(beta = delta)
    d = leaf([2.0, -2.0, 1.0, 3.0])
    loss = F.smooth_l1_loss(d, np.zeros(4), beta=2.0, reduction="none")
    assert np.allclose(loss.numpy(), [1.0, 1.0, 0.25, 2.0])
    loss.sum().backward()
    assert np.allclose(d.grad.numpy(), [1.0, -1.0, 0.5, 1.0])
    h = F.huber_loss(tg.Tensor([2.0, -2.0, 1.0, 3.0]), np.zeros(4), delta=2.0, reduction="none")
    assert np.allclose(h.numpy(), 2.0 * loss.numpy())
    assert np.allclose(F.smooth_l1_loss(tg.Tensor([0.5, -2.0]), np.zeros(2), beta=0.0, reduction="none").numpy(),
                       [0.5, 2.0])


def test_kl_div_cosine_and_distances_by_hand():
    # KL(p || q) with p = (1/2, 1/2), q = (1/4, 3/4): sum p log(p / q); a zero target adds 0 (0 log 0 = 0)
    p, q = np.array([[0.5, 0.5, 0.0]]), np.array([[0.25, 0.75, 1.0]])
    kl = F.kl_div(tg.Tensor(np.log(q)), p, reduction="batchmean").item()
    assert np.isclose(kl, 0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    assert np.isclose(F.kl_div(tg.Tensor(np.log(q[:, :2])), np.log(p[:, :2]), log_target=True, reduction="sum").item(),
                      0.5 * np.log(2) + 0.5 * np.log(2 / 3))
    # cos((1, 0), (1, 1)) = 1 / sqrt 2; a zero vector gives 0 and a zero gradient (norm clamped at eps)
    a, b = leaf([[1.0, 0.0], [0.0, 0.0]]), leaf([[1.0, 1.0], [1.0, 2.0]])
    cos = F.cosine_similarity(a, b)
    assert np.allclose(cos.numpy(), [1 / np.sqrt(2), 0.0])
    cos.sum().backward()
    assert np.all(np.isfinite(a.grad.numpy())) and np.allclose(b.grad.numpy()[1], 0)
    # |(3, 4) + eps|_2 = 5; p = 1: 7; p = inf: 4
    x, y = tg.Tensor([[3.0, 4.0]]), tg.Tensor([[0.0, 0.0]])
    assert np.allclose(F.pairwise_distance(x, y, eps=0.0).numpy(), [5.0])
    assert np.allclose(F.pairwise_distance(x, y, p=1, eps=0.0).numpy(), [7.0])
    assert np.allclose(F.pairwise_distance(x, y, p=np.inf, eps=0.0, keepdim=True).numpy(), [[4.0]])
    # triplet: max(0, 1 + d(a, p) - d(a, n)) = max(0, 1 + 5 - 3) = 3; with swap, d(p, n) = 2 < 3 is used
    anc, pos, neg = tg.Tensor([[0.0, 0.0]]), tg.Tensor([[3.0, 4.0]]), tg.Tensor([[3.0, 0.0]]) * 1.0
    assert np.isclose(F.triplet_margin_loss(anc, pos, neg, eps=0.0).item(), 3.0)
    pos2 = tg.Tensor([[3.0, 2.0]])
    assert np.isclose(F.triplet_margin_loss(anc, pos2, neg, eps=0.0, swap=True).item(), 1 + np.sqrt(13) - 2)


def test_margin_losses_and_nlls_by_hand():
    x1, x2, y = tg.Tensor([1.0, 2.0]), tg.Tensor([2.0, 0.0]), tg.Tensor([1.0, -1.0])
    assert np.allclose(F.margin_ranking_loss(x1, x2, y, margin=0.5, reduction="none").numpy(), [1.5, 2.5])
    h = F.hinge_embedding_loss(tg.Tensor([0.3, 0.3, 2.0]), np.array([1.0, -1.0, -1.0]), reduction="none")
    assert np.allclose(h.numpy(), [0.3, 0.7, 0.0])
    c = F.cosine_embedding_loss(tg.Tensor([[1.0, 0.0], [1.0, 0.0]]), tg.Tensor([[0.0, 1.0], [1.0, 1.0]]),
                                np.array([1, -1]), margin=0.5, reduction="none")
    assert np.allclose(c.numpy(), [1.0, 1 / np.sqrt(2) - 0.5], atol=1e-6)
    # Poisson: exp(0) - 3 * 0 = 1, plus Stirling 3 log 3 - 3 + log(6 pi) / 2 with full; rate input: 2 - 3 log 2
    po = F.poisson_nll_loss(tg.Tensor([0.0, 0.0]), tg.Tensor([3.0, 1.0]), full=True, reduction="none")
    assert np.allclose(po.numpy(), [1 + 3 * np.log(3) - 3 + 0.5 * np.log(6 * np.pi), 1.0])
    assert np.isclose(F.poisson_nll_loss(tg.Tensor([2.0]), tg.Tensor([3.0]), log_input=False, eps=0.0).item(),
                      2 - 3 * np.log(2))
    # Gaussian: (log 4 + 1 / 4) / 2; a variance below eps is clamped in value, its gradient passes through
    g = F.gaussian_nll_loss(tg.Tensor([1.0]), tg.Tensor([0.0]), tg.Tensor([4.0]), full=True)
    assert np.isclose(g.item(), 0.5 * (np.log(4) + 0.25) + 0.5 * np.log(2 * np.pi))
    v = leaf([0.0])
    loss = F.gaussian_nll_loss(leaf([1.0]), leaf([1.0]), v, eps=1e-2)
    assert np.isclose(loss.item(), 0.5 * np.log(1e-2))
    loss.backward()
    assert np.isclose(v.grad.numpy()[0], 0.5 / 1e-2)


def test_loss_modules_match_the_functions():
    rng = np.random.default_rng(6)
    z, t, w = tg.Tensor(rng.standard_normal((4, 3))), np.array([0, 2, 1, -100]), np.array([1.0, 2.0, 0.5])
    a, b = tg.Tensor(rng.standard_normal((4, 3))), tg.Tensor(rng.random((4, 3)))
    ones = tg.Tensor(np.array([1.0, -1.0, 1.0, -1.0]))
    pairs = [
        (tg.nn.CrossEntropyLoss(w, label_smoothing=0.1)(z, t), F.cross_entropy(z, t, w, label_smoothing=0.1)),
        (tg.nn.NLLLoss(w, reduction="sum")(z, t), F.nll_loss(z, t, w, reduction="sum")),
        (tg.nn.MSELoss()(a, b), F.mse_loss(a, b)),
        (tg.nn.L1Loss(reduction="none")(a, b), F.l1_loss(a, b, reduction="none")),
        (tg.nn.SmoothL1Loss(beta=0.5)(a, b), F.smooth_l1_loss(a, b, beta=0.5)),
        (tg.nn.HuberLoss(delta=0.5)(a, b), F.huber_loss(a, b, delta=0.5)),
        (tg.nn.BCELoss(w)(b, b), F.binary_cross_entropy(b, b, w)),
        (tg.nn.BCEWithLogitsLoss(pos_weight=w)(a, b), F.binary_cross_entropy_with_logits(a, b, pos_weight=w)),
        (tg.nn.KLDivLoss(reduction="batchmean")(a, b), F.kl_div(a, b, reduction="batchmean")),
        (tg.nn.PoissonNLLLoss(full=True)(a, b), F.poisson_nll_loss(a, b, full=True)),
        (tg.nn.GaussianNLLLoss()(a, b, b), F.gaussian_nll_loss(a, b, b)),
        (tg.nn.MarginRankingLoss(0.5)(z[:, 0], a[:, 0], ones), F.margin_ranking_loss(z[:, 0], a[:, 0], ones, 0.5)),
        (tg.nn.HingeEmbeddingLoss(2.0)(a[:, 0], ones), F.hinge_embedding_loss(a[:, 0], ones, 2.0)),
        (tg.nn.SoftMarginLoss()(a, b), F.soft_margin_loss(a, b)),
        (tg.nn.CosineEmbeddingLoss(0.2)(a, z, ones), F.cosine_embedding_loss(a, z, ones, 0.2)),
        (tg.nn.TripletMarginLoss(p=1, swap=True)(a, b, z), F.triplet_margin_loss(a, b, z, p=1, swap=True)),
        (tg.nn.CosineSimilarity(dim=0)(a, b), F.cosine_similarity(a, b, dim=0)),
        (tg.nn.PairwiseDistance(keepdim=True)(a, b), F.pairwise_distance(a, b, keepdim=True)),
    ]
    for module_out, function_out in pairs:
        assert np.allclose(module_out.numpy(), function_out.numpy())
    with pytest.raises(ValueError, match="CrossEntropyLoss: reduction must be"):
        tg.nn.CrossEntropyLoss(reduction="avg")
    with pytest.raises(ValueError, match="HuberLoss: delta must be positive"):
        tg.nn.HuberLoss(delta=0)


def test_softmax_of_a_0d_tensor_is_one_as_in_pytorch():
    x = tg.Tensor(np.float64(2.5), requires_grad=True)
    y = F.softmax(x, 0)
    assert y.shape == () and y.item() == 1.0 and F.log_softmax(x, -1).item() == 0.0
    y.backward()  # softmax of one element is constant: its gradient is 0
    assert x.grad.item() == 0.0
    assert np.isnan(F.log_softmax(tg.Tensor(np.float32(np.inf)), 0).item())
    with pytest.raises(ValueError, match="log_softmax: axis 1 is out of range"):
        F.log_softmax(x, 1)
