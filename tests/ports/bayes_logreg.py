"""Bayesian logistic regression: data drawn with `random.normal` and `random.bernoulli`, a
Gaussian prior from `jax.scipy.stats.norm`, the MAP estimate by gradient ascent, then a
random-walk Metropolis sampler written with `lax.scan` over split keys
(`random.normal` proposals, `random.uniform` acceptance)."""
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.scipy.stats import norm


def make_data(key, n=40, d=3):
    k_x, k_y = random.split(key)
    true_w = jnp.array([1.5, -2.0, 0.5])
    x = random.normal(k_x, (n, d))
    y = random.bernoulli(k_y, jax.nn.sigmoid(x @ true_w)).astype(jnp.float32)
    return x, y


def log_posterior(w, x, y):
    logits = x @ w
    log_lik = jnp.sum(y * jax.nn.log_sigmoid(logits) + (1 - y) * jax.nn.log_sigmoid(-logits))
    return log_lik + jnp.sum(norm.logpdf(w, loc=0.0, scale=2.0))


def metropolis(key, w0, x, y, n_steps=200, step_size=0.3):
    def step(state, key):
        w, logp = state
        k_prop, k_acc = random.split(key)
        proposal = w + step_size * random.normal(k_prop, w.shape)
        logp_prop = log_posterior(proposal, x, y)
        accept = jnp.log(random.uniform(k_acc)) < logp_prop - logp
        w = jnp.where(accept, proposal, w)
        logp = jnp.where(accept, logp_prop, logp)
        return (w, logp), (w, accept)

    keys = random.split(key, n_steps)
    _, (samples, accepted) = lax.scan(step, (w0, log_posterior(w0, x, y)), keys)
    return samples, accepted


def run():
    k_data, k_mcmc = random.split(random.PRNGKey(8))
    x, y = make_data(k_data)
    grad_fn = jax.jit(jax.grad(log_posterior))
    w = jnp.zeros(3)
    for _ in range(50):
        w = w + 0.02 * grad_fn(w, x, y)
    samples, accepted = jax.jit(metropolis)(k_mcmc, w, x, y)
    return {
        "labels": y,
        "x_head": x[:3],
        "map_estimate": w,
        "log_posterior_at_map": log_posterior(w, x, y),
        "acceptance_rate": jnp.mean(accepted),
        "accepted": accepted,
        "posterior_mean": jnp.mean(samples[50:], axis=0),
        "posterior_std": jnp.std(samples[50:], axis=0),
        "samples_head": samples[:5],
    }


if __name__ == "__main__":
    print(run())
