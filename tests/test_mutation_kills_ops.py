"""Op cases found missing by mutation testing (scripts/mutate.py on tinygrad_cnn/ops/): each test pins a behaviour
a plausible one-line change of a primitive would break. References are float64, hand-derived or from reshapes."""

import math
import re
import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.errors import ShapeError
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.conv import ConvTranspose2d, Fold, Unfold, conv_output_hw, transposed_output_hw
from tinygrad_cnn.ops.elementwise import (
    Atan2,
    Clip,
    Copysign,
    FloorDivide,
    Fmod,
    Hypot,
    LogAddExp,
    Remainder,
    Round,
    Where,
    erf_array,
    erfc_array,
)
from tinygrad_cnn.ops.linalg import Einsum


def exactly(message):
    return "^" + re.escape(message) + "$"


def leaf(array, requires_grad=True):
    return tg.Tensor(np.asarray(array, dtype=np.float64), requires_grad=requires_grad)


RNG = np.random.default_rng(16)


# ---- max pooling whose windows tile the input: a non-square kernel equal to its stride ------------------------
def tiled_max_reference(x, kernel):
    """Max over (kh, kw) tiles of the part of x the tiles cover, and the gradient of its sum (1 at each maximum,
    values distinct so no ties)."""
    n, c, h, w = x.shape
    kh, kw = kernel
    ho, wo = h // kh, w // kw
    covered = x[:, :, :ho * kh, :wo * kw].reshape(n, c, ho, kh, wo, kw)
    out = covered.max(axis=(3, 5))
    grad = np.zeros_like(x)
    hit = covered == out[:, :, :, None, :, None]
    grad[:, :, :ho * kh, :wo * kw] = hit.reshape(n, c, ho * kh, wo * kw)
    return out, grad


@pytest.mark.parametrize("kernel", [(2, 3), (3, 2), (1, 4), (4, 1)])
@pytest.mark.parametrize("hw", [(6, 6), (12, 12), (7, 8), (8, 7), (6, 13)])
def test_max_pool_with_a_non_square_kernel_equal_to_its_stride(kernel, hw):
    x_np = RNG.permutation(2 * 3 * hw[0] * hw[1]).reshape(2, 3, *hw).astype(np.float64)
    expected, expected_grad = tiled_max_reference(x_np, kernel)
    x = leaf(x_np)
    y = F.max_pool2d(x, kernel_size=kernel, stride=kernel)
    np.testing.assert_array_equal(y.numpy(), expected)
    y.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(x.grad.numpy(), expected_grad)  # zeros where no window reaches
    # the gradient of a weighted sum puts each weight at its window's maximum
    x.grad = None
    weights = RNG.standard_normal(expected.shape)
    (y * tg.Tensor(weights)).sum().backward()
    kh, kw = kernel
    spread = np.zeros_like(x_np)
    spread[:, :, :expected.shape[2] * kh, :expected.shape[3] * kw] = np.repeat(np.repeat(weights, kh, 2), kw, 3)
    np.testing.assert_array_equal(x.grad.numpy(), spread * expected_grad)


# ---- convolutions with only some inputs requiring grad -----------------------------------------------------
def conv_cases():
    x, w, b = RNG.standard_normal((2, 3, 5, 6)), RNG.standard_normal((4, 3, 2, 3)), RNG.standard_normal(4)
    xt, wt, bt = RNG.standard_normal((2, 4, 3, 4)), RNG.standard_normal((4, 3, 2, 3)), RNG.standard_normal(3)
    return [
        ("conv2d", lambda x, w, b: F.conv2d(x, w, b, stride=(1, 2), padding=(1, 0)), (x, w, b)),
        ("conv_transpose2d", lambda x, w, b: F.conv_transpose2d(x, w, b, stride=(2, 1), padding=(0, 1)),
         (xt, wt, bt)),
    ]


@pytest.mark.parametrize("name, op, arrays", conv_cases(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("wanted", [(0,), (1,), (2,), (0, 2), (1, 2)])
def test_conv_gradients_of_the_inputs_that_require_them(name, op, arrays, wanted):
    full = [leaf(a) for a in arrays]
    op(*full).pow(2).sum().backward()
    part = [leaf(a, requires_grad=i in wanted) for i, a in enumerate(arrays)]
    op(*part).pow(2).sum().backward()
    for i, t in enumerate(part):
        if i in wanted:
            np.testing.assert_allclose(t.grad.numpy(), full[i].grad.numpy(), rtol=1e-12, atol=1e-12)
        else:
            assert t.grad is None


@pytest.mark.parametrize("name, op, arrays", conv_cases(), ids=lambda v: v if isinstance(v, str) else "")
@pytest.mark.parametrize("first, second", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_conv_second_order_with_one_input_held_fixed(name, op, arrays, first, second):
    """d/d(second) of <d out/d(first) . u, r>, with only `first` and `second` requiring grad, against the same with
    every input requiring grad."""
    r_shape = arrays[first].shape

    def run(requires):
        ts = [leaf(a, requires_grad=requires[i]) for i, a in enumerate(arrays[:2])]
        out = op(ts[0], ts[1], None)
        u = leaf(np.linspace(-1, 1, out.size).reshape(out.shape))
        (g,) = tg.autograd.grad(out, ts[first], grad_outputs=u, create_graph=True)
        r = tg.Tensor(np.linspace(0.5, 1.5, int(np.prod(r_shape))).reshape(r_shape))
        targets = [u] + ([ts[second]] if second != first else [])
        return [t.numpy() for t in tg.autograd.grad((g * r).sum(), targets, allow_unused=True)
                if t is not None]

    reference = run([True, True])
    got = run([i in (first, second) for i in range(2)])
    assert len(got) == len(reference)
    for a, b in zip(got, reference):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ---- size checks --------------------------------------------------------------------------------------------
BIG = np.iinfo(np.intp).max  # 2**63 - 1: the guards refuse sizes whose bytes (8 per element) pass it


@pytest.mark.parametrize("shape, padding, refused", [
    ((1, 2**30, 2**14, 2**16 - 1), (0, 0), False),       # 8 (2^30 2^14 (2^16 - 1)) = 2^63 - 2^47
    ((1, 2**30, 2**14, 2**16), (0, 0), True),            # 2^63 bytes
    ((1, 2**30, 2**14 - 2, 2**16 - 1), (1, 0), False),
    ((1, 2**30, 2**14 - 2, 2**16), (1, 0), True),
    ((1, 2**30, 2**14 - 1, 2**16 - 2), (0, 1), False),
    ((1, 2**30, 2**14, 2**16 - 3), (0, 1), False),
    ((1, 2**30, 2**14, 2**16 - 2), (0, 1), True),
    ((2**30, 1, 2**14, 2**16 - 1), (0, 0), False),
    ((2**30, 1, 2**16 - 1, 2**14), (0, 0), False),
])
def test_conv_output_size_guard_at_its_edge(shape, padding, refused):
    args = ("conv2d", shape, (1, 1), (1, 1), padding, (1, 1))
    if refused:
        with pytest.raises(ValueError, match=r"^conv2d: padding .* too large for an array"):
            conv_output_hw(*args)
    else:
        assert conv_output_hw(*args) == (shape[2] + 2 * padding[0], shape[3] + 2 * padding[1])


@pytest.mark.parametrize("shape, padding, refused", [
    ((1, 2**30, 2**14, 2**16 - 1), (0, 0), False),
    ((1, 2**30, 2**14, 2**16), (0, 0), True),
    ((1, 2**30, 2**14, 2**16 - 1), (1, 0), True),        # padding is added to the output's size
    ((1, 2**30, 2**14 - 2, 2**16 - 1), (1, 0), False),
    ((1, 2**30, 2**14 - 1, 2**16 - 2), (0, 1), False),
    ((1, 2**30, 2**14, 2**16 - 2), (0, 1), True),
    ((1, 2**30, 2**14, 2**16 - 3), (0, 1), False),
    ((0, 2**30, 2**14, 2**16 - 1), (0, 0), False),       # an empty batch counts as one
    ((2**30, 0, 2**14, 2**16 - 1), (0, 0), False),
    ((2**30, 1, 2**14, 2**16 - 1), (0, 0), False),
    ((2**30, 1, 2**16 - 1, 2**14), (0, 0), False),
])
def test_transposed_output_size_guard_at_its_edge(shape, padding, refused):
    # kernel 2p + 1 keeps the output at the input's size: (H - 1) - 2p + 2p + 1 = H
    kernel = (2 * padding[0] + 1, 2 * padding[1] + 1)
    args = ("conv_transpose2d", shape, kernel, (1, 1), padding, (0, 0), (1, 1))
    if refused:
        with pytest.raises(ValueError, match=r"^conv_transpose2d: an output of size .* too large for an array"):
            transposed_output_hw(*args)
    else:
        assert transposed_output_hw(*args) == tuple(shape[2:])


def test_conv_kernel_against_the_padded_input_edge():
    w = leaf(np.ones((1, 1, 4, 4)))
    with pytest.raises(ShapeError, match=r"^conv2d: input \(1, 1, 1, 1\): the kernel spans 4 along H"):
        F.conv2d(leaf(np.ones((1, 1, 1, 1))), w, padding=1)  # 1 + 2 = 3 < 4
    assert F.conv2d(leaf(np.ones((1, 1, 2, 2))), w, padding=1).shape == (1, 1, 1, 1)  # 2 + 2 = 4 fits


def test_conv_family_errors_name_the_op():
    x, w = leaf(np.ones((1, 2, 3, 3))), leaf(np.ones((2, 3, 2, 2)))
    # the primitives check what they compute with themselves (the F. functions check before them)
    transposed = dict(stride=(1, 1), output_padding=(0, 0), dilation=(1, 1), groups=1)
    with pytest.raises(ShapeError, match=r"^conv_transpose2d: bias must have shape \(3,\)"):
        ConvTranspose2d.apply(x, w, leaf(np.ones(4)), padding=(0, 0), **transposed)
    with pytest.raises(ShapeError, match=r"^conv_transpose2d: input \(1, 2, 3, 3\) with kernel"):
        ConvTranspose2d.apply(x, w, padding=(3, 3), **transposed)
    with pytest.raises(ShapeError, match=r"^unfold: input \(1, 2, 3, 3\): the kernel spans 4"):
        Unfold.apply(x, kernel_size=(4, 4), dilation=(1, 1), padding=(0, 0), stride=(1, 1))
    # the Fold primitive checks its input itself (F.fold checks before it, in other words)
    fold = dict(dilation=(1, 1), padding=(0, 0), stride=(1, 1))
    with pytest.raises(ShapeError, match=r"^fold: input \(1, 1, 3, 3\): the kernel spans 4"):
        Fold.apply(leaf(np.ones((1, 4, 1))), output_size=(3, 3), kernel_size=(4, 1), **fold)
    with pytest.raises(ShapeError, match=r"^fold: input \(1, 5, 4\) must be \(N, C \* 2 \* 2, 4\)"):
        Fold.apply(leaf(np.ones((1, 5, 4))), output_size=(3, 3), kernel_size=(2, 2), **fold)
    with pytest.raises(ShapeError, match=r"^fold: input \(1, 8, 3\) must be \(N, C \* 2 \* 2, 4\)"):
        Fold.apply(leaf(np.ones((1, 8, 3))), output_size=(3, 3), kernel_size=(2, 2), **fold)


def test_fold_with_a_non_square_kernel_is_unfolds_adjoint():
    for channels in (1, 3):
        x = leaf(RNG.standard_normal((2, channels, 4, 5)))
        for params in ({}, {"padding": (1, 0), "stride": (1, 2)}):
            cols = F.unfold(x, kernel_size=(2, 3), **params)
            v = RNG.standard_normal(cols.shape)
            c = leaf(v)
            back = F.fold(c, output_size=(4, 5), kernel_size=(2, 3), **params)
            # <unfold(x), v> = <x, fold(v)>
            assert np.isclose((cols.numpy() * v).sum(), (x.numpy() * back.numpy()).sum(), rtol=1e-12)
            back.pow(2).sum().backward()  # d/dv |fold(v)|^2 = 2 unfold(fold(v))
            again = F.unfold(tg.Tensor(back.numpy()), kernel_size=(2, 3), **params).numpy()
            np.testing.assert_allclose(c.grad.numpy(), 2 * again, rtol=1e-12)


# ---- pooling: PyTorch's divisors, overhangs and dtypes -------------------------------------------------------
POOL_GRID = [
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=(2, 3), stride=(2, 2), padding=(1, 0), ceil_mode=True),
    dict(kernel_size=(3, 2), stride=(2, 3), padding=(1, 1), ceil_mode=False),
    dict(kernel_size=2, stride=2, padding=0, ceil_mode=True),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("params", POOL_GRID)
@pytest.mark.parametrize("extra", [dict(count_include_pad=True), dict(count_include_pad=False),
                                   dict(divisor_override=5)])
def test_avg_pool_matches_pytorch_values_gradients_and_dtype(dtype, params, extra):
    torch = pytest.importorskip("torch")
    x_np = RNG.standard_normal((2, 2, 7, 8)).astype(dtype)
    x = tg.Tensor(x_np, requires_grad=True)
    y = F.avg_pool2d(x, **params, **extra)
    xt = torch.tensor(x_np, requires_grad=True)
    yt = torch.nn.functional.avg_pool2d(xt, **params, **extra)
    assert y.dtype == dtype and y.shape == tuple(yt.shape)
    tol = 1e-6 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=tol, atol=tol)
    w = RNG.standard_normal(y.shape).astype(dtype)
    (y * tg.Tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("params", POOL_GRID)
def test_max_pool_ceil_mode_second_order_matches_pytorch(params):
    torch = pytest.importorskip("torch")
    x_np = RNG.permutation(2 * 2 * 7 * 8).reshape(2, 2, 7, 8).astype(np.float64)
    x = tg.Tensor(x_np, requires_grad=True)
    xt = torch.tensor(x_np, requires_grad=True)
    y, yt = F.max_pool2d(x, **params), torch.nn.functional.max_pool2d(xt, **params)
    u_np = RNG.standard_normal(y.shape)
    u, ut = tg.Tensor(u_np, requires_grad=True), torch.tensor(u_np, requires_grad=True)
    (g,) = tg.autograd.grad(y, x, grad_outputs=u, create_graph=True)
    (gt,) = torch.autograd.grad(yt, xt, grad_outputs=ut, create_graph=True)
    np.testing.assert_allclose(g.numpy(), gt.detach().numpy(), rtol=1e-14)  # overlaps sum in another order
    r = RNG.standard_normal(x_np.shape)
    (gu,) = tg.autograd.grad((g * tg.Tensor(r)).sum(), u)
    (gut,) = torch.autograd.grad((gt * torch.tensor(r)).sum(), ut)
    np.testing.assert_allclose(gu.numpy(), gut.numpy(), rtol=1e-14)


def test_integer_max_pool_pads_with_the_smallest_integer():
    x_np = -RNG.integers(1, 100, (1, 2, 5, 5))
    from tinygrad_cnn.ops.pool import MaxPool2d  # the primitive: F.max_pool2d takes float images only
    y = MaxPool2d.apply(tg.Tensor(x_np), kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(1, 1))
    padded = np.pad(x_np, ((0, 0), (0, 0), (1, 1), (1, 1)), constant_values=np.iinfo(np.int64).min)
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(2, 3))[:, :, ::2, ::2]
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y.numpy(), windows.max(axis=(4, 5)))


def test_pool_geometry_refusals_in_exact_words():
    from tinygrad_cnn.ops.pool import MaxPool2d, pool_geometry
    x = tg.Tensor(np.ones((1, 1, 4, 4)))
    for name, args in (("kernel_size", ((0, 2), (1, 1), (0, 0), (1, 1))),
                       ("stride", ((2, 2), (1, 0), (0, 0), (1, 1))),
                       ("dilation", ((2, 2), (1, 1), (0, 0), (0, 1)))):
        bad = dict(zip(("kernel", "stride", "padding", "dilation"), args))[name.split("_")[0]]
        with pytest.raises(ShapeError, match=exactly(f"max_pool2d: {name} must be positive, got {bad} for input "
                                                     "(1, 1, 4, 4)")):
            pool_geometry("max_pool2d", x.shape, *args)
    with pytest.raises(ShapeError, match=r"^max_pool2d: padding \(-1, 0\) must be >= 0 and at most half"):
        MaxPool2d.apply(x, kernel_size=(2, 2), stride=(2, 2), padding=(-1, 0), dilation=(1, 1))


@pytest.mark.parametrize("op", ["adaptive_avg_pool2d", "adaptive_max_pool2d"])
def test_adaptive_pool_refusals_name_the_op(op):
    from tinygrad_cnn.ops import pool
    cls = pool.AdaptiveAvgPool2d if op == "adaptive_avg_pool2d" else pool.AdaptiveMaxPool2d
    for shape, size in (((1, 1, 0, 3), (1, 1)), ((1, 1, 3, 0), (1, 1)), ((1, 1, 3, 3), (0, 1)),
                        ((1, 1, 3, 3), (1, 0))):
        with pytest.raises(ShapeError, match=exactly(f"{op}: output_size {size} must be two sizes >= 1 and the "
                                                     f"input {shape} non-empty")):
            cls.apply(tg.Tensor(np.ones(shape)), output_size=size)


# ---- linear: gradients when only some operands require one (tinygrad_cnn/ops/linalg.py) -------------------------
@pytest.mark.parametrize("x_shape", [(3,), (2, 3), (4, 2, 3)])
@pytest.mark.parametrize("with_bias", [False, True])
def test_linear_gradient_of_the_input_alone_and_of_the_weight_alone(x_shape, with_bias):
    x_np = RNG.standard_normal(x_shape)
    w_np = RNG.standard_normal((5, 3))
    b_np = RNG.standard_normal(5)
    weights = RNG.standard_normal(x_shape[:-1] + (5,))
    rows, g_rows = x_np.reshape(-1, 3), weights.reshape(-1, 5)
    # the input needs a gradient, the weight (and bias) do not: gx = g @ w
    x, w = leaf(x_np), leaf(w_np, requires_grad=False)
    args = (x, w, leaf(b_np, requires_grad=False)) if with_bias else (x, w)
    (F.linear(*args) * tg.Tensor(weights)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), weights @ w_np, rtol=1e-12, atol=1e-12)
    assert w.grad is None
    # the weight (and bias) need one, the input does not: gw = g^T x over all rows, gb = sum of g over rows
    x, w, b = leaf(x_np, requires_grad=False), leaf(w_np), leaf(b_np)
    args = (x, w, b) if with_bias else (x, w)
    (F.linear(*args) * tg.Tensor(weights)).sum().backward()
    assert x.grad is None
    np.testing.assert_allclose(w.grad.numpy(), g_rows.T @ rows, rtol=1e-12, atol=1e-12)
    if with_bias:
        np.testing.assert_allclose(b.grad.numpy(), g_rows.sum(axis=0), rtol=1e-12, atol=1e-12)
    # the input and the bias, not the weight
    if with_bias:
        x, w, b = leaf(x_np), leaf(w_np, requires_grad=False), leaf(b_np)
        grads = tg.autograd.grad((F.linear(x, w, b) * tg.Tensor(weights)).sum(), [x, b])
        np.testing.assert_allclose(grads[0].numpy(), weights @ w_np, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grads[1].numpy(), g_rows.sum(axis=0), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("equation", ["i-j", "ij-,j->i", "i>j", "ij>,j->i", "i->j->i"])
def test_einsum_refuses_a_stray_arrow_half_as_a_malformed_arrow(equation):
    operands = [tg.Tensor(np.ones((2, 3)))] + ([tg.Tensor(np.ones(3))] if "," in equation else [])
    with pytest.raises(ValueError, match=exactly(f"einsum: {equation!r} must have at most one '->' (inputs->output)")):
        tg.einsum(equation, *operands)


def test_einsum_primitive_names_its_equation_when_sizes_disagree():
    with pytest.raises(ShapeError, match=exactly("einsum: subscript 'j' has size 4 in operand 1 but 3 in an earlier "
                                                 "one ('ij,ij->i', shapes (2, 3), (2, 4)); sizes of one subscript "
                                                 "must be equal or 1")):
        Einsum.apply(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((2, 4))), equation="ij,ij->i")


@pytest.mark.parametrize("equation, message", [
    ("i1->i", "einsum: invalid subscript '1' in operand 0 of 'i1->i'; subscripts are letters a-z and A-Z, and '...' "
              "for broadcast dimensions"),
    ("i->1", "einsum: invalid subscript '1' in the output of 'i->1'; subscripts are letters a-z and A-Z, and '...' "
             "for broadcast dimensions"),
    ("...i...->i", "einsum: operand 0 of '...i...->i' has more than one ellipsis ('...')"),
    ("i->......", "einsum: the output of 'i->......' has more than one ellipsis ('...')"),
])
def test_einsum_subscript_refusals_name_the_term_and_the_equation(equation, message):
    with pytest.raises(ValueError, match=exactly(message)):
        tg.einsum(equation, tg.Tensor(np.ones((2, 2)) if equation.startswith("...") else np.ones(2)))


def test_einsum_implicit_output_keeps_upper_case_labels_used_once():
    a, b = np.arange(1.0, 3.0), np.arange(1.0, 4.0)
    np.testing.assert_array_equal(tg.einsum("X,Y", tg.Tensor(a), tg.Tensor(b)).numpy(), np.outer(a, b))
    np.testing.assert_array_equal(tg.einsum("Xi,iY", tg.Tensor(np.outer(a, b)), tg.Tensor(np.outer(b, a))).numpy(),
                                  np.outer(a, b) @ np.outer(b, a))


def test_einsum_ellipsis_may_take_every_free_label():
    # 52 labels exist: an ellipsis over 52 dimensions uses them all and is allowed; 53 are refused
    x_np = np.arange(2.0).reshape((1,) * 51 + (2,))
    y = tg.einsum("...->...", tg.Tensor(x_np))
    assert y.shape == x_np.shape
    np.testing.assert_array_equal(y.numpy(), x_np)
    with pytest.raises(ShapeError, match=r"^einsum: 'a\.\.\.->\.\.\.' with shapes .* needs more than 52 subscripts$"):
        tg.einsum("a...->...", tg.Tensor(np.ones((1,) * 53)))


# ---- reductions (tinygrad_cnn/ops/reduce.py) -------------------------------------------------------------------
@pytest.mark.parametrize("shape, axes", [((3, 3), (0,)), ((2, 3, 2), (0, 2)), ((3, 3, 3), (1,)), ((2, 3), (1,))])
def test_prod_gradient_over_leading_axes_is_the_product_of_the_others_in_place(shape, axes):
    x_np = RNG.uniform(0.5, 2.0, shape)
    x = leaf(x_np)
    weights = RNG.standard_normal(np.prod(x_np, axis=axes).shape)
    (x.prod(dim=axes) * tg.Tensor(weights)).sum().backward()
    total = np.prod(x_np, axis=axes, keepdims=True)
    expected = np.expand_dims(weights, axes) * total / x_np  # no zeros here: the division is exact enough
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


@pytest.mark.parametrize("largest", [True, False])
def test_arg_extreme_names_itself_and_keepdims(largest):
    from tinygrad_cnn.ops import reduce as red
    op = "argmax" if largest else "argmin"
    with pytest.raises(TypeError, match=exactly(f"{op}: keepdims must be True or False, got 1 (int)")):
        red.arg_extreme(tg.Tensor(np.ones(3)), None, 1, largest=largest)
    with pytest.raises(ShapeError, match=exactly(f"{op}: cannot take the {op} of an empty tensor (shape (0,), axis "
                                                 "None)")):
        red.arg_extreme(tg.Tensor(np.ones(0)), None, False, largest=largest)
    with pytest.raises(ShapeError, match=exactly(f"{op}: cannot take the {op} of an empty axis (shape (2, 0), axis "
                                                 "1)")):
        red.arg_extreme(tg.Tensor(np.ones((2, 0))), 1, False, largest=largest)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_arg_extreme_over_a_full_axis_of_an_empty_tensor_and_of_a_scalar(op):
    # (0, 3) over dim 1: each of the 0 slices has 3 elements, so the result is empty, not an error (as PyTorch)
    y = getattr(tg.Tensor(np.ones((0, 3))), op)(dim=1)
    assert y.shape == (0,) and y.dtype == np.int64
    # a 0-d tensor takes dim 0 / -1 (PyTorch): index 0, 0-d, with or without keepdim
    for dim, keep in ((0, False), (-1, True)):
        z = getattr(tg.Tensor(np.array(5.0)), op)(dim=dim, keepdim=keep)
        assert z.shape == () and z.dtype == np.int64 and z.item() == 0
    # a 1-D tensor with keepdim keeps its one axis
    w = getattr(tg.Tensor(np.array([3.0, 1.0, 2.0])), op)(dim=0, keepdim=True)
    np.testing.assert_array_equal(w.numpy(), [0 if op == "argmax" else 1])


def test_prod_primitive_refusals_name_prod():
    from tinygrad_cnn.ops.reduce import Prod
    with pytest.raises(TypeError, match=exactly("prod: keepdims must be True or False, got 1 (int)")):
        Prod.apply(tg.Tensor(np.ones(3)), axis=None, keepdims=1)
    with pytest.raises(ValueError, match=exactly("prod: axis 3 is out of range for a tensor with 1 dimensions")):
        Prod.apply(tg.Tensor(np.ones(3)), axis=3, keepdims=False)


def test_logsumexp_of_integers_is_float32():
    x = tg.Tensor(np.arange(6).reshape(2, 3))
    y = x.logsumexp(dim=1)
    assert y.dtype == np.float32
    expected = np.log(np.exp(np.arange(6.0).reshape(2, 3)).sum(axis=1))
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)


def test_logsumexp_shifts_each_slice_by_its_own_maximum():
    x_np = np.array([[-np.inf, -np.inf], [np.inf, 0.0], [0.0, 0.0], [1000.0, 1000.0], [-1000.0, -1001.0]])
    x = tg.Tensor(x_np)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # log(0) of an all -inf slice is -inf without a divide warning
        y = x.logsumexp(dim=1)
    np.testing.assert_array_equal(y.numpy()[:2], [-np.inf, np.inf])
    np.testing.assert_allclose(y.numpy()[2:], [np.log(2), 1000 + np.log(2), -1000 + np.log1p(np.exp(-1.0))],
                               rtol=1e-14)
    # the gradient is the softmax of each slice (finite rows)
    rows = x_np[2:]
    finite = leaf(rows)
    finite.logsumexp(dim=1).sum().backward()
    soft = np.exp(rows - rows.max(axis=1, keepdims=True))
    np.testing.assert_allclose(finite.grad.numpy(), soft / soft.sum(axis=1, keepdims=True), rtol=1e-14)


def test_logsumexp_over_an_empty_axis_keeps_the_dtype():
    y = tg.Tensor(np.ones((0, 3), np.float32)).logsumexp(dim=0)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y.numpy(), [-np.inf] * 3)


@pytest.mark.parametrize("p", [1, 2, 3, math.inf, -math.inf, 0])
def test_norm_of_integers_is_float32(p):
    x_np = np.array([[1, -2, 0], [0, 3, -4]])
    y = tg.Tensor(x_np).norm(p=p, dim=1)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), np.linalg.norm(x_np.astype(np.float64), ord=p, axis=1), rtol=1e-6)


def test_norm_minus_inf_keeps_the_reduced_axis_when_asked():
    y = tg.Tensor(np.array([[1.0, -2.0], [0.5, 3.0]])).norm(p=-math.inf, dim=1, keepdim=True)
    assert y.shape == (2, 1)
    np.testing.assert_array_equal(y.numpy(), [[1.0], [0.5]])


@pytest.mark.parametrize("op", ["max", "min"])
def test_extreme_primitive_refusals_name_the_op(op):
    from tinygrad_cnn.ops.reduce import Max, Min
    cls = Max if op == "max" else Min
    with pytest.raises(TypeError, match=exactly(f"{op}: keepdims must be True or False, got 1 (int)")):
        cls.apply(tg.Tensor(np.ones(3)), axis=None, keepdims=1)
    with pytest.raises(ValueError, match=exactly(f"{op}: axis 2 is out of range for a tensor with 1 dimensions")):
        cls.apply(tg.Tensor(np.ones(3)), axis=2, keepdims=False)
    with pytest.raises(ShapeError, match=exactly(f"{op}: cannot reduce over an empty axis (shape (2, 0), axis 1); an "
                                                 "empty slice has no extreme")):
        cls.apply(tg.Tensor(np.ones((2, 0))), axis=1, keepdims=False)


@pytest.mark.parametrize("name", ["max", "amax", "min", "amin"])
def test_extreme_gradient_goes_to_the_nan_that_propagates(name):
    x = leaf([1.0, np.nan, 2.0, -3.0])
    y = getattr(x, name)()
    assert np.isnan(y.item())
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0, 0.0])


def test_safe_sqrt_of_a_negative_is_nan_silently():
    from tinygrad_cnn.ops.reduce import SafeSqrt
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = SafeSqrt.apply(tg.Tensor(np.array([-1.0, 4.0, 0.0])))
    np.testing.assert_array_equal(y.numpy(), [np.nan, 2.0, 0.0])


def test_variance_without_degrees_of_freedom_warns_in_exact_words_and_nothing_else():
    x = tg.Tensor(np.array([[1.0, 2.0], [3.0, 3.0]]))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        v = x.var(dim=1, keepdim=True, correction=3)
        e = tg.Tensor(np.ones((2, 0))).var(dim=1)
    assert v.shape == (2, 1)
    np.testing.assert_array_equal(v.numpy(), [[np.inf], [np.nan]])  # 0 * inf is NaN where every deviation is 0
    assert e.shape == (2,) and np.isnan(e.numpy()).all()
    assert [(w.category, str(w.message)) for w in caught] == [
        (UserWarning, "var: degrees of freedom n - correction = 2 - 3.0 <= 0 over axes (1,) of shape (2, 2), so the "
                      "result is inf or NaN (as PyTorch); use a correction smaller than 2"),
        (UserWarning, "var: degrees of freedom n - correction = 0 - 1.0 <= 0 over axes (1,) of shape (2, 0), so the "
                      "result is inf or NaN (as PyTorch); the slice is empty: there is nothing to estimate")]


def test_norm_zero_counts_nonzeros_as_floats_and_keeps_dims():
    x_np = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 2.0]])
    y = tg.Tensor(x_np).norm(p=0, dim=1, keepdim=True)
    assert y.shape == (2, 1) and y.dtype == np.float64
    np.testing.assert_array_equal(y.numpy(), [[2.0], [1.0]])


def test_norm_of_a_negative_order_with_a_zero_is_zero_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = tg.Tensor(np.array([0.0, 1.0])).norm(p=-1)
    assert y.item() == 0.0


# ---- movement (tinygrad_cnn/ops/movement.py) -------------------------------------------------------------------
@pytest.mark.parametrize("pad_width, pairs", [(((1, -1), (0, 0)), "[(1, -1), (0, 0)]"),
                                              (((-1, 2), (0, 0)), "[(-1, 2), (0, 0)]"),
                                              ((0, -1), "[(0, -1), (0, -1)]")])
def test_pad_refuses_a_negative_width_on_either_side(pad_width, pairs):
    with pytest.raises(ValueError, match=exactly(f"pad: pad widths must be >= 0, got {pairs}; use slicing to crop")):
        tg.Tensor(np.ones((2, 2))).pad(pad_width)


@pytest.mark.parametrize("dim, size, step", [(2, 1, 1), (-1, 1, 1), (1, 4, 1), (1, -1, 1), (1, 2, 0), (0, 3, -1)])
def test_sliding_windows_primitive_refuses_each_bad_parameter(dim, size, step):
    from tinygrad_cnn.ops.movement import SlidingWindows
    with pytest.raises(ShapeError, match=exactly(f"unfold: cannot take windows of size {size} and step {step} along "
                                                 f"dimension {dim} of shape (2, 3)")):
        SlidingWindows.apply(tg.Tensor(np.ones((2, 3))), dim=dim, size=size, step=step)


def test_sliding_windows_primitive_takes_the_whole_axis_and_empty_windows():
    from tinygrad_cnn.ops.movement import SlidingWindows
    x_np = np.arange(6.0).reshape(2, 3)
    whole = SlidingWindows.apply(tg.Tensor(x_np), dim=1, size=3, step=1)
    np.testing.assert_array_equal(whole.numpy(), x_np[:, None, :])
    empty = SlidingWindows.apply(tg.Tensor(x_np), dim=0, size=0, step=2)
    assert empty.shape == (2, 3, 0)


def test_getitem_checks_each_part_of_a_tuple_index():
    from tinygrad_cnn.errors import TensorIndexError
    x = tg.Tensor(np.arange(6.0).reshape(2, 3))
    with pytest.raises(TensorIndexError, match=exactly("getitem: index arrays must be integer or boolean, got "
                                                       "float64")):
        x[(slice(None), np.array([0.5]))]
    with pytest.raises(TensorIndexError, match=exactly("getitem: the list [[0], [1, 2]] is not a valid index "
                                                       "(ragged or mixed)")):
        x[(0, [[0], [1, 2]])]
    # a tensor inside a tuple is read as an advanced index
    np.testing.assert_array_equal(x[(slice(None), tg.Tensor(np.array([2, 0])))].numpy(), [[2.0, 0.0], [5.0, 3.0]])


@pytest.mark.parametrize("axes", [(0, 3), (0.0, 1.0), (2, 1), (1, -3), (0, 0)])
def test_permute_primitive_refuses_what_is_no_permutation(axes):
    from tinygrad_cnn.ops.movement import Permute
    with pytest.raises(ShapeError, match=exactly(f"permute: axes {axes} are not a permutation of the 2 axes of a "
                                                 "tensor of shape (2, 3)")):
        Permute.apply(tg.Tensor(np.ones((2, 3))), axes=axes)


def test_concatenate_primitive_names_itself_for_a_bad_axis():
    from tinygrad_cnn.ops.movement import Concatenate
    x = tg.Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=exactly("concatenate: axis 2 is out of range for a tensor with 2 dimensions; "
                                                 "pass an int in [-2, 1]")):
        Concatenate.apply(x, x, axis=2)


def test_expand_refuses_minus_one_on_a_new_leading_axis():
    with pytest.raises(ShapeError, match=exactly("expand: cannot broadcast shape (3,) to (-1, 3); the target must be "
                                                 "ints, and each axis of the input must be 1 or equal to the "
                                                 "target's trailing axis")):
        tg.Tensor(np.arange(3.0)).expand(-1, 3)
    # -1 on an existing axis keeps its size
    assert tg.Tensor(np.arange(3.0).reshape(1, 3)).expand(2, -1, -1).shape == (2, 1, 3)


@pytest.mark.parametrize("shape", [(-2, 3), (3, -3)])
def test_reshape_refuses_negative_sizes_other_than_minus_one(shape):
    with pytest.raises(ShapeError, match=exactly(f"reshape: cannot reshape a tensor of shape (6,) (size 6) into "
                                                 f"{shape}; the sizes must match, sizes must be ints >= 0, and at "
                                                 "most one may be -1 (inferred)")):
        tg.Tensor(np.arange(6.0)).reshape(*shape)


def test_sum_primitive_refusals_name_sum():
    from tinygrad_cnn.ops.reduce import Sum
    with pytest.raises(TypeError, match=exactly("sum: keepdims must be True or False, got 1 (int)")):
        Sum.apply(tg.Tensor(np.ones(3)), axis=None, keepdims=1)
    with pytest.raises(ValueError, match=exactly("sum: axis 3 is out of range for a tensor with 1 dimensions")):
        Sum.apply(tg.Tensor(np.ones(3)), axis=3, keepdims=False)


# ---- the log-softmax family (tinygrad_cnn/ops/softmax.py) ----------------------------------------------------
def test_log_softmax_backward_differentiates_g_alone_and_y_alone():
    from tinygrad_cnn.ops.softmax import LogSoftmaxBackward
    g_np, y_np = RNG.standard_normal((3, 4)), np.log(RNG.dirichlet(np.ones(4), size=3))
    u_np = RNG.standard_normal((3, 4))
    p = np.exp(y_np)
    for g_needs in (True, False):
        g, y = leaf(g_np, g_needs), leaf(y_np, not g_needs)
        (LogSoftmaxBackward.apply(g, y, axis=1) * tg.Tensor(u_np)).sum().backward()
        if g_needs:
            np.testing.assert_allclose(g.grad.numpy(), u_np - (u_np * p).sum(1, keepdims=True), rtol=1e-12)
            assert y.grad is None
        else:
            np.testing.assert_allclose(y.grad.numpy(), -(u_np * p) * g_np.sum(1, keepdims=True), rtol=1e-12)
            assert g.grad is None


@pytest.mark.parametrize("probabilities", [False, True])
def test_nll_primitive_casts_a_float64_class_weight_to_a_float32_input(probabilities):
    from tinygrad_cnn.ops.softmax import NLLLoss
    logp_np = np.log(RNG.dirichlet(np.ones(3), size=4)).astype(np.float32)
    target = np.array([0, 2, 1, 2])
    weight = np.array([0.5, 2.0, 1.5])  # float64
    logp = tg.Tensor(logp_np, requires_grad=True)
    if probabilities:
        q_np = np.eye(3, dtype=np.float32)[target]
        loss = NLLLoss.apply(logp, tg.Tensor(q_np), weight=weight, reduction="sum")
    else:
        loss = NLLLoss.apply(logp, target=target, weight=weight, ignore_index=-100, reduction="mean")
    assert loss.dtype == tg.float32
    loss.backward()
    assert logp.grad.dtype == tg.float32
    w = weight[target]
    expected = -(w * logp_np.astype(np.float64)[np.arange(4), target]).sum()
    grad = np.zeros((4, 3))
    grad[np.arange(4), target] = -w
    if not probabilities:
        expected, grad = expected / w.sum(), grad / w.sum()
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(logp.grad.numpy(), grad, rtol=1e-6)


def test_bce_with_logits_and_pos_weight_gives_the_target_its_gradient_alone():
    from tinygrad_cnn.ops.softmax import BinaryCrossEntropyWithLogits
    x_np, y_np, r_np = np.array([-1.5, 0.3, 2.0]), np.array([0.2, 0.9, 0.5]), np.array([2.0, 0.5, 3.0])
    x, y = leaf(x_np, False), leaf(y_np)
    BinaryCrossEntropyWithLogits.apply(x, y, leaf(r_np, False)).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), (r_np - 1) * np.log1p(np.exp(-x_np)) - x_np, rtol=1e-12)


def test_bce_with_logits_pos_weight_gradient_uses_the_exact_softplus_beyond_twenty():
    from tinygrad_cnn.ops.softmax import BinaryCrossEntropyWithLogits
    x_np, y_np = np.array([-21.0, -25.0, 1.0]), np.array([1.0, 0.5, 0.25])
    y, r = leaf(y_np), leaf(np.ones(3) * 2.0)
    BinaryCrossEntropyWithLogits.apply(leaf(x_np, False), y, r).sum().backward()
    soft = np.logaddexp(0.0, -x_np)  # 21 + 7.6e-10: a linear softplus beyond 20 gives 21
    np.testing.assert_allclose(r.grad.numpy(), y_np * soft, rtol=1e-14)
    np.testing.assert_allclose(y.grad.numpy(), soft - x_np, rtol=1e-14)


def test_log_softmax_of_an_empty_axis_and_of_an_infinite_scalar():
    from tinygrad_cnn.ops.softmax import LogSoftmax
    empty = LogSoftmax.apply(tg.Tensor(np.zeros((2, 0), np.float32)), axis=1)
    assert empty.shape == (2, 0) and empty.dtype == tg.float32
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LogSoftmax.apply(tg.Tensor(np.array(np.inf)), axis=0)
    assert out.shape == () and math.isnan(float(out.numpy()))


def test_nll_primitive_mean_over_no_kept_target_is_a_float32_nan():
    from tinygrad_cnn.ops.softmax import NLLLoss
    logp = tg.Tensor(np.log(np.full((2, 3), 1 / 3, np.float32)))
    loss = NLLLoss.apply(logp, target=np.array([-100, -100]), ignore_index=-100, reduction="mean")
    assert loss.dtype == tg.float32 and loss.shape == () and math.isnan(float(loss.numpy()))


def test_nll_primitive_ignores_minus_infinity_in_the_classes_not_picked():
    from tinygrad_cnn.ops.softmax import NLLLoss
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]]))  # -inf where a class has probability 0
        loss = NLLLoss.apply(tg.Tensor(logp), target=np.array([0, 2]), reduction="sum")
    np.testing.assert_allclose(loss.numpy(), -(np.log(0.5) + np.log(0.75)), rtol=1e-14)


def test_nll_primitive_gradient_over_an_empty_class_axis_is_empty():
    from tinygrad_cnn.ops.softmax import NLLLoss
    logp, q = leaf(np.zeros((2, 0))), leaf(np.zeros((2, 0)), False)
    loss = NLLLoss.apply(logp, q, reduction="mean")
    assert float(loss.numpy()) == 0.0
    loss.backward()
    assert logp.grad.shape == (2, 0)


def test_nll_primitive_probability_gradient_with_a_weight_and_smoothing():
    from tinygrad_cnn.ops.softmax import NLLLoss
    logp_np, q_np = np.log(RNG.dirichlet(np.ones(3), size=2)), RNG.dirichlet(np.ones(3), size=2)
    weight, e = np.array([0.5, 2.0, 1.5]), 0.2
    q = leaf(q_np)
    NLLLoss.apply(leaf(logp_np, False), q, weight=weight, smoothing=e, reduction="sum").backward()
    np.testing.assert_allclose(q.grad.numpy(), -(1 - e) * weight * logp_np, rtol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_nll_primitive_zero_weight_sum_gives_inf_and_nan_gradients_silently(smoothing):
    from tinygrad_cnn.ops.softmax import NLLLoss
    logp = leaf(np.log(np.full((3, 2), 0.5)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = NLLLoss.apply(logp, target=np.array([0, 1, 0]), weight=np.array([1.0, -2.0]), ignore_index=-100,
                             reduction="mean", smoothing=smoothing)  # D = 1 - 2 + 1 = 0
        loss.backward()
    grad = logp.grad.numpy()
    assert np.isneginf(grad[0, 0]) and np.isposinf(grad[1, 1]) and np.isneginf(grad[2, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        logp.grad = None
        NLLLoss.apply(logp, target=np.array([0, 0, 0]), weight=np.array([0.0, 1.0]), ignore_index=-100,
                      reduction="mean", smoothing=smoothing).backward()  # D = 0: 0 / 0 on the kept rows
    assert np.isnan(logp.grad.numpy()[:, 0]).all()


def test_bce_primitive_is_silent_at_zero_one_and_outside_them():
    from tinygrad_cnn.ops.softmax import BinaryCrossEntropy
    p = np.array([0.0, 1.0, -0.5, 1.5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = BinaryCrossEntropy.apply(tg.Tensor(p), tg.Tensor(np.array([1.0, 0.0, 1.0, 0.0]))).numpy()
    np.testing.assert_array_equal(out[:2], [100.0, 100.0])
    assert np.isnan(out[2:]).all()


# ---- activation primitives (tinygrad_cnn/ops/activation.py) ---------------------------------------------------
@pytest.mark.parametrize(("name", "op", "extra"), [("leaky_relu", "LeakyRelu", 0), ("elu", "Elu", 0),
                                                  ("hardtanh", "Hardtanh", 0), ("logsigmoid", "LogSigmoid", 0),
                                                  ("prelu", "Prelu", 1)])
def test_activation_primitives_name_themselves_for_an_integer_input(name, op, extra):
    from tinygrad_cnn.ops import activation
    inputs = [tg.Tensor(np.arange(3))] + [tg.Tensor(np.ones(3))] * extra
    with pytest.raises(TypeError, match=exactly(f"{name}: input has dtype int64; convert it with .float()")):
        getattr(activation, op).apply(*inputs)


def test_prelu_primitive_refuses_a_weight_that_does_not_broadcast_or_grows_the_input():
    from tinygrad_cnn.ops.activation import Prelu
    message = ("prelu: shapes (2, 3) and (4,) do not broadcast; trailing axes must be equal or 1 (reshape or "
               "unsqueeze one operand)")
    with pytest.raises(ShapeError, match=exactly(message)):
        Prelu.apply(tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones(4)))
    with pytest.raises(ShapeError, match=exactly("prelu: weight (2, 3) must broadcast to the input (1, 3) without "
                                                 "growing it")):
        Prelu.apply(tg.Tensor(np.ones((1, 3))), tg.Tensor(np.ones((2, 3))))


def test_prelu_of_negative_zero_takes_the_slope_side():
    from tinygrad_cnn.ops.activation import Prelu
    out = Prelu.apply(tg.Tensor(np.array([-0.0, 0.0])), tg.Tensor(np.array([-0.5, -0.5]))).numpy()
    np.testing.assert_array_equal(np.signbit(out), [False, True])  # -0.5 * -0.0 = +0.0; -0.5 * 0.0 = -0.0


def test_celu_with_a_small_alpha_does_not_overflow_on_the_positive_side():
    x = tg.Tensor(np.array([0.5, 2.0, -0.001]), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = F.celu(x, alpha=1e-3)  # input_scale 1000: exp(1000 * 2) would overflow
        y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [0.5, 2.0, 1e-3 * np.expm1(-1.0)], rtol=1e-14)
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 1.0, np.exp(-1.0)], rtol=1e-14)


# ---- layer normalisation (tinygrad_cnn/ops/normalization.py) --------------------------------------------------
def layer_norm_reference(x, k, w=None, b=None, eps=1e-5):
    axes = tuple(range(x.ndim - k, x.ndim))
    x_hat = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    return x_hat, x_hat * (1.0 if w is None else w) + (0.0 if b is None else b)


@pytest.mark.parametrize("x_shape", [(4,), (2, 3, 4), (2, 3, 4, 5)])
@pytest.mark.parametrize("affine", ["weight", "bias", "both"])
def test_layer_norm_recorded_gradient_of_the_affine_inputs_alone(x_shape, affine):
    from tinygrad_cnn.ops.normalization import LayerNorm
    k = 2 if len(x_shape) == 4 else 1
    x_np, u_np = RNG.standard_normal(x_shape), RNG.standard_normal(x_shape)
    w_np, b_np = RNG.standard_normal(x_shape[-k:]), RNG.standard_normal(x_shape[-k:])
    inputs = ([leaf(w_np)] if affine != "bias" else []) + ([leaf(b_np)] if affine != "weight" else [])
    out = LayerNorm.apply(leaf(x_np, False), *inputs, normalized_ndim=k, has_weight=affine != "bias",
                          has_bias=affine != "weight")
    grads = tg.grad((out * tg.Tensor(u_np)).sum(), inputs, create_graph=True)
    x_hat, _ = layer_norm_reference(x_np, k)
    leading = tuple(range(len(x_shape) - k))
    expected = ([(u_np * x_hat).sum(leading)] if affine != "bias" else []) + \
               ([u_np.sum(leading)] if affine != "weight" else [])
    for got, want in zip(grads, expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got.numpy(), want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("create_graph", [False, True])
def test_layer_norm_over_an_empty_normalized_shape_gives_empty_results_and_zero_gradients(create_graph):
    from tinygrad_cnn.ops.normalization import LayerNorm
    x, w, b = (tg.Tensor(np.zeros(s, np.float32), requires_grad=True) for s in ((2, 3, 0), (0,), (0,)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LayerNorm.apply(x, w, b, normalized_ndim=1, has_weight=True, has_bias=True)
        grads = tg.grad(out.sum(), (x, w, b), create_graph=create_graph)
    assert out.shape == (2, 3, 0) and out.dtype == tg.float32
    for g, t in zip(grads, (x, w, b)):
        assert g.shape == t.shape and g.dtype == tg.float32
    x2 = tg.Tensor(np.zeros((2, 3, 0)), requires_grad=True)
    (gx,) = tg.grad(LayerNorm.apply(x2, normalized_ndim=2).sum(), (x2,), create_graph=create_graph)
    assert gx.shape == (2, 3, 0)


def test_layer_norm_of_constant_rows_without_eps_is_nan_silently():
    from tinygrad_cnn.ops.normalization import LayerNorm
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = LayerNorm.apply(tg.Tensor(np.ones((2, 3))), normalized_ndim=1, eps=0.0).numpy()
    assert np.isnan(out).all()


@pytest.mark.parametrize("k", [0, 3, 1.5])
def test_layer_norm_primitive_refuses_a_normalized_ndim_out_of_range(k):
    from tinygrad_cnn.ops.normalization import LayerNorm
    message = f"layer_norm: normalized_ndim {k!r} must be in [1, 2] for input of shape (2, 3)"
    with pytest.raises(ShapeError, match=exactly(message)):
        LayerNorm.apply(tg.Tensor(np.ones((2, 3))), normalized_ndim=k)


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_layer_norm_primitive_names_the_affine_input_of_a_wrong_shape_or_dtype(name):
    from tinygrad_cnn.ops.normalization import LayerNorm
    flags = {"has_weight": name == "weight", "has_bias": name == "bias"}
    x = tg.Tensor(np.ones((2, 3)))
    with pytest.raises(ShapeError, match=exactly(f"layer_norm: {name} has shape (2,) but the normalized shape is "
                                                 "(3,)")):
        LayerNorm.apply(x, tg.Tensor(np.ones(2)), **flags)
    with pytest.raises(TypeError, match=exactly(f"layer_norm: input is float64 but {name} is float32; convert one "
                                                "with .float()/.double()")):
        LayerNorm.apply(x, tg.Tensor(np.ones(3, np.float32)), **flags)


# ---- border padding (tinygrad_cnn/ops/padding.py) -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
def test_border_pad_backward_without_padding_returns_a_copy(mode):
    from tinygrad_cnn.ops.padding import BorderPadBackward
    g = tg.Tensor(RNG.standard_normal((2, 3)))
    out = BorderPadBackward.apply(g, input_shape=(2, 3), pad_width=((0, 0), (0, 0)), mode=mode)
    np.testing.assert_array_equal(out.numpy(), g.numpy())
    assert not np.shares_memory(out.data, g.data)


# ---- interpolation (tinygrad_cnn/ops/resample.py) --------------------------------------------------------------
# The tap tables are cached per geometry: each test below clears the caches, so the tap arithmetic runs again
# (a warm cache would hide a change to it).
def fresh_resample_caches():
    from tinygrad_cnn.ops import resample
    resample.axis_taps.cache_clear()
    resample.axis_matrix.cache_clear()


RESAMPLE_CASES = [("nearest", None), ("nearest-exact", None), ("bilinear", False), ("bilinear", True),
                  ("bicubic", False), ("bicubic", True)]


@pytest.mark.parametrize(("mode", "align_corners"), RESAMPLE_CASES)
@pytest.mark.parametrize(("hw", "size", "scale"), [((5, 7), None, (1.7, 0.7)), ((4, 130), (9, 61), None),
                                                   ((6, 5), (6, 11), None)])
def test_interpolate_from_fresh_tap_tables_matches_torch(mode, align_corners, hw, size, scale):
    torch = pytest.importorskip("torch")
    fresh_resample_caches()
    x_np, kw = RNG.standard_normal((1, 2, *hw)), {"mode": mode}
    if align_corners is not None:
        kw["align_corners"] = align_corners
    kw.update({"size": size} if size else {"scale_factor": scale})
    x = leaf(x_np)
    y = F.interpolate(x, **kw)
    xt = torch.tensor(x_np, requires_grad=True)
    yt = torch.nn.functional.interpolate(xt, **kw)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    u = RNG.standard_normal(tuple(yt.shape))
    (y * tg.Tensor(u)).sum().backward()
    (yt * torch.tensor(u)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_resample_tap_tables_and_matrices_are_read_only(mode):
    from tinygrad_cnn.ops.resample import axis_matrix, axis_taps
    fresh_resample_caches()
    index, weight = axis_taps(5, 8, mode, False, None)
    assert not index.flags.writeable and (weight is None or not weight.flags.writeable)
    assert not axis_matrix(5, 8, mode, False, None, np.dtype(np.float64)).flags.writeable


def test_resample_adjoint_to_the_same_size_returns_a_copy():
    from tinygrad_cnn.ops.resample import Resample2dAdjoint
    g = tg.Tensor(RNG.standard_normal((1, 1, 3, 4)))
    out = Resample2dAdjoint.apply(g, input_hw=(3, 4), size=(3, 4), mode="nearest")
    np.testing.assert_array_equal(out.numpy(), g.numpy())
    assert not np.shares_memory(out.data, g.data)


def test_resample_primitive_reads_a_zero_scale_as_none():
    from tinygrad_cnn.ops.resample import Resample2d
    fresh_resample_caches()
    x = tg.Tensor(RNG.standard_normal((1, 1, 3, 4)))
    zero = Resample2d.apply(x, size=(6, 7), mode="bilinear", scales=(0.0, 0.0)).numpy()
    np.testing.assert_array_equal(zero, Resample2d.apply(x, size=(6, 7), mode="bilinear").numpy())


# ---- scans (tinygrad_cnn/ops/scan.py) ---------------------------------------------------------------------------
@pytest.mark.parametrize("reverse", [False, True])
def test_linear_scan_gradient_of_the_coefficients_alone(reverse):
    from tinygrad_cnn.ops.scan import LinearScan
    a_np, b_np, u_np = RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4)), RNG.standard_normal((2, 4))
    a = leaf(a_np)
    h = LinearScan.apply(a, leaf(b_np, False), axis=1, reverse=reverse)
    (h * tg.Tensor(u_np)).sum().backward()
    # h_k = a_k h_{k-1} + b_k: dL/da_k = lam_k h_{k-1}, lam_k = u_k + a_{k+1} lam_{k+1} (mirrored when reversed)
    a_f, b_f, u_f = (np.flip(v, 1) if reverse else v for v in (a_np, b_np, u_np))
    h_f = np.zeros_like(b_f)
    for k in range(4):
        h_f[:, k] = b_f[:, k] + (a_f[:, k] * h_f[:, k - 1] if k else 0)
    lam = np.zeros_like(u_f)
    for k in reversed(range(4)):
        lam[:, k] = u_f[:, k] + (a_f[:, k + 1] * lam[:, k + 1] if k < 3 else 0)
    grad = np.concatenate([np.zeros((2, 1)), lam[:, 1:] * h_f[:, :-1]], axis=1)
    np.testing.assert_allclose(h.numpy(), np.flip(h_f, 1) if reverse else h_f, rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), np.flip(grad, 1) if reverse else grad, rtol=1e-12, atol=1e-15)


def test_logcumsumexp_over_an_empty_axis_is_empty_with_an_empty_gradient():
    x = tg.Tensor(np.zeros((2, 0), np.float32), requires_grad=True)
    y = x.logcumsumexp(1)
    assert y.shape == (2, 0) and y.dtype == tg.float32
    y.sum().backward()
    assert x.grad.shape == (2, 0)


# ---- sorting and running extremes (tinygrad_cnn/ops/sort.py) -----------------------------------------------------
@pytest.mark.parametrize("descending", [False, True])
def test_sort_keeps_ties_in_their_original_order_on_a_long_axis(descending):
    x_np = RNG.integers(0, 3, size=(2, 3000)).astype(np.float64)  # long enough for NumPy's unstable quicksort
    values, indices = tg.Tensor(x_np).sort(1, descending=descending)
    key = -x_np if descending else x_np
    np.testing.assert_array_equal(indices.numpy(), np.argsort(key, axis=1, kind="stable"))
    np.testing.assert_array_equal(values.numpy(), np.take_along_axis(x_np, indices.numpy(), 1))


@pytest.mark.parametrize("largest", [True, False])
def test_running_extreme_of_floats_with_nan_and_of_integers(largest):
    op = "cummax" if largest else "cummin"
    values, indices = getattr(tg.Tensor(np.array([1.0, 2.0, np.nan, 0.5, 3.0])), op)(0)
    np.testing.assert_array_equal(indices.numpy(), [0, 1 if largest else 0, 2, 2, 2])
    assert np.isnan(values.numpy()[2:]).all()
    values, indices = getattr(tg.Tensor(np.array([3, 1, 3, 5, 1])), op)(0)
    np.testing.assert_array_equal(values.numpy(), [3, 3, 3, 5, 5] if largest else [3, 1, 1, 1, 1])
    np.testing.assert_array_equal(indices.numpy(), [0, 0, 2, 3, 3] if largest else [0, 1, 1, 1, 4])


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_running_extreme_over_an_empty_axis_gives_int64_indices(op):
    values, indices = getattr(tg.Tensor(np.zeros((2, 0))), op)(1)
    assert values.shape == indices.shape == (2, 0) and indices.dtype == tg.int64


# ---- gathers and scatters (tinygrad_cnn/ops/indexing.py) --------------------------------------------------------
def test_index_primitives_name_themselves_and_the_operand_for_an_index_out_of_range():
    from tinygrad_cnn.ops.indexing import Gather, Scatter, ScatterAdd, ScatterReduce
    from tinygrad_cnn.ops.movement import TensorIndexError
    a, bad = tg.Tensor(np.zeros(3)), np.array([0, 5])
    src = tg.Tensor(np.ones(2))

    def message(op, what):
        return exactly(f"{op}: index holds values from 0 to 5, out of range [0, 2] of dimension 0 of the {what} of "
                       "shape (3,)")
    with pytest.raises(TensorIndexError, match=message("gather", "input")):
        Gather.apply(a, index=bad, dim=0)
    with pytest.raises(TensorIndexError, match=message("scatter_add", "output")):
        ScatterAdd.apply(src, index=bad, dim=0, shape=(3,))
    with pytest.raises(TensorIndexError, match=message("scatter", "input")):
        Scatter.apply(a, src, index=bad, dim=0)
    with pytest.raises(TensorIndexError, match=message("scatter_reduce", "input")):
        ScatterReduce.apply(a, src, index=bad, dim=0, reduce="amax")


def test_gather_between_zero_and_one_dimensional_operands():
    from tinygrad_cnn.ops.indexing import Gather
    from tinygrad_cnn.ops.movement import TensorIndexError
    scalar, vector = tg.Tensor(np.array(5.0)), tg.Tensor(np.array([1.0, 2.0, 3.0]))
    assert float(Gather.apply(scalar, index=np.array(0), dim=0).numpy()) == 5.0
    np.testing.assert_array_equal(Gather.apply(scalar, index=np.array([0]), dim=0).numpy(), [5.0])
    assert float(Gather.apply(vector, index=np.array(2), dim=0).numpy()) == 3.0
    with pytest.raises(TensorIndexError, match=exactly("gather: index holds values from 1 to 1, out of range [0, 0] "
                                                       "of dimension 0 of the input of shape ()")):
        Gather.apply(scalar, index=np.array(1), dim=0)
    with pytest.raises(TensorIndexError, match=exactly("gather: index has 2 dimensions but the input has 1 (shape "
                                                       "(3,)); they must have the same number of dimensions")):
        Gather.apply(vector, index=np.zeros((1, 1), np.int64), dim=0)


def test_scatters_with_an_empty_index_leave_the_input_as_it_is():
    from tinygrad_cnn.ops.indexing import Scatter, ScatterReduce
    a_np = RNG.standard_normal((2, 3))
    index, src = np.zeros((2, 0), np.int64), tg.Tensor(np.zeros((2, 0)))
    for reduce in ("amax", "prod"):
        a = leaf(a_np)
        out = ScatterReduce.apply(a, src, index=index, dim=1, reduce=reduce)
        np.testing.assert_array_equal(out.numpy(), a_np)
        out.sum().backward()
        np.testing.assert_array_equal(a.grad.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(Scatter.apply(tg.Tensor(a_np), src, index=index, dim=1).numpy(), a_np)


def test_scatter_with_many_repeated_indices_keeps_the_last_write():
    from tinygrad_cnn.ops.indexing import Scatter
    index = RNG.integers(0, 3, size=3000)  # long enough for NumPy's unstable quicksort to reorder the ties
    out = Scatter.apply(tg.Tensor(np.zeros(3)), tg.Tensor(np.arange(3000.0)), index=index, dim=0).numpy()
    np.testing.assert_array_equal(out, [np.flatnonzero(index == j).max() for j in range(3)])


def test_scatter_add_of_integers_is_exact_and_keeps_dtype_and_shape():
    from tinygrad_cnn.ops.indexing import ScatterAdd
    big = 2 ** 60
    src = tg.Tensor(np.array([[big, 1], [1, big]], np.int64))
    index = np.array([[0, 0], [1, 1]])
    out = ScatterAdd.apply(src, index=index, dim=1, shape=(2, 2))
    assert out.dtype == tg.int64 and out.shape == (2, 2)
    np.testing.assert_array_equal(out.numpy(), np.array([[big + 1, 0], [0, big + 1]], np.int64))
    unique = ScatterAdd.apply(src, index=np.array([[1, 0], [0, 1]]), dim=1, shape=(2, 2), unique=True)
    assert unique.dtype == tg.int64
    np.testing.assert_array_equal(unique.numpy(), [[1, big], [1, big]])


@pytest.mark.parametrize("reduce", ["amax", "prod"])
def test_scatter_reduce_gradient_of_the_input_alone(reduce):
    from tinygrad_cnn.ops.indexing import ScatterReduce
    a_np, src_np = np.array([1.0, 5.0, 2.0]), np.array([3.0, 4.0, 0.5])
    a = leaf(a_np)
    ScatterReduce.apply(a, leaf(src_np, False), index=np.array([0, 0, 2]), dim=0, reduce=reduce).sum().backward()
    expected = [0.0, 1.0, 1.0] if reduce == "amax" else [12.0, 1.0, 0.5]  # amax: 4 beats 1; prod: 1*3*4, 5, 2*0.5
    np.testing.assert_array_equal(a.grad.numpy(), expected)


# ---- batch normalisation's input-gradient kernel (tinygrad_cnn/ops/batchnorm.py) ---------------------------------
@pytest.mark.parametrize("with_weight", [False, True])
def test_batch_norm_backward_gradient_of_each_input_alone_matches_all_together(with_weight):
    from tinygrad_cnn.ops.batchnorm import BatchNormBackward
    arrays = [RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))]
    if with_weight:
        arrays.append(RNG.standard_normal(2))
    u = tg.Tensor(RNG.standard_normal((3, 2, 4)))

    def grads(needs):
        inputs = [leaf(a, n) for a, n in zip(arrays, needs)]
        out = BatchNormBackward.apply(*inputs)
        wanted = [t for t, n in zip(inputs, needs) if n]
        return tg.grad((out * u).sum(), wanted)
    together = grads([True] * len(arrays))
    for k in range(len(arrays)):
        (alone,) = grads([j == k for j in range(len(arrays))])
        np.testing.assert_allclose(alone.numpy(), together[k].numpy(), rtol=1e-10, atol=1e-12)


def test_batch_norm_backward_gradient_with_no_channel_is_empty():
    from tinygrad_cnn.ops.batchnorm import BatchNormBackward
    g, x = leaf(np.zeros((2, 0, 3))), leaf(np.zeros((2, 0, 3)))
    gg, gx = tg.grad(BatchNormBackward.apply(g, x).sum(), (g, x))
    assert gg.shape == gx.shape == (2, 0, 3)


def test_batch_norm_backward_refuses_a_mismatched_gradient_or_weight():
    from tinygrad_cnn.ops.batchnorm import BatchNormBackward
    x = tg.Tensor(np.ones((2, 2, 4)))
    with pytest.raises(ShapeError, match=exactly("batch_norm backward: gradient of shape (2, 2, 3) (float64) for an "
                                                 "input of shape (2, 2, 4) (float64); they must match")):
        BatchNormBackward.apply(tg.Tensor(np.ones((2, 2, 3))), x)
    with pytest.raises(ShapeError, match=exactly("batch_norm: weight has shape (3,) for an input of shape (2, 2, 4) "
                                                 "with 2 channels; it must be (2,)")):
        BatchNormBackward.apply(tg.Tensor(np.ones((2, 2, 4))), x, tg.Tensor(np.ones(3)))


def test_batch_norm_backward_recomputes_what_is_not_lent():
    from tinygrad_cnn.ops.batchnorm import BatchNormBackward, normalise_affine
    g_np, x_np = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))
    stats = normalise_affine(x_np, 1e-5, None, None, apply=False)
    centred, low, inv_std = stats.centred, stats.low, stats.inv_std
    assert stats.y is None
    g, x = tg.Tensor(g_np), tg.Tensor(x_np)
    expected = BatchNormBackward.apply(g, x).numpy()
    lents = [{"centred": centred}, {"low": low}, {"inv_std": inv_std}, {"centred": centred, "low": low},
             {"centred": centred, "inv_std": inv_std}, {"low": low, "inv_std": inv_std},
             {"centred": centred, "low": low, "inv_std": inv_std}]
    for lent in lents:
        np.testing.assert_allclose(BatchNormBackward.apply(g, x, **lent).numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gives_the_bias_its_gradient_when_the_weight_needs_none(training):
    x_np, g_np = RNG.standard_normal((3, 2, 4)), RNG.standard_normal((3, 2, 4))
    bias = leaf(np.zeros(2))
    stats = (None, None) if training else (tg.Tensor(np.zeros(2)), tg.Tensor(np.ones(2)))
    y = F.batch_norm(leaf(x_np, False), *stats, weight=leaf(np.ones(2), False), bias=bias, training=training)
    (y * tg.Tensor(g_np)).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), g_np.sum((0, 2)), rtol=1e-12)


def test_batch_norm_without_affine_keeps_float32_precision_for_a_large_mean():
    x_np = (1e5 + RNG.standard_normal((4, 2, 4))).astype(np.float32)
    g_np = RNG.standard_normal((4, 2, 4)).astype(np.float32)
    x = tg.Tensor(x_np, requires_grad=True)
    (F.batch_norm(x, None, None, training=True) * tg.Tensor(g_np)).sum().backward()
    x64, g64 = x_np.astype(np.float64), g_np.astype(np.float64)
    mean, var = x64.mean((0, 2), keepdims=True), x64.var((0, 2), keepdims=True)
    x_hat = (x64 - mean) / np.sqrt(var + 1e-5)
    expected = (g64 - g64.mean((0, 2), keepdims=True) - x_hat * (g64 * x_hat).mean((0, 2), keepdims=True)) / \
        np.sqrt(var + 1e-5)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5, atol=1e-5)  # without the correction: ~1e-3


def test_batch_norm_variance_subtracts_the_square_of_the_centred_mean():
    """A first estimate of the mean off by half a float32 unit of 1e4 (low ~ 5e-4) against a spread of 1e-2: var is
    mean(centred^2) - low^2, and + low^2 would be 2e-3 off relatively."""
    from tinygrad_cnn.ops import batchnorm as bn

    x = (1e4 + 0.01 * np.random.default_rng(17).standard_normal((40, 3, 4, 3))).astype(np.float32)
    stats = bn.normalise_affine(x, 1e-5, None, None, apply=False)
    assert np.abs(stats.low).max() > 1e-4  # the case this test is about
    np.testing.assert_allclose(stats.var, x.astype(np.float64).var(axis=(0, 2, 3)), rtol=1e-5)


@pytest.mark.parametrize("total", ["dot", "sum"])
def test_batch_norm_channel_sums_add_the_rows_in_float64(total):
    """Row sums 2^24 and 1: float64 keeps 2^24 + 1 across the batch, float32 would round it away."""
    from tinygrad_cnn.ops import batchnorm as bn

    a = np.zeros((2, 1, 8), np.float32)
    a[0] = 2.0 ** 21
    a[1, 0, 0] = 1.0
    got = bn.channel_dot(a, np.ones_like(a)) if total == "dot" else bn.channel_total(a)
    assert got.dtype == np.float64 and got[0] == 2.0 ** 24 + 1


@pytest.mark.parametrize("affine", ["weight", "bias"])
def test_batch_norm_with_one_affine_input_keeps_the_centred_values_apart_from_y(affine):
    from tinygrad_cnn.ops import batchnorm as bn

    x = RNG.standard_normal((4, 2, 3, 3)).astype(np.float32)
    weight, bias = (np.array([2.0, -1.0], np.float32), None) if affine == "weight" else (None, np.ones(2, np.float32))
    stats = bn.normalise_affine(x, 1e-5, weight, bias)
    assert stats.y is not stats.centred
    assert np.array_equal(stats.centred, x - stats.c.reshape(1, -1, 1, 1))
    assert stats.inv_std.dtype == stats.c.dtype == np.float32 and stats.low.dtype == stats.var.dtype == np.float64


def test_batch_norm_x_hat_of_is_centred_times_s_plus_t_in_the_centred_dtype():
    """x_hat = centred * float32(s) + float32(t), s = inv_std and t = -low inv_std in float64, bit for bit."""
    from tinygrad_cnn.ops import batchnorm as bn

    x = (100.0 + RNG.standard_normal((5, 2, 3, 4))).astype(np.float32)
    stats = bn.normalise_affine(x, 1e-5, None, None, apply=False)
    got = bn.x_hat_of(stats.centred, stats.low, stats.inv_std)
    s = stats.inv_std.astype(np.float64)
    expected = stats.centred * s.astype(np.float32).reshape(1, -1, 1, 1)
    expected += (-stats.low * s).astype(np.float32).reshape(1, -1, 1, 1)
    assert got.dtype == np.float32 and np.array_equal(got, expected)
    # t = 2^-24 + 2^-50 rounds to 2^-24 in float32, and 1 + 2^-24 to 1 (a tie, to even); added in float64 first,
    # 1 + t would round up to 1 + 2^-23
    one = bn.x_hat_of(np.ones((1, 1, 1), np.float32), np.array([-(2.0 ** -24 + 2.0 ** -50)]), np.ones(1, np.float32))
    assert one.dtype == np.float32 and one[0, 0, 0] == 1.0


def test_batch_norm_with_a_bias_and_no_weight_adds_the_bias_to_x_hat():
    from tinygrad_cnn.ops.batchnorm import BatchNorm
    x_np, b_np = RNG.standard_normal((3, 2, 4)), np.array([0.5, -2.0])
    x, b = leaf(x_np), leaf(b_np)
    y = BatchNorm.apply(x, b, has_bias=True)
    x_hat, _ = layer_norm_reference(np.moveaxis(x_np, 1, 0).reshape(2, -1), 1)
    expected = np.moveaxis(x_hat.reshape(2, 3, 4), 0, 1) + b_np[None, :, None]
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_batch_norm_primitive_names_an_affine_input_of_a_wrong_shape(name):
    from tinygrad_cnn.ops.batchnorm import BatchNorm
    message = f"batch_norm: {name} has shape (3,) for an input of shape (2, 2, 4) with 2 channels; it must be (2,)"
    with pytest.raises(ShapeError, match=exactly(message)):
        BatchNorm.apply(tg.Tensor(np.ones((2, 2, 4))), tg.Tensor(np.ones(3)), **{f"has_{name}": True})


def test_batch_norm_primitive_in_eval_mode_names_its_running_statistics():
    from tinygrad_cnn.ops.batchnorm import BatchNorm
    x, good, bad = tg.Tensor(np.ones((2, 2, 4))), np.ones(2), np.ones(3)
    with pytest.raises(TypeError, match=exactly("batch_norm: eval mode (training=False) needs running_mean and "
                                                "running_var")):
        BatchNorm.apply(x, training=False, running_mean=good)
    for name in ("running_mean", "running_var"):
        stats = {"running_mean": good, "running_var": good, name: bad}
        with pytest.raises(ShapeError, match=exactly(f"batch_norm: {name} has shape (3,) for an input of shape "
                                                     "(2, 2, 4) with 2 channels; it must be (2,)")):
            BatchNorm.apply(x, training=False, **stats)


def test_batch_norm_of_an_empty_batch_is_empty_and_silent():
    from tinygrad_cnn.ops.batchnorm import BatchNorm, BatchNormBackward
    x = tg.Tensor(np.zeros((0, 2, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = []
        y = BatchNorm.apply(x, stats_out=stats)
        dx = BatchNormBackward.apply(tg.Tensor(np.zeros((0, 2, 3))), x)
    assert y.shape == dx.shape == (0, 2, 3)
    assert np.isnan(stats[0][0]).all()  # the mean of no element, as PyTorch


def test_batch_norm_eval_with_a_negative_or_cancelling_running_var_is_silent():
    from tinygrad_cnn.ops.batchnorm import BatchNorm
    x = tg.Tensor(np.full((2, 2, 3), 2.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = BatchNorm.apply(x, training=False, eps=1e-5, running_mean=np.zeros(2),
                            running_var=np.array([-1.0, -1e-5])).numpy()
    assert np.isnan(y[:, 0]).all() and np.isposinf(y[:, 1]).all()  # sqrt(-1 + eps) is NaN; 1 / sqrt(0) is inf


def test_batch_norm_split_into_channel_chunks_matches_the_per_channel_formula():
    from tinygrad_cnn.ops.batchnorm import BatchNorm, BatchNormBackward
    x_np = RNG.standard_normal((2, 4, 65536))  # 4 MB: the channels are split into chunks for the thread pool
    g_np = RNG.standard_normal(x_np.shape)
    w_np, b_np = RNG.standard_normal(4), RNG.standard_normal(4)
    mean, var = x_np.mean((0, 2), keepdims=True), x_np.var((0, 2), keepdims=True)
    x_hat = (x_np - mean) / np.sqrt(var + 1e-5)
    y = BatchNorm.apply(tg.Tensor(x_np), tg.Tensor(w_np), tg.Tensor(b_np), has_weight=True, has_bias=True)
    np.testing.assert_allclose(y.numpy(), x_hat * w_np[:, None] + b_np[:, None], rtol=1e-9, atol=1e-9)
    dx = BatchNormBackward.apply(tg.Tensor(g_np), tg.Tensor(x_np)).numpy()
    expected = (g_np - g_np.mean((0, 2), keepdims=True) - x_hat * (g_np * x_hat).mean((0, 2), keepdims=True)) / \
        np.sqrt(var + 1e-5)
    np.testing.assert_allclose(dx, expected, rtol=1e-9, atol=1e-9)


# ---- elementwise primitives (tinygrad_cnn/ops/elementwise.py) -------------------------------------------------------
@pytest.mark.parametrize("name, op", [("atan2", Atan2), ("copysign", Copysign), ("hypot", Hypot),
                                      ("logaddexp", LogAddExp)])
def test_binary_float_primitives_name_themselves_when_shapes_do_not_broadcast(name, op):
    with pytest.raises(ShapeError, match=exactly(f"{name}: shapes (2,) and (3,) do not broadcast; trailing axes must "
                                                 "be equal or 1 (reshape or unsqueeze one operand)")):
        op.apply(leaf(np.ones(2)), leaf(np.ones(3)))


@pytest.mark.parametrize("op", [Remainder, Fmod, FloorDivide])
def test_integer_division_primitives_refuse_a_boolean_dividend_or_divisor_alone(op):
    booleans, integers = tg.Tensor(np.array([True, False])), tg.Tensor(np.array([1, 2]))
    for a, b in ((booleans, integers), (integers, booleans)):
        with pytest.raises(TypeError, match="not defined for boolean tensors"):
            op.apply(a, b)


def test_clip_primitive_names_the_bound_that_is_no_number():
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=exactly("clip: high must be a real number, got 'a' (str)")):
        Clip.apply(x, high="a")


def test_clip_with_equal_bounds_is_that_constant_with_a_gradient_where_a_equals_it():
    x = leaf([0.5, 1.0, 3.0])
    y = tg.clip(x, 1.0, 1.0)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [1.0, 1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 0.0])


def test_nan_to_num_replaces_infinities_by_the_values_asked_for():
    x = tg.Tensor(np.array([np.nan, np.inf, -np.inf, 2.0], dtype=np.float32))
    np.testing.assert_array_equal(tg.nan_to_num(x, nan=1.5, posinf=5.0, neginf=-7.0).numpy(), [1.5, 5.0, -7.0, 2.0])
    np.testing.assert_array_equal(tg.nan_to_num(x, posinf=5.0).numpy(),
                                  [0.0, 5.0, np.finfo(np.float32).min, 2.0])
    np.testing.assert_array_equal(tg.nan_to_num(x, neginf=-7.0).numpy(),
                                  [0.0, np.finfo(np.float32).max, -7.0, 2.0])


@pytest.mark.parametrize("exponent, slope", [(1.0, 1.0), (0.5, np.inf), (2.0, 0.0)])
def test_pow_gradient_at_a_zero_base_with_a_nonzero_exponent(exponent, slope):
    x = leaf([0.0])
    (x ** exponent).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [slope])


def test_pow_gradient_of_zero_to_the_zero_is_zero_silently():
    x, e = leaf([0.0, 2.0]), leaf([0.0, 0.0])
    y = x ** e
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 0.0])


@pytest.mark.parametrize("op", ["floor", "ceil", "trunc", "round"])
def test_stepwise_maps_of_a_boolean_tensor_keep_it_boolean(op):
    x = tg.Tensor(np.array([True, False]))
    y = getattr(tg, op)(x)
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y.numpy(), [True, False])


def test_round_of_a_boolean_tensor_to_negative_decimals_keeps_it():
    y = Round.apply(tg.Tensor(np.array([True, False])), decimals=-1)
    assert y.dtype == np.bool_
    np.testing.assert_array_equal(y.numpy(), [True, False])


def test_softplus_at_its_threshold_is_still_the_smooth_formula():
    x = leaf([20.0, 10.0])
    y = F.softplus(x, beta=1.0, threshold=20.0)
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), np.log1p(np.exp([20.0, 10.0])), rtol=1e-15, atol=0)
    assert y.numpy()[0] != 20.0
    np.testing.assert_allclose(x.grad.numpy(), 1 / (1 + np.exp([-20.0, -10.0])), rtol=1e-15, atol=0)
    assert x.grad.numpy()[0] != 1.0


def ulps(a, b):
    return abs(int(np.float64(a).view(np.int64)) - int(np.float64(b).view(np.int64)))


def test_erfc_at_one_takes_the_tail_formula_within_one_ulp():
    """At x = 1 the series 1 - erf(x) is 3 ulps off math.erfc, the tail formula 1 ulp."""
    assert ulps(erfc_array(np.array([1.0]))[0], math.erfc(1.0)) <= 1


def test_erf_and_erfc_of_float32_are_computed_in_float64_and_rounded_once():
    x = np.linspace(-4, 4, 4001, dtype=np.float32)
    assert erf_array(x).dtype == erfc_array(x).dtype == np.float32
    np.testing.assert_array_equal(erf_array(x), np.float32([math.erf(v) for v in x.astype(np.float64)]))
    np.testing.assert_array_equal(erfc_array(x), np.float32([math.erfc(v) for v in x.astype(np.float64)]))


def test_erf_series_keeps_all_twenty_terms_near_one():
    """Points below 1 where the 20-term series gives math.erf's double and a shorter one misses it by an ulp."""
    x = np.array([0.8145150000000001, 0.866555, 0.88981, 0.830455, 0.8803025, 0.891795])
    np.testing.assert_array_equal(erf_array(x), [math.erf(v) for v in x])
    np.testing.assert_array_equal(erf_array(-x), [-math.erf(v) for v in x])


@pytest.mark.parametrize("shapes", [((2,), (3,), (3,)), ((3,), (3,), (2,)), ((3,), (2,), (3,))])
def test_where_primitive_names_all_three_shapes_when_they_do_not_broadcast(shapes):
    cond, a, b = shapes
    listed = " and ".join(str(s) for s in shapes)
    with pytest.raises(ShapeError, match=exactly(f"where: shapes {listed} do not broadcast; trailing axes must be "
                                                 "equal or 1 (reshape or unsqueeze one operand)")):
        Where.apply(tg.Tensor(np.ones(cond, dtype=bool)), leaf(np.ones(a)), leaf(np.ones(b)))


@pytest.mark.parametrize("name", ["sinh", "cosh", "exp2", "expm1"])
def test_float_maps_overflow_to_infinity_silently(name):
    x = tg.Tensor(np.array([1000.0], dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = getattr(tg, name)(x)
    assert y.dtype == np.float32 and np.isposinf(y.numpy()).all()


TINY = 2.0**-24  # half an ulp of 1 in float32: 1 + TINY + TINY is 1 summed in float32, 1 + 2**-23 in float64
BROADCAST_CASES = {  # name: (function, base, exponent-or-other, upstream gradient, which operand is broadcast)
    "where": (lambda a, b: tg.where(tg.Tensor(np.array([True, True, True, False])), a, b),
              [1.0], [0.0, 0.0, 0.0, 0.0], [1.0, TINY, TINY, 7.0], 0),
    "maximum": (lambda a, b: tg.maximum(a, b), [1.0], [0.0, 0.0, 0.0], [1.0, TINY, TINY], 0),
    "copysign": (lambda a, b: tg.copysign(a, b), [1.0], [1.0, 1.0, 1.0], [1.0, TINY, TINY], 0),
    "pow_base": (lambda a, b: a ** b, [0.0], [0.0, 1.0, 1.0, 1.0], [5.0, 1.0, TINY, TINY], 0),
    "pow_exponent": (lambda a, b: a ** b, [2.0, 2.0, 2.0, 0.0], [1.0], [1.0, TINY, TINY, 3.0], 1),
}


@pytest.mark.parametrize("name", sorted(BROADCAST_CASES))
def test_float32_gradient_of_a_broadcast_operand_is_summed_in_float32_as_pytorch(name):
    torch = pytest.importorskip("torch")
    fn, a, b, g, which = BROADCAST_CASES[name]
    ours = [tg.Tensor(np.float32(v), requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(np.float32(v), requires_grad=True) for v in (a, b)]
    fn(*ours).backward(tg.Tensor(np.float32(g)))
    torch_fn = {"where": lambda p, q: torch.where(torch.tensor([True, True, True, False]), p, q),
                "maximum": torch.maximum, "copysign": torch.copysign}.get(name, lambda p, q: p ** q)
    torch_fn(*theirs).backward(torch.tensor(np.float32(g)))
    assert ours[which].grad.dtype == np.float32
    np.testing.assert_array_equal(ours[which].grad.numpy(), theirs[which].grad.numpy())


def test_pow_outside_its_domain_is_nan_or_infinity_silently_as_pytorch():
    torch = pytest.importorskip("torch")
    base, exponent = np.float32([-1.0, 0.0, 10.0, 2.0]), np.float32([0.5, -1.0, 100.0, 3.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = tg.Tensor(base) ** tg.Tensor(exponent)
    np.testing.assert_array_equal(y.numpy(), (torch.tensor(base) ** torch.tensor(exponent)).numpy())
    assert y.dtype == np.float32
    with pytest.raises(ShapeError, match="pow: Integers to negative integer powers are not allowed"):
        tg.Tensor(np.array([2, 3])) ** tg.Tensor(np.array([-1, 1]))
