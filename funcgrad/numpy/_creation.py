"""funcgrad.numpy's array creation: `asarray`, `array`, `zeros`, `ones`, `full`, the `*_like`
functions, `arange`, `linspace`, `logspace`, `eye`, `tri`/`tril`/`triu`, `diag`,
`diagonal`, `trace`, `meshgrid` and `copy`; and the argument helpers the other families
share (`_arr`, `_check_out`, `_check_order`, `_shape_tuple`, `_axis`)."""

from __future__ import annotations

import builtins

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from ..core import Array, Tracer
from ..prims import elementwise as _ew
from ..prims import structural as _st

__all__ = [
    "arange", "array", "asarray", "copy", "diag", "diagonal", "empty", "empty_like", "eye",
    "full", "full_like", "identity", "linspace", "logspace", "meshgrid", "ones", "ones_like",
    "trace", "tri", "tril", "triu", "zeros", "zeros_like",
]


def _arr(x):
    return x if isinstance(x, Array) else asarray(x)


def asarray(a, dtype=None, order=None, *, copy=None):
    """Convert to a funcgrad Array (lists of arrays are stacked). `order` may only be None,
    "C", "A" or "K" (funcgrad arrays are row-major); `copy` is accepted (arrays are
    immutable, so a copy is never observable)."""
    _check_order("asarray", order)
    return _converted("asarray", a, dtype)


def _converted(name, a, dtype):
    try:
        return _asarray(a, dtype)
    except OverflowError as e:
        raise OverflowError(
            f"{name}: {e} (JAX raises too; to wrap around, cast a NumPy array: "
            f"jnp.{name}(np.array(values), dtype))"
        ) from None


def _asarray(a, dtype):
    if a is None or isinstance(a, (list, tuple)) and builtins.any(
            e is None for e in _core._flat_seq(a)):
        raise _core.TypeOrValueError("None is not a valid value for jnp.array")  # JAX: Value
    if isinstance(a, Array):
        return a if dtype is None else astype(a, dtype)
    if isinstance(a, (list, tuple)) and builtins.any(isinstance(e, Array)
                                                     for e in _core._flat_seq(a)):
        # JAX's recursion: the leaves' promotion (weak types included) fixes the dtype, then
        # each element converts to it (a Python int leaf out of its range raises), and the
        # result is strongly typed.
        if dtype is None:
            dtype = _dt.result_type(*_core._flat_seq(a))
        return stack([_asarray(e, dtype) for e in a])
    if isinstance(a, (bool, int, float, complex)) and not isinstance(a, _np.generic) \
            and dtype is None:
        return _core.to_array(a)
    if dtype is None and isinstance(a, (list, tuple)):
        list_dtype = _sequence_dtype(a)
        if list_dtype is not None:
            # NumPy converts each leaf to the dtype (a Python int out of its range raises
            # OverflowError, as in JAX)
            return _core.to_array(_np.asarray(a, dtype=list_dtype))
    x = _core.to_array(a, None if dtype is None else _dt.canonicalize(dtype))
    if dtype is not None and x.weak_type:     # an explicit dtype makes a strong type (JAX)
        x = _core.ArrayImpl(x._value, x.aval.strip_weak())
    return x


def _sequence_dtype(seq):
    """JAX's dtype for a (nested) list or tuple holding NumPy scalars or arrays: its
    promotion lattice over the leaves, NumPy values strongly typed and Python scalars
    weakly ([np.float16(1), 2.5] is float16, [bfloat16, float16] float32, [np.int8(1), 3]
    int8), where NumPy's promotion would widen or refuse them. None when every leaf is a
    Python scalar (NumPy's inference is JAX's then) or a leaf is not numeric."""
    pairs, numpy_leaf = [], False
    stack = [seq]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
        elif isinstance(item, (_np.ndarray, _np.generic)):
            if item.dtype.kind not in "biufc" and item.dtype not in _dt.SUPPORTED:
                return None
            pairs.append((_dt.canonicalize_value(item.dtype), False))
            numpy_leaf = True
        elif isinstance(item, (bool, int, float, complex)):
            pairs.append((_dt.python_scalar_dtype(item), True))
        else:
            return None
    if not numpy_leaf:
        return None
    return _dt.result_type(*pairs)[0]


def array(object, dtype=None, *args, copy=True, order="K", ndmin=0):
    """A funcgrad Array from `object` (nested lists are stacked), with at least `ndmin`
    dimensions. `copy` and `order` (None, "C", "A" or "K") as in JAX; `copy`, `order` and
    `ndmin` may also come positionally after `dtype` (NumPy's old order)."""
    if args:
        if len(args) > 3:
            raise TypeError(f"array() takes at most 5 positional arguments but "
                            f"{len(args) + 2} were given")
        copy, order, ndmin = (list(args) + [copy, order, ndmin][len(args):])[:3]
    _check_order("array", order)
    # A Python scalar gives a weakly typed array, as in JAX (jnp.array(3.0) * a float16
    # array is float16); asarray does that.
    x = _converted("array", object, dtype)
    if copy and x is object:          # a new Array, as JAX's (see `copy`)
        x = _handle(x)
    while x.ndim < ndmin:
        x = expand_dims(x, 0)
    return x


def _check_out(name, out):
    """JAX accepts only out=None (arrays are immutable): anything else is an error, never
    silently ignored."""
    if out is not None:
        raise NotImplementedError(f"{name}: the 'out' argument is not supported (funcgrad "
                                  "arrays are immutable; use the returned array), as in JAX")


def _check_order(name, order):
    if order not in (None, "C", "A", "K"):
        raise NotImplementedError(f"{name}: order={order!r} is not supported (funcgrad arrays "
                                  "are row-major: use None, 'C', 'A' or 'K')")


def _float_default(dtype):
    return _dt.DEFAULT_FLOAT if dtype is None else _dt.canonicalize(dtype)


def _shape_tuple(shape, name="shape", allow_unknown=False):
    """A shape argument as a tuple of ints. Float dimensions raise TypeError (NumPy and JAX
    refuse them; truncating 2.5 to 2 would be silently wrong); a traced size raises
    ConcretizationTypeError, pointing to static_argnums."""
    if isinstance(shape, Array) and shape.ndim == 0:
        shape = (shape,)
    if isinstance(shape, Array):
        raise TypeError(f"{name}: shape must be a tuple of integers, got an array of shape "
                        f"{shape.shape}")
    return _st.canonical_shape(shape, name, allow_unknown)


def _axis(axis, ndim, name):
    """One axis argument normalised to [0, ndim); out of range raises NumPy's AxisError."""
    return _st._norm_axes([axis], ndim, name)[0]


def zeros(shape, dtype=None):
    """An array of zeros (float32 by default)."""
    return _st.full(_shape_tuple(shape, "zeros"), 0, _float_default(dtype))


def ones(shape, dtype=None):
    """An array of ones (float32 by default)."""
    return _st.full(_shape_tuple(shape, "ones"), 1, _float_default(dtype))


def empty(shape, dtype=None):
    """Like `zeros` (funcgrad arrays are never uninitialised)."""
    return _st.full(_shape_tuple(shape, "empty"), 0, _float_default(dtype))


def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (broadcast when it is an array)."""
    shape = _shape_tuple(shape, "full")
    if dtype is None:
        fv = _arr(fill_value)
        return _st.broadcast_to(fv, shape)
    if _np.ndim(fill_value) > 0:               # an array fill value broadcasts, as in JAX
        return _st.broadcast_to(astype(_arr(fill_value), dtype), shape)
    return _st.full(shape, fill_value, _dt.canonicalize(dtype))


def zeros_like(a, dtype=None, shape=None):
    """Zeros of `a`'s shape and dtype; weakly typed when `a` is and no `dtype` is given (JAX's
    lax.full_like: `zeros_like(2.0) + float16 array` is float16)."""
    return _full_like(a, 0, dtype, shape, "zeros_like")


def ones_like(a, dtype=None, shape=None):
    """Ones of `a`'s shape and dtype (weakly typed as `zeros_like`)."""
    return _full_like(a, 1, dtype, shape, "ones_like")


def full_like(a, fill_value, dtype=None, shape=None):
    """`fill_value` in `a`'s shape and dtype; weakly typed when `a` is, no `dtype` is given
    and the fill is a scalar (JAX's lax.full_like)."""
    return _full_like(a, fill_value, dtype, shape, "full_like")


def _full_like(a, fill_value, dtype, shape, name):
    a = _arr(a)
    shape = a.shape if shape is None else _shape_tuple(shape, name)
    if _np.ndim(fill_value) > 0:               # an array fill value broadcasts, as in JAX
        return _st.broadcast_to(astype(_arr(fill_value), dtype or a.dtype), shape)
    weak = dtype is None and a.weak_type and not isinstance(fill_value, Array)
    return _st.full(shape, fill_value, dtype or a.dtype, weak_type=weak)


def empty_like(prototype, dtype=None, shape=None, *, device=None):
    """Like `zeros_like` (funcgrad arrays are never uninitialised)."""
    return zeros_like(prototype, dtype, shape)


def arange(start, stop=None, step=None, dtype=None):
    """JAX's `jnp.arange`: the length is ceil((stop - start) / step) computed from the
    Python values, and the elements are start + step * i computed in `dtype` (so start and
    step are first converted to it: arange(0.5, 5, 1.5, dtype=int32) is [0, 1, 2], as in
    JAX), in float32 for 16-bit float dtypes. The dtype defaults to the arguments'
    promoted type (int32 for Python ints, float32 for Python floats)."""
    for v in (start, stop, step):
        if isinstance(v, Tracer):
            raise _core.ConcretizationTypeError(
                "arange: start/stop/step must be concrete (Python numbers); a traced value was "
                "given. Use static arguments, or fnp.arange(n) * step + start with concrete n.")
    for name, v in (("start", start), ("stop", stop), ("step", step)):
        if v is not None and _np.ndim(v) != 0:
            raise ValueError(f"jax.numpy.arange: arguments must be scalars; got {name}={v}")
    if dtype is None:
        dtype = result_type(*[v for v in (start, stop, step) if v is not None])
        dtype = _dt.canonicalize_value(dtype)
    else:
        dtype = _dt.canonicalize(dtype)
    vals = [None if v is None else _np.asarray(v).item() for v in (start, stop, step)]
    if builtins.any(isinstance(v, complex) for v in vals) or _dt.is_complex(dtype):
        raise ValueError("Passing complex start/stop/step to jnp.arange is no longer "
                         "supported starting in JAX v0.10.0.")
    first, last, st = vals
    if last is None:
        first, last = 0, first
    if st is not None:
        work = _dt.float32 if _dt.is_float(dtype) and dtype.itemsize < 4 else dtype
        n = builtins.max(0, int(_np.ceil((last - first) / st)))
        it = _ew.mul(_ew.convert_element_type(_core.to_array(st), work), _st.iota(work, n))
        it = _ew.add(_ew.convert_element_type(_core.to_array(first), work), it)
        return _ew.convert_element_type(it, dtype)
    if first == 0:
        return _st.iota(dtype, builtins.max(0, int(_np.ceil(last))))
    n = builtins.max(0, int(_np.ceil(last - first)))
    return _ew.add(_ew.convert_element_type(_core.to_array(first), dtype), _st.iota(dtype, n))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    """`num` evenly spaced values from `start` to `stop` (included when `endpoint`), along
    a new `axis`; complex endpoints give complex values; an integer `dtype` rounds the
    values computed in floating point down (NumPy 2's and JAX's floor, not truncation).
    The values are JAX's, bit for bit where XLA's are reproducible (see `_linspace_fma`);
    the step (`retstep`) is NaN for num=0 and for num=1 with `endpoint`, as in JAX."""
    if dtype is None:
        common = result_type(start, stop)
        dtype = _dt.to_inexact(common)          # JAX's rule: int32 -> float32
        dtype = _dt.canonicalize_value(dtype)
    else:
        dtype = _dt.canonicalize(dtype)
    if not _dt.is_inexact(dtype):
        # computed in the integer dtype's inexact type (JAX's to_inexact: float32 for int32
        # under x64 too), whatever the endpoints' types
        comp = _dt.to_inexact(dtype)
        out = linspace(asarray(start, comp), asarray(stop, comp), num, endpoint, retstep,
                       None, axis)
        if _dt.is_bool(dtype):
            return (out[0].astype(dtype), out[1]) if retstep else out.astype(dtype)
        return ((_ew.floor(out[0]).astype(dtype), out[1]) if retstep else
                _ew.floor(out).astype(dtype))
    num = _st.static_int(num, "linspace", "num")
    if num < 0:
        raise ValueError(f"linspace: number of samples, {num}, must be non-negative")
    start, stop = asarray(start, dtype), asarray(stop, dtype)
    shape = _np.broadcast_shapes(start.shape, stop.shape)
    start, stop = _st.broadcast_to(start, shape), _st.broadcast_to(stop, shape)
    div = (num - 1) if endpoint else num
    real = _dt.real_dtype(dtype)
    if num > 1:
        # JAX: t = iota / div, start * (1 - t) + stop * t, each operation in `dtype`. XLA
        # turns the division by the constant div into a product with r = 1 / div and
        # reassociates stop * (i * r) into i * (stop * r) (not for bfloat16, which it
        # computes in float32).
        i = _st.iota(real, (div,) + shape, 0)
        if dtype == _dt.bfloat16:
            t = i / asarray(div, real)
            out = start * (1 - t) + stop * t
            delta = (stop - start) / asarray(div, dtype)
        else:
            r = asarray(_np.asarray(1, real) / _np.asarray(div, real), real)
            if _dt.is_complex(dtype):
                t = _ew.convert_element_type(i * r, dtype)
                out = start * (1 - t) + stop * t
            elif (real in (_dt.float32, _dt.float64) and not _core.dynamic_trace_active()
                  and not isinstance(start, Tracer) and not isinstance(stop, Tracer)):
                last = (axis if axis >= 0 else axis + len(shape) + 1) == len(shape)
                out = _core.to_array(_linspace_fma(_np.asarray(start), _np.asarray(stop),
                                                   div, real, last))
            else:
                out = start * (1 - i * r) + i * (stop * r)
            delta = (stop - start) * asarray(r, dtype)
        if endpoint:
            out = concatenate([out, expand_dims(stop, 0)], 0)
    elif num == 1:
        out = expand_dims(start, 0)
        delta = asarray(_np.nan if endpoint else stop - start, dtype)
    else:
        out = empty((0,) + shape, dtype)
        delta = full((), _np.nan, dtype)
    out = moveaxis(out, 0, axis)
    return (out, delta) if retstep else out


def _linspace_fma(start, stop, div, dtype, new_axis_last):
    """XLA's CPU code for linspace's first `div` values with concrete float32/float64
    endpoints (JAX runs linspace as its own compiled call), found by matching JAX 0.10.2's
    bits. With r = 1 / div and t = i * r, LLVM contracts a product and the sum into one
    fused multiply-add. Scalar endpoints: value i is fma(i, stop * r, start * (1 - t)). Up
    to 1404 bytes of values the loop is unrolled, 1 - t folds to a constant, and for i = 1
    (with at most 34 float32 or 33 float64 values) 1 * (stop * r) folds away, so the other
    product is contracted: fma(start, 1 - t, stop * r). Past that a vector loop of 128
    bytes a step computes 1 - t as fma(-i, r, 1) and a scalar loop the rest as the unrolled
    code does (checked to 2,000 float32 and 10,001 float64 values: past 4,000 float32
    values a few differ by an ulp). Array endpoints: fma(stop, t, start * (1 - t)) when the
    new axis is the last one, else fma(start, 1 - t, stop * t). Under `jit` (or with traced
    endpoints) the formula runs without fusion, which is what XLA's constant folding gives
    JAX under `jit`."""
    i = _np.arange(div, dtype=dtype).reshape((div,) + (1,) * start.ndim)
    r = _np.asarray(1, dtype) / _np.asarray(div, dtype)
    t = i * r
    if start.ndim:
        if new_axis_last:
            return _fma(stop, t, start * (1 - t))
        return _fma(start, 1 - t, stop * t)
    stop_r = stop * r
    one_minus_t = 1 - t
    if div * dtype.itemsize > 1404:
        body = div - div % (128 // dtype.itemsize)
        one_minus_t[:body] = _fma(-i[:body], r, _np.ones((), dtype))
    out = _fma(i, stop_r, start * one_minus_t)
    if 1 < div <= (34 if dtype == _dt.float32 else 33):
        out[1] = _fma(start, one_minus_t[1], stop_r)
    return out


def _two_sum(a, b):
    s = a + b
    b_virtual = s - a
    return s, (a - (s - b_virtual)) + (b - b_virtual)


def _sum_round_to_odd(a, b):
    """a + b rounded to odd (the neighbour with an odd last bit when inexact): rounding that
    once more to a precision at least 2 bits narrower is correctly rounded."""
    s, err = _two_sum(a, b)
    bump = (err != 0) & ((s.view(_np.int64) & 1) == 0)
    return _np.where(bump, _np.nextafter(s, _np.where(err > 0, _np.inf, -_np.inf)), s)


def _fma(x, y, z):
    """x * y + z rounded once, for float32 or float64 NumPy arrays (NumPy has no fma): float32
    through float64's exact product and a sum rounded to odd; float64 by Boldo and
    Melquiond's emulation (an exact product by Dekker's split, then sums rounded to odd)."""
    dtype = _np.result_type(x, y, z)
    x, y, z = (_np.asarray(v, _np.float64) for v in (x, y, z))
    with _np.errstate(all="ignore"):
        if dtype == _np.float32:
            out = _sum_round_to_odd(x * y, _np.broadcast_to(z, _np.broadcast_shapes(
                x.shape, y.shape, z.shape))).astype(_np.float32)
            return _np.where(_np.isfinite(out), out, (x * y + z).astype(_np.float32))
        p = x * y
        xh, xl = _split(x)
        yh, yl = _split(y)
        p_err = ((xh * yh - p) + xh * yl + xl * yh) + xl * yl
        hi, lo = _two_sum(_np.broadcast_to(z, p.shape), p)
        out = hi + _sum_round_to_odd(lo, p_err)
        return _np.where(_np.isfinite(out), out, x * y + z)


def _split(a):
    c = a * 134217729.0                     # 2**27 + 1: Veltkamp's split into 26 + 27 bits
    hi = c - (c - a)
    return hi, a - hi


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """`base ** linspace(start, stop, ...)` (complex exponents give complex values),
    computed in floating point and then cast to `dtype` (an integer `dtype` does not round
    the exponents: logspace(0, 1, 3, dtype=int32) is [1, 3, 10], as JAX's; the powers are
    computed in the integer dtype's inexact type, float32 for int32 under x64 too)."""
    if dtype is not None and not _dt.is_inexact(_dt.canonicalize(dtype)):
        comp = _dt.to_inexact(_dt.canonicalize(dtype))
        return logspace(asarray(start, comp), asarray(stop, comp), num, endpoint, base, None,
                        axis).astype(dtype)
    exps = linspace(start, stop, num, endpoint, dtype=dtype, axis=axis)
    return power(asarray(base, _dt.real_dtype(exps.dtype)), exps)


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    dtype = _float_default(dtype)
    r = _st.iota(_dt.int32, (N, M), 0)
    c = _st.iota(_dt.int32, (N, M), 1)
    return _ew.convert_element_type(_ew.eq(_ew.add(r, k), c), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    """Ones at and below the k-th diagonal of an N x M array. Without `dtype` float32,
    whether or not 64-bit types are on, as JAX's tri (unlike eye's default float)."""
    M = N if M is None else M
    r = _st.iota(_dt.int32, (N, M), 0)
    c = _st.iota(_dt.int32, (N, M), 1)
    dt = _dt.float32 if dtype is None else _dt.canonicalize(dtype)
    return _ew.convert_element_type(_ew.le(c, _ew.add(r, k)), dt)


def tril(m, k=0):
    m = _arr(m)
    mask = tri(m.shape[-2], m.shape[-1], k, dtype=_dt.bool_)
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    m = _arr(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, dtype=_dt.bool_)
    return where(mask, zeros_like(m), m)


def diag(v, k=0):
    v = _arr(v)
    if v.ndim == 1:
        n = v.shape[0] + builtins.abs(k)
        out = zeros((n, n), v.dtype)
        i = arange(v.shape[0])
        rows, cols = (i, i + k) if k >= 0 else (i - k, i)
        out = out.at[rows, cols].set(v)
        return out if out.weak_type == v.weak_type else _ew.with_weak_type(out, v.weak_type)
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError("diag: input must be 1-d or 2-d")


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = moveaxis(_arr(a), (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    if offset >= 0:
        length = builtins.max(0, builtins.min(n, m - offset))
        i = arange(length)
        return a[..., i, i + offset]
    length = builtins.max(0, builtins.min(n + offset, m))
    i = arange(length)
    return a[..., i - offset, i]


def trace(a, offset=0, axis1=0, axis2=1, dtype=None, out=None):
    """The sum along the `offset` diagonal of the (axis1, axis2) planes, accumulated in
    `dtype` (integer promotion as in `sum`)."""
    _check_out("trace", out)
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """Coordinate arrays from 1-D coordinate vectors: "xy" (Cartesian: the first two
    axes swapped) or "ij" (matrix) indexing; with `sparse`, each output keeps size 1 on
    the other axes (they broadcast against each other). `copy` is accepted (arrays are
    immutable)."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r}")
    xs = [ravel(_arr(x)) for x in xi]
    shape = [x.shape[0] for x in xs]
    if indexing == "xy" and len(xs) >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xs):
        d = i
        if indexing == "xy" and len(xs) >= 2 and i < 2:
            d = 1 - i
        if sparse:
            out.append(reshape(x, tuple(s if k == d else 1 for k, s in enumerate(shape))))
        else:
            out.append(_st.broadcast_in_dim(x, tuple(shape), (d,)))
    return out


def copy(a, order=None):
    """A copy of `a`: a new Array (of the same read-only buffer: arrays are immutable), which
    stays valid when `a` is deleted or donated, as JAX's copy does."""
    _check_order("copy", order)
    return _handle(_arr(a))


def _handle(x):
    """A new Array object for a concrete array (`ArrayImpl._new_handle`); a tracer as is."""
    return x._new_handle() if isinstance(x, _core.ArrayImpl) else x


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._dtypes import astype, result_type  # noqa: E402
from ._elementwise import power  # noqa: E402
from ._reductions import sum  # noqa: E402
from ._shape import concatenate, expand_dims, moveaxis, ravel, reshape, stack  # noqa: E402
from ._indexing import where  # noqa: E402
