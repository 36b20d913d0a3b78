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
delivers to the leaves, one named step each. Every gradient a VJP or a hook hands back passes one check
(``_as_gradient``: PyTorch's shape and dtype rules, arrays and numbers taken as constants), and ``grad()``
runs only the nodes between the outputs and its inputs.

The grad modes (``no_grad`` and the others) are thread-local; each context restores what its own entry
replaced, a decorated function runs each call in a fresh context, and a decorated generator each resume.

This module sits above ``tensor_core`` (what a tensor holds) and below ``ops`` (the primitives) and
``tensor`` (the operators): it never names the user-facing Tensor class, and builds every tensor with
the class of one it was given, so results carry all of its methods.
"""

from __future__ import annotations

import contextlib
import functools
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
    observer: Any = None  # what watches the backward passes of this thread (see observe_backward), or None
    inference = 0  # how many inference_mode() blocks are open


_mode = _GradMode()


def is_grad_enabled() -> bool:
    """True when operations record the graph."""
    return _mode.enabled


def is_anomaly_enabled() -> bool:
    """True inside ``detect_anomaly()`` (in this thread)."""
    return _mode.anomaly


class _ModeContext:
    """A context manager that changes part of the thread's mode on enter and restores it on exit.

    What ``__enter__`` replaces is pushed on a stack that belongs to this instance *and* the current thread, so one
    instance can be nested, re-entered by a recursive function and shared by threads without one thread restoring
    another's state. As a decorator, each call of the function runs in a fresh context (``_fresh``); a generator
    function runs in the mode at every resume (each ``next``/``send``/``throw``/``close``) and not between them.
    Subclasses define ``_fresh`` (a new context with the same settings), ``_change`` (set the mode, return what
    it replaced) and ``_restore`` (put that back)."""

    def __init__(self) -> None:
        self._local = threading.local()  # this thread's stack of replaced states

    def _fresh(self) -> _ModeContext:
        raise NotImplementedError

    def _change(self) -> Any:
        raise NotImplementedError

    def _restore(self, saved: Any) -> None:
        raise NotImplementedError

    def __enter__(self) -> None:
        stack = self._local.__dict__.setdefault("stack", [])
        stack.append(self._change())

    def __exit__(self, *exc: object) -> None:
        self._restore(self._local.stack.pop())

    def __call__(self, func: Callable) -> Callable:
        return _in_context(func, self._fresh)


def _in_context(func: Callable, make: Callable[[], _ModeContext]) -> Callable:
    """``func`` wrapped so that each call runs inside ``make()``; a generator function so that each resume does."""
    if not callable(func):
        raise TypeError(f"a grad-mode decorator needs a function, got {type(func).__name__}")
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def generator_in_context(*args: Any, **kwargs: Any) -> Any:
            return (yield from _resume_in_context(func(*args, **kwargs), make))
        return generator_in_context

    @functools.wraps(func)
    def in_context(*args: Any, **kwargs: Any) -> Any:
        with make():
            return func(*args, **kwargs)
    return in_context


def _resume_in_context(gen: Any, make: Callable[[], _ModeContext]) -> Any:
    """Drive ``gen``, entering ``make()`` around each resume, so its body runs in the mode and the caller's code
    between two yields runs in the caller's own mode. What the caller sends or throws in is passed on."""
    sent, thrown = None, None
    while True:
        try:
            with make():
                value = gen.send(sent) if thrown is None else gen.throw(thrown)
        except StopIteration as stop:
            return stop.value
        sent, thrown = None, None
        try:
            sent = yield value
        except GeneratorExit:
            with make():
                gen.close()
            raise
        except BaseException as err:  # whatever the caller throws in goes on to the generator
            thrown = err


class _SetGradMode(_ModeContext):
    """Context manager and decorator that sets grad mode and restores the previous one on exit."""

    def __init__(self, enabled: bool) -> None:
        super().__init__()
        self.enabled = enabled

    def _fresh(self) -> _SetGradMode:
        return _SetGradMode(self.enabled)

    def _change(self) -> bool:
        previous, _mode.enabled = _mode.enabled, self.enabled
        return previous

    def _restore(self, saved: bool) -> None:
        _mode.enabled = saved


class _BareDecorator(_SetGradMode):
    """A grad-mode context that also decorates bare, as PyTorch 2's: ``@no_grad`` as well as ``@no_grad()``."""

    def __new__(cls, orig_func: Callable | None = None, *args: Any, **kwargs: Any) -> Any:
        if orig_func is not None and callable(orig_func) and not args and not kwargs:
            return cls()(orig_func)  # used as @no_grad without parentheses
        return super().__new__(cls)

    def _fresh(self) -> _BareDecorator:
        return type(self)()


class no_grad(_BareDecorator):
    """``with no_grad():`` (or ``@no_grad()`` / ``@no_grad``): operations inside record nothing and save nothing.

    Thread-local: it changes the mode of the thread that enters it only. As a decorator each call runs in a fresh
    context (safe from several threads and recursively); a decorated generator runs each resume under no_grad."""

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
        self.mode = mode
        super().__init__(False)

    def _fresh(self) -> inference_mode:
        return inference_mode(self.mode)

    def _change(self) -> tuple[bool, int]:
        previous = _mode.enabled, _mode.inference
        if self.mode:
            _mode.enabled, _mode.inference = False, _mode.inference + 1
        return previous

    def _restore(self, saved: tuple[bool, int]) -> None:
        _mode.enabled, _mode.inference = saved


def is_inference_mode_enabled() -> bool:
    """True inside ``inference_mode()``."""
    return _mode.inference > 0


class set_grad_enabled(_SetGradMode):
    """PyTorch's ``set_grad_enabled(mode)``: as a call, grad mode is set at once (``set_grad_enabled(False)``
    turns recording off until told otherwise); as ``with set_grad_enabled(mode):`` the previous mode comes back on
    exit; as a decorator, each call of the function runs in ``mode`` (and decorating changes nothing)."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled: mode must be True or False, got {mode!r} ({type(mode).__name__})")
        super().__init__(mode)
        self.mode = mode
        # the mode this call replaced, restored by the first `with` in this thread (or by decorating)
        self._replaced: tuple[int, bool] | None = (threading.get_ident(), _mode.enabled)
        _mode.enabled = mode

    def _fresh(self) -> _SetGradMode:
        return _SetGradMode(self.mode)

    def _take_replaced(self) -> bool | None:
        replaced, self._replaced = self._replaced, None
        if replaced is not None and replaced[0] == threading.get_ident():
            return replaced[1]
        return None

    def _change(self) -> bool:
        previous = _mode.enabled
        replaced = self._take_replaced()
        _mode.enabled = self.mode
        return previous if replaced is None else replaced

    def __call__(self, func: Callable) -> Callable:
        replaced = self._take_replaced()
        if replaced is not None:  # decorating sets nothing now: each call does
            _mode.enabled = replaced
        return super().__call__(func)


class detect_anomaly(_ModeContext):
    """Check every forward output and every VJP result for NaN/Inf, naming the primitive and where it was made.

    Thread-local, and safe nested, re-entered (a decorated recursive function) and shared by threads: each exit
    restores what its own enter replaced."""

    def _fresh(self) -> detect_anomaly:
        return detect_anomaly()

    def _change(self) -> bool:
        previous, _mode.anomaly = _mode.anomaly, True
        return previous

    def _restore(self, saved: bool) -> None:
        _mode.anomaly = saved


@contextlib.contextmanager
def module_scope(module: object):
    """Record ``module`` as the caller of every op created inside (``nn.Module.__call__`` uses this)."""
    previous = _mode.scope
    _mode.scope = previous + (module,)
    try:
        yield
    finally:
        _mode.scope = previous


@contextlib.contextmanager
def observe_backward(observer: Any):
    """Report every backward pass run in this thread inside the block to ``observer`` (``viz`` uses this).

    For each node the engine runs, in the engine's order, ``observer.visit(node, grad, grads)``: ``grad`` is the
    gradient of the node's output summed over its consumers (after its hooks), ``grads`` one gradient per input
    after the engine's shape/dtype checks (None where an input needs none), each of which is then summed into the
    gradient of the vertex ``node.next[i]``. For each leaf, ``observer.leaf(leaf, grad)`` with its summed gradient
    (after its hooks), just before it is delivered. Without an observer the engine pays one ``is None`` test per
    node."""
    previous = _mode.observer
    _mode.observer = observer
    try:
        yield observer
    finally:
        _mode.observer = previous


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
                "were already freed (backward() and grad() free what the forward pass saved). Pass "
                "retain_graph=True to the first backward() or grad() if you need to do this."
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


def nodes_between(order: list[Function], wanted: set[int], needed: set[int] | None = None) -> list[Function]:
    """The nodes of ``order`` (a topological order) on a path to a vertex whose id is in ``wanted``, or that are
    one, in order: the nodes ``grad()`` runs. ``needed`` collects the ids of those that lead to one."""
    needed = set() if needed is None else needed
    for node in reversed(order):  # producers first: a node's inputs are decided before it
        if any(child is not None and (id(child) in wanted or id(child) in needed) for child in node.next):
            needed.add(id(node))
    return [node for node in order if id(node) in needed or id(node) in wanted]


def _run_hooks(hooks: list[Callable], g: Tensor, owner: str) -> Tensor:
    """``g`` through each hook in turn; a hook returning something other than None replaces it (checked)."""
    for hook in tuple(hooks):  # a hook may remove itself
        result = hook(g)
        if result is None:
            continue
        if not isinstance(result, Tensor) or result.data.shape != g.data.shape or result.data.dtype != g.data.dtype:
            result = _as_gradient(result, g.data, g, f"the gradient hook {getattr(hook, '__qualname__', hook)!r} "
                                  f"of {owner}", None)
        g = result
    return g


def _as_gradient(value: Any, like: np.ndarray, model: Tensor, who: str, index: int | None) -> Tensor:
    """``value``, which ``who`` (a VJP, for its input ``index``; or a hook, ``index=None``) returned as the gradient of
    a value shaped and typed as ``like``, as a Tensor of ``model``'s class with exactly ``like``'s shape and dtype;
    otherwise an error naming ``who``, the input, the shapes and dtypes, and the fix. The one place where the engine
    checks the gradients user code hands back.

    PyTorch's rules: a VJP's tensor of another dtype is cast to ``like``'s (differentiably), one of a shape that
    ``like`` broadcasts to is summed back over the broadcast axes; a hook must keep the shape and the dtype of what
    it received. Beyond PyTorch, a NumPy array or a number (never a list: ambiguous with several gradients) is taken
    as a constant tensor of ``like``'s dtype."""
    hook = index is None
    what = "the gradient it received" if hook else f"input {index}"
    if not isinstance(value, Tensor):
        kind = type(value).__qualname__ if type(value).__module__ == "builtins" else \
            f"{type(value).__module__.partition('.')[0]}.{type(value).__qualname__}"
        kind = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"
        if isinstance(value, (list, tuple)) or not isinstance(value, (np.ndarray, np.generic, int, float)):
            several = "; several gradients go in a tuple, one per input" if not hook else ""
            raise TypeError(f"{who} returned {kind} for {what}: return a Tensor (or a NumPy array or a number, taken "
                            f"as a constant) of shape {like.shape} and dtype {like.dtype}{several}")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{who} returned {kind} of dtype {array.dtype} for {what}, which is no gradient of "
                            f"dtype {like.dtype}; return a real-valued Tensor or array")
        value = model._make(np.array(array, dtype=like.dtype), None)  # a copy the engine owns
    got_shape, got_dtype = value.data.shape, value.data.dtype
    if got_dtype != like.dtype:
        if hook or got_dtype.kind not in "biuf":
            raise RuntimeError(f"{who} changed the dtype of {what} from {like.dtype} to {got_dtype} (shape "
                               f"{got_shape}); return a gradient of dtype {like.dtype}, e.g. g.to({like.dtype})")
        value = value.astype(like.dtype) if value._ctx is not None else value._make(value.data.astype(like.dtype),
                                                                                     None)
    if got_shape != like.shape:
        if hook:
            raise RuntimeError(f"{who} changed the shape of {what} from {like.shape} to {got_shape}; return a "
                               f"gradient of shape {like.shape} (dtype {like.dtype})")
        try:
            stretched = np.broadcast_shapes(like.shape, got_shape) == got_shape
        except ValueError:
            stretched = False
        if not stretched:
            dtypes = "" if got_dtype == like.dtype else f"; got {got_dtype}"
            raise RuntimeError(f"{who} returned a gradient of shape {got_shape} for an input of shape {like.shape} "
                               f"({what}, dtype {like.dtype}{dtypes}): a gradient has the shape of its input, or a "
                               "shape that input broadcasts to (it is then summed over the broadcast axes); check "
                               "the reductions and reshapes in the VJP")
        value = _sum_to(value, like.shape)
    return value


def _sum_to(t: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``t`` summed over the axes that broadcasting ``shape`` to ``t.shape`` added or stretched, reshaped to
    ``shape`` (with Tensor methods when ``t`` carries a graph, so that it stays differentiable)."""
    lead = t.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(shape) if n == 1 and t.shape[lead + i] != 1)
    if t._ctx is not None:
        return t.sum(axis=axes, keepdims=True).reshape(shape)
    return t._make(np.sum(t.data, axis=axes, keepdims=True).reshape(shape), None)


def _gradients(node: Function, results: Any) -> tuple:
    """What ``node.vjp`` returned as one entry per input (TypeError / RuntimeError when it cannot be)."""
    if isinstance(results, list):
        raise TypeError(f"{node.name}.vjp returned a list; return one gradient per input of apply, several as a "
                        f"tuple (None for an input that needs no gradient); it has {len(node.next)} input(s)")
    if not isinstance(results, tuple):
        results = (results,)
    if len(results) != len(node.next):
        raise RuntimeError(f"{node.name}.vjp returned {len(results)} gradients for {len(node.next)} inputs; return "
                           "exactly one per positional input of apply, in order, as a tuple (None for an input "
                           "that needs no gradient)")
    return results


def _checked(node: Function, results: tuple, g: Tensor) -> tuple:
    """``results`` of ``node.vjp`` as the engine passes them on: None for inputs that need no gradient, the others
    through ``_as_gradient`` (an observer sees exactly what is summed)."""
    return tuple(
        None if child is None or r is None
        else r if isinstance(r, Tensor) and r.data.shape == a.shape and r.data.dtype is a.dtype
        else _as_gradient(r, a, g, f"{node.name}.vjp", i)
        for i, (child, r, a) in enumerate(zip(node.next, results, node._arrays)))


def _vertex(t: Tensor) -> Any:
    """What a tensor is in the graph: the node that made it, or the leaf itself."""
    return t._ctx if t._ctx is not None else t


class _BackwardPass:
    """One backward pass: the gradients in flight, keyed by graph vertex, and where they are delivered.

    With ``inputs=None`` gradients accumulate into each leaf's ``.grad``; otherwise they are captured for the
    inputs, one per input, no leaf's ``.grad`` is touched, and only the nodes on a path from a root to an input
    run (PyTorch's ``grad``): the others keep what they saved and their hooks do not run.
    """

    def __init__(self, inputs: Sequence[Tensor] | None, retain_graph: bool, create_graph: bool) -> None:
        self.grads: dict[int, Tensor] = {}
        self.leaves: dict[int, Tensor] = {}  # every leaf that has received a gradient
        self.wanted = None if inputs is None else {id(_vertex(t)) for t in inputs}
        self.needed: set[int] = set()  # with inputs: the nodes whose VJP leads to an input
        self.captured: dict[int, Tensor] = {}
        self.retain_graph, self.create_graph = retain_graph, create_graph
        self.delivered: list[np.ndarray] = []  # arrays already placed in some .grad (never alias two of them)
        self.external: list[np.ndarray] = []  # the caller's gradient arrays (never alias those either)
        self.observer = _mode.observer  # observe_backward's observer, or None

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

    def prune(self, order: list[Function]) -> list[Function]:
        """With inputs: the nodes of ``order`` that lead to an input (``needed``: their VJP runs) or are one
        (their hooks run and their gradient is captured), in order."""
        assert self.wanted is not None
        return nodes_between(order, self.wanted, self.needed)

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
            g = _run_hooks(node.hooks, g, f"the output of {node.name}")
        if node.retained is not None:
            for ref in node.retained:
                t = ref()
                if t is not None:
                    self.deliver(t, g)
        if self.wanted is not None and id(node) in self.wanted:
            self.captured[id(node)] = g
            if id(node) not in self.needed:  # an input no other input lies behind: its VJP need not run
                return
        results = node.vjp(g)
        if type(results) is not tuple or len(results) != len(node.next):
            results = _gradients(node, results)
        if self.observer is not None:
            results = _checked(node, results, g)
            self.observer.visit(node, g, results)
        anomaly = _mode.anomaly
        for i, (child, r, a) in enumerate(zip(node.next, results, node._arrays)):
            if child is None or r is None:
                continue
            if not isinstance(r, Tensor) or r.data.shape != a.shape or r.data.dtype is not a.dtype:
                r = _as_gradient(r, a, g, f"{node.name}.vjp", i)
            if anomaly:
                _check_finite(r.data, f"gradient of input {i}", node)
            key = id(child)
            if not isinstance(child, Function):
                self.leaves[key] = child
            previous = grads.get(key)  # accumulate, inlined: this loop runs once per edge of the graph
            grads[key] = r if previous is None else previous + r
        if not self.retain_graph:
            node.release()

    def deliver_to_leaves(self) -> None:
        """Each leaf's summed gradient, through its hooks, into ``.grad`` (or, for ``grad()``, captured for the
        leaves that are inputs; the others' hooks do not run)."""
        wanted, observer = self.wanted, self.observer
        for key, leaf in self.leaves.items():
            if wanted is not None and key not in wanted:
                continue
            g = self.grads[key]
            if leaf._hooks:
                g = _run_hooks(leaf._hooks, g, f"a leaf of shape {leaf.shape}")
            if observer is not None:
                observer.leaf(leaf, g)
            if wanted is not None:
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

    def results(self, inputs: Sequence[Tensor]) -> list[Tensor | None]:
        """The captured gradient of each input (None where none arrived); without create_graph each a fresh
        constant sharing memory with no ``.grad`` this pass filled, no gradient the caller passed, and no other."""
        out = [self.captured.get(id(_vertex(t))) for t in inputs]
        if not self.create_graph:
            seen = self.external + self.delivered
            for i, r in enumerate(out):
                if r is not None:
                    out[i] = r._make(_unaliased(r.data, seen), None)
                    seen.append(out[i].data)
        return out


def run_backward(roots: Sequence[Tensor], root_grads: Sequence[Tensor], inputs: Sequence[Tensor] | None = None,
                 retain_graph: bool = False, create_graph: bool = False) -> list[Tensor | None] | None:
    """Propagate ``root_grads`` from ``roots`` to the leaves: seed the roots, visit every node in reverse
    topological order, deliver to the leaves.

    With ``inputs=None`` gradients accumulate into each leaf's ``.grad``; otherwise they are returned,
    one per input (None where an input is not reached), no leaf's ``.grad`` is touched, and only the nodes
    between the roots and the inputs run (the ``.grad`` of ``retain_grad()`` tensors among them is filled, as in
    PyTorch).
    """
    backward_pass = _BackwardPass(inputs, retain_graph, create_graph)
    nodes = backward_pass.seed_roots(roots, root_grads)
    with _SetGradMode(create_graph):  # VJPs record a graph only when it will be differentiated again
        order = _topological_order(nodes)
        for node in order if inputs is None else backward_pass.prune(order):
            backward_pass.visit(node)
        backward_pass.deliver_to_leaves()
    return None if inputs is None else backward_pass.results(inputs)


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
