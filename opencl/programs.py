"""Program build, the on-disk binary cache, and kernel launch.

`build_program(source, device, options)` returns a built `Program`, looking first in an
in-process memo, then in the binary cache (`$FUNCGRAD_CACHE_DIR/opencl` or
`~/.cache/funcgrad/opencl`), then building from source and storing the binary. A cache
entry is `<key>.bin` plus a `<key>.sha256` sidecar (the hash covers the key and the
binary); an entry whose hash does not match, or that the driver rejects, is deleted and
rebuilt from source. The cache follows cdsl's trust rules (`cdsl.compile`): the directory
is private to the user (one found writable by others is emptied first), each file is
`lstat`-ed and opened without following symlinks and must be ours, not writable by others,
with a single link. A cache that cannot be written still serves what it holds; programs
are then rebuilt from source in each process (one warning). The C and OpenCL caches share
one size bound (`FUNCGRAD_CACHE_MAX_BYTES`). `Program.kernel(name)` returns a reusable
`Kernel` whose call enqueues one ND-range launch and returns at once.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
import threading
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cdsl import compile as _cc

from .buffers import DeviceBuffer
from .runtime import Device, OpenCLDtypeError, cl_module, resolve_device

CACHE_ENV = "FUNCGRAD_CACHE_DIR"
FORMAT_VERSION = "funcgrad-opencl-binary-1"


class OpenCLBuildError(RuntimeError):
    """A program failed to build; the message holds the build log and the source path."""

    def __init__(self, message: str, log: str, source_path: str | None) -> None:
        super().__init__(message)
        self.log = log
        self.source_path = source_path


_stats: Counter[str] = Counter()
_memo: dict[str, Program] = {}
_build_lock = threading.RLock()


def build_stats() -> dict[str, int]:
    """Counters: source_builds, binary_loads, memo_hits, binary_corrupt (hash mismatch),
    binary_rejected (driver refused a cached binary), cache_writes, cache_errors."""
    return dict(_stats)


def reset_build_stats() -> None:
    """Zero the build counters."""
    _stats.clear()


def clear_program_memo() -> None:
    """Forget the programs built in this process (the disk cache is kept)."""
    with _build_lock:
        _memo.clear()


def cache_dir() -> Path:
    """The binary cache directory: `$FUNCGRAD_CACHE_DIR/opencl`, else
    `~/.cache/funcgrad/opencl` (not created here)."""
    return Path(_cc.cache_root()) / "opencl"


def _normalize_options(options: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(options, str):
        return tuple(options.split())
    return tuple(str(o) for o in options)


def cache_key(source: str, device: Device, options: str | Sequence[str] = ()) -> str:
    """sha256 of the source, the device identity (name, platform, driver), the build
    options and the cache format version."""
    parts = (
        FORMAT_VERSION,
        source,
        device.name,
        device.platform_name,
        device.platform_version,
        device.driver_version,
        " ".join(_normalize_options(options)),
    )
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _digest(key: str, binary: bytes) -> str:
    return hashlib.sha256(key.encode() + b"\0" + binary).hexdigest()


class BinaryCache:
    """Program binaries on disk, one `<key>.bin` + `<key>.sha256` pair per entry."""

    def __init__(self, directory: Path | None = None) -> None:
        self._default = directory is None
        self.directory = cache_dir() if directory is None else Path(directory)

    def paths(self, key: str) -> tuple[Path, Path, Path]:
        """(binary, sidecar hash, saved source) paths of `key`."""
        d = self.directory
        return d / f"{key}.bin", d / f"{key}.sha256", d / f"{key}.cl"

    def _usable(self) -> str:
        """'' when the directory can be used (created and checked, untrusted content
        discarded: `cdsl.compile.cache_subdir`), else why not."""
        if self._default:
            d, why = _cc.cache_subdir("opencl")
            if d is not None:
                self.directory = Path(d)
            return why
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.lstat(self.directory)
        except OSError as err:
            return f"cannot use {self.directory}: {err.strerror}"
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
            return f"{self.directory} is not a directory of this user"
        if st.st_mode & 0o077:
            try:
                os.chmod(self.directory, 0o700)
            except OSError:
                if st.st_mode & 0o022:
                    return f"{self.directory} is writable by others"
        return ""

    def load(self, key: str) -> bytes | None:
        """The cached binary of `key`, or None if absent, untrusted (not a regular file of
        ours, writable by others, a symlink or hard link, in a directory that is not ours)
        or corrupt (then it is deleted). A hit is marked as recently used."""
        bin_path, sha_path, _ = self.paths(key)
        if self._usable():
            return None
        expected = _cc.read_trusted(str(sha_path))
        fd = _cc.open_trusted(str(bin_path))
        if fd is None or expected is None:
            if fd is not None:
                os.close(fd)
            return None
        try:
            with os.fdopen(os.dup(fd), "rb") as f:
                binary = f.read()
            if _digest(key, binary) == expected.decode("ascii", "replace").strip():
                try:
                    os.utime(fd)
                except OSError:
                    pass
                return binary
        except OSError:
            return None
        finally:
            os.close(fd)
        _stats["binary_corrupt"] += 1
        self.discard(key)
        return None

    def store(self, key: str, binary: bytes) -> None:
        """Write the entry atomically, then keep the cache within its size bound; a cache
        that cannot be written is counted (one warning), never raised."""
        bin_path, sha_path, _ = self.paths(key)
        if not binary:
            return
        why = self._usable()
        if not why:
            try:
                digest = _digest(key, binary).encode()
                _cc.write_atomic(str(bin_path), binary)
                _cc.write_atomic(str(sha_path), digest)
                _stats["cache_writes"] += 1
                _cc.note_written(len(binary) + len(digest), keep=(key,))
                return
            except OSError as err:
                why = f"cannot write to {self.directory} ({err.strerror})"
        _stats["cache_errors"] += 1
        _cc.warn_once(("opencl-unwritable", why),
                      f"funcgrad OpenCL binary cache: {why}; programs are rebuilt from source "
                      "in each process. Make it writable or set FUNCGRAD_CACHE_DIR to a "
                      "directory of your own.")

    def save_source(self, key: str, source: str) -> str | None:
        """Write the source next to the binaries (or to a temp file); return its path."""
        _, _, src_path = self.paths(key)
        try:
            if not self._usable():
                _cc.write_atomic(str(src_path), source.encode())
                return str(src_path)
        except OSError:
            pass
        try:
            fd, tmp = tempfile.mkstemp(prefix="funcgrad-opencl-", suffix=".cl")
            with os.fdopen(fd, "w") as f:
                f.write(source)
            return tmp
        except OSError:
            return None

    def discard(self, key: str) -> None:
        """Delete the sidecar and binary of `key`, if present."""
        for path in reversed(self.paths(key)[:2]):
            try:
                path.unlink()
            except OSError:
                pass


def _raw_program(clm: Any, context: Any, source_or_devices: Any, binaries: Any = None) -> Any:
    raw_cls = getattr(getattr(clm, "_cl", None), "_Program", None)
    if raw_cls is None:
        if binaries is None:
            return clm.Program(context, source_or_devices)
        return clm.Program(context, source_or_devices, binaries)
    if binaries is None:
        return raw_cls(context, source_or_devices)
    return raw_cls(context, source_or_devices, binaries)


def _build_raw(clm: Any, raw: Any, device: Device, options: tuple[str, ...]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if isinstance(raw, clm.Program):
            raw.build(options=list(options), devices=[device.cl_device])
        else:
            raw.build(" ".join(options).encode(), [device.cl_device])


def _build_log(clm: Any, raw: Any, device: Device) -> str:
    try:
        return str(raw.get_build_info(device.cl_device, clm.program_build_info.LOG)).strip()
    except Exception:  # noqa: BLE001
        return ""


@dataclass(eq=False)
class Program:
    """A built OpenCL program on one device; `kernel(name)` gives launchable kernels."""

    cl_program: Any
    device: Device
    source: str
    options: tuple[str, ...]
    key: str
    from_cache: bool
    build_seconds: float
    build_log: str
    _kernels: dict[str, Kernel] = field(default_factory=dict, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    @property
    def kernel_names(self) -> tuple[str, ...]:
        """Names of the kernels the program defines."""
        clm = cl_module()
        names = self.cl_program.get_info(clm.program_info.KERNEL_NAMES)
        return tuple(n for n in names.split(";") if n)

    def kernel(self, name: str) -> Kernel:
        """The (cached) Kernel `name`; raises KeyError naming the available kernels."""
        knl = self._kernels.get(name)
        if knl is None:
            with self._lock:
                knl = self._kernels.get(name)
                if knl is None:
                    knl = self._kernels[name] = Kernel(self, name)
        return knl

    def __repr__(self) -> str:
        origin = "binary cache" if self.from_cache else "source"
        return f"<opencl.Program {self.key[:12]} on {self.device.name} from {origin}>"


def _as_size(size: int | Sequence[int], what: str) -> tuple[int, ...]:
    if isinstance(size, (int, np.integer)):
        return (int(size),)
    out = tuple(int(s) for s in size)
    if not 1 <= len(out) <= 3:
        raise ValueError(f"{what} must have 1 to 3 dimensions, got {out}")
    return out


class Kernel:
    """One kernel of a Program. Call it as `kernel(global_size, local_size, *args)`:
    args are DeviceBuffers, NumPy scalars (np.float32(1), np.int64(n): the NumPy type is
    the C type) or `local_memory(n)`. The launch is enqueued and the call returns the
    cl.Event at once."""

    def __init__(self, program: Program, name: str) -> None:
        clm = cl_module()
        try:
            self.cl_kernel = clm.Kernel(program.cl_program, name)
        except Exception as err:
            raise KeyError(
                f"OpenCL program has no kernel {name!r}; it defines {program.kernel_names}"
            ) from err
        self.program = program
        self.name = name
        self.device = program.device
        self.num_args = int(self.cl_kernel.num_args)
        self._lock = threading.Lock()

    def _convert(self, index: int, arg: Any) -> Any:
        if isinstance(arg, DeviceBuffer):
            if arg.device is not self.device:
                raise ValueError(
                    f"kernel {self.name!r} argument {index}: buffer lives on "
                    f"{arg.device.name!r}, kernel on {self.device.name!r}"
                )
            return arg.buffer
        if isinstance(arg, np.ndarray) and arg.ndim == 0:
            arg = arg[()]
        if isinstance(arg, np.generic):
            if arg.dtype == np.float64 and not self.device.has_fp64:
                raise OpenCLDtypeError(
                    f"kernel {self.name!r} argument {index}: float64 scalar, but device "
                    f"{self.device.name!r} lacks cl_khr_fp64"
                )
            return arg
        if isinstance(arg, (bool, int, float)):
            raise TypeError(
                f"kernel {self.name!r} argument {index}: Python {type(arg).__name__} "
                f"{arg!r} has no fixed C type; pass a NumPy scalar such as np.int32(...), "
                "np.int64(...) or np.float32(...)"
            )
        return arg

    def __call__(self, global_size: int | Sequence[int],
                 local_size: int | Sequence[int] | None, *args: Any) -> Any:
        if len(args) != self.num_args:
            raise TypeError(
                f"kernel {self.name!r} takes {self.num_args} arguments, got {len(args)}"
            )
        gsize = _as_size(global_size, "global_size")
        lsize = None if local_size is None else _as_size(local_size, "local_size")
        if lsize is not None:
            if len(lsize) != len(gsize):
                raise ValueError(
                    f"kernel {self.name!r}: global_size {gsize} and local_size {lsize} "
                    "differ in rank"
                )
            if any(l <= 0 or g % l for g, l in zip(gsize, lsize)):
                raise ValueError(
                    f"kernel {self.name!r}: global_size {gsize} must be a positive multiple "
                    f"of local_size {lsize} in every dimension"
                )
        if any(g == 0 for g in gsize):
            return None
        cl_args = [self._convert(i, a) for i, a in enumerate(args)]
        clm = cl_module()
        with self._lock:
            self.cl_kernel.set_args(*cl_args)
            return clm.enqueue_nd_range_kernel(
                self.device.queue, self.cl_kernel, gsize, lsize
            )

    def enqueue_checked_args(self, global_size: tuple, local_size: tuple | None,
                             cl_args: Sequence[Any]) -> Any:
        """The launch of `__call__` without its checks, for callers that validated the
        sizes once (non-empty tuples, global a multiple of local) and pass converted
        arguments (cl.Buffer, NumPy scalars, cl.LocalMemory): per-launch host time is
        what a CPU device shares its cores with."""
        with self._lock:
            self.cl_kernel.set_args(*cl_args)
            return cl_module().enqueue_nd_range_kernel(
                self.device.queue, self.cl_kernel, global_size, local_size
            )

    def __repr__(self) -> str:
        return f"<opencl.Kernel {self.name} ({self.num_args} args) on {self.device.name}>"


def _from_binary(clm: Any, dev: Device, binary: bytes, options: tuple[str, ...]) -> Any:
    raw = _raw_program(clm, dev.context, [dev.cl_device], [binary])
    _build_raw(clm, raw, dev, options)
    return raw


def _from_source(clm: Any, dev: Device, source: str, options: tuple[str, ...],
                 cache: BinaryCache, key: str) -> tuple[Any, str]:
    raw = _raw_program(clm, dev.context, source)
    try:
        _build_raw(clm, raw, dev, options)
    except clm.Error as err:
        log = _build_log(clm, raw, dev) or str(err)
        path = cache.save_source(key, source)
        raise OpenCLBuildError(
            f"OpenCL build failed on {dev.name!r} ({dev.platform_name}) with options "
            f"{' '.join(options) or '(none)'}\nsource saved at: {path}\nbuild log:\n{log}",
            log,
            path,
        ) from None
    return raw, _build_log(clm, raw, dev)


def _wrap(clm: Any, raw: Any) -> Any:
    return raw if isinstance(raw, clm.Program) else clm.Program(raw)


def build_program(source: str, device: Device | None = None,
                  options: str | Sequence[str] = (), *, use_cache: bool = True) -> Program:
    """Build OpenCL C `source` for `device` (default device when None).

    Looks in the in-process memo, then the disk binary cache; a missing, corrupt or
    rejected binary means a build from source whose binary is then cached. Raises
    OpenCLBuildError (with the build log and the saved source path) on compile errors.
    """
    dev = resolve_device(device)
    opts = _normalize_options(options)
    key = cache_key(source, dev, opts)
    prog = _memo.get(key)
    if prog is not None:
        _stats["memo_hits"] += 1
        return prog
    clm = cl_module()
    cache = BinaryCache()
    with _build_lock:
        prog = _memo.get(key)
        if prog is not None:
            _stats["memo_hits"] += 1
            return prog
        start = time.perf_counter()
        raw = None
        log = ""
        binary = cache.load(key) if use_cache else None
        if binary is not None:
            try:
                raw = _from_binary(clm, dev, binary, opts)
                log = _build_log(clm, raw, dev)
                _stats["binary_loads"] += 1
            except Exception:  # noqa: BLE001 - any driver refusal means rebuild
                _stats["binary_rejected"] += 1
                cache.discard(key)
                raw = None
        from_cache = raw is not None
        if raw is None:
            raw, log = _from_source(clm, dev, source, opts, cache, key)
            _stats["source_builds"] += 1
            if use_cache:
                try:
                    binaries = raw.get_info(clm.program_info.BINARIES)
                    cache.store(key, bytes(binaries[0]))
                except Exception:  # noqa: BLE001 - caching is best effort
                    _stats["cache_errors"] += 1
        elapsed = time.perf_counter() - start
        prog = Program(_wrap(clm, raw), dev, source, opts, key, from_cache, elapsed, log)
        _memo[key] = prog
        return prog
