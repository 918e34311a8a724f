"""The Pareto distribution (JAX's `jax.scipy.stats.pareto`): logpdf, pdf, cdf, logcdf, sf,
logsf, ppf with shape `b`, `loc` and `scale` (support x >= loc + scale)."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import outside, promote


def logpdf(x, b, loc=0, scale=1):
    """log(b / scale) - (b + 1) log z with z = (x - loc) / scale; -inf for z < 1."""
    x, b, loc, scale = promote(x, b, loc, scale)
    z = (x - loc) / scale
    return outside(x < loc + scale, -(fnp.log(scale / b) + (b + 1) * fnp.log(z)))


def pdf(x, b, loc=0, scale=1):
    """The Pareto density."""
    return fnp.exp(logpdf(x, b, loc, scale))


def cdf(x, b, loc=0, scale=1):
    """1 - z^-b; 0 below the support."""
    x, b, loc, scale = promote(x, b, loc, scale)
    z = (x - loc) / scale
    return fnp.where(x < loc + scale, fnp.zeros_like(x), 1 - z ** -b)


def logcdf(x, b, loc=0, scale=1):
    """log1p(-z^-b); -inf below the support."""
    x, b, loc, scale = promote(x, b, loc, scale)
    z = (x - loc) / scale
    return outside(x < loc + scale, fnp.log1p(-(z ** -b)))


def logsf(x, b, loc=0, scale=1):
    """-b log z; 0 below the support."""
    x, b, loc, scale = promote(x, b, loc, scale)
    z = (x - loc) / scale
    return fnp.where(x < loc + scale, fnp.zeros_like(x), -b * fnp.log(z))


def sf(x, b, loc=0, scale=1):
    """P(X > x)."""
    return fnp.exp(logsf(x, b, loc, scale))


def ppf(q, b, loc=0, scale=1):
    """The quantile function loc + scale (1 - q)^(-1/b); NaN outside [0, 1]."""
    q, b, loc, scale = promote(q, b, loc, scale)
    values = loc + scale * (1 - q) ** (-1 / b)
    return outside(fnp.isnan(q) | (q < 0) | (q > 1), values, np.nan)
