"""The geometric distribution (JAX's `jax.scipy.stats.geom`): logpmf and pmf (support
k >= 1 + loc, the number of trials up to the first success)."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, p, loc=0):
    """(k - loc - 1) log(1 - p) + log p; -inf for k - loc <= 0."""
    k, p, loc = promote(k, p, loc)
    x = k - loc
    return outside(x <= 0, special.xlog1py(x - 1, -p) + fnp.log(p))


def pmf(k, p, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, p, loc))
