"""funcgrad.scipy.linalg: JAX's `jax.scipy.linalg` names on the LAPACK primitives
(`solve_triangular`, `cho_factor`/`cho_solve`, `lu`/`lu_factor`/`lu_solve`, `cholesky`,
`solve`, `inv`, `det`, `qr`, `svd`, `eigh`, `block_diag`), batched over leading axes.

As in JAX, bad numerics do not raise: a singular matrix gives inf/NaN in solves, a matrix
that is not positive definite a NaN Cholesky factor. `overwrite_*`, `check_finite` and
`debug` are accepted for SciPy compatibility and ignored (arrays are immutable).
"""
from __future__ import annotations

from .. import _lax_linalg as _lx
from .. import numpy as fnp
from ..numpy import linalg as _nla

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "inv", "lu",
           "lu_factor", "lu_solve", "qr", "solve", "solve_triangular", "svd"]


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
    """Cholesky factor of each matrix of `a`: upper U (a = U.T @ U) unless `lower`. `a` is
    symmetrised first; a matrix that is not positive definite gives NaN."""
    del overwrite_a, check_finite
    return _nla.cholesky(a, upper=not lower)


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

