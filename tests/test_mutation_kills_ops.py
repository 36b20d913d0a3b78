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
