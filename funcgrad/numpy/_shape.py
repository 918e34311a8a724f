"""funcgrad.numpy's shape manipulation: `reshape`, `ravel`, transposes and axis moves,
`expand_dims`/`squeeze`, `atleast_*d`, broadcasting, joining (`concatenate`, `stack`,
...), splitting, flips and rolls, `tile`, `repeat`, `pad` and `resize`."""

from __future__ import annotations

import builtins

import numpy as _np

from ..core import Array, TypeOrValueError
from ..prims import indexing as _ix
from ..prims import structural as _st

__all__ = [
    "array_split", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_arrays",
    "broadcast_shapes", "broadcast_to", "column_stack", "concatenate", "dsplit", "dstack",
    "expand_dims", "flip", "fliplr", "flipud", "hsplit", "hstack", "matrix_transpose",
    "moveaxis", "ndim", "pad", "permute_dims", "ravel", "repeat", "reshape", "resize", "roll",
    "rollaxis", "rot90", "row_stack", "shape", "size", "split", "squeeze", "stack", "swapaxes",
    "tile", "transpose", "vsplit", "vstack",
]


def broadcast_shapes(*shapes):
    return _np.broadcast_shapes(*shapes)


def broadcast_to(array, shape):
    """`array` broadcast to `shape` (NumPy's rules)."""
    return _st.broadcast_to(_arr(array), _shape_tuple(shape, "broadcast_to"))


def broadcast_arrays(*args):
    arrs = [_arr(a) for a in args]
    shape = _np.broadcast_shapes(*[a.shape for a in arrs])
    return [_st.broadcast_to(a, shape) for a in arrs]


def shape(a):
    return _arr(a).shape


def ndim(a):
    return _np.ndim(a) if not isinstance(a, Array) else a.ndim


def size(a, axis=None):
    x = _arr(a)
    return x.size if axis is None else x.shape[axis]


def reshape(a, shape=None, order="C", *, copy=None, newshape=None):
    """`a` with a new `shape` (one entry may be -1: inferred), its elements read and
    written in row-major order ('C') or column-major order ('F': the reversed shapes of
    the transposes, as NumPy and JAX). `newshape` is NumPy's old name for `shape`; `copy`
    is accepted (arrays are immutable)."""
    if order == "F":
        x = _arr(a)
        target = shape if shape is not None else newshape
        if target is None:
            raise TypeError("reshape: missing the new shape")
        target = _shape_tuple(target, "reshape", allow_unknown=True)
        return transpose(reshape(transpose(x), tuple(target)[::-1], copy=copy))
    if order != "C":
        raise NotImplementedError(f"reshape: order={order!r} is not supported (as in JAX); "
                                  "use 'C' or 'F'")
    x = _arr(a)
    if newshape is not None:
        if shape is not None:
            raise TypeError("reshape: give shape or newshape, not both")
        shape = newshape
    if shape is None:
        raise TypeError("reshape: missing the new shape")
    newshape = shape
    newshape = list(_shape_tuple(newshape, "reshape", allow_unknown=True))
    if newshape.count(-1) > 1:
        raise TypeOrValueError("reshape: can only specify one unknown dimension")  # JAX: Type
    if -1 in newshape:
        known = int(_np.prod([s for s in newshape if s != -1]))
        if known == 0 or x.size % known:
            raise ValueError(f"reshape: cannot reshape array of size {x.size} into shape "
                             f"{tuple(newshape)}")
        newshape[newshape.index(-1)] = x.size // known
    return _st.reshape(x, tuple(newshape))


def ravel(a, order="C"):
    """`a` flattened in row-major order ('C'; also 'A' and 'K', funcgrad arrays being
    row-major) or column-major order ('F')."""
    x = _arr(a)
    if order == "F":
        x = transpose(x)
    elif order not in ("C", "A", "K"):
        raise ValueError(f"ravel: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    return _st.reshape(x, (x.size,))


def transpose(a, axes=None):
    x = _arr(a)
    if axes is None:
        axes = tuple(range(x.ndim))[::-1]
    axes = _st._norm_axes(axes, x.ndim, "transpose")
    return _st.transpose(x, axes)


def permute_dims(a, axes):
    return transpose(a, axes)


def matrix_transpose(x):
    x = _arr(x)
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    x = _arr(a)
    perm = list(range(x.ndim))
    a1, a2 = _axis(axis1, x.ndim, "swapaxes"), _axis(axis2, x.ndim, "swapaxes")
    perm[a1], perm[a2] = perm[a2], perm[a1]
    return _st.transpose(x, perm)


def moveaxis(a, source, destination):
    x = _arr(a)
    src = [source] if isinstance(source, int) else list(source)
    dst = [destination] if isinstance(destination, int) else list(destination)
    if len(src) != len(dst):
        raise ValueError(f"moveaxis: source {source} and destination {destination} must have "
                         "the same number of elements")
    src = [_axis(s, x.ndim, "moveaxis") for s in src]
    dst = [_axis(d, x.ndim, "moveaxis") for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise TypeOrValueError(f"moveaxis: repeated axis in source {source} or destination "
                               f"{destination}")                   # JAX: TypeError
    order = [n for n in range(x.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return _st.transpose(x, order)


def rollaxis(a, axis, start=0):
    x = _arr(a)
    axis = _axis(axis, x.ndim, "rollaxis")
    if not -x.ndim <= start <= x.ndim:
        raise _np.exceptions.AxisError(f"rollaxis: start {start} is out of bounds for an "
                                       f"array of dimension {x.ndim}")
    if start < 0:
        start += x.ndim          # (NumPy's rule: -1 is before the last axis, not after it)
    if axis < start:
        start -= 1
    return moveaxis(x, axis, start)


def expand_dims(a, axis):
    return _st.expand_dims(_arr(a), axis)


def squeeze(a, axis=None):
    x = _arr(a)
    if axis is None:
        axis = tuple(i for i, s in enumerate(x.shape) if s == 1)
    elif isinstance(axis, int):
        axis = (axis,)
    return _st.squeeze(x, axis)


def atleast_1d(*arys):
    res = [x if x.ndim >= 1 else reshape(x, (1,)) for x in map(_arr, arys)]
    return res[0] if len(res) == 1 else res


def atleast_2d(*arys):
    res = []
    for x in map(_arr, arys):
        res.append(reshape(x, (1, 1)) if x.ndim == 0 else reshape(x, (1,) + x.shape)
                   if x.ndim == 1 else x)
    return res[0] if len(res) == 1 else res


def atleast_3d(*arys):
    res = []
    for x in map(_arr, arys):
        if x.ndim == 0:
            x = reshape(x, (1, 1, 1))
        elif x.ndim == 1:
            x = reshape(x, (1, x.shape[0], 1))
        elif x.ndim == 2:
            x = reshape(x, x.shape + (1,))
        res.append(x)
    return res[0] if len(res) == 1 else res


def concatenate(arrays, axis=0, dtype=None):
    arrs = [_arr(a) for a in arrays]
    if not arrs:
        raise ValueError("concatenate: need at least one array to concatenate")
    if axis is None:
        arrs = [ravel(a) for a in arrs]
        axis = 0
    if builtins.any(a.ndim == 0 for a in arrs):
        raise ValueError("concatenate: zero-dimensional arrays cannot be concatenated")
    arrs = _promote_dtypes_only(arrs, "concatenate")
    if dtype is not None:
        arrs = [astype(a, dtype) for a in arrs]
    nd = arrs[0].ndim
    for a in arrs:
        if a.ndim != nd:
            raise TypeOrValueError("concatenate: all the input arrays must have the same "
                                   "number of "
                             f"dimensions, got shapes {[b.shape for b in arrs]}")
    return _ix.concatenate(arrs, _axis(axis, nd, "concatenate"))


def stack(arrays, axis=0, out=None, dtype=None):
    """Arrays of one shape joined along a new `axis`, cast to `dtype` when given."""
    _check_out("stack", out)
    arrs = [_arr(a) for a in arrays]
    if not arrs:
        raise ValueError("stack: need at least one array to stack")
    shapes = {a.shape for a in arrs}
    if len(shapes) > 1:
        raise ValueError(f"stack: all input arrays must have the same shape, got "
                         f"{[a.shape for a in arrs]}")
    nd = arrs[0].ndim + 1
    ax = _axis(axis, nd, "stack")
    return concatenate([expand_dims(a, ax) for a in arrs], ax, dtype)


def vstack(tup, dtype=None):
    """Arrays stacked as rows (1-D arrays become rows), cast to `dtype` when given."""
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def hstack(tup, dtype=None):
    """Arrays joined along their second axis (the first for 1-D), cast to `dtype` when
    given."""
    arrs = [atleast_1d(a) for a in tup]
    return concatenate(arrs, 0 if arrs[0].ndim == 1 else 1, dtype)


def dstack(tup, dtype=None):
    """Arrays joined along a third axis (made at least 3-D first), cast to `dtype`."""
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    arrs = [_arr(a) for a in tup]
    arrs = [reshape(a, (a.shape[0], 1)) if a.ndim == 1 else a for a in arrs]
    return concatenate(arrs, 1)


def split(ary, indices_or_sections, axis=0):
    x = _arr(ary)
    axis = _axis(axis, x.ndim, "split")
    n = x.shape[axis]
    if _np.ndim(indices_or_sections) == 0:
        k = _st.static_int(indices_or_sections, "split", "number of sections")
        if k <= 0:
            raise ValueError(f"split: number of sections must be positive, got {k}")
        if n % k:
            raise ValueError(f"split: array split along axis {axis} of size {n} does not result "
                             f"in {k} equal divisions; use array_split")
        bounds = [i * (n // k) for i in range(k + 1)]
    else:
        bounds = [0] + list(_st.static_ints(indices_or_sections, "split", "index")) + [n]
    return [_ix.slice_in_dim(x, builtins.min(a, n), builtins.min(builtins.max(a, b), n), 1,
                             axis) for a, b in zip(bounds[:-1], bounds[1:])]


def array_split(ary, indices_or_sections, axis=0):
    x = _arr(ary)
    axis = _axis(axis, x.ndim, "array_split")
    if _np.ndim(indices_or_sections) == 0:
        n = x.shape[axis]
        k = _st.static_int(indices_or_sections, "array_split", "number of sections")
        if k <= 0:
            raise ValueError(f"array_split: number of sections must be positive, got {k}")
        q, r = builtins.divmod(n, k)
        sizes = [q + 1] * r + [q] * (k - r)
        idx = _np.cumsum(sizes)[:-1].tolist()
        return split(x, idx, axis)
    return split(x, indices_or_sections, axis)


def hsplit(ary, indices_or_sections):
    """`split` along the second axis (the first for 1-D arrays)."""
    x = _arr(ary)
    return split(x, indices_or_sections, 1 if x.ndim > 1 else 0)


def vsplit(ary, indices_or_sections):
    """`split` along the first axis (arrays of at least 2 dimensions)."""
    x = _arr(ary)
    if x.ndim < 2:
        raise ValueError(f"vsplit: requires an array of at least 2 dimensions, got shape "
                         f"{x.shape}")
    return split(x, indices_or_sections, 0)


def dsplit(ary, indices_or_sections):
    """`split` along the third axis (arrays of at least 3 dimensions)."""
    x = _arr(ary)
    if x.ndim < 3:
        raise ValueError(f"dsplit: requires an array of at least 3 dimensions, got shape "
                         f"{x.shape}")
    return split(x, indices_or_sections, 2)


def flip(m, axis=None):
    x = _arr(m)
    axes = tuple(range(x.ndim)) if axis is None else (
        (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis))
    return _st.rev(x, axes)


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    x = _arr(a)
    if axis is None:
        return reshape(roll(ravel(x), shift, 0), x.shape)
    if isinstance(shift, (_np.ndarray, _np.generic)):      # NumPy shifts: static ints
        shift = shift.tolist()
    shifts = (shift,) if not isinstance(shift, (tuple, list)) else tuple(shift)
    if builtins.any(isinstance(v, Array) for v in shifts):
        return _roll_traced(x, shift, axis)
    shifts = _st.static_ints(shifts, "roll", "shift")
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    # NumPy's (and JAX's) rule: shift and axis broadcast against each other, and shifts of
    # one axis add up (roll(x, (1, 2), axis=1) rolls axis 1 by 3)
    if len(shifts) == 1 or len(axes) == 1:
        shifts, axes = shifts * (len(axes) // len(shifts) or 1), \
            axes * (len(shifts) // len(axes) or 1)
    if len(shifts) != len(axes):
        raise ValueError(f"roll: shift {shift} and axis {axis} must have the same length "
                         f"(or one of them length 1)")
    total: dict = {}
    for s, ax in zip(shifts, axes):
        ax = _axis(ax, x.ndim, "roll")
        total[ax] = total.get(ax, 0) + s
    for ax, s in total.items():
        n = x.shape[ax]
        if n == 0:
            continue
        s %= n
        if s:
            x = _ix.concatenate([_ix.slice_in_dim(x, n - s, n, 1, ax),
                                 _ix.slice_in_dim(x, 0, n - s, 1, ax)], ax)
    return x


def _roll_traced(x, shift, axis):
    """roll by shifts that are arrays (traced under jit, as JAX allows): each axis gathers
    its elements at (i - shift) mod n. The shift is reduced mod n first, in a type that
    holds n: computed in the shift's own type, an int8 shift of a 300-element axis wrapped
    its arange (jnp.roll(x, np.int8(1)) read x[43] first), and a uint8 255 became -1."""
    from . import arange, asarray, remainder, take, where
    shifts = asarray(shift)
    if shifts.ndim > 1 or not _np.issubdtype(shifts.dtype, _np.integer):
        raise TypeError(f"roll: shift must be an integer or a 1-D sequence of integers, got "
                        f"{shifts.dtype}[{','.join(map(str, shifts.shape))}]")
    axes = (axis,) if not isinstance(axis, (tuple, list)) else tuple(axis)
    if shifts.ndim == 1 and shifts.shape[0] != len(axes):
        raise ValueError(f"roll: {shifts.shape[0]} shifts and axis {axis} must have the "
                         "same length")
    for k, ax in enumerate(axes):
        ax = _axis(ax, x.ndim, "roll")
        n = x.shape[ax]
        if n == 0:
            continue
        s = shifts[k] if shifts.ndim == 1 else shifts
        if _np.issubdtype(s.dtype, _np.unsignedinteger):
            r = remainder(s, s.dtype.type(n)) if _np.iinfo(s.dtype).max >= n else s
        else:
            r = remainder(_ix.index_holding(s, n, "roll"), n)
        r = _ix.index_holding(r, n, "roll")     # 0 <= r < n
        i = arange(n, dtype=r.dtype)
        x = take(x, where(i >= r, i - r, i + (n - r)), axis=ax)
    return x


def rot90(m, k=1, axes=(0, 1)):
    x = _arr(m)
    k %= 4
    a0, a1 = axes
    for _ in range(k):
        x = swapaxes(flip(x, a1), a0, a1)
    return x


def tile(A, reps):
    x = _arr(A)
    reps = (reps,) if isinstance(reps, int) else tuple(reps)
    nd = builtins.max(x.ndim, len(reps))
    x = reshape(x, (1,) * (nd - x.ndim) + x.shape)
    reps = (1,) * (nd - len(reps)) + reps
    shape = []
    bdims = []
    for i, (r, s) in enumerate(zip(reps, x.shape)):
        shape += [r, s]
        bdims.append(2 * i + 1)
    y = _st.broadcast_in_dim(x, tuple(shape), tuple(bdims))
    return reshape(y, tuple(r * s for r, s in zip(reps, x.shape)))


def repeat(a, repeats, axis=None, total_repeat_length=None):
    """Each element of `a` repeated `repeats` times along `axis` (flattened when None), as
    JAX's `jnp.repeat`. Without `total_repeat_length` the repeats must be concrete (the
    output length depends on them). With it, the output has exactly that length (so
    `repeats` may be traced): past sum(repeats) the entries are cut off, short of it the
    positions after the last block repeat the element that follows it, as JAX computes
    them (a cumulative sum of block starts scattered onto the output)."""
    x = _arr(a)
    if axis is None:
        x, axis = ravel(x), 0
    if total_repeat_length is None:
        if _is_traced(repeats):
            from ..core import ConcretizationTypeError
            raise ConcretizationTypeError(
                "repeat: with traced `repeats` (under jit/vmap/grad) the output length is "
                "unknown; pass a static total_repeat_length= or make `repeats` static")
        reps = _np.asarray(repeats)
        if reps.ndim == 0 and x.ndim != 0:
            r = int(reps)
            axis = _axis(axis, x.ndim, "repeat")
            shape = list(x.shape)
            shape.insert(axis + 1, r)
            y = _st.broadcast_in_dim(x, tuple(shape), tuple(i if i <= axis else i + 1
                                                           for i in range(x.ndim)))
            out_shape = list(x.shape)
            out_shape[axis] *= r
            return reshape(y, out_shape)
        reps = reps.ravel()
        if x.ndim == 0:
            if reps.shape != (1,):
                raise ValueError("repeat: a scalar `a` takes a scalar `repeats`, got repeats "
                                 f"of shape {_np.shape(repeats)}")
            return broadcast_to(x, (int(reps[0]),))
        axis = _axis(axis, x.ndim, "repeat")
        reps = _np.broadcast_to(reps, (x.shape[axis],))
        idx = _np.repeat(_np.arange(x.shape[axis]), reps)
        return take(x, asarray(idx.astype(_np.int32)), axis=axis)
    total = int(total_repeat_length)
    if total < 0:
        raise ValueError(f"repeat: total_repeat_length must be >= 0, got {total}")
    reps = ravel(asarray(repeats))
    if x.ndim == 0:
        if reps.shape != (1,):
            raise ValueError("repeat: a scalar `a` takes a scalar `repeats`, got repeats of "
                             f"shape {reps.shape}")
        return broadcast_to(x, (total,))
    axis = _axis(axis, x.ndim, "repeat")
    n = x.shape[axis]
    if total == 0 or n == 0:
        out_shape = list(x.shape)
        out_shape[axis] = 0 if total == 0 else out_shape[axis]
        return x if n == 0 else reshape(x[tuple(slice(0, 0) if i == axis else slice(None)
                                                for i in range(x.ndim))], out_shape)
    reps = broadcast_to(reps, (n,)).astype(_np.int32)
    from ._reductions import cumsum
    from ._creation import zeros
    # Where each block starts in the output (the last one's end is not needed) ...
    starts = cumsum(concatenate([zeros((1,), _np.int32), reps[:-1]]))
    # ... marked there (past the end: dropped), and the running count of marks is the
    # index of the element each output position shows.
    marks = zeros((total,), _np.int32).at[starts].add(1, mode="drop")
    return take(x, cumsum(marks) - 1, axis=axis)


def _is_traced(x):
    from ..core import Tracer
    return isinstance(x, Tracer)


_PAD_KWARGS = {
    "constant": ("constant_values",), "edge": (), "wrap": (), "empty": (),
    "reflect": ("reflect_type",), "symmetric": ("reflect_type",),
    "linear_ramp": ("end_values",),
    "maximum": ("stat_length",), "minimum": ("stat_length",), "mean": ("stat_length",),
    "median": ("stat_length",),
}


def _pad_pairs(value, nd, name):
    """JAX's _broadcast_to_pairs: a scalar, (v,), (before, after), ((b, a),) or one pair
    per axis -> nd (before, after) pairs (values kept as given)."""
    v = _np.asarray(value, dtype=object) if not isinstance(value, Array) else None
    if v is None:
        value = _np.asarray(value)
        v = value.astype(object)
    if v.shape in ((), (1,), (1, 1)):
        x = v.reshape(()).item()
        return [(x, x)] * nd
    if v.shape in ((2,), (1, 2)):
        a, b = v.reshape(2).tolist()
        return [(a, b)] * nd
    if v.shape == (nd, 1):
        return [(x, x) for x in v[:, 0].tolist()]
    if v.shape == (nd, 2):
        return [tuple(r) for r in v.tolist()]
    raise ValueError(f"jnp.pad: {name} with nd={nd} has unsupported shape {v.shape}. "
                     f"Valid shapes are ({nd}, 2), (1, 2), (2,), (1,), or ().")


def _pad_reflect_odd(x, ax, lo, hi, mode):
    """JAX's reflect/symmetric padding with reflect_type='odd' along one axis: each
    reflected block is 2 * edge - block, the edge moving outwards block by block."""
    n = x.shape[ax]

    def build(arr, padding, before):
        edge = (_ix.slice_in_dim(arr, 0, 1, 1, ax) if before else
                _ix.slice_in_dim(arr, arr.shape[ax] - 1, arr.shape[ax], 1, ax))
        offset = 1 if (mode == "reflect" and n > 1) else 0
        while padding > 0:
            cur = builtins.min(padding, n - offset)
            padding -= cur
            size = arr.shape[ax]
            if before:
                start, stop = offset, offset + cur
            else:
                start = size - (cur + offset)
                stop = size if (mode == "symmetric" or n == 1) else size - 1
            blk = flip(_ix.slice_in_dim(arr, start, stop, 1, ax), ax)
            blk = 2 * edge - blk
            if n > 1:
                edge = (_ix.slice_in_dim(blk, 0, 1, 1, ax) if before else
                        _ix.slice_in_dim(blk, blk.shape[ax] - 1, blk.shape[ax], 1, ax))
            arr = concatenate([blk, arr] if before else [arr, blk], axis=ax)
        return arr

    return build(build(x, lo, True), hi, False)


def _has_tracer(value):
    """Whether `value` (an array or nested tuples/lists) holds a traced value."""
    from ..core import Tracer
    if isinstance(value, (tuple, list)):
        return builtins.any(_has_tracer(v) for v in value)
    return isinstance(value, Tracer)


def _pad_constant_values(x, pw, constant_values):
    """JAX's _pad_constant for array-valued fills (traced ones included): the fill is cast
    to x's dtype, then a scalar pads every side at once with lax.pad; a (before, after)
    pair or one pair per axis pads side by side, each lax.pad taking one (possibly traced)
    scalar padding value, so gradients and vmap reach the fill through lax.pad's rules."""
    from ._creation import asarray
    cv = asarray(constant_values)
    if cv.dtype != x.dtype:
        cv = cv.astype(x.dtype)
    nd = x.ndim
    if cv.ndim == 0 or cv.shape == (1,):
        return _ix.pad(x, reshape(cv, ()), [(int(lo), int(hi), 0) for lo, hi in pw])
    if cv.ndim > 2 or cv.shape[-1] not in (1, 2):
        raise ValueError(f"jnp.pad: constant_values has unsupported shape {cv.shape}. If "
                         "the shape is 1D or 2D, the last dimension must be of size 1 or 2.")
    try:
        cv = broadcast_to(cv, (nd, 2))
    except ValueError:
        raise ValueError(f"jnp.pad: constant_values with nd={nd} has unsupported shape "
                         f"{cv.shape}. Valid shapes are ({nd}, 2), ({nd}, 1), (1, 2), (2,), "
                         "(1,), or ().") from None
    out = x
    for ax in range(nd):
        for side in (0, 1):
            if pw[ax, side]:
                cfg = [(0, 0, 0)] * nd
                cfg[ax] = (int(pw[ax, 0]), 0, 0) if side == 0 else (0, int(pw[ax, 1]), 0)
                out = _ix.pad(out, reshape(_ix.slice(cv, (ax, side), (ax + 1, side + 1)), ()),
                              cfg)
    return out


def pad(array, pad_width, mode="constant", **kwargs):
    """JAX's `jnp.pad`: every NumPy mode ('constant', 'edge', 'wrap', 'reflect' and
    'symmetric' with `reflect_type`, 'linear_ramp' with `end_values`, 'maximum',
    'minimum', 'mean', 'median' with `stat_length`, 'empty' (zeros, as JAX)) and a
    callable `mode(vector, iaxis_pad_width, iaxis, kwargs)` applied along each axis of the
    zero-padded array. Statistics of integer arrays are rounded (half to even) before the
    cast back, as JAX's; a keyword the mode does not take is an error."""
    x = _arr(array)
    if _np.asarray(pad_width).dtype.kind not in "iub":
        raise TypeError(f"pad: pad_width must be integers, got {pad_width!r}")
    pw = _np.broadcast_to(_np.asarray(pad_width, dtype=_np.int64).reshape(-1, 2)
                          if _np.ndim(pad_width) else _np.asarray([[pad_width, pad_width]]),
                          (x.ndim, 2))
    if callable(mode):
        from ._extra import apply_along_axis
        out = pad(x, pw)
        for ax in range(out.ndim):
            out = apply_along_axis(mode, ax, out, (int(pw[ax, 0]), int(pw[ax, 1])), ax,
                                   kwargs)
        return out
    if mode not in _PAD_KWARGS:
        raise NotImplementedError(f"Unimplemented padding mode '{mode}' for np.pad.")  # as JAX
    unsupported = sorted(set(kwargs) - set(_PAD_KWARGS[mode]))
    if unsupported:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unsupported}")
    if _np.any(pw < 0):
        raise ValueError("index can't contain negative values")
    if x.ndim == 0:
        return x
    for ax in range(x.ndim):
        if x.shape[ax] == 0 and mode not in ("constant", "empty") and pw[ax].any():
            raise ValueError(f"Cannot apply '{mode}' padding to empty axis")
    if mode == "constant":
        cv = kwargs.get("constant_values", 0)
        if not _has_tracer(cv) and _np.ndim(cv) == 0:
            return _ix.pad(x, _st.full((), _np.asarray(cv).item(), x.dtype),
                           [(int(lo), int(hi), 0) for lo, hi in pw])
        return _pad_constant_values(x, pw, cv)
    if mode == "empty":
        return _ix.pad(x, _st.full((), 0, x.dtype), [(int(lo), int(hi), 0) for lo, hi in pw])
    reflect_type = kwargs.get("reflect_type", "even")
    if reflect_type not in ("even", "odd"):
        raise ValueError(f"jnp.pad: reflect_type must be 'even' or 'odd', got "
                         f"{reflect_type!r}")
    if mode in ("reflect", "symmetric") and reflect_type == "odd":
        out = x
        for ax in range(x.ndim):
            lo, hi = int(pw[ax, 0]), int(pw[ax, 1])
            if lo or hi:
                out = _pad_reflect_odd(out, ax, lo, hi, mode)
        return out
    if mode in ("edge", "reflect", "symmetric", "wrap"):
        out = x
        for ax in range(x.ndim):
            lo, hi = int(pw[ax, 0]), int(pw[ax, 1])
            n = out.shape[ax]
            if lo == 0 and hi == 0:
                continue
            idx = _np.arange(-lo, n + hi)
            if mode == "edge":
                idx = _np.clip(idx, 0, n - 1)
            elif mode == "wrap":
                idx = idx % n
            elif mode == "reflect":
                period = 2 * (n - 1) if n > 1 else 1
                idx = _np.abs(idx) % period
                idx = _np.where(idx >= n, period - idx, idx)
            else:
                period = 2 * n
                idx = idx % period
                idx = _np.where(idx >= n, period - 1 - idx, idx)
            out = take(out, asarray(idx.astype(_np.int32)), axis=ax)
        return out
    if mode == "linear_ramp":
        from ._creation import linspace
        ends = _pad_pairs(kwargs.get("end_values", 0), x.ndim, "end_values")
        out = x
        for ax in range(x.ndim):
            n = out.shape[ax]
            first = squeeze(_ix.slice_in_dim(out, 0, 1, 1, ax), ax)
            last = squeeze(_ix.slice_in_dim(out, n - 1, n, 1, ax), ax)
            before = linspace(ends[ax][0], first, int(pw[ax, 0]), endpoint=False,
                              dtype=x.dtype, axis=ax)
            after = flip(linspace(ends[ax][1], last, int(pw[ax, 1]), endpoint=False,
                                  dtype=x.dtype, axis=ax), ax)
            out = concatenate([before, out, after], axis=ax)
        return out
    # the statistics
    from . import _reductions, _quantiles
    from ._elementwise import round as _round
    stat = {"maximum": _reductions.max, "minimum": _reductions.min,
            "mean": _reductions.mean, "median": _quantiles.median}[mode]
    lengths = kwargs.get("stat_length")
    if lengths is not None:
        lengths = _pad_pairs(lengths, x.ndim, "stat_length")
    out = x
    for ax in range(x.ndim):
        n = out.shape[ax]
        if lengths is None:
            s_lo = s_hi = stat(out, axis=ax, keepdims=True)
        else:
            lb, la = (int(v) for v in lengths[ax])
            if lb == 0 or la == 0:
                raise ValueError("stat_length of 0 yields no value for padding")
            lb, la = builtins.min(lb, n), builtins.min(la, n)
            s_lo = stat(_ix.slice_in_dim(out, 0, lb, 1, ax), axis=ax, keepdims=True)
            s_hi = stat(_ix.slice_in_dim(out, n - la, n, 1, ax), axis=ax, keepdims=True)
        if _np.issubdtype(x.dtype, _np.integer):
            s_lo, s_hi = _round(s_lo), _round(s_hi)
        s_lo, s_hi = astype(s_lo, x.dtype), astype(s_hi, x.dtype)
        out = concatenate([repeat(s_lo, int(pw[ax, 0]), axis=ax), out,
                           repeat(s_hi, int(pw[ax, 1]), axis=ax)], axis=ax)
    return out


def resize(a, new_shape):
    x = ravel(_arr(a))
    new_shape = _shape_tuple(new_shape)
    n = int(_np.prod(new_shape))
    reps = -(-n // builtins.max(x.size, 1))
    return reshape(tile(x, reps)[:n], new_shape)


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import _promote_dtypes_only, astype  # noqa: E402
from ._creation import _arr, _axis, _check_out, _shape_tuple, asarray  # noqa: E402
from ._indexing import take  # noqa: E402
