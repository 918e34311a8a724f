"""funcgrad.numpy: NumPy's API on funcgrad arrays, as compositions of primitives.

Broadcasting follows NumPy. Type promotion follows JAX's lattice: Python scalars are weak
(they never widen an array's dtype), int + float gives that float, and creation functions
default to float32 / int32. Arrays are immutable: use `x.at[idx].set(v)`.

The functions live in private modules by family, and this module re-exports them:
`_dtypes` (scalar types, constants, dtype queries, promotion), `_creation`,
`_elementwise`, `_reductions`, `_shape`, `_indexing`, `_sorting` and `_products`; the
rest of NumPy's namespace, written on those, in `_extra`, `_more`, `_names`, `_poly`,
`_quantiles`, `_setops` and `_ufunc`; `linalg` and `fft` are submodules.
"""

from ..core import Array as _Array
from ._dtypes import (
    astype, bfloat16, bool_, can_cast, cdouble, character, complex128, complex64, complex_,
    csingle, double, dtype, e, euler_gamma, finfo, flexible, float16, float32, float4_e2m1fn,
    float64, float6_e2m3fn, float6_e3m2fn, float8_e3m4, float8_e4m3, float8_e4m3b11fnuz,
    float8_e4m3fn, float8_e4m3fnuz, float8_e5m2, float8_e5m2fnuz, float8_e8m0fnu, float_,
    floating, generic, iinfo, inexact, inf, int1, int16, int2, int32, int4, int64, int8, int_,
    integer, isscalar, issubdtype, nan, ndarray, number, object_, pi, promote_types,
    result_type, signedinteger, single, uint, uint1, uint16, uint2, uint32, uint4, uint64,
    uint8, unsignedinteger,
)
from ._creation import (
    arange, array, asarray, copy, diag, diagonal, empty, empty_like, eye, full, full_like,
    identity, linspace, logspace, meshgrid, ones, ones_like, trace, tri, tril, triu, zeros,
    zeros_like,
)
from ._elementwise import (
    abs, absolute, acos, acosh, allclose, angle, arccos, arccosh, arcsin, arcsinh, arctan, arctan2,
    arctanh, around, array_equal, asin, asinh, atan, atanh, bitwise_not, cbrt, ceil, clip, conj,
    conjugate, copysign, cos, cosh, deg2rad, degrees, divide, divmod, equal, exp, exp2, expm1,
    fabs, fix, float_power, floor, floor_divide, fmax, fmin, fmod, greater, greater_equal,
    heaviside, hypot, imag, invert, isclose, isfinite, isinf, isnan, isneginf, isposinf,
    left_shift, less, less_equal, log, log10, log1p, log2, logical_not, mod, nan_to_num, not_equal,
    positive, pow, power, rad2deg, radians, real, reciprocal, remainder, right_shift, rint, round,
    sign, signbit, sin, sinc, sinh, sqrt, square, tan, tanh, true_divide, trunc,
)
from ._reductions import (
    all, amax, amin, any, argmax, argmin, average, count_nonzero, cummax, cummin, cumprod,
    cumsum, diff, max, mean, min, nanmax, nanmean, nanmin, nansum, prod, ptp, std, sum, var,
)
from ._shape import (
    array_split, atleast_1d, atleast_2d, atleast_3d, broadcast_arrays, broadcast_shapes,
    broadcast_to, column_stack, concatenate, dsplit, dstack, expand_dims, flip, fliplr, flipud,
    hsplit, hstack, matrix_transpose, moveaxis, ndim, pad, permute_dims, ravel, repeat, reshape,
    resize, roll, rollaxis, rot90, row_stack, shape, size, split, squeeze, stack, swapaxes,
    tile, transpose, vsplit, vstack,
)
from ._indexing import (
    argwhere, flatnonzero, index_exp, newaxis, nonzero, ravel_multi_index, s_, select, take,
    take_along_axis, unravel_index, where,
)
from ._sorting import argsort, digitize, histogram, interp, lexsort, searchsorted, sort
from ._products import (
    convolve, correlate, cross, dot, einsum, inner, kron, matmul, outer, tensordot, vdot,
)
from . import fft, linalg
from ._extra import (
    append, apply_along_axis, atan2, bincount, bitwise_invert, bitwise_left_shift,
    bitwise_right_shift, block, choose, compress, concat, corrcoef, cov, cumulative_prod,
    cumulative_sum, delete, diag_indices, ediff1d, extract, frexp, fromfunction, gcd, geomspace,
    in1d, indices, insert, iscomplex, iscomplexobj, isin, isreal, isrealobj, ix_, lcm, ldexp,
    matvec, modf, nanargmax, nanargmin, nancumprod, nancumsum,
    nanprod, nanstd, nanvar,
    put_along_axis, real_if_close, sort_complex, spacing, trapezoid, tril_indices,
    tril_indices_from, triu_indices,
    triu_indices_from, unstack, vander, vecdot, vecmat, vectorize,
)
from ._more import (
    argpartition, array_equiv, bartlett, bitwise_count, blackman, diag_indices_from, diagflat,
    fill_diagonal, gradient, hamming, hanning, isdtype, iterable, partition,
)
from ._names import (
    ComplexWarning, apply_over_axes, array_repr, array_str, c_, complexfloating, einsum_path,
    from_dlpack, frombuffer, fromstring, get_printoptions, histogram2d, histogram_bin_edges,
    histogramdd, i0, kaiser, load, mask_indices, mgrid, nextafter, ogrid, packbits, piecewise,
    place, printoptions, put, r_, save, savez, set_printoptions, unpackbits, unwrap,
)
# jnp.add, jnp.maximum, ...: JAX's ufunc objects (with .reduce, .accumulate, .outer, .at)
from ._ufunc import (
    add, bitwise_and, bitwise_or, bitwise_xor, frompyfunc, logaddexp, logaddexp2, logical_and,
    logical_or, logical_xor, maximum, minimum, multiply, negative, subtract, ufunc,
)
from ._poly import (
    poly, polyadd, polyder, polydiv, polyfit, polyint, polymul, polysub, polyval, roots,
    trim_zeros,
)
from ._quantiles import (
    median, nanmedian, nanpercentile, nanquantile, percentile, quantile,
)
from ._setops import (
    intersect1d, setdiff1d, setxor1d, union1d, unique, unique_all, unique_counts, unique_inverse,
    unique_values,
)
from ._methods import attach_array_methods as _attach_array_methods

# jax.numpy.bool is NumPy's bool type (bound here, where no function tests against the
# builtin `bool`).
bool = bool_

_attach_array_methods(_Array)


def _placed(fn):
    """`fn` taking JAX's keyword arguments `device` and `out_sharding`: the result is put
    there (`device_put`); None (the default) leaves it on the default device. A JAX program
    that names its one device (`jnp.zeros(3, device=jax.devices()[0])`) raised TypeError."""
    def placed(*args, device=None, out_sharding=None, **kwargs):
        out = fn(*args, **kwargs)
        for target in (device, out_sharding):
            if target is not None:
                from ..devices import device_put
                out = device_put(out, target)
        return out
    placed.__wrapped__ = fn
    for attr in ("__name__", "__qualname__", "__doc__", "__module__"):
        setattr(placed, attr, getattr(fn, attr))
    return placed


arange, array, asarray, astype, empty, empty_like, eye, full, full_like, linspace, ones, \
    ones_like, zeros, zeros_like = map(_placed, (
        arange, array, asarray, astype, empty, empty_like, eye, full, full_like, linspace,
        ones, ones_like, zeros, zeros_like))

# The public namespace: NumPy's names that funcgrad.numpy implements (JAX's jax.numpy).
__all__ = [
    "abs", "absolute", "acos", "acosh", "add", "all", "allclose", "amax", "amin", "angle",
    "any", "append", "apply_along_axis", "arange", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "argmax", "argmin", "argsort", "argwhere", "around",
    "array", "array_equal", "array_split", "asarray", "asin", "asinh", "astype", "atan",
    "atan2", "atanh", "atleast_1d", "atleast_2d", "atleast_3d", "average", "bincount",
    "bitwise_and", "bitwise_invert", "bitwise_left_shift", "bitwise_not", "bitwise_or",
    "bitwise_right_shift", "bitwise_xor", "block", "bool_", "broadcast_arrays",
    "broadcast_shapes", "broadcast_to", "can_cast", "cbrt", "ceil", "choose", "clip",
    "column_stack", "compress", "concat", "concatenate", "conj", "conjugate", "convolve",
    "copy", "copysign", "corrcoef", "correlate", "cos", "cosh", "count_nonzero", "cov", "cross",
    "cummax", "cummin", "cumprod", "cumsum", "cumulative_prod", "cumulative_sum", "deg2rad",
    "degrees", "delete", "diag", "diag_indices", "diagonal", "diff", "digitize", "divide",
    "divmod", "dot", "dstack", "dtype", "e", "ediff1d", "einsum", "empty", "empty_like",
    "equal", "euler_gamma", "exp", "exp2", "expand_dims", "expm1", "extract", "eye", "fabs",
    "finfo", "fix", "flatnonzero", "flip", "fliplr", "flipud", "float16", "float32", "float64",
    "fft", "float_power", "floating", "floor", "floor_divide", "fmax", "fmin", "fmod", "frexp",
    "fromfunction", "full", "full_like", "gcd", "geomspace", "greater", "greater_equal",
    "heaviside", "histogram", "hsplit", "hstack", "hypot", "i0", "identity", "iinfo", "in1d",
    "indices", "inexact", "inf", "inner", "insert", "int16", "int32", "int64", "int8",
    "integer", "interp", "invert", "isclose", "iscomplex", "iscomplexobj", "isfinite", "isin",
    "isinf", "isnan", "isneginf", "isposinf", "isreal", "isrealobj", "isscalar", "issubdtype",
    "ix_", "kron", "lcm", "ldexp", "left_shift", "less", "less_equal", "lexsort", "linalg",
    "linspace", "log", "log10", "log1p", "log2", "logaddexp", "logaddexp2", "logical_and",
    "logical_not", "logical_or", "logical_xor", "logspace", "matmul", "matrix_transpose",
    "matvec", "max", "maximum", "mean", "median", "meshgrid", "min", "minimum", "mod", "modf",
    "moveaxis", "multiply", "nan", "nan_to_num", "nanargmax", "nanargmin", "nancumprod",
    "nancumsum", "nanmax", "nanmean", "nanmedian", "nanmin", "nanpercentile", "nanprod",
    "nanquantile", "nanstd", "nansum", "nanvar", "ndarray", "ndim", "negative", "newaxis",
    "nonzero", "not_equal", "number", "ones", "ones_like", "outer", "pad", "percentile",
    "permute_dims", "pi", "polyadd", "polyder", "polymul", "polyval", "positive", "pow",
    "power", "prod", "promote_types", "ptp", "put_along_axis", "quantile", "rad2deg", "radians",
    "ravel", "ravel_multi_index", "real", "reciprocal", "remainder", "repeat", "reshape",
    "resize", "result_type", "right_shift", "rint", "roll", "rollaxis", "rot90", "round",
    "row_stack", "searchsorted", "select", "shape", "sign", "signbit", "signedinteger", "sin",
    "sinc", "sinh", "size", "sort", "spacing", "split", "sqrt", "square", "squeeze", "stack",
    "std", "subtract", "sum", "swapaxes", "take", "take_along_axis", "tan", "tanh", "tensordot",
    "tile", "trace", "transpose", "trapezoid", "tri", "tril", "tril_indices",
    "tril_indices_from", "triu", "triu_indices", "triu_indices_from", "true_divide", "trunc",
    "uint16", "uint32", "uint64", "uint8", "unique", "unravel_index", "unsignedinteger",
    "unstack", "vander", "var", "vdot", "vecdot", "vecmat", "vectorize", "vsplit", "vstack",
    "where", "zeros", "zeros_like",
    "bfloat16", "float8_e3m4", "float8_e4m3", "float8_e4m3b11fnuz", "float8_e4m3fn",
    "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn",
    "float6_e3m2fn", "float4_e2m1fn", "int1", "int2", "int4", "uint1", "uint2", "uint4",
    "cdouble", "complex128", "complex64", "complex_", "csingle", "real_if_close",
    "sort_complex",
    "dsplit", "intersect1d", "poly", "polydiv", "polyfit", "polyint", "polysub", "roots",
    "setdiff1d", "setxor1d", "trim_zeros", "union1d", "unique_all", "unique_counts",
    "unique_inverse", "unique_values",
    "argpartition", "diag_indices_from", "diagflat", "fill_diagonal", "gradient", "partition",
    "array_equiv", "bitwise_count", "character", "double", "flexible", "float_", "generic",
    "imag", "index_exp", "int_", "isdtype", "iterable", "object_", "s_", "single", "uint",
    "bartlett", "blackman", "hamming", "hanning",
    "ComplexWarning", "apply_over_axes", "array_repr", "array_str", "bool", "c_",
    "complexfloating", "einsum_path", "from_dlpack", "frombuffer", "fromstring",
    "get_printoptions", "histogram2d", "histogram_bin_edges", "histogramdd", "kaiser", "load",
    "mask_indices", "mgrid", "nextafter", "ogrid", "packbits", "piecewise", "place",
    "printoptions", "put", "r_", "save", "savez", "set_printoptions", "unpackbits", "unwrap",
    "frompyfunc", "ufunc",
]
