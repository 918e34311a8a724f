"""The multinomial distribution (JAX's `jax.scipy.stats.multinomial`): logpmf and pmf of
counts `x` (last axis: the categories) for `n` trials with category probabilities `p`."""
from __future__ import annotations

import numpy as np

from ... import dtypes as _dtypes
from ... import numpy as fnp
from .. import special
from ._common import promote


def logpmf(x, n, p):
    """log n! + sum_i (x_i log p_i - log x_i!) over the last axis; -inf where the counts
    do not add up to n. `x` and `n` must be integers (ValueError otherwise, as JAX's);
    the result has p's float dtype. Unlike JAX 0.10, which compares n with the sum of
    all of x, each row of a batched x is compared with n (SciPy's)."""
    (p,) = promote(p)
    x, n = fnp.asarray(x), fnp.asarray(n)
    xn = _dtypes.result_type(x, n)
    if not fnp.issubdtype(xn, fnp.integer):
        raise ValueError(f"x and n must be of integer type; got x.dtype={x.dtype}, "
                         f"n.dtype={n.dtype}")
    total = fnp.sum(x, axis=-1)
    xf, nf = x.astype(p.dtype), n.astype(p.dtype)
    log_probs = special.gammaln(nf + 1) + fnp.sum(
        special.xlogy(xf, p) - special.gammaln(xf + 1), axis=-1)
    return fnp.where(total == n, log_probs, fnp.asarray(-np.inf, log_probs.dtype))


def pmf(x, n, p):
    """P(X = x), exp(logpmf)."""
    return fnp.exp(logpmf(x, n, p))
