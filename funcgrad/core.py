"""The core: abstract values, primitives and their rule registries, the trace stack, `bind`,
the `Array` type (concrete `ArrayImpl` and abstract `Tracer`), and eager evaluation.

Transforms are interpreters stacked on a per-thread trace stack (JAX's design, as in autodidax):
`bind` finds the innermost trace among its arguments and lets it process the primitive.
"""
from __future__ import annotations

import itertools
import math
import operator
import threading
from contextlib import contextmanager
from typing import Any, NamedTuple
from collections.abc import Callable

import numpy as np

from . import config, dtypes

# ---------------------------------------------------------------------------------------
# Errors


class FuncgradError(Exception):
    """Base class of funcgrad's own errors."""


# JAX's error classes (jax.errors), with its hierarchy, so that a ported program's `except`
# clauses catch what they catch in JAX.
class JAXTypeError(FuncgradError, TypeError):
    """Base of the errors JAX raises as TypeError."""


class JAXIndexError(FuncgradError, IndexError):
    """Base of the errors JAX raises as IndexError."""


class ConcretizationTypeError(JAXTypeError):
    """A traced value was used where a concrete Python value is needed."""


class TracerBoolConversionError(ConcretizationTypeError):
    """bool() of a traced value (a Python `if`/`while` on it)."""


class TracerIntegerConversionError(JAXTypeError):
    """A traced value used as a Python integer index (`__index__`: `range(n)`, `lst[i]`)."""


class TracerArrayConversionError(JAXTypeError):
    """A traced value converted to a NumPy array."""


class NonConcreteBooleanIndexError(JAXIndexError):
    """A boolean mask index that is traced: the result's shape would depend on values."""


class UnexpectedTracerError(JAXTypeError):
    """A tracer used outside the transformation that made it (a leaked tracer)."""


class KeyReuseError(JAXTypeError):
    """JAX's error for a PRNG key used twice under its key-reuse checker (funcgrad has no
    such checker, so it never raises it; it exists for `except` clauses)."""


# What reading a traced value as a Python or NumPy value raises.
CONCRETE_VALUE_ERRORS = (ConcretizationTypeError, TracerIntegerConversionError,
                         TracerArrayConversionError, NonConcreteBooleanIndexError)


class ValueOrRuntimeError(FuncgradError, ValueError, RuntimeError):
    """A bad argument JAX reports as RuntimeError (an unknown convolution padding string,
    from XLA's parser) where NumPy's convention is ValueError: both `except` clauses
    catch it."""


class TypeOrValueError(FuncgradError, TypeError, ValueError):
    """An error JAX raises as TypeError at some entry points and as ValueError at others
    (shape mismatches: `x + y` gives TypeError, `jnp.where` ValueError; an unhashable
    static argument, ValueError, where Python's convention is TypeError): both `except`
    clauses catch it."""


# ---------------------------------------------------------------------------------------
# Abstract values


class ShapedArray:
    """Shape, dtype and weak-typedness of an array: what tracing knows about a value."""

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self._hash = hash((self.shape, self.dtype, self.weak_type))

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def update(self, shape=None, dtype=None, weak_type=None) -> ShapedArray:
        return ShapedArray(self.shape if shape is None else shape,
                           self.dtype if dtype is None else dtype,
                           self.weak_type if weak_type is None else weak_type)

    def strip_weak(self) -> ShapedArray:
        return ShapedArray(self.shape, self.dtype, False)

    def str_short(self, short_dtypes: bool = False, mesh_axis_types: bool = False) -> str:
        """`float32[2,3]` (JAX's); `f32[2,3]` with short_dtypes, as programs print."""
        name = dtypes.short_name(self.dtype) if short_dtypes else self.dtype.name
        return f"{name}[{','.join(map(str, self.shape))}]"

    def short(self) -> str:
        """`f32[2,3]`: the compact form funcgrad's messages and printed programs use."""
        return f"{dtypes.short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def _key(self):
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other):
        return self is other or (isinstance(other, ShapedArray) and
                                 self._hash == other._hash and self._key() == other._key())

    def __hash__(self):
        return self._hash

    def __str__(self):
        return ("~" if self.weak_type else "") + self.str_short()

    def __repr__(self):
        return f"ShapedArray({self.str_short()}{', weak_type=True' if self.weak_type else ''})"


# One ShapedArray object per distinct aval in jit's fast-path keys and outputs (bounded;
# cleared when full, which only costs identity hits).
_CANONICAL_AVALS: dict = {}
_CANONICAL_AVALS_MAX = 4096


def canonical_aval(a):
    """The one ShapedArray object equal to `a` (a non-ShapedArray aval: `a` itself)."""
    if type(a) is not ShapedArray:
        return a
    c = _CANONICAL_AVALS.get(a)
    if c is None:
        if len(_CANONICAL_AVALS) >= _CANONICAL_AVALS_MAX:
            _CANONICAL_AVALS.clear()
        c = _CANONICAL_AVALS[a] = a
    return c


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    return ShapedArray(aval.shape, aval.dtype, aval.weak_type)


# ---------------------------------------------------------------------------------------
# Primitives and their rule registries (all registrations of a primitive sit beside its
# definition; see docs/adding-a-primitive.md)


class Primitive:
    """A primitive operation of the IR. Arrays are positional, parameters keyword-only."""

    def __init__(self, name: str, multiple_results: bool = False):
        self.name = name
        self.multiple_results = multiple_results
        self.debug_check = True     # eager outputs checked under debug_nans/debug_infs

    def bind(self, *args, **params):
        return bind(self, *args, **params)

    def __repr__(self):
        return self.name


shape_rules: dict[Primitive, Callable] = {}
impl_rules: dict[Primitive, Callable] = {}
jvp_rules: dict[Primitive, Callable] = {}
transpose_rules: dict[Primitive, Callable] = {}
batch_rules: dict[Primitive, Callable] = {}
all_primitives: dict[str, Primitive] = {}

# Primitives that need no rule of a kind (coverage test reads these).
non_differentiable: set[Primitive] = set()
non_linear: set[Primitive] = set()


def new_primitive(name: str, multiple_results: bool = False) -> Primitive:
    if name in all_primitives:
        raise ValueError(f"primitive {name} defined twice")
    p = Primitive(name, multiple_results)
    all_primitives[name] = p
    return p


# ---------------------------------------------------------------------------------------
# The trace stack


class MainTrace:
    __slots__ = ("level", "trace_type", "global_data")

    def __init__(self, level, trace_type, global_data):
        self.level = level
        self.trace_type = trace_type
        self.global_data = global_data

    def __repr__(self):
        return f"MainTrace({self.level}, {self.trace_type.__name__})"


class _TraceState(threading.local):
    """The interpreter stack and the dynamic (staging) trace, per thread as in JAX: a
    function traced in one thread never captures another thread's operations, and a tracer
    that reaches another thread is reported as leaked."""

    def __init__(self):
        self.stack: list[MainTrace] = []
        self.dynamic: MainTrace | None = None


_state = _TraceState()


def tracing() -> bool:
    """Whether a transform is active in this thread (False: operations run eagerly)."""
    state = _state
    return bool(state.stack) or state.dynamic is not None


@contextmanager
def new_main(trace_type, global_data=None):
    stack = _state.stack
    main = MainTrace(len(stack), trace_type, global_data)
    stack.append(main)
    try:
        yield main
    finally:
        stack.pop()


def main_is_live(main: MainTrace) -> bool:
    stack = _state.stack
    return main.level < len(stack) and stack[main.level] is main


class Trace:
    def __init__(self, main: MainTrace):
        self.main = main

    def pure(self, val):
        raise NotImplementedError

    def lift(self, val):
        return self.pure(val)

    def process_primitive(self, primitive, tracers, params):
        raise NotImplementedError

    def to_concrete(self, tracer):
        return None


# ---------------------------------------------------------------------------------------
# Arrays


class Array:
    """Base of funcgrad arrays: concrete `ArrayImpl` values and abstract `Tracer`s.

    Immutable: `x[i] = v` raises; use `x.at[i].set(v)`. Operators and methods are attached by
    `funcgrad.numpy` (they are NumPy functions)."""

    __array_priority__ = 100
    __slots__ = ()

    aval: ShapedArray
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    ndim = property(lambda self: self.aval.ndim)
    size = property(lambda self: self.aval.size)
    weak_type = property(lambda self: self.aval.weak_type)

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object (a 0-d funcgrad array)")
        return self.shape[0]

    def __setitem__(self, idx, value):
        raise TypeError(
            "funcgrad arrays are immutable: `x[idx] = y` is not supported. Use "
            "`x = x.at[idx].set(y)` (or .add/.mul/.min/.max) to get an updated copy.")

    def __iter__(self):
        if not self.shape:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    __hash__ = None  # type: ignore[assignment]


class ArrayImpl(Array):
    """A concrete array: a read-only buffer on a backend plus its abstract value."""

    __slots__ = ("aval", "_value", "_backend", "_deleted", "_addr", "_host")

    def __init__(self, value, aval: ShapedArray | None = None, backend=None):
        if aval is None:
            value = np.asarray(value)
            aval = ShapedArray(value.shape, value.dtype, False)
        self.aval = aval
        self._value = value
        self._backend = backend
        self._deleted = False
        self._addr = None
        self._host = None      # a device array's host copy, once `copy_to_host_async` ran

    def _host_value(self) -> np.ndarray:
        if self._deleted:
            if self._deleted == "donated":
                raise RuntimeError(
                    f"Array {self.aval.short()} was donated (donate_argnums of a jitted "
                    "function, or device_put(donate=True)) and its buffer has been reused; it "
                    "can no longer be used. Keep a copy if you need it.")
            raise RuntimeError(f"Array {self.aval.short()} was deleted (Array.delete()); "
                               "it can no longer be used")
        if self._backend is not None:
            if self._host is not None:
                return self._host()
            return self._backend.to_host(self._value)
        return self._value

    def __array__(self, dtype=None, copy=None):
        v = self._host_value()
        if dtype is not None and np.dtype(dtype) != v.dtype:
            return v.astype(dtype)
        if copy:
            return v.copy()
        return v

    def __float__(self):
        return float(self._scalar("float"))

    def __int__(self):
        return int(self._scalar("int"))

    def __index__(self):
        if self.ndim != 0 or not (dtypes.is_int(self.dtype) or dtypes.is_bool(self.dtype)):
            raise TypeError(f"only integer scalar arrays can be converted to a scalar index; "
                            f"this array is {self.aval.short()} (index with "
                            "`int(x[0])`, or use the array itself as an index of an array)")
        return operator.index(self._scalar("index"))

    def __bool__(self):
        if self.size != 1:
            # (ValueError, as NumPy's and JAX's: `except ValueError` code catches it)
            raise ValueError(
                f"The truth value of an empty array is ambiguous (shape {self.shape}); use "
                f"a.size > 0 to check that it is not empty" if self.size == 0 else
                f"The truth value of an array with more than one element is ambiguous "
                f"(shape {self.shape}); use a.any() or a.all()")
        return bool(self._scalar("bool"))

    def __complex__(self):
        return complex(self._scalar("complex"))

    def _scalar(self, what):
        v = self._host_value()
        if v.size != 1:
            raise TypeError(f"only size-1 arrays can be converted to Python {what}s; this "
                            f"array has shape {self.shape}")
        return v.reshape(()).item()

    def item(self, *args):
        """The element as a Python scalar: of a size-1 array without arguments; else at a
        flat index `item(i)`, or a multi-index `item(i, j)` / `item((i, j))` (NumPy's)."""
        if not args:
            return self._scalar("scalar")
        v = self._host_value()
        try:
            return v.item(*args)
        except (IndexError, ValueError, TypeError) as e:
            raise type(e)(f"Array.item{args}: {e} (an array of shape {self.shape})") from None

    def tolist(self):
        return self._host_value().tolist()

    def block_until_ready(self):
        if self._backend is not None:
            self._backend.block_until_ready(self._value)
        return self

    def _needs_wait(self) -> bool:
        return self._backend is not None

    def _check_alive(self) -> None:
        if self._deleted:
            self._host_value()        # raises the deleted (or donated) array's error

    def is_deleted(self) -> bool:
        return bool(self._deleted)

    def _new_handle(self) -> ArrayImpl:
        """Another Array of the same (read-only) buffer: what copies return. The buffer is
        not copied, but the new array lives on when this one is deleted or donated (a
        donated buffer that another array shares is never written; see the C backend's
        `_sole_buffers`)."""
        if self._deleted:
            return self
        new = ArrayImpl(self._value, self.aval, self._backend)
        new._host = self._host
        return new

    def delete(self, _why: str = "deleted"):
        """Free the array's buffer; using the array afterwards raises."""
        self._deleted = _why
        self._value = None
        self._addr = None
        self._host = None

    @property
    def backend(self) -> str:
        return "reference" if self._backend is None else self._backend.name

    def __repr__(self):
        if self._deleted:
            return f"Array(<deleted>, shape={self.shape}, dtype={self.dtype})"
        v = self._host_value()
        body = np.array2string(v, separator=", ", prefix="Array(")
        # (NumPy and JAX name an empty array's shape: its body, [], does not show it)
        shape = f", shape={v.shape}" if v.size == 0 and v.ndim else ""
        extra = ", weak_type=True" if self.weak_type else ""
        return f"Array({body}{shape}, dtype={self.dtype}{extra})"

    def __str__(self):
        return str(self._host_value())

    def __format__(self, spec):
        if self.ndim == 0:
            # NumPy's scalar formats it, as in JAX: f"{x}" of a float32 0.1 is NumPy's
            # "0.10000000149011612" (the float's digits), str(x) is "0.1"
            return format(self._host_value()[()], spec)
        return format(str(self), spec)

    def __reduce__(self):
        return (_rebuild_array, (np.asarray(self), self.weak_type))

    def __dlpack__(self, *a, **k):
        return np.asarray(self).__dlpack__(*a, **k)

    def __dlpack_device__(self):
        """Where `__dlpack__`'s tensor lives: host memory (kDLCPU, device 0); an OpenCL
        array is exported as a host copy. `torch.from_dlpack` asks for it first."""
        return (1, 0)


_symbolic_zeros: dict = {}


def symbolic_zero(dtype) -> ArrayImpl:
    """The scalar zero AD uses for an absent tangent or cotangent (JAX's symbolic `Zero`).

    Staged programs keep it as a literal marked `symbolic_zero`, which lets the optimiser
    drop the arithmetic done on it (`x * zero`, `dot(zero, w)`) as JAX's AD never performs
    it. A zero written by the user is an ordinary value: `nan * 0.0` stays nan."""
    dt = np.dtype(dtype)
    z = _symbolic_zeros.get(dt)
    if z is None:
        v = np.zeros((), dt)
        v.flags.writeable = False
        z = _symbolic_zeros.setdefault(dt, ArrayImpl(v, ShapedArray((), dt, False)))
    return z


def is_symbolic_zero(x) -> bool:
    return type(x) is ArrayImpl and _symbolic_zeros.get(x.aval.dtype) is x


def _rebuild_array(value, weak):
    v = np.asarray(value)
    return ArrayImpl(v, ShapedArray(v.shape, v.dtype, weak))


class Tracer(Array):
    """An abstract value flowing through a transform's trace."""

    __slots__ = ("_trace",)

    def full_lower(self):
        return self

    def _concrete_or_raise(self, what: str, error=None):
        val = self._trace.to_concrete(self)
        if val is None:
            raise (error or ConcretizationTypeError)(
                f"Abstract tracer value {self.aval.short()} encountered where a concrete "
                f"value is needed ({what}). Inside `jit`/`vmap`/`make_ir`, a traced value has no "
                "Python value: use `funcgrad.lax.cond`/`lax.switch`/`fnp.where` instead of a "
                "Python `if`, `lax.fori_loop`/`lax.while_loop`/`lax.scan` instead of a Python "
                "loop over it, or mark the argument static with `jit(f, static_argnums=...)`.")
        return val

    def __bool__(self):
        return bool(self._concrete_or_raise("bool() / Python `if`", TracerBoolConversionError))

    def __int__(self):
        return int(self._concrete_or_raise("int()"))

    def __float__(self):
        return float(self._concrete_or_raise("float()"))

    def __index__(self):
        return operator.index(self._concrete_or_raise("use as a Python index",
                                                      TracerIntegerConversionError))

    def __array__(self, dtype=None, copy=None):
        v = self._concrete_or_raise("np.asarray() / conversion to NumPy",
                                    TracerArrayConversionError)
        return np.asarray(v, dtype=dtype)

    def item(self, *args):
        return self._concrete_or_raise(".item()").item(*args)

    def tolist(self):
        return self._concrete_or_raise(".tolist()").tolist()

    def block_until_ready(self):
        return self

    def _needs_wait(self) -> bool:
        return False

    def __repr__(self):
        return f"Traced<{self.aval.short()}>with<{type(self._trace).__name__}>"


# ---------------------------------------------------------------------------------------
# Conversions


def is_scalar_like(x) -> bool:
    return isinstance(x, (bool, int, float, np.bool_, np.number)) and not isinstance(x, Array)


# Host values a transform's wrapper turns into arrays: NumPy arrays and scalars, Python
# numbers (not a funcgrad Array, which is one already).
HOST_VALUE_TYPES = (np.ndarray, np.generic, bool, int, float, complex)


def to_array(x, dtype=None) -> Array:
    """`x` as a funcgrad Array: Python scalars become weakly-typed 0-d arrays."""
    if isinstance(x, Array):
        return x
    if isinstance(x, (bool, int, float, complex)) and not isinstance(x, np.generic):
        if dtype is None:
            dt = dtypes.python_scalar_dtype(x)
            if isinstance(x, int) and not isinstance(x, bool) and dtypes.is_int(dt):
                info = dtypes.iinfo(dt)
                if not info.min <= x <= info.max:
                    raise OverflowError(f"Python int {x} too large to convert to {dt}")
        else:
            dt = dtypes.canonicalize_value(dtype)
        # NumPy refuses a Python int outside an explicit dtype's range (OverflowError) and
        # wraps it into ml_dtypes' int4, ...: JAX converts with the same np.asarray.
        # (A Python bool is strong, as in JAX: bool is the lattice's bottom.)
        return ArrayImpl(np.asarray(x, dt), ShapedArray((), dt, type(x) is not bool))
    if isinstance(x, (list, tuple)) and any(isinstance(e, Array) for e in _flat_seq(x)):
        raise TypeError("internal: use funcgrad.numpy.asarray for sequences of arrays")
    v = np.asarray(x)
    numpy_value = isinstance(x, (np.ndarray, np.generic))
    if dtype is not None:
        dt = dtypes.canonicalize(dtype)
    elif v.dtype == np.float64 and not numpy_value:
        dt = dtypes.DEFAULT_FLOAT
    elif v.dtype == np.int64 and not numpy_value:
        dt = dtypes.DEFAULT_INT
    else:
        dt = dtypes.canonicalize_value(v.dtype)
    # A NumPy array is cast (wrapping, as JAX's device_put does); anything else (lists of
    # Python scalars) is converted straight to the dtype, as JAX's np.asarray(object, dtype)
    # is: a Python int out of its range raises OverflowError instead of wrapping, and 2**31
    # becomes float32 2147483648.0, not int32's -2147483648 first.
    v = np.array(v if numpy_value else x, dtype=dt, order="C")
    v.flags.writeable = False
    return ArrayImpl(v, ShapedArray(v.shape, dt, False))


def _flat_seq(x):
    for e in x:
        if isinstance(e, (list, tuple)):
            yield from _flat_seq(e)
        else:
            yield e


def get_aval(x) -> ShapedArray:
    if isinstance(x, Array):
        return x.aval
    return to_array(x).aval


# ---------------------------------------------------------------------------------------
# bind


def bind(prim: Primitive, *args, **params):
    top = find_top_trace(args)
    tracers = [full_raise(top, a) for a in args]
    outs = top.process_primitive(prim, tracers, params)
    if prim.multiple_results:
        return [full_lower(o) for o in outs]
    return full_lower(outs)


def bind1(prim, *args, **params):
    return bind(prim, *args, **params)


@contextmanager
def new_dynamic(main: MainTrace):
    state = _state
    prev = state.dynamic
    state.dynamic = main
    try:
        yield
    finally:
        state.dynamic = prev


def dynamic_trace_active() -> bool:
    return _state.dynamic is not None


def find_top_trace(xs) -> Trace:
    top_main = _state.dynamic
    for x in xs:
        if isinstance(x, Tracer):
            m = x._trace.main
            if not main_is_live(m):
                raise _leaked_tracer_error(x)
            if top_main is None or m.level > top_main.level:
                top_main = m
    if top_main is None:
        return EvalTrace(None)
    return top_main.trace_type(top_main)


def _leaked_tracer_error(x):
    return UnexpectedTracerError(
        f"Encountered an escaped tracer {x.aval.short()} from a transform "
        f"({type(x._trace).__name__}) that has already finished: a value computed inside a "
        "transformed function (jit/grad/vmap/scan body) was stored outside it (e.g. in a global "
        "or a Python list) and used later. Return it from the function instead.")


def full_raise(trace: Trace, val):
    if not isinstance(val, Tracer):
        return trace.pure(to_array(val) if not isinstance(val, Array) else val)
    if not main_is_live(val._trace.main):
        raise _leaked_tracer_error(val)
    level = trace.main.level if trace.main is not None else -1
    vlevel = val._trace.main.level
    if val._trace.main is trace.main:
        return val
    if vlevel < level:
        return trace.lift(val)
    raise UnexpectedTracerError(
        f"Can't lift a tracer of level {vlevel} to level {level}: a tracer leaked between "
        "nested transforms.")


def full_lower(val):
    if isinstance(val, Tracer):
        return val.full_lower()
    return val


# ---------------------------------------------------------------------------------------
# Eager evaluation


# How eager operations find their backend: `funcgrad.backends` registers itself here when
# it is imported (core sits below the backends and never imports them).
_backends: dict = {"of": None, "get": None}


def register_backends(backend_of: Callable, get_backend: Callable) -> None:
    """Called by `funcgrad.backends`: `backend_of(arrays, prim)` picks the backend of an
    eager operation, `get_backend(name)` returns a backend by name (None: the default)."""
    _backends["of"], _backends["get"] = backend_of, get_backend


def get_backend(name=None):
    """The backend called `name` (None: the default backend)."""
    return _backends["get"](name)


def eager_backend(arrays):
    """The backend an eager operation on `arrays` runs on (theirs, else the default)."""
    return _backends["of"](arrays, None)


_eager_avals: dict = {}     # (primitive, operand avals) -> result aval(s), no parameters


class EvalTrace(Trace):
    """Evaluates primitives on concrete arrays with the arrays' backend."""

    def pure(self, val):
        return val

    lift = pure

    def process_primitive(self, primitive, tracers, params):
        avals = [t.aval for t in tracers]
        if params:
            out_avals = shape_rules[primitive](*avals, **params)
        else:
            # (an elementwise operation: its result's aval, remembered by its operands')
            key = (primitive, *avals)
            out_avals = _eager_avals.get(key)
            if out_avals is None:
                out_avals = shape_rules[primitive](*avals)
                if len(_eager_avals) >= 4096:
                    _eager_avals.clear()
                _eager_avals[key] = out_avals
        backend = _backends["of"](tracers, primitive)
        outs = backend.execute_primitive(primitive, tracers, params, out_avals)
        if _debug_checks[0] and primitive.debug_check:
            check_finite(outs if primitive.multiple_results else [outs], primitive.name)
        return outs


# ---------------------------------------------------------------------------------------
# jax_debug_nans / jax_debug_infs

_debug_checks = [False]     # debug_nans or debug_infs on (read on every eager operation)
_debug_flags = {"nans": bool(config.read("debug_nans")),
                "infs": bool(config.read("debug_infs"))}


def _set_debug_flag(kind, value):
    _debug_flags[kind] = bool(value)
    _debug_checks[0] = _debug_flags["nans"] or _debug_flags["infs"]


_set_debug_flag("nans", _debug_flags["nans"])
config.on_update("debug_nans", lambda v: _set_debug_flag("nans", v))
config.on_update("debug_infs", lambda v: _set_debug_flag("infs", v))


def debug_checks_on() -> bool:
    return _debug_checks[0]


def check_finite(arrays, what: str) -> None:
    """With `debug_nans`/`debug_infs` on: FloatingPointError when a float array holds nan/inf
    (JAX's message)."""
    for a in arrays:
        if not isinstance(a, ArrayImpl) or not dtypes.is_float(a.dtype):
            continue
        v = a._host_value()
        if _debug_flags["nans"] and np.isnan(v).any():
            raise FloatingPointError(f"invalid value (nan) encountered in {what}")
        if _debug_flags["infs"] and np.isinf(v).any():
            raise FloatingPointError(f"invalid value (inf) encountered in {what}")


# ---------------------------------------------------------------------------------------
# Helpers shared by the transforms


def safe_map(f, *args):
    n = len(args[0])
    for a in args[1:]:
        assert len(a) == n, f"length mismatch: {list(map(len, args))}"
    return list(map(f, *args))


def safe_zip(*args):
    n = len(args[0])
    for a in args[1:]:
        assert len(a) == n, f"length mismatch: {list(map(len, args))}"
    return list(zip(*args))


def split_list(xs, sizes):
    out, i = [], 0
    for s in sizes:
        out.append(list(xs[i:i + s]))
        i += s
    out.append(list(xs[i:]))
    return out


_counter = itertools.count()


def fresh_id() -> int:
    return next(_counter)


class Partial(NamedTuple):
    fun: Callable
    args: tuple


def unzip2(pairs):
    a, b = [], []
    for x, y in pairs:
        a.append(x)
        b.append(y)
    return a, b


def concrete_value(x) -> Any:
    """The concrete NumPy value of `x`, or None if `x` is abstract."""
    if isinstance(x, ArrayImpl):
        return np.asarray(x)
    if isinstance(x, Tracer):
        return x._trace.to_concrete(x)
    if isinstance(x, (np.ndarray, np.generic, bool, int, float)):
        return np.asarray(x)
    return None
