"""Markov chain Monte Carlo the way JAX's examples write it: random-walk Metropolis with
`random.split` inside `lax.scan`, several chains with `vmap` over keys, Hamiltonian Monte
Carlo with a leapfrog integrator (`jax.grad` of the log density inside `fori_loop`), the
acceptance test in log space, per-step keys from `fold_in`, a step-size search with
`while_loop`, and summary statistics (means, variances, acceptance rates, lag-1
autocorrelation)."""
from functools import partial

import jax
import jax.numpy as jnp
from jax import lax, random


def log_prob(x):
    # a correlated 2-d Gaussian
    prec = jnp.array([[2.0, -1.2], [-1.2, 1.5]])
    return -0.5 * x @ prec @ x


@partial(jax.jit, static_argnums=(2,))
def rw_metropolis(key, x0, n_steps, scale):
    def step(carry, key):
        x, lp = carry
        k_prop, k_acc = random.split(key)
        prop = x + scale * random.normal(k_prop, x.shape)
        lp_prop = log_prob(prop)
        accept = jnp.log(random.uniform(k_acc)) < lp_prop - lp
        x = jnp.where(accept, prop, x)
        lp = jnp.where(accept, lp_prop, lp)
        return (x, lp), (x, accept)

    keys = random.split(key, n_steps)
    _, (xs, acc) = lax.scan(step, (x0, log_prob(x0)), keys)
    return xs, acc


def leapfrog(x, p, step_size, n_leap):
    grad_lp = jax.grad(log_prob)
    p = p + 0.5 * step_size * grad_lp(x)

    def body(i, state):
        x, p = state
        x = x + step_size * p
        p = p + step_size * grad_lp(x) * jnp.where(i == n_leap - 1, 0.5, 1.0)
        return x, p

    return lax.fori_loop(0, n_leap, body, (x, p))


@partial(jax.jit, static_argnums=(2, 4))
def hmc(key, x0, n_steps, step_size, n_leap):
    def step(x, i):
        k = random.fold_in(key, i)
        k_mom, k_acc = random.split(k)
        p0 = random.normal(k_mom, x.shape)
        x1, p1 = leapfrog(x, p0, step_size, n_leap)
        h0 = -log_prob(x) + 0.5 * p0 @ p0
        h1 = -log_prob(x1) + 0.5 * p1 @ p1
        log_accept = jnp.minimum(0.0, h0 - h1)
        accept = random.uniform(k_acc) < jnp.exp(log_accept)
        return jnp.where(accept, x1, x), (jnp.where(accept, x1, x), jnp.exp(log_accept))

    _, (xs, acc) = lax.scan(step, x0, jnp.arange(n_steps))
    return xs, acc


def find_step_size(key, x0, target=0.8):
    # halve the step size until a one-step trajectory is accepted often enough
    def cond(state):
        eps, rate, it = state
        return (rate < target) & (it < 20)

    def body(state):
        eps, _, it = state
        eps = eps * 0.5
        _, acc = hmc(random.fold_in(key, it), x0, 20, eps, 5)
        return eps, acc.mean(), it + 1

    return lax.while_loop(cond, body, (jnp.float32(4.0), jnp.float32(0.0), 0))


def autocorr1(x):
    xc = x - x.mean(axis=0)
    return jnp.sum(xc[1:] * xc[:-1], axis=0) / jnp.sum(xc * xc, axis=0)


def run():
    key = random.PRNGKey(42)
    k_rw, k_chains, k_hmc, k_eps = random.split(key, 4)
    x0 = jnp.array([2.0, -2.0])
    xs, acc = rw_metropolis(k_rw, x0, 400, 0.8)
    chains, chain_acc = jax.vmap(rw_metropolis, in_axes=(0, None, None, None))(
        random.split(k_chains, 3), x0, 200, 0.5)
    hx, hacc = hmc(k_hmc, x0, 150, 0.3, 8)
    eps, rate, iters = find_step_size(k_eps, x0)
    xl, pl = leapfrog(x0, jnp.array([0.5, 0.1]), 0.1, 10)
    return {
        "rw_mean": xs[100:].mean(axis=0),
        "rw_var": xs[100:].var(axis=0),
        "rw_accept_rate": acc.mean(),
        "rw_accept_count": acc.sum(),
        "rw_first": xs[:5],
        "rw_autocorr": autocorr1(xs[100:]),
        "chains_last": chains[:, -1],
        "chains_accept": chain_acc.mean(axis=1),
        "hmc_mean": hx[50:].mean(axis=0),
        "hmc_cov": jnp.cov(hx[50:].T),
        "hmc_accept": hacc.mean(),
        "hmc_first": hx[:3],
        "eps": eps,
        "eps_rate": rate,
        "eps_iters": iters,
        "leapfrog_x": xl,
        "leapfrog_p": pl,
        "energy_change": (-log_prob(xl) + 0.5 * pl @ pl)
                         - (-log_prob(x0) + 0.5 * jnp.array([0.5, 0.1]) @ jnp.array([0.5, 0.1])),
    }


if __name__ == "__main__":
    print(run())
