"""Polynomials as coefficient arrays, highest power first (NumPy's `poly*` family, as in
JAX): arithmetic, calculus, evaluation, least-squares fitting, the polynomial of given
roots and the roots of a polynomial (the eigenvalues of its companion matrix). Written on
funcgrad.numpy's functions, so they trace, differentiate and batch."""
from __future__ import annotations

import operator

import numpy as _np

from .. import core as _core
from .. import dtypes as _dt
from .. import numpy as _fnp
from ..core import Tracer
from ._dtypes import _promote_dtypes_only
from ._creation import _axis


def _inexact(*xs):
    """The arrays promoted together to a floating (or complex) dtype (JAX's
    `promote_dtypes_inexact`)."""
    arrs = _promote_dtypes_only([_fnp.asarray(x) for x in xs])
    if not _dt.is_inexact(arrs[0].dtype):
        arrs = [a.astype(_dt.to_inexact(a.dtype)) for a in arrs]
    return arrs


def _order(m, name, what):
    try:
        m = operator.index(m)
    except TypeError:
        raise TypeError(f"{name}: {what} must be a static Python int, got "
                        f"{type(m).__name__}") from None
    if m < 0:
        raise ValueError(f"{name}: {what} must be >= 0, got {m}")
    return m


def _check_1d(name, **arrays):
    for argname, a in arrays.items():
        if a.ndim != 1:
            raise ValueError(f"{name}: {argname} must be a 1-D coefficient array, got shape "
                             f"{a.shape}")


def polyadd(a1, a2):
    """The sum of two polynomials (the shorter is aligned at the constant term)."""
    a, b = _promote_dtypes_only([_fnp.asarray(a1), _fnp.asarray(a2)])
    _check_1d("polyadd", a1=a, a2=b)
    if b.shape[0] > a.shape[0]:
        a, b = b, a
    return a.at[a.shape[0] - b.shape[0]:].add(b)


def polysub(a1, a2):
    """The difference a1 - a2 of two polynomials."""
    a, b = _promote_dtypes_only([_fnp.asarray(a1), _fnp.asarray(a2)])
    return polyadd(a, -b)


def polymul(a1, a2, *, trim_leading_zeros=False):
    """The product of two polynomials (a convolution), in a floating dtype. With
    `trim_leading_zeros` (concrete input only), leading zero coefficients are dropped
    first, as NumPy does."""
    a, b = _inexact(a1, a2)
    _check_1d("polymul", a1=a, a2=b)
    if trim_leading_zeros and (a.shape[0] > 1 or b.shape[0] > 1):
        a, b = trim_zeros(a, "f"), trim_zeros(b, "f")
    if a.shape[0] == 0:
        a = _fnp.zeros((1,), b.dtype)
    if b.shape[0] == 0:
        b = _fnp.zeros((1,), a.dtype)
    return _fnp.convolve(a, b, mode="full")


def polydiv(u, v, *, trim_leading_zeros=False):
    """Polynomial long division: (quotient, remainder) with u = q * v + r. The remainder
    keeps u's length unless `trim_leading_zeros` (concrete input only) drops its leading
    near-zero coefficients (|c| <= sqrt(eps)), as NumPy does."""
    a, b = _inexact(u, v)
    _check_1d("polydiv", u=a, v=b)
    if b.shape[0] == 0:
        raise ValueError("polydiv: the divisor v must have at least one coefficient")
    m, n = a.shape[0] - 1, b.shape[0] - 1
    scale = 1.0 / b[0]
    q = _fnp.zeros((max(m - n + 1, 1),), a.dtype)
    for k in range(m - n + 1):
        d = scale * a[k]
        q = q.at[k].set(d)
        a = a.at[k:k + n + 1].add(-d * b)
    if trim_leading_zeros:
        a = _trim_leading_tol(a, float(_np.sqrt(_np.finfo(a.dtype).eps)))
    return q, a


def _trim_leading_tol(a, tol):
    if isinstance(a, Tracer):
        raise _core.ConcretizationTypeError(
            "trim_leading_zeros needs concrete coefficients (the output length depends on "
            "them)")
    vals = _np.asarray(a)
    nz = _np.nonzero(_np.abs(vals) > tol)[0]
    start = int(nz[0]) if nz.size else vals.shape[0]
    return a[start:]


def polyder(p, m=1):
    """The `m`-th derivative of a polynomial, in a floating dtype."""
    (pa,) = _inexact(p)
    _check_1d("polyder", p=pa)
    m = _order(m, "polyder", "the order m")
    if m == 0:
        return pa
    n = pa.shape[0]
    if m >= n:
        return _fnp.zeros((0,), pa.dtype)
    # coefficient of x^j (j = n-1-i) times j (j-1) ... (j-m+1)
    powers = _np.arange(n - 1, m - 1, -1)
    coeff = _np.ones_like(powers, dtype=_np.float64)
    for t in range(m):
        coeff *= powers - t
    return pa[:n - m] * _fnp.asarray(coeff.astype(pa.dtype))


def polyint(p, m=1, k=None):
    """The `m`-th antiderivative of a polynomial, with integration constants `k` (a
    scalar for all, or one per integration, the first applying to the innermost), in a
    floating dtype."""
    m = _order(m, "polyint", "the order m")
    pa, ka = _inexact(p, 0 if k is None else k)
    _check_1d("polyint", p=pa)
    if m == 0:
        return pa
    ka = _fnp.atleast_1d(ka)
    if ka.ndim != 1 or ka.shape[0] not in (1, m):
        raise ValueError(f"polyint: k must be a scalar or a 1-D array of length 1 or m={m}, "
                         f"got shape {ka.shape}")
    if ka.shape[0] == 1:
        ka = _fnp.broadcast_to(ka, (m,))
    n = pa.shape[0]
    # The final coefficient of x^j (j = n + m - 1 - i) is divided by j (j-1) ... (j-m+1);
    # the constants get j! / (j-m)! with j < m, i.e. 1 * 2 * ... * j.
    powers = _np.arange(n + m - 1, -1, -1)
    coeff = _np.ones_like(powers, dtype=_np.float64)
    for t in range(m):
        coeff *= _np.maximum(powers - t, 1)
    return _fnp.concatenate([pa, ka]) / _fnp.asarray(coeff.astype(pa.dtype))


def polyval(p, x, *, unroll=16):
    """The polynomial `p` (shape (M,), or (M, ...) for several polynomials broadcast
    against `x`) evaluated at `x` by Horner's rule, in the promoted dtype of p and x.
    `unroll` is JAX's scan unrolling; funcgrad unrolls up to `unroll` terms and scans
    beyond."""
    pa, xa = _promote_dtypes_only([_fnp.asarray(p), _fnp.asarray(x)])
    if pa.ndim == 0:
        raise ValueError("polyval: p must have at least one dimension")
    shape = _np.broadcast_shapes(pa.shape[1:], xa.shape)
    y = _fnp.zeros(shape, xa.dtype)
    if pa.shape[0] <= max(int(unroll), 1):
        for i in range(pa.shape[0]):
            y = y * xa + pa[i]
        return y
    from .. import lax
    y, _ = lax.scan(lambda acc, c: (acc * xa + c, None), y, pa, unroll=int(unroll))
    return y


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares fit of a polynomial of degree `deg` to the points (x, y) (y of shape
    (M,) or (M, K) for K fits), optionally weighted by `w` (applied to the unsquared
    residuals). Returns the coefficients; with `full`, also (residuals, rank, singular
    values, rcond); with `cov`, the coefficients' covariance matrix (scaled by
    residuals / (M - deg - 1), or "unscaled"), as NumPy and JAX."""
    deg = _order(deg, "polyfit", "deg")
    xa = _fnp.asarray(x)
    ya = _fnp.asarray(y)
    if w is None:
        xa, ya = _inexact(xa, ya)
    else:
        xa, ya, wa = _inexact(xa, ya, w)
    order = deg + 1
    if xa.ndim != 1 or xa.shape[0] == 0:
        raise TypeError(f"polyfit: expected a non-empty 1-D x, got shape {xa.shape}")
    if ya.ndim not in (1, 2) or ya.shape[0] != xa.shape[0]:
        raise TypeError(f"polyfit: expected y of shape ({xa.shape[0]},) or "
                        f"({xa.shape[0]}, K), got {ya.shape}")
    if rcond is None:
        rcond = xa.shape[0] * float(_np.finfo(xa.dtype).eps)
    lhs = _fnp.vander(xa, order)
    rhs = ya
    if w is not None:
        if wa.ndim != 1 or wa.shape[0] != ya.shape[0]:
            raise TypeError(f"polyfit: expected weights w of shape ({ya.shape[0]},), got "
                            f"{wa.shape}")
        lhs = lhs * wa[:, None]
        rhs = rhs * (wa[:, None] if rhs.ndim == 2 else wa)
    # Scaling the columns improves the conditioning of the Vandermonde matrix.
    scale = _fnp.sqrt(_fnp.sum(lhs * lhs, axis=0))
    lhs = lhs / scale[None, :]
    c, resids, rank, s = _fnp.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T if c.ndim > 1 else c / scale
    if full:
        return c, resids, rank, s, _fnp.asarray(rcond, xa.dtype)
    if not cov:
        return c
    vbase = _fnp.linalg.inv(_fnp.dot(lhs.T, lhs)) / _fnp.outer(scale, scale)
    if cov == "unscaled":
        fac = _fnp.ones((), xa.dtype)
    else:
        if xa.shape[0] <= order:
            raise ValueError("polyfit: the number of data points must exceed deg + 1 to "
                             "scale the covariance matrix")
        fac = resids / (xa.shape[0] - order)
    if ya.ndim == 1:
        return c, vbase * _fnp.atleast_1d(fac)[None]
    return c, vbase[:, :, None] * _fnp.atleast_1d(fac)[None, None, :]


def poly(seq_of_zeros):
    """The coefficients (leading 1) of the monic polynomial with the given roots (real or
    complex), a scalar or 1-D array, in a floating or complex dtype; of a non-empty square
    matrix, its characteristic polynomial, from its eigenvalues, so complex (as in JAX;
    NumPy returns real coefficients where they are real)."""
    (z,) = _inexact(seq_of_zeros)
    z = _fnp.atleast_1d(z)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0]:
        z = _fnp.linalg.eigvals(z)
    if z.ndim != 1:
        raise ValueError(f"poly: input must be 1-D or a non-empty square 2-D array, got "
                         f"shape {z.shape}")
    if z.shape[0] == 0:
        return _fnp.ones((), z.dtype)
    a = _fnp.ones((1,), z.dtype)
    for k in range(z.shape[0]):
        a = _fnp.concatenate([a, _fnp.zeros((1,), z.dtype)]) - \
            _fnp.concatenate([_fnp.zeros((1,), z.dtype), a * z[k]])
    return a


def _roots_no_zeros(p):
    """The roots of the polynomial `p` (1-D, p[0] != 0): the eigenvalues of its companion
    matrix, whose first row is -p[1:] / p[0] with ones below the diagonal."""
    m = p.shape[0] - 1
    if m < 1:
        return _fnp.zeros((0,), _dt.complex_dtype(p.dtype))
    first = -p[1:] / p[0]
    companion = _fnp.concatenate([first[None, :], _fnp.eye(m - 1, m, dtype=p.dtype)])
    return _fnp.linalg.eigvals(companion)


def _roots_with_zeros(p):
    """JAX's `roots(p, strip_zeros=False)`, traceable: with k leading zeros, the roots of p
    rolled left by k (k zero roots appended), the zero roots sorted last and the last k
    replaced by NaN (all NaN when p is all zeros)."""
    from .. import lax
    n = p.shape[0]
    zero = p == 0
    k = _fnp.where(_fnp.all(zero), n, _fnp.argmin(zero)).astype(_np.int32)
    p = _fnp.where(k == n, _fnp.ones_like(p), p)
    r = _roots_no_zeros(_fnp.roll(p, -k))
    r = lax.sort_key_val(r == 0, r)[1]
    nan = _fnp.full(r.shape, complex(_np.nan, _np.nan), r.dtype)
    return _fnp.where(_fnp.arange(r.shape[0]) < r.shape[0] - k, r, nan)


def roots(p, *, strip_zeros=True):
    """The roots of the polynomial with coefficients `p` (1-D, highest power first), as a
    complex array (complex64 for 32-bit input, complex128 for 64-bit; NumPy returns real
    roots where they are all real): the eigenvalues of the companion matrix, in LAPACK's
    order. With `strip_zeros` (the default, as NumPy) leading zero coefficients are
    dropped first, which needs concrete coefficients; with `strip_zeros=False` (what
    works under `jit` and the other transforms) each leading zero gives a NaN root
    instead, as in JAX. Trailing zeros give zero roots either way."""
    (pa,) = _inexact(p)
    pa = _fnp.atleast_1d(pa)
    if pa.ndim != 1:
        raise ValueError(f"roots: input must be a rank-1 array, got shape {pa.shape}")
    if pa.shape[0] < 2:
        return _fnp.zeros((0,), _dt.complex_dtype(pa.dtype))
    if not strip_zeros:
        return _roots_with_zeros(pa)
    vals = _core.concrete_value(pa)
    if vals is None:
        raise _core.ConcretizationTypeError(
            "roots: stripping the leading zero coefficients (strip_zeros=True) needs "
            "concrete coefficients, since the number of roots depends on them. To use "
            "roots under jit or another transform, pass strip_zeros=False: each leading "
            "zero then gives a NaN root")
    nz = _np.flatnonzero(vals != 0)
    lead = int(nz[0]) if nz.size else pa.shape[0]
    return _roots_no_zeros(pa[lead:])


def trim_zeros(filt, trim="fb", axis=None):
    """`filt` without its leading ("f" in `trim`) and/or trailing ("b") zeros; with
    `axis`, the slices along those axes that are all zero (NumPy 2.2). Concrete input only
    (the output shape depends on the values)."""
    a = _fnp.asarray(filt)
    if isinstance(a, Tracer):
        raise _core.ConcretizationTypeError(
            "trim_zeros: the output shape depends on the values; it needs a concrete array")
    trim = trim.lower()
    if not set(trim) <= {"f", "b"}:
        raise ValueError(f"trim_zeros: trim must contain only 'f' and 'b', got {trim!r}")
    vals = _np.asarray(a)
    if a.ndim == 0:
        raise ValueError("trim_zeros: input must have at least one dimension")
    axes = range(a.ndim) if axis is None else [
        _axis(ax, a.ndim, "trim_zeros") for ax in ((axis,) if _np.ndim(axis) == 0
                                                        else axis)]
    index = [slice(None)] * a.ndim
    nz = vals != 0
    for ax in axes:
        others = tuple(i for i in range(a.ndim) if i != ax)
        keep = _np.nonzero(nz.any(axis=others) if others else nz)[0]
        if keep.size == 0:
            index[ax] = slice(0, 0)
            continue
        start = int(keep[0]) if "f" in trim else 0
        stop = int(keep[-1]) + 1 if "b" in trim else a.shape[ax]
        index[ax] = slice(start, stop)
    return a[tuple(index)]


__all__ = ["poly", "polyadd", "polyder", "polydiv", "polyfit", "polyint", "polymul",
           "polysub", "polyval", "roots", "trim_zeros"]
