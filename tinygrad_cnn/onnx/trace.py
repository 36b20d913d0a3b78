"""Recording the forward graph for export: run the forward pass in grad mode and read back its ``Function`` nodes.

A trace runs ``fn(*inputs)`` with every floating-point input and parameter requiring grad, so that each primitive on
the way to the outputs is recorded as a node. The nodes come back producers first (``Trace.nodes``); a node's
``next[i]`` is the node that made its input ``i`` (or the leaf tensor, or ``None`` for a constant), ``_inputs[i]``
the tensor itself and ``params`` the keyword arguments it was applied with.

Export traces twice (``trace_pair``): once with the example inputs and once with inputs of another batch size whose
values are resampled from the example rows and rescaled. What changes between the two runs is what depends on the
batch size (a reshape target, a graph output's first axis) or on the input values outside the graph (a mask from a
comparison, an index from an argmax): the first is rewritten to a symbolic batch axis, the second is an error,
since the exported graph would bake the example's values in.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..autograd import Function, enable_grad
from ..nn.module import Module
from ..tensor_class import Tensor


@dataclass
class Trace:
    """One recorded forward pass: its inputs, outputs and nodes (producers first) and what each node's output
    shape is (read from its consumers, or from the outputs)."""

    inputs: list[Tensor]
    outputs: list[Tensor]
    nodes: list[Function]
    out_shapes: dict[int, tuple[int, ...]] = field(default_factory=dict)


def as_arrays(example: Any) -> list[np.ndarray]:
    """The example input(s) as a list of NumPy arrays: one Tensor or array, or a tuple/list of them."""
    items = list(example) if isinstance(example, (tuple, list)) else [example]
    if not items:
        raise ValueError("onnx.export: give at least one example input")
    arrays = []
    for i, item in enumerate(items):
        array = item.data if isinstance(item, Tensor) else np.asarray(item)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"onnx.export: example input {i} has dtype {array.dtype}; inputs must be float, int or "
                            "bool tensors")
        arrays.append(array)
    return arrays


def flat_outputs(result: Any) -> list[Tensor]:
    """The forward's result as a flat list of Tensors: one Tensor, or a tuple/list of them."""
    items = list(result) if isinstance(result, (tuple, list)) else [result]
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"onnx.export: output {i} of the forward is a {type(item).__name__}; the forward must "
                            "return a Tensor or a tuple/list of Tensors")
    return items


def topological(outputs: Sequence[Tensor]) -> tuple[list[Function], dict[int, tuple[int, ...]]]:
    """The nodes that the outputs depend on, each after the nodes it reads (iterative, deterministic: inputs are
    visited in order), and each node's output shape."""
    order: list[Function] = []
    seen: set[int] = set()
    out_shapes: dict[int, tuple[int, ...]] = {}
    for t in outputs:
        if t._ctx is not None:
            out_shapes.setdefault(id(t._ctx), tuple(t.shape))
    for root in [t._ctx for t in outputs if t._ctx is not None]:
        if id(root) in seen:
            continue
        seen.add(id(root))
        stack = [(root, iter(range(len(root.next))))]
        while stack:
            node, positions = stack[-1]
            for i in positions:
                child = node.next[i]
                if isinstance(child, Function):
                    out_shapes.setdefault(id(child), tuple(node.input_shapes[i]))
                    if id(child) not in seen:
                        seen.add(id(child))
                        stack.append((child, iter(range(len(child.next)))))
                        break
            else:
                stack.pop()
                order.append(node)
    return order, out_shapes


def run(fn: Callable, arrays: Sequence[np.ndarray], module: Module | None) -> Trace:
    """Run ``fn`` on fresh tensors of ``arrays`` in grad mode (floats require grad) and record the graph; the
    module, if any, runs in eval mode with every floating-point parameter requiring grad, restored afterwards."""
    inputs = [Tensor(np.array(a, copy=True), requires_grad=a.dtype.kind == "f") for a in arrays]
    modes: list[tuple[Module, bool]] = []
    frozen: list[Tensor] = []
    if module is not None:
        modes = [(m, m.training) for m in module.modules()]
        module.eval()
        for p in module.parameters():
            if not p.requires_grad and p.dtype.kind == "f":
                frozen.append(p)
                p.requires_grad = True
    try:
        with enable_grad():
            outputs = flat_outputs(fn(*inputs))
    finally:
        for m, training in modes:
            object.__setattr__(m, "training", training)
        for p in frozen:
            p.requires_grad = False
    nodes, out_shapes = topological(outputs)
    return Trace(inputs, outputs, nodes, out_shapes)


def second_arrays(arrays: Sequence[np.ndarray], dynamic: Sequence[bool], seed: int = 0,
                  strong: bool = True) -> list[np.ndarray]:
    """Inputs for the second trace: batch size n + 1 on the dynamic inputs (n otherwise), rows drawn at random from
    the example's (in another order). Floats are scaled by factors in [0.5, 1.5], and with ``strong`` about a third
    of the elements are redrawn from a normal distribution with the example's mean and spread, so that signs, zeros
    and thresholds change too (a mask computed from the values then changes, even for a one-row example); integer
    elements are redrawn from the values the example holds. ``strong=False`` scales by [0.8, 1.2] and clips to the
    example's range (signs and zeros kept), for a forward that refuses other inputs."""
    rng = np.random.default_rng(seed)
    out = []
    for a, dyn in zip(arrays, dynamic):
        if a.ndim == 0:
            out.append(a * np.asarray(1.25, a.dtype) if a.dtype.kind == "f" else a.copy())
            continue
        n = a.shape[0]
        m = n + 1 if dyn else n
        rows = rng.integers(0, n, size=m) if n else np.zeros(0, np.intp)
        if not dyn and n > 1 and np.array_equal(rows, np.arange(n)):
            rows = rows[::-1]
        b = a[rows] if n else np.zeros((m,) + a.shape[1:], a.dtype)
        redraw = rng.random(b.shape) < 1 / 3 if strong and b.size else np.zeros(b.shape, bool)
        if a.dtype.kind == "f" and not strong:  # within the example's range (a probability stays one)
            finite = a[np.isfinite(a)]
            low, high = (finite.min(), finite.max()) if finite.size else (0, 0)
            b = np.clip(b * rng.uniform(0.8, 1.2, size=b.shape), low, high).astype(a.dtype)
        elif a.dtype.kind == "f":
            b = b * rng.uniform(0.5, 1.5, size=b.shape)
            if redraw.any():
                finite = a[np.isfinite(a)]
                mean, spread = (float(finite.mean()), float(finite.std()) or 1.0) if finite.size else (0.0, 1.0)
                b = np.where(redraw, rng.normal(mean, spread, size=b.shape), b)
            b = b.astype(a.dtype)
        elif redraw.any() and a.dtype.kind in "iu":
            b = np.where(redraw, rng.choice(np.unique(a), size=b.shape), b).astype(a.dtype)
        out.append(b)
    return out


def trace_pair(fn: Callable, arrays: Sequence[np.ndarray], dynamic: Sequence[bool],
               module: Module | None) -> tuple[Trace, Trace]:
    """The trace of the example inputs and the trace of ``second_arrays`` (its mild form if the forward raises on
    the strong one); ValueError when the two graphs differ in structure (the forward takes another path for other
    inputs: Python control flow on values or shapes)."""
    first = run(fn, arrays, module)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            second = run(fn, second_arrays(arrays, dynamic), module)
        except Exception:  # e.g. a loss that checks its input is a probability: inputs closer to the example's
            try:
                second = run(fn, second_arrays(arrays, dynamic, strong=False), module)
            except Exception as err:
                raise ValueError(
                    f"onnx.export: the forward fails on a second input (batch size one larger on the dynamic "
                    f"inputs, other values): {type(err).__name__}: {err}. The export traces twice to find what "
                    "depends on the batch size; if the forward only works at the example's batch size, export "
                    "with dynamic_batch=False") from err
    if len(first.outputs) != len(second.outputs) or len(first.nodes) != len(second.nodes) or any(
            type(a) is not type(b) or len(a.next) != len(b.next) or set(a.params) != set(b.params)
            for a, b in zip(first.nodes, second.nodes)):
        raise ValueError(
            "onnx.export: the forward records a different graph for another input (batch size "
            f"{[a.shape[0] if a.ndim else None for a in arrays]} -> one more, other values): it branches on "
            "the input's values or batch size in Python. Make the forward take one path, or export with "
            "dynamic_batch=False")
    return first, second


def same_value(a: Any, b: Any) -> bool:
    """Whether two recorded parameter values are equal (arrays by shape and values, NaN equal to NaN)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(
            a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    if isinstance(a, slice) and isinstance(b, slice):
        return same_value((a.start, a.stop, a.step), (b.start, b.stop, b.step))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    try:
        return bool(type(a) is type(b) and a == b)
    except (ValueError, TypeError):
        return False
