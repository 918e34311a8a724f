"""The chi-squared distribution (JAX's `jax.scipy.stats.chi2`): logpdf, pdf, cdf, logcdf,
sf and logsf with `loc` and `scale`."""
from __future__ import annotations

import math

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpdf(x, df, loc=0, scale=1):
    """log density of chi2(df); -inf below loc."""
    x, df, loc, scale = promote(x, df, loc, scale)
    y = (x - loc) / scale
    half = df / 2
    kernel = (half - 1) * fnp.log(y) - y / 2
    norm = -(special.gammaln(half) + math.log(2.0) * df / 2)
    return outside(x < loc, norm - fnp.log(scale) + kernel)


def pdf(x, df, loc=0, scale=1):
    """The chi2(df) density."""
    return fnp.exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0, scale=1):
    """P(X <= x) = P(df / 2, y / 2) for y = (x - loc) / scale (0 below loc)."""
    x, df, loc, scale = promote(x, df, loc, scale)
    return special.gammainc(df / 2, fnp.clip((x - loc) / scale, 0, np.inf) / 2)


def logcdf(x, df, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    """P(X > x), without the cancellation of 1 - cdf."""
    x, df, loc, scale = promote(x, df, loc, scale)
    return special.gammaincc(df / 2, fnp.clip((x - loc) / scale, 0, np.inf) / 2)


def logsf(x, df, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, df, loc, scale))
