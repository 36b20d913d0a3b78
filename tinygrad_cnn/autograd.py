"""The primitive protocol and the reverse-mode engine.

A primitive is a subclass of :class:`Function` with two methods side by side:

* ``forward(ctx, *arrays, **params) -> ndarray`` computes on raw NumPy arrays and saves on ``ctx``
  what the VJP needs (``ctx.save_for_backward(...)``).
* ``vjp(ctx, grad) -> Tensor | tuple[Tensor | None, ...]`` maps the gradient of the output to one
  gradient per input, written with Tensor operations, so that it is differentiable itself.

``Function.apply(*inputs, **params)`` runs the forward pass and, when grad mode is on and an input
requires grad, records the instance as a node of the graph. The same instance is the ``ctx`` the two
methods receive. This is also the public custom-op API.

The engine walks the graph from the roots in reverse topological order, found iteratively (no
recursion limit), sums gradients over fan-out, runs each node's VJP once, and frees what the forward
pass saved unless ``retain_graph=True``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _checks, versions

if TYPE_CHECKING:
    from .tensor import Tensor
else:
    Tensor = None  # the class, bound by tensor.py when it is imported (it imports this module first)


class _GradMode(threading.local):
    enabled = True
    anomaly = False
    scope: tuple = ()  # the nn.Module calls currently running, outermost first (read by viz)


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations record the graph."""
    return _mode.enabled


class _SetGradMode(contextlib.ContextDecorator):
    """Context manager and decorator that sets grad mode and restores the previous one on exit (re-entrant)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._previous: list[bool] = []

    def __enter__(self) -> None:
        self._previous.append(_mode.enabled)
        _mode.enabled = self.enabled

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self._previous.pop()


class no_grad(_SetGradMode):
    """``with no_grad():`` (or ``@no_grad()``): operations inside record nothing and save nothing."""

    def __init__(self) -> None:
        super().__init__(False)


class enable_grad(_SetGradMode):
    """``with enable_grad():`` (or ``@enable_grad()``): turn recording back on inside ``no_grad``."""

    def __init__(self) -> None:
        super().__init__(True)


class detect_anomaly(contextlib.ContextDecorator):
    """Check every forward output and every VJP result for NaN/Inf, naming the primitive and where it was made."""

    def __enter__(self) -> None:
        self._previous, _mode.anomaly = _mode.anomaly, True

    def __exit__(self, *exc: object) -> None:
        _mode.anomaly = self._previous


@contextlib.contextmanager
def module_scope(module: object):
    """Record ``module`` as the caller of every op created inside (``nn.Module.__call__`` uses this)."""
    previous = _mode.scope
    _mode.scope = previous + (module,)
    try:
        yield
    finally:
        _mode.scope = previous


def _check_finite(array: np.ndarray, what: str, node: Function) -> None:
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        where = f" (created at {node.created_at})" if node.created_at else ""
        raise FloatingPointError(
            f"{what} of {node.name}{where} has NaN or Inf; input shapes "
            f"{[tuple(s) for s in node.input_shapes]}, array shape {array.shape}"
        )


class Function:
    """A primitive: ``forward`` on arrays and ``vjp`` on Tensors. The instance is the graph node (``ctx``)."""

    #: set to True when ``vjp`` reads ``ctx.output`` (the output re-wrapped as a Tensor of this node)
    save_output = False
    hooks: list[Callable] | None = None  # gradient hooks of the output tensor (register_hook)
    retained: list | None = None  # weak references to output tensors that asked for retain_grad()
    created_at = ""  # where the user made this op; filled in under detect_anomaly()
    #: False when ``vjp`` reads no input values (only shapes): in-place writes to the inputs are then harmless
    reads_inputs = True

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_arrays",
        "_inputs",
        "_out",
        "_saved",
        "_stamp",
        "freed",
        "input_shapes",
        "needs_input_grad",
        "next",
        "out_dtype",
        "params",
        "scope",
    )

    # ---- what forward and vjp use ------------------------------------------------------------
    def save_for_backward(self, *arrays: Any) -> None:
        """Keep arrays (or any values) for the VJP; they are freed after backward unless retain_graph."""
        self._saved = arrays

    @property
    def saved(self) -> tuple:
        """What ``forward`` saved with ``save_for_backward``."""
        self._check_alive()
        return self._saved

    @property
    def inputs(self) -> Sequence[Tensor]:
        """The input Tensors; a VJP that uses them stays differentiable with respect to them."""
        self._check_alive()
        return self._inputs

    @property
    def output(self) -> Tensor:
        """The output as a Tensor whose grad_fn is this node (needs ``save_output = True`` on the class)."""
        self._check_alive()
        if self._out is None:
            raise RuntimeError(f"{self.name}.vjp reads ctx.output: set `save_output = True` on the class")
        return Tensor._make(self._out, self)

    @property
    def name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        return f"<{self.name}Backward>"

    def _check_alive(self) -> None:
        if self.freed:
            raise RuntimeError(
                f"{self.name}: trying to backward through the graph a second time, or to read values that "
                "were already freed. Pass retain_graph=True to the first backward() if you need to do this."
            )

    # ---- the two methods a primitive defines ---------------------------------------------------
    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError(f"{self.name} defines no forward")

    def vjp(self, grad: Tensor) -> Tensor | tuple[Tensor | None, ...] | None:
        raise NotImplementedError(f"{self.name} defines no vjp: it is not differentiable")

    # ---- recording ----------------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record this primitive in the graph when needed."""
        tensors, arrays, needs = [], [], []
        for x in inputs:  # one plain loop: cheaper than several comprehensions on this hot path
            if not isinstance(x, Tensor):
                x = Tensor(x)
            tensors.append(x)
            arrays.append(x.data)
            needs.append(x._requires_grad)
        ctx = cls.__new__(cls)
        ctx._saved = ()
        ctx.freed = False
        ctx.params = params
        record = _mode.enabled and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(tensors)
        out = ctx.forward(*arrays, **params)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        if not record or out.dtype.kind != "f":  # integer and bool results are not differentiable
            return Tensor._make(out, None)
        ctx._inputs, ctx._arrays, ctx._stamp = tensors, arrays, versions.clock
        ctx.next = tuple([t._ctx if t._ctx is not None else (t if t._requires_grad else None) for t in tensors])
        ctx.input_shapes = tuple([a.shape for a in arrays])
        ctx.out_dtype, ctx.scope = out.dtype, _mode.scope
        ctx._out = out if cls.save_output else None
        if _mode.anomaly:
            ctx.created_at = _user_frame()
            _check_finite(out, "forward output", ctx)
        return Tensor._make(out, ctx)

    def release(self) -> None:
        """Free what the forward pass saved; the node's edges stay, so the graph can still be drawn."""
        self._saved = ()
        self._inputs = self._arrays = ()
        self._out = None
        self.freed = True


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_frame() -> str:
    """The innermost stack frame outside this package: where the user created the op."""
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(_PACKAGE_DIR):
            return f"{frame.filename}:{frame.lineno}"
    return ""


# ---- the engine -----------------------------------------------------------------------------------
def _topological_order(roots: Iterable[Function]) -> list[Function]:
    """Nodes reachable from the roots, each after every node that consumes it (iterative post-order DFS)."""
    order: list[Function] = []
    visited: set[int] = set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(root.next))]
        while stack:
            node, children = stack[-1]
            for child in children:
                if isinstance(child, Function) and id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, iter(child.next)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _accumulate(grads: dict[int, Tensor], key: int, g: Tensor) -> None:
    previous = grads.get(key)
    grads[key] = g if previous is None else previous + g


def _run_hooks(hooks: list[Callable] | None, g: Tensor) -> Tensor:
    for hook in hooks or ():
        result = hook(g)
        if result is not None:
            g = result
    return g


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Tensor], inputs: Sequence[Tensor] | None = None,
                 retain_graph: bool = False, create_graph: bool = False) -> list[Tensor | None] | None:
    """Propagate ``root_grads`` from ``roots`` to the leaves.

    With ``inputs=None`` gradients accumulate into each leaf's ``.grad``; otherwise they are returned,
    one per input (None where an input is not reached), and no ``.grad`` is touched.
    """
    grads: dict[int, Tensor] = {}
    leaf_of: dict[int, Tensor] = {}
    nodes = []
    for root, g in zip(roots, root_grads):
        if not root.requires_grad:
            raise RuntimeError(
                f"element {len(nodes)} of the outputs does not require grad and has no grad_fn: "
                "compute it from a tensor created with requires_grad=True, outside no_grad()"
            )
        vertex = root._ctx if root._ctx is not None else root
        _accumulate(grads, id(vertex), g)
        if root._ctx is None:
            leaf_of[id(root)] = root
        else:
            nodes.append(root._ctx)
    wanted = None
    if inputs is not None:
        wanted = {id(t._ctx if t._ctx is not None else t) for t in inputs}
    captured: dict[int, Tensor] = {}
    external = [g.data for g in root_grads]
    delivered: list[np.ndarray] = []

    anomaly = _mode.anomaly
    with _SetGradMode(create_graph):
        for node in _topological_order(nodes):
            g = grads.pop(id(node), None)
            if g is None:  # reached, but every path to it carried no gradient
                if not retain_graph:
                    node.release()
                continue
            if node.freed:
                node._check_alive()
            versions.check_unmodified(node)
            if node.hooks:
                g = _run_hooks(node.hooks, g)
            if wanted is not None and id(node) in wanted:
                captured[id(node)] = g
            if node.retained is not None and inputs is None:
                for ref in node.retained:
                    t = ref()
                    if t is not None:
                        _deliver(t, g, create_graph, external, delivered)
            results = node.vjp(g)
            if not isinstance(results, tuple):
                results = (results,)
            if len(results) != len(node.next):
                raise RuntimeError(f"{node.name}.vjp returned {len(results)} gradients for {len(node.next)} inputs")
            if anomaly:
                for i, r in enumerate(results):
                    if r is not None:
                        _check_finite(r.data, f"gradient of input {i}", node)
            for child, shape, r in zip(node.next, node.input_shapes, results):
                if child is None or r is None:
                    continue
                if r.data.shape != shape:
                    raise RuntimeError(
                        f"{node.name}.vjp returned a gradient of shape {r.shape} for an input of shape {shape}"
                    )
                if not isinstance(child, Function):
                    leaf_of[id(child)] = child
                _accumulate(grads, id(child), r)
            if not retain_graph:
                node.release()
        for key, leaf in leaf_of.items():  # every leaf in leaf_of received a gradient
            g = _run_hooks(leaf._hooks, grads[key])
            if wanted is not None:
                captured[key] = g
            else:
                _deliver(leaf, g, create_graph, external, delivered)
    if inputs is None:
        return None
    return [captured.get(id(t._ctx if t._ctx is not None else t)) for t in inputs]


def _deliver(t: Tensor, g: Tensor, create_graph: bool, external: list, delivered: list) -> None:
    """Accumulate ``g`` into ``t.grad``, never aliasing another delivered gradient or the caller's gradient."""
    if not create_graph:
        g = type(g)._make(_unaliased(g.data, external + delivered), None)
    if t.grad is None:
        t.grad = g
    else:
        t.grad = t.grad + g if create_graph else type(g)._make(t.grad.data + g.data, None)
    delivered.append(t.grad.data)


def _unaliased(data: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """``data``, copied if it is read-only or may share memory with one of ``others``."""
    if not data.flags.writeable or any(np.may_share_memory(data, other) for other in others):
        return data.copy()
    return data


def grad(outputs: Tensor | Sequence[Tensor], inputs: Tensor | Sequence[Tensor],
         grad_outputs: Tensor | Sequence[Tensor | None] | None = None, retain_graph: bool | None = None,
         create_graph: bool = False, allow_unused: bool = False) -> tuple[Tensor | None, ...]:
    """Gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated in ``.grad``.

    ``sum_k grad_outputs[k] . d outputs[k] / d inputs[i]`` for each input ``i``. With ``create_graph=True``
    the result has a graph of its own, so it can be differentiated again.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs] * len(outputs) if grad_outputs is None else [grad_outputs]
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(outputs)} outputs but {len(grad_outputs)} grad_outputs; pass one per output")
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {t.shape}) does not require grad; set requires_grad=True")
    root_grads = [_initial_grad(o, g, "grad") for o, g in zip(outputs, grad_outputs)]
    retain = create_graph if retain_graph is None else retain_graph
    result = run_backward(outputs, root_grads, inputs, retain_graph=retain, create_graph=create_graph)
    assert result is not None
    for i, r in enumerate(result):
        if r is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {inputs[i].shape}) was not used to compute the outputs; "
                               "pass allow_unused=True to get None for it")
    if not create_graph:
        seen = [g.data for g in root_grads]
        for i, r in enumerate(result):
            if r is not None:
                result[i] = Tensor._make(_unaliased(r.data, seen), None)
                seen.append(result[i].data)
    return tuple(result)


def _initial_grad(output: Tensor, g: Any, caller: str) -> Tensor:
    if g is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: the output has shape {output.shape}, so the gradient is only implicit for scalars; "
                "pass gradient= (a tensor of the output's shape), or reduce the output first, e.g. out.sum()"
            )
        return Tensor._make(np.ones(output.shape, dtype=output.dtype), None)
    g = _checks.as_gradient(caller, output, g)  # a Tensor of the output's dtype, or a TypeError naming the caller
    if g.shape != output.shape:
        raise ValueError(f"{caller}: gradient of shape {g.shape} for an output of shape {output.shape}; "
                         "they must match")
    return g
