"""Count data and extreme values with `jax.scipy.stats`: an overdispersed count model
compared under Poisson, negative binomial (`nbinom`) and beta-binomial (`betabinom`)
likelihoods, their gradients with respect to the parameters and a few gradient steps on
the negative binomial's; annual maxima and minima with `gumbel_r`/`gumbel_l` (log
densities, cdfs, survival functions, return levels from `ppf`), a Gumbel location fit
by gradient descent, and standard errors with `stats.sem` (`ddof`, `axis=None`,
`nan_policy="omit"`)."""
import jax
import jax.numpy as jnp
from jax.scipy import stats


def nb_nll(params, counts):
    n = jnp.exp(params[0])
    p = jax.nn.sigmoid(params[1])
    return -jnp.sum(stats.nbinom.logpmf(counts, n, p))


def gumbel_nll(loc, xs):
    return -jnp.sum(stats.gumbel_r.logpdf(xs, loc, 4.0))


def run():
    counts = jnp.array([0.0, 3.0, 1.0, 7.0, 12.0, 2.0, 0.0, 5.0, 9.0, 4.0])
    maxima = jnp.array([31.2, 28.7, 35.9, 30.1, 42.3, 29.8, 33.5, 38.0])
    k = jnp.arange(8.0)
    params = jnp.array([0.5, 0.0])
    history = []
    for _ in range(10):
        params = params - 0.05 * jax.grad(nb_nll)(params, counts)
        history.append(nb_nll(params, counts))
    g = jnp.float32(30.0)
    for _ in range(25):
        g = g - 0.02 * jax.grad(gumbel_nll)(g, maxima)
    with_nan = maxima.at[2].set(jnp.nan)
    return {
        "poisson_ll": jnp.sum(stats.poisson.logpmf(counts, jnp.mean(counts))),
        "nbinom_logpmf": stats.nbinom.logpmf(k, 2.5, 0.4),
        "nbinom_pmf_loc": stats.nbinom.pmf(k, 3.0, 0.6, loc=2),
        "nbinom_grad": jax.grad(nb_nll)(jnp.array([0.5, 0.0]), counts),
        "nbinom_fit": jnp.stack(history),
        "betabinom_logpmf": stats.betabinom.logpmf(k, 7.0, 2.0, 3.0),
        "betabinom_pmf_sum": jnp.sum(stats.betabinom.pmf(k, 7.0, 0.5, 0.5)),
        "betabinom_edges": stats.betabinom.logpmf(jnp.array([-1.0, 0.0, 2.5, 9.0]), 7.0, 2.0,
                                                  3.0),
        "betabinom_grad_a": jax.grad(lambda a: jnp.sum(stats.betabinom.logpmf(k, 7.0, a, 3.0)))(
            2.0),
        "gumbel_r_logpdf": stats.gumbel_r.logpdf(maxima, 32.0, 4.0),
        "gumbel_r_cdf": stats.gumbel_r.cdf(maxima, 32.0, 4.0),
        "gumbel_r_sf": stats.gumbel_r.sf(maxima, 32.0, 4.0),
        "gumbel_r_logsf": stats.gumbel_r.logsf(maxima, 32.0, 4.0),
        "return_levels": stats.gumbel_r.ppf(1.0 - 1.0 / jnp.array([10.0, 50.0, 100.0]), 32.0,
                                            4.0),
        "gumbel_r_bad": stats.gumbel_r.logpdf(1.0, 0.0, jnp.array([0.0, -1.0])),
        "gumbel_l_logpdf": stats.gumbel_l.logpdf(-maxima / 10, -3.2, 0.4),
        "gumbel_l_cdf": stats.gumbel_l.cdf(jnp.array([-5.0, -3.0, -1.0]), -3.2, 0.4),
        "gumbel_l_logcdf": stats.gumbel_l.logcdf(jnp.array([-5.0, -3.0, -1.0]), -3.2, 0.4),
        "gumbel_l_sf": stats.gumbel_l.sf(jnp.array([-5.0, -3.0, -1.0]), -3.2, 0.4),
        "gumbel_l_ppf": stats.gumbel_l.ppf(jnp.array([0.0, 0.1, 0.5, 0.9, 1.0])),
        "gumbel_fit": g,
        "sem": stats.sem(maxima),
        "sem_ddof0": stats.sem(maxima, ddof=0),
        "sem_axis_none": stats.sem(maxima.reshape(2, 4), axis=None),
        "sem_axis1": stats.sem(maxima.reshape(2, 4), axis=1, keepdims=True),
        "sem_omit": stats.sem(with_nan, nan_policy="omit"),
        "sem_propagate": stats.sem(with_nan),
    }


if __name__ == "__main__":
    print(run())
