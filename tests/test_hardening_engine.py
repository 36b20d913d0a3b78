"""Hardening of the engine (issue 16): grad modes that stay per thread, per call and per generator resume;
detect_anomaly nested and recursive; the one check of what VJPs and hooks hand back (shape, dtype, arrays,
numbers, lists, counts); and the contract of ``grad()`` (retain_grad, hooks on leaves, intermediate inputs,
freeing, allow_unused, a second backward), each against PyTorch's behaviour where PyTorch defines it."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.autograd import Function, is_anomaly_enabled


@pytest.fixture
def switch_often():
    """Make the interpreter switch threads as often as it can, so races show up in a few hundred calls."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def _run_threads(targets: list) -> list[BaseException]:
    errors: list[BaseException] = []

    def guarded(target):
        def run():
            try:
                target()
            except BaseException as err:  # reported to the main thread
                errors.append(err)
        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


# ---- grad modes: threads ----------------------------------------------------------------------------------------
@tg.no_grad()
def _evaluate(x: tg.Tensor) -> tuple[bool, bool]:
    inside = tg.is_grad_enabled()
    y = x * 2
    for _ in range(3):  # give other threads a chance to run while this call is inside the mode
        y = y + 1
    return inside, y.requires_grad


@tg.enable_grad()
def _train_step(x: tg.Tensor) -> tuple[bool, bool]:
    inside = tg.is_grad_enabled()
    y = (x * 2) + 1
    return inside, y.requires_grad


def test_a_decorated_function_keeps_each_thread_in_its_own_mode(switch_often):
    x = leaf([1.0, 2.0])
    shared = tg.no_grad()  # one instance entered by every thread with `with`

    def caller(own_mode: bool):
        def run():
            tg.set_grad_enabled(own_mode)
            for _ in range(200):
                assert _evaluate(x) == (False, False)
                assert tg.is_grad_enabled() is own_mode
                assert _train_step(x) == (True, True)
                assert tg.is_grad_enabled() is own_mode
                with shared:
                    assert not tg.is_grad_enabled()
                assert tg.is_grad_enabled() is own_mode
        return run

    def toggler():
        for i in range(200):
            with tg.set_grad_enabled(i % 2 == 0):
                assert tg.is_grad_enabled() is (i % 2 == 0)
                with tg.inference_mode():
                    assert tg.is_inference_mode_enabled() and not tg.is_grad_enabled()
            assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()

    errors = _run_threads([caller(True), caller(False), caller(True), caller(False), caller(True), caller(False),
                           toggler, toggler])
    assert errors == []
    assert tg.is_grad_enabled()  # the main thread's mode was never touched


def test_a_mode_set_in_one_thread_is_not_seen_by_another():
    seen = []
    with tg.no_grad():
        assert _run_threads([lambda: seen.append(tg.is_grad_enabled())]) == []
    assert seen == [True]


def test_decorators_run_each_call_in_a_fresh_context_even_recursively():
    @tg.no_grad()
    def depth(n: int) -> list[bool]:
        modes = [tg.is_grad_enabled()]
        if n:
            with tg.enable_grad():
                modes += depth(n - 1)
                modes.append(tg.is_grad_enabled())
        return modes

    assert depth(3) == [False, False, False, False, True, True, True]
    assert tg.is_grad_enabled()
    shared = tg.enable_grad()
    with tg.no_grad():
        with shared:
            with tg.no_grad(), shared:  # the same instance nested: each exit restores what its own enter replaced
                assert tg.is_grad_enabled()
            assert tg.is_grad_enabled()
        assert not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_set_grad_enabled_restores_what_it_replaced_when_shared_or_nested():
    mode = tg.set_grad_enabled(False)  # a call sets the mode at once
    try:
        assert not tg.is_grad_enabled()
        with mode:  # the first `with` restores the mode the call replaced
            with mode:
                assert not tg.is_grad_enabled()
            assert not tg.is_grad_enabled()
        assert tg.is_grad_enabled()
        with mode:  # later uses restore the mode at their own entry
            assert not tg.is_grad_enabled()
        assert tg.is_grad_enabled()
    finally:
        tg.set_grad_enabled(True)

    decorate = tg.set_grad_enabled(False)
    assert not tg.is_grad_enabled()

    @decorate
    def f() -> bool:
        return tg.is_grad_enabled()

    assert tg.is_grad_enabled()  # decorating undid the call's change: only the calls run in the mode
    assert f() is False and tg.is_grad_enabled()


def test_inference_mode_nested_and_reused_restores_the_count():
    shared = tg.inference_mode()
    with shared:
        with shared:
            assert tg.is_inference_mode_enabled()
        assert tg.is_inference_mode_enabled() and not tg.is_grad_enabled()
    assert not tg.is_inference_mode_enabled() and tg.is_grad_enabled()


def test_a_grad_mode_decorator_needs_a_function():
    with pytest.raises(TypeError, match="needs a function"):
        tg.enable_grad()(3)


# ---- grad modes: generators -------------------------------------------------------------------------------------
def test_no_grad_on_a_generator_runs_each_resume_in_the_mode_and_only_then():
    x = leaf([1.0, 2.0])
    modes_inside = []

    @tg.no_grad()
    def doubled(n: int):
        for _ in range(n):
            modes_inside.append(tg.is_grad_enabled())
            yield x * 2
        return "done"

    outside = []
    gen = doubled(3)
    assert tg.is_grad_enabled()  # creating the generator runs nothing
    for y in gen:
        assert not y.requires_grad and y.grad_fn is None
        outside.append(((x * 2).requires_grad, tg.is_grad_enabled()))  # the caller's code between two yields
    assert modes_inside == [False, False, False] and outside == [(True, True)] * 3
    assert tg.is_grad_enabled()

    def collect():
        return (yield from doubled(1))

    runner = collect()
    next(runner)
    with pytest.raises(StopIteration) as stop:
        next(runner)
    assert stop.value.value == "done"  # the return value comes through


def test_a_decorated_generator_gets_sends_throws_and_close_in_the_mode():
    log = []

    @tg.enable_grad()
    def echo():
        received = None
        try:
            while True:
                try:
                    received = yield (received, tg.is_grad_enabled())
                except KeyError as err:
                    received = f"caught {err.args[0]}"
        finally:
            log.append(("closed", tg.is_grad_enabled()))

    with tg.no_grad():
        gen = echo()
        assert next(gen) == (None, True)
        assert not tg.is_grad_enabled()
        assert gen.send("a") == ("a", True)
        assert gen.throw(KeyError("k")) == ("caught k", True)
        assert not tg.is_grad_enabled()
        gen.close()
        assert log == [("closed", True)] and not tg.is_grad_enabled()
    assert tg.is_grad_enabled()


def test_an_exception_leaving_a_decorated_generator_restores_the_mode():
    @tg.no_grad()
    def failing():
        yield 1
        raise ValueError("inside")

    gen = failing()
    assert next(gen) == 1
    with pytest.raises(ValueError, match="inside"):
        next(gen)
    assert tg.is_grad_enabled()

    @tg.no_grad()
    def not_catching():
        yield 1

    gen = not_catching()
    next(gen)
    with pytest.raises(KeyError):
        gen.throw(KeyError("passed on"))
    assert tg.is_grad_enabled()


# ---- detect_anomaly ---------------------------------------------------------------------------------------------
def test_detect_anomaly_nested_reused_or_recursive_exits_cleanly():
    shared = tg.detect_anomaly()
    with shared:
        with shared:
            assert is_anomaly_enabled()
        assert is_anomaly_enabled()
    assert not is_anomaly_enabled()

    @tg.detect_anomaly()
    def countdown(n: int) -> list[bool]:
        return [is_anomaly_enabled()] + (countdown(n - 1) if n else [])

    assert countdown(4) == [True] * 5
    assert not is_anomaly_enabled()
    with np.errstate(invalid="ignore"):
        assert np.isnan(leaf([-1.0]).log().item())  # checks are off again: no FloatingPointError

    with pytest.raises(FloatingPointError, match="Log"), np.errstate(invalid="ignore"):
        countdown_then_nan(3)
    assert not is_anomaly_enabled()


@tg.detect_anomaly()
def countdown_then_nan(n: int) -> tg.Tensor:
    return countdown_then_nan(n - 1) if n else leaf([-1.0]).log()


def test_detect_anomaly_is_per_thread():
    seen = []
    with tg.detect_anomaly():
        assert _run_threads([lambda: seen.append(is_anomaly_enabled())]) == []
        assert is_anomaly_enabled()
    assert seen == [False]


# ---- what a VJP may return --------------------------------------------------------------------------------------
def _op(vjp, forward=lambda ctx, a: a * 2):
    return type("Custom", (Function,), {"forward": forward, "vjp": vjp})


def _f32(values) -> tg.Tensor:
    return tg.Tensor(np.asarray(values, dtype=np.float32), requires_grad=True)


def test_a_vjp_of_another_dtype_is_cast_to_the_input_dtype():
    x = _f32([1.0, 2.0, 3.0])
    _op(lambda ctx, g: g.double() * 2).apply(x).sum().backward()  # PyTorch casts too
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [2.0, 2.0, 2.0]
    x.grad = None
    _op(lambda ctx, g: g.long()).apply(x).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0, 1.0]


def test_a_cast_vjp_stays_differentiable_under_create_graph():
    # d/dx x^3 = 3x^2, computed in float64 by the VJP; the cast back to float32 is part of the graph
    cube = _op(lambda ctx, g: (g * 3 * ctx.inputs[0] ** 2).double(), forward=lambda ctx, a: a ** 3)
    x = _f32([2.0])
    (d1,) = tg.grad(cube.apply(x).sum(), x, create_graph=True)
    assert d1.dtype == np.float32 and d1.item() == 12.0
    (d2,) = tg.grad(d1.sum(), x)
    assert d2.dtype == np.float32 and d2.item() == 12.0  # 6x


@given(st.lists(st.integers(1, 3), min_size=0, max_size=3), st.lists(st.integers(1, 3), min_size=0, max_size=2),
       st.integers(0, 2 ** 32 - 1))
def test_a_vjp_of_a_shape_the_input_broadcasts_to_is_summed_back(shape, lead, seed):
    shape = tuple(shape)
    stretched = tuple(lead) + tuple(n if n != 1 else 3 for n in shape)  # leading axes added, ones stretched
    upstream = np.random.default_rng(seed).standard_normal(stretched)

    op = _op(lambda ctx, g: ctx.constant(upstream) * g.sum())
    x = leaf(np.ones(shape))
    op.apply(x).sum().backward()
    expected = upstream.sum(axis=tuple(range(len(lead)))) if lead else upstream
    expected = expected.sum(axis=tuple(i for i, n in enumerate(shape) if n == 1), keepdims=True)
    assert x.grad.shape == shape
    np.testing.assert_allclose(x.grad.numpy(), expected.reshape(shape) * x.size, rtol=1e-12)


def test_a_summed_back_vjp_stays_differentiable_under_create_graph():
    # f(x) = x^2 for a (1, 2) input whose VJP returns a (3, 2) gradient: each row a third of 2 x g
    op = _op(lambda ctx, g: (ctx.inputs[0] * g * (2 / 3)).expand(3, 2), forward=lambda ctx, a: a ** 2)
    x = leaf([[1.0, 2.0]])
    (d1,) = tg.grad(op.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(d1.numpy(), [[2.0, 4.0]])
    (d2,) = tg.grad(d1.sum(), x)
    np.testing.assert_allclose(d2.numpy(), [[2.0, 2.0]])


@pytest.mark.parametrize("wrong", [lambda g: g.sum(), lambda g: g[:1], lambda g: g.reshape(3, 1)])
def test_a_vjp_of_a_wrong_shape_names_the_op_input_shapes_and_dtype(wrong):
    x = _f32([1.0, 2.0, 3.0])
    with pytest.raises(RuntimeError, match=r"Custom\.vjp returned a gradient of shape \((|1,|3, 1)\) for an input "
                                           r"of shape \(3,\) \(input 0, dtype float32\).*broadcasts to"):
        _op(lambda ctx, g: wrong(g)).apply(x).sum().backward()


def test_a_vjp_may_return_numpy_arrays_and_numbers_as_constants():
    x, w = _f32([1.0, 2.0]), _f32(3.0)
    op = _op(lambda ctx, g: (np.full(2, 5.0), 7), forward=lambda ctx, a, b: a * b)
    op.apply(x, w).sum().backward()
    assert x.grad.tolist() == [5.0, 5.0] and x.grad.dtype == np.float32
    assert w.grad.item() == 7.0 and w.grad.dtype == np.float32 and w.grad.shape == ()
    held = np.ones(2, dtype=np.float32)
    x.grad = None
    _op(lambda ctx, g: held).apply(x).sum().backward()
    held[:] = -1.0  # the engine copied the array: .grad does not alias the caller's
    assert x.grad.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(("returned", "error", "message"), [
    (lambda g: [g.numpy()], TypeError, r"Custom\.vjp returned a list; return one gradient per input of apply, "
                                       r"several as a tuple"),
    (lambda g: "grad", TypeError, r"Custom\.vjp returned a str for input 0: return a Tensor .* of shape \(2,\) and "
                                  r"dtype float32"),
    (lambda g: np.array(["a", "b"]), TypeError, r"numpy\.ndarray of dtype <U1 for input 0, which is no gradient"),
    (lambda g: (g, g), RuntimeError, r"Custom\.vjp returned 2 gradients for 1 inputs; return exactly one per "
                                     r"positional input"),
    (lambda g: np.ones(2, np.complex64), TypeError, r"numpy\.ndarray of dtype complex64 for input 0.*return a "
                                                    r"real-valued Tensor or array"),
])
def test_what_a_vjp_cannot_return_is_a_clear_error(returned, error, message):
    x = _f32([1.0, 2.0])
    with pytest.raises(error, match=message):
        _op(lambda ctx, g: returned(g)).apply(x).sum().backward()


def test_none_is_the_gradient_of_an_input_that_needs_none():
    x, y = _f32([1.0]), tg.Tensor(np.ones(1, np.float32))
    op = _op(lambda ctx, g: (g * 4 if ctx.needs_input_grad[0] else None, None), forward=lambda ctx, a, b: a * b)
    op.apply(x, y).sum().backward()
    assert x.grad.tolist() == [4.0] and y.grad is None


# ---- what a hook may return -------------------------------------------------------------------------------------
@pytest.mark.parametrize("on_leaf", [True, False], ids=["leaf", "intermediate"])
@pytest.mark.parametrize(("hook", "error", "message"), [
    (lambda g: g.sum(), RuntimeError, r"changed the shape of the gradient it received from \(3,\) to \(\)"),
    (lambda g: g.reshape(1, 3), RuntimeError, r"changed the shape .* from \(3,\) to \(1, 3\)"),
    (lambda g: g.double(), RuntimeError, r"changed the dtype of the gradient it received from float32 to float64"),
    (lambda g: [1.0, 2.0, 3.0], TypeError, r"returned a list for the gradient it received"),
])
def test_a_hook_must_keep_shape_and_dtype(on_leaf, hook, error, message):
    x = _f32([1.0, 2.0, 3.0])
    y = x * 2
    (x if on_leaf else y).register_hook(hook)
    owner = "a leaf of shape" if on_leaf else "the output of Mul"
    with pytest.raises(error, match=rf"the gradient hook '.*<lambda>' of {owner}.*{message}"):
        (y * 1).sum().backward()
    assert x.grad is None  # nothing was stored


def test_a_hook_may_return_a_numpy_array_of_the_same_shape():
    x = _f32([1.0, 2.0])
    x.register_hook(lambda g: g.numpy() * 10)
    y = x * 3
    y.register_hook(lambda g: np.asarray(g) + 1)  # float32 stays float32
    y.sum().backward()
    assert x.grad.tolist() == [60.0, 60.0] and x.grad.dtype == np.float32


def test_register_hook_needs_a_callable():
    with pytest.raises(TypeError, match="register_hook: hook must be callable, got int"):
        _f32([1.0]).register_hook(3)


def test_a_hook_removing_itself_does_not_skip_the_next():
    x = _f32([1.0])
    calls = []

    def once(g):
        calls.append("once")
        remove()

    remove = x.register_hook(once)
    x.register_hook(lambda g: calls.append("second"))
    (x * 2).sum().backward()
    (x * 2).sum().backward()
    assert calls == ["once", "second", "second"]


# ---- grad(): the contract ---------------------------------------------------------------------------------------
def test_grad_fills_retain_grad_intermediates_but_no_leaf_grad():
    x = leaf([1.0, 2.0])
    h = x * 2
    h.retain_grad()
    y = (h * 3).sum()
    (gh,) = tg.grad(y, h, retain_graph=True)  # PyTorch 2: retain_grad tensors get .grad in grad() as well
    assert gh.tolist() == [3.0, 3.0] and h.grad.tolist() == [3.0, 3.0]
    (gx,) = tg.grad(y, x, retain_graph=True)
    assert gx.tolist() == [6.0, 6.0] and h.grad.tolist() == [6.0, 6.0]  # accumulated
    assert x.grad is None
    assert not np.shares_memory(gh.numpy(), h.grad.numpy())
    gh.numpy()[:] += 100  # the result and the retained .grad are separate arrays
    assert h.grad.tolist() == [6.0, 6.0]


def test_grad_runs_the_hooks_of_leaf_inputs_and_no_others():
    calls = []
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    a.register_hook(lambda g: calls.append("a") or g * 10)
    b.register_hook(lambda g: calls.append("b") or g * 10)
    scaled_b = b * 2
    scaled_b.register_hook(lambda g: calls.append("scaled_b"))
    y = (a * scaled_b).sum()
    (ga,) = tg.grad(y, a, retain_graph=True)
    assert ga.tolist() == [60.0, 80.0] and calls == ["a"]  # the input's hook changed what grad() returns
    calls.clear()
    ga, gb = tg.grad(y, [a, b])
    assert ga.tolist() == [60.0, 80.0] and gb.tolist() == [20.0, 40.0] and sorted(calls) == ["a", "b", "scaled_b"]
    assert a.grad is None and b.grad is None


def test_grad_with_an_intermediate_input_stops_there():
    x = leaf([1.0, 2.0])
    calls = []
    h = x.exp()
    h.register_hook(lambda g: calls.append("h") or g * 2)
    below = h.grad_fn
    x.register_hook(lambda g: calls.append("x"))
    y = (h * h).sum()
    (gh,) = tg.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), 2 * 2 * np.exp([1.0, 2.0]))  # 2h, doubled by h's hook
    assert calls == ["h"]  # the node below h and the leaf x were not reached
    assert not below.freed and y.grad_fn.freed  # what lies below the input keeps what it saved
    (gx,) = tg.grad(h.sum(), x)  # so it can still be differentiated
    np.testing.assert_allclose(gx.numpy(), 2 * np.exp([1.0, 2.0]))  # h's hook doubles it again
    with pytest.raises(RuntimeError, match=r"Sum: trying to backward through the graph a second time.*"
                                           r"retain_graph=True to the first backward\(\) or grad\(\)"):
        y.backward()


def test_grad_with_an_input_and_a_tensor_behind_it():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h ** 2).sum()
    gh, gx = tg.grad(y, [h, x])
    assert gh.tolist() == [6.0, 12.0] and gx.tolist() == [18.0, 36.0]


def test_a_vjp_returning_none_for_a_needed_input_still_frees_the_node_upstream():
    x = leaf([1.0, 2.0])
    upstream = x.exp()
    node = upstream.grad_fn
    blocked = _op(lambda ctx, g: None).apply(upstream)
    out = (blocked * x).sum()
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([1.0, 2.0]))  # only through the product
    assert node.freed and blocked.grad_fn.freed
    with pytest.raises(RuntimeError, match="retain_graph"):
        node.saved

    x2 = leaf([1.0])
    upstream2 = x2.exp()
    out2 = _op(lambda ctx, g: None).apply(upstream2).sum()
    with pytest.raises(RuntimeError, match=r"input 0 \(shape \(1,\)\) was not used.*allow_unused=True"):
        tg.grad(out2, x2, retain_graph=True)
    assert tg.grad(out2, x2, allow_unused=True) == (None,)
    assert upstream2.grad_fn.freed


def test_grad_allow_unused_gives_none_only_for_the_unused():
    x, unused = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match=r"grad: input 1 \(shape \(1,\)\) was not used"):
        tg.grad((x * 2).sum(), [x, unused])
    gx, gu = tg.grad((x * 2).sum(), [x, unused], allow_unused=True)
    assert gx.tolist() == [2.0] and gu is None and unused.grad is None


def test_a_second_backward_names_the_freed_op_and_the_fix():
    x = leaf([1.0, 2.0])
    y = x.exp().sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"Sum: trying to backward through the graph a second time.*"
                                           r"retain_graph=True"):
        y.backward()
    z = x.exp().sum()
    tg.grad(z, x)
    with pytest.raises(RuntimeError, match=r"second time.*grad\(\)"):
        tg.grad(z, x)


def test_grad_contract_matches_torch():
    torch = pytest.importorskip("torch")

    def run(lib, grad_fn):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        calls = []
        x.register_hook(lambda g: calls.append("x"))
        h = x * 2
        h.retain_grad()
        h.register_hook(lambda g: calls.append("h") or g * 10)
        k = h.exp()
        y = (k * 3).sum()
        (gx,) = grad_fn(y, [x], retain_graph=True)
        (gk,) = grad_fn(y, [k], retain_graph=True)
        return [np.asarray(gx.detach().numpy()), np.asarray(gk.detach().numpy()),
                np.asarray(h.grad.detach().numpy()), x.grad is None, calls]

    ours, theirs = run(tg, tg.grad), run(torch, torch.autograd.grad)
    for a, b in zip(ours[:3], theirs[:3]):
        np.testing.assert_allclose(a, b)
    assert ours[3:] == theirs[3:]
