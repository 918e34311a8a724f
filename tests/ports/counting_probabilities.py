"""Combinatorics and discrete probability with `jax.scipy.special`, as statistics code
writes it: binomial coefficients `comb` (with `repetition=True`, and zero outside the
support), the Beta function `beta` with negative arguments, rising factorials `poch`,
`gammasgn` and `loggamma` across the poles, a hypergeometric pmf and a Beta-binomial
marginal likelihood from them, the birthday problem, Polya-urn probabilities, and
gradients of a Beta-binomial log-likelihood with respect to its parameters."""
import jax
import jax.numpy as jnp
from jax.scipy import special


def hypergeom_pmf(k, big_m, n, big_n):
    return special.comb(n, k) * special.comb(big_m - n, big_n - k) / special.comb(big_m, big_n)


def beta_binomial_logpmf(k, n, a, b):
    return (jnp.log(special.comb(n, k)) + special.betaln(k + a, n - k + b)
            - special.betaln(a, b))


def run():
    k = jnp.arange(6.0)
    x = jnp.array([-2.5, -2.0, -1.5, -0.5, -0.0, 0.0, 0.5, 1.0, 2.5, 10.0, jnp.nan])
    days = jnp.arange(1.0, 60.0, 7.0)
    a, b = jnp.float32(2.0), jnp.float32(3.5)
    counts = jnp.array([0.0, 2.0, 5.0, 7.0])
    return {
        "comb": special.comb(jnp.array([5.0, 10.0, 4.0, 3.0, 0.0, 6.5]),
                             jnp.array([2.0, 3.0, 5.0, -1.0, 0.0, 2.0])),
        "comb_repetition": special.comb(jnp.array([5.0, 3.0, 0.0, -1.0]),
                                        jnp.array([2.0, 0.0, 0.0, 2.0]), repetition=True),
        "pascal_row": special.comb(10.0, jnp.arange(11.0)),
        "beta": special.beta(jnp.array([0.5, 2.0, -1.5, 3.0, 1.0]),
                             jnp.array([0.5, 3.0, 2.0, -0.5, 1.0])),
        "poch": special.poch(jnp.array([1.0, 2.5, -1.5, 3.0, 4.0]),
                             jnp.array([3.0, 2.0, 2.0, -1.0, 0.0])),
        "gammasgn": special.gammasgn(x),
        "loggamma": special.loggamma(x),
        "hypergeom": hypergeom_pmf(k, 20.0, 7.0, 12.0),
        "hypergeom_total": jnp.sum(hypergeom_pmf(jnp.arange(8.0), 20.0, 7.0, 12.0)),
        "birthday": 1.0 - special.poch(365.0 - days + 1.0, days) / 365.0 ** days,
        "beta_binomial": jnp.exp(beta_binomial_logpmf(counts, 7.0, a, b)),
        "beta_binomial_grad": jnp.stack(jax.grad(
            lambda p, q: jnp.sum(beta_binomial_logpmf(counts, 7.0, p, q)), argnums=(0, 1))(a,
                                                                                        b)),
        "poch_grad": jax.grad(lambda z: special.poch(z, 3.0))(2.5),
        "beta_grad": jnp.stack(jax.grad(special.beta, argnums=(0, 1))(2.0, 3.0)),
        "comb_vmap": jax.vmap(lambda n: special.comb(n, 2.0))(jnp.arange(5.0)),
    }


if __name__ == "__main__":
    print(run())
