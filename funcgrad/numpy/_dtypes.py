"""funcgrad.numpy's scalar types and constants, dtype queries (`issubdtype`, `finfo`,
`iinfo`, `isscalar`) and type promotion: `result_type`, `promote_types`, `can_cast`,
`astype`, and the `_promote` helpers the other families call on their operands (JAX's
lattice: Python scalars are weak)."""

from __future__ import annotations

import builtins

import ml_dtypes as _ml_dtypes
import numpy as _np

from .. import config as _config
from .. import dtypes as _dt
from ..core import Array, ArrayImpl, ShapedArray, TypeOrValueError
from ..prims import elementwise as _ew
from ..prims import structural as _st

__all__ = [
    "astype", "bfloat16", "bool_", "can_cast", "cdouble", "character", "complex128",
    "complex64", "complex_", "csingle", "double", "dtype", "e", "euler_gamma", "finfo",
    "flexible", "float16", "float32", "float4_e2m1fn", "float64", "float6_e2m3fn",
    "float6_e3m2fn", "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fn",
    "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float_", "floating",
    "generic", "iinfo", "inexact", "inf", "int1", "int16", "int2", "int32", "int4", "int64",
    "int8", "int_", "integer", "isscalar", "issubdtype", "nan", "ndarray", "number", "object_",
    "pi", "promote_types", "result_type", "signedinteger", "single", "uint", "uint1", "uint16",
    "uint2", "uint32", "uint4", "uint64", "uint8", "unsignedinteger",
]


ndarray = Array


class ScalarType(type):
    """funcgrad.numpy's scalar types (`fnp.float32`, `fnp.int32`, `fnp.bfloat16`, ...), as
    jax.numpy's: called on a value, an array of that dtype (`fnp.float32(x)` converts a
    traced `x` inside `jit` too, where NumPy's type would ask for its value); anywhere a
    dtype goes they are NumPy's type: `np.dtype(fnp.float32)`, `x.astype(fnp.int8)`,
    `x.dtype == fnp.float32`, `isinstance(np.float32(1), fnp.float32)`, a dict keyed by
    `np.float32` (funcgrad.dtypes' queries take NumPy's type from `dtype`)."""

    dtype: _np.dtype

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __eq__(cls, other):
        return cls is other or cls.dtype.type == other

    def __ne__(cls, other):
        return not cls == other

    def __instancecheck__(cls, instance):
        return isinstance(instance, cls.dtype.type)

    def __call__(cls, x):
        from ._creation import asarray
        return asarray(x, dtype=cls.dtype)


def _st_(np_type) -> ScalarType:
    """The funcgrad.numpy scalar type standing for NumPy's (or ml_dtypes') `np_type`."""
    name, dt = np_type.__name__, _np.dtype(np_type)
    return ScalarType(name, (), {
        "dtype": dt, "__module__": "funcgrad.numpy",
        "__doc__": f"{name}(x): an array of x converted to {dt} (jax.numpy's scalar type; "
                   f"NumPy's `{name}` where a dtype goes)."})


# jax.numpy's scalar types: NumPy's (and ml_dtypes') as dtypes, and `fnp.float32(x)` an
# array, traced or not.
bool_ = _st_(_np.bool_)
int8, int16, int32, int64 = (_st_(t) for t in (_np.int8, _np.int16, _np.int32, _np.int64))
uint8, uint16, uint32, uint64 = (_st_(t) for t in (_np.uint8, _np.uint16, _np.uint32,
                                                    _np.uint64))
float16, float32, float64 = (_st_(t) for t in (_np.float16, _np.float32, _np.float64))
bfloat16 = _st_(_ml_dtypes.bfloat16)
# JAX's narrow types, ml_dtypes' scalar types as in jax.numpy (see funcgrad.dtypes).
float8_e3m4, float8_e4m3 = _st_(_ml_dtypes.float8_e3m4), _st_(_ml_dtypes.float8_e4m3)
float8_e4m3b11fnuz = _st_(_ml_dtypes.float8_e4m3b11fnuz)
float8_e4m3fn = _st_(_ml_dtypes.float8_e4m3fn)
float8_e4m3fnuz, float8_e5m2 = _st_(_ml_dtypes.float8_e4m3fnuz), _st_(_ml_dtypes.float8_e5m2)
float8_e5m2fnuz = _st_(_ml_dtypes.float8_e5m2fnuz)
float8_e8m0fnu = _st_(_ml_dtypes.float8_e8m0fnu)
float6_e2m3fn, float6_e3m2fn = _st_(_ml_dtypes.float6_e2m3fn), _st_(_ml_dtypes.float6_e3m2fn)
float4_e2m1fn = _st_(_ml_dtypes.float4_e2m1fn)
int1, int2, int4 = _st_(_ml_dtypes.int1), _st_(_ml_dtypes.int2), _st_(_ml_dtypes.int4)
uint1, uint2, uint4 = _st_(_ml_dtypes.uint1), _st_(_ml_dtypes.uint2), _st_(_ml_dtypes.uint4)
complex64, complex128 = _st_(_np.complex64), _st_(_np.complex128)
csingle, cdouble, complex_ = complex64, complex128, complex128
integer, floating, number, inexact = _np.integer, _np.floating, _np.number, _np.inexact
signedinteger, unsignedinteger = _np.signedinteger, _np.unsignedinteger
dtype = _np.dtype
pi, e, inf, nan, euler_gamma = _np.pi, _np.e, _np.inf, _np.nan, _np.euler_gamma

# The 16-bit floats, which reductions accumulate in float32 (as JAX).
_HALF = (_dt.float16, _dt.bfloat16)
# ml_dtypes' finfo/iinfo are NumPy's extended to bfloat16, the narrow floats and int4, ...
# (JAX's jnp.finfo/iinfo do the same).
iinfo, finfo = _ml_dtypes.iinfo, _ml_dtypes.finfo


issubdtype = _dt.issubdtype    # (JAX's hierarchy, bfloat16 and the narrow types included)


# NumPy's scalar-type names, as jax.numpy exports them (the 64-bit ones follow the x64 rule
# when used as a dtype).
single, double, float_ = float32, float64, float64
int_, uint = int64, uint64
object_, character, flexible, generic = _np.object_, _np.character, _np.flexible, _np.generic


def result_type(*args):
    """JAX's `jnp.result_type` (`jax.dtypes.result_type`): the promoted dtype of arrays,
    dtypes, Python scalars and Python types, canonicalized (float64 data and dtypes are
    float32 while 64-bit types are off; None is the default float)."""
    return _dt.result_type(*args, return_weak_type_flag=False)


_WIDE64 = {"f": _np.dtype("float64"), "i": _np.dtype("int64"), "u": _np.dtype("uint64"),
           "c": _np.dtype("complex128")}


def promote_types(a, b):
    """JAX's `jnp.promote_types`: the join of two dtypes on JAX's lattice. A 64-bit input
    gives a 64-bit result whether or not 64-bit types are on (float32 with float64 is
    float64, int8 with uint64 float64, as in JAX); arrays of it still follow the x64 rule."""
    out = _dt.promote_strong(a, b)
    a, b = _np.dtype(a), _np.dtype(b)
    wide = [d for d in (a, b)
            if d.kind in "iuf" and d.itemsize == 8 or d.kind == "c" and d.itemsize == 16]
    # ... unless the result's kind comes from a narrower float input (int64 with float16
    # is float16).
    if wide and not (out.kind in "fc" and all(d.kind in "iu" for d in wide)
                     and any(d.kind in "fc" for d in (a, b))):
        out = _WIDE64.get(out.kind, out)
    return out


def _promote(name, *args, to_float=False):
    # The common case first: arrays of one strong dtype and one shape (nothing to convert,
    # broadcast or check: no promotion rule or config option applies to them).
    a = args[0]
    if isinstance(a, Array) and not a.weak_type and \
            (not to_float or a.dtype in _INEXACT_DTYPES):
        if len(args) == 1:
            return [a]
        if len(args) == 2 and (a.dtype not in _DTYPES_64 or _dt.x64_enabled()):
            b = args[1]
            if isinstance(b, Array):
                if b.dtype == a.dtype and not b.weak_type and b.shape == a.shape:
                    return [a, b]
            elif _scalar_joins(b, a.dtype):
                return [a, _scalar_array(b, a.dtype)]
    elif len(args) == 2 and not to_float:
        b = args[1]
        if isinstance(b, Array) and not b.weak_type and _scalar_joins(a, b.dtype) and \
                (b.dtype not in _DTYPES_64 or _dt.x64_enabled()):
            return [_scalar_array(a, b.dtype), b]
    return _promote_general(name, args, to_float)


# (64-bit types: an array of one made while x64 was on takes the general path after it)
_DTYPES_64 = frozenset(_np.dtype(t) for t in ("float64", "int64", "uint64", "complex128"))
_REAL_FLOATS = frozenset(_np.dtype(t) for t in ("float16", "float32", "float64"))
_WIDE_INTS = {_np.dtype(t): _np.iinfo(t) for t in ("int8", "int16", "int32", "int64", "uint8",
                                                     "uint16", "uint32", "uint64")}


def _scalar_joins(v, dt) -> bool:
    """Whether the Python number `v` (weakly typed) promotes with a strong `dt` array to
    `dt` itself, keeping its value: a float or int with a real float array, an int in
    range with an integer array (the rest takes the general rules)."""
    t = type(v)
    if t is float:
        return dt in _REAL_FLOATS
    if t is int:
        if dt in _REAL_FLOATS:
            return True
        info = _WIDE_INTS.get(dt)
        return info is not None and info.min <= v <= info.max
    return False


def _scalar_array(v, dt):
    return ArrayImpl(_np.asarray(v, dt), ShapedArray((), dt, False))


_INEXACT_DTYPES = frozenset(_np.dtype(t) for t in ("float16", "float32", "float64",
                                                    "complex64", "complex128"))


def _promote_general(name, args, to_float):
    try:
        arrs = [_arr(a) if not (isinstance(a, (bool, int, float, complex)) and
                                not isinstance(a, _np.generic)) else a for a in args]
    except TypeError as e:
        kinds = ", ".join("Array" if isinstance(a, Array) else type(a).__name__ for a in args)
        raise TypeError(f"{name}: operands must be arrays or numbers, got ({kinds}): {e}") \
            from None
    typed = []
    for a in arrs:
        if isinstance(a, Array):
            typed.append((a.dtype, a.weak_type))
        else:
            # a Python bool is strong, as in JAX (bool is the lattice's bottom)
            typed.append((_dt.python_scalar_dtype(a), type(a) is not bool))
    _config.check_numpy_promotion(name, typed, arrs)      # jax_numpy_{rank,dtype}_promotion
    dt, weak = _dt.result_type(*typed)
    if to_float:
        dt = _dt.to_inexact(dt)       # JAX's rule: int32 -> float32 even under x64
    if len(arrs) > 1 and dt.itemsize >= 8 and not _dt.x64_enabled() and \
            dt != _dt.canonicalize(dt, False):
        # an array made while x64 was on, used after with others: the result is 32-bit,
        # as JAX's (its one-operand functions keep the 64-bit type, as here)
        dt = _dt.canonicalize(dt)
    out = []
    for a in arrs:
        if isinstance(a, Array):
            if a.dtype != dt or a.weak_type != weak:
                a = _ew.convert_element_type(a, dt, weak)
        else:
            if type(a) is int and dt in _dt.NARROW_INTS:
                # NumPy raises for int8 + 300; ml_dtypes' int4 would wrap 8 silently
                info = _dt.iinfo(dt)
                if not info.min <= a <= info.max:
                    raise OverflowError(f"Python integer {a} out of bounds for {dt}")
            elif type(a) is int and _np.issubdtype(dt, _np.integer):
                info = _dt.iinfo(dt)
                if not info.min <= a <= info.max:
                    # JAX converts a weak Python int as the default int type and casts it
                    # with wraparound: uint8 * 300 multiplies by 44, uint8 + -1 adds 255.
                    default = _np.dtype(_dt.DEFAULT_INT_())
                    wide = _dt.iinfo(default)
                    if not wide.min <= a <= wide.max:
                        raise OverflowError(f"Python integer {a} out of bounds for {dt}")
                    a = _np.asarray(a, default).astype(dt)
            a = ArrayImpl(_np.asarray(a, dt), ShapedArray((), dt, weak))
        out.append(a)
    shapes = [a.shape for a in out]
    try:
        shape = _np.broadcast_shapes(*shapes)
    except ValueError:
        raise TypeOrValueError(f"{name}: operands could not be broadcast together with shapes "
                               f"{' '.join(str(s) for s in shapes)}") from None
    return [a if a.shape in (shape, ()) else _st.broadcast_to(a, shape) for a in out]


def _promote_full(name, *args, to_float=False):
    out = _promote(name, *args, to_float=to_float)
    shape = _np.broadcast_shapes(*[a.shape for a in out])
    return [a if a.shape == shape else _st.broadcast_to(a, shape) for a in out]


def astype(x, dtype, copy=False):
    """`x` cast to `dtype`. Float -> integer casts truncate and saturate on every backend
    (NaN -> 0, +-inf and out-of-range values -> the type's max/min), as XLA on CPU; see
    `lax.convert_element_type`."""
    return _ew.convert_element_type(_arr(x), _dt.canonicalize(dtype))


def can_cast(from_, to, casting="safe"):
    return _np.can_cast(from_, to, casting)


def _promote_dtypes_only(arrays, name=None):
    arrs = [_arr(a) for a in arrays]
    if name is not None:     # jax_numpy_dtype_promotion='strict' (rank promotion: n/a here)
        _config.check_numpy_promotion(name, [(a.dtype, a.weak_type) for a in arrs], ())
    dt = result_type(*arrs)
    weak = builtins.all(a.weak_type for a in arrs)
    return [a if a.dtype == dt else _ew.convert_element_type(a, dt, weak) for a in arrs]


def isscalar(element):
    """Whether `element` is a scalar: a 0-d array (funcgrad's or NumPy's) or anything
    NumPy's `isscalar` accepts (JAX's rule)."""
    if isinstance(element, (Array, _np.ndarray)):
        return element.ndim == 0
    return bool(_np.isscalar(element))


# The families call one another: each imports the others' names after its own
# definitions, so that they load in any order.
from ._creation import _arr  # noqa: E402
