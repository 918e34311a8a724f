"""Operators and methods of `Array`, defined as funcgrad.numpy functions."""
from __future__ import annotations

import numpy as np

from .. import numpy as _fnp
from ._indexing import _AtHelper, _getitem


def _operator_round(self, ndigits=None):
    """Python's round(): without ndigits the result is an integer array, as round() of a
    float gives an int (JAX's)."""
    out = _fnp.round(self, ndigits or 0)
    return out.astype(int) if ndigits is None else out


def _flat(self):
    raise NotImplementedError("funcgrad arrays have no .flat iterator (JAX's have none "
                              "either): use x.ravel() or x.flatten()")


def attach_array_methods(cls) -> None:
    """Give `cls` (core's Array) NumPy's operators and methods, as funcgrad.numpy functions
    (called at the end of the package's `__init__`, once they all exist)."""
    def binop(name, swap=False):
        f = getattr(_fnp, name)
        if swap:
            return lambda self, other: f(other, self)
        return lambda self, other: f(self, other)

    ops = {
        "__add__": binop("add"), "__radd__": binop("add", True),
        "__sub__": binop("subtract"), "__rsub__": binop("subtract", True),
        "__mul__": binop("multiply"), "__rmul__": binop("multiply", True),
        "__truediv__": binop("divide"), "__rtruediv__": binop("divide", True),
        "__floordiv__": binop("floor_divide"), "__rfloordiv__": binop("floor_divide", True),
        "__mod__": binop("remainder"), "__rmod__": binop("remainder", True),
        "__pow__": binop("power"), "__rpow__": binop("power", True),
        "__matmul__": binop("matmul"), "__rmatmul__": binop("matmul", True),
        "__and__": binop("bitwise_and"), "__rand__": binop("bitwise_and", True),
        "__or__": binop("bitwise_or"), "__ror__": binop("bitwise_or", True),
        "__xor__": binop("bitwise_xor"), "__rxor__": binop("bitwise_xor", True),
        "__lshift__": binop("left_shift"), "__rlshift__": binop("left_shift", True),
        "__rshift__": binop("right_shift"), "__rrshift__": binop("right_shift", True),
        "__lt__": binop("less"), "__le__": binop("less_equal"),
        "__gt__": binop("greater"), "__ge__": binop("greater_equal"),
        "__eq__": binop("equal"), "__ne__": binop("not_equal"),
        "__divmod__": binop("divmod"), "__rdivmod__": binop("divmod", True),
        "__neg__": lambda self: _fnp.negative(self),
        "__pos__": lambda self: self,
        "__abs__": lambda self: _fnp.absolute(self),
        "__invert__": lambda self: _fnp.invert(self),
        "__getitem__": lambda self, idx: _getitem(self, idx),
        "__round__": _operator_round,
    }
    for name, f in ops.items():
        setattr(cls, name, f)
    cls.__hash__ = None

    cls.flat = property(_flat)

    def __array_namespace__(self, /, *, api_version=None):
        """The array's namespace (the Array API standard's entry point): funcgrad.numpy,
        as JAX's arrays give jax.numpy."""
        return _fnp
    cls.__array_namespace__ = __array_namespace__

    methods = {
        "sum": "sum", "prod": "prod", "mean": "mean", "var": "var", "std": "std",
        "max": "max", "min": "min", "argmax": "argmax", "argmin": "argmin", "all": "all",
        "any": "any", "cumsum": "cumsum", "cumprod": "cumprod", "ptp": "ptp",
        "clip": "clip", "round": "round", "ravel": "ravel", "flatten": "ravel",
        "transpose_": "transpose", "squeeze": "squeeze", "swapaxes": "swapaxes",
        "take": "take", "dot": "dot", "sort": "sort", "argsort": "argsort",
        "nonzero": "nonzero", "repeat": "repeat", "diagonal": "diagonal", "trace": "trace",
        "conj": "conj", "conjugate": "conj", "argpartition": "argpartition",
        "choose": "choose",
    }
    def method(fn):
        return lambda self, *a, **k: fn(self, *a, **k)

    for meth, fname in methods.items():
        setattr(cls, meth, method(getattr(_fnp, fname)))

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return _fnp.reshape(self, shape, order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return _fnp.transpose(self, axes or None)

    def astype(self, dtype, copy=False):
        return _fnp.astype(self, dtype)

    def searchsorted(self, v, side="left", sorter=None, *, method="scan"):
        return _fnp.searchsorted(self, v, side=side, sorter=sorter, method=method)

    def tobytes(self, order="C"):
        return np.asarray(self).tobytes(order=order)

    def compress(self, condition, axis=None, *, out=None, size=None, fill_value=0):
        return _fnp.compress(condition, self, axis=axis, out=out, size=size,
                             fill_value=fill_value)

    cls.searchsorted = searchsorted
    cls.compress = compress
    cls.tobytes = tobytes
    cls.reshape = reshape
    cls.transpose = transpose
    cls.astype = astype
    cls.T = property(lambda self: _fnp.transpose(self))
    cls.mT = property(lambda self: _fnp.matrix_transpose(self))
    cls.real = property(lambda self: _fnp.real(self))
    cls.imag = property(lambda self: _fnp.imag(self))
    cls.at = property(lambda self: _AtHelper(self))
    cls.copy = lambda self: _fnp.copy(self)
    def view(self, dtype=None, type=None):  # noqa: A002 (NumPy's and JAX's name)
        # JAX's Array.view: the same bits read as `dtype` (not a value conversion); a
        # different itemsize changes the size of the last axis.
        if type is not None:
            raise NotImplementedError("view: the `type` argument is not supported (as JAX)")
        if dtype is None:
            return self
        from .. import dtypes as _dtypes
        from .._lax_bitcast import bitcast_convert_type
        new = np.dtype(_dtypes.canonicalize(dtype))
        x = self.astype(np.uint8) if self.dtype == np.bool_ else self
        if new == np.bool_:
            return view(x, np.uint8).astype(np.bool_)
        if np.issubdtype(x.dtype, np.complexfloating):
            # a complex number is its real part followed by its imaginary part
            if x.ndim == 0:
                raise ValueError("view: changing the itemsize of a 0-d array is not supported")
            parts = _fnp.stack([_fnp.real(x), _fnp.imag(x)], axis=-1)
            return view(_fnp.reshape(parts, (*x.shape[:-1], 2 * x.shape[-1])), new)
        if np.issubdtype(new, np.complexfloating):
            part = np.dtype(f"float{new.itemsize * 4}")
            pairs = view(x, part)
            if pairs.shape[-1] % 2:
                raise ValueError(f"view: the last axis must be even to view {x.dtype} as {new}")
            pairs = _fnp.reshape(pairs, (*pairs.shape[:-1], pairs.shape[-1] // 2, 2))
            from .. import lax as _lax
            return _lax.complex(pairs[..., 0], pairs[..., 1])
        n_in, n_out = x.dtype.itemsize, new.itemsize
        if n_in == n_out:
            return bitcast_convert_type(x, new)
        if x.ndim == 0:
            raise ValueError("view: changing the itemsize of a 0-d array is not supported")
        if n_out > n_in:
            ratio = n_out // n_in
            if x.shape[-1] % ratio:
                raise ValueError(f"view: the last axis ({x.shape[-1]}) must be divisible by "
                                 f"{ratio} to view {x.dtype} as {new}")
            x = _fnp.reshape(x, (*x.shape[:-1], x.shape[-1] // ratio, ratio))
            return bitcast_convert_type(x, new)
        out = bitcast_convert_type(x, new)
        return _fnp.reshape(out, (*x.shape[:-1], x.shape[-1] * (n_in // n_out)))

    cls.view = view
    cls.nbytes = property(lambda self: self.size * self.dtype.itemsize)
    cls.itemsize = property(lambda self: self.dtype.itemsize)
