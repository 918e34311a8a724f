"""The von Mises distribution on the circle (JAX's `jax.scipy.stats.vonmises`): logpdf and
pdf with concentration kappa > 0 (NaN otherwise)."""
from __future__ import annotations

import numpy as np

from ... import numpy as fnp
from .. import special
from ._common import outside, promote


def logpdf(x, kappa):
    """kappa (cos x - 1) - log(2 pi i0e(kappa)) (= kappa cos x - log(2 pi I0(kappa)),
    without overflow for large kappa)."""
    x, kappa = promote(x, kappa)
    out = kappa * (fnp.cos(x) - 1) - fnp.log(2 * np.pi * special.i0e(kappa))
    return outside(kappa <= 0, out, np.nan)


def pdf(x, kappa):
    return fnp.exp(logpdf(x, kappa))
