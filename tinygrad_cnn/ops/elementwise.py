"""Elementwise primitives. Binary ones broadcast like NumPy; their VJPs sum back with ``unbroadcast``.

Notation: ``g`` is the gradient of the output, ``out`` the output, ``ub(t, shape)`` = unbroadcast.
"""

from __future__ import annotations

import numpy as np

from .._checks import as_real
from ..autograd import Function
from ..errors import DivisionByZeroError, ShapeError
from ..tensor_core import TensorCore as Tensor  # for annotations: VJPs build tensors with ctx.constant(...)
from .kernels.pointwise import against_scalar


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
        raise ShapeError(
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
            return _quiet(np.power, a, b)  # NaN for a negative base to a fractional power, inf for 0**-1, silently
        except ValueError as err:  # NumPy: integers to negative integer powers
            raise ShapeError(f"pow: {err} (shapes {a.shape} and {b.shape}, dtype {a.dtype}); convert the base "
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
        return np.exp(as_float(a))

    def vjp(ctx, g):
        return g * ctx.output


class Log(Function):
    """out = log(a).  VJP: g / a."""

    def forward(ctx, a):
        return _quiet(np.log, as_float(a))  # NaN below 0, -inf at 0, silently (as PyTorch)

    def vjp(ctx, g):
        return g / ctx.inputs[0]


class Sqrt(Function):
    """out = sqrt(a).  VJP: g / (2 out)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.sqrt(as_float(a))

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
        return against_scalar(np.maximum, a, 0)  # np.maximum(a, 0) on NumPy's SIMD loop

    def vjp(ctx, g):
        a = ctx.inputs[0].data
        return g * ctx.constant(np.greater(a, 0, out=np.empty(a.shape, a.dtype)))  # the mask in one pass, as floats


class Sigmoid(Function):
    """out = 1 / (1 + exp(-a)), computed with e = exp(-|a|) <= 1 as 1 / (1 + e) for a >= 0 and e / (1 + e) for
    a < 0: no overflow, and a few units in the last place everywhere (the tails too, down to the smallest
    subnormal).  VJP: g * out * (1 - out) (PyTorch's form, from the saved output)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        a = as_float(a)  # an integer tensor gives float32 (0.5 in an integer dtype would be 0)
        flat = a.reshape(-1)  # 1-d (a view when it can be): the passes below write in place, a 0-d array too
        e = np.abs(flat)
        np.exp(np.negative(e, out=e), out=e)
        numerator = np.maximum(e, flat >= 0)  # 1 where a >= 0 (e <= 1), e where a < 0; NaN stays NaN
        e += 1
        return np.divide(numerator, e, out=numerator).reshape(a.shape)

    def vjp(ctx, g):
        out = ctx.output
        return g * out * (1 - out)


class Tanh(Function):
    """out = tanh(a).  VJP: g * (1 - out**2)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.tanh(as_float(a))

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


# ---- float-valued functions: an integer or bool tensor computes in float32 (PyTorch's default float dtype) ----------
def as_float(a: np.ndarray) -> np.ndarray:
    """``a`` itself when it is floating-point, else ``a`` in float32: sin, exp, erf... of an integer tensor are
    float32, as in PyTorch (NumPy would give float64, or float16 for int8)."""
    return a if a.dtype.kind == "f" else a.astype(np.float32)


_TWO_OVER_SQRT_PI = float(2.0 / np.sqrt(np.pi))
# erf(x) / x = 2/sqrt(pi) sum_n (-1)^n x^(2n) / (n! (2n+1)): 20 terms reach 1e-19 for |x| < 1 (no cancellation there)
_ERF_TAYLOR = np.array([(-1.0) ** n / (float(np.prod(np.arange(1.0, n + 1))) * (2 * n + 1)) for n in range(20)])
# Chebyshev coefficients of f(u) = x erfc(x) exp(x^2) in u = 1/x on four pieces of 0 <= u <= 1, interpolated at
# Chebyshev nodes from 60-digit Decimal values of f (tests/test_pointwise_ops.py recomputes them and checks erf and
# erfc against math.erf / math.erfc on a dense grid). f is smooth and tends to 1/sqrt(pi) as x -> inf.
_ERFC_PIECES = (
    (0.5, 1.0, np.array([
        0.4687089566349605, -0.041775068132475786, 0.0005040623963318858, 0.00016888702949542888,
        -2.5430051898348638e-05, 2.2949329159500325e-06, -1.2625248725454873e-07, -1.7887685298692902e-09,
        1.6302900358124004e-09, -2.7115250283810896e-10, 3.109328807363295e-11, -2.6267244662629016e-12,
        1.2274102894000656e-13, 9.323057788953838e-15, -3.492421799916719e-15, 5.907386070916909e-16,
        -7.501059240925623e-17, 7.549892519702798e-18])),
    (0.25, 0.5, np.array([
        0.5301308770132606, -0.018689308366538884, -0.0007329027318898532, 8.615653175129029e-05,
        -3.4066275133405097e-06, -8.525525623418828e-08, 2.3854766446998496e-08, -1.8555735983967876e-09,
        5.3057503119055636e-11, 5.915018316495003e-12, -1.0499162575043423e-12, 8.566402726391307e-14,
        -2.9602488529848905e-15, -2.8499796418358923e-16, 6.283392516135316e-17, -6.348379638757746e-18])),
    (0.125, 0.25, np.array([
        0.554346688086811, -0.005954652682742062, -0.0004072671646853867, 1.2928072406492937e-05,
        1.5851603325191747e-07, -2.497156985567688e-08, 6.18306724761633e-10, 2.8440011472415786e-11,
        -2.8238844570996726e-12, 6.497110176219243e-14, 4.844717055555461e-15, -4.901935493718817e-16,
        1.376290248862199e-17])),
    (0.0, 0.125, np.array([
        0.5625640626376887, -0.002160157225421495, -0.0005292930237878998, 6.050459065831996e-06,
        6.882479736936416e-07, -2.028340623005722e-08, -1.2869567168442873e-09, 7.975504214614299e-11,
        2.4852813728524025e-12, -3.491808240360625e-13, -1.157165508321675e-15, 1.6063849168181532e-15,
        -4.3411047546154626e-17, -7.149220171984732e-18, 5.016269648036817e-19, 2.5158056052587832e-20])),
)


def _erf_small(x: np.ndarray) -> np.ndarray:
    """erf(x) for |x| < 1 (float64): the Taylor series in x^2, Horner's rule."""
    z = x * x
    acc = np.full_like(x, _ERF_TAYLOR[-1])
    for c in _ERF_TAYLOR[-2::-1]:
        acc = acc * z + c
    return _TWO_OVER_SQRT_PI * x * acc


def _erfc_tail(ax: np.ndarray) -> np.ndarray:
    """erfc(ax) for ax >= 1 or NaN (float64), to a few ulps: exp(-ax^2) f(1/ax) / ax with f's Chebyshev pieces,
    exp(-ax^2) taken as exp(-h^2) exp(-(ax - h)(ax + h)) with h = ax rounded to 24 bits, so h^2 is exact and the
    rounding of ax^2 (relative 1e-16, absolute 1e-13 at ax = 27) does not reach the result."""
    ax = np.minimum(ax, 30.0)  # erfc(30) underflows to 0 already; keeps inf - inf out of the split below
    u = 1.0 / ax
    f = np.full_like(ax, np.nan)
    for low, high, coef in _ERFC_PIECES:
        inside = (u >= low) & (u <= high)
        t = (2.0 * u[inside] - (low + high)) / (high - low)
        f[inside] = np.polynomial.chebyshev.chebval(t, coef)
    h = ax.astype(np.float32).astype(np.float64)
    return np.exp(-h * h) * np.exp(-(ax - h) * (ax + h)) * f / ax


def erf_array(x: np.ndarray) -> np.ndarray:
    """erf of a float array (NumPy has none), within a few ulps of ``math.erf`` in float64; the input's float dtype."""
    a = np.asarray(x, dtype=np.float64)
    small = np.abs(a) < 1.0
    out = np.empty_like(a)
    out[small] = _erf_small(a[small])
    big = ~small
    out[big] = np.copysign(1.0 - _erfc_tail(np.abs(a[big])), a[big])
    return out.astype(x.dtype, copy=False)


def erfc_array(x: np.ndarray) -> np.ndarray:
    """erfc = 1 - erf of a float array, with relative accuracy in the tail (erfc(26) = 5.6e-296, not 0)."""
    a = np.asarray(x, dtype=np.float64)
    small = np.abs(a) < 1.0
    out = np.empty_like(a)
    out[small] = 1.0 - _erf_small(a[small])
    big = ~small
    tail = _erfc_tail(np.abs(a[big]))
    out[big] = np.where(a[big] < 0, 2.0 - tail, tail)
    return out.astype(x.dtype, copy=False)


class Erf(Function):
    """out = erf(a) = 2/sqrt(pi) int_0^a exp(-t^2) dt.  VJP: g * 2/sqrt(pi) * exp(-a^2)."""

    def forward(ctx, a):
        return erf_array(as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g * ((-(a * a)).exp() * _TWO_OVER_SQRT_PI)


class Erfc(Function):
    """out = erfc(a) = 1 - erf(a), accurate where it is tiny.  VJP: -g * 2/sqrt(pi) * exp(-a^2)."""

    def forward(ctx, a):
        return erfc_array(as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g * ((-(a * a)).exp() * -_TWO_OVER_SQRT_PI)


_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))


def _quiet(fn, *arrays: np.ndarray, **kwargs) -> np.ndarray:
    """``fn(*arrays)`` without NumPy's RuntimeWarnings: outside its domain a function answers NaN (or +-inf at a
    pole) silently, as PyTorch does."""
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return fn(*arrays, **kwargs)


class Sin(Function):
    """out = sin(a).  VJP: g * cos(a)."""

    def forward(ctx, a):
        return np.sin(as_float(a))

    def vjp(ctx, g):
        return g * Cos.apply(ctx.inputs[0])


class Cos(Function):
    """out = cos(a).  VJP: -g * sin(a)."""

    def forward(ctx, a):
        return np.cos(as_float(a))

    def vjp(ctx, g):
        return -(g * Sin.apply(ctx.inputs[0]))


class Tan(Function):
    """out = tan(a).  VJP: g * (1 + out^2)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return np.tan(as_float(a))

    def vjp(ctx, g):
        out = ctx.output
        return g * (1 + out * out)


class Asin(Function):
    """out = asin(a) (NaN outside [-1, 1]).  VJP: g / sqrt(1 - a^2)."""

    def forward(ctx, a):
        return _quiet(np.arcsin, as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g / (1 - a * a).sqrt()


class Acos(Function):
    """out = acos(a) (NaN outside [-1, 1]).  VJP: -g / sqrt(1 - a^2)."""

    def forward(ctx, a):
        return _quiet(np.arccos, as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return -g / (1 - a * a).sqrt()


class Atan(Function):
    """out = atan(a).  VJP: g / (1 + a^2)."""

    def forward(ctx, a):
        return np.arctan(as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g / (1 + a * a)


class Sinh(Function):
    """out = sinh(a).  VJP: g * cosh(a)."""

    def forward(ctx, a):
        return _quiet(np.sinh, as_float(a))

    def vjp(ctx, g):
        return g * Cosh.apply(ctx.inputs[0])


class Cosh(Function):
    """out = cosh(a).  VJP: g * sinh(a)."""

    def forward(ctx, a):
        return _quiet(np.cosh, as_float(a))

    def vjp(ctx, g):
        return g * Sinh.apply(ctx.inputs[0])


class Asinh(Function):
    """out = asinh(a).  VJP: g / sqrt(a^2 + 1)."""

    def forward(ctx, a):
        return np.arcsinh(as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g / (a * a + 1).sqrt()


class Acosh(Function):
    """out = acosh(a) (NaN below 1).  VJP: g / (sqrt(a - 1) sqrt(a + 1)) (no cancellation in a^2 - 1 near 1)."""

    def forward(ctx, a):
        return _quiet(np.arccosh, as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g / ((a - 1).sqrt() * (a + 1).sqrt())


class Atanh(Function):
    """out = atanh(a) (NaN outside [-1, 1], +-inf at +-1).  VJP: g / (1 - a^2)."""

    def forward(ctx, a):
        return _quiet(np.arctanh, as_float(a))

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g / (1 - a * a)


class Exp2(Function):
    """out = 2^a.  VJP: g * out * ln 2."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return _quiet(np.exp2, as_float(a))

    def vjp(ctx, g):
        return g * ctx.output * _LN2


class Expm1(Function):
    """out = exp(a) - 1, exact for tiny a.  VJP: g * (out + 1)."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        return _quiet(np.expm1, as_float(a))

    def vjp(ctx, g):
        return g * (ctx.output + 1)


class Log2(Function):
    """out = log2(a).  VJP: g / (a ln 2)."""

    def forward(ctx, a):
        return _quiet(np.log2, as_float(a))

    def vjp(ctx, g):
        return g / (ctx.inputs[0] * _LN2)


class Log10(Function):
    """out = log10(a).  VJP: g / (a ln 10)."""

    def forward(ctx, a):
        return _quiet(np.log10, as_float(a))

    def vjp(ctx, g):
        return g / (ctx.inputs[0] * _LN10)


class Log1p(Function):
    """out = log(1 + a), exact for tiny a.  VJP: g / (1 + a)."""

    def forward(ctx, a):
        return _quiet(np.log1p, as_float(a))

    def vjp(ctx, g):
        return g / (ctx.inputs[0] + 1)


class Rsqrt(Function):
    """out = 1 / sqrt(a).  VJP: -g * out^3 / 2."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        a = as_float(a)
        return _quiet(np.divide, np.ones((), a.dtype), np.sqrt(a))

    def vjp(ctx, g):
        out = ctx.output
        return g * (out * out * out) * -0.5


class Reciprocal(Function):
    """out = 1 / a.  VJP: -g * out^2."""

    save_output = True
    reads_inputs = False  # the VJP reads the output, not the input

    def forward(ctx, a):
        a = as_float(a)
        return _quiet(np.divide, np.ones((), a.dtype), a)

    def vjp(ctx, g):
        out = ctx.output
        return -g * (out * out)


# ---- rounding and sign: integer tensors keep their dtype; the derivative is 0 wherever it exists ------------------
class _Stepwise(Function):
    """A piecewise-constant map: integer and bool tensors come back unchanged (a copy), floats through ``fn``.
    VJP: g * 0 (zero almost everywhere, as PyTorch; still a function of g, so the second order sees it)."""

    reads_inputs = False  # the VJP needs nothing but g

    def vjp(ctx, g):
        return g * 0.0


class Floor(_Stepwise):
    """out = floor(a), the largest integer <= a.  VJP: 0 (g * 0)."""

    def forward(ctx, a):
        return np.floor(a) if a.dtype.kind == "f" else a.copy()


class Ceil(_Stepwise):
    """out = ceil(a), the smallest integer >= a.  VJP: 0 (g * 0)."""

    def forward(ctx, a):
        return np.ceil(a) if a.dtype.kind == "f" else a.copy()


class Trunc(_Stepwise):
    """out = trunc(a), a rounded towards 0.  VJP: 0 (g * 0)."""

    def forward(ctx, a):
        return np.trunc(a) if a.dtype.kind == "f" else a.copy()


class Round(_Stepwise):
    """out = a rounded to ``decimals`` decimal places, halves to even (as PyTorch and NumPy).  VJP: 0 (g * 0)."""

    def forward(ctx, a, decimals=0):
        if a.dtype.kind != "f":
            return np.round(a, decimals) if decimals < 0 and a.dtype.kind in "iu" else a.copy()
        return _quiet(np.round, a, decimals)


class Sign(_Stepwise):
    """out = sign(a) in {-1, 0, 1} (NaN for NaN, as NumPy; PyTorch answers 0 there).  VJP: 0 (g * 0)."""

    def forward(ctx, a):
        return a.copy() if a.dtype == np.bool_ else np.sign(a)


class NanToNum(Function):
    """out = a with NaN, +inf and -inf replaced by ``nan``, ``posinf``, ``neginf`` (None: the dtype's largest and
    smallest finite values).  VJP: g * [a is finite] (as PyTorch)."""

    def forward(ctx, a, nan=0.0, posinf=None, neginf=None):
        if a.dtype.kind != "f":
            return a.copy()
        return _quiet(np.nan_to_num, a, nan=nan, posinf=posinf, neginf=neginf)

    def vjp(ctx, g):
        a = ctx.inputs[0].data
        return g * ctx.constant(np.isfinite(a).astype(a.dtype, copy=False))


# ---- binary float-valued maps (the caller promotes integer operands to float32) --------------------------------
class Atan2(Function):
    """out = atan2(a, b), the angle of the point (b, a) in (-pi, pi].  VJP: (ub(g b / r2), ub(-g a / r2)) with
    r2 = a^2 + b^2 (NaN at the origin, as PyTorch)."""

    def forward(ctx, a, b):
        _binary_check("atan2", a, b)
        return np.arctan2(a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        scaled = g / (a * a + b * b)
        return (unbroadcast(scaled * b, a.shape) if need_a else None,
                unbroadcast(-(scaled * a), b.shape) if need_b else None)


class Hypot(Function):
    """out = sqrt(a^2 + b^2) without overflow or underflow.  VJP: (ub(g a / out), ub(g b / out)) (NaN where
    out = 0, as PyTorch)."""

    save_output = True

    def forward(ctx, a, b):
        _binary_check("hypot", a, b)
        return np.hypot(a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        scaled = g / ctx.output
        return (unbroadcast(scaled * a, a.shape) if need_a else None,
                unbroadcast(scaled * b, b.shape) if need_b else None)


class LogAddExp(Function):
    """out = log(exp(a) + exp(b)), computed as max(a, b) + log1p(exp(-|a - b|)) (no overflow).
    VJP: (ub(g sigmoid(a - b)), ub(g sigmoid(b - a)))."""

    def forward(ctx, a, b):
        _binary_check("logaddexp", a, b)
        return _quiet(np.logaddexp, a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        return (unbroadcast(g * Sigmoid.apply(a - b), a.shape) if need_a else None,
                unbroadcast(g * Sigmoid.apply(b - a), b.shape) if need_b else None)


class Copysign(Function):
    """out = |a| with the sign of b (signed zeros count).  VJP: (ub(g * out / a), taken as 0 where a = 0, as
    PyTorch; ub(g * 0))."""

    def forward(ctx, a, b):
        _binary_check("copysign", a, b)
        return np.copysign(a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        ga = None
        if need_a:
            same = np.signbit(a.data) == np.signbit(b.data)
            ratio = np.where(a.data == 0, 0, np.where(same, 1, -1)).astype(g.dtype, copy=False)
            ga = unbroadcast(g * ctx.constant(ratio), a.shape)
        return ga, (unbroadcast(g * 0.0, b.shape) if need_b else None)


# ---- integer-valued division: remainder (%), floor_divide (//), fmod --------------------------------------------
def _division_check(op: str, a: np.ndarray, b: np.ndarray) -> None:
    _binary_check(op, a, b)
    if a.dtype == np.bool_ or b.dtype == np.bool_:
        raise TypeError(f"{op}: not defined for boolean tensors; convert with .astype(np.int64) first")
    if b.dtype.kind in "iu" and not np.all(b):
        raise DivisionByZeroError(f"{op}: integer division by zero (the divisor of shape {b.shape} has zeros); "
                                  "convert to float for NaN/inf results, or mask the zeros first")


class Remainder(Function):
    """out = a - b * floor(a / b): the sign of b, as Python's % and PyTorch's remainder.
    VJP: (ub(g), ub(-g * floor(a / b))) (the quotient is piecewise constant)."""

    def forward(ctx, a, b):
        _division_check("remainder", a, b)
        return _quiet(np.remainder, a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        gb = None
        if need_b:
            quotient = _quiet(np.floor_divide, a.data, b.data)
            gb = unbroadcast(-(g * ctx.constant(quotient)), b.shape)
        return (unbroadcast(g, a.shape) if need_a else None), gb


class Fmod(Function):
    """out = a - b * trunc(a / b): the sign of a, as C's fmod and PyTorch's fmod.
    VJP: (ub(g), ub(-g * trunc(a / b)))."""

    def forward(ctx, a, b):
        _division_check("fmod", a, b)
        return _quiet(np.fmod, a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        gb = None
        if need_b:
            quotient = _quiet(lambda x, y: np.round((x - np.fmod(x, y)) / y), a.data, b.data)
            gb = unbroadcast(-(g * ctx.constant(quotient)), b.shape)
        return (unbroadcast(g, a.shape) if need_a else None), gb


class FloorDivide(Function):
    """out = floor(a / b) (PyTorch's floor_divide and Python's //).  VJP: (ub(g * 0), ub(g * 0))."""

    reads_inputs = False  # the VJP needs shapes only

    def forward(ctx, a, b):
        _division_check("floor_divide", a, b)
        return _quiet(np.floor_divide, a, b)

    def vjp(ctx, g):
        (sa, sb), (need_a, need_b) = ctx.input_shapes, ctx.needs_input_grad
        zero = g * 0.0
        return (unbroadcast(zero, sa) if need_a else None), (unbroadcast(zero, sb) if need_b else None)
