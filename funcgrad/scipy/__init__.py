"""funcgrad.scipy: JAX's `jax.scipy` names: `linalg` (triangular and Cholesky solves, LU,
QR, SVD, eigh on LAPACK), `special` (logsumexp, erf/erfc/erfinv, gammaln/digamma, xlogy,
expit/logit, ndtr/ndtri/log_ndtr, ...), `stats` (`norm`, `multivariate_normal`, and the
common densities: `beta`, `gamma`, `poisson`, `t`, `expon`, `uniform`, ... as modules),
`signal` (convolve/correlate, their 2-d and FFT forms, detrend), `integrate` (trapezoid),
`ndimage` (map_coordinates) and `interpolate` (RegularGridInterpolator)."""
from __future__ import annotations

from . import integrate, interpolate, linalg, ndimage, signal, special, stats  # noqa: F401
