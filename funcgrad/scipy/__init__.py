"""funcgrad.scipy: JAX's `jax.scipy` names: `linalg` (triangular and Cholesky solves, LU,
QR, SVD, eigh on LAPACK), `special` (logsumexp, erf/erfc/erfinv, gammaln/digamma, xlogy,
expit/logit, ndtr/ndtri/log_ndtr, ...) and `stats` (`norm`, `multivariate_normal`, and the
common densities: `beta`, `gamma`, `poisson`, `t`, `expon`, `uniform`, ... as modules)."""
from __future__ import annotations

from . import linalg, special, stats  # noqa: F401
