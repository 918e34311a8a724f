"""funcgrad.scipy.stats: JAX's `jax.scipy.stats` distributions `norm` and
`multivariate_normal` (modules of functions, as in JAX)."""
from __future__ import annotations

from . import multivariate_normal, norm  # noqa: F401
