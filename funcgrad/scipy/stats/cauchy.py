"""The Cauchy distribution (JAX's `jax.scipy.stats.cauchy`): logpdf, pdf, cdf, logcdf, sf,
logsf, ppf, isf with `loc` and `scale`."""
from __future__ import annotations

import math

from ... import numpy as fnp
from ._common import promote


def logpdf(x, loc=0, scale=1):
    """-log(pi scale (1 + z^2)) with z = (x - loc) / scale."""
    x, loc, scale = promote(x, loc, scale)
    z = (x - loc) / scale
    return -(fnp.log(math.pi * scale) + fnp.log1p(z * z))


def pdf(x, loc=0, scale=1):
    """The Cauchy density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """1/2 + arctan(z) / pi."""
    x, loc, scale = promote(x, loc, scale)
    return 0.5 + fnp.arctan((x - loc) / scale) / math.pi


def logcdf(x, loc=0, scale=1):
    """log cdf."""
    return fnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    """P(X > x), computed as the cdf of the mirrored variable (accurate in the upper tail)."""
    x, loc, scale = promote(x, loc, scale)
    return cdf(-x, -loc, scale)


def logsf(x, loc=0, scale=1):
    """log sf."""
    x, loc, scale = promote(x, loc, scale)
    return logcdf(-x, -loc, scale)


def ppf(q, loc=0, scale=1):
    """The quantile function: loc + scale tan(pi (q - 1/2))."""
    q, loc, scale = promote(q, loc, scale)
    return fnp.tan(math.pi * q - math.pi / 2) * scale + loc


def isf(q, loc=0, scale=1):
    """The inverse of sf: loc + scale tan(pi (1/2 - q))."""
    q, loc, scale = promote(q, loc, scale)
    return fnp.tan(math.pi / 2 - math.pi * q) * scale + loc
