"""The multivariate normal distribution (JAX's `jax.scipy.stats.multivariate_normal`):
logpdf and pdf through the Cholesky factor of the covariance."""
from __future__ import annotations

import math

from ... import _lax_linalg as _lx
from ... import numpy as fnp
from ...numpy import linalg as _nla


def logpdf(x, mean, cov, allow_singular=None):
    """log density at x [..., n] of N(mean [..., n], cov [..., n, n]); `mean` and `cov`
    may also be scalars (an isotropic covariance). A covariance that is not positive
    definite gives NaN (`allow_singular` is not supported)."""
    if allow_singular is not None:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular is not "
                                  "supported")
    x, mean, cov = _nla._inexact(x, mean, cov)
    log_2pi = math.log(2 * math.pi)
    if mean.ndim == 0:
        d = x - mean
        return -0.5 * d * d / cov - 0.5 * (log_2pi + fnp.log(cov))
    n = mean.shape[-1]
    d = x - mean
    if cov.ndim == 0:
        return -0.5 * fnp.sum(d * d, axis=-1) / cov - 0.5 * n * (log_2pi + fnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal.logpdf: cov {cov.shape} does not match mean "
                         f"{mean.shape} (expected [..., {n}, {n}])")
    L = _lx.cholesky(cov)
    L, d = _nla._broadcast_batch(L, d[..., None])
    y = _lx.triangular_solve(L, d, left_side=True, lower=True)[..., 0]
    log_det = fnp.sum(fnp.log(fnp.diagonal(L, 0, -2, -1)), axis=-1)
    return -0.5 * fnp.sum(y * y, axis=-1) - 0.5 * n * log_2pi - log_det


def pdf(x, mean, cov):
    """The density at x of N(mean, cov)."""
    return fnp.exp(logpdf(x, mean, cov))
