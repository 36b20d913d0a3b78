"""Elementwise primitives (tinygrad_cnn/ops/elementwise.py): hand-derived cases. The property tests (gradcheck and
gradgradcheck on generated broadcasting shapes, references, float32, in-place) are generated from the op table
(tests/optable/elementwise.py, run by tests/test_op_table.py).

Hand-derived conventions checked here:
- relu'(x) = [x > 0], so relu'(0) = 0; abs'(x) = sign(x), so abs'(0) = 0.
- maximum/minimum on a tie send g/2 to each operand.
- clip's bounds are inclusive: a value equal to a bound passes the gradient.
- d(a**b)/db is taken as 0 where a == 0 and b >= 0, d(a**b)/da as 0 where b == 0 (as PyTorch), never NaN.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.testing import gradcheck


def test_cast_gradient_returns_to_the_input_dtype():
    x = leaf([1.0, -2.0, 3.0])
    y = x.astype(np.float32)
    assert y.dtype == np.float32 and y.grad_fn is not None
    (y * tg.Tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 3.0])


def test_cast_to_float_round_trip_gradcheck():
    x = leaf(np.linspace(-1, 1, 6).reshape(2, 3))
    # float64 -> float32 -> float64 is linear, so a wide step is exact up to float32 rounding
    assert gradcheck(lambda t: (t.astype(np.float32) * 2).astype(np.float64), x, eps=1e-2, atol=1e-4)


def test_cast_to_int_is_cut_from_the_graph():
    x = leaf([1.5, -2.5])
    y = x.astype(np.int64)
    assert y.dtype == np.int64
    assert not y.requires_grad and y.grad_fn is None


def test_broadcast_gradient_is_summed_back():
    a = leaf(np.ones((3, 1)))
    b = leaf(np.arange(4.0))
    (a * b).sum().backward()
    # d/da_i sum_j a_i b_j = sum_j b_j = 6, for each of the 3 rows; d/db_j = sum_i a_i = 3
    np.testing.assert_array_equal(a.grad.numpy(), np.full((3, 1), 6.0))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(4, 3.0))


def test_unbroadcast_keeps_a_size_one_axis():
    g = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    out = ew.unbroadcast(g, (3, 1))
    np.testing.assert_array_equal(out.numpy(), np.arange(24.0).reshape(2, 3, 4).sum(axis=(0, 2)).reshape(3, 1))


def test_relu_gradient_at_known_points():
    x = leaf([-2.0, -0.5, 0.0, 0.5, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0, 1, 1])  # relu'(0) = 0


def test_abs_gradient_is_sign_with_zero_at_zero():
    x = leaf([-3.0, 0.0, 2.0])
    x.abs().sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [-1, 0, 1])


def test_maximum_and_minimum_split_ties():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([1.0, 5.0, 0.0])
    a.maximum(b).backward(tg.Tensor(np.array([4.0, 4.0, 4.0])))
    np.testing.assert_array_equal(a.grad.numpy(), [2, 0, 4])  # tie: g/2 each
    np.testing.assert_array_equal(b.grad.numpy(), [2, 4, 0])
    a.grad = b.grad = None
    a.minimum(b).backward(tg.Tensor(np.array([4.0, 4.0, 4.0])))
    np.testing.assert_array_equal(a.grad.numpy(), [2, 4, 0])
    np.testing.assert_array_equal(b.grad.numpy(), [2, 0, 4])


def test_maximum_with_a_scalar_broadcasts():
    x = leaf([[-1.0, 2.0], [0.5, -3.0]])
    x.maximum(0.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [1, 0]])


def test_clip_bounds_are_inclusive():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = x.clip(-1.0, 1.0)
    np.testing.assert_array_equal(y.numpy(), [-1, -1, 0, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 0])


def test_clip_rejects_bad_bounds():
    x = leaf([1.0])
    with pytest.raises(ValueError, match="clip"):
        x.clip()
    with pytest.raises(ValueError, match="greater than"):
        x.clip(2.0, 1.0)


def test_clip_keeps_float32():
    assert tg.Tensor([1.0, 5.0]).clip(0, 2).dtype == np.float32


def test_hand_derived_smooth_functions():
    x = leaf([0.0, 1.0])
    x.sigmoid().sum().backward()
    s = 1 / (1 + np.exp(-1.0))
    np.testing.assert_allclose(x.grad.numpy(), [0.25, s * (1 - s)])
    x.grad = None
    x.tanh().sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1 - np.tanh(1.0) ** 2])
    y = leaf([1.0, 4.0])
    (y.log() + y.sqrt() + y.exp()).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), 1 / np.array([1, 4]) + 0.5 / np.array([1, 2]) + np.exp([1, 4]))


def test_div_and_pow_hand_derived():
    a, b = leaf(6.0), leaf(3.0)
    (a / b).backward()
    assert a.grad.item() == pytest.approx(1 / 3) and b.grad.item() == pytest.approx(-6 / 9)
    a, b = leaf(2.0), leaf(3.0)
    (a ** b).backward()  # d/da = b a^(b-1) = 12, d/db = a^b log a = 8 log 2
    assert a.grad.item() == pytest.approx(12.0) and b.grad.item() == pytest.approx(8 * np.log(2.0))


def test_pow_exponent_gradient_at_zero_base_is_zero_not_nan():
    a, b = leaf([0.0, 0.0]), leaf([2.0, 0.0])
    (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.numpy(), [0.0, 0.0])
    np.testing.assert_array_equal(a.grad.numpy(), [0.0, 0.0])  # 2 * 0^1 = 0; b == 0 gives 0 (a**0 is constant)


def test_sigmoid_does_not_overflow():
    x = leaf([-1000.0, 1000.0])
    y = x.sigmoid()
    np.testing.assert_array_equal(y.numpy(), [0.0, 1.0])
    y.sum().backward()
    assert np.all(np.isfinite(x.grad.numpy()))


def test_where_routes_gradient_and_needs_a_bool_condition():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([10.0, 20.0, 30.0])
    cond = tg.Tensor(np.array([True, False, True]))
    out = tg.where(cond, a, b)
    np.testing.assert_array_equal(out.numpy(), [1, 20, 3])
    out.backward(tg.Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(a.grad.numpy(), [1, 0, 3])
    np.testing.assert_array_equal(b.grad.numpy(), [0, 2, 0])
    with pytest.raises(TypeError, match="where"):
        tg.where(tg.Tensor(np.array([1, 0, 1])), a, b)


def test_where_broadcasts_and_accepts_a_scalar():
    x = leaf([[-1.0, 2.0], [3.0, -4.0]])
    y = (x > 0).where(x, 0.0)
    np.testing.assert_array_equal(y.numpy(), [[0, 2], [3, 0]])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [1, 0]])


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div", "pow", "maximum", "minimum"])
def test_broadcast_mismatch_names_op_and_shapes(op):
    a, b = tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((4,)))
    fn = {"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: a / b,
          "pow": lambda: a ** b, "maximum": lambda: a.maximum(b), "minimum": lambda: a.minimum(b)}[op]
    with pytest.raises(ValueError) as info:
        fn()
    message = str(info.value)
    assert message.startswith(op) and "(2, 3)" in message and "(4,)" in message


def test_only_needed_gradients_are_computed():
    a = leaf([1.0, 2.0])
    b = tg.Tensor(np.array([3.0, 4.0]))
    (a * b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3, 4])
    assert b.grad is None


def test_softplus_hand_derived_and_finite_at_1000_in_float32():
    x = tg.Tensor(np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0], dtype=np.float32), requires_grad=True)
    y = F.softplus(x)
    assert y.dtype == np.float32 and np.all(np.isfinite(y.numpy()))
    tail = np.log1p(np.exp(-1.0))  # softplus(-1) = log(1 + e^-1), softplus(1) = 1 + log(1 + e^-1)
    np.testing.assert_allclose(y.numpy(), [0.0, tail, np.log(2.0), 1 + tail, 1000.0], rtol=1e-6)
    y.sum().backward()  # d/dx softplus = sigmoid(x)
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 1 / (1 + np.e), 0.5, 1 / (1 + np.exp(-1.0)), 1.0], rtol=1e-6)
    z = leaf([0.0, 3.0])
    (dz,) = tg.grad(F.softplus(z, beta=2.0, threshold=4.0).sum(), z, create_graph=True)
    np.testing.assert_allclose(dz.numpy(), [0.5, 1.0])  # sigmoid(0); 2 * 3 > 4: linear, slope 1
    (d2z,) = tg.grad(dz.sum(), z)
    np.testing.assert_allclose(d2z.numpy(), [2 * 0.25, 0.0])  # beta sigma (1 - sigma); 0 on the linear part
