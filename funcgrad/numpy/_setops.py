"""Set routines (`unique` and its array-API variants, `union1d`, `intersect1d`, `setdiff1d`,
`setxor1d`), as JAX computes them: sort, mark the first element of each run of equal
values, and compact the marked elements.

Their output sizes depend on the data. Called with concrete arrays they return exactly the
result (as NumPy); under `jit`/`vmap` they need a static `size=`: the result is then cut to
`size` elements or padded with `fill_value` (JAX's rule; its default depends on the
routine, see each docstring). Every path goes through the same traced code, so eager and
jitted results agree."""
from __future__ import annotations

import operator
from typing import NamedTuple

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from .. import numpy as _fnp
from ..core import Array, Tracer
from ._dtypes import _promote_dtypes_only
from ._creation import _axis

_SIZE_HINT = ("its output shape depends on the values; under jit/vmap pass a static "
              "size=... (the result is then cut or padded with fill_value to that length)")


class UniqueAllResult(NamedTuple):
    """What `unique_all` returns (JAX's `_UniqueAllResult`)."""
    values: Array
    indices: Array
    inverse_indices: Array
    counts: Array


class UniqueCountsResult(NamedTuple):
    """What `unique_counts` returns."""
    values: Array
    counts: Array


class UniqueInverseResult(NamedTuple):
    """What `unique_inverse` returns."""
    values: Array
    inverse_indices: Array


def _static_size(size, name):
    if size is None:
        return None
    try:
        size = operator.index(size)
    except TypeError:
        raise TypeError(f"{name}: size must be a static Python int, got {type(size).__name__}"
                        ) from None
    if size < 0:
        raise ValueError(f"{name}: size must be >= 0, got {size}")
    return size


def _concrete_count(count, args, name):
    """The number of results as a Python int (the size when none was given); traced inputs
    without `size=` raise ConcretizationTypeError."""
    if any(isinstance(a, Tracer) for a in args) or isinstance(count, Tracer):
        raise _core.ConcretizationTypeError(f"{name}: {_SIZE_HINT}")
    return int(_np.asarray(count))


def _int_dtype():
    return _dt.DEFAULT_INT_()


def _sorted_runs(aux2d, equal_nan):
    """Rows of `aux2d` (n, m) sorted lexicographically, whether each sorted row starts a new
    run of equal rows, and the sorting permutation (stable: the first occurrence of a row
    comes first in its run)."""
    n, m = aux2d.shape
    if n == 0:
        return aux2d, _fnp.zeros((0,), _dt.bool_), _fnp.zeros((0,), _int_dtype())
    if m == 0:
        perm = _fnp.arange(n, dtype=_int_dtype())
        first = _fnp.arange(n) == 0
        return aux2d, first, perm
    keys = [aux2d[:, j] for j in range(m - 1, -1, -1)]
    perm = _fnp.lexsort(keys).astype(_int_dtype()) if m > 1 else \
        _fnp.argsort(aux2d[:, 0], stable=True).astype(_int_dtype())
    aux = _fnp.take(aux2d, perm, axis=0)
    a, b = aux[1:], aux[:-1]
    ne = a != b
    if equal_nan and _dt.is_float(aux.dtype):
        ne = _fnp.logical_and(ne, _fnp.logical_not(_fnp.logical_and(_fnp.isnan(a),
                                                                    _fnp.isnan(b))))
    new = _fnp.any(ne, axis=1)
    first = _fnp.concatenate([_fnp.ones((1,), _dt.bool_), new])
    return aux, first, perm


def _positions(mask, size):
    """Indices of the first `size` True entries of the 1-D `mask`, padded with 0."""
    return _fnp.nonzero(mask, size=size, fill_value=0)[0].astype(_int_dtype())


def _unique_impl(x, axis, return_index, return_inverse, return_counts, equal_nan, size,
                 fill_value, name):
    shape_in = x.shape
    flat = axis is None
    if flat:
        x = _fnp.ravel(x)
        axis = 0
    else:
        axis = _axis(axis, x.ndim, name)
    moved = _fnp.moveaxis(x, axis, 0)
    n = moved.shape[0]
    rest = moved.shape[1:]
    if n == 0 and size and fill_value is None:
        raise ValueError(f"{name}: for an empty input with size={size} > 0, fill_value must "
                         "be given")
    aux2d = _fnp.reshape(moved, (n, int(_np.prod(rest, dtype=_np.int64))))
    aux, first, perm = _sorted_runs(aux2d, equal_nan)
    num = _fnp.sum(first.astype(_dt.int32))
    if size is None:
        size = _concrete_count(num, (x,), name)
    ind = _positions(first, size) if n else _fnp.zeros((size,), _int_dtype())
    if n:
        vals = _fnp.take(aux, ind, axis=0)
    else:
        vals = _fnp.zeros((size, aux.shape[1]), x.dtype)
    valid = _fnp.arange(size) < num
    if fill_value is not None:
        fv = _fnp.asarray(fill_value).astype(x.dtype)
        vals = _fnp.where(valid[:, None], vals, fv)
    vals = _fnp.moveaxis(_fnp.reshape(vals, (size,) + rest), 0, axis)
    out = [vals]
    if return_index:
        out.append(_fnp.take(perm, ind) if n else _fnp.zeros((size,), _int_dtype()))
    if return_inverse:
        run = _fnp.cumsum(first.astype(_int_dtype())) - 1
        inv = _fnp.zeros((n,), _int_dtype()).at[perm].set(run) if n else \
            _fnp.zeros((0,), _int_dtype())
        out.append(_fnp.reshape(inv, shape_in) if flat else inv)
    if return_counts:
        starts = _fnp.nonzero(first, size=size + 1, fill_value=n)[0].astype(_int_dtype()) \
            if n else _fnp.zeros((size + 1,), _int_dtype())
        # Padding entries count 0: their start and the next are both the fill, n.
        out.append(_fnp.diff(starts))
    return out[0] if len(out) == 1 else tuple(out)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, size=None, fill_value=None, sorted=True):
    """The sorted unique elements of `ar` (flattened, or unique slices along `axis`), with
    optionally the index of each one's first occurrence, the inverse indices (the shape of
    `ar` when `axis` is None) and the counts, as `jax.numpy.unique`.

    `equal_nan=True` counts every NaN as one value. Under jit/vmap give a static `size`:
    the first `size` unique values, padded with `fill_value` (default: the smallest unique
    value; padded indices are those of that value, padded counts 0). `sorted` is accepted
    and ignored, as in JAX (the result is always sorted)."""
    x = _fnp.asarray(ar)
    return _unique_impl(x, axis, return_index, return_inverse, return_counts, equal_nan,
                        _static_size(size, "unique"), fill_value, "unique")


def unique_all(x, /, *, size=None, fill_value=None):
    """`unique` with every extra output, as a named tuple (values, indices, inverse_indices,
    counts); NaNs are all distinct (`equal_nan=False`, the array API's rule)."""
    v, i, inv, c = _unique_impl(_fnp.asarray(x), None, True, True, True, False,
                                _static_size(size, "unique_all"), fill_value, "unique_all")
    return UniqueAllResult(v, i, inv, c)


def unique_counts(x, /, *, size=None, fill_value=None):
    """The unique values and how often each occurs, as a named tuple (values, counts)."""
    v, c = _unique_impl(_fnp.asarray(x), None, False, False, True, False,
                        _static_size(size, "unique_counts"), fill_value, "unique_counts")
    return UniqueCountsResult(v, c)


def unique_inverse(x, /, *, size=None, fill_value=None):
    """The unique values and the inverse indices (shaped like `x`: `values[inverse]` is
    `x`), as a named tuple (values, inverse_indices)."""
    v, inv = _unique_impl(_fnp.asarray(x), None, False, True, False, False,
                          _static_size(size, "unique_inverse"), fill_value, "unique_inverse")
    return UniqueInverseResult(v, inv)


def unique_values(x, /, *, size=None, fill_value=None):
    """The sorted unique values of `x` (flattened); NaNs are all distinct."""
    return _unique_impl(_fnp.asarray(x), None, False, False, False, False,
                        _static_size(size, "unique_values"), fill_value, "unique_values")


# ---------------------------------------------------------------------------------------
# Two-set routines


def _sorted_unique_1d(x):
    """(sorted values, first-of-run mask, permutation) of a 1-D array; all NaNs form one
    run (NumPy's and JAX's `unique` of each input)."""
    aux, first, perm = _sorted_runs(_fnp.reshape(x, (x.shape[0], 1)), True)
    return aux[:, 0], first, perm


def _member(values, sorted_set):
    """Whether each of `values` occurs in the sorted 1-D `sorted_set` (NaN never does)."""
    m = sorted_set.shape[0]
    if m == 0:
        return _fnp.zeros(values.shape, _dt.bool_)
    pos = _fnp.clip(_fnp.searchsorted(sorted_set, values, side="left"), 0, m - 1)
    return _fnp.take(sorted_set, pos) == values


def _compact(values, keep, size, fill_value, default_fill, name, args):
    """The entries of 1-D `values` where `keep` holds, in order: exactly those (size None,
    concrete), or the first `size`, padded with `fill_value` (or `default_fill`: "min" for
    the smallest kept value (0 when none), else a number)."""
    num = _fnp.sum(keep.astype(_dt.int32))
    if size is None:
        size = _concrete_count(num, args, name)
    n = values.shape[0]
    if n == 0:
        fv = 0 if fill_value is None else fill_value
        return _fnp.full((size,), fv, values.dtype)
    out = _fnp.take(values, _positions(keep, size))
    valid = _fnp.arange(size) < num
    if fill_value is None:
        if default_fill == "min":
            big = _fnp.max(_fnp.where(keep, values, values[0]))
            smallest = _fnp.min(_fnp.where(keep, values, big))
            fill_value = _fnp.where(num > 0, smallest, _fnp.zeros((), values.dtype))
        else:
            fill_value = default_fill
    return _fnp.where(valid, out, _fnp.asarray(fill_value).astype(values.dtype))


def _promoted_1d(name, ar1, ar2):
    a, b = _promote_dtypes_only([_fnp.asarray(ar1), _fnp.asarray(ar2)])
    return _fnp.ravel(a), _fnp.ravel(b)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values found in either array (both flattened); with a static
    `size`, padded with `fill_value` (default: the smallest value)."""
    a, b = _promoted_1d("union1d", ar1, ar2)
    return _unique_impl(_fnp.concatenate([a, b]), None, False, False, False, True,
                        _static_size(size, "union1d"), fill_value, "union1d")


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None,
                fill_value=None):
    """The sorted unique values found in both arrays (flattened); with `return_indices`,
    also the index of each value's first occurrence in `ar1` and in `ar2`. With a static
    `size`, values are padded with `fill_value` (default: the smallest value, 0 when the
    intersection is empty) and indices with `ar1.size` / `ar2.size`, as JAX.
    `assume_unique` is accepted (the result is the same)."""
    a, b = _promoted_1d("intersect1d", ar1, ar2)
    size = _static_size(size, "intersect1d")
    aux1, first1, perm1 = _sorted_unique_1d(a)
    aux2, _, perm2 = _sorted_unique_1d(b)
    keep = _fnp.logical_and(first1, _member(aux1, aux2))
    vals = _compact(aux1, keep, size, fill_value, "min", "intersect1d", (a, b))
    if not return_indices:
        return vals
    k = vals.shape[0]
    num = _fnp.sum(keep.astype(_dt.int32))
    valid = _fnp.arange(k) < num
    if a.shape[0] == 0 or b.shape[0] == 0:
        return vals, _fnp.full((k,), a.shape[0], _int_dtype()), \
            _fnp.full((k,), b.shape[0], _int_dtype())
    pos1 = _positions(keep, k)
    i1 = _fnp.take(perm1, pos1)
    pos2 = _fnp.clip(_fnp.searchsorted(aux2, _fnp.take(aux1, pos1), side="left"), 0,
                     b.shape[0] - 1)
    i2 = _fnp.take(perm2, pos2)
    return (vals, _fnp.where(valid, i1, a.shape[0]).astype(_int_dtype()),
            _fnp.where(valid, i2, b.shape[0]).astype(_int_dtype()))


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values of `ar1` that are not in `ar2` (both flattened); with a
    static `size`, padded with `fill_value` (default 0, as JAX). With `assume_unique`,
    `ar1` is taken as it is (not made unique and sorted): its values not in `ar2`, in
    their order (NumPy's and JAX's)."""
    a, b = _promoted_1d("setdiff1d", ar1, ar2)
    # values of ar1 only: in ar1's dtype, as JAX's (compared in the promoted one)
    dtype = _fnp.asarray(ar1).dtype
    if assume_unique:
        aux2, _, _ = _sorted_unique_1d(b)
        keep = _fnp.logical_not(_member(a, aux2))
        return _compact(a, keep, _static_size(size, "setdiff1d"), fill_value, 0,
                        "setdiff1d", (a, b)).astype(dtype)
    aux1, first1, _ = _sorted_unique_1d(a)
    aux2, _, _ = _sorted_unique_1d(b)
    keep = _fnp.logical_and(first1, _fnp.logical_not(_member(aux1, aux2)))
    return _compact(aux1, keep, _static_size(size, "setdiff1d"), fill_value, 0, "setdiff1d",
                    (a, b)).astype(dtype)


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values found in exactly one of the arrays (both flattened); with a
    static `size`, padded with `fill_value` (default: the smallest value). `assume_unique`
    is accepted (the result is the same)."""
    a, b = _promoted_1d("setxor1d", ar1, ar2)
    aux1, first1, _ = _sorted_unique_1d(a)
    aux2, first2, _ = _sorted_unique_1d(b)
    keep1 = _fnp.logical_and(first1, _fnp.logical_not(_member(aux1, aux2)))
    keep2 = _fnp.logical_and(first2, _fnp.logical_not(_member(aux2, aux1)))
    vals = _fnp.concatenate([aux1, aux2])
    keep = _fnp.concatenate([keep1, keep2])
    if vals.shape[0]:
        # Kept values first, each group sorted (stable: NaNs keep their places at the end).
        order = _fnp.lexsort([vals, _fnp.logical_not(keep)])
        vals, keep = _fnp.take(vals, order), _fnp.take(keep, order)
    return _compact(vals, keep, _static_size(size, "setxor1d"), fill_value, "min",
                    "setxor1d", (a, b))


__all__ = ["intersect1d", "setdiff1d", "setxor1d", "union1d", "unique", "unique_all",
           "unique_counts", "unique_inverse", "unique_values"]
