"""Reductions, scans and sorting (ops/reduce.py, ops/scan.py, ops/sort.py, methods/reductions.py): hand-derived
values and gradients, PyTorch's tie rules, zeros in prod/cumprod, degenerate values and stability cases. The property
tests (forward against NumPy, gradcheck, gradgradcheck over every axis form, spelling and keepdim) are generated from
the op table (tests/optable/reduce.py, run by tests/test_op_table.py).

Tie rules checked here: amax/amin and the full max()/min() (also max(axis=...)) share the gradient evenly among tied
extremes; max(dim)/min(dim) return (values, indices) and route the gradient to the returned (first) index; cummax
takes the latest tied index.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn.ops import scan
from tinygrad_cnn.testing import gradcheck, gradgradcheck


def test_sum_gradient_is_broadcast_back():
    x = leaf(np.arange(6.0).reshape(2, 3))
    x.sum(axis=1).backward(tg.Tensor(np.array([1.0, 10.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 1, 1], [10, 10, 10]])


def test_both_spellings_and_not_both():
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=1, keepdim=True).shape == x.sum(axis=1, keepdims=True).shape == (2, 1)
    assert x.mean(1).shape == (2,) and x.amax(dim=(0, 1)).shape == ()
    with pytest.raises(TypeError, match="sum: got both dim= and axis="):
        x.sum(dim=0, axis=0)
    with pytest.raises(TypeError, match="mean: got both keepdim= and keepdims="):
        x.mean(keepdim=True, keepdims=True)


def test_full_max_splits_ties_evenly():
    x = leaf([[3.0, 1.0, 3.0], [2.0, 3.0, 0.0]])
    x.max().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1 / 3, 0, 1 / 3], [0, 1 / 3, 0]])


def test_amax_and_max_axis_split_ties_per_slice():
    for op in (lambda t: t.amax(dim=1), lambda t: t.max(axis=1)):
        x = leaf([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
        op(x).backward(tg.Tensor(np.array([6.0, 9.0])))
        np.testing.assert_allclose(x.grad.numpy(), [[3, 0, 3], [3, 3, 3]])


def test_min_over_several_axes_splits_ties():
    x = leaf(np.zeros((2, 2, 2)))  # all tied
    x.amin(dim=(0, 2)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 2, 2), 0.25))


def test_max_dim_returns_values_and_indices_and_routes_to_the_index():
    x = leaf([[3.0, 1.0, 3.0], [2.0, 2.0, 2.0]])
    out = x.max(dim=1)
    values, indices = out
    assert out.values is values and out.indices is indices
    np.testing.assert_array_equal(values.numpy(), [3, 2])
    np.testing.assert_array_equal(indices.numpy(), [0, 0])
    assert indices.dtype == np.int64 and not indices.requires_grad
    values.backward(tg.Tensor(np.array([5.0, 7.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [[5, 0, 0], [7, 0, 0]])
    v, i = x.min(1, keepdim=True)
    assert v.shape == (2, 1) and i.numpy().tolist() == [[1], [0]]
    assert np.array_equal(x.max(tg.Tensor(np.full((2, 3), 2.5))).numpy(), [[3, 2.5, 3], [2.5, 2.5, 2.5]])
    with pytest.raises(TypeError, match="amax"):
        x.max(dim=(0, 1))


def test_reduction_of_a_scalar_tensor():
    x = leaf(2.5)
    for op in ("sum", "max", "min", "mean", "amax", "prod"):
        x.grad = None
        out = getattr(x, op)()
        assert out.shape == () and out.item() == 2.5
        out.backward()
        assert x.grad.item() == 1.0
    v, i = x.max(dim=0)
    assert v.shape == () and i.item() == 0


def test_prod_with_one_and_two_zeros_is_exact():
    x = leaf([[2.0, 0.0, 3.0], [0.0, 5.0, 0.0], [1.0, 2.0, 4.0]])
    x.prod(dim=1).sum().backward()
    # row 0: one zero: the zero gets the product of the others (6), the rest 0; row 1: two zeros: all 0
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 6, 0], [0, 0, 0], [8, 4, 2]])
    assert gradgradcheck(lambda t: t.prod(dim=1), x)
    assert gradgradcheck(lambda t: t.prod(), leaf([[0.5, 0.0], [2.0, -1.5]]))


def test_cumprod_with_zeros_hand_derived():
    x = leaf([2.0, 0.0, 3.0, 0.0])
    x.cumprod(0).sum().backward()
    # d/dx_j sum_k prod_{l<=k} x_l: x_0 -> 1 + 0 + ..., x_1 -> 2 + 2*3 + 2*3*0, after the first zero -> 0
    np.testing.assert_array_equal(x.grad.numpy(), [1, 8, 0, 0])
    assert gradgradcheck(lambda t: t.cumprod(0), leaf([1.5, 0.0, -2.0, 0.0, 0.5]))


def test_cumsum_and_its_reverse_vjp():
    x = leaf([1.0, 2.0, 3.0])
    out = x.cumsum(dim=0)
    np.testing.assert_array_equal(out.numpy(), [1, 3, 6])
    out.backward(tg.Tensor(np.array([1.0, 10.0, 100.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [111, 110, 100])
    assert x.cumsum().shape == (3,)  # NumPy's axis=None: the flattened tensor


def test_linear_scan_hand_derived():
    a, b = leaf([9.0, 2.0, 0.0, 3.0]), leaf([1.0, 1.0, 1.0, 1.0])
    h = scan.LinearScan.apply(a, b, axis=0)
    np.testing.assert_array_equal(h.numpy(), [1, 3, 1, 4])  # a_0 unused; h_2 = 0 * 3 + 1
    h.sum().backward()
    # lam = reverse recurrence of ones with a shifted: [1+2*(1+0*(1+3)), 1+0*(1+3), 1+3, 1] = [3, 1, 4, 1]
    np.testing.assert_array_equal(b.grad.numpy(), [3, 1, 4, 1])
    np.testing.assert_array_equal(a.grad.numpy(), [0, 1 * 1, 4 * 3, 1 * 1])  # lam_k * h_{k-1}


def test_logsumexp_and_logcumsumexp_are_stable():
    x = leaf([1000.0, 1000.0, -1000.0])
    out = x.logsumexp(dim=0)
    assert out.item() == pytest.approx(1000 + math.log(2))
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.5, 0])
    y = leaf([-1000.0, 0.0, 1000.0])
    running = y.logcumsumexp(dim=0)
    np.testing.assert_allclose(running.numpy(), [-1000, 0, 1000])
    running.backward(tg.Tensor(np.ones(3)))
    np.testing.assert_allclose(y.grad.numpy(), [1, 1, 1])  # sum_k exp(y_j - out_k): 1 from k = j, ~0 after
    assert np.isneginf(leaf(np.ones((2, 0))).logsumexp(dim=1).numpy()).all()


def test_mean_over_an_empty_axis_is_nan():
    out = leaf(np.ones((0, 2))).mean(axis=0)
    assert out.shape == (2,) and np.isnan(out.numpy()).all()


def test_var_std_defaults_follow_pytorch():
    values = np.array([[1.0, 2.0, 4.0], [0.0, -1.0, 3.0]])
    x = leaf(values)
    np.testing.assert_allclose(x.var().numpy(), np.var(values, ddof=1))  # correction=1 by default
    np.testing.assert_allclose(x.var(1, False).numpy(), np.var(values, axis=1))  # var(dim, unbiased)
    np.testing.assert_allclose(x.var(axis=1, ddof=0).numpy(), np.var(values, axis=1))
    np.testing.assert_allclose(x.std(dim=0, correction=0).numpy(), np.std(values, axis=0))
    np.testing.assert_allclose(x.std(unbiased=True).numpy(), np.std(values, ddof=1))
    assert gradcheck(lambda t: t.var(dim=1), x)


def test_mean_and_var_hand_derived():
    values = np.array([1.0, 2.0, 3.0, 6.0])
    x = leaf(values)
    x.mean().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full(4, 0.25))
    x.grad = None
    v = x.var(correction=0)
    assert v.item() == pytest.approx(np.var(values))
    v.backward()  # d var / d x_i = 2 (x_i - mean) / (n - correction)
    np.testing.assert_allclose(x.grad.numpy(), 2 * (values - values.mean()) / 4)


def test_var_without_degrees_of_freedom_is_nan_or_inf_as_pytorch():
    with pytest.warns(UserWarning, match="degrees of freedom"):  # PyTorch warns too
        assert np.isnan(leaf([1.0]).var().item())  # 0 / 0
    with pytest.warns(UserWarning, match="std: degrees of freedom"):
        assert np.isnan(leaf([1.0]).std().item())
    with pytest.warns(UserWarning, match="degrees of freedom"):
        assert np.isinf(leaf([1.0, 2.0]).var(correction=3).item())  # M2 / max(0, n - correction) = 0.5 / 0
    with pytest.warns(UserWarning, match="empty"):
        assert np.isnan(leaf(np.ones((2, 0))).var(dim=1).numpy()).all()


def test_std_and_2_norm_gradients_are_zero_at_zero():
    x = leaf([2.0, 2.0, 2.0])
    x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 0, 0])
    z = leaf(np.zeros((2, 2)))
    z.norm().backward()
    np.testing.assert_array_equal(z.grad.numpy(), np.zeros((2, 2)))


def test_norm_values():
    v = np.array([[3.0, -4.0], [0.0, 1.0]])
    x = leaf(v)
    assert x.norm().item() == pytest.approx(math.sqrt(26))
    np.testing.assert_allclose(x.norm(2, dim=1).numpy(), [5, 1])
    np.testing.assert_allclose(x.norm(1, dim=1).numpy(), [7, 1])
    np.testing.assert_allclose(x.norm(math.inf, dim=1).numpy(), [4, 1])
    np.testing.assert_allclose(x.norm(-math.inf, dim=1).numpy(), [3, 0])
    np.testing.assert_allclose(x.norm(0, dim=1).numpy(), [2, 1])
    np.testing.assert_allclose(x.norm(3, dim=0, keepdim=True).numpy(), [[3, (64 + 1) ** (1 / 3)]])
    tie = leaf([2.0, -2.0, 1.0])
    tie.norm(math.inf).backward()
    np.testing.assert_allclose(tie.grad.numpy(), [0.5, -0.5, 0])


def test_any_all_count_nonzero():
    x = tg.Tensor(np.array([[0.0, 1.0], [0.0, 0.0]]))
    assert x.any().dtype == np.bool_ and bool(x.any()) and not bool(x.all())
    np.testing.assert_array_equal(x.any(dim=1).numpy(), [True, False])
    np.testing.assert_array_equal(x.all(axis=0, keepdims=True).numpy(), [[False, False]])
    np.testing.assert_array_equal(x.count_nonzero(dim=0).numpy(), [0, 1])
    assert x.count_nonzero().item() == 1 and x.count_nonzero().dtype == np.int64


def test_sort_is_stable_in_both_directions():
    x = leaf([3.0, 1.0, 3.0, 2.0, 1.0])
    values, indices = x.sort()
    np.testing.assert_array_equal(indices.numpy(), [1, 4, 3, 0, 2])
    values, indices = x.sort(descending=True)
    np.testing.assert_array_equal(values.numpy(), [3, 3, 2, 1, 1])
    np.testing.assert_array_equal(indices.numpy(), [0, 2, 3, 1, 4])
    values.backward(tg.Tensor(np.array([1.0, 2.0, 3.0, 4.0, 5.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [1, 4, 2, 3, 5])  # each gradient back where its value came from
    np.testing.assert_array_equal(x.argsort(descending=True).numpy(), [0, 2, 3, 1, 4])
    nan = tg.Tensor(np.array([1.0, np.nan, 0.0]))
    np.testing.assert_array_equal(nan.argsort().numpy(), [2, 0, 1])  # NaN is the largest
    np.testing.assert_array_equal(nan.argsort(descending=True).numpy(), [1, 0, 2])


def test_topk_kthvalue_median():
    x = leaf([[4.0, 1.0, 3.0, 2.0], [0.0, 5.0, -1.0, 7.0]])
    values, indices = x.topk(2)
    np.testing.assert_array_equal(values.numpy(), [[4, 3], [7, 5]])
    np.testing.assert_array_equal(indices.numpy(), [[0, 2], [3, 1]])
    np.testing.assert_array_equal(x.topk(1, largest=False).values.numpy(), [[1], [-1]])
    v, i = x.kthvalue(2, dim=1)
    np.testing.assert_array_equal(v.numpy(), [2, 0])
    np.testing.assert_array_equal(i.numpy(), [3, 0])
    med = x.median()  # 8 elements: the lower middle one of [-1 0 1 2 3 4 5 7] is 2
    assert med.item() == 2.0
    med.backward()
    expected = np.zeros((2, 4))
    expected[0, 3] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    v, i = x.median(dim=1)  # [1 2 3 4] -> 2 (index 3); [-1 0 5 7] -> 0 (index 0)
    np.testing.assert_array_equal(v.numpy(), [2, 0])
    np.testing.assert_array_equal(i.numpy(), [3, 0])
    assert np.isnan(tg.Tensor(np.array([1.0, np.nan, 0.0])).median().item())


def test_cummax_takes_the_latest_tie_and_routes_the_gradient():
    x = leaf([1.0, 3.0, 2.0, 3.0, 0.0])
    values, indices = x.cummax(dim=0)
    np.testing.assert_array_equal(values.numpy(), [1, 3, 3, 3, 3])
    np.testing.assert_array_equal(indices.numpy(), [0, 1, 1, 3, 3])
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 0, 2, 0])
    _, i = x.cummin(0)
    np.testing.assert_array_equal(i.numpy(), [0, 0, 0, 0, 4])


def test_bad_axes_raise_naming_the_op():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match="sum: axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(ValueError, match=r"max: axis .* repeats"):
        x.max(axis=(1, -1))
    with pytest.raises(TypeError, match="mean"):
        x.mean(axis=1.5)
    with pytest.raises(ValueError, match="min: cannot reduce over an empty axis"):
        leaf(np.ones((2, 0))).min(axis=1)
    with pytest.raises(ValueError, match="topk: k must be"):
        x.topk(4)


def test_float32_reductions_stay_float32():
    x = tg.Tensor(np.ones((3, 4), np.float32), requires_grad=True)
    for out in (x.sum(), x.max(axis=0), x.mean(axis=1), x.var(), x.std(), x.prod(1), x.logsumexp(1),
                x.cumprod(0), x.logcumsumexp(1), x.sort().values, x.norm()):
        assert out.dtype == np.float32
    x.mean().backward()
    assert x.grad.dtype == np.float32


def test_argmax_argmin_are_not_differentiable():
    x = leaf([[1.0, 5.0, 5.0], [0.0, -1.0, 2.0]])
    i = x.argmax(dim=1)
    np.testing.assert_array_equal(i.numpy(), [1, 2])
    np.testing.assert_array_equal(x.argmin(axis=1).numpy(), [0, 1])
    assert not i.requires_grad and i.dtype.kind == "i"


def test_top_level_functions():
    x = tg.Tensor(np.array([3.0, 1.0, 2.0]))
    assert tg.sort(x).indices.tolist() == [1, 2, 0] and tg.prod(x).item() == 6.0
    assert tg.cumsum(x, dim=0).tolist() == [3, 4, 6] and tg.topk(x, 1).values.tolist() == [3]
    with pytest.raises(TypeError, match="sort: input must be a Tensor"):
        tg.sort([1.0, 2.0])
