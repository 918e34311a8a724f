"""The Poisson distribution (JAX's `jax.scipy.stats.poisson`): logpmf, pmf, cdf and
entropy."""
from __future__ import annotations

import numpy as np

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


def _entropy_sum(mu, terms, upper):
    """-sum p log p over k = 0 .. terms - 1, leaving out k >= upper (per element of mu);
    from log p, so that terms where p underflows to 0 add 0 and a finite derivative."""
    k = fnp.arange(terms, dtype=mu.dtype)[:, None]
    log_p = logpmf(k, mu[None, :])
    keep = (k < upper[None, :]) & fnp.isfinite(log_p)
    log_p = fnp.where(keep, log_p, fnp.zeros_like(log_p))
    return -fnp.sum(fnp.exp(log_p) * log_p, axis=0)


def entropy(mu, loc=0):
    """The Shannon entropy -sum_k p(k) log p(k), as JAX computes it: 0 at mu = 0, the
    sum over k < ceil(mu + 20) for mu < 10 and over k < ceil(mu + 10 sqrt(mu) + 20) for
    mu < 100 (terms where p underflows count 0), and 0.5 log(2 pi e mu) - 1 / (12 mu)
    beyond; NaN for mu < 0. `loc` does
    not change it (only the shape, by broadcasting)."""
    mu, loc = promote(mu, loc)
    flat = fnp.ravel(mu)
    small = _entropy_sum(flat, 35, fnp.ceil(flat + 20))
    medium = _entropy_sum(flat, 250, fnp.ceil(flat + 10 * fnp.sqrt(flat) + 20))
    large = 0.5 * fnp.log(2 * np.pi * np.e * flat) - 1.0 / (12 * flat)
    h = fnp.where(flat < 10, small, fnp.where(flat < 100, medium, large))
    h = fnp.where(flat == 0, fnp.zeros_like(h), h)
    h = fnp.where(flat < 0, fnp.full_like(h, np.nan), h)
    return fnp.reshape(h, mu.shape)
