"""Poisson regression (a generalised linear model): counts drawn with `random.poisson`, the
log-likelihood from `jax.scipy.stats.poisson.logpmf`, Newton's method with `jax.hessian`,
a Laplace approximation of the posterior with `norm.ppf` intervals, and the same
likelihood written by hand with `gammaln` and `xlogy`."""
import jax
import jax.numpy as jnp
from jax import random
from jax.scipy.special import gammaln, xlogy
from jax.scipy.stats import norm, poisson


def make_data(key, n=50):
    k_x, k_y = random.split(key)
    x = jnp.stack([jnp.ones(n), random.uniform(k_x, (n,), minval=-1.0, maxval=1.0)], axis=1)
    rate = jnp.exp(x @ jnp.array([0.7, 1.2]))
    return x, random.poisson(k_y, rate)


def neg_log_lik(beta, x, y):
    return -jnp.sum(poisson.logpmf(y, jnp.exp(x @ beta)))


def neg_log_lik_by_hand(beta, x, y):
    eta = x @ beta
    return -jnp.sum(xlogy(y, jnp.exp(eta)) - jnp.exp(eta) - gammaln(y + 1.0))


@jax.jit
def newton_step(beta, x, y):
    g = jax.grad(neg_log_lik)(beta, x, y)
    h = jax.hessian(neg_log_lik)(beta, x, y)
    return beta - jnp.linalg.solve(h, g)


def run():
    x, y = make_data(random.PRNGKey(123))
    beta = jnp.zeros(2)
    path = []
    for _ in range(6):
        beta = newton_step(beta, x, y)
        path.append(beta)
    cov = jnp.linalg.inv(jax.hessian(neg_log_lik)(beta, x, y))
    z = norm.ppf(0.975)
    stderr = jnp.sqrt(jnp.diag(cov))
    return {
        "counts": y,
        "counts_dtype_is_int": jnp.issubdtype(y.dtype, jnp.integer),
        "newton_path": jnp.stack(path),
        "nll": neg_log_lik(beta, x, y),
        "nll_by_hand": neg_log_lik_by_hand(beta, x, y),
        "grad_at_start": jax.grad(neg_log_lik)(jnp.zeros(2), x, y),
        "covariance": cov,
        "interval": jnp.stack([beta - z * stderr, beta + z * stderr]),
        "pmf": poisson.pmf(jnp.arange(5), 2.5),
        "logpmf_edge": poisson.logpmf(jnp.array([-1.0, 0.0, 2.5, 3.0]), 0.5),
    }


if __name__ == "__main__":
    print(run())
