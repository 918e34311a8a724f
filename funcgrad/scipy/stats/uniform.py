"""The uniform distribution (JAX's `jax.scipy.stats.uniform`) on [loc, loc + scale]:
logpdf, pdf, cdf, ppf."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import outside, promote


def logpdf(x, loc=0, scale=1):
    """-log(scale) on [loc, loc + scale], -inf outside."""
    x, loc, scale = promote(x, loc, scale)
    return outside((x < loc) | (x > loc + scale), -fnp.log(scale) + fnp.zeros_like(x))


def pdf(x, loc=0, scale=1):
    """The uniform density."""
    return fnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    """0 below loc, (x - loc) / scale inside, 1 above."""
    x, loc, scale = promote(x, loc, scale)
    inside = (x - loc) / scale
    return fnp.where(x < loc, fnp.zeros_like(x),
                     fnp.where(x > loc + scale, fnp.ones_like(x), inside))


def ppf(q, loc=0, scale=1):
    """loc + scale q; NaN outside [0, 1]."""
    q, loc, scale = promote(q, loc, scale)
    return outside(fnp.isnan(q) | (q < 0) | (q > 1), loc + scale * q, np.nan)
