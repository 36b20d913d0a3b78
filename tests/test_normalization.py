"""Normalisation other than batch norm (tinygrad_cnn/nn/normalization.py, tinygrad_cnn/ops/normalization.py): hand-
derived values and gradients of the ``LayerNorm`` primitive, float32 stability, the layers (parameters, buffers,
train/eval, repr, bad input), and comparisons with PyTorch when it is installed. The op table
(tests/optable/normalization.py) draws the shapes and options of every functional form."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.errors import ShapeError
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.normalization import LayerNorm
from tinygrad_cnn.testing.gradcheck import gradcheck, gradgradcheck

RNG = np.random.default_rng(14)


def leaf(a) -> tg.Tensor:
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ---- the LayerNorm primitive, by hand ---------------------------------------------------------------------------
def test_layer_norm_hand_derived_value_and_gradient():
    """x = (-1, 0, 1), eps = 0: mu = 0, var = 2/3, s = sqrt(3/2), x_hat = (-s, 0, s). With g = (1, 0, 0):
    dx = s/3 (3 g - sum g - x_hat sum(g x_hat)) = s/3 (0.5, -1, 0.5)."""
    x = leaf([-1.0, 0.0, 1.0])
    y = F.layer_norm(x, 3, eps=0.0)
    s = math.sqrt(1.5)
    np.testing.assert_allclose(y.data, [-s, 0.0, s], rtol=1e-14)
    y.backward(tg.Tensor(np.array([1.0, 0.0, 0.0])))
    np.testing.assert_allclose(x.grad.data, np.array([0.5, -1.0, 0.5]) * s / 3, rtol=1e-14)


def test_layer_norm_hand_derived_affine_gradients():
    """y = x_hat w + b over rows: dw = sum over rows of g x_hat, db = sum of g, dx uses h = g w."""
    x = leaf([[-1.0, 0.0, 1.0], [2.0, 4.0, 6.0]])
    w, b = leaf([2.0, 3.0, 4.0]), leaf([0.5, 0.0, -0.5])
    y = F.layer_norm(x, (3,), w, b, eps=0.0)
    s = math.sqrt(1.5)
    x_hat = np.array([[-s, 0.0, s], [-s, 0.0, s]])
    np.testing.assert_allclose(y.data, x_hat * [2.0, 3.0, 4.0] + [0.5, 0.0, -0.5], rtol=1e-14)
    g = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    y.backward(tg.Tensor(g))
    np.testing.assert_allclose(w.grad.data, (g * x_hat).sum(axis=0), rtol=1e-14)
    np.testing.assert_allclose(b.grad.data, g.sum(axis=0), rtol=1e-14)
    # row 0: h = (2, 0, 0) -> s/3 (6 - 2 - x_hat (2 * -s)) = s/3 (1, -2, 1); row 1 has twice the deviations, so
    # half the s: h = (0, 3, 4), sum h = 7, sum h x_hat = 4 s -> (s/2)/3 (0 - 7 + 4 s^2, 9 - 7, 12 - 7 - 4 s^2)
    s1 = s / 2
    row0 = s / 3 * np.array([1.0, -2.0, 1.0])
    row1 = s1 / 3 * np.array([-7.0 + 4 * s * s, 2.0, 5.0 - 4 * s * s])
    np.testing.assert_allclose(x.grad.data, np.stack([row0, row1]), rtol=1e-13)


def test_layer_norm_hand_derived_gradient_of_the_squared_norm():
    """sum(x_hat^2) = M var / (var + eps), whose gradient is 2 eps (x - mu) / (var + eps)^2 (0 when eps = 0)."""
    x_np = np.array([0.3, -1.2, 2.0, 0.5])
    eps = 0.25
    x = leaf(x_np)
    (gx,) = tg.grad((F.layer_norm(x, 4, eps=eps) ** 2).sum(), x)
    expected = 2 * eps * (x_np - x_np.mean()) / (x_np.var() + eps) ** 2
    np.testing.assert_allclose(gx.data, expected, rtol=1e-12)


def test_layer_norm_gradient_is_the_same_with_and_without_create_graph():
    """The recorded VJP (x_hat and 1/sigma rebuilt from x) and the plain one (saved arrays) agree."""
    x, w, b = leaf(RNG.standard_normal((3, 2, 5))), leaf(RNG.standard_normal((2, 5))), leaf(RNG.standard_normal((2, 5)))
    g = tg.Tensor(RNG.standard_normal((3, 2, 5)))
    plain = tg.grad(F.layer_norm(x, (2, 5), w, b), (x, w, b), g)
    recorded = tg.grad(F.layer_norm(x, (2, 5), w, b), (x, w, b), g, create_graph=True)
    for p, r in zip(plain, recorded):
        np.testing.assert_allclose(r.data, p.data, rtol=1e-12, atol=1e-14)
    assert recorded[0].requires_grad and not plain[0].requires_grad


def test_layer_norm_row_gradients_sum_to_zero_and_are_orthogonal_to_x_hat():
    x = leaf(RNG.standard_normal((4, 6)))
    y = F.layer_norm(x, 6, eps=0.0)
    y.backward(tg.Tensor(RNG.standard_normal((4, 6))))
    np.testing.assert_allclose(x.grad.data.sum(axis=1), 0, atol=1e-13)
    np.testing.assert_allclose((x.grad.data * y.data).sum(axis=1), 0, atol=1e-13)


@pytest.mark.parametrize("affine", [(), ("weight",), ("bias",), ("weight", "bias")])
def test_layer_norm_primitive_gradcheck_and_gradgradcheck(affine):
    x = leaf(RNG.standard_normal((2, 3, 4)))
    params = {name: leaf(RNG.standard_normal((3, 4))) for name in affine}

    def f(x, *ps):
        return F.layer_norm(x, (3, 4), **dict(zip(affine, ps)), eps=1e-3)

    assert type(f(x, *params.values()).grad_fn) is LayerNorm
    assert gradcheck(f, x, *params.values())
    assert gradgradcheck(f, x, *params.values())


def test_layer_norm_is_stable_in_float32():
    """A mean far larger than the spread: the two-pass variance is exact (a one-pass one would cancel to 0)."""
    x = tg.Tensor((1e4 + np.array([[-1.0, 0.0, 1.0]])).astype(np.float32))
    y = F.layer_norm(x, 3)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.data, [[-math.sqrt(1.5), 0.0, math.sqrt(1.5)]], rtol=1e-4)
    x = tg.Tensor((1e3 + RNG.standard_normal((8, 64))).astype(np.float32))
    y64 = F.layer_norm(tg.Tensor(x.data.astype(np.float64)), 64)
    np.testing.assert_allclose(F.layer_norm(x, 64).data, y64.data, atol=2e-3)


def test_layer_norm_of_a_constant_row_is_zero_with_a_finite_gradient():
    x = leaf(np.full((2, 3), 5.0))
    y = F.layer_norm(x, 3)
    np.testing.assert_array_equal(y.data, 0.0)
    y.backward(tg.Tensor(RNG.standard_normal((2, 3))))
    assert np.all(np.isfinite(x.grad.data))


def test_layer_norm_empty_batch():
    x = leaf(np.zeros((0, 4)))
    y = F.layer_norm(x, 4, tg.Tensor(np.ones(4)), tg.Tensor(np.zeros(4)))
    assert y.shape == (0, 4)
    y.sum().backward()
    assert x.grad.shape == (0, 4)


def test_layer_norm_refuses_in_place_writes_to_its_output_and_input():
    x = leaf(RNG.standard_normal((2, 3)))
    y = F.layer_norm(x, 3)
    with tg.no_grad():
        y.add_(1.0)
    with pytest.raises(RuntimeError, match=r"its output .* was modified in place"):
        y.sum().backward()
    x = leaf(RNG.standard_normal((2, 3)))
    y = F.layer_norm(x, 3, tg.Tensor(np.ones(3)))
    with tg.no_grad():
        x.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"input 0 .* was modified in place"):
        y.sum().backward()


# ---- group, instance, rms, normalize, local response: hand cases -------------------------------------------------
def test_group_norm_normalises_each_group_and_reduces_to_layer_and_instance_norm():
    x = tg.Tensor(RNG.standard_normal((2, 6, 3, 4)))
    y = F.group_norm(x, 3, eps=0.0).data.reshape(2, 3, -1)
    np.testing.assert_allclose(y.mean(axis=2), 0, atol=1e-14)
    np.testing.assert_allclose(y.var(axis=2), 1, rtol=1e-12)
    np.testing.assert_allclose(F.group_norm(x, 1).data, F.layer_norm(x, (6, 3, 4)).data, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(F.group_norm(x, 6).data, F.instance_norm(x).data, rtol=1e-12, atol=1e-14)


def test_group_norm_affine_is_per_channel():
    x = tg.Tensor(RNG.standard_normal((2, 4, 5)))
    w, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.0, 1.0, -1.0, 2.0])
    plain = F.group_norm(x, 2).data
    np.testing.assert_allclose(F.group_norm(x, 2, tg.Tensor(w), tg.Tensor(b)).data,
                               plain * w[:, None] + b[:, None], rtol=1e-14)


def test_instance_norm_updates_running_statistics_as_pytorch():
    """r = (1 - m) r + m * (batch mean of each instance's mean, resp. unbiased variance)."""
    x = RNG.standard_normal((3, 2, 5))
    mean, var = tg.Tensor(np.array([0.5, -0.5])), tg.Tensor(np.array([1.0, 2.0]))
    F.instance_norm(tg.Tensor(x), mean, var, momentum=0.25)
    np.testing.assert_allclose(mean.data, 0.75 * np.array([0.5, -0.5]) + 0.25 * x.mean(axis=2).mean(axis=0))
    np.testing.assert_allclose(var.data, 0.75 * np.array([1.0, 2.0]) + 0.25 * x.var(axis=2, ddof=1).mean(axis=0))


def test_instance_norm_with_running_statistics():
    x = RNG.standard_normal((2, 2, 3))
    mean, var = np.array([1.0, -1.0]), np.array([4.0, 0.25])
    y = F.instance_norm(tg.Tensor(x), tg.Tensor(mean), tg.Tensor(var), use_input_stats=False, eps=0.0)
    np.testing.assert_allclose(y.data, (x - mean[:, None]) / np.sqrt(var[:, None]), rtol=1e-14)


def test_rms_norm_hand_case_and_default_eps():
    x = tg.Tensor(np.array([[3.0, 4.0]], np.float32))
    y = F.rms_norm(x, 2)
    eps = np.finfo(np.float32).eps
    np.testing.assert_allclose(y.data, [[3 / math.sqrt(12.5 + eps), 4 / math.sqrt(12.5 + eps)]], rtol=1e-6)
    y = F.rms_norm(x, [2], weight=tg.Tensor(np.array([2.0, -1.0], np.float32)), eps=0.5)
    np.testing.assert_allclose(y.data, [[6 / math.sqrt(13.0), -4 / math.sqrt(13.0)]], rtol=1e-6)


def test_normalize_hand_cases_and_zero_vector():
    np.testing.assert_allclose(F.normalize(tg.Tensor([[3.0, 4.0]])).data, [[0.6, 0.8]], rtol=1e-6)
    np.testing.assert_allclose(F.normalize(tg.Tensor([[3.0, -1.0]]), p=1).data, [[0.75, -0.25]], rtol=1e-6)
    np.testing.assert_allclose(F.normalize(tg.Tensor([[3.0, 4.0], [1.0, 1.0]]), dim=0).data,
                               [[3 / math.sqrt(10), 4 / math.sqrt(17)], [1 / math.sqrt(10), 1 / math.sqrt(17)]],
                               rtol=1e-6)
    z = leaf(np.zeros((2, 3)))
    y = F.normalize(z, dim=1)
    np.testing.assert_array_equal(y.data, 0.0)
    y.backward(tg.Tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(z.grad.data, 1e12)  # x / eps: the clamp blocks the norm's (zero) gradient


def test_local_response_norm_hand_case():
    """size 2 (even): channel c sees [c - 1, c]; alpha = beta = k = 1: b = a / (1 + sum / 2)."""
    x = tg.Tensor(np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1))
    y = F.local_response_norm(x, 2, alpha=1.0, beta=1.0, k=1.0)
    np.testing.assert_allclose(y.data.ravel(), [1 / 1.5, 2 / 3.5, 3 / 7.5], rtol=1e-14)
    y = F.local_response_norm(x, 3, alpha=3.0, beta=0.5, k=2.0)  # odd: [c - 1, c + 1]
    np.testing.assert_allclose(y.data.ravel(), [1 / math.sqrt(7.0), 2 / math.sqrt(16.0), 3 / math.sqrt(15.0)],
                               rtol=1e-14)
    empty = tg.Tensor(np.zeros((0, 3, 2)))
    assert F.local_response_norm(empty, 2).shape == (0, 3, 2)


# ---- the layers ----------------------------------------------------------------------------------------------
def test_layer_norm_layer_parameters_repr_and_errors():
    ln = nn.LayerNorm((2, 3))
    assert ln.weight.shape == ln.bias.shape == (2, 3)
    np.testing.assert_array_equal(ln.weight.data, 1.0)
    np.testing.assert_array_equal(ln.bias.data, 0.0)
    assert [n for n, _ in ln.named_parameters()] == ["weight", "bias"]
    assert repr(ln) == "LayerNorm((2, 3), eps=1e-05, elementwise_affine=True, bias=True)"
    assert repr(nn.LayerNorm(4, bias=False)) == "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=False)"
    plain = nn.LayerNorm([4], eps=1e-3, elementwise_affine=False)
    assert plain.weight is None and plain.bias is None and not list(plain.parameters())
    assert plain.normalized_shape == (4,) and plain.eps == 1e-3
    y = ln(tg.randn(5, 2, 3))
    assert y.shape == (5, 2, 3) and y.dtype == np.float32
    with pytest.raises(ShapeError, match=r"LayerNorm: input of shape \(2, 5\) does not end with normalized_shape "
                                         r"\(4,\)"):
        nn.LayerNorm(4)(tg.randn(2, 5))
    with pytest.raises(TypeError, match="LayerNorm: input has dtype int64"):
        nn.LayerNorm(2)(tg.Tensor(np.ones((2, 2), np.int64)))
    with pytest.raises(TypeError, match="LayerNorm: normalized_shape"):
        nn.LayerNorm("4")
    with pytest.raises(TypeError, match="LayerNorm: input is float64 but weight is float32"):
        nn.LayerNorm(3)(tg.Tensor(np.ones((2, 3))))
    assert nn.LayerNorm(3, dtype=np.float64)(tg.Tensor(np.ones((2, 3)))).dtype == np.float64


def test_layer_norm_layer_trains():
    ln = nn.LayerNorm(3)
    out = ln(tg.randn(4, 3))
    (out * tg.Tensor(np.array([1.0, 2.0, 3.0], np.float32))).sum().backward()
    np.testing.assert_allclose(ln.bias.grad.data, [4.0, 8.0, 12.0])
    assert ln.weight.grad.shape == (3,)


def test_group_norm_layer():
    gn = nn.GroupNorm(2, 4)
    assert repr(gn) == "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"
    assert repr(nn.GroupNorm(2, 4, affine=False)) == "GroupNorm(2, 4, eps=1e-05, affine=False, bias=False)"
    assert nn.GroupNorm(1, 3, bias=False).bias is None
    assert gn(tg.randn(2, 4, 3, 3)).shape == (2, 4, 3, 3)
    with pytest.raises(ValueError, match=r"GroupNorm: num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ShapeError, match=r"GroupNorm: input of shape \(2, 6, 3\) has 6 channels \(dim 1\) but the "
                                         r"layer was built with num_channels=4"):
        gn(tg.randn(2, 6, 3))
    with pytest.raises(ShapeError, match="GroupNorm: the 6 channels of input"):
        nn.GroupNorm(4, 4, affine=False)(tg.randn(2, 6, 3))
    with pytest.raises(ShapeError, match="GroupNorm: expected an input of at least 2 dimensions"):
        gn(tg.randn(4))


@pytest.mark.parametrize("layer, spatial", [(nn.InstanceNorm1d, (5,)), (nn.InstanceNorm2d, (3, 4)),
                                            (nn.InstanceNorm3d, (2, 3, 2))])
def test_instance_norm_layers(layer, spatial):
    m = layer(3)
    assert m.weight is None and m.running_mean is None and not list(m.named_buffers())
    x = tg.randn(2, 3, *spatial)
    y = m(x)
    flat = y.data.reshape(2, 3, -1)
    np.testing.assert_allclose(flat.mean(axis=2), 0, atol=1e-6)
    # unbatched input: the same as the batch of one
    np.testing.assert_allclose(m(x[0]).data, m(x[:1]).data[0], rtol=1e-6)
    name = layer.__name__
    with pytest.raises(ShapeError, match=f"{name}: expected a {len(spatial) + 1}-D"):
        m(tg.randn(*spatial))
    with pytest.raises(ShapeError, match=f"{name}: input of shape .* has 4 channels"):
        layer(3, affine=True)(tg.randn(2, 4, *spatial))
    with pytest.warns(UserWarning, match="num_features is not used"):
        m(tg.randn(2, 4, *spatial))


def test_instance_norm_tracks_running_statistics_and_uses_them_in_eval():
    m = nn.InstanceNorm1d(2, momentum=0.5, affine=True, track_running_stats=True)
    assert repr(m) == "InstanceNorm1d(2, eps=1e-05, momentum=0.5, affine=True, bias=True, track_running_stats=True)"
    assert [n for n, _ in m.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert list(m.state_dict()) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    x = RNG.standard_normal((4, 2, 6)).astype(np.float32)
    m(tg.Tensor(x))
    np.testing.assert_allclose(m.running_mean.data, 0.5 * x.mean(axis=2).mean(axis=0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(m.running_var.data, 0.5 + 0.5 * x.var(axis=2, ddof=1).mean(axis=0), rtol=1e-5)
    assert int(m.num_batches_tracked.data) == 0  # PyTorch's InstanceNorm does not count batches either
    m.eval()
    y = m(tg.Tensor(x[:, :, :1]))  # one position is fine with the running statistics
    expected = (x[:, :, :1] - m.running_mean.data[:, None]) / np.sqrt(m.running_var.data[:, None] + 1e-5)
    np.testing.assert_allclose(y.data, expected, rtol=1e-5)
    before = m.running_mean.data.copy()
    m(tg.Tensor(x))
    np.testing.assert_array_equal(m.running_mean.data, before)  # eval mode does not update
    frozen = nn.InstanceNorm1d(2, momentum=None, track_running_stats=True)
    frozen(tg.Tensor(x))
    np.testing.assert_array_equal(frozen.running_mean.data, 0.0)  # momentum None: 0.0 (as PyTorch)
    m.reset_running_stats()
    np.testing.assert_array_equal(m.running_var.data, 1.0)


def test_instance_norm_in_training_needs_more_than_one_position():
    with pytest.raises(ValueError, match=r"InstanceNorm2d: expected more than 1 spatial element when training, got "
                                         r"input of shape \(2, 3, 1, 1\)"):
        nn.InstanceNorm2d(3)(tg.randn(2, 3, 1, 1))
    with pytest.raises(ValueError, match="InstanceNorm1d: expected more than 1 spatial element"):
        nn.InstanceNorm1d(3, track_running_stats=True)(tg.randn(3, 1))
    assert nn.InstanceNorm1d(3, track_running_stats=True).eval()(tg.randn(3, 1)).shape == (3, 1)


def test_local_response_norm_and_rms_norm_layers():
    lrn = nn.LocalResponseNorm(2)
    assert repr(lrn) == "LocalResponseNorm(2, alpha=0.0001, beta=0.75, k=1.0)"
    assert lrn(tg.randn(2, 3, 4, 4)).shape == (2, 3, 4, 4)
    with pytest.raises(ShapeError, match="LocalResponseNorm: expected an input of at least 3 dimensions"):
        lrn(tg.randn(2, 3))
    with pytest.raises(ValueError, match="LocalResponseNorm: size must be a positive int"):
        nn.LocalResponseNorm(0)
    rms = nn.RMSNorm(4)
    assert repr(rms) == "RMSNorm((4,), eps=None, elementwise_affine=True)"
    assert repr(nn.RMSNorm([2, 3], eps=1e-3)) == "RMSNorm((2, 3), eps=0.001, elementwise_affine=True)"
    assert nn.RMSNorm(4, elementwise_affine=False).weight is None
    y = rms(tg.Tensor(np.array([[1.0, 1.0, 1.0, 1.0]], np.float32)))
    np.testing.assert_allclose(y.data, 1.0, rtol=1e-6)
    with pytest.raises(ShapeError, match=r"RMSNorm: input of shape \(2, 3\) does not end with normalized_shape"):
        rms(tg.randn(2, 3))


def test_instance_norm_buffers_round_trip_through_state_dict():
    m = nn.InstanceNorm2d(2, track_running_stats=True)
    m(tg.randn(3, 2, 4, 4) * 3.0 + 1.0)
    state = m.state_dict()
    fresh = nn.InstanceNorm2d(2, track_running_stats=True)
    fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running_mean.data, m.running_mean.data)
    np.testing.assert_array_equal(fresh.running_var.data, m.running_var.data)
    assert not np.array_equal(fresh.running_var.data, 1.0)
    with pytest.raises(ValueError, match="running_var"):
        nn.InstanceNorm2d(2, track_running_stats=True).load_state_dict(
            {k: v for k, v in state.items() if k != "running_var"})


def test_layers_are_exported():
    for name in ("LayerNorm", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "LocalResponseNorm",
                 "RMSNorm"):
        assert name in tg.nn.__all__ and issubclass(getattr(tg.nn, name), nn.Module)
    for name in ("layer_norm", "group_norm", "instance_norm", "local_response_norm", "normalize", "rms_norm"):
        assert getattr(tg.nn.functional, name).__module__ == "tinygrad_cnn.nn.normalization"


# ---- against PyTorch ---------------------------------------------------------------------------------------------
def _compare_layer(torch, ours, theirs, x: np.ndarray, rtol=1e-10, atol=1e-12):
    """Forward and every gradient (input and parameters) of our layer and PyTorch's, in float64."""
    theirs = theirs.double()
    for name, p in ours.named_parameters():  # same (random) parameters on both sides
        value = RNG.standard_normal(p.shape)
        p.data = value.copy()
        getattr(theirs, name).data = torch.tensor(value)
    xt, xo = torch.tensor(x, requires_grad=True), leaf(x)
    yt, yo = theirs(xt), ours(xo)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=rtol, atol=atol)
    g = RNG.standard_normal(yo.shape)
    yt.backward(torch.tensor(g))
    yo.backward(tg.Tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=rtol * 100, atol=atol * 100)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.data, getattr(theirs, name).grad.numpy(), rtol=rtol * 100, atol=atol * 100)


@pytest.mark.parametrize("make, shape", [
    (lambda m: m.LayerNorm(5), (3, 5)),
    (lambda m: m.LayerNorm((3, 4), eps=1e-3), (2, 3, 4)),
    (lambda m: m.LayerNorm((4,), bias=False), (2, 3, 4)),
    (lambda m: m.LayerNorm(4, elementwise_affine=False), (2, 4)),
    (lambda m: m.GroupNorm(3, 6), (2, 6, 3, 5)),
    (lambda m: m.GroupNorm(2, 4, affine=False), (3, 4, 7)),
    (lambda m: m.GroupNorm(1, 3, eps=0.1), (2, 3, 2, 2, 2)),
    (lambda m: m.InstanceNorm1d(3, affine=True), (2, 3, 7)),
    (lambda m: m.InstanceNorm1d(3), (3, 7)),
    (lambda m: m.InstanceNorm2d(2, affine=True), (2, 2, 3, 5)),
    (lambda m: m.InstanceNorm3d(2, affine=True, bias=False), (2, 2, 3, 2, 2)),
    (lambda m: m.LocalResponseNorm(2, alpha=0.5, beta=0.8, k=1.5), (2, 5, 3)),
    (lambda m: m.LocalResponseNorm(5, alpha=0.3), (2, 4, 3, 3)),
    (lambda m: m.LocalResponseNorm(4, alpha=0.2, beta=1.0), (2, 3, 2, 2, 2)),
    (lambda m: m.RMSNorm(4), (3, 4)),
    (lambda m: m.RMSNorm((2, 3), eps=1e-2), (4, 2, 3)),
])
def test_layers_match_pytorch(make, shape):
    torch = pytest.importorskip("torch")
    ours = make(nn)
    if any(True for _ in ours.parameters()):
        ours = ours.double()
    _compare_layer(torch, ours, make(torch.nn), RNG.standard_normal(shape))


def test_instance_norm_running_statistics_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.InstanceNorm2d(3, momentum=0.3, affine=True, track_running_stats=True).double()
    theirs = torch.nn.InstanceNorm2d(3, momentum=0.3, affine=True, track_running_stats=True).double()
    for _ in range(3):
        x = RNG.standard_normal((2, 3, 4, 4)) * 2 + 1
        np.testing.assert_allclose(ours(tg.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)
    state = theirs.state_dict()
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(value, state[key].numpy(), rtol=1e-12)
    ours.eval()
    theirs.eval()
    x = RNG.standard_normal((2, 3, 4, 4))
    np.testing.assert_allclose(ours(tg.Tensor(x)).data, theirs(torch.tensor(x)).detach().numpy(), rtol=1e-10)


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0}, {"p": 3.0, "dim": 0}, {"p": math.inf, "dim": -1},
                                    {"dim": (1, 2)}, {"eps": 0.5}])
def test_normalize_matches_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    x = RNG.standard_normal((2, 3, 4))
    xt, xo = torch.tensor(x, requires_grad=True), leaf(x)
    yt, yo = torch.nn.functional.normalize(xt, **kwargs), F.normalize(xo, **kwargs)
    np.testing.assert_allclose(yo.data, yt.detach().numpy(), rtol=1e-12)
    g = RNG.standard_normal(x.shape)
    yt.backward(torch.tensor(g))
    yo.backward(tg.Tensor(g))
    np.testing.assert_allclose(xo.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_rms_norm_default_eps_matches_pytorch_in_float32():
    torch = pytest.importorskip("torch")
    x = (RNG.standard_normal((3, 8)) * 1e-3).astype(np.float32)
    np.testing.assert_allclose(F.rms_norm(tg.Tensor(x), 8).data,
                               torch.nn.functional.rms_norm(torch.tensor(x), (8,)).numpy(), rtol=1e-5)


def test_layer_norm_second_derivative_matches_pytorch():
    """d/dx of sum(dL/dx ^2) for L = sum(layer_norm(x) * c): the recorded VJP against PyTorch's double backward."""
    torch = pytest.importorskip("torch")
    x, w, c = RNG.standard_normal((3, 5)), RNG.standard_normal(5), RNG.standard_normal((3, 5))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    (gt,) = torch.autograd.grad((torch.nn.functional.layer_norm(xt, (5,), wt) * torch.tensor(c)).sum(), xt,
                                create_graph=True)
    hxt, hwt = torch.autograd.grad((gt * gt).sum(), (xt, wt))
    xo, wo = leaf(x), leaf(w)
    (go,) = tg.grad((F.layer_norm(xo, 5, wo) * tg.Tensor(c)).sum(), xo, create_graph=True)
    hxo, hwo = tg.grad((go * go).sum(), (xo, wo))
    np.testing.assert_allclose(hxo.data, hxt.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(hwo.data, hwt.numpy(), rtol=1e-9, atol=1e-12)


def test_functional_forms_match_pytorch_with_options():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    x = RNG.standard_normal((2, 4, 3, 3))
    w, b = RNG.standard_normal(4), RNG.standard_normal(4)
    t = torch.tensor
    pairs = [
        (F.group_norm(tg.Tensor(x), 2, tg.Tensor(w), tg.Tensor(b), eps=1e-3), tf.group_norm(t(x), 2, t(w), t(b), 1e-3)),
        (F.instance_norm(tg.Tensor(x), weight=tg.Tensor(w)), tf.instance_norm(t(x), weight=t(w))),
        (F.layer_norm(tg.Tensor(x), [3, 3], bias=tg.Tensor(np.ones((3, 3)))), tf.layer_norm(t(x), [3, 3],
                                                                                           bias=t(np.ones((3, 3))))),
        (F.local_response_norm(tg.Tensor(x), 6, 0.4, 0.6, 2.0), tf.local_response_norm(t(x), 6, 0.4, 0.6, 2.0)),
        (F.rms_norm(tg.Tensor(x), (3,), tg.Tensor(w[:3])), tf.rms_norm(t(x), (3,), t(w[:3]))),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.instance_norm(tg.Tensor(x))  # no warning from the functional form
