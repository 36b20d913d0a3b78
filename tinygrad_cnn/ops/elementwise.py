"""Elementwise primitives. Binary ones broadcast like NumPy; their VJPs sum back with ``unbroadcast``.

Notation: ``g`` is the gradient of the output, ``out`` the output, ``ub(t, shape)`` = unbroadcast.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_real
from ..autograd import Function
from ..tensor_core import TensorCore as Tensor  # for annotations: VJPs build tensors with ctx.constant(...)


def unbroadcast(grad: Tensor, shape: tuple[int, ...]) -> Tensor:
    """Sum ``grad`` over the axes that broadcasting added or stretched, so that it has ``shape``.

    The adjoint of broadcasting: an input read by several outputs receives the sum of their gradients.
    """
    if grad.shape == shape:
        return grad
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape) if axes else grad.reshape(shape)


def broadcast_check(op: str, *shapes: tuple[int, ...]) -> None:
    """Raise a ValueError naming the op and the shapes when they do not broadcast together."""
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(
            f"{op}: shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast; trailing axes must "
            "be equal or 1 (reshape or unsqueeze one operand)"
        ) from None


def _binary_check(op: str, a: np.ndarray, b: np.ndarray) -> None:
    if a.shape != b.shape and a.ndim and b.ndim:  # a 0-d operand always broadcasts
        broadcast_check(op, a.shape, b.shape)


class Add(Function):
    """out = a + b.  VJP: (ub(g), ub(g))."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, b):
        _binary_check("add", a, b)
        return a + b

    def vjp(ctx, g):
        (sa, sb), (need_a, need_b) = ctx.input_shapes, ctx.needs_input_grad
        return (unbroadcast(g, sa) if need_a else None), (unbroadcast(g, sb) if need_b else None)


class Sub(Function):
    """out = a - b.  VJP: (ub(g), ub(-g))."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, b):
        _binary_check("sub", a, b)
        if a.dtype == np.bool_:
            raise TypeError("sub: cannot subtract boolean tensors; use logical operations, or convert with .astype()")
        return a - b

    def vjp(ctx, g):
        (sa, sb), (need_a, need_b) = ctx.input_shapes, ctx.needs_input_grad
        return (unbroadcast(g, sa) if need_a else None), (unbroadcast(-g, sb) if need_b else None)


class Mul(Function):
    """out = a * b.  VJP: (ub(g * b), ub(g * a))."""

    def forward(ctx, a, b):
        _binary_check("mul", a, b)
        return a * b

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(g * b, a.shape) if need_a else None,
                unbroadcast(g * a, b.shape) if need_b else None)


class Div(Function):
    """out = a / b.  VJP: (ub(g / b), ub(-g * a / b**2))."""

    def forward(ctx, a, b):
        _binary_check("div", a, b)
        return a / b

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(g / b, a.shape) if need_a else None,
                unbroadcast(-g * a / (b * b), b.shape) if need_b else None)


class Neg(Function):
    """out = -a.  VJP: -g."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a):
        if a.dtype == np.bool_:
            raise TypeError("neg: cannot negate a boolean tensor; use ~ on its NumPy data, or convert with .astype()")
        return -a

    def vjp(ctx, g):
        return -g


class Pow(Function):
    """out = a ** b.  VJP: (ub(g * b * a**(b-1)), ub(g * out * log a)).

    The first is taken as 0 where a == b == 0 (d/da a**0 = 0 there too, as PyTorch), the second as 0 where
    a == 0 and b >= 0.
    """

    save_output = True

    def forward(ctx, a, b):
        _binary_check("pow", a, b)
        try:
            return a**b
        except ValueError as err:  # NumPy: integers to negative integer powers
            raise ValueError(f"pow: {err} (shapes {a.shape} and {b.shape}, dtype {a.dtype}); convert the base "
                             "with .float() first") from None

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        ga = None
        if need_a:
            zero_zero = (a.data == 0) & (b.data == 0)  # 0 * 0**-1 = 0 * inf: the limit is 0
            with np.errstate(divide="ignore", invalid="ignore"):
                da = b * a ** (b - 1)
            if zero_zero.any():
                da = Where.apply(ctx.constant(zero_zero), ctx.constant(np.zeros((), a.dtype)), da)
            ga = unbroadcast(g * da, a.shape)
        gb = None
        if need_b:
            zero_base = ctx.constant((a.data == 0) & (b.data >= 0))
            safe_a = Where.apply(zero_base, ctx.constant(np.ones((), a.dtype)), a)
            gb = unbroadcast(Where.apply(zero_base, ctx.constant(np.zeros((), a.dtype)), g * ctx.output * safe_a.log()),
                             b.shape)
        return ga, gb


class Exp(Function):
    """out = exp(a).  VJP: g * out."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.exp(a)

    def vjp(ctx, g):
        return g * ctx.output


class Log(Function):
    """out = log(a).  VJP: g / a."""

    def forward(ctx, a):
        return np.log(a)

    def vjp(ctx, g):
        return g / ctx.inputs[0]


class Sqrt(Function):
    """out = sqrt(a).  VJP: g / (2 out)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.sqrt(a)

    def vjp(ctx, g):
        return g / (2 * ctx.output)


class Abs(Function):
    """out = |a|.  VJP: g * sign(a), with sign(0) = 0 (as PyTorch)."""

    def forward(ctx, a):
        return np.abs(a)

    def vjp(ctx, g):
        return g * ctx.constant(np.sign(ctx.inputs[0].data))


class Relu(Function):
    """out = max(a, 0).  VJP: g * [a > 0] (the gradient at 0 is 0)."""

    def forward(ctx, a):
        return np.maximum(a, 0)

    def vjp(ctx, g):
        a = ctx.inputs[0].data
        return g * ctx.constant((a > 0).astype(a.dtype, copy=False))


class Sigmoid(Function):
    """out = 1 / (1 + exp(-a)), computed as (1 + tanh(a/2)) / 2 (no overflow).  VJP: g * out * (1 - out)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        if a.dtype.kind != "f":  # as np.exp does for integers; 0.5 in an integer dtype would be 0
            a = a.astype(np.float64)
        half = np.asarray(0.5, dtype=a.dtype)
        return half + half * np.tanh(half * a)

    def vjp(ctx, g):
        out = ctx.output
        return g * out * (1 - out)


class Tanh(Function):
    """out = tanh(a).  VJP: g * (1 - out**2)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.tanh(a)

    def vjp(ctx, g):
        out = ctx.output
        return g * (1 - out * out)


class Softplus(Function):
    """out = log(1 + exp(beta a)) / beta, and out = a where beta a > threshold (as PyTorch).

    Computed as (max(beta a, 0) + log1p(exp(-|beta a|))) / beta: exp never overflows (finite at +-1000 in float32).
    VJP: g * sigmoid(beta a), and g itself where beta a > threshold.
    """

    def forward(ctx, a, beta=1.0, threshold=20.0):
        if a.dtype.kind != "f":
            raise TypeError(f"softplus: input has dtype {a.dtype}; convert it with .float()")
        z = a * np.asarray(beta, dtype=a.dtype)
        soft = (np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))) / np.asarray(beta, dtype=a.dtype)
        return np.where(z > threshold, a, soft)

    def vjp(ctx, g):
        (a,) = ctx.inputs
        beta, threshold = ctx.params["beta"], ctx.params["threshold"]
        linear = ctx.constant(a.data * beta > threshold)
        return Where.apply(linear, g, g * (a * beta).sigmoid())


def _tie_split(a: np.ndarray, b: np.ndarray, greater: bool) -> np.ndarray:
    """Share of the gradient that goes to ``a``: 1 where it wins, 1/2 on ties, 0 where it loses."""
    wins = a > b if greater else a < b
    share = wins.astype(np.result_type(a, b)) + 0.5 * (a == b)
    return share.astype(np.result_type(a, b), copy=False)


class _Extreme(Function):
    """out = max(a, b) or min(a, b) elementwise (``greater`` picks which).  VJP: g split by who wins; a tie sends
    g/2 to each (as PyTorch)."""

    greater = True

    def forward(ctx, a, b):
        op = "maximum" if ctx.greater else "minimum"
        _binary_check(op, a, b)
        return (np.maximum if ctx.greater else np.minimum)(a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        share = ctx.constant(_tie_split(a.data, b.data, greater=ctx.greater))
        return unbroadcast(g * share, a.shape), unbroadcast(g * (1 - share), b.shape)


class Maximum(_Extreme):
    """out = max(a, b) elementwise.  VJP: g split by who wins; a tie sends g/2 to each (as PyTorch)."""

    greater = True


class Minimum(_Extreme):
    """out = min(a, b) elementwise.  VJP: g split by who wins; a tie sends g/2 to each (as PyTorch)."""

    greater = False


class Where(Function):
    """out = cond ? a : b (cond is boolean, not differentiable).  VJP: (None, ub(cond ? g : 0), ub(cond ? 0 : g))."""

    def forward(ctx, cond, a, b):
        if cond.dtype != np.bool_:
            raise TypeError(f"where: the condition has dtype {cond.dtype}; pass a boolean tensor (e.g. x > 0)")
        if not (cond.shape == a.shape == b.shape):
            broadcast_check("where", cond.shape, a.shape, b.shape)
        return np.where(cond, a, b)

    def vjp(ctx, g):
        cond, a, b = ctx.inputs
        zero = ctx.constant(np.zeros((), g.dtype))
        return (None,
                unbroadcast(Where.apply(cond, g, zero), a.shape) if ctx.needs_input_grad[1] else None,
                unbroadcast(Where.apply(cond, zero, g), b.shape) if ctx.needs_input_grad[2] else None)


class Clip(Function):
    """out = min(max(a, low), high).  VJP: g * [low <= a <= high] (inclusive bounds, as PyTorch's clamp)."""

    def forward(ctx, a, low=None, high=None):
        if low is None and high is None:
            raise ValueError("clip: pass at least one of low and high")
        for name, bound in (("low", low), ("high", high)):
            if bound is not None:
                as_real("clip", name, bound)  # a number; for tensor bounds use maximum/minimum
        if low is not None and high is not None and low > high:
            raise ValueError(f"clip: low={low} is greater than high={high}")
        try:
            return np.clip(a, low, high).astype(a.dtype, copy=False)
        except OverflowError:
            raise ValueError(f"clip: bounds ({low}, {high}) do not fit in a {a.dtype} tensor") from None

    def vjp(ctx, g):
        a = ctx.inputs[0].data
        low, high = ctx.params["low"], ctx.params["high"]
        inside = np.ones(a.shape, dtype=bool)
        if low is not None:
            inside &= a >= low
        if high is not None:
            inside &= a <= high
        return g * ctx.constant(inside.astype(a.dtype, copy=False))


class Cast(Function):
    """out = a converted to ``dtype``.  VJP: g converted back to a's dtype (float to float only)."""

    def forward(ctx, a, dtype):
        return a.astype(dtype)

    def vjp(ctx, g):
        return g.astype(ctx.inputs[0].dtype)
