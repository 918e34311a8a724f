"""The Dirichlet distribution (JAX's `jax.scipy.stats.dirichlet`): logpdf and pdf. Points
lie along the first axis of `x`; `x` may omit the last coordinate (it is 1 - the sum)."""
from __future__ import annotations

from ... import numpy as fnp
from .. import special
from ._common import outside


def logpdf(x, alpha):
    """log density of Dirichlet(alpha) at x [k, ...] or [k - 1, ...] for alpha [k]; -inf
    off the simplex (a coordinate <= 0, or a sum more than 1e-6 from 1)."""
    x, alpha = fnp.asarray(x), fnp.asarray(alpha)
    dt = fnp.result_type(x, alpha)
    if not fnp.issubdtype(dt, fnp.floating):
        dt = fnp.float32
    x, alpha = x.astype(dt), alpha.astype(dt)
    if alpha.ndim != 1:
        raise ValueError(f"dirichlet.logpdf: alpha must be one-dimensional, got shape "
                         f"{alpha.shape}")
    k = alpha.shape[0]
    if x.ndim == 0 or x.shape[0] not in (k, k - 1):
        raise ValueError(f"dirichlet.logpdf: x must have {k} or {k - 1} entries along its "
                         f"first axis (alpha has shape {alpha.shape}), got shape {x.shape}")
    if x.shape[0] == k - 1:
        x = fnp.concatenate([x, 1 - fnp.sum(x, axis=0, keepdims=True)], axis=0)
    log_norm = fnp.sum(special.gammaln(alpha)) - special.gammaln(fnp.sum(alpha))
    a = alpha.reshape(alpha.shape + (1,) * (x.ndim - 1))
    log_probs = fnp.sum(special.xlogy(a - 1, x), axis=0) - log_norm
    on_simplex = fnp.all(x > 0, axis=0) & (fnp.abs(fnp.sum(x, axis=0) - 1) < 1e-6)
    return outside(~on_simplex, log_probs)


def pdf(x, alpha):
    """The Dirichlet(alpha) density."""
    return fnp.exp(logpdf(x, alpha))
