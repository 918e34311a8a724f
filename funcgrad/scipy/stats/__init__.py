"""funcgrad.scipy.stats: JAX's `jax.scipy.stats` distributions, each a module of functions
as in JAX: `norm`, `multivariate_normal`, `bernoulli`, `beta`, `binom`, `cauchy`, `chi2`,
`dirichlet`, `expon`, `gamma`, `geom`, `laplace`, `logistic`, `pareto`, `poisson`, `t`,
`uniform`. The cdfs that need incomplete gamma/beta functions (gamma, beta, chi2, poisson,
t) are not there yet."""
from __future__ import annotations

from . import (  # noqa: F401
    bernoulli,
    beta,
    binom,
    cauchy,
    chi2,
    dirichlet,
    expon,
    gamma,
    geom,
    laplace,
    logistic,
    multivariate_normal,
    norm,
    pareto,
    poisson,
    t,
    uniform,
)
