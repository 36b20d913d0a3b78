"""The testing module itself (tinygrad_cnn/testing): gradcheck and gradgradcheck must catch the bugs they exist
for, with messages that locate them, and the strategies must produce what they promise."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf
from hypothesis import given, settings

import tinygrad_cnn as tg
from tinygrad_cnn import autograd
from tinygrad_cnn.autograd import Function
from tinygrad_cnn.testing import GradcheckError, gradcheck, gradgradcheck
from tinygrad_cnn.testing import strategies as S


class Square(Function):
    """out = x^2, VJP 2 x g: correct, and differentiable through the input Tensor."""

    def forward(ctx, x):
        return x * x

    def vjp(ctx, g):
        return 2 * ctx.inputs[0] * g


class OffByFactor(Square):
    """Square with a VJP 10 % too large."""

    def vjp(ctx, g):
        return 2.2 * ctx.inputs[0] * g


class DetachedSquare(Square):
    """Right to first order, but the VJP reads x as a constant: d(vjp)/dx is 0 instead of 2 g."""

    def vjp(ctx, g):
        return g * tg.Tensor(2 * ctx.inputs[0].data)


class SplitPathSquare(Square):
    """A NumPy fast path for first order (right) and a recorded path for create_graph=True (wrong: 3 x g)."""

    def vjp(ctx, g):
        if tg.is_grad_enabled():  # the engine enables grad mode for the VJP only under create_graph=True
            return 3 * ctx.inputs[0] * g
        return tg.Tensor(2 * ctx.inputs[0].data * g.data)


class MutatesUpstream(Square):
    """Right values, but the VJP overwrites the gradient it was given."""

    def vjp(ctx, g):
        result = 2 * ctx.inputs[0] * g
        g.data[...] = 0.0
        return result


class MutatesInput(Function):
    """out = 2 x, but forward scales its input array in place."""

    def forward(ctx, x):
        out = 2 * x
        x *= 3.0
        return out

    def vjp(ctx, g):
        return 2 * g


class SharedGradient(Function):
    """out = a + b, VJP returns one fresh array as the gradient of both inputs."""

    def forward(ctx, a, b):
        return a + b

    def vjp(ctx, g):
        h = g * 1.0
        return h, h


class KeepsBuffers(Square):
    """Square whose node never frees what it saved."""

    def release(ctx):
        return None


class NaNAwayFromTheInput(Function):
    """out = x where the input is unchanged, NaN once perturbed: its finite-difference gradient is NaN, while the
    VJP (the identity) is finite. A NaN on the numeric side must fail the check, not slip through."""

    def forward(ctx, x, at):
        return x.copy() if np.array_equal(x, at) else np.full_like(x, np.nan)

    def vjp(ctx, g):
        return g


def test_correct_vjp_passes():
    x = leaf([[0.5, -1.0, 2.0]])
    assert gradcheck(Square.apply, x)
    assert gradcheck(Square.apply, x, fast=True)
    assert gradgradcheck(Square.apply, x)


def test_wrong_vjp_is_caught_and_located():
    x = leaf([[0.5, -1.0], [2.0, 3.0]])
    with pytest.raises(GradcheckError) as info:
        gradcheck(OffByFactor.apply, x)
    message = str(info.value)
    assert "input 0" in message and "shape (2, 2)" in message
    assert "element (" in message and "analytic" in message and "numeric" in message
    # the worst element is named, with both values: check the numbers against the element it names
    element = tuple(int(i) for i in message.split("element (")[1].split(")")[0].split(",") if i.strip())
    analytic = float(message.split("analytic ")[1].split(",")[0])
    numeric = float(message.split("numeric ")[1].split(" ")[0])
    assert analytic == pytest.approx(1.1 * numeric, rel=1e-5)
    assert element in np.ndindex(2, 2)


def test_wrong_vjp_of_the_second_input_names_that_input():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    with pytest.raises(GradcheckError, match=r"input 1 \(shape \(2,\)\), element \(\d,\)"):
        gradcheck(lambda p, q: p + OffByFactor.apply(q), a, b)


def test_fast_mode_catches_a_wrong_vjp():
    with pytest.raises(GradcheckError, match="fast"):
        gradcheck(OffByFactor.apply, leaf([1.0, 2.0, 3.0]), fast=True)


@pytest.mark.parametrize("fast", [False, True])
def test_a_nan_numeric_gradient_fails_the_check(fast):
    x = leaf([1.0, 2.0])
    with pytest.raises(GradcheckError, match="nan"):
        gradcheck(lambda t: NaNAwayFromTheInput.apply(t, at=x.data.copy()), x, fast=fast)


def test_vjp_mutating_its_upstream_gradient_is_caught():
    with pytest.raises(GradcheckError, match="upstream gradient was modified in place"):
        gradcheck(MutatesUpstream.apply, leaf([1.0, 2.0]))


def test_forward_mutating_its_input_is_caught():
    with pytest.raises(GradcheckError, match="input 0 was modified in place"):
        gradcheck(MutatesInput.apply, leaf([1.0, 2.0]))


def test_forward_mutating_its_input_is_caught_without_grad():
    x = tg.Tensor(np.array([1.0, 2.0]))
    with pytest.raises(GradcheckError, match="input 0 was modified in place"):
        gradcheck(MutatesInput.apply, x)


def test_the_engine_unaliases_gradients_that_a_vjp_shares():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    ga, gb = tg.grad(SharedGradient.apply(a, b).sum(), [a, b])
    assert not np.shares_memory(ga.numpy(), gb.numpy())
    SharedGradient.apply(a, b).sum().backward()
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())
    assert gradcheck(SharedGradient.apply, a, b)  # so the op is safe to use


def test_gradcheck_detects_aliased_gradients_when_the_engine_does_not_unalias(monkeypatch):
    monkeypatch.setattr(autograd, "_unaliased", lambda data, others: data)
    with pytest.raises(GradcheckError, match="returned gradients 0 and 1 share memory"):
        gradcheck(SharedGradient.apply, leaf([1.0, 2.0]), leaf([3.0, 4.0]))
    with pytest.raises(GradcheckError, match="shares memory with the upstream gradient"):
        gradcheck(lambda a: a + tg.Tensor(np.zeros(2)), leaf([1.0, 2.0]))  # Add's VJP passes g itself on


def test_unreleased_saved_buffers_are_caught():
    with pytest.raises(GradcheckError, match=r"KeepsBuffers.*not released"):
        gradcheck(KeepsBuffers.apply, leaf([1.0, 2.0]))


def test_gradgradcheck_catches_a_vjp_that_is_not_differentiable():
    x = leaf([0.5, -1.5, 2.0])
    assert gradcheck(DetachedSquare.apply, x)  # first order is right
    with pytest.raises(GradcheckError):
        gradgradcheck(DetachedSquare.apply, x)


def test_gradgradcheck_catches_a_recorded_vjp_that_differs_from_the_plain_one():
    x = leaf([0.5, -1.5, 2.0])
    assert gradcheck(SplitPathSquare.apply, x)  # the plain path is right
    with pytest.raises(GradcheckError, match="recorded with create_graph=True differs"):
        gradgradcheck(SplitPathSquare.apply, x)  # the wrong recorded path is self-consistent, so only this finds it


def test_gradcheck_needs_float64_and_a_tensor_result():
    with pytest.raises(TypeError, match="float64"):
        gradcheck(Square.apply, tg.Tensor([1.0], requires_grad=True))
    with pytest.raises(TypeError, match="pass Tensors"):
        gradcheck(Square.apply, np.ones(2))
    with pytest.raises(TypeError, match="return one Tensor"):
        gradcheck(lambda x: x.numpy(), leaf([1.0]))


def test_gradcheck_checks_every_input_that_requires_grad_only():
    a, b = leaf([1.0, 2.0]), tg.Tensor(np.array([3.0, 4.0]))
    assert gradcheck(lambda p, q: OffByFactor.apply(q) + p, a, b)  # b requires no grad: its VJP is never used


@settings(max_examples=30)
@given(S.shapes(min_dims=1, max_dims=3, min_side=2, max_side=4))
def test_shapes_respect_their_bounds(shape):
    assert 1 <= len(shape) <= 3 and all(2 <= n <= 4 for n in shape)


@settings(max_examples=30)
@given(S.broadcastable_shapes(num_shapes=3, max_dims=3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)  # raises if they do not


@settings(max_examples=30)
@given(S.matmul_shapes())
def test_matmul_shapes_are_valid_for_matmul(pair):
    sa, sb = pair
    assert np.matmul(np.ones(sa), np.ones(sb)).ndim >= 0


@settings(max_examples=30)
@given(S.arrays(S.shapes(max_dims=3, max_side=4), low=0.5, high=2.0, away_from=(1.0,), gap=0.05))
def test_arrays_stay_in_range_and_away_from_kinks(values):
    assert values.dtype == np.float64
    assert np.all(np.abs(values - 1.0) >= 0.05 - 1e-12)
    assert np.all((values >= 0.5 - 0.05) & (values <= 2.0 + 0.05))  # a kink push may step gap past a bound


@settings(max_examples=30)
@given(S.arrays(S.shapes(max_dims=3, max_side=5), low=-3.0, high=3.0, gap=0.02, distinct=True))
def test_distinct_arrays_are_in_range_and_differ_by_gap(values):
    flat = np.sort(values.ravel())
    assert np.all((flat >= -3.0) & (flat <= 3.0))
    if flat.size > 1:
        assert np.min(np.diff(flat)) >= 0.02


@settings(max_examples=10)
@given(S.tensors(S.shapes(max_dims=2), dtype=np.float32, requires_grad=False))
def test_tensors_strategy_builds_tensors(t):
    assert isinstance(t, tg.Tensor) and t.dtype == np.float32 and not t.requires_grad
