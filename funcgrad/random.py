"""funcgrad.random: counter-based, splittable PRNG keys (Threefry-2x32, as in JAX).

A key is a uint32 array of shape (2,). Random bits are a pure function of (key, counter),
computed with funcgrad's own uint32 primitives, so the same key gives the same numbers
under eager execution, `jit`, `vmap` and on every backend.
"""
from __future__ import annotations

import math

import numpy as np

from . import core, dtypes
from . import numpy as fnp
from .core import Array
from .prims import elementwise as ew
from .prims import structural as st
from .prims.indexing import concatenate, slice_in_dim

_U32 = dtypes.uint32


def _u32(v):
    return core.ArrayImpl(np.asarray(v, np.uint32), core.ShapedArray((), _U32, False))


def _rotl(x, r):
    return ew.or_(ew.shift_left(x, _u32(r)), ew.shift_right_logical(x, _u32(32 - r)))


def threefry_2x32(k0, k1, x0, x1):
    """Threefry-2x32 with 20 rounds on uint32 arrays (the Random123 reference algorithm)."""
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = [k0, k1, ew.xor(ew.xor(k0, k1), _u32(0x1BD11BDA))]
    x0 = ew.add(x0, ks[0])
    x1 = ew.add(x1, ks[1])
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = ew.add(x0, x1)
            x1 = _rotl(x1, r)
            x1 = ew.xor(x1, x0)
        x0 = ew.add(x0, ks[(i + 1) % 3])
        x1 = ew.add(ew.add(x1, ks[(i + 2) % 3]), _u32(i + 1))
    return x0, x1


def _check_key(key, name):
    key = core.to_array(key) if not isinstance(key, Array) else key
    if key.shape != (2,) or key.dtype != _U32:
        raise TypeError(f"random.{name}: expected a PRNG key (uint32 array of shape (2,), from "
                        f"random.PRNGKey), got {key.aval.str_short()}; for a batch of keys "
                        "use vmap")
    return key


def _split_key(key):
    return (st.reshape(slice_in_dim(key, 0, 1), ()), st.reshape(slice_in_dim(key, 1, 2), ()))


def _hash_counts(key, counts):
    """Threefry of a flat uint32 counter array (even length) under `key`."""
    n = counts.shape[0]
    k0, k1 = _split_key(key)
    half = n // 2
    y0, y1 = threefry_2x32(k0, k1, slice_in_dim(counts, 0, half),
                           slice_in_dim(counts, half, n))
    return concatenate([y0, y1], 0)


def PRNGKey(seed) -> Array:
    """A key from an integer seed (JAX's `random.PRNGKey`)."""
    if isinstance(seed, core.Tracer):
        s = ew.convert_element_type(seed, _U32)
        return concatenate([st.full((1,), 0, _U32), st.reshape(s, (1,))], 0)
    seed = int(seed)
    return core.to_array(np.asarray([(seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF], np.uint32))


key = PRNGKey


def key_data(keys):
    return keys


def wrap_key_data(data):
    return core.to_array(data, _U32)


def random_bits(key, bit_width=32, shape=()):
    """Raw uint32 random bits of `shape`."""
    key = _check_key(key, "bits")
    if bit_width != 32:
        raise NotImplementedError("random_bits: only bit_width=32 is supported")
    shape = tuple(int(s) for s in shape)
    n = int(np.prod(shape, dtype=np.int64))
    if n == 0:
        return st.full(shape, 0, _U32)
    m = n + (n % 2)
    bits = _hash_counts(key, st.iota(_U32, m))
    return st.reshape(slice_in_dim(bits, 0, n), shape)


bits = random_bits


def split(key, num=2) -> Array:
    """`num` new keys, shape (num, 2)."""
    key = _check_key(key, "split")
    bits_ = _hash_counts(key, st.iota(_U32, 2 * int(num)))
    return st.reshape(bits_, (int(num), 2))


def fold_in(key, data) -> Array:
    """A new key derived from `key` and an integer `data`."""
    key = _check_key(key, "fold_in")
    d = core.to_array(data)
    d = ew.convert_element_type(d if dtypes.is_int(d.dtype) else d.astype(np.int32), _U32)
    counts = concatenate([st.full((1,), 0, _U32), st.reshape(d, (1,))], 0)
    return _hash_counts(key, counts)


def _shape(shape):
    if shape is None:
        return ()
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(s) for s in shape)


def _float_dtype(dtype):
    dt = dtypes.DEFAULT_FLOAT if dtype is None else dtypes.canonicalize(dtype)
    if not dtypes.is_float(dt):
        raise TypeError(f"dtype argument must be a float dtype, got {dt}")
    return dt


def _unit_uniform(key, shape, dtype):
    """Uniform in [0, 1) with the dtype's full mantissa resolution."""
    if dtype == dtypes.float64:
        n = int(np.prod(shape, dtype=np.int64))
        b = random_bits(key, 32, (2, n))
        hi = ew.convert_element_type(ew.shift_right_logical(b[0], _u32(5)), dtypes.float64)
        lo = ew.convert_element_type(ew.shift_right_logical(b[1], _u32(6)), dtypes.float64)
        u = ew.mul(ew.add(ew.mul(hi, 67108864.0), lo), 2.0 ** -53)
        return st.reshape(u, shape)
    b = random_bits(key, 32, shape)
    mant = {dtypes.float32: 24, dtypes.float16: 11}[dtype]
    u = ew.convert_element_type(ew.shift_right_logical(b, _u32(32 - mant)), dtypes.float32)
    return ew.convert_element_type(ew.mul(u, 2.0 ** -mant), dtype)


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0) -> Array:
    """Uniform floats in [minval, maxval)."""
    key = _check_key(key, "uniform")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    u = _unit_uniform(key, shape, dt)
    lo = fnp.asarray(minval, dt)
    hi = fnp.asarray(maxval, dt)
    out = fnp.add(lo, fnp.multiply(u, fnp.subtract(hi, lo)))
    return fnp.maximum(lo, out)


def normal(key, shape=(), dtype=None) -> Array:
    """Standard normal samples (Box-Muller on two uniforms)."""
    key = _check_key(key, "normal")
    dt = _float_dtype(dtype)
    shape = _shape(shape)
    n = int(np.prod(shape, dtype=np.int64))
    m = (n + 1) // 2
    u = _unit_uniform(key, (2, m), dt)
    u1 = ew.sub(st.full((m,), 1.0, dt), u[0])
    r = ew.sqrt(ew.mul(st.full((m,), -2.0, dt), ew.log(u1)))
    theta = ew.mul(st.full((m,), 2 * math.pi, dt), u[1])
    z = concatenate([ew.mul(r, ew.cos(theta)), ew.mul(r, ew.sin(theta))], 0)
    return st.reshape(slice_in_dim(z, 0, n), shape)


def erfinv(x):
    """Inverse error function (Giles' single-precision approximation), elementwise."""
    x = fnp.asarray(x)
    w = fnp.negative(fnp.log(fnp.multiply(fnp.subtract(1.0, x), fnp.add(1.0, x))))
    small = fnp.less(w, 5.0)
    ws = w - 2.5
    p = fnp.full_like(x, 2.81022636e-08)
    for c in (3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
              -0.00125372503, -0.00417768164, 0.246640727, 1.50140941):
        p = c + p * ws
    wl = fnp.sqrt(fnp.maximum(w, 5.0)) - 3.0
    q = fnp.full_like(x, -0.000200214257)
    for c in (0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613,
              0.00943887047, 1.00167406, 2.83297682):
        q = c + q * wl
    return fnp.where(small, p, q) * x


def truncated_normal(key, lower=-2.0, upper=2.0, shape=None, dtype=None) -> Array:
    """Normal samples conditioned on [lower, upper] (inverse CDF)."""
    key = _check_key(key, "truncated_normal")
    dt = _float_dtype(dtype)
    lo = fnp.asarray(lower, dt)
    hi = fnp.asarray(upper, dt)
    shape = _shape(shape) if shape is not None else np.broadcast_shapes(lo.shape, hi.shape)
    sqrt2 = np.float32(math.sqrt(2.0))
    a = ew.erf(fnp.divide(lo, sqrt2))
    b = ew.erf(fnp.divide(hi, sqrt2))
    u = uniform(key, shape, dt, minval=a, maxval=b)
    out = fnp.multiply(sqrt2, erfinv(u))
    return fnp.clip(out, lo, hi)


def bernoulli(key, p=0.5, shape=None) -> Array:
    """Booleans that are True with probability `p`."""
    key = _check_key(key, "bernoulli")
    p = fnp.asarray(p)
    if not dtypes.is_float(p.dtype):
        p = p.astype(dtypes.DEFAULT_FLOAT)
    shape = p.shape if shape is None else _shape(shape)
    return fnp.less(uniform(key, shape, p.dtype), p)


def gumbel(key, shape=(), dtype=None) -> Array:
    key = _check_key(key, "gumbel")
    dt = _float_dtype(dtype)
    tiny = np.finfo(dt).tiny
    u = uniform(key, shape, dt, minval=tiny, maxval=1.0)
    return fnp.negative(fnp.log(fnp.negative(fnp.log(u))))


def exponential(key, shape=(), dtype=None) -> Array:
    key = _check_key(key, "exponential")
    dt = _float_dtype(dtype)
    u = uniform(key, shape, dt)
    return fnp.negative(fnp.log1p(fnp.negative(u)))


def categorical(key, logits, axis=-1, shape=None) -> Array:
    """Samples from a categorical distribution given unnormalised log-probabilities."""
    key = _check_key(key, "categorical")
    logits = fnp.asarray(logits)
    axis = axis % logits.ndim
    batch = logits.shape[:axis] + logits.shape[axis + 1:]
    shape = batch if shape is None else _shape(shape)
    if shape != batch:
        lead = len(shape) - len(batch)
        full_shape = shape[:lead] + logits.shape
        g = gumbel(key, full_shape, logits.dtype)
        return fnp.argmax(g + logits, axis=axis + lead)
    g = gumbel(key, logits.shape, logits.dtype)
    return fnp.argmax(g + logits, axis=axis)


def randint(key, shape, minval, maxval, dtype=None) -> Array:
    """Integers uniform in [minval, maxval)."""
    key = _check_key(key, "randint")
    dt = dtypes.DEFAULT_INT if dtype is None else dtypes.canonicalize(dtype)
    if not dtypes.is_int(dt):
        raise TypeError(f"randint: dtype must be an integer type, got {dt}")
    shape = _shape(shape)
    lo = fnp.asarray(minval).astype(dtypes.float64)
    hi = fnp.asarray(maxval).astype(dtypes.float64)
    u = _unit_uniform(key, shape, dtypes.float64)
    v = fnp.floor(lo + u * (hi - lo))
    return fnp.clip(v, lo, fnp.maximum(lo, hi - 1)).astype(dt)


def permutation(key, x, axis=0, independent=False) -> Array:
    """A random permutation of `range(x)` (int x) or of `x` along `axis`."""
    key = _check_key(key, "permutation")
    if isinstance(x, (int, np.integer)):
        n = int(x)
        return fnp.argsort(random_bits(key, 32, (n,))).astype(dtypes.DEFAULT_INT)
    x = fnp.asarray(x)
    n = x.shape[axis]
    perm = fnp.argsort(random_bits(key, 32, (n,)))
    return fnp.take(x, perm, axis=axis)


def shuffle(key, x, axis=0):
    return permutation(key, x, axis)


def choice(key, a, shape=(), replace=True, p=None, axis=0) -> Array:
    key = _check_key(key, "choice")
    shape = _shape(shape)
    n = int(a) if isinstance(a, (int, np.integer)) else fnp.asarray(a).shape[axis]
    k = int(np.prod(shape, dtype=np.int64))
    if replace:
        if p is None:
            idx = randint(key, shape, 0, n)
        else:
            idx = categorical(key, fnp.log(fnp.asarray(p)), shape=shape)
    else:
        if k > n:
            raise ValueError(f"choice: cannot take a larger sample ({k}) than population ({n}) "
                             "without replacement")
        if p is None:
            idx = st.reshape(permutation(key, n)[:k], shape)
        else:
            g = gumbel(key, (n,)) + fnp.log(fnp.asarray(p))
            idx = st.reshape(fnp.argsort(-g)[:k], shape)
    if isinstance(a, (int, np.integer)):
        return idx
    return fnp.take(fnp.asarray(a), idx, axis=axis)
