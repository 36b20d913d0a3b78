"""Hand-derived cases of the Einsum primitive and the rank-checked products (the op table in tests/optable/linalg.py
generates the property tests): values and gradients worked out by hand, diagonals, broadcasting, empty axes, the
equation rewrite, and that the VJP stays an Einsum (closed under differentiation)."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.ops import linalg as la
from tinygrad_cnn.testing import gradgradcheck


def leaf(a):
    return tg.Tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


def test_matrix_product_value_and_gradient_by_hand():
    a, b = leaf([[1, 2], [3, 4]]), leaf([[5, 6], [7, 8]])
    out = tg.einsum("ij,jk->ik", a, b)
    np.testing.assert_array_equal(out.numpy(), [[19, 22], [43, 50]])
    out.backward(tg.Tensor(np.ones((2, 2))))
    # dA = G B^T: row sums of B; dB = A^T G: column sums of A
    np.testing.assert_array_equal(a.grad.numpy(), [[11, 15], [11, 15]])
    np.testing.assert_array_equal(b.grad.numpy(), [[4, 4], [6, 6]])


def test_diagonal_gradient_is_the_delta():
    """"ii->i": d out_i / d a_jk = [j = k = i], so a gradient g lands on the diagonal and nowhere else."""
    a = leaf(np.arange(9).reshape(3, 3))
    out = tg.einsum("ii->i", a)
    np.testing.assert_array_equal(out.numpy(), [0, 4, 8])
    out.backward(tg.Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(a.grad.numpy(), np.diag([1.0, 2.0, 3.0]))


def test_trace_and_three_way_diagonal():
    a = leaf(np.arange(8).reshape(2, 2, 2))
    out = tg.einsum("iii->", a)
    assert out.item() == 0 + 7
    out.backward()
    want = np.zeros((2, 2, 2))
    want[0, 0, 0] = want[1, 1, 1] = 1
    np.testing.assert_array_equal(a.grad.numpy(), want)
    m = leaf(np.arange(4).reshape(2, 2))
    tg.einsum("ii", m).backward()
    np.testing.assert_array_equal(m.grad.numpy(), np.eye(2))


def test_sum_over_a_letter_of_one_operand_broadcasts_the_gradient():
    """"ij->i": every a_ij is read once by out_i, so its gradient is g_i (the ones vector of the VJP)."""
    a = leaf(np.ones((2, 3)))
    tg.einsum("ij->i", a).backward(tg.Tensor(np.array([2.0, 5.0])))
    np.testing.assert_array_equal(a.grad.numpy(), [[2, 2, 2], [5, 5, 5]])


def test_broadcast_size_one_is_summed_back():
    """b of shape (1, 3) is read by both rows of a: its gradient sums over them."""
    a, b = leaf([[1, 2, 3], [4, 5, 6]]), leaf([[1, 1, 1]])
    out = tg.einsum("ij,ij->ij", a, b)
    assert out.shape == (2, 3)
    out.backward(tg.Tensor(np.ones((2, 3))))
    np.testing.assert_array_equal(b.grad.numpy(), [[5, 7, 9]])
    # a letter of size 1 in every other operand: the gradient of the full-size one still has its full size
    x, y = leaf([[2.0]]), leaf([1.0, 2.0, 3.0])
    z = tg.einsum("ii,i->i", x, y)  # the (1, 1) diagonal broadcast against (3,)
    np.testing.assert_array_equal(z.numpy(), [2, 4, 6])
    z.backward(tg.Tensor(np.ones(3)))
    assert x.grad.numpy().tolist() == [[6.0]] and y.grad.numpy().tolist() == [2.0, 2.0, 2.0]


def test_ellipsis_rules():
    a = leaf(np.ones((4, 2, 3)))
    b = leaf(np.ones((3, 5)))
    assert tg.einsum("...ij,jk", a, b).shape == (4, 2, 5)  # implicit: ellipsis first, then the letters used once
    assert tg.einsum("...ij,jk->ik", a, b).shape == (2, 5)  # ellipsis left out of the output: summed (PyTorch)
    np.testing.assert_array_equal(tg.einsum("...ij,jk->ik", a, b).numpy(), np.full((2, 5), 12.0))
    assert tg.einsum("i...->...", leaf(np.ones((2, 3, 4)))).shape == (3, 4)
    assert tg.einsum("...,...->...", leaf(np.ones((2, 1))), leaf(np.ones(3))).shape == (2, 3)  # broadcast
    assert tg.einsum("ij...->ji...", leaf(np.ones((2, 3)))).shape == (3, 2)  # an ellipsis of no dimensions


def test_equation_rewrite():
    assert la.einsum_equation("ij,jk", [(2, 3), (3, 4)]) == "ij,jk->ik"
    assert la.einsum_equation("ba", [(2, 3)]) == "ba->ab"
    assert la.einsum_equation("Ba,a", [(2, 3), (3,)]) == "Ba,a->B"  # ASCII order: upper case first
    assert la.einsum_equation(" i j , j ", [(2, 3), (3,)]) == "ij,j->i"
    eq = la.einsum_equation("...i,i->...", [(2, 3, 4), (4,)])
    assert eq == "ABi,i->AB"


def test_vjp_is_an_einsum_of_any_order():
    a, b = leaf(np.random.default_rng(0).standard_normal((3, 3))), leaf(np.ones((2, 3)))
    out = tg.einsum("ii,ji->j", a, b)
    (ga,) = tg.grad(out.sum(), [a], create_graph=True)
    assert type(ga.grad_fn).__name__ in ("Einsum", "Reshape", "Sum")
    node = ga.grad_fn
    while type(node).__name__ != "Einsum":  # unbroadcast may sit on top
        node = node.inputs[0].grad_fn
    assert isinstance(node, la.Einsum)
    assert gradgradcheck(lambda a, b: tg.einsum("ii,ji->j", a, b).tanh(), a, b)


def test_empty_axes():
    a, b = leaf(np.ones((2, 0))), leaf(np.ones((0, 3)))
    out = tg.einsum("ij,jk->ik", a, b)
    np.testing.assert_array_equal(out.numpy(), np.zeros((2, 3)))
    out.sum().backward()
    assert a.grad.shape == (2, 0) and b.grad.shape == (0, 3)


def test_integer_operands_and_dtype_promotion():
    i = tg.Tensor(np.array([[1, 2], [3, 4]]))
    assert tg.einsum("ij->", i).item() == 10 and tg.einsum("ij->", i).dtype == np.int64
    f = tg.einsum("ij,jk->ik", i, tg.Tensor(np.eye(2, dtype=np.float32)))
    assert f.dtype == np.float32
    np.testing.assert_array_equal(f.numpy(), [[1, 2], [3, 4]])


def test_sublist_and_list_forms():
    a, b = leaf(np.ones((2, 3))), leaf(np.ones((3, 4)))
    np.testing.assert_array_equal(tg.einsum(a, [0, 1], b, [1, 2], [0, 2]).numpy(), np.full((2, 4), 3.0))
    assert tg.einsum(a, [0, 1], b, [1, 2]).shape == (2, 4)  # implicit output
    assert tg.einsum("ij,jk", [a, b]).shape == (2, 4)


def test_tensordot_forms():
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 3, 5))
    a, b = leaf(x), leaf(y)
    np.testing.assert_allclose(tg.tensordot(a, b, dims=([1, 2], [1, 0])).numpy(),
                               np.tensordot(x, y, ([1, 2], [1, 0])))
    np.testing.assert_allclose(tg.tensordot(a, b, 1).numpy(), np.tensordot(x, y, 1))
    np.testing.assert_allclose(tg.tensordot(a, b, 0).numpy(), np.tensordot(x, y, 0))  # outer product
    np.testing.assert_allclose(tg.tensordot(a, b, (2, 0)).numpy(), np.tensordot(x, y, ([2], [0])))  # two ints
    assert isinstance(tg.tensordot(a, b, 1).grad_fn, la.Einsum)


def test_rank_checked_products():
    v, w = leaf([1, 2, 3]), leaf([4, 5, 6])
    assert tg.dot(v, w).item() == 32 and v.dot(w).shape == ()
    np.testing.assert_array_equal(v.outer(w).numpy(), np.outer([1, 2, 3], [4, 5, 6]))
    np.testing.assert_array_equal(tg.ger(v, w).numpy(), np.outer([1, 2, 3], [4, 5, 6]))
    m = leaf(np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(m.mv(v).numpy(), [8, 26])
    np.testing.assert_array_equal(tg.mm(m, leaf(np.eye(3))).numpy(), m.numpy())
    np.testing.assert_array_equal(tg.matmul(m, v).numpy(), [8, 26])
    b1, b2 = leaf(np.ones((2, 2, 3))), leaf(np.ones((2, 3, 4)))
    assert tg.bmm(b1, b2).shape == (2, 2, 4)


def test_baddbmm_beta_zero_ignores_nan_input():
    """PyTorch's rule: with beta = 0 the input is not read, so NaN in it does not reach the result."""
    c = leaf(np.full((2, 2, 2), np.nan))
    b1, b2 = leaf(np.ones((2, 2, 3))), leaf(np.ones((2, 3, 2)))
    out = tg.baddbmm(c, b1, b2, beta=0, alpha=2)
    np.testing.assert_array_equal(out.numpy(), np.full((2, 2, 2), 6.0))
    out2 = c.baddbmm(b1, b2, beta=0.5)
    assert np.isnan(out2.numpy()).all()
    c2 = leaf(np.ones(2))  # broadcast to (2, 2, 2)
    tg.baddbmm(c2, b1, b2, beta=3).sum().backward()
    np.testing.assert_array_equal(c2.grad.numpy(), [12.0, 12.0])  # 3 per element, read by 4 elements


@pytest.mark.parametrize(("call", "error", "match"), [
    (lambda: tg.einsum("ij->ii", leaf(np.ones((2, 2)))), ValueError, "appears more than once in"),
    (lambda: tg.einsum("ij,jk", leaf(np.ones((2, 3))), leaf(np.ones((4, 2)))), ValueError,
     r"einsum: subscript 'j' has size 4 in operand 1 but 3 .* \(2, 3\), \(4, 2\)"),
    (lambda: tg.einsum("i", leaf(np.ones((2, 2)))), ValueError, r"einsum: operand 0 of shape \(2, 2\)"),
    (lambda: tg.dot(leaf(np.ones((2, 2))), leaf(np.ones(2))), ValueError, r"dot: expected 1-D and 1-D tensors"),
    (lambda: tg.bmm(leaf(np.ones((2, 2, 2))), leaf(np.ones((2, 3, 2)))), ValueError, r"bmm: shapes"),
])
def test_bad_inputs_name_the_op_and_the_shapes(call, error, match):
    with pytest.raises(error, match=match):
        call()
