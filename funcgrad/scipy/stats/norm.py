"""The normal distribution (JAX's `jax.scipy.stats.norm`): pdf, logpdf, cdf, logcdf, sf,
logsf, ppf, isf with `loc` and `scale`, broadcasting like NumPy."""
from __future__ import annotations

import math

from ... import numpy as fnp
from .. import special

_HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _standardize(x, loc, scale):
    x, loc, scale = special._float(x, loc, scale)
    return (x - loc) / scale, scale


def logpdf(x, loc=0, scale=1):
    """log of the normal density at x. A negative `scale` counts as its absolute value, as
    in JAX (whose formula has scale only squared; SciPy gives NaN)."""
    z, scale = _standardize(x, loc, scale)
    return -0.5 * z * z - _HALF_LOG_2PI - fnp.log(fnp.abs(scale))


def pdf(x, loc=0, scale=1):
    """The normal density at x."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """P(X <= x)."""
    z, _ = _standardize(x, loc, scale)
    return special.ndtr(z)


def logcdf(x, loc=0, scale=1):
    """log P(X <= x), accurate far in both tails."""
    z, _ = _standardize(x, loc, scale)
    return special.log_ndtr(z)


def sf(x, loc=0, scale=1):
    """P(X > x)."""
    z, _ = _standardize(x, loc, scale)
    return special.ndtr(-z)


def logsf(x, loc=0, scale=1):
    """log P(X > x)."""
    z, _ = _standardize(x, loc, scale)
    return special.log_ndtr(-z)


def ppf(q, loc=0, scale=1):
    """The quantile function (inverse of cdf): NaN outside [0, 1]."""
    q, loc, scale = special._float(q, loc, scale)
    return special.ndtri(q) * scale + loc


def isf(q, loc=0, scale=1):
    """The inverse of sf."""
    q, loc, scale = special._float(q, loc, scale)
    return -special.ndtri(q) * scale + loc
