"""`jax.scipy.special` and `jax.scipy.stats` in the forms their documentation shows, with
gradients: `logsumexp` with weights `b=` (negative ones too), `return_sign=True`,
`keepdims` and `-inf` rows; `gammaln`, `digamma`, `polygamma`, `betaln`,
`multigammaln`; `erf`/`erfc`/`erfinv`, `ndtr`/`ndtri`/`log_ndtr` in the tails;
`xlogy`/`xlog1py`/`entr`/`rel_entr`/`kl_div` at zero; `logit`/`expit`; `i0e`/`i1e`;
`factorial`; and `norm`, `t`, `beta`, `gamma`, `cauchy`, `logistic` log densities and
cdfs."""
import jax
import jax.numpy as jnp
from jax.scipy import special, stats


def log_mean_exp_weights(x):
    w = jnp.array([0.5, 0.25, -0.1, 0.35])
    return special.logsumexp(x, b=w)


def run():
    x = jnp.array([[1.0, 2.0, 3.0, -1.0], [-jnp.inf, -jnp.inf, -jnp.inf, -jnp.inf],
                   [0.0, 0.0, 100.0, 100.0]])
    b = jnp.array([1.0, -1.0, 0.5, 2.0])
    lse, sign = special.logsumexp(x, axis=1, b=b, return_sign=True)
    a = jnp.array([0.3, 1.0, 2.5, 7.0, 30.0])
    z = jnp.array([-5.0, -1.0, 0.0, 0.5, 3.0, 9.0])
    p = jnp.array([1e-6, 0.025, 0.5, 0.975, 1 - 1e-6])
    xs = jnp.array([0.0, 0.0, 0.5, 2.0])
    ys = jnp.array([0.0, 3.0, 0.5, 1.0])
    tv = jnp.array([-3.0, -0.5, 0.0, 1.5, 4.0])
    return {
        "lse_b": lse,
        "lse_sign": sign,
        "lse_keepdims": special.logsumexp(x[0], keepdims=True),
        "lse_axis0": special.logsumexp(x[jnp.array([0, 2])], axis=0),
        "lse_b_grad": jax.grad(log_mean_exp_weights)(x[0]),
        "lse_grad_inf_row": jax.grad(lambda v: special.logsumexp(v))(jnp.array(
            [-jnp.inf, 0.0, 1.0])),
        "gammaln": special.gammaln(a),
        "gammaln_neg": special.gammaln(jnp.array([-0.5, -1.5, -2.0])),
        "digamma": special.digamma(a),
        "polygamma1": special.polygamma(1, a),
        "polygamma2": special.polygamma(2, a),
        "d_gammaln": jax.vmap(jax.grad(special.gammaln))(a),
        "dd_gammaln": jax.vmap(jax.grad(jax.grad(special.gammaln)))(a),
        "betaln": special.betaln(a, a[::-1]),
        "betaln_grad": jax.grad(lambda u: jnp.sum(special.betaln(u, 2.0)))(a),
        "multigammaln": jnp.array([special.multigammaln(3.5, 3), special.multigammaln(2.0, 1)]),
        "erf": special.erf(z),
        "erfc": special.erfc(z),
        "erfinv": special.erfinv(jnp.array([-0.999, -0.5, 0.0, 0.3, 0.99])),
        "erfinv_grad": jax.vmap(jax.grad(special.erfinv))(jnp.array([-0.9, 0.0, 0.5])),
        "ndtr": special.ndtr(z),
        "ndtri": special.ndtri(p),
        "log_ndtr": special.log_ndtr(jnp.array([-40.0, -10.0, -1.0, 0.0, 5.0, 10.0])),
        "log_ndtr_grad": jax.vmap(jax.grad(special.log_ndtr))(jnp.array([-20.0, -3.0, 2.0])),
        "xlogy": special.xlogy(xs, ys),
        "xlogy_grad": jax.grad(lambda u: jnp.sum(special.xlogy(u, ys + 1.0)))(xs),
        "xlog1py": special.xlog1py(xs, ys - 1.0),
        "entr": special.entr(jnp.array([0.0, 0.5, 1.0, -1.0])),
        "rel_entr": special.rel_entr(jnp.array([0.0, 0.2, 0.5, 0.3]),
                                     jnp.array([0.1, 0.0, 0.25, 0.3])),
        "kl_div": special.kl_div(jnp.array([0.0, 0.2, 0.5]), jnp.array([0.1, 0.4, 0.25])),
        "logit": special.logit(jnp.array([0.0, 0.1, 0.5, 0.9, 1.0])),
        "expit": special.expit(jnp.array([-100.0, -2.0, 0.0, 2.0, 100.0])),
        "i0e": special.i0e(jnp.array([0.0, 0.5, 2.0, 10.0, -3.0])),
        "i1e": special.i1e(jnp.array([0.0, 0.5, 2.0, 10.0, -3.0])),
        "i0": special.i0(jnp.array([0.0, 1.0, 3.0])),
        "factorial": special.factorial(jnp.array([0.0, 1.0, 5.0, 10.0])),
        "norm_logpdf": stats.norm.logpdf(tv, loc=0.5, scale=2.0),
        "norm_cdf": stats.norm.cdf(tv, loc=0.5, scale=2.0),
        "norm_logcdf": stats.norm.logcdf(jnp.array([-30.0, 0.0, 3.0])),
        "norm_sf": stats.norm.sf(tv),
        "norm_ppf": stats.norm.ppf(p, loc=1.0, scale=3.0),
        "norm_isf": stats.norm.isf(jnp.array([0.05, 0.5])),
        "t_logpdf": stats.t.logpdf(tv, df=3.0, loc=0.0, scale=1.5),
        "t_logpdf_grad_df": jax.grad(lambda d: jnp.sum(stats.t.logpdf(tv, d)))(3.0),
        "beta_logpdf": stats.beta.logpdf(jnp.array([0.0, 0.1, 0.5, 0.9, 1.0]), 2.0, 3.0),
        "beta_pdf_edges": stats.beta.pdf(jnp.array([0.0, 1.0, 1.5]), 1.0, 1.0),
        "gamma_logpdf": stats.gamma.logpdf(jnp.array([0.5, 1.0, 4.0]), 2.0, scale=0.5),
        "gamma_logpdf_grad": jax.grad(lambda s: jnp.sum(stats.gamma.logpdf(
            jnp.array([0.5, 1.0, 4.0]), s)))(2.0),
        "cauchy_logpdf": stats.cauchy.logpdf(tv, 1.0, 2.0),
        "cauchy_cdf": stats.cauchy.cdf(tv),
        "logistic_logpdf": stats.logistic.logpdf(tv),
        "logistic_cdf": stats.logistic.cdf(tv),
        "expon_logpdf": stats.expon.logpdf(jnp.array([-1.0, 0.0, 2.0]), scale=2.0),
        "laplace_cdf": stats.laplace.cdf(tv, 0.5),
        "uniform_logpdf": stats.uniform.logpdf(jnp.array([-0.5, 0.0, 0.5, 2.0, 3.0]), 0.0, 2.0),
    }


if __name__ == "__main__":
    print(run())
