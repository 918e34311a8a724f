"""The truncated normal distribution (JAX's and SciPy's `truncnorm`): a normal law with
`loc` and `scale` restricted to standardised bounds [a, b]; logpdf, pdf, logcdf, cdf,
logsf and sf, with the normal mass between the bounds computed in log space (each tail
by symmetry from the left one, the central case as log1p of the two tails) so that far
tails keep their precision. NaN when a >= b."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from . import norm
from ._common import promote


def _log_sub_exp(x, y):
    """log(exp(x) - exp(y)) for x >= y (-inf when they are equal)."""
    return x + fnp.log(-fnp.expm1(y - x))


def _log_mass(a, b):
    """log(Phi(b) - Phi(a)) for a <= b."""
    a, b = fnp.broadcast_arrays(a, b)
    right = a > 0
    left = b <= 0
    # the right tail mirrored onto the left one: Phi(b) - Phi(a) = Phi(-a) - Phi(-b)
    lo = fnp.where(right, -b, a)
    hi = fnp.where(right, -a, b)
    tail = _log_sub_exp(special.log_ndtr(hi), special.log_ndtr(lo))
    central = fnp.log1p(-special.ndtr(a) - special.ndtr(-b))
    return fnp.where(left | right, tail, central)


def logpdf(x, a, b, loc=0, scale=1):
    """norm.logpdf(x, loc, scale) - log(Phi(b) - Phi(a)); -inf outside the bounds."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    out = norm.logpdf(x, loc, scale) - _log_mass(a, b)
    z = (x - loc) / scale
    out = fnp.where((z < a) | (z > b), -np.inf, out)
    return fnp.where(a >= b, np.nan, out)


def pdf(x, a, b, loc=0, scale=1):
    return fnp.exp(logpdf(x, a, b, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    """log P(X <= x): 0 above b, -inf below a; near 1, log1p of minus the survival
    function (no cancellation)."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    z = (x - loc) / scale
    total = _log_mass(a, b)
    log_cdf = _log_mass(a, z) - total
    log_sf = _log_mass(z, b) - total
    out = fnp.where(log_cdf > -0.1, fnp.log1p(-fnp.exp(log_sf)), log_cdf)
    out = fnp.where(z <= a, -np.inf, out)
    out = fnp.where(z >= b, 0.0, out)
    return fnp.where(a >= b, np.nan, out)


def cdf(x, a, b, loc=0, scale=1):
    return fnp.exp(logcdf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    """log P(X > x), the log cdf of the mirrored law."""
    x, a, b, loc, scale = promote(x, a, b, loc, scale)
    return logcdf(-x, -b, -a, -loc, scale)


def sf(x, a, b, loc=0, scale=1):
    return fnp.exp(logsf(x, a, b, loc, scale))
