"""ONNX export (tinygrad_cnn.onnx): every converter family, the three models, random layer stacks, the dynamic
batch axis, custom-op registration and the errors. Each exported model passes onnx.checker (full) and
onnxruntime's output is compared with ours on inputs of a batch size different from the example's."""

from __future__ import annotations

import builtins
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
import tinygrad_cnn.onnx as tox
from tinygrad_cnn import models, nn
from tinygrad_cnn.autograd import Function
from tinygrad_cnn.ops import scan as ops_scan

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

RNG = np.random.default_rng(0)


def normal(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def another(a: np.ndarray, n: int | None) -> np.ndarray:
    """New values for ``a``: rows drawn at random (``n`` of them, or as many as a has), rescaled in [0.7, 1.3]."""
    rows = RNG.integers(0, a.shape[0], size=a.shape[0] if n is None else n)
    b = a[rows]
    return (b * RNG.uniform(0.7, 1.3, size=b.shape)).astype(a.dtype) if a.dtype.kind == "f" else b


def run_ort(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def ours(fn, arrays, grad=False):
    if isinstance(fn, nn.Module):
        fn.eval()
    with tg.set_grad_enabled(grad):
        out = fn(*[tg.Tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays])
    return [t.data for t in (out if isinstance(out, (tuple, list)) else [out])]


def check(fn, *inputs, batch=5, dynamic=True, rtol=1e-5, atol=1e-5, grad=False, **kwargs):
    """Export ``fn`` at ``inputs``, check the model, and compare onnxruntime with ours at another batch size."""
    example = inputs[0] if len(inputs) == 1 else inputs
    model = tox.export(fn, example, dynamic_batch=dynamic, **kwargs)
    onnx.checker.check_model(model, full_check=True)
    flags = [dynamic] * len(inputs) if isinstance(dynamic, bool) else list(dynamic)
    new = [another(a, batch if flag else None) if a.ndim else a for a, flag in zip(inputs, flags)]
    names = [i.name for i in model.graph.input]
    got = run_ort(model, dict(zip(names, new)))
    want = ours(fn, new, grad)
    assert len(got) == len(want)
    for g_, w in zip(got, want):
        assert g_.shape == w.shape
        assert g_.dtype == w.dtype
        np.testing.assert_allclose(g_, w, rtol=rtol, atol=atol)
    return model


# ---- the three models ----------------------------------------------------------------------------------------------
def trained_statistics(model: nn.Module) -> nn.Module:
    """Give every batch norm non-trivial running statistics and affine parameters."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            c = m.running_mean.shape[0]
            m.running_mean.data[...] = normal(c) * 0.3
            m.running_var.data[...] = RNG.uniform(0.5, 2.0, c).astype(np.float32)
            m.weight.data[...] = RNG.uniform(0.5, 1.5, c).astype(np.float32)
            m.bias.data[...] = normal(c) * 0.1
    return model


@pytest.mark.parametrize("cls", [models.SeedCNN, models.LeNet5, models.ResNet8])
def test_models_match_onnxruntime_at_another_batch_size(cls, tmp_path):
    model = trained_statistics(cls())
    model.train()
    path = tmp_path / "m.onnx"
    x = normal(2, 1, 28, 28)
    exported = tox.export(model, x, path)
    assert model.training  # the export ran in eval mode and put the mode back
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.SerializeToString() == exported.SerializeToString()
    inits = {t.name for t in loaded.graph.initializer}
    assert set(model.state_dict()) - {k for k in model.state_dict() if k.endswith("num_batches_tracked")} <= inits
    assert loaded.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    assert loaded.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    x7 = normal(7, 1, 28, 28)
    got = run_ort(loaded, {"input": x7})[0]
    np.testing.assert_allclose(got, ours(model, [x7])[0], rtol=1e-5, atol=1e-5)


def test_resnet8_uses_batch_normalization_and_global_pool():
    model = tox.export(trained_statistics(models.ResNet8()), normal(2, 1, 28, 28))
    kinds = [n.op_type for n in model.graph.node]
    assert kinds.count("BatchNormalization") == 9
    assert "GlobalAveragePool" in kinds and "Gemm" in kinds


# ---- elementwise -----------------------------------------------------------------------------------------------------
def pos(*shape):
    return np.abs(normal(*shape)) + 0.5


def unit(*shape):
    return RNG.uniform(-0.9, 0.9, shape).astype(np.float32)


UNARY = {
    "neg": (lambda x: -x, normal), "exp": (lambda x: x.exp(), normal), "log": (lambda x: x.log(), pos),
    "sqrt": (lambda x: x.sqrt(), pos), "abs": (lambda x: x.abs(), normal), "relu": (lambda x: x.relu(), normal),
    "sigmoid": (lambda x: x.sigmoid(), normal), "tanh": (lambda x: x.tanh(), normal),
    "erf": (lambda x: x.erf(), normal), "erfc": (lambda x: x.erfc(), normal), "sin": (lambda x: x.sin(), normal),
    "cos": (lambda x: x.cos(), normal), "tan": (lambda x: x.tan(), unit), "asin": (lambda x: x.asin(), unit),
    "acos": (lambda x: x.acos(), unit), "atan": (lambda x: x.atan(), normal), "sinh": (lambda x: x.sinh(), normal),
    "cosh": (lambda x: x.cosh(), normal), "asinh": (lambda x: x.asinh(), normal),
    "acosh": (lambda x: x.acosh(), lambda *s: pos(*s) + 1), "atanh": (lambda x: x.atanh(), unit),
    "exp2": (lambda x: x.exp2(), normal), "expm1": (lambda x: x.expm1(), normal),
    "log2": (lambda x: x.log2(), pos), "log10": (lambda x: x.log10(), pos), "log1p": (lambda x: x.log1p(), pos),
    "rsqrt": (lambda x: x.rsqrt(), pos), "reciprocal": (lambda x: x.reciprocal(), pos),
    "floor": (lambda x: x.floor() + x, normal), "ceil": (lambda x: x.ceil() + x, normal),
    "trunc": (lambda x: x.trunc() + x, normal), "round": (lambda x: (x * 3).round() + x, normal),
    "round1": (lambda x: x.round(decimals=1) + x, normal), "sign": (lambda x: x.sign() + x, normal),
    "nan_to_num": (lambda x: x.log().nan_to_num(nan=1.5, posinf=3.0, neginf=-3.0), normal),
    "softplus": (lambda x: F.softplus(x, beta=2.0, threshold=3.0), normal),
    "clamp": (lambda x: x.clamp(-0.5, 0.7), normal), "clamp_min": (lambda x: x.clamp(min=0.1), normal),
    "pow_scalar": (lambda x: x ** 3, normal), "rpow": (lambda x: 2.0 ** x, normal),
    "square": (lambda x: x.square(), normal), "to_double": (lambda x: x.double() * 2, normal),
    "scalars": (lambda x: (x * 2 + 1) / 3 - 0.5, normal),
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_elementwise(name):
    fn, make = UNARY[name]
    check(fn, make(3, 4, 5))


BINARY = {
    "add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b,
    "pow": lambda a, b: a.abs() ** b, "maximum": lambda a, b: a.maximum(b), "minimum": lambda a, b: a.minimum(b),
    "atan2": lambda a, b: a.atan2(b), "hypot": lambda a, b: a.hypot(b), "logaddexp": lambda a, b: a.logaddexp(b),
    "copysign": lambda a, b: a.copysign(b), "remainder": lambda a, b: a.remainder(b), "fmod": lambda a, b: a.fmod(b),
    "floor_divide": lambda a, b: a.floor_divide(b) + a,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_elementwise_broadcasting(name):
    check(BINARY[name], normal(3, 4, 5), normal(3, 1, 5) + 0.1)


def test_constants_and_fixed_masks_become_initializers():
    mask = RNG.random((4, 5)) > 0.5
    offset = normal(4, 5)

    def fn(x):
        return tg.where(tg.Tensor(mask), x, x * 0.5) + tg.Tensor(offset)

    model = check(fn, normal(3, 4, 5))
    assert "Where" in [n.op_type for n in model.graph.node]


# ---- activations and layers --------------------------------------------------------------------------------------
LAYERS = {
    "leaky_relu": lambda: nn.LeakyReLU(0.2), "elu": lambda: nn.ELU(0.7), "celu": lambda: nn.CELU(1.3),
    "selu": nn.SELU, "gelu": nn.GELU, "gelu_tanh": lambda: nn.GELU(approximate="tanh"), "silu": nn.SiLU,
    "mish": nn.Mish, "softplus": nn.Softplus, "softsign": nn.Softsign, "hardsigmoid": nn.Hardsigmoid,
    "hardswish": nn.Hardswish, "logsigmoid": nn.LogSigmoid, "hardtanh": lambda: nn.Hardtanh(-0.5, 0.8),
    "relu6": nn.ReLU6, "prelu": lambda: nn.PReLU(4, init=0.3), "softmax": lambda: nn.Softmax(dim=1),
    "log_softmax": lambda: nn.LogSoftmax(dim=-1), "softmin": lambda: nn.Softmin(dim=1), "glu": lambda: nn.GLU(1),
    "dropout": lambda: nn.Dropout(0.5), "identity": nn.Identity, "flatten": nn.Flatten,
    "unflatten": lambda: nn.Unflatten(1, (2, 2)), "layer_norm": lambda: nn.LayerNorm([6, 5]),
    "layer_norm_plain": lambda: nn.LayerNorm(5, elementwise_affine=False), "group_norm": lambda: nn.GroupNorm(2, 4),
    "instance_norm": lambda: nn.InstanceNorm2d(4, affine=True), "rms_norm": lambda: nn.RMSNorm(5),
    "local_response_norm": lambda: nn.LocalResponseNorm(3), "batch_norm": lambda: trained_statistics_bn(4),
    "conv": lambda: nn.Conv2d(4, 6, 3, stride=2, padding=1, dilation=2, bias=True),
    "conv_groups": lambda: nn.Conv2d(4, 8, (3, 1), padding=(1, 0), groups=2, bias=False),
    "conv_transpose": lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
    "conv_transpose_groups": lambda: nn.ConvTranspose2d(4, 2, 2, stride=1, groups=2, dilation=2, bias=False),
    "max_pool": lambda: nn.MaxPool2d(2), "max_pool_ceil": lambda: nn.MaxPool2d(2, stride=2, ceil_mode=True),
    "max_pool_pad_dilation": lambda: nn.MaxPool2d(3, stride=1, padding=1, dilation=2),
    "avg_pool": lambda: nn.AvgPool2d(2), "avg_pool_pad": lambda: nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    "avg_pool_ceil": lambda: nn.AvgPool2d(2, ceil_mode=True),
    "avg_pool_divisor": lambda: nn.AvgPool2d(2, divisor_override=3),
    "adaptive_avg_1": lambda: nn.AdaptiveAvgPool2d(1), "adaptive_avg_divides": lambda: nn.AdaptiveAvgPool2d((1, 5)),
    "adaptive_avg_general": lambda: nn.AdaptiveAvgPool2d((3, 2)), "adaptive_max_1": lambda: nn.AdaptiveMaxPool2d(1),
    "adaptive_max_general": lambda: nn.AdaptiveMaxPool2d((3, 2)), "lp_pool": lambda: nn.LPPool2d(2, 2),
    "unfold": lambda: nn.Unfold(2, padding=1, stride=2), "pixel_shuffle": lambda: nn.PixelShuffle(2),
    "pixel_unshuffle": lambda: nn.PixelUnshuffle(1), "zero_pad": lambda: nn.ZeroPad2d((1, 2, 0, 1)),
    "constant_pad": lambda: nn.ConstantPad2d(1, 0.5), "reflection_pad": lambda: nn.ReflectionPad2d(2),
    "replication_pad": lambda: nn.ReplicationPad2d((1, 0, 2, 1)), "circular_pad": lambda: nn.CircularPad2d(1),
    "upsample_nearest": lambda: nn.Upsample(scale_factor=2), "upsample_bilinear": lambda: nn.Upsample(
        scale_factor=1.5, mode="bilinear"), "upsample_aligned": lambda: nn.Upsample(size=(7, 3), mode="bilinear",
                                                                                   align_corners=True),
    "upsample_bicubic": lambda: nn.Upsample(scale_factor=2, mode="bicubic"),
    "upsample_nearest_exact": lambda: nn.Upsample(size=(3, 8), mode="nearest-exact"),
}


def trained_statistics_bn(c):
    bn = nn.BatchNorm2d(c)
    bn.running_mean.data[...] = normal(c)
    bn.running_var.data[...] = RNG.uniform(0.5, 2, c).astype(np.float32)
    return bn


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer(name):
    check(LAYERS[name](), normal(2, 4, 6, 5))


@pytest.mark.parametrize("opset", [18, 19, 20])
def test_circular_pad_on_each_opset(opset):
    model = check(nn.CircularPad2d((1, 2, 2, 0)), normal(2, 3, 4, 5), opset=opset)
    kinds = {n.op_type for n in model.graph.node}
    assert ("Pad" in kinds) == (opset >= 19)


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_opsets(opset):
    """Reductions take their axes as an attribute before opset 18 and as an input from 18 on."""
    norm = nn.LayerNorm(5)

    def fn(x):
        return norm(x).amax(dim=1) + x.prod(2).mean(1, keepdim=True) + x.logsumexp(1) + x.amin(1)

    model = check(fn, normal(2, 3, 5), opset=opset, rtol=1e-5, atol=1e-5)
    assert model.opset_import[0].version == opset


def test_fold_needs_opset_18():
    with pytest.raises(tox.UnsupportedOperatorError, match=r"Fold.*opset 18"):
        tox.export(lambda x: F.fold(x, (3, 3), 2), normal(2, 8, 4), opset=17)


def test_conv1d_and_pool1d():
    net = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.MaxPool1d(2), nn.AvgPool1d(2), nn.ReLU())
    check(net, normal(2, 3, 12))


def test_fold_roundtrip_of_unfold():
    def fn(x):
        return F.fold(F.unfold(x, 3, padding=1), (6, 5), 3, padding=1)

    check(fn, normal(2, 2, 6, 5))


def test_linear_on_3d_input_and_matmul_variants():
    lin = nn.Linear(5, 3)
    w = normal(5, 4)
    v = normal(4)

    def fn(x):
        return lin(x), (x @ tg.Tensor(w)) @ tg.Tensor(v), tg.einsum("nij,jk->nik", x, tg.Tensor(w))

    model = check(fn, normal(2, 6, 5), output_names=["a", "b", "c"])
    assert [o.name for o in model.graph.output] == ["a", "b", "c"]


def test_batch_norm_outside_a_module_and_in_training_mode():
    mean, var = normal(4), RNG.uniform(0.5, 2, 4).astype(np.float32)
    w, b = normal(4), normal(4)

    def fn(x):
        eval_ = F.batch_norm(x, tg.Tensor(mean), tg.Tensor(var), tg.Tensor(w), tg.Tensor(b), training=False)
        train = F.batch_norm(x, None, None, training=True)
        return eval_, train

    check(fn, normal(3, 4, 5, 2), rtol=1e-4, atol=1e-5)


# ---- reductions, scans, movement, indexing -----------------------------------------------------------------------
FUNCTIONS = {
    "sum": lambda x: x.sum(dim=(1, 3), keepdim=True), "sum_all": lambda x: x.sum() + x.mean(),
    "mean": lambda x: x.mean(-1), "prod": lambda x: x.prod(2), "amax": lambda x: x.amax(dim=(2, 3)),
    "amin": lambda x: x.amin(1, keepdim=True), "var_std": lambda x: x.var(1) + x.std(1, keepdim=True).sum(1),
    "norm": lambda x: x.norm(dim=1), "logsumexp": lambda x: x.logsumexp(dim=2),
    "max_dim": lambda x: x.max(dim=1).values, "min_dim": lambda x: x.min(dim=2, keepdim=True).values,
    "cumsum": lambda x: x.cumsum(2), "cumprod": lambda x: x.cumprod(1), "logcumsumexp": lambda x: x.logcumsumexp(3),
    "reshape": lambda x: x.reshape(x.shape[0], -1, 2), "view": lambda x: x.view(-1, 3, 20)[:, 1],
    "flatten": lambda x: x.flatten(), "permute": lambda x: x.permute(0, 2, 3, 1), "T": lambda x: x.transpose(1, 2),
    "expand": lambda x: x[:, :1].expand(-1, 3, 4, 5), "squeeze": lambda x: x[:, :1].squeeze(1).unsqueeze(-1),
    "cat": lambda x: tg.cat([x, x * 2], dim=1), "stack": lambda x: tg.stack([x, -x], dim=2),
    "split": lambda x: x.split(2, dim=1)[1], "chunk": lambda x: x.chunk(2, dim=3)[0],
    "getitem_basic": lambda x: x[:, 1, ..., None, 1:4:2], "getitem_negative": lambda x: x[:, -1, ::-1, -2],
    "getitem_array": lambda x: x[:, [2, 0, 0]], "getitem_pair": lambda x: x[:, [0, 2], [1, 3]],
    "getitem_mask": lambda x: x[:, np.array([True, False, True])], "flip": lambda x: x.flip(2),
    "roll": lambda x: x.roll(1, dims=3), "repeat": lambda x: x.repeat(1, 2, 1, 1), "tril": lambda x: x.tril(),
    "pad": lambda x: x.pad((1, 1)), "narrow": lambda x: x.narrow(3, 1, 3), "unfold": lambda x: x.unfold(3, 2, 1),
    "index_select": lambda x: x.index_select(2, tg.Tensor(np.array([3, 1]))),
    "gather": lambda x: x.gather(1, tg.Tensor(np.array([[[[1]], [[0]]]]).repeat(2, 0))),
    "take_along": lambda x: x.take_along_dim(tg.Tensor(np.zeros((1, 3, 4, 1), np.int64)), 3),
    "max_then_softmax": lambda x: x.max(dim=3).values.softmax(1), "sort": lambda x: x.sort(2).values,
    "sort_descending": lambda x: x.sort(1, descending=True).values, "topk": lambda x: x.topk(2, dim=3).values,
    "topk_smallest": lambda x: x.topk(3, dim=2, largest=False).values, "kthvalue": lambda x: x.kthvalue(2, 3).values,
    "median": lambda x: x.median(1).values, "cummax": lambda x: x.cummax(3).values,
    "cummin": lambda x: x.cummin(1).values,
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function(name):
    check(FUNCTIONS[name], normal(2, 3, 4, 5), rtol=1e-5, atol=2e-5)


def test_scatter_family_with_fixed_index():
    index = np.array([[0, 1, 2, 0], [2, 0, 1, 1]])
    src = normal(2, 4)

    def fn(x):
        a = x.scatter_add(1, tg.Tensor(index[:, :3]), x[:, :3] * 2)
        b = x.scatter(0, tg.Tensor(np.array([[1, 0, 1, 0]])), tg.Tensor(src[:1]))
        c = x.scatter_reduce(1, tg.Tensor(index), tg.Tensor(src), reduce="amax")
        d = x.scatter_reduce(1, tg.Tensor(index), tg.Tensor(src), reduce="prod")
        return a, b, c, d

    check(fn, normal(2, 4), dynamic=False)


def test_embedding_with_integer_input_and_loss_with_targets():
    emb = nn.Embedding(10, 4)

    def fn(ids, target):
        logits = emb(ids).sum(1)
        return F.cross_entropy(logits, target), F.nll_loss(logits.log_softmax(1), target, reduction="none")

    ids = RNG.integers(0, 10, size=(6, 3))
    target = RNG.integers(0, 4, size=6)
    check(fn, ids, target, rtol=1e-5, atol=1e-6)


def test_losses():
    weight = RNG.uniform(0.5, 2, 4).astype(np.float32)

    def fn(x, y, p):
        return (F.cross_entropy(x, tg.Tensor(np.array([0, 3, 1])), weight=tg.Tensor(weight), ignore_index=1),
                F.cross_entropy(x, tg.Tensor(np.array([0, 3, 1])), label_smoothing=0.1),
                F.cross_entropy(x, p.softmax(1)),
                F.binary_cross_entropy_with_logits(x, y.sigmoid(), pos_weight=tg.Tensor(weight)),
                F.binary_cross_entropy(x.sigmoid(), y.sigmoid()), F.mse_loss(x, y), F.l1_loss(x, y))

    check(fn, normal(3, 4), normal(3, 4), normal(3, 4), dynamic=False, rtol=1e-5, atol=1e-5)


def test_a_forward_that_checks_its_input_domain():
    """binary_cross_entropy refuses values outside [0, 1]: the second trace then stays in the example's range."""
    p, y = RNG.uniform(0.05, 0.75, (4, 3)).astype(np.float32), RNG.uniform(0, 0.75, (4, 3)).astype(np.float32)
    check(lambda p, y: F.binary_cross_entropy(p, y, reduction="none"), p, y, rtol=1e-5, atol=1e-5)


def test_float64_is_kept():
    lin = nn.Linear(3, 2).double()
    model = check(lambda x: lin(x).tanh(), normal(4, 3, dtype=np.float64), rtol=1e-12, atol=1e-12)
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


def test_gradients_inside_the_exported_function():
    """A saliency map: the gradient kernels (input and weight gradients of conv, pooling adjoints, log-softmax
    backward, reshape/expand adjoints) are primitives with conversions too."""
    net = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.Tanh(), nn.AvgPool2d(2), nn.AdaptiveAvgPool2d((3, 2)),
                        nn.Flatten(), nn.Linear(18, 4), nn.LogSoftmax(1))

    def saliency(x):
        (gx,) = tg.autograd.grad(net(x)[:, 0].sum(), x, create_graph=True)
        (gw,) = tg.autograd.grad((net(x) ** 2).sum(), net[0].weight, create_graph=True)
        return gx, gw.sum() * x[:, :1]

    model = check(saliency, normal(2, 2, 6, 4), rtol=1e-4, atol=1e-5, grad=True)
    kinds = {n.op_type for n in model.graph.node}
    assert {"ConvTranspose", "Conv", "MatMul", "Exp"} <= kinds


TRANSPOSED_WEIGHT, BN_WEIGHT = tg.Tensor(normal(3, 2, 3, 3)), tg.Tensor(normal(3))
GRADIENT_KERNELS = {
    "IndexAdd": lambda x: x[:, 1:, ::2], "IndexAdd_array": lambda x: x[:, [0, 0, 2]],
    "SlidingWindowsAdd": lambda x: x.unfold(3, 3, 1), "BorderPadBackward": lambda x: F.pad(x, (1, 2, 2, 1), "reflect"),
    "BorderPadBackward_circular": lambda x: F.pad(x, (1, 1, 0, 2), "circular"),
    "Resample2dAdjoint": lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
    "ScatterAdd": lambda x: x.gather(2, tg.Tensor(np.array([[[[1], [0], [3]]]]).repeat(2, 0).repeat(3, 1))),
    "Fold": lambda x: F.unfold(x, 2), "Unfold": lambda x: F.fold(x.reshape(x.shape[0], 12, 5), (6, 2), 2),
    "ConvTranspose": lambda x: F.conv_transpose2d(x, TRANSPOSED_WEIGHT, stride=2),
    "AdaptiveAvgPool2dBackward": lambda x: F.adaptive_avg_pool2d(x, (3, 2)),
    "MaxPool2dScatter": lambda x: F.max_pool2d(x, 2, stride=1, padding=1, ceil_mode=True),
    "MaxPool2dScatter_dilated": lambda x: F.max_pool2d(x, 2, dilation=2),
    "PlaneScatter": lambda x: F.adaptive_max_pool2d(x, (2, 1)),
    "BatchNormBackward": lambda x: F.batch_norm(x, None, None, BN_WEIGHT, training=True),
    "LinearScan": lambda x: x.cumprod(3), "LinearScan_reverse": lambda x: x.flip(2).cumprod(2),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_KERNELS))
def test_gradient_kernels(name):
    """The VJP primitives (adjoints) convert too: a function returning d(sum f(x)^2)/dx records them."""
    f = GRADIENT_KERNELS[name]

    def grad_of(x):
        return tg.autograd.grad((f(x) ** 2).sum(), x, create_graph=True)[0]

    check(grad_of, normal(2, 3, 4, 5), rtol=1e-4, atol=1e-5, grad=True)


@pytest.mark.parametrize("name", ["MaxPool2dScatter", "PlaneScatter", "BatchNormBackward", "LinearScan"])
def test_second_order_kernels(name):
    """The second-order VJPs (MaxPool2dGather, PlaneGather, BatchNormBackward's own VJP...) convert too."""
    f = GRADIENT_KERNELS[name]

    def second(x):
        (gx,) = tg.autograd.grad((f(x) ** 2).sum(), x, create_graph=True)
        return tg.autograd.grad((gx ** 2).sum(), x, create_graph=True)[0]

    model = check(second, normal(2, 3, 4, 5), rtol=2e-4, atol=2e-5, grad=True)
    assert model.graph.node


def test_predicted_classes_as_an_integer_output():
    net = models.SeedCNN()

    def predict(x):
        logits = net(x)
        return logits, logits.argmax(1), logits.argmin(dim=1, keepdim=True)

    model = check(predict, normal(3, 1, 28, 28))
    assert {"ArgMax", "ArgMin"} <= {n.op_type for n in model.graph.node}
    assert model.graph.output[1].type.tensor_type.elem_type == onnx.TensorProto.INT64


def test_static_batch_and_several_inputs():
    def fn(a, b):
        return (a.reshape(6, 2) * b.sum()).relu()

    model = check(fn, normal(3, 4), normal(5), dynamic=False, input_names=["a", "b"])
    assert [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == [3, 4]
    model = check(lambda a, b: a * b.sum(), normal(3, 4), normal(5), dynamic=[True, False])
    assert model.graph.input[1].type.tensor_type.shape.dim[0].dim_value == 5


# ---- random layer stacks ------------------------------------------------------------------------------------------
ACTIVATIONS = [nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Hardswish, nn.Softplus]


@st.composite
def layer_stacks(draw):
    """(a random conv/pool/bn/activation stack ending in Flatten + Linear, its input's channels and size)."""
    c_in = c = draw(st.integers(1, 3))
    size_in = size = draw(st.integers(6, 11))
    layers: list[nn.Module] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["conv", "pool", "bn", "act"]))
        if kind == "conv":
            out = draw(st.integers(1, 4)) * (c if draw(st.booleans()) else 1)
            groups = c if out % c == 0 and draw(st.booleans()) else 1
            k, stride, pad, dil = (draw(st.sampled_from(v)) for v in ([1, 2, 3], [1, 2], [0, 1], [1, 2]))
            if size + 2 * pad < dil * (k - 1) + 1:
                continue
            layers.append(nn.Conv2d(c, out, k, stride=stride, padding=pad, dilation=dil, groups=groups,
                                    bias=draw(st.booleans())))
            c, size = out, (size + 2 * pad - dil * (k - 1) - 1) // stride + 1
        elif kind == "pool" and size >= 2:
            if draw(st.booleans()):
                ceil = draw(st.booleans())
                layers.append(nn.MaxPool2d(2, ceil_mode=ceil))
                size = -(-size // 2) if ceil else size // 2
            else:
                layers.append(nn.AvgPool2d(2, count_include_pad=draw(st.booleans())))
                size //= 2
        elif kind == "bn":
            layers.append(trained_statistics_bn(c))
        else:
            layers.append(draw(st.sampled_from(ACTIVATIONS))())
    layers += [nn.Flatten(), nn.Linear(c * size * size, draw(st.integers(1, 5)))]
    return nn.Sequential(*layers), c_in, size_in


@given(layer_stacks(), st.integers(1, 3))
def test_random_layer_stacks(stack, batch):
    net, c, size = stack
    check(net, normal(batch, c, size, size), batch=batch + 2, rtol=1e-4, atol=1e-5)


# ---- custom ops, errors, coverage ---------------------------------------------------------------------------------
class Cube(Function):
    """out = a^3 (a user's primitive).  VJP: 3 a^2 g."""

    def forward(ctx, a):
        return a * a * a

    def vjp(ctx, g):
        (a,) = ctx.inputs
        return g * 3 * a * a


class Owner(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return Cube.apply(self.fc(x))


@pytest.fixture
def registry():
    saved = dict(tox.CONVERTERS)
    yield tox.CONVERTERS
    tox.CONVERTERS.clear()
    tox.CONVERTERS.update(saved)


def test_unsupported_op_names_the_op_and_the_module(registry):
    with pytest.raises(tox.UnsupportedOperatorError, match=r"Cube \(in the model: Owner\).*register\(Cube\)"):
        tox.export(Owner(), normal(2, 3))


def test_register_a_converter_for_a_custom_function(registry):
    @tox.register(Cube)
    def convert(g, node, inputs):
        return g.op("Pow", inputs[0], g.scalar(3.0, node.out_dtype))

    model = check(Owner(), normal(2, 3))
    assert "Pow" in [n.op_type for n in model.graph.node]


def test_register_a_custom_op_as_an_onnx_function(registry):
    helper = onnx.helper
    nodes = [helper.make_node("Mul", ["X", "X"], ["XX"]), helper.make_node("Mul", ["XX", "X"], ["Y"])]
    body = helper.make_function("my.ops", "Cube", ["X"], ["Y"], nodes, [helper.make_opsetid("", 18)])

    @tox.register(Cube)
    def convert(g, node, inputs):
        g.add_function(body)
        return g.op("Cube", inputs[0], domain="my.ops")

    model = check(Owner(), normal(2, 3))
    assert [f.name for f in model.functions] == ["Cube"]


def test_positions_computed_outside_the_graph_are_refused():
    """max_unpool2d scatters at indices that max_pool2d returned as data: no recorded op computes them."""
    def fn(x):
        _, indices = F.max_pool2d(x.detach(), 2, return_indices=True)
        return F.max_unpool2d(x[:, :, :2, :2] * 1.0, indices, 2)

    with pytest.raises(tox.UnsupportedOperatorError, match=r"PlaneScatter .*not saved by a recorded"):
        tox.export(fn, normal(2, 1, 4, 4))


def test_linear_scan_forward():
    def fn(a, b):
        return ops_scan.LinearScan.apply(a.sigmoid(), b, axis=1, reverse=True)

    check(fn, normal(2, 5, 3), normal(2, 5, 3))


def test_values_computed_outside_the_graph_are_refused():
    with pytest.raises(ValueError, match="changes with the"):
        tox.export(lambda x: tg.where(x > 0, x, x * 0.1), normal(3, 4))
    with pytest.raises(ValueError, match="changes with the"):
        tox.export(lambda x: tg.where(x > 0, x, x * 0.1), normal(3, 4), dynamic_batch=False)
    with pytest.raises(ValueError, match="depends on the batch size"):
        tox.export(lambda x: x.reshape(x.shape[0] * 2, -1), normal(3, 4))
    with pytest.raises(ValueError, match="changes with the"):  # smooth_l1 picks its branch with a mask
        tox.export(lambda x, y: F.smooth_l1_loss(x, y), (normal(3, 4), normal(3, 4)))


def test_errors_name_the_module_path():
    tg.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 6), nn.Sequential(nn.ReLU(), nn.Threshold(0.1, 0.0)))
    with pytest.raises(ValueError, match=r"\(in 1\.1: Threshold\).*changes with the input"):
        tox.export(net, np.linspace(-1, 1, 24, dtype=np.float32).reshape(4, 6))


def test_separated_index_arrays_need_a_static_batch():
    def fn(x):
        return x[:, [0, 2], :, [1, 4]]  # NumPy puts the index axes first: (2, N, 4)

    with pytest.raises(tox.UnsupportedOperatorError, match=r"GetItem.*batch axis first"):
        tox.export(fn, normal(2, 3, 4, 5))
    check(fn, normal(2, 3, 4, 5), dynamic=False)


def test_argument_errors():
    with pytest.raises(ValueError, match="opset"):
        tox.export(nn.ReLU(), normal(2, 3), opset=12)
    with pytest.raises(ValueError, match="input_names"):
        tox.export(nn.ReLU(), normal(2, 3), input_names=["a", "b"])
    with pytest.raises(ValueError, match="different sizes"):
        tox.export(lambda a, b: a.sum() + b.sum(), (normal(2, 3), normal(3, 3)))
    with pytest.raises(ValueError, match=r"fails on a second input.*dynamic_batch=False"):
        tox.export(lambda x: F.mse_loss(x, tg.Tensor(np.zeros((2, 3), np.float32))), normal(2, 3))
    with pytest.raises(ValueError, match="no batch axis"):
        tox.export(lambda x: x * 2, np.float32(3.0))
    with pytest.raises(TypeError, match="Tensor"):
        tox.export(lambda x: x.shape, normal(2, 3))
    with pytest.raises(TypeError, match="register"):
        tox.register(int)


def test_missing_extra_says_what_to_install(monkeypatch):
    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith("onnx."):
            raise ImportError("No module named 'onnx'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ImportError, match=r"pip install 'tinygrad_cnn\[onnx\]'"):
        tox.export(nn.ReLU(), normal(2, 3))


def test_importing_the_package_does_not_import_onnx():
    code = "import sys, tinygrad_cnn, tinygrad_cnn.onnx; print('onnx' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_every_primitive_is_converted_or_explained():
    report = tox.coverage()
    assert report["unlisted"] == [], f"primitives with neither a converter nor a NO_ONNX_EQUIVALENT reason: " \
                                     f"{report['unlisted']}"
    names = {c.__name__ for c in tox.all_primitives()}
    assert not set(report["converted"]) & set(report["not_converted"])
    assert set(tox.NO_ONNX_EQUIVALENT) <= names  # no stale entries
    assert report["ratio"] > 0.9
    assert math.isclose(report["ratio"], len(report["converted"]) / len(names))
    assert all(reason for reason in tox.NO_ONNX_EQUIVALENT.values())


def test_the_docs_table_names_every_primitive():
    page = (Path(__file__).resolve().parents[1] / "docs" / "outgrow.md").read_text(encoding="utf-8")
    section = page.split("## Export to ONNX", 1)[1].split("\n## ", 1)[0]
    missing = [c.__name__ for c in tox.all_primitives() if f"`{c.__name__}`" not in section]
    assert not missing, f"docs/outgrow.md's ONNX coverage table lacks {missing}"
    assert f"{len(tox.coverage()['converted'])} of {len(tox.all_primitives())}" in section
