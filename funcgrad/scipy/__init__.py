"""funcgrad.scipy: JAX's `jax.scipy` names: `linalg` (triangular and Cholesky solves, LU,
QR, SVD, eigh on LAPACK), `special` (logsumexp, erf/erfc/erfinv, gammaln/digamma, xlogy,
expit/logit, ndtr/ndtri/log_ndtr, ...), `stats` (`norm`, `multivariate_normal`, and the
common densities: `beta`, `gamma`, `poisson`, `t`, `expon`, `uniform`, ... as modules),
`signal` (convolve/correlate, their 2-d and FFT forms, detrend), `integrate` (trapezoid),
`ndimage` (map_coordinates), `interpolate` (RegularGridInterpolator), `optimize`
(minimize by BFGS) and `sparse.linalg` (the Krylov solvers cg, gmres, bicgstab)."""
from __future__ import annotations

from . import (  # noqa: F401
    integrate,
    interpolate,
    linalg,
    ndimage,
    optimize,
    signal,
    sparse,
    special,
    stats,
)
