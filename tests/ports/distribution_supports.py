"""`jax.scipy.stats` at the edges of each distribution's support, where likelihood code
meets them (censored data, boundary draws, bad parameters): `logpdf`/`logpmf`/`cdf`/`sf`/
`ppf` at and outside the support with `loc`/`scale`, non-integer and out-of-range counts
for the discrete ones, shape parameters below 1 at 0, `ppf` at 0, 1 and outside [0, 1],
non-positive scales, `chi2` and `gamma` at 0, `truncnorm` outside and at its bounds,
`multivariate_normal` with a diagonal covariance, and `stats.sem` with `ddof`."""
import jax.numpy as jnp
from jax.scipy import stats


def run():
    x = jnp.array([-1.0, 0.0, 0.5, 1.0, 2.0])
    probs = jnp.array([-0.1, 0.0, 0.25, 1.0, 1.1])
    counts = jnp.array([-1.0, 0.0, 1.5, 3.0, 7.0])
    return {
        "expon_logpdf": stats.expon.logpdf(x),
        "expon_logpdf_loc": stats.expon.logpdf(x, loc=0.5, scale=2.0),
        "expon_cdf": stats.expon.cdf(x, scale=0.5),
        "expon_ppf": stats.expon.ppf(probs),
        "uniform_logpdf": stats.uniform.logpdf(x, loc=0.0, scale=1.0),
        "uniform_cdf": stats.uniform.cdf(x, loc=-1.0, scale=2.0),
        "uniform_ppf": stats.uniform.ppf(probs, loc=1.0, scale=3.0),
        "beta_logpdf_small_a": stats.beta.logpdf(x, 0.5, 0.5),
        "beta_logpdf_one": stats.beta.logpdf(x, 1.0, 1.0),
        "beta_logpdf_two": stats.beta.logpdf(x, 2.0, 3.0),
        "beta_cdf": stats.beta.cdf(x, 2.0, 3.0),
        "gamma_logpdf_a1": stats.gamma.logpdf(x, 1.0),
        "gamma_logpdf_small_a": stats.gamma.logpdf(x, 0.5),
        "gamma_logpdf_scale": stats.gamma.logpdf(x, 2.0, loc=-1.0, scale=0.5),
        "gamma_cdf": stats.gamma.cdf(x, 2.0),
        "chi2_logpdf": stats.chi2.logpdf(x, 2.0),
        "chi2_logpdf_df1": stats.chi2.logpdf(x, 1.0),
        "chi2_cdf": stats.chi2.cdf(x, 3.0),
        "chi2_sf": stats.chi2.sf(x, 3.0),
        "norm_ppf": stats.norm.ppf(probs),
        "norm_logpdf_scale0": stats.norm.logpdf(x, scale=0.0),
        "norm_logpdf_neg_scale": stats.norm.logpdf(x, scale=-1.0),
        "norm_cdf_inf": stats.norm.cdf(jnp.array([-jnp.inf, jnp.inf, jnp.nan])),
        "laplace_logpdf": stats.laplace.logpdf(x, loc=0.5, scale=0.5),
        "laplace_cdf": stats.laplace.cdf(x, loc=0.5),
        "cauchy_cdf": stats.cauchy.cdf(x, loc=1.0, scale=0.5),
        "logistic_logpdf": stats.logistic.logpdf(x, scale=2.0),
        "pareto_logpdf": stats.pareto.logpdf(x, 2.0),
        "pareto_logpdf_scale": stats.pareto.logpdf(x, 3.0, scale=0.5),
        "t_logpdf": stats.t.logpdf(x, 3.0, loc=0.5, scale=2.0),
        "gumbel_r_ppf": stats.gumbel_r.ppf(probs),
        "gumbel_l_cdf": stats.gumbel_l.cdf(x, scale=0.5),
        "poisson_logpmf": stats.poisson.logpmf(counts, 2.0),
        "poisson_logpmf_loc": stats.poisson.logpmf(counts, 2.0, loc=1),
        "poisson_cdf": stats.poisson.cdf(counts, 2.0),
        "poisson_logpmf_rate0": stats.poisson.logpmf(counts, 0.0),
        "binom_logpmf": stats.binom.logpmf(counts, 5, 0.3),
        "binom_logpmf_p1": stats.binom.logpmf(counts, 3, 1.0),
        "geom_logpmf": stats.geom.logpmf(counts, 0.25),
        "nbinom_logpmf": stats.nbinom.logpmf(counts, 3, 0.4),
        "bernoulli_logpmf": stats.bernoulli.logpmf(counts, 0.3),
        "bernoulli_logpmf_p0": stats.bernoulli.logpmf(jnp.array([0.0, 1.0]), 0.0),
        "betabinom_logpmf": stats.betabinom.logpmf(counts, 6, 2.0, 3.0),
        "truncnorm_logpdf": stats.truncnorm.logpdf(x, -0.5, 1.0),
        "truncnorm_cdf": stats.truncnorm.cdf(x, -0.5, 1.0),
        "truncnorm_sf": stats.truncnorm.sf(x, -0.5, 1.0, loc=0.25, scale=0.5),
        "dirichlet_logpdf": stats.dirichlet.logpdf(jnp.array([0.2, 0.3, 0.5]),
                                                   jnp.array([1.0, 2.0, 3.0])),
        "dirichlet_logpdf_ones": stats.dirichlet.logpdf(jnp.array([0.0, 0.4, 0.6]),
                                                        jnp.ones(3)),
        "mvn_logpdf": stats.multivariate_normal.logpdf(
            jnp.array([[0.0, 1.0], [2.0, -1.0]]), jnp.array([0.5, 0.0]),
            jnp.diag(jnp.array([1.0, 4.0]))),
        "gennorm_logpdf": stats.gennorm.logpdf(x, 1.0),
        "gennorm_cdf": stats.gennorm.cdf(x, 2.0),
        "vonmises_logpdf": stats.vonmises.logpdf(x, 2.0),
        "wrapcauchy_logpdf": stats.wrapcauchy.logpdf(x, 0.5),
        "sem": stats.sem(jnp.array([[1.0, 2.0, 4.0], [3.0, 3.0, 9.0]]), axis=1),
        "sem_ddof0": stats.sem(jnp.array([1.0, 2.0, 4.0, 7.0]), ddof=0),
    }
