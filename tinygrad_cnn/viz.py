"""See the graph behind a tensor with Graphviz.

* The **forward** graph: data nodes (the output, parameters by name, other leaves, inputs and constants) and op
  nodes (a primitive's name and arguments, e.g. ``conv2d stride=(1, 1) padding=(0, 0)``); an edge ``a -> op``
  carries the array ``a`` into the op and is labelled with its shape.
* The **backward** graph: one node per VJP (``Conv2dBackward``, ``MaxPool2dBackward``, ...), edges in the
  direction gradients flow, from the output's gradient to the ``AccumulateGrad`` nodes of the leaves that receive
  ``.grad``; an edge into a node carries $\\partial L / \\partial x$ for one input $x$, so it has $x$'s shape.

``graph_structure`` walks the graph breadth-first from the output, iteratively (any depth), into plain nodes and
edges whose ids follow the traversal order, so the same graph always gives the same text. ``draw_graph`` turns that
into a ``graphviz.Digraph`` (its ``.source`` is the DOT text; Jupyter shows it inline), and ``render`` runs
Graphviz's ``dot`` to write an SVG (or PNG, PDF, ...). Freed graphs (after ``backward()`` without
``retain_graph``) keep their edges, shapes and op arguments, so they draw the same, and so does the graph of a
gradient computed with ``create_graph=True`` (second order).
"""

from __future__ import annotations

import math
import re
import shutil
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from ._checks import as_choice, as_int
from .autograd import Function
from .tensor_class import Tensor

__all__ = ["GraphCluster", "GraphEdge", "GraphNode", "GraphStructure", "GraphvizNotFoundError", "draw_graph",
           "graph_structure", "render"]

DIRECTIONS = ("forward", "backward")
INSTALL_HINT = ("install Graphviz: `apt-get install graphviz` (Debian/Ubuntu), `brew install graphviz` (macOS) or "
                "`conda install -c conda-forge graphviz`")


# ---- the structured graph ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphNode:
    """One node of the drawing.

    ``kind`` is ``"op"`` (forward primitive), ``"vjp"`` (backward node), ``"leaf"`` (a tensor with
    ``requires_grad`` and no producer: a parameter, or in the backward graph its ``AccumulateGrad``),
    ``"const"`` (an input that needs no gradient), ``"output"`` (the tensor drawn) or ``"cut"`` (what
    ``max_nodes`` left out). ``obj`` is the Function or Tensor behind the node (None for ``"cut"``).
    """

    id: str
    kind: str
    name: str
    label: tuple[str, ...]
    cluster: int | None = None
    obj: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class GraphEdge:
    """An edge ``src -> dst``: data flowing forward, or a gradient flowing backward; ``label`` is its shape."""

    src: str
    dst: str
    label: str


@dataclass(frozen=True)
class GraphCluster:
    """One ``nn.Module`` call: its ops are drawn inside a box labelled ``label``, nested in its ``parent`` call."""

    index: int
    label: str
    parent: int | None


@dataclass
class GraphStructure:
    """Nodes (ids ``n0, n1, ...`` in breadth-first order from the output), edges and module clusters."""

    direction: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    clusters: list[GraphCluster]
    total: int  # nodes in the whole graph (cut node not counted)
    omitted: int  # of those, how many max_nodes left out

    def node(self, node_id: str) -> GraphNode:
        """The node with id ``node_id``."""
        return self.nodes[int(node_id[1:])]


class GraphvizNotFoundError(RuntimeError):
    """Graphviz's ``dot`` program is not installed; the DOT text (``graph.source``) is still available."""


# ---- labels ---------------------------------------------------------------------------------------------
_OP_NAMES = {"MatMul": "matmul", "GetItem": "getitem"}
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_MAX_ARG_CHARS = 40


def op_name(node: Function) -> str:
    """The forward name of a primitive: its class's ``op_name`` if set, else snake case (``MaxPool2d`` ->
    ``max_pool2d``)."""
    explicit = getattr(type(node), "op_name", None)
    if isinstance(explicit, str):
        return explicit
    return _OP_NAMES.get(node.name) or _CAMEL.sub("_", node.name).lower()


def _fmt_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)}"
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if isinstance(value, slice):
        parts = ["" if v is None else str(v) for v in (value.start, value.stop, value.step)]
        return ":".join(parts[:2] if value.step is None else parts)
    if value is Ellipsis:
        return "..."
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_fmt_value(v) for v in value)
        return f"({inner},)" if isinstance(value, tuple) and len(value) == 1 else (
            f"({inner})" if isinstance(value, tuple) else f"[{inner}]")
    if isinstance(value, (float, np.floating)):
        text = f"{float(value):.4g}"
        return text if any(c in text for c in ".einf") else text + ".0"  # 2.0 stays "2.0", not "2"
    return str(value)


def _short(text: str) -> str:
    return text if len(text) <= _MAX_ARG_CHARS else text[:_MAX_ARG_CHARS - 1] + "…"


def op_label(node: Function, width: int = 36) -> tuple[str, ...]:
    """``name`` then ``key=value ...`` from the op's keyword params (None and False left out), wrapped at
    ``width`` characters."""
    lines = [op_name(node)]
    line = ""
    for key, value in node.params.items():
        if value is None or value is False:
            continue
        arg = f"{key}={_short(_fmt_value(value))}"
        if line and len(line) + 1 + len(arg) > width:
            lines.append(line)
            line = arg
        else:
            line = f"{line} {arg}" if line else arg
    if line:
        lines.append(line)
    return tuple(lines)


def _fmt_shape(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def _dot_text(lines: Iterable[str]) -> str:
    """The body of a quoted DOT string showing ``lines``: backslashes and quotes escaped, lines joined by ``\\n``."""
    return "\\n".join(line.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") for line in lines)


# ---- names of parameters and modules ------------------------------------------------------------------------
def _is_module(obj: Any) -> bool:
    return callable(getattr(obj, "named_parameters", None)) and callable(getattr(obj, "named_modules", None))


def _names(params: Any) -> tuple[dict[int, str], dict[int, str], list[Tensor]]:
    """(tensor id -> name, module id -> name, the named tensors, kept alive while the ids are in use)."""
    if params is None:
        return {}, {}, []
    modules: dict[int, str] = {}
    if _is_module(params):
        pairs = list(params.named_parameters())
        for name, module in params.named_modules():
            modules.setdefault(id(module), name or type(module).__name__)
        modules[id(params)] = type(params).__name__
    elif isinstance(params, Mapping):
        pairs = list(params.items())
    elif isinstance(params, Iterable) and not isinstance(params, (str, bytes, Tensor)):
        pairs = list(params)
    else:
        raise TypeError(f"draw_graph: params must be an nn.Module, a dict name -> Tensor or (name, Tensor) pairs, "
                        f"got {type(params).__name__}")
    tensors: dict[int, str] = {}
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Tensor)):
            raise TypeError(f"draw_graph: params must map names to Tensors, got the entry {pair!r:.60}")
        tensors.setdefault(id(pair[1]), str(pair[0]))
    return tensors, modules, [t for _, t in pairs]


def _module_label(module: object, module_names: dict[int, str]) -> str:
    cls = type(module).__name__
    name = module_names.get(id(module))
    return cls if name is None or name == cls else f"{name} ({cls})"


# ---- the walk ----------------------------------------------------------------------------------------------
def _walk(tensor: Tensor, with_constants: bool) -> tuple[list[tuple], list[tuple[int, int, tuple, Any]]]:
    """Vertices breadth-first from the output, and edges ``(producer, consumer, shape, dtype)`` between them.

    A vertex is ``("output", tensor)``, ``("op", node)``, ``("leaf", tensor)``, ``("root", tensor)`` (an output
    made by no op) or ``("const", node, slot)`` (input ``slot`` of ``node`` needs no gradient: one vertex per
    use, since after backward nothing tells two uses of one constant apart).
    """
    vertices: list[tuple] = [("output", tensor)]
    edges: list[tuple[int, int, tuple, Any]] = []
    root = tensor._ctx
    if root is None:
        vertices.append(("root", tensor))
        edges.append((1, 0, tensor.shape, tensor.dtype))
        return vertices, edges
    vertices.append(("op", root))
    edges.append((1, 0, tensor.shape, tensor.dtype))
    index = {id(root): 1}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        consumer = index[id(node)]
        for slot, child in enumerate(node.next):
            shape = node.input_shapes[slot]
            if child is None:
                if with_constants:
                    vertices.append(("const", node, slot))
                    edges.append((len(vertices) - 1, consumer, shape, _const_tensor(node, slot)))
                continue
            producer = index.get(id(child))
            if producer is None:
                producer = index[id(child)] = len(vertices)
                if isinstance(child, Function):
                    vertices.append(("op", child))
                    queue.append(child)
                else:
                    vertices.append(("leaf", child))
            edges.append((producer, consumer, shape, child.out_dtype if isinstance(child, Function) else child.dtype))
    return vertices, edges


def _const_tensor(node: Function, slot: int) -> Tensor | None:
    """The constant input itself while the node still holds its inputs (before a freeing backward)."""
    inputs = node._inputs if not node.freed else ()
    return inputs[slot] if slot < len(inputs) else None


# ---- clusters ----------------------------------------------------------------------------------------------
class _Clusters:
    """Module calls as nested clusters, numbered in order of first use.

    A node's ``scope`` is the tuple of modules whose ``__call__`` was running, made anew for each call, so its
    identity tells two calls of one innermost module apart (``self.pool`` used twice gives two boxes). A module
    that itself calls sub-modules gets one box per graph: the calls of its children do not record which of its
    calls they belong to.
    """

    def __init__(self, scopes: list[tuple], module_names: dict[int, str]) -> None:
        self.module_names = module_names
        self.parents = {id(m) for scope in scopes for m in scope[:-1]}
        self.index: dict[tuple, int] = {}
        self.clusters: list[GraphCluster] = []

    def of(self, scope: tuple) -> int | None:
        parent: int | None = None
        key: tuple = ()
        for depth, module in enumerate(scope):
            innermost = depth == len(scope) - 1 and id(module) not in self.parents
            key = (key, id(module), id(scope) if innermost else None)
            found = self.index.get(key)
            if found is None:
                found = self.index[key] = len(self.clusters)
                self.clusters.append(GraphCluster(found, _module_label(module, self.module_names), parent))
            parent = found
        return parent


# ---- nodes --------------------------------------------------------------------------------------------------
def _grad_line(t: Tensor) -> str:
    if t.grad is None:
        return "grad: None"
    return f"‖grad‖ = {float(np.linalg.norm(t.grad.data.astype(np.float64, copy=False))):.4g}"


def _data_lines(title: list[str], t: Tensor | None, shape: tuple, show_shapes: bool, show_dtypes: bool,
                show_grads: bool) -> tuple[str, ...]:
    lines = list(title)
    if show_shapes:
        lines.append(_fmt_shape(shape))
    if show_dtypes and t is not None:
        lines.append(str(t.dtype))
    if show_grads and t is not None and t.requires_grad and t.is_leaf:
        lines.append(_grad_line(t))
    return tuple(lines)


def _const_title(t: Tensor | None, shape: tuple, names: dict[int, str]) -> list[str]:
    if t is not None and id(t) in names:
        return [names[id(t)]]
    if math.prod(shape) == 1:
        return ["const" if t is None else f"const {_fmt_value(t.data.reshape(()).item())}"]
    return ["input"]


def _describe(vertex: tuple, backward: bool, names: dict[int, str], show_shapes: bool, show_dtypes: bool,
              show_grads: bool) -> tuple[str, str, tuple[str, ...], Any]:
    """(kind, name, label lines, object) of one vertex of ``_walk``."""
    kind, obj = vertex[0], vertex[1]
    if kind == "op":
        if backward:
            return "vjp", f"{obj.name}Backward", (f"{obj.name}Backward",), obj
        return "op", op_name(obj), op_label(obj), obj
    if kind == "output":
        name = "output grad" if backward else "output"
        return "output", name, _data_lines([name], obj, obj.shape, show_shapes, show_dtypes, False), obj
    if kind == "const":
        slot = vertex[2]
        t, shape = _const_tensor(obj, slot), obj.input_shapes[slot]
        label = _data_lines(_const_title(t, shape, names), t, shape, show_shapes, show_dtypes, False)
        return "const", label[0], label, t
    if not obj.requires_grad:  # an output made by no op, needing no gradient
        name = names.get(id(obj), "input")
        return "const", name, _data_lines([name], obj, obj.shape, show_shapes, show_dtypes, False), obj
    name = names.get(id(obj), "leaf")
    title = ["AccumulateGrad", *([name] if id(obj) in names else [])] if backward else [name]
    return "leaf", name, _data_lines(title, obj, obj.shape, show_shapes, show_dtypes, show_grads), obj


def graph_structure(tensor: Tensor, direction: str = "forward", params: Any = None, show_shapes: bool = True,
                    show_dtypes: bool = False, show_grads: bool = False, cluster_modules: bool = True,
                    max_nodes: int = 500) -> GraphStructure:
    """The nodes, edges and module clusters that ``draw_graph`` draws (same arguments), as plain data."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    as_choice("draw_graph", "direction", direction, DIRECTIONS)
    max_nodes = as_int("draw_graph", "max_nodes", max_nodes, low=2)
    backward = direction == "backward"
    tensor_names, module_names, _named = _names(params)
    vertices, raw_edges = _walk(tensor, with_constants=not backward)
    total = len(vertices)
    kept = vertices[:max_nodes]
    clusters = _Clusters([v[1].scope for v in kept if v[0] == "op"], module_names) if cluster_modules else None

    nodes: list[GraphNode] = []
    for i, vertex in enumerate(kept):
        kind, name, label, obj = _describe(vertex, backward, tensor_names, show_shapes, show_dtypes, show_grads)
        cluster = clusters.of(vertex[1].scope) if clusters is not None and vertex[0] == "op" else None
        nodes.append(GraphNode(f"n{i}", kind, name, label, cluster, obj))

    edges: list[GraphEdge] = []
    cut_id = f"n{len(kept)}"
    crossing: list[tuple[str, str]] = []
    for producer, consumer, shape, dtype in raw_edges:
        src, dst = (consumer, producer) if backward else (producer, consumer)
        text = _edge_label(shape, dtype, show_shapes, show_dtypes)
        if src < max_nodes and dst < max_nodes:
            edges.append(GraphEdge(f"n{src}", f"n{dst}", text))
        elif src < max_nodes or dst < max_nodes:
            pair = (f"n{src}", cut_id) if src < max_nodes else (cut_id, f"n{dst}")
            crossing.append(pair)
    omitted = total - len(kept)
    if omitted:
        nodes.append(GraphNode(cut_id, "cut", "cut",
                               (f"... {omitted} more nodes not drawn", f"(max_nodes={max_nodes})")))
        edges.extend(GraphEdge(src, dst, "") for src, dst in dict.fromkeys(crossing))
        warnings.warn(f"draw_graph: the {direction} graph has {total} nodes; drew the {len(kept)} nearest the "
                      f"output and cut {omitted} (pass max_nodes={total} to draw them all)", stacklevel=3)
    return GraphStructure(direction, nodes, edges, clusters.clusters if clusters is not None else [], total, omitted)


def _edge_label(shape: tuple, dtype: Any, show_shapes: bool, show_dtypes: bool) -> str:
    parts = [_fmt_shape(shape)] if show_shapes else []
    if show_dtypes and dtype is not None:
        parts.append(str(dtype.dtype if isinstance(dtype, Tensor) else np.dtype(dtype)))
    return " ".join(parts)


# ---- drawing -----------------------------------------------------------------------------------------------
_NODE_STYLE = {
    "op": 'shape=box style="rounded,filled" fillcolor="#dbe9f6"',
    "vjp": 'shape=box style="rounded,filled" fillcolor="#f6e3d4"',
    "leaf": 'shape=box style=filled fillcolor="#d7f0d2"',
    "const": 'shape=box style=filled fillcolor="#eeeeee"',
    "output": 'shape=box style=filled fillcolor="#f4d6dc"',
    "cut": 'shape=note style=filled fillcolor="#fff3bf"',
}
_CLUSTER_STYLE = 'style="rounded,dashed" color="#8a8a8a" fontsize=9 labeljust=l'


def draw_graph(tensor: Tensor, direction: str = "forward", params: Any = None, show_shapes: bool = True,
               show_dtypes: bool = False, show_grads: bool = False, cluster_modules: bool = True,
               max_nodes: int = 500) -> graphviz.Digraph:
    """The forward or backward graph of ``tensor`` as a ``graphviz.Digraph``.

    ``params``: an ``nn.Module`` (parameter names from ``named_parameters()``, module names for the clusters),
    a dict name -> Tensor, or (name, Tensor) pairs. ``show_shapes``/``show_dtypes`` label edges and data nodes;
    ``show_grads`` adds each leaf's $\\lVert \\text{grad} \\rVert_2$ (after a backward pass);
    ``cluster_modules`` boxes the ops of each module call; at most ``max_nodes`` nodes are drawn, the ones
    nearest the output, and a note node plus a warning say how many were cut.
    """
    s = graph_structure(tensor, direction, params, show_shapes, show_dtypes, show_grads, cluster_modules,
                        max_nodes)
    g = graphviz.Digraph(
        name=f"{direction}_graph",
        graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "10", "nodesep": "0.25",
                    "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.6"},
    )
    g.body.extend(_body_lines(s))
    return g


def _body_lines(s: GraphStructure) -> list[str]:
    """DOT statements for the nodes (inside their nested clusters) and edges of ``s``.

    Written directly as lines of ``Digraph.body``, in the format graphviz's own ``node``/``edge`` produce:
    every label is escaped by ``_dot_text``, and a 100,000-node graph takes a second rather than many.
    """
    members: dict[int | None, list[GraphNode]] = {}
    for node in s.nodes:
        members.setdefault(node.cluster, []).append(node)
    children: dict[int | None, list[GraphCluster]] = {}
    for cluster in s.clusters:
        children.setdefault(cluster.parent, []).append(cluster)

    lines: list[str] = []

    def add_nodes(cluster: int | None, indent: str) -> None:
        lines.extend(f'{indent}{n.id} [label="{_dot_text(n.label)}" {_NODE_STYLE[n.kind]}]\n'
                     for n in members.get(cluster, ()))

    add_nodes(None, "\t")
    # clusters nest as deep as modules do; an explicit stack of open clusters keeps the walk iterative
    stack: list[list[GraphCluster]] = [list(reversed(children.get(None, [])))]
    while stack:
        if not stack[-1]:
            stack.pop()
            if stack:
                lines.append("\t" * len(stack) + "}\n")
            continue
        cluster = stack[-1].pop()
        indent = "\t" * (len(stack) + 1)
        lines.append(f"{indent[:-1]}subgraph cluster_{cluster.index} {{\n")
        lines.append(f'{indent}graph [label="{_dot_text([cluster.label])}" {_CLUSTER_STYLE}]\n')
        add_nodes(cluster.index, indent)
        stack.append(list(reversed(children.get(cluster.index, []))))
    lines.extend(f'\t{e.src} -> {e.dst} [label="{_dot_text([e.label])}"]\n' if e.label else f"\t{e.src} -> {e.dst}\n"
                 for e in s.edges)
    return lines


def render(graph: graphviz.Digraph, path: str | Path, format: str = "svg") -> Path:
    """Write ``graph`` to ``path`` with Graphviz's ``dot`` in ``format`` ("svg", "png", "pdf", ...).

    Fails before doing any work when ``dot`` is not installed; ``graph.source`` (the DOT text) needs no Graphviz.
    """
    if format not in graphviz.FORMATS:
        raise ValueError(f"render: unknown format {format!r}; use one of Graphviz's, e.g. 'svg', 'png' or 'pdf'")
    if shutil.which("dot") is None:
        raise GraphvizNotFoundError(f"render: Graphviz's `dot` program was not found on PATH; {INSTALL_HINT}. "
                                    "Without it, graph.source still gives the DOT text.")
    path = Path(path)
    data = graph.pipe(format=format)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
