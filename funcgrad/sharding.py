"""Where an array's data lives, in JAX's vocabulary (`jax.sharding`).

A funcgrad process drives one device per backend and never splits an array across
devices, so every array has a `SingleDeviceSharding`: one shard, the whole array, on
one device. `x.sharding`, `x.addressable_shards` and `device_put(x, sharding)` use it as
JAX code does. Meshes, `NamedSharding` and `PartitionSpec` are not here: data-parallel
training over several processes is `funcgrad.distributed`.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .backends.base import Device


class Shard(NamedTuple):
    """One piece of an array on one device (`x.addressable_shards`): `index` is the tuple
    of slices it covers (the whole array here), `data` the piece as an array."""

    device: Device
    index: tuple
    replica_id: int
    data: Any


class Sharding:
    """Base of the ways an array is laid out over devices (`isinstance(s, Sharding)`)."""

    __slots__ = ()


class SingleDeviceSharding(Sharding):
    """The whole array on one device."""

    __slots__ = ("_device",)

    def __init__(self, device: Device, *, memory_kind: str | None = None):
        if not isinstance(device, Device):
            raise TypeError(f"SingleDeviceSharding: device must be a funcgrad Device (from "
                            f"`funcgrad.devices()`), got {type(device).__name__}")
        if memory_kind not in (None, "device"):
            raise ValueError(f"SingleDeviceSharding: memory_kind {memory_kind!r} is not "
                             "available; funcgrad arrays live in their device's memory "
                             "(memory_kind='device' or None)")
        self._device = device

    @property
    def device_set(self) -> set[Device]:
        return {self._device}

    @property
    def addressable_devices(self) -> set[Device]:
        return {self._device}

    @property
    def memory_kind(self) -> str:
        return "device"

    num_devices = property(lambda self: 1)
    is_fully_addressable = property(lambda self: True)
    is_fully_replicated = property(lambda self: True)
    has_addressable_devices = property(lambda self: True)

    def shard_shape(self, global_shape) -> tuple:
        """The shape of each shard of an array of `global_shape`: the whole array."""
        return tuple(global_shape)

    def devices_indices_map(self, global_shape) -> dict:
        """{device: the slices of an array of `global_shape` it holds}."""
        return {self._device: (slice(None),) * len(tuple(global_shape))}

    addressable_devices_indices_map = devices_indices_map

    def with_memory_kind(self, kind: str) -> SingleDeviceSharding:
        return SingleDeviceSharding(self._device, memory_kind=kind)

    def is_equivalent_to(self, other, ndim: int) -> bool:
        return self == other

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other._device == self._device

    def __hash__(self):
        return hash((SingleDeviceSharding, self._device))

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind=device)"


__all__ = ["Shard", "Sharding", "SingleDeviceSharding"]
