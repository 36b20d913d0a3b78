"""Engine cases found missing by mutation testing (scripts/mutate.py on tinygrad_cnn/autograd.py): each test pins
a behaviour of Function.apply, the backward pass, grad() or the grad modes that a one-line change would break.
Gradients are hand-derived (float64)."""

import os
import re

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.autograd import Function


def exactly(message):
    return "^" + re.escape(message) + "$"


def leaf(values, requires_grad=True):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


def f64(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64))


class Scale(Function):
    """y = alpha x, with a default param, a transient one, and what forward saw recorded on the class."""

    transient_params = ("seen",)
    last_needs = None

    def forward(ctx, x, alpha=3.0, seen=None):
        type(ctx).last_needs = ctx.needs_input_grad
        if seen is not None:
            seen.append(ctx.saved)
        return alpha * x

    def vjp(ctx, g):
        return g * ctx.params["alpha"]


class Returns(Function):
    """y = x; the VJP returns whatever the class attribute ``grad`` says (called with g)."""

    grad = staticmethod(lambda g: g)

    def forward(ctx, x):
        return x.copy()

    def vjp(ctx, g):
        return type(ctx).grad(g)


# ---- Function.apply ----------------------------------------------------------------------------------------
def test_apply_binds_defaults_records_params_without_transients_and_starts_with_nothing_saved():
    seen = []
    x = leaf([1.0, 2.0])
    y = Scale.apply(x, seen=seen)
    assert Scale.param_defaults == {"alpha": 3.0} and Scale._binds_params is True
    assert y.grad_fn.params == {"alpha": 3.0}  # the default filled in, the transient left out
    assert seen == [()]  # nothing saved yet: an empty tuple
    np.testing.assert_array_equal(y.numpy(), [3.0, 6.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert Scale.apply(x, alpha=0.5).grad_fn.params == {"alpha": 0.5}


def test_a_subclass_without_params_binds_nothing():
    class Plain(Function):
        def forward(ctx, x):
            return x * 2

        def vjp(ctx, g):
            return g * 2

    assert Plain.param_defaults == {} and Plain._binds_params is False
    assert Plain.apply(leaf([1.0])).grad_fn.params == {}


def test_forward_sees_needs_input_grad_false_when_nothing_is_recorded():
    x, c = leaf([1.0]), leaf([2.0], requires_grad=False)
    Scale.apply(x)
    assert Scale.last_needs == (True,)
    with tg.no_grad():
        Scale.apply(x)
    assert Scale.last_needs == (False,)
    Scale.apply(c)
    assert Scale.last_needs == (False,)


def test_apply_converts_array_inputs_to_the_class_of_the_first_tensor():
    class Mul(Function):
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        def vjp(ctx, g):
            a, b = ctx.inputs
            return g * b, g * a

    x = leaf([1.0, 2.0])
    y = Mul.apply(np.array([3.0, 4.0]), x)
    assert type(y) is type(x)
    np.testing.assert_array_equal(y.numpy(), [3.0, 8.0])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    with pytest.raises(TypeError, match=r"^Mul\.apply: pass at least one Tensor input \(got only list, list\)"):
        Mul.apply([1.0], [2.0])


def test_a_forward_returning_a_number_gives_a_tensor():
    class Total(Function):
        def forward(ctx, x):
            return float(x.sum())

        def vjp(ctx, g):
            return g * f64(np.ones(ctx.input_shapes[0]))

    x = leaf([1.0, 2.0])
    y = Total.apply(x)
    assert isinstance(y.data, np.ndarray) and y.shape == () and y.item() == 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_a_constant_input_is_no_edge_of_the_graph():
    x, c = leaf([1.0, 2.0]), leaf([5.0, 7.0], requires_grad=False)
    (x * c).sum().backward()
    assert c.grad is None and c.grad_fn is None
    assert (x * c).grad_fn.next[1] is None


# ---- what a VJP may return ---------------------------------------------------------------------------------
@pytest.mark.parametrize("value, message", [
    (object(), "Returns.vjp returned an object for input 0: return a Tensor (or a NumPy array or a number, taken "
               "as a constant) of shape (2,) and dtype float64; several gradients go in a tuple, one per input"),
    (np.array(["a", "b"]), "Returns.vjp returned a numpy.ndarray of dtype <U1 for input 0, which is no gradient of "
                           "dtype float64; return a real-valued Tensor or array"),
])
def test_a_vjp_returning_no_gradient_is_refused_in_exact_words(value, message):
    Returns.grad = staticmethod(lambda g: value)
    try:
        with pytest.raises(TypeError, match=exactly(message)):
            Returns.apply(leaf([1.0, 2.0])).sum().backward()
    finally:
        Returns.grad = staticmethod(lambda g: g)


def test_a_hook_returning_a_list_gets_no_tuple_hint():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: [1.0, 1.0])
    with pytest.raises(TypeError, match=r"returned a list for the gradient it received: .* dtype float64$"):
        y.sum().backward()


def test_a_vjp_array_or_number_is_a_constant_of_the_inputs_dtype():
    for value in (np.array([1, 2]), np.array([0.5, 0.25])):
        Returns.grad = staticmethod(lambda g, v=value: v)
        try:
            x = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
            Returns.apply(x).sum().backward()
            assert x.grad.dtype == np.float32
            np.testing.assert_array_equal(x.grad.numpy(), np.broadcast_to(value, (2,)))
        finally:
            Returns.grad = staticmethod(lambda g: g)


def test_a_vjp_of_another_dtype_is_cast_also_under_create_graph():
    class Doubled(Function):
        def forward(ctx, x):
            return x * x

        def vjp(ctx, g):
            return (g * ctx.inputs[0] * 2).double()  # float64 for a float32 input, with a graph

    x = tg.Tensor(np.array([1.0, 3.0], np.float32), requires_grad=True)
    (g,) = tg.autograd.grad(Doubled.apply(x).sum(), x, create_graph=True)
    assert g.dtype == np.float32 and g.grad_fn is not None
    np.testing.assert_array_equal(g.numpy(), [2.0, 6.0])
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [2.0, 2.0])
    x2 = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    Doubled.apply(x2).sum().backward()
    assert x2.grad.dtype == np.float32 and x2.grad.grad_fn is None


@pytest.mark.parametrize("shape, stretched", [((3, 4), (1, 3, 4)), ((3, 1), (1, 3, 4)), ((1,), (2,)),
                                               ((2, 1), (2, 2))])
def test_a_vjp_gradient_of_a_broadcast_shape_is_summed_back(shape, stretched):
    Returns.grad = staticmethod(lambda g: f64(np.ones(stretched)))
    try:
        x = leaf(np.zeros(shape))
        Returns.apply(x).sum().backward()
        factor = int(np.prod(stretched)) // int(np.prod(shape))
        np.testing.assert_array_equal(x.grad.numpy(), np.full(shape, float(factor)))
        x2 = leaf(np.zeros(shape))
        Returns.grad = staticmethod(lambda g: g.sum() * f64(np.ones(stretched)))  # carries a graph
        (g,) = tg.autograd.grad(Returns.apply(x2).sum(), x2, create_graph=True)
        np.testing.assert_array_equal(g.numpy(), np.full(shape, float(factor * int(np.prod(shape)))))
    finally:
        Returns.grad = staticmethod(lambda g: g)


def test_a_vjp_gradient_of_an_unrelated_shape_names_both_and_the_dtype():
    Returns.grad = staticmethod(lambda g: tg.Tensor(np.ones(3, np.float32)))
    try:
        with pytest.raises(RuntimeError, match=r"^Returns\.vjp returned a gradient of shape \(3,\) for an input of "
                                               r"shape \(2,\) \(input 0, dtype float64; got float32\): a gradient"):
            Returns.apply(leaf([1.0, 2.0])).sum().backward()
        Returns.grad = staticmethod(lambda g: f64(np.ones(3)))
        with pytest.raises(RuntimeError, match=r"for an input of shape \(2,\) \(input 0, dtype float64\): a"):
            Returns.apply(leaf([1.0, 2.0])).sum().backward()
    finally:
        Returns.grad = staticmethod(lambda g: g)


# ---- backward() and grad() ---------------------------------------------------------------------------------
def test_backward_defaults_leave_no_graph_and_free_it():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    assert x.grad.grad_fn is None and not x.grad.requires_grad
    with pytest.raises(RuntimeError, match="a second time"):
        y.backward()


def test_backward_with_create_graph_keeps_the_graph_and_accumulates_differentiably():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(create_graph=True)  # retain_graph defaults to create_graph
    y.backward(create_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])  # 2 (2x)
    assert x.grad.grad_fn is not None
    (gg,) = tg.autograd.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(gg.numpy(), [4.0, 4.0])


def test_backward_twice_accumulates_into_grad():
    x = leaf([1.0, 2.0])
    for _ in range(2):
        (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_grad_for_a_later_leaf_skips_the_leaves_that_are_no_inputs():
    a, b, c = leaf([1.0]), leaf([2.0]), leaf([3.0])
    y = (a * b * c).sum()  # a is reached first
    (gc,) = tg.autograd.grad(y, c, retain_graph=True)
    np.testing.assert_array_equal(gc.numpy(), [2.0])
    gb, gc = tg.autograd.grad(y, [b, c])
    np.testing.assert_array_equal(gb.numpy(), [3.0])
    np.testing.assert_array_equal(gc.numpy(), [2.0])
    assert a.grad is None and b.grad is None and c.grad is None


def test_backward_of_a_leaf_and_grad_of_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(f64([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
    (g,) = tg.autograd.grad(x, x, grad_outputs=f64([5.0, 6.0]))
    np.testing.assert_array_equal(g.numpy(), [5.0, 6.0])


def test_initial_gradients_keep_the_outputs_dtype_exactly():
    x = leaf([1.0, 2.0])
    y = x * 1.0
    y.backward([0.1, 0.7])  # a list: converted in the output's dtype, float64
    np.testing.assert_array_equal(x.grad.numpy(), np.array([0.1, 0.7]))
    z = tg.Tensor(np.ones(2, np.float32), requires_grad=True)
    (z * 2).sum().backward()
    assert z.grad.dtype == np.float32


def test_root_gradient_errors_name_backward_or_grad():
    y = leaf([1.0, 2.0]) * 2
    with pytest.raises(RuntimeError, match=r"^backward: the output has shape \(2,\), so the gradient is only"):
        y.backward()
    with pytest.raises(RuntimeError, match=r"^grad: the output has shape \(2,\), so the gradient is only"):
        tg.autograd.grad(y, y.grad_fn._inputs[0])


def test_grad_of_several_outputs_pairs_them_with_grad_outputs():
    x = leaf([1.0, 2.0])
    y, z = (x * 2).sum(), (x * x).sum()
    g = tg.autograd.grad([y, y, z], x, retain_graph=True)[0]  # a repeated output counts twice
    np.testing.assert_array_equal(g.numpy(), [2 + 2 + 2.0, 2 + 2 + 4.0])
    with pytest.raises(ValueError, match=exactly("grad: 2 outputs but 1 grad_outputs; pass one per output")):
        tg.autograd.grad([y, z], x, grad_outputs=f64(1.0), retain_graph=True)
    (g,) = tg.autograd.grad([y, z], x, grad_outputs=[None, f64(2.0)])
    np.testing.assert_array_equal(g.numpy(), [2 + 4.0, 2 + 8.0])


def test_grad_results_never_alias_each_other_or_a_grad():
    x = leaf([1.0, 2.0])
    y = (x * 3).sum()
    a, b = tg.autograd.grad(y, [x, x])
    np.testing.assert_array_equal(a.numpy(), [3.0, 3.0])
    assert not np.shares_memory(a.data, b.data)
    a.data[0] = 100.0
    assert b.data[0] == 3.0


# ---- anomaly detection and in-place checks -----------------------------------------------------------------
def assert_created_outside_the_package(message, prefix):
    """``message`` starts with ``prefix`` then a ``file:line`` outside tinygrad_cnn: the user's frame (this test's,
    or a wrapper's around the package when one is installed, as a mutation tool's)."""
    assert message.startswith(prefix), message
    where = message[len(prefix):].split(")")[0]
    path, _, line = where.rpartition(":")
    assert path.endswith(".py") and line.isdigit(), where
    assert not os.path.abspath(path).startswith(os.path.dirname(os.path.abspath(tg.__file__))), where


def test_anomaly_names_the_forward_output_and_where_it_was_created():
    x = leaf([0.0])
    with tg.autograd.detect_anomaly(), pytest.raises(FloatingPointError) as info, np.errstate(divide="ignore"):
        x.log() * 1
    assert_created_outside_the_package(str(info.value), "forward output of Log (created at ")


def test_anomaly_names_the_nonfinite_gradient_of_an_input():
    Returns.grad = staticmethod(lambda g: g * np.nan)
    try:
        with tg.autograd.detect_anomaly(), pytest.raises(FloatingPointError) as info:
            Returns.apply(leaf([1.0])).sum().backward()
        assert_created_outside_the_package(str(info.value), "gradient of input 0 of Returns (created at ")
        y = Returns.apply(leaf([1.0])).sum()  # recorded outside detect_anomaly: no place to name
        with tg.autograd.detect_anomaly(), pytest.raises(FloatingPointError) as info:
            y.backward()
        assert str(info.value).startswith("gradient of input 0 of Returns has NaN or Inf; input shapes [(1,)]")
    finally:
        Returns.grad = staticmethod(lambda g: g)


def test_a_finite_integer_forward_is_no_anomaly():
    with tg.autograd.detect_anomaly():
        assert (tg.Tensor(np.array([1, 2])) * 2).numpy().tolist() == [2, 4]


def test_in_place_changes_after_recording_are_refused_with_the_fix():
    fix = ("its gradient would be wrong. Run backward before changing it (call optimizer.step() after "
           "loss.backward()), or change a copy (x.clone())")
    x = leaf([1.0, 2.0])
    y = x * x
    x.data[0] = 5.0
    tg.versions.mark_modified(x.data)
    with pytest.raises(RuntimeError, match=exactly("Mul: input 0 (shape (2,)) was modified in place after the "
                                                   "forward pass saved it for backward; " + fix)):
        y.sum().backward()
    x = leaf([1.0, 2.0])
    y = x.exp()
    y.data[0] = 0.0
    tg.versions.mark_modified(y.data)
    with pytest.raises(RuntimeError, match=r"^Exp: its output \(shape \(2,\)\) was modified in place after the "
                                           r"forward pass saved it for backward; its gradient would be wrong"):
        y.sum().backward()
    with tg.autograd.detect_anomaly():
        x = leaf([1.0, 2.0])
        y = x * x
        x.data[1] = 5.0
        tg.versions.mark_modified(x.data)
    with pytest.raises(RuntimeError, match=r"^Mul \(created at .*\): input 0 \(shape \(2,\)\) was modified") as info:
        y.sum().backward()
    assert_created_outside_the_package(str(info.value), "Mul (created at ")


# ---- grad modes --------------------------------------------------------------------------------------------
def test_inference_mode_false_changes_nothing_and_the_count_comes_back():
    assert not tg.is_inference_mode_enabled()
    with tg.inference_mode(False):
        assert tg.is_grad_enabled() and not tg.is_inference_mode_enabled()
    with tg.inference_mode():
        with tg.inference_mode():
            assert tg.is_inference_mode_enabled() and not tg.is_grad_enabled()
        assert tg.is_inference_mode_enabled()
    assert not tg.is_inference_mode_enabled() and tg.is_grad_enabled()


def test_decorators_of_the_grad_modes():
    @tg.inference_mode
    def bare():
        return tg.is_inference_mode_enabled(), tg.is_grad_enabled()

    @tg.inference_mode()
    def called():
        return tg.is_inference_mode_enabled(), tg.is_grad_enabled()

    @tg.inference_mode(False)
    def off():
        return tg.is_inference_mode_enabled(), tg.is_grad_enabled()

    @tg.set_grad_enabled(False)
    def no_recording():
        return tg.is_grad_enabled()

    assert bare() == (True, False) and called() == (True, False) and off() == (False, True)
    assert tg.is_grad_enabled()
    assert no_recording() is False and no_recording() is False and tg.is_grad_enabled()
    with tg.set_grad_enabled(False):
        assert not tg.is_grad_enabled()
        with tg.set_grad_enabled(True):
            assert tg.is_grad_enabled()
    assert tg.is_grad_enabled()
