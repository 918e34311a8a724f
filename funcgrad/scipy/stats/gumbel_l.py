"""The left-skewed Gumbel distribution (JAX's `jax.scipy.stats.gumbel_l`, the law of the
minimum): logpdf, pdf, logcdf, cdf, logsf, sf and ppf in z = (x - loc) / scale; NaN for
scale <= 0."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import outside, promote


def _z(x, loc, scale):
    x, loc, scale = promote(x, loc, scale)
    return (x - loc) / scale, scale


def logpdf(x, loc=0, scale=1):
    """-log(scale) + z - exp(z)."""
    z, scale = _z(x, loc, scale)
    return outside(scale <= 0, -fnp.log(scale) + (z - fnp.exp(z)), np.nan)


def pdf(x, loc=0, scale=1):
    return fnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    """log(1 - exp(-exp(z))), as log(-expm1(-exp(z)))."""
    z, scale = _z(x, loc, scale)
    return outside(scale <= 0, fnp.log(-fnp.expm1(-fnp.exp(z))), np.nan)


def cdf(x, loc=0, scale=1):
    return fnp.exp(logcdf(x, loc, scale))


def logsf(x, loc=0, scale=1):
    """-exp(z)."""
    z, scale = _z(x, loc, scale)
    return outside(scale <= 0, -fnp.exp(z), np.nan)


def sf(x, loc=0, scale=1):
    return fnp.exp(logsf(x, loc, scale))


def ppf(p, loc=0, scale=1):
    """loc + scale log(-log(1 - p)) for 0 < p < 1, NaN elsewhere."""
    p, loc, scale = promote(p, loc, scale)
    q = loc + scale * fnp.log(-fnp.log1p(-p))
    return outside((p <= 0) | (p >= 1), q, np.nan)
