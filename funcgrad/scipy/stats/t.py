"""Student's t distribution (JAX's `jax.scipy.stats.t`): logpdf and pdf with `df`, `loc` and
`scale`."""
from __future__ import annotations

import math

from ... import numpy as fnp
from .. import special
from ._common import promote


def logpdf(x, df, loc=0, scale=1):
    """log density of the t distribution with df degrees of freedom."""
    x, df, loc, scale = promote(x, df, loc, scale)
    z = (x - loc) / scale
    half = df / 2
    log_norm = (special.gammaln(half) + fnp.log(scale * scale * math.pi * df) / 2
                - special.gammaln(half + 0.5))
    return -(log_norm + (half + 0.5) * fnp.log1p(z * z / df))


def pdf(x, df, loc=0, scale=1):
    """The t density."""
    return fnp.exp(logpdf(x, df, loc, scale))
