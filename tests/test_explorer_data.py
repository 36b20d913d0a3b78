"""tinygrad_cnn.viz.record: the explorer's data against the engine (the step order is the engine's order, the
gradients shown are ``.grad`` and ``tg.grad``, accumulation where paths meet, saved values, second order), its
values (numbers, statistics, heatmaps), its sizes, and the engine's observer hook."""

import base64
import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.ops
from tinygrad_cnn import Tensor, autograd, models, viz
from tinygrad_cnn.autograd import Function, _topological_order
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.viz import record
from tinygrad_cnn.viz.record import explorer_data

DOCS = Path(__file__).resolve().parents[1] / "docs"
ALL = 10**7  # max_elements that keeps every value's numbers


def batch(n=2, seed=0):
    rng = np.random.default_rng(seed)
    return Tensor(rng.standard_normal((n, 1, 28, 28)).astype(np.float32)), Tensor(rng.integers(0, 10, n))


def model_loss(cls, seed=0):
    tg.manual_seed(seed)
    model = cls()
    x, y = batch()
    return model, F.cross_entropy(model(x), y)


def array(data, vid):
    """The numbers of value ``vid`` as an array of its dtype and shape."""
    v = data["values"][vid]
    assert v["data"] is not None, f"{vid} keeps no numbers (count {v['count']})"
    return np.array([float(x) for x in v["data"]], dtype=v["dtype"]).reshape(v["shape"])


def by_id(nodes):
    return {n["id"]: n for n in nodes}


class Visits:
    """An observer of the engine, as viz uses it."""

    def __init__(self):
        self.visits, self.leaves = [], []

    def visit(self, node, grad, grads):
        self.visits.append((node, grad.data.copy(), grads))

    def leaf(self, leaf, grad):
        self.leaves.append((leaf, grad.data.copy()))


# ---- the engine's observer --------------------------------------------------------------------------------
def test_the_observer_sees_every_visit_in_the_engines_order_and_changes_nothing():
    _, loss = model_loss(models.LeNet5)
    order = _topological_order([loss._ctx])
    params = [t for node in order for t in node.next if isinstance(t, Tensor)]
    watch = Visits()
    with autograd.observe_backward(watch):
        loss.backward(retain_graph=True)
    assert autograd._mode.observer is None, "the observer is removed on exit"
    assert [node for node, _, _ in watch.visits] == order
    assert {id(leaf) for leaf, _ in watch.leaves} == {id(p) for p in params}
    for leaf, g in watch.leaves:
        np.testing.assert_array_equal(leaf.grad.data, g)
    first = {id(p): p.grad.data.copy() for p in params}
    for p in params:
        p.grad = None
    loss.backward()  # unobserved: the same numbers
    for p in params:
        np.testing.assert_array_equal(p.grad.data, first[id(p)])


def test_the_observer_sees_the_checked_gradients_per_input():
    class Loose(Function):
        """out = 2 a. VJP: a NumPy array and a broadcastable shape, which the engine fixes."""

        def forward(ctx, a, b):
            return 2 * a + b

        def vjp(ctx, g):
            return 2 * g.data, g.sum(axis=0)  # an array (a constant) and a (3,) gradient kept as is

    a = Tensor(np.ones((2, 3)), requires_grad=True)
    b = Tensor(np.ones(3), requires_grad=True)
    watch = Visits()
    with autograd.observe_backward(watch):
        Loose.apply(a, b).sum().backward()
    _, _, grads = next(v for v in watch.visits if isinstance(v[0], Loose))
    assert isinstance(grads[0], Tensor) and grads[0].shape == (2, 3)
    np.testing.assert_array_equal(grads[0].data, a.grad.data)


# ---- the data against the engine ------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [models.SeedCNN, models.LeNet5])
def test_steps_are_the_engines_order_and_grads_equal_dot_grad_and_tg_grad(cls):
    model, loss = model_loss(cls)
    order = _topological_order([loss._ctx])
    data = explorer_data(loss, model, max_elements=ALL)
    json.dumps(data, allow_nan=False)  # plain JSON
    forward, backward = by_id(data["forward"]["nodes"]), by_id(data["backward"]["nodes"])
    vjp_steps = [s for s in data["steps"] if s["kind"] == "vjp"]
    assert [forward[backward[s["node"]]["forward"]]["op"] for s in vjp_steps] == [n.name for n in order]
    assert [s["index"] for s in data["steps"]] == list(range(len(data["steps"])))
    assert all(p.grad is None for p in model.parameters()), "explorer_data touches no .grad"

    named = dict(model.named_parameters())
    expected = dict(zip(named, tg.grad(loss, list(named.values()), retain_graph=True)))
    loss.backward()  # the user's graph is still usable
    params = [n for n in data["forward"]["nodes"] if n["kind"] == "param"]
    assert sorted(n["name"] for n in params) == sorted(named)
    for n in params:
        shown = array(data, n["grad"])
        np.testing.assert_array_equal(shown, named[n["name"]].grad.data)
        np.testing.assert_array_equal(shown, expected[n["name"]].data)
    delivered = [backward[s["node"]] for s in data["steps"] if s["kind"] == "accumulate"]
    assert sorted(b["label"] for b in delivered) == sorted(f"AccumulateGrad {name}" for name in named)


def test_each_step_receives_what_was_sent_to_it():
    model, loss = model_loss(models.ResNet8)
    data = explorer_data(loss, model, max_elements=ALL)
    edges = data["backward"]["edges"]
    received: dict[str, list] = {}
    for step in data["steps"]:
        if step["kind"] == "vjp" and step["index"] == 0:
            assert step["grad_in"] == edges[0]["grad"] and edges[0]["from"] == "b0"
        sent = received.get(step["node"], [])
        if sent:
            total = sum(array(data, g).astype(np.float64) for g in sent)
            np.testing.assert_allclose(array(data, step["grad_in"]), total, rtol=1e-5, atol=1e-7)
        for send in step["sends"]:
            assert edges[send["edge"]]["to"] == send["to"] and edges[send["edge"]]["from"] == step["node"]
            received.setdefault(send["to"], []).append(send["grad"])
    assert any(step["accumulated"] for step in data["steps"]), "ResNet8's shortcuts meet the main path"


def test_accumulation_where_paths_meet_is_the_engines_sum():
    w = Tensor(np.array([0.5, -1.0, 2.0], dtype=np.float32), requires_grad=True)
    h = w * 3.0  # h feeds two paths, w three contributions (mul twice, exp once)
    loss = (h.sin() + h.cos()).sum() + (w * w + w.exp()).sum()
    data = explorer_data(loss, {"w": w})
    backward, forward = by_id(data["backward"]["nodes"]), by_id(data["forward"]["nodes"])
    steps = data["steps"]
    meets = [(s, a) for s in steps for a in s["accumulated"]]
    into_w = [a for _, a in meets if backward[a["into"]]["label"] == "AccumulateGrad w"]
    assert into_w and len(into_w[-1]["from_steps"]) == 4  # 3 w * 3.0, w * w twice, w.exp()
    np.testing.assert_array_equal(array(data, into_w[-1]["total"]), tg.grad(loss, w, retain_graph=True)[0].data)
    mul_h = next(b["id"] for b in backward.values() if b["kind"] == "vjp"
                 and forward[b["forward"]]["op"] == "Mul" and forward[b["forward"]]["params"] == {}
                 and any(e["to"] == b["forward"] and forward[e["from"]]["kind"] == "const"
                         for e in data["forward"]["edges"]))
    into_h = [(s, a) for s, a in meets if a["into"] == mul_h]
    assert len(into_h) == 1
    step_h = next(s for s in steps if s["node"] == mul_h)
    assert into_h[0][1]["total"] == step_h["grad_in"], "the node runs on the sum formed where its paths met"
    assert step_h["index"] > max(into_h[0][1]["from_steps"])


def test_saved_values_are_what_the_vjps_read():
    model, loss = model_loss(models.SeedCNN)
    data = explorer_data(loss, model, max_elements=ALL)
    forward = by_id(data["forward"]["nodes"])
    saved = {forward[b["forward"]]["op"]: {s["label"]: s for s in b["saved"]}
             for b in data["backward"]["nodes"] if b["kind"] == "vjp"}
    pool = next(n for n in _topological_order([loss._ctx]) if n.name == "MaxPool2d")
    np.testing.assert_array_equal(array(data, saved["MaxPool2d"]["index"]["value"]), pool.saved[0])
    conv = next(n for n in _topological_order([loss._ctx]) if n.name == "Conv2d")
    np.testing.assert_array_equal(array(data, saved["Conv2d"]["cols"]["value"]), conv.saved[0])
    np.testing.assert_array_equal(array(data, saved["Conv2d"]["input 1"]["value"]), model.conv.weight.data)
    assert "output" in saved["LogSoftmax"]  # it saves its output, y


def test_a_second_order_graph_and_create_graph():
    w = Tensor(np.array([[0.3, -0.7], [1.1, 0.2]], dtype=np.float64), requires_grad=True)
    x = Tensor(np.array([[1.0, 2.0], [-1.0, 0.5]]))
    (g,) = tg.grad((x @ w).tanh().sum(), w, create_graph=True)
    out = (g * g).sum()  # a function of a gradient: its graph holds the VJPs' ops
    data = explorer_data(out, {"w": w}, create_graph=True, max_elements=ALL)
    expected = tg.grad(out, w, retain_graph=True)[0]
    param = next(n for n in data["forward"]["nodes"] if n["name"] == "w")
    np.testing.assert_array_equal(array(data, param["grad"]), expected.data)
    assert data["create_graph"] and data["gradient_graph"]["nodes"]
    steps = len(data["steps"])
    assert all(0 <= n["step"] < steps for n in data["gradient_graph"]["nodes"] if n["kind"] == "op")
    ids = {n["id"] for n in data["gradient_graph"]["nodes"]} | {n["id"] for n in data["forward"]["nodes"]}
    assert all(e["from"] in ids and e["to"] in ids for e in data["gradient_graph"]["edges"])
    assert {"Mul", "MatMul"} <= set(data["ops"])
    assert "gradient_graph" not in explorer_data(out, {"w": w})


def test_the_graph_stays_usable_and_no_grad_changes():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    h = w * w
    h.retain_grad()
    loss = h.sum()
    explorer_data(loss, {"w": w})
    assert w.grad is None and h.grad is None
    loss.backward()
    np.testing.assert_array_equal(w.grad.data, [2.0, 4.0])
    np.testing.assert_array_equal(h.grad.data, [1.0, 1.0])


def test_a_freed_graph_is_a_clear_error():
    model, loss = model_loss(models.SeedCNN)
    loss.backward()
    with pytest.raises(ValueError, match=r"freed.*retain_graph=True"):
        explorer_data(loss, model)


@pytest.mark.parametrize("output, params, kwargs, error, match", [
    (np.ones(()), None, {}, TypeError, "must be a Tensor"),
    (Tensor(np.ones(3), requires_grad=True) * 2, None, {}, ValueError, r"scalar.*\(3,\).*sum"),
    (Tensor(np.ones(())) * 2, None, {}, ValueError, "does not require grad"),
    ((Tensor(np.ones(2), requires_grad=True) * 2).sum(), 3, {}, TypeError, "nn.Module, a dict"),
    ((Tensor(np.ones(2), requires_grad=True) * 2).sum(), {"w": 1.0}, {}, TypeError, "'w' is a float"),
    ((Tensor(np.ones(2), requires_grad=True) * 2).sum(), None, {"max_elements": -1}, ValueError, "max_elements"),
    ((Tensor(np.ones(2), requires_grad=True) * 2).sum(), None, {"heatmap_size": 0.5}, ValueError, "heatmap_size"),
])
def test_bad_input_names_the_fix(output, params, kwargs, error, match):
    with pytest.raises(error, match=match):
        explorer_data(output, params, **kwargs)


def test_modules_are_boxes_per_call_with_paths():
    model, loss = model_loss(models.LeNet5)
    data = explorer_data(loss, model)
    boxes = data["modules"]
    pools = sorted(b["call"] for b in boxes if b["path"] == "pool")
    assert pools == [0, 1], "LeNet5 calls self.pool twice: two boxes"
    root = next(b for b in boxes if b["parent"] is None)
    assert root["type"] == "LeNet5" and root["depth"] == 0
    assert all(b["depth"] == 1 and b["parent"] == root["id"] for b in boxes if b is not root)
    forward = by_id(data["forward"]["nodes"])
    conv1 = next(b["id"] for b in boxes if b["path"] == "conv1")
    assert [n["op"] for n in forward.values() if n["module"] == conv1] == ["Conv2d"]
    assert {b["id"] for b in boxes} >= {n["module"] for n in forward.values() if n["module"]}


def test_ops_carry_docstring_vjp_text_and_an_existing_derivation_page():
    model, loss = model_loss(models.SeedCNN)
    ops = explorer_data(loss, model)["ops"]
    assert set(ops) == {"Conv2d", "Relu", "MaxPool2d", "Reshape", "Linear", "LogSoftmax", "NLLLoss"}
    assert ops["Relu"]["vjp"].startswith("VJP:") and "VJP" not in ops["Relu"]["forward"]
    assert ops["Conv2d"]["page"] == "derivations/conv2d/"
    assert ops["Conv2d"]["doc"] == inspect.getdoc(tinygrad_cnn.ops.conv.Conv2d)


def primitives():
    found = []
    for info in pkgutil.walk_packages(tinygrad_cnn.ops.__path__, "tinygrad_cnn.ops."):
        module = importlib.import_module(info.name)
        found += [c for _, c in inspect.getmembers(module, inspect.isclass) if issubclass(c, Function)
                  and c.__module__ == module.__name__ and not c.__name__.startswith("_")]
    return found


def test_every_primitive_links_to_a_derivation_page_that_names_it():
    found = primitives()
    assert len(found) > 100
    for cls in found:
        page = record.derivation_page(cls)
        assert page is not None, cls
        path = DOCS / (page.rstrip("/") + ".md")
        assert path.is_file(), f"{cls.__name__}: {path}"
        assert re.search(rf"`{cls.__name__}\b", path.read_text()), f"{path.name} does not name `{cls.__name__}`"
    assert record.derivation_page(type("Custom", (Function,), {})) is None


# ---- values --------------------------------------------------------------------------------------------------
def test_values_keep_numbers_only_when_small_and_stats_always():
    values = record._Values(max_elements=4, heatmap_size=32)
    small = np.array([1.5, -2.0, 0.0, np.float32(0.1)], dtype=np.float32)
    big = np.arange(5.0)
    exported = values.export() if values.add(small) and values.add(big) else None
    assert exported["v0"]["data"] == [1.5, -2.0, 0.0, 0.1]  # float32's shortest decimals
    assert np.array(exported["v0"]["data"], dtype=np.float32).tobytes() == small.tobytes()
    assert exported["v1"]["data"] is None and exported["v1"]["count"] == 5
    assert exported["v1"]["stats"] == {"min": 0.0, "max": 4.0, "mean": 2.0, "norm": pytest.approx(np.sqrt(30)),
                                       "zeros": 1, "nan": 0, "inf": 0}


def test_stats_are_nan_safe():
    s = record._stats(np.array([np.nan, np.inf, -np.inf, 1.0, -3.0, 0.0]))
    assert s == {"min": -3.0, "max": 1.0, "mean": pytest.approx(-2 / 3), "norm": pytest.approx(np.sqrt(10)),
                 "zeros": 1, "nan": 1, "inf": 2}
    empty = record._stats(np.array([np.nan, np.nan]))
    assert empty["min"] is None and empty["norm"] is None and empty["nan"] == 2
    assert [record._number(x) for x in np.array([np.nan, np.inf, -np.inf, 2.5])] == ["nan", "inf", "-inf", 2.5]


def decode(tile, heatmap):
    return np.frombuffer(base64.b64decode(tile["b64"]), np.uint8).reshape(heatmap["rows"], heatmap["cols"])


def test_a_2d_heatmap_is_the_block_mean_scaled_to_bytes():
    a = np.arange(64 * 60, dtype=np.float64).reshape(64, 60)
    h = record._heatmap(a, 32)
    assert (h["rows"], h["cols"], h["grid"], len(h["tiles"])) == (32, 30, [1, 1], 1)
    means = a.reshape(32, 2, 30, 2).mean(axis=(1, 3))
    tile = h["tiles"][0]
    assert (tile["min"], tile["max"]) == (means.min(), means.max())
    expected = np.rint((means - means.min()) / (means.max() - means.min()) * 255)
    np.testing.assert_array_equal(decode(tile, h), expected)


def test_a_4d_heatmap_has_up_to_8_by_8_planes_and_survives_nan_and_constants():
    a = np.random.default_rng(1).standard_normal((10, 3, 5, 7))
    a[0, 0] = 4.0  # a constant plane
    a[0, 1, 2, 3] = np.nan
    h = record._heatmap(a, 32)
    assert h["grid"] == [8, 3] and len(h["tiles"]) == 24 and (h["rows"], h["cols"]) == (5, 7)
    assert [t["label"] for t in h["tiles"][:4]] == ["n0 c0", "n0 c1", "n0 c2", "n1 c0"]
    assert (decode(h["tiles"][0], h) == 128).all()
    plane = decode(h["tiles"][1], h)
    assert plane[2, 3] == 0 and plane.max() == 255
    odd = record._heatmap(np.ones((1, 1, 65, 3)), 32)
    assert (odd["rows"], odd["cols"]) == (22, 3)  # blocks of 3 rows: ceil(65 / 3)
    assert record._heatmap(np.ones(5), 32) is None and record._heatmap(np.ones((2, 3, 4)), 32) is None


@pytest.mark.parametrize("cls, limit", [(models.SeedCNN, 200_000), (models.LeNet5, 500_000),
                                        (models.ResNet8, 3_000_000)])
def test_sizes_stay_small_by_default(cls, limit):
    model, loss = model_loss(cls)
    data = explorer_data(loss, model)
    text = json.dumps(data, allow_nan=False)
    assert len(text) < limit
    for v in data["values"].values():
        assert v["data"] is None or v["count"] <= 64
        if v["heatmap"]:
            assert v["heatmap"]["rows"] <= 32 and v["heatmap"]["cols"] <= 32 and len(v["heatmap"]["tiles"]) <= 64


def test_the_package_exports_the_recorder():
    assert viz.explorer_data is explorer_data
