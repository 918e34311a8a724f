"""More of NumPy's namespace as compositions: aliases, index helpers, nan-aware reductions,
set membership, statistics and small linear-algebra helpers.

Written on top of `funcgrad.numpy`'s own functions (`_fnp.*`, looked up when called: this
module is imported at the end of the package's `__init__`, which re-exports its names)."""
from __future__ import annotations

import builtins

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from .._recurring import compile_when_it_pays
from ..core import Tracer
from .. import numpy as _fnp
from ._dtypes import _promote, _promote_dtypes_only
from ._creation import _axis, _check_out
from ._products import _pet


def _real_float(dt):
    """The float an integer or bool `dt` computes in (JAX's rule, `dtypes.to_inexact`);
    complex input keeps funcgrad's cast to the default float."""
    return _dt.DEFAULT_FLOAT_() if _dt.is_complex(dt) else _dt.to_inexact(dt)


def atan2(x1, x2):
    return _fnp.arctan2(x1, x2)


def bitwise_invert(x):
    return _fnp.invert(x)


def bitwise_left_shift(x1, x2):
    return _fnp.left_shift(x1, x2)


def bitwise_right_shift(x1, x2):
    return _fnp.right_shift(x1, x2)


def concat(arrays, axis=0):
    return _fnp.concatenate(arrays, axis)


def cumulative_sum(x, axis=None, dtype=None, include_initial=False):
    x = _fnp.asarray(x)
    if axis is None:
        if x.ndim > 1:
            raise ValueError("cumulative_sum: axis must be given for arrays of rank > 1")
        axis = 0
    if dtype is None:
        # JAX's cumulative_sum promotes narrow integers as sum does (its cumsum does not)
        from ._reductions import _reduction_int_dtype
        dtype = _reduction_int_dtype(x.dtype, True)
    out = _fnp.cumsum(x, axis, dtype)
    if include_initial:
        zshape = list(out.shape)
        zshape[axis] = 1
        out = _fnp.concatenate([_fnp.zeros(zshape, out.dtype), out], axis)
    return out


def cumulative_prod(x, axis=None, dtype=None, include_initial=False):
    x = _fnp.asarray(x)
    axis = 0 if axis is None else axis
    out = _fnp.cumprod(x, axis, dtype)
    if include_initial:
        oshape = list(out.shape)
        oshape[axis] = 1
        out = _fnp.concatenate([_fnp.ones(oshape, out.dtype), out], axis)
    return out


def _nan_fill(a, fill):
    x = _fnp.asarray(a)
    return _fnp.where(_fnp.isnan(x), _fnp.full_like(x, fill), x)


def nanprod(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None):
    """`prod` treating NaN as one (same arguments)."""
    _check_out("nanprod", out)
    return _fnp.prod(_nan_fill(a, 1), axis=axis, dtype=dtype, keepdims=keepdims,
                     initial=initial, where=where)


def nancumsum(a, axis=None, dtype=None, out=None):
    """`cumsum` treating NaN as zero."""
    _check_out("nancumsum", out)
    return _fnp.cumsum(_nan_fill(a, 0), axis, dtype)


def nancumprod(a, axis=None, dtype=None, out=None):
    """`cumprod` treating NaN as one."""
    _check_out("nancumprod", out)
    return _fnp.cumprod(_nan_fill(a, 1), axis, dtype)


def _nan_arg(name, fill):
    def fn(a, axis=None, out=None, keepdims=False):
        x = _fnp.asarray(a)
        if not _dt.is_float(x.dtype):
            return getattr(_fnp, name[3:])(x, axis, keepdims=keepdims)
        nan = _fnp.isnan(x)
        res = getattr(_fnp, name[3:])(_fnp.where(nan, _fnp.full_like(x, fill), x), axis,
                                      keepdims=keepdims)
        # An all-NaN slice gives -1 (JAX's value; NumPy raises ValueError).
        all_nan = _fnp.all(nan, axis=axis, keepdims=keepdims)
        return _fnp.where(all_nan, _fnp.full_like(res, -1), res)
    fn.__name__ = name
    fn.__doc__ = f"`{name[3:]}` ignoring NaN; -1 for an all-NaN slice (as JAX)."
    return fn


nanargmax = _nan_arg("nanargmax", -_np.inf)


nanargmin = _nan_arg("nanargmin", _np.inf)


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """`var` of the non-NaN elements (where `where` holds): divided by their count -
    `ddof`, NaN when that is <= 0; `mean` replaces the computed mean. Computed in `var`'s
    types (`dtype` when given: an integer `dtype` gives an integer result, as in JAX)."""
    from ._reductions import _var_types
    _check_out("nanvar", out)
    x = _fnp.asarray(a)
    comp, out_dt = _var_types(x.dtype, dtype, "nanvar")
    x = x.astype(comp)
    if mean is None:
        m = _fnp.nanmean(x, axis, dtype=comp, keepdims=True, where=where)
    else:
        m = _fnp.asarray(mean).astype(comp)
    nan = _fnp.isnan(x)
    d = _fnp.where(nan, _fnp.zeros_like(x), x - m)
    if _dt.is_complex(d.dtype):
        d = _fnp.abs(d)
    n = _fnp.sum(_fnp.logical_not(nan), axis=axis, keepdims=keepdims, where=where) - ddof
    empty = n <= 0
    # JAX's order: NaN in the sum first (an integer sum becomes a float), then
    # the division by the count in the sum's type.
    s = _fnp.where(empty, _np.nan, _fnp.sum(d * d, axis=axis, keepdims=keepdims, where=where))
    res = s / _fnp.where(empty, 1, n).astype(s.dtype)
    return res.astype(out_dt)


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, where=None, mean=None):
    """`std` of the non-NaN elements: the square root of `nanvar` (same arguments). A
    `dtype` must be inexact (JAX raises for the square root of an integer variance)."""
    _check_out("nanstd", out)
    if dtype is not None and not _dt.is_inexact(_dt.canonicalize(dtype)):
        raise TypeError(f"nanstd: dtype must be inexact, got {_np.dtype(dtype)}")
    return _fnp.sqrt(nanvar(a, axis, dtype, None, ddof, keepdims, where, mean))


def logaddexp2(x1, x2):
    # Promote the operands together first (JAX's rule: float16 with int32 is float16; each
    # int operand times ln 2 alone would become a float). A Python float (weak)
    # keeps float32 inputs float32.
    a, b = _promote("logaddexp2", x1, x2, to_float=True)
    ln2 = float(_np.log(2.0))
    return _fnp.logaddexp(_fnp.multiply(a, ln2), _fnp.multiply(b, ln2)) / ln2


def ldexp(x1, x2):
    """x1 * 2**x2, with the power of two built exactly (never exp2) and applied in three
    factors, so that 0.75 * 2**128 is finite and 2**-149 exact in float32."""
    from .._lax_bitcast import _pow2
    x = _fnp.asarray(x1)
    if not _dt.is_float(x.dtype):
        x = x.astype(_real_float(x.dtype))
    cdt = _np.dtype(_np.float64) if x.dtype.itemsize == 8 else _np.dtype(_np.float32)
    v = x.astype(cdt)
    lim = 3 * (1000 if cdt == _np.float64 else 125)
    n = _fnp.clip(_fnp.asarray(x2).astype(_dt.int32), -lim, lim)
    n1 = _fnp.floor_divide(n, 3)
    n2 = _fnp.floor_divide(n - n1, 2)
    n3 = n - n1 - n2
    v, n1, n2, n3 = _fnp.broadcast_arrays(v, n1, n2, n3)
    return (v * _pow2(n1, cdt) * _pow2(n2, cdt) * _pow2(n3, cdt)).astype(x.dtype)


def gcd(x1, x2):
    """Euclid's algorithm elementwise, as a `while_loop` until every divisor is 0 (one
    compiled loop, eagerly too; unrolled it was 64 trips of eager operations for int32)."""
    from .. import lax
    a, b = _int_operands("gcd", x1, x2)
    a, b = _fnp.broadcast_arrays(_fnp.abs(a), _fnp.abs(b))

    def step(ab):
        a, b = ab
        nz = b != 0
        return _fnp.where(nz, b, a), _fnp.where(nz, _fnp.remainder(a, _fnp.where(
            nz, b, _fnp.ones_like(b))), b)

    a, _ = lax.while_loop(lambda ab: _fnp.any(ab[1] != 0), step, (a, b))
    # abs(INT_MIN) stays negative; the remainders above can leave a negative divisor.
    return _fnp.abs(a)


def _int_operands(name, x1, x2):
    """The operands of gcd/lcm promoted together; JAX refuses floats and bools (a float's
    Euclid loop need not end: inf and NaN never reach a zero remainder)."""
    a, b = _promote(name, _fnp.asarray(x1), _fnp.asarray(x2))
    if not _dt.is_int(a.dtype):
        raise ValueError(f"Arguments to jax.numpy.{name} must be integers (got {a.dtype}).")
    return a, b


def lcm(x1, x2):
    """|x1| // gcd(x1, x2) * |x2| in the operands' dtype (0 where both are 0): the product
    wraps where it overflows, as in NumPy and JAX (lcm(int32 2, int32 2**31 - 1) is -2);
    no abs() after it, which turned the wrapped -2 into 2."""
    a, b = _int_operands("lcm", x1, x2)
    g = gcd(a, b)
    safe = _fnp.where(g == 0, _fnp.ones_like(g), g)
    return _fnp.where(g == 0, _fnp.zeros_like(g), _fnp.abs(a) // safe * _fnp.abs(b))


_ISIN_METHODS = ("auto", "compare_all", "binary_search", "sort")


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Whether each element of `element` occurs in `test_elements` (negated when `invert`).
    `assume_unique` and `method` (JAX's algorithm choice) do not change the result."""
    if method not in _ISIN_METHODS:
        raise ValueError(f"isin: method must be one of {_ISIN_METHODS}, got {method!r}")
    e = _fnp.asarray(element)
    t = _fnp.ravel(_fnp.asarray(test_elements))
    out = _fnp.any(_fnp.equal(e[..., None], t), axis=-1)
    return _fnp.logical_not(out) if invert else out


def in1d(ar1, ar2, invert=False):
    return isin(_fnp.ravel(ar1), ar2, invert=invert)


def bincount(x, weights=None, minlength=0, length=None):
    """The number of occurrences of each value of the 1-D integer (or bool) array `x`, or
    the sums of `weights` for each; negative values count in bin 0 (JAX's)."""
    x = _fnp.asarray(x)
    if not (_dt.is_int(x.dtype) or _dt.is_bool(x.dtype)):
        raise TypeError(f"bincount: x must have an integer type, got {x.dtype}; round or "
                        f"cast it first (x.astype(jnp.int32))")
    if x.ndim != 1:
        raise ValueError(f"bincount: x must be 1-D (as in NumPy and JAX), got shape "
                         f"{x.shape}; flatten it with x.ravel()")
    if weights is not None and _dt.is_bool(_fnp.asarray(weights).dtype):
        raise TypeError("bincount: boolean weights cannot be summed (JAX raises too); cast "
                        "them with weights.astype(jnp.int32) or to a float")
    if length is None:
        if isinstance(x, Tracer):
            raise _core.ConcretizationTypeError(              # (JAX's class)
                "bincount: the result's length depends on the traced input's values; pass "
                "length= (a static int) under jit")
        values = _np.asarray(x).astype(_np.int64)      # initial=-1 is no uint32 value
        length = builtins.max(int(_np.max(values, initial=-1)) + 1, minlength)
    # counts in the default integer (int64 under x64), as JAX's
    w = (_fnp.ones_like(x, _dt.DEFAULT_INT_()) if weights is None
         else _fnp.ravel(_fnp.asarray(weights)))
    # JAX clips negative values to the first bin (an index of -1 would count in the last)
    return _fnp.zeros((length,), w.dtype).at[_fnp.maximum(x, 0)].add(w)


def indices(dimensions, dtype=None, sparse=False):
    """The index grids of an array of shape `dimensions`, in `dtype` (the default integer,
    int64 under x64, as JAX's)."""
    dims = tuple(dimensions)
    dtype = _dt.DEFAULT_INT_() if dtype is None else _dt.canonicalize(dtype)
    from ..prims.structural import iota
    if sparse:
        return tuple(_fnp.reshape(iota(dtype, (d,), 0),
                                  tuple(d if j == i else 1 for j in range(len(dims))))
                     for i, d in enumerate(dims))
    if not dims:
        return _fnp.zeros((0,), dtype)      # (no grids: NumPy's and JAX's shape (0,))
    return _fnp.stack([iota(dtype, dims, i) for i in range(len(dims))])


def fromfunction(function, shape, dtype=_dt.float32, **kwargs):
    return function(*indices(shape, dtype), **kwargs)


def ix_(*args):
    """Open-mesh index arrays from 1-D integer sequences (NumPy's `ix_`): the i-th has
    shape (1, ..., n_i, ..., 1). Boolean masks are not supported (as in JAX): pass
    `nonzero(mask)[0]`."""
    n = len(args)
    arrs = [_fnp.asarray(a) for a in args]
    for i, a in enumerate(arrs):
        if a.dtype == _np.bool_:
            raise NotImplementedError(f"ix_: argument {i} is a boolean mask, which is not "
                                      f"supported (as in JAX); pass nonzero(mask)[0]")
        if a.ndim != 1:
            raise ValueError(f"ix_: argument {i} must be 1-D (a cross index), got shape "
                             f"{a.shape}")
    return tuple(_fnp.reshape(a, tuple(-1 if j == i else 1 for j in range(n)))
                 for i, a in enumerate(arrs))


def tril_indices(n, k=0, m=None):
    r, c = _np.tril_indices(n, k, m)
    dt = _dt.DEFAULT_INT_()                # int64 under x64, as JAX's
    return _fnp.asarray(r.astype(dt)), _fnp.asarray(c.astype(dt))


def triu_indices(n, k=0, m=None):
    r, c = _np.triu_indices(n, k, m)
    dt = _dt.DEFAULT_INT_()                # int64 under x64, as JAX's
    return _fnp.asarray(r.astype(dt)), _fnp.asarray(c.astype(dt))


def diag_indices(n, ndim=2):
    i = _fnp.arange(n)
    return (i,) * ndim


def tril_indices_from(arr, k=0):
    a = _fnp.asarray(arr)
    return tril_indices(a.shape[-2], k, a.shape[-1])


def triu_indices_from(arr, k=0):
    a = _fnp.asarray(arr)
    return triu_indices(a.shape[-2], k, a.shape[-1])


def append(arr, values, axis=None):
    a, v = _fnp.asarray(arr), _fnp.asarray(values)
    if axis is None:
        return _fnp.concatenate([_fnp.ravel(a), _fnp.ravel(v)])
    return _fnp.concatenate([a, v], axis)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """`arr` without the entries `obj` (an index, a sequence of indices, a boolean mask or
    a slice) along `axis` (flattened when None). Traced indices need
    `assume_unique_indices=True` (the output size is then `n - len(obj)`), as in JAX."""
    a = _fnp.asarray(arr)
    if axis is None:
        a, axis = _fnp.ravel(a), 0
    axis = _axis(axis, a.ndim, "delete")
    n = a.shape[axis]
    if isinstance(obj, Tracer) or (assume_unique_indices and not isinstance(obj, slice)):
        if not assume_unique_indices:
            raise _core.ConcretizationTypeError(
                "delete: traced indices make the output size depend on their values; pass "
                "assume_unique_indices=True (each index given once)")
        idx = _fnp.ravel(_fnp.asarray(obj))
        if not _dt.is_int(idx.dtype):
            raise TypeError(f"delete: indices must be integers, got {idx.dtype}")
        idx = _fnp.where(idx < 0, idx + n, idx)
        gone = _fnp.zeros((n,), _dt.bool_).at[idx].set(True)
        keep = _fnp.nonzero(_fnp.logical_not(gone), size=n - idx.shape[0])[0]
        return _fnp.take(a, keep, axis=axis)
    keep = _np.ones(n, bool)
    if isinstance(obj, slice):
        keep[obj] = False
    else:
        o = _np.asarray(obj)
        if o.dtype == bool:
            if o.shape != (n,):
                raise ValueError(f"delete: a boolean mask must have shape ({n},), got "
                                 f"{o.shape}")
            keep = ~o
        else:
            if o.size and not _np.issubdtype(o.dtype, _np.integer):
                raise IndexError(f"delete: indices must be integers, got {o.dtype}")
            o = o.astype(_np.int64).ravel()
            if _np.any((o < -n) | (o >= n)):
                raise IndexError(f"delete: index {o[(o < -n) | (o >= n)][0]} is out of "
                                 f"bounds for axis {axis} with size {n}")
            keep[o] = False
    return _fnp.take(a, _fnp.asarray(_np.nonzero(keep)[0].astype(_np.int32)), axis=axis)


def insert(arr, obj, values, axis=None):
    """JAX's `jnp.insert` (NumPy's): `values` inserted before the index or indices `obj`
    (an int, a 1-D integer array, or a slice) along `axis` (the flattened array when
    None); a scalar index takes a block of `values` along `axis`, indices take one slice
    each, in their sorted order; negative indices count from the end and out-of-range ones
    are clipped (JAX's)."""
    a = _fnp.asarray(arr)
    if axis is None:
        a, axis = _fnp.ravel(a), 0
    axis = _axis(axis, a.ndim, "insert")
    if isinstance(obj, slice):
        indices = _fnp.arange(*obj.indices(a.shape[axis]))
    else:
        indices = _fnp.asarray(obj)
    if indices.ndim > 1:
        raise ValueError(f"jnp.insert(): obj must be a slice, a one-dimensional array, or a "
                         f"scalar; got {obj}")
    if not _dt.is_int(indices.dtype):
        if indices.size == 0 and not isinstance(obj, _fnp.ndarray):
            indices = indices.astype(_fnp.int32)
        else:
            raise ValueError(f"jnp.insert(): index array must be integer typed; got {obj}")
    v = _fnp.asarray(values).astype(a.dtype)
    if v.ndim < a.ndim:
        v = _fnp.reshape(v, (1,) * (a.ndim - v.ndim) + v.shape)
    if indices.size == 1:
        index = _fnp.ravel(indices)[0]
        if indices.ndim == 0:
            v = _fnp.moveaxis(v, 0, axis)
        indices = _fnp.full(v.shape[axis], index, indices.dtype)
    n_input = a.shape[axis]
    n_insert = _np.broadcast_shapes(indices.shape, (v.shape[axis],))[0]
    out_shape = list(a.shape)
    out_shape[axis] += n_insert
    out = _fnp.zeros(tuple(out_shape), a.dtype)
    indices = _fnp.where(indices < 0, indices + n_input, indices)
    indices = _fnp.clip(indices, 0, n_input)
    values_ind = indices.at[_fnp.argsort(indices, stable=True)].add(
        _fnp.arange(n_insert, dtype=indices.dtype))
    arr_mask = _fnp.ones(n_input + n_insert, dtype=bool).at[values_ind].set(False)
    arr_ind = _fnp.where(arr_mask, size=n_input)[0]
    out = out.at[(slice(None),) * axis + (values_ind,)].set(v)
    return out.at[(slice(None),) * axis + (arr_ind,)].set(a)


def unstack(x, axis=0):
    x = _fnp.asarray(x)
    return tuple(_fnp.take(x, i, axis=axis) for i in range(x.shape[axis]))


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Dot products of the vectors along `axis` of the broadcast `x1` and `x2` (the array
    API's `vecdot`); `precision` accepted, `preferred_element_type` the accumulation and
    result dtype."""
    a, b = _promote_dtypes_only([x1, x2])
    if preferred_element_type is not None:
        pet = _pet(preferred_element_type)
        a, b = a.astype(pet), b.astype(pet)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("vecdot: operands must have at least one dimension")
    if a.shape[axis] != b.shape[axis]:
        raise ValueError(f"vecdot: axis {axis} has length {a.shape[axis]} in x1 {a.shape} "
                         f"and {b.shape[axis]} in x2 {b.shape}")
    if _dt.is_complex(a.dtype):
        a = _fnp.conj(a)                  # NumPy's and JAX's vecdot conjugate x1
    # summed in the operands' type, as JAX's dot_general (int32 stays int32 under x64,
    # int8 stays int8; sum would widen them to the default int)
    return _fnp.sum(_fnp.multiply(a, b), axis=axis, dtype=a.dtype)


def matvec(x1, x2):
    return _fnp.matmul(x1, _fnp.asarray(x2)[..., None])[..., 0]


def vecmat(x1, x2):
    return _fnp.matmul(_fnp.asarray(x1)[..., None, :], x2)[..., 0, :]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The trapezoidal rule along `axis`, with JAX's formula: integer and bool `y` (and `x`)
    are converted to a float type first (adding uint8 samples in uint8 would wrap), and a
    constant spacing gives dx * (sum(y) - (y[0] + y[-1]) / 2)."""
    if x is None:
        y_arr = _promote_inexact(_fnp.asarray(y))
        d = _fnp.asarray(dx)
        if d.ndim > 0:
            d = _fnp.moveaxis(_fnp.expand_dims(d, tuple(range(y_arr.ndim - d.ndim))), axis, -1)
    else:
        y_arr, x_arr = _promote_inexact(_fnp.asarray(y), _fnp.asarray(x))
        d = _fnp.diff(x_arr) if x_arr.ndim == 1 else _fnp.moveaxis(
            _fnp.diff(x_arr, axis=axis), axis, -1)
    y_arr = _fnp.moveaxis(y_arr, _axis(axis, y_arr.ndim, "trapezoid"), -1)
    if d.ndim == 0 or d.shape[-1] == 1:
        d = d if d.ndim == 0 else d[..., 0]
        return d * (y_arr.sum(-1) - 0.5 * (y_arr[..., 0] + y_arr[..., -1]))
    return 0.5 * (d * (y_arr[..., 1:] + y_arr[..., :-1])).sum(-1)


def _promote_inexact(*arrays):
    """The arrays promoted together, then to a float (`dtypes.to_inexact`) when that is not
    inexact (JAX's promote_dtypes_inexact)."""
    dt, weak = _dt.result_type(*[(a.dtype, a.weak_type) for a in arrays])
    dt = _dt.to_inexact(dt)
    out = [_fnp.astype(a, dt) for a in arrays]
    return out[0] if len(out) == 1 else out


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None,
        dtype=None):
    """The covariance matrix of the variables in the rows of `m` (columns when not
    `rowvar`), with `y`'s variables appended; integer frequency weights `fweights` and
    observation weights `aweights` as NumPy. Divides by N - 1 (N when `bias`, N - `ddof`
    when given; the weighted analogues with weights). A single variable gives a 0-d
    result."""
    x = _fnp.asarray(m)
    if x.ndim > 2:
        raise ValueError(f"cov: m has more than 2 dimensions (shape {x.shape})")
    if x.ndim == 1:
        x = x[None, :]
    if not rowvar:
        x = x.T
    if y is not None:
        yy = _fnp.asarray(y)
        yy = yy[None, :] if yy.ndim == 1 else (yy if rowvar else yy.T)
        x = _fnp.concatenate([x, yy], 0)
    if dtype is not None:
        x = x.astype(dtype)
    if not _dt.is_inexact(x.dtype):
        x = x.astype(_dt.to_inexact(x.dtype))
    n = x.shape[1]
    dd = (0 if bias else 1) if ddof is None else ddof
    w = None
    if fweights is not None:
        fw = _fnp.asarray(fweights)
        if fw.ndim != 1 or fw.shape[0] != n:
            raise ValueError(f"cov: fweights must be 1-D of length {n}, got shape {fw.shape}")
        if not (_dt.is_int(fw.dtype) or _dt.is_bool(fw.dtype)):
            raise TypeError(f"cov: fweights must be integers, got {fw.dtype}")
        w = fw.astype(x.dtype)
    if aweights is not None:
        aw = _fnp.asarray(aweights)
        if aw.ndim != 1 or aw.shape[0] != n:
            raise ValueError(f"cov: aweights must be 1-D of length {n}, got shape {aw.shape}")
        aw = aw.astype(x.dtype)
        w = aw if w is None else w * aw
    if w is None:
        xc = x - _fnp.mean(x, axis=1, keepdims=True)
        c = _fnp.matmul(xc, _fnp.conj(xc.T)) / (n - dd)
    else:
        w_sum = _fnp.sum(w)
        xc = x - _fnp.sum(x * w, axis=1, keepdims=True) / w_sum
        if dd == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - dd
        else:
            fact = w_sum - dd * _fnp.sum(w * aw) / w_sum
        c = _fnp.matmul(xc * w, _fnp.conj(xc.T)) / fact
    return _fnp.squeeze(c) if c.shape == (1, 1) else c


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """Pearson correlation coefficients of the variables (see `cov`), clipped to
    [-1, 1]."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = _fnp.sqrt(_fnp.real(_fnp.diagonal(c)))
    r = c / d[:, None] / d[None, :]
    if _dt.is_complex(r.dtype):
        # the real and imaginary parts clipped separately (NumPy)
        return _fnp.real(r).clip(-1, 1) + 1j * _fnp.imag(r).clip(-1, 1)
    return _fnp.clip(r, -1, 1)


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """`num` values in geometric progression from `start` to `stop` (NumPy's algorithm:
    start is rotated onto the positive reals, the progression taken there and rotated
    back, so negative endpoints of one sign work and complex ones follow a logarithmic
    spiral; the endpoints are exact; mixed signs give NaN between them)."""
    if dtype is None:
        common = _fnp.result_type(start, stop)
        dtype = _dt.to_inexact(common)
        dtype = _dt.canonicalize_value(dtype)
    else:
        dtype = _dt.canonicalize(dtype)
    if not _dt.is_inexact(dtype):
        # computed in the integer dtype's inexact type, as JAX's (float32 for int32 under
        # x64 too), then truncated toward zero
        comp = _dt.to_inexact(dtype)
        return geomspace(_fnp.asarray(start, comp), _fnp.asarray(stop, comp), num, endpoint,
                         None, axis).astype(dtype)
    s, e = _fnp.asarray(start, dtype), _fnp.asarray(stop, dtype)
    sign = _fnp.sign(s)
    s, e = s / sign, e / sign
    out = _fnp.logspace(_fnp.log10(s), _fnp.log10(e), num, endpoint, 10.0, dtype, 0)
    shape = _np.broadcast_shapes(s.shape, e.shape)
    if num > 0:
        out = out.at[0].set(_fnp.broadcast_to(s, shape))
    if num > 1 and endpoint:
        out = out.at[-1].set(_fnp.broadcast_to(e, shape))
    return _fnp.moveaxis(out * sign, 0, axis)


def ediff1d(ary, to_end=None, to_begin=None):
    """The differences of the flattened `ary`, with `to_begin` and `to_end` (cast to their
    dtype, as JAX's: to_end=2.5 after int32 differences is 2; funcgrad promoted)."""
    d = _fnp.diff(_fnp.ravel(ary))

    def part(v):
        return _fnp.ravel(_fnp.asarray(v)).astype(d.dtype)
    parts = ([part(to_begin)] if to_begin is not None else []) + [d] + (
        [part(to_end)] if to_end is not None else [])
    return _fnp.concatenate(parts) if len(parts) > 1 else d


def vander(x, N=None, increasing=False):
    x = _fnp.asarray(x)
    N = x.shape[0] if N is None else N
    # The powers are of x's own dtype, as JAX's (uint8 [200] gives [64, 200, 1], wrapping;
    # int32 stays int32 under x64); complex x takes whole exponents. JAX rejects bool x;
    # funcgrad's powers of a mask count in the default int.
    pdt = (_dt.DEFAULT_INT_() if _dt.is_bool(x.dtype) or _dt.is_complex(x.dtype)
           else x.dtype)
    p = _fnp.arange(N, dtype=pdt)
    if not increasing:
        p = p[::-1]
    return _fnp.power(x[:, None], p[None, :])


def frexp(x):
    """(m, e) with x = m * 2**e and 0.5 <= |m| < 1 (m = x, e = 0 for 0, inf and NaN). The
    exponent is found with exact comparisons against powers of two (log2 may round across
    one: 7.9999995 is 0.99999994 * 2**3, not 0.49999997 * 2**4), subnormals included."""
    from .._lax_bitcast import _pow2
    x = _fnp.asarray(x)
    if not _dt.is_float(x.dtype):
        x = x.astype(_real_float(x.dtype))
    cdt = _np.dtype(_np.float64) if x.dtype.itemsize == 8 else _np.dtype(_np.float32)
    v = x.astype(cdt)
    ax = _fnp.abs(v)
    ok = _fnp.isfinite(ax) & (ax != 0)
    safe = _fnp.where(ok, ax, cdt.type(1.0))
    e = _fnp.floor(_fnp.log2(safe)).astype(_dt.int32)
    e = _fnp.where(_pow2(e, cdt) > safe, e - 1, e)
    e = _fnp.where(_pow2(e + 1, cdt) <= safe, e + 1, e)
    # divide by 2**(e + 1) in range: pre-scale the largest and the subnormal values
    shift = 64
    big, small = e + 1 > 100, e + 1 < -100
    scaled = _fnp.where(big, safe * cdt.type(2.0 ** -shift),
                        _fnp.where(small, safe * cdt.type(2.0 ** shift), safe))
    e1 = _fnp.where(big, e + 1 - shift, _fnp.where(small, e + 1 + shift, e + 1))
    m = scaled / _pow2(e1, cdt)
    m = _fnp.where(v < 0, -m, m)
    m = _fnp.where(ok, m, v).astype(x.dtype)
    return m, _fnp.where(ok, e + 1, 0).astype(_dt.int32)


# ~430 primitives each (exact comparisons against powers of two), jitted in JAX: compiled
# once repeating them pays (at once on OpenCL)
frexp = compile_when_it_pays(frexp)
ldexp = compile_when_it_pays(ldexp)


def modf(x):
    """(fractional part, integral part), both in a float type (integers and bools
    converted, as JAX does)."""
    x = _promote_inexact(_fnp.asarray(x))
    i = _fnp.trunc(x)
    return x - i, i


def spacing(x):
    """The distance from x to the next float away from zero, signed like x (NumPy's
    `spacing`): eps * 2**floor(log2|x|), the smallest subnormal near zero, inf at the
    largest finite value, NaN at +-inf and NaN."""
    x = _fnp.asarray(x)
    if not _dt.is_float(x.dtype):
        x = x.astype(_real_float(x.dtype))
    info = _np.finfo(x.dtype)
    ax = _fnp.abs(x)
    normal = ax >= float(info.tiny)
    safe = _fnp.where(normal, ax, _fnp.ones_like(ax))
    e = _fnp.floor(_fnp.log2(safe))
    # log2 may round across a power of two: fix the exponent with exact comparisons.
    two = _fnp.full_like(ax, 2.0)
    p = _fnp.power(two, e)
    e = _fnp.where(p > safe, e - 1, e)
    p = _fnp.power(two, e)
    e = _fnp.where(p * 2 <= safe, e + 1, e)
    sp = _fnp.power(two, e) * float(info.eps)
    sp = _fnp.where(normal, sp, _fnp.full_like(ax, float(info.smallest_subnormal)))
    # The float after the largest finite one is inf (NumPy: spacing(max) = inf).
    sp = _fnp.where(ax == float(info.max), _fnp.full_like(ax, _np.inf), sp)
    sp = _fnp.where(_fnp.isfinite(x), sp, _fnp.full_like(ax, _np.nan))
    return _fnp.where(x < 0, -sp, sp)


def choose(a, choices, out=None, mode="raise"):
    """Elementwise pick from `choices` by the integer index array `a` (all broadcast
    together). Out-of-range indices: "raise" (concrete `a` only, as JAX), "wrap" or
    "clip"."""
    _check_out("choose", out)
    idx = _fnp.asarray(a)
    if not _dt.is_int(idx.dtype):
        raise ValueError(f"choose: the index array a must be integer typed, got {idx.dtype}")
    n = len(choices)
    if mode == "raise":
        if isinstance(idx, Tracer):
            raise _core.ConcretizationTypeError(
                "choose: mode='raise' needs a concrete index array (it checks it); under "
                "jit use mode='wrap' or mode='clip'")
        v = _np.asarray(idx)
        if _np.any((v < 0) | (v >= n)):
            raise ValueError(f"choose: invalid entry in choice array (outside [0, {n}))")
    elif mode == "wrap":
        idx = _fnp.remainder(idx, n)
    elif mode == "clip":
        idx = _fnp.clip(idx, 0, n - 1)
    else:
        raise ValueError(f"choose: mode must be 'raise', 'wrap' or 'clip', got {mode!r}")
    arrs = _promote_dtypes_only([_fnp.asarray(c) for c in choices])
    res = arrs[0]
    for k, c in enumerate(arrs[1:], 1):
        res = _fnp.where(idx == k, c, res)
    return _fnp.broadcast_to(res, _np.broadcast_shapes(idx.shape, *[c.shape for c in arrs]))


def compress(condition, a, axis=None, *, size=None, fill_value=0, out=None):
    """The slices of `a` along `axis` (flattened when None) where the 1-D `condition` is
    true. A `condition` shorter than the axis leaves the remaining slices out (NumPy). With
    a static `size` (needed under jit for a traced condition) the result has `size` slices,
    padded with `fill_value`."""
    _check_out("compress", out)
    c = _fnp.asarray(condition)
    if c.ndim != 1:
        raise ValueError(f"compress: condition must be a 1-D array, got shape {c.shape}")
    c = c.astype(_dt.bool_)
    x = _fnp.asarray(a)
    if axis is None:
        x, axis = _fnp.ravel(x), 0
    x = _fnp.moveaxis(x, _axis(axis, x.ndim, "compress"), 0)
    n = x.shape[0]
    if c.shape[0] > n:
        extra = c[n:]
        if not isinstance(extra, Tracer) and bool(_np.any(_np.asarray(extra))):
            raise ValueError(f"compress: condition has a true entry beyond the {n} slices of "
                             f"axis {axis}")
        c = c[:n]
    x = x[:c.shape[0]]
    if size is None:
        if isinstance(c, Tracer):
            raise _core.ConcretizationTypeError(
                "compress: the output shape depends on the condition's values; under jit "
                "pass a static size=... (padded with fill_value)")
        keep = _np.nonzero(_np.asarray(c))[0].astype(_np.int32)
        return _fnp.moveaxis(_fnp.take(x, _fnp.asarray(keep), axis=0), 0, axis)
    idx = _fnp.nonzero(c, size=size)[0]
    res = _fnp.take(x, idx, axis=0) if c.shape[0] else _fnp.zeros((size,) + x.shape[1:],
                                                                 x.dtype)
    valid = _fnp.arange(size) < _fnp.sum(c.astype(_dt.int32))
    valid = _fnp.reshape(valid, (size,) + (1,) * (x.ndim - 1))
    res = _fnp.where(valid, res, _fnp.asarray(fill_value).astype(x.dtype))
    return _fnp.moveaxis(res, 0, axis)


def extract(condition, arr, *, size=None, fill_value=0):
    """The elements of the flattened `arr` where the flattened `condition` is nonzero
    (`size`/`fill_value` as in `compress`)."""
    return compress(_fnp.ravel(_fnp.asarray(condition)), _fnp.ravel(_fnp.asarray(arr)),
                    size=size, fill_value=fill_value)


def put_along_axis(arr, indices, values, axis, inplace=False, mode=None):
    """A copy of `arr` with `values` written at `indices` along `axis` (JAX's
    `put_along_axis`; `inplace` must be False). `indices` has `arr`'s number of dimensions
    and broadcasts against `arr` on the other axes; `values` broadcasts to `indices`. With
    `axis=None` the flattened array is indexed by 1-D `indices` and the result keeps
    `arr`'s shape."""
    if inplace:
        raise ValueError("put_along_axis: funcgrad arrays are immutable; pass "
                         "inplace=False (JAX requires this too)")
    a = _fnp.asarray(arr)
    idx = _fnp.asarray(indices)
    vals = _fnp.asarray(values)
    original_shape = a.shape
    if axis is None:
        a, axis = _fnp.ravel(a), 0
    if a.ndim != idx.ndim:
        raise ValueError(f"put_along_axis arguments 'arr' and 'indices' must have same ndim. "
                         f"Got arr.ndim={a.ndim} and indices.ndim={idx.ndim}.")
    try:
        vals = _fnp.broadcast_to(vals, idx.shape)
    except ValueError:
        raise ValueError(f"put_along_axis argument 'values' must be broadcastable to "
                         f"'indices'. Got values.shape={vals.shape} and "
                         f"indices.shape={idx.shape}.") from None
    axis = _axis(axis, a.ndim, "put_along_axis")
    # NumPy's/JAX's sparse index grid: arange(n) along each other axis, broadcast with idx
    comps = tuple(idx if d == axis else
                  _fnp.reshape(_fnp.arange(n),
                               tuple(n if e == d else 1 for e in range(a.ndim)))
                  for d, n in enumerate(a.shape))
    out = a.at[comps].set(vals, mode=mode)
    return _fnp.reshape(out, original_shape) if out.shape != original_shape else out


def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """`func1d(vector, *args, **kwargs)` applied to each 1-D slice of `arr` along `axis`,
    by vmap (JAX's construction): the dimensions of func1d's output replace `axis`, in
    place, as NumPy's."""
    from ..api import vmap
    a = _fnp.asarray(arr)
    axis = _axis(axis, a.ndim, "apply_along_axis")
    fn = lambda v: func1d(v, *args, **kwargs)  # noqa: E731
    for i in range(1, a.ndim - axis):
        fn = vmap(fn, in_axes=i, out_axes=-1)
    for _ in range(axis):
        fn = vmap(fn, in_axes=0, out_axes=0)
    return fn(a)


def _parse_gufunc_signature(signature):
    """'(m,n),(n)->(m)' as ([('m', 'n'), ('n',)], [('m',)])."""
    import re

    def groups(part):
        found = re.findall(r"\(([^()]*)\)", part)
        if re.sub(r"\([^()]*\)", "", part).replace(",", "").strip():
            raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
        return [tuple(d.strip() for d in g.split(",") if d.strip()) for g in found]

    if "->" not in signature:
        raise ValueError(f"vectorize: not a valid gufunc signature: {signature!r}")
    ins, outs = signature.split("->")
    return groups(ins), groups(outs)


def vectorize(pyfunc, excluded=frozenset(), signature=None):
    """`pyfunc` mapped over the broadcast leading (loop) dimensions of its arguments, by
    vmap (JAX's `vectorize`). Without `signature` every argument is mapped elementwise;
    with a gufunc signature such as '(n),(n)->()' each argument keeps its trailing core
    dimensions. Positional arguments whose index is in `excluded`, and keyword
    arguments, are passed through unmapped (as JAX; a name in `excluded`, which JAX
    accepts for a keyword argument, changes nothing)."""
    from ..api import vmap

    excluded = frozenset(excluded)
    for e in excluded:
        if not isinstance(e, (int, str)) or isinstance(e, bool):
            raise TypeError(f"vectorize: excluded must hold positional indices or keyword "
                            f"names, got {e!r}")
    excluded = frozenset(e for e in excluded if isinstance(e, int))
    in_core = None if signature is None else _parse_gufunc_signature(signature)[0]

    def wrapped(*args, **kwargs):
        mapped = [i for i in range(len(args)) if i not in excluded]
        arrs = [_fnp.asarray(args[i]) for i in mapped]
        if in_core is None:
            cores = [()] * len(arrs)
        else:
            if len(in_core) != len(arrs):
                raise TypeError(f"vectorize: signature {signature!r} has {len(in_core)} "
                                f"inputs, got {len(arrs)} (non-excluded) arguments")
            cores = in_core
        sizes = {}
        loops = []
        for a, core in zip(arrs, cores):
            if a.ndim < len(core):
                raise ValueError(f"vectorize: input of shape {a.shape} has fewer dimensions "
                                 f"than its core dimensions {core} in {signature!r}")
            for name, n in zip(core, a.shape[a.ndim - len(core):]):
                if sizes.setdefault(name, n) != n:
                    raise ValueError(f"vectorize: inconsistent size for core dimension "
                                     f"{name!r}: {sizes[name]} vs {n}")
            loops.append(a.shape[:a.ndim - len(core)])
        loop = tuple(_np.broadcast_shapes(*loops)) if loops else ()
        arrs = [_fnp.broadcast_to(a, loop + a.shape[a.ndim - len(core):])
                for a, core in zip(arrs, cores)]

        def call(*mapped_args):
            full = list(args)
            for i, v in zip(mapped, mapped_args):
                full[i] = v
            return pyfunc(*full, **kwargs)

        fn = call
        for _ in loop:
            fn = vmap(fn)
        return fn(*arrs)
    return wrapped


def isreal(x):
    """Elementwise: whether the imaginary part is zero (True everywhere for real input)."""
    a = _fnp.asarray(x)
    if not _dt.is_complex(a.dtype):
        return _fnp.ones_like(a, _dt.bool_)
    return _fnp.imag(a) == 0


def iscomplex(x):
    """Elementwise: whether the imaginary part is nonzero (False everywhere for real
    input)."""
    a = _fnp.asarray(x)
    if not _dt.is_complex(a.dtype):
        return _fnp.zeros_like(a, _dt.bool_)
    return _fnp.imag(a) != 0


def _dtype_of(x):
    if hasattr(x, "dtype"):
        return _np.dtype(x.dtype)
    return _np.asarray(x).dtype


def isrealobj(x):
    """Whether `x`'s dtype is not complex (a dtype check, as NumPy)."""
    return not _dt.is_complex(_dtype_of(x))


def iscomplexobj(x):
    """Whether `x`'s dtype is complex (a dtype check, whatever the values, as NumPy)."""
    return _dt.is_complex(_dtype_of(x))


def real_if_close(a, tol=100):
    """The real part of a complex `a` when every imaginary part is within `tol` machine
    epsilons of zero (`tol` <= 1 is an absolute bound), else `a` itself (NumPy). The choice
    depends on the values, so `a` must be concrete (not traced under jit)."""
    x = _fnp.asarray(a)
    if not _dt.is_complex(x.dtype):
        return x
    if isinstance(x, Tracer):
        raise TypeError("real_if_close: the result's dtype depends on the values, so the "
                        "argument must be concrete; it is traced (under jit/vmap/grad). "
                        "Use real(x) where the imaginary part is known to vanish")
    bound = tol * float(_dt.finfo(x.dtype).eps) if tol > 1 else tol
    if bool(_np.all(_np.abs(_np.imag(_np.asarray(x))) < bound)):
        return _fnp.real(x)
    return x


def sort_complex(a):
    """`a` sorted along its last axis, lexicographically (real part first), as a complex
    array (NumPy, JAX)."""
    x = _fnp.asarray(a)
    if not _dt.is_complex(x.dtype):
        x = x.astype(_dt.complex_dtype(x.dtype))
    return _fnp.sort(x, axis=-1)


def block(arrays):
    """An array assembled from nested lists of blocks (NumPy's and JAX's `block`): the
    innermost lists concatenate along the last axis, the next ones along the one before,
    and so on; every block (a scalar too) first gains leading axes up to the larger of the
    nesting depth and the largest block rank."""
    def assemble(xs, path):
        if isinstance(xs, tuple):
            raise ValueError(f"block: blocks are given in lists, not tuples (got a tuple at "
                             f"arrays{path}); write [...] instead")
        if not isinstance(xs, list):
            return _fnp.asarray(xs), 1
        if not xs:
            raise ValueError(f"block: empty list at arrays{path}; every list needs a block")
        parts = [assemble(x, f"{path}[{i}]") for i, x in enumerate(xs)]
        depth = parts[0][1]
        if any(d != depth for _, d in parts):
            raise ValueError(f"block: lists nested to different depths at arrays{path} "
                             f"(depths {[d for _, d in parts]}); nest every block equally")
        rank = builtins.max([depth] + [a.ndim for a, _ in parts])
        blocks = [_fnp.reshape(a, (1,) * (rank - a.ndim) + a.shape) for a, _ in parts]
        return _fnp.concatenate(blocks, axis=-depth), depth + 1

    return assemble(arrays, "")[0]


__all__ = [
    "append",
    "apply_along_axis",
    "atan2",
    "bincount",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "block",
    "choose",
    "compress",
    "concat",
    "corrcoef",
    "cov",
    "cumulative_prod",
    "cumulative_sum",
    "delete",
    "diag_indices",
    "ediff1d",
    "extract",
    "frexp",
    "fromfunction",
    "gcd",
    "geomspace",
    "in1d",
    "indices",
    "insert",
    "iscomplex",
    "iscomplexobj",
    "real_if_close",
    "sort_complex",
    "isin",
    "isreal",
    "isrealobj",
    "ix_",
    "lcm",
    "ldexp",
    "logaddexp2",
    "matvec",
    "modf",
    "nanargmax",
    "nanargmin",
    "nancumprod",
    "nancumsum",
    "nanprod",
    "nanstd",
    "nanvar",
    "put_along_axis",
    "spacing",
    "trapezoid",
    "tril_indices",
    "tril_indices_from",
    "triu_indices",
    "triu_indices_from",
    "unstack",
    "vander",
    "vecdot",
    "vecmat",
    "vectorize",
]
