"""Compile rendered C into a loaded shared object (cffi, ABI mode) with a disk cache.

The cache key hashes the source, the compiler flags, the compiler's `--version`, the CPU's
features (code is built with -march=native) and the cache format version. Entries are
written atomically (a private temp dir inside the cache, then `os.replace`), so processes
compiling the same module at once all succeed; a `flock` only saves duplicate work. Each
entry has a sidecar `<key>.json` (SHA-256 and size of the .so) written after the .so; an
entry that is missing, truncated or fails the check is rebuilt, never loaded. The cache
directory is created user-only (0700) and must be owned by the current user.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass

import cffi
import numpy as np

FORMAT_VERSION = "cdsl-2"
BASE_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp",
              "-fPIC", "-shared", "-std=gnu11")
LIBS = ("-lmvec", "-lm")
_SUBDIR = "c"


class CompileError(RuntimeError):
    """The C compiler rejected generated code (or the result would not load). The message
    holds the compiler's stderr and the path of the kept source file."""

    def __init__(self, message: str, source_path: str = "", stderr: str = ""):
        super().__init__(message)
        self.source_path = source_path
        self.stderr = stderr


def cache_root() -> str:
    """`$FUNCGRAD_CACHE_DIR`, else `~/.cache/funcgrad` (not created)."""
    return os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "funcgrad")


def _private_dir(d: str) -> None:
    os.makedirs(d, mode=0o700, exist_ok=True)
    st = os.stat(d)
    if st.st_uid != os.getuid():
        raise RuntimeError(f"cache directory {d} belongs to uid {st.st_uid}, not to this user;"
                           " set FUNCGRAD_CACHE_DIR to a directory of your own")
    if st.st_mode & 0o077:
        os.chmod(d, 0o700)


def cache_dir() -> str:
    """The directory of compiled C modules (`<cache root>/c`), created user-only (0700)."""
    root = cache_root()
    _private_dir(root)
    d = os.path.join(root, _SUBDIR)
    _private_dir(d)
    return d


def clear_cache() -> None:
    """Delete every cached C module on disk and forget the in-process memo (modules already
    loaded stay usable)."""
    with _lock:
        _memo.clear()
        shutil.rmtree(os.path.join(cache_root(), _SUBDIR), ignore_errors=True)


def compiler() -> str:
    """The C compiler command: `$CC`, else `cc`."""
    return os.environ.get("CC", "cc")


_id_cache: dict = {}


def compiler_id() -> str:
    """The compiler's `--version` text (part of the cache key)."""
    cc = compiler()
    if cc not in _id_cache:
        try:
            r = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30,
                               check=False)
        except (OSError, subprocess.SubprocessError) as e:
            raise CompileError(f"no usable C compiler ({cc!r}): {e}. Install gcc "
                               "(e.g. apt-get install gcc) or set CC.", "", str(e)) from None
        _id_cache[cc] = r.stdout
    return _id_cache[cc]


def cpu_features() -> str:
    """Machine and CPU feature flags (-march=native code must not run on another CPU)."""
    if "cpu" not in _id_cache:
        flags = model = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("flags") and not flags:
                        flags = line.split(":", 1)[1].strip()
                    elif line.startswith("model name") and not model:
                        model = line.split(":", 1)[1].strip()
        except OSError:
            pass
        _id_cache["cpu"] = f"{platform.machine()}|{model}|{flags}"
    return _id_cache["cpu"]


def blas_flags() -> tuple:
    """(compile flags, link flags) for scipy-openblas32; symbols are `scipy_cblas_*`."""
    try:
        import scipy_openblas32 as sob
    except ImportError:
        raise CompileError("BLAS needs the scipy-openblas32 wheel: "
                           "pip install scipy-openblas32") from None
    inc, lib = sob.get_include_dir(), sob.get_lib_dir()
    return ((f"-I{inc}",), (f"-L{lib}", f"-Wl,-rpath,{lib}", f"-l{sob.get_library()}"))


@dataclass
class Library:
    """A loaded compiled module: `lib.<function>` are callables (also `library.<function>`),
    `ffi` their FFI; `from_cache` tells whether the .so came from disk without compiling."""
    ffi: cffi.FFI
    lib: object
    path: str
    key: str
    from_cache: bool

    def __getattr__(self, name):
        if name.startswith("__") or name in ("lib", "ffi"):
            raise AttributeError(name)
        return getattr(self.lib, name)

    def ptr(self, array, ctype: str | None = None):
        """A `T*` onto a C-contiguous NumPy array's data, without copying (the cdata keeps
        `array` alive); non-contiguous arrays raise."""
        cdecl = _ARRAY_CDECLS[array.dtype] if ctype is None else ctype + "[]"
        return self.ffi.from_buffer(cdecl, array)

    def caller(self, name: str):
        """A Python callable for C function `name` taking NumPy arrays for its pointer
        parameters (passed without copying; C-contiguous only) and numbers for the rest."""
        fn = getattr(self.lib, name)
        from_buffer = self.ffi.from_buffer
        cdecls = tuple(a.item.cname + "[]" if a.kind == "pointer" else None
                       for a in self.ffi.typeof(fn).args)

        def call(*args):
            if len(args) != len(cdecls):
                raise TypeError(f"{name} takes {len(cdecls)} arguments, got {len(args)}")
            return fn(*[x if c is None else from_buffer(c, x) for c, x in zip(cdecls, args)])
        call.__name__ = name
        return call


_ARRAY_CDECLS = {np.dtype(k): v + "[]" for k, v in (
    ("f4", "float"), ("f8", "double"), ("i1", "int8_t"), ("i2", "int16_t"), ("i4", "int32_t"),
    ("i8", "int64_t"), ("u1", "uint8_t"), ("u2", "uint16_t"), ("u4", "uint32_t"),
    ("u8", "uint64_t"), ("b1", "uint8_t"), ("f2", "uint16_t"))}

_memo: dict = {}
_lock = threading.RLock()
stats = {"compiles": 0, "disk_hits": 0, "memo_hits": 0, "rebuilt_corrupt": 0,
         "compile_seconds": 0.0}


def module_key(source: str, flags=(), blas: bool = False) -> str:
    """The cache key of `source` compiled with `flags` on this compiler and CPU."""
    h = hashlib.sha256()
    for part in (FORMAT_VERSION, source, " ".join(BASE_FLAGS + tuple(flags) + LIBS),
                 f"blas={bool(blas)}", compiler(), compiler_id(), cpu_features()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _entry_ok(so_path: str, meta_path: str) -> bool:
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        with open(so_path, "rb") as f:
            data = f.read()
        return (meta.get("format") == FORMAT_VERSION and len(data) == meta["size"]
                and _sha256(data) == meta["sha256"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def _run_compiler(cmds, srcs, key, d):
    """Run compiler commands concurrently; a failure raises CompileError naming the kept
    source of the part that failed."""
    t0 = time.perf_counter()
    try:
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for c in cmds]
    except OSError as e:
        raise CompileError(f"cannot run the C compiler {compiler()!r}: {e}. Install gcc "
                           "or set CC.", "", str(e)) from None
    results = [p.communicate() + (p.returncode,) for p in procs]
    stats["compile_seconds"] += time.perf_counter() - t0
    for cmd, src, (_, err, rc) in zip(cmds, srcs, results):
        if rc != 0:
            keep = os.path.join(d, f"failed_{key}.c")
            shutil.copyfile(src, keep)
            raise CompileError(f"C compiler failed (exit {rc}) on generated source "
                               f"{keep}\ncommand: {' '.join(cmd)}\n{err.strip()}", keep, err)


def _build(source: str, key: str, flags, blas: bool, d: str, parts=None) -> str:
    """Compile into a private temp dir in `d`, then move .so, sidecar and .c into place.
    With `parts` (translation units), they compile concurrently and are then linked."""
    tmp = tempfile.mkdtemp(prefix=f".tmp-{key[:12]}-", dir=d)
    try:
        src_path = os.path.join(tmp, f"m_{key}.c")
        so_tmp = os.path.join(tmp, f"m_{key}.so")
        with open(src_path, "w") as f:
            f.write(source)
        inc, libs = blas_flags() if blas else ((), ())
        if not parts or len(parts) < 2:
            cmd = [compiler(), *BASE_FLAGS, *flags, *inc, src_path, "-o", so_tmp, *libs,
                   *LIBS]
            _run_compiler([cmd], [src_path], key, d)
        else:
            cflags = [f for f in BASE_FLAGS if f != "-shared"]
            cmds, srcs, objs = [], [], []
            for i, part in enumerate(parts):
                p = os.path.join(tmp, f"part{i}.c")
                with open(p, "w") as f:
                    f.write(part)
                o = os.path.join(tmp, f"part{i}.o")
                cmds.append([compiler(), *cflags, *flags, *inc, "-c", p, "-o", o])
                srcs.append(p)
                objs.append(o)
            _run_compiler(cmds, srcs, key, d)
            link = [compiler(), "-shared", "-fopenmp", *objs, "-o", so_tmp, *libs, *LIBS]
            _run_compiler([link], [src_path], key, d)
        with open(so_tmp, "rb") as f:
            data = f.read()
        meta_tmp = os.path.join(tmp, "meta.json")
        with open(meta_tmp, "w") as f:
            json.dump({"format": FORMAT_VERSION, "sha256": _sha256(data), "size": len(data)},
                      f)
        so_path = os.path.join(d, f"m_{key}.so")
        # Order matters: a reader that sees the new .so with an old or missing sidecar
        # fails the check and rebuilds; it never trusts an unchecked .so.
        os.replace(so_tmp, so_path)
        os.replace(meta_tmp, os.path.join(d, f"m_{key}.json"))
        os.replace(src_path, os.path.join(d, f"m_{key}.c"))
        stats["compiles"] += 1
        return so_path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def load(source: str, cdef: str, flags=(), blas: bool = False, parts=None) -> Library:
    """Compile `source` (or fetch it from the cache) and load it; `cdef` declares the
    functions to call (cffi syntax). Raises CompileError if the compiler rejects it.
    `parts`, when given, are translation units whose concatenation is `source`: they are
    compiled concurrently (faster cold builds on several cores) and linked."""
    flags = tuple(flags)
    key = module_key(source, flags, blas)
    with _lock:
        lib = _memo.get(key)
        if lib is not None:
            stats["memo_hits"] += 1
            return lib
        d = cache_dir()
        so_path = os.path.join(d, f"m_{key}.so")
        meta_path = os.path.join(d, f"m_{key}.json")
        with open(os.path.join(d, f"m_{key}.lock"), "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            from_cache = _entry_ok(so_path, meta_path)
            if from_cache:
                stats["disk_hits"] += 1
            else:
                if os.path.exists(so_path):
                    stats["rebuilt_corrupt"] += 1
                so_path = _build(source, key, flags, blas, d, parts)
        ffi = cffi.FFI()
        ffi.cdef(cdef)
        try:
            handle = ffi.dlopen(so_path)
        except OSError as e:
            raise CompileError(f"compiled module {so_path} does not load: {e}",
                               os.path.join(d, f"m_{key}.c"), str(e)) from None
        lib = Library(ffi, handle, so_path, key, from_cache)
        _memo[key] = lib
        return lib


def compile_module(module, flags=(), blas: bool | None = None) -> Library:
    """Render a cdsl Module (or Function) as C99 and `load` it; `blas` defaults to
    `module.uses_blas`."""
    from . import ast as A
    from .render import C99, declarations, render
    if isinstance(module, A.Function):
        module = A.Module((module,))
    if blas is None:
        blas = module.uses_blas
    return load(render(module, C99), declarations(module, C99), flags=flags, blas=blas)
