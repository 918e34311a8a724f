"""funcgrad.numpy.linalg: norms, products and the factorisation-based functions (solve,
inv, det, slogdet, cholesky, qr, svd, eigh, eig, lstsq, pinv, ...) as compositions of the
LAPACK primitives of `prims/linalg.py` (through `funcgrad._lax_linalg`), batched over
leading axes.

Bad numerics never raise, as in JAX: `solve`/`inv` of a singular matrix give inf/NaN,
`cholesky` of a matrix that is not positive definite gives NaN, `det` of a singular matrix
0 and `slogdet` (0, -inf).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as _np

from .. import _lax_linalg as _lx
from .. import api as _api
from .. import dtypes as _dtypes
from .. import numpy as fnp


def _max0_or_min(is_max, s, axis, keepdims=True):
    """The max (0 over an empty axis, as JAX's norms) or the min of `s` along `axis`."""
    if is_max:
        return fnp.max(s, axis=axis, keepdims=keepdims, initial=0)
    return fnp.min(s, axis=axis, keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector / matrix norms as in NumPy (ord None/2/1/inf/-inf/p for vectors; 'fro', 1,
    inf, -1, -inf for matrices)."""
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.inexact):
        x = x.astype(_dtypes.to_inexact(x.dtype))      # int64 -> float64 under x64 (JAX)
    # |x|^2 elementwise (real for complex x: the norms of complex arrays are real)
    sq = x * x if not fnp.iscomplexobj(x) else fnp.real(x) ** 2 + fnp.imag(x) ** 2
    if axis is None:
        if ord is None:
            return fnp.sqrt(fnp.sum(sq, keepdims=keepdims))
        axis = tuple(range(x.ndim))
    if isinstance(axis, int):
        axis = (axis,)
    axis = tuple(a % x.ndim for a in axis)
    if len(axis) == 1:
        a = fnp.abs(x)
        if ord is None or ord == 2:
            return fnp.sqrt(fnp.sum(sq, axis=axis, keepdims=keepdims))
        if ord == _np.inf:       # (0 for an empty vector, as JAX's)
            return fnp.max(a, axis=axis, keepdims=keepdims, initial=0)
        if ord == -_np.inf:
            return fnp.min(a, axis=axis, keepdims=keepdims)
        if ord == 0:
            return fnp.sum((x != 0).astype(a.dtype), axis=axis, keepdims=keepdims)
        if ord == 1:
            return fnp.sum(a, axis=axis, keepdims=keepdims)
        return fnp.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    if len(axis) == 2:
        r, c = axis
        a = fnp.abs(x)
        if ord is None or ord == "fro":
            return fnp.sqrt(fnp.sum(sq, axis=axis, keepdims=keepdims))
        if ord in (1, -1):
            s = fnp.sum(a, axis=r, keepdims=True)
            return _squeeze_kept(_max0_or_min(ord == 1, s, c), axis, keepdims)
        if ord in (_np.inf, -_np.inf):
            s = fnp.sum(a, axis=c, keepdims=True)
            return _squeeze_kept(_max0_or_min(ord == _np.inf, s, r), axis, keepdims)
        if ord in (2, -2, "nuc"):
            # Spectral norms from the singular values of the (r, c) planes (as JAX).
            sv = svd(fnp.moveaxis(x, (r, c), (-2, -1)), compute_uv=False)
            if ord == "nuc":
                y = fnp.sum(sv, axis=-1)
            else:
                y = _max0_or_min(ord == 2, sv, -1, keepdims=False)
            if keepdims:
                y = fnp.expand_dims(y, tuple(sorted((r % x.ndim, c % x.ndim))))
            return y
        raise ValueError(f"norm: invalid norm order {ord!r} for matrices")
    raise ValueError(f"norm: improper number of axes {axis}")


def _squeeze_kept(y, axis, keepdims):
    return y if keepdims else fnp.squeeze(y, axis)


def vector_norm(x, ord=2, axis=None, keepdims=False):
    """The vector `ord`-norm of `x` over `axis`: all axes (None), one axis, or a tuple of
    axes taken together as one vector (never a matrix norm, as in the array API and JAX).
    Integer and bool `x` are not promoted first (unlike `norm`), as in JAX: ord=1 sums
    |x| in the integer type `sum` gives (int32 for int8; uint32 for uint8), ord=inf/-inf
    keep x's dtype, and the 2-norm is of the default float type (float64 under x64)."""
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.inexact):
        if ord in (1, _np.inf, -_np.inf):
            ax = tuple(axis) if isinstance(axis, (tuple, list)) else axis
            a = fnp.abs(x)
            if ord == 1:
                return fnp.sum(a, axis=ax, keepdims=keepdims)
            if ord == _np.inf:
                return fnp.max(a, axis=ax, keepdims=keepdims, initial=0)
            return fnp.min(a, axis=ax, keepdims=keepdims)
        # JAX sums x * x in the integer type (wrapping: int8 12 gives sqrt(-112), NaN) and
        # takes sqrt in the default float; funcgrad squares in that float. Other orders:
        # JAX raises (0, negative) or truncates 1/ord to 0 (giving 1); funcgrad computes
        # them in x's inexact type (docs/porting-from-jax.md).
        x = x.astype(_dtypes.DEFAULT_FLOAT_() if ord is None or ord == 2
                     else _dtypes.to_inexact(x.dtype))
    if axis is None:
        axes = tuple(range(x.ndim))
    elif isinstance(axis, (tuple, list)):
        axes = tuple(sorted({a % x.ndim if -x.ndim <= a < x.ndim else _bad_axis(a, x.ndim)
                             for a in axis}))
    else:
        return norm(x, ord, axis, keepdims)
    rest = [a for a in range(x.ndim) if a not in axes]
    flat = fnp.reshape(fnp.transpose(x, rest + list(axes)),
                       tuple(x.shape[a] for a in rest) + (-1,))
    out = norm(flat, ord, -1, False)
    if keepdims:
        out = fnp.reshape(out, tuple(1 if a in axes else x.shape[a] for a in range(x.ndim)))
    return out


def _bad_axis(a, ndim):
    raise ValueError(f"vector_norm: axis {a} is out of bounds for an array of dimension "
                     f"{ndim}")


def matrix_norm(x, ord="fro", keepdims=False):
    return norm(x, ord, (-2, -1), keepdims)


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    """`numpy.matmul` (the array API's `linalg.matmul`)."""
    return fnp.matmul(x1, x2, precision=precision,
                      preferred_element_type=preferred_element_type)


def outer(x1, x2):
    return fnp.outer(x1, x2)


def trace(x, /, *, offset=0, dtype=None):
    """The sum of the `offset` diagonal of each matrix of `x` (the last two axes),
    accumulated in `dtype`."""
    return fnp.trace(x, offset, -2, -1, dtype=dtype)


def diagonal(x, offset=0):
    return fnp.diagonal(x, offset, -2, -1)


def matrix_transpose(x):
    return fnp.matrix_transpose(x)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    """Vector dot products along `axis` (`numpy.vecdot`)."""
    return fnp.vecdot(x1, x2, axis=axis, precision=precision,
                      preferred_element_type=preferred_element_type)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    """`numpy.tensordot` with `axes` keyword-only (the array API's form)."""
    return fnp.tensordot(x1, x2, axes, precision=precision,
                         preferred_element_type=preferred_element_type)


def cross(x1, x2, axis=-1):
    return fnp.cross(x1, x2, axis=axis)


def multi_dot(arrays, *, precision=None):
    """The chained matrix product of `arrays` (first and last may be 1-D); `precision`
    accepted as in `matmul`."""
    out = fnp.asarray(arrays[0])
    for a in arrays[1:]:
        out = fnp.matmul(out, a)
    return out


# --- factorisation-based functions ---------------------------------------------------


class EigResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    Q: object
    R: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


def _inexact(*xs, name=None, complex_ok=False):
    """The arrays promoted to one float (or, with `complex_ok`, complex) dtype (integers to
    `dtypes.to_inexact`'s float: float32 up to 32 bits, as JAX). Complex input raises
    unless the caller handles it (`complex_ok`): casting it to a real dtype would drop the
    imaginary part silently, and a function written with transposes for real matrices
    needs conjugate transposes for complex."""
    arrs = [fnp.asarray(x) for x in xs]
    dt = fnp.result_type(*arrs)
    if _dtypes.is_complex(dt):
        if complex_ok:
            return [a.astype(dt) if a.dtype != dt else a for a in arrs]
        where = f"linalg.{name}" if name else "linalg"
        raise TypeError(f"{where}: complex matrices ({dt}) are not supported; work "
                        "on the real and imaginary parts or use NumPy for complex linear "
                        "algebra")
    if not fnp.issubdtype(dt, fnp.floating):
        dt = _dtypes.to_inexact(dt)
    return [a.astype(dt) if a.dtype != dt else a for a in arrs]


def _square(name, a):
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.{name}: expected square matrices [..., n, n], got shape "
                         f"{a.shape}")


def _mT(x):
    return fnp.swapaxes(x, -1, -2)


def _H(x):
    """The conjugate transpose of the last two axes (the transpose of real x)."""
    return _mT(fnp.conj(x)) if fnp.iscomplexobj(x) else _mT(x)


def cholesky(a, *, upper=False, symmetrize_input=True):
    """Cholesky factor of each matrix of `a` [..., n, n]: lower L with a = L @ L^H (upper
    U = L^H with `upper`; ^H is the transpose for real a). `a` is symmetrised first
    ((a + a^H) / 2) unless `symmetrize_input=False`, then only its lower triangle is read.
    A matrix that is not positive definite gives NaN (no LinAlgError, as in JAX)."""
    (a,) = _inexact(a, name="cholesky", complex_ok=True)
    _square("cholesky", a)
    L = _lx.cholesky(a, symmetrize_input=symmetrize_input)
    return _H(L) if upper else L


def _permute_rows(b, perm):
    """b[..., perm, :] for perm [..., n] and b [..., n, k] with equal batch axes."""
    return fnp.take_along_axis(b, perm[..., :, None], axis=-2)


def _lu_solve(lu, perm, b, trans=0):
    """Solve a x = b (trans=0), a.T x = b (trans=1) or a^H x = b (trans=2, the conjugate
    transpose; = 1 for real a) from the LU of a (`lu`, `perm`), b [..., n, k] with batch
    axes equal to lu's."""
    if trans == 0:
        x = _permute_rows(b, perm)
        x = _lx.triangular_solve(lu, x, left_side=True, lower=True, unit_diagonal=True)
        return _lx.triangular_solve(lu, x, left_side=True, lower=False)
    conj = trans == 2
    x = _lx.triangular_solve(lu, b, left_side=True, lower=False, transpose_a=True,
                             conjugate_a=conj)
    x = _lx.triangular_solve(lu, x, left_side=True, lower=True, transpose_a=True,
                             conjugate_a=conj, unit_diagonal=True)
    return _permute_rows(x, fnp.argsort(perm, axis=-1))


def _broadcast_batch(a, b):
    """a [..., n, n] and b [..., n, k] with their batch axes broadcast together."""
    batch = _np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return (fnp.broadcast_to(a, batch + a.shape[-2:]),
            fnp.broadcast_to(b, batch + b.shape[-2:]))


def solve(a, b):
    """Solve a @ x = b for x, a [..., n, n]. b is a vector [n] (x [..., n]) or a stack of
    matrices [..., n, k] whose batch axes broadcast with a's (NumPy 2's rule). Through an
    LU factorisation with partial pivoting; a singular a gives inf/NaN, no exception."""
    a, b = _inexact(a, b, name="solve", complex_ok=True)
    _square("solve", a)
    n = a.shape[-1]
    vector = b.ndim == 1
    if (b.shape[0] if vector else b.shape[-2]) != n:
        raise ValueError(f"linalg.solve: a {a.shape} and b {b.shape} do not match: b needs "
                         f"{n} rows")
    if vector:
        b = b[:, None]
    a, b = _broadcast_batch(a, b)
    lu, _, perm = _lx.lu(a)
    x = _lu_solve(lu, perm, b)
    return x[..., 0] if vector else x


def inv(a):
    """Inverse of each matrix of `a` [..., n, n] (inf/NaN for a singular matrix)."""
    (a,) = _inexact(a, name="inv", complex_ok=True)
    _square("inv", a)
    eye = fnp.broadcast_to(fnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    return solve(a, eye)


def _lu_parity(pivots, dtype):
    """+1 / -1: the sign of the row permutation made by `pivots`."""
    k = pivots.shape[-1]
    swaps = fnp.sum(pivots != fnp.arange(k, dtype=pivots.dtype), axis=-1)
    # `& 1` rather than `% 2`: the JVP rule of integer `rem` fails (see the report).
    return fnp.where(swaps & 1 == 0, 1, -1).astype(dtype)


def det(a):
    """Determinant of each matrix of `a` [..., n, n]: closed-form cofactor expansions for
    n <= 3 (exact polynomials, so derivatives exist at singular matrices too), else from
    the LU factorisation (derivatives at an exactly singular matrix are then NaN)."""
    (a,) = _inexact(a, name="det", complex_ok=True)
    _square("det", a)
    n = a.shape[-1]
    if n == 0:
        return fnp.ones(a.shape[:-2], a.dtype)
    if n == 1:
        return a[..., 0, 0]
    if n == 2:
        return a[..., 0, 0] * a[..., 1, 1] - a[..., 0, 1] * a[..., 1, 0]
    if n == 3:
        return (a[..., 0, 0] * (a[..., 1, 1] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 1])
                - a[..., 0, 1] * (a[..., 1, 0] * a[..., 2, 2] - a[..., 1, 2] * a[..., 2, 0])
                + a[..., 0, 2] * (a[..., 1, 0] * a[..., 2, 1] - a[..., 1, 1] * a[..., 2, 0]))
    lu, pivots, _ = _lx.lu(a)
    diag = fnp.diagonal(lu, 0, -2, -1)
    return _lu_parity(pivots, a.dtype) * fnp.prod(diag, axis=-1)


def slogdet(a, *, method=None):
    """(sign, log|det|) of each matrix of `a` [..., n, n] from its LU factorisation; a
    singular matrix gives (0, -inf), as NumPy and JAX. For complex `a` the sign is the
    complex det / |det| and log|det| is real. `method` is None or 'lu', or 'qr' (real
    matrices, as in JAX): log|det| from R's diagonal, the sign from R's and Q's (Q's
    determinant is +-1; its sign is read from Q's LU factorisation)."""
    if method not in (None, "lu", "qr"):
        raise ValueError(f"linalg.slogdet: method {method!r} is not supported; use 'lu' "
                         "or 'qr'")
    (a,) = _inexact(a, name="slogdet", complex_ok=True)
    _square("slogdet", a)
    real_dt = fnp.real(fnp.zeros((), a.dtype)).dtype
    if a.shape[-1] == 0:
        return SlogdetResult(fnp.ones(a.shape[:-2], a.dtype), fnp.zeros(a.shape[:-2], real_dt))
    if method == "qr":
        if fnp.iscomplexobj(a):
            raise NotImplementedError("linalg.slogdet: method='qr' is not implemented for "
                                      f"complex inputs ({a.dtype}); use method='lu'")
        q, r = _lx.qr(a, full_matrices=False)
        diag = fnp.diagonal(r, 0, -2, -1)
        sign = slogdet(q).sign * fnp.prod(fnp.sign(diag), axis=-1)
        return SlogdetResult(fnp.where(fnp.any(diag == 0, axis=-1), fnp.zeros_like(sign), sign),
                             fnp.sum(fnp.log(fnp.abs(diag)), axis=-1))
    lu, pivots, _ = _lx.lu(a)
    diag = fnp.diagonal(lu, 0, -2, -1)
    mag = fnp.abs(diag)
    if fnp.iscomplexobj(diag):
        # The sign of a complex determinant is the unit complex number det / |det|.
        unit = fnp.where(mag == 0, 0, diag / fnp.where(mag == 0, 1, mag).astype(a.dtype))
    else:
        unit = fnp.sign(diag)
    sign = _lu_parity(pivots, a.dtype) * fnp.prod(unit, axis=-1)
    # a singular matrix's sign is +0 (JAX's), not the -0.0 a product with -1 or with a
    # pivot of -0.0 leaves
    sign = fnp.where(fnp.any(mag == 0, axis=-1), fnp.zeros_like(sign), sign)
    return SlogdetResult(sign, fnp.sum(fnp.log(mag), axis=-1))


def eig(a):
    """Eigenvalues and right eigenvectors (columns) of each general square matrix of `a`
    [..., n, n]: `EigResult(eigenvalues, eigenvectors)`, always complex (complex64 for
    32-bit input, complex128 for 64-bit, as in JAX; NumPy returns real results where they
    are real). Each eigenvector has unit 2-norm and its largest component real; the
    eigenvalues are not sorted. Eigenvector derivatives raise NotImplementedError, as in
    JAX (`lax.linalg.eig(..., enable_eigvec_derivs=True)` opts in); eigenvalues are
    differentiable."""
    (a,) = _inexact(a, name="eig", complex_ok=True)
    _square("eig", a)
    w, v = _lx.eig(a, compute_left_eigenvectors=False)
    return EigResult(w, v)


def eigvals(a):
    """Eigenvalues (complex, unsorted) of each general square matrix of `a` [..., n, n]."""
    (a,) = _inexact(a, name="eigvals", complex_ok=True)
    _square("eigvals", a)
    return _lx.eig(a, compute_left_eigenvectors=False, compute_right_eigenvectors=False)[0]


def eigh(a, UPLO=None, symmetrize_input=True):
    """Eigenvalues (ascending) and eigenvectors (columns) of each symmetric matrix of `a`
    [..., n, n]: `EighResult(eigenvalues, eigenvectors)`. `a` is symmetrised first unless
    `symmetrize_input=False`, then only the `UPLO` ('L' default, or 'U') triangle is read.
    Eigenvector derivatives are inf/NaN at repeated eigenvalues, as in JAX."""
    (a,) = _inexact(a, name="eigh", complex_ok=True)
    _square("eigh", a)
    lower = _uplo_lower(UPLO)
    v, w = _lx.eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def _uplo_lower(UPLO):
    if UPLO is None or UPLO == "L":
        return True
    if UPLO == "U":
        return False
    raise ValueError(f"linalg: UPLO must be 'L' or 'U', got {UPLO!r}")


def eigvalsh(a, UPLO="L", *, symmetrize_input=True):
    """Eigenvalues (ascending) of each symmetric matrix of `a` [..., n, n]."""
    return eigh(a, UPLO, symmetrize_input).eigenvalues


def qr(a, mode="reduced"):
    """QR decomposition of each matrix of `a` [..., m, n]: `QRResult(Q, R)` with mode
    'reduced' (Q [..., m, k], R [..., k, n], k = min(m, n)) or 'complete' (Q [..., m, m]);
    mode 'r' returns R only. Derivatives of mode 'complete' need m <= n."""
    (a,) = _inexact(a, name="qr", complex_ok=True)
    if a.ndim < 2:
        raise ValueError(f"linalg.qr: expected a matrix, got shape {a.shape}")
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"linalg.qr: mode {mode!r} is not supported; use 'reduced', "
                         "'complete' or 'r'")
    q, r = _lx.qr(a, full_matrices=mode == "complete")
    if mode == "r":
        return r
    return QRResult(q, r)


def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """Singular value decomposition of each matrix of `a` [..., m, n]:
    `SVDResult(U, S, Vh)` with S descending (`S` alone without `compute_uv`).
    `hermitian` is accepted for NumPy compatibility (the general SVD is used).
    Derivatives of U and Vh need full_matrices=False unless a is square, and are inf/NaN
    at repeated singular values (as in JAX)."""
    del hermitian
    (a,) = _inexact(a, name="svd", complex_ok=True)
    if a.ndim < 2:
        raise ValueError(f"linalg.svd: expected a matrix, got shape {a.shape}")
    out = _lx.svd(a, full_matrices=full_matrices, compute_uv=compute_uv,
                  subset_by_index=subset_by_index)
    if not compute_uv:
        return out
    return SVDResult(*out)


def svdvals(x):
    """Singular values (descending) of each matrix of `x` [..., m, n]."""
    return svd(x, compute_uv=False)


def _default_rtol(a, scale=1.0):
    return scale * max(a.shape[-2:]) * float(_np.finfo(a.dtype).eps)


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """Least-squares solution of a @ x = b for a [m, n], b [m] or [m, k]: `(x, resid,
    rank, s)` from the SVD of a, with singular values below `rcond * max(s)` (default
    eps * max(m, n)) treated as zero. `resid` is the squared residual norm per column
    (always computed, as JAX; `numpy_resid=True` gives NumPy's empty array when
    rank < n or m <= n, which needs concrete values)."""
    a, b = _inexact(a, b, name="lstsq", complex_ok=True)
    if a.ndim != 2:
        raise TypeError(f"linalg.lstsq: a must be a matrix [m, n], got shape {a.shape}")
    if b.ndim not in (1, 2) or b.shape[0] != a.shape[0]:
        raise TypeError(f"linalg.lstsq: b must be [m] or [m, k] with m = {a.shape[0]}, got "
                        f"shape {b.shape}")
    vector = b.ndim == 1
    if vector:
        b = b[:, None]
    m, n = a.shape
    if rcond is None:
        rcond = _default_rtol(a)
    u, s, vt = _lx.svd(a, full_matrices=False)
    if s.shape[-1]:
        mask = s >= rcond * s[0]
    else:
        mask = s > 0
    rank = fnp.sum(mask)                   # the default int (int64 under x64), as JAX's
    s_inv = fnp.where(mask, 1 / fnp.where(mask, s, 1), 0)
    x = _H(vt) @ (s_inv[:, None] * (_H(u) @ b))
    if numpy_resid and (int(rank) < n or m <= n):
        resid = fnp.asarray(_np.array([], s.dtype))
    else:
        r = b - a @ x
        resid = fnp.sum(fnp.real(r * fnp.conj(r)) if fnp.iscomplexobj(r) else r ** 2,
                        axis=0)
    if vector:
        # The residual of a 1-D b keeps shape (1,), as NumPy and JAX.
        x = x[:, 0]
    return x, resid, rank, s


def _pinv_svd(a, rtol):
    # rtol: a scalar or one per matrix, of shape a.shape[:-2] + (1,)
    u, s, vt = _lx.svd(a, full_matrices=False)
    cutoff = rtol * s[..., 0:1]
    keep = s > cutoff
    # 1/s for the kept singular values, 0 for the dropped ones (a real factor: complex
    # division by inf is NaN on some backends)
    s_inv = fnp.where(keep, 1 / fnp.where(keep, s, 1), 0)
    return _H(vt) @ (_H(u) * s_inv[..., :, None].astype(u.dtype))


_pinv_core = _api.custom_jvp(_pinv_svd)


@_pinv_core.defjvp
def _pinv_jvp(primals, tangents):
    # The derivative of the pseudo-inverse (Golub & Pereyra 1973), as JAX's: it exists
    # wherever the rank is locally constant, unlike the derivative through the SVD, which
    # is NaN at repeated singular values. (None flows to rtol: a threshold.)
    (a, rtol), (a_dot, _) = primals, tangents
    p = _pinv_core(a, rtol)
    m, n = a.shape[-2:]
    eye_m = fnp.eye(m, dtype=a.dtype)
    eye_n = fnp.eye(n, dtype=a.dtype)
    p_dot = -p @ a_dot @ p
    p_dot = p_dot + p @ _H(p) @ _H(a_dot) @ (eye_m - a @ p)
    p_dot = p_dot + (eye_n - p @ a) @ _H(a_dot) @ _H(p) @ p
    return p, p_dot


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """Moore-Penrose pseudo-inverse of each matrix of `a` [..., m, n] through the SVD;
    singular values at most `rtol * max(s)` are dropped (default 10 * max(m, n) * eps, as
    JAX; `rcond` is NumPy's older name). Its derivative is the analytic one (defined where
    the rank does not change)."""
    del hermitian
    (a,) = _inexact(a, name="pinv", complex_ok=True)
    if a.ndim < 2:
        raise ValueError(f"linalg.pinv: expected a matrix, got shape {a.shape}")
    m, n = a.shape[-2:]
    if m == 0 or n == 0:
        return fnp.zeros(a.shape[:-2] + (n, m), a.dtype)
    if rtol is None:
        rtol = rcond
    real = _dtypes.real_dtype(a.dtype)
    if rtol is None:
        rtol = fnp.asarray(_default_rtol(a, 10.0), real)
    else:       # a scalar, or one per matrix (broadcast against a.shape[:-2]), as JAX's
        rtol = fnp.asarray(rtol).astype(real)
        if rtol.ndim:
            if rtol.ndim > a.ndim - 2:
                raise ValueError(f"linalg.pinv: rtol of shape {rtol.shape} does not "
                                 f"broadcast against the batch shape {a.shape[:-2]}")
            rtol = rtol[..., None]
    return _pinv_core(a, rtol)


def matrix_power(a, n):
    """a @ a @ ... (n times) for each matrix of `a` [..., k, k], by repeated squaring;
    n = 0 gives the identity and n < 0 powers of the inverse."""
    a = fnp.asarray(a)          # integer matrices stay integer (n >= 0), as in NumPy
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"linalg.matrix_power: expected square matrices, got {a.shape}")
    if isinstance(n, (bool, _np.bool_)) or not isinstance(n, (int, _np.integer)):
        raise TypeError(f"linalg.matrix_power: exponent must be an integer, got {n!r}")
    n = int(n)
    if n < 0:
        a = inv(a)
        n = -n
    out = fnp.broadcast_to(fnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    base = a
    while n:
        if n & 1:
            out = fnp.matmul(out, base)
        n >>= 1
        if n:
            base = fnp.matmul(base, base)
    return out


def matrix_rank(M, rtol=None, *, hermitian=False, tol=None):
    """Number of singular values of each matrix of `M` above the threshold: `tol`
    (absolute) if given, else `rtol * max(s)` (default max(m, n) * eps, NumPy's rule).
    `hermitian` does not change the result (the singular values of a symmetric matrix
    are its |eigenvalues|; funcgrad takes them from the SVD either way)."""
    (M,) = _inexact(M, name="matrix_rank", complex_ok=True)
    if M.ndim < 2:
        return fnp.any(M != 0).astype(fnp.int32)
    s = svd(M, compute_uv=False)
    if tol is None:
        r = _default_rtol(M) if rtol is None else fnp.asarray(rtol, dtype=s.dtype)
        smax = fnp.max(s, axis=-1, keepdims=True) if s.shape[-1] else fnp.zeros(
            s.shape[:-1] + (1,), s.dtype)
        tol = r * smax if fnp.ndim(r) == 0 else fnp.asarray(r)[..., None] * smax
    else:
        tol = fnp.asarray(tol, dtype=s.dtype)
        tol = tol[..., None] if fnp.ndim(tol) else tol
    return fnp.sum(s > tol, axis=-1)       # the default int; a vector's stays int32 (JAX)


def cond(x, p=None):
    """Condition number of each matrix of `x`: s_max / s_min for p None, 2 (-2: the
    inverse), else norm(x, p) * norm(inv(x), p). Singular matrices give inf."""
    (x,) = _inexact(x, name="cond", complex_ok=True)
    if p is None or p in (2, -2):
        s = svd(x, compute_uv=False)
        r = s[..., 0] / s[..., -1]
        out = 1 / r if p == -2 else r
        return fnp.where(fnp.isnan(out), fnp.inf, out)
    _square("cond", x)
    out = norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))
    return fnp.where(fnp.isnan(out), fnp.inf, out)


def tensorinv(a, ind=2):
    """Inverse of `a` as a linear map from its last dims onto its first `ind` dims
    (NumPy's tensorinv)."""
    a = fnp.asarray(a)
    out_shape = a.shape[ind:] + a.shape[:ind]
    n = int(_np.prod(a.shape[:ind]))
    if int(_np.prod(a.shape[ind:])) != n:
        raise ValueError(f"linalg.tensorinv: a {a.shape} is not square for ind={ind}")
    return fnp.reshape(inv(fnp.reshape(a, (n, -1))), out_shape)


def tensorsolve(a, b, axes=None):
    """Solve tensordot(a, x, x.ndim) = b for x (NumPy's tensorsolve)."""
    a, b = _inexact(a, b, name="tensorsolve", complex_ok=True)
    if axes is not None:
        allax = list(range(a.ndim))
        for k in axes:
            allax.remove(k)
            allax.insert(a.ndim, k)
        a = fnp.transpose(a, allax)
    out_shape = a.shape[b.ndim:]
    n = int(_np.prod(out_shape))
    if int(_np.prod(b.shape)) != n:
        raise ValueError(f"linalg.tensorsolve: a {a.shape} and b {b.shape} do not match")
    return fnp.reshape(solve(fnp.reshape(a, (n, n)), fnp.ravel(b)), out_shape)
