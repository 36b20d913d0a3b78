"""Products: einsum, outer, dot, mm, mv, bmm, baddbmm, tensordot.

Tensor methods with PyTorch's names (and NumPy's spellings where they differ), mixed into Tensor, and the top-level
functions ``tg.einsum``, ``tg.tensordot``... Each checks ranks and sizes as PyTorch does (``dot`` takes 1-D tensors
only, ``bmm`` 3-D ones with equal batch sizes, no broadcasting) and raises a ValueError naming the op and the shapes.
Everything but ``outer`` (a broadcast ``Mul``) records one ``MatMul`` or one ``Einsum`` node.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _checks
from ..errors import ShapeError
from ..ops import linalg as _la
from ..ops.elementwise import Cast
from ..promotion import promote
from ..tensor_core import TensorCore

__all__ = ["LinalgMethods", "baddbmm", "bmm", "dot", "einsum", "ger", "matmul", "mm", "mv", "outer", "tensordot"]


def _tensor(op: str, name: str, value: Any) -> Any:
    if not isinstance(value, TensorCore):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    return value


def _pair(op: str, a: Any, b: Any) -> tuple[Any, Any]:
    return promote(op, _tensor(op, "input", a), _tensor(op, "other", b))


def _one_dtype(op: str, tensors: list) -> list:
    """The operands cast to one dtype: the float dtype among them (two different ones are a TypeError, as in
    ``promote``), else NumPy's result type of the integer and bool dtypes."""
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) == 1:
        return tensors
    floats = {d for d in dtypes if d.kind == "f"}
    if len(floats) > 1:
        raise TypeError(f"{op}: operands have dtypes {sorted(map(str, floats))}; convert them to one float dtype "
                        "with .float() or .double()")
    target = floats.pop() if floats else np.result_type(*dtypes)
    return [t if t.dtype == target else Cast.apply(t, dtype=target) for t in tensors]


def _sublists(args: tuple) -> tuple[str, list]:
    """PyTorch's sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])`` as an equation and its operands."""
    def term(sub: Any) -> str:
        if not isinstance(sub, (list, tuple)):
            raise TypeError(f"einsum: in the sublist form, subscripts must be lists of ints, got {sub!r}")
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            else:
                s = _checks.as_int("einsum", "a sublist subscript", s, low=0, high=len(_la.LABELS) - 1)
                out.append(_la.LABELS[s])
        return "".join(out)

    n = len(args) // 2
    equation = ",".join(term(s) for s in args[1:2 * n:2])
    if len(args) % 2:  # the last item is the output's sublist
        equation += "->" + term(args[-1])
    return equation, list(args[0:2 * n:2])


def einsum(equation: str, *operands: Any) -> Any:
    """Einstein summation, PyTorch's ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` (operands may also be given as
    one list, or in the sublist form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``). Subscripts are letters; a letter
    repeated in one operand takes its diagonal; ``...`` stands for broadcast dimensions; without ``->`` the output is
    the ellipsis dimensions then the letters used once, in ASCII order. A letter may not repeat in the output.
    One ``Einsum`` node; its gradient is an einsum again."""
    if isinstance(equation, TensorCore):
        equation, operands = _sublists((equation, *operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not isinstance(equation, str):
        raise TypeError(f"einsum: equation must be a str such as 'ij,jk->ik', got {type(equation).__name__}")
    if not operands:
        raise ValueError("einsum: needs at least one operand tensor")
    tensors = _one_dtype("einsum", [_tensor("einsum", f"operand {i}", t) for i, t in enumerate(operands)])
    return _la.Einsum.apply(*tensors, equation=_la.einsum_equation(equation, [t.shape for t in tensors]))


def _ranks(op: str, ranks: tuple[int, ...], *tensors: Any) -> None:
    if tuple(t.ndim for t in tensors) != ranks:
        want = " and ".join(f"{r}-D" for r in ranks)
        got = " and ".join(str(t.shape) for t in tensors)
        raise ShapeError(f"{op}: expected {want} tensors, got shapes {got}")


def _inner(op: str, a: Any, b: Any, axis_b: int) -> None:
    if a.shape[-1] != b.shape[axis_b]:
        raise ShapeError(f"{op}: shapes {a.shape} and {b.shape} do not match: the last dimension of the first "
                         f"({a.shape[-1]}) must equal dimension {axis_b % b.ndim} of the second ({b.shape[axis_b]})")


def matmul(input: Any, other: Any) -> Any:
    """``input @ other`` with NumPy's (and PyTorch's) matmul rules."""
    return _la.MatMul.apply(*_pair("matmul", input, other))


def dot(input: Any, other: Any) -> Any:
    """The dot product of two 1-D tensors of one length (a 0-d result); PyTorch refuses other ranks, as here."""
    a, b = _pair("dot", input, other)
    _ranks("dot", (1, 1), a, b)
    _inner("dot", a, b, 0)
    return _la.MatMul.apply(a, b)


def mm(input: Any, mat2: Any) -> Any:
    """(n, k) @ (k, m): 2-D tensors only."""
    a, b = _pair("mm", input, mat2)
    _ranks("mm", (2, 2), a, b)
    _inner("mm", a, b, 0)
    return _la.MatMul.apply(a, b)


def mv(input: Any, vec: Any) -> Any:
    """(n, k) @ (k,): a matrix times a vector."""
    a, b = _pair("mv", input, vec)
    _ranks("mv", (2, 1), a, b)
    _inner("mv", a, b, 0)
    return _la.MatMul.apply(a, b)


def _bmm_check(op: str, a: Any, b: Any) -> None:
    _ranks(op, (3, 3), a, b)
    if a.shape[0] != b.shape[0]:
        raise ShapeError(f"{op}: batch sizes of shapes {a.shape} and {b.shape} differ ({a.shape[0]} and "
                         f"{b.shape[0]}); bmm does not broadcast (use matmul for that)")
    _inner(op, a, b, 1)


def bmm(input: Any, mat2: Any) -> Any:
    """(b, n, k) @ (b, k, m): 3-D tensors with one batch size (no broadcasting, as PyTorch)."""
    a, b = _pair("bmm", input, mat2)
    _bmm_check("bmm", a, b)
    return _la.MatMul.apply(a, b)


def baddbmm(input: Any, batch1: Any, batch2: Any, *, beta: float = 1, alpha: float = 1) -> Any:
    """beta * input + alpha * bmm(batch1, batch2), ``input`` broadcastable to (b, n, m). With beta = 0 ``input`` is
    ignored (NaN in it does not propagate), as in PyTorch."""
    beta = _checks.as_real("baddbmm", "beta", beta)
    alpha = _checks.as_real("baddbmm", "alpha", alpha)
    b1, b2 = _pair("baddbmm", batch1, batch2)
    _bmm_check("baddbmm", b1, b2)
    shape = (b1.shape[0], b1.shape[1], b2.shape[2])
    _tensor("baddbmm", "input", input)
    try:
        fits = np.broadcast_shapes(input.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ShapeError(f"baddbmm: input of shape {input.shape} does not broadcast to the product's shape {shape} "
                         f"(batch1 {b1.shape}, batch2 {b2.shape})")
    product = _la.MatMul.apply(b1, b2)
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        return product
    c, product = promote("baddbmm", input, product)
    return (c if beta == 1 else c * beta) + product


def outer(input: Any, vec2: Any) -> Any:
    """out[i, j] = input[i] * vec2[j] for two 1-D tensors (a broadcast ``Mul``)."""
    a, b = _pair("outer", input, vec2)
    _ranks("outer", (1, 1), a, b)
    return a.reshape(a.shape[0], 1) * b.reshape(1, b.shape[0])


ger = outer


def _dims_list(op: str, value: Any, ndim: int, which: str) -> list[int]:
    items = [value] if _checks.is_int(value) else value
    if not isinstance(items, (list, tuple)):
        raise TypeError(f"{op}: dims must be an int or a pair of lists of ints, got {value!r}")
    axes = [_checks.as_axis(op, d, ndim, f"a dimension of {which}") for d in items]
    if len(set(axes)) != len(axes):
        raise ValueError(f"{op}: dims {value!r} of {which} repeat a dimension")
    return axes


def tensordot(a: Any, b: Any, dims: Any = 2) -> Any:
    """Sum of products over ``dims``: an int n (the last n dimensions of a with the first n of b) or a pair of lists
    (dimensions of a, dimensions of b, paired in order). Result: a's remaining dimensions then b's. One ``Einsum``."""
    a, b = _pair("tensordot", a, b)
    if _checks.is_int(dims):
        n = _checks.as_int("tensordot", "dims", dims, low=0)
        if n > min(a.ndim, b.ndim):
            raise ShapeError(f"tensordot: dims={n} is more than the dimensions of shapes {a.shape} and {b.shape}")
        dims_a, dims_b = list(range(a.ndim - n, a.ndim)), list(range(n))
    elif isinstance(dims, (list, tuple)) and len(dims) == 2:
        dims_a = _dims_list("tensordot", dims[0], a.ndim, "a")
        dims_b = _dims_list("tensordot", dims[1], b.ndim, "b")
        if len(dims_a) != len(dims_b):
            raise ValueError(f"tensordot: dims {dims!r} pair {len(dims_a)} dimension(s) of a with {len(dims_b)} of "
                             "b; give as many of each")
    elif isinstance(dims, (list, tuple)):
        raise ValueError(f"tensordot: dims must be an int or a pair of lists, got {len(dims)} items: {dims!r}")
    else:
        raise TypeError(f"tensordot: dims must be an int or a pair of lists of ints, got {dims!r}")
    for i, j in zip(dims_a, dims_b):
        if a.shape[i] != b.shape[j]:
            raise ShapeError(f"tensordot: contracted dimensions must match, but dimension {i} of a {a.shape} has "
                             f"size {a.shape[i]} and dimension {j} of b {b.shape} has size {b.shape[j]}")
    labels = iter(_la.LABELS)
    term_a = [next(labels) for _ in range(a.ndim)]
    term_b = [next(labels) for _ in range(b.ndim)]
    for i, j in zip(dims_a, dims_b):
        term_b[j] = term_a[i]
    out = [c for i, c in enumerate(term_a) if i not in dims_a] + [c for j, c in enumerate(term_b) if j not in dims_b]
    if a.ndim + b.ndim > len(_la.LABELS):
        raise ShapeError(f"tensordot: shapes {a.shape} and {b.shape} have more than {len(_la.LABELS)} dimensions")
    return _la.Einsum.apply(a, b, equation=f"{''.join(term_a)},{''.join(term_b)}->{''.join(out)}")


class LinalgMethods:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    def dot(self, other: Any) -> Any:
        """The dot product with another 1-D tensor (see ``dot``)."""
        return dot(self, other)

    def mm(self, mat2: Any) -> Any:
        """Matrix product of two 2-D tensors (see ``mm``)."""
        return mm(self, mat2)

    def mv(self, vec: Any) -> Any:
        """Matrix times vector (see ``mv``)."""
        return mv(self, vec)

    def bmm(self, mat2: Any) -> Any:
        """Batched matrix product of two 3-D tensors (see ``bmm``)."""
        return bmm(self, mat2)

    def baddbmm(self, batch1: Any, batch2: Any, *, beta: float = 1, alpha: float = 1) -> Any:
        """beta * self + alpha * bmm(batch1, batch2) (see ``baddbmm``)."""
        return baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def outer(self, vec2: Any) -> Any:
        """Outer product of two 1-D tensors (see ``outer``)."""
        return outer(self, vec2)

    ger = outer
