"""funcgrad.scipy.stats: JAX's `jax.scipy.stats` distributions, each a module of functions
as in JAX: `norm`, `multivariate_normal`, `bernoulli`, `beta`, `betabinom`, `binom`,
`cauchy`, `chi2`, `dirichlet`, `expon`, `gamma`, `gennorm`, `geom`, `gumbel_l`,
`gumbel_r`, `laplace`, `logistic`, `nbinom`, `pareto`, `poisson`, `t`, `truncnorm`,
`uniform`, `vonmises`, `wrapcauchy`, `multinomial`; and `sem`, `rankdata`, `mode`."""
from __future__ import annotations

from . import (  # noqa: F401
    bernoulli,
    beta,
    betabinom,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    gennorm,
    geom,
    gumbel_l,
    gumbel_r,
    laplace,
    logistic,
    multinomial,
    multivariate_normal,
    nbinom,
    norm,
    pareto,
    poisson,
    t,
    truncnorm,
    uniform,
    vonmises,
    wrapcauchy,
)
from ._rank import ModeResult, mode, rankdata  # noqa: F401


def sem(a, axis=0, ddof=1, nan_policy="propagate", *, keepdims=False):
    """The standard error of the mean along `axis` (None: all elements): std(ddof) /
    sqrt(n); with nan_policy="omit", NaNs are left out of both (JAX's and SciPy's)."""
    from ... import numpy as fnp
    from ._common import promote
    (b,) = promote(a)
    if nan_policy == "propagate":
        n = b.size if axis is None else b.shape[axis]
        return b.std(axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(
            fnp.asarray(n, b.dtype))
    if nan_policy == "omit":
        count = fnp.sum(~fnp.isnan(b), axis=axis, keepdims=keepdims)
        return fnp.nanstd(b, axis=axis, ddof=ddof, keepdims=keepdims) / fnp.sqrt(
            count.astype(b.dtype))
    raise ValueError(f"stats.sem: nan_policy must be 'propagate' or 'omit', got "
                     f"{nan_policy!r}")
