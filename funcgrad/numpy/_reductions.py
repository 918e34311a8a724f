"""funcgrad.numpy's reductions: `sum`, `prod`, `max`/`min`, their nan-aware forms, `mean`,
`average`, `var`, `std`, `any`, `all`, `count_nonzero`, `argmax`/`argmin`, the cumulative
ones (`cumsum`, `cumprod`, `cummax`, `cummin`) and `diff`."""

from __future__ import annotations

import builtins

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from .._recurring import compile_when_it_pays
from ..prims import elementwise as _ew
from ..prims import indexing as _ix
from ..prims import reductions as _rd
from ..prims import structural as _st

__all__ = [
    "all", "amax", "amin", "any", "argmax", "argmin", "average", "count_nonzero", "cummax",
    "cummin", "cumprod", "cumsum", "diff", "max", "mean", "min", "nanmax", "nanmean", "nanmin",
    "nansum", "prod", "ptp", "std", "sum", "var",
]


def _axes(axis, ndim, name):
    if axis is None:
        return tuple(range(ndim))
    if not isinstance(axis, (tuple, list)):
        axis = (axis,)
    axes = _st._norm_axes(axis, ndim, name)
    if len(set(axes)) != len(axes):
        raise ValueError(f"{name}: duplicate value in 'axis': {tuple(axis)}")
    return tuple(sorted(axes))


def _strong(x):
    """`x` without its weak type: JAX's reductions and cumulative sums and products return
    strongly typed results (`jnp.sum(jnp.arange(3) + 1.5)` is a strong float32, so with a
    float16 array it gives float32; funcgrad's weak sum gave float16)."""
    return _ew.with_weak_type(x, False)


def _keep(out, axes, ndim, keepdims):
    out = _strong(out)
    if not keepdims:
        return out
    shape = [1 if i in axes else s for i, s in enumerate(_reduced_input_shape(out, axes, ndim))]
    return _st.reshape(out, shape)


def _reduced_input_shape(out, axes, ndim):
    it = iter(out.shape)
    return [1 if i in axes else next(it) for i in range(ndim)]


def _where_fill(a, where_, fill):
    if where_ is None:
        return a
    return where(where_, a, full_like(a, fill))


def _reduction_int_dtype(dt, promote_integers):
    """JAX's accumulation type for sums and products of bools and integers: the default
    integer type (its unsigned twin for unsigned input) for narrower ones when
    `promote_integers`, else the input's (bools: int32)."""
    if _dt.is_bool(dt):
        return _dt.DEFAULT_INT_() if promote_integers else _dt.int32
    if promote_integers and _dt.is_int(dt):
        di = _dt.DEFAULT_INT_()
        if dt.itemsize < di.itemsize:
            return _np.dtype(f"{'u' if _dt.is_unsigned(dt) else ''}int{8 * di.itemsize}")
    return dt


def sum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
        promote_integers=True):
    """Sum over `axis` (all axes by default) of the elements where `where` holds, plus
    `initial`. float16 and bfloat16 accumulate in float32 and round back (as JAX); bools and
    integers narrower than the default integer type sum in it when `promote_integers`
    (JAX)."""
    _check_out("sum", out)
    x = _arr(a)
    if dtype is not None:
        x = astype(x, dtype)
    else:
        dt = _reduction_int_dtype(x.dtype, promote_integers)
        if dt != x.dtype:
            x = astype(x, dt)
    x = _where_fill(x, where, 0)
    axes = _axes(axis, x.ndim, "sum")
    comp = _dt.float32 if x.dtype in _HALF else x.dtype
    res = _rd.reduce_sum(astype(x, comp) if comp != x.dtype else x, axes)
    if initial is not None:
        res = add(res, _initial_value(initial, comp, "sum"))
    if res.dtype != x.dtype:
        res = astype(res, x.dtype)
    return _keep(res, axes, x.ndim, keepdims)


def _initial_value(initial, dtype, name):
    """`initial` in the reduction's computation type, as JAX converts it: an int8 max with
    initial=300 starts from 44, a float `initial` of an integer sum is truncated, a float32
    one of a float16 sum is added in float32 (it promoted the result to float32 before),
    and an array is an error."""
    init = _arr(initial)
    if init.shape != ():
        raise ValueError(f"{name}: initial value must be a scalar. Got array of shape "
                         f"{init.shape}")
    return astype(init, dtype) if init.dtype != dtype else init


def prod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None,
           promote_integers=True):
    """Product over `axis` of the elements where `where` holds, times `initial`; integer
    promotion and float16/bfloat16 accumulation in float32 as in `sum` (JAX)."""
    _check_out("prod", out)
    x = _arr(a)
    if dtype is not None:
        x = astype(x, dtype)
    else:
        dt = _reduction_int_dtype(x.dtype, promote_integers)
        if dt != x.dtype:
            x = astype(x, dt)
    x = _where_fill(x, where, 1)
    axes = _axes(axis, x.ndim, "prod")
    comp = _dt.float32 if x.dtype in _HALF else x.dtype
    res = _rd.reduce_prod(astype(x, comp) if comp != x.dtype else x, axes)
    if initial is not None:
        res = multiply(res, _initial_value(initial, comp, "prod"))
    if res.dtype != x.dtype:
        res = astype(res, x.dtype)
    return _keep(res, axes, x.ndim, keepdims)


def _no_identity_check(x, axes, name):
    if builtins.any(x.shape[d] == 0 for d in axes):
        raise ValueError(f"{name}: zero-size array to reduction operation {name} which has no "
                         f"identity (shape {x.shape}, axes {axes}); pass initial=... to give "
                         "the result for an empty reduction")


def _minmax(name, prim, nan_prop=True):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        x = _arr(a)
        axes = _axes(axis, x.ndim, name)
        if initial is None:
            _no_identity_check(x, axes, name)
        if where is not None:
            if initial is None:
                raise ValueError(f"{name}: reduction with where= needs an initial value")
            x = _where_fill(x, where, initial)
        # reduce_max/min propagate NaN themselves (as np.max does).
        res = prim(x, axes)
        if initial is not None:
            res = (maximum if name in ("max", "amax") else minimum)(
                res, _initial_value(initial, x.dtype, name))
        return _keep(res, axes, x.ndim, keepdims)
    f.__name__ = name
    return f


max = amax = _minmax("max", _rd.reduce_max)
min = amin = _minmax("min", _rd.reduce_min)


def _nan_minmax(name, reduce, fill):
    def f(a, axis=None, out=None, keepdims=False, initial=None, where=None):
        x = _arr(a)
        kw = dict(axis=axis, keepdims=keepdims, initial=initial, where=where)
        if not _dt.is_float(x.dtype):
            return reduce(x, **kw)
        nan = isnan(x)
        res = reduce(_select3(nan, full_like(x, fill), x), **kw)
        if initial is not None:
            return res
        # An all-NaN slice gives NaN (NumPy warns, JAX does not), not the fill value.
        return _select3(all(nan, axis=axis, keepdims=keepdims, where=where),
                        full_like(res, _np.nan), res)
    f.__name__ = name
    f.__doc__ = (f"`{name[3:]}` ignoring NaN (`initial`/`where` as in `{name[3:]}`); NaN "
                 "where every element of a slice is NaN and no `initial` is given.")
    return f


nanmax = _nan_minmax("nanmax", max, -_np.inf)
nanmin = _nan_minmax("nanmin", min, _np.inf)


def nansum(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """`sum` treating NaN as zero (same arguments)."""
    _check_out("nansum", out)
    x = _arr(a)
    if _dt.is_inexact(x.dtype):
        x = _select3(isnan(x), zeros_like(x), x)
    return sum(x, axis=axis, dtype=dtype, keepdims=keepdims, initial=initial, where=where)


def ptp(a, axis=None, out=None, keepdims=False):
    """The range (max - min) over `axis`."""
    _check_out("ptp", out)
    return subtract(max(a, axis, keepdims=keepdims), min(a, axis, keepdims=keepdims))


def _count(x, axes):
    n = 1
    for a in axes:
        n *= x.shape[a]
    return n


def _mean_types(x_dtype, dtype):
    """(computation dtype, result dtype) of `mean` (JAX's rule): the result is `dtype` when
    given, else the input's type if inexact, else `dtypes.to_inexact`'s float (float32 for
    int32 even under x64, float64 for int64); float16 and bfloat16
    are computed in float32. The computation type is the sum's accumulation type, so an
    integer mean sums in float (two int32 maxima do not wrap) and `dtype=int8` means an
    int8 sum divided (truncating) by an int8 count, as in JAX."""
    if dtype is not None:
        out_dtype = _dt.canonicalize(dtype)
    else:
        out_dtype = _dt.to_inexact(x_dtype)
    return (_dt.float32 if out_dtype in _HALF else out_dtype), out_dtype


def _count_as(x, axis, axes, keepdims, where_, dtype):
    """The number of elements reduced (those where `where_` holds), as `dtype` (wrapping
    as a cast does, as JAX's count)."""
    if where_ is None:
        return _core.to_array(_np.asarray(_count(x, axes)).astype(dtype))
    return sum(broadcast_to(asarray(where_), x.shape), axis=axis, dtype=dtype,
               keepdims=keepdims)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Arithmetic mean: the sum in the computation type (see `_mean_types`) divided by the
    count in it, cast to the result type. Integers average in float32 (float64 for int64
    under x64: JAX's `to_inexact`); float16
    and bfloat16 accumulate in float32 and round the result back (as JAX: a float16 sum of
    100 x 60000 overflows)."""
    _check_out("mean", out)
    x = _arr(a)
    comp, out_dtype = _mean_types(x.dtype, dtype)
    axes = _axes(axis, x.ndim, "mean")
    s = sum(x, axis=axis, dtype=comp, keepdims=keepdims, where=where)
    res = _ew.div(s, _count_as(x, axis, axes, keepdims, where, comp))
    return res if res.dtype == out_dtype else astype(res, out_dtype)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    """The mean of `a` weighted by `weights` (the plain `mean` without them) over `axis`;
    with `returned`, also the sum of the weights. Computed in the inexact type of `a` and
    `weights` together (JAX's `to_inexact` for integers and bools: int32 -> float32), as
    JAX."""
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        if returned:
            x = _arr(a)
            return avg, full_like(avg, _count(x, _axes(axis, x.ndim, "average")))
        return avg
    x, w = _arr(a), _arr(weights)
    # Both in their common inexact type before the product (JAX's promote_dtypes_inexact):
    # int32 values times int32 weights would wrap.
    dt = _dt.to_inexact(result_type(x, w))
    x, w = astype(x, dt), astype(w, dt)
    if w.shape != x.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: weights must have the shape of a or be 1-d along axis")
        shape = [1] * x.ndim
        shape[_axis(axis, x.ndim, "average")] = w.shape[0]
        w = reshape(w, shape)
    wsum = sum(broadcast_to(w, x.shape), axis=axis, keepdims=keepdims)
    avg = divide(sum(multiply(x, w), axis=axis, keepdims=keepdims), wsum)
    return (avg, wsum) if returned else avg


def _var_types(x_dtype, dtype, name):
    """(computation dtype, result dtype) of `var`, `std` and `nanvar` (JAX's rule): `dtype`
    for both when given; else `dtypes.to_inexact` for integers and bools (int32 -> float32,
    int64 -> the default float), and for inexact
    input its own type (the result real for complex input). float16 and bfloat16 are
    computed in float32."""
    if dtype is not None:
        dtype = _dt.canonicalize(dtype)
        if _dt.is_complex(x_dtype) and not _dt.is_complex(dtype):
            raise ValueError(f"{name}: a real dtype= for the variance of complex values is "
                             "not supported (as in JAX)")
        comp = dtype
    elif not _dt.is_inexact(x_dtype):
        dtype = comp = _dt.to_inexact(x_dtype)
    else:
        dtype, comp = _dt.real_dtype(x_dtype), x_dtype
    return (_dt.float32 if comp in _HALF else comp), dtype


def _var(a, axis, dtype, ddof, keepdims, name, where_=None, mean_=None, correction=None):
    """The variance as JAX computes it: in the computation type of `_var_types`, the sum of
    squared deviations from the mean (or from `mean_`, which must broadcast against the
    input with the reduced axes kept) divided by the count of elements (those where
    `where_` holds) less `ddof` (or JAX's alias `correction`), cast to the result type; NaN
    where that divisor is <= 0. An integer `dtype` divides as integers and the NaN then
    makes the result the default float (weakly typed), as in JAX."""
    if correction is not None:
        if ddof != 0:
            raise ValueError(f"{name}: ddof and correction can't both be given")
        ddof = correction
    x = _arr(a)
    comp, out_dtype = _var_types(x.dtype, dtype, name)
    x = astype(x, comp)
    if mean_ is None:
        m = mean(x, axis, dtype=comp, keepdims=True, where=where_)
    else:
        m = astype(_arr(mean_), comp)
    d = subtract(x, m)
    if _dt.is_complex(comp):
        sq = add(multiply(_ew.real(d), _ew.real(d)), multiply(_ew.imag(d), _ew.imag(d)))
        comp = _dt.real_dtype(comp)
    else:
        sq = multiply(d, d)
    axes = _axes(axis, x.ndim, name)
    n = _ew.sub(_count_as(x, axis, axes, keepdims, where_, comp), astype(asarray(ddof), comp))
    s = sum(sq, axis=axis, dtype=comp, keepdims=keepdims, where=where_)
    res = _ew.div(s, broadcast_to(n, s.shape) if n.shape != s.shape else n)
    if res.dtype != out_dtype:
        res = astype(res, out_dtype)
    return where(_ew.gt(n, _st.full((), 0, n.dtype)), res, _np.nan)


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Variance over `axis`: the mean squared deviation from the mean (or from `mean` when
    given), divided by n - `ddof` (`correction` is JAX's other name for it); only elements
    where `where` holds count. NaN when n - ddof <= 0. float16 is computed in float32 and
    rounded back."""
    _check_out("var", out)
    return _var(a, axis, dtype, ddof, keepdims, "var", where, mean, correction)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None,
        mean=None, correction=None):
    """Standard deviation: the square root of `var` (same arguments), taken as JAX takes it
    on var's result: for float16 the variance is rounded to float16 first (so a float16
    standard deviation above 256 is inf, as in JAX). A `dtype` must be inexact (JAX)."""
    _check_out("std", out)
    if dtype is not None and not _dt.is_inexact(_dt.canonicalize(dtype)):
        raise ValueError(f"std: dtype must be inexact, got {_np.dtype(dtype)}")
    return _ew.sqrt(_var(a, axis, dtype, ddof, keepdims, "std", where, mean, correction))


def nanmean(a, axis=None, dtype=None, out=None, keepdims=False, where=None):
    """Mean of the non-NaN elements where `where` holds: their sum divided by their count,
    both in `dtype` when given (an integer `dtype` divides as integers, as in JAX), else in
    the input's type; integers and bools are `mean`'s (`dtypes.to_inexact`). NaN for a slice
    without any."""
    _check_out("nanmean", out)
    x = _arr(a)
    if not _dt.is_inexact(x.dtype):
        return mean(x, axis=axis, dtype=dtype, keepdims=keepdims, where=where)
    dt = x.dtype if dtype is None else _dt.canonicalize(dtype)
    n = sum(logical_not(isnan(x)), axis=axis, dtype=dt, keepdims=keepdims, where=where)
    return _ew.div(nansum(x, axis=axis, dtype=dt, keepdims=keepdims, where=where), n)


def any(a, axis=None, out=None, keepdims=False, *, where=None):
    """True where some element is nonzero; False for an empty reduction (elements where
    `where` is False are left out)."""
    _check_out("any", out)
    x = astype(_arr(a), bool)
    x = _where_fill(x, where, False)
    axes = _axes(axis, x.ndim, "any")
    return _keep(_rd.reduce_max(x, axes), axes, x.ndim, keepdims)


def all(a, axis=None, out=None, keepdims=False, *, where=None):
    """True where every element is nonzero; True for an empty reduction (elements where
    `where` is False are left out)."""
    _check_out("all", out)
    x = astype(_arr(a), bool)
    x = _where_fill(x, where, True)
    axes = _axes(axis, x.ndim, "all")
    return _keep(_rd.reduce_min(x, axes), axes, x.ndim, keepdims)


def count_nonzero(a, axis=None, keepdims=False):
    return sum(_ew.ne(_arr(a), 0), axis=axis, keepdims=keepdims)


def _argminmax(prim, name):
    # (indices in the default integer type, int64 under x64, as JAX computes them: an int32
    # index converted afterwards wrapped past 2^31 elements, -2147483643 for 2147483653)
    def f(a, axis=None, out=None, keepdims=False):
        x = _arr(a)
        if axis is None:
            x = ravel(x)
            res = prim(x, 0, _dt.DEFAULT_INT_())
            return reshape(res, (1,) * _arr(a).ndim) if keepdims else res
        ax = _st._norm_axes([axis], x.ndim, name)[0]
        res = prim(x, ax, _dt.DEFAULT_INT_())
        return expand_dims(res, ax) if keepdims else res
    f.__name__ = name
    return f


argmax = _argminmax(_rd.argmax, "argmax")
argmin = _argminmax(_rd.argmin, "argmin")


def cumsum(a, axis=None, dtype=None):
    x = _arr(a)
    if axis is None:
        x, axis = ravel(x), 0
    axis = _axis(axis, x.ndim, "cumsum")
    if dtype is not None:
        x = astype(x, dtype)
    elif _dt.is_bool(x.dtype):
        x = astype(x, _dt.DEFAULT_INT_())
    return _strong(_rd.cumsum(x, axis))


def prefix_scan(combine, xs, axis):
    """Inclusive prefix scan of the arrays `xs` (a list, all of one length along `axis`)
    under `combine(earlier, later)` (lists to a list), in the odd/even order of JAX's
    `lax.associative_scan`: adjacent pairs are combined, the scan of those gives the odd
    positions, and each even position combines the odd one before it with its own element.
    O(n) work and 2 log2(n) levels; the order matters beyond rounding where `combine`'s
    derivative splits ties (max and min halve a tangent between equal operands, so
    cummax's gradient at repeated values is JAX's; the doubling scan used until 2026-12-05
    split them differently, and its -inf padding took a share from cummax at -inf)."""
    n = xs[0].shape[axis]
    if n < 2:
        return list(xs)
    pairs = combine([_ix.slice_in_dim(x, 0, n - 1, 2, axis) for x in xs],
                    [_ix.slice_in_dim(x, 1, n, 2, axis) for x in xs])
    odd = prefix_scan(combine, pairs, axis)             # positions 1, 3, 5, ...
    m = n // 2                                          # len(odd)
    before = odd if n % 2 else [_ix.slice_in_dim(o, 0, m - 1, 1, axis) for o in odd]
    even = combine(before, [_ix.slice_in_dim(x, 2, n, 2, axis) for x in xs])
    out = []
    for x, e, o in zip(xs, even, odd):
        e = _ix.concatenate([_ix.slice_in_dim(x, 0, 1, 1, axis), e], axis)   # 0, 2, 4, ...
        head = _ix.slice_in_dim(e, 0, m, 1, axis)
        both = _ix.concatenate([_st.expand_dims(head, (axis + 1,)),
                                _st.expand_dims(o, (axis + 1,))], axis + 1)
        shape = list(x.shape)
        shape[axis] = 2 * m
        r = _st.reshape(both, tuple(shape))
        if n % 2:
            r = _ix.concatenate([r, _ix.slice_in_dim(e, m, m + 1, 1, axis)], axis)
        out.append(r)
    return out


def _scan_assoc(x, axis, op):
    """Inclusive prefix scan of one array under a binary `op` (prefix_scan's order)."""
    return prefix_scan(lambda a, b: [op(a[0], b[0])], [x], axis)[0]


def cumprod(a, axis=None, dtype=None):
    x = _arr(a)
    if axis is None:
        x, axis = ravel(x), 0
    if dtype is not None:
        x = astype(x, dtype)
    elif _dt.is_bool(x.dtype):
        x = astype(x, _dt.DEFAULT_INT_())
    if _dt.is_bool(x.dtype):             # dtype=bool: a product of bools is their `and`
        return _strong(_scan_assoc(x, _axis(axis, x.ndim, "cumprod"), _ew.and_))
    return _strong(_scan_assoc(x, _axis(axis, x.ndim, "cumprod"), _ew.mul))


def cummax(a, axis=0):
    x = _arr(a)
    return _scan_assoc(x, _axis(axis, x.ndim, "cummax"), _ew.max)


def cummin(a, axis=0):
    x = _arr(a)
    return _scan_assoc(x, _axis(axis, x.ndim, "cummin"), _ew.min)


# Scans of ~10 primitives a level, as JAX's are single compiled operations: eagerly, they
# compile once repeating them pays (at once on OpenCL, where each eager primitive would be a
# kernel build: 47 s for a first cummax of 1000 values on PoCL, 0.4 s compiled whole).
cumprod = compile_when_it_pays(cumprod)
cummax = compile_when_it_pays(cummax)
cummin = compile_when_it_pays(cummin)


def diff(a, n=1, axis=-1, prepend=None, append=None):
    """The `n`-th discrete difference along `axis`, after joining `prepend` and `append`
    to `a` along it (a scalar or an array without that axis is broadcast to one slice)."""
    x = _arr(a)
    if x.ndim == 0:
        raise ValueError("diff: requires an input with at least one dimension")
    n = _st.static_int(n, "diff", "order n")
    if n < 0:
        raise ValueError(f"diff: order must be non-negative, got n={n}")
    axis = _axis(axis, x.ndim, "diff")
    if prepend is not None or append is not None:
        parts = []
        for extra in (prepend, x, append):
            if extra is None:
                continue
            e = _arr(extra)
            if e is not x and e.ndim == 0:
                shape = list(x.shape)
                shape[axis] = 1
                e = broadcast_to(e, tuple(shape))
            parts.append(e)
        x = concatenate(parts, axis)
    for _ in range(n):
        m = x.shape[axis]
        if m == 0:
            break
        # booleans: whether neighbours differ (NumPy's and JAX's diff of a mask)
        op = not_equal if _dt.is_bool(x.dtype) else subtract
        x = op(_ix.slice_in_dim(x, 1, m, 1, axis), _ix.slice_in_dim(x, 0, m - 1, 1, axis))
    return x


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import _HALF, astype, result_type  # noqa: E402
from ._creation import _arr, _axis, _check_out, asarray, full_like, zeros_like  # noqa: E402
from ._elementwise import (  # noqa: E402
    add, divide, isnan, logical_not, maximum, minimum, multiply, not_equal,
    subtract,
)
from ._shape import broadcast_to, concatenate, expand_dims, ravel, reshape  # noqa: E402
from ._indexing import _select3, where  # noqa: E402
