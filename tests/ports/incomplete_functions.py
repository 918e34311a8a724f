"""The incomplete gamma and beta functions and the distributions built on them, as
statistics code uses `jax.scipy`: `special.gammainc`/`gammaincc` across small and large
shapes and arguments (and at 0 and infinity), their gradients in `x` and in the shape
`a`, `betainc` in the tails and its gradient in `x`, `lax.igamma`/`igammac`/`lgamma`/
`digamma`, `special.zeta` and `polygamma` of higher order, `special.gamma` on negatives,
`stats.gamma`/`chi2`/`beta`/`poisson`/`binom`/`geom`/`t`/`pareto`/`expon`/`uniform`
`cdf`/`sf`/`logcdf`/`logpmf`/`ppf` where JAX has them, a p-value from `chi2.sf`, and a
Gamma prior's shape fitted by Newton steps on `digamma`/`polygamma`."""
import jax
import jax.numpy as jnp
from jax import lax
from jax.scipy import special, stats


def fit_gamma_shape(data, a0, steps=6):
    s = jnp.log(jnp.mean(data)) - jnp.mean(jnp.log(data))

    def body(_, a):
        f = jnp.log(a) - special.digamma(a) - s
        df = 1.0 / a - special.polygamma(1, a)
        return a - f / df

    return lax.fori_loop(0, steps, body, a0)


def run():
    a = jnp.array([0.1, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0])
    x = jnp.array([0.01, 0.4, 1.0, 2.5, 9.0, 60.0, 180.0])
    grid_a = jnp.array([0.5, 2.0, 30.0])[:, None]
    grid_x = jnp.array([0.0, 0.1, 1.0, 5.0, 40.0, jnp.inf])[None, :]
    pa = jnp.array([0.5, 1.0, 2.0, 5.0, 20.0])
    pb = jnp.array([0.5, 3.0, 2.0, 1.0, 40.0])
    px = jnp.array([0.001, 0.2, 0.5, 0.9, 0.999])
    data = jnp.array([0.8, 1.3, 2.9, 0.4, 1.7, 3.3, 0.9, 2.2])
    k = jnp.array([0.0, 1.0, 3.0, 7.0])
    return {
        "gammainc": special.gammainc(a, x),
        "gammaincc": special.gammaincc(a, x),
        "gammainc_grid": special.gammainc(grid_a, grid_x),
        "gammaincc_grid": special.gammaincc(grid_a, grid_x),
        "gammainc_dx": jax.vmap(jax.grad(special.gammainc, argnums=1))(a, x),
        "gammainc_da": jax.vmap(jax.grad(special.gammainc, argnums=0))(a[1:6], x[1:6]),
        "gammaincc_da": jax.vmap(jax.grad(special.gammaincc, argnums=0))(a[1:6], x[1:6]),
        "igamma": lax.igamma(jnp.array([1.0, 2.0]), jnp.array([1.0, 3.0])),
        "igammac": lax.igammac(jnp.array([1.0, 2.0]), jnp.array([1.0, 3.0])),
        "lgamma": lax.lgamma(jnp.array([0.5, 1.0, 100.0, -2.5])),
        "gamma_neg": special.gamma(jnp.array([-2.5, -1.5, -0.5, 0.5, 6.0])),
        "betainc": special.betainc(pa, pb, px),
        "betainc_edges": special.betainc(jnp.array([2.0, 2.0, 0.5, 1.0]),
                                         jnp.array([3.0, 3.0, 0.5, 1.0]),
                                         jnp.array([0.0, 1.0, 0.5, 0.3])),
        "betainc_dx": jax.vmap(jax.grad(special.betainc, argnums=2))(pa, pb, px),
        "zeta": special.zeta(jnp.array([2.0, 3.0, 4.5, 10.0]), jnp.array([1.0, 2.0, 1.0, 3.0])),
        "polygamma_orders": jnp.stack([special.polygamma(n, jnp.array([0.5, 2.0, 7.0]))
                                       for n in (0, 1, 2, 3)]),
        "digamma_neg": special.digamma(jnp.array([-0.5, -1.5, 0.25])),
        "gamma_cdf": stats.gamma.cdf(x, 2.0, scale=3.0),
        "gamma_sf": stats.gamma.sf(x, 2.0),
        "gamma_logcdf": stats.gamma.logcdf(jnp.array([0.01, 1.0, 30.0]), 3.0),
        "chi2_cdf": stats.chi2.cdf(x, 4.0),
        "chi2_sf_pvalue": stats.chi2.sf(jnp.array([3.84, 6.63, 10.83]), 1.0),
        "chi2_logpdf": stats.chi2.logpdf(x, jnp.array([1.0, 2.0, 3.0, 4.0, 5.0, 60.0, 150.0])),
        "beta_cdf": stats.beta.cdf(px, 2.0, 5.0),
        "beta_sf": stats.beta.sf(px, 0.5, 0.5),
        "beta_cdf_grad_x": jax.vmap(jax.grad(lambda v: stats.beta.cdf(v, 2.0, 5.0)))(px[1:4]),
        "poisson_cdf": stats.poisson.cdf(k, 2.5),
        "poisson_logpmf": stats.poisson.logpmf(k, jnp.array([0.5, 1.0, 2.5, 7.0])),
        "binom_logpmf": stats.binom.logpmf(k, 7.0, 0.3),
        "geom_logpmf": stats.geom.logpmf(jnp.array([1.0, 2.0, 5.0]), 0.3),
        "pareto_logpdf": stats.pareto.logpdf(jnp.array([0.5, 1.0, 2.0, 4.0]), 3.0),
        "expon_cdf": stats.expon.cdf(jnp.array([-1.0, 0.0, 0.5, 3.0]), scale=2.0),
        "uniform_cdf": stats.uniform.cdf(jnp.array([-1.0, 0.5, 1.5, 3.0]), 0.0, 2.0),
        "uniform_ppf": stats.uniform.ppf(jnp.array([0.0, 0.25, 1.0, 1.5]), 1.0, 2.0),
        "fitted_gamma_shape": fit_gamma_shape(data, 1.0),
    }


if __name__ == "__main__":
    print(run())
