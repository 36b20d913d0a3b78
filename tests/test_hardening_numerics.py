"""Numerical promises (issue 16): sigmoid and the losses built on it over the whole float range, binary
cross-entropy at p = 0 and 1, the gradient of std at zero variance and var/std's corrections, float32 sums as
accurate as a pairwise sum along any axis, and the losses on empty batches.

References are computed in float64 or long double with NumPy, independently of the library; PyTorch is a second
reference where it is installed (``importorskip``). docs/debugging.md ("Numerical promises") states what is promised.
"""

from __future__ import annotations

import importlib.util
import math
import warnings

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.elementwise import Softplus
from tinygrad_cnn.ops.kernels.sums import accurate_sum
from tinygrad_cnn.testing import gradcheck, gradgradcheck

LD = np.longdouble
EXTENDED = np.finfo(LD).nmant > np.finfo(np.float64).nmant  # long double is wider than float64 (x86: 80 bits)
FLOATS = (np.float32, np.float64)
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="PyTorch is not installed")


def leaf(values, dtype=np.float32) -> tg.Tensor:
    return tg.Tensor(np.asarray(values, dtype=dtype), requires_grad=True)


def ulps(out: np.ndarray, ref: np.ndarray, dtype) -> np.ndarray:
    """|out - ref| in units in the last place of ref rounded to ``dtype`` (subnormal units below the normal range)."""
    info = np.finfo(dtype)
    top = info.max - np.nextafter(info.max, dtype(0))  # the spacing of the largest float (NumPy's overflows)
    with np.errstate(over="ignore"):
        spacing = np.spacing(np.abs(ref.astype(dtype)))
    spacing = np.where(np.isfinite(spacing), spacing, top).astype(LD)
    return np.abs(out.astype(LD) - ref.astype(LD)) / spacing


def sigmoid_ref(x: np.ndarray) -> np.ndarray:
    xl = x.astype(LD)
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-xl))


def whole_range(dtype, width: int):
    """Finite floats of the dtype, from -max to max (subnormals, zeros and the extremes included), as an array."""
    return st.lists(st.floats(allow_nan=False, allow_infinity=False, width=width), min_size=1, max_size=64).map(
        lambda v: np.asarray(v, dtype=dtype))


def dense_grid(dtype) -> np.ndarray:
    """Every region of the sigmoid: the left tail down past underflow, the middle, the right tail, the extremes."""
    low = -110.0 if dtype == np.float32 else -760.0
    info = np.finfo(dtype)
    return np.concatenate([np.linspace(low, 40.0, 200_001), [0.0, -0.0, info.max, -info.max, info.tiny, -info.tiny,
                                                             info.smallest_subnormal]]).astype(dtype)


# ---- 1. sigmoid and what is built on it ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_is_within_four_ulps_over_a_dense_grid(dtype):
    if dtype == np.float64 and not EXTENDED:
        pytest.skip("needs a long double wider than float64 for the reference")
    x = dense_grid(dtype)
    out = tg.Tensor(x).sigmoid().numpy()
    assert out.dtype == dtype
    assert ulps(out, sigmoid_ref(x), dtype).max() <= 4
    assert np.all((out >= 0) & (out <= 1))


@given(whole_range(np.float32, 32))
def test_sigmoid_float32_whole_range_property(x):
    out = tg.Tensor(x).sigmoid().numpy()
    assert ulps(out, sigmoid_ref(x), np.float32).max() <= 4
    assert np.all((out >= 0) & (out <= 1))


@pytest.mark.skipif(not EXTENDED, reason="needs a long double wider than float64 for the reference")
@given(whole_range(np.float64, 64))
def test_sigmoid_float64_whole_range_property(x):
    assert ulps(tg.Tensor(x).sigmoid().numpy(), sigmoid_ref(x), np.float64).max() <= 4


def test_sigmoid_tail_values_from_the_issue():
    out = tg.Tensor(np.array([-17.0, -20.0, -40.0], np.float32)).sigmoid().numpy()
    np.testing.assert_allclose(out, [4.1399378e-08, 2.0611537e-09, 4.2483543e-18], rtol=1e-6)
    assert tg.Tensor(np.array([np.nan, np.inf, -np.inf], np.float32)).sigmoid().numpy().tolist()[1:] == [1.0, 0.0]
    assert np.isnan(tg.Tensor(np.array(np.nan, np.float32)).sigmoid().numpy())
    assert tg.Tensor(np.arange(3)).sigmoid().dtype == np.float32  # integers give float32


@pytest.mark.parametrize("dtype", FLOATS)
def test_sigmoid_vjp_is_exactly_out_times_one_minus_out(dtype):
    x = leaf(np.linspace(-50, 50, 1001), dtype)
    s = x.sigmoid()
    s.sum().backward()
    y = s.numpy()
    np.testing.assert_array_equal(x.grad.numpy(), y * (1 - y))
    assert gradgradcheck(lambda t: t.sigmoid(), leaf(np.linspace(-5, 5, 7), np.float64))


def test_log_of_sigmoid_is_finite_where_sigmoid_is_normal():
    x = leaf([-17.0, -20.0, -40.0, -80.0])
    y = x.sigmoid().log()
    y.sum().backward()
    np.testing.assert_allclose(y.numpy(), [-17.0, -20.0, -40.0, -80.0], rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 1.0, rtol=1e-6)


def test_log_of_sigmoid_underflows_like_pytorch_below_the_float_range():
    x = leaf([-200.0, -1000.0])
    with np.errstate(divide="ignore", invalid="ignore"):
        y = x.sigmoid().log()
        y.sum().backward()
    assert np.all(y.numpy() == -np.inf)  # sigmoid is 0 there: PyTorch gives -inf as well
    assert np.all(np.isnan(x.grad.numpy()))


@pytest.mark.parametrize("dtype", FLOATS)
def test_logsigmoid_is_exact_everywhere(dtype):
    x = leaf(dense_grid(dtype)[::7], dtype)
    y = F.logsigmoid(x)
    y.sum().backward()
    ref = -np.logaddexp(LD(0), -x.numpy().astype(LD))
    assert ulps(y.numpy(), ref, dtype).max() <= 4
    assert ulps(x.grad.numpy(), sigmoid_ref(-x.numpy()), dtype).max() <= 4
    z = leaf([-100.0], dtype)
    F.logsigmoid(z).sum().backward()
    assert F.logsigmoid(z).item() == pytest.approx(-100.0) and z.grad.item() == pytest.approx(1.0)


@given(whole_range(np.float32, 32))
def test_softplus_silu_and_the_logits_loss_stay_finite_and_accurate(x):
    t = leaf(x)
    soft = Softplus.apply(t, threshold=math.inf)  # the exact formula, no linear switch
    assert ulps(soft.numpy(), np.logaddexp(LD(0), x.astype(LD)), np.float32).max() <= 4
    silu = F.silu(t)
    ref = x.astype(LD) * sigmoid_ref(x)
    normal = np.abs(ref) >= np.finfo(np.float32).tiny
    assert ulps(silu.numpy()[normal], ref[normal], np.float32).max(initial=0) <= 6
    assert np.all(np.isfinite(silu.numpy()))
    y = (x > 0).astype(np.float32)
    loss = F.binary_cross_entropy_with_logits(t, y, reduction="none")
    loss.sum().backward()
    ref_loss = np.where(y == 1, np.logaddexp(LD(0), -x.astype(LD)), np.logaddexp(LD(0), x.astype(LD)))
    np.testing.assert_allclose(loss.numpy().astype(LD), ref_loss, rtol=1e-6, atol=1e-44)
    np.testing.assert_allclose(t.grad.numpy().astype(LD), sigmoid_ref(x) - y, rtol=1e-6, atol=5e-7)


@needs_torch
def test_sigmoid_matches_pytorch_in_the_normal_range():
    import torch

    for dtype, rtol in ((np.float32, 5e-7), (np.float64, 1e-15)):
        x = dense_grid(dtype)
        ours = tg.Tensor(x).sigmoid().numpy()
        theirs = torch.sigmoid(torch.from_numpy(x)).numpy()
        normal = theirs >= np.finfo(dtype).tiny  # PyTorch flushes below the normal range, we keep subnormals
        np.testing.assert_allclose(ours[normal], theirs[normal], rtol=rtol)


# ---- 2. binary_cross_entropy at p = 0 and 1 ---------------------------------------------------------------------
def bce_ref(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(loss, d/dp, d/dy) in long double from the stated rule: each log floored at -100; d/dp = (p - y) /
    max(p (1 - p), 1e-12), d/dy = log(1 - p) - log(p) (PyTorch's documented clamp and its backward formula)."""
    p, y = p.astype(LD), y.astype(LD)
    with np.errstate(divide="ignore"):
        log_p, log_q = np.log(p), np.log1p(-p)
    loss = -(y * np.maximum(log_p, -100) + (1 - y) * np.maximum(log_q, -100))
    floor = LD(np.float32(1e-12))  # the 1e-12 of the rule is a float32 constant (so PyTorch's gradient is too)
    return loss, (p - y) / np.maximum(p * (1 - p), floor), log_q - log_p


def probabilities(dtype, width: int):
    """p in [0, 1] with the ends, subnormals and values a hair from 1; y in [0, 1], hard labels often."""
    values = st.floats(0.0, 1.0, width=width) | st.sampled_from([0.0, 1.0, 1e-45 if width == 32 else 5e-324, 1e-13])
    labels = st.sampled_from([0.0, 1.0]) | st.floats(0.0, 1.0, width=width)
    return st.lists(st.tuples(values, labels), min_size=1, max_size=32).map(
        lambda v: (np.asarray([a for a, _ in v], dtype), np.asarray([b for _, b in v], dtype)))


def _bce_with_grads(p: np.ndarray, y: np.ndarray):
    pt, yt = leaf(p, p.dtype), leaf(y, y.dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = F.binary_cross_entropy(pt, yt, reduction="none")
        loss.sum().backward()
    return loss.numpy(), pt.grad.numpy(), yt.grad.numpy()


@pytest.mark.parametrize("dtype", FLOATS)
def test_bce_at_zero_and_one_is_finite_with_pytorchs_large_gradient(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5], dtype)
    y = np.array([1.0, 0.0, 0.0, 1.0, 0.3], dtype)
    loss, gp, gy = _bce_with_grads(p, y)
    np.testing.assert_allclose(loss, [100.0, 100.0, 0.0, 0.0, math.log(2)], rtol=1e-6)
    np.testing.assert_allclose(gp, [-1e12, 1e12, 0.0, 0.0, 0.8], rtol=1e-6)  # (p - y) / max(p (1 - p), 1e-12)
    assert gy[0] == np.inf and gy[1] == -np.inf  # the label gradient is unclamped, as PyTorch's


@pytest.mark.parametrize("dtype", FLOATS)
def test_bce_of_a_saturated_sigmoid_has_finite_logit_gradients(dtype):
    x = leaf([40.0, -40.0, 100.0, -100.0], dtype)
    y = np.array([0.0, 1.0, 1.0, 0.0], dtype)
    loss = F.binary_cross_entropy(x.sigmoid(), y, reduction="none")
    loss.sum().backward()
    assert np.all(np.isfinite(loss.numpy())) and np.all(np.isfinite(x.grad.numpy()))
    np.testing.assert_allclose(loss.numpy()[:2], [100.0, 40.0], rtol=1e-6)  # sigmoid(40) rounds to 1: floored
    np.testing.assert_allclose(x.grad.numpy()[1], -4.248354e-06, rtol=1e-5)  # PyTorch's value, both dtypes


@given(probabilities(np.float32, 32))
def test_bce_float32_property_against_a_long_double_reference(py):
    p, y = py
    loss, gp, gy = _bce_with_grads(p, y)
    ref_loss, ref_gp, ref_gy = bce_ref(p, y)
    np.testing.assert_allclose(loss.astype(LD), ref_loss, rtol=2e-6, atol=1e-44)
    np.testing.assert_allclose(gp.astype(LD), ref_gp, rtol=2e-6, atol=1e-30)
    finite = np.isfinite(ref_gy)
    np.testing.assert_allclose(gy[finite].astype(LD), ref_gy[finite], rtol=2e-6, atol=1e-6)
    assert np.array_equal(gy[~finite], ref_gy[~finite].astype(np.float32))


@given(probabilities(np.float64, 64))
def test_bce_float64_property_against_a_long_double_reference(py):
    p, y = py
    loss, gp, _ = _bce_with_grads(p, y)
    ref_loss, ref_gp, _ = bce_ref(p, y)
    np.testing.assert_allclose(loss.astype(LD), ref_loss, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(gp.astype(LD), ref_gp, rtol=1e-13, atol=1e-300)


@needs_torch
@pytest.mark.parametrize("dtype", FLOATS)
@given(data=st.data())
def test_bce_matches_pytorch(dtype, data):
    import torch

    p, y = data.draw(probabilities(dtype, 32 if dtype == np.float32 else 64))
    reduction = data.draw(st.sampled_from(["mean", "sum", "none"]))
    weight = data.draw(st.none() | st.just(np.linspace(0.5, 2.0, p.size).astype(dtype)))
    pt, yt = leaf(p, dtype), leaf(y, dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = F.binary_cross_entropy(pt, yt, None if weight is None else tg.Tensor(weight), reduction=reduction)
        loss.sum().backward()
    tp, ty = (torch.tensor(a, requires_grad=True) for a in (p, y))
    tloss = torch.nn.functional.binary_cross_entropy(tp, ty, None if weight is None else torch.tensor(weight),
                                                     reduction=reduction)
    tloss.sum().backward()
    rtol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(pt.grad.numpy(), tp.grad.numpy(), rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(yt.grad.numpy(), ty.grad.numpy(), rtol=rtol, atol=1e-6)


def test_bce_keeps_its_second_derivative():
    p = tg.Tensor(np.array([0.1, 0.5, 0.9]), requires_grad=True)
    y = tg.Tensor(np.array([0.0, 0.3, 1.0]), requires_grad=True)
    assert gradcheck(lambda a, b: F.binary_cross_entropy(a, b), p, y)
    assert gradgradcheck(lambda a, b: F.binary_cross_entropy(a, b, reduction="sum"), p, y)


# ---- 3. std's gradient at zero variance, var/std corrections -----------------------------------------------------
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("dim", [None, 0, 1])
def test_std_gradient_at_zero_variance_is_zero(dtype, dim):
    for values in (np.zeros((3, 4)), np.full((3, 4), 3.5)):
        x = leaf(values, dtype)
        s = x.std() if dim is None else x.std(dim=dim)
        s.sum().backward()
        assert np.all(s.numpy() == 0)
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


@pytest.mark.parametrize("correction", [0, 1, 2, 0.5])
def test_var_and_std_corrections_value_and_gradient(correction):
    rng = np.random.default_rng(7)
    values = rng.standard_normal((4, 6))
    for dim in (None, 1):
        x = leaf(values, np.float64)
        v = x.var(dim=dim, correction=correction) if dim is not None else x.var(correction=correction)
        v.sum().backward()
        np.testing.assert_allclose(v.numpy(), np.var(values, axis=dim, ddof=correction), rtol=1e-12)
        n = values.size if dim is None else values.shape[1]
        centred = values - values.mean(axis=dim, keepdims=dim is not None)
        np.testing.assert_allclose(x.grad.numpy(), 2 * centred / (n - correction), rtol=1e-12)
        x.grad = None
        s = x.std(dim=dim, ddof=correction) if dim is not None else x.std(ddof=correction)
        s.sum().backward()
        std = np.std(values, axis=dim, ddof=correction, keepdims=dim is not None)
        np.testing.assert_allclose(x.grad.numpy(), centred / ((n - correction) * std), rtol=1e-12)
    x = leaf(values, np.float64)
    assert gradcheck(lambda t: t.std(dim=1, correction=correction), x)
    assert gradgradcheck(lambda t: t.var(dim=0, correction=correction), x)


def test_var_with_no_degrees_of_freedom_warns_and_answers_as_pytorch():
    x = leaf([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    with pytest.warns(UserWarning, match=r"var: degrees of freedom n - correction = 3 - 3(\.0)? <= 0"), \
            np.errstate(invalid="ignore"):
        v = x.var(dim=1, correction=3)
        v.sum().backward()
    assert v.numpy()[0] == np.inf and np.isnan(v.numpy()[1])
    g = x.grad.numpy()
    assert g[0, 0] == -np.inf and np.isnan(g[0, 1]) and g[0, 2] == np.inf and np.all(np.isnan(g[1]))
    x.grad = None
    with pytest.warns(UserWarning, match="std: degrees of freedom"), np.errstate(invalid="ignore"):
        s = x.std(dim=1, correction=3.5)
        s.sum().backward()
    assert s.numpy()[0] == np.inf and np.all(np.isnan(x.grad.numpy()))
    with pytest.warns(UserWarning, match="std: degrees of freedom n - correction = 1 - 1"), \
            np.errstate(invalid="ignore"):
        one = leaf([5.0])
        s1 = one.std()
        s1.backward()
    assert np.isnan(s1.item()) and np.isnan(one.grad.item())


@needs_torch
def test_degenerate_var_and_std_match_pytorch():
    import torch

    values = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]], np.float32)
    for fn, correction in (("var", 3), ("std", 3), ("var", 2.5), ("std", 0.5), ("std", 1), ("var", 7), ("std", 7)):
        x = leaf(values)
        with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
            warnings.simplefilter("ignore")
            out = getattr(x, fn)(dim=1, correction=correction)
            out.sum().backward()
            t = torch.tensor(values, requires_grad=True)
            tout = getattr(t, fn)(dim=1, correction=correction)
            tout.sum().backward()
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-6, equal_nan=True)
        if correction <= values.shape[1]:  # below 0 degrees of freedom only the values agree: see reductions.md
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-6, equal_nan=True)
    t = torch.zeros(3, requires_grad=True)
    t.std().backward()
    x = leaf(np.zeros(3))
    x.std().backward()
    np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


# ---- 4. float32 sums as accurate as a pairwise sum along any axis ---------------------------------------------------
@st.composite
def reduction_cases(draw):
    """(array, axes): 1 to 4 axes with up to ~10^6 elements, a layout (contiguous, transposed, strided, reversed,
    broadcast) and data that is the worst case for naive sums (a positive constant) or typical."""
    ndim = draw(st.integers(1, 4))
    budget = draw(st.sampled_from([10**3, 10**5, 10**6]))
    shape = []
    for _ in range(ndim):  # sides spread over the octaves 1 .. 4096 (uniform integers would be mostly small)
        room = max(1, budget // math.prod(shape))
        octave = draw(st.integers(0, 12))
        side = 2**octave + draw(st.integers(0, 2**octave - 1))
        shape.append(max(1, min(side, room, 4096)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kind = draw(st.sampled_from(["constant", "positive", "normal", "offset"]))
    full = tuple(shape)
    data = {"constant": lambda: np.full(full, 1.1), "positive": lambda: rng.uniform(0.5, 1.5, full),
            "normal": lambda: rng.standard_normal(full), "offset": lambda: 100 + rng.standard_normal(full)}[kind]()
    a = data.astype(np.float32)
    layout = draw(st.sampled_from(["contiguous", "transposed", "strided", "reversed", "broadcast"]))
    if layout == "transposed":
        a = a.transpose(tuple(reversed(range(a.ndim))))
    elif layout == "strided":
        a = a[(slice(None),) * (a.ndim - 1) + (slice(None, None, 2),)]
    elif layout == "reversed":
        a = a[::-1]
    elif layout == "broadcast":
        a = np.broadcast_to(a[:1], a.shape)
    axes = draw(st.none() | st.lists(st.integers(0, a.ndim - 1), min_size=1, max_size=a.ndim, unique=True).map(
        tuple))
    return a, axes


def relative_sum_error(out: np.ndarray, a: np.ndarray, axes) -> float:
    wide = a.astype(np.float64)
    scale = np.sum(np.abs(wide), axis=axes)
    err = np.abs(out.astype(np.float64) - np.sum(wide, axis=axes)) / np.where(scale > 0, scale, 1)
    return float(np.max(err)) if err.size else 0.0


@given(reduction_cases())
@example((np.full((200_000, 3), 1.1, np.float32), (0,)))
@example((np.full((300, 5, 400), 1.1, np.float32).transpose(2, 1, 0), (0, 2)))
@example((np.broadcast_to(np.float32(1.1), (100_000, 2)), None))
def test_float32_sums_along_any_axis_are_pairwise_accurate(case):
    a, axes = case
    out = accurate_sum(a, axes)
    assert out.dtype == np.float32 and out.shape == np.sum(a, axis=axes).shape
    assert relative_sum_error(out, a, axes) <= 1e-5
    t = tg.Tensor(a)  # the Sum primitive, mean and var go through the same kernel
    assert relative_sum_error(t.sum(axis=axes).numpy(), a, axes) <= 1e-5
    assert relative_sum_error(t.mean(axis=axes).numpy() * (a.size // max(1, t.sum(axis=axes).size)), a, axes) <= 1e-5
    if a.size > 1:
        ref = np.var(a.astype(np.float64), axis=axes)
        np.testing.assert_allclose(t.var(axis=axes, correction=0).numpy(), ref, rtol=1e-5, atol=1e-6)


def test_accurate_sum_keeps_numpys_contract():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    for axis in (None, 0, 1, 2, (0, 2), (-1,), ()):
        for keepdims in (False, True):
            out = accurate_sum(a, axis, keepdims=keepdims)
            expected = np.sum(a, axis=axis, keepdims=keepdims)
            assert out.shape == expected.shape and out.dtype == expected.dtype
            np.testing.assert_array_equal(out, expected)  # small integers: exact in any order
            assert not np.shares_memory(out, a)
    assert accurate_sum(np.ones((0, 3), np.float32), 0).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="accurate_sum: axis 3 is out of range for an array of 3 dimensions"):
        accurate_sum(a, 3)
    assert accurate_sum(np.ones((5, 3), np.int64), 0).dtype == np.int64
    half = accurate_sum(np.full((4096, 2), 0.1, np.float16), 0)  # float16 is summed in float32
    assert half.dtype == np.float16 and abs(float(half[0]) / (4096 * float(np.float16(0.1))) - 1) < 1e-3


def test_tall_float32_column_sum_regression():
    a = tg.Tensor(np.full((10**6, 4), 1.1, np.float32))
    for out, expected in ((a.sum(axis=0), 1.1e6), (a.mean(dim=0), 1.1)):
        assert np.max(np.abs(out.numpy() / expected - 1)) <= 1e-6  # NumPy's row-by-row sum: 1e-2


def test_linear_bias_gradient_over_a_million_rows():
    n = 10**6
    x = tg.Tensor(np.full((n, 3), 0.5, np.float32))
    w = leaf(np.full((4, 3), 0.1))
    b = leaf(np.zeros(4))
    (F.linear(x, w, b) * 1.1).sum().backward()
    assert np.max(np.abs(b.grad.numpy() / (1.1 * n) - 1)) <= 1e-6  # was 1.6e-3


def test_broadcast_and_layer_gradients_are_accurate():
    n = 2**16
    bias = leaf(np.zeros(4))
    ((tg.Tensor(np.ones((n, 4), np.float32)) + bias) * 1.1).sum().backward()  # unbroadcast over the rows
    assert np.max(np.abs(bias.grad.numpy() / (1.1 * n) - 1)) <= 1e-6
    cb = leaf(np.zeros(4))
    out = F.conv2d(tg.Tensor(np.ones((n, 1, 2, 2), np.float32)), tg.Tensor(np.ones((4, 1, 1, 1), np.float32)), cb)
    (out * 1.1).sum().backward()  # conv bias: a sum over (0, 2, 3) with little spatial extent
    assert np.max(np.abs(cb.grad.numpy() / (1.1 * 4 * n) - 1)) <= 1e-6
    weight, shift = leaf(np.ones(4)), leaf(np.zeros(4))
    rng = np.random.default_rng(3)
    xs = tg.Tensor(rng.standard_normal((n, 4)).astype(np.float32))
    (F.layer_norm(xs, (4,), weight, shift) * 1.1).sum().backward()  # LayerNorm's column sums over the rows
    assert np.max(np.abs(shift.grad.numpy() / (1.1 * n) - 1)) <= 1e-6
    bw, bb = leaf(np.ones(4)), leaf(np.zeros(4))
    (F.batch_norm(xs, None, None, bw, bb, training=True) * 1.1).sum().backward()
    assert np.max(np.abs(bb.grad.numpy() / (1.1 * n) - 1)) <= 1e-6


def test_softmax_and_logsumexp_along_a_long_leading_axis():
    n = 2**17
    values = np.tile(np.array([0.0, -0.1], np.float32), n // 2)[:, None] * np.ones((1, 3), np.float32)
    x = tg.Tensor(values)
    wide = values.astype(np.float64)
    ref = np.log(np.sum(np.exp(wide), axis=0))
    np.testing.assert_allclose(x.logsumexp(dim=0).numpy(), ref, rtol=1e-6)
    np.testing.assert_allclose(F.log_softmax(x, dim=0).numpy(), wide - ref, rtol=1e-5)


# ---- 5. losses on empty batches, ignored targets and zero weights ------------------------------------------------
CLASS_CASES = {
    "cross_entropy": lambda x, t, **kw: F.cross_entropy(x, t, **kw),
    "nll_loss": lambda x, t, **kw: F.nll_loss(x, t, **kw),
}


EMPTY_OPTIONS = [{}, {"label_smoothing": 0.1}, {"weight": [1.0, 2.0, 3.0]},
                 {"weight": [1.0, 2.0, 3.0], "label_smoothing": 0.2}]


@pytest.mark.parametrize(("name", "options"), [(name, options) for name in sorted(CLASS_CASES)
                                               for options in EMPTY_OPTIONS
                                               if name == "cross_entropy" or "label_smoothing" not in options])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_class_losses_on_an_empty_batch(name, options, reduction):
    kwargs = dict(options, reduction=reduction)
    if "weight" in kwargs:
        kwargs["weight"] = tg.Tensor(np.asarray(kwargs["weight"], np.float32))
    x = leaf(np.zeros((0, 3)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # silently, as PyTorch
        loss = CLASS_CASES[name](x, np.zeros(0, np.int64), **kwargs)
        loss.sum().backward()
    expected = {"mean": np.nan, "sum": 0.0}.get(reduction)
    if expected is None:
        assert loss.shape == (0,)
    else:
        np.testing.assert_array_equal(loss.numpy(), np.float32(expected))
    assert x.grad.shape == (0, 3) and x.grad.dtype == np.float32


def test_cross_entropy_empty_probabilities_and_spatial_batches():
    x = leaf(np.zeros((0, 3)))
    loss = F.cross_entropy(x, tg.Tensor(np.zeros((0, 3), np.float32)), label_smoothing=0.1)
    loss.backward()
    assert np.isnan(loss.item()) and x.grad.shape == (0, 3)
    k = leaf(np.zeros((2, 3, 0)))
    loss = F.cross_entropy(k, np.zeros((2, 0), np.int64))
    loss.backward()
    assert np.isnan(loss.item()) and k.grad.shape == (2, 3, 0)


def test_every_target_ignored_gives_nan_and_a_zero_gradient():
    x = leaf(np.random.default_rng(0).standard_normal((4, 3)))
    for kwargs in ({}, {"label_smoothing": 0.1}, {"weight": tg.Tensor(np.array([1.0, 2.0, 3.0], np.float32))}):
        x.grad = None
        loss = F.cross_entropy(x, np.full(4, -100), **kwargs)
        loss.backward()
        assert np.isnan(loss.item())
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((4, 3)))


def test_zero_total_weight_gives_nan_like_pytorch():
    x = leaf(np.random.default_rng(0).standard_normal((4, 3)))
    weight = tg.Tensor(np.array([0.0, 2.0, 3.0], np.float32))
    target = np.array([0, 0, -100, 0])
    for kwargs in ({}, {"label_smoothing": 0.3}):
        x.grad = None
        loss = F.cross_entropy(x, target, weight=weight, **kwargs)
        loss.backward()
        assert np.isnan(loss.item())
        g = x.grad.numpy()
        assert np.all(np.isnan(g[[0, 1, 3]])) and np.all(g[2] == 0)  # kept rows 0/0, the ignored row 0
    logp = leaf(np.log(np.full((2, 3), 1 / 3)))
    loss = F.nll_loss(logp, np.array([0, 0]), weight=weight)
    loss.backward()
    g = logp.grad.numpy()
    assert np.isnan(loss.item()) and np.all(np.isnan(g[:, 0])) and np.all(g[:, 1:] == 0)


ELEMENTWISE_LOSSES = ["binary_cross_entropy", "binary_cross_entropy_with_logits", "mse_loss", "l1_loss",
                      "smooth_l1_loss", "huber_loss", "soft_margin_loss", "poisson_nll_loss", "kl_div"]


@pytest.mark.parametrize("name", ELEMENTWISE_LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_elementwise_losses_on_empty_inputs(name, reduction):
    x, t = leaf(np.zeros((0, 2))), leaf(np.zeros((0, 2)))
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        loss = getattr(F, name)(x, t, reduction=reduction)
        loss.sum().backward()
    if reduction == "none":
        assert loss.shape == (0, 2)
    else:
        np.testing.assert_array_equal(loss.numpy(), np.float32(np.nan if reduction == "mean" else 0.0))
    assert x.grad.shape == (0, 2)
    if name == "kl_div":
        kl = F.kl_div(leaf(np.zeros((0, 2))), np.zeros((0, 2), np.float32), reduction="batchmean")
        assert np.isnan(kl.item())


@needs_torch
def test_empty_and_degenerate_losses_match_pytorch():
    import torch

    tf = torch.nn.functional
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((4, 3)).astype(np.float32)
    cases = [
        (np.zeros((0, 3), np.float32), np.zeros(0, np.int64), {}),
        (np.zeros((0, 3), np.float32), np.zeros(0, np.int64), {"label_smoothing": 0.1}),
        (scores, np.full(4, -100), {}),
        (scores, np.full(4, -100), {"label_smoothing": 0.1}),
        (scores, np.array([0, 0, -100, 0]), {"weight": [0.0, 2.0, 3.0]}),
        (scores, np.array([0, 0, -100, 0]), {"weight": [0.0, 2.0, 3.0], "label_smoothing": 0.3}),
    ]
    for values, target, options in cases:
        ours_kw = {k: (tg.Tensor(np.asarray(v, np.float32)) if k == "weight" else v) for k, v in options.items()}
        torch_kw = {k: (torch.tensor(v) if k == "weight" else v) for k, v in options.items()}
        x = leaf(values)
        loss = F.cross_entropy(x, target, **ours_kw)
        loss.backward()
        t = torch.tensor(values, requires_grad=True)
        tloss = tf.cross_entropy(t, torch.from_numpy(target), **torch_kw)
        tloss.backward()
        np.testing.assert_allclose(loss.numpy(), tloss.detach().numpy(), rtol=1e-6, equal_nan=True)
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-7, equal_nan=True)
