"""jax.numpy's `ufunc` class and `frompyfunc`: a scalar function lifted to broadcasting
arrays, with NumPy's ufunc methods (`outer`, `reduce`, `accumulate`, `at`, `reduceat`)
built on `lax.scan`, as JAX builds them, so they trace under jit and differentiate."""
from __future__ import annotations

import operator

import numpy as _np

from .. import dtypes as _dt
from .. import numpy as _fnp
from ..core import Tracer
from ._creation import _axis


class ufunc:  # noqa: N801  (jax.numpy's name)
    """A universal function over funcgrad arrays (JAX's `jax.numpy.ufunc`).

    `func` takes `nin` scalars and returns `nout` scalars (a tuple when nout > 1); calling
    the ufunc maps it over its broadcast array arguments (as `vectorize`). `identity` is
    the value `reduce` starts from when the reduction is empty or masked by `where`.
    `reduce`, `accumulate`, `outer`, `at` and `reduceat` need nin == 2 and nout == 1
    (`at` also takes nin == 1), as in JAX."""

    def __init__(self, func, /, nin, nout, *, name=None, nargs=None, identity=None,
                 call=None, reduce=None, accumulate=None, at=None, reduceat=None):
        if not callable(func):
            raise TypeError(f"ufunc: func must be callable, got {type(func).__name__}")
        self._func = func
        self.nin = operator.index(nin)
        self.nout = operator.index(nout)
        self.nargs = self.nin if nargs is None else operator.index(nargs)
        self.identity = identity
        self.__name__ = name or getattr(func, "__name__", "ufunc")
        self.__doc__ = getattr(func, "__doc__", None)
        # Faster equivalents of the generic methods (JAX's: jnp.add.reduce is jnp.sum, ...)
        self._overrides = {"call": call, "reduce": reduce, "accumulate": accumulate,
                           "at": at, "reduceat": reduceat}

    def __repr__(self):
        return f"<funcgrad.numpy.ufunc '{self.__name__}'>"

    def __call__(self, *args, out=None, where=None):
        if out is not None:
            raise NotImplementedError(f"{self.__name__}: out= is not supported (funcgrad "
                                      "arrays are immutable)")
        if where is not None:
            raise NotImplementedError(f"{self.__name__}: where= is not supported in calls; "
                                      "use funcgrad.numpy.where on the result")
        if len(args) != self.nin:
            raise TypeError(f"{self.__name__}() takes {self.nin} positional arguments but "
                            f"{len(args)} were given")
        call = self._overrides["call"]
        return call(*args) if call is not None else _fnp.vectorize(self._func)(*args)

    def _binary(self, method):
        if self.nin != 2 or self.nout != 1:
            raise ValueError(f"{self.__name__}.{method} is only supported for binary ufuncs "
                             f"with one output (nin=2, nout=1), this one has nin={self.nin}, "
                             f"nout={self.nout}")

    def _operand(self, method, a, dtype, out):
        """The array a fold method works on: binary ufuncs only, no `out=`, cast to
        `dtype` when given."""
        self._binary(method)
        if out is not None:
            raise NotImplementedError(f"{self.__name__}.{method}: out= is not supported")
        arr = _fnp.asarray(a)
        return arr if dtype is None else arr.astype(dtype)

    def outer(self, A, B, /):
        """func(a, b) for every pair of an element a of A and b of B: shape A.shape +
        B.shape."""
        self._binary("outer")
        a, b = _fnp.asarray(A), _fnp.asarray(B)
        return self(_fnp.reshape(a, a.shape + (1,) * b.ndim), b)

    def _fold_dtype(self, arr):
        """The type a fold without `dtype=` carries, as JAX's: func's result type on two
        elements of arr's (logaddexp folds uint8 or bool input as float32; logical_and
        folds float16 as bool)."""
        cache = self.__dict__.setdefault("_fold_dtypes", {})    # (traced once per type)
        key = (arr.dtype, _dt.x64_enabled())
        if key not in cache:
            from .. import api

            one = _fnp.ones((), arr.dtype)
            cache[key] = api.eval_shape(_fnp.vectorize(self._func), one, one).dtype
        return cache[key]

    def _scan_axis(self, arr, carry, mask):
        """Every carry of folding func over arr's leading axis (positions where `mask` is
        false leave the carry unchanged)."""
        from .. import lax

        call = _fnp.vectorize(self._func)

        def step(c, xs):
            x, m = xs
            new = call(c, x).astype(c.dtype)
            new = new if m is None else _fnp.where(m, new, c)
            return new, new

        if mask is None:
            return lax.scan(lambda c, x: step(c, (x, None)), carry, arr)
        return lax.scan(step, carry, (arr, mask))

    def reduce(self, a, axis=0, dtype=None, out=None, keepdims=False, initial=None,
               where=None):
        """func folded over `axis` (None: all axes; a tuple: each in turn), starting from
        `initial` when given (else the first element). With `where`, masked-out elements
        are skipped; then `initial` or the ufunc's `identity` is needed."""
        arr = self._operand("reduce", a, dtype, out)
        if where is not None:
            if _fnp.asarray(where).dtype != _np.bool_:
                raise ValueError(f"{self.__name__}.reduce: where must be a boolean array, got "
                                 f"dtype {_fnp.asarray(where).dtype}")
            if initial is None and self.identity is None:
                raise ValueError(f"{self.__name__}.reduce: {self.__name__} has no identity, "
                                 "so a where= mask needs initial=")
        if self._overrides["reduce"] is not None:
            return self._overrides["reduce"](arr, axis=axis, keepdims=keepdims,
                                             initial=initial, where=where, dtype=dtype)
        if dtype is None:
            arr = arr.astype(self._fold_dtype(arr))
        mask = None if where is None else _fnp.broadcast_to(_fnp.asarray(where), arr.shape)
        if axis is None:
            axes = tuple(range(arr.ndim))
        elif isinstance(axis, (tuple, list)):
            axes = tuple(_axis(ax, arr.ndim, f"{self.__name__}.reduce") for ax in axis)
        else:
            axes = (_axis(axis, arr.ndim, f"{self.__name__}.reduce"),)
        start = initial if initial is not None else self.identity
        if mask is not None and start is None:
            raise ValueError(f"{self.__name__}.reduce: where= needs an initial value "
                             "(initial=, or a ufunc with an identity)")
        if not axes:
            return arr
        # Folding over one axis after another reduces every element of a fiber once.
        x = _fnp.moveaxis(arr, axes, tuple(range(len(axes))))
        lead = x.shape[:len(axes)]
        rest = x.shape[len(axes):]
        size = int(_np.prod(lead))
        x = _fnp.reshape(x, (size,) + rest)
        m = None if mask is None else _fnp.reshape(
            _fnp.moveaxis(mask, axes, tuple(range(len(axes)))), (size,) + rest)
        if initial is not None or m is not None:
            carry = _fnp.full(rest, start, x.dtype)
            result, _ = self._scan_axis(x, carry, m)
        else:
            if size == 0:
                if start is None:
                    raise ValueError(f"{self.__name__}.reduce: zero-size reduction with no "
                                     "identity (pass initial=)")
                result = _fnp.full(rest, start, x.dtype)
            else:
                result, _ = self._scan_axis(x[1:], x[0], None)
        if keepdims:
            for ax in sorted(axes):
                result = _fnp.expand_dims(result, ax)
        return result

    def accumulate(self, a, axis=0, dtype=None, out=None):
        """The running fold of func along `axis`: out[0] = a[0], out[i] = func(out[i-1],
        a[i])."""
        arr = self._operand("accumulate", a, dtype, out)
        if self._overrides["accumulate"] is not None:
            return self._overrides["accumulate"](arr, axis=axis, dtype=dtype)
        if dtype is None:
            arr = arr.astype(self._fold_dtype(arr))
        if axis is None:
            arr, axis = _fnp.ravel(arr), 0
        axis = _axis(axis, arr.ndim, f"{self.__name__}.accumulate")
        x = _fnp.moveaxis(arr, axis, 0)
        if x.shape[0] == 0:
            return arr
        _, rest = self._scan_axis(x[1:], x[0], None)
        return _fnp.moveaxis(_fnp.concatenate([x[:1], rest], axis=0), 0, axis)

    def at(self, a, indices, b=None, /, *, inplace=True):
        """`a` with func applied at `indices` (integers or integer arrays, one per leading
        axis), unbuffered: a repeated index applies func again to the updated value, as
        NumPy. JAX requires `inplace=False` and so does funcgrad."""
        if inplace:
            raise ValueError(f"{self.__name__}.at: funcgrad arrays are immutable; pass "
                             "inplace=False and use the returned array (as in JAX)")
        if self.nout != 1 or self.nin not in (1, 2) or (self.nin == 2) == (b is None):
            raise ValueError(f"{self.__name__}.at: needs nout=1 and nin=1 without b or "
                             f"nin=2 with b (this ufunc: nin={self.nin}, nout={self.nout})")
        if self._overrides["at"] is not None:
            return self._overrides["at"](_fnp.asarray(a), indices, b)
        from .. import lax

        arr = _fnp.asarray(a)
        idx = indices if isinstance(indices, tuple) else (indices,)
        if any(isinstance(i, (slice, type(Ellipsis))) or i is None for i in idx):
            raise NotImplementedError(f"{self.__name__}.at: only integer and integer-array "
                                      "indices are supported")
        idx = [_fnp.asarray(i) for i in idx]
        if any(not _np.issubdtype(i.dtype, _np.integer) for i in idx):
            raise TypeError(f"{self.__name__}.at: indices must be integers")
        if len(idx) > arr.ndim:
            raise IndexError(f"{self.__name__}.at: too many indices ({len(idx)}) for an "
                             f"array of rank {arr.ndim}")
        idx = _fnp.broadcast_arrays(*idx)
        idx_shape = idx[0].shape
        idx = [_fnp.ravel(i) for i in idx]
        n = idx[0].shape[0]
        tail = arr.shape[len(idx):]
        call = _fnp.vectorize(self._func)
        stacked = _fnp.stack(idx, axis=-1)
        if b is None:
            def step(x, pos):
                where_ = tuple(pos[k] for k in range(len(idx)))
                return x.at[where_].set(call(x[where_]).astype(x.dtype)), None

            out, _ = lax.scan(step, arr, stacked)
            return out
        # b broadcasts against a[indices], of shape indices' shape + the untouched axes.
        vals = _fnp.reshape(_fnp.broadcast_to(_fnp.asarray(b), idx_shape + tail),
                            (n,) + tail)

        def step2(x, xs):
            pos, v = xs
            where_ = tuple(pos[k] for k in range(len(idx)))
            return x.at[where_].set(call(x[where_], v).astype(x.dtype)), None

        out, _ = lax.scan(step2, arr, (stacked, vals))
        return out

    def reduceat(self, a, indices, axis=0, dtype=None, out=None):
        """func reduced over the slices a[indices[i]:indices[i+1]] along `axis` (the last
        to the end; where indices[i] >= indices[i+1], just a[indices[i]]), as NumPy.
        `indices` must be concrete."""
        self._binary("reduceat")
        if out is not None:
            raise NotImplementedError(f"{self.__name__}.reduceat: out= is not supported")
        if isinstance(indices, Tracer):
            raise TypeError(f"{self.__name__}.reduceat: indices must be concrete, got a "
                            "traced value")
        arr = _fnp.asarray(a)
        if dtype is not None:
            arr = arr.astype(dtype)
        axis = _axis(axis, arr.ndim, f"{self.__name__}.reduceat")
        ind = [int(i) for i in _np.ravel(_np.asarray(indices))]
        n = arr.shape[axis]
        if any(not 0 <= i < n for i in ind):
            raise IndexError(f"{self.__name__}.reduceat: index out of range for axis of "
                             f"length {n}: {ind}")
        parts = []
        for k, start in enumerate(ind):
            stop = ind[k + 1] if k + 1 < len(ind) else n
            if stop <= start:
                stop = start + 1
            piece = _fnp.take(arr, _fnp.arange(start, stop), axis=axis)
            if stop - start == 1:       # a lone element is itself, func never applied
                parts.append(piece)
                continue
            # in arr's dtype (`dtype`, else a's), as JAX's: uint8 pieces add as uint8
            parts.append(_fnp.expand_dims(self.reduce(piece, axis=axis, dtype=arr.dtype),
                                          axis))
        return _fnp.concatenate(parts, axis=axis)


def frompyfunc(func, /, nin, nout, *, identity=None):
    """A `ufunc` from a Python function of `nin` scalars returning `nout` values (JAX's
    `frompyfunc`; the function must be traceable by funcgrad)."""
    return ufunc(func, nin, nout, identity=identity)


# --- JAX's ufunc objects -------------------------------------------------------------------
# jnp.add, jnp.multiply, ... are ufuncs calling the plain functions, with JAX's identities
# and the reductions, cumulative functions and `.at` updates that compute their methods
# fast (jnp.add.reduce is jnp.sum, ...); the other methods fold with lax.scan.

def _reduction(name, takes_dtype=False):
    """fnp.sum-like `fnp.<name>(x, axis=, keepdims=, initial=, where=)` as a reduce; a
    `dtype` given to the ufunc method is the type sum/prod add in (uint8 stays uint8 and
    wraps, as JAX's; without it they widen small integers)."""
    def reduce(arr, *, axis, keepdims, initial, where, dtype):
        extra = {"dtype": dtype} if takes_dtype and dtype is not None else {}
        return getattr(_fnp, name)(arr, axis=axis, keepdims=keepdims, initial=initial,
                                   where=where, **extra)
    return reduce


def _bool_reduction(name, combine):
    """fnp.all/any (no `initial`): an initial value joins the result through `combine`."""
    def reduce(arr, *, axis, keepdims, initial, where, dtype):
        out = getattr(_fnp, name)(arr, axis=axis, keepdims=keepdims, where=where)
        if initial is not None:
            out = combine(out, _fnp.asarray(initial).astype(_np.bool_))
        return out if dtype is None else out.astype(dtype)     # JAX: dtype= is the result's
    return reduce


def _cumulative(name):
    return lambda arr, *, axis, dtype: getattr(_fnp, name)(arr, axis=axis, dtype=dtype)


def _at(method):
    return lambda arr, indices, b: getattr(arr.at[indices], method)(b)


def _binary(func, identity, reduce=None, accumulate=None, at=None):
    return ufunc(func, 2, 1, name=func.__name__, identity=identity, call=func, reduce=reduce,
                 accumulate=accumulate, at=at)


from ._elementwise import (  # noqa: E402
    add as _add, bitwise_and as _bitwise_and, bitwise_or as _bitwise_or,
    bitwise_xor as _bitwise_xor, logaddexp as _logaddexp, logical_and as _logical_and,
    logical_or as _logical_or, logical_xor as _logical_xor, maximum as _maximum,
    minimum as _minimum, multiply as _multiply, negative as _negative, subtract as _subtract,
)
from ._extra import logaddexp2 as _logaddexp2  # noqa: E402

add = _binary(_add, 0, _reduction("sum", True), _cumulative("cumsum"), _at("add"))
multiply = _binary(_multiply, 1, _reduction("prod", True), _cumulative("cumprod"), _at("multiply"))
subtract = _binary(_subtract, None, at=_at("subtract"))
maximum = _binary(_maximum, None, _reduction("max"))
minimum = _binary(_minimum, None, _reduction("min"))
logical_and = _binary(_logical_and, True, _bool_reduction("all", _logical_and))
logical_or = _binary(_logical_or, False, _bool_reduction("any", _logical_or))
logical_xor = _binary(_logical_xor, False)
bitwise_and = _binary(_bitwise_and, -1)
bitwise_or = _binary(_bitwise_or, 0)
bitwise_xor = _binary(_bitwise_xor, 0)
logaddexp = _binary(_logaddexp, -_np.inf)
logaddexp2 = _binary(_logaddexp2, -_np.inf)
negative = ufunc(_negative, 1, 1, name="negative", call=_negative)
