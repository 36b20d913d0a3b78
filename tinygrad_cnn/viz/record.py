"""The data of the backward-pass explorer: one backward pass of a scalar, recorded as plain, JSON-able Python.

``explorer_data(output, params)`` walks the graph behind ``output`` (forward values are the inputs each node still
holds, so the graph must not have been freed), runs the gradient of ``output`` with respect to every leaf that
requires grad under ``autograd.observe_backward`` (through ``grad()``, ``retain_graph=True``: no ``.grad`` is
touched and the graph stays usable), and returns

* ``forward``: data nodes (the output, parameters by name, inputs and constants) and op nodes, with edges
  ``producer -> consumer`` carrying one array (input slot, shape, value);
* ``backward``: the output's gradient (``root``), one ``vjp`` node per op and one ``accumulate`` node per leaf,
  edges in the direction gradients flow, each labelled with the gradient it carried;
* ``steps``: the engine's visits in the engine's order, each with the summed gradient the node received, what it
  sent to each input and where two paths met (the running sum the engine formed), then the leaf deliveries;
* ``values``: every array shown, once: shape, dtype, statistics, the numbers when small, heatmaps of 2-D and 4-D
  tensors (each plane averaged down to at most ``heatmap_size`` pixels a side);
* ``modules`` (one box per module call) and ``ops`` (docstring, forward and VJP text, derivation page).

Numbers in ``data`` are JSON numbers, except NaN and infinities, given as the strings ``"nan"``, ``"inf"`` and
``"-inf"``; statistics skip non-finite elements (``null`` when none is finite) and count them.
"""

from __future__ import annotations

import ast
import base64
import functools
import inspect
import math
import textwrap
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from .. import autograd
from ..autograd import Function
from ..nn import Module
from ..tensor_class import Tensor
from .graphviz import _Clusters, op_name

__all__ = ["SCHEMA_VERSION", "derivation_page", "explorer_data", "op_docs"]

SCHEMA_VERSION = 1
MAX_TILES = 8  # a 4-D value shows at most MAX_TILES x MAX_TILES (sample, channel) planes

#: the derivation page of the primitives of each module of tinygrad_cnn.ops, then the exceptions
_PAGES = {"activation": "activations", "batchnorm": "batch_norm", "conv": "conv2d", "elementwise": "elementwise",
          "indexing": "indexing", "linalg": "matmul", "movement": "movement", "normalization": "normalization",
          "padding": "interpolate", "pool": "pooling", "reduce": "reductions", "resample": "interpolate",
          "scan": "scans_and_sorting", "sort": "scans_and_sorting", "softmax": "softmax_cross_entropy"}
_PAGE_EXCEPTIONS = {"ConvTranspose2d": "conv_transpose", "Fold": "conv_transpose", "Unfold": "conv_transpose",
                    "Einsum": "einsum", "SlidingWindows": "indexing", "SlidingWindowsAdd": "indexing",
                    "BinaryCrossEntropy": "binary_cross_entropy",
                    "BinaryCrossEntropyWithLogits": "binary_cross_entropy"}


def derivation_page(cls: type) -> str | None:
    """The docs site path of the derivation page of primitive ``cls`` (``"derivations/conv2d/"``), None for an op
    defined outside ``tinygrad_cnn.ops`` (a custom op)."""
    package, _, module = cls.__module__.rpartition(".")
    if package != "tinygrad_cnn.ops":
        return None
    page = _PAGE_EXCEPTIONS.get(cls.__name__) or _PAGES.get(module)
    return None if page is None else f"derivations/{page}/"


def op_docs(cls: type) -> dict[str, Any]:
    """``{"doc", "forward", "vjp", "page"}`` of primitive ``cls``: its docstring, the text before ``VJP``, the
    paragraph from ``VJP`` on (empty when the docstring has none), its derivation page."""
    doc, forward, vjp, page = _op_docs(cls)
    return {"doc": doc, "forward": forward, "vjp": vjp, "page": page}


@functools.cache
def _op_docs(cls: type) -> tuple[str, str, str, str | None]:
    doc = inspect.getdoc(cls) or ""
    at = doc.find("VJP")
    if at < 0:
        forward, vjp = doc, ""
    else:
        end = doc.find("\n\n", at)
        forward, vjp = doc[:at].strip(), doc[at:end if end >= 0 else len(doc)].strip()
    return doc, forward, " ".join(vjp.split()), derivation_page(cls)


@functools.cache
def _saved_names(cls: type) -> tuple[str, ...]:
    """Names of what ``cls.forward`` saves, read from the source: ``a, b = ctx.saved`` in the VJP, else bare names
    in ``ctx.save_for_backward(...)``; "" where no name is found."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):
        return ()
    unpacked: tuple[str, ...] = ()
    saved: tuple[str, ...] = ()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Attribute) and node.value.attr == "saved"
                and isinstance(node.targets[0], (ast.Tuple, ast.List)) and not unpacked):
            unpacked = tuple(e.id if isinstance(e, ast.Name) and e.id != "_" else "" for e in node.targets[0].elts)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "save_for_backward" and not saved):
            saved = tuple(a.id if isinstance(a, ast.Name) else "" for a in node.args)
    if not unpacked:
        return saved
    return tuple(u or s for u, s in zip(unpacked, saved + ("",) * len(unpacked)))


# ---- values -----------------------------------------------------------------------------------------------
def _number(x: Any) -> Any:
    """One element as JSON: the shortest decimal that reads back to the same value, or "nan"/"inf"/"-inf"."""
    if isinstance(x, (bool, np.bool_)):
        return int(x)
    if isinstance(x, (np.integer, int)):
        return int(x)
    if not math.isfinite(x):
        return "nan" if x != x else ("inf" if x > 0 else "-inf")
    return float(str(x))  # numpy's str of a float32/float64 scalar is its shortest round-trip repr


def _stats(a: np.ndarray) -> dict[str, Any]:
    x = a.astype(np.float64, copy=False)
    finite = np.isfinite(x)
    nan = int(np.isnan(x).sum())
    kept = x[finite] if nan or not finite.all() else x.ravel()
    has = kept.size > 0
    return {"min": float(kept.min()) if has else None, "max": float(kept.max()) if has else None,
            "mean": float(kept.mean()) if has else None,
            "norm": float(np.sqrt(np.dot(kept, kept))) if has else None,
            "zeros": int(np.count_nonzero(x == 0)), "nan": nan, "inf": int(x.size - finite.sum() - nan)}


def _heatmap(a: np.ndarray, size: int) -> dict[str, Any] | None:
    """A 2-D value as one tile, a 4-D (N, C, H, W) one as up to MAX_TILES x MAX_TILES (n, c) planes; each plane
    block-averaged to at most ``size`` x ``size`` (non-finite pixels left out) and scaled to 0..255 between its own
    min and max."""
    if a.ndim not in (2, 4) or a.size == 0:
        return None
    x = a.astype(np.float64, copy=False)
    planes = x[None, None] if a.ndim == 2 else x[:MAX_TILES, :MAX_TILES]
    n, c, h, w = planes.shape
    fh, fw = -(-h // size), -(-w // size)
    rows, cols = -(-h // fh), -(-w // fw)
    padded = np.full((n, c, rows * fh, cols * fw), np.nan)
    padded[:, :, :h, :w] = planes
    blocks = padded.reshape(n, c, rows, fh, cols, fw)
    finite = np.isfinite(blocks)
    count = finite.sum(axis=(3, 5))
    total = np.where(finite, blocks, 0.0).sum(axis=(3, 5))
    shown = np.where(count > 0, total / np.maximum(count, 1), np.nan)  # (n, c, rows, cols)
    good = np.isfinite(shown)
    lo = np.where(good, shown, np.inf).min(axis=(2, 3), keepdims=True)
    hi = np.where(good, shown, -np.inf).max(axis=(2, 3), keepdims=True)
    lo, hi = np.where(np.isfinite(lo), lo, 0.0), np.where(np.isfinite(hi), hi, 0.0)
    span = np.where(hi > lo, hi - lo, 1.0)
    scaled = np.where(good, np.rint((shown - lo) / span * 255.0), 0.0)
    pixels = np.where(hi > lo, scaled, np.where(good, 128.0, 0.0)).astype(np.uint8)
    flat = pixels.reshape(n * c, rows * cols)
    lo, hi = lo.ravel(), hi.ravel()
    tiles = [{"label": "" if a.ndim == 2 else f"n{k // c} c{k % c}",
              "b64": base64.b64encode(flat[k].tobytes()).decode("ascii"), "min": float(lo[k]), "max": float(hi[k])}
             for k in range(n * c)]
    return {"rows": rows, "cols": cols, "grid": [n, c], "tiles": tiles}


class _Values:
    """Every array shown, once (keyed by the array's identity, kept alive while recording), as ``v0, v1, ...``."""

    def __init__(self, max_elements: int, heatmap_size: int) -> None:
        self.max_elements, self.heatmap_size = max_elements, heatmap_size
        self.ids: dict[int, str] = {}
        self.arrays: list[np.ndarray] = []

    def add(self, value: Any) -> str | None:
        if value is None:
            return None
        array = value.data if isinstance(value, Tensor) else value
        if not isinstance(array, np.ndarray):
            return None
        found = self.ids.get(id(array))
        if found is None:
            found = self.ids[id(array)] = f"v{len(self.arrays)}"
            self.arrays.append(array)
        return found

    def export(self) -> dict[str, dict[str, Any]]:
        return {f"v{i}": self._describe(a) for i, a in enumerate(self.arrays)}

    def _describe(self, a: np.ndarray) -> dict[str, Any]:
        numeric = a.dtype.kind in "biuf"
        return {"shape": list(a.shape), "dtype": str(a.dtype), "count": int(a.size),
                "stats": _stats(a) if numeric else None,
                "data": [_number(x) for x in a.ravel()] if numeric and a.size <= self.max_elements else None,
                "heatmap": _heatmap(a, self.heatmap_size) if numeric else None}


# ---- names and module boxes --------------------------------------------------------------------------------
def _names(params: Any) -> tuple[dict[int, str], dict[int, str]]:
    """(tensor id -> name, module id -> dotted path) from an nn.Module, a dict name -> Tensor, or None."""
    if params is None:
        return {}, {}
    if isinstance(params, Module):
        tensors = {id(t): name for name, t in params.named_buffers()}
        tensors.update({id(t): name for name, t in params.named_parameters()})
        return tensors, {id(m): name for name, m in params.named_modules()}
    if isinstance(params, Mapping):
        for name, t in params.items():
            if not isinstance(t, Tensor):
                raise TypeError(f"explorer_data: params must map names to Tensors; {name!r} is a "
                                f"{type(t).__name__}")
        return {id(t): str(name) for name, t in params.items()}, {}
    raise TypeError(f"explorer_data: params must be an nn.Module, a dict name -> Tensor or None, got "
                    f"{type(params).__name__}")


class _Modules(_Clusters):
    """One box per module call, as the graphviz drawing (its ``of`` keys the calls), as explorer data."""

    def __init__(self, scopes: list[tuple], paths: dict[int, str]) -> None:
        super().__init__(scopes, paths)
        self.paths = paths
        self.calls: dict[int, int] = {}
        self.boxes: list[dict[str, Any]] = []

    def new_box(self, module: Any, depth: int, parent: Any) -> str:
        found = f"m{len(self.boxes)}"
        call = self.calls[id(module)] = self.calls.get(id(module), -1) + 1
        path = self.paths.get(id(module))
        self.boxes.append({"id": found, "path": type(module).__name__ if path is None else path,
                           "type": type(module).__name__, "parent": parent, "depth": depth, "call": call})
        return found


# ---- the recording ---------------------------------------------------------------------------------------------
class _Observer:
    """What ``autograd.observe_backward`` reports: the visits and the leaf deliveries, in order."""

    def __init__(self) -> None:
        self.visits: list[tuple[Function, Tensor, tuple]] = []
        self.leaves: list[tuple[Tensor, Tensor]] = []

    def visit(self, node: Function, grad: Tensor, grads: tuple) -> None:
        self.visits.append((node, grad, grads))

    def leaf(self, leaf: Tensor, grad: Tensor) -> None:
        self.leaves.append((leaf, grad))


def _param_text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"array{tuple(value.shape)} {value.dtype}"
    if isinstance(value, Tensor):
        return f"tensor{tuple(value.shape)} {value.dtype}"
    text = repr(value)
    return text if len(text) <= 80 else text[:79] + "…"


def _freed_error() -> ValueError:
    return ValueError("explorer_data: the graph of this output was freed by a backward pass (backward() or grad() "
                      "without retain_graph=True), so its forward values are gone; record before loss.backward(), "
                      "or call loss.backward(retain_graph=True) first, or compute the loss again")


class _Graph:
    """The forward graph of ``output`` (breadth-first from it) and the backward graph it implies."""

    def __init__(self, output: Tensor, values: _Values, tensor_names: dict[int, str],
                 module_paths: dict[int, str]) -> None:
        self.values, self.tensor_names = values, tensor_names
        self.nodes: list[dict[str, Any]] = []
        self.edges: list[dict[str, Any]] = []
        self.fid: dict[int, str] = {}  # id(op node or leaf or constant tensor) -> forward id
        self.ops: list[Function] = []
        self.leaves: list[Tensor] = []
        self.consumers: list[tuple[int, int, str]] = []  # per forward edge: (id(consumer node) or 0, slot, from)
        self._keep: list[Any] = []
        out = self._add("output", "output", None, output.shape, output.dtype, values.add(output))
        self.output_id = out["id"]
        root = output._ctx
        if root is None:
            self._edge(self._leaf(output), out["id"], 0, output, 0)
            self.modules = _Modules([], module_paths)
            return
        self._edge(self._op(root, output), out["id"], 0, output, 0)
        queue = deque([root])
        while queue:
            node = queue.popleft()
            if node.freed:
                raise _freed_error()
            for slot, (child, t) in enumerate(zip(node.next, node._inputs)):
                if child is None:
                    src = self._const(t)
                elif isinstance(child, Function):
                    if id(child) not in self.fid:
                        queue.append(child)
                    src = self._op(child, t)
                else:
                    src = self._leaf(child)
                self._edge(src, self.fid[id(node)], slot, t, id(node))
        self.modules = _Modules([n.scope for n in self.ops], module_paths)
        for node in self.ops:
            self.nodes[int(self.fid[id(node)][1:])]["module"] = self.modules.of(node.scope)

    def _add(self, kind: str, label: str, op: str | None, shape: tuple, dtype: Any, value: str | None,
             name: str | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        node = {"id": f"f{len(self.nodes)}", "kind": kind, "label": label, "op": op, "params": params or {},
                "module": None, "name": name, "shape": list(shape), "dtype": str(np.dtype(dtype)), "value": value,
                "grad": None}
        self.nodes.append(node)
        return node

    def _op(self, node: Function, out: Tensor) -> str:
        found = self.fid.get(id(node))
        if found is None:
            params = {k: _param_text(v) for k, v in node.params.items()}
            found = self.fid[id(node)] = self._add("op", op_name(node), node.name, out.shape, node.out_dtype,
                                                   self.values.add(out), params=params)["id"]
            self.ops.append(node)
        return found

    def _leaf(self, t: Tensor) -> str:
        found = self.fid.get(id(t))
        if found is None:
            name = self.tensor_names.get(id(t))
            found = self.fid[id(t)] = self._add("param", name or "leaf", None, t.shape, t.dtype,
                                                self.values.add(t), name=name)["id"]
            self.leaves.append(t)
        return found

    def _const(self, t: Tensor) -> str:
        found = self.fid.get(id(t))
        if found is None:
            self._keep.append(t)
            name = self.tensor_names.get(id(t))
            if name is not None:
                kind, label = "const", name
            elif t.data.size == 1:
                kind, label = "const", f"const {_number(t.data.reshape(()).item())}"
            else:
                kind, label = "input", "input"
            found = self.fid[id(t)] = self._add(kind, label, None, t.shape, t.dtype, self.values.add(t),
                                                name=name)["id"]
        return found

    def _edge(self, src: str, dst: str, slot: int, t: Tensor, consumer: int) -> None:
        self.edges.append({"from": src, "to": dst, "input": slot, "shape": list(t.shape),
                           "value": self.values.add(t)})
        self.consumers.append((consumer, slot, src))


def _saved(node: Function, values: _Values) -> list[dict[str, Any]]:
    """What the VJP of ``node`` reads: what forward saved (named from the source), the output, the inputs."""
    names = _saved_names(type(node))
    entries: list[dict[str, Any]] = []
    for i, item in enumerate(node._saved):
        if item is None:
            continue
        label = names[i] if i < len(names) and names[i] else f"saved {i}"
        value = values.add(item)
        entries.append({"label": label, "value": value} if value is not None
                       else {"label": label, "value": None, "repr": _param_text(item)})
    if node._out is not None:
        entries.append({"label": "output", "value": values.add(node._out)})
    if node.reads_inputs:
        entries.extend({"label": f"input {i}", "value": values.add(a)} for i, a in enumerate(node._arrays))
    return entries


def explorer_data(output: Tensor, params: Any = None, *, create_graph: bool = False, max_elements: int = 64,
                  heatmap_size: int = 32, title: str | None = None) -> dict[str, Any]:
    """The explorer's data for one backward pass of the scalar ``output`` (see the module docstring).

    The gradients are those of ``grad(output, leaves, retain_graph=True, create_graph=create_graph)`` for every
    leaf that requires grad: no ``.grad`` changes (not even of ``retain_grad()`` tensors) and ``output`` can be
    backpropagated afterwards. Tensor hooks run, as in any backward pass. ``params``: an ``nn.Module`` (names of
    parameters, buffers and module boxes) or a dict name -> Tensor. Values with more than ``max_elements``
    elements keep statistics and heatmaps only. With ``create_graph=True`` the gradients carry graphs of their
    own, listed under ``"gradient_graph"`` (which step made each op).
    """
    if not isinstance(output, Tensor):
        raise TypeError(f"explorer_data: output must be a Tensor (a loss), got {type(output).__name__}")
    if output.size != 1:
        raise ValueError(f"explorer_data: output must be a scalar (one element), got shape {output.shape}; reduce "
                         "it first, e.g. loss = out.sum() or F.cross_entropy(logits, target)")
    if not output.requires_grad:
        raise ValueError("explorer_data: output does not require grad (it has no graph); compute it from tensors "
                         "with requires_grad=True (e.g. a model's parameters), outside no_grad()")
    for name, value, low in (("max_elements", max_elements, 0), ("heatmap_size", heatmap_size, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"explorer_data: {name} must be an integer >= {low}, got {value!r}")
    if output._ctx is not None and output._ctx.freed:
        raise _freed_error()
    tensor_names, module_paths = _names(params)
    values = _Values(int(max_elements), int(heatmap_size))
    graph = _Graph(output, values, tensor_names, module_paths)

    # the backward graph: b0 the output's gradient, one vjp node per op, one accumulate node per leaf
    bid: dict[int, str] = {}
    bnodes = [{"id": "b0", "kind": "root", "label": "output gradient", "forward": graph.output_id, "module": None,
               "saved": []}]
    forward_nodes = graph.nodes
    for node in graph.ops:
        f = forward_nodes[int(graph.fid[id(node)][1:])]
        bid[id(node)] = f"b{len(bnodes)}"
        bnodes.append({"id": bid[id(node)], "kind": "vjp", "label": f"{node.name}Backward", "forward": f["id"],
                       "module": f["module"], "saved": _saved(node, values)})
    for leaf in graph.leaves:
        name = tensor_names.get(id(leaf))
        bid[id(leaf)] = f"b{len(bnodes)}"
        bnodes.append({"id": bid[id(leaf)], "kind": "accumulate",
                       "label": "AccumulateGrad" if name is None else f"AccumulateGrad {name}",
                       "forward": graph.fid[id(leaf)], "module": None, "saved": []})
    bedges: list[dict[str, Any]] = []
    edge_of: dict[tuple[int, int], int] = {}  # (id(consumer node), slot) -> backward edge index
    producer_of = {f: v for v, f in graph.fid.items()}
    for e, (consumer, slot, src) in zip(graph.edges, graph.consumers):
        target = producer_of[src]
        if target not in bid:  # a constant: no gradient flows to it
            continue
        edge_of[(consumer, slot)] = len(bedges)
        bedges.append({"from": bid[consumer] if consumer else "b0", "to": bid[target], "input": slot,
                       "shape": e["shape"], "grad": None})

    # the pass itself, observed
    seed = output._make(np.ones(output.shape, dtype=output.dtype), None)
    retained = [ref() for node in graph.ops for ref in (node.retained or ())]
    kept_grads = [(t, t.grad) for t in retained if t is not None]
    observer = _Observer()
    try:
        with autograd.observe_backward(observer):
            autograd.grad(output, graph.leaves or [output], grad_outputs=seed, retain_graph=True,
                          create_graph=create_graph, allow_unused=True)
    finally:
        for t, g in kept_grads:
            t.grad = g
    seed_value = bedges[0]["grad"] = values.add(seed)  # edge 0: the output's gradient into its producer

    steps: list[dict[str, Any]] = []
    contributions: dict[int, list[int]] = {}  # target vertex -> the steps that sent to it
    totals: dict[int, np.ndarray] = {}
    last_step: dict[int, int] = {}
    ours = [(node, g, grads) for node, g, grads in observer.visits if id(node) in bid]
    for index, (node, g, grads) in enumerate(ours):
        forward_nodes[int(graph.fid[id(node)][1:])]["grad"] = values.add(g)
        sends, accumulated = [], []
        for slot, (child, r) in enumerate(zip(node.next, grads)):
            if child is None or r is None:
                continue
            edge = edge_of[(id(node), slot)]
            bedges[edge]["grad"] = values.add(r)
            sends.append({"edge": edge, "to": bid[id(child)], "grad": bedges[edge]["grad"]})
            key = id(child)
            contributions.setdefault(key, []).append(index)
            last_step[key] = index
            previous = totals.get(key)
            totals[key] = r.data if previous is None else previous + r.data  # the engine's sum, in its order
            if previous is not None:
                accumulated.append({"into": bid[key], "from_steps": list(contributions[key]),
                                    "total": totals[key]})  # an array until the receiving step is known
        steps.append({"index": index, "kind": "vjp", "node": bid[id(node)], "grad_in": values.add(g),
                      "sends": sends, "accumulated": accumulated})
    received = {id(node): g.data for node, g, _ in ours}
    for leaf, g in observer.leaves:
        if id(leaf) not in bid:
            continue
        received[id(leaf)] = g.data
        forward_nodes[int(graph.fid[id(leaf)][1:])]["grad"] = values.add(g)
        steps.append({"index": len(steps), "kind": "accumulate", "node": bid[id(leaf)], "grad_in": values.add(g),
                      "sends": [], "accumulated": []})
    vertex_of = {b: v for v, b in bid.items()}
    for step in steps:
        for entry in step["accumulated"]:
            total, got = entry["total"], received.get(vertex_of[entry["into"]])
            # the last sum is what the engine handed to the vertex (unless a hook changed it): show it once
            same = got is not None and total is totals[vertex_of[entry["into"]]] and np.array_equal(total, got)
            entry["total"] = values.add(got if same else total)
    forward_nodes[0]["grad"] = seed_value

    ops = {node.name: op_docs(type(node)) for node in graph.ops}
    data: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "title": title if title is not None else (f"{type(params).__name__}: backward pass"
                                                   if isinstance(params, Module) else "backward pass"),
        "create_graph": bool(create_graph),
        "modules": graph.modules.boxes,
        "values": {},
        "forward": {"nodes": forward_nodes, "edges": graph.edges},
        "backward": {"nodes": bnodes, "edges": bedges},
        "steps": steps,
        "ops": ops,
        "docs_base": "",
    }
    if create_graph:
        data["gradient_graph"] = _gradient_graph(ours, observer.leaves, graph, values, last_step, ops)
    data["values"] = values.export()
    return data


def _gradient_graph(visits: list, leaves: list, graph: _Graph, values: _Values, last_step: dict[int, int],
                    ops: dict[str, Any]) -> dict[str, Any]:
    """The ops that computed the gradients (``create_graph=True``), in the forward graph's format, each with the
    step that made it: edges from a forward node (``f..``) where a gradient op reads a forward value."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    gid: dict[int, str] = {}
    keep: list[Any] = []

    def data_node(t: Tensor, kind: str) -> str:
        found = graph.fid.get(id(t)) or gid.get(id(t))
        if found is None:
            keep.append(t)
            found = gid[id(t)] = f"g{len(nodes)}"
            nodes.append({"id": found, "kind": kind, "label": "const" if kind == "const" else "leaf", "op": None,
                          "params": {}, "module": None, "name": None, "shape": list(t.shape),
                          "dtype": str(t.dtype), "value": values.add(t), "grad": None, "step": None})
        return found

    def op_node(node: Function, out: Tensor, step: int) -> str:
        found = gid[id(node)] = f"g{len(nodes)}"
        ops.setdefault(node.name, op_docs(type(node)))
        nodes.append({"id": found, "kind": "op", "label": op_name(node), "op": node.name,
                      "params": {k: _param_text(v) for k, v in node.params.items()}, "module": None,
                      "name": None, "shape": list(out.shape), "dtype": str(node.out_dtype),
                      "value": values.add(out), "grad": None, "step": step})
        queue.append(node)
        return found

    queue: deque[Function] = deque()

    def walk(t: Tensor, step: int) -> None:
        """Breadth-first from ``t`` through the ops no earlier walk (and not the forward graph) reached."""
        if t._ctx is None or id(t._ctx) in graph.fid or id(t._ctx) in gid:
            return
        op_node(t._ctx, t, step)
        while queue:
            node = queue.popleft()
            for slot, (child, x) in enumerate(zip(node.next, node._inputs)):
                if isinstance(child, Function):
                    src = graph.fid.get(id(child)) or gid.get(id(child)) or op_node(child, x, step)
                else:
                    src = data_node(x, "const" if child is None else "leaf")
                edges.append({"from": src, "to": gid[id(node)], "input": slot, "shape": list(x.shape),
                              "value": values.add(x)})

    for index, (node, g, grads) in enumerate(visits):
        walk(g, last_step.get(id(node), index))
        for r in grads:
            if r is not None:
                walk(r, index)
    for leaf, g in leaves:
        walk(g, last_step.get(id(leaf), len(visits)))
    return {"nodes": nodes, "edges": edges}
