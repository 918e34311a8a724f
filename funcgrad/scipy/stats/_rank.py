"""rankdata and mode of funcgrad.scipy.stats (JAX's `jax.scipy.stats.rankdata` and
`mode`): both sort each slice along the axis once and read the runs of equal values from
running maxima / minima of their start and end positions, so they need no data-dependent
shapes and work under `jit` and `vmap`."""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from ... import dtypes as _dtypes
from ... import lax
from ... import numpy as fnp
from ...numpy._creation import _axis

_NAN_POLICIES = ("propagate", "omit", "raise")


def _check_nan_policy(name, nan_policy):
    if nan_policy not in _NAN_POLICIES:
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}; expected one of "
                         "{'propagate', 'omit', 'raise'}")
    if nan_policy == "omit":
        raise NotImplementedError(f"{name}: nan_policy='omit' is not implemented (nor in "
                                  "JAX)")
    if nan_policy == "raise":
        raise NotImplementedError(f"{name}: nan_policy='raise' would need to look at the "
                                  "values, which jit cannot; check for NaNs before calling "
                                  f"{name} (JAX does not implement it either)")


def _rows(x, axis):
    """x with `axis` moved last and the other axes flattened: [m, n], and the shape of
    the others."""
    x = fnp.moveaxis(x, axis, -1)
    rest = x.shape[:-1]
    return fnp.reshape(x, (math.prod(rest), x.shape[-1])), rest


def _runs(s):
    """For each row of sorted `s` [m, n]: (new, start, end) where new marks the first
    element of each run of equal values (NaNs count as equal) and start/end are the
    positions of the first/last element of the run each element is in."""
    m, n = s.shape
    same = s[:, 1:] == s[:, :-1]
    if fnp.issubdtype(s.dtype, fnp.inexact):
        same = same | (fnp.isnan(s[:, 1:]) & fnp.isnan(s[:, :-1]))
    edge = fnp.ones((m, 1), bool)
    new = fnp.concatenate([edge, ~same], axis=1)
    last = fnp.concatenate([~same, edge], axis=1)
    pos = fnp.broadcast_to(fnp.arange(n), (m, n))
    start = lax.cummax(fnp.where(new, pos, 0), axis=1)
    end = lax.cummin(fnp.where(last, pos, n - 1), axis=1, reverse=True)
    return new, start, end


_METHODS = ("average", "min", "max", "dense", "ordinal")


def rankdata(a, method="average", *, axis=None, nan_policy="propagate"):
    """Ranks (from 1) of the values of `a`, flattened (`axis=None`) or along `axis`, as
    the default float dtype; ties get the `method`'s rank: "average" (mean of the tied
    positions), "min", "max", "dense" (1, 2, ... over the distinct values) or "ordinal"
    (order of appearance). A slice holding a NaN ranks all NaN (nan_policy
    "propagate", the only one JAX implements; "omit" and "raise" raise
    NotImplementedError)."""
    _check_nan_policy("rankdata", nan_policy)
    if method not in _METHODS:
        raise ValueError(f"unknown method '{method}'")
    x = fnp.asarray(a)
    if axis is None:
        x = fnp.ravel(x)
        axis = 0
    axis = _axis(axis, x.ndim, "rankdata")
    rows, rest = _rows(x, axis)
    out = _dtypes.DEFAULT_FLOAT_()
    order = fnp.argsort(rows, axis=1, stable=True)
    inv = fnp.argsort(order, axis=1, stable=True)
    if method == "ordinal":
        ranks = (inv + 1).astype(out)
    else:
        s = fnp.take_along_axis(rows, order, axis=1)
        new, start, end = _runs(s)
        if method == "dense":
            in_sorted = fnp.cumsum(new, axis=1).astype(out)
        elif method == "min":
            in_sorted = (start + 1).astype(out)
        elif method == "max":
            in_sorted = (end + 1).astype(out)
        else:
            in_sorted = 0.5 * ((end + 1).astype(out) + start.astype(out) + 1)
        ranks = fnp.take_along_axis(in_sorted, inv, axis=1)
    if fnp.issubdtype(rows.dtype, fnp.inexact):
        has_nan = fnp.any(fnp.isnan(rows), axis=1, keepdims=True)
        ranks = fnp.where(has_nan, fnp.asarray(np.nan, out), ranks)
    ranks = fnp.reshape(ranks, rest + (x.shape[axis],))
    return fnp.moveaxis(ranks, -1, axis)


class ModeResult(NamedTuple):
    """What `mode` returns: the most common value and how often it occurs."""
    mode: object
    count: object


def mode(a, axis=0, nan_policy="propagate", keepdims=False):
    """The most common value along `axis` (None: of all elements) and its count, as a
    `ModeResult(mode, count)`; among equally common values the smallest, NaNs counting
    as one value (sorted last). With `keepdims` the reduced axis stays with length 1.
    The count is an integer array of the default int dtype; a slice of length 0 gives
    mode NaN and count 0 in the default float dtype (JAX's). Only nan_policy
    "propagate" is implemented, as in JAX."""
    _check_nan_policy("mode", nan_policy)
    x = fnp.atleast_1d(fnp.asarray(a))
    if axis is None:
        out_shape = (1,) * x.ndim if keepdims else ()
        x = fnp.ravel(x)
        axis = 0
    else:
        axis = _axis(axis, x.ndim, "mode")
        out_shape = tuple(1 if i == axis else d for i, d in enumerate(x.shape)
                          if keepdims or i != axis)
    rows, _ = _rows(x, axis)
    m, n = rows.shape
    if n == 0:
        nan = fnp.full(out_shape, np.nan, _dtypes.DEFAULT_FLOAT_())
        return ModeResult(nan, fnp.zeros(out_shape, _dtypes.DEFAULT_FLOAT_()))
    s = fnp.sort(rows, axis=1)
    _, start, _ = _runs(s)
    run_so_far = fnp.arange(n) - start + 1
    where = fnp.argmax(run_so_far, axis=1)
    values = fnp.take_along_axis(s, where[:, None], axis=1)[:, 0]
    counts = fnp.max(run_so_far, axis=1).astype(_dtypes.DEFAULT_INT_())
    return ModeResult(fnp.reshape(values, out_shape), fnp.reshape(counts, out_shape))
