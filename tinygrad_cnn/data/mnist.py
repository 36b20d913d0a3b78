"""MNIST from a local folder of the four original IDX files, with an optional checked download.

Shaped like torchvision's ``datasets.MNIST``: ``data`` uint8 (N, 28, 28), ``targets`` int64 (N,), and
``dataset[i]`` an image float32 (1, 28, 28) in [0, 1] (pixel / 255) with its int label.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_writer
from ..tensor_class import Tensor
from .idx import IMAGES_MAGIC, LABELS_MAGIC, IDXError, read_idx
from .vision import VisionArrayDataset

#: file stem -> sha256 of the original gzip file
FILES: dict[str, str] = {
    "train-images-idx3-ubyte": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
#: tried in order; each serves ``<mirror><stem>.gz``
MIRRORS: list[str] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
]
#: the training set's pixel mean and standard deviation (of pixel / 255), for ``normalize``
MEAN, STD = 0.1307, 0.3081
#: torchvision's class names
CLASSES = ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven",
           "8 - eight", "9 - nine"]


class MNISTNotFoundError(FileNotFoundError):
    """The MNIST files are not in the folder; the message says which are missing and where to put them."""


class DownloadError(OSError):
    """Every mirror failed, or a downloaded file did not match its checksum."""


class _ChecksumMismatchError(Exception):
    """A download whose sha256 is not the expected one: raised inside the atomic write, so nothing is kept."""


def _stems(train: bool) -> tuple[str, str]:
    prefix = "train" if train else "t10k"
    return f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"


def find_file(root: Path, stem: str) -> Path | None:
    """The file for ``stem`` in ``root``: gzip or raw, under the original name or the common dotted variant."""
    dotted = stem.replace("-idx", ".idx")
    for name in (f"{stem}.gz", stem, f"{dotted}.gz", dotted):
        candidate = root / name
        if candidate.is_file():
            return candidate
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_mnist(root: str | os.PathLike, stems: Sequence[str] = tuple(FILES), mirrors: Sequence[str] | None = None,
             opener: Callable[..., Any] = urllib.request.urlopen, timeout: float = 60.0) -> list[Path]:
    """Fetch the ``stems`` as ``.gz`` files into ``root``, trying ``mirrors`` in order; keep a file only when its
    sha256 matches :data:`FILES`. Files already present with the right checksum are not fetched again."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    mirrors = MIRRORS if mirrors is None else mirrors
    kept = []
    for stem in stems:
        target = root / f"{stem}.gz"
        if target.is_file() and sha256(target) == FILES[stem]:
            kept.append(target)
            continue
        failures = []
        for mirror in mirrors:
            url = f"{mirror}{stem}.gz"
            try:  # atomic: the target appears only complete and verified; a killed download leaves no debris
                with atomic_writer(target, "download_mnist") as out, opener(url, timeout=timeout) as response:
                    digest = hashlib.sha256()
                    for block in iter(lambda: response.read(1 << 20), b""):
                        out.write(block)
                        digest.update(block)
                    if digest.hexdigest() != FILES[stem]:
                        raise _ChecksumMismatchError(f"{url}: sha256 {digest.hexdigest()} does not match the expected "
                                                f"{FILES[stem]}")
                kept.append(target)
                break
            except _ChecksumMismatchError as err:
                failures.append(str(err))
            except (urllib.error.URLError, OSError, ValueError) as err:
                failures.append(f"{url}: {err}")
        else:
            raise DownloadError(f"MNIST download of {stem}.gz failed on every mirror: " + "; ".join(failures))
    return kept


def split_folder(root: Path, train: bool) -> Path | None:
    """The folder holding the split's two files: ``root`` itself or torchvision's ``root/MNIST/raw``."""
    for folder in (root, root / "MNIST" / "raw"):
        if all(find_file(folder, stem) is not None for stem in _stems(train)):
            return folder
    return None


def load_split(root: str | os.PathLike, train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N, 28, 28), labels uint8 (N,)) from the folder (or its ``MNIST/raw``), every file checked."""
    root = Path(root)
    stems = _stems(train)
    folder = split_folder(root, train) or root
    paths = [find_file(folder, stem) for stem in stems]
    missing = [stem for stem, path in zip(stems, paths) if path is None]
    if missing:
        where = f"the folder {root} does not exist" if not root.is_dir() else f"{root} has no {', '.join(missing)}"
        raise MNISTNotFoundError(
            f"MNIST: {where}. Put the four files {', '.join(s + '.gz' for s in FILES)} (gzip or not) in {root} "
            f"(or in {root / 'MNIST' / 'raw'}, torchvision's layout), "
            "or pass download=True (--download on the command line) to fetch them")
    images = read_idx(paths[0], IMAGES_MAGIC, (None, 28, 28))
    labels = read_idx(paths[1], LABELS_MAGIC, (None,))
    if len(images) != len(labels):
        raise IDXError(f"{paths[0]} has {len(images)} images but {paths[1]} has {len(labels)} labels; "
                       "the files come from different splits or one is damaged")
    if labels.size and labels.max() > 9:
        raise IDXError(f"{paths[1]}: label {int(labels.max())} is not a digit 0-9")
    return images, labels


class MNIST(VisionArrayDataset):
    """The MNIST handwritten digits: 60000 training or 10000 test images, ``MNIST(root, train=True,
    transform=None, target_transform=None, download=False)`` as torchvision's.

    The IDX files (gzip or raw) are read from ``root`` or from torchvision's layout ``root/MNIST/raw``;
    ``download=True`` fetches missing files into ``root`` from :data:`MIRRORS`, checking their sha256 first.
    ``data`` is uint8 (N, 28, 28) and ``targets`` int64 (N,), as torchvision's (Tensors); ``images`` is the
    float32 (N, 1, 28, 28) array in [0, 1] and ``labels`` the int64 array. ``dataset[i]`` is
    ``(transform(image (1, 28, 28) float32 Tensor in [0, 1]), target_transform(int label))``.
    """

    classes = CLASSES

    def __init__(self, root: str | os.PathLike, train: bool = True, transform: Callable[[Any], Any] | None = None,
                 target_transform: Callable[[Any], Any] | None = None, download: bool = False) -> None:
        super().__init__(transform, target_transform)
        root = Path(root).expanduser()
        if download and split_folder(root, train) is None:
            missing = [stem for stem in _stems(train) if find_file(root, stem) is None]
            download_mnist(root, missing)
        raw_images, raw_labels = load_split(root, train)
        self.root, self.train = root, train
        self._raw, self.labels = raw_images, raw_labels.astype(np.int64)
        self._float: np.ndarray | None = None

    @property
    def class_to_idx(self) -> dict[str, int]:
        return {name: k for k, name in enumerate(self.classes)}

    @property
    def data(self) -> Tensor:
        """The images as stored: uint8 (N, 28, 28), a Tensor sharing the array."""
        return Tensor(self._raw)

    @data.setter
    def data(self, value: Any) -> None:
        self._raw = np.asarray(value.data if isinstance(value, Tensor) else value)
        self._float = None

    @property
    def images(self) -> np.ndarray:  # type: ignore[override]
        """float32 (N, 1, 28, 28) in [0, 1]: pixel / 255 (computed once, on first use)."""
        if self._float is None:
            self._float = self._images_at(slice(None))
        return self._float

    def _images_at(self, index: Any) -> np.ndarray:
        images = self._raw[index].astype(np.float32)
        images /= np.float32(255)
        return images[..., None, :, :]

    def _first(self, count: int) -> None:
        self._raw, self.labels, self._float = self._raw[:count], self.labels[:count], None
