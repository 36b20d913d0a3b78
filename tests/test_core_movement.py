"""Movement primitives (tinygrad_cnn/ops/movement.py) and the Tensor methods composed from them: reshape,
permute/transpose, expand, squeeze/unsqueeze/flatten, getitem (slices, negative steps, ints, None, Ellipsis,
integer arrays with repeats, boolean masks), pad, concatenate, stack: hand-derived gradients, forward values, errors.
The property tests (forward against NumPy, gradcheck, gradgradcheck of every op) are generated from the op table
(tests/optable/movement.py, run by tests/test_op_table.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg


def test_forward_values_match_numpy():
    a = np.arange(24.0).reshape(2, 3, 4)
    x = leaf(a)
    np.testing.assert_array_equal(x.reshape(4, -1).numpy(), a.reshape(4, -1))
    np.testing.assert_array_equal(x.permute(2, 0, 1).numpy(), a.transpose(2, 0, 1))
    np.testing.assert_array_equal(x.transpose().numpy(), a.swapaxes(-1, -2))
    np.testing.assert_array_equal(x.T.numpy(), a.T)
    np.testing.assert_array_equal(x.flatten().numpy(), a.reshape(-1))
    np.testing.assert_array_equal(x.flatten(1).numpy(), a.reshape(2, 12))
    assert x.unsqueeze(1).shape == (2, 1, 3, 4) and x.unsqueeze(-1).shape == (2, 3, 4, 1)
    assert x[:, :1].squeeze(1).shape == (2, 4) and x[None].squeeze().shape == (2, 3, 4)
    np.testing.assert_array_equal(x[..., ::-2].numpy(), a[..., ::-2])
    np.testing.assert_array_equal(x[1, None, -1].numpy(), a[1, None, -1])
    np.testing.assert_array_equal(x.pad(((0, 0), (1, 0), (0, 2))).numpy(), np.pad(a, ((0, 0), (1, 0), (0, 2))))


def test_getitem_with_repeated_indices_adds_up():
    x = leaf([10.0, 20.0, 30.0])
    x[[0, 2, 0, 0, -1]].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3, 0, 2])


def test_getitem_with_an_index_tensor_and_a_mask():
    x = leaf([[1.0, -2.0], [-3.0, 4.0]])
    rows = tg.Tensor(np.array([1, 1]))
    x[rows].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0], [2, 2]])
    x.grad = None
    picked = x[x > 0]
    np.testing.assert_array_equal(picked.numpy(), [1, 4])
    picked.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[1, 0], [0, 1]])


def test_getitem_integer_and_negative_step_gradients():
    x = leaf(np.arange(6.0).reshape(2, 3))
    x[-1, ::-1].backward(tg.Tensor(np.array([1.0, 2.0, 3.0])))
    np.testing.assert_array_equal(x.grad.numpy(), [[0, 0, 0], [3, 2, 1]])


def test_getitem_errors():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(IndexError, match=r"getitem: .*shape \(2, 3\)"):
        x[5]
    with pytest.raises(IndexError, match="integer or boolean"):
        x[np.array([0.5])]


def test_expand_sums_the_gradient_over_copies():
    x = leaf([[1.0], [2.0]])
    x.expand(3, 2, 4).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[12.0], [12.0]])
    y = leaf([1.0, 2.0])
    assert y.expand(-1).shape == (2,) and y.expand(3, -1).shape == (3, 2)


def test_pad_gradient_is_the_interior():
    x = leaf(np.ones((2, 2)))
    out = x.pad(1, value=7.0)
    assert out.shape == (4, 4) and out.numpy()[0, 0] == 7.0
    out.backward(tg.Tensor(np.arange(16.0).reshape(4, 4)))
    np.testing.assert_array_equal(x.grad.numpy(), [[5, 6], [9, 10]])


def test_concatenate_and_stack_split_the_gradient():
    a, b = leaf([1.0, 2.0]), leaf([3.0])
    tg.concatenate([a, b]).backward(tg.Tensor(np.array([4.0, 5.0, 6.0])))
    np.testing.assert_array_equal(a.grad.numpy(), [4, 5])
    np.testing.assert_array_equal(b.grad.numpy(), [6])
    c, d = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    tg.stack([c, d], axis=1).backward(tg.Tensor(np.array([[1.0, 2.0], [3.0, 4.0]])))
    np.testing.assert_array_equal(c.grad.numpy(), [1, 3])
    np.testing.assert_array_equal(d.grad.numpy(), [2, 4])


def test_concatenate_with_an_input_that_needs_no_grad():
    a = leaf([1.0])
    b = tg.Tensor(np.array([2.0, 3.0]))
    tg.concatenate([b, a]).sum().backward()
    assert a.grad.item() == 1.0 and b.grad is None


def test_bad_movement_arguments_raise_value_error():
    x = leaf(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"reshape: .*\(2, 3\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 0)
    with pytest.raises(ValueError, match="permute"):
        x.permute(0, 1, 2)
    with pytest.raises(ValueError, match=r"expand: .*\(2, 3\)"):
        x.expand(2, 4)
    with pytest.raises(ValueError, match="squeeze"):
        x.squeeze(0)
    with pytest.raises(ValueError, match="unsqueeze"):
        x.unsqueeze(4)
    with pytest.raises(ValueError, match="pad"):
        x.pad(((1, 1),) * 3)
    with pytest.raises(ValueError, match="pad"):
        x.pad(-1)
    with pytest.raises(ValueError, match=r"concatenate: input 1 has shape \(2, 2\)"):
        tg.concatenate([x, leaf(np.ones((2, 2)))], axis=0)
    with pytest.raises(ValueError, match="stack: all tensors must have the same shape"):
        tg.stack([x, leaf(np.ones((3, 2)))])
    with pytest.raises(ValueError, match="at least one"):
        tg.concatenate([])
    with pytest.raises(TypeError, match="concatenate: inputs have dtypes"):
        tg.concatenate([x, tg.Tensor(np.ones((1, 3), np.float32))])


def test_reshape_to_the_same_shape_is_the_identity():
    x = leaf(np.ones((2, 3)))
    assert x.reshape(2, 3) is x and x.reshape((2, 3)) is x
