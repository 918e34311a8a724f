"""The compile cache trusts only what it wrote, keeps working when it cannot write or has no
compiler, and stays bounded (cdsl.compile, opencl.programs' binary cache, funcgrad.cache,
the guarded `c` backend, the prebuilt eager kernels' run-time choice and fallbacks).

Each fault of issue 9 is reproduced here: planted (foreign-owned, symlinked, writable by
others, hard-linked) entries, an open directory with foreign content, a read-only warm
cache, `CC=/bin/false`, no compiler on PATH with a warm cache, a directory or file where an
entry (or the cache) should be, stale temp dirs and failed sources, eviction, the CLI, and
stale or missing prebuilt eager kernels. Tests that plant another user's file need root
(`chown`); the real read-only test needs either a non-root user or a private mount
namespace (`unshare -m`, as root) and is skipped otherwise (a simulated one always runs).
"""
from __future__ import annotations

import fcntl
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import textwrap
import time
import types
import warnings

import numpy as np
import pytest

import cdsl as C
from cdsl import compile as cc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOREIGN_UID = 12345
needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="planting another user's file needs root (chown)")
needs_cc = pytest.mark.skipif(shutil.which(os.environ.get("CC", "cc")) is None,
                              reason="needs a C compiler")

_ADD_SRC = "void add1(float* x, long n) { for (long i = 0; i < n; ++i) x[i] += 1.0f; }\n"
_ADD_DEF = "void add1(float* x, long n);"
_EVIL_SRC = _ADD_SRC.replace("1.0f", "100.0f")


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FUNCGRAD_CACHE_MAX_BYTES", raising=False)
    monkeypatch.setattr(cc, "_warned", set())
    monkeypatch.setattr(cc, "_scratch", [])
    cc._memo.clear()
    yield
    cc._memo.clear()


def _env(**extra) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.update(extra)
    return env


def _python(code: str, *args, env=None, check=True, prefix=()) -> subprocess.CompletedProcess:
    r = subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(code), *args],
                       cwd=ROOT, env=env or _env(), capture_output=True, text=True,
                       timeout=300, check=False)
    if check:
        assert r.returncode == 0, r.stderr
    return r


def _last_json(r: subprocess.CompletedProcess):
    return json.loads(r.stdout.strip().splitlines()[-1])


_LOAD_CHILD = """
    import json, sys, warnings, numpy as np, cdsl
    warnings.simplefilter("always")
    with warnings.catch_warnings(record=True) as w:
        out = {}
        try:
            lib = cdsl.load(sys.argv[1], sys.argv[2])
            x = np.zeros(4, np.float32)
            lib.add1(lib.ptr(x), 4)
            out.update(value=float(x[0]), from_cache=lib.from_cache, path=lib.path)
        except cdsl.CompileError as e:
            out.update(error=type(e).__name__, message=str(e))
    out["warnings"] = [f"{x.category.__name__}: {x.message}" for x in w]
    out.update(cdsl.compile.stats)
    print(json.dumps(out))
"""


def _load_child(src=_ADD_SRC, env=None, prefix=()):
    return _last_json(_python(_LOAD_CHILD, src, _ADD_DEF, env=env, prefix=prefix))


def _run_add(lib) -> float:
    x = np.zeros(3, np.float32)
    lib.add1(lib.ptr(x), 3)
    return float(x[0])


# --- untrusted entries are never loaded ------------------------------------------------------

def _planted_so(tmp_path) -> bytes:
    """A valid module whose add1 adds 100: what an attacker would plant."""
    d = tmp_path / "evil"
    d.mkdir(mode=0o700)
    so = cc._build(_EVIL_SRC, "e" * 40, (), False, str(d))
    return open(so, "rb").read()


def _sidecar(key: str, data: bytes) -> str:
    return json.dumps({"format": cc.FORMAT_VERSION, "key": key,
                       "sha256": cc._sha256(data), "size": len(data)})


@needs_cc
@pytest.mark.parametrize("how", ["foreign", "symlink", "writable", "hardlink"])
def test_planted_entry_is_not_loaded(tmp_path, how):
    if how == "foreign" and os.geteuid() != 0:
        pytest.skip("planting another user's file needs root (chown)")
    so = _load_child()["path"]                 # a real entry, built in a child process
    meta, key = so[:-3] + ".json", os.path.basename(so)[2:-3]
    evil = _planted_so(tmp_path)
    os.unlink(so)
    if how == "symlink":
        target = tmp_path / "evil.so"
        target.write_bytes(evil)
        os.symlink(target, so)
    elif how == "hardlink":
        target = tmp_path / "evil.so"
        target.write_bytes(evil)
        os.link(target, so)
    else:
        with open(so, "wb") as f:
            f.write(evil)
    with open(meta, "w") as f:
        f.write(_sidecar(key, evil))              # the sidecar vouches for the planted code
    if how == "foreign":
        os.chown(so, FOREIGN_UID, FOREIGN_UID)
        os.chown(meta, FOREIGN_UID, FOREIGN_UID)
    elif how == "writable":
        os.chmod(so, 0o777)
    with pytest.warns(C.CacheWarning, match="ignored"):
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0 and not lib.from_cache
    st = os.lstat(so)
    assert stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1
    assert not st.st_mode & 0o022
    if how in ("symlink", "hardlink"):
        assert (tmp_path / "evil.so").read_bytes() == evil      # the target is untouched


@needs_cc
def test_sidecar_of_another_key_is_refused(tmp_path):
    # Swapping two of our own entries (both intact) must not run one under the other's key.
    a = _load_child()["path"]
    b = _load_child(_EVIL_SRC)["path"]
    shutil.copyfile(b, a)
    shutil.copyfile(b[:-3] + ".json", a[:-3] + ".json")
    lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0 and not lib.from_cache


@needs_cc
@needs_root
def test_open_directory_with_foreign_content_is_emptied(tmp_path):
    so = _load_child()["path"]
    d = os.path.dirname(so)
    evil = _planted_so(tmp_path)
    planted = os.path.join(d, "m_planted.so")
    with open(planted, "wb") as f:
        f.write(evil)
    os.chown(planted, FOREIGN_UID, FOREIGN_UID)
    os.chmod(d, 0o777)
    with pytest.warns(C.CacheWarning, match="writable by others"):
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0 and not lib.from_cache
    assert stat.S_IMODE(os.lstat(d).st_mode) == 0o700
    assert not os.path.exists(planted)
    assert C.cache_info()["kinds"]["c"]["entries"] == 1


@needs_cc
@pytest.mark.parametrize("what", ["foreign_dir", "symlink", "file"])
def test_untrusted_cache_subdir_is_replaced(tmp_path, what):
    if what == "foreign_dir" and os.geteuid() != 0:
        pytest.skip("planting another user's directory needs root (chown)")
    root = tmp_path / "cache"
    root.mkdir(mode=0o700)
    d = root / "c"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not the cache's")
    if what == "foreign_dir":
        d.mkdir()
        os.chown(d, FOREIGN_UID, FOREIGN_UID)
    elif what == "symlink":
        d.symlink_to(elsewhere)
    else:
        d.write_text("a regular file where the cache directory should be")
    with pytest.warns(C.CacheWarning):
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0
    st = os.lstat(d)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.geteuid()
    assert (elsewhere / "keep.txt").read_text() == "not the cache's"
    assert list(elsewhere.iterdir()) == [elsewhere / "keep.txt"]


@needs_cc
def test_directories_at_entry_paths_are_replaced():
    key = C.module_key(_ADD_SRC)
    d = C.cache_dir()
    for ext in (".so", ".json", ".lock", ".c"):
        os.makedirs(os.path.join(d, f"m_{key}{ext}", "sub"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", C.CacheWarning)
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0
    assert cc._entry_ok(os.path.join(d, f"m_{key}.so"), os.path.join(d, f"m_{key}.json"))
    cc._memo.clear()
    assert C.load(_ADD_SRC, _ADD_DEF).from_cache


@needs_cc
def test_cache_root_that_is_a_file_compiles_privately(tmp_path, monkeypatch):
    bogus = tmp_path / "not-a-dir"
    bogus.write_text("x")
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(bogus))
    with pytest.warns(C.CacheWarning, match="not a directory"):
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0 and lib.path.startswith(cc._scratch[0])
    with pytest.raises(C.CompilerUnavailable, match="not a directory"):
        C.cache_dir()


# --- a cache that cannot be written ----------------------------------------------------------

@needs_cc
def test_unwritable_cache_serves_hits_and_compiles_misses_privately(monkeypatch):
    warm = C.load(_ADD_SRC, _ADD_DEF)
    cc._memo.clear()
    monkeypatch.setattr(cc, "_open_lock", lambda d, key: (None, f"{d} is read-only (test)"))
    hit = C.load(_ADD_SRC, _ADD_DEF)
    assert hit.from_cache and hit.path == warm.path
    with pytest.warns(C.CacheWarning, match="read-only"):
        miss = C.load(_EVIL_SRC, _ADD_DEF)
    assert _run_add(miss) == 100.0 and not miss.from_cache
    assert miss.path.startswith(cc._scratch[0]) and cc.stats["scratch_builds"] >= 1


@needs_cc
def test_full_disk_falls_back_to_a_private_directory(monkeypatch):
    d = C.cache_dir()
    real = cc.tempfile.mkdtemp

    def mkdtemp(*a, **kw):
        if kw.get("dir") == d:
            raise OSError(28, "No space left on device")
        return real(*a, **kw)
    monkeypatch.setattr(cc.tempfile, "mkdtemp", mkdtemp)
    with pytest.warns(C.CacheWarning, match="No space left"):
        lib = C.load(_ADD_SRC, _ADD_DEF)
    assert _run_add(lib) == 1.0


def _read_only_prefix(d: str):
    """A command prefix under which `d` is read-only for the child, or None."""
    if os.geteuid() != 0:
        return ()
    if shutil.which("unshare") is None:
        return None
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         f"mount --bind {d} {d} && mount -o remount,ro,bind {d} {d} && ! touch {d}/.x"],
        capture_output=True, timeout=30, check=False)
    if probe.returncode != 0:
        return None
    script = f'mount --bind "{d}" "{d}" && mount -o remount,ro,bind "{d}" "{d}" && exec "$@"'
    return ("unshare", "-m", "sh", "-c", script, "sh")


@needs_cc
def test_read_only_warm_cache_really_read_only(tmp_path):
    root = str(tmp_path / "cache")
    warm = _load_child()
    prefix = _read_only_prefix(root)
    if prefix is None:
        pytest.skip("cannot make a read-only view as root here (no unshare/mount)")
    if os.geteuid() != 0:
        subprocess.run(["chmod", "-R", "a-w", root], check=True)
    try:
        hit = _load_child(prefix=prefix)
        miss = _load_child(_EVIL_SRC, prefix=prefix)
    finally:
        subprocess.run(["chmod", "-R", "u+w", root], check=True)
    assert "error" not in hit, hit
    assert hit["from_cache"] and hit["compiles"] == 0 and hit["path"] == warm["path"]
    assert hit["value"] == 1.0 and not hit["warnings"]
    assert "error" not in miss, miss
    assert miss["value"] == 100.0 and miss["compiles"] == 1 and miss["scratch_builds"] == 1
    assert len(miss["warnings"]) == 1 and "not writable" in miss["warnings"][0]


# --- no compiler, a broken compiler ----------------------------------------------------------

def test_cc_false_is_an_environment_error(tmp_path):
    out = _load_child(env=_env(CC="/bin/false"))
    assert out["error"] == "CompilerUnavailable", out
    assert "/bin/false" in out["message"] and "CC" in out["message"]


@needs_cc
def test_compiler_that_fails_everything_is_an_environment_error(tmp_path):
    fake = tmp_path / "fakecc"
    fake.write_text('#!/bin/sh\nif [ "$1" = --version ]; then echo fakecc 1.0; exit 0; fi\n'
                    'echo "fakecc: cannot find -lmvec" >&2\nexit 1\n')
    fake.chmod(0o755)
    out = _load_child(env=_env(CC=str(fake)))
    assert out["error"] == "CompilerUnavailable", out
    assert "trivial module" in out["message"] and "cannot find -lmvec" in out["message"]
    assert not [n for n in os.listdir(tmp_path / "cache" / "c") if n.startswith("failed_")]


@needs_cc
def test_bad_generated_source_is_still_a_compile_error():
    with pytest.raises(C.CompileError) as info:
        C.load("int broken(int x) { return x +; }\n", "int broken(int);")
    assert not isinstance(info.value, C.CompilerUnavailable)
    assert os.path.exists(info.value.source_path)


@needs_cc
def test_warm_cache_loads_without_running_the_compiler(tmp_path):
    log = tmp_path / "cc.log"
    wrapper = tmp_path / "logcc"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {shutil.which("cc")} "$@"\n')
    wrapper.chmod(0o755)
    first = _load_child(env=_env(CC=str(wrapper)))
    assert first["compiles"] == 1 and "--version" in log.read_text()
    log.unlink()
    second = _load_child(env=_env(CC=str(wrapper)))
    assert second["from_cache"] and second["compiles"] == 0
    assert not log.exists()                    # neither `--version` nor a compile ran


@needs_cc
def test_no_compiler_serves_a_warm_cache(tmp_path):
    _load_child()
    no_cc = _env(CC=str(tmp_path / "missing" / "cc"), PATH=str(tmp_path / "empty"))
    hit = _load_child(env=no_cc)
    assert hit.get("from_cache") and hit["compiles"] == 0 and hit["value"] == 1.0, hit
    miss = _load_child(_EVIL_SRC, env=no_cc)
    assert miss["error"] == "CompilerUnavailable" and "not found" in miss["message"], miss


_JIT_CHILD = """
    import json, sys, warnings, numpy as np
    warnings.simplefilter("always")
    import funcgrad as fg, funcgrad.numpy as fnp, cdsl
    x = fnp.arange(6.0, dtype=fnp.float32)
    with warnings.catch_warnings(record=True) as w:
        f = fg.jit(lambda x: fnp.tanh(x) * 2.0 + 1.0)
        a = [f(x), f(x + 1.0)]
        outs = {"f": [np.asarray(v).tolist() for v in a]}
        if len(sys.argv) > 1:
            g = fg.jit(lambda x: fnp.sum(fnp.exp(-x * x)))
            outs["g"] = float(g(x))
            outs["lowered"] = "void" in g.lower(x).source
            outs["aot"] = float(fg.jit(lambda x: fnp.sum(fnp.cos(x))).lower(x).compile()(x))
    outs["warnings"] = [f"{x.category.__name__}: {x.message}" for x in w]
    outs.update(cdsl.compile.stats)
    print(json.dumps(outs))
"""


def _expected_f():
    x = np.arange(6.0, dtype=np.float32)
    return [np.tanh(v) * 2 + 1 for v in (x, x + 1)]


@pytest.mark.parametrize("how", ["cc_false", "no_cc_cold"])
def test_jit_falls_back_with_one_warning(tmp_path, how):
    if how == "cc_false":
        env = _env(CC="/bin/false", FUNCGRAD_BACKEND="c")
    else:
        env = _env(CC=str(tmp_path / "nowhere" / "cc"), PATH=str(tmp_path / "empty"),
                   FUNCGRAD_BACKEND="c")
    out = _last_json(_python(_JIT_CHILD, "g", env=env))
    for got, want in zip(out["f"], _expected_f()):
        np.testing.assert_allclose(got, want, rtol=1e-6)
    x = np.arange(6.0, dtype=np.float32)
    assert out["g"] == pytest.approx(float(np.sum(np.exp(-x * x))), rel=1e-6)
    assert out["lowered"]                        # the C source is still shown
    assert out["aot"] == pytest.approx(float(np.sum(np.cos(x))), rel=1e-6)   # compile() too
    fallbacks = [w for w in out["warnings"] if w.startswith("FallbackWarning")]
    assert len(fallbacks) == 1, out["warnings"]
    assert "C compilation is unavailable" in fallbacks[0] and "CC" in fallbacks[0]


@needs_cc
def test_jit_with_no_compiler_runs_cached_programs_compiled(tmp_path):
    _python(_JIT_CHILD)                            # warm: compiles f
    env = _env(CC=str(tmp_path / "nowhere" / "cc"), PATH=str(tmp_path / "empty"))
    out = _last_json(_python(_JIT_CHILD, env=env))
    assert out["compiles"] == 0 and out["disk_hits"] >= 1 and not out["warnings"], out
    for got, want in zip(out["f"], _expected_f()):
        np.testing.assert_allclose(got, want, rtol=1e-6)


# --- stale files and the size bound ----------------------------------------------------------

def _age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def test_stale_temp_dirs_and_failed_sources_are_removed(tmp_path):
    d = tmp_path / "cache" / "c"
    d.mkdir(parents=True, mode=0o700)
    (tmp_path / "cache").chmod(0o700)
    old_tmp, new_tmp, busy_tmp = (d / f".tmp-{k * 40}-x" for k in "abc")
    for t in (old_tmp, new_tmp, busy_tmp):
        (t / "part0.o").parent.mkdir()
        (t / "part0.o").write_bytes(b"o" * 10)
    old_failed, new_failed = d / f"failed_{'d' * 40}.c", d / f"failed_{'e' * 40}.c"
    for f in (old_failed, new_failed):
        f.write_text("int x;")
    _age(old_tmp, 3600)
    _age(busy_tmp, 3600)
    _age(old_failed, 3 * 86400)
    lock = os.open(d / f"m_{'c' * 40}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)             # a build of that key is still running
    try:
        removed = C.prune_cache()["temp_removed"]
    finally:
        os.close(lock)
    assert removed == 2
    assert not old_tmp.exists() and not old_failed.exists()
    assert new_tmp.exists() and busy_tmp.exists() and new_failed.exists()


def _fake_entry(d, key, size, age):
    so, meta = d / f"m_{key}.so", d / f"m_{key}.json"
    so.write_bytes(b"x" * size)
    meta.write_text("{}")
    for p in (so, meta):
        _age(p, age)
    return so


def test_eviction_removes_least_recently_used_first(tmp_path, monkeypatch):
    d = tmp_path / "cache" / "c"
    d.mkdir(parents=True, mode=0o700)
    entries = [_fake_entry(d, k * 40, 3000, age) for k, age in zip("abcde", (50, 40, 30, 20, 10))]
    lock = os.open(d / f"m_{'a' * 40}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)             # the oldest is in use: it stays
    monkeypatch.setenv("FUNCGRAD_CACHE_MAX_BYTES", "10000")
    try:
        r = C.prune_cache()
    finally:
        os.close(lock)
    kept = [e.exists() for e in entries]
    # 15,010 bytes over a 10,000 limit: evicted down to 3/4 of it, oldest unlocked first.
    assert kept == [True, False, False, False, True], kept
    assert r["entries_removed"] == 3 and C.cache_info()["bytes"] <= 7500


def test_size_limit_parsing(monkeypatch):
    for raw, want in (("1048576", 2 ** 20), ("300M", 300 * 2 ** 20), ("2g", 2 * 2 ** 30),
                      ("0", 0)):
        monkeypatch.setenv("FUNCGRAD_CACHE_MAX_BYTES", raw)
        assert C.max_cache_bytes() == want
    monkeypatch.setenv("FUNCGRAD_CACHE_MAX_BYTES", "lots")
    with pytest.warns(C.CacheWarning, match="not a size"):
        assert C.max_cache_bytes() == cc.DEFAULT_MAX_BYTES


@needs_cc
def test_builds_respect_the_limit_and_keep_what_they_built(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_CACHE_MAX_BYTES", "1")
    a = C.load(_ADD_SRC, _ADD_DEF)
    b = C.load(_EVIL_SRC, _ADD_DEF)
    assert not os.path.exists(a.path) and os.path.exists(b.path)
    assert cc.stats["evicted"] >= 1


def _usage(tmp_path) -> dict:
    return json.loads((tmp_path / "cache" / "usage.json").read_text())


@needs_cc
def test_builds_scan_the_cache_only_when_the_estimate_says_so(tmp_path, monkeypatch):
    # A full scan lists and stats every file (a second per build with 10,000 entries), so
    # builds add their bytes to a recorded estimate and scan only past the limit or when
    # the last scan is old.
    monkeypatch.setitem(cc.stats, "cache_scans", 0)
    a = C.load(_ADD_SRC, _ADD_DEF)                  # no record yet: one scan writes it
    assert cc.stats["cache_scans"] == 1
    first = _usage(tmp_path)
    assert first["bytes"] == C.cache_info()["bytes"] > 0
    C.load(_EVIL_SRC, _ADD_DEF)                     # within the limit: no scan
    assert cc.stats["cache_scans"] == 1
    second = _usage(tmp_path)
    assert second["scanned"] == first["scanned"]
    assert second["bytes"] == C.cache_info()["bytes"] > first["bytes"]
    # The estimate passes the limit: the next build scans, and evicts.
    monkeypatch.setenv("FUNCGRAD_CACHE_MAX_BYTES", str(second["bytes"] + 10))
    C.load(_ADD_SRC.replace("1.0f", "2.0f"), _ADD_DEF)
    assert cc.stats["cache_scans"] == 2 and not os.path.exists(a.path)
    assert _usage(tmp_path)["bytes"] == C.cache_info()["bytes"] <= second["bytes"] + 10


@needs_cc
@pytest.mark.parametrize("record", ['{"bytes": 5, "scanned": %(old)s}', '{"bytes": -1, '
                                    '"scanned": %(now)s}', '{"bytes": "5", "scanned": 0}',
                                    '[1, 2]', 'not json', '{"bytes": 5, "scanned": %(future)s}'])
def test_an_old_or_malformed_usage_record_means_a_scan(tmp_path, monkeypatch, record):
    C.load(_ADD_SRC, _ADD_DEF)
    now = time.time()
    (tmp_path / "cache" / "usage.json").write_text(record % {
        "old": now - cc.RESCAN_SECONDS - 5, "now": now, "future": now + 600})
    monkeypatch.setitem(cc.stats, "cache_scans", 0)
    C.load(_EVIL_SRC, _ADD_DEF)
    assert cc.stats["cache_scans"] == 1
    assert _usage(tmp_path)["bytes"] == C.cache_info()["bytes"]


@needs_cc
def test_clearing_the_cache_forgets_the_usage_estimate(tmp_path):
    C.load(_ADD_SRC, _ADD_DEF)
    C.clear_cache()
    assert not (tmp_path / "cache" / "usage.json").exists()


@needs_cc
def test_loads_mark_entries_as_recently_used():
    path = _load_child()["path"]
    _age(path, 7 * 86400)
    assert _load_child()["from_cache"]
    assert time.time() - os.stat(path).st_mtime < 600


@needs_cc
def test_cli_info_and_clear(tmp_path, capsys):
    from funcgrad import cache
    _load_child()
    assert cache.main(["info"]) == 0
    info = capsys.readouterr().out
    assert str(tmp_path / "cache") in info and "FUNCGRAD_CACHE_MAX_BYTES" in info
    assert "c:" in info and "     1 entries" in info and "eager kernels" in info
    r = subprocess.run([sys.executable, "-m", "funcgrad.cache", "clear"], cwd=ROOT,
                       env=_env(), capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0 and "1 entries" in r.stdout, r.stderr
    assert C.cache_info()["entries"] == 0


# --- the prebuilt eager kernels --------------------------------------------------------------

@pytest.fixture
def eager_mod(monkeypatch):
    from funcgrad.lowering import eager
    monkeypatch.setattr(eager, "_lib", [])
    yield eager
    eager._lib.clear()


def test_stale_prebuilt_module_falls_back_per_kernel(eager_mod, monkeypatch):
    import funcgrad.numpy as fnp
    from funcgrad.cache import FallbackWarning
    real = eager_mod.library()
    if real is None:
        pytest.skip("no prebuilt eager kernels built")
    eager_mod._lib.clear()
    present = {n: getattr(real.lib, n) for n in eager_mod.function_names()
               if not n.startswith("fg_exp_")}
    old = types.SimpleNamespace(__name__="funcgrad._eager_kernels_base", ffi=real.ffi,
                                lib=types.SimpleNamespace(**present))
    monkeypatch.setattr(eager_mod, "load_level", lambda level: old)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        x = fnp.linspace(0.0, 1.0, 7)
        y = fnp.exp(x)
    (w,) = [w for w in rec if w.category is FallbackWarning]
    assert "older than the source" in str(w.message) and "fg_exp_f" in str(w.message)
    np.testing.assert_allclose(np.asarray(y), np.exp(np.asarray(x)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(fnp.log1p(x)), np.log1p(np.asarray(x)), rtol=1e-6)


def test_missing_prebuilt_module_warns_once(eager_mod, monkeypatch):
    import funcgrad.numpy as fnp
    from funcgrad.cache import FallbackWarning
    monkeypatch.setattr(eager_mod, "load_level", lambda level: None)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        x = fnp.linspace(0.0, 1.0, 5)
        y = fnp.tanh(x) + fnp.sum(x)
    (w,) = [w for w in rec if w.category is FallbackWarning]
    assert "not built" in str(w.message) and "pip install -e ." in str(w.message)
    np.testing.assert_allclose(np.asarray(y), np.tanh(np.asarray(x)) + np.sum(np.asarray(x)),
                               rtol=1e-6)


def test_level_choice_follows_the_cpu_and_the_override(eager_mod, monkeypatch):
    tried = []
    monkeypatch.setattr(eager_mod, "load_level", lambda level: tried.append(level))
    monkeypatch.setattr(eager_mod, "cpu_level", lambda: "v3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert eager_mod.library() is None
        assert tried == ["v3", "base"]
        for env, want in (("base", ["base"]), ("v4", ["v3", "base"]), ("off", [])):
            tried.clear()
            eager_mod._lib.clear()
            monkeypatch.setenv(eager_mod.LEVEL_ENV, env)
            eager_mod.library()
            assert tried == want, env


def test_baseline_module_has_no_wide_vector_instructions():
    from funcgrad.lowering import eager
    mod = eager.load_level("base")
    if mod is None or shutil.which("objdump") is None:
        pytest.skip("needs the built baseline module and objdump")
    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("the levels are x86-64's")
    text = subprocess.run(["objdump", "-d", mod.__file__], capture_output=True, text=True,
                          timeout=120, check=True).stdout
    assert "fg_exp_f32" in text
    assert "%zmm" not in text and "%ymm" not in text


# --- the OpenCL binary cache -----------------------------------------------------------------

@pytest.fixture
def cl_device(tmp_path, monkeypatch):
    opencl = pytest.importorskip("opencl")
    try:
        dev = opencl.default_device()
    except Exception as err:  # noqa: BLE001 -- no platform: skip
        pytest.skip(f"no OpenCL platform: {err}")
    opencl.clear_program_memo()
    opencl.reset_build_stats()
    yield opencl, dev
    opencl.clear_program_memo()


_CL_SRC = "__kernel void twice(__global float *x) { x[get_global_id(0)] *= 2.0f; }\n"


@pytest.mark.opencl
@pytest.mark.parametrize("how", ["symlink", "foreign", "writable"])
def test_opencl_untrusted_binary_is_not_loaded(cl_device, tmp_path, how):
    if how == "foreign" and os.geteuid() != 0:
        pytest.skip("planting another user's file needs root (chown)")
    opencl, dev = cl_device
    prog = opencl.build_program(_CL_SRC, dev)
    bin_path = opencl.BinaryCache().paths(prog.key)[0]
    if how == "symlink":
        target = tmp_path / "elsewhere.bin"
        target.write_bytes(bin_path.read_bytes())
        bin_path.unlink()
        bin_path.symlink_to(target)
    elif how == "foreign":
        os.chown(bin_path, FOREIGN_UID, FOREIGN_UID)
    else:
        bin_path.chmod(0o666)
    opencl.clear_program_memo()
    with pytest.warns(C.CacheWarning, match="ignored"):
        again = opencl.build_program(_CL_SRC, dev)
    assert not again.from_cache and opencl.build_stats().get("binary_loads", 0) == 0
    opencl.clear_program_memo()
    assert opencl.build_program(_CL_SRC, dev).from_cache     # rewritten as a trusted entry


@pytest.mark.opencl
def test_opencl_unusable_cache_still_builds(cl_device, tmp_path, monkeypatch):
    opencl, dev = cl_device
    bogus = tmp_path / "file"
    bogus.write_text("x")
    monkeypatch.setenv("FUNCGRAD_CACHE_DIR", str(bogus))
    with pytest.warns(C.CacheWarning, match="rebuilt from source"):
        prog = opencl.build_program(_CL_SRC, dev)
    assert not prog.from_cache and opencl.build_stats().get("cache_errors") == 1
    x = opencl.to_device(np.arange(4, dtype=np.float32), dev)
    prog.kernel("twice")(4, None, x)
    np.testing.assert_array_equal(x.to_host(), 2 * np.arange(4, dtype=np.float32))
