"""The engine: worked examples, graph shapes (fan-out, diamonds, deep chains), grad modes, hooks, second order,
and the errors a user meets first."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.testing import GradcheckError, gradcheck, gradgradcheck


def leaf(value) -> tg.Tensor:
    return tg.Tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def test_chain_rule_example():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.item() == -12.0
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_fan_out_accumulates():
    x = leaf(3.0)
    (x * x + x * 2 + x).backward()  # d/dx (x^2 + 3x) = 2x + 3
    assert x.grad.item() == 9.0


def test_diamond_graph():
    x = leaf([1.0, 2.0])
    a, b = x.exp(), x * 3
    (a * b).sum().backward()  # d/dx 3 x e^x = 3 e^x (1 + x)
    assert np.allclose(x.grad.numpy(), 3 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_no_grad_records_nothing_and_nests():
    x = leaf([1.0, 2.0])
    with tg.no_grad():
        y = x * 2
        with tg.enable_grad():
            z = x * 3
    assert y.grad_fn is None and not y.requires_grad
    assert z.grad_fn is not None

    @tg.no_grad()
    def double(t):
        return t * 2

    assert double(x).grad_fn is None
    assert tg.is_grad_enabled()


def test_grad_accumulates_until_cleared():
    x = leaf(2.0)
    (x * x).backward()
    (x * x).backward()
    assert x.grad.item() == 8.0
    x.grad = None
    (x * 3).backward()
    assert x.grad.item() == 3.0


def test_hooks_observe_and_replace():
    x = leaf([1.0, -1.0])
    seen = []
    remove = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    y = x * 2
    y.register_hook(lambda g: g * 10)
    y.sum().backward()
    assert np.allclose(seen[0], [20.0, 20.0]) and np.allclose(x.grad.numpy(), [20.0, 20.0])
    remove()
    x.grad = None
    (x * 1).sum().backward()
    assert len(seen) == 1


def test_retain_grad_on_intermediate():
    x = leaf([1.0, 2.0])
    y = x * x
    y.retain_grad()
    (y * 3).sum().backward()
    assert np.allclose(y.grad.numpy(), [3.0, 3.0])


def test_second_backward_needs_retain_graph():
    x = leaf(2.0)
    y = x.exp() * x
    y.backward(retain_graph=True)
    y.backward()
    assert np.isclose(x.grad.item(), 2 * 3 * np.exp(2.0))
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_grad_function_allow_unused_and_create_graph():
    x, unused = leaf(3.0), leaf(1.0)
    with pytest.raises(RuntimeError, match="allow_unused"):
        tg.grad(x * x, [x, unused])
    gx, gu = tg.grad(x ** 3, [x, unused], allow_unused=True, create_graph=True)
    assert gu is None and gx.item() == 27.0
    (ggx,) = tg.grad(gx, x)
    assert ggx.item() == 18.0
    assert x.grad is None


def test_hessian_vector_product_of_mlp_matches_finite_differences():
    rng = np.random.default_rng(0)
    w1, w2, x = rng.standard_normal((3, 4)), rng.standard_normal((4, 1)), rng.standard_normal((5, 3))
    v = rng.standard_normal((3, 4))

    def loss_grad(w1_value, create_graph=False):
        w = tg.Tensor(w1_value, requires_grad=True)
        loss = ((tg.Tensor(x) @ w).tanh() @ tg.Tensor(w2)).sum()
        (g,) = tg.grad(loss, w, create_graph=create_graph)
        return w, g

    w, g = loss_grad(w1, create_graph=True)
    (hv,) = tg.grad((g * tg.Tensor(v)).sum(), w)
    eps = 1e-6
    numeric = (loss_grad(w1 + eps * v)[1].numpy() - loss_grad(w1 - eps * v)[1].numpy()) / (2 * eps)
    assert np.allclose(hv.numpy(), numeric, atol=1e-6)


def test_gradcheck_catches_a_wrong_vjp_and_names_the_element():
    class Twice(tg.Function):
        def forward(ctx, a):
            return 2 * a

        def vjp(ctx, g):
            return g * 2.1  # wrong

    with pytest.raises(GradcheckError, match=r"input 0 \(shape \(3,\)\), element \(\d,\): analytic .* numeric"):
        gradcheck(Twice.apply, leaf([1.0, 2.0, 3.0]))


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable():
    class Square(tg.Function):
        def forward(ctx, a):
            return a * a

        def vjp(ctx, g):
            return g * 2 * ctx.inputs[0].detach()  # right value, but cut from the graph

    x = leaf([0.5, -1.0])
    assert gradcheck(Square.apply, x)
    with pytest.raises(GradcheckError):
        gradgradcheck(Square.apply, x)


def test_gradcheck_catches_mutation_and_aliasing():
    class MutatesUpstream(tg.Function):
        def forward(ctx, a):
            return a * 1.0

        def vjp(ctx, g):
            g.data += 1.0
            return g

    class MutatesInput(tg.Function):
        def forward(ctx, a):
            a += 0.0
            a[0] = 7.0
            return a.copy()

        def vjp(ctx, g):
            return g

    with pytest.raises(GradcheckError, match="modified in place"):
        gradcheck(MutatesInput.apply, leaf([1.0, 2.0]))
    with pytest.raises(GradcheckError, match="upstream gradient was modified"):
        gradcheck(MutatesUpstream.apply, leaf([1.0, 2.0]))
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    assert gradcheck(lambda p, q: p + q, a, b)  # add returns g for both inputs: the engine must not alias them


def test_errors_at_the_call():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        tg.ones(2, 3) + tg.ones(4)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(TypeError, match="not numeric"):
        tg.Tensor(["a", "b"])
    with pytest.raises(RuntimeError, match="gradient="):
        (leaf([1.0, 2.0]) * 2).backward()
    with pytest.raises(TypeError, match=r"float32 and float64"):
        tg.ones(2) + tg.ones(2, dtype=np.float64)
    with pytest.raises(TypeError, match="only floating-point"):
        tg.Tensor([1, 2], requires_grad=True)


def test_dtype_rules():
    assert tg.Tensor([1.0, 2.0]).dtype == np.float32
    assert tg.Tensor(np.zeros(2)).dtype == np.float64
    assert tg.Tensor([1, 2]).dtype == np.int64
    assert (tg.ones(2) * 2.5).dtype == np.float32
    assert (tg.Tensor([1, 2]) * 0.5).dtype == np.float32
    assert (tg.ones(2) > 0).dtype == np.bool_ and not (tg.ones(2) > 0).requires_grad


def test_factories_and_seed():
    tg.manual_seed(3)
    a = tg.randn(2, 3)
    tg.manual_seed(3)
    assert np.array_equal(a.numpy(), tg.randn(2, 3).numpy())
    assert tg.zeros(2, 2).numpy().sum() == 0 and tg.ones_like(a).shape == (2, 3)
    assert tg.full((2,), 7.0).numpy().tolist() == [7.0, 7.0]
    assert tg.arange(4).numpy().tolist() == [0, 1, 2, 3] and tg.eye(2).numpy().trace() == 2
    assert tg.rand(100).numpy().min() >= 0 and tg.rand(100).numpy().max() < 1
    r = repr(leaf([1.0]) * 2)
    assert "shape=(1,)" in r and "float64" in r and "MulBackward" in r


def test_small_api_contracts():
    assert tg.arange(0.0, 1.0, 0.25).dtype == np.float32
    assert tg.arange(7, step=3).numpy().tolist() == [0, 3, 6]
    x = leaf([1.0, 2.0])
    (g,) = tg.grad(x * 3, x, np.array([1.0, -1.0]))  # a NumPy array is one upstream gradient
    assert g.numpy().tolist() == [3.0, -3.0]
    with pytest.raises(ValueError, match=r"transpose: axes .* shape \(2,\)"):
        x.transpose()
