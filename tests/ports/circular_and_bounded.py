"""Circular and bounded data with `jax.scipy.stats`: wind directions under von Mises and
wrapped Cauchy likelihoods (`vonmises`, `wrapcauchy`) with the concentration fitted by
gradient ascent, bounded measurements under a truncated normal (`truncnorm` log density,
cdf and survival function, far tails included) with the location fitted by gradient
ascent, heavy- and light-tailed noise under `gennorm` (log density and cdf for several
shapes), and a model comparison by total log-likelihood."""
import jax
import jax.numpy as jnp
from jax.scipy import stats


def vm_ll(log_kappa, angles):
    return jnp.sum(stats.vonmises.logpdf(angles - 0.3, jnp.exp(log_kappa)))


def tn_ll(loc, xs):
    a, b = (0.0 - loc) / 1.5, (10.0 - loc) / 1.5
    return jnp.sum(stats.truncnorm.logpdf(xs, a, b, loc, 1.5))


def run():
    angles = jnp.array([0.1, 0.5, -0.2, 0.4, 0.9, 0.25, -0.1, 0.6])
    bounded = jnp.array([0.4, 1.2, 0.1, 2.5, 0.8, 3.1, 0.05, 1.7])
    lk = jnp.float32(0.0)
    for _ in range(8):
        lk = lk + 0.05 * jax.grad(vm_ll)(lk, angles)
    loc = jnp.float32(2.0)
    for _ in range(8):
        loc = loc + 0.05 * jax.grad(tn_ll)(loc, bounded)
    wrapped = jnp.mod(angles, 2 * jnp.pi)
    grid = jnp.array([-3.0, -1.0, 0.0, 0.5, 2.0])
    return {
        "vonmises_logpdf": stats.vonmises.logpdf(angles, 2.0),
        "vonmises_pdf_large_kappa": stats.vonmises.pdf(jnp.array([0.0, 0.05, 0.5]), 500.0),
        "vonmises_fit": jnp.exp(lk),
        "wrapcauchy_logpdf": stats.wrapcauchy.logpdf(wrapped, 0.6),
        "wrapcauchy_outside": stats.wrapcauchy.logpdf(jnp.array([-0.1, 7.0]), 0.6),
        "model_comparison": jnp.stack([jnp.sum(stats.vonmises.logpdf(wrapped, 2.0)),
                                       jnp.sum(stats.wrapcauchy.logpdf(wrapped, 0.6))]),
        "truncnorm_logpdf": stats.truncnorm.logpdf(bounded, -1.0, 5.0, 1.0, 1.5),
        "truncnorm_cdf": stats.truncnorm.cdf(bounded, -1.0, 5.0, 1.0, 1.5),
        "truncnorm_sf": stats.truncnorm.sf(bounded, -1.0, 5.0, 1.0, 1.5),
        "truncnorm_far_tail": stats.truncnorm.logpdf(jnp.array([8.0, 9.5]), 7.5, 12.0),
        "truncnorm_logcdf_tail": stats.truncnorm.logcdf(jnp.array([-9.0, -8.5]), -10.0, -8.0),
        "truncnorm_fit": loc,
        "gennorm_logpdf": jnp.stack([stats.gennorm.logpdf(grid, beta)
                                     for beta in (0.8, 1.0, 2.0, 5.0)]),
        "gennorm_cdf": jnp.stack([stats.gennorm.cdf(grid, beta) for beta in (0.8, 2.0, 5.0)]),
    }


if __name__ == "__main__":
    print(run())
