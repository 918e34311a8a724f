"""funcgrad.scipy.ndimage: JAX's `jax.scipy.ndimage`, which holds `map_coordinates`
(nearest-neighbour and linear interpolation of an N-d array at arbitrary coordinates),
built from gathers and elementwise ops. Works under `jit`, `vmap` and `grad` (with respect
to the input and, for order 1, the coordinates)."""
from __future__ import annotations

import functools
import itertools
import operator

from .. import dtypes as _dtypes
from .. import lax
from .. import numpy as fnp

__all__ = ["map_coordinates"]

_MODES = ("constant", "nearest", "mirror", "wrap", "reflect")


def _mapped_index(i, n, mode):
    """(index into [0, n), whether the point lies inside) for the integer index `i` along
    an axis of length `n`; the mask is None where every index is inside."""
    if mode == "constant":
        return fnp.clip(i, 0, n - 1), (i >= 0) & (i < n)
    if mode == "nearest":
        return fnp.clip(i, 0, n - 1), None
    if mode == "wrap":                      # ... b c d | a b c d | a b ...
        return fnp.mod(i, n), None
    if mode == "mirror":                    # ... c b | a b c d | c b ...
        if n == 1:
            return fnp.zeros_like(i), None
        j = fnp.mod(i, 2 * n - 2)
        return fnp.where(j >= n, 2 * n - 2 - j, j), None
    j = fnp.mod(i, 2 * n)                   # reflect: ... b a | a b c d | d c ...
    return fnp.where(j >= n, 2 * n - 1 - j, j), None


def map_coordinates(input, coordinates, order, mode="constant", cval=0.0):
    """The values of the N-d array `input` at the points `coordinates` (N arrays, one per
    axis, broadcast together: the result has their shape), as
    `scipy.ndimage.map_coordinates` with JAX's limits and conventions:

    - `order` 0 (nearest neighbour: coordinates are rounded half away from zero) or 1
      (linear); higher orders raise NotImplementedError.
    - `mode` for points outside: "constant" (neighbours outside take `cval`: SciPy's
      "grid-constant"), "nearest", "mirror", "reflect" or "wrap" (SciPy's "grid-wrap").
    - The result has `input`'s dtype; integer inputs are rounded half away from zero after
      interpolating (boolean ones are true where the interpolated value is not zero), and
      `cval` is cast to `input`'s dtype first.

    Unlike JAX, `cval` may be an array (even a traced one)."""
    if order not in (0, 1):
        raise NotImplementedError(f"map_coordinates: order must be 0 (nearest) or 1 "
                                  f"(linear), got order={order!r}; JAX supports no higher "
                                  "order either")
    if mode not in _MODES:
        raise NotImplementedError(f"map_coordinates: mode {mode!r} is not supported; use one "
                                  f"of {list(_MODES)} (JAX's 'constant' and 'wrap' are "
                                  "SciPy's 'grid-constant' and 'grid-wrap')")
    x = fnp.asarray(input)
    coords = [fnp.asarray(c) for c in coordinates]
    if len(coords) != x.ndim:
        raise ValueError(f"map_coordinates: coordinates must be a sequence of input.ndim = "
                         f"{x.ndim} arrays (one per axis of input {x.shape}), got "
                         f"{len(coords)}")
    if x.ndim == 0 or x.size == 0:
        raise TypeError(f"map_coordinates: input must have at least one axis and no empty "
                        f"axis, got shape {x.shape}")
    for c in coords:
        if _dtypes.is_complex(c.dtype) or c.dtype == bool:
            raise TypeError(f"map_coordinates: coordinates must be real numbers, got "
                            f"{c.dtype}")
    coords = fnp.broadcast_arrays(*coords)
    cval = fnp.asarray(cval, dtype=x.dtype)

    # per axis: [(index, inside mask, weight), ...] for the neighbours the order uses
    axes = []
    for c, n in zip(coords, x.shape):
        floating = fnp.issubdtype(c.dtype, fnp.floating)
        if order == 0:
            i = lax.convert_element_type(lax.round(c), fnp.int32) if floating else c
            axes.append([(*_mapped_index(i, n, mode), None)])
        else:
            lower = lax.convert_element_type(fnp.floor(c), fnp.int32) if floating else c
            w = c - fnp.floor(c) if floating else c - c
            axes.append([(*_mapped_index(lower, n, mode), 1 - w),
                         (*_mapped_index(lower + 1, n, mode), w)])
    out = None
    for corner in itertools.product(*axes):
        value = x[tuple(i for i, _, _ in corner)]
        masks = [m for _, m, _ in corner if m is not None]
        if masks:
            value = fnp.where(functools.reduce(operator.and_, masks), value, cval)
        weights = [w for _, _, w in corner if w is not None]
        if weights:
            value = value * functools.reduce(operator.mul, weights)
        out = value if out is None else out + value
    if fnp.issubdtype(x.dtype, fnp.integer) and fnp.issubdtype(out.dtype, fnp.inexact):
        out = lax.round(out)
    return out.astype(x.dtype)

