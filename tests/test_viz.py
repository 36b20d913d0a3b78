"""tinygrad_cnn.viz: forward and backward graphs as structure, as DOT text, and rendered by Graphviz."""

import re
import shutil
import warnings
from collections import Counter, deque

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_cnn import Tensor, grad, viz
from tinygrad_cnn.autograd import module_scope

HAS_DOT = shutil.which("dot") is not None
NEEDS_DOT = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz)")

NODE_LINE = re.compile(r'^\s*(n\d+) \[label="((?:[^"\\]|\\.)*)"')
EDGE_LINE = re.compile(r'^\s*(n\d+) -> (n\d+)(?: \[label="((?:[^"\\]|\\.)*)"\])?$')


def parse_dot(source):
    """(node id -> label text, list of (src, dst, label)) read back from DOT text."""
    nodes, edges = {}, []
    for line in source.splitlines():
        if m := NODE_LINE.match(line):
            nodes[m[1]] = m[2]
        elif m := EDGE_LINE.match(line):
            edges.append((m[1], m[2], m[3] or ""))
    return nodes, edges


def small_graph():
    w = Tensor(np.arange(6.0).reshape(2, 3) / 10, requires_grad=True)
    b = Tensor(np.array([0.1, -0.2, 0.3]), requires_grad=True)
    x = Tensor(np.ones((4, 2)))
    loss = ((x @ w + b).tanh() * 2.0).sum(axis=1, keepdims=True).sum()
    return loss, {"w": w, "b": b, "x": x}


def is_acyclic(s):
    indegree = Counter(e.dst for e in s.edges)
    out = {}
    for e in s.edges:
        out.setdefault(e.src, []).append(e.dst)
    ready = deque(n.id for n in s.nodes if indegree[n.id] == 0)
    seen = 0
    while ready:
        u = ready.popleft()
        seen += 1
        for v in out.get(u, ()):
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    return seen == len(s.nodes)


def reachable(s, start, reverse=False):
    """Node ids reachable from ``start`` following the edges (against them with reverse=True)."""
    adjacency = {}
    for e in s.edges:
        a, b = (e.dst, e.src) if reverse else (e.src, e.dst)
        adjacency.setdefault(a, []).append(b)
    seen, todo = {start}, [start]
    while todo:
        for v in adjacency.get(todo.pop(), ()):
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def by_kind(s, kind):
    return [n for n in s.nodes if n.kind == kind]


# ---- expression graphs ----------------------------------------------------------------------------------------
def test_forward_graph_of_an_expression():
    loss, params = small_graph()
    s = viz.graph_structure(loss, "forward", params=params)
    ops = [n.label for n in by_kind(s, "op")]
    assert ops == [("sum",), ("sum", "axis=1 keepdims=True"), ("mul",), ("tanh",), ("add",), ("matmul",)]
    assert {n.name for n in by_kind(s, "leaf")} == {"w", "b"}
    consts = by_kind(s, "const")
    assert sorted(n.label for n in consts) == [("const 2.0", "()"), ("x", "(4, 2)")]
    assert s.nodes[0].kind == "output" and s.nodes[0].label == ("output", "()")
    assert [n.id for n in s.nodes] == [f"n{i}" for i in range(len(s.nodes))]
    w_node = next(n for n in s.nodes if n.name == "w")
    matmul = next(n for n in s.nodes if n.name == "matmul")
    assert viz.GraphEdge(w_node.id, matmul.id, "(2, 3)") in s.edges
    assert len(s.edges) == 10 and s.total == 11 and s.omitted == 0


def test_backward_graph_of_an_expression():
    loss, params = small_graph()
    s = viz.graph_structure(loss, "backward", params=params)
    assert [n.name for n in by_kind(s, "vjp")] == ["SumBackward", "SumBackward", "MulBackward", "TanhBackward",
                                                   "AddBackward", "MatMulBackward"]
    leaves = by_kind(s, "leaf")
    assert sorted(n.label[:2] for n in leaves) == [("AccumulateGrad", "b"), ("AccumulateGrad", "w")]
    assert not by_kind(s, "const"), "inputs that need no gradient get no node in the backward graph"
    root = s.nodes[0]
    assert root.kind == "output" and reachable(s, root.id) == {n.id for n in s.nodes}
    add = next(n for n in s.nodes if n.name == "AddBackward")
    b_node = next(n for n in leaves if n.name == "b")
    assert viz.GraphEdge(add.id, b_node.id, "(3,)") in s.edges, "gradients flow from the op to the leaf"


def test_dot_text_holds_exactly_the_structure():
    loss, params = small_graph()
    for direction in viz.DIRECTIONS:
        s = viz.graph_structure(loss, direction, params=params)
        nodes, edges = parse_dot(viz.draw_graph(loss, direction, params=params).source)
        assert nodes == {n.id: "\\n".join(n.label) for n in s.nodes}
        assert Counter(edges) == Counter((e.src, e.dst, e.label) for e in s.edges)


UNARY = ["tanh", "exp", "abs", "relu"]
BINARY = ["add", "sub", "mul", "maximum"]


@st.composite
def expression_graphs(draw):
    """A random DAG of primitives over a few leaves and a constant; returns (root, ops made, leaves)."""
    leaves = [Tensor(np.linspace(-1, 1, 3) * (i + 1), requires_grad=True) for i in range(draw(st.integers(1, 3)))]
    values = [*leaves, Tensor(np.full(3, 0.5))]
    made = []
    for _ in range(draw(st.integers(1, 10))):
        a = values[draw(st.integers(0, len(values) - 1))]
        if draw(st.booleans()):
            out = getattr(a, draw(st.sampled_from(UNARY)))() if draw(st.booleans()) else -a
        else:
            b = values[draw(st.integers(0, len(values) - 1))] if draw(st.booleans()) else 1.5
            out = getattr(a, draw(st.sampled_from(BINARY)))(b) if draw(st.booleans()) else a * b
        made.append(out)
        values.append(out)
    root = None
    for v in values:
        if v.requires_grad:
            term = v.sum()
            made.append(term)
            root = term if root is None else root + term
            made.append(root)
    return root, {id(t._ctx): t._ctx for t in made if t._ctx is not None}, leaves


@given(expression_graphs(), st.sampled_from(viz.DIRECTIONS))
def test_random_expression_graphs_draw_every_op_and_leaf_once(case, direction):
    root, ops, leaves = case
    s = viz.graph_structure(root, direction, max_nodes=10_000)
    op_kind = "op" if direction == "forward" else "vjp"
    drawn_ops = [id(n.obj) for n in by_kind(s, op_kind)]
    assert len(drawn_ops) == len(set(drawn_ops)) and set(drawn_ops) == set(ops)
    assert sorted(id(n.obj) for n in by_kind(s, "leaf")) == sorted(id(t) for t in leaves)
    constant_slots = sum(child is None for node in ops.values() for child in node.next)
    assert len(by_kind(s, "const")) == (constant_slots if direction == "forward" else 0)
    assert len(by_kind(s, "output")) == 1 and len(s.nodes) == 1 + len(ops) + len(leaves) + len(by_kind(s, "const"))
    used = sum(direction == "forward" or child is not None for node in ops.values() for child in node.next)
    assert len(s.edges) == used + 1
    assert is_acyclic(s)
    assert reachable(s, "n0", reverse=direction == "forward") == {n.id for n in s.nodes}


def test_drawable_after_backward_and_unchanged():
    loss, params = small_graph()
    before = {d: viz.draw_graph(loss, d, params=params).source for d in viz.DIRECTIONS}
    loss.backward()
    assert loss.grad_fn.freed
    for d in viz.DIRECTIONS:
        after = viz.draw_graph(loss, d, params=params).source
        # constant inputs are known only by shape once a freeing backward dropped the op's inputs
        assert after == before[d].replace('"const 2.0\\n()"', '"const\\n()"').replace('"x\\n', '"input\\n')


def test_show_grads_and_dtypes():
    loss, params = small_graph()
    s = viz.graph_structure(loss, "backward", params=params, show_grads=True, show_dtypes=True)
    assert all(n.label[-1] == "grad: None" for n in by_kind(s, "leaf"))
    loss.backward()
    s = viz.graph_structure(loss, "backward", params=params, show_grads=True, show_dtypes=True)
    for n in by_kind(s, "leaf"):
        assert n.label[-2] == "float64"
        assert n.label[-1] == f"‖grad‖ = {np.linalg.norm(params[n.name].grad.data):.4g}"
    assert all(e.label.endswith("float64") for e in s.edges)
    bare = viz.graph_structure(loss, "forward", params=params, show_shapes=False)
    assert all(e.label == "" for e in bare.edges) and "->" in viz.draw_graph(loss, show_shapes=False).source
    assert all(len(n.label) == 1 for n in bare.nodes if n.kind != "op"), "no shape lines in data nodes"


def test_labels_are_escaped():
    w = Tensor([1.0, 2.0], requires_grad=True)
    nasty = 'w"<b>\\l\nx'
    loss = (w * w).sum()
    source = viz.draw_graph(loss, "backward", params={nasty: w}).source
    nodes, _ = parse_dot(source)
    assert 'w\\"<b>\\\\l x' in "".join(nodes.values())
    if HAS_DOT:  # dot reads it and shows the name literally (no HTML label, no \l justification)
        svg = viz.draw_graph(loss, "backward", params={nasty: w}).pipe(format="svg").decode()
        assert "w&quot;&lt;b&gt;\\l x" in svg


def test_op_arguments_in_labels():
    a = Tensor(np.arange(24.0).reshape(2, 3, 4), requires_grad=True)
    out = a[0, 1:, ::2].pad(((1, 0), (0, 2))).max(axis=0)
    labels = [n.label for n in by_kind(viz.graph_structure(out), "op")]
    assert labels == [("max", "axis=0"), ("pad", "pad_width=((1, 0), (0, 2)) value=0.0"),
                      ("getitem", "index=(0, 1:, ::2)")]
    many = viz.op_label(type("Node", (), {"name": "Conv2d", "params": {
        "stride": (1, 1), "padding": (2, 2), "dilation": (1, 1), "groups": 1, "bias": None, "flag": False}})())
    assert many == ("conv2d", "stride=(1, 1) padding=(2, 2)", "dilation=(1, 1) groups=1")


def test_output_without_graph():
    w = Tensor([1.0, 2.0], requires_grad=True)
    s = viz.graph_structure(w, "backward", params={"w": w})
    assert [(n.kind, n.label[:2]) for n in s.nodes] == [("output", ("output grad", "(2,)")),
                                                        ("leaf", ("AccumulateGrad", "w"))]
    c = viz.graph_structure(Tensor([1.0]))
    assert [n.kind for n in c.nodes] == ["output", "const"] and len(c.edges) == 1


def test_bad_arguments():
    loss, _ = small_graph()
    with pytest.raises(ValueError, match="direction"):
        viz.draw_graph(loss, direction="sideways")
    with pytest.raises(TypeError, match="draw_graph: direction must be 'forward' or 'backward', got None"):
        viz.draw_graph(loss, direction=None)
    with pytest.raises(ValueError, match="draw_graph: max_nodes must be >= 2, got 1"):
        viz.draw_graph(loss, max_nodes=1)
    for junk in (True, 2.5, "500"):
        with pytest.raises(TypeError, match="draw_graph: max_nodes must be an int"):
            viz.draw_graph(loss, max_nodes=junk)
    assert viz.graph_structure(loss, max_nodes=np.int64(500)).nodes
    with pytest.raises(TypeError, match="Tensor"):
        viz.draw_graph(np.ones(3))
    with pytest.raises(TypeError, match="params"):
        viz.draw_graph(loss, params=3)
    with pytest.raises(TypeError, match="map names to Tensors"):
        viz.draw_graph(loss, params={"w": np.ones(3)})


# ---- module clusters -------------------------------------------------------------------------------------------
class Block:
    """Stands in for an nn.Module call: ops made inside ``module_scope(self)``."""


class Act:
    pass


def test_clusters_nest_and_separate_calls():
    block, act = Block(), Act()
    x = Tensor([1.0, 2.0], requires_grad=True)
    with module_scope(block):
        with module_scope(act):
            y = x.tanh()
        y = y * 3.0
        with module_scope(act):  # the same module called twice: two boxes
            y = y.tanh()
    loss = y.sum()
    s = viz.graph_structure(loss)
    assert [(c.label, c.parent) for c in s.clusters] == [("Block", None), ("Act", 0), ("Act", 0)]
    cluster_of = {n.name: n.cluster for n in by_kind(s, "op")}
    assert cluster_of == {"sum": None, "tanh": 2, "mul": 0}  # the tanh nearer the output is in cluster 1
    assert [n.cluster for n in by_kind(s, "op") if n.name == "tanh"] == [1, 2]
    source = viz.draw_graph(loss).source
    assert source.count("subgraph cluster_") == 3 and source.count("{") == source.count("}")
    assert re.search(r"subgraph cluster_0 \{\n\t\tgraph \[label=\"Block\"", source)
    assert not viz.graph_structure(loss, cluster_modules=False).clusters
    assert {n.cluster for n in by_kind(viz.graph_structure(loss, "backward"), "vjp")} == {None, 0, 1, 2}


# ---- limits, determinism, higher order ---------------------------------------------------------------------------
def test_max_nodes_guard_says_what_it_cut():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(50):
        y = y * 1.0
    with pytest.warns(UserWarning, match=r"has 102 nodes; drew the 10 nearest the output and cut 92"):
        s = viz.graph_structure(y, max_nodes=10)
    assert len(s.nodes) == 11 and s.omitted == 92
    cut = s.nodes[-1]
    assert cut.kind == "cut" and cut.label == ("... 92 more nodes not drawn", "(max_nodes=10)")
    assert all(n.kind != "leaf" for n in s.nodes)
    assert reachable(s, "n0", reverse=True) == {n.id for n in s.nodes}
    with pytest.warns(UserWarning, match="max_nodes"):
        source = viz.draw_graph(y, max_nodes=10).source
    assert "92 more nodes not drawn" in source
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert viz.graph_structure(y, max_nodes=102).omitted == 0


def test_100k_op_chain_draws_without_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    s = viz.graph_structure(y, "backward", max_nodes=200_000)
    assert len(s.nodes) == 100_002 and len(s.edges) == 100_001 and s.nodes[-1].kind == "leaf"
    nodes, edges = parse_dot(viz.draw_graph(y, "backward", max_nodes=200_000).source)
    assert len(nodes) == 100_002 and len(edges) == 100_001 and nodes["n100001"] == "AccumulateGrad\\n(1,)"
    with pytest.warns(UserWarning, match="cut 199502"):
        source = viz.draw_graph(y, "forward").source
    assert source.count(" -> ") > 499


def test_same_graph_same_text():
    first, params = small_graph()
    again, params_again = small_graph()
    a = viz.draw_graph(first, "backward", params=params).source
    assert a == viz.draw_graph(first, "backward", params=params).source
    assert a == viz.draw_graph(again, "backward", params=params_again).source, "ids come from traversal, not id()"


def test_second_order_graph():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    y = (x.tanh() * x).sum()
    (g,) = grad(y, x, create_graph=True)
    s = viz.graph_structure(g, "backward", params={"x": x})
    names = Counter(n.name for n in by_kind(s, "vjp"))
    # dy/dx = tanh(x) + x (1 - tanh^2 x): its graph runs through the forward nodes (TanhBackward) again
    assert names["TanhBackward"] == 1 and names["MulBackward"] >= 2
    assert [n.name for n in by_kind(s, "leaf")] == ["x"]
    assert reachable(s, "n0") == {n.id for n in s.nodes} and is_acyclic(s)
    (h,) = grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 2 * (1 - np.tanh(x.data) ** 2) * (1 - x.data * np.tanh(x.data)))
    assert viz.draw_graph(g, "forward", params={"x": x}).source.count("tanh") == 1


# ---- rendering -------------------------------------------------------------------------------------------------
@NEEDS_DOT
def test_render_svg(tmp_path):
    loss, params = small_graph()
    path = viz.render(viz.draw_graph(loss, "backward", params=params), tmp_path / "sub" / "graph.svg")
    text = path.read_text()
    assert path == tmp_path / "sub" / "graph.svg" and "<svg" in text and "MatMulBackward" in text
    bundle = viz.draw_graph(loss)._repr_mimebundle_(include=["image/svg+xml"])
    assert "<svg" in bundle["image/svg+xml"], "Jupyter's inline display works"


def test_missing_dot_names_the_fix(monkeypatch, tmp_path):
    loss, params = small_graph()
    graph = viz.draw_graph(loss, params=params)
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None)
    with pytest.raises(viz.GraphvizNotFoundError, match="apt-get install graphviz") as info:
        viz.render(graph, tmp_path / "g.png")  # PNG needs dot; SVG falls back (tests/test_viz_graphviz.py)
    assert "brew install graphviz" in str(info.value) and "conda" in str(info.value)
    assert not (tmp_path / "g.png").exists()
    assert graph.source.startswith("digraph forward_graph {"), "the DOT text needs no Graphviz"
    with pytest.raises(ValueError, match="format"):
        viz.render(graph, tmp_path / "g.xyz", format="xyz")


def _seed_backward_structure():
    import tinygrad_cnn as tg
    from tinygrad_cnn import models
    from tinygrad_cnn.nn import functional as F

    tg.manual_seed(0)
    model = models.SeedCNN()
    loss = F.cross_entropy(model(tg.randn(2, 1, 28, 28)), np.array([3, 7]))
    return model, viz.graph_structure(loss, "backward", params=model)


def test_tutorial_cnn_backward_graph_has_the_expected_vjp_nodes():
    from collections import Counter

    _, s = _seed_backward_structure()
    vjps = Counter(n.name for n in s.nodes if n.kind == "vjp")
    # conv (bias fused), relu, max-pool, flatten, 2 linear layers (x W^T + b, one node each), relu, cross-entropy
    # (log-softmax, then the fused negative log-likelihood with its mean)
    assert vjps == Counter({"Conv2dBackward": 1, "MaxPool2dBackward": 1, "ReluBackward": 2, "LinearBackward": 2,
                            "ReshapeBackward": 1, "LogSoftmaxBackward": 1, "NLLLossBackward": 1})
    assert len(s.nodes) == 16 and len(s.edges) == 15


def test_tutorial_cnn_backward_graph_reaches_every_parameter():
    model, s = _seed_backward_structure()
    children: dict[str, list[str]] = {}
    for e in s.edges:
        children.setdefault(e.src, []).append(e.dst)
    root = s.nodes[0].id
    seen, stack = {root}, [root]
    while stack:
        for nxt in children.get(stack.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    leaves = {id(n.obj) for n in s.nodes if n.kind == "leaf" and n.id in seen}
    assert leaves == {id(p) for p in model.parameters()}
    names = {line for n in s.nodes if n.kind == "leaf" for line in n.label}
    assert {"conv.weight", "fc1.weight", "fc2.bias"} <= names


# ---- the CNNs ------------------------------------------------------------------------------------------------------
def cnn_loss(model_class):
    import tinygrad_cnn as tc
    from tinygrad_cnn.nn import functional as F

    tc.manual_seed(0)
    model = model_class()
    x = Tensor(np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32))
    return model, F.cross_entropy(model(x), Tensor(np.array([0, 1, 2, 3])))


# cross_entropy = NLLLoss(LogSoftmax(z)) (the mean inside NLLLoss);
# each nn.Linear is one Linear node (x W^T + b); the Conv2d one Conv2d node (its bias is an input of the primitive);
# then two ReLUs, one MaxPool2d and the flatten's Reshape.
SEED_VJPS = {"NLLLossBackward": 1, "LogSoftmaxBackward": 1, "LinearBackward": 2, "ReluBackward": 2,
             "ReshapeBackward": 1, "MaxPool2dBackward": 1, "Conv2dBackward": 1}


def test_seed_cnn_backward_graph():
    from tinygrad_cnn.models import SeedCNN

    model, loss = cnn_loss(SeedCNN)
    s = viz.graph_structure(loss, "backward", params=model)
    assert Counter(n.name for n in by_kind(s, "vjp")) == SEED_VJPS
    shapes = {name: p.shape for name, p in model.named_parameters()}
    leaves = by_kind(s, "leaf")
    assert sorted(n.name for n in leaves) == sorted(shapes) and len(shapes) == 6
    assert {n.id for n in leaves} <= reachable(s, "n0"), "the loss reaches every parameter"
    for leaf in leaves:
        incoming = [e for e in s.edges if e.dst == leaf.id]
        assert [e.label for e in incoming] == [str(shapes[leaf.name])]
        assert leaf.label == ("AccumulateGrad", leaf.name, str(shapes[leaf.name])) and s.node(leaf.id) is leaf
    assert len(s.nodes) == 1 + sum(SEED_VJPS.values()) + 6 and len(s.edges) == len(s.nodes) - 1 and is_acyclic(s)
    nodes, edges = parse_dot(viz.draw_graph(loss, "backward", params=model).source)
    assert sum(label.startswith("AccumulateGrad") for label in nodes.values()) == 6 and len(edges) == len(s.edges)
    assert [c.label for c in s.clusters] == ["SeedCNN", "fc2 (Linear)", "fc1 (Linear)", "pool (MaxPool2d)",
                                             "conv (Conv2d)"]

    loss.backward()  # freed, still drawable, now with gradient norms
    after = viz.graph_structure(loss, "backward", params=model, show_grads=True)
    assert [n.name for n in after.nodes] == [n.name for n in s.nodes] and after.edges == s.edges
    for leaf in by_kind(after, "leaf"):
        grad_of = dict(model.named_parameters())[leaf.name].grad
        assert leaf.label[-1] == f"‖grad‖ = {np.linalg.norm(grad_of.data.astype(np.float64)):.4g}"


def test_seed_cnn_forward_graph():
    from tinygrad_cnn.models import SeedCNN

    model, loss = cnn_loss(SeedCNN)
    s = viz.graph_structure(loss, "forward", params=model)
    conv = next(n for n in by_kind(s, "op") if n.name == "conv2d")
    assert "stride=(1, 1)" in " ".join(conv.label) and s.clusters[conv.cluster].label == "conv (Conv2d)"
    inputs = [n for n in by_kind(s, "const") if n.label[-1] == "(4, 1, 28, 28)"]
    assert len(inputs) == 1 and viz.GraphEdge(inputs[0].id, conv.id, "(4, 1, 28, 28)") in s.edges
    assert {n.name for n in by_kind(s, "leaf")} == {name for name, _ in model.named_parameters()}
    assert is_acyclic(s) and reachable(s, "n0", reverse=True) == {n.id for n in s.nodes}


def test_lenet5_backward_graph_and_clusters():
    from tinygrad_cnn.models import LeNet5

    model, loss = cnn_loss(LeNet5)
    s = viz.graph_structure(loss, "backward", params=model)
    names = Counter(n.name for n in by_kind(s, "vjp"))
    assert names["Conv2dBackward"] == 2 and names["MaxPool2dBackward"] == 2 and names["LinearBackward"] == 3
    leaves = by_kind(s, "leaf")
    assert len(leaves) == 10 and {n.id for n in leaves} <= reachable(s, "n0")
    labels = Counter(c.label for c in s.clusters)
    assert labels["pool (MaxPool2d)"] == 2, "the pool module is called twice: two boxes"
    assert all(c.parent == 0 for c in s.clusters[1:]) and s.clusters[0].label == "LeNet5"
    pools = [n.cluster for n in s.nodes if n.name == "MaxPool2dBackward"]
    assert len(set(pools)) == 2
