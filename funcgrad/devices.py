"""Devices and placement: `devices()`, `device_put`, `default_backend()`."""
from __future__ import annotations

import numpy as np

from . import backends, config, core
from .backends.base import Device
from .core import Array, ArrayImpl
from .tree import tree_map


def devices(backend: str | None = None) -> list[Device]:
    name = backend or backends.default_backend_name()
    b = backends.get_backend(name)
    return b.devices() or [Device(name, 0)]


def default_backend() -> str:
    return backends.default_backend_name()


def device_put(x, device=None):
    """Place every array leaf of `x` on `device` (a Device, or a backend name)."""
    if device is None:
        device = devices()[0]
    if isinstance(device, str):
        device = devices(device)[0]
    b = backends.get_backend(device.platform)

    def put(a):
        if isinstance(a, core.Tracer):
            return a
        placed = b.device_put(a, device)
        if placed is not None:
            return placed
        v = np.asarray(a)
        if isinstance(a, ArrayImpl) and a._backend is None:
            return a
        w = core.to_array(v) if not isinstance(a, Array) else ArrayImpl(
            np.array(v), a.aval)
        return w

    return tree_map(put, x)


def _select_backend(name):
    backends.set_default_backend(name)


config.on_update("backend", _select_backend)
