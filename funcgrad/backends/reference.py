"""The `reference` backend: every primitive by its NumPy implementation, programs
interpreted equation by equation. It defines the semantics the other backends are tested
against."""
from __future__ import annotations

import threading

import numpy as np

from .. import core
from ..core import ArrayImpl
from ..ir import eval_program
from ..prims.control import array_impls
from .base import Backend


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


# The backend every eager operation runs on while a program is interpreted by `execute_program`
# (read by backends.backend_of): without it, the program's operations would follow their
# operands to the default or a device backend.
_running = threading.local()


def running_backend():
    """The backend interpreting a program in this thread, or None."""
    return getattr(_running, "backend", None)


class ReferenceBackend(Backend):
    """Runs primitives one by one with their NumPy implementations."""

    name = "reference"

    def execute_primitive(self, prim, arrays, params, out_avals):
        if prim in array_impls:
            return array_impls[prim](*arrays, **params)
        vals = [a._host_value() for a in arrays]
        with np.errstate(all="ignore"):   # nan/inf results are values, as in JAX: no warnings
            out = core.impl_rules[prim](*vals, **params)
        return wrap_outputs(out, out_avals, prim.multiple_results)

    def execute_program(self, program, args, name="", donate=()):
        args = [ArrayImpl(a._host_value(), a.aval) if isinstance(a, ArrayImpl) and
                a._backend is not None else a for a in args]
        outer, _running.backend = running_backend(), self
        try:
            return eval_program(program, [], args)
        finally:
            _running.backend = outer

    def to_host(self, value):
        return value
