"""The LAPACK-backed primitives of real matrices (LU, Cholesky, triangular solves, QR,
symmetric eigendecomposition, SVD) as C statements inside a compiled program, calling
LAPACKE and cblas in the scipy-openblas32 library the module links.

Without this they are host steps: each call of a jitted program leaves C for Python,
which wraps the buffers, dispatches to the NumPy implementation (`prims/lapack.py`) and
calls the same routines through cffi. For a small matrix that is most of the time:
`jnp.linalg.solve` of a 32 x 32 float32 system (an LU and two triangular solves) took
143 us a call, JAX 48 (one thread, AMD Zen 3); compiled, 22. A program with no host step
left takes the dispatch fast path, and a loop whose body holds one runs in C.

Each lowering does what its `prims/lapack.py` function does, with the same routines in
the same order, so the compiled program gives the bits the host step gave:
- `lu`: matrices of at most `lapack.SMALL["lu"]` rows and columns by the unblocked loop
  of `lowering.eager` (`_lu_small_lines`), larger ones by `LAPACKE_?getrf` (NaN input,
  which LAPACKE rejects, gives an all-NaN factor and pivots 0, 1, ...); pivots 0-based,
  and the permutation from the swaps in order.
- `triangular_solve`: at most `lapack.SMALL["trsm"]` unknowns by substitution
  (`_trsm_small_lines`), else `cblas_?trsm` with alpha 1.
- `cholesky`: `LAPACKE_?potrf` on the lower triangle; a matrix that is not positive
  definite becomes NaN; zeros above the diagonal.
- `qr`: `?geqrf` then `?orgqr` on a copy padded to max(n, columns of q) columns; `eigh`:
  `?syevd`; `svd`: `?gesdd` on a copy. A routine that fails makes that matrix's outputs
  NaN.
Shapes must be static (a size-generic program keeps the host step) and non-empty; complex
matrices keep the host step. A batch big enough to fill a parallel region splits its
matrices over the team's threads (`_over_shares`); each matrix's bits do not
depend on which thread computes it (OpenBLAS runs single-threaded in compiled code).
"""
from __future__ import annotations

import math

import numpy as np

import cdsl

from .. import dtypes
from ..ir import Lit
from ..prims import lapack
from ..prims import linalg as la
from .eager import _lu_small_lines, _trsm_small_lines

_TYPES = {np.dtype(np.float32): ("float", "s"), np.dtype(np.float64): ("double", "d")}
PRIMS = frozenset((la.lu_p, la.triangular_solve_p, la.cholesky_p, la.qr_p, la.eigh_p,
                   la.svd_p))


def _static(shape) -> bool:
    return all(isinstance(d, (int, np.integer)) for d in shape) and math.prod(shape) > 0


def lowerable(eqn) -> bool:
    """Whether `lower` handles `eqn`."""
    if eqn.prim not in PRIMS:
        return False
    avals = [a.aval for a in eqn.inputs] + [v.aval for v in eqn.outputs]
    return np.dtype(eqn.inputs[0].aval.dtype) in _TYPES and \
        all(_static(a.shape) for a in avals) and \
        not any(isinstance(a, Lit) for a in eqn.inputs)


def lower(eqn, ins, outs, temp):
    """(label, statements) computing `eqn` from the pointer names `ins` into `outs`: C lines
    (strings) or cdsl statements (the loop over the matrices in shares, `_over_shares`);
    `temp(shape, dtype)` gives the name of a scratch buffer."""
    t, letter = _TYPES[np.dtype(eqn.inputs[0].aval.dtype)]
    if eqn.prim is la.lu_p:
        return _lu(t, letter, eqn.inputs[0].aval.shape, ins[0], outs, temp)
    if eqn.prim is la.cholesky_p:
        return _cholesky(t, letter, eqn.inputs[0].aval.shape, ins[0], outs[0])
    if eqn.prim is la.qr_p:
        return _qr(t, letter, eqn, ins[0], outs, temp)
    if eqn.prim is la.eigh_p:
        return _eigh(t, letter, eqn, ins[0], outs)
    if eqn.prim is la.svd_p:
        return _svd(t, letter, eqn, ins[0], outs, temp)
    return _trsm(t, letter, eqn, ins, outs[0])


def _copy(dst, src, size):
    return [f"for (int64_t i = 0; i < {size}; ++i) {dst}[i] = {src}[i];"]


def _indent(lines, by="    "):
    return [by + x for x in lines]


def _parallel_min():
    from .codegen import PARALLEL_MIN
    return PARALLEL_MIN if PARALLEL_MATRICES_MIN is None else PARALLEL_MATRICES_MIN


# The matrices of a batch are taken in up to this many shares, which the team's threads
# split between them; a share has its own scratch where a routine needs one (OpenBLAS runs
# single-threaded inside compiled code, see backends.c._single_threaded_blas). In one serial
# loop, 100,000 3 x 3 inverses (an LU and two solves) and 2000 8 x 8 eigh or qr took as
# long with two threads as with one (AMD Zen 4).
SHARES = 16
# The work (arithmetic, roughly) of a whole batch from which its matrices split over
# threads; None: codegen.PARALLEL_MIN, as loop nests (the fuzzer's --big-forms sets 0)
PARALLEL_MATRICES_MIN = None


def _share_count(batch, work):
    """Shares for `batch` matrices of `work` arithmetic each (roughly): more than one when
    the whole fills a parallel region (`_parallel_min`)."""
    return min(SHARES, batch) if batch > 1 and batch * work >= _parallel_min() else 1


def _over_shares(batch, shares, body):
    """The loop over the `batch` matrices in `shares` contiguous shares (`sh`, which indexes
    a share's scratch), matrix `b` running `body` (C lines); the shares split over the
    team's threads when there are several."""
    sh = cdsl.Var("sh", cdsl.i64)
    lines = [f"for (int64_t b = sh * {batch} / {shares}; b < (sh + 1) * {batch} / {shares};"
             " ++b) {", *_indent(body), "}"]
    return cdsl.For(sh, 0, shares, tuple(cdsl.Raw(x) for x in lines),
                    parallel=shares > 1, parallel_min=2)


def _lu(t, letter, shape, a, outs, temp):
    lu, piv, perm = outs
    m, n = int(shape[-2]), int(shape[-1])
    k = min(m, n)
    batch = math.prod(shape[:-2])
    body = [f"{t} *x = {lu} + b * {m * n};",
            f"int32_t *pv = {piv} + b * {k}, *pm = {perm} + b * {m};"]
    if max(m, n) <= lapack.SMALL["lu"]:
        body += [f"for (int64_t i = 0; i < {m * n}; ++i) x[i] = {a}[b * {m * n} + i];",
                 "int32_t info_b;", *_lu_small_lines(t, m, n, "info_b"), "(void)info_b;"]
        return f"lu (unblocked) of {batch} x ({m}, {n}) {t}", \
            [_over_shares(batch, _share_count(batch, m * n * k + m * n), body)]
    shares = _share_count(batch, m * n * k)
    ip = temp((shares, k), dtypes.int32)
    head = [f"int scipy_LAPACKE_{letter}getrf(int, int, int, {t} *, int, int *);"]
    body += [f"int *ip = {ip} + sh * {k};",
             f"for (int64_t i = 0; i < {m * n}; ++i) x[i] = {a}[b * {m * n} + i];",
             f"if (scipy_LAPACKE_{letter}getrf(101, {m}, {n}, x, {n}, ip) < 0) {{",
             f"    for (int64_t i = 0; i < {m * n}; ++i) x[i] = NAN;",
             f"    for (int64_t j = 0; j < {k}; ++j) ip[j] = (int32_t)(j + 1);",
             "}",
             f"for (int64_t j = 0; j < {k}; ++j) pv[j] = ip[j] - 1;",
             f"for (int64_t i = 0; i < {m}; ++i) pm[i] = (int32_t)i;",
             f"for (int64_t j = 0; j < {k}; ++j) {{",
             "    int32_t q = pv[j], s = pm[j];",
             "    pm[j] = pm[q]; pm[q] = s;",
             "}"]
    lines = head + [_over_shares(batch, shares, body)]
    return f"lu (getrf) of {batch} x ({m}, {n}) {t}", lines


def _cholesky(t, letter, shape, a, out):
    n = int(shape[-1])
    batch = math.prod(shape[:-2])
    body = [f"{t} *x = {out} + b * {n * n};",
            f"for (int64_t i = 0; i < {n * n}; ++i) x[i] = {a}[b * {n * n} + i];",
            f"if (scipy_LAPACKE_{letter}potrf(101, 'L', {n}, x, {n}) != 0)",
            f"    for (int64_t i = 0; i < {n * n}; ++i) x[i] = NAN;",
            f"for (int64_t r = 0; r < {n}; ++r)",
            f"    for (int64_t c = r + 1; c < {n}; ++c) x[r * {n} + c] = 0;"]
    lines = [f"int scipy_LAPACKE_{letter}potrf(int, char, int, {t} *, int);",
             _over_shares(batch, _share_count(batch, n * n * n // 3 + n * n), body)]
    return f"cholesky (potrf) of {batch} x ({n}, {n}) {t}", lines


def _trsm(t, letter, eqn, ins, out):
    p = eqn.params
    left, lower, trans, unit = (bool(p["left_side"]), bool(p["lower"]),
                                bool(p["transpose_a"]), bool(p["unit_diagonal"]))
    a, rhs = ins
    k = int(eqn.inputs[0].aval.shape[-1])
    bshape = eqn.inputs[1].aval.shape
    rows, cols = int(bshape[-2]), int(bshape[-1])
    batch = math.prod(bshape[:-2])
    size = rows * cols
    body = [f"const {t} *x = {a} + b * {k * k};", f"{t} *y = {out} + b * {size};",
            f"for (int64_t i = 0; i < {size}; ++i) y[i] = {rhs}[b * {size} + i];"]
    if k <= lapack.SMALL["trsm"]:
        # lapack.triangular_solve's small loop: `lower` there is op(a)'s triangle
        body += [f"const int unit = {int(unit)}; (void)unit;",
                 *_trsm_small_lines(t, left, lower != trans, trans, k,
                                    cols if left else rows)]
        return f"triangular_solve (substitution) of {batch} x ({rows}, {cols}) {t}", \
            [_over_shares(batch, _share_count(batch, k * size + size), body)]
    flags = ", ".join(("CblasLeft" if left else "CblasRight",
                       "CblasLower" if lower else "CblasUpper",
                       "CblasTrans" if trans else "CblasNoTrans",
                       "CblasUnit" if unit else "CblasNonUnit"))
    body.append(f"scipy_cblas_{letter}trsm(CblasRowMajor, {flags}, {rows}, {cols}, "
                f"({t})1, x, {k}, y, {cols});")
    return f"triangular_solve (trsm) of {batch} x ({rows}, {cols}) {t}", \
        [_over_shares(batch, _share_count(batch, k * size), body)]


def _nan(ptr, size):
    return f"for (int64_t i = 0; i < {size}; ++i) {ptr}[i] = NAN;"


def _qr(t, letter, eqn, a, outs, temp):
    q, r = outs
    shape = eqn.inputs[0].aval.shape
    m, n = int(shape[-2]), int(shape[-1])
    k = min(m, n)
    qc = m if eqn.params["full_matrices"] else k
    ld = max(n, qc)
    batch = math.prod(shape[:-2])
    shares = _share_count(batch, 4 * m * n * k)
    ws = temp((shares, m, ld), eqn.inputs[0].aval.dtype)
    taus = temp((shares, k), eqn.inputs[0].aval.dtype)
    w, tau = "w", "tau"
    fail = ["{", "    " + _nan("qb", m * qc), "    " + _nan("rb", qc * n), "    continue;", "}"]
    body = [f"{t} *w = {ws} + sh * {m * ld}, *tau = {taus} + sh * {k};",
            f"const {t} *src = {a} + b * {m * n};",
            f"{t} *qb = {q} + b * {m * qc}, *rb = {r} + b * {qc * n};",
            f"for (int64_t i = 0; i < {m}; ++i)",
            f"    for (int64_t j = 0; j < {ld}; ++j)",
            f"        {w}[i * {ld} + j] = j < {n} ? src[i * {n} + j] : ({t})0;",
            f"for (int64_t j = 0; j < {k}; ++j) {tau}[j] = 0;",
            f"if (scipy_LAPACKE_{letter}geqrf(101, {m}, {n}, {w}, {ld}, {tau}) != 0)", *fail,
            f"for (int64_t i = 0; i < {qc}; ++i)",
            f"    for (int64_t j = 0; j < {n}; ++j)",
            f"        rb[i * {n} + j] = j >= i ? {w}[i * {ld} + j] : ({t})0;",
            f"if (scipy_LAPACKE_{letter}orgqr(101, {m}, {qc}, {k}, {w}, {ld}, {tau}) != 0)",
            *fail,
            f"for (int64_t i = 0; i < {m}; ++i)",
            f"    for (int64_t j = 0; j < {qc}; ++j) qb[i * {qc} + j] = {w}[i * {ld} + j];"]
    lines = [f"int scipy_LAPACKE_{letter}geqrf(int, int, int, {t} *, int, {t} *);",
             f"int scipy_LAPACKE_{letter}orgqr(int, int, int, int, {t} *, int, const {t} *);",
             _over_shares(batch, shares, body)]
    return f"qr (geqrf, orgqr) of {batch} x ({m}, {n}) {t}", lines


def _eigh(t, letter, eqn, a, outs):
    v, w = outs
    shape = eqn.inputs[0].aval.shape
    n = int(shape[-1])
    batch = math.prod(shape[:-2])
    uplo = "'L'" if eqn.params["lower"] else "'U'"
    body = [f"{t} *x = {v} + b * {n * n}, *wb = {w} + b * {n};",
            f"for (int64_t i = 0; i < {n * n}; ++i) x[i] = {a}[b * {n * n} + i];",
            f"for (int64_t i = 0; i < {n}; ++i) wb[i] = 0;",
            f"if (scipy_LAPACKE_{letter}syevd(101, 'V', {uplo}, {n}, x, {n}, wb) != 0) {{",
            "    " + _nan("x", n * n),
            "    " + _nan("wb", n),
            "}"]
    lines = [f"int scipy_LAPACKE_{letter}syevd(int, char, char, int, {t} *, int, {t} *);",
             _over_shares(batch, _share_count(batch, 9 * n * n * n), body)]
    return f"eigh (syevd) of {batch} x ({n}, {n}) {t}", lines


def _svd(t, letter, eqn, a, outs, temp):
    shape = eqn.inputs[0].aval.shape
    m, n = int(shape[-2]), int(shape[-1])
    k = min(m, n)
    batch = math.prod(shape[:-2])
    full, uv = eqn.params["full_matrices"], eqn.params["compute_uv"]
    uc, vr = (m, n) if full else (k, k)
    shares = _share_count(batch, 10 * m * n * k)
    xs = temp((shares, m, n), eqn.inputs[0].aval.dtype)
    x = "x"
    s = outs[0]
    decl = (f"int scipy_LAPACKE_{letter}gesdd(int, char, int, int, {t} *, int, {t} *, {t} *, "
            f"int, {t} *, int);")
    body = [f"{t} *x = {xs} + sh * {m * n};",
            *_copy(x, f"({a} + b * {m * n})", m * n),
            f"{t} *sb = {s} + b * {k};",
            f"for (int64_t i = 0; i < {k}; ++i) sb[i] = 0;"]
    if uv:
        u, vt = outs[1], outs[2]
        job = "'A'" if full else "'S'"
        body += [f"{t} *ub = {u} + b * {m * uc}, *vb = {vt} + b * {vr * n};",
                 f"for (int64_t i = 0; i < {m * uc}; ++i) ub[i] = 0;",
                 f"for (int64_t i = 0; i < {vr * n}; ++i) vb[i] = 0;",
                 f"if (scipy_LAPACKE_{letter}gesdd(101, {job}, {m}, {n}, {x}, {n}, sb, ub, {uc},"
                 f" vb, {n}) != 0) {{",
                 "    " + _nan("sb", k), "    " + _nan("ub", m * uc), "    " + _nan("vb", vr * n),
                 "}"]
    else:
        body += [f"{t} dummy[1] = {{0}};",
                 f"if (scipy_LAPACKE_{letter}gesdd(101, 'N', {m}, {n}, {x}, {n}, sb, dummy, 1, "
                 "dummy, 1) != 0)",
                 "    " + _nan("sb", k)]
    lines = [decl, _over_shares(batch, shares, body)]
    return f"svd (gesdd) of {batch} x ({m}, {n}) {t}", lines
