"""funcgrad.scipy.linalg: JAX's `jax.scipy.linalg` names on the LAPACK primitives
(`solve_triangular`, `cho_factor`/`cho_solve`, `lu`/`lu_factor`/`lu_solve`, `cholesky`,
`solve`, `inv`, `det`, `qr`, `svd`, `eigh`, `block_diag`), the structured matrices
`toeplitz`, `hankel`, `circulant`, and `expm`, batched over leading axes; and SciPy's
special matrices (`hilbert`, `invhilbert`, `pascal`, `invpascal`, `dft`, `hadamard`,
`helmert`, `leslie`, `companion`, `convolution_matrix`, `fiedler`,
`fiedler_companion`).

As in JAX, bad numerics do not raise: a singular matrix gives inf/NaN in solves, a matrix
that is not positive definite a NaN Cholesky factor. `overwrite_*`, `check_finite` and
`debug` are accepted for SciPy compatibility and ignored (arrays are immutable).
"""
from __future__ import annotations

from .. import _lax_linalg as _lx
from .. import numpy as fnp
from ..numpy import linalg as _nla

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "circulant", "companion",
           "convolution_matrix", "det", "dft", "eigh", "expm", "fiedler", "fiedler_companion",
           "hadamard", "hankel", "helmert", "hilbert", "inv", "invhilbert", "invpascal",
           "leslie", "lu", "lu_factor", "lu_solve", "pascal", "qr", "solve",
           "solve_triangular", "svd", "toeplitz"]


def _mT(x):
    return fnp.swapaxes(x, -1, -2)


def _as_matrix_rhs(name, a, b):
    """(a, b as [..., n, k] with batch axes broadcast against a's, was b a vector)."""
    a, b = _nla._inexact(a, b, name=name, complex_ok=True)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{name}: expected square matrices [..., n, n], got shape {a.shape}")
    n = a.shape[-1]
    vector = b.ndim == a.ndim - 1 or b.ndim == 1
    if vector:
        b = b[..., None]
    if b.shape[-2] != n:
        raise ValueError(f"{name}: a {a.shape} and b {b.shape} do not match: b needs {n} "
                         "rows")
    a, b = _nla._broadcast_batch(a, b)
    return a, b, vector


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     debug=None, check_finite=True):
    """Solve op(a) x = b with a [..., n, n] triangular (only its `lower` or upper triangle
    is read; ones on its diagonal with `unit_diagonal`), op(a) = a (trans 0 / 'N'), a.T
    (1 / 'T') or a^H (2 / 'C'); b [..., n] or [..., n, k]. A zero on the diagonal gives
    inf/NaN."""
    del overwrite_b, debug, check_finite
    if trans in (0, "N"):
        transpose_a = conjugate_a = False
    elif trans in (1, "T"):
        transpose_a, conjugate_a = True, False
    elif trans in (2, "C"):
        transpose_a = conjugate_a = True
    else:
        raise ValueError(f"solve_triangular: invalid trans {trans!r}; use 0, 1, 2, 'N', "
                         "'T' or 'C'")
    a, b, vector = _as_matrix_rhs("solve_triangular", a, b)
    x = _lx.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=transpose_a,
                             conjugate_a=conjugate_a, unit_diagonal=unit_diagonal)
    return x[..., 0] if vector else x


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """Cholesky factor of each matrix of `a`: upper U (a = U^H @ U) unless `lower`. Only
    the triangle the factor comes from is read (the upper one by default), as JAX's and
    SciPy's (symmetrising `a`, as jnp.linalg.cholesky does, gave another factor for a
    matrix filled in one triangle); a matrix that is not positive definite gives NaN."""
    del overwrite_a, check_finite
    (a,) = _nla._inexact(a, name="cholesky", complex_ok=True)
    if a.ndim < 2:
        raise ValueError(f"cholesky: expected a matrix, got shape {a.shape}")
    tri = fnp.tril if lower else fnp.triu
    strict = tri(a, -1 if lower else 1)
    h = tri(a) + fnp.conj(fnp.swapaxes(strict, -1, -2))
    return _nla.cholesky(h, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """(c, lower): the Cholesky factor for `cho_solve` (the other triangle of c is zero)."""
    return cholesky(a, lower=lower, overwrite_a=overwrite_a, check_finite=check_finite), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve a x = b given `(c, lower) = cho_factor(a)`; b [..., n] or [..., n, k]."""
    del overwrite_b, check_finite
    c, lower = c_and_lower
    c, b, vector = _as_matrix_rhs("cho_solve", c, b)
    # a = L L^H (lower) or U^H U (^H is ^T for real matrices): two triangular solves, the
    # first with the factor that stands on the left.
    x = _lx.triangular_solve(c, b, left_side=True, lower=lower, transpose_a=not lower,
                             conjugate_a=not lower)
    x = _lx.triangular_solve(c, x, left_side=True, lower=lower, transpose_a=lower,
                             conjugate_a=lower)
    return x[..., 0] if vector else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    """LU decomposition with partial pivoting of each matrix of `a` [..., m, n]:
    `(p, l, u)` with a = p @ l @ u (p a permutation matrix, l [..., m, k] unit lower,
    u [..., k, n] upper, k = min(m, n)); `(p @ l, u)` with `permute_l`."""
    del overwrite_a, check_finite
    (a,) = _nla._inexact(a, name="lu", complex_ok=True)
    if a.ndim < 2:
        raise ValueError(f"lu: expected a matrix, got shape {a.shape}")
    m, n = a.shape[-2:]
    k = min(m, n)
    lu_, _, perm = _lx.lu(a)
    l_ = fnp.tril(lu_[..., :, :k], -1) + fnp.eye(m, k, dtype=a.dtype)
    u = fnp.triu(lu_[..., :k, :])
    # p[perm[i], i] = 1, so that p @ (l @ u) puts row i of l @ u back at row perm[i].
    p = (perm[..., :, None] == fnp.arange(m, dtype=perm.dtype)).astype(a.dtype)
    p = _mT(p)
    if permute_l:
        return p @ l_, u
    return p, l_, u


def lu_factor(a, overwrite_a=False, check_finite=True):
    """(lu, piv): L and U packed in one matrix and the 0-based pivots (int32) of each
    matrix of `a` [..., n, n], for `lu_solve`."""
    del overwrite_a, check_finite
    (a,) = _nla._inexact(a, name="lu_factor", complex_ok=True)
    lu_, piv, _ = _lx.lu(a)
    return lu_, piv


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve a x = b (trans 0), a.T x = b (1) or a^H x = b (2) from `lu_factor(a)`."""
    del overwrite_b, check_finite
    lu_, piv = lu_and_piv
    if trans not in (0, 1, 2):
        raise ValueError(f"lu_solve: invalid trans {trans!r}; use 0, 1 or 2")
    lu_, b, vector = _as_matrix_rhs("lu_solve", lu_, b)
    piv = fnp.broadcast_to(fnp.asarray(piv), lu_.shape[:-1])
    perm = _lx.lu_pivots_to_permutation(piv, lu_.shape[-1])
    x = _nla._lu_solve(lu_, perm, b, trans)
    return x[..., 0] if vector else x


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False,
          check_finite=True, assume_a="gen"):
    """Solve a x = b: through Cholesky for assume_a='pos' (reading the `lower` or upper
    triangle of a), else through LU. b [..., n] or [..., n, k]."""
    del overwrite_a, overwrite_b, debug, check_finite
    if assume_a not in ("gen", "sym", "her", "pos"):
        raise ValueError(f"solve: assume_a {assume_a!r} is not one of 'gen', 'sym', 'her', "
                         "'pos'")
    if assume_a == "pos":
        a, b, vector = _as_matrix_rhs("solve", a, b)
        # The lower triangle of the Hermitian matrix whose upper triangle a holds is
        # conj(a^T)'s.
        c = _lx.cholesky(a if lower else fnp.conj(_mT(a)), symmetrize_input=False)
        x = cho_solve((c, True), b)
        return x[..., 0] if vector else x
    a, b, vector = _as_matrix_rhs("solve", a, b)
    x = _nla.solve(a, b)
    return x[..., 0] if vector else x


def inv(a, overwrite_a=False, check_finite=True):
    """Inverse of each matrix of `a` (inf/NaN for a singular matrix)."""
    del overwrite_a, check_finite
    return _nla.inv(a)


def det(a, overwrite_a=False, check_finite=True):
    """Determinant of each matrix of `a`."""
    del overwrite_a, check_finite
    return _nla.det(a)


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    """QR decomposition: mode 'full' (q [..., m, m], r [..., m, n]), 'economic'
    (q [..., m, k], r [..., k, n]) or 'r' (the 1-tuple (r,) with r [..., m, n], as
    SciPy)."""
    del overwrite_a, lwork, check_finite
    if pivoting:
        raise NotImplementedError("qr: column pivoting (pivoting=True) is not supported")
    if mode not in ("full", "economic", "r"):
        raise ValueError(f"qr: mode {mode!r} is not supported; use 'full', 'economic' or "
                         "'r'")
    (a,) = _nla._inexact(a, name="qr", complex_ok=True)
    q, r = _lx.qr(a, full_matrices=mode in ("full", "r"))
    return (r,) if mode == "r" else (q, r)


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True,
        lapack_driver="gesdd"):
    """Singular value decomposition: (u, s, vh), or s alone without `compute_uv`."""
    del overwrite_a, check_finite, lapack_driver
    out = _nla.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return tuple(out) if compute_uv else out


def eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None,
         driver=None):
    """Eigenvalues (ascending) and eigenvectors of the symmetric matrices of `a`: (w, v),
    or w with `eigvals_only`. With `b` (symmetric positive definite), the generalised
    problem a v = w b v (type 1), through b's Cholesky factor."""
    del overwrite_a, overwrite_b, check_finite, driver
    if subset_by_value is not None:
        raise NotImplementedError("eigh: subset_by_value is not supported; use "
                                  "subset_by_index")
    if type != 1:
        raise NotImplementedError(f"eigh: only type=1 generalised problems are supported, "
                                  f"got type={type}")
    (a,) = _nla._inexact(a, name="eigh", complex_ok=True)
    if b is None:
        v, w = _lx.eigh(a, lower=lower, subset_by_index=subset_by_index)
        return w if eigvals_only else (w, v)
    a, b = _nla._inexact(a, b, name="eigh", complex_ok=True)
    L = _lx.cholesky(b)
    # c = L^-1 a L^-H has the same eigenvalues; its eigenvectors y give v = L^-H y.
    c = _lx.triangular_solve(L, a, left_side=True, lower=True)
    c = _lx.triangular_solve(L, c, left_side=False, lower=True, transpose_a=True,
                             conjugate_a=True)
    y, w = _lx.eigh(c, lower=lower, subset_by_index=subset_by_index)
    if eigvals_only:
        return w
    v = _lx.triangular_solve(L, y, left_side=True, lower=True, transpose_a=True,
                             conjugate_a=True)
    return w, v


def block_diag(*arrs):
    """The block-diagonal matrix of the given matrices (scalars and vectors count as 1 x 1
    and 1 x n)."""
    if not arrs:
        return fnp.zeros((1, 0))
    mats = [fnp.atleast_2d(fnp.asarray(a)) for a in arrs]
    if any(m.ndim != 2 for m in mats):
        raise ValueError("block_diag: arguments must have at most 2 dimensions")
    dt = fnp.result_type(*mats)
    cols = sum(m.shape[1] for m in mats)
    rows = []
    at = 0
    for m in mats:
        rows.append(fnp.pad(m.astype(dt), ((0, 0), (at, cols - at - m.shape[1]))))
        at += m.shape[1]
    return fnp.concatenate(rows, axis=0)



# --- structured matrices ----------------------------------------------------------------

def toeplitz(c, r=None):
    """The Toeplitz matrix with first column `c` and first row `r` (r[0] ignored; `r`
    defaults to conj(c)), batched over the broadcast leading axes (JAX's)."""
    c = fnp.atleast_1d(fnp.asarray(c))
    r = fnp.conjugate(c) if r is None else fnp.atleast_1d(fnp.asarray(r))
    return fnp.vectorize(_toeplitz, signature="(m),(n)->(m,n)")(c, r)


def _toeplitz(c, r):
    m, n = c.shape[0], r.shape[0]
    dt = fnp.result_type(c, r)
    if m == 0 or n == 0:
        return fnp.zeros((m, n), dt)
    elems = fnp.concatenate([c[::-1].astype(dt), r[1:].astype(dt)])
    # T[i, j] = c[i - j] for i >= j, r[j - i] above: elems[m - 1 - i + j]
    idx = (m - 1) - fnp.arange(m)[:, None] + fnp.arange(n)[None, :]
    return elems[idx]


def hankel(c, r=None):
    """The Hankel matrix with first column `c` and last row `r` (r[0] ignored; zeros by
    default), batched over the broadcast leading axes (JAX's)."""
    c = fnp.atleast_1d(fnp.asarray(c))
    r = fnp.zeros_like(c) if r is None else fnp.atleast_1d(fnp.asarray(r))
    if c.ndim < r.ndim:
        c = fnp.reshape(c, (1,) * (r.ndim - c.ndim) + c.shape)
    elif r.ndim < c.ndim:
        r = fnp.reshape(r, (1,) * (c.ndim - r.ndim) + r.shape)
    return fnp.vectorize(_hankel, signature="(m),(n)->(m,n)")(c, r)


def _hankel(c, r):
    m, n = c.shape[0], r.shape[0]
    dt = fnp.result_type(c, r)
    if m == 0 or n == 0:
        return fnp.zeros((m, n), dt)
    v = fnp.concatenate([c.astype(dt), r[1:].astype(dt)])
    return v[fnp.arange(m)[:, None] + fnp.arange(n)[None, :]]


def circulant(c):
    """The circulant matrix whose first column is `c` (batched over leading axes)."""
    c = fnp.atleast_1d(fnp.asarray(c))

    def one(v):
        n = v.shape[0]
        return v[(fnp.arange(n)[:, None] - fnp.arange(n)[None, :]) % n]
    return fnp.vectorize(one, signature="(n)->(n,n)")(c)


# --- the matrix exponential -------------------------------------------------------------

_PADE = {
    3: (120., 60., 12., 1.),
    5: (30240., 15120., 3360., 420., 30., 1.),
    7: (17297280., 8648640., 1995840., 277200., 25200., 1512., 56., 1.),
    9: (17643225600., 8821612800., 2075673600., 302702400., 30270240., 2162160., 110880.,
        3960., 90., 1.),
    13: (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800.,
         129060195264000., 10559470521600., 670442572800., 33522128640., 1323241920.,
         40840800., 960960., 16380., 182., 1.),
}


def _pade(m):
    """U, V of the [m/m] Padé approximant of exp (Higham 2005, as JAX's _pade3.._pade13)."""
    b = _PADE[m]

    def uv(a):
        ident = fnp.eye(a.shape[0], dtype=a.dtype)
        a2 = a @ a
        if m == 13:
            a4 = a2 @ a2
            a6 = a4 @ a2
            u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4
                     + b[3] * a2 + b[1] * ident)
            v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 \
                + b[2] * a2 + b[0] * ident
            return u, v
        powers = [ident, a2]
        while len(powers) < (m + 1) // 2:
            powers.append(powers[-1] @ a2 if len(powers) != 2 else a2 @ a2)
        u = a @ sum(b[2 * k + 1] * p for k, p in enumerate(powers))
        v = sum(b[2 * k] * p for k, p in enumerate(powers))
        return u, v
    return uv


def expm(A, *, upper_triangular=False, max_squarings=16):
    """The matrix exponential (JAX's `jax.scipy.linalg.expm`: scaling and squaring with
    Padé approximants of degree 3, 5, 7 (float32/complex64) or up to 13 (64-bit types)
    chosen by the 1-norm, as Higham 2005; NaN when more than `max_squarings` squarings
    would be needed). Batched over leading axes; differentiable."""
    from .. import lax
    a = fnp.asarray(A)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"Expected A to be a (batched) square matrix, got A.shape={a.shape}.")
    if not (fnp.issubdtype(a.dtype, fnp.inexact)):
        a = a.astype(fnp.float32)
    if a.ndim > 2:
        return fnp.vectorize(lambda m: expm(m, upper_triangular=upper_triangular,
                                            max_squarings=max_squarings),
                             signature="(n,n)->(n,n)")(a)
    norm = fnp.linalg.norm(a, 1)
    if a.dtype in (fnp.float64, fnp.complex128):
        maxnorm, conds, degrees = 5.371920351148152, (1.495585217958292e-002,
                                                      2.539398330063230e-001,
                                                      9.504178996162932e-001,
                                                      2.097847961257068e+000), (3, 5, 7, 9, 13)
    elif a.dtype in (fnp.float32, fnp.complex64):
        maxnorm, conds, degrees = 3.925724783138660, (4.258730016922831e-001,
                                                      1.880152677804762e+000), (3, 5, 7)
    else:
        raise TypeError(f"A.dtype={a.dtype} is not supported.")
    n_squarings = fnp.maximum(0, fnp.floor(fnp.log2(norm / maxnorm)))
    a = a / (2 ** n_squarings).astype(a.dtype)
    idx = fnp.digitize(norm, fnp.asarray(conds, norm.dtype))
    u, v = lax.switch(idx, [_pade(m) for m in degrees], a)
    p, q = u + v, -u + v

    def compute(pq):
        p, q = pq
        r = solve_triangular(q, p) if upper_triangular else _nla.solve(q, p)

        def square(c, i):
            return lax.cond(i < n_squarings, lambda x: x @ x, lambda x: x, c), None
        return lax.scan(square, r, fnp.arange(max_squarings, dtype=n_squarings.dtype))[0]

    return lax.cond(n_squarings > max_squarings, lambda pq: fnp.full_like(pq[0], fnp.nan),
                    compute, (p, q))


# --- special matrices (SciPy's definitions) ----------------------------------------------

def _static_size(name, n):
    from ..numpy._poly import _order
    return _order(n, name, "n (the matrix size)")


def _exact(name, rows):
    """A matrix of Python ints (exact) as an array of the default float dtype."""
    import numpy as np
    return fnp.asarray(np.array(rows, dtype=np.float64).reshape(len(rows), -1))


def hilbert(n):
    """The n x n Hilbert matrix, H[i, j] = 1 / (i + j + 1)."""
    n = _static_size("hilbert", n)
    i = fnp.arange(n, dtype=fnp.float32 if not _x64() else fnp.float64)
    return 1.0 / (i[:, None] + i[None, :] + 1.0)


def _x64():
    from .. import dtypes
    return dtypes.x64_enabled()


def invhilbert(n):
    """The exact inverse of the n x n Hilbert matrix (integers, in the default float
    dtype: exact while they fit its mantissa)."""
    from math import comb
    n = _static_size("invhilbert", n)
    rows = [[(-1) ** (i + j) * (i + j + 1) * comb(n + i, n - j - 1) * comb(n + j, n - i - 1)
             * comb(i + j, i) ** 2 for j in range(n)] for i in range(n)]
    return _exact("invhilbert", rows) if n else fnp.zeros((0, 0))


def _pascal_lower(n, sign):
    from math import comb
    return [[(sign ** (i - j)) * comb(i, j) if j <= i else 0 for j in range(n)]
            for i in range(n)]


def _kind(name, kind):
    kind = "symmetric" if kind is None else kind
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError(f"{name}: kind must be 'symmetric', 'lower' or 'upper', got "
                         f"{kind!r}")
    return kind


def pascal(n, kind=None):
    """The n x n Pascal matrix: binomial coefficients C(i + j, i) ('symmetric', the
    default), C(i, j) ('lower') or its transpose ('upper')."""
    from math import comb
    n = _static_size("pascal", n)
    kind = _kind("pascal", kind)
    if n == 0:
        return fnp.zeros((0, 0))
    if kind == "symmetric":
        return _exact("pascal", [[comb(i + j, i) for j in range(n)] for i in range(n)])
    low = _exact("pascal", _pascal_lower(n, 1))
    return low if kind == "lower" else low.T


def invpascal(n, kind=None):
    """The exact inverse of `pascal(n, kind)`: (-1)**(i - j) C(i, j) for 'lower', its
    transpose for 'upper', and inv(L).T @ inv(L) for 'symmetric' (P = L @ L.T)."""
    n = _static_size("invpascal", n)
    kind = _kind("invpascal", kind)
    if n == 0:
        return fnp.zeros((0, 0))
    inv_low = _pascal_lower(n, -1)
    if kind == "symmetric":
        rows = [[sum(inv_low[k][i] * inv_low[k][j] for k in range(n)) for j in range(n)]
                for i in range(n)]
        return _exact("invpascal", rows)
    low = _exact("invpascal", inv_low)
    return low if kind == "lower" else low.T


def dft(n, scale=None, *, dtype=None):
    """The n x n discrete Fourier transform matrix, m[j, k] = exp(-2 pi i j k / n), so
    that dft(n) @ x == fft(x); `scale` None, 'sqrtn' (divided by sqrt(n)) or 'n'."""
    import math

    import numpy as np
    n = _static_size("dft", n)
    if scale not in (None, "sqrtn", "n"):
        raise ValueError(f"dft: scale must be None, 'sqrtn' or 'n', got {scale!r}")
    jk = np.outer(np.arange(n), np.arange(n)) % max(n, 1)
    m = np.exp(-2j * np.pi * jk / max(n, 1))
    if scale == "sqrtn":
        m = m / math.sqrt(n)
    elif scale == "n":
        m = m / n
    out = fnp.asarray(m)
    return out if dtype is None else out.astype(dtype)


def hadamard(n, dtype=int):
    """The n x n Hadamard matrix of Sylvester's construction (n a power of 2)."""
    import numpy as np
    n = _static_size("hadamard", n)
    if n < 1 or n & (n - 1):
        raise ValueError(f"hadamard: n must be a positive power of 2, got {n}")
    h = np.ones((1, 1), dtype=np.int64)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return fnp.asarray(h, dtype=dtype)


def helmert(n, full=False):
    """The Helmert matrix of order n: row k (1 <= k < n) is 1/sqrt(k(k+1)) over its first
    k entries and -k/sqrt(k(k+1)) at entry k; with `full`, a first row of 1/sqrt(n)."""
    import numpy as np
    n = _static_size("helmert", n)
    h = np.tril(np.ones((n, n)), -1) - np.diag(np.arange(n))
    d = np.arange(n) * np.arange(1, n + 1)
    h[0] = 1.0
    d[0] = n
    h = h / np.sqrt(d)[:, None]
    return fnp.asarray(h if full else h[1:])


def leslie(f, s):
    """The Leslie matrix of fecundities `f` (n,) and survival rates `s` (n - 1,): f in
    the first row, s on the subdiagonal."""
    f, s = fnp.asarray(f), fnp.asarray(s)
    if f.ndim != 1 or s.ndim != 1 or s.shape[0] != f.shape[0] - 1 or f.shape[0] < 1:
        raise ValueError(f"leslie: f must have shape (n,) and s shape (n - 1,), got "
                         f"{f.shape} and {s.shape}")
    dt = fnp.result_type(f, s, 1.0)
    n = f.shape[0]
    out = fnp.zeros((n, n), dt).at[0].set(f.astype(dt))
    return out.at[fnp.arange(1, n), fnp.arange(n - 1)].set(s.astype(dt))


def companion(a):
    """The companion matrix of the polynomial with coefficients `a` (highest degree first,
    a[0] != 0): -a[1:] / a[0] in the first row, ones on the subdiagonal, so that its
    characteristic polynomial is a / a[0]."""
    a = fnp.asarray(a)
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"companion: a must be 1-D with at least two coefficients, got "
                         f"shape {a.shape}")
    a = a.astype(fnp.result_type(a, 1.0))
    n = a.shape[0] - 1
    out = fnp.zeros((n, n), a.dtype).at[0].set(-a[1:] / a[0])
    return out.at[fnp.arange(1, n), fnp.arange(n - 1)].set(1.0)


def convolution_matrix(a, n, mode="full"):
    """The matrix A with A @ x == convolve(a, x, mode) for x of length `n` (NumPy's
    modes: 'full', 'same' (centred on the longer input), 'valid')."""
    a = fnp.asarray(a)
    n = _static_size("convolution_matrix", n)
    if a.ndim != 1 or a.shape[0] == 0 or n == 0:
        raise ValueError(f"convolution_matrix: a must be a non-empty 1-D array and n > 0, "
                         f"got shape {a.shape} and n={n}")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"convolution_matrix: mode must be 'full', 'same' or 'valid', got "
                         f"{mode!r}")
    m = a.shape[0]
    rows = fnp.arange(n + m - 1)[:, None] - fnp.arange(n)[None, :]
    inside = (rows >= 0) & (rows < m)
    full = fnp.where(inside, a[fnp.clip(rows, 0, m - 1)], fnp.zeros((), a.dtype))
    if mode == "full":
        return full
    if mode == "same":
        start = (min(n, m) - 1) // 2
        return full[start:start + max(n, m)]
    return full[min(n, m) - 1:max(n, m)]


def fiedler(a):
    """The symmetric Fiedler matrix |a[i] - a[j]|."""
    a = fnp.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"fiedler: a must be 1-D, got shape {a.shape}")
    return fnp.abs(a[:, None] - a[None, :])


def fiedler_companion(a):
    """The Fiedler companion matrix of the polynomial with coefficients `a` (highest
    degree first, a[0] != 0): a pentadiagonal matrix with the characteristic polynomial
    a / a[0] (SciPy's layout)."""
    a = fnp.asarray(a)
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"fiedler_companion: a must be 1-D with at least two coefficients, "
                         f"got shape {a.shape}")
    a = a.astype(fnp.result_type(a, 1.0))
    a = a / a[0]
    n = a.shape[0] - 1
    c = fnp.zeros((n, n), a.dtype)
    if n == 1:
        return c.at[0, 0].set(-a[1])
    # -a[1] at (0, 0) and a 1 below it; then, pair by pair, -a[k] on the superdiagonal of
    # even rows and on the subdiagonal of odd ones, with ones one step further out.
    c = c.at[0, 0].set(-a[1]).at[1, 0].set(1.0)
    for k in range(2, n + 1):
        col = k - 1
        if k % 2 == 0:
            c = c.at[k - 2, col].set(-a[k])
            if k < n:
                c = c.at[k - 2, col + 1].set(1.0)
        else:
            c = c.at[k - 1, col - 1].set(-a[k])
            if k < n:
                c = c.at[k, col - 1].set(1.0)
    return c
