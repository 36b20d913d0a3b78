"""In-place Tensor methods and version counters: writes give NumPy's values, bump a counter shared by views, and a
backward pass whose saved values were written in place (or whose inputs had their .data replaced) raises a
RuntimeError instead of returning a wrong gradient. Primitives that claim not to read their inputs
(``reads_inputs = False``) are checked to give the same gradient after their inputs were overwritten."""

from __future__ import annotations

import gc
import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn import nn, ops, optim, versions
from tinygrad_cnn.autograd import Function
from tinygrad_cnn.ops import conv, elementwise, linalg, movement, reduce, softmax
from tinygrad_cnn.testing import strategies as S

RNG = np.random.default_rng(0)


def leaf(*shape: int, positive: bool = False) -> tg.Tensor:
    data = RNG.uniform(0.5, 2.0, shape) if positive else RNG.standard_normal(shape)
    return tg.Tensor(data, requires_grad=True)


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
    (lambda: tg.Tensor(np.zeros(3), requires_grad=True).add_(1.0), RuntimeError, r"add_: the tensor of shape \(3,\) "
     r"requires grad.*no_grad"),
    (lambda: tg.Tensor(np.zeros(3)).mul_(tg.Tensor(np.ones(3), requires_grad=True)), RuntimeError,
     "mul_: the operand of shape"),
    (lambda: tg.Tensor(np.zeros(3)).add_(np.ones(4)), ValueError, r"add_: an operand of shape \(4,\) does not "
     r"broadcast to the tensor's shape \(3,\)"),
    (lambda: tg.Tensor(np.zeros(3)).add_(np.ones((2, 3))), ValueError, "must keep the tensor's shape"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).add_(0.5), TypeError, "a int64 tensor cannot hold the result of add_"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).div_(2), TypeError, "div_"),
    (lambda: tg.Tensor(np.zeros(3)).add_("a"), TypeError, "add_: operand of dtype <U1 is not numeric"),
    (lambda: tg.Tensor(np.zeros(3)).fill_("a"), TypeError, "fill_: value must be a real number"),
    (lambda: tg.Tensor(np.zeros(3)).clip_(), ValueError, "clip_: give low, high or both"),
    (lambda: tg.Tensor(np.zeros(3, np.int64)).clip_(0.5), TypeError, "clip_: a int64 tensor cannot hold float"),
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
    x = leaf(3)
    y = x.clone()
    assert not np.shares_memory(x.data, y.data)
    (y * y).sum().backward()
    np.testing.assert_allclose(x.grad.data, 2 * x.data)


# ---- detection in backward -----------------------------------------------------------------------
def _gradients(out: tg.Tensor, inputs: list[tg.Tensor]) -> tuple:
    """The VJP of a fixed random upstream gradient (no extra op, so only ``out``'s own node reads anything)."""
    return tg.grad(out, inputs, grad_outputs=np.random.default_rng(1).standard_normal(out.shape))


MAXPOOL_INDEX = conv.MaxPool2d.apply(tg.Tensor(RNG.standard_normal((2, 2, 4, 4)), requires_grad=True),
                                     kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1))._ctx.saved[0]


POOL = {"kernel_size": (2, 2), "stride": (2, 2), "padding": (0, 0)}
CONV = {"stride": (1, 1), "padding": (0, 0), "dilation": (1, 1), "groups": 1}
# For every primitive: the float inputs to make (shape, whether positive) and how to call it on them.
CASES: dict[type, tuple[list, object]] = {
    elementwise.Add: ([(2, 3), (3,)], lambda a, b: a + b),
    elementwise.Sub: ([(2, 3), (2, 3)], lambda a, b: a - b),
    elementwise.Mul: ([(2, 3), (2, 3)], lambda a, b: a * b),
    elementwise.Div: ([(2, 3), ((2, 3), True)], lambda a, b: a / b),
    elementwise.Neg: ([(2, 3)], lambda a: -a),
    elementwise.Pow: ([((2, 3), True), (2, 3)], lambda a, b: a ** b),
    elementwise.Exp: ([(2, 3)], lambda a: a.exp()),
    elementwise.Log: ([((2, 3), True)], lambda a: a.log()),
    elementwise.Sqrt: ([((2, 3), True)], lambda a: a.sqrt()),
    elementwise.Abs: ([(2, 3)], lambda a: a.abs()),
    elementwise.Relu: ([(2, 3)], lambda a: a.relu()),
    elementwise.Sigmoid: ([(2, 3)], lambda a: a.sigmoid()),
    elementwise.Tanh: ([(2, 3)], lambda a: a.tanh()),
    elementwise.Maximum: ([(2, 3), (2, 3)], lambda a, b: a.maximum(b)),
    elementwise.Minimum: ([(2, 3), (2, 3)], lambda a, b: a.minimum(b)),
    elementwise.Where: ([(2, 3), (2, 3)], lambda a, b: tg.where(tg.Tensor(np.eye(2, 3) > 0), a, b)),
    elementwise.Clip: ([(2, 3)], lambda a: a.clip(-0.5, 0.5)),
    elementwise.Cast: ([(2, 3)], lambda a: a.astype(np.float32)),
    reduce.Sum: ([(2, 3)], lambda a: a.sum(axis=1)),
    reduce.Max: ([(2, 3)], lambda a: a.max(axis=0)),
    reduce.Min: ([(2, 3)], lambda a: a.min()),
    movement.Reshape: ([(2, 3)], lambda a: a.reshape(3, 2)),
    movement.Permute: ([(2, 3, 4)], lambda a: a.permute(2, 0, 1)),
    movement.Expand: ([(1, 3)], lambda a: a.expand(4, 3)),
    movement.GetItem: ([(4, 3)], lambda a: a[1:3, ::2]),
    movement.IndexAdd: ([(2, 2)], lambda g: movement.IndexAdd.apply(g, shape=(4, 3),
                                                                    index=(slice(1, 3), slice(0, 3, 2)))),
    movement.Pad: ([(2, 3)], lambda a: a.pad(((1, 0), (0, 2)))),
    movement.Concatenate: ([(2, 3), (1, 3)], lambda a, b: tg.concatenate([a, b])),
    linalg.MatMul: ([(2, 3), (3, 4)], lambda a, b: a @ b),
    linalg.Linear: ([(2, 3), (4, 3), (4,)], lambda x, w, b: F.linear(x, w, b)),
    conv.Conv2d: ([(2, 2, 5, 5), (3, 2, 3, 3), (3,)], lambda x, w, b: F.conv2d(x, w, b)),
    conv.Conv2dInputGrad: ([(2, 3, 3, 3), (3, 2, 3, 3)],
                           lambda g, w: conv.Conv2dInputGrad.apply(g, w, input_shape=(2, 2, 5, 5), **CONV)),
    conv.Conv2dWeightGrad: ([(2, 2, 5, 5), (2, 3, 3, 3)],
                            lambda x, g: conv.Conv2dWeightGrad.apply(x, g, weight_shape=(3, 2, 3, 3), **CONV)),
    conv.MaxPool2d: ([(2, 2, 4, 4)], lambda x: F.max_pool2d(x, 2)),
    conv.MaxPool2dScatter: ([(2, 2, 2, 2)], lambda g: conv.MaxPool2dScatter.apply(
        g, index=MAXPOOL_INDEX, input_shape=(2, 2, 4, 4), dilation=(1, 1), **POOL)),
    conv.MaxPool2dGather: ([(2, 2, 4, 4)], lambda u: conv.MaxPool2dGather.apply(
        u, index=MAXPOOL_INDEX, dilation=(1, 1), **POOL)),
    conv.AvgPool2d: ([(2, 2, 4, 4)], lambda x: F.avg_pool2d(x, 2)),
    conv.AvgPool2dBackward: ([(2, 2, 2, 2)], lambda g: conv.AvgPool2dBackward.apply(g, input_shape=(2, 2, 4, 4),
                                                                                      **POOL)),
    softmax.LogSoftmax: ([(2, 3)], lambda a: a.log_softmax(axis=1)),
    softmax.LogSoftmaxBackward: ([(2, 3), (2, 3)], lambda g, y: softmax.LogSoftmaxBackward.apply(g, y, axis=1)),
    softmax.NLLLoss: ([(2, 3), (2, 3)], lambda logp, q: softmax.NLLLoss.apply(logp, q, reduction="sum")),
    softmax.BinaryCrossEntropyWithLogits: ([(2, 3), (2, 3)],
                                           lambda x, y: softmax.BinaryCrossEntropyWithLogits.apply(x, y)),
}


def _make_inputs(specs) -> list[tg.Tensor]:
    made = []
    for spec in specs:
        shape, positive = spec if isinstance(spec[0], tuple) else (spec, False)
        made.append(leaf(*shape, positive=positive))
    return made


def _primitives() -> list[type]:
    found = []
    for module in (elementwise, reduce, movement, linalg, conv, softmax):
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Function) and cls.__module__ == module.__name__ and not cls.__name__.startswith("_"):
                found.append(cls)
    return found


def test_every_primitive_has_a_case():
    assert ops is not None
    missing = sorted(cls.__name__ for cls in _primitives() if cls not in CASES)
    assert not missing, f"add these primitives to CASES in tests/test_inplace.py: {missing}"


@pytest.mark.parametrize("cls", list(CASES), ids=lambda c: c.__name__)
def test_writing_a_saved_input_in_place_is_refused_or_harmless(cls):
    specs, call = CASES[cls]
    inputs = _make_inputs(specs)
    out = call(*inputs)
    assert out._ctx is not None and type(out._ctx) is cls
    expected = _gradients(out, inputs)
    for position in range(len(inputs)):
        fresh = [tg.Tensor(t.data.copy(), requires_grad=True) for t in inputs]
        out = call(*fresh)
        with tg.no_grad():
            fresh[position].mul_(1.5)
        if cls.reads_inputs:
            with pytest.raises(RuntimeError, match=rf"{cls.__name__}: input \d \(shape .*\) was modified in "
                                                   r"place after the forward pass saved it"):
                _gradients(out, fresh)
        else:  # the flag's promise: the VJP does not read input values, so the gradient cannot change
            for got, want in zip(_gradients(out, fresh), expected):
                np.testing.assert_array_equal(got.data, want.data)


@pytest.mark.parametrize("cls", [c for c in CASES if c.save_output], ids=lambda c: c.__name__)
def test_writing_a_saved_output_in_place_is_refused(cls):
    specs, call = CASES[cls]
    inputs = _make_inputs(specs)
    out = call(*inputs)
    with tg.no_grad():
        out.add_(1.0)
    with pytest.raises(RuntimeError, match=rf"{cls.__name__}: its output \(shape .*\) was modified in place"):
        _gradients(out, inputs)


def test_replacing_data_of_a_saved_input_is_refused():
    x, w = leaf(2, 3), leaf(3, 4)
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
    x, w = leaf(3), leaf(3)
    loss = (x * w).sum()
    loss.backward(retain_graph=True)
    with tg.no_grad():
        x.add_(1.0)
    with pytest.raises(RuntimeError, match="Mul: input 0"):
        loss.backward()


def test_second_order_graph_sees_writes_between_the_two_backward_passes():
    x = leaf(3)
    (gx,) = tg.grad((x * x * x).sum(), x, create_graph=True)
    with tg.no_grad():
        x.sub_(0.5)
    with pytest.raises(RuntimeError, match="was modified in place"):
        gx.sum().backward()


def test_anomaly_mode_adds_where_the_op_was_created():
    x, w = leaf(3), leaf(3)
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
