"""funcgrad.numpy.linalg: norms and small matrix helpers built from primitives."""
from __future__ import annotations

import numpy as _np

from .. import numpy as fnp


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector / matrix norms as in NumPy (ord None/2/1/inf/-inf/p for vectors; 'fro', 1,
    inf, -1, -inf for matrices)."""
    x = fnp.asarray(x)
    if not fnp.issubdtype(x.dtype, fnp.floating):
        x = x.astype(fnp.float32)
    if axis is None:
        if ord is None:
            return fnp.sqrt(fnp.sum(x * x, keepdims=keepdims))
        axis = tuple(range(x.ndim))
    if isinstance(axis, int):
        axis = (axis,)
    axis = tuple(a % x.ndim for a in axis)
    if len(axis) == 1:
        a = fnp.abs(x)
        if ord is None or ord == 2:
            return fnp.sqrt(fnp.sum(x * x, axis=axis, keepdims=keepdims))
        if ord == _np.inf:
            return fnp.max(a, axis=axis, keepdims=keepdims)
        if ord == -_np.inf:
            return fnp.min(a, axis=axis, keepdims=keepdims)
        if ord == 0:
            return fnp.sum((x != 0).astype(x.dtype), axis=axis, keepdims=keepdims)
        if ord == 1:
            return fnp.sum(a, axis=axis, keepdims=keepdims)
        return fnp.sum(a ** ord, axis=axis, keepdims=keepdims) ** (1.0 / ord)
    if len(axis) == 2:
        r, c = axis
        a = fnp.abs(x)
        if ord is None or ord == "fro":
            return fnp.sqrt(fnp.sum(x * x, axis=axis, keepdims=keepdims))
        if ord in (1, -1):
            s = fnp.sum(a, axis=r, keepdims=True)
            f = fnp.max if ord == 1 else fnp.min
            return _squeeze_kept(f(s, axis=c, keepdims=True), axis, keepdims)
        if ord in (_np.inf, -_np.inf):
            s = fnp.sum(a, axis=c, keepdims=True)
            f = fnp.max if ord == _np.inf else fnp.min
            return _squeeze_kept(f(s, axis=r, keepdims=True), axis, keepdims)
        raise NotImplementedError(f"norm: matrix ord={ord!r} is not supported yet")
    raise ValueError(f"norm: improper number of axes {axis}")


def _squeeze_kept(y, axis, keepdims):
    return y if keepdims else fnp.squeeze(y, axis)


def vector_norm(x, ord=2, axis=None, keepdims=False):
    x = fnp.asarray(x)
    if axis is None:
        x, axis = fnp.ravel(x), 0
    return norm(x, ord, axis, keepdims)


def matrix_norm(x, ord="fro", keepdims=False):
    return norm(x, ord, (-2, -1), keepdims)


def det(a):
    raise NotImplementedError("linalg.det is not implemented in funcgrad yet")


def matmul(x1, x2):
    return fnp.matmul(x1, x2)


def outer(x1, x2):
    return fnp.outer(x1, x2)


def trace(x, offset=0):
    return fnp.trace(x, offset, -2, -1)


def diagonal(x, offset=0):
    return fnp.diagonal(x, offset, -2, -1)


def matrix_transpose(x):
    return fnp.matrix_transpose(x)


def vecdot(x1, x2, axis=-1):
    return fnp.vecdot(x1, x2, axis=axis)


def tensordot(x1, x2, axes=2):
    return fnp.tensordot(x1, x2, axes)


def cross(x1, x2, axis=-1):
    return fnp.cross(x1, x2, axis=axis)


def multi_dot(arrays):
    out = fnp.asarray(arrays[0])
    for a in arrays[1:]:
        out = fnp.matmul(out, a)
    return out


def matrix_power(a, n):
    a = fnp.asarray(a)
    if n < 0:
        raise NotImplementedError("matrix_power with a negative exponent needs linalg.inv, "
                                  "which funcgrad does not have yet")
    out = fnp.broadcast_to(fnp.eye(a.shape[-1], dtype=a.dtype), a.shape)
    base = a
    while n:
        if n & 1:
            out = fnp.matmul(out, base)
        n >>= 1
        if n:
            base = fnp.matmul(base, base)
    return out
