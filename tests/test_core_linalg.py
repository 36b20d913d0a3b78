"""Matrix product (tinygrad_cnn/ops/linalg.py): 1-D, 2-D and batched operands with broadcast batch axes.

VJP: ga = ub(g @ b^T), gb = ub(a^T @ g), a 1-D operand read as a row (left) or a column (right).
Hand-derived cases, errors and dtype rules here; the property tests of matmul and Linear (forward against NumPy,
gradcheck, gradgradcheck, the named shape pairs) are generated from the op table (tests/optable/linalg.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.linalg import Linear


def test_hand_derived_2d():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    b = leaf([[5.0], [6.0]])
    g = np.array([[1.0], [10.0]])
    (a @ b).backward(tg.Tensor(g))
    np.testing.assert_array_equal(a.grad.numpy(), g @ b.numpy().T)  # [[5, 6], [50, 60]]
    np.testing.assert_array_equal(b.grad.numpy(), a.numpy().T @ g)  # [[31], [42]]


def test_dot_product_of_vectors():
    a, b = leaf([1.0, 2.0, 3.0]), leaf([4.0, 5.0, 6.0])
    out = a @ b
    assert out.shape == () and out.item() == 32.0
    out.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4, 5, 6])
    np.testing.assert_array_equal(b.grad.numpy(), [1, 2, 3])


def test_broadcast_batch_gradient_is_summed():
    a = leaf(np.ones((4, 2, 3)))
    w = leaf(np.ones((3, 5)))  # shared by the 4 batch items
    (a @ w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), np.full((3, 5), 8.0))  # 4 batches * 2 rows
    np.testing.assert_array_equal(a.grad.numpy(), np.full((4, 2, 3), 5.0))


def test_rmatmul_with_an_array():
    b = leaf([[1.0, 0.0], [0.0, 2.0]])
    out = np.array([[1.0, 1.0]]) @ b
    assert isinstance(out, tg.Tensor)
    np.testing.assert_array_equal(out.numpy(), [[1.0, 2.0]])


def test_mismatch_raises_value_error_naming_op_and_shapes():
    with pytest.raises(ValueError) as info:
        leaf(np.ones((2, 3))) @ leaf(np.ones((4, 5)))
    assert str(info.value).startswith("matmul") and "(2, 3)" in str(info.value) and "(4, 5)" in str(info.value)
    with pytest.raises(ValueError, match=r"matmul: .*\(2, 2, 3\).*\(3, 3, 4\)"):
        leaf(np.ones((2, 2, 3))) @ leaf(np.ones((3, 3, 4)))
    with pytest.raises(ValueError, match="matmul"):
        leaf(2.0) @ leaf([1.0])


def test_float32_stays_float32_and_mixing_with_float64_fails():
    a = tg.Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    assert (a @ a).dtype == np.float32
    with pytest.raises(TypeError, match="matmul"):
        a @ leaf(np.ones((2, 2)))


# ---- Linear: y = x @ w^T + b as one primitive ------------------------------------------------------------------------
def test_linear_hand_derived():
    """x (2, 2), w (1, 2), b (1,): y = x w^T + b; gx = g w, gw = g^T x, gb = sum of g over rows."""
    x, w, b = leaf([[1.0, 2.0], [3.0, 4.0]]), leaf([[5.0, 6.0]]), leaf([0.5])
    y = F.linear(x, w, b)
    np.testing.assert_array_equal(y.numpy(), [[17.5], [39.5]])
    y.backward(tg.Tensor(np.array([[1.0], [10.0]])))
    np.testing.assert_array_equal(x.grad.numpy(), [[5.0, 6.0], [50.0, 60.0]])
    np.testing.assert_array_equal(w.grad.numpy(), [[31.0, 42.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [11.0])


def test_linear_is_one_node_and_keeps_float32():
    x = tg.randn(4, 3, requires_grad=True)
    layer = tg.nn.Linear(3, 2)
    y = layer(x)
    assert type(y.grad_fn) is Linear and y.dtype == np.float32
    assert [type(c).__name__ for c in y.grad_fn.next if isinstance(c, tg.Function)] == []
    y.sum().backward()
    assert x.grad.dtype == np.float32 and layer.weight.grad.dtype == np.float32 and layer.bias.grad.shape == (2,)


@pytest.mark.parametrize("call, error, message", [
    (lambda: Linear.apply(tg.randn(2, 3), tg.randn(4)), ValueError, r"linear: weight must be 2-D"),
    (lambda: Linear.apply(tg.randn(2, 3), tg.randn(4, 5)), ValueError,
     r"linear: input \(2, 3\) has 3 features but weight \(4, 5\) expects 5"),
    (lambda: Linear.apply(tg.Tensor(1.0), tg.randn(4, 1)), ValueError, r"linear: input \(\) has 0 features"),
    (lambda: Linear.apply(tg.randn(2, 3), tg.randn(4, 3), tg.randn(3)), ValueError,
     r"linear: bias must have shape \(4,\)"),
    (lambda: Linear.apply(tg.randn(2, 3), tg.randn(4, 3, dtype=np.float64)), TypeError,
     r"linear: input is float32 but weight is float64"),
    (lambda: Linear.apply(tg.randn(2, 3), tg.randn(4, 3), tg.randn(4, dtype=np.float64)), TypeError,
     r"linear: input is float32 but bias is float64"),
    (lambda: Linear.apply(tg.Tensor(np.ones((2, 3), np.int64)), tg.randn(4, 3)), TypeError, r"linear: input is int64"),
    (lambda: F.linear(tg.randn(2, 3), tg.randn(4, 2)), ValueError, r"linear: input \(2, 3\) has 3 features"),
])
def test_linear_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_linear_promotes_an_integer_input_to_the_weight_dtype():
    """As arithmetic does (an integer tensor meeting a float one becomes that float), and as x @ w.T did before the
    fused primitive: the dev fuzz profile caught the regression."""
    x = tg.Tensor(np.array([[1, 2]]))
    w = tg.Tensor(np.array([[0.5, 1.0]], dtype=np.float32), requires_grad=True)
    y = F.linear(x, w)
    assert y.dtype == np.float32 and y.item() == 2.5
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[1.0, 2.0]])
