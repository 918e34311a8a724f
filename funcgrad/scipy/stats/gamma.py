"""The gamma distribution (JAX's `jax.scipy.stats.gamma`): logpdf and pdf with shape `a`,
`loc` and `scale`. (No cdf: it needs the regularised incomplete gamma function, not in
funcgrad yet.)"""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpdf(x, a, loc=0, scale=1):
    """log density of Gamma(a, scale) shifted by loc; -inf below loc."""
    x, a, loc, scale = promote(x, a, loc, scale)
    inside = x >= loc
    # Off the support y is 1, so that neither the value nor its gradient is NaN there.
    y = fnp.where(inside, (x - loc) / scale, fnp.ones_like(x))
    log_probs = special.xlogy(a - 1, y) - y - (special.gammaln(a) + fnp.log(scale))
    return outside(~inside, log_probs)


def pdf(x, a, loc=0, scale=1):
    """The Gamma(a, scale) density."""
    return fnp.exp(logpdf(x, a, loc, scale))
