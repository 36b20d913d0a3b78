"""Op table: matrix products (tinygrad_cnn/ops/linalg.py): matmul under NumPy's rules (1-D operands, broadcast batch
axes) and F.linear (one ``Linear`` node) with and without bias, with 0 to 2 leading axes on the input."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.ops import linalg as la
from tinygrad_cnn.testing import OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/matmul.md"

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
]
