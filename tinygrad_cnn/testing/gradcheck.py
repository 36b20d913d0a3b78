"""Check VJPs against float64 central differences, and the invariants a plain gradient check misses."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..autograd import Function, _topological_order, grad, nodes_between
from ..tensor_class import Tensor


class GradcheckError(AssertionError):
    """A gradient check failed; the message names the input, the worst element and both values."""


def _as_output(out: object, what: str) -> Tensor:
    if not isinstance(out, Tensor):
        raise TypeError(f"{what}: the function must return one Tensor, got {type(out).__name__}")
    return out


def _graph_nodes(root: Tensor, inputs: Sequence[Tensor]) -> list[Function]:
    """The nodes reachable from ``root`` on a path to one of ``inputs``: the ones ``grad`` runs, and so frees. A
    node that leads only to other tensors needing grad (a parameter the function closes over) is not run, as in
    PyTorch, and keeps what it saved."""
    if root._ctx is None:
        return []
    return nodes_between(_topological_order([root._ctx]), {id(t._ctx if t._ctx is not None else t) for t in inputs})


def _check_invariants(fn: Callable[..., Tensor], inputs: Sequence[Tensor], rng: np.random.Generator,
                      ) -> tuple[np.ndarray, list[Tensor | None]]:
    """Run fn and its backward once with a random upstream gradient, asserting: nothing mutated, no aliasing,
    saved buffers released. Returns the upstream gradient and the input gradients."""
    before = [t.data.copy() for t in inputs]
    out = _as_output(fn(*inputs), "gradcheck")
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    upstream_copy = upstream.copy()
    wanted = [t for t in inputs if t.requires_grad]
    if not out.requires_grad:
        for i, (t, b) in enumerate(zip(inputs, before)):
            if not np.array_equal(t.data, b, equal_nan=True):
                raise GradcheckError(f"input {i} was modified in place by the forward pass")
        return upstream, [None] * len(wanted)
    nodes = _graph_nodes(out, wanted)
    grads = grad(out, wanted, Tensor(upstream), allow_unused=True)
    for i, (t, b) in enumerate(zip(inputs, before)):
        if not np.array_equal(t.data, b, equal_nan=True):
            raise GradcheckError(f"input {i} was modified in place by the forward or backward pass")
    if not np.array_equal(upstream, upstream_copy, equal_nan=True):
        raise GradcheckError("the upstream gradient was modified in place by the backward pass")
    arrays = [g.data for g in grads if g is not None]
    for i, a in enumerate(arrays):
        if np.shares_memory(a, upstream):
            raise GradcheckError(f"returned gradient {i} shares memory with the upstream gradient")
        for j in range(i):
            if np.shares_memory(a, arrays[j]):
                raise GradcheckError(f"returned gradients {j} and {i} share memory")
    alive = [n.name for n in nodes if not n.freed]
    if alive:
        raise GradcheckError(f"saved buffers of {sorted(set(alive))} were not released after backward")
    return upstream, list(grads)


def _objective(fn: Callable[..., Tensor], inputs: Sequence[Tensor], upstream: np.ndarray) -> float:
    """<fn(inputs), upstream> in float64 (the graph stays on: fn may itself differentiate)."""
    out = _as_output(fn(*inputs), "gradcheck")
    return float(np.sum(out.data.astype(np.float64) * upstream))


def _require_float64(inputs: Sequence[Tensor], what: str) -> None:
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{what}: input {i} is a {type(t).__name__}; pass Tensors")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"{what}: input {i} has dtype {t.dtype}; finite differences need float64, "
                            "create it with dtype=np.float64 or call .double()")


def gradcheck(fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6, atol: float = 1e-5,
              rtol: float = 1e-3, fast: bool = False, seed: int = 0) -> bool:
    """Assert that the VJP of ``fn`` matches float64 central differences for every input that requires grad.

    With a random upstream gradient v, the analytic vector-Jacobian product v^T J is compared with
    (f(x + eps e_k) - f(x - eps e_k)) . v / (2 eps) for every element k, within atol + rtol * |numeric|.
    ``fast=True`` compares one random projection v^T J u instead (one backward, two forward calls).
    Also asserts the invariants in ``_check_invariants``. Returns True, or raises GradcheckError naming
    the input, the worst element, the analytic and the numeric value.
    """
    _require_float64(inputs, "gradcheck")
    rng = np.random.default_rng(seed)
    upstream, analytic = _check_invariants(fn, inputs, rng)
    upstream = upstream.astype(np.float64)
    positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    if fast:
        directions = [rng.standard_normal(inputs[i].shape) for i in positions]
        predicted = sum(float(np.sum(g.data * u)) for g, u in zip(analytic, directions) if g is not None)
        shifted = []
        for sign in (1.0, -1.0):
            moved = list(inputs)
            for i, u in zip(positions, directions):
                moved[i] = Tensor(inputs[i].data + sign * eps * u, requires_grad=True)
            shifted.append(_objective(fn, moved, upstream))
        numeric = (shifted[0] - shifted[1]) / (2 * eps)
        if not abs(predicted - numeric) <= atol + rtol * abs(numeric):  # a NaN on either side fails too
            raise GradcheckError(f"gradcheck (fast): projected VJP {predicted:.8g} != numeric {numeric:.8g} "
                                 f"(difference {abs(predicted - numeric):.3g})")
        return True
    for position, g in zip(positions, analytic):
        x = inputs[position]
        numeric = np.zeros(x.shape)
        flat = x.data.reshape(-1).copy()
        for k in range(flat.size):
            values = []
            for delta in (eps, -eps):
                moved_flat = flat.copy()
                moved_flat[k] += delta
                moved = list(inputs)
                moved[position] = Tensor(moved_flat.reshape(x.shape), requires_grad=True)
                values.append(_objective(fn, moved, upstream))
            numeric.reshape(-1)[k] = (values[0] - values[1]) / (2 * eps)
        got = np.zeros(x.shape) if g is None else g.data.astype(np.float64)
        error = np.abs(got - numeric) - (atol + rtol * np.abs(numeric))
        error = np.where(np.isfinite(got) & ~np.isnan(error), error, np.inf)  # NaN or Inf on either side fails
        if error.size and not np.all(error <= 0):
            worst = np.unravel_index(int(np.argmax(error)), x.shape)
            raise GradcheckError(
                f"gradcheck: input {position} (shape {x.shape}), element {tuple(int(i) for i in worst)}: "
                f"analytic {got[worst]:.8g}, numeric {numeric[worst]:.8g} "
                f"(|difference| {abs(got[worst] - numeric[worst]):.3g}, "
                f"allowed {atol + rtol * abs(numeric[worst]):.3g})"
            )
    return True


def _check_recorded_vjp(fn: Callable[..., Tensor], inputs: Sequence[Tensor], positions: list[int], upstream: Tensor,
                        atol: float, rtol: float) -> None:
    """The VJP recorded with ``create_graph=True`` must give the same values as the plain one: a primitive with a
    separate NumPy fast path for first order and a Tensor-op path for higher orders could otherwise differ, and
    differentiating a wrong recorded path consistently would still pass the second-order check."""
    targets = [inputs[i] for i in positions]
    v = Tensor(upstream.data)
    plain = grad(fn(*inputs), targets, v, allow_unused=True)
    recorded = grad(fn(*inputs), targets, v, create_graph=True, allow_unused=True)
    for i, a, b in zip(positions, plain, recorded):
        if (a is None) != (b is None):
            raise GradcheckError(f"input {i}: the gradient is {'None' if a is None else 'defined'} without "
                                 f"create_graph and {'None' if b is None else 'defined'} with it")
        if a is not None and not np.allclose(a.data, b.data, atol=atol, rtol=rtol):
            worst = np.unravel_index(np.argmax(np.abs(a.data - b.data)), a.shape) if a.shape else ()
            raise GradcheckError(f"input {i}: the gradient recorded with create_graph=True differs from the plain "
                                 f"one at index {worst}: {b.data[worst]!r} against {a.data[worst]!r}")


def gradgradcheck(fn: Callable[..., Tensor], *inputs: Tensor, eps: float = 1e-6, atol: float = 1e-5,
                  rtol: float = 1e-3, fast: bool = False, seed: int = 1) -> bool:
    """Check second derivatives: gradcheck of x, v -> sum_i <w_i, (v^T J)_i> with random fixed w_i.

    The VJP is taken with ``create_graph=True``, so this differentiates the VJP itself, with respect to
    the inputs and to the upstream gradient v.
    """
    _require_float64(inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    probe = _as_output(fn(*inputs), "gradgradcheck")
    positions = [i for i, t in enumerate(inputs) if t.requires_grad]
    weights = [rng.standard_normal(inputs[i].shape) for i in positions]
    upstream = Tensor(rng.standard_normal(probe.shape), requires_grad=True)
    _check_recorded_vjp(fn, inputs, positions, upstream, atol, rtol)

    def projected_vjp(*args: Tensor) -> Tensor:
        *xs, v = args
        out = fn(*xs)
        grads = grad(out, [xs[i] for i in positions], v, create_graph=True, allow_unused=True)
        total = Tensor(np.zeros((), np.float64))
        for g, w in zip(grads, weights):
            if g is not None:
                total = total + (g * Tensor(w)).sum()
        return total

    return gradcheck(projected_vjp, *inputs, upstream, eps=eps, atol=atol, rtol=rtol, fast=fast, seed=seed)
