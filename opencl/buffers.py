"""Device memory: `DeviceBuffer`, host<->device transfers and the per-device buffer pool.

A DeviceBuffer is an n-d array's bytes in one cl.Buffer on one device. Freed buffers
(explicit `release()` or garbage collection) go back to their device's `BufferPool`,
bucketed by rounded byte size, so a training loop allocates once and then reuses.
Transfers to the device are asynchronous (the host data is copied first, so the caller
may mutate it); `to_host()` waits for the device.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .runtime import Device, cl_module, resolve_device

MIN_BUCKET = 64


def bucket_size(nbytes: int) -> int:
    """Pool size class for an `nbytes` request: at least MIN_BUCKET, rounded up to 1/8
    of its power of two, so at most 12.5% of a bucket is slack."""
    n = max(int(nbytes), MIN_BUCKET)
    step = 1 << max((n - 1).bit_length() - 3, MIN_BUCKET.bit_length() - 1)
    return -(-n // step) * step


@dataclass
class PoolStats:
    """Counters of one device's buffer pool."""

    allocations: int = 0
    reuses: int = 0
    releases: int = 0
    frees: int = 0
    pooled_buffers: int = 0
    pooled_bytes: int = 0
    live_buffers: int = 0
    live_bytes: int = 0


class BufferPool:
    """Free cl.Buffers of one device, keyed by bucket size. Thread-safe."""

    def __init__(self, device: Device, max_pooled_bytes: int | None = None) -> None:
        self.device = device
        self.max_pooled_bytes = (
            device.global_mem_size // 2 if max_pooled_bytes is None else max_pooled_bytes
        )
        self._free: dict[int, list[Any]] = {}
        self._lock = threading.Lock()
        # Plain counters (a compiled program takes and gives back a buffer on every call):
        # the pool's and the live buffers' counts are derived in `stats`.
        self._allocations = self._reuses = self._releases = self._frees = 0
        self._pooled_bytes = self._live_bytes = 0

    def acquire(self, nbytes: int) -> tuple[Any, int]:
        """A cl.Buffer of at least `nbytes` bytes and its bucket size, reused if possible."""
        size = bucket_size(nbytes)
        return self.acquire_bucket(size), size

    def acquire_bucket(self, size: int) -> Any:
        """A cl.Buffer of bucket size `size` (a `bucket_size` value), reused if possible."""
        with self._lock:
            free = self._free.get(size)
            if free:
                self._reuses += 1
                self._pooled_bytes -= size
                self._live_bytes += size
                return free.pop()
        buf = self._allocate(size)
        with self._lock:
            self._allocations += 1
            self._live_bytes += size
        return buf

    def _allocate(self, size: int) -> Any:
        clm = cl_module()
        # (pyopencl raises MemoryError or RuntimeError when the device is out of memory,
        # LogicError for a size above its largest allocation: INVALID_BUFFER_SIZE)
        failures = (clm.MemoryError, clm.RuntimeError, clm.LogicError)
        try:
            return clm.Buffer(self.device.context, clm.mem_flags.READ_WRITE, size)
        except failures:
            self.trim()
        try:
            return clm.Buffer(self.device.context, clm.mem_flags.READ_WRITE, size)
        except failures as e:
            raise MemoryError(_no_room(self.device, size, e)) from None

    def give_back(self, buf: Any, size: int) -> None:
        """Return a buffer from `acquire`; it is pooled unless the pool is full."""
        with self._lock:
            self._releases += 1
            self._live_bytes -= size
            if self._pooled_bytes + size <= self.max_pooled_bytes:
                free = self._free.get(size)
                if free is None:
                    free = self._free[size] = []
                free.append(buf)
                self._pooled_bytes += size
                return
            self._frees += 1
        buf.release()

    def trim(self) -> None:
        """Free every pooled (unused) buffer."""
        with self._lock:
            free, self._free = self._free, {}
            self._frees += sum(len(bufs) for bufs in free.values())
            self._pooled_bytes = 0
        for bufs in free.values():
            for buf in bufs:
                buf.release()

    def stats(self) -> PoolStats:
        """A snapshot of the pool's counters."""
        with self._lock:
            return PoolStats(
                allocations=self._allocations, reuses=self._reuses,
                releases=self._releases, frees=self._frees,
                pooled_buffers=sum(len(bufs) for bufs in self._free.values()),
                pooled_bytes=self._pooled_bytes,
                live_buffers=self._allocations + self._reuses - self._releases,
                live_bytes=self._live_bytes)


def _no_room(device: Device, size: int, err: Exception) -> str:
    """The message of a device buffer that could not be allocated, pooled buffers freed."""
    gib = 1 << 30
    return (f"OpenCL: cannot allocate a buffer of {size / gib:.2f} GiB on {device.name!r} "
            f"(its largest allocation is {device.max_mem_alloc_size / gib:.2f} GiB, its "
            f"memory {device.global_mem_size / gib:.2f} GiB; {type(err).__name__}: "
            f"{str(err).strip()}). Use smaller arrays (split the batch), or run on the C "
            f"backend: jit(..., backend='c') or funcgrad.config.update('backend', 'c')")


_pools: dict[Device, BufferPool] = {}
_pools_lock = threading.Lock()


def buffer_pool(device: Device | None = None) -> BufferPool:
    """The buffer pool of `device` (default device when None), created on first use."""
    dev = resolve_device(device)
    pool = _pools.get(dev)
    if pool is None:
        with _pools_lock:
            pool = _pools.setdefault(dev, BufferPool(dev))
    return pool


def pool_stats(device: Device | None = None) -> PoolStats:
    """Counters of `device`'s buffer pool: allocations, reuses, releases, pooled bytes."""
    return buffer_pool(device).stats()


def _return_to_pool(pool: BufferPool, buf: Any, size: int) -> None:
    try:
        pool.give_back(buf, size)
    except Exception:  # noqa: BLE001, S110 - a GC finalizer must not raise
        pass


def _normalize_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    out = tuple(int(s) for s in shape)
    if any(s < 0 for s in out):
        raise ValueError(f"negative dimension in shape {out}")
    return out


class DeviceBuffer:
    """An n-d array (shape, dtype) stored in one cl.Buffer on one device.

    Create with `empty` or `to_device`. The memory goes back to the device's pool on
    `release()` or when the object is garbage collected; enqueued kernels that still use
    it are safe because each device has a single in-order queue.
    """

    _buffer: Any = None           # (class defaults: `__del__` of a half-made buffer)
    _pool: BufferPool | None = None
    _ready = False                # the commands writing it are known to have finished
    _marker: Any = None           # the marker `is_ready` polls

    def __init__(self, shape: int | Sequence[int], dtype: Any,
                 device: Device | None = None) -> None:
        dev = resolve_device(device)
        dt = dev.check_dtype(dtype)
        shape = _normalize_shape(shape)
        nbytes = math.prod(shape) * dt.itemsize
        self._fill(shape, dt, dev, buffer_pool(dev), nbytes, bucket_size(nbytes))

    @classmethod
    def _pooled(cls, shape: tuple[int, ...], dtype: np.dtype, device: Device,
                pool: BufferPool, nbytes: int, bucket: int) -> DeviceBuffer:
        """`DeviceBuffer(shape, dtype, device)` for a caller that has checked the dtype and
        normalised the shape once and knows the byte and bucket sizes: compiled programs
        allocate their outputs this way on every call (~1 us instead of ~8)."""
        self = object.__new__(cls)
        self._fill(shape, dtype, device, pool, nbytes, bucket)
        return self

    def _fill(self, shape, dtype, device, pool, nbytes, bucket) -> None:
        self.dtype: np.dtype = dtype
        self.shape: tuple[int, ...] = shape
        self.device: Device = device
        self.nbytes: int = nbytes
        self._buffer: Any = pool.acquire_bucket(bucket)
        self.capacity: int = bucket
        self._pending: Any = None
        self._base: DeviceBuffer | None = None
        self._pool: BufferPool | None = pool    # None for a view: its base gives the memory back

    def __del__(self) -> None:
        # (cheaper than a weakref.finalize per buffer, which cost ~4 us of every call)
        buf = self._buffer
        if buf is not None and self._pool is not None:
            self._buffer = None
            _return_to_pool(self._pool, buf, self.capacity)

    @property
    def size(self) -> int:
        """Number of elements."""
        return math.prod(self.shape)

    @property
    def ndim(self) -> int:
        """Number of dimensions."""
        return len(self.shape)

    @property
    def released(self) -> bool:
        """True once this buffer (or view) gave up its memory."""
        return self._buffer is None

    @property
    def buffer(self) -> Any:
        """The underlying cl.Buffer (its size is `capacity`, possibly > `nbytes`)."""
        if self._buffer is None:
            raise RuntimeError(
                f"DeviceBuffer{self.shape} {self.dtype} was released; it cannot be used"
            )
        return self._buffer

    def write(self, array: Any) -> DeviceBuffer:
        """Enqueue a copy of `array` (same shape, cast to this dtype) into the buffer.
        Returns at once; the host data is copied first so the caller may reuse it."""
        host = np.array(array, dtype=self.dtype, order="C", copy=True)
        if host.shape != self.shape:
            raise ValueError(
                f"cannot write an array of shape {host.shape} into DeviceBuffer of shape "
                f"{self.shape}"
            )
        if self.nbytes:
            clm = cl_module()
            self._pending = clm.enqueue_copy(
                self.device.queue, self.buffer, host, is_blocking=False
            )
            self._ready, self._marker = False, None
        return self

    def to_host(self) -> np.ndarray:
        """A new NumPy array with the contents, after all enqueued work on the device."""
        out = np.empty(self.shape, dtype=self.dtype)
        if self.nbytes:
            clm = cl_module()
            clm.enqueue_copy(self.device.queue, out, self.buffer, is_blocking=True)
        self._pending = None
        self._ready = True
        return out

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.to_host()
        return out if dtype is None else out.astype(dtype, copy=False)

    def copy(self) -> DeviceBuffer:
        """A new DeviceBuffer with the same contents (device-to-device, asynchronous)."""
        out = DeviceBuffer(self.shape, self.dtype, self.device)
        if self.nbytes:
            clm = cl_module()
            clm.enqueue_copy(
                self.device.queue, out.buffer, self.buffer, byte_count=self.nbytes
            )
        return out

    def is_ready(self) -> bool:
        """Whether the commands enqueued before the first call have finished, without
        waiting: the status of a marker enqueued behind them (kept, so that polling does not
        enqueue a marker per call). Once true it stays true: a buffer handed out is never
        written again."""
        if self._ready:
            return True
        clm = cl_module()
        if self._marker is None:
            self._marker = clm.enqueue_marker(self.device.queue)
            self.device.queue.flush()
        if self._marker.command_execution_status == clm.command_execution_status.COMPLETE:
            self._ready, self._marker = True, None
        return self._ready

    def to_host_async(self) -> Callable[[], np.ndarray]:
        """Enqueue a copy of the contents into a new NumPy array and return at once; the
        returned function waits for the copy, marks the buffer ready and returns the
        (read-only) array."""
        out = np.empty(self.shape, dtype=self.dtype)
        event = None
        if self.nbytes:
            clm = cl_module()
            event = clm.enqueue_copy(self.device.queue, out, self.buffer, is_blocking=False)
            self.device.queue.flush()

        def wait() -> np.ndarray:
            if event is not None:
                event.wait()
            # (the read ran after the commands that wrote the buffer: the queue is in order)
            self._ready = True
            out.flags.writeable = False
            return out
        return wait

    def block_until_ready(self) -> DeviceBuffer:
        """Wait until every command enqueued on this buffer's device has finished."""
        self.device.synchronize()
        self._pending = None
        self._ready = True
        return self

    def reshape(self, shape: int | Sequence[int]) -> DeviceBuffer:
        """A view with another shape of the same size, sharing this buffer's memory; the
        memory stays alive while any view does."""
        new_shape = _normalize_shape(shape)
        if math.prod(new_shape) != self.size:
            raise ValueError(f"cannot reshape DeviceBuffer of shape {self.shape} to {new_shape}")
        view = object.__new__(DeviceBuffer)
        view.dtype, view.shape, view.device = self.dtype, new_shape, self.device
        view.nbytes, view.capacity = self.nbytes, self.capacity
        view._buffer, view._pending, view._pool = self.buffer, None, None
        view._base = self if self._base is None else self._base
        return view

    def release(self) -> None:
        """Give the memory back to the device's pool now (for a view: drop the reference
        to its base). Idempotent."""
        buf, self._buffer = self._buffer, None
        self._pending = None
        self._base = None
        if buf is not None and self._pool is not None:
            _return_to_pool(self._pool, buf, self.capacity)

    def __repr__(self) -> str:
        state = " released" if self.released else ""
        return f"<DeviceBuffer shape={self.shape} dtype={self.dtype} on {self.device.name}{state}>"


def empty(shape: int | Sequence[int], dtype: Any = np.float32,
          device: Device | None = None) -> DeviceBuffer:
    """An uninitialised DeviceBuffer (memory from the device's pool)."""
    return DeviceBuffer(shape, dtype, device)


def to_device(array: Any, device: Device | None = None, dtype: Any = None) -> DeviceBuffer:
    """Copy a host array (anything np.asarray accepts) to a new DeviceBuffer, asynchronously."""
    host = np.asarray(array, dtype=dtype)
    out = DeviceBuffer(host.shape, host.dtype, device)
    return out.write(host)


def local_memory(nbytes: int) -> Any:
    """A `__local` kernel argument of `nbytes` bytes."""
    return cl_module().LocalMemory(int(nbytes))
