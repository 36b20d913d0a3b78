"""tinygrad_cnn.utils.data, shaped like torch.utils.data: datasets, samplers, random_split, default_collate and
the DataLoader (its options, PyTorch's mutual-exclusion errors, the one-gather fast path). Every behaviour is
asserted without PyTorch; the torch tests (skipped when it is missing) compare the same calls with torch's."""

import collections
import warnings

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.utils.data as tud
from tinygrad_cnn.data import ArrayDataset, Digits, transforms
from tinygrad_cnn.errors import ShapeError
from tinygrad_cnn.utils.data import (
    BatchSampler,
    ChainDataset,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    Sampler,
    SequentialSampler,
    Subset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
    default_collate,
    default_convert,
    random_split,
)


class Squares(Dataset):
    """A generic map-style dataset (no get_batch): sample i is (float32 image filled with i, i * i)."""

    def __init__(self, n=10):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        self.calls += 1
        return np.full((1, 2, 2), i, np.float32), i * i


class Stream(IterableDataset):
    def __init__(self, n=7, sized=True):
        self.n, self.sized = n, sized

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        if not self.sized:
            raise TypeError("no len")
        return self.n


def arrays(n=10):
    return ArrayDataset(np.arange(n, dtype=np.float32).reshape(n, 1, 1, 1), np.arange(n, dtype=np.int64))


# ---- the namespace ---------------------------------------------------------------------------------------------
def test_utils_data_is_the_data_package():
    import tinygrad_cnn.data as data
    import tinygrad_cnn.utils as utils

    assert utils.data is tud
    for name in tud.__all__:
        assert getattr(tud, name) is getattr(data, name)
    assert tud.get_worker_info() is None


# ---- Dataset, TensorDataset, Subset, ConcatDataset, ChainDataset ---------------------------------------------
def test_dataset_base_and_add():
    with pytest.raises(NotImplementedError, match="must implement __getitem__"):
        Dataset()[0]
    both = Squares(3) + Squares(4)
    assert isinstance(both, ConcatDataset) and len(both) == 7 and both[3][1] == 0 and both[-1][1] == 9
    chained = Stream(2) + Stream(3)
    assert isinstance(chained, ChainDataset) and list(chained) == [0, 1, 0, 1, 2] and len(chained) == 5
    with pytest.raises(NotImplementedError, match="must implement __iter__"):
        iter(IterableDataset())


def test_chain_dataset_rejects_map_style():
    with pytest.raises(TypeError, match="only IterableDatasets"):
        list(ChainDataset([Stream(2), Squares(2)]))


def test_tensor_dataset_rows_and_batches():
    x, y = tg.Tensor(np.arange(12, dtype=np.float32).reshape(6, 2)), tg.Tensor(np.arange(6))
    ds = TensorDataset(x, y)
    assert len(ds) == 6 and ds.tensors[0] is x
    a, b = ds[2]
    assert a.tolist() == [4.0, 5.0] and b.item() == 2
    xb, yb = ds.get_batch([5, 0])
    assert xb.tolist() == [[10.0, 11.0], [0.0, 1.0]] and yb.tolist() == [5, 0]
    from_numpy = TensorDataset(np.zeros((3, 2)), np.arange(3))
    assert isinstance(from_numpy[0][0], tg.Tensor) and from_numpy[1][1].item() == 1


def test_tensor_dataset_errors():
    with pytest.raises(ShapeError, match=r"first dimensions differ \(\(3,\), \(4, 2\)\)"):
        TensorDataset(tg.zeros(3), tg.zeros(4, 2))
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorDataset()
    with pytest.raises(ShapeError, match="0-d tensor"):
        TensorDataset(tg.Tensor(1.0))
    with pytest.raises(TypeError, match="argument 1 is a list"):
        TensorDataset(tg.zeros(3), [1, 2, 3])


def test_subset():
    sub = Subset(Squares(10), [7, 2, 2])
    assert len(sub) == 3 and sub[0][1] == 49 and sub[-1][1] == 4
    assert [s[1] for s in sub[[0, 1]]] == [49, 4]
    assert [s[1] for s in sub.__getitems__([2, 0])] == [4, 49]
    assert sub.get_batch is None, "no fast path over a generic dataset"
    fast = Subset(arrays(), [9, 3])
    images, labels = fast.get_batch(np.array([1, 0]))
    assert labels.tolist() == [3, 9] and images.shape == (2, 1, 1, 1)


def test_concat_dataset_indexing_and_errors():
    ds = ConcatDataset([Squares(3), Squares(4)])
    assert ds.cumulative_sizes == [3, 7]
    assert [ds[i][1] for i in range(7)] == [0, 1, 4, 0, 1, 4, 9]
    assert ds[-7][1] == 0
    for bad in (7, -8):
        with pytest.raises(IndexError, match=f"index {bad} is out of range for 7 samples"):
            ds[bad]
    with pytest.raises(TypeError, match="index must be an int"):
        ds[1.0]
    with pytest.raises(ValueError, match="datasets is empty"):
        ConcatDataset([])
    with pytest.raises(TypeError, match="use ChainDataset"):
        ConcatDataset([Stream()])


# ---- random_split ---------------------------------------------------------------------------------------------
def test_random_split_counts_and_fractions():
    parts = random_split(range(10), [3, 7], generator=np.random.default_rng(0))
    assert [len(p) for p in parts] == [3, 7]
    assert sorted(parts[0].indices + parts[1].indices) == list(range(10))
    # fractions: floor(f * n) each, the remainder handed out one by one from the first part
    assert [len(p) for p in random_split(range(11), [0.5, 0.5])] == [6, 5]
    assert [len(p) for p in random_split(range(10), [0.3, 0.3, 0.4])] == [3, 3, 4]
    with pytest.warns(UserWarning, match="part 3 has length 0"):
        assert [len(p) for p in random_split(range(3), [0.3, 0.3, 0.3, 0.1])] == [1, 1, 1, 0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [len(p) for p in random_split(range(7), [0.1, 0.1, 0.1, 0.7])] == [1, 1, 1, 4]


def test_random_split_is_reproducible():
    a = random_split(range(20), [0.5, 0.5], generator=np.random.default_rng(3))[0].indices
    b = random_split(range(20), [0.5, 0.5], generator=np.random.default_rng(3))[0].indices
    assert a == b and a != list(range(10))
    tg.manual_seed(5)
    c = random_split(range(20), [10, 10])[1].indices
    tg.manual_seed(5)
    assert random_split(range(20), [10, 10])[1].indices == c


@pytest.mark.parametrize("lengths, message", [([3, 3], "sum to 6, but the dataset has 10"),
                                              ([0.5, 0.6], "must each be in"), ([-1, 11], "lengths must be >= 0"),
                                              ([], "lengths is empty")])
def test_random_split_errors(lengths, message):
    with pytest.raises(ValueError, match=message):
        random_split(range(10), lengths)


def test_random_split_rejects_a_bad_generator():
    with pytest.raises(TypeError, match=r"generator must be a numpy\.random\.Generator"):
        random_split(range(4), [2, 2], generator=3)


# ---- samplers -------------------------------------------------------------------------------------------------
def test_sequential_and_subset_random_samplers():
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3] and len(SequentialSampler(range(4))) == 4
    s = SubsetRandomSampler([5, 6, 7], generator=np.random.default_rng(0))
    first, second = list(s), list(s)
    assert sorted(first) == [5, 6, 7] and len(s) == 3
    assert any(list(s) != first for _ in range(10)) or first != second, "a new order each epoch"
    with pytest.raises(NotImplementedError, match="must implement __iter__"):
        iter(Sampler())


def test_random_sampler():
    rng = np.random.default_rng(0)
    perm = list(RandomSampler(range(6), generator=rng))
    assert sorted(perm) == list(range(6))
    longer = list(RandomSampler(range(4), num_samples=10, generator=rng))
    assert len(longer) == 10 and sorted(longer[:4]) == [0, 1, 2, 3] and sorted(longer[4:8]) == [0, 1, 2, 3]
    drawn = list(RandomSampler(range(3), replacement=True, num_samples=50, generator=rng))
    assert len(drawn) == 50 and set(drawn) == {0, 1, 2}
    assert len(RandomSampler(range(3), replacement=True, num_samples=5)) == 5
    with pytest.raises(ValueError, match="num_samples must be a positive int, got 0"):
        RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="dataset is empty"):
        RandomSampler(range(0))
    with pytest.raises(TypeError, match="replacement must be True or False"):
        RandomSampler(range(3), replacement=1)
    with pytest.raises(TypeError, match="generator must be"):
        RandomSampler(range(3), generator="seed")


def test_weighted_random_sampler():
    rng = np.random.default_rng(0)
    assert list(WeightedRandomSampler([0, 0, 1], 5, generator=rng)) == [2] * 5
    no_repeat = list(WeightedRandomSampler([0, 1, 1], 2, replacement=False, generator=rng))
    assert sorted(no_repeat) == [1, 2]
    draws = np.array(list(WeightedRandomSampler([1.0, 3.0], 4000, generator=rng)))
    assert 0.70 < draws.mean() < 0.80, "index 1 drawn with probability 3/4"
    assert len(WeightedRandomSampler([1, 2, 3], 7)) == 7
    with pytest.raises(ValueError, match="1-d sequence"):
        WeightedRandomSampler([[1, 2]], 2)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        WeightedRandomSampler([-1, 1], 2)
    with pytest.raises(ValueError, match="non-negative and not all zero"):
        WeightedRandomSampler([0, 0], 2)
    with pytest.raises(ValueError, match="cannot draw 3 samples without replacement from 2"):
        WeightedRandomSampler([0, 1, 1], 3, replacement=False)
    with pytest.raises(ValueError, match="num_samples must be a positive int"):
        WeightedRandomSampler([1, 2], 0)


def test_batch_sampler():
    assert list(BatchSampler(range(7), 3, False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(BatchSampler(SequentialSampler(range(7)), 3, True)) == [[0, 1, 2], [3, 4, 5]]
    assert len(BatchSampler(range(7), 3, True)) == 2 and len(BatchSampler(range(7), 3, False)) == 3
    assert list(BatchSampler(["a", "b", "c"], 2, False)) == [["a", "b"], ["c"]], "any keys, as PyTorch"
    with pytest.raises(ValueError, match="batch_size must be a positive int, got 0"):
        BatchSampler(range(3), 0, False)
    with pytest.raises(TypeError, match="drop_last must be True or False"):
        BatchSampler(range(3), 2, 1)


# ---- default_collate and default_convert ---------------------------------------------------------------------
def test_default_collate_numbers_and_arrays():
    ints, floats, bools = default_collate([1, 2, 3]), default_collate([1.5, 2.0]), default_collate([True, False])
    assert ints.dtype == np.int64 and ints.tolist() == [1, 2, 3]
    assert floats.dtype == np.float64 and bools.dtype == np.bool_
    assert default_collate([1, 2.5]).dtype == np.float32, "an int first, then a float: the default float dtype"
    assert default_collate([np.float32(1), np.float32(2)]).dtype == np.float32
    assert default_collate([np.int32(1), np.int32(2)]).dtype == np.int32
    stacked = default_collate([np.zeros(2, np.float32), np.ones(2, np.float32)])
    assert isinstance(stacked, tg.Tensor) and stacked.shape == (2, 2) and stacked.dtype == np.float32
    assert default_collate([np.array(1.0), np.array(2.0)]).shape == (2,)
    assert default_collate([tg.ones(3), tg.zeros(3)]).shape == (2, 3)
    assert default_collate([np.zeros((2, 2), np.uint8)]).dtype == np.uint8


def test_default_collate_structures():
    assert [t.tolist() for t in default_collate([(1, 2.0), (3, 4.0)])] == [[1, 3], [2.0, 4.0]]
    out = default_collate([{"a": 1, "b": "x"}, {"a": 2, "b": "y"}])
    assert out["a"].tolist() == [1, 2] and out["b"] == ["x", "y"]
    point = collections.namedtuple("Point", "x y")
    p = default_collate([point(1, 2.0), point(3, 4.0)])
    assert isinstance(p, point) and p.x.tolist() == [1, 3]
    assert default_collate(["a", "b"]) == ["a", "b"] and default_collate([b"a", b"b"]) == [b"a", b"b"]
    nested = default_collate([[np.zeros(2), [1, 2]], [np.ones(2), [3, 4]]])
    assert nested[0].shape == (2, 2) and [t.tolist() for t in nested[1]] == [[1, 3], [2, 4]]


def test_default_collate_keeps_the_graph_of_tensors_that_require_grad():
    a = tg.Tensor(np.ones(2), requires_grad=True)
    out = default_collate([a, a * 2])
    out.sum().backward()
    assert a.grad.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("batch, error, message", [
    ([np.zeros(2), np.ones(3)], ShapeError, r"got \(2,\) at entry 0 and \(3,\) at entry 1"),
    ([[1, 2.0], [3]], ShapeError, "same number of fields"),
    ([None, None], TypeError, "found <class 'NoneType'>"),
    ([object()], TypeError, "found <class 'object'>"),
    ([np.array(["a"]), np.array(["b"])], TypeError, "found <U1"),
    ([], ValueError, "the batch is empty"),
])
def test_default_collate_errors(batch, error, message):
    with pytest.raises(error, match=message):
        default_collate(batch)


def test_default_convert():
    out = default_convert((np.arange(3), 1.5, {"k": np.zeros(2)}))
    assert isinstance(out, list) and isinstance(out[0], tg.Tensor) and out[1] == 1.5
    assert isinstance(out[2]["k"], tg.Tensor)
    assert default_convert("text") == "text"


# ---- DataLoader ------------------------------------------------------------------------------------------------
def collected(loader):
    return [[np.asarray(part).tolist() for part in batch] for batch in loader]


def test_loader_mnist_example_options_are_accepted():
    loader = DataLoader(arrays(), batch_size=4, shuffle=True, num_workers=1, pin_memory=True)
    assert loader.num_workers == 1 and loader.pin_memory is True and len(loader) == 3
    assert len(loader.dataset) == 10
    seen = [y for _, ys in loader for y in ys.tolist()]
    assert sorted(seen) == list(range(10))
    assert len(DataLoader(arrays(), 4, num_workers=2, prefetch_factor=2, persistent_workers=True)) == 3


@pytest.mark.parametrize("n, batch, drop_last, expected", [(10, 3, False, 4), (10, 3, True, 3), (9, 3, True, 3),
                                                           (2, 3, True, 0), (0, 3, False, 0)])
def test_loader_length_and_batch_sizes(n, batch, drop_last, expected):
    loader = DataLoader(Squares(n), batch_size=batch, drop_last=drop_last)
    sizes = [len(y) for _, y in loader]
    assert len(loader) == expected == len(sizes)
    assert all(s == batch for s in sizes[:-1]) and (not drop_last or all(s == batch for s in sizes))


def test_generic_dataset_batches_are_collated():
    x, y = next(iter(DataLoader(Squares(5), batch_size=5)))
    assert isinstance(x, tg.Tensor) and x.shape == (5, 1, 2, 2) and x.dtype == np.float32
    assert y.dtype == np.int64 and y.tolist() == [0, 1, 4, 9, 16]


def test_fast_path_gathers_once_and_matches_the_generic_path(monkeypatch):
    ds = arrays(10)
    item_calls = []
    monkeypatch.setattr(ArrayDataset, "__getitem__", lambda self, i: item_calls.append(i) or (self.images[i],
                                                                                             self.labels[i]))
    fast = collected(DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(1)))
    assert item_calls == [], "the fast path never reads item by item"
    slow = collected(DataLoader(ds, batch_size=4, shuffle=True, generator=np.random.default_rng(1),
                                collate_fn=lambda samples: default_collate(samples)))
    assert len(item_calls) == 10 and fast == slow


def test_fast_path_for_tensor_dataset_subset_and_digits():
    tds = TensorDataset(np.arange(20.0).reshape(10, 2), np.arange(10))
    for ds in (tds, Subset(tds, [9, 8, 7, 1]), Digits(train=False, transform=transforms.Normalize(0.5, 0.25))):
        fast = collected(DataLoader(ds, batch_size=3))
        slow = collected(DataLoader(ds, batch_size=3, collate_fn=lambda s: default_collate(s)))
        assert fast == slow


def test_concat_of_array_datasets_gathers_per_part(monkeypatch):
    a, b = arrays(5), ArrayDataset(np.full((4, 1, 1, 1), -1, np.float32), np.arange(100, 104))
    both = a + b
    slow = collected(DataLoader(both, batch_size=4, shuffle=True, seed=0, collate_fn=lambda s: default_collate(s)))
    monkeypatch.setattr(ArrayDataset, "__getitem__", lambda self, i: pytest.fail("read item by item"))
    fast = collected(DataLoader(both, batch_size=4, shuffle=True, seed=0))
    assert fast == slow and sorted(y for _, ys in fast for y in ys) == [0, 1, 2, 3, 4, 100, 101, 102, 103]
    assert ConcatDataset([a, Squares(2)]).get_batch is None


def test_default_collate_given_explicitly_still_takes_the_fast_path():
    ds = Squares(4)
    _, labels = next(iter(DataLoader(arrays(4), batch_size=4, collate_fn=default_collate)))
    assert labels.tolist() == [0, 1, 2, 3]
    list(DataLoader(ds, batch_size=2, collate_fn=default_collate))
    assert ds.calls == 4


def test_loader_shuffle_follows_generator_and_manual_seed():
    def order(loader):
        return [y for _, ys in loader for y in ys.tolist()]

    a = DataLoader(arrays(), batch_size=3, shuffle=True, generator=np.random.default_rng(0))
    first, second = order(a), order(a)
    assert sorted(first) == list(range(10)) and first != second, "a new permutation each epoch"
    b = DataLoader(arrays(), batch_size=3, shuffle=True, generator=np.random.default_rng(0))
    assert [order(b), order(b)] == [first, second]
    tg.manual_seed(2)
    c = order(DataLoader(arrays(), batch_size=3, shuffle=True))
    tg.manual_seed(2)
    assert order(DataLoader(arrays(), batch_size=3, shuffle=True)) == c
    assert order(DataLoader(arrays(), batch_size=3, shuffle=True, seed=4)) == \
        order(DataLoader(arrays(), batch_size=3, shuffle=True, generator=np.random.default_rng(4)))


def test_loader_sampler_and_batch_sampler():
    assert [y.tolist() for _, y in DataLoader(arrays(), batch_size=2, sampler=[3, 1, 2])] == [[3, 1], [2]]
    weighted = DataLoader(arrays(), batch_size=5, sampler=WeightedRandomSampler([0] * 9 + [1], 10))
    assert all(y.tolist() == [9] * 5 for _, y in weighted)
    loader = DataLoader(arrays(), batch_sampler=[[1, 2], [3]])
    assert [y.tolist() for _, y in loader] == [[1, 2], [3]] and len(loader) == 2 and loader.batch_size is None
    custom = BatchSampler(SubsetRandomSampler([4, 5, 6], generator=np.random.default_rng(0)), 2, False)
    assert sorted(y for _, ys in DataLoader(arrays(), batch_sampler=custom) for y in ys.tolist()) == [4, 5, 6]


def test_loader_without_batching():
    items = list(DataLoader(Squares(3), batch_size=None))
    assert len(items) == 3 and isinstance(items[1][0], tg.Tensor) and items[1][1] == 1
    assert len(DataLoader(Squares(3), batch_size=None)) == 3


def test_loader_with_an_iterable_dataset():
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3)] == [[0, 1, 2], [3, 4, 5], [6]]
    assert [b.tolist() for b in DataLoader(Stream(7), batch_size=3, drop_last=True)] == [[0, 1, 2], [3, 4, 5]]
    assert len(DataLoader(Stream(7), batch_size=3)) == 3 and len(DataLoader(Stream(7), 3, drop_last=True)) == 2
    assert list(DataLoader(Stream(2), batch_size=None)) == [0, 1]
    with pytest.raises(TypeError):
        len(DataLoader(Stream(7, sized=False), batch_size=3))
    for kwargs in ({"shuffle": True}, {"sampler": [1]}, {"batch_sampler": [[1]]}):
        with pytest.raises(ValueError, match=f"IterableDataset: expected no {next(iter(kwargs))} option"):
            DataLoader(Stream(), **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"sampler": [0], "shuffle": True}, "sampler is mutually exclusive with shuffle"),
    ({"batch_sampler": [[0]], "batch_size": 2}, "batch_sampler is mutually exclusive"),
    ({"batch_sampler": [[0]], "shuffle": True}, "batch_sampler is mutually exclusive"),
    ({"batch_sampler": [[0]], "sampler": [0]}, "batch_sampler is mutually exclusive"),
    ({"batch_sampler": [[0]], "drop_last": True}, "batch_sampler is mutually exclusive"),
    ({"batch_size": None, "drop_last": True}, "batch_size=None turns batching off"),
    ({"num_workers": -1}, "num_workers must be >= 0"),
    ({"timeout": -1}, "timeout must be >= 0"),
    ({"prefetch_factor": 2}, "prefetch_factor is for multi-process loading"),
    ({"persistent_workers": True}, "persistent_workers=True needs num_workers > 0"),
    ({"multiprocessing_context": "spawn"}, "multiprocessing_context needs num_workers > 0"),
    ({"seed": 1, "generator": np.random.default_rng()}, "seed= or generator=, not both"),
])
def test_loader_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DataLoader(arrays(), **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"shuffle": 1}, "shuffle must be True or False"), ({"drop_last": "yes"}, "drop_last must be True or False"),
    ({"collate_fn": 3}, "collate_fn must be callable"), ({"generator": 7}, "generator must be"),
    ({"pin_memory": None}, "pin_memory must be True or False"), ({"num_workers": 1.0}, "num_workers must be an int"),
])
def test_loader_type_errors(kwargs, message):
    with pytest.raises(TypeError, match=message):
        DataLoader(arrays(), **kwargs)


def test_loader_shuffle_of_an_empty_dataset_is_refused_and_sequential_is_empty():
    assert list(DataLoader(Squares(0), batch_size=2)) == []
    with pytest.raises(ValueError, match="dataset is empty"):
        DataLoader(Squares(0), batch_size=2, shuffle=True)


def test_custom_collate_fn_and_getitems():
    class Batched(Squares):
        def __getitems__(self, indices):
            self.batched = list(indices)
            return [self[i] for i in indices]

    ds = Batched(5)
    out = list(DataLoader(ds, batch_size=5, collate_fn=lambda samples: len(samples)))
    assert out == [5] and ds.batched == [0, 1, 2, 3, 4]


# ---- against PyTorch (skipped when it is not installed) ----------------------------------------------------
def test_random_split_lengths_match_torch():
    torch = pytest.importorskip("torch")
    for n, lengths in [(10, [0.3, 0.3, 0.4]), (11, [0.5, 0.5]), (7, [0.1, 0.1, 0.1, 0.7]), (100, [0.33, 0.33, 0.34]),
                       (10, [3, 7]), (13, [0.25, 0.25, 0.25, 0.25])]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = [len(p) for p in torch.utils.data.random_split(range(n), lengths)]
            ours = [len(p) for p in random_split(range(n), lengths)]
        assert ours == theirs, (n, lengths)


def test_default_collate_matches_torch():
    torch = pytest.importorskip("torch")
    from torch.utils.data import default_collate as torch_collate

    point = collections.namedtuple("Point", "x y")
    cases = [[1, 2, 3], [1.5, 2.0], [True, False], [1, 2.5], [np.float32(1), np.float32(2)], [np.int32(1)],
             [np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)], [np.array(1.0), np.array(2.0)],
             [(1, 2.0), (3, 4.0)], [[1, 2.0], [3, 4.0]], [{"a": 1, "b": 2.5}, {"a": 2, "b": 0.5}],
             [point(1, 2.0), point(3, 4.0)], [np.zeros((2, 2), np.uint8)]]

    def flatten(value):
        if isinstance(value, (tg.Tensor, torch.Tensor)):
            array = value.numpy()
            return [(array.dtype.name, array.shape, array.tolist())]
        if isinstance(value, dict):
            return [(k, *flatten(v)) for k, v in sorted(value.items())]
        if isinstance(value, (list, tuple)):
            return [type(value).__name__] + [x for v in value for x in flatten(v)]
        return [value]

    for batch in cases:
        assert flatten(default_collate(batch)) == flatten(torch_collate(batch)), batch


def test_loader_batch_counts_match_torch():
    torch = pytest.importorskip("torch")
    data = torch.utils.data.TensorDataset(torch.zeros(10, 2), torch.arange(10))
    for batch_size in (1, 3, 4, 10, 11):
        for drop_last in (False, True):
            theirs = torch.utils.data.DataLoader(data, batch_size=batch_size, drop_last=drop_last)
            ours = DataLoader(TensorDataset(np.zeros((10, 2), np.float32), np.arange(10)), batch_size=batch_size,
                              drop_last=drop_last)
            assert len(ours) == len(theirs) == len(list(ours)) == len(list(theirs))
            assert [len(b[1]) for b in ours] == [len(b[1]) for b in theirs]
