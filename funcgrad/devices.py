"""Devices and placement: `devices()`, `device_put`, `default_backend()`."""
from __future__ import annotations

import numpy as np

from . import backends, config, core
from .backends.base import Device
from .core import Array, ArrayImpl
from .sharding import Shard, SingleDeviceSharding
from .tree import flatten_up_to, tree_flatten, tree_leaves, tree_unflatten


def devices(backend: str | None = None) -> list[Device]:
    """The devices of `backend` (default: the default backend)."""
    name = backend or backends.default_backend_name()
    b = backends.get_backend(name)
    return b.devices() or [Device(name, 0)]


def default_backend() -> str:
    """The name of the default backend ('c', 'reference' or 'opencl')."""
    return backends.default_backend_name()


def _per_leaf(spec, x, what: str, leaf_types: tuple, n: int) -> list:
    """`spec` (one value, or a pytree prefix of `x` holding such values) as one value per
    leaf of `x`, as JAX broadcasts `device_put`'s `src`, `donate` and `may_alias`."""
    if spec is None or isinstance(spec, leaf_types):
        return [spec] * n
    spec_leaves, spec_tree = tree_flatten(spec, is_leaf=lambda v: v is None)
    subtrees = flatten_up_to(spec_tree, x, f"device_put {what}")
    out = []
    for s, sub in zip(spec_leaves, subtrees):
        if s is not None and not isinstance(s, leaf_types):
            raise TypeError(f"device_put: {what} leaves must be "
                            f"{' or '.join(t.__name__ for t in leaf_types)} (or None), got "
                            f"{type(s).__name__}: {s!r:.60}")
        out.extend([s] * len(tree_leaves(sub)))
    return out


def _check_src(src) -> None:
    if src is None:
        return
    if isinstance(src, str):
        devices(src)              # an unknown backend name raises here, naming the choices
    elif not isinstance(src, Device):
        raise TypeError(f"device_put: src must be a Device or a backend name, got "
                        f"{type(src).__name__}")


def _copy(a: ArrayImpl) -> ArrayImpl:
    """A new array with its own buffer, on the same backend as `a`."""
    v = np.array(a._host_value())
    v.flags.writeable = False
    host = ArrayImpl(v, a.aval)
    if a._backend is None:
        return host
    return a._backend.device_put(host, None) or host


def device_put(x, device=None, *, src=None, donate=False, may_alias=None):
    """Place every array leaf of `x` on `device` (a Device, a SingleDeviceSharding, or a
    backend name; None: the default backend), as JAX's `device_put`; tracers pass through
    unchanged.

    - `donate` (a bool, or a pytree prefix of `x` of bools): a donated funcgrad array is
      marked deleted, its buffer handed to the result (using it afterwards raises), as JAX
      specifies donation; NumPy arrays and Python scalars are not funcgrad's to delete, so
      donating them has no effect (JAX's "best effort").
    - `may_alias` (None, a bool, or a prefix): False always copies; True lets the result be
      `x` itself when it already is on `device`; None means `not donate`. True together
      with `donate=True` is a ValueError, as in JAX.
    - `src` (a Device, a backend name, or a prefix of them): where `x` lives. A funcgrad
      array knows its own placement, so `src` is validated and otherwise has no effect, as
      on JAX's single CPU device."""
    if device is None:
        device = devices()[0]
    if isinstance(device, SingleDeviceSharding):
        device = next(iter(device.device_set))
    if isinstance(device, str):
        device = devices(device)[0]
    if not isinstance(device, Device):
        raise TypeError(f"device_put: device must be a funcgrad Device (from "
                        f"`funcgrad.devices()`), a SingleDeviceSharding or a backend name "
                        f"('c', 'reference', 'opencl'), got {type(device).__name__}: "
                        f"{device!r:.60}")
    b = backends.get_backend(device.platform)
    leaves, treedef = tree_flatten(x)
    n = len(leaves)
    for s in _per_leaf(src, x, "src", (Device, str), n):
        _check_src(s)
    donates = _per_leaf(donate, x, "donate", (bool, np.bool_), n)
    aliases = _per_leaf(may_alias, x, "may_alias", (bool, np.bool_), n)

    def put(a, donate_it, alias):
        if isinstance(a, core.Tracer):
            return a
        if type(a) in (bool, int, float, complex):
            a = core.to_array(a)      # weakly typed, as JAX's device_put(1.0)
        donate_it = bool(donate_it)
        if alias and donate_it:
            raise ValueError("device_put: may_alias and donate cannot be True at the same "
                             "time (a donated input is deleted, so the result cannot alias it)")
        alias = (not donate_it) if alias is None else bool(alias)
        if isinstance(a, ArrayImpl) and a.is_deleted():
            a._host_value()       # raises: a deleted or donated array cannot be placed
        placed = b.device_put(a, device)
        if placed is None:
            if isinstance(a, ArrayImpl) and a._backend is None:
                placed = a
            else:
                v = np.asarray(a)
                placed = core.to_array(v) if not isinstance(a, Array) else ArrayImpl(
                    np.array(v), a.aval)
        if placed is a and not alias:
            # The result must not be `a`: donation moves `a`'s buffer into a new array (and
            # deletes `a`); may_alias=False copies it.
            placed = ArrayImpl(a._value, a.aval, a._backend) if donate_it else _copy(a)
        if donate_it and isinstance(a, ArrayImpl):
            a.delete("donated")
        if type(placed) is ArrayImpl:
            # jit's dispatch then finds the array's signature by identity (0.2 us a call)
            placed.aval = core.canonical_aval(placed.aval)
        return placed

    return tree_unflatten(treedef, [put(a, d, m) for a, d, m in zip(leaves, donates, aliases)])


def copy_to_host_async(x):
    """Start copying every device-array leaf of `x` to host memory (a leaf that is not a
    funcgrad array, or is in host memory already, is left alone); returns `x`."""
    for leaf in tree_leaves(x):
        if isinstance(leaf, ArrayImpl):
            leaf.copy_to_host_async()
    return x


def _select_backend(name):
    backends.set_default_backend(name)


config.on_update("backend", _select_backend)


# --- JAX's placement API on arrays -------------------------------------------------------
# Attached to ArrayImpl here (core sits below the backends and must not import them), as
# funcgrad.numpy attaches the operators.

def _array_device(self) -> Device:
    """The Device holding the array. An array in host memory (the `c` and `reference`
    backends share it) reports the default backend's device when that is one of the two,
    and `c`'s otherwise."""
    self._check_alive()
    if self._backend is not None:
        return self._backend.device_of(self._value)
    name = backends.default_backend_name()
    return backends.get_backend(name if name in ("c", "reference") else "c").device_of(
        self._value)


def _array_devices(self) -> set[Device]:
    """{the Device holding the array} (funcgrad never splits an array over devices)."""
    return {self.device}


def _array_sharding(self) -> SingleDeviceSharding:
    """`SingleDeviceSharding(x.device)`: the whole array on one device."""
    return SingleDeviceSharding(self.device)


def _array_shards(self) -> list[Shard]:
    """[Shard(device, index=(slice(None),) * ndim, replica_id=0, data=x)]."""
    return [Shard(self.device, (slice(None),) * self.ndim, 0, self)]


def _array_is_ready(self) -> bool:
    """Whether the computation producing the array has finished, without waiting: the C
    and reference backends finish before a call returns; OpenCL asks its queue."""
    self._check_alive()
    return True if self._backend is None else self._backend.is_ready(self._value)


def _array_copy_to_host_async(self) -> None:
    """Start copying a device array to host memory, so that a later `np.asarray(x)` or
    `float(x)` does not wait for the transfer (JAX's); host arrays are there already."""
    self._check_alive()
    if self._backend is not None and self._host is None:
        self._host = self._backend.copy_to_host_async(self._value)


def _array_size_in_bytes(self) -> int:
    """The bytes of the array's buffer."""
    return self.nbytes


def _array_buffer_pointer(self) -> int:
    """The address of a host array's first element (valid while the array is alive). An
    OpenCL buffer has no address the host may use: this raises for it."""
    v = self._host_value()
    if self._backend is not None:
        raise NotImplementedError(
            f"unsafe_buffer_pointer: the {self.aval.short()} array lives in an OpenCL "
            f"buffer ({self.device}), which has no host address; read it with np.asarray(x), "
            "or place it in host memory with device_put(x, 'c')")
    return int(v.__array_interface__["data"][0])


def _array_to_device(self, device, /, *, stream=None):
    """The array on `device` (the Array API standard's spelling of `device_put`)."""
    if stream is not None:
        raise NotImplementedError("Array.to_device: funcgrad has no streams; pass stream=None")
    return device_put(self, device)


def _device_process_index(self) -> int:
    """The process driving the device (the MPI rank under `funcgrad.distributed`)."""
    from .distributed import runtime
    return runtime.process_index()


Device.process_index = property(_device_process_index)

for _name, _value in (
        ("device", property(_array_device)), ("devices", _array_devices),
        ("sharding", property(_array_sharding)), ("addressable_shards", property(_array_shards)),
        ("global_shards", property(_array_shards)),
        ("is_fully_addressable", property(lambda self: True)),
        ("is_fully_replicated", property(lambda self: True)),
        ("is_ready", _array_is_ready), ("copy_to_host_async", _array_copy_to_host_async),
        ("on_device_size_in_bytes", _array_size_in_bytes),
        ("unsafe_buffer_pointer", _array_buffer_pointer), ("to_device", _array_to_device)):
    setattr(ArrayImpl, _name, _value)
del _name, _value
