"""Types, shapes and input values of fuzz programs, and JAX's dtype rules.

Shapes are symbolic: every axis is a *dim id*. Dim 0 is the literal 1 (it broadcasts);
every other dim has one size per *instance* (instance 0 is the first call, instances 1 and 2
call the same jitted function again at new sizes: the size-generic path). An op whose
parameters depend on a concrete size (reshape, slicing, conv windows) *pins* its dims: their
sizes are then equal in every instance.

Every input array of every program is made by `make_input`, and every float64 program runs
inside `x64_scope(True)`: the two places to change when funcgrad's 64-bit switch lands.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools

import ml_dtypes
import numpy as np

N_INSTANCES = 3
ONE = 0

# Sizes drawn for a new dim: hypothesis shrinks towards the front of the list. 7, 9, 17, 33
# leave vector remainders; the big ones pass the OpenMP split threshold (1 << 15 trips).
SIZES = (2, 1, 3, 0, 4, 5, 7, 8, 9, 16, 17, 33, 64)
BIG_SIZES = (32768, 40000)

BOOL, I32, F16, F32, F64 = "bool", "int32", "float16", "float32", "float64"
BF16 = "bfloat16"
FLOATS = (F16, BF16, F32, F64)
# The 16-bit floats: JAX computes and accumulates them in float32 where it accumulates.
HALF = (F16, BF16)
NP = {BOOL: np.dtype(np.bool_), I32: np.dtype(np.int32), F16: np.dtype(np.float16),
      BF16: np.dtype(ml_dtypes.bfloat16),
      F32: np.dtype(np.float32), F64: np.dtype(np.float64), "int64": np.dtype(np.int64)}

# The dtypes of index inputs (values.index_values): every integer type, the 64-bit ones only
# in programs that run with 64-bit types on (x64_scope(True)). They are not in the value
# pool (generate.Builder.new_input): only the op an index input was made for reads it, so
# the promotion rules below need not know them.
INDEX_DTYPES = ("int8", "uint8", "int16", "uint16", I32, "uint32")
INDEX_DTYPES_X64 = INDEX_DTYPES + ("int64", "uint64")
for _name in INDEX_DTYPES_X64:
    NP.setdefault(_name, np.dtype(_name))
# Axis lengths longer than int8 (200) and uint8 (300) can hold: an index of a narrow type
# into such an axis reaches only part of it, and its negative values must be widened before
# they are counted from the end (int8(-5) on an axis of 300 read element 0 once).
LONG_SIZES = (200, 300)


def kind(dt) -> str:
    """np.dtype(dt).kind, but "f" for bfloat16 (ml_dtypes' dtypes have kind "V")."""
    dt = np.dtype(dt)
    return "f" if dt == NP[BF16] else dt.kind


def finfo(dt):
    """np.finfo, also for bfloat16 (NumPy's finfo does not know ml_dtypes' types)."""
    return ml_dtypes.finfo(dt)
# Weak (Python scalar) types, as JAX's lattice has them.
WEAK_INT, WEAK_FLOAT = "int*", "float*"


def is_float(dt: str) -> bool:
    return dt in FLOATS


def is_int(dt: str) -> bool:
    return dt in (I32, "int64")


@dataclasses.dataclass(frozen=True)
class Type:
    """An array type: dim ids (see the module docstring), dtype name, JAX weak-type flag."""
    dims: tuple
    dtype: str
    weak: bool = False

    @property
    def rank(self) -> int:
        return len(self.dims)

    def with_(self, **kw) -> Type:
        return dataclasses.replace(self, **kw)


class Dims:
    """The dim table of one program: a base dim has one size per instance; a derived dim is
    a function of other dims' sizes (a slice length, a concatenation), so pinning a base dim
    later keeps every derived size consistent."""

    def __init__(self):
        self.base: dict[int, list[int]] = {ONE: [1] * N_INSTANCES}
        self.derived: dict[int, tuple] = {}

    @property
    def ids(self) -> list[int]:
        return sorted(list(self.base) + list(self.derived))

    def new(self, sizes) -> int:
        i = len(self.base) + len(self.derived)
        self.base[i] = list(sizes)
        return i

    def derive(self, deps, fn) -> int:
        """A dim of size `fn(*sizes of deps)` in every instance."""
        i = len(self.base) + len(self.derived)
        self.derived[i] = (tuple(deps), fn)
        return i

    def __getstate__(self):
        """For pickling (a finding's dump): derived dims become base dims of their sizes,
        since their functions are lambdas of the generators. Pinning then no longer
        reaches a derived dim's operands; a dumped program is replayed, not regenerated."""
        state = dict(self.__dict__)
        state["base"] = {**self.base, **{d: self.all_sizes(d) for d in self.derived}}
        state["derived"] = {}
        return state

    def size(self, d: int, inst: int = 0) -> int:
        if d in self.base:
            return self.base[d][inst]
        deps, fn = self.derived[d]
        return int(fn(*[self.size(x, inst) for x in deps]))

    def all_sizes(self, d: int) -> list[int]:
        return [self.size(d, k) for k in range(N_INSTANCES)]

    def shape(self, dims, inst: int = 0) -> tuple:
        return tuple(self.size(d, inst) for d in dims)

    def pin(self, *dims) -> None:
        for d in dims:
            if d in self.base:
                s = self.base[d]
                self.base[d] = [s[0]] * N_INSTANCES
            else:
                self.pin(*self.derived[d][0])

    def pinned(self, d: int) -> bool:
        return len(set(self.all_sizes(d))) == 1

    def numel(self, dims) -> int:
        """Largest element count over the instances."""
        best = 0
        for k in range(N_INSTANCES):
            n = 1
            for s in self.shape(dims, k):
                n *= s
            best = max(best, n)
        return best


# ---------------------------------------------------------------------------------------
# JAX's type promotion over the dtypes we generate (jax._src.dtypes lattice): bool < int* <
# int32 ; int* < float* < float16 < float32 < float64 ; an integer joined with a float is
# that float; weak types materialise as the default int/float (64-bit only with x64).

_KIND = {BOOL: 0, I32: 1, "int64": 1, WEAK_INT: 1, F16: 2, BF16: 2, F32: 2, F64: 2,
         WEAK_FLOAT: 2}
_WIDTH = {BOOL: 1, I32: 32, "int64": 64, F16: 16, BF16: 16, F32: 32, F64: 64}


def default_int(x64: bool) -> str:
    return "int64" if x64 else I32


def default_float(x64: bool) -> str:
    return F64 if x64 else F32


def promote(types, x64: bool) -> tuple[str, bool]:
    """JAX's result dtype of mixing `types` ((dtype, weak) pairs, Python scalars as
    WEAK_INT/WEAK_FLOAT); returns (dtype, weak)."""
    strong = [d for d, w in types if not w and d not in (WEAK_INT, WEAK_FLOAT)]
    weak = [d for d, w in types if w or d in (WEAK_INT, WEAK_FLOAT)]
    top_weak = max((_KIND[d] for d in weak), default=-1)
    if not strong:
        return (default_int(x64) if top_weak == 1 else default_float(x64)
                if top_weak == 2 else BOOL), True
    out = strong[0]
    for d in strong[1:]:
        if {d, out} == set(HALF):          # float16 and bfloat16 meet at float32
            out = F32
        elif _KIND[d] > _KIND[out] or (_KIND[d] == _KIND[out] and _WIDTH[d] > _WIDTH[out]):
            out = d
    if top_weak > _KIND[out]:
        return (default_int(x64) if top_weak == 1 else default_float(x64)), True
    return out, False


def to_inexact(dt: str, x64: bool) -> str:
    """The float dtype JAX computes `sin(x)`/`x / y`/`mean(x)` in for an input of `dt`
    (jax._src.dtypes.to_inexact_dtype): bool and int32 give float32 even under x64; int64
    (a Python int under x64 too) gives the default float."""
    if is_float(dt):
        return dt
    return default_float(x64) if dt == "int64" else F32


# ---------------------------------------------------------------------------------------
# funcgrad-side helpers: the one place input arrays are created, and the x64 switch.

def make_input(value: np.ndarray):
    """The funcgrad array for one NumPy input (every fuzz input goes through here)."""
    import funcgrad.numpy as fnp
    return fnp.asarray(value)


def _read_x64() -> bool:
    import funcgrad
    reader = getattr(funcgrad.config, "read", None)
    if reader is not None:
        return bool(reader("jax_enable_x64"))
    return bool(funcgrad.config.jax_enable_x64)


def x64_supported() -> bool:
    try:
        _read_x64()
        return True
    except (KeyError, ValueError, AttributeError):
        return False


@contextlib.contextmanager
def _x64_raw(enabled: bool):
    import funcgrad
    prev = _read_x64()
    funcgrad.config.update("jax_enable_x64", enabled)
    try:
        yield
    finally:
        funcgrad.config.update("jax_enable_x64", prev)


_X64_OK: list = []


@contextlib.contextmanager
def x64_scope(enabled: bool):
    """Run float64 programs with JAX's x64 mode on once funcgrad has the switch; until then
    float64 is always available and this does nothing."""
    if not _X64_OK:
        _X64_OK.append(x64_supported())
    if not _X64_OK[0]:
        yield
        return
    with _x64_raw(enabled):
        yield


def x64_active(program_fdtype: str) -> bool:
    """Whether the dtype rules of a program of float dtype `program_fdtype` are JAX's x64
    rules (64-bit default int/float)."""
    if not _X64_OK:
        _X64_OK.append(x64_supported())
    return program_fdtype == F64 and _X64_OK[0]


# ---------------------------------------------------------------------------------------
# Input values. A style names a distribution; values come from a NumPy generator seeded by
# (seed, instance) so that a printed program can be regenerated exactly.

FLOAT_STYLES = ("normal", "special", "wide", "ties", "uniform", "tiny")
GRAD_STYLE = "grad"
INT_STYLES = ("small", "wide", "bits")
BOOL_STYLES = ("half", "mostly_true", "mostly_false")


def _specials(dt: np.dtype) -> np.ndarray:
    fi = finfo(dt)
    sub = float(fi.smallest_subnormal)
    return np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, sub, -sub, sub * 3, float(fi.tiny),
                     -float(fi.tiny), float(fi.max), -float(fi.max), float(fi.max) / 3,
                     1.0, -1.0, 0.5, 2.0], dtype=np.float64)


def gen_values(shape, dtype: str, style: str, seed: int, inst: int) -> np.ndarray:
    """Values of one input array (a NumPy array of `dtype`)."""
    rng = np.random.default_rng([seed, inst, 7])
    n = int(np.prod(shape))
    dt = NP[dtype]
    if dtype == BOOL:
        p = {"half": 0.5, "mostly_true": 0.9, "mostly_false": 0.1}.get(style, 0.5)
        return (rng.random(n) < p).reshape(shape)
    if dtype in (I32, "int64"):        # int64: an x64 program's index/count inputs
        if style == "wide":
            v = rng.integers(-2**31, 2**31, n, dtype=np.int64)
            pick = rng.random(n)
            edge = np.array([-2**31, 2**31 - 1, -1, 0, 1, -2**31 + 1], dtype=np.int64)
            v = np.where(pick < 0.3, edge[rng.integers(0, len(edge), n)], v)
        elif style == "bits":
            v = rng.integers(0, 40, n)
        else:
            v = rng.integers(-5, 6, n)
        return v.astype(dt).reshape(shape)
    if style == "grad":
        v = rng.uniform(0.25, 1.75, n) * rng.choice([-1.0, 1.0], n)
    elif style == "normal":
        v = rng.standard_normal(n)
    elif style == "uniform":
        v = rng.uniform(-3, 3, n)
    elif style == "ties":
        v = rng.integers(-3, 4, n).astype(np.float64) * 0.5
    elif style == "tiny":
        fi = finfo(dt)
        v = rng.standard_normal(n) * float(fi.tiny) * rng.choice([1e-3, 1, 64], n)
    elif style == "wide":
        top = np.log10(float(finfo(dt).max)) - 0.5
        v = 10.0 ** rng.uniform(-top, top, n) * rng.choice([-1.0, 1.0], n)
    else:  # special
        v = rng.standard_normal(n)
        sp = _specials(dt)
        pick = rng.random(n) < 0.35
        v = np.where(pick, sp[rng.integers(0, len(sp), n)], v)
    with np.errstate(over="ignore"):
        return v.astype(dt).reshape(shape)


def index_range(dtype: str, span=None) -> tuple[int, int]:
    """The smallest and largest value (inclusive) an index input of `dtype` may hold: the
    dtype's own range, cut to `span` (an op's range where its JAX semantics are not a quirk;
    see the generators in ops_array)."""
    info = np.iinfo(NP[dtype])
    lo, hi = int(info.min), int(info.max)
    if span is not None:
        lo, hi = max(lo, span[0]), min(hi, span[1])
    return lo, hi


def index_extremes(dtype: str, span=None) -> list[int]:
    """The extreme values of an index input of `dtype` (within `span`): its smallest and
    largest values and their neighbours, and for the unsigned types the first values that
    wrap negative when converted to int32 (2^31) and to int64 (2^63)."""
    lo, hi = index_range(dtype, span)
    out = [lo, lo + 1, hi, hi - 1]
    if NP[dtype].kind == "u":
        out += [2**31, 2**31 + 5, 2**32 - 1, 2**63 + 5, 2**63 - 1]
    return sorted({v for v in out if lo <= v <= hi})


def index_values(shape, bound: int, seed: int, inst: int, oob: bool, unique: bool = False,
                 dtype: str = I32, span=None, extremes: bool = False):
    """Indices of `dtype` into an axis of length `bound`: in range (negative ones included
    for the signed types), or, with `oob`, some past either end (JAX clamps gathers and
    drops scatters there), or, with `extremes`, some of the dtype's extreme values
    (`index_extremes`). Only values the dtype holds and `span` allows are drawn: an int8
    index into an axis of 300 reaches -128..127. With `unique`, no two indices name the same
    element (a position hit twice by `set` has no defined winner)."""
    rng = np.random.default_rng([seed, inst, 11])
    n = int(np.prod(shape))
    if dtype == I32 and span is None and not extremes:
        return _index_values_int32(rng, shape, n, bound, oob, unique)
    lo_t, hi_t = index_range(dtype, span)
    near = list(range(-bound - 3, -bound)) + list(range(bound, bound + 3)) if oob else []
    ext = index_extremes(dtype, span) if extremes else []
    if unique:
        pool = [v for v in list(range(-bound, bound)) + near if lo_t <= v <= hi_t]
        pool = np.asarray(pool, np.int64)
        chosen: list[int] = []
        used: set = set()

        def take(v):
            key = v % bound if (bound and -bound <= v < bound) else ("oob", v)
            if key not in used:
                used.add(key)
                chosen.append(v)
        for v in ext:
            if len(chosen) < n and rng.random() < 0.5:
                take(int(v))
        for v in rng.permutation(pool):
            if len(chosen) >= n:
                break
            take(int(v))
        fill = (v for v in itertools.chain(range(max(bound, lo_t), hi_t + 1),
                                           range(min(-bound - 1, hi_t), lo_t - 1, -1)))
        while len(chosen) < n:
            v = next(fill, None)
            if v is None:
                break
            if not (-bound <= v < bound):
                take(v)
        if len(chosen) < n:        # (the dtype has fewer values than the index has elements)
            chosen += chosen[:1] * (n - len(chosen))
        vals = [int(v) for v in rng.permutation(np.asarray(chosen, object))] if chosen else []
        return np.asarray(vals, NP[dtype]).reshape(shape)
    lo, hi = (-bound - 3, bound + 3) if oob else (-bound, bound)
    lo, hi = max(lo, lo_t), min(hi, hi_t + 1)
    if hi <= lo:
        v = np.full(n, min(max(0, lo_t), hi_t), np.int64).astype(object)
    else:
        v = rng.integers(lo, hi, n).astype(object)
    if ext:
        pick = rng.random(n) < 0.3
        e = np.asarray(ext, object)[rng.integers(0, len(ext), n)]
        v = np.where(pick, e, v)
    return np.asarray([int(x) for x in v], NP[dtype]).reshape(shape)


def _index_values_int32(rng, shape, n: int, bound: int, oob: bool, unique: bool):
    """int32 indices as drawn before the index dtypes (the same values for the same seed)."""
    if unique:
        pool = np.arange(-bound, bound) if bound else np.arange(0)
        if oob:
            pool = np.concatenate([pool, [bound, bound + 3, -bound - 1, -bound - 5]])
        # one index per element of the axis at most: a position hit twice by `set` has
        # no defined winner.
        chosen = []
        used = set()
        for v in rng.permutation(pool):
            if len(chosen) >= n:
                break
            key = v % bound if (bound and -bound <= v < bound) else ("oob", int(v))
            if key not in used:
                used.add(key)
                chosen.append(int(v))
        while len(chosen) < n:
            chosen.append(bound + 7 + len(chosen))
        return np.asarray(chosen, np.int32).reshape(shape)
    lo, hi = (-bound - 3, bound + 3) if oob else (-bound, bound)
    if hi <= lo:
        return np.zeros(shape, np.int32)
    return rng.integers(lo, hi, n).astype(np.int32).reshape(shape)
