"""Reductions (tinygrad_cnn/ops/reduce.py): sum, max, min over axis None/int/tuple/negative with keepdims,
and mean, var (composed on the Tensor): hand-derived cases, tie rules and errors. The property tests (forward
against NumPy, gradcheck, gradgradcheck over every axis form and keepdims) are generated from the op table
(tests/optable/reduce.py, run by tests/test_op_table.py).

Tie rule checked here: max and min send the whole gradient to the FIRST extreme element of each reduced
slice, in row-major order of the reduced axes (the element np.argmax/np.argmin of the flattened slice picks).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn.testing import gradcheck


def test_sum_gradient_is_broadcast_back():
    x = leaf(np.arange(6.0).reshape(2, 3))
    x.sum(axis=1).backward(tg.Tensor(np.array([1.0, 10.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1, 1], [10, 10, 10]])


def test_max_with_ties_sends_gradient_to_the_first_maximum():
    x = leaf([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    x.max(axis=1).backward(tg.Tensor(np.array([5.0, 7.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [[5, 0, 0], [7, 0, 0]])


def test_max_over_several_axes_picks_the_first_in_row_major_order():
    x = leaf(np.zeros((2, 2, 2)))  # all tied
    x.max(axis=(0, 2)).sum().backward()
    expected = np.zeros((2, 2, 2))
    expected[0, :, 0] = 1  # slice over axes (0, 2) for each middle index: first is (0, ., 0)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


def test_max_over_all_axes_with_ties():
    x = leaf([[1.0, 4.0], [4.0, 0.0]])
    x.max().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1], [0, 0]])


def test_min_with_ties_sends_gradient_to_the_first_minimum():
    x = leaf([[1.0, 0.0, 0.0], [5.0, 4.0, 4.0]])
    x.min(axis=-1, keepdims=True).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 1, 0], [0, 1, 0]])


def test_mean_and_var_hand_derived():
    values = np.array([1.0, 2.0, 3.0, 6.0])
    x = leaf(values)
    x.mean().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 0.25))
    x.grad = None
    v = x.var()
    assert v.item() == pytest.approx(np.var(values))
    v.backward()  # d var / d x_i = 2 (x_i - mean) / n
    np.testing.assert_allclose(x.grad.numpy(), 2 * (values - values.mean()) / 4)


def test_var_ddof_and_std():
    values = np.array([[1.0, 2.0, 4.0], [0.0, -1.0, 3.0]])
    x = leaf(values)
    np.testing.assert_allclose(x.var(axis=1, ddof=1).numpy(), np.var(values, axis=1, ddof=1))
    np.testing.assert_allclose(x.std(axis=0).numpy(), np.std(values, axis=0))
    assert gradcheck(lambda t: t.var(axis=1, ddof=1), x)
    with pytest.raises(ValueError, match="degrees of freedom"):
        leaf([1.0]).var(ddof=1)


def test_reduction_of_a_scalar_tensor():
    x = leaf(2.5)
    for op in ("sum", "max", "min", "mean"):
        x.grad = None
        out = getattr(x, op)()
        assert out.shape == () and out.item() == 2.5
        out.backward()
        assert x.grad.item() == 1.0


def test_bad_axes_raise_value_error_naming_the_op():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"max: axis .* repeats"):
        x.max(axis=(1, -1))
    with pytest.raises(TypeError, match="mean"):
        x.mean(axis=1.5)
    with pytest.raises(ValueError, match="min: cannot reduce over an empty axis"):
        leaf(np.ones((2, 0))).min(axis=1)
    with pytest.raises(ValueError, match="mean: cannot average over an empty axis"):
        leaf(np.ones((0, 2))).mean(axis=0)


def test_float32_reductions_stay_float32():
    x = tg.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    for out in (x.sum(), x.max(axis=0), x.mean(axis=1), x.var()):
        assert out.dtype == np.float32
    x.mean().backward()
    assert x.grad.dtype == np.float32


def test_argmax_argmin_are_not_differentiable():
    x = leaf([[1.0, 5.0, 5.0], [0.0, -1.0, 2.0]])
    i = x.argmax(axis=1)
    np.testing.assert_array_equal(i.numpy(), [1, 2])
    np.testing.assert_array_equal(x.argmin(axis=1).numpy(), [0, 1])
    assert not i.requires_grad and i.dtype.kind == "i"
