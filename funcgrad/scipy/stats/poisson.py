"""The Poisson distribution (JAX's `jax.scipy.stats.poisson`): logpmf, pmf and cdf."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, mu, loc=0):
    """k log mu - log k! - mu at x = k - loc; -inf for x < 0 or a non-integer k."""
    k, mu, loc = promote(k, mu, loc)
    x = k - loc
    log_probs = special.xlogy(x, mu) - special.gammaln(x + 1) - mu
    return outside((x < 0) | (fnp.round(k) != k), log_probs)


def pmf(k, mu, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    """P(K <= k) = Q(floor(k - loc) + 1, mu); 0 for k < loc."""
    k, mu, loc = promote(k, mu, loc)
    x = k - loc
    p = special.gammaincc(fnp.floor(1 + x), mu)
    return fnp.where(x < 0, fnp.zeros_like(p), p)
