"""XLA-style `gather` and `scatter` for `funcgrad.lax`: slices and windows located by
index vectors and laid out by dimension numbers (`GatherDimensionNumbers`,
`ScatterDimensionNumbers`), with JAX's out-of-bounds modes (`GatherScatterMode`).

Both compute, for every element of the result (gather) or of the updates (scatter), its
full operand coordinate, then index the operand with those coordinates through funcgrad's
point gather/scatter primitives, so they differentiate, batch and compile like any
indexing.
"""
from __future__ import annotations

import enum as _enum
from typing import NamedTuple as _NamedTuple

import numpy as _np

from . import dtypes as _dtypes
from .core import Array as _Array
from .core import to_array as _to_array
from .prims import elementwise as _ew
from .prims import indexing as _ix
from .prims import structural as _st

__all__ = ["GatherDimensionNumbers", "GatherScatterMode", "ScatterDimensionNumbers", "gather",
           "scatter", "scatter_add", "scatter_apply", "scatter_max", "scatter_min",
           "scatter_mul", "scatter_sub"]


def _arr(x):
    return x if isinstance(x, _Array) else _to_array(x)


class GatherScatterMode(_enum.Enum):
    """Out-of-bounds handling of `gather`/`scatter`: CLIP clamps start indices so the
    whole window is in bounds; FILL_OR_DROP returns `fill_value` for out-of-bounds gathers
    and drops out-of-bounds scatter updates; PROMISE_IN_BOUNDS promises in-bounds indices
    (they are clamped here)."""
    CLIP = 1
    FILL_OR_DROP = 2
    PROMISE_IN_BOUNDS = 3
    ONE_HOT = 4

    @staticmethod
    def from_any(s) -> GatherScatterMode:
        if isinstance(s, GatherScatterMode):
            return s
        if s == "clip":
            return GatherScatterMode.CLIP
        if s is None or s in ("fill", "drop"):
            return GatherScatterMode.FILL_OR_DROP
        if s == "promise_in_bounds":
            return GatherScatterMode.PROMISE_IN_BOUNDS
        if s == "one_hot":
            return GatherScatterMode.ONE_HOT
        raise ValueError(f"unknown gather/scatter mode {s!r}; use 'clip', 'fill'/'drop' or "
                         "'promise_in_bounds'")


class GatherDimensionNumbers(_NamedTuple):
    """XLA's gather dimension numbers (see `gather`)."""
    offset_dims: tuple
    collapsed_slice_dims: tuple
    start_index_map: tuple
    operand_batching_dims: tuple = ()
    start_indices_batching_dims: tuple = ()


class ScatterDimensionNumbers(_NamedTuple):
    """XLA's scatter dimension numbers (see `scatter`)."""
    update_window_dims: tuple
    inserted_window_dims: tuple
    scatter_dims_to_operand_dims: tuple
    operand_batching_dims: tuple = ()
    scatter_indices_batching_dims: tuple = ()



def _expand_to(x, positions, rank):
    """`x` (whose axes become `positions` of a rank-`rank` result) with size-1 axes
    elsewhere, ready to broadcast."""
    x = _arr(x)
    shape = [1] * rank
    for p, n in zip(positions, x.shape):
        shape[p] = n
    order = sorted(range(len(positions)), key=lambda i: positions[i])
    if order != list(range(len(positions))):
        x = _st.transpose(x, tuple(order))
    return _st.reshape(x, tuple(shape))


def _window_coords(operand_shape, idx, index_map, operand_batching, indices_batching,
                   window_dims, window_positions, window_sizes, out_shape, batch_positions,
                   mode, what):
    """Per operand axis, the coordinate arrays (broadcastable to `out_shape`) of every
    element, and the in-bounds mask (FILL_OR_DROP) or None."""
    out_shape = tuple(out_shape)
    rank = len(out_shape)
    it = _dtypes.int32
    idx = _ew.convert_element_type(idx, it) if idx.dtype != it else idx
    coords, valid = [], None
    for d, n in enumerate(operand_shape):
        w = window_sizes[d]
        start = None
        if d in index_map:
            k = index_map.index(d)
            comp = _ix.slice_in_dim(idx, k, k + 1, 1, idx.ndim - 1)
            comp = _st.squeeze(comp, (idx.ndim - 1,))
            start = _st.broadcast_to(_expand_to(comp, batch_positions, rank), out_shape)
        elif d in operand_batching:
            j = indices_batching[operand_batching.index(d)]
            start = _st.broadcast_to(
                _expand_to(_st.iota(it, idx.shape[j], 0), [batch_positions[j]], rank),
                out_shape)
        if start is not None:
            hi = _ew.convert_element_type(n - w, it)
            zero = _ew.convert_element_type(0, it)
            if mode == GatherScatterMode.FILL_OR_DROP:
                ok = _ew.and_(_ew.ge(start, zero), _ew.le(start, hi))
                valid = ok if valid is None else _ew.and_(valid, ok)
            start = _ew.max(_ew.min(start, hi), zero)
        if d in window_dims:
            pos = window_positions[window_dims.index(d)]
            off = _st.broadcast_to(_expand_to(_st.iota(it, w, 0), [pos], rank), out_shape)
            start = off if start is None else _ew.add(start, off)
        if start is None:
            start = _st.full(out_shape, 0, it)
        coords.append(start)
    return coords, valid


def _fill_value(dt, fill_value):
    if fill_value is not None:
        return fill_value
    dt = _np.dtype(dt)
    if _np.issubdtype(dt, _np.inexact):
        return _np.nan
    if dt == _np.bool_:
        return True
    return _np.iinfo(dt).min if _np.issubdtype(dt, _np.signedinteger) else _np.iinfo(dt).max


def gather(operand, start_indices, dimension_numbers, slice_sizes=None, *,
           unique_indices=False, indices_are_sorted=False, mode=None, fill_value=None):
    """XLA's gather (JAX's `lax.gather`): slices of `slice_sizes` starting at the index
    vectors in the last axis of `start_indices`, laid out by `dimension_numbers`
    (`GatherDimensionNumbers`). `mode`: None/"promise_in_bounds" and "clip" clamp the
    starts into bounds; "fill" returns `fill_value` (NaN, or the integer minimum) for
    out-of-bounds slices.

    A tuple of axes as `dimension_numbers` without `slice_sizes` is funcgrad's older
    point-gather form `gather(x, indices, axes)` (deprecated)."""
    if slice_sizes is None and not isinstance(dimension_numbers, GatherDimensionNumbers):
        return _ix.gather(operand, start_indices, dimension_numbers)
    from . import numpy as fnp
    operand, idx = _arr(operand), _arr(start_indices)
    dn = GatherDimensionNumbers(*[tuple(int(a) for a in f) for f in dimension_numbers])
    mode = GatherScatterMode.PROMISE_IN_BOUNDS if mode is None else \
        GatherScatterMode.from_any(mode)
    slice_sizes = tuple(int(s) for s in slice_sizes)
    if idx.ndim == 0 or idx.shape[-1] != len(dn.start_index_map) or \
            len(slice_sizes) != operand.ndim:
        raise ValueError(f"gather: start_indices {idx.shape} must end in an axis of size "
                         f"len(start_index_map) = {len(dn.start_index_map)}, and slice_sizes "
                         f"{slice_sizes} must have one entry per operand axis "
                         f"({operand.shape})")
    for d in dn.collapsed_slice_dims + dn.operand_batching_dims:
        if slice_sizes[d] != 1:
            raise ValueError(f"gather: collapsed/batching axis {d} needs slice size 1, got "
                             f"{slice_sizes[d]}")
    batch_shape = idx.shape[:-1]
    window_dims = [d for d in range(operand.ndim)
                   if d not in dn.collapsed_slice_dims and d not in dn.operand_batching_dims]
    if len(window_dims) != len(dn.offset_dims):
        raise ValueError(f"gather: offset_dims {dn.offset_dims} must name one output axis per "
                         f"operand axis kept in the slice ({window_dims})")
    rank = len(batch_shape) + len(dn.offset_dims)
    batch_positions = [i for i in range(rank) if i not in dn.offset_dims]
    out_shape = [0] * rank
    for p, n in zip(batch_positions, batch_shape):
        out_shape[p] = n
    for p, d in zip(dn.offset_dims, window_dims):
        out_shape[p] = slice_sizes[d]
    coords, valid = _window_coords(operand.shape, idx, dn.start_index_map,
                                   dn.operand_batching_dims, dn.start_indices_batching_dims,
                                   window_dims, dn.offset_dims, slice_sizes, out_shape,
                                   batch_positions, mode, "gather")
    out = fnp.asarray(operand)[tuple(coords)] if operand.ndim else \
        _st.broadcast_to(operand, tuple(out_shape))
    if valid is not None:
        fill = _st.full((), _fill_value(operand.dtype, fill_value), operand.dtype)
        out = _ew.select(valid, out,
                         _st.broadcast_to(fill, tuple(out_shape)))
    return out


_SCATTER_KINDS = ("set", "add", "mul", "min", "max")


def _scatter(kind, operand, scatter_indices, updates, dimension_numbers, mode, what):
    from . import numpy as fnp
    operand, idx, upd = _arr(operand), _arr(scatter_indices), _arr(updates)
    if upd.dtype != operand.dtype:
        upd = _ew.convert_element_type(upd, operand.dtype)
    dn = ScatterDimensionNumbers(*[tuple(int(a) for a in f) for f in dimension_numbers])
    mode = GatherScatterMode.FILL_OR_DROP if mode is None else \
        GatherScatterMode.from_any(mode)
    if idx.ndim == 0 or idx.shape[-1] != len(dn.scatter_dims_to_operand_dims):
        raise ValueError(f"{what}: scatter_indices {idx.shape} must end in an axis of size "
                         f"len(scatter_dims_to_operand_dims) = "
                         f"{len(dn.scatter_dims_to_operand_dims)}")
    window_dims = [d for d in range(operand.ndim) if d not in dn.inserted_window_dims and
                   d not in dn.operand_batching_dims]
    if len(window_dims) != len(dn.update_window_dims):
        raise ValueError(f"{what}: update_window_dims {dn.update_window_dims} must name one "
                         f"updates axis per operand window axis ({window_dims})")
    batch_positions = [i for i in range(upd.ndim) if i not in dn.update_window_dims]
    if tuple(upd.shape[p] for p in batch_positions) != idx.shape[:-1]:
        raise ValueError(f"{what}: updates {upd.shape} must have the scatter_indices batch "
                         f"shape {idx.shape[:-1]} on its non-window axes")
    sizes = [1] * operand.ndim
    for d, p in zip(window_dims, dn.update_window_dims):
        sizes[d] = upd.shape[p]
        if sizes[d] > operand.shape[d]:
            raise ValueError(f"{what}: update window {upd.shape} is larger than the operand "
                             f"{operand.shape} along axis {d}")
    coords, valid = _window_coords(operand.shape, idx, dn.scatter_dims_to_operand_dims,
                                   dn.operand_batching_dims, dn.scatter_indices_batching_dims,
                                   window_dims, dn.update_window_dims, sizes, upd.shape,
                                   batch_positions, mode, what)
    # Linear positions into the flattened operand; dropped updates go to one extra slot.
    n = operand.size
    lin = _st.full(upd.shape, 0, _dtypes.int32)
    stride = 1
    for d in reversed(range(operand.ndim)):
        lin = _ew.add(lin, _ew.mul(coords[d], _ew.convert_element_type(stride, _dtypes.int32)))
        stride *= operand.shape[d]
    if valid is not None:
        lin = _ew.select(valid, lin,
                         _st.full(upd.shape, n, _dtypes.int32))
    flat = _ix.concatenate([_st.reshape(operand, (n,)), _st.full((1,), 0, operand.dtype)], 0)
    at = fnp.asarray(flat).at[lin]
    flat = getattr(at, kind)(upd)
    return _st.reshape(_ix.slice_in_dim(flat, 0, n, 1, 0), operand.shape)


def scatter(operand, scatter_indices, updates, dimension_numbers, *legacy_mode,
            indices_are_sorted=False, unique_indices=False, mode=None):
    """XLA's scatter (JAX's `lax.scatter`): write `updates` windows at the index vectors in
    the last axis of `scatter_indices`, laid out by `dimension_numbers`
    (`ScatterDimensionNumbers`). Among duplicate indices one update wins. `mode`:
    None/"fill"/"drop" drops out-of-bounds windows, "clip" clamps them into bounds.

    A tuple of axes as `dimension_numbers` is funcgrad's older point-scatter form
    `scatter(x, indices, updates, axes, mode="add")` (deprecated)."""
    if not isinstance(dimension_numbers, ScatterDimensionNumbers):
        kind = legacy_mode[0] if legacy_mode else "add"
        return _ix.scatter(operand, scatter_indices, updates, dimension_numbers, kind)
    return _scatter("set", operand, scatter_indices, updates, dimension_numbers, mode,
                    "scatter")


def scatter_add(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Like `scatter`, adding the updates (duplicates accumulate)."""
    if not isinstance(dimension_numbers, ScatterDimensionNumbers):
        return _ix.scatter(operand, scatter_indices, updates, dimension_numbers, "add")
    return _scatter("add", operand, scatter_indices, updates, dimension_numbers, mode,
                    "scatter_add")


def scatter_sub(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Like `scatter`, subtracting the updates."""
    return _scatter("add", operand, scatter_indices, _ew.neg(_arr(updates)),
                    dimension_numbers, mode, "scatter_sub")


def scatter_mul(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Like `scatter`, multiplying by the updates."""
    return _scatter("mul", operand, scatter_indices, updates, dimension_numbers, mode,
                    "scatter_mul")


def scatter_min(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Like `scatter`, keeping the minimum of the operand and the updates."""
    return _scatter("min", operand, scatter_indices, updates, dimension_numbers, mode,
                    "scatter_min")


def scatter_max(operand, scatter_indices, updates, dimension_numbers, *,
                indices_are_sorted=False, unique_indices=False, mode=None):
    """Like `scatter`, keeping the maximum of the operand and the updates."""
    return _scatter("max", operand, scatter_indices, updates, dimension_numbers, mode,
                    "scatter_max")


def scatter_apply(operand, scatter_indices, func, dimension_numbers, *, update_shape=(),
                  indices_are_sorted=False, unique_indices=False, mode=None):
    """`operand` with `func` applied to the elements the scatter windows (of
    `update_shape`) cover. Deviation from JAX: an element covered by several windows gets
    `func` once (JAX applies it once per window)."""
    operand = _arr(operand)
    touched = _scatter("max", _st.full(operand.shape, False, _dtypes.bool_), scatter_indices,
                       _st.full(tuple(update_shape), True, _dtypes.bool_), dimension_numbers,
                       mode, "scatter_apply")
    return _ew.select(touched, _arr(func(operand)), operand)
