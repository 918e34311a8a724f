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
