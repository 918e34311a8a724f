"""Dtypes: the supported set, defaults, JAX's x64 rule, and type promotion with weak
Python scalars.

64-bit types follow JAX's `jax_enable_x64` switch (`funcgrad.config`, off by default): when
off, a float64/int64/uint64 value (a NumPy array, a list of Python floats) becomes its
32-bit type silently, an explicitly requested 64-bit dtype (`dtype=float64`, `astype`)
becomes it with a warning, Python floats/ints are float32/int32 and creation functions
default to float32/int32; when on, the defaults are float64/int64, as in JAX's x64 mode.
An integer or bool computed as a float (true division, sqrt, mean, ...) takes JAX's
`to_inexact` rule: float32 for bool and integers of 32 bits or fewer, even under x64; the
default float (float64 under x64) for int64/uint64.

Promotion follows JAX's lattice where it differs from NumPy's: an integer or bool mixed
with a float gives that float (int32 + float32 -> float32, not float64), and Python
scalars are *weakly typed*: they never promote an array's dtype (f16 array * 2.0 -> f16).
The kinds are ordered bool < int < float < complex; a float mixed with a complex gives the
complex type wide enough for both (float32 + complex64 -> complex64, float64 + complex64 ->
complex128), bfloat16 with float16 gives float32 (neither holds the other), and a weak
Python complex (`x * 1j`) gives the complex type of the array's precision (float32 or
bfloat16 -> complex64, float64 -> complex128). `bfloat16` is ml_dtypes' NumPy dtype, as in
JAX; NumPy's own promotion does not know it, so the float rules here do not ask NumPy.

The narrow types (JAX's 8/6/4-bit floats `float8_e4m3fn`, ..., `float4_e2m1fn` and the
1/2/4-bit integers `int4`, `uint4`, ...) are ml_dtypes' dtypes too. As in JAX they have no
implicit promotion path: mixed with any other dtype but bool (or a different narrow type)
they raise `TypePromotionError`; weak Python scalars take the narrow type (a float only
for the narrow floats). They compute as XLA does: each operation widened to float32 (int32)
and its result rounded (wrapped) back (`backends.reference.run_impl`).
"""
from __future__ import annotations

import functools
import warnings

import ml_dtypes
import numpy as np

from . import config
from .config import TypePromotionError  # noqa: F401  (jax.dtypes.TypePromotionError)

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
bfloat16 = np.dtype(ml_dtypes.bfloat16)
complex64 = np.dtype(np.complex64)
complex128 = np.dtype(np.complex128)
float8_e3m4 = np.dtype(ml_dtypes.float8_e3m4)
float8_e4m3 = np.dtype(ml_dtypes.float8_e4m3)
float8_e4m3b11fnuz = np.dtype(ml_dtypes.float8_e4m3b11fnuz)
float8_e4m3fn = np.dtype(ml_dtypes.float8_e4m3fn)
float8_e4m3fnuz = np.dtype(ml_dtypes.float8_e4m3fnuz)
float8_e5m2 = np.dtype(ml_dtypes.float8_e5m2)
float8_e5m2fnuz = np.dtype(ml_dtypes.float8_e5m2fnuz)
float8_e8m0fnu = np.dtype(ml_dtypes.float8_e8m0fnu)
float6_e2m3fn = np.dtype(ml_dtypes.float6_e2m3fn)
float6_e3m2fn = np.dtype(ml_dtypes.float6_e3m2fn)
float4_e2m1fn = np.dtype(ml_dtypes.float4_e2m1fn)
int1 = np.dtype(ml_dtypes.int1)
int2 = np.dtype(ml_dtypes.int2)
int4 = np.dtype(ml_dtypes.int4)
uint1 = np.dtype(ml_dtypes.uint1)
uint2 = np.dtype(ml_dtypes.uint2)
uint4 = np.dtype(ml_dtypes.uint4)

# JAX's narrow types, by the family its promotion error names.
FLOAT8 = (float8_e3m4, float8_e4m3, float8_e4m3b11fnuz, float8_e4m3fn, float8_e4m3fnuz,
          float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu)
FLOAT6 = (float6_e2m3fn, float6_e3m2fn)
FLOAT4 = (float4_e2m1fn,)
NARROW_FLOATS = frozenset(FLOAT8 + FLOAT6 + FLOAT4)
NARROW_INTS = frozenset([int1, int2, int4, uint1, uint2, uint4])
NARROW_UINTS = frozenset([uint1, uint2, uint4])
NARROW = NARROW_FLOATS | NARROW_INTS

# JAX's `float0`: the dtype of the tangent/cotangent of an integer or boolean value (it has
# no values: every element is the trivial zero). Gradients with respect to integer inputs
# (`grad(..., allow_int=True)`, `vjp`) are NumPy arrays of this dtype, as in JAX; it is not
# a dtype funcgrad computes with.
float0 = np.dtype([("float0", np.void, 0)])

SUPPORTED = frozenset([bool_, int8, int16, int32, int64, uint8, uint16, uint32, uint64,
                       bfloat16, float16, float32, float64, complex64, complex128]) | NARROW
_TO_32 = {float64: float32, int64: int32, uint64: uint32, complex128: complex64}

# JAX's x64 switch, kept here for the hot paths (every array creation reads it).
_x64 = [bool(config.read("enable_x64"))]
config.on_update("enable_x64", lambda v: _x64.__setitem__(0, bool(v)))


def x64_enabled() -> bool:
    """Whether 64-bit types are on (`funcgrad.config.update("jax_enable_x64", True)`)."""
    return _x64[0]


def index_dtype_for(n: int, what: str, shape) -> np.dtype:
    """int32 where every index up to `n` fits it, else int64 (JAX's `int_dtype_for_dim`);
    a ValueError naming `what`, `shape` and the fix where int64 is needed and 64-bit types
    are off (an int32 index past 2^31 wraps: a wrong answer, not an error)."""
    if n <= np.iinfo(np.int32).max:
        return np.dtype(np.int32)
    if not _x64[0]:
        raise ValueError(
            f"{what}: shape {tuple(shape)} has indices up to {n}, beyond int32, and 64-bit "
            "types are off; enable them with funcgrad.config.update('jax_enable_x64', True)")
    return np.dtype(np.int64)


def __getattr__(name):
    # DEFAULT_FLOAT / DEFAULT_INT depend on the x64 switch.
    if name == "DEFAULT_FLOAT":
        return float64 if _x64[0] else float32
    if name == "DEFAULT_INT":
        return int64 if _x64[0] else int32
    if name == "DEFAULT_COMPLEX":
        return complex128 if _x64[0] else complex64
    raise AttributeError(f"module 'funcgrad.dtypes' has no attribute {name!r}")

_SHORT = {bool_: "bool", int8: "i8", int16: "i16", int32: "i32", int64: "i64", uint8: "u8",
          uint16: "u16", uint32: "u32", uint64: "u64", bfloat16: "bf16", float16: "f16",
          float32: "f32", float64: "f64", complex64: "c64", complex128: "c128",
          int1: "i1", int2: "i2", int4: "i4", uint1: "u1", uint2: "u2", uint4: "u4",
          **{d: "f" + d.name[5] + "_" + d.name.split("_", 1)[1] for d in NARROW_FLOATS}}


def short_name(dtype) -> str:
    return _SHORT.get(np.dtype(dtype), str(dtype))


_PYTHON_TYPES = {float: "float", int: "int", bool: "bool", complex: "complex"}


def canonicalize(dtype, explicit: bool = True) -> np.dtype:
    """The dtype funcgrad uses for `dtype`: a supported NumPy dtype, 32-bit when 64-bit types
    are off (with JAX's warning when the dtype was asked for `explicit`ly). The Python types
    `float`/`int`/`bool`/`complex` mean the default types, as in JAX. A clear error for
    object/string dtypes."""
    kind = _PYTHON_TYPES.get(dtype) if isinstance(dtype, type) else None
    if kind is not None:
        return {"float": DEFAULT_FLOAT_(), "int": DEFAULT_INT_(), "bool": bool_,
                "complex": DEFAULT_COMPLEX_()}[kind]
    dt = np.dtype(dtype)
    if dt not in SUPPORTED:
        native = dt.newbyteorder("=") if dt.byteorder not in "=|" else None
        if native is not None and native in SUPPORTED:
            # (data read from big-endian files: MNIST's idx, FITS; JAX rejects them too)
            raise TypeError(
                f"funcgrad does not support dtype {dt.str!r} ({native} in the non-native "
                f"byte order); convert the array first: x.astype(x.dtype.newbyteorder('='))")
        raise TypeError(f"funcgrad does not support dtype {dt}; supported: "
                        f"{sorted(str(d) for d in SUPPORTED)}")
    if not _x64[0]:
        narrow = _TO_32.get(dt)
        if narrow is not None:
            if explicit:
                warnings.warn(
                    f"Explicitly requested dtype {dt} is not available, and will be "
                    f"truncated to dtype {narrow}. To enable 64-bit types, set "
                    "funcgrad.config.update('jax_enable_x64', True) or the environment "
                    "variable FUNCGRAD_ENABLE_X64=1 (JAX_ENABLE_X64=1).", UserWarning,
                    stacklevel=3)
            return narrow
    return dt


def canonicalize_value(dtype) -> np.dtype:
    """`canonicalize` for the dtype of data (a NumPy array's): 64-bit becomes 32-bit
    silently when 64-bit types are off, as JAX converts NumPy inputs."""
    return canonicalize(dtype, explicit=False)


def DEFAULT_FLOAT_() -> np.dtype:
    return float64 if _x64[0] else float32


def DEFAULT_INT_() -> np.dtype:
    return int64 if _x64[0] else int32


def DEFAULT_COMPLEX_() -> np.dtype:
    return complex128 if _x64[0] else complex64


def _memoized(pred):
    """`pred(dtype)` remembered by its argument (dtypes, scalar types and names are few;
    NumPy's `issubdtype` costs ~1.5 us and every eager operation asks several times)."""
    memo: dict = {}

    @functools.wraps(pred)
    def cached(dtype):
        try:
            return memo[dtype]
        except KeyError:
            out = memo[dtype] = pred(dtype)
            return out
        except TypeError:                 # an unhashable argument
            return pred(dtype)
    return cached


@_memoized
def is_float(dtype) -> bool:
    """A real floating-point dtype, bfloat16 and the narrow floats included (NumPy's
    `issubdtype` does not know ml_dtypes' types)."""
    dt = np.dtype(dtype)
    return dt == bfloat16 or dt in NARROW_FLOATS or np.issubdtype(dt, np.floating)


def is_narrow(dtype) -> bool:
    """One of JAX's 8/6/4-bit floats or 1/2/4-bit integers (no implicit promotion; computed
    widened to float32/int32 and rounded back)."""
    return np.dtype(dtype) in NARROW


@_memoized
def is_complex(dtype) -> bool:
    return np.issubdtype(np.dtype(dtype), np.complexfloating)


def is_inexact(dtype) -> bool:
    """Float or complex: the dtypes that carry derivatives."""
    return is_float(dtype) or is_complex(dtype)


def to_inexact(dtype) -> np.dtype:
    """The inexact dtype an integer or bool `dtype` computes in where a float result is due
    (true division, sqrt, exp, mean, ...): JAX's rule (`jax._src.dtypes.to_inexact_dtype`).
    A float or complex dtype is itself; bool and the integers of 32 bits or fewer (int4,
    int8, ..., uint32) give float32, whether or not 64-bit types are on; int64/uint64 give
    the default float (float64 under x64). A weak type stays weak: the caller keeps the
    flag, as JAX does (`jnp.sqrt(2)` is a weak float64 under x64, a weak float32 without)."""
    dt = np.dtype(dtype)
    if is_inexact(dt):
        return dt
    return DEFAULT_FLOAT_() if dt.itemsize == 8 else float32


def real_dtype(dtype) -> np.dtype:
    """The real dtype of a complex one (complex64 -> float32); a real dtype itself."""
    dt = np.dtype(dtype)
    if dt == complex64:
        return float32
    if dt == complex128:
        return float64
    return dt


def complex_dtype(dtype) -> np.dtype:
    """The complex dtype holding `dtype`'s values: float64 -> complex128, every narrower
    float (and int/bool) -> complex64 (complex128 for int64 with x64)."""
    dt = np.dtype(dtype)
    if is_complex(dt):
        return dt
    if dt == float64 or (dt.itemsize == 8 and dt.kind in "iu"):
        return canonicalize_value(complex128)
    return complex64


def finfo(dtype):
    """`np.finfo` that also knows bfloat16 and the narrow floats (ml_dtypes' subclass); a
    Python or NumPy scalar type, or an array, names its dtype."""
    if not isinstance(dtype, (np.dtype, type, str)):
        dtype = getattr(dtype, "dtype", dtype)
    return ml_dtypes.finfo(canonicalize(dtype, explicit=False) if dtype is float else
                           np.dtype(dtype))


_IINFO: dict = {}


def iinfo(dtype):
    """`np.iinfo` that also knows int4, uint4, ... (ml_dtypes'); memoised (Python ints are
    range-checked against it on every conversion)."""
    dt = np.dtype(dtype)
    info = _IINFO.get(dt)
    if info is None:
        info = _IINFO[dt] = ml_dtypes.iinfo(dt)
    return info


@_memoized
def is_int(dtype) -> bool:
    return np.dtype(dtype) in NARROW_INTS or np.issubdtype(dtype, np.integer)


@_memoized
def is_unsigned(dtype) -> bool:
    return np.dtype(dtype) in NARROW_UINTS or np.issubdtype(dtype, np.unsignedinteger)


def is_bool(dtype) -> bool:
    return np.dtype(dtype) == bool_


_RANKS: dict = {}        # dtype -> kind rank (every promotion asks, on the eager hot path)


def _kind_rank(dtype) -> int:
    """bool 0 < int 1 < float 2 < complex 3."""
    rank = _RANKS.get(dtype)
    if rank is None:
        rank = 0 if is_bool(dtype) else 1 if is_int(dtype) else 3 if is_complex(dtype) else 2
        _RANKS[dtype] = rank
    return rank


def default_for_kind(rank: int) -> np.dtype:
    return (bool_, DEFAULT_INT_(), DEFAULT_FLOAT_(), DEFAULT_COMPLEX_())[rank]


def python_scalar_dtype(x) -> np.dtype:
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, int):
        return DEFAULT_INT_()
    if isinstance(x, float):
        return DEFAULT_FLOAT_()
    if isinstance(x, complex):
        return DEFAULT_COMPLEX_()
    raise TypeError(f"not a Python scalar: {type(x).__name__}")


def _narrow_refusal(names) -> TypePromotionError:
    """JAX's error for a promotion involving a narrow type (its lattice has no path from
    them to any other type)."""
    dts = [np.dtype(n) for n in names if n not in _PYTHON_TYPES]
    if any(d in FLOAT8 for d in dts):
        what, to = "8-bit floats", "float32"
    elif any(d in FLOAT6 for d in dts):
        what, to = "6-bit floats", "float32"
    elif any(d in FLOAT4 for d in dts):
        what, to = "4-bit floats", "float32"
    else:
        what, to = "1-bit, 2-bit and 4-bit integers", "int32"
    shown = tuple(str(n) for n in names)
    return TypePromotionError(
        f"Input dtypes {shown} have no available implicit dtype promotion path. To avoid "
        f"unintended promotion, {what} do not support implicit promotion. If you'd like "
        "your inputs to be promoted to another type, you can do so explicitly using e.g. "
        f"x.astype('{to}')")


def promote_strong(a, b) -> np.dtype:
    a, b = np.dtype(a), np.dtype(b)
    if a == b:
        return a
    if a in NARROW or b in NARROW:
        if a == bool_:         # bool sits below every type on JAX's lattice
            return b
        if b == bool_:
            return a
        raise _narrow_refusal((a, b))
    ra, rb = _kind_rank(a), _kind_rank(b)
    if ra < rb:
        a, b, ra, rb = b, a, rb, ra
    if ra == 3 and rb == 2:
        # The join of float64 and complex64 is complex128 on JAX's lattice.
        return canonicalize_value(complex128 if b == float64 else a)
    if ra != rb and ra >= 2:
        return a
    if bfloat16 in (a, b):
        other = b if a == bfloat16 else a
        return other if other.itemsize > 2 else float32     # bf16 + f16 -> f32
    out = np.promote_types(a, b)
    if out == float64 and a.kind in "iu" and b.kind in "iu":
        out = DEFAULT_FLOAT_()     # int64 with uint64: JAX's lattice gives the default float
    return canonicalize_value(out)


def result_type(*args, return_weak_type_flag: bool | None = None):
    """Two forms. funcgrad's own: `result_type((dtype, weak), ...)` promotes
    `(dtype, weak_type)` pairs and returns `(dtype, weak)`. JAX's (`jax.dtypes.result_type`):
    arrays, dtypes, Python scalars and Python types; returns the dtype, or `(dtype, weak)`
    with `return_weak_type_flag=True`."""
    if return_weak_type_flag is None and args and all(
            type(a) is tuple and len(a) == 2 and type(a[1]) is bool for a in args):
        return _result_type_pairs(*args)
    if not args:
        raise ValueError("at least one array or dtype is required")
    out = _result_type_pairs(*[_typed(a) for a in args])
    return out if return_weak_type_flag else out[0]


def _typed(x) -> tuple[np.dtype, bool]:
    """(dtype, weak_type) of one argument of JAX's `result_type`."""
    aval = getattr(x, "aval", None)
    if aval is not None and hasattr(aval, "weak_type"):
        return aval.dtype, aval.weak_type
    if isinstance(x, (np.ndarray, np.generic)):
        return canonicalize_value(x.dtype), False
    if isinstance(x, (bool, int, float, complex)):
        return python_scalar_dtype(x), not isinstance(x, bool)
    if isinstance(x, type) and x in _PYTHON_TYPES:
        return canonicalize(x), x is not bool
    return canonicalize_value(np.dtype(x)), False


def canonicalize_dtype(dtype, allow_extended_dtype: bool = False) -> np.dtype:
    """JAX's `jax.dtypes.canonicalize_dtype`: the dtype arrays of `dtype` get (64-bit types
    become 32-bit while `jax_enable_x64` is off; the Python types are the defaults)."""
    return canonicalize(dtype, explicit=False)


def _unwrap(t):
    """NumPy's type for a funcgrad.numpy scalar type (a class whose `dtype` is a dtype,
    `funcgrad.numpy._dtypes.ScalarType`); anything else as it is."""
    dt = getattr(t, "dtype", None) if isinstance(t, type) else None
    return dt.type if isinstance(dt, np.dtype) else t


def _ml_dtype(t) -> np.dtype | None:
    """The dtype of `t` when it is one of ml_dtypes' (bfloat16, float8_*, int4, ...)."""
    t = _unwrap(t)
    if isinstance(t, type) and issubclass(t, np.generic) or isinstance(t, (str, np.dtype)):
        try:
            dt = np.dtype(t)
        except TypeError:
            return None
        return dt if dt == bfloat16 or dt in NARROW else None
    return None


def issubdtype(arg1, arg2) -> bool:
    """NumPy's `issubdtype`, with bfloat16 and the narrow floats floating types and int4,
    uint4, ... (un)signed integers (JAX's hierarchy; NumPy does not know ml_dtypes' types:
    np.issubdtype(bfloat16, floating) is False)."""
    arg1, arg2 = _unwrap(arg1), _unwrap(arg2)
    dt = _ml_dtype(arg1)
    if dt is not None:
        if _ml_dtype(arg2) is not None:
            return dt == _ml_dtype(arg2)
        if is_float(dt):
            parents = (np.floating, np.inexact, np.number, np.generic)
        elif is_unsigned(dt):
            parents = (np.unsignedinteger, np.integer, np.number, np.generic)
        else:
            parents = (np.signedinteger, np.integer, np.number, np.generic)
        return isinstance(arg2, type) and arg2 in parents
    return bool(np.issubdtype(arg1, arg2))


def scalar_type_of(x) -> type:
    """The Python scalar type of `x`'s kind (JAX's `jax.dtypes.scalar_type_of`): bool, int,
    float or complex."""
    dt = python_scalar_dtype(x) if isinstance(x, (bool, int, float, complex)) else \
        np.dtype(getattr(x, "dtype", None) or np.asarray(x).dtype)
    return (bool, int, float, complex)[_kind_rank(dt)]


def _result_type_pairs(*typed) -> tuple[np.dtype, bool]:
    """Promote `(dtype, weak_type)` pairs; returns the result dtype and whether it is weak."""
    strong = [np.dtype(d) for d, w in typed if not w]
    weak = [np.dtype(d) for d, w in typed if w]
    if strong:
        out = strong[0]
        for d in strong[1:]:
            out = promote_strong(out, d)
        top_weak = max((_kind_rank(d) for d in weak), default=-1)
        rank = _kind_rank(out)
        if out in NARROW and top_weak > rank:
            # int4 + 1.0, float8 * 1j: the weak type's kind has no path to the narrow type
            weak_type = {2: float, 3: complex}[top_weak]
            raise _narrow_refusal((weak_type, out))
        if top_weak == 3 and rank == 2:
            return complex_dtype(out), False      # f32 * 1j -> c64, f64 * 1j -> c128
        if top_weak > rank:
            # JAX's lattice: bool -> i* -> f* -> c* with each weak type below its kind's
            # types, so the join of a strong bool or integer with a weak number of a higher
            # kind is that weak type: i32 + 1.5 is a weak float32, bool * 2 a weak int32
            return default_for_kind(top_weak), True
        return out, False
    out = weak[0]
    for d in weak[1:]:
        out = promote_strong(out, d)
    return out, True
