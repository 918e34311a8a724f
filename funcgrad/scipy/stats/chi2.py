"""The chi-squared distribution (JAX's `jax.scipy.stats.chi2`): logpdf and pdf with `loc`
and `scale`."""
from __future__ import annotations

import math

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
