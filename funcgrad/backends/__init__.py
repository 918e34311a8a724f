"""Backends: where concrete arrays live and how primitives and programs run.

`reference` interprets every primitive with NumPy (the semantic oracle). `c` and `opencl`
compile programs (see funcgrad.backends.c / .opencl). The default comes from
`FUNCGRAD_BACKEND` or `funcgrad.config.update("backend", name)`.
"""
from __future__ import annotations

import os

import numpy as np

from .. import core
from ..core import ArrayImpl, ShapedArray

_backends: dict[str, object] = {}
_config = {"backend": None}
KNOWN = ("reference", "c", "opencl")


def default_backend_name() -> str:
    name = _config["backend"] or os.environ.get("FUNCGRAD_BACKEND") or _preferred_default()
    if name not in KNOWN:
        raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
    return name


def _preferred_default() -> str:
    return "c" if _c_available() else "reference"


_c_ok: list = []


def _c_available() -> bool:
    if not _c_ok:
        try:
            from . import c
            _c_ok.append(c.available())
        except ImportError:
            _c_ok.append(False)
    return _c_ok[0]


def set_default_backend(name: str | None) -> None:
    if name is not None and name not in KNOWN:
        raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
    _config["backend"] = name


def get_backend(name: str | None = None):
    name = name or default_backend_name()
    b = _backends.get(name)
    if b is None:
        if name == "reference":
            b = ReferenceBackend()
        elif name == "c":
            from .c import CBackend
            b = CBackend()
        elif name == "opencl":
            from .opencl import OpenCLBackend
            b = OpenCLBackend()
        else:
            raise ValueError(f"unknown backend {name!r}; choose one of {KNOWN}")
        _backends[name] = b
    return b


def backend_of(arrays, prim=None):
    """The backend that runs an eager op: that of the committed (device) operands, else the
    default. Host arrays (and Python scalars) follow the other operands."""
    found = None
    for a in arrays:
        b = a._backend
        if b is not None:
            if found is not None and found is not b:
                raise ValueError(
                    f"{prim.name if prim else 'operation'}: operands live on different "
                    f"backends ({found.name} and {b.name}); move them with "
                    "funcgrad.device_put(x, device) first")
            found = b
    return found if found is not None else get_backend(None)


def wrap_outputs(outs, out_avals, multiple, backend=None):
    if not multiple:
        outs, out_avals = [outs], [out_avals]
    res = []
    for o, a in zip(outs, out_avals):
        v = np.asarray(o)
        if v.dtype != a.dtype:
            v = v.astype(a.dtype)
        if v.shape != a.shape:
            raise AssertionError(f"internal: impl produced shape {v.shape}, expected {a.shape}")
        if v.flags.writeable:
            v.flags.writeable = False
        res.append(ArrayImpl(v, a, backend))
    return res if multiple else res[0]


class ReferenceBackend:
    """Runs primitives one by one with their NumPy implementations."""

    name = "reference"

    def execute_primitive(self, prim, arrays, params, out_avals):
        from ..prims.control import array_impls
        if prim in array_impls:
            return array_impls[prim](*arrays, **params)
        vals = [a._host_value() for a in arrays]
        out = core.impl_rules[prim](*vals, **params)
        return wrap_outputs(out, out_avals, prim.multiple_results)

    def execute_program(self, program, args, name="", donate=()):
        from ..ir import eval_program
        return eval_program(program, [], args)

    def to_host(self, value):
        return value


def device_put_host(x) -> ArrayImpl:
    v = np.asarray(x)
    return ArrayImpl(v, ShapedArray(v.shape, v.dtype, False))
