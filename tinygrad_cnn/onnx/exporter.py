"""``export``: trace, convert every node, assemble and check the ONNX model, and write it atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..autograd import Function
from ..nn.module import Module
from ..tensor_class import Tensor
from . import trace as _trace
from .build import BATCH, Graph, require_onnx, require_onnxruntime
from .converters import NO_ONNX_EQUIVALENT, UnsupportedOperatorError, converter_for
from .converters import _reduce as reduce_op

if TYPE_CHECKING:
    import onnx

DEFAULT_OPSET = 18
MIN_OPSET = 17


def _names(given: Sequence[str] | None, count: int, stem: str, what: str) -> list[str]:
    if given is None:
        return [stem] if count == 1 else [f"{stem}_{i}" for i in range(count)]
    given = [given] if isinstance(given, str) else list(given)
    if len(given) != count or not all(isinstance(n, str) and n for n in given):
        raise ValueError(f"onnx.export: {what} must be {count} non-empty string(s), got {given!r}")
    return given


def _dynamic_flags(dynamic_batch: bool | Sequence[bool], arrays: list[np.ndarray]) -> list[bool]:
    flags = [dynamic_batch] * len(arrays) if isinstance(dynamic_batch, bool) else list(dynamic_batch)
    if len(flags) != len(arrays) or not all(isinstance(f, (bool, np.bool_)) for f in flags):
        raise ValueError(f"onnx.export: dynamic_batch must be a bool or one bool per input ({len(arrays)}), got "
                         f"{dynamic_batch!r}")
    for i, (flag, a) in enumerate(zip(flags, arrays)):
        if flag and (a.ndim == 0 or a.shape[0] == 0):
            raise ValueError(f"onnx.export: input {i} has shape {a.shape}, which has no batch axis to make dynamic; "
                             "pass dynamic_batch=False for it")
    sizes = {a.shape[0] for a, flag in zip(arrays, flags) if flag}
    if len(sizes) > 1:
        raise ValueError(f"onnx.export: the inputs with a dynamic batch axis have different sizes on axis 0 "
                         f"({sorted(sizes)}); they share one symbolic batch size. Pass dynamic_batch as one bool "
                         "per input, False for the inputs that are not batched")
    return [bool(f) for f in flags]


def _unsupported_message(g: Graph, node: Function) -> str:
    name = node.name
    reason = NO_ONNX_EQUIVALENT.get(name)
    why = f"it is not converted: {reason}" if reason else "no converter is registered for it"
    return (f"onnx.export: {g.describe(node)} has no ONNX conversion ({why}). Register one with "
            f"@tinygrad_cnn.onnx.register({name}) (a function (g, node, inputs) -> output name that emits ONNX "
            "nodes, see docs/outgrow.md), or change the model to avoid this op")


def _prune(graph: Any, outputs: list[str]) -> None:
    """Drop the nodes and initializers that no output depends on (e.g. a LogSoftmax folded into a Softmax)."""
    needed = set(outputs)
    kept = []
    for node in reversed(list(graph.node)):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    kept.reverse()
    del graph.node[:]
    graph.node.extend(kept)
    inits = [t for t in graph.initializer if t.name in needed]
    del graph.initializer[:]
    graph.initializer.extend(inits)


def export(model_or_fn: Module | Callable[..., Any], example_inputs: Any, path: str | os.PathLike | None = None, *,
           input_names: Sequence[str] | None = None, output_names: Sequence[str] | None = None,
           dynamic_batch: bool | Sequence[bool] = True, opset: int = DEFAULT_OPSET,
           check: bool = True) -> onnx.ModelProto:
    """Export ``model_or_fn`` (an ``nn.Module``, run in eval mode, or a function of tensors) to ONNX.

    The forward pass is traced on ``example_inputs`` (a Tensor or array, or a tuple/list of them) and each
    recorded primitive becomes ONNX nodes (see ``converters`` for the map). Parameters and buffers are initializers
    under their ``state_dict`` names; other constants are initializers too. With ``dynamic_batch`` (True, or one
    bool per input) axis 0 of the inputs, and of every output that carries it, is the symbolic ``batch``, and shapes
    that hold the batch size are computed at run time. ``check`` runs ``onnx.checker`` (full) and compares
    onnxruntime's output with ours on a second input of another batch size (needs onnxruntime). Writes ``path``
    (atomically) when given; returns the ``onnx.ModelProto``.

    Raises UnsupportedOperatorError naming the first op without a conversion (and the module it was called in),
    ValueError when the graph depends on the input's values outside the recorded ops, ImportError without the
    ``onnx`` extra.
    """
    onnx = require_onnx()
    if not isinstance(opset, int) or not MIN_OPSET <= opset <= onnx.defs.onnx_opset_version():
        raise ValueError(f"onnx.export: opset must be an int in [{MIN_OPSET}, {onnx.defs.onnx_opset_version()}] "
                         f"(this onnx package's newest), got {opset!r}")
    if not callable(model_or_fn):
        raise TypeError(f"onnx.export: expected an nn.Module or a function of tensors, got {model_or_fn!r}")
    module = model_or_fn if isinstance(model_or_fn, Module) else None
    arrays = _trace.as_arrays(example_inputs)
    flags = _dynamic_flags(dynamic_batch, arrays)
    first, second = _trace.trace_pair(model_or_fn, arrays, flags, module)

    in_names = _names(input_names, len(arrays), "input", "input_names")
    out_names = _names(output_names, len(first.outputs), "output", "output_names")
    batch_sizes = None
    if any(flags):
        k = flags.index(True)
        batch_sizes = (arrays[k].shape[0], second.inputs[k].shape[0])
    twins = {id(a): b for a, b in zip(first.nodes, second.nodes)}
    scope_names = {id(m): name for name, m in module.named_modules()} if module is not None else {}
    g = Graph(onnx, opset, twins, batch_sizes, (first.out_shapes, second.out_shapes), scope_names)
    for name in in_names + out_names:
        g.reserve(name)

    # leaves: graph inputs, then parameters and buffers by identity
    leaf_names: dict[int, str] = {}
    array_inputs: dict[int, str] = {}
    for t, name in zip(first.inputs, in_names):
        leaf_names[id(t)] = name
        array_inputs[id(t.data)] = name
    if flags and any(flags):
        g.batch_source = in_names[flags.index(True)]
    state: dict[int, tuple[str, Tensor]] = {}
    if module is not None:
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if id(t) not in state:
                state[id(t)] = (name, t)
                g.reserve(name)  # claimed now: no generated name can take it before the tensor is first read

    def lookup(t: Tensor) -> str | None:
        """The graph input or the parameter/buffer ``t`` is (an initializer under its state-dict name), or None."""
        key = id(t)
        if key not in leaf_names:
            if key not in state:
                return None
            name, tensor = state[key]
            leaf_names[key] = g.named_initializer(name, tensor.data, reserved=True)
        return leaf_names[key]

    def leaf(t: Tensor) -> str:
        name = lookup(t)
        if name is None:
            raise ValueError(f"onnx.export: a tensor of shape {tuple(t.shape)} is neither a graph input nor a "
                             "parameter or buffer of the model")
        return name

    node_inputs = g._node_inputs
    g._leaf, g._array_inputs = leaf, array_inputs
    g._saved_owners = {id(a): n for n in first.nodes for a in n._saved if isinstance(a, np.ndarray)}

    constants: dict[int, str] = {}  # a constant tensor read by several nodes is one initializer

    def constant(node: Function, i: int) -> str:
        key = id(node._inputs[i])
        if key not in constants:
            twin = twins[id(node)]
            constants[key] = _constant(g, node, i, node._arrays[i], twin._arrays[i], node_inputs[id(node)])
        return constants[key]

    outputs_of: dict[int, str] = {}
    for node in first.nodes:
        conv = converter_for(type(node))
        if conv is None:
            raise UnsupportedOperatorError(_unsupported_message(g, node))
        twin = twins[id(node)]
        for key, value in node.params.items():
            if key not in conv.dynamic and not _trace.same_value(value, twin.params[key]):
                raise ValueError(
                    f"onnx.export: the parameter {key}={_short(value)} of {g.describe(node)} changes with the "
                    f"input ({_short(twin.params[key])} for an input of another batch size or values): it was "
                    "computed outside the recorded graph. Export with dynamic_batch=False if it depends on the "
                    "batch size only; otherwise compute it with tensor ops")
        names: list[str] = []
        node_inputs[id(node)] = names
        for i, src in enumerate(node.next):  # computed values and leaves first: a constant's recipe reads them
            names.append(outputs_of[id(src)] if isinstance(src, Function) else lookup(node._inputs[i]))
        for i, name in enumerate(names):
            if name is None:
                names[i] = constant(node, i)
        out = conv.fn(g, node, names)
        if not isinstance(out, str):
            raise TypeError(f"onnx.export: the converter of {node.name} returned {out!r}; it must return the name "
                            "of the output value")
        outputs_of[id(node)] = out

    # graph outputs: rename the last value to the output name (an Identity keeps every name unique)
    helper = onnx.helper
    graph_outputs = []
    for k, (t, name, t2) in enumerate(zip(first.outputs, out_names, second.outputs)):
        if t._ctx is not None:
            src = outputs_of[id(t._ctx)]
        else:
            src = lookup(t)
            if src is None and t.shape == t2.shape and np.array_equal(t.data, t2.data,
                                                                      equal_nan=t.dtype.kind == "f"):
                src = g.const(t.data, name="output_const")
            elif src is None:
                src = _arg_extreme_output(g, t, t2, first, second, outputs_of)
                if src is None:
                    raise ValueError(f"onnx.export: output {k} does not depend on the inputs through recorded ops "
                                     "but changes with them: it was computed outside the graph (NumPy on .data, a "
                                     "comparison, or a gradient of a constant); an argmax / argmin of a recorded "
                                     "value is the one such output that is recognised")
        g.nodes.append(helper.make_node("Identity", [src], [name], name=g.unique(f"{name}_identity")))
        shape = g._mark(tuple(t.shape), tuple(t2.shape)) if batch_sizes else list(t.shape)
        dims = ["batch" if d is BATCH else int(d) if t.ndim != t2.ndim or d == t2.shape[i] else f"{name}_dim{i}"
                for i, d in enumerate(shape)]  # an axis that changes otherwise (2 * batch): a name of its own
        graph_outputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(t.dtype), dims))
    graph_inputs = [helper.make_tensor_value_info(
        name, helper.np_dtype_to_tensor_dtype(a.dtype),
        ["batch" if flag else int(d) for d in a.shape[:1]] + [int(d) for d in a.shape[1:]])
        for name, a, flag in zip(in_names, arrays, flags)]
    graph = helper.make_graph(g.nodes, type(model_or_fn).__name__ if module is not None else
                              getattr(model_or_fn, "__name__", "function"), graph_inputs, graph_outputs,
                              initializer=g.initializers)
    _prune(graph, out_names)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in g.extra_domains.items()]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="tinygrad_cnn", functions=g.functions)
    model.ir_version = min(model.ir_version, 10)
    if check:
        onnx.checker.check_model(model, full_check=True)
        _compare(model, second, in_names)
    if path is not None:
        _write(model, os.fspath(path))
    return model


def _constant(g: Graph, node: Function, i: int, a: np.ndarray, b: np.ndarray, names: list[str]) -> str:
    """The ONNX value of constant input ``i`` of ``node`` (``a`` in the example's trace, ``b`` in the second):
    an initializer when it is the same in both; else one of the recipes a changing constant can follow (the same
    for every sample of the batch, a count proportional to the batch size, the max-shift of a logsumexp); else
    ValueError."""
    if a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
        return g.const(a, name=f"{node.name}_const")
    marked = g._mark(a.shape, b.shape)
    batch_shape = any(m is BATCH for m in marked) and all(
        m is BATCH or x == y for m, x, y in zip(marked, a.shape, b.shape))
    if batch_shape and marked[0] is BATCH and a.size and b.size and np.array_equal(a, np.broadcast_to(
            a[:1], a.shape)) and np.array_equal(b, np.broadcast_to(a[:1], b.shape)):  # the same for every sample
        return g.op("Expand", g.const(a[:1], name="per_sample"), g.shape(marked))
    if a.shape == b.shape == () and g._batch_sizes is not None and a.dtype.kind in "fiu":
        na, nb = g._batch_sizes
        step = float(b) - float(a)
        offset = float(a) - step * na
        if step == int(step) and step > 0 and float(a) == int(float(a)) and offset == int(offset) and nb - na == 1:
            dtype = g.onnx.helper.np_dtype_to_tensor_dtype(a.dtype)
            size = g.op("Cast", g.op("Reshape", g.batch(), g.ints([])), to=dtype)
            count = g.op("Mul", size, g.const(np.asarray(step, a.dtype), name="per_sample"))
            return count if offset == 0 else g.op("Add", count, g.const(np.asarray(offset, a.dtype), name="offset"))
    shift = _max_shift(g, node, i, a, b, names)
    if shift is not None:
        return shift
    raise ValueError(
        f"onnx.export: input {i} of {g.describe(node)} is a constant of shape {a.shape} that changes with the "
        f"input (shape {b.shape} for the second trace): it was computed from the input outside the recorded "
        "graph (a comparison mask, an argmax, NumPy on .data, or random numbers), so the exported model would "
        "keep the example's values. Compute it with tensor ops that record (e.g. relu instead of a mask), or "
        "pass it as an input of the exported function")


def _max_shift(g: Graph, node: Function, i: int, a: np.ndarray, b: np.ndarray, names: list[str]) -> str | None:
    """If constant ``i`` is the maximum of another input of ``node`` over its size-1 axes (NaN and inf replaced by
    0), as logsumexp shifts by, the ReduceMax that computes it at run time; else None."""
    twin = g.twin(node)
    for j, other in enumerate(node._arrays):
        if j == i or names[j] is None or other.ndim != a.ndim or other.dtype != a.dtype:
            continue
        axes = tuple(k for k in range(a.ndim) if a.shape[k] == 1 and other.shape[k] != 1)
        if not axes:
            continue

        def shift(x: np.ndarray, axes: tuple[int, ...] = axes) -> np.ndarray:
            with np.errstate(invalid="ignore"):
                m = np.max(x, axis=axes, keepdims=True)
            return np.where(np.isfinite(m), m, 0).astype(x.dtype)

        other_b = twin._arrays[j]
        if shift(other).shape == a.shape and np.array_equal(shift(other), a) and shift(other_b).shape == b.shape \
                and np.array_equal(shift(other_b), b):
            m = reduce_op(g, "ReduceMax", names[j], axes, True)
            bad = g.op("Or", g.op("IsInf", m), g.op("IsNaN", m))
            return g.op("Where", bad, g.const(np.zeros((), a.dtype), name="zero"), m)
    return None


def _arg_extreme_output(g: Graph, t: Tensor, t2: Tensor, first: _trace.Trace, second: _trace.Trace,
                        outputs_of: dict[int, str]) -> str | None:
    """An integer output that is ``argmax`` / ``argmin`` of a recorded value along one axis (e.g. the predicted
    classes ``model(x).argmax(1)``), in both traces: ArgMax / ArgMin of that value; else None."""
    if t.dtype != np.int64 or t.ndim == 0:
        return None
    candidates = [(outputs_of[id(o._ctx)], o.data, o2.data) for o, o2 in zip(first.outputs, second.outputs)
                  if o._ctx is not None]
    for node, twin in zip(first.nodes, second.nodes):
        for i, src in enumerate(node.next):
            if isinstance(src, Function):
                candidates.append((outputs_of[id(src)], node._arrays[i], twin._arrays[i]))
    for name, a, b in candidates:
        if a.dtype.kind != "f" or a.ndim not in (t.ndim, t.ndim + 1):
            continue
        for axis in range(a.ndim):
            keep = a.ndim == t.ndim
            for op, fn in (("ArgMax", np.argmax), ("ArgMin", np.argmin)):
                ra, rb = fn(a, axis=axis, keepdims=keep), fn(b, axis=axis, keepdims=keep)
                if ra.shape == t.shape and rb.shape == t2.shape and np.array_equal(ra, t.data) and np.array_equal(
                        rb, t2.data):
                    return g.op(op, name, axis=axis, keepdims=int(keep))
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _compare(model: Any, second: _trace.Trace, in_names: list[str]) -> None:
    """Run the model with onnxruntime on the second trace's inputs and compare with the outputs we computed."""
    ort = require_onnxruntime()
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {name: t.data for name, t in zip(in_names, second.inputs)}
    got = session.run(None, feeds)
    for k, (ours, theirs) in enumerate(zip(second.outputs, got)):
        ours = ours.data
        if ours.shape != theirs.shape:
            raise ValueError(f"onnx.export: output {k} has shape {theirs.shape} in onnxruntime but {ours.shape} here "
                             "for an input of another batch size; a shape in the graph is baked in")
        finite = np.isfinite(ours) if ours.dtype.kind == "f" else np.ones(ours.shape, bool)
        scale = float(np.max(np.abs(ours[finite]))) if finite.any() else 1.0
        tol = 1e-3 * max(scale, 1.0) if ours.dtype.kind == "f" else 0
        if not np.allclose(np.asarray(theirs)[finite], ours[finite], rtol=1e-3, atol=tol):
            diff = float(np.max(np.abs(np.asarray(theirs, np.float64)[finite] - ours[finite])))
            raise ValueError(
                f"onnx.export: onnxruntime's output {k} differs from tinygrad_cnn's by up to {diff:.3g} on a second "
                "input (another batch size, other values): some value was computed outside the recorded graph "
                "(e.g. a mask or index from NumPy) and baked in. Pass check=False to write the model anyway")


def _write(model: Any, path: str) -> None:
    """Serialize to ``path`` atomically (a temporary file in the same directory, then a rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".onnx-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
