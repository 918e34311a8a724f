"""Prebuilt eager kernels: the common elementwise primitives on float32/float64, generic over
size, generated from the same lowering rules as `jit` (`KernelEmitter.elementwise`) and
compiled at install time by `setup.py` (cffi out-of-line API mode, module
`funcgrad._eager_kernels`). Eager operations on the `c` backend call them without a compile
step; anything they do not cover runs with the NumPy implementation.

Naming: `fg_<prim>_<type>` for unary ops (`a, out, n`); `fg_<prim>_<type>_<vv|vs|sv>` for
binary ops, where `s` marks an operand read as a scalar (element 0).
"""
from __future__ import annotations

import numpy as np

import cdsl

from .. import dtypes
from ..core import ShapedArray
from ..prims import elementwise as ew
from . import cnodes as c
from .codegen import KernelEmitter

UNARY = ("neg", "exp", "log", "log1p", "expm1", "sin", "cos", "tan", "tanh", "logistic",
         "sqrt", "rsqrt", "abs", "sign", "floor", "ceil", "round", "erf", "asin", "acos",
         "atan", "sinh", "cosh", "asinh", "acosh", "atanh")
BINARY = ("add", "sub", "mul", "div", "max", "min", "pow", "atan2", "rem")
COMPARE = ("eq", "ne", "lt", "le", "gt", "ge")
TYPES = (dtypes.float32, dtypes.float64)
MIN_ELEMENTS = 1  # every size is served; tiny arrays are still a single call


def _name(prim_name, dt, variant=None):
    base = f"fg_{prim_name}_{c.type_suffix(dt)}"
    return base if variant is None else f"{base}_{variant}"


def _prim(name):
    from ..core import all_primitives
    return all_primitives[name]


def _kernel(prim_name, dt, variant):
    prim = _prim(prim_name)
    spec = ew.lowering_exprs[prim]
    nargs = 1 if variant is None else 2
    out_dt = dtypes.bool_ if prim_name in COMPARE else dt
    ins = [c.param(f"a{k}", dt, const_=True) for k in range(nargs)]
    out = c.param("out", out_dt)
    n = cdsl.Param("n", cdsl.i64)
    i = c.var("i", dtypes.int64)
    em = KernelEmitter(c, {})
    args = []
    for k, p in enumerate(ins):
        scalar = variant is not None and variant[k] == "s"
        args.append(em.let(c.load(p, c.i64(0) if scalar else i), dt))
    aval = ShapedArray((), dt)
    val = em.elementwise(spec, args, [aval] * nargs, ShapedArray((), out_dt), {})
    body = em.stmts + [c.store(out, i, val)]
    loop = cdsl.For(i, c.i64(0), cdsl.Var("n", cdsl.i64), tuple(body), parallel=True,
                    simd=True, parallel_min=1 << 16)
    return cdsl.Function(_name(prim_name, dt, variant), tuple(ins) + (out, n), (loop,))


def module() -> cdsl.Module:
    fns = []
    for dt in TYPES:
        for p in UNARY:
            fns.append(_kernel(p, dt, None))
        for p in BINARY + COMPARE:
            for v in ("vv", "vs", "sv"):
                fns.append(_kernel(p, dt, v))
    return cdsl.Module(tuple(fns))


def source_and_cdef() -> tuple[str, str]:
    m = module()
    src = cdsl.render(m, cdsl.C99)
    cdef = "\n".join(cdsl.declaration(f) for f in m.functions)
    return src, cdef


# ---------------------------------------------------------------------------------------
# Runtime side


_lib: list = []


def library():
    """The prebuilt module, or None when it was not built (then eager ops use NumPy)."""
    if not _lib:
        try:
            from .. import _eager_kernels  # type: ignore[attr-defined]
            _lib.append(_eager_kernels)
        except ImportError:
            _lib.append(None)
    return _lib[0]


_SUPPORTED = set(UNARY) | set(BINARY) | set(COMPARE)


def run(prim, arrays, out_aval):
    """Run `prim` eagerly with a prebuilt kernel; None when not covered."""
    name = prim.name
    if name not in _SUPPORTED:
        return None
    mod = library()
    if mod is None:
        return None
    vals = [a._host_value() for a in arrays]
    dt = vals[0].dtype
    if dt not in TYPES or any(v.dtype != dt for v in vals):
        return None
    shape = out_aval.shape
    n = int(np.prod(shape))
    if n < MIN_ELEMENTS:
        return None
    if len(vals) == 1:
        variant = None
    else:
        variant = "".join("s" if v.shape == () else "v" for v in vals)
        if variant == "ss":
            return None
        if any(v.shape not in ((), shape) for v in vals):
            return None
    vals = [v if v.flags.c_contiguous else np.ascontiguousarray(v) for v in vals]
    out = np.empty(shape, out_aval.dtype)
    fn = getattr(mod.lib, _name(name, dt, variant))
    ffi = mod.ffi
    ct = "float *" if dt == dtypes.float32 else "double *"
    args = [ffi.cast(ct, v.__array_interface__["data"][0]) for v in vals]
    oct_ = "uint8_t *" if out_aval.dtype == dtypes.bool_ else ct
    fn(*args, ffi.cast(oct_, out.__array_interface__["data"][0] if n else 0), n)
    return out
