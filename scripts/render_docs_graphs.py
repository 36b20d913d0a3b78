"""Regenerate the graph pictures of docs/graphs.md in docs/images (needs Graphviz's `dot`).

    python scripts/render_docs_graphs.py [--out docs/images]

Writes the forward and backward graphs of the tutorial CNN (SeedCNN with cross-entropy loss on a batch of 4),
the backward graph of LeNet-5, and a second-order graph (the graph of a gradient made with create_graph=True),
and prints the node and edge counts of each.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, grad, manual_seed, viz
from tinygrad_cnn.models import LeNet5, SeedCNN
from tinygrad_cnn.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
BATCH = 4


def cnn_loss(model_class: type) -> tuple[object, Tensor]:
    """A freshly initialised model (seed 0) and its cross-entropy loss on a fixed batch of random images."""
    manual_seed(0)
    model = model_class()
    rng = np.random.default_rng(0)
    x = Tensor(rng.standard_normal((BATCH, 1, 28, 28)).astype(np.float32))
    y = Tensor(np.arange(BATCH) % 10)
    return model, F.cross_entropy(model(x), y)


def second_order() -> tuple[Tensor, dict[str, Tensor]]:
    """g = d/dx sum(tanh(x) * w) with create_graph=True: the graph that computing d g / d w would walk."""
    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    w = Tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True)
    (g,) = grad((x.tanh() * w).sum(), x, create_graph=True)
    return g, {"x": x, "w": w}


def write(graph, out: Path, name: str, structure: viz.GraphStructure) -> None:
    path = viz.render(graph, out / f"{name}.svg")
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: "
          f"{len(structure.nodes)} nodes, {len(structure.edges)} edges")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images"), help="folder for the SVG files")
    out = Path(parser.parse_args().out)

    model, loss = cnn_loss(SeedCNN)
    for direction in viz.DIRECTIONS:
        write(viz.draw_graph(loss, direction, params=model), out, f"seed_{direction}",
              viz.graph_structure(loss, direction, params=model))
    loss.backward()  # the freed graph still draws; now with the gradient norms of the parameters
    write(viz.draw_graph(loss, "backward", params=model, show_grads=True), out, "seed_backward_grads",
          viz.graph_structure(loss, "backward", params=model))

    model, loss = cnn_loss(LeNet5)
    write(viz.draw_graph(loss, "backward", params=model), out, "lenet5_backward",
          viz.graph_structure(loss, "backward", params=model))

    g, params = second_order()
    write(viz.draw_graph(g, "backward", params=params), out, "second_order_backward",
          viz.graph_structure(g, "backward", params=params))


if __name__ == "__main__":
    main()
