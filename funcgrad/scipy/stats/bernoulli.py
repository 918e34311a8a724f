"""The Bernoulli distribution (JAX's `jax.scipy.stats.bernoulli`): logpmf, pmf, cdf, ppf."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, p, loc=0):
    """log P(K = k): log p at k = 1 + loc, log(1 - p) at k = loc, -inf elsewhere."""
    k, p, loc = promote(k, p, loc)
    x = k - loc
    log_probs = special.xlogy(x, p) + special.xlog1py(1 - x, -p)
    return outside((x < 0) | (x > 1), log_probs)


def pmf(k, p, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    """P(K <= k): 0 below 0, 1 - p on [0, 1), 1 from 1; NaN for p outside [0, 1]."""
    k, p = promote(k, p)
    values = fnp.where(k < 0, fnp.zeros_like(k), fnp.where(k < 1, 1 - p, fnp.ones_like(k)))
    return outside(fnp.isnan(k) | fnp.isnan(p) | (p < 0) | (p > 1), values, np.nan)


def ppf(q, p):
    """The smallest k with cdf(k) >= q: 0 for q <= 1 - p, else 1; NaN outside [0, 1]."""
    q, p = promote(q, p)
    values = fnp.where(q <= 1 - p, fnp.zeros_like(q), fnp.ones_like(q))
    bad = fnp.isnan(q) | fnp.isnan(p) | (p < 0) | (p > 1) | (q < 0) | (q > 1)
    return outside(bad, values, np.nan)
