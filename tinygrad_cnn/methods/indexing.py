"""Indexing, gathering, scattering and rearranging.

Tensor methods with PyTorch's names (and NumPy's spellings where they differ: ``axis=`` for ``dim=``, ``moveaxis``,
``swapaxes``), mixed into Tensor, and the top-level functions ``tg.gather``, ``tg.roll``, ``tg.meshgrid`` ... that
PyTorch has at ``torch.X``, and ``one_hot`` (re-exported as ``F.one_hot``). The primitives are ``Gather``,
``ScatterAdd``, ``Scatter``, ``ScatterReduce`` (ops/indexing.py), ``SlidingWindows``/``SlidingWindowsAdd`` and the
movement primitives (ops/movement.py); everything else here is a composition of them: index_select, diag, diagonal
and flip are getitems, roll is slices joined, repeat and tile are reshape + expand, tril/triu and masked_fill are
where() with a constant mask.

Integer results (nonzero, where(cond)) are not differentiable. Out-of-range indices raise ``TensorIndexError`` (an
IndexError and a ValueError) naming the op, the valid range and the shape.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np

from .._checks import UNSET, as_axes, as_axis, as_bool, as_choice, as_int, as_real, is_int, spelling
from ..errors import ShapeError
from ..ops import elementwise as _ew
from ..ops import indexing as _ix
from ..ops import movement as _mv
from ..ops.movement import TensorIndexError
from ..tensor_core import TensorCore

__all__ = [
    "chunk", "diag", "diagonal", "flip", "gather", "index_fill", "index_select", "masked_fill", "masked_select",
    "meshgrid",
    "moveaxis", "movedim", "narrow", "nonzero", "one_hot", "repeat_interleave", "roll", "scatter", "scatter_add",
    "scatter_reduce", "split", "squeeze", "swapaxes", "swapdims", "take_along_dim", "tile", "trace", "tril", "triu",
    "unbind", "unsqueeze",
]


# ---- argument helpers ------------------------------------------------------------------------------------------
def _dim(op: str, x: Any, dim: Any, axis: Any, default: Any = UNSET, name: str = "dim") -> int:
    """The one axis an op works along, spelled ``dim=`` or ``axis=``, as a non-negative int."""
    d = spelling(op, (name, dim), ("axis", axis), default)
    if d is UNSET:
        raise TypeError(f"{op}: missing the argument {name} (the dimension to work along)")
    return as_axis(op, d, x.ndim, name)


def _index_array(op: str, index: Any, name: str = "index") -> np.ndarray:
    """An index (integer Tensor, array or list) as a fresh intp array (the node keeps it: later writes to the
    user's tensor cannot change the gradient); TypeError for anything else."""
    data = index.data if isinstance(index, TensorCore) else index
    if not isinstance(data, (np.ndarray, list, tuple)) and not is_int(data):
        raise TypeError(f"{op}: {name} must be an integer tensor, got {type(index).__name__}")
    try:
        array = np.asarray(data)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: {name} {index!r} is not a valid integer tensor (ragged or mixed)") from None
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(np.intp)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: {name} must be an integer tensor, got dtype {array.dtype}; convert it with "
                        ".astype(np.int64)")
    return array.astype(np.intp)


def _tensor(op: str, x: Any, name: str = "input") -> Any:
    if not isinstance(x, TensorCore):
        raise TypeError(f"{op}: {name} must be a Tensor, got {type(x).__name__}; wrap it with tg.Tensor(...)")
    return x


def _constant(x: Any, array: Any) -> Any:
    """``array`` as a tensor of x's class outside the graph."""
    return x._make(np.asarray(array), None)


def _same_dtype(op: str, x: Any, src: Any, name: str = "src") -> Any:
    src = _tensor(op, src, name)
    if src.dtype != x.dtype:
        raise TypeError(f"{op}: {name} has dtype {src.dtype} but the input has {x.dtype}; they must match (convert "
                        "with .astype())")
    return src


def _fit_src(op: str, src: Any, index: np.ndarray) -> Any:
    """``src`` cut to the index's shape (PyTorch reads only the leading ``index.shape`` block of a larger src)."""
    if src.ndim != index.ndim or any(m > s for m, s in zip(index.shape, src.shape)):
        raise TensorIndexError(f"{op}: index of shape {index.shape} does not fit in src of shape {src.shape}; index "
                               "may not be larger than src along any dimension")
    if src.shape == index.shape:
        return src
    return src[tuple(slice(0, m) for m in index.shape)]


def _axis_index(dim: int, index: Any) -> tuple:
    return (slice(None),) * dim + (index,)


def _ints(op: str, name: str, values: Any) -> tuple[int, ...]:
    """An int, a tuple/list of ints, or ints given as varargs, as a tuple of Python ints."""
    if len(values) == 1 and isinstance(values[0], (tuple, list)):
        values = tuple(values[0])
    if not all(is_int(v) for v in values):
        raise TypeError(f"{op}: {name} must be ints, got {values!r}")
    return tuple(int(v) for v in values)


class IndexingMethods:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    # ---- gather and scatter --------------------------------------------------------------------------------------
    def gather(self, dim: int = UNSET, index: Any = None, *, axis: int = UNSET) -> Any:
        """``out[i][j][k] = self[index[i][j][k]][j][k]`` along ``dim`` (PyTorch's gather; index has self's number of
        dimensions, no larger on the others, entries in [0, size of dim)).  Gradient: a scatter-add."""
        d = _dim("gather", self, dim, axis)
        if index is None:
            raise TypeError("gather: missing the argument index (an integer tensor)")
        return _ix.Gather.apply(self, index=_index_array("gather", index), dim=d)

    def scatter(self, dim: int = UNSET, index: Any = None, src: Any = None, *, value: Any = UNSET,
                axis: int = UNSET) -> Any:
        """A copy of self with ``out[index[i][j][k]][j][k] = src[i][j][k]`` along ``dim`` (src a tensor, or ``value``
        / a number for every written position). Where indices repeat, PyTorch leaves the result undefined; here
        the last element in row-major order of index wins, and only it receives a gradient."""
        d = _dim("scatter", self, dim, axis)
        index = _index_array("scatter", index)
        _ix.check_index("scatter", index, d, self.shape)
        if value is not UNSET or not isinstance(src, TensorCore):
            fill = src if value is UNSET else value
            if fill is None:
                raise TypeError("scatter: pass src (a tensor) or value (a number)")
            if isinstance(fill, TensorCore) or (isinstance(fill, (bool, np.bool_)) and self.dtype != np.bool_):
                raise TypeError(f"scatter: value must be a number, got {type(fill).__name__}")
            fill = fill if isinstance(fill, (bool, np.bool_)) else as_real("scatter", "value", fill)
            src = _constant(self, np.full(index.shape, fill, dtype=self.dtype))
        else:
            src = _fit_src("scatter", _same_dtype("scatter", self, src), index)
        return _ix.Scatter.apply(self, src, index=index, dim=d)

    def scatter_add(self, dim: int = UNSET, index: Any = None, src: Any = None, *, axis: int = UNSET) -> Any:
        """self + the elements of src added at ``out[index[i][j][k]][j][k]`` along ``dim`` (repeated indices add up)."""
        d = _dim("scatter_add", self, dim, axis)
        index = _index_array("scatter_add", index)
        _ix.check_index("scatter_add", index, d, self.shape)
        src = _fit_src("scatter_add", _same_dtype("scatter_add", self, src), index)
        return self + _ix.ScatterAdd.apply(src, index=index, dim=d, shape=self.shape)

    def scatter_reduce(self, dim: int = UNSET, index: Any = None, src: Any = None, reduce: str = UNSET, *,
                       include_self: bool = True, axis: int = UNSET) -> Any:
        """out[j] = reduce of self[j] (if ``include_self``) and every src element sent to j along ``dim``; reduce is
        'sum', 'prod', 'mean', 'amax' or 'amin'; positions no index points at keep self's value. Gradients as
        PyTorch: amax/amin split evenly among ties, prod is the product of the others (zeros included)."""
        op = "scatter_reduce"
        d = _dim(op, self, dim, axis)
        if reduce is UNSET:
            raise TypeError("scatter_reduce: missing the argument reduce ('sum', 'prod', 'mean', 'amax' or 'amin')")
        reduce = as_choice(op, "reduce", reduce, ("sum", "prod", "mean", "amax", "amin"))
        include_self = as_bool(op, "include_self", include_self)
        index = _index_array(op, index)
        _ix.check_index(op, index, d, self.shape)
        src = _fit_src(op, _same_dtype(op, self, src), index)
        if reduce in ("prod", "amax", "amin"):
            return _ix.ScatterReduce.apply(self, src, index=index, dim=d, reduce=reduce, include_self=include_self)
        t = _ix.flat_targets(index, d, self.shape).reshape(-1)
        hits = np.bincount(t, minlength=self.size).reshape(self.shape)
        base = self if include_self else _ew.Where.apply(_constant(self, hits > 0), _constant(self, np.zeros(
            (), self.dtype)), self)
        total = base + _ix.ScatterAdd.apply(src, index=index, dim=d, shape=self.shape)
        if reduce == "sum":
            return total
        count = np.where(hits > 0, hits + include_self, 1)  # untouched positions keep self: divide by 1
        if self.dtype.kind != "f":
            return _constant(self, (total.data // count).astype(self.dtype))  # PyTorch floors integer means
        return total / _constant(self, count.astype(self.dtype))

    def index_select(self, dim: int = UNSET, index: Any = None, *, axis: int = UNSET) -> Any:
        """The entries ``index`` (a 1-D integer tensor, repeats allowed) of self along ``dim``."""
        d = _dim("index_select", self, dim, axis)
        index = _index_array("index_select", index)
        if index.ndim > 1:
            raise TensorIndexError(f"index_select: index must be 1-D, got shape {index.shape}")
        n = self.shape[d] if self.ndim else 1
        if index.size and (index.min() < 0 or index.max() >= n):
            raise TensorIndexError(f"index_select: index holds values from {index.min()} to {index.max()}, out of "
                                   f"range [0, {n - 1}] of dimension {d} of the input of shape {self.shape}")
        x = self if self.ndim else self.reshape(1)
        return x[_axis_index(d, index.reshape(-1))]

    def take_along_dim(self, indices: Any = None, dim: int | None = UNSET, *, axis: int | None = UNSET) -> Any:
        """Gather along ``dim`` with ``indices`` broadcast against self on the other dimensions (NumPy's
        take_along_axis); dim=None takes from the flattened tensor with the indices flattened."""
        op = "take_along_dim"
        index = _index_array(op, indices, "indices")
        d = spelling(op, ("dim", dim), ("axis", axis), None)
        x = self
        if d is None:
            x, index, d = self.reshape(-1), index.reshape(-1), 0
        else:
            d = as_axis(op, d, self.ndim, "dim")
            if index.ndim != self.ndim:
                raise TensorIndexError(f"{op}: indices have {index.ndim} dimensions but the input has {self.ndim} "
                                       f"(shape {self.shape}); they must have the same number")
            try:
                shape = np.broadcast_shapes(tuple(n for k, n in enumerate(self.shape) if k != d),
                                            tuple(n for k, n in enumerate(index.shape) if k != d))
            except ValueError:
                raise TensorIndexError(f"{op}: indices of shape {index.shape} do not broadcast with the input of "
                                       f"shape {self.shape} outside dimension {d}") from None
            x_shape = shape[:d] + (self.shape[d],) + shape[d:]
            index = np.broadcast_to(index, shape[:d] + (index.shape[d],) + shape[d:])
            x = self.expand(x_shape) if x_shape != self.shape else self
        _ix.check_index(op, index, d, x.shape)
        return _ix.Gather.apply(x, index=index, dim=d)

    # ---- masks -----------------------------------------------------------------------------------------------
    def masked_fill(self, mask: Any, value: Any) -> Any:
        """self with ``value`` (a number or a 0-d tensor, differentiable) where the boolean ``mask`` (broadcast to
        self's shape) is True."""
        mask = _bool_mask("masked_fill", mask)
        try:
            shape = np.broadcast_shapes(self.shape, mask.shape)
        except ValueError:
            shape = None
        if shape != self.shape:
            raise ShapeError(f"masked_fill: mask of shape {mask.shape} does not broadcast to the input's shape "
                             f"{self.shape}")
        if isinstance(value, TensorCore):
            if value.ndim:
                raise ShapeError(f"masked_fill: a tensor value must be 0-d, got shape {value.shape}")
            fill = value if value.dtype == self.dtype else _ew.Cast.apply(value, dtype=self.dtype)
        else:
            if isinstance(value, (bool, np.bool_)) and self.dtype != np.bool_:
                raise TypeError("masked_fill: value must be a number, got a bool")
            value = value if isinstance(value, (bool, np.bool_)) else as_real("masked_fill", "value", value)
            fill = _constant(self, np.asarray(value).astype(self.dtype))
        return _ew.Where.apply(_constant(self, mask), fill, self)

    def index_fill(self, dim: int = UNSET, index: Any = None, value: Any = None, *, axis: int = UNSET) -> Any:
        """self with ``value`` (a number or a 0-d tensor) at the entries ``index`` (a 1-D integer tensor; negative
        counts from the end) along ``dim``: a masked_fill with the mask those entries."""
        d = _dim("index_fill", self, dim, axis)
        index = _index_array("index_fill", index)
        if index.ndim > 1:
            raise TensorIndexError(f"index_fill: index must be 0-d or 1-D, got shape {index.shape}")
        n = self.shape[d] if self.ndim else 1
        if index.size and (index.min() < -n or index.max() >= n):
            raise TensorIndexError(f"index_fill: index holds values from {index.min()} to {index.max()}, out of "
                                   f"range [{-n}, {n - 1}] of dimension {d} of the input of shape {self.shape}")
        if value is None:
            raise TypeError("index_fill: missing the argument value (a number or a 0-d tensor)")
        mask = np.zeros(self.shape or (1,), dtype=bool)
        mask[_axis_index(d, index.reshape(-1))] = True
        return self.masked_fill(mask.reshape(self.shape), value)

    def masked_select(self, mask: Any) -> Any:
        """The elements of self (broadcast with the boolean ``mask``) where mask is True, as a 1-D tensor."""
        mask = _bool_mask("masked_select", mask)
        try:
            shape = tuple(np.broadcast_shapes(self.shape, mask.shape))
        except ValueError:
            raise ShapeError(f"masked_select: mask of shape {mask.shape} and input of shape {self.shape} do not "
                             "broadcast") from None
        x = self.expand(shape) if shape != self.shape else self
        return x[np.broadcast_to(mask, shape)]

    def nonzero(self, *, as_tuple: bool = False) -> Any:
        """Indices of the nonzero elements: an int64 tensor (count, ndim), or with ``as_tuple`` one 1-D int64 tensor
        per dimension (PyTorch's order: row-major). Not differentiable."""
        if as_bool("nonzero", "as_tuple", as_tuple):
            return tuple(self._make(i.astype(np.int64), None) for i in np.nonzero(np.atleast_1d(self.data)))
        return self._make(np.argwhere(self.data).astype(np.int64), None)

    # ---- triangles and diagonals -------------------------------------------------------------------------------
    def tril(self, diagonal: int = 0) -> Any:
        """The lower triangle of the last two dimensions (out[i, j] = self[i, j] for j - i <= diagonal, else 0)."""
        return _triangle("tril", self, diagonal, lower=True)

    def triu(self, diagonal: int = 0) -> Any:
        """The upper triangle of the last two dimensions (out[i, j] = self[i, j] for j - i >= diagonal, else 0)."""
        return _triangle("triu", self, diagonal, lower=False)

    def diag(self, diagonal: int = 0) -> Any:
        """A 1-D tensor -> the square matrix with it on the ``diagonal``-th diagonal; a 2-D tensor -> that diagonal
        as a 1-D tensor (diagonal > 0 above the main one, < 0 below)."""
        k = as_int("diag", "diagonal", diagonal)
        if self.ndim == 1:
            n = self.shape[0]
            size = n + abs(k)
            start = k if k >= 0 else -k * size
            flat = _mv.IndexAdd.apply(self, shape=(size * size,), index=slice(start, start + n * (size + 1),
                                                                              size + 1))
            return flat.reshape(size, size)
        if self.ndim == 2:
            return self.diagonal(k)
        raise ShapeError(f"diag: expected a 1-D or 2-D tensor, got shape {self.shape}; use diagonal() for more "
                         "dimensions")

    def diagonal(self, offset: int = 0, dim1: int = UNSET, dim2: int = UNSET, *, axis1: int = UNSET,
                 axis2: int = UNSET) -> Any:
        """The diagonal of the planes (dim1, dim2), offset above (> 0) or below (< 0) the main one, as a last axis
        (the other dimensions kept in order), as NumPy's and PyTorch's diagonal."""
        k = as_int("diagonal", "offset", offset)
        if self.ndim < 2:
            raise ShapeError(f"diagonal: expected at least 2 dimensions, got shape {self.shape}")
        d1 = as_axis("diagonal", spelling("diagonal", ("dim1", dim1), ("axis1", axis1), 0), self.ndim, "dim1")
        d2 = as_axis("diagonal", spelling("diagonal", ("dim2", dim2), ("axis2", axis2), 1), self.ndim, "dim2")
        if d1 == d2:
            raise ValueError(f"diagonal: dim1 and dim2 are both {d1}; pass two different dimensions")
        x = self.movedim((d1, d2), (-2, -1))
        r, c = x.shape[-2:]
        length = max(0, min(r, c - k) if k >= 0 else min(r + k, c))
        start = k if k >= 0 else -k * c
        flat = x.reshape(x.shape[:-2] + (r * c,))
        return flat[..., start:start + length * (c + 1):c + 1] if length else flat[..., :0]

    def trace(self) -> Any:
        """The sum of the main diagonal of a 2-D tensor."""
        if self.ndim != 2:
            raise ShapeError(f"trace: expected a 2-D tensor, got shape {self.shape}")
        return self.diagonal().sum()

    # ---- rearranging -------------------------------------------------------------------------------------------
    def roll(self, shifts: Any, dims: Any = UNSET, *, axis: Any = UNSET) -> Any:
        """Elements shifted by ``shifts`` along ``dims`` (ints or tuples of one length), wrapping around; with no
        dims the tensor is rolled flattened and reshaped back."""
        dims = spelling("roll", ("dims", dims), ("axis", axis), None)
        shifts_t = (shifts,) if is_int(shifts) else shifts
        if not isinstance(shifts_t, (tuple, list)) or not shifts_t or not all(is_int(s) for s in shifts_t):
            raise TypeError(f"roll: shifts must be an int or a tuple of ints, got {shifts!r}")
        if dims is None:
            if len(shifts_t) != 1:
                raise ValueError(f"roll: {len(shifts_t)} shifts without dims; pass dims, one per shift")
            return self.reshape(-1).roll(shifts_t[0], 0).reshape(self.shape)
        dims_t = (dims,) if is_int(dims) else dims
        if not isinstance(dims_t, (tuple, list)) or not all(is_int(d) for d in dims_t):
            raise TypeError(f"roll: dims must be an int or a tuple of ints, got {dims!r}")
        if len(dims_t) != len(shifts_t):
            raise ValueError(f"roll: {len(shifts_t)} shifts and {len(dims_t)} dims; pass one shift per dim")
        out = self
        for s, d in zip(shifts_t, dims_t):
            d = as_axis("roll", d, self.ndim, "dims")
            n = self.shape[d] if self.ndim else 1
            s = int(s) % n if n else 0
            if s:
                x = out if out.ndim else out.reshape(1)
                out = _mv.Concatenate.apply(x[_axis_index(d, slice(n - s, None))], x[_axis_index(d, slice(0, n - s))],
                                            axis=d).reshape(out.shape)
        return out

    def flip(self, *dims_given: Any, dims: Any = UNSET, axis: Any = UNSET) -> Any:
        """The order of elements reversed along ``dims`` (an int, a tuple, or ints as varargs)."""
        if dims_given:
            if dims is not UNSET:
                raise TypeError("flip: dims given twice (positionally and as dims=)")
            dims = dims_given[0] if len(dims_given) == 1 else dims_given
        dims = spelling("flip", ("dims", dims), ("axis", axis), UNSET)
        if dims is UNSET:
            raise TypeError("flip: missing the argument dims (the dimensions to reverse)")
        axes = as_axes("flip", dims, self.ndim)
        if not axes:
            return self[...]
        return self[tuple(slice(None, None, -1) if k in axes else slice(None) for k in range(self.ndim))]

    def repeat(self, *sizes: Any) -> Any:
        """PyTorch's repeat (NumPy's tile): the tensor tiled ``sizes[k]`` times along dimension k; ``sizes`` may
        have more entries than self has dimensions (new leading dimensions)."""
        sizes = _ints("repeat", "sizes", sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: {len(sizes)} repeat sizes for a tensor with {self.ndim} dimensions (shape "
                             f"{self.shape}); pass at least one per dimension (tile() prepends ones)")
        if any(r < 0 for r in sizes):
            raise ValueError(f"repeat: sizes must be >= 0, got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        spread = tuple(n for s in shape for n in (1, s))
        tiled = tuple(n for r, s in zip(sizes, shape) for n in (r, s))
        return self.reshape(spread).expand(tiled).reshape(tuple(r * s for r, s in zip(sizes, shape)))

    def tile(self, *dims: Any) -> Any:
        """The tensor tiled ``dims[k]`` times along dimension k; fewer dims than dimensions are padded with ones in
        front (PyTorch's and NumPy's tile)."""
        dims = _ints("tile", "dims", dims)
        if any(r < 0 for r in dims):
            raise ValueError(f"tile: dims must be >= 0, got {dims}")
        return self.repeat(*((1,) * (self.ndim - len(dims)) + dims))

    def repeat_interleave(self, repeats: Any, dim: int | None = UNSET, *, output_size: int | None = None,
                          axis: int | None = UNSET) -> Any:
        """Each element repeated ``repeats`` times along ``dim`` (an int, or a 1-D integer tensor with one count per
        element or a single count); dim=None repeats the flattened tensor (NumPy's repeat)."""
        op = "repeat_interleave"
        d = spelling(op, ("dim", dim), ("axis", axis), None)
        x = self.reshape(-1) if d is None else self
        d = 0 if d is None else as_axis(op, d, self.ndim, "dim")
        n = x.shape[d] if x.ndim else 1
        if is_int(repeats):
            counts = np.asarray(int(repeats))
        else:
            counts = _index_array(op, repeats, "repeats")
            if counts.ndim > 1 or counts.size not in (1, n):
                raise ShapeError(f"{op}: repeats of shape {counts.shape} for {n} elements along dim {d}; pass one "
                                 "count per element, or a single count")
        if np.any(counts < 0):
            raise ValueError(f"{op}: repeats must be >= 0, got {counts.tolist()}")
        index = np.repeat(np.arange(n), np.broadcast_to(counts.reshape(-1), (n,)) if counts.ndim else int(counts))
        if output_size is not None and as_int(op, "output_size", output_size) != index.size:
            raise ValueError(f"{op}: output_size={output_size} but the repeats give {index.size} elements")
        x = x if x.ndim else x.reshape(1)
        return x[_axis_index(d, index)]

    def split(self, split_size_or_sections: Any, dim: int = UNSET, *, axis: int = UNSET) -> tuple:
        """Pieces along ``dim``: of ``split_size`` each (the last one smaller), or of the listed sizes (summing to
        the dimension's size)."""
        d = _dim("split", self, dim, axis, 0)
        n = self.shape[d] if self.ndim else 0
        if self.ndim == 0:
            raise ValueError("split: cannot split a 0-d tensor; it has no dimension")
        sizes = split_size_or_sections
        if is_int(sizes):
            step = as_int("split", "split_size", sizes, low=0)
            if step == 0:
                if n:
                    raise ValueError(f"split: split_size 0 cannot split dimension {d} of size {n}")
                return (self[_axis_index(d, slice(0, 0))],)
            bounds = list(range(0, n, step)) + [n] if n else [0, 0]
        elif isinstance(sizes, (tuple, list)) and all(is_int(s) for s in sizes):
            if any(s < 0 for s in sizes) or sum(sizes) != n:
                raise ShapeError(f"split: sizes {list(sizes)} must be >= 0 and sum to {n}, the size of dimension {d} "
                                 f"of shape {self.shape}")
            bounds = [0, *np.cumsum(sizes).tolist()] if sizes else []
        else:
            raise TypeError(f"split: split_size_or_sections must be an int or a list of ints, got {sizes!r}")
        return tuple(self[_axis_index(d, slice(a, b))] for a, b in itertools.pairwise(bounds))

    def chunk(self, chunks: int, dim: int = UNSET, *, axis: int = UNSET) -> tuple:
        """At most ``chunks`` pieces of ceil(size / chunks) along ``dim`` (fewer when they run out, as PyTorch)."""
        chunks = as_int("chunk", "chunks", chunks, low=1)
        d = _dim("chunk", self, dim, axis, 0)
        if self.ndim == 0:
            raise ValueError("chunk: cannot chunk a 0-d tensor; it has no dimension")
        n = self.shape[d]
        return self.split(max(1, -(-n // chunks)) if n else 0, d)

    def unbind(self, dim: int = UNSET, *, axis: int = UNSET) -> tuple:
        """The slices along ``dim``, that dimension removed, as a tuple."""
        d = _dim("unbind", self, dim, axis, 0)
        if self.ndim == 0:
            raise ValueError("unbind: cannot unbind a 0-d tensor; it has no dimension")
        return tuple(self[_axis_index(d, i)] for i in range(self.shape[d]))

    def unfold(self, dimension: int, size: int, step: int) -> Any:
        """Sliding windows of ``size`` with stride ``step`` along ``dimension``: that dimension becomes the window
        count (size_d - size) // step + 1 and a last dimension of ``size`` is appended (a strided view, not im2col:
        for that see F.unfold)."""
        if self.ndim == 0:
            raise ValueError("unfold: expected a tensor with at least one dimension, got a 0-d tensor")
        d = as_axis("unfold", dimension, self.ndim, "dimension")
        size = as_int("unfold", "size", size, low=0)
        step = as_int("unfold", "step", step, low=1)
        if size > self.shape[d]:
            raise ShapeError(f"unfold: size {size} is larger than dimension {d} of shape {self.shape}")
        return _mv.SlidingWindows.apply(self, dim=d, size=size, step=step)

    def narrow(self, dim: int = UNSET, start: int = UNSET, length: int = UNSET, *, axis: int = UNSET) -> Any:
        """``length`` elements from ``start`` (negative counts from the end) along ``dim``: a slice."""
        d = _dim("narrow", self, dim, axis)
        if self.ndim == 0:
            raise ValueError("narrow: cannot narrow a 0-d tensor; it has no dimension")
        n = self.shape[d]
        if start is UNSET or length is UNSET:
            raise TypeError("narrow: pass start and length")
        start = as_int("narrow", "start", start.item() if isinstance(start, TensorCore) else start, -n, n)
        start = start + n if start < 0 else start
        length = as_int("narrow", "length", length, 0)
        if start + length > n:
            raise ValueError(f"narrow: start {start} + length {length} exceeds size {n} of dimension {d}")
        return self[_axis_index(d, slice(start, start + length))]

    def movedim(self, source: Any, destination: Any) -> Any:
        """Dimensions ``source`` moved to positions ``destination`` (ints or tuples of one length), the others kept
        in order (NumPy's moveaxis)."""
        return _movedim("movedim", self, source, destination)

    def moveaxis(self, source: Any, destination: Any) -> Any:
        """Alias of movedim (NumPy's name)."""
        return _movedim("moveaxis", self, source, destination)

    def swapaxes(self, axis0: int, axis1: int) -> Any:
        """Dimensions axis0 and axis1 exchanged (transpose with two axes)."""
        return _swap("swapaxes", self, axis0, axis1)

    def swapdims(self, dim0: int, dim1: int) -> Any:
        """Dimensions dim0 and dim1 exchanged (transpose with two axes)."""
        return _swap("swapdims", self, dim0, dim1)


def _bool_mask(op: str, mask: Any) -> np.ndarray:
    data = mask.data if isinstance(mask, TensorCore) else mask
    try:
        array = np.asarray(data)
    except (TypeError, ValueError):
        raise TypeError(f"{op}: mask must be a boolean tensor, got {type(mask).__name__}") from None
    if array.dtype != np.bool_:
        raise TypeError(f"{op}: mask must be a boolean tensor, got dtype {array.dtype}; e.g. x > 0")
    return array


def _triangle(op: str, x: Any, diagonal: Any, lower: bool) -> Any:
    k = as_int(op, "diagonal", diagonal)
    if x.ndim < 2:
        raise ShapeError(f"{op}: expected at least 2 dimensions, got shape {x.shape}")
    r, c = x.shape[-2:]
    mask = np.tri(r, c, k, dtype=bool) if lower else ~np.tri(r, c, k - 1, dtype=bool)
    return _ew.Where.apply(_constant(x, mask), x, _constant(x, np.zeros((), x.dtype)))


def _movedim(op: str, x: Any, source: Any, destination: Any) -> Any:
    src = (source,) if is_int(source) else source
    dst = (destination,) if is_int(destination) else destination
    if not isinstance(src, (tuple, list)) or not isinstance(dst, (tuple, list)):
        raise TypeError(f"{op}: source and destination must be ints or tuples of ints, got {source!r} and "
                        f"{destination!r}")
    if len(src) != len(dst):
        raise ValueError(f"{op}: source {tuple(src)} and destination {tuple(dst)} must have the same length")
    src = [as_axis(op, s, x.ndim, "source") for s in src]
    dst = [as_axis(op, s, x.ndim, "destination") for s in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"{op}: source {tuple(src)} and destination {tuple(dst)} may not repeat a dimension")
    if x.ndim == 0:
        return x
    rest = [k for k in range(x.ndim) if k not in src]
    order = [0] * x.ndim
    for s, t in zip(src, dst):
        order[t] = s
    free = iter(rest)
    order = [o if k in dst else next(free) for k, o in enumerate(order)]
    return x if order == list(range(x.ndim)) else x.permute(order)


def _swap(op: str, x: Any, a0: Any, a1: Any) -> Any:
    a0, a1 = as_axis(op, a0, x.ndim, "axis0"), as_axis(op, a1, x.ndim, "axis1")
    if x.ndim == 0:
        return x
    order = list(range(x.ndim))
    order[a0], order[a1] = order[a1], order[a0]
    return x.permute(order)


# ---- top-level functions (torch.X) ---------------------------------------------------------------------------------
def _method(name: str):
    def call(input: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(_tensor(name, input), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``input.{name}(...)``: see ``Tensor.{name}``."
    return call


gather = _method("gather")
scatter = _method("scatter")
scatter_add = _method("scatter_add")
scatter_reduce = _method("scatter_reduce")
index_select = _method("index_select")
index_fill = _method("index_fill")
masked_fill = _method("masked_fill")
masked_select = _method("masked_select")
take_along_dim = _method("take_along_dim")
nonzero = _method("nonzero")
tril = _method("tril")
triu = _method("triu")
diag = _method("diag")
diagonal = _method("diagonal")
trace = _method("trace")
roll = _method("roll")
flip = _method("flip")
tile = _method("tile")
repeat_interleave = _method("repeat_interleave")
split = _method("split")
chunk = _method("chunk")
unbind = _method("unbind")
narrow = _method("narrow")
movedim = _method("movedim")
moveaxis = _method("moveaxis")
swapaxes = _method("swapaxes")
swapdims = _method("swapdims")


def meshgrid(*tensors: Any, indexing: str = "ij") -> tuple:
    """Coordinate grids from 1-D tensors: out[k] holds tensors[k] along dimension k ('ij', matrix indexing), or
    with the first two dimensions swapped ('xy', Cartesian indexing); broadcast views."""
    if len(tensors) == 1 and isinstance(tensors[0], (tuple, list)):
        tensors = tuple(tensors[0])
    if not tensors:
        raise ValueError("meshgrid: pass at least one tensor")
    tensors = tuple(_tensor("meshgrid", t, f"tensor {i}") for i, t in enumerate(tensors))
    indexing = as_choice("meshgrid", "indexing", indexing, ("ij", "xy"))
    for i, t in enumerate(tensors):
        if t.ndim > 1:
            raise ShapeError(f"meshgrid: tensor {i} has shape {t.shape}; pass 0-d or 1-D tensors")
    if len({t.dtype for t in tensors}) > 1:
        raise TypeError(f"meshgrid: the tensors have dtypes {sorted({str(t.dtype) for t in tensors})}; convert "
                        "them to one dtype")
    sizes = [t.size for t in tensors]
    axes = list(range(len(tensors)))
    if indexing == "xy" and len(tensors) >= 2:
        axes[0], axes[1] = 1, 0
    shape = [0] * len(tensors)
    for a, n in zip(axes, sizes):
        shape[a] = n
    out = []
    for t, a in zip(tensors, axes):
        spread = tuple(shape[k] if k == a else 1 for k in range(len(shape)))
        out.append(t.reshape(spread).expand(tuple(shape)))
    return tuple(out)

squeeze = _method("squeeze")
unsqueeze = _method("unsqueeze")


def one_hot(tensor: Any, num_classes: int = -1) -> Any:
    """F.one_hot: an integer tensor of class indices -> int64 of shape ``tensor.shape + (num_classes,)`` with a 1
    at each index; num_classes=-1 takes the largest index + 1. Not differentiable."""
    tensor = _tensor("one_hot", tensor)
    if tensor.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor of class indices, got dtype {tensor.dtype}")
    n = as_int("one_hot", "num_classes", num_classes, low=-1)
    data = tensor.data
    low, high = (int(data.min()), int(data.max())) if data.size else (0, -1)
    if n == -1:
        if not data.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        n = high + 1
    if low < 0 or high >= n:
        raise TensorIndexError(f"one_hot: class values from {low} to {high} are out of range [0, {n - 1}] for "
                               f"num_classes={n} (input shape {tensor.shape})")
    return tensor._make((data[..., None] == np.arange(n)).astype(np.int64), None)
