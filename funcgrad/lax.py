"""funcgrad.lax: JAX's `jax.lax` names with JAX's signatures: the primitives' direct
wrappers, structured control flow (`scan`, `cond`, `switch`, `while_loop`, `fori_loop`,
`map`, `associative_scan`) lowered to real loops by the compiling backends, XLA-style
`gather`/`scatter` with dimension numbers, general `reduce`, implicit-differentiation
solvers (`custom_root`, `custom_linear_solve`), and `lax.linalg`.

Arguments that only tune XLA's code generation are accepted and do not change results here
(funcgrad computes in the operands' precision): `precision=` (`Precision`,
`DotAlgorithmPreset`), `accuracy=` (`AccuracyMode`, `Tolerance`), `out_sharding=`/
`sharding=` (one device), `unique_indices=`/`indices_are_sorted=` (hints).
"""
from __future__ import annotations

import builtins as _builtins
import enum as _enum
import functools as _functools
import operator as _operator
from collections.abc import Callable as _Callable
from typing import NamedTuple as _NamedTuple

import numpy as _np

import sys as _sys

from . import _lax_linalg as linalg
from ._lax_bitcast import bitcast_convert_type, reduce_precision
from ._recurring import compile_when_it_pays as _compile_when_it_pays
from . import core as _core
from . import dtypes as _dtypes
from ._lax_scatter import (GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers,
                           gather, scatter, scatter_add, scatter_apply, scatter_max,
                           scatter_min, scatter_mul, scatter_sub)
from .core import Array as _Array
from .core import Tracer as _Tracer
from .core import bind as _bind
from .ir import eval_program as _eval_program
from .ir import stage_closed as _stage_closed
from .prims import control as _cf
from .prims import elementwise as _ew
from .prims import indexing as _ix
from .prims import linalg as _la
from .prims import reductions as _rd
from .prims import special as _sp
from .prims import structural as _st
from .prims import windows as _win
from .prims.elementwise import (abs, acos, acosh, add, and_, asin, asinh, atan, atan2, atanh,
                                ceil, cosh, div, eq, erf, floor, ge, gt, integer_pow,
                                is_finite, le, lt, max, min, ne, neg, not_, or_, rem,
                                select, sign, sinh, stop_gradient, sub, xor)
from .prims.elementwise import complex, conj, imag, real  # shadow builtins, as in JAX
from .prims.collectives import (all_gather, axis_index, axis_size, pmax, pmean, pmin,
                                ppermute, psum, psum_scatter)
from .prims.linalg import ConvDimensionNumbers, conv_dimension_numbers, padtype_to_pads
from .prims.fft import FftType, fft
from .prims.windows import reduce_window, reduce_window_shape_tuple, sort
from .tree_util import tree_flatten as _tree_flatten
from .tree_util import tree_leaves as _tree_leaves
from .tree_util import tree_map as _tree_map
from .tree_util import tree_unflatten as _tree_unflatten

__all__ = [
    "FftType", "fft",
    "AccuracyMode", "ConvDimensionNumbers", "ConvGeneralDilatedDimensionNumbers",
    "DotAlgorithmPreset", "DotDimensionNumbers", "GatherDimensionNumbers",
    "GatherScatterMode", "Precision", "PrecisionLike", "RoundingMethod",
    "ScatterDimensionNumbers", "Tolerance",
    "abs", "acos", "acosh", "add", "and_", "approx_max_k", "approx_min_k", "argmax", "argmin",
    "asin", "asinh", "associative_scan", "atan", "atan2", "atanh", "batch_matmul",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor", "broadcast", "broadcast_in_dim",
    "broadcast_like", "broadcast_shapes", "broadcast_to", "broadcast_to_rank",
    "broadcasted_iota", "cbrt", "ceil", "clamp", "clz", "collapse", "composite", "concatenate",
    "cond", "conv",
    "conv_dimension_numbers", "conv_general_dilated", "conv_general_dilated_local",
    "conv_general_dilated_patches",
    "conv_general_permutations",
    "conv_general_shape_tuple", "conv_shape_tuple", "conv_transpose",
    "conv_transpose_shape_tuple", "conv_with_general_padding", "convert_element_type", "cos",
    "cosh", "cumlogsumexp", "cummax", "cummin", "cumprod", "cumsum", "custom_linear_solve",
    "custom_root", "digamma", "div", "dot", "dot_general", "dtype", "dynamic_index_in_dim",
    "dynamic_slice", "dynamic_slice_in_dim", "dynamic_update_index_in_dim",
    "dynamic_update_slice", "dynamic_update_slice_in_dim", "empty", "eq", "erf", "erf_inv",
    "erfc", "exp", "exp2", "expand_dims", "expm1", "floor", "fori_loop", "full", "full_like",
    "gather", "ge", "gt", "index_in_dim", "index_take", "integer_pow", "iota", "is_finite",
    "le", "lgamma", "linalg", "log", "log1p", "logistic", "lt", "map", "max", "min", "mul",
    "ne", "neg", "not_", "optimization_barrier", "or_", "pad", "padtype_to_pads",
    "platform_dependent", "population_count", "pow", "ragged_dot", "reciprocal", "reduce",
    "reduce_and", "reduce_max", "reduce_min", "reduce_or", "reduce_prod", "reduce_sum",
    "reduce_window", "reduce_window_shape_tuple", "reduce_xor", "rem", "reshape", "rev",
    "round", "rsqrt", "scan", "scatter", "scatter_add", "scatter_apply", "scatter_max",
    "scatter_min", "scatter_mul", "scatter_sub", "select", "select_n", "shift_left",
    "shift_right_arithmetic", "shift_right_logical", "sign", "sin", "sinh", "slice",
    "slice_in_dim", "sort", "sort_key_val", "split", "sqrt", "square", "squeeze", "stack",
    "stop_gradient", "sub", "switch", "tan", "tanh", "tile", "top_k", "transpose", "unstack",
    "while_loop", "xor",
    "bessel_i0e", "bessel_i1e", "bitcast_convert_type", "nextafter", "polygamma",
    "reduce_precision", "zeta",
    "betainc", "igamma", "igamma_grad_a", "igammac", "random_gamma_grad",
    "complex", "conj", "imag", "real",
    "all_gather", "axis_index", "axis_size", "pmax", "pmean", "pmin", "ppermute", "psum",
    "psum_scatter",
]


# ---------------------------------------------------------------------------------------
# Types JAX's signatures mention


class Precision(_enum.Enum):
    """Matmul/convolution precision (XLA's `PrecisionConfig`). Accepted wherever JAX takes
    `precision=`; funcgrad always computes in the operands' own precision."""
    DEFAULT = 0
    HIGH = 1
    HIGHEST = 2

    @classmethod
    def _missing_(cls, value):
        # JAX also accepts the names as strings ("highest", "bfloat16", "float32", ...).
        names = {"default": cls.DEFAULT, "fastest": cls.DEFAULT, "bfloat16": cls.DEFAULT,
                 "high": cls.HIGH, "bfloat16_3x": cls.HIGH, "tensorfloat32": cls.HIGH,
                 "highest": cls.HIGHEST, "float32": cls.HIGHEST}
        return names.get(str(value).lower())

    def __str__(self):
        return self.name


class DotAlgorithmPreset(_enum.Enum):
    """Named dot algorithms (JAX's presets); accepted as `precision=` and not changing the
    result here."""
    DEFAULT = _enum.auto()
    ANY_F8_ANY_F8_F32 = _enum.auto()
    ANY_F8_ANY_F8_F32_FAST_ACCUM = _enum.auto()
    ANY_F8_ANY_F8_ANY = _enum.auto()
    ANY_F8_ANY_F8_ANY_FAST_ACCUM = _enum.auto()
    F16_F16_F16 = _enum.auto()
    F16_F16_F32 = _enum.auto()
    BF16_BF16_BF16 = _enum.auto()
    BF16_BF16_F32 = _enum.auto()
    BF16_BF16_F32_X3 = _enum.auto()
    BF16_BF16_F32_X6 = _enum.auto()
    BF16_BF16_F32_X9 = _enum.auto()
    TF32_TF32_F32 = _enum.auto()
    TF32_TF32_F32_X3 = _enum.auto()
    F32_F32_F32 = _enum.auto()
    F64_F64_F64 = _enum.auto()


PrecisionLike = (None | str | Precision | tuple[str, str] | tuple[Precision, Precision]
                 | DotAlgorithmPreset)
DotDimensionNumbers = tuple[tuple[tuple[int, ...], tuple[int, ...]],
                            tuple[tuple[int, ...], tuple[int, ...]]]
ConvGeneralDilatedDimensionNumbers = ConvDimensionNumbers | tuple[str, str, str] | None


class AccuracyMode(_enum.Enum):
    """Transcendental-function accuracy modes (`accuracy=`); funcgrad's functions are
    always computed at their full accuracy."""
    HIGHEST = 1
    DEFAULT = 2


class Tolerance(_NamedTuple):
    """An accuracy tolerance (`accuracy=`): accepted, the result is the most accurate one."""
    atol: float = 0.0
    rtol: float = 0.0
    ulps: int = 0


class RoundingMethod(_enum.IntEnum):
    """How `round` breaks ties: away from zero (JAX's default) or to the nearest even."""
    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1


# ---------------------------------------------------------------------------------------
# Elementwise


def _arr(x):
    return x if isinstance(x, _Array) else _core.to_array(x)


def pow(x, y):
    """x ** y, elementwise. As JAX's, an integer `y` raises a float or complex `x` (its values
    converted to x's type; no derivative flows to it)."""
    x, y = _arr(x), _arr(y)
    if _dtypes.is_int(y.dtype) and _dtypes.is_inexact(x.dtype):
        y = _ew.convert_element_type(y, x.dtype, False)
    return _ew.pow(x, y)


def exp(x, *, accuracy=None):
    """e^x."""
    return _ew.exp(x)


def exp2(x, *, accuracy=None):
    """2^x (C99's pow(2, x): within an ulp, where exp(x * ln 2) is tens of ulps off)."""
    return _ew.pow(2.0, _arr(x))


def expm1(x, *, accuracy=None):
    """e^x - 1, accurate near 0."""
    return _ew.expm1(x)


def log(x, *, accuracy=None):
    """Natural logarithm."""
    return _ew.log(x)


def log1p(x, *, accuracy=None):
    """log(1 + x), accurate near 0."""
    return _ew.log1p(x)


def logistic(x, *, accuracy=None):
    """1 / (1 + e^-x)."""
    return _ew.logistic(x)


def sin(x, *, accuracy=None):
    """Sine."""
    return _ew.sin(x)


def cos(x, *, accuracy=None):
    """Cosine."""
    return _ew.cos(x)


def tan(x, *, accuracy=None):
    """Tangent."""
    return _ew.tan(x)


def tanh(x, *, accuracy=None):
    """Hyperbolic tangent."""
    return _ew.tanh(x)


def sqrt(x, *, accuracy=None):
    """Square root."""
    return _ew.sqrt(x)


def rsqrt(x, *, accuracy=None):
    """1 / sqrt(x)."""
    return _ew.rsqrt(x)


def cbrt(x, *, accuracy=None):
    """Real cube root (negative for negative x)."""
    from . import numpy as fnp
    return fnp.cbrt(x)


def mul(x, y, *, out_dtype=None):
    """x * y; with `out_dtype` the operands are converted to it first (JAX's mixed-precision
    multiply)."""
    if out_dtype is not None:
        x = _ew.convert_element_type(x, out_dtype)
        y = _ew.convert_element_type(y, out_dtype)
    return _ew.mul(x, y)


def round(x, rounding_method=RoundingMethod.AWAY_FROM_ZERO):
    """Round to an integer value: halves away from zero (JAX's default) or, with
    `RoundingMethod.TO_NEAREST_EVEN`, to the even neighbour."""
    x = _arr(x)
    if RoundingMethod(rounding_method) == RoundingMethod.TO_NEAREST_EVEN:
        return _ew.round(x)
    # trunc(x) + sign(x) where |x - trunc(x)| >= 1/2 (no x + 0.5, which rounds 0.49999997 up).
    t = _ew.select(_ew.lt(x, 0.0), _ew.ceil(x), _ew.floor(x))
    frac = _ew.abs(_ew.sub(x, t))
    return _ew.select(_ew.ge(frac, 0.5), _ew.add(t, _ew.sign(x)), t)


def convert_element_type(operand, new_dtype):
    """`operand` converted to `new_dtype` (floats to integers truncate toward zero)."""
    return _ew.convert_element_type(operand, new_dtype)


def polygamma(m, x):
    """JAX's `lax.polygamma`: the m-th derivative of digamma (funcgrad.scipy.special's)."""
    from .scipy import special as _special
    m = _arr(m)
    return _special.polygamma(m.astype(_np.int32) if not _np.issubdtype(
        m.dtype, _np.integer) else m, x).astype(_arr(x).dtype)


def nextafter(x1, x2):
    """JAX's `lax.nextafter`: the next float after x1 toward x2 (funcgrad.numpy's)."""
    from . import numpy as _fnp
    return _fnp.nextafter(x1, x2)


def zeta(x, q):
    """JAX's `lax.zeta`: the Hurwitz zeta function (funcgrad.scipy.special's)."""
    from .scipy import special as _special
    return _special.zeta(x, q)


def bessel_i0e(x):
    """JAX's `lax.bessel_i0e`: exp(-|x|) I0(x)."""
    from .scipy import special as _special
    return _special.i0e(x)


def bessel_i1e(x):
    """JAX's `lax.bessel_i1e`: exp(-|x|) I1(x)."""
    from .scipy import special as _special
    return _special.i1e(x)


def shift_left(x, y):
    """x << y (0 where y is at least the bit width)."""
    return _ew.shift_left(x, y)


def shift_right_logical(x, y):
    """x >> y filling with zeros, for signed integers too (their bits shifted as unsigned,
    as JAX: shift_right_logical(int32(-17), 28) is 15)."""
    x, y = _arr(x), _arr(y)
    if _np.issubdtype(x.dtype, _np.signedinteger):
        u = _np.dtype(f"uint{_np.dtype(x.dtype).itemsize * 8}")
        shifted = _ew.shift_right_logical(_ew.convert_element_type(x, u),
                                          _ew.convert_element_type(y, u))
        return _ew.convert_element_type(shifted, x.dtype)
    return _ew.shift_right_logical(x, y)


def shift_right_arithmetic(x, y):
    """x >> y filling with the sign bit. Unsigned integers are shifted as the signed type
    of their width, as JAX does (uint8 255 >> 1 is 255, 128 >> 1 is 192)."""
    x, y = _arr(x), _arr(y)
    if not _dtypes.is_int(x.dtype):
        raise TypeError(f"shift_right_arithmetic requires integer operands, got {x.dtype}")
    bits = _np.iinfo(x.dtype).bits
    if _dtypes.is_unsigned(x.dtype):
        signed = _np.dtype(f"int{bits}")
        # y clamped while unsigned (as the signed type, 200 would be a negative shift)
        y = _ew.min(_ew.convert_element_type(y, x.dtype),
                    _ew.convert_element_type(bits - 1, x.dtype))
        shifted = shift_right_arithmetic(_ew.convert_element_type(x, signed),
                                         _ew.convert_element_type(y, signed))
        return _ew.convert_element_type(shifted, x.dtype)
    y = _ew.convert_element_type(y, x.dtype)
    big = _ew.ge(y, _ew.convert_element_type(bits, x.dtype))
    y_safe = _ew.select(big, _ew.convert_element_type(bits - 1, x.dtype), y)
    logical = _ew.shift_right_logical(x, y_safe)
    # Negative x: fill the vacated high bits with ones.
    ones = _ew.not_(_ew.shift_right_logical(_ew.convert_element_type(-1, x.dtype), y_safe))
    filled = _ew.select(_ew.lt(x, _ew.convert_element_type(0, x.dtype)),
                        _ew.or_(logical, ones), logical)
    return filled


def bitwise_and(x, y):
    """Bitwise (or logical, for booleans) and."""
    return _ew.and_(x, y)


def bitwise_or(x, y):
    """Bitwise (or logical) or."""
    return _ew.or_(x, y)


def bitwise_xor(x, y):
    """Bitwise (or logical) exclusive or."""
    return _ew.xor(x, y)


def bitwise_not(x):
    """Bitwise (or logical) not."""
    return _ew.not_(x)


def population_count(x):
    """The number of set bits of each integer."""
    x = _arr(x)
    if not _dtypes.is_int(x.dtype):
        raise TypeError(f"population_count: needs an integer array, got {x.dtype}")
    bits = _np.iinfo(x.dtype).bits
    udt = _np.dtype(f"uint{bits}")
    v = _ew.convert_element_type(x, udt) if x.dtype != udt else x
    count = _ew.convert_element_type(0, udt)
    for k in range(bits):
        bit = _ew.and_(_ew.shift_right_logical(v, _ew.convert_element_type(k, udt)),
                       _ew.convert_element_type(1, udt))
        count = _ew.add(count, bit)
    return _ew.convert_element_type(count, x.dtype)


def clz(x):
    """The number of leading zero bits of each integer (its bit width for 0)."""
    x = _arr(x)
    if not _dtypes.is_int(x.dtype):
        raise TypeError(f"clz: needs an integer array, got {x.dtype}")
    bits = _np.iinfo(x.dtype).bits
    udt = _np.dtype(f"uint{bits}")
    v = _ew.convert_element_type(x, udt) if x.dtype != udt else x
    n = _ew.convert_element_type(0, udt)
    # Binary search for the highest set bit: shift while the top half is empty.
    shift = bits // 2
    while shift:
        s = _ew.convert_element_type(shift, udt)
        top_empty = _ew.eq(_ew.shift_right_logical(v, _ew.convert_element_type(bits - shift,
                                                                                 udt)),
                           _ew.convert_element_type(0, udt))
        v = _ew.select(top_empty, _ew.shift_left(v, s), v)
        n = _ew.select(top_empty, _ew.add(n, s), n)
        shift //= 2
    n = _ew.select(_ew.eq(_arr(x), _ew.convert_element_type(0, x.dtype)),
                   _ew.convert_element_type(bits, udt), n)
    return _ew.convert_element_type(n, x.dtype)


def erfc(x):
    """1 - erf(x), without cancellation for large x."""
    return _sp.erfc(x)


def lgamma(x):
    """log |Gamma(x)|."""
    return _sp.lgamma(x)


def digamma(x):
    """psi(x) = d/dx log Gamma(x)."""
    return _sp.digamma(_arr(x))


def betainc(a, b, x):
    """The regularized incomplete beta function I_x(a, b) (funcgrad._ibeta)."""
    from ._ibeta import betainc as f
    return f(a, b, x)


def igamma(a, x):
    """The regularized lower incomplete gamma function P(a, x) (funcgrad._igamma)."""
    from ._igamma import gammainc
    return gammainc(a, x)


def igammac(a, x):
    """The regularized upper incomplete gamma function Q(a, x) = 1 - P(a, x)."""
    from ._igamma import gammaincc
    return gammaincc(a, x)


def igamma_grad_a(a, x):
    """dP(a, x)/da."""
    from ._igamma import igamma_grad_a as f
    return f(a, x)


def random_gamma_grad(a, x):
    """The derivative in `a` of a Gamma(a, 1) sample `x` at fixed CDF value."""
    from ._igamma import random_gamma_grad as f
    return f(a, x)


def erf_inv(x):
    """The inverse error function (inf at 1, -inf at -1, NaN outside [-1, 1])."""
    from .scipy.special import erfinv
    return erfinv(x)


def reciprocal(x):
    """1 / x."""
    x = _arr(x)
    return _ew.div(_st.full(x.shape, 1, x.dtype), x)


def square(x):
    """x * x."""
    return integer_pow(x, 2)


def clamp(min, x, max):
    """min(max(x, min), max), as JAX defines it (JAX's argument order): where min > max
    the result is max. The derivative is JAX's too: x's where min < x < max, min's where
    x < min < max, max's where max < x, and none at a tie (where max and min of the
    composition would split it in halves)."""
    weak = _core.to_array(x).weak_type       # (the result's flag is x's, as JAX's)
    out = _ew.min(_ew.max(x, min), max)
    if _dtypes.is_float(out.dtype):
        x, lo, hi = (_ew.convert_element_type(v, out.dtype) for v in (x, min, max))
        # the value is `out` in every case: each select below only routes the derivative
        take_x = _ew.and_(_ew.gt(x, lo), _ew.lt(x, hi))
        take_lo = _ew.and_(_ew.gt(lo, x), _ew.lt(lo, hi))
        take_hi = _ew.and_(_ew.lt(hi, x), _ew.eq(lo, lo))      # (a NaN min makes out NaN)
        out = _ew.select(take_x, x, _ew.select(take_lo, lo, _ew.select(take_hi, hi,
                                                                      stop_gradient(out))))
    return out if out.weak_type == weak else _ew.with_weak_type(out, weak)


def select_n(which, *cases):
    """`cases[which]` elementwise (a boolean `which` picks between two cases)."""
    which = _arr(which)
    if len(cases) == 2 and which.dtype == _dtypes.bool_:
        return select(which, cases[1], cases[0])
    out = cases[0]
    for k, c in enumerate(cases[1:], 1):
        out = select(eq(which, _ew.convert_element_type(k, which.dtype)), c, out)
    return out


def dtype(x):
    """The dtype `x` has (or would have) as a funcgrad array."""
    return _core.get_aval(x).dtype


# ---------------------------------------------------------------------------------------
# Shapes


def broadcast_in_dim(operand, shape, broadcast_dimensions, *, out_sharding=None):
    """`operand` broadcast to `shape`, its axes becoming `broadcast_dimensions`."""
    return _st.broadcast_in_dim(operand, shape, broadcast_dimensions)


def broadcast(operand, sizes, *, out_sharding=None):
    """`operand` with leading axes of `sizes` added."""
    operand = _arr(operand)
    sizes = tuple(sizes)
    return _st.broadcast_in_dim(operand, sizes + operand.shape,
                                tuple(range(len(sizes), len(sizes) + operand.ndim)))


def broadcast_to(x, shape):
    """`x` broadcast to `shape` with NumPy's rules (a funcgrad extra; JAX: `broadcast`,
    `broadcast_in_dim`)."""
    return _st.broadcast_to(x, shape)


def broadcast_to_rank(x, rank):
    """`x` with leading axes of size 1 added up to `rank`."""
    x = _arr(x)
    if x.ndim >= rank:
        return x
    return _st.reshape(x, (1,) * (rank - x.ndim) + x.shape)


def broadcast_like(arr, like_arr):
    """`arr` broadcast to the shape of `like_arr` (NumPy rules)."""
    return _st.broadcast_to(arr, _core.get_aval(like_arr).shape)


def broadcast_shapes(*shapes):
    """The NumPy broadcast of `shapes` (a ValueError when they do not broadcast)."""
    return tuple(int(d) for d in _np.broadcast_shapes(*[tuple(s) for s in shapes]))


def broadcasted_iota(dtype, shape, dimension, *, out_sharding=None):
    """An array of `shape` counting 0, 1, ... along `dimension`."""
    return _st.iota(dtype, shape, dimension)


def iota(dtype, size):
    """[0, 1, ..., size - 1] in `dtype`."""
    return _st.iota(dtype, int(size), 0)


def full(shape, fill_value, dtype=None, *, sharding=None):
    """An array of `shape` filled with `fill_value`."""
    return _st.full(shape, fill_value, dtype)


def full_like(x, fill_value, dtype=None, shape=None, sharding=None):
    """An array like `x` (or of `shape`) filled with `fill_value`."""
    x = _arr(x)
    return _st.full(x.shape if shape is None else shape, fill_value, dtype or x.dtype)


def empty(shape, dtype, *, out_sharding=None):
    """An array of `shape` and `dtype` whose values are unspecified (zeros here)."""
    return _st.full(shape, 0, dtype)


def reshape(operand, new_sizes, dimensions=None, *, out_sharding=None):
    """`operand` (transposed by `dimensions` first, if given) reshaped to `new_sizes`."""
    return _st.reshape(operand, new_sizes, dimensions)


def collapse(operand, start_dimension, stop_dimension=None):
    """`operand` with axes [start_dimension, stop_dimension) merged into one."""
    operand = _arr(operand)
    nd = operand.ndim
    start = start_dimension % nd if nd else 0
    stop = nd if stop_dimension is None else (stop_dimension if stop_dimension >= 0
                                              else stop_dimension + nd)
    size = 1
    for d in operand.shape[start:stop]:
        size *= d
    return _st.reshape(operand, operand.shape[:start] + (size,) + operand.shape[stop:])


def expand_dims(array, dimensions):
    """`array` with size-1 axes inserted at `dimensions`."""
    return _st.expand_dims(array, dimensions)


def squeeze(array, dimensions):
    """`array` with the size-1 axes `dimensions` removed."""
    return _st.squeeze(array, dimensions)


def transpose(operand, permutation):
    """`operand` with its axes permuted."""
    return _st.transpose(operand, permutation)


def rev(operand, dimensions):
    """`operand` reversed along `dimensions`."""
    return _st.rev(operand, dimensions)


def pad(operand, padding_value, padding_config):
    """`operand` padded by (low, high, interior) per axis (negative low/high crop)."""
    return _ix.pad(operand, padding_value, padding_config)


def concatenate(operands, dimension):
    """`operands` joined along `dimension`."""
    return _ix.concatenate(operands, dimension)


def split(operand, sizes, axis=0):
    """`operand` cut along `axis` into pieces of `sizes`."""
    operand = _arr(operand)
    out, start = [], 0
    if sum(sizes) != operand.shape[axis]:
        raise ValueError(f"split: sizes {tuple(sizes)} do not add up to axis {axis} of shape "
                         f"{operand.shape}")
    for s in sizes:
        out.append(_ix.slice_in_dim(operand, start, start + s, 1, axis))
        start += s
    return out


def stack(operands, axis=0):
    """`operands` (same shapes) stacked along a new axis."""
    ops = [_arr(x) for x in operands]
    if not ops:
        raise ValueError("stack: needs at least one operand")
    axis = axis % (ops[0].ndim + 1)
    return _ix.concatenate([_st.expand_dims(x, (axis,)) for x in ops], axis)


def unstack(x, axis=0):
    """The slices of `x` along `axis`, as a list."""
    x = _arr(x)
    axis = axis % x.ndim
    return [_st.squeeze(_ix.slice_in_dim(x, i, i + 1, 1, axis), (axis,))
            for i in range(x.shape[axis])]


def tile(operand, reps):
    """`operand` repeated `reps` times along each axis (NumPy's `tile`)."""
    from . import numpy as fnp
    return fnp.tile(operand, reps)


def slice(operand, start_indices, limit_indices, strides=None):
    """operand[start:limit:stride] per axis (static bounds)."""
    return _ix.slice(operand, start_indices, limit_indices, strides)


def slice_in_dim(operand, start_index, limit_index, stride=1, axis=0):
    """`slice` along one axis (negative indices count from the end)."""
    operand = _arr(operand)
    n = operand.shape[axis]
    start = 0 if start_index is None else start_index
    limit = n if limit_index is None else limit_index
    start = start + n if start < 0 else start
    limit = limit + n if limit < 0 else limit
    return _ix.slice_in_dim(operand, start, limit, stride, axis)


def index_in_dim(operand, index, axis=0, keepdims=True):
    """operand[index] along `axis` (a static index; negative counts from the end)."""
    operand = _arr(operand)
    n = operand.shape[axis]
    index = index + n if index < 0 else index
    out = _ix.slice_in_dim(operand, index, index + 1, 1, axis)
    return out if keepdims else _st.squeeze(out, (axis,))


def index_take(src, idxs, axes):
    """src[idxs[0], idxs[1], ...] along `axes` (gather of whole slices)."""
    from . import numpy as fnp
    src = _arr(src)
    index = [_builtins.slice(None)] * src.ndim
    for i, a in zip(idxs, axes):
        index[a] = _arr(i)
    return fnp.asarray(src)[tuple(index)]


def _dynamic_starts(operand, starts, allow_negative_indices, what):
    """Start indices, negative ones counted from the end (JAX's rule; `allow_negative_indices`
    may be one flag or one per axis)."""
    operand = _arr(operand)
    if isinstance(starts, _Array):
        starts = [starts[i] for i in range(starts.shape[0])] if starts.ndim else [starts]
    starts = list(starts)
    if len(starts) != operand.ndim:
        raise ValueError(f"{what}: {len(starts)} start indices for an operand of shape "
                         f"{operand.shape}")
    flags = [bool(allow_negative_indices)] * operand.ndim \
        if isinstance(allow_negative_indices, (bool, int)) else list(allow_negative_indices)
    out = []
    for s, n, wrap in zip(starts, operand.shape, flags):
        if not isinstance(s, _Array):                  # a Python or NumPy integer
            v = int(s)
            if v < 0 and not wrap:
                raise ValueError(f"{what}: start index {v} is negative for an axis of size "
                                 f"{n} with allow_negative_indices=False")
            # past the end is clamped to the end anyway: np.uint64(2**63 + 5) would not fit
            # the int64 index it becomes
            out.append(v + n if v < 0 else v if v < n else n)
            continue
        out.append(_ix.from_end(s, n, what) if wrap else _ix.index_holding(s, n, what))
    return out


def dynamic_slice(operand, start_indices, slice_sizes, *, allow_negative_indices=True):
    """operand[start:start + size] per axis with traced starts: negative starts count from
    the end, then starts are clamped so the slice is in bounds (JAX's rule)."""
    starts = _dynamic_starts(operand, start_indices, allow_negative_indices, "dynamic_slice")
    return _ix.dynamic_slice(operand, starts, slice_sizes)


def dynamic_slice_in_dim(operand, start_index, slice_size, axis=0, *,
                         allow_negative_indices=True):
    """`dynamic_slice` along one axis."""
    operand = _arr(operand)
    axis = axis % operand.ndim
    starts = [0] * operand.ndim
    starts[axis] = start_index
    sizes = list(operand.shape)
    sizes[axis] = slice_size
    return dynamic_slice(operand, starts, sizes, allow_negative_indices=allow_negative_indices)


def dynamic_index_in_dim(operand, index, axis=0, keepdims=True, *,
                         allow_negative_indices=True):
    """operand[index] along `axis` with a traced index."""
    operand = _arr(operand)
    axis = axis % operand.ndim
    out = dynamic_slice_in_dim(operand, index, 1, axis,
                               allow_negative_indices=allow_negative_indices)
    return out if keepdims else _st.squeeze(out, (axis,))


def dynamic_update_slice(operand, update, start_indices, *, allow_negative_indices=True):
    """`operand` with `update` written at traced `start_indices` (negative starts count from
    the end, then starts are clamped so the update fits)."""
    starts = _dynamic_starts(operand, start_indices, allow_negative_indices,
                             "dynamic_update_slice")
    return _ix.dynamic_update_slice(operand, update, starts)


def dynamic_update_slice_in_dim(operand, update, start_index, axis, *,
                                allow_negative_indices=True):
    """`dynamic_update_slice` at `start_index` along `axis` (0 along the others)."""
    operand = _arr(operand)
    axis = axis % operand.ndim
    starts = [0] * operand.ndim
    starts[axis] = start_index
    return dynamic_update_slice(operand, update, starts,
                                allow_negative_indices=allow_negative_indices)


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    """`operand` with `update` (without the `axis` axis, or with it of size 1) written at
    traced `index` along `axis`."""
    operand, update = _arr(operand), _arr(update)
    axis = axis % operand.ndim
    if update.ndim == operand.ndim - 1:
        update = _st.expand_dims(update, (axis,))
    return dynamic_update_slice_in_dim(operand, update, index, axis,
                                       allow_negative_indices=allow_negative_indices)


# ---------------------------------------------------------------------------------------
# Contractions and convolutions


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None, *,
                out_sharding=None):
    """General tensor contraction: ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))."""
    return _la.dot_general(lhs, rhs, dimension_numbers, preferred_element_type)


def dot(lhs, rhs, *, dimension_numbers=None, precision=None, preferred_element_type=None,
        out_sharding=None):
    """Vector/matrix product contracting lhs's last axis with rhs's first (or, with
    `dimension_numbers`, `dot_general`)."""
    lhs, rhs = _arr(lhs), _arr(rhs)
    if dimension_numbers is None:
        dimension_numbers = (((lhs.ndim - 1,), (0,)), ((), ()))
    return _la.dot_general(lhs, rhs, dimension_numbers, preferred_element_type)


def batch_matmul(lhs, rhs, precision=None):
    """Matrix products over the leading batch axes."""
    lhs, rhs = _arr(lhs), _arr(rhs)
    nb = lhs.ndim - 2
    bd = tuple(range(nb))
    return _la.dot_general(lhs, rhs, (((nb + 1,), (nb,)), (bd, bd)))


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         batch_group_count=1, precision=None, preferred_element_type=None,
                         out_sharding=None):
    """General N-d convolution (dilations, grouping, any axis layout); bfloat16/float16
    operands accumulate in float32, and `preferred_element_type` is the accumulation's and
    the result's dtype (JAX's meaning), not a cast of a rounded result."""
    return _la.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                    rhs_dilation, dimension_numbers, feature_group_count,
                                    batch_group_count,
                                    preferred_element_type=preferred_element_type)


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding,
                                 lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                                 precision=None, preferred_element_type=None):
    """The patches `conv_general_dilated` would multiply by a filter of spatial shape
    `filter_shape` (in the order of the filter's spatial axes in `dimension_numbers[1]`),
    flattened into the output's feature axis as (input feature, spatial...) — JAX's order,
    `prod(filter_shape) * in_features` long. Computed as JAX does: a grouped convolution
    (one group per input feature) with a one-hot filter, so its gradient is the
    convolution's."""
    from . import numpy as fnp
    x = _arr(lhs)
    filter_shape = tuple(_operator.index(d) for d in filter_shape)
    if len(filter_shape) != x.ndim - 2:
        raise ValueError(f"conv_general_dilated_patches: filter_shape {filter_shape} needs "
                         f"one size per spatial axis of lhs {x.shape} ({x.ndim - 2}); pass "
                         f"{x.ndim - 2} sizes")
    dn = conv_dimension_numbers(x.shape, (1, 1) + filter_shape, dimension_numbers)
    lhs_spec, rhs_spec, _ = dn
    size, channels = _np.prod(filter_shape, dtype=int), x.shape[lhs_spec[1]]
    # output feature c * size + p reads input feature c at the p-th window position
    eye = _np.tile(_np.eye(size, dtype=x.dtype), (channels, 1))
    rhs = _np.moveaxis(eye.reshape(channels * size, 1, *filter_shape), (0, 1),
                       (rhs_spec[0], rhs_spec[1]))
    return conv_general_dilated(x, fnp.asarray(rhs), window_strides, padding, lhs_dilation,
                                rhs_dilation, dn, feature_group_count=channels,
                                preferred_element_type=preferred_element_type)


def conv_general_dilated_local(lhs, rhs, window_strides, padding, filter_shape,
                               lhs_dilation=None, rhs_dilation=None, dimension_numbers=None,
                               precision=None):
    """Unshared (locally connected) convolution: a filter per output position. `rhs`'s
    spatial axes are the output's positions and its input-feature axis holds a window,
    flattened as `conv_general_dilated_patches` flattens it: (input feature, window
    position in the filter's spatial order), as in JAX."""
    from . import numpy as fnp
    x = _arr(lhs)
    patches = conv_general_dilated_patches(x, filter_shape, window_strides, padding,
                                           lhs_dilation, rhs_dilation, dimension_numbers)
    _, rhs_spec, out_spec = conv_dimension_numbers(x.shape, (1, 1) + tuple(filter_shape),
                                                   dimension_numbers)
    # contract the patches' features with rhs's inputs, position by position: the output's
    # spatial axes in their array order, rhs's matching ones beside them
    order = sorted(range(len(out_spec) - 2), key=lambda k: out_spec[2 + k])
    dims = (((out_spec[1],), (rhs_spec[1],)),
            (tuple(out_spec[2 + k] for k in order), tuple(rhs_spec[2 + k] for k in order)))
    out = dot_general(patches, fnp.asarray(rhs), dims, precision)   # spatial..., N, O
    return fnp.moveaxis(out, (-2, -1), (out_spec[0], out_spec[1]))


def conv(lhs, rhs, window_strides, padding, precision=None, preferred_element_type=None):
    """NCHW / OIHW convolution."""
    return conv_general_dilated(lhs, rhs, window_strides, padding,
                                preferred_element_type=preferred_element_type)


def conv_with_general_padding(lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation,
                              precision=None, preferred_element_type=None):
    """NCHW / OIHW convolution with dilations."""
    return conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                rhs_dilation, preferred_element_type=preferred_element_type)


def conv_transpose(lhs, rhs, strides, padding, rhs_dilation=None, dimension_numbers=None,
                   transpose_kernel=False, precision=None, preferred_element_type=None,
                   use_consistent_padding=False):
    """Transposed convolution (the gradient of a strided convolution).
    `use_consistent_padding` is accepted; explicit padding pairs are used as given;
    `preferred_element_type` as in `conv_general_dilated`."""
    return _la.conv_transpose(lhs, rhs, strides, padding, rhs_dilation, dimension_numbers,
                              transpose_kernel, preferred_element_type=preferred_element_type)


def conv_general_permutations(dimension_numbers):
    """(lhs_perm, rhs_perm, out_perm) of string dimension numbers like ('NHWC', 'HWIO',
    'NHWC'): the axis orders as (batch/out-feature, feature/in-feature, spatial...)."""
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    if not (len(lhs_spec) == len(rhs_spec) == len(out_spec)):
        raise TypeError(f"conv_general_permutations: specs of different ranks "
                        f"{dimension_numbers}")
    charpairs = (("N", "C"), ("O", "I"), ("N", "C"))
    perms = []
    for spec, (a, b) in zip((lhs_spec, rhs_spec, out_spec), charpairs):
        if a not in spec or b not in spec:
            raise TypeError(f"conv_general_permutations: {spec!r} lacks {a!r} or {b!r}")
        first = (spec.index(a), spec.index(b))
        rest = [i for i, c in enumerate(spec) if c not in (a, b)]
        perms.append(first + tuple(rest))
    # Spatial axes follow the kernel's order of spatial letters, as in JAX.
    rhs_spatial = [c for c in rhs_spec if c not in "OI"]
    lhs_perm = perms[0][:2] + tuple(sorted(perms[0][2:],
                                           key=lambda i: rhs_spatial.index(lhs_spec[i])))
    out_perm = perms[2][:2] + tuple(sorted(perms[2][2:],
                                           key=lambda i: rhs_spatial.index(out_spec[i])))
    return lhs_perm, perms[1], out_perm


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    """Output shape of an NCHW/OIHW convolution with explicit `pads`."""
    if isinstance(pads, str):
        pads = padtype_to_pads(lhs_shape[2:], rhs_shape[2:], strides, pads)
    spatial = tuple(
        (lhs_shape[2 + i] + lo + hi - rhs_shape[2 + i]) // s + 1
        for i, (s, (lo, hi)) in enumerate(zip(strides, pads)))
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + tuple(_builtins.max(d, 0)
                                                                      for d in spatial)


def conv_general_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                             dimension_numbers):
    """Output shape of `conv_general_dilated`."""
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    in_sp = [lhs_shape[d] for d in dn.lhs_spec[2:]]
    k_sp = [rhs_shape[d] for d in dn.rhs_spec[2:]]
    pads = padtype_to_pads(in_sp, k_sp, window_strides, padding)
    nsp = len(in_sp)
    out = _la._conv_shape(_core.ShapedArray(lhs_shape, _np.float32),
                          _core.ShapedArray(rhs_shape, _np.float32),
                          window_strides=tuple(window_strides), padding=pads,
                          lhs_dilation=(1,) * nsp, rhs_dilation=(1,) * nsp,
                          dimension_numbers=dn, feature_group_count=1, batch_group_count=1)
    return out.shape


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding,
                               dimension_numbers):
    """Output shape of `conv_transpose` (transpose_kernel=False)."""
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    in_sp = [lhs_shape[d] for d in dn.lhs_spec[2:]]
    k_sp = [rhs_shape[d] for d in dn.rhs_spec[2:]]
    if isinstance(padding, str):
        pads = [_la.conv_transpose_padding(k, s, padding) for k, s in zip(k_sp, window_strides)]
    else:
        pads = padding
    spatial = [(n - 1) * s + 1 + lo + hi - k + 1
               for n, k, s, (lo, hi) in zip(in_sp, k_sp, window_strides, pads)]
    out = [0] * len(lhs_shape)
    out[dn.out_spec[0]] = lhs_shape[dn.lhs_spec[0]]
    out[dn.out_spec[1]] = rhs_shape[dn.rhs_spec[0]]
    for d, n in zip(dn.out_spec[2:], spatial):
        out[d] = n
    return tuple(out)


def ragged_dot(lhs, rhs, group_sizes, precision=None, preferred_element_type=None,
               group_offset=None, out_sharding=None):
    """Grouped matmul: `lhs` (m, k) rows are split into consecutive groups of
    `group_sizes` (g,), group i multiplied by `rhs[i]` (g, k, n); out (m, n). Rows beyond
    the groups give zeros."""
    from . import numpy as fnp
    if group_offset is not None:
        raise NotImplementedError("ragged_dot: group_offset is not supported")
    lhs, rhs, gs = _arr(lhs), _arr(rhs), _arr(group_sizes)
    if lhs.ndim != 2 or rhs.ndim != 3 or gs.shape != (rhs.shape[0],) or \
            lhs.shape[1] != rhs.shape[1]:
        raise ValueError(f"ragged_dot: expected lhs (m, k), rhs (g, k, n), group_sizes (g,), "
                         f"got {lhs.shape}, {rhs.shape}, {gs.shape}")
    ends = fnp.cumsum(gs)
    starts = ends - gs
    rows = fnp.arange(lhs.shape[0])[:, None]
    member = (rows >= starts[None, :]) & (rows < ends[None, :])          # (m, g)
    per_group = fnp.einsum("mk,gkn->gmn", lhs, rhs)
    out = fnp.einsum("mg,gmn->mn", member.astype(per_group.dtype), per_group)
    dt = preferred_element_type
    return out if dt is None else out.astype(dt)


# ---------------------------------------------------------------------------------------
# Reductions, sorting, cumulative ops


def reduce_sum(operand, axes, *, out_sharding=None):
    """Sum over `axes`."""
    return _rd.reduce_sum(operand, axes)


def reduce_max(operand, axes):
    """Maximum over `axes`."""
    return _rd.reduce_max(operand, axes)


def reduce_min(operand, axes):
    """Minimum over `axes`."""
    return _rd.reduce_min(operand, axes)


def reduce_prod(operand, axes):
    """Product over `axes`."""
    return _rd.reduce_prod(operand, axes)


def reduce_and(operand, axes):
    """Logical/bitwise and over `axes`."""
    return reduce(operand, _ones_of(_arr(operand).dtype), bitwise_and, axes)


def reduce_or(operand, axes):
    """Logical/bitwise or over `axes`."""
    return reduce(operand, _np.zeros((), _arr(operand).dtype), bitwise_or, axes)


def reduce_xor(operand, axes):
    """Logical/bitwise exclusive or over `axes`."""
    return reduce(operand, _np.zeros((), _arr(operand).dtype), bitwise_xor, axes)


def _ones_of(dt):
    dt = _np.dtype(dt)
    if dt == _np.bool_:
        return _np.array(True)
    return _np.array(-1 if _np.issubdtype(dt, _np.signedinteger) else _np.iinfo(dt).max, dt)


def argmax(operand, axis, index_dtype):
    """Index of the maximum along `axis` (the first one on ties)."""
    return _rd.argmax(operand, axis, index_dtype)


def argmin(operand, axis, index_dtype):
    """Index of the minimum along `axis` (the first one on ties)."""
    return _rd.argmin(operand, axis, index_dtype)


# computation -> the reduction it is (with its identity) when a monoid is recognised.
_MONOIDS = {}


def _monoid(computation):
    if not _MONOIDS:
        for fns, red in (((add, _ew.add, _operator.add), _rd.reduce_sum),
                         ((mul, _ew.mul, _operator.mul), _rd.reduce_prod),
                         ((max, _ew.max), _rd.reduce_max),
                         ((min, _ew.min), _rd.reduce_min)):
            for f in fns:
                _MONOIDS[f] = red
    try:
        return _MONOIDS.get(computation)
    except TypeError:
        return None


def reduce(operands, init_values, computation, dimensions, out_sharding=None):
    """Reduce `operands` (an array or a pytree of arrays of one shape) over `dimensions`
    with `computation(acc, x)` starting from `init_values` (XLA's reduce). `computation`
    must be associative and commutative, as in XLA; add/mul/max/min map to the dedicated
    reductions, anything else is reduced pairwise (log2 steps, vectorised)."""
    flat_ops, tree = _tree_flatten(operands)
    flat_init, init_tree = _tree_flatten(init_values)
    if tree != init_tree:
        raise TypeError(f"reduce: operands {tree} and init_values {init_tree} have different "
                        "structures")
    flat_ops = [_arr(x) for x in flat_ops]
    flat_init = [_arr(x) for x in flat_init]
    dims = tuple(sorted({int(d) % flat_ops[0].ndim for d in dimensions})) \
        if flat_ops[0].ndim else ()
    for x in flat_ops[1:]:
        if x.shape != flat_ops[0].shape:
            raise ValueError(f"reduce: operands must have one shape, got "
                             f"{[o.shape for o in flat_ops]}")
    red = _monoid(computation)
    if red is not None and len(flat_ops) == 1:
        out = red(flat_ops[0], dims)
        # (the operand's weak flag, as JAX's monoid reductions: not the init value's)
        init = _ew.convert_element_type(flat_init[0], out.dtype, out.weak_type)
        return _tree_unflatten(tree, [computation(init, out)])
    xs = flat_ops
    for d in sorted(dims, reverse=True):
        n = xs[0].shape[d]
        if n == 0:
            shape = xs[0].shape[:d] + xs[0].shape[d + 1:]
            xs = [_st.broadcast_to(_ew.convert_element_type(i, x.dtype), shape)
                  for x, i in zip(xs, flat_init)]
            continue
        while n > 1:
            half = n // 2
            lo = [_ix.slice_in_dim(x, 0, half, 1, d) for x in xs]
            hi = [_ix.slice_in_dim(x, half, 2 * half, 1, d) for x in xs]
            comb = _tree_leaves(computation(_tree_unflatten(tree, lo),
                                            _tree_unflatten(tree, hi)))
            if n % 2:
                comb = [_ix.concatenate([c, _ix.slice_in_dim(x, n - 1, n, 1, d)], d)
                        for c, x in zip(comb, xs)]
            xs = [_arr(c) for c in comb]
            n = xs[0].shape[d]
        xs = [_st.squeeze(x, (d,)) for x in xs]
    # Fold the initial values in once (they are identities in XLA's contract).
    out = _tree_leaves(computation(_tree_unflatten(tree, [
        _st.broadcast_to(_ew.convert_element_type(i, x.dtype), x.shape)
        for i, x in zip(flat_init, xs)]), _tree_unflatten(tree, xs)))
    return _tree_unflatten(tree, [_arr(o) for o in out])


def cumsum(operand, axis=0, reverse=False):
    """Cumulative sum along `axis` (from the end when `reverse`)."""
    return _rd.cumsum(operand, axis, reverse)


def cumprod(operand, axis=0, reverse=False):
    """Cumulative product along `axis`."""
    from . import numpy as fnp
    x = _st.rev(operand, (axis,)) if reverse else operand
    out = fnp.cumprod(x, axis=axis)
    return _st.rev(out, (axis,)) if reverse else out


def cummax(operand, axis=0, reverse=False):
    """Cumulative maximum along `axis`."""
    from . import numpy as fnp
    x = _st.rev(operand, (axis,)) if reverse else operand
    out = fnp.cummax(x, axis=axis)
    return _st.rev(out, (axis,)) if reverse else out


def cummin(operand, axis=0, reverse=False):
    """Cumulative minimum along `axis`."""
    from . import numpy as fnp
    x = _st.rev(operand, (axis,)) if reverse else operand
    out = fnp.cummin(x, axis=axis)
    return _st.rev(out, (axis,)) if reverse else out


def cumlogsumexp(operand, axis=0, reverse=False):
    """Cumulative log(sum(exp(x))) along `axis`, stable for large values."""
    from . import numpy as fnp
    return associative_scan(fnp.logaddexp, _arr(operand), reverse=reverse, axis=axis)


cumlogsumexp = _compile_when_it_pays(cumlogsumexp)    # (a scan: as numpy's cummax)


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """`keys` sorted along `dimension` and `values` permuted the same way."""
    k, v = sort((keys, values), dimension=dimension, is_stable=is_stable, num_keys=1)
    return k, v


def top_k(operand, k, *, axis=-1):
    """The `k` largest entries along `axis` (default: the last) in descending order of
    XLA's total order (+NaN first, -NaN last, +0 before -0), and their int32 indices (the
    lower index first among equal values)."""
    from . import numpy as fnp
    x = _arr(operand)
    axis = axis % x.ndim
    if not 0 <= k <= x.shape[axis]:
        raise ValueError(f"top_k: k={k} must be in [0, {x.shape[axis]}] for axis {axis} of "
                         f"shape {x.shape}")
    vals, idx = _win.top_k(fnp.moveaxis(x, axis, -1), k)
    return fnp.moveaxis(vals, -1, axis), fnp.moveaxis(idx, -1, axis)


def approx_max_k(operand, k, reduction_dimension=-1, recall_target=0.95,
                 reduction_input_size_override=-1, aggregate_to_topk=True):
    """The `k` largest entries along `reduction_dimension` and their indices. funcgrad
    computes them exactly (recall 1, which meets any `recall_target`)."""
    return top_k(operand, k, axis=reduction_dimension)


def approx_min_k(operand, k, reduction_dimension=-1, recall_target=0.95,
                 reduction_input_size_override=-1, aggregate_to_topk=True):
    """The `k` smallest entries along `reduction_dimension` and their indices (exact)."""
    vals, idx = top_k(_ew.neg(_arr(operand)), k, axis=reduction_dimension)
    return _ew.neg(vals), idx


# ---------------------------------------------------------------------------------------
# Implicit differentiation: custom_linear_solve and custom_root


def _closure_convert(fun, *examples):
    """`fun(*args)` (pytrees in and out) as `(consts, call)` with `call(consts, *args)`:
    the arrays `fun` closes over (possibly tracers of enclosing transforms) become explicit
    operands, so that they can be differentiated, or replaced by their primal values."""
    from .ir import eval_program
    leaves, tree = _tree_flatten(examples)
    store = {}

    def flat(*xs):
        out = fun(*_tree_unflatten(tree, list(xs)))
        o_leaves, o_tree = _tree_flatten(out)
        store["tree"] = o_tree
        return [_arr(o) for o in o_leaves]

    program, consts = _stage_closed(flat, [_core.get_aval(x) for x in leaves])
    out_tree = store["tree"]

    def call(cs, *args):
        xs = [_arr(v) for v in _tree_leaves(args)]
        return _tree_unflatten(out_tree, eval_program(program, [], list(cs) + xs))

    return list(consts), call


def _tree_sub(a, b):
    return _tree_map(lambda x, y: _ew.sub(x, y), a, b)


def _linear_tangent(solve_fn, transpose_fn, r, residuals):
    """`solve_fn(residuals, r)` for a tangent `r` that it maps linearly. Under reverse mode
    (`r` staged by linearize) the solve is one `custom_lin` equation whose transpose is
    `transpose_fn(residuals, ct)`: the user's solver is never transposed itself."""
    from .ad import is_linearize_tracer
    r_leaves, r_tree = _tree_flatten(r)
    if not any(is_linearize_tracer(t) for t in r_leaves):
        return solve_fn(residuals, r)
    if transpose_fn is None:
        raise TypeError("custom_linear_solve: reverse-mode differentiation needs "
                        "transpose_solve (or symmetric=True)")
    out_avals = tuple(_core.get_aval(x).strip_weak() for x in r_leaves)

    def bwd(res, cts):
        ct_tree = _tree_unflatten(r_tree, list(cts))
        return [_arr(c) for c in _tree_leaves(transpose_fn(list(res), ct_tree))]

    outs = _bind(_cf.custom_lin_p, *residuals, *r_leaves, num_res=len(residuals), bwd=bwd,
                 out_avals=out_avals)
    return _tree_unflatten(r_tree, outs)


def _vecmat(linear, point):
    """The transpose of the linear map `linear` (its VJP, at any point of its domain)."""
    from .api import vjp

    def vecmat(y):
        _, f_vjp = vjp(linear, point)
        return f_vjp(y)[0]
    return vecmat


def _split(xs, sizes):
    out, i = [], 0
    for n in sizes:
        out.append(list(xs[i:i + n]))
        i += n
    return out


def custom_linear_solve(matvec, b, solve, transpose_solve=None, symmetric=False,
                        has_aux=False):
    """x = solve(matvec, b), differentiated implicitly (JAX's `lax.custom_linear_solve`):
    derivatives treat x as A^{-1} b for the linear map `matvec` = A, with respect to `b`
    and to the arrays `matvec` closes over, never through the iterations of `solve`.
    Reverse mode solves with A^T by `transpose_solve(vecmat, x_bar)`, or by
    `solve(matvec, x_bar)` when `symmetric`. With `has_aux`, the solvers return
    `(x, aux)` and so does this (aux gets no derivative)."""
    from .api import custom_jvp, jvp
    consts, mv = _closure_convert(matvec, b)

    def x_of(out):
        return out[0] if has_aux else out

    s_consts, s_call = _closure_convert(
        lambda cs, r: solve(lambda v: mv(cs, v), r), consts, b)
    if symmetric:
        t_consts, t_call = [], None
    elif transpose_solve is not None:
        t_consts, t_call = _closure_convert(
            lambda cs, ct: x_of(transpose_solve(_vecmat(lambda v: mv(cs, v), ct), ct)),
            consts, b)
    else:
        t_consts, t_call = [], None
    sizes = (len(consts), len(s_consts), len(t_consts))

    def forward(res, r):
        cs, scs, _ = _split(res, sizes)
        return x_of(s_call(scs, cs, r))

    def backward(res, ct):
        cs, scs, tcs = _split(res, sizes)
        return x_of(s_call(scs, cs, ct)) if symmetric else t_call(tcs, cs, ct)

    can_transpose = symmetric or transpose_solve is not None

    @custom_jvp
    def solve_x(res, rhs):
        return forward(res, rhs)

    @solve_x.defjvp
    def solve_x_jvp(primals, tangents):
        res, rhs = primals
        res_dot, rhs_dot = tangents
        x = solve_x(res, rhs)
        cs, _, _ = _split(res, sizes)
        cs_dot, _, _ = _split(res_dot, sizes)
        # d(A x) = dA x + A dx = db  =>  dx = A^{-1} (db - dA x); the solvers' own closures
        # get no derivative.
        _, mv_dot = jvp(lambda c: mv(c, x), (cs,), (cs_dot,))
        r = _tree_sub(rhs_dot, mv_dot)
        x_dot = _linear_tangent(forward, backward if can_transpose else None, r, list(res))
        return x, x_dot

    res = list(consts) + list(s_consts) + list(t_consts)
    x = solve_x(res, b)
    if has_aux:
        aux = s_call([stop_gradient(c) for c in s_consts],
                     [stop_gradient(c) for c in consts], _tree_map(stop_gradient, b))[1]
        return x, aux
    return x


def custom_root(f, initial_guess, solve, tangent_solve, has_aux=False):
    """A root x of `f(x) = 0` found by `solve(f, initial_guess)`, differentiated implicitly
    (JAX's `lax.custom_root`): dx = -(df/dx)^{-1} (df/dtheta) dtheta for the arrays `f`
    closes over, with `tangent_solve(g, y)` solving the linear system g(x) = y (e.g.
    `lambda g, y: y / g(1.0)` for scalars). The initial guess gets no derivative. With
    `has_aux`, `solve` returns `(x, aux)` and this returns `(x, aux)`."""
    from .api import custom_jvp, jvp
    guess = _tree_map(stop_gradient, initial_guess)
    consts, fc = _closure_convert(f, guess)

    def x_of(out):
        return out[0] if has_aux else out

    def jac(cs, x):
        return lambda v: jvp(lambda y: fc(cs, y), (x,), (v,))[1]

    s_consts, s_call = _closure_convert(lambda cs, x0: solve(lambda v: fc(cs, v), x0),
                                        consts, guess)
    f_out = fc(consts, guess)
    ts_consts, ts_call = _closure_convert(
        lambda cs, x, y: tangent_solve(jac(cs, x), y), consts, guess, f_out)
    tt_consts, tt_call = _closure_convert(
        lambda cs, x, ct: tangent_solve(_vecmat(lambda v: fc(cs, v), x), ct),
        consts, guess, guess)
    sizes = (len(consts), len(s_consts), len(ts_consts), len(tt_consts))

    @custom_jvp
    def root(res, x0):
        cs, scs, _, _ = _split(res, sizes)
        return x_of(s_call(scs, cs, x0))

    @root.defjvp
    def root_jvp(primals, tangents):
        res, x0 = primals
        res_dot, _ = tangents
        x = root(res, x0)
        cs = _split(res, sizes)[0]
        cs_dot = _split(res_dot, sizes)[0]
        # f(x(theta), theta) = 0  =>  df/dx dx = -df/dtheta dtheta.
        _, f_dot = jvp(lambda c: fc(c, x), (cs,), (cs_dot,))
        rhs = _tree_map(_ew.neg, f_dot)
        x_leaves, x_tree = _tree_flatten(x)
        nres = len(res)

        def unpack(r):
            r = list(r)
            pieces = _split(r[:nres], sizes)
            return pieces, _tree_unflatten(x_tree, r[nres:])

        def fwd(r, v):
            (cs_, _, tscs_, _), x_ = unpack(r)
            return ts_call(tscs_, cs_, x_, v)

        def bwd(r, ct):
            (cs_, _, _, ttcs_), x_ = unpack(r)
            return tt_call(ttcs_, cs_, x_, ct)

        x_dot = _linear_tangent(fwd, bwd, rhs, list(res) + list(x_leaves))
        return x, x_dot

    res = list(consts) + list(s_consts) + list(ts_consts) + list(tt_consts)
    x = root(res, guess)
    if has_aux:
        aux = s_call([stop_gradient(c) for c in s_consts],
                     [stop_gradient(c) for c in consts], guess)[1]
        return x, aux
    return x


# ---------------------------------------------------------------------------------------
# Program structure


def optimization_barrier(operand, /):
    """`operand` (a pytree of arrays) unchanged. In XLA it stops the compiler moving work
    across it; funcgrad's optimiser does not honour it as a barrier yet."""
    return _tree_map(_arr, operand)


def composite(decomposition, name, version=0):
    """`decomposition` as a named composite operation: calling the result runs
    `decomposition` (funcgrad has no composite-aware lowering, so the name is unused)."""
    if not isinstance(name, str):
        raise TypeError(f"composite: the name must be a string, got {type(name).__name__}")

    @_functools.wraps(decomposition)
    def wrapped(*args, **kwargs):
        return decomposition(*args, **kwargs)

    return wrapped


def platform_dependent(*args, default=None, **per_platform):
    """Call the branch for the platform of the default backend: its own name ('c',
    'reference', 'opencl'), then 'cpu' for the CPU backends, else `default`."""
    from .backends import default_backend_name
    name = default_backend_name()
    for key in (name, "cpu" if name in ("c", "reference") else None):
        if key is not None and per_platform.get(key) is not None:
            return per_platform[key](*args)
    if default is None:
        raise NotImplementedError(f"platform_dependent: no branch for platform {name!r} "
                                  f"(given: {sorted(per_platform)}) and no default")
    return default(*args)


# ---------------------------------------------------------------------------------------
# Control flow


def _leaf_arrays(xs):
    return [x if isinstance(x, _Array) else _core.to_array(x) for x in xs]


def _check_tree(what, expected_tree, got_tree, expected_avals=None, got_avals=None):
    if expected_tree != got_tree:
        raise TypeError(f"{what}: the output structure {got_tree} does not match the carry "
                        f"structure {expected_tree}")
    if expected_avals is not None:
        for a, b in zip(expected_avals, got_avals):
            if a.shape != b.shape or a.dtype != b.dtype:
                raise TypeError(f"{what}: the carry changed type from {a.short()} to "
                                f"{b.short()}; the body must return the same shapes and "
                                "dtypes it takes")


class _WeakCarryPromotion(Exception):
    """Raised while staging a loop body whose weakly-typed carry input comes out with another
    dtype: as in JAX, the loop is restaged with that carry promoted."""

    def __init__(self, dtypes):
        super().__init__("internal: weak carry promotion")
        self.dtypes = dtypes


def _check_weak_carry(in_avals, out_avals):
    promote = {}
    for i, (a, b) in enumerate(zip(in_avals, out_avals)):
        if a.weak_type and a.shape == b.shape and a.dtype != b.dtype:
            dt, _ = _dtypes.result_type((a.dtype, True), (b.dtype, b.weak_type))
            if dt != a.dtype:
                # strongly typed, as JAX's convert_element_type of the initial value makes it
                # (a weak int 1 carrying c + 0.5 ends as a strong float32 there)
                promote[i] = (dt, False)
    if promote:
        raise _WeakCarryPromotion(promote)


def _promote_carry(leaves, promote):
    return [_ew.convert_element_type(x, *promote[i]) if i in promote else x
            for i, x in enumerate(leaves)]


def scan(f: _Callable, init, xs=None, length=None, reverse=False, unroll=1, _split_transpose=False):
    """`(carry, ys) = scan(f, init, xs)`: loop `carry, y = f(carry, x)` over the leading axis
    of `xs` (pytrees allowed), stacking the `y`s (JAX's `lax.scan`)."""
    carry_leaves, carry_tree = _tree_flatten(init)
    carry_leaves = _leaf_arrays(carry_leaves)
    xs_leaves, xs_tree = _tree_flatten(xs)
    xs_leaves = _leaf_arrays(xs_leaves)
    lengths = {x.shape[0] for x in xs_leaves if x.ndim}
    if any(x.ndim == 0 for x in xs_leaves):
        raise ValueError("scan: scanned inputs (xs) must have a leading axis, got a scalar")
    if length is not None:
        lengths.add(int(length))
    if len(lengths) > 1:
        raise ValueError(f"scan: scanned inputs and length have inconsistent leading sizes "
                         f"{sorted(lengths)}")
    if not lengths:
        raise ValueError("scan: give xs or length")
    n = lengths.pop()
    x_avals = [_core.ShapedArray(x.shape[1:], x.dtype, x.weak_type) for x in xs_leaves]
    carry_avals = [x.aval for x in carry_leaves]
    store = {}

    def body(*args):
        c = _tree_unflatten(carry_tree, args[:len(carry_leaves)])
        x = _tree_unflatten(xs_tree, args[len(carry_leaves):])
        out = f(c, x)
        if not (isinstance(out, tuple) and len(out) == 2):
            raise TypeError("scan: the body must return a pair (carry, y)")
        new_c, y = out
        c_leaves, c_tree = _tree_flatten(new_c)
        c_leaves = _leaf_arrays(c_leaves)
        if c_tree == carry_tree:
            _check_weak_carry(carry_avals, [a.aval for a in c_leaves])
        _check_tree("scan", carry_tree, c_tree, carry_avals, [a.aval for a in c_leaves])
        store["strong"] = _strong_carries(c_leaves, carry_avals)
        c_leaves = [_ew.convert_element_type(a, b.dtype, b.weak_type) if a.weak_type != b.weak_type
                    else a for a, b in zip(c_leaves, carry_avals)]
        y_leaves, y_tree = _tree_flatten(y)
        store["y_tree"] = y_tree
        return c_leaves + _leaf_arrays(y_leaves)

    try:
        prog, consts = _stage_closed(body, carry_avals + x_avals)
    except _WeakCarryPromotion as e:
        carry_leaves = _promote_carry(carry_leaves, e.dtypes)
        carry_avals[:] = [x.aval for x in carry_leaves]
        prog, consts = _stage_closed(body, carry_avals + x_avals)
    k = _unroll_count(unroll, n, "scan")
    if k > 1:
        outs = _scan_unrolled(prog, consts, carry_leaves, xs_leaves, n, bool(reverse), k)
    else:
        outs = _bind(_cf.scan_p, *consts, *carry_leaves, *xs_leaves, program=prog,
                     num_consts=len(consts), num_carry=len(carry_leaves), length=n,
                     reverse=bool(reverse))
    nc = len(carry_leaves)
    return (_tree_unflatten(carry_tree, _strengthen(outs[:nc], store["strong"])),
            _tree_unflatten(store["y_tree"], outs[nc:]))


def _unroll_count(unroll, n: int, what: str) -> int:
    """Trips per rolled trip for `unroll` (JAX's: True or 0 for all, False or 1 for none)."""
    if unroll is True:
        return n
    if unroll is False or unroll is None:
        return 1
    k = _operator.index(unroll)
    if k < 0:
        raise ValueError(f"{what}: unroll must be a non-negative int or a bool, got {unroll}")
    return n if k == 0 else _builtins.min(k, n)


def _scan_unrolled(prog, consts, carry, xs, n: int, reverse: bool, k: int) -> list:
    """The outputs of `scan_p` on `prog` with its trips written out `k` at a time: the body
    repeated k times in a scan over n // k trips and the n % k trips left written out after
    it (before it where `reverse`), all of them where k == n. JAX's `unroll`: the same
    results, and the repeated bodies fuse (8 trips of an elementwise Horner step become one
    pass over the array)."""
    nc = len(carry)

    def rows(leaves):
        """The scanned values of step t: row t of each leaf."""
        return lambda t: [index_in_dim(x, t, 0, keepdims=False) for x in leaves]

    def trips(c, rows_at, steps):
        """Run the body over `steps` (in order), `rows_at(t)` the scanned values of step t;
        returns the carry and each y leaf stacked in step order."""
        ys = {}
        for t in (reversed(steps) if reverse else steps):
            out = _eval_program(prog, [], [*consts, *c, *rows_at(t)])
            c, ys[t] = out[:nc], out[nc:]
        return list(c), [stack([ys[t][j] for t in steps]) for j in range(len(prog.outvars) - nc)]

    m = n // k
    if m == 1:                                    # (k trips or more: all of them)
        c, ys = trips(carry, rows(xs), range(n))
        return c + ys
    lo = n - m * k if reverse else 0              # the trips the rolled loop takes
    main_xs = [_st.reshape(_ix.slice_in_dim(x, lo, lo + m * k), (m, k) + x.shape[1:])
               for x in xs]
    c, ys = scan(lambda c, xc: trips(c, rows(xc), range(k)), list(carry), main_xs, length=m,
                 reverse=reverse)
    ys = [_st.reshape(y, (m * k,) + y.shape[2:]) for y in ys]
    rest = range(0, lo) if reverse else range(m * k, n)
    if not rest:
        return list(c) + ys
    c, ys_rest = trips(c, rows(xs), rest)
    parts = (ys_rest, ys) if reverse else (ys, ys_rest)
    return c + [_ix.concatenate([a, b], 0) for a, b in zip(*parts)]


def _strong_carries(out_leaves, in_avals):
    """The carries whose input is weakly typed and whose body output is not (a weak 0.0
    plus a float32 x): JAX's loop result takes the body's flag there."""
    return [i for i, (a, b) in enumerate(zip(out_leaves, in_avals))
            if b.weak_type and not a.weak_type]


def _strengthen(outs, strong):
    """`outs` with the carries `strong` lists strongly typed (`_strong_carries`): a weak
    final carry made `carry * float16_array` float16 where JAX's gives float32."""
    return [_ew.convert_element_type(o, o.dtype, False) if i in strong else o
            for i, o in enumerate(outs)]


def _stage_branch(f, operands_leaves, in_tree):
    store = {}

    def fun(*args):
        out = f(*_tree_unflatten(in_tree, args))
        lv, tr = _tree_flatten(out)
        store["tree"] = tr
        return _leaf_arrays(lv)

    prog, consts = _stage_closed(fun, [x.aval for x in operands_leaves])
    return prog, consts, store["tree"]


def switch(index, branches, *operands, operand=None):
    """Apply `branches[index](*operands)`; the index is clamped (JAX's `lax.switch`).
    `operand=` is JAX's older single-operand form."""
    if operand is not None:
        if operands:
            raise TypeError("switch: pass operands positionally or as operand=, not both")
        operands = (operand,)
    if not branches:
        raise ValueError("switch: need at least one branch")
    index = _core.to_array(index)
    if index.shape != ():
        raise TypeError(f"switch: index must be a scalar, got shape {index.shape}")
    if not _dtypes.is_int(index.dtype):
        raise TypeError(f"switch: index must be an integer, got {index.dtype}")
    # (Every branch is traced, eagerly too, as in JAX: branches must agree in structure,
    # shapes and dtypes whichever one runs.)
    leaves, in_tree = _tree_flatten(operands)
    leaves = _leaf_arrays(leaves)
    staged = [_stage_branch(b, leaves, in_tree) for b in branches]
    trees = [t for _, _, t in staged]
    for t in trees[1:]:
        if t != trees[0]:
            raise TypeError(f"cond/switch: branches return different structures: {trees[0]} "
                            f"vs {t}")
    # Every branch takes all branches' consts, then the operands.
    all_consts = [c for _, cs, _ in staged for c in cs]
    progs = []
    offset = 0
    for prog, cs, _ in staged:
        k = len(cs)
        progs.append(_pad_program_inputs(prog, offset, k, [_core.get_aval(c) for c in all_consts]))
        offset += k
    out_avals = [p.out_avals for p in progs]
    for oa in out_avals[1:]:
        if [(a.shape, a.dtype) for a in oa] != [(a.shape, a.dtype) for a in out_avals[0]]:
            raise TypeError("cond/switch: branches must return the same shapes and dtypes, got "
                            f"{[a.short() for a in out_avals[0]]} and "
                            f"{[a.short() for a in oa]}")
    index = _ew.convert_element_type(index, _dtypes.int32)
    outs = _bind(_cf.cond_p, index, *all_consts, *leaves, branches=tuple(progs))
    return _tree_unflatten(trees[0], outs)


def _pad_program_inputs(prog, offset, k, all_const_avals):
    """Make a branch taking [its k consts, operands] take [all consts, operands]."""
    from .ir import Program, Var
    new_invars = [Var(a) for a in all_const_avals]
    new_invars[offset:offset + k] = prog.invars[:k]
    return Program([], new_invars + prog.invars[k:], prog.eqns, prog.outvars)


def cond(pred, true_fun, false_fun=None, *operands, operand=None):
    """`true_fun(*operands) if pred else false_fun(*operands)`, staged as one primitive."""
    if operand is not None:
        operands = (operand,)
    if false_fun is None:
        raise TypeError("cond: give both true_fun and false_fun")
    pred = _core.to_array(pred)
    if pred.shape != ():
        raise TypeError(f"cond: pred must be a scalar, got shape {pred.shape}; use "
                        "fnp.where for elementwise selection")
    if _dtypes.is_bool(pred.dtype):
        index = _ew.convert_element_type(pred, _dtypes.int32)
    else:
        index = _ew.convert_element_type(_ew.ne(pred, _ew.convert_element_type(0, pred.dtype)),
                                     _dtypes.int32)
    return switch(index, [false_fun, true_fun], *operands)


def while_loop(cond_fun: _Callable, body_fun: _Callable, init_val):
    """`while cond_fun(val): val = body_fun(val)` as one primitive (JAX's `lax.while_loop`).
    Forward-mode differentiable; reverse mode needs `scan` (a clear error says so)."""
    leaves, tree = _tree_flatten(init_val)
    leaves = _leaf_arrays(leaves)
    avals = [x.aval for x in leaves]
    store = {}

    def cfun(*args):
        p = cond_fun(_tree_unflatten(tree, args))
        p = _core.to_array(p)
        if p.shape != () or p.dtype != _dtypes.bool_:
            raise TypeError(f"while_loop: cond_fun must return a boolean scalar, got "
                            f"{p.aval.short()}")
        return [p]

    def bfun(*args):
        out = body_fun(_tree_unflatten(tree, args))
        lv, tr = _tree_flatten(out)
        lv = _leaf_arrays(lv)
        if tr == tree:
            _check_weak_carry(avals, [a.aval for a in lv])
        _check_tree("while_loop", tree, tr, avals, [a.aval for a in lv])
        store["strong"] = _strong_carries(lv, avals)
        return [_ew.convert_element_type(a, b.dtype, b.weak_type) if a.weak_type != b.weak_type
                else a for a, b in zip(lv, avals)]

    try:
        bprog, bconsts = _stage_closed(bfun, avals)
    except _WeakCarryPromotion as e:
        leaves = _promote_carry(leaves, e.dtypes)
        avals[:] = [x.aval for x in leaves]
        bprog, bconsts = _stage_closed(bfun, avals)
    cprog, cconsts = _stage_closed(cfun, avals)
    outs = _bind(_cf.while_p, *cconsts, *bconsts, *leaves, cond_program=cprog,
                body_program=bprog, cond_nconsts=len(cconsts), body_nconsts=len(bconsts))
    return _tree_unflatten(tree, _strengthen(outs, store["strong"]))


def fori_loop(lower, upper, body_fun: _Callable, init_val, unroll=None):
    """`for i in range(lower, upper): val = body_fun(i, val)`. With concrete bounds this is a
    `scan` (reverse-differentiable); with traced bounds a `while_loop`."""
    lo_c, up_c = _core.concrete_value(lower), _core.concrete_value(upper)
    static = (lo_c is not None and up_c is not None and not isinstance(lower, _Tracer)
              and not isinstance(upper, _Tracer))
    if static:
        # JAX scans from the Python int int(lower): the index is a weak int of the default
        # type whatever the bounds' types, so `c + i` keeps an int8 carry int8, and int16
        # bounds do not make `(i + 1) * 20000` wrap in int16
        lo, up = int(lo_c), int(up_c)

        def step(carry, _):
            i, val = carry
            return (_ew.add(i, 1), body_fun(i, val)), None

        # No trips still traces the body, as JAX does: the result is the carry as the body
        # types it (an Array, not a Python scalar passed in as init_val).
        (_, out), _ = scan(step, (_core.to_array(lo), init_val), None,
                           length=up - lo if up > lo else 0, unroll=unroll)
        return out
    # (JAX's test is `unroll != 1`, so True passes too, and means nothing here)
    if not (unroll is None or unroll is False or unroll is True
            or (type(unroll) is int and unroll == 1)):
        raise ValueError("fori_loop: unroll needs static loop bounds (Python ints); these "
                         "are traced values. Pass the bounds as Python ints, or drop unroll.")
    # traced bounds: the index has the bounds' type (weak if they are), as in JAX
    lower, upper = _core.to_array(lower), _core.to_array(upper)
    if lower.dtype != upper.dtype:
        idx_dtype = _np.result_type(lower.dtype, upper.dtype)
        lower = _ew.convert_element_type(lower, idx_dtype)
        upper = _ew.convert_element_type(upper, idx_dtype)

    def c(state):
        return _ew.lt(state[0], state[2])

    def b(state):
        i, val, u = state
        return _ew.add(i, 1), body_fun(i, val), u

    _, out, _ = while_loop(c, b, (lower, init_val, upper))
    return out


def map(f: _Callable, xs, *, batch_size=None):
    """`stack([f(x) for x in xs])` as a scan. With `batch_size=k`, as JAX does: a scan over
    batches of k elements, each mapped by `vmap(f)`, then one more `vmap(f)` over the
    remainder (so `f` is traced twice when k does not divide the length); `batch_size=0`
    is one `vmap` over everything."""
    if batch_size is None:
        _, ys = scan(lambda c, x: (c, f(x)), (), xs)
        return ys
    batch_size = _operator.index(batch_size)
    if batch_size < 0:
        raise ValueError(f"lax.map: batch_size must be >= 0 (0 maps everything in one vmap), "
                         f"got {batch_size}")
    leaves, tree = _tree_flatten(xs)
    if not leaves:
        _, ys = scan(lambda c, x: (c, f(x)), (), xs)     # scan's error: nothing to map over
        return ys
    leaves = _leaf_arrays(leaves)
    if any(x.ndim == 0 for x in leaves):
        raise ValueError("lax.map: mapped inputs (xs) must have a leading axis, got a scalar")
    if len({x.shape[0] for x in leaves}) > 1:
        raise ValueError(f"lax.map: mapped inputs have inconsistent leading sizes "
                         f"{sorted({x.shape[0] for x in leaves})}")
    from .api import vmap
    n = leaves[0].shape[0]
    num_batches, remainder = (0, n) if batch_size == 0 else divmod(n, batch_size)
    cut = num_batches * batch_size
    if num_batches == 0:
        return vmap(f)(xs)
    batched = [_st.reshape(_ix.slice_in_dim(x, 0, cut), (num_batches, batch_size)
                           + x.shape[1:]) for x in leaves]
    _, ys = scan(lambda c, x: (c, vmap(f)(x)), (), _tree_unflatten(tree, batched))
    ys = _tree_map(lambda y: _st.reshape(y, (cut,) + y.shape[2:]), ys)
    if not remainder:
        return ys
    rest = vmap(f)(_tree_unflatten(tree, [_ix.slice_in_dim(x, cut, n) for x in leaves]))
    return _tree_map(lambda y, r: _ix.concatenate([y, r], 0), ys, rest)


def associative_scan(fn, elems, reverse=False, axis=0):
    """Inclusive prefix scan of an associative `fn(earlier, later)` over the leading
    `axis` of each leaf of `elems`, in JAX's odd/even order (O(n) work, 2 log2(n) levels;
    see funcgrad.numpy._reductions.prefix_scan)."""
    leaves, tree = _tree_flatten(elems)
    leaves = _leaf_arrays(leaves)
    ndim = leaves[0].ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"associative_scan: axis {axis} is out of bounds for arrays of "
                         f"rank {ndim}")
    axis = axis % ndim        # a negative axis counts from the end, as in JAX
    if reverse:
        leaves = [_st.rev(x, (axis,)) for x in leaves]
    from .numpy._reductions import prefix_scan

    def combine(a, b):
        return [_arr(c) for c in
                _tree_leaves(fn(_tree_unflatten(tree, a), _tree_unflatten(tree, b)))]
    leaves = prefix_scan(combine, leaves, axis)
    if reverse:
        leaves = [_st.rev(x, (axis,)) for x in leaves]
    return _tree_unflatten(tree, leaves)


# `import jax.lax.linalg` / `from jax.lax.linalg import cholesky` (funcgrad.lax is a module,
# not a package: the submodule is registered under its dotted name)
_sys.modules[__name__ + ".linalg"] = linalg
