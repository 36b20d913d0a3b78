"""nn: Module registration and traversal, Parameter, layers, state dicts, train/eval, repr, and nn.init."""

import math

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn
from tinygrad_cnn.nn import init
from tinygrad_cnn.serialization import load, save


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.scale = nn.Parameter(np.ones(4, np.float32))
        self.label = "not registered"

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = Block()
        self.head = nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2, bias=False))

    def forward(self, x):
        return self.head(self.block(x))


def count(module):
    return sum(p.size for p in module.parameters())


# ---- Parameter ---------------------------------------------------------------------------------------------
def test_parameter_is_a_float_leaf_that_requires_grad():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, tc.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32
    assert nn.Parameter(np.zeros(2, np.float64)).dtype == np.float64
    assert nn.Parameter(np.arange(3)).dtype == np.float32
    assert not nn.Parameter(np.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")


def test_parameter_shares_a_tensors_data():
    t = tc.Tensor(np.zeros(3, np.float32))
    assert nn.Parameter(t).data is t.data


# ---- registration and traversal ----------------------------------------------------------------------------
def test_named_parameters_follow_assignment_order_with_dotted_names():
    # as PyTorch: modules in pre-order, each module's own parameters before its children's
    net = Net()
    assert [name for name, _ in net.named_parameters()] == [
        "block.scale", "block.fc.weight", "block.fc.bias", "head.0.weight", "head.0.bias", "head.2.weight"]
    assert [p.shape for p in net.parameters()] == [(4,), (4, 3), (4,), (5, 4), (5,), (2, 5)]
    assert count(net) == 12 + 4 + 4 + 20 + 5 + 10


def test_children_and_modules():
    net = Net()
    assert [name for name, _ in net.named_children()] == ["block", "head"]
    assert list(net.children()) == [net.block, net.head]
    assert [name for name, _ in net.named_modules()] == [
        "", "block", "block.fc", "block.act", "head", "head.0", "head.1", "head.2"]
    assert next(iter(net.modules())) is net
    assert [type(m).__name__ for m in net.block.modules()] == ["Block", "Linear", "ReLU"]


def test_plain_attributes_are_not_registered():
    block = Block()
    assert block.label == "not registered"
    assert "label" not in dict(block.named_parameters()) and "label" not in dict(block.named_children())


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(3, 3)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert count(seq) == 12
    assert [name for name, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert [name for name, _ in seq.named_modules()] == ["", "0", "1"]


def test_reassignment_and_deletion_update_the_registry():
    block = Block()
    block.scale = nn.Parameter(np.zeros(4, np.float32))
    assert dict(block.named_parameters())["scale"] is block.scale
    block.fc = nn.Linear(3, 4, bias=False)
    assert [name for name, _ in block.named_parameters()] == ["scale", "fc.weight"]
    block.scale = None
    assert block.scale is None and "scale" not in dict(block.named_parameters())
    del block.fc
    assert "fc" not in dict(block.named_children())
    with pytest.raises(AttributeError):
        _ = block.fc


def test_assigning_a_plain_tensor_to_a_parameter_slot_is_a_type_error():
    layer = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"nn\.Parameter"):
        layer.weight = tc.Tensor(np.zeros((2, 2), np.float32))


def test_assigning_before_super_init_explains_the_fix():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(2, 2)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Broken()


def test_missing_attribute_error_names_it():
    with pytest.raises(AttributeError, match="nothing"):
        _ = nn.ReLU().nothing


def test_seed_parameter_counts():
    assert count(nn.Linear(288, 60)) == 17_340
    assert count(nn.Linear(60, 10)) == 610
    assert count(nn.Linear(60, 10, bias=False)) == 600
    assert count(nn.Conv2d(1, 2, 5)) == 52
    assert count(nn.Conv2d(4, 6, 3, groups=2)) == 6 * 2 * 9 + 6
    from tinygrad_cnn.models import LeNet5, SeedCNN

    assert count(SeedCNN()) == 18_002
    assert count(LeNet5()) == 61_706


# ---- Sequential -------------------------------------------------------------------------------------------
def test_sequential_indexing_len_iteration_and_forward():
    layers = [nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)]
    seq = nn.Sequential(*layers)
    assert len(seq) == 3 and list(seq) == layers
    assert seq[0] is layers[0] and seq[-1] is layers[2]
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == layers[1:]
    with pytest.raises(IndexError):
        seq[3]
    x = tc.randn(5, 3)
    np.testing.assert_array_equal(seq(x).data, layers[2](layers[1](layers[0](x))).data)
    seq.append(nn.Sigmoid())
    assert len(seq) == 4 and isinstance(seq[3], nn.Sigmoid)


def test_sequential_from_a_dict_keeps_names():
    seq = nn.Sequential({"fc": nn.Linear(2, 3), "act": nn.ReLU()})
    assert [name for name, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(nn.ReLU(), lambda x: x)


# ---- forward and module scope --------------------------------------------------------------------------------
def test_linear_forward_matches_numpy():
    layer = nn.Linear(3, 2)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_allclose(layer(tc.Tensor(x)).data, x @ layer.weight.data.T + layer.bias.data, rtol=1e-6)
    np.testing.assert_allclose(nn.Flatten()(tc.Tensor(np.zeros((2, 3, 4, 5), np.float32))).shape, (2, 60))


def test_call_records_the_module_scope_on_graph_nodes():
    net = Net()
    x = tc.randn(2, 3)
    out = net(x)
    assert out.grad_fn.scope[0] is net and out.grad_fn.scope[-1] is net.head[2]
    hidden = net.block.fc(x)
    assert hidden.grad_fn.scope == (net.block.fc,)


def test_backward_reaches_every_parameter_and_zero_grad_clears():
    net = Net()
    net(tc.randn(4, 3)).sum().backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# ---- train / eval --------------------------------------------------------------------------------------------
def test_train_and_eval_reach_every_module():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):  # PyTorch's error
        net.train("yes")
    assert net.train(np.False_) is net and not any(m.training for m in net.modules())
    assert all(type(m.training) is bool for m in net.modules())


def test_dropout_is_identity_in_eval_and_masks_in_train():
    tc.manual_seed(0)
    drop = nn.Dropout(0.5)
    x = tc.ones(1000)
    y = drop(x).data
    assert set(np.unique(y)) <= {0.0, 2.0} and 300 < (y == 0).sum() < 700
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x.data)
    with pytest.raises(ValueError, match="probability"):
        nn.Dropout(1.5)


# ---- state dicts ----------------------------------------------------------------------------------------------
def test_state_dict_holds_copies():
    layer = nn.Linear(2, 2)
    state = layer.state_dict()
    assert list(state) == ["weight", "bias"] and all(isinstance(v, np.ndarray) for v in state.values())
    state["weight"][...] = 7
    assert not np.any(layer.weight.data == 7)


def test_state_dict_round_trip_through_a_checkpoint_is_bit_exact(tmp_path):
    from tinygrad_cnn.models import SeedCNN

    tc.manual_seed(1)
    model, fresh = SeedCNN(), SeedCNN()
    x = tc.randn(3, 1, 28, 28)
    assert not np.array_equal(model(x).data, fresh(x).data)
    save({"model": model.state_dict()}, tmp_path / "m.npz")
    fresh.load_state_dict(load(tmp_path / "m.npz")["model"])
    np.testing.assert_array_equal(model(x).data, fresh(x).data)
    for (name, a), (_, b) in zip(model.named_parameters(), fresh.named_parameters()):
        assert a.data.tobytes() == b.data.tobytes(), name


def test_load_state_dict_accepts_tensors():
    a, b = nn.Linear(2, 3), nn.Linear(2, 3)
    b.load_state_dict({name: tc.Tensor(p.data) for name, p in a.named_parameters()})
    np.testing.assert_array_equal(a.weight.data, b.weight.data)


def _snapshot(module):
    return {name: p.data.copy() for name, p in module.named_parameters()}


def _unchanged(module, before):
    return all(np.array_equal(p.data, before[name]) for name, p in module.named_parameters())


def test_load_state_dict_missing_and_unexpected_keys():
    net = Net()
    state = net.state_dict()
    before = _snapshot(net)
    del state["head.0.bias"]
    state["extra.weight"] = np.zeros(1, np.float32)
    state["block.fc.weight"] = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match=r"missing keys \['head.0.bias'\] and unexpected keys \['extra.weight'\]"):
        net.load_state_dict(state)
    assert _unchanged(net, before)
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["head.0.bias"] and result.unexpected_keys == ["extra.weight"]
    assert np.all(net.block.fc.weight.data == 0)
    np.testing.assert_array_equal(net.head[0].bias.data, before["head.0.bias"])


def test_load_state_dict_shape_mismatch_names_parameter_and_both_shapes_and_changes_nothing():
    net = Net()
    before = _snapshot(net)
    state = {name: np.zeros_like(a) for name, a in net.state_dict().items()}
    state["head.2.weight"] = np.zeros((3, 5), np.float32)
    with pytest.raises(ValueError, match=r"head.2.weight: checkpoint shape \(3, 5\), model shape \(2, 5\)"):
        net.load_state_dict(state)
    with pytest.raises(ValueError, match=r"head\.2\.weight"):
        net.load_state_dict(state, strict=False)
    assert _unchanged(net, before)


def test_load_state_dict_dtype_mismatch_and_non_arrays_are_type_errors():
    layer = nn.Linear(2, 2)
    before = _snapshot(layer)
    with pytest.raises(TypeError, match="weight: checkpoint dtype float64, model dtype float32"):
        layer.load_state_dict({"weight": np.zeros((2, 2)), "bias": np.zeros(2, np.float32)})
    with pytest.raises(TypeError, match="bias: expected an array, got list"):
        layer.load_state_dict({"weight": np.zeros((2, 2), np.float32), "bias": [0.0, 0.0]})
    with pytest.raises(TypeError, match="dict of arrays"):
        layer.load_state_dict([("weight", 1)])
    assert _unchanged(layer, before)


# ---- repr -----------------------------------------------------------------------------------------------------
def test_repr_shows_the_tree():
    model = nn.Sequential(nn.Conv2d(1, 2, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25),
                          nn.Linear(288, 60), nn.Sequential(nn.Sigmoid(), nn.Tanh()))
    assert repr(model) == """Sequential(
  (0): Conv2d(1, 2, kernel_size=(5, 5), stride=(1, 1))
  (1): ReLU()
  (2): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1)
  (3): Flatten(start_dim=1, end_dim=-1)
  (4): Dropout(p=0.25)
  (5): Linear(in_features=288, out_features=60, bias=True)
  (6): Sequential(
    (0): Sigmoid()
    (1): Tanh()
  )
)"""
    conv = nn.Conv2d(4, 8, (3, 1), stride=2, padding=1, dilation=(2, 1), groups=4, bias=False)
    assert repr(conv) == ("Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 2), padding=(1, 1), dilation=(2, 1), "
                          "groups=4, bias=False)")
    assert repr(nn.AvgPool2d(3, stride=1)) == "AvgPool2d(kernel_size=3, stride=1, padding=0)"


# ---- layers: shapes, defaults, arguments ---------------------------------------------------------------------------
def test_conv_and_pool_layers_give_the_expected_shapes():
    x = tc.randn(2, 4, 9, 9)
    assert nn.Conv2d(4, 6, 3)(x).shape == (2, 6, 7, 7)
    assert nn.Conv2d(4, 6, 3, stride=2, padding=1)(x).shape == (2, 6, 5, 5)
    assert nn.Conv2d(4, 6, 3, dilation=2, groups=2)(x).shape == (2, 6, 5, 5)
    assert nn.Conv2d(4, 6, 3, groups=2).weight.shape == (6, 2, 3, 3)
    assert nn.MaxPool2d(2)(x).shape == (2, 4, 4, 4)
    assert nn.AvgPool2d(3, stride=3)(x).shape == (2, 4, 3, 3)
    assert nn.Conv2d(4, 6, 3, bias=False).bias is None


def test_layers_in_float64():
    layer = nn.Linear(3, 2, dtype=np.float64)
    assert layer.weight.dtype == layer.bias.dtype == np.float64
    assert layer(tc.Tensor(np.ones((1, 3)))).dtype == np.float64
    with pytest.raises(TypeError):
        nn.Linear(3, 2, dtype=np.int32)


@pytest.mark.parametrize("make", [
    lambda: nn.Conv2d(3, 4, 3, groups=2), lambda: nn.Conv2d(1, 2, 0), lambda: nn.Conv2d(1, 2, 3, stride=0),
    lambda: nn.Conv2d(1, 2, 3, padding=-1), lambda: nn.Linear(0, 3), lambda: nn.MaxPool2d(0),
    lambda: nn.AvgPool2d(2, stride=(1, 2, 3)), lambda: nn.Dropout(-0.1), lambda: nn.Dropout(float("nan")),
])
def test_bad_layer_arguments_are_value_errors(make):
    with pytest.raises(ValueError):
        make()


@pytest.mark.parametrize("make", [
    lambda: nn.Linear(2.5, 3), lambda: nn.Flatten("1"), lambda: nn.Conv2d(1, 2, (3, 1.5)),
    lambda: nn.Conv2d(1, 2, "3"), lambda: nn.MaxPool2d(None), lambda: nn.Dropout("0.5"), lambda: nn.Dropout(None),
])
def test_layer_arguments_of_the_wrong_kind_are_type_errors(make):
    with pytest.raises(TypeError):
        make()


def test_layers_accept_numpy_numbers():
    conv = nn.Conv2d(np.int64(2), np.int32(4), (np.int64(3), 3), stride=np.int8(2), groups=np.int64(2))
    assert (conv.in_channels, conv.groups, conv.kernel_size, conv.stride) == (2, 2, (3, 3), (2, 2))
    assert all(type(v) is int for v in (conv.in_channels, conv.groups, *conv.kernel_size, *conv.stride))
    assert nn.Dropout(np.float32(0.25)).p == 0.25 and nn.Flatten(np.int64(-1)).start_dim == -1


# ---- init -----------------------------------------------------------------------------------------------------
def big(shape=(400, 300, 3, 3), dtype=np.float32):
    return nn.Parameter(np.zeros(shape, dtype))


def test_fans_as_pytorch():
    assert init.calculate_fan_in_and_fan_out(big((10, 20))) == (20, 10)
    assert init.calculate_fan_in_and_fan_out(big((6, 2, 5, 3))) == (30, 90)
    with pytest.raises(ValueError, match="at least 2 axes"):
        init.calculate_fan_in_and_fan_out(big((7,)))


def test_gains():
    assert init.calculate_gain("linear") == init.calculate_gain("conv2d") == init.calculate_gain("sigmoid") == 1
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    with pytest.raises(ValueError, match="unsupported"):
        init.calculate_gain("swish")


def _check_uniform(t, bound):
    values = t.data
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.99 * bound and values.max() > 0.99 * bound
    assert values.std() == pytest.approx(bound / math.sqrt(3), rel=0.01)
    assert abs(values.mean()) < 0.01 * bound


def test_kaiming_uniform_bounds_and_std():
    t = big()
    fan_in, fan_out = 300 * 9, 400 * 9
    _check_uniform(init.kaiming_uniform_(t, nonlinearity="relu"), math.sqrt(2) * math.sqrt(3 / fan_in))
    _check_uniform(init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu"), math.sqrt(6 / fan_out))
    _check_uniform(init.kaiming_uniform_(t, a=math.sqrt(5)), 1 / math.sqrt(fan_in))
    with pytest.raises(ValueError, match="fan_in"):
        init.kaiming_uniform_(t, mode="fan_both")


def test_normal_initialisers_std():
    t = big()
    fan_in, fan_out = 300 * 9, 400 * 9
    assert init.kaiming_normal_(t, nonlinearity="relu").data.std() == pytest.approx(math.sqrt(2 / fan_in), rel=0.01)
    assert init.kaiming_normal_(t, mode="fan_out").data.std() == pytest.approx(
        math.sqrt(2 / (1 + 0.01**2) / fan_out), rel=0.01)
    assert init.xavier_normal_(t, gain=2).data.std() == pytest.approx(2 * math.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    values = init.normal_(t, mean=3, std=0.5).data
    assert values.mean() == pytest.approx(3, abs=0.01) and values.std() == pytest.approx(0.5, rel=0.01)


def test_xavier_uniform_and_uniform_bounds():
    t = big()
    _check_uniform(init.xavier_uniform_(t), math.sqrt(6 / (300 * 9 + 400 * 9)))
    values = init.uniform_(t, -2, 5).data
    assert values.min() >= -2 and values.max() <= 5 and values.mean() == pytest.approx(1.5, abs=0.02)


def test_constant_initialisers_and_dtype_kept():
    t = big((3, 4), np.float64)
    assert init.ones_(t) is t and t.dtype == np.float64 and np.all(t.data == 1)
    assert np.all(init.zeros_(t).data == 0)
    assert init.normal_(big((3, 4))).dtype == np.float32
    with pytest.raises(TypeError):
        init.zeros_(np.zeros(3))
    with pytest.raises(TypeError):
        init.zeros_(tc.Tensor(np.zeros(3, np.int64)))


def test_init_is_reproducible_with_manual_seed():
    tc.manual_seed(42)
    a = nn.Linear(20, 30)
    tc.manual_seed(42)
    b = nn.Linear(20, 30)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    np.testing.assert_array_equal(a.bias.data, b.bias.data)
    assert not np.array_equal(a.weight.data, nn.Linear(20, 30).weight.data)


@pytest.mark.parametrize("make, fan_in", [(lambda: nn.Linear(288, 600), 288),
                                          (lambda: nn.Conv2d(8, 400, 5, groups=2), 4 * 25)])
def test_default_layer_init_as_pytorch(make, fan_in):
    layer = make()
    _check_uniform(layer.weight, 1 / math.sqrt(fan_in))
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(layer.bias.data).max() <= bound and layer.bias.data.std() > 0.4 * bound
    assert layer.weight.dtype == layer.bias.dtype == np.float32


# ---- small layers: Identity, Unflatten, Threshold -----------------------------------------------------------------
def test_identity_returns_its_input_and_ignores_arguments():
    x = tc.Tensor(np.ones(3))
    layer = nn.Identity(54, unused="argument")
    assert layer(x) is x and repr(layer) == "Identity()"


def test_unflatten_splits_one_axis():
    x = tc.Tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    layer = nn.Unflatten(1, (3, 4))
    y = layer(x)
    assert y.shape == (2, 3, 4) and repr(layer) == "Unflatten(dim=1, unflattened_size=(3, 4))"
    np.testing.assert_array_equal(y.data, x.data.reshape(2, 3, 4))
    assert nn.Unflatten(-1, [2, -1])(x).shape == (2, 2, 6)
    assert nn.Unflatten(0, (1, 2))(x).shape == (1, 2, 12)
    (y * tc.Tensor(np.arange(24.0).reshape(2, 3, 4))).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.arange(24.0).reshape(2, 12))
    with pytest.raises(ValueError, match=r"Unflatten: sizes \(5, 2\) do not multiply to the size 12"):
        nn.Unflatten(1, (5, 2))(x)
    with pytest.raises(ValueError, match="Unflatten: dim=2 is out of range"):
        nn.Unflatten(2, (3, 4))(x)
    with pytest.raises(ValueError, match="at most one -1"):
        nn.Unflatten(1, (-1, -1))
    with pytest.raises(TypeError, match="tuple or list of ints"):
        nn.Unflatten(1, 12)


def test_threshold_layer_and_function():
    x = tc.Tensor(np.array([-1.0, 0.5, 0.1, 2.0]), requires_grad=True)
    layer = nn.Threshold(0.1, 20.0)
    y = layer(x)
    np.testing.assert_array_equal(y.data, [20.0, 0.5, 20.0, 2.0])  # x > threshold is kept, equality is replaced
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0.0, 1.0, 0.0, 1.0])
    assert repr(layer) == "Threshold(threshold=0.1, value=20.0)"
    assert tc.nn.functional.threshold(tc.Tensor(np.ones(2, np.float32)), 0.0, 5.0).dtype == np.float32


# ---- Embedding ------------------------------------------------------------------------------------------------------
def test_embedding_lookup_shapes_dtypes_and_hand_gradient():
    emb = nn.Embedding(5, 3)
    assert emb.weight.shape == (5, 3) and emb.weight.dtype == np.float32 and emb.weight.requires_grad
    idx = np.array([[0, 2, 2], [4, 0, 0]], np.int64)
    out = emb(idx)
    assert out.shape == (2, 3, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    g = np.arange(18.0, dtype=np.float32).reshape(2, 3, 3)
    (out * tc.Tensor(g)).sum().backward()
    expected = np.zeros((5, 3), np.float32)  # by hand: each row collects the gradients of the positions reading it
    expected[0] = g[0, 0] + g[1, 1] + g[1, 2]
    expected[2] = g[0, 1] + g[0, 2]
    expected[4] = g[1, 0]
    np.testing.assert_array_equal(emb.weight.grad.data, expected)
    assert emb(np.array([1, 3], np.int32)).shape == (2, 3)  # int32 indices
    assert emb(tc.Tensor(np.array(4))).shape == (3,)  # a 0-d index gives one row
    assert emb(np.zeros((2, 0), np.int64)).shape == (2, 0, 3)
    assert repr(emb) == "Embedding(5, 3)"


def test_embedding_padding_idx_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(4, 2, padding_idx=-1)  # negative counts from the end, as PyTorch
    assert emb.padding_idx == 3 and not emb.weight.data[3].any() and emb.weight.data[:3].any()
    with tc.no_grad():
        emb.weight[3] = 7.0  # the forward still returns the row's value
    out = emb(np.array([3, 1, 3]))
    np.testing.assert_array_equal(out.data[0], [7.0, 7.0])
    out.sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data, [[0, 0], [1, 1], [0, 0], [0, 0]])
    assert repr(emb) == "Embedding(4, 2, padding_idx=3)"
    with pytest.raises(ValueError, match=r"padding_idx=4 must be within num_embeddings"):
        nn.Embedding(4, 2, padding_idx=4)


def test_embedding_scale_grad_by_freq_divides_by_the_count_in_the_batch():
    emb = nn.Embedding(3, 2, scale_grad_by_freq=True)
    emb(np.array([[0, 0], [0, 2]])).sum().backward()
    np.testing.assert_allclose(emb.weight.grad.data, [[1, 1], [0, 0], [1, 1]])  # 3 ones / 3, 1 one / 1


def test_embedding_max_norm_renormalises_the_looked_up_rows_in_place():
    weight = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], np.float32)
    emb = nn.Embedding.from_pretrained(tc.Tensor(weight.copy()), freeze=False, max_norm=1.0)
    version = emb.weight._version
    out = emb(np.array([0, 1]))
    np.testing.assert_allclose(out.data, [[0.6, 0.8], [0.3, 0.4]], rtol=1e-6)  # norm 5 -> 1; norm 0.5 kept
    np.testing.assert_allclose(emb.weight.data[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(emb.weight.data[2], [6.0, 8.0])  # not looked up: untouched
    assert emb.weight._version > version
    l1 = nn.Embedding.from_pretrained(tc.Tensor(weight.copy()), max_norm=2.0, norm_type=1.0)
    np.testing.assert_allclose(l1(np.array([2])).data, [[2 * 6 / 14, 2 * 8 / 14]], rtol=1e-6)


def test_embedding_from_pretrained_shares_and_freezes():
    data = tc.Tensor(np.arange(6.0).reshape(3, 2))
    emb = nn.Embedding.from_pretrained(data)
    assert not emb.weight.requires_grad and emb.weight.data is data.data and emb.weight.dtype == np.float64
    emb_pad = nn.Embedding.from_pretrained(data, freeze=False, padding_idx=0)
    assert emb_pad.weight.requires_grad and emb_pad.weight.data[0, 1] == 1.0  # the padding row is not zeroed
    with pytest.raises(ValueError, match="embeddings must be 2-D"):
        nn.Embedding.from_pretrained(tc.Tensor(np.ones(3)))


def test_embedding_errors_name_the_layer_the_index_and_the_size():
    emb = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=r"Embedding\(10, 3\): index 12 is out of range for num_embeddings=10"):
        emb(np.array([1, 12]))
    with pytest.raises(IndexError, match="index -1 is out of range"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match=r"Embedding\(10, 3\): indices must be an integer tensor"):
        emb(tc.Tensor(np.array([1.0])))
    with pytest.raises(NotImplementedError, match="no sparse tensors"):
        nn.Embedding(3, 2, sparse=True)
    with pytest.raises(IndexError, match=r"embedding: index 3 is out of range for num_embeddings=3"):
        nn.functional.embedding(np.array([3]), tc.Tensor(np.ones((3, 2))))


def test_embedding_matches_pytorch():
    torch = pytest.importorskip("torch")
    weight = np.random.default_rng(0).standard_normal((6, 4))
    idx = np.array([[1, 5, 1], [0, 2, 5]])
    for kwargs in ({}, {"padding_idx": 1}, {"scale_grad_by_freq": True},
                   {"padding_idx": 5, "scale_grad_by_freq": True}):
        ours = tc.Tensor(weight.copy(), requires_grad=True)
        theirs = torch.tensor(weight.copy(), requires_grad=True)
        g = np.arange(24.0).reshape(2, 3, 4)
        (nn.functional.embedding(idx, ours, **kwargs) * tc.Tensor(g)).sum().backward()
        (torch.nn.functional.embedding(torch.tensor(idx), theirs, **kwargs) * torch.tensor(g)).sum().backward()
        np.testing.assert_allclose(ours.grad.data, theirs.grad.numpy(), rtol=1e-12, err_msg=str(kwargs))
    ours, theirs = weight.copy(), torch.tensor(weight.copy())
    out = nn.functional.embedding(idx, tc.Tensor(ours), max_norm=1.5)
    ref = torch.nn.functional.embedding(torch.tensor(idx), theirs, max_norm=1.5)
    np.testing.assert_allclose(out.data, ref.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


# ---- dropout variants ---------------------------------------------------------------------------------------------
def _channels_constant(y, lead):
    flat = y.reshape(int(np.prod(y.shape[:lead])), -1)
    return np.all(flat == flat[:, :1])


@pytest.mark.parametrize("layer, shape, lead", [
    (nn.Dropout1d, (16, 8, 5), 2), (nn.Dropout1d, (32, 5), 1),
    (nn.Dropout2d, (8, 16, 3, 3), 2), (nn.Dropout2d, (32, 3, 3), 2),
    (nn.Dropout3d, (4, 16, 2, 2, 2), 2), (nn.Dropout3d, (32, 2, 2, 2), 1),
])
def test_channel_dropout_zeroes_whole_channels_and_scales_the_rest(layer, shape, lead):
    tc.manual_seed(0)
    x = tc.Tensor(np.ones(shape, np.float32))
    if layer is nn.Dropout2d and len(shape) == 3:
        with pytest.warns(UserWarning, match=r"read as \(N, C, L\)"):
            y = layer(0.25)(x).data
    else:
        y = layer(0.25)(x).data
    assert y.dtype == np.float32 and _channels_constant(y, lead)
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    channels = int(np.prod(shape[:lead]))
    dropped = (y.reshape(channels, -1)[:, 0] == 0).mean()
    assert 0.1 < dropped < 0.4  # 128 channels, p = 0.25: the binomial's 4-sigma range
    tc.manual_seed(0)
    again = layer(0.25)(x).data if layer is not nn.Dropout2d or len(shape) == 4 else y
    np.testing.assert_array_equal(again, y)  # the seed fixes the draw


def test_channel_dropout_fraction_and_gradient_with_a_fixed_seed():
    tc.manual_seed(1)
    x = tc.Tensor(np.ones((100, 50, 2, 2)), requires_grad=True)
    y = nn.functional.dropout2d(x, 0.3)
    kept = y.data[:, :, 0, 0] != 0
    assert abs(kept.mean() - 0.7) < 0.02  # 5000 channels: 4.6 standard deviations
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, y.data)  # VJP = the same mask / (1 - p); x is ones
    assert abs(y.data.mean() - 1.0) < 0.03  # inverted dropout keeps the mean


def test_dropout_variants_identity_when_not_training_and_edge_probabilities():
    x = tc.Tensor(np.ones((2, 3, 4)))
    layer = nn.Dropout1d(0.5).eval()
    assert layer(x) is x
    assert nn.functional.dropout2d(x.reshape(1, 2, 3, 4), 0.0).shape == (1, 2, 3, 4)
    assert not nn.functional.dropout1d(x, 1.0).data.any()
    assert nn.functional.alpha_dropout(x, 0.5) is x  # training=False by default, as PyTorch
    assert not nn.functional.alpha_dropout(x, 1.0, training=True).data.any()
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-D \(C, \*spatial\) or 3-D"):
        nn.functional.dropout1d(tc.Tensor(np.ones(4)))
    with pytest.raises(ValueError, match="dropout3d: expected a 4-D"):
        nn.functional.dropout3d(x)
    with pytest.raises(ValueError, match=r"Dropout2d: p must be in \[0, 1\], got 1\.5"):
        nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\], got -0\.1"):
        nn.functional.dropout(x, -0.1)
    assert repr(nn.Dropout2d(0.2)) == "Dropout2d(p=0.2)"
    assert repr(nn.Dropout(0.1, True)) == "Dropout(p=0.1, inplace=True)"


def test_alpha_dropout_keeps_selu_statistics_and_uses_pytorchs_affine_map():
    p = 0.2
    alpha = 1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
    a = 1.0 / math.sqrt((alpha ** 2 * p + 1) * (1 - p))
    tc.manual_seed(3)
    x = tc.Tensor(np.random.default_rng(3).standard_normal(200_000))
    y = nn.AlphaDropout(p)(x).data
    dropped = np.isclose(y, -alpha * a * (1 - p))
    assert abs(dropped.mean() - p) < 0.005
    np.testing.assert_allclose(y[~dropped], a * x.data[~dropped] + alpha * a * p, rtol=1e-12)
    assert abs(y.mean()) < 0.01 and abs(y.std() - 1.0) < 0.01  # zero mean, unit variance kept
    assert nn.AlphaDropout(p).eval()(x) is x


def test_feature_alpha_dropout_draws_per_channel():
    tc.manual_seed(0)
    y = nn.FeatureAlphaDropout(0.5)(tc.Tensor(np.zeros((4, 32, 3)))).data
    assert _channels_constant(y, 2) and len(np.unique(y)) == 2


def test_alpha_dropout_matches_pytorchs_constants():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    tc.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((50, 40, 3))

    def dropped_value_and_rate(y):
        values, counts = np.unique(y, return_counts=True)  # the dropped value is the one that repeats
        return values[counts.argmax()], counts.max() / y.size

    for p in (0.3, 0.7):
        ours = dropped_value_and_rate(nn.functional.alpha_dropout(tc.Tensor(x), p, training=True).data)
        theirs = dropped_value_and_rate(torch.nn.functional.alpha_dropout(torch.tensor(x), p, training=True).numpy())
        np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-12)
        assert abs(ours[1] - theirs[1]) < 0.04


# ---- inplace= -------------------------------------------------------------------------------------------------
INPLACE_LAYERS = [
    (nn.ReLU, {}), (nn.ReLU6, {}), (nn.LeakyReLU, {"negative_slope": 0.2}), (nn.ELU, {"alpha": 0.5}),
    (nn.CELU, {"alpha": 2.0}), (nn.SELU, {}), (nn.Hardtanh, {"min_val": -0.5, "max_val": 0.5}), (nn.Hardsigmoid, {}),
    (nn.Hardswish, {}), (nn.SiLU, {}), (nn.Mish, {}), (nn.Threshold, {"threshold": 0.1, "value": -3.0}),
]


@pytest.mark.parametrize("layer, kwargs", INPLACE_LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_inplace_true_writes_into_an_input_outside_the_graph(layer, kwargs):
    data = np.linspace(-4, 4, 17)
    expected = layer(**kwargs)(tc.Tensor(data.copy())).data
    x = tc.Tensor(data.copy())
    version = x._version
    out = layer(**kwargs, inplace=True)(x)
    assert out is x and x._version == version + 1
    np.testing.assert_array_equal(x.data, expected)
    assert "inplace=True" in repr(layer(**kwargs, inplace=True))


@pytest.mark.parametrize("layer, kwargs", INPLACE_LAYERS, ids=lambda v: getattr(v, "__name__", ""))
def test_inplace_true_on_an_input_in_the_graph_is_computed_out_of_place(layer, kwargs):
    data = np.linspace(-4, 4, 17)
    ref_x = tc.Tensor(data.copy(), requires_grad=True)
    layer(**kwargs)(ref_x * 1.0).sum().backward()
    x = tc.Tensor(data.copy(), requires_grad=True)
    h = x * 1.0
    out = layer(**kwargs, inplace=True)(h)
    assert out is not h
    np.testing.assert_array_equal(h.data, data)  # left unchanged: the graph records no in-place ops
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.data, ref_x.grad.data)


def test_inplace_functions_and_dropout_and_refusals():
    F = nn.functional
    x = tc.Tensor(np.array([-1.0, 2.0]))
    assert F.relu(x, inplace=True) is x and list(x.data) == [0.0, 2.0]
    with tc.no_grad():  # grad mode off: even a tensor requiring grad is written
        w = tc.Tensor(np.array([-1.0, 1.0]), requires_grad=True)
        assert F.leaky_relu(w, 0.5, inplace=True) is w and list(w.data) == [-0.5, 1.0]
    tc.manual_seed(0)
    d = tc.Tensor(np.ones((64, 8)))
    assert F.dropout(d, 0.5, inplace=True) is d and set(np.unique(d.data)) == {0.0, 2.0}
    tc.manual_seed(0)
    c = tc.Tensor(np.ones((4, 8, 3)))
    assert nn.Dropout1d(0.5, inplace=True)(c) is c and _channels_constant(c.data, 2)
    view = tc.Tensor(np.ones(3)).expand(2, 3)
    with pytest.raises(ValueError, match="relu: inplace=True but the input of shape \\(2, 3\\) is a read-only view"):
        F.relu(view, inplace=True)
    with pytest.raises(TypeError, match="inplace must be True or False"):
        nn.ReLU(inplace="yes")


def test_flatten_takes_pytorchs_start_dim_and_end_dim():
    x = tc.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60) and repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert nn.Flatten(start_dim=0, end_dim=1)(x).shape == (6, 4, 5) and nn.Flatten(1, 2)(x).shape == (2, 12, 5)
    assert nn.functional.flatten(x, start_axis=2).shape == (2, 3, 20)
    assert nn.functional.flatten(x, 0, -2).shape == (24, 5)
    with pytest.raises(TypeError, match="both start_dim= and start_axis="):
        nn.Flatten(start_dim=1, start_axis=1)
