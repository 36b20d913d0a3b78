"""Module (PyTorch semantics: buffers, state_dict order, hooks, apply, named_modules, to/float/double, warnings)
and the containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict).

Every behaviour is asserted by hand (hand-written key lists, values, messages); a few tests also compare with
PyTorch when it is installed (``importorskip``)."""

from __future__ import annotations

import copy
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import nn
from tinygrad_cnn.nn import module as module_mod


def vec(*values, dtype=np.float32):
    return tg.Tensor(np.array(values, dtype=dtype))


class WithBuffers(nn.Module):
    """Own parameters, buffers (one non-persistent), then a child: PyTorch orders own params, own buffers, children."""

    def __init__(self):
        super().__init__()
        self.register_buffer("running", vec(0.0, 0.0))
        self.scale = nn.Parameter(np.ones(2, np.float32))
        self.child = nn.Linear(2, 2)
        self.register_buffer("scratch", vec(5.0), persistent=False)
        self.register_buffer("count", tg.Tensor(np.array(0, np.int64)))
        self.register_buffer("absent", None)

    def forward(self, x):
        return self.child(x) * self.scale + self.running


# ---- buffers --------------------------------------------------------------------------------------------------
def test_register_buffer_attribute_access_and_replacement():
    m = WithBuffers()
    assert isinstance(m.running, tg.Tensor) and not m.running.requires_grad
    np.testing.assert_array_equal(m.running.data, [0.0, 0.0])
    assert m.absent is None
    m.running = vec(1.0, 2.0)  # assigning a Tensor to a buffer name replaces it in the registry
    assert m._buffers["running"] is m.running and "running" not in m.__dict__
    np.testing.assert_array_equal(m.state_dict()["running"], [1.0, 2.0])
    m.running = None
    assert m.running is None and "running" not in m.state_dict()
    with pytest.raises(TypeError, match=r"WithBuffers.count is a buffer; assign a Tensor or None, not list"):
        m.count = [1]


def test_named_buffers_and_buffers():
    m = WithBuffers()
    assert [n for n, _ in m.named_buffers()] == ["running", "scratch", "count"]
    assert [n for n, _ in m.named_buffers(prefix="model")] == ["model.running", "model.scratch", "model.count"]
    outer = nn.Sequential(m, WithBuffers())
    assert [n for n, _ in outer.named_buffers()] == ["0.running", "0.scratch", "0.count", "1.running", "1.scratch",
                                                      "1.count"]
    assert list(outer.named_buffers(recurse=False)) == []
    assert [b is m.running for b in m.buffers()] == [True, False, False]


def test_state_dict_order_is_params_then_buffers_then_children_and_skips_non_persistent():
    m = WithBuffers()
    assert list(m.state_dict()) == ["scale", "running", "count", "child.weight", "child.bias"]
    state = m.state_dict()
    assert state["count"].dtype == np.int64 and state["count"].shape == ()
    state["running"][0] = 99.0  # copies, not views
    assert m.running.data[0] == 0.0
    kept = m.state_dict(keep_vars=True)
    assert kept["running"] is m.running and kept["scale"] is m.scale
    assert list(m.state_dict(prefix="net.")) == ["net.scale", "net.running", "net.count", "net.child.weight",
                                                 "net.child.bias"]


def test_register_buffer_errors_follow_pytorch():
    m = WithBuffers()
    with pytest.raises(KeyError, match="attribute 'scale' already exists"):
        m.register_buffer("scale", vec(1.0))
    with pytest.raises(KeyError, match=r"buffer name a\.b must not contain a dot"):
        m.register_buffer("a.b", vec(1.0))
    with pytest.raises(KeyError, match="buffer name must not be empty"):
        m.register_buffer("", vec(1.0))
    with pytest.raises(TypeError, match="buffer name should be a string"):
        m.register_buffer(3, vec(1.0))
    with pytest.raises(TypeError, match=r"register_buffer: 'x' must be a Tensor or None, got ndarray"):
        m.register_buffer("x", np.zeros(2))
    m.register_buffer("running", vec(7.0, 7.0), persistent=False)  # re-registering an existing buffer is allowed
    assert "running" not in m.state_dict()


def test_load_state_dict_covers_buffers_and_is_all_or_nothing():
    src, dst = WithBuffers(), WithBuffers()
    src.running = vec(3.0, 4.0)
    src.count = tg.Tensor(np.array(7, np.int64))
    result = dst.load_state_dict(src.state_dict())
    assert result == ([], []) and result.missing_keys == [] and result.unexpected_keys == []
    np.testing.assert_array_equal(dst.running.data, [3.0, 4.0])
    assert int(dst.count.data) == 7
    np.testing.assert_array_equal(dst.child.weight.data, src.child.weight.data)

    state = src.state_dict()
    del state["count"]
    state["other"] = np.zeros(1, np.float32)
    fresh = WithBuffers()
    with pytest.raises(ValueError, match=r"missing keys \['count'\] and unexpected keys \['other'\]"):
        fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.running.data, [0.0, 0.0])  # nothing written
    state = src.state_dict()
    state["running"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match=r"running: checkpoint shape \(3,\), model shape \(2,\)"):
        fresh.load_state_dict(state)
    np.testing.assert_array_equal(fresh.scale.data, [1.0, 1.0])
    state = src.state_dict()
    state["count"] = np.array(1.0)
    with pytest.raises(TypeError, match="count: checkpoint dtype float64, model dtype int64"):
        fresh.load_state_dict(state)
    missing, unexpected = fresh.load_state_dict({"running": np.ones(2, np.float32)}, strict=False)
    assert missing == ["scale", "count", "child.weight", "child.bias"] and unexpected == []
    np.testing.assert_array_equal(fresh.running.data, [1.0, 1.0])


def test_load_state_dict_bumps_the_version_of_a_buffer():
    m = WithBuffers()
    before = m.running._version
    m.load_state_dict(m.state_dict())
    assert m.running._version == before + 1


# ---- walking the tree -----------------------------------------------------------------------------------------
def tree():
    shared = nn.Linear(2, 2)
    return nn.Sequential(OrderedDict(a=shared, b=nn.Sequential(nn.ReLU(), shared), c=nn.Tanh())), shared


def test_named_modules_memo_prefix_and_duplicates():
    model, shared = tree()
    assert [n for n, _ in model.named_modules()] == ["", "a", "b", "b.0", "c"]
    assert [n for n, _ in model.named_modules(remove_duplicate=False)] == ["", "a", "b", "b.0", "b.1", "c"]
    assert [n for n, _ in model.named_modules(prefix="net")] == ["net", "net.a", "net.b", "net.b.0", "net.c"]
    memo = {shared}
    assert [n for n, _ in model.named_modules(memo=memo)] == ["", "b", "b.0", "c"]
    assert model in memo


def test_named_parameters_remove_duplicate_and_state_dict_lists_every_name():
    model, shared = tree()
    assert [n for n, _ in model.named_parameters()] == ["a.weight", "a.bias"]
    assert [n for n, _ in model.named_parameters(remove_duplicate=False)] == ["a.weight", "a.bias", "b.1.weight",
                                                                               "b.1.bias"]
    assert list(model.state_dict()) == ["a.weight", "a.bias", "b.1.weight", "b.1.bias"]  # as PyTorch: every name
    assert list(model.named_parameters(recurse=False)) == []
    assert [p is shared.weight for p in model.parameters()] == [True, False]


def test_get_submodule_parameter_buffer():
    outer = nn.Sequential(WithBuffers())
    assert outer.get_submodule("") is outer
    assert outer.get_submodule("0.child") is outer[0].child
    assert outer.get_parameter("0.child.weight") is outer[0].child.weight
    assert outer.get_buffer("0.running") is outer[0].running
    with pytest.raises(AttributeError, match="WithBuffers has no attribute `nope`"):
        outer.get_submodule("0.nope")
    with pytest.raises(AttributeError, match=r"`scale` is not an nn\.Module"):
        outer.get_submodule("0.scale")
    with pytest.raises(AttributeError, match=r"`running` is not an nn\.Parameter"):
        outer.get_parameter("0.running")
    with pytest.raises(AttributeError, match="`scale` is not a buffer"):
        outer.get_buffer("0.scale")


def test_apply_visits_children_first_then_self_and_returns_self():
    model = nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), nn.Tanh()))
    seen = []
    assert model.apply(lambda m: seen.append(type(m).__name__)) is model
    assert seen == ["Linear", "ReLU", "Tanh", "Sequential", "Sequential"]

    def zero_linear(m):
        if isinstance(m, nn.Linear):
            tg.nn.init.zeros_(m.weight)
    model.apply(zero_linear)
    assert not model[0].weight.data.any()


# ---- modes and gradients --------------------------------------------------------------------------------------
def test_train_calls_each_childs_train_and_rejects_non_bools():
    calls = []

    class Frozen(nn.Module):
        def train(self, mode=True):
            calls.append(mode)
            return super().train(False)  # e.g. a layer that stays in eval mode

    model = nn.Sequential(nn.Linear(1, 1), Frozen())
    model.train()
    assert calls == [True] and model.training and model[0].training and not model[1].training
    assert model.eval() is model and calls == [True, False]
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        model.train(1)


def test_requires_grad_and_zero_grad():
    model = nn.Linear(2, 1)
    assert model.requires_grad_(False) is model
    assert not any(p.requires_grad for p in model.parameters())
    model.requires_grad_()
    model(tg.ones(3, 2)).sum().backward()
    grad_before = model.weight.grad
    model.zero_grad(set_to_none=False)
    assert model.weight.grad is not None and model.weight.grad is not grad_before
    np.testing.assert_array_equal(model.weight.grad.data, np.zeros((1, 2)))
    model.zero_grad()
    assert model.weight.grad is None and model.bias.grad is None


# ---- hooks ----------------------------------------------------------------------------------------------------
def test_forward_pre_hook_can_replace_args_and_handle_removes_it():
    layer = nn.Identity()
    seen = []
    handle = layer.register_forward_pre_hook(lambda m, args: seen.append((m, args)) or (args[0] * 2,))
    out = layer(vec(1.0, 2.0))
    np.testing.assert_array_equal(out.data, [2.0, 4.0])
    assert seen[0][0] is layer and len(seen[0][1]) == 1
    single = layer.register_forward_pre_hook(lambda m, args: args[0] + 1)  # one value: wrapped in a tuple
    np.testing.assert_array_equal(layer(vec(1.0)).data, [3.0])
    handle.remove()
    handle.remove()  # twice is a no-op
    single.remove()
    np.testing.assert_array_equal(layer(vec(1.0)).data, [1.0])


def test_forward_hook_can_replace_output_runs_in_order_and_prepend():
    layer = nn.Linear(1, 1)
    order = []
    layer.register_forward_hook(lambda m, args, out: order.append("first"))
    layer.register_forward_hook(lambda m, args, out: order.append("second") or out * 0.0)
    layer.register_forward_hook(lambda m, args, out: order.append("zeroth"), prepend=True)
    out = layer(vec(3.0).reshape(1, 1))
    assert order == ["zeroth", "first", "second"]
    assert out.data.item() == 0.0


def test_hooks_with_kwargs_and_as_context_manager():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    m.register_forward_pre_hook(lambda mod, args, kwargs: (args, {"factor": 10.0}), with_kwargs=True)
    with m.register_forward_hook(lambda mod, args, kwargs, out: out + kwargs["factor"], with_kwargs=True):
        np.testing.assert_array_equal(m(vec(1.0)).data, [20.0])
    np.testing.assert_array_equal(m(vec(1.0)).data, [10.0])
    with pytest.raises(TypeError, match="hook must be callable"):
        m.register_forward_hook(3)


# ---- dtype and device -----------------------------------------------------------------------------------------
def test_to_double_float_cast_parameters_and_float_buffers_only():
    m = WithBuffers()
    weight = m.child.weight
    assert m.double() is m
    assert m.child.weight is weight and weight.dtype == np.float64 and m.running.dtype == np.float64
    assert m.count.dtype == np.int64  # integer buffers keep their dtype, as PyTorch
    m.to(np.float32)
    assert weight.dtype == np.float32 and m.scratch.dtype == np.float32
    assert m.to("cpu") is m and m.cpu() is m and m.to(device="cpu", dtype=np.float64) is m
    assert weight.dtype == np.float64
    m.to(tg.Tensor(np.zeros(1, np.float32)))
    assert weight.dtype == np.float32
    assert m.half().scale.dtype == np.float16
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        m.to("cuda")
    with pytest.raises(TypeError, match="floating point dtype"):
        m.to(np.int32)
    m.type(np.float64)
    assert m.count.dtype == np.float64 and weight.dtype == np.float64


def test_forward_after_double_gives_float64():
    layer = nn.Linear(3, 2).double()
    assert layer(tg.Tensor(np.ones((1, 3)))).dtype == np.float64


# ---- plain lists of modules -----------------------------------------------------------------------------------
def test_plain_list_or_dict_of_modules_warns_once_per_class_and_attribute():
    class Holder(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = [nn.Linear(2, 2)]
            self.heads = {"a": nn.Linear(2, 2)}
            self.sizes = [1, 2]  # no modules: no warning

    module_mod._WARNED.discard((Holder, "blocks"))
    with pytest.warns(UserWarning) as record:
        h = Holder()
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "Holder.blocks is a plain list of Modules" in messages[0] and "nn.ModuleList" in messages[0]
    assert "Holder.heads is a plain dict of Modules" in messages[1] and "nn.ModuleDict" in messages[1]
    assert list(h.parameters()) == []  # registers nothing, as PyTorch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Holder()  # once only


def test_plain_list_of_parameters_points_to_parameter_list():
    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = [nn.Parameter(np.zeros(1))]

    with pytest.warns(UserWarning, match=r"P.ws is a plain list of Parameters.*nn.ParameterList"):
        P()


# ---- Sequential -----------------------------------------------------------------------------------------------
def test_sequential_from_ordered_dict_indexing_and_slicing():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    seq = nn.Sequential(OrderedDict([("fc1", a), ("act", b), ("fc2", c)]))
    assert list(seq.state_dict()) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert seq[0] is a and seq[-1] is c and seq.fc2 is c and len(seq) == 3 and list(seq) == [a, b, c]
    part = seq[1:]
    assert isinstance(part, nn.Sequential) and list(part._modules) == ["act", "fc2"] and part[1] is c
    with pytest.raises(IndexError, match="index 3 is out of range"):
        seq[3]
    with pytest.raises(TypeError, match="integers or slices"):
        seq["fc1"]


def test_sequential_mutation_append_insert_extend_setitem_delitem_pop():
    r, t, s = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    seq = nn.Sequential(r)
    assert seq.append(t) is seq and list(seq._modules) == ["0", "1"]
    seq.insert(0, s)
    assert list(seq) == [s, r, t] and list(seq._modules) == ["0", "1", "2"]
    seq.insert(-1, s)
    assert list(seq) == [s, r, s, t]
    del seq[2]
    assert list(seq) == [s, r, t] and list(seq._modules) == ["0", "1", "2"]  # renumbered, as PyTorch
    del seq[0:2]
    assert list(seq) == [t] and list(seq._modules) == ["0"]
    seq.extend([r, s])
    seq[0] = s
    assert list(seq) == [s, r, s]
    assert seq.pop(1) is r and list(seq) == [s, s]
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        seq.append(3)
    with pytest.raises(IndexError, match="out of range"):
        seq.insert(5, r)
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        nn.Sequential(nn.ReLU(), 3)


def test_sequential_add_mul_forward():
    a, b = nn.Linear(2, 2), nn.ReLU()
    both = nn.Sequential(a) + nn.Sequential(b)
    assert list(both) == [a, b]
    twice = nn.Sequential(a) * 2
    assert list(twice) == [a, a] and len(list(twice.parameters())) == 2
    x = tg.Tensor(np.array([[1.0, -2.0]], np.float32))
    np.testing.assert_array_equal(both(x).data, np.maximum(a(x).data, 0))


# ---- ModuleList / ModuleDict ----------------------------------------------------------------------------------
def test_module_list():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
    assert list(layers.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    extra = nn.Linear(2, 3)
    layers += [extra]
    assert len(layers) == 3 and layers[-1] is extra and layers[2] is extra
    assert isinstance(layers[:2], nn.ModuleList) and len(layers[:2]) == 2
    layers.insert(1, nn.ReLU())
    assert [type(m).__name__ for m in layers] == ["Linear", "ReLU", "Linear", "Linear"]
    del layers[1]
    assert list(layers._modules) == ["0", "1", "2"]
    layers.append(nn.Tanh()).extend([nn.ReLU()])
    assert len(layers) == 5 and isinstance(layers.pop(), nn.ReLU)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 1)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    net = Net()
    assert list(net.state_dict()) == ["layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias"]
    assert net(tg.ones(3, 2)).shape == (3, 1)
    with pytest.raises(NotImplementedError, match="ModuleList defines no forward"):
        net.layers(tg.ones(1, 2))
    with pytest.raises(TypeError, match="iterable of Modules"):
        nn.ModuleList(3)


def test_module_dict():
    a, b = nn.Linear(1, 1), nn.ReLU()
    md = nn.ModuleDict({"a": a})
    md["b"] = b
    assert list(md) == ["a", "b"] and list(md.keys()) == ["a", "b"] and list(md.values()) == [a, b]
    assert "a" in md and "z" not in md and len(md) == 2 and md["a"] is a and md.a is a
    assert list(md.items()) == [("a", a), ("b", b)]
    md.update([("c", nn.Tanh())])
    md.update({"a": nn.Sigmoid()})
    assert list(md) == ["a", "b", "c"] and isinstance(md["a"], nn.Sigmoid)
    assert md.pop("b") is b and list(md) == ["a", "c"]
    with pytest.raises(KeyError):
        md["b"]
    with pytest.raises(KeyError, match="attribute 'keys' already exists"):
        md["keys"] = nn.ReLU()
    with pytest.raises(ValueError, match="should be a \\(key, module\\) pair"):
        md.update([nn.ReLU()])
    md.clear()
    assert len(md) == 0
    outer = nn.ModuleDict({"enc": nn.Linear(2, 2)})
    assert list(outer.state_dict()) == ["enc.weight", "enc.bias"]


# ---- ParameterList / ParameterDict ----------------------------------------------------------------------------
def test_parameter_list():
    p = nn.Parameter(np.zeros((2, 3), np.float32))
    pl = nn.ParameterList([p, tg.ones(2)])
    assert pl[0] is p and isinstance(pl[1], nn.Parameter) and pl[1].requires_grad and len(pl) == 2
    assert list(pl.state_dict()) == ["0", "1"] and [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(tg.zeros(1))
    pl += [tg.zeros(4)]
    assert len(pl) == 4 and isinstance(pl[1:], nn.ParameterList) and len(pl[1:]) == 3
    q = nn.Parameter(np.ones(1, np.float32))
    pl[-1] = q
    assert pl[3] is q and list(pl)[3] is q
    assert repr(nn.ParameterList([p, q])) == ("ParameterList(\n  (0): Parameter containing: [float32 of size 2x3]\n"
                                              "  (1): Parameter containing: [float32 of size 1]\n)")
    with pytest.raises(TypeError, match="expected a Parameter or a Tensor, got int"):
        pl.append(3)

    class Mix(nn.Module):
        def __init__(self):
            super().__init__()
            self.ws = nn.ParameterList([tg.ones(1), tg.ones(2)])

    assert list(Mix().state_dict()) == ["ws.0", "ws.1"]


def test_parameter_dict():
    pd = nn.ParameterDict({"w": tg.ones(2)})
    pd["b"] = nn.Parameter(np.zeros(1, np.float32))
    assert list(pd) == ["w", "b"] and "w" in pd and isinstance(pd["w"], nn.Parameter) and pd.w is pd["w"]
    assert list(pd.state_dict()) == ["w", "b"] and pd.get("nope") is None
    pd.update([("c", tg.ones(3))])
    assert [k for k, _ in pd.items()] == ["w", "b", "c"] and len(list(pd.values())) == 3
    pd["w"] = tg.zeros(2)
    assert list(pd) == ["w", "b", "c"] and not pd["w"].data.any()
    assert pd.pop("b").shape == (1,) and list(pd.keys()) == ["w", "c"]
    assert repr(nn.ParameterDict({"a": tg.ones(2)})) == "ParameterDict((a): Parameter containing: [float32 of size 2])"


def test_containers_deepcopy():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2) if hasattr(nn, "BatchNorm1d") else nn.ReLU())
    clone = copy.deepcopy(model)
    assert list(clone.state_dict()) == list(model.state_dict())
    assert clone[0].weight is not model[0].weight
    np.testing.assert_array_equal(clone[0].weight.data, model[0].weight.data)


# ---- against PyTorch ------------------------------------------------------------------------------------------
def test_state_dict_keys_match_pytorch():
    torch = pytest.importorskip("torch")

    class Ours(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", vec(0.0))
            self.blocks = nn.ModuleList([nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.Linear(2, 2)])
            self.heads = nn.ModuleDict({"cls": nn.Linear(2, 3)})
            self.gain = nn.Parameter(np.ones(1, np.float32))
            self.extra = nn.ParameterList([tg.ones(1)])
            self.register_buffer("tmp", vec(0.0), persistent=False)

    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.zeros(1))
            self.blocks = torch.nn.ModuleList([torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.ReLU()),
                                               torch.nn.Linear(2, 2)])
            self.heads = torch.nn.ModuleDict({"cls": torch.nn.Linear(2, 3)})
            self.gain = torch.nn.Parameter(torch.ones(1))
            self.extra = torch.nn.ParameterList([torch.ones(1)])
            self.register_buffer("tmp", torch.zeros(1), persistent=False)

    ours, theirs = Ours(), Theirs()
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]


def test_sequential_delete_and_insert_match_pytorch():
    torch = pytest.importorskip("torch")
    ours = nn.Sequential(nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ReLU())
    theirs = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid(), torch.nn.ReLU())
    for seq in (ours, theirs):
        del seq[1]
        seq.insert(1, type(seq[0])())
        del seq[-2:]
    assert list(ours._modules) == list(theirs._modules)
    assert [type(m).__name__ for m in ours] == [type(m).__name__ for m in theirs]
