"""The negative binomial distribution (JAX's `jax.scipy.stats.nbinom`): the number of
failures k before the n-th success with success probability p; logpmf and pmf."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, n, p, loc=0):
    """log C(k + n - 1, k) + n log p + k log(1 - p) at k - loc; -inf for k < loc."""
    k, n, p, loc = promote(k, n, p, loc)
    y = k - loc
    comb = special.gammaln(y + n) - special.gammaln(n) - special.gammaln(y + 1)
    return outside(k < loc, comb + special.xlogy(n, p) + special.xlogy(y, 1 - p))


def pmf(k, n, p, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, n, p, loc))
