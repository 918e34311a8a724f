"""The binomial distribution (JAX's `jax.scipy.stats.binom`): logpmf and pmf."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, n, p, loc=0):
    """log P(K = k) for K ~ Binomial(n, p) shifted by loc; -inf outside [loc, loc + n]."""
    k, n, p, loc = promote(k, n, p, loc)
    y = k - loc
    comb = special.gammaln(n + 1) - (special.gammaln(y + 1) + special.gammaln(n - y + 1))
    linear = special.xlogy(y, p) + special.xlog1py(n - y, -p)
    log_probs = comb + linear
    # Certain outcomes (n = 0, or p at 0/1 with the matching k) are exactly log 1 = 0.
    certain = ((y == 0) & (n == 0)) | (linear == 0)
    log_probs = fnp.where(certain, fnp.zeros_like(log_probs), log_probs)
    return outside(~((k >= loc) & (k < loc + n + 1)), log_probs)


def pmf(k, n, p, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, n, p, loc))
