"""The beta-binomial distribution (JAX's `jax.scipy.stats.betabinom`): Binomial(n, P)
counts with P ~ Beta(a, b); logpmf and pmf."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpmf(k, n, a, b, loc=0):
    """log C(n, y) + log B(y + a, n - y + b) - log B(a, b) at y = floor(k) - loc (the
    binomial coefficient as -log(n + 1) - log B(n - y + 1, y + 1)); -inf outside
    0 <= y <= n, NaN for n < 0, a <= 0 or b <= 0."""
    k, n, a, b, loc = promote(k, n, a, b, loc)
    y = fnp.floor(k) - loc
    log_comb = -(fnp.log1p(n) + special.betaln(n - y + 1, y + 1))
    out = log_comb + special.betaln(y + a, n - y + b) - special.betaln(a, b)
    out = fnp.where((y == 0) & (n == 0), fnp.zeros_like(out), out)
    out = outside((y < 0) | (y > n) | (y + a <= 0), out)
    return outside((n < 0) | (a <= 0) | (b <= 0), out, np.nan)


def pmf(k, n, a, b, loc=0):
    """P(K = k)."""
    return fnp.exp(logpmf(k, n, a, b, loc))
