"""The Poisson distribution (JAX's `jax.scipy.stats.poisson`): logpmf and pmf. (No cdf: it
needs the regularised incomplete gamma function, not in funcgrad yet.)"""
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
