"""The beta distribution (JAX's `jax.scipy.stats.beta`): logpdf and pdf with `loc` and
`scale`. (No cdf: it needs the regularised incomplete beta function, not in funcgrad yet.)"""
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
