"""Factories (tinygrad_cnn/factories.py): values against PyTorch's rules, dtypes, seeding by ``manual_seed``, the
statistics of the random draws, and bad input (tests/test_fuzz.py fuzzes them too)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tg


# ---- deterministic factories ---------------------------------------------------------------------------------------
def test_arange_pytorch_length_rule_and_dtypes():
    assert tg.arange(5).dtype == np.int64 and tg.arange(5).tolist() == [0, 1, 2, 3, 4]
    x = tg.arange(0, 1, 0.3)
    assert x.dtype == np.float32 and x.shape == (math.ceil(1 / 0.3),)
    np.testing.assert_allclose(x.numpy(), [0, 0.3, 0.6, 0.9], rtol=1e-6)
    assert tg.arange(1, 1.3, 0.1).shape == (4,)  # ceil(0.3000...04 / 0.1) = 4, as PyTorch (and NumPy)
    assert tg.arange(0, 2.0).dtype == np.float32  # one float argument makes the result float
    assert tg.arange(3, 0, -1).tolist() == [3, 2, 1]
    assert tg.arange(2, 2).shape == (0,)
    assert tg.arange(0, 3, dtype=np.float64).dtype == np.float64
    assert tg.arange(0, end=3).tolist() == tg.arange(0, stop=3).tolist() == [0, 1, 2]
    assert tg.arange(0, 1, 0.5, requires_grad=True).requires_grad


def test_linspace_and_logspace():
    x = tg.linspace(0, 1, 5)
    assert x.dtype == np.float32
    np.testing.assert_array_equal(x.numpy(), np.float32([0, 0.25, 0.5, 0.75, 1]))
    y = tg.linspace(-1.0, 7.0, 7, dtype=np.float64)
    assert y.numpy()[0] == -1.0 and y.numpy()[-1] == 7.0  # both ends exact (PyTorch computes from each end)
    np.testing.assert_allclose(y.numpy(), np.linspace(-1, 7, 7), rtol=1e-15)
    assert tg.linspace(3, 9, 1).tolist() == [3.0] and tg.linspace(0, 1, 0).shape == (0,)
    assert tg.linspace(0, 10, 5, dtype=np.int64).tolist() == [0, 2, 5, 7, 10]  # truncated, as PyTorch
    np.testing.assert_allclose(tg.logspace(0, 3, 4).numpy(), [1, 10, 100, 1000], rtol=1e-6)
    np.testing.assert_allclose(tg.logspace(0, 2, 3, base=2).numpy(), [1, 2, 4])


def test_full_infers_the_dtype_as_pytorch():
    assert tg.full((2,), 2).dtype == np.int64
    assert tg.full((2,), 2.0).dtype == np.float32
    assert tg.full((2,), True).dtype == np.bool_
    assert tg.full((2, 2), 1.5, dtype=np.float64).dtype == np.float64
    assert tg.full_like(tg.zeros(2, dtype=np.float64), 3).dtype == np.float64  # _like keeps the tensor's dtype
    assert tg.full(3, 7).tolist() == [7, 7, 7]


def test_eye_two_sizes_and_triangle_indices():
    np.testing.assert_array_equal(tg.eye(2, 3).numpy(), np.eye(2, 3))
    assert tg.eye(3).dtype == np.float32
    for row, col, offset in [(3, 3, 0), (3, 4, 1), (4, 3, -1), (0, 3, 0), (3, 3, 5), (2, 5, -4)]:
        want_l = np.stack(np.tril_indices(row, offset, col))
        want_u = np.stack(np.triu_indices(row, offset, col))
        got_l, got_u = tg.tril_indices(row, col, offset), tg.triu_indices(row, col, offset)
        assert got_l.dtype == np.int64 and got_l.shape == (2, want_l.shape[1])
        np.testing.assert_array_equal(got_l.numpy(), want_l)
        np.testing.assert_array_equal(got_u.numpy(), want_u)
    # PyTorch's documented example: tril_indices(3, 3) -> [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert tg.tril_indices(3, 3).tolist() == [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert tg.triu_indices(3, 3, 1, dtype=np.int32).dtype == np.int32


def test_empty():
    x = tg.empty(2, 3)
    assert x.shape == (2, 3) and x.dtype == np.float32
    assert tg.empty((4,), dtype=np.int8).dtype == np.int8
    assert tg.empty_like(tg.zeros(3, dtype=np.float64)).dtype == np.float64


# ---- random factories ----------------------------------------------------------------------------------------------
RANDOM = [
    lambda: tg.randint(0, 10, (50,)),
    lambda: tg.randperm(20),
    lambda: tg.normal(0.0, 1.0, (20,)),
    lambda: tg.normal(tg.zeros(20), 2.0),
    lambda: tg.bernoulli(tg.full((20,), 0.5)),
    lambda: tg.multinomial(tg.ones(10), 5),
    lambda: tg.multinomial(tg.ones(2, 10), 30, replacement=True),
    lambda: tg.rand(5),
]


@pytest.mark.parametrize("draw", RANDOM)
def test_manual_seed_makes_every_draw_reproducible(draw):
    tg.manual_seed(123)
    first = draw().numpy().copy()
    tg.manual_seed(123)
    np.testing.assert_array_equal(draw().numpy(), first)
    tg.manual_seed(124)
    assert not np.array_equal(draw().numpy(), first)


def test_randint_forms_range_and_dtypes():
    tg.manual_seed(0)
    x = tg.randint(3, 7, (1000,))
    assert x.dtype == np.int64 and x.numpy().min() == 3 and x.numpy().max() == 6
    assert tg.randint(5, (2, 3)).shape == (2, 3)  # randint(high, size)
    assert tg.randint(5, size=(4,)).numpy().max() < 5
    assert tg.randint(-2, 2, (3,), dtype=np.float32).dtype == np.float32
    assert tg.randint(0, 2, 5).shape == (5,)


def test_randperm_is_a_permutation():
    tg.manual_seed(0)
    p = tg.randperm(100)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(100))
    assert tg.randperm(0).shape == (0,)
    assert tg.randperm(4, dtype=np.float64).dtype == np.float64


def test_normal_forms_and_moments():
    tg.manual_seed(0)
    x = tg.normal(2.0, 3.0, (20000,))
    assert x.dtype == np.float32
    assert abs(x.numpy().mean() - 2.0) < 0.1 and abs(x.numpy().std() - 3.0) < 0.1
    mean = tg.Tensor(np.array([[0.0], [100.0]]))
    std = tg.Tensor(np.array([1e-12, 1e-12, 1e-12]))
    y = tg.normal(mean, std)  # broadcast shapes, the tensors' dtype
    assert y.shape == (2, 3) and y.dtype == np.float64
    np.testing.assert_allclose(y.numpy(), [[0, 0, 0], [100, 100, 100]], atol=1e-9)
    assert tg.normal(1.0, tg.zeros(3)).tolist() == [1.0, 1.0, 1.0]
    assert not tg.normal(tg.zeros(2, requires_grad=True), 1.0).requires_grad  # no gradient, as PyTorch's


def test_bernoulli_and_multinomial_statistics():
    tg.manual_seed(0)
    p = tg.Tensor(np.array([0.0, 0.25, 1.0]))
    draws = np.stack([tg.bernoulli(p).numpy() for _ in range(2000)])
    assert draws[:, 0].max() == 0 and draws[:, 2].min() == 1 and abs(draws[:, 1].mean() - 0.25) < 0.05
    assert tg.bernoulli(tg.zeros(4, dtype=np.float64), p=1.0).tolist() == [1.0] * 4
    w = tg.Tensor(np.array([1.0, 0.0, 3.0]))
    with_r = tg.multinomial(w, 20000, replacement=True).numpy()
    freq = np.bincount(with_r, minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.25, 0.0, 0.75], atol=0.02)
    rows = tg.multinomial(tg.Tensor(np.array([[1.0, 2.0, 7.0]] * 5000)), 3).numpy()
    assert rows.shape == (5000, 3) and rows.dtype == np.int64
    assert (np.sort(rows, axis=1) == [0, 1, 2]).all()  # without replacement: every index once
    first = np.bincount(rows[:, 0], minlength=3) / 5000
    np.testing.assert_allclose(first, [0.1, 0.2, 0.7], atol=0.03)
    # the second draw of weights (1, 2, 7): P(0) = 0.2 * 1/8 + 0.7 * 1/3
    second = np.bincount(rows[:, 1], minlength=3) / 5000
    assert abs(second[0] - (0.2 / 8 + 0.7 / 3)) < 0.03
    zero_weight = tg.multinomial(tg.Tensor(np.array([0.0, 1.0, 1.0])), 2).numpy()
    assert 0 not in zero_weight.tolist()


# ---- bad input -----------------------------------------------------------------------------------------------------
BAD = [
    (lambda: tg.arange(0, -3), ValueError, "arange: the range .* inconsistent with the sign of step"),
    (lambda: tg.arange(0, 3, -0.5), ValueError, "arange: .* step must be positive"),
    (lambda: tg.arange(0, float("inf")), ValueError, "arange: end must be finite"),
    (lambda: tg.arange(0, end=3, stop=3), TypeError, "arange: got both end= and stop="),
    (lambda: tg.linspace(0, 1, -1), ValueError, "linspace: steps must be >= 0"),
    (lambda: tg.linspace(0, 1, 2.0), TypeError, "linspace: steps must be an int"),
    (lambda: tg.linspace(0, 1e30, 3, dtype=np.int8), ValueError, "linspace: the values .* do not fit in int8"),
    (lambda: tg.logspace(0, 1, 3, base="a"), TypeError, "logspace: base must be a real number"),
    (lambda: tg.full((2,), 10**30), ValueError, "full: fill_value .* does not fit in int64"),
    (lambda: tg.full((2,), 2, requires_grad=True), TypeError, "full: only floating-point tensors can require grad"),
    (lambda: tg.randint(5, 5, (2,)), ValueError, "randint: low must be less than high"),
    (lambda: tg.randint(0, 10), TypeError, "randint: size is required"),
    (lambda: tg.randint(0, 300, (2,), dtype=np.int8), ValueError, "randint: the range .* does not fit in int8"),
    (lambda: tg.randint(0, 1.5, (2,)), TypeError, "randint: high must be an int"),
    (lambda: tg.randperm(-1), ValueError, "randperm: n must be >= 0"),
    (lambda: tg.randperm(300, dtype=np.int8), ValueError, "randperm: n=300 does not fit in int8"),
    (lambda: tg.normal(0.0, -1.0, (2,)), ValueError, "normal: std must be >= 0"),
    (lambda: tg.normal(0.0, float("nan"), (2,)), ValueError, "normal: std must be >= 0"),
    (lambda: tg.normal(tg.zeros(2), tg.Tensor(np.array([1.0, -1.0], np.float32))), ValueError, "normal: std"),
    (lambda: tg.normal(0.0, 1.0), TypeError, "normal: with a number mean and std, pass size="),
    (lambda: tg.normal(tg.zeros(2), 1.0, (2,)), TypeError, "normal: size= is only for"),
    (lambda: tg.normal(tg.zeros(2), tg.ones(3)), ValueError, r"normal: mean of shape \(2,\) and std of shape \(3,\)"),
    (lambda: tg.normal(tg.Tensor([1, 2]), 1.0), TypeError, "normal: mean must be a floating-point tensor"),
    (lambda: tg.normal(tg.zeros(2), tg.ones(2, dtype=np.float64)), TypeError, "normal: mean is float32 but std"),
    (lambda: tg.bernoulli(tg.Tensor([0.5, 1.5])), ValueError, r"bernoulli: input must hold probabilities in \[0, 1\]"),
    (lambda: tg.bernoulli(tg.zeros(2), p=2.0), ValueError, r"bernoulli: p must be in \[0.0, 1.0\]"),
    (lambda: tg.bernoulli([0.5]), TypeError, "bernoulli: input must be a Tensor"),
    (lambda: tg.bernoulli(tg.Tensor([0, 1])), TypeError, "bernoulli: input must be a floating-point tensor"),
    (lambda: tg.multinomial(tg.ones(2, 2, 2), 1), ValueError, "multinomial: input must be 1-D or 2-D"),
    (lambda: tg.multinomial(tg.Tensor([1.0, -1.0]), 1), ValueError, "multinomial: .* non-negative weights"),
    (lambda: tg.multinomial(tg.Tensor([1.0, float("nan")]), 1), ValueError, "multinomial: .* finite"),
    (lambda: tg.multinomial(tg.zeros(3), 1), ValueError, "multinomial: every row of input needs a positive sum"),
    (lambda: tg.multinomial(tg.Tensor([1.0, 0.0, 1.0]), 3), ValueError,
     r"multinomial: cannot draw 3 samples without replacement from a row with 2 positive"),
    (lambda: tg.multinomial(tg.ones(3), 0), ValueError, "multinomial: num_samples must be a positive int"),
    (lambda: tg.multinomial(tg.ones(3), 1, replacement="yes"), TypeError, "multinomial: replacement must be True"),
    (lambda: tg.multinomial(tg.zeros(2, 0), 1), ValueError, "multinomial: .*at least one category"),
    (lambda: tg.tril_indices(-1, 3), ValueError, "tril_indices: row must be >= 0"),
    (lambda: tg.triu_indices(3, 3, 1.5), TypeError, "triu_indices: offset must be an int"),
    (lambda: tg.tril_indices(3, 3, dtype=np.float32), TypeError, "tril_indices: dtype must be"),
    (lambda: tg.triu_indices(300, 3, dtype=np.int8), ValueError, "triu_indices: indices up to 299 do not fit"),
    (lambda: tg.empty(-1), ValueError, "empty: shape"),
    (lambda: tg.empty_like(None), TypeError, "empty_like: expected a Tensor"),
    (lambda: tg.eye(2, 3, requires_grad="a"), TypeError, "eye: requires_grad must be True or False"),
]


@pytest.mark.parametrize(("call", "error", "match"), BAD, ids=[m.split(":")[0] + f"-{i}" for i, (_, _, m) in
                                                                 enumerate(BAD)])
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("make", [tg.tensor, tg.as_tensor])
def test_python_floats_with_a_dtype_round_once_as_pytorch(make):
    """tg.tensor([1.6], dtype=float64) is exactly 1.6 (PyTorch): Python floats are not rounded to float32 first."""
    assert make([1.6, 0.1], dtype=tg.float64).numpy().tolist() == [1.6, 0.1]
    assert make(1.6, dtype=tg.float64).item() == 1.6
    assert make([1.6]).dtype == tg.float32  # without a dtype, Python floats still take the default dtype
    assert make([1.6], dtype=tg.float16).numpy()[0] == np.float16(1.6)  # one rounding, straight to float16
