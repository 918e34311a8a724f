"""Helpers shared by the distributions of funcgrad.scipy.stats: promoting the arguments to
one float dtype (as JAX's `promote_args_inexact`), and masking values outside a support."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special


def promote(*xs):
    """The arguments as float arrays of one dtype, broadcast together (Python scalars are
    weak: they keep a float32 argument float32)."""
    return special._float(*xs)


def outside(cond, values, fill=-np.inf):
    """`values` with `fill` where `cond` holds (out of the support: -inf for a log density,
    NaN for an invalid parameter)."""
    return fnp.where(cond, fnp.full_like(values, fill), values)
