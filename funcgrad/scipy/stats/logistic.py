"""The logistic distribution (JAX's `jax.scipy.stats.logistic`): logpdf, pdf, cdf, sf, ppf,
isf with `loc` and `scale`."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import promote


def logpdf(x, loc=0, scale=1):
    """-2 log(exp(z/2) + exp(-z/2)) - log(scale) with z = (x - loc) / scale (no overflow
    for large |z|)."""
    x, loc, scale = promote(x, loc, scale)
    half = (x - loc) / scale / 2
    return -2 * fnp.logaddexp(half, -half) - fnp.log(scale)


def pdf(x, loc=0, scale=1):
    """The logistic density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """expit((x - loc) / scale)."""
    x, loc, scale = promote(x, loc, scale)
    return special.expit((x - loc) / scale)


def sf(x, loc=0, scale=1):
    """expit(-(x - loc) / scale)."""
    x, loc, scale = promote(x, loc, scale)
    return special.expit(-(x - loc) / scale)


def ppf(q, loc=0, scale=1):
    """The quantile function loc + scale logit(q)."""
    q, loc, scale = promote(q, loc, scale)
    return special.logit(q) * scale + loc


def isf(q, loc=0, scale=1):
    """The inverse of sf: loc - scale logit(q)."""
    q, loc, scale = promote(q, loc, scale)
    return -special.logit(q) * scale + loc
