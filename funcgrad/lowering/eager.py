"""Prebuilt eager kernels: the common elementwise primitives and the sum/max/min reductions
on float32/float64, generic over size, generated from the same lowering rules as `jit`
(`KernelEmitter.elementwise`, `codegen.emit_reduce_kernel` on a program whose sizes are
run-time parameters, `symbolic.Dim`) and compiled at install time by `setup.py` (cffi
out-of-line API mode) once per instruction-set level: `funcgrad._eager_kernels_base`
(plain x86-64, or the platform's default), `_v3` (AVX2/FMA) and `_v4` (AVX-512 on 256-bit
vectors). The widest level the CPU supports is imported (`FUNCGRAD_EAGER_KERNELS=base|v3|
v4|off` overrides). Eager operations on the `c` backend call them without a compile step,
and agree with jitted code (a float32 sum accumulates in double on both paths; reductions
agree bit for bit where the level's vector width is the one -march=native picks for jit:
v3 on AVX2 CPUs, v4 on Intel AVX-512 CPUs); anything they do not cover runs with the NumPy
implementation. When no module is built (installed without a C
compiler), or a module lacks a kernel (built from an older source), the NumPy
implementation runs instead, after one `FallbackWarning` naming the fix.

Naming: `fg_<prim>_<type>` for unary ops (`a, out, n`); `fg_<prim>_<type>_<vv|vs|sv>` for
binary ops, where `s` marks an operand read as a scalar (element 0);
`fg_<reduce_prim>_<type>_<last|first>_<p|s>` (`a, out, n0, n1`) for a reduction of an
(n0, n1) array over its last (first) axis, parallel over the kept axis or serial (the
jit lowering of a leading-axis reduction is serial: only `_s` exists for `first`).
"""
from __future__ import annotations

import functools
import importlib
import math
import os
import platform

import numpy as np

import cdsl

from .. import dtypes
from ..core import ShapedArray
from ..prims import elementwise as ew
from . import cnodes as c
from ..prims import lapack
from .codegen import PARALLEL_MIN, KernelEmitter, emit_reduce_kernel

UNARY = ("neg", "exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "logistic",
         "sqrt", "rsqrt", "abs", "sign", "floor", "ceil", "round", "erf", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "acosh", "atanh")
BINARY = ("add", "sub", "mul", "div", "max", "min", "pow", "atan2", "rem")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
REDUCE = ("reduce_sum", "reduce_max", "reduce_min")
TYPES = (dtypes.float32, dtypes.float64)
MIN_ELEMENTS = 1  # every size is served; tiny arrays are still a single call


def _name(prim_name, dt, variant=None):
    base = f"fg_{prim_name}_{c.type_suffix(dt)}"
    return base if variant is None else f"{base}_{variant}"


def _prim(name):
    from ..core import all_primitives
    return all_primitives[name]


def _kernel(prim_name, dt, variant):
    prim = _prim(prim_name)
    spec = ew.lowering_exprs[prim]
    nargs = 1 if variant is None else 2
    out_dt = dtypes.bool_ if prim_name in COMPARE else dt
    ins = [c.param(f"a{k}", dt, const_=True) for k in range(nargs)]
    out = c.param("out", out_dt)
    n = cdsl.Param("n", cdsl.i64)
    i = c.var("i", dtypes.int64)
    em = KernelEmitter(c, {})
    args = []
    for k, p in enumerate(ins):
        scalar = variant is not None and variant[k] == "s"
        args.append(em.let(c.load(p, c.i64(0) if scalar else i), dt))
    aval = ShapedArray((), dt)
    val = em.elementwise(spec, args, [aval] * nargs, ShapedArray((), out_dt), {})
    body = em.stmts + [c.store(out, i, val)]
    loop = cdsl.For(i, c.i64(0), cdsl.Var("n", cdsl.i64), tuple(body), parallel=True,
                    simd=True, parallel_min=1 << 16)
    return cdsl.Function(_name(prim_name, dt, variant), tuple(ins) + (out, n), (loop,))


def _reduce_kernel(prim_name, dt, layout, parallel):
    """The jit lowering of `reduce(x: [n0, n1], axes=(1,) or (0,))` with n0, n1 parameters.
    The lowering's parallel decision is taken on stand-in sizes (large or small), so both
    variants exist and `run` picks one by the actual size."""
    from ..ir import Eqn, Var
    from .fusion import Kernel
    from .symbolic import Dim, SymAval
    stand_in = 1 << 12 if parallel else 2
    n0, n1 = (Dim(stand_in, cdsl.Var(f"n{k}", cdsl.i64)) for k in range(2))
    x = Var(SymAval((n0, n1), dt))
    out = Var(SymAval((n0,) if layout == "last" else (n1,), dt))
    eqn = Eqn(_prim(prim_name), [x], {"axes": (1,) if layout == "last" else (0,)}, [out])
    a, o = c.param("a", dt, const_=True), c.param("out", dt)
    stmts = emit_reduce_kernel(c, Kernel("reduce", out, eqn, {}, [x]), {x.id: a, out.id: o})
    params = (a, o, cdsl.Param("n0", cdsl.i64), cdsl.Param("n1", cdsl.i64))
    return cdsl.Function(_name(prim_name, dt, f"{layout}_{'p' if parallel else 's'}"),
                         params, tuple(stmts))


# --- top_k: a heap per row --------------------------------------------------------------
#
# `lax.top_k` in XLA's total order (prims.windows.total_order_key) over the rows of an
# (rows, n) array of keys: a heap of the k best entries seen so far, the worst at its root,
# so that an entry no better than the root costs one comparison (n + O(k log k log(n/k))
# on average, n log k at worst: a row in ascending order), then a heapsort of the k. Among
# equal keys the lower index is the better, so a later entry never displaces an equal one.
# A float's key is computed in the loop from its bits (`flt`); other dtypes arrive as keys.
TOP_K_KEYS = {"i32": ("int32_t", 31, "0x7fffffff"),
              "i64": ("int64_t", 63, "0x7fffffffffffffffLL")}


def _top_k_sift(kt):
    """`fg_top_k_sift_<kt>(hk, hi, size, key, id)`: place (key, id) at the root of the heap
    (hk, hi) of `size` entries, moving the better child up while it is better."""
    t = TOP_K_KEYS[kt][0]
    ktype = cdsl.i32 if kt == "i32" else cdsl.i64
    params = (cdsl.Param("hk", cdsl.PtrType(ktype)), cdsl.Param("hi", cdsl.PtrType(cdsl.i32)),
              cdsl.Param("size", cdsl.i64), cdsl.Param("key", ktype),
              cdsl.Param("id", cdsl.i32))
    lines = (
        "int64_t c = 0;",
        "for (;;) {",
        "    int64_t l = 2 * c + 1, w = l;",
        "    if (l >= size) break;",
        "    if (l + 1 < size && (hk[l + 1] < hk[l] || (hk[l + 1] == hk[l] && hi[l + 1] > hi[l])))",
        "        w = l + 1;                 /* the worse child */",
        "    if (key < hk[w] || (key == hk[w] && id > hi[w])) break;",
        "    hk[c] = hk[w]; hi[c] = hi[w]; c = w;",
        "}",
        f"hk[c] = ({t})key; hi[c] = id;")
    return cdsl.Function(f"fg_top_k_sift_{kt}", params, tuple(cdsl.Raw(x) for x in lines))


def _top_k_kernel(kt, parallel):
    """`fg_top_k_<kt>_<p|s>(bits, idx, hk, rows, n, k, flt)`: for each of `rows` rows of
    `n` keys (float bits when `flt`), the indices of the k best, best first, into `idx`
    (rows, k); `hk` (rows, k) is the heaps' scratch."""
    t, shift, mask = TOP_K_KEYS[kt]
    ktype = cdsl.i32 if kt == "i32" else cdsl.i64
    params = (cdsl.Param("bits", cdsl.PtrType(ktype, const=True)),
              cdsl.Param("idx", cdsl.PtrType(cdsl.i32)), cdsl.Param("hk", cdsl.PtrType(ktype)),
              cdsl.Param("rows", cdsl.i64), cdsl.Param("n", cdsl.i64),
              cdsl.Param("k", cdsl.i64), cdsl.Param("flt", cdsl.i32))
    sift = f"fg_top_k_sift_{kt}"
    row = (
        f"const {t} *b = bits + r * n;",
        f"{t} *h = hk + r * k;",
        "int32_t *hi = idx + r * k;",
        "int64_t m = 0;",
        "for (int64_t j = 0; j < n; ++j) {",
        f"    {t} key = b[j];",
        f"    if (flt) key ^= (key >> {shift}) & {mask};   /* XLA's total order */",
        "    if (m < k) {                  /* filling: the newcomer is the worst of equals */",
        "        int64_t c = m++;",
        "        while (c > 0 && key <= h[(c - 1) >> 1]) {",
        "            h[c] = h[(c - 1) >> 1]; hi[c] = hi[(c - 1) >> 1]; c = (c - 1) >> 1;",
        "        }",
        "        h[c] = key; hi[c] = (int32_t)j;",
        f"    }} else if (key > h[0]) {sift}(h, hi, k, key, (int32_t)j);",
        "}",
        "for (int64_t e = k - 1; e > 0; --e) {     /* heapsort: the worst goes last */",
        f"    {t} tk = h[e]; int32_t ti = hi[e];",
        "    h[e] = h[0]; hi[e] = hi[0];",
        f"    {sift}(h, hi, e, tk, ti);",
        "}")
    r = cdsl.Var("r", cdsl.i64)
    loop = cdsl.For(r, c.i64(0), cdsl.Var("rows", cdsl.i64), tuple(cdsl.Raw(x) for x in row),
                    parallel=parallel, parallel_min=2)
    return cdsl.Function(f"fg_top_k_{kt}_{'p' if parallel else 's'}", params, (loop,))


# --- LAPACK over a stack of matrices -------------------------------------------------------
#
# `prims/lapack.py` calls LAPACKE and cblas in the scipy-openblas32 library through cffi's
# ABI mode, once per matrix: from a Python loop that cost 6-12 us a matrix before any
# arithmetic (inv of 10,000 3x3 matrices, an LU and two triangular solves each: 227 ms,
# JAX 3.6). These drivers run that loop in C, calling the same routines through the
# addresses lapack.py passes (this module does not link the library), so each matrix gets
# the same call, in the same order, as before. Matrices are `esize`-byte elements, row-major,
# one after another; `info` receives each call's result.
LAPACK_BATCH = {
    "fg_getrf_batch": (
        (("fn", cdsl.u64), ("batch", cdsl.i64), ("m", cdsl.i32), ("n", cdsl.i32),
         ("a", cdsl.PtrType(cdsl.u8, restrict=False)), ("esize", cdsl.i64),
         ("ipiv", cdsl.PtrType(cdsl.i32, restrict=False)),
         ("info", cdsl.PtrType(cdsl.i32, restrict=False))),
        ("typedef int (*getrf_t)(int, int, int, void *, int, int *);",
         "getrf_t f = (getrf_t)(uintptr_t)fn;",
         "int64_t k = m < n ? m : n;",
         "for (int64_t b = 0; b < batch; ++b)",
         "    info[b] = f(101, m, n, a + b * (int64_t)m * n * esize, n, ipiv + b * k);")),
    "fg_potrf_batch": (
        (("fn", cdsl.u64), ("batch", cdsl.i64), ("n", cdsl.i32),
         ("a", cdsl.PtrType(cdsl.u8, restrict=False)), ("esize", cdsl.i64),
         ("info", cdsl.PtrType(cdsl.i32, restrict=False))),
        ("typedef int (*potrf_t)(int, char, int, void *, int);",
         "potrf_t f = (potrf_t)(uintptr_t)fn;",
         "for (int64_t b = 0; b < batch; ++b)",
         "    info[b] = f(101, 'L', n, a + b * (int64_t)n * n * esize, n);")),
}
# cblas's trsm takes alpha by value for real matrices (float or double) and by pointer for
# complex ones: one driver per kind of alpha.
_TRSM_ALPHA = {"s": "float", "d": "double", "c": "const void *"}
for _t, _alpha in _TRSM_ALPHA.items():
    LAPACK_BATCH[f"fg_trsm_batch_{_t}"] = (
        (("fn", cdsl.u64), ("batch", cdsl.i64), ("flags", cdsl.PtrType(cdsl.i32, const=True,
                                                                         restrict=False)),
         ("rows", cdsl.i32), ("cols", cdsl.i32), ("k", cdsl.i32),
         ("alpha", cdsl.PtrType(cdsl.u8, const=True, restrict=False)),
         ("a", cdsl.PtrType(cdsl.u8, const=True, restrict=False)),
         ("b", cdsl.PtrType(cdsl.u8, restrict=False)), ("esize", cdsl.i64)),
        (f"typedef void (*trsm_t)(int, int, int, int, int, int, int, {_alpha}, const void *, "
         "int, void *, int);",
         "trsm_t f = (trsm_t)(uintptr_t)fn;",
         f"{_alpha} al = " + ("(const void *)alpha;" if _t == "c" else
                              f"*(const {_alpha} *)alpha;"),
         "for (int64_t i = 0; i < batch; ++i)",
         "    f(101, flags[0], flags[1], flags[2], flags[3], rows, cols, al,",
         "      a + i * (int64_t)k * k * esize, k, b + i * (int64_t)rows * cols * esize, cols);"))


# --- LU and triangular solves of small real matrices ------------------------------------
#
# A LAPACK call costs ~0.1-0.2 us before any arithmetic (LAPACKE's NaN scan and argument
# checks, OpenBLAS's dispatch), more than a 3x3 factorisation's arithmetic: inv of 100,000
# 3x3 float32 matrices spent 23 ms in getrf and 2 x 12 ms in trsm (JAX 36 ms, PyTorch
# 10). Real matrices of at most `lapack.SMALL` rows and columns are factorised and solved
# here instead, with LAPACK's algorithms unblocked (getf2: the pivot is the first entry
# of largest magnitude in its column, then a rank-1 update; trsm by substitution, row
# by row), dividing by the pivot rather than multiplying by its reciprocal; NaN input
# gives an all-NaN factor, as LAPACKE's check does. Sizes 1-4 (square LU; triangular
# solves with 1 or k right-hand sides) have their own loops with constant bounds, which
# the compiler unrolls.
_SMALL_FIXED = (1, 2, 3, 4)
_SMALL_TYPES = {"s": "float", "d": "double"}


def _lu_small_lines(t, m, n, info="info[b]"):
    """One matrix `x` (m, n) factorised in place, its pivots into `pv`, its row order into
    `pm`, -1 (NaN input) or 0 into the lvalue `info`; m and n are C expressions (constants
    where specialised). The lines sit in a loop over the matrices (`continue` ends one)."""
    fabs = "fabsf" if t == "float" else "fabs"
    return (
        f"int64_t k = {m} < {n} ? {m} : {n};",
        "int32_t bad = 0;",
        f"for (int64_t i = 0; i < {m} * {n}; ++i) bad |= x[i] != x[i];",
        f"for (int64_t i = 0; i < {m}; ++i) pm[i] = (int32_t)i;",
        "if (bad) {",
        f"    for (int64_t i = 0; i < {m} * {n}; ++i) x[i] = NAN;",
        "    for (int64_t j = 0; j < k; ++j) pv[j] = (int32_t)j;",
        f"    {info} = -1;",
        "    continue;",
        "}",
        f"{info} = 0;",
        "for (int64_t j = 0; j < k; ++j) {",
        f"    int64_t q = j; {t} best = {fabs}(x[j * {n} + j]);",
        f"    for (int64_t i = j + 1; i < {m}; ++i) {{",
        f"        {t} v = {fabs}(x[i * {n} + j]);",
        "        if (v > best) { best = v; q = i; }",
        "    }",
        "    pv[j] = (int32_t)q;",
        "    if (q != j) {",
        f"        for (int64_t c = 0; c < {n}; ++c) {{",
        f"            {t} s = x[j * {n} + c]; x[j * {n} + c] = x[q * {n} + c]; "
        f"x[q * {n} + c] = s;",
        "        }",
        "        int32_t s = pm[j]; pm[j] = pm[q]; pm[q] = s;",
        "    }",
        f"    {t} d = x[j * {n} + j];",
        f"    if (d != 0) for (int64_t i = j + 1; i < {m}; ++i) x[i * {n} + j] /= d;",
        f"    for (int64_t i = j + 1; i < {m}; ++i) {{",
        f"        {t} l = x[i * {n} + j];",
        f"        for (int64_t c = j + 1; c < {n}; ++c) x[i * {n} + c] -= l * x[j * {n} + c];",
        "    }",
        "}")


def _lu_small(tl):
    t = _SMALL_TYPES[tl]
    ptr = functools.partial(cdsl.PtrType, restrict=False)
    params = (("batch", cdsl.i64), ("m", cdsl.i64), ("n", cdsl.i64),
              ("a", ptr(cdsl.f32 if tl == "s" else cdsl.f64)), ("piv", ptr(cdsl.i32)),
              ("perm", ptr(cdsl.i32)), ("info", ptr(cdsl.i32)))

    def loop(m, n):
        return ("for (int64_t b = 0; b < batch; ++b) {",
                f"    {t} *x = a + b * {m} * {n};",
                f"    int32_t *pv = piv + b * ({m} < {n} ? {m} : {n}), *pm = perm + b * {m};",
                *("    " + x for x in _lu_small_lines(t, m, n)),
                "}")
    lines = []
    for k in _SMALL_FIXED:
        lines += [f"if (m == {k} && n == {k}) {{", *("    " + x for x in loop(k, k)),
                  "    return;", "}"]
    lines += loop("m", "n")
    return cdsl.Function(f"fg_lu_small_{tl}", tuple(cdsl.Param(p, ty) for p, ty in params),
                         tuple(cdsl.Raw(x) for x in lines))


def _trsm_small_lines(t, left, lower, trans, k, other):
    """Solve op(x) y = y (`left`: y is (k, other)) or y op(x) = y (y is (other, k)) in place
    for the triangular x (k, k); `lower` is op(x)'s triangle."""
    def tt(r, c):          # op(x)[r, c]
        return f"x[({c}) * {k} + ({r})]" if trans else f"x[({r}) * {k} + ({c})]"
    if left:
        rows = (f"for (int64_t r = 0; r < {k}; ++r) {{" if lower else
                f"for (int64_t r = {k} - 1; r >= 0; --r) {{")
        inner = ("for (int64_t j = 0; j < r; ++j) {" if lower else
                 f"for (int64_t j = r + 1; j < {k}; ++j) {{")
        return (rows,
                f"    {t} *yr = y + r * {other};",
                "    " + inner,
                f"        {t} f = {tt('r', 'j')}; const {t} *yj = y + j * {other};",
                f"        for (int64_t c = 0; c < {other}; ++c) yr[c] -= f * yj[c];",
                "    }",
                f"    if (!unit) {{ {t} d = {tt('r', 'r')}; "
                f"for (int64_t c = 0; c < {other}; ++c) yr[c] /= d; }}",
                "}")
    # y op(x) = b: column c of y from the columns before it (upper) or after it (lower).
    cols = (f"for (int64_t c = {k} - 1; c >= 0; --c) {{" if lower else
            f"for (int64_t c = 0; c < {k}; ++c) {{")
    inner = (f"for (int64_t j = c + 1; j < {k}; ++j) {{" if lower else
             "for (int64_t j = 0; j < c; ++j) {")
    return (cols,
            "    " + inner,
            f"        {t} f = {tt('j', 'c')};",
            f"        for (int64_t r = 0; r < {other}; ++r) y[r * {k} + c] -= y[r * {k} + j] * f;",
            "    }",
            f"    if (!unit) {{ {t} d = {tt('c', 'c')}; "
            f"for (int64_t r = 0; r < {other}; ++r) y[r * {k} + c] /= d; }}",
            "}")


def _trsm_small(tl):
    """`fg_trsm_small_<s|d>(batch, left, lower, trans, unit, rows, cols, k, a, rhs)`: the
    triangular solves of `lapack.triangular_solve` (alpha 1) over a stack of matrices a
    (k, k) and right-hand sides rhs (rows, cols), in place in rhs; `lower` is a's
    triangle."""
    t = _SMALL_TYPES[tl]
    ft = cdsl.f32 if tl == "s" else cdsl.f64
    params = (("batch", cdsl.i64), ("left", cdsl.i32), ("lower", cdsl.i32),
              ("trans", cdsl.i32), ("unit", cdsl.i32), ("rows", cdsl.i64),
              ("cols", cdsl.i64), ("k", cdsl.i64),
              ("a", cdsl.PtrType(ft, const=True, restrict=False)),
              ("rhs", cdsl.PtrType(ft, restrict=False)))
    lines = []
    for left in (True, False):
        for trans in (False, True):
            for lower in (False, True):        # op(x)'s triangle
                lines.append(f"if ({'' if left else '!'}left && {'' if trans else '!'}trans "
                             f"&& (lower != trans) == {int(lower)}) {{")
                other = "cols" if left else "rows"
                sizes = [(k, o) for k in _SMALL_FIXED for o in sorted({1, k})]
                for k, o in sizes:
                    lines.append(f"    if (k == {k} && {other} == {o}) {{")
                    lines += ["        " + x for x in _trsm_small_batch(t, left, lower, trans,
                                                                          str(k), str(o))]
                    lines.append("        return;")
                    lines.append("    }")
                lines += ["    " + x for x in _trsm_small_batch(t, left, lower, trans, "k",
                                                                 other)]
                lines += ["    return;", "}"]
    return cdsl.Function(f"fg_trsm_small_{tl}", tuple(cdsl.Param(p, ty) for p, ty in params),
                         tuple(cdsl.Raw(x) for x in lines))


def _trsm_small_batch(t, left, lower, trans, k, other):
    size = f"{k} * {other}"
    return ("for (int64_t b = 0; b < batch; ++b) {",
            f"    const {t} *x = a + b * {k} * {k};",
            f"    {t} *y = rhs + b * ({size});",
            *("    " + x for x in _trsm_small_lines(t, left, lower, trans, k, other)),
            "}")


SMALL_LINALG = {f"fg_{kind}_small_{tl}" for kind in ("lu", "trsm") for tl in _SMALL_TYPES}


def lapack_driver(name):
    """(ffi, function) of the LAPACK_BATCH driver `name` in the prebuilt module, or None
    (registered with `prims.lapack`)."""
    mod = library()
    fn = None if mod is None else getattr(mod.lib, name, None)
    return None if fn is None else (mod.ffi, fn)


def _lapack_batch(name):
    params, lines = LAPACK_BATCH[name]
    return cdsl.Function(name, tuple(cdsl.Param(p, t) for p, t in params),
                         tuple(cdsl.Raw(x) for x in lines))


def module() -> cdsl.Module:
    fns = [_lapack_batch(name) for name in LAPACK_BATCH]
    fns += [make(tl) for tl in _SMALL_TYPES for make in (_lu_small, _trsm_small)]
    for kt in TOP_K_KEYS:
        fns += [_top_k_sift(kt), _top_k_kernel(kt, True), _top_k_kernel(kt, False)]
    for dt in TYPES:
        for p in REDUCE:
            fns.append(_reduce_kernel(p, dt, "last", True))
            fns.append(_reduce_kernel(p, dt, "last", False))
            fns.append(_reduce_kernel(p, dt, "first", False))   # the lowering is serial
        for p in UNARY:
            fns.append(_kernel(p, dt, None))
        for p in BINARY + COMPARE:
            for v in ("vv", "vs", "sv"):
                fns.append(_kernel(p, dt, v))
    return cdsl.Module(tuple(fns))


@functools.lru_cache(maxsize=1)
def source_and_cdef() -> tuple[str, str]:
    """The C source of the prebuilt module and its cffi declarations."""
    m = module()
    from cdsl import runtime
    src = cdsl.render(m, runtime.dialect(cdsl.C99))
    cdef = "\n".join(cdsl.declaration(f) for f in m.functions)
    return src, cdef


def function_names() -> list[str]:
    """The names of every prebuilt kernel, without generating any code."""
    names = list(LAPACK_BATCH) + sorted(SMALL_LINALG) + [f"fg_top_k_{kt}_{v}" for kt in TOP_K_KEYS
                                  for v in ("p", "s")]
    for dt in TYPES:
        for p in REDUCE:
            names += [_name(p, dt, v) for v in ("last_p", "last_s", "first_s")]
        names += [_name(p, dt) for p in UNARY]
        names += [_name(p, dt, v) for p in BINARY + COMPARE for v in ("vv", "vs", "sv")]
    return names


# ---------------------------------------------------------------------------------------
# Runtime side

LEVELS = ("v4", "v3", "base")       # widest first
LEVEL_ENV = "FUNCGRAD_EAGER_KERNELS"
# What each x86-64 level needs, as /proc/cpuinfo names it (lzcnt is "abm").
_X86_V3 = {"avx", "avx2", "bmi1", "bmi2", "f16c", "fma", "abm", "movbe", "xsave"}
_X86_V4 = _X86_V3 | {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}


@functools.lru_cache(maxsize=1)
def cpu_info() -> dict:
    """The first processor's fields in /proc/cpuinfo ("vendor_id", "cpu family", "flags",
    ...), read once; empty where there is no /proc."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break                       # the end of the first processor
                key, sep, value = line.partition(":")
                if sep:
                    info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


@functools.lru_cache(maxsize=1)
def cpu_level() -> str:
    """The widest prebuilt level this CPU runs: "v4", "v3" (x86-64 only) or "base" (read
    once: the lowering asks on every GEMM and convolution)."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return "base"
    flags = set(cpu_info().get("flags", "").split())
    if not flags:       # no /proc: ask NumPy's dispatcher, which checks the OS support too
        try:
            from numpy._core._multiarray_umath import __cpu_features__ as feats
        except ImportError:
            feats = {}
        if feats.get("AVX512_SKX"):
            return "v4"
        return "v3" if all(feats.get(k) for k in ("AVX2", "FMA3", "F16C")) else "base"
    if _X86_V4 <= flags:
        return "v4"
    return "v3" if _X86_V3 <= flags else "base"


def _warn(key, message):
    from ..cache import warn_fallback
    warn_fallback(key, message)


_REBUILD = ("rebuild them with a C compiler present: pip install -e . (or reinstall "
            "funcgrad)")


def load_level(level: str):
    """Import `funcgrad._eager_kernels_<level>`; None if it is not built."""
    try:
        return importlib.import_module(f"funcgrad._eager_kernels_{level}")
    except ImportError:
        return None


_lib: list = []


def library():
    """The prebuilt module of the widest level this CPU runs, or None when none is built
    (then eager ops use NumPy, after one warning)."""
    if not _lib:
        _lib.append(_pick_library())
    return _lib[0]


def _pick_library():
    top = cpu_level()
    choice = os.environ.get(LEVEL_ENV, "").strip().lower() or "auto"
    if choice == "off":
        return None
    if choice != "auto":
        if choice not in LEVELS:
            raise ValueError(f"{LEVEL_ENV}={choice!r}: choose one of auto, off, "
                             f"{', '.join(LEVELS)}")
        if LEVELS.index(choice) < LEVELS.index(top):
            _warn(("eager-level", choice), f"{LEVEL_ENV}={choice}: this CPU runs level "
                  f"{top} at most; using that")
        else:
            top = choice
    for level in LEVELS[LEVELS.index(top):]:
        mod = load_level(level)
        if mod is None:
            continue
        missing = [n for n in function_names() if not hasattr(mod.lib, n)]
        if missing:
            _warn(("eager-stale", level), f"funcgrad: the prebuilt eager kernels "
                  f"({mod.__name__}) are older than the source: they lack {len(missing)} "
                  f"kernels ({', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}), "
                  f"which run with NumPy instead; {_REBUILD}")
        return mod
    _warn("eager-missing", "funcgrad: the prebuilt eager kernels are not built (no C "
          "compiler when funcgrad was installed, or a source tree that was never installed), "
          f"so eager operations on the c backend run with NumPy, slower; {_REBUILD}")
    return None


def _runtime_path():
    """The prebuilt module's file: it also holds cdsl's runtime library (see
    funcgrad._eager_build), which jit-compiled modules call."""
    mod = library()
    return getattr(mod, "__file__", None) if mod is not None else None


cdsl.runtime.add_prebuilt(_runtime_path)


def status() -> dict:
    """The prebuilt eager kernels as installed: the level chosen for this CPU, the levels
    built, and whether the chosen module is current (built from today's source)."""
    import hashlib
    built = [lvl for lvl in LEVELS if load_level(lvl) is not None]
    mod = library()
    out = {"cpu_level": cpu_level(), "built": built,
           "loaded": mod.__name__ if mod is not None else None, "current": None,
           "missing": [], "runtime": None}
    if mod is not None:
        out["missing"] = [n for n in function_names() if not hasattr(mod.lib, n)]
        src = source_and_cdef()[0]
        want = hashlib.sha256(src.encode()).hexdigest()
        have = (mod.ffi.string(mod.lib.fg_eager_source_sha256()).decode()
                if hasattr(mod.lib, "fg_eager_source_sha256") else "")
        # it also carries the runtime library of today's GEMM kernels (else jitted modules
        # get it compiled into the cache, once)
        out["runtime"] = cdsl.runtime.provides(mod.__file__)
        out["current"] = have == want and not out["missing"] and out["runtime"]
    return out


_SUPPORTED = set(UNARY) | set(BINARY) | set(COMPARE)


def run(prim, arrays, out_aval, params=None):
    """Run `prim` eagerly with a prebuilt kernel; None when not covered."""
    name = prim.name
    if name in REDUCE:
        return _run_reduce(name, arrays[0], out_aval, params["axes"])
    if params or name not in _SUPPORTED:
        return None
    mod = library()
    if mod is None:
        return None
    vals = [a._host_value() for a in arrays]
    dt = vals[0].dtype
    if dt not in TYPES:
        return None
    shape = out_aval.shape
    if len(vals) == 1:
        variant = None
    else:
        a, b = vals
        sa, sb = a.shape == (), b.shape == ()
        if (sa and sb) or b.dtype != dt or (not sa and a.shape != shape) or \
                (not sb and b.shape != shape):
            return None
        variant = ("s" if sa else "v") + ("s" if sb else "v")
    plan = _call_plan(mod, name, dt, variant, out_aval.dtype)
    if plan is None:
        return None
    fn, in_type, out_type = plan
    out = np.empty(shape, out_aval.dtype)
    n = out.size
    if n == 0:
        return out
    # (a buffer's cdata, through `_cffi_backend` with the types resolved once: ~0.3 us an
    # argument, against ~1.5 us for ffi.cast of the __array_interface__ address)
    fn(*[_from_buffer(in_type, v if v.flags.c_contiguous else np.ascontiguousarray(v), False)
         for v in vals], _from_buffer(out_type, out, True), n)
    return out


try:
    from _cffi_backend import from_buffer as _from_buffer
except ImportError:                   # another cffi build: its public API
    import cffi
    _FFI = cffi.FFI()

    def _from_buffer(ctype, buf, writable):
        return _FFI.from_buffer(ctype, buf, require_writable=writable)

_plans: dict = {}    # (id(module), name, dtype, variant, out dtype) -> (module, plan)


def _call_plan(mod, name, dt, variant, out_dt):
    """(kernel, input buffer type, output buffer type) for `fg_<name>_<dt>[_<variant>]`
    of module `mod`, or None when it has none (another dtype, an older module)."""
    key = (id(mod), name, dt, variant, out_dt)
    hit = _plans.get(key)
    if hit is not None and hit[0] is mod:
        return hit[1]
    plan = None
    if dt in TYPES:
        fn = getattr(mod.lib, _name(name, dt, variant), None)
        if fn is not None:                # (None: a module built from an older source)
            scalar = "float" if dt == dtypes.float32 else "double"
            out = "uint8_t" if out_dt == dtypes.bool_ else scalar
            plan = (fn, mod.ffi.typeof(scalar + "[]"), mod.ffi.typeof(out + "[]"))
    _plans[key] = (mod, plan)            # (the module kept: its id stays its own)
    return plan


def _run_reduce(name, x, out_aval, axes):
    mod = library()
    if mod is None:
        return None
    v = x._host_value()
    dt = v.dtype
    if dt not in TYPES:
        return None
    shape, nd, k = v.shape, v.ndim, len(axes)
    axes = tuple(axes)
    if axes == tuple(range(nd - k, nd)):
        layout, n0, n1 = "last", math.prod(shape[:nd - k]), math.prod(shape[nd - k:])
        n_red = n1
    elif axes == tuple(range(k)):
        layout, n0, n1 = "first", math.prod(shape[:k]), math.prod(shape[k:])
        n_red = n0
    else:
        return None
    if n_red == 0 and name != "reduce_sum":
        return None          # NumPy's error for max/min of nothing
    parallel = layout == "last" and n0 * n1 >= PARALLEL_MIN
    plan = _call_plan(mod, name, dt, f"{layout}_{'p' if parallel else 's'}", dt)
    if plan is None:
        return None
    fn, in_type, out_type = plan
    if not v.flags.c_contiguous:
        v = np.ascontiguousarray(v)
    out = np.empty(out_aval.shape, out_aval.dtype)
    null = mod.ffi.NULL
    fn(_from_buffer(in_type, v, False) if v.size else null,
       _from_buffer(out_type, out, True) if out.size else null, n0, n1)
    return out


def run_top_k(x, k: int):
    """`[values, indices]` of `lax.top_k(x, k)` on host array `x` with the prebuilt heap
    kernel; None when it does not apply (no kernel, nothing to select, rows longer than
    int32 indices reach)."""
    from ..prims.windows import total_order_key
    mod = library()
    x = np.asarray(x)
    n = x.shape[-1] if x.ndim else 0
    rows = math.prod(x.shape[:-1])
    if mod is None or k == 0 or n == 0 or rows == 0 or n >= 1 << 31:
        return None
    if x.dtype in (np.float32, np.float64):
        keys, flt = x.view(np.int32 if x.dtype == np.float32 else np.int64), 1
    else:
        keys, flt = total_order_key(x), 0
    kt = "i32" if keys.dtype == np.int32 else "i64"
    parallel = rows > 1 and rows * n >= PARALLEL_MIN
    fn = getattr(mod.lib, f"fg_top_k_{kt}_{'p' if parallel else 's'}", None)
    if fn is None:
        return None
    keys = np.ascontiguousarray(keys.reshape(rows, n))
    idx = np.empty((rows, k), np.int32)
    heap = np.empty((rows, k), keys.dtype)
    key_type = mod.ffi.typeof(("int32_t" if kt == "i32" else "int64_t") + "[]")
    fn(_from_buffer(key_type, keys, False), _from_buffer(mod.ffi.typeof("int32_t[]"), idx, True),
       _from_buffer(key_type, heap, True), rows, n, k, flt)
    vals = np.take_along_axis(x.reshape(rows, n), idx, axis=-1)
    lead = x.shape[:-1]
    return [vals.reshape(lead + (k,)), idx.reshape(lead + (k,))]


# Host steps (jit) and eager operations of these primitives run these kernels first; their
# NumPy implementations (the reference backend's) when a kernel returns None.
MULTI_RESULT_KERNELS = {"top_k": lambda vals, params: run_top_k(vals[0], params["k"])}


def run_multi(prim, vals, params):
    """Run multiple-result `prim` on host values with a prebuilt kernel; None when none
    covers it."""
    kernel = MULTI_RESULT_KERNELS.get(prim.name)
    return None if kernel is None else kernel(vals, params)


lapack.register_drivers(lapack_driver)
