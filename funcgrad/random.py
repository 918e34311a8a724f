"""funcgrad.random: JAX's PRNG (`jax.random`), with JAX 0.10's default numbers.

Keys are Threefry-2x32 keys, as in JAX: a legacy key (`PRNGKey`) is a uint32 array of shape
(2,); a typed key (`key`) is a `KeyArray` whose data is such an array (see `KeyArray`). Every
sampler follows JAX 0.10's default algorithm (the partitionable Threefry layout,
`jax_threefry_partitionable=True`), computed with funcgrad's own primitives, so the same key
gives JAX's numbers under eager execution, `jit` and `vmap`, on every backend:

- bit for bit: `PRNGKey`/`key`, `split`, `fold_in`, `bits`, `uniform` (any `minval`/`maxval`:
  XLA fuses `u * (maxval - minval) + minval` into one rounding for float32/float64,
  reproduced by `_fma`, and rounds each operation for float16/bfloat16),
  `randint`, `bernoulli`, `rademacher`, `permutation`, `choice` (without `p`);
- within a few ulps (JAX's result goes through XLA's own `log`/`log1p`/`exp`/`erf`/`tan`,
  which are not correctly rounded and differ in the last bit from any C library):
  `normal`, `truncated_normal`, `lognormal`, `gumbel`, `exponential`, `laplace`, `logistic`,
  `cauchy`, `pareto`, `multivariate_normal` and `orthogonal` (also LAPACK's rounding);
  integer results derived from such floats (`categorical`, `choice` with `p`) and the
  rejection samplers (`gamma`, `loggamma`, `beta`, `dirichlet`, `t`, `chisquare`,
  `poisson`) agree with JAX except where an ulp moves a sample across a decision boundary;
- by JAX's construction from the samplers above, not checked against recorded JAX numbers:
  `rayleigh`, `maxwell`, `double_sided_maxwell`, `weibull_min`, `wald`, `triangular`, `f`,
  `generalized_normal`, `ball`, `geometric`;
- the right distribution but not JAX's numbers: `binomial` (inversion / BTRS with funcgrad's
  own key use) and `multinomial` (built on it).

64-bit defaults follow JAX's `jax_enable_x64` switch once funcgrad's config has one
(`_x64_mode`); until then defaults are 32-bit and an explicitly requested 64-bit dtype is kept.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np

from . import config, core, dtypes, lax
from . import numpy as fnp
from .core import Array, Tracer
from .lru import LRU
from .prims import elementwise as ew
from .prims import indexing as ix
from .prims import structural as st
from .prims.windows import sort as _sort
from .tree_util import register_pytree_node

__all__ = [
    "KeyArray",
    "PRNGKey",
    "ball",
    "bernoulli",
    "beta",
    "binomial",
    "bits",
    "categorical",
    "cauchy",
    "chisquare",
    "choice",
    "clone",
    "dirichlet",
    "double_sided_maxwell",
    "exponential",
    "f",
    "fold_in",
    "gamma",
    "generalized_normal",
    "geometric",
    "gumbel",
    "key",
    "key_data",
    "key_dtype",
    "key_impl",
    "laplace",
    "loggamma",
    "logistic",
    "lognormal",
    "maxwell",
    "multinomial",
    "multivariate_normal",
    "normal",
    "orthogonal",
    "pareto",
    "permutation",
    "poisson",
    "rademacher",
    "randint",
    "rayleigh",
    "split",
    "t",
    "triangular",
    "truncated_normal",
    "uniform",
    "wald",
    "weibull_min",
    "wrap_key_data",
]

_U32 = dtypes.uint32
_UINT = {8: dtypes.uint8, 16: dtypes.uint16, 32: dtypes.uint32, 64: dtypes.uint64}
_IMPL = "threefry2x32"


# --- dtypes and shapes -------------------------------------------------------------------

def _x64_mode() -> bool | None:
    """JAX's `jax_enable_x64`: True/False once funcgrad's config defines the option, None
    before (then defaults are 32-bit and explicit 64-bit dtypes are kept)."""
    try:
        return bool(config.read("jax_enable_x64"))
    except KeyError:
        return None


def _default(kind: str) -> np.dtype:
    wide = _x64_mode() is True
    return {"float": dtypes.float64 if wide else dtypes.float32,
            "int": dtypes.int64 if wide else dtypes.int32,
            "uint": dtypes.uint64 if wide else dtypes.uint32}[kind]


def _canonical(dtype, kind: str) -> np.dtype:
    """`dtype` as JAX reads it: None or the Python type means the default of `kind`."""
    if dtype is None or dtype is {"float": float, "int": int, "uint": None}[kind]:
        return _default(kind)
    dt = dtypes.canonicalize(dtype)
    if _x64_mode() is False:
        # the 64-bit types narrow (complex128 to complex64; complex64 is 8 bytes and stays)
        dt = {np.dtype(np.float64): dtypes.float32, np.dtype(np.int64): np.dtype(np.int32),
              np.dtype(np.uint64): np.dtype(np.uint32),
              np.dtype(np.complex128): np.dtype(np.complex64)}.get(np.dtype(dt), dt)
    return dt


def _float_dtype(dtype, name: str) -> np.dtype:
    dt = _canonical(dtype, "float")
    if not dtypes.is_float(dt):
        raise ValueError(f"random.{name}: dtype must be a float dtype, got {dt}")
    return dt


def _shape(shape, name: str) -> tuple[int, ...]:
    """A concrete shape tuple; an int `n` means `(n,)`, as JAX's canonicalize_shape."""
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (shape,)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"random.{name}: shape must be a tuple of non-negative integers, "
                        f"got {shape!r}") from None
    out = []
    for d in dims:
        if isinstance(d, Tracer) or not isinstance(d, (int, np.integer)) or isinstance(d, bool):
            raise TypeError(f"random.{name}: shape must be a tuple of concrete non-negative "
                            f"integers, got {shape!r}")
        if d < 0:
            raise ValueError(f"random.{name}: negative dimension in shape {shape!r}")
        out.append(int(d))
    return tuple(out)


def _broadcast_shape(name: str, shape, *params) -> tuple[int, ...]:
    """JAX's rule for samplers with array parameters: shape None broadcasts the parameter
    shapes; an explicit shape must be what they broadcast to together with it."""
    pshapes = [np.shape(p) for p in params]
    if shape is None:
        return tuple(np.broadcast_shapes(*pshapes)) if pshapes else ()
    shape = _shape(shape, name)
    try:
        full = tuple(np.broadcast_shapes(shape, *pshapes))
    except ValueError:
        full = None
    if full != shape:
        raise ValueError(f"random.{name}: parameter shapes {pshapes} must broadcast to the "
                         f"shape argument {shape}")
    return shape


def _to(x, dt) -> Array:
    """`x` as a strongly typed array of dtype `dt` (Python scalars rounded once, directly)."""
    if isinstance(x, Array):
        return ew.convert_element_type(x, dt)
    return core.to_array(np.asarray(x, dt))


def _const(value, dt) -> Array:
    return core.to_array(np.asarray(value, dt))


def _full_to(x, shape) -> Array:
    return x if x.shape == tuple(shape) else st.broadcast_to(x, tuple(shape))


def _size(shape) -> int:
    return int(math.prod(shape))


# --- keys --------------------------------------------------------------------------------

class _KeyDType:
    """The dtype of typed keys (JAX: `key<fry>`)."""

    name = "key<fry>"

    def __repr__(self):
        return self.name

    def __eq__(self, other):
        return isinstance(other, _KeyDType)

    def __hash__(self):
        return hash(_KeyDType)


class KeyArray:
    """Typed PRNG keys (JAX's `jax.random.key`): an array of keys of `shape`, whose data is
    a uint32 array of shape `shape + (2,)` (`key_data`). A pytree with that data as its one
    leaf, so keys pass through `jit`, `vmap`, `grad` and `lax` loops; the random functions
    accept it wherever they accept a legacy `PRNGKey`, and return typed keys for typed keys.

    Deviation from JAX: it is not an `Array`, so `funcgrad.numpy` functions do not take it
    (index it, or use `key_data`/`wrap_key_data`)."""

    __slots__ = ("_data",)

    def __init__(self, data):
        # Pytree unflattening passes arbitrary leaves (None, axis specs): no checks here.
        self._data = data

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape[:-1])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return _size(self.shape)

    @property
    def dtype(self):
        return _KeyDType()

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of a scalar key array")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, idx):
        idx = idx if isinstance(idx, tuple) else (idx,)
        tail = (slice(None),) if any(i is Ellipsis for i in idx) else (Ellipsis, slice(None))
        return KeyArray(self._data[idx + tail])

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], int) else shape
        return KeyArray(fnp.reshape(self._data, tuple(shape) + (2,)))

    def __eq__(self, other):
        if not isinstance(other, KeyArray):
            return NotImplemented
        return fnp.all(fnp.equal(self._data, other._data), axis=-1)

    def __ne__(self, other):
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else fnp.logical_not(eq)

    __hash__ = None

    def __repr__(self):
        return f"Array({self.shape}, dtype=key<fry>) overlaying:\n{np.asarray(self._data)}"


register_pytree_node(KeyArray, lambda k: ((k._data,), None), lambda _, c: KeyArray(c[0]))


def _check_key(name: str, key, allow_batched: bool = False) -> tuple[Array, bool]:
    """(key data of shape batch + (2,), whether the key was typed); clear errors otherwise."""
    typed = isinstance(key, KeyArray)
    if typed:
        data = key._data
    elif isinstance(key, (Array, np.ndarray, np.generic, list, tuple)):
        data = key if isinstance(key, Array) else core.to_array(np.asarray(key))
    else:
        raise TypeError(f"random.{name}: expected a PRNG key (random.key or random.PRNGKey), "
                        f"got {type(key).__name__}")
    if not isinstance(data, Array):
        raise TypeError(f"random.{name}: invalid key data {data!r}")
    if data.dtype != _U32 or data.shape[-1:] != (2,):
        raise TypeError(f"random.{name}: expected PRNG key data of dtype uint32 and shape "
                        f"(..., 2) (from random.PRNGKey or random.key), got "
                        f"{data.aval.short()}")
    if not allow_batched and data.ndim != 1:
        raise ValueError(f"random.{name} accepts a single key, but was given a key array of "
                         f"shape {tuple(data.shape[:-1])}; map over keys with vmap")
    return data, typed


def _wrap(data, typed: bool):
    return KeyArray(data) if typed else data


def _seed_key_data(seed, x64: bool) -> Array:
    """JAX's seeding: a 64-bit seed (x64 mode) gives [seed >> 32, seed & 0xFFFFFFFF] as
    uint32; otherwise the seed is a 32-bit integer and the key is [0, seed mod 2**32]."""
    if isinstance(seed, KeyArray):
        raise TypeError("random.PRNGKey/key: takes a scalar integer seed, got a PRNG key")
    if isinstance(seed, Array):
        if seed.ndim:
            raise TypeError(f"random.PRNGKey/key: takes a scalar seed, got an array of shape "
                            f"{seed.shape}; use vmap for a batch of keys")
        if not dtypes.is_int(seed.dtype):
            raise TypeError(f"random.PRNGKey/key: the seed must be an integer, got "
                            f"{seed.dtype}")
        wide = x64 and seed.dtype.itemsize == 8
        lo = ew.convert_element_type(seed, _U32)
        if wide:
            hi = ew.convert_element_type(
                ew.shift_right_logical(seed, _const(32, seed.dtype)), _U32)
        else:
            hi = _const(0, _U32)
        return fnp.stack([hi, lo])
    if isinstance(seed, (np.ndarray, np.generic)):
        if np.ndim(seed):
            raise TypeError(f"random.PRNGKey/key: takes a scalar seed, got an array of shape "
                            f"{np.shape(seed)}; use vmap for a batch of keys")
        if not np.issubdtype(np.asarray(seed).dtype, np.integer):
            raise TypeError(f"random.PRNGKey/key: the seed must be an integer, got "
                            f"{np.asarray(seed).dtype}")
        wide = x64 and np.asarray(seed).dtype.itemsize == 8
        seed = int(seed)
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        seed = int(seed)
        wide = x64
        if not -2 ** 63 <= seed < 2 ** 63:      # (as JAX, with or without x64)
            raise OverflowError(f"random.PRNGKey: seed {seed} does not fit in a signed 64-bit "
                                "integer; pass a seed in [-2**63, 2**63)")
    else:
        raise TypeError(f"random.PRNGKey/key: the seed must be an integer, got "
                        f"{type(seed).__name__}")
    hi = (seed >> 32) & 0xFFFFFFFF if wide else 0
    return core.to_array(np.array([hi, seed & 0xFFFFFFFF], np.uint32))


def PRNGKey(seed, *, impl=None) -> Array:
    """A legacy key: a uint32 array of shape (2,) from an integer seed (JAX's
    `random.PRNGKey`, including its seeding of negative and 64-bit seeds). `impl` may only
    name the one implementation, 'threefry2x32'."""
    _check_impl(impl)
    return _seed_key_data(seed, _x64_mode() is True)


def key(seed, *, impl=None, dtype=None) -> KeyArray:
    """A typed key (a scalar `KeyArray`) from an integer seed (JAX's `random.key`). `impl`
    and `dtype` (a key dtype from `key_dtype`, or its implementation's name) may only name
    'threefry2x32'."""
    _check_impl(impl)
    _check_impl(dtype)
    return KeyArray(PRNGKey(seed))


def _check_impl(impl):
    """`impl` names funcgrad's one PRNG implementation: None, 'threefry2x32' or its key
    dtype."""
    if impl is None or isinstance(impl, _KeyDType):
        return
    if not isinstance(impl, str) or impl != _IMPL:
        raise ValueError(f"random: only the {_IMPL!r} PRNG implementation is available, got "
                         f"{impl!r}")


def key_dtype(impl_spec=None):
    """The dtype of typed keys of a PRNG implementation (JAX's `random.key_dtype`); only
    'threefry2x32' (the default, None) exists, whose keys print as `key<fry>`."""
    _check_impl(impl_spec)
    return _KeyDType()


def key_data(keys) -> Array:
    """The uint32 data under typed keys (legacy keys are returned as they are)."""
    data, _ = _check_key("key_data", keys, allow_batched=True)
    return data


def wrap_key_data(key_bits_array, *, impl=None, dtype=None) -> KeyArray:
    """Typed keys over uint32 key data of shape (..., 2) (JAX's `random.wrap_key_data`);
    `impl` / `dtype` as in `key`."""
    _check_impl(impl)
    _check_impl(dtype)
    if isinstance(key_bits_array, KeyArray):
        raise TypeError("random.wrap_key_data: expected uint32 key data, got typed keys")
    data, _ = _check_key("wrap_key_data", key_bits_array, allow_batched=True)
    return KeyArray(data)


def key_impl(keys) -> str:
    """The PRNG implementation's name (always 'threefry2x32')."""
    _check_key("key_impl", keys, allow_batched=True)
    return _IMPL


def clone(key):
    """The same key (JAX's `random.clone`; keys are values here, never consumed)."""
    return key


# --- compiled building blocks ------------------------------------------------------------

# A draw of at least this many elements compiles at its first call; smaller ones run
# eagerly until their shapes have been drawn EAGER_CALLS times. Building the program costs
# 50-100 ms even when its C is in the disk cache (0.2-0.5 s to compile it), a small draw's
# eager run 3-10 ms.
COMPILE_AT_ONCE = 1 << 18
EAGER_CALLS = 8


def _compiled(fn):
    """`fn` run as one compiled program when called on concrete arrays, as JAX jits its
    random functions: a Threefry hash is about 200 operations, which eagerly are
    dispatched one at a time (a normal draw of 3 values took 11.6 ms, of 784x512 183 ms;
    compiled, 1.9 ms and 37 ms). Shapes drawn a few times (a model's initialisation) run
    eagerly, since building the program costs more; shapes drawn often, or large ones,
    compile. Under a trace (jit, vmap, grad) `fn` is traced as before."""
    jitted = None
    seen = LRU(lambda: 256)          # avals of the arguments -> eager calls so far

    @functools.wraps(fn)
    def wrapper(*args):
        nonlocal jitted
        if core.dynamic_trace_active() or any(isinstance(a, Tracer) for a in args):
            return fn(*args)
        key = tuple((np.shape(a), np.result_type(a)) for a in args)
        calls = seen.get(key, 0)
        if calls < EAGER_CALLS and \
                max((math.prod(k[0]) for k in key), default=0) < COMPILE_AT_ONCE:
            seen.put(key, calls + 1)
            return fn(*args)
        if jitted is None:
            from .api import jit
            jitted = jit(fn)
        return jitted(*args)
    return wrapper


# A whole eager draw (`normal(key, shape)`, `split(key)`, ...) compiles, as one program, from
# its (EAGER_DRAWS + 1)th call with the same static arguments and operand types, or at once
# from COMPILE_AT_ONCE elements: JAX jits its random functions the same way. Its building
# blocks above compile on their own only when called outside a public draw.
EAGER_DRAWS = 3


def _draw_compiled(fn):
    """`fn` (a public draw) run as one compiled program once the same draw recurs
    (`_recurring.compile_when_recurring`): its keys and array parameters are the
    program's inputs, its shape, dtype, Python numbers and modes static."""
    from ._recurring import compile_when_recurring
    return compile_when_recurring(fn, eager_calls=lambda: EAGER_DRAWS,
                                  size_at_once=lambda: COMPILE_AT_ONCE,
                                  arrays=(Array, np.ndarray, KeyArray))


# --- Threefry-2x32 and the counter layout ------------------------------------------------

def _u32(v) -> Array:
    return _const(v, _U32)


def _rotl(x, r: int):
    # x * 2**r wraps modulo 2**32 exactly as x << r does; compilers emit the shift, and the
    # NumPy reference backend multiplies many times faster than it shifts.
    return ew.or_(ew.mul(x, _u32(2 ** r)), ew.shift_right_logical(x, _u32(32 - r)))


@_compiled
def _threefry2x32(k0, k1, x0, x1):
    """The Threefry-2x32 block cipher, 20 rounds (Random123), elementwise over uint32
    operands (each a scalar or of one common shape)."""
    rotations = ((13, 15, 26, 6), (17, 29, 16, 24))
    ks = (k0, k1, ew.xor(ew.xor(k0, k1), _u32(0x1BD11BDA)))
    x0 = ew.add(x0, ks[0])
    x1 = ew.add(x1, ks[1])
    for i in range(5):
        for r in rotations[i % 2]:
            x0 = ew.add(x0, x1)
            x1 = ew.xor(_rotl(x1, r), x0)
        x0 = ew.add(x0, ks[(i + 1) % 3])
        x1 = ew.add(ew.add(x1, ks[(i + 2) % 3]), _u32(i + 1))
    return x0, x1


def _key_words(data):
    return (st.reshape(ix.slice_in_dim(data, 0, 1), ()),
            st.reshape(ix.slice_in_dim(data, 1, 2), ()))


def _hash_counter(data, shape):
    """Threefry of the row-major element index of every position of `shape` (JAX's
    partitionable layout: the 64-bit index's high and low words are the two inputs).
    Returns the two output words, each of `shape`."""
    n = _size(shape)
    if n >= 2 ** 32:
        raise NotImplementedError(f"random: arrays of {n} >= 2**32 elements")
    k0, k1 = _key_words(data)
    if n == 0:
        z = st.full(shape, 0, _U32)
        return z, z
    lo = st.reshape(st.iota(_U32, n), shape)
    return _threefry2x32(k0, k1, _u32(0), lo)


def _split(data, shape) -> Array:
    b1, b2 = _hash_counter(data, shape)
    return fnp.stack([b1, b2], axis=-1)


def _split_n(data, n: int):
    """The `n` keys of `split(key, n)`, as a list of (2,) arrays."""
    keys = _split(data, (n,))
    return [keys[i] for i in range(n)]


def _lane_words(keys):
    """The words of a scalar draw (counter 0) under each key of keys[..., 2]."""
    k0 = st.reshape(ix.slice_in_dim(keys, 0, 1, axis=keys.ndim - 1), keys.shape[:-1])
    k1 = st.reshape(ix.slice_in_dim(keys, 1, 2, axis=keys.ndim - 1), keys.shape[:-1])
    return _threefry2x32(k0, k1, _u32(0), _u32(0))


def _split_lanes(keys, num: int):
    """`split(k, num)` for every key k of keys[n, 2], as a list of num key arrays [n, 2]."""
    n = keys.shape[0]
    k0 = st.broadcast_in_dim(keys[:, 0], (n, num), (0,))
    k1 = st.broadcast_in_dim(keys[:, 1], (n, num), (0,))
    lo = st.iota(_U32, (n, num), 1)
    b1, b2 = _threefry2x32(k0, k1, _u32(0), lo)
    return [fnp.stack([b1[:, i], b2[:, i]], axis=-1) for i in range(num)]


def split(key, num=2):
    """`num` new keys (an int or a shape): legacy keys of shape (*num, 2), or typed keys of
    shape num. The i-th key is Threefry(key, i) (JAX's default, partitionable split)."""
    data, typed = _check_key("split", key)
    shape = _shape(num, "split")
    return _wrap(_split(data, shape), typed)


def fold_in(key, data):
    """A new key from `key` and a 32-bit integer `data`: Threefry(key, (0, data))."""
    kd, typed = _check_key("fold_in", key)
    if np.ndim(data):
        raise TypeError(f"random.fold_in: takes a scalar `data`, got an array of shape "
                        f"{np.shape(data)}; use vmap for a batch")
    if type(data) is int and not 0 <= data < 2 ** 32:
        raise OverflowError(f"random.fold_in: Python integer {data} is out of bounds for "
                            "uint32")
    d = _to(data, _U32)
    k0, k1 = _key_words(kd)
    y0, y1 = _threefry2x32(k0, k1, _u32(0), d)
    return _wrap(fnp.stack([y0, y1]), typed)


def _bits(data, width: int, shape) -> Array:
    b1, b2 = _hash_counter(data, shape)
    if width == 64:
        u64 = dtypes.uint64
        hi = ew.shift_left(ew.convert_element_type(b1, u64), _const(32, u64))
        return ew.or_(hi, ew.convert_element_type(b2, u64))
    x = ew.xor(b1, b2)
    return x if width == 32 else ew.convert_element_type(x, _UINT[width])


def bits(key, shape=(), dtype=None) -> Array:
    """Uniform random bits as unsigned integers of `dtype` (uint32, or uint64 with x64)."""
    data, _ = _check_key("bits", key)
    dt = _canonical(dtype, "uint")
    if not dtypes.is_unsigned(dt):
        raise ValueError(f"random.bits: dtype must be an unsigned integer dtype, got {dt}")
    return _bits(data, dt.itemsize * 8, _shape(shape, "bits"))


# --- exact float arithmetic --------------------------------------------------------------

_WIDER = {dtypes.bfloat16: dtypes.float32, dtypes.float16: dtypes.float32,
          dtypes.float32: dtypes.float64}


def _two_sum(a, b):
    """s = a + b rounded and the exact error e (a + b == s + e), Knuth's TwoSum."""
    s = ew.add(a, b)
    bv = ew.sub(s, a)
    e = ew.add(ew.sub(a, ew.sub(s, bv)), ew.sub(b, bv))
    return s, e


def _round_exact(r, d, tail):
    """The correctly rounded value of r + d + tail, given r = RN(r + d) (d its exact
    TwoSum error) and |tail| far below r's spacing: r, except where r + d is the midpoint
    between r and its neighbour and the tail points past it."""
    twice = ew.add(d, d)
    q = ew.add(r, twice)
    # r + 2d is the neighbour exactly when r + d was the midpoint (else q - r is 0 or
    # a whole spacing, never 2d).
    is_mid = ew.and_(ew.ne(d, 0.0), ew.eq(ew.sub(q, r), twice))
    away = ew.and_(ew.ne(tail, 0.0), ew.eq(ew.gt(tail, 0.0), ew.gt(d, 0.0)))
    return ew.select(ew.and_(is_mid, away), q, r)


def _fma_narrow(a, b, c):
    """fma for bfloat16/float16/float32 through the next wider type: the product is exact there, the
    sum rounds twice, and the second rounding is corrected where the first one landed on a
    midpoint of the narrow type (then the exact TwoSum error decides)."""
    dt = a.dtype
    wide = _WIDER[dt]
    aw, bw, cw = (ew.convert_element_type(v, wide) for v in (a, b, c))
    s, e = _two_sum(ew.mul(aw, bw), cw)
    r = ew.convert_element_type(s, dt)
    rw = ew.convert_element_type(r, wide)
    d = ew.sub(s, rw)
    q = ew.add(rw, ew.add(d, d))
    qn = ew.convert_element_type(q, dt)
    is_mid = ew.and_(ew.ne(d, 0.0), ew.eq(ew.convert_element_type(qn, wide), q))
    away = ew.and_(ew.ne(e, 0.0), ew.eq(ew.gt(e, 0.0), ew.gt(d, 0.0)))
    return ew.select(ew.and_(is_mid, away), qn, r)


def _unfused(product, fallback):
    """`product` (where finite) as an operand no compiler can fuse into a multiply-add:
    C compilers contract `a * b + c` into one fma (GCC's default in GNU C, OpenCL's
    FP_CONTRACT), which breaks error-free transformations whose product is inexact. A
    select in between is not a multiply, so nothing fuses across it."""
    return ew.select(ew.is_finite(product), product, fallback)


def _veltkamp(x):
    """x = hi + lo with hi, lo of at most half of x's significant bits each (Veltkamp's
    split by 2**ceil(p/2) + 1: 134217729 for float64, 4097 for float32)."""
    p = dtypes.finfo(x.dtype).nmant + 1
    t = _unfused(ew.mul(x, float(2 ** ((p + 1) // 2) + 1)), x)
    hi = ew.sub(t, ew.sub(t, x))
    return hi, ew.sub(x, hi)


def _fma_dekker(a, b, c):
    """fma without a wider type (float64; float32 when 64-bit types are off): Dekker's
    exact product p + ep = a * b, then p + ep + c summed with error-free transformations
    and rounded once (the tail decides at midpoints)."""
    p = _unfused(ew.mul(a, b), a)
    ah, al = _veltkamp(a)
    bh, bl = _veltkamp(b)
    # Every partial product is exact, so fused or not these sums give the same bits.
    ep = ew.add(ew.add(ew.add(ew.sub(ew.mul(ah, bh), p), ew.mul(ah, bl)),
                         ew.mul(al, bh)), ew.mul(al, bl))
    s, e1 = _two_sum(p, c)
    t, t_err = _two_sum(ep, e1)
    r, d = _two_sum(s, t)
    return _round_exact(r, d, t_err)


@_compiled
def _fma(a, b, c):
    """a * b + c rounded once (XLA fuses multiply-add on CPU), on every backend; operands
    of one float dtype, broadcast together."""
    shape = tuple(np.broadcast_shapes(a.shape, b.shape, c.shape))
    a, b, c = (_full_to(v, shape) for v in (a, b, c))
    if a.dtype == dtypes.float64 or (a.dtype == dtypes.float32 and not dtypes.x64_enabled()):
        return _fma_dekker(a, b, c)
    return _fma_narrow(a, b, c)


def _host(x, dt):
    """The value of a parameter known on the host (Python or NumPy values and concrete
    arrays) in dtype `dt`, else None."""
    if isinstance(x, Tracer):
        return None
    c = core.concrete_value(x) if isinstance(x, Array) else np.asarray(x)
    return None if c is None else np.asarray(c).astype(dt)


def _is_exact_scale(c) -> bool:
    """True when the host value `c` (None: unknown) is all zeros and powers of two: then
    x * c is exact and a separate multiply-add rounds exactly like a fused one."""
    if c is None:
        return False
    c = np.abs(np.asarray(c, np.float64))
    if not np.all(np.isfinite(c)):
        return False
    m, _ = np.frexp(c)
    return bool(np.all((c == 0) | (m == 0.5)))


# --- uniform -----------------------------------------------------------------------------

def _unit(words, dt) -> Array:
    """Floats in [0, 1) from the top mantissa bits of a draw (the two Threefry words): JAX
    sets them under exponent 0 and subtracts 1, exactly (bits >> (width - nmant)) *
    2**-nmant."""
    b1, b2 = words
    if dt == dtypes.float64:
        hi = ew.convert_element_type(b1, dt)
        lo = ew.convert_element_type(ew.shift_right_logical(b2, _u32(12)), dt)
        return ew.mul(ew.add(ew.mul(hi, 2.0 ** 20), lo), 2.0 ** -52)
    if dt == dtypes.float32:
        m = ew.shift_right_logical(ew.xor(b1, b2), _u32(9))
        return ew.mul(ew.convert_element_type(m, dt), 2.0 ** -23)
    if dt == dtypes.float16:
        m = ew.shift_right_logical(ew.and_(ew.xor(b1, b2), _u32(0xFFFF)), _u32(6))
        return ew.mul(ew.convert_element_type(m, dt), 2.0 ** -10)
    if dt == dtypes.bfloat16:
        # JAX draws 8 random bits for a type with fewer than 8 mantissa bits.
        m = ew.shift_right_logical(ew.and_(ew.xor(b1, b2), _u32(0xFF)), _u32(1))
        return ew.mul(ew.convert_element_type(m, dt), 2.0 ** -7)
    raise TypeError(f"random.uniform: unsupported float dtype {dt}")


def _uniform_words(words, shape, dt, minval, maxval) -> Array:
    lo = _to(minval, dt)
    hi = _to(maxval, dt)
    full = tuple(np.broadcast_shapes(shape, lo.shape, hi.shape))
    if full != shape:
        raise ValueError(f"random.uniform: minval {lo.shape} and maxval {hi.shape} must "
                         f"broadcast to the shape argument {shape}")
    u = _unit(words, dt)
    span = fnp.subtract(hi, lo)
    lo_h, hi_h = _host(minval, dt), _host(maxval, dt)
    # XLA's CPU backend fuses u * span + lo into one rounding for float32/64, but
    # computes bfloat16 and float16 operation by operation (each rounded to the narrow
    # type: JAX 0.10.2's float16 uniform(key, shape, float16, -0.5, 0.75) has 0.0381 where
    # one rounding gives 0.03833).
    if dt in (dtypes.bfloat16, dtypes.float16) or (lo_h is not None and hi_h is not None
                                 and _is_exact_scale(hi_h - lo_h)):
        out = fnp.add(fnp.multiply(u, span), lo)
    else:
        out = _fma(u, span, lo)
    return fnp.maximum(lo, out)


def _uniform(data, shape, dt, minval, maxval) -> Array:
    return _uniform_words(_hash_counter(data, shape), shape, dt, minval, maxval)


def uniform(key, shape=(), dtype=None, minval=0.0, maxval=1.0) -> Array:
    """Uniform floats in [minval, maxval) (JAX's `random.uniform`, bit for bit)."""
    data, _ = _check_key("uniform", key)
    return _uniform(data, _shape(shape, "uniform"), _float_dtype(dtype, "uniform"), minval,
                    maxval)


# --- special functions (XLA's formulas, in funcgrad ops) ---------------------------------

# Giles, "Approximating the erfinv function" (GPU Computing Gems, 2011): single precision
# (w < 5 / w >= 5) and double precision (w < 6.25 / < 16 / >= 16) polynomials, the ones
# XLA's erf_inv uses.
_ERFINV32 = (
    (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
     -0.00125372503, -0.00417768164, 0.246640727, 1.50140941),
    (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
     -0.0076224613, 0.00943887047, 1.00167406, 2.83297682),
)
_ERFINV64 = (
    (-3.6444120640178196996e-21, -1.685059138182016589e-19, 1.2858480715256400167e-18,
     1.115787767802518096e-17, -1.333171662854620906e-16, 2.0972767875968561637e-17,
     6.6376381343583238325e-15, -4.0545662729752068639e-14, -8.1519341976054721522e-14,
     2.6335093153082322977e-12, -1.2975133253453532498e-11, -5.4154120542946279317e-11,
     1.051212273321532285e-09, -4.1126339803469836976e-09, -2.9070369957882005086e-08,
     4.2347877827932403518e-07, -1.3654692000834678645e-06, -1.3882523362786468719e-05,
     0.0001867342080340571352, -0.00074070253416626697512, -0.0060336708714301490533,
     0.24015818242558961693, 1.6536545626831027356),
    (2.2137376921775787049e-09, 9.0756561938885390979e-08, -2.7517406297064545428e-07,
     1.8239629214389227755e-08, 1.5027403968909827627e-06, -4.013867526981545969e-06,
     2.9234449089955446044e-06, 1.2475304481671778723e-05, -4.7318229009055733981e-05,
     6.8284851459573175448e-05, 2.4031110387097893999e-05, -0.0003550375203628474796,
     0.00095328937973738049703, -0.0016882755560235047313, 0.0024914420961078508066,
     -0.0037512085075692412107, 0.005370914553590063617, 1.0052589676941592334,
     3.0838856104922207635),
    (-2.7109920616438573243e-11, -2.5556418169965252055e-10, 1.5076572693500548083e-09,
     -3.7894654401267369937e-09, 7.6157012080783393804e-09, -1.4960026627149240478e-08,
     2.9147953450901080826e-08, -6.7711997758452339498e-08, 2.2900482228026654717e-07,
     -9.9298272942317002539e-07, 4.5260625972231537039e-06, -1.9681778105531670567e-05,
     7.5995277030017761139e-05, -0.00021503011930044477347, -0.00013871931833623122026,
     1.0103004648645343977, 4.8499064014085844221),
)


def _poly(w, coeffs):
    """Horner's rule, highest degree first (as XLA: p = c_i + p * w)."""
    p = _full_to(_const(coeffs[0], w.dtype), w.shape)
    for c in coeffs[1:]:
        p = ew.add(_const(c, w.dtype), ew.mul(p, w))
    return p


# Cephes' rational approximation of log1p for |x| < sqrt(2) - 1, numerator and denominator
# highest degree first: XLA's float64 log1p (up to ~100 ulps from the correctly rounded
# value near the threshold; the C library's log1p would differ from JAX by that much).
_LOG1P_P = (4.5270000862445199635215e-5, 4.9854102823193375972212e-1,
            6.5787325942061044846969e0, 2.9911919328553073277375e1,
            6.0949667980987787057556e1, 5.7112963590585538103336e1,
            2.0039553499201281259648e1)
_LOG1P_Q = (1.0, 1.5062909083469192043167e1, 8.3047565967967209469434e1,
            2.2176239823732856465394e2, 3.0909872225312059774938e2,
            2.1642788614495947685003e2, 6.0118660497603843919306e1)


def _log1p(x):
    """log1p as JAX computes it: XLA's formula for float64, the backend's log1p else."""
    if x.dtype != dtypes.float64:
        return ew.log1p(x)
    x2 = ew.mul(x, x)
    ratio = ew.div(_poly(x, _LOG1P_P), _poly(x, _LOG1P_Q))
    small = ew.add(x, ew.add(ew.mul(-0.5, x2), ew.mul(ew.mul(x, x2), ratio)))
    large = ew.log(ew.add(x, 1.0))
    return ew.select(ew.lt(ew.abs(x), 0.41421356237309504880), small, large)


@_compiled
def _erf_inv(x):
    """Inverse error function as XLA computes it (float16 through float32): w =
    -log1p(-x*x), then Giles' polynomial of its branch, times x; +-1 give +-inf."""
    dt = x.dtype
    if dt in (dtypes.float16, dtypes.bfloat16):
        return ew.convert_element_type(_erf_inv(ew.convert_element_type(x, dtypes.float32)),
                                        dt)
    w = ew.neg(_log1p(ew.mul(x, ew.neg(x))))
    if dt == dtypes.float32:
        lt5 = ew.lt(w, 5.0)
        ws = ew.select(lt5, ew.sub(w, 2.5), ew.sub(ew.sqrt(w), 3.0))
        small, large = _ERFINV32
        p = ew.select(lt5, _full_to(_const(small[0], dt), w.shape),
                       _full_to(_const(large[0], dt), w.shape))
        for a, b in zip(small[1:], large[1:]):
            c = ew.select(lt5, _full_to(_const(a, dt), w.shape),
                           _full_to(_const(b, dt), w.shape))
            p = ew.add(c, ew.mul(p, ws))
    else:
        lt625 = ew.lt(w, 6.25)
        lt16 = ew.lt(w, 16.0)
        sw = ew.sqrt(w)
        p_small = _poly(ew.sub(w, 3.125), _ERFINV64[0])
        p_mid = _poly(ew.sub(sw, 3.25), _ERFINV64[1])
        p_large = _poly(ew.sub(sw, 5.0), _ERFINV64[2])
        p = ew.select(lt625, p_small, ew.select(lt16, p_mid, p_large))
    out = ew.mul(p, x)
    return ew.select(ew.eq(ew.abs(x), 1.0), ew.mul(x, np.inf), out)


_LANCZOS_G = 7.0
_LANCZOS = (0.99999999999980993227684700473478, 676.520368121885098567009190444019,
            -1259.13921672240287047156078755283, 771.3234287776530788486528258894,
            -176.61502916214059906584551354, 12.507343278686904814458936853,
            -0.13857109526572011689554707, 9.984369578019570859563e-6,
            1.50563273514931155834e-7)


def _lgamma(x):
    """log|Gamma(x)| by Lanczos' approximation (g=7, n=9) with the reflection formula for
    x < 1/2: the formula XLA uses for lgamma."""
    dt = x.dtype
    reflect = ew.lt(x, 0.5)
    z = ew.select(reflect, ew.neg(x), ew.sub(x, 1.0))
    a = _full_to(_const(_LANCZOS[0], dt), x.shape)
    for i, c in enumerate(_LANCZOS[1:]):
        a = ew.add(a, ew.div(_const(c, dt), ew.add(z, float(i + 1))))
    t = ew.add(z, _LANCZOS_G + 0.5)
    log_t = ew.add(_const(math.log(_LANCZOS_G + 0.5), dt),
                    ew.log1p(ew.div(z, _LANCZOS_G + 0.5)))
    r = ew.mul(ew.sub(ew.add(z, 0.5), ew.div(t, log_t)), log_t)
    lg = ew.add(ew.add(_const((math.log(2) + math.log(math.pi)) / 2, dt), r), ew.log(a))
    ax = ew.abs(x)
    frac = ew.sub(ax, ew.floor(ax))
    frac = ew.select(ew.lt(0.5, frac), ew.sub(1.0, frac), frac)
    denom = ew.log(ew.sin(ew.mul(_const(math.pi, dt), frac)))
    refl = ew.sub(ew.sub(_const(math.log(math.pi), dt), denom), lg)
    refl = ew.select(ew.is_finite(denom), refl, ew.neg(denom))
    lg = ew.select(reflect, refl, lg)
    return ew.select(ew.eq(ax, np.inf), _full_to(_const(np.inf, dt), x.shape), lg)


def _next_toward(x, up: bool):
    """nextafter(x, +inf) (up) or nextafter(x, -inf): the adjacent float of x's dtype,
    from arithmetic alone (funcgrad has no bitcast). x + |x| * (2**-(p+1) + 2**-(2p+1))
    moves a normal x by more than half and less than one and a half of its spacing, so
    rounds to the neighbour; subnormals and zero step by the smallest subnormal."""
    if not up:
        return ew.neg(_next_toward(ew.neg(x), True))
    fi = dtypes.finfo(x.dtype)
    p = fi.nmant + 1
    c = 2.0 ** -p + 2.0 ** (-2 * p + 1)
    small = ew.lt(ew.abs(x), float(fi.tiny))
    step = ew.select(small, _full_to(_const(fi.smallest_subnormal, x.dtype), x.shape),
                      ew.mul(ew.abs(x), c))
    out = ew.add(x, step)
    neg_inf = ew.eq(x, -np.inf)
    return ew.select(neg_inf, _full_to(_const(-fi.max, x.dtype), x.shape), out)


# --- normal and friends ------------------------------------------------------------------

def _normal_words(words, shape, dt) -> Array:
    lo = np.nextafter(np.array(-1.0, dt), np.array(0.0, dt))
    u = _uniform_words(words, shape, dt, lo, np.array(1.0, dt))
    return ew.mul(_const(np.sqrt(2.0), dt), _erf_inv(u))


def _normal(data, shape, dt) -> Array:
    return _normal_words(_hash_counter(data, shape), shape, dt)


def normal(key, shape=(), dtype=None) -> Array:
    """Standard normal samples: sqrt(2) * erfinv(u) for u uniform in (-1, 1), as JAX. A
    complex `dtype` gives (re + 1j * im) / sqrt(2) from the two keys of split(key), as
    JAX's (unit variance in all)."""
    data, _ = _check_key("normal", key)
    shape = _shape(shape, "normal")
    dt = _canonical(dtype, "float")
    if dtypes.is_complex(dt):
        real = dtypes.real_dtype(dt)
        k_re, k_im = _split_n(data, 2)
        re = ew.convert_element_type(_normal(k_re, shape, real), dt)
        im = ew.convert_element_type(_normal(k_im, shape, real), dt)
        return ew.div(ew.add(re, ew.mul(_const(1j, dt), im)), _const(np.sqrt(2.0), dt))
    return _normal(data, shape, _float_dtype(dtype, "normal"))


def truncated_normal(key, lower, upper, shape=None, dtype=None) -> Array:
    """Normal samples conditioned on (lower, upper), by the inverse CDF (as JAX)."""
    data, _ = _check_key("truncated_normal", key)
    dt = _float_dtype(dtype, "truncated_normal")
    shape = _broadcast_shape("truncated_normal", shape, lower, upper)
    sqrt2 = _const(np.sqrt(2.0), dt)
    lo = _to(lower, dt)
    hi = _to(upper, dt)
    a = ew.erf(ew.div(lo, sqrt2))
    b = ew.erf(ew.div(hi, sqrt2))
    u = _uniform(data, shape, dt, a, b)
    out = ew.mul(sqrt2, _erf_inv(u))
    lo_in = _next_toward(ew.stop_gradient(lo), True)
    hi_in = _next_toward(ew.stop_gradient(hi), False)
    return fnp.minimum(fnp.maximum(out, lo_in), hi_in)


def lognormal(key, sigma=1.0, shape=None, dtype=None) -> Array:
    """exp(sigma * normal)."""
    data, _ = _check_key("lognormal", key)
    dt = _float_dtype(dtype, "lognormal")
    shape = _broadcast_shape("lognormal", shape, sigma)
    return fnp.exp(fnp.multiply(_normal(data, shape, dt), _to(sigma, dt)))


def multivariate_normal(key, mean, cov, shape=None, dtype=None, method="cholesky") -> Array:
    """mean + A z for z standard normal of shape `shape + mean.shape[-1:]` and A A^T = cov:
    A from the Cholesky factorisation (default), or U sqrt(s) from the SVD / eigh of cov."""
    data, _ = _check_key("multivariate_normal", key)
    if method not in ("svd", "eigh", "cholesky"):
        raise ValueError("random.multivariate_normal: method must be one of "
                         "{'svd', 'eigh', 'cholesky'}")
    mean = fnp.asarray(mean)
    cov = fnp.asarray(cov)
    common = np.promote_types(mean.dtype, cov.dtype)
    if not dtypes.is_float(common):
        common = dtypes.to_inexact(common)
    mean, cov = mean.astype(common), cov.astype(common)
    dt = common if dtype is None else _float_dtype(dtype, "multivariate_normal")
    if mean.ndim < 1:
        raise ValueError(f"random.multivariate_normal: mean must have ndim >= 1, got "
                         f"{mean.ndim}")
    n = mean.shape[-1]
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError(f"random.multivariate_normal: cov must have shape (..., {n}, {n}) "
                         f"for mean of shape {mean.shape}, got {cov.shape}")
    if shape is None:
        shape = tuple(np.broadcast_shapes(mean.shape[:-1], cov.shape[:-2]))
    else:
        shape = _broadcast_shape("multivariate_normal", shape, np.empty(mean.shape[:-1]),
                                 np.empty(cov.shape[:-2]))
    if method == "svd":
        u, sv, _ = fnp.linalg.svd(cov)
        factor = u * fnp.sqrt(sv[..., None, :])
    elif method == "eigh":
        w, v = fnp.linalg.eigh(cov)
        factor = v * fnp.sqrt(w[..., None, :])
    else:
        factor = fnp.linalg.cholesky(cov)
    z = _normal(data, shape + (n,), dt)
    return mean + fnp.einsum("...ij,...j->...i", factor, z)


def orthogonal(key, n, shape=(), dtype=None, m=None) -> Array:
    """A (semi-)orthogonal matrix of shape (*shape, n, m) uniformly from O(n) (Haar): the
    Q factor of a normal matrix with R's diagonal made positive (as JAX)."""
    data, _ = _check_key("orthogonal", key)
    dt = _float_dtype(dtype, "orthogonal")
    shape = _shape(shape, "orthogonal")
    n = int(n)
    m = n if m is None else int(m)
    z = _normal(data, shape + (max(n, m), min(n, m)), dt)
    q, r = fnp.linalg.qr(z)
    x = q * fnp.expand_dims(fnp.sign(fnp.diagonal(r, axis1=-2, axis2=-1)), -2)
    return fnp.swapaxes(x, -1, -2) if n < m else x


# --- discrete samplers -------------------------------------------------------------------

def bernoulli(key, p=0.5, shape=None, mode="low") -> Array:
    """Booleans, True with probability p: uniform(key, shape, p.dtype) < p (as JAX)."""
    data, _ = _check_key("bernoulli", key)
    if mode not in ("high", "low"):
        raise ValueError(f"random.bernoulli: got mode={mode!r}, expected 'high' or 'low'")
    if type(p) in (bool, int, float):
        p = _const(p, _default("float") if type(p) is float else _default("int"))
    elif not isinstance(p, Array):
        p = core.to_array(np.asarray(p))
    if not dtypes.is_float(p.dtype):
        raise TypeError(f"random.bernoulli: probability p must have a floating dtype, got "
                        f"{p.dtype}")
    shape = _broadcast_shape("bernoulli", shape, p)
    dt = p.dtype
    if mode == "high":
        u = _uniform(data, (2,) + shape, dt, 0.0, 1.0)
        u2 = fnp.multiply(u[1], _const(2.0 ** -dtypes.finfo(dt).nmant, dt))
        return fnp.less(u2, fnp.subtract(p, u[0]))
    return fnp.less(_uniform(data, shape, dt, 0.0, 1.0), p)


def rademacher(key, shape=(), dtype=None) -> Array:
    """-1 or +1 with equal probability (from `bernoulli(key, 0.5, shape)`)."""
    data, _ = _check_key("rademacher", key)
    dt = _canonical(dtype, "int")
    shape = _shape(shape, "rademacher")
    f = _default("float")
    b = fnp.less(_uniform(data, shape, f, 0.0, 1.0), _const(0.5, f)).astype(dt)
    return (2 * b - 1).astype(dt)


def _int_param(x, name):
    """An integer parameter as JAX reads it: jnp.asarray (Python ints in the default int
    type, an OverflowError when they do not fit), then non-integers cast to int."""
    if isinstance(x, Array):
        a = x
    elif isinstance(x, (np.ndarray, np.generic)):
        a = core.to_array(x)
    else:
        v = np.asarray(x)
        if v.dtype.kind in "iub":
            dt = _default("int")
            if v.size and not np.iinfo(dt).min <= v.min() <= v.max() <= np.iinfo(dt).max:
                # Without an x64 switch, 64-bit integers are funcgrad's to keep (see
                # _x64_mode); with x64 off they overflow, as in JAX.
                if _x64_mode() is not None or not (-2 ** 63 <= v.min() <= v.max() < 2 ** 63):
                    raise OverflowError(f"random.{name}: integer {x} does not fit in {dt}")
                dt = dtypes.int64
            a = core.to_array(v.astype(dt))
        else:
            a = core.to_array(v.astype(_default("float")))
    if not dtypes.is_int(a.dtype):
        a = ew.convert_element_type(a, _default("int"))
    return a


def _clip_convert(val, dt):
    """Integer `val` converted to integer dtype `dt`, clipped to its range (not wrapped)."""
    vi, ti = np.iinfo(val.dtype), np.iinfo(dt)
    lo, hi = max(ti.min, vi.min), min(ti.max, vi.max)
    val = fnp.clip(val, _const(lo, val.dtype), _const(hi, val.dtype))
    return ew.convert_element_type(val, dt)


def _randint(data, shape, minval, maxval, dt) -> Array:
    minval = _int_param(minval, "randint")
    maxval = _int_param(maxval, "randint")
    _broadcast_shape("randint", shape, minval, maxval)
    nbits = dt.itemsize * 8
    udt = _UINT[nbits]
    top = _clip_convert(_const(np.iinfo(dt).max, dt), maxval.dtype)
    max_out_of_range = fnp.greater(maxval, top)
    lo = _clip_convert(minval, dt)
    hi = _clip_convert(maxval, dt)
    k1, k2 = _split_n(data, 2)
    higher = _bits(k1, nbits, shape)
    lower = _bits(k2, nbits, shape)
    # Unsigned arithmetic throughout: the wrapped difference is the span (no signed overflow).
    span = fnp.subtract(ew.convert_element_type(hi, udt), ew.convert_element_type(lo, udt))
    empty = fnp.less_equal(hi, lo)
    span = fnp.where(empty, _const(1, udt), span)
    span = fnp.where(fnp.logical_and(max_out_of_range, fnp.logical_not(empty)),
                     fnp.add(span, _const(1, udt)), span)
    span = _full_to(span, shape)
    mult = ew.rem(_full_to(_const(2 ** (nbits // 2), udt), shape), span)
    mult = ew.rem(ew.mul(mult, mult), span)
    offset = ew.add(ew.mul(ew.rem(higher, span), mult), ew.rem(lower, span))
    offset = ew.rem(offset, span)
    out = fnp.add(ew.convert_element_type(lo, udt), offset)
    return ew.convert_element_type(out, dt)


def randint(key, shape, minval, maxval, dtype=None) -> Array:
    """Integers uniform in [minval, maxval) (JAX's method: two draws of random bits reduced
    modulo the span; bit for bit)."""
    data, _ = _check_key("randint", key)
    dt = _canonical(dtype, "int")
    if not dtypes.is_int(dt):
        raise TypeError(f"random.randint: dtype must be an integer dtype, got {dt}")
    shape = _shape(shape, "randint")
    info = dtypes.iinfo(dt)        # knows int4, uint2, ... (np.iinfo does not)
    if info.bits < 32:
        # Sampled in int32 and cast, as JAX (less modulo bias).
        lo = fnp.clip(_int_param(minval, "randint").astype(dtypes.int32), int(info.min),
                      int(info.max))
        hi = fnp.clip(_int_param(maxval, "randint").astype(dtypes.int32), int(info.min),
                      int(info.max) + 1)
        return _randint(data, shape, lo, hi, dtypes.int32).astype(dt)
    return _randint(data, shape, minval, maxval, dt)


def _shuffle(data, x, axis) -> Array:
    """Sort by fresh random 32-bit keys, for as many rounds as make a collision-free key
    string likely (tjablin's rule, as JAX/TensorFlow): a uniformly random permutation."""
    rounds = int(np.ceil(3 * np.log(max(1, _size(x.shape))) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, sub = _split_n(data, 2)
        sort_keys = _bits(sub, 32, x.shape)
        _, x = _sort((sort_keys, x), dimension=axis, num_keys=1)
    return x


def permutation(key, x, axis=0, independent=False) -> Array:
    """A random permutation of range(x) (int x) or of x along `axis` (bit for bit)."""
    data, _ = _check_key("permutation", key)
    if isinstance(x, (list, tuple)):
        x = fnp.asarray(x)
    if np.ndim(x) == 0:
        if not (isinstance(x, (int, np.integer)) or
                (isinstance(x, Array) and dtypes.is_int(x.dtype))):
            raise TypeError("random.permutation: x must be an integer or at least "
                            "1-dimensional")
        c = core.concrete_value(x)
        if c is None:
            raise core.ConcretizationTypeError(
                "random.permutation: the length x must be concrete (not traced)")
        return _shuffle(data, fnp.arange(int(c), dtype=_default("int")), 0)
    x = fnp.asarray(x)
    axis = axis % x.ndim
    if independent or x.ndim == 1:
        return _shuffle(data, x, axis)
    ind = _shuffle(data, fnp.arange(x.shape[axis], dtype=_default("int")), 0)
    return fnp.take(x, ind, axis=axis)


def _top_k_indices(x, k):
    """Indices of the k largest entries along the last axis, ties to the lower index."""
    idx = st.iota(_default("int"), x.shape, x.ndim - 1)
    _, order = _sort((fnp.negative(x), idx), dimension=x.ndim - 1, num_keys=1)
    return order[..., :k]


def choice(key, a, shape=(), replace=True, p=None, axis=0, mode=None) -> Array:
    """A random sample of `a` (an int n means range(n)) along `axis` (as JAX: with p, by
    inverse CDF with replacement or Gumbel top-k without)."""
    data, _ = _check_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"random.choice: shape must be a sequence, got {shape!r}")
    shape = _shape(shape, "choice")
    arr = fnp.asarray(a)
    if arr.ndim == 0:
        c = core.concrete_value(a)
        if c is None:
            raise core.ConcretizationTypeError("random.choice: an int `a` must be concrete")
        n_inputs = int(c)
    else:
        axis = axis % arr.ndim
        n_inputs = arr.shape[axis]
    n_draws = _size(shape)
    if n_draws == 0:
        return fnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("random.choice: a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"random.choice: cannot take a larger sample (size {n_draws}) than "
                         f"population (size {n_inputs}) when replace=False")
    if p is None:
        if replace:
            ind = _randint(data, shape, 0, n_inputs, _default("int"))
            result = ind if arr.ndim == 0 else fnp.take(arr, ind, axis=axis)
        else:
            if arr.ndim == 0:
                perm = _shuffle(data, fnp.arange(n_inputs, dtype=_default("int")), 0)
            elif arr.ndim == 1:
                perm = _shuffle(data, arr, 0)
            else:
                ind = _shuffle(data, fnp.arange(n_inputs, dtype=_default("int")), 0)
                perm = fnp.take(arr, ind, axis=axis)
            result = ix.slice_in_dim(perm, 0, n_draws, axis=axis if arr.ndim else 0)
    else:
        p_arr = fnp.asarray(p)
        if not dtypes.is_float(p_arr.dtype):
            p_arr = p_arr.astype(dtypes.to_inexact(p_arr.dtype))
        if p_arr.shape != (n_inputs,):
            raise ValueError(f"random.choice: p must be None or a 1D vector with the same size "
                             f"as a.shape[axis]; p has shape {p_arr.shape} and a.shape[axis] "
                             f"is {n_inputs}")
        if replace:
            p_cuml = fnp.cumsum(p_arr)
            u = _uniform(data, shape, p_cuml.dtype, 0.0, 1.0)
            r = fnp.multiply(p_cuml[-1], fnp.subtract(_const(1, p_cuml.dtype), u))
            ind = fnp.searchsorted(p_cuml, r).astype(_default("int"))
        else:
            g = fnp.add(_gumbel(data, (n_inputs,), p_arr.dtype, mode), fnp.log(p_arr))
            ind = _top_k_indices(g, n_draws).astype(_default("int"))
        result = ind if arr.ndim == 0 else fnp.take(arr, ind, axis=axis)
    out_shape = shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1:]
    return fnp.reshape(result, out_shape)


# --- transforms of one uniform draw ------------------------------------------------------

def _gumbel(data, shape, dt, mode) -> Array:
    mode = "low" if mode is None else mode
    if mode not in ("low", "high", "highest"):
        raise ValueError(f"random.gumbel: mode must be 'low', 'high' or 'highest', got "
                         f"{mode!r}")
    fi = dtypes.finfo(dt)
    if mode == "highest":
        raise NotImplementedError("random.gumbel: mode='highest' builds floats from raw bits "
                                  "(a bitcast funcgrad lacks); use mode='high'")
    if mode == "high":
        u = _uniform(data, (2,) + shape, dt, 0.0, 1.0)
        high, low = u[0], u[1]
        small = fnp.add(fnp.add(high, fnp.multiply(_const(2.0 ** -fi.nmant, dt), low)),
                        _const(fi.tiny, dt))
        x = fnp.where(fnp.greater_equal(high, _const(0.5, dt)), high, small)
        return ew.neg(ew.log(ew.neg(_log1p(ew.neg(x)))))
    u = _uniform(data, shape, dt, np.array(fi.tiny, dt), np.array(1.0, dt))
    return fnp.negative(fnp.log(fnp.negative(fnp.log(u))))


def gumbel(key, shape=(), dtype=None, mode=None) -> Array:
    """Standard Gumbel samples: -log(-log(u))."""
    data, _ = _check_key("gumbel", key)
    return _gumbel(data, _shape(shape, "gumbel"), _float_dtype(dtype, "gumbel"), mode)


def categorical(key, logits, axis=-1, shape=None, replace=True, mode=None) -> Array:
    """Samples of categorical distributions given by unnormalised log-probabilities along
    `axis` (Gumbel-max, or Gumbel top-k without replacement, as JAX)."""
    data, _ = _check_key("categorical", key)
    logits = fnp.asarray(logits)
    if not dtypes.is_float(logits.dtype):
        raise TypeError(f"random.categorical: logits must be floating point, got "
                        f"{logits.dtype}")
    nd = logits.ndim
    ax = axis % nd
    batch = logits.shape[:ax] + logits.shape[ax + 1:]
    if shape is None:
        shape = batch
    else:
        shape = _shape(shape, "categorical")
        if tuple(np.broadcast_shapes(shape, batch)) != shape:
            raise ValueError(f"random.categorical: shape {shape} must broadcast with the batch "
                             f"shape {batch} of logits {logits.shape} (axis {axis})")
    prefix = shape[:len(shape) - len(batch)]
    if replace:
        neg_axis = ax - nd
        full = list(shape[len(shape) - len(batch):])
        full.insert(ax, logits.shape[ax])
        g = _gumbel(data, prefix + tuple(full), logits.dtype, mode)
        lg = fnp.expand_dims(logits, tuple(range(len(prefix)))) if prefix else logits
        return fnp.argmax(fnp.add(g, lg), axis=neg_axis).astype(_default("int"))
    noisy = fnp.add(logits, _gumbel(data, logits.shape, logits.dtype, mode))
    k = _size(prefix)
    if k > logits.shape[ax]:
        raise ValueError(f"random.categorical: number of samples without replacement ({k}) "
                         f"cannot exceed number of categories ({logits.shape[ax]})")
    ind = _top_k_indices(fnp.moveaxis(noisy, ax, -1), k)
    ind = fnp.moveaxis(ind, -1, 0)
    return fnp.reshape(ind, shape).astype(_default("int"))


def _exponential(data, shape, dt) -> Array:
    u = _uniform(data, shape, dt, 0.0, 1.0)
    return ew.neg(_log1p(ew.neg(u)))


def exponential(key, shape=(), dtype=None) -> Array:
    """Exponential(1) samples: -log1p(-u)."""
    data, _ = _check_key("exponential", key)
    return _exponential(data, _shape(shape, "exponential"), _float_dtype(dtype, "exponential"))


def laplace(key, shape=(), dtype=None) -> Array:
    """Laplace(0, 1) samples: sign(u) * log1p(-|u|) for u uniform in (-1, 1)."""
    data, _ = _check_key("laplace", key)
    dt = _float_dtype(dtype, "laplace")
    fi = dtypes.finfo(dt)
    u = _uniform(data, _shape(shape, "laplace"), dt, np.array(-1.0 + fi.epsneg, dt),
                 np.array(1.0, dt))
    return ew.mul(ew.sign(u), _log1p(ew.neg(ew.abs(u))))


def logistic(key, shape=(), dtype=None) -> Array:
    """Standard logistic samples: log(u) - log1p(-u)."""
    data, _ = _check_key("logistic", key)
    dt = _float_dtype(dtype, "logistic")
    u = _uniform(data, _shape(shape, "logistic"), dt, np.array(dtypes.finfo(dt).tiny, dt),
                 np.array(1.0, dt))
    return ew.sub(ew.log(u), _log1p(ew.neg(u)))


def cauchy(key, shape=(), dtype=None) -> Array:
    """Standard Cauchy samples: tan(pi * (u - 1/2))."""
    data, _ = _check_key("cauchy", key)
    dt = _float_dtype(dtype, "cauchy")
    u = _uniform(data, _shape(shape, "cauchy"), dt, np.array(dtypes.finfo(dt).eps, dt),
                 np.array(1.0, dt))
    return fnp.tan(fnp.multiply(_const(np.pi, dt), fnp.subtract(u, _const(0.5, dt))))


def pareto(key, b, shape=None, dtype=None) -> Array:
    """Pareto(b) samples: exp(exponential / b)."""
    data, _ = _check_key("pareto", key)
    dt = _float_dtype(dtype, "pareto")
    shape = _broadcast_shape("pareto", shape, b)
    return fnp.exp(fnp.divide(_exponential(data, shape, dt), _to(b, dt)))


# --- gamma family (Marsaglia-Tsang rejection, per element) -------------------------------

def _select_keys(pred, new, old):
    return ew.select(st.broadcast_in_dim(pred, old.shape, (0,)), new, old)


@functools.cache
def _implicit_gamma(log_space: bool):
    """`attach(alpha, sample)` returns `sample` (drawn with alpha under stop_gradient);
    its derivative in alpha is JAX's implicit reparameterisation gradient: the draw moves
    with alpha at a fixed CDF value, dx/da = -(dP/da) / (dP/dx)
    (`lax.random_gamma_grad`), and d log(x)/da = (dx/da) / x in log space (with x at
    least the smallest normal float, as JAX). A derivative through the rejection loop
    itself would hold the accepted proposal fixed, which is not the derivative of the
    draw (jvp gave 0.977 where JAX gives 0.966, silently, before this rule)."""
    from .api import custom_jvp
    from ._igamma import random_gamma_grad

    @custom_jvp
    def attach(alpha, sample):
        return sample

    @attach.defjvp
    def _jvp(primals, tangents):
        alpha, sample = primals
        t_alpha, _ = tangents
        if log_space:
            x = fnp.exp(sample)
            x = fnp.where(x == 0, fnp.finfo(x.dtype).tiny, x)
            g = random_gamma_grad(alpha, x) / x
        else:
            g = random_gamma_grad(alpha, sample)
        return sample, g * t_alpha
    return attach


def _gamma(data, a, shape, dt, log_space) -> Array:
    """Gamma(a) samples, element i from the i-th key of split(key, size) by Marsaglia and
    Tsang's rejection method (alpha < 1 boosted through Gamma(alpha + 1) * U**(1/alpha)),
    as JAX's `_gamma_one` per element; JAX maps it with vmap, which runs every lane's loop
    until the last lane is done, so here the lanes loop together, each advancing only
    while its own condition holds."""
    n = _size(shape)
    if n == 0:
        return st.full(shape, 0, dt)
    alpha_in = st.reshape(_full_to(_to(a, dt), shape), (n,))
    alpha = lax.stop_gradient(alpha_in)      # (the draw's derivative: _implicit_gamma)
    key, sub = _split_lanes(_split(data, (n,)), 2)
    one, zero = _const(1.0, dt), _const(0.0, dt)
    boost = ew.ge(alpha, one)
    alpha_b = ew.select(boost, alpha, ew.add(alpha, one))
    d = ew.sub(alpha_b, _const(1.0 / 3.0, dt))
    c = ew.div(_const(1.0 / 3.0, dt), ew.sqrt(d))

    def rejected(xx, v, u):
        squeeze = ew.ge(u, ew.sub(one, ew.mul(_const(0.0331, dt), ew.mul(xx, xx))))
        log_test = ew.ge(ew.log(u), ew.add(ew.mul(xx, _const(0.5, dt)),
                                             ew.mul(d, ew.add(ew.sub(one, v), ew.log(v)))))
        return ew.and_(squeeze, log_test)

    def body(state):
        k, xx, v, u = state
        live = rejected(xx, v, u)
        k_next, x_key, u_key = _split_lanes(k, 3)

        def draw(inner):
            kk, x, vv = inner
            go = ew.le(vv, zero)
            kk_next, s = _split_lanes(kk, 2)
            x_new = _normal_words(_lane_words(s), (n,), dt)
            v_new = ew.add(one, ew.mul(x_new, c))
            return (_select_keys(go, kk_next, kk), ew.select(go, x_new, x),
                    ew.select(go, v_new, vv))

        def drawing(inner):
            return fnp.any(ew.and_(live, ew.le(inner[2], zero)))

        _, x, v_new = lax.while_loop(drawing, draw, (x_key, st.full((n,), 0.0, dt),
                                                     st.full((n,), -1.0, dt)))
        u_new = _uniform_words(_lane_words(u_key), (n,), dt, 0.0, 1.0)
        return (_select_keys(live, k_next, k), ew.select(live, ew.mul(x, x), xx),
                ew.select(live, ew.mul(ew.mul(v_new, v_new), v_new), v),
                ew.select(live, u_new, u))

    init = (key, st.full((n,), 0.0, dt), st.full((n,), 1.0, dt), st.full((n,), 2.0, dt))
    _, _, v, _ = lax.while_loop(lambda st: fnp.any(rejected(*st[1:])), body, init)
    u_last = _uniform_words(_lane_words(sub), (n,), dt, 0.0, 1.0)
    if log_space:
        log_u = _log1p(ew.neg(u_last))          # -exponential(sub), as JAX
        log_boost = ew.select(ew.or_(boost, ew.eq(log_u, zero)), st.full((n,), 0.0, dt),
                               ew.mul(log_u, ew.div(one, alpha)))
        out = ew.add(ew.add(ew.log(d), ew.log(v)), log_boost)
    else:
        boosted = ew.pow(ew.sub(one, u_last), ew.div(one, alpha))
        out = ew.mul(ew.mul(d, v), ew.select(boost, st.full((n,), 1.0, dt), boosted))
    return st.reshape(_implicit_gamma(log_space)(alpha_in, out), shape)


def gamma(key, a, shape=None, dtype=None) -> Array:
    """Gamma(a, 1) samples (Marsaglia-Tsang rejection per element, as JAX), differentiable
    in `a` by JAX's implicit reparameterisation (`lax.random_gamma_grad`)."""
    data, _ = _check_key("gamma", key)
    dt = _float_dtype(dtype, "gamma")
    return _gamma(data, a, _broadcast_shape("gamma", shape, a), dt, False)


def loggamma(key, a, shape=None, dtype=None) -> Array:
    """log of Gamma(a, 1) samples, computed in log space (accurate for small a)."""
    data, _ = _check_key("loggamma", key)
    dt = _float_dtype(dtype, "loggamma")
    return _gamma(data, a, _broadcast_shape("loggamma", shape, a), dt, True)


def beta(key, a, b, shape=None, dtype=None) -> Array:
    """Beta(a, b) samples: Ga / (Ga + Gb) from log-space gamma draws."""
    data, _ = _check_key("beta", key)
    dt = _float_dtype(dtype, "beta")
    shape = _broadcast_shape("beta", shape, a, b)
    ka, kb = _split_n(data, 2)
    la = _gamma(ka, a, shape, dt, True)
    lb = _gamma(kb, b, shape, dt, True)
    top = fnp.maximum(la, lb)
    ga = fnp.exp(fnp.subtract(la, top))
    gb = fnp.exp(fnp.subtract(lb, top))
    return fnp.divide(ga, fnp.add(ga, gb))


def dirichlet(key, alpha, shape=None, dtype=None) -> Array:
    """Dirichlet(alpha) samples over alpha's last axis (softmax of log-gamma draws)."""
    data, _ = _check_key("dirichlet", key)
    dt = _float_dtype(dtype, "dirichlet")
    alpha = fnp.asarray(alpha)
    if alpha.ndim < 1:
        raise ValueError(f"random.dirichlet: alpha must have ndim >= 1, got {alpha.ndim}")
    if shape is None:
        shape = alpha.shape[:-1]
    else:
        shape = _broadcast_shape("dirichlet", shape, np.empty(alpha.shape[:-1]))
    lg = _gamma(data, alpha, shape + alpha.shape[-1:], dt, True)
    e = fnp.exp(fnp.subtract(lg, fnp.max(lg, axis=-1, keepdims=True)))
    return fnp.divide(e, fnp.sum(e, axis=-1, keepdims=True))


def t(key, df, shape=None, dtype=None) -> Array:
    """Student's t samples with `df` degrees of freedom: n * sqrt(df/2 / Gamma(df/2))."""
    data, _ = _check_key("t", key)
    dt = _float_dtype(dtype, "t")
    shape = _broadcast_shape("t", shape, df)
    kn, kg = _split_n(data, 2)
    n = _normal(kn, shape, dt)
    half = fnp.divide(_to(df, dt), _const(2.0, dt))
    g = _gamma(kg, half, shape, dt, False)
    return fnp.multiply(n, fnp.sqrt(fnp.divide(half, g)))


def chisquare(key, df, shape=None, dtype=None) -> Array:
    """Chi-square samples: 2 * Gamma(df / 2)."""
    data, _ = _check_key("chisquare", key)
    dt = _float_dtype(dtype, "chisquare")
    shape = _broadcast_shape("chisquare", shape, df)
    half = fnp.divide(_to(df, dt), _const(2.0, dt))
    return fnp.multiply(fnp.exp(_gamma(data, half, shape, dt, True)), _const(2.0, dt))


# --- poisson -----------------------------------------------------------------------------

def _poisson_knuth(data, lam, shape, dt, max_iters):
    """Knuth: count uniforms until their product drops below exp(-lam) (lam < 10)."""
    f32 = dtypes.float32

    def body(state):
        i, k, rng, log_prod = state
        rng, sub = _split_n(rng, 2)
        k = ew.select(ew.gt(log_prod, ew.neg(lam)), ew.add(k, _const(1, dt)), k)
        u = _uniform(sub, shape, f32, 0.0, 1.0)
        return ew.add(i, _const(1, dtypes.int32)), k, rng, ew.add(log_prod, ew.log(u))

    def cond(state):
        i, _, _, log_prod = state
        return ew.and_(fnp.any(ew.gt(log_prod, ew.neg(lam))), ew.lt(i, max_iters))

    init = (_const(0, dtypes.int32), st.full(shape, 0, dt), data, st.full(shape, 0.0, f32))
    k = lax.while_loop(cond, body, init)[1]
    return ew.sub(k, _const(1, dt))


def _poisson_rejection(data, lam, shape, dt, max_iters):
    """Hörmann's transformed rejection with squeeze (PTRS), for lam >= 10."""
    log_lam = ew.log(lam)
    b = ew.add(0.931, ew.mul(2.53, ew.sqrt(lam)))
    a = ew.add(-0.059, ew.mul(0.02483, b))
    inv_alpha = ew.add(1.1239, ew.div(1.1328, ew.sub(b, 3.4)))
    v_r = ew.sub(0.9277, ew.div(3.6224, ew.sub(b, 2.0)))

    def body(state):
        i, k_out, accepted, k = state
        k, s0, s1 = _split_n(k, 3)
        u = ew.sub(_uniform(s0, shape, lam.dtype, 0.0, 1.0), 0.5)
        v = _uniform(s1, shape, lam.dtype, 0.0, 1.0)
        us = ew.sub(0.5, ew.abs(u))
        kk = ew.floor(ew.add(ew.add(ew.mul(ew.add(ew.div(ew.mul(2.0, a), us), b), u),
                                       lam), 0.43))
        s = ew.log(ew.div(ew.mul(v, inv_alpha), ew.add(ew.div(a, ew.mul(us, us)), b)))
        tt = ew.sub(ew.add(ew.neg(lam), ew.mul(kk, log_lam)), _lgamma(ew.add(kk, 1.0)))
        accept1 = ew.and_(ew.ge(us, 0.07), ew.le(v, v_r))
        reject = ew.or_(ew.lt(kk, 0.0), ew.and_(ew.lt(us, 0.013), ew.gt(v, us)))
        accept = ew.or_(accept1, ew.and_(ew.not_(reject), ew.le(s, tt)))
        k_out = ew.select(accept, kk, k_out)
        return ew.add(i, _const(1, dtypes.int32)), k_out, ew.or_(accepted, accept), k

    def cond(state):
        i, _, accepted, _ = state
        return ew.and_(fnp.any(ew.not_(accepted)), ew.lt(i, max_iters))

    init = (_const(0, dtypes.int32), st.full(shape, -1.0, lam.dtype),
            st.full(shape, False, dtypes.bool_), data)
    k = lax.while_loop(cond, body, init)[1]
    return ew.convert_element_type(k, dt)


def poisson(key, lam, shape=None, dtype=None) -> Array:
    """Poisson(lam) counts (Knuth for lam < 10, transformed rejection above; as JAX, in
    float32 whatever the output dtype)."""
    data, _ = _check_key("poisson", key)
    dt = _canonical(dtype, "int")
    if not dtypes.is_int(dt):
        raise TypeError(f"random.poisson: dtype must be an integer dtype, got {dt}")
    shape = np.shape(lam) if shape is None else _shape(shape, "poisson")
    f32 = dtypes.float32
    lam = _full_to(_to(lam, f32), tuple(shape))
    if lam.shape != tuple(shape):
        raise ValueError(f"random.poisson: lam of shape {lam.shape} does not broadcast to "
                         f"{shape}")
    shape = tuple(shape)
    use_knuth = ew.or_(ew.ne(lam, lam), ew.lt(lam, 10.0))
    lam_knuth = ew.select(use_knuth, lam, st.full(shape, 0.0, f32))
    lam_rej = ew.select(use_knuth, st.full(shape, 1e5, f32), lam)
    # JAX stops after iinfo(dtype).max iterations; the counter here is int32.
    max_iters = _const(min(np.iinfo(dt).max, np.iinfo(np.int32).max), dtypes.int32)
    result = ew.select(use_knuth, _poisson_knuth(data, lam_knuth, shape, dt, max_iters),
                        _poisson_rejection(data, lam_rej, shape, dt, max_iters))
    return ew.select(ew.eq(lam, 0.0), st.full(shape, 0, dt), result)


# --- more of JAX's distributions, built from the samplers above as JAX builds them -------

def _float_param(x, dt) -> Array:
    """A distribution parameter in the sampling dtype `dt` (differentiable when it is an
    array: `convert_element_type` has a JVP)."""
    return _to(x, dt)


def rayleigh(key, scale, shape=None, dtype=None) -> Array:
    """Rayleigh(scale) samples by the inverse CDF: scale * sqrt(-2 log u) (as JAX);
    differentiable in `scale`."""
    data, _ = _check_key("rayleigh", key)
    dt = _float_dtype(dtype, "rayleigh")
    shape = _broadcast_shape("rayleigh", shape, scale)
    u = _uniform(data, shape, dt, 0.0, 1.0)
    root = fnp.sqrt(fnp.multiply(fnp.log(u), _const(-2.0, dt)))
    return fnp.multiply(_full_to(_float_param(scale, dt), shape), root)


def maxwell(key, shape=(), dtype=None) -> Array:
    """Maxwell (chi with 3 degrees of freedom) samples: the length of a standard normal
    3-vector (as JAX)."""
    data, _ = _check_key("maxwell", key)
    dt = _float_dtype(dtype, "maxwell")
    z = _normal(data, _shape(shape, "maxwell") + (3,), dt)
    return fnp.sqrt(fnp.sum(fnp.multiply(z, z), axis=-1))


def double_sided_maxwell(key, loc, scale, shape=(), dtype=None) -> Array:
    """Double-sided Maxwell samples: loc + scale * s * m for m Maxwell and s a random sign
    (as JAX, including its shape rule: the result has shape `shape + broadcast(loc, scale)`,
    where an empty `shape` means the parameters' shape, so a (3,) `loc` alone gives (3, 3)).
    Differentiable in `loc` and `scale`."""
    data, _ = _check_key("double_sided_maxwell", key)
    dt = _float_dtype(dtype, "double_sided_maxwell")
    params = tuple(np.broadcast_shapes(np.shape(loc), np.shape(scale)))
    shape = _shape(shape, "double_sided_maxwell") if shape else params
    shape = shape + params
    k_maxwell, k_sign = _split_n(data, 2)
    m = maxwell(k_maxwell, shape, dt)
    sign = rademacher(k_sign, shape, dt)
    return fnp.add(fnp.multiply(fnp.multiply(sign, m), _float_param(scale, dt)),
                   _float_param(loc, dt))


def weibull_min(key, scale, concentration, shape=(), dtype=None) -> Array:
    """Weibull samples by the inverse CDF: scale * (-log1p(-u)) ** (1 / concentration), u of
    `shape` broadcast with the parameters (as JAX); differentiable in both parameters."""
    data, _ = _check_key("weibull_min", key)
    dt = _float_dtype(dtype, "weibull_min")
    u = _uniform(data, _shape(shape, "weibull_min"), dt, 0.0, 1.0)
    e = ew.neg(_log1p(ew.neg(u)))
    inv_k = fnp.divide(_const(1.0, dt), _float_param(concentration, dt))
    return fnp.multiply(fnp.power(e, inv_k), _float_param(scale, dt))


def wald(key, mean, shape=None, dtype=None) -> Array:
    """Wald (inverse Gaussian with shape parameter 1) samples by Michael, Schucany and
    Haas's transformation of a normal and a uniform draw (as JAX); differentiable in
    `mean`."""
    data, _ = _check_key("wald", key)
    dt = _float_dtype(dtype, "wald")
    shape = _broadcast_shape("wald", shape, mean)
    k_norm, k_unif = _split_n(data, 2)
    mu = _full_to(_float_param(mean, dt), shape)
    v = _normal(k_norm, shape, dt)
    z = _uniform(k_unif, shape, dt, 0.0, 1.0)
    y = fnp.multiply(v, v)
    mu2 = fnp.multiply(mu, mu)
    root = fnp.sqrt(fnp.add(fnp.multiply(fnp.multiply(mu, y), _const(4.0, dt)),
                            fnp.multiply(mu2, fnp.multiply(y, y))))
    half = _const(0.5, dt)
    x = fnp.subtract(fnp.add(mu, fnp.multiply(fnp.multiply(mu2, y), half)),
                     fnp.multiply(fnp.multiply(mu, half), root))
    return fnp.where(fnp.less_equal(z, fnp.divide(mu, fnp.add(mu, x))), x,
                     fnp.divide(mu2, x))


def triangular(key, left, mode, right, shape=None, dtype=None) -> Array:
    """Triangular(left, mode, right) samples by the inverse CDF (as JAX); differentiable in
    the three parameters."""
    data, _ = _check_key("triangular", key)
    dt = _float_dtype(dtype, "triangular")
    shape = _broadcast_shape("triangular", shape, left, mode, right)
    a, c, b = (_full_to(_float_param(v, dt), shape) for v in (left, mode, right))
    u = _uniform(data, shape, dt, 0.0, 1.0)
    width = fnp.subtract(b, a)
    split_at = fnp.divide(fnp.subtract(c, a), width)
    low = fnp.add(a, fnp.sqrt(fnp.multiply(fnp.multiply(u, width), fnp.subtract(c, a))))
    high = fnp.subtract(b, fnp.sqrt(fnp.multiply(
        fnp.multiply(fnp.subtract(_const(1.0, dt), u), width), fnp.subtract(b, c))))
    return fnp.where(fnp.less(u, split_at), low, high)


def f(key, dfnum, dfden, shape=None, dtype=None) -> Array:
    """F(dfnum, dfden) samples: (X1 / dfnum) / (X2 / dfden) for independent chi-square draws
    (as JAX). Not differentiable in the degrees of freedom (see `gamma`)."""
    data, _ = _check_key("f", key)
    dt = _float_dtype(dtype, "f")
    shape = _broadcast_shape("f", shape, dfnum, dfden)
    k_den, k_num = _split_n(data, 2)
    num = fnp.divide(chisquare(k_num, dfnum, shape, dt), _float_param(dfnum, dt))
    den = fnp.divide(chisquare(k_den, dfden, shape, dt), _float_param(dfden, dt))
    return fnp.divide(num, den)


def generalized_normal(key, p, shape=(), dtype=None) -> Array:
    """Generalized normal samples, density proportional to exp(-|x|**p): s * G**(1/p) for
    G ~ Gamma(1/p) and s a random sign (as JAX). Not differentiable in `p` (see
    `gamma`)."""
    data, _ = _check_key("generalized_normal", key)
    dt = _float_dtype(dtype, "generalized_normal")
    shape = _broadcast_shape("generalized_normal", shape, p)
    k_gamma, k_sign = _split_n(data, 2)
    inv_p = fnp.divide(_const(1.0, dt), _float_param(p, dt))
    g = _gamma(k_gamma, inv_p, shape, dt, False)
    sign = rademacher(k_sign, shape, dt)
    return fnp.multiply(sign, fnp.power(g, inv_p))


def ball(key, d, p=2, shape=(), dtype=None) -> Array:
    """Points uniform in the unit p-norm ball of dimension `d`, shape `shape + (d,)`: g /
    (sum |g|**p + e)**(1/p) for g generalized normal and e exponential (Barthe, Guedon,
    Mendelson and Naor's construction, as JAX). `d` and `p` must be concrete."""
    data, _ = _check_key("ball", key)
    dt = _float_dtype(dtype, "ball")
    if isinstance(d, Tracer) or isinstance(p, Tracer):
        raise core.ConcretizationTypeError("random.ball: d and p must be concrete (static) "
                                           "values; pass them with static_argnums")
    d = int(d)
    if d < 0:
        raise ValueError(f"random.ball: d must be a non-negative integer, got {d}")
    p = float(p)
    shape = _shape(shape, "ball")
    k_g, k_e = _split_n(data, 2)
    g = generalized_normal(k_g, p, shape + (d,), dt)
    e = _exponential(k_e, shape, dt)
    total = fnp.add(fnp.sum(fnp.power(fnp.abs(g), _const(p, dt)), axis=-1), e)
    return fnp.divide(g, fnp.expand_dims(fnp.power(total, _const(1.0 / p, dt)), -1))


def geometric(key, p, shape=None, dtype=None) -> Array:
    """Geometric(p) counts of trials up to the first success, in {1, 2, ...}:
    floor(log u / log1p(-p)) + 1 (as JAX). Integer `dtype` (default int32 / int64 with
    x64)."""
    data, _ = _check_key("geometric", key)
    dt = _canonical(dtype, "int")
    if not dtypes.is_int(dt):
        raise TypeError(f"random.geometric: dtype must be an integer dtype, got {dt}")
    if isinstance(p, Array) and dtypes.is_float(p.dtype):
        prob = p
    else:
        prob = _to(p, _default("float"))
    shape = _broadcast_shape("geometric", shape, prob)
    u = _uniform(data, shape, prob.dtype, 0.0, 1.0)
    g = fnp.floor(fnp.divide(fnp.log(u), _full_to(_log1p(ew.neg(prob)), shape)))
    return fnp.add(g, _const(1.0, prob.dtype)).astype(dt)


# log(k!) - [(k + 1/2) log(k + 1) - (k + 1) + log(sqrt(2 pi))]: the error of Stirling's
# formula, tabulated for k < 10 and by its series above (Hormann 1993, as in BTRS).
_STIRLING_TAIL = tuple(math.lgamma(k + 1.0) - ((k + 0.5) * math.log(k + 1.0) - (k + 1.0)
                                                + 0.5 * math.log(2.0 * math.pi))
                       for k in range(10))


def _stirling_tail(k):
    dt = k.dtype
    kp1 = ew.add(k, _const(1.0, dt))
    kp1_sq = ew.mul(kp1, kp1)
    series = ew.div(ew.sub(_const(1.0 / 12.0, dt), ew.div(
        ew.sub(_const(1.0 / 360.0, dt), ew.div(_const(1.0 / 1260.0, dt), kp1_sq)), kp1_sq)),
        kp1)
    table = _full_to(_const(_STIRLING_TAIL[-1], dt), k.shape)
    for i in range(len(_STIRLING_TAIL) - 2, -1, -1):
        table = ew.select(ew.le(k, _const(float(i), dt)),
                          _full_to(_const(_STIRLING_TAIL[i], dt), k.shape), table)
    return ew.select(ew.lt(k, _const(10.0, dt)), table, series)


def _binomial_inversion(data, count, q, shape, dt, max_iters):
    """The number of successes as the number of geometric gaps between successes that fit
    in `count` trials (Devroye's second waiting-time method; cheap for count * q <= 10).
    Needs 0 < q < 1."""
    log1mq = _log1p(ew.neg(q))
    one = _const(1.0, dt)

    def body(state):
        i, num, total, k = state
        sub, k = _split_n(k, 2)          # JAX's order: the draw's key first
        num = ew.select(ew.le(total, count), ew.add(num, one), num)
        u = _uniform(sub, shape, dt, 0.0, 1.0)
        gap = ew.ceil(ew.div(ew.log(u), log1mq))
        return ew.add(i, _const(1, dtypes.int32)), num, ew.add(total, gap), k

    def cond(state):
        i, _, total, _ = state
        return ew.and_(fnp.any(ew.le(total, count)), ew.lt(i, max_iters))

    zeros = st.full(shape, 0.0, dt)
    num = lax.while_loop(cond, body, (_const(0, dtypes.int32), zeros, zeros, data))[1]
    return ew.sub(num, one)


def _binomial_btrs(data, count, q, shape, dt, max_iters):
    """Hormann's transformed rejection with squeeze (BTRS, 1993) for count * q > 10 and
    q <= 1/2: a proposal from a transformed uniform, accepted by a squeeze or by comparing
    with the exact log-ratio of the probabilities at k and at the mode (Stirling's formula
    with tabulated tails, accurate where log-gammas of large counts are not)."""
    def c(v):
        return _const(v, dt)

    one, half = c(1.0), c(0.5)
    stddev = ew.sqrt(ew.mul(ew.mul(count, q), ew.sub(one, q)))
    b = ew.add(c(1.15), ew.mul(c(2.53), stddev))
    a = ew.add(ew.add(c(-0.0873), ew.mul(c(0.0248), b)), ew.mul(c(0.01), q))
    center = ew.add(ew.mul(count, q), half)
    v_r = ew.sub(c(0.92), ew.div(c(4.2), b))
    r = ew.div(q, ew.sub(one, q))
    alpha = ew.mul(ew.add(c(2.83), ew.div(c(5.1), b)), stddev)
    m = ew.floor(ew.mul(ew.add(count, one), q))
    n_m = ew.add(ew.sub(count, m), one)
    at_mode = ew.add(ew.add(ew.mul(ew.add(m, half), ew.log(ew.div(ew.add(m, one),
                                                                   ew.mul(r, n_m)))),
                            _stirling_tail(m)), _stirling_tail(ew.sub(count, m)))

    def body(state):
        i, out, accepted, k = state
        k, s0, s1 = _split_n(k, 3)
        u = ew.sub(_uniform(s0, shape, dt, 0.0, 1.0), half)
        v = _uniform(s1, shape, dt, 0.0, 1.0)
        us = ew.sub(half, ew.abs(u))
        kk = ew.floor(ew.add(ew.mul(ew.add(ew.div(ew.mul(c(2.0), a), us), b), u), center))
        squeeze = ew.and_(ew.ge(us, c(0.07)), ew.le(v, v_r))
        outside = ew.or_(ew.lt(kk, c(0.0)), ew.gt(kk, count))
        log_v = ew.log(ew.div(ew.mul(v, alpha), ew.add(ew.div(a, ew.mul(us, us)), b)))
        n_k = ew.add(ew.sub(count, kk), one)
        bound = ew.add(ew.add(at_mode, ew.mul(ew.add(count, one), ew.log(ew.div(n_m, n_k)))),
                       ew.mul(ew.add(kk, half), ew.log(ew.div(ew.mul(r, n_k),
                                                              ew.add(kk, one)))))
        bound = ew.sub(ew.sub(bound, _stirling_tail(kk)),
                       _stirling_tail(ew.sub(count, kk)))
        accept = ew.or_(squeeze, ew.and_(ew.not_(outside), ew.le(log_v, bound)))
        # as JAX's: a lane accepted again while others still loop takes the new proposal
        out = ew.select(accept, kk, out)
        return ew.add(i, _const(1, dtypes.int32)), out, ew.or_(accepted, accept), k

    def cond(state):
        i, _, accepted, _ = state
        return ew.and_(fnp.any(ew.not_(accepted)), ew.lt(i, max_iters))

    init = (_const(0, dtypes.int32), st.full(shape, -1.0, dt),
            st.full(shape, False, dtypes.bool_), data)
    return lax.while_loop(cond, body, init)[1]


def _inexact_param_dtype(*params) -> np.dtype:
    """The dtype JAX computes a sampler's parameters in (promote_dtypes_inexact): their
    promoted dtype when it is a float, else `dtypes.to_inexact`'s (Python scalars are weak)."""
    arrs = [fnp.asarray(v) for v in params]
    common = fnp.result_type(*arrs)
    return np.dtype(common) if dtypes.is_float(common) else dtypes.to_inexact(common)


def _binomial(data, n, p, shape, dt, cdt=None) -> Array:
    # JAX's _binomial step for step (one key for both samplers, its edge values), so that
    # a key gives JAX's draws. JAX computes in the dtype of p (`cdt`: the uniforms are
    # drawn in it) and only the samples take the requested dtype `dt`.
    out_dt, dt = dt, (dt if cdt is None else cdt)
    count = _full_to(_float_param(n, dt), shape)
    prob = _full_to(_float_param(p, dt), shape)
    one, zero = _const(1.0, dt), _const(0.0, dt)
    p_lt_half = ew.lt(prob, _const(0.5, dt))
    q = ew.select(p_lt_half, prob, ew.sub(one, prob))
    count_nan_or_neg = ew.or_(ew.ne(count, count), ew.lt(count, zero))
    count_inf = ew.eq(ew.abs(count), _const(np.inf, dt))
    q_is_nan = ew.ne(q, q)
    q_l_0 = ew.lt(q, zero)
    q = ew.select(ew.or_(q_is_nan, q_l_0), st.full(shape, 0.01, dt), q)
    use_inversion = ew.or_(count_nan_or_neg, ew.le(ew.mul(count, q), _const(10.0, dt)))
    # A fractional count is floored, as NumPy's and JAX's binomial do.
    count = ew.floor(count)
    count_inv = ew.select(use_inversion, count, st.full(shape, 0.0, dt))
    count_btrs = ew.select(use_inversion, st.full(shape, 1e4, dt), count)
    q_btrs = ew.select(use_inversion, st.full(shape, 0.5, dt), q)
    max_iters = _const(np.iinfo(np.int32).max, dtypes.int32)
    k = ew.select(use_inversion,
                  _binomial_inversion(data, count_inv, q, shape, dt, max_iters),
                  _binomial_btrs(data, count_btrs, q_btrs, shape, dt, max_iters))
    k = _to(k, out_dt)
    invalid = ew.or_(ew.or_(q_l_0, q_is_nan), count_nan_or_neg)
    k = ew.select(invalid, st.full(shape, np.nan, out_dt), k)
    k = ew.select(ew.and_(count_inf, ew.not_(invalid)), st.full(shape, np.inf, out_dt), k)
    keep = ew.or_(ew.or_(p_lt_half, count_nan_or_neg), ew.or_(q_is_nan, count_inf))
    return ew.select(keep, k, ew.sub(_to(count, out_dt), k))


def binomial(key, n, p, shape=None, dtype=None) -> Array:
    """Binomial(n, p) counts, as floats of `dtype` (as JAX). Exact samplers, as JAX's: for
    n * min(p, 1 - p) <= 10 the count of geometric waiting times that fit in n trials
    (inversion), above it Hormann's BTRS rejection; p > 1/2 samples n - Binomial(n, 1 - p).
    A fractional n is floored; NaN for a negative or NaN n or a p outside [0, 1], inf for
    an infinite n (JAX's values; the same key gives JAX's draws)."""
    data, _ = _check_key("binomial", key)
    dt = _float_dtype(dtype, "binomial")
    shape = _broadcast_shape("binomial", shape, n, p)
    cdt = _inexact_param_dtype(p)
    return _binomial(data, ew.stop_gradient(_float_param(n, cdt)),
                     ew.stop_gradient(_float_param(p, cdt)), shape, dt, cdt)


def multinomial(key, n, p, *, shape=None, dtype=None, unroll=1) -> Array:
    """Multinomial(n, p) counts over p's last axis (of length k), shape `shape + (k,)`
    (`shape` defaults to p.shape[:-1]): one binomial per category in turn, of the trials
    left, with the probability conditioned on the categories not yet drawn (as JAX, by
    `lax.scan` over the categories; `unroll` is passed on). Floats of `dtype`."""
    data, _ = _check_key("multinomial", key)
    out_dt = _float_dtype(dtype, "multinomial")
    # JAX draws in the promoted dtype of n and p and casts the counts to `dtype` at the end
    dt = _inexact_param_dtype(n, p)
    prob = fnp.asarray(p)
    if prob.ndim < 1:
        raise ValueError(f"random.multinomial: p must have ndim >= 1 (categories on its last "
                         f"axis), got shape {prob.shape}")
    prob = ew.stop_gradient(_float_param(prob, dt))
    k = prob.shape[-1]
    if shape is None:
        shape = prob.shape[:-1]
    else:
        shape = _broadcast_shape("multinomial", shape, n, np.empty(prob.shape[:-1]))
    count = _full_to(ew.stop_gradient(_float_param(n, dt)), shape)
    prob = fnp.moveaxis(_full_to(prob, shape + (k,)), -1, 0)
    remaining = fnp.flip(fnp.cumsum(fnp.flip(prob, 0), axis=0), 0)
    ratios = fnp.divide(prob, fnp.where(fnp.equal(remaining, 0.0), _const(1.0, dt),
                                        remaining))
    ratios = fnp.clip(ratios, 0.0, 1.0)
    keys = _split(data, (k,))

    def step(left, xs):
        ratio, sub = xs
        drawn = _binomial(sub, left, ratio, shape, dt)
        return fnp.subtract(left, drawn), drawn

    _, counts = lax.scan(step, count, (ratios, keys), unroll=unroll)
    return _to(fnp.moveaxis(counts, 0, -1), out_dt)


# The public draws compile when they recur (`_draw_compiled`).
for _name in ("split", "fold_in", "bits", "uniform", "normal", "truncated_normal", "lognormal",
              "multivariate_normal", "orthogonal", "bernoulli", "rademacher", "randint",
              "permutation", "choice", "gumbel", "categorical", "exponential", "laplace",
              "logistic", "cauchy", "pareto", "gamma", "loggamma", "beta", "dirichlet", "t",
              "chisquare", "poisson", "rayleigh", "maxwell", "double_sided_maxwell",
              "weibull_min", "wald", "triangular", "f", "generalized_normal", "ball",
              "geometric", "binomial", "multinomial"):
    globals()[_name] = _draw_compiled(globals()[_name])
del _name
