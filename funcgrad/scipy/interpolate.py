"""funcgrad.scipy.interpolate: JAX's `jax.scipy.interpolate`, which holds
`RegularGridInterpolator` (linear and nearest-neighbour interpolation on a rectilinear
grid), built from `searchsorted`, gathers and elementwise ops. The interpolator is a
pytree (its grid, values and fill value are the leaves), so it can be passed through
`jit`, `vmap` and `grad`; the results have derivatives with respect to the values and,
for the linear method, the query points."""
from __future__ import annotations

import functools
import itertools
import operator

import numpy as np

from .. import dtypes as _dtypes
from .. import lax
from .. import numpy as fnp
from ..tree_util import register_pytree_node_class

__all__ = ["RegularGridInterpolator"]

_METHODS = ("linear", "nearest")


def _check_method(method):
    if method not in _METHODS:
        raise ValueError(f"RegularGridInterpolator: method {method!r} is not defined; use "
                         "'linear' or 'nearest'")


@register_pytree_node_class
class RegularGridInterpolator:
    """Interpolation of `values` given on the grid `points` (N strictly increasing 1-d
    arrays; `values` has shape (len(points[0]), ..., len(points[N-1]), *trailing)), as
    `scipy.interpolate.RegularGridInterpolator` with JAX's limits:

    - `method` "linear" or "nearest" (ties go to the lower grid point);
    - `bounds_error` must be false (JAX cannot raise on values under `jit`);
    - points outside the grid get `fill_value` (default NaN), or are extrapolated from the
      nearest cell when `fill_value` is None.

    Integer and bool `values` are converted to float32 (the default float type for 64-bit
    integers). The linear method computes in the type the values promote to with the query
    points and the grid (float16 values with float32 queries give float32, as in JAX); the
    nearest method keeps the values' type. A decreasing axis is not supported (its points
    all count as outside), as in JAX.

    Unlike JAX, lists are accepted for `points`, `values` and the query points, and a
    `values` whose shape does not match the grid raises ValueError (JAX returns
    meaningless numbers)."""

    def __init__(self, points, values, method="linear", bounds_error=False,
                 fill_value=np.nan):
        _check_method(method)
        if bounds_error:
            raise NotImplementedError("RegularGridInterpolator: bounds_error=True is not "
                                      "supported (as in JAX: no error can be raised on "
                                      "values under jit); use fill_value to mark points "
                                      "outside the grid")
        values = fnp.asarray(values)
        values = lax.convert_element_type(values, _dtypes.to_inexact(values.dtype))
        grid = tuple(fnp.asarray(p) for p in points)
        for i, g in enumerate(grid):
            if g.ndim != 1:
                raise ValueError(f"RegularGridInterpolator: points[{i}] must be 1-dimensional,"
                                 f" got shape {g.shape}")
        if len(grid) > values.ndim:
            raise ValueError(f"RegularGridInterpolator: there are {len(grid)} point arrays, "
                             f"but values has {values.ndim} dimensions (shape "
                             f"{values.shape})")
        for i, g in enumerate(grid):
            if g.shape[0] != values.shape[i]:
                raise ValueError(f"RegularGridInterpolator: there are {g.shape[0]} points in "
                                 f"dimension {i}, but values has {values.shape[i]} (values "
                                 f"shape {values.shape}); values needs one entry per grid "
                                 "point")
        if fill_value is not None:
            fill_value = fnp.asarray(fill_value)
            if not np.can_cast(fill_value.dtype, values.dtype, casting="same_kind"):
                raise ValueError(f"RegularGridInterpolator: fill_value must be either None "
                                 f"or of a type compatible with values ({values.dtype}), got "
                                 f"{fill_value.dtype}")
        self.method = method
        self.bounds_error = bounds_error
        self.fill_value = fill_value
        self.grid = grid
        self.values = values

    def tree_flatten(self):
        """(children, aux data): the grid, values and fill value are the leaves (None for
        no fill adds none); the method and bounds_error are static, as in JAX."""
        return (self.grid, self.values, self.fill_value), (self.method, self.bounds_error)

    @classmethod
    def tree_unflatten(cls, aux, children):
        """The interpolator from `tree_flatten`'s parts, without checks or conversions
        (the leaves may be tracers or placeholders)."""
        self = object.__new__(cls)
        self.method, self.bounds_error = aux
        self.grid, self.values, self.fill_value = children
        return self

    def __call__(self, xi, method=None):
        """The interpolated values at the points `xi`: an array [..., N] (a 1-d array is
        one point, or for a 1-d grid a list of points), or a tuple of N arrays that
        broadcast together. The result has shape xi.shape[:-1] + the values' trailing
        shape. `method` overrides the interpolator's."""
        method = self.method if method is None else method
        _check_method(method)
        ndim = len(self.grid)
        if isinstance(xi, tuple):
            xi = fnp.stack(fnp.broadcast_arrays(*xi), axis=-1) if len(xi) > 1 else \
                fnp.asarray(xi[0])
        xi = fnp.asarray(xi)
        if xi.ndim == 0:
            raise IndexError(f"RegularGridInterpolator: the query points must be an array "
                             f"[..., {ndim}], got a scalar; pass e.g. [[x]]")
        if xi.ndim == 1:
            xi = xi[:, None] if ndim == 1 else xi[None]
        if xi.shape[-1] != ndim:
            raise ValueError(f"RegularGridInterpolator: the requested sample points xi have "
                             f"dimension {xi.shape[-1]} (shape {xi.shape}), but this "
                             f"RegularGridInterpolator has dimension {ndim}")
        trailing = self.values.ndim - ndim
        lower, dist, outside = [], [], None
        for d, g in enumerate(self.grid):
            x = xi[..., d]
            n = g.shape[0]
            i = fnp.clip(fnp.searchsorted(g, x, side="left") - 1, 0, n - 2)
            lo, hi = g[i], g[i + 1]
            lower.append(i)
            dist.append((x - lo) / (hi - lo))
            out_d = (x < g[0]) | (x > g[-1])
            outside = out_d if outside is None else outside | out_d
        if method == "linear":
            result = None
            for corner in itertools.product((0, 1), repeat=ndim):
                idx = tuple(i + c for i, c in zip(lower, corner))
                w = functools.reduce(operator.mul, [t if c else 1 - t
                                                    for t, c in zip(dist, corner)])
                term = self.values[idx] * w.reshape(w.shape + (1,) * trailing)
                result = term if result is None else result + term
        else:
            idx = tuple(fnp.where(t <= 0.5, i, i + 1) for i, t in zip(lower, dist))
            result = self.values[idx]
        if self.fill_value is not None:
            result = fnp.where(outside.reshape(outside.shape + (1,) * trailing),
                               self.fill_value, result)
        return result
