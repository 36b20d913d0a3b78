"""Tensor (tinygrad_cnn/tensor_class.py) and factories (tinygrad_cnn/factories.py): dtype rules, construction errors,
factories and seeding, repr, conversions, comparisons, and the errors a user meets at the call."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg


def test_python_data_becomes_float32():
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32
    assert tg.Tensor(3.5).dtype == np.float32
    assert tg.Tensor([[1, 2.5]]).dtype == np.float32


def test_numpy_floats_keep_their_dtype_without_copying():
    a64 = np.ones(3)
    t = tg.Tensor(a64)
    assert t.dtype == np.float64 and np.shares_memory(t.numpy(), a64)
    assert tg.Tensor(np.ones(3, np.float32)).dtype == np.float32
    assert tg.Tensor(np.ones(3, np.float16)).dtype == np.float32  # only float32/float64 are kept


def test_integers_stay_integers_and_cannot_require_grad():
    t = tg.Tensor([1, 2, 3])
    assert t.dtype.kind == "i"
    assert tg.Tensor(np.array([True, False])).dtype == np.bool_
    with pytest.raises(TypeError, match="floating-point"):
        tg.Tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad = True


def test_explicit_dtype():
    t = tg.Tensor([1, 2], dtype=np.float64, requires_grad=True)
    assert t.dtype == np.float64 and t.requires_grad


def test_scalar_operands_never_upcast():
    x = tg.Tensor([1.0, 2.0])
    for out in (x * 2.5, 2.5 * x, x + 1, x / 3, x ** 2, 1 - x, x.maximum(0.5)):
        assert out.dtype == np.float32
    y = tg.Tensor(np.ones(2))
    assert (y * np.float32(2)).dtype == np.float64


def test_int_tensor_with_a_float_becomes_float32():
    i = tg.Tensor([1, 2, 3])
    assert (i * 0.5).dtype == np.float32
    np.testing.assert_array_equal((i * 0.5).numpy(), [0.5, 1.0, 1.5])
    assert (i / 2).dtype == np.float32  # true division always gives a float
    assert (i * 2).dtype.kind == "i"
    assert (i + tg.Tensor([0.5, 0.5, 0.5])).dtype == np.float32
    assert (i + tg.Tensor(np.ones(3))).dtype == np.float64


def test_float32_with_float64_promotes_as_pytorch():
    a = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    b = tg.Tensor(np.full(2, 2.0), requires_grad=True)
    for fn in (lambda: a + b, lambda: a * b, lambda: a - b, lambda: a / b, lambda: a.maximum(b)):
        assert fn().dtype == np.float64
    (a * b).sum().backward()  # each gradient comes back in its input's dtype
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    scalar = tg.Tensor(np.float64(3.0))  # a 0-d tensor does not widen a tensor with axes (PyTorch's rule)
    assert (tg.Tensor(np.ones(2, np.float32)) * scalar).dtype == np.float32
    assert (tg.Tensor(np.float32(1.0)) * scalar).dtype == np.float64
    with pytest.raises(TypeError, match=r"matmul: operands have dtypes float32 and float64"):
        tg.Tensor(np.ones((2, 2), np.float32)) @ tg.Tensor(np.ones((2, 2)))  # matmul does not promote, as PyTorch


def test_non_numeric_data_is_a_type_error():
    for bad in ("abc", ["a", "b"], {"a": 1}, [1, [2, 3]], None, object()):
        with pytest.raises(TypeError, match="Tensor"):
            tg.Tensor(bad)


def test_conversions_float_double():
    x = tg.Tensor([1.0], requires_grad=True)
    assert x.float() is x
    d = x.double()
    assert d.dtype == np.float64 and d.grad_fn is not None


def test_factories():
    assert tg.zeros(2, 3).shape == (2, 3) and tg.zeros(2, 3).dtype == np.float32
    assert tg.zeros((2, 3)).shape == (2, 3)
    np.testing.assert_array_equal(tg.ones(2).numpy(), [1, 1])
    full = tg.full((2, 2), 7.0, dtype=np.float64)
    assert full.dtype == np.float64 and np.all(full.numpy() == 7.0)
    assert tg.arange(5).dtype.kind == "i"
    np.testing.assert_array_equal(tg.arange(1, 2, 0.25).numpy(), [1.0, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(tg.eye(2, 3).numpy(), np.eye(2, 3))
    assert tg.ones(2, requires_grad=True).requires_grad
    r = tg.rand(1000)
    assert r.dtype == np.float32 and r.numpy().min() >= 0 and r.numpy().max() < 1
    n = tg.randn(4000, dtype=np.float64)
    assert n.dtype == np.float64 and abs(float(n.numpy().mean())) < 0.1 and abs(float(n.numpy().std()) - 1) < 0.1
    with pytest.raises(ValueError, match="non-negative"):
        tg.zeros(-1)


def test_like_factories_copy_shape_and_dtype():
    base = tg.Tensor(np.ones((2, 3)))
    for fn in (tg.zeros_like, tg.ones_like, tg.rand_like, tg.randn_like):
        out = fn(base)
        assert out.shape == (2, 3) and out.dtype == np.float64 and not out.requires_grad
    f = tg.full_like(base, 3.0, dtype=np.float32)
    assert f.dtype == np.float32 and np.all(f.numpy() == 3.0)
    assert np.all(tg.zeros_like(base).numpy() == 0) and np.all(tg.ones_like(base).numpy() == 1)


def test_manual_seed_makes_random_factories_reproducible():
    tg.manual_seed(123)
    a, b = tg.randn(5), tg.rand(3)
    tg.manual_seed(123)
    np.testing.assert_array_equal(tg.randn(5).numpy(), a.numpy())
    np.testing.assert_array_equal(tg.rand(3).numpy(), b.numpy())
    tg.manual_seed(124)
    assert not np.array_equal(tg.randn(5).numpy(), a.numpy())


def test_repr_shows_shape_dtype_and_grad_fn():
    x = tg.Tensor([1.0, 2.0], requires_grad=True)
    assert "shape=(2,)" in repr(x) and "dtype=float32" in repr(x) and "requires_grad=True" in repr(x)
    y = x * 2
    assert "grad_fn=<MulBackward>" in repr(y)
    assert "grad_fn" not in repr(tg.Tensor([1.0]))


def test_item_numpy_detach():
    x = tg.Tensor(np.array([[2.5]]), requires_grad=True)
    assert x.item() == 2.5 and isinstance(x.item(), float)
    assert isinstance(x.numpy(), np.ndarray) and x.numpy() is x.data
    with pytest.raises(ValueError, match="one-element"):
        tg.Tensor([1.0, 2.0]).item()
    y = x * 3
    d = y.detach()
    assert d.grad_fn is None and not d.requires_grad and np.shares_memory(d.numpy(), y.numpy())
    assert x.is_leaf and not y.is_leaf
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad = False


def test_comparisons_give_bool_tensors_without_grad():
    x = tg.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for out, expected in ((x > 2, [0, 0, 1]), (x >= 2, [0, 1, 1]), (x < 2, [1, 0, 0]), (x <= 2, [1, 1, 0]),
                          (x == 2, [0, 1, 0]), (x != 2, [1, 0, 1]), (x > tg.Tensor([0.0, 5.0, 1.0]), [1, 0, 1])):
        assert out.dtype == np.bool_ and not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(out.numpy(), np.array(expected, bool))
    with pytest.raises(ValueError, match=r"do not broadcast"):
        _ = x < tg.Tensor([1.0, 2.0])


def test_python_protocols():
    x = tg.Tensor([[1.0, 2.0], [3.0, 4.0]])
    assert len(x) == 2 and [row.shape for row in x] == [(2,), (2,)]
    assert bool(tg.Tensor([1.0])) and not bool(tg.Tensor(0.0))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(x)
    with pytest.raises(TypeError, match="0-d"):
        len(tg.Tensor(1.0))
    assert np.asarray(x).shape == (2, 2)
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert (x > 0).all() and not (x > 3).all() and (x > 3).any()
    assert hash(x) != hash(tg.Tensor([1.0]))


def test_numpy_array_on_the_left_defers_to_the_tensor():
    x = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    out = np.array([3.0, 4.0]) * x
    assert isinstance(out, tg.Tensor) and out.grad_fn is not None
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


def test_errors_name_the_op_and_both_shapes():
    a, b = tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"^add: shapes \(2, 3\) and \(3, 2\) do not broadcast"):
        a + b
    with pytest.raises(ValueError, match=r"^matmul: shapes \(2, 3\) and \(2, 3\) do not match"):
        a @ a


def test_backward_on_a_non_scalar_says_what_to_pass():
    y = tg.Tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"pass gradient=.*or reduce the output first, e\.g\. out\.sum\(\)"):
        y.backward()
    y.backward(np.array([1.0, 1.0], np.float32))  # an array is accepted as the gradient


def test_in_graph_ops_keep_requires_grad_flags():
    a = tg.Tensor([1.0], requires_grad=True)
    b = tg.Tensor([2.0])
    assert (a * b).requires_grad and not (b * b).requires_grad
    assert (b * b).grad_fn is None


@pytest.mark.parametrize("call, pytorch_class", [
    (lambda: tg.ones(2, 3) + tg.ones(4), RuntimeError),                       # broadcasting
    (lambda: tg.ones(2, 3) @ tg.ones(4, 5), RuntimeError),                    # matmul
    (lambda: tg.concatenate([tg.ones(2, 3), tg.ones(2, 4)]), RuntimeError),  # cat
    (lambda: tg.ones(2, 3).reshape(4), RuntimeError),                        # view of another size
    (lambda: tg.ones(2, 3)[5], IndexError),                                   # index out of range
    (lambda: tg.Tensor([1, 2]) // tg.Tensor([0, 1]), RuntimeError),           # integer division by zero
])
def test_errors_are_also_the_class_pytorch_raises(call, pytorch_class):
    """A PyTorch user's ``except RuntimeError`` / ``except IndexError`` catches ours; ``except ValueError`` too."""
    with pytest.raises(pytorch_class):
        call()
    with pytest.raises(ValueError):
        call()
