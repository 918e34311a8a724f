"""The generalized normal distribution (JAX's `jax.scipy.stats.gennorm`): density
proportional to exp(-|x|**beta); logpdf, pdf and cdf."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import promote


def logpdf(x, beta):
    """log(beta / 2) - gammaln(1 / beta) - |x|**beta."""
    x, beta = promote(x, beta)
    return fnp.log(0.5 * beta) - special.gammaln(1 / beta) - fnp.abs(x) ** beta


def pdf(x, beta):
    return fnp.exp(logpdf(x, beta))


def cdf(x, beta):
    """(1 + sign(x) P(1/beta, |x|**beta)) / 2, P the regularized lower incomplete gamma."""
    x, beta = promote(x, beta)
    return 0.5 * (1 + fnp.sign(x) * special.gammainc(1 / beta, fnp.abs(x) ** beta))
