"""Matrix product with NumPy's ``matmul`` rules: 1-D operands promoted, batch axes broadcast."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from .elementwise import unbroadcast


def _matmul_check(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}; "
                         "use * for scaling by a scalar")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: the last axis of the first "
                         f"({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} axis of the "
                         f"second ({k_b})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: the batch axes {a.shape[:-2]} "
                             f"and {b.shape[:-2]} do not broadcast (they must be equal or 1)") from None


class MatMul(Function):
    """out = a @ b; (..., n, k) @ (..., k, m) -> (..., n, m).

    VJP: ga = ub(g @ b^T), gb = ub(a^T @ g), where a 1-D operand is read as a row (a) or a column (b)
    and the added axis is removed again.
    """

    def forward(ctx, a, b):
        _matmul_check(a, b)
        return np.matmul(a, b)

    def vjp(ctx, g):
        a, b = ctx.inputs
        need_a, need_b = ctx.needs_input_grad
        if a.ndim == 1 and b.ndim == 1:
            return (g * b if need_a else None), (g * a if need_b else None)
        a2 = a.reshape((1, a.shape[0])) if a.ndim == 1 else a
        b2 = b.reshape((b.shape[0], 1)) if b.ndim == 1 else b
        g2 = g
        if a.ndim == 1:
            g2 = g2.unsqueeze(-2)
        if b.ndim == 1:
            g2 = g2.unsqueeze(-1)
        ga = unbroadcast(g2 @ b2.transpose(-1, -2), a2.shape).reshape(a.shape) if need_a else None
        gb = unbroadcast(a2.transpose(-1, -2) @ g2, b2.shape).reshape(b.shape) if need_b else None
        return ga, gb


def _linear_check(x: np.ndarray, w: np.ndarray, bias: tuple) -> None:
    if w.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ValueError(f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features but weight {w.shape} "
                         f"expects {w.shape[1]}; flatten the input or fix in_features")
    if bias and bias[0].shape != (w.shape[0],):
        raise ValueError(f"linear: bias must have shape ({w.shape[0]},) for weight {w.shape}, got {bias[0].shape}")
    for name, a in (("weight", w), ("bias", bias[0] if bias else w)):
        if a.dtype != x.dtype or x.dtype.kind != "f":
            raise TypeError(f"linear: input is {x.dtype} but {name} is {a.dtype}; both must be the same float dtype "
                            "(convert with .float()/.double())")


class Linear(Function):
    """y = x @ w^T + b in one node: x (..., I), w (O, I), optional b (O,) -> y (..., O).

    Forward: one GEMM over the rows of x flattened to (M, I), the bias added in place.
    VJP: gx = g @ w, gw = g2^T @ x2, gb = sum of g2 over rows, where g2 (M, O) and x2 (M, I) are g and x with
    their leading axes flattened. Written with MatMul, Permute, Reshape and Sum, so it is differentiable again.
    """

    def forward(ctx, x, w, *bias):
        _linear_check(x, w, bias)
        rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
        out = np.matmul(rows, w.T)
        if bias:
            out += bias[0]
        return out.reshape(*x.shape[:-1], w.shape[0]) if x.ndim != 2 else out

    def vjp(ctx, g):
        x, w = ctx.inputs[:2]
        need = ctx.needs_input_grad
        gx = g @ w if need[0] else None
        g2 = g.reshape(-1, w.shape[0]) if g.ndim != 2 else g
        gw = None
        if need[1]:
            x2 = x.reshape(-1, w.shape[1]) if x.ndim != 2 else x
            gw = g2.transpose(0, 1) @ x2
        if len(need) == 2:
            return gx, gw
        return gx, gw, (g2.sum(axis=0) if need[2] else None)
