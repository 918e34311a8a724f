"""Shape primitives: `broadcast_in_dim`, `reshape`, `transpose`, `squeeze`, `expand_dims`,
`rev` and `iota`, plus composites built on them (`full`, `moveaxis`, `broadcast_to`)."""
from __future__ import annotations

import math
import operator

import numpy as np

from .. import core, dtypes
from ..ad import deflinear, defzero_jvp
from ..batching import moveaxis_to_front
from ..core import ShapedArray, bind


def _norm_axes(axes, ndim, name):
    """`axes` normalised to [0, ndim). A non-integer axis raises TypeError; an axis out of
    range raises NumPy's AxisError (a ValueError and IndexError), as NumPy and JAX do."""
    out = []
    for a in axes:
        if isinstance(a, (float, np.floating)) or not hasattr(a, "__index__"):
            raise TypeError(f"{name}: axis must be an integer, got {a!r}")
        a = operator.index(a)
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(a, ndim, name)
        out.append(a % ndim)
    return tuple(out)


def static_int(v, name, what="argument"):
    """`v` as a Python int for a static integer parameter (a size, index, stride or count);
    a float or other non-integer raises a TypeError naming `name` instead of truncating."""
    if isinstance(v, (float, np.floating)) or not hasattr(v, "__index__"):
        raise TypeError(f"{name}: {what} must be an integer, got {v!r} of type "
                        f"{type(v).__name__}")
    return operator.index(v)


def static_ints(vs, name, what="argument"):
    return tuple(static_int(v, name, what) for v in vs)


def canonical_shape(shape, name, allow_unknown=False):
    """`shape` as a tuple of Python ints. A float (2.5, or even 2.0) or other non-integer
    dimension raises a TypeError naming `name`, as NumPy and JAX do, instead of being
    truncated; a negative one raises ValueError (`allow_unknown`: -1 passes, for reshape)."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    try:
        dims = list(shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be an integer or a sequence of integers, got "
                        f"{shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, (float, np.floating)) or not hasattr(d, "__index__"):
            raise TypeError(f"{name}: shape must contain only integers, got {tuple(dims)!r} "
                            f"(dimension {d!r} of type {type(d).__name__}); use int(...) "
                            "if a float size is intended")
        if isinstance(d, core.Tracer):
            d = d._concrete_or_raise(f"{name}: a dimension of the shape")
        d = operator.index(d)
        if d < 0 and not (allow_unknown and d == -1):
            raise core.TypeOrValueError(     # JAX: TypeError; NumPy: ValueError
                f"{name}: negative dimensions are not allowed, got {tuple(dims)}")
        out.append(d)
    return tuple(out)


# --- broadcast_in_dim ------------------------------------------------------------------

broadcast_in_dim_p = core.new_primitive("broadcast_in_dim")


def _broadcast_in_dim_shape(x, *, shape, broadcast_dimensions):
    bd = broadcast_dimensions
    if len(bd) != x.ndim or len(set(bd)) != len(bd) or any(
            not 0 <= d < len(shape) for d in bd) or list(bd) != sorted(bd):
        raise TypeError(f"broadcast_in_dim: broadcast_dimensions {bd} invalid for operand "
                        f"{x.shape} and target shape {shape}")
    for i, d in enumerate(bd):
        if x.shape[i] not in (1, shape[d]):
            raise TypeError(f"broadcast_in_dim: cannot broadcast operand shape {x.shape} to "
                            f"{shape} (operand dim {i} of size {x.shape[i]} vs target "
                            f"{shape[d]})")
    return ShapedArray(shape, x.dtype, x.weak_type)


def _broadcast_in_dim_np(x, *, shape, broadcast_dimensions):
    s = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        s[d] = x.shape[i]
    return np.broadcast_to(x.reshape(s), shape)


def _broadcast_in_dim_transpose(ct, x, *, shape, broadcast_dimensions):
    from .reductions import reduce_sum
    bd = broadcast_dimensions
    sum_dims = [d for d in range(len(shape)) if d not in bd]
    sum_dims += [d for i, d in enumerate(bd) if x.aval.shape[i] == 1 and shape[d] != 1]
    out = reduce_sum(ct, tuple(sorted(sum_dims))) if sum_dims else ct
    return [reshape(out, x.aval.shape)]


def _broadcast_in_dim_batch(size, vals, dims, *, shape, broadcast_dimensions):
    (x,), (d,) = vals, dims
    x = moveaxis_to_front(x, d)
    return broadcast_in_dim(x, (size,) + tuple(shape),
                            (0,) + tuple(b + 1 for b in broadcast_dimensions)), 0


core.shape_rules[broadcast_in_dim_p] = _broadcast_in_dim_shape
core.impl_rules[broadcast_in_dim_p] = _broadcast_in_dim_np
deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
core.batch_rules[broadcast_in_dim_p] = _broadcast_in_dim_batch


def broadcast_in_dim(x, shape, broadcast_dimensions):
    x = core.to_array(x)
    shape = canonical_shape(shape, "broadcast_in_dim")
    bd = tuple(int(b) for b in broadcast_dimensions)
    if x.shape == shape and bd == tuple(range(len(shape))):
        return x
    return bind(broadcast_in_dim_p, x, shape=shape, broadcast_dimensions=bd)


def broadcast_to(x, shape):
    """NumPy-style broadcast of `x` to `shape` (trailing alignment)."""
    x = core.to_array(x)
    shape = canonical_shape(shape, "broadcast_to")
    nd = len(shape)
    if x.ndim > nd:
        raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    for a, b in zip(x.shape[::-1], shape[::-1]):
        if a not in (1, b):
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to {shape}")
    return broadcast_in_dim(x, shape, tuple(range(nd - x.ndim, nd)))


def full(shape, fill_value, dtype=None, weak_type=False):
    """`lax.full`; with `weak_type` (and a scalar `fill_value` converted to `dtype`) the
    result is weakly typed, as `lax.full_like` makes the `*_like` of a weak array."""
    shape = canonical_shape(shape, "full")
    if isinstance(fill_value, core.Array):
        v = fill_value if dtype is None else convert(fill_value, dtype)
    elif dtype is None:
        v = core.to_array(fill_value)
    else:
        # A scalar converts to `dtype` as XLA's convert does (JAX's lax.full): an integer
        # out of range wraps (jnp.full(n, -1, uint8) is 255, as in JAX), a float into an
        # integer type saturates and NaN gives 0 (convert_element_type's rules).
        dt = dtypes.canonicalize(dtype)
        integer = isinstance(fill_value, (int, np.integer)) and \
            not isinstance(fill_value, (bool, np.bool_))
        if integer and dtypes.is_int(dt):
            host = np.asarray(int(fill_value))
            host = host.astype(dt) if host.dtype != object else np.asarray(fill_value, dt)
            v = core.ArrayImpl(host, ShapedArray((), dt, weak_type))
        elif isinstance(fill_value, (float, np.floating)) and dtypes.is_int(dt):
            x, info = float(fill_value), dtypes.iinfo(dt)
            # truncated toward zero from the double, saturated, NaN -> 0 (JAX 0.10.2:
            # jnp.full(1, 1e10, int32) is 2147483647, jnp.full(1, 16777217.0, int32) is
            # 16777217)
            n = 0 if math.isnan(x) else info.max if x >= info.max else \
                info.min if x <= info.min else math.trunc(x)
            v = core.ArrayImpl(np.asarray(n).astype(dt), ShapedArray((), dt, weak_type))
        else:
            v = core.ArrayImpl(np.asarray(fill_value, dt), ShapedArray((), dt, weak_type))
    return broadcast_in_dim(v, shape, ())


def convert(x, dtype):
    from .elementwise import convert_element_type
    return convert_element_type(x, dtype)


# --- reshape ---------------------------------------------------------------------------

reshape_p = core.new_primitive("reshape")


def _reshape_shape(x, *, new_sizes):
    if math.prod(new_sizes) != x.size:
        raise TypeError(f"reshape: cannot reshape array of shape {x.shape} (size {x.size}) "
                        f"into shape {new_sizes}")
    return ShapedArray(new_sizes, x.dtype, x.weak_type)


def _reshape_batch(size, vals, dims, *, new_sizes):
    x = moveaxis_to_front(vals[0], dims[0])
    return reshape(x, (size,) + tuple(new_sizes)), 0


core.shape_rules[reshape_p] = _reshape_shape
core.impl_rules[reshape_p] = lambda x, *, new_sizes: x.reshape(new_sizes)
deflinear(reshape_p, lambda ct, x, *, new_sizes: [reshape(ct, x.aval.shape)])
core.batch_rules[reshape_p] = _reshape_batch


def reshape(x, new_sizes, dimensions=None):
    x = core.to_array(x)
    new_sizes = canonical_shape(new_sizes, "reshape")
    if dimensions is not None:
        x = transpose(x, dimensions)
    if x.shape == new_sizes:
        return x
    return bind(reshape_p, x, new_sizes=new_sizes)


# --- transpose -------------------------------------------------------------------------

transpose_p = core.new_primitive("transpose")


def _transpose_shape(x, *, permutation):
    if sorted(permutation) != list(range(x.ndim)):
        raise TypeError(f"transpose: permutation {permutation} is not a permutation of the "
                        f"axes of an array of shape {x.shape}")
    return ShapedArray(tuple(x.shape[p] for p in permutation), x.dtype, x.weak_type)


def _transpose_batch(size, vals, dims, *, permutation):
    (x,), (d,) = vals, dims
    perm = (d,) + tuple(p + (p >= d) for p in permutation)
    return transpose(x, perm), 0


core.shape_rules[transpose_p] = _transpose_shape
core.impl_rules[transpose_p] = lambda x, *, permutation: np.transpose(x, permutation)
deflinear(transpose_p, lambda ct, x, *, permutation: [
    transpose(ct, tuple(np.argsort(permutation)))])
core.batch_rules[transpose_p] = _transpose_batch


def transpose(x, permutation):
    x = core.to_array(x)
    permutation = tuple(int(p) for p in permutation)
    if permutation == tuple(range(x.ndim)):
        return x
    return bind(transpose_p, x, permutation=permutation)


def moveaxis(x, src: int, dst: int):
    x = core.to_array(x)
    nd = x.ndim
    src, dst = src % nd, dst % nd
    if src == dst:
        return x
    perm = [i for i in range(nd) if i != src]
    perm.insert(dst, src)
    return transpose(x, tuple(perm))


# --- squeeze / expand_dims -------------------------------------------------------------

squeeze_p = core.new_primitive("squeeze")


def _squeeze_shape(x, *, dimensions):
    for d in dimensions:
        if x.shape[d] != 1:
            raise core.TypeOrValueError(      # jnp.squeeze in JAX: ValueError
                f"squeeze: cannot squeeze axis {d} of size {x.shape[d]} (shape {x.shape})")
    return ShapedArray(tuple(s for i, s in enumerate(x.shape) if i not in dimensions),
                       x.dtype, x.weak_type)


def _squeeze_batch(size, vals, dims, *, dimensions):
    x = moveaxis_to_front(vals[0], dims[0])
    return squeeze(x, tuple(d + 1 for d in dimensions)), 0


core.shape_rules[squeeze_p] = _squeeze_shape
core.impl_rules[squeeze_p] = lambda x, *, dimensions: np.squeeze(x, dimensions)
deflinear(squeeze_p, lambda ct, x, *, dimensions: [reshape(ct, x.aval.shape)])
core.batch_rules[squeeze_p] = _squeeze_batch


def squeeze(x, dimensions):
    x = core.to_array(x)
    dims = tuple(sorted(_norm_axes(dimensions, x.ndim, "squeeze")))
    if not dims:
        return x
    return bind(squeeze_p, x, dimensions=dims)


expand_dims_p = core.new_primitive("expand_dims")


def _expand_dims_shape(x, *, dimensions):
    shape = list(x.shape)
    for d in dimensions:
        shape.insert(d, 1)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _expand_dims_np(x, *, dimensions):
    return x.reshape(_expand_dims_shape(ShapedArray(x.shape, x.dtype), dimensions=dimensions
                                        ).shape)


def _expand_dims_batch(size, vals, dims, *, dimensions):
    x = moveaxis_to_front(vals[0], dims[0])
    return expand_dims(x, tuple(d + 1 for d in dimensions)), 0


core.shape_rules[expand_dims_p] = _expand_dims_shape
core.impl_rules[expand_dims_p] = _expand_dims_np
deflinear(expand_dims_p, lambda ct, x, *, dimensions: [reshape(ct, x.aval.shape)])
core.batch_rules[expand_dims_p] = _expand_dims_batch


def expand_dims(x, dimensions):
    x = core.to_array(x)
    if isinstance(dimensions, int):
        dimensions = (dimensions,)
    out_nd = x.ndim + len(dimensions)
    dims = tuple(sorted(_norm_axes(dimensions, out_nd, "expand_dims")))
    if len(set(dims)) != len(dims):
        raise ValueError(f"expand_dims: repeated axis in {dimensions}")
    return bind(expand_dims_p, x, dimensions=dims)


# --- rev -------------------------------------------------------------------------------

rev_p = core.new_primitive("rev")
core.shape_rules[rev_p] = lambda x, *, dimensions: x
core.impl_rules[rev_p] = lambda x, *, dimensions: np.flip(x, dimensions) if dimensions else x
deflinear(rev_p, lambda ct, x, *, dimensions: [rev(ct, dimensions)])


def _rev_batch(size, vals, dims, *, dimensions):
    (x,), (d,) = vals, dims
    return rev(x, tuple(a + (a >= d) for a in dimensions)), d


core.batch_rules[rev_p] = _rev_batch


def rev(x, dimensions):
    x = core.to_array(x)
    dims = tuple(sorted(_norm_axes(dimensions, x.ndim, "rev")))
    if not dims:
        return x
    return bind(rev_p, x, dimensions=dims)


# --- iota ------------------------------------------------------------------------------

iota_p = core.new_primitive("iota")


def _iota_shape(*, dtype, shape, dimension):
    if not 0 <= dimension < len(shape):
        raise TypeError(f"iota: dimension {dimension} out of range for shape {shape}")
    return ShapedArray(shape, dtype, False)


def _iota_np(*, dtype, shape, dimension):
    s = [1] * len(shape)
    s[dimension] = shape[dimension]
    return np.broadcast_to(np.arange(shape[dimension], dtype=dtype).reshape(s), shape)


core.shape_rules[iota_p] = _iota_shape
core.impl_rules[iota_p] = _iota_np
defzero_jvp(iota_p)
core.batch_rules[iota_p] = lambda size, vals, dims, **p: (_ for _ in ()).throw(
    AssertionError("iota has no operands"))


def iota(dtype, size_or_shape, dimension=0):
    shape = (size_or_shape,) if isinstance(size_or_shape, (int, np.integer)) else size_or_shape
    return bind(iota_p, dtype=dtypes.canonicalize(dtype), shape=canonical_shape(shape, "iota"),
                dimension=int(dimension))
