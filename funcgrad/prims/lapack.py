"""LAPACK through cffi: the factorisations behind the linear-algebra primitives of
`prims/linalg.py` (Cholesky, LU, QR, symmetric and general eigendecompositions, SVD) and
BLAS's triangular solve, called in the library of the `scipy-openblas32` wheel (the library
whose GEMM the C backend calls), opened in cffi's ABI mode (`ffi.dlopen`, no compiler
needed).

Every function takes a stack of matrices `(..., m, n)` (float32, float64, complex64 or
complex128: the s/d/c/z routines; Hermitian eigenproblems with `heevd`, complex QR's Q with
`ungqr`; eigen- and singular values of complex matrices are real, except those of the
general eigendecomposition `geev`, complex for every input) and loops over the
leading axes, calling the row-major LAPACKE entry point once per matrix (for a stack of
two or more, from a loop in C: the prebuilt eager module's `LAPACK_BATCH` drivers, given
the routines' addresses; from Python where no eager module is built), except the LU
factorisations and triangular solves of small real matrices, which that module computes
itself (`SMALL`). Failures do not
raise, as in JAX: a matrix that is not positive definite (Cholesky), an eigen- or singular
value iteration that does not converge, or NaN input (LAPACKE checks for it) gives NaN in
every output of that matrix. An exactly singular matrix is not a failure of LU: its U has a
zero on the diagonal and solves with it give inf/NaN.
"""
from __future__ import annotations

import functools
import math
import os
import threading

import numpy as np

ROW_MAJOR = 101
_NO_TRANS, _TRANS, _CONJ_TRANS = 111, 112, 113
_UPPER, _LOWER = 121, 122
_NON_UNIT, _UNIT = 131, 132
_LEFT, _RIGHT = 141, 142

_TEMPLATE = """
int scipy_LAPACKE_{t}potrf(int, char, int, {c} *, int);
int scipy_LAPACKE_{t}getrf(int, int, int, {c} *, int, int *);
int scipy_LAPACKE_{t}geqrf(int, int, int, {c} *, int, {c} *);
int scipy_LAPACKE_{t}orgqr(int, int, int, int, {c} *, int, {c} *);
int scipy_LAPACKE_{t}syevd(int, char, char, int, {c} *, int, {c} *);
int scipy_LAPACKE_{t}gesdd(int, char, int, int, {c} *, int, {c} *, {c} *, int, {c} *, int);
int scipy_LAPACKE_{t}geev(int, char, char, int, {c} *, int, {c} *, {c} *, {c} *, int, {c} *,
                         int);
void scipy_cblas_{t}trsm(int, int, int, int, int, int, int, {c}, const {c} *, int, {c} *,
                         int);
"""

# The complex routines: matrices as `void *` (LAPACKE's lapack_complex_float/double are
# pairs of reals, row-major like NumPy's complex arrays); eigen- and singular values `{r} *`
# (geev's eigenvalues are complex: `void *`); cblas's complex trsm takes alpha by pointer.
_CTEMPLATE = """
int scipy_LAPACKE_{t}potrf(int, char, int, void *, int);
int scipy_LAPACKE_{t}getrf(int, int, int, void *, int, int *);
int scipy_LAPACKE_{t}geqrf(int, int, int, void *, int, void *);
int scipy_LAPACKE_{t}ungqr(int, int, int, int, void *, int, void *);
int scipy_LAPACKE_{t}heevd(int, char, char, int, void *, int, {r} *);
int scipy_LAPACKE_{t}gesdd(int, char, int, int, void *, int, {r} *, void *, int, void *, int);
int scipy_LAPACKE_{t}geev(int, char, char, int, void *, int, void *, void *, int, void *, int);
void scipy_cblas_{t}trsm(int, int, int, int, int, int, int, const void *, const void *, int,
                         void *, int);
"""
_LETTER = {np.dtype(np.float32): "s", np.dtype(np.float64): "d",
           np.dtype(np.complex64): "c", np.dtype(np.complex128): "z"}
# The real routines' names and their complex counterparts.
_COMPLEX_NAME = {"orgqr": "ungqr", "syevd": "heevd"}

_lib: list = []
_lock = threading.Lock()
_blas_lock = threading.Lock()    # (not `_lock`: `_library` holds that while it loads)


def load_blas(open_library):
    """`open_library()`: the process's first load of the OpenBLAS that funcgrad's GEMMs
    and LAPACK calls use (importing `scipy_openblas32` loads it), made with
    OPENBLAS_NUM_THREADS=1 in the environment, restored afterwards. funcgrad calls
    OpenBLAS on one thread inside its own OpenMP teams, so an OpenBLAS thread pool would
    never get work; but OpenBLAS starts one when it loads, as large as the environment
    says, and each worker spins before it first sleeps: ~0.1 s of CPU per process that
    brought nothing (issue 15: a third of what the linear_regression example's two-thread
    run spent beyond its one-thread run). NumPy's own OpenBLAS is a separate library and
    keeps the user's setting."""
    with _blas_lock:
        saved = os.environ.get("OPENBLAS_NUM_THREADS")
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        try:
            return open_library()
        finally:
            if saved is None:
                os.environ.pop("OPENBLAS_NUM_THREADS", None)
            else:
                os.environ["OPENBLAS_NUM_THREADS"] = saved


def _library():
    """(ffi, lib), opened once."""
    if _lib:
        return _lib[0]
    with _lock:
        if not _lib:
            _lib.append(_open())
    return _lib[0]


def _open():
    import cffi
    try:
        import importlib
        sob = load_blas(lambda: importlib.import_module("scipy_openblas32"))
    except ImportError as err:
        raise RuntimeError(
            "funcgrad linear algebra needs LAPACK from the scipy-openblas32 wheel, which is "
            "not installed: pip install scipy-openblas32") from err
    libdir = sob.get_lib_dir()
    stem = "lib" + sob.get_library()
    names = sorted(f for f in os.listdir(libdir) if f.startswith(stem) and
                   any(s in f for s in (".so", ".dylib", ".dll")))
    if not names:
        raise RuntimeError(f"funcgrad linear algebra: no {stem} library in {libdir}; "
                           "reinstall the scipy-openblas32 wheel")
    ffi = cffi.FFI()
    ffi.cdef(_TEMPLATE.format(t="s", c="float") + _TEMPLATE.format(t="d", c="double")
             + _CTEMPLATE.format(t="c", r="float") + _CTEMPLATE.format(t="z", r="double"))
    return ffi, ffi.dlopen(os.path.join(libdir, names[0]))


def _check_dtype(a, name):
    if a.dtype not in _LETTER:
        raise TypeError(f"{name}: LAPACK routines take float32 or float64 (or complex64 / "
                        f"complex128) matrices, got {a.dtype}; convert with "
                        ".astype(np.float32) first")


def _fn(name, dtype):
    ffi, lib = _library()
    t = _LETTER[np.dtype(dtype)]
    if t in "cz":
        name = _COMPLEX_NAME.get(name, name)
    prefix = "scipy_cblas_" if name == "trsm" else "scipy_LAPACKE_"
    return ffi, getattr(lib, f"{prefix}{t}{name}")


def _real(dtype):
    """The dtype of eigen- and singular values: float32 for complex64, float64 for
    complex128, the dtype itself for real matrices."""
    return np.empty(0, dtype).real.dtype


_CTYPE = {np.dtype(np.float32): "float *", np.dtype(np.float64): "double *",
          np.dtype(np.complex64): "void *", np.dtype(np.complex128): "void *"}


def _ptr(ffi, a):
    # (from_buffer where it can: 0.6 us against 2.0 for __array_interface__, which builds
    # a dict; a LAPACK call on a small matrix is a few us)
    if a.size and a.flags.c_contiguous:
        return ffi.cast(_CTYPE[a.dtype], ffi.from_buffer(a))
    return ffi.cast(_CTYPE[a.dtype], a.__array_interface__["data"][0] if a.size else 0)


def _iptr(ffi, a):
    return ffi.cast("int *", a.__array_interface__["data"][0] if a.size else 0)


# Where the C loops over a stack of matrices come from: `lowering.eager` registers its
# lookup here when it is imported (a layer above this one, so it registers, as backends
# register with core).
_DRIVERS: list = []


def register_drivers(lookup) -> None:
    """`lookup(name)`: (ffi, function) of the prebuilt C loop `name` over a stack of
    matrices (`lowering.eager.LAPACK_BATCH`), or None."""
    _DRIVERS[:] = [lookup]


def _driver(name):
    """The registered C loop `name`, or None where there is none: then the matrices are
    looped over here, one LAPACK call each from Python (6-12 us a matrix before any
    arithmetic)."""
    return _DRIVERS[0](name) if _DRIVERS else None


# Real matrices of at most SMALL[kind] rows and columns are factorised ("lu") and solved
# ("trsm") by the C loops `fg_lu_small_<s|d>` and `fg_trsm_small_<s|d>` (`lowering.eager`):
# LAPACK's unblocked algorithms without LAPACK's per-call cost, which is most of the time
# of a small matrix's factorisation or solve (inv of 100,000 3x3 matrices: 47 ms through
# LAPACK). Measured on a stack of 20,000 float32 matrices (Zen 3), ns a matrix, these loops
# against LAPACK's: LU 12/200 (3x3), 216/734 (8x8), 967/2900 (16x16); a triangular solve
# with k right-hand sides 6/102 (k = 3), 68/126 (6), 135/107 (8), so it stops at 6.
SMALL = {"lu": 16, "trsm": 6}
_CARRAY = {np.dtype(np.float32): "float[]", np.dtype(np.float64): "double[]"}


def _small_driver(kind, dtype, size):
    """The C loop for `kind` ("lu" or "trsm") over small real matrices, or None."""
    if size > SMALL[kind] or np.dtype(dtype) not in (np.float32, np.float64):
        return None
    return _driver(f"fg_{kind}_small_{_LETTER[np.dtype(dtype)]}")


def _address(ffi, fn) -> int:
    return int(ffi.cast("uintptr_t", fn))


def _bytes(dffi, a, writable=True):
    return dffi.from_buffer("uint8_t[]", a.reshape(-1).view(np.uint8), require_writable=writable)


def _stack(a):
    """A C-contiguous copy of `a` viewed as (batch, m, n)."""
    out = np.array(a, order="C", copy=True)
    return out, out.reshape(_flat_shape(out.shape))


def _flat_shape(shape):
    return (math.prod(shape[:-2]),) + tuple(shape[-2:])      # (np.prod: 5 us a call)


def cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of the matrices of `a`, reading their lower triangles; zero
    above the diagonal, also for a matrix that is not positive definite, whose factor is
    NaN on and below the diagonal (JAX's: its wrapper takes the lower triangle of the
    all-NaN result)."""
    _check_dtype(a, "cholesky")
    out, mats = _stack(a)
    n = a.shape[-1]
    if n and mats.shape[0]:
        ffi, potrf = _fn("potrf", a.dtype)
        drv = _driver("fg_potrf_batch") if mats.shape[0] > 1 else None
        if drv is not None:
            dffi, run = drv
            info = np.zeros(mats.shape[0], np.int32)
            run(_address(ffi, potrf), mats.shape[0], n, _bytes(dffi, mats), mats.itemsize,
                dffi.from_buffer("int32_t[]", info))
            mats[info != 0] = np.nan
            mats[:, _strict_upper(n)] = 0
            return out
        for m in mats:
            if potrf(ROW_MAJOR, b"L", n, _ptr(ffi, m), n) != 0:
                m[...] = np.nan
            m[_strict_upper(n)] = 0
    return out


@functools.lru_cache(maxsize=64)
def _upper(rows, cols):
    """The (rows, cols) mask on and above the diagonal: np.triu builds one with np.tri on
    every call (12 us of a jitted 40 x 20 QR's 100, more than its geqrf)."""
    mask = np.triu(np.ones((rows, cols), bool))
    mask.flags.writeable = False
    return mask


@functools.lru_cache(maxsize=64)
def _strict_upper(n):
    """The (n, n) mask above the diagonal (np.tril builds one on every call: 20 us of a
    64 x 64 factorisation's 31)."""
    mask = np.triu(np.ones((n, n), bool), 1)
    mask.flags.writeable = False
    return mask


def lu(a: np.ndarray):
    """Partial-pivoting LU of the matrices of `a` (m, n): (lu, pivots, permutation) as JAX's
    `lax.linalg.lu`: `lu` holds unit-lower L below the diagonal and U on and above it,
    `pivots` (k = min(m, n), int32, 0-based) the row swapped with row i at step i, and
    `permutation` (m, int32) the rows of `a` in the order of L @ U."""
    _check_dtype(a, "lu")
    out, mats = _stack(a)
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    piv = np.zeros((mats.shape[0], k), np.int32)
    perm = np.zeros((mats.shape[0], m), np.int32)
    small = _small_driver("lu", a.dtype, max(m, n)) if k and mats.shape[0] else None
    if small is not None:
        dffi, run = small
        run(mats.shape[0], m, n, dffi.from_buffer(_CARRAY[a.dtype], mats),
            dffi.from_buffer("int32_t[]", piv), dffi.from_buffer("int32_t[]", perm),
            dffi.from_buffer("int32_t[]", np.zeros(mats.shape[0], np.int32)))
        return out, piv.reshape(batch + (k,)), perm.reshape(batch + (m,))
    if k:
        ffi, getrf = _fn("getrf", a.dtype)
    drv = _driver("fg_getrf_batch") if k and mats.shape[0] > 1 else None
    if drv is not None:
        dffi, run = drv
        info = np.zeros(mats.shape[0], np.int32)
        run(_address(ffi, getrf), mats.shape[0], m, n, _bytes(dffi, mats), mats.itemsize,
              dffi.from_buffer("int32_t[]", piv), dffi.from_buffer("int32_t[]", info))
        bad = info < 0
        mats[bad] = np.nan               # NaN input
        piv[bad] = np.arange(1, k + 1, dtype=np.int32)
        piv -= 1
        perm[...] = np.arange(m, dtype=np.int32)
        rows = np.arange(mats.shape[0])
        for j in range(k):               # the swaps in order, every matrix at once
            q = piv[:, j]
            pj = perm[:, j].copy()
            perm[:, j] = perm[rows, q]
            perm[rows, q] = pj
        return out, piv.reshape(batch + (k,)), perm.reshape(batch + (m,))
    for i, x in enumerate(mats):
        if k:
            ip = np.zeros(k, np.int32)
            if getrf(ROW_MAJOR, m, n, _ptr(ffi, x), n, _iptr(ffi, ip)) < 0:
                x[...] = np.nan         # NaN input
                ip = np.arange(1, k + 1, dtype=np.int32)
            piv[i] = ip - 1
        p = np.arange(m, dtype=np.int32)
        for j, q in enumerate(piv[i]):
            p[j], p[q] = p[q], p[j]
        perm[i] = p
    return out, piv.reshape(batch + (k,)), perm.reshape(batch + (m,))


def qr(a: np.ndarray, full_matrices: bool):
    """Householder QR of the matrices of `a` (m, n): q (m, m or k), r (m or k, n) with
    k = min(m, n) (`full_matrices` chooses)."""
    _check_dtype(a, "qr")
    m, n = a.shape[-2:]
    k = min(m, n)
    qc = m if full_matrices else k
    batch = a.shape[:-2]
    mats = np.ascontiguousarray(a).reshape(_flat_shape(a.shape))
    q = np.zeros((mats.shape[0], m, qc), a.dtype)
    r = np.zeros((mats.shape[0], qc, n), a.dtype)
    if k:
        ffi, geqrf = _fn("geqrf", a.dtype)
        _, orgqr = _fn("orgqr", a.dtype)
    for i, x in enumerate(mats):
        if not k:
            q[i] = np.eye(m, qc, dtype=a.dtype)
            continue
        ld = max(n, qc)
        w = np.zeros((m, ld), a.dtype)
        w[:, :n] = x
        tau = np.zeros(k, a.dtype)
        if geqrf(ROW_MAJOR, m, n, _ptr(ffi, w), ld, _ptr(ffi, tau)) != 0:
            q[i] = r[i] = np.nan
            continue
        np.copyto(r[i], w[:qc, :n], where=_upper(qc, n))
        if orgqr(ROW_MAJOR, m, qc, k, _ptr(ffi, w), ld, _ptr(ffi, tau)) != 0:
            q[i] = r[i] = np.nan
            continue
        q[i] = w[:, :qc]
    return q.reshape(batch + (m, qc)), r.reshape(batch + (qc, n))


def eigh(a: np.ndarray, lower: bool):
    """Eigenvectors (as columns) and ascending eigenvalues of the symmetric (Hermitian)
    matrices of `a`, reading the lower (or upper) triangle; the eigenvalues are real."""
    _check_dtype(a, "eigh")
    v, mats = _stack(a)
    n = a.shape[-1]
    w = np.zeros((mats.shape[0], n), _real(a.dtype))
    if n:
        ffi, syevd = _fn("syevd", a.dtype)
        uplo = b"L" if lower else b"U"
        for x, wi in zip(mats, w):
            if syevd(ROW_MAJOR, b"V", uplo, n, _ptr(ffi, x), n, _ptr(ffi, wi)) != 0:
                x[...] = wi[...] = np.nan
    return v, w.reshape(a.shape[:-1])


def svd(a: np.ndarray, full_matrices: bool, compute_uv: bool):
    """Singular values (descending, real) of the matrices of `a` (m, n), and with
    `compute_uv` also u (m, m or k) and vt (n or k, n)."""
    _check_dtype(a, "svd")
    m, n = a.shape[-2:]
    k = min(m, n)
    batch = a.shape[:-2]
    mats = np.ascontiguousarray(a).reshape(_flat_shape(a.shape))
    nb = mats.shape[0]
    uc, vr = (m, n) if full_matrices else (k, k)
    s = np.zeros((nb, k), _real(a.dtype))
    u = np.zeros((nb, m, uc), a.dtype) if compute_uv else None
    vt = np.zeros((nb, vr, n), a.dtype) if compute_uv else None
    if k:
        ffi, gesdd = _fn("gesdd", a.dtype)
        dummy = np.zeros(1, a.dtype)
        job = (b"A" if full_matrices else b"S") if compute_uv else b"N"
    for i, x in enumerate(mats):
        if not k:
            if compute_uv:
                u[i] = np.eye(m, uc, dtype=a.dtype)
                vt[i] = np.eye(vr, n, dtype=a.dtype)
            continue
        x = x.copy()
        if compute_uv:
            ui, vi = u[i], vt[i]
            info = gesdd(ROW_MAJOR, job, m, n, _ptr(ffi, x), n, _ptr(ffi, s[i]),
                         _ptr(ffi, ui), uc, _ptr(ffi, vi), n)
        else:
            info = gesdd(ROW_MAJOR, job, m, n, _ptr(ffi, x), n, _ptr(ffi, s[i]),
                         _ptr(ffi, dummy), 1, _ptr(ffi, dummy), 1)
        if info != 0:
            s[i] = np.nan
            if compute_uv:
                u[i] = vt[i] = np.nan
    s = s.reshape(batch + (k,))
    if not compute_uv:
        return (s,)
    return s, u.reshape(batch + (m, uc)), vt.reshape(batch + (vr, n))


def _complex(dtype):
    """The dtype of a general eigendecomposition's results: complex64 for float32 and
    complex64 matrices, complex128 for float64 and complex128."""
    return np.result_type(dtype, np.complex64)


def _unpack_pairs(wi: np.ndarray, v: np.ndarray, out: np.ndarray) -> None:
    """Real geev's eigenvectors `v` (n, n) as complex columns into `out`: where wi[j] > 0,
    eigenvalues j and j + 1 are a conjugate pair and LAPACK stores one vector in two
    columns, its real part in column j and its imaginary part in column j + 1; the vector
    of eigenvalue j is re + i im, that of j + 1 its conjugate."""
    out[...] = v
    j = np.flatnonzero(wi > 0)
    j = j[j + 1 < v.shape[1]]
    re, im = v[:, j], v[:, j + 1]
    out[:, j] = re + 1j * im
    out[:, j + 1] = re - 1j * im


def geev(a: np.ndarray, compute_left: bool = True, compute_right: bool = True):
    """Eigenvalues of the general square matrices of `a` (..., n, n), with their left
    (`compute_left`) and right (`compute_right`) eigenvectors as columns: `[w]`, then
    `vl`, then `vr`, in the complex dtype (complex64 for float32/complex64 input,
    complex128 for float64/complex128). Right eigenvectors satisfy a v = w v, left ones
    u^H a = w u^H; LAPACK scales each to unit 2-norm with its largest component real.
    A matrix holding NaN or inf, or whose QR iteration does not converge, gives NaN (real
    and imaginary parts) in every output of that matrix."""
    _check_dtype(a, "eig")
    n = a.shape[-1]
    batch = a.shape[:-2]
    _, mats = _stack(a)                   # (geev overwrites its input)
    nb = mats.shape[0]
    cdt = _complex(a.dtype)
    w = np.zeros((nb, n), cdt)
    vl = np.zeros((nb, n, n), cdt) if compute_left else None
    vr = np.zeros((nb, n, n), cdt) if compute_right else None
    if n and nb:
        ffi, fn = _fn("geev", a.dtype)
        real = a.dtype.kind == "f"
        jobvl = b"V" if compute_left else b"N"
        jobvr = b"V" if compute_right else b"N"
        ldvl = n if compute_left else 1
        ldvr = n if compute_right else 1
        dummy = np.zeros(1, a.dtype)
        finite = np.isfinite(mats).all(axis=(1, 2))
        nan = complex(np.nan, np.nan)
        for i, x in enumerate(mats):
            ok = bool(finite[i])
            if ok and real:
                wr, wi = np.zeros(n, a.dtype), np.zeros(n, a.dtype)
                left = np.zeros((n, n), a.dtype) if compute_left else dummy
                right = np.zeros((n, n), a.dtype) if compute_right else dummy
                ok = fn(ROW_MAJOR, jobvl, jobvr, n, _ptr(ffi, x), n, _ptr(ffi, wr),
                        _ptr(ffi, wi), _ptr(ffi, left), ldvl, _ptr(ffi, right), ldvr) == 0
                if ok:
                    w[i].real, w[i].imag = wr, wi
                    if compute_left:
                        _unpack_pairs(wi, left, vl[i])
                    if compute_right:
                        _unpack_pairs(wi, right, vr[i])
            elif ok:
                left = vl[i] if compute_left else dummy
                right = vr[i] if compute_right else dummy
                ok = fn(ROW_MAJOR, jobvl, jobvr, n, _ptr(ffi, x), n, _ptr(ffi, w[i]),
                        _ptr(ffi, left), ldvl, _ptr(ffi, right), ldvr) == 0
            if not ok:
                w[i] = nan
                if compute_left:
                    vl[i] = nan
                if compute_right:
                    vr[i] = nan
    outs = [w.reshape(batch + (n,))]
    if compute_left:
        outs.append(vl.reshape(batch + (n, n)))
    if compute_right:
        outs.append(vr.reshape(batch + (n, n)))
    return outs


def triangular_solve(a: np.ndarray, b: np.ndarray, left_side: bool, lower: bool,
                     transpose_a: bool, unit_diagonal: bool,
                     conjugate_a: bool = False) -> np.ndarray:
    """x with op(a) @ x = b (`left_side`) or x @ op(a) = b, op(a) = a or a.T (conj(a) or
    a^H with `conjugate_a`, complex a), reading only the `lower` (or upper) triangle of a
    (and not its diagonal with `unit_diagonal`). A zero on the diagonal gives inf/NaN, as a
    division by it would."""
    _check_dtype(a, "triangular_solve")
    x, xs = _stack(b)
    mats = np.ascontiguousarray(a).reshape(_flat_shape(a.shape))
    rows, cols = b.shape[-2:]
    if x.size == 0:
        return x
    if b.dtype != a.dtype:
        raise TypeError(f"triangular_solve: a ({a.dtype}) and b ({b.dtype}) must have one "
                        "dtype")
    k = a.shape[-1]
    small = _small_driver("trsm", a.dtype, k) if mats.shape[0] == xs.shape[0] else None
    if small is not None:
        dffi, run = small
        ctype = _CARRAY[a.dtype]
        run(xs.shape[0], int(left_side), int(lower), int(transpose_a), int(unit_diagonal),
            rows, cols, k, dffi.from_buffer(ctype, np.ascontiguousarray(mats),
                                            require_writable=False),
            dffi.from_buffer(ctype, xs))
        return x
    ffi, trsm = _fn("trsm", a.dtype)
    cplx = a.dtype.kind == "c"
    conj = conjugate_a and cplx
    if conj and not transpose_a:
        # cblas has no conjugate-without-transpose: conjugate a copy.
        mats, conj = np.conj(mats), False
    op = (_CONJ_TRANS if conj else _TRANS) if transpose_a else _NO_TRANS
    flags = (_LEFT if left_side else _RIGHT, _LOWER if lower else _UPPER, op,
             _UNIT if unit_diagonal else _NON_UNIT)
    drv = _driver("fg_trsm_batch_" + ("c" if cplx else _LETTER[a.dtype])) \
        if xs.shape[0] > 1 and mats.shape[0] == xs.shape[0] else None
    # The complex trsm, and the batch loop, take alpha by pointer.
    one = np.ones(1, a.dtype) if cplx or drv is not None else None
    if drv is not None:
        dffi, run = drv
        mats = np.ascontiguousarray(mats)
        run(_address(ffi, trsm), xs.shape[0], dffi.from_buffer("int32_t[]", np.asarray(
            flags, np.int32), require_writable=False), rows, cols, k,
            _bytes(dffi, one, False), _bytes(dffi, mats, False), _bytes(dffi, xs),
            xs.itemsize)
        return x
    alpha = _ptr(ffi, one) if cplx else 1.0
    for am, bm in zip(mats, xs):
        trsm(ROW_MAJOR, *flags, rows, cols, alpha, _ptr(ffi, am), k, _ptr(ffi, bm), cols)
    return x
