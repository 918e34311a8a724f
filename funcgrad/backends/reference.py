"""The `reference` backend: every primitive by its NumPy implementation, programs
interpreted equation by equation. It defines the semantics the other backends are tested
against."""
from __future__ import annotations

import threading

import numpy as np

from .. import core, dtypes
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


def _compute_dtype(dt):
    """What a narrow type computes in: float32 for the 8/6/4-bit floats, int32 for the
    1/2/4-bit integers (XLA widens them the same way)."""
    return dtypes.float32 if dt in dtypes.NARROW_FLOATS else dtypes.int32


def _widen_param(value):
    if isinstance(value, np.dtype) and value in dtypes.NARROW:
        return _compute_dtype(value)
    return value


def _narrow_impl(prim, vals, params, out_dtypes):
    from ..prims import elementwise as ew
    vals = [np.asarray(v) for v in vals]
    wide = [v.astype(_compute_dtype(v.dtype)) if v.dtype in dtypes.NARROW else v
            for v in vals]
    if prim is ew.convert_element_type_p:
        new = np.dtype(params["new_dtype"])
        if new in dtypes.NARROW_FLOATS and not dtypes.is_complex(wide[0].dtype):
            # one rounding, straight from the source type (a float64 through float32 would
            # round twice)
            return wide[0].astype(new)
        if new in dtypes.NARROW_INTS and dtypes.is_float(wide[0].dtype):
            # float -> int saturates to the *narrow* type's range (XLA), not int32's
            info = dtypes.iinfo(new)
            wide[0] = np.clip(wide[0], info.min, info.max)
    elif prim is ew.shift_right_logical_p and vals[0].dtype in dtypes.NARROW_INTS:
        # a logical shift of a negative int4 shifts its 4-bit pattern, not int32's
        bits = dtypes.iinfo(vals[0].dtype).bits
        wide[0] = wide[0] & np.int32((1 << bits) - 1)
    params = {k: _widen_param(v) for k, v in params.items()}
    out = core.impl_rules[prim](*wide, **params)
    outs = out if prim.multiple_results else [out]
    # Each result rounds (floats: to nearest even, the format's overflow and NaN rules) or
    # wraps (ints) back into its narrow type, as ml_dtypes' casts do.
    outs = [np.asarray(o).astype(d) if d in dtypes.NARROW else o
            for o, d in zip(outs, out_dtypes)]
    return outs if prim.multiple_results else outs[0]


def run_impl(prim, vals, params, out_dtypes):
    """`prim`'s NumPy implementation on host values `vals`. An operation touching a narrow
    type (float8_*, float6_*, float4_e2m1fn, int1/2/4, uint1/2/4) computes as XLA computes
    it: its narrow operands widened to float32 (int32), the wide operation, each narrow
    result rounded (wrapped) back. Reductions and dots so add in float32 and round once."""
    narrow = dtypes.NARROW
    for v in vals:
        if getattr(v, "dtype", None) in narrow:
            return _narrow_impl(prim, vals, params, out_dtypes)
    for d in out_dtypes:
        if d in narrow:
            return _narrow_impl(prim, vals, params, out_dtypes)
    return core.impl_rules[prim](*vals, **params)


def out_dtypes_of(out_avals, multiple):
    """The output dtypes of a primitive's `out_avals` (one aval or a list)."""
    return [a.dtype for a in out_avals] if multiple else [out_avals.dtype]


class ReferenceBackend(Backend):
    """Runs primitives one by one with their NumPy implementations."""

    name = "reference"

    def execute_primitive(self, prim, arrays, params, out_avals):
        if prim in array_impls:
            return array_impls[prim](*arrays, **params)
        vals = [a._host_value() for a in arrays]
        with np.errstate(all="ignore"):   # nan/inf results are values, as in JAX: no warnings
            out = run_impl(prim, vals, params, out_dtypes_of(out_avals, prim.multiple_results))
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
