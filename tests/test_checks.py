"""The argument checks of ``tinygrad_cnn._checks`` and the one rule every constructor follows through them.

TypeError for a wrong kind of value (a bool, a float or a str where an int is expected), ValueError for a value of
the right kind that is bad (an int below the minimum, a pair of the wrong length); NumPy integers are ints, bools
are not. The tables below run that rule over every layer, optimiser, scheduler and data argument that takes an int.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn, optim
from tinygrad_cnn._checks import as_choice, as_int, as_pair, as_real
from tinygrad_cnn.data import ArrayDataset, DataLoader, random_shift
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.optim.lr_scheduler import CosineAnnealingLR, StepLR


# ---- the checks themselves -------------------------------------------------------------------------------------
def test_as_int():
    assert as_int("op", "n", np.int64(3)) == 3 and type(as_int("op", "n", np.uint8(3))) is int
    assert as_int("op", "n", 5, low=5, high=5) == 5
    for junk in (True, np.False_, 2.0, "2", None, np.float64(2)):
        with pytest.raises(TypeError, match=r"op: n must be an int, got"):
            as_int("op", "n", junk)
    with pytest.raises(ValueError, match=r"op: n must be a positive int, got 0"):
        as_int("op", "n", 0, low=1)
    with pytest.raises(ValueError, match=r"op: n must be >= 2, got 1"):
        as_int("op", "n", 1, low=2)
    with pytest.raises(ValueError, match=r"op: n must be <= 3, got 4"):
        as_int("op", "n", np.int64(4), high=3)
    with pytest.raises(ValueError, match=r"op: n must be in \[0, 3\], got -1"):
        as_int("op", "n", -1, low=0, high=3)


def test_as_real_ranges():
    assert as_real("op", "p", np.float32(0.5), low=0, high=1) == 0.5 and as_real("op", "p", 1, low=0, high=1) == 1.0
    with pytest.raises(TypeError, match="op: p must be a real number"):
        as_real("op", "p", True, low=0, high=1)
    with pytest.raises(ValueError, match=r"op: p must be in \[0, 1\], got 1.5"):
        as_real("op", "p", 1.5, low=0, high=1)
    with pytest.raises(ValueError, match=r"op: p must be in \[0, 1\], got nan"):
        as_real("op", "p", math.nan, low=0, high=1)
    with pytest.raises(ValueError, match=r"op: beta must be in \[0.0, 1.0\), got 1.0"):
        as_real("op", "beta", 1.0, low=0.0, high=1.0, high_inclusive=False)
    with pytest.raises(ValueError, match=r"op: x must be >= 0.0, got -1.0"):
        as_real("op", "x", -1, low=0.0)
    with pytest.raises(ValueError, match="op: x must be finite"):
        as_real("op", "x", math.inf, finite=True, low=0.0)
    assert math.isinf(as_real("op", "x", math.inf, low=0.0))  # no finite=True: inf is >= 0
    assert math.isnan(as_real("op", "x", math.nan))  # no bounds: NaN passes, as before


def test_as_pair():
    assert as_pair("op", "stride", 2) == (2, 2) and as_pair("op", "stride", [np.int64(1), 3]) == (1, 3)
    assert all(type(v) is int for v in as_pair("op", "stride", (np.int32(1), np.int64(2))))
    for junk in (None, 1.5, "22", True, (1, 1.5), (True, 1), [1, None], {1, 2}, np.array([1, 2])):
        with pytest.raises(TypeError, match=r"op: stride must be an int or a pair of ints"):
            as_pair("op", "stride", junk)
    for wrong_length in ((), (1,), (1, 2, 3), [1, 1, 1, 1]):
        with pytest.raises(ValueError, match=r"op: stride must be an int or a pair of ints .* got \d ints"):
            as_pair("op", "stride", wrong_length)
    with pytest.raises(ValueError, match=r"op: stride must be >= 1, got \(1, 0\)"):
        as_pair("op", "stride", (1, 0), 1)
    assert as_pair("op", "padding", -3) == (-3, -3)  # no bound given


def test_as_choice():
    assert as_choice("op", "mode", "b", ("a", "b")) == "b"
    with pytest.raises(ValueError, match=r"op: mode must be 'a' or 'b', got 'c'"):
        as_choice("op", "mode", "c", ("a", "b"))
    with pytest.raises(ValueError, match=r"op: mode must be 'a', 'b' or 'c', got 'd'"):
        as_choice("op", "mode", "d", ("a", "b", "c"))
    for junk in (None, 1, np.array(["a", "b"]), ["a"], b"a"):
        with pytest.raises(TypeError, match=r"op: mode must be 'a' or 'b', got"):
            as_choice("op", "mode", junk, ("a", "b"))


# ---- every int argument of a constructor: (id, make(value), a valid value, a value below the minimum) ----------
def _sgd(lr=0.1):
    return optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=lr)


def _image():
    return tg.randn(1, 2, 6, 6)


def _load_adam_step(step):
    opt = optim.Adam([nn.Parameter(np.zeros(2))])
    groups = opt.state_dict()["param_groups"]
    opt.load_state_dict({"state": {0: {"step": step, "exp_avg": np.zeros(2), "exp_avg_sq": np.zeros(2)}},
                         "param_groups": groups})
    return opt


def _graph(max_nodes, direction="forward"):
    viz = pytest.importorskip("tinygrad_cnn.viz")
    x = tg.randn(3, requires_grad=True)
    return viz.graph_structure((x * 2).sum(), direction=direction, max_nodes=max_nodes)


INT_ARGUMENTS = [
    ("Linear in_features", lambda v: nn.Linear(v, 2), 3, 0),
    ("Linear out_features", lambda v: nn.Linear(2, v), 3, 0),
    ("Conv2d in_channels", lambda v: nn.Conv2d(v, 2, 3), 2, 0),
    ("Conv2d out_channels", lambda v: nn.Conv2d(2, v, 3), 2, -1),
    ("Conv2d groups", lambda v: nn.Conv2d(2, 2, 3, groups=v), 2, 0),
    ("Conv2d kernel_size", lambda v: nn.Conv2d(2, 2, v), 3, 0),
    ("Conv2d kernel_size item", lambda v: nn.Conv2d(2, 2, (3, v)), 3, 0),
    ("Conv2d stride", lambda v: nn.Conv2d(2, 2, 3, stride=v), 2, 0),
    ("Conv2d padding", lambda v: nn.Conv2d(2, 2, 3, padding=v), 1, -1),
    ("Conv2d dilation", lambda v: nn.Conv2d(2, 2, 3, dilation=(1, v)), 2, 0),
    ("MaxPool2d kernel_size", lambda v: nn.MaxPool2d(v), 2, 0),
    ("MaxPool2d stride", lambda v: nn.MaxPool2d(2, stride=v), 1, 0),
    ("MaxPool2d padding", lambda v: nn.MaxPool2d(2, padding=(v, 0)), 1, -1),
    ("MaxPool2d dilation", lambda v: nn.MaxPool2d(2, dilation=v), 2, 0),
    ("AvgPool2d kernel_size", lambda v: nn.AvgPool2d(v), 2, 0),
    ("AvgPool2d stride", lambda v: nn.AvgPool2d(2, stride=v), 2, 0),
    ("AvgPool2d padding", lambda v: nn.AvgPool2d(2, padding=v), 1, -1),
    ("conv2d groups", lambda v: F.conv2d(_image(), tg.randn(2, 1, 3, 3), groups=v), 2, 0),
    ("conv2d stride", lambda v: F.conv2d(_image(), tg.randn(2, 2, 3, 3), stride=v), 2, 0),
    ("conv2d padding", lambda v: F.conv2d(_image(), tg.randn(2, 2, 3, 3), padding=(v, 1)), 1, -1),
    ("max_pool2d kernel_size", lambda v: F.max_pool2d(_image(), v), 2, 0),
    ("avg_pool2d stride", lambda v: F.avg_pool2d(_image(), 2, stride=v), 2, 0),
    ("StepLR step_size", lambda v: StepLR(_sgd(), step_size=v), 2, 0),
    ("StepLR last_epoch", lambda v: StepLR(_sgd(), 2, last_epoch=v), -1, -2),
    ("CosineAnnealingLR T_max", lambda v: CosineAnnealingLR(_sgd(), T_max=v), 4, 0),
    ("CosineAnnealingLR last_epoch", lambda v: CosineAnnealingLR(_sgd(), 4, last_epoch=v), -1, -2),
    ("Adam.load_state_dict step", _load_adam_step, 3, -1),
    ("DataLoader batch_size", lambda v: DataLoader(ArrayDataset(np.zeros((4, 1, 2, 2)), np.zeros(4)), v), 2, 0),
    ("ArrayDataset.subset count", lambda v: ArrayDataset(np.zeros((4, 1, 2, 2)), np.zeros(4)).subset(v), 2, 0),
    ("random_shift max_shift", lambda v: random_shift(v), 1, -1),
    ("draw_graph max_nodes", _graph, 5, 1),
]
IDS = [row[0] for row in INT_ARGUMENTS]


def _op(row_id: str) -> str:
    return row_id.split(" ")[0]


@pytest.mark.parametrize("bad", [True, False, np.True_], ids=["True", "False", "np.True_"])
@pytest.mark.parametrize(("row_id", "make", "good", "low"), INT_ARGUMENTS, ids=IDS)
def test_a_bool_where_an_int_is_expected_is_a_type_error(row_id, make, good, low, bad):
    with pytest.raises(TypeError, match=rf"^{_op(row_id)}: .*must be an int"):
        make(bad)


@pytest.mark.parametrize("bad", [2.0, "2", 2j], ids=["float", "str", "complex"])  # (None is a default: stride=None)
@pytest.mark.parametrize(("row_id", "make", "good", "low"), INT_ARGUMENTS, ids=IDS)
def test_a_non_int_where_an_int_is_expected_is_a_type_error(row_id, make, good, low, bad):
    with pytest.raises(TypeError, match=rf"^{_op(row_id)}: "):
        make(bad)


@pytest.mark.parametrize(("row_id", "make", "good", "low"), INT_ARGUMENTS, ids=IDS)
def test_an_int_below_the_minimum_is_a_value_error(row_id, make, good, low):
    with pytest.raises(ValueError, match=rf"^{_op(row_id)}: .*must be (>= -?\d+|a positive int), got"):
        make(low)


@pytest.mark.parametrize("kind", [np.int64, np.int32, np.int8])
@pytest.mark.parametrize(("row_id", "make", "good", "low"), INT_ARGUMENTS, ids=IDS)
def test_numpy_integers_are_ints(row_id, make, good, low, kind):
    make(good)
    make(kind(good))


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(2, 2, (3, 3, 3)), lambda: nn.MaxPool2d((2,)), lambda: F.avg_pool2d(_image(), 2, stride=()),
    lambda: optim.Adam([nn.Parameter(np.zeros(2))], betas=(0.9,)),
])
def test_a_pair_of_the_wrong_length_is_a_value_error(make):
    with pytest.raises(ValueError, match="pair"):
        make()


@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_train_mode_must_be_a_bool_as_in_pytorch(bad):
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):  # PyTorch's ValueError
        nn.Module().train(bad)


@pytest.mark.parametrize("make", [
    lambda v: optim.SGD([nn.Parameter(np.zeros(2))], lr=0.1, nesterov=v),
    lambda v: nn.Linear(2, 2, bias=v), lambda v: F.dropout(tg.randn(2), 0.5, training=v),
])
@pytest.mark.parametrize("bad", [1, 0, "yes", None])
def test_an_int_where_a_bool_is_expected_is_a_type_error(make, bad):
    with pytest.raises(TypeError, match="must be True or False"):
        make(bad)


@pytest.mark.parametrize("make", [
    lambda v: nn.Dropout(v), lambda v: F.dropout(tg.randn(2), v), lambda v: F.cross_entropy(
        tg.randn(2, 3), np.array([0, 1]), label_smoothing=v),
])
def test_probabilities(make):
    make(np.float32(0.25)), make(0), make(1)
    for bad in (1.5, -0.1, math.nan, math.inf):
        with pytest.raises(ValueError, match=r"must be in \[0, 1\], got"):
            make(bad)
    for bad in (True, "0.5", None):
        with pytest.raises(TypeError, match="must be a real number"):
            make(bad)


@pytest.mark.parametrize("make", [
    lambda v: F.mse_loss(tg.randn(2), tg.randn(2), reduction=v),
    lambda v: F.cross_entropy(tg.randn(2, 3), np.array([0, 1]), reduction=v),
    lambda v: nn.init.kaiming_uniform_(tg.zeros(2, 2), mode=v),
    lambda v: _graph(5, direction=v),
])
def test_string_options(make):
    with pytest.raises(ValueError, match=r"must be '\w+'(, '\w+')* or '\w+', got 'avg'"):
        make("avg")
    for bad in (1, np.array(["mean"])):
        with pytest.raises(TypeError, match=r"must be '\w+'(, '\w+')* or '\w+', got"):
            make(bad)
