"""Compile rendered C into a loaded shared object (cffi, ABI mode) with a disk cache that
loads nothing it cannot vouch for, keeps working when it cannot write, and stays bounded.

Layout: `<cache root>/c/` holds, per module, `m_<key>.so`, its sidecar `m_<key>.json`
(format, key, size and SHA-256 of the .so), the source `m_<key>.c` and a lock file
`m_<key>.lock`; `compilers.json` records compiler identities. The key hashes the source,
the flags, the compiler's identity (its resolved path and `--version` text, recorded per
binary `stat` so that a warm cache loads without running the compiler, or with no compiler
at all), the CPU's features (code is built with -march=native) and the format version.

Trust. The cache directories are created 0700 and must belong to the current user. A
directory found writable by group or others is emptied (its content may have been
planted) and made private, with a warning; one that is a symlink, not a directory or not
ours is set aside and replaced. Every file is `lstat`-ed and opened with `O_NOFOLLOW`,
and its descriptor must be a regular file of ours, not writable by group or others,
with a single link; the sidecar must name the entry's key and match the .so's size and
hash. Only we can write in the private directory, so the path that was checked is the one
`dlopen` maps. Anything else is ignored and rebuilt, never loaded.

Degradation. Entries are written atomically (a private temp dir, then `os.replace`), so
concurrent processes all succeed; a `flock` only saves duplicate work. A cache that cannot
be written (read-only, full, foreign) still serves what it holds, without locking, and
modules compiled meanwhile go to a private temporary directory (one `CacheWarning`). With
no usable compiler, cached modules still load (keyed by the recorded identities), and a
module that would need compiling raises `CompilerUnavailable` (a `CompileError` whose
cause is the environment, not the program: callers fall back to another backend). A
compiler failure is blamed on the program only if the same compiler builds a trivial
module with the same flags.

Bound. `prune_cache` removes temp dirs of killed builds (`.tmp-*`, unlocked, older than
`STALE_TEMP_SECONDS`), old `failed_*.c` and entries beyond `FUNCGRAD_CACHE_MAX_BYTES`
(default `DEFAULT_MAX_BYTES`, least recently used first, loads touch the .so). It lists
and stats every file, so a build does not call it every time (`note_written`): the bytes
written are added to an estimate kept in `<cache root>/usage.json`, and the cache is
pruned when the estimate passes the limit or the last full scan is `RESCAN_SECONDS` old.
The OpenCL binary cache (`<cache root>/opencl`) shares these rules and the bound.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass

import cffi
import numpy as np

FORMAT_VERSION = "cdsl-3"
# -ffp-contract=off: gcc's default for GNU C contracts `a*b - c` into an FMA, so a product
# computed twice (a max and then `x*s - max(x*s)` in softmax) rounds differently in the two
# places and the difference at the max is not 0 (exp of it overflows to inf, then NaN). The
# kernels that want FMAs (convolution tiles) call fmaf() explicitly.
# (No -fwrapv: int32 arithmetic wraps through uint32_t in the rendered code, see
# render.Dialect.wrap_signed. gcc 12 -O3 -fwrapv miscompiled a vectorised any() over middle
# axes: every result False.)
BASE_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math",
              "-ffp-contract=off", "-fopenmp", "-fPIC", "-shared", "-std=gnu11")
LIBS = ("-lmvec", "-lm")
# BASE_FLAGS for one translation unit compiled on its own (not linked)
_UNIT_FLAGS = tuple(f for f in BASE_FLAGS if f != "-shared")
_SUBDIR = "c"
CACHE_SUBDIRS = ("c", "opencl")
MAX_BYTES_ENV = "FUNCGRAD_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 512 * 2 ** 20
STALE_TEMP_SECONDS = 10 * 60
FAILED_SOURCE_SECONDS = 24 * 3600
RESCAN_SECONDS = 3600
_RECORD = "compilers.json"
_USAGE = "usage.json"
_SIDECARS = (".json", ".sha256")
_FIX_COMPILER = ("Install a C compiler with OpenMP (e.g. apt-get install gcc) or point CC at "
                 "one")
_FIX_DIR = ("Make the directory writable, or set FUNCGRAD_CACHE_DIR to a directory of your "
            "own")


class CompileError(RuntimeError):
    """The C compiler rejected generated code (or the result would not load). The message
    holds the compiler's stderr and the path of the kept source file."""

    def __init__(self, message: str, source_path: str = "", stderr: str = ""):
        super().__init__(message)
        self.source_path = source_path
        self.stderr = stderr


class CompilerUnavailable(CompileError):
    """C code cannot be compiled or stored here: no compiler, a compiler that fails on a
    trivial module too, or no writable directory. The fault is the environment's, not the
    program's, so a caller may run the program another way. `cause` says what failed and
    `fix` what to do."""

    def __init__(self, cause: str, fix: str, stderr: str = ""):
        super().__init__(f"{cause}. {fix}.", "", stderr)
        self.cause = cause
        self.fix = fix


class CacheWarning(UserWarning):
    """The compile cache was repaired or works in a degraded mode (not writable, untrusted
    content discarded)."""


_warned: set = set()


def warn_once(key, message: str, category=CacheWarning) -> None:
    """Emit `message` once per process for `key`, attributed to the user's line that led
    here (the first caller outside cdsl and funcgrad)."""
    if key not in _warned:
        _warned.add(key)
        warnings.warn(message, category, stacklevel=_user_stacklevel())


_PACKAGES = tuple(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), d)
                  + os.sep for d in ("cdsl", "funcgrad"))


def _user_stacklevel() -> int:
    """The `stacklevel` of the first frame outside cdsl and funcgrad, counted from a
    `warnings.warn` call in a function called by the frame asking."""
    frame, level = sys._getframe(2), 2
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGES):
        frame, level = frame.f_back, level + 1
    return level


# --- directories -----------------------------------------------------------------------------

def cache_root() -> str:
    """`$FUNCGRAD_CACHE_DIR`, else `~/.cache/funcgrad` (not created)."""
    return os.path.expanduser(os.environ.get("FUNCGRAD_CACHE_DIR") or os.path.join(
        "~", ".cache", "funcgrad"))


def _check_root(root: str) -> str:
    """Create `root` user-only if missing; '' when usable, else why not. The root may be a
    symlink (a user's choice); it must end in a directory of ours that others cannot
    write (it is made private if it is not)."""
    try:
        os.makedirs(root, mode=0o700, exist_ok=True)
    except OSError as e:
        if os.path.lexists(root) and not os.path.isdir(root):
            return f"the cache path {root} is not a directory"
        if not os.path.isdir(root):
            return f"cannot create the cache directory {root}: {e.strerror}"
    try:
        st = os.stat(root)
    except OSError as e:
        return f"cannot use the cache directory {root}: {e.strerror}"
    if not stat.S_ISDIR(st.st_mode):
        return f"the cache path {root} is not a directory"
    if st.st_uid != os.geteuid():
        return f"the cache directory {root} belongs to uid {st.st_uid}, not to this user"
    if st.st_mode & 0o077:
        try:
            os.chmod(root, 0o700)
        except OSError as e:
            if st.st_mode & 0o022:
                return (f"the cache directory {root} is writable by others and cannot be "
                        f"made private: {e.strerror}")
    return ""


def _untrusted_dir(st) -> str:
    if stat.S_ISLNK(st.st_mode):
        return "is a symlink"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if st.st_uid != os.geteuid():
        return f"belongs to uid {st.st_uid}"
    return ""


def _set_aside(root: str, d: str, ino) -> bool:
    """Move `d` out of the way (to `<root>/.untrusted-*`, deleted best-effort) and create a
    fresh private directory in its place; False if that is not possible."""
    try:
        if ino is not None and os.lstat(d).st_ino != ino:
            return os.path.isdir(d)          # another process replaced it already
        if os.path.islink(d) or not os.path.isdir(d):
            os.unlink(d)
        else:
            aside = os.path.join(root, f".untrusted-{os.path.basename(d)}-{os.getpid()}-"
                                       f"{time.time_ns()}")
            os.rename(d, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    return True


def cache_subdir(name: str) -> tuple[str | None, str]:
    """`<cache root>/<name>` checked (and repaired) for use: `(path, "")`, or `(None, why)`
    when it cannot be used. Untrusted content is discarded with one `CacheWarning`."""
    root = cache_root()
    why = _check_root(root)
    if why:
        return None, why
    d = os.path.join(root, name)
    try:
        st = os.lstat(d)
    except FileNotFoundError:
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        except OSError as e:
            return None, f"cannot create the cache directory {d}: {e.strerror}"
        return cache_subdir(name) if not os.path.isdir(d) else (d, "")
    except OSError as e:
        return None, f"cannot use the cache directory {d}: {e.strerror}"
    bad = _untrusted_dir(st)
    if not bad and st.st_mode & 0o022:
        bad = f"was writable by others (mode {stat.S_IMODE(st.st_mode):o})"
    if bad:
        if not _set_aside(root, d, st.st_ino):
            return None, f"the cache directory {d} {bad} and cannot be replaced"
        warn_once(("untrusted-dir", d, bad),
                  f"funcgrad compile cache: {d} {bad}; its content was discarded (it may "
                  "have been planted) and it is now a private directory (mode 700)")
        stats["untrusted"] += 1
    elif st.st_mode & 0o077:
        try:
            os.chmod(d, 0o700)
        except OSError:
            pass
    return d, ""


def cache_dir() -> str:
    """The directory of compiled C modules (`<cache root>/c`), created user-only (0700);
    raises `CompilerUnavailable` when it cannot be used."""
    d, why = cache_subdir(_SUBDIR)
    if d is None:
        raise CompilerUnavailable(why, _FIX_DIR)
    return d


_scratch: list = []


def _scratch_dir() -> str:
    """A private temporary directory for modules that the cache cannot keep (deleted at
    exit; a loaded module stays mapped)."""
    if not _scratch:
        import atexit
        try:
            d = tempfile.mkdtemp(prefix="funcgrad-scratch-")
        except OSError as e:
            raise CompilerUnavailable(
                f"no directory to compile into (the temporary directory "
                f"{tempfile.gettempdir()}: {e.strerror})", _FIX_DIR) from None
        atexit.register(shutil.rmtree, d, True)
        _scratch.append(d)
    return _scratch[0]


# --- trusted files ---------------------------------------------------------------------------

def _untrusted_file(st) -> str:
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid != os.geteuid():
        return f"belongs to uid {st.st_uid}"
    if st.st_mode & 0o022:
        return "is writable by others"
    if st.st_nlink != 1:
        return "has other hard links"
    return ""


def open_trusted(path: str) -> int | None:
    """A read-only descriptor of `path` if it is a regular file of ours that nobody else can
    write, with one link, reached without following a symlink (`lstat`, `O_NOFOLLOW`, and
    the descriptor's own `fstat`); else None. A foreign entry gives one `CacheWarning`."""
    try:
        lst = os.lstat(path)
    except OSError:
        return None
    why = _untrusted_file(lst)
    if not why:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return None
        st = os.fstat(fd)
        why = _untrusted_file(st)
        if not why and (st.st_dev, st.st_ino) == (lst.st_dev, lst.st_ino):
            return fd
        os.close(fd)
        why = why or "changed while being opened"
    stats["untrusted"] += 1
    warn_once(("untrusted", path), f"funcgrad compile cache: ignored {path}: it {why}; "
              "it is replaced when the entry is rebuilt")
    return None


def read_trusted(path: str) -> bytes | None:
    """The content of `path` if `open_trusted` accepts it, else None."""
    fd = open_trusted(path)
    if fd is None:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            return f.read()
    except OSError:
        return None


def _make_room(path: str) -> None:
    """Remove whatever non-regular thing (directory, symlink, fifo) sits at `path`, so that
    an `os.replace` onto it succeeds."""
    try:
        st = os.lstat(path)
    except OSError:
        return
    if stat.S_ISDIR(st.st_mode):
        aside = f"{path}.stale-{os.getpid()}-{time.time_ns()}"
        os.rename(path, aside)
        shutil.rmtree(aside, ignore_errors=True)
    elif not stat.S_ISREG(st.st_mode):
        os.unlink(path)


def write_atomic(path: str, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` through a private temp file and `os.replace` (replacing a
    directory or symlink that sits there)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-w-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)
        _make_room(path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _touch(fd: int) -> None:
    """Mark an entry as used now (eviction is least recently used first)."""
    try:
        os.utime(fd)
    except OSError:
        pass


# --- the compiler ----------------------------------------------------------------------------

def compiler() -> str:
    """The C compiler command: `$CC`, else `cc`."""
    return os.environ.get("CC") or "cc"


def compiler_command() -> list[str]:
    """`compiler()` split into words (`CC="ccache gcc"` works)."""
    return shlex.split(compiler()) or ["cc"]


_id_cache: dict = {}


def _fingerprint(cmd) -> tuple[str, str] | None:
    """(resolved path of the compiler, a fingerprint of its binaries' stat), or None when
    the compiler is not found."""
    exe = shutil.which(cmd[0])
    if exe is None:
        return None
    parts = []
    for word in cmd:
        w = None if word.startswith("-") else shutil.which(word)
        if w:
            st = os.stat(w)
            parts.append(f"{os.path.realpath(w)}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}")
    return os.path.realpath(exe), "|".join(parts) + "|" + " ".join(cmd)


def _read_json(path: str) -> dict:
    """The JSON object in `path` if `read_trusted` accepts the file, else {} (absent,
    foreign or malformed)."""
    data = read_trusted(path)
    try:
        rec = json.loads(data) if data else {}
        return rec if isinstance(rec, dict) else {}
    except ValueError:
        return {}


def _read_record(d: str | None) -> dict:
    return {} if d is None else _read_json(os.path.join(d, _RECORD))


def _write_record(d: str | None, fingerprint: str, identity: str, **extra) -> None:
    if d is None:
        return
    rec = _read_record(d)
    old = rec.get(fingerprint)            # (what else is known of the same compiler stays)
    prior = {k: v for k, v in old.items() if k not in ("identity", "recorded")} \
        if isinstance(old, dict) and old.get("identity") == identity else {}
    rec[fingerprint] = {**prior, **extra, "identity": identity, "recorded": time.time()}
    keep = sorted(rec.items(), key=lambda kv: -float(kv[1].get("recorded", 0))
                  if isinstance(kv[1], dict) else 0)[:16]
    try:
        write_atomic(os.path.join(d, _RECORD), json.dumps(dict(keep), indent=1).encode())
    except OSError:
        pass                                   # a read-only cache: identity stays in memory


def compiler_state() -> tuple[str | None, str]:
    """`(identity, "")` for a usable compiler (resolved path + `--version` text, read from
    the cache's record when the binary's stat is recorded, so no compiler runs), else
    `(None, why)`. Worked out once per process for each `CC` and `PATH`."""
    env_key = ("env", os.environ.get("CC"), os.environ.get("PATH"), cache_root())
    hit = _id_cache.get(env_key)
    if hit is None:
        hit = _id_cache[env_key] = _compiler_state()
    return hit


def _compiler_state() -> tuple[str | None, str]:
    cmd = compiler_command()
    fp = _fingerprint(cmd)
    if fp is None:
        where = f"CC={compiler()!r}" if os.environ.get("CC") else "'cc' on PATH"
        return None, f"no C compiler ({where} not found)"
    real, key = fp
    hit = _id_cache.get(key)
    if hit is not None:
        return hit
    d = cache_subdir(_SUBDIR)[0]
    rec = _read_record(d).get(key)
    if isinstance(rec, dict) and isinstance(rec.get("identity"), str):
        state = (rec["identity"], "")
    else:
        try:
            r = subprocess.run([*cmd, "--version"], capture_output=True, text=True,
                               timeout=30, check=False)
            out = r.stdout.strip()
            err = r.stderr.strip()[-300:]
            bad = f"exit {r.returncode}{': ' + err if err else ''}" if r.returncode else ""
        except (OSError, subprocess.SubprocessError) as e:
            out, bad = "", str(e)
        if bad or not out:
            why = (f"the C compiler {compiler()!r} does not run ('{compiler()} --version' "
                   f"failed: {bad or 'no output'})")
            state = (None, why)
        else:
            state = (f"{real}\n{out}", "")
            _write_record(d, key, state[0])
    _id_cache[key] = state
    return state


def recorded_identities() -> list[str]:
    """Compiler identities recorded in the cache, most recent first (a warm cache is
    searched with these when no compiler is usable)."""
    rec = _read_record(cache_subdir(_SUBDIR)[0])
    items = sorted((v for v in rec.values() if isinstance(v, dict)
                    and isinstance(v.get("identity"), str)),
                   key=lambda v: -float(v.get("recorded", 0)))
    out = []
    for v in items:
        if v["identity"] not in out:
            out.append(v["identity"])
    return out


def compiler_id() -> str:
    """The compiler's identity (part of the cache key); raises `CompilerUnavailable`."""
    identity, why = compiler_state()
    if identity is None:
        raise CompilerUnavailable(why, _FIX_COMPILER)
    return identity


# GCC's x86 gathers: gcc 12.2 -O3 -march=znver3 gave a vectorised gather whose index vector
# had become a constant (a loop of 24 fully unrolled) a mask register holding that
# constant instead of all ones, so it loaded nothing and returned what the register held
# (fuzz run 82: lax.cummax wrong in 17 of 234 random programs). Gathers off in the
# vectoriser: 0 of 234 wrong, and no benchmark measured slower (bench/RESULTS.md). The
# spelling differs by version: -mno-gather (gcc 14, 13.3, 12.4), else the tuning knobs
# (use_gather became use_gather_8parts in gcc 13); the first the compiler accepts is used.
GATHER_OFF = (("-mno-gather",),
              ("-mtune-ctrl=^use_gather_2parts,^use_gather_4parts,^use_gather_8parts",),
              ("-mtune-ctrl=^use_gather_2parts,^use_gather_4parts,^use_gather",))
# GCC's SLP vectoriser: gcc 12.2 -O3 -march=znver4 vectorised a fully unrolled loop of 4
# float64 selects (`i1 >= i2 ? x[i1, i2] : 0` plus `i2 - 1 >= i1 ? x[i2, i1] : 0`, the
# symmetrised tangent inside cholesky's JVP) with 512-bit vectors and read a wrong element:
# the JVP of `cholesky` of a float64 4 x 4 was off by 0.096 at [3, 3] on the C backend
# under jit (fuzz run 95; right with -fno-tree-slp-vectorize, -mprefer-vector-width=256 or
# -O2, wrong with loop vectorisation off). Off for GCC on x86-64, with the gathers: the
# benchmark's workloads took 0.97-1.05x their time without it (one thread, AMD Zen 4).
SLP_OFF = ("-fno-tree-slp-vectorize",)
# GCC's code sinking: a loop body whose select takes a value computed only for one of its
# arms (`where(x == 0, x + log 2, log1p(exp(-|x|)) + max(x, 0))`, nn.softplus) had its
# calls moved into that arm, and a branch around calls is control flow the vectoriser
# does not convert (the SIMD variants are `notinbranch`): softplus over 1e7 float32 stayed
# scalar, 223 ms on one AMD Zen 4 core where the vectorised loop takes 9.7 ms. Off for GCC
# on x86-64 with the others (the benchmark's training steps measured alike with it).
SINK_OFF = ("-fno-tree-sink",)
GCC_ALWAYS = SLP_OFF + SINK_OFF
# The flag sets workaround_flags may give (and a compiler record may hold).
WORKAROUND_SETS = tuple(g + GCC_ALWAYS for g in GATHER_OFF) + (GCC_ALWAYS, ())
# Part of every module's cache key: modules built before the workaround are not reused.
WORKAROUNDS = "gcc-x86-gathers-off gcc-x86-slp-off gcc-x86-sink-off"


def workaround_flags(cmd=None) -> tuple[str, ...]:
    """The flags that keep `cmd` (default: the current compiler) clear of code generation
    bugs we have met: for GCC on x86-64, vectorised gathers off (see GATHER_OFF), the
    SLP vectoriser off (SLP_OFF) and code sinking off (SINK_OFF). Found by
    asking the compiler to preprocess an empty file with each spelling (all at once), then
    kept in the cache's compiler record beside the compiler's identity (read back only if
    it is one of WORKAROUND_SETS); memoised."""
    cmd = list(cmd or compiler_command())
    memo_key = ("workaround", tuple(cmd), os.environ.get("PATH"))
    if memo_key not in _id_cache:
        _id_cache[memo_key] = _recorded_workaround_flags(cmd)
    return _id_cache[memo_key]


def _recorded_workaround_flags(cmd) -> tuple[str, ...]:
    fp = _fingerprint(cmd)
    if fp is None:
        return ()
    d = cache_subdir(_SUBDIR)[0]
    rec = _read_record(d).get(fp[1])
    identity = rec.get("identity") if isinstance(rec, dict) else None
    if identity is None and cmd == compiler_command():
        identity = compiler_state()[0]   # (identities are memoised per process: not recorded yet)
    known = rec.get("workaround") if isinstance(rec, dict) else None
    if isinstance(known, list) and tuple(known) in WORKAROUND_SETS:
        return tuple(known)
    flags = _find_workaround_flags(cmd, identity)
    if isinstance(identity, str):
        _write_record(d, fp[1], identity, workaround=list(flags))
    return flags


def _find_workaround_flags(cmd, version: str | None = None) -> tuple[str, ...]:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return ()
    if version is None:
        try:
            version = subprocess.run([*cmd, "--version"], capture_output=True, text=True,
                                     timeout=30, check=False).stdout
        except (OSError, subprocess.SubprocessError):
            return ()
    if "clang" in version.lower() or "free software foundation" not in version.lower():
        return ()                                 # not GCC (clang's --version says clang)
    # every spelling asked at once (one compiler run's time, 15 ms, where asking them in
    # turn took 43 ms of a cold first call with gcc 12.2, which takes the last); the first
    # accepted in GATHER_OFF's order is used
    procs = []
    try:
        for flags in GATHER_OFF:
            procs.append(subprocess.Popen([*cmd, *flags, "-E", "-x", "c", os.devnull, "-o",
                                           os.devnull], stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        codes = [p.wait(timeout=30) for p in procs]
    except (OSError, subprocess.SubprocessError):
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        return ()
    for flags, rc in zip(GATHER_OFF, codes):
        if rc == 0:
            return flags + GCC_ALWAYS
    return GCC_ALWAYS


def cpu_features() -> str:
    """Machine and CPU feature flags (-march=native code must not run on another CPU)."""
    if "cpu" not in _id_cache:
        flags = model = ""
        try:
            with open("/proc/cpuinfo") as f:
                for line in f:
                    if line.startswith(("flags", "Features")) and not flags:
                        flags = line.split(":", 1)[1].strip()
                    elif line.startswith("model name") and not model:
                        model = line.split(":", 1)[1].strip()
                    if flags and model:
                        break
        except OSError:
            pass
        _id_cache["cpu"] = f"{platform.machine()}|{model}|{flags}"
    return _id_cache["cpu"]


def blas_flags() -> tuple:
    """(compile flags, link flags) for scipy-openblas32; symbols are `scipy_cblas_*`."""
    try:
        import scipy_openblas32 as sob
    except ImportError:
        raise CompilerUnavailable("BLAS calls need the scipy-openblas32 wheel, which is not "
                                  "installed", "pip install scipy-openblas32") from None
    inc, lib = sob.get_include_dir(), sob.get_lib_dir()
    return ((f"-I{inc}",), (f"-L{lib}", f"-Wl,-rpath,{lib}", f"-l{sob.get_library()}"))


# --- loaded modules --------------------------------------------------------------------------

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
         "compile_seconds": 0.0, "untrusted": 0, "scratch_builds": 0, "evicted": 0,
         "cache_scans": 0}


def module_key(source: str, flags=(), blas: bool = False, identity: str | None = None) -> str:
    """The cache key of `source` compiled with `flags` by the compiler `identity` (default:
    the current one) on this CPU."""
    if identity is None:
        identity = compiler_id()
    h = hashlib.sha256()
    for part in (FORMAT_VERSION, WORKAROUNDS, source, " ".join(BASE_FLAGS + tuple(flags) + LIBS),
                 f"blas={bool(blas)}", identity, cpu_features()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:40]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _verified_entry(so_path: str, meta_path: str, key: str | None = None) -> int | None:
    """A descriptor of the .so if the entry is trusted and intact (sidecar format, key, size
    and SHA-256 all match what the descriptor reads), else None."""
    if key is None:
        key = os.path.basename(so_path)[2:-3]
    raw = read_trusted(meta_path)
    if raw is None:
        return None
    try:
        meta = json.loads(raw)
        if meta.get("format") != FORMAT_VERSION or meta.get("key") != key:
            return None
        size, digest = int(meta["size"]), str(meta["sha256"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    fd = open_trusted(so_path)
    if fd is None:
        return None
    try:
        data = os.pread(fd, size + 1, 0)
    except OSError:
        data = b""
    if len(data) == size and _sha256(data) == digest:
        return fd
    os.close(fd)
    return None


def _entry_ok(so_path: str, meta_path: str) -> bool:
    """Whether the cache entry would be loaded (trusted and intact)."""
    fd = _verified_entry(so_path, meta_path)
    if fd is None:
        return False
    os.close(fd)
    return True


_PROBE_SRC = ("#include <math.h>\n#include <omp.h>\n"
              "double fg_probe(double x) { return exp(x) + omp_get_max_threads(); }\n")
_probe_memo: dict = {}


def _probe(blas: bool) -> CompilerUnavailable | None:
    """None if the compiler builds a trivial module with our flags and libraries; else the
    error that says the environment, not the program, is at fault (memoised)."""
    memo_key = (tuple(compiler_command()), blas)
    if memo_key in _probe_memo:
        return _probe_memo[memo_key]
    err = None
    tmp = tempfile.mkdtemp(prefix="funcgrad-probe-")
    try:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(_PROBE_SRC)
        inc, libs = blas_flags() if blas else ((), ())
        cmd = [*compiler_command(), *BASE_FLAGS, *inc, src, "-o", os.path.join(tmp, "p.so"),
               *libs, *LIBS]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                               check=False)
            if r.returncode != 0:
                tail = r.stderr.strip()[-600:] or "(no output)"
                err = CompilerUnavailable(
                    f"the C compiler {compiler()!r} fails even on a trivial module with "
                    f"funcgrad's flags (exit {r.returncode}): {tail}", _FIX_COMPILER,
                    r.stderr)
        except (OSError, subprocess.SubprocessError) as e:
            err = CompilerUnavailable(f"cannot run the C compiler {compiler()!r}: {e}",
                                      _FIX_COMPILER, str(e))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    _probe_memo[memo_key] = err
    return err


def _keep_failed(src: str, key: str, d: str) -> str:
    """Keep the source that failed to compile where the user can read it after exit."""
    if _scratch and d == _scratch[0]:
        fd, keep = tempfile.mkstemp(prefix=f"funcgrad-failed_{key[:12]}-", suffix=".c")
        os.close(fd)
        shutil.copyfile(src, keep)
        return keep
    keep = os.path.join(d, f"failed_{key}.c")
    with open(src, "rb") as f:
        write_atomic(keep, f.read())
    return keep


# Whether every module built is also compiled (`-fsyntax-only`) with the other branch of
# the conditions on the target's AVX-512 (vector_helpers.GUARD) than this CPU takes:
# False by default, True in the fuzzer. The host's compiler reads only its own branch, so
# a source whose branch for CPUs without AVX-512 did not compile (a loop body outlined out
# of the guard, calling an AVX-512 variant) passed every test on AVX-512 machines and
# failed on the first AVX2 one.
CHECK_OTHER_BRANCH = False
_OTHER_BRANCH_CHECKED = "-DFUNCGRAD_OTHER_BRANCH_CHECKED"


def has_avx512_guard_features() -> bool:
    """Whether this CPU has the AVX-512 features vector_helpers.GUARD asks for (F and VL)."""
    return {"avx512f", "avx512vl"} <= set(cpu_features().rsplit("|", 1)[-1].split())


def other_branch_flags() -> tuple:
    """Flags, added to a build's, under which the compiler takes the other branch of
    vector_helpers.GUARD than on this CPU: AVX-512F's and VL's macros undefined where the
    CPU has them (its instructions stay allowed, so code chosen for this CPU still
    compiles), the features added where it lacks them; () where the compiler is not GCC
    on x86-64 (the guard is GCC's)."""
    cc = compiler_command()
    if platform.machine().lower() not in ("x86_64", "amd64") or "clang" in " ".join(cc):
        return ()
    return (("-U__AVX512F__", "-U__AVX512VL__") if has_avx512_guard_features()
            else ("-mavx512f", "-mavx512vl"))


def other_branch_errors(source: str, flags=(), blas: bool = True) -> str:
    """The compiler's errors on `source` built as for this CPU (with the build's extra
    `flags`) but with other_branch_flags(), checked with -fsyntax-only: '' where it
    compiles, or where there is no other branch to check."""
    other = other_branch_flags()
    if not other:
        return ""
    cc = compiler_command()
    inc = blas_flags()[0] if blas else ()
    cmd = [*cc, *_UNIT_FLAGS, *workaround_flags(cc), *flags, *other, *inc, "-fsyntax-only",
           "-x", "c", "-"]
    r = subprocess.run(cmd, input=source, capture_output=True, text=True, check=False)
    return r.stderr.strip() if r.returncode != 0 else ""


def _check_other_branch(sources, flags, key: str, d: str, blas: bool) -> None:
    """CompileError where one of the files `sources` fails on the other branch."""
    for src_path in sources:
        with open(src_path) as f:
            err = other_branch_errors(f.read(), flags, blas)
        if err:
            keep = _keep_failed(src_path, key, d)
            raise CompileError(f"generated source {keep} compiles for this CPU but not with "
                               f"{' '.join(other_branch_flags())} (the other branch of its "
                               f"conditions on AVX-512)\n{err}", keep, err)


def _run_compiler(cmds, srcs, key, d, blas=False):
    """Run compiler commands concurrently. A failure raises CompileError naming the kept
    source of the part that failed, or CompilerUnavailable if the compiler cannot build a
    trivial module either."""
    t0 = time.perf_counter()
    try:
        procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for c in cmds]
    except OSError as e:
        raise CompilerUnavailable(f"cannot run the C compiler {compiler()!r}: {e.strerror}",
                                  _FIX_COMPILER, str(e)) from None
    results = [p.communicate() + (p.returncode,) for p in procs]
    stats["compile_seconds"] += time.perf_counter() - t0
    for cmd, src, (_, err, rc) in zip(cmds, srcs, results):
        if rc != 0:
            env_err = _probe(blas)
            if env_err is not None:
                raise env_err
            keep = _keep_failed(src, key, d)
            raise CompileError(f"C compiler failed (exit {rc}) on generated source "
                               f"{keep}\ncommand: {' '.join(cmd)}\n{err.strip()}", keep, err)


def _build(source: str, key: str, flags, blas: bool, d: str, parts=None) -> str:
    """Compile into a private temp dir in `d`, then move .so, sidecar and .c into place.
    With `parts` (translation units), they compile concurrently and are then linked."""
    known_bad = _probe_memo.get((tuple(compiler_command()), blas))
    if known_bad is not None:
        raise known_bad                          # this compiler already failed a probe
    tmp = tempfile.mkdtemp(prefix=f".tmp-{key}-", dir=d)
    cc = compiler_command()
    fix = workaround_flags(cc)
    try:
        src_path = os.path.join(tmp, f"m_{key}.c")
        so_tmp = os.path.join(tmp, f"m_{key}.so")
        with open(src_path, "w") as f:
            f.write(source)
        inc, libs = blas_flags() if blas else ((), ())
        if not parts or len(parts) < 2:
            cmd = [*cc, *BASE_FLAGS, *fix, *flags, *inc, src_path, "-o", so_tmp, *libs, *LIBS]
            _run_compiler([cmd], [src_path], key, d, blas)
            if CHECK_OTHER_BRANCH:
                _check_other_branch([src_path], flags, key, d, blas)
        else:
            cmds, srcs, objs = [], [], []
            for i, part in enumerate(parts):
                p = os.path.join(tmp, f"part{i}.c")
                with open(p, "w") as f:
                    f.write(part)
                o = os.path.join(tmp, f"part{i}.o")
                cmds.append([*cc, *_UNIT_FLAGS, *fix, *flags, *inc, "-c", p, "-o", o])
                srcs.append(p)
                objs.append(o)
            _run_compiler(cmds, srcs, key, d, blas)
            if CHECK_OTHER_BRANCH:
                _check_other_branch(srcs, flags, key, d, blas)
            link = [*cc, "-shared", "-fopenmp", *objs, "-o", so_tmp, *libs, *LIBS]
            _run_compiler([link], [src_path], key, d, blas)
        with open(so_tmp, "rb") as f:
            data = f.read()
        meta_tmp = os.path.join(tmp, "meta.json")
        with open(meta_tmp, "w") as f:
            json.dump({"format": FORMAT_VERSION, "key": key, "sha256": _sha256(data),
                       "size": len(data)}, f)
        # Whatever the umask, nobody else may write what we will load.
        for p, mode in ((so_tmp, 0o700), (meta_tmp, 0o600), (src_path, 0o600)):
            os.chmod(p, mode)
        so_path = os.path.join(d, f"m_{key}.so")
        # Order matters: a reader that sees the new .so with an old or missing sidecar
        # fails the check and rebuilds; it never trusts an unchecked .so.
        for src, dst in ((so_tmp, so_path), (meta_tmp, os.path.join(d, f"m_{key}.json")),
                         (src_path, os.path.join(d, f"m_{key}.c"))):
            _make_room(dst)
            os.replace(src, dst)
        stats["compiles"] += 1
        return so_path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _open_lock(d: str, key: str) -> tuple[int | None, str]:
    """An exclusive `flock` on the entry's lock file, or `(None, why)` when the cache cannot
    be written (then the entry is read without locking and nothing is stored)."""
    path = os.path.join(d, f"m_{key}.lock")
    why = ""
    for _ in range(2):
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
                         | os.O_NONBLOCK, 0o600)
        except OSError as e:
            why = f"the compile cache {d} is not writable ({e.strerror})"
            if e.errno in (errno.ELOOP, errno.EISDIR, errno.ENXIO, errno.EWOULDBLOCK):
                try:
                    _make_room(path)
                    continue
                except OSError:
                    pass
            return None, why
        st = os.fstat(fd)
        if stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid():
            fcntl.flock(fd, fcntl.LOCK_EX)
            return fd, ""
        os.close(fd)
        why = f"the lock file {path} is not ours"
        try:
            os.unlink(path)
        except OSError:
            break
    return None, why


def _dlopen(cdef: str, path: str, global_symbols: bool = False):
    """Load a verified module by path. (Not through `/proc/self/fd/N`: the dynamic loader
    matches names, and a reused descriptor number would return an older module.) Symbols
    are bound at once (`RTLD_NOW`: a module whose runtime symbols are missing fails here);
    `global_symbols` makes them available to modules loaded later (the runtime library).

    A `cdef` of plain function prototypes (scalar and pointer-to-scalar types: what cdsl
    renders) is not handed to cffi's C parser, which costs ~5 ms for a module of a few
    functions on a warm start: the function types are built from cffi's backend and the
    symbols looked up in the loaded library. Any other `cdef` goes through `FFI.cdef`."""
    flags = _BLANK_FFI.RTLD_NOW | (_BLANK_FFI.RTLD_GLOBAL if global_symbols else 0)
    protos = _prototypes(cdef)
    if protos is not None:
        import _cffi_backend as backend
        handle = backend.load_library(path, flags)
        _keep_openmp()
        try:
            fns = {name: handle.load_function(ftype, name) for name, ftype in protos}
        except AttributeError as e:       # a declared function the library lacks
            raise OSError(errno.ENOENT, str(e)) from None
        return _BLANK_FFI, _Functions(handle, fns)
    ffi = cffi.FFI()
    ffi.cdef(cdef)
    lib = ffi.dlopen(path, flags)
    _keep_openmp()
    return ffi, lib


_openmp_kept: list = []


def _keep_openmp() -> None:
    """Once a loaded module has brought in libgomp, mark it never to be unloaded
    (`RTLD_NODELETE`). A module is unloaded when its library object is collected, at the
    latest as the interpreter shuts down; libgomp, loaded only as the modules' dependency,
    went with the last of them while its worker threads, still spinning after the last
    parallel region (for longer when another process keeps their CPU busy), ran on in
    its unmapped code: a process that had run a two-thread loop died of SIGSEGV at exit
    in 10-28 of 40 runs beside a busy core (cdsl alone; funcgrad holds libgomp through
    `threads.configure_openmp`)."""
    if _openmp_kept or not hasattr(os, "RTLD_NODELETE"):
        return
    try:
        _openmp_kept.append(ctypes.CDLL(
            "libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_NODELETE | os.RTLD_LAZY))
    except OSError:
        pass                      # not loaded (a module without OpenMP): next time


class _Functions:
    """The functions of a library loaded without cffi's parser, as attributes (the backend
    library object is kept: it unloads the library when collected)."""

    def __init__(self, handle, fns):
        self._handle = handle
        self.__dict__.update(fns)


_BLANK_FFI = cffi.FFI()
_PROTO = re.compile(r"^\s*(\w+)\s+(\w+)\s*\(([^()]*)\)\s*;\s*$")
_PARAM = re.compile(r"^\s*(?:const\s+)?(\w+)\s*(\*?)\s*(?:restrict\s+)?\w*\s*$")
_SCALARS = frozenset(("void", "char", "float", "double", "int8_t", "int16_t", "int32_t",
                      "int64_t", "uint8_t", "uint16_t", "uint32_t", "uint64_t", "intptr_t",
                      "uintptr_t", "size_t", "int", "long"))
_ctypes: dict = {}       # (scalar name, pointer?) -> cffi ctype
_ftypes: dict = {}       # (return name, ((name, pointer?), ...)) -> function-pointer ctype


def _ctype(name: str, pointer: bool):
    import _cffi_backend as backend
    key = (name, pointer)
    t = _ctypes.get(key)
    if t is None:
        t = backend.new_void_type() if name == "void" else backend.new_primitive_type(name)
        if pointer:
            t = backend.new_pointer_type(t)
        _ctypes[key] = t
    return t


def _prototypes(cdef: str):
    """[(name, function-pointer ctype)] for a cdef of plain prototypes, else None."""
    import _cffi_backend as backend
    out = []
    for line in cdef.splitlines():
        if not line.strip():
            continue
        m = _PROTO.match(line)
        if m is None or m.group(1) not in _SCALARS:
            return None
        ret, name, params = m.groups()
        args = []
        if params.strip() not in ("", "void"):
            for p in params.split(","):
                pm = _PARAM.match(p)
                if pm is None or pm.group(1) not in _SCALARS or \
                        (pm.group(1) == "void" and not pm.group(2)):
                    return None
                args.append((pm.group(1), bool(pm.group(2))))
        key = (ret, tuple(args))
        ftype = _ftypes.get(key)
        if ftype is None:
            ftype = _ftypes[key] = backend.new_function_type(
                tuple(_ctype(a, ptr) for a, ptr in args), _ctype(ret, False), False)
        out.append((name, ftype))
    return out


def load(source: str, cdef: str, flags=(), blas: bool | None = None, parts=None) -> Library:
    """Compile `source` (or fetch it from the cache) and load it; `cdef` declares the
    functions to call (cffi syntax). Raises CompileError if the compiler rejects it, and
    `CompilerUnavailable` if it is not cached and cannot be compiled here. `parts`, when
    given, are translation units whose concatenation is `source`: they are compiled
    concurrently (faster cold builds on several cores) and linked. A source that calls the
    runtime library's symbols (`cdsl.runtime`) gets the library loaded first. `blas`: build
    against the BLAS library (None: where the source includes its header, as a rendered
    `Module(uses_blas=None)` does where its code calls BLAS)."""
    if "fgrt" in source:
        from . import runtime
        if runtime.prefix() in source:
            runtime.ensure_loaded()
    if blas is None:
        from .render import C99
        blas = C99.blas_include in source
    flags = tuple(flags)
    if CHECK_OTHER_BRANCH:
        # A module built without the check may be in the cache: under the check, modules
        # are keyed apart (by a macro nothing reads), so each is checked when first built.
        flags += (_OTHER_BRANCH_CHECKED,)
    return _load(source, cdef, flags, blas, parts, False)


def _load_global(source: str, cdef: str) -> Library:
    """`load` with the module's symbols made global (`cdsl.runtime`'s library)."""
    return _load(source, cdef, (), False, None, True)


def _load(source, cdef, flags, blas, parts, global_symbols) -> Library:
    identity, no_cc = compiler_state()
    identities = [identity] if identity is not None else recorded_identities()
    keys = [module_key(source, flags, blas, i) for i in identities]
    with _lock:
        for key in keys:
            lib = _memo.get(key)
            if lib is not None:
                stats["memo_hits"] += 1
                return lib
        d, why = cache_subdir(_SUBDIR)
        if d is not None:
            lock, lock_why = _open_lock(d, keys[0]) if identity is not None else (None, "")
            try:
                for key in keys:
                    lib = _load_entry(d, key, cdef, global_symbols)
                    if lib is not None:
                        return lib
                if identity is None:
                    raise CompilerUnavailable(f"{no_cc}, and this module is not in the "
                                              f"compile cache {d}", _FIX_COMPILER)
                if lock is not None:
                    try:
                        return _build_and_load(source, keys[0], flags, blas, d, parts, cdef,
                                               global_symbols=global_symbols)
                    except CompileError:
                        raise
                    except OSError as e:
                        why = f"cannot write to the compile cache {d} ({e.strerror})"
                else:
                    why = lock_why
            finally:
                if lock is not None:
                    os.close(lock)
        if identity is None:
            raise CompilerUnavailable(f"{no_cc}, and the compile cache is unusable ({why})",
                                      _FIX_COMPILER)
        warn_once(("unwritable", why), f"funcgrad compile cache: {why}; modules compiled "
                  f"now are not kept, each process compiles them again. {_FIX_DIR}.")
        scratch = _scratch_dir()
        stats["scratch_builds"] += 1
        try:
            return _build_and_load(source, keys[0], flags, blas, scratch, parts, cdef,
                                   prune=False, global_symbols=global_symbols)
        except CompileError:
            raise
        except OSError as e:
            raise CompilerUnavailable(f"cannot write compiled modules: {why}; the temporary "
                                      f"directory {scratch} failed too ({e.strerror})",
                                      _FIX_DIR) from None


def _load_entry(d: str, key: str, cdef: str, global_symbols: bool = False) -> Library | None:
    so_path, meta_path = os.path.join(d, f"m_{key}.so"), os.path.join(d, f"m_{key}.json")
    fd = _verified_entry(so_path, meta_path, key)
    if fd is None:
        if os.path.lexists(so_path):
            stats["rebuilt_corrupt"] += 1
        return None
    try:
        try:
            ffi, handle = _dlopen(cdef, so_path, global_symbols)
        except OSError:
            stats["rebuilt_corrupt"] += 1       # intact but unloadable: rebuild it
            return None
        _touch(fd)
    finally:
        os.close(fd)
    stats["disk_hits"] += 1
    lib = Library(ffi, handle, so_path, key, True)
    _memo[key] = lib
    return lib


def _build_and_load(source, key, flags, blas, d, parts, cdef, prune=True,
                    global_symbols=False) -> Library:
    so_path = _build(source, key, flags, blas, d, parts)
    fd = _verified_entry(so_path, os.path.join(d, f"m_{key}.json"), key)
    if fd is None:
        raise OSError(errno.EIO, f"the entry just written to {d} does not verify")
    try:
        ffi, handle = _dlopen(cdef, so_path, global_symbols)
    except OSError as e:
        if "failed to map segment" in str(e):   # a noexec mount: the place is at fault
            raise OSError(errno.EPERM, f"cannot map code from {d} (noexec?)") from None
        raise CompileError(f"compiled module {so_path} does not load: {e}",
                           os.path.join(d, f"m_{key}.c"), str(e)) from None
    finally:
        os.close(fd)
    lib = Library(ffi, handle, so_path, key, False)
    _memo[key] = lib
    if prune:
        stem = os.path.join(d, f"m_{key}")
        note_written(sum(_size(stem + ext) for ext in (".so", ".json", ".c")),
                     keep=(f"m_{key}",))
    return lib


def compile_module(module, flags=(), blas: bool | None = None) -> Library:
    """Render a cdsl Module (or Function) as C99 and `load` it; `blas` defaults to whether
    the rendered source includes the BLAS header (`module.uses_blas`)."""
    from . import ast as A
    from .render import C99, declarations, render
    if isinstance(module, A.Function):
        module = A.Module((module,))
    return load(render(module, C99), declarations(module, C99), flags=flags, blas=blas)


# --- the bound, inspection, clearing ---------------------------------------------------------

def max_cache_bytes() -> int:
    """The disk cache's size limit: `$FUNCGRAD_CACHE_MAX_BYTES` (bytes, or with a K/M/G
    suffix; 0 means no limit), else `DEFAULT_MAX_BYTES`."""
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_BYTES
    scale = {"K": 2 ** 10, "M": 2 ** 20, "G": 2 ** 30}.get(raw[-1:].upper(), 1)
    try:
        return max(0, int(float(raw[:-1] if scale > 1 else raw) * scale))
    except ValueError:
        warn_once(("max-bytes", raw), f"{MAX_BYTES_ENV}={raw!r} is not a size (use bytes or "
                  "a K/M/G suffix, e.g. 500M; 0 disables the limit); using the default "
                  f"{DEFAULT_MAX_BYTES >> 20}M")
        return DEFAULT_MAX_BYTES


def _stem(name: str) -> str:
    return name.split(".", 1)[0]


def _scan(d: str) -> dict:
    """Regular files of `d` grouped by entry (name up to the first dot)."""
    groups: dict = {}
    try:
        it = list(os.scandir(d))
    except OSError:
        return groups
    for e in it:
        if e.name.startswith(".") or e.name == _RECORD:
            continue
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):
            g = groups.setdefault(_stem(e.name), [0.0, 0, []])
            g[0] = max(g[0], st.st_mtime)
            g[1] += st.st_size
            g[2].append(e.path)
    return groups


def _locked(d: str, stem: str) -> bool:
    """Whether a process holds the entry's build lock (then its files are left alone)."""
    path = os.path.join(d, f"{stem}.lock")
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def _remove_stale(root: str, d: str, now: float) -> int:
    removed = 0
    try:
        it = list(os.scandir(d))
    except OSError:
        return 0
    for e in it:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        age = now - st.st_mtime
        if e.name.startswith(".tmp-") and age > STALE_TEMP_SECONDS:
            key = e.name[5:].split("-", 1)[0]
            if _locked(d, f"m_{key}"):
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(e.path, ignore_errors=True)
            else:
                _unlink(e.path)
            removed += 1
        elif (e.name.startswith("failed_") or e.name.endswith(".tmp")) and \
                age > (FAILED_SOURCE_SECONDS if e.name.startswith("failed_")
                       else STALE_TEMP_SECONDS):
            removed += _unlink(e.path)
    return removed


def _remove_set_aside(root: str) -> None:
    """Delete what `_set_aside` moved away (best effort: foreign files may resist)."""
    try:
        it = [e for e in os.scandir(root) if e.name.startswith(".untrusted-")]
    except OSError:
        return
    for e in it:
        if e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path, ignore_errors=True)
        else:
            _unlink(e.path)


def _unlink(path: str) -> int:
    try:
        os.unlink(path)
        return 1
    except OSError:
        return 0


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _read_usage(root: str) -> tuple[int, float] | None:
    """(bytes, time of the last full scan) from the usage record, None if absent or not
    well-formed (the record steers only when to scan: a tampered one cannot do more)."""
    rec = _read_json(os.path.join(root, _USAGE))
    nbytes, scanned = rec.get("bytes"), rec.get("scanned")
    if type(nbytes) is not int or nbytes < 0 or not isinstance(scanned, (int, float)):
        return None
    return nbytes, float(scanned)


def _write_usage(root: str, nbytes: int, scanned: float) -> None:
    try:
        write_atomic(os.path.join(root, _USAGE),
                     json.dumps({"bytes": nbytes, "scanned": scanned}).encode())
    except OSError:
        pass                                   # a read-only cache: the next build scans


def note_written(nbytes: int, keep=()) -> None:
    """After writing an entry of `nbytes`: add them to the usage estimate, and prune (a full
    scan) only when the estimate passes the limit, or no scan is recorded within
    `RESCAN_SECONDS` (that bounds what concurrent writers' lost updates and entries
    removed by hand can make the estimate miss)."""
    root = cache_root()
    usage, now = _read_usage(root), time.time()
    if usage is not None:
        total, scanned = usage[0] + max(0, nbytes), usage[1]
        limit = max_cache_bytes()
        if 0 <= now - scanned < RESCAN_SECONDS and (not limit or total <= limit):
            _write_usage(root, total, scanned)
            return
    prune_cache(keep=keep)


def prune_cache(max_bytes: int | None = None, keep=()) -> dict:
    """Bound the disk cache: remove temp files of killed builds, old failed sources and,
    while the C and OpenCL caches together exceed `max_bytes` (default
    `max_cache_bytes()`), the least recently used entries down to 3/4 of it (entries being
    built, and `keep`, are left). Safe while other processes use the cache."""
    root = cache_root()
    limit = max_cache_bytes() if max_bytes is None else max_bytes
    now = time.time()
    out = {"temp_removed": 0, "entries_removed": 0, "bytes_removed": 0}
    entries, total = [], 0
    _remove_set_aside(root)
    for sub in CACHE_SUBDIRS:
        d = os.path.join(root, sub)
        if not os.path.isdir(d) or os.path.islink(d):
            continue
        out["temp_removed"] += _remove_stale(root, d, now)
        for stem, (used, size, files) in _scan(d).items():
            entries.append((used, size, stem, d, files))
            total += size
    if limit and total > limit:
        for _used, size, stem, d, files in sorted(entries):
            if total <= limit * 3 // 4:
                break
            if stem in keep or _locked(d, stem):
                continue
            for p in sorted(files, key=lambda p: not p.endswith(_SIDECARS)):
                _unlink(p)                       # the sidecar first: never a half entry
            total -= size
            out["entries_removed"] += 1
            out["bytes_removed"] += size
        stats["evicted"] += out["entries_removed"]
    if os.path.isdir(root):
        _write_usage(root, total, now)
    stats["cache_scans"] += 1
    return out


def cache_info() -> dict:
    """Where the disk cache is, its entries and bytes per kind, and its size limit."""
    root = cache_root()
    info = {"root": root, "max_bytes": max_cache_bytes(), "entries": 0, "bytes": 0,
            "kinds": {}}
    for sub in CACHE_SUBDIRS:
        d = os.path.join(root, sub)
        groups = _scan(d) if os.path.isdir(d) and not os.path.islink(d) else {}
        n = sum(1 for g in groups.values() if any(f.endswith((".so", ".bin")) for f in g[2]))
        b = sum(g[1] for g in groups.values())
        info["kinds"][sub] = {"path": d, "entries": n, "bytes": b}
        info["entries"] += n
        info["bytes"] += b
    return info


def clear_cache(kinds=(_SUBDIR,)) -> None:
    """Delete the cached modules on disk (`kinds`: subdirectories of the cache root, default
    the C modules) and forget the in-process memo (modules already loaded stay usable)."""
    with _lock:
        _memo.clear()
        root = cache_root()
        for sub in kinds:
            d = os.path.join(root, sub)
            if os.path.islink(d):
                _unlink(d)
            else:
                shutil.rmtree(d, ignore_errors=True)
        _unlink(os.path.join(root, _USAGE))      # the next build scans what is left
