"""tinygrad_cnn.data.transforms, shaped like torchvision's: each transform against hand-written expectations, on one
image and on a batch (vectorised, random draws per image), on arrays and on Tensors, and every error path.
torchvision is compared when it is installed."""

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.data import transforms as T
from tinygrad_cnn.errors import ShapeError


def image(c=1, h=4, w=5, dtype=np.float32):
    return np.arange(c * h * w, dtype=dtype).reshape(c, h, w)


# ---- ToTensor -------------------------------------------------------------------------------------------------
def test_to_tensor_scales_uint8_and_moves_channels_first():
    hw = np.array([[0, 255], [51, 102]], np.uint8)
    out = T.ToTensor()(hw)
    assert isinstance(out, tg.Tensor) and out.shape == (1, 2, 2) and out.dtype == np.float32
    np.testing.assert_allclose(out.numpy()[0], [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    hwc = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    chw = T.ToTensor()(hwc).numpy()
    assert chw.shape == (3, 2, 3)
    np.testing.assert_allclose(chw[2, 1, 0], hwc[1, 0, 2] / 255, rtol=1e-6)


def test_to_tensor_keeps_other_dtypes_unscaled():
    hwc = np.full((2, 2, 3), 7.5, np.float64)
    out = T.ToTensor()(hwc)
    assert out.dtype == np.float64 and out.shape == (3, 2, 2) and out.numpy().max() == 7.5
    assert T.ToTensor()(np.ones((2, 2), np.int32)).dtype == np.int32


def test_to_tensor_batches_and_tensors():
    batch = np.random.default_rng(0).integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    out = T.ToTensor()(batch).numpy()
    assert out.shape == (5, 3, 4, 4)
    np.testing.assert_allclose(out[4], T.ToTensor()(batch[4]).numpy())
    stack_hw = np.zeros((6, 4, 4), np.uint8)
    assert T.ToTensor().batch(stack_hw).shape == (6, 1, 4, 4)
    t = tg.Tensor(image())
    assert T.ToTensor()(t) is t and T.ToTensor().batch(t) is t


def test_to_tensor_errors():
    with pytest.raises(ShapeError, match=r"2- or 3-dimensional.*got shape \(3,\)"):
        T.ToTensor()(np.zeros(3, np.uint8))
    with pytest.raises(TypeError, match="pic must be a NumPy array"):
        T.ToTensor()([[1, 2]])
    with pytest.raises(TypeError, match="not numeric"):
        T.ToTensor()(np.array([["a"]]))


# ---- Normalize ------------------------------------------------------------------------------------------------
def test_normalize_per_channel_on_image_and_batch():
    x = np.ones((3, 2, 2), np.float32)
    out = T.Normalize([0.0, 1.0, 0.5], [1.0, 2.0, 0.25])(x)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [1.0, 0.0, 2.0])
    batch = np.stack([x, 2 * x])
    outb = T.Normalize((0.5,), (0.5,))(tg.Tensor(batch))
    assert isinstance(outb, tg.Tensor) and outb.shape == (2, 3, 2, 2)
    np.testing.assert_allclose(outb.numpy()[:, 0, 0, 0], [1.0, 3.0])
    assert T.Normalize(0.0, 1.0)(x.astype(np.float64)).dtype == np.float64
    assert T.Normalize(0.0, -2.0)(x)[0, 0, 0] == -0.5, "a negative std is allowed, as torchvision"


def test_normalize_mnist_values():
    x = np.full((1, 28, 28), 0.5, np.float32)
    np.testing.assert_allclose(T.Normalize((0.1307,), (0.3081,))(x), (0.5 - 0.1307) / 0.3081, rtol=1e-6)


def test_normalize_inplace():
    x = np.ones((1, 2, 2), np.float32)
    out = T.Normalize(1.0, 2.0, inplace=True)(x)
    assert out is x and x.max() == 0.0
    t = tg.Tensor(np.full((1, 2, 2), 3.0, np.float32))
    assert T.Normalize(1.0, 2.0, inplace=True)(t) is t
    assert t.numpy().max() == 1.0
    y = np.ones((1, 2, 2), np.float32)
    T.Normalize(1.0, 2.0)(y)
    assert y.max() == 1.0, "not in place by default"


def test_normalize_errors():
    with pytest.raises(ValueError, match="zero, which divides by zero"):
        T.Normalize(0.0, [1.0, 0.0])
    with pytest.raises(ShapeError, match=r"2 mean values for images of shape .* with 3 channels"):
        T.Normalize([0.0, 0.0], 1.0)(np.zeros((3, 2, 2), np.float32))
    with pytest.raises(TypeError, match="must be floating point, got uint8; apply ToTensor"):
        T.Normalize(0.0, 1.0)(np.zeros((1, 2, 2), np.uint8))
    with pytest.raises(ShapeError, match=r"expected an image \(C, H, W\), got shape \(2, 2\)"):
        T.Normalize(0.0, 1.0)(np.zeros((2, 2), np.float32))
    with pytest.raises(TypeError, match="mean must be a number or a sequence"):
        T.Normalize("a", 1.0)
    with pytest.raises(ValueError, match="std must be finite"):
        T.Normalize(0.0, float("nan"))
    with pytest.raises(TypeError, match="inplace must be True or False"):
        T.Normalize(0.0, 1.0, inplace=1)


# ---- Pad, CenterCrop, RandomCrop ------------------------------------------------------------------------------
def test_pad_spellings_and_modes():
    x = image(1, 2, 3)
    assert T.Pad(1)(x).shape == (1, 4, 5)
    lr_tb = T.Pad((2, 1), fill=9)(x)
    assert lr_tb.shape == (1, 4, 7) and lr_tb[0, 0, 0] == 9 and lr_tb[0, 1, 2] == x[0, 0, 0]
    ltrb = T.Pad([1, 0, 0, 2])(x)
    assert ltrb.shape == (1, 4, 4)
    np.testing.assert_array_equal(ltrb[0, :2, 1:], x[0])
    np.testing.assert_array_equal(T.Pad(1, padding_mode="edge")(x)[0], np.pad(x[0], 1, mode="edge"))
    np.testing.assert_array_equal(T.Pad(1, padding_mode="reflect")(x)[0], np.pad(x[0], 1, mode="reflect"))
    np.testing.assert_array_equal(T.Pad(1, padding_mode="symmetric")(x)[0], np.pad(x[0], 1, mode="symmetric"))
    rgb = T.Pad(1, fill=(1, 2, 3))(np.zeros((3, 2, 2), np.float32))
    assert rgb[:, 0, 0].tolist() == [1, 2, 3] and rgb[:, 1, 1].tolist() == [0, 0, 0]
    assert T.Pad(1)(np.zeros((2, 2), np.float32)).shape == (4, 4), "2-d images too"


def test_pad_errors():
    with pytest.raises(TypeError, match="padding must be an int or a sequence of 1, 2 or 4"):
        T.Pad((1, 2, 3))
    with pytest.raises(ValueError, match="padding must be non-negative"):
        T.Pad(-1)
    with pytest.raises(ValueError, match="padding_mode must be 'constant', 'edge', 'reflect' or 'symmetric'"):
        T.Pad(1, padding_mode="wrap")
    with pytest.raises(ShapeError, match="2 fill values for images"):
        T.Pad(1, fill=(1, 2))(np.zeros((3, 2, 2)))


def test_center_crop():
    x = image(1, 5, 6)
    np.testing.assert_array_equal(T.CenterCrop(3)(x), x[:, 1:4, 2:5])  # round(1.5) = 2 (half to even), as torchvision
    np.testing.assert_array_equal(T.CenterCrop((2, 4))(x), x[:, 2:4, 1:5])
    bigger = T.CenterCrop(4)(image(1, 2, 2))
    assert bigger.shape == (1, 4, 4) and bigger[0, 0].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(bigger[0, 1:3, 1:3], image(1, 2, 2)[0])
    with pytest.raises(ValueError, match="size must be positive"):
        T.CenterCrop(0)
    with pytest.raises(TypeError, match="size must be an int or a sequence"):
        T.CenterCrop(2.5)


def test_random_crop_with_fixed_padding_finds_a_window_of_the_padded_image():
    x = image(2, 4, 4) + 1
    tg.manual_seed(0)
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    windows = {(i, j) for i in range(3) for j in range(3)}
    seen = set()
    for _ in range(60):
        out = T.RandomCrop(4, padding=1)(x)
        matches = [(i, j) for i, j in windows if np.array_equal(out, padded[:, i:i + 4, j:j + 4])]
        assert len(matches) == 1
        seen.add(matches[0])
    assert seen == windows, "every offset is drawn"


def test_random_crop_on_a_batch_draws_per_image():
    batch = np.stack([image(1, 6, 6)] * 64)
    tg.manual_seed(1)
    out = T.RandomCrop(3)(batch)
    assert out.shape == (64, 1, 3, 3)
    corners = {int(o[0, 0, 0]) for o in out}
    assert len(corners) > 5, "offsets differ between the images of one batch"
    for o in out:  # each is a window of the input
        k = int(o[0, 0, 0])
        i, j = divmod(k, 6)
        np.testing.assert_array_equal(o, batch[0, :, i:i + 3, j:j + 3])
    t = T.RandomCrop(3).batch(tg.Tensor(batch))
    assert isinstance(t, tg.Tensor) and t.shape == (64, 1, 3, 3)


def test_random_crop_reproducible_and_pad_if_needed():
    x = image(1, 8, 8)
    tg.manual_seed(3)
    a = T.RandomCrop(5, padding=2)(np.stack([x] * 4))
    tg.manual_seed(3)
    np.testing.assert_array_equal(a, T.RandomCrop(5, padding=2)(np.stack([x] * 4)))
    small = T.RandomCrop((6, 3), pad_if_needed=True)(image(1, 4, 3))
    assert small.shape == (1, 6, 3)
    exact = T.RandomCrop(4)(image(1, 4, 4))
    np.testing.assert_array_equal(exact, image(1, 4, 4))


def test_random_crop_errors():
    with pytest.raises(ShapeError, match=r"crop size \(5, 5\) is larger than the \(padded\) image size \(4, 4\)"):
        T.RandomCrop(5)(image(1, 4, 4))
    with pytest.raises(TypeError, match="pad_if_needed must be True or False"):
        T.RandomCrop(2, pad_if_needed="yes")
    with pytest.raises(ShapeError, match=r"expected an image \(C, H, W\) or \(H, W\), got shape \(4,\)"):
        T.RandomCrop(2)(np.zeros(4))


# ---- flips ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls, axis", [(T.RandomHorizontalFlip, -1), (T.RandomVerticalFlip, -2)])
def test_flips(cls, axis):
    x = image(2, 3, 4)
    np.testing.assert_array_equal(cls(p=1.0)(x), np.flip(x, axis))
    np.testing.assert_array_equal(cls(p=0.0)(x), x)
    batch = np.stack([x] * 200)
    tg.manual_seed(0)
    out = cls()(batch)
    flipped = np.array([np.array_equal(o, np.flip(x, axis)) for o in out])
    kept = np.array([np.array_equal(o, x) for o in out])
    assert np.all(flipped ^ kept) and 60 < flipped.sum() < 140, "each image flipped or not, about half"
    assert isinstance(cls(p=1.0)(tg.Tensor(x)), tg.Tensor)
    with pytest.raises(ValueError, match=r"p must be in \[0.0, 1.0\]"):
        cls(p=1.5)


# ---- RandomAffine and RandomRotation --------------------------------------------------------------------------
def test_affine_identity_and_quarter_turns():
    x = image(2, 5, 5)
    np.testing.assert_array_equal(T.RandomAffine(0)(x), x)
    np.testing.assert_array_equal(T.RandomAffine((90, 90))(x), np.rot90(x, -1, axes=(1, 2)), "clockwise")
    np.testing.assert_array_equal(T.RandomRotation((90, 90))(x), np.rot90(x, 1, axes=(1, 2)), "counter-clockwise")
    np.testing.assert_array_equal(T.RandomAffine((180, 180))(x), x[:, ::-1, ::-1])
    even = image(1, 4, 6)  # the centre of an even-sized image lies between pixels
    np.testing.assert_array_equal(T.RandomAffine((180, 180))(even), even[:, ::-1, ::-1])


def test_affine_translation_moves_by_whole_pixels_with_fill():
    x = image(1, 5, 5) + 1
    tg.manual_seed(0)
    out = T.RandomAffine(0, translate=(0.4, 0.4), fill=-1)(np.stack([x] * 50))
    shifts = set()
    for o in out:
        hits = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
                if np.array_equal(o, _shifted(x, dy, dx, -1))]
        assert len(hits) == 1
        shifts.add(hits[0])
    assert len(shifts) > 5, "shifts drawn per image"


def _shifted(x, dy, dx, fill):
    out = np.full_like(x, fill)
    h, w = x.shape[-2:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = x[:, max(-dy, 0):h - max(dy, 0),
                                                                      max(-dx, 0):w - max(dx, 0)]
    return out


def test_affine_scale_and_bilinear():
    x = np.zeros((1, 5, 5), np.float32)
    x[0, 2, 2] = 1.0
    doubled = T.RandomAffine(0, scale=(2.0, 2.0))(x)
    expected = np.zeros((5, 5))
    expected[1:4, 1:4] = 1.0  # output pixels 1 away read the source 0.5 away: rint(2 +- 0.5) = 2 (half to even)
    np.testing.assert_array_equal(doubled[0], expected)
    smooth = T.RandomAffine(0, scale=(2.0, 2.0), interpolation="bilinear")(x)
    np.testing.assert_allclose(smooth[0, 1:4, 1:4], [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
    ramp = np.tile(np.arange(5, dtype=np.float64), (1, 5, 1))
    half = T.RandomAffine(0, scale=(0.5, 0.5), interpolation=T.InterpolationMode.BILINEAR)(ramp)
    np.testing.assert_allclose(half[0, 2, 1:4], [0.0, 2.0, 4.0])  # output x=1 reads source x=0, x=3 reads 4


def test_affine_shear_keeps_the_centre_row():
    x = image(1, 5, 5)
    out = T.RandomAffine(0, shear=(20, 20))(x)
    np.testing.assert_array_equal(out[0, 2], x[0, 2])  # an x-shear moves rows sideways, not the centre row
    assert not np.array_equal(out, x)
    yshear = T.RandomAffine(0, shear=(0, 0, 20, 20))(x)
    np.testing.assert_array_equal(yshear[0, :, 2], x[0, :, 2])


def test_affine_on_a_batch_draws_per_image_and_matches_single_images():
    x = image(1, 7, 7)
    tg.manual_seed(0)
    out = T.RandomRotation(180)(np.stack([x] * 20))
    assert out.shape == (20, 1, 7, 7) and len({o.tobytes() for o in out}) > 10
    tg.manual_seed(0)
    angle = tg.random.generator().uniform(-180, 180, 1)
    tg.manual_seed(0)
    single = T.RandomRotation(180)(x)
    np.testing.assert_array_equal(single, T.RandomRotation((float(angle[0]),) * 2)(x))
    assert isinstance(T.RandomAffine(10).batch(tg.Tensor(np.stack([x, x]))), tg.Tensor)
    uint8 = T.RandomAffine((90, 90), interpolation="bilinear")(x.astype(np.uint8))
    assert uint8.dtype == np.uint8


def test_affine_center_and_per_channel_fill():
    x = np.ones((2, 3, 3), np.float32)
    out = T.RandomAffine((90, 90), center=(0.5, 0.5), fill=(5, 7))(x)  # about the centre of pixel (0, 0)
    assert out[:, 0, 0].tolist() == [1, 1] and out[:, 0, 2].tolist() == [5, 7]


@pytest.mark.parametrize("kwargs, error, message", [
    ({"degrees": -1}, ValueError, "degrees as a single number must be non-negative"),
    ({"degrees": "a"}, TypeError, "degrees must be a number or a sequence of 2"),
    ({"degrees": 0, "translate": (0.5, 2)}, ValueError, r"translate values must be in \[0, 1\]"),
    ({"degrees": 0, "scale": (0, 1)}, ValueError, "scale must be a pair"),
    ({"degrees": 0, "shear": (1, 2, 3)}, TypeError, "shear must be a number or a sequence of 2"),
    ({"degrees": 0, "interpolation": "bicubic"}, ValueError, "interpolation must be 'nearest' or 'bilinear'"),
    ({"degrees": 0, "center": 3}, TypeError, "center must be a pair"),
    ({"degrees": 0, "fill": True}, TypeError, "fill must be a number"),
])
def test_affine_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        T.RandomAffine(**kwargs)


def test_rotation_refuses_expand():
    with pytest.raises(ValueError, match="expand=True is not supported"):
        T.RandomRotation(10, expand=True)


# ---- Resize ------------------------------------------------------------------------------------------------------
def test_resize():
    x = np.tile(np.arange(4, dtype=np.float32), (1, 4, 1))
    up = T.Resize(8)(x)
    assert up.shape == (1, 8, 8) and up.dtype == np.float32
    np.testing.assert_allclose(up[0, 0, :3], [0.0, 0.25, 0.75])
    assert T.Resize(2)(np.zeros((1, 4, 8))).shape == (1, 2, 4), "the shorter side becomes size"
    assert T.Resize((3, 5))(np.zeros((2, 4, 8))).shape == (2, 3, 5)
    assert T.Resize(4, max_size=6)(np.zeros((1, 4, 12))).shape == (1, 2, 6)
    nearest = T.Resize((2, 2), interpolation="nearest")(image(1, 4, 4))
    np.testing.assert_array_equal(nearest[0], image(1, 4, 4)[0, ::2, ::2])
    assert T.Resize(2).batch(tg.Tensor(np.zeros((3, 1, 4, 4)))).shape == (3, 1, 2, 2)
    with pytest.raises(ValueError, match="size must be positive"):
        T.Resize(0)


# ---- Compose, Lambda, apply_batch ------------------------------------------------------------------------------
def test_compose_and_lambda():
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,)), T.Lambda(lambda t: t.reshape(-1))])
    out = pipeline(np.full((2, 2), 255, np.uint8))
    assert isinstance(out, tg.Tensor) and out.tolist() == [1.0] * 4
    batch = pipeline.batch(np.zeros((3, 2, 2), np.uint8))
    assert batch.shape == (3, 4), "Lambda is called per image of a batch"
    assert "Normalize(mean=(0.5,), std=(0.5,))" in repr(pipeline)
    with pytest.raises(TypeError, match="lambd must be callable"):
        T.Lambda(3)
    with pytest.raises(TypeError, match=r"transform 1 .* is not callable"):
        T.Compose([T.ToTensor(), "x"])


def test_apply_batch_calls_other_callables_per_image():
    calls = []

    def flatten(x):
        calls.append(x.shape)
        return np.asarray(x).ravel()

    out = T.apply_batch(flatten, np.zeros((4, 1, 2, 2)))
    assert out.shape == (4, 4) and calls == [(1, 2, 2)] * 4
    tensors = T.apply_batch(lambda t: t * 2, tg.Tensor(np.ones((2, 3))))
    assert isinstance(tensors, tg.Tensor) and tensors.tolist() == [[2.0] * 3] * 2


def test_transforms_reject_other_inputs():
    with pytest.raises(TypeError, match="RandomHorizontalFlip: expected an image as a NumPy array or a Tensor"):
        T.RandomHorizontalFlip()([[1.0]])


# ---- torchvision, when installed -------------------------------------------------------------------------------
def test_against_torchvision():
    torch = pytest.importorskip("torch")
    tv = pytest.importorskip("torchvision.transforms")
    hw = np.random.default_rng(0).integers(0, 256, (6, 7), dtype=np.uint8)
    np.testing.assert_allclose(T.ToTensor()(hw).numpy(), tv.ToTensor()(hw).numpy(), rtol=1e-6)
    x = np.random.default_rng(1).random((3, 6, 7)).astype(np.float32)
    norm = ((0.1, 0.2, 0.3), (0.5, 0.6, 0.7))
    np.testing.assert_allclose(T.Normalize(*norm)(x), tv.Normalize(*norm)(torch.from_numpy(x)).numpy(), rtol=1e-6)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x), tv.RandomHorizontalFlip(1.0)(torch.from_numpy(x)))
    np.testing.assert_array_equal(T.CenterCrop(4)(x), tv.CenterCrop(4)(torch.from_numpy(x)).numpy())
    np.testing.assert_array_equal(T.Pad((1, 2, 3, 4), fill=2)(x), tv.Pad((1, 2, 3, 4), fill=2)(torch.from_numpy(x)))
