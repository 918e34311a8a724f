"""Index widths in the generated code: every element offset, loop bound and flat index of
the C and OpenCL C the lowerings emit is computed in 64 bits, so arrays (and products of
dimensions) past 2^31 - 1 elements do not wrap. Checked on the rendered AST of programs
traced from abstract shapes (`ShapeDtypeStruct`): nothing of that size is allocated or
compiled (tests/test_index_widths.py checks the front end's index dtypes the same way).

The one wrap found (2026-12): BLAS's integer arguments are int32 (scipy-openblas32's
`blasint`), and a GEMM with M, N or K past INT32_MAX passed it there: OpenBLAS rejected the
call on stderr and left the output unwritten (x @ w with K = 2^31 + 77: 0 instead of 8).
Such GEMMs now run as a loop nest with int64 offsets (`gemm._loop_gemm`). The by-hand
checks on 2^31 + 77 elements are at the end, skipped unless FUNCGRAD_BIG_TESTS=1."""
from __future__ import annotations

import os
import re

import numpy as np
import pytest

import cdsl
from cdsl import ast as A
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax, nn
from funcgrad.lowering import gemm

S = fg.ShapeDtypeStruct
N = 2**31 + 77                       # elements, past INT32_MAX
INT32_MAX = 2**31 - 1
u8, f32, i32, i64 = np.uint8, np.float32, np.int32, np.int64
BIG = S((N,), u8)
ROWS = S((2**16, 2**15 + 3), u8)     # 2^31 + 196608 elements; each dimension small
ROWS_F = S((2**16, 2**15 + 3), f32)
CUBE = S((2**11, 2**10 + 1, 2**10), u8)
IMAGE = S((1, 2**16, 2**15 + 4, 1), f32)
FEW = S((3, N // 3 + 1), u8)         # few rows, each of 715827909 elements


# --- the check: C's types of the rendered expressions -------------------------------------

def _c_bits(e) -> int | None:
    """The width of the C type `e` renders with (after the integer promotions), None for a
    non-integer. An int64 literal in int range renders without a suffix: an `int`."""
    t = e.type
    if isinstance(e, A.Const):
        if not isinstance(t, A.CType) or t.is_float or t.is_complex:
            return None
        v = int(e.value)
        return 32 if t.name == "i64" and -(1 << 31) <= v < (1 << 31) else max(32, t.bits)
    if isinstance(e, (A.BinOp, A.Select)) and not isinstance(t, A.PtrType) and \
            getattr(e, "op", "+") not in A.COMPARISONS | A.LOGICAL:
        a, b = (e.a, e.b)
        if isinstance(e, A.BinOp) and e.op in ("<<", ">>"):
            return _c_bits(a)
        wa, wb = _c_bits(a), _c_bits(b)
        return None if wa is None or wb is None else max(wa, wb)
    if isinstance(t, A.CType) and not t.is_float and not t.is_complex and t.bits:
        return max(32, t.bits)
    return None


def _narrow_arithmetic(index, where, out):
    for n in A.walk(index):
        if isinstance(n, A.BinOp) and n.op in ("+", "-", "*", "<<") and \
                not isinstance(n.type, A.PtrType):
            bits = _c_bits(n)
            if bits is not None and bits < 64:
                out.append(f"{where}: {cdsl.render(n)} in {bits} bits")


def narrow_indices(functions) -> list[str]:
    """Each place in `functions` (cdsl Functions) where an element offset or a loop bound is
    computed in fewer than 64 bits, a loop variable is narrower than 64 bits (unless its
    bound is a literal that fits), or a size parameter is narrower than 64 bits."""
    out = []
    for f in functions:
        for p in f.params:
            if isinstance(p.type, A.CType) and not p.type.is_float and \
                    not p.type.is_complex and p.type.name != "bool" and p.type.bits < 64:
                out.append(f"{f.name}: parameter {p.name} is {p.type.name}")
        for n in A.walk(f.body):
            if isinstance(n, (A.Load, A.VecLoad, A.Store, A.VecStore)):
                _narrow_arithmetic(n.index, f.name, out)
            elif isinstance(n, A.For):
                if n.var.type.bits < 64 and not (isinstance(n.stop, A.Const) and
                                                 int(n.stop.value) <= INT32_MAX):
                    out.append(f"{f.name}: loop variable {n.var.name} is {n.var.type.name}")
                _narrow_arithmetic(n.start, f.name, out)
                _narrow_arithmetic(n.stop, f.name, out)
    return out


def test_the_check_finds_32_bit_offsets():
    """A deliberately narrow kernel fails the check: an int32 loop variable, an int32 value
    times a stride (`int * int` in C: the literal 4096 is an int), a size parameter."""
    x = A.Param("x", A.u8.ptr())
    n = A.Param("n", A.i32)
    i, j = A.Var("i", A.i32), A.Var("j", A.i64)
    row = A.Var("row", A.i32)
    body = (A.Decl(row, A.Load(x, j, A.u8).cast(A.i32)),
            A.Store(x, A.BinOp("*", row, A.Const(4096, A.i64), A.i64), A.Const(0, A.u8)))
    f = A.Function("k", (x, n), (A.For(i, 0, n, A.For(j, 0, A.Const(N, A.i64), body)),))
    found = narrow_indices([f])
    assert len(found) == 3, found
    assert any("row * 4096" in s for s in found)
    wide = A.Function("k", (x,), (A.For(j, 0, A.Const(N, A.i64), A.Store(
        x, A.BinOp("*", A.Cast(A.i64, A.Load(x, j, A.u8)), A.Const(4096, A.i64)),
        A.Const(0, A.u8))),))
    assert narrow_indices([wide]) == []


# --- the C lowering ---------------------------------------------------------------------

def _c_exe(f, *args):
    from funcgrad.backends.c import Executable
    return Executable(fg.make_jaxpr(f)(*args).jaxpr, compile=False)


def _pool(x, window=2, stride=2):
    return lax.reduce_window(x, -np.inf, lax.max, (1, window, window, 1),
                             (1, stride, stride, 1), "SAME")


def _conv(x, w, strides=(1, 1), **kw):
    return lax.conv_general_dilated(x, w, strides, "SAME",
                                    dimension_numbers=("NHWC", "HWIO", "NHWC"), **kw)


W3 = S((3, 3, 1, 8), f32)
PROGRAMS = {
    "map": (lambda x: x + 1, [BIG]),
    "broadcast": (lambda x, y: x * y[:, None], [ROWS, S((2**16,), u8)]),
    "transpose": (lambda x: fnp.transpose(x, (2, 0, 1)) * 2, [CUBE]),
    "strided_slice": (lambda x: x[1::2, ::3] + 1, [ROWS]),
    "rev": (lambda x: x[::-1] + 1, [BIG]),
    "pad": (lambda x: lax.pad(x, u8(0), ((1, 2, 1), (3, 4, 0))) + 1, [S((2**15, 2**16), u8)]),
    "concatenate": (lambda x, y: fnp.concatenate([x, y], 1) + 1, [ROWS, ROWS]),
    "reshape": (lambda x: x.reshape(-1) * 2, [CUBE]),
    "iota": (lambda x: x + fnp.arange(N, dtype=np.int64), [S((N,), i64)]),
    "dynamic_slice": (lambda x, i: lax.dynamic_slice(x, (i, 5), (2**15, 2**15)) + 1,
                      [ROWS, S((), i32)]),
    "dynamic_update_slice": (lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
                             [ROWS, S((5, 2**15 + 3), u8), S((), i32)]),
    "gather": (lambda x, i: fnp.take_along_axis(x, i, 1) + 1, [ROWS, S((2**16, 3), i32)]),
    "gather_flat": (lambda x, i: x[i] + 1, [BIG, S((7,), i64)]),
    "scatter": (lambda x: x.at[2**31 + 6].set(3), [BIG]),
    "scatter_rows": (lambda x, i, u: x.at[i].add(u),
                     [ROWS_F, S((4,), i32), S((4, 2**15 + 3), f32)]),
    "sum": (lambda x: x.sum(), [BIG]),
    "sum_leading": (lambda x: x.sum(0), [ROWS_F]),
    "sum_trailing": (lambda x: x.sum(1), [FEW]),
    "sum_interleaved": (lambda x: x.astype(f32).sum((0, 2)), [CUBE]),
    "max": (lambda x: x.max(1), [ROWS_F]),
    "prod": (lambda x: x.prod(0), [ROWS]),
    "argmax": (lambda x: fnp.argmax(x), [BIG]),
    "argmax_rows": (lambda x: fnp.argmax(x, 1), [FEW]),
    "softmax": (lambda x: nn.softmax(x, -1), [S((3, N // 3 + 1), f32)]),
    "max_pool": (_pool, [IMAGE]),
    "max_pool_grad": (lambda x: fg.grad(lambda x: _pool(x).sum())(x), [IMAGE]),
    "big_window_grad": (lambda x: fg.grad(lambda x: _pool(x, 9).sum())(x), [IMAGE]),
    "conv": (_conv, [IMAGE, W3]),
    "conv_filter_grad": (lambda x, w: fg.grad(lambda w: _conv(x, w, (2, 2)).sum())(w),
                         [IMAGE, W3]),
    "conv_input_grad": (lambda x, w: fg.grad(lambda x: _conv(x, w, (2, 2)).sum())(x),
                        [IMAGE, W3]),
    "scan": (lambda x: lax.scan(lambda c, r: (c + r, r * 2), fnp.zeros(2**15 + 3, u8), x),
             [ROWS]),
    "while": (lambda x: lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2),
                                       (0, x))[1], [BIG]),
    "dot_rows": (lambda x, w: x @ w, [S((N, 2), f32), S((2, 3), f32)]),
    "dot_contracted": (lambda x, w: x @ w, [S((2, N), f32), S((N, 3), f32)]),
    "dot_columns": (lambda x, w: x @ w, [S((3, 2), f32), S((2, N), f32)]),
}


@pytest.mark.parametrize("name", PROGRAMS)
def test_c_offsets_are_64_bit(name, x64):
    f, args = PROGRAMS[name]
    exe = _c_exe(f, *args)
    assert narrow_indices(exe.module.functions) == []


# (the others fix a size in the function: an arange, a slice size, an index)
SIZE_GENERIC = [n for n in PROGRAMS if n not in ("iota", "dynamic_slice", "dynamic_update_slice",
                                                 "scatter", "scan")]


@pytest.mark.parametrize("name", SIZE_GENERIC)
def test_c_offsets_are_64_bit_in_size_generic_code(name, x64):
    """The same programs as the second of a family, their sizes run-time values
    (`lowering.symbolic`): the reference program has other sizes."""
    from funcgrad.backends.c import Executable
    f, args = PROGRAMS[name]
    small = [S(tuple(d if d < 64 else 64 + d % 5 for d in a.shape), a.dtype) for a in args]
    ref = fg.make_jaxpr(f)(*small).jaxpr
    exe = Executable(fg.make_jaxpr(f)(*args).jaxpr, compile=False, reference=ref)
    assert exe.symbols.values
    assert narrow_indices(exe.module.functions) == []


def _blas_calls(source) -> list[str]:
    return [ln.strip() for ln in source.splitlines() if "scipy_cblas_" in ln and "(" in ln
            and not ln.lstrip().startswith(("void", "extern"))]


GEMMS_PAST_INT32 = {
    "M": (lambda x, w: x @ w, [S((N, 2), f32), S((2, 3), f32)]),
    "K": (lambda x, w: x @ w, [S((2, N), f32), S((N, 3), f32)]),
    "N": (lambda x, w: x @ w, [S((3, 2), f32), S((2, N), f32)]),
    "M_transposed": (lambda x, w: x.T @ w, [S((2, N), f32), S((2, 3), f32)]),
    "K_transposed": (lambda x, w: fnp.einsum("ki,kj->ij", x, w), [S((N, 2), f32),
                                                                   S((N, 3), f32)]),
    "batched": (lambda x, w: x @ w, [S((2, N, 2), np.float64), S((2, 2, 2), np.float64)]),
    "complex": (lambda x, w: x @ w, [S((2, 1), np.complex64), S((1, N), np.complex64)]),
    "bfloat16": (lambda x, w: x @ w, [S((1, N), fnp.bfloat16), S((N, 1), fnp.bfloat16)]),
}


@pytest.mark.parametrize("name", GEMMS_PAST_INT32)
def test_a_gemm_past_int32_does_not_call_blas(name, x64):
    """Its sizes do not fit BLAS's int32 arguments: a loop nest with int64 offsets."""
    f, args = GEMMS_PAST_INT32[name]
    exe = _c_exe(f, *args)
    assert _blas_calls(exe.source) == []
    assert "gacc" in exe.source
    assert max(int(v) for v in re.findall(r"(\d+)LL", exe.source)) > INT32_MAX
    assert narrow_indices(exe.module.functions) == []


def test_gemms_that_fit_int32_keep_blas():
    """Up to INT32_MAX in every dimension (and any product of them) BLAS is called as
    before."""
    cases = [(S((2**16, 2**15 + 3), f32), S((2**15 + 3, 8), f32)),      # 2^31+ elements
             (S((INT32_MAX, 2), f32), S((2, 2), f32)),
             (S((2, INT32_MAX), f32), S((INT32_MAX, 1), f32))]
    for x, w in cases:
        calls = _blas_calls(_c_exe(lambda x, w: x @ w, x, w).source)
        assert calls and all("sgemm" in c for c in calls), (x, w)
    assert gemm.blas_fits(INT32_MAX, 1, INT32_MAX) and not gemm.blas_fits(1, 2**31, 1)
    calls = _blas_calls(_c_exe(lambda x, w: x @ w, S((2**31, 2), f32), S((2, 2), f32)).source)
    assert calls == []


LOOP_GEMM_CASES = [
    ("nn", lambda x, w: x @ w, [(5, 9), (9, 4)], np.float32),
    ("tn", lambda x, w: x.T @ w, [(9, 5), (9, 4)], np.float32),
    ("nt", lambda x, w: x @ w.T, [(5, 9), (4, 9)], np.float32),
    ("tt", lambda x, w: x.T @ w.T, [(9, 5), (4, 9)], np.float32),
    ("batched", lambda x, w: x @ w, [(3, 5, 9), (3, 9, 4)], np.float64),
    ("complex", lambda x, w: x @ w, [(5, 9), (9, 4)], np.complex64),
    ("bfloat16", lambda x, w: x @ w, [(5, 9), (9, 4)], "bfloat16"),
    ("vector", lambda x, w: x @ w, [(9,), (9, 4)], np.float32),
]


@pytest.mark.cbackend
@pytest.mark.parametrize("case", LOOP_GEMM_CASES, ids=[c[0] for c in LOOP_GEMM_CASES])
def test_the_loop_gemm_computes_the_product(case, monkeypatch, x64):
    """`_loop_gemm` on small operands, with BLAS's limit lowered so that they take it:
    every layout of A and B, batched, complex, 16-bit (float32 products, rounded once)."""
    from funcgrad.backends.c import Executable
    _, f, shapes, dt = case
    dt = np.dtype(fnp.bfloat16 if dt == "bfloat16" else dt)
    monkeypatch.setattr(gemm, "BLAS_INT_MAX", 8)
    rng = np.random.default_rng(0)
    args = []
    for s in shapes:
        a = rng.standard_normal(s)
        if dt.kind == "c":
            a = a + 1j * rng.standard_normal(s)
        args.append(a.astype(dt))
    exe = Executable(fg.make_jaxpr(f)(*args).jaxpr)
    assert _blas_calls(exe.source) == [] and "gacc" in exe.source
    got, = exe.run(args)
    wide = np.complex128 if dt.kind == "c" else np.float64
    want = f(*[np.asarray(a, wide) for a in args])
    tol = 1e-2 if dt.itemsize == 2 else 1e-5
    np.testing.assert_allclose(np.asarray(got, wide), want, rtol=tol, atol=tol)


# --- the OpenCL lowering ----------------------------------------------------------------

def _opencl_exe(f, *args):
    """The OpenCL executable's kernels for `f`, planned and rendered, not built (the
    device only sizes them)."""
    opencl = pytest.importorskip("opencl")
    if not opencl.available():
        pytest.skip("no OpenCL platform")
    from funcgrad.backends import opencl as backend
    from funcgrad.lowering import opencl_kernels as ok

    class Planned(backend.Executable):
        def _build(self):
            functions = self._plan(ok.Namer(self.name))
            self.module = cdsl.Module(tuple(functions))
            self.source = ok.render(self.module, True)[0] if functions else ""

    return Planned(fg.make_jaxpr(f)(*args).jaxpr, opencl.resolve_device(None))


CL_PROGRAMS = ["map", "broadcast", "transpose", "pad", "gather", "dynamic_slice", "sum",
               "sum_leading", "sum_trailing", "sum_interleaved", "softmax", "max_pool_grad",
               "big_window_grad", "conv", "conv_filter_grad", "dot_rows", "dot_contracted",
               "dot_columns", "scan"]


@pytest.mark.opencl
@pytest.mark.parametrize("name", CL_PROGRAMS)
def test_opencl_offsets_are_64_bit(name, x64):
    f, args = PROGRAMS[name]
    exe = _opencl_exe(f, *args)
    assert narrow_indices(exe.module.functions) == []
    # work-item indices are read as long, never kept in an int
    ids = re.findall(r"(\(?\w*\)?)\s*get_(?:global|local|group)_id", exe.source)
    assert ids and set(ids) == {"(long)"}, set(ids)


# --- by hand: 2^31 + 77 elements (FUNCGRAD_BIG_TESTS=1) -----------------------------------

big = pytest.mark.skipif(os.environ.get("FUNCGRAD_BIG_TESTS") != "1",
                         reason="allocates arrays of 2^31 + 77 elements (FUNCGRAD_BIG_TESTS=1)")


def _run_big(f, x, w):
    """f(x, w) compiled for C and run on the NumPy arrays themselves (no copies: inputs made
    with np.zeros stay zero pages where they are only read)."""
    from funcgrad.backends.c import Executable
    prog = fg.make_jaxpr(f)(S(x.shape, x.dtype), S(w.shape, w.dtype)).jaxpr
    out, = Executable(prog).run([x, w])
    return out


@big
@pytest.mark.cbackend
def test_big_gemm_over_k():
    """x @ w with K = 2^31 + 77 (17 GB of address space, ~0.1 GB resident): 8, not 0."""
    x = np.zeros((1, N), f32)
    w = np.zeros((N, 1), f32)
    x[0, -3:], w[-3:, 0], x[0, 5], w[5, 0] = 1, 2, 4, 0.5
    assert _run_big(lambda x, w: x @ w, x, w).tolist() == [[8.0]]


@big
@pytest.mark.cbackend
def test_big_gemm_over_m():
    """x @ w with M = 2^31 + 77 (the output is 8.6 GB resident)."""
    x = np.zeros((N, 1), f32)
    x[-1], x[7] = 2, 3
    out = _run_big(lambda x, w: x @ w, x, np.array([[1.5]], f32))
    assert out[-1, 0] == 3 and out[7, 0] == 4.5 and out[0, 0] == 0
