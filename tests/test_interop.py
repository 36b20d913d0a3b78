"""The ways out: PyTorch state dicts both ways (``tinygrad_cnn.interop``) and DLPack exchange (``Tensor.__dlpack__``,
``tg.from_dlpack``, ``tg.utils.dlpack``).

The tests that need PyTorch take the ``torch`` fixture, which skips them when it is not installed; the rest (DLPack
with NumPy, the errors raised before PyTorch is imported, the missing-PyTorch message) always run. With PyTorch,
each model is trained a few steps on one side, loaded on the other, and must give the same logits (float32, 1e-5),
and one more SGD step on each side from the same weights must give the same loss.
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_cnn as tg
from tinygrad_cnn import interop, models
from tinygrad_cnn import nn as tnn
from tinygrad_cnn.nn import functional as F


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def _images(n: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 1, 28, 28)).astype(np.float32), rng.integers(0, 10, n)


def _train_here(model: tnn.Module, steps: int = 3, seed: int = 1) -> None:
    """A few SGD steps on random data, so the weights (and BatchNorm's running statistics) are not at init."""
    opt = tg.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for step in range(steps):
        x, y = _images(8, seed + step)
        opt.zero_grad()
        F.cross_entropy(model(tg.tensor(x)), tg.tensor(y)).backward()
        opt.step()


def _train_there(torch, model, steps: int = 3, seed: int = 1) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    model.train()
    for step in range(steps):
        x, y = _images(8, seed + step)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y)).backward()
        opt.step()


# ---- the torch twins of models.SeedCNN and models.LeNet5 (ResNet8's is benchmarks.cases.torch_resnet8) ----------
def torch_seed_cnn(torch):
    nn = torch.nn

    class SeedCNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(1, 2, kernel_size=5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(2 * 12 * 12, 60)
            self.fc2 = nn.Linear(60, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv(x))).flatten(1)
            return self.fc2(torch.relu(self.fc1(x)))

    return SeedCNN()


def torch_lenet5(torch):
    nn = torch.nn

    class LeNet5(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(16 * 5 * 5, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, x):
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x))).flatten(1)
            return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))

    return LeNet5()


def torch_twin(torch, name: str):
    if name == "resnet8":
        from benchmarks.cases import torch_resnet8
        return torch_resnet8(torch)
    return {"seed": torch_seed_cnn, "lenet5": torch_lenet5}[name](torch)


MODEL_NAMES = ["seed", "lenet5", "resnet8"]


def _logits_here(model: tnn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    with tg.no_grad():
        return model(tg.tensor(x)).data


def _logits_there(torch, model, x: np.ndarray) -> np.ndarray:
    model.eval()
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


# ---- state dicts: names and layouts -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_model_state_dicts_have_pytorchs_names_shapes_and_dtypes(torch, name):
    ours, theirs = models.create_model(name).state_dict(), torch_twin(torch, name).state_dict()
    assert list(ours) == list(theirs)
    for key, value in theirs.items():
        assert ours[key].shape == tuple(value.shape), key
        assert ours[key].dtype == value.numpy().dtype, key


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_trained_here_gives_the_same_logits_in_pytorch(torch, name):
    torch.manual_seed(0)
    tg.manual_seed(0)
    ours = models.create_model(name)
    _train_here(ours)
    theirs = torch_twin(torch, name)
    result = theirs.load_state_dict(interop.to_torch_state_dict(ours.state_dict()))
    assert not result.missing_keys and not result.unexpected_keys
    x, _ = _images(16, seed=99)
    expected = _logits_here(ours, x)
    np.testing.assert_allclose(_logits_there(torch, theirs, x), expected, rtol=1e-5, atol=1e-5)
    if name == "resnet8":  # the running statistics came across too, and num_batches_tracked as int64
        assert int(theirs.bn1.num_batches_tracked) == 3
        np.testing.assert_array_equal(theirs.bn1.running_mean.numpy(), ours.bn1.running_mean.data)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_trained_in_pytorch_gives_the_same_logits_here(torch, name):
    torch.manual_seed(1)
    theirs = torch_twin(torch, name)
    _train_there(torch, theirs)
    ours = models.create_model(name)
    ours.load_state_dict(interop.from_torch_state_dict(theirs.state_dict()))
    x, _ = _images(16, seed=98)
    np.testing.assert_allclose(_logits_here(ours, x), _logits_there(torch, theirs, x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_round_trip_through_pytorch_is_exact(torch, name):
    model = models.create_model(name)
    _train_here(model, steps=2)
    before = model.state_dict()
    back = interop.from_torch_state_dict(interop.to_torch_state_dict(before))
    assert list(back) == list(before)
    for key in before:
        assert back[key].dtype == before[key].dtype and back[key].shape == before[key].shape
        np.testing.assert_array_equal(back[key], before[key])
    fresh = models.create_model(name)
    fresh.load_state_dict(back)
    x, _ = _images(4, seed=5)
    np.testing.assert_array_equal(_logits_here(fresh, x), _logits_here(model, x))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_training_continues_in_pytorch_with_the_same_losses(torch, name):
    """From the same weights, SGD with momentum takes the same steps on both sides (train mode: BatchNorm uses
    the batch statistics), so the losses agree step for step."""
    ours = models.create_model(name)
    _train_here(ours, steps=2)
    theirs = torch_twin(torch, name)
    theirs.load_state_dict(interop.to_torch_state_dict(ours.state_dict()))
    opt_here = tg.optim.SGD(ours.parameters(), lr=0.05, momentum=0.9)
    opt_there = torch.optim.SGD(theirs.parameters(), lr=0.05, momentum=0.9)
    ours.train()
    theirs.train()
    for step in range(3):
        x, y = _images(8, seed=50 + step)
        opt_here.zero_grad()
        opt_there.zero_grad()
        loss_here = F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y))
        loss_there = torch.nn.functional.cross_entropy(theirs(torch.from_numpy(x)), torch.from_numpy(y))
        loss_here.backward()
        loss_there.backward()
        opt_here.step()
        opt_there.step()
        assert loss_here.item() == pytest.approx(loss_there.item(), rel=1e-5, abs=1e-6)
    after = interop.from_torch_state_dict(theirs.state_dict())
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(after[key], value, rtol=1e-4, atol=1e-5, err_msg=key)


# every layer with parameters or buffers, built with the same arguments on both sides: (class, args, kwargs, input)
LAYERS = [
    ("Linear", (5, 3), {}, (4, 5)),
    ("Linear", (5, 3), {"bias": False}, (2, 4, 5)),
    ("Conv1d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2}, (2, 4, 9)),
    ("Conv2d", (4, 6, 3), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2}, (2, 4, 9, 9)),
    ("ConvTranspose1d", (4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (2, 4, 5)),
    ("ConvTranspose2d", (4, 6, 3), {"stride": 2, "padding": 1, "groups": 2, "dilation": 2}, (2, 4, 5, 5)),
    ("BatchNorm1d", (4,), {}, (6, 4)),
    ("BatchNorm1d", (4,), {"affine": False}, (6, 4, 3)),
    ("BatchNorm2d", (4,), {}, (3, 4, 5, 5)),
    ("BatchNorm2d", (4,), {"track_running_stats": False}, (3, 4, 5, 5)),
    ("BatchNorm3d", (4,), {"momentum": None}, (2, 4, 3, 3, 3)),
    ("LayerNorm", ((3, 4),), {}, (2, 5, 3, 4)),
    ("LayerNorm", (4,), {"bias": False}, (2, 4)),
    ("LayerNorm", (4,), {"elementwise_affine": False}, (2, 4)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 4)),
    ("InstanceNorm1d", (4,), {"affine": True, "track_running_stats": True}, (2, 4, 7)),
    ("InstanceNorm2d", (4,), {"affine": True}, (2, 4, 5, 5)),
    ("InstanceNorm3d", (4,), {"track_running_stats": True}, (2, 4, 3, 3, 3)),
    ("RMSNorm", ((3, 4),), {}, (2, 3, 4)),
    ("Embedding", (10, 3), {"padding_idx": 0}, None),
    ("PReLU", (4,), {}, (2, 4, 3)),
    ("PReLU", (), {}, (2, 4, 3)),
]


@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS,
                         ids=[f"{c[0]}-{'-'.join(f'{k}={v}' for k, v in c[2].items())}" for c in LAYERS])
def test_layer_state_dict_is_pytorchs_layout(torch, name, args, kwargs, shape):
    """Same keys, order, shapes and dtypes; our (perturbed) weights loaded into PyTorch's layer compute the same
    output in train and eval mode; and the running statistics it then updates come back equal."""
    rng = np.random.default_rng(len(name) + len(kwargs))
    ours, theirs = getattr(tnn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)
    state = {k: (v + 0.1 * rng.standard_normal(v.shape).astype(v.dtype) if v.dtype.kind == "f" else v + 3)
             for k, v in ours.state_dict().items()}
    ours.load_state_dict({k: np.asarray(v) for k, v in state.items()})
    reference = theirs.state_dict()
    assert list(state) == list(reference)
    for key, value in reference.items():
        assert (state[key].shape, state[key].dtype) == (tuple(value.shape), value.numpy().dtype), key
    theirs.load_state_dict(interop.to_torch_state_dict(ours.state_dict()))
    x = rng.integers(0, 10, (3, 4)) if shape is None else rng.standard_normal(shape).astype(np.float32)
    for mode in ("train", "eval"):
        getattr(ours, mode)()
        getattr(theirs, mode)()
        with torch.no_grad():
            expected = theirs(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(ours(tg.tensor(x)).data, expected, rtol=1e-5, atol=1e-5, err_msg=mode)
    back = interop.from_torch_state_dict(theirs.state_dict())
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(back[key], value, rtol=1e-6, atol=1e-6, err_msg=key)


def test_containers_keep_pytorchs_keys(torch):
    ours = tnn.ModuleDict({"body": tnn.Sequential(tnn.Linear(2, 3), tnn.ReLU(), tnn.Linear(3, 1)),
                           "extra": tnn.ModuleList([tnn.BatchNorm1d(3)])})
    ours.add_module("params", tnn.ParameterList([tnn.Parameter(np.ones(2, np.float32))]))
    ours.add_module("named", tnn.ParameterDict({"scale": tnn.Parameter(np.ones(3, np.float32))}))
    theirs = torch.nn.ModuleDict({"body": torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(),
                                                             torch.nn.Linear(3, 1)),
                                  "extra": torch.nn.ModuleList([torch.nn.BatchNorm1d(3)])})
    theirs.add_module("params", torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2))]))
    theirs.add_module("named", torch.nn.ParameterDict({"scale": torch.nn.Parameter(torch.ones(3))}))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "named.scale" in ours.state_dict() and "extra.0.running_var" in ours.state_dict()
    theirs.load_state_dict(interop.to_torch_state_dict(ours.state_dict()))


# ---- to_torch_state_dict / from_torch_state_dict: values and errors ----------------------------------------------
def test_to_torch_copies_into_contiguous_cpu_tensors(torch):
    model = tnn.Linear(3, 2)
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    state = {"a": base[:, ::-2], "b": model.weight, "c": np.broadcast_to(np.float32(2), (2, 3)),
             "n": np.array(7, np.int64), "m": np.array([True, False]), "s": np.float16(1.5)}
    out = interop.to_torch_state_dict(state)
    assert type(out) is dict and list(out) == list(state)
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.is_contiguous() and not value.requires_grad
        np.testing.assert_array_equal(value.numpy(), np.asarray(getattr(state[key], "data", state[key])))
    assert out["a"].dtype == torch.float64 and out["n"].dtype == torch.int64 and out["n"].shape == ()
    assert out["m"].dtype == torch.bool and out["s"].dtype == torch.float16
    out["b"][0, 0] = 99.0  # a copy: the model is untouched
    assert model.weight.data[0, 0] != 99.0
    assert not np.shares_memory(out["a"].numpy(), base)


def test_from_torch_detaches_copies_and_keeps_dtypes(torch):
    linear = torch.nn.Linear(3, 2)
    bn = torch.nn.BatchNorm1d(2)
    base = torch.arange(12.0).reshape(3, 4)
    state = OrderedDict([("w", linear.weight), ("t", base.t()), ("e", torch.tensor(1.5).expand(2, 2)),
                         ("h", torch.ones(2, dtype=torch.float16)), ("d", torch.ones(2, dtype=torch.float64)),
                         ("nbt", bn.num_batches_tracked), ("i", torch.arange(3, dtype=torch.int32))])
    out = interop.from_torch_state_dict(state)
    assert list(out) == list(state)
    for key, value in out.items():
        assert isinstance(value, np.ndarray) and value.flags.c_contiguous and value.flags.writeable, key
        assert not np.shares_memory(value, state[key].detach().numpy()), key
        np.testing.assert_array_equal(value, state[key].detach().numpy())
    assert out["w"].dtype == np.float32 and out["h"].dtype == np.float16 and out["d"].dtype == np.float64
    assert out["nbt"].dtype == np.int64 and out["nbt"].shape == () and out["i"].dtype == np.int32
    out["t"][0, 0] = -1.0
    assert base[0, 0] == 0.0


def test_from_torch_keep_vars_and_metadata(torch):
    """A keep_vars=True dict holds parameters that require grad; PyTorch's _metadata attribute is not carried."""
    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    state = net.state_dict(keep_vars=True)
    assert state["0.weight"].requires_grad and hasattr(net.state_dict(), "_metadata")
    out = interop.from_torch_state_dict(state)
    assert not hasattr(out, "_metadata") and "_metadata" not in out
    ours = tnn.Sequential(tnn.Conv2d(1, 2, 3), tnn.BatchNorm2d(2))
    ours.load_state_dict(out)
    np.testing.assert_array_equal(ours[0].weight.data, net[0].weight.detach().numpy())


def test_from_torch_bfloat16_widens_exactly_and_dtype_casts_floats_only(torch):
    values = torch.tensor([1.0, -2.5, 3.140625, 1e-3], dtype=torch.bfloat16)
    out = interop.from_torch_state_dict({"b": values, "n": torch.tensor(5), "d": torch.ones(2, dtype=torch.float64)})
    assert out["b"].dtype == np.float32
    np.testing.assert_array_equal(out["b"], values.float().numpy())
    cast = interop.from_torch_state_dict({"h": torch.ones(2, dtype=torch.float16), "n": torch.tensor(5),
                                          "d": torch.ones(2, dtype=torch.float64)}, dtype=tg.float32)
    assert {k: v.dtype for k, v in cast.items()} == {"h": np.float32, "n": np.int64, "d": np.float32}
    with pytest.raises(TypeError, match="from_torch_state_dict: dtype must be a float dtype"):
        interop.from_torch_state_dict({"n": torch.tensor(5)}, dtype=tg.int64)


def test_from_torch_refuses_what_has_no_array_here(torch):
    with pytest.raises(TypeError, match=r"'z' has dtype torch.complex64"):
        interop.from_torch_state_dict({"z": torch.ones(2, dtype=torch.complex64)})
    with pytest.raises(TypeError, match=r"'x' is a dict, not a tensor .*drop the key"):
        interop.from_torch_state_dict({"w": torch.ones(1), "x": {"extra": 1}})
    with pytest.raises(TypeError, match=r"'s' is a torch.sparse_coo .*to_dense"):
        interop.from_torch_state_dict({"s": torch.eye(2).to_sparse()})
    with pytest.raises(TypeError, match=r"'m' is on the meta device"):
        interop.from_torch_state_dict({"m": torch.empty(2, device="meta")})
    with pytest.raises(TypeError, match=r"got the module Linear itself; pass torch_model.state_dict\(\)"):
        interop.from_torch_state_dict(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"'f8' has dtype torch.float8_e4m3fn, which NumPy cannot hold"):
        interop.from_torch_state_dict({"f8": torch.zeros(2, dtype=torch.float8_e4m3fn)})


def test_to_torch_errors_come_before_pytorch_is_needed(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    with pytest.raises(TypeError, match=r"got the module Linear itself; pass model.state_dict\(\)"):
        interop.to_torch_state_dict(tnn.Linear(2, 2))
    with pytest.raises(TypeError, match=r"expected a state dict .*got list"):
        interop.to_torch_state_dict([np.ones(2)])
    with pytest.raises(TypeError, match=r"keys must be strings .*\[0\]"):
        interop.to_torch_state_dict({0: np.ones(2)})
    with pytest.raises(TypeError, match=r"'w' is a list; expected a NumPy array or a Tensor"):
        interop.to_torch_state_dict({"w": [1.0, 2.0]})
    with pytest.raises(TypeError, match=r"'z' has dtype complex128, which has no PyTorch equivalent"):
        interop.to_torch_state_dict({"z": np.ones(2, complex)})
    with pytest.raises(TypeError, match=r"'w' has dtype >f4"):
        interop.to_torch_state_dict({"w": np.ones(2, ">f4")})
    assert interop.from_torch_state_dict({}) == {}


def test_missing_pytorch_says_how_to_install_a_cpu_build(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    for call in (lambda: interop.to_torch_state_dict({"w": np.ones(2, np.float32)}),
                 lambda: interop.from_torch_state_dict({"w": object()})):
        with pytest.raises(ImportError, match="needs PyTorch, which is not installed") as info:
            call()
        message = str(info.value)
        assert "a CPU build of PyTorch" in message
        assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in message


# ---- DLPack with NumPy (always run) --------------------------------------------------------------------------------
def test_numpy_shares_memory_both_ways():
    t = tg.arange(6.0).reshape(2, 3)
    a = np.from_dlpack(t)
    assert np.shares_memory(a, t.data) and a.dtype == t.dtype and a.shape == t.shape
    a[0, 0] = 10.0
    assert t[0, 0].item() == 10.0
    t.add_(1.0)  # an in-place op here writes the same memory
    assert a[1, 2] == 6.0
    b = np.arange(4, dtype=np.int32)
    u = tg.from_dlpack(b)
    assert isinstance(u, tg.Tensor) and u.dtype == np.int32 and np.shares_memory(u.data, b)
    b[1] = -7
    assert u.tolist() == [0, -7, 2, 3]
    assert t.__dlpack_device__() == (1, 0)


def test_a_tensor_that_requires_grad_exports_detached_data():
    w = tg.ones(3, requires_grad=True)
    y = (w * 2).sum()
    a = np.from_dlpack(w)
    assert np.shares_memory(a, w.data)
    u = tg.from_dlpack(w)
    assert not u.requires_grad and u.is_leaf and np.shares_memory(u.data, w.data)
    y.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 2.0, 2.0])


def test_in_place_checks_see_aliases_made_here_but_not_writes_made_elsewhere():
    x = tg.ones(3, requires_grad=True)
    y = x * x  # saves x for backward
    tg.from_dlpack(x).mul_(2.0)  # an alias made here: the same array, so the write is recorded
    with pytest.raises(RuntimeError, match="modified in place after the forward pass saved it"):
        y.sum().backward()
    x = tg.ones(3, requires_grad=True)
    y = x * x
    outside = np.from_dlpack(x)
    outside *= 2.0  # NumPy's write is not recorded: the gradient is computed from the new values (documented)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 4.0, 4.0])


def test_negative_strides_and_read_only_views_are_exported_as_copies():
    t = tg.arange(6.0).reshape(2, 3)
    flipped = t.flip(1)
    assert flipped.data.strides[1] < 0
    a = np.from_dlpack(flipped)
    np.testing.assert_array_equal(a, flipped.data)
    assert not np.shares_memory(a, t.data) and all(s > 0 for s in a.strides)
    with pytest.raises(BufferError, match=r"__dlpack__: .*shape \(2, 3\) .*negative strides.*copy=None"):
        flipped.__dlpack__(copy=False)
    expanded = t[0].expand(4, 3)
    assert not expanded.data.flags.writeable
    shared = np.from_dlpack(expanded)  # NumPy asks for DLPack 1.x, which marks the array read-only: shared
    assert np.shares_memory(shared, t.data) and not shared.flags.writeable
    legacy = tg.utils.dlpack.to_dlpack(expanded)  # the unversioned capsule cannot say read-only: a copy
    copied = tg.from_dlpack(legacy)
    np.testing.assert_array_equal(copied.data, expanded.data)
    assert not np.shares_memory(copied.data, t.data)
    with pytest.raises(BufferError, match="read-only and this DLPack version cannot mark it so"):
        expanded.__dlpack__(copy=False)


def test_copy_argument():
    t = tg.arange(4.0)
    assert not np.shares_memory(np.from_dlpack(t, copy=True), t.data)
    assert np.shares_memory(np.from_dlpack(t, copy=False), t.data)
    a = np.arange(3.0)
    assert not np.shares_memory(tg.from_dlpack(a, copy=True).data, a)
    assert np.shares_memory(tg.from_dlpack(a, copy=False).data, a)
    capsule = tg.utils.dlpack.to_dlpack(t)
    assert not np.shares_memory(tg.from_dlpack(capsule, copy=True).data, t.data)


def test_capsules_round_trip_and_utils_dlpack():
    t = tg.arange(5, dtype=tg.int64)
    u = tg.utils.dlpack.from_dlpack(tg.utils.dlpack.to_dlpack(t))
    assert u.dtype == np.int64 and np.shares_memory(u.data, t.data)
    assert tg.utils.dlpack.from_dlpack is tg.from_dlpack
    with pytest.raises(TypeError, match="to_dlpack: expected a Tensor, got ndarray"):
        tg.utils.dlpack.to_dlpack(np.ones(2))


class _Producer:
    """A DLPack producer on a device of our choosing, backed by a NumPy array."""

    def __init__(self, array, device=(1, 0), error=None):
        self.array, self.device, self.error, self.dtype = array, device, error, array.dtype

    def __dlpack__(self, **kwargs):
        if self.error is not None:
            raise self.error
        return self.array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self.device


def test_from_dlpack_errors():
    with pytest.raises(RuntimeError, match=r"from_dlpack: .*DLPack device CUDA:1, .*CPU only; move it to the CPU"):
        tg.from_dlpack(_Producer(np.ones(2), device=(2, 1)))
    with pytest.raises(TypeError, match=r"expected an object with __dlpack__ .*got list; .*tg\.tensor"):
        tg.from_dlpack([1.0, 2.0])
    with pytest.raises(BufferError, match=r"refused to export its data .*nope"):
        tg.from_dlpack(_Producer(np.ones(2), error=BufferError("nope")))
    with pytest.raises(TypeError, match="holds complex128 data"):
        tg.from_dlpack(np.ones(2, complex))
    with pytest.raises(RuntimeError, match="from_dlpack: device 'cuda' is not available"):
        tg.from_dlpack(np.ones(2), device="cuda")
    t = tg.ones(2)
    with pytest.raises(BufferError, match="__dlpack__: the data is on the CPU, which has no streams"):
        t.__dlpack__(stream=1)
    with pytest.raises(BufferError, match=r"cannot export to device \(2, 0\)"):
        t.__dlpack__(dl_device=(2, 0))
    assert np.from_dlpack(t, device="cpu").shape == (2,)


DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_]


@st.composite
def strided_arrays(draw):
    """An array of a random dtype and shape, viewed through random steps (negative ones too) and a random
    transpose: every kind of stride a tensor's data can have."""
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(st.lists(st.integers(0, 4), min_size=0, max_size=4))
    base = (np.arange(int(np.prod(shape)) + 1)[1:] % 7).astype(dtype).reshape(shape)
    steps = tuple(draw(st.sampled_from([1, 2, -1, -2])) for _ in shape)
    view = base[(*(slice(None, None, s) for s in steps), Ellipsis)]  # a view, 0-d too
    order = draw(st.permutations(range(view.ndim)))
    return base, view.transpose(order)


@given(strided_arrays())
def test_dlpack_round_trips_any_strides_and_dtype(arrays):
    base, view = arrays
    t = tg.from_dlpack(view)
    assert t.dtype == view.dtype and t.shape == view.shape and np.shares_memory(t.data, base) == (view.size > 0)
    out = np.from_dlpack(t)
    np.testing.assert_array_equal(out, view)
    negative = any(s < 0 for s, n in zip(view.strides, view.shape) if n > 1)
    if view.size and not negative:
        assert np.shares_memory(out, base)
    through = tg.from_dlpack(_Producer(view))  # through the protocol, as from any other producer
    np.testing.assert_array_equal(through.data, view)
    assert through.dtype == view.dtype and np.shares_memory(through.data, base) == (view.size > 0)


# ---- DLPack with PyTorch ------------------------------------------------------------------------------------------
def test_pytorch_shares_memory_both_ways(torch):
    t = tg.arange(6.0).reshape(2, 3).requires_grad_()
    p = torch.from_dlpack(t)
    assert not p.requires_grad and p.dtype == torch.float32 and tuple(p.shape) == (2, 3)
    assert p.data_ptr() == t.data_ptr()
    p[0, 1] = 42.0
    assert t.data[0, 1] == 42.0
    q = torch.arange(4.0)
    u = tg.from_dlpack(q)
    assert u.data_ptr() == q.data_ptr() and not u.requires_grad
    q.mul_(3)
    assert u.tolist() == [0.0, 3.0, 6.0, 9.0]
    u.add_(1.0)
    assert q.tolist() == [1.0, 4.0, 7.0, 10.0]
    v = tg.from_dlpack(torch.arange(12).reshape(3, 4).t())  # a transposed view keeps its strides
    assert v.data.strides == (8, 32) and v.tolist() == np.arange(12).reshape(3, 4).T.tolist()


def test_pytorch_capsules_and_flipped_views(torch):
    q = torch.arange(3, dtype=torch.int16)
    u = tg.from_dlpack(torch.utils.dlpack.to_dlpack(q))
    assert u.dtype == np.int16 and u.data_ptr() == q.data_ptr()
    t = tg.arange(6.0).reshape(2, 3)
    assert torch.from_dlpack(tg.utils.dlpack.to_dlpack(t)).data_ptr() == t.data_ptr()
    flipped = torch.from_dlpack(t.flip(0))  # PyTorch cannot take negative strides: it gets a copy
    np.testing.assert_array_equal(flipped.numpy(), t.flip(0).data)
    assert torch.from_dlpack(t.expand(2, 2, 3)).stride() == (0, 3, 1)
    assert torch.from_dlpack(t, device="cpu").data_ptr() == t.data_ptr()  # dl_device=(kDLCPU, 0)
    assert torch.from_dlpack(t, copy=True).data_ptr() != t.data_ptr()
    with pytest.raises(BufferError, match="negative strides"):
        torch.from_dlpack(t.flip(0), copy=False)


def test_pytorch_producers_that_cannot_export(torch):
    with pytest.raises(BufferError, match=r"torch.Tensor refused .*require gradient.*pass t.detach\(\)"):
        tg.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match=r"torch.bfloat16.*convert first \(PyTorch: t.float\(\)\)"):
        tg.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    with pytest.raises(TypeError, match="holds complex64 data"):
        tg.from_dlpack(torch.ones(2, dtype=torch.complex64))


@given(strided_arrays())
def test_pytorch_takes_any_of_our_tensors(arrays):
    torch = pytest.importorskip("torch")
    _, view = arrays
    t = tg.from_dlpack(view)
    p = torch.from_dlpack(t)
    np.testing.assert_array_equal(p.numpy(), view)
    back = tg.from_dlpack(p)
    np.testing.assert_array_equal(back.data, view)


# ---- docs/outgrow.md: the blocks that need PyTorch run here (tests/test_docs.py runs the plain python ones) ---------
PAGE = Path(__file__).resolve().parents[1] / "docs" / "outgrow.md"
MARKER = "<!-- runs with PyTorch: tests/test_interop.py -->"
BLOCK = re.compile(r"^(" + re.escape(MARKER) + r"\n)?```(python|py)\n(.*?)^```", re.S | re.M)


def _pytorch_sections() -> list[tuple[bool, str, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [(bool(m), lang, body) for m, lang, body in BLOCK.findall(text[text.index("## Continue in PyTorch"):])]


def test_the_page_marks_blocks_that_need_pytorch():
    blocks = _pytorch_sections()
    marked = [body for m, lang, body in blocks if m]
    assert len(marked) >= 4 and all(lang == "py" for m, lang, _ in blocks if m)
    assert not any("import torch" in body for m, lang, body in blocks if lang == "python"), \
        "a ```python block imports torch: test_docs runs it without PyTorch; mark it as a ```py block that runs here"


def test_the_pages_pytorch_blocks_run(torch, tmp_path, monkeypatch):
    """The python blocks and the marked py blocks from "Continue in PyTorch" on, in order, in one namespace (as
    tests/test_docs.py runs a page); the unmarked py blocks (GPUs, torchrun) are left out."""
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__docs__"}
    for number, (marked, lang, body) in enumerate(_pytorch_sections(), 1):
        if lang == "python" or marked:
            try:
                exec(compile(body, f"outgrow.md block {number}", "exec"), namespace)
            except Exception as err:
                raise AssertionError(f"docs/outgrow.md, block {number} (from Continue in PyTorch) failed: "
                                     f"{err!r}") from err
    assert namespace["twin"].fc1.weight.shape == (60, 288)
