"""cdsl: the C AST, its two dialects (golden files), compiling through cffi, the disk cache."""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import cdsl as C
from cdsl import compile as cc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "cdsl")
# (the golden C is x86-64's, whatever machine renders it: float reductions with simdlen)
DIALECTS = {"c": dataclasses.replace(C.C99, reduction_simd_bits=256), "cl": C.OPENCL}


@pytest.fixture(autouse=True)
def _tmp_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path / "cache"))
    C.compile._memo.clear()
    yield
    C.compile._memo.clear()


# --- kernels -------------------------------------------------------------------------------

def elementwise_kernel(dtype=C.f32) -> C.Function:
    """y = tanh(x) * z + exp(-x * x) * 0.5 + log1p(|x|)  (the benchmark chain, plus log1p)."""
    x = C.Param("x", dtype.ptr(const=True))
    z = C.Param("z", dtype.ptr(const=True))
    y = C.Param("y", dtype.ptr())
    n = C.Param("n", C.i64)
    i = C.Var("i", C.i64)
    xi = C.Var("xi", dtype)
    body = [C.Decl(xi, x[i]),
            C.Assign(y[i], C.Call("tanh", (xi,)) * z[i] + C.Call("exp", (-xi * xi,)) * 0.5
                     + C.Call("log1p", (C.Call("fabs", (xi,)),)))]
    loop = C.For(i, 0, n, body, parallel=True, simd=True, parallel_min=1 << 16)
    return C.Function("chain", (x, z, y, n), (loop,), kernel=True)


def reduction_kernel() -> C.Function:
    """out[r] = (sum_j x[r, j]^2 in f64, max_j x[r, j] NaN-propagating) per row."""
    x = C.Param("x", C.f32.ptr(const=True))
    ssq = C.Param("ssq", C.f64.ptr())
    mx = C.Param("mx", C.f32.ptr())
    rows, cols = C.Param("rows", C.i64), C.Param("cols", C.i64)
    r, j = C.Var("r", C.i64), C.Var("j", C.i64)
    acc, m, v = C.Var("acc", C.f64), C.Var("m", C.f32), C.Var("v", C.f32)
    inner = C.For(j, 0, cols, [
        C.Decl(v, x[r * cols + j]),
        C.AugAssign(acc, "+", C.Cast(C.f64, v) * C.Cast(C.f64, v)),
    ], simd=True, reduction=("+", acc))
    maxloop = C.For(j, 0, cols, [
        C.Assign(m, C.Call("max_f32", (m, x[r * cols + j]))),
    ])
    body = [C.Comment("one row per work item"),
            C.Decl(acc, C.Const(0.0, C.f64)),
            C.Decl(m, C.Const(float("-inf"), C.f32)),
            inner, maxloop,
            C.Assign(ssq[r], acc),
            C.Store(mx, r, m)]
    loop = C.For(r, 0, rows, body, parallel=True, parallel_min=64)
    return C.Function("rowstats", (x, ssq, mx, rows, cols), (loop,), kernel=True)


def misc_kernel() -> C.Function:
    """Branches, selects, casts, integer helpers and special literals."""
    a = C.Param("a", C.f64.ptr(const=True))
    k = C.Param("k", C.i32.ptr())
    out = C.Param("out", C.f64.ptr())
    n = C.Param("n", C.i64)
    i = C.Var("i", C.i64)
    t = C.Var("t", C.f64)
    q = C.Var("q", C.i32)
    body = [
        C.Decl(t, a[i]),
        C.If(C.Call("isnan", (t,), C.bool_),
             [C.Assign(out[i], C.Const(float("inf"), C.f64))],
             [C.Assign(out[i], C.Select(t.gt(0.0), C.Call("sqrt", (t,)), -t) + 1e-300)]),
        C.Decl(q, C.Call("idiv_i32", (k[i], k[i] - 3))),
        C.Assign(k[i], (q << 2) ^ C.Cast(C.i32, i & 7)),
        C.If(i.eq(0).and_(n.gt(C.Const(-2**63, C.i64))),
             [C.Assign(out[i], C.Const(float("nan"), C.f64) * C.Const(0.1, C.f64))]),
    ]
    return C.Function("misc", (a, k, out, n), (C.For(i, 0, n, body, parallel=True),),
                      kernel=True)


def sgemm_module() -> C.Module:
    a = C.Param("a", C.f32.ptr(const=True))
    b = C.Param("b", C.f32.ptr(const=True))
    c = C.Param("c", C.f32.ptr())
    m, n, k = (C.Param(s, C.i32) for s in "mnk")
    call = C.Call("scipy_cblas_sgemm", (C.Const(101, C.i32), C.Const(111, C.i32),
                                        C.Const(111, C.i32), m, n, k, C.Const(1.0, C.f32),
                                        a, k, b, n, C.Const(0.0, C.f32), c, n), C.void)
    fn = C.Function("sgemm", (a, b, c, m, n, k), (C.ExprStmt(call),))
    return C.Module((fn,), uses_blas=True)


KERNELS = {"elementwise": elementwise_kernel, "reduction": reduction_kernel,
           "misc": misc_kernel}


def ptr(lib, arr):
    return lib.ptr(arr)


# --- rendering -----------------------------------------------------------------------------

@pytest.mark.core
@pytest.mark.parametrize("ext", sorted(DIALECTS))
@pytest.mark.parametrize("name", sorted(KERNELS))
def test_render_golden(name, ext):
    text = C.render(KERNELS[name](), DIALECTS[ext])
    path = os.path.join(GOLDEN, f"{name}.{ext}")
    if os.environ.get("FUNCGRAD_UPDATE_GOLDEN") == "1":
        os.makedirs(GOLDEN, exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    with open(path) as f:
        assert text == f.read(), f"rendered {name} differs from {path}; " \
                                 "FUNCGRAD_UPDATE_GOLDEN=1 regenerates it"


def _calls_and_types_by_generic_walk(node):
    calls, types = set(), set()
    for n in C.ast.walk(node):
        if isinstance(n, C.ast.Call):
            t = n.args[0].type if n.args else n.type
            calls.add((n.fn, "ptr" if isinstance(t, C.ast.PtrType) else t.name))
        elif isinstance(n, C.ast.CType):
            types.add(n.name)
        elif isinstance(n, C.ast.VecType):
            types.add(n)
    return calls, types


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_calls_and_types_agrees_with_the_generic_walk(name):
    """`calls_and_types` walks only the fields that can hold nodes; it must find what a
    walk of every field finds (a missed call drops a helper, a missed type its pragma)."""
    k = KERNELS[name]()
    fns = k.functions if isinstance(k, C.Module) else (k,)
    assert C.ast.calls_and_types(fns) == _calls_and_types_by_generic_walk(fns)


def test_calls_and_types_agrees_on_compiled_programs():
    import funcgrad as fg
    import funcgrad.numpy as fnp
    from funcgrad import lax
    from funcgrad.backends.c import Executable
    progs = [
        fg.make_jaxpr(lambda k: fg.random.normal(k, (33, 7)))(fg.random.PRNGKey(0)),
        fg.make_jaxpr(lambda x: fnp.sort(x) @ x.T + fnp.cumsum(x, 1))(np.ones((5, 5))),
        fg.make_jaxpr(lambda x: lax.while_loop(lambda c: c[0] < 3,
                                               lambda c: (c[0] + 1, c[1] * 2), (0, x)))(
            np.ones(3, np.float32)),
        fg.make_jaxpr(lambda x: (x.astype(fnp.bfloat16) * 2, fnp.fft.fft(x)))(
            np.ones(8, np.float32)),
    ]
    for p in progs:
        fns = Executable(p.program, "f", compile=False).module.functions
        assert fns
        assert C.ast.calls_and_types(fns) == _calls_and_types_by_generic_walk(fns)


def _lane_fma_kernel(vector: bool):
    """o[j] = fma over i of a[i] * b[8 i + 1 + j], j < 8 (b and o read and written at odd,
    unaligned offsets): in one vector of 8 lanes, or in 8 scalar fmaf() calls."""
    vt = C.VecType(C.f32, 8)
    a, b = (C.Param(n, C.f32.ptr(const=True)) for n in ("a", "b"))
    o = C.Param("o", C.f32.ptr())
    n = C.Param("n", C.i64)
    i, x, y = C.Var("i", C.i64), C.Var("x", C.f32), C.Var("y", C.f32)
    last = C.Decl(y, C.Load(a, n - 1))
    if vector:
        acc = C.Var("acc", vt)
        body = (C.Decl(acc, C.VecSplat(C.Const(0.0, C.f32), vt)),
                C.For(i, 0, n, (C.Decl(x, C.Load(a, i)), C.Assign(acc, C.Call("fma", (
                    C.VecSplat(x, vt), C.VecLoad(b, i * 8 + 1, vt), acc), vt)))),
                C.VecStore(o, C.Const(1, C.i64), acc), last,
                C.VecStore(o, C.Const(9, C.i64), C.VecSplat(y, vt)))
    else:
        accs = [C.Var(f"acc{j}", C.f32) for j in range(8)]
        body = tuple(C.Decl(v, C.Const(0.0, C.f32)) for v in accs) + (
            C.For(i, 0, n, (C.Decl(x, C.Load(a, i)),) + tuple(
                C.Assign(v, C.Call("fmaf", (x, C.Load(b, i * 8 + 1 + j), v)))
                for j, v in enumerate(accs))),) + tuple(
            C.Store(o, C.Const(1 + j, C.i64), v) for j, v in enumerate(accs)) + (last,) + tuple(
            C.Store(o, C.Const(9 + j, C.i64), y) for j in range(8))
    return C.Function("lanes", (a, b, o, n), body)


def _cpu_has_fma() -> bool:
    try:
        with open("/proc/cpuinfo") as f:
            return any(line.startswith("flags") and " fma " in line + " " for line in f)
    except OSError:
        return False


@pytest.mark.cbackend
@pytest.mark.skipif(not _cpu_has_fma(), reason="x86 FMA instructions")
def test_vector_types_render_compile_and_fuse_like_fmaf():
    """A vector fma gives, lane by lane, the bits of fmaf() (gcc's own contraction of
    `a * b + c` would not: its Zen tuning keeps such 256-bit chains unfused); loads and
    stores work at any alignment; the typedef comes with the first use."""
    src = C.render(_lane_fma_kernel(True), C.C99)
    assert "__builtin_ia32_vfmaddps256(" in src
    assert src.count("typedef float fgv_f32x8 __attribute__((vector_size(32), "
                     "aligned(4)));") == 1
    assert "*(const fgv_f32x8*)(b + " in src and "*(fgv_f32x8*)(o + 1) = acc;" in src
    rng = np.random.default_rng(3)
    n = 1000
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(8 * n + 2).astype(np.float32)
    out = {}
    for vector in (True, False):
        lib = C.compile_module(_lane_fma_kernel(vector))
        o = np.full(18, -1.0, np.float32)
        lib.lanes(ptr(lib, a), ptr(lib, b), ptr(lib, o), n)
        out[vector] = o
    np.testing.assert_array_equal(out[True], out[False])
    assert out[True][0] == -1.0 and out[True][17] == -1.0      # nothing written outside
    assert np.all(out[True][9:17] == a[-1])
    ref = (a[:, None].astype(np.float64) * b[1:-1].reshape(n, 8)).sum(0)
    np.testing.assert_allclose(out[True][1:9], ref, rtol=1e-4, atol=1e-3)


def test_vector_types_are_c99_only():
    with pytest.raises(TypeError, match="opencl has no vector types"):
        C.render(_lane_fma_kernel(True), C.OPENCL)
    with pytest.raises(TypeError, match="c99 has no fma of f32x3 vectors"):
        vt = C.VecType(C.f32, 3)
        C.render(C.Call("fma", (C.Var("u", vt),) * 3, vt), C.C99)
    k = _lane_fma_kernel(True)
    assert C.ast.calls_and_types(k) == _calls_and_types_by_generic_walk(k)
    assert C.VecType(C.f32, 8) in C.ast.types_used(k)


@pytest.mark.core
def test_render_is_deterministic():
    assert C.render(misc_kernel(), C.C99) == C.render(misc_kernel(), C.C99)


@pytest.mark.core
def test_float_literals_round_trip():
    for v in (0.1, 1 / 3, 1e-45, 3.4028234663852886e38, 1e20, -0.0, 2.0, 1.17549435e-38):
        s = C.render(C.Const(v, C.f32), C.C99)
        assert s.endswith("f")
        assert np.float32(s[:-1]) == np.float32(v)
        assert float(C.render(C.Const(v, C.f64), C.C99)) == v
    assert C.render(C.Const(float("inf"), C.f32), C.C99) == "INFINITY"
    assert C.render(C.Const(float("-inf"), C.f32), C.OPENCL) == "-INFINITY"
    assert C.render(C.Const(float("nan"), C.f64), C.C99) == "(double)NAN"
    assert C.render(C.Const(-2**63, C.i64), C.C99) == "-9223372036854775807LL - 1"
    assert C.render(C.Const(2**40, C.i64), C.OPENCL) == "1099511627776L"
    assert C.render(C.Const(True, C.bool_), C.OPENCL) == "1"


@pytest.mark.core
def test_operators_build_typed_nodes():
    x, i = C.Var("x", C.f32), C.Var("i", C.i32)
    e = x * 2 + 1.5
    assert isinstance(e, C.BinOp) and e.type == C.f32 and e.b.type == C.f32
    assert (x + C.Var("d", C.f64)).type == C.f64
    assert x.lt(i).type == C.bool_
    assert (i << 3).type == C.i32
    assert C.Call("exp", (x,)).type == C.f32
    assert C.render(C.Select(x.ge(0), x, -x), C.C99) == "(x >= 0.0f) ? x : (-x)"
    same = x
    assert (x == same) is True and (x == C.Var("x", C.f32)) is False


@pytest.mark.core
def test_math_names_follow_type_and_dialect():
    x, d = C.Var("x", C.f32), C.Var("d", C.f64)
    assert C.render(C.Call("sinh", (x,)), C.C99) == "sinhf(x)"
    assert C.render(C.Call("tanh", (d,)), C.C99) == "tanh(d)"
    assert C.render(C.Call("tanh", (x,)), C.OPENCL) == "tanh(x)"
    # (float32 tanh, exp and log are cdsl's own helpers in C99; tanh and exp through the
    # names of their AVX-512 variants, cdsl.vector_helpers)
    assert C.render(C.Call("tanh", (x,)), C.C99) == "utanhv_f32(x)"
    assert C.render(C.Call("log", (x,)), C.C99) == "ulog_f32(x)"
    assert C.render(C.Call("fmax", (x, x)), C.C99) == "fmaxf(x, x)"
    import dataclasses
    custom = dataclasses.replace(C.OPENCL, math_names={("exp", "f32"): "native_exp"})
    assert C.render(C.Call("exp", (x,)), custom) == "native_exp(x)"


@pytest.mark.core
def test_opencl_fp64_pragma_only_when_used():
    assert "cl_khr_fp64" not in C.render(elementwise_kernel(C.f32), C.OPENCL)
    assert "cl_khr_fp64" in C.render(elementwise_kernel(C.f64), C.OPENCL)
    assert "cl_khr_fp64" not in C.render(elementwise_kernel(C.f64), C.C99)


@pytest.mark.core
def test_parallel_loop_forms():
    i, j = C.Var("i", C.i64), C.Var("j", C.i64)
    y = C.Param("y", C.f32.ptr())
    small = C.For(i, 0, 100, [C.Assign(y[i], C.Const(0, C.f32))], parallel=True)
    assert "omp parallel" not in C.render(small, C.C99)
    big = C.For(i, 0, 1 << 20, [C.Assign(y[i], C.Const(0, C.f32))], parallel=True)
    assert C.render(big, C.C99).startswith("#pragma omp parallel for\n")
    dynamic = C.For(i, 0, 1 << 20, [C.Assign(y[i], C.Const(0, C.f32))], parallel=True,
                    schedule="dynamic")
    assert C.render(dynamic, C.C99).startswith("#pragma omp parallel for schedule(dynamic)\n")
    assert "schedule" not in C.render(dynamic, C.OPENCL)
    nested = C.For(i, 2, C.Param("n", C.i64), [
        C.For(j, 0, 8, [C.Assign(y[i * 8 + j], C.Const(1, C.f32))], parallel=True)],
        parallel=True, step=2)
    c_text, cl_text = C.render(nested, C.C99), C.render(nested, C.OPENCL)
    assert c_text.count("#pragma omp parallel") == 1
    assert "if((n - 2) >= 32768)" in c_text
    assert cl_text.splitlines()[:2] == ["long i = 2 + (long)get_global_id(0) * 2;",
                                        "if (i < n) {"]
    assert "for (long j = 0; j < 8; ++j)" in cl_text


@pytest.mark.core
def test_a_conditional_loop_bound_keeps_its_parentheses():
    # `i < (a < n ? a : n)`: without the parentheses C reads `(i < (a < n)) ? a : n`
    # (`<` binds more tightly than `?:`), which did not compile
    i, t = C.Var("i", C.i64), C.Param("t", C.i64)
    y = C.Param("y", C.f32.ptr())
    end = t * 16 + 16
    stop = C.Select(end.lt(130), end, C.Const(130, C.i64))
    loop = C.For(i, t * 16, stop, [C.Assign(y[i], C.Const(0, C.f32))])
    for dialect in (C.C99, C.OPENCL):
        text = C.render(C.For(i, t * 16, stop, [C.Assign(y[i], C.Const(0, C.f32))],
                              parallel=dialect is C.OPENCL), dialect)
        assert "i < (((t * 16) + 16) < 130) ?" not in text
        assert "((((t * 16) + 16) < 130) ? ((t * 16) + 16) : 130)" in text, text
    assert "for (int64_t i = t * 16; i < ((" in C.render(loop, C.C99)


@pytest.mark.core
def test_opencl_rejects_parallel_reduction():
    i, acc = C.Var("i", C.i64), C.Var("acc", C.f32)
    loop = C.For(i, 0, 10, [C.AugAssign(acc, "+", C.Const(1, C.f32))], parallel=True,
                 reduction=("+", acc))
    assert "reduction(+:acc)" in C.render(loop, C.C99) or "omp" not in C.render(loop, C.C99)
    with pytest.raises(ValueError, match="work-item"):
        C.render(loop, C.OPENCL)


@pytest.mark.core
def test_declaration_is_cffi_friendly():
    d = C.declaration(elementwise_kernel())
    assert d == "void chain(const float* x, const float* z, float* y, int64_t n);"


# --- compiling and running -----------------------------------------------------------------

@pytest.mark.cbackend
def test_elementwise_matches_numpy_with_nan_inf():
    lib = C.compile_module(elementwise_kernel())
    rng = np.random.default_rng(0)
    x = rng.normal(size=100_003).astype(np.float32) * 4
    x[:8] = [np.nan, np.inf, -np.inf, 0.0, -0.0, 100.0, -100.0, 1e-30]
    z = rng.normal(size=x.size).astype(np.float32)
    z[8] = np.nan
    y = np.empty_like(x)
    lib.chain(ptr(lib, x), ptr(lib, z), ptr(lib, y), x.size)
    with np.errstate(all="ignore"):
        ref = (np.tanh(x) * z + np.exp(-x * x) * np.float32(0.5) + np.log1p(np.abs(x)))
    np.testing.assert_allclose(y, ref, rtol=2e-6, atol=2e-6, equal_nan=True)
    assert np.isnan(y[0]) and np.isnan(y[8])
    assert y[1] == np.inf and y[2] == np.inf
    with open(lib.path, "rb") as f:
        assert b"_ZGV" in f.read(), "exp/tanh were not vectorised through libmvec"


@pytest.mark.cbackend
def test_unloading_the_last_openmp_module_keeps_libgomp_for_its_spinning_threads():
    """Regression: a process whose only OpenMP user was a cdsl module (no funcgrad) died
    of SIGSEGV when the module was unloaded (collected, or at interpreter exit): libgomp,
    its dependency, went with it while the team's workers still spun in its code."""
    code = textwrap.dedent("""
        import gc
        import numpy as np
        import cdsl as C
        i, y = C.Var("i", C.i64), C.Param("y", C.i32.ptr())
        n = C.Call("omp_get_num_threads", (), C.i32)
        fn = C.Function("teams", (y,), (C.For(i, 0, 1 << 16, [C.Assign(y[i], n)],
                                              parallel=True),), kernel=True)
        lib = C.load(C.render(C.Module((fn,)), C.C99), "void teams(int32_t *y);")
        out = np.zeros(1 << 16, np.int32)
        lib.teams(lib.ptr(out))
        del lib
        C.compile._memo.clear()
        gc.collect()
        with open("/proc/self/maps") as f:
            print(out.max(), "libgomp" in f.read())
    """)
    env = dict(os.environ, OMP_NUM_THREADS="2")
    env.pop("GOMP_SPINCOUNT", None)         # libgomp's default: its workers spin for ms
    env.pop("OMP_WAIT_POLICY", None)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    assert r.stdout.split() == ["2", "True"], r.stdout


@pytest.mark.cbackend
def test_caller_takes_arrays_and_rejects_strided():
    lib = C.compile_module(elementwise_kernel(C.f64))
    call = lib.caller("chain")
    x = np.linspace(-1, 1, 9)
    y = np.empty_like(x)
    call(x, np.ones_like(x), y, x.size)
    np.testing.assert_allclose(y, np.tanh(x) + np.exp(-x * x) * 0.5 + np.log1p(abs(x)))
    with pytest.raises((TypeError, ValueError, BufferError)):
        call(x[::2], x[::2], y[::2], 4)
    with pytest.raises(TypeError, match="takes 4 arguments"):
        call(x, x, y)


@pytest.mark.cbackend
def test_reduction_kernel():
    lib = C.compile_module(reduction_kernel())
    x = np.random.default_rng(1).normal(size=(300, 257)).astype(np.float32)
    x[5, 100] = np.nan
    ssq = np.empty(300, np.float64)
    mx = np.empty(300, np.float32)
    lib.rowstats(ptr(lib, x), ptr(lib, ssq), ptr(lib, mx), 300, 257)
    np.testing.assert_allclose(ssq, (x.astype(np.float64) ** 2).sum(1), rtol=1e-12)
    np.testing.assert_array_equal(mx, x.max(1))


@pytest.mark.cbackend
def test_misc_kernel_semantics():
    lib = C.compile_module(misc_kernel())
    a = np.array([4.0, np.nan, -2.5, 0.0, 9.0])
    k = np.array([7, 3, -9, 0, 1], np.int32)
    out = np.empty(5)
    lib.misc(ptr(lib, a), ptr(lib, k), ptr(lib, out), 5)
    assert np.isnan(out[0])
    assert out[1] == np.inf
    np.testing.assert_array_equal(out[2:], [2.5, 1e-300, 3.0 + 1e-300])
    q = np.array([7 // 4, 0, int(-9 / -12), 0, int(1 / -2)], np.int32)
    np.testing.assert_array_equal(k, (q << 2) ^ (np.arange(5) & 7))


@pytest.mark.cbackend
def test_sgemm_through_blas():
    lib = C.compile_module(sgemm_module())
    rng = np.random.default_rng(2)
    a = rng.normal(size=(67, 45)).astype(np.float32)
    b = rng.normal(size=(45, 31)).astype(np.float32)
    c = np.empty((67, 31), np.float32)
    lib.sgemm(ptr(lib, a), ptr(lib, b), ptr(lib, c), 67, 31, 45)
    np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-4)


@pytest.mark.core
def test_blas_header_only_where_the_code_calls_blas():
    """`uses_blas=None` includes the BLAS header only where the rendered code calls BLAS
    (a call node or raw text): a module that does not is built without the header and the
    library (~20% of a small module's build)."""
    include = C.C99.blas_include
    sgemm = sgemm_module()
    auto = C.Module(sgemm.functions, uses_blas=None)
    assert include in C.render(auto, C.C99)
    plain = C.Module((elementwise_kernel(),), uses_blas=None)
    assert include not in C.render(plain, C.C99)
    assert include in C.render(C.Module((elementwise_kernel(),), uses_blas=True), C.C99)
    raw = C.Function("solve", (C.Param("a", C.f32.ptr()),), (C.Raw(
        "scipy_cblas_strsm(CblasRowMajor, 141, 121, 111, 131, 1, 1, 1.0f, a, 1, a, 1);"),))
    assert include in C.render(C.Module((raw,), uses_blas=None), C.C99)


@pytest.mark.cbackend
def test_sgemm_through_blas_found_in_the_code():
    """A module whose BLAS use is found in its code (`uses_blas=None`) is linked with the
    library."""
    lib = C.compile_module(C.Module(sgemm_module().functions, uses_blas=None))
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    c = np.empty((2, 4), np.float32)
    lib.sgemm(ptr(lib, a), ptr(lib, b), ptr(lib, c), 2, 4, 3)
    np.testing.assert_array_equal(c, a @ b)


@pytest.mark.cbackend
def test_compile_error_shows_message_and_source():
    src = "int broken(int x) { return x +; }\n"
    with pytest.raises(C.CompileError) as info:
        C.load(src, "int broken(int);")
    msg = str(info.value)
    assert "error" in msg and "expected expression" in msg
    assert info.value.source_path in msg and os.path.exists(info.value.source_path)
    with open(info.value.source_path) as f:
        assert f.read() == src
    assert isinstance(info.value, RuntimeError)


# --- the disk cache ------------------------------------------------------------------------

_ADD_SRC = "void add1(float* x, long n) { for (long i = 0; i < n; ++i) x[i] += 1.0f; }\n"
_ADD_DEF = "void add1(float* x, long n);"

_CHILD = textwrap.dedent("""
    import json, sys, numpy as np, cdsl
    lib = cdsl.load(sys.argv[1], sys.argv[2])
    x = np.zeros(4, np.float32)
    lib.add1(lib.ptr(x), 4)
    assert x.tolist() == [1.0] * 4
    print(json.dumps({"from_cache": lib.from_cache, "path": lib.path,
                      **cdsl.compile.stats}))
""")


def _child(src=_ADD_SRC, cdef=_ADD_DEF, wait=True):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.Popen([sys.executable, "-c", _CHILD, src, cdef], env=env, cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return _result(p) if wait else p


def _result(p):
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.cbackend
def test_cache_hit_in_new_process_does_not_compile():
    first = _child()
    assert first["compiles"] == 1 and not first["from_cache"]
    second = _child()
    assert second["compiles"] == 0 and second["from_cache"] and second["disk_hits"] == 1
    assert second["path"] == first["path"]


@pytest.mark.cbackend
def test_memo_loads_once_in_process():
    a = C.load(_ADD_SRC, _ADD_DEF)
    before = dict(C.compile.stats)
    b = C.load(_ADD_SRC, _ADD_DEF)
    assert a is b and C.compile.stats["memo_hits"] == before["memo_hits"] + 1
    assert C.compile.stats["compiles"] == before["compiles"]


@pytest.mark.cbackend
@pytest.mark.parametrize("damage", ["truncate", "flip", "no_sidecar", "bad_sidecar"])
def test_damaged_entry_is_rebuilt_not_loaded(damage):
    # Built in a child so that this process never maps the file we damage.
    path = _child()["path"]
    meta = path[:-3] + ".json"
    if damage == "truncate":
        with open(path, "r+b") as f:
            f.truncate(os.path.getsize(path) // 2)
    elif damage == "flip":
        with open(path, "r+b") as f:
            f.seek(100)
            byte = f.read(1)
            f.seek(100)
            f.write(bytes([byte[0] ^ 0xFF]))
    elif damage == "no_sidecar":
        os.remove(meta)
    else:
        with open(meta, "w") as f:
            f.write("{not json")
    compiles = C.compile.stats["compiles"]
    lib = C.load(_ADD_SRC, _ADD_DEF)
    assert not lib.from_cache and C.compile.stats["compiles"] == compiles + 1
    x = np.zeros(3, np.float32)
    lib.add1(lib.ptr(x), 3)
    assert x.tolist() == [1.0] * 3
    assert C.compile._entry_ok(path, meta)


@pytest.mark.cbackend
def test_concurrent_processes_compile_same_kernel():
    src = _ADD_SRC.replace("1.0f", "1.0f + 0.0f")
    procs = [_child(src, wait=False) for _ in range(3)]
    results = [_result(p) for p in procs]
    assert len({r["path"] for r in results}) == 1
    assert sum(r["compiles"] for r in results) >= 1
    d = C.cache_dir()
    assert not [n for n in os.listdir(d) if n.startswith(".tmp-")]


@pytest.mark.cbackend
def test_concurrent_builds_without_lock_are_safe():
    # Correctness must not rest on the flock: race the unlocked build step directly.
    code = textwrap.dedent("""
        import sys, cdsl
        from cdsl import compile as cc
        d = cc.cache_dir()
        key = cc.module_key(sys.argv[1])
        for _ in range(3):
            cc._build(sys.argv[1], key, (), False, d)
        print(key)
    """)
    env = dict(os.environ, PYTHONPATH=ROOT)
    procs = [subprocess.Popen([sys.executable, "-c", code, _ADD_SRC], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    keys = set()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        keys.add(out.strip())
    (key,) = keys
    d = C.cache_dir()
    assert C.compile._entry_ok(os.path.join(d, f"m_{key}.so"), os.path.join(d, f"m_{key}.json"))
    assert C.load(_ADD_SRC, _ADD_DEF).from_cache


@pytest.mark.cbackend
def test_cache_dir_is_private(tmp_path, monkeypatch):
    root = tmp_path / "fresh" / "root"
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(root))
    d = C.cache_dir()
    assert stat.S_IMODE(os.stat(root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700
    os.chmod(d, 0o755)
    C.cache_dir()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


@pytest.mark.cbackend
def test_clear_cache():
    lib = C.load(_ADD_SRC, _ADD_DEF)
    C.clear_cache()
    assert not os.path.exists(lib.path)
    assert not C.load(_ADD_SRC, _ADD_DEF).from_cache


@pytest.mark.cbackend
def test_key_depends_on_source_flags_and_blas():
    k = C.module_key(_ADD_SRC)
    assert k != C.module_key(_ADD_SRC + " ")
    assert k != C.module_key(_ADD_SRC, flags=("-DX=1",))
    assert k != C.module_key(_ADD_SRC, blas=True)
    assert k == C.module_key(_ADD_SRC)


# --- the import graph ----------------------------------------------------------------------

@pytest.mark.core
def test_cdsl_imports_nothing_of_ours():
    code = ("import cdsl, cdsl.compile, cdsl.render, cdsl.helpers, sys; "
            "bad = [m for m in sys.modules if m.startswith(('funcgrad', 'opencl'))]; "
            "assert not bad, bad")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                       text=True, check=False, env=dict(os.environ, PYTHONPATH=ROOT))
    assert r.returncode == 0, r.stderr


# --- OpenCL C is valid OpenCL C ------------------------------------------------------------

def _cl_context():
    cl = pytest.importorskip("pyopencl")
    try:
        devices = [d for p in cl.get_platforms() for d in p.get_devices()]
    except cl.Error:
        devices = []
    if not devices:
        pytest.skip("no OpenCL platform (install PoCL: apt-get install pocl-opencl-icd)")
    return cl, cl.Context(devices=devices[:1])


@pytest.mark.opencl
def test_opencl_goldens_build_and_run():
    cl, ctx = _cl_context()
    programs = {name: cl.Program(ctx, C.render(KERNELS[name](), C.OPENCL)).build()
                for name in sorted(KERNELS)}
    queue = cl.CommandQueue(ctx)
    x = np.linspace(-5, 5, 1001).astype(np.float32)
    x[0] = np.nan
    z = np.full_like(x, 2.0)
    mf = cl.mem_flags
    bx = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=x)
    bz = cl.Buffer(ctx, mf.READ_ONLY | mf.COPY_HOST_PTR, hostbuf=z)
    by = cl.Buffer(ctx, mf.WRITE_ONLY, x.nbytes)
    programs["elementwise"].chain(queue, (x.size,), None, bx, bz, by, np.int64(x.size))
    y = np.empty_like(x)
    cl.enqueue_copy(queue, y, by)
    with np.errstate(all="ignore"):
        ref = np.tanh(x) * z + np.exp(-x * x) * np.float32(0.5) + np.log1p(np.abs(x))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5, equal_nan=True)


def test_negation_of_a_negative_literal_renders_as_c():
    # `-(-1.5f)` must not print as `--1.5f` (a decrement of a literal: a compile error that
    # appeared once literals stopped being copied into temporaries)
    e = C.UnOp("-", C.Const(-1.5, C.f32))
    for d in (C.C99, C.OPENCL):
        assert "--" not in C.render(e, d), C.render(e, d)


def test_plain_prototypes_load_without_cffis_parser():
    """cdsl's own cdefs (scalar and pointer parameters) are turned into function types
    directly (cffi's C parser cost ~5 ms a module on a warm start); anything else still goes
    through `FFI.cdef`, and the two load the same callable functions."""
    protos = cc._prototypes("void f(intptr_t a, int64_t b);\n\nvoid g(void);\n"
                            "double h(const float* x, int n);")
    assert [n for n, _ in protos] == ["f", "g", "h"]
    assert [str(t) for _, t in protos] == ["<ctype 'void(*)(intptr_t, int64_t)'>",
                                          "<ctype 'void(*)()'>",
                                          "<ctype 'double(*)(float *, int)'>"]
    for other in ("struct s { int a; };", "void f(float x[]);", "typedef int t;",
                  "void f(struct s* p);", "void f(int (*cb)(int));", "void f(void x);"):
        assert cc._prototypes(other) is None, other
    src = "#include <stdint.h>\ndouble twice(const double* x, int64_t n) { double s = 0; " \
          "for (int64_t i = 0; i < n; ++i) s += 2 * x[i]; return s; }\n"
    x = np.arange(5.0)
    fast = cc.load(src, "double twice(const double* x, int64_t n);")
    assert fast.ffi is cc._BLANK_FFI
    assert fast.caller("twice")(x, 5) == 20.0
    # a cdef the fast path does not read (a typedef) loads through cffi, same function
    parsed = cc.load(src + "\n", "typedef int64_t count_t;\n"
                     "double twice(const double* x, count_t n);")
    assert parsed.ffi is not cc._BLANK_FFI
    assert parsed.caller("twice")(x, 5) == 20.0


def test_a_declared_function_missing_from_the_library_is_an_error_at_load():
    src = "int present(void) { return 1; }\n"
    with pytest.raises(cc.CompileError, match="absent"):
        cc.load(src, "int present(void);\nint absent(void);")


def test_exp_polynomial_is_refitted_and_accurate():
    """cdsl's float32 exp (`uexp_f32`): the fixed coefficients are what the fit gives (to a
    float32 ulp), and the polynomial's relative error on |r| <= ln2/2 is far below an ulp.
    (All 2^32 inputs were checked against double exp once: <= 1.02 ulp; the C backend's
    tests check a sweep.)"""
    from cdsl import helpers
    fitted = np.array(helpers._exp_poly_f32(), np.float32)
    fixed = np.array(helpers.EXP_POLY_F32, np.float32)
    assert np.all(np.abs(fitted - fixed) <= 2 * np.spacing(np.abs(fixed)))
    r = np.linspace(-np.log(2) / 2, np.log(2) / 2, 100001)
    q = np.polynomial.polynomial.polyval(r, fixed.astype(np.float64))
    rel = np.abs((1 + r + r * r * q) / np.exp(r) - 1)
    assert rel.max() < 1e-8


def test_tanh_polynomial_is_refitted_and_accurate():
    """cdsl's float32 tanh (`utanh_f32`): the fixed coefficients are what the fit gives (to
    a float32 ulp), and x + x^3 q(x^2) is far below an ulp on |x| < TANH_SMALL. (All 2^32
    inputs were checked against double tanh once: <= 0.993 ulp with FMA; the C backend's
    tests check a sweep and the special values.)"""
    from cdsl import helpers
    fitted = np.array(helpers._tanh_poly_f32(), np.float32)
    fixed = np.array(helpers.TANH_POLY_F32, np.float32)
    assert np.all(np.abs(fitted - fixed) <= 2 * np.spacing(np.abs(fixed)))
    x = np.linspace(1e-4, helpers.TANH_SMALL, 100001)
    q = np.polynomial.polynomial.polyval(x * x, fixed.astype(np.float64))
    rel = np.abs((x + x ** 3 * q) / np.tanh(x) - 1)
    assert rel.max() < 1e-8


def _avx512() -> bool:
    return cc.has_avx512_guard_features()


def test_vector_helpers_give_the_scalar_helpers_bits():
    """exp's and tanh's AVX-512 variants (cdsl.vector_helpers), which vectorised loops call,
    give the scalar helpers' bits (any NaN for a NaN) on a sweep: every binade of both
    signs at 64 points each, the edges where exp overflows, turns subnormal and rounds to 0,
    tanh's switch between its two formulas and where it rounds to 1, zeros, infinities and
    NaNs; through loops of 16 lanes (an odd count leaves a tail of 8), 8 and 4 lanes and a
    scalar loop.
    On a CPU without AVX-512 the names are the helpers themselves and the loops compare a
    helper with itself; there the test checks that the vector variants are not compiled.
    (scripts/check_float32_helpers.py compares all 2^32 inputs.)"""
    from cdsl import helpers, vector_helpers
    bits = np.arange(0, 1 << 32, 1 << 17, dtype=np.uint64).astype(np.uint32)
    sweep = np.concatenate([bits.view(np.float32), np.float32([
        88.72283, 88.72284, 88.8, 89.0, -87.33654, -87.33655, -103.97208, -103.97209, -104.0,
        -149.0, -150.0, -151.0, 0.9, np.nextafter(np.float32(0.9), 0), 9.0, 9.5, 10.0,
        0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan])]).astype(np.float32)
    sweep = np.concatenate([sweep, -sweep, np.linspace(-20, 20, 40001, dtype=np.float32)])
    sweep = np.ascontiguousarray(sweep[: sweep.size // 16 * 16 + 8])   # an 8-lane tail
    lines = ["#include <math.h>", "#include <stdint.h>", "#include <stddef.h>"]
    for helper, make in (("uexp_f32", helpers._uexp), ("utanh_f32", helpers._utanh)):
        lines.append(C.render(make(helper, C.f32), C.C99).split("\n", 3)[3])
        lines.extend(vector_helpers.companion(helper))
    for helper, name in vector_helpers.CALL_NAMES.items():
        for k, pragma in (("vec", "omp simd"), ("vec8", "omp simd simdlen(8)"),
                          ("vec4", "omp simd simdlen(4)")):
            lines += [f"void {name}_{k}(const float *restrict a, float *restrict o, int64_t n) {{",
                      f"#pragma {pragma}",
                      f"    for (int64_t i = 0; i < n; ++i) o[i] = {name}(a[i]);", "}"]
        lines += [f"__attribute__((optimize(\"no-tree-vectorize\"))) void {name}_one("
                  "const float *restrict a, float *restrict o, int64_t n) {",
                  f"    for (int64_t i = 0; i < n; ++i) o[i] = {helper}(a[i]);", "}"]
    src = "\n".join(lines) + "\n"
    kinds = ("vec", "vec8", "vec4", "one")
    cdef = "\n".join(f"void {n}_{k}(const float *a, float *o, int64_t n);"
                     for n in vector_helpers.CALL_NAMES.values() for k in kinds)
    lib = C.load(src, cdef)
    for name in vector_helpers.CALL_NAMES.values():
        want = np.empty_like(sweep)
        lib.caller(f"{name}_one")(sweep, want, sweep.size)
        assert not np.isnan(want[~np.isnan(sweep)]).any()
        for k in kinds[:3]:
            got = np.empty_like(sweep)
            lib.caller(f"{name}_{k}")(sweep, got, sweep.size)
            same = (want.view(np.uint32) == got.view(np.uint32)) | \
                (np.isnan(want) & np.isnan(got))
            assert same.all(), (name, k, sweep[~same][:5], want[~same][:5], got[~same][:5])
    with open(lib.path, "rb") as f:
        binary = f.read()
    assert all((f"_ZGVeN{lanes}v_{name}".encode() in binary) == _avx512()
               for lanes in (16, 8, 4) for name in vector_helpers.CALL_NAMES.values())


def test_log_polynomial_is_refitted_and_accurate():
    """cdsl's float32 log (`ulog_f32`): the fixed coefficients are what the fit gives (to a
    float32 ulp), and log1p(f) = f + f^2 q(f) is far below an ulp on the reduced range.
    (All 2^32 inputs were checked against double log once: <= 1.00 ulp; the C backend's
    tests check a sweep and the special values.)"""
    from cdsl import helpers
    fitted = np.array(helpers._log_poly_f32(), np.float32)
    fixed = np.array(helpers.LOG_POLY_F32, np.float32)
    assert np.all(np.abs(fitted - fixed) <= 2 * np.spacing(np.abs(fixed)))
    f = np.linspace(np.sqrt(0.5) - 1, np.sqrt(2.0) - 1, 100001)
    f = f[f != 0]
    q = np.polynomial.polynomial.polyval(f, fixed.astype(np.float64))
    rel = np.abs((f + f * f * q) / np.log1p(f) - 1)
    assert rel.max() < 1e-8


def test_rewrite_applies_children_first_and_keeps_untouched_nodes():
    import cdsl
    x, y = cdsl.Var("x", cdsl.f32), cdsl.Var("y", cdsl.f32)
    e = (x + 1.0) * y
    seen = []

    def fn(n):
        seen.append(type(n).__name__)
        return y if n is x else n
    out = cdsl.ast.rewrite(e, fn)
    assert seen[-1] == "BinOp" and seen.index("Var") < seen.index("BinOp")
    assert out is not e and out.a.a is y and out.b is y
    assert cdsl.ast.rewrite(e, lambda n: n) is e


# --- compiler bugs we work around ----------------------------------------------------------

# The tail of lax.cummax's associative scan over rows of 25 as the C backend generated it
# (fuzz run 82): gcc 12.2 -O3 -march=znver3 unrolled the last loop, whose gathers' index
# vectors became constants, and gave one of them a mask register holding an index instead
# of all ones: out[0, 2] came back as max(x0, x1) instead of max(x0, x1, x2).
_CUMMAX_TAIL = """#include <stdint.h>
static inline int64_t clamp_i64(int64_t x, int64_t lo, int64_t hi) {
    return (x < lo) ? lo : ((x > hi) ? hi : x);
}

static inline int32_t max_i32(int32_t a, int32_t b) {
    return (a > b) ? a : b;
}

void cummax_tail(int32_t* restrict in_0, int32_t* restrict reshape_4,
                 int32_t* restrict reshape_5, int32_t* restrict slice_6,
                 int32_t* restrict concatenate_7) {
    /* reshape -> i32[2,12] in reshape_5, fusing concatenate, expand_dims, max, slice */
    for (int64_t i0 = 0; i0 < 2; ++i0) {
        for (int64_t i1 = 0; i1 < 1; ++i1) {
            #pragma omp simd
            for (int64_t i2 = 0; i2 < 1; ++i2) {
                int32_t vt1 = in_0[(i0 * 25) + (i1 * 2)];
                int32_t vt2 = in_0[(i0 * 25) + ((i1 * 2) + 1)];
                int32_t vt3 = max_i32(vt1, vt2);
                reshape_5[((i0 * 12) + (i1 * 2)) + i2] = vt3;
            }
            #pragma omp simd
            for (int64_t i2 = 1; i2 < 2; ++i2) {
                int32_t vt1 = reshape_4[(i0 * 6) + i1];
                reshape_5[((i0 * 12) + (i1 * 2)) + i2] = vt1;
            }
        }
        for (int64_t i1 = 1; i1 < 6; ++i1) {
            #pragma omp simd
            for (int64_t i2 = 0; i2 < 1; ++i2) {
                int32_t vt1 = reshape_4[(i0 * 6) + (i1 - 1)];
                int32_t vt2 = in_0[(i0 * 25) + ((((i1 - 1) * 2) + 2) * 2)];
                int32_t vt3 = in_0[(i0 * 25) + (((((i1 - 1) * 2) + 2) * 2) + 1)];
                int32_t vt4 = max_i32(vt2, vt3);
                int32_t vt5 = max_i32(vt1, vt4);
                reshape_5[((i0 * 12) + (i1 * 2)) + i2] = vt5;
            }
            #pragma omp simd
            for (int64_t i2 = 1; i2 < 2; ++i2) {
                int32_t vt1 = reshape_4[(i0 * 6) + i1];
                reshape_5[((i0 * 12) + (i1 * 2)) + i2] = vt1;
            }
        }
    }
    /* slice -> i32[2,1] in slice_6, fusing concatenate, max */
    #pragma omp simd
    for (int64_t i0 = 0; i0 < 2; ++i0) {
        int32_t vt1 = reshape_5[(i0 * 12) + 11];
        int32_t vt2 = in_0[(i0 * 25) + 24];
        int32_t vt3 = max_i32(vt1, vt2);
        slice_6[i0] = vt3;
    }
    /* concatenate -> i32[2,25] in concatenate_7, fusing reshape, expand_dims, slice, max */
    for (int64_t i0 = 0; i0 < 2; ++i0) {
        #pragma omp simd
        for (int64_t i1 = 0; i1 < 24; ++i1) {
            int32_t vt1 = reshape_5[(i0 * 12) + (i1 / 2)];
            int32_t vt2 = reshape_5[(i0 * 12) + clamp_i64((i1 / 2) - 1, 0, 11)];
            int32_t vt3 = in_0[(i0 * 25) + ((clamp_i64((i1 / 2) - 1, 0, 11) * 2) + 2)];
            int32_t vt4 = max_i32(vt2, vt3);
            int32_t vt5 = in_0[(i0 * 25) + clamp_i64(i1 / 2, 0, 0)];
            int32_t vt6 = ((i1 / 2) < 1) ? vt5 : vt4;
            int32_t vt7 = ((i1 % 2) < 1) ? vt6 : vt1;
            concatenate_7[(i0 * 25) + i1] = vt7;
        }
        #pragma omp simd
        for (int64_t i1 = 24; i1 < 25; ++i1) {
            int32_t vt1 = slice_6[i0 + (i1 - 24)];
            concatenate_7[(i0 * 25) + i1] = vt1;
        }
    }
}
"""
_CUMMAX_TAIL_DEF = ("void cummax_tail(int32_t* in_0, int32_t* reshape_4, int32_t* reshape_5, "
                    "int32_t* slice_6, int32_t* concatenate_7);")


def test_gcc_gathers_with_a_constant_index_are_not_miscompiled():
    x = np.array([[304, 313, 406, -271, 382, 33, 562, 549, 182, 574, -897, 655, 922, -421, 160,
                   -524, 105, 277, 816, 54, 255, 129, 840, -571, -627],
                  [-363, -231, 504, -813, -284, -820, 514, -257, -907, 407, 901, -304, -584,
                   301, -44, -998, 841, -734, -494, -266, -546, 171, 971, 457, 808]], np.int32)
    want = np.maximum.accumulate(x, axis=1)
    pairs = np.maximum(x[:, 0:24:2], x[:, 1:24:2])
    reshape_4 = np.ascontiguousarray(np.maximum.accumulate(pairs, axis=1)[:, 1::2])
    lib = C.load(_CUMMAX_TAIL, _CUMMAX_TAIL_DEF)
    r5, s6, out = np.zeros((2, 12), np.int32), np.zeros(2, np.int32), np.zeros_like(x)
    lib.cummax_tail(*(lib.ptr(a) for a in (x, reshape_4, r5, s6, out)))
    np.testing.assert_array_equal(out, want)


def test_workaround_flags_are_accepted_and_keyed():
    flags = cc.workaround_flags()
    assert flags in cc.WORKAROUND_SETS
    if flags:                                   # the compiler builds with them
        lib = C.load(_ADD_SRC, _ADD_DEF)
        x = np.zeros(3, np.float32)
        lib.add1(lib.ptr(x), 3)
        assert x.tolist() == [1.0] * 3
    clang = shutil.which("clang") or shutil.which("clang-15")
    if clang:                                   # clang takes no GCC tuning knobs
        assert cc.workaround_flags([clang]) == ()
    # modules built before the workaround (a different key) are not reused
    assert cc.module_key("int f;", identity="x") != _key_without_workarounds("int f;", "x")


def test_workaround_probe_takes_the_first_spelling_accepted(monkeypatch):
    """The spellings are asked concurrently; the answer is still the first one the compiler
    accepts in GATHER_OFF's order, and none accepted leaves only GCC_ALWAYS."""
    cmd = cc.compiler_command()
    ident = cc.compiler_state()[0]
    if ident is None or "free software foundation" not in ident.lower() or \
            platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the probe runs for GCC on x86-64 only")
    bad, ok1, ok2 = ("-fno-such-flag-at-all",), ("-O1",), ("-O2",)
    monkeypatch.setattr(cc, "GATHER_OFF", (bad, ok1, ok2))
    assert cc._find_workaround_flags(cmd, ident) == ok1 + cc.GCC_ALWAYS
    monkeypatch.setattr(cc, "GATHER_OFF", (ok2, bad))
    assert cc._find_workaround_flags(cmd, ident) == ok2 + cc.GCC_ALWAYS
    monkeypatch.setattr(cc, "GATHER_OFF", (bad, bad + ("-fno-other-flag",)))
    assert cc._find_workaround_flags(cmd, ident) == cc.GCC_ALWAYS


def test_workaround_flags_are_kept_in_the_compiler_record(monkeypatch):
    """Found once per cache (two compiler runs, ~20 ms of a cold first call), then read from
    the record; a record naming other flags (tampered: `-fplugin=...` would run code) is not
    trusted, the compiler is asked again."""
    cmd = cc.compiler_command()
    if cc._fingerprint(cmd) is None:
        pytest.skip("no C compiler")
    cc.compiler_id()

    def forget():
        for k in [k for k in cc._id_cache if isinstance(k, tuple) and k[0] == "workaround"]:
            del cc._id_cache[k]
    forget()
    flags = cc.workaround_flags()
    forget()

    def no_compiler(*a, **k):
        raise AssertionError(f"compiler run although recorded: {a}")
    with monkeypatch.context() as m:
        m.setattr(cc.subprocess, "run", no_compiler)
        assert cc.workaround_flags() == flags
    d = cc.cache_subdir("c")[0]
    key = cc._fingerprint(cmd)[1]
    rec = cc._read_record(d)
    rec[key]["workaround"] = ["-fplugin=/nonexistent/evil.so"]
    cc.write_atomic(os.path.join(d, "compilers.json"), json.dumps(rec).encode())
    forget()
    assert cc.workaround_flags() == flags
    forget()


def _key_without_workarounds(source, identity):
    import hashlib
    h = hashlib.sha256()
    for part in (cc.FORMAT_VERSION, source, " ".join(cc.BASE_FLAGS + cc.LIBS), "blas=False",
                 identity, cc.cpu_features()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def _broken_on_the_other_branch(name: str) -> tuple[str, str]:
    """(source, cdef) of a new module defining `int name(int x)` (x + 1) that compiles for
    this CPU but has an #error on the other branch of the conditions on AVX-512."""
    import uuid
    from cdsl import compile as cc
    other = cc.other_branch_flags()
    if not other:
        pytest.skip("the check is GCC's on x86-64")
    # the #error sits on the branch this CPU does not take
    cond = "#ifndef __AVX512F__" if other[0].startswith("-U") else "#ifdef __AVX512F__"
    src = (f"/* {uuid.uuid4().hex} */\n{cond}\n#error only on the other branch\n#endif\n"
           f"int {name}(int x) {{ return x + 1; }}\n")
    return src, f"int {name}(int x);"


def test_check_other_branch_rejects_a_source_broken_only_there(monkeypatch):
    """With `CHECK_OTHER_BRANCH` (on in the fuzzer) a module that compiles for this CPU but
    not on the other branch of its conditions on AVX-512 is a CompileError naming that
    branch; without it the module loads."""
    from cdsl import compile as cc
    src, cdef = _broken_on_the_other_branch("fg_other_branch_probe")
    monkeypatch.setattr(cc, "CHECK_OTHER_BRANCH", True)
    with pytest.raises(cc.CompileError, match="other branch") as e:
        cc.load(src, cdef)
    assert "only on the other branch" in str(e.value)
    monkeypatch.setattr(cc, "CHECK_OTHER_BRANCH", False)
    assert cc.load(src, cdef).lib.fg_other_branch_probe(2) == 3


def test_check_other_branch_runs_on_a_module_cached_without_it(monkeypatch):
    """A module built (and cached) without `CHECK_OTHER_BRANCH` is still checked when a
    later build asks for the check (the fuzz tests share the suite's compile cache): the
    checked builds are keyed apart."""
    from cdsl import compile as cc
    src, cdef = _broken_on_the_other_branch("fg_other_branch_cached")
    assert cc.load(src, cdef).lib.fg_other_branch_cached(2) == 3      # cached unchecked
    monkeypatch.setattr(cc, "CHECK_OTHER_BRANCH", True)
    with pytest.raises(cc.CompileError, match="other branch"):
        cc.load(src, cdef)
