"""Hand-derived cases of the indexing family (gather/scatter/scatter_reduce, unfold, diag, one_hot...): values and
gradients worked out on paper, the tie rules (scatter: last write wins; amax/amin: split evenly), prod with zeros,
index errors, and the spellings (dim/axis, top-level functions). The generated battery is in tests/optable/indexing.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_cnn as tg
import tinygrad_cnn.nn.functional as F
from tinygrad_cnn.ops import indexing as ix
from tinygrad_cnn.ops.movement import TensorIndexError
from tinygrad_cnn.testing import gradcheck, gradgradcheck


def leaf(values):
    return tg.Tensor(np.asarray(values, dtype=np.float64), requires_grad=True)


def grads(out, *inputs, upstream=None):
    g = np.ones(out.shape) if upstream is None else np.asarray(upstream, dtype=np.float64)
    return [r.numpy() for r in tg.grad(out, list(inputs), grad_outputs=tg.Tensor(g))]


# ---- gather and its adjoint ---------------------------------------------------------------------------------------
def test_gather_value_and_gradient_by_hand():
    x = leaf([[1.0, 2.0], [3.0, 4.0]])
    out = x.gather(1, tg.Tensor(np.array([[0, 0], [1, 0]])))
    assert out.numpy().tolist() == [[1.0, 1.0], [4.0, 3.0]]
    assert type(out.grad_fn) is ix.Gather
    (gx,) = grads(out, x)
    assert gx.tolist() == [[2.0, 0.0], [1.0, 1.0]]  # x[0, 0] read twice, x[0, 1] never


def test_gather_index_smaller_than_input_reads_the_leading_block():
    x = leaf(np.arange(12.0).reshape(3, 4))
    out = tg.gather(x, 0, np.array([[2, 0]]))  # one row, two columns: x[2, 0] and x[0, 1]
    assert out.numpy().tolist() == [[8.0, 1.0]]


def test_scatter_add_adds_repeated_indices():
    x = leaf([0.0, 10.0, 20.0])
    src = leaf([1.0, 2.0, 3.0, 4.0])
    out = x.scatter_add(0, np.array([1, 1, 0, 1]), src)
    assert out.numpy().tolist() == [3.0, 17.0, 20.0]
    gx, gs = grads(out, x, src, upstream=[1.0, 2.0, 3.0])
    assert gx.tolist() == [1.0, 2.0, 3.0] and gs.tolist() == [2.0, 2.0, 1.0, 2.0]


def test_scatter_add_kernel_and_gather_are_adjoints_to_second_order():
    index = np.array([[0, 2, 2], [1, 1, 0]])
    g = leaf(np.random.default_rng(0).standard_normal((2, 3)))
    assert gradgradcheck(lambda t: ix.ScatterAdd.apply(t, index=index, dim=1, shape=(2, 3)) ** 2, g)


# ---- scatter: the last write wins -----------------------------------------------------------------------------------
def test_scatter_with_repeated_indices_keeps_the_last_write_and_routes_its_gradient():
    x = leaf([1.0, 2.0, 3.0])
    src = leaf([10.0, 20.0, 30.0])
    out = x.scatter(0, np.array([2, 0, 2]), src)  # position 2 is written by src[0], then by src[2]
    assert out.numpy().tolist() == [20.0, 2.0, 30.0]
    gx, gs = grads(out, x, src, upstream=[1.0, 2.0, 3.0])
    assert gx.tolist() == [0.0, 2.0, 0.0]  # overwritten positions receive nothing
    assert gs.tolist() == [0.0, 1.0, 3.0]  # the losing write src[0] receives nothing


def test_scatter_value_and_larger_src():
    x = tg.Tensor(np.zeros((2, 3)))
    assert x.scatter(1, np.array([[2], [0]]), value=5.0).numpy().tolist() == [[0, 0, 5], [5, 0, 0]]
    src = tg.Tensor(np.arange(6.0).reshape(2, 3))
    assert x.scatter(1, np.array([[1], [2]]), src).numpy().tolist() == [[0, 0, 0], [0, 0, 3]]


# ---- scatter_reduce --------------------------------------------------------------------------------------------------
def test_scatter_reduce_amax_splits_ties_evenly():
    x = leaf([1.0, 5.0])
    src = leaf([5.0, 5.0, 0.0])
    out = x.scatter_reduce(0, np.array([1, 1, 0]), src, "amax")
    assert out.numpy().tolist() == [1.0, 5.0]
    gx, gs = grads(out, x, src)
    np.testing.assert_allclose(gx, [1.0, 1 / 3])  # x[1] ties with src[0] and src[1]
    np.testing.assert_allclose(gs, [1 / 3, 1 / 3, 0.0])


def test_scatter_reduce_amin_without_self():
    x = leaf([-9.0, 4.0])
    src = leaf([2.0, 2.0, 7.0])
    out = x.scatter_reduce(0, np.array([1, 1, 1]), src, "amin", include_self=False)
    assert out.numpy().tolist() == [-9.0, 2.0]  # position 0 is untouched: it keeps x[0]
    gx, gs = grads(out, x, src)
    np.testing.assert_allclose(gx, [1.0, 0.0])
    np.testing.assert_allclose(gs, [0.5, 0.5, 0.0])


def test_scatter_reduce_prod_with_zeros():
    x = leaf([2.0, 3.0])
    src = leaf([0.0, 4.0, 0.0, 0.0, 5.0])
    index = np.array([0, 0, 1, 1, 1])
    out = x.scatter_reduce(0, index, src, "prod")
    assert out.numpy().tolist() == [0.0, 0.0]
    gx, gs = grads(out, x, src)
    # group 0: 2 * 0 * 4, one zero: d/dsrc[0] = 2 * 4, everything else sees that zero
    # group 1: 3 * 0 * 0 * 5, two zeros: every product of the others holds a zero
    assert gx.tolist() == [0.0, 0.0]
    assert gs.tolist() == [8.0, 0.0, 0.0, 0.0, 0.0]
    y = leaf([0.0])
    s = leaf([3.0, 2.0])
    gy, gs = grads(y.scatter_reduce(0, np.array([0, 0]), s, "prod"), y, s)
    assert gy.tolist() == [6.0] and gs.tolist() == [0.0, 0.0]  # the zero is self's


def test_scatter_reduce_prod_second_order_at_a_single_zero():
    x = leaf([2.0, 3.0])
    src = leaf([0.0, 4.0, 1.5])
    index = np.array([0, 0, 1])
    assert gradcheck(lambda a, s: a.scatter_reduce(0, index, s, "prod"), x, src)
    assert gradgradcheck(lambda a, s: a.scatter_reduce(0, index, s, "prod"), x, src)
    assert gradgradcheck(lambda a, s: a.scatter_reduce(0, index, s, "prod", include_self=False), x, src)


def test_scatter_reduce_mean_and_sum_without_self():
    x = leaf([1.0, 2.0, 3.0])
    src = leaf([4.0, 8.0, 6.0])
    index = np.array([0, 0, 2])
    mean = x.scatter_reduce(0, index, src, "mean", include_self=False)
    assert mean.numpy().tolist() == [6.0, 2.0, 6.0]
    gx, gs = grads(mean, x, src)
    assert gx.tolist() == [0.0, 1.0, 0.0] and gs.tolist() == [0.5, 0.5, 1.0]
    assert x.scatter_reduce(0, index, src, "mean").numpy().tolist() == [13 / 3, 2.0, 4.5]
    assert x.scatter_reduce(0, index, src, "sum", include_self=False).numpy().tolist() == [12.0, 2.0, 6.0]


def test_scatter_reduce_integer_mean_floors_as_pytorch():
    x = tg.Tensor(np.array([1, 2]))
    out = x.scatter_reduce(0, np.array([0, 0]), tg.Tensor(np.array([2, 4])), "mean")
    assert out.dtype == x.dtype and out.numpy().tolist() == [2, 2]  # (1 + 2 + 4) // 3


# ---- index errors name the op, the range and the shape ----------------------------------------------------------
@pytest.mark.parametrize("call, op", [
    (lambda x: x.gather(0, np.array([[3, 0]])), "gather"),
    (lambda x: x.scatter(0, np.array([[3, 0]]), value=1.0), "scatter"),
    (lambda x: x.scatter_add(0, np.array([[-1, 0]]), x), "scatter_add"),
    (lambda x: x.scatter_reduce(0, np.array([[3]]), x, "amax"), "scatter_reduce"),
    (lambda x: x.index_select(0, [3]), "index_select"),
    (lambda x: x.take_along_dim(np.array([[3]]), 0), "take_along_dim"),
])
def test_out_of_range_indices_raise_tensor_index_error(call, op):
    x = tg.Tensor(np.zeros((3, 2)))
    with pytest.raises(TensorIndexError, match=rf"{op}: index holds values from -?\d to \d, out of range \[0, 2\] "
                                               r"of dimension 0 of the \w+ of shape \(3, 2\)"):
        call(x)
    with pytest.raises(IndexError):
        call(x)


def test_one_hot_values_dtype_and_errors():
    labels = tg.Tensor(np.array([[0, 2], [1, 0]]))
    out = F.one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 3) and out.grad_fn is None
    assert out.numpy()[0, 1].tolist() == [0, 0, 1]
    assert F.one_hot(labels, num_classes=5).shape == (2, 2, 5)
    with pytest.raises(TensorIndexError, match=r"one_hot: class values from 0 to 2 are out of range \[0, 1\]"):
        F.one_hot(labels, 2)


# ---- not differentiable: integer results -------------------------------------------------------------------------
def test_nonzero_and_where_with_one_argument():
    x = leaf([[0.0, 1.5], [-2.0, 0.0]])
    nz = x.nonzero()
    assert nz.dtype == np.int64 and nz.grad_fn is None and nz.numpy().tolist() == [[0, 1], [1, 0]]
    rows, cols = tg.where(x != 0)
    assert rows.numpy().tolist() == [0, 1] and cols.numpy().tolist() == [1, 0]
    assert [t.numpy().tolist() for t in x.nonzero(as_tuple=True)] == [[0, 1], [1, 0]]
    assert tg.nonzero(tg.Tensor(np.array(3.0)), as_tuple=True)[0].numpy().tolist() == [0]


# ---- masks, triangles, diagonals ------------------------------------------------------------------------------------
def test_masked_fill_with_infinity_and_a_differentiable_value():
    x = leaf([1.0, 2.0, 3.0])
    mask = np.array([True, False, True])
    assert x.masked_fill(tg.Tensor(mask), -np.inf).numpy().tolist() == [-np.inf, 2.0, -np.inf]
    v = leaf(0.5)
    gx, gv = grads(x.masked_fill(mask, v), x, v, upstream=[1.0, 2.0, 3.0])
    assert gx.tolist() == [0.0, 2.0, 0.0] and gv.tolist() == 4.0


def test_tril_zeroes_nan_above_the_diagonal():
    x = tg.Tensor(np.full((2, 2), np.nan))
    assert np.isnan(x.tril().numpy()).tolist() == [[True, False], [True, True]]  # a mask, not a product with 0


def test_diag_trace_by_hand():
    v = leaf([1.0, 2.0])
    m = v.diag(-1)
    assert m.numpy().tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    (gv,) = grads(m, v, upstream=np.arange(9.0).reshape(3, 3))
    assert gv.tolist() == [3.0, 7.0]  # upstream at (1, 0) and (2, 1)
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.diag(1).numpy().tolist() == [1.0, 5.0] and tg.trace(x).item() == 4.0
    (gx,) = grads(x.trace(), x)
    assert gx.tolist() == [[1, 0, 0], [0, 1, 0]]


# ---- windows, repeats, pieces ------------------------------------------------------------------------------------
def test_unfold_overlapping_windows_add_their_gradients():
    x = leaf(np.arange(5.0))
    w = x.unfold(0, 3, 1)
    assert w.shape == (3, 3) and w.numpy()[2].tolist() == [2.0, 3.0, 4.0]
    (gx,) = grads(w, x)
    assert gx.tolist() == [1.0, 2.0, 3.0, 2.0, 1.0]
    assert x.unfold(0, 2, 2).numpy().tolist() == [[0.0, 1.0], [2.0, 3.0]]  # the last element is left out


def test_repeat_is_tile_and_repeat_interleave_is_numpy_repeat():
    x = leaf([[1.0, 2.0]])
    assert x.repeat(2, 2).numpy().tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    (gx,) = grads(x.repeat(2, 3), x)
    assert gx.tolist() == [[6.0, 6.0]]
    assert x.repeat_interleave(tg.Tensor(np.array([2, 0])), dim=1).numpy().tolist() == [[1.0, 1.0]]
    assert tg.repeat_interleave(x, 2).numpy().tolist() == [1.0, 1.0, 2.0, 2.0]


def test_split_chunk_unbind_shapes_as_pytorch():
    x = tg.Tensor(np.arange(10.0))
    assert [p.shape for p in x.split(4)] == [(4,), (4,), (2,)]
    assert [p.shape for p in x.chunk(4)] == [(3,), (3,), (3,), (1,)]
    assert [p.shape for p in tg.Tensor(np.zeros(6)).chunk(4)] == [(2,), (2,), (2,)]  # fewer pieces, as PyTorch
    assert [p.shape for p in tg.Tensor(np.zeros((2, 3))).unbind(1)] == [(2,)] * 3


def test_meshgrid_indexing():
    a, b = tg.Tensor(np.array([1.0, 2.0])), tg.Tensor(np.array([3.0, 4.0, 5.0]))
    ij = tg.meshgrid(a, b)
    xy = tg.meshgrid(a, b, indexing="xy")
    assert ij[0].shape == (2, 3) and xy[0].shape == (3, 2)
    assert xy[0].numpy().tolist() == [[1.0, 2.0]] * 3


# ---- spellings --------------------------------------------------------------------------------------------------
def test_dim_and_axis_spellings_and_top_level_functions():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    assert x.squeeze() is x
    assert x[:, :1, None].squeeze(dim=(1, 2)).shape == (2, 4)
    assert x.unsqueeze((0, -1)).shape == (1, 2, 3, 4, 1)
    assert x.transpose(dim0=0, dim1=2).shape == (4, 3, 2) and tg.swapdims(x, 0, 2).shape == (4, 3, 2)
    assert x.flatten(start_dim=1).shape == (2, 12)
    assert x.movedim(0, -1).shape == (3, 4, 2) and tg.moveaxis(x, (0, 1), (1, 0)).shape == (3, 2, 4)
    assert x.narrow(2, -3, 2).numpy().tolist() == x.numpy()[:, :, 1:3].tolist()
    np.testing.assert_array_equal(x.roll(1, axis=2).numpy(), np.roll(x.numpy(), 1, axis=2))
    np.testing.assert_array_equal(tg.flip(x, dims=[0, 2]).numpy(), x.numpy()[::-1, :, ::-1])
    index = np.zeros((2, 1, 4), dtype=np.int64)
    np.testing.assert_array_equal(tg.take_along_dim(x, tg.Tensor(index), axis=1).numpy(), x.numpy()[:, :1])
    with pytest.raises(TypeError, match="gather: input must be a Tensor"):
        tg.gather(np.zeros(3), 0, np.zeros(3, int))
    with pytest.raises(TypeError, match="both"):
        x.gather(0, index, axis=0)
