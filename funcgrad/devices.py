"""Devices and placement: `devices()`, `device_put`, `default_backend()`."""
from __future__ import annotations

import numpy as np

from . import backends, config, core
from .backends.base import Device
from .core import Array, ArrayImpl
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
    """Place every array leaf of `x` on `device` (a Device, or a backend name; None: the
    default backend), as JAX's `device_put`; tracers pass through unchanged.

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
    if isinstance(device, str):
        device = devices(device)[0]
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


def _select_backend(name):
    backends.set_default_backend(name)


config.on_update("backend", _select_backend)
