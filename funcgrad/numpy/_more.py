"""More of jax.numpy's names, as compositions of funcgrad.numpy's functions: diagonals
(`diagflat`, `fill_diagonal`, `diag_indices_from`), partial sorts (`partition`,
`argpartition`, as JAX computes them with `lax.top_k`) and finite differences
(`gradient`)."""
from __future__ import annotations

import operator

import numpy as _np

from .. import dtypes as _dt
from .. import numpy as _fnp
from ._creation import _axis


def diagflat(v, k=0):
    """A 2-D array with the flattened `v` on its `k`-th diagonal."""
    x = _fnp.ravel(_fnp.asarray(v))
    k = operator.index(k)
    n = x.shape[0] + abs(k)
    i = _np.arange(x.shape[0])
    rows, cols = (i, i + k) if k >= 0 else (i - k, i)
    out = _fnp.zeros((n, n), x.dtype)
    return out.at[_fnp.asarray(rows.astype(_np.int32)), _fnp.asarray(
        cols.astype(_np.int32))].set(x)


def diag_indices_from(arr):
    """The indices of the main diagonal of the square (all sides equal) array `arr`."""
    a = _fnp.asarray(arr)
    if a.ndim < 2:
        raise ValueError(f"diag_indices_from: input must be at least 2-d, got shape {a.shape}")
    if len(set(a.shape)) != 1:
        raise ValueError(f"diag_indices_from: all dimensions of input must be of equal "
                         f"length, got shape {a.shape}")
    return _fnp.diag_indices(a.shape[0], a.ndim)


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """`a` with its main diagonal set to `val` (repeated cyclically when shorter). JAX
    requires `inplace=False` (arrays are immutable) and so does funcgrad. `wrap` continues
    the diagonal below a tall 2-D matrix every ncols + 1 rows, as NumPy."""
    if inplace:
        raise NotImplementedError("fill_diagonal: funcgrad arrays are immutable; pass "
                                  "inplace=False and use the returned array (as in JAX)")
    x = _fnp.asarray(a)
    v = _fnp.ravel(_fnp.asarray(val)).astype(x.dtype)
    if x.ndim < 2:
        raise ValueError(f"fill_diagonal: array must be at least 2-d, got shape {x.shape}")
    if x.ndim > 2 and len(set(x.shape)) != 1:
        raise ValueError(f"fill_diagonal: all dimensions of input must be of equal length, "
                         f"got shape {x.shape}")
    if x.ndim == 2:
        rows, cols = x.shape
        flat = _np.arange(0, rows * cols if wrap else min(rows, cols) * cols, cols + 1)
        flat = flat[flat < rows * cols]
        idx = tuple(_fnp.asarray(c.astype(_np.int32)) for c in _np.unravel_index(flat,
                                                                                 x.shape))
    else:
        n = x.shape[0]
        idx = tuple(_fnp.asarray(_np.arange(n, dtype=_np.int32)) for _ in range(x.ndim))
    count = idx[0].shape[0]
    if count == 0 or v.shape[0] == 0:
        return x
    reps = -(-count // v.shape[0])
    vals = _fnp.tile(v, reps)[:count]
    return x.at[idx].set(vals)


def _bottom_indices(x, k):
    """The indices of the k smallest entries along the last axis, ascending, ties in index
    order. NaN is the largest float, as in JAX (whose top_k of -x orders a negated NaN
    first, that is below every number) and as `sort` places it: a top_k of -x would
    take NaNs as the smallest."""
    from .. import lax
    if _dt.is_float(x.dtype):
        return _fnp.argsort(x, axis=-1, stable=True)[..., :k]
    return lax.top_k(_bottom_key(x), k)[1]


def _bottom_key(x):
    """A key whose largest entries are x's smallest (ties kept in index order): -x for
    floats, ~x for integers (no overflow at the most negative value), ~x for bools."""
    if _dt.is_float(x.dtype):
        return _fnp.negative(x)
    return _fnp.invert(x)


def partition(a, kth, axis=-1):
    """`a` with its `kth` smallest element along `axis` in sorted position, the smaller
    ones before it (ascending) and the larger ones after (descending), as JAX's
    `lax.top_k`-based result (NumPy leaves the order of both sides unspecified)."""
    from .. import lax
    x = _fnp.asarray(a)
    axis = _axis(axis, x.ndim, "partition")
    n = x.shape[axis]
    kth = operator.index(kth)
    if not -n <= kth < n:
        raise ValueError(f"partition: kth={kth} is out of bounds for an axis of size {n}")
    kth %= n
    xm = _fnp.swapaxes(x, axis, -1)
    bottom_idx = _bottom_indices(xm, kth + 1)
    bottom = _fnp.take_along_axis(xm, bottom_idx, axis=-1)
    top = lax.top_k(xm, n - kth - 1)[0]
    return _fnp.swapaxes(_fnp.concatenate([bottom, top], axis=-1), -1, axis)


def argpartition(a, kth, axis=-1):
    """The indices that `partition` would order `a` by: those of the kth + 1 smallest
    (ascending), then the remaining indices in increasing order, as JAX."""
    from .. import lax
    x = _fnp.asarray(a)
    axis = _axis(axis, x.ndim, "argpartition")
    n = x.shape[axis]
    kth = operator.index(kth)
    if not -n <= kth < n:
        raise ValueError(f"argpartition: kth={kth} is out of bounds for an axis of size {n}")
    kth %= n
    xm = _fnp.swapaxes(x, axis, -1)
    bottom_idx = _bottom_indices(xm, kth + 1)
    proxy = _fnp.put_along_axis(_fnp.ones(xm.shape, _dt.float32), bottom_idx, 0.0, axis=-1,
                                inplace=False)
    top_idx = lax.top_k(proxy, n - kth - 1)[1]
    # int32 under x64 too, as JAX's (its indices come from lax.top_k)
    out = _fnp.concatenate([bottom_idx, top_idx], axis=-1).astype(_dt.int32)
    return _fnp.swapaxes(out, -1, axis)


def gradient(f, *varargs, axis=None, edge_order=None):
    """The gradient of the sampled function `f` by central differences in the interior and
    one-sided differences at the edges (first order, or second order with
    `edge_order=2`, as NumPy). `varargs`: one spacing for all axes, or one per axis (a
    scalar step or the 1-D coordinates). Returns one array per axis (a single array for
    one axis)."""
    y = _fnp.asarray(f)
    if not _dt.is_inexact(y.dtype):
        y = y.astype(_dt.to_inexact(y.dtype))
    if axis is None:
        axes = tuple(range(y.ndim))
    else:
        axes = tuple(_axis(ax, y.ndim, "gradient")
                     for ax in ((axis,) if _np.ndim(axis) == 0 else axis))
    order = 1 if edge_order is None else edge_order
    if order not in (1, 2):
        raise ValueError(f"gradient: edge_order must be 1 or 2, got {edge_order}")
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and _np.ndim(varargs[0]) == 0:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError(f"gradient: give one spacing, or one per axis ({len(axes)}); got "
                        f"{len(varargs)}")
    outs = []
    for ax, h in zip(axes, spacing):
        outs.append(_gradient_axis(y, h, ax, order))
    return outs[0] if len(outs) == 1 else outs


def _gradient_axis(y, h, axis, order):
    n = y.shape[axis]
    if n < order + 1:
        raise ValueError(f"gradient: an axis of size {n} is too small for edge_order "
                         f"{order} (needs at least {order + 1} samples)")

    def sl(start, stop):
        return _fnp.take(y, _fnp.arange(start, stop), axis=axis)

    shape = [1] * y.ndim
    if _np.ndim(h) == 0:
        hs = float(h) if not hasattr(h, "dtype") else h
        inner = (sl(2, n) - sl(0, n - 2)) / (2.0 * hs) if n > 2 else None
        if order == 1:
            first = (sl(1, 2) - sl(0, 1)) / hs
            last = (sl(n - 1, n) - sl(n - 2, n - 1)) / hs
        else:
            first = (-1.5 * sl(0, 1) + 2.0 * sl(1, 2) - 0.5 * sl(2, 3)) / hs
            last = (0.5 * sl(n - 3, n - 2) - 2.0 * sl(n - 2, n - 1) + 1.5 * sl(n - 1, n)) / hs
    else:
        x = _fnp.asarray(h).astype(y.dtype)
        if x.ndim != 1 or x.shape[0] != n:
            raise ValueError(f"gradient: coordinates must be 1-D of the axis length {n}, got "
                             f"shape {x.shape}")
        shape[axis] = n
        x = _fnp.reshape(x, shape)

        def xs(start, stop):
            return _fnp.take(x, _fnp.arange(start, stop), axis=axis)

        dx = xs(1, n) - xs(0, n - 1)
        if n > 2:
            dx1, dx2 = _fnp.take(dx, _fnp.arange(0, n - 2), axis=axis), \
                _fnp.take(dx, _fnp.arange(1, n - 1), axis=axis)
            a = -dx2 / (dx1 * (dx1 + dx2))
            b = (dx2 - dx1) / (dx1 * dx2)
            c = dx1 / (dx2 * (dx1 + dx2))
            inner = a * sl(0, n - 2) + b * sl(1, n - 1) + c * sl(2, n)
        else:
            inner = None
        d0 = _fnp.take(dx, _fnp.arange(0, 1), axis=axis)
        dl = _fnp.take(dx, _fnp.arange(n - 2, n - 1), axis=axis)
        if order == 1:
            first = (sl(1, 2) - sl(0, 1)) / d0
            last = (sl(n - 1, n) - sl(n - 2, n - 1)) / dl
        else:
            d1 = _fnp.take(dx, _fnp.arange(1, 2), axis=axis)
            a = -(2.0 * d0 + d1) / (d0 * (d0 + d1))
            b = (d0 + d1) / (d0 * d1)
            c = -d0 / (d1 * (d0 + d1))
            first = a * sl(0, 1) + b * sl(1, 2) + c * sl(2, 3)
            dm = _fnp.take(dx, _fnp.arange(n - 3, n - 2), axis=axis)
            a = dl / (dm * (dm + dl))
            b = -(dl + dm) / (dm * dl)
            c = (2.0 * dl + dm) / (dl * (dm + dl))
            last = a * sl(n - 3, n - 2) + b * sl(n - 2, n - 1) + c * sl(n - 1, n)
    parts = [first] + ([inner] if inner is not None else []) + [last]
    return _fnp.concatenate(parts, axis=axis).astype(y.dtype)




# ---------------------------------------------------------------------------------------
# Small helpers and NumPy's type names


def iterable(y):
    """Whether `y` can be iterated over."""
    try:
        iter(y)
    except TypeError:
        return False
    return True


def isdtype(dtype, kind):
    """The array API's dtype-kind test ("bool", "signed integer", "unsigned integer",
    "integral", "real floating", "complex floating", "numeric", or a dtype / tuple);
    bfloat16 and the narrow floats are real floating types, int4, ... (un)signed integers
    (JAX's; NumPy's isdtype refuses ml_dtypes' types)."""
    dt = _np.dtype(dtype)
    if dt == _dt.bfloat16 or dt in _dt.NARROW:
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if _dt.is_float(dt):
            names = ("real floating", "numeric")
        else:
            names = ("unsigned integer" if _dt.is_unsigned(dt) else "signed integer",
                     "integral", "numeric")
        return any(k in names if isinstance(k, str) else _np.dtype(k) == dt for k in kinds)
    return bool(_np.isdtype(dt, kind))


def array_equiv(a1, a2):
    """Whether the arrays are equal after broadcasting (False if they do not broadcast)."""
    x, y = _fnp.asarray(a1), _fnp.asarray(a2)
    try:
        _np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        return _fnp.asarray(False)
    return _fnp.all(_fnp.equal(x, y))


def bitwise_count(x):
    """The number of 1 bits in |x| of each integer element, as uint8 (NumPy's rule)."""
    from .. import lax
    v = _fnp.asarray(x)
    if not (_dt.is_int(v.dtype) or _dt.is_bool(v.dtype)):
        raise TypeError(f"bitwise_count: only integer arrays are supported, got {v.dtype}")
    if _dt.is_bool(v.dtype):
        return v.astype(_dt.uint8)
    if not _dt.is_unsigned(v.dtype):
        # |INT_MIN| wraps to INT_MIN, whose bit count (one bit) is NumPy's answer too.
        v = _fnp.abs(v)
    return lax.population_count(v).astype(_dt.uint8)




# ---------------------------------------------------------------------------------------
# Window functions (NumPy's formulas, in the default float type)


def _window(name, M, fn):
    m = operator.index(M)
    dt = _dt.DEFAULT_FLOAT_()
    if m <= 0:
        return _fnp.zeros((0,), dt)
    if m == 1:
        return _fnp.ones((1,), dt)
    n = _fnp.arange(m, dtype=dt)
    return fn(n, m).astype(dt)


def bartlett(M):
    """The Bartlett (triangular) window of `M` points."""
    return _window("bartlett", M, lambda n, m: 1.0 - _fnp.abs(2.0 * n / (m - 1) - 1.0))


def blackman(M):
    """The Blackman window of `M` points."""
    return _window("blackman", M, lambda n, m: 0.42 - 0.5 * _fnp.cos(2.0 * _np.pi * n /
                                                                     (m - 1))
                   + 0.08 * _fnp.cos(4.0 * _np.pi * n / (m - 1)))


def hamming(M):
    """The Hamming window of `M` points."""
    return _window("hamming", M, lambda n, m: 0.54 - 0.46 * _fnp.cos(2.0 * _np.pi * n /
                                                                     (m - 1)))


def hanning(M):
    """The Hann window of `M` points."""
    return _window("hanning", M, lambda n, m: 0.5 - 0.5 * _fnp.cos(2.0 * _np.pi * n /
                                                                   (m - 1)))


__all__ = ["argpartition", "array_equiv", "bartlett", "bitwise_count", "blackman",
           "diag_indices_from", "diagflat", "fill_diagonal", "gradient", "hamming", "hanning",
           "isdtype", "iterable", "partition"]
