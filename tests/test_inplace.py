"""In-place Tensor methods and version counters: writes give NumPy's values, bump a counter shared by views, and a
backward pass whose saved values were written in place (or whose inputs had their .data replaced) raises a
RuntimeError instead of returning a wrong gradient. That each primitive keeps its ``reads_inputs`` / ``save_output``
promise is checked for every op table entry by the generated tests (tests/test_op_table.py)."""

from __future__ import annotations

import gc

import numpy as np
import pytest
from conftest import random_leaf
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim, versions
from tinygrad_cnn.testing import strategies as S

RNG = np.random.default_rng(0)


# ---- the in-place methods ------------------------------------------------------------------------
INPLACE = [("add_", np.add), ("sub_", np.subtract), ("mul_", np.multiply), ("div_", np.true_divide)]


@pytest.mark.parametrize("method, ufunc", INPLACE)
@given(shapes=S.broadcastable_shapes(2), data=st.data())
def test_inplace_arithmetic_matches_numpy_and_bumps_the_version(method, ufunc, shapes, data):
    target_shape = np.broadcast_shapes(*shapes)
    x = tg.Tensor(data.draw(S.arrays(target_shape)))
    other = data.draw(S.arrays(shapes[1], low=0.5, high=2.0))  # away from 0 for div_
    expected = ufunc(x.data.copy(), other)
    before = x._version
    assert getattr(x, method)(tg.Tensor(other)) is x
    np.testing.assert_allclose(x.data, expected, rtol=1e-12)
    assert x._version == before + 1


def test_alpha_clip_zero_fill_copy_and_setitem():
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    x.add_(np.ones(3), alpha=2.0).sub_(1.0, alpha=0.5)
    np.testing.assert_array_equal(x.data, np.arange(6.0).reshape(2, 3) + 1.5)
    x.clip_(2.0, 5.0)
    np.testing.assert_array_equal(x.data, np.clip(np.arange(6.0).reshape(2, 3) + 1.5, 2.0, 5.0))
    x.clip_(high=3.0)
    assert x.data.max() == 3.0
    x.fill_(7)
    assert np.all(x.data == 7.0)
    x.copy_(np.array([1, 2, 3]))  # broadcast and cast from int
    np.testing.assert_array_equal(x.data, [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    x[0, 1:] = tg.Tensor(np.array([9.0, 8.0]))
    x[tg.Tensor(np.array([1]))] = 0.0
    np.testing.assert_array_equal(x.data, [[1.0, 9.0, 8.0], [0.0, 0.0, 0.0]])
    x.zero_()
    assert not x.data.any()
    assert x._version == 9  # add_, sub_, clip_, clip_, fill_, copy_, two setitems and zero_: one each


def test_views_share_the_version_counter():
    x = tg.Tensor(np.zeros((2, 3)))
    row, flat = x[0], x.reshape(6)
    row.add_(1.0)
    assert x._version == flat._version == row._version == 1
    np.testing.assert_array_equal(flat.data, [1, 1, 1, 0, 0, 0])


def test_written_arrays_leave_no_entry_behind():
    gc.collect()
    before = len(versions._writes)
    for _ in range(100):
        tg.Tensor(np.zeros(4)).add_(1.0)
    gc.collect()
    assert len(versions._writes) == before


@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.Tensor(np.zeros(3), requires_grad=True).add_(1.0), RuntimeError, r"add_: a leaf Variable that "
     r"requires grad is being used in an in-place operation \(the tensor of shape \(3,\).*no_grad"),
    (lambda: tg.Tensor(np.zeros(3)).add_(np.ones(4)), ValueError, r"add_: an operand of shape \(4,\) does not "
     r"broadcast to the tensor's shape \(3,\)"),
    (lambda: tg.Tensor(np.zeros(3)).add_(np.ones((2, 3))), ValueError, "must keep the tensor's shape"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).add_(0.5), TypeError, "add_: result type Float can't be cast to the "
     "desired output type Long"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).div_(2), TypeError, "div_: result type Float can't be cast to the "
     "desired output type Long"),
    (lambda: tg.Tensor(np.zeros(3)).add_("a"), TypeError, "add_: operand of dtype <U1 is not numeric"),
    (lambda: tg.Tensor(np.zeros(3)).fill_("a"), TypeError, "fill_: value must be a real number"),
    (lambda: tg.Tensor(np.zeros(3)).clip_(), ValueError, "clamp_: give min, max or both"),
    (lambda: tg.Tensor(np.zeros((1, 3))).expand(2, 3).add_(1.0), ValueError, "read-only view.*clone"),
    (lambda: tg.Tensor(np.zeros(3)).__setitem__(5, 1.0), IndexError, r"setitem: index 5 is invalid for a tensor of "
     r"shape \(3,\)"),
    (lambda: tg.Tensor(np.zeros(3)).__setitem__(slice(None), np.ones(2)), ValueError, r"setitem: cannot assign a "
     r"value of shape \(2,\)"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).__setitem__(0, 0.5), TypeError, "setitem: cannot store float64"),
])
def test_inplace_refusals_name_the_method_and_the_fix(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_inplace_on_a_tensor_that_requires_grad_is_allowed_under_no_grad():
    w = tg.Tensor(np.ones(3), requires_grad=True)
    with tg.no_grad():
        w.mul_(2.0)
    assert w.requires_grad and np.all(w.data == 2.0) and w._version == 1


def test_clone_is_a_differentiable_copy():
    x = random_leaf(3, rng=RNG)
    y = x.clone()
    assert not np.shares_memory(x.data, y.data)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


# ---- detection in backward -----------------------------------------------------------------------
# Every primitive's promise (``reads_inputs`` / ``save_output``) is checked by the op table's generated
# test_inplace_write_after_forward (tests/test_op_table.py), for every entry, which the census ties to every primitive.
def test_replacing_data_of_a_saved_input_is_refused():
    x, w = random_leaf(2, 3, rng=RNG), random_leaf(3, 4, rng=RNG)
    loss = (x @ w).sum()
    w.data = np.zeros((3, 4))
    with pytest.raises(RuntimeError, match=r"MatMul: the .data of input 1 \(shape \(3, 4\)\) was replaced"):
        loss.backward()


def test_optimizer_step_between_forward_and_backward_is_refused():
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)
    x = tg.Tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    model(x).sum().backward()  # gradients exist, so step() changes the weights
    loss = model(x).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=r"Linear: input 1 .* modified in place.*optimizer\.step"):
        loss.backward()


def test_load_state_dict_between_forward_and_backward_is_refused():
    model = nn.Conv2d(1, 2, 3)
    loss = model(tg.randn(1, 1, 5, 5)).sum()
    model.load_state_dict(nn.Conv2d(1, 2, 3).state_dict())
    with pytest.raises(RuntimeError, match="Conv2d: input 1"):
        loss.backward()


def test_a_retained_graph_is_checked_again_on_the_second_backward():
    x, w = random_leaf(3, rng=RNG), random_leaf(3, rng=RNG)
    loss = (x * w).sum()
    loss.backward(retain_graph=True)
    with tg.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="Mul: input 0"):
        loss.backward()


def test_second_order_graph_sees_writes_between_the_two_backward_passes():
    x = random_leaf(3, rng=RNG)
    (gx,) = tg.grad((x * x * x).sum(), x, create_graph=True)
    with tg.no_grad():
        x.sub_(0.5)
    with pytest.raises(RuntimeError, match="was modified in place"):
        gx.sum().backward()


def test_anomaly_mode_adds_where_the_op_was_created():
    x, w = random_leaf(3, rng=RNG), random_leaf(3, rng=RNG)
    with tg.detect_anomaly():
        loss = (x * w).sum()
    with tg.no_grad():
        w.add_(1.0)
    with pytest.raises(RuntimeError, match=r"Mul \(created at .*test_inplace.py:\d+\): input 1"):
        loss.backward()


def test_writes_after_backward_and_the_usual_training_loop_are_fine():
    model = nn.Linear(3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    x = tg.Tensor(RNG.standard_normal((4, 3)).astype(np.float32))
    losses = []
    for _ in range(5):
        opt.zero_grad()
        loss = (model(x) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    assert model.weight._version >= 5  # every step is recorded as a write


def test_uniform_and_normal_fill_in_place_from_the_seeded_generator():
    tg.manual_seed(7)
    x = tg.zeros(4000).uniform_(-2.0, 3.0)
    assert x.dtype == np.float32 and x._version == 1
    assert x.data.min() >= -2.0 and x.data.max() <= 3.0 and abs(x.data.mean() - 0.5) < 0.1
    tg.manual_seed(7)
    np.testing.assert_array_equal(tg.zeros(4000).uniform_(-2.0, 3.0).data, x.data)  # reproducible
    y = tg.zeros((100, 40), dtype=np.float64).normal_(1.0, 2.0)
    assert y.dtype == np.float64 and abs(y.data.mean() - 1.0) < 0.15 and abs(y.data.std() - 2.0) < 0.15
    assert tg.zeros(3).uniform_(1.0, 1.0).data.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("call, error, message", [
    (lambda: tg.zeros(3).uniform_(2.0, 1.0), ValueError, r"uniform_: a=2.0 must be <= b=1.0"),
    (lambda: tg.zeros(3).uniform_("a"), TypeError, "uniform_: a must be a real number"),
    (lambda: tg.zeros(3).normal_(std=-1.0), ValueError, "normal_: std must be >= 0.0"),
    (lambda: tg.zeros(3).normal_(mean=float("inf")), ValueError, "normal_: mean must be finite"),
    (lambda: tg.zeros(3, dtype=np.int64).normal_(), TypeError, "normal_: the tensor is int64"),
    (lambda: tg.Tensor(np.zeros(3), requires_grad=True).uniform_(), RuntimeError,
     "uniform_: a leaf Variable that requires grad"),
    (lambda: tg.manual_seed(-1), ValueError, "manual_seed: seed must be >= 0"),
    (lambda: tg.manual_seed(True), TypeError, "manual_seed: seed must be an int"),
])
def test_random_fills_and_seeds_refuse_bad_arguments(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_inplace_with_an_operand_that_requires_grad_is_recorded():
    """Formerly refused; now PyTorch's rule: the write becomes a node, the tensor a non-leaf."""
    w = tg.Tensor(np.ones(3), requires_grad=True)
    x = tg.Tensor(np.zeros(3))
    x.mul_(w).add_(w, alpha=2)
    assert x.requires_grad and not x.is_leaf and x._version == 2 and x.tolist() == [2.0, 2.0, 2.0]
    x.sum().backward()
    assert w.grad.tolist() == [2.0, 2.0, 2.0]  # d/dw (0 * w + 2w)


def test_a_recorded_inplace_node_keeps_the_tensors_memory_as_its_saved_output():
    x = tg.Tensor(np.array([0.5, 1.0]), requires_grad=True)
    y = x * 1
    y.sigmoid_()  # Sigmoid's VJP reads its output: y's memory
    with tg.no_grad():
        y.mul_(2.0)
    with pytest.raises(RuntimeError, match=r"Sigmoid: its output \(shape \(2,\)\) was modified in place"):
        y.sum().backward()
    y = x * 1
    y.sigmoid_()
    y.sum().backward()  # untouched: the gradient is sigmoid'(x)
    s = 1 / (1 + np.exp(-x.numpy()))
    np.testing.assert_allclose(x.grad.numpy(), s * (1 - s))
