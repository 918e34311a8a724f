"""More of NumPy's namespace as compositions: aliases, index helpers, nan-aware reductions,
set membership, statistics and small linear-algebra helpers."""
from __future__ import annotations

import builtins

import numpy as _np

from .. import dtypes as _dt
from ..core import Tracer


def install(ns: dict) -> None:
    """Define the functions below inside funcgrad.numpy's namespace `ns`."""
    f = ns
    asarray = f["asarray"]

    def atan2(x1, x2):
        return f["arctan2"](x1, x2)

    def bitwise_invert(x):
        return f["invert"](x)

    def bitwise_left_shift(x1, x2):
        return f["left_shift"](x1, x2)

    def bitwise_right_shift(x1, x2):
        return f["right_shift"](x1, x2)

    def concat(arrays, axis=0):
        return f["concatenate"](arrays, axis)

    def cumulative_sum(x, axis=None, dtype=None, include_initial=False):
        x = asarray(x)
        if axis is None:
            if x.ndim > 1:
                raise ValueError("cumulative_sum: axis must be given for arrays of rank > 1")
            axis = 0
        out = f["cumsum"](x, axis, dtype)
        if include_initial:
            zshape = list(out.shape)
            zshape[axis] = 1
            out = f["concatenate"]([f["zeros"](zshape, out.dtype), out], axis)
        return out

    def cumulative_prod(x, axis=None, dtype=None, include_initial=False):
        x = asarray(x)
        axis = 0 if axis is None else axis
        out = f["cumprod"](x, axis, dtype)
        if include_initial:
            oshape = list(out.shape)
            oshape[axis] = 1
            out = f["concatenate"]([f["ones"](oshape, out.dtype), out], axis)
        return out

    def _nan_fill(a, fill):
        x = asarray(a)
        return f["where"](f["isnan"](x), f["full_like"](x, fill), x)

    def nanprod(a, axis=None, keepdims=False):
        return f["prod"](_nan_fill(a, 1), axis=axis, keepdims=keepdims)

    def nancumsum(a, axis=None):
        return f["cumsum"](_nan_fill(a, 0), axis)

    def nancumprod(a, axis=None):
        return f["cumprod"](_nan_fill(a, 1), axis)

    def _nan_arg(name, fill):
        def fn(a, axis=None, keepdims=False):
            x = asarray(a)
            if not _dt.is_float(x.dtype):
                return f[name[3:]](x, axis, keepdims=keepdims)
            nan = f["isnan"](x)
            res = f[name[3:]](f["where"](nan, f["full_like"](x, fill), x), axis,
                              keepdims=keepdims)
            # An all-NaN slice gives -1 (JAX's value; NumPy raises ValueError).
            all_nan = f["all"](nan, axis=axis, keepdims=keepdims)
            return f["where"](all_nan, f["full_like"](res, -1), res)
        fn.__name__ = name
        fn.__doc__ = f"`{name[3:]}` ignoring NaN; -1 for an all-NaN slice (as JAX)."
        return fn

    nanargmax = _nan_arg("nanargmax", -_np.inf)
    nanargmin = _nan_arg("nanargmin", _np.inf)

    def nanvar(a, axis=None, ddof=0, keepdims=False):
        x = asarray(a)
        ok = f["logical_not"](f["isnan"](x))
        n = f["sum"](ok, axis=axis, keepdims=True).astype(x.dtype)
        m = f["sum"](f["where"](ok, x, f["zeros_like"](x)), axis=axis, keepdims=True) / n
        d = f["where"](ok, x - m, f["zeros_like"](x))
        out = f["sum"](d * d, axis=axis, keepdims=True) / (n - ddof)
        return out if keepdims else f["squeeze"](out, axis)

    def nanstd(a, axis=None, ddof=0, keepdims=False):
        return f["sqrt"](nanvar(a, axis, ddof, keepdims))

    def logaddexp2(x1, x2):
        # A Python float (weak) keeps float32 inputs float32.
        ln2 = float(_np.log(2.0))
        return f["logaddexp"](f["multiply"](x1, ln2), f["multiply"](x2, ln2)) / ln2

    def ldexp(x1, x2):
        x = asarray(x1)
        if not _dt.is_float(x.dtype):
            x = x.astype(_dt.DEFAULT_FLOAT)
        return x * f["exp2"](asarray(x2).astype(x.dtype))

    def gcd(x1, x2):
        a, b = f["abs"](asarray(x1)), f["abs"](asarray(x2))
        a, b = f["broadcast_arrays"](a, b)
        for _ in range(a.dtype.itemsize * 8 * 2):
            nz = b != 0
            a, b = f["where"](nz, b, a), f["where"](nz, f["remainder"](a, f["where"](
                nz, b, f["ones_like"](b))), b)
        # abs(INT_MIN) stays negative; the remainders above can leave a negative divisor.
        return f["abs"](a)

    def lcm(x1, x2):
        a, b = asarray(x1), asarray(x2)
        g = gcd(a, b)
        safe = f["where"](g == 0, f["ones_like"](g), g)
        return f["where"](g == 0, f["zeros_like"](g), f["abs"](a // safe * b))

    def isin(element, test_elements, invert=False):
        e = asarray(element)
        t = f["ravel"](asarray(test_elements))
        out = f["any"](f["equal"](e[..., None], t), axis=-1)
        return f["logical_not"](out) if invert else out

    def in1d(ar1, ar2, invert=False):
        return isin(f["ravel"](ar1), ar2, invert)

    def bincount(x, weights=None, minlength=0, length=None):
        x = f["ravel"](asarray(x))
        if length is None:
            if isinstance(x, Tracer):
                raise ValueError("bincount: pass length= when the input is traced")
            length = builtins.max(int(_np.max(_np.asarray(x), initial=-1)) + 1, minlength)
        w = f["ones_like"](x, _dt.int32) if weights is None else f["ravel"](asarray(weights))
        return f["zeros"]((length,), w.dtype).at[x].add(w)

    def indices(dimensions, dtype=_dt.int32, sparse=False):
        dims = tuple(dimensions)
        from ..prims.structural import iota
        if sparse:
            return tuple(f["reshape"](iota(dtype, (d,), 0),
                                      tuple(d if j == i else 1 for j in range(len(dims))))
                         for i, d in enumerate(dims))
        return f["stack"]([iota(dtype, dims, i) for i in range(len(dims))])

    def fromfunction(function, shape, dtype=_dt.float32, **kwargs):
        return function(*indices(shape, dtype), **kwargs)

    def ix_(*args):
        n = len(args)
        return tuple(f["reshape"](asarray(a), tuple(-1 if j == i else 1 for j in range(n)))
                     for i, a in enumerate(args))

    def tril_indices(n, k=0, m=None):
        r, c = _np.tril_indices(n, k, m)
        return asarray(r.astype(_np.int32)), asarray(c.astype(_np.int32))

    def triu_indices(n, k=0, m=None):
        r, c = _np.triu_indices(n, k, m)
        return asarray(r.astype(_np.int32)), asarray(c.astype(_np.int32))

    def diag_indices(n, ndim=2):
        i = f["arange"](n)
        return (i,) * ndim

    def tril_indices_from(arr, k=0):
        a = asarray(arr)
        return tril_indices(a.shape[-2], k, a.shape[-1])

    def triu_indices_from(arr, k=0):
        a = asarray(arr)
        return triu_indices(a.shape[-2], k, a.shape[-1])

    def append(arr, values, axis=None):
        a, v = asarray(arr), asarray(values)
        if axis is None:
            return f["concatenate"]([f["ravel"](a), f["ravel"](v)])
        return f["concatenate"]([a, v], axis)

    def delete(arr, obj, axis=None):
        a = asarray(arr)
        if axis is None:
            a, axis = f["ravel"](a), 0
        axis = f["_axis"](axis, a.ndim, "delete")
        n = a.shape[axis]
        keep = _np.ones(n, bool)
        keep[_np.asarray(obj)] = False
        return f["take"](a, asarray(_np.nonzero(keep)[0].astype(_np.int32)), axis=axis)

    def insert(arr, obj, values, axis=None):
        a = asarray(arr)
        if axis is None:
            a, axis = f["ravel"](a), 0
        axis = f["_axis"](axis, a.ndim, "insert")
        idx = int(obj)
        v = asarray(values)
        shape = list(a.shape)
        shape[axis] = 1
        v = f["broadcast_to"](f["reshape"](v, v.shape if v.ndim == a.ndim else shape), shape) \
            if v.ndim != a.ndim else v
        left = f["take"](a, f["arange"](idx), axis=axis)
        right = f["take"](a, f["arange"](idx, a.shape[axis]), axis=axis)
        return f["concatenate"]([left, v.astype(a.dtype), right], axis)

    def unstack(x, axis=0):
        x = asarray(x)
        return tuple(f["take"](x, i, axis=axis) for i in range(x.shape[axis]))

    def vecdot(x1, x2, axis=-1):
        return f["sum"](f["multiply"](x1, x2), axis=axis)

    def matvec(x1, x2):
        return f["matmul"](x1, asarray(x2)[..., None])[..., 0]

    def vecmat(x1, x2):
        return f["matmul"](asarray(x1)[..., None, :], x2)[..., 0, :]

    def trapezoid(y, x=None, dx=1.0, axis=-1):
        y = asarray(y)
        axis = f["_axis"](axis, y.ndim, "trapezoid")
        n = y.shape[axis]
        y0 = f["take"](y, f["arange"](n - 1), axis=axis)
        y1 = f["take"](y, f["arange"](1, n), axis=axis)
        if x is None:
            return f["sum"]((y0 + y1) * (dx / 2.0), axis=axis)
        d = f["diff"](asarray(x), axis=-1 if asarray(x).ndim == 1 else axis)
        if asarray(x).ndim == 1 and y.ndim > 1:
            shape = [1] * y.ndim
            shape[axis] = n - 1
            d = f["reshape"](d, shape)
        return f["sum"]((y0 + y1) * d / 2.0, axis=axis)

    def cov(m, y=None, rowvar=True, bias=False, ddof=None):
        x = asarray(m)
        if x.ndim == 1:
            x = x[None, :]
        if not rowvar:
            x = x.T
        if y is not None:
            yy = asarray(y)
            yy = yy[None, :] if yy.ndim == 1 else (yy if rowvar else yy.T)
            x = f["concatenate"]([x, yy], 0)
        if not _dt.is_float(x.dtype):
            x = x.astype(_dt.DEFAULT_FLOAT)
        n = x.shape[1]
        dd = (0 if bias else 1) if ddof is None else ddof
        xc = x - f["mean"](x, axis=1, keepdims=True)
        c = f["matmul"](xc, xc.T) / (n - dd)
        return f["squeeze"](c) if c.shape == (1, 1) else c

    def corrcoef(x, y=None, rowvar=True):
        c = cov(x, y, rowvar)
        if c.ndim == 0:
            return c / c
        d = f["sqrt"](f["diagonal"](c))
        return f["clip"](c / d[:, None] / d[None, :], -1, 1)

    def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
        s, e = _np.log10(start), _np.log10(stop)
        return f["logspace"](s, e, num, endpoint, 10.0, dtype, axis)

    def ediff1d(ary, to_end=None, to_begin=None):
        d = f["diff"](f["ravel"](ary))
        parts = ([f["ravel"](asarray(to_begin))] if to_begin is not None else []) + [d] + (
            [f["ravel"](asarray(to_end))] if to_end is not None else [])
        return f["concatenate"](parts) if len(parts) > 1 else d

    def vander(x, N=None, increasing=False):
        x = asarray(x)
        N = x.shape[0] if N is None else N
        p = f["arange"](N)
        if not increasing:
            p = p[::-1]
        return f["power"](x[:, None], p[None, :].astype(x.dtype) if _dt.is_float(x.dtype)
                          else p[None, :])

    def frexp(x):
        x = asarray(x)
        ax = f["abs"](x)
        e = f["where"](ax == 0, f["zeros_like"](ax), f["floor"](f["log2"](ax)) + 1)
        m = x / f["exp2"](e)
        return m, e.astype(_dt.int32)

    def modf(x):
        x = asarray(x)
        i = f["trunc"](x)
        return x - i, i

    def spacing(x):
        """The distance from x to the next float away from zero, signed like x (NumPy's
        `spacing`): eps * 2**floor(log2|x|), the smallest subnormal near zero, inf at the
        largest finite value, NaN at +-inf and NaN."""
        x = asarray(x)
        if not _dt.is_float(x.dtype):
            x = x.astype(_dt.DEFAULT_FLOAT)
        info = _np.finfo(x.dtype)
        ax = f["abs"](x)
        normal = ax >= float(info.tiny)
        safe = f["where"](normal, ax, f["ones_like"](ax))
        e = f["floor"](f["log2"](safe))
        # log2 may round across a power of two: fix the exponent with exact comparisons.
        two = f["full_like"](ax, 2.0)
        p = f["power"](two, e)
        e = f["where"](p > safe, e - 1, e)
        p = f["power"](two, e)
        e = f["where"](p * 2 <= safe, e + 1, e)
        sp = f["power"](two, e) * float(info.eps)
        sp = f["where"](normal, sp, f["full_like"](ax, float(info.smallest_subnormal)))
        # The float after the largest finite one is inf (NumPy: spacing(max) = inf).
        sp = f["where"](ax == float(info.max), f["full_like"](ax, _np.inf), sp)
        sp = f["where"](f["isfinite"](x), sp, f["full_like"](ax, _np.nan))
        return f["where"](x < 0, -sp, sp)

    def nanmedian(a, axis=None, keepdims=False):
        return nanquantile(a, 0.5, axis, keepdims)

    def nanquantile(a, q, axis=None, keepdims=False):
        x = asarray(a)
        if isinstance(x, Tracer):
            raise ValueError("nanquantile needs concrete values")
        return asarray(_np.nanquantile(_np.asarray(x), q, axis=axis, keepdims=keepdims)
                       .astype(x.dtype))

    def nanpercentile(a, q, axis=None, keepdims=False):
        return nanquantile(a, _np.asarray(q) / 100, axis, keepdims)

    def choose(a, choices, mode="raise"):
        idx = asarray(a)
        out = asarray(choices[0])
        for k, c in enumerate(choices[1:], 1):
            out = f["where"](idx == k, c, out)
        return out

    def compress(condition, a, axis=None):
        c = _np.asarray(condition).astype(bool)
        x = asarray(a)
        if axis is None:
            x, axis = f["ravel"](x), 0
        return f["take"](x, asarray(_np.nonzero(c)[0].astype(_np.int32)), axis=axis)

    def extract(condition, arr):
        return compress(f["ravel"](asarray(condition)), f["ravel"](asarray(arr)))

    def put_along_axis(arr, indices, values, axis, inplace=False, mode=None):
        if inplace:
            raise ValueError("put_along_axis: funcgrad arrays are immutable; pass "
                             "inplace=False (JAX requires this too)")
        a = asarray(arr)
        idx = asarray(indices)
        from ..prims.structural import iota
        axis = f["_axis"](axis, a.ndim, "put_along_axis")
        comps = [idx if d == axis else iota(idx.dtype, idx.shape, d)
                 for d in range(a.ndim)]
        return a.at[tuple(comps)].set(values)

    def apply_along_axis(func1d, axis, arr, *args, **kwargs):
        from ..api import vmap
        a = f["moveaxis"](asarray(arr), axis, -1)
        fn = lambda v: func1d(v, *args, **kwargs)  # noqa: E731
        for _ in range(a.ndim - 1):
            fn = vmap(fn)
        return fn(a)

    def vectorize(pyfunc, excluded=frozenset(), signature=None):
        from ..api import vmap

        def wrapped(*args):
            arrs = f["broadcast_arrays"](*[asarray(x) for x in args])
            fn = pyfunc
            for _ in range(arrs[0].ndim):
                fn = vmap(fn)
            return fn(*arrs)
        return wrapped

    def isreal(x):
        return f["ones_like"](asarray(x), _dt.bool_)

    def iscomplex(x):
        return f["zeros_like"](asarray(x), _dt.bool_)

    def isrealobj(x):
        return True

    def iscomplexobj(x):
        return False

    def block(arrays):
        if isinstance(arrays, list):
            if arrays and isinstance(arrays[0], list):
                rows = [block(r) for r in arrays]
                return f["concatenate"](rows, axis=-2 if rows[0].ndim > 1 else 0)
            parts = [asarray(a) for a in arrays]
            return f["concatenate"](parts, axis=-1)
        return asarray(arrays)

    def polyadd(a1, a2):
        a, b = asarray(a1), asarray(a2)
        n = builtins.max(a.shape[0], b.shape[0])
        a = f["pad"](a, (n - a.shape[0], 0))
        b = f["pad"](b, (n - b.shape[0], 0))
        return a + b

    def polymul(a1, a2):
        return f["convolve"](asarray(a1), asarray(a2))

    def polyder(p, m=1):
        p = asarray(p)
        for _ in range(m):
            n = p.shape[0] - 1
            p = p[:-1] * f["arange"](n, 0, -1).astype(p.dtype)
        return p

    exported = {k: v for k, v in locals().items() if callable(v) and not k.startswith("_")
                and k not in ("f", "ns", "asarray")}
    for k, v in exported.items():
        ns.setdefault(k, v)
