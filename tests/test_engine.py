"""The engine (tinygrad_cnn/autograd.py): topological order on the graph shapes that break naive walks (worked
example, diamonds, a 100 000-op chain), gradient accumulation, retain_graph and freed buffers, hooks and
retain_grad, grad(), create_graph and second order (a Hessian-vector product), grad modes, anomaly mode, the
errors a user meets first, gradcheck on engine-built graphs, a few Tensor contracts, and the custom-op example."""

from __future__ import annotations

import gc
import runpy
import sys
import weakref
from pathlib import Path

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn.autograd import Function
from tinygrad_cnn.testing import GradcheckError, gradcheck, gradgradcheck

ROOT = Path(__file__).resolve().parents[1]


# ---- topological order ----------------------------------------------------------------------------------------
def test_chain_rule_example():
    x, y, z = leaf(-2.0), leaf(5.0), leaf(-4.0)
    q = x + y
    q.retain_grad()
    f = q * z
    f.backward()
    assert f.item() == -12.0
    assert q.grad.item() == -4.0  # df/dq = z
    assert (x.grad.item(), y.grad.item(), z.grad.item()) == (-4.0, -4.0, 3.0)


def test_diamond_graph():
    x = leaf(0.5)
    a = x.exp()  # the top of the diamond
    b, c = a * 2, a * a  # two paths from a meet again in the sum
    (b + c).backward()  # d/dx (2 e^x + e^{2x}) = 2 e^x + 2 e^{2x}
    assert x.grad.item() == pytest.approx(2 * np.exp(0.5) + 2 * np.exp(1.0))
    w = leaf([1.0, 2.0])
    p, r = w.exp(), w * 3  # a diamond whose top is the leaf itself
    (p * r).sum().backward()  # d/dw 3 w e^w = 3 e^w (1 + w)
    np.testing.assert_allclose(w.grad.numpy(), 3 * np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))


def test_diamond_node_runs_its_vjp_once():
    calls = []

    class Counted(Function):
        def forward(ctx, a):
            return a * 1.0

        def vjp(ctx, g):
            calls.append(1)
            return g

    x = leaf([1.0, 2.0])
    top = Counted.apply(x)
    (top * 2 + top * 3).sum().backward()
    assert len(calls) == 1  # gradients of both branches summed first
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 5.0])


def test_chain_of_100000_ops_has_no_recursion_error():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0
    assert sys.getrecursionlimit() < 100_000  # the walk is iterative, not a deep recursion


# ---- accumulation ---------------------------------------------------------------------------------------------
def test_fan_out_accumulates_over_every_use():
    x = leaf(2.0)
    y = x * x * x  # x used three times: d/dx x^3 = 3 x^2 = 12
    y.backward()
    assert x.grad.item() == 12.0
    w = leaf([1.0, -1.0])
    (w + w + w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [3.0, 3.0])
    u = leaf(3.0)
    (u * u + u * 2 + u).backward()  # uses in three different ops: d/du (u^2 + 3u) = 2u + 3
    assert u.grad.item() == 9.0


def test_grad_accumulates_across_backward_calls_until_cleared():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [5.0, 7.0])
    x.grad = None
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])  # a fresh gradient, nothing left of the old one


# ---- retain_graph and freeing ---------------------------------------------------------------------------------
def test_second_backward_through_freed_buffers_raises():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward():
    x = leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    np.testing.assert_allclose(first, np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0])))  # d/dx x e^x
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    with pytest.raises(RuntimeError, match="retain_graph"):  # the second backward did not retain it
        y.backward()


def test_backward_frees_saved_buffers():
    x = leaf([1.0, 2.0])
    y = x * x
    node = y.grad_fn
    y.sum().backward()
    assert node.freed
    with pytest.raises(RuntimeError, match="retain_graph"):
        node.saved


# ---- hooks and retain_grad ------------------------------------------------------------------------------------
def test_hooks_on_a_leaf_observe_replace_and_remove():
    x = leaf([1.0, 2.0])
    seen = []
    remove_observer = x.register_hook(lambda g: seen.append(g.numpy().copy()))
    x.register_hook(lambda g: g * 10)
    (x * 3).sum().backward()
    np.testing.assert_array_equal(seen[0], [3.0, 3.0])
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])
    remove_observer()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1
    np.testing.assert_array_equal(x.grad.numpy(), [30.0, 30.0])


def test_hooks_on_an_intermediate_change_what_flows_upstream():
    x = leaf([1.0, 2.0])
    reached_x = []
    x.register_hook(lambda g: reached_x.append(g.numpy().copy()))
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()))
    remove = y.register_hook(lambda g: g * 0.5)
    (y * y).sum().backward()  # dL/dy = 2y = [4, 8], halved by the hook, then times 2
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])
    np.testing.assert_array_equal(reached_x[0], [4.0, 8.0])  # the leaf's hook sees the replaced gradient
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
    assert y.grad is None  # hooks do not retain the gradient
    remove()
    x.grad = None
    y2 = x * 2
    (y2 * y2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 16.0])


def test_register_hook_needs_requires_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        tg.Tensor([1.0]).register_hook(lambda g: g)


def test_retain_grad_on_intermediates():
    x = leaf([1.0, 2.0])
    y = x * 3
    z = y.exp()
    y.retain_grad()
    z.sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), np.exp([3.0, 6.0]))
    assert z.grad is None
    assert y.grad.grad_fn is None


# ---- grad() ---------------------------------------------------------------------------------------------------
def test_grad_function_returns_without_touching_dot_grad():
    x, y = leaf(3.0), leaf(4.0)
    f = x * x * y
    gx, gy = tg.grad(f, [x, y])
    assert (gx.item(), gy.item()) == (24.0, 9.0)
    assert x.grad is None and y.grad is None
    assert gx.grad_fn is None


def test_grad_allow_unused():
    x, unused = leaf(1.0), leaf(2.0)
    f = x * 2
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        tg.grad(f, [x, unused], retain_graph=True)
    gx, gu = tg.grad(f, [x, unused], allow_unused=True)
    assert gx.item() == 2.0 and gu is None
    # with create_graph=True as well: the used input's gradient is differentiable, the unused one still None
    v = leaf(3.0)
    gv, gu = tg.grad(v ** 3, [v, unused], allow_unused=True, create_graph=True)
    assert gu is None and gv.item() == 27.0
    (ggv,) = tg.grad(gv, v)
    assert ggv.item() == 18.0
    assert v.grad is None and unused.grad is None


def test_grad_with_grad_outputs_weights_the_outputs():
    x = leaf([1.0, 2.0])
    (g,) = tg.grad(x * x, x, grad_outputs=tg.Tensor(np.array([1.0, -1.0])))
    np.testing.assert_array_equal(g.numpy(), [2.0, -4.0])
    (g,) = tg.grad(x * 3, x, np.array([1.0, -1.0]))  # a NumPy array is one upstream gradient
    assert g.numpy().tolist() == [3.0, -3.0]


# ---- create_graph and higher order ----------------------------------------------------------------------------
def test_grad_create_graph_gives_higher_derivatives():
    x = leaf(2.0)
    y = x ** 4
    (d1,) = tg.grad(y, x, create_graph=True)
    assert d1.item() == 32.0 and d1.requires_grad  # 4 x^3
    (d2,) = tg.grad(d1, x, create_graph=True)
    assert d2.item() == 48.0  # 12 x^2
    (d3,) = tg.grad(d2, x)
    assert d3.item() == 48.0  # 24 x
    assert not d3.requires_grad


def mlp_loss(w1: tg.Tensor, w2: tg.Tensor, x: tg.Tensor) -> tg.Tensor:
    return ((x @ w1).tanh() @ w2).tanh().sum() ** 2


def test_hessian_vector_product_of_an_mlp_matches_finite_differences():
    rng = np.random.default_rng(0)
    x = tg.Tensor(rng.standard_normal((5, 3)))
    w1, w2 = leaf(rng.standard_normal((3, 4)) * 0.5), leaf(rng.standard_normal((4, 2)) * 0.5)
    v1, v2 = rng.standard_normal(w1.shape), rng.standard_normal(w2.shape)

    g1, g2 = tg.grad(mlp_loss(w1, w2, x), [w1, w2], create_graph=True)
    dot = (g1 * tg.Tensor(v1)).sum() + (g2 * tg.Tensor(v2)).sum()
    h1, h2 = tg.grad(dot, [w1, w2])

    eps = 1e-6
    plus = _gradient(w1.numpy() + eps * v1, w2.numpy() + eps * v2, x)
    minus = _gradient(w1.numpy() - eps * v1, w2.numpy() - eps * v2, x)
    np.testing.assert_allclose(h1.numpy(), (plus[0] - minus[0]) / (2 * eps), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h2.numpy(), (plus[1] - minus[1]) / (2 * eps), rtol=1e-5, atol=1e-7)


def _gradient(a1: np.ndarray, a2: np.ndarray, x: tg.Tensor) -> list[np.ndarray]:
    p1, p2 = leaf(a1), leaf(a2)
    return [g.numpy() for g in tg.grad(mlp_loss(p1, p2, x), [p1, p2])]


# ---- grad modes -----------------------------------------------------------------------------------------------
def test_no_grad_records_nothing_and_saves_nothing():
    alive = []

    class Saving(Function):
        def forward(ctx, a):
            ctx.save_for_backward(a.copy())
            alive.append(weakref.ref(ctx))
            return a * 2

        def vjp(ctx, g):
            return g * 2

    x = leaf([1.0, 2.0])
    with tg.no_grad():
        assert not tg.is_grad_enabled()
        y = Saving.apply(x)
        z = x * 3
    assert tg.is_grad_enabled()
    assert y.grad_fn is None and not y.requires_grad and z.grad_fn is None and not z.requires_grad
    gc.collect()
    assert alive[0]() is None  # the node and what it saved are gone: nothing keeps them
    recorded = Saving.apply(x)
    assert recorded.grad_fn is alive[1]() and recorded.grad_fn.saved[0].shape == (2,)


def test_no_grad_as_decorator_and_nested_with_enable_grad():
    x = leaf([1.0])

    @tg.no_grad()
    def doubled(t):
        return t * 2

    assert doubled(x).grad_fn is None
    assert tg.is_grad_enabled()
    with tg.no_grad():
        with tg.enable_grad():
            inner = x * 2
            with tg.no_grad():
                innermost = x * 2
        after = x * 2
    assert inner.grad_fn is not None and innermost.grad_fn is None and after.grad_fn is None

    @tg.enable_grad()
    def recorded(t):
        return t * 2

    with tg.no_grad():
        assert recorded(x).grad_fn is not None


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(ZeroDivisionError), tg.no_grad():
        raise ZeroDivisionError
    assert tg.is_grad_enabled()


# ---- anomaly --------------------------------------------------------------------------------------------------
def test_detect_anomaly_names_the_primitive():
    x = leaf([-1.0, 1.0])
    with tg.detect_anomaly(), pytest.raises(FloatingPointError, match="Log"), np.errstate(invalid="ignore"):
        x.log()


# ---- errors ---------------------------------------------------------------------------------------------------
def test_backward_on_a_non_scalar_needs_a_gradient():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match="pass gradient="):
        y.backward()
    with pytest.raises(ValueError, match="shape"):
        y.backward(tg.Tensor(np.ones(3)))


def test_backward_on_a_tensor_without_grad_raises():
    with pytest.raises(RuntimeError, match="requires_grad=True"):
        tg.Tensor([1.0]).sum().backward()


def test_vjp_returning_the_wrong_number_of_gradients_is_reported():
    class Broken(Function):
        def forward(ctx, a, b):
            return a + b

        def vjp(ctx, g):
            return g

    with pytest.raises(RuntimeError, match=r"Broken\.vjp returned 1 gradients for 2 inputs"):
        Broken.apply(leaf(1.0), leaf(2.0)).backward()


def test_vjp_returning_the_wrong_shape_is_reported():
    class Broken(Function):
        def forward(ctx, a):
            return a * 2

        def vjp(ctx, g):
            return g.sum()

    with pytest.raises(RuntimeError, match=r"shape \(\) for an input of shape \(2,\)"):
        Broken.apply(leaf([1.0, 2.0])).sum().backward()


def test_save_output_is_required_to_read_ctx_output():
    class NoOutput(Function):
        def forward(ctx, a):
            return a * 2

        def vjp(ctx, g):
            return g * ctx.output

    with pytest.raises(RuntimeError, match="save_output = True"):
        NoOutput.apply(leaf(1.0)).backward()


def test_errors_at_the_call():
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4,\) do not broadcast"):
        tg.ones(2, 3) + tg.ones(4)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\)"):
        tg.ones(2, 3) @ tg.ones(4, 5)
    with pytest.raises(TypeError, match="not numeric"):
        tg.Tensor(["a", "b"])
    assert (tg.ones(2) + tg.ones(2, dtype=np.float64)).dtype == np.float64  # PyTorch promotes
    with pytest.raises(TypeError, match="only floating-point"):
        tg.Tensor([1, 2], requires_grad=True)
    # backward on a non-scalar without gradient=: test_backward_on_a_non_scalar_needs_a_gradient


# ---- gradcheck on engine-built graphs (the testing module's own tests: test_core_testing_module.py) -----------
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


# ---- Tensor contracts met on the way (the Tensor's own tests: test_core_tensor.py) ----------------------------
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
    with pytest.raises(ValueError, match=r"transpose: axes .* shape \(2,\)"):
        leaf([1.0, 2.0]).transpose()
    # tg.grad with a NumPy array as the upstream gradient: test_grad_with_grad_outputs_weights_the_outputs


# ---- the runnable custom-op example ---------------------------------------------------------------------------
def test_custom_op_example_runs():
    namespace = runpy.run_path(str(ROOT / "examples" / "custom_op.py"), run_name="__main__")
    assert "Softplus" in namespace
