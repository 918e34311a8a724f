"""Dtypes: the supported set, defaults, and type promotion with weak Python scalars.

Promotion follows JAX's lattice where it differs from NumPy's: an integer or bool mixed
with a float gives that float (int32 + float32 -> float32, not float64), and Python
scalars are *weakly typed*: they never promote an array's dtype (f16 array * 2.0 -> f16).
Explicit array dtypes are never silently downcast (float64 stays float64).
"""
from __future__ import annotations

import numpy as np

bool_ = np.dtype(np.bool_)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
uint16 = np.dtype(np.uint16)
uint32 = np.dtype(np.uint32)
uint64 = np.dtype(np.uint64)
float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)

SUPPORTED = frozenset([bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                       float16, float32, float64])
DEFAULT_FLOAT = float32
DEFAULT_INT = int32

_SHORT = {bool_: "bool", int8: "i8", int16: "i16", int32: "i32", int64: "i64", uint8: "u8",
          uint16: "u16", uint32: "u32", uint64: "u64", float16: "f16", float32: "f32",
          float64: "f64"}


def short_name(dtype) -> str:
    return _SHORT.get(np.dtype(dtype), str(dtype))


def canonicalize(dtype) -> np.dtype:
    """A supported numpy dtype for `dtype`; a clear error for complex/object/string."""
    dt = np.dtype(dtype)
    if dt not in SUPPORTED:
        raise TypeError(f"funcgrad does not support dtype {dt}; supported: "
                        f"{sorted(str(d) for d in SUPPORTED)}")
    return dt


def is_float(dtype) -> bool:
    return np.issubdtype(dtype, np.floating)


def is_int(dtype) -> bool:
    return np.issubdtype(dtype, np.integer)


def is_unsigned(dtype) -> bool:
    return np.issubdtype(dtype, np.unsignedinteger)


def is_bool(dtype) -> bool:
    return np.dtype(dtype) == bool_


def _kind_rank(dtype) -> int:
    return 0 if is_bool(dtype) else 1 if is_int(dtype) else 2


def default_for_kind(rank: int) -> np.dtype:
    return (bool_, DEFAULT_INT, DEFAULT_FLOAT)[rank]


def python_scalar_dtype(x) -> np.dtype:
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, int):
        return DEFAULT_INT
    if isinstance(x, float):
        return DEFAULT_FLOAT
    raise TypeError(f"not a Python scalar: {type(x).__name__}")


def promote_strong(a, b) -> np.dtype:
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    ra, rb = _kind_rank(a), _kind_rank(b)
    if ra != rb and max(ra, rb) == 2:
        return a if ra == 2 else b
    return np.promote_types(a, b)


def result_type(*typed) -> tuple[np.dtype, bool]:
    """Promote `(dtype, weak_type)` pairs; returns the result dtype and whether it is weak."""
    strong = [np.dtype(d) for d, w in typed if not w]
    weak = [np.dtype(d) for d, w in typed if w]
    if strong:
        out = strong[0]
        for d in strong[1:]:
            out = promote_strong(out, d)
        top_weak = max((_kind_rank(d) for d in weak), default=-1)
        if top_weak > _kind_rank(out):
            return default_for_kind(top_weak), False
        return out, False
    out = weak[0]
    for d in weak[1:]:
        out = promote_strong(out, d)
    return out, True
