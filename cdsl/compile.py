"""Compile rendered C into a loaded shared object (cffi, ABI mode) with a disk cache.

The cache key hashes the source, the compiler flags, the compiler's version and the CPU's
features (code is built with -march=native). Entries are written atomically (private temp
dir + rename) so concurrent processes compiling the same module both succeed; each entry
has a sidecar with its SHA-256 and size, and an entry that fails the check is rebuilt,
never loaded. The cache directory is created user-only (0700).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass

FORMAT_VERSION = "cdsl-1"
BASE_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fopenmp",
              "-fPIC", "-shared", "-std=gnu11")
LIBS = ("-lmvec", "-lm")


class CompileError(RuntimeError):
    """The C compiler rejected generated code; carries its message and the source path."""

    def __init__(self, message: str, source_path: str, stderr: str):
        super().__init__(message)
        self.source_path = source_path
        self.stderr = stderr


def cache_dir() -> str:
    d = os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "funcgrad")
    d = os.path.join(d, "c")
    os.makedirs(d, mode=0o700, exist_ok=True)
    try:
        os.chmod(os.path.dirname(d), 0o700)
        os.chmod(d, 0o700)
    except OSError:
        pass
    return d


def clear_cache() -> None:
    shutil.rmtree(cache_dir(), ignore_errors=True)


def compiler() -> str:
    return os.environ.get("CC", "cc")


_id_cache: dict = {}


def _compiler_id() -> str:
    cc = compiler()
    if cc not in _id_cache:
        try:
            v = subprocess.run([cc, "--version"], capture_output=True, text=True,
                               timeout=30).stdout
        except (OSError, subprocess.SubprocessError) as e:
            raise CompileError(f"no C compiler ({cc}): {e}. Install gcc (apt-get install gcc) "
                               "or set CC", "", str(e)) from None
        _id_cache[cc] = v
    return _id_cache[cc]


def cpu_features() -> str:
    if "cpu" not in _id_cache:
        flags = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith("flags"):
                        flags = line.split(":", 1)[1].strip()
                        break
        except OSError:
            pass
        import platform
        _id_cache["cpu"] = platform.machine() + " " + flags
    return _id_cache["cpu"]


def _blas_flags():
    import scipy_openblas32 as sob
    inc, lib = sob.get_include_dir(), sob.get_lib_dir()
    return ([f"-I{inc}"], [f"-L{lib}", f"-Wl,-rpath,{lib}", f"-l{sob.get_library()}"])


@dataclass
class Library:
    """A loaded compiled module: `lib.<function>` are callables, `ffi` their FFI."""
    ffi: object
    lib: object
    path: str
    key: str
    from_cache: bool


_memo: dict[str, Library] = {}
_lock = threading.Lock()
stats = {"compiles": 0, "disk_hits": 0, "memo_hits": 0, "rebuilt_corrupt": 0}


def module_key(source: str, flags=(), blas=False) -> str:
    h = hashlib.sha256()
    for part in (FORMAT_VERSION, source, " ".join(BASE_FLAGS + tuple(flags) + LIBS),
                 str(blas), _compiler_id(), cpu_features()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def _file_hash(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _check_entry(so_path: str, meta_path: str) -> bool:
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        return (os.path.getsize(so_path) == meta["size"] and
                _file_hash(so_path) == meta["sha256"])
    except (OSError, ValueError, KeyError):
        return False


def _build(source: str, key: str, flags, blas: bool, d: str) -> str:
    tmp = tempfile.mkdtemp(prefix=f".{key[:12]}-", dir=d)
    src_path = os.path.join(tmp, f"m_{key}.c")
    so_tmp = os.path.join(tmp, f"m_{key}.so")
    with open(src_path, "w") as f:
        f.write(source)
    inc, libs = _blas_flags() if blas else ([], [])
    cmd = [compiler(), *BASE_FLAGS, *flags, *inc, src_path, "-o", so_tmp, *libs, *LIBS]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        keep = os.path.join(d, f"failed_{key}.c")
        shutil.copyfile(src_path, keep)
        shutil.rmtree(tmp, ignore_errors=True)
        raise CompileError(f"C compiler failed (exit {r.returncode}) on generated source "
                           f"{keep}:\n{r.stderr.strip()[:4000]}", keep, r.stderr)
    so_path = os.path.join(d, f"m_{key}.so")
    meta_tmp = os.path.join(tmp, "meta.json")
    with open(meta_tmp, "w") as f:
        json.dump({"sha256": _file_hash(so_tmp), "size": os.path.getsize(so_tmp)}, f)
    os.replace(so_tmp, so_path)
    os.replace(meta_tmp, os.path.join(d, f"m_{key}.json"))
    os.replace(src_path, os.path.join(d, f"m_{key}.c"))
    shutil.rmtree(tmp, ignore_errors=True)
    stats["compiles"] += 1
    return so_path


def load(source: str, cdef: str, flags=(), blas: bool = False) -> Library:
    """Compile (or fetch from the cache) and load `source`; `cdef` declares its API."""
    key = module_key(source, flags, blas)
    with _lock:
        lib = _memo.get(key)
        if lib is not None:
            stats["memo_hits"] += 1
            return lib
        d = cache_dir()
        so_path = os.path.join(d, f"m_{key}.so")
        meta_path = os.path.join(d, f"m_{key}.json")
        from_cache = False
        lock_path = os.path.join(d, f"m_{key}.lock")
        with open(lock_path, "w") as lf:
            fcntl.flock(lf, fcntl.LOCK_EX)
            try:
                if os.path.exists(so_path) and _check_entry(so_path, meta_path):
                    from_cache = True
                    stats["disk_hits"] += 1
                else:
                    if os.path.exists(so_path):
                        stats["rebuilt_corrupt"] += 1
                    so_path = _build(source, key, flags, blas, d)
            finally:
                fcntl.flock(lf, fcntl.LOCK_UN)
        import cffi
        ffi = cffi.FFI()
        ffi.cdef(cdef)
        handle = ffi.dlopen(so_path)
        lib = Library(ffi, handle, so_path, key, from_cache)
        _memo[key] = lib
        return lib
