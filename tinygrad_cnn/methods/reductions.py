"""Reductions, scans, sorting and selection by value.

Tensor methods with PyTorch's names, arguments and defaults, mixed into Tensor; every one also takes NumPy's
spellings ``axis=`` / ``keepdims=`` (``ddof=`` for var/std). Where PyTorch and NumPy return different things, the
spelling decides: ``x.max(dim=1)`` (or ``x.max(1)``) returns PyTorch's ``(values, indices)`` with the gradient
routed to the returned index, ``x.max(axis=1)`` returns NumPy's values (amax: ties share the gradient).
The top-level functions at the end (``tg.sort(x, ...)``, PyTorch's ``torch.sort``) call these methods.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _checks
from ..errors import ShapeError
from ..ops import elementwise as _ew
from ..ops import indexing as _ix
from ..ops import reduce as _red
from ..ops import scan as _scan
from ..ops import sort as _sort
from ..ops.sort import ValuesIndices
from ..tensor_core import TensorCore

U = _checks.UNSET


def _axes(op: str, x: Any, dim: Any, axis: Any, default: Any = None) -> tuple[int, ...]:
    return _checks.as_axes(op, _checks.spelling(op, ("dim", dim), ("axis", axis), default), x.ndim)


def _keep(op: str, keepdim: Any, keepdims: Any) -> bool:
    value = _checks.spelling(op, ("keepdim", keepdim), ("keepdims", keepdims), False)
    return _checks.as_bool(op, "keepdims" if keepdims is not U else "keepdim", value)


def _dim(op: str, x: Any, dim: Any, axis: Any, default: Any) -> int:
    return _checks.as_axis(op, _checks.spelling(op, ("dim", dim), ("axis", axis), default), x.ndim, "dim")


def _squeezed(shape: tuple[int, ...], d: int) -> tuple[int, ...]:
    return shape[:d] + shape[d + 1:]


def _along(x: Any, d: int, fn) -> Any:
    """``fn(x, d)``, on a 1-element view when x is 0-d (PyTorch lets a 0-d tensor take dim 0 or -1)."""
    if x.ndim:
        return fn(x, d)
    out = fn(x.reshape((1,)), 0)
    if isinstance(out, ValuesIndices):
        return ValuesIndices(out.values.reshape(()), out.indices.reshape(()))
    return out.reshape(())


def _select(x: Any, d: int, indices: np.ndarray, keepdim: bool, unique: bool = True) -> ValuesIndices:
    """(x's values at ``indices`` along ``d``, the indices), axis ``d`` squeezed unless ``keepdim``."""
    values = _ix.Gather.apply(x, index=indices, dim=d, unique=unique)
    if not keepdim:
        values, indices = values.reshape(_squeezed(values.shape, d)), np.squeeze(indices, d)
    return ValuesIndices(values, x._make(indices.astype(np.int64, copy=False), None))


def _correction(op: str, unbiased: Any, correction: Any, ddof: Any) -> float:
    c = _checks.spelling(op, ("correction", correction), ("ddof", ddof), U)
    if unbiased is not U:
        if c is not U:
            raise TypeError(f"{op}: got unbiased= and correction= (or ddof=); pass one")
        return 1.0 if _checks.as_bool(op, "unbiased", unbiased) else 0.0
    return 1.0 if c is U or c is None else _checks.as_real(op, "ddof" if ddof is not U else "correction", c,
                                                           finite=True)


class ReductionMethods:
    """Mixed into Tensor (no state of its own)."""

    __slots__ = ()

    # ---- sums and products -------------------------------------------------------------------------------------
    def sum(self, dim=U, keepdim=U, *, dtype=None, axis=U, keepdims=U) -> Any:
        """Sum over ``dim`` (None: every axis; an int or a tuple); ``dtype`` casts the input first (PyTorch's)."""
        out = _red.Sum.apply(_as_dtype("sum", self, dtype),
                             axis=_checks.spelling("sum", ("dim", dim), ("axis", axis), None),
                             keepdims=_keep("sum", keepdim, keepdims))
        return _result_as(dtype, out)

    def prod(self, dim=U, keepdim=U, *, dtype=None, axis=U, keepdims=U) -> Any:
        """Product over ``dim``; its gradient (the product of the other elements) is exact with zeros; ``dtype``
        casts the input first."""
        out = _red.Prod.apply(_as_dtype("prod", self, dtype),
                              axis=_checks.spelling("prod", ("dim", dim), ("axis", axis), None),
                              keepdims=_keep("prod", keepdim, keepdims))
        return _result_as(dtype, out)

    def mean(self, dim=U, keepdim=U, *, dtype=None, axis=U, keepdims=U) -> Any:
        """Sum over ``dim`` divided by the number of summed elements (NaN over an empty axis, as PyTorch); ``dtype``
        casts the input first."""
        out = _red.mean(_as_dtype("mean", self, dtype), _axes("mean", self, dim, axis),
                        _keep("mean", keepdim, keepdims))
        return _result_as(dtype, out)

    def var(self, dim=U, unbiased=U, keepdim=U, *, correction=U, ddof=U, axis=U, keepdims=U) -> Any:
        """sum((x - mean)^2) / max(0, n - correction) over ``dim``. PyTorch's default ``correction=1`` (the
        unbiased estimate; NumPy's default is ddof=0: pass ``correction=0``, ``ddof=0`` or ``unbiased=False``); a
        float correction is allowed. n <= correction gives inf (NaN for 0 / 0) and a UserWarning, as PyTorch."""
        if isinstance(dim, (bool, np.bool_)):  # PyTorch's var(unbiased)
            dim, unbiased = U, dim
        return _red.variance(self, _axes("var", self, dim, axis), _keep("var", keepdim, keepdims),
                             _correction("var", unbiased, correction, ddof))

    def std(self, dim=U, unbiased=U, keepdim=U, *, correction=U, ddof=U, axis=U, keepdims=U) -> Any:
        """sqrt(var(...)) with the same arguments (``correction=1`` by default); its gradient is 0 where the
        variance is 0, as in PyTorch."""
        if isinstance(dim, (bool, np.bool_)):  # PyTorch's std(unbiased)
            dim, unbiased = U, dim
        return _red.SafeSqrt.apply(_red.variance(self, _axes("std", self, dim, axis), _keep("std", keepdim, keepdims),
                                                 _correction("std", unbiased, correction, ddof), op="std"))

    def var_mean(self, dim=U, unbiased=U, keepdim=U, *, correction=U, ddof=U, axis=U, keepdims=U) -> Any:
        """(var(...), mean(...)) over ``dim``, with var's arguments (PyTorch's ``torch.var_mean``)."""
        if isinstance(dim, (bool, np.bool_)):
            dim, unbiased = U, dim
        axes, keep = _axes("var_mean", self, dim, axis), _keep("var_mean", keepdim, keepdims)
        c = _correction("var_mean", unbiased, correction, ddof)
        return _red.variance(self, axes, keep, c, op="var_mean"), _red.mean(self, axes, keep)

    def std_mean(self, dim=U, unbiased=U, keepdim=U, *, correction=U, ddof=U, axis=U, keepdims=U) -> Any:
        """(std(...), mean(...)) over ``dim``, with std's arguments (PyTorch's ``torch.std_mean``)."""
        var, mean = self.var_mean(dim, unbiased, keepdim, correction=correction, ddof=ddof, axis=axis,
                                  keepdims=keepdims)
        return _red.SafeSqrt.apply(var), mean

    def logsumexp(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """log(sum(exp(x))) over ``dim`` (None: every axis), computed without overflow; the gradient is softmax."""
        return _red.logsumexp(self, _axes("logsumexp", self, dim, axis), _keep("logsumexp", keepdim, keepdims))

    def norm(self, p: Any = "fro", dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """The vector p-norm over ``dim`` (None: every element): p = "fro" or 2 (gradient 0 at 0), 1, inf, -inf,
        0 (the count of non-zeros, not differentiable) or any other real number."""
        if isinstance(p, str):
            p = _checks.as_choice("norm", "p", p, ("fro",))
        else:
            p = _checks.as_real("norm", "p", p)
            if math.isnan(p):
                raise ValueError("norm: p must be a number or 'fro', got nan")
        return _red.norm(self, p, _axes("norm", self, dim, axis), _keep("norm", keepdim, keepdims))

    # ---- extremes ------------------------------------------------------------------------------------------------
    def amax(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Maximum over ``dim`` (None or (): every axis); tied maxima share the gradient evenly (PyTorch's rule)."""
        value = _checks.spelling("amax", ("dim", dim), ("axis", axis), None)
        return _extreme_values(self, "amax", True, None if value == () else value, _keep("amax", keepdim, keepdims))

    def amin(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Minimum over ``dim`` (None or (): every axis); tied minima share the gradient evenly (PyTorch's rule)."""
        value = _checks.spelling("amin", ("dim", dim), ("axis", axis), None)
        return _extreme_values(self, "amin", False, None if value == () else value, _keep("amin", keepdim, keepdims))

    def max(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """PyTorch's three forms: ``x.max()`` the maximum (ties share the gradient evenly); ``x.max(dim)`` /
        ``x.max(dim=d)`` the pair ``(values, indices)`` of the first maximum along one axis, the gradient going to
        that index; ``x.max(other)`` the elementwise maximum. NumPy's ``x.max(axis=..., keepdims=...)`` returns
        the values alone (as ``amax``: any axes, ties share the gradient)."""
        return _extreme(self, "max", True, dim, keepdim, axis, keepdims)

    def min(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """As ``max``, for the minimum: ``x.min()``, ``x.min(dim)`` -> (values, indices), ``x.min(other)``,
        ``x.min(axis=...)`` -> values."""
        return _extreme(self, "min", False, dim, keepdim, axis, keepdims)

    def argmax(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Index of the first maximum over ``dim`` (None: of the flattened tensor); not differentiable."""
        return _red.arg_extreme(self, _checks.spelling("argmax", ("dim", dim), ("axis", axis), None),
                                _keep("argmax", keepdim, keepdims), largest=True)

    def argmin(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Index of the first minimum over ``dim`` (None: of the flattened tensor); not differentiable."""
        return _red.arg_extreme(self, _checks.spelling("argmin", ("dim", dim), ("axis", axis), None),
                                _keep("argmin", keepdim, keepdims), largest=False)

    # ---- logic and counts ----------------------------------------------------------------------------------------
    def any(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Whether any element over ``dim`` is non-zero, as a bool tensor (``bool(x.any())`` for a Python bool)."""
        return _red.truth(self, _axes("any", self, dim, axis), _keep("any", keepdim, keepdims), every=False)

    def all(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """Whether every element over ``dim`` is non-zero, as a bool tensor."""
        return _red.truth(self, _axes("all", self, dim, axis), _keep("all", keepdim, keepdims), every=True)

    def count_nonzero(self, dim=U, *, axis=U) -> Any:
        """The number of non-zero elements over ``dim`` (None: all), an int64 tensor."""
        return _red.count_nonzero(self, _axes("count_nonzero", self, dim, axis))

    # ---- scans ---------------------------------------------------------------------------------------------------
    def cumsum(self, dim=U, *, dtype=None, axis=U) -> Any:
        """Running sum along ``dim`` (NumPy's axis=None: of the flattened tensor); ``dtype`` casts the input
        first."""
        out = _scan_call(_as_dtype("cumsum", self, dtype), "cumsum", dim, axis,
                         lambda x, d: _scan.Cumsum.apply(x, axis=d))
        return _result_as(dtype, out)

    def cumprod(self, dim=U, *, dtype=None, axis=U) -> Any:
        """Running product along ``dim``; the gradient is exact with zeros (no division); ``dtype`` casts first."""
        out = _scan_call(_as_dtype("cumprod", self, dtype), "cumprod", dim, axis,
                         lambda x, d: _scan.Cumprod.apply(x, axis=d))
        return _result_as(dtype, out)

    def logcumsumexp(self, dim=U, *, axis=U) -> Any:
        """Running log(sum(exp(x))) along ``dim``, stable (no overflow, no underflow of small early terms)."""
        def run(x, d):
            return _scan.LogCumsumExp.apply(x if x.dtype.kind == "f" else x.float(), axis=d)
        return _scan_call(self, "logcumsumexp", dim, axis, run)

    def cummax(self, dim=U, *, axis=U) -> Any:
        """(running maximum, its index) along ``dim``; on ties the index is the latest (PyTorch's rule), and the
        gradient goes to that element."""
        return _scan_call(self, "cummax", dim, axis, lambda x, d: _running(x, d, True), flatten=False)

    def cummin(self, dim=U, *, axis=U) -> Any:
        """(running minimum, its index) along ``dim``, as ``cummax``."""
        return _scan_call(self, "cummin", dim, axis, lambda x, d: _running(x, d, False), flatten=False)

    # ---- sorting and selection -----------------------------------------------------------------------------------
    def sort(self, dim=U, descending=False, stable=False, *, axis=U) -> Any:
        """(sorted values, their indices) along ``dim``; always stable (equal elements keep their order, in both
        directions); NaN sorts as the largest value. The gradient goes back to where each value came from."""
        d = _dim("sort", self, dim, axis, -1)
        descending = _checks.as_bool("sort", "descending", descending)
        _checks.as_bool("sort", "stable", stable)
        return _along(self, d, lambda x, d: _select(x, d, _sort.sort_indices(x.data, d, descending), True))

    def argsort(self, dim=U, descending=False, stable=False, *, axis=U) -> Any:
        """The indices that sort along ``dim`` (stable; not differentiable)."""
        d = _dim("argsort", self, dim, axis, -1)
        descending = _checks.as_bool("argsort", "descending", descending)
        _checks.as_bool("argsort", "stable", stable)
        order = _sort.sort_indices(self.data.reshape(self.shape or (1,)), d, descending)
        return self._make(order.reshape(self.shape).astype(np.int64, copy=False), None)

    def topk(self, k, dim=U, largest=True, sorted=True, *, axis=U) -> Any:
        """(the ``k`` largest values along ``dim``, their indices), largest first (``largest=False``: the k
        smallest, smallest first); ties in their original order."""
        d = _dim("topk", self, dim, axis, -1)
        n = self.shape[d] if self.ndim else 1
        k = _checks.as_int("topk", "k", k, 0, n)
        largest = _checks.as_bool("topk", "largest", largest)
        _checks.as_bool("topk", "sorted", sorted)

        def run(x, d):
            order = _sort.sort_indices(x.data, d, descending=largest)
            return _select(x, d, np.take(order, np.arange(k), axis=d), True)
        return _along(self, d, run)

    def kthvalue(self, k, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """(the k-th smallest value along ``dim``, counting from 1, and its index)."""
        d = _dim("kthvalue", self, dim, axis, -1)
        n = self.shape[d] if self.ndim else 1
        k = _checks.as_int("kthvalue", "k", k, 1, n)
        keep = _keep("kthvalue", keepdim, keepdims)

        def run(x, d):
            order = _sort.sort_indices(x.data, d)
            return _select(x, d, np.take(order, [k - 1], axis=d), keep)
        return _along(self, d, run)

    def median(self, dim=U, keepdim=U, *, axis=U, keepdims=U) -> Any:
        """PyTorch's median: the lower of the two middle values (NaN if the slice holds a NaN). ``x.median()`` is
        the value over every element; ``x.median(dim)`` the pair (values, indices) along one axis. The gradient
        goes to the selected element."""
        value = _checks.spelling("median", ("dim", dim), ("axis", axis), None)
        keep = _keep("median", keepdim, keepdims)
        if value is None:
            flat = self.reshape((self.size,))
            if self.size == 0:
                return self._make(np.array(np.nan, self.dtype if self.dtype.kind == "f" else np.float32), None)
            return _median(flat, 0, False).values.reshape(())
        d = _checks.as_axis("median", value, self.ndim, "dim")
        if self.ndim and self.shape[d] == 0:
            raise ShapeError(f"median: cannot take the median of an empty axis (shape {self.shape}, dim {value})")
        return _along(self, d, lambda x, d: _median(x, d, keep))


def _as_dtype(op: str, x: Any, dtype: Any) -> Any:
    """x cast to ``dtype`` (a reduction's ``dtype=``: PyTorch casts the input before reducing)."""
    if dtype is None:
        return x
    d = _checks.as_dtype(op, dtype)
    return x if x.dtype == d else _ew.Cast.apply(x, dtype=d)


def _result_as(dtype: Any, out: Any) -> Any:
    """A reduction's result in the ``dtype=`` asked for (NumPy widens small integer sums and products to int64)."""
    if dtype is None or out.dtype == np.dtype(dtype):
        return out
    return _ew.Cast.apply(out, dtype=np.dtype(dtype))


def _extreme(x: Any, op: str, largest: bool, dim, keepdim, axis, keepdims) -> Any:
    if isinstance(dim, TensorCore):  # x.max(other): the elementwise maximum
        if not (keepdim is U and axis is U and keepdims is U):
            raise TypeError(f"{op}: {op}(other) takes no other argument")
        return x.maximum(dim) if largest else x.minimum(dim)
    keep = _keep(op, keepdim, keepdims)
    if dim is U or dim is None:  # the values (over axis=, every axis by default)
        value = _checks.spelling(op, ("dim", U), ("axis", axis), None)
        return _extreme_values(x, op, largest, value, keep)
    if axis is not U:
        raise TypeError(f"{op}: got both dim= and axis= (two spellings of one argument); pass one")
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"{op}: dim must be one int ({op}(dim) returns values and indices); for several axes use "
                        f"a{op}(dim={tuple(dim)!r}) or {op}(axis={tuple(dim)!r})")
    d = _checks.as_axis(op, dim, x.ndim, "dim")

    def run(t, d):
        if t.shape[d] == 0:
            raise ShapeError(f"{op}: cannot reduce over an empty axis (shape {t.shape}, dim {dim})")
        return _select(t, d, _sort.extreme_indices(t.data, d, largest), keep)
    return _along(x, d, run)


def _extreme_values(x: Any, op: str, largest: bool, axis: Any, keep: bool) -> Any:
    """Max/Min over ``axis`` (the caller's value is recorded on the node, as the graph pictures show it)."""
    axes = _checks.as_axes(op, axis, x.ndim)
    if any(x.shape[a] == 0 for a in axes):
        raise ShapeError(f"{op}: cannot reduce over an empty axis (shape {x.shape}, axis {axis!r}); an empty slice "
                         "has no extreme")
    return (_red.Max if largest else _red.Min).apply(x, axis=axis, keepdims=keep)


def _running(x: Any, d: int, largest: bool) -> ValuesIndices:
    indices = _sort.running_extreme_indices(x.data, d, largest)
    return _select(x, d, indices, keepdim=True, unique=False)


def _median(x: Any, d: int, keep: bool) -> ValuesIndices:
    order = _sort.sort_indices(x.data, d)
    n = x.shape[d]
    middle = np.full(_squeezed(x.shape, d), (n - 1) // 2, np.int64)
    if x.dtype.kind == "f":  # a NaN sorts last; the median of a slice holding one is NaN (the first NaN)
        nans = np.sum(np.isnan(x.data), axis=d)
        middle = np.where(nans > 0, n - nans, middle)
    position = np.expand_dims(middle, d)
    return _select(x, d, np.take_along_axis(order, position, d), keep)


def _scan_call(x: Any, op: str, dim, axis, make, flatten: bool = True) -> Any:
    value = _checks.spelling(op, ("dim", dim), ("axis", axis), None if flatten else U)
    if value is U:
        raise TypeError(f"{op}: missing dim; pass the axis to scan along, e.g. {op}(dim=0)")
    if value is None:  # NumPy's axis=None: scan the flattened tensor
        return make(x.reshape((x.size,)), 0)
    return _along(x, _checks.as_axis(op, value, x.ndim, "dim"), make)


# ---- top-level functions (torch.X) -----------------------------------------------------------------------------------
def _function(name: str):
    def call(input, *args, **kwargs):
        if not isinstance(input, TensorCore):
            raise TypeError(f"{name}: input must be a Tensor, got {type(input).__name__}; wrap data with "
                            "Tensor(...)")
        return getattr(input, name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{name}(input, ...)`` is ``input.{name}(...)`` (PyTorch's ``torch.{name}``)."
    return call


FUNCTIONS = ("amax", "amin", "argsort", "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "kthvalue",
             "logcumsumexp", "logsumexp", "median", "norm", "prod", "sort", "std", "topk", "var")
amax, amin, argsort, count_nonzero, cummax, cummin, cumprod, cumsum, kthvalue, logcumsumexp, logsumexp, median, \
    norm, prod, sort, std, topk, var = (_function(n) for n in FUNCTIONS)
