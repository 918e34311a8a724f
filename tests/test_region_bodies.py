"""Two things the C renderer does for gcc's vectoriser, checked in the text it renders
and in the values the programs compute.

- A parallel region's loop body becomes a function of its own, always inlined, that takes
  the region's pointers as restrict parameters (`Dialect.outline_regions`): gcc hands
  the region's variables to the thread function in a struct and drops `restrict`, which
  left a short row loop scalar (a softmax's division over rows of 10: 1.0 -> 0.3 ms).
  Bodies a call cannot replace stay in place.
- A masked map row stores into a row on the stack, copied out after the loop
  (`codegen._masked_loop(staged=True)`), where every store would be masked, in rows of
  at most 10, and where the row reads a value of its own: AMD's masked vector stores are
  slow (an exp over rows of 10: 1.53 -> 1.04 ms on Zen 3)."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest

import cdsl as C
import funcgrad as fg
import funcgrad.numpy as fnp
from cdsl import runtime
from funcgrad import nn

pytestmark = pytest.mark.cbackend

DIALECT = runtime.dialect(C.C99)


def _source(f, *args):
    fg.backends.get_backend("c")._families.clear()     # each shape's own program
    return fg.jit(f, backend="c").lower(*args).compile().as_text()


def test_a_parallel_region_body_is_a_function_with_restrict_pointers():
    x = np.random.default_rng(0).standard_normal((96000, 10)).astype(np.float32) * 3
    x[5, 3] = np.nan
    x[7] = -np.inf
    f = lambda x: nn.softmax(x, axis=-1)
    src = _source(f, x)
    assert "static inline __attribute__((always_inline)) void k__lambda__seg0__body0(" in src
    head = src[src.index("void k__lambda__seg0__body0("):].split("\n")[0]
    assert "float* restrict in_0" in head, head
    assert re.search(r"k__lambda__seg0__body0\([^)]*\bin_0\b", src)
    got = np.asarray(fg.jit(f, backend="c")(x))
    want = np.asarray(fg.jit(f, backend="reference")(x))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    assert np.isnan(got[5]).all() and np.isnan(got[7]).all()


def _region(body, reduction=None):
    i = C.Var("i", C.i64)
    y = C.Param("y", C.f32.ptr())
    loop = C.For(i, 0, 1 << 20, body(i, y), parallel=True, reduction=reduction)
    fn = C.Function("f", (y, C.Param("s", C.f32)), (
        C.Raw("double scratch[4];"), C.Decl(C.Var("acc", C.f32), C.Const(0, C.f32)), loop))
    return C.render(fn, DIALECT)


def test_region_bodies_that_a_call_cannot_replace_stay_in_place():
    s, acc = C.Param("s", C.f32), C.Var("acc", C.f32)
    scratch = C.Var("scratch", C.PtrType(C.f64, restrict=False, space=""))
    plain = _region(lambda i, y: [C.Assign(y[i], s), C.Store(scratch, C.Const(0, C.i64),
                                                           C.Const(1.0, C.f64))])
    assert "void f__body0(int64_t i, float s, double* scratch, float* restrict y)" in plain
    assert "f__body0(i, s, scratch, y);" in plain
    kept = {
        "assigns an outer variable": lambda i, y: [C.Assign(acc, y[i])],
        "leaves the loop": lambda i, y: [C.If(y[i].lt(C.Const(0, C.f32)), (C.Break(),))],
        "names an outer variable in raw text": lambda i, y: [C.Raw("__asm__(\"\" : \"+x\"(s));")],
    }
    for why, body in kept.items():
        assert "__body" not in _region(body), why
    summed = _region(lambda i, y: [C.AugAssign(acc, "+", y[i])], reduction=("+", acc))
    assert "__body" not in summed and "reduction(+:acc)" in summed


def test_a_scratch_array_declared_outside_the_region_reaches_its_body():
    # the chunked sum over a leading axis: each chunk's partial sums go to a stack array
    # declared (as raw C) before the parallel loop over the chunks
    x = np.random.default_rng(1).standard_normal((200000, 8)).astype(np.float32)
    src = _source(lambda x: x.sum(0), x)
    assert "rpart" in src and "__body" in src
    got = np.asarray(fg.jit(lambda x: x.sum(0), backend="c")(x))
    np.testing.assert_allclose(got, x.astype(np.float64).sum(0), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("n", [9, 10, 13, 15, 20, 23, 26, 31])
def test_masked_rows_store_through_a_stack_row(n):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((300, n)).astype(np.float32) * 4
    w = rng.standard_normal((n,)).astype(np.float32)
    x[3, 0], x[4, -1] = np.nan, np.inf
    f = lambda x, w: fnp.exp(x - 1.0) + fnp.tanh(x * w)
    src = _source(f, x, w)
    # staged where every store would be masked (an opaque limit: n % 8 == 7) and in rows
    # of at most 10; otherwise only the last vector's store is masked, and stays so
    staged = n % 8 == 7 or n <= 10
    assert ("_row0[" in src) == staged and ("if (i1 < i1_stop)" in src) != staged, src
    got = np.asarray(fg.jit(f, backend="c")(x, w))
    want = np.asarray(fg.jit(f, backend="reference")(x, w))
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=1e-6)
    assert np.isnan(got[3, 0]) and got[4, -1] == np.inf


@pytest.mark.parametrize("n", [13, 20, 26])
def test_a_masked_row_reading_a_value_of_its_row_is_staged(n, monkeypatch):
    # softmax's exp(x - max) and division by the sum read one value per row, kernel by
    # kernel (the lowering of rows that do not run in lanes: tests/test_row_lanes.py)
    from funcgrad.backends import c as cbackend
    monkeypatch.setattr(cbackend, "ROW_LANES", False)
    x = np.random.default_rng(n).standard_normal((3000, n)).astype(np.float32) * 3
    f = lambda x: nn.softmax(x, axis=-1)
    src = _source(f, x)
    assert "_row0[" in src and "if (i1 < i1_stop)" not in src, src
    got = np.asarray(fg.jit(f, backend="c")(x))
    want = np.asarray(fg.jit(f, backend="reference")(x))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)


def test_a_masked_row_that_starts_inside_its_row_is_copied_to_its_place():
    # concatenate's second piece fills columns 7-16: its masked loop starts at 7
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4096, 7)).astype(np.float32)
    b = rng.standard_normal((4096, 10)).astype(np.float32)
    f = lambda a, b: fnp.concatenate([fnp.exp(a), fnp.tanh(b) * 2], axis=1)
    src = _source(f, a, b)
    assert "i1_row0[i1 - 7] = " in src and "(i1_t + 7)" in src, src
    got = np.asarray(fg.jit(f, backend="c")(a, b))
    np.testing.assert_allclose(got, np.concatenate([np.exp(a), np.tanh(b) * 2], 1),
                               rtol=2e-6, atol=1e-6)


def test_staged_rows_of_a_leaf_function_are_aligned(tmp_path):
    """Fuzz run 74: a segmentation fault in c/jit. The vjp of this vmapped program (the
    fuzzer's, verbatim) writes transposes of (3, 3, 3) through stack rows of 9
    (`_masked_loop`), in a function that calls nothing; gcc 12 read a stack row with an
    aligned vector load (`vmovdqa`) from an address 8 bytes off 16. Stack arrays are
    declared aligned to 32 bytes now. Run in a child process: the old code crashed it."""
    script = tmp_path / "prog.py"
    script.write_text(_LEAF_PROGRAM + _LEAF_RUN)
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0 and "values ok" in r.stdout, (r.returncode, r.stderr[-2000:])
    assert "__attribute__((aligned(32)));" in r.stdout


_LEAF_PROGRAM = """import numpy as np
import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax

def prog_0(x0, x4, x11, x21):
    v1 = -x0
    v2 = x0 - x0
    v3 = fnp.maximum(v1, 0.5)
    v5 = fnp.dot(x0, x4)
    v6 = fnp.sort(x4, axis=0)
    v7 = fnp.signbit(v2)
    def body14(c9, x8):
        v10 = fnp.max(v3, axis=(0, -1), keepdims=False)
        v12 = 100.0 * x11
        v13 = fnp.broadcast_to(v12, c9.shape)
        return (v13, v13,)
    v15, v16 = lax.scan(body14, x0, v6)
    v17 = fg.nn.softplus(x11)
    v18 = fnp.tan(x4)
    v19 = fnp.nan_to_num(v3, nan=-2.0)
    v20 = fnp.rint(x11)
    v22 = x21[2:1:-2, ...]
    return (v5, v15, v16, v17, v18, v19, v20, v22,)
def t_0(args, aux):
    x0, x4, x11, x21, = args
    fb = fg.vmap(lambda x0, x4, x11, x21: prog_0(x0, x4, x11, x21),
                 in_axes=(1, -1, 0, 1), out_axes=-1)
    def ff(x0, x4, x11, x21):
        o = fb(x0, x4, x11, x21)
        return (o[0], o[1], o[2], o[3], o[4], o[5], o[6], o[7],)
    o, fv = fg.vjp(ff, x0, x4, x11, x21)
    return o, fv(tuple(fnp.where(aux['m'][k], aux['w'][k], 0.0) for k in range(8)))
"""
_LEAF_RUN = """
rng = np.random.default_rng(0)
args = [rng.standard_normal(s).astype(np.float32)
        for s in ((3, 3, 3), (3, 3, 3), (3,), (3, 3, 1))]
shapes = [(3, 3, 3), (3, 3, 3), (3, 3, 3, 3), (3,), (3, 3, 3), (3, 3, 3), (3,), (1, 1, 3)]
aux = {"m": [np.ones(s, bool) for s in shapes],
       "w": [rng.standard_normal(s).astype(np.float32) for s in shapes]}
got = fg.jit(t_0, backend="c")(args, aux)
want = fg.jit(t_0, backend="reference")(args, aux)
for a, b in zip(fg.tree_util.tree_leaves(got), fg.tree_util.tree_leaves(want)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=2e-5, atol=1e-5)
print("values ok")
print(fg.jit(t_0, backend="c").lower(args, aux).compile().as_text())
"""
