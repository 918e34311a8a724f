"""funcgrad.distributed's process-level settings (no MPI launcher needed)."""
from __future__ import annotations

import ctypes
import platform

import pytest

from funcgrad.distributed import runtime


def _glibc() -> bool:
    try:
        return hasattr(ctypes.CDLL(None), "gnu_get_libc_version")
    except OSError:
        return False


@pytest.mark.skipif(platform.system() != "Linux" or not _glibc(), reason="glibc only")
def test_keep_freed_buffers_raises_glibcs_thresholds():
    # mallopt returns 1 for each accepted value: both must be within glibc's limits.
    assert runtime.keep_freed_buffers() is True


@pytest.mark.parametrize("var", runtime._MALLOC_ENV)
def test_keep_freed_buffers_leaves_a_users_malloc_settings(monkeypatch, var):
    monkeypatch.setenv(var, "131072")
    assert runtime.keep_freed_buffers() is False


def test_fused_buffers_are_reused_only_once_every_result_is_gone():
    """The allreduce's fused buffer is handed out again step after step, but never while a
    result (a view of it) is alive: results a caller keeps are not overwritten."""
    import numpy as np
    pool = runtime._FusedBuffers(per_size=2)
    f32 = np.dtype(np.float32)
    a = pool.get(f32, 10)
    a[:] = 1.0
    a_id, kept = id(a), a[2:5].reshape(3, 1)     # a result the caller keeps
    del a
    b = pool.get(f32, 10)
    assert id(b) != a_id and not np.shares_memory(kept, b)
    b[:] = 2.0
    assert (kept == 1.0).all()
    b_id = id(b)
    del b                                        # nothing refers to b any more: reused
    assert id(pool.get(f32, 10)) == b_id
    del kept
    assert id(pool.get(f32, 10)) == a_id
    assert pool.get(np.dtype(np.float64), 10).dtype == np.float64
    held = [pool.get(f32, 4) for _ in range(3)]  # more than per_size at once
    assert len({id(h) for h in held}) == 3 and len(pool._kept[(f32, 4)]) == 2


def test_waiting_gives_the_core_away_between_polls(monkeypatch):
    """A wait yields the core after every unsuccessful poll instead of spinning first (on
    a loaded 2-core machine spinning made the fused allreduce 1.3x slower)."""
    polls = []

    class Request:
        @staticmethod
        def Testall(requests):
            polls.append(1)
            return len(polls) > 5

    class FakeMPI:
        pass
    FakeMPI.Request = Request
    world = object.__new__(runtime.MPIWorld)
    world.MPI, world.timeout, world.rank, world.size = FakeMPI, 60.0, 0, 2
    yields = []
    monkeypatch.setattr(runtime, "_yield_core", lambda: yields.append(1))
    world._wait([object()], "a test")
    assert len(polls) == 6 and len(yields) == 4   # the first poll, then yield after each
