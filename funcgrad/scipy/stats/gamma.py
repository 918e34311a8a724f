"""The gamma distribution (JAX's `jax.scipy.stats.gamma`): logpdf, pdf, cdf, logcdf, sf and
logsf with shape `a`, `loc` and `scale`."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpdf(x, a, loc=0, scale=1):
    """log density of Gamma(a, scale) shifted by loc; -inf below loc."""
    x, a, loc, scale = promote(x, a, loc, scale)
    inside = x >= loc
    # Off the support y is 1, so that neither the value nor its gradient is NaN there.
    y = fnp.where(inside, (x - loc) / scale, fnp.ones_like(x))
    log_probs = special.xlogy(a - 1, y) - y - (special.gammaln(a) + fnp.log(scale))
    return outside(~inside, log_probs)


def pdf(x, a, loc=0, scale=1):
    """The Gamma(a, scale) density."""
    return fnp.exp(logpdf(x, a, loc, scale))


def _y(x, loc, scale):
    return fnp.clip((x - loc) / scale, 0, np.inf)


def cdf(x, a, loc=0, scale=1):
    """P(X <= x): the regularized lower incomplete gamma function of (x - loc) / scale."""
    x, a, loc, scale = promote(x, a, loc, scale)
    return special.gammainc(a, _y(x, loc, scale))


def logcdf(x, a, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    """P(X > x) = 1 - cdf, without the cancellation."""
    x, a, loc, scale = promote(x, a, loc, scale)
    return special.gammaincc(a, _y(x, loc, scale))


def logsf(x, a, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, a, loc, scale))
