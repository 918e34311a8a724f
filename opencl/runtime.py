"""OpenCL platform access: lazy pyopencl import, errors, devices, contexts and queues.

Owns everything about *which* device runs work: the availability check, device
enumeration and selection (`FUNCGRAD_OPENCL_DEVICE`), one cached context and in-order
queue per device, synchronisation, and the device limits the lowering reads to pick
tile and work-group sizes. pyopencl is imported on first use, never at import time.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

import numpy as np

DEVICE_ENV = "FUNCGRAD_OPENCL_DEVICE"

INSTALL_HINT = (
    "To get an OpenCL platform: `pip install pyopencl` for the Python bindings, and an "
    "OpenCL driver (ICD); on Debian/Ubuntu the portable CPU driver is "
    "`apt-get install pocl-opencl-icd ocl-icd-libopencl1`."
)


class OpenCLUnavailableError(RuntimeError):
    """No usable OpenCL: pyopencl is missing, no platform or no (matching) device."""


class OpenCLDtypeError(TypeError):
    """A dtype the device cannot handle (float64 without `cl_khr_fp64`)."""


class OpenCLForkError(OpenCLUnavailableError):
    """A device this process's parent had listed (or used) before it forked this one."""


_lock = threading.RLock()
_cl_module: Any = None
_import_error: BaseException | None = None
_devices: list[Device] | None = None
_platform_error: OpenCLUnavailableError | None = None
# The contexts and queues a fork left in this process (`_after_fork_in_child`): kept
# referenced, never released -- the driver's threads that would act on a release are the
# parent's.
_inherited: list = []
_fork_watched = False


def _after_fork_in_child() -> None:
    """A forked child inherits the parent's OpenCL driver state, but not the driver's
    threads: PoCL's queue in a child of a process that had run a kernel never finished the
    child's first command, and a context the child created after its parent had only
    listed the devices never finished one either (the child hung). The devices forget
    their contexts here, so that their next use raises OpenCLForkError."""
    for dev in _devices or ():
        if dev._context is not None:
            _inherited.append((dev._context, dev._queue))
        dev._context = dev._queue = None
        dev._forked_from = os.getppid()


def _watch_fork() -> None:
    global _fork_watched
    if not _fork_watched:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _fork_watched = True


def _import_pyopencl() -> Any:
    global _cl_module, _import_error
    if _cl_module is not None:
        return _cl_module
    if _import_error is not None:
        raise OpenCLUnavailableError(
            f"pyopencl cannot be imported ({_import_error}). {INSTALL_HINT}"
        ) from _import_error
    try:
        import pyopencl
    except Exception as err:
        _import_error = err
        raise OpenCLUnavailableError(
            f"pyopencl cannot be imported ({err}). {INSTALL_HINT}"
        ) from err
    _cl_module = pyopencl
    return pyopencl


def cl_module() -> Any:
    """The pyopencl module, imported on first use; raises OpenCLUnavailableError if missing."""
    return _import_pyopencl()


class Device:
    """One OpenCL device, with its lazily created context and in-order command queue.

    Instances are singletons per (platform index, device index), so they can key caches.
    """

    def __init__(self, cl_device: Any, platform_index: int, device_index: int) -> None:
        clm = cl_module()
        self.cl_device = cl_device
        self.platform_index = platform_index
        self.device_index = device_index
        self.name: str = cl_device.name.strip()
        self.platform_name: str = cl_device.platform.name.strip()
        self.platform_version: str = cl_device.platform.version.strip()
        self.driver_version: str = cl_device.driver_version.strip()
        self.version: str = cl_device.version.strip()
        self.extensions: frozenset[str] = frozenset(cl_device.extensions.split())
        self.has_fp64: bool = "cl_khr_fp64" in self.extensions
        self.has_fp16: bool = "cl_khr_fp16" in self.extensions
        self.is_gpu: bool = bool(cl_device.type & clm.device_type.GPU)
        self.type_name: str = clm.device_type.to_string(cl_device.type)
        self.local_mem_size: int = int(cl_device.local_mem_size)
        self.max_work_group_size: int = int(cl_device.max_work_group_size)
        self.max_work_item_sizes: tuple[int, ...] = tuple(
            int(s) for s in cl_device.max_work_item_sizes
        )
        self.compute_units: int = int(cl_device.max_compute_units)
        self.vector_width_float: int = max(1, int(cl_device.preferred_vector_width_float))
        self.global_mem_size: int = int(cl_device.global_mem_size)
        self.max_mem_alloc_size: int = int(cl_device.max_mem_alloc_size)
        self._context: Any = None
        self._queue: Any = None
        self._forked_from: int | None = None

    @property
    def spec(self) -> str:
        """The `platform:device` index string that selects this device."""
        return f"{self.platform_index}:{self.device_index}"

    @property
    def context(self) -> Any:
        """The device's cl.Context, created on first use."""
        if self._context is None:
            with _lock:
                if self._context is None:
                    if self._forked_from is not None:
                        raise OpenCLForkError(
                            f"OpenCL device {self.describe()} was opened in process "
                            f"{self._forked_from}, and this process ({os.getpid()}) was "
                            "forked from it: an OpenCL context does not survive a fork (the "
                            "driver's threads stay in the parent). Start worker processes "
                            "with multiprocessing.get_context('spawn') or 'forkserver', or "
                            "use funcgrad's C backend in forked workers "
                            "(funcgrad.config.update('backend', 'c'))."
                        )
                    self._context = cl_module().Context([self.cl_device])
        return self._context

    @property
    def queue(self) -> Any:
        """The device's in-order cl.CommandQueue, created on first use."""
        if self._queue is None:
            ctx = self.context
            with _lock:
                if self._queue is None:
                    self._queue = cl_module().CommandQueue(ctx, self.cl_device)
        return self._queue

    def synchronize(self) -> None:
        """Wait until every command enqueued on this device has finished."""
        if self._queue is not None:
            self._queue.finish()

    def check_dtype(self, dtype: Any) -> np.dtype:
        """Return `dtype` as np.dtype, or raise OpenCLDtypeError if the device lacks it."""
        dt = np.dtype(dtype)
        if dt in (np.float64, np.complex128) and not self.has_fp64:
            raise OpenCLDtypeError(
                f"dtype {dt} is not supported on OpenCL device {self.name!r} "
                f"({self.platform_name}): it lacks the cl_khr_fp64 extension; "
                f"use {'float32' if dt == np.float64 else 'complex64'} on this device, "
                f"or pick another device with {DEVICE_ENV}."
            )
        # Complex values are float2/double2 in kernels, bfloat16 is ushort storage computed
        # in float (ml_dtypes' dtype has kind 'V', so it is named here); ml_dtypes' 1-byte
        # types (float8_*, int4, ...) are stored as bytes (funcgrad computes them on the host).
        narrow = dt.itemsize == 1 and dt.type.__module__ == "ml_dtypes"
        if dt.hasobject or (dt.kind not in "biufc" and dt.name != "bfloat16" and not narrow):
            raise OpenCLDtypeError(
                f"dtype {dt} cannot live in an OpenCL buffer on device {self.name!r}"
            )
        return dt

    def describe(self) -> str:
        """One line: spec, name, type, platform and driver."""
        return (
            f"[{self.spec}] {self.name} ({self.type_name}, {self.platform_name}, "
            f"driver {self.driver_version})"
        )

    def __repr__(self) -> str:
        return f"<opencl.Device {self.describe()}>"


def _enumerate() -> list[Device]:
    global _devices, _platform_error
    if _devices is not None:
        return _devices
    if _platform_error is not None:
        raise _platform_error
    clm = cl_module()
    with _lock:
        if _devices is not None:
            return _devices
        try:
            platforms = clm.get_platforms()
        except Exception as err:
            _platform_error = OpenCLUnavailableError(
                f"no OpenCL platform found ({err}). {INSTALL_HINT}"
            )
            raise _platform_error from err
        found: list[Device] = []
        for p_index, platform in enumerate(platforms):
            try:
                cl_devices = platform.get_devices()
            except Exception:  # noqa: BLE001, S112 - a platform without devices
                continue
            for d_index, cl_device in enumerate(cl_devices):
                found.append(Device(cl_device, p_index, d_index))
        if not found:
            _platform_error = OpenCLUnavailableError(
                f"OpenCL platforms exist ({', '.join(p.name for p in platforms)}) but "
                f"expose no device. {INSTALL_HINT}"
            )
            raise _platform_error
        _devices = found
        _watch_fork()
        return found


def devices() -> list[Device]:
    """All OpenCL devices of all platforms; raises OpenCLUnavailableError if there are none."""
    return list(_enumerate())


def available() -> bool:
    """True if pyopencl imports and at least one OpenCL device exists. Never raises."""
    return platform_error() is None


def platform_error() -> OpenCLUnavailableError | None:
    """Why OpenCL is unusable (an OpenCLUnavailableError to show or raise), or None."""
    try:
        _enumerate()
    except OpenCLUnavailableError as err:
        return err
    return None


_SPEC_RE = re.compile(r"^\s*(\d+)\s*:\s*(\d+)\s*$")


def select_device(spec: str) -> Device:
    """The device named by `spec`: `platform:device` indices (e.g. `0:1`) or a
    case-insensitive substring of the device name (or platform name)."""
    all_devices = _enumerate()
    match = _SPEC_RE.match(spec)
    if match:
        key = (int(match.group(1)), int(match.group(2)))
        chosen = [d for d in all_devices if (d.platform_index, d.device_index) == key]
    else:
        needle = spec.strip().lower()
        chosen = [d for d in all_devices if needle in d.name.lower()]
        if not chosen:
            chosen = [d for d in all_devices if needle in d.platform_name.lower()]
    if not chosen:
        listing = "\n  ".join(d.describe() for d in all_devices)
        raise OpenCLUnavailableError(
            f"no OpenCL device matches {spec!r} (from {DEVICE_ENV} or select_device); "
            f"use `platform:device` indices or a substring of a name. Devices:\n  {listing}"
        )
    return chosen[0]


def default_device() -> Device:
    """The device used when none is given: `$FUNCGRAD_OPENCL_DEVICE` if set, else the
    first GPU, else the first device."""
    spec = os.environ.get(DEVICE_ENV, "").strip()
    if spec:
        return select_device(spec)
    all_devices = _enumerate()
    for dev in all_devices:
        if dev.is_gpu:
            return dev
    return all_devices[0]


def resolve_device(device: Device | None) -> Device:
    """`device` itself, or default_device() when None."""
    return default_device() if device is None else device


def synchronize(device: Device | None = None) -> None:
    """Wait for all enqueued work on `device`, or on every device when None."""
    if device is not None:
        device.synchronize()
        return
    if _devices is None:
        return
    for dev in _devices:
        dev.synchronize()


def _fits(ts: int, device: Device, itemsize: int) -> bool:
    sizes = device.max_work_item_sizes
    return (
        ts * ts <= device.max_work_group_size
        and 2 * ts * ts * itemsize <= device.local_mem_size
        and (len(sizes) < 2 or (sizes[0] >= ts and sizes[1] >= ts))
    )


def preferred_matmul_tile(device: Device | None = None, itemsize: int = 4) -> int:
    """Tile edge TS for a local-memory tiled matmul with TS x TS work-groups: the largest
    of 16, 8, 4, 2, 1 with TS*TS <= max work-group size and two TS x TS tiles of
    `itemsize` bytes in local memory."""
    dev = resolve_device(device)
    for ts in (16, 8, 4, 2):
        if _fits(ts, dev, itemsize):
            return ts
    return 1


def preferred_work_group_size(device: Device | None = None, itemsize: int = 4) -> int:
    """A 1-D work-group size for reductions: the largest power of two <= 256 that fits
    the device's work-group limit and whose `itemsize`-byte scratch fits local memory."""
    dev = resolve_device(device)
    limit = min(256, dev.max_work_group_size, dev.max_work_item_sizes[0])
    size = 1
    while size * 2 <= limit and size * 2 * itemsize <= dev.local_mem_size:
        size *= 2
    return size
