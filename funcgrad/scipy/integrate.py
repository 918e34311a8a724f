"""funcgrad.scipy.integrate: JAX's `jax.scipy.integrate`, which holds `trapezoid` (the same
rule as `funcgrad.numpy.trapezoid`). Works under `jit`, `vmap` and `grad`."""
from __future__ import annotations

from .. import numpy as fnp

__all__ = ["trapezoid"]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    """The integral of `y` along `axis` by the composite trapezoidal rule, as
    `scipy.integrate.trapezoid`: at the sample points `x` (1-d along `axis`, or shaped as
    `y`) when given, else at equal spacing `dx`. Integer and bool samples give float32 (the
    default float type for 64-bit integers), as in JAX. Unlike JAX, lists are accepted."""
    return fnp.trapezoid(y, x=x, dx=dx, axis=axis)
