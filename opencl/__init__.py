"""funcgrad's OpenCL runtime, knowing nothing of the IR: devices, buffers, programs, launch.

- `runtime`: lazy pyopencl import, availability, device selection, contexts and queues,
  synchronisation, device limits for tile sizes.
- `buffers`: `DeviceBuffer`, transfers, the per-device buffer pool.
- `programs`: `build_program` with the on-disk binary cache, `Program`, `Kernel` launch.

Importing this package never imports pyopencl; the first use does, and raises
`OpenCLUnavailableError` with installation advice if there is no usable platform.
"""

from .buffers import (
    BufferPool,
    DeviceBuffer,
    PoolStats,
    bucket_size,
    buffer_pool,
    empty,
    local_memory,
    pool_stats,
    to_device,
)
from .programs import (
    BinaryCache,
    Kernel,
    OpenCLBuildError,
    Program,
    build_program,
    build_stats,
    cache_dir,
    cache_key,
    clear_program_memo,
    reset_build_stats,
)
from .runtime import (
    DEVICE_ENV,
    INSTALL_HINT,
    Device,
    OpenCLDtypeError,
    OpenCLUnavailableError,
    available,
    cl_module,
    default_device,
    devices,
    platform_error,
    preferred_matmul_tile,
    preferred_work_group_size,
    resolve_device,
    select_device,
    synchronize,
)

__all__ = [
    "DEVICE_ENV",
    "INSTALL_HINT",
    "BinaryCache",
    "BufferPool",
    "Device",
    "DeviceBuffer",
    "Kernel",
    "OpenCLBuildError",
    "OpenCLDtypeError",
    "OpenCLUnavailableError",
    "PoolStats",
    "Program",
    "available",
    "bucket_size",
    "buffer_pool",
    "build_program",
    "build_stats",
    "cache_dir",
    "cache_key",
    "cl_module",
    "clear_program_memo",
    "default_device",
    "devices",
    "empty",
    "local_memory",
    "platform_error",
    "pool_stats",
    "preferred_matmul_tile",
    "preferred_work_group_size",
    "reset_build_stats",
    "resolve_device",
    "select_device",
    "synchronize",
    "to_device",
]
