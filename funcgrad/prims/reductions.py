"""Reduction primitives: `reduce_sum/max/min/prod`, `argmax/argmin`, `cumsum`."""
from __future__ import annotations

import numpy as np

from .. import core, dtypes
from ..ad import deflinear, defzero_jvp
from ..core import ShapedArray, bind
from .elementwise import add, convert_element_type, div, eq, mul, np_reduce_extreme
from .structural import broadcast_in_dim, full, _norm_axes


def _reduce_shape(name):
    def rule(x, *, axes):
        if len(set(axes)) != len(axes) or any(not 0 <= a < x.ndim for a in axes):
            raise TypeError(f"{name}: invalid axes {axes} for shape {x.shape}")
        # An empty reduction gives the monoid's identity (lax.reduce_max of an empty array
        # is -inf, as in JAX); funcgrad.numpy.max raises for it, as NumPy and JAX do.
        shape = tuple(s for i, s in enumerate(x.shape) if i not in axes)
        return ShapedArray(shape, x.dtype, x.weak_type)
    return rule


def _reduce_batch(prim):
    def rule(size, vals, dims, *, axes):
        (x,), (d,) = vals, dims
        new_axes = tuple(a + (a >= d) for a in axes)
        out_d = d - sum(a < d for a in new_axes)
        return prim.bind(x, axes=new_axes), out_d
    core.batch_rules[prim] = rule


def _keep_dims_shape(in_shape, axes):
    return tuple(1 if i in axes else s for i, s in enumerate(in_shape))


def _bcast_back(y, in_shape, axes):
    kept = tuple(i for i in range(len(in_shape)) if i not in axes)
    return broadcast_in_dim(y, in_shape, kept)


# --- reduce_sum ------------------------------------------------------------------------

reduce_sum_p = core.new_primitive("reduce_sum")
core.shape_rules[reduce_sum_p] = _reduce_shape("reduce_sum")


def _reduce_sum_np(x, *, axes):
    if x.dtype == np.bool_:
        return np.sum(x, axis=axes)
    if dtypes.is_float(x.dtype) and x.dtype.itemsize == 2:
        # bfloat16/float16 accumulate in float32 and round once, as XLA's CPU backend does:
        # summed in bfloat16, 1 + 511 * 2**-8 stays 1.
        return np.sum(x, axis=axes, dtype=np.float32).astype(x.dtype)
    if x.dtype in (np.float32, np.complex64):
        # accumulated in double and rounded once: NumPy sums pairwise only along the
        # innermost reduced axis and one by one across the others, so a float32 mean over
        # axes (0, 1, 2, 3) of 14,553 values near 0.7 was off by 1.7e-4 relative (fuzz
        # seed 20261215; JAX: 1.5e-7; the C backend's column reduction erred the same way
        # and now accumulates in double too: `codegen._reduce_leading_in_scratch`)
        wide = np.float64 if x.dtype == np.float32 else np.complex128
        return np.sum(x, axis=axes, dtype=wide).astype(x.dtype)
    return np.sum(x, axis=axes, dtype=x.dtype)


core.impl_rules[reduce_sum_p] = _reduce_sum_np
deflinear(reduce_sum_p, lambda ct, x, *, axes: [_bcast_back(ct, x.aval.shape, axes)])
_reduce_batch(reduce_sum_p)


def reduce_sum(x, axes):
    x = core.to_array(x)
    return bind(reduce_sum_p, x, axes=tuple(sorted(_norm_axes(axes, x.ndim, "reduce_sum"))))


# --- reduce_max / reduce_min -----------------------------------------------------------


def _chooser_jvp(prim):
    def rule(primals, tangents, *, axes):
        (x,), (t,) = primals, tangents
        ans = prim.bind(x, axes=axes)
        if not dtypes.is_inexact(x.dtype):
            return ans, full(ans.shape, 0, ans.dtype)
        loc = convert_element_type(eq(x, _bcast_back(ans, x.shape, axes)), x.dtype)
        counts = reduce_sum(loc, axes)
        return ans, div(reduce_sum(mul(t, loc), axes), counts)
    core.jvp_rules[prim] = rule


reduce_max_p = core.new_primitive("reduce_max")
core.shape_rules[reduce_max_p] = _reduce_shape("reduce_max")
def reduce_identity(kind, dtype):
    """The identity of the max/min monoid on `dtype`: what an empty reduction gives (for
    complex, -inf/+inf real part: max and min order complex numbers lexicographically)."""
    dtype = np.dtype(dtype)
    if dtypes.is_inexact(dtype):
        return np.asarray(-np.inf if kind == "max" else np.inf, dtype)
    if dtypes.is_int(dtype):
        info = np.iinfo(dtype)
        return np.asarray(info.min if kind == "max" else info.max, dtype)
    return np.asarray(kind != "max", dtype)


core.impl_rules[reduce_max_p] = lambda x, *, axes: np_reduce_extreme(
    "max", x, axes, reduce_identity("max", x.dtype))
_chooser_jvp(reduce_max_p)
_reduce_batch(reduce_max_p)

reduce_min_p = core.new_primitive("reduce_min")
core.shape_rules[reduce_min_p] = _reduce_shape("reduce_min")
core.impl_rules[reduce_min_p] = lambda x, *, axes: np_reduce_extreme(
    "min", x, axes, reduce_identity("min", x.dtype))
_chooser_jvp(reduce_min_p)
_reduce_batch(reduce_min_p)


def reduce_max(x, axes):
    x = core.to_array(x)
    return bind(reduce_max_p, x, axes=tuple(sorted(_norm_axes(axes, x.ndim, "reduce_max"))))


def reduce_min(x, axes):
    x = core.to_array(x)
    return bind(reduce_min_p, x, axes=tuple(sorted(_norm_axes(axes, x.ndim, "reduce_min"))))


# --- reduce_prod -----------------------------------------------------------------------

reduce_prod_p = core.new_primitive("reduce_prod")
core.shape_rules[reduce_prod_p] = _reduce_shape("reduce_prod")
core.impl_rules[reduce_prod_p] = lambda x, *, axes: np.prod(x, axis=axes, dtype=x.dtype)
_reduce_batch(reduce_prod_p)


def _reduce_prod_jvp(primals, tangents, *, axes):
    # The tangent is sum_i t_i * prod_{j != i} x_j, computed as JAX computes it: a tree of
    # pairwise steps (x1, t1), (x2, t2) -> (x1 * x2, t1 * x2 + x1 * t2) over the reduced
    # elements. Polynomial in x, so exact at any number of zeros and to every derivative
    # order; every partial product is of a block of neighbours, so the gradient of a
    # product within range stays finite where exclusive products from the left and from
    # the right overflow (their product was inf * 0 = nan: fuzz seed 20261302).
    from .indexing import pad, slice_in_dim
    from .structural import reshape, transpose
    (x,), (t,) = primals, tangents
    ans = reduce_prod(x, axes)
    n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if not dtypes.is_inexact(x.dtype) or n == 0:
        return ans, full(ans.shape, 0, ans.dtype)
    kept = tuple(i for i in range(x.ndim) if i not in axes)
    perm = kept + tuple(axes)
    flat_shape = tuple(x.shape[i] for i in kept) + (n,)
    last = len(kept)
    xf = reshape(transpose(x, perm), flat_shape)
    tf = reshape(transpose(t, perm), flat_shape)
    edge = [(0, 0, 0)] * last
    while n > 1:
        if n % 2:
            xf = pad(xf, 1, edge + [(0, 1, 0)])
            tf = pad(tf, 0, edge + [(0, 1, 0)])
            n += 1
        x1, x2 = (slice_in_dim(xf, k, n, 2, last) for k in (0, 1))
        t1, t2 = (slice_in_dim(tf, k, n, 2, last) for k in (0, 1))
        xf, tf = mul(x1, x2), add(mul(t1, x2), mul(x1, t2))
        n //= 2
    return ans, reshape(tf, ans.shape)


core.jvp_rules[reduce_prod_p] = _reduce_prod_jvp


def reduce_prod(x, axes):
    x = core.to_array(x)
    return bind(reduce_prod_p, x, axes=tuple(sorted(_norm_axes(axes, x.ndim, "reduce_prod"))))


# --- argmax / argmin -------------------------------------------------------------------


def _arg_shape(name):
    def rule(x, *, axis, index_dtype):
        if not 0 <= axis < x.ndim:
            raise TypeError(f"{name}: axis {axis} out of range for shape {x.shape}")
        if x.shape[axis] == 0:
            raise ValueError(f"{name}: attempt to get {name} of an empty sequence")
        if dtypes.is_int(index_dtype) and x.shape[axis] - 1 > dtypes.iinfo(index_dtype).max:
            raise ValueError(
                f"{name}: an axis of {x.shape[axis]} elements (shape {x.shape}) has indices "
                f"that do not fit index_dtype {np.dtype(index_dtype)}; enable 64-bit types "
                "(funcgrad.config.update('jax_enable_x64', True)) or pass a wider index_dtype")
        return ShapedArray(tuple(s for i, s in enumerate(x.shape) if i != axis), index_dtype)
    return rule


def _arg_np(f):
    def impl(x, *, axis, index_dtype):
        if dtypes.is_inexact(x.dtype):
            nan = np.isnan(x)
            if nan.any():
                # NaN wins, as in NumPy and JAX.
                first_nan = np.argmax(nan, axis=axis)
                res = f(np.where(nan, 0, x), axis=axis)
                return np.where(nan.any(axis=axis), first_nan, res).astype(index_dtype)
        return f(x, axis=axis).astype(index_dtype)
    return impl


def _arg_batch(prim):
    def rule(size, vals, dims, *, axis, index_dtype):
        (x,), (d,) = vals, dims
        new_axis = axis + (axis >= d)
        return prim.bind(x, axis=new_axis, index_dtype=index_dtype), d - (new_axis < d)
    core.batch_rules[prim] = rule


argmax_p = core.new_primitive("argmax")
core.shape_rules[argmax_p] = _arg_shape("argmax")
core.impl_rules[argmax_p] = _arg_np(np.argmax)
defzero_jvp(argmax_p)
_arg_batch(argmax_p)

argmin_p = core.new_primitive("argmin")
core.shape_rules[argmin_p] = _arg_shape("argmin")
core.impl_rules[argmin_p] = _arg_np(np.argmin)
defzero_jvp(argmin_p)
_arg_batch(argmin_p)


def argmax(x, axis, index_dtype=dtypes.int32):
    x = core.to_array(x)
    return bind(argmax_p, x, axis=_norm_axes([axis], x.ndim, "argmax")[0],
                index_dtype=np.dtype(index_dtype))


def argmin(x, axis, index_dtype=dtypes.int32):
    x = core.to_array(x)
    return bind(argmin_p, x, axis=_norm_axes([axis], x.ndim, "argmin")[0],
                index_dtype=np.dtype(index_dtype))


# --- cumsum ----------------------------------------------------------------------------

cumsum_p = core.new_primitive("cumsum")


def _cumsum_acc(dt):
    """The type running sums accumulate in: float64 for the floats narrower than it
    (complex128 for complex64), as funcgrad's sums do; the dtype itself otherwise (integers
    wrap). A float32 running sum of 36,000 values near 1.7 drifted by 24 (0.04%): each
    addition to 60,000 rounds the same way (fuzz seed 456); JAX's prefix scan errs by
    about log2(n) ulps, a float64 running sum by half an ulp."""
    dt = np.dtype(dt)
    if dtypes.is_complex(dt):
        return np.dtype(np.complex128)
    if dtypes.is_float(dt) and dt.itemsize < 8:   # (ml_dtypes' narrow floats included)
        return np.dtype(np.float64)
    return dt


def _running_sum(src, axis):
    """np.cumsum(src, axis), the same additions in the same order. Along an axis that is
    not the last, with rows of at least _CUMSUM_ROW elements behind it, one np.add per
    step over whole rows: NumPy's accumulate walks such an axis column by column with a
    stride (cumsum over axis 0 of (1024, 1024) float64: 14.0 ms, by rows 2.3 ms)."""
    shape = src.shape
    n = shape[axis]
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    if axis == src.ndim - 1 or inner < _CUMSUM_ROW or n < 2:
        return np.cumsum(src, axis=axis, dtype=src.dtype)
    s3 = np.ascontiguousarray(src).reshape(-1, n, inner)
    out = np.empty_like(s3)
    out[:, 0] = s3[:, 0]
    for i in range(1, n):
        np.add(out[:, i - 1], s3[:, i], out=out[:, i])
    return out.reshape(shape)


_CUMSUM_ROW = 256


def _cumsum_np(x, *, axis, reverse):
    acc = _cumsum_acc(x.dtype)
    src = np.flip(x, axis) if reverse else x
    if acc != x.dtype:
        src = src.astype(acc)
    out = _running_sum(np.asarray(src, acc), axis)
    if acc != x.dtype:
        out = out.astype(x.dtype)
    return np.flip(out, axis) if reverse else out


def _cumsum_batch(size, vals, dims, *, axis, reverse):
    (x,), (d,) = vals, dims
    return cumsum(x, axis + (axis >= d), reverse), d


core.shape_rules[cumsum_p] = lambda x, *, axis, reverse: x
core.impl_rules[cumsum_p] = _cumsum_np
deflinear(cumsum_p, lambda ct, x, *, axis, reverse: [cumsum(ct, axis, not reverse)])
core.batch_rules[cumsum_p] = _cumsum_batch


def cumsum(x, axis=0, reverse=False):
    x = core.to_array(x)
    return bind(cumsum_p, x, axis=_norm_axes([axis], x.ndim, "cumsum")[0], reverse=bool(reverse))


def add_any(a, b):
    return add(a, b)
