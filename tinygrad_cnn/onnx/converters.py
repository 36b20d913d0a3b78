"""One converter per primitive: a recorded ``Function`` node -> ONNX nodes.

A converter is ``fn(g, node, inputs) -> str``: ``g`` is the ``build.Graph``, ``node`` the recorded node (its
``params``, ``input_shapes``, ``out_dtype``, ``saved``), ``inputs`` the ONNX names of its inputs in order; it appends
nodes with ``g.op`` and returns the name of the value that holds the node's output. ``register(FunctionClass)``
adds one (the public way to export a custom op); ``CONVERTERS`` holds them all and ``NO_ONNX_EQUIVALENT`` the
primitives that are not converted, each with the reason.

The map, primitive -> ONNX (``(c)`` marks a composite of several ONNX ops, computing the same formula):

* elementwise: Add, Sub, Mul, Div, Neg, Pow, Exp, Log, Sqrt, Abs, Relu, Sigmoid, Tanh, Erf, Sin, Cos, Tan, Asin,
  Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Reciprocal, Floor, Ceil, Sign -> the ONNX op of that name;
  Maximum/Minimum -> Max/Min; Where -> Where; Clip, Hardtanh -> Clip; Cast -> Cast; Fmod -> Mod(fmod=1);
  Round -> Round (decimals: x 10^d, Round, / 10^d); Erfc, Exp2, Expm1, Log2, Log10, Log1p, Rsqrt, Trunc,
  NanToNum, Atan2, Hypot, LogAddExp, Copysign, Remainder, FloorDivide, Softplus, LogSigmoid (c)
* activations: LeakyRelu -> LeakyRelu; Elu -> Elu / Selu / Celu (other scalings (c)); Prelu -> PRelu
* linear algebra: MatMul -> MatMul; Linear -> Gemm(transB=1) (2-D input) or MatMul + Add; Einsum -> Einsum
* convolution: Conv2d -> Conv; ConvTranspose2d, Conv2dInputGrad -> ConvTranspose; Conv2dWeightGrad -> Conv with
  the roles of batch and channels swapped (c); Unfold -> Conv with one-hot kernels + Reshape (c); Fold -> Col2Im
* pooling: MaxPool2d -> MaxPool; AvgPool2d -> AveragePool (ceil_mode or divisor_override: a depthwise Conv with a
  ones kernel times the divisors (c)); AvgPool2dBackward -> ConvTranspose with a ones kernel (c);
  AdaptiveAvgPool2d -> GlobalAveragePool (output 1x1), AveragePool (sizes that divide), else two MatMuls with the
  averaging matrices (c); AdaptiveAvgPool2dBackward -> MatMuls (c); AdaptiveMaxPool2d -> GlobalMaxPool, MaxPool,
  else one ReduceMax per window (c)
* normalisation: BatchNorm (eval) -> BatchNormalization with the module's running_mean / running_var initializers
  (outside a module: the same affine map (c)); BatchNorm (training) -> the batch statistics (c);
  LayerNorm -> LayerNormalization; LogSoftmax -> LogSoftmax (exp(log_softmax) -> Softmax);
  LogSoftmaxBackward (c); NLLLoss -> NegativeLogLikelihoodLoss (class probabilities, smoothing (c));
  BinaryCrossEntropyWithLogits, BinaryCrossEntropy (c)
* reductions: Sum, Prod, Max, Min -> ReduceSum, ReduceProd, ReduceMax, ReduceMin; SafeSqrt -> Sqrt
* movement: Reshape -> Reshape; Permute -> Transpose; Expand -> Expand; Concatenate -> Concat; Pad -> Pad;
  BorderPad -> Pad(reflect / edge / wrap); GetItem -> Slice + Squeeze + Unsqueeze (basic indices), Gather
  (an index array that is a graph input), else a Gather of flat positions (c); IndexAdd, SlidingWindowsAdd,
  BorderPadBackward -> ScatterElements(add) at the positions the forward reads (c); SlidingWindows -> Gather +
  Transpose (c)
* indexing: Gather -> GatherElements (an index from argmax/argmin: ArgMax/ArgMin first; from sort, topk,
  kthvalue, median: TopK; from cummax/cummin: a masked ReduceMax/ReduceMin (c)); ScatterAdd, Scatter,
  ScatterReduce -> ScatterElements (reduction add / none / mul, max, min)
* resampling: Resample2d, Resample2dAdjoint -> MatMuls with the interpolation matrices (c)
* scans: Cumsum -> CumSum; Cumprod -> ReduceProd over a triangular mask (c); LogCumsumExp -> CumSum of the
  shifted exponentials (c); LinearScan -> Scan (body h = a h + b)
* gradient kernels that read the forward's arg-max positions: MaxPool2dScatter / MaxPool2dGather ->
  ScatterElements / Gather at the Indices output of a MaxPool on the forward's input; PlaneScatter / PlaneGather
  (adaptive max pooling's gradient, output sizes that divide) -> the same with the per-plane Indices;
  BatchNormBackward -> the closed-form input gradient with the batch statistics recomputed (c)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..autograd import Function
from ..ops import (
    activation,
    batchnorm,
    conv,
    elementwise,
    indexing,
    linalg,
    movement,
    normalization,
    padding,
    pool,
    reduce,
    resample,
    scan,
    softmax,
    sort,
)
from .build import BATCH, Graph

INT64_MAX = np.iinfo(np.int64).max


class UnsupportedOperatorError(RuntimeError):
    """A recorded primitive that has no converter (the error names it, where it came from and what to do)."""


@dataclass(frozen=True)
class Converter:
    """A registered converter: the function, and the params it handles when they change with the batch size or the
    input values (the exporter refuses any other param that changes)."""

    fn: Callable[[Graph, Function, list[str]], str]
    dynamic: tuple[str, ...] = ()


CONVERTERS: dict[type, Converter] = {}

#: primitives that are not converted, and why (the error for one of them says this); every primitive of the package
#: has a converter today, some of them for the cases stated in their docstrings only
NO_ONNX_EQUIVALENT: dict[str, str] = {}


def register(cls: type, *, dynamic: tuple[str, ...] = ()) -> Callable:
    """Decorator: ``@register(MyFunction)`` makes ``fn(g, node, inputs) -> output name`` the converter of the
    primitive ``MyFunction`` (replacing any earlier one). ``dynamic`` names params that may change with the batch
    size or input values, which the converter then handles itself (``g.twin(node)`` is the node of the second
    trace)."""
    if not (isinstance(cls, type) and issubclass(cls, Function)):
        raise TypeError(f"onnx.register: expected a Function subclass, got {cls!r}")

    def decorate(fn: Callable) -> Callable:
        if not callable(fn):
            raise TypeError(f"onnx.register({cls.__name__}): the converter must be callable, got {fn!r}")
        CONVERTERS[cls] = Converter(fn, tuple(dynamic))
        return fn

    return decorate


def converter_for(cls: type) -> Converter | None:
    """The converter registered for exactly ``cls`` (a subclass may compute something else: it needs its own)."""
    return CONVERTERS.get(cls)


# ---- helpers -----------------------------------------------------------------------------------------------------
def _as_out(g: Graph, node: Function, inputs: list[str], which: Any = None) -> list[str]:
    """The inputs cast to the node's output dtype (NumPy promoted them; ONNX wants one dtype)."""
    positions = range(len(inputs)) if which is None else which
    out = list(inputs)
    for i in positions:
        out[i] = g.cast(inputs[i], node._arrays[i].dtype, node.out_dtype)
    return out


def _scalar(g: Graph, node: Function, value: float) -> str:
    return g.scalar(value, node.out_dtype)


def _reduce(g: Graph, op: str, x: str, axes: Any, keepdims: bool) -> str:
    """``op`` (ReduceSum, ReduceMax...) over ``axes`` (None: all); axes as an input from opset 18 (ReduceSum: 13)."""
    if axes is not None and len(axes) == 0:
        return g.op("Identity", x)
    if axes is None:
        return g.op(op, x, keepdims=int(keepdims))
    if op == "ReduceSum" or g.opset >= 18:
        return g.op(op, x, g.ints(axes), keepdims=int(keepdims))
    return g.op(op, x, axes=[int(a) for a in axes], keepdims=int(keepdims))


def _stable_softplus(g: Graph, node: Function, z: str) -> str:
    """max(z, 0) + log(1 + exp(-|z|)): never overflows."""
    soft = g.op("Log", g.op("Add", _scalar(g, node, 1.0), g.op("Exp", g.op("Neg", g.op("Abs", z)))))
    return g.op("Add", g.op("Relu", z), soft)


def _unsupported(g: Graph, node: Function, why: str) -> UnsupportedOperatorError:
    return UnsupportedOperatorError(f"onnx.export: {g.describe(node)}: {why}")


def _pads(padding: Any) -> list[int]:
    return [int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])]


def _per_sample_map(g: Graph, dims: list, fn: Callable[[np.ndarray], np.ndarray], node: Function):
    """(positions, batched): ``fn`` applied to the flat positions of an array of shape ``dims``. With a batch axis
    first, ``fn`` must keep it (the same map on every sample): the positions are then per sample."""
    if dims and dims[0] is BATCH:
        rest = [int(d) for d in dims[1:]]
        m = math.prod(rest)
        for n in (2, 3):  # the same map for any batch size: row b of the result reads sample b
            full = fn(np.arange(n * m, dtype=np.int64).reshape([n, *rest]))
            per = full[0] if full.ndim and full.shape[0] == n else None
            if per is None or not np.array_equal(full, per[None] + (np.arange(n) * m).reshape((n,) + (1,) * per.ndim)):
                raise _unsupported(g, node, "its index does not keep the batch axis first with the same map for "
                                            "every sample (NumPy moves separated index arrays to the front); the "
                                            "export cannot make it work for any batch size. Index the samples "
                                            "alike, or export with dynamic_batch=False")
        return per, True
    if any(d is BATCH for d in dims):
        raise _unsupported(g, node, "its index reads along a batch axis that is not the first; export with "
                                    "dynamic_batch=False")
    return fn(np.arange(math.prod(dims), dtype=np.int64).reshape(dims)), False


def _gather_positions(g: Graph, x: str, positions: np.ndarray, batched: bool, out_dims: list) -> str:
    """x read at flat ``positions`` (per sample when ``batched``), shaped to ``out_dims``."""
    if batched:
        flat = g.op("Reshape", x, g.shape([BATCH, -1]))
        got = g.op("Gather", flat, g.ints(positions.reshape(-1)), axis=1)
    else:
        flat = g.op("Reshape", x, g.ints([-1]))
        got = g.op("Gather", flat, g.ints(positions.reshape(-1)), axis=0)
    return g.op("Reshape", got, g.shape(out_dims), allowzero=1 if 0 in out_dims else None)


def _scatter_positions(g: Graph, node: Function, src: str, positions: np.ndarray, batched: bool,
                       out_dims: list) -> str:
    """zeros of ``out_dims`` with src's elements added at flat ``positions`` (src's shape, per sample when
    ``batched``)."""
    dtype = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    zero = g.onnx.helper.make_tensor("zero", dtype, [1], [0])
    if batched:
        m = math.prod(int(d) for d in out_dims[1:])
        k = positions.size
        zeros = g.op("ConstantOfShape", g.shape([BATCH, m]), value=zero)
        updates = g.op("Reshape", src, g.shape([BATCH, k]))
        index = g.op("Expand", g.const(positions.reshape(1, k).astype(np.int64)), g.shape([BATCH, k]))
        out = g.op("ScatterElements", zeros, index, updates, axis=1, reduction="add")
    else:
        m = math.prod(int(d) for d in out_dims)
        zeros = g.op("ConstantOfShape", g.ints([m]), value=zero)
        updates = g.op("Reshape", src, g.ints([-1]))
        out = g.op("ScatterElements", zeros, g.ints(positions.reshape(-1)), updates, axis=0, reduction="add")
    return g.op("Reshape", out, g.shape(out_dims), allowzero=1 if 0 in out_dims else None)


# ---- elementwise -------------------------------------------------------------------------------------------------
def _simple(cls: type, onnx_op: str) -> None:
    def convert(g: Graph, node: Function, inputs: list[str]) -> str:
        return g.op(onnx_op, *_as_out(g, node, inputs))
    convert.__doc__ = f"{cls.__name__} -> {onnx_op}"
    register(cls)(convert)


for _cls, _op in [
    (elementwise.Add, "Add"), (elementwise.Sub, "Sub"), (elementwise.Mul, "Mul"), (elementwise.Div, "Div"),
    (elementwise.Neg, "Neg"), (elementwise.Pow, "Pow"), (elementwise.Exp, "Exp"), (elementwise.Log, "Log"),
    (elementwise.Sqrt, "Sqrt"), (elementwise.Abs, "Abs"), (elementwise.Relu, "Relu"),
    (elementwise.Sigmoid, "Sigmoid"), (elementwise.Tanh, "Tanh"), (elementwise.Erf, "Erf"),
    (elementwise.Sin, "Sin"), (elementwise.Cos, "Cos"), (elementwise.Tan, "Tan"), (elementwise.Asin, "Asin"),
    (elementwise.Acos, "Acos"), (elementwise.Atan, "Atan"), (elementwise.Sinh, "Sinh"),
    (elementwise.Cosh, "Cosh"), (elementwise.Asinh, "Asinh"), (elementwise.Acosh, "Acosh"),
    (elementwise.Atanh, "Atanh"), (elementwise.Reciprocal, "Reciprocal"), (elementwise.Floor, "Floor"),
    (elementwise.Ceil, "Ceil"), (elementwise.Sign, "Sign"), (elementwise.Maximum, "Max"),
    (elementwise.Minimum, "Min"), (reduce.SafeSqrt, "Sqrt"),
]:
    _simple(_cls, _op)


@register(elementwise.Exp)
def _exp(g: Graph, node: Function, inputs: list[str]) -> str:
    """Exp -> Exp; exp(log_softmax(x)) -> Softmax(x)."""
    producer = node.next[0]
    if isinstance(producer, softmax.LogSoftmax) and len(producer.input_shapes[0]):
        return g.op("Softmax", g.inputs_of(producer)[0], axis=int(producer.params["axis"]))
    return g.op("Exp", *_as_out(g, node, inputs))


@register(elementwise.Where)
def _where(g: Graph, node: Function, inputs: list[str]) -> str:
    """Where -> Where (the condition stays boolean)."""
    return g.op("Where", *_as_out(g, node, inputs, which=(1, 2)))


@register(elementwise.Clip)
def _clip(g: Graph, node: Function, inputs: list[str]) -> str:
    """Clip(low, high) -> Clip(x, min, max)."""
    p = node.params
    low = None if p["low"] is None else _scalar(g, node, p["low"])
    high = None if p["high"] is None else _scalar(g, node, p["high"])
    return g.op("Clip", *_as_out(g, node, inputs), low, high)


@register(activation.Hardtanh)
def _hardtanh(g: Graph, node: Function, inputs: list[str]) -> str:
    """Hardtanh(min_val, max_val) -> Clip."""
    p = node.params
    return g.op("Clip", inputs[0], _scalar(g, node, p["min_val"]), _scalar(g, node, p["max_val"]))


@register(elementwise.Cast)
def _cast(g: Graph, node: Function, inputs: list[str]) -> str:
    """Cast -> Cast(to)."""
    return g.op("Cast", inputs[0], to=g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype)))


@register(elementwise.Erfc)
def _erfc(g: Graph, node: Function, inputs: list[str]) -> str:
    """Erfc -> 1 - Erf(x)."""
    return g.op("Sub", _scalar(g, node, 1.0), g.op("Erf", *_as_out(g, node, inputs)))


@register(elementwise.Exp2)
def _exp2(g: Graph, node: Function, inputs: list[str]) -> str:
    """Exp2 -> Pow(2, x)."""
    return g.op("Pow", _scalar(g, node, 2.0), *_as_out(g, node, inputs))


@register(elementwise.Expm1)
def _expm1(g: Graph, node: Function, inputs: list[str]) -> str:
    """Expm1 -> Exp(x) - 1."""
    return g.op("Sub", g.op("Exp", *_as_out(g, node, inputs)), _scalar(g, node, 1.0))


def _log_over(constant: float) -> Callable:
    def convert(g: Graph, node: Function, inputs: list[str]) -> str:
        return g.op("Div", g.op("Log", *_as_out(g, node, inputs)), _scalar(g, node, constant))
    return convert


register(elementwise.Log2)(_log_over(math.log(2.0)))
register(elementwise.Log10)(_log_over(math.log(10.0)))


@register(elementwise.Log1p)
def _log1p(g: Graph, node: Function, inputs: list[str]) -> str:
    """Log1p -> Log(1 + x)."""
    return g.op("Log", g.op("Add", *_as_out(g, node, inputs), _scalar(g, node, 1.0)))


@register(elementwise.Rsqrt)
def _rsqrt(g: Graph, node: Function, inputs: list[str]) -> str:
    """Rsqrt -> Reciprocal(Sqrt(x))."""
    return g.op("Reciprocal", g.op("Sqrt", *_as_out(g, node, inputs)))


@register(elementwise.Trunc)
def _trunc(g: Graph, node: Function, inputs: list[str]) -> str:
    """Trunc -> Where(x < 0, Ceil(x), Floor(x))."""
    (x,) = inputs
    return g.op("Where", g.op("Less", x, _scalar(g, node, 0.0)), g.op("Ceil", x), g.op("Floor", x))


@register(elementwise.Round)
def _round(g: Graph, node: Function, inputs: list[str]) -> str:
    """Round -> Round (halves to even); decimals d: Round(x 10^d) / 10^d."""
    d = int(node.params["decimals"])
    if d == 0:
        return g.op("Round", inputs[0])
    scale = _scalar(g, node, 10.0 ** d)
    return g.op("Div", g.op("Round", g.op("Mul", inputs[0], scale)), scale)


@register(elementwise.NanToNum)
def _nan_to_num(g: Graph, node: Function, inputs: list[str]) -> str:
    """NanToNum -> nested Where on IsNaN / IsInf."""
    (x,) = inputs
    p, info = node.params, np.finfo(node.out_dtype)
    posinf = info.max if p["posinf"] is None else p["posinf"]
    neginf = info.min if p["neginf"] is None else p["neginf"]
    out = g.op("Where", g.op("IsInf", x, detect_positive=0), _scalar(g, node, neginf), x)
    out = g.op("Where", g.op("IsInf", x, detect_negative=0), _scalar(g, node, posinf), out)
    return g.op("Where", g.op("IsNaN", x), _scalar(g, node, p["nan"]), out)


@register(elementwise.Atan2)
def _atan2(g: Graph, node: Function, inputs: list[str]) -> str:
    """Atan2(a, b) -> Atan(a / b) moved to the quadrant of (b, a) with Where (c)."""
    a, b = _as_out(g, node, inputs)
    zero, pi = _scalar(g, node, 0.0), _scalar(g, node, math.pi)
    base = g.op("Atan", g.op("Div", a, b))
    left = g.op("Where", g.op("GreaterOrEqual", a, zero), g.op("Add", base, pi), g.op("Sub", base, pi))
    on_axis = g.op("Where", g.op("Greater", a, zero), _scalar(g, node, math.pi / 2),
                   g.op("Where", g.op("Less", a, zero), _scalar(g, node, -math.pi / 2), zero))
    return g.op("Where", g.op("Greater", b, zero), base, g.op("Where", g.op("Less", b, zero), left, on_axis))


@register(elementwise.Hypot)
def _hypot(g: Graph, node: Function, inputs: list[str]) -> str:
    """Hypot -> Sqrt(a a + b b)."""
    a, b = _as_out(g, node, inputs)
    return g.op("Sqrt", g.op("Add", g.op("Mul", a, a), g.op("Mul", b, b)))


@register(elementwise.LogAddExp)
def _logaddexp(g: Graph, node: Function, inputs: list[str]) -> str:
    """LogAddExp -> max(a, b) + log(1 + exp(-|a - b|))."""
    a, b = _as_out(g, node, inputs)
    gap = g.op("Exp", g.op("Neg", g.op("Abs", g.op("Sub", a, b))))
    return g.op("Add", g.op("Max", a, b), g.op("Log", g.op("Add", _scalar(g, node, 1.0), gap)))


@register(elementwise.Copysign)
def _copysign(g: Graph, node: Function, inputs: list[str]) -> str:
    """Copysign -> Where(b < 0, -|a|, |a|) (a negative zero b counts as positive here)."""
    a, b = _as_out(g, node, inputs)
    magnitude = g.op("Abs", a)
    return g.op("Where", g.op("Less", b, _scalar(g, node, 0.0)), g.op("Neg", magnitude), magnitude)


@register(elementwise.Fmod)
def _fmod(g: Graph, node: Function, inputs: list[str]) -> str:
    """Fmod -> Mod(fmod=1)."""
    return g.op("Mod", *_as_out(g, node, inputs), fmod=1)


@register(elementwise.Remainder)
def _remainder(g: Graph, node: Function, inputs: list[str]) -> str:
    """Remainder -> r = Mod(a, b, fmod=1), plus b where r is non-zero and its sign differs from b's."""
    a, b = _as_out(g, node, inputs)
    zero = _scalar(g, node, 0.0)
    r = g.op("Mod", a, b, fmod=1)
    fix = g.op("And", g.op("Not", g.op("Equal", r, zero)), g.op("Xor", g.op("Less", r, zero), g.op("Less", b, zero)))
    return g.op("Where", fix, g.op("Add", r, b), r)


@register(elementwise.FloorDivide)
def _floor_divide(g: Graph, node: Function, inputs: list[str]) -> str:
    """FloorDivide -> Floor(a / b)."""
    return g.op("Floor", g.op("Div", *_as_out(g, node, inputs)))


@register(elementwise.Softplus)
def _softplus(g: Graph, node: Function, inputs: list[str]) -> str:
    """Softplus(beta, threshold) -> (max(bx, 0) + log(1 + exp(-|bx|))) / b, and x where bx > threshold (c)."""
    (x,) = inputs
    beta, threshold = float(node.params["beta"]), float(node.params["threshold"])
    z = x if beta == 1.0 else g.op("Mul", x, _scalar(g, node, beta))
    soft = _stable_softplus(g, node, z)
    if beta != 1.0:
        soft = g.op("Div", soft, _scalar(g, node, beta))
    if math.isinf(threshold) and threshold > 0:
        return soft
    return g.op("Where", g.op("Greater", z, _scalar(g, node, threshold)), x, soft)


@register(activation.LogSigmoid)
def _logsigmoid(g: Graph, node: Function, inputs: list[str]) -> str:
    """LogSigmoid -> min(x, 0) - log(1 + exp(-|x|)) (c)."""
    (x,) = inputs
    tail = g.op("Log", g.op("Add", _scalar(g, node, 1.0), g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    return g.op("Sub", g.op("Min", x, _scalar(g, node, 0.0)), tail)


# ---- activations -------------------------------------------------------------------------------------------------
@register(activation.LeakyRelu)
def _leaky_relu(g: Graph, node: Function, inputs: list[str]) -> str:
    """LeakyRelu(negative_slope) -> LeakyRelu(alpha)."""
    return g.op("LeakyRelu", inputs[0], alpha=float(node.params["negative_slope"]))


@register(activation.Elu)
def _elu(g: Graph, node: Function, inputs: list[str]) -> str:
    """Elu -> Elu (elu), Selu (selu), Celu (celu), else Where(x > 0, s x, s a (exp(i min(x, 0)) - 1)) (c)."""
    (x,) = inputs
    p = node.params
    alpha, scale, input_scale = float(p["alpha"]), float(p["scale"]), float(p["input_scale"])
    if scale == 1.0 and input_scale == 1.0:
        return g.op("Elu", x, alpha=alpha)
    if input_scale == 1.0 and math.isclose(alpha, 1.6732632423543772) and math.isclose(scale, 1.0507009873554805):
        return g.op("Selu", x, alpha=alpha, gamma=scale)
    if scale == 1.0 and math.isclose(input_scale, 1.0 / alpha, rel_tol=1e-12):
        return g.op("Celu", x, alpha=alpha)
    zero = _scalar(g, node, 0.0)
    inner = g.op("Mul", g.op("Min", x, zero), _scalar(g, node, input_scale))
    negative = g.op("Mul", g.op("Sub", g.op("Exp", inner), _scalar(g, node, 1.0)), _scalar(g, node, scale * alpha))
    return g.op("Where", g.op("Greater", x, zero), g.op("Mul", x, _scalar(g, node, scale)), negative)


@register(activation.Prelu)
def _prelu(g: Graph, node: Function, inputs: list[str]) -> str:
    """Prelu -> PRelu (the slope broadcasts against x)."""
    return g.op("PRelu", *_as_out(g, node, inputs))


# ---- linear algebra ----------------------------------------------------------------------------------------------
@register(linalg.MatMul)
def _matmul(g: Graph, node: Function, inputs: list[str]) -> str:
    """MatMul -> MatMul (NumPy's rules are ONNX's)."""
    return g.op("MatMul", *_as_out(g, node, inputs))


@register(linalg.Linear)
def _linear(g: Graph, node: Function, inputs: list[str]) -> str:
    """Linear -> Gemm(x, w, b, transB=1) for a 2-D x, else MatMul(x, w^T) (+ b)."""
    if len(node.input_shapes[0]) == 2:
        return g.op("Gemm", *inputs, transB=1)
    out = g.op("MatMul", inputs[0], g.op("Transpose", inputs[1], perm=[1, 0]))
    return g.op("Add", out, inputs[2]) if len(inputs) == 3 else out


@register(linalg.Einsum)
def _einsum(g: Graph, node: Function, inputs: list[str]) -> str:
    """Einsum -> Einsum (letters renamed to lower case when there are at most 26)."""
    equation = node.params["equation"]
    letters = sorted({c for c in equation if c.isalpha()})
    if len(letters) <= 26:
        table = {c: chr(ord("a") + i) for i, c in enumerate(letters)}
        equation = "".join(table.get(c, c) for c in equation)
    return g.op("Einsum", *_as_out(g, node, inputs), equation=equation)


# ---- convolution -------------------------------------------------------------------------------------------------
@register(conv.Conv2d)
def _conv2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """Conv2d -> Conv(strides, pads, dilations, group)."""
    p = node.params
    kernel = list(node.input_shapes[1][2:])
    return g.op("Conv", *inputs, kernel_shape=kernel, strides=list(p["stride"]), pads=_pads(p["padding"]),
                dilations=list(p["dilation"]), group=int(p["groups"]))


@register(conv.ConvTranspose2d)
def _conv_transpose2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """ConvTranspose2d -> ConvTranspose(strides, pads, output_padding, dilations, group)."""
    p = node.params
    kernel = list(node.input_shapes[1][2:])
    return g.op("ConvTranspose", *inputs, kernel_shape=kernel, strides=list(p["stride"]), pads=_pads(p["padding"]),
                output_padding=list(p["output_padding"]), dilations=list(p["dilation"]), group=int(p["groups"]))


@register(conv.Conv2dInputGrad, dynamic=("input_shape",))
def _conv_input_grad(g: Graph, node: Function, inputs: list[str]) -> str:
    """Conv2dInputGrad -> ConvTranspose whose output_padding reaches the input's size."""
    p = node.params
    kernel = node.input_shapes[1][2:]
    out_hw = node.input_shapes[0][2:]
    extra = [int(h) - ((o - 1) * s - 2 * q + d * (k - 1) + 1)
             for h, o, s, q, d, k in zip(p["input_shape"][2:], out_hw, p["stride"], p["padding"], p["dilation"],
                                         kernel)]
    return g.op("ConvTranspose", *inputs, kernel_shape=list(kernel), strides=list(p["stride"]),
                pads=_pads(p["padding"]), output_padding=extra, dilations=list(p["dilation"]), group=int(p["groups"]))


@register(conv.Conv2dWeightGrad, dynamic=("weight_shape",))
def _conv_weight_grad(g: Graph, node: Function, inputs: list[str]) -> str:
    """Conv2dWeightGrad -> Conv(x^T, g^T) with strides and dilations swapped, cut to the kernel, transposed back
    (batch and channels exchange roles) (c); groups = 1 only."""
    p = node.params
    if p["groups"] != 1:
        raise _unsupported(g, node, "the weight gradient of a grouped convolution is not converted; export "
                                    "without differentiating through the grouped conv")
    x_t = g.op("Transpose", inputs[0], perm=[1, 0, 2, 3])
    g_t = g.op("Transpose", inputs[1], perm=[1, 0, 2, 3])
    full = g.op("Conv", x_t, g_t, strides=list(p["dilation"]), dilations=list(p["stride"]), pads=_pads(p["padding"]))
    kh, kw = p["weight_shape"][2:]
    cut = g.op("Slice", full, g.ints([0, 0]), g.ints([kh, kw]), g.ints([2, 3]))
    return g.op("Transpose", cut, perm=[1, 0, 2, 3])


@register(conv.Unfold)
def _unfold(g: Graph, node: Function, inputs: list[str]) -> str:
    """Unfold -> a depthwise Conv with one-hot kernels (C kh kw output channels) + Reshape to (N, C kh kw, L) (c)."""
    p = node.params
    c = node.input_shapes[0][1]
    kh, kw = p["kernel_size"]
    eye = np.eye(kh * kw, dtype=node.out_dtype).reshape(kh * kw, 1, kh, kw)
    weight = g.const(np.tile(eye, (c, 1, 1, 1)), name="unfold_kernel")
    cols = g.op("Conv", inputs[0], weight, kernel_shape=[kh, kw], strides=list(p["stride"]),
                pads=_pads(p["padding"]), dilations=list(p["dilation"]), group=int(c))
    return g.op("Reshape", cols, g.shape(g.out_dims(node)))


@register(conv.Fold)
def _fold(g: Graph, node: Function, inputs: list[str]) -> str:
    """Fold -> Col2Im (opset 18)."""
    if g.opset < 18:
        raise _unsupported(g, node, "Col2Im needs opset 18 or later; export with opset=18")
    p = node.params
    return g.op("Col2Im", inputs[0], g.ints(p["output_size"]), g.ints(p["kernel_size"]),
                dilations=list(p["dilation"]), pads=_pads(p["padding"]), strides=list(p["stride"]))


# ---- pooling -----------------------------------------------------------------------------------------------------
@register(pool.MaxPool2d)
def _max_pool2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """MaxPool2d -> MaxPool(kernel_shape, strides, pads, dilations, ceil_mode)."""
    p = node.params
    return g.op("MaxPool", inputs[0], kernel_shape=list(p["kernel_size"]), strides=list(p["stride"]),
                pads=_pads(p["padding"]), dilations=list(p["dilation"]), ceil_mode=int(bool(p["ceil_mode"])))


def _window_sums(g: Graph, node: Function, x: str, channels: int, kernel: Any, stride: Any, pads: Any) -> str:
    """The sum of each window (zero padding ``pads`` = ((top, bottom), (left, right))): a depthwise ones Conv."""
    ones = g.const(np.ones((channels, 1, *kernel), node.out_dtype), name="ones_kernel")
    return g.op("Conv", x, ones, kernel_shape=list(kernel), strides=list(stride), group=int(channels),
                pads=[int(pads[0][0]), int(pads[1][0]), int(pads[0][1]), int(pads[1][1])])


@register(pool.AvgPool2d)
def _avg_pool2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """AvgPool2d -> AveragePool(count_include_pad); with ceil_mode or divisor_override, the window sums (a ones
    Conv) times PyTorch's divisors (c)."""
    p = node.params
    if not p["ceil_mode"] and p["divisor_override"] is None:
        return g.op("AveragePool", inputs[0], kernel_shape=list(p["kernel_size"]), strides=list(p["stride"]),
                    pads=_pads(p["padding"]), count_include_pad=int(bool(p["count_include_pad"])))
    shape = node.input_shapes[0]
    _, pads, scale = pool._avg_scale(shape, p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"],
                                     p["count_include_pad"], p["divisor_override"], node.out_dtype)
    sums = _window_sums(g, node, inputs[0], shape[1], p["kernel_size"], p["stride"], pads)
    return g.op("Mul", sums, g.const(scale, name="divisors"))


@register(pool.AvgPool2dBackward, dynamic=("input_shape",))
def _avg_pool2d_backward(g: Graph, node: Function, inputs: list[str]) -> str:
    """AvgPool2dBackward -> ConvTranspose of g / divisor with a ones kernel, sized to the input (c)."""
    p = node.params
    shape, g_shape = p["input_shape"], node.input_shapes[0]
    _, pads, scale = pool._avg_scale(shape, p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"],
                                     p["count_include_pad"], p["divisor_override"], node.out_dtype)
    scaled = g.op("Mul", inputs[0], g.const(scale, name="divisors"))
    ones = g.const(np.ones((shape[1], 1, *p["kernel_size"]), node.out_dtype), name="ones_kernel")
    extra = [int(shape[2 + a]) - ((g_shape[2 + a] - 1) * p["stride"][a] + p["kernel_size"][a] - pads[a][0] -
                                  pads[a][1]) for a in range(2)]
    return g.op("ConvTranspose", scaled, ones, kernel_shape=list(p["kernel_size"]), strides=list(p["stride"]),
                group=int(shape[1]), pads=[pads[0][0], pads[1][0], pads[0][1], pads[1][1]], output_padding=extra)


def _adaptive_matrices(node: Function, hw: Any, out: Any) -> tuple[np.ndarray, np.ndarray]:
    return (pool.adaptive_matrix(int(hw[0]), int(out[0]), np.dtype(node.out_dtype)),
            pool.adaptive_matrix(int(hw[1]), int(out[1]), np.dtype(node.out_dtype)))


@register(pool.AdaptiveAvgPool2d)
def _adaptive_avg_pool2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """AdaptiveAvgPool2d -> GlobalAveragePool (1x1), AveragePool (sizes that divide), else A_h x A_w^T (c)."""
    hw, out = node.input_shapes[0][2:], tuple(node.params["output_size"])
    if out == (1, 1):
        return g.op("GlobalAveragePool", inputs[0])
    if hw[0] % out[0] == 0 and hw[1] % out[1] == 0:
        k = [hw[0] // out[0], hw[1] // out[1]]
        return g.op("AveragePool", inputs[0], kernel_shape=k, strides=k)
    a_h, a_w = _adaptive_matrices(node, hw, out)
    rows = g.op("MatMul", g.const(a_h, name="avg_rows"), inputs[0])
    return g.op("MatMul", rows, g.const(np.ascontiguousarray(a_w.T), name="avg_cols"))


@register(pool.AdaptiveAvgPool2dBackward, dynamic=("input_shape",))
def _adaptive_avg_pool2d_backward(g: Graph, node: Function, inputs: list[str]) -> str:
    """AdaptiveAvgPool2dBackward -> A_h^T g A_w (c)."""
    hw, out = node.params["input_shape"][2:], node.input_shapes[0][2:]
    a_h, a_w = _adaptive_matrices(node, hw, out)
    rows = g.op("MatMul", g.const(np.ascontiguousarray(a_h.T), name="avg_rows_t"), inputs[0])
    return g.op("MatMul", rows, g.const(a_w, name="avg_cols_t"))


@register(pool.AdaptiveMaxPool2d)
def _adaptive_max_pool2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """AdaptiveMaxPool2d -> GlobalMaxPool (1x1), MaxPool (sizes that divide), else one ReduceMax per window (c)."""
    hw, out = node.input_shapes[0][2:], tuple(node.params["output_size"])
    if out == (1, 1):
        return g.op("GlobalMaxPool", inputs[0])
    if hw[0] % out[0] == 0 and hw[1] % out[1] == 0:
        k = [hw[0] // out[0], hw[1] // out[1]]
        return g.op("MaxPool", inputs[0], kernel_shape=k, strides=k)
    (hs, he), (ws, we) = pool.adaptive_bounds(hw[0], out[0]), pool.adaptive_bounds(hw[1], out[1])
    rows = []
    for i in range(out[0]):
        cells = [_reduce(g, "ReduceMax", g.op("Slice", inputs[0], g.ints([hs[i], ws[j]]), g.ints([he[i], we[j]]),
                                              g.ints([2, 3])), (2, 3), True) for j in range(out[1])]
        rows.append(g.op("Concat", *cells, axis=3))
    return g.op("Concat", *rows, axis=2)


def _pool_source(g: Graph, node: Function, array: Any, forward: type) -> Function:
    """The ``forward`` node (MaxPool2d, AdaptiveMaxPool2d) that saved ``array`` (the arg-max positions a gradient
    kernel reads), converted already; UnsupportedOperatorError otherwise."""
    owner = g.owner_of(array)
    if not isinstance(owner, forward) or not g.converted(owner):
        raise _unsupported(g, node, f"its positions were not saved by a recorded {forward.__name__} of this graph "
                                    "(they were computed outside it, e.g. max_pool2d(return_indices=True) indices); "
                                    "only the gradient of a recorded max pooling is converted")
    return owner


def _max_pool_indices(g: Graph, pool_node: Function) -> str:
    """The flat (N C H W) arg-max positions of a recorded MaxPool2d, recomputed by MaxPool's Indices output."""
    p = pool_node.params
    _, indices = g.op("MaxPool", g.inputs_of(pool_node)[0], n_out=2, kernel_shape=list(p["kernel_size"]),
                      strides=list(p["stride"]), pads=_pads(p["padding"]), dilations=list(p["dilation"]),
                      ceil_mode=int(bool(p["ceil_mode"])))
    return indices


def _zeros_like_input(g: Graph, node: Function, source: str) -> str:
    dtype = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    return g.op("ConstantOfShape", g.op("Shape", source), value=g.onnx.helper.make_tensor("zero", dtype, [1], [0]))


@register(pool.MaxPool2dScatter, dynamic=("index", "input_shape"))
def _max_pool2d_scatter(g: Graph, node: Function, inputs: list[str]) -> str:
    """MaxPool2dScatter -> ScatterElements(add) of g, flattened, at the Indices of a MaxPool on the forward's input
    (the max pooling's gradient) (c)."""
    source = _pool_source(g, node, node.params["index"], pool.MaxPool2d)
    x = g.inputs_of(source)[0]
    flat_zeros = g.op("Reshape", _zeros_like_input(g, node, x), g.ints([-1]))
    indices = g.op("Reshape", _max_pool_indices(g, source), g.ints([-1]))
    added = g.op("ScatterElements", flat_zeros, indices, g.op("Reshape", inputs[0], g.ints([-1])), axis=0,
                 reduction="add")
    return g.op("Reshape", added, g.op("Shape", x))


@register(pool.MaxPool2dGather, dynamic=("index",))
def _max_pool2d_gather(g: Graph, node: Function, inputs: list[str]) -> str:
    """MaxPool2dGather -> u, flattened, read (Gather) at the Indices of a MaxPool on the forward's input (c)."""
    source = _pool_source(g, node, node.params["index"], pool.MaxPool2d)
    indices = _max_pool_indices(g, source)
    got = g.op("Gather", g.op("Reshape", inputs[0], g.ints([-1])), g.op("Reshape", indices, g.ints([-1])), axis=0)
    return g.op("Reshape", got, g.op("Shape", indices))


def _adaptive_max_indices(g: Graph, pool_node: Function) -> str:
    """The per-plane flat (row * W + column) arg-max positions of a recorded AdaptiveMaxPool2d: MaxPool's Indices
    modulo H W when the windows tile the plane (output 1x1 or sizes that divide)."""
    hw, out = pool_node.input_shapes[0][2:], tuple(pool_node.params["output_size"])
    if hw[0] % out[0] or hw[1] % out[1]:
        raise UnsupportedOperatorError(f"onnx.export: the gradient of {g.describe(pool_node)} is converted for "
                                       "output sizes that divide the input's only")
    k = [hw[0] // out[0], hw[1] // out[1]]
    _, indices = g.op("MaxPool", g.inputs_of(pool_node)[0], n_out=2, kernel_shape=k, strides=k)
    return g.op("Mod", indices, g.ints([hw[0] * hw[1]]))


@register(pool.PlaneScatter, dynamic=("indices",))
def _plane_scatter(g: Graph, node: Function, inputs: list[str]) -> str:
    """PlaneScatter (the adaptive max pooling's gradient) -> ScatterElements of g into zero planes at the
    arg-max positions, recomputed from the forward's input (c)."""
    p = node.params
    source = _pool_source(g, node, p["indices"], pool.AdaptiveMaxPool2d)
    h, w = p["plane_hw"]
    dims = g.in_dims(node, 0)
    planes = g.op("Reshape", inputs[0], g.shape([dims[0], dims[1], -1]))
    indices = g.op("Reshape", _adaptive_max_indices(g, source), g.shape([dims[0], dims[1], -1]))
    dtype = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    zeros = g.op("ConstantOfShape", g.shape([dims[0], dims[1], h * w]),
                 value=g.onnx.helper.make_tensor("zero", dtype, [1], [0]))
    added = g.op("ScatterElements", zeros, indices, planes, axis=2,
                 reduction="add" if p["accumulate"] else None)
    return g.op("Reshape", added, g.shape([dims[0], dims[1], h, w]))


@register(pool.PlaneGather, dynamic=("indices",))
def _plane_gather(g: Graph, node: Function, inputs: list[str]) -> str:
    """PlaneGather -> GatherElements of u's planes at the adaptive max pooling's arg-max positions (c)."""
    source = _pool_source(g, node, node.params["indices"], pool.AdaptiveMaxPool2d)
    dims = g.in_dims(node, 0)
    planes = g.op("Reshape", inputs[0], g.shape([dims[0], dims[1], -1]))
    indices = _adaptive_max_indices(g, source)
    flat = g.op("Reshape", indices, g.shape([dims[0], dims[1], -1]))
    got = g.op("GatherElements", planes, flat, axis=2)
    return g.op("Reshape", got, g.op("Shape", indices))


# ---- normalisation and losses --------------------------------------------------------------------------------------
def _channel_shape(ndim: int) -> list[int]:
    return [1, -1] + [1] * (ndim - 2)


@register(batchnorm.BatchNorm)
def _batch_norm(g: Graph, node: Function, inputs: list[str]) -> str:
    """BatchNorm, eval -> BatchNormalization with the calling module's running_mean / running_var (outside a
    module: (x - mean) * (inv_std * weight) + bias with the statistics as constants (c)); training -> the batch's
    mean and biased variance over every axis but 1 (c)."""
    p = node.params
    x = inputs[0]
    ndim = len(node.input_shapes[0])
    c = node.input_shapes[0][1]
    dtype = node.out_dtype
    weight = inputs[1] if p["has_weight"] else None
    bias = inputs[-1] if p["has_bias"] else None
    shape = g.ints(_channel_shape(ndim))
    if p["training"]:
        axes = batchnorm.reduced_axes(ndim)
        mean = _reduce(g, "ReduceMean", x, axes, True)
        centred = g.op("Sub", x, mean)
        var = _reduce(g, "ReduceMean", g.op("Mul", centred, centred), axes, True)
        out = g.op("Div", centred, g.op("Sqrt", g.op("Add", var, _scalar(g, node, p["eps"]))))
        if weight is not None:
            out = g.op("Mul", out, g.op("Reshape", weight, shape))
        return out if bias is None else g.op("Add", out, g.op("Reshape", bias, shape))
    _, inv_std, mean, _ = node.saved  # eval mode: (None, inv_std, running mean, None)
    module = node.scope[-1] if node.scope else None
    running = [getattr(module, name, None) for name in ("running_mean", "running_var")]
    if all(r is not None for r in running) and np.array_equal(running[0].data, mean, equal_nan=True) and np.allclose(
            1.0 / np.sqrt(running[1].data.astype(np.float64) + p["eps"]), inv_std, rtol=1e-6, equal_nan=True):
        scale = weight if weight is not None else g.const(np.ones(c, dtype), name="bn_scale")
        shift = bias if bias is not None else g.const(np.zeros(c, dtype), name="bn_bias")
        return g.op("BatchNormalization", x, scale, shift, g.leaf(running[0]), g.leaf(running[1]),
                    epsilon=float(p["eps"]))
    factor = g.const(inv_std.reshape(_channel_shape(ndim)), name="bn_inv_std")
    if weight is not None:
        factor = g.op("Mul", factor, g.op("Reshape", weight, shape))
    out = g.op("Mul", g.op("Sub", x, g.const(mean.reshape(_channel_shape(ndim)), name="bn_mean")), factor)
    return out if bias is None else g.op("Add", out, g.op("Reshape", bias, shape))


@register(normalization.LayerNorm)
def _layer_norm(g: Graph, node: Function, inputs: list[str]) -> str:
    """LayerNorm -> LayerNormalization(axis = -normalized_ndim, epsilon) (no weight: a ones scale)."""
    p = node.params
    k = int(p["normalized_ndim"])
    trailing = node.input_shapes[0][len(node.input_shapes[0]) - k:]
    scale = inputs[1] if p["has_weight"] else g.const(np.ones(trailing, node.out_dtype), name="ln_scale")
    # a bias is always given: onnxruntime 1.32's graph optimizer crashes on a LayerNormalization without one
    bias = inputs[-1] if p["has_bias"] else g.const(np.zeros(trailing, node.out_dtype), name="ln_bias")
    return g.op("LayerNormalization", inputs[0], scale, bias, axis=-k, epsilon=float(p["eps"]))


@register(softmax.LogSoftmax)
def _log_softmax(g: Graph, node: Function, inputs: list[str]) -> str:
    """LogSoftmax -> LogSoftmax(axis) (a 0-d input: x - x)."""
    if not node.input_shapes[0]:
        return g.op("Sub", inputs[0], inputs[0])
    return g.op("LogSoftmax", inputs[0], axis=int(node.params["axis"]))


@register(softmax.LogSoftmaxBackward)
def _log_softmax_backward(g: Graph, node: Function, inputs: list[str]) -> str:
    """LogSoftmaxBackward -> g - exp(y) sum(g, axis) (c)."""
    grad, y = inputs
    if not node.input_shapes[0]:
        total = grad
    else:
        total = _reduce(g, "ReduceSum", grad, (int(node.params["axis"]) % len(node.input_shapes[0]),), True)
    return g.op("Sub", grad, g.op("Mul", g.op("Exp", y), total))


@register(softmax.NLLLoss, dynamic=("target",))
def _nll_loss(g: Graph, node: Function, inputs: list[str]) -> str:
    """NLLLoss -> NegativeLogLikelihoodLoss(reduction, ignore_index, weight) for class indices; class
    probabilities q: -sum_c q w logp, reduced (c); smoothing e (indices, no weight or ignore_index):
    (1 - e) nll - e / C sum_c logp (c)."""
    p = node.params
    logp = inputs[0]
    c = node.input_shapes[0][1]
    e, reduction = float(p["smoothing"]), p["reduction"]
    weight = None if p["weight"] is None else g.const(np.asarray(p["weight"]).astype(node.out_dtype), name="weight")
    if len(inputs) == 2:  # class probabilities
        q = g.cast(inputs[1], node._arrays[1].dtype, node.out_dtype)
        if e:
            q = g.op("Add", g.op("Mul", q, _scalar(g, node, 1.0 - e)), _scalar(g, node, e / c))
        terms = g.op("Mul", q, logp)
        if weight is not None:
            terms = g.op("Mul", terms, g.op("Reshape", weight, g.ints(_channel_shape(len(node.input_shapes[0])))))
        loss = g.op("Neg", _reduce(g, "ReduceSum", terms, [1], False))
        if reduction == "none":
            return loss
        return _reduce(g, "ReduceSum" if reduction == "sum" else "ReduceMean", loss, None, False)
    target = g.array_input(p["target"])
    if target is None:
        if not np.array_equal(p["target"], g.twin(node).params["target"]):
            raise _unsupported(g, node, "its target changes with the input but is not one of the graph inputs; "
                                        "pass the targets as an input of the exported function")
        target = g.const(np.asarray(p["target"]).astype(np.int64), name="target")
    else:
        target = g.cast(target, np.asarray(p["target"]).dtype, np.int64)
    if not e:
        return g.op("NegativeLogLikelihoodLoss", logp, target, weight, reduction=reduction,
                    ignore_index=None if p["ignore_index"] is None else int(p["ignore_index"]))
    if weight is not None or p["ignore_index"] is not None:
        raise _unsupported(g, node, "label smoothing together with class weights or ignore_index is not converted")
    picked = g.op("NegativeLogLikelihoodLoss", logp, target, reduction="none")
    spread = _reduce(g, "ReduceSum", logp, [1], False)
    loss = g.op("Sub", g.op("Mul", picked, _scalar(g, node, 1.0 - e)), g.op("Mul", spread, _scalar(g, node, e / c)))
    if reduction == "none":
        return loss
    return _reduce(g, "ReduceSum" if reduction == "sum" else "ReduceMean", loss, None, False)


@register(softmax.BinaryCrossEntropyWithLogits)
def _bce_with_logits(g: Graph, node: Function, inputs: list[str]) -> str:
    """BinaryCrossEntropyWithLogits -> r y (s - min(x, 0)) + (1 - y)(s - min(-x, 0)), s = log(1 + exp(-|x|)) (c)."""
    xs = _as_out(g, node, inputs)
    x, y = xs[:2]
    zero, one = _scalar(g, node, 0.0), _scalar(g, node, 1.0)
    soft = g.op("Log", g.op("Add", one, g.op("Exp", g.op("Neg", g.op("Abs", x)))))
    positive = g.op("Mul", y, g.op("Sub", soft, g.op("Min", x, zero)))
    if len(xs) == 3:
        positive = g.op("Mul", xs[2], positive)
    negative = g.op("Mul", g.op("Sub", one, y), g.op("Sub", soft, g.op("Min", g.op("Neg", x), zero)))
    return g.op("Add", positive, negative)


@register(softmax.BinaryCrossEntropy)
def _bce(g: Graph, node: Function, inputs: list[str]) -> str:
    """BinaryCrossEntropy -> (y - 1) max(log(1 - p), -100) - y max(log p, -100) (c)."""
    p, y = _as_out(g, node, inputs)
    one, floor = _scalar(g, node, 1.0), _scalar(g, node, softmax.BCE_LOG_FLOOR)
    log_p = g.op("Max", g.op("Log", p), floor)
    log_q = g.op("Max", g.op("Log", g.op("Sub", one, p)), floor)
    return g.op("Sub", g.op("Mul", g.op("Sub", y, one), log_q), g.op("Mul", y, log_p))


@register(batchnorm.BatchNormBackward)
def _batch_norm_backward(g: Graph, node: Function, inputs: list[str]) -> str:
    """BatchNormBackward -> w inv_std (g - mean(g) - x_hat mean(g x_hat)), with the batch statistics of x
    recomputed (means over every axis but 1) (c)."""
    grad, x = inputs[:2]
    ndim = len(node.input_shapes[1])
    axes = batchnorm.reduced_axes(ndim)
    centred = g.op("Sub", x, _reduce(g, "ReduceMean", x, axes, True))
    var = _reduce(g, "ReduceMean", g.op("Mul", centred, centred), axes, True)
    inv_std = g.op("Reciprocal", g.op("Sqrt", g.op("Add", var, _scalar(g, node, node.params["eps"]))))
    x_hat = g.op("Mul", centred, inv_std)
    inner = g.op("Sub", g.op("Sub", grad, _reduce(g, "ReduceMean", grad, axes, True)),
                 g.op("Mul", x_hat, _reduce(g, "ReduceMean", g.op("Mul", grad, x_hat), axes, True)))
    scale = inv_std
    if len(inputs) == 3:
        scale = g.op("Mul", inv_std, g.op("Reshape", inputs[2], g.ints(_channel_shape(ndim))))
    return g.op("Mul", inner, scale)


# ---- reductions ----------------------------------------------------------------------------------------------------
def _reduction(onnx_op: str) -> Callable:
    def convert(g: Graph, node: Function, inputs: list[str]) -> str:
        (axes,) = node.saved
        x = g.cast(inputs[0], node._arrays[0].dtype, node.out_dtype)
        return _reduce(g, onnx_op, x, tuple(int(a) for a in axes), bool(node.params["keepdims"]))
    convert.__doc__ = f"-> {onnx_op}(axes, keepdims)"
    return convert


register(reduce.Sum)(_reduction("ReduceSum"))
register(reduce.Prod)(_reduction("ReduceProd"))
register(reduce.Max)(_reduction("ReduceMax"))
register(reduce.Min)(_reduction("ReduceMin"))


# ---- movement ------------------------------------------------------------------------------------------------------
@register(movement.Reshape, dynamic=("shape",))
def _reshape(g: Graph, node: Function, inputs: list[str]) -> str:
    """Reshape -> Reshape; an entry that is the batch size becomes the run-time batch size."""
    target = np.atleast_1d(np.asarray(node.params["shape"], dtype=np.int64)).tolist()
    twin = np.atleast_1d(np.asarray(g.twin(node).params["shape"], dtype=np.int64)).tolist()
    changed = [k for k, (a, b) in enumerate(zip(target, twin)) if a != b]
    if len(target) == len(twin) and len(changed) == 1 and -1 not in target and g._mark(
            tuple(target), tuple(twin))[changed[0]] is not BATCH:
        target[changed[0]] = -1  # the one entry that grows with the batch (batch * features): inferred
        return g.op("Reshape", inputs[0], g.ints(target))
    marked = g.batch_entries(target, twin, "the target shape", node)
    dims = g.in_dims(node, 0)
    if marked and marked[0] is BATCH and dims and dims[0] is BATCH and sum(m is BATCH for m in marked) == 1 \
            and 0 not in marked:
        return g.op("Reshape", inputs[0], g.ints([0, *marked[1:]]))  # 0: keep the input's (batch) size
    return g.op("Reshape", inputs[0], g.shape(marked), allowzero=1 if 0 in marked else None)


@register(movement.Permute)
def _permute(g: Graph, node: Function, inputs: list[str]) -> str:
    """Permute -> Transpose(perm)."""
    n = len(node.input_shapes[0])
    return g.op("Transpose", inputs[0], perm=[int(a) % n for a in node.params["axes"]])


@register(movement.Expand, dynamic=("shape",))
def _expand(g: Graph, node: Function, inputs: list[str]) -> str:
    """Expand -> Expand to the output's shape (the batch size at run time)."""
    return g.op("Expand", inputs[0], g.shape(g.out_dims(node)))


def _is_basic(index: Any) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, slice) or (isinstance(p, (int, np.integer))
                                                                      and not isinstance(p, bool)) for p in parts)


def _basic_getitem(g: Graph, node: Function, x: str, index: Any) -> str:
    """ints, slices, None and Ellipsis -> one Slice, then Squeeze (the int axes) and Unsqueeze (the None axes)."""
    parts = list(index) if isinstance(index, tuple) else [index]
    ndim = len(node.input_shapes[0])
    used = sum(1 for p in parts if p is not None and p is not Ellipsis)
    if Ellipsis in parts:
        k = parts.index(Ellipsis)
        parts[k:k + 1] = [slice(None)] * (ndim - used)
    else:
        parts += [slice(None)] * (ndim - used)
    starts, ends, axes, steps, squeeze, unsqueeze = [], [], [], [], [], []
    axis = out_axis = 0
    for p in parts:
        if p is None:
            unsqueeze.append(out_axis)
            out_axis += 1
            continue
        if isinstance(p, slice):
            if p != slice(None):
                step = 1 if p.step is None else int(p.step)
                default_start, default_end = (0, INT64_MAX) if step > 0 else (INT64_MAX, -INT64_MAX)
                starts.append(default_start if p.start is None else int(p.start))
                ends.append(default_end if p.stop is None else int(p.stop))
                axes.append(axis)
                steps.append(step)
            out_axis += 1
        else:
            i = int(p)
            starts.append(i)
            ends.append(i + 1 if i != -1 else INT64_MAX)
            axes.append(axis)
            steps.append(1)
            squeeze.append(axis)
        axis += 1
    out = x
    if axes:
        out = g.op("Slice", out, g.ints(starts), g.ints(ends), g.ints(axes), g.ints(steps))
    if squeeze:
        out = g.op("Squeeze", out, g.ints(squeeze))
    if unsqueeze:
        out = g.op("Unsqueeze", out, g.ints(unsqueeze))
    return out if out is not x else g.op("Identity", x)


@register(movement.GetItem, dynamic=("index",))
def _getitem(g: Graph, node: Function, inputs: list[str]) -> str:
    """GetItem -> Slice/Squeeze/Unsqueeze for basic indices, Gather for an index array that is a graph input
    (an embedding lookup), else a Gather of the flat positions the index reads (c)."""
    index, twin = node.params["index"], g.twin(node).params["index"]
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu" and g.array_input(index) is not None:
        ids = g.cast(g.array_input(index), index.dtype, np.int64)
        return g.op("Gather", inputs[0], ids, axis=0)
    from_trace = _same_index(index, twin)
    if _is_basic(index) and not from_trace and _is_basic(twin):
        index = _end_relative(index, twin, node.input_shapes[0], g.twin(node).input_shapes[0])
        from_trace = index is not None
    if _is_basic(index) and from_trace:
        return _basic_getitem(g, node, inputs[0], index)
    if not from_trace:
        raise _unsupported(g, node, f"its index {_short(index)} changes with the input's values or batch size "
                                    "(computed outside the graph, e.g. from a comparison or argmax); the exported "
                                    "graph would keep the example's index. Index with a fixed index, or pass the "
                                    "index as an input of the exported function")
    dims = g.in_dims(node, 0)
    positions, batched = _per_sample_map(g, dims, lambda a: a[index], node)
    return _gather_positions(g, inputs[0], positions, batched, g.out_dims(node))


def _end_relative(a: Any, b: Any, shape_a: tuple, shape_b: tuple) -> Any:
    """One basic index that does what ``a`` does on ``shape_a`` and ``b`` on ``shape_b`` (the two traces), by
    counting from the end where they differ (a slice(0, n) of the batch axis is slice(0, None)); None if none."""
    parts_a = list(a) if isinstance(a, tuple) else [a]
    parts_b = list(b) if isinstance(b, tuple) else [b]
    if len(parts_a) != len(parts_b) or Ellipsis in parts_a or Ellipsis in parts_b:
        return None
    out, axis = [], 0
    for x, y in zip(parts_a, parts_b):
        if x is None or y is None:
            if x is not y:
                return None
            out.append(None)
            continue
        if _same_index(x, y):
            out.append(x)
        elif isinstance(x, slice) and isinstance(y, slice) and axis < len(shape_a):
            na, nb = shape_a[axis], shape_b[axis]
            (sa, ea, ta), (sb, eb, tb) = x.indices(na), y.indices(nb)
            if ta != 1 or tb != 1 or ea - na != eb - nb or not (sa == sb or sa - na == sb - nb):
                return None
            start = sa if sa == sb else sa - na
            out.append(slice(start, None if ea == na else ea - na))
        else:
            return None
        axis += 1
    return tuple(out)


def _same_index(a: Any, b: Any) -> bool:
    parts_a = a if isinstance(a, tuple) else (a,)
    parts_b = b if isinstance(b, tuple) else (b,)
    if len(parts_a) != len(parts_b):
        return False
    for x, y in zip(parts_a, parts_b):
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray) and x.shape == y.shape
                    and np.array_equal(x, y)):
                return False
        elif isinstance(x, slice) and isinstance(y, slice):
            if (x.start, x.stop, x.step) != (y.start, y.stop, y.step):
                return False
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _short(index: Any) -> str:
    text = repr(index)
    return text if len(text) <= 60 else text[:57] + "..."


@register(movement.IndexAdd, dynamic=("shape", "index"))
def _index_add(g: Graph, node: Function, inputs: list[str]) -> str:
    """IndexAdd -> ScatterElements(add) onto zeros at the flat positions getitem reads (c)."""
    p, twin = node.params, g.twin(node).params
    if not _same_index(p["index"], twin["index"]):
        raise _unsupported(g, node, "its index changes with the input; it was computed outside the graph")
    dims = g.batch_entries(p["shape"], twin["shape"], "the output shape", node)
    positions, batched = _per_sample_map(g, dims, lambda a: a[p["index"]], node)
    return _scatter_positions(g, node, inputs[0], positions, batched, dims)


@register(movement.Pad)
def _pad(g: Graph, node: Function, inputs: list[str]) -> str:
    """Pad -> Pad(mode constant, pads = befores + afters, constant_value)."""
    pairs = node.params["pad_width"]
    pads = [int(b) for b, _ in pairs] + [int(e) for _, e in pairs]
    return g.op("Pad", inputs[0], g.ints(pads), _scalar(g, node, node.params["value"]), mode="constant")


@register(padding.BorderPad)
def _border_pad(g: Graph, node: Function, inputs: list[str]) -> str:
    """BorderPad -> Pad(mode reflect / edge / wrap); wrap before opset 19: a Gather of the positions (c)."""
    pairs, mode = node.params["pad_width"], node.params["mode"]
    if mode == "circular" and g.opset < 19:
        dims = g.in_dims(node, 0)
        positions, batched = _per_sample_map(g, dims, lambda a: np.pad(a, pairs, mode="wrap"), node)
        return _gather_positions(g, inputs[0], positions, batched, g.out_dims(node))
    pads = [int(b) for b, _ in pairs] + [int(e) for _, e in pairs]
    onnx_mode = {"reflect": "reflect", "replicate": "edge", "circular": "wrap"}[mode]
    return g.op("Pad", inputs[0], g.ints(pads), mode=onnx_mode)


@register(padding.BorderPadBackward, dynamic=("input_shape",))
def _border_pad_backward(g: Graph, node: Function, inputs: list[str]) -> str:
    """BorderPadBackward -> ScatterElements(add) of g onto the positions BorderPad copied from (c)."""
    p, twin = node.params, g.twin(node).params
    dims = g.batch_entries(p["input_shape"], twin["input_shape"], "the input shape", node)
    mode = padding.NUMPY_MODE[p["mode"]]
    positions, batched = _per_sample_map(g, dims, lambda a: np.pad(a, p["pad_width"], mode=mode), node)
    return _scatter_positions(g, node, inputs[0], positions, batched, dims)


@register(movement.Concatenate)
def _concatenate(g: Graph, node: Function, inputs: list[str]) -> str:
    """Concatenate -> Concat(axis)."""
    return g.op("Concat", *_as_out(g, node, inputs), axis=int(node.params["axis"]) % len(node.input_shapes[0]))


@register(movement.SlidingWindows)
def _sliding_windows(g: Graph, node: Function, inputs: list[str]) -> str:
    """SlidingWindows -> Gather(axis=dim) of the (count, size) window positions, then Transpose the window axis
    last (c)."""
    p = node.params
    dim, size, step = int(p["dim"]), int(p["size"]), int(p["step"])
    dims = g.in_dims(node, 0)
    if dims[dim] is BATCH:
        raise _unsupported(g, node, "windows along the batch axis depend on the batch size; export with "
                                    "dynamic_batch=False")
    count = (int(dims[dim]) - size) // step + 1
    index = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    got = g.op("Gather", inputs[0], g.const(index.astype(np.int64), name="windows"),
               axis=dim)
    ndim = len(dims) + 1
    perm = [a for a in range(ndim) if a != dim + 1] + [dim + 1]
    return g.op("Transpose", got, perm=perm)


@register(movement.SlidingWindowsAdd, dynamic=("shape",))
def _sliding_windows_add(g: Graph, node: Function, inputs: list[str]) -> str:
    """SlidingWindowsAdd -> ScatterElements(add) at the positions the windows read (c)."""
    p, twin = node.params, g.twin(node).params
    dims = g.batch_entries(p["shape"], twin["shape"], "the output shape", node)
    dim, size, step = int(p["dim"]), int(p["size"]), int(p["step"])

    def windows(a: np.ndarray) -> np.ndarray:
        view = np.lib.stride_tricks.sliding_window_view(a, size, axis=dim)
        return view[(slice(None),) * dim + (slice(None, None, step),)]

    positions, batched = _per_sample_map(g, dims, windows, node)
    return _scatter_positions(g, node, inputs[0], positions, batched, dims)


# ---- indexing ------------------------------------------------------------------------------------------------------
def _cut_to_index(g: Graph, node: Function, x: str, index_shape: tuple, dim: int) -> str:
    """x sliced to the index's extent on every axis but ``dim`` (PyTorch's gather reads only those)."""
    shape = node.input_shapes[0]
    axes = [k for k in range(len(shape)) if k != dim and index_shape[k] < shape[k]]
    if not axes:
        return x
    return g.op("Slice", x, g.ints([0] * len(axes)), g.ints([index_shape[k] for k in axes]), g.ints(axes))


@register(indexing.Gather, dynamic=("index",))
def _gather(g: Graph, node: Function, inputs: list[str]) -> str:
    """Gather -> GatherElements(axis=dim); an index that is the argmax / argmin along dim (max(dim), min(dim)):
    ArgMax / ArgMin(keepdims=1) first, so it is computed at run time."""
    p, twin = node.params, g.twin(node)
    index, dim = np.asarray(p["index"]), int(p["dim"])
    if index.ndim == 0 or not node.input_shapes[0]:
        raise _unsupported(g, node, "a gather from a 0-d tensor or with a 0-d index is not converted")
    def is_extreme(n: Function, numpy_fn: Callable) -> bool:
        a = n._arrays[0]
        idx = n.params["index"]
        return idx.shape == a.shape[:dim] + (1,) + a.shape[dim + 1:] and np.array_equal(
            idx, np.expand_dims(numpy_fn(a, axis=dim), dim))

    for onnx_op, numpy_fn in (("ArgMax", np.argmax), ("ArgMin", np.argmin)):
        if is_extreme(node, numpy_fn) and is_extreme(twin, numpy_fn):
            found = g.op(onnx_op, inputs[0], axis=dim, keepdims=1)
            return g.op("GatherElements", inputs[0], found, axis=dim)
    selected = _selection(g, node, twin, inputs[0], dim)
    if selected is not None:
        return selected
    found = _index(g, node)
    if found is None:
        raise _unsupported(g, node, "its index changes with the input (computed outside the graph: a sort, topk, "
                                    "median...); only a fixed index, or max/min along a dim, is converted")
    x = _cut_to_index(g, node, inputs[0], index.shape, dim)
    return g.op("GatherElements", x, found, axis=dim)


def _index(g: Graph, node: Function) -> str | None:
    """The index param as an ONNX value: an initializer when fixed; when it only grows with the batch, the same
    for every sample (an index broadcast over the batch), one sample's index expanded to the batch; else None."""
    index, other = np.asarray(node.params["index"]), np.asarray(g.twin(node).params["index"])
    if index.shape == other.shape and np.array_equal(index, other):
        return g.const(index.astype(np.int64), name="index")
    marked = g._mark(index.shape, other.shape)
    if index.ndim and marked[0] is BATCH and index.shape[1:] == other.shape[1:] and np.all(
            index == index[:1]) and np.all(other == index[:1]):
        one = g.const(index[:1].astype(np.int64), name="index")
        return g.op("Expand", one, g.shape(marked))
    return None


def _selection(g: Graph, node: Function, twin: Function, x: str, dim: int) -> str | None:
    """A Gather whose index selects by value in both traces, computed at run time: the first k of a stable sort
    (sort, topk) -> TopK values; position j of it (kthvalue, median) -> TopK(j + 1) values, the last kept; the
    running extreme's positions (cummax / cummin) -> ReduceMax / ReduceMin over a triangular mask (c). Values
    that tie are equal, so the order TopK gives them does not change the result. None when no rule fits."""
    def index_of(n: Function) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(n.params["index"]), n._arrays[0]

    (ia, aa), (ib, ab) = index_of(node), index_of(twin)
    if ia.ndim != aa.ndim or ib.ndim != ab.ndim or aa.dtype.kind != "f":
        return None
    n, k = aa.shape[dim], ia.shape[dim]
    if ib.shape[dim] != k or any(ia.shape[a] != aa.shape[a] for a in range(aa.ndim) if a != dim):
        return None
    for descending in (False, True):
        sa, sb = (sort.sort_indices(a, dim, descending) for a in (aa, ab))
        for j in ([0] if k > 1 else range(n)):
            if np.array_equal(ia, np.take(sa, np.arange(j, j + k), axis=dim)) and np.array_equal(
                    ib, np.take(sb, np.arange(j, j + k), axis=dim)):
                values, _ = g.op("TopK", x, g.ints([j + k]), n_out=2, axis=dim, largest=int(descending), sorted=1)
                if j == 0:
                    return values
                return g.op("Slice", values, g.ints([j]), g.ints([j + 1]), g.ints([dim]))
    if k == n:
        for largest in (True, False):
            if np.array_equal(ia, sort.running_extreme_indices(aa, dim, largest)) and np.array_equal(
                    ib, sort.running_extreme_indices(ab, dim, largest)):
                return _running_extreme(g, node, x, dim, n, largest)
    return None


def _running_extreme(g: Graph, node: Function, x: str, dim: int, n: int, largest: bool) -> str:
    """out_k = max (min) of x_j over j <= k along ``dim``: ReduceMax (ReduceMin) of Where(j <= k, x, -inf (+inf))
    with the axis moved last (c)."""
    ndim = len(node.input_shapes[0])
    perm = [a for a in range(ndim) if a != dim] + [dim]
    moved = x if dim == ndim - 1 else g.op("Transpose", x, perm=perm)
    rows, cols = np.arange(n)[:, None], np.arange(n)[None, :]
    mask = g.const(cols <= rows, name="running_mask")
    fill = _scalar(g, node, -math.inf if largest else math.inf)
    spread = g.op("Where", mask, g.op("Unsqueeze", moved, g.ints([ndim - 1])), fill)
    out = _reduce(g, "ReduceMax" if largest else "ReduceMin", spread, (ndim,), False)
    return out if dim == ndim - 1 else g.op("Transpose", out, perm=[int(a) for a in np.argsort(perm)])


def _static_index(g: Graph, node: Function) -> str:
    found = _index(g, node)
    if found is None:
        raise _unsupported(g, node, "its index changes with the input (computed outside the graph); only a fixed "
                                    "index is converted")
    return found


@register(indexing.ScatterAdd, dynamic=("shape",))
def _scatter_add(g: Graph, node: Function, inputs: list[str]) -> str:
    """ScatterAdd -> ScatterElements(zeros of shape, index, src, reduction add)."""
    p = node.params
    index = _static_index(g, node)
    dims = g.batch_entries(p["shape"], g.twin(node).params["shape"], "the output shape", node)
    dtype = g.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    zeros = g.op("ConstantOfShape", g.shape(dims), value=g.onnx.helper.make_tensor("zero", dtype, [1], [0]))
    return g.op("ScatterElements", zeros, index, inputs[0], axis=int(p["dim"]), reduction="add")


@register(indexing.Scatter)
def _scatter(g: Graph, node: Function, inputs: list[str]) -> str:
    """Scatter -> ScatterElements (indices that repeat are refused: ONNX leaves their order undefined)."""
    p = node.params
    index = _static_index(g, node)
    t = indexing.flat_targets(np.asarray(p["index"]), int(p["dim"]), node.input_shapes[0]).reshape(-1)
    if len(np.unique(t)) != t.size:
        raise _unsupported(g, node, "its index writes some positions twice; ONNX's ScatterElements leaves the "
                                    "winner undefined. Use an index without repeats")
    a, src = _as_out(g, node, inputs)
    return g.op("ScatterElements", a, index, src, axis=int(p["dim"]))


@register(indexing.ScatterReduce)
def _scatter_reduce(g: Graph, node: Function, inputs: list[str]) -> str:
    """ScatterReduce(prod / amax / amin, include_self=True) -> ScatterElements(reduction mul / max / min)."""
    p = node.params
    if not p["include_self"]:
        raise _unsupported(g, node, "include_self=False has no ONNX equivalent (ScatterElements always reduces "
                                    "with the existing value)")
    if p["reduce"] in ("amax", "amin") and g.opset < 18:
        raise _unsupported(g, node, "ScatterElements with max/min needs opset 18 or later")
    reduction = {"prod": "mul", "amax": "max", "amin": "min"}[p["reduce"]]
    a, src = _as_out(g, node, inputs)
    return g.op("ScatterElements", a, _static_index(g, node), src, axis=int(p["dim"]), reduction=reduction)


# ---- resampling and scans ------------------------------------------------------------------------------------------
def _resample_matrices(node: Function, input_hw: Any) -> list[tuple[int, np.ndarray | None]]:
    p = node.params
    out = []
    for a in range(2):
        key = (int(input_hw[a]), int(p["size"][a]), p["mode"], bool(p["align_corners"]), p["scales"][a])
        taps = resample.axis_taps(*key)
        out.append((2 + a, None if taps is None else resample.axis_matrix(*key, np.dtype(node.out_dtype))))
    return out


@register(resample.Resample2d)
def _resample2d(g: Graph, node: Function, inputs: list[str]) -> str:
    """Resample2d -> M_h x M_w^T, the interpolation matrices of the mode (every mode, align_corners, scales) (c)."""
    out = inputs[0]
    for axis, m in _resample_matrices(node, node.input_shapes[0][2:]):
        if m is None:
            continue
        if axis == 2:
            out = g.op("MatMul", g.const(m, name="resize_rows"), out)
        else:
            out = g.op("MatMul", out, g.const(np.ascontiguousarray(m.T), name="resize_cols"))
    return out if out is not inputs[0] else g.op("Identity", out)


@register(resample.Resample2dAdjoint)
def _resample2d_adjoint(g: Graph, node: Function, inputs: list[str]) -> str:
    """Resample2dAdjoint -> M_h^T g M_w (c)."""
    out = inputs[0]
    for axis, m in _resample_matrices(node, node.params["input_hw"]):
        if m is None:
            continue
        if axis == 2:
            out = g.op("MatMul", g.const(np.ascontiguousarray(m.T), name="resize_rows_t"), out)
        else:
            out = g.op("MatMul", out, g.const(m, name="resize_cols_t"))
    return out if out is not inputs[0] else g.op("Identity", out)


@register(scan.Cumsum)
def _cumsum(g: Graph, node: Function, inputs: list[str]) -> str:
    """Cumsum -> CumSum(axis, reverse)."""
    p = node.params
    axis = g.const(np.asarray(int(p["axis"]), np.int64), name="axis")
    return g.op("CumSum", inputs[0], axis, reverse=int(bool(p["reverse"])))


@register(scan.Cumprod)
def _cumprod(g: Graph, node: Function, inputs: list[str]) -> str:
    """Cumprod -> ReduceProd over the last axis of Where(mask, x, 1), mask[k, j] = j <= k (reverse: j >= k), with
    the scanned axis moved last and back (c)."""
    p = node.params
    axis, ndim = int(p["axis"]), len(node.input_shapes[0])
    n = node.input_shapes[0][axis]
    perm = [a for a in range(ndim) if a != axis] + [axis]
    moved = inputs[0] if axis == ndim - 1 else g.op("Transpose", inputs[0], perm=perm)
    rows, cols = np.arange(n)[:, None], np.arange(n)[None, :]
    mask = g.const(cols >= rows if p["reverse"] else cols <= rows, name="scan_mask")
    spread = g.op("Where", mask, g.op("Unsqueeze", moved, g.ints([ndim - 1])), _scalar(g, node, 1.0))
    out = _reduce(g, "ReduceProd", spread, (ndim,), False)
    return out if axis == ndim - 1 else g.op("Transpose", out, perm=[int(a) for a in np.argsort(perm)])


@register(scan.LogCumsumExp)
def _logcumsumexp(g: Graph, node: Function, inputs: list[str]) -> str:
    """LogCumsumExp -> log(CumSum(exp(x - m))) + m, m = max along the axis (c)."""
    axis = int(node.params["axis"])
    m = _reduce(g, "ReduceMax", inputs[0], (axis,), True)
    total = g.op("CumSum", g.op("Exp", g.op("Sub", inputs[0], m)), g.const(np.asarray(axis, np.int64), name="axis"))
    return g.op("Add", g.op("Log", total), m)


@register(scan.LinearScan)
def _linear_scan(g: Graph, node: Function, inputs: list[str]) -> str:
    """LinearScan -> Scan with the body h = a_k h + b_k (scan direction from ``reverse``), h_(-1) = 0."""
    p = node.params
    axis = int(p["axis"])
    helper = g.onnx.helper
    dtype = helper.np_dtype_to_tensor_dtype(np.dtype(node.out_dtype))
    a, b = _as_out(g, node, inputs)
    first = g.op("Gather", b, g.const(np.asarray(0, np.int64), name="first"), axis=axis)
    h0 = g.op("ConstantOfShape", g.op("Shape", first), value=helper.make_tensor("zero", dtype, [1], [0]))
    body = helper.make_graph(
        [helper.make_node("Mul", ["a_k", "h"], ["ah"]), helper.make_node("Add", ["ah", "b_k"], ["h_next"]),
         helper.make_node("Identity", ["h_next"], ["h_out"])],
        "linear_scan_step",
        [helper.make_tensor_value_info(n, dtype, None) for n in ("h", "a_k", "b_k")],
        [helper.make_tensor_value_info(n, dtype, None) for n in ("h_next", "h_out")])
    direction = [int(bool(p["reverse"]))] * 2
    _, out = g.op("Scan", h0, a, b, n_out=2, body=body, num_scan_inputs=2, scan_input_axes=[axis, axis],
                  scan_output_axes=[axis], scan_input_directions=direction, scan_output_directions=direction[:1])
    return out


def all_primitives() -> list[type]:
    """Every primitive of the package: the public Function subclasses defined in ``tinygrad_cnn.ops``."""
    found, todo = [], list(Function.__subclasses__())
    seen: set[type] = set()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("tinygrad_cnn.ops.") and not cls.__name__.startswith("_"):
            found.append(cls)
    return sorted(found, key=lambda c: (c.__module__, c.__name__))


def coverage() -> dict[str, Any]:
    """Export coverage: ``{"converted": [...], "not_converted": {name: reason}, "unlisted": [...], "ratio": float}``
    over ``all_primitives()`` (``unlisted``: neither converted nor explained, which a test forbids)."""
    prims = all_primitives()
    converted = [c.__name__ for c in prims if converter_for(c) is not None]
    missing = {c.__name__: NO_ONNX_EQUIVALENT[c.__name__] for c in prims
               if converter_for(c) is None and c.__name__ in NO_ONNX_EQUIVALENT}
    unlisted = [c.__name__ for c in prims if converter_for(c) is None and c.__name__ not in NO_ONNX_EQUIVALENT]
    return {"converted": converted, "not_converted": missing, "unlisted": unlisted,
            "ratio": len(converted) / len(prims) if prims else 1.0}
