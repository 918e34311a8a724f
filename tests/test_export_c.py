"""funcgrad.export.to_c: the example model families export to one C99 file, compile with
`cc -O2 -std=c99 -Wall -Werror` linking only libm, run from the generated plain C program
(raw input files in, raw output files out) and equal `jit`; the GEMM's edge cases; weights
in a blob file; clear errors for what the C export cannot do."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from test_export_onnx import MODELS, make_model

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax
from funcgrad.export import CExport, ExportError, to_c

CC = shutil.which("cc")
pytestmark = pytest.mark.skipif(CC is None, reason="needs a C compiler (cc)")
CFLAGS = ["-O2", "-std=c99", "-Wall", "-Werror"]


def _build(tmp_path, f, *args, name="model", weights="embed", flags=()) -> tuple[str, CExport]:
    out = to_c(f, *args, directory=tmp_path, name=name, weights=weights, main=True)
    exe = os.path.join(str(tmp_path), name)
    proc = subprocess.run([CC, *CFLAGS, *flags, out.source, out.main, "-o", exe, "-lm"],
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return exe, out


def _run(exe, out: CExport, *args, extra=()):
    d = os.path.dirname(exe)
    ins = []
    for k, (a, port) in enumerate(zip(args, out.inputs)):
        p = os.path.join(d, f"in{k}.bin")
        np.ascontiguousarray(a, dtype=port.aval.dtype).tofile(p)
        ins.append(p)
    outs = [os.path.join(d, f"out{k}.bin") for k in range(len(out.outputs))]
    proc = subprocess.run([exe, *extra, *ins, *outs], capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    res = []
    for path, port in zip(outs, out.outputs):
        shape = tuple(int(d) for d in port.aval.shape)
        res.append(np.fromfile(path, dtype=port.aval.dtype).reshape(shape))
    return res


def _jit(f, *args):
    return [np.asarray(o) for o in fg.tree_util.tree_leaves(fg.jit(f)(*args))]


def _assert_same(got, want, rtol=1e-4, atol=2e-5):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (g.shape, g.dtype, w.shape, w.dtype)
        np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


@pytest.mark.parametrize("name", MODELS)
def test_models_compile_and_match_jit(tmp_path, name):
    f, make = make_model(name)
    x = make(5, 0)
    exe, out = _build(tmp_path, f, x, name=name)
    _assert_same(_run(exe, out, x), _jit(f, x))
    src = Path(out.source).read_text()
    for dependency in ("#pragma omp", "cblas.h", "scipy_cblas", "omp_", "omp.h"):
        assert dependency not in src
    header = Path(out.header).read_text()
    dims = ",".join(str(d) for d in x.shape)
    assert re.search(rf"input  in0: \w+\[{dims}\]", header)
    assert f"int {name}(const " in header


def test_only_libc_and_libm_symbols(tmp_path):
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("needs nm")
    f, make = make_model("cnn")
    out = to_c(f, make(2, 0), directory=tmp_path, name="cnn")
    obj = os.path.join(str(tmp_path), "cnn.o")
    subprocess.run([CC, *CFLAGS, "-c", out.source, "-o", obj], check=True, timeout=300)
    undefined = subprocess.run([nm, "-u", obj], capture_output=True, text=True,
                               check=True).stdout.split()
    names = {u for u in undefined if u not in ("U", "w")}
    allowed = {"memcpy", "memcmp", "memset", "fopen", "fread", "fclose", "malloc", "free",
               "_GLOBAL_OFFSET_TABLE_", "__stack_chk_fail"}
    from cdsl.render import BINARY_MATH, UNARY_MATH
    libm = {fn + sfx for fn in UNARY_MATH + BINARY_MATH + ("fma",) for sfx in ("", "f")}
    assert names - allowed - libm == set(), names
    assert names & libm                 # it does call libm (expf, logf, ...)
    defined = subprocess.run([nm, "--defined-only", "-g", obj], capture_output=True,
                             text=True, check=True).stdout
    public = {line.split()[-1] for line in defined.splitlines()}
    assert public == {"cnn", "cnn_init", "cnn_release"}


def test_weights_in_a_blob_file(tmp_path):
    f, make = make_model("mlp")
    x = make(3, 0)
    exe, out = _build(tmp_path, f, x, name="mlp", weights="blob")
    nbytes = (64 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10) * 4
    assert os.path.getsize(out.weights) >= nbytes + 24
    assert "static const float" not in Path(out.source).read_text()     # weights not in it
    _assert_same(_run(exe, out, x, extra=("-w", out.weights)), _jit(f, x))
    # A blob that is not this model's is refused by mlp_init.
    bad = os.path.join(str(tmp_path), "bad.weights")
    data = bytearray(Path(out.weights).read_bytes())
    data[100] ^= 0x40
    Path(bad).write_bytes(bytes(data))
    proc = subprocess.run([exe, "-w", bad, "a", "b"], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 1 and "mlp_init failed (-2)" in proc.stderr
    proc = subprocess.run([exe, "a", "b"], capture_output=True, text=True, check=False)
    assert proc.returncode == 1 and "mlp_init failed (-1)" in proc.stderr


@pytest.mark.parametrize("m,k,n,ta,tb,dtype,flags", [
    (37, 300, 70, False, False, np.float32, ()),
    (37, 300, 70, True, True, np.float32, ("-DFUNCGRAD_EXPORT_PLAIN_C",)),
    (3, 40, 33, False, True, np.float32, ()),
    (1, 17, 5, True, False, np.float32, ()),
    (64, 257, 530, False, False, np.float32, ()),
    (21, 65, 19, True, False, np.float64, ()),
    (21, 65, 19, False, True, np.float64, ("-DFUNCGRAD_EXPORT_PLAIN_C",)),
])
def test_gemm_edges(tmp_path, request, m, k, n, ta, tb, dtype, flags):
    """Sizes that are not multiples of the tiles and blocks, transposes, float64, and the
    plain-C tile (what a compiler without GCC's vector extension gets)."""
    if dtype == np.float64:
        request.getfixturevalue("x64")
    rng = np.random.default_rng(m + k + n)
    a = rng.normal(size=(k, m) if ta else (m, k)).astype(dtype)
    b = rng.normal(size=(n, k) if tb else (k, n)).astype(dtype)

    def f(a, b):
        return (a.T if ta else a) @ (b.T if tb else b)
    exe, out = _build(tmp_path, f, a, b, name="mm", flags=flags)
    assert out.inputs[0].aval.dtype == dtype
    _assert_same(_run(exe, out, a, b), _jit(f, a, b), rtol=1e-4, atol=2e-4)


def test_inputs_outputs_of_every_kind(tmp_path, x64):
    """Several inputs (float32, int32, float64), outputs that are an input, a repeat, a
    constant, an int32 result."""
    w = np.random.default_rng(1).normal(size=(4, 3)).astype(np.float32)

    def f(x, idx, z):
        y = fnp.tanh(x @ w)
        return (y, x, y, fnp.full((2,), 3.5, np.float32),
                fnp.argmax(y, axis=1).astype(np.int32),     # (int64 under x64, as JAX)
                fnp.take(x, idx % 4, axis=1), z * 2.0 + 1.0)
    x = np.random.default_rng(2).normal(size=(5, 4)).astype(np.float32)
    idx = np.array([0, 3, 5, -2], np.int32)
    z = np.linspace(0, 1, 6).reshape(2, 3)
    exe, out = _build(tmp_path, f, x, idx, z, name="kinds")
    header = Path(out.header).read_text()
    assert "const int32_t* in1" in header and "const double* in2" in header
    assert "input  in1: i32[4]  (idx)" in header and "output out4: i32[5]  (result[4])" in header
    assert "int32_t* out4" in header
    _assert_same(_run(exe, out, x, idx, z), _jit(f, x, idx, z))


def test_grouped_and_strided_convolutions(tmp_path):
    rng = np.random.default_rng(3)
    w = rng.normal(size=(6, 2, 3, 2)).astype(np.float32)

    def f(x):
        return lax.conv_general_dilated(x, w, (2, 1), ((1, 2), (0, 1)), rhs_dilation=(1, 2),
                                        dimension_numbers=("NCHW", "OIHW", "NHWC"),
                                        feature_group_count=2)
    x = rng.normal(size=(2, 4, 9, 8)).astype(np.float32)
    exe, out = _build(tmp_path, f, x, name="gconv")
    _assert_same(_run(exe, out, x), _jit(f, x))


@pytest.mark.parametrize("wide", [False, True])
def test_convolution_tiles_are_plain_c99(tmp_path, wide, monkeypatch):
    """Full convolution tiles, written in GCC vector types with x86 FMA builtins for the C
    backend (and, wide, in a function with a target attribute), are exported as scalar
    fmaf() tiles: any C99 compiler builds the file, and it computes what the jitted
    function does. (Until 2026-12-02 the wide tiles' attribute reached the exported
    file on every AVX-512 machine.)"""
    from funcgrad.lowering import gemm
    monkeypatch.setattr(gemm, "CONV_WIDE_TILES", wide)
    rng = np.random.default_rng(4)
    w = rng.normal(size=(3, 3, 8, 64)).astype(np.float32)

    def f(x):
        return lax.conv_general_dilated(x, w, (1, 1), "SAME",
                                        dimension_numbers=("NHWC", "HWIO", "NHWC"))
    x = rng.normal(size=(2, 7, 7, 8)).astype(np.float32)
    exe, out = _build(tmp_path, f, x, name="tiles")
    src = Path(out.source).read_text()
    assert "fmaf(" in src and "__attribute__" not in src and "vector_size" not in src
    _assert_same(_run(exe, out, x), _jit(f, x))


def test_gemms_of_a_scan_are_plain_c99(tmp_path):
    """In a scan, a GEMM by a loop-constant weight runs on cdsl's packed-panel kernel for
    jit (GCC vector extensions, an `optimize` attribute, `#pragma GCC unroll`); the
    export calls its own plain sgemm instead. (Until 2026-12-06 the packed kernel reached
    the exported file on AVX2 and AVX-512 machines.)"""
    from funcgrad.lowering import gemm
    if gemm.packed_gemm_tile() is None:
        pytest.skip("no packed-panel kernel for this CPU's vectors")
    assert gemm.packed_gemm_fits(np.float32, 64, 384, 128)       # what jit would use
    rng = np.random.default_rng(5)
    w = (0.1 * rng.normal(size=(128, 384))).astype(np.float32)

    def f(xs, w):
        def step(h, x):
            g = h @ w
            h = fnp.tanh(x + g[:, :128] * g[:, 128:256] - g[:, 256:])
            return h, h
        return lax.scan(step, fnp.zeros((64, 128), fnp.float32), xs)
    xs = rng.normal(size=(6, 64, 128)).astype(np.float32)
    exe, out = _build(tmp_path, f, xs, w, name="rnn")
    src = Path(out.source).read_text()
    for gcc_only in ("sgemmpk", "sgemmdk", "#pragma GCC", "optimize("):
        assert gcc_only not in src, gcc_only
    _assert_same(_run(exe, out, xs, w), _jit(f, xs, w))


@pytest.mark.parametrize("shape", [(8, 256), (40, 12)])
def test_layer_norm_rows_export_without_unused_variables(tmp_path, shape):
    """A layer norm's row group: the row mean that the sum of squares reads, hoisted out of
    the loop for its last terms, was declared even where that loop is not emitted (a row
    of a multiple of four): `-Wall -Werror` refused the file (until 2026-12-06, rows of
    256 and more; rows of 12 in lanes). It builds and matches jit."""
    def ln(v):
        m = fnp.mean(v, -1, keepdims=True)
        return (v - m) / fnp.sqrt(fnp.mean((v - m) ** 2, -1, keepdims=True) + 1e-5)
    x = np.random.default_rng(6).normal(size=shape).astype(np.float32)
    exe, out = _build(tmp_path, ln, x, name="ln")
    _assert_same(_run(exe, out, x), _jit(ln, x))


def test_cumsum_exports(tmp_path):
    """cumsum has a C lowering (codegen.emit_cumsum_kernel): along the last axis, along
    another, reversed, and fused with its operand's producer."""
    x = np.random.default_rng(2).normal(size=(4, 6, 5)).astype(np.float32)

    def f(x):
        return (fnp.cumsum(fnp.exp(x), axis=2), fnp.cumsum(x, axis=1)[:, ::-1],
                lax.cumsum(x, axis=0, reverse=True))
    exe, out = _build(tmp_path, f, x, name="cums")
    _assert_same(_run(exe, out, x), _jit(f, x))


def test_errors(tmp_path):
    x = np.ones((3, 4), np.float32)
    with pytest.raises(ExportError, match="'sort' has no C lowering") as e:
        to_c(lambda x: fnp.sort(x, axis=1), x, directory=tmp_path, name="m")
    assert "f32[3,4]" in str(e.value)
    with pytest.raises(ExportError, match="'while' has no C lowering \\(a body"):
        to_c(lambda x: lax.while_loop(lambda c: c[0] < 3,
                                      lambda c: (c[0] + 1, fnp.sort(c[1] * 2, axis=1)),
                                      (0, x))[1], x, directory=tmp_path, name="m")
    with pytest.raises(ExportError, match="input in0.*bool"):
        to_c(lambda m: m.astype(np.float32), x > 0, directory=tmp_path, name="m")
    with pytest.raises(ExportError, match="output out0.*bool"):
        to_c(lambda x: x > 0, x, directory=tmp_path, name="m")
    with pytest.raises(ExportError, match="C identifier"):
        to_c(lambda x: x, x, directory=tmp_path, name="for")
    for clash in ("expf", "clamp_i64", "memcpy"):
        with pytest.raises(ExportError, match="also the name of a function"):
            to_c(lambda x: fnp.exp(x)[:, fnp.argmax(x[0])], x, directory=tmp_path, name=clash)
    with pytest.raises(ExportError, match="weights="):
        to_c(lambda x: x, x, directory=tmp_path, name="m", weights="zip")
    assert not os.path.exists(os.path.join(str(tmp_path), "m.c"))


def test_while_loop_and_switch_export_as_c_control_flow(tmp_path):
    """A while loop to a tolerance and a switch (index clamped like JAX) become C loops
    and branches in the exported code, with the results of jit."""
    def f(x, i):
        def cond(c):
            return (fnp.max(fnp.abs(c[1] * c[1] - x)) > 1e-5) & (c[0] < 40)

        def body(c):
            return c[0] + 1, 0.5 * (c[1] + x / c[1])
        n, r = lax.while_loop(cond, body, (0, x))
        s = lax.switch(i, [lambda v: v + 1.0, lambda v: fnp.tanh(v) @ v.T @ v, lambda v: v * 0],
                       r)
        return n, r, s

    x = np.linspace(1.0, 30.0, 12, dtype=np.float32).reshape(3, 4)
    for i in (-1, 1, 5):
        exe, out = _build(tmp_path, f, x, np.int32(i), name="solve")
        _assert_same(_run(exe, out, x, np.int32(i)), _jit(f, x, np.int32(i)))
    assert "while (" in Path(out.source).read_text()


def test_transposed_dot_operands(tmp_path):
    # the optimiser folds `W.T` into the dot (GEMM's transpose flags, 0fa03da); the
    # exported C must read the untransposed buffers the same way
    rng = np.random.default_rng(3)
    W = rng.standard_normal((5, 7)).astype(np.float32)
    V = rng.standard_normal((3, 7)).astype(np.float32)
    x = rng.standard_normal((4, 7)).astype(np.float32)

    def f(x):
        return fnp.tanh(x @ W.T) @ (V @ W.T).T + fnp.sum(x.T @ x)

    exe, out = _build(tmp_path, f, x, name="lin")
    _assert_same(_run(exe, out, x), _jit(f, x))
