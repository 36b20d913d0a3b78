"""Image transforms shaped like torchvision's ``transforms``: Compose, ToTensor, Normalize, Pad, CenterCrop,
RandomCrop, RandomHorizontalFlip, RandomVerticalFlip, RandomAffine, RandomRotation, Resize, Lambda.

Images are channel-first, as torchvision's tensor transforms take them: one image is (C, H, W) or (H, W), a
batch is (N, C, H, W). Every transform accepts a NumPy array or a Tensor and returns the same kind (ToTensor
always returns a Tensor). Calling a transform on a 4-d array treats it as a batch; ``t.batch(images)`` says so
explicitly (a stack of the single images ``t`` accepts, e.g. (N, H, W) for 2-d images). On a batch the work is
vectorised over images and pixels, and **random transforms draw independently for every image** (one crop
offset, flip or angle per image), exactly as if each image were transformed alone. Random draws come from the
generator ``tinygrad_cnn.manual_seed`` seeds. Transforms act on data: they record no autograd graph.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

import numpy as np

from .._checks import as_bool, as_choice, as_real, is_int
from ..errors import ShapeError
from ..random import generator
from ..tensor_class import Tensor

__all__ = [
    "CenterCrop", "Compose", "InterpolationMode", "Lambda", "Normalize", "Pad", "RandomAffine", "RandomCrop",
    "RandomHorizontalFlip", "RandomRotation", "RandomVerticalFlip", "Resize", "ToTensor", "Transform",
    "apply_batch",
]


class InterpolationMode(str, Enum):
    """How geometric transforms sample between pixels (torchvision's enum; the plain strings work too)."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"


def _interpolation(op: str, value: Any) -> str:
    if isinstance(value, InterpolationMode):
        return value.value
    return as_choice(op, "interpolation", value, ("nearest", "bilinear"))


# ---- array plumbing --------------------------------------------------------------------------------------
def _unwrap(op: str, img: Any) -> tuple[np.ndarray, bool]:
    if isinstance(img, Tensor):
        return img.data, True
    if isinstance(img, np.ndarray):
        return img, False
    raise TypeError(f"{op}: expected an image as a NumPy array or a Tensor, got {type(img).__name__}")


def _wrap(array: np.ndarray, as_tensor: bool) -> Any:
    return Tensor(array) if as_tensor else array


def _as_batch(op: str, x: np.ndarray, batched: bool) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """``x`` as (N, C, H, W) and the function that gives the result back the caller's layout."""
    image_ndim = x.ndim - 1 if batched else x.ndim
    if image_ndim not in (2, 3):
        what = "a batch of images (N, C, H, W) or (N, H, W)" if batched else "an image (C, H, W) or (H, W)"
        raise ShapeError(f"{op}: expected {what}, got shape {x.shape}")
    if not batched:
        x = x[None]
    squeeze = image_ndim == 2
    if squeeze:
        x = x[:, None]

    def back(out: np.ndarray) -> np.ndarray:
        if squeeze:
            out = out[:, 0]
        return out if batched else out[0]

    return x, back


class Transform:
    """Base class of the transforms here: ``__call__`` takes one image (or a 4-d batch), ``batch`` a stack of
    images. Subclasses implement ``_forward(x)`` on an (N, C, H, W) array, or override both entry points."""

    def __call__(self, img: Any) -> Any:
        x, as_tensor = _unwrap(type(self).__name__, img)
        out = self._run(x, batched=x.ndim == 4)
        return img if out is x else _wrap(out, as_tensor)

    def batch(self, imgs: Any) -> Any:
        """The transform of every image of the stack ``imgs`` (the first axis indexes the images)."""
        x, as_tensor = _unwrap(type(self).__name__, imgs)
        out = self._run(x, batched=True)
        return imgs if out is x else _wrap(out, as_tensor)

    def _run(self, x: np.ndarray, batched: bool) -> np.ndarray:
        x4, back = _as_batch(type(self).__name__, x, batched)
        return back(self._forward(x4))

    def _forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must implement _forward or __call__/batch")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def apply_batch(transform: Callable[[Any], Any], images: Any) -> Any:
    """``transform`` applied to each image of the stack ``images``: vectorised for this module's transforms,
    one call per image (then stacked) for any other callable, as a dataset would call it per sample."""
    if isinstance(transform, Transform):
        return transform.batch(images)
    as_tensor = isinstance(images, Tensor)
    data = images.data if as_tensor else np.asarray(images)
    outputs = [transform(Tensor(data[i]) if as_tensor else data[i]) for i in range(len(data))]
    if all(isinstance(o, Tensor) for o in outputs):
        return Tensor(np.stack([o.data for o in outputs])) if outputs else images
    return np.stack([np.asarray(o) for o in outputs]) if outputs else data


class Compose(Transform):
    """The transforms one after the other: ``Compose([a, b])(x) = b(a(x))``."""

    def __init__(self, transforms: Sequence[Callable[[Any], Any]]) -> None:
        self.transforms = list(transforms)
        for k, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {k} ({t!r}) is not callable")

    def __call__(self, img: Any) -> Any:
        for t in self.transforms:
            img = t(img)
        return img

    def batch(self, imgs: Any) -> Any:
        for t in self.transforms:
            imgs = apply_batch(t, imgs)
        return imgs

    def __repr__(self) -> str:
        inner = "".join(f"\n    {t!r}" for t in self.transforms)
        return f"Compose({inner}\n)"


class Lambda(Transform):
    """A user function as a transform. On a batch it is called once per image (it may not be vectorised)."""

    def __init__(self, lambd: Callable[[Any], Any]) -> None:
        if not callable(lambd):
            raise TypeError(f"Lambda: lambd must be callable, got {type(lambd).__name__}")
        self.lambd = lambd

    def __call__(self, img: Any) -> Any:
        return self.lambd(img)

    def batch(self, imgs: Any) -> Any:
        return apply_batch(self.lambd, imgs)


class ToTensor(Transform):
    """A NumPy image (H, W) or (H, W, C) -> a Tensor (C, H, W); uint8 data in [0, 255] become float32 in
    [0, 1] (``x / 255``), other dtypes are kept unscaled (as torchvision). A 4-d array is a batch (N, H, W, C).
    A Tensor is returned unchanged: this library's datasets hand their transforms Tensors already in (C, H, W)."""

    def __call__(self, pic: Any) -> Tensor:
        if isinstance(pic, Tensor):
            return pic
        return self._convert(pic, batched=isinstance(pic, np.ndarray) and pic.ndim == 4)

    def batch(self, pics: Any) -> Tensor:
        if isinstance(pics, Tensor):
            return pics
        return self._convert(pics, batched=True)

    @staticmethod
    def _convert(pic: Any, batched: bool) -> Tensor:
        if not isinstance(pic, np.ndarray):
            raise TypeError(f"ToTensor: pic must be a NumPy array (H, W) or (H, W, C), got {type(pic).__name__}")
        image_ndim = pic.ndim - 1 if batched else pic.ndim
        if image_ndim not in (2, 3):
            raise ShapeError(f"ToTensor: pic must be 2- or 3-dimensional, (H, W) or (H, W, C) (a batch: (N, H, W, C)),"
                             f" got shape {pic.shape}")
        if pic.dtype.kind not in "biuf":
            raise TypeError(f"ToTensor: pic of dtype {pic.dtype} is not numeric")
        x = pic[..., None] if image_ndim == 2 else pic
        x = np.moveaxis(x, -1, -3)
        if x.dtype == np.uint8:
            x = x.astype(np.float32)
            x /= np.float32(255)
        else:
            x = np.ascontiguousarray(x)
        return Tensor(x)


def _per_channel(op: str, name: str, value: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(value.data if isinstance(value, Tensor) else value))
    if values.ndim != 1 or values.size == 0 or values.dtype.kind not in "iuf":
        raise TypeError(f"{op}: {name} must be a number or a sequence of numbers (one per channel), got {value!r}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{op}: {name} must be finite, got {value!r}")
    return values.astype(np.float64)


def _check_channels(op: str, name: str, values: np.ndarray, x: np.ndarray) -> None:
    if values.size not in (1, x.shape[1]):
        raise ShapeError(f"{op}: {values.size} {name} values for images of shape {x.shape[1:]} with {x.shape[1]} "
                         "channels; give one value or one per channel")


class Normalize(Transform):
    """``out[c] = (x[c] - mean[c]) / std[c]`` per channel of float images (C, H, W) or batches (N, C, H, W).

    One value of ``mean``/``std`` applies to every channel. ``inplace=True`` writes into the input's memory.
    The dtype is kept (float32 stays float32).
    """

    def __init__(self, mean: float | Sequence[float], std: float | Sequence[float], inplace: bool = False) -> None:
        self.mean, self.std = mean, std
        self._mean, self._std = _per_channel("Normalize", "mean", mean), _per_channel("Normalize", "std", std)
        if np.any(self._std == 0):
            raise ValueError(f"Normalize: std={std!r} has a zero, which divides by zero; each std must be non-zero "
                             "(positive std per channel)")
        self.inplace = as_bool("Normalize", "inplace", inplace)

    def _run(self, x: np.ndarray, batched: bool) -> np.ndarray:
        if x.ndim != (4 if batched else 3):
            what = "a batch (N, C, H, W)" if batched else "an image (C, H, W)"
            raise ShapeError(f"Normalize: expected {what}, got shape {x.shape}")
        if x.dtype.kind != "f":
            raise TypeError(f"Normalize: images must be floating point, got {x.dtype}; apply ToTensor() first")
        x4 = x if batched else x[None]
        _check_channels("Normalize", "mean", self._mean, x4)
        _check_channels("Normalize", "std", self._std, x4)
        mean = self._mean.astype(x.dtype).reshape(-1, 1, 1)
        std = self._std.astype(x.dtype).reshape(-1, 1, 1)
        if self.inplace and x.flags.writeable:
            x -= mean
            x /= std
            return x
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean!r}, std={self.std!r})"


# ---- padding and cropping --------------------------------------------------------------------------------
_PAD_MODES = ("constant", "edge", "reflect", "symmetric")


def _padding(op: str, padding: Any) -> tuple[int, int, int, int]:
    """torchvision's padding spellings as (left, top, right, bottom): an int, (left/right, top/bottom) or all four."""
    if is_int(padding):
        values: tuple = (padding,) * 4
    elif isinstance(padding, (tuple, list)) and all(is_int(p) for p in padding) and len(padding) in (1, 2, 4):
        values = tuple(padding)
        values = values * 4 if len(values) == 1 else (values * 2 if len(values) == 2 else values)
    else:
        raise TypeError(f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints (left, top, right, bottom), "
                        f"got {padding!r}")
    if min(values) < 0:
        raise ValueError(f"{op}: padding must be non-negative, got {padding!r}")
    return tuple(int(v) for v in values)  # type: ignore[return-value]


def _fill(op: str, fill: Any) -> np.ndarray:
    if isinstance(fill, (bool, np.bool_)):
        raise TypeError(f"{op}: fill must be a number or a sequence of numbers (one per channel), got {fill!r}")
    return _per_channel(op, "fill", fill)


def _pad(x: np.ndarray, ltrb: tuple[int, int, int, int], fill: np.ndarray, mode: str) -> np.ndarray:
    """Pad an (N, C, H, W) batch by (left, top, right, bottom) pixels."""
    left, top, right, bottom = ltrb
    if not any(ltrb):
        return x
    n, c, h, w = x.shape
    if mode != "constant":
        return np.pad(x, ((0, 0), (0, 0), (top, bottom), (left, right)), mode=mode)
    _check_channels("Pad", "fill", fill, x)
    out = np.empty((n, c, h + top + bottom, w + left + right), dtype=x.dtype)
    out[...] = np.broadcast_to(fill.astype(x.dtype).reshape(-1, 1, 1), (c, 1, 1))
    out[:, :, top:top + h, left:left + w] = x
    return out


class Pad(Transform):
    """Pad each side: ``padding`` is an int, (left/right, top/bottom) or (left, top, right, bottom); the new pixels
    are ``fill`` (per channel) or copy the border (``padding_mode`` 'edge', 'reflect', 'symmetric' as np.pad)."""

    def __init__(self, padding: int | Sequence[int], fill: float | Sequence[float] = 0,
                 padding_mode: str = "constant") -> None:
        self.padding = padding
        self._ltrb = _padding("Pad", padding)
        self.fill, self._fill = fill, _fill("Pad", fill)
        self.padding_mode = as_choice("Pad", "padding_mode", padding_mode, _PAD_MODES)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        return _pad(x, self._ltrb, self._fill, self.padding_mode)

    def __repr__(self) -> str:
        return f"Pad(padding={self.padding!r}, fill={self.fill!r}, padding_mode={self.padding_mode!r})"


def _size(op: str, size: Any) -> tuple[int, int]:
    if is_int(size):
        pair: tuple = (size, size)
    elif isinstance(size, (tuple, list)) and len(size) in (1, 2) and all(is_int(s) for s in size):
        pair = (size[0], size[0]) if len(size) == 1 else tuple(size)
    else:
        raise TypeError(f"{op}: size must be an int or a sequence (h, w) of ints, got {size!r}")
    if min(pair) < 1:
        raise ValueError(f"{op}: size must be positive, got {size!r}")
    return int(pair[0]), int(pair[1])


def _crop(x: np.ndarray, top: np.ndarray, left: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Crop image n of (N, C, H, W) at (top[n], left[n]) to (th, tw): two gathers for the whole batch."""
    if np.all(top == top[0]) and np.all(left == left[0]):
        return x[:, :, top[0]:top[0] + th, left[0]:left[0] + tw].copy()
    rows = top[:, None] + np.arange(th)  # (N, th)
    cols = left[:, None] + np.arange(tw)  # (N, tw)
    x = np.take_along_axis(x, rows[:, None, :, None], axis=2)
    return np.take_along_axis(x, cols[:, None, None, :], axis=3)


class CenterCrop(Transform):
    """The central (h, w) window; an image smaller than that is padded with zeros first (as torchvision)."""

    def __init__(self, size: int | Sequence[int]) -> None:
        self.size = _size("CenterCrop", size)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        th, tw = self.size
        h, w = x.shape[-2:]
        if th > h or tw > w:
            dh, dw = max(th - h, 0), max(tw - w, 0)
            x = _pad(x, (dw // 2, dh // 2, (dw + 1) // 2, (dh + 1) // 2), np.zeros(1), "constant")
            h, w = x.shape[-2:]
        top, left = round((h - th) / 2.0), round((w - tw) / 2.0)
        return x[:, :, top:top + th, left:left + tw].copy()

    def __repr__(self) -> str:
        return f"CenterCrop(size={self.size})"


class RandomCrop(Transform):
    """A random (h, w) window: pad by ``padding`` first (see Pad), then, with ``pad_if_needed``, pad a side that is
    shorter than the crop by its shortfall on both ends (as torchvision); the window's top-left corner is uniform
    over every position that fits, drawn per image."""

    def __init__(self, size: int | Sequence[int], padding: int | Sequence[int] | None = None,
                 pad_if_needed: bool = False, fill: float | Sequence[float] = 0,
                 padding_mode: str = "constant") -> None:
        self.size = _size("RandomCrop", size)
        self.padding = padding
        self._ltrb = (0, 0, 0, 0) if padding is None else _padding("RandomCrop", padding)
        self.pad_if_needed = as_bool("RandomCrop", "pad_if_needed", pad_if_needed)
        self.fill, self._fill = fill, _fill("RandomCrop", fill)
        self.padding_mode = as_choice("RandomCrop", "padding_mode", padding_mode, _PAD_MODES)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        th, tw = self.size
        x = _pad(x, self._ltrb, self._fill, self.padding_mode)
        if self.pad_if_needed:
            h, w = x.shape[-2:]
            dw, dh = max(tw - w, 0), max(th - h, 0)
            x = _pad(x, (dw, dh, dw, dh), self._fill, self.padding_mode)
        h, w = x.shape[-2:]
        if th > h or tw > w:
            raise ShapeError(f"RandomCrop: the crop size {(th, tw)} is larger than the (padded) image size {(h, w)}; "
                             "pass padding= or pad_if_needed=True, or crop smaller")
        rng, n = generator(), x.shape[0]
        top = rng.integers(0, h - th + 1, n)
        left = rng.integers(0, w - tw + 1, n)
        return _crop(x, top, left, th, tw)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding!r})"


def _probability(op: str, p: Any) -> float:
    return as_real(op, "p", p, low=0.0, high=1.0)


class RandomHorizontalFlip(Transform):
    """Mirror left-right (``x[..., ::-1]``) with probability ``p``, decided per image."""

    _axis = -1

    def __init__(self, p: float = 0.5) -> None:
        self.p = _probability(type(self).__name__, p)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        flip = generator().random(x.shape[0]) < self.p
        return np.where(flip[:, None, None, None], np.flip(x, self._axis), x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"


class RandomVerticalFlip(RandomHorizontalFlip):
    """Mirror top-bottom (``x[..., ::-1, :]``) with probability ``p``, decided per image."""

    _axis = -2


# ---- affine warps ------------------------------------------------------------------------------------------
def _range(op: str, name: str, value: Any, symmetric_low: float | None, length: int = 2) -> tuple[float, ...]:
    """A number ``d`` (-> (-d, d), d >= 0) or a sequence of ``length`` numbers."""
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        d = as_real(op, name, value, finite=True)
        if d < 0:
            raise ValueError(f"{op}: {name} as a single number must be non-negative (the range is (-{name}, "
                             f"{name})), got {value!r}")
        return (-d, d) if symmetric_low is None else (symmetric_low, d)
    if isinstance(value, (tuple, list)) and len(value) == length:
        return tuple(as_real(op, name, v, finite=True) for v in value)
    raise TypeError(f"{op}: {name} must be a number or a sequence of {length} numbers, got {value!r}")


def _warp(x: np.ndarray, inverse: np.ndarray, offset: np.ndarray, mode: str, fill: np.ndarray) -> np.ndarray:
    """Sample (N, C, H, W) images at ``src = inverse[n] @ (dst - offset...)``: output pixel (i, j) of image n
    takes the source point ``(sx, sy) = inverse[n] @ (j, i) + offset[n]`` (x right, y down, pixel indices),
    nearest or bilinear; points outside the image see ``fill``. Vectorised over images and pixels."""
    n, _, h, w = x.shape
    ii, jj = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    sx = inverse[:, 0, 0, None, None] * jj + inverse[:, 0, 1, None, None] * ii + offset[:, 0, None, None]
    sy = inverse[:, 1, 0, None, None] * jj + inverse[:, 1, 1, None, None] * ii + offset[:, 1, None, None]
    padded = _pad(x, (1, 1, 1, 1), fill, "constant")  # a one-pixel frame of fill: out-of-image reads land there
    images = np.arange(n)[:, None, None]

    def read(row: np.ndarray, col: np.ndarray) -> np.ndarray:  # (N, H, W) source indices -> (N, C, H, W)
        r = np.clip(row, -1, h).astype(np.int64) + 1
        q = np.clip(col, -1, w).astype(np.int64) + 1
        return np.moveaxis(padded[images, :, r, q], -1, 1)

    if mode == "nearest":
        return read(np.rint(sy), np.rint(sx))
    x0, y0 = np.floor(sx), np.floor(sy)
    wx, wy = (sx - x0)[:, None], (sy - y0)[:, None]
    top = read(y0, x0) * (1 - wx) + read(y0, x0 + 1) * wx
    bottom = read(y0 + 1, x0) * (1 - wx) + read(y0 + 1, x0 + 1) * wx
    out = top * (1 - wy) + bottom * wy
    return out.astype(x.dtype) if x.dtype.kind == "f" else np.rint(out).astype(x.dtype)


def affine_matrices(angle: np.ndarray, scale: np.ndarray, shear_x: np.ndarray, shear_y: np.ndarray) -> np.ndarray:
    """(N, 2, 2) forward matrices ``A = R(a) S(s) SHy(sy) SHx(sx)`` in pixel coordinates (x right, y down), angles
    in degrees: ``R(a) = [[cos a, -sin a], [sin a, cos a]]`` turns clockwise as seen for a > 0,
    ``SHx(t) = [[1, -tan t], [0, 1]]``, ``SHy(t) = [[1, 0], [-tan t, 1]]`` (torchvision's convention)."""
    a, tx, ty = np.radians(angle), np.tan(np.radians(shear_x)), np.tan(np.radians(shear_y))
    cos, sin = np.cos(a), np.sin(a)
    rot = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], -2)
    one, zero = np.ones_like(a), np.zeros_like(a)
    shx = np.stack([np.stack([one, -tx], -1), np.stack([zero, one], -1)], -2)
    shy = np.stack([np.stack([one, zero], -1), np.stack([-ty, one], -1)], -2)
    return scale[:, None, None] * rot @ shy @ shx


class RandomAffine(Transform):
    """A random affine warp per image, keeping the centre fixed: output point = centre + t + A (input point - centre)
    with ``A`` from :func:`affine_matrices`.

    ``degrees`` d -> angle uniform in (-d, d) (or a (min, max) pair; positive turns clockwise as torchvision's
    ``affine``); ``translate=(a, b)`` -> integer shifts uniform within +-a*W and +-b*H pixels (rounded);
    ``scale=(lo, hi)``; ``shear`` s -> x-shear in (-s, s), (lo, hi), or (xlo, xhi, ylo, yhi) for both axes;
    ``interpolation`` nearest (default) or bilinear; ``fill`` for pixels mapped from outside the image;
    ``center=(cx, cy)`` in torchvision's convention (pixel (i, j) covers [j, j + 1) x [i, i + 1)), default the
    image centre.
    """

    def __init__(self, degrees: float | Sequence[float], translate: Sequence[float] | None = None,
                 scale: Sequence[float] | None = None, shear: float | Sequence[float] | None = None,
                 interpolation: str | InterpolationMode = InterpolationMode.NEAREST,
                 fill: float | Sequence[float] = 0, center: Sequence[float] | None = None) -> None:
        op = type(self).__name__
        self.degrees = _range(op, "degrees", degrees, None)
        self.translate = None if translate is None else _range(op, "translate", translate, 0.0)
        if self.translate is not None and not all(0.0 <= t <= 1.0 for t in self.translate):
            raise ValueError(f"{op}: translate values must be in [0, 1] (fractions of the width and height), "
                             f"got {translate!r}")
        self.scale = None if scale is None else _range(op, "scale", scale, 0.0)
        if self.scale is not None and (len(self.scale) != 2 or min(self.scale) <= 0):
            raise ValueError(f"{op}: scale must be a pair (min, max) of positive numbers, got {scale!r}")
        if shear is None:
            self.shear = None
        elif isinstance(shear, (tuple, list)) and len(shear) == 4:
            self.shear = _range(op, "shear", shear, None, length=4)
        else:
            self.shear = _range(op, "shear", shear, None) + (0.0, 0.0)
        self.interpolation = _interpolation(op, interpolation)
        self.fill, self._fill = fill, _fill(op, fill)
        if center is not None and not (isinstance(center, (tuple, list)) and len(center) == 2):
            raise TypeError(f"{op}: center must be a pair (x, y) of numbers or None, got {center!r}")
        self.center = None if center is None else tuple(as_real(op, "center", v, finite=True) for v in center)

    def _params(self, n: int, h: int, w: int) -> tuple[np.ndarray, ...]:
        rng = generator()
        angle = rng.uniform(*self.degrees, n)
        if self.translate is None:
            t = np.zeros((n, 2))
        else:
            t = np.rint(np.stack([rng.uniform(-1, 1, n) * self.translate[0] * w,
                                  rng.uniform(-1, 1, n) * self.translate[1] * h], -1))
        scale = np.ones(n) if self.scale is None else rng.uniform(*self.scale, n)
        shear = np.zeros((2, n)) if self.shear is None else np.stack(
            [rng.uniform(*self.shear[:2], n), rng.uniform(*self.shear[2:], n)])
        return angle, t, scale, shear[0], shear[1]

    def _forward(self, x: np.ndarray) -> np.ndarray:
        n, _, h, w = x.shape
        _check_channels(type(self).__name__, "fill", self._fill, x)
        angle, t, scale, shear_x, shear_y = self._params(n, h, w)
        centre = np.array([(w - 1) / 2, (h - 1) / 2]) if self.center is None else \
            np.array(self.center) - 0.5
        forward = affine_matrices(angle, scale, shear_x, shear_y)
        inverse = np.linalg.inv(forward)
        # src = c + A^-1 (dst - c - t) = A^-1 dst + (c - A^-1 (c + t))
        offset = centre - np.einsum("nij,nj->ni", inverse, centre + t)
        return _warp(x, inverse, offset, self.interpolation, self._fill)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(degrees={self.degrees}, translate={self.translate}, scale={self.scale}, "
                f"shear={self.shear}, interpolation={self.interpolation!r}, fill={self.fill!r})")


class RandomRotation(RandomAffine):
    """Rotate each image by an angle uniform in (-d, d) degrees (or a (min, max) pair) about its centre; positive
    turns counter-clockwise, as torchvision's ``rotate``. ``expand=True`` (growing the canvas) is not offered."""

    def __init__(self, degrees: float | Sequence[float],
                 interpolation: str | InterpolationMode = InterpolationMode.NEAREST, expand: bool = False,
                 center: Sequence[float] | None = None, fill: float | Sequence[float] = 0) -> None:
        if as_bool("RandomRotation", "expand", expand):
            raise ValueError("RandomRotation: expand=True is not supported (the output keeps the input's size); "
                             "pad the images first (Pad) to keep the corners")
        super().__init__(degrees, interpolation=interpolation, fill=fill, center=center)

    def _params(self, n: int, h: int, w: int) -> tuple[np.ndarray, ...]:
        angle, t, scale, shear_x, shear_y = super()._params(n, h, w)
        return -angle, t, scale, shear_x, shear_y


# ---- resizing ---------------------------------------------------------------------------------------------------
def _resize_matrix(n_in: int, n_out: int, mode: str) -> np.ndarray:
    """(n_out, n_in) weights: bilinear with pixel-centre alignment (``align_corners=False``, no antialiasing) or
    nearest (source index ``floor(i * n_in / n_out)``, PyTorch's 'nearest')."""
    if mode == "nearest":
        src = np.minimum(np.floor(np.arange(n_out) * (n_in / n_out)).astype(np.int64), n_in - 1)
        return (np.arange(n_in) == src[:, None]).astype(np.float64)
    s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
    lo = np.floor(s).astype(np.int64)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = s - lo
    cols = np.arange(n_in)
    return (1 - frac)[:, None] * (cols == lo[:, None]) + frac[:, None] * (cols == hi[:, None])


class Resize(Transform):
    """Resize to ``size`` (h, w), or with an int make the shorter side ``size`` keeping the aspect ratio (the
    longer side ``int(size * long / short)``, optionally capped by ``max_size``). Bilinear (default) or nearest;
    separable, one matrix product per axis for the whole batch: ``out = R_h @ x @ R_w^T``. No antialiasing."""

    def __init__(self, size: int | Sequence[int], interpolation: str | InterpolationMode = InterpolationMode.BILINEAR,
                 max_size: int | None = None, antialias: bool | None = None) -> None:
        self.size = size
        if is_int(size):
            if size < 1:
                raise ValueError(f"Resize: size must be positive, got {size!r}")
        else:
            _size("Resize", size)
        self.interpolation = _interpolation("Resize", interpolation)
        if max_size is not None and (not is_int(max_size) or max_size < 1):
            raise ValueError(f"Resize: max_size must be a positive int or None, got {max_size!r}")
        self.max_size, self.antialias = max_size, antialias

    def _target(self, h: int, w: int) -> tuple[int, int]:
        if not is_int(self.size) and len(self.size) == 2:  # type: ignore[arg-type]
            return _size("Resize", self.size)
        short = self.size if is_int(self.size) else self.size[0]  # type: ignore[index]
        small, large = (h, w) if h <= w else (w, h)
        new_small, new_large = int(short), int(short * large / small)
        if self.max_size is not None and new_large > self.max_size:
            new_small, new_large = int(self.max_size * new_small / new_large), self.max_size
        return (new_small, new_large) if h <= w else (new_large, new_small)

    def _forward(self, x: np.ndarray) -> np.ndarray:
        h, w = x.shape[-2:]
        th, tw = self._target(h, w)
        r_h, r_w = _resize_matrix(h, th, self.interpolation), _resize_matrix(w, tw, self.interpolation)
        out = np.einsum("ij,ncjk,lk->ncil", r_h, x, r_w, optimize=True)
        return out.astype(x.dtype) if x.dtype.kind == "f" else np.rint(out).astype(x.dtype)

    def __repr__(self) -> str:
        return f"Resize(size={self.size!r}, interpolation={self.interpolation!r})"
