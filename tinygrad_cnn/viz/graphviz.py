"""See the graph behind a tensor with Graphviz.

* The **forward** graph: data nodes (the output, parameters by name, other leaves, inputs and constants) and op
  nodes (a primitive's name and arguments, e.g. ``conv2d stride=(1, 1) padding=(0, 0)``); an edge ``a -> op``
  carries the array ``a`` into the op and is labelled with its shape.
* The **backward** graph: one node per VJP (``Conv2dBackward``, ``MaxPool2dBackward``, ...), edges in the
  direction gradients flow, from the output's gradient to the ``AccumulateGrad`` nodes of the leaves that receive
  ``.grad``; an edge into a node carries $\\partial L / \\partial x$ for one input $x$, so it has $x$'s shape.

``graph_structure`` walks the graph breadth-first from the output, iteratively (any depth), into plain nodes and
edges whose ids follow the traversal order, so the same graph always gives the same text. ``draw_graph`` turns that
into a ``graphviz.Digraph`` (its ``.source`` is the DOT text; Jupyter shows it inline), and ``render`` writes it
as the file's suffix says (SVG, PNG, PDF or the DOT text) with Graphviz's ``dot``, or for SVG without a working
``dot`` with a fallback (``viz.dot``). Freed graphs (after ``backward()`` without ``retain_graph``) keep their
edges, shapes and op arguments, so they draw the same, and so does the graph of a gradient computed with
``create_graph=True`` (second order).

Options: ``depth`` collapses the module calls nested ``depth`` deep into one node each; ``show_saved`` lists what
each node keeps for its VJP; ``show_grad`` runs a backward pass (``.grad`` untouched) and labels each edge with the
norm of the gradient flowing along it; ``legend`` adds a key to the colours and shapes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import graphviz
import numpy as np

from .._checks import as_choice, as_int
from ..autograd import Function, grad, observe_backward
from ..tensor_class import Tensor
from .dot import FORMATS, INSTALL_HINT, GraphvizNotFoundError, render_source

__all__ = ["INSTALL_HINT", "GraphCluster", "GraphEdge", "GraphNode", "GraphStructure", "GraphvizNotFoundError",
           "RenderedPath", "draw_graph", "graph_structure", "legend_lines", "render", "saved_lines"]

DIRECTIONS = ("forward", "backward")


# ---- the structured graph ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GraphNode:
    """One node of the drawing.

    ``kind`` is ``"op"`` (forward primitive), ``"vjp"`` (backward node), ``"leaf"`` (a tensor with
    ``requires_grad`` and no producer: a parameter, or in the backward graph its ``AccumulateGrad``),
    ``"const"`` (an input that needs no gradient), ``"output"`` (the tensor drawn), ``"module"`` (a module call
    that ``depth`` collapsed) or ``"cut"`` (what ``max_nodes`` left out). ``obj`` is the Function or Tensor behind
    the node (for ``"module"`` the tuple of the collapsed nodes' objects; None for ``"cut"``).
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
def _walk(tensor: Tensor, with_constants: bool) -> tuple[list[tuple], list[tuple[int, int, tuple, Any, int | None]]]:
    """Vertices breadth-first from the output, and edges ``(producer, consumer, shape, dtype, slot)`` between them
    (``slot``: which input of the consumer's op the edge feeds; None for the edge into the output vertex).

    A vertex is ``("output", tensor)``, ``("op", node)``, ``("leaf", tensor)``, ``("root", tensor)`` (an output
    made by no op) or ``("const", node, slot)`` (input ``slot`` of ``node`` needs no gradient: one vertex per
    use, since after backward nothing tells two uses of one constant apart).
    """
    vertices: list[tuple] = [("output", tensor)]
    edges: list[tuple[int, int, tuple, Any, int | None]] = []
    root = tensor._ctx
    if root is None:
        vertices.append(("root", tensor))
        edges.append((1, 0, tensor.shape, tensor.dtype, None))
        return vertices, edges
    vertices.append(("op", root))
    edges.append((1, 0, tensor.shape, tensor.dtype, None))
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
                    edges.append((len(vertices) - 1, consumer, shape, _const_tensor(node, slot), slot))
                continue
            producer = index.get(id(child))
            if producer is None:
                producer = index[id(child)] = len(vertices)
                if isinstance(child, Function):
                    vertices.append(("op", child))
                    queue.append(child)
                else:
                    vertices.append(("leaf", child))
            dtype = child.out_dtype if isinstance(child, Function) else child.dtype
            edges.append((producer, consumer, shape, dtype, slot))
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
        self.index: dict[tuple, Any] = {}
        self.clusters: list[GraphCluster] = []

    def new_box(self, module: Any, depth: int, parent: Any) -> Any:
        """Make the box of a call of ``module`` (nested in ``parent``, at ``depth``) and return its id."""
        found = len(self.clusters)
        self.clusters.append(GraphCluster(found, _module_label(module, self.module_names), parent))
        return found

    def of(self, scope: tuple) -> Any:
        """The id of the innermost box of ``scope`` (None outside every module), making the boxes on the way."""
        parent = None
        key: tuple = ()
        for depth, module in enumerate(scope):
            innermost = depth == len(scope) - 1 and id(module) not in self.parents
            key = (key, id(module), id(scope) if innermost else None)
            found = self.index.get(key)
            if found is None:
                found = self.index[key] = self.new_box(module, depth, parent)
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


def _array_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} {_fmt_shape(value.shape)}"
    if isinstance(value, Tensor):
        return f"{value.dtype} {_fmt_shape(value.shape)}"
    return _short(_fmt_value(value))


def saved_lines(node: Function) -> tuple[str, ...]:
    """What ``node`` keeps for its VJP: each value of ``save_for_backward`` (``saved i: dtype (shape)``), the
    inputs when the VJP reads them, and the output when it reads that (``save_output``)."""
    if node.freed:
        return ("saved: freed by backward",)
    lines = [f"saved {i}: {_array_text(v)}" for i, v in enumerate(getattr(node, "_saved", ()))]
    if node.reads_inputs and node._arrays:
        lines.append("reads inputs " + " ".join(_fmt_shape(a.shape) for a in node._arrays))
    if node._out is not None:
        lines.append(f"reads output {_array_text(node._out)}")
    return tuple(lines) or ("saves nothing",)


class _EdgeGrads:
    """An observer of one backward pass: the norm of each gradient a node sends, by ``(id(node), input slot)``,
    and the engine's step number of each node it runs (1, 2, ... in the order it runs them), by ``id(node)``."""

    def __init__(self) -> None:
        self.norms: dict[tuple[int, int], float] = {}
        self.steps: dict[int, int] = {}

    def visit(self, node: Function, grad_in: Tensor, grads: tuple) -> None:
        self.steps.setdefault(id(node), len(self.steps) + 1)
        for slot, g in enumerate(grads):
            if g is not None:
                self.norms[(id(node), slot)] = float(np.linalg.norm(g.data.astype(np.float64, copy=False)))

    def leaf(self, leaf: Tensor, g: Tensor) -> None:
        pass


def _edge_grad_norms(tensor: Tensor, vertices: list[tuple], option: str = "show_grad") -> _EdgeGrads:
    """Run a backward pass from ``tensor`` (``retain_graph``, no ``.grad`` touched) and return its observer: the
    norm of the gradient that flows along every edge and the step at which the engine ran each node."""
    if tensor.size != 1:
        raise ValueError(f"draw_graph: {option}=True runs backward from the tensor drawn, which must have one "
                         f"element (a loss), got shape {tensor.shape}; draw a scalar such as its .sum()")
    if any(v[0] == "op" and v[1].freed for v in vertices):
        raise ValueError(f"draw_graph: {option}=True runs a backward pass, but a backward() already freed this "
                         "graph; draw it before loss.backward(), or call loss.backward(retain_graph=True)")
    leaves = [v[1] for v in vertices if v[0] in ("leaf", "root") and v[1].requires_grad]
    # tensors that asked for retain_grad() get .grad from any backward pass: put theirs back afterwards
    retained = [t for v in vertices if v[0] == "op" and v[1].retained for ref in v[1].retained
                if (t := ref()) is not None]
    before = [t.grad for t in retained]
    observer = _EdgeGrads()
    try:
        if leaves:
            with observe_backward(observer):
                grad(tensor, leaves, retain_graph=True, allow_unused=True)
    finally:
        for t, g in zip(retained, before):
            t.grad = g
    return observer


def _grad_norm_text(norm: float | None) -> str:
    return "" if norm is None else f"‖grad‖ = {norm:.4g}"


def _collapse(nodes: list[GraphNode], edges: list[GraphEdge], clusters: list[GraphCluster], depth: int,
              backward: bool) -> tuple[list[GraphNode], list[GraphEdge], list[GraphCluster]]:
    """Each module call nested ``depth`` deep as one ``"module"`` node; boxes above it stay, those below go."""
    level: list[int] = []
    for c in clusters:  # parents come before their children
        level.append(0 if c.parent is None else level[c.parent] + 1)
    keep = [c.index for c in clusters if level[c.index] < depth]
    renumber = {old: new for new, old in enumerate(keep)}
    kept = [GraphCluster(renumber[old], clusters[old].label,
                         None if clusters[old].parent is None else renumber[clusters[old].parent]) for old in keep]

    def group_of(cluster: int | None) -> int | None:
        """The collapsed call holding ``cluster``, or None when it is drawn as a box."""
        while cluster is not None and level[cluster] > depth:
            cluster = clusters[cluster].parent
        return cluster if cluster is not None and level[cluster] == depth else None

    members: dict[int, list[GraphNode]] = {}
    for n in nodes:
        g = group_of(n.cluster)
        if g is not None:
            members.setdefault(g, []).append(n)
    new_id: dict[str, str] = {}
    out_nodes: list[GraphNode] = []
    for n in nodes:
        g = group_of(n.cluster)
        if g is None:
            new_id[n.id] = f"n{len(out_nodes)}"
            out_nodes.append(GraphNode(new_id[n.id], n.kind, n.name, n.label,
                                       None if n.cluster is None else renumber[n.cluster], n.obj))
        elif n is members[g][0]:
            group = members[g]
            names = list(dict.fromkeys(m.name for m in group))
            what = f"{len(group)} {'VJP' if backward else 'op'}{'s' if len(group) != 1 else ''}"
            ids = f"n{len(out_nodes)}"
            for m in group:
                new_id[m.id] = ids
            parent = clusters[g].parent
            out_nodes.append(GraphNode(ids, "module", clusters[g].label,
                                       (clusters[g].label, f"{what}: {_short(', '.join(names))}"),
                                       None if parent is None else renumber[parent], tuple(m.obj for m in group)))
    out_edges: list[GraphEdge] = []
    seen: set[GraphEdge] = set()
    for e in edges:
        src, dst = new_id[e.src], new_id[e.dst]
        if src == dst:
            continue
        edge = GraphEdge(src, dst, e.label)
        merged = src != e.src or dst != e.dst
        if merged and edge in seen:
            continue
        seen.add(edge)
        out_edges.append(edge)
    return out_nodes, out_edges, kept


def graph_structure(tensor: Tensor, direction: str = "forward", params: Any = None, show_shapes: bool = True,
                    show_dtypes: bool = False, show_grads: bool = False, cluster_modules: bool = True,
                    max_nodes: int = 500, depth: int | None = None, show_saved: bool = False,
                    show_grad: bool = False, number_steps: bool = False) -> GraphStructure:
    """The nodes, edges and module clusters that ``draw_graph`` draws (same arguments), as plain data."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected a Tensor, got {type(tensor).__name__}")
    as_choice("draw_graph", "direction", direction, DIRECTIONS)
    max_nodes = as_int("draw_graph", "max_nodes", max_nodes, low=2)
    if depth is not None:
        depth = as_int("draw_graph", "depth", depth, low=0)
        if not cluster_modules:
            raise ValueError("draw_graph: depth collapses module calls, so it needs cluster_modules=True")
    backward = direction == "backward"
    tensor_names, module_names, _named = _names(params)
    vertices, raw_edges = _walk(tensor, with_constants=not backward)
    if number_steps and not backward:
        raise ValueError("draw_graph: number_steps=True numbers the edges of the backward pass; pass "
                         "direction='backward'")
    observed = (_edge_grad_norms(tensor, vertices, "show_grad" if show_grad else "number_steps")
                if show_grad or number_steps else None)
    norms = observed.norms if observed is not None and show_grad else {}
    steps = observed.steps if observed is not None and number_steps else {}
    total = len(vertices)
    kept = vertices[:max_nodes]
    clusters = _Clusters([v[1].scope for v in kept if v[0] == "op"], module_names) if cluster_modules else None

    nodes: list[GraphNode] = []
    for i, vertex in enumerate(kept):
        kind, name, label, obj = _describe(vertex, backward, tensor_names, show_shapes, show_dtypes, show_grads)
        if show_saved and vertex[0] == "op":
            label = (*label, *saved_lines(obj))
        cluster = clusters.of(vertex[1].scope) if clusters is not None and vertex[0] == "op" else None
        nodes.append(GraphNode(f"n{i}", kind, name, label, cluster, obj))

    edges: list[GraphEdge] = []
    cut_id = f"n{len(kept)}"
    crossing: list[tuple[str, str]] = []
    root_norm = 1.0 if show_grad and tensor.requires_grad else None  # backward starts from ones
    for producer, consumer, shape, dtype, slot in raw_edges:
        src, dst = (consumer, producer) if backward else (producer, consumer)
        text = _edge_label(shape, dtype, show_shapes, show_dtypes)
        if show_grad:
            norm = root_norm if slot is None else norms.get((id(kept[consumer][1]) if consumer < len(kept) else 0,
                                                             slot))
            text = "\n".join(part for part in (text, _grad_norm_text(norm)) if part)
        if number_steps and slot is not None and consumer < len(kept) and id(kept[consumer][1]) in steps:
            text = f"{steps[id(kept[consumer][1])]}: {text}" if text else str(steps[id(kept[consumer][1])])
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
    cluster_list = clusters.clusters if clusters is not None else []
    if depth is not None:
        nodes, edges, cluster_list = _collapse(nodes, edges, cluster_list, depth, backward)
    return GraphStructure(direction, nodes, edges, cluster_list, total, omitted)


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
    "module": 'shape=box3d style=filled fillcolor="#e6ddf3"',
    "cut": 'shape=note style=filled fillcolor="#fff3bf"',
}
_CLUSTER_STYLE = 'style="rounded,dashed" color="#8a8a8a" fontsize=9 labeljust=l'
#: what each kind of node means in the legend, per direction
_LEGEND = {
    "output": ("the output", "gradient of the output (ones)"),
    "op": ("op: a primitive and its arguments", ""),
    "vjp": ("", "VJP: one backward node per op"),
    "leaf": ("parameter (a leaf needing .grad)", "AccumulateGrad: into a leaf's .grad"),
    "const": ("input or constant (no gradient)", ""),
    "module": ("module call, collapsed (depth=)", "module call, collapsed (depth=)"),
    "cut": ("nodes cut by max_nodes", "nodes cut by max_nodes"),
}
_LEGEND_EDGES = ("edge: the array flowing into an op, labelled with its shape",
                 "edge: dL/dx flowing to x's node, with x's shape")


def draw_graph(tensor: Tensor, direction: str = "forward", params: Any = None, show_shapes: bool = True,
               show_dtypes: bool = False, show_grads: bool = False, cluster_modules: bool = True,
               max_nodes: int = 500, depth: int | None = None, show_saved: bool = False, show_grad: bool = False,
               legend: bool = False, number_steps: bool = False) -> graphviz.Digraph:
    """The forward or backward graph of ``tensor`` as a ``graphviz.Digraph``.

    ``params``: an ``nn.Module`` (parameter names from ``named_parameters()``, module names for the clusters),
    a dict name -> Tensor, or (name, Tensor) pairs. ``show_shapes``/``show_dtypes`` label edges and data nodes;
    ``show_grads`` adds each leaf's $\\lVert \\text{grad} \\rVert_2$ (after a backward pass);
    ``cluster_modules`` boxes the ops of each module call; at most ``max_nodes`` nodes are drawn, the ones
    nearest the output, and a note node plus a warning say how many were cut.

    ``depth=d`` draws the boxes of module calls nested less than ``d`` deep (the model's own call is at depth 0)
    and each call at depth ``d`` as one node (its ops inside it, and deeper calls, merged). ``show_saved`` adds
    to each op or VJP node what it keeps for the VJP (``saved i: dtype (shape)``, the inputs or the output it
    reads). ``show_grad`` runs a backward pass from ``tensor`` (one element; ``retain_graph``, no ``.grad``
    changed, hooks run as in any backward; so before ``backward()`` frees the graph) and labels each edge with
    $\\lVert \\partial L / \\partial x \\rVert_2$ of the gradient it carries. ``legend`` adds a key to the
    node colours and shapes used. ``number_steps`` (backward only) also runs that backward pass and prefixes
    each edge's label with ``k:``, the step at which the engine ran the VJP that sends that gradient (1 for the
    first VJP run, as the explorer numbers its steps); the edge from the output carries the seed and no number.
    """
    s = graph_structure(tensor, direction, params, show_shapes, show_dtypes, show_grads, cluster_modules,
                        max_nodes, depth, show_saved, show_grad, number_steps)
    g = graphviz.Digraph(
        name=f"{direction}_graph",
        graph_attr={"rankdir": "TB", "fontname": "Helvetica", "fontsize": "10", "nodesep": "0.25",
                    "ranksep": "0.35"},
        node_attr={"fontname": "Helvetica", "fontsize": "10", "height": "0.3", "margin": "0.08,0.04"},
        edge_attr={"fontname": "Helvetica", "fontsize": "8", "arrowsize": "0.6"},
    )
    g.body.extend(_body_lines(s))
    if legend:
        g.body.extend(legend_lines(s))
    return g


def legend_lines(s: GraphStructure) -> list[str]:
    """DOT statements of a legend box for ``s``: one sample node per kind of node drawn, then what an edge is."""
    column = 0 if s.direction == "forward" else 1
    kinds = [k for k in _LEGEND if _LEGEND[k][column] and any(n.kind == k for n in s.nodes)]
    lines = ["\tsubgraph cluster_legend {\n",
             f'\t\tgraph [label="legend" {_CLUSTER_STYLE}]\n']
    names = [f"legend_{k}" for k in kinds]
    lines.extend(f'\t\t{name} [label="{_dot_text([_LEGEND[k][column]])}" {_NODE_STYLE[k]} fontsize=9]\n'
                 for name, k in zip(names, kinds))
    lines.append(f'\t\tlegend_edge [label="{_dot_text([_LEGEND_EDGES[column]])}" shape=plaintext fontsize=9]\n')
    names.append("legend_edge")
    lines.extend(f"\t\t{a} -> {b} [style=invis]\n" for a, b in pairwise(names))
    lines.append("\t}\n")
    return lines


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
    lines.extend(f'\t{e.src} -> {e.dst} [label="{_dot_text(e.label.split(chr(10)))}"]\n' if e.label
                 else f"\t{e.src} -> {e.dst}\n" for e in s.edges)
    return lines


class RenderedPath(type(Path())):  # type: ignore[misc]
    """The path ``render`` wrote, with ``renderer``: ``"dot"`` (Graphviz), ``"wasm"`` (Graphviz as WebAssembly)
    or ``"builtin"`` (the built-in layout), and ``note``: why the renderers before it were not used."""

    renderer: str = ""
    note: str = ""


def render(graph: graphviz.Digraph | str, path: str | Path, format: str | None = None, *,
           fallback: bool = True) -> RenderedPath:
    """Write ``graph`` (a Digraph or DOT text) to ``path`` in ``format``: by default the one its suffix names
    (``.svg``, ``.png``, ``.pdf`` or ``.dot``, the DOT text itself; no suffix: SVG).

    SVG is drawn by Graphviz's ``dot`` when it works, else (with ``fallback``) by the WebAssembly Graphviz when
    installed, else by the built-in layout, so writing SVG always succeeds. PNG and PDF need ``dot``: without
    it, GraphvizNotFoundError names the install command before anything is written. The result's ``renderer``
    says which drew it."""
    path = Path(path)
    suffix = path.suffix.lower().lstrip(".")
    if format is None:
        format = suffix or "svg"
        if format not in FORMATS:
            raise ValueError(f"render: cannot tell the format from the suffix of {str(path)!r}; name the file "
                             f"*.svg, *.png, *.pdf or *.dot, or pass format=")
    elif format not in FORMATS:
        raise ValueError(f"render: unknown format {format!r}; use one of {', '.join(map(repr, FORMATS))}")
    elif suffix in FORMATS and suffix != format:
        raise ValueError(f"render: format={format!r} but the file {str(path)!r} is named .{suffix}; make them agree")
    source = graph if isinstance(graph, str) else graph.source
    try:
        done = render_source(source, format, fallback=fallback)
    except GraphvizNotFoundError as err:
        raise GraphvizNotFoundError(f"render: {err}. Without it, graph.source still gives the DOT text "
                                    "(and .dot files are written without Graphviz).") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(done.data)
    result = RenderedPath(path)
    result.renderer, result.note = done.renderer, done.note
    return result
