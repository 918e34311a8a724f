"""funcgrad.numpy's indexing: `x[idx]` (`_getitem`) and `x.at[idx]` updates
(`_IndexUpdateRef`), `where`, `select`, `take`, `take_along_axis`, `nonzero`,
`flatnonzero`, `argwhere`, `unravel_index`, `ravel_multi_index` and the index names
`newaxis`, `s_`, `index_exp`."""

from __future__ import annotations

import builtins
import warnings

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from ..core import Array, Tracer
from ..prims import elementwise as _ew
from ..prims import indexing as _ix
from ..prims import structural as _st

__all__ = [
    "argwhere", "flatnonzero", "index_exp", "newaxis", "nonzero", "ravel_multi_index", "s_",
    "select", "take", "take_along_axis", "unravel_index", "where",
]


newaxis = None

s_, index_exp = _np.s_, _np.index_exp


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """`where(c, x, y)` selects elementwise; `where(c)` is `nonzero(c, size=size,
    fill_value=fill_value)` (concrete `c`, or a static `size` under jit)."""
    if x is None and y is None:
        return nonzero(condition, size=size, fill_value=fill_value)
    if size is not None or fill_value is not None:
        raise ValueError("where: size and fill_value apply only to the one-argument form "
                         "where(condition)")
    if x is None or y is None:
        raise ValueError("where: give both x and y, or neither")
    c = _arr(condition)
    if c.dtype != _dt.bool_:
        c = _ew.ne(c, _st.full((), 0, c.dtype))
    a, b = _promote("where", x, y)
    shape = _np.broadcast_shapes(c.shape, a.shape, b.shape)
    c, a, b = [v if v.shape == shape else _st.broadcast_to(v, shape) for v in (c, a, b)]
    return _ew.select(c, a, b)


# `where` under another name, for functions whose `where=` parameter hides it.
_select3 = where


def select(condlist, choicelist, default=0):
    out = _arr(default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return out


def _is_int_index(x):
    return isinstance(x, (int, _np.integer)) and not isinstance(x, (bool, _np.bool_))


class _BoolAxis:
    """A scalar boolean index (NumPy's and JAX's meaning): a new axis of length 1 (True)
    or 0 (False), indexed as an advanced index of shape (1,) or (0,) (so it broadcasts with
    the other advanced indices)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = bool(value)


def _normalize_index(idx, ndim):
    if not isinstance(idx, tuple):
        idx = (idx,)
    out = []
    for e in idx:
        if isinstance(e, (bool, _np.bool_)) or (
                isinstance(e, (_np.ndarray, Array)) and not isinstance(e, Tracer)
                and e.ndim == 0 and e.dtype == _np.bool_):
            out.append(_BoolAxis(_np.asarray(e).item()))
            continue
        if isinstance(e, (list,)) or (isinstance(e, _np.ndarray)):
            e = _np.asarray(e)
            if e.dtype == _np.bool_:
                out.extend(asarray(i.astype(_np.int32)) for i in _np.nonzero(e))
                continue
            if e.dtype.kind not in "iu":
                if e.size == 0:
                    e = e.astype(_np.int32)
                else:
                    raise IndexError(f"arrays used as indices must be of integer (or boolean) "
                                     f"type, got {e.dtype}")
            out.append(asarray(e))
        elif isinstance(e, Array) and e.dtype == _dt.bool_:
            # a mask of grad's or jvp's tracers has a concrete value (JAX indexes with it)
            mask = e._trace.to_concrete(e) if isinstance(e, Tracer) else _np.asarray(e)
            if mask is None:
                raise _core.NonConcreteBooleanIndexError(
                    "boolean mask indexing needs a concrete mask, but it is traced (inside "
                    "jit/vmap): its result shape would depend on the values. Use "
                    "fnp.where(mask, x, 0) or x * mask instead, or jnp.nonzero(mask, size=).")
            out.extend(asarray(i.astype(_np.int32)) for i in _np.nonzero(_np.asarray(mask)))
        else:
            out.append(e)
    n_ell = builtins.sum(1 for e in out if e is Ellipsis)
    if n_ell > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    used = builtins.sum(1 for e in out if e is not None and e is not Ellipsis
                        and not isinstance(e, _BoolAxis))
    if used > ndim:
        raise IndexError(f"too many indices for array: array is {ndim}-dimensional, but "
                         f"{used} were indexed")
    if n_ell:
        i = next(k for k, e in enumerate(out) if e is Ellipsis)
        out = out[:i] + [slice(None)] * (ndim - used) + out[i + 1:]
    else:
        out = out + [slice(None)] * (ndim - used)
    return out


def _getitem(x, idx, valid_out=None):
    """NumPy indexing. When `valid_out` is a list, a boolean mask of the result's shape
    (False where an integer-array index was out of bounds) is appended to it, or None when
    every index is in bounds by construction."""
    entries = _normalize_index(idx, x.ndim)
    has_adv = builtins.any(isinstance(e, Array) and e.ndim > 0 or isinstance(e, _BoolAxis)
                           for e in entries)
    out = x
    dim = 0
    adv = []
    for k, e in enumerate(entries):
        if e is None:
            out = _st.expand_dims(out, (dim,))
            dim += 1
        elif isinstance(e, _BoolAxis):
            out = _st.expand_dims(out, (dim,))
            adv.append((dim, asarray(_np.zeros(int(e.value), _np.int32))))
            dim += 1
        elif isinstance(e, slice):
            n = out.shape[dim]
            start, stop, step = e.start, e.stop, e.step
            if builtins.any(isinstance(v, Tracer) for v in (start, stop, step)):
                raise IndexError("slice bounds must be static (Python ints); for a traced "
                                 "start use lax.dynamic_slice")
            start, stop, step = slice(*(None if v is None else _st.static_int(
                v, "indexing", "slice bound") for v in
                                        (start, stop, step))).indices(n)
            if step > 0:
                out = _ix.slice_in_dim(out, start, builtins.max(start, stop), step, dim)
            else:
                length = len(range(start, stop, step))
                if length == 0:
                    out = _ix.slice_in_dim(out, 0, 0, 1, dim)
                else:
                    last = start + (length - 1) * step
                    sub = _ix.slice_in_dim(out, last, start + 1, -step, dim)
                    out = _st.rev(sub, (dim,))
            dim += 1
        elif _is_int_index(e) and not has_adv:
            n = out.shape[dim]
            i = int(e)
            if not -n <= i < n:
                # (the axis of x it indexes, as NumPy names it: earlier integers have
                # dropped their axes from `out`)
                axis = builtins.sum(1 for f in entries[:k]
                                    if f is not None and not isinstance(f, _BoolAxis))
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
            i %= n
            out = _st.squeeze(_ix.slice_in_dim(out, i, i + 1, 1, dim), (dim,))
        else:
            e = _arr(e)
            if not _dt.is_int(e.dtype):
                raise IndexError(f"indices must be integers, got {e.dtype}")
            if e.ndim == 0 and not has_adv and valid_out is None:
                n = out.shape[dim]
                i = _ix.from_end(e, n, "indexing")
                out = _ix.dynamic_index_in_dim(out, i, dim, keepdims=False)
            else:
                adv.append((dim, e))
                dim += 1
    if not adv:
        if valid_out is not None:
            valid_out.append(None)
        return out
    dims = [d for d, _ in adv]
    arrays = []
    for d, e in adv:
        n = out.shape[d]
        arrays.append(_ix.from_end(_ix.signed_index(e, n, "indexing"), n, "indexing"))
    arrays = broadcast_arrays(*_promote_dtypes_only(arrays))
    bshape = arrays[0].shape
    idx_arr = _ix.concatenate([expand_dims(a, -1) for a in arrays], len(bshape))
    res = _ix.gather(out, idx_arr, dims)
    valid = None
    if valid_out is not None:
        for (d, _), a in zip(adv, arrays):
            ok = _ew.and_(_ew.ge(a, _st.full((), 0, a.dtype)),
                          _ew.lt(a, _st.full((), out.shape[d], a.dtype)))
            valid = ok if valid is None else _ew.and_(valid, ok)
        valid = _st.broadcast_in_dim(valid, res.shape, tuple(range(len(bshape))))
    contiguous = dims == list(range(dims[0], dims[0] + len(dims)))
    if contiguous and dims[0] > 0:
        nb = len(bshape)
        k = dims[0]
        perm = list(range(nb, nb + k)) + list(range(nb)) + list(range(nb + k, res.ndim))
        res = _st.transpose(res, perm)
        if valid is not None:
            valid = _st.transpose(valid, perm)
    if valid_out is not None:
        valid_out.append(valid)
    return res


_TAKE_MODES = (None, "fill", "clip", "wrap", "promise_in_bounds")


def _take_fill_value(dtype, fill_value):
    """JAX's fill for out-of-bounds gathers: NaN for floats, the most negative value for
    signed integers, the largest for unsigned ones, True for bools."""
    if fill_value is not None:
        return fill_value
    if _dt.is_inexact(dtype):
        return _np.nan
    if _dt.is_bool(dtype):
        return True
    info = _dt.iinfo(dtype)
    # a NumPy value of the dtype: uint32's largest is no Python int asarray would take
    return _np.asarray(info.max if _dt.is_unsigned(dtype) else info.min, dtype)


def _prepare_indices(idx, n, mode, wrap_negative, name):
    """(indices to gather with, in-bounds mask or None) for `mode` over an axis of size n."""
    if mode not in _TAKE_MODES:
        if mode == "raise":
            raise NotImplementedError(f"{name}: mode='raise' is not supported (out-of-bounds "
                                      "indices cannot raise inside compiled code); use "
                                      "'fill', 'clip' or 'wrap'")
        raise ValueError(f"{name}: mode must be one of 'fill', 'clip', 'wrap' or "
                         f"'promise_in_bounds', got {mode!r}")
    if not (_dt.is_int(idx.dtype)):
        raise TypeError(f"{name}: indices must be integers, got {idx.dtype}")
    if n == 0:
        return zeros_like(idx), (None if mode in ("clip", "wrap", "promise_in_bounds")
                                 else zeros_like(idx, _dt.bool_))
    idx = _ix.index_holding(idx, n, name)
    if mode == "wrap":
        return remainder(idx, n), None
    if wrap_negative:
        idx = _ix.from_end(idx, n, name)
    if mode in ("clip", "promise_in_bounds"):
        return clip(idx, 0, n - 1), None
    valid = logical_and(greater_equal(idx, 0), less(idx, n))
    return where(valid, idx, zeros_like(idx)), valid


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False,
         indices_are_sorted=False, fill_value=None):
    """Elements of `a` (flattened when `axis` is None) at `indices` along `axis`.
    Out-of-bounds indices follow `mode` as in JAX: "fill" (the default) gives
    `fill_value` (NaN for floats, the most negative integer, the largest unsigned, True),
    "clip" clamps (negative indices to 0), "wrap" wraps around; in "fill" mode negative
    indices count from the end."""
    _check_out("take", out)
    x = _arr(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, "take")
    idx = asarray(indices)
    if idx.dtype not in (_dt.int32, _dt.int64, _dt.uint32, _dt.uint64) and \
            _dt.is_int(idx.dtype):
        idx = astype(idx, _dt.int32)
    # JAX: negative indices count from the end in "fill" mode; "clip" clamps them to 0.
    idx, valid = _prepare_indices(idx, x.shape[axis], mode, mode in (None, "fill"), "take")
    if x.shape[axis] == 0:
        shape = x.shape[:axis] + idx.shape + x.shape[axis + 1:]
        return _weak_as(full(shape, _take_fill_value(x.dtype, fill_value), x.dtype), x)
    res = _getitem(x, (slice(None),) * axis + (idx,))
    if valid is None:
        return res
    valid = reshape(valid, (1,) * axis + valid.shape + (1,) * (x.ndim - axis - 1))
    return _filled(valid, res, x, fill_value)


def _weak_as(out, x):
    """`out` weakly typed as `x` is: a gather's result has its operand's flag in JAX,
    whatever the fill value's."""
    return out if out.weak_type == x.weak_type else _ew.with_weak_type(out, x.weak_type)


def _filled(valid, res, x, fill_value):
    """`res` with the fill value where not `valid` (mode='fill'), `x`'s weak flag kept."""
    fill = asarray(_take_fill_value(x.dtype, fill_value)).astype(x.dtype)
    return _weak_as(where(valid, res, fill), x)


def take_along_axis(arr, indices, axis=-1, mode=None, fill_value=None, *,
                    wrap_negative_indices=None):
    """`arr`'s elements at `indices` along `axis` (indices broadcast against `arr` on the
    other axes; both flattened when `axis` is None). Out-of-bounds indices follow `mode`
    as in `take`; negative ones count from the end unless `wrap_negative_indices=False`."""
    x, idx = _arr(arr), _arr(indices)
    if axis is None:
        x, idx, axis = ravel(x), ravel(idx), 0
    axis = _axis(axis, x.ndim, "take_along_axis")
    if idx.ndim != x.ndim:
        raise ValueError(f"take_along_axis: indices {idx.shape} and array {x.shape} must "
                         "have the same number of dimensions")
    shape = _np.broadcast_shapes(tuple(s if i != axis else 1 for i, s in enumerate(x.shape)),
                                 tuple(s if i != axis else 1 for i, s in enumerate(idx.shape)))
    bshape = list(shape)
    bshape[axis] = idx.shape[axis]
    idx = broadcast_to(idx, tuple(bshape))
    wrap = True if wrap_negative_indices is None else bool(wrap_negative_indices)
    idx, valid = _prepare_indices(idx, x.shape[axis], mode, wrap, "take_along_axis")
    if x.shape[axis] == 0:
        return _weak_as(full(idx.shape, _take_fill_value(x.dtype, fill_value), x.dtype), x)
    tshape = list(shape)
    tshape[axis] = x.shape[axis]
    x = broadcast_to(x, tuple(tshape))
    # (the other axes' positions are iotas in the indices' type, which must hold them:
    # uint8 indices into (2, 300) read column 300 - 256 for columns 256-299; fuzz seed
    # 20261966)
    idx = _ix.index_holding(idx, builtins.max(tshape), "take_along_axis")
    comps = []
    for d in range(x.ndim):
        comps.append(idx if d == axis else _st.iota(idx.dtype, idx.shape, d))
    full_idx = _ix.concatenate([expand_dims(c, -1) for c in comps], idx.ndim)
    res = _ix.gather(x, full_idx, tuple(range(x.ndim)))
    if valid is None:
        return res
    return _filled(valid, res, x, fill_value)


def nonzero(a, size=None, fill_value=None):
    """The indices of the nonzero elements of `a`, one array per dimension, in the default
    integer type (int64 under x64, as JAX). With `size` (static; needed under jit) exactly
    `size` of them: the first ones, then `fill_value` (one value, or one per dimension;
    else the last element's coordinates in the padding, 0 each)."""
    x = _arr(a)
    if isinstance(x, Tracer) and size is None:
        raise _core.ConcretizationTypeError(
            "nonzero/where(cond) needs concrete values (its output shape depends on them); "
            "inside jit pass size=... or use where(cond, x, y)")
    it = _dt.DEFAULT_INT_()
    if size is None:
        return tuple(asarray(i.astype(it)) for i in _np.nonzero(_np.asarray(x)))
    if size == 0:
        return tuple(zeros((0,), it) for _ in range(builtins.max(x.ndim, 1)))
    flat = ravel(x != 0)
    n = flat.shape[0]
    counts = flat.astype(it)
    pos = cumsum(counts) - 1
    target = where(flat, pos, full_like(pos, size))
    ids = zeros((size,), it).at[target].set(arange(n, dtype=it))
    coords = unravel_index(ids, x.shape)
    if fill_value is None:
        return tuple(coords)
    # JAX's fill: one value (or one per dimension) in place of each missing coordinate.
    fills = tuple(fill_value) if isinstance(fill_value, (tuple, list)) else \
        (fill_value,) * len(coords)
    if len(fills) != len(coords):
        raise ValueError(f"nonzero: fill_value must be a scalar or a tuple of length "
                         f"{len(coords)} (the rank of the input), got {fill_value}")
    valid = _ew.lt(arange(size, dtype=it), sum(counts, dtype=it))
    return tuple(where(valid, c, asarray(f).astype(c.dtype)) for c, f in zip(coords, fills))


def flatnonzero(a, *, size=None, fill_value=None):
    """Indices of the nonzero elements of the flattened `a` (`size`/`fill_value` as in
    `nonzero`)."""
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    """The coordinates of the nonzero elements, one row each (`size`/`fill_value` as in
    `nonzero`)."""
    x = _arr(a)
    if x.ndim == 0:
        x = reshape(x, (1,))
        return stack(nonzero(x, size=size, fill_value=fill_value), axis=-1)[:, :0]
    return stack(nonzero(x, size=size, fill_value=fill_value), axis=-1)


def unravel_index(indices, shape):
    """The coordinates of flat `indices` in an array of `shape` (JAX's: a negative index
    in [-size, 0) counts from the end, and an index out of range is clipped to the first or
    last element; NumPy raises)."""
    idx = _arr(indices)
    try:
        shape = list(shape)
    except TypeError:
        shape = [shape]
    out = []
    for s in reversed(shape):
        out.append(remainder(idx, s))
        idx = floor_divide(idx, s)
    out = out[::-1]
    oob_pos = greater(idx, 0)
    oob_neg = less(idx, -1) if not _dt.is_unsigned(idx.dtype) else None
    res = []
    for s, i in zip(shape, out):
        if oob_neg is not None:
            i = where(oob_neg, zeros_like(i), i)
        res.append(where(oob_pos, full_like(i, s - 1), i))
    return tuple(res)


def ravel_multi_index(multi_index, dims, mode="raise", order="C", *, dtype=None):
    """The flat index of each coordinate tuple in an array of shape `dims` (row-major, or
    column-major for order="F"). Out-of-range coordinates: "raise" (concrete coordinates
    only, as JAX), "wrap", "clip", or "ignore" (no check)."""
    if len(multi_index) != len(dims):
        raise ValueError(f"ravel_multi_index: {len(multi_index)} index arrays for "
                         f"{len(dims)} dimensions")
    dims = tuple(_st.static_int(d, "ravel_multi_index", "dimension") for d in dims)
    idx = [_arr(i) for i in multi_index]
    for i in idx:
        if not _dt.is_int(i.dtype):
            raise TypeError(f"ravel_multi_index: only integer indices are allowed, got "
                            f"{i.dtype}")
    # a weak Python int with the indices, as JAX's result_type(int, *multi_index): int32
    # indices give int32 under x64 too
    dt = result_type(int, *idx) if dtype is None else _dt.canonicalize(dtype)
    if not _dt.is_int(dt):
        raise ValueError(f"ravel_multi_index: dtype {dt} is not an integer type")
    if int(_np.prod(dims, dtype=_np.int64)) - 1 > _np.iinfo(dt).max:
        raise ValueError(f"ravel_multi_index: dtype {dt} cannot hold the flat indices of "
                         f"shape {dims}; pass a wider dtype=")
    if mode == "raise":
        if builtins.any(isinstance(i, Tracer) for i in idx):
            raise _core.ConcretizationTypeError(
                "ravel_multi_index: mode='raise' needs concrete indices (it checks them); "
                "under jit use mode='wrap' or mode='clip'")
        for i, d in zip(idx, dims):
            v = _np.asarray(i)
            if _np.any((v < 0) | (v >= d)):
                raise ValueError(f"ravel_multi_index: invalid entry in coordinates array "
                                 f"(an index outside [0, {d}))")
    elif mode == "clip":
        idx = [clip(i, 0, d - 1) for i, d in zip(idx, dims)]
    elif mode == "wrap":
        idx = [remainder(i, d) for i, d in zip(idx, dims)]
    elif mode != "ignore":
        raise ValueError(f"ravel_multi_index: mode must be 'raise', 'wrap', 'clip' or "
                         f"'ignore', got {mode!r}")
    if order == "C":
        strides = _np.cumprod((1,) + dims[1:][::-1])[::-1]
    elif order == "F":
        strides = _np.cumprod((1,) + dims[:-1])
    else:
        raise ValueError(f"ravel_multi_index: order must be 'C' or 'F', got {order!r}")
    out = zeros((), dt)
    for i, st in zip(idx, strides):
        out = add(out, multiply(astype(i, dt), int(st)))
    return out


def _flat_positions(x, what):
    """Every element's flat position in `x` (shape x.shape), in int32 where the positions
    and the past-the-end one (a dropped update's) fit it, else int64. An int32 iota of
    2^31 + 77 positions wrapped, and `x.at[2**31 + 6].set(3)` left x unchanged."""
    dt = _dt.index_dtype_for(x.size, what, x.shape)
    return _st.reshape(_st.iota(dt, x.size), x.shape)


class _IndexUpdateRef:
    """`x.at[idx]`: functional updates returning a new array (JAX's `.at`)."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def _scatter(self, values, mode, clip=False):
        x = self.array
        if x.size == 0:
            # Every update is out of bounds: dropped, as JAX's scatter does.
            return x
        x, v, dtype = _update_operands(x, values, mode)
        rows = self._rows(bool(clip))
        if rows is not None:
            v = broadcast_to(v, rows.shape[:-1] + x.shape[1:])
            return _back(_ix.scatter(x, rows, v, (0,), mode), dtype)
        valid = None if clip else []
        # with mode='clip' the gather of positions clamps each index into its axis (as a
        # read does), so an out-of-bounds update lands on the nearest element
        ids = _getitem(_flat_positions(x, "at[...]." + mode), self.index, valid)
        if valid is not None and valid[0] is not None:
            # Out-of-bounds updates are dropped (JAX's scatter mode), not clamped.
            ids = where(valid[0], ids, full_like(ids, x.size))
        v = broadcast_to(v, ids.shape)
        flat = _st.reshape(x, (x.size,))
        upd = _ix.scatter(flat, _st.reshape(ids, (ids.size, 1)), _st.reshape(v, (ids.size,)),
                          (0,), mode)
        return _back(_st.reshape(upd, x.shape), dtype)

    def _rows(self, clamp):
        """The index as rows of `x` (shape idx.shape + (1,)) when it is one integer array
        and `x` has more than one axis (`table.at[ids].add(g)`, an embedding's gradient),
        else None. Updating whole rows lets the scatter copy each row in a vectorised
        loop; the general path scatters element by element through flat positions, with
        a division per element (8192 rows of 256 into 10000: 5.5 ms against JAX's 2.2).
        Negative indices count from the end; others out of range are dropped, or clamped
        with mode='clip', as on the general path."""
        x, idx = self.array, self.index
        if x.ndim < 2 or not isinstance(idx, (Array, _np.ndarray)):
            return None
        i = _arr(idx)
        if not _dt.is_int(i.dtype) or i.dtype == _np.bool_:
            return None
        n = x.shape[0]
        i = _ix.from_end(i, n, "at[...]")
        if clamp:
            i = clip(i, 0, n - 1)
        return _st.reshape(i, i.shape + (1,))

    def _check_kwargs(self, method, kwargs):
        """JAX's keyword arguments of `.at[...]` methods: the index hints are accepted;
        `mode` may only name what funcgrad does (updates drop out-of-bounds indices, `get`
        clamps them, as JAX's defaults; updates clamp them too with mode='clip'); anything
        else is an error, never ignored. Returns (fill, fill_value, clip)."""
        kwargs = dict(kwargs)
        kwargs.pop("indices_are_sorted", None)
        kwargs.pop("unique_indices", None)
        from .._lax_scatter import GatherScatterMode as _Mode

        mode = kwargs.pop("mode", None)
        fill_value = kwargs.pop("fill_value", None) if method == "get" else None
        if method == "get":
            allowed, names = (_Mode.CLIP, _Mode.FILL_OR_DROP, _Mode.PROMISE_IN_BOUNDS), \
                "'clip', 'fill', 'promise_in_bounds'"
        else:
            allowed, names = (_Mode.CLIP, _Mode.FILL_OR_DROP, _Mode.PROMISE_IN_BOUNDS), \
                "'clip', 'drop', 'fill', 'promise_in_bounds'"
        if mode is not None and _Mode.from_any(mode) not in allowed:
            raise NotImplementedError(f".at[...].{method}: mode={mode!r} is not supported; "
                                      f"funcgrad supports {names} here")
        if kwargs:
            raise TypeError(f".at[...].{method}: unsupported keyword arguments "
                            f"{sorted(kwargs)}")
        fill = mode is not None and _Mode.from_any(mode) is _Mode.FILL_OR_DROP
        if not fill:
            fill_value = None       # (JAX ignores it under any other mode)
        clip = mode is not None and _Mode.from_any(mode) is _Mode.CLIP
        return fill, fill_value, clip

    def _moded(self, method, kwargs):
        """(the ref to update through, clip) for `method` with JAX's keyword arguments. With
        an explicit `mode` a static integer index out of range follows the mode, as in JAX
        (`.at[5].set(v, mode='drop')` drops, `mode='clip'` clamps); without one it raises
        IndexError as NumPy's indexing does (docs/porting-from-jax.md). So under a mode the
        static integers become 0-d index arrays, which take the mode's path."""
        _, _, clip = self._check_kwargs(method, kwargs)
        if kwargs.get("mode") is None:
            return self, clip
        index = self.index if isinstance(self.index, tuple) else (self.index,)
        if not builtins.any(_is_int_index(e) for e in index):
            return self, clip
        return _IndexUpdateRef(self.array, tuple(
            asarray(e, _dt.int32) if _is_int_index(e) else e for e in index)), clip

    def get(self, **kwargs):
        """JAX's `.at[idx].get()`: out-of-bounds integer indices are clamped, or with
        mode='fill' give `fill_value` (NaN for floats, the most negative integer, the
        largest unsigned one, True)."""
        fill, fill_value, _ = self._check_kwargs("get", kwargs)
        if not fill:
            return _getitem(self.array, self._moded("get", kwargs)[0].index)
        # a static int out of range gives the fill too (not an IndexError): as a 0-d array
        index = self.index if isinstance(self.index, tuple) else (self.index,)
        index = tuple(asarray(e, _dt.int32) if _is_int_index(e) else e for e in index)
        valid = []
        res = _getitem(self.array, index, valid_out=valid)
        if valid[0] is None:
            return res
        return _filled(valid[0], res, self.array, fill_value)

    def set(self, values, **kwargs):
        ref, clip = self._moded("set", kwargs)
        return ref._scatter(values, "set", clip)

    def add(self, values, **kwargs):
        ref, clip = self._moded("add", kwargs)
        return ref._scatter(values, "add", clip)

    def mul(self, values, **kwargs):
        ref, clip = self._moded("mul", kwargs)
        return ref._scatter(values, "mul", clip)

    multiply = mul

    def min(self, values, **kwargs):
        ref, clip = self._moded("min", kwargs)
        return ref._scatter(values, "min", clip)

    def max(self, values, **kwargs):
        ref, clip = self._moded("max", kwargs)
        return ref._scatter(values, "max", clip)

    def subtract(self, values, **kwargs):
        """`x[idx] -= values` (repeated indices subtract each of their values)."""
        ref, clip = self._moded("subtract", kwargs)
        if self.array.dtype == _dt.bool_:
            raise TypeError(".at[...].subtract: subtracting booleans is not supported (as "
                            "in NumPy and JAX); use .at[...].set with logical_xor")
        v = astype(_arr(values), self.array.dtype)
        return ref._scatter(negative(v), "add", clip)

    def divide(self, values, **kwargs):
        """`x[idx] /= values`, as JAX: x divided (true division: an integer array gives
        floats) by ones scattered-multiplied by `values`, so repeated indices divide by
        each of their values."""
        ref, clip = self._moded("divide", kwargs)
        scale = _IndexUpdateRef(ones_like(self.array), ref.index)._scatter(values, "mul", clip)
        return true_divide(self.array, scale)

    def power(self, values, **kwargs):
        """`x[idx] **= values`, as JAX: x to the power of ones scattered-multiplied by
        `values`, so a repeated index raises to the product of its exponents."""
        ref, clip = self._moded("power", kwargs)
        exps = _IndexUpdateRef(ones_like(self.array), ref.index)._scatter(values, "mul", clip)
        return power(self.array, exps)

    def apply(self, func, **kwargs):
        """`func` (a unary function of arrays) applied at `idx`, once per occurrence of an
        index (a repeated index applies it again to the updated value), as JAX's
        `.at[idx].apply(func)`; out-of-bounds indices are dropped (clamped with
        mode='clip')."""
        ref, clip = self._moded("apply", kwargs)
        x = self.array
        if x.size == 0:
            return x
        valid = None if clip else []
        ids = _getitem(_flat_positions(x, "at[...].apply"), ref.index, valid)
        if valid is not None and valid[0] is not None:
            ids = where(valid[0], ids, full_like(ids, x.size))
        from .. import lax as _lax
        last = x.size - 1

        def step(flat, i):
            j = minimum(i, last)
            old = flat[j]
            new = astype(_arr(func(old)), x.dtype)
            return flat.at[j].set(where(i <= last, new, old)), None

        flat, _ = _lax.scan(step, _st.reshape(x, (x.size,)), _st.reshape(ids, (ids.size,)))
        return _st.reshape(flat, x.shape)


class _AtHelper:
    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index):
        return _IndexUpdateRef(self.array, index)


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import _promote, _promote_dtypes_only, astype, result_type  # noqa: E402
from ._creation import (  # noqa: E402
    _arr, _axis, _check_out, arange, asarray, full, full_like, ones_like, zeros, zeros_like,
)
from ._elementwise import (  # noqa: E402
    add, clip, floor_divide, greater, greater_equal, less, logical_and, minimum, multiply,
    negative, power, remainder, true_divide,
)
from ._reductions import cumsum, sum  # noqa: E402
from ._shape import broadcast_arrays, broadcast_to, expand_dims, ravel, reshape, stack  # noqa: E402


def _update_operands(x, values, mode):
    """(x, values, x's dtype) for an `.at[...]` update, in the type the update is computed
    in: x's, or, when the values cannot be cast to it safely (floats into an integer
    array), both promoted, as JAX's scatter does, with JAX's FutureWarning; the result is
    cast back once (`_back`). Casting each update first gave another value wherever
    updates meet: int32 zeros .at[[1, 1]].add([0.6, 0.6]) is [0, 1, 0] in JAX, was
    [0, 0, 0]."""
    v = _arr(values)
    dtype = x.dtype
    if v.dtype == dtype:
        return x, v, dtype
    comp = result_type(x, v)
    if comp != dtype:
        warnings.warn(f"scatter inputs have incompatible types: cannot safely cast value "
                      f"from dtype={v.dtype} to dtype={dtype} (.at[...].{mode}); the "
                      f"update is computed in {comp} and cast back, as JAX does. In future "
                      "JAX releases this will result in an error.", FutureWarning,
                      stacklevel=4)
        return astype(x, comp), astype(v, comp) if v.dtype != comp else v, dtype
    return x, astype(v, dtype), dtype


def _back(out, dtype):
    return out if out.dtype == dtype else astype(out, dtype)
