"""Matrix product (tinygrad_cnn/ops/linalg.py): 1-D, 2-D and batched operands with broadcast batch axes.

VJP: ga = ub(g @ b^T), gb = ub(a^T @ g), a 1-D operand read as a row (left) or a column (right).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.linalg import Linear
from tinygrad_cnn.testing import gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


def leaf(value) -> tg.Tensor:
    return tg.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


@st.composite
def matmul_pair(draw, max_batch_dims=2, max_side=4):
    sa, sb = draw(S.matmul_shapes(max_batch_dims=max_batch_dims, max_side=max_side))
    return leaf(draw(S.arrays(sa))), leaf(draw(S.arrays(sb)))


@settings(max_examples=25)
@given(matmul_pair())
def test_forward_matches_numpy(pair):
    a, b = pair
    out = a @ b
    expected = np.matmul(a.numpy(), b.numpy())
    assert out.shape == expected.shape
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=20)
@given(matmul_pair())
def test_gradcheck(pair):
    assert gradcheck(lambda a, b: a @ b, *pair)


@settings(max_examples=6)
@given(matmul_pair(max_batch_dims=1, max_side=3))
def test_gradgradcheck(pair):
    assert gradgradcheck(lambda a, b: a @ b, *pair)


@pytest.mark.parametrize("sa, sb", [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 1, 2, 3), (5, 3, 2)),
                                    ((3,), (2, 3, 4)), ((2, 1, 3), (3,)), ((1, 3), (3, 1))])
def test_gradcheck_on_named_shape_pairs(sa, sb):
    rng = np.random.default_rng(0)
    a, b = leaf(rng.standard_normal(sa)), leaf(rng.standard_normal(sb))
    assert gradcheck(lambda x, y: x @ y, a, b)


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
@st.composite
def linear_case(draw, max_lead_dims=2, max_side=4):
    """x (..., I), w (O, I), b (O,) or None, with 0 to max_lead_dims leading axes on x."""
    lead = draw(S.shapes(min_dims=0, max_dims=max_lead_dims, max_side=max_side))
    i, o = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    x, w = draw(S.arrays(lead + (i,))), draw(S.arrays((o, i)))
    b = draw(S.arrays((o,))) if draw(st.booleans()) else None
    return x, w, b


def _linear(x, w, b):
    return Linear.apply(x, w) if b is None else Linear.apply(x, w, b)


@settings(max_examples=25)
@given(linear_case())
def test_linear_forward_matches_numpy(case):
    x, w, b = case
    out = _linear(leaf(x), leaf(w), None if b is None else leaf(b))
    expected = x @ w.T + (0.0 if b is None else b)
    assert out.shape == expected.shape and type(out.grad_fn) is Linear
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=20)
@given(linear_case())
def test_linear_gradcheck(case):
    x, w, b = case
    args = [leaf(x), leaf(w)] + ([] if b is None else [leaf(b)])
    assert gradcheck(lambda *a: Linear.apply(*a), *args)


@settings(max_examples=8)
@given(linear_case(max_lead_dims=2, max_side=3))
def test_linear_gradgradcheck(case):
    x, w, b = case
    args = [leaf(x), leaf(w)] + ([] if b is None else [leaf(b)])
    assert gradgradcheck(lambda *a: Linear.apply(*a), *args)


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
