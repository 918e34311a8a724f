"""Expectation-maximisation for a one-dimensional Gaussian mixture: responsibilities with
`jax.scipy.stats.norm.logpdf` and `jax.scipy.special.logsumexp`, the whole EM loop in
`lax.fori_loop` under `jit`, and samples drawn with `random.categorical` and
`random.normal`."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.special import logsumexp
from jax.scipy.stats import norm


def sample_mixture(key, n, weights, means, stds):
    k_comp, k_noise = random.split(key)
    comp = random.categorical(k_comp, jnp.log(weights), shape=(n,))
    return means[comp] + stds[comp] * random.normal(k_noise, (n,)), comp


def e_step(x, weights, means, stds):
    log_p = jnp.log(weights) + norm.logpdf(x[:, None], means, stds)
    log_norm = logsumexp(log_p, axis=1, keepdims=True)
    return jnp.exp(log_p - log_norm), jnp.sum(log_norm)


def m_step(x, resp):
    nk = resp.sum(axis=0)
    means = (resp * x[:, None]).sum(axis=0) / nk
    var = (resp * (x[:, None] - means) ** 2).sum(axis=0) / nk
    return nk / x.shape[0], means, jnp.sqrt(var)


@jax.jit
def fit(x, weights, means, stds):
    def body(i, state):
        weights, means, stds, history = state
        resp, log_lik = e_step(x, weights, means, stds)
        weights, means, stds = m_step(x, resp)
        return weights, means, stds, history.at[i].set(log_lik)

    return lax.fori_loop(0, 20, body, (weights, means, stds, jnp.zeros(20)))


def run():
    x, comp = sample_mixture(random.PRNGKey(12), 120, jnp.array([0.3, 0.7]),
                             jnp.array([-2.0, 1.5]), jnp.array([0.5, 1.0]))
    weights, means, stds, history = fit(x, jnp.array([0.5, 0.5]), jnp.array([-1.0, 0.0]),
                                        jnp.array([1.0, 1.0]))
    return {
        "components": comp,
        "x_head": x[:8],
        "weights": weights,
        "means": means,
        "stds": stds,
        "log_likelihood": history,
        "cdf": norm.cdf(jnp.array([-1.0, 0.0, 2.0])),
        "ppf": norm.ppf(jnp.array([0.1, 0.5, 0.975])),
    }


if __name__ == "__main__":
    print(run())
