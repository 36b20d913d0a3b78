"""Activations: what the op table (tests/optable/activations.py) does not generate.

The table checks every activation against a NumPy reference and its gradients to second order on samples kept
away from the kinks. Here: values and derivatives worked out by hand, the derivative AT each kink (PyTorch's side,
see docs/derivations/activations.md), stability at +-1000 in float32, dtypes, and the nn layers (each is its F
function; PReLU's weight trains and is saved under PyTorch's name)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.nn.activations import SELU_ALPHA, SELU_SCALE


def value_and_grad(fn, values, dtype=np.float64):
    """fn at ``values`` and the derivative of each element (the gradient of sum(fn(x)))."""
    x = tg.Tensor(np.asarray(values, dtype), requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return y.numpy(), x.grad.numpy()


def second_derivative(fn, values):
    x = leaf(values)
    (g,) = tg.grad(fn(x).sum(), x, create_graph=True)
    (h,) = tg.grad(g.sum(), x)
    return h.numpy()


# ---- derivatives at the kinks, as PyTorch defines them ----------------------------------------------------------
def test_leaky_relu_by_hand_and_its_slope_at_zero():
    y, g = value_and_grad(lambda x: F.leaky_relu(x, 0.1), [-2.0, 0.0, 3.0])
    assert np.allclose(y, [-0.2, 0.0, 3.0])
    assert np.allclose(g, [0.1, 0.1, 1.0])  # PyTorch: x > 0 ? 1 : slope, so the slope at 0
    _, g = value_and_grad(F.leaky_relu, [0.0])
    assert np.allclose(g, [0.01])  # the default slope


def test_hardtanh_relu6_and_hardsigmoid_have_zero_derivative_at_their_bounds():
    y, g = value_and_grad(F.hardtanh, [-2.0, -1.0, 0.0, 1.0, 2.0])
    assert np.allclose(y, [-1, -1, 0, 1, 1]) and np.allclose(g, [0, 0, 1, 0, 0])
    y, g = value_and_grad(lambda x: F.hardtanh(x, -0.5, 2.0), [-0.5, 0.25, 2.0])
    assert np.allclose(y, [-0.5, 0.25, 2.0]) and np.allclose(g, [0, 1, 0])
    y, g = value_and_grad(F.relu6, [-1.0, 0.0, 3.0, 6.0, 7.0])
    assert np.allclose(y, [0, 0, 3, 6, 6]) and np.allclose(g, [0, 0, 1, 0, 0])
    y, g = value_and_grad(F.hardsigmoid, [-4.0, -3.0, 0.0, 1.5, 3.0, 4.0])
    assert np.allclose(y, [0, 0, 0.5, 0.75, 1, 1]) and np.allclose(g, [0, 0, 1 / 6, 1 / 6, 0, 0])
    # clamp keeps its inclusive bounds (derivative 1 there): the two conventions are different ops
    _, g = value_and_grad(lambda x: x.clip(-1.0, 1.0), [-1.0, 1.0])
    assert np.allclose(g, [1, 1])


def test_hardswish_takes_the_quadratic_piece_at_both_kinks():
    y, g = value_and_grad(F.hardswish, [-4.0, -3.0, 0.0, 1.0, 3.0, 4.0])
    assert np.allclose(y, [0, 0, 0, 4 / 6, 3, 4])
    # PyTorch: x < -3 ? 0 : x <= 3 ? x / 3 + 1/2 : 1
    assert np.allclose(g, [0, -0.5, 0.5, 1 / 3 + 0.5, 1.5, 1])


def test_elu_celu_selu_by_hand_and_their_left_derivative_at_zero():
    e = math.exp(-1.0)
    y, g = value_and_grad(lambda x: F.elu(x, alpha=2.0), [-1.0, 0.0, 2.0])
    assert np.allclose(y, [2 * (e - 1), 0, 2]) and np.allclose(g, [2 * e, 2.0, 1])  # alpha at 0 (x <= 0 branch)
    assert np.allclose(second_derivative(lambda x: F.elu(x, alpha=2.0), [-1.0, 2.0]), [2 * e, 0])
    y, g = value_and_grad(lambda x: F.celu(x, alpha=2.0), [-2.0, 0.0, 2.0])
    assert np.allclose(y, [2 * (e - 1), 0, 2]) and np.allclose(g, [e, 1, 1])
    assert np.allclose(second_derivative(lambda x: F.celu(x, alpha=2.0), [-2.0]), [e / 2])
    y, g = value_and_grad(F.selu, [-1.0, 0.0, 1.0])
    assert np.allclose(y, [SELU_SCALE * SELU_ALPHA * (e - 1), 0, SELU_SCALE])
    assert np.allclose(g, [SELU_SCALE * SELU_ALPHA * e, SELU_SCALE * SELU_ALPHA, SELU_SCALE])
    assert np.isclose(SELU_SCALE * SELU_ALPHA, 1.7580993408473766)


def test_elu_with_negative_alpha_and_far_negative_inputs():
    y, g = value_and_grad(lambda x: F.elu(x, alpha=-0.5), [-1.0, 1.0])
    assert np.allclose(y, [-0.5 * (math.exp(-1) - 1), 1]) and np.allclose(g, [-0.5 * math.exp(-1), 1])
    for dtype in (np.float32, np.float64):  # exp of the unused branch never overflows; the gradient stays finite
        y, g = value_and_grad(F.elu, [-1000.0, 1000.0], dtype)
        assert y.dtype == dtype and np.allclose(y, [-1, 1000]) and np.allclose(g, [0, 1])


def test_prelu_by_hand_per_channel_and_at_zero():
    x, w = leaf([[-1.0, 2.0], [-3.0, -4.0]]), leaf([0.1, 0.3])  # channels are axis 1
    y = F.prelu(x, w)
    assert np.allclose(y.numpy(), [[-0.1, 2.0], [-0.3, -1.2]])
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), [[0.1, 1.0], [0.1, 0.3]])
    assert np.allclose(w.grad.numpy(), [-1 - 3, -4])
    x, w = leaf([0.0, 0.0, 5.0]), leaf([0.25])  # one shared slope; at 0: slope for x, nothing for w
    F.prelu(x, w).sum().backward()
    assert np.allclose(x.grad.numpy(), [0.25, 0.25, 1]) and np.allclose(w.grad.numpy(), [0])
    x, w = leaf(np.full((2, 3, 2, 2), -1.0)), leaf([1.0, 2.0, 3.0])  # images: one slope per channel
    y = F.prelu(x, w)
    assert np.allclose(y.numpy()[:, :, 0, 0], [[-1, -2, -3]] * 2)
    y.sum().backward()
    assert np.allclose(w.grad.numpy(), [-8, -8, -8])


def test_prelu_second_derivatives_cross_between_input_and_weight():
    x, w = leaf([-2.0, 3.0]), leaf([0.5])
    (gx,) = tg.grad(F.prelu(x, w).sum(), x, create_graph=True)  # gx = [w, 1]
    (gw,) = tg.grad(gx.sum(), w)
    assert np.allclose(gw.numpy(), [1.0])


# ---- smooth functions by hand ----------------------------------------------------------------------------------
def test_silu_mish_softsign_by_hand():
    s = 1 / (1 + math.exp(-1))
    y, g = value_and_grad(F.silu, [0.0, 1.0])
    assert np.allclose(y, [0, s]) and np.allclose(g, [0.5, s * (1 + 1 - s)])
    y, g = value_and_grad(F.mish, [0.0])
    assert np.allclose(y, [0]) and np.allclose(g, [math.tanh(math.log(2))])  # = 0.6
    assert np.isclose(g[0], 0.6)
    y, g = value_and_grad(F.softsign, [-1.0, 0.0, 3.0])
    assert np.allclose(y, [-0.5, 0, 0.75]) and np.allclose(g, [0.25, 1, 1 / 16])


def test_gelu_tanh_by_hand():
    y, g = value_and_grad(lambda x: F.gelu(x, approximate="tanh"), [0.0, 1.0])
    k = math.sqrt(2 / math.pi)
    u = k * (1 + 0.044715)
    t = math.tanh(u)
    assert np.allclose(y, [0, 0.5 * (1 + t)])
    assert np.allclose(g, [0.5, 0.5 * (1 + t) + 0.5 * (1 - t * t) * k * (1 + 3 * 0.044715)])


def test_gelu_exact_by_hand():
    y, g = value_and_grad(F.gelu, [0.0, 1.0, -1.0])
    phi1 = math.exp(-0.5) / math.sqrt(2 * math.pi)
    assert np.allclose(y, [0, 0.8413447460685429, -0.15865525393145707])
    assert np.allclose(g, [0.5, 0.8413447460685429 + phi1, 0.15865525393145707 - phi1])
    assert np.allclose(second_derivative(F.gelu, [0.0]), [2 / math.sqrt(2 * math.pi)])  # 2 phi(0)
    y, g = value_and_grad(F.gelu, [-10.0, 10.0])  # erfc: the tiny left tail keeps its relative accuracy
    assert np.allclose(y, [-10 * 0.5 * math.erfc(10 / math.sqrt(2)), 10], rtol=1e-12, atol=0)
    assert y[0] < 0 and np.isclose(g[1], 1.0)


def test_logsigmoid_is_stable_at_1000_in_float32():
    for dtype in (np.float32, np.float64):
        y, g = value_and_grad(F.logsigmoid, [-1000.0, 0.0, 1000.0], dtype)
        assert y.dtype == dtype and g.dtype == dtype
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(g))
        assert np.allclose(y, [-1000, -math.log(2), 0]) and np.allclose(g, [1, 0.5, 0])
    h = second_derivative(F.logsigmoid, [-1000.0, 0.0, 1000.0])
    assert np.allclose(h, [0, -0.25, 0])
    y, _ = value_and_grad(F.logsigmoid, [40.0])  # -log1p(exp(-40)), not 0 - rounding
    assert y[0] == -math.exp(-40.0) or np.isclose(y[0], -math.exp(-40.0), rtol=1e-12, atol=0)


def test_smooth_gates_are_finite_at_1000_in_float32():
    for fn in (F.mish, F.silu, F.softsign, F.gelu, lambda x: F.gelu(x, approximate="tanh"), F.selu, F.celu):
        y, g = value_and_grad(fn, [-1000.0, 1000.0], np.float32)
        assert np.all(np.isfinite(y)) and np.all(np.isfinite(g)), fn
        assert np.allclose(y[1], fn(tg.Tensor(np.array([1000.0]))).numpy()[0], rtol=1e-6)


# ---- along an axis ---------------------------------------------------------------------------------------------
def test_softmin_by_hand_both_spellings_and_0d():
    x = leaf([[0.0, math.log(2)], [1.0, 1.0]])
    assert np.allclose(F.softmin(x).numpy(), [[2 / 3, 1 / 3], [0.5, 0.5]])
    assert np.allclose(F.softmin(x, dim=0).numpy(), F.softmin(x, axis=0).numpy())
    assert np.allclose(F.softmin(x, 0).numpy()[:, 0], [math.e / (1 + math.e), 1 / (1 + math.e)])
    z = leaf(3.0)
    out = F.softmin(z)
    assert out.shape == () and out.item() == 1.0  # one class: probability 1, as PyTorch
    out.backward()
    assert z.grad.item() == 0.0
    assert F.softmin(x, dtype=np.float32).dtype == np.float32


def test_glu_by_hand():
    x = leaf([1.0, 2.0, 0.0, math.log(3)])
    y = F.glu(x)
    assert np.allclose(y.numpy(), [0.5, 1.5])  # [1 sigmoid(0), 2 sigmoid(log 3)]
    y.sum().backward()
    assert np.allclose(x.grad.numpy(), [0.5, 0.75, 0.25, 2 * 0.75 * 0.25])
    x = leaf(np.arange(12.0).reshape(2, 2, 3) / 10)
    assert F.glu(x, dim=1).shape == (2, 1, 3)


# ---- dtypes ----------------------------------------------------------------------------------------------------
ALL = [F.leaky_relu, F.relu6, F.hardtanh, F.elu, F.celu, F.selu, F.silu, F.mish, F.softsign, F.hardsigmoid,
       F.hardswish, F.logsigmoid, F.softmin, F.glu, F.gelu, lambda x: F.gelu(x, approximate="tanh"),
       lambda x: F.prelu(x, tg.Tensor(np.array([0.25], x.dtype)))]


@pytest.mark.parametrize("fn", ALL)
def test_float32_stays_float32_and_integers_are_refused(fn):
    x = tg.Tensor(np.linspace(-4, 4, 8, dtype=np.float32), requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32
    with pytest.raises(TypeError, match=r"convert it with \.float\(\)"):
        fn(tg.Tensor(np.arange(4)))


# ---- layers ----------------------------------------------------------------------------------------------------
LAYERS = [
    (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2), "LeakyReLU(negative_slope=0.2)"),
    (nn.LeakyReLU(), F.leaky_relu, "LeakyReLU(negative_slope=0.01)"),
    (nn.ReLU6(), F.relu6, "ReLU6()"),
    (nn.Hardtanh(-2, 2), lambda x: F.hardtanh(x, -2, 2), "Hardtanh(min_val=-2.0, max_val=2.0)"),
    (nn.ELU(0.5), lambda x: F.elu(x, 0.5), "ELU(alpha=0.5)"),
    (nn.CELU(2.0), lambda x: F.celu(x, 2.0), "CELU(alpha=2.0)"),
    (nn.SELU(), F.selu, "SELU()"),
    (nn.GELU(approximate="tanh"), lambda x: F.gelu(x, approximate="tanh"), "GELU(approximate='tanh')"),
    (nn.GELU(), F.gelu, "GELU(approximate='none')"),
    (nn.SiLU(), F.silu, "SiLU()"),
    (nn.Mish(), F.mish, "Mish()"),
    (nn.Softplus(2.0, 5.0), lambda x: F.softplus(x, 2.0, 5.0), "Softplus(beta=2.0, threshold=5.0)"),
    (nn.Softsign(), F.softsign, "Softsign()"),
    (nn.Hardsigmoid(), F.hardsigmoid, "Hardsigmoid()"),
    (nn.Hardswish(), F.hardswish, "Hardswish()"),
    (nn.LogSigmoid(), F.logsigmoid, "LogSigmoid()"),
    (nn.Softmin(dim=0), lambda x: F.softmin(x, dim=0), "Softmin(dim=0)"),
    (nn.Softmin(), F.softmin, "Softmin(dim=None)"),
    (nn.Softmax(dim=0), lambda x: F.softmax(x, 0), "Softmax(dim=0)"),
    (nn.Softmax(), lambda x: F.softmax(x, -1), "Softmax(dim=None)"),
    (nn.LogSoftmax(dim=1), lambda x: F.log_softmax(x, 1), "LogSoftmax(dim=1)"),
    (nn.GLU(), F.glu, "GLU(dim=-1)"),
    (nn.GLU(0), lambda x: F.glu(x, 0), "GLU(dim=0)"),
    (nn.PReLU(), lambda x: F.prelu(x, tg.Tensor(np.array([0.25], np.float32))), "PReLU(num_parameters=1)"),
]


@pytest.mark.parametrize(("layer", "fn", "text"), LAYERS, ids=[t for _, _, t in LAYERS])
def test_each_layer_is_its_function(layer, fn, text):
    x = tg.Tensor(np.linspace(-3, 3, 24, dtype=np.float32).reshape(4, 6))
    assert np.array_equal(layer(x).numpy(), fn(x).numpy())
    assert repr(layer) == text


def test_layer_defaults_are_pytorchs():
    assert nn.LeakyReLU().negative_slope == 0.01
    assert (nn.Hardtanh().min_val, nn.Hardtanh().max_val) == (-1.0, 1.0)
    assert nn.ELU().alpha == 1.0 and nn.CELU().alpha == 1.0
    assert nn.GELU().approximate == "none"
    assert (nn.Softplus().beta, nn.Softplus().threshold) == (1.0, 20.0)
    assert nn.GLU().dim == -1 and nn.Softmax().dim is None
    p = nn.PReLU()
    assert p.num_parameters == 1 and p.weight.shape == (1,) and p.weight.numpy()[0] == np.float32(0.25)
    assert p.weight.dtype == np.float32 and nn.PReLU(dtype=np.float64).weight.dtype == np.float64


@pytest.mark.parametrize(("make", "error", "match"), [
    (lambda: nn.LeakyReLU("a"), TypeError, "LeakyReLU: negative_slope must be a real number"),
    (lambda: nn.Hardtanh(1, -1), ValueError, "Hardtanh: min_val=1 is greater than max_val=-1"),
    (lambda: nn.ELU(math.nan), ValueError, "ELU: alpha must be finite"),
    (lambda: nn.CELU(0), ValueError, "CELU: alpha must be nonzero"),
    (lambda: nn.GELU("erf"), ValueError, "GELU: approximate must be 'none' or 'tanh'"),
    (lambda: nn.Softplus(beta=0), ValueError, "Softplus: beta must be nonzero"),
    (lambda: nn.Softmax(dim=1.5), TypeError, "Softmax: dim must be an int or None"),
    (lambda: nn.GLU(dim="a"), TypeError, "GLU: dim must be an int"),
    (lambda: nn.PReLU(0), ValueError, "PReLU: num_parameters must be a positive int"),
    (lambda: nn.PReLU(init="a"), TypeError, "PReLU: init must be a real number"),
    (lambda: nn.PReLU(dtype=np.int32), TypeError, "PReLU: dtype must be float32 or float64"),
])
def test_layer_arguments_are_checked_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_prelu_layer_trains_per_channel_and_saves_weight_under_pytorchs_name():
    rng = np.random.default_rng(0)
    layer = nn.PReLU(3, init=0.5, dtype=np.float64)
    assert list(layer.state_dict()) == ["weight"] and layer.state_dict()["weight"].shape == (3,)
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = tg.Tensor(rng.standard_normal((8, 3, 2, 2)))
    target = np.where(x.numpy() > 0, x.numpy(), np.array([0.1, -0.2, 0.3]).reshape(3, 1, 1) * x.numpy())
    opt = optim.SGD(layer.parameters(), lr=1.0)
    losses = []
    for _ in range(200):
        opt.zero_grad()
        loss = F.mse_loss(layer(x), target)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 1e-6 * losses[0]
    assert np.allclose(layer.weight.numpy(), [0.1, -0.2, 0.3], atol=1e-4)
    fresh = nn.PReLU(3, dtype=np.float64)
    fresh.load_state_dict(layer.state_dict())
    assert np.array_equal(fresh(x).numpy(), layer(x).numpy())
    with pytest.raises(ValueError, match="prelu: weight has 3 elements but the input"):
        layer(tg.Tensor(np.ones((2, 4))))


def test_activation_layers_in_a_model_backpropagate():
    model = nn.Sequential(nn.Linear(4, 8), nn.GELU(approximate="tanh"), nn.Linear(8, 8), nn.PReLU(8), nn.Mish(),
                          nn.Linear(8, 6), nn.GLU(), nn.LogSoftmax(dim=1))
    out = model(tg.Tensor(np.ones((2, 4), np.float32)))
    assert out.shape == (2, 3)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())
