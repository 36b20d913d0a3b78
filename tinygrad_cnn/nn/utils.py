"""Gradient clipping and flat parameter vectors, as ``torch.nn.utils``: ``clip_grad_norm_``, ``clip_grad_value_``,
``parameters_to_vector`` and ``vector_to_parameters``.

The clipping functions rescale or clamp each parameter's ``.grad`` in place (NumPy on the gradient arrays, outside
the graph) and are meant to run between ``loss.backward()`` and ``optimizer.step()``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._checks import as_bool, as_real
from ..tensor_class import Tensor, concatenate
from ..versions import mark_modified


def _tensors(op: str, parameters: Tensor | Iterable[Tensor]) -> list[Tensor]:
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"{op}: parameters must be a Tensor or an iterable of Tensors (e.g. model.parameters()), "
                        f"got {type(parameters).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{op}: parameters[{i}] is a {type(p).__name__}, not a Tensor")
    return params


def _norm_type(op: str, norm_type: Any) -> float:
    if isinstance(norm_type, str):
        if norm_type.strip().lower() not in ("inf", "+inf", "-inf"):
            raise ValueError(f"{op}: norm_type must be a number or 'inf', got {norm_type!r}")
        return float(norm_type)
    value = as_real(op, "norm_type", norm_type)
    if math.isnan(value):
        raise ValueError(f"{op}: norm_type must be a number or inf, got nan")
    return value


def _vector_norm(x: np.ndarray, p: float) -> np.floating:
    """torch.linalg.vector_norm of the flattened ``x``: max |x| (inf), min |x| (-inf), the count of non-zeros (0),
    else (sum |x|^p)^(1/p)."""
    a = np.abs(x.ravel())
    if p == math.inf:
        return a.max(initial=0.0)
    if p == -math.inf:
        return a.min(initial=math.inf) if a.size else np.float64(math.inf)
    if p == 0:
        return a.dtype.type(np.count_nonzero(a))
    if p == 2:
        return np.sqrt(np.dot(a, a))
    if p == 1:
        return a.sum()
    return np.sum(a**p) ** (1 / p)


def _write_grad(p: Tensor, new: np.ndarray) -> None:
    """Store ``new`` as ``p.grad``: into its memory when it is a writable array of its own, else as a new tensor."""
    g = p.grad
    if g.data.flags.writeable and g.data.flags.owndata:
        np.copyto(g.data, new, casting="same_kind")
        mark_modified(g.data)
    else:
        p.grad = Tensor(new.astype(g.data.dtype, copy=False))


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float, norm_type: float | str = 2.0,
                    error_if_nonfinite: bool = False, foreach: bool | None = None) -> Tensor:
    r"""Scale the gradients of ``parameters`` together so that their total norm is at most ``max_norm``.

    The total norm is the ``norm_type`` norm of all gradients as one vector, $N = \| (\|g_1\|, \ldots, \|g_k\|)
    \|$ (``inf``: the largest absolute entry). Every gradient is multiplied by $\min(1, m / (N + 10^{-6}))$, in
    place. Parameters without a gradient are skipped. Returns $N$ (before clipping) as a 0-d Tensor (0 when no
    parameter has a gradient). ``error_if_nonfinite=True`` raises a RuntimeError when $N$ is NaN or infinite
    (otherwise the gradients are scaled by the non-finite factor, as in PyTorch). ``foreach`` is accepted for
    PyTorch compatibility; the update is always vectorised.
    """
    op = "clip_grad_norm_"
    params = _tensors(op, parameters)
    max_norm = as_real(op, "max_norm", max_norm)
    p = _norm_type(op, norm_type)
    error_if_nonfinite = as_bool(op, "error_if_nonfinite", error_if_nonfinite)
    if foreach is not None:
        as_bool(op, "foreach", foreach)
    with_grads = [q for q in params if q.grad is not None]
    if not with_grads:
        return Tensor(np.array(0.0, dtype=params[0].dtype if params else np.float32))
    grads = [q.grad.data for q in with_grads]
    dtype = np.result_type(*grads)
    norms = np.array([_vector_norm(g, p) for g in grads], dtype=dtype)
    total = dtype.type(_vector_norm(norms, p))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"{op}: The total norm of order {p} for gradients from `parameters` is non-finite, so it "
                           "cannot be clipped. To disable this error and scale the gradients by the non-finite norm "
                           "anyway, set `error_if_nonfinite=False`")
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        coef = dtype.type(max_norm) / (total + dtype.type(1e-6))
        coef = np.minimum(coef, dtype.type(1.0))
        for q, g in zip(with_grads, grads):
            _write_grad(q, g * coef.astype(g.dtype))
    return Tensor(np.array(total))


def clip_grad_value_(parameters: Tensor | Iterable[Tensor], clip_value: float, foreach: bool | None = None) -> None:
    """Clamp every gradient entry of ``parameters`` into ``[-clip_value, clip_value]``, in place (a gradient's
    VJP is then no longer the true one: entries beyond the bound are cut). Parameters without a gradient are
    skipped. ``clip_value`` must be >= 0."""
    op = "clip_grad_value_"
    params = _tensors(op, parameters)
    c = as_real(op, "clip_value", clip_value, low=0.0)
    if foreach is not None:
        as_bool(op, "foreach", foreach)
    for q in params:
        if q.grad is not None:
            g = q.grad.data
            _write_grad(q, np.clip(g, -g.dtype.type(c), g.dtype.type(c)))


def parameters_to_vector(parameters: Tensor | Iterable[Tensor]) -> Tensor:
    """All parameters flattened and joined into one 1-D tensor, in order (differentiable: a concatenation of
    reshapes, so the gradient flows back to each parameter)."""
    op = "parameters_to_vector"
    params = _tensors(op, parameters)
    if not params:
        raise ValueError(f"{op}: got no parameters")
    return concatenate([q.reshape(-1) for q in params], 0)


def vector_to_parameters(vec: Tensor, parameters: Tensor | Iterable[Tensor]) -> None:
    """Copy consecutive slices of the 1-D tensor ``vec`` into the parameters (in place, outside the graph), the
    inverse of ``parameters_to_vector``. ``vec`` must hold exactly as many numbers as the parameters."""
    op = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{op}: expected a Tensor, but got: {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"{op}: vec must be 1-D, got shape {vec.shape}; flatten it with parameters_to_vector")
    params = _tensors(op, parameters)
    sizes = [q.numel() for q in params]
    if sum(sizes) != vec.shape[0]:
        raise ValueError(f"{op}: vec has {vec.shape[0]} elements, the parameters {sum(sizes)} "
                         f"(shapes {[q.shape for q in params]})")
    start = 0
    for q, n in zip(params, sizes):
        if not q.data.flags.writeable:
            q.data = q.data.copy()
        np.copyto(q.data, vec.data[start:start + n].reshape(q.shape), casting="same_kind")
        mark_modified(q.data)
        start += n


__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector", "vector_to_parameters"]
