"""The ONNX graph under construction: names, nodes, initializers, and the symbolic batch axis.

``Graph`` is what a converter receives (``g``): ``g.op("Relu", x)`` appends a node and returns its output name,
``g.const(array)`` adds an initializer, ``g.shape([BATCH, 400])`` a 1-D int64 shape whose ``BATCH`` entries are the
batch size read from the first graph input at run time. ``onnx`` is imported here, lazily (``require_onnx``), so
``import tinygrad_cnn`` never needs it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..autograd import Function

EXTRA_HINT = "pip install 'tinygrad_cnn[onnx]'"


class _Batch:
    """The marker of a symbolic batch-size entry in a shape (``BATCH``)."""

    def __repr__(self) -> str:
        return "BATCH"


BATCH = _Batch()


def require_onnx() -> Any:
    """The ``onnx`` package, or an ImportError saying which extra installs it."""
    try:
        import onnx
    except ImportError as err:
        raise ImportError(f"tinygrad_cnn.onnx needs the onnx package: {EXTRA_HINT} (installs onnx and "
                          f"onnxruntime); {err}") from None
    return onnx


def require_onnxruntime() -> Any:
    """The ``onnxruntime`` package, or an ImportError saying which extra installs it."""
    try:
        import onnxruntime
    except ImportError as err:
        raise ImportError(f"comparing the exported model with onnxruntime needs it: {EXTRA_HINT} (or export with "
                          f"check=False); {err}") from None
    return onnxruntime


class Graph:
    """An ONNX graph being built from a trace (see the module docstring); ``opset`` is the target opset."""

    def __init__(self, onnx: Any, opset: int, twins: dict[int, Function], batch_sizes: tuple[int, int] | None,
                 out_shapes: tuple[dict[int, tuple], dict[int, tuple]], scope_names: dict[int, str]) -> None:
        self.onnx, self.opset = onnx, opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.functions: list[Any] = []
        self.batch_source: str | None = None  # the graph input whose axis 0 is the batch
        self._batch: str | None = None
        self._names: set[str] = set()
        self._consts: dict[str, np.ndarray] = {}
        self._twins, self._batch_sizes, self._out_shapes = twins, batch_sizes, out_shapes
        self._scope_names = scope_names
        self.extra_domains: dict[str, int] = {}
        self._leaf: Any = None  # set by the exporter: tensor -> initializer/input name (KeyError if neither)
        self._array_inputs: dict[int, str] = {}
        self._node_inputs: dict[int, list[str]] = {}
        self._saved_owners: dict[int, Function] = {}

    # ---- names ---------------------------------------------------------------------------------------------------
    def unique(self, hint: str) -> str:
        """A value name not used yet, made from ``hint``."""
        base = re.sub(r"[^A-Za-z0-9_.:/-]", "_", hint) or "v"
        name, k = base, 1
        while name in self._names:
            name, k = f"{base}_{k}", k + 1
        self._names.add(name)
        return name

    def reserve(self, name: str) -> None:
        """Claim ``name`` exactly (graph inputs, parameter names); ValueError if it is taken."""
        if name in self._names:
            raise ValueError(f"onnx.export: the name {name!r} is used twice; give distinct input_names/output_names")
        self._names.add(name)

    # ---- building blocks -----------------------------------------------------------------------------------------
    def op(self, op_type: str, *inputs: str | None, n_out: int = 1, domain: str = "", name: str | None = None,
           **attrs: Any) -> Any:
        """Append a node ``op_type(*inputs)`` (None: an omitted optional input) with ONNX attributes ``attrs``;
        returns its output name (a tuple of ``n_out`` names when ``n_out > 1``)."""
        hint = name or op_type
        outputs = [self.unique(f"{hint}_out{i}" if n_out > 1 else hint) for i in range(n_out)]
        node = self.onnx.helper.make_node(op_type, ["" if x is None else x for x in inputs], outputs,
                                          name=self.unique(f"{hint}_node"), domain=domain or None,
                                          **{k: v for k, v in attrs.items() if v is not None})
        self.nodes.append(node)
        return outputs[0] if n_out == 1 else tuple(outputs)

    def const(self, value: Any, dtype: Any = None, name: str = "const") -> str:
        """An initializer holding ``value`` (in ``dtype`` when given); returns its name."""
        array = np.asarray(value, dtype=dtype)
        if array.dtype == np.float16 or array.dtype.kind not in "biuf":
            raise TypeError(f"onnx.export: cannot store a constant of dtype {array.dtype}")
        out = self.unique(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(array, order="C", copy=True), out))
        self._consts[out] = array
        return out

    def named_initializer(self, name: str, array: np.ndarray, reserved: bool = False) -> str:
        """An initializer under exactly ``name`` (a parameter's state-dict name; ``reserved``: claimed already)."""
        if not reserved:
            self.reserve(name)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.array(array, order="C", copy=True), name))
        self._consts[name] = array
        return name

    def constant_value(self, name: str) -> np.ndarray | None:
        """The array of an initializer made here, or None for a computed value."""
        return self._consts.get(name)

    def scalar(self, value: float, dtype: Any) -> str:
        """A 0-d initializer of ``dtype``."""
        return self.const(np.asarray(value, dtype=dtype), name="scalar")

    def ints(self, values: Any) -> str:
        """A 1-D int64 initializer (axes, shapes, pads)."""
        return self.const(np.asarray(list(values), dtype=np.int64).reshape(-1), name="ints")

    def cast(self, name: str, src: Any, dst: Any) -> str:
        """``name`` (of dtype ``src``) in dtype ``dst``: the same name when they agree, a converted initializer for a
        constant, else a Cast node."""
        src, dst = np.dtype(src), np.dtype(dst)
        if src == dst:
            return name
        value = self.constant_value(name)
        if value is not None:
            return self.const(value.astype(dst), name=f"{name}_{dst.name}")
        return self.op("Cast", name, to=self.onnx.helper.np_dtype_to_tensor_dtype(dst))

    def add_function(self, function: Any) -> None:
        """Add an ONNX ``FunctionProto`` to the model (a custom op's body); its domain is imported at version 1."""
        self.functions.append(function)
        self.extra_domains.setdefault(function.domain, 1)

    # ---- what the trace knows ----------------------------------------------------------------------------------
    def leaf(self, tensor: Any) -> str:
        """The name of a graph input or a parameter/buffer (an initializer under its state-dict name)."""
        return self._leaf(tensor)

    def array_input(self, array: Any) -> str | None:
        """The graph input whose array ``array`` is (an index param that is an input), else None."""
        return self._array_inputs.get(id(array))

    def inputs_of(self, node: Function) -> list[str]:
        """The ONNX names of the inputs of a node converted earlier."""
        return self._node_inputs[id(node)]

    def converted(self, node: Function) -> bool:
        """Whether ``node`` was converted already (its inputs have names)."""
        return id(node) in self._node_inputs

    def owner_of(self, array: Any) -> Function | None:
        """The node of the example's trace that saved ``array`` for its VJP (e.g. a max pooling's arg-max
        positions, which its gradient kernels receive), or None."""
        return self._saved_owners.get(id(array))

    # ---- the batch axis ------------------------------------------------------------------------------------------
    def batch(self) -> str:
        """A 1-element int64 tensor holding the batch size at run time (axis 0 of the first batched input)."""
        if self.batch_source is None:
            raise ValueError("onnx.export: a shape depends on the batch size but no input has a dynamic batch axis")
        if self._batch is None:
            self._batch = self.op("Shape", self.batch_source, name="batch_size", start=0, end=1)
        return self._batch

    def shape(self, entries: Any) -> str:
        """A 1-D int64 shape tensor: ints as given, each ``BATCH`` the run-time batch size."""
        entries = list(entries)
        if not any(e is BATCH for e in entries):
            return self.ints(entries)
        parts, run = [], []
        for e in entries:
            if e is BATCH:
                if run:
                    parts.append(self.ints(run))
                    run = []
                parts.append(self.batch())
            else:
                run.append(int(e))
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.op("Concat", *parts, axis=0, name="shape")

    def twin(self, node: Function) -> Function:
        """The node at the same place in the second trace (another batch size, other values)."""
        return self._twins[id(node)]

    def _mark(self, a: tuple, b: tuple) -> list:
        if self._batch_sizes is None or len(a) != len(b):
            return list(a)
        na, nb = self._batch_sizes
        return [BATCH if x != y and x == na and y == nb else x for x, y in zip(a, b)]

    def batch_entries(self, a: Any, b: Any, what: str, node: Function) -> list:
        """The int sequence ``a`` (from the example's trace) with ``BATCH`` where it holds the batch size, read
        against ``b`` (the second trace); ValueError naming ``what`` if it changes in any other way."""
        a, b = [int(x) for x in a], [int(x) for x in b]
        marked = self._mark(tuple(a), tuple(b))
        if len(a) != len(b) or any(m is not BATCH and x != y for m, x, y in zip(marked, a, b)):
            raise ValueError(f"onnx.export: {what} of {self.describe(node)} is {tuple(a)} for the example and "
                             f"{tuple(b)} for an input of batch size one larger: it depends on the batch size in a "
                             "way other than holding it (e.g. batch * channels). Keep the batch axis on its own in "
                             "reshapes, or export with dynamic_batch=False")
        return marked

    def in_dims(self, node: Function, i: int) -> list:
        """The shape of input ``i`` of ``node``, ``BATCH`` on the axis that carries the batch."""
        return self._mark(tuple(node.input_shapes[i]), tuple(self.twin(node).input_shapes[i]))

    def out_dims(self, node: Function) -> list:
        """The output shape of ``node``, ``BATCH`` on the axis that carries the batch."""
        return self._mark(self._out_shapes[0][id(node)], self._out_shapes[1][id(self.twin(node))])

    def out_shape(self, node: Function) -> tuple[int, ...]:
        """The output shape of ``node`` in the example's trace."""
        return self._out_shapes[0][id(node)]

    def describe(self, node: Function) -> str:
        """``Conv2d (in layer1.0.conv1: Conv2d)``: the op and the module path it was called from."""
        if not node.scope:
            return f"{node.name} (called outside any module)"
        module = node.scope[-1]
        path = self._scope_names.get(id(module))
        kind = type(module).__name__
        where = f"a {kind} module" if path is None else f"{path}: {kind}" if path else f"the model: {kind}"
        return f"{node.name} (in {where})"
