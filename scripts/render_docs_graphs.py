"""Regenerate the graph pictures of docs/graphs.md in docs/images (needs Graphviz's `dot`).

    python scripts/render_docs_graphs.py [--out docs/images] [--check]

Writes the forward and backward graphs of the tutorial CNN (SeedCNN with cross-entropy loss on a batch of 4),
the same backward graph with gradient norms, and with depth=1, show_saved, show_grad and a legend, the backward
graph of one image with each edge numbered by the engine step that sends it (number_steps), the backward
graph of the tutorial's own network (run from the first python block of docs/tutorial.md), the backward
graph of LeNet-5, a second-order graph (the graph of a gradient made with create_graph=True), and the backward
graphs of the examples of docs/worked_examples.md with each edge's gradient norm (show_grad), and prints the
node and edge counts of each. Each NAME.svg has its DOT text beside it as NAME.dot, and the SVG carries the
SHA-256 of that text in a comment, so tests/test_viz_graphviz.py can tell a stale picture from its generator
without depending on the Graphviz version that drew it. ``--check`` only compares, and exits 1 when one is stale.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, grad, manual_seed, viz
from tinygrad_cnn.models import LeNet5, SeedCNN
from tinygrad_cnn.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
BATCH = 4


def cnn_loss(model_class: type, batch: int = BATCH) -> tuple[object, Tensor]:
    """A freshly initialised model (seed 0) and its cross-entropy loss on a fixed batch of random images."""
    manual_seed(0)
    model = model_class()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((batch, 1, 28, 28)).astype(np.float32))
    y = Tensor(np.arange(batch) % 10)
    return model, F.cross_entropy(model(x), y)


def tutorial_loss() -> tuple[dict[str, Tensor], Tensor]:
    """The tutorial's own network: run the first python block of docs/tutorial.md (its parameters, its forward
    function and its batch ``x``) and the loss its section 3 draws."""
    page = (ROOT / "docs" / "tutorial.md").read_text(encoding="utf-8")
    first = re.search(r"^```python\n(.*?)^```", page, re.S | re.M)[1]
    namespace: dict[str, object] = {}
    with contextlib.redirect_stdout(io.StringIO()):  # the block prints its output's shape
        exec(compile(first, "docs/tutorial.md", "exec"), namespace)
    params, forward, x = namespace["params"], namespace["forward"], namespace["x"]
    return params, F.cross_entropy(forward(x, params), Tensor(np.array([0, 1, 2, 3])))


def second_order() -> tuple[Tensor, dict[str, Tensor]]:
    """g = d/dx sum(tanh(x) * w) with create_graph=True: the graph that computing d g / d w would walk."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (g,) = grad((x.tanh() * w).sum(), x, create_graph=True)
    return g, {"x": x, "w": w}


def worked_examples() -> Iterator[tuple[str, Tensor, dict[str, Tensor]]]:
    """(name, loss, params) of the four examples of docs/worked_examples.md, with the page's numbers."""
    x, y, z = (Tensor(v, requires_grad=True) for v in (-2.0, 5.0, -4.0))
    yield "worked_chain_rule", (x + y) * z, {"x": x, "y": y, "z": z}

    image = Tensor(np.array([[1, 0, 1, 0], [0, 1, 1, 0], [1, 0, 0, 1], [0, 1, 0, 1]], float).reshape(1, 1, 4, 4))
    f = Tensor(np.array([[0.5, -0.25], [0.25, 0.5]]).reshape(1, 1, 2, 2), requires_grad=True)
    w = Tensor(np.array([[0.3, -0.2, 0.1, 0.4, -0.3, 0.2, 0.1, 0.2, -0.1]]), requires_grad=True)
    out = F.linear(F.conv2d(image, f).sigmoid().flatten(1), w).sigmoid()
    yield "worked_sigmoid_net", ((1.0 - out) ** 2 / 2).sum(), {"f": f, "W": w}

    image = Tensor(np.array([[0.1, 0.2, 0.8, 0.6, 0.1, 0.4], [0.5, 0.2, 0.7, 0.1, 0.4, 0.5],
                             [0.4, 0.6, 0.7, 1.0, 0.3, 0.6], [0.7, 0.3, 0.0, 1.0, 0.3, 0.3],
                             [0.9, 0.6, 0.5, 0.8, 0.0, 0.7], [0.4, 0.1, 0.7, 0.9, 0.2, 0.6]]).reshape(1, 1, 6, 6))
    k = Tensor(np.array([[0.2, -0.1, 0.3], [0.1, 0.4, -0.2], [-0.3, 0.2, 0.1]]).reshape(1, 1, 3, 3),
               requires_grad=True)
    b1, w2, b2 = (Tensor(np.array(v), requires_grad=True) for v in ([-0.25], [[0.5, -0.4, 0.3, 0.8]], [0.1]))
    a2 = F.linear(F.max_pool2d(F.conv2d(image, k, b1).relu(), 2).flatten(1), w2, b2).sigmoid()
    yield ("worked_binary_classifier", F.binary_cross_entropy(a2, Tensor(np.ones((1, 1)))),
           {"K": k, "b1": b1, "W2": w2, "b2": b2})


HASH_MARK = "<!-- dot-sha256: "


def dot_hash(source: str) -> str:
    """The SHA-256 of a DOT text, as the pictures carry it."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def graphs() -> Iterator[tuple[str, str, viz.GraphStructure]]:
    """(name, DOT text, structure) of every picture, in order."""
    model, loss = cnn_loss(SeedCNN)
    for direction in viz.DIRECTIONS:
        yield (f"seed_{direction}", viz.draw_graph(loss, direction, params=model).source,
               viz.graph_structure(loss, direction, params=model))
    options = {"depth": 1, "show_saved": True, "show_grad": True}  # before backward: show_grad needs the graph
    yield ("seed_backward_options", viz.draw_graph(loss, "backward", params=model, legend=True, **options).source,
           viz.graph_structure(loss, "backward", params=model, **options))
    loss.backward()  # the freed graph still draws; now with the gradient norms of the parameters
    yield ("seed_backward_grads", viz.draw_graph(loss, "backward", params=model, show_grads=True).source,
           viz.graph_structure(loss, "backward", params=model))

    model, loss = cnn_loss(SeedCNN, batch=1)  # docs/backward_pass.md: one image, edges numbered by engine step
    yield ("seed_backward_steps", viz.draw_graph(loss, "backward", params=model, number_steps=True).source,
           viz.graph_structure(loss, "backward", params=model, number_steps=True))

    params, loss = tutorial_loss()  # docs/tutorial.md section 3: its graph, not SeedCNN's
    yield ("tutorial_backward", viz.draw_graph(loss, "backward", params=params).source,
           viz.graph_structure(loss, "backward", params=params))

    model, loss = cnn_loss(LeNet5)
    yield ("lenet5_backward", viz.draw_graph(loss, "backward", params=model).source,
           viz.graph_structure(loss, "backward", params=model))

    g, params = second_order()
    yield ("second_order_backward", viz.draw_graph(g, "backward", params=params).source,
           viz.graph_structure(g, "backward", params=params))

    for name, loss, params in worked_examples():  # docs/worked_examples.md: edges labelled with gradient norms
        yield (name, viz.draw_graph(loss, "backward", params=params, show_grad=True).source,
               viz.graph_structure(loss, "backward", params=params, show_grad=True))
    model, loss = cnn_loss(SeedCNN, batch=1)
    yield ("worked_seed_cnn", viz.draw_graph(loss, "backward", params=model, show_grad=True).source,
           viz.graph_structure(loss, "backward", params=model, show_grad=True))


def stale(out: Path) -> list[str]:
    """The pictures in ``out`` whose .dot differs from the generator's, or whose .svg was drawn from another."""
    found = []
    for name, source, _ in graphs():
        dot_file, svg_file = out / f"{name}.dot", out / f"{name}.svg"
        if (not dot_file.is_file() or dot_file.read_text(encoding="utf-8") != source or not svg_file.is_file()
                or f"{HASH_MARK}{dot_hash(source)} -->" not in svg_file.read_text(encoding="utf-8")):
            found.append(name)
    return found


def write(out: Path, name: str, source: str, structure: viz.GraphStructure) -> None:
    """NAME.dot and NAME.svg (drawn by Graphviz's dot, with the DOT text's hash in a comment) in ``out``."""
    svg = viz.render_source(source, "svg", fallback=False).data.decode("utf-8")
    head, sep, rest = svg.partition("<svg")
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.dot").write_text(source, encoding="utf-8")
    (out / f"{name}.svg").write_text(f"{head}{HASH_MARK}{dot_hash(source)} -->\n{sep}{rest}", encoding="utf-8")
    path = out / f"{name}.svg"
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{len(structure.nodes)} nodes, {len(structure.edges)} edges")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="folder for the SVG and DOT files")
    parser.add_argument("--check", action="store_true", help="only say which pictures are stale (exit 1 if any)")
    args = parser.parse_args()
    out = Path(args.out)
    if args.check:
        names = stale(out)
        print("stale: " + ", ".join(names) if names else "every picture matches its generator")
        sys.exit(1 if names else 0)
    for name, source, structure in graphs():
        write(out, name, source, structure)


if __name__ == "__main__":
    main()
