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
pass saved unless ``retain_graph=True``: ``run_backward`` seeds the roots, visits each node, and
delivers to the leaves, one named step each.

This module sits above ``tensor_core`` (what a tensor holds) and below ``ops`` (the primitives) and
``tensor`` (the operators): it never names the user-facing Tensor class, and builds every tensor with
the class of one it was given, so results carry all of its methods.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import threading
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from . import versions
from .tensor_core import TensorCore as Tensor  # results are built with the class of the tensors given (type(t))


class _GradMode(threading.local):
    enabled = True
    anomaly = False
    scope: tuple = ()  # the nn.Module calls currently running, outermost first (read by viz)
    inference = 0  # how many inference_mode() blocks are open


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


class _BareDecorator(_SetGradMode):
    """A grad-mode context that also decorates bare, as PyTorch 2's: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func: Callable | None = None, *args: Any, **kwargs: Any) -> Any:
        if orig_func is not None and callable(orig_func) and not args and not kwargs:
            return cls()(orig_func)  # used as @no_grad without parentheses
        return super().__new__(cls)


class no_grad(_BareDecorator):
    """``with no_grad():`` (or ``@no_grad()`` / ``@no_grad``): operations inside record nothing and save nothing."""

    def __init__(self, orig_func: Callable | None = None) -> None:
        super().__init__(False)


class enable_grad(_BareDecorator):
    """``with enable_grad():`` (or ``@enable_grad()``): turn recording back on inside ``no_grad``."""

    def __init__(self, orig_func: Callable | None = None) -> None:
        super().__init__(True)


class inference_mode(_BareDecorator):
    """``with inference_mode():`` (or ``@inference_mode()``; ``inference_mode(False)`` changes nothing): PyTorch's
    faster no_grad. Here it is exactly ``no_grad``: nothing is recorded or saved; results are ordinary tensors
    (PyTorch's "inference tensors" also refuse later use in autograd; these do not)."""

    def __init__(self, mode: Any = True) -> None:
        if callable(mode):  # @inference_mode: __new__ decorated it already
            mode = True
        if not isinstance(mode, bool):
            raise TypeError(f"inference_mode: mode must be True or False, got {mode!r}")
        self.mode, self._entered = mode, []
        super().__init__(False)

    def __enter__(self) -> None:
        self._previous.append(_mode.enabled)
        if self.mode:
            _mode.enabled = False
            _mode.inference += 1
        self._entered.append(self.mode)

    def __exit__(self, *exc: object) -> None:
        if self._entered.pop():
            _mode.inference -= 1
        _mode.enabled = self._previous.pop()


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return _mode.inference > 0


class set_grad_enabled(contextlib.ContextDecorator):
    """PyTorch's ``set_grad_enabled(mode)``: as a call, grad mode is set at once (``set_grad_enabled(False)``
    turns recording off until told otherwise); as ``with set_grad_enabled(mode):`` the previous mode comes back on
    exit; as a decorator, each call of the function runs in ``mode``."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r} ({type(mode).__name__})")
        self.mode, self.previous = mode, _mode.enabled
        _mode.enabled = mode

    def __call__(self, func: Callable) -> Callable:
        _mode.enabled = self.previous  # decorating sets nothing now: each call does
        return _SetGradMode(self.mode)(func)

    def __enter__(self) -> None:
        _mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        _mode.enabled = self.previous


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
    #: keyword arguments handed to ``forward`` but not recorded in ``ctx.params``: values a caller lends for one
    #: call only (e.g. a buffer the forward pass of another primitive already computed), which a node kept for
    #: backward must not hold alive. ``vjp`` cannot read them.
    transient_params: ClassVar[tuple[str, ...]] = ()
    #: the keyword defaults of ``forward``, bound into ``ctx.params`` by ``apply`` (filled in per subclass)
    param_defaults: ClassVar[dict[str, Any]] = {}
    _binds_params: ClassVar[bool] = False  # whether apply must fill in defaults or drop transient params

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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        signature = inspect.signature(cls.forward)
        cls.param_defaults = {
            name: p.default for name, p in signature.parameters.items()
            if p.default is not inspect.Parameter.empty and name not in cls.transient_params
        }
        cls._binds_params = bool(cls.param_defaults or cls.transient_params)

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
        return type(self._inputs[0])._make(self._out, self)

    def constant(self, array: Any) -> Tensor:
        """``array`` as a Tensor outside the graph (a mask, fixed weights), for a VJP to combine with its inputs."""
        return type(self._inputs[0])._make(np.asarray(array), None)

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

    def check_unmodified(self) -> None:
        """RuntimeError if a value the VJP reads was written in place, or had its ``.data`` replaced, after this
        node was recorded. With ``reads_inputs = False`` only the saved output (if any) is checked."""
        where = f" (created at {self.created_at})" if self.created_at else ""
        fix = ("its gradient would be wrong. Run backward before changing it (call optimizer.step() after "
               "loss.backward()), or change a copy (x.clone())")
        if self.reads_inputs:
            for i, (t, a) in enumerate(zip(self._inputs, self._arrays)):
                if t.data is not a:
                    raise RuntimeError(f"{self.name}{where}: the .data of input {i} (shape {a.shape}) was replaced "
                                       f"after the forward pass saved it for backward; {fix}")
                if versions.written_since(a, self._stamp):
                    raise RuntimeError(f"{self.name}{where}: input {i} (shape {a.shape}) was modified in place "
                                       f"after the forward pass saved it for backward; {fix}")
        if self._out is not None and versions.written_since(self._out, self._stamp):
            raise RuntimeError(f"{self.name}{where}: its output (shape {self._out.shape}) was modified in place "
                               f"after the forward pass saved it for backward; {fix}")

    # ---- the two methods a primitive defines ---------------------------------------------------
    def forward(self, *arrays: np.ndarray, **params: Any) -> np.ndarray:
        raise NotImplementedError(f"{self.name} defines no forward")

    def vjp(self, grad: Tensor) -> Tensor | tuple[Tensor | None, ...] | None:
        raise NotImplementedError(f"{self.name} defines no vjp: it is not differentiable")

    # ---- recording ----------------------------------------------------------------------------
    @classmethod
    def _bind(cls, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """(what forward receives, what the node records): the caller's params in their order, then the defaults
        they left out; the record without ``transient_params``."""
        full = {**params, **{k: v for k, v in cls.param_defaults.items() if k not in params}}
        return full, {k: v for k, v in full.items() if k not in cls.transient_params}

    @classmethod
    def apply(cls, *inputs: Any, **params: Any) -> Tensor:
        """Run ``forward`` on the inputs' arrays and record this primitive in the graph when needed.

        Positional arguments are the tensor inputs (array-likes are converted to the class of the first Tensor
        among them); keyword arguments are params, recorded with the forward's defaults filled in, except
        those named in ``transient_params``.
        """
        tensors, arrays, needs = [], [], []
        for x in inputs:  # one plain loop: cheaper than several comprehensions on this hot path
            if not isinstance(x, Tensor):
                x = _as_input(cls, x, inputs)
            tensors.append(x)
            arrays.append(x.data)
            needs.append(x._requires_grad)
        ctx = cls.__new__(cls)
        ctx._saved = ()
        ctx.freed = False
        if cls._binds_params:
            params, ctx.params = cls._bind(params)
        else:
            ctx.params = params
        record = _mode.enabled and True in needs
        ctx.needs_input_grad = tuple(needs) if record else (False,) * len(tensors)
        out = ctx.forward(*arrays, **params)
        if type(out) is not np.ndarray:
            out = np.asarray(out)
        result_type = type(tensors[0])
        if not record or out.dtype.kind != "f":  # integer and bool results are not differentiable
            return result_type._make(out, None)
        ctx._inputs, ctx._arrays, ctx._stamp = tensors, arrays, versions.clock
        ctx.next = tuple([t._ctx if t._ctx is not None else (t if t._requires_grad else None) for t in tensors])
        ctx.input_shapes = tuple([a.shape for a in arrays])
        ctx.out_dtype, ctx.scope = out.dtype, _mode.scope
        ctx._out = out if cls.save_output else None
        if _mode.anomaly:
            ctx.created_at = _user_frame()
            _check_finite(out, "forward output", ctx)
        return result_type._make(out, ctx)

    def release(self) -> None:
        """Free what the forward pass saved; the node's edges stay, so the graph can still be drawn."""
        self._saved = ()
        self._inputs = self._arrays = ()
        self._out = None
        self.freed = True


def _as_input(cls: type, value: Any, inputs: Sequence[Any]) -> Tensor:
    """A non-Tensor positional argument of ``cls.apply`` as a Tensor of the class of the first Tensor input."""
    tensor_type = next((type(x) for x in inputs if isinstance(x, Tensor)), None)
    if tensor_type is None:
        raise TypeError(f"{cls.__name__}.apply: pass at least one Tensor input (got only "
                        f"{', '.join(type(x).__name__ for x in inputs) or 'no inputs'}); wrap arrays with Tensor(...)")
    return tensor_type(value)


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


def _run_hooks(hooks: list[Callable] | None, g: Tensor) -> Tensor:
    for hook in hooks or ():
        result = hook(g)
        if result is not None:
            g = result
    return g


def _vertex(t: Tensor) -> Any:
    """What a tensor is in the graph: the node that made it, or the leaf itself."""
    return t._ctx if t._ctx is not None else t


class _BackwardPass:
    """One backward pass: the gradients in flight, keyed by graph vertex, and where they are delivered.

    With ``inputs=None`` gradients accumulate into each leaf's ``.grad``; otherwise they are captured for the
    inputs, one per input, and no ``.grad`` is touched.
    """

    def __init__(self, inputs: Sequence[Tensor] | None, retain_graph: bool, create_graph: bool) -> None:
        self.grads: dict[int, Tensor] = {}
        self.leaves: dict[int, Tensor] = {}  # every leaf that has received a gradient
        self.wanted = None if inputs is None else {id(_vertex(t)) for t in inputs}
        self.captured: dict[int, Tensor] = {}
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.delivered: list[np.ndarray] = []  # arrays already placed in some .grad (never alias two of them)
        self.external: list[np.ndarray] = []  # the caller's gradient arrays (never alias those either)

    def accumulate(self, key: int, g: Tensor) -> None:
        previous = self.grads.get(key)
        self.grads[key] = g if previous is None else previous + g

    def seed_roots(self, roots: Sequence[Tensor], root_grads: Sequence[Tensor]) -> list[Function]:
        """Place each root's gradient; the roots' nodes, from which the graph is walked."""
        nodes = []
        for i, (root, g) in enumerate(zip(roots, root_grads)):
            if not root.requires_grad:
                raise RuntimeError(f"element {i} of the outputs does not require grad and has no grad_fn: "
                                   "compute it from a tensor created with requires_grad=True, outside no_grad()")
            self.accumulate(id(_vertex(root)), g)
            self.external.append(g.data)
            if root._ctx is None:
                self.leaves[id(root)] = root
            else:
                nodes.append(root._ctx)
        return nodes

    def visit(self, node: Function) -> None:
        """Run one node's VJP on the gradient summed over its consumers, and pass the results to its inputs."""
        grads = self.grads
        g = grads.pop(id(node), None)
        if g is None:  # reached, but every path to it carried no gradient
            if not self.retain_graph:
                node.release()
            return
        if node.freed:
            node._check_alive()
        node.check_unmodified()
        if node.hooks:
            g = _run_hooks(node.hooks, g)
        if self.wanted is not None and id(node) in self.wanted:
            self.captured[id(node)] = g
        if node.retained is not None and self.wanted is None:
            for ref in node.retained:
                t = ref()
                if t is not None:
                    self.deliver(t, g)
        results = node.vjp(g)
        if not isinstance(results, tuple):
            results = (results,)
        if len(results) != len(node.next):
            raise RuntimeError(f"{node.name}.vjp returned {len(results)} gradients for {len(node.next)} inputs")
        if _mode.anomaly:
            for i, r in enumerate(results):
                if r is not None:
                    _check_finite(r.data, f"gradient of input {i}", node)
        for child, shape, r in zip(node.next, node.input_shapes, results):
            if child is None or r is None:
                continue
            if r.data.shape != shape:
                raise RuntimeError(f"{node.name}.vjp returned a gradient of shape {r.shape} for an input of shape "
                                   f"{shape}")
            key = id(child)
            if not isinstance(child, Function):
                self.leaves[key] = child
            previous = grads.get(key)  # accumulate, inlined: this loop runs once per edge of the graph
            grads[key] = r if previous is None else previous + r
        if not self.retain_graph:
            node.release()

    def deliver_to_leaves(self) -> None:
        """Each leaf's summed gradient, through its hooks, into ``.grad`` (or captured for ``grad()``)."""
        for key, leaf in self.leaves.items():
            g = _run_hooks(leaf._hooks, self.grads[key])
            if self.wanted is not None:
                self.captured[key] = g
            else:
                self.deliver(leaf, g)

    def deliver(self, t: Tensor, g: Tensor) -> None:
        """Accumulate ``g`` into ``t.grad``, never aliasing another delivered gradient or the caller's gradient."""
        if not self.create_graph:
            g = g._make(_unaliased(g.data, self.external + self.delivered), None)
        if t.grad is None:
            t.grad = g
        else:
            t.grad = t.grad + g if self.create_graph else g._make(t.grad.data + g.data, None)
        self.delivered.append(t.grad.data)


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Tensor], inputs: Sequence[Tensor] | None = None,
                 retain_graph: bool = False, create_graph: bool = False) -> list[Tensor | None] | None:
    """Propagate ``root_grads`` from ``roots`` to the leaves: seed the roots, visit every node in reverse
    topological order, deliver to the leaves.

    With ``inputs=None`` gradients accumulate into each leaf's ``.grad``; otherwise they are returned,
    one per input (None where an input is not reached), and no ``.grad`` is touched.
    """
    backward_pass = _BackwardPass(inputs, retain_graph, create_graph)
    nodes = backward_pass.seed_roots(roots, root_grads)
    with _SetGradMode(create_graph):  # VJPs record a graph only when it will be differentiated again
        for node in _topological_order(nodes):
            backward_pass.visit(node)
        backward_pass.deliver_to_leaves()
    if inputs is None:
        return None
    return [backward_pass.captured.get(id(_vertex(t))) for t in inputs]


def _unaliased(data: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """``data``, copied if it is read-only or may share memory with one of ``others``."""
    if not data.flags.writeable or any(np.may_share_memory(data, other) for other in others):
        return data.copy()
    return data


def backward(tensor: Tensor, gradient: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False) -> None:
    """Accumulate d(tensor)/d(leaf), weighted by ``gradient``, into ``.grad`` of every leaf that requires grad."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: this tensor does not require grad and has no grad_fn; compute it from "
                           "a tensor with requires_grad=True, outside no_grad()")
    g = _initial_grad(tensor, gradient, "backward")
    run_backward([tensor], [g], retain_graph=create_graph if retain_graph is None else retain_graph,
                 create_graph=create_graph)


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
                result[i] = r._make(_unaliased(r.data, seen), None)
                seen.append(result[i].data)
    return tuple(result)


def _initial_grad(output: Tensor, g: Any, caller: str) -> Tensor:
    """The gradient a backward pass starts from: ones for a one-element output, else the caller's ``g`` as a
    tensor of the output's class, dtype and shape (TypeError / ValueError naming the caller otherwise)."""
    if g is None:
        if output.size != 1:
            raise RuntimeError(
                f"{caller}: the output has shape {output.shape}, so the gradient is only implicit for scalars; "
                "pass gradient= (a tensor of the output's shape), or reduce the output first, e.g. out.sum()"
            )
        return output._make(np.ones(output.shape, dtype=output.dtype), None)
    if not isinstance(g, Tensor):
        try:
            g = type(output)(g, dtype=output.dtype)
        except (TypeError, ValueError, OverflowError) as err:
            raise TypeError(f"{caller}: gradient must be a Tensor or numeric array-like, got {type(g).__name__} "
                            f"({err})") from None
    if g.dtype != output.dtype:
        raise TypeError(f"{caller}: gradient has dtype {g.dtype} for an output of dtype {output.dtype}; they must "
                        "match")
    if g.shape != output.shape:
        raise ValueError(f"{caller}: gradient of shape {g.shape} for an output of shape {output.shape}; "
                         "they must match")
    return g
