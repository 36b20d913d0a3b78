"""Batch normalisation: F.batch_norm and nn.BatchNorm1d/2d/3d (the BatchNorm and BatchNormBackward primitives).

Hand-derived values, the running statistics step by step, the layers' buffers and errors, float32 accuracy on
large batches, first, second and third derivatives in float64, and (when PyTorch is installed) a comparison with
torch.nn.BatchNorm1d/2d. The op table entries (tests/optable/batchnorm.py) draw every option at random.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.autograd import grad
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.batchnorm import BatchNorm, BatchNormBackward
from tinygrad_cnn.testing import gradcheck, gradgradcheck

EPS = 1e-5


def t(values, dtype=np.float64, requires_grad=False):
    return tg.Tensor(np.array(values, dtype=dtype), requires_grad=requires_grad)


def reference(x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """x_hat in float64 with np.mean / np.var over a channels-first layout."""
    x = x.astype(np.float64)
    flat = np.moveaxis(x, 1, 0).reshape(x.shape[1], -1)
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return (x - flat.mean(axis=1).reshape(shape)) / np.sqrt(flat.var(axis=1).reshape(shape) + eps)


# ---- hand-derived cases -------------------------------------------------------------------------------------------
def test_two_values_per_channel_by_hand():
    """x = [1, 3]: mean 2, biased variance 1, x_hat = [-1, 1] / sqrt(1 + eps), whatever the channel's offset and
    scale; so the input gradient is nearly 0: dx = +-(a / 2) eps / (1 + eps) with a = 1 / sqrt(1 + eps)."""
    x = t([[1.0, 10.0], [3.0, 30.0]], requires_grad=True)  # channel 1: [10, 30], mean 20, variance 100
    w, b = t([2.0, 1.0], requires_grad=True), t([0.5, 0.0], requires_grad=True)
    y = F.batch_norm(x, None, None, w, b, training=True)
    a, a1 = 1 / math.sqrt(1 + EPS), 10 / math.sqrt(100 + EPS)
    np.testing.assert_allclose(y.data, [[-2 * a + 0.5, -a1], [2 * a + 0.5, a1]], rtol=1e-14)
    (y * t([[1.0, 0.0], [0.0, 0.0]])).sum().backward()
    np.testing.assert_allclose(b.grad.data, [1.0, 0.0])  # sum(g)
    np.testing.assert_allclose(w.grad.data, [-a, 0.0], rtol=1e-14)  # sum(g x_hat)
    dx0 = 2 * (a / 2) * EPS / (1 + EPS)  # weight 2
    np.testing.assert_allclose(x.grad.data[:, 0], [dx0, -dx0], rtol=1e-8)
    np.testing.assert_allclose(x.grad.data[:, 1], 0.0, atol=1e-12)


def test_three_values_by_hand_with_eps_zero():
    """x = [0, 0, 3]: mean 1, variance 2, x_hat = [-1, -1, 2] / sqrt(2); for g = [1, 0, 0] the three terms give
    dx = (s / 3)(3 g - sum g - x_hat sum(g x_hat)) = [1, -1, 0] / (2 sqrt(2))."""
    x = t([[0.0], [0.0], [3.0]], requires_grad=True)
    y = F.batch_norm(x, None, None, training=True, eps=0.0)
    np.testing.assert_allclose(y.data[:, 0], np.array([-1.0, -1.0, 2.0]) / math.sqrt(2), rtol=1e-14)
    (y * t([[1.0], [0.0], [0.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.data[:, 0], np.array([1.0, -1.0, 0.0]) / (2 * math.sqrt(2)), atol=1e-15)


def test_gradient_is_blind_to_shifts_and_rescalings():
    """With eps = 0 the input gradient is orthogonal to 1 and to x_hat: y does not change when the channel is
    shifted or rescaled."""
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((5, 2, 3)), requires_grad=True)
    y = F.batch_norm(x, None, None, training=True, eps=0.0)
    (dx,) = grad(y, [x], tg.Tensor(rng.standard_normal(y.shape)))
    x_hat = reference(x.data, 0.0)
    for c in range(2):
        assert abs(dx.data[:, c].sum()) < 1e-12
        assert abs((dx.data[:, c] * x_hat[:, c]).sum()) < 1e-12


def test_eval_mode_is_the_affine_map_of_the_running_statistics():
    x = t([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    rm, rv = t([1.0, -1.0]), t([4.0, 0.25])
    w, b = t([2.0, 3.0], requires_grad=True), t([1.0, 0.0], requires_grad=True)
    y = F.batch_norm(x, rm, rv, w, b, training=False, eps=0.0)
    np.testing.assert_allclose(y.data, [[1.0, 18.0], [3.0, -18.0]])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, [[1.0, 6.0], [1.0, 6.0]])  # w / sqrt(running_var)
    np.testing.assert_allclose(w.grad.data, [1.0, 0.0])  # sum((x - rm) / sqrt(rv)) = [0 + 1, 6 - 6]
    np.testing.assert_allclose(b.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(rm.data, [1.0, -1.0])  # eval never updates the running statistics
    np.testing.assert_array_equal(rv.data, [4.0, 0.25])


def test_one_primitive_node_for_the_whole_forward():
    x, w, b = t(np.ones((2, 3, 4)), requires_grad=True), t(np.ones(3), requires_grad=True), t(np.zeros(3))
    y = F.batch_norm(x, None, None, w, b, training=True)
    assert type(y.grad_fn) is BatchNorm
    assert y.grad_fn.next == (x, w, None)  # its inputs directly, no chain of small ops


# ---- running statistics -------------------------------------------------------------------------------------------
def test_running_statistics_by_hand():
    rm, rv = t([0.0]), t([1.0])
    F.batch_norm(t([[1.0], [3.0]]), rm, rv, training=True, momentum=0.1)
    np.testing.assert_allclose(rm.data, [0.2])  # 0.9 * 0 + 0.1 * 2
    np.testing.assert_allclose(rv.data, [1.1])  # 0.9 * 1 + 0.1 * 2 (unbiased: 2 / (2 - 1))
    F.batch_norm(t([[0.0], [0.0], [6.0]]), rm, rv, training=True, momentum=0.5)
    np.testing.assert_allclose(rm.data, [1.1])  # 0.5 * 0.2 + 0.5 * 2
    np.testing.assert_allclose(rv.data, [6.55])  # 0.5 * 1.1 + 0.5 * 12 (sum of squares 24, over 3 - 1)


def test_running_statistics_are_updated_in_place_and_recorded_as_writes():
    rm, rv = t([0.0, 0.0]), t([1.0, 1.0])
    mean_array, var_array = rm.data, rv.data
    before = tg.versions.version(mean_array)
    F.batch_norm(t(np.arange(8.0).reshape(2, 2, 2)), rm, rv, training=True)
    assert rm.data is mean_array and rv.data is var_array
    assert tg.versions.version(mean_array) == before + 1


def test_eval_graph_keeps_its_statistics_when_the_buffers_change_before_backward():
    bn = nn.BatchNorm1d(2, dtype=np.float64).eval()
    x = t([[1.0, 2.0], [3.0, 5.0]], requires_grad=True)
    y = bn(x)
    bn.train()
    bn(t([[10.0, 0.0], [30.0, 1.0]]))  # changes running_mean and running_var in place
    y.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full((2, 2), 1 / math.sqrt(1 + EPS)))


def test_momentum_none_is_the_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None, dtype=np.float64)
    batches = [np.array([[1.0], [3.0]]), np.array([[0.0], [0.0], [6.0]]), np.array([[5.0], [7.0]])]
    for k, batch in enumerate(batches, 1):
        bn(tg.Tensor(batch))
        assert int(bn.num_batches_tracked.data) == k
        np.testing.assert_allclose(bn.running_mean.data, [np.mean([b.mean() for b in batches[:k]])])
        np.testing.assert_allclose(bn.running_var.data, [np.mean([b.var(ddof=1) for b in batches[:k]])])


def test_num_batches_tracked_counts_training_calls_only():
    bn = nn.BatchNorm2d(3)
    assert bn.num_batches_tracked.dtype == np.int64 and bn.num_batches_tracked.shape == ()
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 2, 2)).astype(np.float32))
    bn(x)
    bn(x)
    bn.eval()
    bn(x)
    assert int(bn.num_batches_tracked.data) == 2


def test_track_running_stats_false_always_uses_the_batch():
    bn = nn.BatchNorm1d(2, track_running_stats=False, dtype=np.float64)
    assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
    assert list(bn.state_dict()) == ["weight", "bias"]
    x = np.random.default_rng(1).standard_normal((4, 2)) * 3 + 5
    bn.eval()
    np.testing.assert_allclose(bn(tg.Tensor(x)).data, reference(x), rtol=1e-12)


def test_eval_uses_the_running_statistics():
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    rng = np.random.default_rng(2)
    for _ in range(3):
        bn(tg.Tensor(rng.standard_normal((3, 2, 2, 2)) + 4))
    bn.eval()
    x = rng.standard_normal((1, 2, 3, 3))  # one image: fine in eval mode
    rm, rv = bn.running_mean.data.reshape(1, 2, 1, 1), bn.running_var.data.reshape(1, 2, 1, 1)
    np.testing.assert_allclose(bn(tg.Tensor(x)).data, (x - rm) / np.sqrt(rv + EPS), rtol=1e-12)


def test_an_empty_batch_leaves_the_running_statistics():
    bn = nn.BatchNorm1d(3)
    y = bn(tg.Tensor(np.zeros((0, 3), np.float32)))
    assert y.shape == (0, 3)
    np.testing.assert_array_equal(bn.running_mean.data, 0.0)
    np.testing.assert_array_equal(bn.running_var.data, 1.0)


# ---- the layers ---------------------------------------------------------------------------------------------------
def test_parameters_buffers_and_state_dict_names():
    bn = nn.BatchNorm2d(4)
    np.testing.assert_array_equal(bn.weight.data, np.ones(4, np.float32))
    np.testing.assert_array_equal(bn.bias.data, np.zeros(4, np.float32))
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(bn.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert not bn.running_mean.requires_grad and bn.running_mean.dtype == np.float32
    assert list(nn.BatchNorm2d(4, affine=False).state_dict()) == ["running_mean", "running_var",
                                                                   "num_batches_tracked"]
    no_bias = nn.BatchNorm2d(4, bias=False)
    assert no_bias.bias is None and [n for n, _ in no_bias.named_parameters()] == ["weight"]


def test_load_state_dict_restores_the_running_statistics():
    a, b = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    a(tg.Tensor(np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)))
    b.load_state_dict(a.state_dict())
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_array_equal(getattr(b, name).data, getattr(a, name).data)
    assert int(b.num_batches_tracked.data) == 1


def test_reset_running_stats_and_parameters():
    bn = nn.BatchNorm1d(2)
    bn(tg.Tensor(np.array([[1.0, 2.0], [4.0, 8.0]], np.float32)))
    bn.weight.data[:] = 3.0
    bn.reset_running_stats()
    np.testing.assert_array_equal(bn.running_mean.data, 0.0)
    np.testing.assert_array_equal(bn.running_var.data, 1.0)
    assert int(bn.num_batches_tracked.data) == 0
    np.testing.assert_array_equal(bn.weight.data, 3.0)
    bn.reset_parameters()
    np.testing.assert_array_equal(bn.weight.data, 1.0)


def test_repr():
    assert repr(nn.BatchNorm2d(16)) == ("BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, "
                                        "track_running_stats=True)")
    assert nn.BatchNorm1d(3, eps=0.001, momentum=None, affine=False, track_running_stats=False).extra_repr() == (
        "3, eps=0.001, momentum=None, affine=False, bias=False, track_running_stats=False")


def test_layers_accept_their_ranks():
    rng = np.random.default_rng(4)
    for layer, shape in ((nn.BatchNorm1d(3), (4, 3)), (nn.BatchNorm1d(3), (2, 3, 5)),
                         (nn.BatchNorm2d(3), (2, 3, 3, 5)), (nn.BatchNorm3d(3), (2, 3, 3, 1, 2))):
        x = rng.standard_normal(shape).astype(np.float32)
        y = layer(tg.Tensor(x))
        assert y.dtype == np.float32
        np.testing.assert_allclose(y.data, reference(x), rtol=1e-4, atol=1e-5)


def test_double_layer():
    bn = nn.BatchNorm2d(2).double()
    assert bn.running_mean.dtype == np.float64 and bn.weight.dtype == np.float64
    assert bn(tg.Tensor(np.ones((2, 2, 1, 1)))).dtype == np.float64


@pytest.mark.parametrize("layer, shape, message", [
    (nn.BatchNorm1d(3), (2, 3, 4, 5), r"BatchNorm1d: expected 2D or 3D input \(got 4D input\)"),
    (nn.BatchNorm1d(3), (3,), r"BatchNorm1d: expected 2D or 3D input \(got 1D input\)"),
    (nn.BatchNorm2d(3), (3, 4, 5), r"BatchNorm2d: expected 4D input \(got 3D input\).*unsqueeze\(0\)"),
    (nn.BatchNorm3d(3), (2, 3, 4, 5), r"BatchNorm3d: expected 5D input \(got 4D input\)"),
])
def test_wrong_rank(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer(tg.Tensor(np.ones(shape, np.float32)))


def test_wrong_channel_count_names_the_layer_the_shapes_and_the_fix():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(16\): expected 16 channels along axis 1 \(num_features\), "
                                         r"got input of shape \(2, 8, 5, 5\); create the layer as BatchNorm2d\(8\)"):
        nn.BatchNorm2d(16)(tg.Tensor(np.ones((2, 8, 5, 5), np.float32)))


def test_bad_inputs_of_the_layers():
    with pytest.raises(TypeError, match=r"BatchNorm1d: input has dtype int64; convert it with \.float\(\)"):
        nn.BatchNorm1d(2)(tg.Tensor(np.ones((3, 2), np.int64)))
    with pytest.raises(TypeError, match=r"BatchNorm1d: input has dtype float64 and the layer float32"):
        nn.BatchNorm1d(2)(tg.Tensor(np.ones((3, 2))))
    bn = nn.BatchNorm1d(2)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel when training, got input size "
                                         r"\(1, 2\)"):
        bn(tg.Tensor(np.ones((1, 2), np.float32)))
    assert int(bn.num_batches_tracked.data) == 0  # refused before anything changed
    bn.eval()
    assert bn(tg.Tensor(np.ones((1, 2), np.float32))).shape == (1, 2)  # eval mode: one sample is fine
    with pytest.raises(ValueError, match=r"BatchNorm1d: num_features must be a positive int, got 0"):
        nn.BatchNorm1d(0)
    with pytest.raises(TypeError, match=r"BatchNorm2d: momentum must be a real number"):
        nn.BatchNorm2d(2, momentum="fast")
    with pytest.raises(TypeError, match=r"BatchNorm2d: dtype must be float32 or float64"):
        nn.BatchNorm2d(2, dtype=np.int32)
    with pytest.raises(RuntimeError, match=r"BatchNorm2d: device 'cuda' is not available"):
        nn.BatchNorm2d(2, device="cuda")


def test_bad_inputs_of_the_function():
    x = t(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"batch_norm: bias has shape \(2,\), but the input \(2, 3, 4\) has 3 "
                                         r"channels along axis 1; pass a bias of shape \(3,\)"):
        F.batch_norm(x, None, None, None, t([0.0, 0.0]), training=True)
    with pytest.raises(ValueError, match=r"batch_norm: Expected more than 1 value per channel when training"):
        F.batch_norm(t([[1.0, 2.0]]), None, None, training=True)
    with pytest.raises(ValueError, match="both must be given"):
        F.batch_norm(x, None, None)


def test_writing_the_input_after_the_forward_pass_is_refused():
    x = t(np.random.default_rng(5).standard_normal((3, 2)), requires_grad=True)
    y = F.batch_norm(x * 1.0, None, None, t([1.0, 2.0], requires_grad=True), training=True)
    y.grad_fn.inputs[0].data[0, 0] = 7.0
    tg.versions.mark_modified(y.grad_fn.inputs[0].data)
    with pytest.raises(RuntimeError, match=r"BatchNorm.*modified in place"):
        y.sum().backward()


# ---- float32 accuracy ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(10**6, 1), (250, 2, 2000), (16, 2, 125, 125)])
def test_float32_is_accurate_on_large_batches_with_a_large_mean(shape):
    """10^6 values per channel with mean 1000 and spread 1: x_hat agrees with the float64 normalisation of the same
    float32 values to 1e-5 (E[x^2] - E[x]^2, or a float32 running sum over a strided batch axis, misses by far more);
    the running mean is exact to float32 precision and the running variance close."""
    rng = np.random.default_rng(6)
    x = (1000.0 + rng.standard_normal(shape)).astype(np.float32)
    rm, rv = tg.Tensor(np.zeros(shape[1], np.float32)), tg.Tensor(np.ones(shape[1], np.float32))
    y = F.batch_norm(tg.Tensor(x), rm, rv, training=True, momentum=1.0)
    assert y.dtype == np.float32
    assert np.max(np.abs(y.data - reference(x))) < 1e-5
    flat = np.moveaxis(x.astype(np.float64), 1, 0).reshape(shape[1], -1)
    np.testing.assert_allclose(rm.data, flat.mean(axis=1), rtol=1e-7)
    np.testing.assert_allclose(rv.data, flat.var(axis=1, ddof=1), rtol=1e-5)


@pytest.mark.parametrize("shape", [(200, 3, 50, 50), (8, 3, 70, 80), (3000, 3)])
def test_float32_gradients_on_a_large_batch(shape):
    """Each way of summing (one einsum per row, pairwise along the spatial axis, float64 over the batch) keeps the
    float32 gradients close to float64 ones."""
    rng = np.random.default_rng(7)
    x = (1000.0 + rng.standard_normal(shape)).astype(np.float32)
    g = rng.standard_normal(x.shape).astype(np.float32)
    w = np.array([1.0, -2.0, 0.5], np.float32)
    x32, w32 = tg.Tensor(x, requires_grad=True), tg.Tensor(w, requires_grad=True)
    y = F.batch_norm(x32, None, None, w32, training=True)
    y.backward(tg.Tensor(g))
    x64 = tg.Tensor(x.astype(np.float64), requires_grad=True)
    w64 = tg.Tensor(w.astype(np.float64), requires_grad=True)
    F.batch_norm(x64, None, None, w64, training=True).backward(tg.Tensor(g.astype(np.float64)))
    assert np.max(np.abs(x32.grad.data - x64.grad.data)) < 1e-5 * np.max(np.abs(x64.grad.data))
    np.testing.assert_allclose(w32.grad.data, w64.grad.data, rtol=1e-4)


def test_the_centred_statistics_and_x_hat_from_them():
    """normalise_affine keeps x - c and the mean of it (low), never x_hat: mean = c + low, var and y from them,
    x_hat_of rebuilds x_hat, and sum_g_x_hat gives sum(g x_hat) from the centred values; y is written over the
    centred values without affine, and is None with apply=False."""
    from tinygrad_cnn.ops import batchnorm as bn

    rng = np.random.default_rng(11)
    x = (1000.0 + rng.standard_normal((6, 3, 5, 4))).astype(np.float32)
    w, b = np.array([2.0, -1.0, 0.5], np.float32), np.array([0.25, 0.0, -3.0], np.float32)
    stats = bn.normalise_affine(x, EPS, w, b)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(axis=(0, 2, 3)), x64.var(axis=(0, 2, 3))
    np.testing.assert_allclose(stats.mean, mean, rtol=1e-12)  # low is the mean of small values: ~float64 exact
    np.testing.assert_allclose(stats.var, var, rtol=1e-6)
    assert stats.c.dtype == np.float32 and np.array_equal(stats.centred, x - stats.c.reshape(1, -1, 1, 1))
    assert np.array_equal(stats.mean, stats.c + stats.low) and np.all(np.abs(stats.low) < 1e-3)
    x_hat = reference(x)
    np.testing.assert_allclose(stats.y, x_hat * w.reshape(1, -1, 1, 1) + b.reshape(1, -1, 1, 1), atol=2e-6)
    np.testing.assert_allclose(bn.x_hat_of(stats.centred, stats.low, stats.inv_std), x_hat, atol=1e-6)
    g = rng.standard_normal(x.shape).astype(np.float32)
    sums = bn.sum_g_x_hat(g, stats.centred, stats.low, stats.inv_std, bn.channel_sum(g))
    np.testing.assert_allclose(sums, (g.astype(np.float64) * x_hat).sum(axis=(0, 2, 3)), rtol=1e-5, atol=1e-4)
    plain = bn.normalise_affine(x, EPS, None, None)
    assert plain.y is plain.centred
    np.testing.assert_allclose(plain.y, x_hat, atol=1e-6)  # the constant -low s was added: ~4e-5 without it
    assert bn.normalise_affine(x, EPS, w, b, apply=False).y is None


@pytest.mark.parametrize("spatial", [(3,), (3, 4), (70, 60)])  # below STATS_SPLIT, one einsum per row, above DOT_UP_TO
def test_channel_total_is_the_sum_over_all_axes_but_the_channels(spatial):
    from tinygrad_cnn.ops import batchnorm as bn

    x = np.random.default_rng(12).standard_normal((5, 3, *spatial)).astype(np.float32)
    total = bn.channel_total(x)
    assert total.dtype == np.float64 and total.shape == (3,)
    axes = (0, *range(2, x.ndim))
    np.testing.assert_allclose(total, x.astype(np.float64).sum(axis=axes), rtol=1e-6, atol=1e-4)
    size = math.prod(spatial)
    if not bn.STATS_SPLIT <= size <= bn.DOT_UP_TO:
        assert np.array_equal(total, bn.channel_sum(x))


def test_an_exact_first_mean_adds_no_shift_without_a_bias():
    """Integers in float64: c is the exact mean, low = 0, and y = centred * s alone, bit for bit."""
    from tinygrad_cnn.ops import batchnorm as bn

    x = np.arange(24.0).reshape(4, 2, 3)
    stats = bn.normalise_affine(x, EPS, None, None)
    assert not stats.low.any()
    expected = (x - x.mean(axis=(0, 2), keepdims=True)) * (1 / np.sqrt(x.var(axis=(0, 2)) + EPS)).reshape(1, -1, 1)
    assert np.array_equal(stats.y, expected)


# ---- derivatives in float64 ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(3, 2), (2, 3, 3), (2, 2, 3, 2), (2, 2, 1, 2, 3)])
def test_gradcheck_and_gradgradcheck(training, shape):
    rng = np.random.default_rng(8)
    c = shape[1]
    x = tg.Tensor(rng.standard_normal(shape), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(c), requires_grad=True)
    b = tg.Tensor(rng.standard_normal(c), requires_grad=True)
    rm, rv = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)

    def f(x, w, b):
        running = (tg.Tensor(rm.copy()), tg.Tensor(rv.copy()))
        return F.batch_norm(x, *running, w, b, training=training, eps=1e-3)

    assert gradcheck(f, x, w, b)
    assert gradgradcheck(f, x, w, b)


def test_gradients_of_the_weight_alone():
    """x constant, only the weight and bias differentiated: the first-order path that skips the input gradient."""
    rng = np.random.default_rng(9)
    x = tg.Tensor(rng.standard_normal((4, 2, 3)))
    w, b = tg.Tensor(rng.standard_normal(2), requires_grad=True), tg.Tensor(np.zeros(2), requires_grad=True)
    g = rng.standard_normal((4, 2, 3))
    F.batch_norm(x, None, None, w, b, training=True).backward(tg.Tensor(g))
    np.testing.assert_allclose(w.grad.data, (g * reference(x.data)).sum(axis=(0, 2)), rtol=1e-12)
    np.testing.assert_allclose(b.grad.data, g.sum(axis=(0, 2)), rtol=1e-12)
    assert gradgradcheck(lambda w, b: F.batch_norm(x, None, None, w, b, training=True), w, b)


def test_third_order():
    """The VJP of BatchNormBackward is differentiable again: gradgradcheck of the input gradient is a third-order
    check of batch norm."""
    rng = np.random.default_rng(10)
    g = tg.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    x = tg.Tensor(rng.standard_normal((3, 2, 2)), requires_grad=True)
    w = tg.Tensor(rng.standard_normal(2), requires_grad=True)
    assert gradgradcheck(lambda g, x, w: BatchNormBackward.apply(g, x, w, eps=1e-3), g, x, w)


def test_layer_gradients_in_train_and_eval():
    rng = np.random.default_rng(11)
    bn = nn.BatchNorm2d(2, dtype=np.float64)
    bn.weight.data[:] = [1.5, -0.5]
    x = tg.Tensor(rng.standard_normal((2, 2, 2, 3)), requires_grad=True)
    for mode in (True, False):
        bn.train(mode)
        assert gradcheck(lambda x, w, b: _with(bn, w, b)(x), x, bn.weight, bn.bias)


def _with(bn, w, b):
    """The layer with its weight and bias replaced by the tensors gradcheck perturbs, running statistics frozen."""
    def run(x):
        return F.batch_norm(x, tg.Tensor(bn.running_mean.data.copy()), tg.Tensor(bn.running_var.data.copy()), w, b,
                            training=bn.training, eps=bn.eps)
    return run


# ---- PyTorch ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("momentum", [0.1, None])
def test_matches_torch_batchnorm2d_in_train_and_eval(momentum):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(12)
    ours, theirs = nn.BatchNorm2d(3, momentum=momentum), torch.nn.BatchNorm2d(3, momentum=momentum)
    w, b = rng.standard_normal(3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    ours.weight.data[:], ours.bias.data[:] = w, b
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))
    for training in (True, True, False):
        ours.train(training)
        theirs.train(training)
        x = (rng.standard_normal((4, 3, 5, 7)) * 2 + 3).astype(np.float32)
        g = rng.standard_normal(x.shape).astype(np.float32)
        xo, xt = tg.Tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        yo, yt = ours(xo), theirs(xt)
        yo.backward(tg.Tensor(g))
        yt.backward(torch.from_numpy(g))
        np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ours.weight.grad.data, theirs.weight.grad.numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(ours.bias.grad.data, theirs.bias.grad.numpy(), rtol=1e-5, atol=1e-4)
        for name in ("running_mean", "running_var"):
            np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).numpy(), rtol=1e-6,
                                       atol=1e-7)
        assert int(ours.num_batches_tracked.data) == int(theirs.num_batches_tracked)
        ours.weight.grad = ours.bias.grad = None
        theirs.weight.grad = theirs.bias.grad = None
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 5)])
def test_matches_torch_batchnorm1d_and_the_function(shape):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(13)
    x = rng.standard_normal(shape)
    rm, rv = rng.standard_normal(4), rng.uniform(0.5, 2, 4)
    for training in (True, False):
        ours_stats, their_stats = (t(rm), t(rv)), (torch.tensor(rm), torch.tensor(rv))
        yo = F.batch_norm(t(x), *ours_stats, t(np.full(4, 2.0)), None, training=training, momentum=0.3, eps=1e-3)
        yt = torch.nn.functional.batch_norm(torch.tensor(x), *their_stats, torch.full((4,), 2.0, dtype=torch.float64),
                                            None, training=training, momentum=0.3, eps=1e-3)
        np.testing.assert_allclose(yo.data, yt.numpy(), rtol=1e-12, atol=1e-12)
        for o, th in zip(ours_stats, their_stats):
            np.testing.assert_allclose(o.data, th.numpy(), rtol=1e-12)


def test_training_batch_norm_with_eps_zero_on_a_constant_channel_is_nan_without_a_warning():
    """PyTorch returns NaN silently: 0 * (1 / 0) inside the normalisation must not warn."""
    import warnings

    x = tg.Tensor(np.ones((4, 2, 3, 3), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.batch_norm(x, None, None, training=True, eps=0.0)
    assert np.isnan(y.numpy()).all()
