"""The beta distribution (JAX's `jax.scipy.stats.beta`): logpdf, pdf, cdf, logcdf, sf and
logsf with `loc` and `scale`."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpdf(x, a, b, loc=0, scale=1):
    """log density of Beta(a, b) on [loc, loc + scale]: -inf outside, NaN for a, b or scale
    <= 0."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    y = (x - loc) / scale
    log_probs = (special.xlogy(a - 1, y) + special.xlog1py(b - 1, -y) - special.betaln(a, b)
                 - fnp.log(scale))
    log_probs = outside((x < loc) | (x > loc + scale), log_probs)
    return outside((a <= 0) | (b <= 0) | (scale <= 0), log_probs, np.nan)


def pdf(x, a, b, loc=0, scale=1):
    """The Beta(a, b) density."""
    return fnp.exp(logpdf(x, a, b, loc, scale))


def _y(x, loc, scale):
    return fnp.clip((x - loc) / scale, 0, 1)


def cdf(x, a, b, loc=0, scale=1):
    """P(X <= x): the regularized incomplete beta function of (x - loc) / scale."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return special.betainc(a, b, _y(x, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    """log P(X <= x)."""
    return fnp.log(cdf(x, a, b, loc, scale))


def sf(x, a, b, loc=0, scale=1):
    """P(X > x) = I_{1-y}(b, a), without the cancellation of 1 - cdf."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return special.betainc(b, a, 1 - _y(x, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """log P(X > x)."""
    return fnp.log(sf(x, a, b, loc, scale))
