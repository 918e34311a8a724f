"""The wrapped Cauchy distribution (JAX's `jax.scipy.stats.wrapcauchy`) on [0, 2 pi]:
logpdf and pdf with shape 0 < c < 1 (NaN otherwise, -inf outside the interval)."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from ._common import outside, promote


def logpdf(x, c):
    """log((1 - c**2) / (2 pi (1 + c**2 - 2 c cos x)))."""
    x, c = promote(x, c)
    out = fnp.log(1 - c * c) - np.log(2 * np.pi) - fnp.log(1 + c * c - 2 * c * fnp.cos(x))
    out = outside((x < 0) | (x > 2 * np.pi), out)
    return outside(~((c > 0) & (c < 1)), out, np.nan)


def pdf(x, c):
    return fnp.exp(logpdf(x, c))
