"""The exponential distribution (JAX's `jax.scipy.stats.expon`): logpdf, pdf, cdf, logcdf,
sf, logsf, ppf with `loc` and `scale`."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import outside, promote


def logpdf(x, loc=0, scale=1):
    """-(x - loc) / scale - log(scale); -inf below loc."""
    x, loc, scale = promote(x, loc, scale)
    return outside(x < loc, -((x - loc) / scale + fnp.log(scale)))


def pdf(x, loc=0, scale=1):
    """The exponential density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """1 - exp(-(x - loc) / scale) (through expm1: accurate near loc); 0 below loc."""
    x, loc, scale = promote(x, loc, scale)
    return fnp.where(x < loc, fnp.zeros_like(x), -fnp.expm1((loc - x) / scale))


def logsf(x, loc=0, scale=1):
    """log P(X > x) = -(x - loc) / scale; 0 below loc."""
    x, loc, scale = promote(x, loc, scale)
    return fnp.where(x < loc, fnp.zeros_like(x), (loc - x) / scale)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log P(X <= x), as log1p(-sf)."""
    return fnp.log1p(-sf(x, loc, scale))


def ppf(q, loc=0, scale=1):
    """The quantile function loc - scale log1p(-q); NaN outside [0, 1]."""
    q, loc, scale = promote(q, loc, scale)
    return outside(fnp.isnan(q) | (q < 0) | (q > 1), loc - scale * fnp.log1p(-q), np.nan)
