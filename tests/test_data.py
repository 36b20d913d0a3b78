"""The data package: IDX reader on files written here (raw, gzip, corrupt), MNIST (real files when present, a
synthetic folder, the checked download over file:// URLs), Digits, DataLoader and normalize."""

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn.data import (
    MNIST,
    ArrayDataset,
    DataLoader,
    Digits,
    DownloadError,
    IDXError,
    MNISTNotFoundError,
    download_mnist,
    normalize,
    random_shift,
    read_idx,
    write_idx,
)
from tinygrad_cnn.data import digits as digits_module
from tinygrad_cnn.data import mnist as mnist_module

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
needs_mnist = pytest.mark.skipif(not (SHARED / "train-images-idx3-ubyte.gz").is_file(),
                                 reason=f"the real MNIST files are not in {SHARED}")


def idx_bytes(array: np.ndarray, tmp_path: Path) -> bytes:
    return write_idx(tmp_path / "scratch", array).read_bytes()


# ---- IDX ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    array = (np.arange(2 * 3 * 4) - 5).astype(dtype).reshape(2, 3, 4)
    if np.dtype(dtype).kind == "u":
        array = np.arange(24, dtype=dtype).reshape(2, 3, 4)
    path = write_idx(tmp_path / "a.idx", array, compress=compress)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == compress
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.shape == (2, 3, 4)
    np.testing.assert_array_equal(back, array)


def test_gzip_is_detected_by_magic_bytes_not_name(tmp_path):
    labels = np.array([3, 1, 4, 1, 5], np.uint8)
    raw_named_gz = write_idx(tmp_path / "labels.gz", labels)
    gz_named_raw = write_idx(tmp_path / "labels-raw", labels, compress=True)
    np.testing.assert_array_equal(read_idx(raw_named_gz, 2049), labels)
    np.testing.assert_array_equal(read_idx(gz_named_raw, 2049), labels)


def test_header_layout_is_mnist(tmp_path):
    data = idx_bytes(np.zeros((2, 28, 28), np.uint8), tmp_path)
    assert int.from_bytes(data[:4], "big") == 2051
    assert [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(3)] == [2, 28, 28]
    assert len(data) == 16 + 2 * 28 * 28


def corrupt_cases(tmp_path):
    good = idx_bytes(np.zeros((3, 28, 28), np.uint8), tmp_path)
    return {
        "bad magic": (b"\x12\x34" + good[2:], "bad magic number"),
        "unknown dtype": (good[:2] + b"\x07" + good[3:], "bad magic number"),
        "truncated": (good[:-10], "truncated"),
        "too long": (good + b"\x00" * 7, "7 bytes too long"),
        "truncated header": (good[:9], "truncated header"),
        "tiny": (b"\x00\x00", "too short"),
    }


@pytest.mark.parametrize("case", ["bad magic", "unknown dtype", "truncated", "too long", "truncated header", "tiny"])
@pytest.mark.parametrize("compress", [False, True])
def test_corrupt_files_are_rejected_with_the_file_name(tmp_path, case, compress):
    payload, message = corrupt_cases(tmp_path)[case]
    path = tmp_path / "broken-file"
    path.write_bytes(gzip.compress(payload) if compress else payload)
    with pytest.raises(IDXError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_wrong_kind_and_wrong_dims(tmp_path):
    labels = write_idx(tmp_path / "labels", np.zeros(4, np.uint8))
    with pytest.raises(IDXError, match=r"magic number 2049 .*expected 2051") as info:
        read_idx(labels, expected_magic=2051)
    assert "labels" in str(info.value)
    images = write_idx(tmp_path / "images", np.zeros((2, 27, 28), np.uint8))
    with pytest.raises(IDXError, match=r"dimensions \(2, 27, 28\), expected \(any, 28, 28\)"):
        read_idx(images, 2051, (None, 28, 28))


def test_broken_gzip_stream(tmp_path):
    path = tmp_path / "half.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((5, 28, 28), np.uint8), tmp_path))[:40])
    with pytest.raises(IDXError, match="does not decompress"):
        read_idx(path)


def test_write_idx_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(TypeError, match="no IDX code"):
        write_idx(tmp_path / "x", np.zeros(3, np.int64))


# ---- MNIST on a synthetic folder ---------------------------------------------------------------------
def fake_mnist(folder: Path, n_train=12, n_test=5, compress=True, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if compress else ""
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8),
                  compress=compress)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(n, dtype=np.uint8) % 10,
                  compress=compress)
    return folder


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_a_local_folder(tmp_path, compress):
    root = fake_mnist(tmp_path / "mnist", compress=compress)
    train, test = MNIST(root), MNIST(root, train=False)
    assert train.images.shape == (12, 1, 28, 28) and train.images.dtype == np.float32
    assert train.labels.dtype == np.int64 and len(test) == 5
    raw = read_idx(next(root.glob("train-images*")))
    np.testing.assert_allclose(train.images[:, 0], raw / 255.0, rtol=1e-6)
    assert train.images.min() >= 0.0 and train.images.max() <= 1.0
    image, label = train[3]
    assert image.shape == (1, 28, 28) and label == 3


def test_mnist_accepts_dotted_names(tmp_path):
    root = fake_mnist(tmp_path / "m", compress=False)
    for path in root.iterdir():
        path.rename(root / path.name.replace("-idx", ".idx"))
    assert len(MNIST(root)) == 12


def test_mnist_missing_folder_says_where_to_put_files(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(MNISTNotFoundError, match="does not exist") as info:
        MNIST(missing)
    message = str(info.value)
    assert str(missing) in message and "train-images-idx3-ubyte.gz" in message and "download=True" in message


def test_mnist_missing_one_file(tmp_path):
    root = fake_mnist(tmp_path / "m")
    (root / "t10k-labels-idx1-ubyte.gz").unlink()
    assert len(MNIST(root)) == 12
    with pytest.raises(MNISTNotFoundError, match="has no t10k-labels-idx1-ubyte"):
        MNIST(root, train=False)


def test_mnist_mismatched_counts_and_bad_labels(tmp_path):
    root = fake_mnist(tmp_path / "m")
    write_idx(root / "train-labels-idx1-ubyte.gz", np.zeros(11, np.uint8), compress=True)
    with pytest.raises(IDXError, match=r"12 images but .* 11 labels"):
        MNIST(root)
    write_idx(root / "train-labels-idx1-ubyte.gz", np.full(12, 10, np.uint8), compress=True)
    with pytest.raises(IDXError, match="label 10 is not a digit"):
        MNIST(root)


def test_mnist_swapped_files_are_named(tmp_path):
    root = fake_mnist(tmp_path / "m")
    images, labels = root / "train-images-idx3-ubyte.gz", root / "train-labels-idx1-ubyte.gz"
    images.rename(tmp_path / "tmp")
    labels.rename(images)
    (tmp_path / "tmp").rename(labels)
    with pytest.raises(IDXError, match=r"train-images-idx3-ubyte\.gz: magic number 2049"):
        MNIST(root)


# ---- download over file:// URLs (never the network) ------------------------------------------------------
@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A file:// mirror of synthetic files, with FILES patched to their checksums."""
    source = fake_mnist(tmp_path / "mirror", n_train=6, n_test=4)
    sums = {p.name[:-3]: hashlib.sha256(p.read_bytes()).hexdigest() for p in source.iterdir()}
    monkeypatch.setattr(mnist_module, "FILES", sums)
    dead = (tmp_path / "dead").as_uri() + "/"
    monkeypatch.setattr(mnist_module, "MIRRORS", [dead, source.as_uri() + "/"])
    return source


def test_download_falls_back_to_the_next_mirror_and_verifies(tmp_path, mirror):
    root = tmp_path / "downloaded"
    dataset = MNIST(root, train=False, download=True)
    assert len(dataset) == 4
    assert sorted(p.name for p in root.iterdir()) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert len(MNIST(root, train=True, download=True)) == 6


def test_download_rejects_a_bad_checksum_and_keeps_nothing(tmp_path, mirror, monkeypatch):
    monkeypatch.setitem(mnist_module.FILES, "t10k-labels-idx1-ubyte", "0" * 64)
    root = tmp_path / "downloaded"
    with pytest.raises(DownloadError, match="does not match the expected 0000") as info:
        MNIST(root, train=False, download=True)
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value) and "dead" in str(info.value)
    assert not (root / "t10k-labels-idx1-ubyte.gz").exists()
    assert not list(root.glob("*.part"))


def test_download_with_a_patched_opener(tmp_path, mirror):
    calls = []

    def opener(url, timeout):
        calls.append(url)
        return open(mirror / url.rsplit("/", 1)[1], "rb")

    kept = download_mnist(tmp_path / "d", ["train-labels-idx1-ubyte"], mirrors=["https://example.invalid/"],
                          opener=opener)
    assert calls == ["https://example.invalid/train-labels-idx1-ubyte.gz"]
    assert kept[0].read_bytes() == (mirror / "train-labels-idx1-ubyte.gz").read_bytes()
    download_mnist(tmp_path / "d", ["train-labels-idx1-ubyte"], mirrors=["https://example.invalid/"], opener=opener)
    assert len(calls) == 1, "a file already present with the right checksum is not fetched again"


@needs_mnist
def test_download_checksums_match_the_real_files(tmp_path):
    kept = download_mnist(tmp_path, ["t10k-labels-idx1-ubyte"], mirrors=[SHARED.as_uri() + "/"])
    assert kept[0].read_bytes() == (SHARED / "t10k-labels-idx1-ubyte.gz").read_bytes()
    for stem, digest in mnist_module.FILES.items():
        assert hashlib.sha256((SHARED / f"{stem}.gz").read_bytes()).hexdigest() == digest


# ---- the real MNIST ---------------------------------------------------------------------------------------
@needs_mnist
def test_mnist_facts():
    train, test = MNIST(SHARED), MNIST(SHARED, train=False)
    assert train.images.shape == (60000, 1, 28, 28) and test.images.shape == (10000, 1, 28, 28)
    assert train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert train.images.mean() == pytest.approx(0.13066, abs=5e-6)
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert train.images.min() == 0.0 and train.images.max() == 1.0


# ---- Digits -------------------------------------------------------------------------------------------
def test_digits_layout_and_split():
    train, test = Digits(), Digits(train=False)
    assert train.images.shape == (1437, 1, 28, 28) and test.images.shape == (360, 1, 28, 28)
    assert train.images.dtype == np.float32 and train.labels.dtype == np.int64
    assert train.images.min() >= 0.0 and train.images.max() <= 1.0 and train.images.max() > 0.99
    counts = np.bincount(test.labels)
    assert counts.min() >= 35 and counts.max() <= 37, "the split is stratified"
    again = Digits(train=False)
    np.testing.assert_array_equal(again.labels, test.labels)


def test_bilinear_resize():
    r = digits_module.interpolation_matrix(8, 28)
    assert r.shape == (28, 8)
    np.testing.assert_allclose(r.sum(axis=1), 1.0)
    constant = np.full((2, 8, 8), 3.0)
    np.testing.assert_allclose(digits_module.resize(constant), 3.0)
    ramp = np.tile(np.arange(8.0), (1, 8, 1))
    row = digits_module.resize(ramp)[0, 5]
    assert np.all(np.diff(row) >= 0) and row[0] == 0.0 and row[-1] == 7.0


# ---- DataLoader and normalize --------------------------------------------------------------------------------
def small_dataset(n=10):
    return ArrayDataset(np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n, dtype=np.int64))


def test_loader_batches_in_order():
    loader = DataLoader(small_dataset(), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 and [len(y) for _, y in batches] == [4, 4, 2]
    x, y = batches[0]
    assert isinstance(x, tg.Tensor) and x.shape == (4, 1, 1, 1) and y.dtype == np.int64
    assert np.concatenate([y.numpy() for _, y in batches]).tolist() == list(range(10))


def test_loader_drop_last():
    loader = DataLoader(small_dataset(), batch_size=4, drop_last=True)
    assert len(loader) == 2 and [len(y) for _, y in loader] == [4, 4]


def test_loader_shuffle_is_a_reproducible_permutation_that_changes_per_epoch():
    def epochs(loader, n=2):
        return [np.concatenate([y.numpy() for _, y in loader]).tolist() for _ in range(n)]

    first, second = epochs(DataLoader(small_dataset(), 3, shuffle=True, seed=7))
    assert sorted(first) == list(range(10)) and first != second and first != list(range(10))
    assert epochs(DataLoader(small_dataset(), 3, shuffle=True, seed=7)) == [first, second]
    assert epochs(DataLoader(small_dataset(), 3, shuffle=True, seed=8))[0] != first


def test_loader_without_seed_follows_manual_seed():
    tg.manual_seed(3)
    a = [y.tolist() for _, y in DataLoader(small_dataset(), 10, shuffle=True)]
    tg.manual_seed(3)
    b = [y.tolist() for _, y in DataLoader(small_dataset(), 10, shuffle=True)]
    assert a == b


def test_loader_generic_dataset():
    items = [(np.full((1, 2, 2), i, np.float32), i) for i in range(5)]
    x, y = next(iter(DataLoader(items, batch_size=5)))
    assert x.shape == (5, 1, 2, 2) and y.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("batch_size, error", [(0, ValueError), (-1, ValueError), (2.5, TypeError),
                                               (True, TypeError), ("2", TypeError)])
def test_loader_rejects_bad_batch_size(batch_size, error):
    with pytest.raises(error, match="DataLoader: batch_size"):
        DataLoader(small_dataset(), batch_size=batch_size)


def test_loader_accepts_a_numpy_batch_size():
    loader = DataLoader(small_dataset(), batch_size=np.int64(2))
    assert type(loader.batch_size) is int and loader.batch_size == 2


def test_normalize_per_channel_and_as_dataset_transform():
    images = np.ones((2, 3, 2, 2), np.float32)
    out = normalize([0.0, 1.0, 0.5], [1.0, 2.0, 0.25])(images)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, :, 0, 0], [1.0, 0.0, 2.0])
    dataset = ArrayDataset(images, np.zeros(2, np.int64), transform=normalize(1.0, 2.0))
    np.testing.assert_allclose(dataset[0][0], 0.0)
    with pytest.raises(ValueError, match="positive std"):
        normalize(0.0, 0.0)
    with pytest.raises(ValueError, match="2 mean values"):
        normalize([0.0, 0.0], 1.0)(images)


def test_subset():
    subset = small_dataset().subset(4)
    assert len(subset) == 4 and subset.labels.tolist() == [0, 1, 2, 3]
    assert len(small_dataset().subset(np.int64(2))) == 2
    with pytest.raises(ValueError, match=r"ArrayDataset.subset: count must be a positive int, got 0"):
        small_dataset().subset(0)
    with pytest.raises(TypeError, match=r"ArrayDataset.subset: count must be an int"):
        small_dataset().subset(2.5)


def test_random_shift_moves_each_image_by_its_own_bounded_offset():
    n = 64
    images = np.zeros((n, 1, 9, 9), np.float32)
    images[:, 0, 4, 4] = 1.0  # one lit pixel in the middle of each image
    out = random_shift(2, seed=0)(images)
    assert out.shape == images.shape and out.dtype == np.float32
    rows, cols = np.nonzero(out[:, 0].reshape(n, -1) == 1.0)[1] // 9, np.nonzero(out[:, 0].reshape(n, -1))[1] % 9
    assert out.sum() == n, "every pixel moved, none lost (the offset never pushes it out)"
    dy, dx = rows - 4, cols - 4
    assert np.abs(dy).max() == 2 and np.abs(dx).max() == 2
    assert len(set(zip(dy.tolist(), dx.tolist()))) > 10, "offsets differ between images"


def test_random_shift_fills_with_zeros_is_reproducible_and_changes_per_call():
    images = np.arange(2 * 3 * 5 * 5, dtype=np.float32).reshape(2, 3, 5, 5) + 1
    first, again = random_shift(1, seed=4), random_shift(1, seed=4)
    a, b = first(images), again(images)
    np.testing.assert_array_equal(a, b)
    for i in range(2):  # each output image is its input translated, all channels together, zeros shifted in
        matches = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)
                   if np.array_equal(a[i], np.roll(images[i], (dy, dx), axis=(1, 2))
                                     * _inside((5, 5), dy, dx))]
        assert len(matches) == 1
    calls = [first(images) for _ in range(6)]
    assert any(not np.array_equal(c, calls[0]) for c in calls[1:])
    np.testing.assert_array_equal(random_shift(0)(images), images)
    assert random_shift(1, seed=0)(images[0]).shape == (3, 5, 5)
    with pytest.raises(ValueError, match="random_shift: max_shift must be >= 0"):
        random_shift(-1)
    with pytest.raises(TypeError, match="random_shift: max_shift must be an int"):
        random_shift(1.0)
    with pytest.raises(ValueError, match="expected images"):
        random_shift(1)(np.zeros((5, 5), np.float32))


def _inside(shape, dy, dx):
    """1 where a pixel translated by (dy, dx) came from inside the image, 0 where the border was filled."""
    mask = np.zeros(shape, np.float32)
    mask[max(dy, 0):shape[0] + min(dy, 0), max(dx, 0):shape[1] + min(dx, 0)] = 1
    return mask


# ---- torchvision's shape: datasets.MNIST, Digits, transforms on the array datasets ----------------------------
def test_datasets_namespace_is_torchvision_shaped(tmp_path):
    from tinygrad_cnn.data import datasets, transforms

    root = fake_mnist(tmp_path / "m")
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(root, train=True, download=False, transform=transform)
    assert datasets.MNIST is MNIST and datasets.Digits is Digits
    image, label = train[3]
    assert isinstance(image, tg.Tensor) and image.shape == (1, 28, 28) and image.dtype == np.float32
    assert type(label) is int and label == 3
    raw = read_idx(root / "train-images-idx3-ubyte.gz")
    np.testing.assert_allclose(image.numpy()[0], (raw[3] / 255 - 0.1307) / 0.3081, rtol=1e-5, atol=1e-6)
    assert train.data.dtype == np.uint8 and train.data.shape == (12, 28, 28)
    np.testing.assert_array_equal(train.data.numpy(), raw)
    assert train.targets.dtype == np.int64 and train.targets.tolist() == [i % 10 for i in range(12)]
    assert train.classes[3] == "3 - three" and train.class_to_idx["9 - nine"] == 9
    assert "Number of datapoints: 12" in repr(train) and "Normalize" in repr(train)


def test_mnist_positional_arguments_follow_torchvision(tmp_path):
    root = fake_mnist(tmp_path / "m")
    ds = MNIST(root, False, None, lambda y: y + 100)
    assert ds.train is False and ds[0][1] == 100


def test_mnist_reads_torchvisions_raw_layout(tmp_path):
    fake_mnist(tmp_path / "data" / "MNIST" / "raw", compress=False)
    ds = MNIST(tmp_path / "data", download=True)  # found there: nothing is fetched
    assert len(ds) == 12 and ds.root == tmp_path / "data"
    with pytest.raises(MNISTNotFoundError, match=r"MNIST/raw, torchvision's layout"):
        MNIST(tmp_path / "elsewhere")


def test_mnist_transforms_and_target_transform_in_batches(tmp_path):
    from tinygrad_cnn.data import transforms

    root = fake_mnist(tmp_path / "m")
    calls = []

    def per_sample(image):
        calls.append(image.shape)
        return image * 2

    ds = MNIST(root, transform=transforms.Compose([transforms.ToTensor(), transforms.Lambda(per_sample)]),
               target_transform=lambda y: float(y) / 2)
    x, y = next(iter(DataLoader(ds, batch_size=5)))
    assert calls == [(1, 28, 28)] * 5, "a Lambda is called per sample, as torchvision calls it"
    np.testing.assert_allclose(x.numpy(), 2 * ds.images[:5], rtol=1e-6)
    assert y.dtype == np.float64 and y.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    fast = [[np.asarray(p).tolist() for p in b] for b in DataLoader(ds, batch_size=4)]
    slow = [[np.asarray(p).tolist() for p in b] for b in DataLoader(ds, batch_size=4, collate_fn=lambda s: [
        tg.Tensor(np.stack([np.asarray(i) for i, _ in s])), tg.Tensor(np.asarray([t for _, t in s]))])]
    assert fast == slow


def test_mnist_items_are_fresh_copies(tmp_path):
    from tinygrad_cnn.data import transforms

    ds = MNIST(fake_mnist(tmp_path / "m"), transform=transforms.Normalize(0.5, 0.5, inplace=True))
    first = ds[0][0].numpy().copy()
    np.testing.assert_array_equal(ds[0][0].numpy(), first)


def test_mnist_data_and_targets_can_be_reassigned_and_subset_keeps_the_kind(tmp_path):
    ds = MNIST(fake_mnist(tmp_path / "m"))
    ds.data, ds.targets = ds.data[:4], ds.targets[:4]
    assert len(ds) == 4 and ds.images.shape == (4, 1, 28, 28)
    sub = MNIST(fake_mnist(tmp_path / "m2")).subset(3)
    assert isinstance(sub, MNIST) and len(sub) == 3 and sub.data.shape == (3, 28, 28)
    assert type(sub[0][1]) is int


def test_mnist_index_errors(tmp_path):
    ds = MNIST(fake_mnist(tmp_path / "m"))
    with pytest.raises(IndexError, match="index 12 is out of range for 12 samples"):
        ds[12]
    assert ds[-1][1] == 1
    with pytest.raises(TypeError, match="index must be an int"):
        ds[[0, 1]]
    with pytest.raises(TypeError, match="transform must be callable"):
        MNIST(tmp_path / "m", transform=3)


def test_legacy_transforms_on_the_torchvision_datasets():
    ds = Digits(train=False, transform=random_shift(2, seed=0))
    x, _ = next(iter(DataLoader(ds, batch_size=16)))
    assert x.shape == (16, 1, 28, 28) and not np.array_equal(x.numpy(), ds.images[:16])
    assert x.numpy().sum() <= ds.images[:16].sum() + 1e-3, "a shift only moves (or drops) pixels"
    norm = Digits(train=False, transform=normalize(0.5, 0.25))
    np.testing.assert_allclose(norm[0][0].numpy(), (ds.images[0] - 0.5) / 0.25, rtol=1e-6)


def test_digits_is_torchvision_shaped():
    ds = Digits(train=False, target_transform=lambda y: -y)
    image, label = ds[5]
    assert isinstance(image, tg.Tensor) and image.shape == (1, 28, 28) and label == -int(ds.labels[5])
    assert ds.data.shape == (360, 1, 28, 28) and ds.targets.dtype == np.int64
    image.numpy()[...] = 5.0
    assert ds.images.max() <= 1.0, "an item never aliases the stored images"


@needs_mnist
def test_real_mnist_through_datasets_and_the_loader():
    from tinygrad_cnn.data import datasets, transforms
    from tinygrad_cnn.utils.data import DataLoader as UtilsLoader

    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = datasets.MNIST(SHARED, train=True, download=True, transform=transform)
    loader = UtilsLoader(train, batch_size=64, shuffle=True, num_workers=1, pin_memory=True)
    assert len(loader) == 938 and len(loader.dataset) == 60000
    data, target = next(iter(loader))
    assert data.shape == (64, 1, 28, 28) and data.dtype == np.float32 and target.dtype == np.int64
    assert abs(float(np.mean(train.get_batch(np.arange(60000))[0].numpy()))) < 1e-3, "normalised to mean 0"
    assert train.targets[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
