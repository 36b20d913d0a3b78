"""kernels.pointwise.against_scalar: ufunc(a, scalar) run against a row of the scalar gives NumPy's answer bit for
bit (NaN, -0.0 and the infinities included), for every length around the row boundary, every float dtype, and
inputs it hands to NumPy directly (non-contiguous, integer, small)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.kernels import pointwise

SPECIAL = [np.nan, -0.0, 0.0, np.inf, -np.inf, 1.0, -1.0, 0.5, -2.5, 6.0, 1e-45, -1e-45]


def same_bits(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal dtype, shape and bits (so -0.0 differs from 0.0 and every NaN equals itself)."""
    return got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.float32, np.float64, np.float16]), size=st.integers(0, 70),
       ufunc=st.sampled_from([np.maximum, np.minimum]), value=st.sampled_from([0, 0.0, -0.0, 1.0, -1.0, 6]),
       data=st.data())
def test_equals_the_ufunc_bit_for_bit_across_the_row_boundary(dtype, size, ufunc, value, data):
    a = data.draw(hnp.arrays(dtype, size, elements=st.sampled_from(SPECIAL).map(dtype)))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pointwise, "ROW", 8)  # rows of 8: lengths 0 to 70 cross many row boundaries and tails
        got = pointwise.against_scalar(ufunc, a, value)
    assert same_bits(got, ufunc(a, value))
    assert got is not a and not np.shares_memory(got, a)


@pytest.mark.parametrize("shape", [(2, 3, 80, 81), (1 << 15,), (3, 1 << 14)])
def test_a_real_row_length_and_shapes_with_a_tail(shape):
    """At the module's own ROW: arrays of exactly whole rows and with a tail, in their own shape."""
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    a.reshape(-1)[::97] = np.nan
    a.reshape(-1)[1::97] = -0.0
    assert a.size >= 2 * pointwise.ROW
    for ufunc in (np.maximum, np.minimum):
        assert same_bits(pointwise.against_scalar(ufunc, a, 0), ufunc(a, 0))


def test_inputs_handed_to_numpy_directly():
    """Non-contiguous, integer and small arrays: NumPy's own call (its layout and dtype rules)."""
    rng = np.random.default_rng(1)
    strided = rng.standard_normal((300, 300)).astype(np.float32).T
    assert same_bits(pointwise.against_scalar(np.maximum, strided, 0), np.maximum(strided, 0))
    assert pointwise.against_scalar(np.maximum, strided, 0).flags.f_contiguous  # NumPy keeps the input's order
    ints = np.arange(-50000, 50000, dtype=np.int32)
    assert same_bits(pointwise.against_scalar(np.maximum, ints, 0), np.maximum(ints, 0))
    flags = np.arange(3 * pointwise.ROW) % 3 == 0  # NumPy widens bool against a Python int: int64, not bool
    assert same_bits(pointwise.against_scalar(np.maximum, flags, 0), np.maximum(flags, 0))
    assert pointwise.against_scalar(np.maximum, flags, 0).dtype == np.int64
    zero_d = np.asarray(-3.0, dtype=np.float32)
    assert same_bits(pointwise.against_scalar(np.maximum, zero_d, 0), np.maximum(zero_d, 0))


def test_relu_and_hardtanh_forward_match_numpy_on_large_inputs():
    """The primitives that use the kernel, on inputs of several rows, against NumPy's formula."""
    a = np.random.default_rng(2).standard_normal((4, 8, 32, 32)).astype(np.float32) * 4
    a.reshape(-1)[::101] = np.nan
    assert same_bits(F.relu(tg.Tensor(a)).numpy(), np.maximum(a, 0))
    lo, hi = np.float32(-1.5), np.float32(2.0)
    assert same_bits(F.hardtanh(tg.Tensor(a), -1.5, 2.0).numpy(), np.minimum(np.maximum(a, lo), hi))
    assert same_bits(F.relu6(tg.Tensor(a)).numpy(), np.minimum(np.maximum(a, np.float32(0)), np.float32(6)))
