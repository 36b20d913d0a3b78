"""Op table: the functional forms of the small layers (tinygrad_cnn/nn/layer_ops.py): embedding (with padding_idx),
the channel dropouts and alpha dropout in training mode (seeded inside the op, so every
call of a gradcheck draws the same mask), and threshold.

All are compositions of existing primitives (GetItem, Mul/Add with a constant mask, Where), so ``primitives=()``.
References share nothing with the implementation: embedding loops over the index positions, the dropouts redraw
the mask from a fresh ``np.random.default_rng(seed)`` (the generator ``tg.manual_seed`` installs) and threshold is
``np.where``. Embedding is differentiated with respect to the weight only (the indices are integers). Two options
are hand-tested in tests/test_nn.py instead (and against PyTorch there): ``max_norm`` writes the weight in place,
and ``scale_grad_by_freq`` deliberately returns a rescaled gradient, which is not the derivative gradcheck
measures; likewise the padding row's gradient is zero by definition, so samples draw ``padding_idx`` among the
rows no position reads (the option's code path runs; the zero gradient itself is hand-tested).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tg
from tinygrad_cnn.nn import functional as F
from tinygrad_cnn.nn.activations import SELU_ALPHA, SELU_SCALE
from tinygrad_cnn.testing import BadInput, OpInfo, Sample
from tinygrad_cnn.testing import strategies as S

DOC = "derivations/movement.md"  # GetItem / IndexAdd: the lookup and its scatter-add VJP
W = tg.Tensor(np.ones((4, 3)))


# ---- embedding ----------------------------------------------------------------------------------------------------
@st.composite
def _embedding_samples(draw):
    n, d = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    index = draw(hnp.arrays(draw(st.sampled_from([np.int64, np.int32])), S.shapes(0, 3, 1, 4),
                            elements=st.integers(0, n - 1)))
    kwargs = {"index": index}
    unused = sorted(set(range(n)) - set(index.ravel().tolist()))
    if unused and draw(st.booleans()):  # a padding row no position reads (see the module docstring)
        row = draw(st.sampled_from(unused))
        kwargs["padding_idx"] = row - n if draw(st.booleans()) else row
    return Sample((draw(S.arrays((n, d))),), kwargs)


def _embedding_op(weight, index, **kwargs):
    return F.embedding(index, weight, **kwargs)


def _embedding_ref(weight, index, padding_idx=None):
    out = np.empty(index.shape + (weight.shape[1],))
    for pos in np.ndindex(*index.shape):
        out[pos] = weight[index[pos]]
    return out


EMBEDDING = OpInfo(
    "F.embedding", _embedding_op, _embedding_samples(), ref=_embedding_ref, doc=DOC,
    ref_tol={"rtol": 0.0, "atol": 0.0},
    bad_inputs=(
        BadInput(lambda: F.embedding(np.array([4]), W), IndexError,
                 r"embedding: index 4 is out of range for num_embeddings=4"),
        BadInput(lambda: F.embedding(np.array([-1]), W), IndexError, "embedding: index -1 is out of range"),
        BadInput(lambda: F.embedding(np.array([0.5]), W), TypeError, "embedding: indices must be an integer tensor"),
        BadInput(lambda: F.embedding(np.array([0]), tg.Tensor(np.ones(3))), ValueError,
                 "embedding: weight must be a 2-D floating-point tensor"),
        BadInput(lambda: F.embedding(np.array([0]), W, padding_idx=4), ValueError,
                 r"embedding: padding_idx=4 must be within num_embeddings"),
        BadInput(lambda: F.embedding(np.array([0]), W, sparse=True), NotImplementedError,
                 "embedding: sparse=True .* no sparse tensors"),
    ))


# ---- dropout in training mode, seeded ----------------------------------------------------------------------------
SEED = 1234


def _seeded(fn):
    def op(x, **kwargs):
        tg.manual_seed(SEED)
        return fn(x, **kwargs)
    return op


def _channel_ref(spatial):
    def ref(a, p=0.5, training=True):
        lead = 2 if a.ndim == spatial + 2 else 1
        keep = np.random.default_rng(SEED).random(a.shape[:lead] + (1,) * (a.ndim - lead)) >= p
        return a * (keep / (1.0 - p))
    return ref


def _channel_samples(spatial, ndims=None):
    @st.composite
    def build(draw):
        ndim = draw(st.sampled_from(ndims or [spatial + 1, spatial + 2]))
        shape = draw(S.shapes(ndim, ndim, 1, 3))
        return Sample((draw(S.arrays(shape)),), {"p": draw(st.sampled_from([0.2, 0.5, 0.8]))})
    return build()


_ALPHA = SELU_ALPHA * SELU_SCALE


def _alpha_ref(feature):
    def ref(a, p=0.5, training=False):
        shape = a.shape[:2] + (1,) * (a.ndim - 2) if feature else a.shape
        keep = np.random.default_rng(SEED).random(shape) >= p
        scale = 1.0 / math.sqrt((_ALPHA ** 2 * p + 1.0) * (1.0 - p))
        return np.where(keep, scale * a + _ALPHA * scale * p, -_ALPHA * scale * (1.0 - p))
    return ref


def _alpha_samples(min_dims):
    kwargs = {"p": st.sampled_from([0.2, 0.5]), "training": st.just(True)}
    return S.samples(S.arrays(S.shapes(min_dims=min_dims, max_dims=4, max_side=3)), kwargs=kwargs)


X4 = tg.Tensor(np.ones((2, 3, 4, 5)))

DROPOUTS = [
    OpInfo("F.dropout1d train", _seeded(F.dropout1d), _channel_samples(1), ref=_channel_ref(1), doc=DOC,
           bad_inputs=(BadInput(lambda: F.dropout1d(X4), ValueError, r"dropout1d: expected a 2-D"),
                       BadInput(lambda: F.dropout1d(X4[0], p=2.0), ValueError,
                                "dropout1d: p must be in \\[0, 1\\], got 2.0"))),
    OpInfo("F.dropout2d train", _seeded(F.dropout2d), _channel_samples(2, [4]),
           ref=_channel_ref(2), doc=DOC,
           bad_inputs=(BadInput(lambda: F.dropout2d(tg.Tensor(np.ones((2, 3)))), ValueError,
                                r"dropout2d: expected a 3-D"),
                       BadInput(lambda: F.dropout2d(tg.Tensor(np.array([[[1, 2]]]))), TypeError,
                                r"dropout2d: input has dtype int64"))),
    OpInfo("F.dropout3d train", _seeded(F.dropout3d), _channel_samples(3), ref=_channel_ref(3), doc=DOC,
           bad_inputs=(BadInput(lambda: F.dropout3d(X4[0]), ValueError, r"dropout3d: expected a 4-D"),)),
    OpInfo("F.alpha_dropout train", _seeded(F.alpha_dropout), _alpha_samples(0), ref=_alpha_ref(False), doc=DOC,
           bad_inputs=(BadInput(lambda: F.alpha_dropout(X4, p="a"), TypeError, "alpha_dropout: p"),)),
    OpInfo("F.feature_alpha_dropout train", _seeded(F.feature_alpha_dropout), _alpha_samples(2),
           ref=_alpha_ref(True), doc=DOC,
           bad_inputs=(BadInput(lambda: F.feature_alpha_dropout(tg.Tensor(np.ones(3)), training=True), ValueError,
                                "feature_alpha_dropout: expected an input with a channel axis"),)),
]


# ---- threshold -----------------------------------------------------------------------------------------------------
THRESHOLD = OpInfo(
    "F.threshold", F.threshold,
    S.unary_samples(away_from=(0.5,), kwargs={"threshold": st.just(0.5), "value": st.sampled_from([-2.0, 0.0, 7.5])}),
    ref=lambda a, threshold, value: np.where(a > threshold, a, value), doc="derivations/elementwise.md",
    bad_inputs=(BadInput(lambda: F.threshold(tg.Tensor(np.array([1, 2])), 0.0, 1.0), TypeError,
                         r"threshold: input has dtype int64"),
                BadInput(lambda: F.threshold(X4, "a", 1.0), TypeError, "threshold: threshold must be a real")))

ENTRIES = [EMBEDDING, *DROPOUTS, THRESHOLD]
