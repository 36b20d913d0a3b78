"""PyTorch's spellings on `import tinygrad_cnn as tg` (issue 14): tg.tensor / as_tensor / from_numpy, dtype objects
and the default dtype, devices, the Tensor methods a PyTorch user types, in-place operators (the `p -= lr * p.grad`
bug), grad modes, top-level functions, dim/axis spellings and promotion. Every test asserts without torch; the table
at the end runs the same expressions in PyTorch when it is installed and compares values and dtypes."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.testing import gradcheck


def arr(t):
    return t.numpy() if isinstance(t, tg.Tensor) else np.asarray(t)


# ---- the package ----------------------------------------------------------------------------------------------------
def test_subpackages_come_with_the_package():
    assert tg.nn.Linear and tg.optim.SGD and tg.data and tg.viz and tg.utils.data.DataLoader
    assert tg.nn.functional.relu(tg.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]


# ---- tg.tensor, tg.as_tensor, tg.from_numpy -------------------------------------------------------------------------
def test_tensor_infers_dtypes_as_pytorch():
    assert tg.tensor(1.5).dtype == tg.float32 and tg.tensor([1.0, 2]).dtype == tg.float32
    assert tg.tensor(3).dtype == tg.int64 and tg.tensor([[1, 2]]).dtype == tg.long
    assert tg.tensor(True).dtype == tg.bool and tg.tensor([True, 1]).dtype == tg.int64
    assert tg.tensor(np.array([1.5])).dtype == tg.float64  # NumPy arrays keep their dtype
    assert tg.tensor(np.ones(2, np.float16)).dtype == tg.float16
    assert tg.tensor(np.int8(3)).dtype == tg.int8 and tg.tensor(np.ones(2, np.uint8)).dtype == tg.uint8
    assert tg.tensor([1, 2], dtype=tg.float64).dtype == tg.float64
    assert tg.tensor(1.7, dtype=tg.long).item() == 1  # truncation, as PyTorch
    t = tg.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.shape == (2,)


def test_tensor_always_copies_and_warns_when_copying_a_tensor():
    a = np.arange(3.0)
    t = tg.tensor(a)
    a[0] = 9.0
    assert t.tolist() == [0.0, 1.0, 2.0]
    src = tg.tensor([1.0, 2.0], requires_grad=True) * 2
    with pytest.warns(UserWarning, match=r"clone\(\)\.detach\(\)"):
        copy = tg.tensor(src)
    assert copy.is_leaf and not copy.requires_grad and not np.shares_memory(copy.numpy(), src.numpy())
    assert copy.tolist() == [2.0, 4.0]


def test_tensor_refusals():
    with pytest.raises(TypeError, match="tensor: only floating-point tensors can require grad"):
        tg.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="tensor: cannot make a tensor"):
        tg.tensor([[1, 2], [3]])
    with pytest.raises(TypeError, match="tensor: data of dtype <U1 is not supported"):
        tg.tensor(["a"])
    with pytest.raises(TypeError, match="Python int too large"):
        tg.tensor([2 ** 70])
    with pytest.raises(RuntimeError, match=r"tensor: device 'cuda' is not available.*CPU only"):
        tg.tensor([1.0], device="cuda")


def test_as_tensor_shares_memory_when_it_can():
    a = np.arange(3.0)
    t = tg.as_tensor(a)
    a[1] = 7.0
    assert t.dtype == tg.float64 and t.tolist() == [0.0, 7.0, 2.0]
    assert not np.shares_memory(tg.as_tensor(a, dtype=tg.float32).numpy(), a)
    x = tg.tensor([1.0])
    assert tg.as_tensor(x) is x and tg.as_tensor(x, dtype=tg.float64).dtype == tg.float64
    assert tg.as_tensor([1, 2]).dtype == tg.int64 and tg.as_tensor(2.5).dtype == tg.float32


def test_from_numpy_shares_memory_both_ways_and_refuses_the_rest():
    a = np.zeros(3, np.int32)
    t = tg.from_numpy(a)
    t[0] = 5
    a[1] = 6
    assert t.dtype == tg.int32 and t.tolist() == [5, 6, 0] and a.tolist() == [5, 6, 0]
    assert tg.from_numpy(np.ones(2, np.float16)).dtype == tg.float16
    with pytest.raises(TypeError, match=r"from_numpy: expected np.ndarray \(got list\)"):
        tg.from_numpy([1, 2])
    with pytest.raises(TypeError, match=r"from_numpy: can't convert np\.ndarray of dtype <U1"):
        tg.from_numpy(np.array(["a"]))
    x = tg.tensor([1.0, 2.0])
    assert np.shares_memory(x.numpy(), x.data) and not np.shares_memory(x.numpy(force=True), x.data)


# ---- dtypes ---------------------------------------------------------------------------------------------------------
def test_dtype_objects_are_numpy_dtypes_and_compare_with_tensor_dtypes():
    assert (tg.float, tg.double, tg.half) == (tg.float32, tg.float64, tg.float16)
    assert (tg.long, tg.int, tg.short) == (tg.int64, tg.int32, tg.int16)
    assert tg.bool == np.bool_ and tg.int8 == np.int8 and tg.uint8 == np.uint8
    x = tg.zeros(2, dtype=tg.float64)
    assert x.dtype == tg.float64 and x.dtype != tg.float32
    for make in (lambda d: tg.zeros(2, dtype=d), lambda d: tg.ones(2, dtype=d), lambda d: tg.full((2,), 1, dtype=d),
                 lambda d: tg.arange(3, dtype=d), lambda d: tg.empty(2, dtype=d), lambda d: tg.eye(2, dtype=d),
                 lambda d: tg.tensor([1], dtype=d), lambda d: tg.ones(1).to(d), lambda d: tg.randint(0, 2, (2,),
                                                                                                        dtype=d)):
        for d in (tg.float32, tg.int64, tg.int32, tg.uint8, tg.float16):
            assert make(d).dtype == d
    assert tg.finfo(tg.float32).eps == np.finfo(np.float32).eps and tg.iinfo(tg.int8).max == 127


def test_default_dtype_is_honoured_and_restricted():
    assert tg.get_default_dtype() == tg.float32
    try:
        tg.set_default_dtype(tg.float64)
        assert tg.get_default_dtype() == tg.float64
        for t in (tg.tensor(1.5), tg.tensor([1, 2.5]), tg.zeros(2), tg.ones(2), tg.rand(2), tg.randn(2),
                  tg.arange(0.5, 2), tg.linspace(0, 1, 3), tg.full((2,), 1.5), tg.Tensor([1.5]),
                  tg.tensor([1, 2]) * 0.5, tg.tensor([1, 2]) / 2, tg.normal(0.0, 1.0, size=(2,))):
            assert t.dtype == tg.float64
        assert tg.tensor([1, 2]).dtype == tg.int64 and tg.full((2,), 1).dtype == tg.int64
        assert tg.tensor(np.ones(2, np.float32)).dtype == tg.float32
    finally:
        tg.set_default_dtype(tg.float32)
    assert tg.zeros(1).dtype == tg.float32
    with pytest.raises(TypeError, match="set_default_dtype: only float32 and float64"):
        tg.set_default_dtype(tg.float16)
    with pytest.raises(TypeError, match="set_default_dtype: dtype must be a float dtype"):
        tg.set_default_dtype(tg.int64)


def test_promotion_follows_pytorch():
    assert tg.tensor(1.5).dtype == tg.float32
    assert tg.tensor(np.array([1.5])).dtype == tg.float64
    i = tg.tensor([1, 2])
    assert (i + 1.5).dtype == tg.float32 and (i * 2).dtype == tg.int64 and (i / 2).dtype == tg.float32
    assert (tg.tensor([1.0]) + tg.tensor(np.array([1.0]))).dtype == tg.float64
    assert (tg.tensor([1.0]) * 2.5).dtype == tg.float32  # a Python scalar never upcasts
    assert (tg.tensor([1], dtype=tg.int8) + 1).dtype == tg.int8
    b = tg.tensor([True, False])
    assert (b & True).dtype == tg.bool and (b + 1).dtype == tg.int64


# ---- devices ------------------------------------------------------------------------------------------------------
def test_devices():
    x = tg.ones(2)
    assert x.device == tg.device("cpu") and x.device == "cpu" and repr(x.device) == "device(type='cpu')"
    assert str(tg.device("cpu:0")) == "cpu:0" and tg.device(tg.device("cpu")) == tg.device("cpu")
    assert x.to("cpu") is x and x.cpu() is x and x.to(tg.device("cpu")) is x and not x.is_cuda
    assert x.get_device() == -1
    assert tg.cuda.is_available() is False and tg.cuda.device_count() == 0
    assert tg.backends.mps.is_available() is False and tg.accelerator.is_available() is False
    for make in (tg.zeros, tg.ones, tg.rand, tg.randn, tg.empty):
        assert make(2, device="cpu").device == "cpu"
    assert tg.arange(3, device=tg.device("cpu")).shape == (3,) and tg.zeros_like(x, device="cpu").shape == (2,)
    device = "cuda" if tg.cuda.is_available() else "cpu"  # the idiom of PyTorch scripts
    assert tg.randn(2, 2).to(device).shape == (2, 2)


@pytest.mark.parametrize("call, error, match", [
    (lambda: tg.ones(1).cuda(), RuntimeError, "cuda: there is no CUDA device; tinygrad_cnn computes with NumPy on "
     "the CPU only"),
    (lambda: tg.zeros(2, device="cuda"), RuntimeError, "zeros: device 'cuda' is not available.*CPU only"),
    (lambda: tg.ones(2).to("cuda:0"), RuntimeError, "to: device 'cuda:0' is not available"),
    (lambda: tg.ones(2).to("mps"), RuntimeError, "to: device 'mps' is not available"),
    (lambda: tg.rand(2, device=0), RuntimeError, r"rand: device=0 names an accelerator \(cuda:0\)"),
    (lambda: tg.zeros(2, device=1.5), TypeError, "zeros: device must be 'cpu', a tg.device or None"),
    (lambda: tg.device("gpu"), RuntimeError, "device: 'gpu' is not available"),
    (lambda: tg.device("cpu:x"), ValueError, "device: invalid device string 'cpu:x'"),
    (lambda: tg.device(3), TypeError, "device: expected a string"),
])
def test_devices_other_than_the_cpu_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


# ---- Tensor queries and conversions -----------------------------------------------------------------------------
def test_size_numel_dim():
    x = tg.zeros(2, 3, 4)
    assert x.size() == (2, 3, 4) and isinstance(x.size(), tuple) and isinstance(x.size(), tg.Size)
    assert x.size(0) == 2 and x.size(-1) == 4 and x.size(dim=1) == 3
    assert x.size() == x.shape and x.size().numel() == 24 and repr(x.size()) == "Size([2, 3, 4])"
    assert x.size == 24 and x.size + 1 == 25  # NumPy's spelling (no call) is the element count
    assert x.numel() == x.nelement() == 24 and tg.numel(x) == 24
    assert x.dim() == x.ndimension() == x.ndim == 3
    assert tg.tensor(1.0).size() == () and tg.tensor(1.0).numel() == 1
    with pytest.raises(ValueError, match="size: dim 3 is out of range for a tensor with 3 dimensions"):
        x.size(3)
    with pytest.raises(IndexError, match="size: a 0-d tensor has no dimension 0"):
        tg.tensor(1.0).size(0)
    assert x.element_size() == 4 and x.itemsize == 4 and x.nbytes == 96
    assert tg.zeros(2, dtype=tg.int8).element_size() == 1


def test_dtype_conversions():
    x = tg.tensor([1.7, -2.2])
    expected = {"long": tg.int64, "int": tg.int32, "float": tg.float32, "double": tg.float64, "half": tg.float16,
                "bool": tg.bool, "short": tg.int16, "byte": tg.uint8, "char": tg.int8}
    for name, dtype in expected.items():
        assert getattr(x, name)().dtype == dtype
    assert x.long().tolist() == [1, -2] and x.bool().tolist() == [True, True]
    assert x.float() is x and x.to(tg.float32) is x  # nothing to change: the tensor itself
    assert x.to(tg.float64).dtype == tg.float64 and x.to("cpu", tg.float64).dtype == tg.float64
    assert x.to(device="cpu", dtype=tg.int64).dtype == tg.int64 and x.to(tg.tensor([1])).dtype == tg.int64
    copied = x.to(tg.float32, copy=True)
    assert copied is not x and not np.shares_memory(copied.numpy(), x.numpy())
    assert x.type() == "tinygrad_cnn.FloatTensor" and x.type(tg.float64).dtype == tg.float64
    assert x.type("torch.LongTensor").dtype == tg.int64
    assert tg.tensor([1, 2]).type_as(x).dtype == tg.float32
    assert x.is_floating_point() and not tg.tensor([1]).is_floating_point() and tg.is_floating_point(x)
    assert tg.is_tensor(x) and not tg.is_tensor(np.ones(2))
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    w.double().sum().backward()  # a differentiable cast
    assert w.grad.dtype == tg.float32 and w.grad.tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="to: got two dtypes"):
        x.to(tg.float32, tg.int64)


def test_leaf_detach_clone_item_tolist():
    w = tg.tensor([1.0, 2.0]).requires_grad_()
    assert w.requires_grad and w.is_leaf and w.requires_grad_(False) is w and not w.requires_grad
    w.requires_grad_(True)
    y = w * 2
    assert not y.is_leaf and y.detach().is_leaf and np.shares_memory(y.detach().numpy(), y.numpy())
    z = w * 3
    assert z.detach_() is z and z.is_leaf and not z.requires_grad and z.grad_fn is None
    c = y.clone()
    assert c.grad_fn is not None and not np.shares_memory(c.numpy(), y.numpy())
    assert tg.tensor([[2.5]]).item() == 2.5 and tg.tensor([[1, 2]]).tolist() == [[1, 2]]
    with pytest.raises(TypeError, match="Tensor: only floating-point tensors can require grad"):
        tg.tensor([1]).requires_grad_()


def test_views_and_shapes():
    x = tg.arange(6.0).reshape(2, 3)
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,) and x.view((1, 6)).shape == (1, 6)
    assert x.view_as(tg.zeros(3, 2)).shape == (3, 2) and x.reshape_as(tg.zeros(6)).shape == (6,)
    assert x[:1].expand(4, -1).shape == (4, 3) and x.expand(5, 2, 3).shape == (5, 2, 3)
    assert x[:1].expand_as(tg.zeros(2, 3)).tolist() == [[0.0, 1.0, 2.0]] * 2
    assert x.t().tolist() == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]] and tg.t(x).shape == (3, 2)
    assert tg.ones(3).t().shape == (3,) and tg.zeros(4, 2, 3).mT.shape == (4, 3, 2) and x.T.shape == (3, 2)
    assert x.permute(1, 0).shape == x.permute((1, 0)).shape == tg.permute(x, (1, 0)).shape == (3, 2)
    assert x.unflatten(1, (3, 1)).shape == (2, 3, 1) and x.unflatten(-1, (-1, 1)).shape == (2, 3, 1)
    assert tg.zeros(2, 1, 3, 1).squeeze((1, 3)).shape == (2, 3) and tg.zeros(2, 1).squeeze(dim=1).shape == (2,)
    assert x.is_contiguous() and not x.t().is_contiguous() and x.contiguous() is x
    c = x.t().contiguous()
    assert c.is_contiguous() and c.tolist() == x.t().tolist() and c.data_ptr() != x.data_ptr()
    assert x.data_ptr() == x.view(-1).data_ptr()
    with pytest.raises(TypeError, match=r"view: view\(dtype\) reinterprets the memory"):
        x.view(tg.int32)
    with pytest.raises(ValueError, match=r"t: expects a tensor with <= 2 dimensions, got shape \(2, 2, 2\)"):
        tg.zeros(2, 2, 2).t()
    with pytest.raises(ValueError, match="mT: needs at least 2 dimensions"):
        tg.zeros(2).mT
    with pytest.raises(ValueError, match=r"unflatten: sizes \(4, 1\) do not multiply to 3"):
        x.unflatten(1, (4, 1))


def test_views_and_contiguous_are_differentiable():
    x = tg.tensor(np.random.default_rng(0).normal(size=(2, 3)), requires_grad=True)
    for f in (lambda a: a.t().contiguous(), lambda a: a.unflatten(1, (3, 1)), lambda a: a.mT,
              lambda a: a.view_as(tg.zeros(3, 2)), lambda a: a[:1].expand_as(a) * a):
        assert gradcheck(f, x)


def test_new_tensors_take_dtype_from_self():
    x = tg.zeros(2, dtype=tg.float64)
    assert x.new_zeros(2, 3).dtype == tg.float64 and x.new_zeros((2, 3)).shape == (2, 3)
    assert x.new_ones(2).tolist() == [1.0, 1.0] and x.new_full((2,), 7).tolist() == [7.0, 7.0]
    assert x.new_empty(4).shape == (4,) and x.new_tensor([1, 2]).dtype == tg.float64
    assert x.new_zeros(2, dtype=tg.int64).dtype == tg.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    t = tg.tensor([1.0, 2.0])
    assert not np.shares_memory(x.new_tensor(t).numpy(), t.numpy())
    with pytest.raises(RuntimeError, match="new_zeros: device 'cuda'"):
        x.new_zeros(2, device="cuda")


# ---- arithmetic methods ----------------------------------------------------------------------------------------
def test_add_sub_alpha_div_rounding_addcmul_addcdiv():
    a, b = tg.tensor([1.0, -7.0]), tg.tensor([2.0, 2.0])
    assert a.add(b, alpha=3).tolist() == [7.0, -1.0] and tg.add(a, b, alpha=3).tolist() == [7.0, -1.0]
    assert a.sub(b, alpha=0.5).tolist() == [0.0, -8.0] and tg.sub(a, 1).tolist() == [0.0, -8.0]
    assert a.div(b).tolist() == [0.5, -3.5] and a.div(b, rounding_mode="trunc").tolist() == [0.0, -3.0]
    assert a.div(b, rounding_mode="floor").tolist() == [0.0, -4.0]
    i = tg.tensor([7, -7])
    assert i.div(2, rounding_mode="trunc").tolist() == [3, -3] and i.div(2, rounding_mode="trunc").dtype == tg.int64
    assert tg.div(i, -2, rounding_mode="floor").tolist() == [-4, 3] and tg.div(i, 2).dtype == tg.float32
    assert a.addcmul(a, b, value=2).tolist() == [5.0, -35.0] and tg.addcmul(a, a, b).tolist() == [3.0, -21.0]
    assert a.addcdiv(a, b, value=2).tolist() == [2.0, -14.0] and tg.addcdiv(a, a, b).tolist() == [1.5, -10.5]
    assert tg.mul(2, a).tolist() == [2.0, -14.0] and tg.pow(a, 2).tolist() == [1.0, 49.0]
    assert tg.pow(2, b).tolist() == [4.0, 4.0] and tg.neg(a).tolist() == [-1.0, 7.0] and a.neg().tolist() == [-1.0, 7.0]
    with pytest.raises(ValueError, match="div: rounding_mode must be 'trunc' or 'floor'"):
        a.div(b, rounding_mode="round")
    with pytest.raises(TypeError, match="add: alpha must be a number"):
        a.add(b, alpha="x")
    x, y, z = (tg.tensor(np.random.default_rng(s).uniform(1, 2, 3), requires_grad=True) for s in range(3))
    assert gradcheck(lambda x, y, z: x.addcmul(y, z, value=0.5) + x.addcdiv(y, z, value=-2), x, y, z)
    assert gradcheck(lambda x, y: x.add(y, alpha=2) * x.sub(y, alpha=3), x, y)


def test_bitwise_operators():
    b, c = tg.tensor([True, True, False]), tg.tensor([True, False, False])
    assert (b & c).tolist() == [True, False, False] and (b | c).tolist() == [True, True, False]
    assert (b ^ c).tolist() == [False, True, False] and (~b).tolist() == [False, False, True]
    i = tg.tensor([6, 3])
    assert (i & 2).tolist() == [2, 2] and (1 | i).tolist() == [7, 3] and (~i).tolist() == [-7, -4]
    assert tg.bitwise_xor(i, 5).tolist() == [3, 6]
    with pytest.raises(TypeError, match="bitwise_and: needs bool or integer tensors, got float32"):
        tg.ones(2) & tg.ones(2)


def test_equal_and_allclose_are_one_bool():
    a = tg.tensor([1.0, 2.0])
    assert a.equal(tg.tensor([1.0, 2.0])) is True and tg.equal(a, tg.tensor([1.0, 3.0])) is False
    assert tg.equal(a, tg.tensor([1.0, 2.0, 3.0])) is False and a.equal(tg.tensor([1, 2])) is True
    assert tg.allclose(a, a + 1e-9) is True and a.allclose(a + 1.0) is False and tg.allclose(a, a + 1.0, atol=1.0)
    assert (a == a).dtype == tg.bool and a.eq(a).tolist() == [True, True]


# ---- in-place operators and methods -------------------------------------------------------------------------------
def test_manual_sgd_step_updates_the_parameter_in_place():
    """The bug of issue 14: `with no_grad(): p -= lr * p.grad` rebound `p` and updated nothing."""
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    (p * p).sum().backward()
    alias, before = p, p._version
    with tg.no_grad():
        p -= 0.1 * p.grad
    assert p is alias and p.requires_grad and p.is_leaf and p._version == before + 1
    np.testing.assert_allclose(p.numpy(), [0.8, 1.6])
    with tg.no_grad():
        p *= 2
        p += tg.ones(2)
        p /= 2
    np.testing.assert_allclose(alias.numpy(), [1.3, 2.1])


def test_inplace_on_a_leaf_that_requires_grad_is_pytorchs_error():
    p = tg.tensor([1.0, 2.0], requires_grad=True)
    for op in (lambda: p.__iadd__(1), lambda: p.__isub__(1), lambda: p.mul_(2), lambda: p.sqrt_(), lambda: p.zero_()):
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place "
                                               "operation"):
            op()
    assert p.tolist() == [1.0, 2.0] and p._version == 0


def test_every_inplace_operator_writes_in_place():
    i = tg.tensor([7, 12])
    for op, expected in (("__iadd__", [8, 13]), ("__isub__", [7, 12]), ("__imul__", [14, 24]),
                         ("__ifloordiv__", [4, 8]), ("__imod__", [1, 2]), ("__ipow__", [1, 4]), ("__iand__", [1, 0]),
                         ("__ior__", [3, 2]), ("__ixor__", [1, 0])):
        other = {"__ifloordiv__": 3, "__imod__": 3, "__ipow__": 2, "__ior__": 2, "__ixor__": 2}.get(op, 1 if op in (
            "__iadd__", "__isub__", "__iand__") else 2)
        memory = i.numpy()
        assert getattr(i, op)(other) is i and i.numpy() is memory and i.tolist() == expected, op
    x = tg.tensor([2.0, 4.0])
    x /= 2
    assert x.tolist() == [1.0, 2.0]
    m = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    memory = m.numpy()
    alias = m
    m @= tg.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert m is alias and m.numpy() is memory and m.tolist() == [[2.0, 1.0], [4.0, 3.0]]
    m @= tg.ones(2, 3)  # another shape: rebound to the product, as Python and PyTorch do
    assert m.shape == (2, 3) and alias.shape == (2, 2) and m.tolist() == [[3.0] * 3, [7.0] * 3]


def test_inplace_dtype_rules_are_pytorchs():
    i = tg.tensor([1, 2])
    for op in (lambda: i.__iadd__(0.5), lambda: i.__imul__(tg.tensor([1.0, 2.0])), lambda: i.__itruediv__(2),
               lambda: i.sqrt_()):
        with pytest.raises(TypeError, match="result type Float can't be cast to the desired output type Long"):
            op()
    b = tg.tensor([True])
    with pytest.raises(TypeError, match="result type Long can't be cast to the desired output type Bool"):
        b += 1
    f = tg.tensor([1.0, 2.0])
    f += tg.tensor(np.array([0.5, 0.5]))  # a float64 result is cast into float32, as PyTorch
    assert f.dtype == tg.float32 and f.tolist() == [1.5, 2.5]
    i += tg.tensor([1, 1], dtype=tg.int32)
    assert i.dtype == tg.int64 and i.tolist() == [2, 3]
    i.div_(2, rounding_mode="floor")
    assert i.tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"add_: an operand of shape \(3,\) does not broadcast"):
        f += tg.ones(3)


def test_inplace_on_a_non_leaf_is_recorded_as_pytorch():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    w = tg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    y = x * 2
    y += w      # y = 2x + w
    y *= x      # y = (2x + w) x
    y -= 1
    y /= w
    y **= 2     # y = (((2x + w) x - 1) / w)^2
    assert y.grad_fn is not None and not y.is_leaf
    y.sum().backward()
    u = ((2 * x.numpy() + w.numpy()) * x.numpy() - 1) / w.numpy()
    np.testing.assert_allclose(y.numpy(), u ** 2)
    np.testing.assert_allclose(x.grad.numpy(), 2 * u * (4 * x.numpy() + w.numpy()) / w.numpy())
    du_dw = (x.numpy() * w.numpy() - ((2 * x.numpy() + w.numpy()) * x.numpy() - 1)) / w.numpy() ** 2
    np.testing.assert_allclose(w.grad.numpy(), 2 * u * du_dw)


def test_inplace_with_an_operand_that_requires_grad_makes_a_non_leaf():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    acc = tg.zeros(2)
    acc += w * 3
    acc.addcmul_(w, w)
    assert acc.requires_grad and not acc.is_leaf
    acc.sum().backward()
    assert w.grad.tolist() == [5.0, 7.0]
    y = tg.zeros(2)
    y.copy_(w)
    (y * y).sum().backward()
    assert w.grad.tolist() == [7.0, 11.0]


def test_a_saved_tensor_modified_in_place_makes_backward_fail():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = x.exp()
    y += 1  # Exp's VJP reads its output
    with pytest.raises(RuntimeError, match=r"Exp: its output \(shape \(2,\)\) was modified in place"):
        y.sum().backward()
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    z = h * h
    h.add_(1)
    with pytest.raises(RuntimeError, match=r"Mul: input 0 .* was modified in place"):
        z.sum().backward()


def test_inplace_on_a_view_of_a_graph_tensor_is_refused():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    h = x * 2
    with pytest.raises(RuntimeError, match=r"add_: the tensor of shape \(2,\) \(made by GetItem\) shares memory"):
        h[0].add_(tg.ones(2, requires_grad=True))
    assert h.tolist() == [[2.0, 4.0]]


def test_inplace_methods_of_optimisers_and_init():
    x = tg.tensor([1.0, 4.0, 9.0])
    x.sqrt_().exp_().log_().neg_().abs_()
    np.testing.assert_allclose(x.numpy(), [1.0, 2.0, 3.0], rtol=1e-6)
    x.copy_(tg.tensor([1.0, 2.0, 3.0]))
    x.addcmul_(tg.ones(3), tg.tensor([1.0, 2.0, 3.0]), value=2).addcdiv_(tg.ones(3), tg.tensor([2.0, 2.0, 2.0]),
                                                                        value=-2)
    assert x.tolist() == [2.0, 5.0, 8.0]
    x.lerp_(tg.zeros(3), 0.5).clamp_(min=1.5, max=3.0).pow_(2)
    assert x.tolist() == [2.25, 6.25, 9.0]
    x.clamp_min_(3.0).clamp_max_(8.0).sub_(tg.ones(3), alpha=2).mul_(2).div_(2)
    assert x.tolist() == [1.0, 4.25, 6.0]
    x.masked_fill_(x > 4.0, 0.0).index_fill_(0, tg.tensor([0]), -1.0)
    assert x.tolist() == [-1.0, 0.0, 0.0]
    x.fill_(tg.tensor(2.0)).add_(1.0).zero_().copy_(np.array([1, 2, 3]))
    assert x.tolist() == [1.0, 2.0, 3.0] and x.dtype == tg.float32
    tg.manual_seed(0)
    x.uniform_(-1, 1)
    assert np.all(np.abs(x.numpy()) <= 1) and len(set(x.tolist())) == 3
    x.normal_(0.0, 0.01).relu_().sigmoid_().tanh_()
    assert np.all((x.numpy() > 0) & (x.numpy() < 1))


def test_recorded_inplace_unary_and_fills_differentiate():
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    y = x * 1
    y.sin_()
    y.mul_(x)  # y = x sin(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.cos([0.5, 1.5]) * [0.5, 1.5] + np.sin([0.5, 1.5]))
    x.grad = None
    y = x * 1
    y.exp_()  # Exp saves its output, y's memory: overwriting it makes backward fail, as in PyTorch
    y.mul_(x)
    with pytest.raises(RuntimeError, match=r"Exp: its output \(shape \(2,\)\) was modified in place"):
        y.sum().backward()
    x.grad = None
    y = x * 1
    y.zero_()
    y += x
    y.sum().backward()  # the zeroed part carries no gradient, the added x does
    assert x.grad.tolist() == [1.0, 1.0]


# ---- grad modes ---------------------------------------------------------------------------------------------------
def test_inference_mode_is_no_grad_as_context_and_decorator():
    w = tg.ones(2, requires_grad=True)
    with tg.inference_mode():
        assert not (w * 2).requires_grad and tg.is_inference_mode_enabled() and not tg.is_grad_enabled()
    assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()
    with tg.inference_mode(False):
        assert (w * 2).requires_grad

    @tg.inference_mode()
    def f(a):
        return a * 2

    @tg.inference_mode
    def g(a):
        return a * 2

    @tg.no_grad
    def h(a):
        return a * 2

    assert not f(w).requires_grad and not g(w).requires_grad and not h(w).requires_grad
    assert (w * 2).requires_grad


def test_set_grad_enabled_as_call_context_and_decorator():
    w = tg.ones(2, requires_grad=True)
    try:
        tg.set_grad_enabled(False)
        assert not tg.is_grad_enabled() and not (w * 2).requires_grad
    finally:
        tg.set_grad_enabled(True)
    with tg.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert tg.is_grad_enabled()
    with tg.no_grad(), tg.set_grad_enabled(True):
        assert (w * 2).requires_grad
    is_train = False
    with tg.set_grad_enabled(is_train):
        assert not tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def f(a):
        return a * 2

    assert tg.is_grad_enabled() and not f(w).requires_grad and tg.is_grad_enabled()
    with pytest.raises(TypeError, match="set_grad_enabled: mode must be True or False"):
        tg.set_grad_enabled(1)


# ---- top-level functions, dim/axis spellings, named tuples -------------------------------------------------------
def test_top_level_functions():
    x = tg.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    assert tg.sum(x).item() == 5.0 and tg.sum(x, 1).tolist() == [2.0, 3.0] and tg.sum(x, dim=0, keepdim=True).shape == (
        1, 3)
    assert tg.mean(x, 0).tolist() == [2.5, 1.5, -1.5] and tg.max(x).item() == 5.0 and tg.min(x).item() == -6.0
    assert tg.max(x, 1).indices.tolist() == [2, 1] and tg.min(x, dim=1).values.tolist() == [-2.0, -6.0]
    assert tg.max(x, tg.zeros(3)).tolist() == [[1.0, 0.0, 3.0], [4.0, 5.0, 0.0]]
    assert tg.argmax(x).item() == 4 and tg.argmin(x, 1).tolist() == [1, 2] and tg.argmax(x, 1, keepdim=True).shape == (
        2, 1)
    assert tg.all(x > -7).item() and tg.any(x > 4, dim=1).tolist() == [False, True]
    np.testing.assert_allclose(tg.softmax(x, dim=1).sum(1).numpy(), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(tg.log_softmax(x, 1).exp().numpy(), tg.softmax(x, 1).numpy(), rtol=1e-5)
    assert tg.relu(x).tolist() == [[1.0, 0.0, 3.0], [4.0, 5.0, 0.0]] and tg.tanh(x).shape == (2, 3)
    assert tg.cat([x, x], dim=1).shape == (2, 6) and tg.concat([x, x]).shape == (4, 3) and tg.cat((x, x), 0).shape == (
        4, 3)
    assert tg.stack([x, x], dim=2).shape == (2, 3, 2) and tg.stack([x, x]).shape == (2, 2, 3)
    assert tg.flatten(x).shape == (6,) and tg.flatten(tg.zeros(2, 3, 4), 1).shape == (2, 12)
    assert tg.reshape(x, (3, 2)).shape == (3, 2) and tg.transpose(x, 0, 1).shape == (3, 2)
    assert tg.squeeze(tg.zeros(1, 2)).shape == (2,) and tg.unsqueeze(x, 0).shape == (1, 2, 3)
    assert tg.clone(x).tolist() == x.tolist() and tg.abs(x).sum().item() == 21.0 and tg.exp(tg.zeros(1)).item() == 1.0
    std, mean = tg.std_mean(x, 1)
    np.testing.assert_allclose(std.numpy(), np.std(x.numpy(), 1, ddof=1), rtol=1e-6)
    np.testing.assert_allclose(mean.numpy(), [2 / 3, 1.0], rtol=1e-6)
    var, mean = tg.var_mean(x, dim=0, correction=0)
    np.testing.assert_allclose(var.numpy(), np.var(x.numpy(), 0), rtol=1e-6)
    assert x.std_mean()[1].item() == pytest.approx(5 / 6)
    assert tg.is_nonzero(tg.tensor([1])) and not tg.is_nonzero(tg.tensor(0.0))
    with pytest.raises(TypeError, match="sum: input must be a Tensor, got list"):
        tg.sum([1, 2])
    assert tg.sum is not sum and sum([1, 2]) == 3  # the builtins are untouched


def test_dim_and_axis_spellings_are_both_accepted():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    for name in ("sum", "mean", "prod", "amax", "amin", "logsumexp", "var", "std", "argmax", "argmin", "all", "any",
                 "norm"):
        a = getattr(x, name)(dim=1, keepdim=True) if name != "norm" else x.norm(dim=1, keepdim=True)
        b = getattr(x, name)(axis=1, keepdims=True) if name != "norm" else x.norm(axis=1, keepdims=True)
        assert a.shape == b.shape == (2, 1) and np.array_equal(arr(a), arr(b)), name
        with pytest.raises(TypeError, match=f"{name}: got both dim= and axis="):
            getattr(x, name)(dim=1, axis=1)
    for name in ("cumsum", "cumprod", "logcumsumexp", "softmax", "log_softmax"):
        assert np.array_equal(arr(getattr(x, name)(dim=0)), arr(getattr(x, name)(axis=0))), name
    for name in ("sort", "argsort", "cummax", "cummin", "median"):
        a, b = getattr(x, name)(dim=0), getattr(x, name)(axis=0)
        a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
        assert np.array_equal(arr(a), arr(b)), name
    assert tg.stack([x, x], axis=1).shape == tg.stack([x, x], dim=1).shape == (2, 2, 2)
    assert tg.cat([x, x], axis=1).shape == tg.cat([x, x], dim=1).shape == (2, 4)
    assert x.flatten(start_dim=0).shape == x.flatten(start_axis=0).shape == (4,)
    assert tg.zeros(1, 2).squeeze(dim=0).shape == tg.zeros(1, 2).squeeze(axis=0).shape == (2,)
    assert x.unsqueeze(dim=0).shape == x.unsqueeze(axis=0).shape == (1, 2, 2)
    assert x.transpose(dim0=0, dim1=1).tolist() == x.transpose(0, 1).tolist()
    assert x.max(dim=1).values.tolist() == x.max(axis=1).tolist() == [2.0, 4.0]
    with pytest.raises(TypeError, match="stack: got both dim= and axis="):
        tg.stack([x], dim=0, axis=0)


def test_reductions_take_a_dtype():
    i = tg.tensor([1, 2, 3])
    assert i.sum(dtype=tg.float64).dtype == tg.float64 and tg.sum(i, dtype=tg.float32).item() == 6.0
    assert i.mean(dtype=tg.float64).dtype == tg.float64 and i.prod(dtype=tg.float32).dtype == tg.float32
    assert i.cumsum(0, dtype=tg.float64).tolist() == [1.0, 3.0, 6.0] and i.cumprod(0, dtype=tg.int32).dtype == tg.int32
    x = tg.tensor([0.5, 1.5], requires_grad=True)
    x.sum(dtype=tg.float64).backward()
    assert x.grad.dtype == tg.float32 and x.grad.tolist() == [1.0, 1.0]
    assert tg.softmax(tg.tensor([1.0, 2.0]), 0, dtype=tg.float64).dtype == tg.float64


def test_selections_return_values_and_indices_named_tuples():
    x = tg.tensor([[3.0, 1.0, 2.0], [0.0, 5.0, 4.0]])
    cases = {"max": x.max(1), "min": x.min(dim=1), "sort": x.sort(1), "topk": x.topk(2), "kthvalue": x.kthvalue(2, 1),
             "median": x.median(1), "cummax": x.cummax(1), "cummin": x.cummin(1), "tg.sort": tg.sort(x, 1),
             "tg.topk": tg.topk(x, 1, dim=1)}
    for name, out in cases.items():
        values, indices = out
        assert out.values is values and out.indices is indices and indices.dtype == tg.int64, name
        np.testing.assert_array_equal(np.take_along_axis(x.numpy(), indices.numpy().reshape(2, -1), 1).reshape(
            values.shape), values.numpy(), err_msg=name)
    assert x.max(1).values.tolist() == [3.0, 5.0] and x.sort(1, descending=True).indices.tolist() == [[0, 2, 1],
                                                                                                      [1, 2, 0]]


def test_index_fill():
    x = tg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = x.index_fill(1, tg.tensor([0, -1]), -1.0)
    assert y.tolist() == [[-1.0, 1.0, -1.0], [-1.0, 4.0, -1.0]]
    assert tg.index_fill(x, 0, [1], 0.0).tolist() == [[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]]
    y.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [0.0, 1.0, 0.0]]
    with pytest.raises(IndexError, match=r"index_fill: index holds values from 0 to 3, out of range \[-3, 2\]"):
        x.index_fill(1, [0, 3], 1.0)


# ---- PyTorch, when installed: the same expressions in both ------------------------------------------------------
A = [[1.5, -2.0, 3.25], [4.0, 0.5, -6.0]]
I = [[7, -3, 2], [1, 0, -5]]

EXPRESSIONS = {
    "tensor float": lambda m: m.tensor(1.5),
    "tensor int": lambda m: m.tensor([1, 2]),
    "tensor bool": lambda m: m.tensor([True, False]),
    "tensor numpy": lambda m: m.tensor(np.array([1.5, 2.0])),
    "tensor numpy int32": lambda m: m.tensor(np.array([1, 2], np.int32)),
    "as_tensor": lambda m: m.as_tensor(np.array([1.0, 2.0]), dtype=m.float32),
    "from_numpy": lambda m: m.from_numpy(np.arange(3, dtype=np.int16)),
    "int + float": lambda m: m.tensor(I) + 1.5,
    "int / int": lambda m: m.tensor(I) / 2,
    "f32 + f64": lambda m: m.tensor(A) + m.tensor(np.array(A)),
    "bool & bool": lambda m: m.tensor([True, False]) & True,
    "long()": lambda m: m.tensor(A).long(),
    "int()": lambda m: m.tensor(A).int(),
    "half()": lambda m: m.tensor(A).half(),
    "byte()": lambda m: m.tensor(I).abs().byte(),
    "char()": lambda m: m.tensor(I).char(),
    "short()": lambda m: m.tensor(I).short(),
    "bool()": lambda m: m.tensor(A).bool(),
    "to dtype": lambda m: m.tensor(A).to(m.float64),
    "to cpu dtype": lambda m: m.tensor(A).to("cpu", m.int32),
    "to other": lambda m: m.tensor(A).to(m.tensor(I)),
    "type_as": lambda m: m.tensor(I).type_as(m.tensor(A)),
    "size": lambda m: m.tensor(A).size(),
    "size(1)": lambda m: m.tensor(A).size(1),
    "numel": lambda m: m.tensor(A).numel(),
    "dim": lambda m: m.tensor(A).dim(),
    "view": lambda m: m.tensor(A).view(3, -1),
    "view_as": lambda m: m.tensor(A).view_as(m.zeros(6)),
    "expand": lambda m: m.tensor(A)[:1].expand(3, -1),
    "expand_as": lambda m: m.tensor(A)[:1].expand_as(m.tensor(A)),
    "reshape_as": lambda m: m.tensor(A).reshape_as(m.zeros(3, 2)),
    "t": lambda m: m.tensor(A).t(),
    "mT": lambda m: m.tensor(A).mT,
    "unflatten": lambda m: m.tensor(A).unflatten(1, (3, 1)),
    "squeeze tuple": lambda m: m.zeros(2, 1, 3, 1).squeeze((1, 3)),
    "new_zeros": lambda m: m.tensor(A).new_zeros(2, 2),
    "new_full": lambda m: m.tensor(I).new_full((2,), 3),
    "new_tensor": lambda m: m.tensor(A).new_tensor([1, 2]),
    "element_size": lambda m: m.tensor(A).double().element_size(),
    "add alpha": lambda m: m.tensor(A).add(m.tensor(A), alpha=2),
    "sub alpha": lambda m: m.tensor(A).sub(1, alpha=3),
    "div trunc": lambda m: m.tensor(A).div(0.75, rounding_mode="trunc"),
    "div floor": lambda m: m.tensor(A).div(0.75, rounding_mode="floor"),
    "int div trunc": lambda m: m.tensor(I).div(2, rounding_mode="trunc"),
    "int div floor": lambda m: m.tensor(I).div(-2, rounding_mode="floor"),
    "addcmul": lambda m: m.tensor(A).addcmul(m.tensor(A), m.tensor(A), value=0.5),
    "addcdiv": lambda m: m.tensor(A).addcdiv(m.tensor(A), m.ones(2, 3) * 4, value=2),
    "argmax dim keepdim": lambda m: m.tensor(A).argmax(1, keepdim=True),
    "argmin": lambda m: m.tensor(A).argmin(),
    "all dim": lambda m: (m.tensor(A) > 0).all(1),
    "any dim": lambda m: (m.tensor(A) > 0).any(dim=0),
    "max dim": lambda m: m.tensor(A).max(1),
    "min dim keepdim": lambda m: m.tensor(A).min(0, keepdim=True),
    "sort": lambda m: m.tensor(A).sort(1, descending=True),
    "topk": lambda m: m.tensor(A).topk(2),
    "kthvalue": lambda m: m.tensor(A).kthvalue(2, 1),
    "median dim": lambda m: m.tensor(A).median(1),
    "tg.sum": lambda m: m.sum(m.tensor(A), 1),
    "tg.sum dtype": lambda m: m.sum(m.tensor(I), dtype=m.float64),
    "tg.mean": lambda m: m.mean(m.tensor(A), dim=0, keepdim=True),
    "tg.max": lambda m: m.max(m.tensor(A)),
    "tg.max dim": lambda m: m.max(m.tensor(A), 1),
    "tg.min other": lambda m: m.min(m.tensor(A), m.zeros(3)),
    "tg.argmax": lambda m: m.argmax(m.tensor(A), 0),
    "tg.all": lambda m: m.all(m.tensor(A) > -7),
    "tg.softmax": lambda m: m.softmax(m.tensor(A), dim=1),
    "tg.log_softmax": lambda m: m.log_softmax(m.tensor(A), 0),
    "tg.relu": lambda m: m.relu(m.tensor(A)),
    "tg.pow": lambda m: m.pow(m.tensor(A), 2),
    "tg.pow number": lambda m: m.pow(2, m.tensor(A)),
    "tg.add": lambda m: m.add(m.tensor(A), 1, alpha=2),
    "tg.mul": lambda m: m.mul(m.tensor(A), m.tensor(A)),
    "tg.div": lambda m: m.div(m.tensor(I), 2),
    "tg.neg": lambda m: m.neg(m.tensor(A)),
    "tg.cat": lambda m: m.cat([m.tensor(A), m.tensor(A)], dim=1),
    "tg.concat": lambda m: m.concat([m.tensor(A), m.tensor(A)]),
    "tg.stack": lambda m: m.stack([m.tensor(A), m.tensor(A)], dim=2),
    "tg.flatten": lambda m: m.flatten(m.zeros(2, 3, 4), 1),
    "tg.transpose": lambda m: m.transpose(m.tensor(A), 0, 1),
    "tg.permute": lambda m: m.permute(m.tensor(A), (1, 0)),
    "tg.t": lambda m: m.t(m.tensor(A)),
    "tg.std_mean": lambda m: m.std_mean(m.tensor(A), 1),
    "tg.var_mean": lambda m: m.var_mean(m.tensor(A), dim=0, correction=0),
    "tg.numel": lambda m: m.numel(m.tensor(A)),
    "tg.allclose": lambda m: m.allclose(m.tensor(A), m.tensor(A) + 1e-9),
    "tg.equal": lambda m: m.equal(m.tensor(A), m.tensor(A)),
    "tg.is_tensor": lambda m: m.is_tensor(m.tensor(A)),
    "tg.is_floating_point": lambda m: m.is_floating_point(m.tensor(I)),
    "index_fill": lambda m: m.tensor(A).index_fill(1, m.tensor([0, 2]), -1.0),
    "bitwise": lambda m: (m.tensor(I) & 6) | (m.tensor(I) ^ 3),
    "invert": lambda m: ~m.tensor([True, False]),
    "cumsum dtype": lambda m: m.tensor(I).cumsum(0, dtype=m.float32),
    "clamp int": lambda m: m.tensor(I).clamp(-1, 1),
}


def _matmul_assign(m):
    t = m.tensor([[1.0, 2.0], [3.0, 4.0]])
    t @= m.tensor([[0.5, 1.0], [1.0, 0.0]])
    t @= m.ones(2, 3)
    return t


def _inplace(m, build, *steps):
    t = build(m)
    for step in steps:
        step(t)
    return t


INPLACE = {
    "+= -= *= /=": lambda m: _inplace(m, lambda m: m.tensor(A), lambda t: t.__iadd__(1), lambda t: t.__isub__(
        m.tensor(A) * 0.5), lambda t: t.__imul__(3), lambda t: t.__itruediv__(m.tensor(A) + 10)),
    "//= %= **=": lambda m: _inplace(m, lambda m: m.tensor(I), lambda t: t.__ifloordiv__(2), lambda t: t.__imod__(3),
                                     lambda t: t.__ipow__(2)),
    "&= |= ^=": lambda m: _inplace(m, lambda m: m.tensor(I), lambda t: t.__iand__(6), lambda t: t.__ior__(1),
                                   lambda t: t.__ixor__(2)),
    "@=": lambda m: _matmul_assign(m),
    "adam-ish": lambda m: _inplace(m, lambda m: m.tensor(A), lambda t: t.mul_(0.9).add_(m.tensor(A), alpha=0.1),
                                   lambda t: t.addcmul_(m.tensor(A), m.tensor(A), value=0.01),
                                   lambda t: t.addcdiv_(m.tensor(A), m.ones(2, 3) * 3, value=-0.5),
                                   lambda t: t.lerp_(m.zeros(2, 3), 0.25), lambda t: t.clamp_(-1.0, 2.0)),
    "unary": lambda m: _inplace(m, lambda m: m.tensor(A), lambda t: t.abs_(), lambda t: t.sqrt_(),
                                lambda t: t.exp_(), lambda t: t.neg_(), lambda t: t.sigmoid_(), lambda t: t.pow_(2)),
    "fills": lambda m: _inplace(m, lambda m: m.tensor(A), lambda t: t.masked_fill_(t > 1, 0.0),
                                lambda t: t.index_fill_(1, m.tensor([1]), 7.0), lambda t: t.div_(2,
                                                                                                 rounding_mode="floor")),
}


def _compare(mine, theirs, torch, name):
    if isinstance(theirs, torch.Tensor):
        assert isinstance(mine, tg.Tensor), name
        assert str(mine.dtype) == str(theirs.dtype).replace("torch.", ""), (name, mine.dtype, theirs.dtype)
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7, err_msg=name)
    elif isinstance(theirs, tuple):
        assert len(mine) == len(theirs), name
        for a, b in zip(mine, theirs):
            _compare(a, b, torch, name)
    else:
        if isinstance(theirs, torch.Size):
            assert isinstance(mine, tg.Size) and tuple(mine) == tuple(theirs), name
        else:
            assert mine == theirs and type(mine) is type(theirs), (name, mine, theirs)


@pytest.mark.parametrize("name", [*EXPRESSIONS, *INPLACE])
def test_same_expression_as_pytorch(name):
    torch = pytest.importorskip("torch")
    expression = EXPRESSIONS.get(name) or INPLACE[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _compare(expression(tg), expression(torch), torch, name)


def test_recorded_inplace_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    grads = []
    for m in (tg, torch):
        x = m.tensor(np.array([0.5, 1.5, 2.5]), requires_grad=True)
        w = m.tensor(np.array([1.0, -2.0, 0.5]), requires_grad=True)
        y = x * 1
        y += w
        y.mul_(x).sub_(w, alpha=2)
        y /= w
        y.addcmul_(x, w, value=0.5).exp_()
        y.sum().backward()
        grads.append((x.grad.numpy(), w.grad.numpy(), y.detach().numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=1e-12)
