"""Products: ``MatMul`` (NumPy's ``matmul`` rules: 1-D operands promoted, batch axes broadcast), ``Linear`` (x @ w^T + b
in one node) and ``Einsum`` (any Einstein summation, its VJP an Einsum again)."""

from __future__ import annotations

import string

import numpy as np

from ..autograd import Function
from ..errors import ShapeError
from .elementwise import unbroadcast
from .kernels import gemm


def _matmul_check(a: np.ndarray, b: np.ndarray) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError(f"matmul: operands must have at least 1 dimension, got shapes {a.shape} and {b.shape}; "
                         "use * for scaling by a scalar")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not match: the last axis of the first "
                         f"({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} axis of the "
                         f"second ({k_b})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not match: the batch axes {a.shape[:-2]} "
                             f"and {b.shape[:-2]} do not broadcast (they must be equal or 1)") from None


class MatMul(Function):
    """out = a @ b; (..., n, k) @ (..., k, m) -> (..., n, m).

    VJP: ga = ub(g @ b^T), gb = ub(a^T @ g), where a 1-D operand is read as a row (a) or a column (b)
    and the added axis is removed again.
    """

    def forward(ctx, a, b):
        _matmul_check(a, b)
        return gemm.matmul(a, b)  # np.matmul, a large one split over the thread pool

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
        raise ShapeError(f"linear: weight must be 2-D (out_features, in_features), got shape {w.shape}")
    if x.ndim == 0 or x.shape[-1] != w.shape[1]:
        raise ShapeError(f"linear: input {x.shape} has {x.shape[-1] if x.ndim else 0} features but weight {w.shape} "
                         f"expects {w.shape[1]}; flatten the input or fix in_features")
    if bias and bias[0].shape != (w.shape[0],):
        raise ShapeError(f"linear: bias must have shape ({w.shape[0]},) for weight {w.shape}, got {bias[0].shape}")
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
        out = gemm.matmul(rows, w.T)
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


# ---- einsum ---------------------------------------------------------------------------------------------------------
#: the labels einsum accepts, in the order an implicit output sorts them (ASCII: upper case first, as PyTorch)
LABELS = string.ascii_uppercase + string.ascii_lowercase


def _einsum_term(equation: str, term: str, where: str) -> None:
    bad = sorted({c for c in term.replace("...", "") if c not in LABELS})
    if bad:
        raise ShapeError(f"einsum: invalid subscript {bad[0]!r} in {where} of {equation!r}; subscripts are letters "
                         "a-z and A-Z, and '...' for broadcast dimensions")
    if term.count("...") > 1:
        raise ValueError(f"einsum: {where} of {equation!r} has more than one ellipsis ('...')")


def einsum_equation(equation: str, shapes: list[tuple[int, ...]]) -> str:
    """``equation`` for operands of ``shapes`` in the form the ``Einsum`` primitive takes: spaces dropped, every
    ellipsis replaced by letters of its own (the broadcast dimensions, aligned from the right as in NumPy), and the
    output explicit. Implicit output (no ``->``): the ellipsis dimensions, then the letters used exactly once, in
    ASCII order. An explicit output without ``...`` sums the ellipsis dimensions out (PyTorch's rule). ValueError
    naming einsum for an invalid equation."""
    eq = equation.replace(" ", "")
    lhs, arrow, out = eq.partition("->")
    if "->" in out or "-" in lhs or ">" in lhs:
        raise ValueError(f"einsum: {equation!r} must have at most one '->' (inputs->output)")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ShapeError(f"einsum: the equation {equation!r} has subscripts for {len(terms)} operand(s) but "
                         f"{len(shapes)} tensor(s) were given (shapes {', '.join(map(str, shapes))})")
    ell_dims = []
    for i, (term, shape) in enumerate(zip(terms, shapes)):
        _einsum_term(equation, term, f"operand {i}")
        n_labels = len(term.replace("...", ""))
        if "..." in term:
            if n_labels > len(shape):
                raise ShapeError(f"einsum: operand {i} of shape {shape} has {len(shape)} dimensions but its "
                                 f"subscripts {term!r} name {n_labels} besides the ellipsis")
            ell_dims.append(len(shape) - n_labels)
        else:
            if n_labels != len(shape):
                raise ShapeError(f"einsum: operand {i} of shape {shape} has {len(shape)} dimensions but its "
                                 f"subscripts {term!r} name {n_labels}; give one letter per dimension (or '...')")
            ell_dims.append(0)
    used = set(lhs) | set(out)
    free = [c for c in LABELS if c not in used]
    n_ell = max(ell_dims)
    if n_ell > len(free):
        raise ShapeError(f"einsum: {equation!r} with shapes {shapes} needs more than {len(LABELS)} subscripts")
    ell = "".join(free[:n_ell])
    terms = [t.replace("...", ell[n_ell - n:]) for t, n in zip(terms, ell_dims)]
    letters = "".join(terms)
    if not arrow:
        out = ell + "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c not in ell))
    else:
        _einsum_term(equation, out, "the output")
        out = out.replace("...", ell)
        for c in out:
            if out.count(c) > 1:
                raise ValueError(f"einsum: output subscript {c!r} appears more than once in {equation!r}")
            if c not in letters:
                raise ValueError(f"einsum: output subscript {c!r} of {equation!r} appears in no input operand")
    return ",".join(terms) + "->" + out


def _einsum_sizes(equation: str, terms: list[str], arrays: tuple) -> dict[str, int]:
    """The size of each label: equal in every operand, or 1 (broadcast); equal within an operand (a diagonal)."""
    sizes: dict[str, int] = {}
    for i, (term, a) in enumerate(zip(terms, arrays)):
        if len(term) != a.ndim:
            raise ShapeError(f"einsum: operand {i} of shape {a.shape} does not have {len(term)} dimensions "
                             f"({equation!r})")
        mine: dict[str, int] = {}
        for c, n in zip(term, a.shape):
            if mine.setdefault(c, n) != n:
                raise ShapeError(f"einsum: subscript {c!r} is repeated in operand {i} (a diagonal) but its "
                                 f"dimensions have sizes {mine[c]} and {n} (shape {a.shape}); they must be equal")
        for c, n in mine.items():
            seen = sizes.get(c, 1)
            if n != 1 and seen != 1 and n != seen:
                shapes = ", ".join(str(x.shape) for x in arrays)
                raise ShapeError(f"einsum: subscript {c!r} has size {n} in operand {i} but {seen} in an earlier one "
                                 f"({equation!r}, shapes {shapes}); sizes of one subscript must be equal or 1")
            sizes[c] = n if c not in sizes or seen == 1 else seen
    return sizes


def _delta(n: int, order: int, dtype: np.dtype) -> np.ndarray:
    """The generalised Kronecker delta: ``order`` axes of size ``n``, 1 where all indices are equal, else 0."""
    out = np.zeros((n,) * order, dtype)
    np.einsum(",".join(["i" * order]) + "->i", out)[...] = 1  # a writable view of the diagonal
    return out


class Einsum(Function):
    """out = einsum(equation, *operands): sums of products over the subscripts missing from the output; a subscript
    repeated in one operand reads its diagonal; size-1 dimensions broadcast. ``equation`` is explicit and has no
    ellipsis (``einsum_equation`` makes it so).

    VJP: the gradient of operand k is an einsum of g (subscripts: the output) and the other operands whose output
    has operand k's subscripts; a subscript repeated in operand k gets fresh letters tied by a Kronecker-delta
    constant, one that no other factor has at full size a ones vector, and a broadcast dimension is summed back
    (unbroadcast).
    So the VJP is an Einsum too: differentiable to any order.
    """

    def forward(ctx, *arrays, equation):
        terms = equation.split("->")[0].split(",")
        if len(terms) != len(arrays):
            raise ValueError(f"einsum: {equation!r} has subscripts for {len(terms)} operands, got {len(arrays)}")
        sizes = _einsum_sizes(equation, terms, arrays)
        ctx.save_for_backward(sizes)
        try:
            return np.einsum(equation, *arrays, optimize=len(arrays) > 1)
        except ValueError as err:  # the checks above should leave NumPy nothing to refuse
            raise ShapeError(f"einsum: {equation!r} on shapes {[a.shape for a in arrays]}: {err}") from None

    def vjp(ctx, g):
        lhs, out = ctx.params["equation"].split("->")
        terms = lhs.split(",")
        (sizes,) = ctx.saved
        inputs = ctx.inputs
        free = [c for c in LABELS if c not in sizes]
        grads = []
        for k, need in enumerate(ctx.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            others = [t for j, t in enumerate(terms) if j != k]
            names: dict[str, list[str]] = {}
            target = []
            for c in terms[k]:
                if c in names:  # a repeated subscript: a fresh letter, tied to c by a delta below
                    if not free:
                        raise ValueError(f"einsum: the gradient of {ctx.params['equation']!r} needs more than "
                                         f"{len(LABELS)} subscripts")
                    c2 = free.pop()
                    names[c].append(c2)
                    target.append(c2)
                else:
                    names[c] = [c]
                    target.append(c)
            # a letter of operand k that no other factor carries at its full size (one summed out of operand k
            # alone, or broadcast from 1 in every other operand): a ones vector brings it to full size
            full = set(out) | {c for j, t in enumerate(terms) if j != k
                               for c, n in zip(t, inputs[j].shape) if n == sizes[c]}
            constants, const_terms = [], []
            for c, letters in names.items():
                if len(letters) > 1:
                    constants.append(_delta(sizes[c], len(letters), g.dtype))
                    const_terms.append("".join(letters))
                elif c not in full:
                    constants.append(np.ones(sizes[c], g.dtype))
                    const_terms.append(c)
            equation = ",".join([out, *others, *const_terms]) + "->" + "".join(target)
            operands = [g, *(x for j, x in enumerate(inputs) if j != k), *(ctx.constant(c) for c in constants)]
            grads.append(unbroadcast(Einsum.apply(*operands, equation=equation), inputs[k].shape))
        return tuple(grads)
