"""Interpolation and padding: worked values (PyTorch's, by hand), the adjoint identities of Resample2d /
Resample2dAdjoint and BorderPad / BorderPadBackward on larger shapes than the op table draws, scale-factor
semantics, dtypes, and the layers. The op table (tests/optable/pooling.py) checks every mode against the
pixel-by-pixel loops of tests/references.py and the gradients to second order."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import leaf

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops.padding import BorderPad, BorderPadBackward
from tinygrad_cnn.ops.resample import Resample2d, Resample2dAdjoint

SQUARE = np.array([[[[0.0, 1.0], [2.0, 3.0]]]])


# ---- interpolation ------------------------------------------------------------------------------------------------
def test_bilinear_x2_is_pytorchs():
    y = F.interpolate(tg.Tensor(SQUARE), scale_factor=2, mode="bilinear").numpy()[0, 0]
    assert np.allclose(y, [[0.0, 0.25, 0.75, 1.0], [0.5, 0.75, 1.25, 1.5], [1.5, 1.75, 2.25, 2.5],
                           [2.0, 2.25, 2.75, 3.0]])
    y = F.interpolate(tg.Tensor(SQUARE), size=4, mode="bilinear", align_corners=True).numpy()[0, 0]
    assert np.allclose(y, np.add.outer([0, 2 / 3, 4 / 3, 2], [0, 1 / 3, 2 / 3, 1])), "corners map onto corners"


def test_nearest_modes_pick_floor_indices():
    x = tg.Tensor(np.array([[[10.0, 11.0, 12.0]]]))
    assert F.interpolate(x, size=5).numpy().ravel().tolist() == [10, 10, 11, 11, 12]  # floor(i * 0.6)
    assert F.interpolate(x, size=5, mode="nearest-exact").numpy().ravel().tolist() == [10, 10, 11, 12, 12]
    assert F.interpolate(x, scale_factor=2).numpy().ravel().tolist() == [10, 10, 11, 11, 12, 12]
    y = F.interpolate(tg.Tensor(SQUARE), scale_factor=(1, 2)).numpy()[0, 0]
    assert y.tolist() == [[0, 0, 1, 1], [2, 2, 3, 3]]


def test_a_given_scale_factor_is_the_scale_unless_recomputed():
    x = tg.Tensor(np.arange(5.0).reshape(1, 1, 5))
    y = F.interpolate(x, scale_factor=1.5, mode="linear").numpy().ravel()
    assert y.shape == (7,) and np.isclose(y[1], 1 / 1.5 * 1.5 - 0.5), "source (i + 1/2) / 1.5 - 1/2"
    again = F.interpolate(x, scale_factor=1.5, mode="linear", recompute_scale_factor=True).numpy().ravel()
    assert np.allclose(again, F.interpolate(x, size=7, mode="linear").numpy().ravel())
    assert np.isclose(again[1], 5 / 7 * 1.5 - 0.5)


def test_bicubic_weights_by_hand():
    ones = tg.Tensor(np.ones((1, 1, 4, 5)))
    assert np.allclose(F.interpolate(ones, size=(7, 9), mode="bicubic").numpy(), 1.0), "weights sum to 1"
    ramp = tg.Tensor(np.arange(8.0).reshape(1, 1, 1, 8))
    y = F.interpolate(ramp, size=(1, 16), mode="bicubic").numpy().ravel()
    # output 3 sits at source 1.25: taps 0..3 at fraction t = 1/4 with A = -0.75 weigh
    # -0.10546875, 0.87890625, 0.26171875, -0.03515625 (sum 1): not the 1.25 of a linear fit (A = -0.5 would be)
    assert np.isclose(y[3], 0 * -0.10546875 + 1 * 0.87890625 + 2 * 0.26171875 + 3 * -0.03515625)
    assert np.isclose(y[3], 1.296875) and np.isclose(y[4], 1.703125), "the mirror weights at t = 3/4"
    assert np.isclose(y[0], 0 * (-0.03515625 + 0.26171875 + 0.87890625) + 1 * -0.10546875), "clamped taps add up"


@pytest.mark.parametrize("mode", ["nearest", "nearest-exact", "bilinear", "bicubic"])
@pytest.mark.parametrize("corners", [False, True])
def test_resample_and_its_adjoint_are_transposes(mode, corners):
    if corners and mode.startswith("nearest"):
        corners = False
    rng = np.random.default_rng(0)
    for (h, w), size in [((7, 5), (16, 3)), ((9, 12), (4, 25)), ((1, 6), (3, 6))]:
        x, g = rng.standard_normal((2, 3, h, w)), rng.standard_normal((2, 3, *size))
        p = {"size": size, "mode": mode, "align_corners": corners}
        y = Resample2d.apply(tg.Tensor(x), **p).numpy()
        back = Resample2dAdjoint.apply(tg.Tensor(g), input_hw=(h, w), **p).numpy()
        assert np.isclose(np.sum(y * g), np.sum(x * back))


def test_interpolate_keeps_float32_and_same_size_is_a_copy():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((2, 3, 4, 4)).astype(np.float32), requires_grad=True)
    y = F.interpolate(x, scale_factor=2.5, mode="bilinear")
    assert y.dtype == np.float32 and y.shape == (2, 3, 10, 10)
    y.sum().backward()
    assert x.grad.dtype == np.float32
    assert np.allclose(x.grad.numpy().sum(), y.size), "each output spreads weights summing to 1"
    same = F.interpolate(x, size=(4, 4), mode="bilinear")
    assert np.array_equal(same.numpy(), x.numpy()) and same.data is not x.data


def test_area_mode_is_adaptive_average_pooling():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((1, 2, 7, 5)))
    assert np.allclose(F.interpolate(x, size=(3, 2), mode="area").numpy(), F.adaptive_avg_pool2d(x, (3, 2)).numpy())


def test_upsample_names_and_layers():
    x = tg.Tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 3)))
    assert np.allclose(F.upsample_bilinear(x, scale_factor=2).numpy(),
                       F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True).numpy())
    assert np.array_equal(F.upsample_nearest(x, 6).numpy(), F.upsample(x, 6).numpy())
    assert np.allclose(nn.Upsample(scale_factor=2, mode="bicubic")(x).numpy(),
                       F.interpolate(x, scale_factor=2, mode="bicubic").numpy())
    assert nn.UpsamplingBilinear2d(size=5)(x).shape == (1, 2, 5, 5)
    assert nn.UpsamplingNearest2d(scale_factor=3)(x).shape == (1, 2, 9, 9)
    with pytest.raises(ValueError, match="Upsample: pass exactly one of size and scale_factor"):
        nn.Upsample()


# ---- padding ------------------------------------------------------------------------------------------------------
def test_pad_modes_by_hand():
    x = tg.Tensor(np.array([[[1.0, 2.0, 3.0]]]))
    assert F.pad(x, (2, 1), mode="reflect").numpy().ravel().tolist() == [3, 2, 1, 2, 3, 2]
    assert F.pad(x, (2, 1), mode="replicate").numpy().ravel().tolist() == [1, 1, 1, 2, 3, 3]
    assert F.pad(x, (2, 3), mode="circular").numpy().ravel().tolist() == [2, 3, 1, 2, 3, 1, 2, 3]
    assert F.pad(x, (1, -1), value=7.0).numpy().ravel().tolist() == [7, 1, 2], "a negative width crops"
    image = tg.Tensor(np.arange(6.0).reshape(1, 1, 2, 3))
    y = F.pad(image, (1, 0, 0, 1), mode="replicate").numpy()[0, 0]  # (left, right) of W, then (top, bottom) of H
    assert y.tolist() == [[0, 0, 1, 2], [3, 3, 4, 5], [3, 3, 4, 5]]


def test_pad_gradients_fold_the_borders_back():
    for mode, want in [("reflect", [1, 2, 3, 1]), ("replicate", [3, 1, 1, 2]), ("circular", [2, 1, 2, 2])]:
        x = leaf(np.zeros((1, 1, 4)))
        F.pad(x, (2, 1), mode=mode).sum().backward()
        assert x.grad.numpy().ravel().tolist() == want, mode
    x = leaf(np.zeros((1, 1, 3)))
    F.pad(x, (-1, 2)).sum().backward()
    assert x.grad.numpy().ravel().tolist() == [0, 1, 1], "cropped elements get no gradient"


def test_border_pad_and_its_fold_are_transposes_in_five_dimensions():
    rng = np.random.default_rng(0)
    for mode in ("reflect", "replicate", "circular"):
        x = rng.standard_normal((2, 2, 3, 4, 5))
        pads = ((0, 0), (0, 0), (2, 1), (0, 3), (4, 2))
        y = BorderPad.apply(tg.Tensor(x), pad_width=pads, mode=mode).numpy()
        g = rng.standard_normal(y.shape)
        back = BorderPadBackward.apply(tg.Tensor(g), input_shape=x.shape, pad_width=pads, mode=mode).numpy()
        assert np.isclose(np.sum(y * g), np.sum(x * back)), mode


def test_pad_keeps_dtypes_and_the_layers():
    ints = tg.Tensor(np.arange(6).reshape(1, 2, 3))
    assert F.pad(ints, (1, 1), mode="reflect").dtype == ints.dtype
    assert F.pad(ints, (1, 1), value=5).numpy()[0, 0].tolist() == [5, 0, 1, 2, 5]
    x = tg.Tensor(np.random.default_rng(0).standard_normal((1, 2, 3, 3)).astype(np.float32))
    assert nn.ReflectionPad2d(2)(x).shape == (1, 2, 7, 7) and nn.ReflectionPad2d(2)(x).dtype == np.float32
    assert np.array_equal(nn.ZeroPad2d((1, 0, 2, 0))(x).numpy(), F.pad(x, (1, 0, 2, 0)).numpy())
    assert np.array_equal(nn.ConstantPad2d(1, -3.0)(x).numpy(), F.pad(x, (1, 1, 1, 1), value=-3.0).numpy())
    assert np.array_equal(nn.ReplicationPad2d((0, 1, 1, 0))(x).numpy(), F.pad(x, (0, 1, 1, 0), "replicate").numpy())
    assert np.array_equal(nn.CircularPad2d(1)(x).numpy(), F.pad(x, (1, 1, 1, 1), "circular").numpy())
    assert nn.ReflectionPad1d((2, 1))(x[0]).shape == (2, 3, 6)
    with pytest.raises(ValueError, match=r"ReflectionPad2d: padding must be an int or a tuple of 4 ints"):
        nn.ReflectionPad2d((1, 2))


@pytest.mark.parametrize("mode", ["nearest", "bilinear", "bicubic"])
def test_the_gather_path_of_long_axes_equals_the_dense_path(mode, monkeypatch):
    from tinygrad_cnn.ops import resample
    rng = np.random.default_rng(1)
    x, g = rng.standard_normal((2, 2, 6, 9)), rng.standard_normal((2, 2, 13, 4))
    p = {"size": (13, 4), "mode": mode, "align_corners": mode == "bilinear"}
    dense = (Resample2d.apply(tg.Tensor(x), **p).numpy(),
             Resample2dAdjoint.apply(tg.Tensor(g), input_hw=(6, 9), **p).numpy())
    monkeypatch.setattr(resample, "DENSE_UP_TO", 0)  # every axis through the tap gathers and segment sums
    taps = (Resample2d.apply(tg.Tensor(x), **p).numpy(),
            Resample2dAdjoint.apply(tg.Tensor(g), input_hw=(6, 9), **p).numpy())
    for a, b in zip(dense, taps):
        assert np.allclose(a, b, rtol=1e-12, atol=1e-12)
    long = tg.Tensor(rng.standard_normal((1, 1, 2, 300)), requires_grad=True)  # above DENSE_UP_TO, in use
    monkeypatch.undo()
    y = F.interpolate(long, size=(2, 451), mode=mode, **({"align_corners": False} if mode != "nearest" else {}))
    y.backward(np.ones(y.shape))
    assert np.isclose(long.grad.numpy().sum(), y.size), "every output's weights sum to 1"
