"""cdsl's runtime library: the GEMM kernels compiled once (into the prebuilt eager module at
install time, else into the compile cache) and called by jit-compiled modules, which then
compile only their own code."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import cdsl
import funcgrad as fg
from cdsl import runtime
from cdsl import ast as A
from cdsl import compile as C

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_symbols_name_the_version():
    p = runtime.prefix()
    assert p.startswith("fgrt") and p.endswith("_")
    assert set(runtime.symbols()) == set(runtime.HELPERS)
    assert all(s == p + n for n, s in runtime.symbols().items())
    assert runtime.source().count(p) >= len(runtime.HELPERS)
    # the digest covers the kernels' source: other bodies get other symbols
    import hashlib
    assert p[4:-1] == hashlib.sha256(runtime._render("").encode()).hexdigest()[:10]


def test_a_module_declares_external_helpers_instead_of_defining_them():
    fp = A.PtrType(A.f32)
    i64 = A.i64
    n = A.Const(64, i64)
    call = A.Call("sgemmdk_f32", (n, n, n, A.Var("a", fp), n, A.Const(1, i64), A.Var("b", fp),
                                  n, A.Var("c", fp), n, n), A.void)
    fn = A.Function("k", (A.Param("a", fp), A.Param("b", fp), A.Param("c", fp)),
                    (A.ExprStmt(call),))
    inline = cdsl.render(A.Module((fn,)), cdsl.C99)
    assert "typedef float fgv16" in inline             # the kernel's body, inlined
    ext = cdsl.render(A.Module((fn,), external_helpers=runtime.symbols()), cdsl.C99)
    sym = runtime.symbols()["sgemmdk_f32"]
    assert "typedef float fgv16" not in ext            # only its declaration
    assert f"extern void {sym}(" in ext
    assert f"{sym}(64, 64, 64, a, 64, 1, b, 64, c, 64, 64);" in ext


def test_jitted_gemm_modules_call_the_runtime_and_stay_correct():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((128, 784)).astype(np.float32)
    w = rng.standard_normal((784, 512)).astype(np.float32)
    f = fg.jit(lambda a, b: fg.nn.relu(a @ b))
    got = np.asarray(f(x, w))
    np.testing.assert_allclose(got, np.maximum(x @ w, 0), rtol=2e-4, atol=2e-3)
    assert runtime.origin() in ("prebuilt", "cache")
    lib = runtime.library()
    for sym in runtime.symbols().values():
        assert getattr(lib.lib, sym) is not None


def test_installed_build_carries_the_runtime():
    """`pip install` compiles the runtime into the eager-kernel module: a first run compiles
    only its program. (Skipped where the eager kernels are not built.)"""
    from funcgrad.lowering import eager
    mod = eager.library()
    if mod is None:
        pytest.skip("the prebuilt eager kernels are not built here")
    if not eager.status()["current"]:
        pytest.skip("the prebuilt eager kernels are older than the source (reinstall)")
    x = np.ones((32, 64), np.float32)
    fg.jit(lambda a: a @ a.T)(x)          # any compiled module: loads the runtime
    runtime.ensure_loaded()
    assert runtime.origin() == "prebuilt"


def test_without_a_prebuilt_library_it_is_compiled_into_the_cache(tmp_path):
    code = (
        "import numpy as np, funcgrad as fg, cdsl\n"
        "x = np.arange(64 * 256, dtype=np.float32).reshape(64, 256) / 1000\n"
        "w = np.ones((256, 512), np.float32)\n"
        "np.testing.assert_allclose(np.asarray(fg.jit(lambda a, b: a @ b)(x, w)), x @ w,\n"
        "                           rtol=1e-5)\n"
        "print(cdsl.runtime.origin())\n")
    env = dict(os.environ, FUNCGRAD_EAGER_KERNELS="off", FUNCGRAD_CACHE_DIR=str(tmp_path),
               PYTHONPATH=ROOT)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "cache"
    # the library is an ordinary verified cache entry, with its own source
    sources = [p.read_text() for p in (tmp_path / "c").glob("m_*.c")]
    sym = runtime.symbols()['sgemmdk_f32']
    defining = [s for s in sources if f"void {sym}(" in s and f"extern void {sym}(" not in s]
    assert len(defining) == 1


def test_a_stale_prebuilt_library_is_passed_over(monkeypatch, tmp_path):
    """A prebuilt file without this version's symbols (an old install) is not used."""
    stale = C.compile_module(A.Function("fgrt_old_kernel", (), (A.Return(A.Const(1, A.i32)),),
                                        ret_type=A.i32))
    monkeypatch.setattr(runtime, "_prebuilt", [lambda: None, lambda: stale.path])
    monkeypatch.setattr(runtime, "_state", {"prefix": runtime.prefix()})
    runtime.ensure_loaded()
    assert runtime.origin() == "cache"


def test_a_module_naming_another_versions_symbols_fails_to_load_cleanly():
    """Code calling runtime symbols that no loaded library defines is refused at load
    (RTLD_NOW), with the compiler's source kept: never a crash at the call."""
    fn = A.Function("uses_missing", (), (A.Raw("fgrt0000000000_missing();"),),
                    ret_type=A.void)
    src = ("void fgrt0000000000_missing(void);\n" + cdsl.render(A.Module((fn,)), cdsl.C99))
    with pytest.raises(C.CompileError, match="does not load"):
        C.load(src, "void uses_missing(void);")
