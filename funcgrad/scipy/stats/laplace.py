"""The Laplace distribution (JAX's `jax.scipy.stats.laplace`): logpdf, pdf, cdf with `loc`
and `scale`."""
from __future__ import annotations

from ... import numpy as fnp
from ._common import promote


def logpdf(x, loc=0, scale=1):
    """-|x - loc| / scale - log(2 scale)."""
    x, loc, scale = promote(x, loc, scale)
    return -(fnp.abs(x - loc) / scale + fnp.log(2 * scale))


def pdf(x, loc=0, scale=1):
    """The Laplace density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """exp(z) / 2 for z = (x - loc) / scale <= 0, else 1 - exp(-z) / 2."""
    x, loc, scale = promote(x, loc, scale)
    z = (x - loc) / scale
    return fnp.where(z <= 0, 0.5 * fnp.exp(z), 1 - 0.5 * fnp.exp(-z))
