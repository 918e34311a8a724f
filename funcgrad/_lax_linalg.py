"""JAX's `jax.lax.linalg` names: the factorisation primitives of `prims/linalg.py`
(`cholesky_p`, `triangular_solve_p`, `lu_p`, `qr_p`, `eigh_p`, `svd_p`, `eig_p`) and their
wrappers with JAX's signatures (`cholesky(x, symmetrize_input=True)`, `eigh(x, lower=True,
...)` returning `(v, w)`, `lu(x)` returning `(lu, pivots, permutation)`, `eig(x)` returning
`[w, vl, vr]`, ...).

Every function takes a stack of matrices `[..., m, n]` in float32, float64, complex64 or
complex128 (integers are converted to the default float; complex matrices are Hermitian
where the real ones are symmetric, and eigen-/singular values of complex matrices are
real, as in JAX). Failures never raise, as in JAX: a matrix that is not
positive definite gives a Cholesky factor that is NaN on and below the diagonal (zero
above), a singular matrix an LU with a zero on
U's diagonal (solves with it give inf/NaN), an iteration that does not converge NaN.
"""
from __future__ import annotations

import enum
import warnings

import numpy as np

from . import core, dtypes
from .prims import linalg as _la
from .prims.elementwise import add, conj, convert_element_type, div, eq, select
from .prims.indexing import slice as _slice
from .prims.linalg import cholesky_p, eig_p, eigh_p, lu_p, qr_p, svd_p, triangular_solve_p
from .prims.reductions import reduce_sum
from .prims.structural import broadcast_in_dim, expand_dims, full, iota, squeeze, transpose

__all__ = [
    "EigImplementation", "cholesky", "cholesky_p", "eig", "eig_p", "eigh", "eigh_p", "lu",
    "lu_p", "lu_pivots_to_permutation", "qr", "qr_p", "svd", "svd_p", "triangular_solve",
    "triangular_solve_p",
]


def _inexact(x, name):
    """`x` as an array of a float or complex dtype (integers and bools become the default
    float)."""
    x = core.to_array(x)
    if not dtypes.is_inexact(x.dtype):
        x = convert_element_type(x, dtypes.to_inexact(x.dtype))
    if x.ndim < 2:
        raise ValueError(f"{name}: expected a matrix or a stack of matrices [..., m, n], got "
                         f"shape {x.shape}")
    return x


def _mT(x):
    nd = x.ndim
    return transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _H(x):
    return _mT(conj(x)) if dtypes.is_complex(x.dtype) else _mT(x)


def symmetrize(x):
    """(x + x^H) / 2 over the last two axes (x^H: the conjugate transpose)."""
    return div(add(x, _H(x)), full(x.shape, 2, x.dtype))


def cholesky(x, *, symmetrize_input: bool = True):
    """Lower Cholesky factor L (x = L @ L^H) of each matrix of `x` [..., n, n]. With
    `symmetrize_input` x is replaced by (x + x^H) / 2 first (so derivatives are symmetric),
    else only its lower triangle is read. A matrix that is not positive definite gives a
    factor that is NaN on and below the diagonal and zero above, no exception (as JAX)."""
    x = _inexact(x, "cholesky")
    if symmetrize_input:
        x = symmetrize(x)
    return _la.cholesky(x)


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True,
         sort_eigenvalues: bool = True, subset_by_index=None):
    """Eigendecomposition of each symmetric (Hermitian) matrix of `x` [..., n, n]: `(v, w)`
    with the eigenvectors as the columns of v and the eigenvalues w (real) in ascending
    order. With `symmetrize_input`, x is replaced by (x + x^H) / 2; else only its `lower` (or upper)
    triangle is read. `subset_by_index=(lo, hi)` keeps eigenpairs lo..hi-1. Derivatives
    of eigenvectors are infinite/NaN at repeated eigenvalues (as in JAX)."""
    del sort_eigenvalues          # LAPACK's syevd returns them sorted
    x = _inexact(x, "eigh")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"eigh: expected square matrices, got shape {x.shape}")
    if symmetrize_input:
        x = symmetrize(x)
    v, w = _la.eigh(x, lower=lower)
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        n = x.shape[-1]
        if not 0 <= lo <= hi <= n:
            raise ValueError(f"eigh: subset_by_index {subset_by_index} is out of range for "
                             f"{n} eigenvalues")
        v = _slice(v, (0,) * v.ndim, v.shape[:-1] + (hi,))
        v = _slice(v, (0,) * (v.ndim - 1) + (lo,), v.shape)
        w = _slice(w, (0,) * (w.ndim - 1) + (lo,), w.shape[:-1] + (hi,))
    return v, w


class EigImplementation(enum.Enum):
    """Which routine `eig` runs (JAX's enum): funcgrad has LAPACK's `geev` on the host
    only; CUSOLVER and MAGMA are JAX's GPU implementations."""
    CUSOLVER = "cusolver"
    MAGMA = "magma"
    LAPACK = "lapack"


def eig(x, *, compute_left_eigenvectors: bool = True, compute_right_eigenvectors: bool = True,
        enable_eigvec_derivs: bool = False, implementation: EigImplementation | None = None,
        use_magma: bool | None = None) -> list:
    """Eigendecomposition of each general (non-symmetric) square matrix of `x` [..., n, n]:
    a list `[w, vl, vr]` of the eigenvalues w [..., n] and the left (u^H x = w u^H) and
    right (x v = w v) eigenvectors as columns, vl and vr present only when
    `compute_left_eigenvectors` / `compute_right_eigenvectors` ask for them. Results are
    complex (complex64 for float32 or complex64 input, complex128 for float64 or
    complex128), each eigenvector of unit 2-norm with its largest component real
    (LAPACK's geev, as JAX on CPU); eigenvalues are not sorted. A matrix holding NaN or
    inf, or one whose iteration does not converge, gives NaN, no exception.

    Eigenvalues are differentiable. Eigenvector derivatives need `enable_eigvec_derivs`
    (else NotImplementedError, as in JAX): they are correct only when the eigenvalues are
    distinct and no eigenvector has two components tied for the largest magnitude.
    `implementation` may be None or `EigImplementation.LAPACK` (the others are JAX's GPU
    solvers); `use_magma` is deprecated, as in JAX."""
    if use_magma is not None:
        warnings.warn("eig: use_magma is deprecated, please use "
                      "implementation=EigImplementation.MAGMA instead", DeprecationWarning,
                      stacklevel=2)
        implementation = EigImplementation.MAGMA if use_magma else EigImplementation.LAPACK
    if implementation is not None and implementation != EigImplementation.LAPACK:
        raise ValueError(f"eig: only the LAPACK implementation is supported (funcgrad runs "
                         f"geev on the host CPU), got implementation={implementation!r}")
    x = _inexact(x, "eig")
    if x.shape[-1] != x.shape[-2]:
        raise ValueError(f"eig: the input must be square matrices [..., n, n], got shape "
                         f"{x.shape}")
    return _la.eig(x, compute_left_eigenvectors=compute_left_eigenvectors,
                   compute_right_eigenvectors=compute_right_eigenvectors,
                   enable_eigvec_derivs=enable_eigvec_derivs)


def lu(x):
    """LU decomposition with partial pivoting of each matrix of `x` [..., m, n]:
    `(lu, pivots, permutation)`. `lu` holds the unit-lower L (below the diagonal) and U (on
    and above it); `pivots` [..., min(m, n)] int32 says row i was swapped with row
    pivots[i]; `permutation` [..., m] int32 gives `x[..., permutation, :] == L @ U`. A
    singular matrix gives a zero on U's diagonal, no exception."""
    return _la.lu(_inexact(x, "lu"))


def lu_pivots_to_permutation(pivots, permutation_size: int):
    """The row permutation [..., permutation_size] (int32) produced by applying the swaps
    `pivots` [..., k] in order to the identity permutation."""
    pivots = core.to_array(pivots)
    if not dtypes.is_int(pivots.dtype):
        raise TypeError(f"lu_pivots_to_permutation: pivots must be integers, got "
                        f"{pivots.dtype}")
    pivots = convert_element_type(pivots, dtypes.int32)
    m = int(permutation_size)
    k = pivots.shape[-1]
    if k > m:
        raise ValueError(f"lu_pivots_to_permutation: {k} pivots for a permutation of size {m}")
    batch = pivots.shape[:-1]
    shape = batch + (m,)
    positions = iota(dtypes.int32, shape, len(batch))
    perm = positions
    zero = full(shape, 0, dtypes.int32)
    for i in range(k):
        j = broadcast_in_dim(squeeze(_slice(pivots, (0,) * len(batch) + (i,),
                                            batch + (i + 1,)), (len(batch),)),
                             shape, tuple(range(len(batch))))
        at_j = eq(positions, j)
        at_i = eq(positions, full(shape, i, dtypes.int32))
        p_j = reduce_sum(select(at_j, perm, zero), (len(batch),))
        p_i = reduce_sum(select(at_i, perm, zero), (len(batch),))
        bd = tuple(range(len(batch)))
        perm = select(at_i, broadcast_in_dim(p_j, shape, bd),
                      select(at_j, broadcast_in_dim(p_i, shape, bd), perm))
    return perm


def qr(x, *, pivoting: bool = False, full_matrices: bool = True, use_magma=None):
    """QR decomposition of each matrix of `x` [..., m, n]: `(q, r)`, q [..., m, m] and r
    [..., m, n] with `full_matrices`, else q [..., m, k], r [..., k, n] (k = min(m, n))."""
    del use_magma
    if pivoting:
        raise NotImplementedError("qr: column pivoting (pivoting=True) is not supported")
    return _la.qr(_inexact(x, "qr"), full_matrices=full_matrices)


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True, subset_by_index=None,
        algorithm=None):
    """Singular value decomposition of each matrix of `x` [..., m, n]: `(u, s, vh)` with
    s descending (or just `s` without `compute_uv`). `subset_by_index=(lo, hi)` keeps the
    singular triplets lo..hi-1. Non-convergence gives NaN."""
    del algorithm
    x = _inexact(x, "svd")
    outs = _la.svd(x, full_matrices=full_matrices, compute_uv=compute_uv)
    s = outs[0]
    if subset_by_index is not None:
        lo, hi = (int(i) for i in subset_by_index)
        k = s.shape[-1]
        if not 0 <= lo <= hi <= k:
            raise ValueError(f"svd: subset_by_index {subset_by_index} is out of range for "
                             f"{k} singular values")
        nd = s.ndim
        s = _slice(s, (0,) * (nd - 1) + (lo,), s.shape[:-1] + (hi,))
        if compute_uv:
            u, vh = outs[1], outs[2]
            u = _slice(u, (0,) * (u.ndim - 1) + (lo,), u.shape[:-1] + (hi,))
            vh = _slice(vh, (0,) * (vh.ndim - 2) + (lo, 0), vh.shape[:-2] + (hi,
                                                                          vh.shape[-1]))
            return u, s, vh
    if not compute_uv:
        return s
    return outs[1], s, outs[2]


def triangular_solve(a, b, *, left_side: bool = False, lower: bool = False,
                     transpose_a: bool = False, conjugate_a: bool = False,
                     unit_diagonal: bool = False):
    """Solve op(a) @ x = b (`left_side`) or x @ op(a) = b with a [..., m, m] triangular
    (only its `lower` or upper triangle is read; ones are assumed on its diagonal with
    `unit_diagonal`), op(a) = a^T with `transpose_a` (conjugated too with `conjugate_a`,
    complex a). b is [..., m, n] (left) or
    [..., n, m]; a b with one axis fewer than a is a single vector. A zero on a's diagonal
    gives inf/NaN, no exception."""
    a = _inexact(a, "triangular_solve")
    b = core.to_array(b)
    if b.dtype != a.dtype:
        dt = np.promote_types(a.dtype, b.dtype) if dtypes.is_inexact(b.dtype) else a.dtype
        a, b = convert_element_type(a, dt), convert_element_type(b, dt)
    singleton = b.ndim == a.ndim - 1
    if singleton:
        b = expand_dims(b, (b.ndim if left_side else b.ndim - 1,))
    out = _la.triangular_solve(a, b, left_side=left_side, lower=lower,
                               transpose_a=transpose_a, conjugate_a=conjugate_a,
                               unit_diagonal=unit_diagonal)
    if singleton:
        out = squeeze(out, (out.ndim - 1 if left_side else out.ndim - 2,))
    return out
