"""Gaussian-process regression with an RBF kernel: the Cholesky factor, `cho_solve` and
`solve_triangular` from `jax.scipy.linalg`, the log marginal likelihood and its gradient
with respect to the log hyperparameters, a few gradient steps and the posterior."""
import jax
import jax.numpy as jnp
from jax import random
from jax.scipy.linalg import cho_factor, cho_solve, solve_triangular


def rbf(x1, x2, log_amp, log_length):
    sq = jnp.sum((x1[:, None, :] - x2[None, :, :]) ** 2, axis=-1)
    return jnp.exp(2.0 * log_amp) * jnp.exp(-0.5 * sq / jnp.exp(2.0 * log_length))


def neg_log_marginal(params, x, y):
    k = rbf(x, x, params["log_amp"], params["log_length"])
    k = k + (jnp.exp(2.0 * params["log_noise"]) + 1e-6) * jnp.eye(x.shape[0])
    chol = jnp.linalg.cholesky(k)
    alpha = cho_solve((chol, True), y)
    return (0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(chol)))
            + 0.5 * x.shape[0] * jnp.log(2.0 * jnp.pi))


def posterior(params, x, y, x_new):
    k = rbf(x, x, params["log_amp"], params["log_length"])
    k = k + (jnp.exp(2.0 * params["log_noise"]) + 1e-6) * jnp.eye(x.shape[0])
    c, lower = cho_factor(k, lower=True)
    k_star = rbf(x, x_new, params["log_amp"], params["log_length"])
    mean = k_star.T @ cho_solve((c, lower), y)
    v = solve_triangular(c, k_star, lower=True)
    var = jnp.exp(2.0 * params["log_amp"]) - jnp.sum(v ** 2, axis=0)
    return mean, var


def run():
    key = random.PRNGKey(5)
    kx, ky = random.split(key)
    x = random.uniform(kx, (12, 1), minval=-3.0, maxval=3.0)
    y = jnp.sin(2.0 * x[:, 0]) + 0.1 * random.normal(ky, (12,))
    params = {"log_amp": jnp.array(0.0), "log_length": jnp.array(0.0),
              "log_noise": jnp.array(-1.0)}
    value_and_grad = jax.jit(jax.value_and_grad(neg_log_marginal))
    nlls = []
    first_grad = value_and_grad(params, x, y)[1]
    for _ in range(10):
        nll, g = value_and_grad(params, x, y)
        nlls.append(nll)
        params = jax.tree_util.tree_map(lambda p, g: p - 0.05 * g, params, g)
    x_new = jnp.linspace(-3.0, 3.0, 7)[:, None]
    mean, var = posterior(params, x, y, x_new)
    k = rbf(x, x, 0.0, 0.0) + 0.1 * jnp.eye(12)
    return {
        "x": x[:, 0],
        "y": y,
        "cholesky": jnp.linalg.cholesky(k)[:5, :5],
        "nlls": jnp.stack(nlls),
        "first_grad": jnp.stack([first_grad["log_amp"], first_grad["log_length"],
                                 first_grad["log_noise"]]),
        "hyperparameters": jnp.stack([params["log_amp"], params["log_length"],
                                      params["log_noise"]]),
        "posterior_mean": mean,
        "posterior_var": var,
        "slogdet": jnp.stack(jnp.linalg.slogdet(k)),
    }


if __name__ == "__main__":
    print(run())
