"""The samplers of `jax.random` beyond uniform and normal, as probabilistic-programming
code calls them: `gamma` (small and large shapes, with `jax.grad` through the implicit
reparameterisation), `loggamma`, `beta`, `dirichlet`, `chisquare`, `t`, `f`, `poisson`
with small and large rates, `binomial`, `geometric`, `multinomial`, `multivariate_normal`
with each `method`, `lognormal`, `pareto`, `weibull_min`, `rayleigh`, `wald`,
`triangular`, `maxwell`, `double_sided_maxwell`, `generalized_normal`, `logistic`,
`cauchy`, `orthogonal`, and `vmap` over keys and parameters."""
import jax
import jax.numpy as jnp
from jax import random


def reparam_mean(alpha, key):
    return jnp.mean(random.gamma(key, alpha, (64,)))


def run():
    key = random.PRNGKey(11)
    ks = random.split(key, 24)
    alphas = jnp.array([0.2, 1.0, 3.5, 40.0])
    cov = jnp.array([[2.0, 0.6, 0.1], [0.6, 1.0, -0.3], [0.1, -0.3, 0.5]])
    mean = jnp.array([1.0, -1.0, 0.0])
    q = random.orthogonal(ks[20], 3)
    return {
        "gamma": random.gamma(ks[0], alphas, (3, 4)),
        "gamma_grad_alpha": jax.grad(reparam_mean)(2.5, ks[2]),
        "gamma_grad_direct": jax.grad(lambda a: jnp.sum(random.gamma(ks[3], a)))(alphas),
        "loggamma": random.loggamma(ks[4], jnp.array([0.01, 0.5, 5.0])),
        "beta": random.beta(ks[5], jnp.array([0.5, 2.0, 8.0]), jnp.array([0.5, 5.0, 1.0])),
        "dirichlet": random.dirichlet(ks[6], jnp.array([0.3, 1.0, 4.0]), (4,)),
        "chisquare": random.chisquare(ks[7], 3.0, (4,)),
        "t": random.t(ks[8], jnp.array([1.0, 4.0, 30.0])),
        "f": random.f(ks[9], 5.0, 2.0, (3,)),
        "poisson_small": random.poisson(ks[10], jnp.array([0.1, 2.0, 7.5]), (2, 3)),
        "poisson_large": random.poisson(ks[11], jnp.array([12.0, 250.0, 1e4])),
        "binomial": random.binomial(ks[12], jnp.array([5.0, 20.0, 100.0]),
                                    jnp.array([0.3, 0.9, 0.01])),
        "geometric": random.geometric(ks[13], jnp.array([0.1, 0.5, 0.99])),
        "multinomial": random.multinomial(ks[14], jnp.array([20.0, 7.0]),
                                          jnp.array([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])),
        "mvn_cholesky": random.multivariate_normal(ks[15], mean, cov, (2,)),
        "mvn_eigh_moments": jnp.cov(random.multivariate_normal(
            ks[16], mean, cov, (4000,), method="eigh").T),
        "mvn_svd_mean": jnp.mean(random.multivariate_normal(ks[17], mean, cov, (4000,),
                                                            method="svd"), axis=0),
        "lognormal": random.lognormal(ks[18], 0.5, (4,)),
        "pareto": random.pareto(ks[19], jnp.array([1.0, 3.0])),
        "orthogonal_check": q @ q.T,
        "weibull_min": random.weibull_min(ks[21], 2.0, 1.5, (3,)),
        "rayleigh": random.rayleigh(ks[22], 2.0, (3,)),
        "wald": random.wald(ks[23], jnp.array([0.5, 1.0, 3.0])),
        "triangular": random.triangular(ks[0], -1.0, 0.5, 2.0, (4,)),
        "maxwell": random.maxwell(ks[1], (3,)),
        "double_sided_maxwell": random.double_sided_maxwell(ks[2], 1.0, 2.0, (3,)),
        "generalized_normal": random.generalized_normal(ks[3], 1.5, (4,)),
        "logistic": random.logistic(ks[4], (3,)),
        "cauchy": random.cauchy(ks[5], (3,)),
        "vmap_keys_params": jax.vmap(lambda k, a: random.gamma(k, a, (2,)))(
            random.split(ks[6], 3), jnp.array([0.5, 1.5, 9.0])),
        "beta_mean": jnp.mean(random.beta(ks[7], 2.0, 6.0, (5000,))),
    }


if __name__ == "__main__":
    print(run())
