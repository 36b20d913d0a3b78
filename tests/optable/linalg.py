"""Op table: matrix products (tinygrad_cnn/ops/linalg.py): matmul under NumPy's rules (1-D operands, broadcast batch
axes), F.linear (one ``Linear`` node) with and without bias, with 0 to 2 leading axes on the input, einsum on random
equations (diagonals, broadcast sizes, ellipses, implicit and explicit outputs, 1 to 3 operands) and on the classic
ones, tensordot, and the rank-checked products dot, mm, mv, bmm, baddbmm, outer."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import elementwise as ew
from tinygrad_cnn.ops import linalg as la
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/matmul.md"
EINSUM_DOC = "derivations/einsum.md"
PRODUCTS_DOC = "derivations/einsum.md#the-rank-checked-products"

# shape pairs that once needed care: dot products, 1-D on either side, batch axes broadcast from 1 and from nothing
NAMED_PAIRS = [((3,), (3,)), ((3,), (3, 2)), ((2, 3), (3,)), ((4, 1, 2, 3), (5, 3, 2)), ((3,), (2, 3, 4)),
               ((2, 1, 3), (3,)), ((1, 3), (3, 1))]


@st.composite
def _matmul_samples(draw):
    """(a, b) from NumPy's matmul signature (up to 2 batch axes, sides 1..4), one time in four a named pair."""
    if draw(st.integers(0, 3)) == 0:
        sa, sb = draw(st.sampled_from(NAMED_PAIRS))
    else:
        sa, sb = draw(S.matmul_shapes(max_batch_dims=2, max_side=4))
    return Sample((draw(S.arrays(sa)), draw(S.arrays(sb))))


@st.composite
def _linear_samples(draw, bias: bool, max_lead_dims: int = 2, max_side: int = 4):
    """x (..., I) with 0 to ``max_lead_dims`` leading axes, w (O, I) and, with ``bias``, b (O,)."""
    lead = draw(S.shapes(min_dims=0, max_dims=max_lead_dims, max_side=max_side))
    i, o = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    arrays = (draw(S.arrays(lead + (i,))), draw(S.arrays((o, i))))
    return Sample(arrays + ((draw(S.arrays((o,))),) if bias else ()))


def _named_pairs(*arrays):
    return tuple(a @ b for a, b in zip(arrays[::2], arrays[1::2]))


def _np_named_pairs(*arrays):
    return tuple(np.matmul(a, b) for a, b in zip(arrays[::2], arrays[1::2]))


def _linear_ref(x, w, b=None):
    return x @ w.T + (0.0 if b is None else b)


POOL = "ijkl"  # the letters of the random equations; the ellipsis dimensions get upper-case letters of their own


@st.composite
def _einsum_samples(draw, max_operands: int = 3):
    """A random valid equation and its operands: 1 to ``max_operands`` operands of 0 to 3 letters each (a letter may
    repeat in an operand: a diagonal), each letter of size 1..3 and sometimes 1 in one operand (broadcast), an
    ellipsis in some operands (broadcast shapes of up to 2 dimensions, anywhere in the subscripts), and an implicit
    or explicit output (a random subset of the letters in random order, with or without the ellipsis). The kwarg
    ``expanded`` is the same equation written out for np.einsum with PyTorch's rules applied by hand (implicit
    output: ellipsis dimensions then the letters used once, sorted; an explicit output without '...' sums them)."""
    n = draw(st.integers(1, max_operands))
    sizes = {c: draw(st.integers(1, 3)) for c in POOL}
    terms = [draw(st.lists(st.sampled_from(POOL), max_size=3)) for _ in range(n)]
    has_ell = [draw(st.integers(0, 2)) == 0 for _ in range(n)]
    ell_shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=n, max_dims=2, max_side=2)).input_shapes
    ell_shapes = [s if e else () for s, e in zip(ell_shapes, has_ell)]
    n_ell = max(len(s) for s in ell_shapes)
    ell_letters = "XY"[:n_ell]
    user, expanded, arrays = [], [], []
    for term, e, es in zip(terms, has_ell, ell_shapes):
        ones = {c for c in term if draw(st.integers(0, 3)) == 0}  # broadcast from size 1 in this operand
        shape = [1 if c in ones else sizes[c] for c in term]
        at = draw(st.integers(0, len(term))) if e else None
        letters = "".join(term)
        mine = ell_letters[n_ell - len(es):]
        if e:
            user.append(letters[:at] + "..." + letters[at:])
            expanded.append(letters[:at] + mine + letters[at:])
            shape[at:at] = list(es)
        else:
            user.append(letters)
            expanded.append(letters)
        arrays.append(draw(S.arrays(tuple(shape), -2.0, 2.0)))
    used = "".join("".join(t) for t in terms)
    if draw(st.booleans()):
        out = sorted(c for c in set(used) if used.count(c) == 1)
        equation, full = ",".join(user), ",".join(expanded) + "->" + ell_letters + "".join(out)
    else:
        out = draw(st.permutations(sorted(set(used))).flatmap(lambda p: st.integers(0, len(p)).map(lambda k: p[:k])))
        with_ell = any(has_ell) and draw(st.booleans())
        at = draw(st.integers(0, len(out)))
        user_out = out[:at] + (["..."] if with_ell else []) + out[at:]
        full_out = out[:at] + ([ell_letters] if with_ell else []) + out[at:]
        equation = ",".join(user) + "->" + "".join(user_out)
        full = ",".join(expanded) + "->" + "".join(full_out)
    if draw(st.integers(0, 4)) == 0:
        equation = equation.replace(",", " , ")  # spaces are ignored
    return Sample(tuple(arrays), {"equation": equation, "expanded": full})


def _einsum(*ts, equation, expanded):
    return tg.einsum(equation, *ts)


def _np_einsum(*arrays, equation, expanded):
    return np.einsum(expanded, *arrays)


# the classic equations, every one in every example: matrix product, batch product, bilinear form, outer product,
# transpose, trace, diagonal, batch diagonal, a 3-way diagonal, sum, dot, and implicit output
CLASSIC = [("ij,jk->ik", (2, 3), (3, 4)), ("bij,bjk->bik", (2, 2, 3), (2, 3, 2)), ("bn,anm,bm->ba", (2, 3), (2, 3, 4),
           (2, 4)), ("i,j->ij", (3,), (2,)), ("ij->ji", (2, 3)), ("ii", (3, 3)), ("ii->i", (3, 3)),
           ("...ii->...i", (2, 3, 3)), ("iii->i", (2, 2, 2)), ("ij->", (2, 3)), ("i,i", (4,), (4,)), ("ij,jk", (2, 3),
           (3, 2)), ("ba", (2, 3)), ("...ij,...jk", (2, 1, 2, 3), (3, 3, 2))]


def _classic_entry(name: str, group: list) -> OpInfo:
    """One entry computing every equation of ``group`` (a few per entry: gradgradcheck grows with the inputs)."""
    def run(einsum, *xs):
        out, i = [], 0
        for eq, *shapes in group:
            out.append(einsum(eq, *xs[i:i + len(shapes)]))
            i += len(shapes)
        return tuple(out)

    return OpInfo(name, lambda *ts: run(tg.einsum, *ts), S.samples(*(S.arrays(s) for _, *sh in group for s in sh)),
                  ref=lambda *a: run(np.einsum, *a), primitives=(la.Einsum,), doc=EINSUM_DOC, examples=(3, 1),
                  ref_tol=TOL)


@st.composite
def _tensordot_samples(draw):
    """(a, b, dims): dims an int n (a's last n against b's first n) or a pair of lists of axes in any order."""
    shared = draw(S.shapes(min_dims=0, max_dims=2, max_side=3))
    a_free = draw(S.shapes(min_dims=0, max_dims=2, max_side=3))
    b_free = draw(S.shapes(min_dims=0, max_dims=2, max_side=3))
    if draw(st.booleans()):
        a, b = draw(S.arrays(a_free + shared)), draw(S.arrays(shared + b_free))
        return Sample((a, b), {"dims": len(shared)})
    a_order = draw(st.permutations(range(len(a_free) + len(shared))))
    b_order = draw(st.permutations(range(len(shared) + len(b_free))))
    a_shape, b_shape = a_free + shared, shared + b_free
    a = np.transpose(draw(S.arrays(a_shape)), a_order)
    b = np.transpose(draw(S.arrays(b_shape)), b_order)
    # where the shared axes went: axis len(a_free) + k of a_shape is now at a_order.index(...)
    dims_a = [a_order.index(len(a_free) + k) for k in range(len(shared))]
    dims_b = [b_order.index(k) for k in range(len(shared))]
    negative = draw(st.booleans())
    if negative:
        dims_a = [d - a.ndim for d in dims_a]
    dims = (dims_a, dims_b) if draw(st.booleans()) else [dims_a, dims_b]
    return Sample((np.ascontiguousarray(a), np.ascontiguousarray(b)), {"dims": dims})


def _np_tensordot(a, b, dims):
    return np.tensordot(a, b, dims if isinstance(dims, int) else (list(dims[0]), list(dims[1])))


@st.composite
def _bmm_shapes(draw):
    b, n, k, m = (draw(st.integers(1, 3)) for _ in range(4))
    return (b, n, k), (b, k, m)


@st.composite
def _baddbmm_samples(draw, with_scalars: bool):
    (b, n, k), (_, _, m) = draw(_bmm_shapes())
    full = (b, n, m)[3 - draw(st.integers(0, 3)):]  # input broadcasts to the product: fewer axes, some of size 1
    c_shape = tuple(1 if draw(st.booleans()) else side for side in full)
    kwargs = {}
    if with_scalars:
        kwargs = {"beta": draw(st.sampled_from([0, 0.5, 1, -2.0])), "alpha": draw(st.sampled_from([1, 0.5, -1.5, 0]))}
    return Sample((draw(S.arrays(c_shape)), draw(S.arrays((b, n, k))), draw(S.arrays((b, k, m)))), kwargs)


def _np_baddbmm(c, b1, b2, beta=1, alpha=1):
    out = alpha * np.matmul(b1, b2)
    return out if beta == 0 else beta * c + out


def _sides(n: int):
    return st.tuples(*(st.integers(1, 4) for _ in range(n)))


A23, B34 = tg.Tensor(np.ones((2, 3))), tg.Tensor(np.ones((3, 4)))
V3, V4 = tg.Tensor(np.ones(3)), tg.Tensor(np.ones(4))
E = EINSUM_DOC
EINSUM_BAD = (
    BadInput(lambda: tg.einsum("ij,jk->ik", A23, A23), ValueError, r"subscript 'j' has size 2 .* \(2, 3\), \(2, 3\)"),
    BadInput(lambda: tg.einsum("ij->ii", A23), ValueError, "output subscript 'i' appears more than once"),
    BadInput(lambda: tg.einsum("ij->k", A23), ValueError, "output subscript 'k' .* appears in no input"),
    BadInput(lambda: tg.einsum("ijk", A23), ValueError, r"operand 0 of shape \(2, 3\) has 2 dimensions"),
    BadInput(lambda: tg.einsum("ij,jk", A23), ValueError, r"subscripts for 2 operand\(s\) but 1 tensor"),
    BadInput(lambda: tg.einsum("i1", A23), ValueError, "invalid subscript '1'"),
    BadInput(lambda: tg.einsum("i.j", A23), ValueError, "invalid subscript '.'"),
    BadInput(lambda: tg.einsum("......", A23), ValueError, "more than one ellipsis"),
    BadInput(lambda: tg.einsum("ij->i->j", A23), ValueError, "at most one '->'"),
    BadInput(lambda: tg.einsum("ii", A23), ValueError, r"repeated in operand 0 .* sizes 2 and 3"),
    BadInput(lambda: tg.einsum("i...jk", A23), ValueError, r"shape \(2, 3\) has 2 dimensions but .* name 3"),
    BadInput(lambda: tg.einsum(3, A23), TypeError, "equation must be a str"),
    BadInput(lambda: tg.einsum("ij", np.ones((2, 3))), TypeError, "operand 0 must be a Tensor"),
    BadInput(lambda: tg.einsum("ij"), ValueError, "at least one operand"),
    BadInput(lambda: tg.einsum("i,i", V3, tg.Tensor(np.ones(3, np.float32))), TypeError, "one float dtype"),
    BadInput(lambda: tg.einsum(A23, [0, "a"]), TypeError, "sublist subscript must be an int"),
)
PRODUCT_BAD = {
    "dot": (BadInput(lambda: tg.dot(A23, A23), ValueError, r"expected 1-D and 1-D tensors, got shapes \(2, 3\)"),
            BadInput(lambda: V3.dot(V4), ValueError, r"\(3,\) and \(4,\) do not match"),
            BadInput(lambda: tg.dot([1.0], V3), TypeError, "input must be a Tensor")),
    "mm": (BadInput(lambda: tg.mm(A23, V3), ValueError, r"expected 2-D and 2-D tensors, got shapes \(2, 3\) and "
                    r"\(3,\)"),
           BadInput(lambda: A23.mm(A23), ValueError, r"\(2, 3\) and \(2, 3\) do not match")),
    "mv": (BadInput(lambda: tg.mv(A23, V4), ValueError, r"\(2, 3\) and \(4,\) do not match"),
           BadInput(lambda: tg.mv(A23, A23), ValueError, "expected 2-D and 1-D")),
    "bmm": (BadInput(lambda: tg.bmm(A23, B34), ValueError, "expected 3-D and 3-D"),
            BadInput(lambda: tg.bmm(tg.Tensor(np.ones((2, 2, 3))), tg.Tensor(np.ones((1, 3, 2)))), ValueError,
                     "batch sizes .* differ .* does not broadcast"),
            BadInput(lambda: tg.bmm(tg.Tensor(np.ones((2, 2, 3))), tg.Tensor(np.ones((2, 2, 2)))), ValueError,
                     r"\(2, 2, 3\) and \(2, 2, 2\) do not match")),
    "baddbmm": (BadInput(lambda: tg.baddbmm(tg.Tensor(np.ones((3, 2))), tg.Tensor(np.ones((1, 2, 3))),
                                            tg.Tensor(np.ones((1, 3, 2)))), ValueError,
                         r"input of shape \(3, 2\) does not broadcast to the product's shape \(1, 2, 2\)"),
                BadInput(lambda: tg.baddbmm(V3, A23, B34), ValueError, "expected 3-D and 3-D"),
                BadInput(lambda: tg.baddbmm(V3, A23, B34, beta="a"), TypeError, "beta must be a real number")),
    "outer": (BadInput(lambda: tg.outer(A23, V3), ValueError, "expected 1-D and 1-D"),),
    "tensordot": (BadInput(lambda: tg.tensordot(A23, B34), ValueError, "contracted dimensions must match"),
                  BadInput(lambda: tg.tensordot(A23, B34, 3), ValueError, "dims=3 is more than"),
                  BadInput(lambda: tg.tensordot(A23, B34, -1), ValueError, "dims must be >= 0"),
                  BadInput(lambda: tg.tensordot(A23, B34, ([1], [0, 1])), ValueError, "pair 1 dimension"),
                  BadInput(lambda: tg.tensordot(A23, B34, ([1, 1], [0, 0])), ValueError, "repeat a dimension"),
                  BadInput(lambda: tg.tensordot(A23, B34, ([5], [0])), ValueError, "out of range"),
                  BadInput(lambda: tg.tensordot(A23, B34, "a"), TypeError, "dims must be an int or a pair"),
                  BadInput(lambda: tg.tensordot(A23, B34, (1, 2, 3)), ValueError, "got 3 items")),
}


TOL = {"rtol": 1e-12, "atol": 1e-12}
ENTRIES = [
    OpInfo("matmul", lambda a, b: a @ b, _matmul_samples(), ref=np.matmul, primitives=(la.MatMul,), doc=DOC,
           examples=(25, 6), ref_tol=TOL),
    # every named pair in every example (the mix above draws only some of them in a run): one product per pair
    OpInfo("matmul named pairs", _named_pairs, S.samples(*(S.arrays(s) for pair in NAMED_PAIRS for s in pair)),
           ref=_np_named_pairs, primitives=(la.MatMul,), doc=DOC, examples=(3, 1), ref_tol=TOL),
    OpInfo("F.linear", lambda x, w, b: F.linear(x, w, b), _linear_samples(bias=True), ref=_linear_ref,
           primitives=(la.Linear,), doc=DOC, examples=(25, 8), ref_tol=TOL),
    OpInfo("F.linear no bias", lambda x, w: F.linear(x, w), _linear_samples(bias=False), ref=_linear_ref,
           primitives=(la.Linear,), doc=DOC, examples=(25, 8), ref_tol=TOL),
    OpInfo("einsum", _einsum, _einsum_samples(), ref=_np_einsum, primitives=(la.Einsum,), doc=E, examples=(30, 8),
           ref_tol=TOL, bad_inputs=EINSUM_BAD),
    _classic_entry("einsum classic products", CLASSIC[:4]),
    _classic_entry("einsum classic diagonals", CLASSIC[4:9]),
    _classic_entry("einsum classic implicit", CLASSIC[9:]),
    OpInfo("einsum sublist form", lambda a, b: tg.einsum(a, [0, Ellipsis, 1], b, [1, 2], [Ellipsis, 0, 2]),
           S.samples(S.arrays((2, 2, 3)), S.arrays((3, 2))), ref=lambda a, b: np.einsum("a...b,bc->...ac", a, b),
           primitives=(la.Einsum,), doc=E, examples=(5, 2), ref_tol=TOL),
    OpInfo("tensordot", lambda a, b, dims: tg.tensordot(a, b, dims), _tensordot_samples(), ref=_np_tensordot,
           primitives=(la.Einsum,), doc=E, examples=(25, 6), ref_tol=TOL, bad_inputs=PRODUCT_BAD["tensordot"]),
    OpInfo("dot", lambda a, b: a.dot(b), st.integers(1, 5).flatmap(lambda n: S.samples(S.arrays((n,)), S.arrays((n,)))),
           ref=np.dot, primitives=(la.MatMul,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["dot"]),
    OpInfo("mm", tg.mm, _sides(3).flatmap(lambda s: S.samples(S.arrays(s[:2]), S.arrays(s[1:]))), ref=np.matmul,
           primitives=(la.MatMul,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["mm"]),
    OpInfo("mv", lambda a, b: a.mv(b), _sides(2).flatmap(lambda s: S.samples(S.arrays(s), S.arrays(s[1:]))),
           ref=np.matmul, primitives=(la.MatMul,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["mv"]),
    OpInfo("bmm", lambda a, b: a.bmm(b), _bmm_shapes().flatmap(lambda s: S.samples(S.arrays(s[0]), S.arrays(s[1]))),
           ref=np.matmul, primitives=(la.MatMul,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["bmm"]),
    OpInfo("baddbmm", lambda c, b1, b2: c.baddbmm(b1, b2), _baddbmm_samples(False), ref=_np_baddbmm,
           primitives=(ew.Add,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["baddbmm"]),
    OpInfo("baddbmm beta alpha", lambda c, b1, b2, beta, alpha: tg.baddbmm(c, b1, b2, beta=beta, alpha=alpha),
           _baddbmm_samples(True), ref=_np_baddbmm, doc=PRODUCTS_DOC, examples=(20, 5), ref_tol=TOL),
    OpInfo("outer", lambda a, b: a.outer(b), _sides(2).flatmap(lambda s: S.samples(S.arrays(s[:1]), S.arrays(s[1:]))),
           ref=np.outer, primitives=(ew.Mul,), doc=PRODUCTS_DOC, ref_tol=TOL, bad_inputs=PRODUCT_BAD["outer"]),
]
